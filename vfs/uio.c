/*
 * Moving data between kernel buffers and the caller's scatter/gather
 * lists. The caller's buffers are used directly: no bounce copies. A uio
 * over a host stream moves through the stream hypercalls instead.
 */
#include "vfs/vfs_impl.h"

static void uio_advance(struct uio *uio, size_t n)
{
	struct anyk_iovec *iov = uio->uio_iov;

	iov->iov_base = (char *)iov->iov_base + n;
	iov->iov_len -= n;
	uio->uio_resid -= n;
	uio->uio_offset += (anyk_off_t)n;
}

void uio_stream_moved(struct uio *uio, size_t n)
{
	KASSERT(uio->uio_stream != 0 && n <= uio->uio_resid);
	uio->uio_resid -= n;
	uio->uio_offset += (anyk_off_t)n;
}

/* Between kbuf and the host stream: the host copies. A stream that ends
 * before a write's data is all there is a broken pipe to the file system. */
static int stream_move(void *kbuf, size_t n, struct uio *uio)
{
	size_t done = 0;
	int error;

	n = MIN(n, uio->uio_resid);
	if (uio->uio_rw == UIO_READ)
		error = anyk_hyp_stream_write(uio_stream_fd(uio), kbuf, n, &done);
	else
		error = anyk_hyp_stream_read(uio_stream_fd(uio), kbuf, n, &done);
	uio_stream_moved(uio, done);
	if (error == 0 && done < n)
		error = EPIPE;
	return error;
}

static const uint8_t zeros[4096];

int uiomove(void *kbuf, size_t n, struct uio *uio)
{
	char *cp = kbuf;

	if (uio->uio_stream != 0)
		return stream_move(kbuf, n, uio);

	while (n > 0 && uio->uio_resid > 0) {
		struct anyk_iovec *iov = uio->uio_iov;
		size_t cnt;

		if (uio->uio_iovcnt <= 0)
			return EFAULT;
		cnt = MIN(n, iov->iov_len);
		if (cnt == 0) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
			continue;
		}
		if (iov->iov_base == NULL)
			return EFAULT;
		if (uio->uio_rw == UIO_READ)
			memcpy(iov->iov_base, cp, cnt);
		else
			memcpy(cp, iov->iov_base, cnt);
		uio_advance(uio, cnt);
		cp += cnt;
		n -= cnt;
	}
	return 0;
}

int uiozero(size_t n, struct uio *uio)
{
	KASSERT(uio->uio_rw == UIO_READ);
	while (uio->uio_stream != 0 && n > 0 && uio->uio_resid > 0) {
		size_t cnt = MIN(n, sizeof(zeros));
		int error = stream_move((void *)(uintptr_t)zeros, cnt, uio);

		if (error)
			return error;
		n -= cnt;
	}
	while (n > 0 && uio->uio_resid > 0) {
		struct anyk_iovec *iov = uio->uio_iov;
		size_t cnt;

		if (uio->uio_iovcnt <= 0)
			return EFAULT;
		cnt = MIN(n, iov->iov_len);
		if (cnt == 0) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
			continue;
		}
		if (iov->iov_base == NULL)
			return EFAULT;
		memset(iov->iov_base, 0, cnt);
		uio_advance(uio, cnt);
		n -= cnt;
	}
	return 0;
}

void uio_init_kernel(struct uio *uio, struct anyk_iovec *iov, void *buf, size_t len,
		     anyk_off_t off, enum uio_rw rw)
{
	iov->iov_base = buf;
	iov->iov_len = len;
	uio->uio_iov = iov;
	uio->uio_iovcnt = 1;
	uio->uio_offset = off;
	uio->uio_resid = len;
	uio->uio_rw = rw;
	uio->uio_stream = 0;
}
