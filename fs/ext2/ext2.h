/*
 * ext2/ext3/ext4: the in-memory superblock, group and inode structures and
 * the functions the driver's files share. The on-disk layout is in
 * ext2_fs.h; here everything is already decoded into host order and checked.
 *
 * Locking: the VFS holds the vnode lock (shared for reads, exclusive for
 * every change to that inode or directory). What several vnodes share, the
 * bitmaps, group descriptors, free counts and the superblock copy, is
 * guarded by the mount's em_lock, taken only inside the allocator and the
 * superblock write-back and never held across another lock. Geometry
 * fields are immutable after mount.
 */
#ifndef ANYK_FS_EXT2_H
#define ANYK_FS_EXT2_H

#include "dev/bdev.h"
#include "fs/ext2/ext2_fs.h"
#include "vfs/bio.h"
#include "vfs/vfs.h"

KMEM_TYPE_DECLARE(ext2_kmem);

struct ext2_group {
	uint64_t g_block_bitmap;
	uint64_t g_inode_bitmap;
	uint64_t g_inode_table;
	uint32_t g_free_blocks;
	uint32_t g_free_inodes;
	uint32_t g_used_dirs;
	uint32_t g_itable_unused;
	uint16_t g_flags;
	uint32_t g_ib_next; /* allocator hint: first inode index maybe free */
};

/* The superblock facts, decoded and validated (ext2_sb_parse). */
struct ext2_sb {
	uint32_t s_inodes_count;
	uint64_t s_blocks_count;
	uint64_t s_r_blocks_count;
	uint64_t s_free_blocks;
	uint32_t s_free_inodes;
	uint32_t s_first_data_block;
	uint32_t s_bsize;
	unsigned s_bshift;
	uint32_t s_blocks_per_group;
	unsigned s_cluster_shift; /* bigalloc: log2 of blocks per cluster, else 0 */
	uint32_t s_inodes_per_group;
	uint32_t s_ngroups;
	uint32_t s_inode_size;
	uint32_t s_desc_size;
	uint32_t s_first_ino;
	uint32_t s_rev;
	uint16_t s_state;
	uint32_t s_compat, s_incompat, s_rocompat;
	uint32_t s_flags;
	uint32_t s_first_meta_bg;
	uint32_t s_backup_bgs[2]; /* sparse_super2: the groups with backups */
	uint8_t s_uuid[16];
	uint32_t s_hash_seed[4];
	uint8_t s_def_hash;
	uint32_t s_csum_seed; /* metadata_csum: crc32c seed of every checksum */
	uint16_t s_min_extra_isize;
	uint16_t s_encoding, s_encoding_flags; /* casefold: EXT4_ENC_* */
};

struct ext2_mount {
	struct mount *em_mp;
	struct bdev *em_bdev;
	struct ext2_sb em_sb;
	struct ext2_group *em_groups;
	uint32_t em_bsize;
	uint64_t em_nblocks;
	bool em_csum;     /* metadata_csum */
	bool em_gdtcsum;  /* gdt_csum (crc16 group descriptors) */
	bool em_filetype; /* directory entries carry the type */
	bool em_hash_unsigned;
	bool em_sb_torn;  /* the primary superblock's checksum was cut short (ext2_sb_torn) */
	uint64_t em_maxlblk; /* logical blocks a file may address */
	const char *em_name; /* for log lines: the device name */
	/* A read-only mount's journal replay, kept in pinned buffers
	 * (ext2_jrecover.c); NULL when nothing was replayed in memory. */
	struct jovl *em_jovl;
	/* Read-write mounts. */
	bool em_rdonly;
	kmutex_t em_lock;     /* allocation state, see the top of this file */
	bool em_lock_init;
	uint8_t *em_sbraw;    /* the primary superblock as on disk */
	uint16_t em_state;    /* s_state found at mount, restored at unmount */
	uint64_t em_free_blocks;
	uint64_t em_free_inodes;
	uint32_t em_gdt_blocks;  /* descriptor blocks (without meta_bg) */
	uint32_t em_rsv_gdt;     /* reserved descriptor blocks (resize_inode) */
	uint32_t em_dir_rotor;   /* where the next top-level directory goes */
	uint32_t em_gen;         /* inode generations */
	kmutex_t em_orphan_lock; /* the orphan list, see ext2_orphan.c */
	kmutex_t em_ea_lock;     /* attribute value inodes' reference counts (ext2_xattr_w.c) */
	struct ext2_inode *em_orphans;
	/* Journaled mounts: blocks freed by uncommitted transactions, kept
	 * from the allocator (ext2_jmeta.c). em_lock. */
	struct ext2_pfree *em_pfree;
	uint32_t em_npfree, em_pfcap;
	bool em_journaled; /* ext2_jopen succeeded */
	/* Where group metadata lies (ext2_subr.c): sorted, disjoint runs of
	 * blocks, and per group the first run that ends past the group's
	 * start (s_ngroups + 1 entries), so a lookup searches one group's
	 * runs. Immutable after mount. */
	struct ext2_metarun *em_meta;
	uint32_t em_nmeta, em_metacap;
	uint32_t *em_metaidx;
	/* The internal journal's blocks, those of its map (extent nodes or
	 * indirect blocks) included, sorted and merged the same way (a
	 * handful of runs), and its inode, the one file allowed there. */
	struct ext2_metarun *em_jmeta;
	uint32_t em_njmeta, em_jmetacap;
	uint32_t em_jinum;
	struct ext2_quota *em_quota; /* quota usage kept (ext2_quota.c), or NULL */
};

struct ext2_metarun {
	uint64_t mr_start, mr_end; /* blocks mr_start .. mr_end - 1 */
};

/* ext4 extents of a file, decoded (ext2_extent_w.c). */
struct ext2_ext {
	uint32_t e_lblk;
	uint32_t e_len;
	uint64_t e_pblk;
	bool e_unwritten;
};

/* The in-memory inode, decoded from the on-disk one. */
struct ext2_inode {
	uint32_t i_ino;
	uint16_t i_mode;
	uint16_t i_nlink;
	uint32_t i_uid, i_gid;
	uint64_t i_size;
	uint64_t i_blocks512; /* 512-byte units allocated */
	uint32_t i_flags;
	uint32_t i_gen;
	uint64_t i_file_acl;
	uint32_t i_csum_seed;
	uint16_t i_extra_isize;
	bool i_has_crtime;
	uint32_t i_projid; /* project id (project feature, large inodes), else 0 */
	struct anyk_timespec i_atime, i_mtime, i_ctime, i_crtime;
	anyk_dev_t i_rdev;
	uint8_t i_block[EXT2_I_BLOCK_SIZE];
	uint8_t *i_raw; /* the whole on-disk inode (in-inode xattrs) */
	uint32_t i_rawsize;
	/* Inline data (EXT4_INLINE_DATA_FL): where system.data's value, the
	 * data past i_block, lies in the on-disk inode, and its length. */
	uint32_t i_inline_off, i_inline_len;
	uint32_t i_dtime; /* orphan list: the next orphan's number */
	bool i_orphan;    /* on the orphan list (ext2_orphan.c) */
	struct ext2_inode *i_orphan_next;
	/* Extent files on read-write mounts: the whole map in memory, and the
	 * tree's node blocks, rewritten from the list by ext2_ext_store. */
	bool i_extloaded, i_extdirty;
	struct ext2_ext *i_ext;
	uint32_t i_next, i_extcap;
	uint64_t *i_extnodes;
	uint32_t i_nnodes, i_nodecap;
	uint64_t i_goal; /* where the next block of this file should go */
	uint64_t i_goal_dir; /* directories: the block the last entry went to */
};

static inline struct ext2_mount *VFSTOEXT2(struct mount *mp) { return mp->mnt_data; }
static inline struct ext2_inode *VTOI(struct vnode *vp) { return vp->v_data; }

#define EXT2_CORRUPT(em, ...) ext2_corrupt((em), __VA_ARGS__)
/* Log a corruption (the dmesg line names the device and the object) and
 * return EUCLEAN, so callers write "return ext2_corrupt(...)". */
int ext2_corrupt(const struct ext2_mount *em, const char *fmt, ...) __printflike(2, 3);

/* ext2_super.c: pure parsing, testable without a device. */
int ext2_sb_parse(const uint8_t *raw, uint64_t devsize, struct ext2_sb *sb, char *why, size_t whylen);
/* The same, but a checksum mismatch passes: for a superblock whose write
 * was cut short, which only a journal replay may make whole again. */
int ext2_sb_parse_nocsum(const uint8_t *raw, uint64_t devsize, struct ext2_sb *sb, char *why, size_t whylen);
/* A primary superblock (raw, read from the device) whose checksum does not
 * match: 0 and em_sb from it if a backup superblock vouches for every field
 * that does not change while mounted (it was written in part: a crash
 * between its two sectors), else EUCLEAN. */
int ext2_sb_torn(struct ext2_mount *em, const uint8_t *raw, char *why, size_t whylen);
int ext2_gd_parse(const struct ext2_sb *sb, const uint8_t *raw, uint32_t group, struct ext2_group *g,
		  char *why, size_t whylen);
/* Where group descriptor g lives: block number and byte offset in it. */
uint64_t ext2_gd_location(const struct ext2_sb *sb, uint32_t group, uint32_t *offp);
uint64_t ext2_gdt_start(const struct ext2_sb *sb);
uint32_t ext2_boot_block(const struct ext2_sb *sb);
bool ext2_group_has_super(const struct ext2_sb *sb, uint32_t group);

/* ext2_csum.c */
uint32_t ext2_sb_csum(const uint8_t *raw);
uint16_t ext2_gd_csum(const struct ext2_sb *sb, uint32_t group, const uint8_t *raw);
uint32_t ext2_inode_csum(const struct ext2_sb *sb, uint32_t ino, uint32_t gen, const uint8_t *raw,
			 uint32_t inode_size);
uint32_t ext2_inode_seed(const struct ext2_sb *sb, uint32_t ino, uint32_t gen);
/* ext2_iwrite.c: the fixed fields of new inode ino: its number and
 * generation, the extra space new inodes get, its checksum seed and,
 * with extents wanted and the extents feature, an empty extent map. */
void ext2_inode_init(struct ext2_mount *em, struct ext2_inode *ip, uint32_t ino, bool extents);
bool ext2_extent_csum_ok(const struct ext2_inode *ip, const uint8_t *blk, uint32_t bsize);
bool ext2_dirblock_csum_ok(const struct ext2_inode *ip, const uint8_t *blk, uint32_t bsize);
bool ext2_dx_csum_ok(const struct ext2_inode *ip, const uint8_t *blk, uint32_t count_off,
		     uint32_t count, uint32_t limit);
uint32_t ext2_xattr_block_csum(const struct ext2_sb *sb, uint64_t blkno, const uint8_t *blk, uint32_t bsize);

/* ext2_hash.c: directory index name hashes. */
int ext2_dirhash(const char *name, size_t len, int version, const uint32_t seed[4], uint32_t *hashp,
		 uint32_t *minorp);

/* ext2_inode.c */
/* Where inode ino lives in its group's inode table: the block and the
 * byte offset in it; EUCLEAN for a number out of range. */
int ext2_inode_where(const struct ext2_mount *em, uint32_t ino, uint64_t *blkp, uint32_t *offp);
int ext2_inode_load(struct ext2_mount *em, uint32_t ino, struct ext2_inode **ipp);
void ext2_inode_free(struct ext2_inode *ip);
/* 0 if the on-disk inode is free; EUCLEAN and a log line if it is in use
 * (links, or a mode without a deletion time), e.g. handed out by a wrong
 * inode bitmap. */
int ext2_inode_check_free(struct ext2_mount *em, uint32_t ino);
int ext2_inode_decode(const struct ext2_sb *sb, uint32_t ino, const uint8_t *raw, struct ext2_inode *ip,
		      char *why, size_t whylen);

/* Logical to physical mapping (ext2_bmap.c, ext2_extent.c). *pblkp 0: a hole
 * of *runp blocks; else *runp contiguous blocks from *pblkp, unwritten ones
 * (read as zeros) flagged. runs are at most maxrun long. */
struct ext2_map {
	uint64_t m_pblk;
	uint64_t m_len;
	bool m_unwritten;
};
int ext2_bmap(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun,
	      struct ext2_map *map);
int ext2_bmap_indirect(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun,
		       struct ext2_map *map);
int ext2_extent_map(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun,
		    struct ext2_map *map);
int ext2_extent_check_header(const uint8_t *h, size_t room, int wantdepth);
/* Is blk..blk+n-1 inside the file system, beyond the superblock? */
bool ext2_blocks_valid(const struct ext2_mount *em, uint64_t blk, uint64_t n);
int ext2_bread(struct ext2_mount *em, uint64_t blk, struct buf **bpp);
/* Group metadata: superblock copies, descriptor and reserved descriptor
 * blocks, bitmaps and inode tables, wherever flex_bg or meta_bg put them,
 * and the internal journal's blocks. ext2_meta_build records them at mount
 * from the descriptors, the raw superblock and the journal inode's map;
 * ext2_meta_find tells in O(1) (a search within one group's few runs, and
 * the journal's) whether blk..blk+n-1 touches any, and the first such run. */
int ext2_meta_build(struct ext2_mount *em, const uint8_t *sbraw);
void ext2_meta_free(struct ext2_mount *em);
bool ext2_meta_find(const struct ext2_mount *em, uint64_t blk, uint64_t n, uint64_t *startp, uint64_t *endp);
/* Superblock copy, descriptor and reserved descriptor blocks at the start
 * of a group. */
uint32_t ext2_group_overhead(const struct ext2_mount *em, uint32_t group);
/* 0 if blk..blk+n-1, named by a pointer in inode ino, may hold that
 * file's data or tree; else EUCLEAN and a log line naming the inode and
 * the block: outside the file system, or on group metadata, which a write
 * or a free through the pointer would destroy. */
int ext2_fileblocks_check(const struct ext2_mount *em, uint32_t ino, uint64_t blk, uint64_t n);

/* ext2_dir.c and ext2_htree.c */

/*
 * Case-insensitive directories (casefold): a directory with the flag, on a
 * file system with the feature, finds a name under any name that folds
 * the same (utf8_fold, the superblock's encoding), and its index hashes
 * folded names. A name that is not UTF-8 folds to nothing and is found, and
 * hashed, as its bytes; under the strict encoding flag such names are
 * refused (EINVAL). Encrypted directories keep their names as they are.
 */
static inline bool
ext2_casefolded(const struct ext2_mount *em, const struct ext2_inode *dp)
{
	return (dp->i_flags & EXT4_CASEFOLD_FL) && (em->em_sb.s_incompat & INCOMPAT_CASEFOLD) &&
	       !(dp->i_flags & EXT4_ENCRYPT_FL);
}
/* A name being looked for in directory dp, folded once for all the
 * entries it is compared with. */
struct ext2_fname {
	const char *name;
	size_t len;
	int cflen; /* the folded name's length in cf; -1: compare bytes */
	char cf[UTF8_FOLD_MAX];
};
/* 0, or EINVAL for a name that is not UTF-8 in a strict casefold
 * directory. */
int ext2_fname_init(const struct ext2_mount *em, const struct ext2_inode *dp, const char *name, size_t len,
		    struct ext2_fname *fn);
bool ext2_fname_match(const struct ext2_fname *fn, const uint8_t *ename, size_t elen);
/* The index hash of fn, or of the entry name (name, len) in dp. */
int ext2_fname_hash(const struct ext2_mount *em, const struct ext2_fname *fn, int version, uint32_t *hashp);
int ext2_name_hash(const struct ext2_mount *em, const struct ext2_inode *dp, const char *name, size_t len,
		   int version, uint32_t *hashp);

int ext2_dir_lookup(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t namelen,
		    uint32_t *inop);
int ext2_dir_readdir(struct ext2_mount *em, struct ext2_inode *dp, int64_t cookie, readdir_fill_fn fill,
		     void *ctx);
/* Directory entry fields. A record length is 16 bits, so 64 KiB blocks
 * write 65536 as 65535 (or 0). */
static inline uint32_t
ext2_de_reclen(const struct ext2_mount *em, const uint8_t *p)
{
	uint16_t v = le16dec(p + DE_REC_LEN);

	if (em->em_bsize >= 65536 && (v == 65535 || v == 0))
		return 65536;
	return v;
}

static inline void
ext2_de_set_reclen(uint8_t *p, uint32_t len)
{
	le16enc(p + DE_REC_LEN, (uint16_t)(len >= 65536 ? 65535 : len));
}

static inline uint32_t
ext2_de_namelen(const struct ext2_mount *em, const uint8_t *p)
{
	return em->em_filetype ? p[DE_NAME_LEN] : le16dec(p + DE_NAME_LEN);
}

/* Where a directory block's entries end: before the checksum tail. */
static inline uint32_t
ext2_de_end(const struct ext2_mount *em)
{
	return em->em_csum ? em->em_bsize - EXT2_DIR_TAIL_SIZE : em->em_bsize;
}

/* The inode flags stat shows (ANYK_FL_*, which are ext2's own values):
 * those chflags may set, and those it leaves as they are. */
#define EXT2_FL_VISIBLE                                                                      \
	(ANYK_FL_SETTABLE | ANYK_FL_ENCRYPT | ANYK_FL_INDEX | ANYK_FL_HUGE_FILE | ANYK_FL_EXTENTS | \
	 ANYK_FL_VERITY | ANYK_FL_INLINE_DATA | ANYK_FL_CASEFOLD)

int ext2_dir_readblock(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct buf **bpp);
/* The mark (b_checked) of a directory block's buffer found sound: its
 * checksum and every entry. It names the directory, since the checksum is
 * seeded by its inode, and the reading of the block (block 0 of an indexed
 * directory holds no entries after ".."). */
static inline uint64_t
ext2_dirblock_mark(const struct ext2_inode *dp, uint64_t lblk)
{
	bool dxroot = lblk == 0 && (dp->i_flags & EXT2_INDEX_FL);

	return (uint64_t)1 << 40 | (uint64_t)dxroot << 32 | dp->i_ino;
}
/* Search one directory block, held in bp, for name: 0 and *inop, ENOENT,
 * or EUCLEAN. A block found sound is marked so (bp->b_checked) and not
 * checked again until its buffer changes. */
int ext2_dirblock_search(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct buf *bp,
			 const struct ext2_fname *fn, uint32_t *inop);
/* 0/ENOENT from the index, or EAGAIN when the index cannot be trusted. */
int ext2_htree_lookup(struct ext2_mount *em, struct ext2_inode *dp, const struct ext2_fname *fn, uint32_t *inop);

/* ext2_read.c */
/* iovecs per device request; a bigger request is split. */
#define EXT2_IOVS 64
void ext2_uio_skip(struct uio *uio, size_t n);
/* n bytes (whole sectors) between the device at devoff and a stream uio. */
int ext2_stream_run(struct ext2_mount *em, uint64_t devoff, size_t n, struct uio *uio);
/* Up to n bytes of the uio's iovecs into iov, trimmed to whole sectors. */
size_t ext2_uio_gather(struct uio *uio, size_t n, uint32_t secsize, struct anyk_iovec *iov, int *cntp);
int ext2_read(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio);
int ext2_seek_data(struct ext2_mount *em, struct ext2_inode *ip, int whence, anyk_off_t *offp);

/* ext2_symlink.c */
int ext2_readlink(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio);

/* ext2_inline.c: files, directories and symlinks whose data is in the
 * inode (i_block, then system.data's value). Decoding finds the value and
 * checks the size against it; the rest only reads. */
int ext2_inline_decode(const struct ext2_sb *sb, const uint8_t *raw, struct ext2_inode *ip, char *why,
		       size_t whylen);
static inline bool
ext2_is_inline(const struct ext2_inode *ip)
{
	return (ip->i_flags & EXT4_INLINE_DATA_FL) != 0;
}
/* Bytes of inline data: i_block and the value. */
static inline uint64_t
ext2_inline_size(const struct ext2_inode *ip)
{
	return EXT2_I_BLOCK_SIZE + (uint64_t)ip->i_inline_len;
}
/* Bytes [off, off + n) of the inline data to uio; EUCLEAN past its end. */
int ext2_inline_move(struct ext2_mount *em, struct ext2_inode *ip, uint64_t off, size_t n, struct uio *uio);
/* The inline data past i_block (a directory's further entries); NULL if
 * the inode has no raw copy to hold it. */
uint8_t *ext2_inline_value(const struct ext2_inode *ip);
/* Before anything changes an inline inode's data, entries or attributes:
 * move its data to a block of its own (a directory's entries into a new
 * directory block) and drop the flag and system.data, as if it had never
 * been inline. 0 at once for an inode that is not inline. */
int ext2_inline_expand(struct ext2_mount *em, struct ext2_inode *ip);
/* The entries of an inline directory past "." and "..", in order; fn
 * returns nonzero to stop (that value is returned). */
typedef int (*ext2_inline_dirent_fn)(void *ctx, const char *name, uint32_t namelen, uint32_t ino, uint8_t ft);
int ext2_inline_dir_foreach(struct ext2_mount *em, struct ext2_inode *dp, ext2_inline_dirent_fn fn, void *ctx);

/* Fields of a raw on-disk inode, decoded as ext2_inode_decode decodes them
 * (which also uses these). */
static inline uint32_t
ext2_raw_uid(const uint8_t *raw)
{
	return le16dec(raw + I_UID_LO) | (uint32_t)le16dec(raw + I_UID_HI) << 16;
}
static inline uint32_t
ext2_raw_gid(const uint8_t *raw)
{
	return le16dec(raw + I_GID_LO) | (uint32_t)le16dec(raw + I_GID_HI) << 16;
}
/* i_blocks in 512-byte units (huge_file scales it by the block size). */
static inline uint64_t
ext2_raw_blocks512(const struct ext2_sb *sb, const uint8_t *raw)
{
	uint64_t b = le32dec(raw + I_BLOCKS_LO);

	if (sb->s_rocompat & RO_COMPAT_HUGE_FILE) {
		b |= (uint64_t)le16dec(raw + I_BLOCKS_HI) << 32;
		if (le32dec(raw + I_FLAGS) & EXT4_HUGE_FILE_FL)
			b <<= sb->s_bshift - 9;
	}
	return b;
}
/* The project id, where the inode has room for it (used: 128 plus its
 * extra size, checked against the inode size), else 0. */
static inline uint32_t
ext2_raw_projid(const struct ext2_sb *sb, const uint8_t *raw, uint32_t used)
{
	return (sb->s_rocompat & RO_COMPAT_PROJECT) && used >= I_PROJID + 4 ? le32dec(raw + I_PROJID) : 0;
}

/* ext2_quota.c: the quota feature's usage: user, group, project. */
#define EXT2_NQUOTA 3
int ext2_quota_init(struct ext2_mount *em);
void ext2_quota_free(struct ext2_mount *em);
/* Before ip is written: note how its usage changes. */
void ext2_quota_inode(struct ext2_mount *em, const struct ext2_inode *ip);
/* Write the changed usage to the quota files. */
int ext2_quota_sync(struct ext2_mount *em);

/* ext2_xattr.c */
int ext2_getxattr(struct ext2_mount *em, struct ext2_inode *ip, const char *name, void *buf,
		  size_t *sizep);
int ext2_listxattr(struct ext2_mount *em, struct ext2_inode *ip, char *buf, size_t *sizep);
int ext2_xattr_ns_split(const char *name, uint8_t *indexp, const char **suffixp);
/* The attribute index/name in the extra space of a raw inode of rawsize
 * bytes: its value's offset in raw and its length; ENODATA if there is
 * none, EUCLEAN for a malformed entry. Pure, for inode decoding. */
int ext2_xattr_ibody_find(const uint8_t *raw, uint32_t rawsize, uint16_t extra_isize, uint8_t index,
			  const char *name, size_t namelen, uint32_t *offp, uint32_t *lenp);
/* An attribute for ext2_xattr_foreach: its value, or (inum not 0) the
 * inode holding it (ea_inode); inblock if it is in the external block. */
struct ext2_xattr_item {
	uint8_t index;
	const char *name;
	uint32_t namelen;
	const uint8_t *value;
	uint32_t size;
	uint32_t inum;
	bool inblock;
};
typedef int (*ext2_xattr_fn)(void *ctx, const struct ext2_xattr_item *it);
int ext2_xattr_foreach(struct ext2_mount *em, struct ext2_inode *ip, ext2_xattr_fn fn, void *ctx);
/* ext2_xattr_w.c: value NULL removes; flags 1 create only, 2 replace only. */
/* Drop the references ip's attributes hold on value inodes (ea_inode),
 * before ip and its attribute block are freed. */
int ext2_xattr_ea_release(struct ext2_mount *em, struct ext2_inode *ip);
int ext2_setxattr(struct ext2_mount *em, struct ext2_inode *ip, const char *name, const void *value, size_t size,
		  int flags);
/* Remove system.data (ext2_inline_expand). */
int ext2_xattr_drop_inline(struct ext2_mount *em, struct ext2_inode *ip);

/* --- the write path (read-write mounts) --- */

#define EXT2_LINK_MAX 65000

/* ext2_alloc.c: inodes, group descriptors and the superblock. */
/* *initp: the inode's slot in the table was initialized (not in a group's
 * never-used tail), so what it holds on disk tells whether it is free. */
int ext2_ialloc(struct ext2_mount *em, uint32_t parent, bool isdir, uint32_t *inop, bool *initp);
int ext2_ifree(struct ext2_mount *em, uint32_t ino, bool isdir);
int ext2_inode_inuse(struct ext2_mount *em, uint32_t ino, bool *inusep);
int ext2_gd_write(struct ext2_mount *em, uint32_t group, const uint8_t *bbitmap, const uint8_t *ibitmap);
int ext2_sb_write(struct ext2_mount *em, bool clean);
/* The superblock as a change of the running transaction (see ext2_alloc.c). */
int ext2_sb_update(struct ext2_mount *em);
int ext2_rw_setup(struct ext2_mount *em);
void ext2_feature_set(struct ext2_mount *em, uint32_t compat, uint32_t rocompat);
/* ext2_balloc.c: blocks. */
int ext2_balloc(struct ext2_mount *em, uint64_t goal, uint64_t want, uint64_t *blkp, uint64_t *gotp);
int ext2_bfree(struct ext2_mount *em, uint64_t blk, uint64_t n, bool meta);
/* Flush a freed metadata block out of the cache before it becomes data. */
void ext2_bforget(struct ext2_mount *em, uint64_t blk);
uint64_t ext2_free_blocks(struct ext2_mount *em);

/* ext2_jmeta.c: the journal in the write path. Every metadata buffer
 * change ends in ext2_mwrite (joins the thread's handle, then bdwrite);
 * freed metadata blocks go through ext2_mforget. ext2_jstart begins a
 * handle (NULL without a journal) for a change of about n blocks, capped
 * at what one transaction may hold; ext2_jcost estimates the metadata
 * blocks of mapping, or freeing, nblocks file blocks. */
struct ext2_jhandle;
struct ext2_pfree;
void ext2_mwrite(struct ext2_mount *em, struct buf *bp);
/* ext2_mwrite of a buffer its holder has left sound, marked so (b_checked). */
void ext2_mwrite_checked(struct ext2_mount *em, struct buf *bp, uint64_t mark);
void ext2_mforget(struct ext2_mount *em, uint64_t blk);
int ext2_jstart(struct ext2_mount *em, uint64_t n, struct ext2_jhandle **hp);
uint64_t ext2_jcost(struct ext2_mount *em, uint64_t nblocks);
void ext2_pfree_add(struct ext2_mount *em, uint64_t blk, uint64_t len);
bool ext2_pfree_busy(struct ext2_mount *em, uint64_t blk, uint64_t *endp);
void ext2_pfree_destroy(struct ext2_mount *em);

/* ext2_iwrite.c */
int ext2_inode_write(struct ext2_mount *em, struct ext2_inode *ip);
void ext2_now(struct anyk_timespec *ts);
uint64_t ext2_maxfilesize(const struct ext2_mount *em, const struct ext2_inode *ip);

/* ext2_extent_w.c */
int ext2_ext_load(struct ext2_mount *em, struct ext2_inode *ip);
int ext2_ext_lookup(struct ext2_inode *ip, uint64_t lblk, uint64_t maxrun, struct ext2_map *map);
int ext2_ext_insert(struct ext2_mount *em, struct ext2_inode *ip, uint32_t lblk, uint32_t len, uint64_t pblk,
		    bool unwritten);
int ext2_ext_alloc_run(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t want, bool unwritten,
		       uint64_t *blkp, uint64_t *gotp);
int ext2_ext_punch(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t to);
int ext2_ext_collapse(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t to);
int ext2_ext_open_gap(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t n);
bool ext2_ext_beyond(struct ext2_inode *ip, uint64_t lblk);
bool ext2_ext_extent_of(struct ext2_inode *ip, uint64_t lblk, struct ext2_ext *out);
int ext2_fallocate(struct ext2_mount *em, struct ext2_inode *ip, int mode, uint64_t off, uint64_t len);
int ext2_shift_range(struct ext2_mount *em, struct ext2_inode *ip, int mode, uint64_t off, uint64_t len);
int ext2_zero_part(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint32_t from, uint32_t to);
int ext2_ext_mark_written(struct ext2_mount *em, struct ext2_inode *ip, uint32_t lblk, uint32_t len);
int ext2_ext_truncate(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from);
int ext2_ext_store(struct ext2_mount *em, struct ext2_inode *ip);
/* Node blocks the tree needs beyond what it has, were it one extent longer. */
uint32_t ext2_ext_reserve(struct ext2_mount *em, struct ext2_inode *ip);
void ext2_ext_release(struct ext2_inode *ip);

/* ext2_indirect.c */
int ext2_ind_alloc(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t want,
		   struct ext2_map *map);
int ext2_ind_truncate(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from);
/* Free the blocks [from, to) of a block-mapped file (a hole punched). */
int ext2_ind_punch(struct ext2_mount *em, struct ext2_inode *ip, uint64_t from, uint64_t to);

/* ext2_write.c: map with allocation, file data, truncation. */
int ext2_map_alloc(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t want,
		   struct ext2_map *map, bool *isnewp);
int ext2_write(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio, int ioflag);
int ext2_truncate(struct ext2_mount *em, struct ext2_inode *ip, uint64_t size);
bool ext2_has_blockmap(const struct ext2_mount *em, const struct ext2_inode *ip);
uint64_t ext2_goal(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk);

/* ext2_dirwrite.c */
uint8_t ext2_mode_to_ft(uint16_t mode);
int ext2_dir_add(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino,
		 uint8_t ft);
int ext2_dir_remove(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len);
/* Point an existing entry at another inode (rename over, ".."). */
int ext2_dir_set(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino,
		 uint8_t ft);
int ext2_dir_empty(struct ext2_mount *em, struct ext2_inode *dp, bool *emptyp);
int ext2_dir_init(struct ext2_mount *em, struct ext2_inode *dp, uint32_t parent);
/* One directory entry, for ext2_dirblock_build. */
struct ext2_dent {
	const char *name;
	uint32_t namelen, ino;
	uint8_t ft;
};
/* Lay out in blk (one block) the first block of directory dp: ".", ".."
 * naming parent, then the n entries, with the checksum tail; ENOSPC if
 * they do not fit. */
int ext2_dirblock_build(struct ext2_mount *em, struct ext2_inode *dp, uint32_t parent, const struct ext2_dent *ents,
			uint32_t n, uint8_t *blk);
void ext2_dirblock_settail(struct ext2_mount *em, struct ext2_inode *dp, uint8_t *blk);
/* A leaf block, held, its entries checked; a new zeroed block at the end. */
int ext2_dirblock_get(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, struct buf **bpp);
int ext2_dirblock_add(struct ext2_mount *em, struct ext2_inode *dp, uint64_t lblk, const char *name, size_t len,
		      uint32_t ino, uint8_t ft);
int ext2_dir_newblock(struct ext2_mount *em, struct ext2_inode *dp, uint64_t *lblkp, struct buf **bpp);

/* ext2_dxwrite.c: keeping the hash index; EAGAIN: no usable index. */
int ext2_dx_add(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint32_t ino,
		uint8_t ft);
int ext2_dx_make(struct ext2_mount *em, struct ext2_inode *dp);
int ext2_dx_leaves(struct ext2_mount *em, struct ext2_inode *dp, const char *name, size_t len, uint64_t *leaves,
		   uint32_t max, uint32_t *np);
void ext2_dx_root_settail(struct ext2_mount *em, struct ext2_inode *dp, uint8_t *blk);

/* ext2_release.c */
/* Free everything of an inode whose last link and reference are gone. */
int ext2_inode_release(struct ext2_mount *em, struct ext2_inode *ip);
/* ext2_orphan.c */
int ext2_orphan_add(struct ext2_mount *em, struct ext2_inode *ip);
int ext2_orphan_remove(struct ext2_mount *em, struct ext2_inode *ip);
int ext2_orphan_process(struct ext2_mount *em);
/* Give back the inode's share of its attribute block. */
int ext2_xattr_block_release(struct ext2_mount *em, struct ext2_inode *ip);

extern const struct vnodeops ext2_vnodeops;

#endif /* ANYK_FS_EXT2_H */
