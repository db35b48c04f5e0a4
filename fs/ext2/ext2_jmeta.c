/*
 * The write path's side of the journal (ext2_jtrans.c): metadata buffers
 * join the calling thread's handle, freed metadata blocks are revoked, and
 * blocks freed by a transaction stay out of the allocator until it has
 * committed.
 *
 * Handles are taken at the vnode-operation level (ext2_vnops.c), one per
 * system call, after the VFS has taken the vnode locks, sized by the table
 * of ext2_jop_blocks. The helpers here run deep inside those operations,
 * often holding em_lock and a buffer, so they only join the handle the
 * thread already has (ext2_jcurrent): its begin reserved their blocks, and
 * a nested begin per buffer change would add a credit each time, even for
 * a block already in the transaction, inflating the reservation that
 * decides when the transaction commits. On mounts without a journal every
 * handle is NULL and the helpers behave as before (write in place,
 * ext2_bforget).
 *
 * Why freed blocks wait: a block freed by transaction T may still be
 * referenced by the metadata on disk (or in the log) until T commits. If
 * it were reused as file data, which is written to the device at once
 * (ordered mode), a crash before T commits would leave the old owner
 * pointing at the new data. A block freed while T runs is safe once T has
 * committed. Commits are ordered, so when the journal has counted two more
 * commits than it had when the block was freed, T (or a later one that
 * includes it) is on disk: at most one older transaction can be committing
 * when T is running.
 */
#include "fs/ext2/ext2_journal.h"

/* Blocks freed by a transaction that has not yet committed. */
struct ext2_pfree {
	uint64_t pf_blk;
	uint64_t pf_len;
	uint64_t pf_commits; /* the journal's commit count when freed */
};

/* A change outside any operation's handle (none is expected on a
 * journaled mount) still goes through the journal, in a handle of its own. */
void
ext2_mwrite_checked(struct ext2_mount *em, struct buf *bp, uint64_t mark)
{
	struct ext2_jhandle *h = ext2_jcurrent(em);

	if (h != NULL) {
		(void)ext2_jdirty(h, bp);
	} else if (ext2_jbegin(em, 1, &h) == 0) {
		(void)ext2_jdirty(h, bp);
		(void)ext2_jend(h);
	}
	bdwrite_checked(bp, mark);
}

void
ext2_mwrite(struct ext2_mount *em, struct buf *bp)
{
	ext2_mwrite_checked(em, bp, 0);
}

void
ext2_mforget(struct ext2_mount *em, uint64_t blk)
{
	struct ext2_jhandle *h = ext2_jcurrent(em);

	if (h != NULL) {
		(void)ext2_jrevoke(h, blk);
		return;
	}
	if (ext2_jbegin(em, 1, &h) == 0 && h != NULL) {
		(void)ext2_jrevoke(h, blk);
		(void)ext2_jend(h);
		return;
	}
	ext2_bforget(em, blk);
}

int
ext2_jstart(struct ext2_mount *em, uint64_t n, struct ext2_jhandle **hp)
{
	struct ext2_jinfo ji;
	uint64_t cap;

	*hp = NULL;
	if (em->em_rdonly)
		return 0;
	/* The transaction bound of ext2_jtrans.c (by the log and the buffer
	 * cache). Larger changes (truncating a file of many gigabytes mapped
	 * by indirect blocks) run beyond what they reserved, which the log's
	 * slack above the checkpoint threshold absorbs. */
	if (ext2_jinfo(em, &ji) == 0) {
		cap = MAX(ji.ji_maxtrans, 1u);
		n = MIN(n, cap);
	}
	return ext2_jbegin(em, (uint32_t)MAX(n, 1u), hp);
}

uint64_t
ext2_jcost(struct ext2_mount *em, uint64_t nblocks)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint64_t per = em->em_bsize / 4;

	/* Indirect blocks (or extent leaves, fewer), two bitmap blocks and a
	 * descriptor block per group spanned, the inode and the tree's upper
	 * levels. */
	return 8 + 2 * (nblocks / per + 1) + 3 * (nblocks / sb->s_blocks_per_group + 2);
}

/* Distinct metadata blocks of each operation, before its file bytes. */
static const uint32_t jop_base[EXT2_JOP_COUNT] = {
	[EXT2_JOP_IWRITE] = 1,
	[EXT2_JOP_SETATTR] = 4,
	[EXT2_JOP_NAME] = 32,
	[EXT2_JOP_CREATE] = 48,
	[EXT2_JOP_RENAME] = 96,
	[EXT2_JOP_XATTR] = 16,
	[EXT2_JOP_FILE] = 0,
	[EXT2_JOP_RELEASE] = 16,
};

uint64_t
ext2_jop_blocks(struct ext2_mount *em, enum ext2_jop op, uint64_t bytes)
{
	uint64_t n;

	if ((unsigned)op >= EXT2_JOP_COUNT)
		return 1;
	n = jop_base[op];
	/* The inode, its extent tree or block map, and the bitmaps of the
	 * blocks mapped or freed. */
	if (op == EXT2_JOP_FILE || op == EXT2_JOP_RELEASE)
		n += 16 + ext2_jcost(em, bytes / em->em_bsize + 2);
	return n;
}

int
ext2_jop_begin(struct ext2_mount *em, enum ext2_jop op, uint64_t bytes, struct ext2_jhandle **hp)
{
	return ext2_jstart(em, ext2_jop_blocks(em, op, bytes), hp);
}

int
ext2_jop_end(struct ext2_jhandle *h, int error)
{
	int e2 = ext2_jend(h);

	return error ? error : e2;
}

/* em_lock held. Forget the entries whose transaction has committed. */
static void
pfree_prune(struct ext2_mount *em)
{
	struct ext2_jinfo ji;
	uint32_t i, k = 0;

	if (em->em_npfree == 0)
		return;
	if (ext2_jinfo(em, &ji) != 0) {
		em->em_npfree = 0; /* the journal is gone: nothing to wait for */
		return;
	}
	for (i = 0; i < em->em_npfree; i++)
		if (ji.ji_commits < em->em_pfree[i].pf_commits + 2)
			em->em_pfree[k++] = em->em_pfree[i];
	em->em_npfree = k;
}

/* em_lock held: blocks blk..blk+len-1 were freed in the running handle. */
void
ext2_pfree_add(struct ext2_mount *em, uint64_t blk, uint64_t len)
{
	struct ext2_jinfo ji;
	struct ext2_pfree *n;
	uint32_t cap;

	if (len == 0 || ext2_jinfo(em, &ji) != 0)
		return;
	pfree_prune(em);
	if (em->em_npfree == em->em_pfcap) {
		cap = em->em_pfcap ? em->em_pfcap * 2 : 64;
		n = kmem_alloc(&ext2_kmem, (size_t)cap * sizeof(*n));
		if (n == NULL) {
			/* No room to remember them: they are reusable at
			 * once, which only a crash before the commit shows. */
			return;
		}
		if (em->em_npfree > 0)
			memcpy(n, em->em_pfree, (size_t)em->em_npfree * sizeof(*n));
		if (em->em_pfree != NULL)
			kmem_free(&ext2_kmem, em->em_pfree, (size_t)em->em_pfcap * sizeof(*n));
		em->em_pfree = n;
		em->em_pfcap = cap;
	}
	em->em_pfree[em->em_npfree].pf_blk = blk;
	em->em_pfree[em->em_npfree].pf_len = len;
	em->em_pfree[em->em_npfree].pf_commits = ji.ji_commits;
	em->em_npfree++;
}

/* em_lock held. If blk is waiting for a commit, the first block after its
 * run that is not (*endp) and true. */
bool
ext2_pfree_busy(struct ext2_mount *em, uint64_t blk, uint64_t *endp)
{
	bool busy = false;
	uint64_t end = blk;

	pfree_prune(em);
	for (uint32_t i = 0; i < em->em_npfree; i++) {
		const struct ext2_pfree *p = &em->em_pfree[i];

		if (end >= p->pf_blk && end < p->pf_blk + p->pf_len) {
			end = p->pf_blk + p->pf_len;
			busy = true;
			i = UINT32_MAX; /* runs may touch: look again from the start */
		}
	}
	*endp = end;
	return busy;
}

/*
 * An operation ended (its handle closed) with error. If that is ENOSPC
 * while blocks freed by transactions not yet committed wait to be reused,
 * commit, and say that the operation should run once more; *tries counts,
 * so that it runs at most twice. After the commit, a journal with nothing
 * running and nothing committing has every free on disk (em_lock, which
 * every free takes to be recorded, keeps new ones out while the list is
 * emptied); else a second commit takes in the transaction that may have
 * started meanwhile, and the count of commits frees the rest.
 */
bool
ext2_jretry(struct ext2_mount *em, int error, int *tries)
{
	uint32_t waiting;

	if (error != ENOSPC || (*tries)++ > 0 || !em->em_journaled)
		return false;
	mutex_enter(&em->em_lock);
	waiting = em->em_npfree;
	mutex_exit(&em->em_lock);
	if (waiting == 0 || ext2_jcommit(em, true) != 0)
		return false;
	mutex_enter(&em->em_lock);
	if (ext2_jidle(em))
		em->em_npfree = 0;
	waiting = em->em_npfree;
	mutex_exit(&em->em_lock);
	if (waiting > 0 && ext2_jcommit(em, true) != 0)
		return false;
	return true;
}

void
ext2_pfree_destroy(struct ext2_mount *em)
{
	if (em->em_pfree != NULL)
		kmem_free(&ext2_kmem, em->em_pfree, (size_t)em->em_pfcap * sizeof(struct ext2_pfree));
	em->em_pfree = NULL;
	em->em_npfree = em->em_pfcap = 0;
}
