/*
 * Reading file data, and SEEK_DATA/SEEK_HOLE. File data does not go
 * through the buffer cache: the requested range is mapped to runs of
 * physically contiguous blocks and each run moves in one scatter/gather
 * device read straight into the caller's iovecs (one copy, by the host).
 * Holes and unwritten extents are zero-filled in place. Only the pieces of
 * a run that do not start or end on a device sector go through a one-sector
 * bounce buffer; a run's last part sector comes in the same device read.
 * Inline files (ext2_inline.c) are copied out of the inode.
 */
#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_journal.h"


void
ext2_uio_skip(struct uio *uio, size_t n)
{
	while (n > 0) {
		struct anyk_iovec *iov = uio->uio_iov;
		size_t cnt = MIN(n, iov->iov_len);

		iov->iov_base = (char *)iov->iov_base + cnt;
		iov->iov_len -= cnt;
		uio->uio_resid -= cnt;
		uio->uio_offset += (anyk_off_t)cnt;
		n -= cnt;
		if (iov->iov_len == 0 && uio->uio_iovcnt > 1) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
		}
	}
}

/* The one-sector bounce buffer, made on first need: most reads are of
 * whole sectors, or end in a part that rides along in the same device
 * read, and never use it. */
static int
get_bounce(struct ext2_mount *em, uint8_t **bouncep)
{
	if (*bouncep == NULL)
		*bouncep = kmem_alloc(&ext2_kmem, em->em_bdev->bd_secsize);
	return *bouncep == NULL ? ENOMEM : 0;
}

static int
read_bounce(struct ext2_mount *em, uint64_t devoff, size_t n, struct uio *uio, uint8_t **bouncep)
{
	int error;

	error = get_bounce(em, bouncep);
	if (error)
		return error;
	error = bdev_read(em->em_bdev, devoff, *bouncep, n);
	if (error) {
		klog(LOG_ERR, "ext2 %s: read error %d at byte %llu", em->em_name, error,
		     (unsigned long long)devoff);
		return EIO;
	}
	return uiomove(*bouncep, n, uio);
}

/* Gather up to n bytes (a multiple of the sector size) of the uio's
 * iovecs into iov; returns the bytes gathered, a multiple of secsize. */
size_t
ext2_uio_gather(struct uio *uio, size_t n, uint32_t secsize, struct anyk_iovec *iov, int *cntp)
{
	size_t total = 0;
	int cnt = 0;

	for (int i = 0; i < uio->uio_iovcnt && cnt < EXT2_IOVS && total < n; i++) {
		const struct anyk_iovec *u = &uio->uio_iov[i];
		size_t take = MIN(u->iov_len, n - total);

		if (take == 0)
			continue;
		iov[cnt].iov_base = u->iov_base;
		iov[cnt].iov_len = take;
		cnt++;
		total += take;
	}
	/* Trim to whole sectors; the remainder goes in the next round. */
	while (cnt > 0 && total % secsize != 0) {
		size_t cut = MIN(total % secsize, iov[cnt - 1].iov_len);

		iov[cnt - 1].iov_len -= cut;
		total -= cut;
		if (iov[cnt - 1].iov_len == 0)
			cnt--;
	}
	*cntp = cnt;
	return total;
}

/* The copy for a host that cannot splice: through a kernel buffer. */
#define STREAM_CHUNK (64 * 1024)

int
ext2_stream_run(struct ext2_mount *em, uint64_t devoff, size_t n, struct uio *uio)
{
	bool out = uio->uio_rw == UIO_READ;
	size_t done = 0, chunk, c;
	uint8_t *buf;
	int error;

	error = bdev_splice(em->em_bdev, devoff, uio_stream_fd(uio), n,
			    out ? ANYK_HYP_SPLICE_OUT : ANYK_HYP_SPLICE_IN, &done);
	uio_stream_moved(uio, done);
	if (error != ENOTSUP || done != 0) {
		/* Short and no error: the stream ended before a write's data
		 * did, or (reading) the device did, which it cannot. */
		if (error == 0 && done < n)
			error = out ? EIO : EPIPE;
		return error;
	}
	chunk = MIN(n, (size_t)STREAM_CHUNK);
	buf = kmem_alloc(&ext2_kmem, chunk);
	if (buf == NULL)
		return ENOMEM;
	error = 0;
	while (n > 0 && !error) {
		c = MIN(n, chunk);
		if (out) {
			error = bdev_read(em->em_bdev, devoff, buf, c);
			if (error)
				error = EIO;
			else
				error = uiomove(buf, c, uio);
		} else {
			error = uiomove(buf, c, uio);
			if (!error && bdev_write(em->em_bdev, devoff, buf, c) != 0)
				error = EIO;
		}
		devoff += c;
		n -= c;
	}
	kmem_free(&ext2_kmem, buf, chunk);
	return error;
}

static int
read_run(struct ext2_mount *em, uint64_t devoff, size_t n, struct uio *uio, uint8_t **bouncep)
{
	uint32_t secsize = em->em_bdev->bd_secsize;
	struct anyk_iovec iov[EXT2_IOVS];
	size_t h, got, tail = 0;
	int cnt, error = 0;

	if (devoff % secsize != 0) {
		h = MIN(n, secsize - devoff % secsize);
		error = read_bounce(em, devoff, h, uio, bouncep);
		if (error)
			return error;
		devoff += h;
		n -= h;
	}
	if (uio->uio_stream != 0 && n >= secsize) {
		got = rounddown(n, (size_t)secsize);
		error = ext2_stream_run(em, devoff, got, uio);
		if (error)
			return error;
		devoff += got;
		n -= got;
	}
	while (n >= secsize) {
		tail = 0;
		got = ext2_uio_gather(uio, rounddown(n, (size_t)secsize), secsize, iov, &cnt);
		if (got == 0) {
			/* The caller's buffers are smaller than a sector. */
			error = read_bounce(em, devoff, secsize, uio, bouncep);
			got = secsize;
		} else {
			/* A run that ends inside a sector (a file's last
			 * block, mostly) reads that sector in the same device
			 * read, into the bounce buffer: one host read per
			 * small file instead of two. */
			tail = n - got < secsize && cnt < EXT2_IOVS ? n - got : 0;
			if (tail > 0) {
				error = get_bounce(em, bouncep);
				if (error)
					return error;
				iov[cnt].iov_base = *bouncep;
				iov[cnt].iov_len = secsize;
				cnt++;
			}
			error = bdev_readv(em->em_bdev, devoff, iov, cnt);
			if (error) {
				klog(LOG_ERR, "ext2 %s: read error %d at byte %llu", em->em_name, error,
				     (unsigned long long)devoff);
				error = EIO;
			} else {
				ext2_uio_skip(uio, got);
				if (tail > 0)
					error = uiomove(*bouncep, tail, uio);
			}
		}
		if (error)
			return error;
		devoff += got + tail;
		n -= got + tail;
	}
	if (n > 0)
		error = read_bounce(em, devoff, n, uio, bouncep);
	return error;
}

/*
 * A run on a read-only mount that replayed its journal in memory: blocks
 * the journal logged (file data in data=journal mode) come from the
 * replay's pinned buffers, the rest from the device as usual. n bytes from
 * byte inblk of block pblk.
 */
static int
read_run_replayed(struct ext2_mount *em, uint64_t pblk, uint64_t inblk, uint64_t n, struct uio *uio,
		  uint8_t **bouncep)
{
	unsigned bshift = em->em_sb.s_bshift;
	uint32_t bsize = em->em_bsize;
	uint64_t b, r, c;
	struct buf *bp;
	int error = 0;

	while (n > 0 && !error) {
		b = pblk + (inblk >> bshift);
		r = ext2_journal_replayed(em, b);
		if (r == b) {
			c = MIN(n, (uint64_t)bsize - (inblk & (bsize - 1)));
			error = ext2_bread(em, b, &bp);
			if (error)
				return error;
			error = uiomove((uint8_t *)bp->b_data + (inblk & (bsize - 1)), (size_t)c, uio);
			brelse(bp);
		} else {
			c = r == UINT64_MAX ? n : MIN(n, ((r - pblk) << bshift) - inblk);
			error = read_run(em, (pblk << bshift) + inblk, (size_t)c, uio, bouncep);
		}
		inblk += c;
		n -= c;
	}
	return error;
}

/* Data in the inode (ext2_inline.c): no blocks to map. */
static int
read_inline(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio)
{
	uint64_t off = (uint64_t)uio->uio_offset;

	if (uio->uio_resid == 0 || off >= ip->i_size)
		return 0;
	return ext2_inline_move(em, ip, off, (size_t)MIN((uint64_t)uio->uio_resid, ip->i_size - off), uio);
}

int
ext2_read(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio)
{
	uint32_t bsize = em->em_bsize;
	unsigned bshift = em->em_sb.s_bshift;
	uint8_t *bounce = NULL;
	struct ext2_map map;
	int error = 0;

	if (uio->uio_offset < 0)
		return EINVAL;
	if (ext2_is_inline(ip))
		return read_inline(em, ip, uio);
	while (uio->uio_resid > 0 && (uint64_t)uio->uio_offset < ip->i_size) {
		uint64_t off = (uint64_t)uio->uio_offset;
		uint64_t len = MIN((uint64_t)uio->uio_resid, ip->i_size - off);
		uint64_t lblk = off >> bshift, inblk = off & (bsize - 1), n;

		error = ext2_bmap(em, ip, lblk, howmany(inblk + len, bsize), &map);
		if (error)
			break;
		n = MIN(len, (map.m_len << bshift) - inblk);
		if (map.m_pblk == 0 || map.m_unwritten)
			error = uiozero((size_t)n, uio);
		else if (em->em_jovl != NULL)
			error = read_run_replayed(em, map.m_pblk, inblk, n, uio, &bounce);
		else
			error = read_run(em, (map.m_pblk << bshift) + inblk, (size_t)n, uio, &bounce);
		if (error)
			break;
	}
	if (bounce != NULL)
		kmem_free(&ext2_kmem, bounce, em->em_bdev->bd_secsize);
	return error;
}

int
ext2_seek_data(struct ext2_mount *em, struct ext2_inode *ip, int whence, anyk_off_t *offp)
{
	unsigned bshift = em->em_sb.s_bshift;
	uint64_t off, lblk, end;
	struct ext2_map map;
	int error;

	if (*offp < 0)
		return ENXIO;
	off = (uint64_t)*offp;
	if (off >= ip->i_size)
		return ENXIO;
	/* Inline data is all data, no holes. */
	if (ext2_is_inline(ip)) {
		*offp = (anyk_off_t)(whence == ANYK_SEEK_DATA ? off : ip->i_size);
		return 0;
	}
	end = howmany(ip->i_size, (uint64_t)em->em_bsize);
	for (lblk = off >> bshift; lblk < end; lblk += map.m_len) {
		error = ext2_bmap(em, ip, lblk, end - lblk, &map);
		if (error)
			return error;
		bool data = map.m_pblk != 0 && !map.m_unwritten;
		if (data == (whence == ANYK_SEEK_DATA)) {
			*offp = (anyk_off_t)MAX(off, lblk << bshift);
			return 0;
		}
	}
	if (whence == ANYK_SEEK_DATA)
		return ENXIO;
	*offp = (anyk_off_t)ip->i_size;
	return 0;
}
