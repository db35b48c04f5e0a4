/*
 * Timers: pending callouts sit in a red-black tree ordered by expiry time
 * (then by the order they were scheduled, so equal times fire FIFO). One
 * timer thread sleeps until the earliest is due; without threads,
 * anyk_run_pending() fires the expired ones in the caller.
 *
 * As in the work queue, the thread firing a callout records it in a runner
 * record, so callout_halt can wait for a running handler without touching
 * the callout after it returned, and a handler can halt itself.
 */
#include "kern/kernel.h"
#include "kern/init.h"

#define CS_PENDING 0x1

struct callout_runner {
	struct dlist link;
	uint64_t tid;
	struct callout *cur;
};

static kmutex_t co_lock;
static kcondvar_t co_cv;	/* earliest callout changed, or exit */
static kcondvar_t co_donecv;	/* a handler returned */
static struct rb_tree co_tree;
static uint64_t co_seq;
static struct dlist co_runners = DLIST_INIT(co_runners);
static struct kthread *co_thread;
static bool co_exiting;
static bool co_ready;
static bool co_firing;		/* a caller of callout_run_expired is at it */

static int
callout_cmp(const struct callout *a, const struct callout *b)
{
	if (a->when != b->when)
		return a->when < b->when ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static int
callout_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	return callout_cmp(container_of(a, struct callout, node),
	    container_of(b, struct callout, node));
}

static int
callout_cmp_key(const struct rb_node *n, const void *key)
{
	return callout_cmp(container_of(n, struct callout, node), key);
}

void
callout_init(struct callout *c, void (*fn)(void *), void *arg)
{
	memset(&c->node, 0, sizeof(c->node));
	c->when = 0;
	c->seq = 0;
	c->fn = fn;
	c->arg = arg;
	c->state = 0;
}

static bool
callout_running_elsewhere(const struct callout *c, uint64_t tid)
{
	struct dlist *it;
	struct callout_runner *r;

	dlist_foreach(it, &co_runners) {
		r = dlist_entry(it, struct callout_runner, link);
		if (r->cur == c && r->tid != tid)
			return true;
	}
	return false;
}

static struct callout *
callout_first(void)
{
	struct rb_node *n = rb_min(&co_tree);

	return n != NULL ? container_of(n, struct callout, node) : NULL;
}

void
callout_schedule(struct callout *c, int64_t delay_ns)
{
	int64_t now = time_mono_ns();

	KASSERT(atomic_load_relaxed(&co_ready));
	if (delay_ns < 0)
		delay_ns = 0;
	mutex_enter(&co_lock);
	if (c->state & CS_PENDING)
		rb_remove(&co_tree, &c->node);
	c->when = delay_ns > INT64_MAX - now ? INT64_MAX : now + delay_ns;
	c->seq = ++co_seq;
	c->state |= CS_PENDING;
	rb_insert(&co_tree, &c->node);
	if (callout_first() == c)
		cv_signal(&co_cv);
	mutex_exit(&co_lock);
}

static bool
callout_unpend(struct callout *c)
{
	if (!(c->state & CS_PENDING))
		return false;
	rb_remove(&co_tree, &c->node);
	c->state &= ~CS_PENDING;
	return true;
}

bool
callout_stop(struct callout *c)
{
	bool was;

	if (!atomic_load_relaxed(&co_ready))
		return false;
	mutex_enter(&co_lock);
	was = callout_unpend(c);
	mutex_exit(&co_lock);
	return was;
}

void
callout_halt(struct callout *c)
{
	uint64_t tid = anyk_hyp_thread_id();

	if (!atomic_load_relaxed(&co_ready))
		return;
	mutex_enter(&co_lock);
	/* The handler may reschedule itself while we wait: unpend again. */
	for (;;) {
		callout_unpend(c);
		if (!callout_running_elsewhere(c, tid))
			break;
		cv_wait(&co_donecv, &co_lock);
	}
	mutex_exit(&co_lock);
}

/* Called and returns with co_lock held; drops it around the handler. */
static void
callout_fire(struct callout_runner *r, struct callout *c)
{
	void (*fn)(void *) = c->fn;
	void *arg = c->arg;

	callout_unpend(c);
	r->cur = c;
	mutex_exit(&co_lock);
	fn(arg);
	mutex_enter(&co_lock);
	r->cur = NULL;
	cv_broadcast(&co_donecv);
}

static void
runner_enter(struct callout_runner *r)
{
	r->tid = anyk_hyp_thread_id();
	r->cur = NULL;
	dlist_insert_tail(&co_runners, &r->link);
}

static void
callout_thread(void *arg)
{
	struct callout_runner r;
	struct callout *c;
	int64_t now;

	(void)arg;
	mutex_enter(&co_lock);
	runner_enter(&r);
	while (!co_exiting) {
		c = callout_first();
		if (c == NULL) {
			cv_wait(&co_cv, &co_lock);
			continue;
		}
		now = time_mono_ns();
		if (c->when > now) {
			cv_timedwait(&co_cv, &co_lock, c->when - now);
			continue;
		}
		callout_fire(&r, c);
	}
	dlist_remove(&r.link);
	mutex_exit(&co_lock);
}

/*
 * Without a timer thread, fire what has expired. One caller at a time, so
 * a callout never runs twice at once; only callouts scheduled before the
 * call began fire, so one that reschedules itself with no delay cannot keep
 * the caller here.
 */
int
callout_run_expired(void)
{
	struct callout_runner r;
	struct callout *c;
	uint64_t lastseq;
	int64_t now;
	int n = 0;

	if (!atomic_load_relaxed(&co_ready))
		return 0;
	mutex_enter(&co_lock);
	if (co_thread != NULL || co_firing) {
		mutex_exit(&co_lock);
		return 0;
	}
	co_firing = true;
	runner_enter(&r);
	lastseq = co_seq;
	now = time_mono_ns();
	while ((c = callout_first()) != NULL && c->when <= now && c->seq <= lastseq) {
		callout_fire(&r, c);
		n++;
	}
	dlist_remove(&r.link);
	co_firing = false;
	mutex_exit(&co_lock);
	return n;
}

void
callout_subsys_init(void)
{
	mutex_init(&co_lock);
	cv_init(&co_cv);
	cv_init(&co_donecv);
	rb_init(&co_tree, callout_cmp_nodes, callout_cmp_key);
	dlist_init(&co_runners);
	co_thread = NULL;
	co_exiting = false;
	co_firing = false;
	atomic_store_release(&co_ready, true);
}

int
callout_start(void)
{
	struct kthread *t;
	int error;

	error = kthread_create(callout_thread, NULL, "anyk-timer", &t);
	if (error)
		return error;
	mutex_enter(&co_lock);
	co_thread = t;
	mutex_exit(&co_lock);
	return 0;
}

void
callout_stop_thread(void)
{
	struct kthread *t;

	if (!atomic_load_relaxed(&co_ready))
		return;
	mutex_enter(&co_lock);
	co_exiting = true;
	cv_broadcast(&co_cv);
	t = co_thread;
	mutex_exit(&co_lock);
	if (t != NULL)
		kthread_join(t);
	mutex_enter(&co_lock);
	co_thread = NULL;
	co_exiting = false;
	mutex_exit(&co_lock);
}

void
callout_fini(void)
{
	struct callout *c;
	int n = 0;

	if (!atomic_load_relaxed(&co_ready))
		return;
	mutex_enter(&co_lock);
	while ((c = callout_first()) != NULL) {
		callout_unpend(c);
		n++;
	}
	mutex_exit(&co_lock);
	if (n > 0)
		klog(LOG_WARN, "callout: %d timers still pending at shutdown, dropped", n);
	atomic_store_relaxed(&co_ready, false);
	cv_destroy(&co_donecv);
	cv_destroy(&co_cv);
	mutex_destroy(&co_lock);
}
