/*
 * Kernel locks over the host's: the kernel types wrap the host's opaque
 * objects so that enter/exit stay inline calls (kernel.h) and only creation
 * and the time-out arithmetic live here.
 */
#include "kern/kernel.h"

void
mutex_init(kmutex_t *m)
{
	int error = anyk_hyp_mutex_init(&m->hm);

	if (error)
		panic("mutex_init: host cannot make a mutex (error %d)", error);
}

void
mutex_destroy(kmutex_t *m)
{
	anyk_hyp_mutex_destroy(m->hm);
	m->hm = NULL;
}

void
rw_init(krwlock_t *rw)
{
	int error = anyk_hyp_rw_init(&rw->hrw);

	if (error)
		panic("rw_init: host cannot make a rwlock (error %d)", error);
}

void
rw_destroy(krwlock_t *rw)
{
	anyk_hyp_rw_destroy(rw->hrw);
	rw->hrw = NULL;
}

void
cv_init(kcondvar_t *cv)
{
	int error = anyk_hyp_cond_init(&cv->hcv);

	if (error)
		panic("cv_init: host cannot make a condition variable (error %d)", error);
}

void
cv_destroy(kcondvar_t *cv)
{
	anyk_hyp_cond_destroy(cv->hcv);
	cv->hcv = NULL;
}

/* The host waits until an absolute monotonic deadline, which does not drift
 * when the wait is restarted after a spurious wake-up. */
int
cv_timedwait(kcondvar_t *cv, kmutex_t *m, int64_t timeout_ns)
{
	int64_t now = time_mono_ns(), deadline;

	if (timeout_ns < 0)
		timeout_ns = 0;
	if (timeout_ns > INT64_MAX - now)
		deadline = INT64_MAX;
	else
		deadline = now + timeout_ns;
	return anyk_hyp_cond_timedwait(cv->hcv, m->hm, deadline);
}
