/*
 * Server thread placement and priority for "anyk mount": see fuse_prio.h.
 */
#ifdef ANYK_HAVE_FUSE

#include <errno.h>
#include <fcntl.h>
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tools/fuse_prio.h"

#define GOV_TICK 10000000ull      /* ns */
#define GOV_STARVE 1000000ull     /* ns of run-queue wait per time it ran */
#define GOV_BOOST 1000000000ull   /* ns */
#define GOV_QUIET 1000000000ull   /* ns */
#define FOLLOW_EVERY 64           /* requests between looks at the caller */
#define FOLLOW_WINDOW 8           /* looks judged together */
#define FOLLOW_MOVES 7            /* moves in a window that mean "wandering" */
#define FOLLOW_PAUSE 32           /* looks skipped then */

struct slot {
	_Atomic pid_t tid;     /* 0 until the thread has joined */
	_Atomic int out;       /* not to be held at idle priority now */
	int idle;              /* at idle priority now */
	uint64_t last_delay;   /* its run-queue wait so far, ns */
	uint64_t last_runs;    /* and the times it ran */
	uint64_t boost_until;  /* held at normal priority until then, ns */
};

static struct {
	pthread_t thr;
	int started, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot *slot;
	unsigned cap;
	_Atomic unsigned nslot;
	_Atomic int quiet;        /* sleeping until a request comes */
	_Atomic uint64_t served;  /* requests served */
} G = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static pthread_once_t usable_once = PTHREAD_ONCE_INIT;
static int usable, debug;

void
prio_debug(int on)
{
	debug = on;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The start of /proc file path, as a string in buf. 0, or -1. */
static int
read_proc(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* How long thread tid has waited to run, ns, and how many times it ran;
 * -1 if unknown. */
static int
run_stats(pid_t tid, uint64_t *wait, uint64_t *runs)
{
	char path[64], buf[128];
	unsigned long long on, w, r;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	if (read_proc(path, buf, sizeof(buf)) != 0 ||
	    sscanf(buf, "%llu %llu %llu", &on, &w, &r) != 3)
		return -1;
	*wait = w;
	*runs = r;
	return 0;
}

static int
set_idle(struct slot *s, pid_t tid, int idle)
{
	struct sched_param sp = { 0 };

	if (s->idle == idle)
		return 0;
	if (sched_setscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, &sp) != 0)
		return -1;
	s->idle = idle;
	return 0;
}

/* A thread made for the question tries idle priority and back, and ends:
 * an unprivileged thread with RLIMIT_NICE 0 could not come back. */
static void *
probe_main(void *arg)
{
	struct sched_param sp = { 0 };
	int *ok = arg;

	*ok = sched_setscheduler(0, SCHED_IDLE, &sp) == 0 &&
	      sched_setscheduler(0, SCHED_OTHER, &sp) == 0;
	return NULL;
}

static void
probe(void)
{
	pthread_t t;
	int ok = 0;

	if (sched_getscheduler(0) != SCHED_OTHER || access("/proc/self/schedstat", R_OK) != 0)
		return;
	if (pthread_create(&t, NULL, probe_main, &ok) != 0)
		return;
	pthread_join(t, NULL);
	usable = ok;
}

int
prio_usable(void)
{
	pthread_once(&usable_once, probe);
	return usable;
}

void
prio_busy(void)
{
	atomic_fetch_add_explicit(&G.served, 1, memory_order_relaxed);
	if (atomic_load_explicit(&G.quiet, memory_order_relaxed) && atomic_exchange(&G.quiet, 0)) {
		pthread_mutex_lock(&G.lock);
		pthread_cond_signal(&G.cond);
		pthread_mutex_unlock(&G.lock);
	}
}

static void *
gov_main(void *arg)
{
	uint64_t last_served = 0, last_change = mono_ns(), now, d, w, r, dr;
	struct timespec until;
	unsigned i, n;
	int quiet;

	(void)arg;
	pthread_mutex_lock(&G.lock);
	while (!G.stop) {
		if (atomic_load(&G.quiet)) {
			pthread_cond_wait(&G.cond, &G.lock);
			last_change = mono_ns();
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)GOV_TICK;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&G.cond, &G.lock, &until);
		if (G.stop)
			break;
		now = mono_ns();
		d = atomic_load(&G.served);
		if (d != last_served) {
			last_served = d;
			last_change = now;
		}
		quiet = now - last_change > GOV_QUIET;
		n = atomic_load(&G.nslot);
		for (i = 0; i < n; i++) {
			struct slot *s = &G.slot[i];
			pid_t tid = atomic_load(&s->tid);

			if (tid == 0)
				continue;
			if (run_stats(tid, &w, &r) != 0)
				continue;
			d = w - s->last_delay;
			dr = r - s->last_runs;
			s->last_delay = w;
			s->last_runs = r;
			/* Starving: a wait of more than GOV_STARVE, on average,
			 * each time it got to run (beside its caller it waits a
			 * few microseconds each time, until the caller blocks). */
			if (quiet || atomic_load(&s->out)) {
				set_idle(s, tid, 0);
			} else if (s->idle && d > GOV_STARVE * (dr > 0 ? dr : 1)) {
				if (set_idle(s, tid, 0) == 0)
					s->boost_until = now + GOV_BOOST;
			} else if (!s->idle && now >= s->boost_until) {
				set_idle(s, tid, 1);
			}
		}
		if (quiet)
			atomic_store(&G.quiet, 1);
	}
	pthread_mutex_unlock(&G.lock);
	return NULL;
}

void
prio_start(unsigned cap)
{
	if (G.started || !prio_usable() || cap == 0)
		return;
	G.slot = calloc(cap, sizeof(*G.slot));
	if (G.slot == NULL)
		return;
	G.cap = cap;
	atomic_store(&G.nslot, 0);
	G.stop = 0;
	atomic_store(&G.quiet, 0);
	if (pthread_create(&G.thr, NULL, gov_main, NULL) != 0) {
		free(G.slot);
		G.slot = NULL;
		return;
	}
	G.started = 1;
}

/* The calling thread's slot, or NULL. */
static struct slot *
join(void)
{
	unsigned i;

	if (!G.started)
		return NULL;
	i = atomic_fetch_add(&G.nslot, 1);
	if (i >= G.cap) {
		atomic_fetch_sub(&G.nslot, 1);
		return NULL;
	}
	atomic_store(&G.slot[i].tid, (pid_t)syscall(SYS_gettid));
	return &G.slot[i];
}

int
prio_join(void)
{
	return join() != NULL ? 0 : -1;
}

void
prio_stop(void)
{
	unsigned i, n;

	if (!G.started)
		return;
	pthread_mutex_lock(&G.lock);
	G.stop = 1;
	pthread_cond_signal(&G.cond);
	pthread_mutex_unlock(&G.lock);
	pthread_join(G.thr, NULL);
	G.started = 0;
	/* What runs after (the unmount's sync) runs at normal priority. */
	n = atomic_load(&G.nslot);
	if (n > G.cap)
		n = G.cap;
	for (i = 0; i < n; i++) {
		pid_t tid = atomic_load(&G.slot[i].tid);

		if (tid != 0)
			set_idle(&G.slot[i], tid, 0);
	}
	free(G.slot);
	G.slot = NULL;
	G.cap = 0;
	atomic_store(&G.nslot, 0);
}

/* --- following the caller ------------------------------------------------- */

static struct {
	cpu_set_t allowed;
	int have_allowed, cur;
	struct slot *slot;          /* in the governor's set, once joined */
	unsigned n, looks, moves, pause;
} F = { .cur = -1 };

/* The processor thread pid last ran on (field 39 of its stat), or -1. */
static int
task_cpu(uint32_t pid)
{
	char path[64], buf[1024], *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (read_proc(path, buf, sizeof(buf)) != 0)
		return -1;
	p = strrchr(buf, ')'); /* the name may hold anything */
	for (field = 2; field < 39 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	return p != NULL ? atoi(p + 1) : -1;
}

/* A caller that keeps changing processor (a pipeline whose stages wake
 * each other, say) cannot be followed at one look every FOLLOW_EVERY
 * requests: bound to the processor it just left, the thread would pay
 * the cross-processor wake-ups it is meant to save, and at idle priority
 * too. After FOLLOW_MOVES moves in FOLLOW_WINDOW looks the thread goes
 * back to any processor and normal priority for FOLLOW_PAUSE looks. */
static void
unfollow(void)
{
	if (sched_setaffinity(0, sizeof(F.allowed), &F.allowed) != 0)
		return;
	F.cur = -1;
	if (F.slot != NULL)
		atomic_store(&F.slot->out, 1);
	F.pause = FOLLOW_PAUSE;
	if (debug)
		fprintf(stderr, "anyk mount: the caller keeps changing processor; "
			"the /dev/fuse thread stops following for a while\n");
}

void
prio_follow(uint32_t pid)
{
	cpu_set_t set;
	int c;

	if (pid == 0 || !G.started || (F.n++ % FOLLOW_EVERY) != 0)
		return;
	if (F.pause > 0) {
		F.pause--;
		return;
	}
	if (!F.have_allowed) {
		if (sched_getaffinity(0, sizeof(F.allowed), &F.allowed) != 0)
			return;
		F.have_allowed = 1;
	}
	c = task_cpu(pid);
	if (c < 0 || c >= CPU_SETSIZE || !CPU_ISSET(c, &F.allowed))
		return;
	if (++F.looks > FOLLOW_WINDOW)
		F.looks = 1, F.moves = 0;
	if (c == F.cur)
		return;
	if (F.cur >= 0 && ++F.moves >= FOLLOW_MOVES) {
		unfollow();
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return;
	F.cur = c;
	if (F.slot != NULL) {
		atomic_store(&F.slot->out, 0);
	} else if ((F.slot = join()) != NULL && debug) {
		fprintf(stderr, "anyk mount: the /dev/fuse thread moves beside its callers, "
			"at idle priority (now processor %d)\n", c);
	}
}

int
prio_following(void)
{
	return F.cur >= 0;
}

/* Microseconds since an arbitrary start, for the spin budget. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * The request loop. A FUSE round trip costs two wake-ups: the host kernel
 * wakes this server for the request and the caller for the answer. On a
 * machine whose idle processors sleep deeply (virtual machines above all)
 * waking a sleeping processor costs tens of microseconds, several times
 * the work of a metadata request. So after each request the server keeps
 * asking for the next one without sleeping, for up to spin_us, before it
 * blocks in poll(): a caller that makes one call after another (create,
 * stat, unlink in a loop) finds the server awake. An idle mount spends
 * nothing: the spinning stops spin_us after the last request.
 */
int
prio_serve(struct fuse_session *se, unsigned spin_us, int (*ring_active)(void))
{
	struct fuse_buf fbuf = { .mem = NULL };
	struct pollfd pfd;
	uint64_t until = 0;
	int fd, res = 0, fl;

	fd = fuse_session_fd(se);
	fl = fcntl(fd, F_GETFL);
	if (spin_us == 0 || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fuse_session_loop(se);
	while (!fuse_session_exited(se)) {
		res = fuse_session_receive_buf(se, &fbuf);
		if (res == -EAGAIN) {
			if (until != 0 && now_us() < until) {
				/* Let whatever else is runnable here go
				 * first: on a busy machine the spin only
				 * fills time nobody else wanted. */
				sched_yield();
				continue;
			}
			until = 0;
			pfd.fd = fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
				res = -errno;
				break;
			}
			continue;
		}
		if (res == -EINTR)
			continue;
		if (res <= 0)
			break;
		/* Over /dev/fuse the requests of a caller on any processor
		 * come here: move to the caller's (fuse_prio.h). */
		if ((ring_active == NULL || !ring_active()) && (size_t)res >= sizeof(struct fuse_in_header))
			prio_follow(((const struct fuse_in_header *)fbuf.mem)->pid);
		fuse_session_process_buf(se, &fbuf);
		prio_busy();
		/* Bound beside its caller, the thread is woken on the same
		 * processor, which costs little: no spin. Otherwise spin;
		 * with the io_uring transport serving, FORGETs still come
		 * this way, one after each unlink: nobody waits for them,
		 * but waking this thread for each would cost the caller
		 * as much as the unlink. */
		until = prio_following() ? 0 : now_us() + spin_us;
	}
	free(fbuf.mem);
	if (res > 0 || res == -EAGAIN || res == -EINTR)
		res = 0;
	fuse_session_reset(se);
	return res;
}

#else
typedef int fuse_prio_unused; /* ISO C wants something in the file */
#endif /* ANYK_HAVE_FUSE */
