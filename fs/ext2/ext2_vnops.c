/*
 * ext2 vnode operations. The VFS holds the vnode locks (vfs/vfs.h); this
 * first version of the driver is read-only, so every operation that would
 * change the file system answers EROFS, and the read operations change no
 * shared state and are safe under a shared lock.
 */
#include "fs/ext2/ext2.h"

static int
ext2_lookup(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	uint32_t ino;
	int error;

	if (dvp->v_type != VDIR)
		return ENOTDIR;
	if (namelen == 1 && name[0] == '.') {
		vref(dvp);
		*vpp = dvp;
		return 0;
	}
	if (namelen > ANYK_NAME_MAX)
		return ENAMETOOLONG;
	error = ext2_dir_lookup(em, VTOI(dvp), name, namelen, &ino);
	if (error)
		return error;
	if (ino == VTOI(dvp)->i_ino) {
		vref(dvp);
		*vpp = dvp;
		return 0;
	}
	return vcache_get(dvp->v_mount, ino, vpp);
}

static int
ext2_readdir(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	if (vp->v_type != VDIR)
		return ENOTDIR;
	return ext2_dir_readdir(VFSTOEXT2(vp->v_mount), VTOI(vp), cookie, fill, ctx);
}

static int
ext2_vop_readlink(struct vnode *vp, struct uio *uio)
{
	if (vp->v_type != VLNK)
		return EINVAL;
	return ext2_readlink(VFSTOEXT2(vp->v_mount), VTOI(vp), uio);
}

static int
ext2_getattr(struct vnode *vp, struct vattr *va)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);

	vattr_null(va);
	va->va_type = vp->v_type;
	va->va_mode = ip->i_mode & 07777;
	va->va_nlink = ip->i_nlink;
	va->va_uid = ip->i_uid;
	va->va_gid = ip->i_gid;
	va->va_fsid = vp->v_mount->mnt_fsid;
	va->va_ino = ip->i_ino;
	va->va_size = (anyk_off_t)ip->i_size;
	va->va_bytes = ip->i_blocks512 << 9;
	va->va_blksize = em->em_bsize;
	va->va_rdev = ip->i_rdev;
	va->va_flags = 0;
	va->va_atime = ip->i_atime;
	va->va_mtime = ip->i_mtime;
	va->va_ctime = ip->i_ctime;
	if (ip->i_has_crtime)
		va->va_btime = ip->i_crtime;
	return 0;
}

static int
ext2_vop_read(struct vnode *vp, struct uio *uio, int ioflag)
{
	if (vp->v_type == VDIR)
		return EISDIR;
	if (vp->v_type != VREG)
		return EINVAL;
	return ext2_read(VFSTOEXT2(vp->v_mount), VTOI(vp), uio);
}

static int
ext2_seek(struct vnode *vp, int whence, anyk_off_t *offp)
{
	if (vp->v_type != VREG)
		return EINVAL;
	return ext2_seek_data(VFSTOEXT2(vp->v_mount), VTOI(vp), whence, offp);
}

static int
ext2_getxattr_vop(struct vnode *vp, const char *name, void *buf, size_t *sizep)
{
	return ext2_getxattr(VFSTOEXT2(vp->v_mount), VTOI(vp), name, buf, sizep);
}

static int
ext2_listxattr_vop(struct vnode *vp, char *buf, size_t *sizep)
{
	return ext2_listxattr(VFSTOEXT2(vp->v_mount), VTOI(vp), buf, sizep);
}

static int
ext2_fsync(struct vnode *vp, int flags)
{
	return 0;
}

static int
ext2_inactive(struct vnode *vp, bool *recycle)
{
	*recycle = false;
	return 0;
}

/* Frees only the vnode's own inode copy: the mount may be gone already. */
static int
ext2_reclaim(struct vnode *vp)
{
	ext2_inode_free(VTOI(vp));
	vp->v_data = NULL;
	return 0;
}

/* The write side comes with the journal; until then the file system is
 * read-only whatever the mount flags say. */
static int
ro_create(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return EROFS;
}

static int
ro_symlink(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target,
	   struct vnode **vpp)
{
	return EROFS;
}

static int
ro_remove(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return EROFS;
}

static int
ro_rename(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen, struct vnode *tdvp,
	  struct vnode *tvp, const char *tname, size_t tnamelen)
{
	return EROFS;
}

static int
ro_setattr(struct vnode *vp, struct vattr *va)
{
	return EROFS;
}

static int
ro_write(struct vnode *vp, struct uio *uio, int ioflag)
{
	return EROFS;
}

static int
ro_setxattr(struct vnode *vp, const char *name, const void *buf, size_t size, int flags)
{
	return EROFS;
}

static int
ro_removexattr(struct vnode *vp, const char *name)
{
	return EROFS;
}

const struct vnodeops ext2_vnodeops = {
	.vop_lookup = ext2_lookup,
	.vop_create = ro_create,
	.vop_mkdir = ro_create,
	.vop_symlink = ro_symlink,
	.vop_mknod = ro_create,
	.vop_remove = ro_remove,
	.vop_rmdir = ro_remove,
	.vop_link = ro_remove,
	.vop_rename = ro_rename,
	.vop_readdir = ext2_readdir,
	.vop_readlink = ext2_vop_readlink,
	.vop_getattr = ext2_getattr,
	.vop_setattr = ro_setattr,
	.vop_read = ext2_vop_read,
	.vop_write = ro_write,
	.vop_seek = ext2_seek,
	.vop_fsync = ext2_fsync,
	.vop_open = NULL,
	.vop_close = NULL,
	.vop_inactive = ext2_inactive,
	.vop_reclaim = ext2_reclaim,
	.vop_getxattr = ext2_getxattr_vop,
	.vop_setxattr = ro_setxattr,
	.vop_listxattr = ext2_listxattr_vop,
	.vop_removexattr = ro_removexattr,
};
