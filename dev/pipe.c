/*
 * Pipes and FIFOs: a bounded ring buffer between readers and writers.
 *
 * Reads block until there is data or no writer is left (end of file);
 * writes block while the buffer is full and fail with EPIPE once no reader
 * is left. A write of at most PIPE_BUF bytes is atomic: it waits until it
 * fits whole, so writers never interleave inside one. O_NONBLOCK turns every
 * wait into EAGAIN. A read or write that moved some bytes returns them
 * rather than an error (the error comes with the next call).
 *
 * Anonymous pipes (pipe(2)) are two files on one struct pipe. A FIFO
 * (mknod S_IFIFO) has its pipe hung on the vnode (v_fifo) while any file has
 * it open; the POSIX open rules apply: a reader waits for a writer and a
 * writer for a reader, except with O_NONBLOCK (reader: succeeds at once;
 * writer: ENXIO) or O_RDWR (never waits).
 *
 * Lock order: fifo_lock > a pipe's lock.
 */
#include "dev/pipe.h"

KMEM_TYPE(M_PIPE, "pipe");

struct pipe {
	kmutex_t p_lock;
	kcondvar_t p_rcv;     /* data arrived, or the last writer left */
	kcondvar_t p_wcv;     /* room appeared, or the last reader left */
	kcondvar_t p_opencv;  /* FIFO: a reader or writer opened */
	uint8_t *p_buf;
	size_t p_head;        /* next byte to read */
	size_t p_count;       /* bytes in the buffer */
	unsigned p_readers, p_writers;
	uint64_t p_rgen, p_wgen; /* FIFO: opens of each side so far */
	struct vnode *p_vnode;   /* FIFO: referenced while attached */
	anyk_uid_t p_uid;
	anyk_gid_t p_gid;
	struct anyk_timespec p_ctime;
};

static kmutex_t fifo_lock; /* v_fifo of every FIFO vnode */
static bool pipe_ready;

static int
pipe_init(void)
{
	if (!pipe_ready) {
		mutex_init(&fifo_lock);
		pipe_ready = true;
	}
	return 0;
}
ANYK_COMPONENT(pipe, LEVEL_VFS + 10, pipe_init);

static int
pipe_alloc(struct pipe **pp)
{
	struct pipe *p;
	struct cred *cred;

	p = kmem_zalloc(&M_PIPE, sizeof(*p));
	if (p == NULL)
		return ENOMEM;
	p->p_buf = kmem_alloc(&M_PIPE, PIPE_SIZE);
	if (p->p_buf == NULL) {
		kmem_free(&M_PIPE, p, sizeof(*p));
		return ENOMEM;
	}
	mutex_init(&p->p_lock);
	cv_init(&p->p_rcv);
	cv_init(&p->p_wcv);
	cv_init(&p->p_opencv);
	cred = curcred_hold();
	p->p_uid = cred->cr_euid;
	p->p_gid = cred->cr_egid;
	cred_free(cred);
	time_real(&p->p_ctime);
	*pp = p;
	return 0;
}

static void
pipe_free(struct pipe *p)
{
	cv_destroy(&p->p_opencv);
	cv_destroy(&p->p_wcv);
	cv_destroy(&p->p_rcv);
	mutex_destroy(&p->p_lock);
	kmem_free(&M_PIPE, p->p_buf, PIPE_SIZE);
	kmem_free(&M_PIPE, p, sizeof(*p));
}

static bool
file_nonblock(struct file *fp)
{
	return (atomic_load_relaxed(&fp->f_flag) & ANYK_O_NONBLOCK) != 0;
}

static int
pipe_read(struct file *fp, struct uio *uio, int flags)
{
	struct pipe *p = fp->f_data;
	size_t n, moved = 0;
	int error = 0;

	if ((atomic_load_relaxed(&fp->f_flag) & ANYK_O_ACCMODE) == ANYK_O_WRONLY)
		return EBADF;
	if (uio->uio_resid == 0)
		return 0;
	mutex_enter(&p->p_lock);
	while (p->p_count == 0) {
		if (p->p_writers == 0)
			goto out; /* end of file */
		if (file_nonblock(fp)) {
			error = EAGAIN;
			goto out;
		}
		cv_wait(&p->p_rcv, &p->p_lock);
	}
	/* At most two pieces: up to the end of the ring, then from its start. */
	while (p->p_count > 0 && uio->uio_resid > 0 && error == 0) {
		n = MIN(p->p_count, PIPE_SIZE - p->p_head);
		n = MIN(n, uio->uio_resid);
		error = uiomove(p->p_buf + p->p_head, n, uio);
		if (error == 0) {
			p->p_head = (p->p_head + n) % PIPE_SIZE;
			p->p_count -= n;
			moved += n;
		}
	}
	if (p->p_count == 0)
		p->p_head = 0; /* keep later transfers in one piece */
	if (moved > 0)
		cv_broadcast(&p->p_wcv);
out:
	mutex_exit(&p->p_lock);
	return error;
}

static int
pipe_write(struct file *fp, struct uio *uio, int flags)
{
	struct pipe *p = fp->f_data;
	size_t n, tail, space, moved = 0;
	bool atomic = uio->uio_resid <= PIPE_BUF;
	int error = 0;

	if ((atomic_load_relaxed(&fp->f_flag) & ANYK_O_ACCMODE) == ANYK_O_RDONLY)
		return EBADF;
	mutex_enter(&p->p_lock);
	while (uio->uio_resid > 0) {
		if (p->p_readers == 0) {
			error = EPIPE;
			break;
		}
		space = PIPE_SIZE - p->p_count;
		if (space == 0 || (atomic && space < uio->uio_resid)) {
			if (file_nonblock(fp)) {
				error = EAGAIN;
				break;
			}
			cv_wait(&p->p_wcv, &p->p_lock);
			continue;
		}
		tail = (p->p_head + p->p_count) % PIPE_SIZE;
		n = MIN(space, PIPE_SIZE - tail);
		n = MIN(n, uio->uio_resid);
		error = uiomove(p->p_buf + tail, n, uio);
		if (error)
			break;
		p->p_count += n;
		moved += n;
		cv_broadcast(&p->p_rcv);
	}
	mutex_exit(&p->p_lock);
	/* Bytes that went in count; the error shows on the next write. */
	if (moved > 0 && (error == EAGAIN || error == EPIPE))
		error = 0;
	return error;
}

static int
pipe_stat(struct file *fp, struct anyk_stat *st)
{
	struct pipe *p = fp->f_data;
	struct vattr va;
	int error;

	if (fp->f_vnode != NULL) {
		vn_lock(fp->f_vnode, RW_READER);
		error = VOP_GETATTR(fp->f_vnode, &va);
		vn_unlock(fp->f_vnode);
		if (error == 0)
			vattr_to_stat(&va, st);
		return error;
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = ANYK_S_IFIFO | 0600;
	st->st_nlink = 1;
	st->st_uid = p->p_uid;
	st->st_gid = p->p_gid;
	st->st_blksize = PIPE_BUF;
	mutex_enter(&p->p_lock);
	st->st_size = (anyk_off_t)p->p_count;
	mutex_exit(&p->p_lock);
	st->st_ino = (anyk_ino_t)(uintptr_t)p;
	st->st_atim = st->st_mtim = st->st_ctim = p->p_ctime;
	return 0;
}

/* Drop one side; true if the pipe has no side left. */
static bool
pipe_drop(struct pipe *p, int acc)
{
	bool last;

	mutex_enter(&p->p_lock);
	if (acc == ANYK_O_RDONLY || acc == ANYK_O_RDWR) {
		KASSERT(p->p_readers > 0);
		if (--p->p_readers == 0)
			cv_broadcast(&p->p_wcv);
	}
	if (acc == ANYK_O_WRONLY || acc == ANYK_O_RDWR) {
		KASSERT(p->p_writers > 0);
		if (--p->p_writers == 0)
			cv_broadcast(&p->p_rcv);
	}
	last = p->p_readers == 0 && p->p_writers == 0;
	mutex_exit(&p->p_lock);
	return last;
}

static int
pipe_close(struct file *fp)
{
	struct pipe *p = fp->f_data;
	struct vnode *vp = fp->f_vnode, *fifovp = NULL;
	int acc = atomic_load_relaxed(&fp->f_flag) & ANYK_O_ACCMODE;
	bool last;

	if (vp == NULL) {
		if (pipe_drop(p, acc))
			pipe_free(p);
		return 0;
	}
	/* A FIFO: detach the pipe from the vnode under fifo_lock, so that a
	 * concurrent open either finds it still alive or makes a new one. */
	mutex_enter(&fifo_lock);
	last = pipe_drop(p, acc);
	if (last) {
		vp->v_fifo = NULL;
		fifovp = p->p_vnode;
	}
	mutex_exit(&fifo_lock);
	if (last)
		pipe_free(p);
	if (fifovp != NULL)
		vrele(fifovp);
	fp->f_vnode = NULL;
	vrele(vp);
	return 0;
}

static const struct fileops pipeops = {
	.fo_read = pipe_read,
	.fo_write = pipe_write,
	.fo_stat = pipe_stat,
	.fo_seek = NULL, /* ESPIPE */
	.fo_close = pipe_close,
};

int
pipe_create(struct file *rfp, struct file *wfp)
{
	struct pipe *p;
	int error;

	error = pipe_alloc(&p);
	if (error)
		return error;
	p->p_readers = 1;
	p->p_writers = 1;
	rfp->f_flag = (rfp->f_flag & ~ANYK_O_ACCMODE) | ANYK_O_RDONLY;
	rfp->f_ops = &pipeops;
	rfp->f_data = p;
	wfp->f_flag = (wfp->f_flag & ~ANYK_O_ACCMODE) | ANYK_O_WRONLY;
	wfp->f_ops = &pipeops;
	wfp->f_data = p;
	return 0;
}

int
fifo_open(struct vnode *vp, int fflags, struct file *fp)
{
	struct pipe *p, *np = NULL;
	int acc = fflags & ANYK_O_ACCMODE;
	bool nonblock = (fflags & ANYK_O_NONBLOCK) != 0;
	uint64_t gen;
	int error = 0;

	if (acc == ANYK_O_ACCMODE)
		return EINVAL;
	error = pipe_alloc(&np); /* outside the lock; freed if not needed */
	if (error)
		return error;
	mutex_enter(&fifo_lock);
	p = vp->v_fifo;
	if (p == NULL) {
		p = np;
		np = NULL;
		vref(vp);
		p->p_vnode = vp;
		vp->v_fifo = p;
	}
	mutex_enter(&p->p_lock);
	if (acc == ANYK_O_WRONLY && p->p_readers == 0 && nonblock) {
		error = ENXIO;
	} else {
		if (acc != ANYK_O_WRONLY) {
			p->p_readers++;
			p->p_rgen++;
		}
		if (acc != ANYK_O_RDONLY) {
			p->p_writers++;
			p->p_wgen++;
		}
		cv_broadcast(&p->p_opencv);
	}
	/* The count taken above keeps p alive without fifo_lock. */
	mutex_exit(&fifo_lock);
	if (error == 0 && !nonblock) {
		if (acc == ANYK_O_RDONLY) {
			gen = p->p_wgen;
			while (p->p_writers == 0 && p->p_wgen == gen)
				cv_wait(&p->p_opencv, &p->p_lock);
		} else if (acc == ANYK_O_WRONLY) {
			gen = p->p_rgen;
			while (p->p_readers == 0 && p->p_rgen == gen)
				cv_wait(&p->p_opencv, &p->p_lock);
		}
	}
	mutex_exit(&p->p_lock);
	if (error) {
		/* Nobody else may have it: undo the attach if it was ours. */
		struct vnode *relvp = NULL;
		mutex_enter(&fifo_lock);
		mutex_enter(&p->p_lock);
		if (p->p_readers == 0 && p->p_writers == 0 && vp->v_fifo == p) {
			vp->v_fifo = NULL;
			relvp = p->p_vnode;
		} else {
			relvp = NULL;
		}
		mutex_exit(&p->p_lock);
		mutex_exit(&fifo_lock);
		if (relvp != NULL) {
			pipe_free(p);
			vrele(relvp);
		}
	} else {
		fp->f_ops = &pipeops;
		fp->f_data = p;
	}
	if (np != NULL)
		pipe_free(np);
	return error;
}
