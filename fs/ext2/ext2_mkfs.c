/*
 * mkfs for ext2/ext3/ext4 (anyk_mkfs): lays out a new file system on an
 * open block device with the defaults and feature sets of Debian 12's
 * mke2fs, so that e2fsck finds it clean and Linux mounts it.
 *
 * Nothing here keeps a bitmap of the whole device: every block in use is a
 * range in one sorted list (superblock copies, descriptor tables, bitmaps,
 * inode tables, the few files made here), and each group's bitmap and free
 * count are computed from that list when it is written. So memory grows
 * with the number of groups, not with the size of the device.
 *
 * The output depends only on the options and the device size: with a given
 * UUID and timestamp, two runs write the same bytes.
 */
#include "anyk/anyk.h"
#include "fs/ext2/ext2.h"

KMEM_TYPE(M_MKFS, "ext2_mkfs");

#define MKFS_LPF_INO 11
#define MKFS_FIRST_INO 11
#define MKFS_FLEX_LOG 4          /* 16 groups per flex group */
#define MKFS_EXTRA_ISIZE 32      /* the inode fields past 128 bytes in use */
#define MKFS_MAX_JOURNAL (1u << 20)
#define MKFS_ZERO_CHUNK 65536
#define MKFS_ZERO_IOV 64
#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

struct mkrange {
	uint64_t start, len;
};

struct mkgroup {
	uint64_t bb, ib, it; /* block bitmap, inode bitmap, inode table */
	uint32_t free_blocks;
	uint32_t free_inodes;
	uint32_t used_dirs;
	uint32_t itable_unused;
	uint16_t flags;
	uint32_t bb_csum, ib_csum;
};

/* A file made by mkfs: its logical blocks in physical runs. */
struct mkfile {
	struct mkrange *runs;
	uint32_t nruns, cap;
	uint64_t nblocks;   /* data blocks */
	uint64_t metablocks; /* index blocks (extent leaf, indirect blocks) */
	uint8_t iblock[EXT2_I_BLOCK_SIZE];
};

struct mkfs {
	struct bdev *bd;
	const struct anyk_mkfs_opts *o;
	struct ext2_sb sb; /* what the checksum helpers need */
	uint32_t compat, incompat, rocompat;
	bool csum, gdtcsum, uninit;
	bool want_resize, want_journal;
	uint32_t bsize;
	unsigned bshift;
	uint64_t nblocks;
	uint32_t fdb; /* first data block */
	uint32_t bpg, ipg, itb, ngroups, desc_size, gdt_blocks, rsv_gdt;
	uint32_t isize, inode_ratio;
	uint32_t jblocks;
	int64_t now;
	uint8_t uuid[16];
	uint32_t hash_seed[4];
	struct mkgroup *groups;
	struct mkrange *used;
	size_t nused, capused;
	uint64_t dind, root;
	struct mkrange lpf;
	struct mkfile journal;
	uint64_t written; /* bytes, for s_kbytes_written */
	uint8_t *zero;    /* MKFS_ZERO_CHUNK bytes of zeros */
	uint8_t *blk;     /* scratch, one block */
};

static void
note(struct mkfs *m, const char *fmt, ...)
{
	const struct anyk_mkfs_opts *o = m->o;
	size_t len;
	va_list ap;

	if (o->msg == NULL || o->msglen == 0)
		return;
	len = strlen(o->msg);
	if (len > 0 && len + 2 < o->msglen) {
		strlcpy(o->msg + len, "; ", o->msglen - len);
		len += 2;
	}
	if (len + 1 >= o->msglen)
		return;
	va_start(ap, fmt);
	kvsnprintf(o->msg + len, o->msglen - len, fmt, ap);
	va_end(ap);
}

/* Report a failure in msg (replacing any notes) and return error. */
static int
fail(struct mkfs *m, int error, const char *fmt, ...)
{
	const struct anyk_mkfs_opts *o = m->o;
	va_list ap;

	if (o->msg != NULL && o->msglen > 0) {
		va_start(ap, fmt);
		kvsnprintf(o->msg, o->msglen, fmt, ap);
		va_end(ap);
	}
	return error;
}

/* --- features ---------------------------------------------------------------- */

enum { F_COMPAT, F_INCOMPAT, F_ROCOMPAT };

static const struct mkfeature {
	const char *name;
	int word;
	uint32_t bit;
} mkfeatures[] = {
	{ "has_journal", F_COMPAT, COMPAT_HAS_JOURNAL },
	{ "ext_attr", F_COMPAT, COMPAT_EXT_ATTR },
	{ "resize_inode", F_COMPAT, COMPAT_RESIZE_INODE },
	{ "dir_index", F_COMPAT, COMPAT_DIR_INDEX },
	{ "filetype", F_INCOMPAT, INCOMPAT_FILETYPE },
	{ "extent", F_INCOMPAT, INCOMPAT_EXTENTS },
	{ "extents", F_INCOMPAT, INCOMPAT_EXTENTS },
	{ "64bit", F_INCOMPAT, INCOMPAT_64BIT },
	{ "flex_bg", F_INCOMPAT, INCOMPAT_FLEX_BG },
	{ "metadata_csum_seed", F_INCOMPAT, INCOMPAT_CSUM_SEED },
	{ "large_dir", F_INCOMPAT, INCOMPAT_LARGEDIR },
	{ "casefold", F_INCOMPAT, INCOMPAT_CASEFOLD }, /* names in utf8-12.1, as mke2fs's default */
	/* Flags alone: large attribute values and small files go where
	 * the driver puts them (ext2_xattr_w.c, ext2_inline.c). */
	{ "ea_inode", F_INCOMPAT, INCOMPAT_EA_INODE },
	{ "inline_data", F_INCOMPAT, INCOMPAT_INLINE_DATA },
	{ "sparse_super", F_ROCOMPAT, RO_COMPAT_SPARSE_SUPER },
	{ "large_file", F_ROCOMPAT, RO_COMPAT_LARGE_FILE },
	{ "huge_file", F_ROCOMPAT, RO_COMPAT_HUGE_FILE },
	{ "uninit_bg", F_ROCOMPAT, RO_COMPAT_GDT_CSUM },
	{ "dir_nlink", F_ROCOMPAT, RO_COMPAT_DIR_NLINK },
	{ "extra_isize", F_ROCOMPAT, RO_COMPAT_EXTRA_ISIZE },
	{ "metadata_csum", F_ROCOMPAT, RO_COMPAT_METADATA_CSUM },
};

/* Known to mke2fs, but not made by this mkfs. */
static const char *const unsupported[] = {
	"meta_bg", "bigalloc", "quota", "project", "encrypt",
	"mmp", "sparse_super2", "orphan_file", "journal_dev", "verity",
	"stable_inodes", "fast_commit", "dir_prealloc", "imagic_inodes", "compression",
};

static uint32_t *
fword(struct mkfs *m, int word)
{
	return word == F_COMPAT ? &m->compat : word == F_INCOMPAT ? &m->incompat : &m->rocompat;
}

static int
parse_features(struct mkfs *m, const char *s)
{
	char name[32];
	size_t n, i;
	bool clear;

	while (s != NULL && *s != '\0') {
		while (*s == ',' || *s == ' ')
			s++;
		if (*s == '\0')
			break;
		clear = (*s == '^');
		if (clear)
			s++;
		for (n = 0; s[n] != '\0' && s[n] != ',' && s[n] != ' '; n++)
			;
		if (n == 0 || n >= sizeof(name))
			return fail(m, EINVAL, "bad feature list near '%.20s'", s);
		memcpy(name, s, n);
		name[n] = '\0';
		s += n;
		for (i = 0; i < NITEMS(mkfeatures); i++)
			if (strcmp(mkfeatures[i].name, name) == 0)
				break;
		if (i == NITEMS(mkfeatures)) {
			for (i = 0; i < NITEMS(unsupported); i++)
				if (strcmp(unsupported[i], name) == 0)
					return fail(m, EINVAL, "feature '%s' is not supported by anyk mkfs", name);
			return fail(m, EINVAL, "unknown feature '%s'", name);
		}
		if (clear)
			*fword(m, mkfeatures[i].word) &= ~mkfeatures[i].bit;
		else
			*fword(m, mkfeatures[i].word) |= mkfeatures[i].bit;
		if (mkfeatures[i].bit == COMPAT_RESIZE_INODE && mkfeatures[i].word == F_COMPAT)
			m->want_resize = !clear;
	}
	return 0;
}

static int
choose_features(struct mkfs *m)
{
	const char *t = m->o->fstype != NULL ? m->o->fstype : "ext2";
	int error;

	m->compat = COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX | COMPAT_EXT_ATTR;
	m->incompat = INCOMPAT_FILETYPE;
	m->rocompat = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;
	if (strcmp(t, "ext3") == 0) {
		m->compat |= COMPAT_HAS_JOURNAL;
	} else if (strcmp(t, "ext4") == 0) {
		m->compat |= COMPAT_HAS_JOURNAL;
		m->incompat |= INCOMPAT_EXTENTS | INCOMPAT_FLEX_BG | INCOMPAT_64BIT;
		m->rocompat |= RO_COMPAT_HUGE_FILE | RO_COMPAT_METADATA_CSUM | RO_COMPAT_DIR_NLINK |
			       RO_COMPAT_EXTRA_ISIZE;
	} else if (strcmp(t, "ext2") != 0) {
		return fail(m, EINVAL, "unknown file system type '%s' (ext2, ext3 or ext4)", t);
	}
	error = parse_features(m, m->o->features);
	if (error)
		return error;
	if ((m->incompat & INCOMPAT_64BIT) && !(m->incompat & INCOMPAT_EXTENTS))
		return fail(m, EINVAL, "64bit needs the extent feature");
	if ((m->incompat & INCOMPAT_CSUM_SEED) && !(m->rocompat & RO_COMPAT_METADATA_CSUM))
		return fail(m, EINVAL, "metadata_csum_seed needs metadata_csum");
	if ((m->o->flags & ANYK_MKFS_ENC_STRICT) && !(m->incompat & INCOMPAT_CASEFOLD))
		return fail(m, EINVAL, "the strict encoding flag needs the casefold feature");
	/* metadata_csum supersedes the crc16 descriptor checksums. */
	if (m->rocompat & RO_COMPAT_METADATA_CSUM)
		m->rocompat &= ~RO_COMPAT_GDT_CSUM;
	m->csum = (m->rocompat & RO_COMPAT_METADATA_CSUM) != 0;
	m->gdtcsum = (m->rocompat & RO_COMPAT_GDT_CSUM) != 0;
	m->uninit = m->csum || m->gdtcsum;
	return 0;
}

/* --- geometry --------------------------------------------------------------- */

static bool
ispow2(uint32_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static uint64_t
gstart(const struct mkfs *m, uint32_t g)
{
	return m->fdb + ((uint64_t)g << (m->bshift + 3));
}

static uint32_t
gblocks(const struct mkfs *m, uint32_t g)
{
	if (g + 1 < m->ngroups)
		return m->bpg;
	return (uint32_t)(m->nblocks - gstart(m, g));
}

static bool
has_super(const struct mkfs *m, uint32_t g)
{
	return ext2_group_has_super(&m->sb, g);
}

/* Superblock, descriptors and reserved descriptors at the start of g. */
static uint32_t
super_blocks(const struct mkfs *m, uint32_t g)
{
	return has_super(m, g) ? 1 + m->gdt_blocks + m->rsv_gdt : 0;
}

/* mke2fs's journal size for a file system of n blocks; 0: too small. */
static uint32_t
default_journal(uint64_t n)
{
	if (n < 2048)
		return 0;
	if (n < 32768)
		return 1024;
	if (n < 256 * 1024)
		return 4096;
	if (n < 512 * 1024)
		return 8192;
	if (n < 4096 * 1024)
		return 16384;
	if (n < 8192 * 1024)
		return 32768;
	if (n < 16384 * 1024)
		return 65536;
	if (n < 32768 * 1024)
		return 131072;
	return 262144;
}

/* Enough reserved descriptor blocks to grow to 1024 times the size (or to
 * 2^32 blocks), at most one indirect block's worth. */
static uint32_t
reserved_gdt(const struct mkfs *m)
{
	uint64_t maxblocks = 0xffffffffull, groups, gdb;
	uint32_t apb = m->bsize / 4, dpb = m->bsize / m->desc_size;

	if (m->nblocks < maxblocks / 1024)
		maxblocks = m->nblocks * 1024;
	groups = howmany(maxblocks - m->fdb, (uint64_t)m->bpg);
	gdb = howmany(groups, (uint64_t)dpb);
	if (gdb <= m->gdt_blocks)
		return 0;
	gdb -= m->gdt_blocks;
	return gdb > apb ? apb : (uint32_t)gdb;
}

static int
geometry(struct mkfs *m)
{
	const struct anyk_mkfs_opts *o = m->o;
	uint64_t devsize = m->bd->bd_size, total, rem, maxblocks;
	uint32_t overhead;

	if (o->block_size != 0) {
		if (!ispow2(o->block_size) || o->block_size < 1024 || o->block_size > 65536)
			return fail(m, EINVAL, "block size %u is not a power of 2 from 1024 to 65536",
				    o->block_size);
		m->bsize = o->block_size;
	} else {
		m->bsize = devsize < (512ull << 20) ? 1024 : 4096;
	}
	if (m->bsize < m->bd->bd_secsize)
		return fail(m, EINVAL, "block size %u is smaller than the device's sectors (%u)",
			    m->bsize, m->bd->bd_secsize);
	for (m->bshift = 10; (1u << m->bshift) < m->bsize; m->bshift++)
		;
	/* mke2fs's "floppy", "small", default, "big" and "huge" types. */
	if (devsize < (3ull << 20))
		m->inode_ratio = 8192;
	else if (devsize < (512ull << 20))
		m->inode_ratio = 4096;
	else if (devsize < (4ull << 40))
		m->inode_ratio = 16384;
	else if (devsize < (16ull << 40))
		m->inode_ratio = 32768;
	else
		m->inode_ratio = 65536;
	if (m->inode_ratio < m->bsize)
		m->inode_ratio = m->bsize;
	m->isize = o->inode_size != 0 ? o->inode_size : 256;
	if (!ispow2(m->isize) || m->isize < EXT2_GOOD_OLD_INODE_SIZE || m->isize > m->bsize)
		return fail(m, EINVAL, "inode size %u is not a power of 2 from 128 to the block size",
			    m->isize);
	/* Inline data lives in the inode's extra space, as mke2fs requires. */
	if ((m->incompat & INCOMPAT_INLINE_DATA) && m->isize < 256)
		return fail(m, EINVAL, "inline_data needs inodes of at least 256 bytes (-I 256)");
	m->nblocks = devsize >> m->bshift;
	maxblocks = (m->incompat & INCOMPAT_64BIT) ? (1ull << 48) - 1 : 0xffffffffull;
	if (m->nblocks > maxblocks) {
		if (m->incompat & INCOMPAT_64BIT)
			return fail(m, EINVAL, "device too big");
		note(m, "only the first %llu blocks used: more needs the 64bit feature",
		     (unsigned long long)maxblocks);
		m->nblocks = maxblocks;
	}
	m->fdb = m->bsize == 1024 ? 1 : 0;
	m->bpg = m->bsize * 8;
	m->desc_size = (m->incompat & INCOMPAT_64BIT) ? EXT2_MIN_DESC_SIZE_64BIT : EXT2_DESC_SIZE;
	m->want_journal = (m->compat & COMPAT_HAS_JOURNAL) != 0;
	m->sb.s_rocompat = m->rocompat; /* for has_super */

again:
	if (m->nblocks <= m->fdb + 64)
		return fail(m, EINVAL, "device too small: %llu bytes", (unsigned long long)devsize);
	m->ngroups = (uint32_t)howmany(m->nblocks - m->fdb, (uint64_t)m->bpg);
	m->gdt_blocks = (uint32_t)howmany((uint64_t)m->ngroups * m->desc_size, (uint64_t)m->bsize);
	m->rsv_gdt = (m->compat & COMPAT_RESIZE_INODE) ? reserved_gdt(m) : 0;
	if (o->inodes != 0)
		total = o->inodes;
	else
		total = (m->nblocks << m->bshift) / m->inode_ratio;
	if (total < MKFS_FIRST_INO + 1)
		total = MKFS_FIRST_INO + 1;
	if (total > 0xffffffffull)
		total = 0xffffffffull;
	m->ipg = (uint32_t)howmany(total, (uint64_t)m->ngroups);
	if (m->ipg > m->bsize * 8)
		m->ipg = m->bsize * 8;
	/* Fill whole inode table blocks, in multiples of 8 inodes. */
	m->itb = howmany(m->ipg * m->isize, m->bsize);
	m->ipg = (m->itb * m->bsize / m->isize) & ~7u;
	if (m->ipg < 16)
		m->ipg = 16;
	if (m->ipg > m->bsize * 8)
		m->ipg = m->bsize * 8;
	m->itb = howmany(m->ipg * m->isize, m->bsize);
	if ((uint64_t)m->ipg * m->ngroups > 0xffffffffull)
		return fail(m, EINVAL, "too many inodes");

	overhead = 1 + m->gdt_blocks + m->rsv_gdt + 2 + m->itb;
	if (overhead + 50 > m->bpg || (m->ngroups == 1 && overhead + 50 > m->nblocks - m->fdb)) {
		if (m->rsv_gdt != 0 && !m->want_resize) {
			m->compat &= ~COMPAT_RESIZE_INODE;
			note(m, "resize_inode left out: no room for the reserved descriptor blocks");
			goto again;
		}
		return fail(m, EINVAL, "device too small for %u inodes per group of %u-byte blocks",
			    m->ipg, m->bsize);
	}
	/* A last group too small for its own metadata is dropped. */
	rem = (m->nblocks - m->fdb) & (m->bpg - 1);
	if (m->ngroups > 1 && rem != 0 && rem < super_blocks(m, m->ngroups - 1) + 2 + m->itb + 50) {
		m->nblocks -= rem;
		goto again;
	}

	if (m->want_journal) {
		m->jblocks = o->journal_blocks != 0 ? o->journal_blocks : default_journal(m->nblocks);
		if (m->jblocks == 0) {
			m->compat &= ~COMPAT_HAS_JOURNAL;
			m->want_journal = false;
			note(m, "has_journal left out: the file system is too small for a journal");
		} else if (o->journal_blocks != 0 &&
			   (m->jblocks < JBD2_MIN_JOURNAL_BLOCKS || m->jblocks > MKFS_MAX_JOURNAL ||
			    m->jblocks > (m->nblocks - m->fdb) / 2)) {
			return fail(m, EINVAL, "journal of %u blocks: must be from %u to %u and at most half the file system",
				    m->jblocks, JBD2_MIN_JOURNAL_BLOCKS, MKFS_MAX_JOURNAL);
		}
	} else if (o->journal_blocks != 0) {
		return fail(m, EINVAL, "a journal size without has_journal");
	}
	return 0;
}

/* --- the list of used blocks ---------------------------------------------------- */

/* Index of the first range that ends after blk. */
static size_t
range_find(const struct mkfs *m, uint64_t blk)
{
	size_t lo = 0, hi = m->nused, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->used[mid].start + m->used[mid].len <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Mark [start, start+len) used; the caller knows it is free. */
static int
range_add(struct mkfs *m, uint64_t start, uint64_t len)
{
	struct mkrange *r;
	size_t i, cap;

	if (len == 0)
		return 0;
	i = range_find(m, start);
	if (i > 0 && m->used[i - 1].start + m->used[i - 1].len == start) {
		m->used[i - 1].len += len;
		if (i < m->nused && m->used[i].start == start + len) {
			m->used[i - 1].len += m->used[i].len;
			memmove(&m->used[i], &m->used[i + 1], (m->nused - i - 1) * sizeof(*r));
			m->nused--;
		}
		return 0;
	}
	if (i < m->nused && m->used[i].start == start + len) {
		m->used[i].start = start;
		m->used[i].len += len;
		return 0;
	}
	if (m->nused == m->capused) {
		cap = m->capused ? m->capused * 2 : 256;
		r = kmem_alloc(&M_MKFS, cap * sizeof(*r));
		if (r == NULL)
			return ENOMEM;
		if (m->nused)
			memcpy(r, m->used, m->nused * sizeof(*r));
		kmem_free(&M_MKFS, m->used, m->capused * sizeof(*r));
		m->used = r;
		m->capused = cap;
	}
	memmove(&m->used[i + 1], &m->used[i], (m->nused - i) * sizeof(*r));
	m->used[i].start = start;
	m->used[i].len = len;
	m->nused++;
	return 0;
}

/* The first free run of len blocks at or after goal; ENOSPC if none. */
static int
alloc_run(struct mkfs *m, uint64_t goal, uint64_t len, uint64_t *startp)
{
	uint64_t pos = goal < m->fdb ? m->fdb : goal, end;
	size_t i = range_find(m, pos);

	for (;;) {
		if (pos + len > m->nblocks)
			return ENOSPC;
		if (i == m->nused || m->used[i].start >= pos + len)
			break;
		end = m->used[i].start + m->used[i].len;
		if (end > pos)
			pos = end;
		i++;
	}
	*startp = pos;
	return range_add(m, pos, len);
}

/* The longest free run (up to max blocks) starting at the first free block
 * at or after goal. */
static int
alloc_some(struct mkfs *m, uint64_t goal, uint64_t max, struct mkrange *got)
{
	uint64_t pos = goal < m->fdb ? m->fdb : goal, end;
	size_t i = range_find(m, pos);

	while (i < m->nused && m->used[i].start <= pos) {
		end = m->used[i].start + m->used[i].len;
		if (end > pos)
			pos = end;
		i++;
	}
	if (pos >= m->nblocks)
		return ENOSPC;
	end = i < m->nused ? m->used[i].start : m->nblocks;
	if (end - pos > max)
		end = pos + max;
	got->start = pos;
	got->len = end - pos;
	return range_add(m, pos, got->len);
}

/* Blocks of [lo, hi) in use. */
static uint64_t
used_between(const struct mkfs *m, uint64_t lo, uint64_t hi)
{
	uint64_t n = 0, s, e;
	size_t i;

	for (i = range_find(m, lo); i < m->nused && m->used[i].start < hi; i++) {
		s = m->used[i].start > lo ? m->used[i].start : lo;
		e = m->used[i].start + m->used[i].len;
		if (e > hi)
			e = hi;
		n += e - s;
	}
	return n;
}

static uint64_t
inside(uint64_t s, uint64_t len, uint64_t lo, uint64_t hi)
{
	uint64_t e = s + len;

	if (s < lo)
		s = lo;
	if (e > hi)
		e = hi;
	return e > s ? e - s : 0;
}

/* --- layout ----------------------------------------------------------------- */

static int
place_group_tables(struct mkfs *m)
{
	uint32_t flex = (m->incompat & INCOMPAT_FLEX_BG) ? 1u << MKFS_FLEX_LOG : 1;
	uint32_t g, g0, n, i;
	uint64_t cur;
	int error;

	for (g = 0; g < m->ngroups; g++) {
		error = range_add(m, gstart(m, g), super_blocks(m, g));
		if (error)
			return error;
	}
	/* With flex_bg, the bitmaps and tables of 16 groups are packed at the
	 * start of the first: all block bitmaps, all inode bitmaps, then the
	 * inode tables, as mke2fs does. */
	for (g0 = 0; g0 < m->ngroups; g0 += flex) {
		n = m->ngroups - g0 < flex ? m->ngroups - g0 : flex;
		cur = gstart(m, g0);
		for (i = 0; i < n && !error; i++) {
			error = alloc_run(m, cur, 1, &m->groups[g0 + i].bb);
			cur = m->groups[g0 + i].bb + 1;
		}
		for (i = 0; i < n && !error; i++) {
			error = alloc_run(m, cur, 1, &m->groups[g0 + i].ib);
			cur = m->groups[g0 + i].ib + 1;
		}
		for (i = 0; i < n && !error; i++) {
			error = alloc_run(m, cur, m->itb, &m->groups[g0 + i].it);
			cur = m->groups[g0 + i].it + m->itb;
		}
		if (error)
			return fail(m, error, "no room for the inode tables: device too small");
	}
	return 0;
}

static int
file_addrun(struct mkfile *f, uint64_t start, uint64_t len)
{
	struct mkrange *r;
	uint32_t cap;

	if (f->nruns > 0 && f->runs[f->nruns - 1].start + f->runs[f->nruns - 1].len == start) {
		f->runs[f->nruns - 1].len += len;
		return 0;
	}
	if (f->nruns == f->cap) {
		cap = f->cap ? f->cap * 2 : 16;
		r = kmem_alloc(&M_MKFS, cap * sizeof(*r));
		if (r == NULL)
			return ENOMEM;
		if (f->nruns)
			memcpy(r, f->runs, f->nruns * sizeof(*r));
		kmem_free(&M_MKFS, f->runs, f->cap * sizeof(*r));
		f->runs = r;
		f->cap = cap;
	}
	f->runs[f->nruns].start = start;
	f->runs[f->nruns].len = len;
	f->nruns++;
	return 0;
}

/* The journal goes in the middle of the file system, as mke2fs puts it,
 * in runs of free blocks from there on (wrapping to the start). */
static int
place_journal(struct mkfs *m)
{
	uint32_t flex = 1u << MKFS_FLEX_LOG, g;
	uint64_t goal, left = m->jblocks + m->journal.metablocks;
	struct mkrange got;
	bool wrapped = false;
	int error;

	g = (uint32_t)(((m->nblocks - m->fdb) / 2) >> (m->bshift + 3));
	if ((m->incompat & INCOMPAT_FLEX_BG) && m->ngroups > flex)
		g &= ~(flex - 1);
	goal = gstart(m, g);
	while (left > 0) {
		error = alloc_some(m, goal, left, &got);
		if (error == ENOSPC && !wrapped) {
			wrapped = true;
			goal = m->fdb;
			continue;
		}
		if (error)
			return error;
		error = file_addrun(&m->journal, got.start, got.len);
		if (error)
			return error;
		goal = got.start + got.len;
		left -= got.len;
	}
	m->journal.nblocks = m->jblocks;
	return 0;
}

static uint32_t
lpf_blocks(const struct mkfs *m)
{
	uint32_t n = 16384 / m->bsize;

	if (n < 2)
		n = 2;
	return n > EXT2_NDIR_BLOCKS ? EXT2_NDIR_BLOCKS : n;
}

static int
place_files(struct mkfs *m)
{
	int error;

	if (m->compat & COMPAT_RESIZE_INODE) {
		error = alloc_run(m, m->fdb, 1, &m->dind);
		if (error)
			goto nospace;
	}
	error = alloc_run(m, m->fdb, 1, &m->root);
	if (error)
		goto nospace;
	m->lpf.len = lpf_blocks(m);
	error = alloc_run(m, m->fdb, m->lpf.len, &m->lpf.start);
	if (error)
		goto nospace;
	if (m->want_journal) {
		error = place_journal(m);
		if (error)
			goto nospace;
	}
	return 0;
nospace:
	if (error == ENOSPC)
		return fail(m, EINVAL, "device too small: no room for the root directory and journal");
	return error;
}

/* --- writing ---------------------------------------------------------------- */

static int
dev_write(struct mkfs *m, uint64_t blk, const void *buf, size_t len)
{
	int error = bdev_write(m->bd, blk << m->bshift, buf, len);

	if (error == 0)
		m->written += len;
	return error;
}

static int
dev_zero(struct mkfs *m, uint64_t blk, uint64_t nblk)
{
	struct anyk_iovec iov[MKFS_ZERO_IOV];
	uint64_t off = blk << m->bshift, left = nblk << m->bshift, chunk;
	int cnt, error = 0;

	while (left > 0 && !error) {
		for (cnt = 0, chunk = 0; cnt < MKFS_ZERO_IOV && chunk < left; cnt++) {
			iov[cnt].iov_base = m->zero;
			iov[cnt].iov_len = left - chunk < MKFS_ZERO_CHUNK ? (size_t)(left - chunk) : MKFS_ZERO_CHUNK;
			chunk += iov[cnt].iov_len;
		}
		error = bdev_writev(m->bd, off, iov, cnt);
		off += chunk;
		left -= chunk;
		m->written += chunk;
	}
	return error;
}

/* A directory entry; rec_len 65536 is stored as 65535, as ext4 does. */
static uint32_t
put_dirent(const struct mkfs *m, uint8_t *p, uint32_t ino, uint32_t reclen, const char *name,
	   uint8_t type)
{
	size_t len = strlen(name);

	le32enc(p + DE_INODE, ino);
	le16enc(p + DE_REC_LEN, reclen >= 65536 ? 65535 : (uint16_t)reclen);
	if (m->incompat & INCOMPAT_FILETYPE) {
		p[DE_NAME_LEN] = (uint8_t)len;
		p[DE_FILE_TYPE] = type;
	} else {
		le16enc(p + DE_NAME_LEN, (uint16_t)len);
	}
	memcpy(p + DE_NAME, name, len);
	return reclen;
}

/* The metadata_csum tail of a directory block. */
static void
dir_tail(const struct mkfs *m, uint8_t *blk, uint32_t ino)
{
	uint8_t *t = blk + m->bsize - EXT2_DIR_TAIL_SIZE;

	memset(t, 0, EXT2_DIR_TAIL_SIZE);
	le16enc(t + DE_REC_LEN, EXT2_DIR_TAIL_SIZE);
	t[DE_FILE_TYPE] = EXT2_DIR_TAIL_FT;
	le32enc(t + DT_CSUM_OFF,
		crc32c(ext2_inode_seed(&m->sb, ino, 0), blk, m->bsize - EXT2_DIR_TAIL_SIZE));
}

static int
write_dirs(struct mkfs *m)
{
	uint32_t room = m->bsize - (m->csum ? EXT2_DIR_TAIL_SIZE : 0), off, i;
	uint8_t *b = m->blk;
	int error;

	memset(b, 0, m->bsize);
	off = put_dirent(m, b, EXT2_ROOT_INO, 12, ".", EXT2_FT_DIR);
	off += put_dirent(m, b + off, EXT2_ROOT_INO, 12, "..", EXT2_FT_DIR);
	put_dirent(m, b + off, MKFS_LPF_INO, room - off, "lost+found", EXT2_FT_DIR);
	if (m->csum)
		dir_tail(m, b, EXT2_ROOT_INO);
	error = dev_write(m, m->root, b, m->bsize);
	for (i = 0; i < m->lpf.len && !error; i++) {
		memset(b, 0, m->bsize);
		if (i == 0) {
			off = put_dirent(m, b, MKFS_LPF_INO, 12, ".", EXT2_FT_DIR);
			put_dirent(m, b + off, EXT2_ROOT_INO, room - off, "..", EXT2_FT_DIR);
		} else {
			le16enc(b + DE_REC_LEN, room >= 65536 ? 65535 : (uint16_t)room);
		}
		if (m->csum)
			dir_tail(m, b, MKFS_LPF_INO);
		error = dev_write(m, m->lpf.start + i, b, m->bsize);
	}
	return error;
}

static void
extent_header(uint8_t *p, uint16_t entries, uint16_t max, uint16_t depth)
{
	le16enc(p + EH_MAGIC, EXT4_EXT_MAGIC);
	le16enc(p + EH_ENTRIES, entries);
	le16enc(p + EH_MAX, max);
	le16enc(p + EH_DEPTH, depth);
}

static void
extent_leaf(uint8_t *p, uint32_t lblk, uint64_t pblk, uint32_t len)
{
	le32enc(p + EE_BLOCK, lblk);
	le16enc(p + EE_LEN, (uint16_t)len);
	le16enc(p + EE_START_HI, (uint16_t)(pblk >> 32));
	le32enc(p + EE_START_LO, (uint32_t)pblk);
}

/* i_block of a small file of one run. */
static void
map_run(const struct mkfs *m, uint8_t *iblock, uint64_t start, uint32_t len)
{
	uint32_t i;

	memset(iblock, 0, EXT2_I_BLOCK_SIZE);
	if (m->incompat & INCOMPAT_EXTENTS) {
		extent_header(iblock, 1, (EXT2_I_BLOCK_SIZE - EXT4_EXT_HDR_SIZE) / EXT4_EXT_ENTRY_SIZE, 0);
		extent_leaf(iblock + EXT4_EXT_HDR_SIZE, 0, start, len);
		return;
	}
	for (i = 0; i < len && i < EXT2_NDIR_BLOCKS; i++)
		le32enc(iblock + 4 * i, (uint32_t)(start + i));
}


/* The journal's extents, split at the 32768 blocks one extent can hold:
 * in the inode if they fit, else in one leaf block. */
static int
map_journal_extents(struct mkfs *m)
{
	struct mkfile *f = &m->journal;
	uint32_t inode_max = (EXT2_I_BLOCK_SIZE - EXT4_EXT_HDR_SIZE) / EXT4_EXT_ENTRY_SIZE;
	uint32_t leaf_max = (m->bsize - EXT4_EXT_HDR_SIZE) / EXT4_EXT_ENTRY_SIZE;
	uint32_t n = 0, i, len, lblk = 0;
	uint64_t pblk, left, leafblk;
	uint8_t *b = m->blk, *p;
	int error;

	for (i = 0; i < f->nruns; i++)
		n += (uint32_t)howmany(f->runs[i].len, (uint64_t)EXT4_EXT_INIT_MAX_LEN);
	if (n > leaf_max)
		return fail(m, EINVAL, "journal too fragmented");
	memset(b, 0, m->bsize);
	memset(f->iblock, 0, EXT2_I_BLOCK_SIZE);
	p = (n <= inode_max ? f->iblock : b) + EXT4_EXT_HDR_SIZE;
	for (i = 0; i < f->nruns; i++) {
		pblk = f->runs[i].start;
		for (left = f->runs[i].len; left > 0; left -= len, pblk += len, lblk += len) {
			len = left > EXT4_EXT_INIT_MAX_LEN ? EXT4_EXT_INIT_MAX_LEN : (uint32_t)left;
			extent_leaf(p, lblk, pblk, len);
			p += EXT4_EXT_ENTRY_SIZE;
		}
	}
	if (n <= inode_max) {
		extent_header(f->iblock, (uint16_t)n, (uint16_t)inode_max, 0);
		return 0;
	}
	error = alloc_run(m, f->runs[0].start, 1, &leafblk);
	if (error)
		return fail(m, EINVAL, "device too small for the journal's extent block");
	f->metablocks = 1;
	extent_header(b, (uint16_t)n, (uint16_t)leaf_max, 0);
	if (m->csum)
		le32enc(b + EXT4_EXT_HDR_SIZE + leaf_max * EXT4_EXT_ENTRY_SIZE,
			crc32c(ext2_inode_seed(&m->sb, EXT2_JOURNAL_INO, 0), b,
			       EXT4_EXT_HDR_SIZE + leaf_max * EXT4_EXT_ENTRY_SIZE));
	extent_header(f->iblock, 1, (uint16_t)inode_max, 1);
	p = f->iblock + EXT4_EXT_HDR_SIZE;
	le32enc(p + EI_BLOCK, 0);
	le32enc(p + EI_LEAF_LO, (uint32_t)leafblk);
	le16enc(p + EI_LEAF_HI, (uint16_t)(leafblk >> 32));
	return dev_write(m, leafblk, b, m->bsize);
}

/* Indirect blocks a block-mapped file of n blocks needs. */
static uint64_t
bmap_meta(const struct mkfs *m, uint64_t n)
{
	uint64_t apb = m->bsize / 4, r, k, meta = 0;

	r = n > EXT2_NDIR_BLOCKS ? n - EXT2_NDIR_BLOCKS : 0;
	if (r > 0) {
		k = r < apb ? r : apb;
		meta += 1;
		r -= k;
	}
	if (r > 0) {
		k = r < apb * apb ? r : apb * apb;
		meta += 1 + howmany(k, apb);
		r -= k;
	}
	if (r > 0) {
		k = r;
		meta += 1 + howmany(k, apb * apb) + howmany(k, apb);
	}
	return meta;
}

/* Hands out a file's blocks in order: each indirect block comes just before
 * the blocks it maps, as a file written front to back would have them. */
struct mkstream {
	const struct mkfile *f;
	uint32_t run;
	uint64_t off;
};

static uint64_t
stream_next(struct mkstream *s)
{
	uint64_t blk = s->f->runs[s->run].start + s->off;

	if (++s->off == s->f->runs[s->run].len) {
		s->run++;
		s->off = 0;
	}
	return blk;
}

static int
bmap_tree(struct mkfs *m, struct mkstream *s, int depth, uint64_t *left, uint32_t *blkp)
{
	uint32_t apb = m->bsize / 4, i, child;
	uint64_t blk = stream_next(s);
	uint8_t *buf;
	int error = 0;

	buf = kmem_zalloc(&M_MKFS, m->bsize);
	if (buf == NULL)
		return ENOMEM;
	for (i = 0; i < apb && *left > 0 && !error; i++) {
		if (depth == 1) {
			child = (uint32_t)stream_next(s);
			(*left)--;
		} else {
			error = bmap_tree(m, s, depth - 1, left, &child);
		}
		le32enc(buf + 4 * i, child);
	}
	if (!error)
		error = dev_write(m, blk, buf, m->bsize);
	kmem_free(&M_MKFS, buf, m->bsize);
	*blkp = (uint32_t)blk;
	return error;
}

static int
map_journal_blocks(struct mkfs *m)
{
	struct mkstream s = { &m->journal, 0, 0 };
	uint64_t left = m->journal.nblocks;
	uint32_t blk;
	int depth, error;

	memset(m->journal.iblock, 0, EXT2_I_BLOCK_SIZE);
	for (int i = 0; i < EXT2_NDIR_BLOCKS && left > 0; i++, left--)
		le32enc(m->journal.iblock + 4 * i, (uint32_t)stream_next(&s));
	for (depth = 1; depth <= 3 && left > 0; depth++) {
		error = bmap_tree(m, &s, depth, &left, &blk);
		if (error)
			return error;
		le32enc(m->journal.iblock + 4 * (EXT2_IND_BLOCK + depth - 1), blk);
	}
	return 0;
}

static void
journal_super(struct mkfs *m, uint8_t *b)
{
	memset(b, 0, m->bsize);
	be32enc(b + JSB_MAGIC, JBD2_MAGIC);
	be32enc(b + JSB_BLOCKTYPE, JBD2_SUPERBLOCK_V2);
	be32enc(b + JSB_BLOCKSIZE, m->bsize);
	be32enc(b + JSB_MAXLEN, m->jblocks);
	be32enc(b + JSB_FIRST, 1);
	be32enc(b + JSB_SEQUENCE, 1);
	be32enc(b + JSB_START, 0);
	memcpy(b + JSB_UUID, m->uuid, 16);
	be32enc(b + JSB_NR_USERS, 1);
	memcpy(b + JSB_USERS, m->uuid, 16);
	if (m->csum) {
		be32enc(b + JSB_INCOMPAT, JBD2_INCOMPAT_CSUM_V3);
		b[JSB_CHECKSUM_TYPE] = JBD2_CRC32C_CHKSUM;
		be32enc(b + JSB_CHECKSUM, crc32c(~0u, b, JSB_SIZE));
	}
}

/* --- inodes --------------------------------------------------------------------- */

static void
put_time(const struct mkfs *m, uint8_t *raw, uint32_t off, uint32_t extra_off)
{
	uint32_t lo = (uint32_t)m->now;

	le32enc(raw + off, lo);
	/* Seconds past 2038 carry into the two epoch bits of the extra field. */
	if (m->isize > EXT2_GOOD_OLD_INODE_SIZE && extra_off != 0)
		le32enc(raw + extra_off, (uint32_t)((m->now - (int64_t)(int32_t)lo) >> 32) & 3);
}

static void
inode_make(const struct mkfs *m, uint8_t *raw, uint32_t ino, uint16_t mode, uint16_t links,
	   uint64_t size, uint64_t blocks, uint32_t flags, const uint8_t *iblock, bool times)
{
	uint64_t sectors = blocks << (m->bshift - 9);
	uint32_t c;

	memset(raw, 0, m->isize);
	le16enc(raw + I_MODE, mode);
	le32enc(raw + I_SIZE_LO, (uint32_t)size);
	le32enc(raw + I_SIZE_HI, (uint32_t)(size >> 32));
	le16enc(raw + I_LINKS, links);
	le32enc(raw + I_BLOCKS_LO, (uint32_t)sectors);
	le16enc(raw + I_BLOCKS_HI, (uint16_t)(sectors >> 32));
	le32enc(raw + I_FLAGS, flags);
	if (iblock != NULL)
		memcpy(raw + I_BLOCK, iblock, EXT2_I_BLOCK_SIZE);
	if (m->isize > EXT2_GOOD_OLD_INODE_SIZE)
		le16enc(raw + I_EXTRA_ISIZE, MKFS_EXTRA_ISIZE);
	if (times) {
		put_time(m, raw, I_ATIME, I_ATIME_EXTRA);
		put_time(m, raw, I_CTIME, I_CTIME_EXTRA);
		put_time(m, raw, I_MTIME, I_MTIME_EXTRA);
		if (m->isize > EXT2_GOOD_OLD_INODE_SIZE)
			put_time(m, raw, I_CRTIME, I_CRTIME_EXTRA);
	}
	if (m->csum) {
		c = ext2_inode_csum(&m->sb, ino, 0, raw, m->isize);
		le16enc(raw + I_CHECKSUM_LO, (uint16_t)c);
		if (m->isize > EXT2_GOOD_OLD_INODE_SIZE)
			le16enc(raw + I_CHECKSUM_HI, (uint16_t)(c >> 16));
	}
}

static uint32_t
backup_groups(const struct mkfs *m)
{
	uint32_t g, n = 0;

	for (g = 1; g < m->ngroups; g++)
		if (has_super(m, g))
			n++;
	return n;
}

/* The resize inode maps the reserved descriptor blocks: its double
 * indirect block lists the primary ones, and each primary one, read as an
 * indirect block, lists its copies in the backup groups. */
static int
write_resize(struct mkfs *m)
{
	uint32_t apb = m->bsize / 4, j, g, k;
	uint64_t first = gstart(m, 0) + 1 + m->gdt_blocks;
	uint8_t *b = m->blk;
	int error;

	memset(b, 0, m->bsize);
	for (j = 0; j < m->rsv_gdt; j++)
		le32enc(b + 4 * ((m->gdt_blocks + j) % apb), (uint32_t)(first + j));
	error = dev_write(m, m->dind, b, m->bsize);
	for (j = 0; j < m->rsv_gdt && !error; j++) {
		memset(b, 0, m->bsize);
		for (g = 1, k = 0; g < m->ngroups && k < apb; g++)
			if (has_super(m, g))
				le32enc(b + 4 * k++, (uint32_t)(gstart(m, g) + 1 + m->gdt_blocks + j));
		error = dev_write(m, first + j, b, m->bsize);
	}
	return error;
}

static int
write_inodes(struct mkfs *m)
{
	size_t len = roundup((size_t)MKFS_FIRST_INO * m->isize, (size_t)m->bsize);
	uint32_t dflags = (m->incompat & INCOMPAT_EXTENTS) ? EXT4_EXTENTS_FL : 0;
	uint8_t *buf, iblock[EXT2_I_BLOCK_SIZE];
	uint32_t ino;
	uint64_t rblocks, apb = m->bsize / 4;
	int error;

	buf = kmem_zalloc(&M_MKFS, len);
	if (buf == NULL)
		return ENOMEM;
	for (ino = 1; ino <= MKFS_FIRST_INO; ino++) {
		uint8_t *raw = buf + (size_t)(ino - 1) * m->isize;

		switch (ino) {
		case 1: /* the bad blocks inode: empty */
			inode_make(m, raw, ino, 0, 0, 0, 0, 0, NULL, true);
			break;
		case EXT2_ROOT_INO:
			map_run(m, iblock, m->root, 1);
			inode_make(m, raw, ino, 040755, 3, m->bsize, 1, dflags, iblock, true);
			break;
		case MKFS_LPF_INO:
			map_run(m, iblock, m->lpf.start, (uint32_t)m->lpf.len);
			inode_make(m, raw, ino, 040700, 2, m->lpf.len << m->bshift, m->lpf.len, dflags,
				   iblock, true);
			break;
		case EXT2_RESIZE_INO:
			if (!(m->compat & COMPAT_RESIZE_INODE))
				goto reserved;
			memset(iblock, 0, sizeof(iblock));
			le32enc(iblock + 4 * EXT2_DIND_BLOCK, (uint32_t)m->dind);
			rblocks = 1 + (uint64_t)m->rsv_gdt * (1 + backup_groups(m));
			inode_make(m, raw, ino, 0100600, 1, (apb * apb + apb + EXT2_NDIR_BLOCKS) << m->bshift,
				   rblocks, 0, iblock, true);
			break;
		case EXT2_JOURNAL_INO:
			if (!m->want_journal)
				goto reserved;
			inode_make(m, raw, ino, 0100600, 1, (uint64_t)m->jblocks << m->bshift,
				   m->journal.nblocks + m->journal.metablocks, dflags, m->journal.iblock, true);
			break;
		default:
		reserved:
			inode_make(m, raw, ino, 0, 0, 0, 0, 0, NULL, false);
			break;
		}
	}
	error = dev_write(m, m->groups[0].it, buf, len);
	kmem_free(&M_MKFS, buf, len);
	return error;
}

/* --- groups ------------------------------------------------------------------------ */

static void
group_stats(struct mkfs *m)
{
	struct mkgroup *gp;
	uint64_t lo, hi, used, own;
	uint32_t g;

	for (g = 0; g < m->ngroups; g++) {
		gp = &m->groups[g];
		lo = gstart(m, g);
		hi = lo + gblocks(m, g);
		used = used_between(m, lo, hi);
		own = super_blocks(m, g) + inside(gp->bb, 1, lo, hi) + inside(gp->ib, 1, lo, hi) +
		      inside(gp->it, m->itb, lo, hi);
		gp->free_blocks = (uint32_t)(gblocks(m, g) - used);
		gp->free_inodes = g == 0 ? m->ipg - MKFS_FIRST_INO : m->ipg;
		gp->used_dirs = g == 0 ? 2 : 0;
		gp->flags = 0;
		gp->itable_unused = 0;
		if (m->uninit) {
			/* The tables are zero: written so, or the device was. */
			gp->flags |= BG_INODE_ZEROED;
			gp->itable_unused = gp->free_inodes;
			if (g != 0)
				gp->flags |= BG_INODE_UNINIT;
			/* The kernel rebuilds an uninitialised bitmap from the
			 * group's own metadata, so only such groups qualify; the
			 * last group is always initialised, as mke2fs does. */
			if (g != 0 && g + 1 < m->ngroups && used == own)
				gp->flags |= BG_BLOCK_UNINIT;
		}
	}
}

static int
write_bitmaps(struct mkfs *m)
{
	uint8_t *b = m->blk;
	struct mkgroup *gp;
	uint64_t lo, hi, s, e;
	uint32_t g, nbits = m->bsize * 8;
	size_t i;
	int error = 0;

	for (g = 0; g < m->ngroups && !error; g++) {
		gp = &m->groups[g];
		lo = gstart(m, g);
		hi = lo + gblocks(m, g);
		memset(b, 0, m->bsize);
		for (i = range_find(m, lo); i < m->nused && m->used[i].start < hi; i++) {
			s = m->used[i].start > lo ? m->used[i].start : lo;
			e = m->used[i].start + m->used[i].len;
			if (e > hi)
				e = hi;
			bit_set_range(b, (size_t)(s - lo), (size_t)(e - s));
		}
		bit_set_range(b, gblocks(m, g), nbits - gblocks(m, g));
		gp->bb_csum = 0;
		if (m->csum && !(gp->flags & BG_BLOCK_UNINIT))
			gp->bb_csum = crc32c(m->sb.s_csum_seed, b, m->bpg / 8);
		error = dev_write(m, gp->bb, b, m->bsize);
		if (error)
			break;

		memset(b, 0, m->bsize);
		if (g == 0)
			bit_set_range(b, 0, MKFS_FIRST_INO);
		bit_set_range(b, m->ipg, nbits - m->ipg);
		gp->ib_csum = 0;
		if (m->csum && !(gp->flags & BG_INODE_UNINIT))
			gp->ib_csum = crc32c(m->sb.s_csum_seed, b, m->ipg / 8);
		error = dev_write(m, gp->ib, b, m->bsize);
	}
	return error;
}

static void
encode_desc(const struct mkfs *m, uint32_t g, uint8_t *d)
{
	const struct mkgroup *gp = &m->groups[g];

	le32enc(d + GD_BLOCK_BITMAP_LO, (uint32_t)gp->bb);
	le32enc(d + GD_INODE_BITMAP_LO, (uint32_t)gp->ib);
	le32enc(d + GD_INODE_TABLE_LO, (uint32_t)gp->it);
	le16enc(d + GD_FREE_BLOCKS_LO, (uint16_t)gp->free_blocks);
	le16enc(d + GD_FREE_INODES_LO, (uint16_t)gp->free_inodes);
	le16enc(d + GD_USED_DIRS_LO, (uint16_t)gp->used_dirs);
	le16enc(d + GD_FLAGS, gp->flags);
	le16enc(d + GD_BLOCK_BITMAP_CSUM_LO, (uint16_t)gp->bb_csum);
	le16enc(d + GD_INODE_BITMAP_CSUM_LO, (uint16_t)gp->ib_csum);
	le16enc(d + GD_ITABLE_UNUSED_LO, (uint16_t)gp->itable_unused);
	if (m->desc_size >= EXT2_MIN_DESC_SIZE_64BIT) {
		le32enc(d + GD_BLOCK_BITMAP_HI, (uint32_t)(gp->bb >> 32));
		le32enc(d + GD_INODE_BITMAP_HI, (uint32_t)(gp->ib >> 32));
		le32enc(d + GD_INODE_TABLE_HI, (uint32_t)(gp->it >> 32));
		le16enc(d + GD_FREE_BLOCKS_HI, (uint16_t)(gp->free_blocks >> 16));
		le16enc(d + GD_FREE_INODES_HI, (uint16_t)(gp->free_inodes >> 16));
		le16enc(d + GD_USED_DIRS_HI, (uint16_t)(gp->used_dirs >> 16));
		le16enc(d + GD_ITABLE_UNUSED_HI, (uint16_t)(gp->itable_unused >> 16));
		le16enc(d + GD_BLOCK_BITMAP_CSUM_HI, (uint16_t)(gp->bb_csum >> 16));
		le16enc(d + GD_INODE_BITMAP_CSUM_HI, (uint16_t)(gp->ib_csum >> 16));
	}
	if (m->uninit)
		le16enc(d + GD_CHECKSUM, ext2_gd_csum(&m->sb, g, d));
}

static int
write_gdt(struct mkfs *m)
{
	size_t len = (size_t)m->gdt_blocks << m->bshift;
	uint8_t *buf;
	uint32_t g;
	int error = 0;

	buf = kmem_zalloc(&M_MKFS, len);
	if (buf == NULL)
		return ENOMEM;
	for (g = 0; g < m->ngroups; g++)
		encode_desc(m, g, buf + (size_t)g * m->desc_size);
	for (g = 0; g < m->ngroups && !error; g++)
		if (has_super(m, g))
			error = dev_write(m, gstart(m, g) + 1, buf, len);
	kmem_free(&M_MKFS, buf, len);
	return error;
}

/* --- the superblock -------------------------------------------------------------- */

static void
encode_super(struct mkfs *m, uint8_t *sb, uint64_t kbytes)
{
	const char *label = m->o->label;
	uint64_t free_blocks = 0, rblocks = m->nblocks / 20;
	uint32_t g, i;

	for (g = 0; g < m->ngroups; g++)
		free_blocks += m->groups[g].free_blocks;
	memset(sb, 0, EXT2_SB_SIZE);
	le32enc(sb + SB_INODES_COUNT, m->ipg * m->ngroups);
	le32enc(sb + SB_BLOCKS_COUNT_LO, (uint32_t)m->nblocks);
	le32enc(sb + SB_R_BLOCKS_COUNT_LO, (uint32_t)rblocks);
	le32enc(sb + SB_FREE_BLOCKS_LO, (uint32_t)free_blocks);
	le32enc(sb + SB_FREE_INODES, m->ipg * m->ngroups - MKFS_FIRST_INO);
	le32enc(sb + SB_FIRST_DATA_BLOCK, m->fdb);
	le32enc(sb + SB_LOG_BLOCK_SIZE, m->bshift - 10);
	le32enc(sb + SB_LOG_CLUSTER_SIZE, m->bshift - 10);
	le32enc(sb + SB_BLOCKS_PER_GROUP, m->bpg);
	le32enc(sb + SB_CLUSTERS_PER_GROUP, m->bpg);
	le32enc(sb + SB_INODES_PER_GROUP, m->ipg);
	le32enc(sb + SB_WTIME, (uint32_t)m->now);
	le16enc(sb + SB_MAX_MNT_COUNT, 0xFFFF);
	le16enc(sb + SB_MAGIC, EXT2_MAGIC);
	le16enc(sb + SB_STATE, EXT2_STATE_VALID);
	le16enc(sb + SB_ERRORS, EXT2_ERRORS_CONTINUE);
	le32enc(sb + SB_LASTCHECK, (uint32_t)m->now);
	le32enc(sb + SB_REV_LEVEL, 1);
	le32enc(sb + SB_FIRST_INO, MKFS_FIRST_INO);
	le16enc(sb + SB_INODE_SIZE, (uint16_t)m->isize);
	le32enc(sb + SB_FEATURE_COMPAT, m->compat);
	le32enc(sb + SB_FEATURE_INCOMPAT, m->incompat);
	le32enc(sb + SB_FEATURE_RO_COMPAT, m->rocompat);
	memcpy(sb + SB_UUID, m->uuid, 16);
	for (i = 0; label != NULL && label[i] != '\0' && i < 16; i++)
		sb[SB_VOLUME_NAME + i] = (uint8_t)label[i];
	le16enc(sb + SB_RESERVED_GDT_BLOCKS, (uint16_t)m->rsv_gdt);
	for (i = 0; i < 4; i++)
		le32enc(sb + SB_HASH_SEED + 4 * i, m->hash_seed[i]);
	sb[SB_DEF_HASH_VERSION] = DX_HASH_HALF_MD4;
	if (m->incompat & INCOMPAT_64BIT)
		le16enc(sb + SB_DESC_SIZE, (uint16_t)m->desc_size);
	le32enc(sb + SB_DEFAULT_MOUNT_OPTS, EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL);
	le32enc(sb + SB_MKFS_TIME, (uint32_t)m->now);
	if (m->want_journal) {
		le32enc(sb + SB_JOURNAL_INUM, EXT2_JOURNAL_INO);
		sb[SB_JNL_BACKUP_TYPE] = EXT3_JNL_BACKUP_BLOCKS;
		memcpy(sb + SB_JNL_BLOCKS, m->journal.iblock, EXT2_I_BLOCK_SIZE);
		le32enc(sb + SB_JNL_BLOCKS + 4 * 15, (uint32_t)(((uint64_t)m->jblocks << m->bshift) >> 32));
		le32enc(sb + SB_JNL_BLOCKS + 4 * 16, (uint32_t)((uint64_t)m->jblocks << m->bshift));
	}
	if (m->incompat & INCOMPAT_64BIT) {
		le32enc(sb + SB_BLOCKS_COUNT_HI, (uint32_t)(m->nblocks >> 32));
		le32enc(sb + SB_R_BLOCKS_COUNT_HI, (uint32_t)(rblocks >> 32));
		le32enc(sb + SB_FREE_BLOCKS_HI, (uint32_t)(free_blocks >> 32));
	}
	/* Set with or without the extra_isize feature, as mke2fs does. */
	if (m->isize > EXT2_GOOD_OLD_INODE_SIZE) {
		le16enc(sb + SB_MIN_EXTRA_ISIZE, MKFS_EXTRA_ISIZE);
		le16enc(sb + SB_WANT_EXTRA_ISIZE, MKFS_EXTRA_ISIZE);
	}
	/* Which char signedness the directory hash used: fixed to signed, as
	 * mke2fs on x86 chooses, so that the image does not depend on the host. */
	le32enc(sb + SB_FLAGS, EXT2_FLAGS_SIGNED_HASH);
	if (m->incompat & INCOMPAT_FLEX_BG)
		sb[SB_LOG_GROUPS_PER_FLEX] = MKFS_FLEX_LOG;
	if (m->csum)
		sb[SB_CHECKSUM_TYPE] = EXT2_CRC32C_CHKSUM;
	le64enc(sb + SB_KBYTES_WRITTEN, kbytes);
	if (m->incompat & INCOMPAT_CSUM_SEED)
		le32enc(sb + SB_CHECKSUM_SEED, m->sb.s_csum_seed);
	if (m->incompat & INCOMPAT_CASEFOLD) {
		le16enc(sb + SB_ENCODING, EXT4_ENC_UTF8_12_1);
		if (m->o->flags & ANYK_MKFS_ENC_STRICT)
			le16enc(sb + SB_ENCODING_FLAGS, EXT4_ENC_STRICT_MODE_FL);
	}
}

static int
write_supers(struct mkfs *m)
{
	uint8_t *sb = m->blk;
	uint32_t g, copies = 0;
	uint64_t kbytes;
	int error = 0;

	for (g = 0; g < m->ngroups; g++)
		if (has_super(m, g))
			copies++;
	kbytes = (m->written + (uint64_t)copies * EXT2_SB_SIZE + 1023) >> 10;
	encode_super(m, sb, kbytes);
	for (g = 0; g < m->ngroups && !error; g++) {
		if (!has_super(m, g))
			continue;
		le16enc(sb + SB_BLOCK_GROUP_NR, (uint16_t)g);
		if (m->csum)
			le32enc(sb + SB_CHECKSUM, ext2_sb_csum(sb));
		if (g == 0)
			error = bdev_write(m->bd, EXT2_SB_OFFSET, sb, EXT2_SB_SIZE);
		else
			error = bdev_write(m->bd, gstart(m, g) << m->bshift, sb, EXT2_SB_SIZE);
	}
	return error;
}

/* --- the whole --------------------------------------------------------------------- */

static int
identity(struct mkfs *m)
{
	const struct anyk_mkfs_opts *o = m->o;
	size_t n;
	int error;

	for (n = 0; o->label != NULL && o->label[n] != '\0'; n++)
		if (n == 16)
			return fail(m, EINVAL, "label longer than 16 bytes");
	if (o->uuid != NULL) {
		memcpy(m->uuid, o->uuid, 16);
	} else {
		error = anyk_hyp_random(m->uuid, 16);
		if (error)
			return fail(m, EIO, "no random numbers for a UUID");
		m->uuid[6] = (uint8_t)((m->uuid[6] & 0x0f) | 0x40);
		m->uuid[8] = (uint8_t)((m->uuid[8] & 0x3f) | 0x80);
	}
	m->now = o->timestamp >= 0 ? o->timestamp : anyk_hyp_clock_ns(ANYK_HYP_CLOCK_REAL) / 1000000000;
	if (m->now > 0xffffffffll)
		return fail(m, EINVAL, "timestamp past 2106");
	/* Derived from the UUID so that the same UUID gives the same image. */
	for (int i = 0; i < 4; i++)
		m->hash_seed[i] = crc32c(0x9e3779b9u * (uint32_t)(i + 1), m->uuid, 16);
	memcpy(m->sb.s_uuid, m->uuid, 16);
	m->sb.s_csum_seed = crc32c(~0u, m->uuid, 16);
	m->sb.s_rocompat = m->rocompat;
	m->sb.s_incompat = m->incompat;
	m->sb.s_compat = m->compat;
	m->sb.s_desc_size = m->desc_size;
	m->sb.s_bsize = m->bsize;
	m->sb.s_inode_size = m->isize;
	return 0;
}

static int
zero_unwritten(struct mkfs *m)
{
	uint32_t g, j;
	int error = 0;

	if (m->o->flags & ANYK_MKFS_PREZEROED)
		return 0;
	for (g = 0; g < m->ngroups && !error; g++)
		error = dev_zero(m, m->groups[g].it, m->itb);
	for (j = 0; j < m->journal.nruns && !error; j++)
		error = dev_zero(m, m->journal.runs[j].start, m->journal.runs[j].len);
	for (g = 1; g < m->ngroups && !error; g++)
		if (has_super(m, g) && m->rsv_gdt > 0)
			error = dev_zero(m, gstart(m, g) + 1 + m->gdt_blocks, m->rsv_gdt);
	return error;
}

static int
mkfs_run(struct mkfs *m)
{
	int error;

	error = choose_features(m);
	if (!error)
		error = geometry(m);
	if (!error)
		error = identity(m);
	if (error)
		return error;
	m->groups = kmem_zalloc(&M_MKFS, (size_t)m->ngroups * sizeof(*m->groups));
	m->zero = kmem_zalloc(&M_MKFS, MKFS_ZERO_CHUNK);
	m->blk = kmem_zalloc(&M_MKFS, m->bsize);
	if (m->groups == NULL || m->zero == NULL || m->blk == NULL)
		return ENOMEM;
	error = place_group_tables(m);
	if (error)
		return error;
	/* A block-mapped journal's indirect blocks come out of its runs. */
	if (m->want_journal && !(m->incompat & INCOMPAT_EXTENTS))
		m->journal.metablocks = bmap_meta(m, m->jblocks);
	error = place_files(m);
	if (error)
		return error;
	error = zero_unwritten(m);
	if (!error && m->want_journal) {
		if (m->incompat & INCOMPAT_EXTENTS)
			error = map_journal_extents(m);
		else
			error = map_journal_blocks(m);
	}
	if (!error && m->want_journal) {
		journal_super(m, m->blk);
		error = dev_write(m, m->journal.runs[0].start, m->blk, m->bsize);
	}
	if (!error && (m->compat & COMPAT_RESIZE_INODE))
		error = write_resize(m);
	if (!error)
		error = write_dirs(m);
	if (!error)
		error = write_inodes(m);
	if (!error) {
		group_stats(m);
		error = write_bitmaps(m);
	}
	if (!error)
		error = write_gdt(m);
	if (!error)
		error = write_supers(m);
	if (!error)
		error = bdev_flush(m->bd);
	if (error && m->o->msg != NULL && m->o->msg[0] == '\0')
		fail(m, error, "write failed");
	return error;
}

static int
ext2_mkfs(const char *devpath, const struct anyk_mkfs_opts *o)
{
	struct mkfs *m;
	int error;

	if (o->msg != NULL && o->msglen > 0)
		o->msg[0] = '\0';
	m = kmem_zalloc(&M_MKFS, sizeof(*m));
	if (m == NULL)
		return ENOMEM;
	m->o = o;
	error = bdev_open_path(devpath, false, &m->bd);
	if (error) {
		fail(m, error, "cannot open %s for writing", devpath);
		goto out;
	}
	/* Unlocked, so only a guard against the plain mistake of making a
	 * file system under a mounted one. */
	if (m->bd->bd_opencnt > 1) {
		error = fail(m, EBUSY, "%s is in use", devpath);
		goto out;
	}
	binval(m->bd);
	error = mkfs_run(m);
	binval(m->bd);
	if (error == 0)
		klog(LOG_INFO, "ext2: made %s on %s: %llu blocks of %u bytes, %u inodes",
		     o->fstype != NULL ? o->fstype : "ext2", devpath, (unsigned long long)m->nblocks,
		     m->bsize, m->ipg * m->ngroups);
out:
	if (m->bd != NULL)
		bdev_close(m->bd);
	kmem_free(&M_MKFS, m->journal.runs, m->journal.cap * sizeof(struct mkrange));
	kmem_free(&M_MKFS, m->used, m->capused * sizeof(struct mkrange));
	if (m->groups != NULL)
		kmem_free(&M_MKFS, m->groups, (size_t)m->ngroups * sizeof(*m->groups));
	kmem_free(&M_MKFS, m->zero, MKFS_ZERO_CHUNK);
	if (m->blk != NULL)
		kmem_free(&M_MKFS, m->blk, m->bsize);
	kmem_free(&M_MKFS, m, sizeof(*m));
	return error;
}

ANYK_EXPORT int
anyk_mkfs(const char *devpath, const struct anyk_mkfs_opts *opts)
{
	if (!kernel_running)
		return sys_ret(ENXIO);
	if (devpath == NULL || opts == NULL)
		return sys_ret(EINVAL);
	return sys_ret(ext2_mkfs(devpath, opts));
}
