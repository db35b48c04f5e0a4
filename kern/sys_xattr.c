/*
 * Extended attribute system calls: get, set, list and remove a file's
 * named values, by path (following a final symlink or not) and by
 * descriptor, with the Linux kernel's checks and error choices.
 *
 * The name's namespace decides who may do what: user.* follows the file's
 * permission bits and exists only on regular files and directories,
 * trusted.* is root's alone (and hidden from others' lists), security.* is
 * readable by all and writable by root, and the POSIX ACLs, which the owner
 * or root may write, are checked and kept in step with the permission
 * bits (vfs/acl.c). The file system stores
 * the values (VOP_*XATTR); this file only decides whether the caller may
 * reach them. get and list hold the vnode shared, set and remove exclusive.
 */
#include <anyk/anyk.h>
#include "vfs/vfs_impl.h"

KMEM_TYPE(kmem_xattr, "xattr");

/* The namespace of a name, as far as the checks here care. */
enum xattr_ns {
	XNS_USER,
	XNS_TRUSTED,
	XNS_SECURITY,
	XNS_ACL_ACCESS,
	XNS_ACL_DEFAULT,
	XNS_PREFIX_ONLY, /* "user." with nothing after it: EINVAL */
	XNS_UNKNOWN,     /* no namespace anyk knows: ENOTSUP */
};

static const struct {
	const char *prefix;
	enum xattr_ns ns;
	bool whole; /* the name must be exactly the prefix */
} xattr_names[] = {
	{ "user.", XNS_USER, false },
	{ "trusted.", XNS_TRUSTED, false },
	{ "security.", XNS_SECURITY, false },
	{ "system.posix_acl_access", XNS_ACL_ACCESS, true },
	{ "system.posix_acl_default", XNS_ACL_DEFAULT, true },
};

/* Linux lists attributes of at most this size; a file system offering
 * more than a few times that is broken, and its list is refused. */
#define XATTR_LIST_KERNEL_MAX (4 * ANYK_XATTR_LIST_MAX)

/* Check a name from outside and find its namespace. An empty name is
 * ERANGE, as Linux answers it (its copy of the name comes back empty). */
static int
xattr_name_check(const char *name, enum xattr_ns *nsp)
{
	size_t len, plen, i;

	if (name == NULL)
		return EFAULT;
	len = strnlen(name, ANYK_XATTR_NAME_MAX + 1);
	if (len == 0 || len > ANYK_XATTR_NAME_MAX)
		return ERANGE;
	*nsp = XNS_UNKNOWN;
	for (i = 0; i < ARRAY_SIZE(xattr_names); i++) {
		plen = strlen(xattr_names[i].prefix);
		if (strncmp(name, xattr_names[i].prefix, plen) != 0)
			continue;
		if (xattr_names[i].whole)
			*nsp = len == plen ? xattr_names[i].ns : XNS_UNKNOWN;
		else
			*nsp = len == plen ? XNS_PREFIX_ONLY : xattr_names[i].ns;
		break;
	}
	return 0;
}

/* Whether a name that passed the permission checks can be stored at all.
 * Linux checks permissions first, so an unprivileged caller learns EACCES
 * before ENOTSUP; the order here is the same. */
static int
xattr_ns_valid(enum xattr_ns ns)
{
	if (ns == XNS_UNKNOWN)
		return ENOTSUP;
	if (ns == XNS_PREFIX_ONLY)
		return EINVAL;
	return 0;
}

/* May cred read (VREAD) or change (VWRITE) attribute ns of vp (locked)? */
static int
xattr_access(struct vnode *vp, enum xattr_ns ns, int mode, const struct cred *cred)
{
	struct vattr va;
	bool root = cred_is_root(cred);
	int error;

	error = VOP_GETATTR(vp, &va);
	if (!error && mode == VWRITE)
		error = vfs_change_flags(&va, false);
	if (error)
		return error;
	switch (ns) {
	case XNS_TRUSTED:
		/* To others, trusted attributes do not exist. */
		if (!root)
			return mode == VWRITE ? EPERM : ENODATA;
		return 0;
	case XNS_SECURITY:
		/* Linux's capability rule: reading is free, writing takes
		 * CAP_SYS_ADMIN, which in anyk is root. */
		if (mode == VWRITE && !root)
			return EPERM;
		return 0;
	case XNS_ACL_ACCESS:
	case XNS_ACL_DEFAULT:
		/* Changing an ACL is changing the mode: the owner's right. */
		if (mode == VWRITE && !root && cred->cr_euid != va.va_uid)
			return EPERM;
		return 0;
	case XNS_USER:
		/* Devices, FIFOs and symlinks carry no user attributes: their
		 * permission bits do not protect data of their own. */
		if (vp->v_type != VREG && vp->v_type != VDIR)
			return mode == VWRITE ? EPERM : ENODATA;
		/* In a sticky directory, as for its entries, only the owner. */
		if (mode == VWRITE && vp->v_type == VDIR && (va.va_mode & ANYK_S_ISVTX) &&
		    !root && cred->cr_euid != va.va_uid)
			return EPERM;
		return vfs_access_vn(vp, &va, cred, mode);
	default:
		return vfs_access_vn(vp, &va, cred, mode);
	}
}

/* The vnode behind a descriptor (referenced); O_PATH descriptors do not
 * count, as for Linux, and a descriptor without a vnode (a pipe) has no
 * place to keep attributes. */
static int
xattr_fd_vnode(int fd, struct vnode **vpp)
{
	struct file *fp;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return error;
	if (fp->f_flag & ANYK_O_PATH)
		error = EBADF;
	else if (fp->f_vnode == NULL)
		error = ENOTSUP;
	else
		vref(fp->f_vnode);
	if (!error)
		*vpp = fp->f_vnode;
	file_release(fp);
	return error;
}

static int
xattr_lookup(const char *path, bool follow, struct vnode **vpp)
{
	int error;

	error = path_check(path, false);
	if (error)
		return error;
	return namei(ANYK_AT_FDCWD, path, follow ? NI_FOLLOW : 0, vpp);
}

/* --- the four operations on a vnode ------------------------------------- */

static int
vn_getxattr(struct vnode *vp, const char *name, enum xattr_ns ns, void *value, size_t size,
	    size_t *lenp)
{
	struct cred *cred;
	size_t len;
	int error;

	/* A larger buffer than the largest value changes nothing. */
	if (size > ANYK_XATTR_SIZE_MAX)
		size = ANYK_XATTR_SIZE_MAX;
	if (size != 0 && value == NULL)
		return EFAULT;
	cred = curcred_hold();
	vn_lock(vp, RW_READER);
	error = xattr_access(vp, ns, VREAD, cred);
	if (!error)
		error = xattr_ns_valid(ns);
	if (!error) {
		len = size;
		error = VOP_GETXATTR(vp, name, size != 0 ? value : NULL, &len);
	}
	vn_unlock(vp);
	cred_free(cred);
	if (error == ERANGE && size >= ANYK_XATTR_SIZE_MAX)
		error = E2BIG;
	if (!error && size != 0 && len > size)
		error = ERANGE; /* a file system that ignored the size */
	if (!error)
		*lenp = len;
	return error;
}

static int
vn_setxattr(struct vnode *vp, const char *name, enum xattr_ns ns, const void *value, size_t size,
	    int flags)
{
	struct cred *cred;
	int error;

	if (vfs_readonly(vp))
		return EROFS;
	cred = curcred_hold();
	vn_lock(vp, RW_WRITER);
	error = xattr_access(vp, ns, VWRITE, cred);
	if (!error)
		error = xattr_ns_valid(ns);
	if (!error && (ns == XNS_ACL_ACCESS || ns == XNS_ACL_DEFAULT))
		error = vn_acl_set(vp, ns == XNS_ACL_DEFAULT, value, size, cred);
	else if (!error)
		error = VOP_SETXATTR(vp, name, size != 0 ? value : "", size, flags);
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

static int
vn_removexattr(struct vnode *vp, const char *name, enum xattr_ns ns)
{
	struct cred *cred;
	int error;

	if (vfs_readonly(vp))
		return EROFS;
	cred = curcred_hold();
	vn_lock(vp, RW_WRITER);
	error = xattr_access(vp, ns, VWRITE, cred);
	if (!error)
		error = xattr_ns_valid(ns);
	if (!error && (ns == XNS_ACL_ACCESS || ns == XNS_ACL_DEFAULT))
		error = vn_acl_set(vp, ns == XNS_ACL_DEFAULT, NULL, 0, cred);
	else if (!error)
		error = VOP_REMOVEXATTR(vp, name);
	vn_unlock(vp);
	cred_free(cred);
	return error;
}

/* Drop the names the caller may not see (trusted.* unless root) and
 * anything not NUL-terminated, in place; returns the bytes kept. */
static size_t
xattr_list_filter(char *buf, size_t len, bool root)
{
	size_t in = 0, out = 0, n;

	while (in < len) {
		n = strnlen(buf + in, len - in);
		if (n == len - in)
			break; /* no NUL: a broken file system's tail */
		if (n > 0 && (root || strncmp(buf + in, "trusted.", 8) != 0)) {
			memmove(buf + out, buf + in, n + 1);
			out += n + 1;
		}
		in += n + 1;
	}
	return out;
}

static int
vn_listxattr(struct vnode *vp, char *list, size_t size, size_t *lenp)
{
	struct cred *cred;
	char *kbuf = NULL;
	size_t need = 0, got = 0;
	int error;

	if (size > ANYK_XATTR_LIST_MAX)
		size = ANYK_XATTR_LIST_MAX;
	if (size != 0 && list == NULL)
		return EFAULT;
	cred = curcred_hold();
	/* Both calls under one lock, so the list cannot grow between the
	 * size and the copy. */
	vn_lock(vp, RW_READER);
	error = VOP_LISTXATTR(vp, NULL, &need);
	if (!error && need > XATTR_LIST_KERNEL_MAX)
		error = E2BIG;
	if (!error && need > 0) {
		kbuf = kmem_alloc(&kmem_xattr, need);
		if (kbuf == NULL)
			error = ENOMEM;
		got = need;
		if (!error)
			error = VOP_LISTXATTR(vp, kbuf, &got);
		if (!error && got > need)
			error = EIO;
	}
	vn_unlock(vp);
	if (!error && kbuf != NULL)
		got = xattr_list_filter(kbuf, got, cred_is_root(cred));
	if (!error && size != 0) {
		if (got > size)
			error = size >= ANYK_XATTR_LIST_MAX ? E2BIG : ERANGE;
		else if (got > 0)
			memcpy(list, kbuf, got);
	}
	if (!error)
		*lenp = got;
	if (kbuf != NULL)
		kmem_free(&kmem_xattr, kbuf, need);
	cred_free(cred);
	return error;
}

/* --- the system calls --------------------------------------------------- */

static anyk_ssize_t
ret_len(int error, size_t len)
{
	return error ? sys_ret(error) : (anyk_ssize_t)len;
}

static anyk_ssize_t
path_getxattr(const char *path, bool follow, const char *name, void *value, size_t size)
{
	struct vnode *vp;
	enum xattr_ns ns;
	size_t len = 0;
	int error;

	error = xattr_name_check(name, &ns);
	if (!error)
		error = xattr_lookup(path, follow, &vp);
	if (error)
		return sys_ret(error);
	error = vn_getxattr(vp, name, ns, value, size, &len);
	vrele(vp);
	return ret_len(error, len);
}

ANYK_API anyk_ssize_t anyk_sys_getxattr(const char *path, const char *name, void *value, size_t size)
{
	return path_getxattr(path, true, name, value, size);
}

ANYK_API anyk_ssize_t anyk_sys_lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	return path_getxattr(path, false, name, value, size);
}

ANYK_API anyk_ssize_t anyk_sys_fgetxattr(int fd, const char *name, void *value, size_t size)
{
	struct vnode *vp;
	enum xattr_ns ns;
	size_t len = 0;
	int error;

	error = xattr_fd_vnode(fd, &vp);
	if (error)
		return sys_ret(error);
	error = xattr_name_check(name, &ns);
	if (!error)
		error = vn_getxattr(vp, name, ns, value, size, &len);
	vrele(vp);
	return ret_len(error, len);
}

/* The argument checks of every setxattr, in Linux's order. */
static int
setxattr_args(const char *name, const void *value, size_t size, int flags, enum xattr_ns *nsp)
{
	int error;

	if (flags & ~(ANYK_XATTR_CREATE | ANYK_XATTR_REPLACE))
		return EINVAL;
	error = xattr_name_check(name, nsp);
	if (error)
		return error;
	if (size > ANYK_XATTR_SIZE_MAX)
		return E2BIG;
	if (size != 0 && value == NULL)
		return EFAULT;
	return 0;
}

static int
path_setxattr(const char *path, bool follow, const char *name, const void *value, size_t size,
	      int flags)
{
	struct vnode *vp;
	enum xattr_ns ns;
	int error;

	error = setxattr_args(name, value, size, flags, &ns);
	if (!error)
		error = xattr_lookup(path, follow, &vp);
	if (error)
		return sys_ret(error);
	error = vn_setxattr(vp, name, ns, value, size, flags);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_setxattr(const char *path, const char *name, const void *value, size_t size,
			       int flags)
{
	return path_setxattr(path, true, name, value, size, flags);
}

ANYK_API int anyk_sys_lsetxattr(const char *path, const char *name, const void *value, size_t size,
				int flags)
{
	return path_setxattr(path, false, name, value, size, flags);
}

ANYK_API int anyk_sys_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
	struct vnode *vp;
	enum xattr_ns ns;
	int error;

	error = xattr_fd_vnode(fd, &vp);
	if (error)
		return sys_ret(error);
	error = setxattr_args(name, value, size, flags, &ns);
	if (!error)
		error = vn_setxattr(vp, name, ns, value, size, flags);
	vrele(vp);
	return sys_ret(error);
}

static anyk_ssize_t
path_listxattr(const char *path, bool follow, char *list, size_t size)
{
	struct vnode *vp;
	size_t len = 0;
	int error;

	error = xattr_lookup(path, follow, &vp);
	if (error)
		return sys_ret(error);
	error = vn_listxattr(vp, list, size, &len);
	vrele(vp);
	return ret_len(error, len);
}

ANYK_API anyk_ssize_t anyk_sys_listxattr(const char *path, char *list, size_t size)
{
	return path_listxattr(path, true, list, size);
}

ANYK_API anyk_ssize_t anyk_sys_llistxattr(const char *path, char *list, size_t size)
{
	return path_listxattr(path, false, list, size);
}

ANYK_API anyk_ssize_t anyk_sys_flistxattr(int fd, char *list, size_t size)
{
	struct vnode *vp;
	size_t len = 0;
	int error;

	error = xattr_fd_vnode(fd, &vp);
	if (error)
		return sys_ret(error);
	error = vn_listxattr(vp, list, size, &len);
	vrele(vp);
	return ret_len(error, len);
}

static int
path_removexattr(const char *path, bool follow, const char *name)
{
	struct vnode *vp;
	enum xattr_ns ns;
	int error;

	error = xattr_name_check(name, &ns);
	if (!error)
		error = xattr_lookup(path, follow, &vp);
	if (error)
		return sys_ret(error);
	error = vn_removexattr(vp, name, ns);
	vrele(vp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_removexattr(const char *path, const char *name)
{
	return path_removexattr(path, true, name);
}

ANYK_API int anyk_sys_lremovexattr(const char *path, const char *name)
{
	return path_removexattr(path, false, name);
}

ANYK_API int anyk_sys_fremovexattr(int fd, const char *name)
{
	struct vnode *vp;
	enum xattr_ns ns;
	int error;

	error = xattr_fd_vnode(fd, &vp);
	if (error)
		return sys_ret(error);
	error = xattr_name_check(name, &ns);
	if (!error)
		error = vn_removexattr(vp, name, ns);
	vrele(vp);
	return sys_ret(error);
}
