/*
 * FUSE over io_uring for "anyk mount": when the host kernel offers it,
 * requests reach the server through one ring per processor instead of
 * read() and writev() on /dev/fuse. The host kernel puts each request on
 * the queue of the processor its caller runs on, and that queue's thread
 * is bound to the same processor, so a call and its answer are two
 * context switches on one processor instead of wake-ups across two.
 *
 * The transport sits under libfuse (3.14, which has no io_uring support
 * of its own) as a custom I/O: libfuse still parses every request and
 * formats every reply; this file moves them between the rings and
 * libfuse. FORGET and INTERRUPT still come through /dev/fuse, which the
 * session loop keeps reading.
 */
#ifndef ANYK_TOOLS_FUSE_URING_H
#define ANYK_TOOLS_FUSE_URING_H

#ifdef ANYK_HAVE_FUSE

#include "tools/fuse_ops.h"

enum {
	FURING_NEVER,  /* -o nouring */
	FURING_AUTO,   /* when offered, and queue threads may run at idle priority */
	FURING_ALWAYS, /* -o uring: whenever the host kernel offers it */
};

/* Put the transport under se, mounted on /dev/fuse descriptor fd, before
 * the session loop starts; want is one of the above. When the host
 * kernel does not offer io_uring in its INIT (Linux before 6.14, or
 * fuse.enable_uring off), everything stays on /dev/fuse. debug: say on
 * stderr which transport serves. 0, or -1 if libfuse refused the custom
 * I/O (then nothing changed). */
int furing_attach(struct fuse_session *se, int fd, int want, int debug);
/* Nonzero once the rings serve requests. */
int furing_active(void);
/* After the session loop: stop the ring threads and free the rings. */
void furing_stop(void);

#endif /* ANYK_HAVE_FUSE */
#endif /* ANYK_TOOLS_FUSE_URING_H */
