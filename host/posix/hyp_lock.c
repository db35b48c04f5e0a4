/*
 * Kernel locks as pthread objects. Each lives in its own allocation so the
 * kernel sees only an opaque pointer and never the host's layout.
 *
 * Enter/exit cannot report an error to the kernel; a host error there means
 * the kernel broke the lock's rules (or memory is corrupt), so it panics
 * rather than run on without mutual exclusion.
 */
#include "hyp_posix.h"

#include <errno.h>
#include <stdlib.h>

struct anyk_hyp_mutex {
	pthread_mutex_t m;
};

struct anyk_hyp_rwlock {
	pthread_rwlock_t rw;
};

struct anyk_hyp_cond {
	pthread_cond_t c;
};

static void
lock_check(int error, const char *what)
{
	if (error)
		anyk_hyp_panic(what);
}

int
anyk_hyp_mutex_init(struct anyk_hyp_mutex **mp)
{
	struct anyk_hyp_mutex *m;
	int error;

	m = malloc(sizeof(*m));
	if (m == NULL)
		return ANYK_ENOMEM;
	error = pthread_mutex_init(&m->m, NULL);
	if (error) {
		free(m);
		return hposix_error(error);
	}
	*mp = m;
	return 0;
}

void
anyk_hyp_mutex_destroy(struct anyk_hyp_mutex *m)
{
	if (m == NULL)
		return;
	lock_check(pthread_mutex_destroy(&m->m), "mutex_destroy: mutex busy");
	free(m);
}

void
anyk_hyp_mutex_enter(struct anyk_hyp_mutex *m)
{
	lock_check(pthread_mutex_lock(&m->m), "mutex_enter failed");
}

int
anyk_hyp_mutex_tryenter(struct anyk_hyp_mutex *m)
{
	int error = pthread_mutex_trylock(&m->m);

	if (error == EBUSY)
		return ANYK_EBUSY;
	lock_check(error, "mutex_tryenter failed");
	return 0;
}

void
anyk_hyp_mutex_exit(struct anyk_hyp_mutex *m)
{
	lock_check(pthread_mutex_unlock(&m->m), "mutex_exit failed");
}

int
anyk_hyp_rw_init(struct anyk_hyp_rwlock **rwp)
{
	struct anyk_hyp_rwlock *rw;
	pthread_rwlockattr_t attr;
	int error;

	rw = malloc(sizeof(*rw));
	if (rw == NULL)
		return ANYK_ENOMEM;
	error = pthread_rwlockattr_init(&attr);
	if (error)
		goto fail;
#ifdef __GLIBC__
	/* glibc lets a stream of readers starve a writer by default; kernel
	 * writers (a rename, a truncate) must get in. */
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	error = pthread_rwlock_init(&rw->rw, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (error)
		goto fail;
	*rwp = rw;
	return 0;
fail:
	free(rw);
	return hposix_error(error);
}

void
anyk_hyp_rw_destroy(struct anyk_hyp_rwlock *rw)
{
	if (rw == NULL)
		return;
	lock_check(pthread_rwlock_destroy(&rw->rw), "rw_destroy: lock busy");
	free(rw);
}

void
anyk_hyp_rw_enter(struct anyk_hyp_rwlock *rw, int write)
{
	int error;

	do {
		if (write)
			error = pthread_rwlock_wrlock(&rw->rw);
		else
			error = pthread_rwlock_rdlock(&rw->rw);
		/* Too many readers at once: a moment later there are fewer. */
	} while (error == EAGAIN);
	lock_check(error, "rw_enter failed");
}

int
anyk_hyp_rw_tryenter(struct anyk_hyp_rwlock *rw, int write)
{
	int error;

	if (write)
		error = pthread_rwlock_trywrlock(&rw->rw);
	else
		error = pthread_rwlock_tryrdlock(&rw->rw);
	if (error == EBUSY || error == EAGAIN)
		return ANYK_EBUSY;
	lock_check(error, "rw_tryenter failed");
	return 0;
}

void
anyk_hyp_rw_exit(struct anyk_hyp_rwlock *rw)
{
	lock_check(pthread_rwlock_unlock(&rw->rw), "rw_exit failed");
}

int
anyk_hyp_cond_init(struct anyk_hyp_cond **cvp)
{
	struct anyk_hyp_cond *cv;
	pthread_condattr_t attr;
	int error;

	cv = malloc(sizeof(*cv));
	if (cv == NULL)
		return ANYK_ENOMEM;
	error = pthread_condattr_init(&attr);
	if (error)
		goto fail;
	/* Deadlines are on ANYK_HYP_CLOCK_MONO: setting the wall clock must
	 * not fire or postpone a kernel time-out. */
	error = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (error == 0)
		error = pthread_cond_init(&cv->c, &attr);
	pthread_condattr_destroy(&attr);
	if (error)
		goto fail;
	*cvp = cv;
	return 0;
fail:
	free(cv);
	return hposix_error(error);
}

void
anyk_hyp_cond_destroy(struct anyk_hyp_cond *cv)
{
	if (cv == NULL)
		return;
	lock_check(pthread_cond_destroy(&cv->c), "cond_destroy: waiters");
	free(cv);
}

void
anyk_hyp_cond_wait(struct anyk_hyp_cond *cv, struct anyk_hyp_mutex *m)
{
	lock_check(pthread_cond_wait(&cv->c, &m->m), "cond_wait failed");
}

int
anyk_hyp_cond_timedwait(struct anyk_hyp_cond *cv, struct anyk_hyp_mutex *m,
			int64_t deadline_ns)
{
	struct timespec ts;
	int error;

	hposix_timespec(deadline_ns, &ts);
	error = pthread_cond_timedwait(&cv->c, &m->m, &ts);
	if (error == ETIMEDOUT)
		return ANYK_ETIMEDOUT;
	lock_check(error, "cond_timedwait failed");
	return 0;
}

void
anyk_hyp_cond_signal(struct anyk_hyp_cond *cv)
{
	lock_check(pthread_cond_signal(&cv->c), "cond_signal failed");
}

void
anyk_hyp_cond_broadcast(struct anyk_hyp_cond *cv)
{
	lock_check(pthread_cond_broadcast(&cv->c), "cond_broadcast failed");
}
