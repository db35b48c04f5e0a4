/*
 * Inline data (the inline_data feature), read side: the data of a small
 * file, directory or symlink lives in the inode itself, its first 60 bytes
 * in i_block (where a block map or extent tree would be) and the rest in
 * the value of the in-inode extended attribute system.data, which every
 * inline inode has, empty if need be. A directory's i_block starts with its
 * parent's inode number; its entries follow there and go on in the value
 * (ext2_dir.c walks them).
 *
 * Writing keeps no data inline: before anything changes an inline inode's
 * data, entries or attributes, ext2_inline_expand moves its data to a
 * block of its own and drops the flag and system.data, and new inodes are
 * never made inline. An image then holds a mix, which the feature allows.
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

/* --- moving the data out --------------------------------------------------- */

struct dir_copy {
	struct ext2_dent *ents;
	uint32_t n, cap;
	char *names;
	uint32_t used, namecap;
};

static int
dir_collect(void *ctx, const char *name, uint32_t namelen, uint32_t ino, uint8_t ft)
{
	struct dir_copy *c = ctx;

	/* "." and ".." are not entries of an inline directory: a block
	 * holding them twice would be corrupt. */
	if (c->n == c->cap || namelen > c->namecap - c->used || (namelen == 1 && name[0] == '.') ||
	    (namelen == 2 && name[0] == '.' && name[1] == '.'))
		return EUCLEAN;
	memcpy(c->names + c->used, name, namelen);
	c->ents[c->n].name = c->names + c->used;
	c->ents[c->n].namelen = namelen;
	c->ents[c->n].ino = ino;
	c->ents[c->n].ft = ft;
	c->n++;
	c->used += namelen;
	return 0;
}

/* What expanding changes in memory, to put back if it fails. */
struct inline_state {
	uint32_t flags, inline_off, inline_len;
	uint64_t size, blocks512;
	uint8_t block[EXT2_I_BLOCK_SIZE];
};

static void
state_restore(struct ext2_inode *ip, const struct inline_state *st)
{
	ip->i_flags = st->flags;
	ip->i_inline_off = st->inline_off;
	ip->i_inline_len = st->inline_len;
	ip->i_size = st->size;
	ip->i_blocks512 = st->blocks512;
	memcpy(ip->i_block, st->block, EXT2_I_BLOCK_SIZE);
}

/* i_block mapping logical block 0 to pblk (0: nothing), as an extent
 * root or a block map. */
static void
map_one(const struct ext2_mount *em, struct ext2_inode *ip, uint64_t pblk)
{
	memset(ip->i_block, 0, EXT2_I_BLOCK_SIZE);
	ip->i_extloaded = false;
	if (!(em->em_sb.s_incompat & INCOMPAT_EXTENTS)) {
		le32enc(ip->i_block, (uint32_t)pblk);
		return;
	}
	ip->i_flags |= EXT4_EXTENTS_FL;
	le16enc(ip->i_block + EH_MAGIC, EXT4_EXT_MAGIC);
	le16enc(ip->i_block + EH_ENTRIES, pblk != 0 ? 1 : 0);
	le16enc(ip->i_block + EH_MAX, 4);
	if (pblk != 0) {
		uint8_t *x = ip->i_block + EXT4_EXT_HDR_SIZE;

		le16enc(x + EE_LEN, 1);
		le16enc(x + EE_START_HI, (uint16_t)(pblk >> 32));
		le32enc(x + EE_START_LO, (uint32_t)pblk);
	}
}

/*
 * An inline directory's block as its entries stand: "." and "..", then
 * i_block's entries and system.data's, byte for byte, each EXT2_INLINE_
 * COOKIE_SHIFT bytes further on than in the inode, so that readdir cookies
 * handed out before the move still point between the same entries. The
 * last entry reaches the end of the block's entries. false (blk then
 * undefined) if the entries do not tile their areas or do not fit.
 */
static bool
dir_block_in_place(struct ext2_mount *em, struct ext2_inode *ip, uint32_t parent, const uint8_t *value,
		   uint8_t *blk)
{
	const uint32_t first = 2 * EXT2_DIR_ENTRY_MIN;
	const uint32_t vstart = EXT2_I_BLOCK_SIZE + EXT2_INLINE_COOKIE_SHIFT;
	uint32_t end = ext2_de_end(em), used = vstart + ip->i_inline_len, pos, last = 0, rec;

	if (used > end || ext2_dirblock_build(em, ip, parent, NULL, 0, blk) != 0)
		return false;
	ext2_de_set_reclen(blk + EXT2_DIR_ENTRY_MIN, EXT2_DIR_ENTRY_MIN);
	memcpy(blk + first, ip->i_block + EXT2_INLINE_PARENT_SIZE, EXT2_I_BLOCK_SIZE - EXT2_INLINE_PARENT_SIZE);
	if (ip->i_inline_len > 0)
		memcpy(blk + vstart, value, ip->i_inline_len);
	/* Each area's records end where the area ends. */
	for (pos = first; pos < used; pos += rec) {
		rec = ext2_de_reclen(em, blk + pos);
		if (rec < EXT2_DIR_ENTRY_MIN || (rec & 3) != 0 || rec > used - pos ||
		    (pos < vstart && rec > vstart - pos) || DE_NAME + ext2_de_namelen(em, blk + pos) > rec)
			return false;
		last = pos;
	}
	if (pos != used)
		return false;
	ext2_de_set_reclen(blk + last, end - last);
	ext2_dirblock_settail(em, ip, blk);
	return true;
}

/*
 * The new block is taken and written first, so that running out of space
 * changes nothing; the inode then points at it, and dropping system.data
 * writes the inode out. A regular file's data is written to the device at
 * once, as ext2_write writes data; a directory's block is metadata and
 * joins the caller's journal handle.
 */
int
ext2_inline_expand(struct ext2_mount *em, struct ext2_inode *ip)
{
	uint32_t bsize = em->em_bsize, parent = 0;
	uint64_t total, len, pblk = 0, got;
	struct dir_copy dc = { 0 };
	struct inline_state st;
	struct anyk_timespec mtime, ctime;
	struct buf *bp = NULL;
	uint8_t *value, *blk = NULL;
	bool isdir = ANYK_S_ISDIR(ip->i_mode), fast;
	int error;

	if (!ext2_is_inline(ip))
		return 0;
	if (em->em_rdonly)
		return EROFS;
	value = ext2_inline_value(ip);
	if (value == NULL)
		return ext2_corrupt(em, "inode %u: its inline data is missing", ip->i_ino);
	total = ext2_inline_size(ip);
	len = isdir ? total : ip->i_size; /* decoding checked size <= total */
	fast = ANYK_S_ISLNK(ip->i_mode) && len < EXT2_I_BLOCK_SIZE;
	blk = kmem_zalloc(&ext2_kmem, bsize);
	if (blk == NULL)
		return ENOMEM;
	if (isdir) {
		parent = le32dec(ip->i_block);
		dc.cap = (uint32_t)(total / EXT2_DIR_ENTRY_MIN + 1);
		dc.namecap = (uint32_t)total;
		dc.ents = kmem_alloc(&ext2_kmem, dc.cap * sizeof(*dc.ents));
		dc.names = kmem_alloc(&ext2_kmem, dc.namecap);
		error = dc.ents == NULL || dc.names == NULL ? ENOMEM : 0;
		if (!error)
			error = ext2_inline_dir_foreach(em, ip, dir_collect, &dc);
		if (error == EUCLEAN)
			error = ext2_corrupt(em, "directory inode %u: its inline entries do not add up", ip->i_ino);
		if (!error && !dir_block_in_place(em, ip, parent, value, blk))
			error = ext2_dirblock_build(em, ip, parent, dc.ents, dc.n, blk);
		if (error == ENOSPC)
			error = ext2_corrupt(em, "directory inode %u: its inline entries fill more than a block",
					     ip->i_ino);
		if (error)
			goto out;
	} else if (len > bsize) {
		error = ext2_corrupt(em, "inode %u: %llu bytes of inline data", ip->i_ino, (unsigned long long)len);
		goto out;
	} else {
		memcpy(blk, ip->i_block, MIN(len, (uint64_t)EXT2_I_BLOCK_SIZE));
		if (len > EXT2_I_BLOCK_SIZE)
			memcpy(blk + EXT2_I_BLOCK_SIZE, value, len - EXT2_I_BLOCK_SIZE);
	}
	if (isdir || (len > 0 && !fast)) {
		error = ext2_balloc(em, ext2_goal(em, ip, 0), 1, &pblk, &got);
		if (error)
			goto out;
		if (isdir) {
			if (getblk(em->em_bdev, pblk, bsize, &bp) != 0) {
				error = EIO;
			} else {
				memcpy(bp->b_data, blk, bsize);
				ext2_mwrite(em, bp);
			}
		} else {
			error = bdev_write(em->em_bdev, pblk << em->em_sb.s_bshift, blk, bsize) != 0 ? EIO : 0;
		}
		if (error) {
			ext2_bfree(em, pblk, 1, isdir);
			goto out;
		}
	}
	st = (struct inline_state){ .flags = ip->i_flags, .inline_off = ip->i_inline_off,
				    .inline_len = ip->i_inline_len, .size = ip->i_size, .blocks512 = ip->i_blocks512 };
	memcpy(st.block, ip->i_block, EXT2_I_BLOCK_SIZE);
	mtime = ip->i_mtime;
	ctime = ip->i_ctime;
	ip->i_flags &= ~(EXT4_INLINE_DATA_FL | EXT4_EXTENTS_FL);
	if (fast) {
		memset(ip->i_block, 0, EXT2_I_BLOCK_SIZE);
		memcpy(ip->i_block, blk, len);
	} else {
		map_one(em, ip, pblk);
	}
	ip->i_size = isdir ? bsize : len;
	if (pblk != 0)
		ip->i_blocks512 += bsize >> 9;
	error = ext2_xattr_drop_inline(em, ip);
	if (error) {
		state_restore(ip, &st);
		if (pblk != 0)
			ext2_bfree(em, pblk, 1, isdir);
		goto out;
	}
	ip->i_inline_off = ip->i_inline_len = 0;
	/* Where the data lives is no change a caller sees. */
	ip->i_mtime = mtime;
	ip->i_ctime = ctime;
	error = ext2_inode_write(em, ip);
out:
	if (dc.ents != NULL)
		kmem_free(&ext2_kmem, dc.ents, dc.cap * sizeof(*dc.ents));
	if (dc.names != NULL)
		kmem_free(&ext2_kmem, dc.names, dc.namecap);
	kmem_free(&ext2_kmem, blk, bsize);
	return error;
}
