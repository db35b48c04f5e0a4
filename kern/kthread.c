/*
 * Kernel threads: host threads the kernel starts for itself (the work queue
 * workers, the timer thread). Under ANYK_THREADS=0, or on a host without
 * threads, there are none and deferred work runs from anyk_run_pending().
 */
#include "kern/kernel.h"
#include "kern/init.h"

KMEM_TYPE(kmem_kthread, "kthread");

struct kthread {
	struct anyk_hyp_thread *t_host;
};

static bool kthreads_on;

void
kthreads_configure(bool enabled)
{
	atomic_store_relaxed(&kthreads_on, enabled);
}

bool
kthreads_enabled(void)
{
	return atomic_load_relaxed(&kthreads_on);
}

int
kthread_create(void (*fn)(void *), void *arg, const char *name, struct kthread **tp)
{
	struct kthread *t;
	int error;

	if (!kthreads_enabled())
		return ENOSYS;
	t = kmem_alloc(&kmem_kthread, sizeof(*t));
	if (t == NULL)
		return ENOMEM;
	error = anyk_hyp_thread_create(fn, arg, name, 1, &t->t_host);
	if (error) {
		kmem_free(&kmem_kthread, t, sizeof(*t));
		return error;
	}
	*tp = t;
	return 0;
}

void
kthread_join(struct kthread *t)
{
	int error = anyk_hyp_thread_join(t->t_host);

	if (error)
		panic("kthread_join: host error %d", error);
	kmem_free(&kmem_kthread, t, sizeof(*t));
}
