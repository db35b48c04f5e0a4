/*
 * Inline data (the inline_data feature), read side: the data of a small
 * file, directory or symlink lives in the inode itself, its first 60 bytes
 * in i_block (where a block map or extent tree would be) and the rest in
 * the value of the in-inode extended attribute system.data, which every
 * inline inode has, empty if need be. A directory's i_block starts with its
 * parent's inode number; its entries follow there and go on in the value
 * (ext2_dir.c walks them). Nothing here writes: the feature allows only
 * read-only mounts (ext2_vfsops.c).
 *
 * Decoding checks what every later read relies on: the value lies inside
 * the on-disk inode, the size fits in i_block and the value, a directory's
 * size is exactly theirs and its parent a valid inode number.
 */
#include "fs/ext2/ext2.h"

#define WHY(...) ksnprintf(why, whylen, __VA_ARGS__)

static bool
inline_type_ok(uint16_t mode)
{
	uint16_t type = mode & EXT2_S_IFMT;

	return type == ANYK_S_IFREG || type == ANYK_S_IFDIR || type == ANYK_S_IFLNK;
}

/* The directory-only checks: size and parent. */
static int
inline_dir_decode(const struct ext2_sb *sb, const struct ext2_inode *ip, char *why, size_t whylen)
{
	uint32_t parent = le32dec(ip->i_block);

	if (ip->i_size != ext2_inline_size(ip)) {
		WHY("inline directory of size %llu holds %llu bytes", (unsigned long long)ip->i_size,
		    (unsigned long long)ext2_inline_size(ip));
		return EUCLEAN;
	}
	if (parent == 0 || parent > sb->s_inodes_count) {
		WHY("inline directory's parent %u out of range", parent);
		return EUCLEAN;
	}
	return 0;
}

int
ext2_inline_decode(const struct ext2_sb *sb, const uint8_t *raw, struct ext2_inode *ip, char *why, size_t whylen)
{
	const size_t namelen = sizeof(EXT2_INLINE_XATTR_NAME) - 1;
	int error;

	if (!(sb->s_incompat & INCOMPAT_INLINE_DATA)) {
		WHY("inline data flag without the inline_data feature");
		return EUCLEAN;
	}
	if (!inline_type_ok(ip->i_mode)) {
		WHY("inline data in an inode of mode %#o", ip->i_mode);
		return EUCLEAN;
	}
	if (ip->i_flags & (EXT4_EXTENTS_FL | EXT2_INDEX_FL)) {
		WHY("inline data with an extent or index flag (flags %#x)", ip->i_flags);
		return EUCLEAN;
	}
	error = ext2_xattr_ibody_find(raw, sb->s_inode_size, ip->i_extra_isize, XATTR_INDEX_SYSTEM,
				      EXT2_INLINE_XATTR_NAME, namelen, &ip->i_inline_off, &ip->i_inline_len);
	if (error == ENODATA) {
		WHY("inline data without a system.data attribute");
		return EUCLEAN;
	}
	if (error) {
		WHY("inline data: bad extended attribute entry in the inode");
		return EUCLEAN;
	}
	if (ip->i_size > ext2_inline_size(ip)) {
		WHY("size %llu larger than its inline data (%llu bytes)", (unsigned long long)ip->i_size,
		    (unsigned long long)ext2_inline_size(ip));
		return EUCLEAN;
	}
	if ((ip->i_mode & EXT2_S_IFMT) == ANYK_S_IFDIR)
		return inline_dir_decode(sb, ip, why, whylen);
	return 0;
}

uint8_t *
ext2_inline_value(const struct ext2_inode *ip)
{
	/* Decoding checked the value against the inode it was read from; an
	 * inode loaded without its raw copy (the journal's) has none. */
	if (ip->i_raw == NULL || ip->i_inline_off > ip->i_rawsize ||
	    ip->i_inline_len > ip->i_rawsize - ip->i_inline_off)
		return NULL;
	return ip->i_raw + ip->i_inline_off;
}

int
ext2_inline_move(struct ext2_mount *em, struct ext2_inode *ip, uint64_t off, size_t n, struct uio *uio)
{
	uint8_t *value = ext2_inline_value(ip);
	size_t c;
	int error;

	if (value == NULL || off > ext2_inline_size(ip) || n > ext2_inline_size(ip) - off)
		return ext2_corrupt(em, "inode %u: read of %zu bytes at %llu past its inline data", ip->i_ino, n,
				    (unsigned long long)off);
	if (off < EXT2_I_BLOCK_SIZE) {
		c = MIN(n, (size_t)(EXT2_I_BLOCK_SIZE - off));
		error = uiomove(ip->i_block + off, c, uio);
		if (error)
			return error;
		off += c;
		n -= c;
	}
	if (n == 0)
		return 0;
	return uiomove(value + (off - EXT2_I_BLOCK_SIZE), n, uio);
}
