/*
 * The jbd2 journal of ext3/ext4: its on-disk format (everything big-endian,
 * unlike the rest of ext4) and the driver's entry points.
 *
 * The journal is a circular log of blocks 0..s_maxlen-1 of the journal file
 * (inode s_journal_inum). Block 0 is the journal superblock; the log runs
 * from s_first to s_maxlen-1 and wraps back to s_first. s_start is the
 * oldest block still needed (0: the log is empty) and s_sequence the
 * number of the transaction found there. A transaction is a run of
 * descriptor blocks (each followed by the blocks its tags describe) and
 * revoke blocks, closed by a commit block; every one of them starts with the
 * 12-byte header (magic, type, sequence), which is how the end of the log is
 * found: the first block without the magic or with the wrong sequence.
 *
 * Recovery (ext2_jrecover.c) runs at mount when the superblock says
 * needs_recovery. A read-write mount writes the committed transactions to
 * their home blocks, empties the log and clears needs_recovery. A read-only
 * mount never writes: it puts the replayed blocks into the buffer cache,
 * pinned so that they are neither evicted nor written, so every metadata
 * read of the mount sees the replayed file system; file data, which is read
 * around the cache, takes the blocks the journal logged (data=journal
 * mode, or files flagged to journal their data) from those buffers too
 * (ext2_journal_replayed).
 */
#ifndef ANYK_FS_EXT2_JOURNAL_H
#define ANYK_FS_EXT2_JOURNAL_H

#include "fs/ext2/ext2.h"

/* Block header, at the start of every journal metadata block. */
#define JH_MAGIC 0x0
#define JH_BLOCKTYPE 0x4
#define JH_SEQUENCE 0x8
#define JH_SIZE 12

#define JBD2_DESCRIPTOR_BLOCK 1
#define JBD2_COMMIT_BLOCK 2
#define JBD2_SUPERBLOCK_V1 3
/* JBD2_SUPERBLOCK_V2 (4) is in ext2_fs.h */
#define JBD2_REVOKE_BLOCK 5

/* Journal superblock fields beyond those in ext2_fs.h. */
#define JSB_ERRNO 0x20
#define JSB_COMPAT 0x24
#define JSB_RO_COMPAT 0x2C
#define JSB_NUM_FC_BLKS 0x54

#define JBD2_COMPAT_CHECKSUM 0x1   /* v1: crc32 of the transaction in the commit */
#define JBD2_INCOMPAT_REVOKE 0x1
#define JBD2_INCOMPAT_64BIT 0x2
#define JBD2_INCOMPAT_ASYNC_COMMIT 0x4
#define JBD2_INCOMPAT_CSUM_V2 0x8
/* JBD2_INCOMPAT_CSUM_V3 (0x10) is in ext2_fs.h */
#define JBD2_INCOMPAT_FAST_COMMIT 0x20
#define JBD2_INCOMPAT_KNOWN                                                         \
	(JBD2_INCOMPAT_REVOKE | JBD2_INCOMPAT_64BIT | JBD2_INCOMPAT_ASYNC_COMMIT | \
	 JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3)

/* Descriptor block tags. Without csum v3: be32 block, be16 checksum (csum
 * v2 only), be16 flags, be32 high block (64bit only): 8, 10, 12 or 14
 * bytes. With csum v3: be32 block, be32 flags, be32 high block, be32
 * checksum: always 16. A tag without SAME_UUID is followed by 16 bytes of
 * UUID. Descriptor and revoke blocks of checksummed journals end in a be32
 * checksum (the tail). */
#define JT_BLOCKNR 0x0
#define JT_CSUM16 0x4
#define JT_FLAGS16 0x6
#define JT_HIGH 0x8
#define JT3_FLAGS 0x4
#define JT3_CSUM 0xC
#define JBD2_TAG_UUID_SIZE 16
#define JBD2_TAIL_SIZE 4

#define JBD2_FLAG_ESCAPE 0x1    /* the block began with the magic: restore it */
#define JBD2_FLAG_SAME_UUID 0x2
#define JBD2_FLAG_DELETED 0x4
#define JBD2_FLAG_LAST_TAG 0x8

/* Commit block: after the header, checksum type and size (v1), then the
 * checksum words; csum v2/v3 keep theirs in the first word. */
#define JC_CHKSUM 0x10
#define JC_COMMIT_SEC 0x30 /* be64 */
#define JC_COMMIT_NSEC 0x38

/* Revoke block: header, be32 bytes used (header included), records of be32
 * or (64bit) be64 block numbers. */
#define JR_COUNT 0xC
#define JR_RECORDS 0x10

/*
 * Mount: if the file system needs recovery, replay its journal (read-write:
 * onto the disk, read-only: into pinned cache buffers). Call after the
 * superblock has been parsed into em->em_sb and its features checked, and
 * before anything else is read; the replayed superblock replaces em->em_sb
 * (and em_bsize, em_nblocks are set from it). Errors: EUCLEAN for a journal
 * that cannot be read as one (with a dmesg line), EINVAL for journals anyk
 * does not replay (external, fast commit, unknown features), EIO.
 */
int ext2_journal_recover(struct ext2_mount *em);

/* Unmount (and failed mounts): drop the buffers a read-only replay pinned.
 * Call before the device's buffers are invalidated. Safe to call always. */
void ext2_journal_release(struct ext2_mount *em);

/* A read-only mount's in-memory replay: the first block at or after blk
 * that it replayed, or UINT64_MAX. The replay does not change while the
 * file system is mounted. */
uint64_t ext2_journal_replayed(const struct ext2_mount *em, uint64_t blk);

/* Journal checksums (csum v2/v3), exposed for tests and the transaction
 * code: seed = crc32c(~0, journal uuid). */
uint32_t ext2_jsb_csum(const uint8_t *jsb);
uint32_t ext2_jblock_tail_csum(uint32_t seed, const uint8_t *blk, uint32_t bsize);
uint32_t ext2_jcommit_csum(uint32_t seed, const uint8_t *blk, uint32_t bsize);
uint32_t ext2_jdata_csum(uint32_t seed, uint32_t sequence, const uint8_t *blk, uint32_t bsize);

/*
 * Transactions (ext2_jtrans.c): ordered-mode metadata journaling of
 * read-write mounts. Every change to a metadata block happens inside a
 * handle; the handles of a running transaction all commit together.
 *
 *   ext2_jbegin(em, n, &h)   before changing up to n distinct metadata
 *                            blocks (jdirty + jrevoke count), after taking
 *                            every vnode lock the change needs and while
 *                            holding no buffer. May block for a commit or
 *                            a checkpoint when the log is full. h is NULL
 *                            (and every call below a no-op) when em has no
 *                            open journal. A thread may nest handles: an
 *                            inner begin never blocks and returns the same
 *                            handle; every begin needs its end.
 *   ext2_jcurrent(em)        the calling thread's open handle, or NULL:
 *                            for helpers deep in an operation that only
 *                            join the handle it already has (their blocks
 *                            are part of what its begin reserved), where
 *                            a nested begin would add credits again.
 *   ext2_jdirty(h, bp)       while holding bp (between bread/getblk and
 *                            bdwrite): bp joins the transaction, pinned
 *                            until it commits. Its contents when the
 *                            transaction closes are what is logged. Call
 *                            it before or right after changing b_data,
 *                            never after releasing bp; then bdwrite(bp).
 *   ext2_jrevoke(h, blk)     metadata block blk is freed by this handle:
 *                            earlier logged copies must not be replayed
 *                            over it. Replaces ext2_bforget for journaled
 *                            mounts (the cached copy is written out when
 *                            the transaction commits). A freed block may
 *                            be reused as file data only after that.
 *   ext2_jend(h)             the handle's changes are complete.
 *   ext2_jcommit(em, wait)   commit the running transaction (fsync, sync):
 *                            wait: durable when it returns; else started
 *                            in the background. File data the
 *                            transaction's metadata points to must have
 *                            been written (bdev_writev returned) before
 *                            the handle ended: the commit flushes the
 *                            device before its commit block (ordered mode).
 *   ext2_jopen / ext2_jclose at mount (after ext2_rw_setup: the journal
 *                            must be empty, as recovery leaves it) and at
 *                            unmount (before the final bsync): close
 *                            commits, writes everything home, empties the
 *                            log and clears needs_recovery.
 * Never call jcommit, jcheckpoint or a non-nested jbegin while holding a
 * handle (EDEADLK), em_lock or a buffer. A handle holder must not wait for
 * a vnode lock (take them all before jbegin): a blocked jbegin may hold
 * one while it waits for the open handles to end. Lock order: vnode locks
 * > em_lock > the journal's lock (jdirty and jrevoke may be called under
 * em_lock). jbegin's n must be honest: a transaction is bounded by the
 * sum of its handles' n, and the log by that. A transaction commits when
 * it would grow past its bound (ji_maxtrans): a quarter of the log, at
 * most 2048 blocks, and a quarter of the buffer cache's memory bound
 * (never under 64 blocks), since its buffers stay pinned in the cache
 * until it commits.
 */
struct ext2_jhandle;

int ext2_jopen(struct ext2_mount *em);
int ext2_jclose(struct ext2_mount *em);
int ext2_jbegin(struct ext2_mount *em, uint32_t nblocks, struct ext2_jhandle **hp);
int ext2_jdirty(struct ext2_jhandle *h, struct buf *bp);
int ext2_jrevoke(struct ext2_jhandle *h, uint64_t blk);
int ext2_jend(struct ext2_jhandle *h);
struct ext2_jhandle *ext2_jcurrent(struct ext2_mount *em);
int ext2_jcommit(struct ext2_mount *em, bool wait);
/* Commit, write every committed block home and empty the log. */
int ext2_jcheckpoint(struct ext2_mount *em);

/* The journal's state, for tests and statistics. */
struct ext2_jinfo {
	uint32_t ji_first, ji_maxlen; /* the log: journal blocks first..maxlen-1 */
	uint32_t ji_head;             /* where the next transaction goes */
	uint32_t ji_used;             /* log blocks not yet checkpointed */
	uint32_t ji_next_seq;         /* sequence of the next commit */
	uint64_t ji_commits, ji_checkpoints, ji_wraps;
	uint32_t ji_maxtrans;         /* blocks a transaction may reach now */
	uint32_t ji_reserved;         /* the running transaction's blocks and
	                               * the unused credits of its handles */
};
int ext2_jinfo(struct ext2_mount *em, struct ext2_jinfo *ji);
/* Nothing running and nothing committing: every change is on disk. */
bool ext2_jidle(struct ext2_mount *em);

/*
 * Handles per operation (ext2_jmeta.c). Each vnode operation that changes
 * metadata runs in one handle whose size is its worst case in distinct
 * metadata blocks: inode and block bitmaps with their descriptor blocks,
 * inode table blocks, and the directory blocks of a name change (an htree
 * insert that splits a leaf and its index touches about a dozen), with
 * room for a directory that grows. Operations that map or free file
 * blocks add the cost of bytes of file (ext2_jcost). ext2_jop_begin
 * starts the handle for op (capped at what one transaction may hold;
 * NULL without a journal); ext2_jop_end ends it and returns the
 * operation's error first, the journal's otherwise.
 */
enum ext2_jop {
	EXT2_JOP_IWRITE,  /* write one inode back (fsync) */
	EXT2_JOP_SETATTR, /* chmod, chown, utimes: the inode, an ACL */
	EXT2_JOP_NAME,    /* add or remove one name, grow the directory */
	EXT2_JOP_CREATE,  /* a new inode, its first block, and a name */
	EXT2_JOP_RENAME,  /* two names in two directories, a replaced target */
	EXT2_JOP_XATTR,   /* old and new attribute block, their bitmaps */
	EXT2_JOP_FILE,    /* map or free bytes of a file (write, truncate) */
	EXT2_JOP_RELEASE, /* free an unlinked inode: its bytes, its xattrs */
	EXT2_JOP_COUNT
};
uint64_t ext2_jop_blocks(struct ext2_mount *em, enum ext2_jop op, uint64_t bytes);
int ext2_jop_begin(struct ext2_mount *em, enum ext2_jop op, uint64_t bytes, struct ext2_jhandle **hp);
int ext2_jop_end(struct ext2_jhandle *h, int error);
bool ext2_jretry(struct ext2_mount *em, int error, int *tries);

#endif /* ANYK_FS_EXT2_JOURNAL_H */
