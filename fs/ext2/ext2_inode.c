/*
 * Inodes: finding one in its group's inode table, checking it (checksum,
 * type, link count, extra size, file size, block map header, or inline
 * data: ext2_inline.c) and decoding it into struct ext2_inode. The whole
 * on-disk inode is kept as well, for the extended attributes that live in
 * its extra space and the inline data kept there.
 */
#include "fs/ext2/ext2.h"

#define WHY(...) ksnprintf(why, whylen, __VA_ARGS__)

static void
decode_time(const uint8_t *raw, unsigned secoff, unsigned extraoff, uint32_t isize_used,
	    struct anyk_timespec *ts)
{
	uint32_t extra;

	ts->tv_sec = (int32_t)le32dec(raw + secoff);
	ts->tv_nsec = 0;
	if (extraoff == 0 || extraoff + 4 > isize_used)
		return;
	extra = le32dec(raw + extraoff);
	/* Two epoch bits extend the signed 32-bit seconds past 2038. */
	ts->tv_sec += (int64_t)(extra & 3) << 32;
	ts->tv_nsec = extra >> 2;
	if (ts->tv_nsec >= 1000000000)
		ts->tv_nsec = 0;
}

static bool
mode_type_ok(uint16_t mode)
{
	switch (mode & EXT2_S_IFMT) {
	case ANYK_S_IFREG:
	case ANYK_S_IFDIR:
	case ANYK_S_IFLNK:
	case ANYK_S_IFCHR:
	case ANYK_S_IFBLK:
	case ANYK_S_IFIFO:
	case ANYK_S_IFSOCK:
		return true;
	default:
		return false;
	}
}

int
ext2_inode_decode(const struct ext2_sb *sb, uint32_t ino, const uint8_t *raw, struct ext2_inode *ip,
		  char *why, size_t whylen)
{
	uint32_t isize = sb->s_inode_size, used = EXT2_GOOD_OLD_INODE_SIZE;
	uint64_t maxlblk;
	uint16_t type;

	memset(ip, 0, sizeof(*ip));
	ip->i_ino = ino;
	ip->i_gen = le32dec(raw + I_GENERATION);
	if (isize > EXT2_GOOD_OLD_INODE_SIZE) {
		ip->i_extra_isize = le16dec(raw + I_EXTRA_ISIZE);
		if (ip->i_extra_isize > isize - EXT2_GOOD_OLD_INODE_SIZE || (ip->i_extra_isize & 3)) {
			WHY("extra inode size %u invalid", ip->i_extra_isize);
			return EUCLEAN;
		}
		used += ip->i_extra_isize;
	}
	if (sb->s_rocompat & RO_COMPAT_METADATA_CSUM) {
		uint32_t want = ext2_inode_csum(sb, ino, ip->i_gen, raw, isize);
		uint32_t have = le16dec(raw + I_CHECKSUM_LO);

		if (used >= I_CHECKSUM_HI + 2)
			have |= (uint32_t)le16dec(raw + I_CHECKSUM_HI) << 16;
		else
			want &= 0xffff;
		if (want != have) {
			WHY("checksum %#x, computed %#x", have, want);
			return EUCLEAN;
		}
		ip->i_csum_seed = ext2_inode_seed(sb, ino, ip->i_gen);
	}
	ip->i_mode = le16dec(raw + I_MODE);
	ip->i_nlink = le16dec(raw + I_LINKS);
	type = ip->i_mode & EXT2_S_IFMT;
	if (!mode_type_ok(ip->i_mode)) {
		WHY("mode %#o has no valid type", ip->i_mode);
		return EUCLEAN;
	}
	if (ip->i_nlink == 0) {
		WHY("deleted inode (no links) in use");
		return EUCLEAN;
	}
	ip->i_uid = ext2_raw_uid(raw);
	ip->i_gid = ext2_raw_gid(raw);
	ip->i_size = le32dec(raw + I_SIZE_LO) | (uint64_t)le32dec(raw + I_SIZE_HI) << 32;
	ip->i_flags = le32dec(raw + I_FLAGS);
	ip->i_blocks512 = ext2_raw_blocks512(sb, raw);
	ip->i_file_acl = le32dec(raw + I_FILE_ACL_LO);
	if (sb->s_incompat & INCOMPAT_64BIT)
		ip->i_file_acl |= (uint64_t)le16dec(raw + I_FILE_ACL_HI) << 32;
	memcpy(ip->i_block, raw + I_BLOCK, EXT2_I_BLOCK_SIZE);

	decode_time(raw, I_ATIME, I_ATIME_EXTRA, used, &ip->i_atime);
	decode_time(raw, I_MTIME, I_MTIME_EXTRA, used, &ip->i_mtime);
	decode_time(raw, I_CTIME, I_CTIME_EXTRA, used, &ip->i_ctime);
	if (used >= I_CRTIME + 4) {
		ip->i_has_crtime = true;
		decode_time(raw, I_CRTIME, I_CRTIME_EXTRA, used, &ip->i_crtime);
	}
	ip->i_projid = ext2_raw_projid(sb, raw, used);

	/* Data in the inode: none of the block map checks below apply. */
	if (ext2_is_inline(ip))
		return ext2_inline_decode(sb, raw, ip, why, whylen);
	/* No file may be larger than what its block map can address. */
	if (ip->i_flags & EXT4_EXTENTS_FL) {
		maxlblk = (uint64_t)1 << 32;
	} else {
		uint64_t p = sb->s_bsize / 4;
		maxlblk = EXT2_NDIR_BLOCKS + p + p * p + p * p * p;
		if (maxlblk > (uint64_t)1 << 32)
			maxlblk = (uint64_t)1 << 32;
	}
	if (ip->i_size > (maxlblk << sb->s_bshift) || ip->i_size > (uint64_t)INT64_MAX) {
		WHY("size %llu too large", (unsigned long long)ip->i_size);
		return EUCLEAN;
	}
	if (type == ANYK_S_IFDIR && (ip->i_size == 0 || (ip->i_size & (sb->s_bsize - 1)) != 0)) {
		WHY("directory size %llu not a whole number of blocks", (unsigned long long)ip->i_size);
		return EUCLEAN;
	}
	if (type == ANYK_S_IFCHR || type == ANYK_S_IFBLK) {
		uint32_t old = le32dec(ip->i_block), nw = le32dec(ip->i_block + 4);

		if (old != 0)
			ip->i_rdev = ANYK_MAKEDEV((old >> 8) & 0xff, old & 0xff);
		else
			ip->i_rdev = ANYK_MAKEDEV((nw >> 8) & 0xfff, (nw & 0xff) | ((nw >> 12) & 0xfff00));
	}
	if ((ip->i_flags & EXT4_EXTENTS_FL) &&
	    (type == ANYK_S_IFREG || type == ANYK_S_IFDIR || type == ANYK_S_IFLNK)) {
		if (ext2_extent_check_header(ip->i_block, EXT2_I_BLOCK_SIZE, -1) != 0) {
			WHY("bad extent header in the inode");
			return EUCLEAN;
		}
	}
	return 0;
}

/* The inode table block holding inode ino, and the inode's offset in it. */
int
ext2_inode_where(const struct ext2_mount *em, uint32_t ino, uint64_t *blkp, uint32_t *offp)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t group, index;

	if (ino == 0 || ino > sb->s_inodes_count)
		return ext2_corrupt(em, "inode number %u out of range", ino);
	group = (ino - 1) / sb->s_inodes_per_group;
	index = (ino - 1) % sb->s_inodes_per_group;
	*blkp = em->em_groups[group].g_inode_table + (uint64_t)index * sb->s_inode_size / em->em_bsize;
	*offp = (uint32_t)((uint64_t)index * sb->s_inode_size % em->em_bsize);
	return 0;
}

int
ext2_inode_load(struct ext2_mount *em, uint32_t ino, struct ext2_inode **ipp)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct ext2_inode *ip = NULL;
	struct buf *bp = NULL;
	uint32_t off;
	uint64_t blk;
	char why[128];
	int error;

	*ipp = NULL;
	error = ext2_inode_where(em, ino, &blk, &off);
	if (error)
		return error;

	ip = kmem_alloc(&ext2_kmem, sizeof(*ip));
	if (ip == NULL)
		return ENOMEM;
	error = ext2_bread(em, blk, &bp);
	if (error)
		goto out;
	error = ext2_inode_decode(sb, ino, (const uint8_t *)bp->b_data + off, ip, why, sizeof(why));
	if (error) {
		ext2_corrupt(em, "inode %u: %s", ino, why);
		goto out;
	}
	/* The attribute block is read, rewritten and freed through this
	 * pointer: it may not name group metadata. */
	if (ip->i_file_acl != 0 && ext2_meta_find(em, ip->i_file_acl, 1, NULL, NULL)) {
		error = ext2_corrupt(em, "inode %u: attribute block %llu lies on group metadata", ino,
				     (unsigned long long)ip->i_file_acl);
		goto out;
	}
	ip->i_rawsize = sb->s_inode_size;
	ip->i_raw = kmem_alloc(&ext2_kmem, ip->i_rawsize);
	if (ip->i_raw == NULL) {
		error = ENOMEM;
		goto out;
	}
	memcpy(ip->i_raw, (const uint8_t *)bp->b_data + off, ip->i_rawsize);
	*ipp = ip;
	ip = NULL;
out:
	if (bp != NULL)
		brelse(bp);
	if (ip != NULL)
		kmem_free(&ext2_kmem, ip, sizeof(*ip));
	return error;
}

int
ext2_inode_check_free(struct ext2_mount *em, uint32_t ino)
{
	uint32_t off, dtime;
	uint16_t mode, links;
	struct buf *bp;
	uint64_t blk;
	int error;

	error = ext2_inode_where(em, ino, &blk, &off);
	if (error)
		return error;
	/* The block the new inode is about to be written into: cached from
	 * here on, so this costs no extra I/O. */
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	mode = le16dec((const uint8_t *)bp->b_data + off + I_MODE);
	links = le16dec((const uint8_t *)bp->b_data + off + I_LINKS);
	dtime = le32dec((const uint8_t *)bp->b_data + off + I_DTIME);
	brelse(bp);
	/* A deleted inode has no links and a deletion time (or was never
	 * used: all zeros); anything else belongs to someone. */
	if (links != 0 || (mode != 0 && dtime == 0))
		return ext2_corrupt(em, "inode %u: handed out as free but in use (mode %#o, %u links); inode "
				    "bitmap wrong, keeping it marked used", ino, mode, links);
	return 0;
}

void
ext2_inode_free(struct ext2_inode *ip)
{
	if (ip == NULL)
		return;
	ext2_ext_release(ip);
	if (ip->i_raw != NULL)
		kmem_free(&ext2_kmem, ip->i_raw, ip->i_rawsize);
	kmem_free(&ext2_kmem, ip, sizeof(*ip));
}
