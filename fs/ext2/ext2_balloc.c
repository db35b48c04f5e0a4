/*
 * Block allocation. A request names a goal (usually the block after the
 * file's previous one, so sequential writers get contiguous files) and how
 * many blocks it would like; the allocator returns one contiguous run,
 * first-fit from the goal in the goal's group, then in the following
 * groups. Groups whose bitmap was never written (BLOCK_UNINIT) get one on
 * first use: their own superblock copy and descriptor blocks and every
 * group's bitmaps and inode table that lie inside them (flex_bg places
 * those away from their group) are marked in use.
 *
 * Everything here runs under em_lock.
 */
#include "fs/ext2/ext2.h"

static uint64_t
group_first(const struct ext2_mount *em, uint32_t group)
{
	return em->em_sb.s_first_data_block + (uint64_t)group * em->em_sb.s_blocks_per_group;
}

/* Blocks in the group (the last one may be short). */
static uint32_t
group_nblocks(const struct ext2_mount *em, uint32_t group)
{
	uint64_t first = group_first(em, group);

	return (uint32_t)MIN((uint64_t)em->em_sb.s_blocks_per_group, em->em_nblocks - first);
}

static void
mark_in_group(uint8_t *map, uint64_t first, uint32_t n, uint64_t blk, uint64_t len)
{
	for (uint64_t b = blk; b < blk + len; b++)
		if (b >= first && b < first + n)
			bit_set(map, (size_t)(b - first));
}

static int
bbitmap_get(struct ext2_mount *em, uint32_t group, struct buf **bpp)
{
	struct ext2_group *g = &em->em_groups[group];
	uint64_t first = group_first(em, group);
	uint32_t n = group_nblocks(em, group);
	uint64_t itblocks = (uint64_t)em->em_sb.s_inodes_per_group * em->em_sb.s_inode_size / em->em_bsize;
	uint8_t *map;
	int error;

	if (!(g->g_flags & BG_BLOCK_UNINIT))
		return ext2_bread(em, g->g_block_bitmap, bpp);
	if (!ext2_blocks_valid(em, g->g_block_bitmap, 1))
		return ext2_corrupt(em, "group %u block bitmap outside the file system", group);
	error = getblk(em->em_bdev, g->g_block_bitmap, em->em_bsize, bpp);
	if (error)
		return EIO;
	map = (*bpp)->b_data;
	memset(map, 0, em->em_bsize);
	bit_set_range(map, 0, ext2_group_overhead(em, group));
	for (uint32_t h = 0; h < em->em_sb.s_ngroups; h++) {
		const struct ext2_group *o = &em->em_groups[h];
		mark_in_group(map, first, n, o->g_block_bitmap, 1);
		mark_in_group(map, first, n, o->g_inode_bitmap, 1);
		mark_in_group(map, first, n, o->g_inode_table, itblocks);
	}
	bit_set_range(map, n, (size_t)em->em_bsize * 8 - n);
	g->g_flags &= ~BG_BLOCK_UNINIT;
	return 0;
}

/*
 * A bitmap that shows group metadata as free is corrupt, and handing
 * those blocks out would let file data overwrite a bitmap or an inode
 * table. Set the bits of the whole metadata run idx falls in (so no later
 * search stops there again) and take them off the free counts; *nextp is
 * where the search goes on. false: idx is not metadata.
 */
static bool
meta_fix(struct ext2_mount *em, uint32_t group, uint8_t *map, size_t n, size_t idx, size_t *nextp)
{
	struct ext2_group *g = &em->em_groups[group];
	uint64_t first = group_first(em, group), ms, me;
	size_t from, to, set = 0;

	if (!ext2_meta_find(em, first + idx, 1, &ms, &me))
		return false;
	from = ms > first ? (size_t)(ms - first) : 0;
	to = (size_t)MIN(me - first, (uint64_t)n);
	for (size_t i = from; i < to; i++) {
		if (!bit_test(map, i)) {
			bit_set(map, i);
			set++;
		}
	}
	ext2_corrupt(em, "group %u: block bitmap shows metadata blocks %llu-%llu free; marking them used", group,
		     (unsigned long long)(first + from), (unsigned long long)(first + to - 1));
	set = MIN(set, (size_t)g->g_free_blocks);
	g->g_free_blocks -= (uint32_t)set;
	em->em_free_blocks -= MIN((uint64_t)set, em->em_free_blocks);
	*nextp = to;
	return true;
}

/* The first block at or after start that is free in the bitmap, not
 * waiting for the commit of the transaction that freed it, and not group
 * metadata (*fixedp: the bitmap was corrected and must be written). */
static size_t
find_free(struct ext2_mount *em, uint32_t group, uint8_t *map, size_t n, size_t start, bool *fixedp)
{
	uint64_t first = group_first(em, group), end;
	size_t idx = start;

	for (;;) {
		idx = bit_find_zero(map, n, idx);
		if (idx >= n)
			return n;
		if (em->em_npfree > 0 && ext2_pfree_busy(em, first + idx, &end)) {
			idx = end > first + idx && end - first < n ? (size_t)(end - first) : n;
			continue;
		}
		if (!meta_fix(em, group, map, n, idx, &idx))
			return idx;
		*fixedp = true;
	}
}

/* Done with a group's bitmap: written back if the search corrected it. */
static void
bitmap_put(struct ext2_mount *em, uint32_t group, struct buf *bp, bool fixed)
{
	if (!fixed) {
		brelse(bp);
		return;
	}
	(void)ext2_gd_write(em, group, bp->b_data, NULL);
	ext2_mwrite(em, bp);
}

uint64_t
ext2_free_blocks(struct ext2_mount *em)
{
	uint64_t n;

	mutex_enter(&em->em_lock);
	n = em->em_free_blocks;
	mutex_exit(&em->em_lock);
	return n;
}

int
ext2_balloc(struct ext2_mount *em, uint64_t goal, uint64_t want, uint64_t *blkp, uint64_t *gotp)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t ng = sb->s_ngroups, g0, group = 0;
	struct buf *bp = NULL;
	size_t start = 0, idx = 0, len = 0, n = 0;
	uint64_t end, meta;
	bool fixed = false;
	int error = ENOSPC;

	if (want == 0)
		want = 1;
	if (goal <= sb->s_first_data_block || goal >= em->em_nblocks)
		goal = sb->s_first_data_block;
	g0 = (uint32_t)((goal - sb->s_first_data_block) / sb->s_blocks_per_group);
	mutex_enter(&em->em_lock);
	for (uint32_t i = 0; i <= ng; i++) {
		group = (g0 + i) % ng;
		if (em->em_groups[group].g_free_blocks == 0)
			continue;
		error = bbitmap_get(em, group, &bp);
		if (error)
			break;
		fixed = false;
		n = group_nblocks(em, group);
		start = i == 0 ? (size_t)(goal - group_first(em, group)) : 0;
		idx = find_free(em, group, bp->b_data, n, start, &fixed);
		if (idx >= n && start > 0)
			idx = find_free(em, group, bp->b_data, n, 0, &fixed);
		if (idx < n && em->em_groups[group].g_free_blocks > 0)
			break;
		if (idx >= n && em->em_npfree > 0 && bit_find_zero(bp->b_data, n, 0) < n) {
			/* Free, but freed by a transaction not yet committed
			 * (or metadata the bitmap wrongly shows free). */
			bitmap_put(em, group, bp, fixed);
			bp = NULL;
			error = ENOSPC;
			continue;
		}
		if (em->em_groups[group].g_free_blocks > 0)
			ext2_corrupt(em, "group %u: %u free blocks counted, none in the bitmap", group,
				     em->em_groups[group].g_free_blocks);
		em->em_free_blocks -= MIN(em->em_free_blocks, (uint64_t)em->em_groups[group].g_free_blocks);
		em->em_groups[group].g_free_blocks = 0;
		bitmap_put(em, group, bp, fixed);
		bp = NULL;
		error = ENOSPC;
	}
	if (bp == NULL || error) {
		if (bp != NULL)
			bitmap_put(em, group, bp, fixed);
		mutex_exit(&em->em_lock);
		return error ? error : ENOSPC;
	}
	for (len = 1; idx + len < n && len < want && len < em->em_groups[group].g_free_blocks; len++)
		if (bit_test(bp->b_data, idx + len))
			break;
	/* idx itself is not metadata (find_free): stop short of any. */
	if (ext2_meta_find(em, group_first(em, group) + idx, len, &meta, NULL))
		len = (size_t)(meta - group_first(em, group) - idx);
	if (em->em_npfree > 0)
		for (size_t k = 1; k < len; k++)
			if (ext2_pfree_busy(em, group_first(em, group) + idx + k, &end)) {
				len = k;
				break;
			}
	bit_set_range(bp->b_data, idx, len);
	em->em_groups[group].g_free_blocks -= (uint32_t)len;
	em->em_free_blocks -= len;
	error = ext2_gd_write(em, group, bp->b_data, NULL);
	ext2_mwrite(em, bp);
	mutex_exit(&em->em_lock);
	if (error)
		return error;
	*blkp = group_first(em, group) + idx;
	*gotp = len;
	return 0;
}

int
ext2_bfree(struct ext2_mount *em, uint64_t blk, uint64_t n, bool meta)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct buf *bp;
	uint64_t ms, me;
	int error = 0;

	if (!ext2_blocks_valid(em, blk, n))
		return ext2_corrupt(em, "freeing blocks %llu+%llu outside the file system",
				    (unsigned long long)blk, (unsigned long long)n);
	/* The last line of defence: whatever pointer led here, group
	 * metadata never goes back to the allocator. */
	if (ext2_meta_find(em, blk, n, &ms, &me))
		return ext2_corrupt(em, "freeing blocks %llu+%llu, which hold group metadata (%llu-%llu)",
				    (unsigned long long)blk, (unsigned long long)n, (unsigned long long)ms,
				    (unsigned long long)(me - 1));
	if (meta)
		for (uint64_t i = 0; i < n; i++)
			ext2_mforget(em, blk + i);
	mutex_enter(&em->em_lock);
	if (em->em_journaled)
		ext2_pfree_add(em, blk, n);
	while (n > 0 && !error) {
		uint32_t group = (uint32_t)((blk - sb->s_first_data_block) / sb->s_blocks_per_group);
		uint64_t first = group_first(em, group);
		size_t idx = (size_t)(blk - first), k = (size_t)MIN(n, group_nblocks(em, group) - idx);
		size_t freed = 0;

		error = bbitmap_get(em, group, &bp);
		if (error)
			break;
		for (size_t i = idx; i < idx + k; i++) {
			if (bit_test(bp->b_data, i)) {
				bit_clear(bp->b_data, i);
				freed++;
			}
		}
		if (freed != k)
			ext2_corrupt(em, "freeing %zu free blocks at %llu", k - freed, (unsigned long long)blk);
		em->em_groups[group].g_free_blocks += (uint32_t)freed;
		em->em_free_blocks += freed;
		error = ext2_gd_write(em, group, bp->b_data, NULL);
		ext2_mwrite(em, bp);
		blk += k;
		n -= k;
	}
	mutex_exit(&em->em_lock);
	return error;
}

/* A block that held metadata may sit dirty in the buffer cache; once it
 * is reused for file data (written around the cache) a late write-back of
 * the old contents would overwrite the data. Write it out now; a cached
 * clean copy is harmless, since metadata blocks are always set up whole
 * (getblk) before use. */
void
ext2_bforget(struct ext2_mount *em, uint64_t blk)
{
	struct buf *bp;

	if (getblk(em->em_bdev, blk, em->em_bsize, &bp) != 0)
		return;
	if (bp->b_flags & B_DIRTY)
		(void)bwrite(bp);
	else
		brelse(bp);
}
