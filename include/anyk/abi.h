/*
 * anyk ABI: the constants and structures that cross the public API.
 *
 * They are anyk's own, independent of the host's headers, so that a program
 * (or a remote client, or a WebAssembly module) sees the same values on every
 * host. Numeric values follow the Linux generic ABI where one exists, which
 * makes translation in the LD_PRELOAD and FUSE front ends cheap; code must
 * still use the names, never the numbers.
 */
#ifndef ANYK_ABI_H
#define ANYK_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t anyk_off_t;
typedef long anyk_ssize_t;
typedef uint32_t anyk_mode_t;
typedef uint32_t anyk_uid_t;
typedef uint32_t anyk_gid_t;
typedef uint64_t anyk_dev_t;
typedef uint64_t anyk_ino_t;
typedef int32_t anyk_pid_t;

#define ANYK_PATH_MAX 4096 /* bytes in a path, including the NUL */
#define ANYK_NAME_MAX 255  /* bytes in one path component */
#define ANYK_SYMLOOP_MAX 40
#define ANYK_NGROUPS_MAX 32
#define ANYK_IOV_MAX 1024
/* Kernel log levels, the most severe first: errors (corruption, I/O
 * errors), warnings (something is wrong, or was ignored), notes, debugging. */
#define ANYK_LOG_ERR 0
#define ANYK_LOG_WARN 1
#define ANYK_LOG_INFO 2
#define ANYK_LOG_DEBUG 3

#define ANYK_OPEN_MAX 1024 /* default descriptor table size of a process */

/* Error numbers (positive). */
#define ANYK_EPERM 1
#define ANYK_ENOENT 2
#define ANYK_ESRCH 3
#define ANYK_EINTR 4
#define ANYK_EIO 5
#define ANYK_ENXIO 6
#define ANYK_E2BIG 7
#define ANYK_ENOEXEC 8
#define ANYK_EBADF 9
#define ANYK_ECHILD 10
#define ANYK_EAGAIN 11
#define ANYK_ENOMEM 12
#define ANYK_EACCES 13
#define ANYK_EFAULT 14
#define ANYK_ENOTBLK 15
#define ANYK_EBUSY 16
#define ANYK_EEXIST 17
#define ANYK_EXDEV 18
#define ANYK_ENODEV 19
#define ANYK_ENOTDIR 20
#define ANYK_EISDIR 21
#define ANYK_EINVAL 22
#define ANYK_ENFILE 23
#define ANYK_EMFILE 24
#define ANYK_ENOTTY 25
#define ANYK_ETXTBSY 26
#define ANYK_EFBIG 27
#define ANYK_ENOSPC 28
#define ANYK_ESPIPE 29
#define ANYK_EROFS 30
#define ANYK_EMLINK 31
#define ANYK_EPIPE 32
#define ANYK_EDOM 33
#define ANYK_ERANGE 34
#define ANYK_EDEADLK 35
#define ANYK_ENAMETOOLONG 36
#define ANYK_ENOLCK 37
#define ANYK_ENOSYS 38
#define ANYK_ENOTEMPTY 39
#define ANYK_ELOOP 40
#define ANYK_ENOMSG 42
#define ANYK_ENODATA 61
#define ANYK_ETIME 62
#define ANYK_EOVERFLOW 75
#define ANYK_EBADMSG 74
#define ANYK_EILSEQ 84
#define ANYK_ENOTSOCK 88
#define ANYK_EDESTADDRREQ 89
#define ANYK_EMSGSIZE 90
#define ANYK_EPROTOTYPE 91
#define ANYK_ENOPROTOOPT 92
#define ANYK_EPROTONOSUPPORT 93
#define ANYK_EOPNOTSUPP 95
#define ANYK_EAFNOSUPPORT 97
#define ANYK_EADDRINUSE 98
#define ANYK_EADDRNOTAVAIL 99
#define ANYK_ENETDOWN 100
#define ANYK_ENETUNREACH 101
#define ANYK_ECONNABORTED 103
#define ANYK_ECONNRESET 104
#define ANYK_ENOBUFS 105
#define ANYK_EISCONN 106
#define ANYK_ENOTCONN 107
#define ANYK_ETIMEDOUT 110
#define ANYK_ECONNREFUSED 111
#define ANYK_EHOSTUNREACH 113
#define ANYK_EALREADY 114
#define ANYK_EINPROGRESS 115
#define ANYK_ESTALE 116
#define ANYK_EUCLEAN 117 /* file system structure needs cleaning */
#define ANYK_EDQUOT 122
#define ANYK_ECANCELED 125
#define ANYK_ENOKEY 126 /* encrypted, and its key is not available */
#define ANYK_ELAST 133
#define ANYK_EFSCORRUPTED ANYK_EUCLEAN
#define ANYK_ENOTSUP ANYK_EOPNOTSUPP
#define ANYK_EWOULDBLOCK ANYK_EAGAIN

/* open() flags. */
#define ANYK_O_RDONLY 0x0
#define ANYK_O_WRONLY 0x1
#define ANYK_O_RDWR 0x2
#define ANYK_O_ACCMODE 0x3
#define ANYK_O_CREAT 0x40
#define ANYK_O_EXCL 0x80
#define ANYK_O_NOCTTY 0x100
#define ANYK_O_TRUNC 0x200
#define ANYK_O_APPEND 0x400
#define ANYK_O_NONBLOCK 0x800
#define ANYK_O_DSYNC 0x1000
#define ANYK_O_DIRECT 0x4000
#define ANYK_O_LARGEFILE 0x8000
#define ANYK_O_DIRECTORY 0x10000
#define ANYK_O_NOFOLLOW 0x20000
#define ANYK_O_NOATIME 0x40000
#define ANYK_O_CLOEXEC 0x80000
#define ANYK_O_SYNC 0x101000
#define ANYK_O_PATH 0x200000
/* Every flag open() accepts; anything else is EINVAL. */
#define ANYK_O_VALID                                                            \
	(ANYK_O_ACCMODE | ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_NOCTTY |             \
	 ANYK_O_TRUNC | ANYK_O_APPEND | ANYK_O_NONBLOCK | ANYK_O_DSYNC |           \
	 ANYK_O_DIRECT | ANYK_O_LARGEFILE | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW |   \
	 ANYK_O_NOATIME | ANYK_O_CLOEXEC | ANYK_O_SYNC | ANYK_O_PATH)

/* *at() directory argument and flags. */
#define ANYK_AT_FDCWD (-100)
#define ANYK_AT_SYMLINK_NOFOLLOW 0x100
#define ANYK_AT_REMOVEDIR 0x200
#define ANYK_AT_EACCESS 0x200 /* faccessat only */
#define ANYK_AT_SYMLINK_FOLLOW 0x400
#define ANYK_AT_EMPTY_PATH 0x1000

/* fallocate() modes (Linux's values). */
#define ANYK_FALLOC_FL_KEEP_SIZE 0x01      /* allocate, but leave the size */
#define ANYK_FALLOC_FL_PUNCH_HOLE 0x02     /* free the range (with KEEP_SIZE) */
#define ANYK_FALLOC_FL_COLLAPSE_RANGE 0x08 /* take the range out, what follows moves down */
#define ANYK_FALLOC_FL_ZERO_RANGE 0x10     /* the range reads as zeros, allocated */
#define ANYK_FALLOC_FL_INSERT_RANGE 0x20   /* a hole at the range, what was there moves up */

/* renameat2() flags (Linux's values). */
#define ANYK_RENAME_NOREPLACE 0x1 /* EEXIST rather than replace the target */
#define ANYK_RENAME_EXCHANGE 0x2  /* swap the two names, which must both exist */
#define ANYK_RENAME_WHITEOUT 0x4  /* leave a whiteout (a 0/0 character device) at the source */

/* access() modes. */
#define ANYK_F_OK 0
#define ANYK_X_OK 1
#define ANYK_W_OK 2
#define ANYK_R_OK 4

/* lseek() whence. */
#define ANYK_SEEK_SET 0
#define ANYK_SEEK_CUR 1
#define ANYK_SEEK_END 2
#define ANYK_SEEK_DATA 3
#define ANYK_SEEK_HOLE 4

/* fcntl() commands and descriptor flags. */
#define ANYK_F_DUPFD 0
#define ANYK_F_GETFD 1
#define ANYK_F_SETFD 2
#define ANYK_F_GETFL 3
#define ANYK_F_SETFL 4
#define ANYK_F_DUPFD_CLOEXEC 1030
#define ANYK_FD_CLOEXEC 1

/* File types and permission bits of st_mode. */
#define ANYK_S_IFMT 0170000
#define ANYK_S_IFSOCK 0140000
#define ANYK_S_IFLNK 0120000
#define ANYK_S_IFREG 0100000
#define ANYK_S_IFBLK 0060000
#define ANYK_S_IFDIR 0040000
#define ANYK_S_IFCHR 0020000
#define ANYK_S_IFIFO 0010000
#define ANYK_S_ISUID 04000
#define ANYK_S_ISGID 02000
#define ANYK_S_ISVTX 01000
#define ANYK_S_IRWXU 00700
#define ANYK_S_IRUSR 00400
#define ANYK_S_IWUSR 00200
#define ANYK_S_IXUSR 00100
#define ANYK_S_IRWXG 00070
#define ANYK_S_IRWXO 00007
#define ANYK_S_ISREG(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFREG)
#define ANYK_S_ISDIR(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFDIR)
#define ANYK_S_ISLNK(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFLNK)
#define ANYK_S_ISCHR(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFCHR)
#define ANYK_S_ISBLK(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFBLK)
#define ANYK_S_ISFIFO(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFIFO)
#define ANYK_S_ISSOCK(m) (((m) & ANYK_S_IFMT) == ANYK_S_IFSOCK)

/* Device numbers: 32-bit major, 32-bit minor. */
#define ANYK_MAKEDEV(ma, mi) (((anyk_dev_t)(ma) << 32) | (uint32_t)(mi))
#define ANYK_MAJOR(d) ((uint32_t)((d) >> 32))
#define ANYK_MINOR(d) ((uint32_t)(d))

/* Special timestamp values for utimensat(). */
#define ANYK_UTIME_NOW ((1l << 30) - 1l)
#define ANYK_UTIME_OMIT ((1l << 30) - 2l)

/* setxattr() flags and extended attribute limits (Linux's values). */
#define ANYK_XATTR_CREATE 0x1  /* fail with EEXIST if it exists */
#define ANYK_XATTR_REPLACE 0x2 /* fail with ENODATA if it does not */
#define ANYK_XATTR_NAME_MAX 255      /* bytes in a name with its prefix */
#define ANYK_XATTR_SIZE_MAX 65536    /* bytes in one value */
#define ANYK_XATTR_LIST_MAX 65536    /* bytes listxattr returns at most */

/*
 * File flags: struct anyk_stat's st_flags, set by anyk_sys_chflagsat and
 * anyk_sys_fchflags. Linux's inode flags (FS_IOC_GETFLAGS, lsattr), whose
 * values are ext2's on-disk ones. Enforced:
 *   IMMUTABLE  nothing changes the file: not its data, attributes, names
 *              or extended attributes, nor (a directory) its entries;
 *   APPEND     data is only added at the end, nothing else changes; a
 *              directory gains entries but loses none.
 * Only root sets or clears those two. The others are kept for the file
 * systems and tools that act on them. Flags a file system cannot keep fail
 * with EOPNOTSUPP; the read-only ones (EXTENTS, INDEX, ...) are reported
 * and may be passed back unchanged. CASEFOLD is set or cleared only on an
 * empty directory of a file system that has case-insensitive directories
 * (ext4's casefold feature): else ENOTEMPTY, ENOTDIR or EOPNOTSUPP.
 */
#define ANYK_FL_SECRM 0x00000001       /* secure deletion (kept) */
#define ANYK_FL_UNRM 0x00000002        /* undelete (kept) */
#define ANYK_FL_SYNC 0x00000008        /* synchronous updates (kept) */
#define ANYK_FL_IMMUTABLE 0x00000010   /* see above */
#define ANYK_FL_APPEND 0x00000020      /* see above */
#define ANYK_FL_NODUMP 0x00000040      /* not for dump(8) (kept) */
#define ANYK_FL_NOATIME 0x00000080     /* no access time updates (kept) */
#define ANYK_FL_ENCRYPT 0x00000800     /* encrypted (read-only) */
#define ANYK_FL_INDEX 0x00001000       /* hashed directory (read-only) */
#define ANYK_FL_NOTAIL 0x00008000      /* no tail merging (kept) */
#define ANYK_FL_DIRSYNC 0x00010000     /* synchronous directory changes (kept) */
#define ANYK_FL_TOPDIR 0x00020000      /* top of a directory hierarchy (kept) */
#define ANYK_FL_HUGE_FILE 0x00040000   /* blocks counted in file system blocks (read-only) */
#define ANYK_FL_EXTENTS 0x00080000     /* mapped by extents (read-only) */
#define ANYK_FL_VERITY 0x00100000      /* fs-verity file (read-only) */
#define ANYK_FL_INLINE_DATA 0x10000000 /* data in the inode (read-only) */
#define ANYK_FL_PROJINHERIT 0x20000000 /* new entries take the project (kept) */
#define ANYK_FL_CASEFOLD 0x40000000    /* names found without case (empty directories) */
#define ANYK_FL_SETTABLE                                                                       \
	(ANYK_FL_SECRM | ANYK_FL_UNRM | ANYK_FL_SYNC | ANYK_FL_IMMUTABLE | ANYK_FL_APPEND |     \
	 ANYK_FL_NODUMP | ANYK_FL_NOATIME | ANYK_FL_NOTAIL | ANYK_FL_DIRSYNC | ANYK_FL_TOPDIR | \
	 ANYK_FL_PROJINHERIT)

struct anyk_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

struct anyk_stat {
	anyk_dev_t st_dev;
	anyk_ino_t st_ino;
	uint64_t st_nlink;
	anyk_mode_t st_mode;
	anyk_uid_t st_uid;
	anyk_gid_t st_gid;
	uint32_t st_flags;
	anyk_dev_t st_rdev;
	anyk_off_t st_size;
	int64_t st_blksize;
	int64_t st_blocks; /* 512-byte units allocated */
	struct anyk_timespec st_atim;
	struct anyk_timespec st_mtim;
	struct anyk_timespec st_ctim;
	struct anyk_timespec st_birthtim; /* tv_sec=0, tv_nsec=0 if unknown */
	uint32_t st_projid; /* project id (ext4 project quotas); 0 where none is kept */
};

struct anyk_statvfs {
	uint64_t f_bsize;
	uint64_t f_frsize;
	uint64_t f_blocks;
	uint64_t f_bfree;
	uint64_t f_bavail;
	uint64_t f_files;
	uint64_t f_ffree;
	uint64_t f_favail;
	uint64_t f_fsid;
	uint64_t f_flag; /* ANYK_ST_* */
	uint64_t f_namemax;
	char f_fstypename[16];
	char f_mntfromname[64];
	char f_mntonname[256];
};
#define ANYK_ST_RDONLY 0x1
#define ANYK_ST_NOSUID 0x2

/* getdents() records; d_reclen is a multiple of 8. */
struct anyk_dirent {
	uint64_t d_ino;
	int64_t d_off; /* cookie of the next entry: lseek() to it resumes there */
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};
#define ANYK_DT_UNKNOWN 0
#define ANYK_DT_FIFO 1
#define ANYK_DT_CHR 2
#define ANYK_DT_DIR 4
#define ANYK_DT_BLK 6
#define ANYK_DT_REG 8
#define ANYK_DT_LNK 10
#define ANYK_DT_SOCK 12

/* Same layout as POSIX struct iovec. */
struct anyk_iovec {
	void *iov_base;
	size_t iov_len;
};

/* mount() flags. */
#define ANYK_MNT_RDONLY 0x1
#define ANYK_MNT_NOSUID 0x2
#define ANYK_MNT_NODEV 0x4
#define ANYK_MNT_NOEXEC 0x8
#define ANYK_MNT_SYNCHRONOUS 0x10
#define ANYK_MNT_NOATIME 0x400
/* unmount() flags. */
#define ANYK_MNT_FORCE 0x1
#define ANYK_MNT_DETACH 0x2

/* anyk_disk_attach() flags. */
#define ANYK_DISK_RDONLY 0x1
#define ANYK_DISK_SECTOR4K 0x2 /* present 4096-byte logical sectors */
#define ANYK_DISK_NOPART 0x4   /* do not scan for partitions */

/* Kernel memory statistics (anyk_memstats()). */
#define ANYK_MEMSTAT_NAMELEN 16
struct anyk_memstat_entry {
	char name[ANYK_MEMSTAT_NAMELEN];
	uint64_t bytes;    /* bytes currently allocated */
	uint64_t allocs;   /* allocations ever made */
	uint64_t frees;    /* frees ever made */
	uint64_t failures; /* allocations refused */
};

#ifdef __cplusplus
}
#endif
#endif /* ANYK_ABI_H */
