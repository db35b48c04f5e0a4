/*
 * VOP_* dispatch: call the file system through the vnode's operation table.
 * A missing entry answers EOPNOTSUPP (ENOTSUP for extended attributes).
 * v_op is read atomically: a forced unmount swaps it for the dead table.
 */
#include "vfs/vfs_impl.h"

static inline const struct vnodeops *vop(const struct vnode *vp)
{
	return atomic_load_relaxed(&vp->v_op);
}

#define VOP_CALL(vp, op, ...) \
	(vop(vp)->op != NULL ? vop(vp)->op(__VA_ARGS__) : EOPNOTSUPP)

int VOP_LOOKUP(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp)
{
	return VOP_CALL(dvp, vop_lookup, dvp, name, namelen, vpp);
}

int VOP_CREATE(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return VOP_CALL(dvp, vop_create, dvp, name, namelen, va, vpp);
}

int VOP_MKDIR(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return VOP_CALL(dvp, vop_mkdir, dvp, name, namelen, va, vpp);
}

int VOP_SYMLINK(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va,
		const char *target, struct vnode **vpp)
{
	return VOP_CALL(dvp, vop_symlink, dvp, name, namelen, va, target, vpp);
}

int VOP_MKNOD(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return VOP_CALL(dvp, vop_mknod, dvp, name, namelen, va, vpp);
}

int VOP_REMOVE(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return VOP_CALL(dvp, vop_remove, dvp, vp, name, namelen);
}

int VOP_RMDIR(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return VOP_CALL(dvp, vop_rmdir, dvp, vp, name, namelen);
}

int VOP_LINK(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return VOP_CALL(dvp, vop_link, dvp, vp, name, namelen);
}

int VOP_RENAME(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen,
	       struct vnode *tdvp, struct vnode *tvp, const char *tname, size_t tnamelen,
	       unsigned flags, struct vattr *wva)
{
	return VOP_CALL(fdvp, vop_rename, fdvp, fvp, fname, fnamelen, tdvp, tvp, tname, tnamelen, flags, wva);
}

int VOP_READDIR(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	return VOP_CALL(vp, vop_readdir, vp, cookie, fill, ctx);
}

int VOP_READLINK(struct vnode *vp, struct uio *uio)
{
	return VOP_CALL(vp, vop_readlink, vp, uio);
}

int VOP_GETATTR(struct vnode *vp, struct vattr *va)
{
	return VOP_CALL(vp, vop_getattr, vp, va);
}

int VOP_SETATTR(struct vnode *vp, struct vattr *va)
{
	return VOP_CALL(vp, vop_setattr, vp, va);
}

int VOP_READ(struct vnode *vp, struct uio *uio, int ioflag)
{
	return VOP_CALL(vp, vop_read, vp, uio, ioflag);
}

int VOP_WRITE(struct vnode *vp, struct uio *uio, int ioflag)
{
	return VOP_CALL(vp, vop_write, vp, uio, ioflag);
}

int VOP_SEEK(struct vnode *vp, int whence, anyk_off_t *offp)
{
	return VOP_CALL(vp, vop_seek, vp, whence, offp);
}

int VOP_FALLOCATE(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len)
{
	return VOP_CALL(vp, vop_fallocate, vp, mode, off, len);
}

int VOP_FSYNC(struct vnode *vp, int flags)
{
	/* A file system without fsync has nothing to flush. */
	if (vop(vp)->vop_fsync == NULL)
		return 0;
	return vop(vp)->vop_fsync(vp, flags);
}

int VOP_OPEN(struct vnode *vp, int fflags)
{
	if (vop(vp)->vop_open == NULL)
		return 0;
	return vop(vp)->vop_open(vp, fflags);
}

int VOP_CLOSE(struct vnode *vp, int fflags)
{
	if (vop(vp)->vop_close == NULL)
		return 0;
	return vop(vp)->vop_close(vp, fflags);
}

#define VOP_XCALL(vp, op, ...) \
	(vop(vp)->op != NULL ? vop(vp)->op(__VA_ARGS__) : ENOTSUP)

int VOP_GETXATTR(struct vnode *vp, const char *name, void *buf, size_t *sizep)
{
	return VOP_XCALL(vp, vop_getxattr, vp, name, buf, sizep);
}

int VOP_SETXATTR(struct vnode *vp, const char *name, const void *buf, size_t size, int flags)
{
	return VOP_XCALL(vp, vop_setxattr, vp, name, buf, size, flags);
}

int VOP_LISTXATTR(struct vnode *vp, char *buf, size_t *sizep)
{
	return VOP_XCALL(vp, vop_listxattr, vp, buf, sizep);
}

int VOP_REMOVEXATTR(struct vnode *vp, const char *name)
{
	return VOP_XCALL(vp, vop_removexattr, vp, name);
}
