/*
 * Journal transactions (ordered mode): the writing side of the jbd2 log
 * whose format ext2_journal.h describes and ext2_jrecover.c replays.
 *
 * Metadata changes gather in the running transaction, whose buffers stay
 * pinned in the cache so that write-back cannot put an uncommitted change
 * in place. A commit closes the transaction to new handles, waits for its
 * handles to end, copies every buffer (so the next transaction may change
 * them while this one is written), writes descriptor blocks with the
 * copies, revoke blocks and, after a flush that also makes the file data
 * written by then durable, the commit block; then it unpins the buffers
 * and write-back may write them home.
 *
 * Checkpointing is whole-log: when the log runs short (or at unmount), new
 * handles are held off, the running transaction commits, every block of
 * the committed transactions is written home, and the journal superblock
 * says the log is empty (s_start 0). The head does not go back to the
 * start of the log: the next transaction continues where the last one
 * ended, so the log wraps around its end in normal use.
 *
 * Memory: a transaction's buffers stay in the cache until it commits, and
 * its commit holds a copy of each, so its size follows the buffer cache's
 * bound as well as the log's (jcap): the running transaction and the
 * committing one with its copies (charged to the cache) take at most three
 * quarters of the cache, whatever the size of the journal.
 *
 * Locks: j_commitlk serializes commits and checkpoints (held across their
 * I/O); j_lock guards the transaction state and is held only briefly,
 * never across I/O or a buffer wait. em_lock > j_lock.
 */
#include "fs/ext2/ext2_journal.h"

#define JCOMMIT_INTERVAL_NS (5ll * 1000 * 1000 * 1000)
/* Largest reservation of one transaction, in metadata blocks. */
#define JTRANS_MAX 2048
/* A transaction may pin this share of the buffer cache's bound, but never
 * fewer blocks than JTRANS_MIN (the largest handle the file system takes
 * must fit, or every operation would commit on its own). */
#define JCACHE_SHARE 4
#define JTRANS_MIN 64
/* Log writes gathered into one device request. */
#define JLW_IOVS 64

enum tstate { T_RUNNING, T_LOCKED, T_COMMITTING, T_COMMITTED };

/* A block of a transaction: logged (with its pinned buffer) or revoked. */
struct jblk {
	struct rb_node b_node;
	uint64_t b_blkno;
	struct buf *b_bp; /* pinned by this transaction; NULL once committed */
	bool b_revoked;
	uint8_t *b_copy;  /* what is logged, taken when the transaction closes */
};

struct jtrans {
	enum tstate t_state;
	uint32_t t_seq;        /* given when it closes, so no number is skipped */
	struct rb_tree t_blocks;
	uint32_t t_nlog, t_nrevoke;
	uint32_t t_reserved;   /* entries plus unused credits of open handles */
	uint32_t t_nhandles;
	struct dlist t_handles;
	int64_t t_born;
	uint32_t t_start, t_len; /* where in the log, once closed */
	struct jtrans *t_next;   /* committed, awaiting checkpoint */
};

struct ext2_jhandle {
	struct ext2_journal *h_j;
	struct jtrans *h_t;
	uint64_t h_tid;
	uint32_t h_depth;
	uint32_t h_credits;
	struct dlist h_link;
};

struct jrun {
	uint32_t r_lblk, r_len;
	uint64_t r_pblk;
};

struct ext2_journal {
	struct ext2_mount *j_em;
	struct bdev *j_bd;
	uint32_t j_bsize;
	uint32_t j_first, j_maxlen, j_loglen;
	bool j_csum, j_csum3, j_is64;
	uint32_t j_tagsize, j_seed;
	uint32_t j_tpd, j_rpb; /* tags per descriptor, records per revoke block */
	uint32_t j_limit;      /* log blocks handles may reserve */
	uint32_t j_maxtrans;   /* the log's bound on a transaction; see jcap */
	struct jrun *j_runs;
	uint32_t j_nruns, j_runcap;
	uint8_t *j_sb;         /* journal block 0 */
	bool j_sb_empty;       /* the superblock on disk says s_start 0 */

	kmutex_t j_commitlk;
	kmutex_t j_lock;
	kcondvar_t j_cv;
	struct jtrans *j_running;
	struct jtrans *j_closing; /* T_LOCKED or T_COMMITTING */
	struct jtrans *j_cp_head, *j_cp_tail;
	bool j_barrier;
	int j_error;           /* the journal failed: no more changes */
	bool j_overused;       /* said once that a handle overran its credits */
	uint32_t j_head, j_used, j_next_seq;
	uint64_t j_commits, j_checkpoints, j_wraps;

	struct callout j_callout;
	struct work j_work;
	bool j_dying;
	struct ext2_journal *j_next;
};

static kmutex_t jlist_lock;
static struct ext2_journal *jlist;

/* --- small helpers ---------------------------------------------------------------- */

static int
u64_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
jblk_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	return u64_cmp(container_of(a, struct jblk, b_node)->b_blkno, container_of(b, struct jblk, b_node)->b_blkno);
}

static int
jblk_cmp_key(const struct rb_node *n, const void *key)
{
	return u64_cmp(container_of(n, struct jblk, b_node)->b_blkno, *(const uint64_t *)key);
}

static struct jblk *
jblk_find(struct jtrans *t, uint64_t blk)
{
	struct rb_node *n = rb_find(&t->t_blocks, &blk);

	return n != NULL ? container_of(n, struct jblk, b_node) : NULL;
}

static struct ext2_journal *
jlookup(struct ext2_mount *em)
{
	struct ext2_journal *j;

	mutex_enter(&jlist_lock);
	for (j = jlist; j != NULL && j->j_em != em; j = j->j_next)
		;
	mutex_exit(&jlist_lock);
	return j;
}

/* Log blocks a transaction of n entries takes at most. */
static uint32_t
jworst(const struct ext2_journal *j, uint32_t n)
{
	return n + howmany(n, j->j_tpd) + howmany(n, j->j_rpb) + 1;
}

/*
 * How many blocks the running transaction may reach before it commits: the
 * log's bound, and a share of the buffer cache's, read each time since the
 * cache's bound can change under a mount.
 */
static uint32_t
jcap(const struct ext2_journal *j)
{
	uint64_t cache = bufcache_limit() / JCACHE_SHARE / j->j_bsize;

	return (uint32_t)MIN((uint64_t)j->j_maxtrans, MAX(cache, (uint64_t)JTRANS_MIN));
}

static uint32_t
jadvance(const struct ext2_journal *j, uint32_t pos, uint32_t n)
{
	uint64_t p = (uint64_t)pos + n;

	while (p >= j->j_maxlen)
		p -= j->j_loglen;
	return (uint32_t)p;
}

/* Byte offset on the device of journal block lblk. */
static uint64_t
jmap(const struct ext2_journal *j, uint32_t lblk)
{
	uint32_t lo = 0, hi = j->j_nruns;

	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;

		if (j->j_runs[mid].r_lblk <= lblk)
			lo = mid;
		else
			hi = mid;
	}
	return (j->j_runs[lo].r_pblk + (lblk - j->j_runs[lo].r_lblk)) * j->j_bsize;
}

static struct jtrans *
jtrans_new(void)
{
	struct jtrans *t = kmem_zalloc(&ext2_kmem, sizeof(*t));

	if (t == NULL)
		return NULL;
	rb_init(&t->t_blocks, jblk_cmp_nodes, jblk_cmp_key);
	dlist_init(&t->t_handles);
	t->t_born = time_mono_ns();
	return t;
}

/* Free t's entries (their pins are gone) and t. */
static void
jtrans_free(struct ext2_journal *j, struct jtrans *t)
{
	struct rb_node *n;
	struct jblk *b;

	while ((n = rb_min(&t->t_blocks)) != NULL) {
		b = container_of(n, struct jblk, b_node);
		rb_remove(&t->t_blocks, n);
		if (b->b_copy != NULL)
			kmem_free(&ext2_kmem, b->b_copy, j->j_bsize);
		kmem_free(&ext2_kmem, b, sizeof(*b));
	}
	kmem_free(&ext2_kmem, t, sizeof(*t));
}

static struct ext2_jhandle *
jhandle_find(struct jtrans *t, uint64_t tid)
{
	struct dlist *it;
	struct ext2_jhandle *h;

	if (t == NULL)
		return NULL;
	dlist_foreach(it, &t->t_handles) {
		h = dlist_entry(it, struct ext2_jhandle, h_link);
		if (h->h_tid == tid)
			return h;
	}
	return NULL;
}

/* The calling thread's open handle, if it has one. j_lock held. */
static struct ext2_jhandle *
jhandle_mine(struct ext2_journal *j, uint64_t tid)
{
	struct ext2_jhandle *h = jhandle_find(j->j_running, tid);

	if (h == NULL && j->j_closing != NULL && j->j_closing->t_state == T_LOCKED)
		h = jhandle_find(j->j_closing, tid);
	return h;
}

/* --- the journal superblock and the file system's needs_recovery ------------------ */

static int
jsb_write(struct ext2_journal *j, uint32_t start, uint32_t seq)
{
	int error;

	be32enc(j->j_sb + JSB_START, start);
	be32enc(j->j_sb + JSB_SEQUENCE, seq);
	if (j->j_csum)
		be32enc(j->j_sb + JSB_CHECKSUM, ext2_jsb_csum(j->j_sb));
	error = bdev_write(j->j_bd, jmap(j, 0), j->j_sb, j->j_bsize);
	if (error)
		klog(LOG_ERR, "ext2 %s: journal: superblock write error %d", j->j_em->em_name, error);
	return error ? EIO : 0;
}

/* Set or clear needs_recovery in the primary superblock, in em_sbraw too
 * so that the write path's superblock writes keep it. */
static int
set_recover(struct ext2_mount *em, bool on)
{
	uint8_t *raw = em->em_sbraw, *own = NULL;
	uint32_t inc;
	int error;

	if (raw == NULL) {
		own = kmem_alloc(&ext2_kmem, EXT2_SB_SIZE);
		if (own == NULL)
			return ENOMEM;
		error = bdev_read(em->em_bdev, EXT2_SB_OFFSET, own, EXT2_SB_SIZE);
		if (error) {
			kmem_free(&ext2_kmem, own, EXT2_SB_SIZE);
			return EIO;
		}
		raw = own;
	}
	mutex_enter(&em->em_lock);
	inc = le32dec(raw + SB_FEATURE_INCOMPAT);
	inc = on ? inc | INCOMPAT_RECOVER : inc & ~INCOMPAT_RECOVER;
	le32enc(raw + SB_FEATURE_INCOMPAT, inc);
	if (le32dec(raw + SB_FEATURE_RO_COMPAT) & RO_COMPAT_METADATA_CSUM)
		le32enc(raw + SB_CHECKSUM, ext2_sb_csum(raw));
	if (own != NULL)
		error = bdev_write(em->em_bdev, EXT2_SB_OFFSET, raw, EXT2_SB_SIZE);
	if (on)
		em->em_sb.s_incompat |= INCOMPAT_RECOVER;
	else
		em->em_sb.s_incompat &= ~INCOMPAT_RECOVER;
	mutex_exit(&em->em_lock);
	/* A read-write mount's superblock goes through the buffer cache, as
	 * every other write of it (no transaction holds it here: the journal
	 * is starting, or has written everything home). */
	if (own == NULL)
		error = ext2_sb_write(em, false);
	if (!error)
		error = bdev_flush(em->em_bdev);
	if (own != NULL)
		kmem_free(&ext2_kmem, own, EXT2_SB_SIZE);
	return error ? EIO : 0;
}

/* --- writing a transaction -------------------------------------------------------- */

/* Gathers consecutive log blocks that are contiguous on the device into
 * one write. */
struct jlw {
	struct ext2_journal *j;
	uint32_t pos;  /* the next journal block */
	uint64_t off;  /* device offset of the first gathered block */
	struct anyk_iovec iov[JLW_IOVS];
	int cnt;
	int error;
};

static void
jlw_flush(struct jlw *w)
{
	int error;

	if (w->cnt == 0)
		return;
	error = bdev_writev(w->j->j_bd, w->off, w->iov, w->cnt);
	if (error && !w->error)
		w->error = error;
	w->cnt = 0;
}

/* Queue blk (which must stay valid until jlw_flush) at the next position. */
static void
jlw_put(struct jlw *w, void *blk)
{
	uint64_t off = jmap(w->j, w->pos);

	if (w->cnt > 0 && (w->cnt == JLW_IOVS || off != w->off + (uint64_t)w->cnt * w->j->j_bsize))
		jlw_flush(w);
	if (w->cnt == 0)
		w->off = off;
	w->iov[w->cnt].iov_base = blk;
	w->iov[w->cnt].iov_len = w->j->j_bsize;
	w->cnt++;
	w->pos = jadvance(w->j, w->pos, 1);
}

static void
jheader(uint8_t *blk, uint32_t type, uint32_t seq)
{
	be32enc(blk + JH_MAGIC, JBD2_MAGIC);
	be32enc(blk + JH_BLOCKTYPE, type);
	be32enc(blk + JH_SEQUENCE, seq);
}

static void
jtail(struct ext2_journal *j, uint8_t *blk)
{
	if (j->j_csum)
		be32enc(blk + j->j_bsize - JBD2_TAIL_SIZE, ext2_jblock_tail_csum(j->j_seed, blk, j->j_bsize));
}

/* Fill descriptor desc with the tags of up to j_tpd logged entries from
 * *np on; their copies are escaped here. Returns the entries described. */
static uint32_t
jdesc_fill(struct ext2_journal *j, struct jtrans *t, uint8_t *desc, struct rb_node **np, struct jblk **ents)
{
	uint32_t off = JH_SIZE, k = 0, flags;
	uint8_t *tag = NULL;
	struct jblk *b;
	uint32_t csum;

	memset(desc, 0, j->j_bsize);
	jheader(desc, JBD2_DESCRIPTOR_BLOCK, t->t_seq);
	for (; *np != NULL && k < j->j_tpd; *np = rb_next(*np)) {
		b = container_of(*np, struct jblk, b_node);
		if (b->b_revoked)
			continue;
		flags = k == 0 ? 0 : JBD2_FLAG_SAME_UUID;
		if (be32dec(b->b_copy) == JBD2_MAGIC) {
			memset(b->b_copy, 0, 4);
			flags |= JBD2_FLAG_ESCAPE;
		}
		csum = j->j_csum ? ext2_jdata_csum(j->j_seed, t->t_seq, b->b_copy, j->j_bsize) : 0;
		tag = desc + off;
		be32enc(tag + JT_BLOCKNR, (uint32_t)b->b_blkno);
		if (j->j_csum3) {
			be32enc(tag + JT3_FLAGS, flags);
			be32enc(tag + JT_HIGH, (uint32_t)(b->b_blkno >> 32));
			be32enc(tag + JT3_CSUM, csum);
		} else {
			if (j->j_csum)
				be16enc(tag + JT_CSUM16, (uint16_t)csum);
			be16enc(tag + JT_FLAGS16, (uint16_t)flags);
			if (j->j_is64)
				be32enc(tag + JT_HIGH, (uint32_t)(b->b_blkno >> 32));
		}
		off += j->j_tagsize;
		if (k == 0) {
			memcpy(desc + off, j->j_sb + JSB_UUID, JBD2_TAG_UUID_SIZE);
			off += JBD2_TAG_UUID_SIZE;
		}
		ents[k++] = b;
	}
	if (tag != NULL) {
		if (j->j_csum3)
			be32enc(tag + JT3_FLAGS, be32dec(tag + JT3_FLAGS) | JBD2_FLAG_LAST_TAG);
		else
			be16enc(tag + JT_FLAGS16, (uint16_t)(be16dec(tag + JT_FLAGS16) | JBD2_FLAG_LAST_TAG));
	}
	jtail(j, desc);
	return k;
}

/* Fill revoke block rb with up to j_rpb revoked entries from *np on. */
static void
jrevoke_fill(struct ext2_journal *j, struct jtrans *t, uint8_t *rb, struct rb_node **np)
{
	uint32_t off = JR_RECORDS, k = 0, rsize = j->j_is64 ? 8 : 4;
	struct jblk *b;

	memset(rb, 0, j->j_bsize);
	jheader(rb, JBD2_REVOKE_BLOCK, t->t_seq);
	for (; *np != NULL && k < j->j_rpb; *np = rb_next(*np)) {
		b = container_of(*np, struct jblk, b_node);
		if (!b->b_revoked)
			continue;
		if (j->j_is64)
			be64enc(rb + off, b->b_blkno);
		else
			be32enc(rb + off, (uint32_t)b->b_blkno);
		off += rsize;
		k++;
	}
	be32enc(rb + JR_COUNT, off);
	jtail(j, rb);
}

/* Write closed transaction t at t_start: descriptors and copies, revoke
 * blocks, a flush, the commit block, a flush. */
static int
jwrite_trans(struct ext2_journal *j, struct jtrans *t)
{
	uint32_t ndesc = howmany(t->t_nlog, j->j_tpd), nrev = howmany(t->t_nrevoke, j->j_rpb);
	uint32_t nmeta = ndesc + nrev + 1, k, used = 0;
	struct jlw w = { .j = j, .pos = t->t_start };
	struct jblk **ents = NULL;
	struct anyk_timespec now;
	struct rb_node *n;
	uint8_t *meta = NULL, *blk;
	int error;

	meta = kmem_zalloc(&ext2_kmem, (size_t)nmeta * j->j_bsize);
	ents = kmem_alloc(&ext2_kmem, (size_t)j->j_tpd * sizeof(*ents));
	if (meta == NULL || ents == NULL) {
		error = ENOMEM;
		goto out;
	}
	if (j->j_sb_empty) {
		/* The log was empty: recovery must now start here. */
		error = jsb_write(j, t->t_start, t->t_seq);
		if (error)
			goto out;
		j->j_sb_empty = false;
	}
	n = rb_min(&t->t_blocks);
	while (n != NULL) {
		blk = meta + (size_t)used++ * j->j_bsize;
		k = jdesc_fill(j, t, blk, &n, ents);
		if (k == 0)
			break; /* only revoked entries were left */
		jlw_put(&w, blk);
		for (uint32_t i = 0; i < k; i++)
			jlw_put(&w, ents[i]->b_copy);
	}
	if (t->t_nlog == 0)
		used = 0;
	n = rb_min(&t->t_blocks);
	for (uint32_t i = 0; i < nrev; i++) {
		blk = meta + (size_t)used++ * j->j_bsize;
		jrevoke_fill(j, t, blk, &n);
		jlw_put(&w, blk);
	}
	jlw_flush(&w);
	error = w.error;
	/* Ordered mode: the file data written before the handles ended and
	 * the log blocks are durable before the commit block says so. */
	if (!error)
		error = bdev_flush(j->j_bd);
	if (error)
		goto ioerr;
	blk = meta + (size_t)(nmeta - 1) * j->j_bsize;
	jheader(blk, JBD2_COMMIT_BLOCK, t->t_seq);
	time_real(&now);
	be64enc(blk + JC_COMMIT_SEC, (uint64_t)now.tv_sec);
	be32enc(blk + JC_COMMIT_NSEC, (uint32_t)now.tv_nsec);
	if (j->j_csum)
		be32enc(blk + JC_CHKSUM, ext2_jcommit_csum(j->j_seed, blk, j->j_bsize));
	KASSERT(w.pos == jadvance(j, t->t_start, t->t_len - 1));
	error = bdev_write(j->j_bd, jmap(j, w.pos), blk, j->j_bsize);
	if (!error)
		error = bdev_flush(j->j_bd);
	if (error)
		goto ioerr;
	goto out;
ioerr:
	klog(LOG_ERR, "ext2 %s: journal: write error %d committing transaction %u", j->j_em->em_name, error,
	     t->t_seq);
	error = EIO;
out:
	if (meta != NULL)
		kmem_free(&ext2_kmem, meta, (size_t)nmeta * j->j_bsize);
	if (ents != NULL)
		kmem_free(&ext2_kmem, ents, (size_t)j->j_tpd * sizeof(*ents));
	return error;
}

/* After t committed: its buffers may go home; the cached copies of blocks
 * it freed go home now (or they could land later on the block's next use
 * as file data), unless the running transaction has taken them again. */
static void
junpin(struct ext2_journal *j, struct jtrans *t)
{
	struct rb_node *n;
	struct jblk *b;
	struct buf *bp;
	bool again;

	for (n = rb_min(&t->t_blocks); n != NULL; n = rb_next(n)) {
		b = container_of(n, struct jblk, b_node);
		if (b->b_bp != NULL) {
			bunpin(b->b_bp);
			b->b_bp = NULL;
		}
		if (b->b_copy != NULL) {
			kmem_free(&ext2_kmem, b->b_copy, j->j_bsize);
			b->b_copy = NULL;
		}
		if (!b->b_revoked || getblk(j->j_bd, b->b_blkno, j->j_bsize, &bp) != 0)
			continue;
		/* Holding bp: no handle can pin it while we look. */
		mutex_enter(&j->j_lock);
		again = j->j_running != NULL && jblk_find(j->j_running, b->b_blkno) != NULL;
		mutex_exit(&j->j_lock);
		if (!again && (bp->b_flags & B_DIRTY))
			(void)bwrite(bp);
		else
			brelse(bp);
	}
}

/*
 * Commit the running transaction. j_commitlk held, the caller has no
 * handle. Waits for its handles to end, takes the copies with new handles
 * held off, then writes it while the next transaction runs.
 */
static int
jcommit_locked(struct ext2_journal *j)
{
	struct jtrans *t;
	struct rb_node *n;
	struct jblk *b;
	int64_t charged;
	int error = 0;

	mutex_enter(&j->j_lock);
	t = j->j_running;
	if (t == NULL || j->j_error) {
		error = j->j_error;
		mutex_exit(&j->j_lock);
		return error;
	}
	t->t_state = T_LOCKED;
	j->j_running = NULL;
	j->j_closing = t;
	while (t->t_nhandles > 0)
		cv_wait(&j->j_cv, &j->j_lock);
	if (t->t_nlog + t->t_nrevoke == 0) {
		j->j_closing = NULL;
		cv_broadcast(&j->j_cv);
		mutex_exit(&j->j_lock);
		jtrans_free(j, t);
		return 0;
	}
	/* The copies count against the cache's bound: let it make room
	 * first (without j_lock, since that may write back; t is closed and
	 * has no handle, so nothing changes it meanwhile). */
	charged = (int64_t)t->t_nlog * j->j_bsize;
	mutex_exit(&j->j_lock);
	bufcache_charge(charged);
	mutex_enter(&j->j_lock);
	/* No handle is open: the buffers hold this transaction's state. */
	for (n = rb_min(&t->t_blocks); n != NULL && !error; n = rb_next(n)) {
		b = container_of(n, struct jblk, b_node);
		if (b->b_revoked)
			continue;
		b->b_copy = kmem_alloc(&ext2_kmem, j->j_bsize);
		if (b->b_copy == NULL)
			error = ENOMEM;
		else
			memcpy(b->b_copy, b->b_bp->b_data, j->j_bsize);
	}
	t->t_len = t->t_nlog + howmany(t->t_nlog, j->j_tpd) + howmany(t->t_nrevoke, j->j_rpb) + 1;
	if (!error && j->j_used + t->t_len > j->j_loglen)
		error = ENOSPC; /* jbegin's reservations make this impossible */
	if (!error) {
		t->t_seq = j->j_next_seq++;
		t->t_start = j->j_head;
		if ((uint64_t)j->j_head + t->t_len >= j->j_maxlen)
			j->j_wraps++;
		j->j_head = jadvance(j, j->j_head, t->t_len);
		j->j_used += t->t_len;
	}
	t->t_state = T_COMMITTING;
	cv_broadcast(&j->j_cv);
	mutex_exit(&j->j_lock);

	if (!error)
		error = jwrite_trans(j, t);
	/* Unpin even after an error: the journal is then stopped, and the
	 * unmount must be able to drop the buffers. */
	junpin(j, t);
	bufcache_charge(-charged);

	mutex_enter(&j->j_lock);
	j->j_closing = NULL;
	if (error) {
		klog(LOG_ERR, "ext2 %s: journal: commit failed (error %d); the journal is stopped, "
		     "run e2fsck", j->j_em->em_name, error);
		j->j_error = EIO;
		mutex_exit(&j->j_lock);
		jtrans_free(j, t);
		mutex_enter(&j->j_lock);
		error = EIO;
	} else {
		t->t_state = T_COMMITTED;
		if (j->j_cp_tail != NULL)
			j->j_cp_tail->t_next = t;
		else
			j->j_cp_head = t;
		j->j_cp_tail = t;
		j->j_commits++;
	}
	cv_broadcast(&j->j_cv);
	mutex_exit(&j->j_lock);
	return error;
}

/*
 * Whole-log checkpoint. j_commitlk held, the caller has no handle. New
 * handles wait until it is done, so no buffer is pinned while the
 * committed blocks go home.
 */
static int
jcheckpoint_locked(struct ext2_journal *j)
{
	struct jtrans *t, *cp;
	struct rb_node *n;
	struct buf *bp;
	int error;

	mutex_enter(&j->j_lock);
	j->j_barrier = true;
	while (j->j_running != NULL && j->j_running->t_nhandles > 0)
		cv_wait(&j->j_cv, &j->j_lock);
	mutex_exit(&j->j_lock);

	error = jcommit_locked(j);
	if (!error)
		error = bsync(j->j_bd);
	mutex_enter(&j->j_lock);
	cp = j->j_cp_head;
	mutex_exit(&j->j_lock);
	/* bsync skips buffers it finds busy: make sure of every block. */
	for (t = cp; t != NULL && !error; t = t->t_next) {
		for (n = rb_min(&t->t_blocks); n != NULL && !error; n = rb_next(n)) {
			error = getblk(j->j_bd, container_of(n, struct jblk, b_node)->b_blkno, j->j_bsize, &bp);
			if (error)
				break;
			if (bp->b_flags & B_DIRTY)
				error = bwrite(bp);
			else
				brelse(bp);
		}
	}
	if (!error)
		error = bdev_flush(j->j_bd);
	if (!error && cp != NULL) {
		error = jsb_write(j, 0, j->j_next_seq);
		if (!error)
			error = bdev_flush(j->j_bd);
		if (!error)
			j->j_sb_empty = true;
	}

	mutex_enter(&j->j_lock);
	if (!error) {
		j->j_cp_head = j->j_cp_tail = NULL;
		j->j_used = 0;
		if (cp != NULL)
			j->j_checkpoints++;
	} else {
		cp = NULL;
		if (!j->j_error) {
			klog(LOG_ERR, "ext2 %s: journal: checkpoint failed (error %d); the journal is stopped",
			     j->j_em->em_name, error);
			j->j_error = EIO;
		}
	}
	j->j_barrier = false;
	cv_broadcast(&j->j_cv);
	mutex_exit(&j->j_lock);
	while (cp != NULL) {
		t = cp->t_next;
		jtrans_free(j, cp);
		cp = t;
	}
	return error ? EIO : 0;
}

/* --- the periodic commit ------------------------------------------------------------- */

static void
jwork(struct work *w)
{
	struct ext2_journal *j = container_of(w, struct ext2_journal, j_work);
	bool old, full;

	mutex_enter(&j->j_commitlk);
	mutex_enter(&j->j_lock);
	old = j->j_running != NULL && time_mono_ns() - j->j_running->t_born >= JCOMMIT_INTERVAL_NS - 100000000;
	mutex_exit(&j->j_lock);
	if (old)
		(void)jcommit_locked(j);
	mutex_enter(&j->j_lock);
	full = j->j_used > j->j_loglen / 2 && !j->j_error;
	mutex_exit(&j->j_lock);
	if (full)
		(void)jcheckpoint_locked(j);
	mutex_exit(&j->j_commitlk);
}

static void
jtick(void *arg)
{
	struct ext2_journal *j = arg;

	if (atomic_load_acquire(&j->j_dying))
		return;
	work_enqueue(&j->j_work);
	callout_schedule(&j->j_callout, JCOMMIT_INTERVAL_NS);
}

/* Commit or checkpoint (fn) under the commit lock. */
static int
jrun(struct ext2_journal *j, int (*fn)(struct ext2_journal *))
{
	int error;

	mutex_enter(&j->j_commitlk);
	error = fn(j);
	mutex_exit(&j->j_commitlk);
	return error;
}

/* --- handles ------------------------------------------------------------------------ */

int
ext2_jbegin(struct ext2_mount *em, uint32_t nblocks, struct ext2_jhandle **hp)
{
	struct ext2_journal *j = jlookup(em);
	uint64_t tid = anyk_hyp_thread_id();
	struct ext2_jhandle *h = NULL;
	struct jtrans *t;
	uint32_t resv, cap;
	int error = 0;

	*hp = NULL;
	if (j == NULL)
		return 0;
	if (nblocks == 0)
		nblocks = 1;
	if (nblocks > j->j_maxtrans)
		return EFBIG;
	mutex_enter(&j->j_lock);
	h = jhandle_mine(j, tid);
	if (h != NULL) {
		/* Nested: the outer handle's transaction, never waiting. */
		h->h_depth++;
		h->h_credits += nblocks;
		h->h_t->t_reserved += nblocks;
		mutex_exit(&j->j_lock);
		*hp = h;
		return 0;
	}
	for (;;) {
		if (j->j_error) {
			error = j->j_error;
			break;
		}
		if (j->j_barrier || (j->j_closing != NULL && j->j_closing->t_state == T_LOCKED)) {
			cv_wait(&j->j_cv, &j->j_lock);
			continue;
		}
		t = j->j_running;
		resv = t != NULL ? t->t_reserved : 0;
		cap = jcap(j);
		if (t != NULL && resv + nblocks > cap) {
			/* The commit lock comes before j_lock. */
			mutex_exit(&j->j_lock);
			error = jrun(j, jcommit_locked);
			mutex_enter(&j->j_lock);
			if (error)
				break;
			continue;
		}
		if (j->j_used + jworst(j, resv + nblocks) > j->j_limit) {
			/* The commit lock comes before j_lock. */
			mutex_exit(&j->j_lock);
			error = jrun(j, jcheckpoint_locked);
			mutex_enter(&j->j_lock);
			if (error)
				break;
			continue;
		}
		if (t == NULL) {
			t = jtrans_new();
			if (t == NULL) {
				error = ENOMEM;
				break;
			}
			j->j_running = t;
		}
		h = kmem_zalloc(&ext2_kmem, sizeof(*h));
		if (h == NULL) {
			error = ENOMEM;
			break;
		}
		h->h_j = j;
		h->h_t = t;
		h->h_tid = tid;
		h->h_depth = 1;
		h->h_credits = nblocks;
		dlist_insert_tail(&t->t_handles, &h->h_link);
		t->t_nhandles++;
		t->t_reserved += nblocks;
		break;
	}
	mutex_exit(&j->j_lock);
	if (!error)
		*hp = h;
	return error;
}

int
ext2_jend(struct ext2_jhandle *h)
{
	struct ext2_journal *j;
	struct jtrans *t;
	int error;

	if (h == NULL)
		return 0;
	j = h->h_j;
	mutex_enter(&j->j_lock);
	error = j->j_error;
	if (--h->h_depth > 0) {
		mutex_exit(&j->j_lock);
		return error;
	}
	t = h->h_t;
	t->t_reserved -= h->h_credits;
	dlist_remove(&h->h_link);
	if (--t->t_nhandles == 0)
		cv_broadcast(&j->j_cv);
	mutex_exit(&j->j_lock);
	kmem_free(&ext2_kmem, h, sizeof(*h));
	return error;
}

/* The entry for blk in h's transaction, made if new (a credit spent). */
static int
jentry(struct ext2_jhandle *h, uint64_t blk, bool revoked, struct jblk **bpp)
{
	struct jtrans *t = h->h_t;
	struct jblk *b = jblk_find(t, blk);

	if (b != NULL) {
		*bpp = b;
		return 0;
	}
	b = kmem_zalloc(&ext2_kmem, sizeof(*b));
	if (b == NULL)
		return ENOMEM;
	b->b_blkno = blk;
	b->b_revoked = revoked;
	rb_insert(&t->t_blocks, &b->b_node);
	if (revoked)
		t->t_nrevoke++;
	else
		t->t_nlog++;
	if (h->h_credits > 0) {
		h->h_credits--;
	} else {
		/* Beyond what jbegin reserved: the log's slack pays, and a
		 * caller that keeps doing this can overrun the log. */
		t->t_reserved++;
		if (!h->h_j->j_overused) {
			h->h_j->j_overused = true;
			klog(LOG_WARN, "ext2 %s: journal: a handle changed more blocks than it reserved",
			     h->h_j->j_em->em_name);
		}
	}
	*bpp = b;
	return 0;
}

int
ext2_jdirty(struct ext2_jhandle *h, struct buf *bp)
{
	struct ext2_journal *j;
	struct jblk *b;
	int error;

	if (h == NULL)
		return 0;
	j = h->h_j;
	if (bp->b_bdev != j->j_bd || bp->b_size != j->j_bsize)
		return EINVAL;
	mutex_enter(&j->j_lock);
	error = j->j_error;
	if (!error)
		error = jentry(h, bp->b_blkno, false, &b);
	if (!error) {
		if (b->b_revoked) {
			/* Freed, then used again as metadata: log it after all. */
			b->b_revoked = false;
			h->h_t->t_nrevoke--;
			h->h_t->t_nlog++;
		}
		if (b->b_bp == NULL) {
			bpin(bp);
			b->b_bp = bp;
		}
		KASSERT(b->b_bp == bp);
	}
	mutex_exit(&j->j_lock);
	return error;
}

int
ext2_jrevoke(struct ext2_jhandle *h, uint64_t blk)
{
	struct ext2_journal *j;
	struct jblk *b;
	int error;

	if (h == NULL)
		return 0;
	j = h->h_j;
	if (blk >= j->j_em->em_nblocks)
		return EINVAL;
	mutex_enter(&j->j_lock);
	error = j->j_error;
	if (!error)
		error = jentry(h, blk, true, &b);
	if (!error && !b->b_revoked) {
		/* Its buffer stays pinned until the commit, which then
		 * writes it out rather than logging it. */
		b->b_revoked = true;
		h->h_t->t_nlog--;
		h->h_t->t_nrevoke++;
	}
	mutex_exit(&j->j_lock);
	return error;
}

struct ext2_jhandle *
ext2_jcurrent(struct ext2_mount *em)
{
	struct ext2_journal *j = jlookup(em);
	struct ext2_jhandle *h;

	if (j == NULL)
		return NULL;
	mutex_enter(&j->j_lock);
	h = jhandle_mine(j, anyk_hyp_thread_id());
	mutex_exit(&j->j_lock);
	return h;
}

static bool
holds_handle(struct ext2_journal *j)
{
	bool mine;

	mutex_enter(&j->j_lock);
	mine = jhandle_mine(j, anyk_hyp_thread_id()) != NULL;
	mutex_exit(&j->j_lock);
	return mine;
}

int
ext2_jcommit(struct ext2_mount *em, bool wait)
{
	struct ext2_journal *j = jlookup(em);

	if (j == NULL)
		return 0;
	if (holds_handle(j))
		return EDEADLK;
	if (!wait) {
		mutex_enter(&j->j_lock);
		if (j->j_running != NULL)
			j->j_running->t_born = INT64_MIN / 2; /* old enough for jwork */
		mutex_exit(&j->j_lock);
		work_enqueue(&j->j_work);
		return 0;
	}
	return jrun(j, jcommit_locked);
}

int
ext2_jcheckpoint(struct ext2_mount *em)
{
	struct ext2_journal *j = jlookup(em);

	if (j == NULL)
		return 0;
	if (holds_handle(j))
		return EDEADLK;
	return jrun(j, jcheckpoint_locked);
}

int
ext2_jinfo(struct ext2_mount *em, struct ext2_jinfo *ji)
{
	struct ext2_journal *j = jlookup(em);

	if (j == NULL)
		return ENOENT;
	mutex_enter(&j->j_lock);
	ji->ji_first = j->j_first;
	ji->ji_maxlen = j->j_maxlen;
	ji->ji_head = j->j_head;
	ji->ji_used = j->j_used;
	ji->ji_next_seq = j->j_next_seq;
	ji->ji_commits = j->j_commits;
	ji->ji_checkpoints = j->j_checkpoints;
	ji->ji_wraps = j->j_wraps;
	ji->ji_maxtrans = jcap(j);
	ji->ji_reserved = j->j_running != NULL ? j->j_running->t_reserved : 0;
	mutex_exit(&j->j_lock);
	return 0;
}

bool
ext2_jidle(struct ext2_mount *em)
{
	struct ext2_journal *j = jlookup(em);
	bool idle;

	if (j == NULL)
		return true;
	mutex_enter(&j->j_lock);
	idle = j->j_running == NULL && j->j_closing == NULL;
	mutex_exit(&j->j_lock);
	return idle;
}

/* --- open and close ------------------------------------------------------------------ */

/* Map the journal file's blocks 0..maxlen-1 as runs. */
static int
jmap_file(struct ext2_journal *j, struct ext2_inode *jip)
{
	struct ext2_mount *em = j->j_em;
	struct ext2_map m;
	uint32_t lblk = 0;
	struct jrun *nr;
	int error;

	while (lblk < j->j_maxlen) {
		error = ext2_bmap(em, jip, lblk, j->j_maxlen - lblk, &m);
		if (error)
			return error;
		if (m.m_pblk == 0 || m.m_unwritten || m.m_len == 0 || !ext2_blocks_valid(em, m.m_pblk, m.m_len))
			return ext2_corrupt(em, "journal: hole or bad block in the journal file (block %u)", lblk);
		if (j->j_nruns == j->j_runcap) {
			uint32_t cap = j->j_runcap ? j->j_runcap * 2 : 8;

			nr = kmem_alloc(&ext2_kmem, (size_t)cap * sizeof(*nr));
			if (nr == NULL)
				return ENOMEM;
			if (j->j_nruns > 0)
				memcpy(nr, j->j_runs, (size_t)j->j_nruns * sizeof(*nr));
			if (j->j_runs != NULL)
				kmem_free(&ext2_kmem, j->j_runs, (size_t)j->j_runcap * sizeof(*nr));
			j->j_runs = nr;
			j->j_runcap = cap;
		}
		if (m.m_len > j->j_maxlen - lblk)
			m.m_len = j->j_maxlen - lblk;
		j->j_runs[j->j_nruns].r_lblk = lblk;
		j->j_runs[j->j_nruns].r_pblk = m.m_pblk;
		j->j_runs[j->j_nruns].r_len = (uint32_t)m.m_len;
		j->j_nruns++;
		lblk += (uint32_t)m.m_len;
	}
	return 0;
}

static void
jfree(struct ext2_journal *j)
{
	if (j->j_runs != NULL)
		kmem_free(&ext2_kmem, j->j_runs, (size_t)j->j_runcap * sizeof(*j->j_runs));
	if (j->j_sb != NULL)
		kmem_free(&ext2_kmem, j->j_sb, j->j_bsize);
	mutex_destroy(&j->j_lock);
	mutex_destroy(&j->j_commitlk);
	cv_destroy(&j->j_cv);
	kmem_free(&ext2_kmem, j, sizeof(*j));
}

/* Read and check the journal superblock; settle the tag format. */
static int
jsb_load(struct ext2_journal *j, uint64_t fileblocks)
{
	struct ext2_mount *em = j->j_em;
	uint8_t *s = j->j_sb;
	uint32_t incompat, nfs, tagspace;
	int error;

	error = bdev_read(j->j_bd, jmap(j, 0), s, j->j_bsize);
	if (error)
		return EIO;
	if (be32dec(s + JSB_MAGIC) != JBD2_MAGIC || be32dec(s + JSB_BLOCKTYPE) != JBD2_SUPERBLOCK_V2)
		return ext2_corrupt(em, "journal: no version 2 journal superblock");
	if (be32dec(s + JSB_BLOCKSIZE) != j->j_bsize)
		return ext2_corrupt(em, "journal: block size differs from the file system's");
	j->j_maxlen = be32dec(s + JSB_MAXLEN);
	j->j_first = be32dec(s + JSB_FIRST);
	if (j->j_maxlen > fileblocks || j->j_first == 0 || j->j_first >= j->j_maxlen ||
	    j->j_maxlen - j->j_first < JBD2_MIN_JOURNAL_BLOCKS / 2)
		return ext2_corrupt(em, "journal: log bounds outside the journal file or too small");
	if (be32dec(s + JSB_START) != 0)
		return ext2_corrupt(em, "journal: not empty after recovery");
	nfs = be32dec(s + JSB_NR_USERS);
	if (nfs > 1) {
		klog(LOG_ERR, "ext2 %s: journal: shared by %u file systems; not supported", em->em_name, nfs);
		return EINVAL;
	}
	incompat = be32dec(s + JSB_INCOMPAT);
	if (incompat & ~(JBD2_INCOMPAT_REVOKE | JBD2_INCOMPAT_64BIT | JBD2_INCOMPAT_CSUM_V2 |
			 JBD2_INCOMPAT_CSUM_V3)) {
		klog(LOG_ERR, "ext2 %s: journal: features %#x not supported for writing", em->em_name, incompat);
		return EINVAL;
	}
	if ((incompat & JBD2_INCOMPAT_CSUM_V2) && (incompat & JBD2_INCOMPAT_CSUM_V3))
		return ext2_corrupt(em, "journal: both checksum versions 2 and 3");
	j->j_csum3 = (incompat & JBD2_INCOMPAT_CSUM_V3) != 0;
	j->j_csum = j->j_csum3 || (incompat & JBD2_INCOMPAT_CSUM_V2) != 0;
	if (j->j_csum) {
		if (s[JSB_CHECKSUM_TYPE] != JBD2_CRC32C_CHKSUM || ext2_jsb_csum(s) != be32dec(s + JSB_CHECKSUM))
			return ext2_corrupt(em, "journal: superblock checksum");
		j->j_seed = crc32c(~0u, s + JSB_UUID, 16);
	}
	/* Block numbers past 32 bits need 64-bit tags. */
	if (!(incompat & JBD2_INCOMPAT_64BIT) && em->em_nblocks > UINT32_MAX) {
		incompat |= JBD2_INCOMPAT_64BIT;
		be32enc(s + JSB_INCOMPAT, incompat);
	}
	/* Revoke records are written: say so. The version 1 commit checksum
	 * is not written: a journal asking for it would reject our commits. */
	incompat |= JBD2_INCOMPAT_REVOKE;
	be32enc(s + JSB_INCOMPAT, incompat);
	be32enc(s + JSB_COMPAT, be32dec(s + JSB_COMPAT) & ~JBD2_COMPAT_CHECKSUM);
	j->j_is64 = (incompat & JBD2_INCOMPAT_64BIT) != 0;
	j->j_tagsize = j->j_csum3 ? 16 : 8 + (j->j_csum ? 2 : 0) + (j->j_is64 ? 4 : 0);
	tagspace = j->j_bsize - JH_SIZE - JBD2_TAG_UUID_SIZE - (j->j_csum ? JBD2_TAIL_SIZE : 0);
	j->j_tpd = tagspace / j->j_tagsize;
	j->j_rpb = (j->j_bsize - JR_RECORDS - (j->j_csum ? JBD2_TAIL_SIZE : 0)) / (j->j_is64 ? 8 : 4);
	j->j_next_seq = be32dec(s + JSB_SEQUENCE);
	j->j_loglen = j->j_maxlen - j->j_first;
	return 0;
}

int
ext2_jopen(struct ext2_mount *em)
{
	struct ext2_journal *j = NULL;
	struct ext2_inode *jip = NULL;
	uint32_t jinum;
	int error;

	if (em->em_rdonly || !(em->em_sb.s_compat & COMPAT_HAS_JOURNAL) || jlookup(em) != NULL)
		return 0;
	if (em->em_sb.s_incompat & INCOMPAT_JOURNAL_DEV)
		return EINVAL;
	if (em->em_sbraw != NULL) {
		jinum = le32dec(em->em_sbraw + SB_JOURNAL_INUM);
	} else {
		uint8_t raw[EXT2_SB_SIZE];

		if (bdev_read(em->em_bdev, EXT2_SB_OFFSET, raw, sizeof(raw)) != 0)
			return EIO;
		jinum = le32dec(raw + SB_JOURNAL_INUM);
	}
	if (jinum == 0 || jinum > em->em_sb.s_inodes_count)
		return ext2_corrupt(em, "journal inode number %u out of range", jinum);
	j = kmem_zalloc(&ext2_kmem, sizeof(*j));
	if (j == NULL)
		return ENOMEM;
	j->j_em = em;
	j->j_bd = em->em_bdev;
	j->j_bsize = em->em_bsize;
	mutex_init(&j->j_lock);
	mutex_init(&j->j_commitlk);
	cv_init(&j->j_cv);
	j->j_sb = kmem_zalloc(&ext2_kmem, j->j_bsize);
	if (j->j_sb == NULL) {
		error = ENOMEM;
		goto out;
	}
	error = ext2_inode_load(em, jinum, &jip);
	if (error)
		goto out;
	if ((jip->i_mode & EXT2_S_IFMT) != ANYK_S_IFREG || jip->i_size / j->j_bsize < JBD2_MIN_JOURNAL_BLOCKS / 2) {
		error = ext2_corrupt(em, "journal inode %u is not a journal file", jinum);
		goto out;
	}
	/* Block 0 first, to learn the log's length. */
	j->j_maxlen = 1;
	error = jmap_file(j, jip);
	if (error)
		goto out;
	error = jsb_load(j, jip->i_size / j->j_bsize);
	if (error)
		goto out;
	j->j_nruns = 0;
	error = jmap_file(j, jip);
	if (error)
		goto out;
	j->j_maxtrans = MIN(JTRANS_MAX, j->j_loglen / 4);
	/* Slack for nested handles and blocks beyond a handle's credits. */
	j->j_limit = j->j_loglen - j->j_loglen / 8;
	j->j_head = j->j_first;
	j->j_sb_empty = true;
	/* The superblock's feature changes, then needs_recovery: from now on a
	 * crash leaves a log that must be replayed. */
	error = jsb_write(j, 0, j->j_next_seq);
	if (!error)
		error = set_recover(em, true);
	if (error)
		goto out;
	work_init(&j->j_work, jwork);
	callout_init(&j->j_callout, jtick, j);
	mutex_enter(&jlist_lock);
	j->j_next = jlist;
	jlist = j;
	mutex_exit(&jlist_lock);
	callout_schedule(&j->j_callout, JCOMMIT_INTERVAL_NS);
	klog(LOG_INFO, "ext2 %s: journal: %u blocks, sequence %u%s%s", em->em_name, j->j_maxlen, j->j_next_seq,
	     j->j_csum3 ? ", csum v3" : j->j_csum ? ", csum v2" : "", j->j_is64 ? ", 64-bit" : "");
	j = NULL;
out:
	if (jip != NULL)
		ext2_inode_free(jip);
	if (j != NULL)
		jfree(j);
	return error;
}

int
ext2_jclose(struct ext2_mount *em)
{
	struct ext2_journal *j = jlookup(em), **pp;
	int error;

	if (j == NULL)
		return 0;
	atomic_store_release(&j->j_dying, true);
	callout_halt(&j->j_callout);
	work_cancel(&j->j_work);
	error = jrun(j, jcheckpoint_locked);
	/* A stopped journal leaves needs_recovery set: e2fsck decides. */
	if (!error && !j->j_error)
		error = set_recover(em, false);
	mutex_enter(&jlist_lock);
	for (pp = &jlist; *pp != NULL; pp = &(*pp)->j_next) {
		if (*pp == j) {
			*pp = j->j_next;
			break;
		}
	}
	mutex_exit(&jlist_lock);
	/* The transaction state left after an error. */
	if (j->j_running != NULL) {
		junpin(j, j->j_running);
		jtrans_free(j, j->j_running);
	}
	while (j->j_cp_head != NULL) {
		struct jtrans *t = j->j_cp_head;

		j->j_cp_head = t->t_next;
		jtrans_free(j, t);
	}
	jfree(j);
	return error;
}

static int
ext2_jtrans_init(void)
{
	static bool ready;

	if (!ready) {
		mutex_init(&jlist_lock);
		ready = true;
	}
	return 0;
}

ANYK_COMPONENT(ext2_jtrans, LEVEL_FS, ext2_jtrans_init);
