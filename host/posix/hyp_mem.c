/*
 * Memory for the kernel. Small blocks come from the C library's allocator.
 * Blocks of 2 MiB and more (the kernel's page chunks) are mapped directly,
 * aligned to 2 MiB, and populated in one call rather than by one page fault
 * per 4 KiB on first touch; they go back to the system as soon as they are
 * freed. The kernel does its own accounting and caching.
 *
 * Where it pays, the blocks are backed by transparent huge pages: one fault
 * and one clear per 2 MiB. It does not always pay. In a virtual machine
 * that hands free memory back to its hypervisor (free page reporting, which
 * reports whole 2 MiB blocks and leaves scattered 4 KiB pages alone), a new
 * huge page is often memory the hypervisor must fault in again, and costs
 * ten to forty times as much as small pages that the guest still holds.
 * Both kinds come and go, so the host keeps a running average of what a
 * huge page costs to populate; when it passes what small pages would cost,
 * huge pages are off for a second, then tried afresh.
 *
 * Freed chunks of exactly 2 MiB (the page allocator's) are not unmapped at
 * once: up to a cap (1/16 of the machine's memory, at most 1 GiB, and no
 * more than ANYK_MEMLIMIT) they stay mapped, marked MADV_FREE, and the
 * next chunk asked for is one of them. Writing a file, deleting it and
 * writing another then reuses memory already populated instead of having
 * the system clear fresh pages (or the hypervisor supply them) again; and
 * MADV_FREE lets the system take the pages back without writing them
 * anywhere whenever it needs memory, in which case they come back as
 * zero pages on first touch. anyk_hyp_fini unmaps what is cached.
 */
#include "hyp_posix.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HUGE_SIZE ((size_t)2 << 20)
/* Measured on a 2-CPU VM: a huge page the guest holds populates in about
 * 0.2 ms, one the hypervisor must supply in 4-13 ms, and 2 MiB of small
 * pages in 1-2.5 ms. */
#define HUGE_SLOW_NS 1500000
#define HUGE_BACKOFF_NS 1000000000

/* Atomics, updated without a lock: a lost update only blurs the average. */
static int64_t huge_avg_ns;    /* running average per 2 MiB, weight 1/8 */
static int64_t huge_off_until; /* CLOCK_MONOTONIC ns */

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Back [a, a+len) with memory now, in huge pages if they are cheap. */
static void
populate(char *a, size_t len)
{
	int64_t t0 = mono_ns(), t1, avg;
	int huge = 0;

#ifdef MADV_HUGEPAGE
	huge = t0 >= __atomic_load_n(&huge_off_until, __ATOMIC_RELAXED) &&
	       madvise(a, len, MADV_HUGEPAGE) == 0;
#endif
#ifdef MADV_POPULATE_WRITE
	/* Failure only means the pages are faulted in on first touch. */
	(void)madvise(a, len, MADV_POPULATE_WRITE);
#endif
	t1 = mono_ns();
	if (!huge)
		return;
	avg = __atomic_load_n(&huge_avg_ns, __ATOMIC_RELAXED);
	avg += ((t1 - t0) / (int64_t)(len / HUGE_SIZE) - avg) / 8;
	if (avg > HUGE_SLOW_NS) {
		__atomic_store_n(&huge_off_until, t1 + HUGE_BACKOFF_NS, __ATOMIC_RELAXED);
		avg = 0;
	}
	__atomic_store_n(&huge_avg_ns, avg, __ATOMIC_RELAXED);
}

static size_t
map_length(size_t size)
{
	return (size + 4095) & ~(size_t)4095;
}

static void *
map_huge(size_t size)
{
	size_t len = map_length(size), head, tail;
	char *p, *a;

	if (len < size || len > SIZE_MAX - HUGE_SIZE)
		return NULL;
	p = mmap(NULL, len + HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Map more than needed and trim both ends to an aligned window: a
	 * huge page can only back a 2 MiB-aligned range. */
	a = (char *)(((uintptr_t)p + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1));
	head = (size_t)(a - p);
	tail = HUGE_SIZE - head;
	if (head > 0)
		munmap(p, head);
	if (tail > 0)
		munmap(a + len, tail);
	populate(a, len);
	return a;
}

#define CACHE_MAX_BYTES ((size_t)1 << 30)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *cache[CACHE_MAX_BYTES / HUGE_SIZE]; /* freed chunks, newest last */
static size_t cache_n;
static size_t cache_cap = (size_t)-1; /* entries; -1: not yet decided */

/* The cap, decided once: see the top of the file. cache_lock held. */
static size_t
cache_limit(void)
{
	unsigned long long lim = CACHE_MAX_BYTES, v;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	const char *e = getenv("ANYK_MEMLIMIT");
	char *end;

	if (cache_cap != (size_t)-1)
		return cache_cap;
	if (pages > 0 && psize > 0 && (unsigned long long)pages / 16 * (unsigned long long)psize < lim)
		lim = (unsigned long long)pages / 16 * (unsigned long long)psize;
	if (e != NULL && *e != '\0') {
		v = strtoull(e, &end, 0);
		if (*end == 'k' || *end == 'K')
			v <<= 10;
		else if (*end == 'm' || *end == 'M')
			v <<= 20;
		else if (*end == 'g' || *end == 'G')
			v <<= 30;
		/* 0 or no number: no limit (as the kernel reads it) */
		if (end != e && v != 0 && v < lim)
			lim = v;
	}
	cache_cap = (size_t)(lim / HUGE_SIZE);
	return cache_cap;
}

static void *
cache_take(void)
{
	void *p = NULL;

	pthread_mutex_lock(&cache_lock);
	if (cache_n > 0)
		p = cache[--cache_n];
	pthread_mutex_unlock(&cache_lock);
	return p;
}

static int
cache_put(void *p)
{
	int kept = 0;

	pthread_mutex_lock(&cache_lock);
	if (cache_n < cache_limit()) {
#ifdef MADV_FREE
		(void)madvise(p, HUGE_SIZE, MADV_FREE);
#endif
		cache[cache_n++] = p;
		kept = 1;
	}
	pthread_mutex_unlock(&cache_lock);
	return kept;
}

void
hposix_mem_fini(void)
{
	pthread_mutex_lock(&cache_lock);
	while (cache_n > 0)
		munmap(cache[--cache_n], HUGE_SIZE);
	pthread_mutex_unlock(&cache_lock);
}

void *
anyk_hyp_malloc(size_t size, size_t align)
{
	void *p;

	/* posix_memalign wants a power of two no smaller than a pointer; the
	 * contract promises that, but a bad caller gets NULL, not UB. */
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (size == 0 || (align & (align - 1)) != 0)
		return NULL;
	if (size >= HUGE_SIZE && align <= HUGE_SIZE) {
		if (map_length(size) == HUGE_SIZE && (p = cache_take()) != NULL)
			return p;
		return map_huge(size);
	}
	/* malloc already aligns to max_align_t, and is the C library's fast
	 * path; posix_memalign takes a slower one even for small alignments. */
	if (align <= _Alignof(max_align_t))
		return malloc(size);
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	return p;
}

void
anyk_hyp_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size >= HUGE_SIZE) {
		if (map_length(size) != HUGE_SIZE || !cache_put(p))
			munmap(p, map_length(size));
		return;
	}
	free(p); /* libc remembers the size itself */
}
