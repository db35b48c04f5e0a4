/*
 * System calls on descriptors: open, close, read and write (plain,
 * positional and vectored), lseek, dup*, fcntl, fsync, ftruncate and
 * getdents. Each checks its arguments, then works through the file's
 * operations; data moves straight between the caller's buffers and the
 * file system.
 */
#include <limits.h>

#include <anyk/anyk.h>
#include "vfs/vfs_impl.h"

KMEM_TYPE(M_SYSFILE, "sys_file");

/* --- open --------------------------------------------------------------- */

static int open_create(struct nameidata *nd, int flags, anyk_mode_t mode, struct vnode **vpp,
		       bool *createdp)
{
	struct vnode *dvp = nd->ni_dvp, *vp = NULL;
	struct cred *cred = curcred_hold();
	struct vattr va, dva;
	struct acl_inherit ai;
	int error;

	vn_lock(dvp, RW_WRITER);
	error = VOP_LOOKUP(dvp, nd->ni_name, nd->ni_namelen, &vp);
	if (error == 0) {
		*vpp = vp;
		goto out;
	}
	if (error != ENOENT)
		goto out;
	if (nd->ni_slash) {
		error = EISDIR;
		goto out;
	}
	error = vfs_access(dvp, cred, VWRITE | VEXEC);
	if (error)
		goto out;
	error = VOP_GETATTR(dvp, &dva);
	if (error)
		goto out;
	vattr_null(&va);
	va.va_type = VREG;
	va.va_mode = acl_new_mode(dvp, VREG, mode & 07777, proc_umask(), &ai);
	va.va_uid = cred->cr_euid;
	va.va_gid = (dva.va_mode & ANYK_S_ISGID) ? dva.va_gid : cred->cr_egid;
	if ((va.va_mode & ANYK_S_ISGID) && !cred_is_root(cred) && !cred_groupmember(cred, va.va_gid))
		va.va_mode &= ~(anyk_mode_t)ANYK_S_ISGID;
	error = VOP_CREATE(dvp, nd->ni_name, nd->ni_namelen, &va, vpp);
	if (!error) {
		*createdp = true;
		error = vn_acl_inherit(*vpp, VREG, &ai);
		if (error) {
			vrele(*vpp);
			*vpp = NULL;
		}
	}
	acl_inherit_done(&ai);
out:
	vn_unlock(dvp);
	cred_free(cred);
	return error;
}

/* Resolve an O_CREAT open: create the last component if absent, following
 * a symlink there unless O_EXCL or O_NOFOLLOW. */
static int open_lookup_creat(int dirfd, const char *path, int flags, anyk_mode_t mode,
			     struct vnode **vpp, bool *createdp)
{
	struct nameidata nd;
	struct vnode *vp = NULL;
	char *buf = NULL;
	size_t tlen;
	int error;

	nd.ni_loops = 0;
	error = namei_parent(dirfd, path, 0, &nd);
	for (;;) {
		if (error)
			goto out;
		if (nd.ni_isroot || nd.ni_isdot) {
			error = EISDIR;
			goto out;
		}
		error = open_create(&nd, flags, mode, &vp, createdp);
		if (error)
			goto out;
		if (*createdp)
			break;
		if ((flags & ANYK_O_EXCL)) {
			error = EEXIST;
			goto out;
		}
		while (vp->v_type == VDIR) {
			struct vnode *mvp = vfs_mounted_root(vp);
			if (mvp == NULL)
				break;
			vrele(vp);
			vp = mvp;
		}
		if (vp->v_type != VLNK)
			break;
		if (flags & ANYK_O_NOFOLLOW) {
			error = ELOOP;
			goto out;
		}
		/* Follow the symlink and create at its target. */
		if (++nd.ni_loops > ANYK_SYMLOOP_MAX) {
			error = ELOOP;
			goto out;
		}
		if (buf == NULL) {
			buf = kmem_alloc(&M_SYSFILE, ANYK_PATH_MAX);
			if (buf == NULL) {
				error = ENOMEM;
				goto out;
			}
		}
		error = vn_readlink_buf(vp, buf, ANYK_PATH_MAX, &tlen);
		vrele(vp);
		vp = NULL;
		if (!error && tlen == 0)
			error = ENOENT;
		if (!error && nd.ni_slash) {
			if (tlen + 1 >= ANYK_PATH_MAX)
				error = ENAMETOOLONG;
			else
				strlcat(buf, "/", ANYK_PATH_MAX);
		}
		if (error)
			goto out;
		{
			struct vnode *dvp = nd.ni_dvp;
			nd.ni_dvp = NULL;
			error = namei_parent_at(dvp, buf, NI_CONTINUE, &nd);
			vrele(dvp);
		}
	}
	if (nd.ni_slash && vp->v_type != VDIR) {
		error = *createdp ? EISDIR : ENOTDIR;
		goto out;
	}
	if (vp->v_type == VDIR) {
		error = EISDIR;
		goto out;
	}
	*vpp = vp;
	vp = NULL;
out:
	if (vp != NULL)
		vrele(vp);
	nameidata_release(&nd);
	if (buf != NULL)
		kmem_free(&M_SYSFILE, buf, ANYK_PATH_MAX);
	return error;
}

static int do_open(int dirfd, const char *path, int flags, anyk_mode_t mode, int *fdp)
{
	struct vnode *vp = NULL;
	struct file *fp;
	bool created = false;
	int error;

	if (flags & ~ANYK_O_VALID)
		return EINVAL;
	/* As Linux since 6.4: the combination has no meaning. */
	if ((flags & (ANYK_O_CREAT | ANYK_O_DIRECTORY)) == (ANYK_O_CREAT | ANYK_O_DIRECTORY))
		return EINVAL;
	error = path_check(path, false);
	if (error)
		return error;
	if (flags & ANYK_O_PATH)
		flags &= ANYK_O_PATH | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC;
	if (flags & ANYK_O_CREAT) {
		error = open_lookup_creat(dirfd, path, flags, mode, &vp, &created);
	} else {
		error = namei(dirfd, path, (flags & ANYK_O_NOFOLLOW) ? 0 : NI_FOLLOW, &vp);
		if (!error && vp->v_type == VLNK && !(flags & ANYK_O_PATH))
			error = ELOOP;
	}
	if (error)
		goto out;
	error = vn_open_file(vp, flags, created, &fp);
	if (error)
		goto out;
	vp = NULL; /* the file has the reference now */
	error = fd_alloc(fp, 0, (flags & ANYK_O_CLOEXEC) != 0, fdp);
	if (error)
		file_release(fp);
out:
	if (vp != NULL)
		vrele(vp);
	return error;
}

ANYK_API int anyk_sys_openat(int dirfd, const char *path, int flags, anyk_mode_t mode)
{
	int fd = -1;
	int error = do_open(dirfd, path, flags, mode, &fd);

	return error ? sys_ret(error) : fd;
}

ANYK_API int anyk_sys_open(const char *path, int flags, anyk_mode_t mode)
{
	return anyk_sys_openat(ANYK_AT_FDCWD, path, flags, mode);
}

ANYK_API int anyk_sys_close(int fd)
{
	return sys_ret(fd_close(fd));
}

/* --- read and write ------------------------------------------------------ */

/* Do one transfer on a held file; *donep: bytes moved. A partial transfer
 * that ran into an error reports the bytes, not the error. */
static int file_rw(struct file *fp, struct uio *uio, int flags, size_t *donep)
{
	size_t want = uio->uio_resid;
	int fflag = atomic_load_relaxed(&fp->f_flag);
	int error;

	if (uio->uio_rw == UIO_READ ? !file_readable(fflag) : !file_writable(fflag))
		return EBADF;
	if (uio->uio_rw == UIO_READ)
		error = fp->f_ops->fo_read(fp, uio, flags);
	else
		error = fp->f_ops->fo_write(fp, uio, flags);
	*donep = want - uio->uio_resid;
	if (error && *donep > 0)
		error = 0;
	return error;
}

/* stream: 0, or a host stream's descriptor + 1 to move the data to or
 * from instead of buf (regular files only). */
static anyk_ssize_t sys_rw(int fd, void *buf, size_t n, anyk_off_t off, bool positional,
			   enum uio_rw rw, int stream)
{
	struct anyk_iovec iov;
	struct uio uio;
	struct file *fp;
	size_t done = 0;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	if (rw == UIO_READ ? !file_readable(fp->f_flag) : !file_writable(fp->f_flag)) {
		error = EBADF;
		goto out;
	}
	if (stream != 0 && (fp->f_vnode == NULL || fp->f_vnode->v_type != VREG)) {
		error = fp->f_vnode != NULL && fp->f_vnode->v_type == VDIR ? EISDIR : EINVAL;
		goto out;
	}
	if (positional) {
		if (fp->f_ops->fo_seek == NULL) {
			error = ESPIPE;
			goto out;
		}
		if (off < 0) {
			error = EINVAL;
			goto out;
		}
	}
	if (n > VFS_MAX_RW)
		n = VFS_MAX_RW;
	if (positional && (uint64_t)off + n > (uint64_t)INT64_MAX) {
		error = EINVAL;
		goto out;
	}
	if (n > 0 && buf == NULL && stream == 0) {
		error = EFAULT;
		goto out;
	}
	if (rw == UIO_READ && fp->f_vnode != NULL && fp->f_vnode->v_type == VDIR) {
		error = EISDIR;
		goto out;
	}
	uio_init_kernel(&uio, &iov, buf, n, off, rw);
	uio.uio_stream = stream;
	error = file_rw(fp, &uio, positional ? FOF_OFFSET : 0, &done);
out:
	file_release(fp);
	return error ? sys_ret(error) : (anyk_ssize_t)done;
}

ANYK_API anyk_ssize_t anyk_sys_read(int fd, void *buf, size_t n)
{
	return sys_rw(fd, buf, n, 0, false, UIO_READ, 0);
}

ANYK_API anyk_ssize_t anyk_sys_write(int fd, const void *buf, size_t n)
{
	return sys_rw(fd, (void *)(uintptr_t)buf, n, 0, false, UIO_WRITE, 0);
}

ANYK_API anyk_ssize_t anyk_sys_pread(int fd, void *buf, size_t n, anyk_off_t off)
{
	return sys_rw(fd, buf, n, off, true, UIO_READ, 0);
}

ANYK_API anyk_ssize_t anyk_sys_pwrite(int fd, const void *buf, size_t n, anyk_off_t off)
{
	return sys_rw(fd, (void *)(uintptr_t)buf, n, off, true, UIO_WRITE, 0);
}

/*
 * Regular file data to or from a host stream of the program's, moved by the
 * host where it can (see anyk_hyp_splice): the FUSE front end answers reads
 * and takes writes this way without copying the bytes itself.
 */
static anyk_ssize_t sys_rw_host(int fd, int hostfd, size_t n, anyk_off_t off, enum uio_rw rw)
{
	if (hostfd < 0 || hostfd == INT_MAX)
		return sys_ret(EBADF);
	return sys_rw(fd, NULL, n, off, true, rw, hostfd + 1);
}

ANYK_API anyk_ssize_t anyk_sys_pread_host(int fd, int hostfd, size_t n, anyk_off_t off)
{
	return sys_rw_host(fd, hostfd, n, off, UIO_READ);
}

ANYK_API anyk_ssize_t anyk_sys_pwrite_host(int fd, int hostfd, size_t n, anyk_off_t off)
{
	return sys_rw_host(fd, hostfd, n, off, UIO_WRITE);
}

#define IOV_STACK 8

static anyk_ssize_t sys_rwv(int fd, const struct anyk_iovec *uiov, int iovcnt, enum uio_rw rw)
{
	struct anyk_iovec stackv[IOV_STACK], *iov = stackv;
	struct uio uio;
	struct file *fp;
	size_t total = 0, done = 0;
	int i, error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	if (rw == UIO_READ ? !file_readable(fp->f_flag) : !file_writable(fp->f_flag)) {
		error = EBADF;
		goto out;
	}
	if (iovcnt < 0 || iovcnt > ANYK_IOV_MAX) {
		error = EINVAL;
		goto out;
	}
	if (iovcnt > 0 && uiov == NULL) {
		error = EFAULT;
		goto out;
	}
	for (i = 0; i < iovcnt; i++) {
		if (uiov[i].iov_len > (size_t)INT64_MAX - total) {
			error = EINVAL;
			goto out;
		}
		if (uiov[i].iov_len > 0 && uiov[i].iov_base == NULL) {
			error = EFAULT;
			goto out;
		}
		total += uiov[i].iov_len;
	}
	if (total > (size_t)LONG_MAX) {
		error = EINVAL;
		goto out;
	}
	if (rw == UIO_READ && fp->f_vnode != NULL && fp->f_vnode->v_type == VDIR) {
		error = EISDIR;
		goto out;
	}
	if (iovcnt > IOV_STACK) {
		iov = kmem_alloc(&M_SYSFILE, (size_t)iovcnt * sizeof(*iov));
		if (iov == NULL) {
			error = ENOMEM;
			goto out;
		}
	}
	/* The uio advances its segments: give it a copy. */
	if (iovcnt > 0)
		memcpy(iov, uiov, (size_t)iovcnt * sizeof(*iov));
	/* Clamp to what one call may move, as Linux does. */
	if (total > VFS_MAX_RW) {
		size_t left = VFS_MAX_RW;
		for (i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len > left)
				iov[i].iov_len = left;
			left -= iov[i].iov_len;
		}
		total = VFS_MAX_RW;
	}
	uio.uio_iov = iov;
	uio.uio_iovcnt = iovcnt;
	uio.uio_offset = 0;
	uio.uio_resid = total;
	uio.uio_rw = rw;
	uio.uio_stream = 0;
	error = file_rw(fp, &uio, 0, &done);
	if (iov != stackv)
		kmem_free(&M_SYSFILE, iov, (size_t)iovcnt * sizeof(*iov));
out:
	file_release(fp);
	return error ? sys_ret(error) : (anyk_ssize_t)done;
}

ANYK_API anyk_ssize_t anyk_sys_readv(int fd, const struct anyk_iovec *iov, int iovcnt)
{
	return sys_rwv(fd, iov, iovcnt, UIO_READ);
}

ANYK_API anyk_ssize_t anyk_sys_writev(int fd, const struct anyk_iovec *iov, int iovcnt)
{
	return sys_rwv(fd, iov, iovcnt, UIO_WRITE);
}

ANYK_API anyk_off_t anyk_sys_lseek(int fd, anyk_off_t off, int whence)
{
	struct file *fp;
	anyk_off_t res = 0;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	if (fp->f_flag & ANYK_O_PATH)
		error = EBADF;
	else if (fp->f_ops->fo_seek == NULL)
		error = ESPIPE;
	else if (whence < ANYK_SEEK_SET || whence > ANYK_SEEK_HOLE)
		error = EINVAL;
	else
		error = fp->f_ops->fo_seek(fp, off, whence, &res);
	file_release(fp);
	return error ? sys_ret(error) : res;
}

/* --- descriptors ------------------------------------------------------------ */

ANYK_API int anyk_sys_dup(int fd)
{
	struct file *fp;
	int nfd = -1, error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	error = fd_alloc(fp, 0, false, &nfd);
	if (error)
		file_release(fp);
	return error ? sys_ret(error) : nfd;
}

static int do_dup3(int fd, int newfd, int flags, bool samefd_ok)
{
	struct file *fp;
	int error;

	if (flags & ~ANYK_O_CLOEXEC)
		return sys_ret(EINVAL);
	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	if (newfd < 0 || newfd >= ANYK_OPEN_MAX) {
		file_release(fp);
		return sys_ret(EBADF);
	}
	if (fd == newfd) {
		file_release(fp);
		return samefd_ok ? newfd : sys_ret(EINVAL);
	}
	error = fd_dup2(fp, newfd, (flags & ANYK_O_CLOEXEC) != 0);
	if (error) {
		file_release(fp);
		return sys_ret(error);
	}
	return newfd;
}

ANYK_API int anyk_sys_dup2(int fd, int newfd)
{
	return do_dup3(fd, newfd, 0, true);
}

ANYK_API int anyk_sys_dup3(int fd, int newfd, int flags)
{
	return do_dup3(fd, newfd, flags, false);
}

/* Status flags F_SETFL may change (the others are ignored, as on Linux). */
#define SETFL_MASK (ANYK_O_APPEND | ANYK_O_NONBLOCK | ANYK_O_DIRECT | ANYK_O_NOATIME)

ANYK_API int anyk_sys_fcntl(int fd, int cmd, long arg)
{
	struct file *fp;
	bool cloexec = false;
	int nfd = -1, flag, error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	switch (cmd) {
	case ANYK_F_DUPFD:
	case ANYK_F_DUPFD_CLOEXEC:
		if (arg < 0 || arg >= ANYK_OPEN_MAX) {
			error = EINVAL;
			break;
		}
		error = fd_alloc(fp, (int)arg, cmd == ANYK_F_DUPFD_CLOEXEC, &nfd);
		if (!error) {
			/* The new descriptor took over our reference. */
			return nfd;
		}
		break;
	case ANYK_F_GETFD:
		error = fd_getcloexec(fd, &cloexec);
		if (!error)
			nfd = cloexec ? ANYK_FD_CLOEXEC : 0;
		break;
	case ANYK_F_SETFD:
		error = fd_setcloexec(fd, (arg & ANYK_FD_CLOEXEC) != 0);
		nfd = 0;
		break;
	case ANYK_F_GETFL:
		nfd = atomic_load_relaxed(&fp->f_flag) & ~(ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW);
		break;
	case ANYK_F_SETFL:
		if (fp->f_flag & ANYK_O_PATH) {
			error = EBADF;
			break;
		}
		/* An append-only file's writer keeps O_APPEND. */
		if (((int)arg ^ fp->f_flag) & ANYK_O_APPEND && fp->f_vnode != NULL) {
			struct vattr va;

			vn_lock(fp->f_vnode, RW_READER);
			error = VOP_GETATTR(fp->f_vnode, &va);
			vn_unlock(fp->f_vnode);
			if (!error && (va.va_flags & ANYK_FL_APPEND))
				error = EPERM;
			if (error)
				break;
		}
		mutex_enter(&fp->f_lock);
		flag = (fp->f_flag & ~SETFL_MASK) | ((int)arg & SETFL_MASK);
		atomic_store_relaxed(&fp->f_flag, flag);
		mutex_exit(&fp->f_lock);
		nfd = 0;
		break;
	default:
		error = EINVAL;
		break;
	}
	file_release(fp);
	return error ? sys_ret(error) : nfd;
}

/* --- fsync, ftruncate ------------------------------------------------------ */

static int do_fsync(int fd, int flags)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	vp = fp->f_vnode;
	if (fp->f_flag & ANYK_O_PATH) {
		error = EBADF;
	} else if (vp == NULL || vp->v_type == VFIFO || vp->v_type == VSOCK) {
		error = EINVAL;
	} else if (vp->v_type == VCHR || vp->v_type == VBLK) {
		error = spec_fsync(vp);
	} else {
		vn_lock(vp, RW_WRITER);
		error = VOP_FSYNC(vp, flags);
		vn_unlock(vp);
	}
	file_release(fp);
	return sys_ret(error);
}

ANYK_API int anyk_sys_fsync(int fd)
{
	return do_fsync(fd, 0);
}

ANYK_API int anyk_sys_fdatasync(int fd)
{
	return do_fsync(fd, FSYNC_DATAONLY);
}

ANYK_API int anyk_sys_ftruncate(int fd, anyk_off_t len)
{
	struct file *fp;
	struct vnode *vp;
	struct cred *cred;
	struct vattr va;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	vp = fp->f_vnode;
	if (fp->f_flag & ANYK_O_PATH) {
		error = EBADF;
		goto out;
	}
	if (len < 0 || vp == NULL || vp->v_type != VREG || !file_writable(fp->f_flag)) {
		error = EINVAL;
		goto out;
	}
	cred = curcred_hold();
	vn_lock(vp, RW_WRITER);
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
	file_release(fp);
	return sys_ret(error);
}

/* --- fallocate ----------------------------------------------------------------- */

#define FALLOC_KNOWN                                                            \
	(ANYK_FALLOC_FL_KEEP_SIZE | ANYK_FALLOC_FL_PUNCH_HOLE |                 \
	 ANYK_FALLOC_FL_COLLAPSE_RANGE | ANYK_FALLOC_FL_ZERO_RANGE |            \
	 ANYK_FALLOC_FL_INSERT_RANGE)

/* The mode alone, checked as Linux checks it: EOPNOTSUPP or EINVAL. */
static int falloc_mode_check(int mode)
{
	if (mode & ~FALLOC_KNOWN)
		return EOPNOTSUPP;
	if ((mode & ANYK_FALLOC_FL_PUNCH_HOLE) && (mode & ANYK_FALLOC_FL_ZERO_RANGE))
		return EOPNOTSUPP;
	if ((mode & ANYK_FALLOC_FL_PUNCH_HOLE) && !(mode & ANYK_FALLOC_FL_KEEP_SIZE))
		return EOPNOTSUPP;
	if ((mode & ANYK_FALLOC_FL_COLLAPSE_RANGE) && (mode & ~ANYK_FALLOC_FL_COLLAPSE_RANGE))
		return EINVAL;
	if ((mode & ANYK_FALLOC_FL_INSERT_RANGE) && (mode & ~ANYK_FALLOC_FL_INSERT_RANGE))
		return EINVAL;
	return 0;
}

ANYK_API int anyk_sys_fallocate(int fd, int mode, anyk_off_t off, anyk_off_t len)
{
	struct file *fp;
	struct vnode *vp;
	struct cred *cred;
	struct vattr va;
	int error;

	if (off < 0 || len <= 0)
		return sys_ret(EINVAL);
	error = falloc_mode_check(mode);
	if (error)
		return sys_ret(error);
	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	vp = fp->f_vnode;
	if ((fp->f_flag & ANYK_O_PATH) || !file_writable(fp->f_flag))
		error = EBADF;
	else if (vp == NULL || vp->v_type == VFIFO)
		error = ESPIPE;
	else if (vp->v_type == VDIR)
		error = EISDIR;
	else if (vp->v_type != VREG)
		error = ENODEV;
	else if (off > INT64_MAX - len)
		error = EFBIG;
	if (error)
		goto out;
	cred = curcred_hold();
	vn_lock(vp, RW_WRITER);
	error = VOP_GETATTR(vp, &va);
	/* Only allocating beyond the end of an append-only file. */
	if (!error)
		error = vfs_change_flags(&va, (mode & ~ANYK_FALLOC_FL_KEEP_SIZE) == 0);
	if (!error)
		error = vn_kill_suid(vp, cred);
	if (!error)
		error = VOP_FALLOCATE(vp, mode, off, len);
	if (!error) {
		vattr_null(&va);
		va.va_mask = VA_MTIME | VA_CTIME;
		vfs_now(&va.va_mtime);
		va.va_ctime = va.va_mtime;
		error = VOP_SETATTR(vp, &va);
	}
	vn_unlock(vp);
	cred_free(cred);
out:
	file_release(fp);
	return sys_ret(error);
}

/* --- getdents ------------------------------------------------------------------ */

struct dents {
	char *buf;
	size_t len, used;
	int64_t cookie;  /* where the next call resumes */
	int count;
	bool refused;    /* an entry did not fit */
};

/* Records are built in an aligned buffer and copied out: the caller's
 * buffer need not be aligned. */
union dirent_buf {
	struct anyk_dirent de;
	char raw[roundup2(offsetof(struct anyk_dirent, d_name) + ANYK_NAME_MAX + 1, 8)];
};

static int dents_fill(void *ctx, const char *name, size_t namelen, uint64_t ino,
		      uint8_t dtype, int64_t nextcookie)
{
	struct dents *d = ctx;
	union dirent_buf rec;
	size_t reclen;

	if (namelen > ANYK_NAME_MAX)
		return 0; /* a corrupt name is skipped */
	reclen = roundup2(offsetof(struct anyk_dirent, d_name) + namelen + 1, (size_t)8);
	if (reclen > d->len - d->used) {
		d->refused = true;
		return 1;
	}
	memset(&rec, 0, reclen);
	rec.de.d_ino = ino;
	rec.de.d_off = nextcookie;
	rec.de.d_reclen = (uint16_t)reclen;
	rec.de.d_type = dtype;
	memcpy(rec.de.d_name, name, namelen);
	memcpy(d->buf + d->used, &rec, reclen);
	d->used += reclen;
	d->cookie = nextcookie;
	d->count++;
	return 0;
}

ANYK_API anyk_ssize_t anyk_sys_getdents(int fd, void *buf, size_t n)
{
	struct file *fp;
	struct vnode *vp;
	struct dents d;
	struct vattr va;
	int error;

	error = fd_getfile(fd, &fp);
	if (error)
		return sys_ret(error);
	vp = fp->f_vnode;
	if (fp->f_flag & ANYK_O_PATH) {
		error = EBADF;
		goto out;
	}
	if (vp == NULL || vp->v_type != VDIR) {
		error = ENOTDIR;
		goto out;
	}
	if (buf == NULL) {
		error = EFAULT;
		goto out;
	}
	if (n > VFS_MAX_RW)
		n = VFS_MAX_RW;
	d.buf = buf;
	d.len = n;
	d.used = 0;
	d.count = 0;
	d.refused = false;
	mutex_enter(&fp->f_lock);
	d.cookie = fp->f_offset;
	vn_lock(vp, RW_READER);
	/* A removed directory has no entries left to read (Linux: ENOENT). */
	error = VOP_GETATTR(vp, &va);
	if (!error && va.va_nlink == 0)
		error = ENOENT;
	if (!error)
		error = VOP_READDIR(vp, fp->f_offset, dents_fill, &d);
	vn_unlock(vp);
	if (!error && d.count == 0 && d.refused)
		error = EINVAL; /* the buffer cannot hold the next entry */
	if (!error)
		fp->f_offset = d.cookie;
	mutex_exit(&fp->f_lock);
out:
	file_release(fp);
	return error ? sys_ret(error) : (anyk_ssize_t)d.used;
}
