/*
 * Directories: blocks of variable-length entries (inode, record length,
 * name length, file type, name), optionally ending in a 12-byte checksum
 * tail. Lookup tries the hash index first (ext2_htree.c) and scans the
 * blocks linearly when there is none or it cannot be trusted; readdir
 * always walks the blocks in order, and its cookies are byte positions in
 * the directory, so they stay valid for as long as the directory does.
 *
 * Every entry is checked before use: record length at least 12, a multiple
 * of four and inside the block, the name inside the record, the inode
 * number inside the file system.
 *
 * A directory with inline data (ext2_inline.c) has no blocks: its entries
 * are in i_block after the parent's inode number and go on in system.data's
 * value, each area walked and checked like a block. "." and ".." are not
 * stored there, so readdir makes them up and lookup takes ".." from the
 * parent's number; cookies are the positions the entries will have in a
 * block (EXT2_INLINE_COOKIE_SHIFT).
 */
#include "fs/ext2/ext2.h"

struct dirent_it {
	const uint8_t *blk;
	uint32_t pos, end;
	uint32_t base; /* inline data: the area's position in the directory */
	bool inl;
};

struct ext2_dirent {
	uint32_t d_ino;
	uint32_t d_pos;
	uint32_t d_reclen;
	uint32_t d_namelen;
	uint8_t d_type;
	const char *d_name;
};

/* Blocks of the index (its root, block 0, and interior nodes, which look
 * like one empty entry over the whole block) carry no entries and no tail. */
static bool
is_dx_block(const struct ext2_mount *em, const struct ext2_inode *dp, uint64_t lblk, const uint8_t *blk)
{
	if (!(dp->i_flags & EXT2_INDEX_FL))
		return false;
	if (lblk == 0)
		return true;
	return le32dec(blk + DE_INODE) == 0 && ext2_de_reclen(em, blk) == em->em_bsize;
}

static bool
has_tail(const struct ext2_mount *em, const uint8_t *blk)
{
	const uint8_t *t = blk + em->em_bsize - EXT2_DIR_TAIL_SIZE;

	return le32dec(t + DE_INODE) == 0 && le16dec(t + DE_REC_LEN) == EXT2_DIR_TAIL_SIZE &&
	       t[DE_NAME_LEN] == 0 && t[DE_FILE_TYPE] == EXT2_DIR_TAIL_FT;
}

/* Where a block's entries end: before the checksum tail, if it has one. */
static uint32_t
dirblock_end(const struct ext2_mount *em, const struct ext2_inode *dp, uint64_t lblk, const uint8_t *blk)
{
	if (!is_dx_block(em, dp, lblk, blk) && has_tail(em, blk))
		return em->em_bsize - EXT2_DIR_TAIL_SIZE;
	return em->em_bsize;
}

/* Check a block's checksum, unless its buffer is marked sound, and set up
 * walking its entries. */
static int
dirblock_open(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, const struct buf *bp,
	      struct dirent_it *it)
{
	const uint8_t *blk = bp->b_data;

	it->blk = blk;
	it->pos = 0;
	it->end = dirblock_end(em, dp, lblk, blk);
	it->base = 0;
	it->inl = false;
	if (bp->b_checked == ext2_dirblock_mark(dp, lblk) || is_dx_block(em, dp, lblk, blk) || !em->em_csum)
		return 0;
	if (it->end == em->em_bsize)
		return ext2_corrupt(em, "directory inode %u block %llu: no checksum tail", dp->i_ino,
				    (unsigned long long)lblk);
	if (!ext2_dirblock_csum_ok(dp, blk, em->em_bsize))
		return ext2_corrupt(em, "directory inode %u block %llu: checksum mismatch", dp->i_ino,
				    (unsigned long long)lblk);
	return 0;
}

/* 0 and the next entry, ENOENT at the end of the block, or EUCLEAN. */
static int
dirent_next(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct dirent_it *it,
	    struct ext2_dirent *de)
{
	const uint8_t *p;

	if (it->pos >= it->end)
		return ENOENT;
	if (it->end - it->pos < EXT2_DIR_ENTRY_MIN)
		goto bad;
	p = it->blk + it->pos;
	de->d_pos = it->base + it->pos;
	de->d_ino = le32dec(p + DE_INODE);
	de->d_reclen = ext2_de_reclen(em, p);
	if (em->em_filetype) {
		de->d_namelen = p[DE_NAME_LEN];
		de->d_type = p[DE_FILE_TYPE];
	} else {
		de->d_namelen = le16dec(p + DE_NAME_LEN);
		de->d_type = EXT2_FT_UNKNOWN;
	}
	de->d_name = (const char *)p + DE_NAME;
	if (de->d_reclen < EXT2_DIR_ENTRY_MIN || (de->d_reclen & 3) || de->d_reclen > it->end - it->pos ||
	    de->d_namelen > ANYK_NAME_MAX || DE_NAME + de->d_namelen > de->d_reclen ||
	    de->d_ino > em->em_sb.s_inodes_count || (de->d_ino != 0 && de->d_namelen == 0))
		goto bad;
	it->pos += de->d_reclen;
	return 0;
bad:
	if (it->inl)
		return ext2_corrupt(em, "directory inode %u inline data: bad entry at byte %u", dp->i_ino,
				    it->base + it->pos);
	return ext2_corrupt(em, "directory inode %u block %llu: bad entry at offset %u", dp->i_ino,
			    (unsigned long long)lblk, it->pos);
}

int
ext2_dir_readblock(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct buf **bpp)
{
	struct ext2_map map;
	int error;

	*bpp = NULL;
	if (lblk >= dp->i_size >> em->em_sb.s_bshift)
		return ext2_corrupt(em, "directory inode %u: block %llu past its end", dp->i_ino,
				    (unsigned long long)lblk);
	error = ext2_bmap(em, dp, lblk, 1, &map);
	if (error)
		return error;
	if (map.m_pblk == 0 || map.m_unwritten)
		return ext2_corrupt(em, "directory inode %u: hole at block %llu", dp->i_ino,
				    (unsigned long long)lblk);
	return ext2_bread(em, map.m_pblk, bpp);
}

/* Check the whole block: its checksum and every entry. */
static int
dirblock_check(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, const struct buf *bp)
{
	struct dirent_it it;
	struct ext2_dirent de;
	int error;

	error = dirblock_open(em, dp, lblk, bp, &it);
	if (error)
		return error;
	while ((error = dirent_next(em, dp, lblk, &it, &de)) == 0)
		;
	return error == ENOENT ? 0 : error;
}

/* Search a block known to be sound for fn. The bounds are still kept, so
 * that even a mark left by mistake cannot take the walk outside the block. */
static int
dirblock_scan(const struct ext2_mount *em, const uint8_t *blk, uint32_t end, const struct ext2_fname *fn,
	      uint32_t *inop)
{
	const bool exact = fn->cflen < 0;
	const uint8_t last = (uint8_t)fn->name[fn->len - 1];
	uint32_t pos = 0, reclen, nl;
	const uint8_t *p;
	bool hit;

	while (end - pos >= EXT2_DIR_ENTRY_MIN) {
		p = blk + pos;
		reclen = ext2_de_reclen(em, p);
		nl = em->em_filetype ? p[DE_NAME_LEN] : le16dec(p + DE_NAME_LEN);
		if (reclen < EXT2_DIR_ENTRY_MIN || reclen > end - pos || DE_NAME + nl > reclen)
			break;
		/* Names of a directory often share a prefix ("file-0001"):
		 * their last bytes tell most of them apart at once. */
		if (exact)
			hit = nl == fn->len && p[DE_NAME + nl - 1] == last && memcmp(p + DE_NAME, fn->name, nl) == 0;
		else
			hit = ext2_fname_match(fn, p + DE_NAME, nl);
		if (hit && le32dec(p + DE_INODE) != 0) {
			*inop = le32dec(p + DE_INODE);
			return 0;
		}
		pos += reclen;
	}
	return ENOENT;
}

/*
 * Look a name up in one block of a directory. The first search of a block
 * checks all of it and marks its buffer; later ones, until the buffer
 * changes, only scan. A block that fails the check is searched entry by
 * entry as far as the name, so that the names before a damaged entry can
 * still be found (and the damage is reported only past them).
 */
int
ext2_dirblock_search(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct buf *bp,
		     const struct ext2_fname *fn, uint32_t *inop)
{
	const uint64_t mark = ext2_dirblock_mark(dp, lblk);
	const uint8_t *blk = bp->b_data;
	struct dirent_it it;
	struct ext2_dirent de;
	int error;

	if (fn->len == 0)
		return ENOENT;
	if (bp->b_checked != mark && dirblock_check(em, dp, lblk, bp) == 0)
		bp->b_checked = mark;
	if (bp->b_checked == mark)
		return dirblock_scan(em, blk, dirblock_end(em, dp, lblk, blk), fn, inop);
	error = dirblock_open(em, dp, lblk, bp, &it);
	if (error)
		return error;
	while ((error = dirent_next(em, dp, lblk, &it, &de)) == 0) {
		if (de.d_ino != 0 && ext2_fname_match(fn, (const uint8_t *)de.d_name, de.d_namelen)) {
			*inop = de.d_ino;
			return 0;
		}
	}
	return error;
}

static int
linear_lookup(struct ext2_mount *em, struct ext2_inode *dp, const struct ext2_fname *fn, uint32_t *inop)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift;
	struct buf *bp;
	int error = ENOENT;

	for (uint64_t lblk = 0; lblk < nblocks; lblk++) {
		error = ext2_dir_readblock(em, dp, lblk, &bp);
		if (error)
			return error;
		error = ext2_dirblock_search(em, dp, lblk, bp, fn, inop);
		brelse(bp);
		if (error != ENOENT)
			return error;
	}
	return ENOENT;
}

/*
 * Names in case-insensitive directories (see ext2.h). The name looked for
 * is folded once; an entry is folded as it is compared, unless its bytes
 * are the name's.
 */
int
ext2_fname_init(const struct ext2_mount *em, const struct ext2_inode *dp, const char *name, size_t len,
		struct ext2_fname *fn)
{
	fn->name = name;
	fn->len = len;
	fn->cflen = -1;
	if (!ext2_casefolded(em, dp) || len == 0)
		return 0;
	fn->cflen = utf8_fold(name, len, fn->cf);
	if (fn->cflen < 0 && (em->em_sb.s_encoding_flags & EXT4_ENC_STRICT_MODE_FL))
		return EINVAL;
	return 0;
}

bool
ext2_fname_match(const struct ext2_fname *fn, const uint8_t *ename, size_t elen)
{
	char cf[UTF8_FOLD_MAX];
	size_t i;
	int n;

	if (elen == fn->len && memcmp(ename, fn->name, elen) == 0)
		return true;
	if (fn->cflen < 0)
		return false;
	/* An ASCII character folds to its lower case, alone (it is a
	 * starter: no mark moves across it), so most entries are told apart
	 * without folding them: byte by byte, as far as they are ASCII. The
	 * rest, from the first other byte on, folds on its own. */
	for (i = 0; i < elen && ename[i] < 0x80 && ename[i] != 0; i++) {
		uint8_t c = ename[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (i >= (size_t)fn->cflen || (uint8_t)fn->cf[i] != c)
			return false;
	}
	if (i == elen)
		return i == (size_t)fn->cflen;
	/* An entry that is not UTF-8 matches only its own bytes. */
	n = utf8_fold((const char *)ename + i, elen - i, cf);
	return n >= 0 && (size_t)n == (size_t)fn->cflen - i && memcmp(cf, fn->cf + i, (size_t)n) == 0;
}

int
ext2_fname_hash(const struct ext2_mount *em, const struct ext2_fname *fn, int version, uint32_t *hashp)
{
	if (fn->cflen >= 0)
		return ext2_dirhash(fn->cf, (size_t)fn->cflen, version, em->em_sb.s_hash_seed, hashp, NULL);
	return ext2_dirhash(fn->name, fn->len, version, em->em_sb.s_hash_seed, hashp, NULL);
}

int
ext2_name_hash(const struct ext2_mount *em, const struct ext2_inode *dp, const char *name, size_t len,
	       int version, uint32_t *hashp)
{
	char cf[UTF8_FOLD_MAX];
	int n;

	if (ext2_casefolded(em, dp) && len > 0 && (n = utf8_fold(name, len, cf)) >= 0)
		return ext2_dirhash(cf, (size_t)n, version, em->em_sb.s_hash_seed, hashp, NULL);
	return ext2_dirhash(name, len, version, em->em_sb.s_hash_seed, hashp, NULL);
}

/* Area 0 of an inline directory is i_block past the parent's number, area
 * 1 system.data's value; positions run on from i_block into the value. */
static int
inline_area_open(struct ext2_mount *em, struct ext2_inode *dp, int area, struct dirent_it *it)
{
	it->inl = true;
	if (area == 0) {
		it->blk = dp->i_block;
		it->pos = EXT2_INLINE_PARENT_SIZE;
		it->end = EXT2_I_BLOCK_SIZE;
		it->base = 0;
		return 0;
	}
	it->blk = ext2_inline_value(dp);
	if (it->blk == NULL)
		return ext2_corrupt(em, "directory inode %u: its inline data is missing", dp->i_ino);
	it->pos = 0;
	it->end = dp->i_inline_len;
	it->base = EXT2_I_BLOCK_SIZE;
	return 0;
}

struct inline_want {
	const struct ext2_fname *fn;
	uint32_t ino;
};

static int
inline_match(void *ctx, const char *name, uint32_t namelen, uint32_t ino, uint8_t ft)
{
	struct inline_want *w = ctx;

	(void)ft;
	if (!ext2_fname_match(w->fn, (const uint8_t *)name, namelen))
		return 0;
	w->ino = ino;
	return EEXIST; /* found: stop */
}

static int
inline_lookup(struct ext2_mount *em, struct ext2_inode *dp, const struct ext2_fname *fn, uint32_t *inop)
{
	struct inline_want w = { fn, 0 };
	const char *name = fn->name;
	size_t namelen = fn->len;
	int error;

	if (namelen == 1 && name[0] == '.') {
		*inop = dp->i_ino;
		return 0;
	}
	if (namelen == 2 && name[0] == '.' && name[1] == '.') {
		*inop = le32dec(dp->i_block);
		return 0;
	}
	error = ext2_inline_dir_foreach(em, dp, inline_match, &w);
	if (error == EEXIST) {
		*inop = w.ino;
		return 0;
	}
	return error != 0 ? error : ENOENT;
}

int
ext2_dir_lookup(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t namelen, uint32_t *inop)
{
	bool dot = namelen == 1 && name[0] == '.';
	bool dotdot = namelen == 2 && name[0] == '.' && name[1] == '.';
	struct ext2_fname fn;
	int error;

	error = ext2_fname_init(em, dp, name, namelen, &fn);
	if (error)
		return error;
	error = EAGAIN;
	if (ext2_is_inline(dp)) {
		error = inline_lookup(em, dp, &fn, inop);
	} else if ((dp->i_flags & EXT2_INDEX_FL) && (em->em_sb.s_compat & COMPAT_DIR_INDEX) && !dot && !dotdot) {
		/* "." and ".." sit in the index root, ahead of the index. */
		error = ext2_htree_lookup(em, dp, &fn, inop);
		/* On EAGAIN ext2_htree_lookup said why; the entries are
		 * still there. */
	}
	if (error == EAGAIN)
		error = linear_lookup(em, dp, &fn, inop);
	/* Only "." and the root's ".." may name the directory itself: any
	 * other such entry would have the VFS lock a vnode it holds. */
	if (error == 0 && *inop == dp->i_ino && !dot && !(dotdot && dp->i_ino == EXT2_ROOT_INO))
		error = ext2_corrupt(em, "directory inode %u: entry \"%.*s\" names the directory itself",
				     dp->i_ino, (int)MIN(namelen, 64), name);
	return error;
}

static uint8_t
ft_to_dtype(uint8_t ft)
{
	static const uint8_t map[] = {
		[EXT2_FT_UNKNOWN] = ANYK_DT_UNKNOWN, [EXT2_FT_REG_FILE] = ANYK_DT_REG,
		[EXT2_FT_DIR] = ANYK_DT_DIR,         [EXT2_FT_CHRDEV] = ANYK_DT_CHR,
		[EXT2_FT_BLKDEV] = ANYK_DT_BLK,      [EXT2_FT_FIFO] = ANYK_DT_FIFO,
		[EXT2_FT_SOCK] = ANYK_DT_SOCK,       [EXT2_FT_SYMLINK] = ANYK_DT_LNK,
	};
	return ft < ARRAY_SIZE(map) ? map[ft] : ANYK_DT_UNKNOWN;
}

static int
inline_readdir(struct ext2_mount *em, struct ext2_inode *dp, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	struct dirent_it it;
	struct ext2_dirent de;
	int error;

	/* Cookies are the positions the entries take when the directory
	 * moves to a block (EXT2_INLINE_COOKIE_SHIFT): a reader in the
	 * middle of it goes on where it was. */
	if (cookie < EXT2_DIR_ENTRY_MIN && fill(ctx, ".", 1, dp->i_ino, ANYK_DT_DIR, EXT2_DIR_ENTRY_MIN) != 0)
		return 0;
	if (cookie < 2 * EXT2_DIR_ENTRY_MIN &&
	    fill(ctx, "..", 2, le32dec(dp->i_block), ANYK_DT_DIR, 2 * EXT2_DIR_ENTRY_MIN) != 0)
		return 0;
	for (int area = 0; area < 2; area++) {
		error = inline_area_open(em, dp, area, &it);
		while (error == 0 && (error = dirent_next(em, dp, 0, &it, &de)) == 0) {
			int64_t pos = (int64_t)de.d_pos + EXT2_INLINE_COOKIE_SHIFT;

			if (de.d_ino == 0 || pos < cookie)
				continue;
			if (fill(ctx, de.d_name, de.d_namelen, de.d_ino, ft_to_dtype(de.d_type), pos + de.d_reclen) != 0)
				return 0;
		}
		if (error != ENOENT)
			return error;
	}
	return 0;
}

int
ext2_inline_dir_foreach(struct ext2_mount *em, struct ext2_inode *dp, ext2_inline_dirent_fn fn, void *ctx)
{
	struct dirent_it it;
	struct ext2_dirent de;
	int error, r;

	for (int area = 0; area < 2; area++) {
		error = inline_area_open(em, dp, area, &it);
		while (error == 0 && (error = dirent_next(em, dp, 0, &it, &de)) == 0) {
			if (de.d_ino == 0)
				continue;
			r = fn(ctx, de.d_name, de.d_namelen, de.d_ino, de.d_type);
			if (r != 0)
				return r;
		}
		if (error != ENOENT)
			return error;
	}
	return 0;
}

int
ext2_dir_readdir(struct ext2_mount *em, struct ext2_inode *dp, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	unsigned bshift = em->em_sb.s_bshift;
	uint64_t nblocks = dp->i_size >> bshift, start;
	struct dirent_it it;
	struct ext2_dirent de;
	struct buf *bp;
	int error = 0;

	if (cookie < 0)
		return EINVAL;
	if (ext2_is_inline(dp))
		return inline_readdir(em, dp, cookie, fill, ctx);
	start = (uint64_t)cookie;
	for (uint64_t lblk = start >> bshift; lblk < nblocks; lblk++) {
		error = ext2_dir_readblock(em, dp, lblk, &bp);
		if (error)
			return error;
		error = dirblock_open(em, dp, lblk, bp, &it);
		while (error == 0 && (error = dirent_next(em, dp, lblk, &it, &de)) == 0) {
			uint64_t pos = (lblk << bshift) + de.d_pos;

			if (de.d_ino == 0 || pos < start)
				continue;
			if (fill(ctx, de.d_name, de.d_namelen, de.d_ino, ft_to_dtype(de.d_type),
				 (int64_t)(pos + de.d_reclen)) != 0) {
				brelse(bp);
				return 0;
			}
		}
		brelse(bp);
		if (error != ENOENT)
			return error;
		error = 0;
	}
	return 0;
}
