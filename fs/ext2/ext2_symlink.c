/*
 * Symbolic links: a target shorter than 60 bytes lives in the inode's block
 * map area itself ("fast" link); a longer one in the file's first block,
 * found through the block map or extent tree like any file data. With
 * inline_data, a target of up to 60 bytes plus what system.data holds is
 * in the inode (ext2_inline.c).
 */
#include "fs/ext2/ext2.h"

static bool
is_fast_symlink(const struct ext2_mount *em, const struct ext2_inode *ip)
{
	uint64_t xattr512 = ip->i_file_acl != 0 ? em->em_bsize >> 9 : 0;

	/* Only an external attribute block may be charged to a fast link. */
	return ip->i_size < EXT2_I_BLOCK_SIZE && !(ip->i_flags & EXT4_EXTENTS_FL) &&
	       ip->i_blocks512 <= xattr512;
}

int
ext2_readlink(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio)
{
	struct ext2_map map;
	struct buf *bp;
	size_t len;
	int error;

	if (ext2_is_inline(ip)) {
		if (ip->i_size == 0 || ip->i_size >= ANYK_PATH_MAX)
			return ext2_corrupt(em, "symlink inode %u: size %llu invalid", ip->i_ino,
					    (unsigned long long)ip->i_size);
		return ext2_inline_move(em, ip, 0, MIN((size_t)ip->i_size, uio->uio_resid), uio);
	}
	if (is_fast_symlink(em, ip))
		return uiomove(ip->i_block, MIN((size_t)ip->i_size, uio->uio_resid), uio);
	if (ip->i_size == 0 || ip->i_size >= ANYK_PATH_MAX || ip->i_size > em->em_bsize)
		return ext2_corrupt(em, "symlink inode %u: size %llu invalid", ip->i_ino,
				    (unsigned long long)ip->i_size);
	error = ext2_bmap(em, ip, 0, 1, &map);
	if (error)
		return error;
	if (map.m_pblk == 0 || map.m_unwritten)
		return ext2_corrupt(em, "symlink inode %u: no data block", ip->i_ino);
	error = ext2_bread(em, map.m_pblk, &bp);
	if (error)
		return error;
	len = MIN((size_t)ip->i_size, uio->uio_resid);
	error = uiomove(bp->b_data, len, uio);
	brelse(bp);
	return error;
}
