/*
 * Host files and block devices for the kernel's disks: open, size, and
 * synchronous scatter/gather I/O that hides the host's short transfers,
 * interrupted calls and IOV_MAX limit from the kernel.
 */
#include "hyp_posix.h"
#include "hyp_record.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#include <sys/sendfile.h>
#endif

#define HYP_OPEN_VALID                                                         \
	(ANYK_HYP_OPEN_RDWR | ANYK_HYP_OPEN_CREAT | ANYK_HYP_OPEN_EXCL |       \
	 ANYK_HYP_OPEN_DIRECT)

/* iovec entries handed to one preadv/pwritev: the host's limit, and no more
 * than a small stack array holds. */
#define IOV_BATCH 64
#if defined(IOV_MAX) && IOV_MAX < IOV_BATCH
#undef IOV_BATCH
#define IOV_BATCH IOV_MAX
#endif

int
anyk_hyp_open(const char *path, int flags, int *fdp)
{
	int oflags, fd;

	if (path == NULL || fdp == NULL || (flags & ~HYP_OPEN_VALID) != 0)
		return ANYK_EINVAL;
	/* The kernel's descriptors must not leak into programs the host
	 * process runs. */
	oflags = O_CLOEXEC;
	oflags |= (flags & ANYK_HYP_OPEN_RDWR) ? O_RDWR : O_RDONLY;
	if (flags & ANYK_HYP_OPEN_CREAT)
		oflags |= O_CREAT;
	if (flags & ANYK_HYP_OPEN_EXCL)
		oflags |= O_EXCL;
#ifdef O_DIRECT
	if (flags & ANYK_HYP_OPEN_DIRECT) {
		do
			fd = open(path, oflags | O_DIRECT, 0666);
		while (fd < 0 && errno == EINTR);
		if (fd >= 0)
			goto done;
		/* tmpfs and some others refuse O_DIRECT: the flag is a hint
		 * ("if it can"), so open through the cache instead. */
		if (errno != EINVAL && errno != EOPNOTSUPP)
			return hposix_error(errno);
	}
#endif
	do
		fd = open(path, oflags, 0666);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return hposix_error(errno);
#ifdef O_DIRECT
done:
#endif
	if (flags & ANYK_HYP_OPEN_RDWR) {
		int error = hrec_open(path, fd); /* ANYK_DISK_RECORD */

		if (error) {
			close(fd);
			return error;
		}
	}
	*fdp = fd;
	return 0;
}

int
anyk_hyp_close(int fd)
{
	if (fd < 0)
		return ANYK_EBADF;
	hrec_close(fd);
	/* After EINTR the descriptor is gone on Linux and unspecified
	 * elsewhere; retrying could close someone else's new descriptor. */
	if (close(fd) != 0 && errno != EINTR)
		return hposix_error(errno);
	return 0;
}

int
anyk_hyp_fd_info(int fd, uint64_t *sizep, int *typep, uint32_t *sectorp)
{
	struct stat st;
	uint64_t size = 0;
	uint32_t sector = 512;
	int type;

	if (fstat(fd, &st) != 0)
		return hposix_error(errno);
	if (S_ISREG(st.st_mode)) {
		type = ANYK_HYP_FT_REG;
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		type = ANYK_HYP_FT_BLK;
#if defined(BLKGETSIZE64) && defined(BLKSSZGET)
		{
			int ssz;

			if (ioctl(fd, BLKGETSIZE64, &size) != 0)
				return hposix_error(errno);
			if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
				sector = (uint32_t)ssz;
		}
#else
		{
			off_t end = lseek(fd, 0, SEEK_END);

			if (end < 0)
				return hposix_error(errno);
			size = (uint64_t)end;
		}
#endif
	} else if (S_ISCHR(st.st_mode)) {
		type = ANYK_HYP_FT_CHR;
	} else if (S_ISDIR(st.st_mode)) {
		type = ANYK_HYP_FT_DIR;
	} else {
		type = ANYK_HYP_FT_OTHER;
	}
	if (sizep != NULL)
		*sizep = size;
	if (typep != NULL)
		*typep = type;
	if (sectorp != NULL)
		*sectorp = sector;
	return 0;
}

/*
 * Move the bytes described by iov at off, going on after short transfers
 * and interruptions until all are moved, the file ends (a read returns 0)
 * or an error occurs. *donep always gets what was moved.
 */
static int
rw_loop(int fd, const struct anyk_iovec *iov, int cnt, int64_t off,
	size_t *donep, bool write)
{
	struct iovec batch[IOV_BATCH];
	size_t total = 0, sum = 0, skip = 0;
	int i, n, j, error = 0;
	ssize_t r;

	if (donep != NULL)
		*donep = 0;
	if (fd < 0)
		return ANYK_EBADF;
	if (cnt < 0 || off < 0 || (iov == NULL && cnt > 0))
		return ANYK_EINVAL;
	/* The whole transfer must be expressible as one ssize_t result and
	 * must not run past the largest offset. */
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - sum)
			return ANYK_EINVAL;
		sum += iov[i].iov_len;
	}
	if ((uint64_t)sum > (uint64_t)(INT64_MAX - off))
		return ANYK_EFBIG;

	i = 0; /* first entry not yet fully moved; skip bytes of it are */
	while (i < cnt) {
		n = 0;
		for (j = i; j < cnt && n < IOV_BATCH; j++) {
			size_t s = j == i ? skip : 0;

			if (iov[j].iov_len == s)
				continue;
			batch[n].iov_base = (char *)iov[j].iov_base + s;
			batch[n].iov_len = iov[j].iov_len - s;
			n++;
		}
		if (n == 0)
			break;
		if (write)
			r = pwritev(fd, batch, n, (off_t)(off + (int64_t)total));
		else
			r = preadv(fd, batch, n, (off_t)(off + (int64_t)total));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			error = hposix_error(errno);
			break;
		}
		if (r == 0) {
			/* End of file for a read; a write that moves nothing
			 * would loop for ever. */
			if (write)
				error = ANYK_EIO;
			break;
		}
		total += (size_t)r;
		/* Step over the entries that r covered. */
		while (r > 0 && i < cnt) {
			size_t left = iov[i].iov_len - skip;

			if ((size_t)r < left) {
				skip += (size_t)r;
				r = 0;
			} else {
				r -= (ssize_t)left;
				i++;
				skip = 0;
			}
		}
	}
	if (donep != NULL)
		*donep = total;
	return error;
}

int
anyk_hyp_preadv(int fd, const struct anyk_iovec *iov, int cnt, int64_t off,
		size_t *donep)
{
	return rw_loop(fd, iov, cnt, off, donep, false);
}

int
anyk_hyp_pwritev(int fd, const struct anyk_iovec *iov, int cnt, int64_t off,
		 size_t *donep)
{
	size_t done = 0;
	int error = rw_loop(fd, iov, cnt, off, &done, true);

	hrec_write(fd, iov, cnt, off, done);
	if (donep != NULL)
		*donep = done;
	return error;
}

int
anyk_hyp_fsync(int fd)
{
	int r;

	do
		r = fsync(fd);
	while (r != 0 && errno == EINTR);
	if (r != 0)
		return hposix_error(errno);
	hrec_flush(fd, HREC_FLUSH_FSYNC);
	return 0;
}

void
anyk_hyp_prefetch(int fd, int64_t off, int64_t len)
{
	/* Starts the host's read-ahead of the range without waiting for it. */
	if (fd >= 0 && off >= 0 && len > 0)
		(void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

void
anyk_hyp_writeback(int fd, int64_t off, int64_t len)
{
	/* Starts the host's write-back of the range's dirty pages; waits
	 * only while the device's queue is full, never for the writes. */
#ifdef SYNC_FILE_RANGE_WRITE
	if (fd >= 0 && off >= 0 && len > 0)
		(void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
	(void)off;
	(void)len;
#endif
}

int
anyk_hyp_ftruncate(int fd, uint64_t size)
{
	int r;

	if (size > (uint64_t)INT64_MAX)
		return ANYK_EFBIG;
	do
		r = ftruncate(fd, (off_t)size);
	while (r != 0 && errno == EINTR);
	if (r != 0)
		return hposix_error(errno);
	hrec_size(fd, size);
	return 0;
}

/* --- host streams --------------------------------------------------------- */

/*
 * File data to or from a descriptor of the program's without a copy through
 * user memory: splice(2) when peer is a pipe (the pages of the host's cache
 * are lent to the pipe on the way out), sendfile(2) out to anything else.
 * Elsewhere, or for what Linux refuses, ENOTSUP: the kernel then copies
 * through anyk_hyp_stream_read/write.
 */
int
anyk_hyp_splice(int fd, int64_t off, int peer, size_t len, int dir, size_t *donep)
{
	size_t done = 0;
	int error = 0;

	if (donep != NULL)
		*donep = 0;
	if (fd < 0 || peer < 0)
		return ANYK_EBADF;
	if (off < 0 || len > (size_t)SSIZE_MAX || (dir != ANYK_HYP_SPLICE_OUT && dir != ANYK_HYP_SPLICE_IN))
		return ANYK_EINVAL;
	if ((uint64_t)len > (uint64_t)(INT64_MAX - off))
		return ANYK_EFBIG;
#ifdef __linux__
	/* A recorded disk's writes must reach the log with their bytes. */
	if (dir == ANYK_HYP_SPLICE_IN && hrec_recorded(fd))
		return ANYK_ENOTSUP;
	bool use_sendfile = false;

	while (done < len) {
		loff_t o = (loff_t)(off + (int64_t)done);
		size_t want = len - done;
		ssize_t r;

		if (dir == ANYK_HYP_SPLICE_IN)
			r = splice(peer, NULL, fd, &o, want, SPLICE_F_MOVE);
		else if (!use_sendfile)
			r = splice(fd, &o, peer, NULL, want, SPLICE_F_MOVE);
		else {
			off_t so = (off_t)o;

			r = sendfile(peer, fd, &so, want > 0x7ffff000 ? 0x7ffff000 : want);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Not a pipe at the far end: sendfile takes any
			 * descriptor out; in, or sendfile refused too, the
			 * kernel copies. */
			if (errno == EINVAL && done == 0 && dir == ANYK_HYP_SPLICE_OUT && !use_sendfile) {
				use_sendfile = true;
				continue;
			}
			if ((errno == EINVAL || errno == ENOSYS) && done == 0)
				error = ANYK_ENOTSUP;
			else
				error = hposix_error(errno);
			break;
		}
		if (r == 0)
			break; /* the stream (in) or the file (out) ended */
		done += (size_t)r;
	}
#else
	error = ANYK_ENOTSUP;
#endif
	if (donep != NULL)
		*donep = done;
	return error;
}

static int
stream_rw(int peer, void *buf, size_t len, size_t *donep, bool out)
{
	size_t done = 0;
	int error = 0;

	if (donep != NULL)
		*donep = 0;
	if (peer < 0)
		return ANYK_EBADF;
	if (len > (size_t)SSIZE_MAX || (buf == NULL && len > 0))
		return ANYK_EINVAL;
	while (done < len) {
		ssize_t r = out ? write(peer, (char *)buf + done, len - done)
				  : read(peer, (char *)buf + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			error = hposix_error(errno);
			break;
		}
		if (r == 0) {
			if (out)
				error = ANYK_EIO;
			break;
		}
		done += (size_t)r;
	}
	if (donep != NULL)
		*donep = done;
	return error;
}

int
anyk_hyp_stream_read(int peer, void *buf, size_t len, size_t *donep)
{
	return stream_rw(peer, buf, len, donep, false);
}

int
anyk_hyp_stream_write(int peer, const void *buf, size_t len, size_t *donep)
{
	return stream_rw(peer, (void *)(uintptr_t)buf, len, donep, true);
}
