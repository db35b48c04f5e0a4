/*
 * The anyk command: what its subcommands and the shell's commands share.
 *
 * Both the top-level subcommands (anyk version, anyk shell, ...) and the
 * commands inside the shell (ls, cat, mount, ...) are rows of a command
 * table, so a new one plugs in by adding a row and a function. Every
 * command returns an exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef ANYK_TOOL_H
#define ANYK_TOOL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "anyk/anyk.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct tool_cmd {
	const char *name;
	const char *usage; /* argument synopsis, without the name */
	const char *help;  /* what it does; may span lines */
	int (*fn)(int argc, char **argv);
};

/* --- util.c: messages ---------------------------------------------------- */

/* "anyk: WHAT: strerror(errno)" on stderr; returns EXIT_FAIL. */
int err_path(const char *what);
/* "anyk: WHAT: reason" on stderr; returns EXIT_FAIL. */
int err_msg(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "anyk: NAME: reason" and the command's usage line; returns EXIT_USAGE. */
int err_usage(const struct tool_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Write "usage: ..." and the help text of cmd to f. */
void cmd_print_help(FILE *f, const struct tool_cmd *cmd, const char *prefix);
/* The row named name in a table ending with a NULL name, or NULL. */
const struct tool_cmd *cmd_find(const struct tool_cmd *table, const char *name);

/* --- util.c: option parsing ---------------------------------------------- */

/*
 * A small getopt without hidden state, so that the shell can parse the
 * options of one command after another. spec is like getopt's ("lam:").
 * opt_next returns the option letter, OPT_END when the options are over
 * (o->ind is then the first operand), OPT_HELP for --help and OPT_ERR after
 * printing a usage error.
 */
struct opt {
	int ind;
	int pos;
	const char *arg;
	const struct tool_cmd *cmd;
};
#define OPT_END (-1)
#define OPT_HELP (-2)
#define OPT_ERR (-3)
void opt_init(struct opt *o, const struct tool_cmd *cmd);
/* opt_next prints the help itself before returning OPT_HELP; a command
 * ends with "return opt_fail(c);" for OPT_HELP and OPT_ERR alike. */
int opt_fail(int c);
int opt_next(struct opt *o, int argc, char **argv, const char *spec);

/* --- util.c: image locks -------------------------------------------------- */

/*
 * An image file is locked (flock) by whoever has the kernel use it: anyk
 * mount exclusively for its whole life, the image commands, mkfs and the
 * shell shared to read and exclusively to write. A command finding it
 * taken waits a few seconds, for a server still shutting down after a
 * plain umount, then fails naming the image. Returns the descriptor
 * holding the lock (closed at exit or by the caller), or -1 after the
 * message.
 */
#define IMAGE_LOCK_WAIT_MS 5000
int image_lock(const char *path, int exclusive);

/* --- util.c: formatting -------------------------------------------------- */

/* "1.5K", "64M", "3.0G": one decimal below 10, as df -h does. */
void fmt_human(char *buf, size_t n, uint64_t bytes);
/* "-rw-r--r--", with s/S/t/T for the set-id and sticky bits. buf >= 11. */
void fmt_mode(char *buf, anyk_mode_t mode);
/* "regular file", "directory", ... */
const char *fmt_type(anyk_mode_t mode);
/* ls -l date: "Jan  2 15:04" within six months, else "Jan  2  2006". */
void fmt_ls_time(char *buf, size_t n, const struct anyk_timespec *ts);
/* "2006-01-02 15:04:05.123456789 +0000" (local time). */
void fmt_full_time(char *buf, size_t n, const struct anyk_timespec *ts);

/* --- util.c: parsing ----------------------------------------------------- */

/* Sizes like "4096", "64k", "10M", "1G" (powers of 1024). 0 or -1. */
int parse_size(const char *s, uint64_t *out);
/* Octal permission mode up to 07777. 0 or -1. */
int parse_mode(const char *s, anyk_mode_t *out);
/* Non-negative decimal number that fits in max. 0 or -1. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Boot the kernel; prints the error and returns EXIT_FAIL if it cannot. */
int boot_kernel(void);
/* The kernel log as a malloc'ed string, or NULL if out of memory. */
char *read_dmesg(void);
/* The same, only lines at maxlevel (ANYK_LOG_*) or more severe. */
char *read_dmesg_level(int maxlevel);

/* --- subcommands --------------------------------------------------------- */

int cmd_version(int argc, char **argv);
int cmd_dmesg(int argc, char **argv);
int cmd_shell(int argc, char **argv);

#endif /* ANYK_TOOL_H */
