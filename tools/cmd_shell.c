/*
 * anyk shell: boot the kernel in this process, attach host disk images
 * (mounting the ext2/3/4 file systems found on them under /mnt), and run
 * commands against the kernel's system calls. It is the quickest
 * way to look inside the kernel (the demo and the integration tests drive
 * it) and the model for any program that links libanyk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shell.h"

#define MAX_DISKS 16

static const struct tool_cmd shell_cmd = {
	"shell", "[-q] [--no-mount] [--disk IMAGE[:ro]]... [-c COMMANDS]", "", NULL,
};

int shell_exit_requested;
int shell_exit_status;
static int last_status;

/* Where the running command's output goes: -1 for the host's stdout. */
static int out_fd = -1;
static const char *out_name;
static int out_failed;

static const struct tool_cmd *const tables[] = {
	shell_files_cmds, shell_attr_cmds, shell_fs_cmds, shell_dev_cmds,
	shell_builtin_cmds,
};
static const char *const table_titles[] = {
	"Files", "Attributes", "File systems", "Devices", "Shell",
};

const struct tool_cmd *
shell_find(const char *name)
{
	const struct tool_cmd *c;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		c = cmd_find(tables[i], name);
		if (c != NULL)
			return c;
	}
	return NULL;
}

int
sh_write(const void *buf, size_t n)
{
	const char *p = buf;
	anyk_ssize_t w;

	if (out_failed)
		return -1;
	if (out_fd < 0) {
		if (fwrite(buf, 1, n, stdout) != n) {
			out_failed = 1;
			return -1;
		}
		return 0;
	}
	while (n > 0) {
		w = anyk_sys_write(out_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			err_path(out_name);
			out_failed = 1;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
sh_printf(const char *fmt, ...)
{
	char small[512], *buf = small;
	va_list ap;
	int len, error;

	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(small)) {
		buf = malloc((size_t)len + 1);
		if (buf == NULL) {
			out_failed = 1;
			return -1;
		}
		va_start(ap, fmt);
		vsnprintf(buf, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	error = sh_write(buf, (size_t)len);
	if (buf != small)
		free(buf);
	return error;
}

static int
run_command(struct sh_cmd *c)
{
	const struct tool_cmd *cmd = NULL;
	int status;

	if (c->argc > 0) {
		cmd = shell_find(c->argv[0]);
		if (cmd == NULL) {
			err_msg(c->argv[0], "command not found (try 'help')");
			return EXIT_USAGE;
		}
	}
	out_failed = 0;
	if (c->redir != NULL) {
		out_fd = sh_open_out(c->redir, c->append, 0666);
		if (out_fd < 0)
			return err_path(c->redir);
		out_name = c->redir;
	}
	if (cmd == NULL)
		status = EXIT_OK; /* "> FILE" alone creates or empties it */
	else if (c->argc > 1 && strcmp(c->argv[1], "--help") == 0)
		status = sh_printf("usage: %s %s\n\n%s\n", cmd->name,
		    cmd->usage, cmd->help) ? EXIT_FAIL : EXIT_OK;
	else
		status = cmd->fn(c->argc, c->argv);
	if (out_fd >= 0) {
		if (anyk_sys_close(out_fd) != 0 && status == EXIT_OK)
			status = err_path(c->redir);
		out_fd = -1;
	} else if (fflush(stdout) != 0) {
		out_failed = 1;
	}
	if (out_failed && status == EXIT_OK)
		status = EXIT_FAIL;
	return status;
}

/* Run every command of text; stop_on_error makes it behave like sh -e. */
static int
run_script(const char *text, int stop_on_error)
{
	struct sh_cmd c;
	const char *pos = text;
	int r, status = EXIT_OK;

	for (;;) {
		r = sh_parse_next(&pos, &c);
		if (r == 0)
			break;
		if (r < 0) {
			status = EXIT_USAGE;
		} else {
			if (c.argc > 0 || c.redir != NULL)
				status = run_command(&c);
			sh_cmd_free(&c);
		}
		last_status = status;
		if (shell_exit_requested)
			return shell_exit_status;
		if (status != EXIT_OK && stop_on_error)
			break;
	}
	return status;
}

static char *
read_all(FILE *f)
{
	size_t len = 0, cap = 4096, got;
	char *buf = malloc(cap), *nbuf;

	if (buf == NULL)
		return NULL;
	while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len - 1 == 0) {
			nbuf = realloc(buf, cap * 2);
			if (nbuf == NULL) {
				free(buf);
				return NULL;
			}
			buf = nbuf;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* One line from f without its newline, any length; NULL at end of input. */
static char *
read_line(FILE *f)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap), *nbuf;
	int ch;

	if (buf == NULL)
		return NULL;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (len + 1 >= cap) {
			nbuf = realloc(buf, cap * 2);
			if (nbuf == NULL)
				break;
			buf = nbuf;
			cap *= 2;
		}
		buf[len++] = (char)ch;
	}
	if (ch == EOF && len == 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static int
interactive(void)
{
	char cwd[ANYK_PATH_MAX], *line;

	printf("anyk %s shell. Type 'help' for the commands, 'exit' or "
	    "Ctrl-D to leave.\n", anyk_version());
	for (;;) {
		if (anyk_sys_getcwd(cwd, sizeof(cwd)) == NULL)
			strcpy(cwd, "?");
		printf("anyk:%s# ", cwd);
		fflush(stdout);
		line = read_line(stdin);
		if (line == NULL) {
			putchar('\n');
			break;
		}
		run_script(line, 0);
		free(line);
		if (shell_exit_requested)
			return shell_exit_status;
	}
	return last_status;
}

/* Print what an attached disk looks like: its size and partitions. */
static void
report_disk(const char *dev, const char *host, int rdonly)
{
	char name[32], path[64], size[16];
	char **names = NULL;
	size_t count = 0, i, plen;
	anyk_off_t end;
	int fd;

	strcpy(size, "?");
	fd = anyk_sys_open(dev, ANYK_O_RDONLY, 0);
	if (fd >= 0) {
		end = anyk_sys_lseek(fd, 0, ANYK_SEEK_END);
		if (end >= 0)
			fmt_human(size, sizeof(size), (uint64_t)end);
		anyk_sys_close(fd);
	}
	fprintf(stderr, "%s: %s (%s, %s)", dev, host, size,
	    rdonly ? "read-only" : "read-write");
	sh_basename(name, sizeof(name), dev);
	plen = strlen(name);
	if (sh_readdir("/dev", 0, &names, &count) == 0) {
		const char *sep = ", partitions:";

		for (i = 0; i < count; i++) {
			if (strncmp(names[i], name, plen) != 0 ||
			    names[i][plen] != 'p')
				continue;
			fprintf(stderr, "%s %s", sep, names[i]);
			sep = "";
			snprintf(path, sizeof(path), "/dev/%s", names[i]);
			fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
			if (fd >= 0) {
				end = anyk_sys_lseek(fd, 0, ANYK_SEEK_END);
				if (end >= 0) {
					fmt_human(size, sizeof(size), (uint64_t)end);
					fprintf(stderr, " (%s)", size);
				}
				anyk_sys_close(fd);
			}
		}
		sh_freenames(names, count);
	}
	fprintf(stderr, "\n");
}

int
cmd_shell(int argc, char **argv)
{
	const char *disks[MAX_DISKS], *script = NULL;
	char host[ANYK_PATH_MAX], dev[32];
	int ndisks = 0, quiet = 0, automount = 1, i, status, rdonly;
	size_t len;
	char *text;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--disk") == 0 || strcmp(a, "-d") == 0) {
			if (i + 1 >= argc)
				return err_usage(&shell_cmd, "%s needs an image", a);
			a = argv[++i];
		} else if (strncmp(a, "--disk=", 7) == 0) {
			a += 7;
		} else if (strcmp(a, "-c") == 0) {
			if (i + 1 >= argc)
				return err_usage(&shell_cmd, "-c needs commands");
			if (script != NULL)
				return err_usage(&shell_cmd, "-c given twice");
			script = argv[++i];
			continue;
		} else if (strcmp(a, "-q") == 0) {
			quiet = 1;
			continue;
		} else if (strcmp(a, "--no-mount") == 0) {
			automount = 0;
			continue;
		} else {
			return err_usage(&shell_cmd, "unexpected argument '%s'", a);
		}
		if (ndisks >= MAX_DISKS)
			return err_usage(&shell_cmd, "at most %d disks", MAX_DISKS);
		if (*a == '\0')
			return err_usage(&shell_cmd, "empty image name");
		disks[ndisks++] = a;
	}

	status = boot_kernel();
	if (status != EXIT_OK)
		return status;
	for (i = 0; i < ndisks; i++) {
		len = strlen(disks[i]);
		rdonly = len > 3 && strcmp(disks[i] + len - 3, ":ro") == 0;
		if (rdonly || (len > 3 && strcmp(disks[i] + len - 3, ":rw") == 0))
			len -= 3;
		if (len >= sizeof(host)) {
			errno = ENAMETOOLONG;
			status = err_path(disks[i]);
			goto out;
		}
		memcpy(host, disks[i], len);
		host[len] = '\0';
		snprintf(dev, sizeof(dev), "/dev/sd%d", i);
		if (image_lock(host, !rdonly) < 0) {
			status = EXIT_FAIL;
			goto out;
		}
		if (anyk_disk_attach(dev, host,
		    rdonly ? ANYK_DISK_RDONLY : 0) != 0) {
			status = err_path(host);
			goto out;
		}
		if (!quiet)
			report_disk(dev, host, rdonly);
		/* A file system that cannot be mounted is reported, but the
		 * disk is still there to be looked at. */
		if (automount)
			shell_automount(dev, rdonly, quiet);
	}

	if (script != NULL) {
		status = run_script(script, 1);
	} else if (!isatty(STDIN_FILENO)) {
		text = read_all(stdin);
		if (text == NULL) {
			status = err_path("stdin");
			goto out;
		}
		status = run_script(text, 1);
		free(text);
	} else {
		status = interactive();
	}
out:
	fflush(stdout);
	/* Unmounting and detaching writes everything back to the images. */
	if (anyk_fini() != 0) {
		err_msg("shutdown", "%s", strerror(errno));
		if (status == EXIT_OK)
			status = EXIT_FAIL;
	}
	return status;
}

/* --- built-in commands ---------------------------------------------------- */

static int
sh_help(int argc, char **argv)
{
	const struct tool_cmd *c;
	size_t i;

	if (argc > 2)
		return err_usage(shell_find("help"), "too many arguments");
	if (argc == 2) {
		c = shell_find(argv[1]);
		if (c == NULL)
			return err_msg(argv[1], "command not found");
		sh_printf("usage: %s %s\n\n%s\n", c->name, c->usage, c->help);
		return EXIT_OK;
	}
	sh_printf("Commands run inside the anyk kernel; paths are the kernel's.\n"
	    "'CMD --help' or 'help CMD' tells more.\n");
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		sh_printf("\n%s:\n", table_titles[i]);
		for (c = tables[i]; c->name != NULL; c++) {
			if (c->usage[0] == '\0')
				sh_printf("  %s\n", c->name);
			else
				sh_printf("  %-9s %s\n", c->name, c->usage);
		}
	}
	return EXIT_OK;
}

static int
sh_exit(int argc, char **argv)
{
	uint64_t v;

	if (argc > 2)
		return err_usage(shell_find("exit"), "too many arguments");
	shell_exit_status = last_status;
	if (argc == 2) {
		if (parse_uint(argv[1], 255, &v) != 0)
			return err_usage(shell_find("exit"),
			    "'%s' is not a status from 0 to 255", argv[1]);
		shell_exit_status = (int)v;
	}
	shell_exit_requested = 1;
	return shell_exit_status;
}

const struct tool_cmd shell_builtin_cmds[] = {
	{ "help", "[COMMAND]", "List the commands, or show how to use one.",
	  sh_help },
	{ "exit", "[STATUS]",
	  "Leave the shell with STATUS (default: that of the last command).",
	  sh_exit },
	{ NULL, NULL, NULL, NULL },
};
