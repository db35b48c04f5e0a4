/*
 * Asynchronous block I/O for the kernel's disks: a small pool of I/O
 * threads takes requests from a bounded queue, so that several are in
 * flight at once (read-ahead, write clustering) while the submitting thread
 * goes on.
 *
 * The pool starts on first use and stops at anyk_hyp_fini, after finishing
 * what is queued. Without threads (ANYK_THREADS=0, or none could be
 * started) and whenever the queue is full, the request runs on the calling
 * thread and completes before anyk_hyp_bio returns — which the contract
 * allows, and which never blocks a submitter behind a worker that is itself
 * waiting in a completion callback.
 */
#include "hyp_posix.h"
#include "hyp_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIO_QUEUE 256	   /* requests waiting for a thread */
#define BIO_THREADS 4	   /* default pool size: I/O threads mostly sleep */
#define BIO_THREADS_MAX 16

struct bioreq {
	int fd;
	int op;
	void *data;
	size_t len;
	int64_t off;
	anyk_hyp_biodone_fn done;
	void *arg;
};

static struct {
	pthread_mutex_t lock; /* protects everything below */
	pthread_cond_t work;  /* queue not empty, or stopping */
	struct bioreq q[BIO_QUEUE];
	unsigned head, count;
	pthread_t tids[BIO_THREADS_MAX];
	int nthreads;
	bool started;  /* the pool was set up (maybe with no threads) */
	bool stopping; /* anyk_hyp_fini is draining and joining */
} bio = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t bio_atfork_once = PTHREAD_ONCE_INIT;

static int
bio_sync(int fd)
{
	int r;

	do
#ifdef __linux__
		r = fdatasync(fd);
#else
		r = fsync(fd);
#endif
	while (r != 0 && errno == EINTR);
	if (r != 0)
		return hposix_error(errno);
	hrec_flush(fd, HREC_FLUSH_BIO);
	return 0;
}

/* Carry out one request and report it: done() is called exactly once. */
static void
bio_run(const struct bioreq *r)
{
	struct anyk_iovec iov;
	size_t moved = 0;
	int error = 0;

	switch (r->op) {
	case ANYK_HYP_BIO_FLUSH:
		if (r->len != 0)
			error = ANYK_EINVAL;
		else
			error = bio_sync(r->fd);
		break;
	case ANYK_HYP_BIO_READ:
	case ANYK_HYP_BIO_WRITE:
	case ANYK_HYP_BIO_WRITE | ANYK_HYP_BIO_FLUSH:
		if (r->data == NULL && r->len > 0) {
			error = ANYK_EINVAL;
			break;
		}
		iov.iov_base = r->data;
		iov.iov_len = r->len;
		if (r->op == ANYK_HYP_BIO_READ)
			error = anyk_hyp_preadv(r->fd, &iov, 1, r->off, &moved);
		else
			error = anyk_hyp_pwritev(r->fd, &iov, 1, r->off, &moved);
		if (error == 0 && (r->op & ANYK_HYP_BIO_FLUSH))
			error = bio_sync(r->fd);
		break;
	default:
		error = ANYK_EINVAL;
		break;
	}
	r->done(r->arg, moved, error);
}

static void *
bio_worker(void *unused)
{
	struct bioreq r;

	(void)unused;
	pthread_mutex_lock(&bio.lock);
	for (;;) {
		while (bio.count == 0 && !bio.stopping)
			pthread_cond_wait(&bio.work, &bio.lock);
		if (bio.count == 0)
			break; /* stopping, and nothing left to finish */
		r = bio.q[bio.head];
		bio.head = (bio.head + 1) % BIO_QUEUE;
		bio.count--;
		pthread_mutex_unlock(&bio.lock);
		bio_run(&r);
		pthread_mutex_lock(&bio.lock);
	}
	pthread_mutex_unlock(&bio.lock);
	return NULL;
}

/*
 * A child of fork() has none of the parent's threads: it starts over with an
 * empty pool (the queued requests are the parent's to finish).
 */
static void
bio_atfork_prepare(void)
{
	pthread_mutex_lock(&bio.lock);
}

static void
bio_atfork_parent(void)
{
	pthread_mutex_unlock(&bio.lock);
}

static void
bio_atfork_child(void)
{
	pthread_mutex_init(&bio.lock, NULL);
	pthread_cond_init(&bio.work, NULL);
	bio.head = bio.count = 0;
	bio.nthreads = 0;
	bio.started = bio.stopping = false;
}

static void
bio_atfork_register(void)
{
	pthread_atfork(bio_atfork_prepare, bio_atfork_parent, bio_atfork_child);
}

static int
bio_nthreads(void)
{
	const char *v = getenv("ANYK_IOTHREADS");
	int n;

	if (v == NULL)
		return BIO_THREADS;
	n = atoi(v);
	if (n < 1)
		return 1;
	return n > BIO_THREADS_MAX ? BIO_THREADS_MAX : n;
}

/* Called with bio.lock held; the new threads wait for it. */
static void
bio_start_locked(void)
{
	int i, want = bio_nthreads();

	pthread_once(&bio_atfork_once, bio_atfork_register);
	bio.started = true;
	for (i = 0; i < want; i++) {
		if (hposix_spawn(&bio.tids[bio.nthreads], bio_worker, NULL, true))
			break; /* fewer threads, or none: requests run inline */
		bio.nthreads++;
	}
}

void
anyk_hyp_bio(int fd, int op, void *data, size_t len, int64_t off,
	     anyk_hyp_biodone_fn done, void *arg)
{
	struct bioreq r = {
		.fd = fd, .op = op, .data = data, .len = len, .off = off,
		.done = done, .arg = arg,
	};

	if (done == NULL)
		anyk_hyp_panic("anyk_hyp_bio: no completion function");
	if (!hposix_threads_enabled()) {
		bio_run(&r);
		return;
	}
	pthread_mutex_lock(&bio.lock);
	if (!bio.started && !bio.stopping)
		bio_start_locked();
	if (bio.nthreads == 0 || bio.stopping || bio.count == BIO_QUEUE) {
		pthread_mutex_unlock(&bio.lock);
		bio_run(&r);
		return;
	}
	bio.q[(bio.head + bio.count) % BIO_QUEUE] = r;
	bio.count++;
	pthread_cond_signal(&bio.work);
	pthread_mutex_unlock(&bio.lock);
}

void
hposix_bio_fini(void)
{
	int i, n;

	pthread_mutex_lock(&bio.lock);
	if (!bio.started || bio.stopping) {
		pthread_mutex_unlock(&bio.lock);
		return;
	}
	bio.stopping = true;
	pthread_cond_broadcast(&bio.work);
	n = bio.nthreads;
	pthread_mutex_unlock(&bio.lock);

	/* Only this thread touches tids[] while stopping is set. */
	for (i = 0; i < n; i++)
		pthread_join(bio.tids[i], NULL);

	pthread_mutex_lock(&bio.lock);
	bio.nthreads = 0;
	bio.started = false;
	bio.stopping = false;
	pthread_mutex_unlock(&bio.lock);
}
