/*
 * The buffer cache (see vfs/bio.h for the contract).
 *
 * The hash table's chains are many (one per 2 KiB of the cache's bound,
 * so about one buffer each even at 1 KiB blocks) and its locks few: chain
 * c is guarded by lock c % NBUCKET, the buffer's "bucket".
 *
 * Who may touch what:
 *  - bucket lock: its hash chains, b_flags, B_BUSY hand-over, reference
 *    count decrements and 0 -> 1 increments of clean buffers;
 *  - LRU lock: the list of clean buffers with no reference (the only ones
 *    eviction may free); lock order bucket > LRU, and the evictor, which
 *    starts from the LRU, only tries bucket locks;
 *  - dirty lock: the tree of dirty buffers ordered by (bdev, offset);
 *    lock order bucket > dirty. The flusher takes references on dirty
 *    buffers under the dirty lock alone: a dirty buffer is never on the LRU,
 *    and it only becomes clean under both locks, so it cannot be freed
 *    under the flusher.
 * Buffers are freed by eviction (clean, unreferenced), by binval (the caller
 * guarantees nobody uses the device's buffers) and by the size-change path
 * of buf_get (unreferenced, clean).
 *
 * Dirty buffers cannot be evicted, so left alone they would carry the cache
 * past its bound for as long as a file system keeps writing faster than
 * periodic write-back ages them (100,000 file creates dirty ~28 MiB of
 * inode tables and directories in two seconds). Two thresholds keep them in
 * check: once a quarter of the bound is dirty the write-back work is started
 * early, and a buffer allocation that finds the cache full with nothing clean
 * to evict writes dirty buffers back itself, skipping busy and pinned ones
 * (the allocating thread may hold some), then evicts them.
 */
#include "vfs/bio.h"

KMEM_TYPE(M_BUF, "bufcache");

#define NBUCKET 256                /* locks; the chains are a multiple */
#define CHAIN_BYTES 2048           /* cache bytes per hash chain */
#define CLUSTER_MAX 32            /* buffers per clustered write */
#define WB_INTERVAL_NS 1000000000ll
#define WB_AGE_NS 5000000000ll    /* dirty longer than this: write back */
#define DIRTY_BG_DIV 4            /* write back early past limit/4 dirty */
#define DIRTY_FG_DIV 8            /* a full cache writes down to limit/8 dirty */

struct bucket {
	kmutex_t lock;
	kcondvar_t cv; /* a buffer in this bucket stopped being busy */
};

static struct bucket buckets[NBUCKET];
/* The chains: nchain (a power of two, at least NBUCKET) heads, sized when
 * the cache starts. */
static struct buf *chains0[NBUCKET]; /* the table before (or without) growth */
static struct buf **chains = chains0;
static size_t nchain = NBUCKET;
static kmutex_t lru_lock;
static struct dlist lru = DLIST_INIT(lru);
static kmutex_t dirty_lock;
static struct rb_tree dirty_tree;
static bool wb_armed; /* under dirty_lock */
static bool wb_urgent; /* under dirty_lock: wb_urgent_work is queued */
static uint64_t dirty_floor; /* under dirty_lock: see wb_hurry_locked */
static uint32_t fg_flushing; /* atomic: an allocation is writing back */
static struct callout wb_callout;
static struct work wb_work;
static struct work wb_urgent_work;
static bool bc_ready;
static struct shutdown_hook bc_hook;

static uint64_t bc_limit, bc_bytes, bc_nbufs, bc_ndirty, bc_dirtybytes;
static uint64_t st_hits, st_misses, st_evictions, st_writes, st_clusters;

struct dkey {
	uintptr_t bd;
	uint64_t off;
};

static int
dirty_cmp_key(const struct rb_node *n, const void *key)
{
	const struct buf *bp = container_of(n, struct buf, b_dnode);
	const struct dkey *k = key;
	uintptr_t bd = (uintptr_t)bp->b_bdev;

	if (bd != k->bd)
		return bd < k->bd ? -1 : 1;
	if (bp->b_off != k->off)
		return bp->b_off < k->off ? -1 : 1;
	return 0;
}

static int
dirty_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	const struct buf *bb = container_of(b, struct buf, b_dnode);
	struct dkey k = { (uintptr_t)bb->b_bdev, bb->b_off };

	return dirty_cmp_key(a, &k);
}

static uint32_t
buf_hash(const struct bdev *bd, uint64_t off)
{
	return (uint32_t)hash_u64((uint64_t)(uintptr_t)bd ^ (off * 0x9e3779b97f4a7c15ull));
}

static struct bucket *
bucket_of(const struct buf *bp)
{
	return &buckets[bp->b_hash % NBUCKET];
}

/* The head of hash h's chain; its bucket lock held. */
static struct buf **
chain_of(uint32_t h)
{
	return &chains[h & (nchain - 1)];
}

/* The chain count for a cache bound of limit bytes. */
static size_t
chains_for(uint64_t limit)
{
	size_t n = NBUCKET;

	while ((uint64_t)n * CHAIN_BYTES < limit && n < ((size_t)1 << 24))
		n <<= 1;
	return n;
}

/* The table for the bound the cache starts with: made before any buffer
 * exists, and kept until the cache ends (the bound changes afterwards only
 * in tests). Without memory for it, the smallest table serves. */
static void
chains_init(uint64_t limit)
{
	size_t n = chains_for(limit);
	struct buf **nc;

	KASSERT(chains == chains0);
	if (n <= NBUCKET)
		return;
	nc = kmem_zalloc(&M_BUF, n * sizeof(*nc));
	if (nc == NULL)
		return;
	chains = nc;
	nchain = n;
}

/* --- allocation and eviction -------------------------------------------------- */

static void
buf_free(struct buf *bp)
{
	atomic_add(&bc_bytes, -(uint64_t)bp->b_size);
	atomic_add(&bc_nbufs, -(uint64_t)1);
	kmem_free(&M_BUF, bp->b_data, bp->b_size);
	kmem_free(&M_BUF, bp, sizeof(*bp));
}

/* Free the oldest clean unreferenced buffer; false if there was none. */
static bool
buf_evict_one(void)
{
	struct dlist *it;
	struct buf *bp, *victim = NULL;
	struct bucket *bk = NULL;
	struct buf **pp;

	mutex_enter(&lru_lock);
	dlist_foreach(it, &lru) {
		bp = dlist_entry(it, struct buf, b_lru);
		bk = bucket_of(bp);
		if (mutex_tryenter(&bk->lock)) {
			victim = bp;
			break;
		}
	}
	if (victim == NULL) {
		mutex_exit(&lru_lock);
		return false;
	}
	KASSERT(atomic_load_relaxed(&victim->b_refcnt) == 0 && !(victim->b_flags & B_DIRTY));
	dlist_remove(&victim->b_lru);
	mutex_exit(&lru_lock);
	for (pp = chain_of(victim->b_hash); *pp != victim; pp = &(*pp)->b_hnext)
		KASSERT(*pp != NULL);
	*pp = victim->b_hnext;
	mutex_exit(&bk->lock);
	buf_free(victim);
	atomic_inc(&st_evictions);
	return true;
}

static int buf_flush(struct bdev *bd, int64_t cutoff, bool nowait, uint64_t budget);
static void buf_flush_done(void);

static bool
buf_over(size_t want)
{
	return atomic_load_relaxed(&bc_bytes) + want > atomic_load_relaxed(&bc_limit);
}

/*
 * Make room for want bytes: evict clean buffers; when only dirty ones are
 * left and they are a fair share of the cache, write some back (without
 * waiting for busy ones: the caller may hold them) and evict those. One
 * thread at a time does that; others, and a write-back that itself needs
 * buffers (a disk on a file of another mount), go over the bound a little
 * rather than wait or recurse.
 */
static void
buf_reclaim(size_t want)
{
	uint64_t limit, dirty, floor;

	while (buf_over(want) && buf_evict_one())
		;
	if (!buf_over(want))
		return;
	limit = atomic_load_relaxed(&bc_limit);
	mutex_enter(&dirty_lock);
	dirty = bc_dirtybytes;
	floor = dirty_floor;
	mutex_exit(&dirty_lock);
	if (dirty < floor + limit / DIRTY_FG_DIV || dirty < limit / DIRTY_BG_DIV ||
	    __atomic_exchange_n(&fg_flushing, 1, __ATOMIC_ACQUIRE) != 0)
		return;
	(void)buf_flush(NULL, INT64_MAX, true, dirty - limit / DIRTY_FG_DIV);
	buf_flush_done();
	atomic_store_release(&fg_flushing, 0);
	while (buf_over(want) && buf_evict_one())
		;
}

static struct buf *
buf_alloc(struct bdev *bd, uint64_t blkno, uint64_t off, size_t size)
{
	struct buf *bp;

	buf_reclaim(size);
	bp = kmem_zalloc(&M_BUF, sizeof(*bp));
	if (bp == NULL)
		return NULL;
	/* Pointer-aligned, not block-aligned: nothing needs more (transfers
	 * go through the host's pread/pwrite), and a host allocator pads a
	 * page-aligned page to two, whose halves then fragment the heap
	 * between the small allocations of vnodes and inodes (100,000
	 * creates: 52 MiB resident, 20 MiB of it free heap, against 31 MiB). */
	bp->b_data = kmem_alloc(&M_BUF, size);
	if (bp->b_data == NULL && buf_evict_one())
		bp->b_data = kmem_alloc(&M_BUF, size);
	if (bp->b_data == NULL) {
		kmem_free(&M_BUF, bp, sizeof(*bp));
		return NULL;
	}
	memset(bp->b_data, 0, size);
	bp->b_bdev = bd;
	bp->b_blkno = blkno;
	bp->b_off = off;
	bp->b_size = size;
	bp->b_flags = B_BUSY;
	bp->b_refcnt = 1;
	dlist_init(&bp->b_lru);
	atomic_add(&bc_bytes, (uint64_t)size);
	atomic_inc(&bc_nbufs);
	return bp;
}

/* --- lookup and release --------------------------------------------------------- */

/* Take a reference on a buffer found in its bucket (bucket lock held). */
static void
buf_ref_locked(struct buf *bp)
{
	if (atomic_inc_nv(&bp->b_refcnt) == 1 && !(bp->b_flags & B_DIRTY)) {
		mutex_enter(&lru_lock);
		dlist_remove(&bp->b_lru);
		mutex_exit(&lru_lock);
	}
}

/* Drop a reference (bucket lock held); the last one of a clean buffer puts
 * it on the LRU, where eviction may find it. */
static void
buf_rele_locked(struct buf *bp)
{
	if (atomic_dec_nv(&bp->b_refcnt) == 0 && !(bp->b_flags & B_DIRTY)) {
		mutex_enter(&lru_lock);
		dlist_insert_tail(&lru, &bp->b_lru);
		mutex_exit(&lru_lock);
	}
}

static void
buf_unbusy_locked(struct bucket *bk, struct buf *bp)
{
	bp->b_flags &= ~B_BUSY;
	cv_broadcast(&bk->cv);
}

static int
buf_check(struct bdev *bd, uint64_t blkno, size_t size, uint64_t *offp)
{
	if (bd == NULL || size == 0 || size % 512 != 0 || size > BUF_MAXSIZE || !powerof2(size))
		return EINVAL;
	if (blkno > UINT64_MAX / size)
		return EIO;
	*offp = blkno * size;
	if (*offp > bd->bd_size || size > bd->bd_size - *offp)
		return EIO;
	return 0;
}

/*
 * Find or make the buffer and make it busy for the caller. nowait: give
 * EEXIST instead of waiting for (or taking) a cached buffer (read-ahead).
 */
static int
buf_get(struct bdev *bd, uint64_t blkno, size_t size, bool nowait, struct buf **bpp)
{
	struct bucket *bk;
	struct buf *bp, *nbp = NULL, **pp;
	uint64_t off;
	uint32_t h;
	int error;

	error = buf_check(bd, blkno, size, &off);
	if (error)
		return error;
	h = buf_hash(bd, off);
	bk = &buckets[h % NBUCKET];
	mutex_enter(&bk->lock);
again:
	for (pp = chain_of(h); (bp = *pp) != NULL; pp = &bp->b_hnext) {
		if (bp->b_bdev != bd || bp->b_off != off)
			continue;
		if (nowait) {
			mutex_exit(&bk->lock);
			error = EEXIST;
			goto out;
		}
		if (bp->b_size != size) {
			/* The file system changed its block size (superblock
			 * read first): drop the old buffer if nobody has it. */
			if (atomic_load_relaxed(&bp->b_refcnt) != 0 || (bp->b_flags & B_DIRTY) ||
			    atomic_load_relaxed(&bp->b_pinned) != 0) {
				mutex_exit(&bk->lock);
				klog(LOG_WARN, "bufcache: %s: block at %llu in use with size %zu, not %zu",
				     bd->bd_name, (unsigned long long)off, bp->b_size, size);
				error = EINVAL;
				goto out;
			}
			*pp = bp->b_hnext;
			mutex_enter(&lru_lock);
			dlist_remove(&bp->b_lru);
			mutex_exit(&lru_lock);
			buf_free(bp);
			goto again;
		}
		buf_ref_locked(bp);
		while (bp->b_flags & B_BUSY)
			cv_wait(&bk->cv, &bk->lock);
		bp->b_flags |= B_BUSY;
		mutex_exit(&bk->lock);
		*bpp = bp;
		error = 0;
		goto out;
	}
	if (nbp == NULL) {
		mutex_exit(&bk->lock);
		nbp = buf_alloc(bd, blkno, off, size);
		if (nbp == NULL)
			return ENOMEM;
		nbp->b_hash = h;
		mutex_enter(&bk->lock);
		goto again; /* someone may have made it meanwhile */
	}
	pp = chain_of(h);
	nbp->b_hnext = *pp;
	*pp = nbp;
	mutex_exit(&bk->lock);
	*bpp = nbp;
	nbp = NULL;
	error = 0;
out:
	if (nbp != NULL)
		buf_free(nbp);
	return error;
}

void
brelse(struct buf *bp)
{
	struct bucket *bk = bucket_of(bp);

	mutex_enter(&bk->lock);
	KASSERT(bp->b_flags & B_BUSY);
	buf_unbusy_locked(bk, bp);
	buf_rele_locked(bp);
	mutex_exit(&bk->lock);
}

/* Read the contents of a busy buffer that is not valid. */
static int
buf_fill(struct buf *bp)
{
	struct bucket *bk = bucket_of(bp);
	int error;

	bp->b_checked = 0;
	error = bdev_read(bp->b_bdev, bp->b_off, bp->b_data, bp->b_size);
	mutex_enter(&bk->lock);
	if (error) {
		bp->b_flags |= B_ERROR;
		bp->b_error = error;
	} else {
		bp->b_flags = (bp->b_flags | B_VALID) & ~B_ERROR;
		bp->b_error = 0;
	}
	mutex_exit(&bk->lock);
	if (error)
		klog(LOG_ERR, "%s: read error %d at byte %llu", bp->b_bdev->bd_name, error,
		     (unsigned long long)bp->b_off);
	return error;
}

int
bread(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp)
{
	struct buf *bp;
	int error;

	error = buf_get(bd, blkno, size, false, &bp);
	if (error)
		return error;
	/* Only the holder changes B_VALID, so reading it here is safe. */
	if (bp->b_flags & B_VALID) {
		atomic_inc(&st_hits);
	} else {
		atomic_inc(&st_misses);
		error = buf_fill(bp);
		if (error) {
			brelse(bp);
			return error;
		}
	}
	*bpp = bp;
	return 0;
}

static void
buf_readahead_done(struct bio *bio)
{
	struct buf *bp = bio->bio_arg;
	struct bucket *bk = bucket_of(bp);

	mutex_enter(&bk->lock);
	bp->b_checked = 0;
	if (bio->bio_error == 0 && bio->bio_moved == bp->b_size)
		bp->b_flags |= B_VALID;
	buf_unbusy_locked(bk, bp);
	buf_rele_locked(bp);
	mutex_exit(&bk->lock);
}

int
breada(struct bdev *bd, uint64_t blkno, size_t size, int nra, struct buf **bpp)
{
	struct buf *bp;
	int error, i;

	error = bread(bd, blkno, size, bpp);
	if (error || bd->bd_ops->bo_submit == NULL || size % bd->bd_secsize != 0)
		return error;
	for (i = 1; i <= nra && i <= 64; i++) {
		if (buf_get(bd, blkno + (uint64_t)i, size, true, &bp) != 0)
			continue; /* cached, past the end, or no memory */
		bp->b_bio.bio_bdev = bd;
		bp->b_bio.bio_op = BIO_READ;
		bp->b_bio.bio_data = bp->b_data;
		bp->b_bio.bio_len = bp->b_size;
		bp->b_bio.bio_off = bp->b_off;
		bp->b_bio.bio_done = buf_readahead_done;
		bp->b_bio.bio_arg = bp;
		atomic_inc(&st_misses);
		bdev_submit(&bp->b_bio); /* the completion releases it */
	}
	return 0;
}

int
getblk(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp)
{
	int error = buf_get(bd, blkno, size, false, bpp);

	if (error == 0)
		(*bpp)->b_checked = 0; /* its holder is about to rewrite it */
	return error;
}

/* --- dirty buffers ----------------------------------------------------------------- */

static void
wb_arm_locked(void)
{
	if (!wb_armed) {
		wb_armed = true;
		callout_schedule(&wb_callout, WB_INTERVAL_NS);
	}
}

/*
 * Past a quarter of the bound dirty: write them all back now rather than
 * when they are 5 s old (dirty lock held). dirty_floor is what the last
 * early write-back could not write (pinned by a journal, busy): only as
 * much again newly dirty starts another, so that a large pinned
 * transaction does not make every bdwrite walk the dirty tree.
 */
static void
wb_hurry_locked(void)
{
	uint64_t step = atomic_load_relaxed(&bc_limit) / DIRTY_BG_DIV;

	if (!wb_urgent && bc_dirtybytes >= step && bc_dirtybytes >= dirty_floor + step) {
		wb_urgent = true;
		work_enqueue(&wb_urgent_work);
	}
}

/* An early write-back has ended: what is still dirty is its floor. */
static void
buf_flush_done(void)
{
	mutex_enter(&dirty_lock);
	dirty_floor = bc_dirtybytes;
	mutex_exit(&dirty_lock);
}

/* Mark a busy buffer dirty (bucket lock held). */
static void
buf_dirty_locked(struct buf *bp)
{
	if (bp->b_flags & B_DIRTY)
		return;
	bp->b_flags |= B_DIRTY;
	bp->b_dirtytime = time_mono_ns();
	mutex_enter(&dirty_lock);
	rb_insert(&dirty_tree, &bp->b_dnode);
	atomic_inc(&bc_ndirty);
	atomic_add(&bc_dirtybytes, (uint64_t)bp->b_size);
	wb_arm_locked();
	wb_hurry_locked();
	mutex_exit(&dirty_lock);
}

/* Out of the dirty tree and counts, marked clean; dirty lock held. */
static void
buf_undirty_dlocked(struct buf *bp)
{
	rb_remove(&dirty_tree, &bp->b_dnode);
	atomic_add(&bc_ndirty, -(uint64_t)1);
	atomic_add(&bc_dirtybytes, -(uint64_t)bp->b_size);
	if (dirty_floor > bc_dirtybytes)
		dirty_floor = bc_dirtybytes;
	bp->b_flags &= ~B_DIRTY;
}

/* Mark clean (bucket lock held). */
static void
buf_clean_locked(struct buf *bp)
{
	if (!(bp->b_flags & B_DIRTY))
		return;
	mutex_enter(&dirty_lock);
	buf_undirty_dlocked(bp);
	mutex_exit(&dirty_lock);
}

void
bdwrite(struct buf *bp)
{
	bdwrite_checked(bp, 0);
}

void
bdwrite_checked(struct buf *bp, uint64_t mark)
{
	struct bucket *bk = bucket_of(bp);

	mutex_enter(&bk->lock);
	KASSERT(bp->b_flags & B_BUSY);
	bp->b_flags |= B_VALID;
	bp->b_checked = mark;
	buf_dirty_locked(bp);
	buf_unbusy_locked(bk, bp);
	buf_rele_locked(bp);
	mutex_exit(&bk->lock);
}

int
bwrite(struct buf *bp)
{
	struct bucket *bk = bucket_of(bp);
	int error;

	error = bdev_write(bp->b_bdev, bp->b_off, bp->b_data, bp->b_size);
	atomic_inc(&st_writes);
	mutex_enter(&bk->lock);
	bp->b_flags |= B_VALID;
	bp->b_checked = 0;
	if (error) {
		bp->b_flags |= B_ERROR;
		bp->b_error = error;
		buf_dirty_locked(bp); /* keep the data; a later sync retries */
	} else {
		bp->b_flags &= ~B_ERROR;
		buf_clean_locked(bp);
	}
	buf_unbusy_locked(bk, bp);
	buf_rele_locked(bp);
	mutex_exit(&bk->lock);
	return error;
}

void
bpin(struct buf *bp)
{
	atomic_inc(&bp->b_refcnt); /* the holder has one, so never 0 -> 1 here */
	atomic_inc(&bp->b_pinned);
}

void
bunpin(struct buf *bp)
{
	struct bucket *bk = bucket_of(bp);

	mutex_enter(&bk->lock);
	KASSERT(atomic_load_relaxed(&bp->b_pinned) > 0);
	atomic_add(&bp->b_pinned, -(uint32_t)1);
	buf_rele_locked(bp);
	mutex_exit(&bk->lock);
}

/*
 * Write back dirty buffers: of bd (NULL: all), dirty since before cutoff
 * (INT64_MAX: all), in (device, offset) order, adjacent ones in one write.
 * nowait: skip busy buffers instead of waiting for them. budget: stop after
 * about that many bytes (0: no limit).
 */
static int
buf_flush(struct bdev *bd, int64_t cutoff, bool nowait, uint64_t budget)
{
	struct buf *cl[CLUSTER_MAX];
	struct anyk_iovec iov[CLUSTER_MAX];
	struct dkey cursor = { bd != NULL ? (uintptr_t)bd : 0, 0 };
	struct rb_node *n;
	struct buf *bp;
	struct bucket *bk;
	int i, k, ncl, nbusy, error = 0, werr;
	uint64_t written = 0;
	bool aligned;

	for (;;) {
		if (budget != 0 && written >= budget)
			break;
		/* Pick a run of adjacent eligible dirty buffers. */
		ncl = 0;
		mutex_enter(&dirty_lock);
		for (n = rb_lower_bound(&dirty_tree, &cursor); n != NULL; n = rb_next(n)) {
			bp = container_of(n, struct buf, b_dnode);
			if (bd != NULL && bp->b_bdev != bd)
				break;
			if (ncl > 0 && (bp->b_bdev != cl[ncl - 1]->b_bdev ||
					bp->b_off != cl[ncl - 1]->b_off + cl[ncl - 1]->b_size ||
					bp->b_dirtytime > cutoff || atomic_load_relaxed(&bp->b_pinned) != 0))
				break;
			if (bp->b_dirtytime > cutoff || atomic_load_relaxed(&bp->b_pinned) != 0)
				continue;
			atomic_inc(&bp->b_refcnt);
			cl[ncl++] = bp;
			if (ncl == CLUSTER_MAX)
				break;
		}
		if (ncl > 0) {
			cursor.bd = (uintptr_t)cl[ncl - 1]->b_bdev;
			cursor.off = cl[ncl - 1]->b_off + cl[ncl - 1]->b_size;
		}
		mutex_exit(&dirty_lock);
		if (ncl == 0)
			break;

		/* Own them: wait for the first, try the others (waiting on a
		 * second one while holding the first could deadlock with a
		 * file system that holds both). */
		nbusy = 0;
		for (i = 0; i < ncl; i++) {
			bp = cl[i];
			bk = bucket_of(bp);
			mutex_enter(&bk->lock);
			if (i == 0 && !nowait) {
				while (bp->b_flags & B_BUSY)
					cv_wait(&bk->cv, &bk->lock);
			}
			if ((bp->b_flags & B_BUSY) || !(bp->b_flags & B_DIRTY) ||
			    atomic_load_relaxed(&bp->b_pinned) != 0) {
				mutex_exit(&bk->lock);
				break;
			}
			bp->b_flags |= B_BUSY;
			mutex_exit(&bk->lock);
			nbusy++;
		}
		/* Drop references on those left out. */
		for (k = nbusy; k < ncl; k++) {
			bp = cl[k];
			bk = bucket_of(bp);
			mutex_enter(&bk->lock);
			buf_rele_locked(bp);
			mutex_exit(&bk->lock);
		}
		if (nbusy == 0)
			continue;

		aligned = cl[0]->b_off % cl[0]->b_bdev->bd_secsize == 0;
		for (i = 0; i < nbusy; i++) {
			iov[i].iov_base = cl[i]->b_data;
			iov[i].iov_len = cl[i]->b_size;
			if (cl[i]->b_size % cl[0]->b_bdev->bd_secsize != 0)
				aligned = false;
		}
		if (aligned) {
			werr = bdev_writev(cl[0]->b_bdev, cl[0]->b_off, iov, nbusy);
		} else {
			werr = 0;
			for (i = 0; i < nbusy && werr == 0; i++)
				werr = bdev_write(cl[i]->b_bdev, cl[i]->b_off, cl[i]->b_data, cl[i]->b_size);
		}
		atomic_add(&st_writes, (uint64_t)nbusy);
		atomic_inc(&st_clusters);
		for (i = 0; i < nbusy; i++)
			written += cl[i]->b_size;
		if (werr) {
			klog(LOG_ERR, "%s: write-back error %d at byte %llu", cl[0]->b_bdev->bd_name, werr,
			     (unsigned long long)cl[0]->b_off);
			if (error == 0)
				error = werr;
		}
		for (i = 0; i < nbusy; i++) {
			bp = cl[i];
			bk = bucket_of(bp);
			mutex_enter(&bk->lock);
			if (werr) {
				bp->b_flags |= B_ERROR;
				bp->b_error = werr;
			} else {
				bp->b_flags &= ~B_ERROR;
				buf_clean_locked(bp);
			}
			buf_unbusy_locked(bk, bp);
			buf_rele_locked(bp);
			mutex_exit(&bk->lock);
		}
	}
	return error;
}

int
bsync(struct bdev *bd)
{
	int error;

	error = buf_flush(bd, INT64_MAX, false, 0);
	/* What was dirty past the bound is clean now: give it back. */
	buf_reclaim(0);
	return error;
}

/* binval on one chain; its bucket lock held. */
static void
binval_chain(struct bdev *bd, struct buf **pp)
{
	struct buf *bp;

	while ((bp = *pp) != NULL) {
		if (bp->b_bdev != bd) {
			pp = &bp->b_hnext;
			continue;
		}
		/* Under the dirty lock, so that the flusher cannot take a
		 * reference between the check and the free. */
		mutex_enter(&dirty_lock);
		if (atomic_load_relaxed(&bp->b_refcnt) != 0) {
			mutex_exit(&dirty_lock);
			klog(LOG_WARN, "bufcache: %s: block at %llu still held at invalidation", bd->bd_name,
			     (unsigned long long)bp->b_off);
			pp = &bp->b_hnext;
			continue;
		}
		if (bp->b_flags & B_DIRTY)
			buf_undirty_dlocked(bp);
		mutex_exit(&dirty_lock);
		*pp = bp->b_hnext;
		mutex_enter(&lru_lock);
		dlist_remove(&bp->b_lru);
		mutex_exit(&lru_lock);
		buf_free(bp);
	}
}

void
binval(struct bdev *bd)
{
	size_t i, c;

	for (i = 0; i < NBUCKET; i++) {
		mutex_enter(&buckets[i].lock);
		for (c = i; c < nchain; c += NBUCKET)
			binval_chain(bd, &chains[c]);
		mutex_exit(&buckets[i].lock);
	}
}

void
bufcache_purge(struct bdev *bd)
{
	if (!bc_ready)
		return;
	(void)bsync(bd);
	binval(bd);
}

/* --- periodic write-back ------------------------------------------------------------ */

static void
wb_work_fn(struct work *w)
{
	(void)buf_flush(NULL, time_mono_ns() - WB_AGE_NS, false, 0);
	mutex_enter(&dirty_lock);
	wb_armed = false;
	if (dirty_tree.count > 0)
		wb_arm_locked();
	mutex_exit(&dirty_lock);
}

/* Too much is dirty: write it all back and let the cache shrink. */
static void
wb_urgent_fn(struct work *w)
{
	(void)buf_flush(NULL, INT64_MAX, false, 0);
	buf_flush_done();
	mutex_enter(&dirty_lock);
	wb_urgent = false;
	mutex_exit(&dirty_lock);
	buf_reclaim(0);
}

static void
wb_callout_fn(void *arg)
{
	work_enqueue(&wb_work); /* I/O belongs on a worker, not the timer thread */
}

/* --- set-up, statistics ----------------------------------------------------------------- */

void
bufcache_stats(struct bufcache_stats *st)
{
	st->hits = atomic_load_relaxed(&st_hits);
	st->misses = atomic_load_relaxed(&st_misses);
	st->evictions = atomic_load_relaxed(&st_evictions);
	st->writes = atomic_load_relaxed(&st_writes);
	st->writeclusters = atomic_load_relaxed(&st_clusters);
	st->bytes = atomic_load_relaxed(&bc_bytes);
	st->nbufs = atomic_load_relaxed(&bc_nbufs);
	st->ndirty = atomic_load_relaxed(&bc_ndirty);
	st->limit = atomic_load_relaxed(&bc_limit);
	st->chains = nchain;
}

void
bufcache_setlimit(uint64_t bytes)
{
	atomic_store_relaxed(&bc_limit, bytes);
	buf_reclaim(0);
}

uint64_t
bufcache_limit(void)
{
	return atomic_load_relaxed(&bc_limit);
}

/* Charged bytes count in bc_bytes like buffers, so eviction and write-back
 * free buffers for them, but they are no buffer: they are never evicted. */
void
bufcache_charge(int64_t delta)
{
	atomic_add(&bc_bytes, (uint64_t)delta);
	if (delta > 0)
		buf_reclaim(0);
}

static void
bufcache_fini(void)
{
	struct buf *bp;
	size_t i, c;

	callout_halt(&wb_callout);
	work_cancel(&wb_work);
	work_cancel(&wb_urgent_work);
	(void)bsync(NULL);
	/* Whatever is left belongs to devices nobody will use again. */
	for (i = 0; i < NBUCKET; i++) {
		mutex_enter(&buckets[i].lock);
		for (c = i; c < nchain; c += NBUCKET) {
			while ((bp = chains[c]) != NULL) {
				chains[c] = bp->b_hnext;
				buf_clean_locked(bp);
				mutex_enter(&lru_lock);
				dlist_remove(&bp->b_lru);
				mutex_exit(&lru_lock);
				buf_free(bp);
			}
		}
		mutex_exit(&buckets[i].lock);
	}
	/* Empty now, and nobody looks until the next start. */
	if (chains != chains0)
		kmem_free(&M_BUF, chains, nchain * sizeof(*chains));
	chains = chains0;
	nchain = NBUCKET;
	mutex_enter(&dirty_lock);
	wb_armed = false;
	wb_urgent = false;
	dirty_floor = 0;
	mutex_exit(&dirty_lock);
}

static int
bufcache_init(void)
{
	uint64_t limit, memlimit;
	int i;

	if (!bc_ready) {
		for (i = 0; i < NBUCKET; i++) {
			mutex_init(&buckets[i].lock);
			cv_init(&buckets[i].cv);
		}
		mutex_init(&lru_lock);
		mutex_init(&dirty_lock);
		rb_init(&dirty_tree, dirty_cmp_nodes, dirty_cmp_key);
		bc_ready = true;
	}
	limit = param_u64("ANYK_BUFCACHE", 16ull << 20);
	memlimit = kmem_limit();
	if (memlimit != 0 && limit > memlimit / 4)
		limit = memlimit / 4;
	if (limit < 4 * BUF_MAXSIZE)
		limit = 4 * BUF_MAXSIZE;
	atomic_store_relaxed(&bc_limit, limit);
	chains_init(limit);
	callout_init(&wb_callout, wb_callout_fn, NULL);
	work_init(&wb_work, wb_work_fn);
	work_init(&wb_urgent_work, wb_urgent_fn);
	bc_hook.name = "bufcache";
	bc_hook.fn = bufcache_fini;
	shutdown_hook_register(&bc_hook);
	return 0;
}
ANYK_COMPONENT(bufcache, LEVEL_DEVSW - 5, bufcache_init);
