/*
 * The virtual file system: vnodes and their operations, mounts and file
 * system types, path lookup, permission checks, open files and descriptor
 * tables, I/O descriptors (uio) and the device switch.
 *
 * File systems plug in through struct vfsops (one per type) and struct
 * vnodeops (per vnode type); the VFS never knows which one it talks to.
 *
 * Vnode locking protocol — the VFS (callers of VOP_*) takes the locks, file
 * systems rely on them and take only their own internal locks:
 *   VOP_LOOKUP, VOP_READDIR, VOP_READLINK, VOP_GETATTR, VOP_READ, VOP_SEEK:
 *       vp (or dvp) locked shared or exclusive;
 *   VOP_WRITE, VOP_SETATTR, VOP_FSYNC, VOP_FALLOCATE, VOP_GETXATTR..: vp
 *       exclusive
 *       (getxattr/listxattr may be shared);
 *   VOP_CREATE, VOP_MKDIR, VOP_SYMLINK, VOP_MKNOD: dvp exclusive;
 *   VOP_REMOVE, VOP_RMDIR, VOP_LINK: dvp and vp exclusive (dvp first);
 *   VOP_RENAME: the mount's rename lock, then fdvp and tdvp (ancestor first,
 *       else by address; once if equal), then fvp and tvp (by address), all
 *       exclusive;
 *   VOP_OPEN, VOP_CLOSE: unlocked;
 *   VOP_INACTIVE: exclusive, no other references; VOP_RECLAIM: no references.
 * Returned vnodes (*vpp) are referenced and unlocked.
 */
#ifndef ANYK_VFS_VFS_H
#define ANYK_VFS_VFS_H

#include "kern/kernel.h"

struct mount;
struct vnode;
struct file;
struct uio;

/* --- vnodes ------------------------------------------------------------------- */

enum vtype { VNON, VREG, VDIR, VBLK, VCHR, VLNK, VSOCK, VFIFO, VBAD };

/* Attributes; va_mask says which ones VOP_SETATTR is to change. */
#define VA_MODE 0x01
#define VA_UID 0x02
#define VA_GID 0x04
#define VA_SIZE 0x08
#define VA_ATIME 0x10
#define VA_MTIME 0x20
#define VA_CTIME 0x40
#define VA_BTIME 0x80
#define VA_PROJID 0x200 /* va_projid; EOPNOTSUPP where no project ids are kept (but 0) */
#define VA_FLAGS 0x100 /* va_flags: ANYK_FL_*; the file system says EOPNOTSUPP to what it cannot keep */
struct vattr {
	unsigned va_mask;
	enum vtype va_type;
	anyk_mode_t va_mode; /* permission bits incl. S_ISUID/S_ISGID/S_ISVTX, no type */
	uint64_t va_nlink;
	anyk_uid_t va_uid;
	anyk_gid_t va_gid;
	uint64_t va_fsid;
	uint64_t va_ino;
	anyk_off_t va_size;
	uint64_t va_bytes;   /* bytes allocated */
	uint32_t va_blksize; /* preferred I/O size */
	anyk_dev_t va_rdev;
	uint32_t va_flags;
	uint32_t va_projid;
	struct anyk_timespec va_atime, va_mtime, va_ctime, va_btime;
};
void vattr_null(struct vattr *va);

/* VOP_RENAME flags. */
#define VRENAME_EXCHANGE 0x1 /* swap fvp and tvp (both exist) */
#define VRENAME_WHITEOUT 0x2 /* fname then names a new whiteout: a character
			      * device 0/0, mode 0, owned as wva says */

/* Cookie a directory's readdir returns at its end. */
#define DIRCOOKIE_EOF INT64_MAX

/* Directory reading: VOP_READDIR calls fill() for each entry from cookie on,
 * in order, until fill returns nonzero (buffer full); an entry's next cookie
 * is where reading resumes after it. "." and ".." are reported by the file
 * system (cookies 0 and 1 by convention). */
typedef int (*readdir_fill_fn)(void *ctx, const char *name, size_t namelen,
			       uint64_t ino, uint8_t dtype, int64_t nextcookie);

struct vnodeops {
	/* dvp: a directory; name: one component (not "" nor containing '/').
	 * ".." and "." are passed to the file system. ENOENT if absent. */
	int (*vop_lookup)(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp);
	/* Create; va carries type, mode (already masked by umask), uid, gid,
	 * rdev. EEXIST handling is the VFS's (it looked up first). */
	int (*vop_create)(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp);
	int (*vop_mkdir)(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp);
	int (*vop_symlink)(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target, struct vnode **vpp);
	int (*vop_mknod)(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp);
	int (*vop_remove)(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen);
	/* The file system checks that vp is empty (ENOTEMPTY); the VFS has
	 * rejected "." and mount points. */
	int (*vop_rmdir)(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen);
	int (*vop_link)(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen);
	/* tvp is the existing target or NULL; the VFS has already checked the
	 * type combinations (EISDIR/ENOTDIR), that neither fvp nor (for an
	 * exchange) tvp is an ancestor of the other's directory (EINVAL), and
	 * that fvp != tvp. The file system checks tvp empty (not for an
	 * exchange) and the link limits. flags: VRENAME_*; with
	 * VRENAME_WHITEOUT, wva gives the owner of the whiteout left at fname. */
	int (*vop_rename)(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen,
			  struct vnode *tdvp, struct vnode *tvp, const char *tname, size_t tnamelen,
			  unsigned flags, struct vattr *wva);
	int (*vop_readdir)(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx);
	/* Copy the target into the uio (at most uio_resid bytes, no NUL). */
	int (*vop_readlink)(struct vnode *vp, struct uio *uio);
	int (*vop_getattr)(struct vnode *vp, struct vattr *va);
	/* Change the fields in va->va_mask; the VFS has checked permissions. */
	int (*vop_setattr)(struct vnode *vp, struct vattr *va);
	/* ioflag: IO_APPEND (write at end of file, under the vnode lock), IO_SYNC. */
	int (*vop_read)(struct vnode *vp, struct uio *uio, int ioflag);
	int (*vop_write)(struct vnode *vp, struct uio *uio, int ioflag);
	/* SEEK_DATA / SEEK_HOLE: *offp in, result out; ENXIO past the end.
	 * NULL: the whole file is data. */
	int (*vop_seek)(struct vnode *vp, int whence, anyk_off_t *offp);
	int (*vop_fsync)(struct vnode *vp, int flags); /* FSYNC_DATAONLY */
	/* May be NULL (EOPNOTSUPP). vp exclusive, a regular file; the VFS
	 * has checked the mode (0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE or
	 * ZERO_RANGE[|KEEP_SIZE]), off >= 0, len > 0 and off + len without
	 * overflow, and sets mtime and ctime after success. The file system
	 * allocates, punches or zeroes, and grows the size unless KEEP_SIZE. */
	int (*vop_fallocate)(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len);
	/* May be NULL. Called on open(2) and on the last close of that file. */
	int (*vop_open)(struct vnode *vp, int fflags);
	int (*vop_close)(struct vnode *vp, int fflags);
	/* Last reference gone. Set *recycle to have the vnode reclaimed now
	 * (e.g. it was unlinked), else it stays cached until evicted. */
	int (*vop_inactive)(struct vnode *vp, bool *recycle);
	/* Free the file system's per-vnode data (v_data); no references left. */
	int (*vop_reclaim)(struct vnode *vp);
	/* Extended attributes (may be NULL: ENOTSUP). name includes the
	 * namespace prefix ("user.x"). get: *sizep in = buffer size (0: query),
	 * out = value size; list: NUL-separated names. */
	int (*vop_getxattr)(struct vnode *vp, const char *name, void *buf, size_t *sizep);
	int (*vop_setxattr)(struct vnode *vp, const char *name, const void *buf, size_t size, int flags);
	int (*vop_listxattr)(struct vnode *vp, char *buf, size_t *sizep);
	int (*vop_removexattr)(struct vnode *vp, const char *name);
};
#define IO_APPEND 0x1
#define IO_SYNC 0x2
#define IO_NODELOCKED 0x4
#define FSYNC_DATAONLY 0x1

#define VV_ROOT 0x1   /* root of its file system */
#define VV_DEAD 0x2   /* forcibly unmounted: every operation fails */
#define VV_CACHED 0x4 /* in the vnode cache (private to vfs/vnode.c) */

struct vnode {
	uint32_t v_usecount;             /* references (atomic) */
	enum vtype v_type;               /* immutable once loaded */
	unsigned v_vflag;                /* VV_* */
	struct mount *v_mount;
	const struct vnodeops *v_op;
	void *v_data;                    /* file system's node */
	uint64_t v_key;                  /* vnode cache key within v_mount */
	krwlock_t v_lock;                /* see the protocol above */
	struct mount *v_mountedhere;     /* mount covering this directory */
	anyk_dev_t v_rdev;               /* VCHR/VBLK: device */
	void *v_fifo;                    /* VFIFO: the pipe (dev/pipe.c) */
	uint8_t v_acl, v_dacl;           /* has an access, a default ACL? (vfs/acl.c) */
	/* Private to vfs/vnode.c: */
	struct hnode v_hash;
	struct dlist v_lru;
	struct dlist v_mntlist;
	int v_state;
};

void vref(struct vnode *vp);
/* Drop a reference; the last one makes the vnode inactive (cached). */
void vrele(struct vnode *vp);
static inline void vn_lock(struct vnode *vp, int op) { rw_enter(&vp->v_lock, op); }
static inline void vn_unlock(struct vnode *vp) { rw_exit(&vp->v_lock); }
/* vrele and unlock in one call (common pattern at the end of an op). */
void vput(struct vnode *vp);

/* The vnode cache: one vnode per (mount, key). If absent, a vnode is made
 * and mp's vfs_loadvnode fills it. *vpp referenced, unlocked. */
int vcache_get(struct mount *mp, uint64_t key, struct vnode **vpp);
/* For a newly created node: like vcache_get, but the caller already knows
 * the node is new (the file system passes its node through *arg). */
int vcache_new(struct mount *mp, uint64_t key, void *arg, struct vnode **vpp);

/* VOP_* call the file system through the vnode's operation table; a NULL
 * entry answers EOPNOTSUPP (ENOTSUP for xattrs). */
int VOP_LOOKUP(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp);
int VOP_CREATE(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp);
int VOP_MKDIR(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp);
int VOP_SYMLINK(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target, struct vnode **vpp);
int VOP_MKNOD(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp);
int VOP_REMOVE(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen);
int VOP_RMDIR(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen);
int VOP_LINK(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen);
int VOP_RENAME(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen,
	       struct vnode *tdvp, struct vnode *tvp, const char *tname, size_t tnamelen,
	       unsigned flags, struct vattr *wva);
int VOP_READDIR(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx);
int VOP_READLINK(struct vnode *vp, struct uio *uio);
int VOP_GETATTR(struct vnode *vp, struct vattr *va);
int VOP_SETATTR(struct vnode *vp, struct vattr *va);
int VOP_READ(struct vnode *vp, struct uio *uio, int ioflag);
int VOP_WRITE(struct vnode *vp, struct uio *uio, int ioflag);
int VOP_SEEK(struct vnode *vp, int whence, anyk_off_t *offp);
int VOP_FSYNC(struct vnode *vp, int flags);
int VOP_FALLOCATE(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len);
int VOP_OPEN(struct vnode *vp, int fflags);
int VOP_CLOSE(struct vnode *vp, int fflags);
int VOP_GETXATTR(struct vnode *vp, const char *name, void *buf, size_t *sizep);
int VOP_SETXATTR(struct vnode *vp, const char *name, const void *buf, size_t size, int flags);
int VOP_LISTXATTR(struct vnode *vp, char *buf, size_t *sizep);
int VOP_REMOVEXATTR(struct vnode *vp, const char *name);

/* --- I/O descriptors ------------------------------------------------------------ */

enum uio_rw { UIO_READ, UIO_WRITE };
struct uio {
	struct anyk_iovec *uio_iov; /* advanced as data moves */
	int uio_iovcnt;
	anyk_off_t uio_offset;
	size_t uio_resid;
	enum uio_rw uio_rw;
	/* 0: the data is in uio_iov. Else the program's host stream (its
	 * descriptor + 1) that a read writes the data to or a write reads it
	 * from (anyk_sys_pread_host, anyk_sys_pwrite_host); uio_iov is then
	 * unused. Only regular files' read and write see such a uio: they
	 * move bulk data with bdev_splice and the rest with uiomove. */
	int uio_stream;
};
static inline int uio_stream_fd(const struct uio *uio) { return uio->uio_stream - 1; }
/* Move up to n bytes between kernel buffer kbuf and the uio (direction by
 * uio_rw: UIO_READ copies kbuf out to the caller), advancing it. For a
 * stream, fewer than n bytes arriving is EPIPE. */
int uiomove(void *kbuf, size_t n, struct uio *uio);
/* A stream uio: account for n bytes moved outside uiomove (bdev_splice). */
void uio_stream_moved(struct uio *uio, size_t n);
/* Fill n zero bytes into a UIO_READ uio (holes). */
int uiozero(size_t n, struct uio *uio);
/* A one-segment uio over a kernel buffer. */
void uio_init_kernel(struct uio *uio, struct anyk_iovec *iov, void *buf, size_t len,
		     anyk_off_t off, enum uio_rw rw);

/* --- mounts and file system types --------------------------------------------------- */

struct vfsops {
	const char *vfs_name; /* "tmpfs", "ext2", ... */
	/* Set up mp (mnt_data, statistics) from source (a device path, or
	 * anything for virtual file systems) and options; return the root vnode
	 * referenced in *rootvp. MNT_RDONLY is in mp->mnt_flag. */
	int (*vfs_mount)(struct mount *mp, const char *source, const char *options, struct vnode **rootvp);
	/* Called with no vnode of mp in use but the root (the VFS checked, or
	 * forced them dead); flush and free everything, including the root
	 * vnode's v_data: the VFS then discards the root vnode without calling
	 * VOP_RECLAIM on it. */
	int (*vfs_unmount)(struct mount *mp, int mntflags);
	int (*vfs_statvfs)(struct mount *mp, struct anyk_statvfs *st);
	int (*vfs_sync)(struct mount *mp, bool wait);
	/* Fill vp for cache key: v_type, v_op, v_data, v_rdev. arg is what
	 * vcache_new passed (NULL from vcache_get). */
	int (*vfs_loadvnode)(struct mount *mp, struct vnode *vp, uint64_t key, void *arg);
	struct dlist vfs_link; /* private to vfs/mount.c */
};
/* Make a file system type available to mount(2). */
int vfs_register(struct vfsops *ops);

struct mount {
	const struct vfsops *mnt_op;
	struct vnode *mnt_vnodecovered; /* referenced; NULL for the root mount */
	struct vnode *mnt_root;         /* referenced */
	int mnt_flag;                   /* ANYK_MNT_* */
	void *mnt_data;                 /* file system's */
	uint64_t mnt_fsid;
	kmutex_t mnt_renamelock;
	char mnt_fstype[16];
	char mnt_from[64];
	char mnt_on[ANYK_PATH_MAX];
	/* Private to vfs/mount.c and vfs/vnode.c: */
	uint32_t mnt_ref;
	int mnt_state;
	kmutex_t mnt_vnlock;
	struct dlist mnt_vnodes;
	struct dlist mnt_link;
};

/* Mount fstype at the directory vp (referenced by the caller, kept by the
 * mount on success); vp NULL: the root mount. */
int vfs_mount(struct vnode *vp, const char *fstype, const char *source, int flags,
	      const char *options, const char *onpath);
int vfs_unmount(struct mount *mp, int flags);
/* Sync every mount (sync(2)) and unmount everything (anyk_fini); with
 * keep_root, everything but the root file system (so that shutdown hooks
 * can still use the namespace, e.g. to remove device nodes). */
int vfs_sync_all(bool wait);
int vfs_unmount_all(bool keep_root);
/* The root vnode of the whole namespace, referenced. */
struct vnode *vfs_rootvnode(void);
bool vfs_readonly(const struct vnode *vp);
/* Options: find "key" or "key=value" in a comma-separated list. */
bool vfs_opt_get(const char *options, const char *key, char *val, size_t vallen);

/* --- path lookup ------------------------------------------------------------------- */

#define NI_FOLLOW 0x1     /* follow a symlink in the last component */
#define NI_EMPTYPATH 0x2  /* "" names the start directory (AT_EMPTY_PATH) */

/* Resolve path relative to dirfd (ANYK_AT_FDCWD: cwd; absolute: the
 * process's root). Symlinks in the middle are followed (at most
 * ANYK_SYMLOOP_MAX in all: ELOOP), ".." never leaves the process's root and
 * crosses mount points upward, mounted-on directories are crossed downward.
 * A trailing slash requires a directory (ENOTDIR). Errors: ENOENT, ENOTDIR,
 * ELOOP, ENAMETOOLONG (path >= PATH_MAX or a component > NAME_MAX), EACCES
 * (search permission), EBADF/ENOTDIR for dirfd. */
int namei(int dirfd, const char *path, int flags, struct vnode **vpp);
/* The same from a start vnode instead of a descriptor (NULL: cwd). */
int namei_at(struct vnode *start, const char *path, int flags, struct vnode **vpp);

/* Resolve everything but the last component. nd->ni_dvp is the parent
 * (referenced, unlocked), ni_name the last component. The caller locks the
 * parent and looks the name up itself (VOP_LOOKUP), so that check and
 * change happen under one lock. Special last components: "/" alone gives
 * ni_isroot (name empty); "." and ".." give ni_isdot. A trailing slash sets
 * ni_slash. */
struct nameidata {
	struct vnode *ni_dvp;
	char ni_name[ANYK_NAME_MAX + 1];
	size_t ni_namelen;
	bool ni_slash;
	bool ni_isdot;
	bool ni_isroot;
	int ni_loops; /* symlinks followed so far (for callers that continue) */
};
int namei_parent(int dirfd, const char *path, int flags, struct nameidata *nd);
int namei_parent_at(struct vnode *start, const char *path, int flags, struct nameidata *nd);
void nameidata_release(struct nameidata *nd);

/* Build the path of vp as seen from the process's root (getcwd). */
int vn_getpath(struct vnode *vp, char *buf, size_t len);

/* --- permissions ---------------------------------------------------------------------- */

#define VREAD 04
#define VWRITE 02
#define VEXEC 01
/* POSIX access check of va's owner/group/mode against cred (root passes
 * except exec without any x bit). */
/* POSIX ACLs as the xattr calls carry them (system.posix_acl_access and
 * _default): a 32-bit version, then 8-byte entries of a 16-bit tag, a
 * 16-bit permission set and a 32-bit id, little-endian (vfs/acl.c). */
#define POSIX_ACL_XATTR_VERSION 2
#define ACL_UNDEFINED_ID 0xffffffffu
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20

int vfs_access_va(const struct vattr *va, const struct cred *cred, int mode);
/* The same for vp (locked), whose attributes are va: its access ACL, if it
 * has one, decides for everyone but the owner and root (vfs/acl.c). An
 * immutable node refuses VWRITE to everyone: EPERM. */
int vfs_access_vn(struct vnode *vp, const struct vattr *va, const struct cred *cred, int mode);
/* The same for a vnode (locked or not): getattr + check; EROFS for VWRITE on
 * a read-only mount for regular files, directories and symlinks. */
int vfs_access(struct vnode *vp, const struct cred *cred, int mode);
/* vfs_access for opening vp with open flags oflags (ANYK_O_*): also EPERM
 * for writing an append-only file without O_APPEND, or truncating it. */
int vfs_open_access(struct vnode *vp, const struct cred *cred, int mode, int oflags);
/* Sticky directory rule: may cred remove/rename vp out of dvp? 0 or EPERM. */
int vfs_sticky_check(const struct vattr *dva, const struct vattr *va, const struct cred *cred);
/* The file flags' rule for removing or replacing the name of vp (va) in
 * dvp (dva): not from an append-only directory, not an immutable or an
 * append-only node. 0 or EPERM. */
int vfs_delete_flags(const struct vattr *dva, const struct vattr *va);
/* EPERM for a change of the attributes, data or extended attributes of a
 * node with flags va: immutable refuses every one, append-only every one
 * but appending (append true). */
static inline int vfs_change_flags(const struct vattr *va, bool append)
{
	if ((va->va_flags & ANYK_FL_IMMUTABLE) || (!append && (va->va_flags & ANYK_FL_APPEND)))
		return EPERM;
	return 0;
}

/* --- open files and descriptor tables -------------------------------------------------- */

struct fileops {
	int (*fo_read)(struct file *fp, struct uio *uio, int flags);   /* FOF_OFFSET */
	int (*fo_write)(struct file *fp, struct uio *uio, int flags);
	int (*fo_stat)(struct file *fp, struct anyk_stat *st);
	int (*fo_seek)(struct file *fp, anyk_off_t off, int whence, anyk_off_t *newoff); /* NULL: ESPIPE */
	int (*fo_close)(struct file *fp); /* last reference */
};
#define FOF_OFFSET 0x1 /* use uio_offset as given (pread), do not update f_offset */

struct file {
	uint32_t f_ref;       /* descriptors and in-flight calls (atomic) */
	int f_flag;           /* ANYK_O_ access mode and status flags */
	const struct fileops *f_ops;
	struct vnode *f_vnode; /* referenced, or NULL */
	void *f_data;
	kmutex_t f_lock;      /* guards f_offset and f_flag changes */
	anyk_off_t f_offset;
};
int file_alloc(struct file **fpp); /* f_ref = 1 */
void file_hold(struct file *fp);
void file_release(struct file *fp);

/* Descriptor tables (kern/descrip.c). */
int fd_table_create(struct filedesc **fdpp);
/* Copy for a new process; with exec true, close-on-exec descriptors are left out. */
int fd_table_copy(struct filedesc *src, bool exec, struct filedesc **fdpp);
void fd_table_free(struct filedesc *fdp);
/* Look up fd in the current process: a held file (file_release it) or EBADF. */
int fd_getfile(int fd, struct file **fpp);
/* Install fp (its reference is taken over on success) at the lowest free
 * descriptor >= minfd; EMFILE if none. */
int fd_alloc(struct file *fp, int minfd, bool cloexec, int *fdp);
int fd_close(int fd);

/* --- devices ------------------------------------------------------------------------------- */

/* Character and block devices plug in through the device switch, found by
 * the major number of the vnode's v_rdev. A block device's read/write take
 * byte offsets in the uio and must be sector-aligned only if the device says
 * so (d_align); the block layer handles that for disks. */
struct devsw {
	const char *d_name;
	int d_type; /* VCHR or VBLK */
	int (*d_open)(anyk_dev_t dev, int fflags);
	int (*d_close)(anyk_dev_t dev, int fflags);
	int (*d_read)(anyk_dev_t dev, struct uio *uio, int ioflag);
	int (*d_write)(anyk_dev_t dev, struct uio *uio, int ioflag);
	int (*d_size)(anyk_dev_t dev, anyk_off_t *sizep); /* may be NULL */
	int (*d_fsync)(anyk_dev_t dev);                    /* may be NULL */
};
/* Register a device switch; *majorp receives its major number. */
int devsw_attach(const struct devsw *sw, uint32_t *majorp);
void devsw_detach(uint32_t major);
const struct devsw *devsw_lookup(anyk_dev_t dev);
/* Create / remove a device node in the kernel's namespace (e.g. "/dev/sd0"),
 * as root, replacing nothing (EEXIST). */
int devnode_create(const char *path, enum vtype type, anyk_dev_t dev, anyk_mode_t mode);
int devnode_remove(const char *path);

/* Opening special files: the VFS routes open() of VCHR/VBLK to the device
 * switch and of VFIFO to dev/pipe.c. */
extern const struct fileops specfileops; /* vfs/spec.c */
int fifo_open(struct vnode *vp, int fflags, struct file *fp); /* dev/pipe.c: fills fp */

/* --- conversions ------------------------------------------------------------------------------ */

static inline anyk_mode_t vtype_to_ifmt(enum vtype t)
{
	switch (t) {
	case VREG: return ANYK_S_IFREG;
	case VDIR: return ANYK_S_IFDIR;
	case VLNK: return ANYK_S_IFLNK;
	case VBLK: return ANYK_S_IFBLK;
	case VCHR: return ANYK_S_IFCHR;
	case VSOCK: return ANYK_S_IFSOCK;
	case VFIFO: return ANYK_S_IFIFO;
	default: return 0;
	}
}
static inline enum vtype ifmt_to_vtype(anyk_mode_t m)
{
	switch (m & ANYK_S_IFMT) {
	case ANYK_S_IFREG: return VREG;
	case ANYK_S_IFDIR: return VDIR;
	case ANYK_S_IFLNK: return VLNK;
	case ANYK_S_IFBLK: return VBLK;
	case ANYK_S_IFCHR: return VCHR;
	case ANYK_S_IFSOCK: return VSOCK;
	case ANYK_S_IFIFO: return VFIFO;
	default: return VNON;
	}
}
static inline uint8_t vtype_to_dtype(enum vtype t)
{
	switch (t) {
	case VREG: return ANYK_DT_REG;
	case VDIR: return ANYK_DT_DIR;
	case VLNK: return ANYK_DT_LNK;
	case VBLK: return ANYK_DT_BLK;
	case VCHR: return ANYK_DT_CHR;
	case VSOCK: return ANYK_DT_SOCK;
	case VFIFO: return ANYK_DT_FIFO;
	default: return ANYK_DT_UNKNOWN;
	}
}
void vattr_to_stat(const struct vattr *va, struct anyk_stat *st);

#endif /* ANYK_VFS_VFS_H */
