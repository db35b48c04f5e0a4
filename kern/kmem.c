/*
 * Kernel memory: every allocation goes to the host through here, charged to
 * a kmem_type so that anyk_memstats() shows who holds what, and counted
 * against the ANYK_MEMLIMIT budget.
 *
 * The budget is enforced without a lock: an allocation reserves its bytes
 * with one atomic add and backs them out if that went over the limit or the
 * host had no memory. Many threads may briefly overshoot together in the
 * counter, but no allocation that would exceed the limit succeeds.
 */
#include "anyk/anyk.h"

#include "kern/kernel.h"
#include "kern/init.h"

extern struct kmem_type __start_anyk_kmemtypes[]
	__attribute__((weak, visibility("hidden")));
extern struct kmem_type __stop_anyk_kmemtypes[]
	__attribute__((weak, visibility("hidden")));

KMEM_TYPE(kmem_misc, "misc");

static uint64_t kmem_inuse_bytes;
static uint64_t kmem_limit_bytes;

void
kmem_init(void)
{
	atomic_store_relaxed(&kmem_limit_bytes, param_u64("ANYK_MEMLIMIT", 0));
}

uint64_t
kmem_inuse(void)
{
	return atomic_load_relaxed(&kmem_inuse_bytes);
}

uint64_t
kmem_limit(void)
{
	return atomic_load_relaxed(&kmem_limit_bytes);
}

/* A zero-byte allocation is charged and made as one byte: the pointer must
 * be unique and kmem_free must find the same size again. */
static inline size_t
kmem_charge(size_t size)
{
	return size == 0 ? 1 : size;
}

void *
kmem_alloc_aligned(struct kmem_type *t, size_t size, size_t align)
{
	size_t csize = kmem_charge(size);
	uint64_t limit, nv;
	void *p;

	if (t == NULL)
		t = &kmem_misc;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (!powerof2(align) || align > 4096)
		panic("kmem_alloc_aligned: bad alignment %zu", align);
	nv = __atomic_add_fetch(&kmem_inuse_bytes, (uint64_t)csize, __ATOMIC_RELAXED);
	limit = kmem_limit();
	if (unlikely(nv < csize || (limit != 0 && nv > limit)))
		goto fail;
	p = anyk_hyp_malloc(csize, align);
	if (unlikely(p == NULL))
		goto fail;
	atomic_add(&t->bytes, (uint64_t)csize);
	atomic_inc(&t->allocs);
	return p;
fail:
	__atomic_sub_fetch(&kmem_inuse_bytes, (uint64_t)csize, __ATOMIC_RELAXED);
	atomic_inc(&t->failures);
	return NULL;
}

void *
kmem_alloc(struct kmem_type *t, size_t size)
{
	return kmem_alloc_aligned(t, size, sizeof(void *));
}

void *
kmem_zalloc(struct kmem_type *t, size_t size)
{
	void *p = kmem_alloc_aligned(t, size, sizeof(void *));

	if (p != NULL && size > 0)
		memset(p, 0, size);
	return p;
}

void
kmem_free(struct kmem_type *t, void *p, size_t size)
{
	size_t csize = kmem_charge(size);

	if (p == NULL)
		return;
	if (t == NULL)
		t = &kmem_misc;
	anyk_hyp_free(p, csize);
	__atomic_sub_fetch(&t->bytes, (uint64_t)csize, __ATOMIC_RELAXED);
	atomic_inc(&t->frees);
	__atomic_sub_fetch(&kmem_inuse_bytes, (uint64_t)csize, __ATOMIC_RELAXED);
}

char *
kmem_strdup(struct kmem_type *t, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = kmem_alloc(t, n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

void
kmem_strfree(struct kmem_type *t, char *s)
{
	if (s != NULL)
		kmem_free(t, s, strlen(s) + 1);
}

uint64_t
kmem_report_leaks(void)
{
	struct kmem_type *t;
	uint64_t bytes;

	for (t = __start_anyk_kmemtypes; t != NULL && t < __stop_anyk_kmemtypes; t++) {
		bytes = atomic_load_relaxed(&t->bytes);
		if (bytes != 0)
			klog(LOG_WARN, "kmem: %s still holds %llu bytes (%llu allocations, %llu frees)",
			    t->name, (unsigned long long)bytes,
			    (unsigned long long)atomic_load_relaxed(&t->allocs),
			    (unsigned long long)atomic_load_relaxed(&t->frees));
	}
	return kmem_inuse();
}

static void
memstat_fill(struct anyk_memstat_entry *e, const char *name, uint64_t bytes,
	     uint64_t allocs, uint64_t frees, uint64_t failures)
{
	strlcpy(e->name, name, sizeof(e->name));
	e->bytes = bytes;
	e->allocs = allocs;
	e->frees = frees;
	e->failures = failures;
}

ANYK_API int
anyk_memstats(struct anyk_memstat_entry *out, int n)
{
	struct kmem_type *t;
	uint64_t allocs = 0, frees = 0, failures = 0;
	int i = 1;

	if (out == NULL || n < 0)
		n = 0;
	for (t = __start_anyk_kmemtypes; t != NULL && t < __stop_anyk_kmemtypes; t++, i++) {
		allocs += atomic_load_relaxed(&t->allocs);
		frees += atomic_load_relaxed(&t->frees);
		failures += atomic_load_relaxed(&t->failures);
		if (i < n)
			memstat_fill(&out[i], t->name, atomic_load_relaxed(&t->bytes),
			    atomic_load_relaxed(&t->allocs), atomic_load_relaxed(&t->frees),
			    atomic_load_relaxed(&t->failures));
	}
	if (n > 0)
		memstat_fill(&out[0], "total", kmem_inuse(), allocs, frees, failures);
	return i;
}
