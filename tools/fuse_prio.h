/*
 * Where the FUSE server's threads run, and at what priority.
 *
 * A FUSE call is a round trip between the caller and a server thread. On
 * one processor it costs two thread switches; across two it costs two
 * wake-ups of another processor, which in a virtual machine take tens of
 * microseconds each, more than the request. The host scheduler moves a
 * woken caller to an idle processor rather than leave it beside the busy
 * server thread, unless that thread runs at idle priority (SCHED_IDLE):
 * a processor running only such threads counts as idle. So a server
 * thread on the caller's processor at idle priority keeps each call on
 * one processor.
 *
 * Idle priority starves when normal threads keep the processor busy, so a
 * governor thread watches, every 10 ms while requests flow, how long each
 * governed thread waited to run; one that waited more than 1 ms on
 * average each time it ran is put back at normal priority for a second. After a second without
 * requests every governed thread goes back to normal priority and the
 * governor sleeps until the next request, so an idle mount costs nothing.
 * Idle priority is used only where the process may bring a thread back
 * (root, or RLIMIT_NICE allowing it) and the host reports run-queue
 * waits (schedstat).
 */
#ifndef ANYK_TOOLS_FUSE_PRIO_H
#define ANYK_TOOLS_FUSE_PRIO_H

#ifdef ANYK_HAVE_FUSE

#include <stdint.h>

/* Can threads go to idle priority and back here? Asked once. */
int prio_usable(void);
/* Start the governor (if prio_usable()) for up to cap threads. */
void prio_start(unsigned cap);
/* The calling thread is governed from now on. 0, or -1 if it is not. */
int prio_join(void);
/* A request was served: wakes a sleeping governor. */
void prio_busy(void);
/* Stop the governor; every governed thread is back at normal priority. */
void prio_stop(void);

/* For the one thread that reads /dev/fuse, whose requests come from any
 * processor: now and then look up which processor the caller (pid, from
 * the request) runs on and move there, joining the governed threads. */
void prio_follow(uint32_t pid);
/* Nonzero once prio_follow has bound the thread to a processor. */
int prio_following(void);
/* Say on stderr when the /dev/fuse thread starts to follow. */
void prio_debug(int on);

struct fuse_session;
/* Serve se from this thread until it is unmounted: the request loop of
 * "anyk mount" over /dev/fuse, spinning spin_us after each request (0: no
 * spin) and following the callers' processors while ring_active (may be
 * NULL) says no io_uring transport serves. 0, or a negative errno. */
int prio_serve(struct fuse_session *se, unsigned spin_us, int (*ring_active)(void));

#endif /* ANYK_HAVE_FUSE */
#endif /* ANYK_TOOLS_FUSE_PRIO_H */
