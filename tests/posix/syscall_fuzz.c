/*
 * Random system calls with hostile arguments: bad and stale descriptors,
 * random flag words, modes, offsets, lengths, whence values, over-long and
 * odd paths. Nothing may crash, hang or corrupt the kernel (run under ASan
 * in make check SAN=1): every call returns a result or -1 with a valid
 * errno. Afterwards the tree is removed and the kernel must be consistent
 * and free its memory at shutdown. Deterministic (seeded), bounded.
 */
#include <errno.h>
#include <stdint.h>

#include "../harness.h"
#include <anyk/anyk.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *paths[] = {
	"/", "/f", "/d", "/d/", "/d/f", "/d/g", "/d/sub", "/d/sub/x", "/l", "/loop", "/dangling",
	"/d/../f", "//d//f", "/./d/.", "/f/", "/nonexistent/x", "", ".", "..", "f", "d/f",
	"/dev/null", "/dev/zero", "/p", "/d/sub/../../f", "/l/", "/loop/x",
};
static char longpath[ANYK_PATH_MAX + 16];
static char longname[ANYK_NAME_MAX + 8];

static const char *rpath(void)
{
	const unsigned n = sizeof paths / sizeof paths[0];
	unsigned r = (unsigned)(rnd() % (n + 2));
	if (r == n)
		return longpath;
	if (r == n + 1)
		return longname;
	return paths[r];
}

static int rfd(void)
{
	switch (rnd() % 6) {
	case 0: return -1;
	case 1: return (int)(rnd() % 64);
	case 2: return 1 << 20;
	case 3: return ANYK_AT_FDCWD;
	case 4: return (int)rnd();
	default: return (int)(rnd() % 8) + 3;
	}
}

/* Lengths never exceed the buffer passed with them: the kernel runs in the
 * caller's address space and cannot tell a short buffer from a long one,
 * exactly as a C library function cannot. */
static long rlen(void)
{
	switch (rnd() % 4) {
	case 0: return 0;
	case 1: return (long)(rnd() % 64);
	case 2: return 4096;
	default: return (long)(rnd() % 65536);
	}
}

static int64_t roff(void)
{
	switch (rnd() % 5) {
	case 0: return 0;
	case 1: return (int64_t)(rnd() % 100000);
	case 2: return -(int64_t)(rnd() % 100);
	case 3: return INT64_MAX - (int64_t)(rnd() % 10);
	default: return (int64_t)rnd();
	}
}

int main(void)
{
	static char buf[70000];
	struct anyk_stat st;
	struct anyk_statvfs sv;
	struct anyk_iovec iov[4];
	long calls = 0, errs = 0, bad_errno = 0;
	int fds[2];

	memset(longpath, 'a', sizeof longpath - 1);
	for (size_t i = 1; i < sizeof longpath - 1; i += 2)
		longpath[i] = '/';
	memset(longname, 'n', sizeof longname - 1);
	longname[0] = '/';

	T_EQ(anyk_init(), 0, "anyk_init");
	anyk_sys_mkdir("/d", 0755);
	anyk_sys_mkdir("/d/sub", 0755);
	anyk_sys_symlink("/d", "/l");
	anyk_sys_symlink("/loop", "/loop");
	anyk_sys_symlink("/nowhere", "/dangling");
	anyk_sys_close(anyk_sys_open("/f", ANYK_O_CREAT | ANYK_O_RDWR, 0644));

	for (int i = 0; i < 200000; i++) {
		long r = 0;
		errno = 0;
		switch (rnd() % 31) {
		case 0: r = anyk_sys_open(rpath(), (int)rnd(), (anyk_mode_t)rnd()); break;
		case 1: r = anyk_sys_open(rpath(), (int)(rnd() & ANYK_O_VALID), 0644); break;
		case 2: r = anyk_sys_close(rfd()); break;
		case 3: r = anyk_sys_read(rfd(), buf, (size_t)rlen()); break;
		case 4: r = anyk_sys_write(rfd(), buf, (size_t)(rlen() & 0xffff)); break;
		case 5: r = anyk_sys_pread(rfd(), buf, (size_t)(rlen() & 0xffff), roff()); break;
		case 6: r = anyk_sys_pwrite(rfd(), buf, (size_t)(rlen() & 0xfff), roff() & 0xfffff); break;
		case 7: r = anyk_sys_lseek(rfd(), roff(), (int)(rnd() % 8) - 1); break;
		case 8: r = anyk_sys_fstatat(rfd(), rpath(), &st, (int)(rnd() & 0x1fff)); break;
		case 9: r = anyk_sys_mkdirat(rfd(), rpath(), (anyk_mode_t)rnd()); break;
		case 10: r = anyk_sys_unlinkat(rfd(), rpath(), (int)(rnd() & 0x3ff)); break;
		case 11: r = anyk_sys_renameat(rfd(), rpath(), rfd(), rpath()); break;
		case 12: r = anyk_sys_linkat(rfd(), rpath(), rfd(), rpath(), (int)(rnd() & 0x1fff)); break;
		case 13: r = anyk_sys_symlinkat(rpath(), rfd(), rpath()); break;
		case 14: r = anyk_sys_readlinkat(rfd(), rpath(), buf, (size_t)(rlen() & 0xffff)); break;
		case 15: r = anyk_sys_getdents(rfd(), buf, (size_t)(rlen() & 0xffff)); break;
		case 16: r = anyk_sys_fchmodat(rfd(), rpath(), (anyk_mode_t)rnd(), (int)(rnd() & 0x1ff)); break;
		case 17: r = anyk_sys_fchownat(rfd(), rpath(), (anyk_uid_t)(rnd() % 3 ? rnd() % 2000 : (uint64_t)-1), (anyk_gid_t)(rnd() % 2000), (int)(rnd() & 0x1fff)); break;
		case 18: {
			struct anyk_timespec ts[2] = { { (int64_t)rnd(), (int64_t)(rnd() % 3 ? rnd() % 1000000000 : rnd()) },
						       { (int64_t)(rnd() % 100000), ANYK_UTIME_OMIT } };
			r = anyk_sys_utimensat(rfd(), rpath(), rnd() % 4 ? ts : NULL, (int)(rnd() & 0x1fff));
			break;
		}
		case 19: r = anyk_sys_truncate(rpath(), roff() & 0xfffffff); break;
		case 20: r = anyk_sys_ftruncate(rfd(), roff()); break;
		case 21: r = anyk_sys_dup3(rfd(), rfd(), (int)(rnd() & 0xfffff)); break;
		case 22: r = anyk_sys_fcntl(rfd(), (int)(rnd() % 1040), (long)rnd()); break;
		case 23: {
			/* No FIFOs: opening one blocks until a peer opens it, as POSIX says. */
			anyk_mode_t m = (anyk_mode_t)rnd();
			if ((m & ANYK_S_IFMT) == ANYK_S_IFIFO)
				m &= ~(anyk_mode_t)ANYK_S_IFMT;
			r = anyk_sys_mknodat(rfd(), rpath(), m, (anyk_dev_t)rnd());
			break;
		}
		case 24: r = anyk_sys_fstatvfs(rfd(), &sv); break;
		case 25: {
			int cnt = (int)(rnd() % 6) - 1;
			for (int k = 0; k < 4; k++) {
				iov[k].iov_base = buf + (rnd() % 1000);
				iov[k].iov_len = (size_t)(rnd() % 5000);
			}
			r = rnd() & 1 ? anyk_sys_readv(rfd(), iov, cnt) : anyk_sys_writev(rfd(), iov, cnt);
			break;
		}
		case 26: r = anyk_sys_faccessat(rfd(), rpath(), (int)(rnd() & 0xf), (int)(rnd() & 0x3ff)); break;
		case 27: r = anyk_sys_fchdir(rfd()); if (r == 0) anyk_sys_chdir("/"); break;
		case 28:
			/* Non-blocking, so that a random read of an empty pipe cannot wait forever. */
			r = anyk_sys_pipe2(fds, (int)(rnd() & 0xfffff) | ANYK_O_NONBLOCK);
			break;
		case 29:
			r = rnd() % 2 ? anyk_sys_chflagsat(rfd(), rpath(), (uint32_t)rnd(), (int)(rnd() & 0x1fff))
				      : anyk_sys_fchflags(rfd(), (uint32_t)(rnd() & (ANYK_FL_SETTABLE | 0x80000)));
			break;
		default: r = anyk_sys_dup(rfd()); break;
		}
		calls++;
		if (r < 0) {
			errs++;
			if (errno <= 0 || errno > 4095)
				bad_errno++;
		}
	}
	T_OK(calls == 200000, "200,000 random system calls returned (%ld failed with an error)", errs);
	T_EQ(bad_errno, 0, "every failure set a valid errno");
	/* Immutable and append-only flags the storm left would refuse what
	 * follows: clear them. */
	for (unsigned k = 0; k < sizeof paths / sizeof paths[0]; k++)
		anyk_sys_chflagsat(ANYK_AT_FDCWD, paths[k], 0, ANYK_AT_SYMLINK_NOFOLLOW);
	/* Close whatever is still open, then check the namespace still works. */
	for (int fd = 0; fd < ANYK_OPEN_MAX; fd++)
		anyk_sys_close(fd);
	T_EQ(anyk_sys_chdir("/"), 0, "chdir / still works");
	int fd = anyk_sys_open("/after", ANYK_O_CREAT | ANYK_O_RDWR | ANYK_O_TRUNC, 0644);
	T_OK(fd >= 0, "a file can still be created");
	T_EQ(anyk_sys_write(fd, "ok", 2), 2, "and written");
	T_EQ(anyk_sys_fstat(fd, &st), 0, "and stat'ed");
	T_EQ(st.st_size, 2, "with the right size");
	anyk_sys_close(fd);
	T_EQ(anyk_fini(), 0, "anyk_fini after the storm");
	return t_done();
}
