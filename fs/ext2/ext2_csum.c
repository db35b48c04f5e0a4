/*
 * metadata_csum checksums (crc32c) and the older gdt_csum (crc16) of group
 * descriptors. Each structure is summed with its own checksum field taken
 * as zeros; per-inode structures (extent blocks, directory blocks, htree
 * nodes) start from a seed made of the file system seed, the inode number
 * and its generation, so a block moved to another file does not verify.
 */
#include "fs/ext2/ext2.h"

static const uint8_t zeros[4];

uint32_t
ext2_sb_csum(const uint8_t *raw)
{
	return crc32c(~0u, raw, SB_CHECKSUM);
}

uint16_t
ext2_gd_csum(const struct ext2_sb *sb, uint32_t group, const uint8_t *raw)
{
	uint8_t le[4];
	uint32_t c32;
	uint16_t c16;

	le32enc(le, group);
	if (sb->s_rocompat & RO_COMPAT_METADATA_CSUM) {
		c32 = crc32c(sb->s_csum_seed, le, 4);
		c32 = crc32c(c32, raw, GD_CHECKSUM);
		c32 = crc32c(c32, zeros, 2);
		if (sb->s_desc_size > GD_CHECKSUM + 2)
			c32 = crc32c(c32, raw + GD_CHECKSUM + 2, sb->s_desc_size - GD_CHECKSUM - 2);
		return (uint16_t)c32;
	}
	c16 = crc16(0xffff, sb->s_uuid, sizeof(sb->s_uuid));
	c16 = crc16(c16, le, 4);
	c16 = crc16(c16, raw, GD_CHECKSUM);
	if ((sb->s_incompat & INCOMPAT_64BIT) && sb->s_desc_size > GD_CHECKSUM + 2)
		c16 = crc16(c16, raw + GD_CHECKSUM + 2, sb->s_desc_size - GD_CHECKSUM - 2);
	return c16;
}

uint32_t
ext2_inode_seed(const struct ext2_sb *sb, uint32_t ino, uint32_t gen)
{
	uint8_t le[4];
	uint32_t c;

	le32enc(le, ino);
	c = crc32c(sb->s_csum_seed, le, 4);
	le32enc(le, gen);
	return crc32c(c, le, 4);
}

/* The full 32-bit sum; callers compare only the low half when the inode
 * has no room for the high half. */
uint32_t
ext2_inode_csum(const struct ext2_sb *sb, uint32_t ino, uint32_t gen, const uint8_t *raw,
		uint32_t inode_size)
{
	uint32_t c = ext2_inode_seed(sb, ino, gen);
	uint32_t extra;

	c = crc32c(c, raw, I_CHECKSUM_LO);
	c = crc32c(c, zeros, 2);
	c = crc32c(c, raw + I_CHECKSUM_LO + 2, EXT2_GOOD_OLD_INODE_SIZE - I_CHECKSUM_LO - 2);
	if (inode_size <= EXT2_GOOD_OLD_INODE_SIZE)
		return c;
	extra = le16dec(raw + I_EXTRA_ISIZE);
	c = crc32c(c, raw + EXT2_GOOD_OLD_INODE_SIZE, I_CHECKSUM_HI - EXT2_GOOD_OLD_INODE_SIZE);
	if (EXT2_GOOD_OLD_INODE_SIZE + extra >= I_CHECKSUM_HI + 2) {
		c = crc32c(c, zeros, 2);
		c = crc32c(c, raw + I_CHECKSUM_HI + 2, inode_size - I_CHECKSUM_HI - 2);
	} else {
		c = crc32c(c, raw + I_CHECKSUM_HI, inode_size - I_CHECKSUM_HI);
	}
	return c;
}

/* The caller has checked the header (eh_max entries fit with the tail). */
bool
ext2_extent_csum_ok(const struct ext2_inode *ip, const uint8_t *blk, uint32_t bsize)
{
	uint32_t off = EXT4_EXT_HDR_SIZE + EXT4_EXT_ENTRY_SIZE * (uint32_t)le16dec(blk + EH_MAX);

	if (off + EXT4_EXT_TAIL_SIZE > bsize)
		return false;
	return crc32c(ip->i_csum_seed, blk, off) == le32dec(blk + off);
}

bool
ext2_dirblock_csum_ok(const struct ext2_inode *ip, const uint8_t *blk, uint32_t bsize)
{
	uint32_t off = bsize - EXT2_DIR_TAIL_SIZE;

	return crc32c(ip->i_csum_seed, blk, off) == le32dec(blk + off + DT_CSUM_OFF);
}

/* count_off: where the count/limit header starts; the caller has checked
 * that the limit entries and the tail lie inside the block. */
bool
ext2_dx_csum_ok(const struct ext2_inode *ip, const uint8_t *blk, uint32_t count_off, uint32_t count,
		uint32_t limit)
{
	const uint8_t *tail = blk + count_off + limit * DX_ENTRY_SIZE;
	uint32_t c;

	/* The entries in use, then the whole tail with its checksum as zeros. */
	c = crc32c(ip->i_csum_seed, blk, count_off + count * DX_ENTRY_SIZE);
	c = crc32c(c, tail, 4);
	c = crc32c(c, zeros, 4);
	return c == le32dec(tail + 4);
}

uint32_t
ext2_xattr_block_csum(const struct ext2_sb *sb, uint64_t blkno, const uint8_t *blk, uint32_t bsize)
{
	uint8_t le[8];
	uint32_t c;

	le64enc(le, blkno);
	c = crc32c(sb->s_csum_seed, le, 8);
	c = crc32c(c, blk, XH_CHECKSUM);
	c = crc32c(c, zeros, 4);
	return crc32c(c, blk + XH_CHECKSUM + 4, bsize - XH_CHECKSUM - 4);
}
