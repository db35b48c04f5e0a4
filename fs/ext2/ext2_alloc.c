/*
 * Allocation state shared by the whole mount: inode allocation (which group
 * a new inode goes to, and its bit in the inode bitmap), writing group
 * descriptors back with their checksums, and the primary superblock (free
 * counts, state, times, features).
 *
 * Directories are spread (Orlov-style): top-level directories go to the
 * group with the most free blocks among those with at least the average
 * number of free inodes, starting from a rotor so that they are not all
 * crowded at the start; deeper directories prefer their parent's group
 * while it still has room. Files go to their parent's group, then nearby
 * groups, so that a directory's files share bitmaps and stay close.
 *
 * Everything here runs under em_lock.
 */
#include "fs/ext2/ext2.h"

void
ext2_feature_set(struct ext2_mount *em, uint32_t compat, uint32_t rocompat)
{
	mutex_enter(&em->em_lock);
	em->em_sb.s_compat |= compat;
	em->em_sb.s_rocompat |= rocompat;
	mutex_exit(&em->em_lock);
}

/* Encode group g's changing fields into its descriptor, with the bitmap
 * checksums of the bitmaps given (NULL: unchanged). */
int
ext2_gd_write(struct ext2_mount *em, uint32_t group, const uint8_t *bbitmap, const uint8_t *ibitmap)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct ext2_group *g = &em->em_groups[group];
	bool wide = (sb->s_incompat & INCOMPAT_64BIT) && sb->s_desc_size >= EXT2_MIN_DESC_SIZE_64BIT;
	struct buf *bp;
	uint8_t *raw;
	uint32_t off, c;
	int error;

	error = ext2_bread(em, ext2_gd_location(sb, group, &off), &bp);
	if (error)
		return error;
	raw = (uint8_t *)bp->b_data + off;
	le16enc(raw + GD_FREE_BLOCKS_LO, (uint16_t)g->g_free_blocks);
	le16enc(raw + GD_FREE_INODES_LO, (uint16_t)g->g_free_inodes);
	le16enc(raw + GD_USED_DIRS_LO, (uint16_t)g->g_used_dirs);
	le16enc(raw + GD_ITABLE_UNUSED_LO, (uint16_t)g->g_itable_unused);
	le16enc(raw + GD_FLAGS, g->g_flags);
	if (wide) {
		le16enc(raw + GD_FREE_BLOCKS_HI, (uint16_t)(g->g_free_blocks >> 16));
		le16enc(raw + GD_FREE_INODES_HI, (uint16_t)(g->g_free_inodes >> 16));
		le16enc(raw + GD_USED_DIRS_HI, (uint16_t)(g->g_used_dirs >> 16));
		le16enc(raw + GD_ITABLE_UNUSED_HI, (uint16_t)(g->g_itable_unused >> 16));
	}
	if (em->em_csum && bbitmap != NULL) {
		c = crc32c(sb->s_csum_seed, bbitmap, sb->s_blocks_per_group / 8);
		le16enc(raw + GD_BLOCK_BITMAP_CSUM_LO, (uint16_t)c);
		if (wide)
			le16enc(raw + GD_BLOCK_BITMAP_CSUM_HI, (uint16_t)(c >> 16));
	}
	if (em->em_csum && ibitmap != NULL) {
		c = crc32c(sb->s_csum_seed, ibitmap, sb->s_inodes_per_group / 8);
		le16enc(raw + GD_INODE_BITMAP_CSUM_LO, (uint16_t)c);
		if (wide)
			le16enc(raw + GD_INODE_BITMAP_CSUM_HI, (uint16_t)(c >> 16));
	}
	if (em->em_csum || em->em_gdtcsum)
		le16enc(raw + GD_CHECKSUM, ext2_gd_csum(sb, group, raw));
	ext2_mwrite(em, bp);
	return 0;
}

/* The inode bitmap of a group, made valid first if the group never had
 * one (INODE_UNINIT): all free, the padding past the group's inodes set. */
static int
ibitmap_get(struct ext2_mount *em, uint32_t group, struct buf **bpp)
{
	struct ext2_group *g = &em->em_groups[group];
	uint32_t ipg = em->em_sb.s_inodes_per_group;
	int error;

	if (!(g->g_flags & BG_INODE_UNINIT))
		return ext2_bread(em, g->g_inode_bitmap, bpp);
	if (!ext2_blocks_valid(em, g->g_inode_bitmap, 1))
		return ext2_corrupt(em, "group %u inode bitmap outside the file system", group);
	error = getblk(em->em_bdev, g->g_inode_bitmap, em->em_bsize, bpp);
	if (error)
		return EIO;
	memset((*bpp)->b_data, 0, em->em_bsize);
	bit_set_range((*bpp)->b_data, ipg, (size_t)em->em_bsize * 8 - ipg);
	g->g_flags &= ~BG_INODE_UNINIT;
	return 0;
}

/* Pick a group for a new inode; UINT32_MAX if none has a free inode. */
static uint32_t
pick_group(struct ext2_mount *em, uint32_t parent, bool isdir)
{
	uint32_t ng = em->em_sb.s_ngroups, pg = (parent - 1) / em->em_sb.s_inodes_per_group;
	uint64_t avg_inodes = em->em_free_inodes / ng, avg_blocks = em->em_free_blocks / ng;
	uint32_t best = UINT32_MAX, start;
	struct ext2_group *g;

	if (isdir && (parent == EXT2_ROOT_INO || em->em_groups[pg].g_free_inodes < avg_inodes ||
		      em->em_groups[pg].g_free_blocks < avg_blocks)) {
		start = em->em_dir_rotor++ % ng;
		for (uint32_t i = 0; i < ng; i++) {
			g = &em->em_groups[(start + i) % ng];
			if (g->g_free_inodes == 0 || g->g_free_inodes < avg_inodes)
				continue;
			if (best == UINT32_MAX || g->g_free_blocks > em->em_groups[best].g_free_blocks)
				best = (start + i) % ng;
		}
		if (best != UINT32_MAX)
			return best;
	}
	if (em->em_groups[pg].g_free_inodes > 0)
		return pg;
	/* Nearby groups first (quadratic steps), then every group. */
	for (uint32_t step = 1; step < ng; step <<= 1) {
		uint32_t gi = (pg + step) % ng;
		if (em->em_groups[gi].g_free_inodes > 0)
			return gi;
	}
	for (uint32_t i = 1; i <= ng; i++) {
		uint32_t gi = (pg + i) % ng;
		if (em->em_groups[gi].g_free_inodes > 0)
			return gi;
	}
	return UINT32_MAX;
}

int
ext2_ialloc(struct ext2_mount *em, uint32_t parent, bool isdir, uint32_t *inop, bool *initp)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t ipg = sb->s_inodes_per_group, group, idx = 0, tries;
	struct ext2_group *g;
	struct buf *bp = NULL;
	bool uninit = false;
	int error = ENOSPC;

	*initp = false;
	mutex_enter(&em->em_lock);
	for (tries = 0; tries < sb->s_ngroups; tries++) {
		group = pick_group(em, parent, isdir);
		if (group == UINT32_MAX)
			break;
		g = &em->em_groups[group];
		uninit = (g->g_flags & BG_INODE_UNINIT) != 0;
		error = ibitmap_get(em, group, &bp);
		if (error)
			break;
		/* Bit i is inode i + 1: in group 0, the first bit that may be
		 * handed out is that of s_first_ino (at least 11, checked at
		 * mount), below it are the reserved inodes. */
		uint32_t first = group == 0 ? sb->s_first_ino - 1 : 0;
		idx = (uint32_t)bit_find_zero(bp->b_data, ipg, MAX(first, g->g_ib_next));
		if (idx >= ipg)
			idx = (uint32_t)bit_find_zero(bp->b_data, ipg, first);
		if (idx < ipg)
			break;
		/* The count said free, the bitmap says full: believe the bitmap. */
		ext2_corrupt(em, "group %u: %u free inodes counted, none in the bitmap", group,
			     g->g_free_inodes);
		em->em_free_inodes -= g->g_free_inodes;
		g->g_free_inodes = 0;
		brelse(bp);
		bp = NULL;
		error = ENOSPC;
	}
	if (bp == NULL || error) {
		if (bp != NULL)
			brelse(bp);
		mutex_exit(&em->em_lock);
		return error ? error : ENOSPC;
	}
	/* With group checksums, a table is written only up to itable_unused
	 * (none of it in an INODE_UNINIT group): past that, the disk may hold
	 * anything, and nothing there says whether the inode is free. */
	*initp = !uninit && !((em->em_csum || em->em_gdtcsum) && idx >= ipg - MIN(g->g_itable_unused, ipg));
	bit_set(bp->b_data, idx);
	g->g_ib_next = idx + 1;
	g->g_free_inodes--;
	em->em_free_inodes--;
	if (isdir)
		g->g_used_dirs++;
	if ((em->em_csum || em->em_gdtcsum) && idx >= ipg - g->g_itable_unused)
		g->g_itable_unused = ipg - idx - 1;
	error = ext2_gd_write(em, group, NULL, bp->b_data);
	ext2_mwrite(em, bp);
	mutex_exit(&em->em_lock);
	if (error)
		return error;
	*inop = group * ipg + idx + 1;
	return 0;
}

int
ext2_ifree(struct ext2_mount *em, uint32_t ino, bool isdir)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t group, idx;
	struct ext2_group *g;
	struct buf *bp;
	int error;

	if (ino < sb->s_first_ino || ino > sb->s_inodes_count)
		return ext2_corrupt(em, "freeing reserved or invalid inode %u", ino);
	group = (ino - 1) / sb->s_inodes_per_group;
	idx = (ino - 1) % sb->s_inodes_per_group;
	g = &em->em_groups[group];
	mutex_enter(&em->em_lock);
	error = ibitmap_get(em, group, &bp);
	if (error)
		goto out;
	if (!bit_test(bp->b_data, idx)) {
		brelse(bp);
		error = ext2_corrupt(em, "freeing free inode %u", ino);
		goto out;
	}
	bit_clear(bp->b_data, idx);
	g->g_free_inodes++;
	em->em_free_inodes++;
	if (isdir && g->g_used_dirs > 0)
		g->g_used_dirs--;
	if (idx < g->g_ib_next)
		g->g_ib_next = idx;
	error = ext2_gd_write(em, group, NULL, bp->b_data);
	ext2_mwrite(em, bp);
out:
	mutex_exit(&em->em_lock);
	return error;
}

/* Is the inode marked in use in its bitmap? */
int
ext2_inode_inuse(struct ext2_mount *em, uint32_t ino, bool *inusep)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t group, idx;
	struct buf *bp;
	int error;

	if (ino == 0 || ino > sb->s_inodes_count)
		return EINVAL;
	group = (ino - 1) / sb->s_inodes_per_group;
	idx = (ino - 1) % sb->s_inodes_per_group;
	mutex_enter(&em->em_lock);
	error = ibitmap_get(em, group, &bp);
	if (!error) {
		*inusep = bit_test(bp->b_data, idx);
		brelse(bp);
	}
	mutex_exit(&em->em_lock);
	return error;
}

/*
 * The primary superblock, from em_sbraw with the counts from the groups
 * and the state (clean: what was found at mount; else "not clean" while
 * mounted). It goes through the buffer cache, so that every copy of its
 * block is the same: written at once (ext2_sb_write, at mount, unmount
 * and when no transaction holds the block) or as a change of the running
 * transaction, with the other metadata it goes with (ext2_sb_update: the
 * orphan list's head, after an unlink, is then in the same commit as the
 * inode it names, and costs no write of its own).
 */
static int
sb_put(struct ext2_mount *em, bool clean, bool at_once)
{
	uint64_t blk = EXT2_SB_OFFSET / em->em_bsize;
	uint32_t off = EXT2_SB_OFFSET % em->em_bsize;
	uint8_t *raw = em->em_sbraw;
	struct anyk_timespec now;
	struct buf *bp;
	uint16_t state;
	int error;

	if (raw == NULL)
		return 0;
	error = bread(em->em_bdev, blk, em->em_bsize, &bp);
	if (error) {
		klog(LOG_ERR, "ext2 %s: superblock read error %d", em->em_name, error);
		return EIO;
	}
	ext2_now(&now);
	mutex_enter(&em->em_lock);
	le32enc(raw + SB_FREE_BLOCKS_LO, (uint32_t)em->em_free_blocks);
	if (em->em_sb.s_incompat & INCOMPAT_64BIT)
		le32enc(raw + SB_FREE_BLOCKS_HI, (uint32_t)(em->em_free_blocks >> 32));
	le32enc(raw + SB_FREE_INODES, (uint32_t)em->em_free_inodes);
	le32enc(raw + SB_WTIME, (uint32_t)now.tv_sec);
	state = clean ? em->em_state : (uint16_t)(em->em_state & ~EXT2_STATE_VALID);
	le16enc(raw + SB_STATE, state);
	if (em->em_sb.s_rev != EXT2_REV_GOOD_OLD) {
		le32enc(raw + SB_FEATURE_COMPAT, em->em_sb.s_compat);
		le32enc(raw + SB_FEATURE_RO_COMPAT, em->em_sb.s_rocompat);
	}
	if (em->em_csum)
		le32enc(raw + SB_CHECKSUM, ext2_sb_csum(raw));
	memcpy((uint8_t *)bp->b_data + off, raw, EXT2_SB_SIZE);
	mutex_exit(&em->em_lock);
	if (!at_once) {
		ext2_mwrite(em, bp);
		return 0;
	}
	error = bwrite(bp);
	if (error) {
		klog(LOG_ERR, "ext2 %s: superblock write error %d", em->em_name, error);
		return EIO;
	}
	return 0;
}

int
ext2_sb_write(struct ext2_mount *em, bool clean)
{
	return sb_put(em, clean, true);
}

int
ext2_sb_update(struct ext2_mount *em)
{
	return sb_put(em, false, false);
}

/* Read-write mount: keep the superblock, count what is free, mark the file
 * system in use (a crash leaves it "not clean", so e2fsck checks it). */
int
ext2_rw_setup(struct ext2_mount *em)
{
	uint8_t *raw;
	struct anyk_timespec now;
	int error;

	raw = kmem_alloc(&ext2_kmem, EXT2_SB_SIZE);
	if (raw == NULL)
		return ENOMEM;
	error = bdev_read(em->em_bdev, EXT2_SB_OFFSET, raw, EXT2_SB_SIZE);
	if (error) {
		kmem_free(&ext2_kmem, raw, EXT2_SB_SIZE);
		return EIO;
	}
	em->em_sbraw = raw;
	em->em_state = em->em_sb.s_state;
	em->em_free_blocks = 0;
	em->em_free_inodes = 0;
	for (uint32_t g = 0; g < em->em_sb.s_ngroups; g++) {
		em->em_free_blocks += em->em_groups[g].g_free_blocks;
		em->em_free_inodes += em->em_groups[g].g_free_inodes;
	}
	if (em->em_free_blocks > em->em_nblocks || em->em_free_inodes > em->em_sb.s_inodes_count)
		return ext2_corrupt(em, "group free counts exceed the totals");
	ext2_now(&now);
	em->em_gen = (uint32_t)now.tv_sec ^ (uint32_t)now.tv_nsec;
	le32enc(raw + SB_MTIME, (uint32_t)now.tv_sec);
	le16enc(raw + SB_MNT_COUNT, (uint16_t)(le16dec(raw + SB_MNT_COUNT) + 1));
	error = ext2_sb_write(em, false);
	if (!error)
		error = bdev_flush(em->em_bdev);
	return error;
}
