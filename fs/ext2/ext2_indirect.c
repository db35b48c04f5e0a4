/*
 * Changing ext2/ext3 block maps: allocating blocks (and the indirect
 * blocks on the way to them) for a hole, and freeing a range of logical
 * blocks, when a file shrinks or a hole is punched, including indirect
 * blocks that end up empty. New data blocks are taken as one contiguous
 * run per pointer block, so sequential writes stay contiguous.
 */
#include "fs/ext2/ext2.h"

/* A run of freed blocks, given back in one call when it ends. */
struct freerun {
	uint64_t start, len;
	bool meta;
};

static int
run_flush(struct ext2_mount *em, struct freerun *fr)
{
	int error = 0;

	if (fr->len > 0)
		error = ext2_bfree(em, fr->start, fr->len, fr->meta);
	fr->len = 0;
	return error;
}

static int
run_add(struct ext2_mount *em, struct ext2_inode *ip, struct freerun *fr, uint64_t blk)
{
	int error = 0;

	ip->i_blocks512 -= (uint64_t)1 << (em->em_sb.s_bshift - 9);
	if (fr->len > 0 && fr->start + fr->len == blk) {
		fr->len++;
		return 0;
	}
	error = run_flush(em, fr);
	fr->start = blk;
	fr->len = 1;
	return error;
}

/*
 * A corrupt map can point an indirect block at itself or at one above it;
 * walking down while holding the parent's buffer would then wait for a
 * buffer this thread holds.
 */
static int
on_path(struct ext2_mount *em, const struct ext2_inode *ip, const uint64_t *path, int depth, uint64_t blk)
{
	for (int i = 0; i < depth; i++)
		if (path[i] == blk)
			return ext2_corrupt(em, "inode %u: indirect block %llu maps itself or a block above it",
					    ip->i_ino, (unsigned long long)blk);
	return 0;
}

static uint64_t
goal_of(struct ext2_inode *ip)
{
	return ip->i_goal;
}

/* Fill a run of zero slots (up to want) with newly allocated blocks. */
static int
fill_slots(struct ext2_mount *em, struct ext2_inode *ip, uint8_t *slots, uint64_t idx, uint64_t nslots,
	   uint64_t want, struct ext2_map *map)
{
	uint64_t n = 0, blk, got;
	int error;

	while (idx + n < nslots && n < want && le32dec(slots + 4 * (idx + n)) == 0)
		n++;
	if (n == 0)
		return ext2_corrupt(em, "inode %u: allocating over a mapped block", ip->i_ino);
	error = ext2_balloc(em, goal_of(ip), n, &blk, &got);
	if (error)
		return error;
	if (blk + got > UINT32_MAX) {
		ext2_bfree(em, blk, got, false);
		return EFBIG;
	}
	for (uint64_t i = 0; i < got; i++)
		le32enc(slots + 4 * (idx + i), (uint32_t)(blk + i));
	ip->i_blocks512 += got << (em->em_sb.s_bshift - 9);
	ip->i_goal = blk + got;
	map->m_pblk = blk;
	map->m_len = got;
	map->m_unwritten = false;
	return 0;
}

/* A new, zeroed indirect block. */
static int
new_indirect(struct ext2_mount *em, struct ext2_inode *ip, uint64_t *blkp)
{
	struct buf *bp;
	uint64_t blk, got;
	int error;

	error = ext2_balloc(em, goal_of(ip), 1, &blk, &got);
	if (error)
		return error;
	if (blk > UINT32_MAX) {
		ext2_bfree(em, blk, 1, true);
		return EFBIG;
	}
	error = getblk(em->em_bdev, blk, em->em_bsize, &bp);
	if (error) {
		ext2_bfree(em, blk, 1, true);
		return EIO;
	}
	memset(bp->b_data, 0, em->em_bsize);
	ext2_mwrite(em, bp);
	ip->i_blocks512 += (uint64_t)1 << (em->em_sb.s_bshift - 9);
	ip->i_goal = blk + 1;
	*blkp = blk;
	return 0;
}

int
ext2_ind_alloc(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t want, struct ext2_map *map)
{
	unsigned pshift = em->em_sb.s_bshift - 2;
	uint64_t p = (uint64_t)1 << pshift, span, off = lblk, blk;
	uint64_t path[3];
	struct buf *bp = NULL, *child;
	uint8_t *slot;
	int levels, depth = 0, error = 0;

	if (off < EXT2_NDIR_BLOCKS)
		return fill_slots(em, ip, ip->i_block, off, EXT2_NDIR_BLOCKS, want, map);
	off -= EXT2_NDIR_BLOCKS;
	for (levels = 1, span = p; levels <= 3; levels++, span <<= pshift) {
		if (off < span)
			break;
		off -= span;
	}
	if (levels > 3)
		return EFBIG;
	slot = ip->i_block + 4 * (EXT2_IND_BLOCK + levels - 1);
	span >>= pshift;
	for (;;) {
		blk = le32dec(slot);
		if (blk == 0) {
			error = new_indirect(em, ip, &blk);
			if (error)
				break;
			le32enc(slot, (uint32_t)blk);
			if (bp != NULL) {
				ext2_mwrite(em, bp);
				bp = NULL;
			}
		} else {
			/* New pointers go into it: it must be this file's. */
			error = ext2_fileblocks_check(em, ip->i_ino, blk, 1);
			if (error)
				break;
		}
		/* bp is still held: reading a block already on the path would
		 * wait for ourselves. */
		error = on_path(em, ip, path, depth, blk);
		if (error)
			break;
		path[depth++] = blk;
		error = ext2_bread(em, blk, &child);
		if (error)
			break;
		if (bp != NULL)
			brelse(bp);
		bp = child;
		if (span == 1) {
			error = fill_slots(em, ip, bp->b_data, off, p, want, map);
			if (!error) {
				ext2_mwrite(em, bp);
				bp = NULL;
			}
			break;
		}
		slot = (uint8_t *)bp->b_data + 4 * (off >> ilog2_u64(span));
		off &= span - 1;
		span >>= pshift;
	}
	if (bp != NULL)
		brelse(bp);
	return error;
}

/* Free what blk's subtree maps in its relative blocks [from, to); height 1
 * points at data. *emptyp: nothing is left in it. */
static int
trunc_tree(struct ext2_mount *em, struct ext2_inode *ip, uint64_t *path, int depth, uint64_t blk, int height,
	   uint64_t from, uint64_t to, struct freerun *fr, bool *emptyp)
{
	unsigned pshift = em->em_sb.s_bshift - 2;
	uint64_t p = (uint64_t)1 << pshift, per = (uint64_t)1 << (pshift * (height - 1));
	struct buf *bp;
	bool dirty = false, empty = true;
	int error;

	if (height < 1 || height > 3 || depth < 0 || depth >= 3)
		return ext2_corrupt(em, "inode %u: block map deeper than three levels", ip->i_ino);
	error = on_path(em, ip, path, depth, blk);
	if (error)
		return error;
	path[depth] = blk;
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	for (uint64_t i = 0; i < p && !error; i++) {
		uint8_t *s = (uint8_t *)bp->b_data + 4 * i;
		uint64_t b = le32dec(s), cfrom, cto;
		bool cempty;

		if (b == 0)
			continue;
		if ((i + 1) * per <= from || i * per >= to) {
			empty = false;
			continue;
		}
		/* Never free what a corrupt pointer names as this file's
		 * but is the group's metadata. */
		error = ext2_fileblocks_check(em, ip->i_ino, b, 1);
		if (error)
			break;
		if (height == 1) {
			error = run_add(em, ip, fr, b);
			le32enc(s, 0);
			dirty = true;
			continue;
		}
		cfrom = from > i * per ? from - i * per : 0;
		cto = MIN(to - i * per, per);
		error = trunc_tree(em, ip, path, depth + 1, b, height - 1, cfrom, cto, fr, &cempty);
		if (error)
			break;
		if (cempty) {
			ip->i_blocks512 -= (uint64_t)1 << (em->em_sb.s_bshift - 9);
			error = ext2_bfree(em, b, 1, true);
			le32enc(s, 0);
			dirty = true;
		} else {
			empty = false;
		}
	}
	if (dirty)
		ext2_mwrite(em, bp);
	else
		brelse(bp);
	*emptyp = empty;
	return error;
}

int
ext2_ind_punch(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t to)
{
	unsigned pshift = em->em_sb.s_bshift - 2;
	uint64_t base = EXT2_NDIR_BLOCKS, span = (uint64_t)1 << pshift;
	struct freerun fr = { .len = 0 };
	uint64_t path[3];
	int error = 0, flush_error;

	fr.meta = ANYK_S_ISDIR(ip->i_mode) || ANYK_S_ISLNK(ip->i_mode);
	for (uint64_t i = from; i < EXT2_NDIR_BLOCKS && i < to && !error; i++) {
		uint64_t b = le32dec(ip->i_block + 4 * i);
		if (b == 0)
			continue;
		error = ext2_fileblocks_check(em, ip->i_ino, b, 1);
		if (error)
			break;
		error = run_add(em, ip, &fr, b);
		le32enc(ip->i_block + 4 * i, 0);
	}
	for (int level = 1; level <= 3 && !error; level++, base += span, span <<= pshift) {
		uint8_t *slot = ip->i_block + 4 * (EXT2_IND_BLOCK + level - 1);
		uint64_t top = le32dec(slot);
		bool empty;

		if (top == 0 || from >= base + span || to <= base)
			continue;
		error = ext2_fileblocks_check(em, ip->i_ino, top, 1);
		if (error)
			break;
		error = trunc_tree(em, ip, path, 0, top, level, from > base ? from - base : 0,
				   MIN(to - base, span), &fr, &empty);
		if (!error && empty) {
			ip->i_blocks512 -= (uint64_t)1 << (em->em_sb.s_bshift - 9);
			error = ext2_bfree(em, top, 1, true);
			le32enc(slot, 0);
		}
	}
	/* What was taken out of the map was checked: give it back even when
	 * a bad pointer stopped the walk, or it would leak. */
	flush_error = run_flush(em, &fr);
	return error ? error : flush_error;
}

int
ext2_ind_truncate(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from)
{
	return ext2_ind_punch(em, ip, from, UINT64_MAX);
}
