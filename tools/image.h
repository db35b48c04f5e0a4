/*
 * The IMAGE[@PART]:PATH framework behind "anyk ls disk.img:/etc" and the
 * other image subcommands: parsing such operands, booting the kernel once
 * per command, attaching each distinct image, finding its file system,
 * mounting it, and taking it all down cleanly again so the image is left
 * consistent (e2fsck-clean) on the host.
 *
 * Every image gets a kernel process context of its own whose root is the
 * image's mount point (anyk_sys_chroot), so that a path or an absolute
 * symbolic link inside the image resolves inside the image and can never
 * reach the kernel's /dev or its root tmpfs. img_enter() makes that context
 * current; user paths are then used as they are.
 */
#ifndef ANYK_TOOLS_IMAGE_H
#define ANYK_TOOLS_IMAGE_H

#include <stdint.h>

#include "tool.h"

#define IMG_MAX 8

/* One operand: a host path (img < 0) or a path inside an image. */
struct img_path {
	const char *arg;  /* as the user wrote it, for messages */
	char *file;       /* the image's host file; NULL for a host path */
	char *part;       /* partition number or GPT name; NULL: whole disk */
	char *path;       /* the path inside the image (absolute), or the host path */
	int img;          /* index in the session, -1 for a host path */
};

struct img {
	char *file, *part;
	int rdonly;              /* attached and mounted read-only */
	char dev[64];            /* /dev/sd0 or /dev/sd0p2: what is mounted */
	char disk[24];           /* /dev/sd0 */
	char mnt[32];            /* /img/0 */
	const char *fstype;
	int mounted;
	struct anyk_proc *proc;  /* chrooted into mnt */
	int lockfd;              /* holds the image's lock (image_lock) */
};

struct img_session {
	struct img img[IMG_MAX];
	int nimg;
	int booted;
	const char *mopts;  /* -o, without "ro" */
	int force_ro;       /* -o ro (1), -o norecovery (2) */
	int current;        /* img_enter()'s argument, -2 before any */
};

/* --- options --------------------------------------------------------------- */

/* A long option: has_arg 0 or 1; val is what ioptn returns for it. */
struct lopt {
	const char *name;
	int has_arg;
	int val;
};

/*
 * Options in the usual style, permuted as GNU does: combined short flags
 * ("-la"), "-o VALUE" and "-oVALUE", "--long", "--long=VALUE" and
 * "--long VALUE", "--" ending options, and operands anywhere. What every
 * image command shares is handled here, so that a command sees only its
 * own options: --help prints the help, a bad option prints a usage error,
 * and -o OPTS (when the spec has "o:") goes to the session's mount options.
 * Operands are collected, in order, at the front of argv (operands points
 * into it), so there is nothing to free on any path.
 */
struct iopts {
	int argc;
	char **argv;
	int ind, pos;
	int done;            /* "--" seen */
	const char *arg;     /* the option's value */
	const struct tool_cmd *cmd;
	struct img_session *s;
	char **operands;
	int noperands;
};
#define IOPT_END (-1)
#define IOPT_HELP (-2)
#define IOPT_ERR (-3)
/* The value of "--json" in the commands' long option tables. */
#define IOPT_JSON 256
/* Initialises s too: every command parses its options into a new session. */
void iopt_init(struct iopts *o, const struct tool_cmd *cmd, struct img_session *s,
	       int argc, char **argv);
/* The next option letter or long option's val, IOPT_END, IOPT_HELP (after
 * printing the help) or IOPT_ERR (after printing a usage error). */
int iopt_next(struct iopts *o, const char *spec, const struct lopt *longs);
/* What a command returns for IOPT_HELP and IOPT_ERR. */
int iopt_fail(int c);

/* --- operands and the session ---------------------------------------------- */

/* Split arg into a struct img_path (allocations freed by img_path_free).
 * Returns 0, or EXIT_USAGE after printing why. */
int img_path_parse(const char *arg, struct img_path *p);
void img_path_free(struct img_path *p);

void img_session_init(struct img_session *s);
/* Handle "-o OPTS" for every command: "ro" and what goes to mount. */
void img_set_mount_opts(struct img_session *s, const char *opts);
/*
 * Boot the kernel (once) and attach and mount p's image, read-only unless
 * writable; an image already in the session is reused (and remounted
 * read-write if it must be written). Sets p->img. Prints the error and
 * returns EXIT_FAIL if it cannot.
 */
int img_add(struct img_session *s, struct img_path *p, int writable);
/* Boot the kernel without any image (for host-only work). */
int img_boot(struct img_session *s);
/* Make image i's chrooted context current (-1: the initial context). */
void img_enter(struct img_session *s, int i);
/*
 * Unmount everything (syncing it), detach, and shut the kernel down.
 * Returns status, or EXIT_FAIL if the file systems could not be written
 * back (after printing why).
 */
int img_close(struct img_session *s, int status);

/* --- messages -------------------------------------------------------------- */

/* "IMAGE[@PART]:PATH" for a path below p (sub relative to p->path, or an
 * absolute path in p's image when sub starts with '/'); malloc'ed. */
char *img_name(const struct img_path *p, const char *sub);
/* "anyk: NAME: strerror(e)"; returns EXIT_FAIL. */
int img_err(const struct img_path *p, const char *sub, int e);
/* "anyk: NAME: message"; returns EXIT_FAIL. */
int img_errmsg(const struct img_path *p, const char *sub, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Join dir and name with one '/'; malloc'ed (exits on out of memory). */
char *path_join(const char *dir, const char *name);
/* The last component of path (after trailing slashes are ignored), in buf. */
void path_last(char *buf, size_t n, const char *path);
/* malloc that exits with a message on failure: the tool cannot go on. */
void *xmalloc(size_t n);
char *xstrdup(const char *s);

/* --- small helpers over the kernel API -------------------------------------- */

/* Remove path (in p's image, entered) and, for a directory, everything
 * below it, following no symlink; errors are reported. */
int img_rm_tree(const struct img_path *p, const char *path);
/* mv where no rename can do it (another image, another project: EXDEV):
 * sp's tree is copied to "to" in dp's image, keeping owners, modes, times,
 * xattrs, holes and hard links, and then removed. An existing "to" is
 * replaced as rename(2) replaces it (kept if noclobber). */
int img_move_by_copy(struct img_session *s, const struct img_path *sp, const struct img_path *dp,
		     const char *to, int noclobber);

/* Read directory path's names (not "." and "..") sorted; -1 and errno. */
int kdir_names(const char *path, char ***names, size_t *count);
void knames_free(char **names, size_t count);

/* Parse "2024-01-02", "2024-01-02T03:04:05[.nnn][Z|+hh:mm]", "@SECS[.nnn]";
 * 0 or -1. Local time when no zone is given. */
int parse_date(const char *s, struct anyk_timespec *out);

/* Parse operand arg into p and attach its image (writable or not); a host
 * path is refused unless host_ok. Returns EXIT_OK, EXIT_FAIL or EXIT_USAGE. */
int img_operand(struct img_session *s, struct img_path *p, const char *arg, int writable,
		int host_ok);

/* cmd_img_ls.c: one file as a JSON object (name, path, type, mode, owners,
 * size, times, link target), for ls, stat and find. */
struct json;
void img_json_stat(struct json *j, const char *name, const char *path,
		   const struct anyk_stat *st, const char *target);
/* "file", "directory", "symlink", "block", "char", "fifo", "socket". */
const char *img_type_word(anyk_mode_t mode);

/* The subcommands (cmd_img_*.c): each defines its synopsis, help text and
 * function; IMG_ROW(ls) is its row in main.c's table. */
#define IMG_CMD_DECL(n)                                                      \
	extern const char img_usage_##n[];                                      \
	extern const char img_help_##n[];                                       \
	int cmd_img_##n(int argc, char **argv)
#define IMG_ROW(n) { #n, img_usage_##n, img_help_##n, cmd_img_##n }
/* The struct tool_cmd of subcommand n, for option parsing and messages. */
#define IMG_TOOL_CMD(n) { #n, img_usage_##n, img_help_##n, cmd_img_##n }
IMG_CMD_DECL(ls);
IMG_CMD_DECL(stat);
IMG_CMD_DECL(cat);
IMG_CMD_DECL(cp);
IMG_CMD_DECL(mkdir);
IMG_CMD_DECL(rm);
IMG_CMD_DECL(rmdir);
IMG_CMD_DECL(mv);
IMG_CMD_DECL(ln);
IMG_CMD_DECL(chmod);
IMG_CMD_DECL(chown);
IMG_CMD_DECL(touch);
IMG_CMD_DECL(find);
IMG_CMD_DECL(du);
IMG_CMD_DECL(df);
IMG_CMD_DECL(info);
IMG_CMD_DECL(check);

#endif /* ANYK_TOOLS_IMAGE_H */
