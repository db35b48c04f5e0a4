/*
 * Deferred work: a FIFO of work items run by a few kernel worker threads,
 * or, without threads, by whoever calls anyk_run_pending().
 *
 * Every thread running work (a worker or a caller of work_run_pending)
 * registers a runner record naming the item in hand. That lets work_cancel
 * wait for a running handler without touching the item after its handler
 * returned (a handler may free its own item), lets a handler cancel itself
 * without waiting for itself, and keeps one item from running on two
 * threads at once.
 */
#include "kern/kernel.h"
#include "kern/init.h"

#define WORKERS_MAX 8
#define WORK_DRAIN_MAX 100000	/* at shutdown, against self-requeueing work */

#define WS_QUEUED 0x1

struct work_runner {
	struct dlist link;
	uint64_t tid;
	struct work *cur;
};

static kmutex_t wq_lock;
static kcondvar_t wq_cv;	/* work queued, or workers told to exit */
static kcondvar_t wq_donecv;	/* a handler returned */
static struct dlist wq_list = DLIST_INIT(wq_list);
static struct dlist wq_runners = DLIST_INIT(wq_runners);
static size_t wq_count;
static bool wq_exiting;
static bool wq_ready;
static struct kthread *wq_workers[WORKERS_MAX];
static int wq_nworkers;

void
work_init(struct work *w, void (*fn)(struct work *))
{
	dlist_init(&w->link);
	w->fn = fn;
	w->state = 0;
}

static bool
work_running_elsewhere(const struct work *w, uint64_t tid)
{
	struct dlist *it;
	struct work_runner *r;

	dlist_foreach(it, &wq_runners) {
		r = dlist_entry(it, struct work_runner, link);
		if (r->cur == w && r->tid != tid)
			return true;
	}
	return false;
}

static void
runner_enter(struct work_runner *r)
{
	r->tid = anyk_hyp_thread_id();
	r->cur = NULL;
	dlist_insert_tail(&wq_runners, &r->link);
}

/* The first queued item no other thread is running; NULL if none. */
static struct work *
work_next(void)
{
	struct dlist *it;
	struct work *w;

	dlist_foreach(it, &wq_list) {
		w = dlist_entry(it, struct work, link);
		if (!work_running_elsewhere(w, 0))
			return w;
	}
	return NULL;
}

/* Called and returns with wq_lock held; drops it around the handler. */
static void
work_run(struct work_runner *r, struct work *w)
{
	dlist_remove(&w->link);
	w->state &= ~WS_QUEUED;
	wq_count--;
	r->cur = w;
	mutex_exit(&wq_lock);
	w->fn(w);
	mutex_enter(&wq_lock);
	r->cur = NULL;
	cv_broadcast(&wq_donecv);
	/* An item skipped because it was running here may now go. */
	if (wq_count > 0)
		cv_signal(&wq_cv);
}

void
work_enqueue(struct work *w)
{
	KASSERT(atomic_load_relaxed(&wq_ready));
	mutex_enter(&wq_lock);
	if (!(w->state & WS_QUEUED)) {
		w->state |= WS_QUEUED;
		dlist_insert_tail(&wq_list, &w->link);
		wq_count++;
		cv_signal(&wq_cv);
	}
	mutex_exit(&wq_lock);
}

void
work_cancel(struct work *w)
{
	uint64_t tid = anyk_hyp_thread_id();

	if (!atomic_load_relaxed(&wq_ready))
		return;
	mutex_enter(&wq_lock);
	/* The handler may requeue its item while we wait: dequeue again. */
	for (;;) {
		if (w->state & WS_QUEUED) {
			dlist_remove(&w->link);
			w->state &= ~WS_QUEUED;
			wq_count--;
		}
		if (!work_running_elsewhere(w, tid))
			break;
		cv_wait(&wq_donecv, &wq_lock);
	}
	mutex_exit(&wq_lock);
}

static void
worker_main(void *arg)
{
	struct work_runner r;
	struct work *w;

	(void)arg;
	mutex_enter(&wq_lock);
	runner_enter(&r);
	for (;;) {
		w = work_next();
		if (w != NULL) {
			work_run(&r, w);
			continue;
		}
		if (wq_exiting)
			break;
		cv_wait(&wq_cv, &wq_lock);
	}
	dlist_remove(&r.link);
	mutex_exit(&wq_lock);
}

/* Only the items queued when it starts run, so that work which requeues
 * itself cannot keep the caller here forever. */
int
work_run_pending(void)
{
	struct work_runner r;
	struct work *w;
	size_t budget;
	int n = 0;

	if (atomic_load_relaxed(&wq_ready)) {
		mutex_enter(&wq_lock);
		runner_enter(&r);
		for (budget = wq_count; budget > 0; budget--) {
			w = work_next();
			if (w == NULL)
				break;
			work_run(&r, w);
			n++;
		}
		dlist_remove(&r.link);
		mutex_exit(&wq_lock);
	}
	return n + callout_run_expired();
}

void
workqueue_init(void)
{
	mutex_init(&wq_lock);
	cv_init(&wq_cv);
	cv_init(&wq_donecv);
	dlist_init(&wq_list);
	dlist_init(&wq_runners);
	wq_count = 0;
	wq_exiting = false;
	wq_nworkers = 0;
	atomic_store_release(&wq_ready, true);
}

int
workqueue_start(int nworkers)
{
	int error = 0;

	nworkers = MIN(nworkers, WORKERS_MAX);
	while (wq_nworkers < nworkers) {
		error = kthread_create(worker_main, NULL, "anyk-work",
		    &wq_workers[wq_nworkers]);
		if (error)
			break;
		wq_nworkers++;
	}
	return error;
}

int
workqueue_nworkers(void)
{
	return wq_nworkers;
}

void
workqueue_stop(void)
{
	struct work_runner r;
	struct work *w;
	int i, n = 0;

	if (!atomic_load_relaxed(&wq_ready))
		return;
	mutex_enter(&wq_lock);
	wq_exiting = true;
	cv_broadcast(&wq_cv);
	mutex_exit(&wq_lock);
	for (i = 0; i < wq_nworkers; i++)
		kthread_join(wq_workers[i]);
	wq_nworkers = 0;

	/* Without threads (or after them), what is left runs here. */
	mutex_enter(&wq_lock);
	runner_enter(&r);
	while ((w = work_next()) != NULL && n++ < WORK_DRAIN_MAX)
		work_run(&r, w);
	dlist_remove(&r.link);
	if (wq_count > 0)
		klog(LOG_WARN, "workqueue: %zu items still queued at shutdown", wq_count);
	mutex_exit(&wq_lock);
}

void
workqueue_fini(void)
{
	struct work *w;

	if (!atomic_load_relaxed(&wq_ready))
		return;
	while ((w = dlist_first(&wq_list, struct work, link)) != NULL) {
		dlist_remove(&w->link);
		w->state &= ~WS_QUEUED;
	}
	wq_count = 0;
	atomic_store_relaxed(&wq_ready, false);
	cv_destroy(&wq_donecv);
	cv_destroy(&wq_cv);
	mutex_destroy(&wq_lock);
}
