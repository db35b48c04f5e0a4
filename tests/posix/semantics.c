/*
 * POSIX semantics suite: the return value and errno of every system call's
 * success and failure cases, run twice through one table of operations
 * (sysops.h): once against anyk, once against the host's Linux kernel on a
 * private tmpfs. The host run proves the expectations; the anyk run proves
 * the kernel. Lines start "anyk: " or "host: " so a failure says which.
 *
 * Where anyk deliberately differs from Linux the assertion runs for anyk
 * only and its text says why.
 */
#include "../harness.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "sysops.h"

static const struct sysops *S;
static char BASE[512]; /* absolute path of the run's top directory */
static int can_mount;  /* this run can mount a second tmpfs (EXDEV) */
static int private_fs; /* nobody else uses this file system: counts are exact */

/* --- assertion helpers ---------------------------------------------------- */

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	return n ? n : "?";
}

static void vck(int line, long got, int goterr, long want, int wanterr,
		const char *fmt, va_list ap)
{
	char what[512];
	int pass;

	vsnprintf(what, sizeof(what), fmt, ap);
	if (wanterr)
		pass = got == -1 && goterr == wanterr;
	else
		pass = got == want;
	if (wanterr)
		T_OK(pass, "%s: %s (want -1 %s, got %ld %s) [line %d]", S->name, what,
		     ename(wanterr), got, got == -1 ? ename(goterr) : "", line);
	else
		T_OK(pass, "%s: %s (want %ld, got %ld%s%s) [line %d]", S->name, what,
		     want, got, got == -1 ? " " : "", got == -1 ? ename(goterr) : "",
		     line);
}

static void ck(int line, long got, int goterr, long want, int wanterr,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vck(line, got, goterr, want, wanterr, fmt, ap);
	va_end(ap);
}

static void tru(int line, int cond, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	T_OK(cond, "%s: %s [line %d]", S->name, what, line);
}

/* The call fails with errno e. */
#define ERR(call, e, ...)                                                      \
	do {                                                                   \
		long r_;                                                       \
		errno = 0;                                                     \
		r_ = (long)(call);                                             \
		ck(__LINE__, r_, errno, -1, e, __VA_ARGS__);                   \
	} while (0)
/* The call returns want. */
#define IS(call, want, ...)                                                    \
	do {                                                                   \
		long r_;                                                       \
		errno = 0;                                                     \
		r_ = (long)(call);                                             \
		ck(__LINE__, r_, errno, (long)(want), 0, __VA_ARGS__);         \
	} while (0)
#define OK(call, ...) IS(call, 0, __VA_ARGS__)
#define TRUE(cond, ...) tru(__LINE__, (cond) ? 1 : 0, __VA_ARGS__)

/* --- small utilities ------------------------------------------------------ */

static int mkfile(const char *path, const char *data, anyk_mode_t mode)
{
	int fd = S->open(path, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_TRUNC, mode);
	size_t n = data ? strlen(data) : 0;

	if (fd < 0)
		return -1;
	if (n && S->write(fd, data, n) != (anyk_ssize_t)n) {
		S->close(fd);
		return -1;
	}
	return S->close(fd);
}

static struct anyk_stat st_of(const char *path)
{
	struct anyk_stat st;

	memset(&st, 0, sizeof(st));
	if (S->lstat(path, &st) != 0)
		memset(&st, 0, sizeof(st));
	return st;
}

static anyk_off_t size_of(const char *path) { return st_of(path).st_size; }
static uint64_t nlink_of(const char *path) { return st_of(path).st_nlink; }
static anyk_mode_t mode_of(const char *path) { return st_of(path).st_mode; }
static anyk_mode_t perm_of(const char *path) { return st_of(path).st_mode & 07777; }
static int exists(const char *path) { struct anyk_stat st; return S->lstat(path, &st) == 0; }

static int ts_cmp(struct anyk_timespec a, struct anyk_timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

/* Let the clock move past the file system's timestamp granularity. */
static void nap(void)
{
	struct timespec t = {0, 20 * 1000 * 1000};
	nanosleep(&t, NULL);
}

static int read_all(const char *path, char *buf, size_t n)
{
	int fd = S->open(path, ANYK_O_RDONLY, 0);
	anyk_ssize_t r;

	if (fd < 0)
		return -1;
	r = S->read(fd, buf, n - 1);
	S->close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return (int)r;
}

/* Each section works in a directory of its own under BASE. */
static void section(const char *name)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s", BASE, name);
	S->mkdir(p, 0755);
	if (S->chdir(p) != 0)
		T_OK(0, "%s: chdir to section %s", S->name, name);
}

/* --- open, openat, close --------------------------------------------------- */

static void t_open(void)
{
	int fd, fd2, dfd;
	char big[ANYK_PATH_MAX + 16];

	section("open");
	OK(mkfile("file", "hello", 0644), "create a file");
	OK(S->mkdir("dir", 0755), "mkdir dir");

	ERR(S->open("missing", ANYK_O_RDONLY, 0), ENOENT, "open missing file");
	ERR(S->open("", ANYK_O_RDONLY, 0), ENOENT, "open empty path");
	ERR(S->open("missing/x", ANYK_O_RDONLY, 0), ENOENT, "open under a missing dir");
	ERR(S->open("file/x", ANYK_O_RDONLY, 0), ENOTDIR, "open with a file as a directory component");
	ERR(S->open("file/", ANYK_O_RDONLY, 0), ENOTDIR, "open file with trailing slash");
	ERR(S->open("newf/", ANYK_O_CREAT | ANYK_O_WRONLY, 0644), EISDIR, "O_CREAT with trailing slash");
	ERR(S->open("dir", ANYK_O_WRONLY, 0), EISDIR, "open dir O_WRONLY");
	ERR(S->open("dir", ANYK_O_RDWR, 0), EISDIR, "open dir O_RDWR");
	ERR(S->open("dir", ANYK_O_RDWR | ANYK_O_CREAT, 0644), EISDIR, "open dir O_CREAT|O_RDWR");
	ERR(S->open("file", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0), ENOTDIR, "O_DIRECTORY on a file");
	ERR(S->open("dir", ANYK_O_CREAT | ANYK_O_DIRECTORY, 0644), EINVAL, "O_CREAT|O_DIRECTORY on a dir");
	ERR(S->open("nd", ANYK_O_CREAT | ANYK_O_DIRECTORY, 0644), EINVAL, "O_CREAT|O_DIRECTORY on a new name");
	TRUE(!exists("nd"), "O_CREAT|O_DIRECTORY created nothing");
	ERR(S->open("file", ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on existing file");
	ERR(S->open("dir", ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_RDONLY, 0644), EEXIST, "O_CREAT|O_EXCL on existing dir");

	fd = S->open("dir", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	TRUE(fd >= 0, "O_DIRECTORY on a dir opens it");
	OK(S->close(fd), "close it");
	ERR(S->close(fd), EBADF, "close twice");
	ERR(S->close(-1), EBADF, "close -1");
	ERR(S->close(1 << 20), EBADF, "close 1<<20");

	fd = S->open("new", ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_RDWR, 0600);
	TRUE(fd >= 0, "O_CREAT|O_EXCL on a new name");
	IS(S->write(fd, "abc", 3), 3, "write to the new file");
	OK(S->close(fd), "close new file");
	IS(mode_of("new"), ANYK_S_IFREG | 0600, "new file is regular with mode 0600");

	fd = S->open("new", ANYK_O_WRONLY | ANYK_O_TRUNC, 0);
	TRUE(fd >= 0, "open O_TRUNC");
	S->close(fd);
	IS(size_of("new"), 0, "O_TRUNC emptied the file");

	/* O_APPEND: every write goes to the end, whatever the offset. */
	fd = S->open("file", ANYK_O_WRONLY | ANYK_O_APPEND, 0);
	IS(S->lseek(fd, 0, ANYK_SEEK_SET), 0, "lseek to 0 on an O_APPEND fd");
	IS(S->write(fd, " world", 6), 6, "append write");
	IS(S->lseek(fd, 0, ANYK_SEEK_CUR), 11, "offset after O_APPEND write is the new end");
	S->close(fd);
	{
		char b[64];
		IS(read_all("file", b, sizeof(b)), 11, "file has both writes");
		TRUE(strcmp(b, "hello world") == 0, "O_APPEND data landed at the end");
	}

	/* O_CLOEXEC */
	fd = S->open("file", ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	IS(S->fcntl(fd, ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "O_CLOEXEC sets FD_CLOEXEC");
	fd2 = S->open("file", ANYK_O_RDONLY, 0);
	IS(S->fcntl(fd2, ANYK_F_GETFD, 0), 0, "without O_CLOEXEC FD_CLOEXEC is clear");
	IS(S->fcntl(fd2, ANYK_F_GETFL, 0) & ANYK_O_ACCMODE, ANYK_O_RDONLY, "F_GETFL shows O_RDONLY");
	S->close(fd);
	S->close(fd2);
	fd = S->open("file", ANYK_O_RDWR | ANYK_O_APPEND, 0);
	IS(S->fcntl(fd, ANYK_F_GETFL, 0) & (ANYK_O_ACCMODE | ANYK_O_APPEND), ANYK_O_RDWR | ANYK_O_APPEND,
	   "F_GETFL shows O_RDWR|O_APPEND");
	S->close(fd);

	/* lowest free descriptor */
	fd = S->open("file", ANYK_O_RDONLY, 0);
	fd2 = S->open("file", ANYK_O_RDONLY, 0);
	S->close(fd);
	IS(S->open("file", ANYK_O_RDONLY, 0), fd, "open reuses the lowest free descriptor");
	S->close(fd);
	S->close(fd2);

	/* openat */
	dfd = S->open("dir", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	fd = S->openat(dfd, "inner", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	TRUE(fd >= 0, "openat creates relative to dirfd");
	S->close(fd);
	TRUE(exists("dir/inner"), "openat file is in dir");
	fd = S->openat(ANYK_AT_FDCWD, "dir/inner", ANYK_O_RDONLY, 0);
	TRUE(fd >= 0, "openat AT_FDCWD");
	S->close(fd);
	fd = S->open("file", ANYK_O_RDONLY, 0);
	ERR(S->openat(fd, "x", ANYK_O_RDONLY, 0), ENOTDIR, "openat with a file as dirfd");
	S->close(fd);
	ERR(S->openat(-1, "x", ANYK_O_RDONLY, 0), EBADF, "openat with dirfd -1");
	ERR(S->openat(1 << 20, "x", ANYK_O_RDONLY, 0), EBADF, "openat with dirfd 1<<20");
	{
		char abs[600];
		snprintf(abs, sizeof(abs), "%s/open/file", BASE);
		fd = S->openat(-1, abs, ANYK_O_RDONLY, 0);
		TRUE(fd >= 0, "openat ignores dirfd for an absolute path");
		S->close(fd);
	}
	S->close(dfd);

	/* ENAMETOOLONG: NAME_MAX+1 in a component, PATH_MAX for the whole */
	memset(big, 'a', sizeof(big));
	big[ANYK_NAME_MAX] = 0;
	fd = S->open(big, ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	TRUE(fd >= 0, "create a NAME_MAX-byte name");
	S->close(fd);
	OK(S->unlink(big), "unlink the NAME_MAX-byte name");
	big[ANYK_NAME_MAX] = 'a';
	big[ANYK_NAME_MAX + 1] = 0;
	ERR(S->open(big, ANYK_O_CREAT | ANYK_O_WRONLY, 0644), ENAMETOOLONG, "create a NAME_MAX+1 name");
	ERR(S->open(big, ANYK_O_RDONLY, 0), ENAMETOOLONG, "open a NAME_MAX+1 name");
	ERR(S->mkdir(big, 0755), ENAMETOOLONG, "mkdir a NAME_MAX+1 name");
	{
		struct anyk_stat st;
		ERR(S->stat(big, &st), ENAMETOOLONG, "stat a NAME_MAX+1 name");
		/* ".//" + "./" * 2044 + "file" is PATH_MAX-1 bytes that resolve to
		 * "file"; one more slash makes PATH_MAX bytes, too long. */
		int i, n = 0;
		memcpy(big, ".//", 3);
		n = 3;
		for (i = 0; i < (ANYK_PATH_MAX - 1 - 3 - 4) / 2; i++, n += 2)
			memcpy(big + n, "./", 2);
		memcpy(big + n, "file", 5);
		TRUE(strlen(big) == ANYK_PATH_MAX - 1, "built a path of PATH_MAX-1 bytes");
		OK(S->stat(big, &st), "stat a path of PATH_MAX-1 bytes");
		memmove(big + 1, big, strlen(big) + 1);
		big[1] = '/';
		TRUE(strlen(big) == ANYK_PATH_MAX, "built a path of PATH_MAX bytes");
		ERR(S->stat(big, &st), ENAMETOOLONG, "stat a path of PATH_MAX bytes");
		ERR(S->open(big, ANYK_O_RDONLY, 0), ENAMETOOLONG, "open a path of PATH_MAX bytes");
	}

	/* bad flags: Linux's open() ignores unknown bits; anyk refuses them */
	if (S->is_anyk)
		ERR(S->open("file", ANYK_O_RDONLY | 0x40000000, 0), EINVAL,
		    "open with an unknown flag bit (anyk checks every argument; Linux ignores unknown open flags)");
}

/* --- read, write, pread, pwrite, readv, writev, lseek ------------------- */

static void t_rw(void)
{
	int fd, ro, wo, i;
	char b[256];
	struct anyk_iovec iov[ANYK_IOV_MAX + 1];
	char x1[4] = "abc", x2[8] = "defghij";

	section("rw");
	OK(mkfile("f", "0123456789", 0644), "create f");
	ro = S->open("f", ANYK_O_RDONLY, 0);
	wo = S->open("f", ANYK_O_WRONLY, 0);
	ERR(S->write(ro, "x", 1), EBADF, "write to an O_RDONLY fd");
	ERR(S->read(wo, b, 1), EBADF, "read from an O_WRONLY fd");
	ERR(S->pwrite(ro, "x", 1, 0), EBADF, "pwrite to an O_RDONLY fd");
	ERR(S->pread(wo, b, 1, 0), EBADF, "pread from an O_WRONLY fd");
	ERR(S->read(-1, b, 1), EBADF, "read fd -1");
	ERR(S->write(-1, b, 1), EBADF, "write fd -1");
	ERR(S->read(1 << 20, b, 1), EBADF, "read fd 1<<20");
	ERR(S->write(1 << 20, b, 1), EBADF, "write fd 1<<20");
	ERR(S->lseek(-1, 0, ANYK_SEEK_SET), EBADF, "lseek fd -1");
	IS(S->read(ro, b, 4), 4, "read 4 bytes");
	TRUE(memcmp(b, "0123", 4) == 0, "read the first 4 bytes");
	IS(S->lseek(ro, 0, ANYK_SEEK_CUR), 4, "offset advanced to 4");
	IS(S->pread(ro, b, 3, 7), 3, "pread 3 at 7");
	TRUE(memcmp(b, "789", 3) == 0, "pread got 789");
	IS(S->lseek(ro, 0, ANYK_SEEK_CUR), 4, "pread left the offset alone");
	IS(S->pread(ro, b, 10, 20), 0, "pread past EOF returns 0");
	IS(S->read(wo, b, 0) , -1, "zero-length read from O_WRONLY is still EBADF");
	IS(S->write(wo, b, 0), 0, "zero-length write returns 0");
	ERR(S->pread(ro, b, 1, -1), EINVAL, "pread at a negative offset");
	ERR(S->pwrite(wo, "x", 1, -1), EINVAL, "pwrite at a negative offset");
	ERR(S->lseek(ro, -1, ANYK_SEEK_SET), EINVAL, "lseek to -1");
	ERR(S->lseek(ro, -100, ANYK_SEEK_END), EINVAL, "lseek before start from END");
	ERR(S->lseek(ro, 0, 99), EINVAL, "lseek with bad whence");
	IS(S->lseek(ro, 100, ANYK_SEEK_SET), 100, "lseek past EOF is allowed");
	IS(S->read(ro, b, 10), 0, "read at offset past EOF returns 0");
	IS(S->lseek(ro, -2, ANYK_SEEK_END), 8, "lseek from END");
	IS(S->pwrite(wo, "AB", 2, 2), 2, "pwrite 2 at 2");
	IS(S->pread(ro, b, 10, 0), 10, "pread whole file");
	TRUE(memcmp(b, "01AB456789", 10) == 0, "pwrite data is visible through another fd");
	IS(S->lseek(wo, 0, ANYK_SEEK_CUR), 0, "pwrite left the offset alone");

	/* readv/writev */
	iov[0].iov_base = x1;
	iov[0].iov_len = 3;
	iov[1].iov_base = x2;
	iov[1].iov_len = 7;
	IS(S->writev(wo, iov, 2), 10, "writev of two buffers");
	memset(b, 0, sizeof(b));
	iov[0].iov_base = b;
	iov[0].iov_len = 4;
	iov[1].iov_base = b + 100;
	iov[1].iov_len = 50;
	IS(S->lseek(ro, 0, ANYK_SEEK_SET), 0, "rewind");
	IS(S->readv(ro, iov, 2), 10, "readv gathers 10 bytes");
	TRUE(memcmp(b, "abcd", 4) == 0 && memcmp(b + 100, "efghij", 6) == 0, "readv scattered the bytes in order");
	ERR(S->readv(ro, iov, -1), EINVAL, "readv with a negative count");
	ERR(S->writev(wo, iov, -1), EINVAL, "writev with a negative count");
	for (i = 0; i <= ANYK_IOV_MAX; i++) {
		iov[i].iov_base = b;
		iov[i].iov_len = 1;
	}
	ERR(S->readv(ro, iov, ANYK_IOV_MAX + 1), EINVAL, "readv with IOV_MAX+1 buffers");
	ERR(S->writev(wo, iov, ANYK_IOV_MAX + 1), EINVAL, "writev with IOV_MAX+1 buffers");
	IS(S->readv(ro, iov, 0), 0, "readv with no buffers returns 0");
	ERR(S->readv(-1, iov, 1), EBADF, "readv fd -1");
	ERR(S->writev(ro, iov, 1), EBADF, "writev to an O_RDONLY fd");
	S->close(ro);
	S->close(wo);

	/* reading a directory */
	S->mkdir("d", 0755);
	fd = S->open("d", ANYK_O_RDONLY, 0);
	ERR(S->read(fd, b, 10), EISDIR, "read from a directory fd");
	ERR(S->pread(fd, b, 10, 0), EISDIR, "pread from a directory fd");
	ERR(S->write(fd, b, 1), EBADF, "write to a directory fd (opened read-only)");
	S->close(fd);

	/* truncate/ftruncate */
	fd = S->open("f", ANYK_O_RDWR, 0);
	OK(S->ftruncate(fd, 3), "ftruncate shrinks");
	IS(size_of("f"), 3, "size after shrink");
	OK(S->ftruncate(fd, 8), "ftruncate grows");
	IS(S->pread(fd, b, 16, 0), 8, "read the grown file");
	TRUE(memcmp(b, "abc\0\0\0\0\0", 8) == 0, "grown part reads as zeros");
	ERR(S->ftruncate(fd, -1), EINVAL, "ftruncate to a negative length");
	S->close(fd);
	OK(S->truncate("f", 5), "truncate by path");
	IS(size_of("f"), 5, "size after truncate");
	ERR(S->truncate("f", -1), EINVAL, "truncate to a negative length");
	ERR(S->truncate("d", 0), EISDIR, "truncate a directory");
	ERR(S->truncate("nope", 0), ENOENT, "truncate a missing file");
	fd = S->open("f", ANYK_O_RDONLY, 0);
	ERR(S->ftruncate(fd, 0), EINVAL, "ftruncate an O_RDONLY fd (Linux: EINVAL)");
	S->close(fd);
	ERR(S->ftruncate(-1, 0), EBADF, "ftruncate fd -1");

	/* fsync/fdatasync */
	fd = S->open("f", ANYK_O_RDWR, 0);
	OK(S->fsync(fd), "fsync a file");
	OK(S->fdatasync(fd), "fdatasync a file");
	S->close(fd);
	ERR(S->fsync(-1), EBADF, "fsync fd -1");
	ERR(S->fdatasync(1 << 20), EBADF, "fdatasync fd 1<<20");
}

/* --- sparse files, SEEK_DATA and SEEK_HOLE --------------------------------- */

static void t_sparse(void)
{
	int fd, i, zero = 1;
	static char b[65536];
	struct anyk_stat st;
	const anyk_off_t at = 1 << 20;

	section("sparse");
	fd = S->open("s", ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	memset(b, 'x', 4096);
	IS(S->pwrite(fd, b, 4096, at), 4096, "write 4 KiB at 1 MiB");
	OK(S->fstat(fd, &st), "fstat sparse file");
	IS(st.st_size, at + 4096, "size is 1 MiB + 4 KiB");
	TRUE(st.st_blocks * 512 < st.st_size, "st_blocks (%lld) covers less than the size", (long long)st.st_blocks);
	TRUE(st.st_blocks > 0, "st_blocks counts the written block");
	IS(S->pread(fd, b, sizeof(b), 4096), (anyk_ssize_t)sizeof(b), "read inside the hole");
	for (i = 0; i < (int)sizeof(b); i++)
		if (b[i] != 0)
			zero = 0;
	TRUE(zero, "the hole reads as zeros");
	IS(S->pread(fd, b, 10, at - 5), 10, "read across the hole's end");
	TRUE(memcmp(b, "\0\0\0\0\0xxxxx", 10) == 0, "zeros then data");
	IS(S->lseek(fd, 0, ANYK_SEEK_DATA), at, "SEEK_DATA from 0 finds the data");
	IS(S->lseek(fd, 0, ANYK_SEEK_HOLE), 0, "SEEK_HOLE from 0 is 0");
	IS(S->lseek(fd, at, ANYK_SEEK_HOLE), at + 4096, "SEEK_HOLE in the data is the end of file");
	IS(S->lseek(fd, at + 100, ANYK_SEEK_DATA), at + 100, "SEEK_DATA inside data stays");
	ERR(S->lseek(fd, at + 4096, ANYK_SEEK_DATA), ENXIO, "SEEK_DATA at EOF");
	ERR(S->lseek(fd, at + 4096, ANYK_SEEK_HOLE), ENXIO, "SEEK_HOLE at EOF");
	ERR(S->lseek(fd, at * 4, ANYK_SEEK_DATA), ENXIO, "SEEK_DATA past EOF");
	ERR(S->lseek(fd, -1, ANYK_SEEK_DATA), ENXIO, "SEEK_DATA at a negative offset");
	/* a file that is all hole */
	OK(S->ftruncate(fd, 0), "truncate to 0");
	OK(S->ftruncate(fd, at), "extend to 1 MiB by ftruncate");
	ERR(S->lseek(fd, 0, ANYK_SEEK_DATA), ENXIO, "SEEK_DATA in an all-hole file");
	IS(S->lseek(fd, 10, ANYK_SEEK_HOLE), 10, "SEEK_HOLE in an all-hole file");
	OK(S->fstat(fd, &st), "fstat all-hole file");
	IS(st.st_blocks, 0, "an all-hole file has no blocks");
	/* write past EOF through the offset */
	IS(S->lseek(fd, at + 10, ANYK_SEEK_SET), at + 10, "seek past EOF");
	IS(S->write(fd, "z", 1), 1, "write past EOF");
	IS(S->fstat(fd, &st) == 0 ? st.st_size : -1, at + 11, "size grew to the write's end");
	IS(S->pread(fd, b, 11, at), 11, "read the gap and the byte");
	TRUE(memcmp(b, "\0\0\0\0\0\0\0\0\0\0z", 11) == 0, "gap is zeros, byte is there");
	S->close(fd);
	fd = S->open("s", ANYK_O_RDWR, 0);
	IS(S->pwrite(fd, "q", 1, at * 2), 1, "pwrite far past EOF");
	IS(S->lseek(fd, 0, ANYK_SEEK_END), at * 2 + 1, "SEEK_END after a far write");
	S->close(fd);
}

/* --- stat family, access, chmod and chown as root, umask, mknod ---------- */

static void t_stat(void)
{
	struct anyk_stat st, st2;
	int fd;
	anyk_mode_t old;

	section("stat");
	OK(mkfile("f", "abcdef", 0644), "create f");
	OK(S->symlink("f", "l"), "symlink l -> f");
	OK(S->stat("f", &st), "stat f");
	TRUE(ANYK_S_ISREG(st.st_mode), "f is regular");
	IS(st.st_size, 6, "size of f");
	IS(st.st_nlink, 1, "nlink of f");
	TRUE(st.st_ino != 0, "inode number set");
	TRUE(st.st_blksize > 0, "st_blksize set");
	IS(st.st_uid, 0, "owner is root");
	OK(S->stat("l", &st2), "stat follows the link");
	TRUE(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "stat through link is f");
	OK(S->lstat("l", &st2), "lstat the link");
	TRUE(ANYK_S_ISLNK(st2.st_mode), "lstat sees a symlink");
	IS(st2.st_size, 1, "a symlink's size is its target's length");
	OK(S->fstatat(ANYK_AT_FDCWD, "l", &st2, ANYK_AT_SYMLINK_NOFOLLOW), "fstatat AT_SYMLINK_NOFOLLOW");
	TRUE(ANYK_S_ISLNK(st2.st_mode), "fstatat nofollow sees the link");
	OK(S->fstatat(ANYK_AT_FDCWD, "l", &st2, 0), "fstatat follows");
	TRUE(st2.st_ino == st.st_ino, "fstatat follow sees f");
	ERR(S->fstatat(ANYK_AT_FDCWD, "f", &st2, 0x8000000), EINVAL, "fstatat with a bad flag");
	ERR(S->stat("nope", &st2), ENOENT, "stat missing");
	ERR(S->stat("", &st2), ENOENT, "stat empty path");
	ERR(S->stat("f/x", &st2), ENOTDIR, "stat through a file");
	ERR(S->stat("f/", &st2), ENOTDIR, "stat file with trailing slash");
	ERR(S->lstat("l/", &st2), ENOTDIR, "lstat link-to-file with trailing slash");
	ERR(S->fstat(-1, &st2), EBADF, "fstat -1");
	ERR(S->fstat(1 << 20, &st2), EBADF, "fstat 1<<20");
	fd = S->open("f", ANYK_O_RDONLY, 0);
	OK(S->fstat(fd, &st2), "fstat f");
	TRUE(st2.st_ino == st.st_ino, "fstat agrees with stat");
	OK(S->fstatat(fd, "", &st2, ANYK_AT_EMPTY_PATH), "fstatat AT_EMPTY_PATH on a fd");
	TRUE(st2.st_ino == st.st_ino, "AT_EMPTY_PATH stats the fd");
	ERR(S->fstatat(fd, "", &st2, 0), ENOENT, "fstatat empty path without AT_EMPTY_PATH");
	ERR(S->fstatat(fd, "x", &st2, 0), ENOTDIR, "fstatat relative to a file fd");
	S->close(fd);
	ERR(S->fstatat(-1, "f", &st2, 0), EBADF, "fstatat with dirfd -1");

	/* access */
	OK(S->access("f", ANYK_F_OK), "access F_OK");
	OK(S->access("f", ANYK_R_OK | ANYK_W_OK), "access R_OK|W_OK as root");
	ERR(S->access("f", ANYK_X_OK), EACCES, "root X_OK on a file with no x bit");
	OK(S->access(".", ANYK_X_OK), "root X_OK on a directory");
	ERR(S->access("nope", ANYK_F_OK), ENOENT, "access missing");
	ERR(S->access("f", 8), EINVAL, "access with a bad mode");
	ERR(S->faccessat(ANYK_AT_FDCWD, "f", ANYK_R_OK, 0x8000000), EINVAL, "faccessat with a bad flag");
	OK(S->faccessat(ANYK_AT_FDCWD, "f", ANYK_R_OK, ANYK_AT_EACCESS), "faccessat AT_EACCESS as root");
	OK(S->faccessat(ANYK_AT_FDCWD, "l", ANYK_R_OK, ANYK_AT_SYMLINK_NOFOLLOW), "faccessat AT_SYMLINK_NOFOLLOW on a link");

	/* chmod as root */
	OK(S->chmod("f", 0600), "chmod 0600");
	IS(mode_of("f"), ANYK_S_IFREG | 0600, "chmod keeps the type");
	OK(S->chmod("l", 0640), "chmod through a symlink");
	IS(perm_of("f"), 0640, "chmod followed the link");
	TRUE(ANYK_S_ISLNK(mode_of("l")), "link stays a link");
	OK(S->chmod("f", 07777), "chmod all bits");
	IS(perm_of("f"), 07777, "all 12 bits kept");
	OK(S->fchmodat(ANYK_AT_FDCWD, "f", 0644, 0), "fchmodat");
	IS(perm_of("f"), 0644, "fchmodat set 0644");
	ERR(S->fchmodat(ANYK_AT_FDCWD, "f", 0644, 0x8000000), EINVAL, "fchmodat with a bad flag");
	ERR(S->chmod("nope", 0644), ENOENT, "chmod missing");
	ERR(S->fchmod(-1, 0644), EBADF, "fchmod -1");
	fd = S->open("f", ANYK_O_RDONLY, 0);
	OK(S->fchmod(fd, 0604), "fchmod on a read-only fd");
	IS(perm_of("f"), 0604, "fchmod applied");
	S->close(fd);

	/* chown as root */
	OK(S->chown("f", 1000, 2000), "chown to 1000:2000");
	st = st_of("f");
	TRUE(st.st_uid == 1000 && st.st_gid == 2000, "owner is 1000:2000");
	OK(S->chown("f", (anyk_uid_t)-1, 3000), "chown group only");
	st = st_of("f");
	TRUE(st.st_uid == 1000 && st.st_gid == 3000, "-1 left the owner alone");
	OK(S->lchown("l", 1234, 1234), "lchown the link");
	st = st_of("l");
	TRUE(st.st_uid == 1234, "lchown changed the link");
	TRUE(st_of("f").st_uid == 1000, "lchown left the target alone");
	OK(S->fchownat(ANYK_AT_FDCWD, "l", 0, 0, ANYK_AT_SYMLINK_NOFOLLOW), "fchownat nofollow");
	IS(st_of("l").st_uid, 0, "fchownat nofollow changed the link");
	ERR(S->fchownat(ANYK_AT_FDCWD, "f", 0, 0, 0x8000000), EINVAL, "fchownat with a bad flag");
	ERR(S->fchown(-1, 0, 0), EBADF, "fchown -1");
	ERR(S->chown("nope", 0, 0), ENOENT, "chown missing");
	OK(S->chmod("f", 06755), "chmod 06755");
	OK(S->chown("f", 1000, 1000), "root chown of a setuid/setgid file");
	IS(perm_of("f"), 0755, "chown cleared setuid and setgid (group-executable)");
	OK(S->chmod("f", 02745), "chmod 02745 (setgid without group x)");
	OK(S->chown("f", 0, 0), "root chown of a setgid non-group-exec file");
	IS(perm_of("f"), 02745, "setgid without group x is kept (mandatory-lock marker)");
	/* Root may keep the bits through a write (CAP_FSETID on Linux). */
	OK(S->chmod("f", 06755), "chmod 06755 again");
	fd = S->open("f", ANYK_O_WRONLY, 0);
	TRUE(fd >= 0, "root opens the setuid file");
	IS(S->write(fd, "z", 1), 1, "root writes it");
	S->close(fd);
	IS(perm_of("f"), 06755, "a write by root keeps setuid and setgid");

	/* umask */
	old = S->umask(022);
	IS(S->umask(027), 022, "umask returns the previous mask");
	OK(mkfile("um", NULL, 0666), "create under umask 027");
	IS(perm_of("um"), 0640, "umask applied to a file");
	OK(S->mkdir("umd", 0777), "mkdir under umask 027");
	IS(perm_of("umd"), 0750, "umask applied to a directory");
	S->umask(0);
	OK(mkfile("um0", NULL, 0666), "create under umask 0");
	IS(perm_of("um0"), 0666, "umask 0 keeps all bits");
	S->umask(old);

	/* mknod */
	OK(S->mknod("fifo", ANYK_S_IFIFO | 0644, 0), "mknod a FIFO");
	TRUE(ANYK_S_ISFIFO(mode_of("fifo")), "it is a FIFO");
	ERR(S->mknod("fifo", ANYK_S_IFIFO | 0644, 0), EEXIST, "mknod over an existing name");
	OK(S->mknod("reg", ANYK_S_IFREG | 0644, 0), "mknod a regular file");
	TRUE(ANYK_S_ISREG(mode_of("reg")), "it is regular");
	OK(S->mknod("reg0", 0644, 0), "mknod with type 0 makes a regular file");
	TRUE(ANYK_S_ISREG(mode_of("reg0")), "type 0 is regular");
	ERR(S->mknod("mdir", ANYK_S_IFDIR | 0755, 0), EPERM, "mknod a directory");
	ERR(S->mknod("bad", 0170000 | 0644, 0), EINVAL, "mknod with a bad type");
	OK(S->mknod("chr", ANYK_S_IFCHR | 0600, ANYK_MAKEDEV(1, 3)), "root mknod a character device");
	st = st_of("chr");
	TRUE(ANYK_S_ISCHR(st.st_mode), "it is a character device");
	TRUE(ANYK_MAJOR(st.st_rdev) == 1 && ANYK_MINOR(st.st_rdev) == 3, "st_rdev is 1,3");
	fd = S->open("fifo", ANYK_O_RDONLY | ANYK_O_NONBLOCK, 0);
	TRUE(fd >= 0, "open a FIFO for reading without a writer (O_NONBLOCK)");
	S->close(fd);
	ERR(S->open("fifo", ANYK_O_WRONLY | ANYK_O_NONBLOCK, 0), ENXIO, "open a FIFO for writing without a reader (O_NONBLOCK)");
}

/* --- directories: mkdir, rmdir, unlink, nlink, trailing slashes, .. ------- */

static void t_dirs(void)
{
	struct anyk_stat st, st2;
	int fd;

	section("dirs");
	OK(S->mkdir("d", 0755), "mkdir d");
	st = st_of("d");
	TRUE(ANYK_S_ISDIR(st.st_mode), "d is a directory");
	IS(st.st_nlink, 2, "new dir has nlink 2");
	IS(perm_of("d"), 0755 & ~022, "mode 0755");
	OK(S->mkdir("d/a", 0755), "mkdir d/a");
	IS(nlink_of("d"), 3, "nlink 3 with one subdir");
	OK(S->mkdir("d/b/", 0755), "mkdir with a trailing slash");
	IS(nlink_of("d"), 4, "nlink 4 with two subdirs");
	OK(mkfile("d/f", "x", 0644), "a file in d");
	IS(nlink_of("d"), 4, "a file does not change the dir's nlink");
	ERR(S->mkdir("d", 0755), EEXIST, "mkdir existing");
	ERR(S->mkdir("d/", 0755), EEXIST, "mkdir existing with a slash");
	ERR(S->mkdir("d/f", 0755), EEXIST, "mkdir over a file");
	ERR(S->mkdir("d/f/", 0755), EEXIST, "mkdir over a file with a slash");
	ERR(S->mkdir("nope/x", 0755), ENOENT, "mkdir in a missing dir");
	ERR(S->mkdir("d/f/x", 0755), ENOTDIR, "mkdir under a file");
	ERR(S->mkdir("", 0755), ENOENT, "mkdir empty path");
	ERR(S->rmdir("d"), ENOTEMPTY, "rmdir a non-empty dir");
	ERR(S->rmdir("d/f"), ENOTDIR, "rmdir a file");
	ERR(S->rmdir("nope"), ENOENT, "rmdir missing");
	ERR(S->rmdir("."), EINVAL, "rmdir .");
	ERR(S->rmdir("d/."), EINVAL, "rmdir d/.");
	ERR(S->rmdir(".."), ENOTEMPTY, "rmdir .. (its parent is not empty)");
	ERR(S->unlink("d"), EISDIR, "unlink a directory (Linux: EISDIR)");
	ERR(S->unlink("d/f/"), ENOTDIR, "unlink a file with a trailing slash");
	ERR(S->unlink("nope"), ENOENT, "unlink missing");
	ERR(S->unlink(""), ENOENT, "unlink empty path");
	ERR(S->unlinkat(ANYK_AT_FDCWD, "d/f", ANYK_AT_REMOVEDIR), ENOTDIR, "unlinkat AT_REMOVEDIR on a file");
	ERR(S->unlinkat(ANYK_AT_FDCWD, "d/a", 0), EISDIR, "unlinkat without AT_REMOVEDIR on a dir");
	ERR(S->unlinkat(ANYK_AT_FDCWD, "d/f", 0x8000000), EINVAL, "unlinkat with a bad flag");
	OK(S->rmdir("d/a/"), "rmdir with a trailing slash");
	IS(nlink_of("d"), 3, "nlink back to 3");
	OK(S->unlinkat(ANYK_AT_FDCWD, "d/b", ANYK_AT_REMOVEDIR), "unlinkat AT_REMOVEDIR");
	IS(nlink_of("d"), 2, "nlink back to 2");
	fd = S->open("d", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	OK(S->unlinkat(fd, "f", 0), "unlinkat relative to a dir fd");
	ERR(S->unlinkat(-1, "f", 0), EBADF, "unlinkat with dirfd -1");
	OK(S->mkdirat(fd, "m", 0700), "mkdirat relative to a dir fd");
	IS(perm_of("d/m"), 0700, "mkdirat mode");
	ERR(S->mkdirat(-1, "m", 0700), EBADF, "mkdirat with dirfd -1");
	S->close(fd);
	OK(S->rmdir("d/m"), "rmdir d/m");
	OK(S->rmdir("d"), "rmdir empty d");
	TRUE(!exists("d"), "d is gone");

	/* .. at the root is the root */
	OK(S->stat("/", &st), "stat /");
	OK(S->stat("/..", &st2), "stat /..");
	TRUE(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "/.. is /");
	OK(S->stat("/../../..", &st2), "stat /../../..");
	TRUE(st.st_ino == st2.st_ino, "/../../.. is /");
	{
		char p[700];
		snprintf(p, sizeof(p), "/../..%s/dirs", BASE);
		OK(S->stat(p, &st2), "stat a path starting /../..");
		OK(S->stat(".", &st), "stat .");
		TRUE(st.st_ino == st2.st_ino, "/../..BASE is BASE");
	}
	OK(S->mkdir("x", 0755), "mkdir x");
	OK(S->mkdir("x/y", 0755), "mkdir x/y");
	OK(S->stat("x/y/..", &st), "stat x/y/..");
	TRUE(st.st_ino == st_of("x").st_ino, "x/y/.. is x");
	OK(S->stat("x/y/../y/./", &st), "stat x/y/../y/./");
	TRUE(st.st_ino == st_of("x/y").st_ino, "x/y/../y/./ is x/y");

	/* unlink of an open file keeps the data */
	OK(mkfile("open", "still here", 0644), "create open");
	fd = S->open("open", ANYK_O_RDWR, 0);
	OK(S->unlink("open"), "unlink the open file");
	TRUE(!exists("open"), "name is gone");
	{
		char b[32] = {0};
		IS(S->pread(fd, b, sizeof(b), 0), 10, "read the unlinked file");
		TRUE(strcmp(b, "still here") == 0, "data intact");
		IS(S->pwrite(fd, "!", 1, 10), 1, "write the unlinked file");
		OK(S->fstat(fd, &st), "fstat the unlinked file");
		IS(st.st_nlink, 0, "its nlink is 0");
		IS(st.st_size, 11, "its size grew");
	}
	S->close(fd);
}

/* --- symlinks ------------------------------------------------------------- */

static void t_symlinks(void)
{
	struct anyk_stat st;
	char b[64], nm[16], tg[16];
	int fd, i;

	section("sym");
	OK(S->mkdir("dir", 0755), "mkdir dir");
	OK(mkfile("file", "data", 0644), "create file");
	OK(S->symlink("dir", "sdir"), "symlink to a dir");
	OK(S->symlink("file", "sfile"), "symlink to a file");
	OK(S->symlink("nowhere", "dang"), "dangling symlink");
	OK(S->symlink("loop2", "loop1"), "loop1 -> loop2");
	OK(S->symlink("loop1", "loop2"), "loop2 -> loop1");
	OK(S->symlink("self", "self"), "self -> self");
	ERR(S->symlink("x", "file"), EEXIST, "symlink over an existing name");
	ERR(S->symlink("", "empty"), ENOENT, "symlink with an empty target");
	ERR(S->symlink("x", "nope/x"), ENOENT, "symlink in a missing dir");

	ERR(S->open("loop1", ANYK_O_RDONLY, 0), ELOOP, "open a two-link loop");
	ERR(S->stat("self", &st), ELOOP, "stat a self loop");
	ERR(S->open("loop1", ANYK_O_CREAT | ANYK_O_WRONLY, 0644), ELOOP, "O_CREAT through a loop");
	OK(S->lstat("loop1", &st), "lstat a loop link works");
	ERR(S->stat("loop1/x", &st), ELOOP, "loop in the middle of a path");
	ERR(S->open("sfile", ANYK_O_RDONLY | ANYK_O_NOFOLLOW, 0), ELOOP, "O_NOFOLLOW on a symlink");
	ERR(S->open("sdir", ANYK_O_RDONLY | ANYK_O_NOFOLLOW, 0), ELOOP, "O_NOFOLLOW on a symlink to a dir");
	fd = S->open("sdir/", ANYK_O_RDONLY | ANYK_O_NOFOLLOW, 0);
	TRUE(fd >= 0, "O_NOFOLLOW with a trailing slash follows the link to a dir");
	S->close(fd);
	fd = S->open("file", ANYK_O_RDONLY | ANYK_O_NOFOLLOW, 0);
	TRUE(fd >= 0, "O_NOFOLLOW on a plain file");
	S->close(fd);

	/* a chain of 40 links resolves, 41 do not */
	OK(S->symlink("file", "c0"), "chain start");
	for (i = 1; i <= 40; i++) {
		snprintf(nm, sizeof(nm), "c%d", i);
		snprintf(tg, sizeof(tg), "c%d", i - 1);
		S->symlink(tg, nm);
	}
	OK(S->stat("c39", &st), "40 links in a row resolve");
	ERR(S->stat("c40", &st), ELOOP, "41 links in a row are ELOOP");

	/* trailing slash on a link to a directory follows it */
	OK(S->stat("sdir/", &st), "stat sdir/");
	TRUE(ANYK_S_ISDIR(st.st_mode), "sdir/ is the directory");
	OK(S->lstat("sdir/", &st), "lstat sdir/");
	TRUE(ANYK_S_ISDIR(st.st_mode), "lstat with a trailing slash follows");
	OK(S->lstat("sdir", &st), "lstat sdir");
	TRUE(ANYK_S_ISLNK(st.st_mode), "lstat without the slash sees the link");
	ERR(S->stat("sfile/", &st), ENOTDIR, "link to a file with a trailing slash");
	ERR(S->unlink("sdir/"), ENOTDIR, "unlink sdir/ (Linux: ENOTDIR)");
	ERR(S->rmdir("sdir"), ENOTDIR, "rmdir a symlink to a dir");
	ERR(S->rmdir("sdir/"), ENOTDIR, "rmdir sdir/ (Linux: ENOTDIR)");
	OK(mkfile("sdir/in", "x", 0644), "create through a link to a dir");
	TRUE(exists("dir/in"), "the file is in dir");
	ERR(S->mkdir("sdir", 0755), EEXIST, "mkdir over a symlink");
	ERR(S->mkdir("dang", 0755), EEXIST, "mkdir over a dangling symlink");

	/* dangling link with O_CREAT creates the target */
	ERR(S->open("dang", ANYK_O_RDONLY, 0), ENOENT, "open a dangling link");
	ERR(S->open("dang", ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on a dangling link");
	fd = S->open("dang", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	TRUE(fd >= 0, "O_CREAT through a dangling link");
	S->close(fd);
	TRUE(exists("nowhere"), "it created the link's target");
	TRUE(ANYK_S_ISLNK(mode_of("dang")), "the link is still a link");

	/* readlink */
	IS(S->readlink("sfile", b, sizeof(b)), 4, "readlink returns the length");
	TRUE(memcmp(b, "file", 4) == 0, "readlink returns the target");
	IS(S->readlink("sfile", b, 2), 2, "readlink into a short buffer truncates");
	ERR(S->readlink("file", b, sizeof(b)), EINVAL, "readlink a regular file");
	ERR(S->readlink("nope", b, sizeof(b)), ENOENT, "readlink missing");
	ERR(S->readlink("sfile", b, 0), EINVAL, "readlink with size 0");
	ERR(S->readlink("sdir/", b, sizeof(b)), EINVAL, "readlink sdir/ (follows to the dir)");
	IS(S->readlinkat(ANYK_AT_FDCWD, "sdir", b, sizeof(b)), 3, "readlinkat");
	fd = S->open("dir", ANYK_O_RDONLY, 0);
	OK(S->symlinkat("../file", fd, "up"), "symlinkat relative to a dir fd");
	IS(S->readlinkat(fd, "up", b, sizeof(b)), 7, "readlinkat relative to a dir fd");
	OK(S->stat("dir/up", &st), "relative target resolves from the link's dir");
	TRUE(st.st_size == 4, "dir/up is file");
	ERR(S->symlinkat("x", -1, "y"), EBADF, "symlinkat with dirfd -1");
	S->close(fd);
	OK(S->symlink("/", "toroot"), "absolute symlink to /");
	OK(S->stat("toroot/..", &st), "stat through it");
	{
		struct anyk_stat r;
		S->stat("/", &r);
		TRUE(st.st_ino == r.st_ino, "toroot/.. is /");
	}
	/* utimensat/fchownat with AT_SYMLINK_NOFOLLOW act on the link */
	{
		struct anyk_timespec t[2] = {{100, 0}, {200, 0}};
		OK(S->utimensat(ANYK_AT_FDCWD, "sfile", t, ANYK_AT_SYMLINK_NOFOLLOW), "utimensat nofollow");
		OK(S->lstat("sfile", &st), "lstat sfile");
		IS(st.st_mtim.tv_sec, 200, "link's mtime set");
		TRUE(st_of("file").st_mtim.tv_sec != 200, "target's mtime untouched");
	}
}

/* --- rename --------------------------------------------------------------- */

static void t_rename(void)
{
	struct anyk_stat st, st2;
	int fd;

	section("ren");
	OK(mkfile("a", "A", 0644), "create a");
	OK(mkfile("b", "B", 0644), "create b");
	OK(S->mkdir("d", 0755), "mkdir d");
	OK(S->mkdir("e", 0755), "mkdir e");
	OK(S->mkdir("full", 0755), "mkdir full");
	OK(mkfile("full/x", "x", 0644), "create full/x");

	st = st_of("a");
	OK(S->rename("a", "a"), "rename onto itself");
	TRUE(st_of("a").st_ino == st.st_ino, "still there");
	OK(S->rename("d", "d"), "rename a dir onto itself");
	OK(S->link("a", "a2"), "hard link a2");
	OK(S->rename("a", "a2"), "rename between hard links of one inode");
	TRUE(exists("a") && exists("a2"), "both names remain (POSIX: no-op)");
	IS(nlink_of("a"), 2, "nlink still 2");
	OK(S->unlink("a2"), "drop a2");

	ERR(S->rename("a", "d"), EISDIR, "rename a file over a dir");
	ERR(S->rename("d", "a"), ENOTDIR, "rename a dir over a file");
	ERR(S->rename("e", "full"), ENOTEMPTY, "rename a dir over a non-empty dir");
	ERR(S->rename("d", "d/sub"), EINVAL, "rename a dir into itself");
	OK(S->mkdir("d/sub", 0755), "mkdir d/sub");
	ERR(S->rename("d", "d/sub/x"), EINVAL, "rename a dir into its own subdirectory");
	ERR(S->rename("d/sub", "d"), ENOTEMPTY, "rename a subdir over its non-empty parent");
	ERR(S->rename(".", "z"), EBUSY, "rename . (Linux: EBUSY)");
	ERR(S->rename("d/.", "z"), EBUSY, "rename d/. (Linux: EBUSY)");
	ERR(S->rename("d/..", "z"), EBUSY, "rename d/.. (Linux: EBUSY)");
	ERR(S->rename("a", "."), EBUSY, "rename onto . (Linux: EBUSY)");
	ERR(S->rename("a", "d/.."), EBUSY, "rename onto d/.. (Linux: EBUSY)");
	ERR(S->rename("nope", "z"), ENOENT, "rename missing");
	ERR(S->rename("a", "nope/z"), ENOENT, "rename into a missing dir");
	ERR(S->rename("a", "b/z"), ENOTDIR, "rename under a file");
	ERR(S->rename("a", "z/"), ENOTDIR, "rename a file to a name with a slash");
	ERR(S->rename("a/", "z"), ENOTDIR, "rename a file named with a slash");
	ERR(S->rename("", "z"), ENOENT, "rename empty source");
	ERR(S->rename("a", ""), ENOENT, "rename to empty target");

	/* the ordinary cases */
	st = st_of("a");
	nap();
	OK(S->rename("a", "b"), "rename a file over a file");
	TRUE(!exists("a"), "source gone");
	st2 = st_of("b");
	IS(st2.st_ino, st.st_ino, "target is the source inode");
	TRUE(ts_cmp(st2.st_ctim, st.st_ctim) > 0, "rename changed the file's ctime");
	{
		char buf[8];
		IS(read_all("b", buf, sizeof(buf)), 1, "read b");
		TRUE(buf[0] == 'A', "b has a's data");
	}
	OK(S->rename("e", "d/sub"), "rename a dir over an empty dir");
	TRUE(!exists("e") && ANYK_S_ISDIR(mode_of("d/sub")), "e replaced d/sub");
	IS(nlink_of("."), 2 + 2, "parent lost one subdir (d, full left)");
	IS(nlink_of("d"), 3, "d still has one subdir");
	OK(S->rename("d/sub", "moved/"), "rename a dir up with a trailing slash");
	IS(nlink_of("."), 2 + 3, "parent gained a subdir");
	IS(nlink_of("d"), 2, "d lost a subdir");
	OK(S->stat("moved/..", &st), "moved/.. resolves");
	TRUE(st.st_ino == st_of(".").st_ino, "moved dir's .. points to its new parent");
	OK(S->renameat(ANYK_AT_FDCWD, "b", ANYK_AT_FDCWD, "d/b"), "renameat across dirs");
	fd = S->open("d", ANYK_O_RDONLY, 0);
	OK(S->renameat(fd, "b", fd, "c"), "renameat relative to a dir fd");
	ERR(S->renameat(-1, "c", fd, "q"), EBADF, "renameat with fromfd -1");
	S->close(fd);
	TRUE(exists("d/c"), "d/c exists");
	OK(S->symlink("d", "sd"), "symlink sd -> d");
	OK(S->rename("sd", "sd2"), "rename a symlink renames the link");
	TRUE(ANYK_S_ISLNK(mode_of("sd2")) && ANYK_S_ISDIR(mode_of("d")), "the link moved, the dir stayed");
	/* rename within one directory keeps the data and the inode */
	fd = S->open("d/c", ANYK_O_RDONLY, 0);
	OK(S->rename("d/c", "d/c2"), "rename an open file");
	{
		char buf[4] = {0};
		IS(S->read(fd, buf, 1), 1, "open fd still reads");
	}
	S->close(fd);
}

/* --- renameat2 ------------------------------------------------------------ */

#define RN(a, b, f) S->renameat2(ANYK_AT_FDCWD, a, ANYK_AT_FDCWD, b, f)

static void t_renameat2(void)
{
	struct anyk_stat st, st2;
	char buf[8] = {0};

	section("ren2");
	OK(mkfile("a", "A", 0644), "create a");
	OK(mkfile("b", "B", 0644), "create b");
	OK(S->mkdir("p", 0755), "mkdir p");
	OK(S->mkdir("q", 0755), "mkdir q");
	OK(S->mkdir("p/d", 0755), "mkdir p/d");
	OK(S->mkdir("p/d/sub", 0755), "mkdir p/d/sub");
	OK(mkfile("q/f", "F", 0644), "create q/f");

	ERR(RN("a", "z", 8), EINVAL, "an unknown flag");
	ERR(RN("a", "b", ANYK_RENAME_EXCHANGE | ANYK_RENAME_NOREPLACE), EINVAL, "exchange with noreplace");
	ERR(RN("a", "b", ANYK_RENAME_EXCHANGE | ANYK_RENAME_WHITEOUT), EINVAL, "exchange with whiteout");

	/* RENAME_NOREPLACE */
	ERR(RN("a", "b", ANYK_RENAME_NOREPLACE), EEXIST, "noreplace onto a file");
	ERR(RN("a", "a", ANYK_RENAME_NOREPLACE), EEXIST, "noreplace onto itself");
	ERR(RN("a", "p", ANYK_RENAME_NOREPLACE), EEXIST, "noreplace a file onto a dir");
	ERR(RN("nope", "b", ANYK_RENAME_NOREPLACE), ENOENT, "noreplace from a missing name");
	OK(RN("a", "c", ANYK_RENAME_NOREPLACE), "noreplace to a new name");
	TRUE(!exists("a") && exists("c"), "c replaced a");
	OK(RN("c", "a", 0), "flags 0 is rename");

	/* RENAME_EXCHANGE */
	ERR(RN("a", "nope", ANYK_RENAME_EXCHANGE), ENOENT, "exchange with a missing target");
	ERR(RN("nope", "a", ANYK_RENAME_EXCHANGE), ENOENT, "exchange a missing source");
	ERR(RN("a", "b/", ANYK_RENAME_EXCHANGE), ENOTDIR, "exchange with a file named with a slash");
	ERR(RN("a/", "p", ANYK_RENAME_EXCHANGE), ENOTDIR, "exchange a file named with a slash");
	st = st_of("a");
	st2 = st_of("b");
	nap();
	OK(RN("a", "b", ANYK_RENAME_EXCHANGE), "exchange two files");
	IS(st_of("a").st_ino, st2.st_ino, "a is b's inode");
	IS(st_of("b").st_ino, st.st_ino, "b is a's inode");
	IS(read_all("a", buf, sizeof(buf)), 1, "read a");
	TRUE(buf[0] == 'B', "a has b's data");
	TRUE(ts_cmp(st_of("a").st_ctim, st2.st_ctim) > 0, "exchange changed both ctimes (a)");
	TRUE(ts_cmp(st_of("b").st_ctim, st.st_ctim) > 0, "exchange changed both ctimes (b)");
	OK(RN("a", "a", ANYK_RENAME_EXCHANGE), "exchange a name with itself");
	OK(S->link("a", "a2"), "hard link a2");
	OK(RN("a", "a2", ANYK_RENAME_EXCHANGE), "exchange two links of one inode");
	IS(nlink_of("a"), 2, "nothing changed");
	OK(S->unlink("a2"), "drop a2");

	/* a directory for a file, across parents */
	st = st_of("p/d");
	OK(RN("p/d", "q/f", ANYK_RENAME_EXCHANGE), "exchange a dir and a file across dirs");
	TRUE(ANYK_S_ISDIR(mode_of("q/f")) && ANYK_S_ISREG(mode_of("p/d")), "the types swapped");
	IS(st_of("q/f").st_ino, st.st_ino, "q/f is the dir");
	IS(nlink_of("p"), 2, "p lost a subdir");
	IS(nlink_of("q"), 3, "q gained a subdir");
	OK(S->stat("q/f/..", &st2), "q/f/.. resolves");
	IS(st2.st_ino, st_of("q").st_ino, "the dir's .. is its new parent");
	TRUE(exists("q/f/sub"), "the dir kept its contents");
	ERR(RN("q/f", "q/f/sub", ANYK_RENAME_EXCHANGE), EINVAL, "exchange a dir with its own subdir");
	ERR(RN("q/f/sub", "q/f", ANYK_RENAME_EXCHANGE), EINVAL, "exchange a subdir with its parent");
	ERR(RN("q/f/sub", "q", ANYK_RENAME_EXCHANGE), EINVAL, "exchange with an ancestor further up");
	OK(RN("q/f", "p/", ANYK_RENAME_EXCHANGE), "exchange two dirs with a trailing slash");
	IS(st_of("p/..").st_ino, st_of(".").st_ino, "the first's .. moved");
	IS(st_of("q/f/..").st_ino, st_of("q").st_ino, "the second's .. moved");
	IS(st_of("p/sub/..").st_ino, st_of("p").st_ino, "a child's .. is still its dir");
	IS(nlink_of("q"), 3, "two dirs swapped: q's count is the same");
	OK(RN("p", "q/f", ANYK_RENAME_EXCHANGE), "exchange them back");
	IS(st_of("q/f/..").st_ino, st_of("q").st_ino, "both .. are right again (q/f)");
	IS(st_of("p/..").st_ino, st_of(".").st_ino, "both .. are right again (p)");

	/* RENAME_WHITEOUT (the user run checks a user's) */
	st = st_of("b");
	OK(RN("b", "w", ANYK_RENAME_WHITEOUT), "rename leaving a whiteout");
	st2 = st_of("b");
	IS(st2.st_mode, ANYK_S_IFCHR, "the whiteout is a character device, mode 0");
	IS(st2.st_rdev, 0, "... device 0/0");
	IS(st2.st_nlink, 1, "... one link");
	TRUE(st2.st_ino != st.st_ino, "... a new inode");
	IS(st_of("w").st_ino, st.st_ino, "the file moved");
	OK(RN("a", "w", ANYK_RENAME_WHITEOUT), "whiteout rename over an existing file");
	IS(st_of("a").st_mode, ANYK_S_IFCHR, "a is a whiteout");
	ERR(RN("a", "w", ANYK_RENAME_WHITEOUT | ANYK_RENAME_NOREPLACE), EEXIST, "whiteout with noreplace onto a file");
	OK(RN("w", "p/w", ANYK_RENAME_WHITEOUT | ANYK_RENAME_NOREPLACE), "whiteout with noreplace into a dir");
	IS(st_of("w").st_mode, ANYK_S_IFCHR, "w is a whiteout");
	OK(RN("q/f", "p/w2", ANYK_RENAME_WHITEOUT), "whiteout behind a directory");
	IS(st_of("q/f").st_mode, ANYK_S_IFCHR, "q/f is a whiteout");
	IS(nlink_of("q"), 2, "q lost its subdir");
	IS(nlink_of("p"), 3, "p gained it");
	OK(S->unlink("a"), "a whiteout unlinks");
	OK(S->unlink("w"), "another whiteout unlinks");
}

/* --- fallocate ------------------------------------------------------------- */

static void t_fallocate(void)
{
	char buf[16];
	int fd, ro, p[2];
	int64_t blocks;

	section("falloc");
	fd = S->open("f", ANYK_O_RDWR | ANYK_O_CREAT, 0644);
	TRUE(fd >= 0, "create f");
	memset(buf, 'a', sizeof(buf));
	for (int i = 0; i < 625; i++)
		S->write(fd, buf, sizeof(buf)); /* 10000 bytes of 'a' */
	ERR(S->fallocate(fd, 0, 0, 0), EINVAL, "fallocate of length 0");
	ERR(S->fallocate(fd, 0, -1, 10), EINVAL, "fallocate at a negative offset");
	ERR(S->fallocate(fd, ANYK_FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP, "punch without KEEP_SIZE");
	ERR(S->fallocate(fd, 0x80, 0, 10), EOPNOTSUPP, "an unknown mode");
	ERR(S->fallocate(fd, 0, INT64_MAX - 10, 100), EFBIG, "a range past the largest offset");
	OK(S->fallocate(fd, 0, 10000, 10000), "preallocate past the end");
	IS(size_of("f"), 20000, "the size grew");
	TRUE(st_of("f").st_blocks * 512 >= 20000, "the blocks are there (%lld sectors)",
	     (long long)st_of("f").st_blocks);
	IS(S->pread(fd, buf, 4, 15000), 4, "read the preallocated part");
	TRUE(memcmp(buf, "\0\0\0\0", 4) == 0, "it reads as zeros");
	blocks = st_of("f").st_blocks;
	OK(S->fallocate(fd, ANYK_FALLOC_FL_KEEP_SIZE, 20000, 40960), "preallocate past the end, keeping the size");
	IS(size_of("f"), 20000, "the size stayed");
	TRUE(st_of("f").st_blocks > blocks, "more blocks");
	OK(S->ftruncate(fd, 20000), "truncate to the same size");
	IS(st_of("f").st_blocks, blocks, "the blocks past the end went");
	OK(S->fallocate(fd, ANYK_FALLOC_FL_PUNCH_HOLE | ANYK_FALLOC_FL_KEEP_SIZE, 4096, 4096), "punch a hole");
	IS(size_of("f"), 20000, "the size stayed");
	TRUE(st_of("f").st_blocks < blocks, "fewer blocks");
	IS(S->pread(fd, buf, 4, 4094), 4, "read across the hole's start");
	TRUE(memcmp(buf, "aa\0\0", 4) == 0, "data, then zeros");
	IS(S->pread(fd, buf, 4, 8190), 4, "read across the hole's end");
	TRUE(memcmp(buf, "\0\0aa", 4) == 0, "zeros, then data");
	OK(S->fallocate(fd, ANYK_FALLOC_FL_PUNCH_HOLE | ANYK_FALLOC_FL_KEEP_SIZE, 100, 10), "punch inside a block");
	IS(S->pread(fd, buf, 4, 98), 4, "read there");
	TRUE(memcmp(buf, "aa\0\0", 4) == 0, "only the range is zero");
	S->close(fd);
	ro = S->open("f", ANYK_O_RDONLY, 0);
	ERR(S->fallocate(ro, 0, 0, 10), EBADF, "fallocate on a read-only descriptor");
	S->close(ro);
	ERR(S->fallocate(-1, 0, 0, 10), EBADF, "fallocate on a bad descriptor");
	OK(S->pipe(p), "pipe");
	ERR(S->fallocate(p[1], 0, 0, 10), ESPIPE, "fallocate on a pipe");
	S->close(p[0]);
	S->close(p[1]);
}

/* --- hard links ----------------------------------------------------------- */

static void t_link(void)
{
	struct anyk_stat st, st2;

	section("lnk");
	OK(mkfile("f", "x", 0644), "create f");
	OK(S->mkdir("d", 0755), "mkdir d");
	OK(S->symlink("f", "sf"), "symlink sf -> f");
	st = st_of("f");
	nap();
	OK(S->link("f", "g"), "link f g");
	st2 = st_of("f");
	IS(st2.st_nlink, 2, "nlink 2");
	TRUE(ts_cmp(st2.st_ctim, st.st_ctim) > 0, "link changed ctime");
	IS(st_of("g").st_ino, st.st_ino, "same inode");
	OK(S->link("f", "d/h"), "link into a subdir");
	IS(nlink_of("f"), 3, "nlink 3");
	ERR(S->link("d", "d2"), EPERM, "link a directory");
	ERR(S->link("d", "f"), EEXIST, "link a directory onto an existing name: EEXIST before EPERM");
	ERR(S->link("f", "g"), EEXIST, "link over an existing name");
	ERR(S->link("nope", "z"), ENOENT, "link missing");
	ERR(S->link("f", "nope/z"), ENOENT, "link into a missing dir");
	ERR(S->link("f/", "z"), ENOTDIR, "link a file named with a slash");
	ERR(S->link("f", "z/"), ENOENT, "link to a new name with a slash (Linux: ENOENT)");
	ERR(S->linkat(ANYK_AT_FDCWD, "f", ANYK_AT_FDCWD, "z", 0x8000000), EINVAL, "linkat with a bad flag");
	OK(S->link("sf", "lsf"), "link a symlink links the link");
	TRUE(ANYK_S_ISLNK(mode_of("lsf")), "the new name is a symlink");
	IS(nlink_of("sf"), 2, "the symlink has nlink 2");
	OK(S->linkat(ANYK_AT_FDCWD, "sf", ANYK_AT_FDCWD, "fsf", ANYK_AT_SYMLINK_FOLLOW), "linkat AT_SYMLINK_FOLLOW");
	TRUE(ANYK_S_ISREG(mode_of("fsf")), "it linked the target");
	IS(nlink_of("f"), 4, "f has nlink 4");
	OK(S->unlink("g"), "unlink g");
	OK(S->unlink("d/h"), "unlink d/h");
	OK(S->unlink("fsf"), "unlink fsf");
	IS(nlink_of("f"), 1, "nlink back to 1");
}

/* --- getdents -------------------------------------------------------------- */

#define MAXNAMES 160

/* Read the whole directory with a small buffer; count each name. Returns the
 * number of records, -1 on error. Names are "f%03d", ".", "..". */
static int scan(int fd, int counts[MAXNAMES], int *dot, int *dotdot, int *other,
		int unlink_odd)
{
	char buf[200];
	anyk_ssize_t n;
	int total = 0;

	while ((n = S->getdents(fd, buf, sizeof(buf))) > 0) {
		anyk_ssize_t pos = 0;
		while (pos < n) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + pos);
			int k;
			if (d->d_reclen == 0 || d->d_reclen % 8 != 0)
				return -1;
			if (strcmp(d->d_name, ".") == 0)
				(*dot)++;
			else if (strcmp(d->d_name, "..") == 0)
				(*dotdot)++;
			else if (sscanf(d->d_name, "f%03d", &k) == 1 && k >= 0 && k < MAXNAMES)
				counts[k]++;
			else
				(*other)++;
			pos += d->d_reclen;
			total++;
		}
		if (unlink_odd) {
			/* unlink a batch of odd names, seen or not */
			char nm[16];
			int k;
			for (k = 1; k < MAXNAMES; k += 2) {
				snprintf(nm, sizeof(nm), "f%03d", k);
				if (S->unlink(nm) == 0 && --unlink_odd == 0)
					break;
			}
			if (unlink_odd == 0)
				unlink_odd = 7;
		}
	}
	return n < 0 ? -1 : total;
}

static void t_getdents(void)
{
	int counts[MAXNAMES];
	int dot = 0, dotdot = 0, other = 0, fd, i, once, twice;
	char nm[16], buf[512];
	struct anyk_dirent *d;

	section("dents");
	OK(S->mkdir("d", 0755), "mkdir d");
	for (i = 0; i < 120; i++) {
		snprintf(nm, sizeof(nm), "d/f%03d", i);
		mkfile(nm, NULL, 0644);
	}
	OK(S->mkdir("d/f120", 0755), "a subdir among the files");
	OK(S->symlink("f000", "d/f121"), "a symlink among the files");
	fd = S->open("d", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	memset(counts, 0, sizeof(counts));
	IS(scan(fd, counts, &dot, &dotdot, &other, 0), 124, "getdents returns 124 records");
	IS(dot, 1, ". once");
	IS(dotdot, 1, ".. once");
	IS(other, 0, "no stray names");
	once = 0;
	for (i = 0; i < 122; i++)
		once += counts[i] == 1;
	IS(once, 122, "every entry exactly once");
	IS(S->getdents(fd, buf, sizeof(buf)), 0, "getdents at the end returns 0");
	IS(S->lseek(fd, 0, ANYK_SEEK_SET), 0, "rewind the dir");
	IS(S->getdents(fd, buf, sizeof(buf)) > 0, 1, "entries again after rewind");
	/* d_type and d_ino */
	{
		int seen_dir = 0, seen_lnk = 0, seen_reg = 0, ino_ok = 1;
		anyk_ssize_t n, pos;
		S->lseek(fd, 0, ANYK_SEEK_SET);
		while ((n = S->getdents(fd, buf, sizeof(buf))) > 0)
			for (pos = 0; pos < n; pos += d->d_reclen) {
				char p[300];
				d = (struct anyk_dirent *)(buf + pos);
				if (strcmp(d->d_name, "f120") == 0)
					seen_dir = d->d_type == ANYK_DT_DIR;
				if (strcmp(d->d_name, "f121") == 0)
					seen_lnk = d->d_type == ANYK_DT_LNK;
				if (strcmp(d->d_name, "f007") == 0)
					seen_reg = d->d_type == ANYK_DT_REG;
				if (d->d_name[0] == 'f') {
					snprintf(p, sizeof(p), "d/%s", d->d_name);
					if (st_of(p).st_ino != d->d_ino)
						ino_ok = 0;
				}
			}
		TRUE(seen_dir && seen_lnk && seen_reg, "d_type is DT_DIR, DT_LNK, DT_REG");
		TRUE(ino_ok, "d_ino matches st_ino for every entry");
	}
	S->lseek(fd, 0, ANYK_SEEK_SET);
	ERR(S->getdents(fd, buf, 1), EINVAL, "getdents with a buffer too small for one record");
	S->close(fd);
	fd = S->open("d/f000", ANYK_O_RDONLY, 0);
	ERR(S->getdents(fd, buf, sizeof(buf)), ENOTDIR, "getdents on a file");
	S->close(fd);
	ERR(S->getdents(-1, buf, sizeof(buf)), EBADF, "getdents fd -1");

	/* while entries are being unlinked */
	fd = S->open("d", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	memset(counts, 0, sizeof(counts));
	dot = dotdot = other = 0;
	TRUE(scan(fd, counts, &dot, &dotdot, &other, 7) > 0, "getdents while unlinking");
	S->close(fd);
	once = twice = 0;
	for (i = 0; i < 122; i++) {
		if (counts[i] > 1)
			twice++;
		if (i % 2 == 0 && counts[i] == 1)
			once++;
	}
	IS(once, 61, "every entry not unlinked was returned exactly once");
	IS(twice, 0, "no entry was returned twice");
	TRUE(dot == 1 && dotdot == 1, ". and .. once while unlinking");

	/* an empty directory has just . and .. */
	OK(S->mkdir("e", 0755), "mkdir e");
	fd = S->open("e", ANYK_O_RDONLY, 0);
	memset(counts, 0, sizeof(counts));
	dot = dotdot = other = 0;
	IS(scan(fd, counts, &dot, &dotdot, &other, 0), 2, "empty dir has two records");
	S->close(fd);
	/* an unlinked directory reads as empty */
	fd = S->open("e", ANYK_O_RDONLY, 0);
	OK(S->rmdir("e"), "rmdir an open dir");
	ERR(S->getdents(fd, buf, sizeof(buf)), ENOENT, "getdents on a removed dir (Linux: ENOENT)");
	ERR(S->openat(fd, "x", ANYK_O_CREAT | ANYK_O_WRONLY, 0644), ENOENT, "create in a removed dir");
	S->close(fd);
}

/* --- descriptors: dup, dup2, dup3, fcntl, EMFILE -------------------------- */

static void t_fds(void)
{
	int fd, fd2, fd3, i, n;
	int fds[1100];
	char b[16];

	section("fds");
	OK(mkfile("f", "0123456789", 0644), "create f");
	fd = S->open("f", ANYK_O_RDWR, 0);
	fd2 = S->dup(fd);
	TRUE(fd2 >= 0 && fd2 != fd, "dup gives a new descriptor");
	IS(S->read(fd, b, 3), 3, "read 3 through the original");
	IS(S->lseek(fd2, 0, ANYK_SEEK_CUR), 3, "dup shares the offset");
	OK(S->fcntl(fd, ANYK_F_SETFL, ANYK_O_APPEND), "F_SETFL O_APPEND on the original");
	TRUE(S->fcntl(fd2, ANYK_F_GETFL, 0) & ANYK_O_APPEND, "the dup sees O_APPEND (shared status flags)");
	OK(S->fcntl(fd, ANYK_F_SETFL, 0), "clear O_APPEND");
	TRUE(!(S->fcntl(fd2, ANYK_F_GETFL, 0) & ANYK_O_APPEND), "the dup sees it cleared");
	IS(S->fcntl(fd, ANYK_F_GETFL, 0) & ANYK_O_ACCMODE, ANYK_O_RDWR, "F_SETFL did not change the access mode");
	OK(S->fcntl(fd, ANYK_F_SETFD, ANYK_FD_CLOEXEC), "F_SETFD FD_CLOEXEC");
	IS(S->fcntl(fd, ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "F_GETFD sees it");
	IS(S->fcntl(fd2, ANYK_F_GETFD, 0), 0, "descriptor flags are not shared");
	fd3 = S->dup(fd);
	IS(S->fcntl(fd3, ANYK_F_GETFD, 0), 0, "dup clears FD_CLOEXEC");
	S->close(fd3);
	ERR(S->dup(-1), EBADF, "dup -1");
	ERR(S->dup(1 << 20), EBADF, "dup 1<<20");

	IS(S->dup2(fd, fd), fd, "dup2 onto itself returns it");
	IS(S->fcntl(fd, ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "dup2 onto itself keeps FD_CLOEXEC");
	ERR(S->dup2(-1, fd2), EBADF, "dup2 from -1");
	ERR(S->dup2(fd, -1), EBADF, "dup2 to -1");
	ERR(S->dup2(fd, 1 << 20), EBADF, "dup2 to 1<<20");
	ERR(S->dup2(1 << 20, 1 << 20), EBADF, "dup2 a bad fd onto itself");
	IS(S->dup2(fd, 200), 200, "dup2 to 200");
	IS(S->lseek(200, 0, ANYK_SEEK_CUR), 3, "it shares the offset");
	S->lseek(fd, 0, ANYK_SEEK_SET);
	IS(S->dup2(fd2, 200), 200, "dup2 over an open descriptor closes it first");
	S->close(200);
	ERR(S->dup3(fd, fd, 0), EINVAL, "dup3 onto itself");
	ERR(S->dup3(fd, 201, 0x8000000), EINVAL, "dup3 with a bad flag");
	IS(S->dup3(fd, 201, ANYK_O_CLOEXEC), 201, "dup3 O_CLOEXEC");
	IS(S->fcntl(201, ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "dup3 set FD_CLOEXEC");
	IS(S->dup3(fd, 202, 0), 202, "dup3 without flags");
	IS(S->fcntl(202, ANYK_F_GETFD, 0), 0, "dup3 without flags leaves FD_CLOEXEC clear");
	ERR(S->dup3(-1, 203, 0), EBADF, "dup3 from -1");
	S->close(201);
	S->close(202);

	IS(S->fcntl(fd, ANYK_F_DUPFD, 300), 300, "F_DUPFD takes the lowest free >= arg");
	IS(S->fcntl(fd, ANYK_F_DUPFD, 300), 301, "F_DUPFD skips a used one");
	fd3 = S->fcntl(fd, ANYK_F_DUPFD, 0);
	TRUE(fd3 >= 0 && fd3 < 300, "F_DUPFD 0 gives a low descriptor");
	S->close(fd3);
	IS(S->fcntl(fd, ANYK_F_DUPFD, 0), fd3, "F_DUPFD 0 gives the lowest free one again");
	S->close(fd3);
	IS(S->fcntl(fd, ANYK_F_DUPFD_CLOEXEC, 310), 310, "F_DUPFD_CLOEXEC");
	IS(S->fcntl(310, ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
	IS(S->fcntl(300, ANYK_F_GETFD, 0), 0, "F_DUPFD clears FD_CLOEXEC");
	ERR(S->fcntl(fd, ANYK_F_DUPFD, -1), EINVAL, "F_DUPFD with a negative arg");
	ERR(S->fcntl(fd, ANYK_F_DUPFD, 1 << 20), EINVAL, "F_DUPFD beyond the table");
	ERR(S->fcntl(fd, 12345, 0), EINVAL, "fcntl with a bad command");
	ERR(S->fcntl(-1, ANYK_F_GETFD, 0), EBADF, "fcntl -1");
	ERR(S->fcntl(1 << 20, ANYK_F_GETFL, 0), EBADF, "fcntl 1<<20");
	S->close(300);
	S->close(301);
	S->close(310);

	/* EMFILE: fill the table. The host run lowers RLIMIT_NOFILE to
	 * anyk's default table size so that both tables are the same size. */
	{
		struct rlimit old, lim;
		if (!S->is_anyk) {
			getrlimit(RLIMIT_NOFILE, &old);
			lim = old;
			lim.rlim_cur = ANYK_OPEN_MAX;
			setrlimit(RLIMIT_NOFILE, &lim);
		}
		n = 0;
		errno = 0;
		while (n < (int)(sizeof(fds) / sizeof(fds[0]))) {
			fds[n] = S->open("f", ANYK_O_RDONLY, 0);
			if (fds[n] < 0)
				break;
			n++;
		}
		ck(__LINE__, n < 1100 ? -1 : 0, errno, -1, EMFILE, "open until the table is full (%d opened)", n);
		ERR(S->dup(fd), EMFILE, "dup with a full table");
		ERR(S->pipe((int[2]){0, 0}), EMFILE, "pipe with a full table");
		ERR(S->fcntl(fd, ANYK_F_DUPFD, 0), EMFILE, "F_DUPFD with a full table");
		ERR(S->dup2(fd, ANYK_OPEN_MAX), EBADF, "dup2 to the table size");
		ERR(S->fcntl(fd, ANYK_F_DUPFD, ANYK_OPEN_MAX), EINVAL, "F_DUPFD at the table size");
		if (n > 0) {
			int last = fds[n - 1];
			S->close(last);
			IS(S->open("f", ANYK_O_RDONLY, 0), last, "a freed slot is reused");
		}
		for (i = 0; i < n; i++)
			S->close(fds[i]);
		fd3 = S->open("f", ANYK_O_RDONLY, 0);
		TRUE(fd3 >= 0, "open works again after closing");
		S->close(fd3);
		if (!S->is_anyk)
			setrlimit(RLIMIT_NOFILE, &old);
	}
	S->close(fd);
	S->close(fd2);
}

/* --- pipes ----------------------------------------------------------------- */

static void t_pipes(void)
{
	int p[2], q[2];
	char b[64];
	struct anyk_stat st;

	section("pipes");
	OK(S->pipe(p), "pipe");
	TRUE(p[0] >= 0 && p[1] >= 0 && p[0] != p[1], "two descriptors");
	OK(S->fstat(p[0], &st), "fstat the read end");
	TRUE(ANYK_S_ISFIFO(st.st_mode), "a pipe is a FIFO");
	IS(S->fcntl(p[0], ANYK_F_GETFL, 0) & ANYK_O_ACCMODE, ANYK_O_RDONLY, "read end is O_RDONLY");
	IS(S->fcntl(p[1], ANYK_F_GETFL, 0) & ANYK_O_ACCMODE, ANYK_O_WRONLY, "write end is O_WRONLY");
	IS(S->write(p[1], "hello", 5), 5, "write 5 bytes");
	IS(S->read(p[0], b, sizeof(b)), 5, "read returns what is there");
	TRUE(memcmp(b, "hello", 5) == 0, "the bytes arrive in order");
	ERR(S->lseek(p[0], 0, ANYK_SEEK_SET), ESPIPE, "lseek on a pipe");
	ERR(S->lseek(p[1], 0, ANYK_SEEK_CUR), ESPIPE, "lseek SEEK_CUR on a pipe");
	ERR(S->pread(p[0], b, 1, 0), ESPIPE, "pread on a pipe");
	ERR(S->pwrite(p[1], "x", 1, 0), ESPIPE, "pwrite on a pipe");
	ERR(S->read(p[1], b, 1), EBADF, "read from the write end");
	ERR(S->write(p[0], "x", 1), EBADF, "write to the read end");
	ERR(S->ftruncate(p[1], 0), EINVAL, "ftruncate a pipe");
	ERR(S->fsync(p[1]), EINVAL, "fsync a pipe");
	IS(S->write(p[1], "ab", 2), 2, "write 2 more");
	OK(S->close(p[1]), "close the writer");
	IS(S->read(p[0], b, sizeof(b)), 2, "read the rest after the writer closed");
	IS(S->read(p[0], b, sizeof(b)), 0, "then EOF");
	OK(S->close(p[0]), "close the reader");

	OK(S->pipe(p), "second pipe");
	OK(S->close(p[0]), "close its reader");
	ERR(S->write(p[1], "x", 1), EPIPE, "write with no reader");
	S->close(p[1]);

	OK(S->pipe2(q, ANYK_O_CLOEXEC | ANYK_O_NONBLOCK), "pipe2 O_CLOEXEC|O_NONBLOCK");
	IS(S->fcntl(q[0], ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "pipe2 set FD_CLOEXEC");
	TRUE(S->fcntl(q[1], ANYK_F_GETFL, 0) & ANYK_O_NONBLOCK, "pipe2 set O_NONBLOCK");
	ERR(S->read(q[0], b, 1), EAGAIN, "read an empty non-blocking pipe");
	{
		/* fill it: a non-blocking writer eventually gets EAGAIN */
		static char big[4096];
		long total = 0;
		anyk_ssize_t r;
		while ((r = S->write(q[1], big, sizeof(big))) > 0 && total < (64L << 20))
			total += r;
		ck(__LINE__, r, errno, -1, EAGAIN, "a full non-blocking pipe (after %ld bytes)", total);
		TRUE(total >= 4096, "a pipe holds at least one page (PIPE_BUF)");
	}
	S->close(q[0]);
	S->close(q[1]);
	ERR(S->pipe2(q, 0x8000000), EINVAL, "pipe2 with a bad flag");
}

/* --- timestamps ------------------------------------------------------------ */

static void t_times(void)
{
	struct anyk_stat a, b;
	struct anyk_timespec t[2];
	struct timespec now;
	int fd;

	section("times");
	OK(mkfile("f", "x", 0644), "create f");
	t[0].tv_sec = 1000;
	t[0].tv_nsec = 123456789;
	t[1].tv_sec = 2000;
	t[1].tv_nsec = 987654321;
	OK(S->utimensat(ANYK_AT_FDCWD, "f", t, 0), "utimensat with nanoseconds");
	a = st_of("f");
	TRUE(a.st_atim.tv_sec == 1000 && a.st_atim.tv_nsec == 123456789, "atime set to the nanosecond");
	TRUE(a.st_mtim.tv_sec == 2000 && a.st_mtim.tv_nsec == 987654321, "mtime set to the nanosecond");
	t[0].tv_nsec = ANYK_UTIME_OMIT;
	t[1].tv_sec = 3000;
	t[1].tv_nsec = 5;
	OK(S->utimensat(ANYK_AT_FDCWD, "f", t, 0), "utimensat with UTIME_OMIT for atime");
	b = st_of("f");
	TRUE(b.st_atim.tv_sec == 1000 && b.st_atim.tv_nsec == 123456789, "UTIME_OMIT left atime alone");
	TRUE(b.st_mtim.tv_sec == 3000 && b.st_mtim.tv_nsec == 5, "mtime set");
	t[0].tv_nsec = ANYK_UTIME_NOW;
	t[1].tv_nsec = ANYK_UTIME_OMIT;
	OK(S->utimensat(ANYK_AT_FDCWD, "f", t, 0), "utimensat with UTIME_NOW for atime");
	clock_gettime(CLOCK_REALTIME, &now);
	b = st_of("f");
	TRUE(b.st_atim.tv_sec > now.tv_sec - 60 && b.st_atim.tv_sec <= now.tv_sec + 1, "UTIME_NOW set atime to now");
	TRUE(b.st_mtim.tv_sec == 3000, "UTIME_OMIT left mtime alone");
	OK(S->utimensat(ANYK_AT_FDCWD, "f", NULL, 0), "utimensat NULL");
	b = st_of("f");
	TRUE(b.st_mtim.tv_sec > now.tv_sec - 60, "NULL set mtime to now");
	t[0].tv_sec = 0;
	t[0].tv_nsec = 1000000000;
	ERR(S->utimensat(ANYK_AT_FDCWD, "f", t, 0), EINVAL, "utimensat with tv_nsec of a billion");
	t[0].tv_nsec = -1;
	ERR(S->utimensat(ANYK_AT_FDCWD, "f", t, 0), EINVAL, "utimensat with a negative tv_nsec");
	ERR(S->utimensat(ANYK_AT_FDCWD, "f", NULL, 0x8000000), EINVAL, "utimensat with a bad flag");
	ERR(S->utimensat(ANYK_AT_FDCWD, "nope", NULL, 0), ENOENT, "utimensat missing");
	fd = S->open("f", ANYK_O_RDONLY, 0);
	t[0].tv_sec = 50;
	t[0].tv_nsec = 1;
	t[1].tv_sec = 60;
	t[1].tv_nsec = 2;
	OK(S->futimens(fd, t), "futimens");
	b = st_of("f");
	TRUE(b.st_atim.tv_sec == 50 && b.st_mtim.tv_sec == 60 && b.st_mtim.tv_nsec == 2, "futimens set both");
	S->close(fd);
	ERR(S->futimens(-1, t), EBADF, "futimens -1");

	/* what changes what */
	t[0].tv_sec = 1000;
	t[0].tv_nsec = 0;
	t[1].tv_sec = 1000;
	t[1].tv_nsec = 0;
	S->utimensat(ANYK_AT_FDCWD, "f", t, 0);
	a = st_of("f");
	nap();
	fd = S->open("f", ANYK_O_WRONLY, 0);
	IS(S->write(fd, "y", 1), 1, "write");
	OK(S->fstat(fd, &b), "fstat");
	TRUE(b.st_mtim.tv_sec > 1000, "write updated mtime");
	TRUE(ts_cmp(b.st_ctim, a.st_ctim) > 0, "write updated ctime");
	TRUE(b.st_atim.tv_sec == 1000, "write left atime alone");
	a = b;
	nap();
	OK(S->ftruncate(fd, 0), "ftruncate");
	OK(S->fstat(fd, &b), "fstat");
	TRUE(ts_cmp(b.st_mtim, a.st_mtim) > 0 && ts_cmp(b.st_ctim, a.st_ctim) > 0, "truncate updated mtime and ctime");
	S->close(fd);
	a = st_of("f");
	nap();
	OK(S->chmod("f", 0600), "chmod");
	b = st_of("f");
	TRUE(ts_cmp(b.st_ctim, a.st_ctim) > 0, "chmod updated ctime");
	TRUE(ts_cmp(b.st_mtim, a.st_mtim) == 0, "chmod left mtime alone");
	a = b;
	nap();
	OK(S->chown("f", 5, 5), "chown");
	b = st_of("f");
	TRUE(ts_cmp(b.st_ctim, a.st_ctim) > 0, "chown updated ctime");
	a = st_of(".");
	nap();
	OK(mkfile("g", NULL, 0644), "create in the dir");
	b = st_of(".");
	TRUE(ts_cmp(b.st_mtim, a.st_mtim) > 0 && ts_cmp(b.st_ctim, a.st_ctim) > 0, "create updated the dir's mtime and ctime");
	a = b;
	nap();
	OK(S->unlink("g"), "unlink in the dir");
	b = st_of(".");
	TRUE(ts_cmp(b.st_mtim, a.st_mtim) > 0, "unlink updated the dir's mtime");
	OK(S->link("f", "h"), "link");
	a = st_of("f");
	nap();
	OK(S->unlink("h"), "unlink one of two links");
	b = st_of("f");
	TRUE(ts_cmp(b.st_ctim, a.st_ctim) > 0, "unlink updated the file's ctime");
	/* reading updates atime (strictatime semantics are not required:
	 * relatime updates atime when it is older than mtime) */
	t[0].tv_sec = 10;
	t[0].tv_nsec = 0;
	t[1].tv_sec = 20;
	t[1].tv_nsec = 0;
	S->utimensat(ANYK_AT_FDCWD, "f", t, 0);
	fd = S->open("f", ANYK_O_RDONLY, 0);
	{
		char c[4];
		S->read(fd, c, 1);
	}
	S->close(fd);
	TRUE(st_of("f").st_atim.tv_sec > 20, "read updated an atime older than mtime");
}

/* --- cwd, ids, statvfs ----------------------------------------------------- */

static void t_misc(void)
{
	char cwd[700], want[700];
	struct anyk_statvfs v, v2;
	int fd;
	anyk_gid_t g[64];

	section("misc");
	snprintf(want, sizeof(want), "%s/misc", BASE);
	TRUE(S->getcwd(cwd, sizeof(cwd)) == cwd, "getcwd");
	TRUE(strcmp(cwd, want) == 0, "getcwd is %s", want);
	errno = 0;
	TRUE(S->getcwd(cwd, 3) == NULL && errno == ERANGE, "getcwd with a short buffer is ERANGE");
	OK(S->mkdir("sub", 0755), "mkdir sub");
	OK(S->chdir("sub"), "chdir sub");
	snprintf(want, sizeof(want), "%s/misc/sub", BASE);
	TRUE(S->getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "getcwd after chdir");
	OK(S->chdir(".."), "chdir ..");
	OK(mkfile("f", NULL, 0644), "create f");
	ERR(S->chdir("f"), ENOTDIR, "chdir to a file");
	ERR(S->chdir("nope"), ENOENT, "chdir missing");
	ERR(S->chdir(""), ENOENT, "chdir empty path");
	fd = S->open("sub", ANYK_O_RDONLY, 0);
	OK(S->fchdir(fd), "fchdir");
	TRUE(S->getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "getcwd after fchdir");
	S->close(fd);
	fd = S->open("../f", ANYK_O_RDONLY, 0);
	ERR(S->fchdir(fd), ENOTDIR, "fchdir to a file");
	S->close(fd);
	ERR(S->fchdir(-1), EBADF, "fchdir -1");
	S->chdir("..");
	/* cwd removed under us */
	OK(S->chdir("sub"), "chdir sub again");
	OK(S->rmdir(want), "rmdir the cwd");
	ERR(mkfile("x", NULL, 0644), ENOENT, "create in a removed cwd");
	errno = 0;
	TRUE(S->getcwd(cwd, sizeof(cwd)) == NULL && errno == ENOENT, "getcwd of a removed cwd is ENOENT");
	snprintf(want, sizeof(want), "%s/misc", BASE);
	S->chdir(want);

	/* ids as root */
	TRUE(S->getpid() > 0, "getpid is positive");
	IS(S->getuid(), 0, "getuid is root");
	IS(S->geteuid(), 0, "geteuid is root");
	IS(S->getgid(), 0, "getgid is root");
	IS(S->getegid(), 0, "getegid is root");
	TRUE(S->getgroups(64, g) >= 0, "getgroups");
	ERR(S->getgroups(-1, g), EINVAL, "getgroups with a negative size");

	/* statvfs */
	OK(S->statvfs(".", &v), "statvfs");
	TRUE(v.f_bsize > 0 && v.f_frsize > 0, "block sizes set");
	TRUE(v.f_blocks >= v.f_bfree && v.f_bfree >= v.f_bavail, "blocks >= bfree >= bavail");
	TRUE(v.f_files >= v.f_ffree && v.f_ffree > 0, "files >= ffree > 0");
	IS(v.f_namemax, ANYK_NAME_MAX, "f_namemax is NAME_MAX");
	TRUE(!(v.f_flag & ANYK_ST_RDONLY), "not read-only");
	OK(mkfile("g", NULL, 0644), "create g");
	OK(S->statvfs(".", &v2), "statvfs again");
	if (private_fs)
		IS(v2.f_ffree, v.f_ffree - 1, "a new file takes one inode");
	IS(v2.f_fsid, v.f_fsid, "fsid is stable");
	fd = S->open("g", ANYK_O_RDWR, 0);
	{
		static char big[1 << 20];
		memset(big, 1, sizeof(big));
		IS(S->write(fd, big, sizeof(big)), (long)sizeof(big), "write 1 MiB");
	}
	OK(S->fstatvfs(fd, &v2), "fstatvfs");
	TRUE(v2.f_bfree < v.f_bfree && (v.f_bfree - v2.f_bfree) * v.f_frsize >= (1 << 20),
	     "1 MiB of data takes at least 1 MiB of free blocks");
	S->close(fd);
	ERR(S->fstatvfs(-1, &v2), EBADF, "fstatvfs -1");
	ERR(S->statvfs("nope", &v2), ENOENT, "statvfs missing");
	OK(S->unlink("g"), "unlink g");
	OK(S->statvfs(".", &v2), "statvfs after unlink");
	if (private_fs) {
		IS(v2.f_ffree, v.f_ffree, "the inode is free again");
		IS(v2.f_bfree, v.f_bfree, "the blocks are free again");
	} else {
		T_SKIP("%s: exact statvfs counts (shared file system)", S->name);
	}
	if (S->is_anyk)
		TRUE(strcmp(v.f_fstypename, "tmpfs") == 0, "f_fstypename is tmpfs (anyk-only field)");
}

/* --- EXDEV across mounts ---------------------------------------------------- */

static void t_exdev(void)
{
	char mnt[700];

	section("xdev");
	if (!can_mount) {
		T_SKIP("%s: EXDEV across mounts (cannot mount here)", S->name);
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/xdev/m", BASE);
	OK(S->mkdir("m", 0755), "mkdir mount point");
	OK(S->mount("tmpfs", mnt, "tmpfs", 0, "size=4m"), "mount a second tmpfs");
	OK(mkfile("f", "x", 0644), "create f");
	OK(S->mkdir("d", 0755), "mkdir d");
	ERR(S->rename("f", "m/f"), EXDEV, "rename a file across mounts");
	ERR(S->rename("d", "m/d"), EXDEV, "rename a dir across mounts");
	ERR(S->link("f", "m/f"), EXDEV, "link across mounts");
	TRUE(st_of("m").st_dev != st_of(".").st_dev, "the mount has its own st_dev");
	OK(mkfile("m/g", "y", 0644), "create on the mount");
	ERR(S->rmdir("m"), EBUSY, "rmdir a mount point");
	{
		int fd = S->open("m/g", ANYK_O_RDONLY, 0);
		ERR(S->unmount(mnt, 0), EBUSY, "unmount with an open file");
		S->close(fd);
	}
	OK(S->unmount(mnt, 0), "unmount");
	TRUE(!exists("m/g"), "the mount's files are gone from view");
	OK(S->rmdir("m"), "rmdir the old mount point");
}

/* --- permissions under non-root credentials -------------------------------- */

static const anyk_gid_t user_groups[2] = {1000, 2000};

static void perm_setup(void)
{
	anyk_mode_t old = S->umask(0);

	section("perm");
	S->chmod(".", 0755);
	mkfile("own", "secret", 0600);
	mkfile("zero", "root-only", 0000);
	mkfile("g2000", "g", 0640);
	S->chown("g2000", 0, 2000);
	mkfile("g2000o", "g", 0604);
	S->chown("g2000o", 0, 2000);
	mkfile("g3000o", "o", 0604);
	S->chown("g3000o", 0, 3000);
	mkfile("mine", "m", 0066);
	S->chown("mine", 1000, 1000);
	mkfile("ro", "r", 0444);
	S->chown("ro", 1000, 1000);
	S->mkdir("closed", 0700);
	mkfile("closed/f", "c", 0644);
	S->mkdir("noexec", 0744);
	mkfile("noexec/f", "n", 0644);
	S->mkdir("nowrite", 0755);
	mkfile("nowrite/f", "w", 0666);
	S->mkdir("sticky", 0777);
	S->chmod("sticky", 01777);
	mkfile("sticky/rootf", "s", 0666);
	S->mkdir("sgid", 0777);
	S->chown("sgid", 0, 2000);
	S->chmod("sgid", 02777);
	mkfile("sgidfile", "x", 0755);
	S->chown("sgidfile", 1000, 3000);
	mkfile("suid", "x", 0755);
	S->chown("suid", 1000, 1000);
	S->chmod("suid", 06755);
	mkfile("wr", "x", 0666);
	mkfile("nw", "x", 0644);
	mkfile("other", "x", 0644);
	S->chown("other", 1001, 1001);
	S->mkdir("udir", 0755);
	S->chown("udir", 1000, 1000);
	S->umask(old);
}

static void perm_root_checks(void)
{
	int fd;
	char b[32];

	fd = S->open("zero", ANYK_O_RDWR, 0);
	TRUE(fd >= 0, "root opens a mode 000 file read-write");
	IS(S->read(fd, b, sizeof(b)), 9, "root reads it");
	S->close(fd);
	OK(S->access("zero", ANYK_R_OK | ANYK_W_OK), "root access R|W on mode 000");
	ERR(S->access("zero", ANYK_X_OK), EACCES, "root X_OK needs an x bit somewhere");
	OK(S->access("closed/f", ANYK_R_OK), "root searches a 0700 dir");
	OK(mkfile("nowrite/rootnew", NULL, 0644), "root creates in any dir");
	OK(S->unlink("nowrite/rootnew"), "root unlinks it");
}

/* Runs with uid 1000, gid 1000, groups {1000, 2000}. */
static void perm_user_checks(void)
{
	int fd, n;
	struct anyk_stat st;
	anyk_gid_t g[8];
	struct anyk_timespec t[2] = {{1, 0}, {2, 0}};

	IS(S->getuid(), 1000, "getuid after setuid");
	IS(S->geteuid(), 1000, "geteuid after setuid");
	IS(S->getgid(), 1000, "getgid after setgid");
	n = S->getgroups(8, g);
	TRUE(n == 2 && ((g[0] == 1000 && g[1] == 2000) || (g[0] == 2000 && g[1] == 1000)), "getgroups is {1000, 2000}");
	IS(S->getgroups(0, g), 2, "getgroups(0) counts them");
	ERR(S->getgroups(1, g), EINVAL, "getgroups into a short array");
	ERR(S->setuid(0), EPERM, "setuid(0) as a user");
	ERR(S->setgid(0), EPERM, "setgid(0) as a user");
	ERR(S->setgroups(1, user_groups), EPERM, "setgroups as a user");
	OK(S->setuid(1000), "setuid to one's own uid");

	/* owner / group / other classes */
	ERR(S->open("own", ANYK_O_RDONLY, 0), EACCES, "read root's 0600 file");
	ERR(S->open("zero", ANYK_O_RDONLY, 0), EACCES, "read a mode 000 file");
	fd = S->open("g2000", ANYK_O_RDONLY, 0);
	TRUE(fd >= 0, "read a 0640 file through a supplementary group");
	S->close(fd);
	ERR(S->open("g2000", ANYK_O_WRONLY, 0), EACCES, "write a 0640 file as a group member");
	ERR(S->open("g2000o", ANYK_O_RDONLY, 0), EACCES, "group member is judged by group bits, not other bits");
	fd = S->open("g3000o", ANYK_O_RDONLY, 0);
	TRUE(fd >= 0, "non-member reads through other bits");
	S->close(fd);
	ERR(S->open("mine", ANYK_O_RDONLY, 0), EACCES, "owner is judged by owner bits only (0066)");
	ERR(S->open("ro", ANYK_O_WRONLY, 0), EACCES, "write a 0444 file one owns");
	ERR(S->open("ro", ANYK_O_RDWR | ANYK_O_TRUNC, 0), EACCES, "O_TRUNC on a 0444 file");
	ERR(S->truncate("ro", 0), EACCES, "truncate a 0444 file");
	OK(S->access("ro", ANYK_R_OK), "access R_OK on own 0444");
	ERR(S->access("ro", ANYK_W_OK), EACCES, "access W_OK on own 0444");
	ERR(S->access("own", ANYK_R_OK), EACCES, "access R_OK on root's 0600");
	ERR(S->faccessat(ANYK_AT_FDCWD, "own", ANYK_R_OK, ANYK_AT_EACCESS), EACCES, "faccessat AT_EACCESS on root's 0600");
	OK(S->faccessat(ANYK_AT_FDCWD, "g2000", ANYK_R_OK, ANYK_AT_EACCESS), "faccessat AT_EACCESS through a group");
	ERR(S->access("g2000", ANYK_X_OK), EACCES, "X_OK on a non-executable file");

	/* directory search and write permission */
	ERR(S->stat("closed/f", &st), EACCES, "stat through a 0700 dir");
	ERR(S->open("closed/f", ANYK_O_RDONLY, 0), EACCES, "open through a 0700 dir");
	ERR(S->open("closed", ANYK_O_RDONLY, 0), EACCES, "open a 0700 dir");
	ERR(S->chdir("closed"), EACCES, "chdir into a 0700 dir");
	ERR(S->stat("noexec/f", &st), EACCES, "stat through a dir without x for others (0744)");
	fd = S->open("noexec", ANYK_O_RDONLY, 0);
	TRUE(fd >= 0, "open a 0744 dir for listing");
	S->close(fd);
	ERR(mkfile("nowrite/new", NULL, 0644), EACCES, "create in a 0755 root dir");
	ERR(S->unlink("nowrite/f"), EACCES, "unlink in a 0755 root dir");
	ERR(S->mkdir("nowrite/d", 0755), EACCES, "mkdir in a 0755 root dir");
	ERR(S->rename("nowrite/f", "udir/f"), EACCES, "rename out of a 0755 root dir");
	ERR(S->symlink("x", "nowrite/l"), EACCES, "symlink in a 0755 root dir");
	ERR(S->link("ro", "nowrite/l"), EACCES, "link into a 0755 root dir");
	fd = S->open("nowrite/f", ANYK_O_WRONLY, 0);
	TRUE(fd >= 0, "write a 0666 file in a read-only dir");
	S->close(fd);

	/* owner-only operations */
	ERR(S->chmod("other", 0777), EPERM, "chmod by a non-owner");
	ERR(S->chown("other", 1000, 1000), EPERM, "chown by a non-owner");
	ERR(S->chown("udir", 1001, (anyk_gid_t)-1), EPERM, "give away one's own file");
	OK(S->chown("udir", (anyk_uid_t)-1, 2000), "chgrp to a group one is in");
	IS(st_of("udir").st_gid, 2000, "group changed");
	ERR(S->chown("udir", (anyk_uid_t)-1, 3000), EPERM, "chgrp to a group one is not in");
	OK(S->chown("udir", 1000, 1000), "chown to oneself is allowed");
	OK(S->chmod("udir", 0700), "chmod one's own dir");
	OK(S->chmod("udir", 0755), "and back");
	OK(S->chmod("sgidfile", 02755), "chmod g+s on a file whose group one is not in");
	IS(perm_of("sgidfile"), 0755, "setgid silently cleared");

	/* writes clear setuid/setgid */
	fd = S->open("suid", ANYK_O_WRONLY, 0);
	TRUE(fd >= 0, "open own setuid file");
	IS(S->write(fd, "y", 1), 1, "write it");
	S->close(fd);
	IS(perm_of("suid"), 0755, "write by non-root cleared setuid and setgid");

	/* utimensat: write permission allows "now", only the owner sets times */
	OK(S->utimensat(ANYK_AT_FDCWD, "wr", NULL, 0), "utimensat NULL on a writable file of another");
	ERR(S->utimensat(ANYK_AT_FDCWD, "wr", t, 0), EPERM, "set explicit times on another's file");
	ERR(S->utimensat(ANYK_AT_FDCWD, "nw", NULL, 0), EACCES, "utimensat NULL without write permission");
	OK(S->utimensat(ANYK_AT_FDCWD, "udir", t, 0), "owner sets explicit times");

	/* Whiteouts need no privilege (Linux 5.8 on): overlays in user namespaces */
	OK(mkfile("udir/wx", "x", 0644), "create a file to rename");
	OK(S->renameat2(ANYK_AT_FDCWD, "udir/wx", ANYK_AT_FDCWD, "udir/wy", ANYK_RENAME_WHITEOUT),
	   "a user leaves a whiteout too");
	IS(st_of("udir/wx").st_uid, 1000, "the user owns it");
	IS(st_of("udir/wx").st_mode, ANYK_S_IFCHR, "a whiteout");
	OK(S->unlink("udir/wx"), "unlink the whiteout");
	OK(S->unlink("udir/wy"), "unlink the file");
	/* sticky directory */
	ERR(S->unlink("sticky/rootf"), EPERM, "unlink another's file in a sticky dir");
	ERR(S->rename("sticky/rootf", "sticky/x"), EPERM, "rename another's file in a sticky dir");
	OK(mkfile("sticky/userf", "u", 0644), "create one's own file in a sticky dir");
	OK(S->rename("sticky/userf", "sticky/userg"), "rename one's own file in a sticky dir");
	OK(S->unlink("sticky/userg"), "unlink one's own file in a sticky dir");
	fd = S->open("sticky/rootf", ANYK_O_WRONLY, 0);
	TRUE(fd >= 0, "write another's 0666 file in a sticky dir");
	S->close(fd);

	/* setgid directory */
	OK(mkfile("sgid/f", NULL, 0644), "create in a setgid dir");
	IS(st_of("sgid/f").st_gid, 2000, "the file gets the dir's group");
	IS(st_of("sgid/f").st_uid, 1000, "and the creator's uid");
	OK(S->mkdir("sgid/d", 0755), "mkdir in a setgid dir");
	st = st_of("sgid/d");
	IS(st.st_gid, 2000, "the subdir gets the dir's group");
	TRUE(st.st_mode & ANYK_S_ISGID, "the subdir inherits setgid");
	OK(mkfile("udir/f", NULL, 0644), "create in an ordinary dir");
	IS(st_of("udir/f").st_gid, 1000, "the file gets the creator's gid");

	/* mknod of devices needs privilege */
	ERR(S->mknod("udir/c", ANYK_S_IFCHR | 0600, ANYK_MAKEDEV(1, 3)), EPERM, "mknod a device as a user");
	OK(S->mknod("udir/p", ANYK_S_IFIFO | 0600, 0), "mknod a FIFO as a user");
}

/* In the anyk run: a fresh process context. In the host run: a forked
 * child, since credentials are process-wide. */
static void t_perm(void)
{
	perm_setup();
	perm_root_checks();
	if (S->is_anyk) {
		struct anyk_proc *p = anyk_proc_create(NULL, 0), *prev;
		char dir[700];

		TRUE(p != NULL, "anyk_proc_create");
		if (!p)
			return;
		prev = anyk_proc_switch(p);
		snprintf(dir, sizeof(dir), "%s/perm", BASE);
		OK(S->chdir(dir), "chdir in the new context");
		OK(S->setgroups(2, user_groups), "setgroups {1000, 2000}");
		OK(S->setgid(1000), "setgid 1000");
		OK(S->setuid(1000), "setuid 1000");
		perm_user_checks();
		anyk_proc_switch(prev);
		anyk_proc_release(p);
		IS(S->getuid(), 0, "the initial context is still root");
	} else {
		pid_t pid;
		int status = 0;

		if (geteuid() != 0) {
			T_SKIP("host: permission checks need root");
			return;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			t_failed = 0;
			OK(S->setgroups(2, user_groups), "setgroups {1000, 2000}");
			OK(S->setgid(1000), "setgid 1000");
			OK(S->setuid(1000), "setuid 1000");
			perm_user_checks();
			fflush(stdout);
			_exit(t_failed ? 1 : 0);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status))
			T_OK(0, "host: permission child died (status %d)", status);
		else if (WEXITSTATUS(status) != 0)
			t_failed++; /* its "not ok" lines are already printed */
	}
	/* root again: check what the user left */
	IS(st_of("sgid/f").st_gid, 2000, "setgid-dir file seen by root");
}

/* --- O_APPEND with concurrent writers --------------------------------------- */

#define APP_THREADS 4
#define APP_RECORDS 1000
#define APP_RECLEN 32
#define APP_FILL "xxxxxxxxxxxxxxxxxxxxxx" /* pads a record to APP_RECLEN */

static char app_path[700];

static void *append_writer(void *arg)
{
	long id = (long)arg;
	char rec[APP_RECLEN + 1];
	int fd, i;
	long bad = 0;

	fd = S->open(app_path, ANYK_O_WRONLY | ANYK_O_APPEND, 0);
	if (fd < 0)
		return (void *)(long)APP_RECORDS;
	for (i = 0; i < APP_RECORDS; i++) {
		snprintf(rec, sizeof(rec), "T%ld R%04d %s\n", id, i, APP_FILL);
		if (S->write(fd, rec, APP_RECLEN) != APP_RECLEN)
			bad++;
	}
	S->close(fd);
	return (void *)bad;
}

static void t_append(void)
{
	pthread_t th[APP_THREADS];
	long i, bad = 0, torn = 0, order = 0;
	int next[APP_THREADS] = {0}, fd;
	static char buf[APP_THREADS * APP_RECORDS * APP_RECLEN + 64];
	anyk_ssize_t n, got = 0;

	section("append");
	snprintf(app_path, sizeof(app_path), "%s/append/log", BASE);
	OK(mkfile("log", NULL, 0644), "create the log");
	for (i = 0; i < APP_THREADS; i++)
		pthread_create(&th[i], NULL, append_writer, (void *)i);
	for (i = 0; i < APP_THREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	IS(bad, 0, "every append wrote a whole record");
	IS(size_of("log"), APP_THREADS * APP_RECORDS * APP_RECLEN, "final size is exact");
	fd = S->open("log", ANYK_O_RDONLY, 0);
	while ((n = S->read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += n;
	S->close(fd);
	IS(got, APP_THREADS * APP_RECORDS * APP_RECLEN, "read it all back");
	for (i = 0; i + APP_RECLEN <= got; i += APP_RECLEN) {
		int t, r;
		char tail[32];
		if (sscanf(buf + i, "T%d R%4d %22s", &t, &r, tail) != 3 || t < 0 ||
		    t >= APP_THREADS || buf[i + APP_RECLEN - 1] != '\n' ||
		    strcmp(tail, APP_FILL) != 0) {
			torn++;
			continue;
		}
		if (r != next[t])
			order++;
		next[t] = r + 1;
	}
	IS(torn, 0, "no record is torn");
	IS(order, 0, "each writer's records appear once, in order");
	for (i = 0; i < APP_THREADS; i++)
		if (next[i] != APP_RECORDS)
			order++;
	IS(order, 0, "no record is lost");
}

/* --- file flags: immutable and append-only ---------------------------------- */

#define FL_MINE (ANYK_FL_IMMUTABLE | ANYK_FL_APPEND | ANYK_FL_NODUMP | ANYK_FL_NOATIME)

static uint32_t flags_of(const char *path)
{
	uint32_t f = 0;

	if (S->getflags(path, &f) != 0)
		return 0xffffffffu;
	return f & FL_MINE;
}

/* Runs as uid 1000 in the flags section. */
static void flags_user_checks(void)
{
	OK(S->chflags("ufile", ANYK_FL_NODUMP), "the owner sets NODUMP");
	ERR(S->chflags("ufile", ANYK_FL_NODUMP | ANYK_FL_IMMUTABLE), EPERM, "only root sets IMMUTABLE");
	ERR(S->chflags("ufile", ANYK_FL_APPEND), EPERM, "only root sets APPEND");
	ERR(S->chflags("rfile", ANYK_FL_NODUMP), EPERM, "not the owner: no flags");
}

static void t_flags(void)
{
	struct anyk_timespec t[2] = {{1, 0}, {2, 0}};
	char b[16];
	int fd, wfd;

	section("flags");
	OK(mkfile("f", "data", 0644), "create f");
	OK(mkfile("other", "o", 0644), "create other");
	IS(flags_of("f"), 0, "a new file has no flags");
	OK(S->chflags("f", ANYK_FL_NODUMP), "set NODUMP");
	IS(flags_of("f"), ANYK_FL_NODUMP, "NODUMP reads back");
	ERR(S->chflags("f", 0x01000000), EOPNOTSUPP, "an unknown flag");
	IS(flags_of("f"), ANYK_FL_NODUMP, "the flags are unchanged");

	/* An immutable file. */
	wfd = S->open("f", ANYK_O_RDWR, 0);
	TRUE(wfd >= 0, "open f for writing before it is made immutable");
	OK(S->chflags("f", ANYK_FL_IMMUTABLE), "set IMMUTABLE");
	IS(flags_of("f"), ANYK_FL_IMMUTABLE, "the flags are set whole: IMMUTABLE alone");
	ERR(S->open("f", ANYK_O_WRONLY, 0), EPERM, "(open-time check) open an immutable file for writing");
	ERR(S->open("f", ANYK_O_RDONLY | ANYK_O_TRUNC, 0), EPERM, "open an immutable file with O_TRUNC");
	fd = S->open("f", ANYK_O_RDONLY, 0);
	TRUE(fd >= 0, "open an immutable file for reading");
	IS(S->read(fd, b, sizeof(b)), 4, "read it");
	S->close(fd);
	if (S->is_anyk) /* ext4's rule; Linux's tmpfs leaves open files be */
		ERR(S->write(wfd, "x", 1), EPERM, "write through a descriptor opened before");
	S->close(wfd);
	IS(size_of("f"), 4, "the data is unchanged");
	ERR(S->truncate("f", 0), EPERM, "truncate an immutable file");
	ERR(S->chmod("f", 0600), EPERM, "chmod an immutable file");
	ERR(S->chown("f", 1, 1), EPERM, "chown an immutable file");
	ERR(S->utimensat(ANYK_AT_FDCWD, "f", NULL, 0), EPERM, "touch an immutable file");
	ERR(S->utimensat(ANYK_AT_FDCWD, "f", t, 0), EPERM, "set an immutable file's times");
	ERR(S->unlink("f"), EPERM, "unlink an immutable file");
	ERR(S->rename("f", "g"), EPERM, "rename an immutable file");
	ERR(S->rename("other", "f"), EPERM, "rename over an immutable file");
	ERR(S->link("f", "g"), EPERM, "link to an immutable file");
	TRUE(exists("f") && !exists("g") && exists("other"), "the names are unchanged");

	/* An immutable directory. */
	OK(S->mkdir("d", 0755), "mkdir d");
	OK(mkfile("d/x", "x", 0644), "create d/x");
	OK(S->chflags("d", ANYK_FL_IMMUTABLE), "set IMMUTABLE on d");
	ERR(S->open("d/y", ANYK_O_WRONLY | ANYK_O_CREAT, 0644), EPERM, "create in an immutable directory");
	ERR(S->mkdir("d/sub", 0755), EPERM, "mkdir in an immutable directory");
	ERR(S->symlink("x", "d/l"), EPERM, "symlink in an immutable directory");
	ERR(S->unlink("d/x"), EPERM, "unlink in an immutable directory");
	ERR(S->rename("d/x", "d/z"), EPERM, "rename in an immutable directory");
	ERR(S->rename("other", "d/z"), EPERM, "rename into an immutable directory");
	ERR(S->rmdir("d"), EPERM, "rmdir an immutable directory");
	fd = S->open("d/x", ANYK_O_WRONLY | ANYK_O_APPEND, 0);
	TRUE(fd >= 0, "its files stay writable");
	IS(S->write(fd, "y", 1), 1, "write one");
	S->close(fd);

	/* An append-only file. */
	OK(mkfile("a", "12", 0644), "create a");
	OK(S->chflags("a", ANYK_FL_APPEND), "set APPEND");
	IS(flags_of("a"), ANYK_FL_APPEND, "APPEND reads back");
	ERR(S->open("a", ANYK_O_WRONLY, 0), EPERM, "(open-time check) open an append-only file for writing");
	ERR(S->open("a", ANYK_O_WRONLY | ANYK_O_APPEND | ANYK_O_TRUNC, 0), EPERM, "truncate it at open");
	fd = S->open("a", ANYK_O_WRONLY | ANYK_O_APPEND, 0);
	TRUE(fd >= 0, "open an append-only file with O_APPEND");
	IS(S->write(fd, "34", 2), 2, "append to it");
	ERR(S->fcntl(fd, ANYK_F_SETFL, 0), EPERM, "(host-only check) clear its O_APPEND");
	S->close(fd);
	IS(size_of("a"), 4, "the data grew");
	IS(read_all("a", b, sizeof(b)), 4, "read it back");
	TRUE(memcmp(b, "1234", 4) == 0, "appended at the end");
	ERR(S->truncate("a", 1), EPERM, "truncate an append-only file");
	ERR(S->chmod("a", 0600), EPERM, "chmod an append-only file");
	ERR(S->utimensat(ANYK_AT_FDCWD, "a", t, 0), EPERM, "set an append-only file's times");
	OK(S->utimensat(ANYK_AT_FDCWD, "a", NULL, 0), "touch an append-only file");
	ERR(S->unlink("a"), EPERM, "unlink an append-only file");
	ERR(S->rename("a", "b"), EPERM, "rename an append-only file");
	ERR(S->link("a", "b"), EPERM, "link to an append-only file");

	/* An append-only directory gains names but loses none. What is made
	 * in it takes its NODUMP, not its APPEND. */
	OK(S->mkdir("ad", 0755), "mkdir ad");
	OK(S->chflags("ad", ANYK_FL_APPEND | ANYK_FL_NODUMP), "set APPEND and NODUMP on ad");
	OK(mkfile("ad/n", "n", 0644), "create in an append-only directory");
	IS(flags_of("ad/n"), ANYK_FL_NODUMP, "the new file took NODUMP and not APPEND");
	OK(S->chflags("ad/n", 0), "clear the new file's flags");
	OK(S->rename("other", "ad/moved"), "move a name into it");
	ERR(S->unlink("ad/n"), EPERM, "unlink in an append-only directory");
	ERR(S->rename("ad/n", "ad/m"), EPERM, "rename in an append-only directory");
	ERR(S->rename("ad/moved", "back"), EPERM, "move a name out of it");

	/* Not root. */
	OK(mkfile("ufile", "u", 0644), "create ufile");
	OK(S->chown("ufile", 1000, 1000), "give it to uid 1000");
	OK(mkfile("rfile", "r", 0644), "create rfile");
	if (S->is_anyk) {
		struct anyk_proc *p = anyk_proc_create(NULL, 0), *prev;
		char dir[700];

		TRUE(p != NULL, "anyk_proc_create");
		if (p != NULL) {
			prev = anyk_proc_switch(p);
			snprintf(dir, sizeof(dir), "%s/flags", BASE);
			OK(S->chdir(dir), "chdir in the new context");
			OK(S->setgid(1000), "setgid 1000");
			OK(S->setuid(1000), "setuid 1000");
			flags_user_checks();
			anyk_proc_switch(prev);
			anyk_proc_release(p);
		}
	} else if (geteuid() == 0) {
		pid_t pid;
		int status = 0;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			t_failed = 0;
			OK(S->setgid(1000), "setgid 1000");
			OK(S->setuid(1000), "setuid 1000");
			flags_user_checks();
			fflush(stdout);
			_exit(t_failed ? 1 : 0);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status))
			T_OK(0, "host: flags child died (status %d)", status);
		else if (WEXITSTATUS(status) != 0)
			t_failed++;
	}
	IS(flags_of("ufile"), ANYK_FL_NODUMP, "what the user set");

	/* Root clears them, and everything goes. */
	OK(S->chflags("f", 0), "clear f's flags");
	OK(S->chflags("d", 0), "clear d's flags");
	OK(S->chflags("a", 0), "clear a's flags");
	OK(S->chflags("ad", 0), "clear ad's flags");
	IS(flags_of("f") | flags_of("d") | flags_of("a") | flags_of("ad"), 0, "no flags left");
	OK(S->unlink("f"), "unlink f");
	OK(S->unlink("a"), "unlink a");
	OK(S->unlink("d/x"), "unlink d/x");
	OK(S->rmdir("d"), "rmdir d");
	OK(S->unlink("ad/n"), "unlink ad/n");
	OK(S->unlink("ad/moved"), "unlink ad/moved");
	OK(S->rmdir("ad"), "rmdir ad");
}

/* --- the two runs ------------------------------------------------------------ */

static void run_all(void)
{
	S->umask(022);
	t_open();
	t_rw();
	t_sparse();
	t_stat();
	t_dirs();
	t_symlinks();
	t_rename();
	t_renameat2();
	t_fallocate();
	t_link();
	t_getdents();
	t_fds();
	t_pipes();
	t_times();
	t_misc();
	t_exdev();
	t_perm();
	t_append();
	t_flags();
}

static int rm_tree_host(const char *path)
{
	char cmd[800];

	/* paths come from mkdtemp: no quoting trouble */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

/* ANYK_SEMANTICS_HOSTDIR=DIR runs only the host half, in a new directory
 * under DIR (e.g. an anyk FUSE mount); checks that need a private file
 * system (exact statvfs counts, EXDEV) are then left out. */
static void host_run(void)
{
	char dir[600] = "/dev/shm/anyk-posix-XXXXXX";
	const char *hostdir = getenv("ANYK_SEMANTICS_HOSTDIR");
	int mounted = 0;

	S = &host_ops;
	if (hostdir != NULL)
		snprintf(dir, sizeof(dir), "%s/anyk-posix-XXXXXX", hostdir);
	if (geteuid() != 0) {
		/* chown, mknod of devices, root's overrides and the
		 * credential checks all need it */
		T_SKIP("host: the reference run needs root");
		return;
	}
	if (!mkdtemp(dir)) {
		T_SKIP("host: cannot make a directory in /dev/shm: run skipped");
		return;
	}
	chmod(dir, 0755);
	/* As root, a private tmpfs in a private mount namespace: the
	 * statvfs and EXDEV checks then see nobody else's files, and the
	 * mounts vanish with the process whatever happens. */
	if (hostdir == NULL && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) == 0 &&
	    mount("tmpfs", dir, "tmpfs", 0, "size=256m,mode=0755") == 0)
		mounted = 1;
	can_mount = mounted;
	private_fs = mounted;
	snprintf(BASE, sizeof(BASE), "%s", dir);
	run_all();
	if (chdir("/") != 0)
		T_OK(0, "host: chdir /");
	if (mounted)
		umount2(dir, MNT_DETACH);
	if (rm_tree_host(dir) != 0 || access(dir, F_OK) == 0)
		T_OK(0, "host: remove %s", dir);
}

static void anyk_run(void)
{
	S = &anyk_ops;
	if (anyk_init() != 0) {
		T_OK(0, "anyk: anyk_init");
		return;
	}
	snprintf(BASE, sizeof(BASE), "/sem");
	can_mount = 1;
	private_fs = 1;
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
	alarm(300); /* a hang fails by SIGALRM, well inside the runner's limit */
	host_run();
	if (getenv("ANYK_SEMANTICS_HOSTDIR") == NULL)
		anyk_run();
	return t_done();
}
