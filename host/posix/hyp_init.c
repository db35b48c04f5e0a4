/*
 * Start and stop of the POSIX host. Everything else starts lazily on first
 * use, so there is little to do: check that kernel and host agree on the
 * hypercall interface, and at the end stop the I/O threads and give back cached memory.
 */
#include "hyp_posix.h"

int
anyk_hyp_init(int version)
{
	if (version != ANYK_HYP_VERSION)
		return ANYK_ENOTSUP;
	(void)hposix_threads_enabled(); /* read ANYK_THREADS now, not later */
	return 0;
}

void
anyk_hyp_fini(void)
{
	hposix_bio_fini();
	hposix_mem_fini();
}
