/*
 * Extended attributes, write side: setting, replacing and removing one
 * attribute rebuilds the inode's whole set. The set is read (the inode
 * body's entries and the external block's), changed, and laid out again:
 * entries sorted by namespace, name length and name, each placed in the
 * inode body while it fits there, the rest in the external block. Both
 * places hold entries from the front and values packed from the back,
 * each with the hash e2fsck checks; the block gets its header hash and,
 * with metadata_csum, its checksum, the body the inode's checksum.
 *
 * A block shared with other inodes (h_refcount > 1) is never written: the
 * inode takes a new block and drops its reference to the old one. A block
 * left with no entries is given back.
 *
 * POSIX ACLs arrive in the VFS's format (version 2, 8-byte entries) and
 * are stored in ext4's compact one (version 1, no id for the entries that
 * need none); ext2_xattr.c converts back on the way out.
 *
 * The caller holds the vnode lock exclusively.
 */
#include "fs/ext2/ext2.h"

#define XA_PAD(n) (((n) + 3u) & ~3u)
#define XA_ENTSIZE(namelen) XA_PAD(XE_HEAD_SIZE + (uint32_t)(namelen))
#define XA_FLAG_CREATE 1
#define XA_FLAG_REPLACE 2
#define XA_NAME_MAX 255

struct xa {
	uint8_t index;
	uint8_t namelen;
	char name[XA_NAME_MAX];
	uint8_t *value;
	uint32_t size;
	bool inbody;
};

struct xa_set {
	struct xa *v;
	uint32_t n, cap;
	uint8_t *arena; /* the values */
	uint32_t used, arenasize;
};

static int
xa_collect(void *ctx, uint8_t index, const char *name, uint32_t namelen, const uint8_t *value, uint32_t size)
{
	struct xa_set *s = ctx;
	struct xa *x;

	if (s->n == s->cap || size > s->arenasize - s->used || namelen > XA_NAME_MAX)
		return EUCLEAN;
	x = &s->v[s->n++];
	x->index = index;
	x->namelen = (uint8_t)namelen;
	memcpy(x->name, name, namelen);
	x->value = s->arena + s->used;
	x->size = size;
	memcpy(x->value, value, size);
	s->used += size;
	return 0;
}

static int
xa_cmp(const struct xa *a, const struct xa *b)
{
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	if (a->namelen != b->namelen)
		return a->namelen < b->namelen ? -1 : 1;
	return memcmp(a->name, b->name, a->namelen);
}

static void
xa_sort(struct xa_set *s)
{
	for (uint32_t i = 1; i < s->n; i++) {
		for (uint32_t j = i; j > 0 && xa_cmp(&s->v[j - 1], &s->v[j]) > 0; j--) {
			struct xa t = s->v[j];
			s->v[j] = s->v[j - 1];
			s->v[j - 1] = t;
		}
	}
}

/* The entry hash: the name, then the value's little-endian words. */
static uint32_t
xa_hash(const struct xa *x, const uint8_t *padded)
{
	uint32_t h = 0;

	for (uint32_t i = 0; i < x->namelen; i++)
		h = (h << 5) ^ (h >> 27) ^ (uint8_t)x->name[i];
	for (uint32_t i = 0; i < XA_PAD(x->size); i += 4)
		h = (h << 16) ^ (h >> 16) ^ le32dec(padded + i);
	return h;
}

/* Lay the entries that go to one place into region [0, len): entries from
 * ents (an offset in it), values from its end, offsets from vbase. Returns
 * the combined hash of the entries (the block header's). */
static uint32_t
xa_lay(const struct xa_set *s, bool inbody, uint8_t *region, uint32_t len, uint32_t ents, uint32_t vbase)
{
	uint32_t pos = ents, vend = len, bh = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		const struct xa *x = &s->v[i];
		uint8_t *e = region + pos;
		uint32_t h;

		if (x->inbody != inbody)
			continue;
		e[XE_NAME_LEN] = x->namelen;
		e[XE_NAME_INDEX] = x->index;
		le32enc(e + XE_VALUE_INUM, 0);
		le32enc(e + XE_VALUE_SIZE, x->size);
		memcpy(e + XE_NAME, x->name, x->namelen);
		if (x->size > 0) {
			vend -= XA_PAD(x->size);
			memcpy(region + vend, x->value, x->size);
			le16enc(e + XE_VALUE_OFFS, (uint16_t)(vend - vbase));
		} else {
			le16enc(e + XE_VALUE_OFFS, 0);
		}
		h = xa_hash(x, region + vend);
		le32enc(e + XE_HASH, h);
		bh = (bh << 16) ^ (bh >> 16) ^ h;
		pos += XA_ENTSIZE(x->namelen);
	}
	return bh;
}

/* Room in the inode body for entries and values, after the magic. */
static uint32_t
body_room(const struct ext2_mount *em, const struct ext2_inode *ip)
{
	uint32_t start = EXT2_GOOD_OLD_INODE_SIZE + ip->i_extra_isize;

	if (em->em_sb.s_inode_size <= EXT2_GOOD_OLD_INODE_SIZE || ip->i_extra_isize < 4 || ip->i_raw == NULL ||
	    start + 8 > ip->i_rawsize)
		return 0;
	return ip->i_rawsize - start - 4;
}

/* Decide where each entry goes: 0, or ENOSPC if the block overflows. */
static int
xa_place(struct ext2_mount *em, struct ext2_inode *ip, struct xa_set *s, uint32_t *nblockp)
{
	uint32_t body = body_room(em, ip), bodyused = 4; /* the closing zero word */
	uint32_t blk = em->em_bsize - XH_SIZE, blkused = 4;

	*nblockp = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		struct xa *x = &s->v[i];
		uint32_t need = XA_ENTSIZE(x->namelen) + XA_PAD(x->size);

		x->inbody = bodyused + need <= body;
		if (x->inbody) {
			bodyused += need;
		} else {
			if (blkused + need > blk)
				return ENOSPC;
			blkused += need;
			(*nblockp)++;
		}
	}
	return 0;
}

static int
write_block(struct ext2_mount *em, struct ext2_inode *ip, const struct xa_set *s)
{
	uint64_t blkno = ip->i_file_acl, got;
	struct buf *bp = NULL;
	uint8_t *b;
	uint32_t h;
	int error;

	if (blkno != 0) {
		error = ext2_bread(em, blkno, &bp);
		if (error)
			return error;
		if (le32dec((uint8_t *)bp->b_data + XH_REFCOUNT) > 1) {
			/* Shared: leave it to the others. */
			brelse(bp);
			bp = NULL;
			error = ext2_xattr_block_release(em, ip);
			if (error)
				return error;
			blkno = 0;
		}
	}
	if (blkno == 0) {
		error = ext2_balloc(em, ext2_goal(em, ip, 0), 1, &blkno, &got);
		if (error)
			return error;
		error = getblk(em->em_bdev, blkno, em->em_bsize, &bp);
		if (error) {
			ext2_bfree(em, blkno, 1, true);
			return EIO;
		}
		ip->i_file_acl = blkno;
		ip->i_blocks512 += em->em_bsize >> 9;
	}
	b = bp->b_data;
	memset(b, 0, em->em_bsize);
	le32enc(b + XH_MAGIC, EXT2_XATTR_MAGIC);
	le32enc(b + XH_REFCOUNT, 1);
	le32enc(b + XH_BLOCKS, 1);
	h = xa_lay(s, false, b, em->em_bsize, XH_SIZE, 0);
	le32enc(b + XH_HASH, h);
	if (em->em_csum)
		le32enc(b + XH_CHECKSUM, ext2_xattr_block_csum(&em->em_sb, blkno, b, em->em_bsize));
	ext2_mwrite(em, bp);
	return 0;
}

static void
write_body(struct ext2_mount *em, struct ext2_inode *ip, const struct xa_set *s, bool any)
{
	uint32_t start = EXT2_GOOD_OLD_INODE_SIZE + ip->i_extra_isize;
	uint8_t *r;

	if (body_room(em, ip) == 0)
		return;
	r = ip->i_raw + start;
	memset(r, 0, ip->i_rawsize - start);
	if (!any)
		return;
	le32enc(r, EXT2_XATTR_MAGIC);
	/* In the body, value offsets count from the first entry. */
	xa_lay(s, true, r + 4, ip->i_rawsize - start - 4, 0, 0);
}

/* VFS ACL (version 2) to ext4's (version 1) in out (as long as in). */
static int
acl_to_disk(const uint8_t *in, size_t len, uint8_t *out, uint32_t *outlenp)
{
	uint32_t o = 4;

	if (len < 4 || (len - 4) % 8 != 0 || le32dec(in) != POSIX_ACL_XATTR_VERSION)
		return EINVAL;
	le32enc(out, EXT4_ACL_VERSION);
	for (size_t i = 4; i < len; i += 8) {
		uint16_t tag = le16dec(in + i);

		le16enc(out + o, tag);
		le16enc(out + o + 2, le16dec(in + i + 2));
		switch (tag) {
		case ACL_USER:
		case ACL_GROUP:
			le32enc(out + o + 4, le32dec(in + i + 4));
			o += 8;
			break;
		case ACL_USER_OBJ:
		case ACL_GROUP_OBJ:
		case ACL_MASK:
		case ACL_OTHER:
			o += 4;
			break;
		default:
			return EINVAL;
		}
	}
	*outlenp = o;
	return 0;
}

/* Set (value not NULL) or remove attribute suffix of namespace index. */
static int
set_indexed(struct ext2_mount *em, struct ext2_inode *ip, uint8_t index, const char *suffix, const void *value,
	    size_t size, int flags)
{
	struct xa_set s = { 0 };
	uint8_t *acl = NULL;
	size_t aclsize = size + 4;
	uint32_t found = UINT32_MAX, nblock, slen;
	bool anybody = false;
	int error;

	slen = (uint32_t)strlen(suffix);
	if (slen > XA_NAME_MAX)
		return ERANGE;
	if (value != NULL && size > 65536)
		return E2BIG;
	if (value != NULL && (index == XATTR_INDEX_POSIX_ACL_ACCESS || index == XATTR_INDEX_POSIX_ACL_DEFAULT)) {
		uint32_t alen;

		acl = kmem_alloc(&ext2_kmem, aclsize);
		if (acl == NULL)
			return ENOMEM;
		error = acl_to_disk(value, size, acl, &alen);
		if (error)
			goto out;
		value = acl;
		size = alen;
	}
	/* Everything there is fits in a block and the body, plus the new one. */
	s.cap = (em->em_bsize + em->em_sb.s_inode_size) / XE_HEAD_SIZE + 2;
	s.arenasize = em->em_bsize + em->em_sb.s_inode_size + (uint32_t)size;
	s.v = kmem_alloc(&ext2_kmem, s.cap * sizeof(*s.v));
	s.arena = kmem_alloc(&ext2_kmem, s.arenasize);
	if (s.v == NULL || s.arena == NULL) {
		error = ENOMEM;
		goto out;
	}
again:
	s.n = s.used = 0;
	found = UINT32_MAX;
	error = ext2_xattr_foreach(em, ip, xa_collect, &s);
	if (error)
		goto out;
	for (uint32_t i = 0; i < s.n; i++)
		if (s.v[i].index == index && s.v[i].namelen == slen && memcmp(s.v[i].name, suffix, slen) == 0)
			found = i;
	if (value == NULL || (flags & XA_FLAG_REPLACE)) {
		if (found == UINT32_MAX) {
			error = ENODATA;
			goto out;
		}
	} else if ((flags & XA_FLAG_CREATE) && found != UINT32_MAX) {
		error = EEXIST;
		goto out;
	}
	/* Laying the set out again would move system.data, which must stay
	 * in the body at a known place: before any other change the data
	 * leaves the inode (ext2_inline_expand drops system.data through
	 * here), and the set is read again. */
	if (ext2_is_inline(ip) && !(index == XATTR_INDEX_SYSTEM && slen == sizeof(EXT2_INLINE_XATTR_NAME) - 1 &&
				    memcmp(suffix, EXT2_INLINE_XATTR_NAME, slen) == 0)) {
		error = ext2_inline_expand(em, ip);
		if (error)
			goto out;
		goto again;
	}
	if (found != UINT32_MAX)
		s.v[found] = s.v[--s.n];
	if (value != NULL) {
		error = xa_collect(&s, index, suffix, slen, value, (uint32_t)size);
		if (error)
			goto out;
	}
	xa_sort(&s);
	error = xa_place(em, ip, &s, &nblock);
	if (error)
		goto out;
	if (nblock > 0) {
		error = write_block(em, ip, &s);
	} else if (ip->i_file_acl != 0) {
		error = ext2_xattr_block_release(em, ip);
	}
	if (error)
		goto out;
	for (uint32_t i = 0; i < s.n; i++)
		anybody |= s.v[i].inbody;
	write_body(em, ip, &s, anybody);
	ext2_now(&ip->i_ctime);
	error = ext2_inode_write(em, ip);
out:
	if (s.v != NULL)
		kmem_free(&ext2_kmem, s.v, s.cap * sizeof(*s.v));
	if (s.arena != NULL)
		kmem_free(&ext2_kmem, s.arena, s.arenasize);
	if (acl != NULL)
		kmem_free(&ext2_kmem, acl, aclsize);
	return error;
}

int
ext2_setxattr(struct ext2_mount *em, struct ext2_inode *ip, const char *name, const void *value, size_t size,
	      int flags)
{
	const char *suffix;
	uint8_t index;
	int error;

	error = ext2_xattr_ns_split(name, &index, &suffix);
	if (error)
		return error;
	return set_indexed(em, ip, index, suffix, value, size, flags);
}

int
ext2_xattr_drop_inline(struct ext2_mount *em, struct ext2_inode *ip)
{
	return set_indexed(em, ip, XATTR_INDEX_SYSTEM, EXT2_INLINE_XATTR_NAME, NULL, 0, 0);
}
