/*
 * anyk hypercalls: everything the kernel asks of its host.
 *
 * The kernel (kern/ vfs/ fs/ dev/ net/) calls nothing else. A host (a POSIX
 * process, WASI, bare metal) implements these functions; docs/hypercalls.md
 * is the contract, precise enough to write a new host from it alone.
 *
 * Conventions: functions returning int return 0 on success or a positive
 * ANYK_E* number; they never set errno. Objects the host creates (locks,
 * condition variables, threads) are opaque to the kernel. Every hypercall may
 * be called from any kernel thread or any host thread inside the kernel.
 */
#ifndef ANYK_HYPER_H
#define ANYK_HYPER_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ANYK_HYP_VERSION 1

/* --- start and stop ------------------------------------------------------ */

/* First call the kernel makes at boot. Returns 0, or an error to abort boot. */
int anyk_hyp_init(int version);
/* Last call the kernel makes at anyk_fini(). */
void anyk_hyp_fini(void);

/* --- memory -------------------------------------------------------------- */

/* Allocate size bytes aligned to align (a power of two, at most 4096, at
 * least sizeof(void *)); NULL if none. size > 0. */
void *anyk_hyp_malloc(size_t size, size_t align);
/* Free memory from anyk_hyp_malloc; size is the size it was allocated with. */
void anyk_hyp_free(void *p, size_t size);

/* --- console, parameters, errors ----------------------------------------- */

/* Write n bytes of kernel log text to the host's console (may be dropped). */
void anyk_hyp_console(const char *s, size_t n);
/* Copy the value of parameter name (e.g. "ANYK_MEMLIMIT") into buf,
 * NUL-terminated. ENOENT if unset, ENAMETOOLONG if it does not fit. */
int anyk_hyp_getparam(const char *name, char *buf, size_t len);
/* Set the calling host thread's error indicator (errno) to the host's value
 * for ANYK error number e. */
void anyk_hyp_set_errno(int e);
/* Terminate the host program (never returns). */
_Noreturn void anyk_hyp_exit(int status);
/* The kernel found itself inconsistent: report msg and stop (never returns). */
_Noreturn void anyk_hyp_panic(const char *msg);

/* --- clocks and sleeping ------------------------------------------------- */

#define ANYK_HYP_CLOCK_MONO 0 /* monotonic, arbitrary origin */
#define ANYK_HYP_CLOCK_REAL 1 /* wall clock, ns since 1970-01-01 UTC */
/* Current time of the clock in nanoseconds. */
int64_t anyk_hyp_clock_ns(int clock);
/* Block the calling thread: for ns nanoseconds (absolute=0), or until the
 * clock reads ns (absolute=1). */
void anyk_hyp_sleep_ns(int clock, int64_t ns, int absolute);

/* Fill buf with n unpredictable bytes. */
int anyk_hyp_random(void *buf, size_t n);

/* --- threads -------------------------------------------------------------- */

struct anyk_hyp_thread;
/* Start a host thread running fn(arg). With joinable, *tp receives a handle
 * for anyk_hyp_thread_join. ENOSYS on a host without threads (the kernel then
 * runs deferred work from anyk_run_pending()). */
int anyk_hyp_thread_create(void (*fn)(void *), void *arg, const char *name,
			   int joinable, struct anyk_hyp_thread **tp);
_Noreturn void anyk_hyp_thread_exit(void);
int anyk_hyp_thread_join(struct anyk_hyp_thread *t);
/* A per-host-thread pointer the kernel uses for the thread's kernel context
 * (process, nesting). NULL until set. */
void anyk_hyp_curctx_set(void *ctx);
void *anyk_hyp_curctx_get(void);
/* A small number identifying the calling host thread, stable for its life. */
uint64_t anyk_hyp_thread_id(void);

/* --- locks ---------------------------------------------------------------- */

struct anyk_hyp_mutex;
struct anyk_hyp_rwlock;
struct anyk_hyp_cond;

int anyk_hyp_mutex_init(struct anyk_hyp_mutex **mp);
void anyk_hyp_mutex_destroy(struct anyk_hyp_mutex *m);
void anyk_hyp_mutex_enter(struct anyk_hyp_mutex *m);
int anyk_hyp_mutex_tryenter(struct anyk_hyp_mutex *m); /* 0 or EBUSY */
void anyk_hyp_mutex_exit(struct anyk_hyp_mutex *m);

int anyk_hyp_rw_init(struct anyk_hyp_rwlock **rwp);
void anyk_hyp_rw_destroy(struct anyk_hyp_rwlock *rw);
/* write=0: shared, write=1: exclusive. */
void anyk_hyp_rw_enter(struct anyk_hyp_rwlock *rw, int write);
int anyk_hyp_rw_tryenter(struct anyk_hyp_rwlock *rw, int write); /* 0 or EBUSY */
void anyk_hyp_rw_exit(struct anyk_hyp_rwlock *rw);

int anyk_hyp_cond_init(struct anyk_hyp_cond **cvp);
void anyk_hyp_cond_destroy(struct anyk_hyp_cond *cv);
/* Atomically release m and wait; m is held again on return. Spurious
 * wake-ups are allowed. */
void anyk_hyp_cond_wait(struct anyk_hyp_cond *cv, struct anyk_hyp_mutex *m);
/* As cond_wait, until ANYK_HYP_CLOCK_MONO reads deadline_ns: 0 or ETIMEDOUT. */
int anyk_hyp_cond_timedwait(struct anyk_hyp_cond *cv, struct anyk_hyp_mutex *m,
			    int64_t deadline_ns);
void anyk_hyp_cond_signal(struct anyk_hyp_cond *cv);
void anyk_hyp_cond_broadcast(struct anyk_hyp_cond *cv);

/* --- host files and block I/O -------------------------------------------- */

#define ANYK_HYP_OPEN_RDONLY 0x0
#define ANYK_HYP_OPEN_RDWR 0x1
#define ANYK_HYP_OPEN_CREAT 0x2
#define ANYK_HYP_OPEN_EXCL 0x4
#define ANYK_HYP_OPEN_DIRECT 0x8 /* bypass the host's cache if it can */

#define ANYK_HYP_FT_NONE 0 /* does not exist */
#define ANYK_HYP_FT_REG 1
#define ANYK_HYP_FT_BLK 2
#define ANYK_HYP_FT_CHR 3
#define ANYK_HYP_FT_DIR 4
#define ANYK_HYP_FT_OTHER 5

/* Open a host file; *fdp receives a host handle (>= 0). */
int anyk_hyp_open(const char *path, int flags, int *fdp);
int anyk_hyp_close(int fd);
/* Size in bytes and type (ANYK_HYP_FT_*) of an open handle; for block
 * devices, the device size. sectorp (may be NULL) gets the logical sector
 * size the host reports, 512 if it has none. */
int anyk_hyp_fd_info(int fd, uint64_t *sizep, int *typep, uint32_t *sectorp);

/* Synchronous scatter/gather I/O at byte offset off; *donep gets the bytes
 * moved (short only at end of file or on error). */
int anyk_hyp_preadv(int fd, const struct anyk_iovec *iov, int cnt, int64_t off, size_t *donep);
int anyk_hyp_pwritev(int fd, const struct anyk_iovec *iov, int cnt, int64_t off, size_t *donep);
/* Make written data durable (a flush barrier). */
int anyk_hyp_fsync(int fd);
/* A hint: bytes [off, off + len) of the handle will be read soon, so the
 * host may start reading them into its own cache. It must not wait for that
 * I/O and may ignore the hint (an empty function is a correct host). The
 * block layer uses it for read-ahead, so that file data still moves in one
 * copy from the host into the caller's buffer. */
void anyk_hyp_prefetch(int fd, int64_t off, int64_t len);
/* A hint: bytes [off, off + len) of the handle were written and are not
 * expected to change soon, so the host may start writing them to its
 * storage. It must not wait for that I/O to finish (it may block while it
 * queues it) and may ignore the hint; it is no durability promise, which
 * only anyk_hyp_fsync gives. The block layer uses it for write-behind of
 * long sequential writes. */
void anyk_hyp_writeback(int fd, int64_t off, int64_t len);
/* Set the file's size (host files only; the kernel uses it for images). */
int anyk_hyp_ftruncate(int fd, uint64_t size);

/* Host streams: descriptors of the program's own (a pipe, a socket, a host
 * file) that it names in anyk_sys_pread_host / anyk_sys_pwrite_host, so
 * that file data moves between them and a disk without passing through
 * memory the kernel or the program touch. peer is the host's descriptor
 * number, used as given; the kernel never opens or closes it.
 *
 * anyk_hyp_splice moves len bytes between the host file fd at byte offset
 * off and the stream peer: ANYK_HYP_SPLICE_OUT from fd to peer,
 * ANYK_HYP_SPLICE_IN from peer to fd. *donep gets the bytes moved; fewer
 * than len with 0 returned means peer ended (IN) or fd did (OUT).
 * ANYK_ENOTSUP: the host cannot move data this way between these two (it
 * may always say so); the kernel then moves the bytes itself with
 * anyk_hyp_stream_read / anyk_hyp_stream_write, which transfer at peer's
 * own position, looping over short transfers until len bytes, the end of
 * the stream, or an error. All three block. */
#define ANYK_HYP_SPLICE_OUT 1
#define ANYK_HYP_SPLICE_IN 2
int anyk_hyp_splice(int fd, int64_t off, int peer, size_t len, int dir, size_t *donep);
int anyk_hyp_stream_read(int peer, void *buf, size_t len, size_t *donep);
int anyk_hyp_stream_write(int peer, const void *buf, size_t len, size_t *donep);

/* Asynchronous block I/O. The host moves len bytes between data and byte
 * offset off and then calls done(arg, moved, error) exactly once, from any
 * thread, possibly before anyk_hyp_bio returns. ANYK_HYP_BIO_FLUSH alone
 * (data NULL, len 0) is a flush barrier; with WRITE it makes that write
 * durable before completion. */
#define ANYK_HYP_BIO_READ 0x1
#define ANYK_HYP_BIO_WRITE 0x2
#define ANYK_HYP_BIO_FLUSH 0x4
typedef void (*anyk_hyp_biodone_fn)(void *arg, size_t moved, int error);
void anyk_hyp_bio(int fd, int op, void *data, size_t len, int64_t off,
		  anyk_hyp_biodone_fn done, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* ANYK_HYPER_H */
