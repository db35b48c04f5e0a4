/*
 * anyk: the command-line front end of the anykernel. Dispatches to one
 * subcommand per file (cmd_*.c); a new subcommand is a row in the table
 * below.
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "tools/image.h"

static int cmd_help(int argc, char **argv);
int cmd_mkfs(int argc, char **argv); /* cmd_mkfs.c */
int cmd_mount(int argc, char **argv); /* cmd_mount.c */
int cmd_umount(int argc, char **argv); /* cmd_mount.c */
IMG_CMD_DECL(tar); /* cmd_img_tar.c */

static const struct tool_cmd commands[] = {
	{ "version", "",
	  "Print the versions of the tool and the kernel, and the build.\n"
	  "The kernel is not booted.",
	  cmd_version },
	{ "dmesg", "",
	  "Boot the kernel and print its log.\n"
	  "It shows what booted and which components are linked in.",
	  cmd_dmesg },
	{ "shell", "[-q] [--no-mount] [--disk IMAGE[:ro]]... [-c COMMANDS]",
	  "Boot the kernel and run shell commands inside it.\n"
	  "Commands come from -c (separated by ';' or newlines), from standard\n"
	  "input when it is not a terminal, or interactively. Each --disk attaches a host file or device as\n"
	  "/dev/sd0, /dev/sd1, ... (read-only with the :ro suffix), with its\n"
	  "partitions as /dev/sd0p1, ... An ext2/3/4 file system on a disk or\n"
	  "partition is mounted on /mnt/sd0, /mnt/sd0p1, ... (read-only if the\n"
	  "disk is, or if the driver cannot write); --no-mount leaves them\n"
	  "unmounted. -q leaves out the attach and mount report.\n"
	  "Type 'help' in the shell for its commands. With -c or a script the\n"
	  "shell stops at the first failing command and exits with its status\n"
	  "(1 error, 2 usage).",
	  cmd_shell },
	{ "help", "[COMMAND]", "Show the commands, or the help of one.",
	  cmd_help },
	{ "mkfs", "-t ext2|ext3|ext4 [-b BSIZE] [-I ISIZE] [-N INODES] [-L LABEL] [-U UUID]\n"
	  "       [-O FEATURES] [-q] [--timestamp T] [-d DIR] IMAGE [SIZE]",
	  "Make an ext2, ext3 or ext4 file system in a host image file,\n"
	  "optionally populated from the host directory DIR (-d).\n"
	  "The image is created or resized to SIZE (k, m, g, t suffixes) and\n"
	  "emptied; defaults and features are those of Debian 12's mke2fs.\n"
	  "-O takes mke2fs feature names (^ to clear). With -U and --timestamp\n"
	  "(or SOURCE_DATE_EPOCH) the image is the same bytes on every run.",
	  cmd_mkfs },
	IMG_ROW(ls),
	IMG_ROW(stat),
	IMG_ROW(cat),
	IMG_ROW(cp),
	IMG_ROW(mkdir),
	IMG_ROW(rm),
	IMG_ROW(rmdir),
	IMG_ROW(mv),
	IMG_ROW(ln),
	IMG_ROW(chmod),
	IMG_ROW(chown),
	IMG_ROW(touch),
	IMG_ROW(find),
	IMG_ROW(du),
	IMG_ROW(df),
	IMG_ROW(info),
	IMG_ROW(check),
	IMG_ROW(tar),
#ifdef ANYK_HAVE_FUSE
	{ "mount", "[-f] [-d] [-o OPTIONS] IMAGE[@PART] DIR",
	  "Serve an ext2/3/4 image on DIR through FUSE, with the anyk kernel.\n"
	  "IMAGE@N serves partition N of a partitioned image. The server runs in\n"
	  "the background until 'anyk umount DIR' (or a SIGINT or SIGTERM); -f\n"
	  "keeps it in the foreground, -d too and shows every request.\n"
	  "Options: ro, uid=N and gid=N (report every file as theirs),\n"
	  "timeout=SECONDS (attribute cache, default 1), spin=US (how long the\n"
	  "server stays awake for the next request, default 50), and FUSE's own\n"
	  "(allow_other, allow_root, auto_unmount, default_permissions, ...).\n"
	  "The host kernel checks permissions unless only root can reach the\n"
	  "mount. An image the driver cannot write is served read-only.",
	  cmd_mount },
	{ "umount", "DIR",
	  "Unmount an anyk mount and wait until its image is synced and closed.",
	  cmd_umount },
#endif
	{ NULL, NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	const struct tool_cmd *c;

	fprintf(f, "usage: anyk COMMAND [ARGS...]\n\n"
	    "anyk runs the anyk kernel inside this process.\n\nCommands:\n");
	/* The first line of each help text is its summary. */
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-8s %.*s\n", c->name,
		    (int)strcspn(c->help, "\n"), c->help);
	fprintf(f, "\n'anyk help COMMAND' or 'anyk COMMAND --help' tells more.\n");
}

static int
cmd_help(int argc, char **argv)
{
	const struct tool_cmd *c;

	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return err_usage(&commands[3], "too many arguments");
	c = cmd_find(commands, argv[1]);
	if (c == NULL)
		return err_msg(argv[1], "no such command (try 'anyk --help')");
	cmd_print_help(stdout, c, "anyk ");
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	const struct tool_cmd *c;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	c = cmd_find(commands, argv[1]);
	if (c == NULL) {
		fprintf(stderr, "anyk: %s: no such command\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (argc > 2 && strcmp(argv[2], "--help") == 0) {
		cmd_print_help(stdout, c, "anyk ");
		return EXIT_OK;
	}
	return c->fn(argc - 1, argv + 1);
}
