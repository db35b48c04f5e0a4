/*
 * Permission checks: the POSIX owner/group/other rule, the sticky
 * directory rule, and clearing set-id bits after an unprivileged write.
 */
#include "vfs/vfs_impl.h"

int vfs_access_va(const struct vattr *va, const struct cred *cred, int mode)
{
	anyk_mode_t bits;

	mode &= VREAD | VWRITE | VEXEC;
	if (cred_is_root(cred)) {
		/* Root may execute only what someone may execute; directories
		 * it may always search. */
		if ((mode & VEXEC) && va->va_type != VDIR && !(va->va_mode & 0111))
			return EACCES;
		return 0;
	}
	if (cred->cr_euid == va->va_uid)
		bits = (va->va_mode >> 6) & 7;
	else if (cred_groupmember(cred, va->va_gid))
		bits = (va->va_mode >> 3) & 7;
	else
		bits = va->va_mode & 7;
	return ((anyk_mode_t)mode & ~bits) == 0 ? 0 : EACCES;
}

int vfs_open_access(struct vnode *vp, const struct cred *cred, int mode, int oflags)
{
	struct vattr va;
	int error;

	if ((mode & VWRITE) && vfs_readonly(vp) &&
	    (vp->v_type == VREG || vp->v_type == VDIR || vp->v_type == VLNK))
		return EROFS;
	error = VOP_GETATTR(vp, &va);
	if (!error)
		error = vfs_access_vn(vp, &va, cred, mode);
	/* An append-only file is written only through O_APPEND, never
	 * truncated. */
	if (!error && (va.va_flags & ANYK_FL_APPEND) &&
	    (((oflags & ANYK_O_ACCMODE) != ANYK_O_RDONLY && !(oflags & ANYK_O_APPEND)) || (oflags & ANYK_O_TRUNC)))
		error = EPERM;
	return error;
}

int vfs_access(struct vnode *vp, const struct cred *cred, int mode)
{
	/* Read-only open flags add no check of their own. */
	return vfs_open_access(vp, cred, mode, ANYK_O_RDONLY);
}

int vfs_delete_flags(const struct vattr *dva, const struct vattr *va)
{
	if ((dva->va_flags & ANYK_FL_APPEND) || (va->va_flags & (ANYK_FL_IMMUTABLE | ANYK_FL_APPEND)))
		return EPERM;
	return 0;
}

int vfs_sticky_check(const struct vattr *dva, const struct vattr *va, const struct cred *cred)
{
	if (!(dva->va_mode & ANYK_S_ISVTX) || cred_is_root(cred))
		return 0;
	if (cred->cr_euid == va->va_uid || cred->cr_euid == dva->va_uid)
		return 0;
	return EPERM;
}

int vn_kill_suid(struct vnode *vp, const struct cred *cred)
{
	struct vattr va, nva;
	anyk_mode_t kill = 0;
	int error;

	if (cred_is_root(cred))
		return 0;
	error = VOP_GETATTR(vp, &va);
	if (error)
		return error;
	if (va.va_mode & ANYK_S_ISUID)
		kill |= ANYK_S_ISUID;
	/* Set-group-ID without group execute marks mandatory locking. */
	if ((va.va_mode & ANYK_S_ISGID) && (va.va_mode & 010))
		kill |= ANYK_S_ISGID;
	if (kill == 0)
		return 0;
	vattr_null(&nva);
	nva.va_mask = VA_MODE;
	nva.va_mode = va.va_mode & ~kill;
	return VOP_SETATTR(vp, &nva);
}
