/*
 * Memory for the kernel, from the C library's allocator. The kernel does its
 * own accounting and caching; the host only hands out aligned blocks.
 */
#include "hyp_posix.h"

#include <stdlib.h>

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
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	return p;
}

void
anyk_hyp_free(void *p, size_t size)
{
	(void)size; /* libc remembers the size itself */
	free(p);
}
