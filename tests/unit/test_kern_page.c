/*
 * Page allocator (kern/page.c): pages are distinct and usable, small use is
 * served page by page and larger use from chunks, memory is attributed to
 * the caller's type and returns to its baseline exactly when everything is
 * freed in any order, several threads share it, and under ANYK_MEMLIMIT it
 * falls back to single pages and then fails cleanly.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdint.h>

#include <anyk/anyk.h>

#include "kern/kernel.h"

KMEM_TYPE(page_test, "pagetest");

#define NPAGES 4096 /* 16 MiB: past the single pages, into several chunks */
#define NTHREADS 4

static void *pages[NPAGES];
static void *skipped[NPAGES / 64];

static uint64_t
stat_bytes(const char *name)
{
	struct anyk_memstat_entry e[128];
	int i, n = anyk_memstats(e, 128);

	for (i = 0; i < n && i < 128; i++)
		if (strcmp(e[i].name, name) == 0)
			return e[i].bytes;
	return UINT64_MAX;
}

static void
fill(void *pg, uint32_t seed)
{
	uint32_t *w = pg;

	for (size_t i = 0; i < PAGE_SIZE / 4; i++)
		w[i] = seed * 2654435761u + (uint32_t)i;
}

static bool
check(const void *pg, uint32_t seed)
{
	const uint32_t *w = pg;

	for (size_t i = 0; i < PAGE_SIZE / 4; i++)
		if (w[i] != seed * 2654435761u + (uint32_t)i)
			return false;
	return true;
}

static size_t
alloc_all(size_t n, size_t batch)
{
	size_t k = 0, got;

	while (k < n) {
		got = page_alloc_n(&page_test, &pages[k], MIN(batch, n - k));
		if (got == 0)
			break;
		k += got;
	}
	return k;
}

static void
test_basic(void)
{
	uint64_t base = kmem_inuse(), pbase = stat_bytes("pages");
	size_t k, i, n, contiguous = 0;
	bool ok = true;
	void *one;

	one = page_alloc(&page_test);
	T_OK(one != NULL, "page_alloc");
	fill(one, 1);
	T_OK(check(one, 1), "a page holds PAGE_SIZE bytes");
	T_EQ(stat_bytes("pagetest"), PAGE_SIZE, "a page is attributed to its type");
	page_free(&page_test, one);
	page_free(&page_test, NULL);
	T_EQ(kmem_inuse(), base, "page_free: memory back to the baseline");

	k = alloc_all(NPAGES, 37);
	T_EQ(k, NPAGES, "16 MiB of pages in odd-sized batches");
	for (i = 0; i < k; i++)
		fill(pages[i], (uint32_t)i);
	for (i = 0; i < k; i++)
		ok &= check(pages[i], (uint32_t)i);
	T_OK(ok, "every page keeps its own data (no two overlap)");
	for (i = 1; i < k; i++)
		contiguous += (char *)pages[i] == (char *)pages[i - 1] + PAGE_SIZE;
	T_OK(contiguous > NPAGES / 2, "most pages come from chunks in order (%zu of %d)",
	     contiguous, NPAGES);
	T_EQ(stat_bytes("pagetest"), (uint64_t)NPAGES * PAGE_SIZE,
	     "the caller's type holds exactly its pages");
	T_OK(kmem_inuse() - base >= (uint64_t)NPAGES * PAGE_SIZE, "the total covers them");
	T_OK(kmem_inuse() - base <= (uint64_t)NPAGES * PAGE_SIZE + (4u << 20),
	     "and wastes less than two chunks");

	/* Free every other page: chunks stay, half free; then take them again. */
	for (i = 0; i < k; i += 2) {
		page_free(&page_test, pages[i]);
		pages[i] = NULL;
	}
	T_EQ(stat_bytes("pagetest"), (uint64_t)NPAGES / 2 * PAGE_SIZE, "half freed, half attributed");
	for (i = 0; i < k; i += 2)
		ok &= page_alloc_n(&page_test, &pages[i], 1) == 1;
	T_OK(ok, "the freed half can be taken again");
	ok = true;
	for (i = 1; i < k; i += 2)
		ok &= check(pages[i], (uint32_t)i);
	T_OK(ok, "reusing freed pages leaves the others alone");

	/* Free in batches with NULL holes, back to front; the pages behind
	 * the holes keep one page of some chunks alive until the end. */
	for (i = k, n = 0; i >= 64; i -= 64) {
		skipped[n++] = pages[i - 3];
		pages[i - 3] = NULL;
		page_free_n(&page_test, &pages[i - 64], 64);
	}
	T_EQ(stat_bytes("pagetest"), (uint64_t)n * PAGE_SIZE, "NULL entries are skipped");
	T_OK(kmem_inuse() - base < (uint64_t)n * PAGE_SIZE + (2u << 20) * n,
	     "chunks with no page left went back");
	ok = true;
	for (i = 0; i < n; i++)
		ok &= check(skipped[i], (uint32_t)(k - i * 64 - 3));
	T_OK(ok, "pages behind the holes kept their data");
	page_free_n(&page_test, skipped, n);
	T_EQ(kmem_inuse(), base, "all freed: memory back to the baseline");
	T_EQ(stat_bytes("pages"), pbase, "no chunk is left over");
	T_EQ(stat_bytes("pagetest"), 0, "nothing attributed to the type");
}

struct worker {
	pthread_t t;
	uint32_t id;
	int bad, failed;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	void *mine[256];
	uint32_t rnd = w->id * 7919 + 1;
	size_t n = 0, want, got, i;

	for (int round = 0; round < 400; round++) {
		rnd = rnd * 1103515245u + 12345u;
		want = 1 + (rnd >> 16) % 64;
		if (n + want <= 256) {
			got = page_alloc_n(&page_test, &mine[n], want);
			if (got == 0)
				w->failed++;
			for (i = n; i < n + got; i++)
				fill(mine[i], w->id << 16 | (uint32_t)i);
			n += got;
		}
		rnd = rnd * 1103515245u + 12345u;
		want = (rnd >> 16) % (n + 1);
		for (i = n - want; i < n; i++)
			w->bad += !check(mine[i], w->id << 16 | (uint32_t)i);
		page_free_n(&page_test, &mine[n - want], want);
		n -= want;
	}
	for (i = 0; i < n; i++)
		w->bad += !check(mine[i], w->id << 16 | (uint32_t)i);
	page_free_n(&page_test, mine, n);
	return NULL;
}

static void
test_threads(void)
{
	struct worker w[NTHREADS];
	uint64_t base = kmem_inuse();
	int i, bad = 0, failed = 0, started = 0;

	for (i = 0; i < NTHREADS; i++) {
		w[i].id = (uint32_t)i + 1;
		w[i].bad = w[i].failed = 0;
		if (pthread_create(&w[i].t, NULL, worker_run, &w[i]) == 0)
			started++;
		else
			w[i].id = 0;
	}
	for (i = 0; i < NTHREADS; i++) {
		if (w[i].id == 0)
			continue;
		pthread_join(w[i].t, NULL);
		bad += w[i].bad;
		failed += w[i].failed;
	}
	T_EQ(started, NTHREADS, "threads started");
	T_EQ(bad, 0, "threads: every page kept its owner's data");
	T_EQ(failed, 0, "threads: no allocation failed");
	T_EQ(kmem_inuse(), base, "threads: memory back to the baseline");
	T_EQ(stat_bytes("pagetest"), 0, "threads: nothing attributed to the type");
}

static void
test_limit(void)
{
	uint64_t base, limit;
	size_t k;
	void *one;

	T_EQ(anyk_fini(), 0, "anyk_fini before the limit test");
	setenv("ANYK_MEMLIMIT", "9m", 1);
	T_EQ(anyk_init(), 0, "anyk_init with ANYK_MEMLIMIT=9m");
	unsetenv("ANYK_MEMLIMIT");
	base = kmem_inuse();
	limit = kmem_limit();
	k = alloc_all(NPAGES, 64);
	T_OK(k > 0 && k < NPAGES, "pages run out under the limit (%zu)", k);
	T_OK(kmem_inuse() <= limit, "accounted memory stays within the limit");
	T_OK(limit - kmem_inuse() < (2u << 20) + PAGE_SIZE * 2,
	     "single pages fill what a chunk no longer fits in (%llu bytes left)",
	     (unsigned long long)(limit - kmem_inuse()));
	one = page_alloc(&page_test);
	T_OK(one == NULL, "at the limit page_alloc fails");
	page_free(&page_test, one);
	page_free_n(&page_test, pages, k);
	T_EQ(kmem_inuse(), base, "limit: memory back to the baseline");
	k = alloc_all(600, 600);
	T_EQ(k, 600, "and usable again");
	page_free_n(&page_test, pages, k);
	T_EQ(kmem_inuse(), base, "and back again");
}

int
main(void)
{
	T_EQ(anyk_init(), 0, "anyk_init");
	test_basic();
	test_threads();
	test_limit();
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
