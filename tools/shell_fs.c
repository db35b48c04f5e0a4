/*
 * Shell commands on file systems and the process context: mount, umount,
 * df, dmesg, cd, pwd, sync.
 *
 * The API has no call that lists mounts, so "mount" and "df" find them:
 * every mount made in this shell is remembered, and the root directory
 * and its subdirectories (two levels down) are checked for a change of
 * device, which catches mounts made at boot (/dev) or by others.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

#define MAX_MOUNTS 64

static char *known[MAX_MOUNTS];
static int nknown;

/* Absolute form of path (relative to the kernel's cwd); no "." or ".."
 * cleaning, which is enough to recognise the same argument again. */
static int
absolute(char *buf, size_t n, const char *path)
{
	char cwd[ANYK_PATH_MAX];

	if (path[0] == '/') {
		if (strlen(path) >= n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(buf, path);
	} else {
		if (anyk_sys_getcwd(cwd, sizeof(cwd)) == NULL)
			return -1;
		if (sh_join(buf, n, cwd, path) != 0)
			return -1;
	}
	/* "/mnt/" and "/mnt" are the same mount point. */
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return 0;
}

static void
remember(const char *path)
{
	char abs[ANYK_PATH_MAX];
	int i;

	if (absolute(abs, sizeof(abs), path) != 0)
		return;
	for (i = 0; i < nknown; i++)
		if (strcmp(known[i], abs) == 0)
			return;
	if (nknown < MAX_MOUNTS && (known[nknown] = strdup(abs)) != NULL)
		nknown++;
}

static void
forget(const char *path)
{
	char abs[ANYK_PATH_MAX];
	int i;

	if (absolute(abs, sizeof(abs), path) != 0)
		return;
	for (i = 0; i < nknown; i++) {
		if (strcmp(known[i], abs) == 0) {
			free(known[i]);
			known[i] = known[--nknown];
			return;
		}
	}
}

struct mountlist {
	char *path[MAX_MOUNTS * 2];
	int n;
};

static void
ml_add(struct mountlist *ml, const char *path)
{
	int i;

	for (i = 0; i < ml->n; i++)
		if (strcmp(ml->path[i], path) == 0)
			return;
	if (ml->n < MAX_MOUNTS * 2 && (ml->path[ml->n] = strdup(path)) != NULL)
		ml->n++;
}

static void
ml_free(struct mountlist *ml)
{
	int i;

	for (i = 0; i < ml->n; i++)
		free(ml->path[i]);
	ml->n = 0;
}

static void
scan(struct mountlist *ml, const char *dir, anyk_dev_t dev, int depth)
{
	char **names, path[ANYK_PATH_MAX];
	struct anyk_stat st;
	size_t count, i;

	if (sh_readdir(dir, 1, &names, &count) != 0)
		return;
	for (i = 0; i < count; i++) {
		if (strcmp(names[i], ".") == 0 || strcmp(names[i], "..") == 0)
			continue;
		if (sh_join(path, sizeof(path), dir, names[i]) != 0 ||
		    anyk_sys_lstat(path, &st) != 0 || !ANYK_S_ISDIR(st.st_mode))
			continue;
		if (st.st_dev != dev)
			ml_add(ml, path);
		else if (depth > 1)
			scan(ml, path, dev, depth - 1);
	}
	sh_freenames(names, count);
}

/* The mount points we can find, "/" first, in a stable order. */
static int
path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
find_mounts(struct mountlist *ml)
{
	struct anyk_stat st;
	int i;

	ml->n = 0;
	ml_add(ml, "/");
	if (anyk_sys_stat("/", &st) == 0)
		scan(ml, "/", st.st_dev, 2);
	for (i = 0; i < nknown; i++)
		if (anyk_sys_stat(known[i], &st) == 0)
			ml_add(ml, known[i]);
	qsort(ml->path, (size_t)ml->n, sizeof(ml->path[0]), path_cmp);
}

static const char *
or_dash(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

/* Mount options the VFS handles itself; the rest go to the file system. */
static const struct {
	const char *name;
	unsigned long flag;
} mntflags[] = {
	{ "ro", ANYK_MNT_RDONLY },     { "nosuid", ANYK_MNT_NOSUID },
	{ "nodev", ANYK_MNT_NODEV },   { "noexec", ANYK_MNT_NOEXEC },
	{ "sync", ANYK_MNT_SYNCHRONOUS }, { "noatime", ANYK_MNT_NOATIME },
	{ "rw", 0 },
};

static void
split_options(const char *in, char *out, size_t n, unsigned long *flags)
{
	char buf[1024], *tok, *save = NULL;
	size_t i, len = 0;
	int generic;

	out[0] = '\0';
	snprintf(buf, sizeof(buf), "%s", in);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		generic = 0;
		for (i = 0; i < sizeof(mntflags) / sizeof(mntflags[0]); i++) {
			if (strcmp(tok, mntflags[i].name) == 0) {
				*flags |= mntflags[i].flag;
				generic = 1;
			}
		}
		if (!generic && len + strlen(tok) + 2 < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s",
			    len ? "," : "", tok);
	}
}

static void
list_mounts(void)
{
	struct mountlist ml;
	struct anyk_statvfs sv;
	int i;

	find_mounts(&ml);
	for (i = 0; i < ml.n; i++) {
		if (anyk_sys_statvfs(ml.path[i], &sv) != 0)
			continue;
		sv.f_fstypename[sizeof(sv.f_fstypename) - 1] = '\0';
		sv.f_mntfromname[sizeof(sv.f_mntfromname) - 1] = '\0';
		sh_printf("%s on %s type %s (%s)\n", or_dash(sv.f_mntfromname),
		    ml.path[i], or_dash(sv.f_fstypename),
		    (sv.f_flag & ANYK_ST_RDONLY) ? "ro" : "rw");
	}
	ml_free(&ml);
}

static int
sh_mount(int argc, char **argv)
{
	/* What mount tries, in order, when no -t is given. */
	static const char *const probe[] = { "ext4", "ext2", "vfat", "iso9660" };
	const char *type = NULL, *opts = "", *src, *dir;
	char fsopts[1024];
	unsigned long flags = 0;
	size_t i;
	int c, r = -1;
	struct opt o;

	opt_init(&o, shell_find("mount"));
	while ((c = opt_next(&o, argc, argv, "t:o:rw")) != OPT_END) {
		switch (c) {
		case 't': type = o.arg; break;
		case 'o': opts = o.arg; break;
		case 'r': flags |= ANYK_MNT_RDONLY; break;
		case 'w': flags &= ~(unsigned long)ANYK_MNT_RDONLY; break;
		default: return opt_fail(c);
		}
	}
	if (argc == o.ind) {
		list_mounts();
		return EXIT_OK;
	}
	if (argc - o.ind != 2)
		return err_usage(o.cmd, "need a source and a directory");
	src = argv[o.ind];
	dir = argv[o.ind + 1];
	split_options(opts, fsopts, sizeof(fsopts), &flags);
	if (type != NULL) {
		r = anyk_sys_mount(src, dir, type, flags, fsopts);
	} else if (src[0] != '/') {
		/* "mount tmpfs /mnt": the source names the type. */
		type = src;
		r = anyk_sys_mount(src, dir, type, flags, fsopts);
	} else {
		for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
			r = anyk_sys_mount(src, dir, probe[i], flags, fsopts);
			/* Any other error is about the source or the
			 * directory, not the guess. */
			if (r == 0 || (errno != ENODEV && errno != EINVAL &&
			    errno != EUCLEAN))
				break;
		}
		if (r != 0 && (errno == ENODEV || errno == EINVAL ||
		    errno == EUCLEAN))
			return err_msg(src, "no known file system found "
			    "(give its type with -t)");
	}
	if (r != 0)
		return err_msg(dir, "cannot mount %s%s%s: %s", src,
		    type ? " as " : "", type ? type : "", strerror(errno));
	remember(dir);
	return EXIT_OK;
}

static int
sh_umount(int argc, char **argv)
{
	int c, i, flags = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("umount"));
	while ((c = opt_next(&o, argc, argv, "fl")) != OPT_END) {
		if (c == 'f')
			flags |= ANYK_MNT_FORCE;
		else if (c == 'l')
			flags |= ANYK_MNT_DETACH;
		else
			return opt_fail(c);
	}
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing directory");
	for (i = o.ind; i < argc; i++) {
		if (anyk_sys_unmount(argv[i], flags) != 0) {
			status = err_path(argv[i]);
			continue;
		}
		forget(argv[i]);
	}
	return status;
}

static void
df_size(char *buf, size_t n, uint64_t bytes, int human)
{
	if (human)
		fmt_human(buf, n, bytes);
	else
		snprintf(buf, n, "%llu", (unsigned long long)((bytes + 1023) / 1024));
}

static int
df_line(const char *path, int human)
{
	struct anyk_statvfs sv;
	char size[24], used[24], avail[24], pct[8];
	uint64_t fr, total, free_, avl, u;

	if (anyk_sys_statvfs(path, &sv) != 0)
		return err_path(path);
	sv.f_fstypename[sizeof(sv.f_fstypename) - 1] = '\0';
	sv.f_mntfromname[sizeof(sv.f_mntfromname) - 1] = '\0';
	sv.f_mntonname[sizeof(sv.f_mntonname) - 1] = '\0';
	fr = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	total = sv.f_blocks * fr;
	free_ = sv.f_bfree * fr;
	avl = sv.f_bavail * fr;
	u = total > free_ ? total - free_ : 0;
	df_size(size, sizeof(size), total, human);
	df_size(used, sizeof(used), u, human);
	df_size(avail, sizeof(avail), avl, human);
	if (u + avl == 0)
		strcpy(pct, "-");
	else
		snprintf(pct, sizeof(pct), "%u%%",
		    (unsigned)((u * 100 + (u + avl) - 1) / (u + avl)));
	sh_printf("%-14s %-8s %9s %9s %9s %4s %s\n", or_dash(sv.f_mntfromname),
	    or_dash(sv.f_fstypename), size, used, avail, pct,
	    sv.f_mntonname[0] != '\0' ? sv.f_mntonname : path);
	return EXIT_OK;
}

static int
sh_df(int argc, char **argv)
{
	struct mountlist ml;
	int c, i, human = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("df"));
	while ((c = opt_next(&o, argc, argv, "h")) != OPT_END) {
		if (c == 'h')
			human = 1;
		else
			return opt_fail(c);
	}
	sh_printf("%-14s %-8s %9s %9s %9s %4s %s\n", "Filesystem", "Type",
	    human ? "Size" : "1K-blocks", "Used", "Avail", "Use%", "Mounted on");
	if (o.ind < argc) {
		for (i = o.ind; i < argc; i++)
			if (df_line(argv[i], human) != EXIT_OK)
				status = EXIT_FAIL;
		return status;
	}
	find_mounts(&ml);
	for (i = 0; i < ml.n; i++)
		if (df_line(ml.path[i], human) != EXIT_OK)
			status = EXIT_FAIL;
	ml_free(&ml);
	return status;
}

static int
sh_dmesg(int argc, char **argv)
{
	size_t len;
	char *log;
	int error;

	(void)argv;
	if (argc > 1)
		return err_usage(shell_find("dmesg"), "too many arguments");
	log = read_dmesg();
	if (log == NULL)
		return err_msg("dmesg", "%s", strerror(ENOMEM));
	len = strlen(log);
	error = sh_write(log, len);
	if (error == 0 && len > 0 && log[len - 1] != '\n')
		error = sh_write("\n", 1);
	free(log);
	return error ? EXIT_FAIL : EXIT_OK;
}

static int
sh_cd(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/";

	if (argc > 2)
		return err_usage(shell_find("cd"), "too many arguments");
	if (anyk_sys_chdir(dir) != 0)
		return err_path(dir);
	return EXIT_OK;
}

static int
sh_pwd(int argc, char **argv)
{
	char cwd[ANYK_PATH_MAX];

	(void)argv;
	if (argc > 1)
		return err_usage(shell_find("pwd"), "too many arguments");
	if (anyk_sys_getcwd(cwd, sizeof(cwd)) == NULL)
		return err_path("getcwd");
	return sh_printf("%s\n", cwd) ? EXIT_FAIL : EXIT_OK;
}

static int
sh_sync(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return err_usage(shell_find("sync"), "too many arguments");
	if (anyk_sys_sync() != 0)
		return err_path("sync");
	return EXIT_OK;
}

const struct tool_cmd shell_fs_cmds[] = {
	{ "mount", "[-t TYPE] [-o OPTIONS] [-r] SOURCE DIR",
	  "Mount a file system on DIR: 'mount -t tmpfs -o size=1m tmpfs /mnt',\n"
	  "'mount -t ext4 /dev/sd0p1 /mnt'. Without -t, a SOURCE that is not a\n"
	  "path names the type, and a device is tried as ext4, ext2, vfat and\n"
	  "iso9660. -r or -o ro mounts read-only; other generic options are\n"
	  "nosuid, nodev, noexec, sync, noatime. Without arguments, list the\n"
	  "mounts that can be found.",
	  sh_mount },
	{ "umount", "[-f] [-l] DIR...",
	  "Unmount file systems (-f: even if busy; -l: detach now, clean up\n"
	  "when no longer used).",
	  sh_umount },
	{ "df", "[-h] [PATH...]",
	  "Show size, use and free space of file systems, in 1K blocks or\n"
	  "with -h in K, M, G.",
	  sh_df },
	{ "dmesg", "", "Print the kernel log.", sh_dmesg },
	{ "cd", "[DIR]", "Change the kernel's working directory (default /).",
	  sh_cd },
	{ "pwd", "", "Print the kernel's working directory.", sh_pwd },
	{ "sync", "", "Write all cached data to the disks.", sh_sync },
	{ NULL, NULL, NULL, NULL },
};
