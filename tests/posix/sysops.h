/*
 * One table of system calls, two implementations: anyk's anyk_sys_* and the
 * host kernel's through libc. The semantics suite runs the same assertions
 * through both, so every expected value is checked against Linux itself.
 *
 * The table speaks anyk's ABI (ANYK_O_*, struct anyk_stat, ...); the host
 * side translates constants and structures by name, never by number, and
 * passes bits it does not know through unchanged so that "unknown flag"
 * cases reach the host kernel as they are. Errors come back as the host's
 * errno in both cases.
 */
#ifndef ANYK_TESTS_POSIX_SYSOPS_H
#define ANYK_TESTS_POSIX_SYSOPS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "anyk/anyk.h"

struct sysops {
	const char *name; /* "anyk" or "host": prefixes every assertion */
	int is_anyk;
	int (*open)(const char *, int, anyk_mode_t);
	int (*openat)(int, const char *, int, anyk_mode_t);
	int (*close)(int);
	anyk_ssize_t (*read)(int, void *, size_t);
	anyk_ssize_t (*write)(int, const void *, size_t);
	anyk_ssize_t (*pread)(int, void *, size_t, anyk_off_t);
	anyk_ssize_t (*pwrite)(int, const void *, size_t, anyk_off_t);
	anyk_ssize_t (*readv)(int, const struct anyk_iovec *, int);
	anyk_ssize_t (*writev)(int, const struct anyk_iovec *, int);
	anyk_off_t (*lseek)(int, anyk_off_t, int);
	int (*stat)(const char *, struct anyk_stat *);
	int (*lstat)(const char *, struct anyk_stat *);
	int (*fstat)(int, struct anyk_stat *);
	int (*fstatat)(int, const char *, struct anyk_stat *, int);
	int (*access)(const char *, int);
	int (*faccessat)(int, const char *, int, int);
	int (*mkdir)(const char *, anyk_mode_t);
	int (*mkdirat)(int, const char *, anyk_mode_t);
	int (*rmdir)(const char *);
	int (*unlink)(const char *);
	int (*unlinkat)(int, const char *, int);
	int (*rename)(const char *, const char *);
	int (*renameat)(int, const char *, int, const char *);
	int (*link)(const char *, const char *);
	int (*linkat)(int, const char *, int, const char *, int);
	int (*symlink)(const char *, const char *);
	int (*symlinkat)(const char *, int, const char *);
	anyk_ssize_t (*readlink)(const char *, char *, size_t);
	anyk_ssize_t (*readlinkat)(int, const char *, char *, size_t);
	anyk_ssize_t (*getdents)(int, void *, size_t);
	int (*chmod)(const char *, anyk_mode_t);
	int (*fchmod)(int, anyk_mode_t);
	int (*fchmodat)(int, const char *, anyk_mode_t, int);
	int (*chown)(const char *, anyk_uid_t, anyk_gid_t);
	int (*fchown)(int, anyk_uid_t, anyk_gid_t);
	int (*lchown)(const char *, anyk_uid_t, anyk_gid_t);
	int (*fchownat)(int, const char *, anyk_uid_t, anyk_gid_t, int);
	int (*utimensat)(int, const char *, const struct anyk_timespec *, int);
	int (*futimens)(int, const struct anyk_timespec *);
	int (*truncate)(const char *, anyk_off_t);
	int (*ftruncate)(int, anyk_off_t);
	int (*fsync)(int);
	int (*fdatasync)(int);
	int (*chdir)(const char *);
	int (*fchdir)(int);
	char *(*getcwd)(char *, size_t);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, long);
	int (*pipe)(int *);
	int (*pipe2)(int *, int);
	int (*mknod)(const char *, anyk_mode_t, anyk_dev_t);
	anyk_mode_t (*umask)(anyk_mode_t);
	int (*statvfs)(const char *, struct anyk_statvfs *);
	int (*fstatvfs)(int, struct anyk_statvfs *);
	int (*mount)(const char *, const char *, const char *, unsigned long, const char *);
	int (*unmount)(const char *, int);
	anyk_pid_t (*getpid)(void);
	anyk_uid_t (*getuid)(void);
	anyk_uid_t (*geteuid)(void);
	anyk_gid_t (*getgid)(void);
	anyk_gid_t (*getegid)(void);
	int (*setuid)(anyk_uid_t);
	int (*setgid)(anyk_gid_t);
	int (*setgroups)(size_t, const anyk_gid_t *);
	int (*getgroups)(int, anyk_gid_t *);
	int (*renameat2)(int, const char *, int, const char *, unsigned);
	int (*fallocate)(int, int, anyk_off_t, anyk_off_t);
	/* File flags (ANYK_FL_*, Linux's FS_IOC_*FLAGS values) of a path,
	 * following symlinks; the host's go through an open descriptor. */
	int (*chflags)(const char *, uint32_t);
	int (*getflags)(const char *, uint32_t *);
};

static inline int a_chflags(const char *p, uint32_t f) { return anyk_sys_chflagsat(ANYK_AT_FDCWD, p, f, 0); }
static inline int a_getflags(const char *p, uint32_t *f)
{
	struct anyk_stat st;
	int r = anyk_sys_stat(p, &st);

	if (r == 0)
		*f = st.st_flags;
	return r;
}

static const struct sysops anyk_ops = {
	"anyk", 1,
	anyk_sys_open, anyk_sys_openat, anyk_sys_close, anyk_sys_read,
	anyk_sys_write, anyk_sys_pread, anyk_sys_pwrite, anyk_sys_readv,
	anyk_sys_writev, anyk_sys_lseek, anyk_sys_stat, anyk_sys_lstat,
	anyk_sys_fstat, anyk_sys_fstatat, anyk_sys_access, anyk_sys_faccessat,
	anyk_sys_mkdir, anyk_sys_mkdirat, anyk_sys_rmdir, anyk_sys_unlink,
	anyk_sys_unlinkat, anyk_sys_rename, anyk_sys_renameat, anyk_sys_link,
	anyk_sys_linkat, anyk_sys_symlink, anyk_sys_symlinkat,
	anyk_sys_readlink, anyk_sys_readlinkat, anyk_sys_getdents,
	anyk_sys_chmod, anyk_sys_fchmod, anyk_sys_fchmodat, anyk_sys_chown,
	anyk_sys_fchown, anyk_sys_lchown, anyk_sys_fchownat,
	anyk_sys_utimensat, anyk_sys_futimens, anyk_sys_truncate,
	anyk_sys_ftruncate, anyk_sys_fsync, anyk_sys_fdatasync,
	anyk_sys_chdir, anyk_sys_fchdir, anyk_sys_getcwd, anyk_sys_dup,
	anyk_sys_dup2, anyk_sys_dup3, anyk_sys_fcntl, anyk_sys_pipe,
	anyk_sys_pipe2, anyk_sys_mknod, anyk_sys_umask, anyk_sys_statvfs,
	anyk_sys_fstatvfs, anyk_sys_mount, anyk_sys_unmount, anyk_sys_getpid,
	anyk_sys_getuid, anyk_sys_geteuid, anyk_sys_getgid, anyk_sys_getegid,
	anyk_sys_setuid, anyk_sys_setgid, anyk_sys_setgroups,
	anyk_sys_getgroups, anyk_sys_renameat2, anyk_sys_fallocate,
	a_chflags, a_getflags,
};

/* --- translation of constants ------------------------------------------- */

struct bitmap_entry {
	long anyk, host;
};

/* Map each known anyk bit to its host bit; unknown bits pass unchanged. */
static long map_bits(long v, const struct bitmap_entry *t, size_t n, int to_host)
{
	long out = 0, known = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		long from = to_host ? t[i].anyk : t[i].host;
		long to = to_host ? t[i].host : t[i].anyk;
		if (from != 0 && (v & from) == from) {
			out |= to;
			known |= from;
		}
	}
	return out | (v & ~known);
}

static const struct bitmap_entry oflag_map[] = {
	/* O_SYNC contains O_DSYNC's bit on Linux: list it first. */
	{ANYK_O_SYNC, O_SYNC},
	{ANYK_O_WRONLY, O_WRONLY},
	{ANYK_O_RDWR, O_RDWR},
	{ANYK_O_CREAT, O_CREAT},
	{ANYK_O_EXCL, O_EXCL},
	{ANYK_O_NOCTTY, O_NOCTTY},
	{ANYK_O_TRUNC, O_TRUNC},
	{ANYK_O_APPEND, O_APPEND},
	{ANYK_O_NONBLOCK, O_NONBLOCK},
	{ANYK_O_DSYNC, O_DSYNC},
	{ANYK_O_DIRECT, O_DIRECT},
	{ANYK_O_LARGEFILE, O_LARGEFILE},
	{ANYK_O_DIRECTORY, O_DIRECTORY},
	{ANYK_O_NOFOLLOW, O_NOFOLLOW},
	{ANYK_O_NOATIME, O_NOATIME},
	{ANYK_O_CLOEXEC, O_CLOEXEC},
	{ANYK_O_PATH, O_PATH},
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int h_oflags(int f)
{
	return (int)map_bits(f, oflag_map, NELEM(oflag_map), 1);
}

static int a_oflags(int f)
{
	/* The kernel reports O_LARGEFILE on 64-bit hosts; anyk need not. */
	return (int)map_bits(f & ~O_LARGEFILE, oflag_map, NELEM(oflag_map), 0);
}

/* AT_* flags, per call because AT_EACCESS and AT_REMOVEDIR share a bit. */
static int h_atflags(int f, int eaccess)
{
	static const struct bitmap_entry m[] = {
		{ANYK_AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW},
		{ANYK_AT_SYMLINK_FOLLOW, AT_SYMLINK_FOLLOW},
		{ANYK_AT_EMPTY_PATH, AT_EMPTY_PATH},
	};
	int out = 0;

	if (eaccess && (f & ANYK_AT_EACCESS)) {
		out |= AT_EACCESS;
		f &= ~ANYK_AT_EACCESS;
	} else if (!eaccess && (f & ANYK_AT_REMOVEDIR)) {
		out |= AT_REMOVEDIR;
		f &= ~ANYK_AT_REMOVEDIR;
	}
	return out | (int)map_bits(f, m, NELEM(m), 1);
}

static int h_dirfd(int fd)
{
	return fd == ANYK_AT_FDCWD ? AT_FDCWD : fd;
}

static mode_t h_mode(anyk_mode_t m)
{
	static const struct bitmap_entry types[] = {
		{ANYK_S_IFSOCK, S_IFSOCK}, {ANYK_S_IFLNK, S_IFLNK},
		{ANYK_S_IFREG, S_IFREG},   {ANYK_S_IFBLK, S_IFBLK},
		{ANYK_S_IFDIR, S_IFDIR},   {ANYK_S_IFCHR, S_IFCHR},
		{ANYK_S_IFIFO, S_IFIFO},
	};
	static const struct bitmap_entry perm[] = {
		{ANYK_S_ISUID, S_ISUID}, {ANYK_S_ISGID, S_ISGID},
		{ANYK_S_ISVTX, S_ISVTX}, {ANYK_S_IRUSR, S_IRUSR},
		{ANYK_S_IWUSR, S_IWUSR}, {ANYK_S_IXUSR, S_IXUSR},
		{ANYK_S_IRWXG & 040, S_IRGRP}, {ANYK_S_IRWXG & 020, S_IWGRP},
		{ANYK_S_IRWXG & 010, S_IXGRP}, {ANYK_S_IRWXO & 04, S_IROTH},
		{ANYK_S_IRWXO & 02, S_IWOTH}, {ANYK_S_IRWXO & 01, S_IXOTH},
	};
	/* an unknown type goes to the kernel as it is, to see it refused */
	mode_t out = (mode_t)(m & ANYK_S_IFMT);
	size_t i;

	for (i = 0; i < NELEM(types); i++)
		if ((m & ANYK_S_IFMT) == (anyk_mode_t)types[i].anyk)
			out = (mode_t)types[i].host;
	return out | (mode_t)map_bits(m & ~(anyk_mode_t)ANYK_S_IFMT, perm, NELEM(perm), 1);
}

static anyk_mode_t a_mode(mode_t m)
{
	anyk_mode_t t = 0;

	switch (m & S_IFMT) {
	case S_IFSOCK: t = ANYK_S_IFSOCK; break;
	case S_IFLNK: t = ANYK_S_IFLNK; break;
	case S_IFREG: t = ANYK_S_IFREG; break;
	case S_IFBLK: t = ANYK_S_IFBLK; break;
	case S_IFDIR: t = ANYK_S_IFDIR; break;
	case S_IFCHR: t = ANYK_S_IFCHR; break;
	case S_IFIFO: t = ANYK_S_IFIFO; break;
	}
	/* Permission bits have the same names and meaning; go through
	 * h_mode's table backwards one bit at a time. */
	{
		anyk_mode_t p = 0, bit;
		for (bit = 1; bit <= 04000; bit <<= 1)
			if (m & h_mode(bit))
				p |= bit;
		return t | p;
	}
}

static int h_amode(int m)
{
	static const struct bitmap_entry t[] = {
		{ANYK_R_OK, R_OK}, {ANYK_W_OK, W_OK}, {ANYK_X_OK, X_OK},
	};
	return (int)map_bits(m, t, NELEM(t), 1);
}

static int h_whence(int w)
{
	switch (w) {
	case ANYK_SEEK_SET: return SEEK_SET;
	case ANYK_SEEK_CUR: return SEEK_CUR;
	case ANYK_SEEK_END: return SEEK_END;
	case ANYK_SEEK_DATA: return SEEK_DATA;
	case ANYK_SEEK_HOLE: return SEEK_HOLE;
	}
	return w;
}

static void a_ts(struct anyk_timespec *a, const struct timespec *h)
{
	a->tv_sec = h->tv_sec;
	a->tv_nsec = h->tv_nsec;
}

static void a_stat(struct anyk_stat *a, const struct stat *h)
{
	memset(a, 0, sizeof(*a));
	a->st_dev = h->st_dev;
	a->st_ino = h->st_ino;
	a->st_nlink = h->st_nlink;
	a->st_mode = a_mode(h->st_mode);
	a->st_uid = h->st_uid;
	a->st_gid = h->st_gid;
	a->st_rdev = ANYK_MAKEDEV(major(h->st_rdev), minor(h->st_rdev));
	a->st_size = h->st_size;
	a->st_blksize = h->st_blksize;
	a->st_blocks = h->st_blocks;
	a_ts(&a->st_atim, &h->st_atim);
	a_ts(&a->st_mtim, &h->st_mtim);
	a_ts(&a->st_ctim, &h->st_ctim);
}

static void h_times(struct timespec h[2], const struct anyk_timespec *a)
{
	int i;

	for (i = 0; i < 2; i++) {
		h[i].tv_sec = (time_t)a[i].tv_sec;
		if (a[i].tv_nsec == ANYK_UTIME_NOW)
			h[i].tv_nsec = UTIME_NOW;
		else if (a[i].tv_nsec == ANYK_UTIME_OMIT)
			h[i].tv_nsec = UTIME_OMIT;
		else
			h[i].tv_nsec = (long)a[i].tv_nsec;
	}
}

static void a_statvfs(struct anyk_statvfs *a, const struct statvfs *h)
{
	memset(a, 0, sizeof(*a));
	a->f_bsize = h->f_bsize;
	a->f_frsize = h->f_frsize;
	a->f_blocks = h->f_blocks;
	a->f_bfree = h->f_bfree;
	a->f_bavail = h->f_bavail;
	a->f_files = h->f_files;
	a->f_ffree = h->f_ffree;
	a->f_favail = h->f_favail;
	a->f_fsid = h->f_fsid;
	a->f_flag = ((h->f_flag & ST_RDONLY) ? ANYK_ST_RDONLY : 0) |
		    ((h->f_flag & ST_NOSUID) ? ANYK_ST_NOSUID : 0);
	a->f_namemax = h->f_namemax;
}

/* --- host implementations ------------------------------------------------ */

static int h_open(const char *p, int f, anyk_mode_t m) { return open(p, h_oflags(f), h_mode(m)); }
static int h_openat(int d, const char *p, int f, anyk_mode_t m) { return openat(h_dirfd(d), p, h_oflags(f), h_mode(m)); }
static int h_close(int fd) { return close(fd); }
static anyk_ssize_t h_read(int fd, void *b, size_t n) { return read(fd, b, n); }
static anyk_ssize_t h_write(int fd, const void *b, size_t n) { return write(fd, b, n); }
static anyk_ssize_t h_pread(int fd, void *b, size_t n, anyk_off_t o) { return pread(fd, b, n, (off_t)o); }
static anyk_ssize_t h_pwrite(int fd, const void *b, size_t n, anyk_off_t o) { return pwrite(fd, b, n, (off_t)o); }

static anyk_ssize_t h_iov(int fd, const struct anyk_iovec *a, int cnt, int wr)
{
	struct iovec v[ANYK_IOV_MAX + 1];
	int i;

	/* Out-of-range counts go to the kernel as they are, to see its answer
	 * (through syscall(): libc's prototypes forbid such calls). */
	if (cnt < 0 || cnt > ANYK_IOV_MAX + 1)
		return syscall(wr ? SYS_writev : SYS_readv, fd, (void *)0, cnt);
	for (i = 0; i < cnt; i++) {
		v[i].iov_base = a[i].iov_base;
		v[i].iov_len = a[i].iov_len;
	}
	return wr ? writev(fd, v, cnt) : readv(fd, v, cnt);
}
static anyk_ssize_t h_readv(int fd, const struct anyk_iovec *a, int cnt) { return h_iov(fd, a, cnt, 0); }
static anyk_ssize_t h_writev(int fd, const struct anyk_iovec *a, int cnt) { return h_iov(fd, a, cnt, 1); }
static anyk_off_t h_lseek(int fd, anyk_off_t o, int w) { return lseek(fd, (off_t)o, h_whence(w)); }

static int h_fstatat(int d, const char *p, struct anyk_stat *a, int f)
{
	struct stat h;
	int r = fstatat(h_dirfd(d), p, &h, h_atflags(f, 0));
	if (r == 0)
		a_stat(a, &h);
	return r;
}
static int h_stat(const char *p, struct anyk_stat *a) { return h_fstatat(ANYK_AT_FDCWD, p, a, 0); }
static int h_lstat(const char *p, struct anyk_stat *a) { return h_fstatat(ANYK_AT_FDCWD, p, a, ANYK_AT_SYMLINK_NOFOLLOW); }
static int h_fstat(int fd, struct anyk_stat *a)
{
	struct stat h;
	int r = fstat(fd, &h);
	if (r == 0)
		a_stat(a, &h);
	return r;
}
static int h_access(const char *p, int m) { return access(p, h_amode(m)); }
static int h_faccessat(int d, const char *p, int m, int f) { return faccessat(h_dirfd(d), p, h_amode(m), h_atflags(f, 1)); }
static int h_mkdir(const char *p, anyk_mode_t m) { return mkdir(p, h_mode(m)); }
static int h_mkdirat(int d, const char *p, anyk_mode_t m) { return mkdirat(h_dirfd(d), p, h_mode(m)); }
static int h_rmdir(const char *p) { return rmdir(p); }
static int h_unlink(const char *p) { return unlink(p); }
static int h_unlinkat(int d, const char *p, int f) { return unlinkat(h_dirfd(d), p, h_atflags(f, 0)); }
static int h_rename(const char *a, const char *b) { return rename(a, b); }
static int h_renameat(int d1, const char *a, int d2, const char *b) { return renameat(h_dirfd(d1), a, h_dirfd(d2), b); }
static int h_renameat2(int d1, const char *a, int d2, const char *b, unsigned f)
{
	/* The flag values are Linux's own. */
	return renameat2(h_dirfd(d1), a, h_dirfd(d2), b, f);
}
static int h_fallocate(int fd, int m, anyk_off_t off, anyk_off_t len)
{
	/* The mode values are Linux's own. */
	return fallocate(fd, m, (off_t)off, (off_t)len);
}
/* Linux's, from <linux/fs.h>, which clashes with <sys/mount.h>. */
#ifndef FS_IOC_GETFLAGS
#define FS_IOC_GETFLAGS _IOR('f', 1, long)
#define FS_IOC_SETFLAGS _IOW('f', 2, long)
#endif
static int h_flagsop(const char *p, unsigned long req, uint32_t *f)
{
	int fd = open(p, O_RDONLY | O_NONBLOCK), r, e;
	unsigned int v = *f;

	if (fd < 0)
		return -1;
	r = ioctl(fd, req, &v);
	e = errno;
	close(fd);
	*f = v;
	errno = e;
	return r;
}
static int h_chflags(const char *p, uint32_t f) { return h_flagsop(p, FS_IOC_SETFLAGS, &f); }
static int h_getflags(const char *p, uint32_t *f) { *f = 0; return h_flagsop(p, FS_IOC_GETFLAGS, f); }
static int h_link(const char *a, const char *b) { return link(a, b); }
static int h_linkat(int d1, const char *a, int d2, const char *b, int f) { return linkat(h_dirfd(d1), a, h_dirfd(d2), b, h_atflags(f, 0)); }
static int h_symlink(const char *t, const char *p) { return symlink(t, p); }
static int h_symlinkat(const char *t, int d, const char *p) { return symlinkat(t, h_dirfd(d), p); }
static anyk_ssize_t h_readlink(const char *p, char *b, size_t n) { return readlink(p, b, n); }
static anyk_ssize_t h_readlinkat(int d, const char *p, char *b, size_t n) { return readlinkat(h_dirfd(d), p, b, n); }

static uint8_t a_dtype(unsigned char t)
{
	switch (t) {
	case DT_FIFO: return ANYK_DT_FIFO;
	case DT_CHR: return ANYK_DT_CHR;
	case DT_DIR: return ANYK_DT_DIR;
	case DT_BLK: return ANYK_DT_BLK;
	case DT_REG: return ANYK_DT_REG;
	case DT_LNK: return ANYK_DT_LNK;
	case DT_SOCK: return ANYK_DT_SOCK;
	}
	return ANYK_DT_UNKNOWN;
}

/* The kernel's getdents64 records, rewritten field by field as anyk's. */
static anyk_ssize_t h_getdents(int fd, void *buf, size_t n)
{
	char tmp[65536];
	long got, pos = 0;
	size_t out = 0;

	if (n > sizeof(tmp))
		n = sizeof(tmp);
	got = syscall(SYS_getdents64, fd, tmp, n);
	if (got <= 0)
		return got;
	while (pos < got) {
		uint64_t ino;
		int64_t off;
		uint16_t reclen;
		uint8_t type;
		const char *name = tmp + pos + 19;
		size_t len = strlen(name);
		size_t alen = (offsetof(struct anyk_dirent, d_name) + len + 1 + 7) & ~(size_t)7;
		struct anyk_dirent *d = (struct anyk_dirent *)((char *)buf + out);

		memcpy(&ino, tmp + pos, 8);
		memcpy(&off, tmp + pos + 8, 8);
		memcpy(&reclen, tmp + pos + 16, 2);
		memcpy(&type, tmp + pos + 18, 1);
		if (out + alen > n) { /* cannot happen: anyk records are no larger */
			errno = EINVAL;
			return -1;
		}
		memset(d, 0, alen);
		d->d_ino = ino;
		d->d_off = off;
		d->d_reclen = (uint16_t)alen;
		d->d_type = a_dtype(type);
		memcpy(d->d_name, name, len + 1);
		out += alen;
		pos += reclen;
	}
	return (anyk_ssize_t)out;
}

static int h_chmod(const char *p, anyk_mode_t m) { return chmod(p, h_mode(m)); }
static int h_fchmod(int fd, anyk_mode_t m) { return fchmod(fd, h_mode(m)); }
static int h_fchmodat(int d, const char *p, anyk_mode_t m, int f) { return fchmodat(h_dirfd(d), p, h_mode(m), h_atflags(f, 0)); }
static int h_chown(const char *p, anyk_uid_t u, anyk_gid_t g) { return chown(p, u, g); }
static int h_fchown(int fd, anyk_uid_t u, anyk_gid_t g) { return fchown(fd, u, g); }
static int h_lchown(const char *p, anyk_uid_t u, anyk_gid_t g) { return lchown(p, u, g); }
static int h_fchownat(int d, const char *p, anyk_uid_t u, anyk_gid_t g, int f) { return fchownat(h_dirfd(d), p, u, g, h_atflags(f, 0)); }

static int h_utimensat(int d, const char *p, const struct anyk_timespec *t, int f)
{
	struct timespec h[2];

	if (t)
		h_times(h, t);
	return utimensat(h_dirfd(d), p, t ? h : NULL, h_atflags(f, 0));
}
static int h_futimens(int fd, const struct anyk_timespec *t)
{
	struct timespec h[2];

	if (t)
		h_times(h, t);
	return futimens(fd, t ? h : NULL);
}
static int h_truncate(const char *p, anyk_off_t l) { return truncate(p, (off_t)l); }
static int h_ftruncate(int fd, anyk_off_t l) { return ftruncate(fd, (off_t)l); }
static int h_fsync(int fd) { return fsync(fd); }
static int h_fdatasync(int fd) { return fdatasync(fd); }
static int h_chdir(const char *p) { return chdir(p); }
static int h_fchdir(int fd) { return fchdir(fd); }
static char *h_getcwd(char *b, size_t n) { return getcwd(b, n); }
static int h_dup(int fd) { return dup(fd); }
static int h_dup2(int a, int b) { return dup2(a, b); }
static int h_dup3(int a, int b, int f) { return dup3(a, b, h_oflags(f)); }

static int h_fcntl(int fd, int cmd, long arg)
{
	int r;

	switch (cmd) {
	case ANYK_F_DUPFD: return fcntl(fd, F_DUPFD, (int)arg);
	case ANYK_F_DUPFD_CLOEXEC: return fcntl(fd, F_DUPFD_CLOEXEC, (int)arg);
	case ANYK_F_GETFD:
		r = fcntl(fd, F_GETFD);
		return r < 0 ? r : ((r & FD_CLOEXEC) ? ANYK_FD_CLOEXEC : 0);
	case ANYK_F_SETFD:
		return fcntl(fd, F_SETFD, (arg & ANYK_FD_CLOEXEC) ? FD_CLOEXEC : 0);
	case ANYK_F_GETFL:
		r = fcntl(fd, F_GETFL);
		return r < 0 ? r : a_oflags(r);
	case ANYK_F_SETFL: return fcntl(fd, F_SETFL, h_oflags((int)arg));
	}
	return fcntl(fd, cmd, arg);
}
static int h_pipe(int *fds) { return pipe(fds); }
static int h_pipe2(int *fds, int f) { return pipe2(fds, h_oflags(f)); }
static int h_mknod(const char *p, anyk_mode_t m, anyk_dev_t d)
{
	return mknod(p, h_mode(m), makedev(ANYK_MAJOR(d), ANYK_MINOR(d)));
}
static anyk_mode_t h_umask(anyk_mode_t m) { return a_mode(umask(h_mode(m))); }
static int h_statvfs(const char *p, struct anyk_statvfs *a)
{
	struct statvfs h;
	int r = statvfs(p, &h);
	if (r == 0)
		a_statvfs(a, &h);
	return r;
}
static int h_fstatvfs(int fd, struct anyk_statvfs *a)
{
	struct statvfs h;
	int r = fstatvfs(fd, &h);
	if (r == 0)
		a_statvfs(a, &h);
	return r;
}
static int h_mount(const char *s, const char *t, const char *type, unsigned long f, const char *o)
{
	return mount(s, t, type, (f & ANYK_MNT_RDONLY) ? MS_RDONLY : 0, o);
}
static int h_unmount(const char *t, int f) { return umount2(t, (f & ANYK_MNT_DETACH) ? MNT_DETACH : 0); }
static anyk_pid_t h_getpid(void) { return getpid(); }
static anyk_uid_t h_getuid(void) { return getuid(); }
static anyk_uid_t h_geteuid(void) { return geteuid(); }
static anyk_gid_t h_getgid(void) { return getgid(); }
static anyk_gid_t h_getegid(void) { return getegid(); }
static int h_setuid(anyk_uid_t u) { return setuid(u); }
static int h_setgid(anyk_gid_t g) { return setgid(g); }
static int h_setgroups(size_t n, const anyk_gid_t *g)
{
	gid_t h[ANYK_NGROUPS_MAX + 1];
	size_t i;

	if (n > ANYK_NGROUPS_MAX + 1)
		n = ANYK_NGROUPS_MAX + 1;
	for (i = 0; i < n; i++)
		h[i] = g[i];
	return setgroups(n, h);
}
static int h_getgroups(int n, anyk_gid_t *g)
{
	gid_t h[256];
	int i, r;

	if (n > 256)
		n = 256;
	r = getgroups(n, h);
	for (i = 0; i < r && n > 0; i++)
		g[i] = h[i];
	return r;
}

static const struct sysops host_ops = {
	"host", 0,
	h_open, h_openat, h_close, h_read, h_write, h_pread, h_pwrite,
	h_readv, h_writev, h_lseek, h_stat, h_lstat, h_fstat, h_fstatat,
	h_access, h_faccessat, h_mkdir, h_mkdirat, h_rmdir, h_unlink,
	h_unlinkat, h_rename, h_renameat, h_link, h_linkat, h_symlink,
	h_symlinkat, h_readlink, h_readlinkat, h_getdents, h_chmod, h_fchmod,
	h_fchmodat, h_chown, h_fchown, h_lchown, h_fchownat, h_utimensat,
	h_futimens, h_truncate, h_ftruncate, h_fsync, h_fdatasync, h_chdir,
	h_fchdir, h_getcwd, h_dup, h_dup2, h_dup3, h_fcntl, h_pipe, h_pipe2,
	h_mknod, h_umask, h_statvfs, h_fstatvfs, h_mount, h_unmount,
	h_getpid, h_getuid, h_geteuid, h_getgid, h_getegid, h_setuid,
	h_setgid, h_setgroups, h_getgroups, h_renameat2, h_fallocate,
	h_chflags, h_getflags,
};

#endif
