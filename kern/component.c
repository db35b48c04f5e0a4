/*
 * Components and shutdown hooks. A component is linked in by its
 * descriptor in the anyk_components section; boot runs them by level, then
 * name, so the order does not depend on link order. Shutdown hooks undo
 * what components set up, newest first.
 */
#include "kern/kernel.h"
#include "kern/init.h"

#define COMPONENTS_MAX 256

/* Weak: a kernel linked without any component still links. */
extern const struct component __start_anyk_components[]
	__attribute__((weak, visibility("hidden")));
extern const struct component __stop_anyk_components[]
	__attribute__((weak, visibility("hidden")));

static struct dlist hooks = DLIST_INIT(hooks);
static kmutex_t hooks_lock;

static int
component_cmp(const struct component *a, const struct component *b)
{
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	return strcmp(a->name, b->name);
}

int
components_run(int minlevel, int maxlevel)
{
	const struct component *sorted[COMPONENTS_MAX], *c, *t;
	size_t n = 0, i, j;
	int error;

	for (c = __start_anyk_components; c != NULL && c < __stop_anyk_components; c++) {
		if (c->level < minlevel || c->level >= maxlevel)
			continue;
		if (n == COMPONENTS_MAX) {
			klog(LOG_ERR, "boot: more than %d components", COMPONENTS_MAX);
			return E2BIG;
		}
		/* Insertion sort: a few dozen entries, once per boot. */
		for (j = n; j > 0 && component_cmp(sorted[j - 1], c) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = c;
		n++;
	}
	for (i = 0; i < n; i++) {
		t = sorted[i];
		error = t->init != NULL ? t->init() : 0;
		if (error) {
			klog(LOG_ERR, "boot: component %s failed (error %d)", t->name, error);
			return error;
		}
		klog(LOG_INFO, "component %s initialised (level %d)", t->name, t->level);
	}
	return 0;
}

void
shutdown_hooks_init(void)
{
	mutex_init(&hooks_lock);
	dlist_init(&hooks);
}

void
shutdown_hook_register(struct shutdown_hook *h)
{
	mutex_enter(&hooks_lock);
	dlist_insert_head(&hooks, &h->link);
	mutex_exit(&hooks_lock);
}

/* Each hook is unlinked before it runs, so a hook may register another
 * (which then runs next) and nothing runs twice. */
void
shutdown_hooks_run(void)
{
	struct shutdown_hook *h;

	for (;;) {
		mutex_enter(&hooks_lock);
		h = dlist_first(&hooks, struct shutdown_hook, link);
		if (h != NULL)
			dlist_remove(&h->link);
		mutex_exit(&hooks_lock);
		if (h == NULL)
			break;
		h->fn();
	}
	mutex_destroy(&hooks_lock);
}
