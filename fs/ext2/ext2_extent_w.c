/*
 * Changing extent trees. On a read-write mount the first change to a file
 * loads its whole extent map into a sorted array; allocation, conversion
 * of unwritten extents and truncation edit the array (merging neighbours
 * that touch logically and physically), and ext2_ext_store writes the tree
 * back from it: up to four extents in the inode itself, else full leaves
 * under index levels as deep as needed, each node with its checksum tail.
 * The tree's node blocks are reused in order, so rewriting a tree of the
 * same shape allocates nothing; a deeper tree takes new blocks, a smaller
 * one gives them back.
 *
 * This trades rewriting every node of a changed file for simple code that
 * cannot leave a half-split tree behind; files written sequentially have
 * few extents, so their trees are a handful of blocks.
 */
#include "fs/ext2/ext2.h"

#define EXT_ROOT_MAX 4
#define EXT_LIMIT (1u << 22) /* extents a file may have in memory */

static uint32_t
node_cap(const struct ext2_mount *em)
{
	return (em->em_bsize - EXT4_EXT_HDR_SIZE - EXT4_EXT_TAIL_SIZE) / EXT4_EXT_ENTRY_SIZE;
}

static int
grow(void **arr, uint32_t *cap, uint32_t need, size_t elsize)
{
	uint32_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	if (need > EXT_LIMIT)
		return EFBIG;
	ncap = MAX(need, MAX(*cap * 2, 8u));
	n = kmem_alloc(&ext2_kmem, (size_t)ncap * elsize);
	if (n == NULL)
		return ENOMEM;
	if (*arr != NULL) {
		memcpy(n, *arr, (size_t)*cap * elsize);
		kmem_free(&ext2_kmem, *arr, (size_t)*cap * elsize);
	}
	*arr = n;
	*cap = ncap;
	return 0;
}

void
ext2_ext_release(struct ext2_inode *ip)
{
	if (ip->i_ext != NULL)
		kmem_free(&ext2_kmem, ip->i_ext, (size_t)ip->i_extcap * sizeof(*ip->i_ext));
	if (ip->i_extnodes != NULL)
		kmem_free(&ext2_kmem, ip->i_extnodes, (size_t)ip->i_nodecap * sizeof(*ip->i_extnodes));
	ip->i_ext = NULL;
	ip->i_extnodes = NULL;
	ip->i_extcap = ip->i_nodecap = ip->i_next = ip->i_nnodes = 0;
	ip->i_extloaded = false;
}

/* path holds the node blocks above this one, all still held: a child
 * naming one of them would wait on this thread's own buffer. */
static int
load_node(struct ext2_mount *em, struct ext2_inode *ip, const uint8_t *node, int depth, uint64_t *path, int level)
{
	uint16_t n = le16dec(node + EH_ENTRIES);
	struct buf *bp;
	int error;

	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = node + EXT4_EXT_HDR_SIZE + (size_t)i * EXT4_EXT_ENTRY_SIZE;

		if (depth == 0) {
			struct ext2_ext x;
			uint32_t len = le16dec(e + EE_LEN);

			x.e_lblk = le32dec(e + EE_BLOCK);
			x.e_unwritten = len > EXT4_EXT_INIT_MAX_LEN;
			x.e_len = x.e_unwritten ? len - EXT4_EXT_INIT_MAX_LEN : len;
			x.e_pblk = (uint64_t)le16dec(e + EE_START_HI) << 32 | le32dec(e + EE_START_LO);
			if (x.e_len == 0 || (uint64_t)x.e_lblk + x.e_len > (uint64_t)1 << 32)
				return ext2_corrupt(em, "inode %u: bad extent", ip->i_ino);
			error = ext2_fileblocks_check(em, ip->i_ino, x.e_pblk, x.e_len);
			if (error)
				return error;
			if (ip->i_next > 0) {
				const struct ext2_ext *p = &ip->i_ext[ip->i_next - 1];
				if ((uint64_t)p->e_lblk + p->e_len > x.e_lblk)
					return ext2_corrupt(em, "inode %u: extents overlap", ip->i_ino);
			}
			error = grow((void **)&ip->i_ext, &ip->i_extcap, ip->i_next + 1, sizeof(x));
			if (error)
				return error;
			ip->i_ext[ip->i_next++] = x;
			continue;
		}
		uint64_t child = (uint64_t)le16dec(e + EI_LEAF_HI) << 32 | le32dec(e + EI_LEAF_LO);
		/* Before it joins i_extnodes, which ext2_ext_store rewrites
		 * and frees. */
		error = ext2_fileblocks_check(em, ip->i_ino, child, 1);
		if (error)
			return error;
		error = grow((void **)&ip->i_extnodes, &ip->i_nodecap, ip->i_nnodes + 1, sizeof(uint64_t));
		if (error)
			return error;
		ip->i_extnodes[ip->i_nnodes++] = child;
		if (level >= EXT4_EXT_MAX_DEPTH)
			return ext2_corrupt(em, "inode %u: extent tree too deep", ip->i_ino);
		for (int j = 0; j < level; j++)
			if (path[j] == child)
				return ext2_corrupt(em, "inode %u: extent node %llu points back up its own path",
						    ip->i_ino, (unsigned long long)child);
		path[level] = child;
		error = ext2_bread(em, child, &bp);
		if (error)
			return error;
		if (ext2_extent_check_header(bp->b_data, em->em_bsize, depth - 1) != 0 ||
		    (em->em_csum && !ext2_extent_csum_ok(ip, bp->b_data, em->em_bsize))) {
			brelse(bp);
			return ext2_corrupt(em, "inode %u: bad extent node %llu", ip->i_ino,
					    (unsigned long long)child);
		}
		error = load_node(em, ip, bp->b_data, depth - 1, path, level + 1);
		brelse(bp);
		if (error)
			return error;
	}
	return 0;
}

int
ext2_ext_load(struct ext2_mount *em, struct ext2_inode *ip)
{
	uint64_t path[EXT4_EXT_MAX_DEPTH];
	int error;

	if (ip->i_extloaded)
		return 0;
	if (ext2_extent_check_header(ip->i_block, EXT2_I_BLOCK_SIZE, -1) != 0)
		return ext2_corrupt(em, "inode %u: bad extent header in the inode", ip->i_ino);
	error = load_node(em, ip, ip->i_block, le16dec(ip->i_block + EH_DEPTH), path, 0);
	if (error) {
		ext2_ext_release(ip);
		return error;
	}
	ip->i_extloaded = true;
	return 0;
}

/* Index of the first extent ending after lblk (i_next if none). */
static uint32_t
find(const struct ext2_inode *ip, uint64_t lblk)
{
	uint32_t lo = 0, hi = ip->i_next;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)ip->i_ext[mid].e_lblk + ip->i_ext[mid].e_len <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
ext2_ext_lookup(struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun, struct ext2_map *map)
{
	uint32_t i = find(ip, lblk);
	uint64_t limit = (uint64_t)1 << 32;

	if (maxrun == 0)
		maxrun = 1;
	if (i < ip->i_next && ip->i_ext[i].e_lblk <= lblk) {
		const struct ext2_ext *x = &ip->i_ext[i];
		map->m_pblk = x->e_pblk + (lblk - x->e_lblk);
		map->m_len = MIN(x->e_lblk + (uint64_t)x->e_len - lblk, maxrun);
		map->m_unwritten = x->e_unwritten;
		return 0;
	}
	if (i < ip->i_next)
		limit = ip->i_ext[i].e_lblk;
	map->m_pblk = 0;
	map->m_unwritten = false;
	map->m_len = limit > lblk ? MIN(limit - lblk, maxrun) : 1;
	return 0;
}

/* The whole extent holding lblk: false if lblk is in a hole. */
bool
ext2_ext_extent_of(struct ext2_inode *ip, uint64_t lblk, struct ext2_ext *out)
{
	uint32_t i = find(ip, lblk);

	if (i >= ip->i_next || ip->i_ext[i].e_lblk > lblk)
		return false;
	*out = ip->i_ext[i];
	return true;
}

static bool
mergeable(const struct ext2_ext *a, const struct ext2_ext *b)
{
	return a->e_unwritten == b->e_unwritten && (uint64_t)a->e_lblk + a->e_len == b->e_lblk &&
	       a->e_pblk + a->e_len == b->e_pblk &&
	       (uint64_t)a->e_len + b->e_len <= EXT4_EXT_INIT_MAX_LEN - (a->e_unwritten ? 1 : 0);
}

static int
insert_at(struct ext2_inode *ip, uint32_t i, const struct ext2_ext *x)
{
	int error = grow((void **)&ip->i_ext, &ip->i_extcap, ip->i_next + 1, sizeof(*x));

	if (error)
		return error;
	memmove(&ip->i_ext[i + 1], &ip->i_ext[i], (size_t)(ip->i_next - i) * sizeof(*x));
	ip->i_ext[i] = *x;
	ip->i_next++;
	return 0;
}

static void
remove_at(struct ext2_inode *ip, uint32_t i)
{
	memmove(&ip->i_ext[i], &ip->i_ext[i + 1], (size_t)(ip->i_next - i - 1) * sizeof(*ip->i_ext));
	ip->i_next--;
}

/* Merge entry i with its neighbours where possible. */
static void
merge_around(struct ext2_inode *ip, uint32_t i)
{
	if (i + 1 < ip->i_next && mergeable(&ip->i_ext[i], &ip->i_ext[i + 1])) {
		ip->i_ext[i].e_len += ip->i_ext[i + 1].e_len;
		remove_at(ip, i + 1);
	}
	if (i > 0 && mergeable(&ip->i_ext[i - 1], &ip->i_ext[i])) {
		ip->i_ext[i - 1].e_len += ip->i_ext[i].e_len;
		remove_at(ip, i);
	}
}

/* Map a hole [lblk, lblk+len) to pblk (the caller checked it is a hole),
 * as written data or as unwritten (reading as zeros). */
int
ext2_ext_insert(struct ext2_mount *em, struct ext2_inode *ip, uint32_t lblk, uint32_t len, uint64_t pblk,
		bool unwritten)
{
	struct ext2_ext x = { .e_lblk = lblk, .e_pblk = pblk, .e_unwritten = unwritten };
	uint32_t i;
	int error;

	while (len > 0) {
		/* An unwritten extent's length field holds at most 32767. */
		x.e_len = MIN(len, EXT4_EXT_INIT_MAX_LEN - (unwritten ? 1u : 0u));
		i = find(ip, x.e_lblk);
		if (i < ip->i_next && ip->i_ext[i].e_lblk < x.e_lblk + (uint64_t)x.e_len)
			return ext2_corrupt(em, "inode %u: mapping over an extent", ip->i_ino);
		error = insert_at(ip, i, &x);
		if (error)
			return error;
		merge_around(ip, i);
		x.e_lblk += x.e_len;
		x.e_pblk += x.e_len;
		len -= x.e_len;
	}
	ip->i_extdirty = true;
	return 0;
}

/* Split extent i so that one starts exactly at lblk. */
static int
split_at(struct ext2_inode *ip, uint32_t i, uint64_t lblk)
{
	struct ext2_ext *x = &ip->i_ext[i], tail;
	uint32_t head = (uint32_t)(lblk - x->e_lblk);

	if (lblk <= x->e_lblk || lblk >= (uint64_t)x->e_lblk + x->e_len)
		return 0;
	tail = *x;
	tail.e_lblk = (uint32_t)lblk;
	tail.e_pblk += head;
	tail.e_len -= head;
	x->e_len = head;
	return insert_at(ip, i + 1, &tail);
}

int
ext2_ext_mark_written(struct ext2_mount *em, struct ext2_inode *ip, uint32_t lblk, uint32_t len)
{
	uint32_t i = find(ip, lblk);
	int error;

	if (i >= ip->i_next || ip->i_ext[i].e_lblk > lblk || !ip->i_ext[i].e_unwritten)
		return ext2_corrupt(em, "inode %u: no unwritten extent at %u", ip->i_ino, lblk);
	error = split_at(ip, i, lblk);
	if (error)
		return error;
	i = find(ip, lblk);
	error = split_at(ip, i, (uint64_t)lblk + len);
	if (error)
		return error;
	ip->i_ext[i].e_unwritten = false;
	merge_around(ip, i);
	ip->i_extdirty = true;
	return 0;
}

int
ext2_ext_truncate(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from)
{
	uint32_t i = find(ip, from);
	/* Directory and symlink blocks were metadata, cached (ext2_bforget). */
	bool meta = ANYK_S_ISDIR(ip->i_mode) || ANYK_S_ISLNK(ip->i_mode);
	int error = 0;

	if (i < ip->i_next && ip->i_ext[i].e_lblk < from) {
		struct ext2_ext *x = &ip->i_ext[i];
		uint32_t keep = (uint32_t)(from - x->e_lblk);

		error = ext2_bfree(em, x->e_pblk + keep, x->e_len - keep, meta);
		ip->i_blocks512 -= (uint64_t)(x->e_len - keep) << (em->em_sb.s_bshift - 9);
		x->e_len = keep;
		i++;
	}
	for (uint32_t j = i; j < ip->i_next && !error; j++) {
		error = ext2_bfree(em, ip->i_ext[j].e_pblk, ip->i_ext[j].e_len, meta);
		ip->i_blocks512 -= (uint64_t)ip->i_ext[j].e_len << (em->em_sb.s_bshift - 9);
	}
	ip->i_next = i;
	ip->i_extdirty = true;
	return error;
}

/* Does any extent map a block at or after lblk? */
bool
ext2_ext_beyond(struct ext2_inode *ip, uint64_t lblk)
{
	const struct ext2_ext *x;

	if (ip->i_next == 0)
		return false;
	x = &ip->i_ext[ip->i_next - 1];
	return (uint64_t)x->e_lblk + x->e_len > lblk;
}

/* Unmap and free the blocks [from, to), splitting the extents that cross
 * either end. Regular file data only. */
int
ext2_ext_punch(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t to)
{
	uint32_t i;
	int error = 0;

	if (from >= to)
		return 0;
	/* The splits (which may need memory) come before any change. */
	i = find(ip, from);
	if (i < ip->i_next && ip->i_ext[i].e_lblk < from)
		error = split_at(ip, i, from);
	i = find(ip, to);
	if (!error && i < ip->i_next && ip->i_ext[i].e_lblk < to)
		error = split_at(ip, i, to);
	if (error)
		return error;
	i = find(ip, from);
	while (!error && i < ip->i_next && ip->i_ext[i].e_lblk < to) {
		const struct ext2_ext x = ip->i_ext[i];

		error = ext2_bfree(em, x.e_pblk, x.e_len, false);
		ip->i_blocks512 -= (uint64_t)x.e_len << (em->em_sb.s_bshift - 9);
		remove_at(ip, i);
	}
	ip->i_extdirty = true;
	return error;
}

/* Close the gap [from, to), which maps nothing any more (punched): every
 * extent after it moves down by to - from, and the two that come to touch
 * merge where they can. */
int
ext2_ext_collapse(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t to)
{
	uint32_t i = find(ip, from), n = (uint32_t)(to - from);

	if (from >= to)
		return 0;
	if (i < ip->i_next && ip->i_ext[i].e_lblk < to)
		return ext2_corrupt(em, "inode %u: collapsing blocks still mapped", ip->i_ino);
	for (uint32_t j = i; j < ip->i_next; j++)
		ip->i_ext[j].e_lblk -= n;
	if (i > 0 && i < ip->i_next)
		merge_around(ip, i);
	ip->i_extdirty = true;
	return 0;
}

/* Open a gap of n blocks at from: the extent across from is split there,
 * and it and every extent after it move up by n. EFBIG, with nothing
 * changed, if one would pass the 2^32nd block. */
int
ext2_ext_open_gap(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t n)
{
	uint32_t i;
	int error;

	(void)em;
	if (n == 0 || ip->i_next == 0)
		return 0;
	if ((uint64_t)ip->i_ext[ip->i_next - 1].e_lblk + ip->i_ext[ip->i_next - 1].e_len + n > (uint64_t)1 << 32)
		return EFBIG;
	i = find(ip, from);
	if (i < ip->i_next && ip->i_ext[i].e_lblk < from) {
		error = split_at(ip, i, from);
		if (error)
			return error;
		i++;
	}
	for (uint32_t j = i; j < ip->i_next; j++)
		ip->i_ext[j].e_lblk += (uint32_t)n;
	ip->i_extdirty = true;
	return 0;
}

/* Nodes per level for n extents; returns the depth. */
static int
shape(const struct ext2_mount *em, uint32_t n, uint32_t counts[EXT4_EXT_MAX_DEPTH], uint32_t *totalp)
{
	uint32_t cap = node_cap(em), c = n, total = 0;
	int depth = 0;

	while (c > EXT_ROOT_MAX && depth < EXT4_EXT_MAX_DEPTH) {
		c = howmany(c, cap);
		counts[depth++] = c;
		total += c;
	}
	*totalp = total;
	return depth;
}

uint32_t
ext2_ext_reserve(struct ext2_mount *em, struct ext2_inode *ip)
{
	uint32_t counts[EXT4_EXT_MAX_DEPTH], total;

	shape(em, ip->i_next + 1, counts, &total);
	return total > ip->i_nnodes ? total - ip->i_nnodes : 0;
}

static void
put_header(uint8_t *node, uint16_t entries, uint16_t max, uint16_t depth)
{
	le16enc(node + EH_MAGIC, EXT4_EXT_MAGIC);
	le16enc(node + EH_ENTRIES, entries);
	le16enc(node + EH_MAX, max);
	le16enc(node + EH_DEPTH, depth);
	le32enc(node + 8, 0);
}

static void
put_leaf_entry(uint8_t *e, const struct ext2_ext *x)
{
	le32enc(e + EE_BLOCK, x->e_lblk);
	le16enc(e + EE_LEN, (uint16_t)(x->e_len + (x->e_unwritten ? EXT4_EXT_INIT_MAX_LEN : 0)));
	le16enc(e + EE_START_HI, (uint16_t)(x->e_pblk >> 32));
	le32enc(e + EE_START_LO, (uint32_t)x->e_pblk);
}

static void
put_index_entry(uint8_t *e, uint32_t key, uint64_t child)
{
	le32enc(e + EI_BLOCK, key);
	le32enc(e + EI_LEAF_LO, (uint32_t)child);
	le16enc(e + EI_LEAF_HI, (uint16_t)(child >> 32));
	le16enc(e + 10, 0);
}

/*
 * Write the tree for the array. Level 0 are the leaves; entries of level
 * l+1 point at nodes of level l. keys[] holds each node's first logical
 * block, level by level, reused in place as the levels are built upward.
 */
int
ext2_ext_store(struct ext2_mount *em, struct ext2_inode *ip)
{
	uint32_t counts[EXT4_EXT_MAX_DEPTH], total, cap = node_cap(em), nodes_off = 0;
	uint32_t *keys = NULL, nkeys = 0, keycap = 0;
	unsigned spb = em->em_sb.s_bshift - 9;
	int depth, error = 0;
	struct buf *bp;

	if (!ip->i_extdirty)
		return 0;
	depth = shape(em, ip->i_next, counts, &total);
	if (depth >= EXT4_EXT_MAX_DEPTH)
		return EFBIG;
	/* Get exactly total node blocks. */
	error = grow((void **)&ip->i_extnodes, &ip->i_nodecap, total, sizeof(uint64_t));
	if (error)
		return error;
	while (ip->i_nnodes < total) {
		uint64_t blk, got;
		uint64_t goal = ip->i_nnodes > 0 ? ip->i_extnodes[ip->i_nnodes - 1] + 1 :
			       ip->i_next > 0 ? ip->i_ext[0].e_pblk : ip->i_goal;

		error = ext2_balloc(em, goal, 1, &blk, &got);
		if (error)
			return error;
		ip->i_extnodes[ip->i_nnodes++] = blk;
		ip->i_blocks512 += (uint64_t)1 << spb;
	}
	while (ip->i_nnodes > total) {
		error = ext2_bfree(em, ip->i_extnodes[--ip->i_nnodes], 1, true);
		ip->i_blocks512 -= (uint64_t)1 << spb;
		if (error)
			return error;
	}
	if (depth > 0) {
		error = grow((void **)&keys, &keycap, counts[0], sizeof(uint32_t));
		if (error)
			return error;
	}
	/* Leaves. */
	uint32_t prev_nodes = 0;
	for (int level = 0; level < depth; level++) {
		uint32_t nchild = level == 0 ? ip->i_next : prev_nodes;

		for (uint32_t k = 0; k < counts[level]; k++) {
			uint32_t first = k * cap, cnt = MIN(cap, nchild - first);
			uint64_t blk = ip->i_extnodes[nodes_off + k];
			uint8_t *node;

			error = getblk(em->em_bdev, blk, em->em_bsize, &bp);
			if (error) {
				error = EIO;
				goto out;
			}
			node = bp->b_data;
			memset(node, 0, em->em_bsize);
			put_header(node, (uint16_t)cnt, (uint16_t)cap, (uint16_t)level);
			for (uint32_t j = 0; j < cnt; j++) {
				uint8_t *e = node + EXT4_EXT_HDR_SIZE + (size_t)j * EXT4_EXT_ENTRY_SIZE;
				if (level == 0)
					put_leaf_entry(e, &ip->i_ext[first + j]);
				else
					put_index_entry(e, keys[first + j],
							ip->i_extnodes[nodes_off - prev_nodes + first + j]);
			}
			/* keys[k] is read above only for indexes < k*cap+cnt >= k. */
			keys[k] = level == 0 ? ip->i_ext[first].e_lblk : keys[first];
			if (em->em_csum) {
				uint32_t off = EXT4_EXT_HDR_SIZE + cap * EXT4_EXT_ENTRY_SIZE;
				le32enc(node + off, crc32c(ip->i_csum_seed, node, off));
			}
			ext2_mwrite(em, bp);
		}
		nodes_off += counts[level];
		prev_nodes = counts[level];
	}
	nkeys = depth > 0 ? counts[depth - 1] : ip->i_next;
	memset(ip->i_block, 0, EXT2_I_BLOCK_SIZE);
	put_header(ip->i_block, (uint16_t)nkeys, EXT_ROOT_MAX, (uint16_t)depth);
	for (uint32_t j = 0; j < nkeys; j++) {
		uint8_t *e = ip->i_block + EXT4_EXT_HDR_SIZE + (size_t)j * EXT4_EXT_ENTRY_SIZE;
		if (depth == 0)
			put_leaf_entry(e, &ip->i_ext[j]);
		else
			put_index_entry(e, keys[j], ip->i_extnodes[nodes_off - prev_nodes + j]);
	}
	ip->i_extdirty = false;
out:
	if (keys != NULL)
		kmem_free(&ext2_kmem, keys, (size_t)keycap * sizeof(uint32_t));
	return error;
}
