/*
 * Open files and per-process descriptor tables.
 *
 * A table is an array of file pointers that grows by doubling up to
 * ANYK_OPEN_MAX entries, with a close-on-exec bit per descriptor. fd_lock is
 * a rwlock: lookups (every read, write, fstat) take it shared for a few
 * instructions and take a reference on the file; allocation, close and dup2
 * take it exclusive. A file is closed (fo_close) when its last reference
 * goes, never under fd_lock. Lock order: vnode locks > fd_lock > f_lock.
 */
#include "vfs/vfs_impl.h"

KMEM_TYPE(M_FILE, "file");
KMEM_TYPE(M_FILEDESC, "filedesc");

#define NDFILE 32 /* initial table size */

struct filedesc {
	krwlock_t fd_lock;
	int fd_nfiles;           /* size of the arrays */
	int fd_freefile;         /* no free descriptor below this */
	struct file **fd_ofiles;
	uint8_t *fd_cloexec;
};

int file_alloc(struct file **fpp)
{
	struct file *fp = kmem_zalloc(&M_FILE, sizeof(*fp));

	if (fp == NULL)
		return ENFILE;
	fp->f_ref = 1;
	mutex_init(&fp->f_lock);
	*fpp = fp;
	return 0;
}

void file_hold(struct file *fp)
{
	atomic_inc(&fp->f_ref);
}

void file_release(struct file *fp)
{
	if (atomic_dec_nv(&fp->f_ref) != 0)
		return;
	if (fp->f_ops != NULL && fp->f_ops->fo_close != NULL)
		(void)fp->f_ops->fo_close(fp);
	mutex_destroy(&fp->f_lock);
	kmem_free(&M_FILE, fp, sizeof(*fp));
}

static int fdt_alloc_arrays(int n, struct file ***ofp, uint8_t **cep)
{
	*ofp = kmem_zalloc(&M_FILEDESC, (size_t)n * sizeof(struct file *));
	*cep = kmem_zalloc(&M_FILEDESC, (size_t)n);
	if (*ofp == NULL || *cep == NULL) {
		kmem_free(&M_FILEDESC, *ofp, (size_t)n * sizeof(struct file *));
		kmem_free(&M_FILEDESC, *cep, (size_t)n);
		return ENOMEM;
	}
	return 0;
}

static int fdt_new(int n, struct filedesc **fdpp)
{
	struct filedesc *fdp = kmem_zalloc(&M_FILEDESC, sizeof(*fdp));
	int error;

	if (fdp == NULL)
		return ENOMEM;
	error = fdt_alloc_arrays(n, &fdp->fd_ofiles, &fdp->fd_cloexec);
	if (error) {
		kmem_free(&M_FILEDESC, fdp, sizeof(*fdp));
		return error;
	}
	fdp->fd_nfiles = n;
	rw_init(&fdp->fd_lock);
	*fdpp = fdp;
	return 0;
}

int fd_table_create(struct filedesc **fdpp)
{
	return fdt_new(NDFILE, fdpp);
}

int fd_table_copy(struct filedesc *src, bool exec, struct filedesc **fdpp)
{
	struct filedesc *fdp;
	int n, i, error;

	/* The size may change while unlocked; retry until it fits. */
	for (;;) {
		rw_enter(&src->fd_lock, RW_READER);
		n = src->fd_nfiles;
		rw_exit(&src->fd_lock);
		error = fdt_new(n, &fdp);
		if (error)
			return error;
		rw_enter(&src->fd_lock, RW_READER);
		if (src->fd_nfiles == n)
			break;
		rw_exit(&src->fd_lock);
		fd_table_free(fdp);
	}
	for (i = 0; i < n; i++) {
		struct file *fp = src->fd_ofiles[i];
		if (fp == NULL || (exec && src->fd_cloexec[i]))
			continue;
		file_hold(fp);
		fdp->fd_ofiles[i] = fp;
		fdp->fd_cloexec[i] = src->fd_cloexec[i];
	}
	rw_exit(&src->fd_lock);
	*fdpp = fdp;
	return 0;
}

void fd_table_free(struct filedesc *fdp)
{
	int i;

	for (i = 0; i < fdp->fd_nfiles; i++)
		if (fdp->fd_ofiles[i] != NULL)
			file_release(fdp->fd_ofiles[i]);
	kmem_free(&M_FILEDESC, fdp->fd_ofiles, (size_t)fdp->fd_nfiles * sizeof(struct file *));
	kmem_free(&M_FILEDESC, fdp->fd_cloexec, (size_t)fdp->fd_nfiles);
	rw_destroy(&fdp->fd_lock);
	kmem_free(&M_FILEDESC, fdp, sizeof(*fdp));
}

static struct filedesc *curfd(void)
{
	return curproc()->p_fd;
}

int fd_getfile(int fd, struct file **fpp)
{
	struct filedesc *fdp = curfd();
	struct file *fp = NULL;

	if (fdp == NULL || fd < 0)
		return EBADF;
	rw_enter(&fdp->fd_lock, RW_READER);
	if (fd < fdp->fd_nfiles) {
		fp = fdp->fd_ofiles[fd];
		if (fp != NULL)
			file_hold(fp);
	}
	rw_exit(&fdp->fd_lock);
	if (fp == NULL)
		return EBADF;
	*fpp = fp;
	return 0;
}

/* Grow the table (fd_lock held exclusive) so that it has index want. */
static int fdt_grow(struct filedesc *fdp, int want)
{
	struct file **nof;
	uint8_t *nce;
	int n = fdp->fd_nfiles;
	int error;

	if (want >= ANYK_OPEN_MAX)
		return EMFILE;
	while (n <= want)
		n *= 2;
	if (n > ANYK_OPEN_MAX)
		n = ANYK_OPEN_MAX;
	error = fdt_alloc_arrays(n, &nof, &nce);
	if (error)
		return error;
	memcpy(nof, fdp->fd_ofiles, (size_t)fdp->fd_nfiles * sizeof(struct file *));
	memcpy(nce, fdp->fd_cloexec, (size_t)fdp->fd_nfiles);
	kmem_free(&M_FILEDESC, fdp->fd_ofiles, (size_t)fdp->fd_nfiles * sizeof(struct file *));
	kmem_free(&M_FILEDESC, fdp->fd_cloexec, (size_t)fdp->fd_nfiles);
	fdp->fd_ofiles = nof;
	fdp->fd_cloexec = nce;
	fdp->fd_nfiles = n;
	return 0;
}

int fd_alloc(struct file *fp, int minfd, bool cloexec, int *fdp_out)
{
	struct filedesc *fdp = curfd();
	int i, error = 0;

	if (fdp == NULL)
		return EMFILE;
	if (minfd < 0 || minfd >= ANYK_OPEN_MAX)
		return minfd < 0 ? EINVAL : EMFILE;
	rw_enter(&fdp->fd_lock, RW_WRITER);
	i = MAX(minfd, fdp->fd_freefile);
	for (;; i++) {
		if (i >= fdp->fd_nfiles) {
			error = fdt_grow(fdp, i);
			if (error)
				goto out;
		}
		if (fdp->fd_ofiles[i] == NULL)
			break;
	}
	fdp->fd_ofiles[i] = fp;
	fdp->fd_cloexec[i] = cloexec;
	if (minfd <= fdp->fd_freefile)
		fdp->fd_freefile = i + 1;
	*fdp_out = i;
out:
	rw_exit(&fdp->fd_lock);
	return error;
}

int fd_dup2(struct file *fp, int newfd, bool cloexec)
{
	struct filedesc *fdp = curfd();
	struct file *old = NULL;
	int error = 0;

	if (fdp == NULL || newfd < 0 || newfd >= ANYK_OPEN_MAX)
		return EBADF;
	rw_enter(&fdp->fd_lock, RW_WRITER);
	if (newfd >= fdp->fd_nfiles) {
		error = fdt_grow(fdp, newfd);
		if (error)
			goto out;
	}
	old = fdp->fd_ofiles[newfd];
	fdp->fd_ofiles[newfd] = fp;
	fdp->fd_cloexec[newfd] = cloexec;
out:
	rw_exit(&fdp->fd_lock);
	if (old != NULL)
		file_release(old);
	return error;
}

int fd_close(int fd)
{
	struct filedesc *fdp = curfd();
	struct file *fp = NULL;

	if (fdp == NULL || fd < 0)
		return EBADF;
	rw_enter(&fdp->fd_lock, RW_WRITER);
	if (fd < fdp->fd_nfiles) {
		fp = fdp->fd_ofiles[fd];
		fdp->fd_ofiles[fd] = NULL;
		fdp->fd_cloexec[fd] = 0;
		if (fp != NULL && fd < fdp->fd_freefile)
			fdp->fd_freefile = fd;
	}
	rw_exit(&fdp->fd_lock);
	if (fp == NULL)
		return EBADF;
	file_release(fp);
	return 0;
}

int fd_getcloexec(int fd, bool *cloexecp)
{
	struct filedesc *fdp = curfd();
	int error = EBADF;

	if (fdp == NULL || fd < 0)
		return EBADF;
	rw_enter(&fdp->fd_lock, RW_READER);
	if (fd < fdp->fd_nfiles && fdp->fd_ofiles[fd] != NULL) {
		*cloexecp = fdp->fd_cloexec[fd] != 0;
		error = 0;
	}
	rw_exit(&fdp->fd_lock);
	return error;
}

int fd_setcloexec(int fd, bool cloexec)
{
	struct filedesc *fdp = curfd();
	int error = EBADF;

	if (fdp == NULL || fd < 0)
		return EBADF;
	rw_enter(&fdp->fd_lock, RW_WRITER);
	if (fd < fdp->fd_nfiles && fdp->fd_ofiles[fd] != NULL) {
		fdp->fd_cloexec[fd] = cloexec;
		error = 0;
	}
	rw_exit(&fdp->fd_lock);
	return error;
}
