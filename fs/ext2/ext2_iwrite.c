/*
 * Writing inodes back: the decoded struct ext2_inode is encoded into the
 * kept copy of the whole on-disk inode (so extended attributes in its
 * extra space and fields anyk does not interpret survive), the checksum is
 * recomputed and the copy goes into the inode table block.
 *
 * Times carry nanoseconds and two epoch bits when the inode has room for
 * the extra fields; i_blocks is in 512-byte units, or with huge_file in
 * file system blocks once it outgrows 48 bits.
 */
#include "fs/ext2/ext2.h"

void
ext2_now(struct anyk_timespec *ts)
{
	time_real(ts);
}

uint64_t
ext2_maxfilesize(const struct ext2_mount *em, const struct ext2_inode *ip)
{
	uint64_t maxlblk;

	if (ip->i_flags & EXT4_EXTENTS_FL) {
		maxlblk = ((uint64_t)1 << 32) - 1;
	} else {
		uint64_t p = em->em_bsize / 4;
		maxlblk = EXT2_NDIR_BLOCKS + p + p * p + p * p * p;
		/* i_blocks (512-byte units, 32 bits without huge_file) bounds it too. */
		maxlblk = MIN(maxlblk, ((uint64_t)1 << 32) - 1);
	}
	return MIN(maxlblk << em->em_sb.s_bshift, (uint64_t)INT64_MAX);
}

static void
encode_time(uint8_t *raw, unsigned secoff, unsigned extraoff, uint32_t used, const struct anyk_timespec *ts)
{
	le32enc(raw + secoff, (uint32_t)ts->tv_sec);
	if (extraoff == 0 || extraoff + 4 > used)
		return;
	/* Seconds beyond the signed 32-bit range go into two epoch bits. */
	uint32_t epoch = (uint32_t)(((uint64_t)(ts->tv_sec - (int64_t)(int32_t)ts->tv_sec) >> 32) & 3);
	le32enc(raw + extraoff, epoch | (uint32_t)ts->tv_nsec << 2);
}

static void
encode(const struct ext2_mount *em, const struct ext2_inode *ip, uint8_t *raw)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t used = EXT2_GOOD_OLD_INODE_SIZE;
	uint64_t blocks = ip->i_blocks512;
	uint32_t flags = ip->i_flags & ~EXT4_HUGE_FILE_FL;

	if (sb->s_inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		le16enc(raw + I_EXTRA_ISIZE, ip->i_extra_isize);
		used += ip->i_extra_isize;
	}
	le16enc(raw + I_MODE, ip->i_mode);
	le16enc(raw + I_UID_LO, (uint16_t)ip->i_uid);
	le16enc(raw + I_UID_HI, (uint16_t)(ip->i_uid >> 16));
	le16enc(raw + I_GID_LO, (uint16_t)ip->i_gid);
	le16enc(raw + I_GID_HI, (uint16_t)(ip->i_gid >> 16));
	le32enc(raw + I_SIZE_LO, (uint32_t)ip->i_size);
	le32enc(raw + I_SIZE_HI, (uint32_t)(ip->i_size >> 32));
	le16enc(raw + I_LINKS, ip->i_nlink);
	/* Atomic: an orphan's i_dtime is the next orphan, which another
	 * inode's removal from the list rewrites under em_orphan_lock, not
	 * under this inode's lock. Both go through this inode table buffer,
	 * so whichever writes it last writes the newer value. */
	le32enc(raw + I_DTIME, atomic_load_relaxed(&ip->i_dtime));
	if (blocks >> 32 == 0) {
		le32enc(raw + I_BLOCKS_LO, (uint32_t)blocks);
		le16enc(raw + I_BLOCKS_HI, 0);
	} else {
		if (blocks >> 48 != 0) {
			flags |= EXT4_HUGE_FILE_FL;
			blocks >>= sb->s_bshift - 9;
		}
		le32enc(raw + I_BLOCKS_LO, (uint32_t)blocks);
		le16enc(raw + I_BLOCKS_HI, (uint16_t)(blocks >> 32));
	}
	le32enc(raw + I_FLAGS, flags);
	le32enc(raw + I_GENERATION, ip->i_gen);
	le32enc(raw + I_FILE_ACL_LO, (uint32_t)ip->i_file_acl);
	if (sb->s_incompat & INCOMPAT_64BIT)
		le16enc(raw + I_FILE_ACL_HI, (uint16_t)(ip->i_file_acl >> 32));
	memcpy(raw + I_BLOCK, ip->i_block, EXT2_I_BLOCK_SIZE);
	encode_time(raw, I_ATIME, I_ATIME_EXTRA, used, &ip->i_atime);
	encode_time(raw, I_MTIME, I_MTIME_EXTRA, used, &ip->i_mtime);
	encode_time(raw, I_CTIME, I_CTIME_EXTRA, used, &ip->i_ctime);
	if (used >= I_CRTIME + 4)
		encode_time(raw, I_CRTIME, I_CRTIME_EXTRA, used, &ip->i_crtime);
	if ((sb->s_rocompat & RO_COMPAT_PROJECT) && used >= I_PROJID + 4)
		le32enc(raw + I_PROJID, ip->i_projid);
	if (em->em_csum) {
		uint32_t c = ext2_inode_csum(sb, ip->i_ino, ip->i_gen, raw, sb->s_inode_size);
		le16enc(raw + I_CHECKSUM_LO, (uint16_t)c);
		if (used >= I_CHECKSUM_HI + 2)
			le16enc(raw + I_CHECKSUM_HI, (uint16_t)(c >> 16));
	}
}

void
ext2_inode_init(struct ext2_mount *em, struct ext2_inode *ip, uint32_t ino, bool extents)
{
	const struct ext2_sb *sb = &em->em_sb;

	ip->i_ino = ino;
	mutex_enter(&em->em_lock);
	ip->i_gen = ++em->em_gen;
	mutex_exit(&em->em_lock);
	if (sb->s_inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		ip->i_extra_isize = (uint16_t)MIN(32u, sb->s_inode_size - EXT2_GOOD_OLD_INODE_SIZE);
		ip->i_extra_isize = MAX(ip->i_extra_isize, sb->s_min_extra_isize);
		ip->i_has_crtime = EXT2_GOOD_OLD_INODE_SIZE + ip->i_extra_isize >= I_CRTIME + 4;
	}
	if (em->em_csum)
		ip->i_csum_seed = ext2_inode_seed(sb, ino, ip->i_gen);
	if (extents && (sb->s_incompat & INCOMPAT_EXTENTS)) {
		ip->i_flags |= EXT4_EXTENTS_FL;
		le16enc(ip->i_block + EH_MAGIC, EXT4_EXT_MAGIC);
		le16enc(ip->i_block + EH_MAX, 4);
		ip->i_extloaded = true; /* an empty map */
	}
}

int
ext2_inode_write(struct ext2_mount *em, struct ext2_inode *ip)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint64_t blk;
	uint32_t off;
	struct buf *bp;
	int error;

	if (em->em_rdonly)
		return EROFS;
	error = ext2_inode_where(em, ip->i_ino, &blk, &off);
	if (error)
		return error;
	ext2_quota_inode(em, ip);
	if (ip->i_raw == NULL) {
		ip->i_raw = kmem_zalloc(&ext2_kmem, sb->s_inode_size);
		if (ip->i_raw == NULL)
			return ENOMEM;
		ip->i_rawsize = sb->s_inode_size;
	}
	/* Device numbers live in the block map area. */
	if (ANYK_S_ISCHR(ip->i_mode) || ANYK_S_ISBLK(ip->i_mode)) {
		uint32_t ma = ANYK_MAJOR(ip->i_rdev), mi = ANYK_MINOR(ip->i_rdev);

		memset(ip->i_block, 0, EXT2_I_BLOCK_SIZE);
		if (ma < 256 && mi < 256)
			le32enc(ip->i_block, ma << 8 | mi);
		else
			le32enc(ip->i_block + 4, (mi & 0xff) | (ma & 0xfff) << 8 | (mi & ~0xffu) << 12);
	}
	encode(em, ip, ip->i_raw);
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	memcpy((uint8_t *)bp->b_data + off, ip->i_raw, sb->s_inode_size);
	ext2_mwrite(em, bp);
	return 0;
}
