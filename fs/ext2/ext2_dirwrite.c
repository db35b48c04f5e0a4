/*
 * Changing directories: adding an entry (into the slack space of an
 * existing entry or a free one, else into a new block at the end),
 * removing one (its space joins the entry before it), pointing an entry at
 * another inode (rename over a name, ".." of a moved directory), and the
 * first block of a new directory. Every changed block gets its checksum
 * tail recomputed on metadata_csum file systems.
 *
 * Hash-indexed (htree) directories: names are added through the index
 * (ext2_dxwrite.c), which a one-block directory gets when it overflows, and
 * found through it for removal and renaming. An index that cannot be
 * maintained is dropped: its blocks are rewritten as empty directory
 * blocks, which leaves a valid linear directory (e2fsck -D can index it
 * again).
 *
 * The caller holds the directory's vnode lock exclusively.
 */
#include "fs/ext2/ext2.h"

#define REC_LEN(namelen) ((DE_NAME + (uint32_t)(namelen) + 3) & ~3u)

uint8_t
ext2_mode_to_ft(uint16_t mode)
{
	switch (mode & EXT2_S_IFMT) {
	case ANYK_S_IFREG: return EXT2_FT_REG_FILE;
	case ANYK_S_IFDIR: return EXT2_FT_DIR;
	case ANYK_S_IFCHR: return EXT2_FT_CHRDEV;
	case ANYK_S_IFBLK: return EXT2_FT_BLKDEV;
	case ANYK_S_IFIFO: return EXT2_FT_FIFO;
	case ANYK_S_IFSOCK: return EXT2_FT_SOCK;
	case ANYK_S_IFLNK: return EXT2_FT_SYMLINK;
	default: return EXT2_FT_UNKNOWN;
	}
}

static void
put_entry(const struct ext2_mount *em, uint8_t *p, uint32_t ino, uint32_t reclen, const char *name,
	  size_t len, uint8_t ft)
{
	le32enc(p + DE_INODE, ino);
	ext2_de_set_reclen(p, reclen);
	if (em->em_filetype) {
		p[DE_NAME_LEN] = (uint8_t)len;
		p[DE_FILE_TYPE] = ft;
	} else {
		le16enc(p + DE_NAME_LEN, (uint16_t)len);
	}
	memcpy(p + DE_NAME, name, len);
}

/* Where the entries of a block end: before the checksum tail, if any. */
void
ext2_dirblock_settail(struct ext2_mount *em, struct ext2_inode *dp, uint8_t *blk)
{
	uint8_t *t = blk + em->em_bsize - EXT2_DIR_TAIL_SIZE;

	if (!em->em_csum)
		return;
	memset(t, 0, EXT2_DIR_TAIL_SIZE);
	le16enc(t + DE_REC_LEN, EXT2_DIR_TAIL_SIZE);
	t[DE_FILE_TYPE] = EXT2_DIR_TAIL_FT;
	le32enc(t + DT_CSUM_OFF, crc32c(dp->i_csum_seed, blk, em->em_bsize - EXT2_DIR_TAIL_SIZE));
}

/* Read a directory block for changing it, checking its entries chain. */
int
ext2_dirblock_get(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct buf **bpp)
{
	const uint64_t mark = ext2_dirblock_mark(dp, lblk);
	uint32_t end = ext2_de_end(em), pos = 0;
	const uint8_t *blk;
	int error;

	error = ext2_dir_readblock(em, dp, lblk, bpp);
	if (error)
		return error;
	if ((*bpp)->b_checked == mark)
		return 0;
	blk = (*bpp)->b_data;
	if (em->em_csum && !ext2_dirblock_csum_ok(dp, blk, em->em_bsize))
		goto bad;
	while (pos < end) {
		const uint8_t *p = blk + pos;
		uint32_t rl, nl, ino;

		if (end - pos < EXT2_DIR_ENTRY_MIN)
			goto bad;
		rl = ext2_de_reclen(em, p);
		nl = ext2_de_namelen(em, p);
		ino = le32dec(p + DE_INODE);
		if (rl < EXT2_DIR_ENTRY_MIN || (rl & 3) || rl > end - pos || DE_NAME + nl > rl || nl > ANYK_NAME_MAX ||
		    ino > em->em_sb.s_inodes_count || (ino != 0 && nl == 0))
			goto bad;
		pos += rl;
	}
	/* At least what a search checks (ext2_dirblock_search): later
	 * searches and changes need not check it again. */
	(*bpp)->b_checked = mark;
	return 0;
bad:
	brelse(*bpp);
	*bpp = NULL;
	return ext2_corrupt(em, "directory inode %u block %llu: bad entries or checksum", dp->i_ino,
			    (unsigned long long)lblk);
}

/* Turn an indexed directory into a plain one (see the top of the file). */
static int
unindex(struct ext2_mount *em, struct ext2_inode *dp)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift;
	uint32_t end = ext2_de_end(em);
	struct buf *bp;
	uint8_t *blk;
	int error;

	for (uint64_t lblk = 0; lblk < nblocks; lblk++) {
		error = ext2_dir_readblock(em, dp, lblk, &bp);
		if (error)
			return error;
		blk = bp->b_data;
		if (lblk == 0) {
			/* "." then "..", whose record covered the index root. */
			uint32_t dotlen = ext2_de_reclen(em, blk);
			if (dotlen != EXT2_DIR_ENTRY_MIN || ext2_de_reclen(em, blk + dotlen) != em->em_bsize - dotlen) {
				brelse(bp);
				return ext2_corrupt(em, "directory inode %u: bad index root", dp->i_ino);
			}
			ext2_de_set_reclen(blk + dotlen, end - dotlen);
			memset(blk + dotlen + REC_LEN(ext2_de_namelen(em, blk + dotlen)), 0,
			       em->em_bsize - dotlen - REC_LEN(ext2_de_namelen(em, blk + dotlen)));
		} else if (le32dec(blk) == 0 && ext2_de_reclen(em, blk) == em->em_bsize) {
			memset(blk, 0, em->em_bsize);
			ext2_de_set_reclen(blk, end);
		} else {
			brelse(bp);
			continue;
		}
		ext2_dirblock_settail(em, dp, blk);
		ext2_mwrite(em, bp);
	}
	dp->i_flags &= ~EXT2_INDEX_FL;
	return ext2_inode_write(em, dp);
}

int
ext2_dir_newblock(struct ext2_mount *em, struct ext2_inode *dp, uint64_t *lblkp, struct buf **bpp)
{
	uint64_t lblk = dp->i_size >> em->em_sb.s_bshift;
	struct ext2_map map;
	struct buf *bp;
	bool isnew;
	int error;

	if (dp->i_size + em->em_bsize > ext2_maxfilesize(em, dp) ||
	    (!(em->em_sb.s_incompat & INCOMPAT_LARGEDIR) && dp->i_size + em->em_bsize > INT32_MAX))
		return EFBIG;
	error = ext2_map_alloc(em, dp, lblk, 1, &map, &isnew);
	if (!error && (dp->i_flags & EXT4_EXTENTS_FL))
		error = ext2_ext_store(em, dp);
	if (error)
		return error;
	error = getblk(em->em_bdev, map.m_pblk, em->em_bsize, &bp);
	if (error)
		return EIO;
	memset(bp->b_data, 0, em->em_bsize);
	dp->i_size += em->em_bsize;
	error = ext2_inode_write(em, dp);
	if (error) {
		brelse(bp);
		return error;
	}
	*lblkp = lblk;
	*bpp = bp;
	return 0;
}

static int
append_block(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino,
	     uint8_t ft)
{
	uint64_t lblk;
	struct buf *bp;
	int error;

	error = ext2_dir_newblock(em, dp, &lblk, &bp);
	if (error)
		return error;
	put_entry(em, bp->b_data, ino, ext2_de_end(em), name, len, ft);
	ext2_dirblock_settail(em, dp, bp->b_data);
	ext2_mwrite(em, bp);
	return 0;
}

/* Try to place the entry in block lblk: 0, or ENOSPC if it has no room. */
int
ext2_dirblock_add(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, const char *name, size_t len,
	     uint32_t ino, uint8_t ft)
{
	uint32_t need = REC_LEN(len), end = ext2_de_end(em), pos = 0;
	struct buf *bp;
	uint8_t *blk;
	int error;

	error = ext2_dirblock_get(em, dp, lblk, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	for (; pos < end; pos += ext2_de_reclen(em, blk + pos)) {
		uint8_t *p = blk + pos;
		uint32_t rl = ext2_de_reclen(em, p), used = le32dec(p + DE_INODE) ? REC_LEN(ext2_de_namelen(em, p)) : 0;

		if (rl - used < need)
			continue;
		if (used == 0) {
			put_entry(em, p, ino, rl, name, len, ft);
		} else {
			ext2_de_set_reclen(p, used);
			put_entry(em, p + used, ino, rl - used, name, len, ft);
		}
		ext2_dirblock_settail(em, dp, blk);
		ext2_mwrite_checked(em, bp, ext2_dirblock_mark(dp, lblk));
		return 0;
	}
	brelse(bp);
	return ENOSPC;
}

int
ext2_dir_add(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino, uint8_t ft)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift, start;
	int error;

	if (len == 0 || len > ANYK_NAME_MAX)
		return len == 0 ? ENOENT : ENAMETOOLONG;
	if (ext2_casefolded(em, dp) && (em->em_sb.s_encoding_flags & EXT4_ENC_STRICT_MODE_FL) &&
	    !utf8_valid(name, len))
		return EINVAL;
	error = ext2_inline_expand(em, dp);
	if (error)
		return error;
	nblocks = dp->i_size >> em->em_sb.s_bshift;
	if (dp->i_flags & EXT2_INDEX_FL) {
		error = ext2_dx_add(em, dp, name, len, ino, ft);
		if (error != EAGAIN)
			return error;
		error = unindex(em, dp);
		if (error)
			return error;
		nblocks = dp->i_size >> em->em_sb.s_bshift;
	}
	/* Start where the last entry went: a growing directory has room only
	 * in its last block, and scanning from the start every time would
	 * make filling a directory quadratic. */
	start = dp->i_goal_dir < nblocks ? dp->i_goal_dir : 0;
	for (uint64_t i = 0; i < nblocks; i++) {
		uint64_t lblk = (start + i) % nblocks;

		error = ext2_dirblock_add(em, dp, lblk, name, len, ino, ft);
		if (error != ENOSPC) {
			if (!error)
				dp->i_goal_dir = lblk;
			return error;
		}
	}
	if (nblocks == 1 && (em->em_sb.s_compat & COMPAT_DIR_INDEX)) {
		/* One full block: index the directory, as Linux does. */
		error = ext2_dx_make(em, dp);
		if (!error)
			return ext2_dx_add(em, dp, name, len, ino, ft);
		if (error != EAGAIN)
			return error;
	}
	dp->i_goal_dir = nblocks;
	return append_block(em, dp, name, len, ino, ft);
}

/* Index blocks of an indexed directory: its root and interior nodes. */
static bool
is_dx_block(const struct ext2_mount *em, const struct ext2_inode *dp, uint64_t lblk, const uint8_t *blk)
{
	if (!(dp->i_flags & EXT2_INDEX_FL))
		return false;
	return lblk == 0 || (le32dec(blk + DE_INODE) == 0 && ext2_de_reclen(em, blk) == em->em_bsize);
}

/* Look for name in one block: its position and that of the entry before
 * it (UINT32_MAX if first). */
static bool
search_block(struct ext2_mount *em, const uint8_t *blk, const struct ext2_fname *fn, uint32_t *posp,
	     uint32_t *prevp)
{
	uint32_t end = ext2_de_end(em), pos, prev = UINT32_MAX;

	for (pos = 0; pos < end; prev = pos, pos += ext2_de_reclen(em, blk + pos)) {
		const uint8_t *p = blk + pos;
		if (le32dec(p + DE_INODE) != 0 && ext2_fname_match(fn, p + DE_NAME, ext2_de_namelen(em, p))) {
			*posp = pos;
			*prevp = prev;
			return true;
		}
	}
	return false;
}

/* Find name: the block (held), its number, and the positions of the entry
 * and the one before it in the block (UINT32_MAX if first). */
static int
find_entry(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, struct buf **bpp,
	   uint64_t *lblkp, uint32_t *posp, uint32_t *prevp)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift, leaves[16];
	uint32_t nleaves = 0;
	struct ext2_fname fn;
	struct buf *bp;
	int error;

	error = ext2_fname_init(em, dp, name, len, &fn);
	if (error)
		return error;
	if (dp->i_flags & EXT2_INDEX_FL) {
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			/* In the root, ahead of the index. */
			error = ext2_dir_readblock(em, dp, 0, &bp);
			if (error)
				return error;
			if (ext2_de_namelen(em, (uint8_t *)bp->b_data + EXT2_DIR_ENTRY_MIN) != 2) {
				brelse(bp);
				return ext2_corrupt(em, "directory inode %u: no \"..\" in the index root", dp->i_ino);
			}
			*bpp = bp;
			*lblkp = 0;
			*posp = EXT2_DIR_ENTRY_MIN;
			*prevp = 0;
			return 0;
		}
		error = ext2_dx_leaves(em, dp, name, len, leaves, ARRAY_SIZE(leaves), &nleaves);
		if (error && error != EAGAIN)
			return error;
		for (uint32_t i = 0; i < nleaves; i++) {
			error = ext2_dirblock_get(em, dp, leaves[i], &bp);
			if (error)
				return error;
			if (search_block(em, bp->b_data, &fn, posp, prevp)) {
				*bpp = bp;
				*lblkp = leaves[i];
				return 0;
			}
			brelse(bp);
		}
		/* Not where the index says: look everywhere before giving up. */
	}
	for (uint64_t lblk = 0; lblk < nblocks; lblk++) {
		error = ext2_dir_readblock(em, dp, lblk, &bp);
		if (error)
			return error;
		if (is_dx_block(em, dp, lblk, bp->b_data)) {
			brelse(bp);
			continue;
		}
		brelse(bp);
		error = ext2_dirblock_get(em, dp, lblk, &bp);
		if (error)
			return error;
		if (search_block(em, bp->b_data, &fn, posp, prevp)) {
			*bpp = bp;
			*lblkp = lblk;
			return 0;
		}
		brelse(bp);
	}
	return ENOENT;
}

int
ext2_dir_remove(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len)
{
	uint32_t pos, prev;
	uint64_t lblk;
	struct buf *bp;
	uint8_t *blk;
	int error;

	if (len == 0 || len > ANYK_NAME_MAX)
		return len == 0 ? ENOENT : ENAMETOOLONG;
	if ((dp->i_flags & EXT2_INDEX_FL) && ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')))
		return EINVAL;
	error = ext2_inline_expand(em, dp);
	if (error)
		return error;
	error = find_entry(em, dp, name, len, &bp, &lblk, &pos, &prev);
	if (error)
		return error;
	blk = bp->b_data;
	if (prev != UINT32_MAX) {
		ext2_de_set_reclen(blk + prev, ext2_de_reclen(em, blk + prev) + ext2_de_reclen(em, blk + pos));
		memset(blk + pos, 0, DE_NAME);
	} else {
		le32enc(blk + pos + DE_INODE, 0);
	}
	ext2_dirblock_settail(em, dp, blk);
	ext2_mwrite_checked(em, bp, ext2_dirblock_mark(dp, lblk));
	return 0;
}

int
ext2_dir_set(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino, uint8_t ft)
{
	uint32_t pos, prev;
	uint64_t lblk;
	struct buf *bp;
	uint8_t *blk;
	int error;

	if (len == 0 || len > ANYK_NAME_MAX)
		return len == 0 ? ENOENT : ENAMETOOLONG;
	error = ext2_inline_expand(em, dp);
	if (error)
		return error;
	error = find_entry(em, dp, name, len, &bp, &lblk, &pos, &prev);
	if (error)
		return error;
	blk = bp->b_data;
	le32enc(blk + pos + DE_INODE, ino);
	if (em->em_filetype)
		blk[pos + DE_FILE_TYPE] = ft;
	if ((dp->i_flags & EXT2_INDEX_FL) && lblk == 0) {
		ext2_dx_root_settail(em, dp, blk);
		ext2_mwrite(em, bp);
	} else {
		ext2_dirblock_settail(em, dp, blk);
		ext2_mwrite_checked(em, bp, ext2_dirblock_mark(dp, lblk));
	}
	return 0;
}

/* Any entry at all: inline directories keep "." and ".." apart. */
static int
inline_any(void *ctx, const char *name, uint32_t namelen, uint32_t ino, uint8_t ft)
{
	(void)ctx;
	(void)name;
	(void)namelen;
	(void)ino;
	(void)ft;
	return EEXIST;
}

int
ext2_dir_empty(struct ext2_mount *em, struct ext2_inode *dp, bool *emptyp)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift;
	uint32_t end = ext2_de_end(em);
	struct buf *bp;
	int error;

	*emptyp = true;
	if (ext2_is_inline(dp)) {
		error = ext2_inline_dir_foreach(em, dp, inline_any, NULL);
		if (error == EEXIST)
			*emptyp = false;
		return error == EEXIST ? 0 : error;
	}
	for (uint64_t lblk = 0; lblk < nblocks && *emptyp; lblk++) {
		const uint8_t *blk;

		if (dp->i_flags & EXT2_INDEX_FL) {
			bool dx;

			/* Names after a removal may be anywhere; the index holds none. */
			error = ext2_dir_readblock(em, dp, lblk, &bp);
			if (error)
				return error;
			dx = is_dx_block(em, dp, lblk, bp->b_data);
			brelse(bp);
			if (dx)
				continue;
		}
		error = ext2_dirblock_get(em, dp, lblk, &bp);
		if (error)
			return error;
		blk = bp->b_data;
		for (uint32_t pos = 0; pos < end; pos += ext2_de_reclen(em, blk + pos)) {
			const uint8_t *p = blk + pos;
			uint32_t nl = ext2_de_namelen(em, p);

			if (le32dec(p + DE_INODE) == 0)
				continue;
			if ((nl == 1 && p[DE_NAME] == '.') || (nl == 2 && p[DE_NAME] == '.' && p[DE_NAME + 1] == '.'))
				continue;
			*emptyp = false;
			break;
		}
		brelse(bp);
	}
	return 0;
}

int
ext2_dirblock_build(struct ext2_mount *em, struct ext2_inode *dp, uint32_t parent, const struct ext2_dent *ents,
		    uint32_t n, uint8_t *blk)
{
	uint32_t end = ext2_de_end(em), pos = 2 * EXT2_DIR_ENTRY_MIN, last = EXT2_DIR_ENTRY_MIN, rec;

	memset(blk, 0, em->em_bsize);
	put_entry(em, blk, dp->i_ino, EXT2_DIR_ENTRY_MIN, ".", 1, EXT2_FT_DIR);
	put_entry(em, blk + EXT2_DIR_ENTRY_MIN, parent, EXT2_DIR_ENTRY_MIN, "..", 2, EXT2_FT_DIR);
	for (uint32_t i = 0; i < n; i++) {
		if (ents[i].namelen == 0 || ents[i].namelen > ANYK_NAME_MAX)
			return EUCLEAN;
		rec = (DE_NAME + ents[i].namelen + 3) & ~3u;
		if (rec > end - pos)
			return ENOSPC;
		put_entry(em, blk + pos, ents[i].ino, rec, ents[i].name, ents[i].namelen, ents[i].ft);
		last = pos;
		pos += rec;
	}
	/* The last entry reaches the end of the entries. */
	ext2_de_set_reclen(blk + last, end - last);
	ext2_dirblock_settail(em, dp, blk);
	return 0;
}

int
ext2_dir_init(struct ext2_mount *em, struct ext2_inode *dp, uint32_t parent)
{
	struct ext2_map map;
	struct buf *bp;
	bool isnew;
	int error;

	error = ext2_map_alloc(em, dp, 0, 1, &map, &isnew);
	if (!error && (dp->i_flags & EXT4_EXTENTS_FL))
		error = ext2_ext_store(em, dp);
	if (error)
		return error;
	error = getblk(em->em_bdev, map.m_pblk, em->em_bsize, &bp);
	if (error)
		return EIO;
	memset(bp->b_data, 0, em->em_bsize);
	put_entry(em, bp->b_data, dp->i_ino, EXT2_DIR_ENTRY_MIN, ".", 1, EXT2_FT_DIR);
	put_entry(em, (uint8_t *)bp->b_data + EXT2_DIR_ENTRY_MIN, parent, ext2_de_end(em) - EXT2_DIR_ENTRY_MIN,
		  "..", 2, EXT2_FT_DIR);
	ext2_dirblock_settail(em, dp, bp->b_data);
	ext2_mwrite(em, bp);
	dp->i_size = em->em_bsize;
	return 0;
}
