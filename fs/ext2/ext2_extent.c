/*
 * Extent trees (ext4): mapping a logical block to a run of physical blocks.
 * The root node sits in the inode's i_block; interior nodes hold index
 * entries (first logical block, child block), leaves hold extents (first
 * logical block, length, first physical block; lengths above 32768 mark
 * unwritten extents, which read as zeros).
 *
 * Every node is checked before use: magic, entry count within the maximum,
 * the maximum within the node, the depth exactly one less than the parent's
 * (which bounds the walk at five levels and rules out loops), keys strictly
 * increasing, blocks inside the file system and off its group metadata, and
 * the checksum tail.
 */
#include "fs/ext2/ext2.h"

int
ext2_extent_check_header(const uint8_t *h, size_t room, int wantdepth)
{
	uint16_t entries = le16dec(h + EH_ENTRIES), max = le16dec(h + EH_MAX);
	uint16_t depth = le16dec(h + EH_DEPTH);

	if (le16dec(h + EH_MAGIC) != EXT4_EXT_MAGIC)
		return EUCLEAN;
	if (max == 0 || entries > max || EXT4_EXT_HDR_SIZE + (size_t)max * EXT4_EXT_ENTRY_SIZE > room)
		return EUCLEAN;
	if (depth > EXT4_EXT_MAX_DEPTH || (wantdepth >= 0 && depth != wantdepth))
		return EUCLEAN;
	return 0;
}

/* In one leaf: the extent holding lblk, or the hole up to the next one. */
static int
map_leaf(struct ext2_mount *em, struct ext2_inode *ip, const uint8_t *node, uint64_t lblk, uint64_t limit,
	 uint64_t maxrun, struct ext2_map *map)
{
	uint16_t n = le16dec(node + EH_ENTRIES);
	uint64_t prev_end = 0, next = limit;
	const uint8_t *e;
	int error;

	for (uint16_t i = 0; i < n; i++) {
		e = node + EXT4_EXT_HDR_SIZE + (size_t)i * EXT4_EXT_ENTRY_SIZE;
		uint64_t start = le32dec(e + EE_BLOCK);
		uint32_t len = le16dec(e + EE_LEN);
		bool unwritten = false;
		uint64_t pblk;

		if (len > EXT4_EXT_INIT_MAX_LEN) {
			len -= EXT4_EXT_INIT_MAX_LEN;
			unwritten = true;
		}
		if (len == 0 || start < prev_end)
			return ext2_corrupt(em, "inode %u: extent %u out of order or empty", ip->i_ino, i);
		prev_end = start + len;
		if (lblk < start) {
			next = MIN(next, start);
			break;
		}
		if (lblk >= start + len)
			continue;
		pblk = (uint64_t)le16dec(e + EE_START_HI) << 32 | le32dec(e + EE_START_LO);
		error = ext2_fileblocks_check(em, ip->i_ino, pblk, len);
		if (error)
			return error;
		map->m_pblk = pblk + (lblk - start);
		map->m_len = MIN(start + len - lblk, maxrun);
		map->m_unwritten = unwritten;
		return 0;
	}
	map->m_pblk = 0;
	map->m_unwritten = false;
	map->m_len = next > lblk ? MIN(next - lblk, maxrun) : 1;
	return 0;
}

int
ext2_extent_map(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun,
		struct ext2_map *map)
{
	const uint8_t *node = ip->i_block;
	struct buf *bp = NULL;
	uint64_t limit = (uint64_t)1 << 32, child;
	int depth, error = 0;

	if (ext2_extent_check_header(node, EXT2_I_BLOCK_SIZE, -1) != 0)
		return ext2_corrupt(em, "inode %u: bad extent header in the inode", ip->i_ino);
	if (lblk >= limit) {
		map->m_pblk = 0;
		map->m_len = 1;
		map->m_unwritten = false;
		return 0;
	}
	depth = le16dec(node + EH_DEPTH);
	while (depth > 0) {
		uint16_t n = le16dec(node + EH_ENTRIES);
		const uint8_t *e, *found = NULL;
		uint64_t prev = 0;

		for (uint16_t i = 0; i < n; i++) {
			e = node + EXT4_EXT_HDR_SIZE + (size_t)i * EXT4_EXT_ENTRY_SIZE;
			uint64_t key = le32dec(e + EI_BLOCK);

			if (i > 0 && key <= prev) {
				error = ext2_corrupt(em, "inode %u: extent index out of order", ip->i_ino);
				goto out;
			}
			prev = key;
			if (key > lblk) {
				limit = MIN(limit, key);
				break;
			}
			found = e;
		}
		if (found == NULL) {
			/* Before the first key (or an empty node): a hole. */
			map->m_pblk = 0;
			map->m_unwritten = false;
			map->m_len = limit > lblk ? MIN(limit - lblk, maxrun) : 1;
			goto out;
		}
		child = (uint64_t)le16dec(found + EI_LEAF_HI) << 32 | le32dec(found + EI_LEAF_LO);
		if (bp != NULL) {
			brelse(bp);
			bp = NULL;
		}
		error = ext2_fileblocks_check(em, ip->i_ino, child, 1);
		if (error)
			goto out;
		error = ext2_bread(em, child, &bp);
		if (error)
			goto out;
		node = bp->b_data;
		if (ext2_extent_check_header(node, em->em_bsize, depth - 1) != 0) {
			error = ext2_corrupt(em, "inode %u: bad extent node at block %llu", ip->i_ino,
					     (unsigned long long)child);
			goto out;
		}
		if (em->em_csum && !ext2_extent_csum_ok(ip, node, em->em_bsize)) {
			error = ext2_corrupt(em, "inode %u: extent block %llu checksum mismatch", ip->i_ino,
					     (unsigned long long)child);
			goto out;
		}
		depth--;
	}
	error = map_leaf(em, ip, node, lblk, limit, maxrun, map);
out:
	if (bp != NULL)
		brelse(bp);
	return error;
}
