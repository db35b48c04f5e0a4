/*
 * Journal recovery at mount (the format is described in ext2_journal.h).
 *
 * Three walks over the log, each from s_start:
 *  1. scan: find the end of the log, the first transaction that has no
 *     valid commit block, checking on the way every checksum the journal
 *     has (descriptor and revoke tails, data blocks, commit blocks) and
 *     every structure (tag sizes, revoke counts, target block numbers). A
 *     transaction that fails a check ends the log: it and everything after
 *     it are not replayed, as for a transaction whose commit never reached
 *     the disk;
 *  2. revoke: collect the revoke records of the committed transactions,
 *     keeping the newest transaction that revoked each block;
 *  3. replay: write every tagged block of every committed transaction to
 *     its home block, unless a transaction at least as new revoked it;
 *     later copies overwrite earlier ones.
 * Every field of the journal is untrusted: the walks are bounded by the
 * log's length, tags by the block, revoke counts by the block, targets by
 * the file system; a journal that cannot be read as one gives EUCLEAN and
 * a dmesg line.
 *
 * A read-write mount then flushes, empties the log (s_start 0, the
 * sequence past the last transaction, as e2fsck leaves it), clears
 * needs_recovery and flushes again. A read-only mount writes nothing: the
 * replayed blocks become pinned buffers of the cache (see ext2_journal.h).
 */
#include "fs/ext2/ext2_journal.h"

enum jpass { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

/* Replayed blocks kept in memory by read-only mounts; past this the mount
 * goes on without the replay (and says so). */
#define JOVL_MAX_BYTES (256ull << 20)

struct jrevoke {
	struct rb_node r_node;
	uint64_t r_blk;
	uint32_t r_seq;
};

struct jovl_buf {
	struct rb_node o_node;
	uint64_t o_blk;
	struct buf *o_bp;
};

/* A read-only mount's replay (em_jovl): its pinned buffers, by block. */
struct jovl {
	struct rb_tree v_bufs;
	uint64_t v_bytes;
};

struct jrec {
	struct ext2_mount *em;
	struct ext2_inode *jip;  /* the journal inode */
	uint32_t bsize;
	uint8_t *jsb;            /* the journal superblock, JSB_SIZE bytes */
	uint32_t maxlen, first, start, seq;
	uint32_t incompat;
	bool csum, csum3, is64;
	uint32_t tagsize;
	uint32_t seed;
	uint32_t end_seq;        /* the first transaction not to replay */
	uint32_t ntrans, nblocks, nrevoked, nrecords;
	struct ext2_map run;     /* the last journal run mapped */
	uint64_t run_lblk;
	uint8_t *blk, *data;     /* scratch blocks */
	struct rb_tree revokes;
	struct jovl *ovl;        /* read-only: where replayed blocks go */
};

static const uint8_t zeros[4];

static bool
tid_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* --- checksums ------------------------------------------------------------- */

uint32_t
ext2_jsb_csum(const uint8_t *jsb)
{
	uint32_t c = crc32c(~0u, jsb, JSB_CHECKSUM);

	c = crc32c(c, zeros, 4);
	return crc32c(c, jsb + JSB_CHECKSUM + 4, JSB_SIZE - JSB_CHECKSUM - 4);
}

uint32_t
ext2_jblock_tail_csum(uint32_t seed, const uint8_t *blk, uint32_t bsize)
{
	uint32_t c = crc32c(seed, blk, bsize - JBD2_TAIL_SIZE);

	return crc32c(c, zeros, 4);
}

uint32_t
ext2_jcommit_csum(uint32_t seed, const uint8_t *blk, uint32_t bsize)
{
	uint32_t c = crc32c(seed, blk, JC_CHKSUM);

	c = crc32c(c, zeros, 4);
	return crc32c(c, blk + JC_CHKSUM + 4, bsize - JC_CHKSUM - 4);
}

uint32_t
ext2_jdata_csum(uint32_t seed, uint32_t sequence, const uint8_t *blk, uint32_t bsize)
{
	uint8_t be[4];

	be32enc(be, sequence);
	return crc32c(crc32c(seed, be, 4), blk, bsize);
}

/* --- trees ------------------------------------------------------------------ */

static int
u64_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
revoke_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	return u64_cmp(container_of(a, struct jrevoke, r_node)->r_blk,
		       container_of(b, struct jrevoke, r_node)->r_blk);
}

static int
revoke_cmp_key(const struct rb_node *n, const void *key)
{
	return u64_cmp(container_of(n, struct jrevoke, r_node)->r_blk, *(const uint64_t *)key);
}

static int
ovl_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	return u64_cmp(container_of(a, struct jovl_buf, o_node)->o_blk,
		       container_of(b, struct jovl_buf, o_node)->o_blk);
}

static int
ovl_cmp_key(const struct rb_node *n, const void *key)
{
	return u64_cmp(container_of(n, struct jovl_buf, o_node)->o_blk, *(const uint64_t *)key);
}

/* --- reading the journal ------------------------------------------------------ */

static int
jcorrupt(struct jrec *jr, const char *what, uint32_t lblk)
{
	return ext2_corrupt(jr->em, "journal: %s (journal block %u)", what, lblk);
}

/* Read journal block lblk (0 <= lblk < maxlen) into buf. */
static int
jread(struct jrec *jr, uint32_t lblk, uint8_t *buf)
{
	struct ext2_map *m = &jr->run;
	int error;

	if (m->m_len == 0 || lblk < jr->run_lblk || lblk - jr->run_lblk >= m->m_len) {
		error = ext2_bmap(jr->em, jr->jip, lblk, jr->maxlen - lblk, m);
		if (error) {
			m->m_len = 0;
			return error;
		}
		jr->run_lblk = lblk;
		if (m->m_pblk == 0 || m->m_unwritten || m->m_len == 0) {
			m->m_len = 0;
			return jcorrupt(jr, "hole in the journal file", lblk);
		}
	}
	error = bdev_read(jr->em->em_bdev, (m->m_pblk + (lblk - jr->run_lblk)) * jr->bsize, buf, jr->bsize);
	if (error) {
		klog(LOG_ERR, "ext2 %s: journal: read error %d at journal block %u", jr->em->em_name, error, lblk);
		return EIO;
	}
	return 0;
}

static uint32_t
jnext(const struct jrec *jr, uint32_t lblk)
{
	return lblk + 1 >= jr->maxlen ? jr->first : lblk + 1;
}

/* Load the journal inode without the group table, which is not read yet
 * (and may itself be in the journal): its group's descriptor, then it. */
static int
load_jinode(struct jrec *jr, uint32_t ino)
{
	struct ext2_mount *em = jr->em;
	const struct ext2_sb *sb = &em->em_sb;
	struct ext2_group g;
	struct buf *bp = NULL;
	uint32_t group, index, off;
	uint64_t blk;
	char why[128];
	int error;

	if (ino == 0 || ino > sb->s_inodes_count)
		return ext2_corrupt(em, "journal inode number %u out of range", ino);
	group = (ino - 1) / sb->s_inodes_per_group;
	index = (ino - 1) % sb->s_inodes_per_group;
	blk = ext2_gd_location(sb, group, &off);
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	error = ext2_gd_parse(sb, (const uint8_t *)bp->b_data + off, group, &g, why, sizeof(why));
	brelse(bp);
	bp = NULL;
	if (error)
		return ext2_corrupt(em, "%s", why);
	blk = g.g_inode_table + (uint64_t)index * sb->s_inode_size / em->em_bsize;
	off = (uint32_t)((uint64_t)index * sb->s_inode_size % em->em_bsize);
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	jr->jip = kmem_zalloc(&ext2_kmem, sizeof(*jr->jip));
	if (jr->jip == NULL) {
		brelse(bp);
		return ENOMEM;
	}
	error = ext2_inode_decode(sb, ino, (const uint8_t *)bp->b_data + off, jr->jip, why, sizeof(why));
	brelse(bp);
	if (error)
		return ext2_corrupt(em, "journal inode %u: %s", ino, why);
	if ((jr->jip->i_mode & EXT2_S_IFMT) != ANYK_S_IFREG)
		return ext2_corrupt(em, "journal inode %u is not a regular file", ino);
	return 0;
}

/* Read and check the journal superblock. */
static int
load_jsb(struct jrec *jr)
{
	struct ext2_mount *em = jr->em;
	uint64_t fileblocks = jr->jip->i_size / jr->bsize;
	const uint8_t *s;
	uint32_t type;
	int error;

	jr->maxlen = 1; /* jread of block 0 */
	error = jread(jr, 0, jr->blk);
	if (error)
		return error;
	memcpy(jr->jsb, jr->blk, JSB_SIZE);
	s = jr->jsb;
	type = be32dec(s + JSB_BLOCKTYPE);
	if (be32dec(s + JSB_MAGIC) != JBD2_MAGIC || (type != JBD2_SUPERBLOCK_V1 && type != JBD2_SUPERBLOCK_V2))
		return jcorrupt(jr, "no journal superblock", 0);
	if (be32dec(s + JSB_BLOCKSIZE) != jr->bsize)
		return jcorrupt(jr, "journal block size differs from the file system's", 0);
	jr->maxlen = be32dec(s + JSB_MAXLEN);
	jr->first = be32dec(s + JSB_FIRST);
	jr->seq = be32dec(s + JSB_SEQUENCE);
	jr->start = be32dec(s + JSB_START);
	jr->run.m_len = 0;
	if (jr->maxlen > fileblocks || jr->first == 0 || jr->first >= jr->maxlen || jr->maxlen - jr->first < 2)
		return jcorrupt(jr, "log bounds (s_first, s_maxlen) outside the journal file", 0);
	if (type == JBD2_SUPERBLOCK_V2) {
		jr->incompat = be32dec(s + JSB_INCOMPAT);
		if (jr->incompat & JBD2_INCOMPAT_FAST_COMMIT) {
			klog(LOG_ERR, "ext2 %s: journal: fast commits are not supported; replay with e2fsck",
			     em->em_name);
			return EINVAL;
		}
		if (jr->incompat & ~JBD2_INCOMPAT_KNOWN) {
			klog(LOG_ERR, "ext2 %s: journal: unknown incompatible features %#x", em->em_name,
			     jr->incompat & ~JBD2_INCOMPAT_KNOWN);
			return EINVAL;
		}
		if ((jr->incompat & JBD2_INCOMPAT_CSUM_V2) && (jr->incompat & JBD2_INCOMPAT_CSUM_V3))
			return jcorrupt(jr, "both checksum versions 2 and 3", 0);
	}
	jr->csum3 = (jr->incompat & JBD2_INCOMPAT_CSUM_V3) != 0;
	jr->csum = jr->csum3 || (jr->incompat & JBD2_INCOMPAT_CSUM_V2) != 0;
	jr->is64 = (jr->incompat & JBD2_INCOMPAT_64BIT) != 0;
	if (jr->csum3)
		jr->tagsize = 16;
	else
		jr->tagsize = 8 + (jr->csum ? 2 : 0) + (jr->is64 ? 4 : 0);
	if (jr->csum) {
		if (s[JSB_CHECKSUM_TYPE] != JBD2_CRC32C_CHKSUM)
			return jcorrupt(jr, "unknown checksum type", 0);
		if (ext2_jsb_csum(s) != be32dec(s + JSB_CHECKSUM))
			return jcorrupt(jr, "superblock checksum mismatch", 0);
		jr->seed = crc32c(~0u, s + JSB_UUID, 16);
	}
	if (jr->start != 0 && (jr->start < jr->first || jr->start >= jr->maxlen))
		return jcorrupt(jr, "log start outside the log", 0);
	if (type == JBD2_SUPERBLOCK_V2 && be32dec(s + JSB_ERRNO) != 0)
		klog(LOG_WARN, "ext2 %s: journal: the journal was aborted (error %d); run e2fsck", em->em_name,
		     (int32_t)be32dec(s + JSB_ERRNO));
	return 0;
}

/* --- the three walks ------------------------------------------------------------ */

static bool
revoked(struct jrec *jr, uint64_t blk, uint32_t seq)
{
	struct rb_node *n = rb_find(&jr->revokes, &blk);

	return n != NULL && !tid_gt(seq, container_of(n, struct jrevoke, r_node)->r_seq);
}

static int
add_revoke(struct jrec *jr, uint64_t blk, uint32_t seq)
{
	struct rb_node *n = rb_find(&jr->revokes, &blk);
	struct jrevoke *r;

	if (n != NULL) {
		r = container_of(n, struct jrevoke, r_node);
		if (tid_gt(seq, r->r_seq))
			r->r_seq = seq;
		return 0;
	}
	r = kmem_zalloc(&ext2_kmem, sizeof(*r));
	if (r == NULL)
		return ENOMEM;
	r->r_blk = blk;
	r->r_seq = seq;
	rb_insert(&jr->revokes, &r->r_node);
	jr->nrecords++;
	return 0;
}

/* Read-only: make blk's buffer hold data, pinned in the cache. */
static int
ovl_put(struct jrec *jr, uint64_t blk, const uint8_t *data)
{
	struct jovl *v = jr->ovl;
	struct rb_node *n = rb_find(&v->v_bufs, &blk);
	struct jovl_buf *ob = NULL;
	struct buf *bp;
	int error;

	if (n == NULL) {
		if (v->v_bytes + jr->bsize > JOVL_MAX_BYTES)
			return EFBIG;
		ob = kmem_zalloc(&ext2_kmem, sizeof(*ob));
		if (ob == NULL)
			return ENOMEM;
	}
	/* bread, not getblk: the buffer must end up valid, and only a read
	 * makes it so without marking it dirty. */
	error = bread(jr->em->em_bdev, blk, jr->bsize, &bp);
	if (error) {
		if (ob != NULL)
			kmem_free(&ext2_kmem, ob, sizeof(*ob));
		klog(LOG_ERR, "ext2 %s: journal: read error %d at block %llu", jr->em->em_name, error,
		     (unsigned long long)blk);
		return EIO;
	}
	memcpy(bp->b_data, data, jr->bsize);
	bp->b_checked = 0;
	if (ob != NULL) {
		bpin(bp);
		ob->o_blk = blk;
		ob->o_bp = bp;
		rb_insert(&v->v_bufs, &ob->o_node);
		v->v_bytes += jr->bsize;
	}
	brelse(bp);
	return 0;
}

static int
replay_block(struct jrec *jr, uint32_t lblk, uint64_t blk, uint32_t flags, uint32_t seq)
{
	int error;

	if (revoked(jr, blk, seq)) {
		jr->nrevoked++;
		return 0;
	}
	error = jread(jr, lblk, jr->data);
	if (error)
		return error;
	if (flags & JBD2_FLAG_ESCAPE)
		be32enc(jr->data, JBD2_MAGIC);
	jr->nblocks++;
	if (jr->ovl != NULL)
		return ovl_put(jr, blk, jr->data);
	error = bdev_write(jr->em->em_bdev, blk * jr->bsize, jr->data, jr->bsize);
	if (error) {
		klog(LOG_ERR, "ext2 %s: journal: write error %d at block %llu", jr->em->em_name, error,
		     (unsigned long long)blk);
		return EIO;
	}
	return 0;
}

/* Scan only: transaction seq is damaged; the log ends before it. */
static int
damaged(struct jrec *jr, uint32_t seq, const char *why, uint32_t lblk)
{
	klog(LOG_WARN, "ext2 %s: journal: transaction %u is damaged (%s, journal block %u); "
	     "recovery stops before it", jr->em->em_name, seq, why, lblk);
	jr->end_seq = seq;
	return 0;
}

/*
 * The tags of the descriptor block in jr->blk (read from journal block
 * *lblkp), whose data blocks follow it; *lblkp and *countp advance past
 * them. *endp: the scan found the transaction damaged.
 */
static int
walk_descriptor(struct jrec *jr, enum jpass pass, uint32_t seq, uint32_t *lblkp, uint64_t *countp,
		bool *endp)
{
	uint32_t limit = jr->bsize - (jr->csum ? JBD2_TAIL_SIZE : 0);
	uint32_t off = JH_SIZE, flags, dlblk;
	uint64_t blk;
	const uint8_t *t;
	int error;

	*endp = false;
	if (pass == PASS_SCAN && jr->csum &&
	    ext2_jblock_tail_csum(jr->seed, jr->blk, jr->bsize) != be32dec(jr->blk + jr->bsize - JBD2_TAIL_SIZE)) {
		*endp = true;
		return damaged(jr, seq, "descriptor block checksum mismatch", *lblkp);
	}
	for (;;) {
		if (off + jr->tagsize > limit) {
			/* jbd2 ends a full block's tags without a flag too. */
			break;
		}
		t = jr->blk + off;
		blk = be32dec(t + JT_BLOCKNR);
		if (jr->is64)
			blk |= (uint64_t)be32dec(t + JT_HIGH) << 32;
		flags = jr->csum3 ? be32dec(t + JT3_FLAGS) : be16dec(t + JT_FLAGS16);
		off += jr->tagsize;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += JBD2_TAG_UUID_SIZE;
		if (off > limit && pass == PASS_SCAN) {
			*endp = true;
			return damaged(jr, seq, "tag runs past the descriptor block", *lblkp);
		}
		dlblk = *lblkp;
		*lblkp = jnext(jr, *lblkp);
		if (++*countp > jr->maxlen - jr->first) {
			if (pass != PASS_SCAN)
				return jcorrupt(jr, "transaction longer than the log", dlblk);
			*endp = true;
			return damaged(jr, seq, "more tags than the log has blocks", dlblk);
		}
		if (pass == PASS_SCAN) {
			if (blk >= jr->em->em_nblocks) {
				*endp = true;
				return damaged(jr, seq, "tag names a block outside the file system", dlblk);
			}
			if (jr->csum) {
				uint32_t want, have;

				error = jread(jr, dlblk, jr->data);
				if (error)
					return error;
				want = ext2_jdata_csum(jr->seed, seq, jr->data, jr->bsize);
				if (jr->csum3) {
					have = be32dec(t + JT3_CSUM);
				} else {
					have = be16dec(t + JT_CSUM16);
					want &= 0xffff;
				}
				if (want != have) {
					*endp = true;
					return damaged(jr, seq, "data block checksum mismatch", dlblk);
				}
			}
		} else if (pass == PASS_REPLAY) {
			error = replay_block(jr, dlblk, blk, flags, seq);
			if (error)
				return error;
		}
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

static int
walk_revoke(struct jrec *jr, enum jpass pass, uint32_t seq, uint32_t lblk, bool *endp)
{
	uint32_t limit = jr->bsize - (jr->csum ? JBD2_TAIL_SIZE : 0);
	uint32_t count = be32dec(jr->blk + JR_COUNT), rsize = jr->is64 ? 8 : 4;
	int error;

	*endp = false;
	if (pass == PASS_SCAN) {
		if (jr->csum &&
		    ext2_jblock_tail_csum(jr->seed, jr->blk, jr->bsize) != be32dec(jr->blk + jr->bsize - JBD2_TAIL_SIZE)) {
			*endp = true;
			return damaged(jr, seq, "revoke block checksum mismatch", lblk);
		}
		if (count < JR_RECORDS || count > limit || (count - JR_RECORDS) % rsize != 0) {
			*endp = true;
			return damaged(jr, seq, "revoke record count out of range", lblk);
		}
		return 0;
	}
	if (pass != PASS_REVOKE)
		return 0;
	for (uint32_t off = JR_RECORDS; off + rsize <= count && off + rsize <= limit; off += rsize) {
		uint64_t blk = jr->is64 ? be64dec(jr->blk + off) : be32dec(jr->blk + off);

		error = add_revoke(jr, blk, seq);
		if (error)
			return error;
	}
	return 0;
}

/* One walk of the log from s_start. The scan sets end_seq; the other walks
 * stop there. */
static int
walk(struct jrec *jr, enum jpass pass)
{
	uint32_t lblk = jr->start, seq = jr->seq, here, type;
	uint64_t count = 0, loglen = jr->maxlen - jr->first;
	bool end;
	int error = 0;

	for (;;) {
		if (pass != PASS_SCAN && seq == jr->end_seq)
			break;
		if (count >= loglen) {
			/* Every block of the log read: whatever comes next is
			 * the start again, not a new transaction. */
			if (pass == PASS_SCAN)
				jr->end_seq = seq;
			else
				error = jcorrupt(jr, "log ends before the scan's end", lblk);
			break;
		}
		here = lblk;
		error = jread(jr, here, jr->blk);
		if (error)
			break;
		lblk = jnext(jr, lblk);
		count++;
		if (be32dec(jr->blk + JH_MAGIC) != JBD2_MAGIC || be32dec(jr->blk + JH_SEQUENCE) != seq) {
			if (pass == PASS_SCAN)
				jr->end_seq = seq;
			else
				error = jcorrupt(jr, "log changed between walks", here);
			break;
		}
		type = be32dec(jr->blk + JH_BLOCKTYPE);
		end = false;
		switch (type) {
		case JBD2_DESCRIPTOR_BLOCK:
			error = walk_descriptor(jr, pass, seq, &lblk, &count, &end);
			break;
		case JBD2_REVOKE_BLOCK:
			error = walk_revoke(jr, pass, seq, here, &end);
			break;
		case JBD2_COMMIT_BLOCK:
			if (pass == PASS_SCAN && jr->csum &&
			    ext2_jcommit_csum(jr->seed, jr->blk, jr->bsize) != be32dec(jr->blk + JC_CHKSUM)) {
				end = true;
				damaged(jr, seq, "commit block checksum mismatch", here);
				break;
			}
			if (pass == PASS_SCAN)
				jr->ntrans++;
			seq++;
			break;
		default:
			/* Not a log block: the log ends here. */
			if (pass == PASS_SCAN)
				jr->end_seq = seq;
			else
				error = jcorrupt(jr, "log changed between walks", here);
			end = true;
			break;
		}
		if (error || end)
			break;
	}
	return error;
}

/* --- read-only replays --------------------------------------------------------- */

static void
ovl_free(struct jovl *v)
{
	struct rb_node *n;
	struct jovl_buf *ob;

	while ((n = rb_min(&v->v_bufs)) != NULL) {
		ob = container_of(n, struct jovl_buf, o_node);
		rb_remove(&v->v_bufs, n);
		bunpin(ob->o_bp);
		kmem_free(&ext2_kmem, ob, sizeof(*ob));
	}
	kmem_free(&ext2_kmem, v, sizeof(*v));
}

void
ext2_journal_release(struct ext2_mount *em)
{
	if (em->em_jovl != NULL)
		ovl_free(em->em_jovl);
	em->em_jovl = NULL;
}

uint64_t
ext2_journal_replayed(const struct ext2_mount *em, uint64_t blk)
{
	struct rb_node *n;

	if (em->em_jovl == NULL)
		return UINT64_MAX;
	n = rb_lower_bound(&em->em_jovl->v_bufs, &blk);
	return n != NULL ? container_of(n, struct jovl_buf, o_node)->o_blk : UINT64_MAX;
}

/* --- after the replay ------------------------------------------------------------ */

/* The superblock as replayed (from the disk, or the cache when read-only),
 * into em_sb. */
static int
reload_sb(struct jrec *jr)
{
	struct ext2_mount *em = jr->em;
	uint32_t oldinc = em->em_sb.s_incompat & ~INCOMPAT_RECOVER, oldro = em->em_sb.s_rocompat;
	uint8_t *raw = jr->data;
	uint64_t blk = EXT2_SB_OFFSET / jr->bsize;
	uint32_t off = EXT2_SB_OFFSET % jr->bsize;
	struct buf *bp;
	char why[128];
	int error;

	if (jr->ovl != NULL && rb_find(&jr->ovl->v_bufs, &blk) != NULL) {
		error = bread(em->em_bdev, blk, jr->bsize, &bp);
		if (error)
			return EIO;
		memcpy(raw, (const uint8_t *)bp->b_data + off, EXT2_SB_SIZE);
		brelse(bp);
	} else {
		error = bdev_read(em->em_bdev, EXT2_SB_OFFSET, raw, EXT2_SB_SIZE);
		if (error)
			return EIO;
	}
	error = ext2_sb_parse(raw, em->em_bdev->bd_size, &em->em_sb, why, sizeof(why));
	/* Still the one a backup vouched for at mount (see ext2_sb_torn). */
	if (error == EUCLEAN && em->em_sb_torn)
		error = ext2_sb_torn(em, raw, why, sizeof(why));
	if (error) {
		klog(LOG_ERR, "ext2 %s: superblock after journal replay: %s", em->em_name, why);
		return error;
	}
	if (em->em_sb.s_bsize != jr->bsize)
		return ext2_corrupt(em, "journal replay changed the block size");
	em->em_nblocks = em->em_sb.s_blocks_count;
	if ((em->em_sb.s_incompat & ~INCOMPAT_RECOVER) != oldinc || em->em_sb.s_rocompat != oldro) {
		klog(LOG_ERR, "ext2 %s: journal replay changed the file system's features; mount again",
		     em->em_name);
		return EAGAIN;
	}
	return 0;
}

/* Empty the log and clear needs_recovery: the replay is on the disk. */
static int
finish_rw(struct jrec *jr)
{
	struct ext2_mount *em = jr->em;
	uint8_t *raw = jr->data;
	int error;

	error = bdev_flush(em->em_bdev);
	if (error)
		goto ioerr;
	if (jr->start != 0) {
		be32enc(jr->jsb + JSB_START, 0);
		be32enc(jr->jsb + JSB_SEQUENCE, jr->end_seq + 1);
		if (jr->csum)
			be32enc(jr->jsb + JSB_CHECKSUM, ext2_jsb_csum(jr->jsb));
		error = jread(jr, 0, jr->blk);
		if (error)
			return error;
		memcpy(jr->blk, jr->jsb, JSB_SIZE);
		/* jread left the run of block 0 mapped. */
		error = bdev_write(em->em_bdev, jr->run.m_pblk * jr->bsize, jr->blk, jr->bsize);
		if (error)
			goto ioerr;
	}
	error = bdev_read(em->em_bdev, EXT2_SB_OFFSET, raw, EXT2_SB_SIZE);
	if (error)
		goto ioerr;
	le32enc(raw + SB_FEATURE_INCOMPAT, le32dec(raw + SB_FEATURE_INCOMPAT) & ~INCOMPAT_RECOVER);
	if (le32dec(raw + SB_FEATURE_RO_COMPAT) & RO_COMPAT_METADATA_CSUM)
		le32enc(raw + SB_CHECKSUM, ext2_sb_csum(raw));
	error = bdev_write(em->em_bdev, EXT2_SB_OFFSET, raw, EXT2_SB_SIZE);
	if (!error)
		error = bdev_flush(em->em_bdev);
	if (error)
		goto ioerr;
	em->em_sb.s_incompat &= ~INCOMPAT_RECOVER;
	return 0;
ioerr:
	klog(LOG_ERR, "ext2 %s: journal: error %d writing the recovered state", em->em_name, error);
	return EIO;
}

/* --- the entry point --------------------------------------------------------------- */

static void
jrec_free(struct jrec *jr)
{
	struct rb_node *n;

	while ((n = rb_min(&jr->revokes)) != NULL) {
		rb_remove(&jr->revokes, n);
		kmem_free(&ext2_kmem, container_of(n, struct jrevoke, r_node), sizeof(struct jrevoke));
	}
	if (jr->ovl != NULL)
		ovl_free(jr->ovl);
	if (jr->jip != NULL)
		ext2_inode_free(jr->jip);
	if (jr->jsb != NULL)
		kmem_free(&ext2_kmem, jr->jsb, JSB_SIZE);
	if (jr->blk != NULL)
		kmem_free(&ext2_kmem, jr->blk, jr->bsize);
	if (jr->data != NULL)
		kmem_free(&ext2_kmem, jr->data, jr->bsize);
	kmem_free(&ext2_kmem, jr, sizeof(*jr));
}

int
ext2_journal_recover(struct ext2_mount *em)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct jrec *jr = NULL;
	uint8_t sbraw[EXT2_SB_SIZE];
	uint32_t jinum;
	int error;

	if (!(sb->s_compat & COMPAT_HAS_JOURNAL) || !(sb->s_incompat & INCOMPAT_RECOVER))
		return 0;
	if (sb->s_bsize > BUF_MAXSIZE)
		return EINVAL; /* the mount refuses it anyway */
	em->em_bsize = sb->s_bsize;
	em->em_nblocks = sb->s_blocks_count;
	/* The journal's inode number is not in the decoded superblock. */
	error = bdev_read(em->em_bdev, EXT2_SB_OFFSET, sbraw, sizeof(sbraw));
	if (error)
		return EIO;
	jinum = le32dec(sbraw + SB_JOURNAL_INUM);
	if (jinum == 0 || (sb->s_incompat & INCOMPAT_JOURNAL_DEV)) {
		klog(LOG_ERR, "ext2 %s: the journal is on another device, which anyk does not replay; "
		     "run e2fsck with it", em->em_name);
		return EINVAL;
	}

	jr = kmem_zalloc(&ext2_kmem, sizeof(*jr));
	if (jr == NULL)
		return ENOMEM;
	jr->em = em;
	jr->bsize = sb->s_bsize;
	rb_init(&jr->revokes, revoke_cmp_nodes, revoke_cmp_key);
	jr->jsb = kmem_alloc(&ext2_kmem, JSB_SIZE);
	jr->blk = kmem_alloc(&ext2_kmem, jr->bsize);
	jr->data = kmem_alloc(&ext2_kmem, jr->bsize);
	if (jr->jsb == NULL || jr->blk == NULL || jr->data == NULL) {
		error = ENOMEM;
		goto out;
	}
	error = load_jinode(jr, jinum);
	if (!error)
		error = load_jsb(jr);
	if (error)
		goto out;
	if (em->em_rdonly) {
		jr->ovl = kmem_zalloc(&ext2_kmem, sizeof(*jr->ovl));
		if (jr->ovl == NULL) {
			error = ENOMEM;
			goto out;
		}
		rb_init(&jr->ovl->v_bufs, ovl_cmp_nodes, ovl_cmp_key);
	}
	jr->end_seq = jr->seq;
	if (jr->start != 0) {
		error = walk(jr, PASS_SCAN);
		if (!error)
			error = walk(jr, PASS_REVOKE);
		if (!error)
			error = walk(jr, PASS_REPLAY);
		if (error == EFBIG) {
			klog(LOG_WARN, "ext2 %s: journal: too large to replay in memory for a read-only "
			     "mount; reading without it (the file system may look inconsistent)", em->em_name);
			ovl_free(jr->ovl);
			jr->ovl = NULL;
			error = 0;
			goto out;
		}
		if (error)
			goto out;
	}
	klog(LOG_INFO, "ext2 %s: journal: recovered %u transactions (%u..%u), %u blocks replayed, "
	     "%u revoked%s", em->em_name, jr->ntrans, jr->seq, jr->end_seq - 1, jr->nblocks, jr->nrevoked,
	     em->em_rdonly ? ", in memory only (read-only)" : "");
	if (!em->em_rdonly) {
		/* Nothing cached may predate the replay. */
		binval(em->em_bdev);
		error = finish_rw(jr);
		if (error)
			goto out;
	}
	error = reload_sb(jr);
	if (error)
		goto out;
	/* Kept by the mount until unmount if it replayed anything; an
	 * empty one goes with jr. */
	if (jr->ovl != NULL && rb_min(&jr->ovl->v_bufs) != NULL) {
		em->em_jovl = jr->ovl;
		jr->ovl = NULL;
	}
out:
	jrec_free(jr);
	return error;
}
