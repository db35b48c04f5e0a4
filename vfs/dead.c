/*
 * Operations of dead vnodes: those of a forcibly unmounted file system that
 * were still referenced. Every operation fails (EIO; EBADF for I/O through
 * a descriptor, as a revoked file); inactive asks to be recycled.
 */
#include "vfs/vfs_impl.h"

/* Stands in for the freed mount of a dead vnode: read-only, no operations. */
struct mount dead_mount = { .mnt_flag = ANYK_MNT_RDONLY, .mnt_fstype = "dead" };

static int dead_lookup(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp) { return EIO; }
static int dead_create(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp) { return EIO; }
static int dead_symlink(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target, struct vnode **vpp) { return EIO; }
static int dead_remove(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen) { return EIO; }
static int dead_rename(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen,
		       struct vnode *tdvp, struct vnode *tvp, const char *tname, size_t tnamelen,
		       unsigned flags, struct vattr *wva) { return EIO; }
static int dead_readdir(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx) { return EIO; }
static int dead_readlink(struct vnode *vp, struct uio *uio) { return EIO; }
static int dead_getattr(struct vnode *vp, struct vattr *va) { return EIO; }
static int dead_setattr(struct vnode *vp, struct vattr *va) { return EIO; }
static int dead_rdwr(struct vnode *vp, struct uio *uio, int ioflag) { return EBADF; }
static int dead_seek(struct vnode *vp, int whence, anyk_off_t *offp) { return EIO; }
static int dead_fsync(struct vnode *vp, int flags) { return EIO; }
static int dead_open(struct vnode *vp, int fflags) { return EIO; }
static int dead_close(struct vnode *vp, int fflags) { return 0; }
static int dead_inactive(struct vnode *vp, bool *recycle) { *recycle = true; return 0; }
static int dead_reclaim(struct vnode *vp) { return 0; }
static int dead_getxattr(struct vnode *vp, const char *name, void *buf, size_t *sizep) { return EIO; }
static int dead_setxattr(struct vnode *vp, const char *name, const void *buf, size_t size, int flags) { return EIO; }
static int dead_listxattr(struct vnode *vp, char *buf, size_t *sizep) { return EIO; }
static int dead_removexattr(struct vnode *vp, const char *name) { return EIO; }

const struct vnodeops dead_vnodeops = {
	.vop_lookup = dead_lookup,
	.vop_create = dead_create,
	.vop_mkdir = dead_create,
	.vop_symlink = dead_symlink,
	.vop_mknod = dead_create,
	.vop_remove = dead_remove,
	.vop_rmdir = dead_remove,
	.vop_link = dead_remove,
	.vop_rename = dead_rename,
	.vop_readdir = dead_readdir,
	.vop_readlink = dead_readlink,
	.vop_getattr = dead_getattr,
	.vop_setattr = dead_setattr,
	.vop_read = dead_rdwr,
	.vop_write = dead_rdwr,
	.vop_seek = dead_seek,
	.vop_fsync = dead_fsync,
	.vop_open = dead_open,
	.vop_close = dead_close,
	.vop_inactive = dead_inactive,
	.vop_reclaim = dead_reclaim,
	.vop_getxattr = dead_getxattr,
	.vop_setxattr = dead_setxattr,
	.vop_listxattr = dead_listxattr,
	.vop_removexattr = dead_removexattr,
};
