/*
 * The buffer cache: fixed-size blocks of a block device kept in memory, for
 * file system metadata (superblocks, bitmaps, inode tables, directories,
 * indirect blocks, extent trees). Bulk file data does not pass through it:
 * file systems move it with bdev_readv/bdev_writev straight between the
 * caller's buffers and the host.
 *
 * A buffer is named by (bdev, blkno, size), at byte offset blkno * size. A
 * file system uses one block size per device (it may read its superblock
 * with another size first, then binval). bread/getblk return the buffer held
 * exclusively ("busy") by the caller until brelse, bwrite or bdwrite; the
 * holder may read and change b_data. Buffers of a device must not be used
 * after binval(), which file systems call on unmount.
 *
 * Dirty buffers are written back in block order, adjacent ones clustered
 * into one scatter/gather write, by bsync() and by periodic write-back of
 * buffers dirty for more than ~5 s. A journal pins a buffer (bpin) to keep
 * write-back away from it until the transaction that changed it is safely in
 * the journal (bunpin).
 *
 * Memory: the cache stays within ANYK_BUFCACHE bytes (default 16 MiB, and at
 * most a quarter of ANYK_MEMLIMIT). The least recently used clean
 * unreferenced buffer is evicted first; dirty buffers are written back early
 * (once a quarter of the cache is dirty) and, when an allocation finds the
 * cache full of them, by that allocation itself, then evicted. Only busy and
 * journal-pinned buffers can hold the cache over its bound, so a journal
 * sizes its transactions by bufcache_limit() and charges the copies it
 * takes of pinned buffers while committing (bufcache_charge) to the cache:
 * then the cache makes room for them and the whole stays within the bound.
 *
 * Locks: per hash bucket (buffer identity, busy flag, reference count
 * decrements, flags), then one for the LRU list and one for the dirty tree,
 * each only briefly and never two buckets at once.
 */
#ifndef ANYK_VFS_BIO_H
#define ANYK_VFS_BIO_H

#include "dev/bdev.h"

#define B_VALID 0x01  /* b_data holds the block's contents */
#define B_DIRTY 0x02  /* changed in memory, not yet written */
#define B_BUSY 0x04   /* held by a caller or by I/O in flight */
#define B_ERROR 0x08  /* the last read or write failed (b_error) */

#define BUF_MAXSIZE (64 * 1024)

struct buf {
	struct bdev *b_bdev;
	uint64_t b_blkno;
	size_t b_size;
	void *b_data;
	unsigned b_flags;     /* B_*, under the bucket lock */
	int b_error;
	/* The owner's mark that it has checked the contents (a checksum,
	 * every record): set by the holder, and cleared by the cache whenever
	 * the contents may change (read from the device, handed out by
	 * getblk, written by bdwrite or bwrite), so it is never older than
	 * the data it vouches for. 0: unchecked. A holder that changed the
	 * contents and knows them sound again writes with bdwrite_checked. */
	uint64_t b_checked;
	/* Private to vfs/bio.c: */
	uint64_t b_off;       /* b_blkno * b_size */
	uint32_t b_refcnt;    /* atomic */
	uint32_t b_pinned;    /* journal pins, atomic */
	uint32_t b_hash;      /* of (b_bdev, b_off): its chain and bucket */
	int64_t b_dirtytime;
	struct buf *b_hnext;
	struct dlist b_lru;
	struct rb_node b_dnode;
	struct bio b_bio;
};

/* Read a block (from the cache or the device). 0 and *bpp held, or an error
 * (EIO for a read error or a block past the end, EINVAL for a bad size). */
int bread(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp);
/* As bread, then start asynchronous reads of the next nra blocks that are
 * not cached (read-ahead; failures there are ignored). */
int breada(struct bdev *bd, uint64_t blkno, size_t size, int nra, struct buf **bpp);
/* The buffer without reading it: for a block about to be overwritten in
 * full. A new buffer is zero-filled and not B_VALID until written. */
int getblk(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp);
/* Write now and release; returns the write's error. */
int bwrite(struct buf *bp);
/* Mark dirty and release; written back later (bsync, periodic). */
void bdwrite(struct buf *bp);
/* bdwrite, leaving the buffer marked checked with mark (the holder's word
 * that the contents it wrote are sound). */
void bdwrite_checked(struct buf *bp, uint64_t mark);
/* Release without writing. */
void brelse(struct buf *bp);

/* Journal pins: while pinned, write-back and bsync skip the buffer and it
 * stays in memory. The holder of the buffer pins it; unpin needs no hold. */
void bpin(struct buf *bp);
void bunpin(struct buf *bp);

/* Write every dirty, unpinned buffer of bd (NULL: of every device) in block
 * order and wait; the first error is returned. */
int bsync(struct bdev *bd);
/* Forget every buffer of bd, dirty ones too (unmount, after bsync). */
void binval(struct bdev *bd);
/* bsync then binval; used when a bdev goes away. */
void bufcache_purge(struct bdev *bd);

struct bufcache_stats {
	uint64_t hits, misses, evictions, writes, writeclusters;
	uint64_t bytes, nbufs, ndirty, limit;
	uint64_t chains; /* hash chains, sized by the bound at start */
};
void bufcache_stats(struct bufcache_stats *st);
/* Change the memory bound (tests). */
void bufcache_setlimit(uint64_t bytes);
/* The memory bound in bytes. */
uint64_t bufcache_limit(void);
/* Count delta bytes (negative: give them back) of memory held on the
 * cache's behalf, such as a journal's copies of pinned buffers, against
 * the bound. A charge may write dirty buffers back to make room: call it
 * holding no buffer and no lock that write-back or I/O completion needs. */
void bufcache_charge(int64_t delta);

#endif /* ANYK_VFS_BIO_H */
