/*
 * fallocate on extent-mapped files (ext4): preallocation maps the holes of
 * the range to unwritten extents, which read as zeros until written, so
 * nothing is written to the data blocks; KEEP_SIZE may leave such blocks
 * past the end of file (a truncation, even to the same size, frees them).
 * Punching a hole zeroes the partial blocks at its edges in place and
 * unmaps and frees the whole blocks between; zeroing a range does the same
 * and then preallocates the whole range again.
 *
 * Collapsing a range takes its blocks out of the file and moves what
 * follows down over them; inserting one moves everything from the range on
 * up and leaves a hole. Both work on whole blocks, inside the file, and
 * move extents without touching their data.
 *
 * Files mapped by indirect blocks (ext2, ext3) can have holes punched, as
 * on Linux; preallocating, zeroing, collapsing and inserting give
 * EOPNOTSUPP, as Linux gives for them: they have no way to say "allocated
 * but unwritten", nor to move blocks without rewriting the map.
 */
#include "fs/ext2/ext2.h"

/* Map every hole among the blocks [first, last) to new unwritten blocks.
 * What was allocated before running out of space stays allocated. */
static int
alloc_unwritten(struct ext2_mount *em, struct ext2_inode *ip, uint64_t first, uint64_t last)
{
	uint64_t lblk = first, blk, got;
	struct ext2_map map;
	int error;

	while (lblk < last) {
		ext2_ext_lookup(ip, lblk, last - lblk, &map);
		if (map.m_pblk != 0) {
			lblk += map.m_len;
			continue;
		}
		error = ext2_ext_alloc_run(em, ip, lblk, map.m_len, true, &blk, &got);
		if (error)
			return error;
		lblk += got;
	}
	return 0;
}

/* mode and range as vfs.h says for VOP_FALLOCATE; ip is extent-mapped,
 * or the mode punches a hole (j_fallocate checks). */
int
ext2_fallocate(struct ext2_mount *em, struct ext2_inode *ip, int mode, uint64_t off, uint64_t len)
{
	uint32_t bsize = em->em_bsize, shift = em->em_sb.s_bshift;
	uint64_t end = off + len, first = off >> shift, last = (end - 1) >> shift;
	uint32_t head = (uint32_t)(off & (bsize - 1)), tail = (uint32_t)(end & (bsize - 1));
	uint64_t from, to;
	bool extents;
	int error, e2;

	if (em->em_rdonly)
		return EROFS;
	if (!(mode & ANYK_FALLOC_FL_PUNCH_HOLE) && end > ext2_maxfilesize(em, ip))
		return EFBIG;
	error = ext2_inline_expand(em, ip);
	if (error)
		return error;
	/* Nothing maps past the 2^32nd block: a hole there is one already. */
	if (first >= (uint64_t)1 << 32)
		return (mode & ANYK_FALLOC_FL_PUNCH_HOLE) ? 0 : EFBIG;
	last = MIN(last, ((uint64_t)1 << 32) - 1);
	/* A hole punched past the end of file stops at the end of its last
	 * 4 KiB page, as on Linux: preallocated blocks beyond stay. */
	if (mode & ANYK_FALLOC_FL_PUNCH_HOLE) {
		uint64_t eof = roundup2(ip->i_size, (uint64_t)4096);

		if (off >= eof)
			return 0;
		if (end > eof) {
			end = eof;
			tail = (uint32_t)(end & (bsize - 1));
		}
	}
	extents = (ip->i_flags & EXT4_EXTENTS_FL) != 0;
	error = extents ? ext2_ext_load(em, ip) : 0;
	if (error)
		return error;
	if (mode & (ANYK_FALLOC_FL_PUNCH_HOLE | ANYK_FALLOC_FL_ZERO_RANGE)) {
		/* The whole blocks go; those the range covers in part keep
		 * their other bytes. */
		from = howmany(off, (uint64_t)bsize);
		to = MIN(end >> shift, (uint64_t)1 << 32);
		if (from > to) {
			error = ext2_zero_part(em, ip, first, head, tail); /* inside one block */
		} else {
			error = head ? ext2_zero_part(em, ip, first, head, bsize) : 0;
			if (!error && tail)
				error = ext2_zero_part(em, ip, end >> shift, 0, tail);
			if (!error)
				error = extents ? ext2_ext_punch(em, ip, from, to) : ext2_ind_punch(em, ip, from, to);
		}
		if (error || (mode & ANYK_FALLOC_FL_PUNCH_HOLE))
			goto store;
	}
	error = alloc_unwritten(em, ip, first, last + 1);
	if (!error && !(mode & ANYK_FALLOC_FL_KEEP_SIZE) && end > ip->i_size) {
		if (end > INT32_MAX && !(em->em_sb.s_rocompat & RO_COMPAT_LARGE_FILE))
			ext2_feature_set(em, 0, RO_COMPAT_LARGE_FILE);
		ip->i_size = end;
	}
store:
	e2 = extents ? ext2_ext_store(em, ip) : 0;
	if (!error)
		error = e2;
	if (!error)
		error = ext2_inode_write(em, ip);
	return error;
}

/* COLLAPSE_RANGE or INSERT_RANGE (mode) of [off, off + len) on an
 * extent-mapped file, the range whole blocks inside the file (j_fallocate
 * checks). A collapsed range maps nothing any more (j_fallocate punched it
 * first): the extents after it move down and the size shrinks by len. An
 * inserted range splits the extent across off and moves it and those after
 * it up, and the size grows by len. */
int
ext2_shift_range(struct ext2_mount *em, struct ext2_inode *ip, int mode, uint64_t off, uint64_t len)
{
	uint64_t from = off >> em->em_sb.s_bshift, n = len >> em->em_sb.s_bshift;
	uint32_t reserve;
	int error, e2;

	if (em->em_rdonly)
		return EROFS;
	error = ext2_inline_expand(em, ip);
	if (!error)
		error = ext2_ext_load(em, ip);
	if (error)
		return error;
	if (mode & ANYK_FALLOC_FL_COLLAPSE_RANGE) {
		error = ext2_ext_collapse(em, ip, from, from + n);
		if (!error)
			ip->i_size -= len;
	} else {
		/* The split may make the tree a node bigger: room first, so
		 * that nothing has moved when there is none. */
		reserve = ext2_ext_reserve(em, ip);
		if (reserve > 0 && ext2_free_blocks(em) < reserve)
			return ENOSPC;
		error = ext2_ext_open_gap(em, ip, from, n);
		if (!error) {
			ip->i_size += len;
			if (ip->i_size > INT32_MAX && !(em->em_sb.s_rocompat & RO_COMPAT_LARGE_FILE))
				ext2_feature_set(em, 0, RO_COMPAT_LARGE_FILE);
		}
	}
	if (error)
		return error;
	e2 = ext2_ext_store(em, ip);
	return e2 ? e2 : ext2_inode_write(em, ip);
}
