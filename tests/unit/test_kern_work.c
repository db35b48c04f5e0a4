/*
 * Deferred work and timers, with kernel threads and without: work runs once
 * per enqueue, callouts fire in expiry order, rescheduling moves them,
 * stopping cancels them, work_cancel and callout_halt wait for a running
 * handler (but not for themselves), and in threadless mode nothing runs
 * until work_run_pending(). Drives kern/workqueue.c and kern/callout.c
 * directly, without anyk_init.
 */
#include "../harness.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "kern/kernel.h"
#include "kern/init.h"

#define MS 1000000LL

static atomic_int runs;
static atomic_int order[8];
static atomic_int norder;
static atomic_int in_handler, handler_done;

static void
sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* Poll until *v reaches want or a second has passed. */
static int
wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 1000 && atomic_load(v) < want; i++)
		sleep_ms(1);
	return atomic_load(v);
}

static void
count_work(struct work *w)
{
	(void)w;
	atomic_fetch_add(&runs, 1);
}

static void
record_callout(void *arg)
{
	int i = atomic_fetch_add(&norder, 1);

	if (i < 8)
		atomic_store(&order[i], (int)(intptr_t)arg);
}

static void
slow_work(struct work *w)
{
	(void)w;
	atomic_store(&in_handler, 1);
	sleep_ms(50);
	atomic_store(&handler_done, 1);
}

static void
slow_callout(void *arg)
{
	(void)arg;
	atomic_store(&in_handler, 1);
	sleep_ms(50);
	atomic_store(&handler_done, 1);
}

static struct work self_w;
static void
self_cancel_work(struct work *w)
{
	work_cancel(w); /* must not wait for itself */
	atomic_fetch_add(&runs, 1);
}

static struct callout self_c;
static void
self_halt_callout(void *arg)
{
	(void)arg;
	callout_halt(&self_c);
	atomic_fetch_add(&runs, 1);
}

static void
reset(void)
{
	atomic_store(&runs, 0);
	atomic_store(&norder, 0);
	atomic_store(&in_handler, 0);
	atomic_store(&handler_done, 0);
	for (int i = 0; i < 8; i++)
		atomic_store(&order[i], 0);
}

static void
subsys_up(bool threads)
{
	workqueue_init();
	callout_subsys_init();
	kthreads_configure(threads);
	if (threads) {
		T_EQ(callout_start(), 0, "timer thread started");
		T_EQ(workqueue_start(2), 0, "two workers started");
	}
}

static void
subsys_down(void)
{
	callout_stop_thread();
	workqueue_stop();
	callout_fini();
	workqueue_fini();
	kthreads_configure(false);
}

static void
test_threaded(void)
{
	struct work w, slow;
	struct callout c1, c2, c3, cs, cm;

	reset();
	subsys_up(true);
	T_OK(kthreads_enabled(), "threads enabled");

	work_init(&w, count_work);
	work_enqueue(&w);
	T_EQ(wait_for(&runs, 1), 1, "queued work runs on a worker");
	work_cancel(&w);

	callout_init(&c1, record_callout, (void *)1);
	callout_init(&c2, record_callout, (void *)2);
	callout_init(&c3, record_callout, (void *)3);
	callout_schedule(&c3, 60 * MS);
	callout_schedule(&c1, 20 * MS);
	callout_schedule(&c2, 40 * MS);
	T_EQ(wait_for(&norder, 3), 3, "three callouts fired");
	T_OK(order[0] == 1 && order[1] == 2 && order[2] == 3,
	    "callouts fire in expiry order (%d %d %d)", order[0], order[1], order[2]);

	reset();
	callout_init(&cm, record_callout, (void *)7);
	callout_schedule(&cm, 10 * 1000 * MS);
	callout_schedule(&cm, 10 * MS);
	T_EQ(wait_for(&norder, 1), 1, "rescheduling moves a callout earlier");

	reset();
	callout_init(&cs, record_callout, (void *)9);
	callout_schedule(&cs, 30 * MS);
	T_OK(callout_stop(&cs), "callout_stop reports a pending callout");
	T_OK(!callout_stop(&cs), "a second stop finds nothing");
	sleep_ms(60);
	T_EQ(atomic_load(&norder), 0, "a stopped callout never fires");

	reset();
	callout_init(&cs, slow_callout, NULL);
	callout_schedule(&cs, 0);
	wait_for(&in_handler, 1);
	callout_halt(&cs);
	T_EQ(atomic_load(&handler_done), 1, "callout_halt waited for the running handler");

	reset();
	work_init(&slow, slow_work);
	work_enqueue(&slow);
	wait_for(&in_handler, 1);
	work_cancel(&slow);
	T_EQ(atomic_load(&handler_done), 1, "work_cancel waited for the running handler");

	reset();
	work_init(&self_w, self_cancel_work);
	work_enqueue(&self_w);
	T_EQ(wait_for(&runs, 1), 1, "a handler may cancel its own work");
	callout_init(&self_c, self_halt_callout, NULL);
	callout_schedule(&self_c, 0);
	T_EQ(wait_for(&runs, 2), 2, "a handler may halt its own callout");
	work_cancel(&self_w);
	callout_halt(&self_c);

	/* Queued many times before it runs: runs once or a few, not 100. */
	reset();
	work_init(&w, count_work);
	for (int i = 0; i < 100; i++)
		work_enqueue(&w);
	work_cancel(&w);
	T_OK(atomic_load(&runs) < 100, "enqueueing a queued item does nothing (%d runs)", atomic_load(&runs));

	/* Left pending at shutdown: the timer is dropped, the work drained. */
	reset();
	callout_init(&c1, record_callout, (void *)1);
	callout_schedule(&c1, 1000 * 1000 * MS);
	subsys_down();
	T_EQ(atomic_load(&norder), 0, "a far-off timer is dropped at shutdown");
	T_OK(!(c1.state & 1), "and no longer marked pending");
}

static void
test_threadless(void)
{
	struct work w1, w2;
	struct callout c1, c2;
	struct kthread *kt;

	reset();
	subsys_up(false);
	T_OK(!kthreads_enabled(), "threads disabled");
	T_EQ(kthread_create(record_callout, NULL, "x", &kt), ENOSYS,
	    "kthread_create: ENOSYS without threads");

	work_init(&w1, count_work);
	work_init(&w2, count_work);
	work_enqueue(&w1);
	work_enqueue(&w2);
	work_enqueue(&w1);
	sleep_ms(10);
	T_EQ(atomic_load(&runs), 0, "nothing runs by itself");
	T_EQ(work_run_pending(), 2, "work_run_pending runs both items");
	T_EQ(atomic_load(&runs), 2, "each once");
	T_EQ(work_run_pending(), 0, "then nothing is left");

	work_enqueue(&w1);
	work_cancel(&w1);
	T_EQ(work_run_pending(), 0, "a cancelled item does not run");

	callout_init(&c1, record_callout, (void *)1);
	callout_init(&c2, record_callout, (void *)2);
	callout_schedule(&c2, 30 * MS);
	callout_schedule(&c1, 0);
	T_EQ(work_run_pending(), 1, "an expired callout runs from work_run_pending");
	T_EQ(order[0], 1, "it was the expired one");
	T_EQ(work_run_pending(), 0, "the other is not due yet");
	sleep_ms(40);
	T_EQ(work_run_pending(), 1, "after its delay it runs");
	T_EQ(order[1], 2, "in order");

	callout_schedule(&c1, 0);
	T_OK(callout_stop(&c1), "stop before it runs");
	T_EQ(work_run_pending(), 0, "a stopped callout does not run");

	work_enqueue(&w1);
	subsys_down();
	T_EQ(atomic_load(&runs), 3, "queued work is drained at shutdown");
}

int
main(void)
{
	test_threaded();
	test_threadless();
	test_threaded(); /* again after a full stop */
	return t_done();
}
