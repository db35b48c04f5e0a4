/*
 * The FUSE low-level operations of "anyk mount": each request from the
 * host kernel becomes anyk system calls on the file system mounted in the
 * anyk kernel. cmd_mount.c sets the kernel up (disk, mount, chroot into
 * the mounted file system) and runs the session; this interface is what
 * the two share.
 */
#ifndef ANYK_TOOLS_FUSE_OPS_H
#define ANYK_TOOLS_FUSE_OPS_H

#ifdef ANYK_HAVE_FUSE

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

/* The largest read or write request the server takes, bytes. */
#define FUSEOPS_IO_MAX (1u << 20)
/* The largest read request the host is asked for (mount option max_read):
 * a spliced answer, its header and libfuse's slack must fit a pipe of
 * FUSEOPS_IO_MAX, the most an unprivileged process may have
 * (pipe-max-size), so a few pages less. Writes are not capped by it. */
#define FUSEOPS_READ_MAX (FUSEOPS_IO_MAX - 16384)

struct fuseops_config {
	int set_uid, set_gid; /* report every file as owned by uid/gid */
	uid_t uid;
	gid_t gid;
	double timeout;       /* entry and attribute timeout, seconds */
	int nosplice;         /* answer reads from memory, never from a pipe */
	int hostperms;        /* the host checks permissions (default_permissions) */
	int opens;            /* every open asks the server, even where it need not */
	unsigned max_read;    /* the max_read mount option given to the host */
};

/* Before the session starts, with the kernel's root the file system's
 * root: the root node, the descriptor pool. 0 or an errno value. */
int fuseops_init(const struct fuseops_config *cfg);
/* When the session loop has ended, before the session is destroyed:
 * answer the reads still queued for the reader threads and stop them. */
void fuseops_drain(void);
/* After the session: close what is left open, free the nodes. */
void fuseops_fini(void);
/* Whether the request this thread just ran was handed to the reader
 * pool, to be answered later from another thread; asking clears it. */
int fuseops_take_deferred(void);
/* If set: where the answer to the request this thread is running may be
 * built, size bytes (a read's data, read there, is then not copied
 * again), or NULL. */
extern void *(*fuseops_reply_room)(size_t size);
/* If set: whether requests will come through io_uring rings (asked during
 * INIT, before the answer goes out), where answers cannot be spliced. */
extern int (*fuseops_rings_planned)(void);
extern const struct fuse_lowlevel_ops fuseops;

#endif /* ANYK_HAVE_FUSE */
#endif /* ANYK_TOOLS_FUSE_OPS_H */
