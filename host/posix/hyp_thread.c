/*
 * Kernel threads as pthreads, and the per-thread slots the kernel keeps on
 * every host thread (its context pointer and a small id).
 *
 * ANYK_THREADS=0 in the environment makes this host pretend it has no
 * threads, so that the kernel's single-threaded mode (deferred work run from
 * anyk_run_pending) can be tested on an ordinary machine.
 */
#include "hyp_posix.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct anyk_hyp_thread {
	pthread_t tid;
	void (*fn)(void *);
	void *arg;
	bool joinable;
	char name[16]; /* the most pthread_setname_np takes, with the NUL */
};

static __thread void *curctx;
static __thread uint64_t thread_id;
static atomic_uint_least64_t thread_ids;

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static bool threads_on;

static void
threads_probe(void)
{
	const char *v = getenv("ANYK_THREADS");

	threads_on = !(v != NULL && strcmp(v, "0") == 0);
}

bool
hposix_threads_enabled(void)
{
	pthread_once(&threads_once, threads_probe);
	return threads_on;
}

int
hposix_spawn(pthread_t *tid, void *(*fn)(void *), void *arg, bool joinable)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int error;

	error = pthread_attr_init(&attr);
	if (error)
		return error;
	error = pthread_attr_setdetachstate(&attr,
	    joinable ? PTHREAD_CREATE_JOINABLE : PTHREAD_CREATE_DETACHED);
	if (error)
		goto out;
	/* The new thread inherits the mask in force at pthread_create. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	pthread_attr_destroy(&attr);
	return error;
}

static void *
thread_start(void *p)
{
	struct anyk_hyp_thread *t = p;
	void (*fn)(void *) = t->fn;
	void *arg = t->arg;

#ifdef __GLIBC__
	if (t->name[0] != '\0')
		pthread_setname_np(pthread_self(), t->name);
#endif
	/* Nobody will join a detached thread, so its handle dies here. */
	if (!t->joinable)
		free(t);
	fn(arg);
	return NULL;
}

int
anyk_hyp_thread_create(void (*fn)(void *), void *arg, const char *name,
		       int joinable, struct anyk_hyp_thread **tp)
{
	struct anyk_hyp_thread *t;
	pthread_t tid;
	int error;

	if (fn == NULL || (joinable && tp == NULL))
		return ANYK_EINVAL;
	if (!hposix_threads_enabled())
		return ANYK_ENOSYS;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ANYK_ENOMEM;
	t->fn = fn;
	t->arg = arg;
	t->joinable = joinable != 0;
	if (name != NULL) {
		strncpy(t->name, name, sizeof(t->name) - 1);
		t->name[sizeof(t->name) - 1] = '\0';
	}
	error = hposix_spawn(&tid, thread_start, t, t->joinable);
	if (error) {
		free(t);
		return hposix_error(error);
	}
	/* A detached thread may already have freed t: only a joinable t is
	 * still ours to touch. */
	if (joinable) {
		t->tid = tid;
		*tp = t;
	}
	return 0;
}

_Noreturn void
anyk_hyp_thread_exit(void)
{
	pthread_exit(NULL);
}

int
anyk_hyp_thread_join(struct anyk_hyp_thread *t)
{
	int error;

	if (t == NULL || !t->joinable)
		return ANYK_EINVAL;
	error = pthread_join(t->tid, NULL);
	if (error)
		return hposix_error(error);
	free(t);
	return 0;
}

void
anyk_hyp_curctx_set(void *ctx)
{
	curctx = ctx;
}

void *
anyk_hyp_curctx_get(void)
{
	return curctx;
}

uint64_t
anyk_hyp_thread_id(void)
{
	if (thread_id == 0)
		thread_id = atomic_fetch_add(&thread_ids, 1) + 1;
	return thread_id;
}
