/*
 * The anyk shell: interfaces between the interpreter (cmd_shell.c), its
 * tokenizer (shell_parse.c) and the command tables (shell_*.c).
 *
 * Commands print through sh_printf()/sh_write() so that a redirection
 * ("> FILE", ">> FILE") can send any command's output into a kernel file;
 * messages about errors always go to the host's stderr.
 */
#ifndef ANYK_SHELL_H
#define ANYK_SHELL_H

#include "tool.h"

/* Command tables, each ending with a row whose name is NULL. */
extern const struct tool_cmd shell_files_cmds[];
extern const struct tool_cmd shell_attr_cmds[];
extern const struct tool_cmd shell_fs_cmds[];
extern const struct tool_cmd shell_dev_cmds[];
extern const struct tool_cmd shell_builtin_cmds[];

/* ls, in a file of its own (shell_ls.c) but listed with the file commands. */
int sh_ls(int argc, char **argv);

/* Look a command up in every table. */
const struct tool_cmd *shell_find(const char *name);

/* Output of the running command (host stdout or a redirected kernel file).
 * Both return 0, or -1 after a write error, which also makes the command
 * fail. */
int sh_write(const void *buf, size_t n);
int sh_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set by "exit": the shell stops after the current command. */
extern int shell_exit_requested;
extern int shell_exit_status;

/* --- shell_parse.c ------------------------------------------------------- */

/*
 * One simple command: words after quote removal, plus an optional output
 * redirection. The tokenizer splits a script into commands at unquoted ';'
 * and newlines; quotes ('...', "...") and backslash escapes work as in sh,
 * and '#' at the start of a word begins a comment.
 */
#define SH_MAXARGS 256
struct sh_cmd {
	int argc;
	char *argv[SH_MAXARGS + 1];
	char *redir;   /* target of > or >>, or NULL */
	int append;    /* 1 for >> */
	char *storage; /* owns the words */
};

/*
 * Parse the next command from *pos. Returns 1 with cmd filled (argc may be
 * 0 for an empty command), 0 at the end of the text, -1 on a syntax error
 * (message printed). sh_cmd_free() releases cmd after 1.
 */
int sh_parse_next(const char **pos, struct sh_cmd *cmd);
void sh_cmd_free(struct sh_cmd *cmd);

/* --- shell_automount.c ----------------------------------------------------- */

/* Mount an ext2/3/4 file system found on the disk dev ("/dev/sd0") or on
 * any of its partitions at /mnt/NAME: read-only if rdonly, or if the
 * driver refuses to write. Says what it mounted on stderr unless quiet.
 * EXIT_OK, or EXIT_FAIL if something found could not be mounted. */
int shell_automount(const char *dev, int rdonly, int quiet);

/* --- shared helpers (shell_files.c) -------------------------------------- */

/* Open path for writing as "> path" does (">> path" with append),
 * creating a file with mode & ~umask; devices are not truncated. */
int sh_open_out(const char *path, int append, anyk_mode_t mode);
/* path + "/" + name into buf; -1 (ENAMETOOLONG) if it does not fit. */
int sh_join(char *buf, size_t n, const char *dir, const char *name);
/* The last component of a path ("a/b/" -> "b"), written to buf. */
void sh_basename(char *buf, size_t n, const char *path);
/* Read the whole directory at path: a malloc'ed, sorted array of malloc'ed
 * names (without "." and ".." unless all). -1 with errno on failure. */
int sh_readdir(const char *path, int all, char ***names, size_t *count);
void sh_freenames(char **names, size_t count);

#endif /* ANYK_SHELL_H */
