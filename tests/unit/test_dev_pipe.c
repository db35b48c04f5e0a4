/*
 * Pipes and FIFOs through their file operations: end of file, EPIPE,
 * O_NONBLOCK, atomic writes of PIPE_BUF bytes from four writers at once,
 * pipe2() flag checking, and the FIFO open rules.
 */
#include "../harness.h"

#include <pthread.h>

#include <anyk/anyk.h>

#include "dev/pipe.h"

static int
xfer(struct file *fp, void *buf, size_t n, enum uio_rw rw, size_t *moved)
{
	struct anyk_iovec iov;
	struct uio uio;
	int error;

	uio_init_kernel(&uio, &iov, buf, n, 0, rw);
	error = rw == UIO_READ ? fp->f_ops->fo_read(fp, &uio, FOF_OFFSET)
			       : fp->f_ops->fo_write(fp, &uio, FOF_OFFSET);
	if (moved)
		*moved = n - uio.uio_resid;
	return error;
}

static void
mkpipe(struct file **r, struct file **w, int flags)
{
	file_alloc(r);
	file_alloc(w);
	(*r)->f_flag = flags;
	(*w)->f_flag = flags;
	pipe_create(*r, *w);
}

static void
test_basic(void)
{
	struct file *r, *w;
	char buf[100];
	size_t n;

	mkpipe(&r, &w, 0);
	T_EQ(xfer(w, "hello", 5, UIO_WRITE, &n), 0, "write to a pipe");
	T_EQ(n, 5, "... all of it");
	T_EQ(xfer(r, buf, sizeof(buf), UIO_READ, &n), 0, "read from a pipe");
	T_OK(n == 5 && memcmp(buf, "hello", 5) == 0, "... what was written");
	T_EQ(xfer(r, buf, 5, UIO_WRITE, &n), ANYK_EBADF, "write to the read end: EBADF");
	T_EQ(xfer(w, buf, 5, UIO_READ, &n), ANYK_EBADF, "read from the write end: EBADF");
	T_OK(r->f_ops->fo_seek == NULL, "no seeking on a pipe (ESPIPE)");
	struct anyk_stat st;
	T_OK(r->f_ops->fo_stat(r, &st) == 0 && ANYK_S_ISFIFO(st.st_mode), "fstat says FIFO");
	xfer(w, "x", 1, UIO_WRITE, NULL);
	file_release(w);
	T_EQ(xfer(r, buf, sizeof(buf), UIO_READ, &n), 0, "data left after the writer closed");
	T_EQ(n, 1, "... is read");
	T_EQ(xfer(r, buf, sizeof(buf), UIO_READ, &n), 0, "then end of file");
	T_EQ(n, 0, "... zero bytes");
	file_release(r);

	mkpipe(&r, &w, 0);
	file_release(r);
	T_EQ(xfer(w, "x", 1, UIO_WRITE, &n), ANYK_EPIPE, "write with no reader: EPIPE");
	file_release(w);
}

static void
test_nonblock(void)
{
	struct file *r, *w;
	static char big[PIPE_SIZE + 100];
	size_t n;

	mkpipe(&r, &w, ANYK_O_NONBLOCK);
	T_EQ(xfer(r, big, 10, UIO_READ, &n), ANYK_EAGAIN, "non-blocking read of an empty pipe: EAGAIN");
	T_EQ(xfer(w, big, sizeof(big), UIO_WRITE, &n), 0, "non-blocking write larger than the pipe");
	T_EQ(n, PIPE_SIZE, "... is short: the pipe's size");
	T_EQ(xfer(w, big, 1, UIO_WRITE, &n), ANYK_EAGAIN, "then a write to a full pipe: EAGAIN");
	T_EQ(xfer(r, big, 100, UIO_READ, &n), 0, "read 100 bytes");
	T_EQ(xfer(w, big, 200, UIO_WRITE, &n), ANYK_EAGAIN, "an atomic write that does not fit: EAGAIN");
	T_EQ(n, 0, "... and writes nothing");
	T_EQ(xfer(w, big, 100, UIO_WRITE, &n), 0, "one that fits goes in");
	file_release(r);
	file_release(w);
}

#define NW 4
#define RECS 400
static struct file *ar, *aw;

static void *
writer(void *arg)
{
	unsigned char rec[PIPE_BUF];
	size_t n;

	for (int i = 0; i < RECS; i++) {
		memset(rec, (int)(uintptr_t)arg * 16 + i % 16, sizeof(rec));
		if (xfer(aw, rec, sizeof(rec), UIO_WRITE, &n) != 0 || n != sizeof(rec))
			return (void *)1;
	}
	return NULL;
}

static void
test_atomic(void)
{
	pthread_t t[NW];
	unsigned char rec[PIPE_BUF], chunk[3000];
	size_t have = 0, n, i, k;
	int records = 0, torn = 0, fails = 0;
	void *rv;

	mkpipe(&ar, &aw, 0);
	for (i = 0; i < NW; i++)
		pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)(i + 1));
	/* Read in odd-sized pieces; reassemble PIPE_BUF-byte records. */
	while (records < NW * RECS) {
		if (xfer(ar, chunk, sizeof(chunk), UIO_READ, &n) != 0 || n == 0) {
			fails++;
			break;
		}
		for (k = 0; k < n; k++) {
			rec[have++] = chunk[k];
			if (have == sizeof(rec)) {
				for (i = 1; i < sizeof(rec); i++)
					if (rec[i] != rec[0]) {
						torn++;
						break;
					}
				records++;
				have = 0;
			}
		}
	}
	for (i = 0; i < NW; i++) {
		pthread_join(t[i], &rv);
		if (rv != NULL)
			fails++;
	}
	T_EQ(fails, 0, "four writers and a reader run to the end");
	T_EQ(records, NW * RECS, "every record arrives");
	T_EQ(torn, 0, "no PIPE_BUF write is interleaved with another");
	file_release(aw);
	T_EQ(xfer(ar, chunk, 10, UIO_READ, &n), 0, "end of file after the writers");
	file_release(ar);
}

static void
test_syscalls(void)
{
	int fds[2] = { -1, -1 };
	struct file *fp;

	T_OK(anyk_sys_pipe2(fds, 0x4) == -1, "pipe2 with a bad flag fails (EINVAL)");
	T_OK(anyk_sys_pipe2(fds, ANYK_O_APPEND) == -1, "pipe2 with O_APPEND fails");
	T_OK(anyk_sys_pipe2(fds, ANYK_O_CLOEXEC | ANYK_O_NONBLOCK) == 0 && fds[0] >= 0 && fds[1] >= 0 &&
	     fds[0] != fds[1], "pipe2(O_CLOEXEC|O_NONBLOCK)");
	if (fd_getfile(fds[0], &fp) == 0) {
		T_OK((fp->f_flag & ANYK_O_NONBLOCK) && (fp->f_flag & ANYK_O_ACCMODE) == ANYK_O_RDONLY,
		     "read end is non-blocking and read-only");
		file_release(fp);
	}
	T_EQ(fd_close(fds[0]), 0, "close read end");
	T_EQ(fd_close(fds[1]), 0, "close write end");
	T_OK(anyk_sys_pipe(fds) == 0, "pipe()");
	fd_close(fds[0]);
	fd_close(fds[1]);
}

static struct vnode *fifovp;

static int
fopen_fifo(int flags, struct file **fpp)
{
	struct file *fp;
	int error;

	file_alloc(&fp);
	fp->f_flag = flags;
	vref(fifovp);
	fp->f_vnode = fifovp;
	error = fifo_open(fifovp, flags, fp);
	if (error) {
		fp->f_vnode = NULL;
		vrele(fifovp);
		fp->f_ops = NULL;
		file_release(fp);
		return error;
	}
	*fpp = fp;
	return 0;
}

static void *
fifo_reader(void *arg)
{
	struct file *fp;
	char buf[10];
	size_t n = 0;

	if (fopen_fifo(ANYK_O_RDONLY, &fp) != 0)
		return (void *)1;
	xfer(fp, buf, sizeof(buf), UIO_READ, &n);
	file_release(fp);
	return n == 3 && memcmp(buf, "abc", 3) == 0 ? NULL : (void *)1;
}

static void
test_fifo(void)
{
	struct nameidata nd;
	struct vattr va;
	struct file *r, *w;
	pthread_t t;
	void *rv;
	size_t n;
	char buf[8];

	if (namei_parent(ANYK_AT_FDCWD, "/fifo", 0, &nd) != 0) {
		T_SKIP("no namespace to make a FIFO in");
		return;
	}
	vattr_null(&va);
	va.va_type = VFIFO;
	va.va_mode = 0600;
	vn_lock(nd.ni_dvp, RW_WRITER);
	T_EQ(VOP_MKNOD(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, &fifovp), 0, "mknod a FIFO");
	vn_unlock(nd.ni_dvp);
	nameidata_release(&nd);

	T_EQ(fopen_fifo(ANYK_O_WRONLY | ANYK_O_NONBLOCK, &w), ANYK_ENXIO,
	     "non-blocking open for writing without a reader: ENXIO");
	T_OK(fifovp->v_fifo == NULL, "... leaves no pipe behind");
	T_EQ(fopen_fifo(ANYK_O_RDONLY | ANYK_O_NONBLOCK, &r), 0, "non-blocking open for reading succeeds");
	T_EQ(fopen_fifo(ANYK_O_WRONLY, &w), 0, "then open for writing succeeds");
	T_EQ(xfer(w, "xyz", 3, UIO_WRITE, &n), 0, "write into the FIFO");
	T_OK(xfer(r, buf, sizeof(buf), UIO_READ, &n) == 0 && n == 3 && memcmp(buf, "xyz", 3) == 0,
	     "read it out the other end");
	file_release(w);
	file_release(r);
	T_OK(fifovp->v_fifo == NULL, "last close detaches the pipe");

	/* A blocking reader waits for the writer. */
	pthread_create(&t, NULL, fifo_reader, NULL);
	T_EQ(fopen_fifo(ANYK_O_WRONLY, &w), 0, "blocking open for writing meets the reader");
	xfer(w, "abc", 3, UIO_WRITE, &n);
	file_release(w);
	pthread_join(t, &rv);
	T_OK(rv == NULL, "the blocked reader got the data");
	T_EQ(fopen_fifo(ANYK_O_RDWR, &r), 0, "O_RDWR never waits");
	file_release(r);
	vrele(fifovp);
}

int
main(void)
{
	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	test_basic();
	test_nonblock();
	test_atomic();
	test_syscalls();
	test_fifo();
	anyk_fini();
	return t_done();
}
