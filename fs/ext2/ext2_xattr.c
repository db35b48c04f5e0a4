/*
 * Extended attributes, read side: in the inode's extra space after
 * i_extra_isize (a magic number, then entries whose values follow in the
 * same space) and in one external block named by i_file_acl (a 32-byte
 * header, entries, values at offsets from the block start). Names are
 * stored without their namespace prefix, as a small index; POSIX ACLs are
 * stored in ext4's compact format and converted to the VFS's on the way out.
 *
 * Every entry and value is checked to lie inside its region before use;
 * the external block's checksum is verified with metadata_csum. Inode
 * decoding finds system.data (inline data) here too, before the inode has
 * a mount to log to (ext2_xattr_ibody_find).
 */
#include "fs/ext2/ext2.h"

struct xattr_region {
	const uint8_t *ents; /* first entry */
	size_t entlen;       /* bytes from ents to the end of the region */
	const uint8_t *vbase; /* value offsets count from here */
	size_t vlen;
	const char *where;   /* for log lines: "inode" or "block" */
};

struct xattr_ent {
	uint8_t index;
	uint8_t namelen;
	const char *name;
	const uint8_t *value;
	uint32_t size;
	bool ea_inode;
	uint32_t inum; /* ea_inode: the inode holding the value */
};

static const struct {
	uint8_t index;
	const char *prefix;
} xattr_ns[] = {
	{ XATTR_INDEX_USER, "user." },
	{ XATTR_INDEX_POSIX_ACL_ACCESS, "system.posix_acl_access" },
	{ XATTR_INDEX_POSIX_ACL_DEFAULT, "system.posix_acl_default" },
	{ XATTR_INDEX_TRUSTED, "trusted." },
	{ XATTR_INDEX_SECURITY, "security." },
	{ XATTR_INDEX_SYSTEM, "system." },
};

static const char *
ns_prefix(uint8_t index)
{
	for (size_t i = 0; i < ARRAY_SIZE(xattr_ns); i++)
		if (xattr_ns[i].index == index)
			return xattr_ns[i].prefix;
	return NULL;
}

/* Split a full name into namespace index and stored suffix. */
static int
ns_split(const char *name, uint8_t *indexp, const char **suffixp)
{
	for (size_t i = 0; i < ARRAY_SIZE(xattr_ns); i++) {
		size_t plen = strlen(xattr_ns[i].prefix);

		if (strncmp(name, xattr_ns[i].prefix, plen) != 0)
			continue;
		/* The ACL names are whole; the others need a suffix. */
		if (xattr_ns[i].index == XATTR_INDEX_POSIX_ACL_ACCESS ||
		    xattr_ns[i].index == XATTR_INDEX_POSIX_ACL_DEFAULT) {
			if (name[plen] != '\0')
				continue;
		} else if (name[plen] == '\0') {
			return ENODATA;
		}
		*indexp = xattr_ns[i].index;
		*suffixp = name + plen;
		return 0;
	}
	return ENOTSUP;
}

/* 0 and the entry at *posp (advanced), ENOENT at the end, or EUCLEAN
 * (not logged: inode decoding has no mount to log to). */
static int
region_parse(const struct xattr_region *r, size_t *posp, struct xattr_ent *e)
{
	size_t pos = *posp, entsize;
	const uint8_t *p;
	uint32_t offs;

	if (r->entlen < 4 || pos > r->entlen - 4)
		return EUCLEAN;
	p = r->ents + pos;
	if (le32dec(p) == 0)
		return ENOENT;
	if (r->entlen - pos < XE_HEAD_SIZE)
		return EUCLEAN;
	e->namelen = p[XE_NAME_LEN];
	e->index = p[XE_NAME_INDEX];
	entsize = (XE_HEAD_SIZE + (size_t)e->namelen + 3) & ~(size_t)3;
	if (entsize > r->entlen - pos)
		return EUCLEAN;
	e->name = (const char *)p + XE_NAME;
	e->size = le32dec(p + XE_VALUE_SIZE);
	e->inum = le32dec(p + XE_VALUE_INUM);
	e->ea_inode = e->inum != 0;
	offs = le16dec(p + XE_VALUE_OFFS);
	e->value = NULL;
	if (!e->ea_inode) {
		if (offs > r->vlen || e->size > r->vlen - offs)
			return EUCLEAN;
		e->value = r->vbase + offs;
	}
	*posp = pos + entsize;
	return 0;
}

/* region_parse, with a log line for a bad entry. */
static int
region_next(struct ext2_mount *em, struct ext2_inode *ip, const struct xattr_region *r, size_t *posp,
	    struct xattr_ent *e)
{
	int error = region_parse(r, posp, e);

	if (error == EUCLEAN)
		return ext2_corrupt(em, "inode %u: bad extended attribute entry in the %s at %zu", ip->i_ino,
				    r->where, *posp);
	return error;
}

/* The attribute space after the extra fields of a raw inode of rawsize
 * bytes, if it starts with the magic number. */
static bool
raw_region(const uint8_t *raw, size_t rawsize, uint16_t extra_isize, struct xattr_region *r)
{
	size_t start = EXT2_GOOD_OLD_INODE_SIZE + (size_t)extra_isize;

	if (rawsize <= EXT2_GOOD_OLD_INODE_SIZE || start + 4 > rawsize)
		return false;
	if (le32dec(raw + start) != EXT2_XATTR_MAGIC)
		return false;
	r->ents = raw + start + 4;
	r->entlen = rawsize - start - 4;
	r->vbase = r->ents;
	r->vlen = r->entlen;
	r->where = "inode";
	return true;
}

static bool
inode_region(struct ext2_inode *ip, struct xattr_region *r)
{
	return raw_region(ip->i_raw, ip->i_rawsize, ip->i_extra_isize, r);
}

int
ext2_xattr_ibody_find(const uint8_t *raw, uint32_t rawsize, uint16_t extra_isize, uint8_t index,
		      const char *name, size_t namelen, uint32_t *offp, uint32_t *lenp)
{
	struct xattr_region r;
	struct xattr_ent e;
	size_t pos = 0;
	int error;

	if (!raw_region(raw, rawsize, extra_isize, &r))
		return ENODATA;
	while ((error = region_parse(&r, &pos, &e)) == 0) {
		if (e.index != index || e.namelen != namelen || memcmp(e.name, name, namelen) != 0)
			continue;
		/* A value in another inode (ea_inode) is not supported. */
		if (e.ea_inode)
			return EUCLEAN;
		*offp = (uint32_t)(e.value - raw);
		*lenp = e.size;
		return 0;
	}
	return error == ENOENT ? ENODATA : error;
}

/* Read and check the external block; *bpp NULL if there is none. */
static int
block_region(struct ext2_mount *em, struct ext2_inode *ip, struct buf **bpp, struct xattr_region *r)
{
	const uint8_t *blk;
	int error;

	*bpp = NULL;
	if (ip->i_file_acl == 0)
		return 0;
	error = ext2_bread(em, ip->i_file_acl, bpp);
	if (error)
		return error;
	blk = (*bpp)->b_data;
	if (le32dec(blk + XH_MAGIC) != EXT2_XATTR_MAGIC || le32dec(blk + XH_BLOCKS) != 1) {
		error = ext2_corrupt(em, "inode %u: bad extended attribute block %llu", ip->i_ino,
				     (unsigned long long)ip->i_file_acl);
		goto fail;
	}
	if (em->em_csum &&
	    le32dec(blk + XH_CHECKSUM) != ext2_xattr_block_csum(&em->em_sb, ip->i_file_acl, blk, em->em_bsize)) {
		error = ext2_corrupt(em, "inode %u: extended attribute block %llu checksum mismatch", ip->i_ino,
				     (unsigned long long)ip->i_file_acl);
		goto fail;
	}
	r->ents = blk + XH_SIZE;
	r->entlen = em->em_bsize - XH_SIZE;
	r->vbase = blk;
	r->vlen = em->em_bsize;
	r->where = "block";
	return 0;
fail:
	brelse(*bpp);
	*bpp = NULL;
	return error;
}

/* Convert an ext4 ACL (version 1, short entries without an id) into the
 * VFS format (version 2, 8-byte entries); out NULL: size only. */
static int
acl_convert(struct ext2_mount *em, struct ext2_inode *ip, const uint8_t *v, size_t len, uint8_t *out,
	    size_t *outlenp)
{
	size_t pos = 4, n = 0;

	if (len < 4 || le32dec(v) != EXT4_ACL_VERSION)
		return ext2_corrupt(em, "inode %u: bad ACL", ip->i_ino);
	if (out != NULL)
		le32enc(out, POSIX_ACL_XATTR_VERSION);
	while (pos < len) {
		uint16_t tag, perm;
		uint32_t id = ACL_UNDEFINED_ID;

		if (len - pos < 4)
			return ext2_corrupt(em, "inode %u: bad ACL", ip->i_ino);
		tag = le16dec(v + pos);
		perm = le16dec(v + pos + 2);
		if (tag == ACL_USER || tag == ACL_GROUP) {
			if (len - pos < 8)
				return ext2_corrupt(em, "inode %u: bad ACL", ip->i_ino);
			id = le32dec(v + pos + 4);
			pos += 8;
		} else if (tag == ACL_USER_OBJ || tag == ACL_GROUP_OBJ || tag == ACL_MASK || tag == ACL_OTHER) {
			pos += 4;
		} else {
			return ext2_corrupt(em, "inode %u: bad ACL tag %#x", ip->i_ino, tag);
		}
		if (out != NULL) {
			uint8_t *o = out + 4 + 8 * n;

			le16enc(o, tag);
			le16enc(o + 2, perm);
			le32enc(o + 4, id);
		}
		n++;
	}
	*outlenp = 4 + 8 * n;
	return 0;
}

/*
 * A value kept in an inode of its own (ea_inode): a regular file flagged
 * as holding an attribute value, exactly the entry's size, read like file
 * data into buf (*sizep bytes, 0 to ask the size). Only user, trusted and
 * security values go there.
 */
static int
ea_inode_get(struct ext2_mount *em, struct ext2_inode *ip, const struct xattr_ent *e, void *buf, size_t *sizep)
{
	struct ext2_inode *vip;
	struct anyk_iovec iov;
	struct uio uio;
	int error;

	if (!(em->em_sb.s_incompat & INCOMPAT_EA_INODE) || e->size > ANYK_XATTR_SIZE_MAX ||
	    e->inum == ip->i_ino)
		return ext2_corrupt(em, "inode %u: attribute value in inode %u (%u bytes) not allowed", ip->i_ino,
				    e->inum, e->size);
	if (*sizep == 0) {
		*sizep = e->size;
		return 0;
	}
	if (*sizep < e->size)
		return ERANGE;
	error = ext2_inode_load(em, e->inum, &vip);
	if (error)
		return error;
	if (!ANYK_S_ISREG(vip->i_mode) || !(vip->i_flags & EXT4_EA_INODE_FL) || vip->i_size != e->size ||
	    ext2_is_inline(vip)) {
		error = ext2_corrupt(em, "inode %u: attribute value inode %u is not one of %u bytes", ip->i_ino,
				     e->inum, e->size);
	} else {
		uio_init_kernel(&uio, &iov, buf, e->size, 0, UIO_READ);
		error = ext2_read(em, vip, &uio);
		if (!error && uio.uio_resid != 0)
			error = ext2_corrupt(em, "inode %u: attribute value inode %u short", ip->i_ino, e->inum);
	}
	ext2_inode_free(vip);
	if (!error)
		*sizep = e->size;
	return error;
}

static int
region_get(struct ext2_mount *em, struct ext2_inode *ip, const struct xattr_region *r, uint8_t index,
	   const char *suffix, void *buf, size_t *sizep)
{
	size_t slen = strlen(suffix), pos = 0, outlen;
	struct xattr_ent e;
	int error;

	while ((error = region_next(em, ip, r, &pos, &e)) == 0) {
		if (e.index != index || e.namelen != slen || memcmp(e.name, suffix, slen) != 0)
			continue;
		if (e.ea_inode && (index == XATTR_INDEX_POSIX_ACL_ACCESS || index == XATTR_INDEX_POSIX_ACL_DEFAULT))
			return ext2_corrupt(em, "inode %u: ACL kept in inode %u", ip->i_ino, e.inum);
		if (e.ea_inode)
			return ea_inode_get(em, ip, &e, buf, sizep);
		if (index == XATTR_INDEX_POSIX_ACL_ACCESS || index == XATTR_INDEX_POSIX_ACL_DEFAULT) {
			error = acl_convert(em, ip, e.value, e.size, NULL, &outlen);
			if (error)
				return error;
			if (*sizep != 0) {
				if (*sizep < outlen)
					return ERANGE;
				acl_convert(em, ip, e.value, e.size, buf, &outlen);
			}
			*sizep = outlen;
			return 0;
		}
		if (*sizep != 0) {
			if (*sizep < e.size)
				return ERANGE;
			memcpy(buf, e.value, e.size);
		}
		*sizep = e.size;
		return 0;
	}
	return error == ENOENT ? ENODATA : error;
}

int
ext2_getxattr(struct ext2_mount *em, struct ext2_inode *ip, const char *name, void *buf, size_t *sizep)
{
	struct xattr_region r;
	const char *suffix;
	struct buf *bp;
	uint8_t index;
	int error;

	error = ns_split(name, &index, &suffix);
	if (error)
		return error;
	if (inode_region(ip, &r)) {
		error = region_get(em, ip, &r, index, suffix, buf, sizep);
		if (error != ENODATA)
			return error;
	}
	error = block_region(em, ip, &bp, &r);
	if (error)
		return error;
	if (bp == NULL)
		return ENODATA;
	error = region_get(em, ip, &r, index, suffix, buf, sizep);
	brelse(bp);
	return error;
}

/* Append the region's names to buf (if not NULL) at *lenp. */
static int
region_list(struct ext2_mount *em, struct ext2_inode *ip, const struct xattr_region *r, char *buf,
	    size_t bufsize, size_t *lenp)
{
	struct xattr_ent e;
	size_t pos = 0, plen, need;
	const char *prefix;
	int error;

	while ((error = region_next(em, ip, r, &pos, &e)) == 0) {
		/* The system namespace is not listed, as Linux does not list
		 * it: none of its names can be read (the system calls answer
		 * ENOTSUP), and the one ext4 writes, system.data, is the
		 * inline part of the file's data (ext2_inline.c). */
		if (e.index == XATTR_INDEX_SYSTEM)
			continue;
		prefix = ns_prefix(e.index);
		if (prefix == NULL)
			continue;
		plen = strlen(prefix);
		need = plen + e.namelen + 1;
		if (buf != NULL) {
			if (bufsize - *lenp < need)
				return ERANGE;
			memcpy(buf + *lenp, prefix, plen);
			memcpy(buf + *lenp + plen, e.name, e.namelen);
			buf[*lenp + plen + e.namelen] = '\0';
		}
		*lenp += need;
	}
	return error == ENOENT ? 0 : error;
}

int
ext2_listxattr(struct ext2_mount *em, struct ext2_inode *ip, char *buf, size_t *sizep)
{
	struct xattr_region r;
	struct buf *bp = NULL;
	char *out = *sizep != 0 ? buf : NULL;
	size_t len = 0;
	int error = 0;

	if (inode_region(ip, &r)) {
		error = region_list(em, ip, &r, out, *sizep, &len);
		if (error)
			return error;
	}
	error = block_region(em, ip, &bp, &r);
	if (error)
		return error;
	if (bp != NULL) {
		error = region_list(em, ip, &r, out, *sizep, &len);
		brelse(bp);
		if (error)
			return error;
	}
	*sizep = len;
	return 0;
}

int
ext2_xattr_ns_split(const char *name, uint8_t *indexp, const char **suffixp)
{
	return ns_split(name, indexp, suffixp);
}

/* Every attribute of the inode, the body's first, to fn (the write side
 * rebuilds the whole set). Stops at fn's first error. */
int
ext2_xattr_foreach(struct ext2_mount *em, struct ext2_inode *ip, ext2_xattr_fn fn, void *ctx)
{
	struct xattr_region r;
	struct xattr_ent e;
	struct buf *bp;
	size_t pos;
	int error;

	if (inode_region(ip, &r)) {
		pos = 0;
		while ((error = region_next(em, ip, &r, &pos, &e)) == 0) {
			struct ext2_xattr_item it = { e.index, e.name, e.namelen, e.value, e.size, e.inum, false };

			error = fn(ctx, &it);
			if (error)
				return error;
		}
		if (error != ENOENT)
			return error;
	}
	error = block_region(em, ip, &bp, &r);
	if (error || bp == NULL)
		return error;
	pos = 0;
	while ((error = region_next(em, ip, &r, &pos, &e)) == 0) {
		struct ext2_xattr_item it = { e.index, e.name, e.namelen, e.value, e.size, e.inum, true };

		error = fn(ctx, &it);
		if (error)
			break;
	}
	brelse(bp);
	return error == ENOENT ? 0 : error;
}
