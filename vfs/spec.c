/*
 * Open character and block device nodes: the file operations route reads,
 * writes and closes to the driver found in the device switch by the node's
 * device number. The node's own attributes (owner, mode, times) stay the
 * file system's.
 */
#include "vfs/vfs_impl.h"

/* The device switch lives in dev/; a kernel linked without it (only the VFS
 * and tmpfs, say) has no devices, and opening a device node answers ENXIO. */
extern const struct devsw *devsw_lookup(anyk_dev_t dev) __attribute__((weak));

static const struct devsw *spec_lookup(anyk_dev_t dev)
{
	return devsw_lookup != NULL ? devsw_lookup(dev) : NULL;
}

int spec_open(struct vnode *vp, int fflags, struct file *fp)
{
	const struct devsw *d = spec_lookup(vp->v_rdev);
	int error = 0;

	if (d == NULL || d->d_type != (int)vp->v_type)
		return ENXIO;
	if (d->d_open != NULL)
		error = d->d_open(vp->v_rdev, fflags);
	if (!error)
		fp->f_ops = &specfileops;
	return error;
}

/* fsync(2) of a device node: the driver's flush, if it has one. */
int spec_fsync(struct vnode *vp)
{
	const struct devsw *d = spec_lookup(vp->v_rdev);

	return (d != NULL && d->d_fsync != NULL) ? d->d_fsync(vp->v_rdev) : 0;
}

static const struct devsw *spec_dev(struct file *fp)
{
	return spec_lookup(fp->f_vnode->v_rdev);
}

static int spec_rw(struct file *fp, struct uio *uio, int flags)
{
	const struct devsw *d = spec_dev(fp);
	int ioflag = 0, error;

	if (d == NULL)
		return ENXIO;
	if (fp->f_flag & (ANYK_O_SYNC | ANYK_O_DSYNC))
		ioflag |= IO_SYNC;
	if (!(flags & FOF_OFFSET)) {
		mutex_enter(&fp->f_lock);
		uio->uio_offset = fp->f_offset;
	}
	/* Drivers add the transfer to the offset: it must not overflow. */
	if (uio->uio_offset < 0 || (uint64_t)uio->uio_offset + uio->uio_resid > (uint64_t)INT64_MAX)
		error = EINVAL;
	else if (uio->uio_rw == UIO_READ)
		error = d->d_read != NULL ? d->d_read(fp->f_vnode->v_rdev, uio, ioflag) : EINVAL;
	else
		error = d->d_write != NULL ? d->d_write(fp->f_vnode->v_rdev, uio, ioflag) : EINVAL;
	if (!(flags & FOF_OFFSET)) {
		fp->f_offset = uio->uio_offset;
		mutex_exit(&fp->f_lock);
	}
	return error;
}

static int spec_stat(struct file *fp, struct anyk_stat *st)
{
	return vn_stat_vnode(fp->f_vnode, st);
}

static int spec_seek(struct file *fp, anyk_off_t off, int whence, anyk_off_t *newoff)
{
	const struct devsw *d = spec_dev(fp);
	anyk_off_t size = 0;
	int error;

	if (d == NULL)
		return ENXIO;
	if (d->d_size != NULL) {
		error = d->d_size(fp->f_vnode->v_rdev, &size);
		if (error)
			return error;
	}
	return vn_seek_common(fp, size, true, off, whence, newoff);
}

static int spec_close(struct file *fp)
{
	struct vnode *vp = fp->f_vnode;
	const struct devsw *d = spec_lookup(vp->v_rdev);
	int error = 0;

	if (d != NULL && d->d_close != NULL)
		error = d->d_close(vp->v_rdev, fp->f_flag);
	fp->f_vnode = NULL;
	vrele(vp);
	return error;
}

const struct fileops specfileops = {
	.fo_read = spec_rw,
	.fo_write = spec_rw,
	.fo_stat = spec_stat,
	.fo_seek = spec_seek,
	.fo_close = spec_close,
};
