/*
 * Open files backed by vnodes: opening a vnode into a struct file (routing
 * devices to vfs/spec.c and FIFOs to dev/pipe.c), and the file operations
 * of regular files, directories and O_PATH descriptors.
 *
 * The file offset is read and updated under f_lock, which is held across
 * the I/O so that concurrent read()/write() on one descriptor each see a
 * consistent offset; f_lock is therefore taken before the vnode lock (it is
 * never taken while a vnode lock is held). An O_APPEND write finds the end
 * of file under the vnode's exclusive lock (IO_APPEND), so appends from
 * many descriptors never overwrite each other.
 */
#include "vfs/vfs_impl.h"

/* dev/pipe.c provides FIFOs; a kernel built without it answers ENXIO. */
extern int fifo_open(struct vnode *vp, int fflags, struct file *fp) __attribute__((weak));

int vn_truncate_locked(struct vnode *vp, anyk_off_t len)
{
	struct vattr va;

	vattr_null(&va);
	va.va_mask = VA_SIZE | VA_MTIME | VA_CTIME;
	va.va_size = len;
	vfs_now(&va.va_mtime);
	va.va_ctime = va.va_mtime;
	return VOP_SETATTR(vp, &va);
}

static int vn_read(struct file *fp, struct uio *uio, int flags)
{
	struct vnode *vp = fp->f_vnode;
	int error;

	if (vp->v_type == VDIR)
		return EISDIR;
	if (!(flags & FOF_OFFSET)) {
		mutex_enter(&fp->f_lock);
		uio->uio_offset = fp->f_offset;
	}
	/* File systems compute offset + length: it must not overflow. */
	if ((uint64_t)uio->uio_offset + uio->uio_resid > (uint64_t)INT64_MAX) {
		error = EINVAL;
	} else {
		vn_lock(vp, RW_READER);
		error = VOP_READ(vp, uio, 0);
		vn_unlock(vp);
	}
	if (!(flags & FOF_OFFSET)) {
		fp->f_offset = uio->uio_offset;
		mutex_exit(&fp->f_lock);
	}
	return error;
}

static int vn_write(struct file *fp, struct uio *uio, int flags)
{
	struct vnode *vp = fp->f_vnode;
	struct cred *cred;
	int ioflag = 0, error;
	int fflag = atomic_load_relaxed(&fp->f_flag);

	if (fflag & ANYK_O_APPEND)
		ioflag |= IO_APPEND;
	if (fflag & (ANYK_O_SYNC | ANYK_O_DSYNC))
		ioflag |= IO_SYNC;
	if (!(flags & FOF_OFFSET)) {
		mutex_enter(&fp->f_lock);
		uio->uio_offset = fp->f_offset;
	}
	if (!(ioflag & IO_APPEND) && uio->uio_resid > 0 &&
	    (uint64_t)uio->uio_offset + uio->uio_resid > (uint64_t)INT64_MAX) {
		error = EFBIG;
		goto out;
	}
	cred = curcred_hold();
	vn_lock(vp, RW_WRITER);
	error = uio->uio_resid > 0 ? vn_kill_suid(vp, cred) : 0;
	if (!error)
		error = VOP_WRITE(vp, uio, ioflag);
	vn_unlock(vp);
	cred_free(cred);
out:
	if (!(flags & FOF_OFFSET)) {
		fp->f_offset = uio->uio_offset;
		mutex_exit(&fp->f_lock);
	}
	return error;
}

int vn_stat_vnode(struct vnode *vp, struct anyk_stat *st)
{
	struct vattr va;
	int error;

	vn_lock(vp, RW_READER);
	error = VOP_GETATTR(vp, &va);
	vn_unlock(vp);
	if (error)
		return error;
	if (va.va_fsid == 0)
		va.va_fsid = vp->v_mount->mnt_fsid;
	vattr_to_stat(&va, st);
	return 0;
}

static int vn_stat(struct file *fp, struct anyk_stat *st)
{
	return vn_stat_vnode(fp->f_vnode, st);
}

int vn_seek_common(struct file *fp, anyk_off_t size_for_end, bool have_size,
		   anyk_off_t off, int whence, anyk_off_t *newoff)
{
	struct vnode *vp = fp->f_vnode;
	struct vattr va;
	anyk_off_t base, res;
	int error = 0;

	if (whence < ANYK_SEEK_SET || whence > ANYK_SEEK_HOLE)
		return EINVAL;
	mutex_enter(&fp->f_lock);
	switch (whence) {
	case ANYK_SEEK_SET:
		base = 0;
		break;
	case ANYK_SEEK_CUR:
		base = fp->f_offset;
		break;
	default:
		if (vp->v_type == VDIR) {
			error = EINVAL;
			goto out;
		}
		if (have_size) {
			base = size_for_end;
		} else {
			vn_lock(vp, RW_READER);
			error = VOP_GETATTR(vp, &va);
			vn_unlock(vp);
			if (error)
				goto out;
			base = va.va_size;
		}
		if (whence == ANYK_SEEK_END)
			break;
		/* SEEK_DATA / SEEK_HOLE */
		if (off < 0 || off >= base) {
			error = ENXIO;
			goto out;
		}
		res = off;
		vn_lock(vp, RW_READER);
		if (atomic_load_relaxed(&vp->v_op)->vop_seek != NULL)
			error = VOP_SEEK(vp, whence, &res);
		else if (whence == ANYK_SEEK_HOLE)
			res = base;
		vn_unlock(vp);
		if (error)
			goto out;
		fp->f_offset = res;
		*newoff = res;
		goto out;
	}
	if (__builtin_add_overflow(base, off, &res)) {
		error = EOVERFLOW;
		goto out;
	}
	if (res < 0) {
		error = EINVAL;
		goto out;
	}
	fp->f_offset = res;
	*newoff = res;
out:
	mutex_exit(&fp->f_lock);
	return error;
}

static int vn_seek(struct file *fp, anyk_off_t off, int whence, anyk_off_t *newoff)
{
	return vn_seek_common(fp, 0, false, off, whence, newoff);
}

static int vn_close(struct file *fp)
{
	struct vnode *vp = fp->f_vnode;
	int error = 0;

	if (!(fp->f_flag & ANYK_O_PATH))
		error = VOP_CLOSE(vp, fp->f_flag);
	fp->f_vnode = NULL;
	vrele(vp);
	return error;
}

const struct fileops vnfileops = {
	.fo_read = vn_read,
	.fo_write = vn_write,
	.fo_stat = vn_stat,
	.fo_seek = vn_seek,
	.fo_close = vn_close,
};

/* Flags a struct file keeps: access mode and status flags. */
#define FILE_FLAGS (ANYK_O_ACCMODE | ANYK_O_APPEND | ANYK_O_NONBLOCK | ANYK_O_SYNC | \
		    ANYK_O_DSYNC | ANYK_O_DIRECT | ANYK_O_LARGEFILE | ANYK_O_NOATIME | \
		    ANYK_O_PATH | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW)

int vn_open_file(struct vnode *vp, int flags, bool created, struct file **fpp)
{
	struct file *fp = NULL;
	struct cred *cred = NULL;
	int acc = flags & ANYK_O_ACCMODE;
	int mode = 0, error;

	if ((flags & ANYK_O_DIRECTORY) && vp->v_type != VDIR)
		return ENOTDIR;
	if (flags & ANYK_O_PATH) {
		error = file_alloc(&fp);
		if (error)
			return error;
		fp->f_flag = flags & (ANYK_O_PATH | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW);
		fp->f_vnode = vp;
		fp->f_ops = &vnfileops;
		*fpp = fp;
		return 0;
	}
	if (vp->v_type == VLNK)
		return ELOOP;
	if (vp->v_type == VSOCK)
		return ENXIO;
	if (vp->v_type == VDIR && (acc != ANYK_O_RDONLY || (flags & ANYK_O_TRUNC)))
		return EISDIR;
	if (!created) {
		if (acc == ANYK_O_RDONLY || acc == ANYK_O_RDWR || acc == ANYK_O_ACCMODE)
			mode |= VREAD;
		if (acc != ANYK_O_RDONLY || (flags & ANYK_O_TRUNC))
			mode |= VWRITE;
		cred = curcred_hold();
		vn_lock(vp, RW_READER);
		error = vfs_open_access(vp, cred, mode, flags);
		vn_unlock(vp);
		cred_free(cred);
		if (error)
			return error;
	}
	if ((vp->v_type == VCHR || vp->v_type == VBLK) &&
	    (vp->v_mount->mnt_flag & ANYK_MNT_NODEV))
		return EACCES;
	if ((flags & ANYK_O_TRUNC) && vp->v_type == VREG && !created) {
		vn_lock(vp, RW_WRITER);
		error = vn_truncate_locked(vp, 0);
		vn_unlock(vp);
		if (error)
			return error;
	}

	error = file_alloc(&fp);
	if (error)
		return error;
	fp->f_flag = flags & FILE_FLAGS;
	fp->f_vnode = vp;
	switch (vp->v_type) {
	case VFIFO:
		error = fifo_open != NULL ? fifo_open(vp, flags, fp) : ENXIO;
		break;
	case VCHR:
	case VBLK:
		error = spec_open(vp, flags, fp);
		break;
	default:
		error = VOP_OPEN(vp, flags);
		if (!error)
			fp->f_ops = &vnfileops;
		break;
	}
	if (error) {
		/* Not opened: free the file without closing anything. */
		fp->f_ops = NULL;
		fp->f_vnode = NULL;
		file_release(fp);
		return error;
	}
	*fpp = fp;
	return 0;
}
