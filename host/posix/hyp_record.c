/*
 * The disk write recorder, a test facility of the POSIX host: with
 * ANYK_DISK_RECORD=/path/to/log set, every write that reaches a host file
 * opened read-write through anyk_hyp_open, and every flush of one that
 * succeeds, is appended to the log in completion order. Crash tests rebuild
 * the image at any cut from the base image and a prefix of the log
 * (tests/integration/crash_harness.c). The format is in docs/hypercalls.md.
 *
 * It lives in the host so that the kernel stays untouched and every host
 * can offer the same. Records are buffered and the buffer is written out at
 * every flush record, so the log on disk always holds every record up to the
 * last barrier; the log itself is fsync'ed only when the session ends (the
 * last recorded file is closed) and at exit. A log that cannot be written is
 * fatal: a test must not go on with a record that silently lost writes.
 *
 * A session starts at the first read-write open while none is running and
 * reads the variable then; a later session of the same process with the same
 * log path appends (sequence numbers and file ids go on), another path starts
 * a new log. Only the process that started a session records into it: the
 * child of a fork() never writes the parent's log.
 */
#include "hyp_posix.h"
#include "hyp_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_BUF (1u << 20) /* records buffered before a write(2) */
#define REC_HDR 40	   /* bytes of a record header */
#define LOG_HDR 16	   /* bytes of the log header */
#define LOG_VERSION 1
#define LOG_PATHMAX 4096
#define REC_WRITE_MAX (1u << 30) /* bytes in one write record */

enum { REC_OPEN = 1, REC_WRITE = 2, REC_FLUSH = 3, REC_SIZE = 4 };

struct recfile {
	int fd;
	uint32_t id;
};

/* The pid of the recording process while a session is open, else 0: the
 * one word the I/O paths read without the lock. */
static atomic_int rec_pid;

static struct {
	pthread_mutex_t lock; /* protects everything below */
	int logfd;	      /* -1 between sessions */
	char path[LOG_PATHMAX]; /* log of the last session */
	uint64_t seq;	      /* of the next record */
	uint32_t nextid;      /* file id of the next open */
	struct recfile *files;
	size_t nfiles, cap;
	unsigned char *buf;
	size_t used;
	bool atexit_set;
} rec = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.logfd = -1,
};

static uint32_t crc_table[256];

static void
crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* CRC-32 (the zlib/IEEE polynomial), continued from crc. */
static uint32_t
crc_add(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	crc = ~crc;
	while (n-- > 0)
		crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static _Noreturn void
log_fail(const char *what, int e)
{
	static char msg[LOG_PATHMAX + 128];

	snprintf(msg, sizeof(msg), "ANYK_DISK_RECORD: cannot %s the log %s: %s", what, rec.path,
		 strerror(e));
	anyk_hyp_panic(msg);
}

static void
write_all(const void *p, size_t n)
{
	const char *s = p;
	ssize_t r;

	while (n > 0) {
		r = write(rec.logfd, s, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			log_fail("write", r < 0 ? errno : EIO);
		s += r;
		n -= (size_t)r;
	}
}

static void
drain(void)
{
	if (rec.used > 0)
		write_all(rec.buf, rec.used);
	rec.used = 0;
}

static void
buf_put(const void *p, size_t n)
{
	memcpy(rec.buf + rec.used, p, n);
	rec.used += n;
}

/* Call fn on the pieces of bytes [skip, skip + len) of iov[0..cnt). */
static void
each_piece(const struct anyk_iovec *iov, int cnt, size_t skip, size_t len,
	   void (*fn)(const void *p, size_t n, void *arg), void *arg)
{
	size_t n;
	int i;

	for (i = 0; i < cnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - skip;
		if (n > len)
			n = len;
		fn((const char *)iov[i].iov_base + skip, n, arg);
		skip = 0;
		len -= n;
	}
}

static void
piece_crc(const void *p, size_t n, void *arg)
{
	uint32_t *crc = arg;

	*crc = crc_add(*crc, p, n);
}

static void
piece_out(const void *p, size_t n, void *arg)
{
	(void)arg;
	if (n > REC_BUF / 2) {
		drain(); /* what came before goes first */
		write_all(p, n); /* big: no point copying it */
		return;
	}
	if (n > REC_BUF - rec.used)
		drain();
	buf_put(p, n);
}

/*
 * Append one record whose payload is bytes [skip, skip + len) of
 * iov[0..cnt). Small records go through the buffer; a payload larger than
 * it goes straight to the log after the buffered bytes, so the order is
 * kept.
 */
static void
emit(uint32_t type, uint32_t id, uint64_t off, uint32_t flags, const struct anyk_iovec *iov,
     int cnt, size_t skip, uint32_t len)
{
	unsigned char h[REC_HDR];
	uint32_t crc;

	memset(h, 0, sizeof(h));
	put32(h + 0, type);
	put32(h + 4, id);
	put64(h + 8, rec.seq);
	put64(h + 16, off);
	put32(h + 24, len);
	put32(h + 28, flags);
	crc = crc_add(0, h, sizeof(h));
	each_piece(iov, cnt, skip, len, piece_crc, &crc);
	put32(h + 32, crc);

	if (REC_HDR + (size_t)len > REC_BUF - rec.used)
		drain();
	buf_put(h, sizeof(h));
	each_piece(iov, cnt, skip, len, piece_out, NULL);
	rec.seq++;
}

static void
emit_plain(uint32_t type, uint32_t id, uint64_t off, uint32_t flags)
{
	emit(type, id, off, flags, NULL, 0, 0, 0);
}

static int
find(int fd)
{
	for (size_t i = 0; i < rec.nfiles; i++)
		if (rec.files[i].fd == fd)
			return (int)i;
	return -1;
}

/* Whether this process records now; cheap when it does not. */
static bool
recording(void)
{
	int pid = atomic_load_explicit(&rec_pid, memory_order_acquire);

	return pid != 0 && pid == (int)getpid();
}

static void
session_end_locked(bool close_log)
{
	if (rec.logfd < 0)
		return;
	drain();
	if (fsync(rec.logfd) != 0 && errno != EINVAL && errno != EROFS)
		log_fail("fsync", errno);
	if (close_log) {
		close(rec.logfd);
		rec.logfd = -1;
		atomic_store_explicit(&rec_pid, 0, memory_order_release);
	}
}

/* A program that exits with recorded files still open keeps its log. */
static void
record_atexit(void)
{
	if (!recording())
		return;
	pthread_mutex_lock(&rec.lock);
	session_end_locked(false);
	pthread_mutex_unlock(&rec.lock);
}

static int
session_start_locked(const char *log)
{
	unsigned char h[LOG_HDR];
	bool append;
	int fd;

	if (strlen(log) >= sizeof(rec.path))
		return ANYK_ENAMETOOLONG;
	append = rec.seq > 0 && strcmp(rec.path, log) == 0;
	if (rec.buf == NULL) {
		rec.buf = malloc(REC_BUF);
		if (rec.buf == NULL)
			return ANYK_ENOMEM;
		crc_init();
	}
	do
		fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int e = errno;

		fprintf(stderr, "anyk: ANYK_DISK_RECORD: cannot open %s: %s\n", log, strerror(e));
		return hposix_error(e);
	}
	rec.logfd = fd;
	rec.used = 0;
	if (!append) {
		snprintf(rec.path, sizeof(rec.path), "%s", log);
		rec.seq = 0;
		rec.nextid = 1;
		memcpy(h, "ANYKDLOG", 8);
		put32(h + 8, LOG_VERSION);
		put32(h + 12, LOG_HDR);
		buf_put(h, sizeof(h));
	}
	if (!rec.atexit_set)
		rec.atexit_set = atexit(record_atexit) == 0;
	atomic_store_explicit(&rec_pid, (int)getpid(), memory_order_release);
	return 0;
}

int
hrec_open(const char *path, int fd)
{
	const char *log = getenv("ANYK_DISK_RECORD");
	int pid = atomic_load_explicit(&rec_pid, memory_order_acquire);
	char *real;
	struct anyk_iovec iov;
	int error = 0;

	if (pid != 0 && pid != (int)getpid())
		return 0; /* the child of a recording process */
	if (pid == 0 && (log == NULL || log[0] == '\0'))
		return 0;
	pthread_mutex_lock(&rec.lock);
	if (rec.logfd < 0) {
		if (log == NULL || log[0] == '\0')
			goto out; /* the session ended meanwhile and the variable is gone */
		error = session_start_locked(log);
		if (error)
			goto out;
	}
	if (rec.nfiles == rec.cap) {
		size_t ncap = rec.cap ? 2 * rec.cap : 8;
		struct recfile *n = realloc(rec.files, ncap * sizeof(*n));

		if (n == NULL) {
			error = ANYK_ENOMEM;
			if (rec.nfiles == 0)
				session_end_locked(true);
			goto out;
		}
		rec.files = n;
		rec.cap = ncap;
	}
	rec.files[rec.nfiles].fd = fd;
	rec.files[rec.nfiles].id = rec.nextid++;
	rec.nfiles++;
	/* The absolute path, so that a tool reading the log can tell the images
	 * apart whatever the program's working directory was. */
	real = realpath(path, NULL);
	iov.iov_base = (void *)(real != NULL ? real : path);
	iov.iov_len = strlen(iov.iov_base);
	emit(REC_OPEN, rec.files[rec.nfiles - 1].id, 0, 0, &iov, 1, 0, (uint32_t)iov.iov_len);
	free(real);
out:
	pthread_mutex_unlock(&rec.lock);
	return error;
}

void
hrec_close(int fd)
{
	int i;

	if (!recording())
		return;
	pthread_mutex_lock(&rec.lock);
	i = find(fd);
	if (i >= 0) {
		rec.files[i] = rec.files[--rec.nfiles];
		if (rec.nfiles == 0)
			session_end_locked(true);
	}
	pthread_mutex_unlock(&rec.lock);
}

int
hrec_recorded(int fd)
{
	int i;

	if (!recording())
		return 0;
	pthread_mutex_lock(&rec.lock);
	i = find(fd);
	pthread_mutex_unlock(&rec.lock);
	return i >= 0;
}

void
hrec_write(int fd, const struct anyk_iovec *iov, int cnt, int64_t off, size_t done)
{
	size_t skip = 0, n;
	int i;

	if (done == 0 || !recording())
		return;
	pthread_mutex_lock(&rec.lock);
	i = find(fd);
	/* A record's length is 32 bits: a larger write (the kernel's are far
	 * smaller) is recorded in pieces, as a disk might have split it. */
	while (i >= 0 && done > 0) {
		n = done > REC_WRITE_MAX ? REC_WRITE_MAX : done;
		emit(REC_WRITE, rec.files[i].id, (uint64_t)off + skip, 0, iov, cnt, skip, (uint32_t)n);
		skip += n;
		done -= n;
	}
	pthread_mutex_unlock(&rec.lock);
}

void
hrec_flush(int fd, int kind)
{
	int i;

	if (!recording())
		return;
	pthread_mutex_lock(&rec.lock);
	i = find(fd);
	if (i >= 0) {
		emit_plain(REC_FLUSH, rec.files[i].id, 0, (uint32_t)kind);
		/* The log on disk reaches every barrier: a test that stops here,
		 * or reads the log now, sees all records up to this one. */
		drain();
	}
	pthread_mutex_unlock(&rec.lock);
}

void
hrec_size(int fd, uint64_t size)
{
	int i;

	if (!recording())
		return;
	pthread_mutex_lock(&rec.lock);
	i = find(fd);
	if (i >= 0)
		emit_plain(REC_SIZE, rec.files[i].id, size, 0);
	pthread_mutex_unlock(&rec.lock);
}
