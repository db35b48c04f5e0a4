/*
 * The ext2/ext3/ext4 on-disk format: byte offsets of the fields anyk reads
 * and writes, magic numbers and feature bits. Every structure is decoded
 * field by field with the little-endian helpers of libkern from a byte
 * buffer; nothing on disk is ever cast to a C struct, so host byte order and
 * padding never matter. Offsets are in bytes from the start of the structure.
 */
#ifndef ANYK_FS_EXT2_FS_H
#define ANYK_FS_EXT2_FS_H

/* --- superblock: 1024 bytes at byte 1024 of the device --------------------- */

#define EXT2_SB_OFFSET 1024
#define EXT2_SB_SIZE 1024
#define EXT2_MAGIC 0xEF53

#define SB_INODES_COUNT 0x00
#define SB_BLOCKS_COUNT_LO 0x04
#define SB_R_BLOCKS_COUNT_LO 0x08
#define SB_FREE_BLOCKS_LO 0x0C
#define SB_FREE_INODES 0x10
#define SB_FIRST_DATA_BLOCK 0x14
#define SB_LOG_BLOCK_SIZE 0x18
#define SB_LOG_CLUSTER_SIZE 0x1C
#define SB_BLOCKS_PER_GROUP 0x20
#define SB_CLUSTERS_PER_GROUP 0x24
#define SB_INODES_PER_GROUP 0x28
#define SB_MTIME 0x2C
#define SB_WTIME 0x30
#define SB_MNT_COUNT 0x34 /* le16 */
#define SB_MAGIC 0x38 /* le16 */
#define SB_STATE 0x3A /* le16 */
#define SB_REV_LEVEL 0x4C
#define SB_FIRST_INO 0x54
#define SB_INODE_SIZE 0x58 /* le16 */
#define SB_FEATURE_COMPAT 0x5C
#define SB_FEATURE_INCOMPAT 0x60
#define SB_FEATURE_RO_COMPAT 0x64
#define SB_UUID 0x68 /* 16 bytes */
#define SB_VOLUME_NAME 0x78
#define SB_RESERVED_GDT_BLOCKS 0xCE /* le16 */
#define SB_JOURNAL_INUM 0xE0
#define SB_LAST_ORPHAN 0xE8
#define SB_HASH_SEED 0xEC /* 4 x le32 */
#define SB_DEF_HASH_VERSION 0xFC /* u8 */
#define SB_DESC_SIZE 0xFE /* le16 */
#define SB_FIRST_META_BG 0x104
#define SB_BLOCKS_COUNT_HI 0x150
#define SB_R_BLOCKS_COUNT_HI 0x154
#define SB_FREE_BLOCKS_HI 0x158
#define SB_MIN_EXTRA_ISIZE 0x15C /* le16 */
#define SB_FLAGS 0x160
#define SB_LOG_GROUPS_PER_FLEX 0x174 /* u8 */
#define SB_CHECKSUM_TYPE 0x175 /* u8 */
#define SB_BACKUP_BGS 0x24C /* 2 x le32: sparse_super2's backup groups */
#define SB_CHECKSUM_SEED 0x270
#define SB_ENCODING 0x27C /* le16: casefold's encoding */
#define SB_ENCODING_FLAGS 0x27E /* le16 */
#define EXT4_ENC_UTF8_12_1 1
#define EXT4_ENC_STRICT_MODE_FL 0x0001 /* names must be UTF-8 */
#define SB_CHECKSUM 0x3FC

/* More superblock fields, written by mkfs. */
#define SB_WTIME 0x30
#define SB_MAX_MNT_COUNT 0x36 /* le16; -1: no forced checks */
#define SB_ERRORS 0x3C /* le16 */
#define SB_LASTCHECK 0x40
#define SB_BLOCK_GROUP_NR 0x5A /* le16: the group this copy is in */
#define SB_JNL_BACKUP_TYPE 0xFD /* u8 */
#define SB_DEFAULT_MOUNT_OPTS 0x100
#define SB_MKFS_TIME 0x108
#define SB_JNL_BLOCKS 0x10C /* 17 x le32: journal i_block, i_size_high, i_size */
#define SB_WANT_EXTRA_ISIZE 0x15E /* le16 */
#define SB_KBYTES_WRITTEN 0x178 /* le64 */

#define EXT2_ERRORS_CONTINUE 1
#define EXT3_JNL_BACKUP_BLOCKS 1
#define EXT2_DEFM_XATTR_USER 0x0004
#define EXT2_DEFM_ACL 0x0008
#define EXT2_RESIZE_INO 7
#define EXT2_JOURNAL_INO 8

#define EXT2_REV_GOOD_OLD 0
#define EXT2_GOOD_OLD_INODE_SIZE 128
#define EXT2_GOOD_OLD_FIRST_INO 11
#define EXT2_ROOT_INO 2

#define EXT2_STATE_VALID 0x1
#define EXT2_STATE_ERRORS 0x2

#define EXT2_FLAGS_SIGNED_HASH 0x1
#define EXT2_FLAGS_UNSIGNED_HASH 0x2

#define EXT2_CRC32C_CHKSUM 1

/* Feature bits. */
#define COMPAT_DIR_PREALLOC 0x0001
#define COMPAT_IMAGIC_INODES 0x0002
#define COMPAT_HAS_JOURNAL 0x0004
#define COMPAT_EXT_ATTR 0x0008
#define COMPAT_RESIZE_INODE 0x0010
#define COMPAT_DIR_INDEX 0x0020
#define COMPAT_SPARSE_SUPER2 0x0200
#define COMPAT_ORPHAN_FILE 0x1000

#define INCOMPAT_COMPRESSION 0x0001
#define INCOMPAT_FILETYPE 0x0002
#define INCOMPAT_RECOVER 0x0004
#define INCOMPAT_JOURNAL_DEV 0x0008
#define INCOMPAT_META_BG 0x0010
#define INCOMPAT_EXTENTS 0x0040
#define INCOMPAT_64BIT 0x0080
#define INCOMPAT_MMP 0x0100
#define INCOMPAT_FLEX_BG 0x0200
#define INCOMPAT_EA_INODE 0x0400
#define INCOMPAT_DIRDATA 0x1000
#define INCOMPAT_CSUM_SEED 0x2000
#define INCOMPAT_LARGEDIR 0x4000
#define INCOMPAT_INLINE_DATA 0x8000
#define INCOMPAT_ENCRYPT 0x10000
#define INCOMPAT_CASEFOLD 0x20000
/* What the read path understands. */
#define INCOMPAT_SUPPORTED                                                  \
	(INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG |            \
	 INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_MMP | INCOMPAT_FLEX_BG | \
	 INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA |       \
	 INCOMPAT_CASEFOLD | INCOMPAT_EA_INODE | INCOMPAT_ENCRYPT)
/* What the read path understands and the write path does not: such images
 * mount read-only only (none now). inline_data is written: ext2_inline.c;
 * casefold, directories whose names are found regardless of case:
 * ext2_dir.c; ea_inode, attribute values in inodes of their own, but with
 * quota: ext2_xattr_w.c; encrypt, all but the encrypted files, links and
 * directories, which give ENOKEY: ext2_vnops.c. */
#define INCOMPAT_READONLY 0u
/* Likewise among the read-only compatible features (bigalloc: its clusters
 * matter only to allocation; reading maps blocks as without it). */
#define RO_COMPAT_READ_ONLY (RO_COMPAT_BIGALLOC)
/* The largest bigalloc cluster read: 2^16 blocks. */
#define EXT2_CLUSTER_SHIFT_MAX 16

#define RO_COMPAT_SPARSE_SUPER 0x0001
#define RO_COMPAT_LARGE_FILE 0x0002
#define RO_COMPAT_BTREE_DIR 0x0004
#define RO_COMPAT_HUGE_FILE 0x0008
#define RO_COMPAT_GDT_CSUM 0x0010
#define RO_COMPAT_DIR_NLINK 0x0020
#define RO_COMPAT_EXTRA_ISIZE 0x0040
#define RO_COMPAT_QUOTA 0x0100
#define RO_COMPAT_BIGALLOC 0x0200
#define RO_COMPAT_METADATA_CSUM 0x0400
#define RO_COMPAT_READONLY 0x1000
#define RO_COMPAT_PROJECT 0x2000
#define RO_COMPAT_VERITY 0x8000
#define RO_COMPAT_ORPHAN_PRESENT 0x10000
#define RO_COMPAT_SUPPORTED                                                  \
	(RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE | \
	 RO_COMPAT_GDT_CSUM | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE |    \
	 RO_COMPAT_METADATA_CSUM | RO_COMPAT_QUOTA | RO_COMPAT_VERITY | RO_COMPAT_PROJECT)

/* --- jbd2 journal superblock: block 0 of the journal, big-endian --------- */

#define JBD2_MAGIC 0xC03B3998
#define JBD2_SUPERBLOCK_V2 4
#define JSB_MAGIC 0x0
#define JSB_BLOCKTYPE 0x4
#define JSB_BLOCKSIZE 0xC
#define JSB_MAXLEN 0x10
#define JSB_FIRST 0x14
#define JSB_SEQUENCE 0x18
#define JSB_START 0x1C
#define JSB_INCOMPAT 0x28
#define JSB_UUID 0x30 /* 16 bytes */
#define JSB_NR_USERS 0x40
#define JSB_CHECKSUM_TYPE 0x50 /* u8 */
#define JSB_CHECKSUM 0xFC
#define JSB_USERS 0x100 /* 16-byte file system UUIDs */
#define JSB_SIZE 1024
#define JBD2_INCOMPAT_CSUM_V3 0x10
#define JBD2_CRC32C_CHKSUM 4
#define JBD2_MIN_JOURNAL_BLOCKS 1024

/* --- group descriptors: 32 bytes, or s_desc_size (>= 64) with 64bit ------- */

#define GD_BLOCK_BITMAP_LO 0x00
#define GD_INODE_BITMAP_LO 0x04
#define GD_INODE_TABLE_LO 0x08
#define GD_FREE_BLOCKS_LO 0x0C /* le16 */
#define GD_FREE_INODES_LO 0x0E
#define GD_USED_DIRS_LO 0x10
#define GD_FLAGS 0x12
#define GD_BLOCK_BITMAP_CSUM_LO 0x18 /* le16 */
#define GD_INODE_BITMAP_CSUM_LO 0x1A
#define GD_ITABLE_UNUSED_LO 0x1C
#define GD_CHECKSUM 0x1E /* le16 */
#define GD_BLOCK_BITMAP_HI 0x20
#define GD_INODE_BITMAP_HI 0x24
#define GD_INODE_TABLE_HI 0x28
#define GD_FREE_BLOCKS_HI 0x2C /* le16 */
#define GD_FREE_INODES_HI 0x2E
#define GD_USED_DIRS_HI 0x30
#define GD_ITABLE_UNUSED_HI 0x32
#define GD_BLOCK_BITMAP_CSUM_HI 0x38 /* le16 */
#define GD_INODE_BITMAP_CSUM_HI 0x3A

#define EXT2_DESC_SIZE 32
#define EXT2_MIN_DESC_SIZE_64BIT 64
#define EXT2_MAX_DESC_SIZE 1024

#define BG_INODE_UNINIT 0x1
#define BG_BLOCK_UNINIT 0x2
#define BG_INODE_ZEROED 0x4

/* --- inodes ---------------------------------------------------------------- */

#define I_MODE 0x00 /* le16 */
#define I_UID_LO 0x02
#define I_SIZE_LO 0x04
#define I_ATIME 0x08
#define I_CTIME 0x0C
#define I_MTIME 0x10
#define I_DTIME 0x14
#define I_GID_LO 0x18
#define I_LINKS 0x1A
#define I_BLOCKS_LO 0x1C
#define I_FLAGS 0x20
#define I_BLOCK 0x28 /* 15 x le32, 60 bytes */
#define I_GENERATION 0x64
#define I_FILE_ACL_LO 0x68
#define I_SIZE_HI 0x6C
#define I_BLOCKS_HI 0x74 /* le16 */
#define I_FILE_ACL_HI 0x76
#define I_UID_HI 0x78
#define I_GID_HI 0x7A
#define I_CHECKSUM_LO 0x7C /* le16 */
#define I_EXTRA_ISIZE 0x80 /* le16; fields below exist if it covers them */
#define I_CHECKSUM_HI 0x82 /* le16 */
#define I_CTIME_EXTRA 0x84
#define I_MTIME_EXTRA 0x88
#define I_ATIME_EXTRA 0x8C
#define I_CRTIME 0x90
#define I_CRTIME_EXTRA 0x94
#define I_PROJID 0x9C

#define EXT2_N_BLOCKS 15
#define EXT2_NDIR_BLOCKS 12
#define EXT2_IND_BLOCK 12
#define EXT2_DIND_BLOCK 13
#define EXT2_TIND_BLOCK 14
#define EXT2_I_BLOCK_SIZE 60
/* Inline data: an inline directory's i_block starts with its parent's
 * inode number; the data past i_block is the value of the in-inode
 * attribute system.data. */
#define EXT2_INLINE_PARENT_SIZE 4
/* An inline directory's entries keep their readdir cookies when it moves
 * to a block: there "." and ".." (12 bytes each) stand where the parent's
 * number (4 bytes) stood, and the entries follow as they were, so a block
 * position is the inline position plus this (ext2_inline.c, ext2_dir.c). */
#define EXT2_INLINE_COOKIE_SHIFT (2 * EXT2_DIR_ENTRY_MIN - EXT2_INLINE_PARENT_SIZE)
#define EXT2_INLINE_XATTR_NAME "data"

#define EXT2_SECRM_FL 0x00000001
#define EXT2_IMMUTABLE_FL 0x00000010
#define EXT2_APPEND_FL 0x00000020
#define EXT4_ENCRYPT_FL 0x00000800 /* names or data encrypted (fscrypt) */
#define EXT2_INDEX_FL 0x00001000
#define EXT4_HUGE_FILE_FL 0x00040000
#define EXT4_EXTENTS_FL 0x00080000
#define EXT4_VERITY_FL 0x00100000 /* fs-verity: the data never changes */
#define EXT4_EA_INODE_FL 0x00200000
#define EXT4_INLINE_DATA_FL 0x10000000
#define EXT4_PROJINHERIT_FL 0x20000000 /* new inodes take the directory's project */
#define EXT4_CASEFOLD_FL 0x40000000    /* names found regardless of case */

/* i_mode type bits are the POSIX ones. */
#define EXT2_S_IFMT 0170000

/* --- extent trees ----------------------------------------------------------- */

#define EXT4_EXT_MAGIC 0xF30A
#define EH_MAGIC 0x0 /* le16 */
#define EH_ENTRIES 0x2
#define EH_MAX 0x4
#define EH_DEPTH 0x6
#define EXT4_EXT_HDR_SIZE 12
#define EXT4_EXT_ENTRY_SIZE 12
/* Leaf entries. */
#define EE_BLOCK 0x0 /* le32 logical */
#define EE_LEN 0x4   /* le16; > 32768: unwritten */
#define EE_START_HI 0x6
#define EE_START_LO 0x8
/* Index entries. */
#define EI_BLOCK 0x0
#define EI_LEAF_LO 0x4
#define EI_LEAF_HI 0x8 /* le16 */
#define EXT4_EXT_INIT_MAX_LEN 32768
#define EXT4_EXT_MAX_DEPTH 5
#define EXT4_EXT_TAIL_SIZE 4

/* --- directories -------------------------------------------------------------- */

#define DE_INODE 0x0
#define DE_REC_LEN 0x4 /* le16 */
#define DE_NAME_LEN 0x6 /* u8 (le16 without the filetype feature) */
#define DE_FILE_TYPE 0x7
#define DE_NAME 0x8
#define EXT2_DIR_ENTRY_MIN 12
#define EXT2_DIR_TAIL_SIZE 12
#define EXT2_DIR_TAIL_FT 0xDE
#define DT_CSUM_OFF 0x8 /* in the tail */

#define EXT2_FT_UNKNOWN 0
#define EXT2_FT_REG_FILE 1
#define EXT2_FT_DIR 2
#define EXT2_FT_CHRDEV 3
#define EXT2_FT_BLKDEV 4
#define EXT2_FT_FIFO 5
#define EXT2_FT_SOCK 6
#define EXT2_FT_SYMLINK 7

/* htree (dir_index) nodes. */
#define DX_ROOT_INFO 0x18     /* after the "." and ".." entries */
#define DXI_HASH_VERSION 0x4  /* u8, in the root info */
#define DXI_INFO_LENGTH 0x5
#define DXI_INDIRECT_LEVELS 0x6
#define DX_NODE_ENTRIES 0x8   /* after a fake empty dirent */
#define DX_LIMIT 0x0          /* le16, in the count/limit header */
#define DX_COUNT 0x2
#define DX_ENTRY_SIZE 8       /* le32 hash, le32 block */
#define DX_TAIL_SIZE 8        /* le32 reserved, le32 checksum */
#define DX_MAX_LEVELS 3       /* with largedir; 2 without */

#define DX_HASH_LEGACY 0
#define DX_HASH_HALF_MD4 1
#define DX_HASH_TEA 2
#define DX_HASH_LEGACY_UNSIGNED 3
#define DX_HASH_HALF_MD4_UNSIGNED 4
#define DX_HASH_TEA_UNSIGNED 5

/* --- extended attributes -------------------------------------------------------- */

#define EXT2_XATTR_MAGIC 0xEA020000
#define XH_MAGIC 0x0
#define XH_REFCOUNT 0x4
#define XH_BLOCKS 0x8
#define XH_HASH 0xC
#define XH_CHECKSUM 0x10
#define XH_SIZE 32
#define XE_NAME_LEN 0x0 /* u8 */
#define XE_NAME_INDEX 0x1
#define XE_VALUE_OFFS 0x2 /* le16 */
#define XE_VALUE_INUM 0x4
#define XE_VALUE_SIZE 0x8
#define XE_HASH 0xC
#define XE_NAME 0x10
#define XE_HEAD_SIZE 16

#define XATTR_INDEX_USER 1
#define XATTR_INDEX_POSIX_ACL_ACCESS 2
#define XATTR_INDEX_POSIX_ACL_DEFAULT 3
#define XATTR_INDEX_TRUSTED 4
#define XATTR_INDEX_SECURITY 6
#define XATTR_INDEX_SYSTEM 7

/* ext4's compact POSIX ACL format (version 1); the VFS's (version 2) and
 * the tags both use are in vfs/vfs.h. */
#define EXT4_ACL_VERSION 1

#endif /* ANYK_FS_EXT2_FS_H */
