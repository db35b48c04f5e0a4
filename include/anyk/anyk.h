/*
 * anyk public API.
 *
 * A program calls anyk_init() once, then system calls in the anyk_sys_*
 * family exactly as it would call the host's: they return -1 (or NULL) on
 * failure and set the caller's errno to the host's value for the error
 * (through the host's anyk_hyp_set_errno). Every argument is checked; none
 * can crash the kernel.
 *
 * Each host thread runs in a process context (descriptors, cwd, root, umask,
 * credentials). Threads start in the initial context, pid 1; a kernel server
 * gives each client a context of its own with anyk_proc_create() and enters it
 * with anyk_proc_switch().
 */
#ifndef ANYK_ANYK_H
#define ANYK_ANYK_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ANYK_API __attribute__((visibility("default")))
#else
#define ANYK_API
#endif

/* --- kernel life cycle --------------------------------------------------- */

/* Boot the kernel: memory, components in level order, root tmpfs, /dev.
 * Returns 0, or an ANYK_E* number (and sets errno) if it cannot. Calling it
 * again after success returns 0 and does nothing. */
ANYK_API int anyk_init(void);
/* Sync and unmount everything, stop kernel threads, free all kernel memory.
 * After it anyk_init() may be called again. */
ANYK_API int anyk_fini(void);
/* Run deferred kernel work (write-back, timers) now. Hosts without threads
 * (ANYK_THREADS=0) call it from their event loop; harmless elsewhere. Returns
 * the number of work items run. */
ANYK_API int anyk_run_pending(void);
ANYK_API const char *anyk_version(void);
/* Copy the kernel log into buf (NUL-terminated, oldest lines dropped first
 * if it does not fit). Returns the length of the whole log. */
ANYK_API size_t anyk_dmesg(char *buf, size_t len);
/* anyk_dmesg, with only the lines at level maxlevel (ANYK_LOG_*) or more
 * severe. */
ANYK_API size_t anyk_dmesg_level(char *buf, size_t len, int maxlevel);
/* Fill up to n entries of per-subsystem memory accounting (the first is the
 * total); returns the number of subsystems. */
ANYK_API int anyk_memstats(struct anyk_memstat_entry *out, int n);

/* --- process contexts ---------------------------------------------------- */

struct anyk_proc;
/* Create a context. With parent, it inherits (copies) its descriptors
 * (except close-on-exec ones when ANYK_PROC_EXEC is given), cwd, root, umask
 * and credentials; with NULL it starts from the initial context's cwd/root
 * with no descriptors and root credentials. NULL and errno on failure. */
#define ANYK_PROC_EXEC 0x1
ANYK_API struct anyk_proc *anyk_proc_create(struct anyk_proc *parent, unsigned flags);
/* Make p the calling host thread's context (NULL: the initial context).
 * Returns the previous one. */
ANYK_API struct anyk_proc *anyk_proc_switch(struct anyk_proc *p);
ANYK_API struct anyk_proc *anyk_proc_current(void);
/* Drop the creator's reference: descriptors close when no thread is in it. */
ANYK_API void anyk_proc_release(struct anyk_proc *p);

/* --- devices ------------------------------------------------------------- */

/* Make the host file or block device at hostpath appear as block device
 * devpath (e.g. "/dev/sd0"), and its MBR/GPT partitions as devpath "p1",
 * "p2", ... Returns 0 or -1 with errno. */
ANYK_API int anyk_disk_attach(const char *devpath, const char *hostpath, unsigned flags);
ANYK_API int anyk_disk_detach(const char *devpath);
/* The index-th partition (0, 1, ... in table order) of the disk attached at
 * devpath: -1 with errno ENOENT past the last one (or when the disk has no
 * partition table), ENODEV when no disk is attached there. */
#define ANYK_PART_MBR 1
#define ANYK_PART_GPT 2
struct anyk_partinfo {
	int scheme;             /* ANYK_PART_MBR or ANYK_PART_GPT */
	unsigned number;        /* as Linux numbers it; devpath ends "p<number>" */
	uint64_t start, size;   /* bytes */
	uint8_t mbrtype;        /* MBR: the type byte */
	uint8_t extended;       /* MBR: the extended partition's container */
	uint8_t bootable;       /* MBR: the active flag */
	uint8_t typeguid[16];   /* GPT: as stored on disk (mixed-endian) */
	uint8_t guid[16];       /* GPT: the partition's unique GUID, as stored */
	uint64_t attrs;         /* GPT: attribute bits */
	char name[112];         /* GPT: the name in UTF-8 */
	char devpath[64];       /* its block device node, "/dev/sd0p1" */
};
ANYK_API int anyk_disk_partinfo(const char *devpath, int index, struct anyk_partinfo *out);

/* Make a new ext2, ext3 or ext4 file system on the block device at devpath
 * (which nothing may have open). Fields left 0 or NULL get the defaults of
 * Debian 12's mke2fs for the type and size: 4096-byte blocks (1024 below
 * 512 MiB), 256-byte inodes, one inode per 16 KiB (4 KiB below 512 MiB,
 * 8 KiB below 3 MiB), 5% reserved blocks, the journal size mke2fs picks.
 * With uuid and timestamp given the result is the same bytes every time:
 * the directory hash seed is derived from the UUID, which the journal
 * shares. Returns 0 or -1 with errno (EINVAL: bad option or too small for
 * the options; msg then says which). */
struct anyk_mkfs_opts {
	const char *fstype;      /* "ext2", "ext3", "ext4"; NULL: ext2 */
	uint32_t block_size;     /* 1024..65536, a power of 2 */
	uint32_t inode_size;     /* 128..block_size, a power of 2 */
	uint64_t inodes;         /* total wanted (rounded up to fill groups) */
	const char *label;       /* at most 16 bytes */
	const uint8_t *uuid;     /* 16 bytes; NULL: random */
	const char *features;    /* as mke2fs -O: "^has_journal,metadata_csum" */
	int64_t timestamp;       /* seconds since 1970 for every time; -1: now */
	uint32_t journal_blocks; /* 0: as mke2fs for the size */
	unsigned flags;          /* ANYK_MKFS_* */
	char *msg;               /* if not NULL: why it failed, or notes on what */
	size_t msglen;           /* was left out (resize_inode, the journal) */
};
/* The device already reads as zeros (a new or hole-punched file): inode
 * tables and the journal need not be written. */
#define ANYK_MKFS_PREZEROED 0x1
/* With the casefold feature: names that are not valid UTF-8 are refused
 * (EINVAL) in case-insensitive directories instead of kept as their bytes
 * (mke2fs -E encoding_flags=strict). */
#define ANYK_MKFS_ENC_STRICT 0x2
ANYK_API int anyk_mkfs(const char *devpath, const struct anyk_mkfs_opts *opts);

/* --- system calls -------------------------------------------------------- */

ANYK_API int anyk_sys_open(const char *path, int flags, anyk_mode_t mode);
ANYK_API int anyk_sys_openat(int dirfd, const char *path, int flags, anyk_mode_t mode);
ANYK_API int anyk_sys_close(int fd);
ANYK_API anyk_ssize_t anyk_sys_read(int fd, void *buf, size_t n);
ANYK_API anyk_ssize_t anyk_sys_write(int fd, const void *buf, size_t n);
ANYK_API anyk_ssize_t anyk_sys_pread(int fd, void *buf, size_t n, anyk_off_t off);
ANYK_API anyk_ssize_t anyk_sys_pwrite(int fd, const void *buf, size_t n, anyk_off_t off);
/* pread/pwrite of a regular file whose data goes to (pread_host) or comes
 * from (pwrite_host) hostfd, a descriptor of the calling program's own (a
 * pipe, socket or host file), without passing through the caller's memory:
 * on Linux a disk-backed file's bytes move inside the host kernel
 * (splice(2), sendfile(2)); elsewhere the kernel copies them. Blocks until
 * n bytes, the end of the file, or an error; a pipe too small for n bytes
 * must have a reader. pwrite_host with a stream that ends early writes what
 * came and fails with EPIPE. EINVAL: fd is not a regular file. */
ANYK_API anyk_ssize_t anyk_sys_pread_host(int fd, int hostfd, size_t n, anyk_off_t off);
ANYK_API anyk_ssize_t anyk_sys_pwrite_host(int fd, int hostfd, size_t n, anyk_off_t off);
ANYK_API anyk_ssize_t anyk_sys_readv(int fd, const struct anyk_iovec *iov, int iovcnt);
ANYK_API anyk_ssize_t anyk_sys_writev(int fd, const struct anyk_iovec *iov, int iovcnt);
ANYK_API anyk_off_t anyk_sys_lseek(int fd, anyk_off_t off, int whence);
ANYK_API int anyk_sys_stat(const char *path, struct anyk_stat *st);
ANYK_API int anyk_sys_lstat(const char *path, struct anyk_stat *st);
ANYK_API int anyk_sys_fstat(int fd, struct anyk_stat *st);
ANYK_API int anyk_sys_fstatat(int dirfd, const char *path, struct anyk_stat *st, int flags);
ANYK_API int anyk_sys_access(const char *path, int mode);
ANYK_API int anyk_sys_faccessat(int dirfd, const char *path, int mode, int flags);
ANYK_API int anyk_sys_mkdir(const char *path, anyk_mode_t mode);
ANYK_API int anyk_sys_mkdirat(int dirfd, const char *path, anyk_mode_t mode);
ANYK_API int anyk_sys_rmdir(const char *path);
ANYK_API int anyk_sys_unlink(const char *path);
ANYK_API int anyk_sys_unlinkat(int dirfd, const char *path, int flags);
ANYK_API int anyk_sys_rename(const char *from, const char *to);
ANYK_API int anyk_sys_renameat(int fromfd, const char *from, int tofd, const char *to);
ANYK_API int anyk_sys_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags);
ANYK_API int anyk_sys_link(const char *from, const char *to);
ANYK_API int anyk_sys_linkat(int fromfd, const char *from, int tofd, const char *to, int flags);
ANYK_API int anyk_sys_symlink(const char *target, const char *path);
ANYK_API int anyk_sys_symlinkat(const char *target, int dirfd, const char *path);
ANYK_API anyk_ssize_t anyk_sys_readlink(const char *path, char *buf, size_t n);
ANYK_API anyk_ssize_t anyk_sys_readlinkat(int dirfd, const char *path, char *buf, size_t n);
/* Fill buf with struct anyk_dirent records; 0 at end of directory. */
ANYK_API anyk_ssize_t anyk_sys_getdents(int fd, void *buf, size_t n);
ANYK_API int anyk_sys_chmod(const char *path, anyk_mode_t mode);
ANYK_API int anyk_sys_fchmod(int fd, anyk_mode_t mode);
ANYK_API int anyk_sys_fchmodat(int dirfd, const char *path, anyk_mode_t mode, int flags);
/* (anyk_uid_t)-1 / (anyk_gid_t)-1 leave the owner or group unchanged. */
ANYK_API int anyk_sys_chown(const char *path, anyk_uid_t uid, anyk_gid_t gid);
ANYK_API int anyk_sys_fchown(int fd, anyk_uid_t uid, anyk_gid_t gid);
ANYK_API int anyk_sys_lchown(const char *path, anyk_uid_t uid, anyk_gid_t gid);
ANYK_API int anyk_sys_fchownat(int dirfd, const char *path, anyk_uid_t uid, anyk_gid_t gid, int flags);
/* times NULL: both now; tv_nsec ANYK_UTIME_NOW / ANYK_UTIME_OMIT as POSIX. */
ANYK_API int anyk_sys_utimensat(int dirfd, const char *path, const struct anyk_timespec times[2], int flags);
ANYK_API int anyk_sys_futimens(int fd, const struct anyk_timespec times[2]);
/* Set a file's flags (ANYK_FL_*; read them in st_flags). flags:
 * ANYK_AT_SYMLINK_NOFOLLOW. EPERM: not the owner, or a change to
 * IMMUTABLE or APPEND by anyone but root; EOPNOTSUPP: a flag the file
 * system does not keep. */
ANYK_API int anyk_sys_chflagsat(int dirfd, const char *path, uint32_t fflags, int flags);
ANYK_API int anyk_sys_fchflags(int fd, uint32_t fflags);
/* Set a file's project id (st_projid), which its project quota counts it
 * in: the owner's or root's to change. flags: ANYK_AT_SYMLINK_NOFOLLOW.
 * EOPNOTSUPP: the file system keeps no project ids (0 is accepted);
 * EOVERFLOW: this inode has no room for one. */
ANYK_API int anyk_sys_setprojidat(int dirfd, const char *path, uint32_t projid, int flags);
ANYK_API int anyk_sys_fsetprojid(int fd, uint32_t projid);
ANYK_API int anyk_sys_truncate(const char *path, anyk_off_t len);
ANYK_API int anyk_sys_ftruncate(int fd, anyk_off_t len);
ANYK_API int anyk_sys_fallocate(int fd, int mode, anyk_off_t off, anyk_off_t len);
ANYK_API int anyk_sys_fsync(int fd);
ANYK_API int anyk_sys_fdatasync(int fd);
ANYK_API int anyk_sys_sync(void);
/* Extended attributes, as Linux: name is "user.x", "trusted.x",
 * "security.x" or "system.posix_acl_access"/"_default"; size 0 asks for the
 * size needed; the l* forms do not follow a final symlink. flags:
 * ANYK_XATTR_CREATE / ANYK_XATTR_REPLACE. */
ANYK_API anyk_ssize_t anyk_sys_getxattr(const char *path, const char *name, void *value, size_t size);
ANYK_API anyk_ssize_t anyk_sys_lgetxattr(const char *path, const char *name, void *value, size_t size);
ANYK_API anyk_ssize_t anyk_sys_fgetxattr(int fd, const char *name, void *value, size_t size);
ANYK_API int anyk_sys_setxattr(const char *path, const char *name, const void *value, size_t size, int flags);
ANYK_API int anyk_sys_lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags);
ANYK_API int anyk_sys_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);
/* NUL-terminated names, one after another. */
ANYK_API anyk_ssize_t anyk_sys_listxattr(const char *path, char *list, size_t size);
ANYK_API anyk_ssize_t anyk_sys_llistxattr(const char *path, char *list, size_t size);
ANYK_API anyk_ssize_t anyk_sys_flistxattr(int fd, char *list, size_t size);
ANYK_API int anyk_sys_removexattr(const char *path, const char *name);
ANYK_API int anyk_sys_lremovexattr(const char *path, const char *name);
ANYK_API int anyk_sys_fremovexattr(int fd, const char *name);
ANYK_API int anyk_sys_chdir(const char *path);
ANYK_API int anyk_sys_fchdir(int fd);
ANYK_API char *anyk_sys_getcwd(char *buf, size_t n);
ANYK_API int anyk_sys_chroot(const char *path);
ANYK_API int anyk_sys_dup(int fd);
ANYK_API int anyk_sys_dup2(int fd, int newfd);
ANYK_API int anyk_sys_dup3(int fd, int newfd, int flags);
ANYK_API int anyk_sys_fcntl(int fd, int cmd, long arg);
ANYK_API int anyk_sys_pipe(int fds[2]);
ANYK_API int anyk_sys_pipe2(int fds[2], int flags);
ANYK_API int anyk_sys_mknod(const char *path, anyk_mode_t mode, anyk_dev_t dev);
ANYK_API int anyk_sys_mknodat(int dirfd, const char *path, anyk_mode_t mode, anyk_dev_t dev);
/* options: comma-separated, file-system specific ("size=64m", "ro", ...). */
ANYK_API int anyk_sys_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *options);
ANYK_API int anyk_sys_unmount(const char *target, int flags);
ANYK_API int anyk_sys_statvfs(const char *path, struct anyk_statvfs *st);
ANYK_API int anyk_sys_fstatvfs(int fd, struct anyk_statvfs *st);
ANYK_API anyk_mode_t anyk_sys_umask(anyk_mode_t mask);
ANYK_API anyk_pid_t anyk_sys_getpid(void);
ANYK_API anyk_uid_t anyk_sys_getuid(void);
ANYK_API anyk_uid_t anyk_sys_geteuid(void);
ANYK_API anyk_gid_t anyk_sys_getgid(void);
ANYK_API anyk_gid_t anyk_sys_getegid(void);
ANYK_API int anyk_sys_setuid(anyk_uid_t uid);
ANYK_API int anyk_sys_setgid(anyk_gid_t gid);
ANYK_API int anyk_sys_setgroups(size_t n, const anyk_gid_t *groups);
ANYK_API int anyk_sys_getgroups(int n, anyk_gid_t *groups);

#ifdef __cplusplus
}
#endif
#endif /* ANYK_ANYK_H */
