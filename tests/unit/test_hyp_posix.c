/*
 * The POSIX host's hypercalls, called directly (no kernel booted): memory,
 * errno translation, parameters, clocks and sleeping, randomness, threads
 * and their per-thread slots, locks, host files and asynchronous block I/O,
 * also in the no-threads mode (ANYK_THREADS=0, run in a re-executed copy of
 * this program so that the mode is set before the host reads it).
 */
#include "../harness.h"

#include <anyk/hyper.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static int64_t
mono(void)
{
	return anyk_hyp_clock_ns(ANYK_HYP_CLOCK_MONO);
}

static char tmpdir[4096];

static void
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* --- memory ------------------------------------------------------------- */

static void *chunk_seen; /* a 2 MiB chunk freed into the host's cache */

static void
test_memory(void)
{
	static const size_t aligns[] = { sizeof(void *), 16, 64, 512, 4096 };
	size_t i;
	int good = 1;

	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		size_t a = aligns[i];
		unsigned char *p = anyk_hyp_malloc(3 * a + 1, a);

		if (p == NULL || ((uintptr_t)p & (a - 1)) != 0) {
			good = 0;
		} else {
			memset(p, 0xa5, 3 * a + 1);
			anyk_hyp_free(p, 3 * a + 1);
		}
	}
	T_OK(good, "malloc: aligned blocks for every alignment up to 4096");
	{
		void *p = anyk_hyp_malloc(1, 1);
		T_OK(p != NULL && ((uintptr_t)p & (sizeof(void *) - 1)) == 0,
		     "malloc: small alignment rounds up to a pointer");
		anyk_hyp_free(p, 1);
	}
	{
		/* 2 MiB chunks: freed ones are kept for the next request, and
		 * are whole and writable when they come back. */
		size_t cs = (size_t)2 << 20, k;
		unsigned char *c1 = anyk_hyp_malloc(cs, 4096), *c2;
		int whole = c1 != NULL && ((uintptr_t)c1 & (cs - 1)) == 0;

		if (c1 != NULL) {
			memset(c1, 0x5a, cs);
			anyk_hyp_free(c1, cs);
		}
		c2 = anyk_hyp_malloc(cs, 4096);
		T_OK(whole && c2 == c1, "malloc: a freed 2 MiB chunk, 2 MiB aligned, is reused by the next");
		if (c2 != NULL) {
			memset(c2, 0x33, cs);
			for (k = 0; k < cs && c2[k] == 0x33; k++)
				;
			T_EQ(k, cs, "malloc: the reused chunk is writable to its end");
			anyk_hyp_free(c2, cs);
		}
		chunk_seen = c2;
	}
	T_OK(anyk_hyp_malloc(16, 24) == NULL, "malloc: non-power-of-two alignment gives NULL");
	T_OK(anyk_hyp_malloc(0, 16) == NULL, "malloc: size 0 gives NULL");
	anyk_hyp_free(NULL, 0);
	T_OK(1, "free(NULL) is harmless");
}

/* --- errno, parameters, console ---------------------------------------- */

static void
test_errno(void)
{
	static const struct {
		int anyk, host;
		const char *name;
	} map[] = {
		{ ANYK_EPERM, EPERM, "EPERM" },
		{ ANYK_ENOENT, ENOENT, "ENOENT" },
		{ ANYK_EIO, EIO, "EIO" },
		{ ANYK_EBADF, EBADF, "EBADF" },
		{ ANYK_EAGAIN, EAGAIN, "EAGAIN" },
		{ ANYK_ENOMEM, ENOMEM, "ENOMEM" },
		{ ANYK_EACCES, EACCES, "EACCES" },
		{ ANYK_EEXIST, EEXIST, "EEXIST" },
		{ ANYK_ENOTDIR, ENOTDIR, "ENOTDIR" },
		{ ANYK_EISDIR, EISDIR, "EISDIR" },
		{ ANYK_EINVAL, EINVAL, "EINVAL" },
		{ ANYK_ENOSPC, ENOSPC, "ENOSPC" },
		{ ANYK_EROFS, EROFS, "EROFS" },
		{ ANYK_ENAMETOOLONG, ENAMETOOLONG, "ENAMETOOLONG" },
		{ ANYK_ENOSYS, ENOSYS, "ENOSYS" },
		{ ANYK_ENOTEMPTY, ENOTEMPTY, "ENOTEMPTY" },
		{ ANYK_ELOOP, ELOOP, "ELOOP" },
		{ ANYK_EOVERFLOW, EOVERFLOW, "EOVERFLOW" },
		{ ANYK_EOPNOTSUPP, EOPNOTSUPP, "EOPNOTSUPP" },
		{ ANYK_ETIMEDOUT, ETIMEDOUT, "ETIMEDOUT" },
		{ ANYK_ECONNREFUSED, ECONNREFUSED, "ECONNREFUSED" },
		{ ANYK_EDQUOT, EDQUOT, "EDQUOT" },
		{ ANYK_EWOULDBLOCK, EWOULDBLOCK, "EWOULDBLOCK" },
		{ ANYK_ENOTSUP, ENOTSUP, "ENOTSUP" },
#ifdef EUCLEAN
		{ ANYK_EFSCORRUPTED, EUCLEAN, "EFSCORRUPTED" },
#endif
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		char what[64];

		errno = 0;
		anyk_hyp_set_errno(map[i].anyk);
		snprintf(what, sizeof(what), "set_errno(ANYK_%s)", map[i].name);
		T_EQ(errno, map[i].host, what);
	}
	errno = EDOM;
	anyk_hyp_set_errno(0);
	T_EQ(errno, 0, "set_errno(0) clears errno");
	anyk_hyp_set_errno(9999);
	T_EQ(errno, EIO, "set_errno: unknown number becomes EIO");
	anyk_hyp_set_errno(ANYK_ELAST);
	T_EQ(errno, EIO, "set_errno: ANYK_ELAST is no error, EIO");
}

static void
test_params(void)
{
	char buf[16];

	setenv("ANYK_TEST_PARAM", "hello", 1);
	T_EQ(anyk_hyp_getparam("ANYK_TEST_PARAM", buf, sizeof(buf)), 0, "getparam: set");
	T_OK(strcmp(buf, "hello") == 0, "getparam: value copied");
	T_EQ(anyk_hyp_getparam("ANYK_TEST_PARAM", buf, 6), 0, "getparam: exact fit with NUL");
	T_EQ(anyk_hyp_getparam("ANYK_TEST_PARAM", buf, 5), ANYK_ENAMETOOLONG,
	     "getparam: no room for the NUL");
	T_EQ(anyk_hyp_getparam("ANYK_TEST_PARAM", buf, 0), ANYK_ENAMETOOLONG,
	     "getparam: zero-length buffer");
	unsetenv("ANYK_TEST_PARAM");
	T_EQ(anyk_hyp_getparam("ANYK_TEST_PARAM", buf, sizeof(buf)), ANYK_ENOENT,
	     "getparam: unset is ENOENT");

	errno = EDOM;
	anyk_hyp_console("anyk test: console line\n", 24);
	T_EQ(errno, EDOM, "console: written, errno untouched");
}

/* --- clocks, sleep, random ----------------------------------------------- */

static void
test_clocks(void)
{
	int64_t a, b, real;
	struct timespec ts;
	int i, mono_ok = 1;

	a = mono();
	for (i = 0; i < 1000; i++) {
		b = mono();
		if (b < a)
			mono_ok = 0;
		a = b;
	}
	T_OK(mono_ok && a > 0, "clock: monotonic never goes back");

	clock_gettime(CLOCK_REALTIME, &ts);
	real = anyk_hyp_clock_ns(ANYK_HYP_CLOCK_REAL);
	T_OK(real / 1000000000LL - (int64_t)ts.tv_sec <= 1 &&
	     real / 1000000000LL - (int64_t)ts.tv_sec >= 0,
	     "clock: real is ns since 1970 (%lld s)", (long long)(real / 1000000000LL));
	T_OK(real > 1600000000LL * 1000000000LL, "clock: real is after 2020");

	a = mono();
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, 30 * MS, 0);
	b = mono() - a;
	T_OK(b >= 30 * MS && b < 530 * MS, "sleep: relative 30 ms took %lld us", (long long)(b / 1000));

	a = mono();
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, a + 25 * MS, 1);
	b = mono();
	T_OK(b >= a + 25 * MS && b < a + 525 * MS, "sleep: absolute monotonic deadline reached");

	a = anyk_hyp_clock_ns(ANYK_HYP_CLOCK_REAL);
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_REAL, a + 20 * MS, 1);
	b = anyk_hyp_clock_ns(ANYK_HYP_CLOCK_REAL);
	T_OK(b >= a + 20 * MS, "sleep: absolute real-time deadline reached");

	a = mono();
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, a - 1000 * MS, 1);
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, -5, 0);
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, 0, 0);
	T_OK(mono() - a < 200 * MS, "sleep: past deadline and non-positive duration return at once");
}

static void
test_random(void)
{
	unsigned char a[32], b[32], zero[32];
	unsigned char *big;
	size_t i, nz = 0;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	T_EQ(anyk_hyp_random(a, sizeof(a)), 0, "random: 32 bytes");
	T_EQ(anyk_hyp_random(b, sizeof(b)), 0, "random: 32 more bytes");
	T_OK(memcmp(a, b, sizeof(a)) != 0 && memcmp(a, zero, sizeof(a)) != 0,
	     "random: not constant");
	big = malloc(1 << 20);
	memset(big, 0, 1 << 20);
	T_EQ(anyk_hyp_random(big, 1 << 20), 0, "random: 1 MiB in one call");
	for (i = (1 << 20) - 4096; i < (1 << 20); i++)
		nz += big[i] != 0;
	T_OK(nz > 3500, "random: the end of a large buffer is filled too");
	free(big);
	T_EQ(anyk_hyp_random(a, 0), 0, "random: zero bytes");
}

/* --- threads ------------------------------------------------------------- */

struct tharg {
	void *ctx_seen;  /* curctx at thread start: must be NULL */
	void *ctx_after; /* after setting its own */
	uint64_t id, id2;
	int ran;
};

static void
thread_body(void *p)
{
	struct tharg *a = p;

	a->ctx_seen = anyk_hyp_curctx_get();
	anyk_hyp_curctx_set(a);
	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, 5 * MS, 0);
	a->ctx_after = anyk_hyp_curctx_get();
	a->id = anyk_hyp_thread_id();
	a->id2 = anyk_hyp_thread_id();
	a->ran = 1;
}

static void
thread_exits(void *p)
{
	*(int *)p = 1;
	anyk_hyp_thread_exit();
}

struct detached {
	struct anyk_hyp_mutex *m;
	struct anyk_hyp_cond *cv;
	int done;
};

static void
detached_body(void *p)
{
	struct detached *d = p;

	anyk_hyp_mutex_enter(d->m);
	d->done = 1;
	anyk_hyp_cond_signal(d->cv);
	anyk_hyp_mutex_exit(d->m);
}

static void
test_threads(void)
{
	struct anyk_hyp_thread *t[3];
	struct tharg a[3];
	struct detached d = { 0 };
	int i, err, ok = 1, exited = 0;
	int mainctx;
	uint64_t me;

	anyk_hyp_curctx_set(&mainctx);
	me = anyk_hyp_thread_id();
	T_OK(me != 0 && me == anyk_hyp_thread_id(), "thread_id: stable and non-zero");
	memset(a, 0, sizeof(a));
	for (i = 0; i < 3; i++) {
		err = anyk_hyp_thread_create(thread_body, &a[i], "anyk-test-thread-long-name", 1, &t[i]);
		if (err)
			ok = 0;
	}
	T_OK(ok, "thread_create: three joinable threads");
	for (i = 0; i < 3 && ok; i++)
		T_EQ(anyk_hyp_thread_join(t[i]), 0, "thread_join");
	for (i = 0; i < 3 && ok; i++) {
		T_OK(a[i].ran && a[i].ctx_seen == NULL && a[i].ctx_after == &a[i],
		     "curctx: thread %d starts with NULL and keeps its own", i);
		T_OK(a[i].id == a[i].id2 && a[i].id != me && a[i].id != 0,
		     "thread_id: thread %d has its own id %llu", i, (unsigned long long)a[i].id);
	}
	T_OK(ok && a[0].id != a[1].id && a[1].id != a[2].id && a[0].id != a[2].id,
	     "thread_id: distinct per thread");
	T_OK(anyk_hyp_curctx_get() == &mainctx, "curctx: main thread's value untouched by others");
	T_OK(me < 1000, "thread_id: small number (%llu)", (unsigned long long)me);

	T_EQ(anyk_hyp_thread_create(thread_exits, &exited, "exiter", 1, &t[0]), 0,
	     "thread_create: thread that calls thread_exit");
	T_EQ(anyk_hyp_thread_join(t[0]), 0, "thread_join after thread_exit");
	T_EQ(exited, 1, "thread_exit: thread ran up to the exit");

	anyk_hyp_mutex_init(&d.m);
	anyk_hyp_cond_init(&d.cv);
	T_EQ(anyk_hyp_thread_create(detached_body, &d, NULL, 0, NULL), 0,
	     "thread_create: detached, no handle");
	anyk_hyp_mutex_enter(d.m);
	while (!d.done)
		anyk_hyp_cond_wait(d.cv, d.m);
	anyk_hyp_mutex_exit(d.m);
	T_OK(d.done, "detached thread ran and signalled");
	anyk_hyp_cond_destroy(d.cv);
	anyk_hyp_mutex_destroy(d.m);
	anyk_hyp_curctx_set(NULL);
}

/* --- locks --------------------------------------------------------------- */

#define NCOUNT 4
#define ITERS 20000

struct counter {
	struct anyk_hyp_mutex *m;
	long n;
};

static void
count_body(void *p)
{
	struct counter *c = p;
	int i;

	for (i = 0; i < ITERS; i++) {
		anyk_hyp_mutex_enter(c->m);
		c->n++;
		anyk_hyp_mutex_exit(c->m);
	}
}

struct trier {
	struct anyk_hyp_mutex *m;
	struct anyk_hyp_rwlock *rw;
	int mutex_try, rd_try, wr_try;
};

static void
try_body(void *p)
{
	struct trier *t = p;

	if (t->m != NULL)
		t->mutex_try = anyk_hyp_mutex_tryenter(t->m);
	if (t->rw != NULL) {
		t->rd_try = anyk_hyp_rw_tryenter(t->rw, 0);
		if (t->rd_try == 0)
			anyk_hyp_rw_exit(t->rw);
		t->wr_try = anyk_hyp_rw_tryenter(t->rw, 1);
		if (t->wr_try == 0)
			anyk_hyp_rw_exit(t->rw);
	}
}

static int
run_try(struct trier *tr)
{
	struct anyk_hyp_thread *t;

	if (anyk_hyp_thread_create(try_body, tr, "try", 1, &t) != 0)
		return -1;
	return anyk_hyp_thread_join(t);
}

struct waker {
	struct anyk_hyp_mutex *m;
	struct anyk_hyp_cond *cv;
	int flag;
};

static void
waker_body(void *p)
{
	struct waker *w = p;

	anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, 20 * MS, 0);
	anyk_hyp_mutex_enter(w->m);
	w->flag = 1;
	anyk_hyp_cond_broadcast(w->cv);
	anyk_hyp_mutex_exit(w->m);
}

static void
test_locks(void)
{
	struct counter c = { 0 };
	struct anyk_hyp_thread *t[NCOUNT];
	struct trier tr;
	struct waker w = { 0 };
	struct anyk_hyp_rwlock *rw;
	int64_t start, deadline, now;
	int i, err;

	T_EQ(anyk_hyp_mutex_init(&c.m), 0, "mutex_init");
	for (i = 0; i < NCOUNT; i++)
		anyk_hyp_thread_create(count_body, &c, "count", 1, &t[i]);
	for (i = 0; i < NCOUNT; i++)
		anyk_hyp_thread_join(t[i]);
	T_EQ(c.n, (long)NCOUNT * ITERS, "mutex: no lost increments across 4 threads");

	T_EQ(anyk_hyp_mutex_tryenter(c.m), 0, "mutex_tryenter: free mutex");
	memset(&tr, 0, sizeof(tr));
	tr.m = c.m;
	T_EQ(run_try(&tr), 0, "mutex: other thread tried");
	T_EQ(tr.mutex_try, ANYK_EBUSY, "mutex_tryenter: held elsewhere is EBUSY");
	anyk_hyp_mutex_exit(c.m);
	anyk_hyp_mutex_destroy(c.m);

	T_EQ(anyk_hyp_rw_init(&rw), 0, "rw_init");
	anyk_hyp_rw_enter(rw, 0);
	memset(&tr, 0, sizeof(tr));
	tr.rw = rw;
	run_try(&tr);
	T_EQ(tr.rd_try, 0, "rwlock: second reader gets in beside a reader");
	T_EQ(tr.wr_try, ANYK_EBUSY, "rwlock: writer kept out by a reader");
	anyk_hyp_rw_exit(rw);
	anyk_hyp_rw_enter(rw, 1);
	memset(&tr, 0, sizeof(tr));
	tr.rw = rw;
	run_try(&tr);
	T_EQ(tr.rd_try, ANYK_EBUSY, "rwlock: reader kept out by a writer");
	T_EQ(tr.wr_try, ANYK_EBUSY, "rwlock: writer kept out by a writer");
	anyk_hyp_rw_exit(rw);
	T_EQ(anyk_hyp_rw_tryenter(rw, 1), 0, "rw_tryenter: free lock, exclusive");
	anyk_hyp_rw_exit(rw);
	anyk_hyp_rw_destroy(rw);

	T_EQ(anyk_hyp_mutex_init(&w.m), 0, "cond: mutex_init");
	T_EQ(anyk_hyp_cond_init(&w.cv), 0, "cond_init");
	anyk_hyp_mutex_enter(w.m);
	start = mono();
	deadline = start + 60 * MS;
	do
		err = anyk_hyp_cond_timedwait(w.cv, w.m, deadline);
	while (err == 0);
	now = mono();
	T_EQ(err, ANYK_ETIMEDOUT, "cond_timedwait: nobody signals, ETIMEDOUT");
	T_OK(now >= deadline && now < deadline + 500 * MS,
	     "cond_timedwait: returned %lld us after the deadline", (long long)((now - deadline) / 1000));
	T_EQ(anyk_hyp_mutex_tryenter(w.m), ANYK_EBUSY, "cond_timedwait: mutex held again on return");
	T_EQ(anyk_hyp_cond_timedwait(w.cv, w.m, start - 1000 * MS), ANYK_ETIMEDOUT,
	     "cond_timedwait: past deadline times out at once");
	T_EQ(anyk_hyp_cond_timedwait(w.cv, w.m, -1), ANYK_ETIMEDOUT,
	     "cond_timedwait: negative deadline times out at once");

	anyk_hyp_thread_create(waker_body, &w, "waker", 1, &t[0]);
	deadline = mono() + 10000 * MS;
	err = 0;
	while (!w.flag && err == 0)
		err = anyk_hyp_cond_timedwait(w.cv, w.m, deadline);
	T_OK(w.flag && err == 0, "cond_timedwait: woken by broadcast before the deadline");
	anyk_hyp_mutex_exit(w.m);
	anyk_hyp_thread_join(t[0]);

	w.flag = 0;
	anyk_hyp_mutex_enter(w.m);
	anyk_hyp_thread_create(waker_body, &w, "waker", 1, &t[0]);
	while (!w.flag)
		anyk_hyp_cond_wait(w.cv, w.m);
	anyk_hyp_mutex_exit(w.m);
	anyk_hyp_thread_join(t[0]);
	T_OK(w.flag, "cond_wait: woken by broadcast");
	anyk_hyp_cond_destroy(w.cv);
	anyk_hyp_mutex_destroy(w.m);
}

/* --- host files ---------------------------------------------------------- */

static void
test_files(void)
{
	char path[4200], buf[256], out[256];
	struct anyk_iovec iov[3], many[3000];
	static char bytes[3000];
	uint64_t size;
	uint32_t sector;
	size_t done;
	int fd, fd2, type, i, ok;

	tmp_path(path, sizeof(path), "file");
	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDONLY, &fd), ANYK_ENOENT, "open: missing file is ENOENT");
	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDWR | ANYK_HYP_OPEN_CREAT | ANYK_HYP_OPEN_EXCL, &fd), 0,
	     "open: create exclusive");
	T_OK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "open: handle is close-on-exec");
	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDWR | ANYK_HYP_OPEN_CREAT | ANYK_HYP_OPEN_EXCL, &fd2),
	     ANYK_EEXIST, "open: exclusive create of existing file is EEXIST");
	T_EQ(anyk_hyp_open(path, 0x100, &fd2), ANYK_EINVAL, "open: unknown flag is EINVAL");

	for (i = 0; i < 256; i++)
		buf[i] = (char)i;
	iov[0].iov_base = buf;
	iov[0].iov_len = 10;
	iov[1].iov_base = buf + 10;
	iov[1].iov_len = 0;
	iov[2].iov_base = buf + 10;
	iov[2].iov_len = 246;
	T_EQ(anyk_hyp_pwritev(fd, iov, 3, 100, &done), 0, "pwritev: three pieces");
	T_EQ(done, 256, "pwritev: all bytes moved");
	T_EQ(anyk_hyp_fd_info(fd, &size, &type, &sector), 0, "fd_info");
	T_EQ(size, 356, "fd_info: size counts the hole before offset 100");
	T_EQ(type, ANYK_HYP_FT_REG, "fd_info: regular file");
	T_EQ(sector, 512, "fd_info: a file has 512-byte sectors");
	T_EQ(anyk_hyp_fd_info(fd, &size, &type, NULL), 0, "fd_info: sectorp may be NULL");

	memset(out, 0, sizeof(out));
	iov[0].iov_base = out;
	iov[0].iov_len = 200;
	iov[1].iov_base = out + 200;
	iov[1].iov_len = 56;
	T_EQ(anyk_hyp_preadv(fd, iov, 2, 100, &done), 0, "preadv: two pieces");
	T_OK(done == 256 && memcmp(out, buf, 256) == 0, "preadv: reads back what was written");
	T_EQ(anyk_hyp_preadv(fd, iov, 2, 300, &done), 0, "preadv: across end of file");
	T_EQ(done, 56, "preadv: short only at end of file");
	T_EQ(anyk_hyp_preadv(fd, iov, 2, 5000, &done), 0, "preadv: past end of file");
	T_EQ(done, 0, "preadv: nothing past end of file");
	T_EQ(anyk_hyp_preadv(fd, iov, 2, -1, &done), ANYK_EINVAL, "preadv: negative offset is EINVAL");
	T_EQ(anyk_hyp_preadv(fd, iov, -1, 0, &done), ANYK_EINVAL, "preadv: negative count is EINVAL");

	/* More pieces than IOV_MAX: the host must split. */
	for (i = 0; i < 3000; i++) {
		bytes[i] = (char)(i * 7);
		many[i].iov_base = &bytes[i];
		many[i].iov_len = 1;
	}
	T_EQ(anyk_hyp_pwritev(fd, many, 3000, 4096, &done), 0, "pwritev: 3000 one-byte pieces");
	T_EQ(done, 3000, "pwritev: split over IOV_MAX, all moved");
	memset(bytes, 0, sizeof(bytes));
	T_EQ(anyk_hyp_preadv(fd, many, 3000, 4096, &done), 0, "preadv: 3000 one-byte pieces");
	ok = done == 3000;
	for (i = 0; i < 3000; i++)
		if (bytes[i] != (char)(i * 7))
			ok = 0;
	T_OK(ok, "preadv: split over IOV_MAX reads back in order");

	/* Host streams: a pipe, spliced both ways; arguments checked. */
	{
		int p[2];
		char sb[64];

		T_OK(pipe(p) == 0, "splice: a pipe");
		T_EQ(anyk_hyp_pwritev(fd, &(struct anyk_iovec){ "spliced bytes", 13 }, 1, 8192, &done), 0,
		     "splice: source bytes");
		T_EQ(anyk_hyp_splice(fd, 8192, p[1], 13, ANYK_HYP_SPLICE_OUT, &done), 0, "splice: out to a pipe");
		T_EQ(done, 13, "splice: out moved 13");
		T_OK(read(p[0], sb, sizeof(sb)) == 13 && memcmp(sb, "spliced bytes", 13) == 0, "splice: the pipe has them");
		T_EQ(write(p[1], "in", 2), 2, "splice: pipe filled");
		T_EQ(anyk_hyp_splice(fd, 8200, p[0], 2, ANYK_HYP_SPLICE_IN, &done), 0, "splice: in from a pipe");
		T_OK(done == 2 && anyk_hyp_preadv(fd, &(struct anyk_iovec){ sb, 13 }, 1, 8192, &done) == 0 &&
			     memcmp(sb, "spliced intes", 13) == 0,
		     "splice: in landed at its offset");
		T_EQ(anyk_hyp_splice(fd, 0, p[1], 1, 3, &done), ANYK_EINVAL, "splice: bad direction is EINVAL");
		T_EQ(anyk_hyp_splice(fd, -1, p[1], 1, ANYK_HYP_SPLICE_OUT, &done), ANYK_EINVAL,
		     "splice: negative offset is EINVAL");
		T_EQ(anyk_hyp_splice(fd, 0, -1, 1, ANYK_HYP_SPLICE_OUT, &done), ANYK_EBADF, "splice: peer -1 is EBADF");
		T_EQ(anyk_hyp_stream_write(p[1], "xyz", 3, &done), 0, "stream_write");
		T_OK(anyk_hyp_stream_read(p[0], sb, 3, &done) == 0 && done == 3 && memcmp(sb, "xyz", 3) == 0,
		     "stream_read gets what stream_write put");
		close(p[1]);
		T_OK(anyk_hyp_stream_read(p[0], sb, 3, &done) == 0 && done == 0, "stream_read: end of stream is 0 bytes");
		close(p[0]);
		T_EQ(anyk_hyp_stream_read(-1, sb, 3, &done), ANYK_EBADF, "stream_read: -1 is EBADF");
	}

	{
		/* Write-back hints: only timing may change, never the data,
		 * the size, or anything when the arguments are wrong. */
		static char wb[256 << 10], rb[256 << 10];
		uint64_t before, after;
		size_t k;

		for (k = 0; k < sizeof(wb); k++)
			wb[k] = (char)(k * 7 + 3);
		anyk_hyp_fd_info(fd, &before, NULL, NULL);
		T_OK(anyk_hyp_pwritev(fd, &(struct anyk_iovec){ wb, sizeof(wb) }, 1, 65536, &done) == 0 &&
		     done == sizeof(wb), "writeback: a 256 KiB run written");
		anyk_hyp_writeback(fd, 65536, sizeof(wb));
		anyk_hyp_writeback(fd, 65536 + sizeof(wb), 1 << 20); /* past the end */
		anyk_hyp_writeback(fd, -1, 4096);
		anyk_hyp_writeback(fd, 0, 0);
		anyk_hyp_writeback(fd, 0, -5);
		anyk_hyp_writeback(-1, 0, 4096);
		anyk_hyp_writeback(12345, 0, 4096);
		anyk_hyp_fd_info(fd, &after, NULL, NULL);
		T_EQ(after, before > 65536 + sizeof(wb) ? before : 65536 + sizeof(wb), "writeback: the size is what the write made it");
		T_OK(anyk_hyp_preadv(fd, &(struct anyk_iovec){ rb, sizeof(rb) }, 1, 65536, &done) == 0 &&
		     done == sizeof(rb) && memcmp(rb, wb, sizeof(rb)) == 0,
		     "writeback: the run reads back unchanged after hints, bad ones included");
	}
	T_EQ(anyk_hyp_fsync(fd), 0, "fsync");
	T_EQ(anyk_hyp_ftruncate(fd, 1 << 20), 0, "ftruncate: grow to 1 MiB");
	anyk_hyp_fd_info(fd, &size, NULL, NULL);
	T_EQ(size, 1 << 20, "ftruncate: size grown");
	T_EQ(anyk_hyp_ftruncate(fd, 50), 0, "ftruncate: shrink");
	anyk_hyp_fd_info(fd, &size, NULL, NULL);
	T_EQ(size, 50, "ftruncate: size shrunk");
	T_EQ(anyk_hyp_ftruncate(fd, UINT64_MAX), ANYK_EFBIG, "ftruncate: beyond int64 is EFBIG");
	T_EQ(anyk_hyp_close(fd), 0, "close");
	T_EQ(anyk_hyp_fd_info(fd, &size, &type, NULL), ANYK_EBADF, "fd_info: closed handle is EBADF");
	T_EQ(anyk_hyp_preadv(fd, iov, 2, 0, &done), ANYK_EBADF, "preadv: closed handle is EBADF");

	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDONLY, &fd), 0, "open: read-only");
	iov[0].iov_base = buf;
	iov[0].iov_len = 10;
	T_EQ(anyk_hyp_pwritev(fd, iov, 1, 0, &done), ANYK_EBADF, "pwritev: read-only handle is EBADF");
	T_EQ(done, 0, "pwritev: nothing moved on error");
	anyk_hyp_close(fd);

	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDWR | ANYK_HYP_OPEN_DIRECT, &fd), 0,
	     "open: direct (or its cached fallback)");
	anyk_hyp_close(fd);

	T_EQ(anyk_hyp_open(tmpdir, ANYK_HYP_OPEN_RDONLY, &fd), 0, "open: a directory, read-only");
	T_EQ(anyk_hyp_fd_info(fd, &size, &type, NULL), 0, "fd_info: directory");
	T_EQ(type, ANYK_HYP_FT_DIR, "fd_info: directory type");
	anyk_hyp_close(fd);
	if (anyk_hyp_open("/dev/null", ANYK_HYP_OPEN_RDWR, &fd) == 0) {
		anyk_hyp_fd_info(fd, &size, &type, NULL);
		T_EQ(type, ANYK_HYP_FT_CHR, "fd_info: /dev/null is a character device");
		anyk_hyp_close(fd);
	} else {
		T_SKIP("fd_info: no /dev/null");
	}
	unlink(path);
}

/* --- block I/O ----------------------------------------------------------- */

#define BIO_BLK 4096
#define BIO_NBLK 64
#define BIO_SUBMITTERS 4

struct biostate {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int completed, errors;
	size_t moved;
	uint64_t submitter; /* thread id of the submitter in no-thread mode */
	int foreign;        /* completions on another thread */
	uint64_t ids[64];
	int nids;
};

static struct biostate bs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

static void
bio_done(void *arg, size_t moved, int error)
{
	uint64_t id = anyk_hyp_thread_id();
	int i;

	pthread_mutex_lock(&bs.lock);
	bs.completed++;
	bs.moved += moved;
	if (error)
		bs.errors++;
	if (arg != NULL)
		*(int *)arg = error ? -error : (int)moved;
	for (i = 0; i < bs.nids && bs.ids[i] != id; i++)
		;
	if (i == bs.nids && bs.nids < 64)
		bs.ids[bs.nids++] = id;
	pthread_cond_broadcast(&bs.cv);
	pthread_mutex_unlock(&bs.lock);
}

static void
bio_reset(void)
{
	pthread_mutex_lock(&bs.lock);
	bs.completed = bs.errors = 0;
	bs.moved = 0;
	bs.nids = 0;
	pthread_mutex_unlock(&bs.lock);
}

static int
bio_wait(int n)
{
	int64_t deadline = mono() + 20000 * MS;
	int got;

	pthread_mutex_lock(&bs.lock);
	while (bs.completed < n && mono() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&bs.cv, &bs.lock, &ts);
	}
	got = bs.completed;
	pthread_mutex_unlock(&bs.lock);
	return got;
}

struct submitter {
	int fd;
	int first; /* block number */
	unsigned char *data;
};

static void
submit_body(void *p)
{
	struct submitter *s = p;
	int i;

	for (i = 0; i < BIO_NBLK / BIO_SUBMITTERS; i++) {
		int blk = s->first + i;

		anyk_hyp_bio(s->fd, ANYK_HYP_BIO_WRITE, s->data + (size_t)blk * BIO_BLK, BIO_BLK,
			     (int64_t)blk * BIO_BLK, bio_done, NULL);
	}
}

static void
fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 31 + seed * 17 + (i >> 12)) & 0xff);
}

static void
test_bio_threads(void)
{
	char path[4200];
	struct submitter s[BIO_SUBMITTERS];
	struct anyk_hyp_thread *t[BIO_SUBMITTERS];
	unsigned char *data, *back;
	size_t total = (size_t)BIO_BLK * BIO_NBLK;
	int fd, i, r_short = 0, r_bad = 0, r_flush = 0, r_fua = 0;
	uint64_t me = anyk_hyp_thread_id();
	int foreign = 0;

	tmp_path(path, sizeof(path), "bio");
	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDWR | ANYK_HYP_OPEN_CREAT, &fd), 0, "bio: open image");
	data = anyk_hyp_malloc(total, 4096);
	back = anyk_hyp_malloc(total, 4096);
	fill_pattern(data, total, 1);
	memset(back, 0, total);

	bio_reset();
	for (i = 0; i < BIO_SUBMITTERS; i++) {
		s[i].fd = fd;
		s[i].first = i * (BIO_NBLK / BIO_SUBMITTERS);
		s[i].data = data;
		anyk_hyp_thread_create(submit_body, &s[i], "submit", 1, &t[i]);
	}
	for (i = 0; i < BIO_SUBMITTERS; i++)
		anyk_hyp_thread_join(t[i]);
	T_EQ(bio_wait(BIO_NBLK), BIO_NBLK, "bio: every write from 4 threads completed once");
	pthread_mutex_lock(&bs.lock);
	T_EQ(bs.errors, 0, "bio: writes without error");
	T_EQ(bs.moved, total, "bio: writes moved every byte");
	pthread_mutex_unlock(&bs.lock);

	bio_reset();
	anyk_hyp_bio(fd, ANYK_HYP_BIO_FLUSH, NULL, 0, 0, bio_done, &r_flush);
	T_EQ(bio_wait(1), 1, "bio: flush completed");
	pthread_mutex_lock(&bs.lock);
	T_EQ(r_flush, 0, "bio: flush without error");
	pthread_mutex_unlock(&bs.lock);

	bio_reset();
	for (i = 0; i < BIO_NBLK; i++)
		anyk_hyp_bio(fd, ANYK_HYP_BIO_READ, back + (size_t)i * BIO_BLK, BIO_BLK,
			     (int64_t)i * BIO_BLK, bio_done, NULL);
	T_EQ(bio_wait(BIO_NBLK), BIO_NBLK, "bio: every read completed once");
	pthread_mutex_lock(&bs.lock);
	T_EQ(bs.errors, 0, "bio: reads without error");
	T_OK(memcmp(data, back, total) == 0, "bio: reads return what the writes wrote");
	for (i = 0; i < bs.nids; i++)
		if (bs.ids[i] != me)
			foreign++;
	T_OK(foreign >= 1, "bio: completions arrive on I/O threads (%d distinct)", bs.nids);
	pthread_mutex_unlock(&bs.lock);

	bio_reset();
	fill_pattern(data, BIO_BLK, 2);
	anyk_hyp_bio(fd, ANYK_HYP_BIO_WRITE | ANYK_HYP_BIO_FLUSH, data, BIO_BLK, 0, bio_done, &r_fua);
	anyk_hyp_bio(fd, ANYK_HYP_BIO_READ, back, BIO_BLK, (int64_t)total - 100, bio_done, &r_short);
	anyk_hyp_bio(fd, ANYK_HYP_BIO_READ | ANYK_HYP_BIO_WRITE, back, BIO_BLK, 0, bio_done, &r_bad);
	T_EQ(bio_wait(3), 3, "bio: write+flush, short read, bad op all completed");
	pthread_mutex_lock(&bs.lock);
	T_EQ(r_fua, BIO_BLK, "bio: write with flush moved the block");
	T_EQ(r_short, 100, "bio: read across end of file is short");
	T_EQ(r_bad, -ANYK_EINVAL, "bio: read and write at once is EINVAL");
	pthread_mutex_unlock(&bs.lock);

	/* More requests than the queue holds: the overflow runs inline. */
	bio_reset();
	for (i = 0; i < (int)(total / 512); i++)
		anyk_hyp_bio(fd, ANYK_HYP_BIO_READ, back + (size_t)i * 512, 512,
			     (int64_t)i * 512, bio_done, NULL);
	T_EQ(bio_wait((int)(total / 512)), (int)(total / 512),
	     "bio: 512 requests at once (beyond the queue) all completed");
	pthread_mutex_lock(&bs.lock);
	T_OK(bs.errors == 0 && bs.moved == total, "bio: burst moved every byte");
	pthread_mutex_unlock(&bs.lock);

	/* fini drains and joins the I/O threads; the pool comes back later. */
	bio_reset();
	for (i = 0; i < 16; i++)
		anyk_hyp_bio(fd, ANYK_HYP_BIO_READ, back + (size_t)i * BIO_BLK, BIO_BLK,
			     (int64_t)i * BIO_BLK, bio_done, NULL);
	anyk_hyp_fini();
	pthread_mutex_lock(&bs.lock);
	T_EQ(bs.completed, 16, "bio: fini completes queued requests before returning");
	pthread_mutex_unlock(&bs.lock);
	T_EQ(anyk_hyp_init(ANYK_HYP_VERSION), 0, "init again after fini");
	bio_reset();
	anyk_hyp_bio(fd, ANYK_HYP_BIO_READ, back, BIO_BLK, 0, bio_done, NULL);
	T_EQ(bio_wait(1), 1, "bio: works again after fini and init");

	bio_reset();
	anyk_hyp_bio(-1, ANYK_HYP_BIO_READ, back, BIO_BLK, 0, bio_done, &r_bad);
	T_EQ(bio_wait(1), 1, "bio: bad handle completes");
	pthread_mutex_lock(&bs.lock);
	T_EQ(r_bad, -ANYK_EBADF, "bio: bad handle is EBADF");
	pthread_mutex_unlock(&bs.lock);

	anyk_hyp_close(fd);
	anyk_hyp_free(data, total);
	anyk_hyp_free(back, total);
	unlink(path);
}

/* The no-threads mode, run in a fresh copy of this program. */
static int
child_nothreads(void)
{
	char path[4200];
	struct anyk_hyp_thread *t = NULL;
	unsigned char blk[512], back[512];
	int fd, r = 1;
	uint64_t me = anyk_hyp_thread_id();

	T_EQ(anyk_hyp_init(ANYK_HYP_VERSION), 0, "nothreads: init");
	T_EQ(anyk_hyp_thread_create(thread_body, NULL, "x", 1, &t), ANYK_ENOSYS,
	     "nothreads: thread_create is ENOSYS");
	tmp_path(path, sizeof(path), "bio-nothreads");
	T_EQ(anyk_hyp_open(path, ANYK_HYP_OPEN_RDWR | ANYK_HYP_OPEN_CREAT, &fd), 0, "nothreads: open");
	memset(blk, 0x5a, sizeof(blk));
	bio_reset();
	anyk_hyp_bio(fd, ANYK_HYP_BIO_WRITE, blk, sizeof(blk), 512, bio_done, &r);
	T_EQ(bs.completed, 1, "nothreads: write completed before bio returned");
	T_EQ(r, 512, "nothreads: write moved the block");
	anyk_hyp_bio(fd, ANYK_HYP_BIO_FLUSH, NULL, 0, 0, bio_done, &r);
	T_EQ(bs.completed, 2, "nothreads: flush completed before bio returned");
	T_EQ(r, 0, "nothreads: flush without error");
	anyk_hyp_bio(fd, ANYK_HYP_BIO_READ, back, sizeof(back), 512, bio_done, &r);
	T_OK(bs.completed == 3 && r == 512 && memcmp(blk, back, 512) == 0,
	     "nothreads: read back before bio returned");
	T_OK(bs.nids == 1 && bs.ids[0] == me, "nothreads: done() ran on the calling thread");
	anyk_hyp_close(fd);
	unlink(path);
	anyk_hyp_fini();
	return t_done();
}

static void
test_nothreads(const char *self)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)self, (char *)"--nothreads", tmpdir, NULL };

		setenv("ANYK_THREADS", "0", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	T_OK(pid > 0, "nothreads: child started");
	if (pid <= 0)
		return;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	     "nothreads: child passed (status %d)", status);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--nothreads") == 0) {
		snprintf(tmpdir, sizeof(tmpdir), "%s", argv[2]);
		return child_nothreads();
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/anyk-hyp-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		T_OK(0, "mkdtemp %s", tmpdir);
		return t_done();
	}
	/* Before any thread exists, so that fork is plain. */
	test_nothreads(argv[0]);

	T_EQ(anyk_hyp_init(ANYK_HYP_VERSION), 0, "init");
	T_EQ(anyk_hyp_init(ANYK_HYP_VERSION + 1), ANYK_ENOTSUP, "init: other version refused");
	test_memory();
	test_errno();
	test_params();
	test_clocks();
	test_random();
	test_threads();
	test_locks();
	test_files();
	test_bio_threads();
	anyk_hyp_fini();
	/* msync fails with ENOMEM on memory that is no longer mapped. */
	errno = 0;
	T_OK(chunk_seen != NULL && msync(chunk_seen, (size_t)2 << 20, MS_ASYNC) == -1 && errno == ENOMEM,
	     "fini: cached chunks are unmapped");
	rmdir(tmpdir);
	return t_done();
}
