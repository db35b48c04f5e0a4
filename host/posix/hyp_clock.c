/*
 * Clocks, sleeping and randomness from the host's kernel: clock_gettime,
 * clock_nanosleep with absolute deadlines (so a signal that interrupts the
 * sleep does not stretch it), and getrandom with /dev/urandom behind it.
 */
#include "hyp_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/random.h>
#endif

#define NS_PER_SEC 1000000000LL

static clockid_t
host_clock(int clock)
{
	return clock == ANYK_HYP_CLOCK_REAL ? CLOCK_REALTIME : CLOCK_MONOTONIC;
}

void
hposix_timespec(int64_t ns, struct timespec *ts)
{
	int64_t sec;

	if (ns < 0)
		ns = 0;
	sec = ns / NS_PER_SEC;
	/* A 32-bit time_t cannot hold every deadline the kernel may ask for;
	 * the year 2038 is "forever" enough for a sleep. */
	if (sizeof(time_t) < sizeof(int64_t) && sec > INT32_MAX)
		sec = INT32_MAX;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)(ns % NS_PER_SEC);
}

/* ANYK_FIXED_TIME=SECONDS stops the wall clock there, so that a run which
 * stamps inodes (anyk mkfs -d with --timestamp) makes the same bytes every
 * time. Read at the first wall-clock read; -1: not set. */
static int64_t
fixed_real_ns(void)
{
	static int64_t fixed = -2;
	int64_t v = __atomic_load_n(&fixed, __ATOMIC_ACQUIRE);
	const char *s;
	char *end;
	long long sec;

	if (v != -2)
		return v;
	v = -1;
	s = getenv("ANYK_FIXED_TIME");
	if (s != NULL && *s >= '0' && *s <= '9') {
		errno = 0;
		sec = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0' && sec <= INT64_MAX / NS_PER_SEC)
			v = (int64_t)sec * NS_PER_SEC;
	}
	__atomic_store_n(&fixed, v, __ATOMIC_RELEASE);
	return v;
}

int64_t
anyk_hyp_clock_ns(int clock)
{
	struct timespec ts;
	int64_t fixed;

	if (clock == ANYK_HYP_CLOCK_REAL && (fixed = fixed_real_ns()) >= 0)
		return fixed;

	if (clock_gettime(host_clock(clock), &ts) != 0)
		return 0; /* cannot happen for these two clocks */
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

void
anyk_hyp_sleep_ns(int clock, int64_t ns, int absolute)
{
	struct timespec ts;
	clockid_t id;
	int r;

	if (absolute) {
		id = host_clock(clock);
	} else {
		/* A relative sleep measures a duration: the monotonic clock,
		 * whatever the caller named, so that setting the wall clock
		 * neither shortens nor stretches it. */
		if (ns <= 0)
			return;
		id = CLOCK_MONOTONIC;
		if (ns > INT64_MAX - anyk_hyp_clock_ns(ANYK_HYP_CLOCK_MONO))
			ns = INT64_MAX;
		else
			ns += anyk_hyp_clock_ns(ANYK_HYP_CLOCK_MONO);
	}
	hposix_timespec(ns, &ts);
	do
		r = clock_nanosleep(id, TIMER_ABSTIME, &ts, NULL);
	while (r == EINTR);
}

static int
urandom_read(unsigned char *p, size_t n)
{
	ssize_t r;
	int fd, error = 0;

	do
		fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return hposix_error(errno);
	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			error = r < 0 ? hposix_error(errno) : ANYK_EIO;
			break;
		}
		p += r;
		n -= (size_t)r;
	}
	close(fd);
	return error;
}

int
anyk_hyp_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	if (p == NULL && n > 0)
		return ANYK_EINVAL;
#ifdef __linux__
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSYS || errno == EPERM)
				break; /* old kernel or seccomp: use the device */
			return hposix_error(errno);
		}
		p += r;
		n -= (size_t)r;
	}
	if (n == 0)
		return 0;
#endif
	return urandom_read(p, n);
}
