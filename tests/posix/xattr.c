/*
 * Extended attribute semantics: getxattr, setxattr, listxattr and
 * removexattr in their path, l* and f* forms, run through one set of
 * assertions against anyk's tmpfs and against the host kernel's tmpfs (a
 * private one under /dev/shm), so that every expected value and errno is
 * Linux's own. Lines start "anyk: " or "host: ".
 *
 * Covered: sizes and size queries, ERANGE and E2BIG, ENODATA, CREATE and
 * REPLACE, name checks, unknown namespaces, symlinks, FIFOs, descriptors,
 * ctime, read-only mounts, and the per-namespace permission rules for an
 * unprivileged caller. POSIX ACL names are opaque values in anyk (Linux
 * parses them), so those checks run for anyk only.
 */
#include "../harness.h"

#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

#include "sysops.h"

/* The xattr calls, one table per kernel, beside sysops.h's. */
struct xops {
	anyk_ssize_t (*get)(const char *, const char *, void *, size_t);
	anyk_ssize_t (*lget)(const char *, const char *, void *, size_t);
	anyk_ssize_t (*fget)(int, const char *, void *, size_t);
	int (*set)(const char *, const char *, const void *, size_t, int);
	int (*lset)(const char *, const char *, const void *, size_t, int);
	int (*fset)(int, const char *, const void *, size_t, int);
	anyk_ssize_t (*list)(const char *, char *, size_t);
	anyk_ssize_t (*llist)(const char *, char *, size_t);
	anyk_ssize_t (*flist)(int, char *, size_t);
	int (*remove)(const char *, const char *);
	int (*lremove)(const char *, const char *);
	int (*fremove)(int, const char *);
};

static const struct xops anyk_xops = {
	anyk_sys_getxattr, anyk_sys_lgetxattr, anyk_sys_fgetxattr,
	anyk_sys_setxattr, anyk_sys_lsetxattr, anyk_sys_fsetxattr,
	anyk_sys_listxattr, anyk_sys_llistxattr, anyk_sys_flistxattr,
	anyk_sys_removexattr, anyk_sys_lremovexattr, anyk_sys_fremovexattr,
};

/* Flags by name; unknown bits pass through to be refused by the kernel. */
static int h_xflags(int f)
{
	static const struct bitmap_entry m[] = {
		{ANYK_XATTR_CREATE, XATTR_CREATE}, {ANYK_XATTR_REPLACE, XATTR_REPLACE},
	};
	return (int)map_bits(f, m, NELEM(m), 1);
}
static anyk_ssize_t hx_get(const char *p, const char *n, void *v, size_t s) { return getxattr(p, n, v, s); }
static anyk_ssize_t hx_lget(const char *p, const char *n, void *v, size_t s) { return lgetxattr(p, n, v, s); }
static anyk_ssize_t hx_fget(int fd, const char *n, void *v, size_t s) { return fgetxattr(fd, n, v, s); }
static int hx_set(const char *p, const char *n, const void *v, size_t s, int f) { return setxattr(p, n, v, s, h_xflags(f)); }
static int hx_lset(const char *p, const char *n, const void *v, size_t s, int f) { return lsetxattr(p, n, v, s, h_xflags(f)); }
static int hx_fset(int fd, const char *n, const void *v, size_t s, int f) { return fsetxattr(fd, n, v, s, h_xflags(f)); }
static anyk_ssize_t hx_list(const char *p, char *l, size_t s) { return listxattr(p, l, s); }
static anyk_ssize_t hx_llist(const char *p, char *l, size_t s) { return llistxattr(p, l, s); }
static anyk_ssize_t hx_flist(int fd, char *l, size_t s) { return flistxattr(fd, l, s); }
static int hx_remove(const char *p, const char *n) { return removexattr(p, n); }
static int hx_lremove(const char *p, const char *n) { return lremovexattr(p, n); }
static int hx_fremove(int fd, const char *n) { return fremovexattr(fd, n); }

static const struct xops host_xops = {
	hx_get, hx_lget, hx_fget, hx_set, hx_lset, hx_fset,
	hx_list, hx_llist, hx_flist, hx_remove, hx_lremove, hx_fremove,
};

static const struct sysops *S;
static const struct xops *X;
static char BASE[512];
static int can_mount; /* a read-only file system can be mounted for EROFS */

/* --- assertions (as in semantics.c) ---------------------------------------- */

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	return n ? n : "?";
}

static void ck(int line, long got, int goterr, long want, int wanterr, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (wanterr)
		T_OK(got == -1 && goterr == wanterr, "%s: %s (want -1 %s, got %ld %s) [line %d]",
		     S->name, what, ename(wanterr), got, got == -1 ? ename(goterr) : "", line);
	else
		T_OK(got == want, "%s: %s (want %ld, got %ld%s%s) [line %d]", S->name, what, want,
		     got, got == -1 ? " " : "", got == -1 ? ename(goterr) : "", line);
}

#define ERR(call, e, ...)                                                      \
	do {                                                                   \
		long r_;                                                       \
		errno = 0;                                                     \
		r_ = (long)(call);                                             \
		ck(__LINE__, r_, errno, -1, e, __VA_ARGS__);                   \
	} while (0)
#define IS(call, want, ...)                                                    \
	do {                                                                   \
		long r_;                                                       \
		errno = 0;                                                     \
		r_ = (long)(call);                                             \
		ck(__LINE__, r_, errno, (long)(want), 0, __VA_ARGS__);         \
	} while (0)
#define OK(call, ...) IS(call, 0, __VA_ARGS__)
#define TRUE(cond, ...) T_OK((cond), "%s: " __VA_ARGS__, S->name)

/* --- helpers ------------------------------------------------------------------ */

static int mkfile(const char *path, anyk_mode_t mode)
{
	int fd = S->open(path, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_TRUNC, mode);

	if (fd < 0)
		return -1;
	return S->close(fd);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A NUL-separated list as "a,b,c" in sorted order: Linux's tmpfs lists by
 * name, anyk's in creation order, and the order means nothing. */
static const char *canon(const char *list, anyk_ssize_t n)
{
	static char out[4096];
	char *names[256], copy[4096];
	size_t i, cnt = 0, pos = 0, len = 0;

	if (n < 0)
		return "(error)";
	if ((size_t)n > sizeof(copy))
		return "(too long)";
	memcpy(copy, list, (size_t)n);
	while (pos < (size_t)n && cnt < NELEM(names)) {
		names[cnt++] = copy + pos;
		pos += strnlen(copy + pos, (size_t)n - pos) + 1;
	}
	if (n > 0 && copy[n - 1] != '\0')
		return "(unterminated)";
	qsort(names, cnt, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (i = 0; i < cnt; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "", names[i]);
	return out;
}

static const char *list_of(const char *path, int follow)
{
	static char buf[4096];
	anyk_ssize_t n = follow ? X->list(path, buf, sizeof(buf)) : X->llist(path, buf, sizeof(buf));

	return canon(buf, n);
}

static struct anyk_stat st_of(const char *path)
{
	struct anyk_stat st;

	memset(&st, 0, sizeof(st));
	if (S->lstat(path, &st) != 0)
		memset(&st, 0, sizeof(st));
	return st;
}

static int ts_after(struct anyk_timespec a, struct anyk_timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void nap(void)
{
	struct timespec t = {0, 20 * 1000 * 1000};
	nanosleep(&t, NULL);
}

static void section(const char *name)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s", BASE, name);
	S->mkdir(p, 0755);
	if (S->chdir(p) != 0)
		T_OK(0, "%s: chdir to section %s", S->name, name);
}

/* --- values, sizes, flags ------------------------------------------------------ */

static void t_basic(void)
{
	char buf[256], name[300];
	static char big[ANYK_XATTR_SIZE_MAX + 2];
	struct anyk_stat st;

	section("basic");
	OK(mkfile("f", 0644), "create f");
	OK(S->mkdir("d", 0755), "mkdir d");

	ERR(X->get("f", "user.a", buf, sizeof(buf)), ENODATA, "get a missing attribute");
	ERR(X->get("f", "user.a", NULL, 0), ENODATA, "size query of a missing attribute");
	OK(X->set("f", "user.a", "123", 3, 0), "set user.a");
	IS(X->get("f", "user.a", NULL, 0), 3, "size query gives the value's size");
	memset(buf, 0, sizeof(buf));
	IS(X->get("f", "user.a", buf, 3), 3, "get into an exact buffer");
	TRUE(memcmp(buf, "123", 3) == 0, "the value comes back");
	ERR(X->get("f", "user.a", buf, 2), ERANGE, "buffer one byte short");
	IS(X->get("f", "user.a", buf, 100000), 3, "a buffer beyond 64 KiB is fine");

	/* CREATE and REPLACE */
	ERR(X->set("f", "user.a", "x", 1, ANYK_XATTR_CREATE), EEXIST, "CREATE on an existing name");
	ERR(X->set("f", "user.b", "x", 1, ANYK_XATTR_REPLACE), ENODATA, "REPLACE on a missing name");
	OK(X->set("f", "user.a", "four", 4, ANYK_XATTR_REPLACE), "REPLACE an existing value");
	memset(buf, 0, sizeof(buf));
	IS(X->get("f", "user.a", buf, sizeof(buf)), 4, "the new value's size");
	TRUE(strcmp(buf, "four") == 0, "the new value");
	OK(X->set("f", "user.b", "b", 1, ANYK_XATTR_CREATE), "CREATE a new name");
	ERR(X->set("f", "user.c", "x", 1, 4), EINVAL, "unknown flag");
	ERR(X->set("f", "user.c", "x", 1, -1), EINVAL, "all flags");
	ERR(X->get("f", "user.c", NULL, 0), ENODATA, "a refused set stored nothing");

	/* empty values */
	OK(X->set("f", "user.empty", "", 0, 0), "empty value");
	IS(X->get("f", "user.empty", buf, sizeof(buf)), 0, "get an empty value");
	IS(X->get("f", "user.empty", NULL, 0), 0, "size query of an empty value");

	/* names */
	ERR(X->set("f", "", "x", 1, 0), ERANGE, "empty name (set)");
	ERR(X->get("f", "", buf, sizeof(buf)), ERANGE, "empty name (get)");
	ERR(X->remove("f", ""), ERANGE, "empty name (remove)");
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[ANYK_XATTR_NAME_MAX] = '\0';
	OK(X->set("f", name, "l", 1, 0), "a 255-byte name");
	IS(X->get("f", name, buf, sizeof(buf)), 1, "get by the 255-byte name");
	OK(X->remove("f", name), "remove by the 255-byte name");
	name[ANYK_XATTR_NAME_MAX] = 'n';
	name[ANYK_XATTR_NAME_MAX + 1] = '\0';
	ERR(X->set("f", name, "l", 1, 0), ERANGE, "a 256-byte name (set)");
	ERR(X->get("f", name, buf, sizeof(buf)), ERANGE, "a 256-byte name (get)");
	ERR(X->remove("f", name), ERANGE, "a 256-byte name (remove)");
	ERR(X->set("f", "user.", "x", 1, 0), EINVAL, "namespace prefix alone (set)");
	ERR(X->get("f", "user.", buf, sizeof(buf)), EINVAL, "namespace prefix alone (get)");
	ERR(X->set("f", "bogus.x", "x", 1, 0), ENOTSUP, "unknown namespace (set)");
	ERR(X->get("f", "bogus.x", buf, sizeof(buf)), ENOTSUP, "unknown namespace (get)");
	ERR(X->remove("f", "bogus.x"), ENOTSUP, "unknown namespace (remove)");
	ERR(X->set("f", "user", "x", 1, 0), ENOTSUP, "no dot after the namespace");
	ERR(X->set("f", "system.foo", "x", 1, 0), ENOTSUP, "unknown system.* name");
	ERR(X->set("f", "USER.x", "x", 1, 0), ENOTSUP, "namespaces are case-sensitive");

	/* value sizes */
	memset(big, 'v', sizeof(big));
	OK(X->set("f", "user.big", big, ANYK_XATTR_SIZE_MAX, 0), "a 64 KiB value");
	IS(X->get("f", "user.big", NULL, 0), ANYK_XATTR_SIZE_MAX, "its size");
	IS(X->get("f", "user.big", big, sizeof(big)), ANYK_XATTR_SIZE_MAX, "get it");
	ERR(X->set("f", "user.big2", big, ANYK_XATTR_SIZE_MAX + 1, 0), E2BIG, "a value over 64 KiB");
	OK(X->remove("f", "user.big"), "remove the big value");

	/* other namespaces, as root */
	OK(X->set("f", "trusted.t", "tt", 2, 0), "set trusted.t as root");
	IS(X->get("f", "trusted.t", buf, sizeof(buf)), 2, "get trusted.t as root");
	OK(X->set("f", "security.s", "sss", 3, 0), "set security.s as root");
	IS(X->get("f", "security.s", buf, sizeof(buf)), 3, "get security.s");

	/* lists */
	IS(X->list("f", NULL, 0), 11 + 10 + 7 + 7 + 11, "list size query");
	TRUE(strcmp(list_of("f", 1), "security.s,trusted.t,user.a,user.b,user.empty") == 0,
	     "list names every attribute (%s)", list_of("f", 1));
	ERR(X->list("f", buf, 10), ERANGE, "list into a short buffer");
	IS(X->list("d", buf, sizeof(buf)), 0, "list of a directory without attributes");
	IS(X->list("d", NULL, 0), 0, "size query of an empty list");
	OK(X->set("d", "user.dir", "1", 1, 0), "user.* on a directory");
	TRUE(strcmp(list_of("d", 1), "user.dir") == 0, "directory list (%s)", list_of("d", 1));

	/* remove */
	OK(X->remove("f", "user.b"), "remove user.b");
	ERR(X->remove("f", "user.b"), ENODATA, "remove it again");
	ERR(X->get("f", "user.b", buf, sizeof(buf)), ENODATA, "it is gone");
	ERR(X->remove("f", "user.never"), ENODATA, "remove a name never set");
	TRUE(strcmp(list_of("f", 1), "security.s,trusted.t,user.a,user.empty") == 0,
	     "list after remove (%s)", list_of("f", 1));

	/* paths */
	ERR(X->get("missing", "user.a", buf, sizeof(buf)), ENOENT, "get on a missing file");
	ERR(X->set("missing", "user.a", "x", 1, 0), ENOENT, "set on a missing file");
	ERR(X->list("missing", buf, sizeof(buf)), ENOENT, "list of a missing file");
	ERR(X->remove("missing", "user.a"), ENOENT, "remove on a missing file");
	ERR(X->get("f/x", "user.a", buf, sizeof(buf)), ENOTDIR, "a file as a directory");
	ERR(X->get("", "user.a", buf, sizeof(buf)), ENOENT, "empty path");
	ERR(X->set("missing", "", "x", 1, 0), ERANGE, "name checked before the path");
	ERR(X->set("missing", "user.a", "x", 1, 8), EINVAL, "flags checked before the path");

	/* timestamps: changes touch ctime only */
	st = st_of("f");
	nap();
	OK(X->set("f", "user.t", "1", 1, 0), "set for the ctime check");
	TRUE(ts_after(st_of("f").st_ctim, st.st_ctim), "setxattr updates ctime");
	TRUE(st_of("f").st_mtim.tv_sec == st.st_mtim.tv_sec &&
	     st_of("f").st_mtim.tv_nsec == st.st_mtim.tv_nsec, "setxattr leaves mtime");
	st = st_of("f");
	nap();
	OK(X->remove("f", "user.t"), "remove for the ctime check");
	TRUE(ts_after(st_of("f").st_ctim, st.st_ctim), "removexattr updates ctime");
	st = st_of("f");
	nap();
	IS(X->get("f", "user.a", buf, sizeof(buf)), 4, "get for the ctime check");
	TRUE(!ts_after(st_of("f").st_ctim, st.st_ctim), "getxattr leaves ctime");
}

/* --- symlinks, FIFOs, descriptors --------------------------------------------- */

static void t_kinds(void)
{
	char buf[256];
	int fd, pfd[2];

	section("kinds");
	OK(mkfile("f", 0644), "create f");
	OK(S->symlink("f", "l"), "symlink l -> f");
	OK(S->symlink("nowhere", "dangling"), "dangling symlink");
	OK(S->mknod("p", ANYK_S_IFIFO | 0644, 0), "mkfifo p");

	/* following and not following */
	OK(X->set("l", "user.via", "1", 1, 0), "set through a symlink reaches the target");
	IS(X->get("f", "user.via", buf, sizeof(buf)), 1, "the target has it");
	IS(X->get("l", "user.via", buf, sizeof(buf)), 1, "get follows the symlink");
	ERR(X->lget("l", "user.via", buf, sizeof(buf)), ENODATA, "lget reads the link itself");
	ERR(X->lset("l", "user.x", "1", 1, 0), EPERM, "no user.* on a symlink");
	OK(X->lset("l", "trusted.x", "1", 1, 0), "trusted.* on a symlink as root");
	IS(X->lget("l", "trusted.x", buf, sizeof(buf)), 1, "lget it");
	ERR(X->get("l", "trusted.x", buf, sizeof(buf)), ENODATA, "the target does not have it");
	TRUE(strcmp(list_of("l", 0), "trusted.x") == 0, "llist lists the link's (%s)", list_of("l", 0));
	TRUE(strcmp(list_of("l", 1), "user.via") == 0, "list lists the target's (%s)", list_of("l", 1));
	ERR(X->remove("l", "trusted.x"), ENODATA, "remove follows the symlink");
	OK(X->lremove("l", "trusted.x"), "lremove removes the link's");
	ERR(X->get("dangling", "user.a", buf, sizeof(buf)), ENOENT, "get through a dangling symlink");
	ERR(X->lget("dangling", "user.a", buf, sizeof(buf)), ENODATA, "lget of a dangling symlink");

	/* a FIFO carries no user.* attributes */
	ERR(X->set("p", "user.x", "1", 1, 0), EPERM, "no user.* on a FIFO");
	ERR(X->get("p", "user.x", buf, sizeof(buf)), ENODATA, "user.* of a FIFO reads as absent");
	ERR(X->remove("p", "user.x"), EPERM, "remove user.* of a FIFO");
	OK(X->set("p", "trusted.x", "1", 1, 0), "trusted.* on a FIFO as root");

	/* descriptors */
	fd = S->open("f", ANYK_O_RDONLY, 0);
	TRUE(fd >= 0, "open f read-only");
	OK(X->fset(fd, "user.fd", "abc", 3, 0), "fsetxattr on a read-only descriptor");
	memset(buf, 0, sizeof(buf));
	IS(X->fget(fd, "user.fd", buf, sizeof(buf)), 3, "fgetxattr");
	TRUE(strcmp(buf, "abc") == 0, "fgetxattr value");
	IS(X->get("f", "user.fd", buf, sizeof(buf)), 3, "seen by path too");
	TRUE(strcmp(canon(buf, X->flist(fd, buf, sizeof(buf))), "user.fd,user.via") == 0,
	     "flistxattr");
	ERR(X->fset(fd, "user.fd", "x", 1, ANYK_XATTR_CREATE), EEXIST, "fsetxattr CREATE");
	OK(X->fremove(fd, "user.fd"), "fremovexattr");
	ERR(X->fremove(fd, "user.fd"), ENODATA, "fremovexattr again");
	ERR(X->fget(fd, "user.fd", buf, sizeof(buf)), ENODATA, "fgetxattr after remove");
	ERR(X->fget(fd, "bogus.x", buf, sizeof(buf)), ENOTSUP, "fgetxattr unknown namespace");
	S->close(fd);
	ERR(X->fget(fd, "user.via", buf, sizeof(buf)), EBADF, "fgetxattr on a closed descriptor");
	ERR(X->fset(fd, "user.via", "1", 1, 0), EBADF, "fsetxattr on a closed descriptor");
	ERR(X->flist(fd, buf, sizeof(buf)), EBADF, "flistxattr on a closed descriptor");
	ERR(X->fremove(fd, "user.via"), EBADF, "fremovexattr on a closed descriptor");
	ERR(X->fget(-1, "user.via", buf, sizeof(buf)), EBADF, "fgetxattr on -1");
	fd = S->open("f", ANYK_O_PATH, 0);
	TRUE(fd >= 0, "open f O_PATH");
	ERR(X->fget(fd, "user.via", buf, sizeof(buf)), EBADF, "fgetxattr on an O_PATH descriptor");
	ERR(X->fset(fd, "user.x", "1", 1, 0), EBADF, "fsetxattr on an O_PATH descriptor");
	S->close(fd);
	fd = S->open(".", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	OK(X->fset(fd, "user.dirfd", "1", 1, 0), "fsetxattr on a directory descriptor");
	IS(X->get(".", "user.dirfd", buf, sizeof(buf)), 1, "seen by path");
	S->close(fd);
	if (S->pipe(pfd) == 0) {
		ERR(X->fget(pfd[0], "trusted.x", buf, sizeof(buf)), ENOTSUP,
		    "a pipe keeps no attributes");
		S->close(pfd[0]);
		S->close(pfd[1]);
	}
}

/* --- read-only file systems ---------------------------------------------------- */

static void t_rdonly(void)
{
	char buf[64], mnt[700];

	if (!can_mount) {
		T_SKIP("%s: read-only mount checks need a private mount namespace", S->name);
		return;
	}
	section("ro");
	snprintf(mnt, sizeof(mnt), "%s/ro/m", BASE);
	OK(S->mkdir("m", 0755), "mkdir m");
	OK(S->mount("tmpfs", mnt, "tmpfs", ANYK_MNT_RDONLY, ""), "mount a read-only tmpfs");
	ERR(X->set("m", "user.a", "1", 1, 0), EROFS, "setxattr on a read-only mount");
	ERR(X->remove("m", "user.a"), EROFS, "removexattr on a read-only mount");
	ERR(X->set("m", "trusted.a", "1", 1, 0), EROFS, "trusted.* too");
	ERR(X->get("m", "user.a", buf, sizeof(buf)), ENODATA, "getxattr still works");
	IS(X->list("m", buf, sizeof(buf)), 0, "listxattr still works");
	OK(S->unmount(mnt, 0), "unmount it");
}

/* --- permissions ----------------------------------------------------------------- */

static void perm_setup(void)
{
	anyk_mode_t old = S->umask(0);

	section("perm");
	mkfile("pub", 0644);      /* root's, readable */
	mkfile("priv", 0600);     /* root's, unreadable */
	mkfile("mine", 0600);     /* the user's */
	S->chown("mine", 1000, 1000);
	mkfile("grpw", 0664);     /* group-writable, group 1000 */
	S->chown("grpw", 0, 1000);
	S->mkdir("sticky", 0777);
	S->chmod("sticky", 01777);
	S->mkdir("usticky", 0777);
	S->chown("usticky", 1000, 1000);
	S->chmod("usticky", 01777);
	X->set("pub", "user.a", "pa", 2, 0);
	X->set("pub", "trusted.t", "pt", 2, 0);
	X->set("pub", "security.s", "ps", 2, 0);
	X->set("priv", "user.a", "va", 2, 0);
	X->set("priv", "security.s", "vs", 2, 0);
	S->umask(old);
}

/* Run as uid 1000, gid 1000. */
static void perm_user_checks(void)
{
	char buf[64];

	/* user.*: the file's permission bits */
	IS(X->get("pub", "user.a", buf, sizeof(buf)), 2, "read user.* of a readable file");
	ERR(X->set("pub", "user.a", "x", 1, 0), EACCES, "write user.* without write permission");
	ERR(X->remove("pub", "user.a"), EACCES, "remove user.* without write permission");
	ERR(X->get("priv", "user.a", buf, sizeof(buf)), EACCES, "read user.* without read permission");
	OK(X->set("mine", "user.m", "m", 1, 0), "write user.* of one's own file");
	OK(X->set("grpw", "user.g", "g", 1, 0), "write user.* with group write permission");
	ERR(X->set("sticky", "user.s", "s", 1, 0), EPERM, "user.* of another's sticky directory");
	OK(X->set("usticky", "user.s", "s", 1, 0), "user.* of one's own sticky directory");

	/* trusted.*: root's alone, and invisible to others */
	ERR(X->get("pub", "trusted.t", buf, sizeof(buf)), ENODATA, "trusted.* reads as absent");
	ERR(X->set("mine", "trusted.t", "x", 1, 0), EPERM, "write trusted.* of one's own file");
	ERR(X->remove("pub", "trusted.t"), EPERM, "remove trusted.*");
	TRUE(strcmp(list_of("pub", 1), "security.s,user.a") == 0,
	     "list hides trusted.* (%s)", list_of("pub", 1));
	IS(X->list("pub", NULL, 0), 11 + 7, "and its size query counts without them");

	/* security.*: readable by all, written by root */
	IS(X->get("pub", "security.s", buf, sizeof(buf)), 2, "read security.*");
	IS(X->get("priv", "security.s", buf, sizeof(buf)), 2, "read security.* without read permission");
	ERR(X->set("mine", "security.s", "x", 1, 0), EPERM, "write security.* of one's own file");
	ERR(X->remove("pub", "security.s"), EPERM, "remove security.*");
	TRUE(strcmp(list_of("priv", 1), "security.s,user.a") == 0,
	     "list needs no read permission (%s)", list_of("priv", 1));
}

static void perm_root_after(void)
{
	char buf[64];

	IS(X->get("mine", "user.m", buf, sizeof(buf)), 1, "root sees the user's attribute");
	IS(X->get("pub", "user.a", buf, sizeof(buf)), 2, "root's attribute is unchanged");
	OK(X->set("priv", "user.r", "r", 1, 0), "root writes user.* of any file");
	IS(X->get("pub", "trusted.t", buf, sizeof(buf)), 2, "trusted.* is still there");
}

/* Run fn as uid, gid = uid (and that group alone), in BASE/sub. */
static void as_user(anyk_uid_t uid, const char *sub, void (*fn)(void))
{
	anyk_gid_t groups[1] = {uid};
	char dir[700];

	snprintf(dir, sizeof(dir), "%s/%s", BASE, sub);
	if (S->is_anyk) {
		struct anyk_proc *p = anyk_proc_create(NULL, 0), *prev;

		TRUE(p != NULL, "anyk_proc_create");
		if (!p)
			return;
		prev = anyk_proc_switch(p);
		OK(S->chdir(dir), "chdir in the new context");
		OK(S->setgroups(1, groups), "setgroups");
		OK(S->setgid(uid), "setgid %u", (unsigned)uid);
		OK(S->setuid(uid), "setuid %u", (unsigned)uid);
		fn();
		anyk_proc_switch(prev);
		anyk_proc_release(p);
	} else {
		pid_t pid;
		int status = 0;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			t_failed = 0;
			OK(S->chdir(dir), "chdir in the child");
			OK(S->setgroups(1, groups), "setgroups");
			OK(S->setgid(uid), "setgid %u", (unsigned)uid);
			OK(S->setuid(uid), "setuid %u", (unsigned)uid);
			fn();
			fflush(stdout);
			_exit(t_failed ? 1 : 0);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status))
			T_OK(0, "host: the child as uid %u died (status %d)", (unsigned)uid, status);
		else if (WEXITSTATUS(status) != 0)
			t_failed++; /* its "not ok" lines are already printed */
	}
}

static void t_perm(void)
{
	perm_setup();
	as_user(1000, "perm", perm_user_checks);
	perm_root_after();
}

/* --- POSIX ACLs: checked, kept in step with the mode, inherited ------------------ */

/* An ACL in the xattr format: version 2, then (tag, perm, id) entries. */
#define A_ENT(tag, perm, id) (tag) & 0xff, 0, (perm), 0, (id) & 0xff, ((id) >> 8) & 0xff, 0, 0
#define A_NOID 0xffff /* written as ff ff 00 00: patched to ff ff ff ff below */
#define U_OBJ 0x01
#define U_NAM 0x02
#define G_OBJ 0x04
#define G_NAM 0x08
#define A_MASK 0x10
#define A_OTH 0x20

static void acl_fix(unsigned char *a, size_t len)
{
	/* Base entries carry the undefined id, all ones. */
	for (size_t i = 4; i + 8 <= len; i += 8)
		if (a[i] == U_OBJ || a[i] == G_OBJ || a[i] == A_MASK || a[i] == A_OTH)
			a[i + 4] = a[i + 5] = a[i + 6] = a[i + 7] = 0xff;
}

static int open_close(const char *path, int flags)
{
	int fd = S->open(path, flags, 0);

	return fd < 0 ? -1 : S->close(fd);
}

static void acl_named_user(void)
{
	/* uid 1001 is named with rw-, under a mask of rw- (after chmod 0660). */
	OK(open_close("f", ANYK_O_RDWR), "the named user opens for writing");
	OK(open_close("d/inh", ANYK_O_RDWR), "the inherited entry grants it too");
	ERR(S->chmod("f", 0600), EPERM, "a named user is not the owner");
}

static void acl_other_user(void)
{
	ERR(open_close("f", ANYK_O_RDONLY), EACCES, "anyone else gets the other entry (---)");
	OK(open_close("g", ANYK_O_RDONLY), "a named group's member reads g");
	ERR(open_close("g", ANYK_O_WRONLY), EACCES, "but the mask keeps it from writing");
}

static void t_acl(void)
{
	unsigned char base[] = { 2, 0, 0, 0, A_ENT(U_OBJ, 6, A_NOID), A_ENT(G_OBJ, 4, A_NOID),
				 A_ENT(A_OTH, 0, A_NOID) };
	unsigned char ext[] = { 2, 0, 0, 0, A_ENT(U_OBJ, 6, A_NOID), A_ENT(U_NAM, 6, 1001),
				A_ENT(G_OBJ, 4, A_NOID), A_ENT(A_MASK, 4, A_NOID),
				A_ENT(A_OTH, 0, A_NOID) };
	unsigned char grp[] = { 2, 0, 0, 0, A_ENT(U_OBJ, 6, A_NOID), A_ENT(G_OBJ, 0, A_NOID),
				A_ENT(G_NAM, 6, 1002), A_ENT(A_MASK, 4, A_NOID),
				A_ENT(A_OTH, 0, A_NOID) };
	unsigned char dfl[] = { 2, 0, 0, 0, A_ENT(U_OBJ, 7, A_NOID), A_ENT(U_NAM, 7, 1001),
				A_ENT(G_OBJ, 5, A_NOID), A_ENT(A_MASK, 7, A_NOID),
				A_ENT(A_OTH, 5, A_NOID) };
	unsigned char dup[] = { 2, 0, 0, 0, A_ENT(U_OBJ, 6, A_NOID), A_ENT(U_NAM, 6, 1001),
				A_ENT(U_NAM, 4, 1001), A_ENT(G_OBJ, 4, A_NOID),
				A_ENT(A_MASK, 6, A_NOID), A_ENT(A_OTH, 0, A_NOID) };
	unsigned char bad[sizeof(ext)], buf[128];
	struct anyk_stat st;
	long n;

	acl_fix(base, sizeof(base));
	acl_fix(ext, sizeof(ext));
	acl_fix(grp, sizeof(grp));
	acl_fix(dfl, sizeof(dfl));
	acl_fix(dup, sizeof(dup));
	section("acl");
	OK(mkfile("f", 0644), "create f");
	OK(mkfile("g", 0644), "create g");
	OK(S->mkdir("d", 0755), "mkdir d");
	errno = 0;
	if (X->set("f", "system.posix_acl_access", base, sizeof(base), 0) != 0 && errno == ENOTSUP) {
		T_SKIP("%s: this file system keeps no POSIX ACLs", S->name);
		return;
	}
	/* An ACL the permission bits say all of: the bits change, nothing
	 * is stored. */
	IS(S->stat("f", &st), 0, "stat f");
	IS(st.st_mode & 07777, 0640, "the base ACL set the bits (0640)");
	ERR(X->get("f", "system.posix_acl_access", buf, sizeof(buf)), ENODATA,
	    "and is not kept as an attribute");

	/* An extended ACL is kept byte for byte; the group bits show its mask. */
	OK(X->set("f", "system.posix_acl_access", ext, sizeof(ext), 0), "set an extended ACL");
	IS(X->get("f", "system.posix_acl_access", buf, sizeof(buf)), sizeof(ext), "get it back");
	TRUE(memcmp(buf, ext, sizeof(ext)) == 0, "byte for byte");
	IS(S->stat("f", &st), 0, "stat f");
	IS(st.st_mode & 07777, 0640, "group bits are the mask (r--)");
	TRUE(strcmp(list_of("f", 1), "system.posix_acl_access") == 0, "listed (%s)", list_of("f", 1));
	OK(X->set("f", "system.posix_acl_access", ext, sizeof(ext), ANYK_XATTR_CREATE),
	   "XATTR_CREATE means nothing for an ACL");
	OK(X->set("g", "system.posix_acl_access", ext, sizeof(ext), ANYK_XATTR_REPLACE),
	   "nor does XATTR_REPLACE");
	OK(X->remove("g", "system.posix_acl_access"), "remove g's ACL again");

	/* chmod rewrites owner, mask and other. */
	OK(S->chmod("f", 0660), "chmod 0660");
	n = X->get("f", "system.posix_acl_access", buf, sizeof(buf));
	IS(n, sizeof(ext), "the ACL is still there");
	TRUE(n == (long)sizeof(ext) && buf[4 + 3 * 8 + 2] == 6 && buf[4 + 4 * 8 + 2] == 0 &&
	     buf[4 + 2] == 6 && buf[4 + 8 + 2] == 6 && buf[4 + 2 * 8 + 2] == 4,
	     "mask rw-, other ---, owner rw-; named user and owning group unchanged");

	/* Malformed ACLs. */
	memcpy(bad, ext, sizeof(ext));
	bad[0] = 1;
	ERR(X->set("f", "system.posix_acl_access", bad, sizeof(bad), 0), ENOTSUP, "version 1");
	ERR(X->set("f", "system.posix_acl_access", ext, sizeof(ext) - 3, 0), EINVAL, "a torn entry");
	memcpy(bad, ext, sizeof(ext));
	bad[4 + 3 * 8] = A_OTH; /* mask dropped: two "other" entries */
	ERR(X->set("f", "system.posix_acl_access", bad, sizeof(bad), 0), EINVAL, "no mask, other twice");
	memcpy(bad, ext, sizeof(ext));
	bad[4 + 2] = 8;
	ERR(X->set("f", "system.posix_acl_access", bad, sizeof(bad), 0), EINVAL, "a permission above rwx");
	memcpy(bad, ext, sizeof(ext));
	memcpy(bad + 4, ext + 4 + 8, 8);
	memcpy(bad + 4 + 8, ext + 4, 8);
	ERR(X->set("f", "system.posix_acl_access", bad, sizeof(bad), 0), EINVAL, "entries out of order");
	ERR(X->set("f", "system.posix_acl_access", ext, sizeof(ext) - 8, 0), EINVAL,
	    "no \"other\" entry");
	memcpy(bad, ext, sizeof(ext));
	memcpy(bad + 4 + 2 * 8, ext + 4 + 8, 8); /* the named user twice */
	memcpy(bad + 4 + 8, ext + 4 + 8, 8);
	ERR(X->set("f", "system.posix_acl_access", bad, sizeof(bad), 0), EINVAL,
	    "no owning group");
	OK(X->set("g", "system.posix_acl_access", dup, sizeof(dup), 0),
	   "a named user twice is taken, as Linux takes it");
	OK(X->remove("g", "system.posix_acl_access"), "and removed");
	ERR(X->set("f", "system.posix_acl_default", base, sizeof(base), 0), EACCES,
	    "no default ACL on a file");
	OK(X->set("g", "system.posix_acl_access", grp, sizeof(grp), 0), "a named-group ACL on g");

	/* A default ACL is inherited: mode masks it, the umask does not. */
	OK(X->set("d", "system.posix_acl_default", dfl, sizeof(dfl), 0), "default ACL on d");
	IS(X->get("d", "system.posix_acl_default", buf, sizeof(buf)), sizeof(dfl), "read it back");
	S->umask(077);
	OK(mkfile("d/inh", 0666), "create a file in d under umask 077");
	OK(S->mkdir("d/sub", 0777), "mkdir in d");
	S->umask(022);
	IS(S->stat("d/inh", &st), 0, "stat d/inh");
	IS(st.st_mode & 07777, 0664, "the file's bits come from the ACL masked by 0666");
	n = X->get("d/inh", "system.posix_acl_access", buf, sizeof(buf));
	IS(n, sizeof(dfl), "it has an access ACL");
	TRUE(n == (long)sizeof(dfl) && buf[4 + 2] == 6 && buf[4 + 8 + 2] == 7 &&
	     buf[4 + 3 * 8 + 2] == 6 && buf[4 + 4 * 8 + 2] == 4,
	     "owner rw-, named user kept, mask rw-, other r--");
	IS(S->stat("d/sub", &st), 0, "stat d/sub");
	IS(st.st_mode & 07777, 0775, "the directory's bits come from the ACL");
	n = X->get("d/sub", "system.posix_acl_default", buf, sizeof(buf));
	TRUE(n == (long)sizeof(dfl) && memcmp(buf, dfl, sizeof(dfl)) == 0,
	     "the new directory inherits the default ACL");
	OK(S->chown("f", 1000, 1000), "give f to uid 1000");
	OK(S->chown("d", 1000, 1000), "and d");
	OK(S->chmod("d", 0755), "d 0755");

	as_user(1001, "acl", acl_named_user);
	as_user(1002, "acl", acl_other_user);

	/* Removing the access ACL leaves the bits as they are. */
	OK(X->remove("f", "system.posix_acl_access"), "remove f's ACL");
	OK(X->remove("f", "system.posix_acl_access"), "removing a missing ACL is no error");
	OK(X->remove("g", "system.posix_acl_default"), "nor a file's default ACL");
	OK(X->set("g", "system.posix_acl_access", ext, 4, 0), "an ACL of no entries removes it");
	ERR(X->get("g", "system.posix_acl_access", buf, sizeof(buf)), ENODATA, "g's ACL is gone");
	IS(S->stat("f", &st), 0, "stat f");
	IS(st.st_mode & 07777, 0660, "the bits stay");
	OK(X->set("d", "system.posix_acl_default", "", 0, 0), "an empty default ACL removes it");
	ERR(X->get("d", "system.posix_acl_default", buf, sizeof(buf)), ENODATA, "gone");
}

/* --- the two runs ----------------------------------------------------------------- */

static void run_all(void)
{
	S->umask(022);
	t_basic();
	t_kinds();
	t_rdonly();
	t_perm();
	t_acl();
}

/* Does the host's tmpfs keep user.* attributes (Linux 6.6 and later)? */
static int host_has_user_xattr(const char *dir)
{
	char f[600];
	int ok;

	snprintf(f, sizeof(f), "%s/probe", dir);
	if (mkfile(f, 0644) != 0)
		return 0;
	ok = setxattr(f, "user.probe", "1", 1, 0) == 0;
	unlink(f);
	return ok;
}

static void host_run(void)
{
	char dir[] = "/dev/shm/anyk-xattr-XXXXXX";
	char cmd[800];
	int mounted = 0;

	S = &host_ops;
	X = &host_xops;
	if (geteuid() != 0) {
		T_SKIP("host: the reference run needs root (trusted.* and credentials)");
		return;
	}
	if (!mkdtemp(dir)) {
		T_SKIP("host: cannot make a directory in /dev/shm: run skipped");
		return;
	}
	chmod(dir, 0755);
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) == 0 &&
	    mount("tmpfs", dir, "tmpfs", 0, "size=64m,mode=0755") == 0)
		mounted = 1;
	can_mount = mounted;
	snprintf(BASE, sizeof(BASE), "%s", dir);
	if (!host_has_user_xattr(dir))
		T_SKIP("host: this kernel's tmpfs keeps no user.* attributes (before Linux 6.6)");
	else
		run_all();
	if (chdir("/") != 0)
		T_OK(0, "host: chdir /");
	if (mounted)
		umount2(dir, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		T_OK(0, "host: remove %s", dir);
}

static void anyk_run(void)
{
	S = &anyk_ops;
	X = &anyk_xops;
	if (anyk_init() != 0) {
		T_OK(0, "anyk: anyk_init");
		return;
	}
	snprintf(BASE, sizeof(BASE), "/xattr");
	can_mount = 1;
	if (S->mkdir(BASE, 0755) != 0) {
		T_OK(0, "anyk: mkdir %s", BASE);
		return;
	}
	run_all();
	S->chdir("/");
	IS(anyk_fini(), 0, "anyk_fini");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	host_run();
	anyk_run();
	return t_done();
}
