/*
 * Keeping a directory's hash index (dir_index, "htree") valid while names
 * are added, so that lookups in big directories stay logarithmic and
 * e2fsck finds the index it expects (the layout is described at the top
 * of ext2_htree.c).
 *
 * Adding a name: walk from the root to the leaf whose hash range holds the
 * name's hash and put the entry there. A full leaf is split: its entries
 * are sorted by hash, the upper half moves to a new block at the end of the
 * directory, and the parent gets a (split hash, new block) pair, with the
 * low bit set when equal hashes straddle the split (a collision chain the
 * lookup follows). A full parent is split in turn; a full root moves its
 * pairs into a new interior node and points at that (one more level: two
 * in all, three with largedir). Room in the index is made before a leaf
 * is touched, so a failure leaves every block referenced.
 *
 * A plain directory whose single block overflows becomes indexed: its
 * entries move to block 1, block 0 keeps "." and ".." and the root.
 * Removing names leaves the index alone; leaves are never merged.
 *
 * EAGAIN means the index is not one we can maintain (bad structure, an
 * unknown hash); the caller then turns the directory into a plain one.
 *
 * The caller holds the directory's vnode lock exclusively.
 */
#include "fs/ext2/ext2.h"

#define REC_LEN(namelen) ((DE_NAME + (uint32_t)(namelen) + 3) & ~3u)
#define DX_ROOT_INFO_LEN 8
#define DX_ROOT_COUNT (DX_ROOT_INFO + DX_ROOT_INFO_LEN)
/* Splits per insert: one makes room; more only for freak entry sizes. */
#define DX_TRIES 4

struct dx_level {
	uint64_t lblk;
	uint32_t count_off;
	uint32_t at; /* the pair followed */
};

struct dx_path {
	int version; /* hash version, unsigned variants resolved */
	uint32_t hash;
	uint32_t levels; /* interior levels below the root */
	struct dx_level lv[DX_MAX_LEVELS];
	uint64_t leaf;
};

struct dx_ent {
	uint32_t hash;
	uint32_t off; /* in the leaf */
	uint32_t size; /* the entry's minimal record length */
};

static uint32_t
dx_limit(const struct ext2_mount *em, uint32_t count_off)
{
	return (em->em_bsize - count_off) / DX_ENTRY_SIZE - (em->em_csum ? DX_TAIL_SIZE / DX_ENTRY_SIZE : 0);
}

static uint32_t
dx_count(const uint8_t *blk, uint32_t count_off)
{
	return le16dec(blk + count_off + DX_COUNT);
}

static uint8_t *
dx_entry(uint8_t *blk, uint32_t count_off, uint32_t i)
{
	return blk + count_off + i * DX_ENTRY_SIZE;
}

/* metadata_csum: the pairs in use, then the tail with its checksum as 0. */
static void
dx_settail(struct ext2_mount *em, struct ext2_inode *dp, uint8_t *blk, uint32_t count_off)
{
	static const uint8_t zeros[4];
	uint32_t limit = le16dec(blk + count_off + DX_LIMIT);
	uint8_t *tail = blk + count_off + limit * DX_ENTRY_SIZE;
	uint32_t c;

	if (!em->em_csum)
		return;
	le32enc(tail, 0);
	c = crc32c(dp->i_csum_seed, blk, count_off + dx_count(blk, count_off) * DX_ENTRY_SIZE);
	c = crc32c(c, tail, 4);
	c = crc32c(c, zeros, 4);
	le32enc(tail + 4, c);
}

/* Read an index node and check its header and checksum. */
static int
dx_read(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, uint32_t count_off, struct buf **bpp)
{
	const uint8_t *blk;
	uint32_t limit, count;
	int error;

	error = ext2_dir_readblock(em, dp, lblk, bpp);
	if (error)
		return error;
	blk = (*bpp)->b_data;
	limit = le16dec(blk + count_off + DX_LIMIT);
	count = le16dec(blk + count_off + DX_COUNT);
	if (limit != dx_limit(em, count_off) || count == 0 || count > limit)
		goto bad;
	if (em->em_csum && !ext2_dx_csum_ok(dp, blk, count_off, count, limit))
		goto bad;
	if (count_off == DX_NODE_ENTRIES &&
	    (le32dec(blk + DE_INODE) != 0 || ext2_de_reclen(em, blk) != em->em_bsize))
		goto bad;
	return 0;
bad:
	brelse(*bpp);
	*bpp = NULL;
	klog(LOG_WARN, "ext2 %s: directory inode %u: index block %llu is damaged, dropping the index",
	     em->em_name, dp->i_ino, (unsigned long long)lblk);
	return EAGAIN;
}

static int
dx_version(struct ext2_mount *em, int v)
{
	if (v <= DX_HASH_TEA && em->em_hash_unsigned)
		v += DX_HASH_LEGACY_UNSIGNED;
	return v;
}

/* From the root to the leaf for hash; no buffers are kept. */
static int
dx_walk(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, struct dx_path *path)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift;
	uint32_t maxlevels = (em->em_sb.s_incompat & INCOMPAT_LARGEDIR) ? DX_MAX_LEVELS : DX_MAX_LEVELS - 1;
	struct buf *bp;
	uint8_t *blk;
	int error;

	error = ext2_dir_readblock(em, dp, 0, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	path->levels = blk[DX_ROOT_INFO + DXI_INDIRECT_LEVELS];
	path->version = dx_version(em, blk[DX_ROOT_INFO + DXI_HASH_VERSION]);
	if (ext2_de_reclen(em, blk) != EXT2_DIR_ENTRY_MIN || le32dec(blk + DX_ROOT_INFO) != 0 ||
	    blk[DX_ROOT_INFO + DXI_INFO_LENGTH] != DX_ROOT_INFO_LEN || path->levels >= maxlevels ||
	    ext2_name_hash(em, dp, name, len, path->version, &path->hash) != 0) {
		brelse(bp);
		return EAGAIN;
	}
	brelse(bp);
	path->lv[0].lblk = 0;
	path->lv[0].count_off = DX_ROOT_COUNT;
	for (uint32_t level = 0;; level++) {
		struct dx_level *l = &path->lv[level];
		uint32_t count, i, prev = 0, next;

		error = dx_read(em, dp, l->lblk, l->count_off, &bp);
		if (error)
			return error;
		blk = bp->b_data;
		count = dx_count(blk, l->count_off);
		for (i = 1; i < count; i++) {
			uint32_t h = le32dec(dx_entry(blk, l->count_off, i));

			if (h < prev) {
				brelse(bp);
				klog(LOG_WARN, "ext2 %s: directory inode %u: index hashes out of order",
				     em->em_name, dp->i_ino);
				return EAGAIN;
			}
			prev = h;
			if (h > path->hash)
				break;
		}
		l->at = i - 1;
		next = le32dec(dx_entry(blk, l->count_off, l->at) + 4) & 0x0fffffff;
		brelse(bp);
		if (next == 0 || next >= nblocks) {
			klog(LOG_WARN, "ext2 %s: directory inode %u: index points outside the directory",
			     em->em_name, dp->i_ino);
			return EAGAIN;
		}
		if (level == path->levels) {
			path->leaf = next;
			return 0;
		}
		path->lv[level + 1].lblk = next;
		path->lv[level + 1].count_off = DX_NODE_ENTRIES;
	}
}

/* An interior node's header: one empty entry spanning the block. */
static void
dx_node_init(struct ext2_mount *em, uint8_t *blk, uint32_t count)
{
	memset(blk, 0, em->em_bsize);
	ext2_de_set_reclen(blk, em->em_bsize);
	le16enc(blk + DX_NODE_ENTRIES + DX_LIMIT, (uint16_t)dx_limit(em, DX_NODE_ENTRIES));
	le16enc(blk + DX_NODE_ENTRIES + DX_COUNT, (uint16_t)count);
}

/* Put (hash, blk) after the pair followed at this level; there is room. */
static int
dx_insert(struct ext2_mount *em, struct ext2_inode *dp, struct dx_level *l, uint32_t hash, uint64_t lblk)
{
	struct buf *bp;
	uint8_t *blk, *e;
	uint32_t count;
	int error;

	error = dx_read(em, dp, l->lblk, l->count_off, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	count = dx_count(blk, l->count_off);
	if (count >= dx_limit(em, l->count_off) || l->at >= count) {
		brelse(bp);
		return ext2_corrupt(em, "directory inode %u: index changed under us", dp->i_ino);
	}
	e = dx_entry(blk, l->count_off, l->at + 1);
	memmove(e + DX_ENTRY_SIZE, e, (count - l->at - 1) * DX_ENTRY_SIZE);
	le32enc(e, hash);
	le32enc(e + 4, (uint32_t)lblk);
	le16enc(blk + l->count_off + DX_COUNT, (uint16_t)(count + 1));
	dx_settail(em, dp, blk, l->count_off);
	ext2_mwrite(em, bp);
	return 0;
}

/* The root is full: its pairs move into a new node below it. */
static int
dx_grow_root(struct ext2_mount *em, struct ext2_inode *dp, struct dx_path *path)
{
	struct buf *rbp = NULL, *nbp = NULL;
	uint32_t count;
	uint64_t nlblk;
	uint8_t *root;
	int error;

	error = ext2_dir_newblock(em, dp, &nlblk, &nbp);
	if (error)
		return error;
	error = dx_read(em, dp, 0, DX_ROOT_COUNT, &rbp);
	if (error)
		goto out;
	root = rbp->b_data;
	count = dx_count(root, DX_ROOT_COUNT);
	dx_node_init(em, nbp->b_data, count);
	/* Pair 0's block, then the full pairs; the count header stays. */
	memcpy((uint8_t *)nbp->b_data + DX_NODE_ENTRIES + 4, root + DX_ROOT_COUNT + 4,
	       count * DX_ENTRY_SIZE - 4);
	dx_settail(em, dp, nbp->b_data, DX_NODE_ENTRIES);
	le16enc(root + DX_ROOT_COUNT + DX_COUNT, 1);
	le32enc(root + DX_ROOT_COUNT + 4, (uint32_t)nlblk);
	root[DX_ROOT_INFO + DXI_INDIRECT_LEVELS] = (uint8_t)(path->levels + 1);
	dx_settail(em, dp, root, DX_ROOT_COUNT);
	ext2_mwrite(em, nbp);
	nbp = NULL;
	ext2_mwrite(em, rbp);
	rbp = NULL;
	memmove(&path->lv[2], &path->lv[1], path->levels * sizeof(path->lv[0]));
	path->lv[1].lblk = nlblk;
	path->lv[1].count_off = DX_NODE_ENTRIES;
	path->lv[1].at = path->lv[0].at;
	path->lv[0].at = 0;
	path->levels++;
out:
	if (nbp != NULL)
		ext2_mwrite(em, nbp); /* an empty node: better referenced garbage than a lost block */
	if (rbp != NULL)
		brelse(rbp);
	return error;
}

/* Make sure the node at this level takes one more pair. */
static int
dx_make_room(struct ext2_mount *em, struct ext2_inode *dp, struct dx_path *path, uint32_t level)
{
	uint32_t maxlevels = (em->em_sb.s_incompat & INCOMPAT_LARGEDIR) ? DX_MAX_LEVELS : DX_MAX_LEVELS - 1;
	struct buf *bp = NULL, *nbp = NULL;
	uint32_t count, mid, splithash, levels;
	struct dx_level *l;
	uint64_t nlblk;
	uint8_t *blk;
	int error;

	l = &path->lv[level];
	error = dx_read(em, dp, l->lblk, l->count_off, &bp);
	if (error)
		return error;
	count = dx_count(bp->b_data, l->count_off);
	brelse(bp);
	bp = NULL;
	if (count < dx_limit(em, l->count_off))
		return 0;
	if (level == 0) {
		if (path->levels + 1 >= maxlevels)
			return ENOSPC; /* the index is as deep as it may be */
		return dx_grow_root(em, dp, path);
	}
	levels = path->levels;
	error = dx_make_room(em, dp, path, level - 1);
	if (error)
		return error;
	if (path->levels != levels)
		level++; /* the root grew: everything moved one level down */
	l = &path->lv[level];
	error = ext2_dir_newblock(em, dp, &nlblk, &nbp);
	if (error)
		return error;
	error = dx_read(em, dp, l->lblk, l->count_off, &bp);
	if (error) {
		ext2_mwrite(em, nbp);
		return error;
	}
	blk = bp->b_data;
	mid = count / 2;
	splithash = le32dec(dx_entry(blk, DX_NODE_ENTRIES, mid));
	dx_node_init(em, nbp->b_data, count - mid);
	memcpy((uint8_t *)nbp->b_data + DX_NODE_ENTRIES + 4, dx_entry(blk, DX_NODE_ENTRIES, mid) + 4,
	       (count - mid) * DX_ENTRY_SIZE - 4);
	dx_settail(em, dp, nbp->b_data, DX_NODE_ENTRIES);
	memset(dx_entry(blk, DX_NODE_ENTRIES, mid), 0, (count - mid) * DX_ENTRY_SIZE);
	le16enc(blk + DX_NODE_ENTRIES + DX_COUNT, (uint16_t)mid);
	dx_settail(em, dp, blk, DX_NODE_ENTRIES);
	ext2_mwrite(em, nbp);
	ext2_mwrite(em, bp);
	error = dx_insert(em, dp, &path->lv[level - 1], splithash, nlblk);
	if (error)
		return error;
	if (l->at >= mid) {
		l->lblk = nlblk;
		l->at -= mid;
		path->lv[level - 1].at++;
	}
	return 0;
}

static void
ent_sort(struct dx_ent *e, uint32_t n)
{
	/* Shell sort: leaves hold at most a few thousand entries. */
	for (uint32_t gap = n / 2; gap > 0; gap = gap == 2 ? 1 : gap * 5 / 11) {
		for (uint32_t i = gap; i < n; i++) {
			struct dx_ent t = e[i];
			uint32_t j = i;

			while (j >= gap && (e[j - gap].hash > t.hash ||
					    (e[j - gap].hash == t.hash && e[j - gap].off > t.off))) {
				e[j] = e[j - gap];
				j -= gap;
			}
			e[j] = t;
		}
	}
}

/* Entries e[0..n) of src, packed into dst, the last one reaching the end. */
static void
pack(struct ext2_mount *em, uint8_t *dst, const uint8_t *src, const struct dx_ent *e, uint32_t n)
{
	uint32_t pos = 0;

	memset(dst, 0, em->em_bsize);
	for (uint32_t i = 0; i < n; i++) {
		memcpy(dst + pos, src + e[i].off, e[i].size);
		ext2_de_set_reclen(dst + pos, i + 1 == n ? ext2_de_end(em) - pos : e[i].size);
		pos += e[i].size;
	}
	if (n == 0)
		ext2_de_set_reclen(dst, ext2_de_end(em));
}

/* The live entries of a leaf, with their hashes, in hash order. */
static int
leaf_entries(struct ext2_mount *em, struct ext2_inode *dp, int version, const uint8_t *blk, struct dx_ent **ep,
	     uint32_t *np, uint32_t *capp)
{
	uint32_t end = ext2_de_end(em), cap = 0, n = 0, pos;
	struct dx_ent *e;

	for (pos = 0; pos < end; pos += ext2_de_reclen(em, blk + pos))
		cap++;
	e = kmem_alloc(&ext2_kmem, cap * sizeof(*e));
	if (e == NULL)
		return ENOMEM;
	for (pos = 0; pos < end; pos += ext2_de_reclen(em, blk + pos)) {
		const uint8_t *p = blk + pos;
		uint32_t nl = ext2_de_namelen(em, p);

		if (le32dec(p + DE_INODE) == 0)
			continue;
		if (ext2_name_hash(em, dp, (const char *)p + DE_NAME, nl, version, &e[n].hash)) {
			kmem_free(&ext2_kmem, e, cap * sizeof(*e));
			return EAGAIN;
		}
		e[n].off = pos;
		e[n].size = REC_LEN(nl);
		n++;
	}
	ent_sort(e, n);
	*ep = e;
	*np = n;
	*capp = cap;
	return 0;
}

/* Split the leaf the path leads to; room for its pair is made first. */
static int
dx_split_leaf(struct ext2_mount *em, struct ext2_inode *dp, struct dx_path *path)
{
	struct buf *bp = NULL, *nbp = NULL;
	struct dx_ent *e = NULL;
	uint32_t n = 0, cap = 0, mid, total = 0, half, splithash;
	uint8_t *tmp = NULL;
	uint64_t nlblk;
	int error;

	error = dx_make_room(em, dp, path, path->levels);
	if (error)
		return error;
	error = ext2_dir_newblock(em, dp, &nlblk, &nbp);
	if (error)
		return error;
	error = ext2_dirblock_get(em, dp, path->leaf, &bp);
	if (error)
		goto out;
	error = leaf_entries(em, dp, path->version, bp->b_data, &e, &n, &cap);
	if (error)
		goto out;
	if (n < 2) {
		error = ext2_corrupt(em, "directory inode %u block %llu: full leaf with %u entries", dp->i_ino,
				     (unsigned long long)path->leaf, n);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		total += e[i].size;
	/* Halve the bytes, not the count: that is what makes room. */
	half = 0;
	for (mid = 0; mid < n - 1 && half + e[mid].size <= total / 2; mid++)
		half += e[mid].size;
	if (mid == 0)
		mid = 1;
	splithash = e[mid].hash;
	if (e[mid - 1].hash == splithash)
		splithash |= 1; /* equal hashes on both sides: a chain */
	tmp = kmem_alloc(&ext2_kmem, em->em_bsize);
	if (tmp == NULL) {
		error = ENOMEM;
		goto out;
	}
	pack(em, nbp->b_data, bp->b_data, e + mid, n - mid);
	ext2_dirblock_settail(em, dp, nbp->b_data);
	pack(em, tmp, bp->b_data, e, mid);
	memcpy(bp->b_data, tmp, em->em_bsize);
	ext2_dirblock_settail(em, dp, bp->b_data);
	ext2_mwrite(em, bp);
	bp = NULL;
	ext2_mwrite(em, nbp);
	nbp = NULL;
	error = dx_insert(em, dp, &path->lv[path->levels], splithash, nlblk);
out:
	if (nbp != NULL) {
		/* Keep the new block a valid, empty leaf. */
		pack(em, nbp->b_data, NULL, NULL, 0);
		ext2_dirblock_settail(em, dp, nbp->b_data);
		ext2_mwrite(em, nbp);
	}
	if (bp != NULL)
		brelse(bp);
	if (tmp != NULL)
		kmem_free(&ext2_kmem, tmp, em->em_bsize);
	if (e != NULL)
		kmem_free(&ext2_kmem, e, cap * sizeof(*e));
	return error;
}

int
ext2_dx_add(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino,
	    uint8_t ft)
{
	struct dx_path path;
	int error;

	for (int i = 0; i < DX_TRIES; i++) {
		error = dx_walk(em, dp, name, len, &path);
		if (error)
			return error;
		error = ext2_dirblock_add(em, dp, path.leaf, name, len, ino, ft);
		if (error != ENOSPC)
			return error;
		error = dx_split_leaf(em, dp, &path);
		if (error)
			return error;
	}
	return ext2_corrupt(em, "directory inode %u: no room after %d leaf splits", dp->i_ino, DX_TRIES);
}

int
ext2_dx_leaves(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint64_t *leaves,
	       uint32_t max, uint32_t *np)
{
	struct dx_path path;
	struct dx_level *l;
	struct buf *bp;
	uint32_t count;
	uint8_t *blk;
	int error;

	error = dx_walk(em, dp, name, len, &path);
	if (error)
		return error;
	*np = 0;
	leaves[(*np)++] = path.leaf;
	/* A collision chain continuing into the following leaves. */
	l = &path.lv[path.levels];
	error = dx_read(em, dp, l->lblk, l->count_off, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	count = dx_count(blk, l->count_off);
	for (uint32_t i = l->at + 1; i < count && *np < max; i++) {
		uint8_t *e = dx_entry(blk, l->count_off, i);
		uint32_t b = le32dec(e + 4) & 0x0fffffff;

		if (le32dec(e) != (path.hash | 1) || b == 0 || b >= dp->i_size >> em->em_sb.s_bshift)
			break;
		leaves[(*np)++] = b;
	}
	brelse(bp);
	return 0;
}

/* Root block 0 for a directory whose entries now live in block 1. */
static void
dx_root_init(struct ext2_mount *em, struct ext2_inode *dp, uint8_t *blk)
{
	int v = em->em_sb.s_def_hash;

	if (v > DX_HASH_TEA)
		v = DX_HASH_HALF_MD4;
	ext2_de_set_reclen(blk, EXT2_DIR_ENTRY_MIN);
	ext2_de_set_reclen(blk + EXT2_DIR_ENTRY_MIN, em->em_bsize - EXT2_DIR_ENTRY_MIN);
	memset(blk + DX_ROOT_INFO, 0, em->em_bsize - DX_ROOT_INFO);
	blk[DX_ROOT_INFO + DXI_HASH_VERSION] = (uint8_t)v;
	blk[DX_ROOT_INFO + DXI_INFO_LENGTH] = DX_ROOT_INFO_LEN;
	le16enc(blk + DX_ROOT_COUNT + DX_LIMIT, (uint16_t)dx_limit(em, DX_ROOT_COUNT));
	le16enc(blk + DX_ROOT_COUNT + DX_COUNT, 1);
	le32enc(blk + DX_ROOT_COUNT + 4, 1);
	dx_settail(em, dp, blk, DX_ROOT_COUNT);
}

int
ext2_dx_make(struct ext2_mount *em, struct ext2_inode *dp)
{
	struct buf *bp = NULL, *nbp = NULL;
	struct dx_ent *e = NULL;
	uint32_t n = 0, cap = 0, dots = 0;
	uint64_t nlblk;
	uint8_t *blk;
	int v = em->em_sb.s_def_hash, error;

	if (dp->i_size != em->em_bsize || (dp->i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) ||
	    !(em->em_sb.s_compat & COMPAT_DIR_INDEX))
		return EAGAIN;
	if (v > DX_HASH_TEA)
		v = DX_HASH_HALF_MD4;
	error = ext2_dirblock_get(em, dp, 0, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	/* "." then "..", each alone in its record's first bytes. */
	if (le32dec(blk) != dp->i_ino || ext2_de_namelen(em, blk) != 1 || blk[DE_NAME] != '.' ||
	    ext2_de_reclen(em, blk) < EXT2_DIR_ENTRY_MIN || ext2_de_reclen(em, blk) > EXT2_DIR_ENTRY_MIN * 2 ||
	    ext2_de_namelen(em, blk + ext2_de_reclen(em, blk)) != 2 || memcmp(blk + ext2_de_reclen(em, blk) + DE_NAME, "..", 2) != 0) {
		brelse(bp);
		return EAGAIN;
	}
	error = leaf_entries(em, dp, dx_version(em, v), blk, &e, &n, &cap);
	if (error)
		goto out;
	/* Leave out "." and "..": they stay in block 0. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = e[i].off;
		if (off == 0 || off == ext2_de_reclen(em, blk)) {
			memmove(&e[i], &e[i + 1], (n - i - 1) * sizeof(*e));
			n--;
			i--;
			dots++;
		}
	}
	if (dots != 2) {
		error = EAGAIN;
		goto out;
	}
	error = ext2_dir_newblock(em, dp, &nlblk, &nbp);
	if (error)
		goto out;
	if (nlblk != 1) {
		error = ext2_corrupt(em, "directory inode %u: grew to block %llu", dp->i_ino, (unsigned long long)nlblk);
		goto out;
	}
	pack(em, nbp->b_data, blk, e, n);
	ext2_dirblock_settail(em, dp, nbp->b_data);
	ext2_mwrite(em, nbp);
	nbp = NULL;
	/* ".." moves to offset 12 when "." had slack. */
	if (ext2_de_reclen(em, blk) != EXT2_DIR_ENTRY_MIN)
		memmove(blk + EXT2_DIR_ENTRY_MIN, blk + ext2_de_reclen(em, blk), EXT2_DIR_ENTRY_MIN);
	dx_root_init(em, dp, blk);
	ext2_mwrite(em, bp);
	bp = NULL;
	dp->i_flags |= EXT2_INDEX_FL;
	error = ext2_inode_write(em, dp);
out:
	if (nbp != NULL) {
		pack(em, nbp->b_data, NULL, NULL, 0);
		ext2_dirblock_settail(em, dp, nbp->b_data);
		ext2_mwrite(em, nbp);
	}
	if (bp != NULL)
		brelse(bp);
	if (e != NULL)
		kmem_free(&ext2_kmem, e, cap * sizeof(*e));
	return error;
}

/* After ".." of an indexed directory changed: the root's checksum. */
void
ext2_dx_root_settail(struct ext2_mount *em, struct ext2_inode *dp, uint8_t *blk)
{
	dx_settail(em, dp, blk, DX_ROOT_COUNT);
}
