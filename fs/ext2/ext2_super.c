/*
 * Decoding and validating the superblock and the group descriptors. These
 * are pure functions over byte buffers (no device, no allocation), so the
 * unit tests drive them with images made by mke2fs and with corrupted
 * copies. Every field is untrusted: the checks here are what makes the
 * geometry safe to compute with everywhere else (no division by zero, no
 * overflow of block * size, groups that fit the device).
 */
#include "fs/ext2/ext2.h"

#define WHY(...) ksnprintf(why, whylen, __VA_ARGS__)
/* Block ranges [a, a + an) and [b, b + bn) share a block. */
#define OVERLAPS(a, an, b, bn) ((a) < (b) + (bn) && (b) < (a) + (an))

static int sb_parse(const uint8_t *raw, uint64_t devsize, struct ext2_sb *sb, char *why, size_t whylen,
		    bool csum);

int
ext2_sb_parse(const uint8_t *raw, uint64_t devsize, struct ext2_sb *sb, char *why, size_t whylen)
{
	return sb_parse(raw, devsize, sb, why, whylen, true);
}

int
ext2_sb_parse_nocsum(const uint8_t *raw, uint64_t devsize, struct ext2_sb *sb, char *why, size_t whylen)
{
	return sb_parse(raw, devsize, sb, why, whylen, false);
}

static int
sb_parse(const uint8_t *raw, uint64_t devsize, struct ext2_sb *sb, char *why, size_t whylen, bool csum)
{
	uint32_t logbs, logc, bpg, cpg, ipg, ipb;
	uint64_t ngroups, devblocks;

	memset(sb, 0, sizeof(*sb));
	if (le16dec(raw + SB_MAGIC) != EXT2_MAGIC) {
		WHY("bad magic %#x", le16dec(raw + SB_MAGIC));
		return EINVAL;
	}
	sb->s_rev = le32dec(raw + SB_REV_LEVEL);
	sb->s_compat = le32dec(raw + SB_FEATURE_COMPAT);
	sb->s_incompat = le32dec(raw + SB_FEATURE_INCOMPAT);
	sb->s_rocompat = le32dec(raw + SB_FEATURE_RO_COMPAT);
	if (sb->s_rev == EXT2_REV_GOOD_OLD) {
		/* Revision 0 has no feature fields; whatever is there is noise. */
		sb->s_compat = sb->s_incompat = sb->s_rocompat = 0;
	} else if (sb->s_rev > 1) {
		WHY("unknown revision %u", sb->s_rev);
		return EINVAL;
	}
	if (sb->s_rocompat & RO_COMPAT_METADATA_CSUM) {
		if (raw[SB_CHECKSUM_TYPE] != EXT2_CRC32C_CHKSUM) {
			WHY("unknown checksum type %u", raw[SB_CHECKSUM_TYPE]);
			return EINVAL;
		}
		if (csum && le32dec(raw + SB_CHECKSUM) != ext2_sb_csum(raw)) {
			WHY("superblock checksum mismatch");
			return EUCLEAN;
		}
	}
	logbs = le32dec(raw + SB_LOG_BLOCK_SIZE);
	if (logbs > 6) {
		WHY("block size 1024 << %u out of range", logbs);
		return EINVAL;
	}
	sb->s_bsize = 1024u << logbs;
	sb->s_bshift = 10 + logbs;
	sb->s_blocks_count = le32dec(raw + SB_BLOCKS_COUNT_LO);
	sb->s_r_blocks_count = le32dec(raw + SB_R_BLOCKS_COUNT_LO);
	sb->s_free_blocks = le32dec(raw + SB_FREE_BLOCKS_LO);
	if (sb->s_incompat & INCOMPAT_64BIT) {
		sb->s_blocks_count |= (uint64_t)le32dec(raw + SB_BLOCKS_COUNT_HI) << 32;
		sb->s_r_blocks_count |= (uint64_t)le32dec(raw + SB_R_BLOCKS_COUNT_HI) << 32;
		sb->s_free_blocks |= (uint64_t)le32dec(raw + SB_FREE_BLOCKS_HI) << 32;
	}
	sb->s_inodes_count = le32dec(raw + SB_INODES_COUNT);
	sb->s_free_inodes = le32dec(raw + SB_FREE_INODES);
	sb->s_first_data_block = le32dec(raw + SB_FIRST_DATA_BLOCK);
	bpg = sb->s_blocks_per_group = le32dec(raw + SB_BLOCKS_PER_GROUP);
	ipg = sb->s_inodes_per_group = le32dec(raw + SB_INODES_PER_GROUP);
	sb->s_state = le16dec(raw + SB_STATE);
	sb->s_flags = le32dec(raw + SB_FLAGS);
	sb->s_backup_bgs[0] = le32dec(raw + SB_BACKUP_BGS);
	sb->s_backup_bgs[1] = le32dec(raw + SB_BACKUP_BGS + 4);
	memcpy(sb->s_uuid, raw + SB_UUID, 16);
	for (int i = 0; i < 4; i++)
		sb->s_hash_seed[i] = le32dec(raw + SB_HASH_SEED + 4 * i);
	sb->s_def_hash = raw[SB_DEF_HASH_VERSION];
	sb->s_first_meta_bg = le32dec(raw + SB_FIRST_META_BG);

	devblocks = devsize >> sb->s_bshift;
	if (sb->s_blocks_count == 0 || sb->s_blocks_count > devblocks) {
		WHY("block count %llu does not fit the device (%llu blocks)",
		    (unsigned long long)sb->s_blocks_count, (unsigned long long)devblocks);
		return EINVAL;
	}
	/* Block 0 holds the boot sector and, at 1 KiB blocks, nothing else: the
	 * first group starts at block 1, but with bigalloc at block 0 (in the
	 * first cluster). */
	if (sb->s_first_data_block !=
		(sb->s_bsize == 1024 && !(sb->s_rocompat & RO_COMPAT_BIGALLOC) ? 1u : 0u) ||
	    sb->s_first_data_block >= sb->s_blocks_count) {
		WHY("first data block %u wrong for block size %u", sb->s_first_data_block, sb->s_bsize);
		return EINVAL;
	}
	if (sb->s_rev == EXT2_REV_GOOD_OLD) {
		sb->s_inode_size = EXT2_GOOD_OLD_INODE_SIZE;
		sb->s_first_ino = EXT2_GOOD_OLD_FIRST_INO;
	} else {
		sb->s_inode_size = le16dec(raw + SB_INODE_SIZE);
		sb->s_first_ino = le32dec(raw + SB_FIRST_INO);
	}
	if (sb->s_inode_size < EXT2_GOOD_OLD_INODE_SIZE || sb->s_inode_size > sb->s_bsize ||
	    !powerof2(sb->s_inode_size)) {
		WHY("inode size %u invalid", sb->s_inode_size);
		return EINVAL;
	}
	ipb = sb->s_bsize / sb->s_inode_size;
	/* bigalloc: space is counted in clusters of 2^n blocks, and a group's
	 * bitmap has a bit per cluster. Everything else is still in blocks. */
	cpg = bpg;
	if (sb->s_rocompat & RO_COMPAT_BIGALLOC) {
		logc = le32dec(raw + SB_LOG_CLUSTER_SIZE);
		cpg = le32dec(raw + SB_CLUSTERS_PER_GROUP);
		if (logc < logbs || logc - logbs > EXT2_CLUSTER_SHIFT_MAX) {
			WHY("bigalloc cluster size 1024 << %u invalid for %u-byte blocks", logc, sb->s_bsize);
			return EINVAL;
		}
		sb->s_cluster_shift = logc - logbs;
		if (cpg == 0 || ((uint64_t)cpg << sb->s_cluster_shift) != bpg) {
			WHY("bigalloc: %u clusters per group do not make %u blocks per group", cpg, bpg);
			return EINVAL;
		}
	}
	if (bpg == 0 || cpg > 8 * sb->s_bsize || ipg < ipb || ipg > 8 * sb->s_bsize || ipg % ipb != 0) {
		WHY("blocks per group %u / inodes per group %u invalid", bpg, ipg);
		return EINVAL;
	}
	ngroups = howmany(sb->s_blocks_count - sb->s_first_data_block, (uint64_t)bpg);
	if (ngroups == 0 || ngroups > UINT32_MAX || ngroups * ipg != sb->s_inodes_count) {
		WHY("%llu groups of %u inodes do not make the inode count %u", (unsigned long long)ngroups,
		    ipg, sb->s_inodes_count);
		return EINVAL;
	}
	sb->s_ngroups = (uint32_t)ngroups;
	if (sb->s_first_ino < EXT2_GOOD_OLD_FIRST_INO || sb->s_first_ino > sb->s_inodes_count) {
		WHY("first inode %u invalid", sb->s_first_ino);
		return EINVAL;
	}
	if (sb->s_incompat & INCOMPAT_64BIT) {
		sb->s_desc_size = le16dec(raw + SB_DESC_SIZE);
		if (sb->s_desc_size < EXT2_DESC_SIZE || sb->s_desc_size > EXT2_MAX_DESC_SIZE ||
		    sb->s_desc_size > sb->s_bsize || !powerof2(sb->s_desc_size)) {
			WHY("group descriptor size %u invalid", sb->s_desc_size);
			return EINVAL;
		}
	} else {
		sb->s_desc_size = EXT2_DESC_SIZE;
	}
	/* The descriptors themselves must fit the file system. */
	if (ngroups * sb->s_desc_size / sb->s_bsize >= sb->s_blocks_count) {
		WHY("group descriptors do not fit");
		return EINVAL;
	}
	if (sb->s_free_blocks > sb->s_blocks_count || sb->s_free_inodes > sb->s_inodes_count) {
		WHY("free counts exceed totals");
		return EINVAL;
	}
	if (sb->s_r_blocks_count > sb->s_blocks_count)
		sb->s_r_blocks_count = 0;
	if (sb->s_rocompat & RO_COMPAT_EXTRA_ISIZE)
		sb->s_min_extra_isize = le16dec(raw + SB_MIN_EXTRA_ISIZE);
	if (sb->s_incompat & INCOMPAT_CSUM_SEED)
		sb->s_csum_seed = le32dec(raw + SB_CHECKSUM_SEED);
	else
		sb->s_csum_seed = crc32c(~0u, sb->s_uuid, sizeof(sb->s_uuid));
	if (sb->s_incompat & INCOMPAT_CASEFOLD) {
		sb->s_encoding = le16dec(raw + SB_ENCODING);
		sb->s_encoding_flags = le16dec(raw + SB_ENCODING_FLAGS);
	}
	return 0;
}

static bool
is_power_of(uint32_t n, uint32_t base)
{
	while (n > 1 && n % base == 0)
		n /= base;
	return n == 1;
}

bool
ext2_group_has_super(const struct ext2_sb *sb, uint32_t group)
{
	if (group == 0)
		return true;
	/* sparse_super2: backups in at most two groups, named in the
	 * superblock (0 for none). */
	if (sb->s_compat & COMPAT_SPARSE_SUPER2)
		return group == sb->s_backup_bgs[0] || group == sb->s_backup_bgs[1];
	if (group <= 1 || !(sb->s_rocompat & RO_COMPAT_SPARSE_SUPER))
		return true;
	if (!(group & 1))
		return false;
	return is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7);
}

uint64_t
ext2_gd_location(const struct ext2_sb *sb, uint32_t group, uint32_t *offp)
{
	uint32_t dpb = sb->s_bsize / sb->s_desc_size;
	uint32_t metagroup = group / dpb;
	uint64_t first;

	*offp = (group % dpb) * sb->s_desc_size;
	if (!(sb->s_incompat & INCOMPAT_META_BG) || metagroup < sb->s_first_meta_bg)
		return ext2_gdt_start(sb) + metagroup;
	/* meta_bg: each run of dpb groups keeps its descriptors in its first
	 * group, after that group's superblock copy if it has one. */
	first = (uint64_t)sb->s_first_data_block + (uint64_t)metagroup * dpb * sb->s_blocks_per_group;
	return first + (ext2_group_has_super(sb, metagroup * dpb) ? 1 : 0) + (metagroup == 0 ? ext2_boot_block(sb) : 0);
}

/* 1 if group 0 starts with a block before the superblock's (bigalloc at
 * 1 KiB blocks: group 0 starts at block 0, the superblock is block 1). */
uint32_t
ext2_boot_block(const struct ext2_sb *sb)
{
	return sb->s_bsize == 1024 && sb->s_first_data_block == 0 ? 1 : 0;
}

/* The first block of the primary descriptor table: the one after the block
 * holding the superblock (byte 1024). */
uint64_t
ext2_gdt_start(const struct ext2_sb *sb)
{
	return (EXT2_SB_OFFSET >> sb->s_bshift) + 1;
}

int
ext2_gd_parse(const struct ext2_sb *sb, const uint8_t *raw, uint32_t group, struct ext2_group *g,
	      char *why, size_t whylen)
{
	bool wide = (sb->s_incompat & INCOMPAT_64BIT) && sb->s_desc_size >= EXT2_MIN_DESC_SIZE_64BIT;
	uint64_t gstart, gend, itblocks, gdblk, gdn;
	uint32_t off;

	if (sb->s_rocompat & RO_COMPAT_METADATA_CSUM || sb->s_rocompat & RO_COMPAT_GDT_CSUM) {
		uint16_t want = ext2_gd_csum(sb, group, raw), have = le16dec(raw + GD_CHECKSUM);

		if (want != have) {
			WHY("group %u descriptor checksum %#x, computed %#x", group, have, want);
			return EUCLEAN;
		}
	}
	memset(g, 0, sizeof(*g));
	g->g_block_bitmap = le32dec(raw + GD_BLOCK_BITMAP_LO);
	g->g_inode_bitmap = le32dec(raw + GD_INODE_BITMAP_LO);
	g->g_inode_table = le32dec(raw + GD_INODE_TABLE_LO);
	g->g_free_blocks = le16dec(raw + GD_FREE_BLOCKS_LO);
	g->g_free_inodes = le16dec(raw + GD_FREE_INODES_LO);
	g->g_used_dirs = le16dec(raw + GD_USED_DIRS_LO);
	g->g_itable_unused = le16dec(raw + GD_ITABLE_UNUSED_LO);
	g->g_flags = le16dec(raw + GD_FLAGS);
	if (wide) {
		g->g_block_bitmap |= (uint64_t)le32dec(raw + GD_BLOCK_BITMAP_HI) << 32;
		g->g_inode_bitmap |= (uint64_t)le32dec(raw + GD_INODE_BITMAP_HI) << 32;
		g->g_inode_table |= (uint64_t)le32dec(raw + GD_INODE_TABLE_HI) << 32;
		g->g_free_blocks |= (uint32_t)le16dec(raw + GD_FREE_BLOCKS_HI) << 16;
		g->g_free_inodes |= (uint32_t)le16dec(raw + GD_FREE_INODES_HI) << 16;
		g->g_used_dirs |= (uint32_t)le16dec(raw + GD_USED_DIRS_HI) << 16;
		g->g_itable_unused |= (uint32_t)le16dec(raw + GD_ITABLE_UNUSED_HI) << 16;
	}
	/* Metadata lies inside the file system, past the superblock; without
	 * flex_bg it lies inside its own group. */
	itblocks = (uint64_t)sb->s_inodes_per_group * sb->s_inode_size / sb->s_bsize;
	gstart = sb->s_first_data_block;
	gend = sb->s_blocks_count;
	if (!(sb->s_incompat & INCOMPAT_FLEX_BG)) {
		gstart = sb->s_first_data_block + (uint64_t)group * sb->s_blocks_per_group;
		gend = MIN(gend, gstart + sb->s_blocks_per_group);
	}
	if (g->g_block_bitmap <= sb->s_first_data_block || g->g_block_bitmap < gstart ||
	    g->g_block_bitmap >= gend || g->g_inode_bitmap <= sb->s_first_data_block ||
	    g->g_inode_bitmap < gstart || g->g_inode_bitmap >= gend ||
	    g->g_inode_table <= sb->s_first_data_block || g->g_inode_table < gstart ||
	    g->g_inode_table > gend || itblocks > gend - g->g_inode_table) {
		WHY("group %u metadata outside its range (bitmaps %llu %llu, table %llu)", group,
		    (unsigned long long)g->g_block_bitmap, (unsigned long long)g->g_inode_bitmap,
		    (unsigned long long)g->g_inode_table);
		return EUCLEAN;
	}
	/* Nor may they overlap each other or the descriptors: a write would
	 * then change one structure through another, and the allocator,
	 * holding a bitmap's buffer while it updates the descriptor, would
	 * wait for itself. */
	gdblk = ext2_gd_location(sb, group, &off);
	gdn = 1;
	if (!(sb->s_incompat & INCOMPAT_META_BG)) {
		gdblk = ext2_gdt_start(sb);
		gdn = ((uint64_t)sb->s_ngroups * sb->s_desc_size + sb->s_bsize - 1) / sb->s_bsize;
	}
	if (OVERLAPS(g->g_block_bitmap, 1, g->g_inode_bitmap, 1) ||
	    OVERLAPS(g->g_block_bitmap, 1, g->g_inode_table, itblocks) ||
	    OVERLAPS(g->g_inode_bitmap, 1, g->g_inode_table, itblocks) ||
	    OVERLAPS(g->g_block_bitmap, 1, gdblk, gdn) || OVERLAPS(g->g_inode_bitmap, 1, gdblk, gdn) ||
	    OVERLAPS(g->g_inode_table, itblocks, gdblk, gdn)) {
		WHY("group %u metadata overlaps (bitmaps %llu %llu, table %llu, descriptors %llu)", group,
		    (unsigned long long)g->g_block_bitmap, (unsigned long long)g->g_inode_bitmap,
		    (unsigned long long)g->g_inode_table, (unsigned long long)gdblk);
		return EUCLEAN;
	}
	if (g->g_itable_unused > sb->s_inodes_per_group)
		g->g_itable_unused = 0;
	return 0;
}

/* Raw fields (offset, length) no mount changes, beyond the decoded ones:
 * reserved GDT blocks, hash version and default mount options, extra
 * inode sizes, flex_bg size, quota inodes, lost+found, project quota
 * inode, encoding, orphan file inode. */
static const uint16_t static_raw[][2] = {
	{ 0xCE, 2 }, { 0xFC, 8 }, { 0x15C, 4 }, { 0x174, 1 }, { 0x240, 8 }, { 0x268, 8 }, { 0x27C, 4 }, { 0x280, 4 },
};

int
ext2_sb_torn(struct ext2_mount *em, const uint8_t *raw, char *why, size_t whylen)
{
	const uint32_t volatile_ro = RO_COMPAT_LARGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_HUGE_FILE |
				     RO_COMPAT_ORPHAN_PRESENT;
	struct ext2_sb p, b;
	uint8_t braw[EXT2_SB_SIZE];
	uint64_t g, off;
	char bwhy[96];

	if (ext2_sb_parse_nocsum(raw, em->em_bdev->bd_size, &p, why, whylen) != 0)
		return EUCLEAN;
	/* The first group after 0 that keeps a backup (sparse_super2 names
	 * up to two, in order, 0 for none). */
	g = 1;
	if (p.s_compat & COMPAT_SPARSE_SUPER2)
		g = p.s_backup_bgs[0] != 0 ? p.s_backup_bgs[0] : p.s_backup_bgs[1];
	if (g == 0 || g >= p.s_ngroups)
		goto no;
	off = (g * p.s_blocks_per_group + p.s_first_data_block) << p.s_bshift;
	if (bdev_read(em->em_bdev, off, braw, sizeof(braw)) != 0 ||
	    ext2_sb_parse(braw, em->em_bdev->bd_size, &b, bwhy, sizeof(bwhy)) != 0)
		goto no;
	if (p.s_inodes_count != b.s_inodes_count || p.s_blocks_count != b.s_blocks_count ||
	    p.s_first_data_block != b.s_first_data_block || p.s_bsize != b.s_bsize ||
	    p.s_blocks_per_group != b.s_blocks_per_group || p.s_cluster_shift != b.s_cluster_shift ||
	    p.s_inodes_per_group != b.s_inodes_per_group || p.s_inode_size != b.s_inode_size ||
	    p.s_desc_size != b.s_desc_size || p.s_first_ino != b.s_first_ino || p.s_rev != b.s_rev ||
	    p.s_compat != b.s_compat || (p.s_incompat & ~INCOMPAT_RECOVER) != (b.s_incompat & ~INCOMPAT_RECOVER) ||
	    (p.s_rocompat & ~volatile_ro) != (b.s_rocompat & ~volatile_ro) ||
	    p.s_first_meta_bg != b.s_first_meta_bg || memcmp(p.s_uuid, b.s_uuid, sizeof(p.s_uuid)) != 0 ||
	    memcmp(p.s_hash_seed, b.s_hash_seed, sizeof(p.s_hash_seed)) != 0 || p.s_csum_seed != b.s_csum_seed ||
	    le32dec(raw + SB_JOURNAL_INUM) != le32dec(braw + SB_JOURNAL_INUM))
		goto no;
	for (size_t i = 0; i < sizeof(static_raw) / sizeof(static_raw[0]); i++)
		if (memcmp(raw + static_raw[i][0], braw + static_raw[i][0], static_raw[i][1]) != 0)
			goto no;
	em->em_sb = p;
	em->em_sb_torn = true;
	return 0;
no:
	WHY("superblock checksum mismatch");
	return EUCLEAN;
}
