/*
 * Private to host/posix: what its files share. Error translation between the
 * host's errno and anyk's numbers, the "may we start threads" switch, and the
 * I/O-thread shutdown hook that anyk_hyp_fini calls.
 *
 * Every file of host/posix includes this first: it fixes the feature macros
 * (64-bit file offsets) before any libc header is seen.
 */
#ifndef ANYK_HOST_POSIX_H
#define ANYK_HOST_POSIX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <anyk/hyper.h>

/* The ANYK_E* number for host errno value e; EIO for ones anyk lacks. */
int hposix_error(int e);
/* The host errno value for ANYK_E* number e; EIO for unknown ones. */
int hposix_host_errno(int e);

/* False when the environment says ANYK_THREADS=0: the host then behaves as
 * one without threads (thread_create gives ENOSYS, block I/O completes
 * synchronously). Read once, on first use. */
bool hposix_threads_enabled(void);
/* Start host threads with every signal blocked: signals belong to the
 * program, never to anyk's threads. Returns a host errno value. */
int hposix_spawn(pthread_t *tid, void *(*fn)(void *), void *arg, bool joinable);

/* ns nanoseconds as a timespec; negative values become zero, and values
 * past what time_t holds become its largest. */
void hposix_timespec(int64_t ns, struct timespec *ts);

/* Stop and join the block I/O threads, finishing queued requests first. */
void hposix_bio_fini(void);
void hposix_mem_fini(void);

#endif
