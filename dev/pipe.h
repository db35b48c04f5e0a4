/*
 * Pipes (dev/pipe.c): the ring buffer behind pipe(2) and named FIFOs.
 * fifo_open() is declared in vfs/vfs.h, since the VFS calls it.
 */
#ifndef ANYK_DEV_PIPE_H
#define ANYK_DEV_PIPE_H

#include "vfs/vfs.h"

#define PIPE_SIZE (64 * 1024) /* bytes a pipe holds */
#define PIPE_BUF 4096         /* writes up to this size are atomic */

/* Make a pipe with rfp as its read end and wfp as its write end: fills
 * their f_ops, f_data and access mode (status flags are the caller's). */
int pipe_create(struct file *rfp, struct file *wfp);

#endif /* ANYK_DEV_PIPE_H */
