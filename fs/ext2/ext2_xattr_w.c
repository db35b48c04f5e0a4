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
 * With the ea_inode feature a value too large for a block, or one that
 * finds no room there, is kept as ext4 keeps it: as the data of an inode
 * of its own, flagged EA_INODE, named by the entry (e_value_inum), with
 * the value's crc32c in its atime and a reference count in its ctime (high
 * 32 bits) and i_version (low). The owner's i_blocks counts the value's
 * blocks, as e2fsck expects. Removing the entry drops the reference; the
 * last one frees the inode. (File systems with quota keep ea_inode
 * read-only: ext4 charges such values to the owner in a way the quota
 * hook does not follow.)
 *
 * The caller holds the vnode lock exclusively.
 */
#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_journal.h"

#define XA_PAD(n) (((n) + 3u) & ~3u)
#define XA_ENTSIZE(namelen) XA_PAD(XE_HEAD_SIZE + (uint32_t)(namelen))
#define XA_FLAG_CREATE 1
#define XA_FLAG_REPLACE 2
#define XA_NAME_MAX 255

struct xa {
	uint8_t index;
	uint8_t namelen;
	char name[XA_NAME_MAX];
	uint8_t *value; /* NULL when inum is set */
	uint32_t size;
	uint32_t inum;  /* the value's own inode (ea_inode), or 0 */
	uint32_t ihash; /* that inode's hash of the value */
	bool inbody;
	bool shared;    /* read from a block other inodes share */
};

struct xa_set {
	struct xa *v;
	uint32_t n, cap;
	uint8_t *arena; /* the values */
	uint32_t used, arenasize;
	bool blk_shared; /* the external block is shared */
};

static int
xa_add(struct xa_set *s, const struct ext2_xattr_item *it)
{
	struct xa *x;

	if (s->n == s->cap || it->namelen > XA_NAME_MAX || (it->inum == 0 && it->size > s->arenasize - s->used))
		return EUCLEAN;
	x = &s->v[s->n++];
	memset(x, 0, sizeof(*x));
	x->index = it->index;
	x->namelen = (uint8_t)it->namelen;
	memcpy(x->name, it->name, it->namelen);
	x->size = it->size;
	x->inum = it->inum;
	x->shared = it->inblock && s->blk_shared;
	if (it->inum == 0) {
		x->value = s->arena + s->used;
		memcpy(x->value, it->value, it->size);
		s->used += it->size;
	}
	return 0;
}

static int
xa_collect(void *ctx, const struct ext2_xattr_item *it)
{
	return xa_add(ctx, it);
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

/* The entry hash: the name, then the value's little-endian words (for a
 * value in an inode of its own, the one word of that inode's hash). */
static uint32_t
xa_hash(const struct xa *x, const uint8_t *padded)
{
	uint32_t h = 0;

	for (uint32_t i = 0; i < x->namelen; i++)
		h = (h << 5) ^ (h >> 27) ^ (uint8_t)x->name[i];
	if (x->inum != 0)
		return (h << 16) ^ (h >> 16) ^ x->ihash;
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
		le32enc(e + XE_VALUE_INUM, x->inum);
		le32enc(e + XE_VALUE_SIZE, x->size);
		memcpy(e + XE_NAME, x->name, x->namelen);
		if (x->size > 0 && x->inum == 0) {
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
		uint32_t need = XA_ENTSIZE(x->namelen) + (x->inum != 0 ? 0 : XA_PAD(x->size));

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

/* --- values in inodes of their own (ea_inode) ------------------------------ */

#define EA_REF_LO 0x24 /* osd1's i_version: the reference count's low half */

/* Values longer than this go to an inode of their own, as ext4 decides. */
static uint32_t
ea_large(const struct ext2_mount *em)
{
	return em->em_bsize - 3 - XE_HEAD_SIZE - 4;
}

static bool
ea_ok(const struct ext2_mount *em, uint8_t index)
{
	return (em->em_sb.s_incompat & INCOMPAT_EA_INODE) &&
	       (index == XATTR_INDEX_USER || index == XATTR_INDEX_TRUSTED || index == XATTR_INDEX_SECURITY);
}

/* What the owner's i_blocks counts for a value of size bytes. */
static uint64_t
ea_blocks512(const struct ext2_mount *em, uint32_t size)
{
	return roundup((uint64_t)size, em->em_bsize) >> 9;
}

/* Load the value inode inum of owner (size UINT32_MAX: any size). */
static int
ea_load(struct ext2_mount *em, uint32_t owner, uint32_t inum, uint32_t size, struct ext2_inode **vipp)
{
	struct ext2_inode *vip;
	int error;

	if (inum < em->em_sb.s_first_ino || inum > em->em_sb.s_inodes_count || inum == owner)
		return ext2_corrupt(em, "inode %u: attribute value in inode %u, out of range", owner, inum);
	error = ext2_inode_load(em, inum, &vip);
	if (error)
		return error;
	if (!ANYK_S_ISREG(vip->i_mode) || !(vip->i_flags & EXT4_EA_INODE_FL) || vip->i_nlink == 0 ||
	    vip->i_raw == NULL || vip->i_rawsize < EA_REF_LO + 4 || (size != UINT32_MAX && vip->i_size != size)) {
		ext2_inode_free(vip);
		return ext2_corrupt(em, "inode %u: attribute value inode %u is not one", owner, inum);
	}
	*vipp = vip;
	return 0;
}

static uint64_t
ea_refs(const struct ext2_inode *vip)
{
	return (uint64_t)(uint32_t)vip->i_ctime.tv_sec << 32 | le32dec(vip->i_raw + EA_REF_LO);
}

static void
ea_set_refs(struct ext2_inode *vip, uint64_t refs)
{
	vip->i_ctime.tv_sec = (int64_t)(uint32_t)(refs >> 32);
	vip->i_ctime.tv_nsec = 0;
	le32enc(vip->i_raw + EA_REF_LO, (uint32_t)refs);
}

/* One reference more (delta > 0) or less on value inode inum; the last
 * one gone, the inode and its blocks are freed. */
static int
ea_ref(struct ext2_mount *em, uint32_t owner, uint32_t inum, int delta)
{
	struct ext2_jhandle *h;
	struct ext2_inode *vip;
	uint64_t refs;
	int error;

	mutex_enter(&em->em_ea_lock);
	error = ea_load(em, owner, inum, UINT32_MAX, &vip);
	if (error)
		goto out;
	refs = ea_refs(vip);
	if (delta > 0 || refs > 1) {
		ea_set_refs(vip, delta > 0 ? refs + 1 : refs - 1);
		error = ext2_inode_write(em, vip);
	} else {
		error = ext2_jop_begin(em, EXT2_JOP_RELEASE, vip->i_size, &h);
		if (!error) {
			vip->i_nlink = 0;
			error = ext2_jop_end(h, ext2_inode_release(em, vip));
		}
	}
	ext2_inode_free(vip);
out:
	mutex_exit(&em->em_ea_lock);
	return error;
}

/* A new value inode for owner holding value: its number and hash. */
static int
ea_new(struct ext2_mount *em, struct ext2_inode *owner, const void *value, uint32_t size, uint32_t *inump,
       uint32_t *hashp)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct ext2_inode *vip = NULL;
	struct ext2_jhandle *h;
	struct anyk_iovec iov;
	struct uio uio;
	uint32_t ino;
	bool init;
	int error;

	error = ext2_jop_begin(em, EXT2_JOP_FILE, (uint64_t)size + 2 * em->em_bsize, &h);
	if (error)
		return error;
	error = ext2_ialloc(em, owner->i_ino, false, &ino, &init);
	if (!error && init)
		error = ext2_inode_check_free(em, ino); /* refused: stays used, see new_inode */
	if (error)
		goto out;
	vip = kmem_zalloc(&ext2_kmem, sizeof(*vip));
	if (vip != NULL && (vip->i_raw = kmem_zalloc(&ext2_kmem, sb->s_inode_size)) == NULL) {
		kmem_free(&ext2_kmem, vip, sizeof(*vip));
		vip = NULL;
	}
	if (vip == NULL) {
		ext2_ifree(em, ino, false);
		error = ENOMEM;
		goto out;
	}
	vip->i_rawsize = sb->s_inode_size;
	vip->i_mode = ANYK_S_IFREG | 0600;
	vip->i_nlink = 1;
	vip->i_flags = EXT4_EA_INODE_FL;
	ext2_inode_init(em, vip, ino, true);
	ext2_now(&vip->i_mtime);
	vip->i_crtime = vip->i_mtime;
	uio_init_kernel(&uio, &iov, (void *)(uintptr_t)value, size, 0, UIO_WRITE);
	error = ext2_write(em, vip, &uio, 0);
	if (!error && uio.uio_resid != 0)
		error = EIO;
	if (!error) {
		/* After the write, which sets the times its own way. */
		*hashp = crc32c(sb->s_csum_seed, value, size);
		vip->i_atime.tv_sec = *hashp;
		vip->i_atime.tv_nsec = 0;
		ea_set_refs(vip, 1);
		error = ext2_inode_write(em, vip);
	}
	if (error) {
		vip->i_nlink = 0;
		(void)ext2_inode_release(em, vip);
	} else {
		*inump = ino;
	}
	ext2_inode_free(vip);
out:
	return ext2_jop_end(h, error);
}

/* The value hashes of the value inodes the set names. */
static int
ea_hashes(struct ext2_mount *em, struct ext2_inode *ip, struct xa_set *s)
{
	struct ext2_inode *vip;
	int error;

	for (uint32_t i = 0; i < s->n; i++) {
		struct xa *x = &s->v[i];

		if (x->inum == 0)
			continue;
		if (!(em->em_sb.s_incompat & INCOMPAT_EA_INODE))
			return ext2_corrupt(em, "inode %u: attribute value in inode %u without ea_inode", ip->i_ino,
					    x->inum);
		error = ea_load(em, ip->i_ino, x->inum, x->size, &vip);
		if (error)
			return error;
		x->ihash = (uint32_t)vip->i_atime.tv_sec;
		ext2_inode_free(vip);
	}
	return 0;
}

struct ea_list {
	uint32_t *inum;
	uint32_t n, cap;
	bool blk_shared;
};

static int
ea_note(void *ctx, const struct ext2_xattr_item *it)
{
	struct ea_list *l = ctx;

	if (it->inum == 0 || (it->inblock && l->blk_shared))
		return 0;
	if (l->n == l->cap)
		return EUCLEAN;
	l->inum[l->n++] = it->inum;
	return 0;
}

/* Is ip's external block shared with other inodes? */
static int
blk_shared(struct ext2_mount *em, struct ext2_inode *ip, bool *sharedp)
{
	struct buf *bp;
	int error;

	*sharedp = false;
	if (ip->i_file_acl == 0)
		return 0;
	error = ext2_bread(em, ip->i_file_acl, &bp);
	if (error)
		return error;
	*sharedp = le32dec((uint8_t *)bp->b_data + XH_REFCOUNT) > 1;
	brelse(bp);
	return 0;
}

int
ext2_xattr_ea_release(struct ext2_mount *em, struct ext2_inode *ip)
{
	struct ea_list l = { 0 };
	int error;

	/* A value inode's own attributes name no value inodes. */
	if (!(em->em_sb.s_incompat & INCOMPAT_EA_INODE) || (ip->i_flags & EXT4_EA_INODE_FL))
		return 0;
	/* At most an entry per 16 bytes of the body and the block. */
	l.cap = (em->em_bsize + em->em_sb.s_inode_size) / XE_HEAD_SIZE + 2;
	l.inum = kmem_alloc(&ext2_kmem, l.cap * sizeof(*l.inum));
	if (l.inum == NULL)
		return ENOMEM;
	error = blk_shared(em, ip, &l.blk_shared);
	if (!error)
		error = ext2_xattr_foreach(em, ip, ea_note, &l);
	/* Damaged attributes (logged) do not keep the inode from being
	 * freed: the references read before the damage are dropped, and
	 * e2fsck counts the rest. */
	if (error == EUCLEAN)
		error = 0;
	/* The block's entries go with the block, when it is not shared. */
	for (uint32_t i = 0; i < l.n && !error; i++) {
		error = ea_ref(em, ip->i_ino, l.inum[i], -1);
		if (error == EUCLEAN)
			error = 0;
	}
	kmem_free(&ext2_kmem, l.inum, l.cap * sizeof(*l.inum));
	return error;
}

/* Set (value not NULL) or remove attribute suffix of namespace index. */
static int
set_indexed(struct ext2_mount *em, struct ext2_inode *ip, uint8_t index, const char *suffix, const void *value,
	    size_t size, int flags)
{
	struct xa_set s = { 0 };
	struct xa old = { 0 };
	uint8_t *acl = NULL;
	size_t aclsize = size + 4;
	uint32_t found = UINT32_MAX, nblock, slen, newinum = 0;
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
	error = blk_shared(em, ip, &s.blk_shared);
	if (!error)
		error = ext2_xattr_foreach(em, ip, xa_collect, &s);
	if (!error)
		error = ea_hashes(em, ip, &s);
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
	if (found != UINT32_MAX) {
		old = s.v[found];
		s.v[found] = s.v[--s.n];
	}
	if (value != NULL) {
		struct ext2_xattr_item it = { index, suffix, slen, value, (uint32_t)size, 0, false };
		bool own = ea_ok(em, index) && XA_PAD((uint32_t)size) > ea_large(em);

		if (!own) {
			error = xa_add(&s, &it);
			if (error)
				goto out;
			xa_sort(&s);
			error = xa_place(em, ip, &s, &nblock);
			if (error == ENOSPC && ea_ok(em, index)) {
				/* No room: the value goes to an inode of its own. */
				for (uint32_t i = 0; i < s.n; i++) {
					if (s.v[i].index == index && s.v[i].namelen == slen &&
					    memcmp(s.v[i].name, suffix, slen) == 0) {
						s.v[i] = s.v[--s.n];
						break;
					}
				}
				own = true;
			} else if (error) {
				goto out;
			}
		}
		if (own) {
			uint32_t hash = 0;

			error = ea_new(em, ip, value, (uint32_t)size, &newinum, &hash);
			if (error)
				goto out;
			it.inum = newinum;
			error = xa_add(&s, &it);
			if (error)
				goto out;
			s.v[s.n - 1].ihash = hash;
			xa_sort(&s);
			error = xa_place(em, ip, &s, &nblock);
			if (error)
				goto out;
		}
	} else {
		xa_sort(&s);
		error = xa_place(em, ip, &s, &nblock);
		if (error)
			goto out;
	}
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
	/* References of value inodes: the new one's is taken; entries copied
	 * out of a shared block add one, the block keeping its own; the old
	 * value's goes with it, unless a shared block keeps it. The owner's
	 * i_blocks counts the values it names. */
	if (newinum != 0)
		ip->i_blocks512 += ea_blocks512(em, (uint32_t)size);
	newinum = 0;
	for (uint32_t i = 0; i < s.n && !error; i++)
		if (s.v[i].inum != 0 && s.v[i].shared)
			error = ea_ref(em, ip->i_ino, s.v[i].inum, +1);
	if (!error && old.inum != 0) {
		ip->i_blocks512 -= MIN(ip->i_blocks512, ea_blocks512(em, old.size));
		if (!old.shared)
			error = ea_ref(em, ip->i_ino, old.inum, -1);
	}
	if (error)
		goto out;
	ext2_now(&ip->i_ctime);
	error = ext2_inode_write(em, ip);
out:
	if (newinum != 0)
		(void)ea_ref(em, ip->i_ino, newinum, -1);
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
