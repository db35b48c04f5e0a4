/*
 * The end of an inode: when its last link is gone and no vnode refers to
 * it any more, its blocks, its external attribute block (or its share of
 * one) and its inode are given back. The inode keeps its mode, with no
 * links and the deletion time set, as e2fsck expects of a freed inode.
 */
#include "fs/ext2/ext2.h"

int
ext2_xattr_block_release(struct ext2_mount *em, struct ext2_inode *ip)
{
	uint64_t blk = ip->i_file_acl;
	struct buf *bp;
	uint32_t refs;
	int error;

	if (blk == 0)
		return 0;
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	if (le32dec((uint8_t *)bp->b_data + XH_MAGIC) != EXT2_XATTR_MAGIC) {
		brelse(bp);
		return ext2_corrupt(em, "inode %u: attribute block %llu has no magic", ip->i_ino,
				    (unsigned long long)blk);
	}
	refs = le32dec((uint8_t *)bp->b_data + XH_REFCOUNT);
	if (refs > 1) {
		/* Shared with other inodes: drop this one's reference. */
		le32enc((uint8_t *)bp->b_data + XH_REFCOUNT, refs - 1);
		if (em->em_csum)
			le32enc((uint8_t *)bp->b_data + XH_CHECKSUM,
				ext2_xattr_block_csum(&em->em_sb, blk, bp->b_data, em->em_bsize));
		ext2_mwrite(em, bp);
	} else {
		brelse(bp);
		error = ext2_bfree(em, blk, 1, true);
	}
	ip->i_file_acl = 0;
	ip->i_blocks512 -= MIN(ip->i_blocks512, (uint64_t)em->em_bsize >> 9);
	return error;
}

int
ext2_inode_release(struct ext2_mount *em, struct ext2_inode *ip)
{
	struct anyk_timespec now;
	int error;

	error = ext2_orphan_remove(em, ip);
	if (!error && ext2_has_blockmap(em, ip))
		error = ext2_truncate(em, ip, 0);
	if (!error)
		error = ext2_xattr_ea_release(em, ip);
	if (!error)
		error = ext2_xattr_block_release(em, ip);
	if (error)
		return error;
	ext2_now(&now);
	ip->i_dtime = (uint32_t)now.tv_sec;
	ip->i_nlink = 0;
	ip->i_size = 0;
	error = ext2_inode_write(em, ip);
	if (!error)
		error = ext2_ifree(em, ip->i_ino, ANYK_S_ISDIR(ip->i_mode));
	return error;
}
