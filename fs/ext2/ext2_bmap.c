/*
 * Block maps of ext2/ext3 files (and ext4 files without the extents flag):
 * twelve direct block numbers in the inode, then a single, a double and a
 * triple indirect block. ext2_bmap() picks this or the extent tree.
 *
 * Mapping returns runs, not single blocks, so that file reads become large
 * contiguous device reads: after the block asked for, following pointers are
 * scanned while they continue the run (physically adjacent, or all zero for
 * a hole), up to the end of the pointer block. Every non-zero pointer is
 * checked against the file system and its group metadata before it is used
 * or followed.
 */
#include "fs/ext2/ext2.h"

/* Extend a run through the pointers ptrs[idx..n) (little-endian words). */
static int
scan_run(struct ext2_mount *em, struct ext2_inode *ip, const uint8_t *ptrs, uint64_t idx, uint64_t n,
	 uint64_t maxrun, struct ext2_map *map)
{
	uint64_t first = le32dec(ptrs + 4 * idx), len = 1, meta;
	int error;

	while (idx + len < n && len < maxrun) {
		uint64_t b = le32dec(ptrs + 4 * (idx + len));

		if (first == 0 ? b != 0 : b != first + len)
			break;
		len++;
	}
	if (first != 0) {
		/* A run that reaches metadata only further on still maps
		 * its start; the next call reports the rest. */
		if (ext2_meta_find(em, first, len, &meta, NULL) && meta > first)
			len = meta - first;
		error = ext2_fileblocks_check(em, ip->i_ino, first, len);
		if (error)
			return error;
	}
	map->m_pblk = first;
	map->m_len = len;
	map->m_unwritten = false;
	return 0;
}

int
ext2_bmap_indirect(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun,
		   struct ext2_map *map)
{
	unsigned pshift = em->em_sb.s_bshift - 2;
	uint64_t p = (uint64_t)1 << pshift, span, off = lblk, blk;
	struct buf *bp = NULL;
	int levels, error = 0;

	if (maxrun == 0)
		maxrun = 1;
	if (off < EXT2_NDIR_BLOCKS)
		return scan_run(em, ip, ip->i_block, off, EXT2_NDIR_BLOCKS, maxrun, map);
	off -= EXT2_NDIR_BLOCKS;
	/* Find the tree (single, double, triple) and the offset within it. */
	for (levels = 1, span = p; levels <= 3; levels++, span <<= pshift) {
		if (off < span)
			break;
		off -= span;
	}
	if (levels > 3) {
		map->m_pblk = 0;
		map->m_len = 1;
		map->m_unwritten = false;
		return 0;
	}
	blk = le32dec(ip->i_block + 4 * (EXT2_IND_BLOCK + levels - 1));
	/* Walk down; span is the blocks each pointer at this level covers. */
	span >>= pshift;
	for (;;) {
		if (blk == 0) {
			/* A missing subtree is a hole to its end. */
			map->m_pblk = 0;
			map->m_len = MIN(span * p - off, maxrun);
			map->m_unwritten = false;
			break;
		}
		if (bp != NULL) {
			brelse(bp);
			bp = NULL;
		}
		error = ext2_fileblocks_check(em, ip->i_ino, blk, 1);
		if (error)
			break;
		error = ext2_bread(em, blk, &bp);
		if (error)
			break;
		if (span == 1) {
			error = scan_run(em, ip, bp->b_data, off, p, maxrun, map);
			break;
		}
		blk = le32dec((const uint8_t *)bp->b_data + 4 * (off >> (ilog2_u64(span))));
		off &= span - 1;
		span >>= pshift;
	}
	if (bp != NULL)
		brelse(bp);
	return error;
}

int
ext2_bmap(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun, struct ext2_map *map)
{
	if (maxrun == 0)
		maxrun = 1;
	/* i_block holds data, not block numbers (ext2_inline.c). */
	if (ext2_is_inline(ip))
		return ext2_corrupt(em, "inode %u: inline data has no block map", ip->i_ino);
	/* A file being written has its extents in memory, ahead of the tree. */
	if (ip->i_extloaded)
		return ext2_ext_lookup(ip, lblk, maxrun, map);
	if (ip->i_flags & EXT4_EXTENTS_FL)
		return ext2_extent_map(em, ip, lblk, maxrun, map);
	return ext2_bmap_indirect(em, ip, lblk, maxrun, map);
}
