/*
 * Memory for the kernel. Small blocks come from the C library's allocator.
 * Blocks of 2 MiB and more (the kernel's page chunks) are mapped directly,
 * aligned to 2 MiB and marked for transparent huge pages, so that Linux
 * backs them with a few huge pages rather than faulting in (and zeroing)
 * 4 KiB at a time; they go back to the system as soon as they are freed.
 * The kernel does its own accounting and caching.
 */
#include "hyp_posix.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_SIZE ((size_t)2 << 20)

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
#ifdef MADV_HUGEPAGE
	/* Only a hint: without huge pages it works as before. */
	(void)madvise(a, len, MADV_HUGEPAGE);
#endif
	return a;
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
	if (size >= HUGE_SIZE && align <= HUGE_SIZE)
		return map_huge(size);
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
		munmap(p, map_length(size));
		return;
	}
	free(p); /* libc remembers the size itself */
}
