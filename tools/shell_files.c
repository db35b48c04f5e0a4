/*
 * Shell commands on files and directories: cat, echo, write, cp, mv, ln,
 * rm, rmdir, mkdir, touch, truncate; and the path and directory helpers
 * the other command files share. cp also crosses between the host and the
 * kernel ("host:PATH"), the easiest way to get data in and out.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shell.h"

#define IOBUF (64 * 1024)

/* --- helpers -------------------------------------------------------------- */

int
sh_join(char *buf, size_t n, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int r;

	if (dl > 0 && dir[dl - 1] == '/')
		r = snprintf(buf, n, "%s%s", dir, name);
	else
		r = snprintf(buf, n, "%s/%s", dir, name);
	if (r < 0 || (size_t)r >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
sh_basename(char *buf, size_t n, const char *path)
{
	size_t len = strlen(path), start;

	while (len > 1 && path[len - 1] == '/')
		len--;
	start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (len - start >= n)
		len = start + n - 1;
	memcpy(buf, path + start, len - start);
	buf[len - start] = '\0';
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
sh_freenames(char **names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int
sh_readdir(const char *path, int all, char ***namesp, size_t *countp)
{
	char *buf, **names = NULL, **nn;
	size_t count = 0, cap = 0, off, hdr;
	anyk_ssize_t got;
	int fd, e = 0;

	hdr = offsetof(struct anyk_dirent, d_name);
	fd = anyk_sys_open(path, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	buf = malloc(IOBUF);
	if (buf == NULL) {
		e = ENOMEM;
		goto out;
	}
	while ((got = anyk_sys_getdents(fd, buf, IOBUF)) > 0) {
		for (off = 0; off + hdr < (size_t)got;) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + off);
			size_t nlen;

			/* Trust nothing the kernel hands back either. */
			if (d->d_reclen <= hdr || d->d_reclen > (size_t)got - off) {
				e = EIO;
				goto out;
			}
			nlen = strnlen(d->d_name, d->d_reclen - hdr);
			if (nlen == d->d_reclen - hdr) {
				e = EIO;
				goto out;
			}
			off += d->d_reclen;
			if (!all && (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0))
				continue;
			if (count == cap) {
				cap = cap ? cap * 2 : 64;
				nn = realloc(names, cap * sizeof(*names));
				if (nn == NULL) {
					e = ENOMEM;
					goto out;
				}
				names = nn;
			}
			names[count] = strdup(d->d_name);
			if (names[count] == NULL) {
				e = ENOMEM;
				goto out;
			}
			count++;
		}
	}
	if (got < 0)
		e = errno;
out:
	free(buf);
	anyk_sys_close(fd);
	if (e != 0) {
		sh_freenames(names, count);
		errno = e;
		return -1;
	}
	if (count > 1)
		qsort(names, count, sizeof(*names), name_cmp);
	*namesp = names;
	*countp = count;
	return 0;
}

static int
is_dir(const char *path)
{
	struct anyk_stat st;

	return anyk_sys_stat(path, &st) == 0 && ANYK_S_ISDIR(st.st_mode);
}

/* If dst is a directory, make it dst/basename(src) in buf; else copy dst. */
static int
target_in_dir(char *buf, size_t n, const char *src, const char *dst)
{
	char base[ANYK_NAME_MAX + 1];

	if (is_dir(dst)) {
		sh_basename(base, sizeof(base), src);
		return sh_join(buf, n, dst, base);
	}
	if (strlen(dst) >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, dst);
	return 0;
}

int
sh_open_out(const char *path, int append, anyk_mode_t mode)
{
	struct anyk_stat st;
	int flags = ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_CLOEXEC;

	/* Truncating means nothing for a device and some refuse it: writing
	 * to /dev/sd0p1 overwrites its first bytes, as on any Unix. */
	if (append)
		flags |= ANYK_O_APPEND;
	else if (anyk_sys_stat(path, &st) != 0 || ANYK_S_ISREG(st.st_mode))
		flags |= ANYK_O_TRUNC;
	return anyk_sys_open(path, flags, mode);
}

/* --- cat, echo, write ----------------------------------------------------- */

static int
sh_cat(int argc, char **argv)
{
	struct opt o;
	char *buf;
	anyk_ssize_t got;
	int c, fd, i, status = EXIT_OK;

	opt_init(&o, shell_find("cat"));
	while ((c = opt_next(&o, argc, argv, "")) != OPT_END)
		return opt_fail(c);
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing file operand");
	buf = malloc(IOBUF);
	if (buf == NULL)
		return err_msg("cat", "%s", strerror(ENOMEM));
	for (i = o.ind; i < argc; i++) {
		fd = anyk_sys_open(argv[i], ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
		if (fd < 0) {
			status = err_path(argv[i]);
			continue;
		}
		while ((got = anyk_sys_read(fd, buf, IOBUF)) > 0)
			if (sh_write(buf, (size_t)got) != 0)
				break;
		if (got < 0)
			status = err_path(argv[i]);
		anyk_sys_close(fd);
	}
	free(buf);
	return status;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Join words with spaces, add a newline unless nonl, and with escapes turn
 * \n \t \\ \xHH \0NNN ... into bytes (\c ends the text). The result is
 * malloc'ed; NULL if out of memory.
 */
static char *
build_text(int argc, char **argv, int nonl, int escapes, size_t *lenp)
{
	size_t cap = 2, len = 0;
	char *out, *p;
	int i, k, v, h;

	for (i = 0; i < argc; i++)
		cap += strlen(argv[i]) + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (i = 0; i < argc; i++) {
		if (i > 0)
			out[len++] = ' ';
		for (p = argv[i]; *p != '\0'; p++) {
			if (!escapes || *p != '\\' || p[1] == '\0') {
				out[len++] = *p;
				continue;
			}
			switch (*++p) {
			case 'a': out[len++] = '\a'; break;
			case 'b': out[len++] = '\b'; break;
			case 'e': out[len++] = 033; break;
			case 'f': out[len++] = '\f'; break;
			case 'n': out[len++] = '\n'; break;
			case 'r': out[len++] = '\r'; break;
			case 't': out[len++] = '\t'; break;
			case 'v': out[len++] = '\v'; break;
			case '\\': out[len++] = '\\'; break;
			case 'c':
				*lenp = len;
				return out;
			case 'x':
				v = 0;
				for (k = 0; k < 2 && (h = hexval(p[1])) >= 0; k++, p++)
					v = v * 16 + h;
				if (k == 0) {
					out[len++] = '\\';
					out[len++] = 'x';
				} else {
					out[len++] = (char)v;
				}
				break;
			case '0':
				v = 0;
				for (k = 0; k < 3 && p[1] >= '0' && p[1] <= '7'; k++, p++)
					v = v * 8 + (p[1] - '0');
				out[len++] = (char)v;
				break;
			default:
				out[len++] = '\\';
				out[len++] = *p;
				break;
			}
		}
	}
	if (!nonl)
		out[len++] = '\n';
	*lenp = len;
	return out;
}

/* echo's and write's flags: -n, -e, -a (write only), in any combination. */
static int
text_flags(int argc, char **argv, const char *allowed, int *nonl, int *esc,
    int *app)
{
	int i;
	const char *p;

	for (i = 1; i < argc; i++) {
		p = argv[i];
		if (p[0] != '-' || p[1] == '\0')
			break;
		if (strcmp(p, "--") == 0)
			return i + 1;
		for (p++; *p != '\0'; p++)
			if (strchr(allowed, *p) == NULL)
				return i; /* not flags: text */
		for (p = argv[i] + 1; *p != '\0'; p++) {
			if (*p == 'n')
				*nonl = 1;
			else if (*p == 'e')
				*esc = 1;
			else if (*p == 'a')
				*app = 1;
		}
	}
	return i;
}

static int
sh_echo(int argc, char **argv)
{
	int nonl = 0, esc = 0, app = 0, i, error;
	size_t len;
	char *text;

	i = text_flags(argc, argv, "ne", &nonl, &esc, &app);
	text = build_text(argc - i, argv + i, nonl, esc, &len);
	if (text == NULL)
		return err_msg("echo", "%s", strerror(ENOMEM));
	error = sh_write(text, len);
	free(text);
	return error ? EXIT_FAIL : EXIT_OK;
}

static int
sh_writecmd(int argc, char **argv)
{
	int nonl = 0, esc = 0, app = 0, i, fd, status = EXIT_OK;
	const char *file;
	size_t len, done = 0;
	anyk_ssize_t w;
	char *text;

	i = text_flags(argc, argv, "nea", &nonl, &esc, &app);
	if (i >= argc)
		return err_usage(shell_find("write"), "missing file operand");
	file = argv[i++];
	text = build_text(argc - i, argv + i, nonl, esc, &len);
	if (text == NULL)
		return err_msg("write", "%s", strerror(ENOMEM));
	fd = sh_open_out(file, app, 0666);
	if (fd < 0) {
		status = err_path(file);
		goto out;
	}
	while (done < len) {
		w = anyk_sys_write(fd, text + done, len - done);
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			status = err_path(file);
			break;
		}
		done += (size_t)w;
	}
	if (anyk_sys_close(fd) != 0 && status == EXIT_OK)
		status = err_path(file);
out:
	free(text);
	return status;
}

/* --- cp ------------------------------------------------------------------- */

/* One end of a copy: a host descriptor or a kernel descriptor. */
struct endpoint {
	int host;
	int fd;
	const char *name;
};

static anyk_ssize_t
ep_read(struct endpoint *e, void *buf, size_t n)
{
	return e->host ? read(e->fd, buf, n) : anyk_sys_read(e->fd, buf, n);
}

static anyk_ssize_t
ep_write(struct endpoint *e, const void *buf, size_t n)
{
	return e->host ? write(e->fd, buf, n) : anyk_sys_write(e->fd, buf, n);
}

static int
ep_close(struct endpoint *e)
{
	return e->host ? close(e->fd) : anyk_sys_close(e->fd);
}

static int
is_host(const char *path)
{
	return strncmp(path, "host:", 5) == 0;
}

/* Copy one file; dst is the final name (not a directory). */
static int
copy_file(const char *src, const char *dst)
{
	struct endpoint in = { 0, -1, src }, out = { 0, -1, dst };
	struct anyk_stat kst;
	struct stat hst;
	anyk_mode_t mode;
	anyk_ssize_t got, w;
	size_t done;
	char *buf = NULL;
	int status = EXIT_OK;

	if (is_host(src)) {
		in.host = 1;
		in.name = src + 5;
		in.fd = open(in.name, O_RDONLY | O_CLOEXEC);
		if (in.fd < 0 || fstat(in.fd, &hst) != 0)
			goto in_fail;
		if (S_ISDIR(hst.st_mode)) {
			errno = EISDIR;
			goto in_fail;
		}
		mode = hst.st_mode & 0777;
	} else {
		in.fd = anyk_sys_open(src, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
		if (in.fd < 0 || anyk_sys_fstat(in.fd, &kst) != 0)
			goto in_fail;
		if (ANYK_S_ISDIR(kst.st_mode)) {
			errno = EISDIR;
			goto in_fail;
		}
		mode = kst.st_mode & 0777;
	}
	if (is_host(dst)) {
		out.host = 1;
		out.name = dst + 5;
		out.fd = open(out.name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    (mode_t)mode);
	} else {
		/* A new file gets the source's permissions, as cp does. */
		out.fd = sh_open_out(dst, 0, mode);
	}
	if (out.fd < 0) {
		status = err_path(out.name);
		goto out;
	}
	buf = malloc(IOBUF);
	if (buf == NULL) {
		status = err_msg(dst, "%s", strerror(ENOMEM));
		goto out;
	}
	while ((got = ep_read(&in, buf, IOBUF)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			status = err_path(in.name);
			goto out;
		}
		for (done = 0; done < (size_t)got; done += (size_t)w) {
			w = ep_write(&out, buf + done, (size_t)got - done);
			if (w <= 0) {
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				if (w == 0)
					errno = EIO;
				status = err_path(out.name);
				goto out;
			}
		}
	}
out:
	free(buf);
	if (out.fd >= 0 && ep_close(&out) != 0 && status == EXIT_OK)
		status = err_path(out.name);
	if (in.fd >= 0)
		ep_close(&in);
	return status;
in_fail:
	status = err_path(in.name);
	if (in.fd >= 0)
		ep_close(&in);
	return status;
}

static int
host_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
sh_cp(int argc, char **argv)
{
	char dst[ANYK_PATH_MAX + 5], base[ANYK_NAME_MAX + 1];
	const char *last;
	int c, i, status = EXIT_OK, dir;
	struct opt o;

	opt_init(&o, shell_find("cp"));
	while ((c = opt_next(&o, argc, argv, "")) != OPT_END)
		return opt_fail(c);
	if (argc - o.ind < 2)
		return err_usage(o.cmd, "need a source and a destination");
	last = argv[argc - 1];
	dir = is_host(last) ? host_is_dir(last + 5) : is_dir(last);
	if (argc - o.ind > 2 && !dir) {
		errno = ENOTDIR;
		return err_path(last);
	}
	for (i = o.ind; i < argc - 1; i++) {
		if (dir) {
			sh_basename(base, sizeof(base),
			    is_host(argv[i]) ? argv[i] + 5 : argv[i]);
			if (sh_join(dst, sizeof(dst), last, base) != 0) {
				status = err_path(last);
				continue;
			}
		} else {
			snprintf(dst, sizeof(dst), "%s", last);
		}
		if (copy_file(argv[i], dst) != EXIT_OK)
			status = EXIT_FAIL;
	}
	return status;
}

/* --- mv, ln, rm, rmdir, mkdir -------------------------------------------- */

static int
sh_mv(int argc, char **argv)
{
	char dst[ANYK_PATH_MAX];
	int c, i, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("mv"));
	while ((c = opt_next(&o, argc, argv, "")) != OPT_END)
		return opt_fail(c);
	if (argc - o.ind < 2)
		return err_usage(o.cmd, "need a source and a destination");
	if (argc - o.ind > 2 && !is_dir(argv[argc - 1])) {
		errno = ENOTDIR;
		return err_path(argv[argc - 1]);
	}
	for (i = o.ind; i < argc - 1; i++) {
		if (target_in_dir(dst, sizeof(dst), argv[i], argv[argc - 1]) != 0) {
			status = err_path(argv[argc - 1]);
			continue;
		}
		if (anyk_sys_rename(argv[i], dst) != 0)
			status = err_msg(argv[i], "cannot move to %s: %s", dst,
			    strerror(errno));
	}
	return status;
}

static int
sh_ln(int argc, char **argv)
{
	char dst[ANYK_PATH_MAX];
	int c, sym = 0, r;
	struct opt o;

	opt_init(&o, shell_find("ln"));
	while ((c = opt_next(&o, argc, argv, "s")) != OPT_END) {
		if (c == 's')
			sym = 1;
		else
			return opt_fail(c);
	}
	if (argc - o.ind < 1 || argc - o.ind > 2)
		return err_usage(o.cmd, "need a target and a link name");
	if (argc - o.ind == 1)
		sh_basename(dst, sizeof(dst), argv[o.ind]);
	else if (target_in_dir(dst, sizeof(dst), argv[o.ind], argv[o.ind + 1]) != 0)
		return err_path(argv[o.ind + 1]);
	if (sym)
		r = anyk_sys_symlink(argv[o.ind], dst);
	else
		r = anyk_sys_link(argv[o.ind], dst);
	return r != 0 ? err_path(dst) : EXIT_OK;
}

static int
remove_tree(char *path, size_t cap, int force)
{
	struct anyk_stat st;
	char **names;
	size_t count, i, len;
	const char *sep;
	int status = EXIT_OK, r;

	if (anyk_sys_lstat(path, &st) != 0)
		return force && errno == ENOENT ? EXIT_OK : err_path(path);
	if (!ANYK_S_ISDIR(st.st_mode)) {
		if (anyk_sys_unlink(path) != 0)
			return err_path(path);
		return EXIT_OK;
	}
	if (sh_readdir(path, 0, &names, &count) != 0)
		return err_path(path);
	len = strlen(path);
	sep = len > 0 && path[len - 1] == '/' ? "" : "/";
	for (i = 0; i < count; i++) {
		r = snprintf(path + len, cap - len, "%s%s", sep, names[i]);
		if (r < 0 || (size_t)r >= cap - len) {
			path[len] = '\0';
			errno = ENAMETOOLONG;
			status = err_path(path);
			continue;
		}
		if (remove_tree(path, cap, force) != EXIT_OK)
			status = EXIT_FAIL;
		path[len] = '\0';
	}
	sh_freenames(names, count);
	if (status == EXIT_OK && anyk_sys_rmdir(path) != 0)
		status = err_path(path);
	return status;
}

static int
sh_rm(int argc, char **argv)
{
	char path[ANYK_PATH_MAX];
	struct anyk_stat st;
	int c, i, rec = 0, force = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("rm"));
	while ((c = opt_next(&o, argc, argv, "rRf")) != OPT_END) {
		if (c == 'r' || c == 'R')
			rec = 1;
		else if (c == 'f')
			force = 1;
		else
			return opt_fail(c);
	}
	if (o.ind >= argc && !force)
		return err_usage(o.cmd, "missing operand");
	for (i = o.ind; i < argc; i++) {
		if (rec) {
			if (strcmp(argv[i], "/") == 0) {
				status = err_msg("/", "refusing to remove the "
				    "root directory");
				continue;
			}
			if (strlen(argv[i]) >= sizeof(path)) {
				errno = ENAMETOOLONG;
				status = err_path(argv[i]);
				continue;
			}
			strcpy(path, argv[i]);
			if (remove_tree(path, sizeof(path), force) != EXIT_OK)
				status = EXIT_FAIL;
			continue;
		}
		if (anyk_sys_lstat(argv[i], &st) == 0 && ANYK_S_ISDIR(st.st_mode)) {
			status = err_msg(argv[i], "is a directory (use rm -r "
			    "or rmdir)");
			continue;
		}
		if (anyk_sys_unlink(argv[i]) != 0 && !(force && errno == ENOENT))
			status = err_path(argv[i]);
	}
	return status;
}

static int
sh_rmdir(int argc, char **argv)
{
	int c, i, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("rmdir"));
	while ((c = opt_next(&o, argc, argv, "")) != OPT_END)
		return opt_fail(c);
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing operand");
	for (i = o.ind; i < argc; i++)
		if (anyk_sys_rmdir(argv[i]) != 0)
			status = err_path(argv[i]);
	return status;
}

static int
mkdir_parents(const char *path, anyk_mode_t mode)
{
	char buf[ANYK_PATH_MAX];
	size_t len = strlen(path), i;

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		/* Intermediate directories get the default mode, as mkdir -p. */
		if (anyk_sys_mkdir(buf, i == len ? mode : 0777) != 0 &&
		    !(errno == EEXIST && is_dir(buf)))
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

static int
sh_mkdir(int argc, char **argv)
{
	anyk_mode_t mode = 0777;
	int c, i, parents = 0, setmode = 0, status = EXIT_OK, r;
	struct opt o;

	opt_init(&o, shell_find("mkdir"));
	while ((c = opt_next(&o, argc, argv, "pm:")) != OPT_END) {
		if (c == 'p') {
			parents = 1;
		} else if (c == 'm') {
			if (parse_mode(o.arg, &mode) != 0)
				return err_usage(o.cmd, "invalid mode '%s' "
				    "(octal, e.g. 755)", o.arg);
			setmode = 1;
		} else {
			return opt_fail(c);
		}
	}
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing operand");
	for (i = o.ind; i < argc; i++) {
		r = parents ? mkdir_parents(argv[i], mode) :
		    anyk_sys_mkdir(argv[i], mode);
		/* -m gives exactly the mode asked for, whatever the umask. */
		if (r == 0 && setmode)
			r = anyk_sys_chmod(argv[i], mode);
		if (r != 0)
			status = err_path(argv[i]);
	}
	return status;
}

/* --- touch, truncate ------------------------------------------------------ */

static int
sh_touch(int argc, char **argv)
{
	int c, i, fd, nocreate = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("touch"));
	while ((c = opt_next(&o, argc, argv, "c")) != OPT_END) {
		if (c == 'c')
			nocreate = 1;
		else
			return opt_fail(c);
	}
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing file operand");
	for (i = o.ind; i < argc; i++) {
		if (anyk_sys_utimensat(ANYK_AT_FDCWD, argv[i], NULL, 0) == 0)
			continue;
		if (errno != ENOENT || nocreate) {
			if (errno != ENOENT)
				status = err_path(argv[i]);
			continue;
		}
		fd = anyk_sys_open(argv[i], ANYK_O_WRONLY | ANYK_O_CREAT |
		    ANYK_O_CLOEXEC, 0666);
		if (fd < 0) {
			status = err_path(argv[i]);
			continue;
		}
		anyk_sys_close(fd);
	}
	return status;
}

static int
sh_truncate(int argc, char **argv)
{
	uint64_t size = 0;
	int c, i, fd, have = 0, nocreate = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("truncate"));
	while ((c = opt_next(&o, argc, argv, "s:c")) != OPT_END) {
		if (c == 's') {
			if (parse_size(o.arg, &size) != 0 || size > INT64_MAX)
				return err_usage(o.cmd, "invalid size '%s'", o.arg);
			have = 1;
		} else if (c == 'c') {
			nocreate = 1;
		} else {
			return opt_fail(c);
		}
	}
	if (!have)
		return err_usage(o.cmd, "-s SIZE is required");
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing file operand");
	for (i = o.ind; i < argc; i++) {
		fd = anyk_sys_open(argv[i], ANYK_O_WRONLY | ANYK_O_CLOEXEC |
		    (nocreate ? 0 : ANYK_O_CREAT), 0666);
		if (fd < 0) {
			if (!(nocreate && errno == ENOENT))
				status = err_path(argv[i]);
			continue;
		}
		if (anyk_sys_ftruncate(fd, (anyk_off_t)size) != 0)
			status = err_path(argv[i]);
		anyk_sys_close(fd);
	}
	return status;
}

const struct tool_cmd shell_files_cmds[] = {
	{ "ls", "[-l] [-a] [-d] [PATH...]",
	  "List directories, or show files. -l: long format (mode, links,\n"
	  "owner, group, size or device numbers, modification time, name,\n"
	  "symlink target); -a: include names starting with '.'; -d: show\n"
	  "directories themselves, not their contents.",
	  sh_ls },
	{ "cat", "FILE...", "Print the contents of kernel files.", sh_cat },
	{ "echo", "[-n] [-e] [TEXT...]",
	  "Print TEXT followed by a newline (-n: no newline; -e: interpret\n"
	  "\\n \\t \\\\ \\xHH \\0NNN). Use '> FILE' or '>> FILE' to write it to\n"
	  "a kernel file.",
	  sh_echo },
	{ "write", "[-a] [-n] [-e] FILE [TEXT...]",
	  "Replace the contents of FILE with TEXT and a newline, creating it\n"
	  "if needed (-a: append instead; -n, -e as for echo).",
	  sh_writecmd },
	{ "cp", "SRC... DST",
	  "Copy files. A path written host:PATH is on the host, so cp can copy\n"
	  "into the kernel (cp host:/etc/hosts /tmp) and out of it\n"
	  "(cp /tmp/f host:/tmp/f). If DST is a directory, the files go into it.",
	  sh_cp },
	{ "mv", "SRC... DST", "Rename or move files and directories.", sh_mv },
	{ "ln", "[-s] TARGET [LINK]",
	  "Make a hard link (or with -s a symbolic link) named LINK to TARGET.",
	  sh_ln },
	{ "rm", "[-r] [-f] PATH...",
	  "Remove files (-r: directories with their contents; -f: ignore\n"
	  "missing files).",
	  sh_rm },
	{ "rmdir", "DIR...", "Remove empty directories.", sh_rmdir },
	{ "mkdir", "[-p] [-m MODE] DIR...",
	  "Make directories (-p: with their parents, no error if they exist;\n"
	  "-m: with this octal mode).",
	  sh_mkdir },
	{ "touch", "[-c] FILE...",
	  "Set the access and modification times of files to now, creating\n"
	  "them if needed (-c: do not create).",
	  sh_touch },
	{ "truncate", "-s SIZE [-c] FILE...",
	  "Set the size of files (SIZE in bytes, or with K, M, G, T), creating\n"
	  "them if needed (-c: do not create).",
	  sh_truncate },
	{ NULL, NULL, NULL, NULL },
};
