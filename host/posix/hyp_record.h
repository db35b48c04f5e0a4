/*
 * Private to host/posix: the disk write recorder (hyp_record.c), a test
 * facility. With ANYK_DISK_RECORD=/path/to/log in the environment, every
 * write and successful flush that reaches a host file opened read-write is
 * appended to that log, so that crash tests can rebuild the image as it
 * stood at any point. Without the variable every hook returns at once.
 */
#ifndef ANYK_HOST_POSIX_RECORD_H
#define ANYK_HOST_POSIX_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <anyk/hyper.h>

/* Flush kinds, stored in a flush record's flags. */
#define HREC_FLUSH_FSYNC 0 /* anyk_hyp_fsync */
#define HREC_FLUSH_BIO 1   /* ANYK_HYP_BIO_FLUSH, alone or after a write */

/* fd was just opened read-write from path: record it if recording is on.
 * Returns 0, or an ANYK_E* number when the log cannot be opened (the
 * caller then fails the open: a test asked for a record it would not get). */
int hrec_open(const char *path, int fd);
/* fd is about to be closed; the last recorded file closed ends the session
 * (the log is written out and made durable). */
void hrec_close(int fd);
/* Whether writes of fd are being recorded (they must then arrive through
 * hrec_write, with their data). */
int hrec_recorded(int fd);
/* done bytes of iov (from the start) reached the file at off. */
void hrec_write(int fd, const struct anyk_iovec *iov, int cnt, int64_t off, size_t done);
/* A flush of fd succeeded. */
void hrec_flush(int fd, int kind);
/* fd's file was truncated or extended to size. */
void hrec_size(int fd, uint64_t size);

#endif
