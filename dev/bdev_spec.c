/*
 * The device switch entry for block devices (/dev/sd0, /dev/sd0p1, ...):
 * byte-offset read and write of a bdev through a uio, as programs see a
 * block device node.
 *
 * Sector-aligned requests go straight between the caller's buffers and the
 * host (one copy); anything else goes through a bounce buffer and the block
 * layer's read-modify-write. Reads at or past the end return end of file;
 * writes there fail with ENOSPC, as on Linux.
 */
#include "dev/bdev.h"
#include "vfs/bio.h"

KMEM_TYPE(M_BDEVSPEC, "bdev_spec");

#define SPEC_CHUNK (64 * 1024) /* bounce buffer for unaligned transfers */
#define SPEC_IOV 16            /* caller segments passed through at once */

/* Advance a uio by n bytes without copying (the data moved elsewhere). */
static void
uio_advance(struct uio *uio, size_t n)
{
	size_t step;

	uio->uio_offset += (anyk_off_t)n;
	uio->uio_resid -= n;
	while (n > 0 && uio->uio_iovcnt > 0) {
		step = MIN(n, uio->uio_iov->iov_len);
		uio->uio_iov->iov_base = (char *)uio->uio_iov->iov_base + step;
		uio->uio_iov->iov_len -= step;
		n -= step;
		if (uio->uio_iov->iov_len == 0) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
		}
	}
}

/* Collect up to len bytes (a sector multiple) of the uio's segments into
 * iov[]; returns how many bytes, rounded down to whole sectors. */
static size_t
uio_gather(const struct uio *uio, size_t len, uint32_t ss, struct anyk_iovec *iov, int *cntp)
{
	size_t got = 0, n;
	int i, cnt = 0;

	for (i = 0; i < uio->uio_iovcnt && cnt < SPEC_IOV && got < len; i++) {
		n = MIN(uio->uio_iov[i].iov_len, len - got);
		if (n == 0)
			continue;
		iov[cnt].iov_base = uio->uio_iov[i].iov_base;
		iov[cnt].iov_len = n;
		cnt++;
		got += n;
	}
	/* Trim to whole sectors; the rest goes through the bounce path. */
	n = got % ss;
	while (n > 0 && cnt > 0) {
		size_t cut = MIN(n, iov[cnt - 1].iov_len);
		iov[cnt - 1].iov_len -= cut;
		n -= cut;
		got -= cut;
		if (iov[cnt - 1].iov_len == 0)
			cnt--;
	}
	*cntp = cnt;
	return got;
}

static int
spec_rw(anyk_dev_t dev, struct uio *uio)
{
	struct bdev *bd = bdev_lookup_open(dev);
	struct anyk_iovec iov[SPEC_IOV];
	uint8_t *chunk = NULL;
	uint64_t off, left;
	size_t len, n;
	int cnt, error = 0;
	bool rd = uio->uio_rw == UIO_READ;

	if (bd == NULL)
		return ENXIO;
	if (uio->uio_offset < 0)
		return EINVAL;
	if (!rd && bd->bd_rdonly)
		return EROFS;
	off = (uint64_t)uio->uio_offset;
	if (off >= bd->bd_size)
		return rd || uio->uio_resid == 0 ? 0 : ENOSPC;
	left = MIN((uint64_t)uio->uio_resid, bd->bd_size - off);

	while (left > 0 && error == 0) {
		off = (uint64_t)uio->uio_offset;
		if (off % bd->bd_secsize == 0 && left >= bd->bd_secsize) {
			len = uio_gather(uio, (size_t)left, bd->bd_secsize, iov, &cnt);
			if (len > 0) {
				error = rd ? bdev_readv(bd, off, iov, cnt) : bdev_writev(bd, off, iov, cnt);
				if (error == 0) {
					uio_advance(uio, len);
					left -= len;
				}
				continue;
			}
		}
		if (chunk == NULL) {
			chunk = kmem_alloc(&M_BDEVSPEC, SPEC_CHUNK);
			if (chunk == NULL) {
				error = ENOMEM;
				break;
			}
		}
		/* Up to the next sector boundary, so that the aligned path can
		 * take over after it. */
		n = (size_t)MIN(left, (uint64_t)SPEC_CHUNK);
		if (off % bd->bd_secsize != 0)
			n = (size_t)MIN((uint64_t)n, bd->bd_secsize - off % bd->bd_secsize);
		if (rd) {
			error = bdev_read(bd, off, chunk, n);
			if (error == 0)
				error = uiomove(chunk, n, uio);
		} else {
			error = uiomove(chunk, n, uio);
			if (error == 0)
				error = bdev_write(bd, off, chunk, n);
		}
		left -= n;
	}
	if (chunk != NULL)
		kmem_free(&M_BDEVSPEC, chunk, SPEC_CHUNK);
	return error;
}

static int
spec_open(anyk_dev_t dev, int fflags)
{
	struct bdev *bd;

	return bdev_open_dev(dev, (fflags & ANYK_O_ACCMODE) == ANYK_O_RDONLY, &bd);
}

static int
spec_close(anyk_dev_t dev, int fflags)
{
	struct bdev *bd = bdev_lookup_open(dev);

	if (bd == NULL)
		return ENXIO;
	bdev_close(bd);
	return 0;
}

static int
spec_read(anyk_dev_t dev, struct uio *uio, int ioflag)
{
	return spec_rw(dev, uio);
}

static int
spec_write(anyk_dev_t dev, struct uio *uio, int ioflag)
{
	int error = spec_rw(dev, uio);
	struct bdev *bd;

	if (error == 0 && (ioflag & IO_SYNC) && (bd = bdev_lookup_open(dev)) != NULL)
		error = bdev_flush(bd);
	return error;
}

static int
spec_size(anyk_dev_t dev, anyk_off_t *sizep)
{
	struct bdev *bd = bdev_lookup_open(dev);

	if (bd == NULL)
		return ENXIO;
	*sizep = (anyk_off_t)bd->bd_size;
	return 0;
}

static int
spec_fsync(anyk_dev_t dev)
{
	struct bdev *bd = bdev_lookup_open(dev);
	int error;

	if (bd == NULL)
		return ENXIO;
	error = bsync(bd);
	if (error == 0)
		error = bdev_flush(bd);
	return error;
}

static const struct devsw bdev_devsw = {
	.d_name = "disk",
	.d_type = VBLK,
	.d_open = spec_open,
	.d_close = spec_close,
	.d_read = spec_read,
	.d_write = spec_write,
	.d_size = spec_size,
	.d_fsync = spec_fsync,
};

void bdev_spec_attach(uint32_t *majorp);
void bdev_spec_detach(uint32_t major);

void
bdev_spec_attach(uint32_t *majorp)
{
	if (devsw_attach(&bdev_devsw, majorp) != 0)
		*majorp = 0;
}

void
bdev_spec_detach(uint32_t major)
{
	devsw_detach(major);
}
