/*
 * Shell commands on file attributes: chmod, chown, stat, xattr, lsattr and
 * chattr. stat
 * prints every field of struct anyk_stat, nanoseconds and birth time
 * included, since checking what a file system records is what it is for;
 * xattr lists, prints, writes and deletes extended attributes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

static int
sh_chmod(int argc, char **argv)
{
	anyk_mode_t mode;
	int c, i, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("chmod"));
	while ((c = opt_next(&o, argc, argv, "")) != OPT_END)
		return opt_fail(c);
	if (argc - o.ind < 2)
		return err_usage(o.cmd, "need a mode and at least one path");
	if (parse_mode(argv[o.ind], &mode) != 0)
		return err_usage(o.cmd, "invalid mode '%s' (octal, e.g. 644)",
		    argv[o.ind]);
	for (i = o.ind + 1; i < argc; i++)
		if (anyk_sys_chmod(argv[i], mode) != 0)
			status = err_path(argv[i]);
	return status;
}

/* "UID", "UID:GID", "UID:" or ":GID"; absent parts are left unchanged. */
static int
parse_owner(const char *s, anyk_uid_t *uid, anyk_gid_t *gid)
{
	char num[16];
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	uint64_t v;

	*uid = (anyk_uid_t)-1;
	*gid = (anyk_gid_t)-1;
	if (len >= sizeof(num))
		return -1;
	if (len > 0) {
		memcpy(num, s, len);
		num[len] = '\0';
		/* (uid_t)-1 means "unchanged", so it is not a valid owner. */
		if (parse_uint(num, UINT32_MAX - 1, &v) != 0)
			return -1;
		*uid = (anyk_uid_t)v;
	}
	if (colon != NULL && colon[1] != '\0') {
		if (parse_uint(colon + 1, UINT32_MAX - 1, &v) != 0)
			return -1;
		*gid = (anyk_gid_t)v;
	}
	if (len == 0 && (colon == NULL || colon[1] == '\0'))
		return -1;
	return 0;
}

static int
sh_chown(int argc, char **argv)
{
	anyk_uid_t uid;
	anyk_gid_t gid;
	int c, i, nofollow = 0, status = EXIT_OK, r;
	struct opt o;

	opt_init(&o, shell_find("chown"));
	while ((c = opt_next(&o, argc, argv, "h")) != OPT_END) {
		if (c == 'h')
			nofollow = 1;
		else
			return opt_fail(c);
	}
	if (argc - o.ind < 2)
		return err_usage(o.cmd, "need an owner and at least one path");
	if (parse_owner(argv[o.ind], &uid, &gid) != 0)
		return err_usage(o.cmd, "invalid owner '%s' (numeric UID[:GID])",
		    argv[o.ind]);
	for (i = o.ind + 1; i < argc; i++) {
		r = nofollow ? anyk_sys_lchown(argv[i], uid, gid) :
		    anyk_sys_chown(argv[i], uid, gid);
		if (r != 0)
			status = err_path(argv[i]);
	}
	return status;
}

static void
print_stat(const char *path, const struct anyk_stat *st)
{
	char mode[12], t[80], target[ANYK_PATH_MAX];
	anyk_ssize_t tl;

	sh_printf("  File: %s", path);
	if (ANYK_S_ISLNK(st->st_mode)) {
		tl = anyk_sys_readlink(path, target, sizeof(target) - 1);
		if (tl >= 0) {
			target[tl] = '\0';
			sh_printf(" -> %s", target);
		}
	}
	sh_printf("\n  Size: %-15lld Blocks: %-10lld IO Block: %-6lld %s\n",
	    (long long)st->st_size, (long long)st->st_blocks,
	    (long long)st->st_blksize, fmt_type(st->st_mode));
	sh_printf("Device: %u,%u\tInode: %-11llu Links: %llu",
	    ANYK_MAJOR(st->st_dev), ANYK_MINOR(st->st_dev),
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_nlink);
	if (ANYK_S_ISCHR(st->st_mode) || ANYK_S_ISBLK(st->st_mode))
		sh_printf("\tDevice type: %u,%u", ANYK_MAJOR(st->st_rdev),
		    ANYK_MINOR(st->st_rdev));
	sh_printf("\n");
	fmt_mode(mode, st->st_mode);
	sh_printf("Access: (%04o/%s)  Uid: (%5u)   Gid: (%5u)   Flags: 0x%x\n",
	    (unsigned)(st->st_mode & 07777), mode, st->st_uid, st->st_gid,
	    st->st_flags);
	fmt_full_time(t, sizeof(t), &st->st_atim);
	sh_printf("Access: %s\n", t);
	fmt_full_time(t, sizeof(t), &st->st_mtim);
	sh_printf("Modify: %s\n", t);
	fmt_full_time(t, sizeof(t), &st->st_ctim);
	sh_printf("Change: %s\n", t);
	if (st->st_birthtim.tv_sec == 0 && st->st_birthtim.tv_nsec == 0) {
		sh_printf(" Birth: -\n");
	} else {
		fmt_full_time(t, sizeof(t), &st->st_birthtim);
		sh_printf(" Birth: %s\n", t);
	}
}

static int
sh_stat(int argc, char **argv)
{
	struct anyk_stat st;
	int c, i, follow = 0, status = EXIT_OK, r;
	struct opt o;

	opt_init(&o, shell_find("stat"));
	while ((c = opt_next(&o, argc, argv, "L")) != OPT_END) {
		if (c == 'L')
			follow = 1;
		else
			return opt_fail(c);
	}
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing operand");
	for (i = o.ind; i < argc; i++) {
		r = follow ? anyk_sys_stat(argv[i], &st) :
		    anyk_sys_lstat(argv[i], &st);
		if (r != 0) {
			status = err_path(argv[i]);
			continue;
		}
		print_stat(argv[i], &st);
	}
	return status;
}

/* --- xattr ------------------------------------------------------------------ */

/* Print a value as text if it is text (a trailing NUL allowed), else as
 * 0x-prefixed hex, so that binary labels and ACLs stay readable. */
static int
print_value(const unsigned char *v, size_t n)
{
	size_t i, len = n;

	if (len > 0 && v[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++)
		if ((v[i] < 0x20 && v[i] != '\t' && v[i] != '\n') || v[i] >= 0x7f)
			break;
	if (i == len)
		return sh_write(v, len);
	sh_printf("0x");
	for (i = 0; i < n; i++)
		sh_printf("%02x", v[i]);
	return 0;
}

/* The value of name (malloc'ed, *lenp bytes), or NULL with errno. */
static unsigned char *
get_value(const char *path, const char *name, int nofollow, size_t *lenp)
{
	unsigned char *buf;
	anyk_ssize_t n;

	for (;;) {
		n = nofollow ? anyk_sys_lgetxattr(path, name, NULL, 0) :
		    anyk_sys_getxattr(path, name, NULL, 0);
		if (n < 0)
			return NULL;
		buf = malloc((size_t)n + 1);
		if (buf == NULL)
			return NULL;
		n = nofollow ? anyk_sys_lgetxattr(path, name, buf, (size_t)n + 1) :
		    anyk_sys_getxattr(path, name, buf, (size_t)n + 1);
		if (n >= 0) {
			*lenp = (size_t)n;
			return buf;
		}
		free(buf);
		/* It grew between the two calls: ask again. */
		if (errno != ERANGE)
			return NULL;
	}
}

/* Print the names of path's attributes, with their values if values. */
static int
xattr_list(const char *path, int nofollow, int values, const char *prefix)
{
	char *list = NULL, *name;
	unsigned char *v;
	anyk_ssize_t n;
	size_t vlen;
	int status = EXIT_OK;

	for (;;) {
		n = nofollow ? anyk_sys_llistxattr(path, NULL, 0) :
		    anyk_sys_listxattr(path, NULL, 0);
		if (n < 0)
			return err_path(path);
		free(list);
		list = malloc((size_t)n + 1);
		if (list == NULL)
			return err_msg(path, "%s", strerror(ENOMEM));
		n = nofollow ? anyk_sys_llistxattr(path, list, (size_t)n + 1) :
		    anyk_sys_listxattr(path, list, (size_t)n + 1);
		if (n >= 0)
			break;
		if (errno != ERANGE) {
			free(list);
			return err_path(path);
		}
	}
	for (name = list; name < list + n; name += strlen(name) + 1) {
		if (!values) {
			sh_printf("%s%s\n", prefix, name);
			continue;
		}
		v = get_value(path, name, nofollow, &vlen);
		if (v == NULL) {
			/* Removed meanwhile, or not ours to read. */
			status = err_msg(path, "%s: %s", name, strerror(errno));
			continue;
		}
		sh_printf("%s%s: ", prefix, name);
		print_value(v, vlen);
		sh_printf("\n");
		free(v);
	}
	free(list);
	return status;
}

static int
sh_xattr(int argc, char **argv)
{
	const char *name = NULL, *value = NULL, *prefix;
	char pbuf[ANYK_PATH_MAX + 3];
	unsigned char *v;
	size_t vlen;
	int c, i, mode = 0, nofollow = 0, status = EXIT_OK, r, first;
	struct opt o;

	opt_init(&o, shell_find("xattr"));
	while ((c = opt_next(&o, argc, argv, "lp:w:d:h")) != OPT_END) {
		switch (c) {
		case 'h':
			nofollow = 1;
			break;
		case 'l':
		case 'p':
		case 'w':
		case 'd':
			if (mode != 0 && mode != c)
				return err_usage(o.cmd, "-l, -p, -w and -d exclude each other");
			mode = c;
			name = o.arg;
			break;
		default:
			return opt_fail(c);
		}
	}
	if (mode == 'w') {
		if (o.ind >= argc)
			return err_usage(o.cmd, "-w needs a name and a value");
		value = argv[o.ind++];
	}
	if (o.ind >= argc)
		return err_usage(o.cmd, "missing path");
	first = o.ind;
	for (i = first; i < argc; i++) {
		prefix = "";
		if (argc - first > 1) {
			snprintf(pbuf, sizeof(pbuf), "%s: ", argv[i]);
			prefix = pbuf;
		}
		switch (mode) {
		case 0:
		case 'l':
			r = xattr_list(argv[i], nofollow, mode == 'l', prefix);
			if (r != EXIT_OK)
				status = r;
			break;
		case 'p':
			v = get_value(argv[i], name, nofollow, &vlen);
			if (v == NULL) {
				status = err_msg(argv[i], "%s: %s", name, strerror(errno));
				break;
			}
			sh_printf("%s", prefix);
			print_value(v, vlen);
			sh_printf("\n");
			free(v);
			break;
		case 'w':
			r = nofollow ?
			    anyk_sys_lsetxattr(argv[i], name, value, strlen(value), 0) :
			    anyk_sys_setxattr(argv[i], name, value, strlen(value), 0);
			if (r != 0)
				status = err_msg(argv[i], "%s: %s", name, strerror(errno));
			break;
		case 'd':
			r = nofollow ? anyk_sys_lremovexattr(argv[i], name) :
			    anyk_sys_removexattr(argv[i], name);
			if (r != 0)
				status = err_msg(argv[i], "%s: %s", name, strerror(errno));
			break;
		}
	}
	return status;
}

/* File flags by lsattr(1)'s letters, in its order. */
static const struct {
	char letter;
	uint32_t bit;
} fl_letters[] = {
	{ 's', ANYK_FL_SECRM },	      { 'u', ANYK_FL_UNRM },	    { 'S', ANYK_FL_SYNC },
	{ 'D', ANYK_FL_DIRSYNC },     { 'i', ANYK_FL_IMMUTABLE },   { 'a', ANYK_FL_APPEND },
	{ 'd', ANYK_FL_NODUMP },      { 'A', ANYK_FL_NOATIME },     { 'c', 0x4 },
	{ 'E', ANYK_FL_ENCRYPT },     { 'j', 0x4000 },		    { 'I', ANYK_FL_INDEX },
	{ 't', ANYK_FL_NOTAIL },      { 'T', ANYK_FL_TOPDIR },	    { 'e', ANYK_FL_EXTENTS },
	{ 'C', 0x800000 },	      { 'x', 0x2000000 },	    { 'F', ANYK_FL_CASEFOLD },
	{ 'N', ANYK_FL_INLINE_DATA }, { 'P', ANYK_FL_PROJINHERIT }, { 'V', ANYK_FL_VERITY },
	{ 'm', 0x400 },
};
#define NLETTERS (sizeof(fl_letters) / sizeof(fl_letters[0]))

static int
sh_lsattr(int argc, char **argv)
{
	struct anyk_stat st;
	char word[NLETTERS + 1];
	int c, i, proj = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("lsattr"));
	while ((c = opt_next(&o, argc, argv, "p")) != OPT_END) {
		if (c != 'p')
			return opt_fail(c);
		proj = 1;
	}
	if (argc - o.ind < 1)
		return err_usage(o.cmd, "need at least one path");
	for (i = o.ind; i < argc; i++) {
		if (anyk_sys_lstat(argv[i], &st) != 0) {
			status = err_path(argv[i]);
			continue;
		}
		for (size_t k = 0; k < NLETTERS; k++)
			word[k] = (st.st_flags & fl_letters[k].bit) ? fl_letters[k].letter : '-';
		word[NLETTERS] = '\0';
		if (proj)
			printf("%5u ", st.st_projid);
		printf("%s %s\n", word, argv[i]);
	}
	return status;
}

static int
sh_chattr(int argc, char **argv)
{
	struct anyk_stat st;
	uint32_t set = 0, clear = 0, exact = 0, nf;
	uint64_t projid = 0;
	int c, i, hasexact = 0, hasproj = 0, status = EXIT_OK;
	struct opt o;

	opt_init(&o, shell_find("chattr"));
	/* "-i" clears a flag: only --help and -p are options here. */
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		c = opt_next(&o, argc, argv, "");
		return opt_fail(c);
	}
	for (i = 1; i < argc && (argv[i][0] == '+' || argv[i][0] == '-' || argv[i][0] == '='); i++) {
		const char *spec = argv[i];
		uint32_t bits = 0;

		if (strcmp(spec, "-p") == 0) {
			if (i + 1 >= argc || parse_uint(argv[i + 1], UINT32_MAX, &projid) != 0)
				return err_usage(o.cmd, "-p takes a project number");
			hasproj = 1;
			i++;
			continue;
		}
		if (spec[1] == '\0')
			return err_usage(o.cmd, "'%s': no flags", spec);
		for (const char *p = spec + 1; *p != '\0'; p++) {
			size_t k;

			for (k = 0; k < NLETTERS && fl_letters[k].letter != *p; k++)
				;
			if (k == NLETTERS)
				return err_usage(o.cmd, "unknown flag '%c'", *p);
			bits |= fl_letters[k].bit;
		}
		if (spec[0] == '+')
			set |= bits;
		else if (spec[0] == '-')
			clear |= bits;
		else
			exact |= bits, hasexact = 1;
	}
	if (i >= argc || (set == 0 && clear == 0 && !hasexact && !hasproj))
		return err_usage(o.cmd, "need +FLAGS, -FLAGS, =FLAGS or -p PROJECT, and at least one path");
	for (; i < argc; i++) {
		if (anyk_sys_lstat(argv[i], &st) != 0) {
			status = err_path(argv[i]);
			continue;
		}
		/* "=" leaves the flags no one sets (extents, ...) as they are. */
		nf = hasexact ? exact | (st.st_flags & ~(uint32_t)ANYK_FL_SETTABLE) : st.st_flags;
		nf = (nf | set) & ~clear;
		/* As chattr(1): the flags, then the project (which an
		 * immutable file refuses). */
		if (nf != st.st_flags && anyk_sys_chflagsat(ANYK_AT_FDCWD, argv[i], nf, ANYK_AT_SYMLINK_NOFOLLOW) != 0) {
			status = err_path(argv[i]);
			continue;
		}
		if (hasproj && anyk_sys_setprojidat(ANYK_AT_FDCWD, argv[i], (uint32_t)projid, ANYK_AT_SYMLINK_NOFOLLOW) != 0)
			status = err_path(argv[i]);
	}
	return status;
}

const struct tool_cmd shell_attr_cmds[] = {
	{ "chmod", "MODE PATH...",
	  "Change the permission bits of paths to the octal MODE (e.g. 644).",
	  sh_chmod },
	{ "chown", "[-h] UID[:GID] PATH...",
	  "Change the numeric owner and/or group of paths (-h: of a symbolic\n"
	  "link itself, not what it points to). ':GID' changes the group only.",
	  sh_chown },
	{ "stat", "[-L] PATH...",
	  "Show every field the kernel keeps for a path: size, blocks, device,\n"
	  "inode, links, mode, owner, flags, and access, modify, change and\n"
	  "birth times to the nanosecond (-L: follow symbolic links).",
	  sh_stat },
	{ "xattr", "[-h] [-l | -p NAME | -w NAME VALUE | -d NAME] PATH...",
	  "Extended attributes: list their names (default), -l with their\n"
	  "values, -p print one value, -w write one (CREATE or REPLACE), -d\n"
	  "delete one. NAME carries its namespace: user.x, trusted.x,\n"
	  "security.x. Values that are not text print as 0x-prefixed hex.\n"
	  "-h: act on a symbolic link itself, not what it points to.",
	  sh_xattr },
	{ "lsattr", "[-p] PATH...",
	  "Show paths' file flags by lsattr(1)'s letters: i immutable, a append\n"
	  "only, d no dump, A no atime, S sync, e extents, P project, ...\n"
	  "-p: the project id first.",
	  sh_lsattr },
	{ "chattr", "[+FLAGS] [-FLAGS] [=FLAGS] [-p PROJECT] PATH...",
	  "Set (+), clear (-) or set exactly (=) file flags, by lsattr's letters,\n"
	  "and (-p) the project id, which the project quota counts the file in.\n"
	  "Only root changes i and a; an immutable file refuses every change, an\n"
	  "append-only one all but appending.",
	  sh_chattr },
	{ NULL, NULL, NULL, NULL },
};
