/*
 * Boot parameters from the host (the environment on POSIX): sizes like
 * ANYK_MEMLIMIT=64m and small numbers like ANYK_NCPU=4. A value that does
 * not parse is treated as unset, with a line in dmesg, rather than failing
 * the boot.
 */
#include "kern/kernel.h"
#include "kern/init.h"

#define NCPU_MAX 64

int ncpu = 1;

uint64_t
param_u64(const char *name, uint64_t def)
{
	char buf[64];
	uint64_t v;
	int error;

	error = anyk_hyp_getparam(name, buf, sizeof(buf));
	if (error)
		goto bad;
	error = kparse_size(buf, &v);
	if (error)
		goto bad;
	return v;
bad:
	if (error != ENOENT)
		klog(LOG_WARN, "param: %s is not a number, using %llu", name,
		    (unsigned long long)def);
	return def;
}

void
param_init(void)
{
	uint64_t n = param_u64("ANYK_NCPU", 1);

	if (n < 1)
		n = 1;
	if (n > NCPU_MAX)
		n = NCPU_MAX;
	ncpu = (int)n;
	log_set_verbose((int)MIN(param_u64("ANYK_VERBOSE", 0), (uint64_t)LOG_DEBUG));
}
