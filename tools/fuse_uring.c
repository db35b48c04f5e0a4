/*
 * FUSE over io_uring: see fuse_uring.h for what and why.
 *
 * The protocol (Linux 6.14 and later, fuse.enable_uring=1):
 *  - The server asks for it in its INIT reply (FUSE_OVER_IO_URING in
 *    flags2). libfuse 3.14 does not know the flag, so the custom writev
 *    below sets it in the reply libfuse formats.
 *  - For every possible processor q the server registers ring entries:
 *    an IORING_OP_URING_CMD on /dev/fuse with FUSE_IO_URING_CMD_REGISTER,
 *    the queue number, and two buffers: a 288-byte header and a payload
 *    at least as large as the biggest request. Once every queue has an
 *    entry, the host kernel sends requests through the rings.
 *  - A request completes its entry's command: the header holds the
 *    fuse_in_header, the operation's fixed argument and the payload size;
 *    the payload holds the other arguments (a name, write data).
 *  - The answer goes back in the same buffers (fuse_out_header in the
 *    header, the reply's arguments in the payload), committed with
 *    FUSE_IO_URING_CMD_COMMIT_AND_FETCH, which also hands the entry back
 *    for the next request.
 *
 * Each ring is a thread's own (see struct rqueue for which queues it holds).
 * The thread rebuilds each request as the contiguous message libfuse expects
 * (header and fixed argument copied in front of the payload, which is
 * not copied), runs it through fuse_session_process_buf, and catches the
 * reply in the custom writev. Large reads and fsync still go to
 * fuse_ops' reader pool, so that one caller's disk wait does not hold up
 * the queue: their answers come from a pool thread, which copies them
 * into the entry and rings the queue's doorbell (an eventfd the ring
 * reads) for the queue thread to commit.
 */
#ifdef ANYK_HAVE_FUSE

#include <errno.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tools/fuse_prio.h"
#include "tools/fuse_uring.h"

/* The FUSE wire format comes from <linux/fuse.h>; the io_uring part of
 * it (protocol 7.42) is newer than Debian 12's copy, so it is here. */
#define F_OVER_IO_URING2 (1u << 9)  /* FUSE_OVER_IO_URING, bit 41: flags2 bit 9 */
#define F_CMD_REGISTER 1u
#define F_CMD_COMMIT_AND_FETCH 2u
#define IN_HDR ((uint32_t)sizeof(struct fuse_in_header))
#define OUT_HDR ((uint32_t)sizeof(struct fuse_out_header))
#define OP_MAX 128u  /* the header buffer's room for the fixed argument */

/* The header buffer of a ring entry (struct fuse_uring_req_header). */
struct ring_hdr {
	unsigned char in_out[128]; /* fuse_in_header, then fuse_out_header */
	unsigned char op_in[OP_MAX];
	uint64_t flags;
	uint64_t commit_id;        /* the request's unique */
	uint32_t payload_sz;       /* bytes used in the payload buffer */
	uint32_t padding;
	uint64_t reserved;
};
_Static_assert(sizeof(struct ring_hdr) == 288, "fuse_uring_req_header is 288 bytes");

/* The command area of a 128-byte SQE (struct fuse_uring_cmd_req). */
struct ring_cmd {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

#define DEPTH 4                /* entries per queue of a processor we run on */
#define BELL_TAG UINT64_MAX    /* user_data of the doorbell's read */
#define STAGE 4096u            /* room before the payload for the rebuilt message */

struct uring {
	int fd;
	unsigned entries;
	_Atomic unsigned *sq_head, *sq_tail, *cq_head, *cq_tail;
	unsigned *sq_mask, *sq_array, *cq_mask;
	struct io_uring_cqe *cqes;
	unsigned char *sqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	unsigned tail, queued;
};

/* What an entry holds. A request runs on its queue's thread (SERVING);
 * its answer comes on that thread (ANSWERED, then committed) or, for a
 * read or fsync handed to fuse_ops' reader pool, later from a pool thread
 * (DEFERRED, then ANSWERED and put in the queue's mailbox). */
enum { E_FREE, E_SERVING, E_DEFERRED, E_ANSWERED };

struct rent {
	struct ring_hdr hdr;
	struct iovec iov[2];
	char *region;  /* STAGE bytes, then the payload */
	struct rqueue *q;  /* the thread whose ring holds it */
	unsigned idx;      /* its place there */
	unsigned qid;      /* the host kernel's queue: a processor number */
	_Atomic uint64_t unique;
	_Atomic int state;
	_Atomic int mailed; /* answered from another thread, to commit */
	int dead;
};

/*
 * A ring thread. The host kernel has a queue for every possible
 * processor and uses the rings only once each has an entry. Each
 * processor this process may run on gets a thread of its own, bound to
 * it, with DEPTH entries; the queues of all the others (processors
 * offline, or outside the process's affinity; no caller runs there now,
 * but a processor may come online) share one spare thread with one entry
 * each, so a machine that could hold 256 processors and has 2 runs 3
 * threads.
 */
struct rqueue {
	int cpu;               /* bound to it; -1: the spare */
	pthread_t thr;
	int started, efd;     /* efd: the doorbell, rung for mail and to stop */
	uint64_t evbuf;
	_Atomic int stop;
	struct uring r;
	struct rent *ent;
	unsigned nent;
};

static struct {
	struct fuse_session *se;
	int fd, want, debug;
	int offered;          /* the kernel's INIT offered io_uring */
	uint64_t init_unique; /* and that INIT's unique */
	size_t max_payload;
	unsigned npossible;   /* queues: the host's possible processors */
	unsigned nq;          /* ring threads in q */
	struct rqueue *q;
	_Atomic int active, registered;
} U = { .fd = -1 };

static _Thread_local struct rent *cur_ent;


static int
sys_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int
sys_enter(int fd, unsigned submit, unsigned wait, unsigned flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, 0);
}

static void
ring_close(struct uring *r)
{
	if (r->sqes != NULL)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map != NULL && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map != NULL)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static int
ring_open(struct uring *r, unsigned entries)
{
	struct io_uring_params p;
	unsigned char *sq, *cq;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	/* Requests arrive as task work on this thread; running it only when
	 * the thread waits for completions saves interrupting it. */
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	r->fd = sys_setup(entries, &p);
	if (r->fd < 0 && errno == EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		r->fd = sys_setup(entries, &p);
	}
	if (r->fd < 0)
		return -1;
	r->entries = p.sq_entries;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = r->sq_len;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED) {
		r->sq_map = NULL;
		goto fail;
	}
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		r->cq_map = r->sq_map;
	} else {
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 r->fd, IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED) {
			r->cq_map = NULL;
			goto fail;
		}
	}
	r->sqes_len = (size_t)p.sq_entries * 128;
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		r->sqes = NULL;
		goto fail;
	}
	sq = r->sq_map;
	cq = r->cq_map;
	r->sq_head = (_Atomic unsigned *)(void *)(sq + p.sq_off.head);
	r->sq_tail = (_Atomic unsigned *)(void *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(void *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(void *)(sq + p.sq_off.array);
	r->cq_head = (_Atomic unsigned *)(void *)(cq + p.cq_off.head);
	r->cq_tail = (_Atomic unsigned *)(void *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(void *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(void *)(cq + p.cq_off.cqes);
	r->tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
	return 0;
fail:
	ring_close(r);
	return -1;
}

/* The next free SQE, zeroed, or NULL when the ring is full. */
static struct io_uring_sqe *
ring_sqe(struct uring *r)
{
	unsigned head = atomic_load_explicit(r->sq_head, memory_order_acquire), idx;
	struct io_uring_sqe *sqe;

	if (r->tail - head >= r->entries)
		return NULL;
	idx = r->tail & *r->sq_mask;
	r->sq_array[idx] = idx;
	sqe = (struct io_uring_sqe *)(void *)(r->sqes + (size_t)idx * 128);
	memset(sqe, 0, 128);
	r->tail++;
	r->queued++;
	return sqe;
}

/* Hand the queued SQEs to the kernel and wait for at least one
 * completion. 0, or -1 with errno. */
static int
ring_submit_wait(struct uring *r)
{
	unsigned n;
	int got;

	atomic_store_explicit(r->sq_tail, r->tail, memory_order_release);
	for (;;) {
		n = r->queued;
		got = sys_enter(r->fd, n, 1, IORING_ENTER_GETEVENTS);
		if (got >= 0) {
			r->queued -= (unsigned)got < n ? (unsigned)got : n;
			return 0;
		}
		if (errno != EINTR)
			return -1;
	}
}

static void
ent_cmd(struct rqueue *q, unsigned i, unsigned op, uint64_t commit)
{
	struct io_uring_sqe *sqe = ring_sqe(&q->r);
	struct ring_cmd *c;

	if (sqe == NULL) /* cannot happen: the ring has room for all */
		return;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = U.fd;
	sqe->cmd_op = op;
	sqe->addr = (uint64_t)(uintptr_t)q->ent[i].iov;
	sqe->len = 2;
	sqe->user_data = i;
	c = (struct ring_cmd *)(void *)sqe->cmd;
	c->commit_id = commit;
	c->qid = (uint16_t)q->ent[i].qid;
}

/* Copy a reply, as libfuse wrote it, into the entry. */
static ssize_t
ent_reply(struct rent *e, const struct iovec *iov, int count)
{
	size_t total = 0, at = 0, room = U.max_payload, n;
	char *payload = e->region + STAGE;
	int i;

	for (i = 0; i < count; i++)
		total += iov[i].iov_len;
	if (total < OUT_HDR || total - OUT_HDR > room) {
		struct fuse_out_header oh = { OUT_HDR, -EIO, e->unique };

		memcpy(e->hdr.in_out, &oh, sizeof(oh));
		e->hdr.payload_sz = 0;
		return (ssize_t)total;
	}
	for (i = 0; i < count; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (at < OUT_HDR) {
			n = OUT_HDR - at < len ? OUT_HDR - at : len;
			memcpy(e->hdr.in_out + at, p, n);
			at += n;
			p += n;
			len -= n;
		}
		if (len > 0) {
			/* A read made in place (reply_room) is there already. */
			if (payload + (at - OUT_HDR) != p)
				memcpy(payload + (at - OUT_HDR), p, len);
			at += len;
		}
	}
	e->hdr.payload_sz = (uint32_t)(total - OUT_HDR);
	return (ssize_t)total;
}

static void
ent_error(struct rent *e, uint64_t unique)
{
	struct fuse_out_header oh = { OUT_HDR, -EIO, unique };

	memcpy(e->hdr.in_out, &oh, sizeof(oh));
	e->hdr.payload_sz = 0;
}

/* The in-flight entry of the request unique, or NULL. */
static struct rent *
ent_find(uint64_t unique)
{
	unsigned i, j;
	int st;

	for (i = 0; i < U.nq; i++) {
		for (j = 0; j < U.q[i].nent; j++) {
			struct rent *e = &U.q[i].ent[j];

			st = atomic_load(&e->state);
			if ((st == E_SERVING || st == E_DEFERRED) && atomic_load(&e->unique) == unique)
				return e;
		}
	}
	return NULL;
}

/* An answer from a thread other than the entry's queue thread. */
static ssize_t
ent_answer_async(struct rent *e, const struct iovec *iov, int count)
{
	ssize_t r = ent_reply(e, iov, count);
	uint64_t one = 1;
	int expect = E_SERVING;

	/* Still inside fuse_session_process_buf on the queue thread: it
	 * sees ANSWERED when that returns and commits. */
	if (atomic_compare_exchange_strong(&e->state, &expect, E_ANSWERED))
		return r;
	atomic_store(&e->state, E_ANSWERED);
	atomic_store(&e->mailed, 1);
	if (write(e->q->efd, &one, sizeof(one)) != sizeof(one))
		(void)0; /* the counter cannot overflow at one per answer */
	return r;
}

/* Run one request that arrived in entry e. 1 if it is answered and to
 * be committed now, 0 if its answer will come through the mailbox. */
static int
ent_serve(struct rent *e)
{
	char *payload = e->region + STAGE, *msg;
	struct fuse_buf fb;
	struct fuse_in_header ih;
	uint32_t psz = e->hdr.payload_sz, opsz;

	int expect = E_SERVING;

	memcpy(&ih, e->hdr.in_out, sizeof(ih));
	if (ih.len < IN_HDR || psz > U.max_payload || ih.len - IN_HDR < psz ||
	    ih.len - IN_HDR - psz > OP_MAX) {
		ent_error(e, ih.unique);
		return 1;
	}
	atomic_store(&e->unique, ih.unique);
	atomic_store(&e->state, E_SERVING);
	opsz = ih.len - IN_HDR - psz;
	msg = payload - opsz - IN_HDR;
	memcpy(msg, &ih, IN_HDR);
	memcpy(msg + IN_HDR, e->hdr.op_in, opsz);
	memset(&fb, 0, sizeof(fb));
	fb.mem = msg;
	fb.size = ih.len;
	cur_ent = e;
	fuse_session_process_buf(U.se, &fb);
	cur_ent = NULL;
	if (fuseops_take_deferred() &&
	    atomic_compare_exchange_strong(&e->state, &expect, E_DEFERRED))
		return 0;
	if (atomic_load(&e->state) != E_ANSWERED) {
		/* Every request through a ring is answered; one that libfuse
		 * left without an answer gets an error, or its caller and
		 * the entry would wait forever. */
		ent_error(e, ih.unique);
	}
	return 1;
}

static void
ent_commit(struct rqueue *q, unsigned i)
{
	atomic_store(&q->ent[i].state, E_FREE);
	ent_cmd(q, i, F_CMD_COMMIT_AND_FETCH, q->ent[i].hdr.commit_id);
}

static void
queue_bell_read(struct rqueue *q)
{
	struct io_uring_sqe *sqe = ring_sqe(&q->r);

	if (sqe == NULL)
		return;
	sqe->opcode = IORING_OP_READ;
	sqe->fd = q->efd;
	sqe->addr = (uint64_t)(uintptr_t)&q->evbuf;
	sqe->len = sizeof(q->evbuf);
	sqe->user_data = BELL_TAG;
}

static void *
queue_main(void *arg)
{
	struct rqueue *q = arg;
	struct io_uring_cqe *cqe;
	unsigned head, tail, i, live = q->nent;
	cpu_set_t set;
	int stop = 0;

	if (q->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(q->cpu, &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* best effort */
	}
	/* The ring is this thread's: made here, it takes requests as task
	 * work of this thread only. */
	if (ring_open(&q->r, 2 * (q->nent + 1)) != 0) {
		if (U.debug)
			fprintf(stderr, "anyk mount: io_uring ring for processor %d: %s\n", q->cpu,
				strerror(errno));
		return NULL;
	}
	/* Idle priority keeps the caller on this processor: fuse_prio.h. */
	prio_join();
	for (i = 0; i < q->nent; i++)
		ent_cmd(q, i, F_CMD_REGISTER, 0);
	queue_bell_read(q);
	while (!stop && live > 0) {
		if (ring_submit_wait(&q->r) != 0)
			break;
		head = atomic_load_explicit(q->r.cq_head, memory_order_relaxed);
		tail = atomic_load_explicit(q->r.cq_tail, memory_order_acquire);
		for (; head != tail; head++) {
			uint64_t ud;
			int res;

			cqe = &q->r.cqes[head & *q->r.cq_mask];
			ud = cqe->user_data;
			res = cqe->res;
			if (ud == BELL_TAG) {
				for (i = 0; i < q->nent; i++)
					if (atomic_load(&q->ent[i].mailed) &&
					    atomic_exchange(&q->ent[i].mailed, 0))
						ent_commit(q, i);
				if (atomic_load(&q->stop))
					stop = 1;
				else
					queue_bell_read(q);
				continue;
			}
			if (ud >= q->nent)
				continue;
			if (res < 0) {
				/* Refused (io_uring off) or the connection is
				 * gone: this entry is finished. */
				if (!q->ent[ud].dead) {
					q->ent[ud].dead = 1;
					live--;
				}
				continue;
			}
			if (!atomic_exchange(&U.active, 1) && U.debug)
				fprintf(stderr, "anyk mount: serving through FUSE over io_uring, %u queues, %u threads\n",
					U.npossible, U.nq);
			if (ent_serve(&q->ent[ud]))
				ent_commit(q, (unsigned)ud);
			prio_busy();
		}
		atomic_store_explicit(q->r.cq_head, head, memory_order_release);
	}
	return NULL;
}

static void
queue_free(struct rqueue *q)
{
	unsigned i;

	ring_close(&q->r);
	for (i = 0; i < q->nent; i++)
		if (q->ent[i].region != NULL)
			munmap(q->ent[i].region, STAGE + U.max_payload);
	free(q->ent);
	q->ent = NULL;
	q->nent = 0;
	if (q->efd >= 0)
		close(q->efd);
}

/* The number of possible processors: the host kernel has one queue for
 * each, and uses the rings only once every queue has an entry. */
static unsigned
possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned a, b, max = 0;
	int c;

	if (f == NULL)
		return 0;
	for (;;) {
		if (fscanf(f, "%u", &a) != 1)
			break;
		b = a;
		c = fgetc(f);
		if (c == '-') {
			if (fscanf(f, "%u", &b) != 1)
				break;
			c = fgetc(f);
		}
		if (b + 1 > max)
			max = b + 1;
		if (c != ',')
			break;
	}
	fclose(f);
	return max;
}

/* Thread q's entries: one for each of its n queues, depth entries each. */
static int
queue_setup(struct rqueue *q, const unsigned *qids, unsigned n, unsigned depth)
{
	unsigned j;

	q->efd = eventfd(0, EFD_CLOEXEC);
	q->ent = calloc((size_t)n * depth, sizeof(*q->ent));
	if (q->efd < 0 || q->ent == NULL)
		return -1;
	for (j = 0; j < n * depth; j++) {
		struct rent *e = &q->ent[j];

		e->region = mmap(NULL, STAGE + U.max_payload, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (e->region == MAP_FAILED) {
			e->region = NULL;
			return -1;
		}
		q->nent = j + 1;
		e->q = q;
		e->idx = j;
		e->qid = qids[j / depth];
		e->iov[0].iov_base = &e->hdr;
		e->iov[0].iov_len = sizeof(e->hdr);
		e->iov[1].iov_base = e->region + STAGE;
		e->iov[1].iov_len = U.max_payload;
	}
	return 0;
}

/* After the INIT reply asked for io_uring: the ring threads. */
static void
furing_start(void)
{
	unsigned n = possible_cpus(), i, nt = 0, nspare = 0, *spare;
	cpu_set_t allowed;

	if (n == 0 || n > 4096 || sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return;
	U.q = calloc(n + 1, sizeof(*U.q));
	spare = calloc(n, sizeof(*spare));
	if (U.q == NULL || spare == NULL)
		goto undo;
	for (i = 0; i <= n; i++)
		U.q[i].efd = U.q[i].r.fd = -1;
	for (i = 0; i < n; i++) {
		if (i < CPU_SETSIZE && CPU_ISSET(i, &allowed)) {
			U.q[nt].cpu = (int)i;
			if (queue_setup(&U.q[nt++], &i, 1, DEPTH) != 0)
				goto undo;
		} else {
			spare[nspare++] = i;
		}
	}
	if (nspare > 0) {
		U.q[nt].cpu = -1;
		if (queue_setup(&U.q[nt++], spare, nspare, 1) != 0)
			goto undo;
	}
	free(spare);
	U.npossible = n;
	U.nq = nt;
	for (i = 0; i < nt; i++)
		if (pthread_create(&U.q[i].thr, NULL, queue_main, &U.q[i]) == 0)
			U.q[i].started = 1;
	return;
undo:
	/* Nothing registered yet: /dev/fuse goes on serving everything. */
	free(spare);
	if (U.q != NULL)
		for (i = 0; i <= nt && i <= n; i++)
			queue_free(&U.q[i]);
	free(U.q);
	U.q = NULL;
}

/* The kernel's INIT: does it offer io_uring? */
static void
note_init(const void *buf, size_t len)
{
	const size_t upto = offsetof(struct fuse_init_in, flags2) + sizeof(uint32_t);
	struct fuse_in_header ih;
	struct fuse_init_in in;

	if (len < IN_HDR + upto)
		return;
	memcpy(&ih, buf, sizeof(ih));
	if (ih.opcode != FUSE_INIT)
		return;
	memcpy(&in, (const char *)buf + IN_HDR, upto);
	U.init_unique = ih.unique;
	U.offered = (in.flags & FUSE_INIT_EXT) && (in.flags2 & F_OVER_IO_URING2);
}

/* Ask for io_uring in libfuse's INIT reply; note the sizes it chose. */
static int
patch_init(struct iovec *iov, int count)
{
	const size_t upto = offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t);
	struct fuse_init_out o;
	long page = sysconf(_SC_PAGESIZE);
	size_t need;

	if (count != 2 || iov[1].iov_len < upto)
		return 0;
	memcpy(&o, iov[1].iov_base, upto);
	if (!(o.flags & FUSE_MAX_PAGES) || o.max_pages == 0)
		o.max_pages = 32; /* the host kernel's default */
	need = (size_t)o.max_pages * (size_t)(page > 0 ? page : 4096);
	if (need < o.max_write)
		need = o.max_write;
	if (need < FUSE_MIN_READ_BUFFER)
		need = FUSE_MIN_READ_BUFFER;
	U.max_payload = need;
	o.flags |= FUSE_INIT_EXT;
	o.flags2 |= F_OVER_IO_URING2;
	memcpy(iov[1].iov_base, &o, upto);
	return 1;
}

/* Once the kernel's INIT is in: will its answer ask for the rings?
 * Without idle priority the rings lose to /dev/fuse on a machine where
 * waking another processor is dear (see the governor): "auto" uses them
 * only with it. The probe is made once. */
static int
rings_planned(void)
{
	static int planned = -1;

	if (!U.want || !U.offered)
		return 0;
	if (planned < 0)
		planned = U.want == FURING_ALWAYS || prio_usable();
	return planned;
}

static ssize_t
io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t r = read(fd, buf, len);

	(void)userdata;
	if (r > 0 && U.init_unique == 0)
		note_init(buf, (size_t)r);
	return r;
}

static ssize_t
io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct rent *e = cur_ent;
	struct fuse_out_header oh;
	ssize_t r;
	int asked = 0;

	(void)userdata;
	if (count < 1 || iov[0].iov_len < sizeof(oh))
		return writev(fd, iov, count);
	memcpy(&oh, iov[0].iov_base, sizeof(oh));
	if (e != NULL && oh.unique == atomic_load(&e->unique) &&
	    atomic_load(&e->state) == E_SERVING) {
		r = ent_reply(e, iov, count);
		atomic_store(&e->state, E_ANSWERED);
		return r;
	}
	if (U.q != NULL && oh.unique != 0 && (e = ent_find(oh.unique)) != NULL)
		return ent_answer_async(e, iov, count);
	if (U.init_unique != 0 && oh.unique == U.init_unique && oh.error == 0 && U.q == NULL &&
	    rings_planned())
		asked = patch_init(iov, count);
	r = writev(fd, iov, count);
	if (asked && r >= 0)
		furing_start();
	else if (U.debug && oh.unique == U.init_unique && U.init_unique != 0 && !asked)
		fprintf(stderr, "anyk mount: serving through /dev/fuse (%s)\n",
			U.want == FURING_NEVER ? "-o nouring" :
			!U.offered ? "the host kernel offers no io_uring" :
			"queue threads cannot run at idle priority; -o uring uses the rings anyway");
	return r;
}

/* fuseops_reply_room: a request that came through a ring answers in
 * its entry's payload buffer. */
static void *
reply_room(size_t size)
{
	struct rent *e = cur_ent;

	if (e == NULL || size > U.max_payload)
		return NULL;
	return e->region + STAGE;
}

/* Answers spliced from a pipe (reads over /dev/fuse, fuse_ops.c): as
 * libfuse itself would send them. Never a ring's request: fuse_ops.c does
 * not splice once the rings are planned. */
static ssize_t
io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len, unsigned int flags,
	       void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int
furing_attach(struct fuse_session *se, int fd, int want, int debug)
{
	static const struct fuse_custom_io io = {
		.read = io_read, .writev = io_writev, .splice_send = io_splice_send
	};

	U.se = se;
	U.fd = fd;
	U.want = want;
	U.debug = debug;
	if (fuse_session_custom_io(se, &io, fd) != 0)
		return -1;
	fuseops_reply_room = reply_room;
	fuseops_rings_planned = rings_planned;
	return 0;
}

int
furing_active(void)
{
	return atomic_load(&U.active);
}

void
furing_stop(void)
{
	uint64_t one = 1;
	unsigned i;

	if (U.q == NULL)
		return;
	for (i = 0; i < U.nq; i++)
		if (U.q[i].started) {
			atomic_store(&U.q[i].stop, 1);
			if (write(U.q[i].efd, &one, sizeof(one)) != sizeof(one))
				(void)0;
		}
	for (i = 0; i < U.nq; i++) {
		if (U.q[i].started)
			pthread_join(U.q[i].thr, NULL);
		queue_free(&U.q[i]);
	}
	free(U.q);
	U.q = NULL;
	U.nq = 0;
	atomic_store(&U.active, 0);
}

#else
typedef int fuse_uring_unused; /* ISO C wants something in the file */
#endif /* ANYK_HAVE_FUSE */
