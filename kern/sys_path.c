/*
 * System calls on path names: stat, access, creating and removing names
 * (mkdir, mknod, symlink, link, unlink, rmdir, rename), readlink, changing
 * attributes (chmod, chown, utimensat, truncate) and the process's working
 * and root directories.
 *
 * Where POSIX allows several answers the Linux kernel's are given. A call
 * that changes a directory locks it exclusively, looks the name up again
 * under that lock and only then checks and changes it; rename takes the
 * mount's rename lock first and locks the two directories ancestor first.
 */
#include <anyk/anyk.h>
#include "vfs/vfs_impl.h"

#define ANYK_UID_NONE ((anyk_uid_t)-1)
#define ANYK_GID_NONE ((anyk_gid_t)-1)

/* The vnode behind a descriptor (referenced). */
static int fd_vnode(int fd, bool allow_opath, struct vnode **vpp)
{
	struct file *fp;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return error;
	if (fp->f_vnode == NULL)
		error = EINVAL;
	else if (!allow_opath && (fp->f_flag & ANYK_O_PATH))
		error = EBADF;
	else
		vref(fp->f_vnode);
	if (!error)
		*vpp = fp->f_vnode;
	file_release(fp);
	return error;
}

/* Resolve (dirfd, path) for a call taking AT_* flags; allowed: the flags
 * the call accepts. The empty path with AT_EMPTY_PATH names dirfd itself. */
static int resolve_at(int dirfd, const char *path, int flags, int allowed, bool follow_default,
		      struct vnode **vpp)
{
	int error, nflags = 0;

	if (flags & ~allowed)
		return EINVAL;
	error = path_check(path, (flags & ANYK_AT_EMPTY_PATH) != 0);
	if (error)
		return error;
	if (path[0] == '\0') {
		if (dirfd == ANYK_AT_FDCWD)
			return namei_startdir(dirfd, vpp);
		return fd_vnode(dirfd, true, vpp);
	}
	if (follow_default && !(flags & ANYK_AT_SYMLINK_NOFOLLOW))
		nflags |= NI_FOLLOW;
	if (!follow_default && (flags & ANYK_AT_SYMLINK_FOLLOW))
		nflags |= NI_FOLLOW;
	return namei(dirfd, path, nflags, vpp);
}

/* --- stat and access --------------------------------------------------- */

ANYK_API int anyk_sys_fstatat(int dirfd, const char *path, struct anyk_stat *st, int flags)
{
	struct vnode *vp;
	int error;

	if (flags & ~(ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH))
		return sys_ret(EINVAL);
	if (st == NULL)
		return sys_ret(EFAULT);
	if (path != NULL && path[0] == '\0' && (flags & ANYK_AT_EMPTY_PATH) && dirfd != ANYK_AT_FDCWD)
		return anyk_sys_fstat(dirfd, st);
	error = resolve_at(dirfd, path, flags, ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH, true, &vp);
	if (error)
		return sys_ret(error);
	error = vn_stat_vnode(vp, st);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_stat(const char *path, struct anyk_stat *st)
{
	return anyk_sys_fstatat(ANYK_AT_FDCWD, path, st, 0);
}

ANYK_API int anyk_sys_lstat(const char *path, struct anyk_stat *st)
{
	return anyk_sys_fstatat(ANYK_AT_FDCWD, path, st, ANYK_AT_SYMLINK_NOFOLLOW);
}

ANYK_API int anyk_sys_fstat(int fd, struct anyk_stat *st)
{
	struct file *fp;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	if (st == NULL)
		error = EFAULT;
	else if (fp->f_ops->fo_stat == NULL)
		error = EBADF;
	else
		error = fp->f_ops->fo_stat(fp, st);
	file_release(fp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct vnode *vp;
	struct cred *cred, *c;
	int error;

	if (mode & ~(ANYK_R_OK | ANYK_W_OK | ANYK_X_OK))
		return sys_ret(EINVAL);
	error = resolve_at(dirfd, path, flags,
			   ANYK_AT_EACCESS | ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH, true, &vp);
	if (error)
		return sys_ret(error);
	cred = curcred_hold();
	if (!(flags & ANYK_AT_EACCESS) &&
	    (cred->cr_uid != cred->cr_euid || cred->cr_gid != cred->cr_egid)) {
		/* access() checks with the real ids. */
		c = cred_dup(cred);
		cred_free(cred);
		cred = c;
		if (cred == NULL) {
			error = ENOMEM;
			goto out;
		}
		cred->cr_euid = cred->cr_uid;
		cred->cr_egid = cred->cr_gid;
	}
	if (mode != ANYK_F_OK) {
		vn_lock(vp, RW_READER);
		error = vfs_access(vp, cred, (mode & ANYK_R_OK ? VREAD : 0) |
						 (mode & ANYK_W_OK ? VWRITE : 0) |
						 (mode & ANYK_X_OK ? VEXEC : 0));
		vn_unlock(vp);
	}
	if (cred != NULL)
		cred_free(cred);
out:
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_access(const char *path, int mode)
{
	return anyk_sys_faccessat(ANYK_AT_FDCWD, path, mode, 0);
}

/* --- creating names ------------------------------------------------------ */

/*
 * Common front of every call that creates a name: resolve the parent, lock
 * it, make sure the name is absent, check write permission. On success the
 * parent is locked exclusive (nd->ni_dvp) and *dvap holds its attributes.
 */
static int create_begin(int dirfd, const char *path, bool isdir, struct nameidata *nd,
			struct vattr *dvap, struct cred **credp)
{
	struct vnode *dvp, *vp;
	int error;

	*credp = NULL;
	nd->ni_dvp = NULL;
	error = path_check(path, false);
	if (error)
		return error;
	error = namei_parent(dirfd, path, 0, nd);
	if (error)
		return error;
	if (nd->ni_isroot || nd->ni_isdot) {
		nameidata_release(nd);
		return EEXIST;
	}
	dvp = nd->ni_dvp;
	vn_lock(dvp, RW_WRITER);
	error = VOP_LOOKUP(dvp, nd->ni_name, nd->ni_namelen, &vp);
	if (error == 0) {
		vrele(vp);
		error = EEXIST;
		goto fail;
	}
	if (error != ENOENT)
		goto fail;
	if (nd->ni_slash && !isdir) {
		error = ENOENT;
		goto fail;
	}
	*credp = curcred_hold();
	error = vfs_access(dvp, *credp, VWRITE | VEXEC);
	if (!error)
		error = VOP_GETATTR(dvp, dvap);
	if (!error)
		return 0;
fail:
	vn_unlock(dvp);
	nameidata_release(nd);
	if (*credp != NULL) {
		cred_free(*credp);
		*credp = NULL;
	}
	return error;
}

static void create_end(struct nameidata *nd, struct cred *cred)
{
	vn_unlock(nd->ni_dvp);
	nameidata_release(nd);
	cred_free(cred);
}

anyk_mode_t proc_umask(void)
{
	struct proc *p = curproc();
	anyk_mode_t m;

	mutex_enter(&p->p_lock);
	m = p->p_umask;
	mutex_exit(&p->p_lock);
	return m;
}

/* Owner, group and mode of a new node in directory dvp (locked), whose
 * attributes are dva; ai gets what it inherits of dvp's default ACL. */
static void new_owner(struct vattr *va, struct vnode *dvp, const struct vattr *dva,
		      const struct cred *cred, anyk_mode_t mode, enum vtype type,
		      struct acl_inherit *ai)
{
	vattr_null(va);
	va->va_type = type;
	va->va_mode = acl_new_mode(dvp, type, mode, proc_umask(), ai);
	va->va_uid = cred->cr_euid;
	if (dva->va_mode & ANYK_S_ISGID) {
		va->va_gid = dva->va_gid;
		if (type == VDIR)
			va->va_mode |= ANYK_S_ISGID;
	} else {
		va->va_gid = cred->cr_egid;
	}
}

ANYK_API int anyk_sys_mkdirat(int dirfd, const char *path, anyk_mode_t mode)
{
	struct acl_inherit ai;
	struct nameidata nd;
	struct vattr va, dva;
	struct vnode *vp;
	struct cred *cred;
	int error;

	error = create_begin(dirfd, path, true, &nd, &dva, &cred);
	if (error)
		return sys_ret(error);
	new_owner(&va, nd.ni_dvp, &dva, cred, mode & 01777, VDIR, &ai);
	error = VOP_MKDIR(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, &vp);
	if (!error) {
		error = vn_acl_inherit(vp, VDIR, &ai);
		vrele(vp);
	}
	acl_inherit_done(&ai);
	create_end(&nd, cred);
	return sys_ret(error);
}

ANYK_API int anyk_sys_mkdir(const char *path, anyk_mode_t mode)
{
	return anyk_sys_mkdirat(ANYK_AT_FDCWD, path, mode);
}

ANYK_API int anyk_sys_mknodat(int dirfd, const char *path, anyk_mode_t mode, anyk_dev_t dev)
{
	struct acl_inherit ai;
	struct nameidata nd;
	struct vattr va, dva;
	struct vnode *vp;
	struct cred *cred;
	enum vtype type;
	int error;

	switch (mode & ANYK_S_IFMT) {
	case 0:
	case ANYK_S_IFREG: type = VREG; break;
	case ANYK_S_IFCHR: type = VCHR; break;
	case ANYK_S_IFBLK: type = VBLK; break;
	case ANYK_S_IFIFO: type = VFIFO; break;
	case ANYK_S_IFSOCK: type = VSOCK; break;
	case ANYK_S_IFDIR: return sys_ret(EPERM);
	default: return sys_ret(EINVAL);
	}
	error = create_begin(dirfd, path, false, &nd, &dva, &cred);
	if (error)
		return sys_ret(error);
	if ((type == VCHR || type == VBLK) && !cred_is_root(cred)) {
		error = EPERM;
		goto out;
	}
	new_owner(&va, nd.ni_dvp, &dva, cred, mode & 07777, type, &ai);
	if (type == VCHR || type == VBLK)
		va.va_rdev = dev;
	if (type == VREG)
		error = VOP_CREATE(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, &vp);
	else
		error = VOP_MKNOD(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, &vp);
	if (!error) {
		error = vn_acl_inherit(vp, type, &ai);
		vrele(vp);
	}
	acl_inherit_done(&ai);
out:
	create_end(&nd, cred);
	return sys_ret(error);
}

ANYK_API int anyk_sys_mknod(const char *path, anyk_mode_t mode, anyk_dev_t dev)
{
	return anyk_sys_mknodat(ANYK_AT_FDCWD, path, mode, dev);
}

ANYK_API int anyk_sys_symlinkat(const char *target, int dirfd, const char *path)
{
	struct acl_inherit ai;
	struct nameidata nd;
	struct vattr va, dva;
	struct vnode *vp;
	struct cred *cred;
	int error;

	error = path_check(target, false);
	if (error)
		return sys_ret(error);
	error = create_begin(dirfd, path, false, &nd, &dva, &cred);
	if (error)
		return sys_ret(error);
	new_owner(&va, nd.ni_dvp, &dva, cred, 0777, VLNK, &ai);
	va.va_mode = 0777;
	error = VOP_SYMLINK(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, target, &vp);
	if (!error)
		vrele(vp);
	create_end(&nd, cred);
	return sys_ret(error);
}

ANYK_API int anyk_sys_symlink(const char *target, const char *path)
{
	return anyk_sys_symlinkat(target, ANYK_AT_FDCWD, path);
}

ANYK_API int anyk_sys_linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	struct nameidata nd;
	struct vnode *vp = NULL, *tvp;
	struct vattr va;
	struct cred *cred = NULL;
	int error;

	error = resolve_at(fromfd, from, flags, ANYK_AT_SYMLINK_FOLLOW | ANYK_AT_EMPTY_PATH, false, &vp);
	if (error)
		return sys_ret(error);
	nd.ni_dvp = NULL;
	error = path_check(to, false);
	if (!error)
		error = namei_parent(tofd, to, 0, &nd);
	if (error)
		goto out;
	/* Checks in Linux's order: an existing name first, then the mount,
	 * then permission on the directory, then what is being linked. */
	if (nd.ni_isroot || nd.ni_isdot) {
		error = EEXIST;
		goto out;
	}
	cred = curcred_hold();
	vn_lock(nd.ni_dvp, RW_WRITER);
	error = VOP_LOOKUP(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &tvp);
	if (error == 0) {
		vrele(tvp);
		error = EEXIST;
	} else if (error == ENOENT) {
		if (nd.ni_slash)
			error = ENOENT;
		else if (nd.ni_dvp->v_mount != vp->v_mount)
			error = EXDEV;
		else
			error = vfs_access(nd.ni_dvp, cred, VWRITE | VEXEC);
		if (!error && vp->v_type == VDIR)
			error = EPERM;
		if (!error) {
			vn_lock_nested(vp);
			error = VOP_GETATTR(vp, &va);
			if (!error && va.va_nlink == 0)
				error = ENOENT;
			if (!error)
				error = vfs_change_flags(&va, false);
			if (!error)
				error = VOP_LINK(nd.ni_dvp, vp, nd.ni_name, nd.ni_namelen);
			vn_unlock(vp);
		}
	}
	vn_unlock(nd.ni_dvp);
out:
	if (cred != NULL)
		cred_free(cred);
	nameidata_release(&nd);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_link(const char *from, const char *to)
{
	return anyk_sys_linkat(ANYK_AT_FDCWD, from, ANYK_AT_FDCWD, to, 0);
}

/* --- removing names ------------------------------------------------------- */

static int do_remove(int dirfd, const char *path, bool rmdir)
{
	struct nameidata nd;
	struct vnode *dvp, *vp = NULL;
	struct vattr dva, va;
	struct cred *cred = NULL;
	int error;

	error = path_check(path, false);
	if (error)
		return error;
	error = namei_parent(dirfd, path, 0, &nd);
	if (error)
		return error;
	if (nd.ni_isroot) {
		error = rmdir ? EBUSY : EISDIR;
		goto out;
	}
	if (nd.ni_isdot) {
		if (!rmdir)
			error = EISDIR;
		else
			error = nd.ni_namelen == 1 ? EINVAL : ENOTEMPTY;
		goto out;
	}
	dvp = nd.ni_dvp;
	cred = curcred_hold();
	vn_lock(dvp, RW_WRITER);
	error = VOP_LOOKUP(dvp, nd.ni_name, nd.ni_namelen, &vp);
	if (error)
		goto unlock;
	if (rmdir && vp->v_type != VDIR) {
		error = ENOTDIR;
		goto unlock;
	}
	if (!rmdir && vp->v_type == VDIR) {
		error = EISDIR;
		goto unlock;
	}
	if (!rmdir && nd.ni_slash) {
		error = ENOTDIR;
		goto unlock;
	}
	error = vfs_access(dvp, cred, VWRITE | VEXEC);
	if (error)
		goto unlock;
	vn_lock_nested(vp);
	error = VOP_GETATTR(dvp, &dva);
	if (!error)
		error = VOP_GETATTR(vp, &va);
	if (!error)
		error = vfs_sticky_check(&dva, &va, cred);
	if (!error)
		error = vfs_delete_flags(&dva, &va);
	if (!error && (atomic_load_relaxed(&vp->v_mountedhere) != NULL || (vn_flags(vp) & VV_ROOT)))
		error = EBUSY;
	if (!error)
		error = rmdir ? VOP_RMDIR(dvp, vp, nd.ni_name, nd.ni_namelen)
			      : VOP_REMOVE(dvp, vp, nd.ni_name, nd.ni_namelen);
	vn_unlock(vp);
unlock:
	vn_unlock(dvp);
out:
	if (vp != NULL)
		vrele(vp);
	if (cred != NULL)
		cred_free(cred);
	nameidata_release(&nd);
	return error;
}

ANYK_API int anyk_sys_unlinkat(int dirfd, const char *path, int flags)
{
	if (flags & ~ANYK_AT_REMOVEDIR)
		return sys_ret(EINVAL);
	return sys_ret(do_remove(dirfd, path, (flags & ANYK_AT_REMOVEDIR) != 0));
}

ANYK_API int anyk_sys_unlink(const char *path)
{
	return sys_ret(do_remove(ANYK_AT_FDCWD, path, false));
}

ANYK_API int anyk_sys_rmdir(const char *path)
{
	return sys_ret(do_remove(ANYK_AT_FDCWD, path, true));
}

/* --- rename ----------------------------------------------------------------- */

/*
 * Is anc an ancestor of (or equal to) vp, in one mount? Walks ".." from vp
 * with the rename lock held, so no directory moves meanwhile. *belowp (if
 * anc was found above vp) receives the child of anc on the way, referenced.
 */
/* Deeper than any directory tree a path can reach: ".." walks stop here. */
#define RENAME_MAXDEPTH 65536

static int rename_ancestor(struct vnode *anc, struct vnode *vp, bool *isanc, struct vnode **belowp)
{
	struct vnode *cur = vp, *parent, *prev = NULL;
	unsigned depth = 0;
	int error = 0;

	*isanc = false;
	*belowp = NULL;
	vref(cur);
	for (;;) {
		/* A corrupt file system can make ".." go round in a cycle. */
		if (++depth > RENAME_MAXDEPTH) {
			klog(LOG_ERR, "rename: no root above a directory after %u levels of \"..\"; "
			     "the file system is corrupt", RENAME_MAXDEPTH);
			error = EUCLEAN;
			break;
		}
		if (cur == anc) {
			*isanc = true;
			*belowp = prev;
			prev = NULL;
			break;
		}
		if (vn_flags(cur) & VV_ROOT)
			break;
		vn_lock(cur, RW_READER);
		error = VOP_LOOKUP(cur, "..", 2, &parent);
		vn_unlock(cur);
		if (error)
			break;
		if (parent == cur) {
			vrele(parent);
			break;
		}
		if (prev != NULL)
			vrele(prev);
		prev = cur;
		cur = parent;
	}
	if (prev != NULL)
		vrele(prev);
	vrele(cur);
	return error;
}

static void lock2(struct vnode *a, struct vnode *b)
{
	if (a == b) {
		vn_lock(a, RW_WRITER);
		return;
	}
	if ((uintptr_t)a > (uintptr_t)b) {
		struct vnode *t = a;
		a = b;
		b = t;
	}
	vn_lock(a, RW_WRITER);
	vn_lock_nested(b);
}

/*
 * Permission and type checks, in the order Linux makes them: taking the
 * source out of fdvp, then putting it into tdvp (and the target out of it),
 * then rewriting ".." of a directory that changes parent. *fdva gets
 * fdvp's attributes.
 */
static int rename_checks(struct vnode *fdvp, struct vnode *fvp, struct vnode *tdvp,
			 struct vnode *tvp, unsigned flags, const struct cred *cred, struct vattr *fdva)
{
	struct vattr fva, tdva, tva;
	bool exchange = flags & VRENAME_EXCHANGE;
	int error;

	error = vfs_access(fdvp, cred, VWRITE | VEXEC);
	if (!error)
		error = VOP_GETATTR(fdvp, fdva);
	if (!error)
		error = VOP_GETATTR(fvp, &fva);
	if (!error)
		error = vfs_sticky_check(fdva, &fva, cred);
	if (!error)
		error = vfs_delete_flags(fdva, &fva);
	if (!error && tdvp != fdvp)
		error = vfs_access(tdvp, cred, VWRITE | VEXEC);
	if (error)
		return error;
	if (tvp != NULL) {
		error = VOP_GETATTR(tdvp, &tdva);
		if (!error)
			error = VOP_GETATTR(tvp, &tva);
		if (!error)
			error = vfs_sticky_check(&tdva, &tva, cred);
		if (!error)
			error = vfs_delete_flags(&tdva, &tva);
		if (error)
			return error;
		if (!exchange && fvp->v_type == VDIR && tvp->v_type != VDIR)
			return ENOTDIR;
		if (!exchange && fvp->v_type != VDIR && tvp->v_type == VDIR)
			return EISDIR;
	}
	/* A directory moving to a new parent has its ".." rewritten. */
	if (fdvp != tdvp && fvp->v_type == VDIR)
		error = vfs_access_vn(fvp, &fva, cred, VWRITE);
	if (!error && fdvp != tdvp && exchange && tvp->v_type == VDIR)
		error = vfs_access_vn(tvp, &tva, cred, VWRITE);
	if (error)
		return error;
	if (atomic_load_relaxed(&fvp->v_mountedhere) != NULL || (vn_flags(fvp) & VV_ROOT) ||
	    (tvp != NULL && (atomic_load_relaxed(&tvp->v_mountedhere) != NULL ||
			     (vn_flags(tvp) & VV_ROOT))))
		return EBUSY;
	return 0;
}

/* The whiteout left in fdvp (attributes fdva) by RENAME_WHITEOUT. */
static void whiteout_owner(struct vattr *va, const struct vattr *fdva, const struct cred *cred)
{
	vattr_null(va);
	va->va_type = VCHR;
	va->va_mode = 0;
	va->va_rdev = 0;
	va->va_uid = cred->cr_euid;
	va->va_gid = (fdva->va_mode & ANYK_S_ISGID) ? fdva->va_gid : cred->cr_egid;
}

ANYK_API int anyk_sys_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	struct nameidata fnd, tnd;
	struct vnode *fdvp, *tdvp, *fvp = NULL, *tvp = NULL;
	struct vnode *fbelow = NULL, *tbelow = NULL;
	struct vattr wva, fdva;
	struct mount *mp;
	struct cred *cred;
	bool f_above_t = false, t_above_f = false, locked = false;
	unsigned vflags = 0;
	int error;

	if (flags & ~(unsigned)(ANYK_RENAME_NOREPLACE | ANYK_RENAME_EXCHANGE | ANYK_RENAME_WHITEOUT))
		return sys_ret(EINVAL);
	if ((flags & ANYK_RENAME_EXCHANGE) && (flags & (ANYK_RENAME_NOREPLACE | ANYK_RENAME_WHITEOUT)))
		return sys_ret(EINVAL);
	if (flags & ANYK_RENAME_EXCHANGE)
		vflags |= VRENAME_EXCHANGE;
	if (flags & ANYK_RENAME_WHITEOUT)
		vflags |= VRENAME_WHITEOUT;
	cred = curcred_hold();
	fnd.ni_dvp = tnd.ni_dvp = NULL;
	/* A whiteout is a device node anyone may leave (as on Linux since
	 * 5.8): it grants nothing, it only hides a name in a union. */
	error = path_check(from, false);
	if (!error)
		error = path_check(to, false);
	if (!error)
		error = namei_parent(fromfd, from, 0, &fnd);
	if (!error)
		error = namei_parent(tofd, to, 0, &tnd);
	if (error)
		goto out;
	fdvp = fnd.ni_dvp;
	tdvp = tnd.ni_dvp;
	mp = fdvp->v_mount;
	if (tdvp->v_mount != mp) {
		error = EXDEV;
		goto out;
	}
	if (fnd.ni_isroot || fnd.ni_isdot || tnd.ni_isroot || tnd.ni_isdot) {
		error = EBUSY;
		goto out;
	}
	if (vfs_readonly(fdvp)) {
		error = EROFS;
		goto out;
	}
	mutex_enter(&mp->mnt_renamelock);
	if (fdvp != tdvp) {
		error = rename_ancestor(fdvp, tdvp, &f_above_t, &fbelow);
		if (!error && !f_above_t)
			error = rename_ancestor(tdvp, fdvp, &t_above_f, &tbelow);
		if (error)
			goto unlock_rename;
	}
	/* Directories ancestor first, else by address. */
	if (f_above_t) {
		vn_lock(fdvp, RW_WRITER);
		vn_lock_nested(tdvp);
	} else if (t_above_f) {
		vn_lock(tdvp, RW_WRITER);
		vn_lock_nested(fdvp);
	} else {
		lock2(fdvp, tdvp);
	}
	locked = true;
	error = VOP_LOOKUP(fdvp, fnd.ni_name, fnd.ni_namelen, &fvp);
	if (error)
		goto unlock;
	error = VOP_LOOKUP(tdvp, tnd.ni_name, tnd.ni_namelen, &tvp);
	if (error == ENOENT) {
		tvp = NULL;
		error = 0;
	}
	if (error)
		goto unlock;
	if (tvp != NULL && (flags & ANYK_RENAME_NOREPLACE)) {
		error = EEXIST;
		goto unlock;
	}
	if (flags & ANYK_RENAME_EXCHANGE) {
		if (tvp == NULL)
			error = ENOENT;
		else if (tvp->v_type != VDIR && tnd.ni_slash)
			error = ENOTDIR;
		if (error)
			goto unlock;
	}
	/* Trailing slashes name directories only. */
	if (fvp->v_type != VDIR &&
	    (fnd.ni_slash || (tnd.ni_slash && !(flags & ANYK_RENAME_EXCHANGE)))) {
		error = ENOTDIR;
		goto unlock;
	}
	/* fvp an ancestor of the target directory: a directory into itself. */
	if (fvp == tdvp || (f_above_t && fvp == fbelow)) {
		error = EINVAL;
		goto unlock;
	}
	/* tvp an ancestor of the source: it is not empty, or (exchanged) it
	 * would go into itself. */
	if (tvp != NULL && (tvp == fdvp || (t_above_f && tvp == tbelow))) {
		error = (flags & ANYK_RENAME_EXCHANGE) ? EINVAL : ENOTEMPTY;
		goto unlock;
	}
	if (fvp == tvp) {
		error = 0; /* two names of one file: nothing to do */
		goto unlock;
	}
	if (tvp != NULL) {
		if ((uintptr_t)fvp < (uintptr_t)tvp) {
			vn_lock_nested(fvp);
			vn_lock_nested(tvp);
		} else {
			vn_lock_nested(tvp);
			vn_lock_nested(fvp);
		}
	} else {
		vn_lock_nested(fvp);
	}
	error = rename_checks(fdvp, fvp, tdvp, tvp, vflags, cred, &fdva);
	if (!error && (vflags & VRENAME_WHITEOUT))
		whiteout_owner(&wva, &fdva, cred);
	if (!error)
		error = VOP_RENAME(fdvp, fvp, fnd.ni_name, fnd.ni_namelen,
				   tdvp, tvp, tnd.ni_name, tnd.ni_namelen,
				   vflags, (vflags & VRENAME_WHITEOUT) ? &wva : NULL);
	vn_unlock(fvp);
	if (tvp != NULL)
		vn_unlock(tvp);
unlock:
	if (locked) {
		vn_unlock(fdvp);
		if (tdvp != fdvp)
			vn_unlock(tdvp);
	}
unlock_rename:
	mutex_exit(&mp->mnt_renamelock);
out:
	if (fvp != NULL)
		vrele(fvp);
	if (tvp != NULL)
		vrele(tvp);
	if (fbelow != NULL)
		vrele(fbelow);
	if (tbelow != NULL)
		vrele(tbelow);
	cred_free(cred);
	nameidata_release(&fnd);
	nameidata_release(&tnd);
	return sys_ret(error);
}

ANYK_API int anyk_sys_renameat(int fromfd, const char *from, int tofd, const char *to)
{
	return anyk_sys_renameat2(fromfd, from, tofd, to, 0);
}

ANYK_API int anyk_sys_rename(const char *from, const char *to)
{
	return anyk_sys_renameat2(ANYK_AT_FDCWD, from, ANYK_AT_FDCWD, to, 0);
}

/* --- readlink ---------------------------------------------------------------- */

ANYK_API anyk_ssize_t anyk_sys_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	struct anyk_iovec iov;
	struct uio uio;
	struct vnode *vp;
	int error;

	if (buf == NULL)
		return sys_ret(EFAULT);
	if (n == 0 || n > (size_t)INT64_MAX)
		return sys_ret(EINVAL);
	if (path != NULL && path[0] == '\0' && dirfd != ANYK_AT_FDCWD)
		error = fd_vnode(dirfd, true, &vp);
	else
		error = resolve_at(dirfd, path, 0, 0, false, &vp);
	if (error)
		return sys_ret(error);
	if (vp->v_type != VLNK) {
		vrele(vp);
		return sys_ret(path[0] == '\0' ? ENOENT : EINVAL);
	}
	if (n > VFS_MAX_RW)
		n = VFS_MAX_RW;
	uio_init_kernel(&uio, &iov, buf, n, 0, UIO_READ);
	vn_lock(vp, RW_READER);
	error = VOP_READLINK(vp, &uio);
	vn_unlock(vp);
	vrele(vp);
	return error ? sys_ret(error) : (anyk_ssize_t)(n - uio.uio_resid);
}

ANYK_API anyk_ssize_t anyk_sys_readlink(const char *path, char *buf, size_t n)
{
	return anyk_sys_readlinkat(ANYK_AT_FDCWD, path, buf, n);
}

/* --- attributes ----------------------------------------------------------------- */

static int setattr_begin(struct vnode *vp, struct vattr *va, struct cred **credp)
{
	int error;

	if (vfs_readonly(vp))
		return EROFS;
	*credp = curcred_hold();
	vn_lock(vp, RW_WRITER);
	error = VOP_GETATTR(vp, va);
	if (error) {
		vn_unlock(vp);
		cred_free(*credp);
	}
	return error;
}

static int do_chmod(struct vnode *vp, anyk_mode_t mode)
{
	struct vattr va, nva;
	struct cred *cred;
	int error;

	error = setattr_begin(vp, &va, &cred);
	if (error)
		return error;
	error = vfs_change_flags(&va, false);
	if (error)
		goto out;
	mode &= 07777;
	if (!cred_is_root(cred)) {
		if (cred->cr_euid != va.va_uid) {
			error = EPERM;
			goto out;
		}
		if (!cred_groupmember(cred, va.va_gid))
			mode &= ~(anyk_mode_t)ANYK_S_ISGID;
	}
	vattr_null(&nva);
	nva.va_mask = VA_MODE | VA_CTIME;
	nva.va_mode = mode;
	vfs_now(&nva.va_ctime);
	error = VOP_SETATTR(vp, &nva);
	if (!error)
		error = vn_acl_chmod(vp, mode);
out:
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

ANYK_API int anyk_sys_fchmodat(int dirfd, const char *path, anyk_mode_t mode, int flags)
{
	struct vnode *vp;
	int error;

	error = resolve_at(dirfd, path, flags, ANYK_AT_SYMLINK_NOFOLLOW, true, &vp);
	if (error)
		return sys_ret(error);
	error = vp->v_type == VLNK ? EOPNOTSUPP : do_chmod(vp, mode);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_chmod(const char *path, anyk_mode_t mode)
{
	return anyk_sys_fchmodat(ANYK_AT_FDCWD, path, mode, 0);
}

ANYK_API int anyk_sys_fchmod(int fd, anyk_mode_t mode)
{
	struct vnode *vp;
	int error;

	error = fd_vnode(fd, false, &vp);
	if (error)
		return sys_ret(error);
	error = do_chmod(vp, mode);
	vrele(vp);
	return sys_ret(error);
}

static int do_chown(struct vnode *vp, anyk_uid_t uid, anyk_gid_t gid)
{
	struct vattr va, nva;
	struct cred *cred;
	int error;

	error = setattr_begin(vp, &va, &cred);
	if (error)
		return error;
	error = vfs_change_flags(&va, false);
	if (error)
		goto out;
	if (uid == va.va_uid && !cred_is_root(cred) && cred->cr_euid == va.va_uid)
		uid = ANYK_UID_NONE; /* no change, and allowed */
	if (!cred_is_root(cred)) {
		if (uid != ANYK_UID_NONE ||
		    (gid != ANYK_GID_NONE && cred->cr_euid != va.va_uid) ||
		    (gid != ANYK_GID_NONE && gid != va.va_gid && !cred_groupmember(cred, gid))) {
			error = EPERM;
			goto out;
		}
	}
	vattr_null(&nva);
	nva.va_mask = VA_CTIME;
	vfs_now(&nva.va_ctime);
	if (uid != ANYK_UID_NONE) {
		nva.va_mask |= VA_UID;
		nva.va_uid = uid;
	}
	if (gid != ANYK_GID_NONE) {
		nva.va_mask |= VA_GID;
		nva.va_gid = gid;
	}
	if ((uid != ANYK_UID_NONE || gid != ANYK_GID_NONE) && va.va_type != VDIR &&
	    (va.va_mode & (ANYK_S_ISUID | ANYK_S_ISGID))) {
		nva.va_mask |= VA_MODE;
		nva.va_mode = va.va_mode & ~(anyk_mode_t)ANYK_S_ISUID;
		if (va.va_mode & 010)
			nva.va_mode &= ~(anyk_mode_t)ANYK_S_ISGID;
	}
	error = VOP_SETATTR(vp, &nva);
out:
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

ANYK_API int anyk_sys_fchownat(int dirfd, const char *path, anyk_uid_t uid, anyk_gid_t gid, int flags)
{
	struct vnode *vp;
	int error;

	error = resolve_at(dirfd, path, flags, ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH, true, &vp);
	if (error)
		return sys_ret(error);
	error = do_chown(vp, uid, gid);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_chown(const char *path, anyk_uid_t uid, anyk_gid_t gid)
{
	return anyk_sys_fchownat(ANYK_AT_FDCWD, path, uid, gid, 0);
}

ANYK_API int anyk_sys_lchown(const char *path, anyk_uid_t uid, anyk_gid_t gid)
{
	return anyk_sys_fchownat(ANYK_AT_FDCWD, path, uid, gid, ANYK_AT_SYMLINK_NOFOLLOW);
}

ANYK_API int anyk_sys_fchown(int fd, anyk_uid_t uid, anyk_gid_t gid)
{
	struct vnode *vp;
	int error;

	error = fd_vnode(fd, false, &vp);
	if (error)
		return sys_ret(error);
	error = do_chown(vp, uid, gid);
	vrele(vp);
	return sys_ret(error);
}

/*
 * The file attributes of chattr(1): the flags (VA_FLAGS), the owner's to
 * change but IMMUTABLE and APPEND only root's, and the project id
 * (VA_PROJID), the owner's or root's, which an immutable file refuses.
 */
static int do_fileattr(struct vnode *vp, unsigned what, uint32_t v)
{
	struct vattr va, nva;
	struct cred *cred;
	int error;

	error = setattr_begin(vp, &va, &cred);
	if (error)
		return error;
	if (!cred_is_root(cred) && cred->cr_euid != va.va_uid)
		error = EPERM;
	else if (what == VA_FLAGS && !cred_is_root(cred) && ((v ^ va.va_flags) & (ANYK_FL_IMMUTABLE | ANYK_FL_APPEND)))
		error = EPERM;
	else if (what == VA_PROJID && v != va.va_projid)
		error = vfs_change_flags(&va, false);
	if (!error && (what == VA_FLAGS || v != va.va_projid)) {
		vattr_null(&nva);
		nva.va_mask = what | VA_CTIME;
		nva.va_flags = v;
		nva.va_projid = v;
		vfs_now(&nva.va_ctime);
		error = VOP_SETATTR(vp, &nva);
	}
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

static int fileattr_at(int dirfd, const char *path, int flags, unsigned what, uint32_t v)
{
	struct vnode *vp;
	int error;

	error = resolve_at(dirfd, path, flags, ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH, true, &vp);
	if (error)
		return sys_ret(error);
	error = do_fileattr(vp, what, v);
	vrele(vp);
	return sys_ret(error);
}

static int fileattr_fd(int fd, unsigned what, uint32_t v)
{
	struct vnode *vp;
	int error;

	error = fd_vnode(fd, false, &vp);
	if (error)
		return sys_ret(error);
	error = do_fileattr(vp, what, v);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_chflagsat(int dirfd, const char *path, uint32_t fflags, int flags)
{
	return fileattr_at(dirfd, path, flags, VA_FLAGS, fflags);
}

ANYK_API int anyk_sys_fchflags(int fd, uint32_t fflags)
{
	return fileattr_fd(fd, VA_FLAGS, fflags);
}

ANYK_API int anyk_sys_setprojidat(int dirfd, const char *path, uint32_t projid, int flags)
{
	return fileattr_at(dirfd, path, flags, VA_PROJID, projid);
}

ANYK_API int anyk_sys_fsetprojid(int fd, uint32_t projid)
{
	return fileattr_fd(fd, VA_PROJID, projid);
}

static bool ts_valid(const struct anyk_timespec *t)
{
	return t->tv_nsec == ANYK_UTIME_NOW || t->tv_nsec == ANYK_UTIME_OMIT ||
	       (t->tv_nsec >= 0 && t->tv_nsec < 1000000000);
}

static int do_utimens(struct vnode *vp, const struct anyk_timespec *times)
{
	struct anyk_timespec now, t[2];
	struct vattr va, nva;
	struct cred *cred;
	bool explicit = false;
	int i, error;

	vfs_now(&now);
	for (i = 0; i < 2; i++) {
		t[i] = times != NULL ? times[i] : (struct anyk_timespec){ 0, ANYK_UTIME_NOW };
		if (t[i].tv_nsec == ANYK_UTIME_NOW)
			t[i] = now;
		else if (t[i].tv_nsec != ANYK_UTIME_OMIT)
			explicit = true;
	}
	if (times != NULL && times[0].tv_nsec == ANYK_UTIME_OMIT && times[1].tv_nsec == ANYK_UTIME_OMIT)
		return 0;
	error = setattr_begin(vp, &va, &cred);
	if (error)
		return error;
	/* Setting the times to now is allowed on an append-only file. */
	error = vfs_change_flags(&va, !explicit);
	if (error)
		goto out;
	if (!cred_is_root(cred) && cred->cr_euid != va.va_uid) {
		if (explicit)
			error = EPERM;
		else
			error = vfs_access_vn(vp, &va, cred, VWRITE);
		if (error)
			goto out;
	}
	vattr_null(&nva);
	nva.va_mask = VA_CTIME;
	nva.va_ctime = now;
	if (times == NULL || times[0].tv_nsec != ANYK_UTIME_OMIT) {
		nva.va_mask |= VA_ATIME;
		nva.va_atime = t[0];
	}
	if (times == NULL || times[1].tv_nsec != ANYK_UTIME_OMIT) {
		nva.va_mask |= VA_MTIME;
		nva.va_mtime = t[1];
	}
	error = VOP_SETATTR(vp, &nva);
out:
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

ANYK_API int anyk_sys_utimensat(int dirfd, const char *path, const struct anyk_timespec times[2], int flags)
{
	struct vnode *vp;
	int error;

	if (flags & ~(ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH))
		return sys_ret(EINVAL);
	if (times != NULL && (!ts_valid(&times[0]) || !ts_valid(&times[1])))
		return sys_ret(EINVAL);
	if (path == NULL) {
		/* As Linux: a NULL path names dirfd itself (futimens). */
		if (dirfd == ANYK_AT_FDCWD)
			return sys_ret(EFAULT);
		error = fd_vnode(dirfd, false, &vp);
	} else {
		error = resolve_at(dirfd, path, flags, ANYK_AT_SYMLINK_NOFOLLOW | ANYK_AT_EMPTY_PATH,
				   true, &vp);
	}
	if (error)
		return sys_ret(error);
	error = do_utimens(vp, times);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_futimens(int fd, const struct anyk_timespec times[2])
{
	struct vnode *vp;
	int error;

	if (times != NULL && (!ts_valid(&times[0]) || !ts_valid(&times[1])))
		return sys_ret(EINVAL);
	error = fd_vnode(fd, false, &vp);
	if (error)
		return sys_ret(error);
	error = do_utimens(vp, times);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_truncate(const char *path, anyk_off_t len)
{
	struct vnode *vp;
	struct vattr va;
	struct cred *cred;
	int error;

	error = path_check(path, false);
	if (error)
		return sys_ret(error);
	if (len < 0)
		return sys_ret(EINVAL);
	error = namei(ANYK_AT_FDCWD, path, NI_FOLLOW, &vp);
	if (error)
		return sys_ret(error);
	if (vp->v_type == VDIR) {
		error = EISDIR;
		goto out;
	}
	if (vp->v_type != VREG) {
		error = EINVAL;
		goto out;
	}
	cred = curcred_hold();
	vn_lock(vp, RW_WRITER);
	error = vfs_access(vp, cred, VWRITE);
	if (!error)
		error = VOP_GETATTR(vp, &va);
	if (!error)
		error = vfs_change_flags(&va, false);
	if (!error)
		error = vn_kill_suid(vp, cred);
	if (!error)
		error = vn_truncate_locked(vp, len);
	vn_unlock(vp);
	cred_free(cred);
out:
	vrele(vp);
	return sys_ret(error);
}

/* --- working and root directories ------------------------------------------------ */

static int check_searchable_dir(struct vnode *vp)
{
	struct cred *cred;
	int error;

	if (vp->v_type != VDIR)
		return ENOTDIR;
	cred = curcred_hold();
	vn_lock(vp, RW_READER);
	error = vfs_access(vp, cred, VEXEC);
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

ANYK_API int anyk_sys_chdir(const char *path)
{
	struct vnode *vp;
	int error;

	error = path_check(path, false);
	if (!error)
		error = namei(ANYK_AT_FDCWD, path, NI_FOLLOW, &vp);
	if (error)
		return sys_ret(error);
	error = check_searchable_dir(vp);
	if (error) {
		vrele(vp);
		return sys_ret(error);
	}
	proc_set_cwd(curproc(), vp);
	return 0;
}

ANYK_API int anyk_sys_fchdir(int fd)
{
	struct vnode *vp;
	int error;

	error = fd_vnode(fd, true, &vp);
	if (error)
		return sys_ret(error == EINVAL ? ENOTDIR : error);
	error = check_searchable_dir(vp);
	if (error) {
		vrele(vp);
		return sys_ret(error);
	}
	proc_set_cwd(curproc(), vp);
	return 0;
}

ANYK_API char *anyk_sys_getcwd(char *buf, size_t n)
{
	struct vnode *vp;
	int error;

	if (buf == NULL) {
		sys_ret(EFAULT);
		return NULL;
	}
	if (n == 0) {
		sys_ret(EINVAL);
		return NULL;
	}
	vp = proc_cwd_hold(curproc());
	if (vp == NULL) {
		sys_ret(ENOENT);
		return NULL;
	}
	error = vn_getpath(vp, buf, n);
	vrele(vp);
	if (error) {
		sys_ret(error);
		return NULL;
	}
	return buf;
}

ANYK_API int anyk_sys_chroot(const char *path)
{
	struct vnode *vp;
	struct cred *cred;
	int error;

	error = path_check(path, false);
	if (!error)
		error = namei(ANYK_AT_FDCWD, path, NI_FOLLOW, &vp);
	if (error)
		return sys_ret(error);
	error = check_searchable_dir(vp);
	if (!error) {
		cred = curcred_hold();
		if (!cred_is_root(cred))
			error = EPERM;
		cred_free(cred);
	}
	if (error) {
		vrele(vp);
		return sys_ret(error);
	}
	proc_set_root(curproc(), vp);
	return 0;
}
