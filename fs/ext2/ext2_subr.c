/*
 * Small helpers every part of the ext2 driver uses: the corruption report
 * (one dmesg line naming the device and the object, then EUCLEAN), block
 * number checks against the file system size and against the group
 * metadata, and reading a metadata block through the buffer cache.
 *
 * A corrupt block pointer that names a bitmap, an inode table or a
 * descriptor block would, once written through or freed, turn one bad
 * file into a destroyed file system (and a bitmap rewritten as file data
 * can send the allocator in circles). So every pointer taken from disk is
 * checked against a map of the group metadata built once at mount: the
 * runs sorted and merged, indexed by group, so that a check is a short
 * search among the runs of one group, never I/O.
 */
#include "fs/ext2/ext2.h"

KMEM_TYPE(ext2_kmem, "ext2");

int
ext2_corrupt(const struct ext2_mount *em, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	klog(LOG_ERR, "ext2 %s: corrupt: %s", em != NULL && em->em_name != NULL ? em->em_name : "?", msg);
	return EUCLEAN;
}

bool
ext2_blocks_valid(const struct ext2_mount *em, uint64_t blk, uint64_t n)
{
	/* Nothing a file or the metadata points to may be the superblock (or
	 * the boot block before it) or lie past the end. */
	if (blk <= em->em_sb.s_first_data_block || n == 0)
		return false;
	return blk < em->em_nblocks && n <= em->em_nblocks - blk;
}

int
ext2_bread(struct ext2_mount *em, uint64_t blk, struct buf **bpp)
{
	int error;

	if (!ext2_blocks_valid(em, blk, 1))
		return ext2_corrupt(em, "block %llu outside the file system", (unsigned long long)blk);
	error = bread(em->em_bdev, blk, em->em_bsize, bpp);
	if (error) {
		klog(LOG_ERR, "ext2 %s: read error %d at block %llu", em->em_name, error,
		     (unsigned long long)blk);
		*bpp = NULL;
		return EIO;
	}
	return 0;
}

uint32_t
ext2_group_overhead(const struct ext2_mount *em, uint32_t group)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t dpb = em->em_bsize / sb->s_desc_size, r = group % dpb;
	bool super = ext2_group_has_super(sb, group), meta = (sb->s_incompat & INCOMPAT_META_BG) != 0;
	uint32_t n = super ? 1 + em->em_rsv_gdt + (group == 0 ? ext2_boot_block(sb) : 0) : 0;

	/* meta_bg: a metagroup's descriptor block is in its first, second
	 * and last group, after the superblock copy if there is one. */
	if (meta && group / dpb >= sb->s_first_meta_bg)
		return n + ((r == 0 || r == 1 || r == dpb - 1) ? 1 : 0);
	if (super)
		n += meta ? sb->s_first_meta_bg : em->em_gdt_blocks;
	return n;
}

static uint64_t
group_start(const struct ext2_mount *em, uint32_t group)
{
	return em->em_sb.s_first_data_block + (uint64_t)group * em->em_sb.s_blocks_per_group;
}

static void
meta_add(struct ext2_mount *em, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;

	/* Metadata past the end is refused by the descriptor checks; clip it
	 * here all the same so every run lies inside the file system. */
	if (len == 0 || start >= em->em_nblocks)
		return;
	end = MIN(end, em->em_nblocks);
	if (em->em_nmeta < em->em_metacap) {
		em->em_meta[em->em_nmeta].mr_start = start;
		em->em_meta[em->em_nmeta].mr_end = end;
		em->em_nmeta++;
	}
}

static void
sift_down(struct ext2_metarun *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct ext2_metarun t;

		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].mr_start > a[c].mr_start)
			c++;
		if (a[i].mr_start >= a[c].mr_start)
			return;
		t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

/* Heapsort: no recursion and no worst case, whatever the descriptors say. */
static void
meta_sort(struct ext2_metarun *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	while (n > 1) {
		struct ext2_metarun t = a[0];

		a[0] = a[--n];
		a[n] = t;
		sift_down(a, 0, n);
	}
}

void
ext2_meta_free(struct ext2_mount *em)
{
	if (em->em_meta != NULL)
		kmem_free(&ext2_kmem, em->em_meta, (size_t)em->em_metacap * sizeof(*em->em_meta));
	if (em->em_metaidx != NULL)
		kmem_free(&ext2_kmem, em->em_metaidx, ((size_t)em->em_sb.s_ngroups + 1) * sizeof(uint32_t));
	if (em->em_jmeta != NULL)
		kmem_free(&ext2_kmem, em->em_jmeta, (size_t)em->em_jmetacap * sizeof(*em->em_jmeta));
	em->em_meta = NULL;
	em->em_metaidx = NULL;
	em->em_jmeta = NULL;
	em->em_nmeta = em->em_metacap = 0;
	em->em_njmeta = em->em_jmetacap = 0;
}

/* Sort runs and merge what overlaps or touches (only overlap is ever
 * asked); returns the count left. */
static uint32_t
meta_merge(struct ext2_metarun *a, uint32_t n)
{
	uint32_t out = 0;

	meta_sort(a, n);
	for (uint32_t i = 0; i < n; i++) {
		if (out > 0 && a[i].mr_start <= a[out - 1].mr_end)
			a[out - 1].mr_end = MAX(a[out - 1].mr_end, a[i].mr_end);
		else
			a[out++] = a[i];
	}
	return out;
}

/* Journals past this many runs are not fully recorded: a few megabytes of
 * bookkeeping for a journal in pieces is worth less than the mount. */
#define JMETA_MAX 65536u

static int
jmeta_add(struct ext2_mount *em, uint64_t start, uint64_t len)
{
	struct ext2_metarun *n;
	uint32_t cap;

	if (em->em_njmeta > 0 && em->em_jmeta[em->em_njmeta - 1].mr_end == start) {
		em->em_jmeta[em->em_njmeta - 1].mr_end += len;
		return 0;
	}
	if (em->em_njmeta == em->em_jmetacap) {
		if (em->em_jmetacap >= JMETA_MAX)
			return ENOSPC;
		cap = em->em_jmetacap ? em->em_jmetacap * 2 : 8;
		n = kmem_alloc(&ext2_kmem, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return ENOMEM;
		if (em->em_njmeta > 0)
			memcpy(n, em->em_jmeta, (size_t)em->em_njmeta * sizeof(*n));
		if (em->em_jmeta != NULL)
			kmem_free(&ext2_kmem, em->em_jmeta, (size_t)em->em_jmetacap * sizeof(*n));
		em->em_jmeta = n;
		em->em_jmetacap = cap;
	}
	em->em_jmeta[em->em_njmeta].mr_start = start;
	em->em_jmeta[em->em_njmeta].mr_end = start + len;
	em->em_njmeta++;
	return 0;
}

/*
 * The indirect block blk of a block-mapped (ext3) journal, of the given
 * height (1: it holds data block numbers, 2 and 3: numbers of indirect
 * blocks one lower), mapping logical blocks from first on; only what maps
 * blocks below nblk counts. *budget bounds the blocks visited.
 */
static void
jmeta_ind(struct ext2_mount *em, uint64_t blk, int height, uint64_t first, uint64_t nblk, uint64_t *budget)
{
	uint64_t per = em->em_bsize / 4, span = 1;
	struct buf *bp;

	if (blk == 0 || first >= nblk || *budget == 0 || !ext2_blocks_valid(em, blk, 1))
		return;
	(*budget)--;
	if (jmeta_add(em, blk, 1) != 0 || height == 1)
		return;
	for (int h = 1; h < height; h++)
		span *= per;
	if (ext2_bread(em, blk, &bp) != 0)
		return;
	for (uint64_t i = 0; i < per && first + i * span < nblk; i++)
		jmeta_ind(em, le32dec((const uint8_t *)bp->b_data + 4 * i), height - 1, first + i * span, nblk,
			  budget);
	brelse(bp);
}

/*
 * The blocks holding the journal's own map: its extent tree's nodes below
 * the inode, or the indirect blocks of a block-mapped journal. A file
 * naming one could rewrite where the log lives.
 */
static void
jmeta_mapblocks(struct ext2_mount *em, struct ext2_inode *jip, uint64_t nblk)
{
	uint64_t per = em->em_bsize / 4, first = EXT2_NDIR_BLOCKS, span = per, budget = nblk + 8;

	if (jip->i_flags & EXT4_EXTENTS_FL) {
		if (ext2_ext_load(em, jip) != 0)
			return;
		for (uint32_t k = 0; k < jip->i_nnodes; k++)
			if (jmeta_add(em, jip->i_extnodes[k], 1) != 0)
				return;
		return;
	}
	/* The single, double and triple indirect trees, each mapping per
	 * times as many blocks as the one before, from where it ends. */
	for (int h = 1; h <= 3; h++, first += span, span *= per)
		jmeta_ind(em, le32dec(jip->i_block + 4 * (EXT2_IND_BLOCK + h - 1)), h, first, nblk, &budget);
}

/*
 * The internal journal's blocks, from its inode's map. A file pointing
 * into them would be overwritten by the next commit, and would overwrite
 * the log. A journal inode that cannot be read or mapped is left out: the
 * journal code refuses it on its own when it is needed, and a read-only
 * mount may not need it.
 */
static void
jmeta_build(struct ext2_mount *em, const uint8_t *sbraw)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct ext2_inode *jip = NULL;
	struct ext2_map m;
	uint64_t lblk = 0, nblk;

	if (!(sb->s_compat & COMPAT_HAS_JOURNAL))
		return;
	em->em_jinum = le32dec(sbraw + SB_JOURNAL_INUM);
	if (em->em_jinum == 0 || em->em_jinum > sb->s_inodes_count)
		return; /* an external journal, or none */
	if (ext2_inode_load(em, em->em_jinum, &jip) != 0)
		return;
	nblk = MIN(jip->i_size >> sb->s_bshift, em->em_nblocks);
	while (lblk < nblk) {
		if (ext2_bmap(em, jip, lblk, nblk - lblk, &m) != 0 || m.m_len == 0)
			break;
		if (m.m_pblk != 0 && jmeta_add(em, m.m_pblk, m.m_len) != 0)
			break;
		lblk += m.m_len;
	}
	jmeta_mapblocks(em, jip, nblk);
	ext2_inode_free(jip);
	em->em_njmeta = meta_merge(em->em_jmeta, em->em_njmeta);
}

int
ext2_meta_build(struct ext2_mount *em, const uint8_t *sbraw)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint32_t ng = sb->s_ngroups, dpb = em->em_bsize / sb->s_desc_size, out = 0, k = 0;
	uint64_t itblocks = (uint64_t)sb->s_inodes_per_group * sb->s_inode_size / em->em_bsize;

	ext2_meta_free(em);
	em->em_gdt_blocks = (ng + dpb - 1) / dpb;
	em->em_rsv_gdt = 0;
	if (sb->s_compat & COMPAT_RESIZE_INODE)
		em->em_rsv_gdt = le16dec(sbraw + SB_RESERVED_GDT_BLOCKS);
	if ((uint64_t)ng * 4 > UINT32_MAX / sizeof(*em->em_meta))
		return ENOMEM;
	em->em_metacap = ng * 4;
	em->em_meta = kmem_alloc(&ext2_kmem, (size_t)em->em_metacap * sizeof(*em->em_meta));
	em->em_metaidx = kmem_alloc(&ext2_kmem, ((size_t)ng + 1) * sizeof(uint32_t));
	if (em->em_meta == NULL || em->em_metaidx == NULL) {
		ext2_meta_free(em);
		return ENOMEM;
	}
	for (uint32_t g = 0; g < ng; g++) {
		const struct ext2_group *gp = &em->em_groups[g];

		meta_add(em, group_start(em, g), ext2_group_overhead(em, g));
		meta_add(em, gp->g_block_bitmap, 1);
		meta_add(em, gp->g_inode_bitmap, 1);
		meta_add(em, gp->g_inode_table, itblocks);
	}
	out = meta_merge(em->em_meta, em->em_nmeta);
	em->em_nmeta = out;
	for (uint32_t g = 0; g < ng; g++) {
		uint64_t first = group_start(em, g);

		while (k < out && em->em_meta[k].mr_end <= first)
			k++;
		em->em_metaidx[g] = k;
	}
	em->em_metaidx[ng] = out;
	/* After the group map is complete, so the journal's own pointers are
	 * checked against it as they are mapped. */
	jmeta_build(em, sbraw);
	return 0;
}

/* The first of the sorted runs a[lo..hi) that ends past blk, if it
 * starts before blk + n. */
static bool
runs_find(const struct ext2_metarun *a, uint32_t lo, uint32_t hi, uint32_t n_all, uint64_t blk, uint64_t n,
	  uint64_t *startp, uint64_t *endp)
{
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (a[mid].mr_end <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= n_all || a[lo].mr_start >= blk + n)
		return false;
	if (startp != NULL)
		*startp = a[lo].mr_start;
	if (endp != NULL)
		*endp = a[lo].mr_end;
	return true;
}

static bool
group_meta_find(const struct ext2_mount *em, uint64_t blk, uint64_t n, uint64_t *startp, uint64_t *endp)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint64_t g;

	if (em->em_metaidx == NULL || n == 0 || blk < sb->s_first_data_block)
		return false;
	g = (blk - sb->s_first_data_block) / sb->s_blocks_per_group;
	if (g >= sb->s_ngroups)
		g = sb->s_ngroups - 1;
	/* The first run ending past blk lies between the first run reaching
	 * into this group and the first reaching into the next one. */
	return runs_find(em->em_meta, em->em_metaidx[g], em->em_metaidx[g + 1], em->em_nmeta, blk, n, startp,
			 endp);
}

bool
ext2_meta_find(const struct ext2_mount *em, uint64_t blk, uint64_t n, uint64_t *startp, uint64_t *endp)
{
	uint64_t gs = 0, ge = 0, js = 0, je = 0;
	bool g, j;

	g = group_meta_find(em, blk, n, &gs, &ge);
	j = n > 0 && em->em_njmeta > 0 && runs_find(em->em_jmeta, 0, em->em_njmeta, em->em_njmeta, blk, n, &js, &je);
	if (!g && !j)
		return false;
	/* The earlier of the two: callers cut a run short at its start. */
	if (!g || (j && js < gs)) {
		gs = js;
		ge = je;
	}
	if (startp != NULL)
		*startp = gs;
	if (endp != NULL)
		*endp = ge;
	return true;
}

int
ext2_fileblocks_check(const struct ext2_mount *em, uint32_t ino, uint64_t blk, uint64_t n)
{
	uint64_t ms, me;

	if (!ext2_blocks_valid(em, blk, n))
		return ext2_corrupt(em, "inode %u: block %llu+%llu outside the file system", ino,
				    (unsigned long long)blk, (unsigned long long)n);
	/* The journal inode alone may name the journal's blocks. */
	if (ino == em->em_jinum && em->em_jinum != 0 ? group_meta_find(em, blk, n, &ms, &me) :
						       ext2_meta_find(em, blk, n, &ms, &me))
		return ext2_corrupt(em, "inode %u: block %llu+%llu lies on metadata (blocks %llu-%llu)", ino,
				    (unsigned long long)blk, (unsigned long long)n, (unsigned long long)ms,
				    (unsigned long long)(me - 1));
	return 0;
}
