/*
 * Tree copies between the host and the kernel (see hostcopy.h).
 *
 * One walker does both directions: each side (the host's system calls, the
 * kernel's anyk_sys_* calls) is a table of the same few operations, all
 * relative to open directories, so that no path longer than one name is
 * ever resolved on the destination and nothing there is followed.
 *
 * The walk is an explicit stack of frames, one per directory being copied,
 * each holding the directory's sorted names. Only the newest FD_WINDOW
 * frames keep their two descriptors open; an older directory is reopened
 * through ".." from its child when the walk climbs back, and must then be
 * the same (device, inode) as before, so a renamed or swapped directory
 * stops the copy instead of sending it somewhere else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "anyk/anyk.h"
#include "tools/hostcopy.h"

#define CHUNK (1024 * 1024)         /* one read and one write per chunk */
#define XBUF ANYK_XATTR_LIST_MAX    /* one attribute list or value */
#define FD_WINDOW 48                /* directories kept open per side */

enum { OPEN_ROOT, OPEN_DIR, OPEN_READ };

/* What a directory listing says an entry is, when it says: a regular file
 * or a directory is then opened straight away, one lookup instead of two. */
enum { ENT_OTHER, ENT_REG, ENT_DIR };

/* One directory's names: each is a type byte, then the name and its NUL,
 * packed in one buffer (no allocation per name); v is the sorted view. */
struct names {
	char **v;
	size_t n;
	char *buf;
	size_t len, bcap;
	size_t *off;
	size_t ocap;
};

/* The operations one side offers; -1 and errno on failure, as syscalls.
 * A NULL name means the descriptor itself. */
struct side {
	const char *what;
	int (*open_at)(int dfd, const char *name, int how);
	/* A new file for writing, never following or replacing anything. */
	int (*create_at)(int dfd, const char *name, uint32_t mode);
	void (*close_fd)(int fd);
	int (*stat_at)(int dfd, const char *name, struct anyk_stat *st);
	long (*readlink_at)(int dfd, const char *name, char *buf, size_t n);
	int (*read_names)(int dfd, struct names *nl);
	long (*pread_fd)(int fd, void *buf, size_t n, int64_t off);
	long (*pwrite_fd)(int fd, const void *buf, size_t n, int64_t off);
	int64_t (*seek)(int fd, int64_t off, int hole);
	int (*truncate_fd)(int fd, int64_t len);
	int (*mkdir_at)(int dfd, const char *name);
	int (*symlink_at)(const char *target, int dfd, const char *name);
	int (*mknod_at)(int dfd, const char *name, uint32_t mode, uint64_t rdev);
	int (*link_at)(int ofd, const char *oname, int nfd, const char *nname);
	int (*unlink_at)(int dfd, const char *name);
	int (*chown_at)(int dfd, const char *name, uint32_t uid, uint32_t gid);
	int (*chmod_at)(int dfd, const char *name, uint32_t mode);
	int (*utimens_at)(int dfd, const char *name, const struct anyk_timespec ts[2]);
	long (*listxattr_at)(int dfd, const char *name, char *list, size_t n);
	long (*getxattr_at)(int dfd, const char *name, const char *attr, void *v, size_t n);
	int (*setxattr_at)(int dfd, const char *name, const char *attr, const void *v, size_t n);
	int (*is_root)(void);
};

/* --- the host side ------------------------------------------------------- */

static uint32_t
mode_to_anyk(mode_t m)
{
	uint32_t t;

	switch (m & S_IFMT) {
	case S_IFREG: t = ANYK_S_IFREG; break;
	case S_IFDIR: t = ANYK_S_IFDIR; break;
	case S_IFLNK: t = ANYK_S_IFLNK; break;
	case S_IFCHR: t = ANYK_S_IFCHR; break;
	case S_IFBLK: t = ANYK_S_IFBLK; break;
	case S_IFIFO: t = ANYK_S_IFIFO; break;
	case S_IFSOCK: t = ANYK_S_IFSOCK; break;
	default: t = 0; break;
	}
	return t | (uint32_t)(m & 07777);
}

static mode_t
mode_from_anyk(uint32_t m)
{
	mode_t t;

	switch (m & ANYK_S_IFMT) {
	case ANYK_S_IFREG: t = S_IFREG; break;
	case ANYK_S_IFDIR: t = S_IFDIR; break;
	case ANYK_S_IFLNK: t = S_IFLNK; break;
	case ANYK_S_IFCHR: t = S_IFCHR; break;
	case ANYK_S_IFBLK: t = S_IFBLK; break;
	case ANYK_S_IFIFO: t = S_IFIFO; break;
	case ANYK_S_IFSOCK: t = S_IFSOCK; break;
	default: t = 0; break;
	}
	return t | (mode_t)(m & 07777);
}

/* A path that reaches name inside the open directory dfd without following
 * name itself, for the calls that have no *at form (the l*xattr family). */
static const char *
h_fdpath(char *buf, size_t n, int dfd, const char *name)
{
	int r = snprintf(buf, n, "/proc/self/fd/%d/%s", dfd, name);

	if (r < 0 || (size_t)r >= n) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

static int
h_open_at(int dfd, const char *name, int how)
{
	int fd, flags = O_CLOEXEC | O_NOFOLLOW;

	switch (how) {
	case OPEN_ROOT: flags = O_CLOEXEC | O_RDONLY | O_DIRECTORY; dfd = AT_FDCWD; break;
	case OPEN_DIR: flags |= O_RDONLY | O_DIRECTORY; break;
	default: flags |= O_RDONLY | O_NOCTTY | O_NONBLOCK; break;
	}
	do
		fd = openat(dfd, name, flags);
	while (fd < 0 && errno == EINTR);
	return fd;
}

static int
h_create_at(int dfd, const char *name, uint32_t mode)
{
	int fd;

	do
		fd = openat(dfd, name, O_CLOEXEC | O_NOFOLLOW | O_WRONLY | O_CREAT | O_EXCL,
		    (mode_t)(mode & 0777));
	while (fd < 0 && errno == EINTR);
	return fd;
}

static void
h_close(int fd)
{
	close(fd);
}

static int
h_stat_at(int dfd, const char *name, struct anyk_stat *a)
{
	struct stat s;

	if (name == NULL ? fstat(dfd, &s) : fstatat(dfd, name, &s, AT_SYMLINK_NOFOLLOW))
		return -1;
	memset(a, 0, sizeof(*a));
	a->st_dev = (anyk_dev_t)s.st_dev;
	a->st_ino = (anyk_ino_t)s.st_ino;
	a->st_nlink = (uint64_t)s.st_nlink;
	a->st_mode = mode_to_anyk(s.st_mode);
	a->st_uid = s.st_uid;
	a->st_gid = s.st_gid;
	a->st_rdev = ANYK_MAKEDEV(major(s.st_rdev), minor(s.st_rdev));
	a->st_size = s.st_size;
	a->st_atim.tv_sec = s.st_atim.tv_sec;
	a->st_atim.tv_nsec = s.st_atim.tv_nsec;
	a->st_mtim.tv_sec = s.st_mtim.tv_sec;
	a->st_mtim.tv_nsec = s.st_mtim.tv_nsec;
	return 0;
}

static long
h_readlink_at(int dfd, const char *name, char *buf, size_t n)
{
	return readlinkat(dfd, name, buf, n);
}

static int
names_add(struct names *nl, const char *name, size_t len, int type)
{
	size_t *no, nc;
	char *nb;

	if (nl->n == nl->ocap) {
		nc = nl->ocap ? nl->ocap * 2 : 64;
		no = realloc(nl->off, nc * sizeof(*no));
		if (no == NULL)
			return -1;
		nl->off = no;
		nl->ocap = nc;
	}
	if (nl->bcap - nl->len < len + 2) {
		nc = nl->bcap ? nl->bcap * 2 : 4096;
		while (nc - nl->len < len + 2)
			nc *= 2;
		nb = realloc(nl->buf, nc);
		if (nb == NULL)
			return -1;
		nl->buf = nb;
		nl->bcap = nc;
	}
	nl->buf[nl->len] = (char)type;
	memcpy(nl->buf + nl->len + 1, name, len);
	nl->buf[nl->len + 1 + len] = '\0';
	nl->off[nl->n++] = nl->len + 1;
	nl->len += len + 2;
	return 0;
}

/* The listing is complete: point v at the names (the buffer moves no more). */
static int
names_done(struct names *nl)
{
	size_t i;

	if (nl->n == 0)
		return 0;
	nl->v = malloc(nl->n * sizeof(*nl->v));
	if (nl->v == NULL)
		return -1;
	for (i = 0; i < nl->n; i++)
		nl->v[i] = nl->buf + nl->off[i];
	free(nl->off);
	nl->off = NULL;
	nl->ocap = 0;
	return 0;
}

static void
names_free(struct names *nl)
{
	free(nl->v);
	free(nl->buf);
	free(nl->off);
	memset(nl, 0, sizeof(*nl));
}

static int
name_type(const char *name)
{
	return (unsigned char)name[-1];
}

static int
is_dot(const char *s)
{
	return strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

static int
h_read_names(int dfd, struct names *nl)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = dup(dfd);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				r = -1;
			break;
		}
		if (!is_dot(de->d_name) && names_add(nl, de->d_name, strlen(de->d_name),
		    de->d_type == DT_REG ? ENT_REG : de->d_type == DT_DIR ? ENT_DIR : ENT_OTHER) != 0) {
			r = -1;
			break;
		}
	}
	closedir(d);
	return r == 0 ? names_done(nl) : r;
}

static long
h_pread(int fd, void *buf, size_t n, int64_t off)
{
	return pread(fd, buf, n, (off_t)off);
}

static long
h_pwrite(int fd, const void *buf, size_t n, int64_t off)
{
	return pwrite(fd, buf, n, (off_t)off);
}

static int64_t
h_seek(int fd, int64_t off, int hole)
{
	return lseek(fd, (off_t)off, hole ? SEEK_HOLE : SEEK_DATA);
}

static int
h_truncate(int fd, int64_t len)
{
	return ftruncate(fd, (off_t)len);
}

static int
h_mkdir_at(int dfd, const char *name)
{
	return mkdirat(dfd, name, 0700);
}

static int
h_symlink_at(const char *target, int dfd, const char *name)
{
	return symlinkat(target, dfd, name);
}

static int
h_mknod_at(int dfd, const char *name, uint32_t mode, uint64_t rdev)
{
	return mknodat(dfd, name, mode_from_anyk(mode & ANYK_S_IFMT) | 0600,
	    makedev(ANYK_MAJOR(rdev), ANYK_MINOR(rdev)));
}

static int
h_link_at(int ofd, const char *oname, int nfd, const char *nname)
{
	return linkat(ofd, oname, nfd, nname, 0);
}

static int
h_unlink_at(int dfd, const char *name)
{
	return unlinkat(dfd, name, 0);
}

static int
h_chown_at(int dfd, const char *name, uint32_t uid, uint32_t gid)
{
	if (name == NULL)
		return fchown(dfd, uid, gid);
	return fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

static int
h_chmod_at(int dfd, const char *name, uint32_t mode)
{
	if (name == NULL)
		return fchmod(dfd, (mode_t)(mode & 07777));
	return fchmodat(dfd, name, (mode_t)(mode & 07777), AT_SYMLINK_NOFOLLOW);
}

static int
h_utimens_at(int dfd, const char *name, const struct anyk_timespec t[2])
{
	struct timespec ts[2];
	int i;

	for (i = 0; i < 2; i++) {
		ts[i].tv_sec = (time_t)t[i].tv_sec;
		ts[i].tv_nsec = (long)t[i].tv_nsec;
	}
	if (name == NULL)
		return futimens(dfd, ts);
	return utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static long
h_listxattr_at(int dfd, const char *name, char *list, size_t n)
{
	char pb[64 + ANYK_NAME_MAX];
	const char *p;

	if (name == NULL)
		return flistxattr(dfd, list, n);
	p = h_fdpath(pb, sizeof(pb), dfd, name);
	return p == NULL ? -1 : llistxattr(p, list, n);
}

static long
h_getxattr_at(int dfd, const char *name, const char *attr, void *v, size_t n)
{
	char pb[64 + ANYK_NAME_MAX];
	const char *p;

	if (name == NULL)
		return fgetxattr(dfd, attr, v, n);
	p = h_fdpath(pb, sizeof(pb), dfd, name);
	return p == NULL ? -1 : lgetxattr(p, attr, v, n);
}

static int
h_setxattr_at(int dfd, const char *name, const char *attr, const void *v, size_t n)
{
	char pb[64 + ANYK_NAME_MAX];
	const char *p;

	if (name == NULL)
		return fsetxattr(dfd, attr, v, n, 0);
	p = h_fdpath(pb, sizeof(pb), dfd, name);
	return p == NULL ? -1 : lsetxattr(p, attr, v, n, 0);
}

static int
h_is_root(void)
{
	return geteuid() == 0;
}

static const struct side host_side = {
	"host", h_open_at, h_create_at, h_close, h_stat_at, h_readlink_at, h_read_names,
	h_pread, h_pwrite, h_seek, h_truncate, h_mkdir_at, h_symlink_at,
	h_mknod_at, h_link_at, h_unlink_at, h_chown_at, h_chmod_at,
	h_utimens_at, h_listxattr_at, h_getxattr_at, h_setxattr_at, h_is_root,
};

/* --- the kernel side ------------------------------------------------------ */

static int
k_open_at(int dfd, const char *name, int how)
{
	int flags = ANYK_O_CLOEXEC | ANYK_O_NOFOLLOW;

	switch (how) {
	case OPEN_ROOT: flags = ANYK_O_CLOEXEC | ANYK_O_RDONLY | ANYK_O_DIRECTORY; dfd = ANYK_AT_FDCWD; break;
	case OPEN_DIR: flags |= ANYK_O_RDONLY | ANYK_O_DIRECTORY; break;
	default: flags |= ANYK_O_RDONLY | ANYK_O_NOCTTY | ANYK_O_NONBLOCK; break;
	}
	return anyk_sys_openat(dfd, name, flags, 0);
}

static int
k_create_at(int dfd, const char *name, uint32_t mode)
{
	return anyk_sys_openat(dfd, name, ANYK_O_CLOEXEC | ANYK_O_NOFOLLOW | ANYK_O_WRONLY |
	    ANYK_O_CREAT | ANYK_O_EXCL, mode & 0777);
}

static void
k_close(int fd)
{
	anyk_sys_close(fd);
}

static int
k_stat_at(int dfd, const char *name, struct anyk_stat *a)
{
	if (name == NULL)
		return anyk_sys_fstat(dfd, a);
	return anyk_sys_fstatat(dfd, name, a, ANYK_AT_SYMLINK_NOFOLLOW);
}

static long
k_readlink_at(int dfd, const char *name, char *buf, size_t n)
{
	return anyk_sys_readlinkat(dfd, name, buf, n);
}

static int
k_read_names(int dfd, struct names *nl)
{
	static _Thread_local uint64_t buf[4096];
	const char *p = (const char *)buf;
	const struct anyk_dirent *de;
	size_t off, nlen, maxlen;
	long n;

	for (;;) {
		n = anyk_sys_getdents(dfd, buf, sizeof(buf));
		if (n < 0)
			return -1;
		if (n == 0)
			return names_done(nl);
		for (off = 0; off < (size_t)n; off += de->d_reclen) {
			de = (const struct anyk_dirent *)(p + off);
			if (de->d_reclen < sizeof(*de) || de->d_reclen > (size_t)n - off) {
				errno = EIO;
				return -1;
			}
			maxlen = de->d_reclen - offsetof(struct anyk_dirent, d_name);
			nlen = strnlen(de->d_name, maxlen);
			if (nlen == maxlen) {
				errno = EIO;
				return -1;
			}
			if (!is_dot(de->d_name) && names_add(nl, de->d_name, nlen,
			    de->d_type == ANYK_DT_REG ? ENT_REG :
			    de->d_type == ANYK_DT_DIR ? ENT_DIR : ENT_OTHER) != 0)
				return -1;
		}
	}
}

static long
k_pread(int fd, void *buf, size_t n, int64_t off)
{
	return anyk_sys_pread(fd, buf, n, off);
}

static long
k_pwrite(int fd, const void *buf, size_t n, int64_t off)
{
	return anyk_sys_pwrite(fd, buf, n, off);
}

static int64_t
k_seek(int fd, int64_t off, int hole)
{
	return anyk_sys_lseek(fd, off, hole ? ANYK_SEEK_HOLE : ANYK_SEEK_DATA);
}

static int
k_truncate(int fd, int64_t len)
{
	return anyk_sys_ftruncate(fd, len);
}

static int
k_mkdir_at(int dfd, const char *name)
{
	return anyk_sys_mkdirat(dfd, name, 0700);
}

static int
k_symlink_at(const char *target, int dfd, const char *name)
{
	return anyk_sys_symlinkat(target, dfd, name);
}

static int
k_mknod_at(int dfd, const char *name, uint32_t mode, uint64_t rdev)
{
	return anyk_sys_mknodat(dfd, name, (mode & ANYK_S_IFMT) | 0600, rdev);
}

static int
k_link_at(int ofd, const char *oname, int nfd, const char *nname)
{
	return anyk_sys_linkat(ofd, oname, nfd, nname, 0);
}

static int
k_unlink_at(int dfd, const char *name)
{
	return anyk_sys_unlinkat(dfd, name, 0);
}

static int
k_chown_at(int dfd, const char *name, uint32_t uid, uint32_t gid)
{
	if (name == NULL)
		return anyk_sys_fchown(dfd, uid, gid);
	return anyk_sys_fchownat(dfd, name, uid, gid, ANYK_AT_SYMLINK_NOFOLLOW);
}

static int
k_chmod_at(int dfd, const char *name, uint32_t mode)
{
	if (name == NULL)
		return anyk_sys_fchmod(dfd, mode & 07777);
	return anyk_sys_fchmodat(dfd, name, mode & 07777, 0);
}

static int
k_utimens_at(int dfd, const char *name, const struct anyk_timespec ts[2])
{
	if (name == NULL)
		return anyk_sys_futimens(dfd, ts);
	return anyk_sys_utimensat(dfd, name, ts, ANYK_AT_SYMLINK_NOFOLLOW);
}

/* The kernel has no *at form of the xattr calls: step into the directory.
 * The walk runs in a process context of its own, so the caller's working
 * directory is not disturbed. */
static long
k_listxattr_at(int dfd, const char *name, char *list, size_t n)
{
	if (name == NULL)
		return anyk_sys_flistxattr(dfd, list, n);
	if (anyk_sys_fchdir(dfd) != 0)
		return -1;
	return anyk_sys_llistxattr(name, list, n);
}

static long
k_getxattr_at(int dfd, const char *name, const char *attr, void *v, size_t n)
{
	if (name == NULL)
		return anyk_sys_fgetxattr(dfd, attr, v, n);
	if (anyk_sys_fchdir(dfd) != 0)
		return -1;
	return anyk_sys_lgetxattr(name, attr, v, n);
}

static int
k_setxattr_at(int dfd, const char *name, const char *attr, const void *v, size_t n)
{
	if (name == NULL)
		return anyk_sys_fsetxattr(dfd, attr, v, n, 0);
	if (anyk_sys_fchdir(dfd) != 0)
		return -1;
	return anyk_sys_lsetxattr(name, attr, v, n, 0);
}

static int
k_is_root(void)
{
	return anyk_sys_geteuid() == 0;
}

static const struct side kernel_side = {
	"kernel", k_open_at, k_create_at, k_close, k_stat_at, k_readlink_at, k_read_names,
	k_pread, k_pwrite, k_seek, k_truncate, k_mkdir_at, k_symlink_at,
	k_mknod_at, k_link_at, k_unlink_at, k_chown_at, k_chmod_at,
	k_utimens_at, k_listxattr_at, k_getxattr_at, k_setxattr_at, k_is_root,
};

/* --- hard links: source (device, inode) to the first copy's path --------- */

struct lent {
	uint64_t dev, ino;
	char *path; /* relative to the destination root; NULL: free slot */
};

struct linkmap {
	struct lent *t;
	size_t n, cap;
};

static size_t
lhash(uint64_t dev, uint64_t ino, size_t cap)
{
	uint64_t h = (ino ^ (dev << 17)) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 16) & (cap - 1);
}

static const char *
lmap_find(const struct linkmap *m, uint64_t dev, uint64_t ino)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = lhash(dev, ino, m->cap); m->t[i].path != NULL; i = (i + 1) & (m->cap - 1))
		if (m->t[i].dev == dev && m->t[i].ino == ino)
			return m->t[i].path;
	return NULL;
}

static int
lmap_add(struct linkmap *m, uint64_t dev, uint64_t ino, const char *path)
{
	struct lent *old = m->t, *e;
	size_t i, oldcap = m->cap;

	if (2 * (m->n + 1) > m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->t = calloc(m->cap, sizeof(*m->t));
		if (m->t == NULL) {
			m->t = old;
			m->cap = oldcap;
			return -1;
		}
		for (i = 0; i < oldcap; i++) {
			if (old[i].path == NULL)
				continue;
			e = &m->t[lhash(old[i].dev, old[i].ino, m->cap)];
			while (e->path != NULL)
				e = e + 1 == m->t + m->cap ? m->t : e + 1;
			*e = old[i];
		}
		free(old);
	}
	for (i = lhash(dev, ino, m->cap); m->t[i].path != NULL; i = (i + 1) & (m->cap - 1))
		;
	m->t[i].path = strdup(path);
	if (m->t[i].path == NULL)
		return -1;
	m->t[i].dev = dev;
	m->t[i].ino = ino;
	m->n++;
	return 0;
}

static void
lmap_free(struct linkmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->t[i].path);
	free(m->t);
}

/* --- the walk -------------------------------------------------------------- */

struct frame {
	int sfd, dfd;            /* -1 while outside the window */
	struct anyk_stat sst;    /* the source directory, for its attributes */
	uint64_t ddev, dino;     /* the destination directory, to check reopens */
	struct names nl;
	size_t next;
	size_t rellen;           /* length of this directory's relative path */
};

struct walk {
	const struct side *src, *dst;
	const struct hostcopy_opts *o;
	struct hostcopy_stats st;
	const char *hostroot;    /* messages name host paths */
	char *rel;               /* path of the current entry below the roots */
	size_t rellen, relcap;
	struct frame *fr;
	size_t depth, fcap;
	struct linkmap links;
	char *buf, *xlist, *xval;
	char **xnames;           /* sorted view of xlist */
	int first_errno;
	int stop;                /* a fatal error, or the first without KEEP_GOING */
	int chown_ok, devices_ok;
	pthread_mutex_t mu;      /* st, first_errno and the callbacks */
	struct writer *wr;       /* hostcopy_out's writer thread, or NULL */
};

/* Messages name the entry by its path below the roots: the walk's current
 * one, or (in the writer thread) the one its job carries. */
static void
vreport_at(struct walk *w, const char *rel, enum hostcopy_level lv, const char *fmt, va_list ap)
{
	char msg[512], *path;
	size_t hl = strlen(w->hostroot), rl = rel != NULL ? strlen(rel) : 0;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	path = malloc(hl + rl + 2);
	if (path != NULL) {
		memcpy(path, w->hostroot, hl);
		if (rl > 0) {
			path[hl] = '/';
			memcpy(path + hl + 1, rel, rl + 1);
		} else {
			path[hl] = '\0';
		}
	}
	pthread_mutex_lock(&w->mu);
	switch (lv) {
	case HOSTCOPY_ERROR: w->st.errors++; break;
	case HOSTCOPY_WARN: w->st.warnings++; break;
	case HOSTCOPY_SKIP: w->st.skipped++; break;
	}
	if (w->o->report != NULL)
		w->o->report(w->o->arg, lv, path != NULL ? path : w->hostroot, msg);
	else
		fprintf(stderr, "anyk: %s: %s%s\n", path != NULL ? path : w->hostroot,
		    lv == HOSTCOPY_WARN ? "warning: " : lv == HOSTCOPY_SKIP ? "skipped: " : "", msg);
	pthread_mutex_unlock(&w->mu);
	free(path);
}

static void
report_at(struct walk *w, const char *rel, enum hostcopy_level lv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_at(w, rel, lv, fmt, ap);
	va_end(ap);
}

static void
report(struct walk *w, enum hostcopy_level lv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_at(w, w->rellen > 0 ? w->rel : NULL, lv, fmt, ap);
	va_end(ap);
}

/* Report an error; returns -1 if the walk must stop, 0 to go on. */
static int
fail_at(struct walk *w, const char *rel, int e, const char *what)
{
	report_at(w, rel, HOSTCOPY_ERROR, "%s: %s", what, strerror(e));
	pthread_mutex_lock(&w->mu);
	if (w->first_errno == 0)
		w->first_errno = e;
	pthread_mutex_unlock(&w->mu);
	/* Never with the writer thread, which runs only when going on. */
	if (!(w->o->flags & HOSTCOPY_KEEP_GOING))
		w->stop = 1;
	return w->stop ? -1 : 0;
}

static int
fail(struct walk *w, int e, const char *what)
{
	return fail_at(w, w->rellen > 0 ? w->rel : NULL, e, what);
}

/* The counts are shared with the writer thread. */
static void
count(struct walk *w, uint64_t *c, uint64_t n)
{
	pthread_mutex_lock(&w->mu);
	*c += n;
	pthread_mutex_unlock(&w->mu);
}

static void
progress(struct walk *w)
{
	if (w->o->progress == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->o->progress(w->o->arg, &w->st);
	pthread_mutex_unlock(&w->mu);
}

static int
set_rel(struct walk *w, size_t base, const char *name)
{
	size_t nl = strlen(name), need = base + 1 + nl + 1;
	char *p;

	if (need > w->relcap) {
		p = realloc(w->rel, need * 2);
		if (p == NULL)
			return -1;
		w->rel = p;
		w->relcap = need * 2;
	}
	w->rellen = base;
	if (base > 0)
		w->rel[w->rellen++] = '/';
	memcpy(w->rel + w->rellen, name, nl + 1);
	w->rellen += nl;
	return 0;
}

static void
cut_rel(struct walk *w, size_t len)
{
	w->rellen = len;
	if (w->rel != NULL)
		w->rel[len] = '\0';
}

/* A name another system gave us must be one plain component. */
static int
name_ok(const char *name)
{
	return name[0] != '\0' && !is_dot(name) && strchr(name, '/') == NULL;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file's extended attributes read ahead of setting them (by the writer
 * thread): each is its name and NUL, its value's length (4 bytes, host
 * order) and the value. */
struct xblob {
	char *p;
	size_t len;
};

static void
collect_xattrs(struct walk *w, int sfd, const char *sname, struct xblob *x)
{
	char **names = w->xnames, *p, *nb;
	size_t i, cnt = 0, nl, need, cap = 0;
	uint32_t vl;
	long n, v;

	x->p = NULL;
	x->len = 0;
	n = w->src->listxattr_at(sfd, sname, w->xlist, XBUF);
	if (n < 0) {
		if (errno != ENOTSUP && errno != EOPNOTSUPP)
			report(w, HOSTCOPY_WARN, "cannot list extended attributes (%s): %s",
			    w->src->what, strerror(errno));
		return;
	}
	for (p = w->xlist; p < w->xlist + n && cnt < XBUF / 2; p += strlen(p) + 1)
		if (*p != '\0')
			names[cnt++] = p;
	/* Attributes go in sorted order, so an image's layout does not depend
	 * on the order the source file system lists them in. */
	if (cnt > 1)
		qsort(names, cnt, sizeof(names[0]), cmp_names);
	for (i = 0; i < cnt; i++) {
		v = w->src->getxattr_at(sfd, sname, names[i], w->xval, XBUF);
		if (v < 0) {
			report(w, HOSTCOPY_WARN, "cannot read extended attribute %s: %s",
			    names[i], strerror(errno));
			continue;
		}
		nl = strlen(names[i]) + 1;
		need = x->len + nl + sizeof(vl) + (size_t)v;
		if (need > cap) {
			cap = need * 2;
			nb = realloc(x->p, cap);
			if (nb == NULL) {
				report(w, HOSTCOPY_WARN, "extended attribute %s not kept: %s",
				    names[i], strerror(ENOMEM));
				continue;
			}
			x->p = nb;
		}
		vl = (uint32_t)v;
		memcpy(x->p + x->len, names[i], nl);
		memcpy(x->p + x->len + nl, &vl, sizeof(vl));
		memcpy(x->p + x->len + nl + sizeof(vl), w->xval, (size_t)v);
		x->len = need;
	}
}

static void
apply_xattrs(struct walk *w, const char *rel, int dfd, const char *dname, const struct xblob *x)
{
	const char *p, *name;
	uint32_t vl;

	for (p = x->p; p != NULL && p < x->p + x->len; p += sizeof(vl) + vl) {
		name = p;
		p += strlen(name) + 1;
		memcpy(&vl, p, sizeof(vl));
		if (w->dst->setxattr_at(dfd, dname, name, p + sizeof(vl), vl) != 0)
			report_at(w, rel, HOSTCOPY_WARN, "extended attribute %s not kept: %s",
			    name, strerror(errno));
	}
}

/* Owner before mode (a chown clears the set-id bits), the attributes, then
 * the times last, since each of the others may change them. cur, if known,
 * is the copy's status as made: an owner or mode it already has is not set
 * again (each costs the destination an inode update). The attributes are
 * read from the source (sfd, sname), or were read ahead into x. rel names
 * the entry in messages. */
static int
set_attrs(struct walk *w, const char *rel, int sfd, const char *sname, int dfd, const char *dname,
	  const struct anyk_stat *s, const struct anyk_stat *cur, const struct xblob *x)
{
	struct anyk_timespec ts[2];
	struct xblob own;
	int islnk = ANYK_S_ISLNK(s->st_mode);

	if (w->chown_ok && (cur == NULL || cur->st_uid != s->st_uid || cur->st_gid != s->st_gid) &&
	    w->dst->chown_at(dfd, dname, s->st_uid, s->st_gid) != 0)
		if (fail_at(w, rel, errno, "cannot set the owner") != 0)
			return -1;
	if (!islnk && (cur == NULL || (cur->st_mode & 07777) != (s->st_mode & 07777)) &&
	    w->dst->chmod_at(dfd, dname, s->st_mode) != 0)
		if (fail_at(w, rel, errno, "cannot set the mode") != 0)
			return -1;
	if (x != NULL) {
		apply_xattrs(w, rel, dfd, dname, x);
	} else if (!(w->o->flags & HOSTCOPY_NO_XATTR)) {
		collect_xattrs(w, sfd, sname, &own);
		apply_xattrs(w, rel, dfd, dname, &own);
		free(own.p);
	}
	ts[0] = s->st_atim;
	ts[1] = s->st_mtim;
	if (w->dst->utimens_at(dfd, dname, ts) != 0)
		if (fail_at(w, rel, errno, "cannot set the times") != 0)
			return -1;
	return 0;
}

/*
 * name exists in the destination, which creating it just found: apply the
 * rules. Returns 1 if it was removed and creating may be tried again, 0 if
 * it is a directory to copy into (t is a directory too), or -1 if the entry
 * is done with (*r then holds the walk's verdict: 0 go on, -1 stop).
 */
static int
dest_exists(struct walk *w, const char *rel, int dfd, const char *name, int t, int *r)
{
	struct anyk_stat d;

	*r = 0;
	if (w->dst->stat_at(dfd, name, &d) != 0) {
		*r = fail_at(w, rel, errno, "cannot stat in the destination");
		return -1;
	}
	if (ANYK_S_ISLNK(d.st_mode) && t == ANYK_S_IFDIR) {
		report_at(w, rel, HOSTCOPY_SKIP, "a symbolic link in the destination, not followed");
		return -1;
	}
	if (ANYK_S_ISDIR(d.st_mode)) {
		if (t == ANYK_S_IFDIR)
			return 0;
		*r = fail_at(w, rel, EISDIR, "a directory in the destination");
		return -1;
	}
	if (!(w->o->flags & HOSTCOPY_OVERWRITE)) {
		*r = fail_at(w, rel, EEXIST, "already in the destination");
		return -1;
	}
	if (w->dst->unlink_at(dfd, name) != 0) {
		*r = fail_at(w, rel, errno, "cannot replace");
		return -1;
	}
	return 1;
}

/* Copy the data ranges only; holes in the source stay holes in the copy.
 * The new file starts empty, so a truncate is needed only when a hole
 * ends it (or the source shrank). */
static int
copy_data(struct walk *w, int in, int out, int64_t size)
{
	int64_t pos = 0, d, e, off, end = 0;
	long n, m;
	size_t want, got;

	while (pos < size) {
		d = w->src->seek(in, pos, 0);
		if (d < 0) {
			if (errno == ENXIO)
				break; /* only a hole is left */
			if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
				return -1;
			d = pos, e = size; /* no hole support: all data */
		} else {
			e = w->src->seek(in, d, 1);
			if (e < 0 || e > size)
				e = size;
		}
		for (off = d; off < e; off += (int64_t)got) {
			want = (size_t)(e - off < CHUNK ? e - off : CHUNK);
			for (got = 0; got < want; got += (size_t)n) {
				n = w->src->pread_fd(in, w->buf + got, want - got, off + (int64_t)got);
				if (n < 0 && errno == EINTR)
					n = 0;
				else if (n < 0)
					return -1;
				else if (n == 0)
					break;
			}
			if (got == 0) {
				e = off; /* the source shrank */
				break;
			}
			for (size_t done = 0; done < got; done += (size_t)m) {
				m = w->dst->pwrite_fd(out, w->buf + done, got - done, off + (int64_t)done);
				if (m < 0 && errno == EINTR)
					m = 0;
				else if (m <= 0) {
					if (m == 0)
						errno = EIO;
					return -2;
				}
			}
			end = off + (int64_t)got;
			count(w, &w->st.bytes, got);
			progress(w);
		}
		if (e <= pos)
			break;
		pos = e;
	}
	if (end != size && w->dst->truncate_fd(out, size) != 0)
		return -2;
	return 0;
}

/*
 * The mode a new file is made with, so that most copies need no chmod: the
 * final permission bits (never set-id or sticky, which only a chmod after
 * the chown may give), with the owner able to write. Until the owner is
 * set, the copy belongs to us and our group: group bits that others do not
 * also have are left for the chmod, so no group sees more than the final
 * mode lets it.
 */
static uint32_t
create_mode(const struct walk *w, uint32_t m)
{
	m = (m & 0777) | 0200;
	if (w->chown_ok)
		m &= ~((((m >> 3) & ~m) & 07) << 3);
	return m;
}

/* The regular file name in f, opened for reading and checked to be the
 * one s describes; or -1, with *r what fail() said. */
static int
open_source(struct walk *w, struct frame *f, const char *name, const struct anyk_stat *s, int *r)
{
	struct anyk_stat now;
	int in = w->src->open_at(f->sfd, name, OPEN_READ);

	if (in < 0) {
		*r = fail(w, errno, "cannot open");
		return -1;
	}
	if (w->src->stat_at(in, NULL, &now) != 0 || now.st_ino != s->st_ino ||
	    !ANYK_S_ISREG(now.st_mode)) {
		w->src->close_fd(in);
		*r = fail(w, EAGAIN, "changed while being copied");
		return -1;
	}
	return in;
}

/* in: the source file, open (open_source). */
static int
copy_file(struct walk *w, struct frame *f, const char *name, const struct anyk_stat *s, int in)
{
	struct anyk_stat made;
	int out, r = 0, e, again = 1, k, known;

	while ((out = w->dst->create_at(f->dfd, name, create_mode(w, s->st_mode))) < 0) {
		e = errno;
		k = e == EEXIST && again-- > 0 ? dest_exists(w, w->rel, f->dfd, name, ANYK_S_IFREG, &r) : -2;
		if (k == 1)
			continue;
		w->src->close_fd(in);
		return k == -1 ? r : fail(w, e, "cannot create in the destination");
	}
	count(w, &w->st.files, 1);
	known = w->dst->stat_at(out, NULL, &made) == 0;
	r = copy_data(w, in, out, s->st_size);
	if (r != 0)
		r = fail(w, errno, r == -1 ? "cannot read" : "cannot write in the destination");
	else
		r = set_attrs(w, w->rel, in, NULL, out, NULL, s, known ? &made : NULL, NULL);
	w->src->close_fd(in);
	w->dst->close_fd(out);
	return r;
}

/* --- hostcopy_out's writer thread -----------------------------------------
 *
 * Copying out, the host's file system spends about as long making each file
 * (inode allocation, data, attributes) as the kernel spends finding and
 * reading it in the image. So regular files are handed to a second thread:
 * the walk reads each file's data into a ring of bounded size and queues
 * it; the writer makes the file, writes the data and sets the attributes
 * (read ahead by the walk, so the writer never calls the kernel). A
 * directory's attributes are queued after its contents, and the writer
 * closes the directory once they are set, so every job's directory is open
 * while the job waits. Everything that depends on what the destination
 * already holds (the judging of symbolic links, hard links) first waits
 * for the queue to empty; directories, links and nodes are made by the walk
 * itself. Errors are reported by whichever thread meets them, naming the
 * entry by the path its job carries.
 */

#define RING (8u << 20)          /* queued file data (and paths) */
#define NJOBS 512
#define MAXREL (64u << 10)       /* longer paths are copied without the writer */

enum { J_FILE, J_DIR };
#define JF_OPEN 0x1              /* make the file first */
#define JF_CLOSE 0x2             /* then finish it: size, attributes, close */
#define JF_BAD 0x4               /* the source could not be read: close only */

struct job {
	int kind, flags;
	int dfd;                 /* J_FILE: the directory; J_DIR: the directory itself */
	const char *rel;         /* in the ring; the name is at rel + namepos */
	size_t namepos;
	struct anyk_stat s;
	int64_t off;             /* J_FILE: where data goes */
	size_t len;
	const char *data;
	int64_t end;             /* JF_CLOSE: where the data written ended */
	struct xblob x;          /* freed by the writer */
	uint64_t use;            /* ring bytes given back when the job is done */
};

/*
 * Waking a thread costs far more than most jobs, so neither side wakes the
 * other for each job: the writer, once idle, sleeps until BATCH jobs (or a
 * quarter of the ring) are queued or the walk itself has to wait; the walk,
 * finding the queue or the ring full, sleeps until it is down to LOW jobs
 * or half the ring.
 */
#define BATCH 32
#define LOW (NJOBS / 2)
enum { W_NONE, W_JOBS, W_RING, W_EMPTY };

struct writer {
	pthread_t thread;
	pthread_cond_t work, room;   /* with the walk's mu */
	struct job jobs[NJOBS];
	uint64_t jhead, jtail;       /* jobs queued, jobs done */
	char *ring;
	uint64_t rhead, rtail;       /* ring bytes taken, given back */
	int quit;
	int idle;                    /* the writer sleeps on work */
	int wait;                    /* W_*: what the walk sleeps on room for */
	/* The writer's own: the file being written. */
	int out, bad, known;
	struct anyk_stat made;
};

/* With mu held: the walk sleeps until what it waits for (why) is there. */
static void
wr_wait(struct walk *w, int why)
{
	struct writer *q = w->wr;

	q->wait = why;
	if (q->idle)
		pthread_cond_signal(&q->work);
	pthread_cond_wait(&q->room, &w->mu);
	q->wait = W_NONE;
}

/* Room for n contiguous bytes in the ring; *use is what the job gives back. */
static char *
wr_take(struct walk *w, size_t n, uint64_t *use)
{
	struct writer *q = w->wr;
	size_t at = (size_t)(q->rhead % RING), pad = at + n > RING ? RING - at : 0;

	pthread_mutex_lock(&w->mu);
	while (q->rhead + pad + n - q->rtail > RING)
		wr_wait(w, W_RING);
	q->rhead += pad + n;
	pthread_mutex_unlock(&w->mu);
	*use = pad + n;
	return q->ring + (at + pad) % RING;
}

static void
wr_put(struct walk *w, const struct job *j)
{
	struct writer *q = w->wr;

	pthread_mutex_lock(&w->mu);
	while (q->jhead - q->jtail >= NJOBS)
		wr_wait(w, W_JOBS);
	q->jobs[q->jhead % NJOBS] = *j;
	q->jhead++;
	if (q->idle && (q->jhead - q->jtail >= BATCH || q->rhead - q->rtail >= RING / 4))
		pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&w->mu);
}

/* Wait until everything queued is done. */
static void
wr_drain(struct walk *w)
{
	struct writer *q = w->wr;

	if (q == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	while (q->jtail != q->jhead)
		wr_wait(w, W_EMPTY);
	pthread_mutex_unlock(&w->mu);
}

/* A job's path, copied into the ring ahead of n bytes of data. */
static char *
wr_take_rel(struct walk *w, struct job *j, size_t n)
{
	size_t rl = w->rel != NULL ? w->rellen : 0;
	char *p = wr_take(w, rl + 1 + n, &j->use);

	if (rl > 0)
		memcpy(p, w->rel, rl);
	p[rl] = '\0';
	j->rel = p;
	return p + rl + 1;
}

static void
wr_file(struct walk *w, struct writer *q, struct job *j)
{
	const char *rel = j->rel[0] != '\0' ? j->rel : NULL, *name = j->rel + j->namepos;
	int again = 1, k, r, e;
	size_t done;
	long m;

	if (j->flags & JF_OPEN) {
		q->bad = 0;
		while ((q->out = w->dst->create_at(j->dfd, name, create_mode(w, j->s.st_mode))) < 0) {
			e = errno;
			k = e == EEXIST && again-- > 0 ? dest_exists(w, rel, j->dfd, name, ANYK_S_IFREG, &r) : -2;
			if (k == 1)
				continue;
			if (k != -1)
				fail_at(w, rel, e, "cannot create in the destination");
			q->bad = 1;
			break;
		}
		if (q->out >= 0) {
			count(w, &w->st.files, 1);
			q->known = w->dst->stat_at(q->out, NULL, &q->made) == 0;
		}
	}
	for (done = 0; !q->bad && done < j->len; done += (size_t)m) {
		m = w->dst->pwrite_fd(q->out, j->data + done, j->len - done, j->off + (int64_t)done);
		if (m < 0 && errno == EINTR) {
			m = 0;
		} else if (m <= 0) {
			fail_at(w, rel, m == 0 ? EIO : errno, "cannot write in the destination");
			q->bad = 1;
		}
	}
	if (!(j->flags & JF_CLOSE))
		return;
	if (!q->bad && !(j->flags & JF_BAD)) {
		if (j->end != j->s.st_size && w->dst->truncate_fd(q->out, j->s.st_size) != 0)
			fail_at(w, rel, errno, "cannot write in the destination");
		else
			set_attrs(w, rel, -1, NULL, q->out, NULL, &j->s, q->known ? &q->made : NULL, &j->x);
	}
	if (q->out >= 0)
		w->dst->close_fd(q->out);
	q->out = -1;
}

static void *
wr_main(void *arg)
{
	struct walk *w = arg;
	struct writer *q = w->wr;
	struct job j;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (q->jtail == q->jhead) {
			q->idle = 1;
			while (!q->quit && (q->jtail == q->jhead || (q->wait == W_NONE &&
			    q->jhead - q->jtail < BATCH && q->rhead - q->rtail < RING / 4)))
				pthread_cond_wait(&q->work, &w->mu);
			q->idle = 0;
			if (q->jtail == q->jhead) {
				/* Told to quit, and all is done. */
				pthread_mutex_unlock(&w->mu);
				return NULL;
			}
		}
		j = q->jobs[q->jtail % NJOBS];
		pthread_mutex_unlock(&w->mu);
		if (j.kind == J_FILE) {
			wr_file(w, q, &j);
		} else {
			set_attrs(w, j.rel[0] != '\0' ? j.rel : NULL, -1, NULL, j.dfd, NULL, &j.s, NULL, &j.x);
			w->dst->close_fd(j.dfd);
		}
		free(j.x.p);
		pthread_mutex_lock(&w->mu);
		q->rtail += j.use;
		q->jtail++;
		if ((q->wait == W_JOBS && q->jhead - q->jtail <= LOW) ||
		    (q->wait == W_RING && q->rhead - q->rtail <= RING / 2) ||
		    (q->wait == W_EMPTY && q->jhead == q->jtail))
			pthread_cond_signal(&q->room);
		pthread_mutex_unlock(&w->mu);
	}
}

/* Free a writer whose thread is not running; ncond: how many of its
 * condition variables (work, then room) were made. */
static void
wr_free(struct writer *q, int ncond)
{
	if (ncond > 1)
		pthread_cond_destroy(&q->room);
	if (ncond > 0)
		pthread_cond_destroy(&q->work);
	free(q->ring);
	free(q);
}

static int
wr_start(struct walk *w)
{
	struct writer *q;
	int ncond = 0;

	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -1;
	q->ring = malloc(RING);
	q->out = -1;
	if (q->ring == NULL || pthread_cond_init(&q->work, NULL) != 0)
		goto fail;
	ncond++;
	if (pthread_cond_init(&q->room, NULL) != 0)
		goto fail;
	ncond++;
	w->wr = q;
	if (pthread_create(&q->thread, NULL, wr_main, w) == 0)
		return 0;
	w->wr = NULL;
fail:
	wr_free(q, ncond);
	return -1;
}

/* Let the writer finish what is queued, and end it. */
static void
wr_stop(struct walk *w)
{
	struct writer *q = w->wr;

	if (q == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	q->quit = 1;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(q->thread, NULL);
	wr_free(q, 2);
	w->wr = NULL;
}

/*
 * copy_file with the writer: the data ranges are read into the ring and
 * queued, the last job also finishing the file. A file of one range (most
 * are) is one job. in: the source file already open (and checked), or -1.
 */
static int
send_file(struct walk *w, struct frame *f, const char *name, const struct anyk_stat *s, int in)
{
	struct job pend, j;
	int64_t pos = 0, d, e, off, end = 0, size = s->st_size;
	size_t want, got;
	int have = 0, rerr = 0;
	char *data;
	long n;

	memset(&j, 0, sizeof(j));
	j.kind = J_FILE;
	j.flags = JF_OPEN;
	j.dfd = f->dfd;
	j.namepos = w->rellen - strlen(name);
	j.s = *s;
	while (pos < size && !rerr) {
		d = w->src->seek(in, pos, 0);
		if (d < 0) {
			if (errno == ENXIO)
				break;
			if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP) {
				rerr = errno;
				break;
			}
			d = pos, e = size;
		} else {
			e = w->src->seek(in, d, 1);
			if (e < 0 || e > size)
				e = size;
		}
		for (off = d; off < e && !rerr; off += (int64_t)got) {
			want = (size_t)(e - off < CHUNK ? e - off : CHUNK);
			data = wr_take_rel(w, &j, want);
			for (got = 0; got < want; got += (size_t)n) {
				n = w->src->pread_fd(in, data + got, want - got, off + (int64_t)got);
				if (n < 0 && errno == EINTR) {
					n = 0;
				} else if (n < 0) {
					rerr = errno;
					got = 0;
					break;
				} else if (n == 0) {
					break;
				}
			}
			j.off = off;
			j.len = got;
			j.data = data;
			if (have)
				wr_put(w, &pend);
			pend = j;
			have = 1;
			j.flags = 0;
			if (got == 0) {
				e = off; /* the source shrank (or a read failed) */
				break;
			}
			end = off + (int64_t)got;
			count(w, &w->st.bytes, got);
			progress(w);
		}
		if (e <= pos)
			break;
		pos = e;
	}
	if (!have) {
		wr_take_rel(w, &j, 0);
		j.len = 0;
		pend = j;
	}
	pend.flags |= JF_CLOSE;
	pend.end = end;
	if (rerr)
		pend.flags |= JF_BAD;
	else if (!(w->o->flags & HOSTCOPY_NO_XATTR))
		collect_xattrs(w, in, NULL, &pend.x);
	wr_put(w, &pend);
	w->src->close_fd(in);
	return rerr ? fail(w, rerr, "cannot read") : 0;
}

/* target: a symbolic link's target, already read. */
static int
copy_special(struct walk *w, struct frame *f, const char *name, const struct anyk_stat *s,
	     const char *target)
{
	int t = s->st_mode & ANYK_S_IFMT, again = 1, r = 0, e, k;

	if ((t == ANYK_S_IFCHR || t == ANYK_S_IFBLK) && !w->devices_ok) {
		report(w, HOSTCOPY_SKIP, "device node not made (needs root and permission to make devices)");
		return 0;
	}
	for (;;) {
		if (t == ANYK_S_IFLNK ? w->dst->symlink_at(target, f->dfd, name) == 0 :
		    w->dst->mknod_at(f->dfd, name, s->st_mode, s->st_rdev) == 0)
			break;
		e = errno;
		k = e == EEXIST && again-- > 0 ? dest_exists(w, w->rel, f->dfd, name, t, &r) : -2;
		if (k == 1)
			continue;
		if (k == -1)
			return r;
		return fail(w, e, t == ANYK_S_IFLNK ? "cannot make the symbolic link" : "cannot make the node");
	}
	count(w, &w->st.files, 1);
	return set_attrs(w, w->rel, f->sfd, name, f->dfd, name, s, NULL, NULL);
}

static void
close_frame(struct walk *w, struct frame *f)
{
	if (f->sfd >= 0)
		w->src->close_fd(f->sfd);
	if (f->dfd >= 0)
		w->dst->close_fd(f->dfd);
	f->sfd = f->dfd = -1;
}

static int
push(struct walk *w, int sfd, int dfd, const struct anyk_stat *sst)
{
	struct anyk_stat dst;
	struct frame *f, *nf;

	if (w->depth == w->fcap) {
		nf = realloc(w->fr, (w->fcap ? w->fcap * 2 : 32) * sizeof(*nf));
		if (nf == NULL)
			goto bad;
		w->fr = nf;
		w->fcap = w->fcap ? w->fcap * 2 : 32;
	}
	f = &w->fr[w->depth];
	memset(f, 0, sizeof(*f));
	f->sfd = sfd;
	f->dfd = dfd;
	f->sst = *sst;
	f->rellen = w->rellen;
	if (w->dst->stat_at(dfd, NULL, &dst) != 0)
		goto bad;
	f->ddev = dst.st_dev;
	f->dino = dst.st_ino;
	if (w->src->read_names(sfd, &f->nl) != 0) {
		names_free(&f->nl);
		goto bad;
	}
	if (f->nl.n > 1)
		qsort(f->nl.v, f->nl.n, sizeof(char *), cmp_names);
	w->depth++;
	/* The root frame stays open: hard links are made relative to it. */
	if (w->depth > FD_WINDOW + 1) {
		wr_drain(w); /* queued jobs may still need that directory */
		close_frame(w, &w->fr[w->depth - 1 - FD_WINDOW]);
	}
	return 0;
bad:
	fail(w, errno, "cannot read the directory");
	w->src->close_fd(sfd);
	w->dst->close_fd(dfd);
	return w->stop ? -1 : 0;
}

/* Reopen side's directory of frame p through ".." of its child's descriptor,
 * which must lead back to the same directory. */
static int
reopen(const struct side *sd, int childfd, uint64_t dev, uint64_t ino)
{
	struct anyk_stat st;
	int fd;

	fd = sd->open_at(childfd, "..", OPEN_DIR);
	if (fd < 0)
		return -1;
	if (sd->stat_at(fd, NULL, &st) != 0 || st.st_dev != dev || st.st_ino != ino) {
		sd->close_fd(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/* Finish the top directory: its attributes now that its contents are in. */
static int
pop(struct walk *w)
{
	struct frame *f = &w->fr[w->depth - 1], *p;
	struct job j;
	int r;

	cut_rel(w, f->rellen);
	if (w->wr != NULL && (w->depth == 1 || f[-1].sfd >= 0) && f->rellen < MAXREL) {
		/* The writer sets the attributes after what is queued inside,
		 * then closes the directory. */
		memset(&j, 0, sizeof(j));
		j.kind = J_DIR;
		j.dfd = f->dfd;
		j.s = f->sst;
		wr_take_rel(w, &j, 0);
		if (!(w->o->flags & HOSTCOPY_NO_XATTR))
			collect_xattrs(w, f->sfd, NULL, &j.x);
		wr_put(w, &j);
		f->dfd = -1;
		close_frame(w, f);
		names_free(&f->nl);
		w->depth--;
		return 0;
	}
	wr_drain(w);
	r = set_attrs(w, w->rellen > 0 ? w->rel : NULL, f->sfd, NULL, f->dfd, NULL, &f->sst, NULL, NULL);
	if (w->depth > 1) {
		p = f - 1;
		if (p->sfd < 0) {
			p->sfd = reopen(w->src, f->sfd, p->sst.st_dev, p->sst.st_ino);
			if (p->sfd >= 0)
				p->dfd = reopen(w->dst, f->dfd, p->ddev, p->dino);
			if (p->sfd < 0 || p->dfd < 0) {
				fail(w, errno, "the directory above moved during the copy");
				w->stop = 1;
				r = -1;
			}
		}
	}
	close_frame(w, f);
	names_free(&f->nl);
	w->depth--;
	return r;
}

/* sfd: the source directory already open (and checked against s), or -1. */
static int
copy_dir(struct walk *w, struct frame *f, const char *name, const struct anyk_stat *s, int sfd)
{
	int dfd, e, r = 0, again = 1, k;

	while (w->dst->mkdir_at(f->dfd, name) != 0) {
		e = errno;
		k = e == EEXIST && again-- > 0 ? dest_exists(w, w->rel, f->dfd, name, ANYK_S_IFDIR, &r) : -2;
		if (k == 1)
			continue;
		if (k == 0)
			break; /* copy into the directory already there */
		if (sfd >= 0)
			w->src->close_fd(sfd);
		return k == -1 ? r : fail(w, e, "cannot make the directory");
	}
	dfd = w->dst->open_at(f->dfd, name, OPEN_DIR);
	if (dfd < 0) {
		e = errno;
		if (sfd >= 0)
			w->src->close_fd(sfd);
		return fail(w, e, "cannot open the directory in the destination");
	}
	if (sfd < 0)
		sfd = w->src->open_at(f->sfd, name, OPEN_DIR);
	if (sfd < 0) {
		e = errno;
		w->dst->close_fd(dfd);
		return fail(w, e, "cannot open the directory");
	}
	count(w, &w->st.files, 1);
	return push(w, sfd, dfd, s);
}

/*
 * The entry's status with as few lookups as the listing allows: a regular
 * file or a directory is opened at once and its descriptor (*fd) checked
 * with fstat; anything else, or a listing that did not say or was wrong,
 * costs a stat by name.
 */
static int
stat_entry(struct walk *w, struct frame *f, const char *name, struct anyk_stat *s, int *fd)
{
	int type = name_type(name), want;

	*fd = -1;
	if (type == ENT_REG || type == ENT_DIR) {
		want = type == ENT_REG ? ANYK_S_IFREG : ANYK_S_IFDIR;
		*fd = w->src->open_at(f->sfd, name, type == ENT_REG ? OPEN_READ : OPEN_DIR);
		if (*fd >= 0) {
			if (w->src->stat_at(*fd, NULL, s) == 0 && (s->st_mode & ANYK_S_IFMT) == (uint32_t)want)
				return 0;
			w->src->close_fd(*fd);
			*fd = -1;
		}
	}
	return w->src->stat_at(f->sfd, name, s);
}

/* Append one component to a path being resolved; -1 if it does not fit. */
static int
res_push(char *p, size_t *len, size_t cap, size_t *stk, size_t *depth, size_t stkcap,
	 const char *c, size_t cl)
{
	if (*depth >= stkcap || *len + cl + 2 > cap)
		return -1;
	stk[(*depth)++] = *len;
	if (*len > 0)
		p[(*len)++] = '/';
	memcpy(p + *len, c, cl);
	*len += cl;
	p[*len] = '\0';
	return 0;
}

/*
 * HOSTCOPY_SAFE_LINKS: would a link at w->rel with this target lead outside
 * the copied tree? It is resolved in the source from the tree's root (the
 * first frame, which stays open), component by component, following the
 * source's own links (at most ANYK_SYMLOOP_MAX), so a chain of harmless
 * looking links cannot climb out either; an absolute target anywhere in the
 * chain counts as outside. Components that do not exist are taken as
 * written. Where the destination already has a symbolic link that the source
 * does not have at the same place, the host would resolve differently: that
 * counts as outside too. Returns 1 if unsafe.
 */
static int
link_escapes(struct walk *w, const char *target)
{
	char *cur = NULL, *rest = NULL, *lt = NULL, *dlt = NULL, *p, *q;
	size_t cap, len = 0, depth = 0, stkcap, *stk = NULL, cl, i, base;
	struct anyk_stat st, dt;
	int links = 0, bad = 1, slnk, dlnk;
	long n, dn;
	const int sroot = w->fr[0].sfd, droot = w->fr[0].dfd;

	if (target[0] == '/')
		return 1;
	cap = w->rellen + 2 * ANYK_PATH_MAX + 4;
	stkcap = cap / 2 + 1;
	cur = malloc(cap);
	rest = malloc(2 * ANYK_PATH_MAX + 2);
	lt = malloc(ANYK_PATH_MAX + 1);
	dlt = malloc(ANYK_PATH_MAX + 1);
	stk = malloc(stkcap * sizeof(*stk));
	if (cur == NULL || rest == NULL || lt == NULL || dlt == NULL || stk == NULL)
		goto out;
	cur[0] = '\0';
	/* The directory holding the link: real directories of the walk. */
	for (base = w->rellen; base > 0 && w->rel[base - 1] != '/'; base--)
		;
	for (p = w->rel; p < w->rel + base; p = q + 1) {
		q = memchr(p, '/', (size_t)(w->rel + base - p));
		if (q == NULL)
			break;
		if (res_push(cur, &len, cap, stk, &depth, stkcap, p, (size_t)(q - p)) != 0)
			goto out;
	}
	if (strlen(target) >= 2 * ANYK_PATH_MAX + 2)
		goto out;
	strcpy(rest, target);
	p = rest;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != '/'; q++)
			;
		cl = (size_t)(q - p);
		if (cl == 1 && p[0] == '.') {
			p = q;
			continue;
		}
		if (cl == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0)
				goto out;
			len = stk[--depth];
			cur[len] = '\0';
			p = q;
			continue;
		}
		if (res_push(cur, &len, cap, stk, &depth, stkcap, p, cl) != 0)
			goto out;
		p = q;
		slnk = 0;
		if (w->src->stat_at(sroot, cur, &st) == 0)
			slnk = ANYK_S_ISLNK(st.st_mode);
		else if (errno != ENOENT && errno != ENOTDIR)
			goto out;
		dlnk = 0;
		if (w->dst->stat_at(droot, cur, &dt) == 0)
			dlnk = ANYK_S_ISLNK(dt.st_mode);
		else if (errno != ENOENT && errno != ENOTDIR)
			goto out;
		if (!slnk) {
			if (dlnk)
				goto out;
			continue;
		}
		if (++links > ANYK_SYMLOOP_MAX)
			goto out;
		n = w->src->readlink_at(sroot, cur, lt, ANYK_PATH_MAX);
		if (n <= 0 || n >= ANYK_PATH_MAX || lt[0] == '/')
			goto out;
		lt[n] = '\0';
		if (dlnk) {
			/* Made by this copy, or there before: the same target or
			 * the host would go elsewhere. */
			dn = w->dst->readlink_at(droot, cur, dlt, ANYK_PATH_MAX);
			if (dn != n || memcmp(lt, dlt, (size_t)n) != 0)
				goto out;
		} else if (w->dst->stat_at(droot, cur, &dt) == 0) {
			goto out; /* a file or directory where the source has a link */
		}
		len = stk[--depth];
		cur[len] = '\0';
		/* rest becomes the link's target, then what was left of rest. */
		i = strlen(p);
		if ((size_t)n + 1 + i + 1 > 2 * ANYK_PATH_MAX + 2)
			goto out;
		memmove(rest + n + 1, p, i + 1);
		memcpy(rest, lt, (size_t)n);
		rest[n] = '/';
		p = rest;
	}
	bad = 0;
out:
	free(cur);
	free(rest);
	free(lt);
	free(dlt);
	free(stk);
	return bad;
}

static int
copy_entry(struct walk *w, struct frame *f, const char *name)
{
	char target[ANYK_PATH_MAX + 1];
	struct anyk_stat s;
	const char *first;
	uint64_t trouble;
	int t, fd, r = 0, again = 1, e, k;
	long n;

	if (set_rel(w, f->rellen, name) != 0)
		return fail(w, ENOMEM, "cannot copy");
	if (!name_ok(name)) {
		report(w, HOSTCOPY_SKIP, "unsafe name, not copied");
		return 0;
	}
	if (stat_entry(w, f, name, &s, &fd) != 0)
		return fail(w, errno, "cannot stat");
	t = s.st_mode & ANYK_S_IFMT;
	if (t == ANYK_S_IFDIR)
		return copy_dir(w, f, name, &s, fd);
	target[0] = '\0';
	if (t == ANYK_S_IFLNK) {
		n = w->src->readlink_at(f->sfd, name, target, sizeof(target));
		if (n < 0)
			return fail(w, errno, "cannot read the symbolic link");
		if ((size_t)n >= sizeof(target))
			return fail(w, ENAMETOOLONG, "cannot read the symbolic link");
		target[n] = '\0';
		wr_drain(w); /* judged against the destination as made so far */
		/* Judged where it stands, before any hard link to it is made:
		 * the same target can be harmless in one directory only. */
		if ((w->o->flags & HOSTCOPY_SAFE_LINKS) && link_escapes(w, target)) {
			report(w, HOSTCOPY_SKIP, "symbolic link leading outside the destination");
			return 0;
		}
	}
	if (s.st_nlink > 1 && (first = lmap_find(&w->links, s.st_dev, s.st_ino)) != NULL) {
		if (fd >= 0)
			w->src->close_fd(fd);
		while (w->dst->link_at(w->fr[0].dfd, first, f->dfd, name) != 0) {
			e = errno;
			k = e == EEXIST && again-- > 0 ? dest_exists(w, w->rel, f->dfd, name, t, &r) : -2;
			if (k == 1)
				continue;
			return k == -1 ? r : fail(w, e, "cannot make the hard link");
		}
		count(w, &w->st.links, 1);
		return 0;
	}
	if (t == ANYK_S_IFREG && fd < 0 && (fd = open_source(w, f, name, &s, &r)) < 0)
		return r;
	if (t == ANYK_S_IFREG && s.st_nlink <= 1 && w->wr != NULL && w->rellen < MAXREL)
		return send_file(w, f, name, &s, fd);
	trouble = 0;
	if (s.st_nlink > 1) {
		/* Only a copy that was made can be linked to: count the
		 * trouble once all that is queued is done. */
		wr_drain(w);
		pthread_mutex_lock(&w->mu);
		trouble = w->st.errors + w->st.skipped;
		pthread_mutex_unlock(&w->mu);
	}
	if (t == ANYK_S_IFREG) {
		if (copy_file(w, f, name, &s, fd) != 0)
			return -1;
	} else if (t == ANYK_S_IFLNK || t == ANYK_S_IFCHR || t == ANYK_S_IFBLK ||
		   t == ANYK_S_IFIFO || t == ANYK_S_IFSOCK) {
		if (copy_special(w, f, name, &s, target) != 0)
			return -1;
	} else {
		report(w, HOSTCOPY_SKIP, "unknown file type %o", (unsigned)t);
		return 0;
	}
	if (s.st_nlink <= 1)
		return 0;
	pthread_mutex_lock(&w->mu);
	trouble -= w->st.errors + w->st.skipped;
	pthread_mutex_unlock(&w->mu);
	if (trouble == 0 && lmap_add(&w->links, s.st_dev, s.st_ino, w->rel) != 0)
		return fail(w, ENOMEM, "cannot remember the hard link");
	return 0;
}

static int
open_dest_root(struct walk *w, const char *path)
{
	int fd = w->dst->open_at(-1, path, OPEN_ROOT);

	if (fd < 0 && errno == ENOENT) {
		if (w->dst == &host_side ? mkdir(path, 0700) != 0 : anyk_sys_mkdir(path, 0700) != 0)
			return -1;
		fd = w->dst->open_at(-1, path, OPEN_ROOT);
	}
	return fd;
}

static int
walk(struct walk *w, const char *sroot, const char *droot)
{
	struct anyk_stat s;
	struct frame *f;
	int sfd, dfd, e;

	w->buf = malloc(CHUNK);
	w->xlist = malloc(XBUF);
	w->xval = malloc(XBUF);
	w->xnames = malloc(XBUF / 2 * sizeof(char *));
	if (w->buf == NULL || w->xlist == NULL || w->xval == NULL || w->xnames == NULL)
		return fail(w, ENOMEM, "cannot copy"), -1;
	w->chown_ok = !(w->o->flags & HOSTCOPY_NO_OWNER) && w->dst->is_root();
	w->devices_ok = w->dst == &kernel_side ||
	    ((w->o->flags & HOSTCOPY_DEVICES) && w->dst->is_root());
	/* Copying out, the host's side of regular files runs in a thread of
	 * its own; only when going on after errors, so that the writer never
	 * has to stop the walk. Without the thread the walk does it all. */
	if (w->src == &kernel_side && w->dst == &host_side && (w->o->flags & HOSTCOPY_KEEP_GOING) &&
	    getenv("ANYK_HOSTCOPY_ONE_THREAD") == NULL)
		(void)wr_start(w);
	sfd = w->src->open_at(-1, sroot, OPEN_ROOT);
	if (sfd < 0 || w->src->stat_at(sfd, NULL, &s) != 0) {
		e = errno;
		if (sfd >= 0)
			w->src->close_fd(sfd);
		return fail(w, e, w->src == &host_side ? "cannot open" : "cannot open the source"), -1;
	}
	dfd = open_dest_root(w, droot);
	if (dfd < 0) {
		e = errno;
		w->src->close_fd(sfd);
		return fail(w, e, "cannot open the destination"), -1;
	}
	if (push(w, sfd, dfd, &s) != 0 || w->depth == 0)
		return -1;
	count(w, &w->st.files, 1);
	while (w->depth > 0 && !w->stop) {
		f = &w->fr[w->depth - 1];
		if (f->next == f->nl.n) {
			pop(w);
			progress(w);
			continue;
		}
		copy_entry(w, f, f->nl.v[f->next++]);
		progress(w);
	}
	wr_drain(w);
	while (w->depth > 0) {
		/* Stopped early: close what is open, set nothing more. */
		f = &w->fr[w->depth - 1];
		close_frame(w, f);
		names_free(&f->nl);
		w->depth--;
	}
	wr_stop(w);
	return w->st.errors ? -1 : 0;
}

static int
run(const struct side *src, const struct side *dst, const char *from, const char *to,
    const char *hostroot, const struct hostcopy_opts *opts, struct hostcopy_stats *st)
{
	static const struct hostcopy_opts none;
	struct anyk_proc *p, *prev;
	struct walk w;
	int r;

	memset(&w, 0, sizeof(w));
	w.src = src;
	w.dst = dst;
	w.o = opts != NULL ? opts : &none;
	w.hostroot = hostroot;
	pthread_mutex_init(&w.mu, NULL);
	/* A context of our own: its working directory moves (see
	 * k_listxattr_at), and descriptors left by an early stop go with it. */
	p = anyk_proc_create(anyk_proc_current(), 0);
	if (p == NULL) {
		fail(&w, errno, "cannot make a kernel process context");
		r = -1;
		goto out;
	}
	prev = anyk_proc_switch(p);
	r = walk(&w, from, to);
	wr_stop(&w);
	anyk_proc_switch(prev);
	anyk_proc_release(p);
out:
	free(w.buf);
	free(w.xlist);
	free(w.xval);
	free(w.xnames);
	free(w.rel);
	free(w.fr);
	lmap_free(&w.links);
	pthread_mutex_destroy(&w.mu);
	if (st != NULL)
		*st = w.st;
	if (r != 0)
		errno = w.first_errno ? w.first_errno : EIO;
	return r;
}

int
hostcopy_in(const char *hostdir, const char *kdir, const struct hostcopy_opts *opts,
	    struct hostcopy_stats *st)
{
	return run(&host_side, &kernel_side, hostdir, kdir, hostdir, opts, st);
}

int
hostcopy_out(const char *kdir, const char *hostdir, const struct hostcopy_opts *opts,
	     struct hostcopy_stats *st)
{
	return run(&kernel_side, &host_side, kdir, hostdir, hostdir, opts, st);
}
