/*
 * The block layer: one struct bdev per whole disk or partition, used by the
 * file systems (through bdev_open_path and the buffer cache) and by the
 * /dev/sdN device nodes (through the block device switch entry in
 * dev/bdev_spec.c).
 *
 * A partition is a window (bd_offset, bd_size) onto its whole disk and
 * shares the disk's backend; every request is bounds-checked against the
 * window, so nothing reaches past a partition's end.
 *
 * Backends (struct bdev_ops) see only requests aligned to the sector size,
 * in bytes from the start of the whole disk. bdev_read/bdev_write accept any
 * byte range and do the read-modify-write of partial sectors; the iovec calls
 * and bdev_submit require sector alignment, which is what bulk file data and
 * metadata blocks have anyway.
 *
 * Lock order: bdev registry lock > a bdev's RMW lock.
 */
#ifndef ANYK_DEV_BDEV_H
#define ANYK_DEV_BDEV_H

#include "vfs/vfs.h"

struct bdev;
struct bio;

struct bdev_ops {
	/* Synchronous, sector-aligned, off from the start of the whole disk. */
	int (*bo_readv)(void *cookie, const struct anyk_iovec *iov, int cnt, uint64_t off);
	int (*bo_writev)(void *cookie, const struct anyk_iovec *iov, int cnt, uint64_t off);
	int (*bo_flush)(void *cookie);
	/* Asynchronous (may be NULL: bdev_submit then runs it synchronously).
	 * off is absolute; the backend calls bio_done(bio, moved, error) once. */
	void (*bo_submit)(void *cookie, struct bio *bio, uint64_t off);
	/* May be NULL. Move len bytes between the disk at off and a host
	 * stream, in the host (anyk_hyp_splice); ENOTSUP when it cannot. */
	int (*bo_splice)(void *cookie, uint64_t off, int peer, size_t len, int dir, size_t *donep);
};

/* Partition table facts about a partition (see dev/part.h). */
struct part_info;

#define BDEV_NAMELEN 32

struct bdev {
	char bd_name[BDEV_NAMELEN];  /* "sd0", "sd0p1" */
	anyk_dev_t bd_dev;           /* its device number (after bdev_register) */
	uint64_t bd_size;            /* bytes, a multiple of bd_secsize */
	uint32_t bd_secsize;         /* 512 or 4096 */
	bool bd_rdonly;
	uint64_t bd_offset;          /* byte offset of this window in the whole disk */
	struct bdev *bd_whole;       /* the whole disk (itself for a disk) */
	const struct bdev_ops *bd_ops;
	void *bd_cookie;             /* the backend's */
	struct part_info *bd_part;   /* partitions: table entry, else NULL */
	/* Private to dev/bdev.c: */
	uint32_t bd_opencnt;         /* opens of this bdev (registry lock) */
	uint32_t bd_busy;            /* whole disk: opens of it and its partitions */
	bool bd_gone;                /* unregistered: no new opens */
	int bd_slot;
	kmutex_t bd_rmwlock;         /* serializes partial-sector writes */
};

/* Make a bdev for a whole disk (parent NULL) or a window of parent (offset
 * and size in bytes, sector-aligned, inside parent). Not yet visible. */
int bdev_create(const char *name, const struct bdev_ops *ops, void *cookie, uint64_t size,
		uint32_t secsize, bool rdonly, struct bdev **bdp);
int bdev_create_part(struct bdev *whole, const char *name, uint64_t offset, uint64_t size,
		     struct bdev **bdp);
/* Flush and drop its cached buffers, then free (must be unregistered). */
void bdev_destroy(struct bdev *bd);

/* Give bd a device number (block major, minor by slot) so that device nodes
 * and bdev_open_path find it. ENOSPC if the table is full. */
int bdev_register(struct bdev *bd);
/* Withdraw a whole disk and all its partitions at once: EBUSY if any is open
 * (unless force). parts may be NULL when nparts is 0. */
int bdev_unregister_disk(struct bdev *whole, struct bdev **parts, int nparts, bool force);

/* Open by device number / by a kernel path naming a block device node
 * (resolved with the caller's credentials): ENOTBLK, ENXIO, EROFS. */
int bdev_open_dev(anyk_dev_t dev, bool rdonly, struct bdev **bdp);
int bdev_open_path(const char *devpath, bool rdonly, struct bdev **bdp);
void bdev_close(struct bdev *bd);

/* Synchronous I/O at byte offsets within bd. Any alignment; EIO when the
 * range leaves the device (or overflows), EROFS on a read-only device. */
int bdev_read(struct bdev *bd, uint64_t off, void *buf, size_t len);
int bdev_write(struct bdev *bd, uint64_t off, const void *buf, size_t len);
/* Scatter/gather, one copy between the iovecs and the backend. off and the
 * total length must be multiples of bd_secsize (EINVAL); at most
 * BDEV_IOV_MAX segments. */
#define BDEV_IOV_MAX 1024
int bdev_readv(struct bdev *bd, uint64_t off, const struct anyk_iovec *iov, int cnt);
int bdev_writev(struct bdev *bd, uint64_t off, const struct anyk_iovec *iov, int cnt);
/* Between bd at off (sector-aligned, len a multiple of the sector size)
 * and the program's host stream peer, without the kernel copying:
 * ANYK_HYP_SPLICE_OUT reads the device into peer, ANYK_HYP_SPLICE_IN
 * writes what peer gives to the device. *donep: bytes moved (fewer than
 * len with 0 returned: peer ended). ENOTSUP: the backend cannot; the
 * caller then copies through a buffer. */
int bdev_splice(struct bdev *bd, uint64_t off, int peer, size_t len, int dir, size_t *donep);
/* A barrier: everything written before is durable when it returns. */
int bdev_flush(struct bdev *bd);

/* Asynchronous I/O for read-ahead and write clustering. */
#define BIO_READ 0x1
#define BIO_WRITE 0x2
#define BIO_FLUSH 0x4 /* alone: barrier; with BIO_WRITE: durable write */
struct bio {
	struct bdev *bio_bdev;
	int bio_op;
	void *bio_data;
	size_t bio_len;
	uint64_t bio_off;            /* within bio_bdev, sector-aligned */
	void (*bio_done)(struct bio *bio); /* called exactly once */
	void *bio_arg;
	/* Results, set before bio_done runs: */
	size_t bio_moved;
	int bio_error;
};
/* Check and start bio; bio_done runs exactly once, from any thread,
 * possibly before bdev_submit returns (also for a rejected request). */
void bdev_submit(struct bio *bio);
/* For backends: record the outcome and call bio_done. */
void bio_complete(struct bio *bio, size_t moved, int error);

/* The whole disk's number of sectors, and lookups for the device switch. */
static inline uint64_t bdev_nsectors(const struct bdev *bd) { return bd->bd_size / bd->bd_secsize; }
/* For an open device (the open count keeps it alive): the bdev, or NULL. */
struct bdev *bdev_lookup_open(anyk_dev_t dev);
/* The block device major number (0 before the block layer is up). */
uint32_t bdev_major(void);

#endif /* ANYK_DEV_BDEV_H */
