/*
 * Wall-clock time for file times; the monotonic clock is inline in
 * kernel.h. The host's clock is nanoseconds since 1970, possibly negative.
 */
#include "kern/kernel.h"

void
time_real(struct anyk_timespec *ts)
{
	int64_t ns = anyk_hyp_clock_ns(ANYK_HYP_CLOCK_REAL);

	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
}
