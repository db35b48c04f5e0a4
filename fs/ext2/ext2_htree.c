/*
 * Lookups through a directory's hash index (dir_index, "htree"). Block 0 of
 * an indexed directory holds "." and "..", then the index root: the hash
 * function, the number of interior levels, and a sorted array of (hash,
 * block) pairs whose first hash is implicitly 0. Interior nodes hold the
 * same arrays behind an empty entry covering the block. Leaves are ordinary
 * directory blocks holding the names whose hashes fall in their range.
 *
 * A name whose hash range continues into the next leaf (a collision chain,
 * marked by the low bit of the next pair's hash) is looked for there too.
 *
 * A structurally bad index makes the lookup fall back to a linear scan
 * (EAGAIN here, with a dmesg line): the entries themselves are still fine.
 * A checksum mismatch is corruption (EUCLEAN).
 */
#include "fs/ext2/ext2.h"

#define DX_ROOT_INFO_LEN 8

struct dx_node {
	uint32_t count_off; /* where the limit/count header starts */
	uint32_t count, limit;
};

static int
dx_fallback(struct ext2_mount *em, struct ext2_inode *dp, const char *what)
{
	klog(LOG_WARN, "ext2 %s: directory inode %u: bad hash index (%s), scanning linearly", em->em_name,
	     dp->i_ino, what);
	return EAGAIN;
}

/* Check a node's count and limit, and its checksum. */
static int
dx_node_check(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, const uint8_t *blk,
	      struct dx_node *n)
{
	uint32_t want = (em->em_bsize - n->count_off) / DX_ENTRY_SIZE;

	if (em->em_csum)
		want -= DX_TAIL_SIZE / DX_ENTRY_SIZE;
	n->limit = le16dec(blk + n->count_off + DX_LIMIT);
	n->count = le16dec(blk + n->count_off + DX_COUNT);
	if (n->limit != want || n->count == 0 || n->count > n->limit)
		return dx_fallback(em, dp, "count or limit");
	if (em->em_csum && !ext2_dx_csum_ok(dp, blk, n->count_off, n->count, n->limit))
		return ext2_corrupt(em, "directory inode %u: index block %llu checksum mismatch", dp->i_ino,
				    (unsigned long long)lblk);
	return 0;
}

/* An interior node's empty entry spans the block (65536 is 0 or 65535). */
static bool
reclen_is_block(const struct ext2_mount *em, uint16_t v)
{
	if (em->em_bsize == 65536)
		return v == 0 || v == 65535;
	return v == em->em_bsize;
}

static uint32_t
dx_hash_at(const uint8_t *blk, const struct dx_node *n, uint32_t i)
{
	return i == 0 ? 0 : le32dec(blk + n->count_off + i * DX_ENTRY_SIZE);
}

static uint32_t
dx_block_at(const uint8_t *blk, const struct dx_node *n, uint32_t i)
{
	/* The top bits are reserved. */
	return le32dec(blk + n->count_off + i * DX_ENTRY_SIZE + 4) & 0x0fffffff;
}

int
ext2_htree_lookup(struct ext2_mount *em, struct ext2_inode *dp, const struct ext2_fname *fn, uint32_t *inop)
{
	uint64_t nblocks = dp->i_size >> em->em_sb.s_bshift, lblk = 0;
	uint32_t hash, levels, maxlevels, i, leafcount = 0, leaves[2 * 16];
	struct buf *bp = NULL;
	const uint8_t *blk;
	struct dx_node n;
	int version, error;

	error = ext2_dir_readblock(em, dp, 0, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	if (le16dec(blk + DE_REC_LEN) != EXT2_DIR_ENTRY_MIN || le32dec(blk + DX_ROOT_INFO) != 0 ||
	    blk[DX_ROOT_INFO + DXI_INFO_LENGTH] != DX_ROOT_INFO_LEN) {
		error = dx_fallback(em, dp, "root");
		goto out;
	}
	version = blk[DX_ROOT_INFO + DXI_HASH_VERSION];
	if (version <= DX_HASH_TEA && em->em_hash_unsigned)
		version += DX_HASH_LEGACY_UNSIGNED;
	levels = blk[DX_ROOT_INFO + DXI_INDIRECT_LEVELS];
	maxlevels = (em->em_sb.s_incompat & INCOMPAT_LARGEDIR) ? DX_MAX_LEVELS : DX_MAX_LEVELS - 1;
	if (levels >= maxlevels) {
		error = dx_fallback(em, dp, "too many levels");
		goto out;
	}
	if (ext2_fname_hash(em, fn, version, &hash) != 0) {
		error = dx_fallback(em, dp, "unknown hash version");
		goto out;
	}
	n.count_off = DX_ROOT_INFO + DX_ROOT_INFO_LEN;
	for (uint32_t level = 0;; level++) {
		uint32_t prev = 0;

		error = dx_node_check(em, dp, lblk, blk, &n);
		if (error)
			goto out;
		/* The last pair whose hash is <= ours; hashes must ascend. */
		for (i = 1; i < n.count; i++) {
			uint32_t h = dx_hash_at(blk, &n, i);

			if (h < prev) {
				error = dx_fallback(em, dp, "hashes out of order");
				goto out;
			}
			prev = h;
			if (h > hash)
				break;
		}
		i--;
		if (level == levels) {
			/* Leaves: this one, then any continuing the collision chain. */
			leaves[leafcount++] = dx_block_at(blk, &n, i);
			while (++i < n.count && leafcount < ARRAY_SIZE(leaves) &&
			       dx_hash_at(blk, &n, i) == (hash | 1))
				leaves[leafcount++] = dx_block_at(blk, &n, i);
			break;
		}
		lblk = dx_block_at(blk, &n, i);
		if (lblk == 0 || lblk >= nblocks) {
			error = dx_fallback(em, dp, "node block out of range");
			goto out;
		}
		brelse(bp);
		bp = NULL;
		error = ext2_dir_readblock(em, dp, lblk, &bp);
		if (error)
			goto out;
		blk = bp->b_data;
		if (le32dec(blk + DE_INODE) != 0 || !reclen_is_block(em, le16dec(blk + DE_REC_LEN))) {
			error = dx_fallback(em, dp, "interior node header");
			goto out;
		}
		n.count_off = DX_NODE_ENTRIES;
	}
	brelse(bp);
	bp = NULL;
	error = ENOENT;
	for (i = 0; i < leafcount; i++) {
		if (leaves[i] == 0 || leaves[i] >= nblocks) {
			error = dx_fallback(em, dp, "leaf block out of range");
			goto out;
		}
		error = ext2_dir_readblock(em, dp, leaves[i], &bp);
		if (error)
			goto out;
		error = ext2_dirblock_search(em, dp, leaves[i], bp, fn, inop);
		brelse(bp);
		bp = NULL;
		if (error != ENOENT)
			goto out;
	}
out:
	if (bp != NULL)
		brelse(bp);
	return error;
}
