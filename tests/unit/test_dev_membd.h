/*
 * A memory-backed block device for the block layer, partition and buffer
 * cache tests: records every write so that tests can check ordering and
 * clustering. Include after the harness and the kernel headers.
 */
#ifndef TEST_DEV_MEMBD_H
#define TEST_DEV_MEMBD_H

#include <pthread.h>

#define MEMBD_LOG 4096

struct membd {
	uint8_t *data;
	size_t size;
	pthread_mutex_t lock;
	int nwritev;                 /* backend write calls */
	uint64_t woff[MEMBD_LOG];    /* their offsets */
	size_t wlen[MEMBD_LOG];
	int nreadv;
	int fail_reads;
};

static int
membd_readv(void *cookie, const struct anyk_iovec *iov, int cnt, uint64_t off)
{
	struct membd *m = cookie;
	int i;

	pthread_mutex_lock(&m->lock);
	m->nreadv++;
	if (m->fail_reads) {
		pthread_mutex_unlock(&m->lock);
		return ANYK_EIO;
	}
	for (i = 0; i < cnt; i++) {
		if (off + iov[i].iov_len > m->size)
			abort(); /* the block layer let a request past the end */
		memcpy(iov[i].iov_base, m->data + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int
membd_writev(void *cookie, const struct anyk_iovec *iov, int cnt, uint64_t off)
{
	struct membd *m = cookie;
	size_t tot = 0;
	int i;

	pthread_mutex_lock(&m->lock);
	if (m->nwritev < MEMBD_LOG)
		m->woff[m->nwritev] = off;
	for (i = 0; i < cnt; i++) {
		if (off + iov[i].iov_len > m->size)
			abort();
		memcpy(m->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
		tot += iov[i].iov_len;
	}
	if (m->nwritev < MEMBD_LOG)
		m->wlen[m->nwritev] = tot;
	m->nwritev++;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int
membd_flush(void *cookie)
{
	return 0;
}

/* Asynchronous in name only: completes before returning, as hosts may. */
static void
membd_submit(void *cookie, struct bio *bio, uint64_t off)
{
	struct anyk_iovec iov = { bio->bio_data, bio->bio_len };
	int error = 0;

	if (bio->bio_op & BIO_READ)
		error = membd_readv(cookie, &iov, 1, off);
	else if (bio->bio_op & BIO_WRITE)
		error = membd_writev(cookie, &iov, 1, off);
	bio_complete(bio, error ? 0 : bio->bio_len, error);
}

static const struct bdev_ops membd_ops = {
	.bo_readv = membd_readv,
	.bo_writev = membd_writev,
	.bo_flush = membd_flush,
	.bo_submit = membd_submit,
};

static struct bdev *
membd_new(struct membd *m, size_t size, uint32_t secsize, bool rdonly)
{
	struct bdev *bd = NULL;

	memset(m, 0, sizeof(*m));
	m->data = calloc(1, size);
	m->size = size;
	pthread_mutex_init(&m->lock, NULL);
	if (bdev_create("md0", &membd_ops, m, size, secsize, rdonly, &bd) != 0)
		return NULL;
	return bd;
}

static void
membd_free(struct membd *m, struct bdev *bd)
{
	bdev_destroy(bd);
	free(m->data);
	pthread_mutex_destroy(&m->lock);
}

#endif
