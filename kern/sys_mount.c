/*
 * System calls on mounts: mount, unmount, statvfs/fstatvfs and sync.
 * Mounting and unmounting need root.
 */
#include <anyk/anyk.h>
#include "vfs/vfs_impl.h"

KMEM_TYPE(M_SYSMOUNT, "sys_mount");

#define MOUNT_FLAGS (ANYK_MNT_RDONLY | ANYK_MNT_NOSUID | ANYK_MNT_NODEV | ANYK_MNT_NOEXEC | \
		     ANYK_MNT_SYNCHRONOUS | ANYK_MNT_NOATIME)

static bool is_root(void)
{
	struct cred *cred = curcred_hold();
	bool root = cred_is_root(cred);

	cred_free(cred);
	return root;
}

ANYK_API int anyk_sys_mount(const char *source, const char *target, const char *fstype,
			    unsigned long flags, const char *options)
{
	struct vnode *vp = NULL;
	char *onpath = NULL;
	int error;

	if (!is_root())
		return sys_ret(EPERM);
	if (fstype == NULL)
		return sys_ret(EFAULT);
	if (strnlen(fstype, 16) >= 16)
		return sys_ret(ENODEV);
	if (flags & ~(unsigned long)MOUNT_FLAGS)
		return sys_ret(EINVAL);
	if (source != NULL && strnlen(source, ANYK_PATH_MAX) >= ANYK_PATH_MAX)
		return sys_ret(ENAMETOOLONG);
	if (options != NULL && strnlen(options, ANYK_PATH_MAX) >= ANYK_PATH_MAX)
		return sys_ret(EINVAL);
	error = path_check(target, false);
	if (!error)
		error = namei(ANYK_AT_FDCWD, target, NI_FOLLOW, &vp);
	if (error)
		return sys_ret(error);
	if (vp->v_type != VDIR) {
		error = ENOTDIR;
		goto out;
	}
	onpath = kmem_alloc(&M_SYSMOUNT, ANYK_PATH_MAX);
	if (onpath == NULL) {
		error = ENOMEM;
		goto out;
	}
	if (vn_getpath(vp, onpath, ANYK_PATH_MAX) != 0)
		strlcpy(onpath, target, ANYK_PATH_MAX);
	error = vfs_mount(vp, fstype, source, (int)flags, options, onpath);
	if (!error)
		vp = NULL; /* the mount keeps the reference */
out:
	if (onpath != NULL)
		kmem_free(&M_SYSMOUNT, onpath, ANYK_PATH_MAX);
	if (vp != NULL)
		vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_unmount(const char *target, int flags)
{
	struct vnode *vp;
	int error;

	if (!is_root())
		return sys_ret(EPERM);
	if (flags & ~(ANYK_MNT_FORCE | ANYK_MNT_DETACH))
		return sys_ret(EINVAL);
	error = path_check(target, false);
	if (!error)
		error = namei(ANYK_AT_FDCWD, target, NI_FOLLOW, &vp);
	if (error)
		return sys_ret(error);
	error = vfs_unmount_root(vp, flags);
	vrele(vp);
	return sys_ret(error);
}

static int vn_statvfs(struct vnode *vp, struct anyk_statvfs *st)
{
	struct mount *mp = vp->v_mount;
	int error;

	if (st == NULL)
		return EFAULT;
	if (vn_isdead(vp))
		return EIO;
	memset(st, 0, sizeof(*st));
	error = mp->mnt_op->vfs_statvfs != NULL ? mp->mnt_op->vfs_statvfs(mp, st) : 0;
	if (error)
		return error;
	st->f_fsid = mp->mnt_fsid;
	st->f_flag = ((mp->mnt_flag & ANYK_MNT_RDONLY) ? ANYK_ST_RDONLY : 0) |
		     ((mp->mnt_flag & ANYK_MNT_NOSUID) ? ANYK_ST_NOSUID : 0);
	if (st->f_namemax == 0)
		st->f_namemax = ANYK_NAME_MAX;
	if (st->f_frsize == 0)
		st->f_frsize = st->f_bsize;
	strlcpy(st->f_fstypename, mp->mnt_fstype, sizeof(st->f_fstypename));
	strlcpy(st->f_mntfromname, mp->mnt_from, sizeof(st->f_mntfromname));
	strlcpy(st->f_mntonname, mp->mnt_on, sizeof(st->f_mntonname));
	return 0;
}

ANYK_API int anyk_sys_statvfs(const char *path, struct anyk_statvfs *st)
{
	struct vnode *vp;
	int error;

	error = path_check(path, false);
	if (!error)
		error = namei(ANYK_AT_FDCWD, path, NI_FOLLOW, &vp);
	if (error)
		return sys_ret(error);
	error = vn_statvfs(vp, st);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_fstatvfs(int fd, struct anyk_statvfs *st)
{
	struct file *fp;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	error = fp->f_vnode != NULL ? vn_statvfs(fp->f_vnode, st) : EINVAL;
	file_release(fp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_sync(void)
{
	(void)vfs_sync_all(true);
	return 0;
}
