/*
 * The block layer: bdev objects, their registry by device number, opening
 * by device node, and bounds-checked synchronous and asynchronous I/O.
 *
 * The registry is a fixed table of slots (the minor number is the slot), so
 * that a device read finds its bdev with one load; the open count, taken
 * under the registry lock, is what keeps a bdev alive while it is in use, and
 * a disk with anything open cannot be unregistered.
 */
#include "dev/bdev.h"
#include "vfs/bio.h"

KMEM_TYPE(M_BDEV, "bdev");

#define BDEV_SLOTS 1024

static struct bdev *bdev_slots[BDEV_SLOTS];
static kmutex_t bdev_lock; /* slots, open counts, bd_gone */
static bool bdev_ready;
static uint32_t bdev_blkmajor;

void bdev_spec_attach(uint32_t *majorp); /* dev/bdev_spec.c */
void bdev_spec_detach(uint32_t major);

static struct shutdown_hook bdev_hook;

static void
bdev_fini(void)
{
	bdev_spec_detach(bdev_blkmajor);
	atomic_store_relaxed(&bdev_blkmajor, 0);
}

static int
bdev_init(void)
{
	uint32_t major = 0;

	if (!bdev_ready) {
		mutex_init(&bdev_lock);
		bdev_ready = true;
	}
	bdev_spec_attach(&major);
	atomic_store_relaxed(&bdev_blkmajor, major);
	bdev_hook.name = "bdev";
	bdev_hook.fn = bdev_fini;
	shutdown_hook_register(&bdev_hook);
	return 0;
}
ANYK_COMPONENT(bdev, LEVEL_DEVSW, bdev_init);

uint32_t
bdev_major(void)
{
	return atomic_load_relaxed(&bdev_blkmajor);
}

static bool
secsize_ok(uint32_t s)
{
	return s == 512 || s == 1024 || s == 2048 || s == 4096;
}

int
bdev_create(const char *name, const struct bdev_ops *ops, void *cookie, uint64_t size,
	    uint32_t secsize, bool rdonly, struct bdev **bdp)
{
	struct bdev *bd;

	if (ops == NULL || ops->bo_readv == NULL || ops->bo_writev == NULL || !secsize_ok(secsize) ||
	    size % secsize != 0 || size > (uint64_t)INT64_MAX)
		return EINVAL;
	bd = kmem_zalloc(&M_BDEV, sizeof(*bd));
	if (bd == NULL)
		return ENOMEM;
	strlcpy(bd->bd_name, name, sizeof(bd->bd_name));
	bd->bd_size = size;
	bd->bd_secsize = secsize;
	bd->bd_rdonly = rdonly;
	bd->bd_whole = bd;
	bd->bd_ops = ops;
	bd->bd_cookie = cookie;
	bd->bd_slot = -1;
	mutex_init(&bd->bd_rmwlock);
	*bdp = bd;
	return 0;
}

int
bdev_create_part(struct bdev *whole, const char *name, uint64_t offset, uint64_t size,
		 struct bdev **bdp)
{
	struct bdev *bd;
	int error;

	if (whole == NULL || whole->bd_whole != whole || offset % whole->bd_secsize != 0 ||
	    offset > whole->bd_size || size > whole->bd_size - offset)
		return EINVAL;
	error = bdev_create(name, whole->bd_ops, whole->bd_cookie, size, whole->bd_secsize,
			    whole->bd_rdonly, &bd);
	if (error)
		return error;
	bd->bd_offset = offset;
	bd->bd_whole = whole;
	*bdp = bd;
	return 0;
}

void
bdev_destroy(struct bdev *bd)
{
	if (bd == NULL)
		return;
	KASSERT(bd->bd_slot < 0);
	bufcache_purge(bd);
	mutex_destroy(&bd->bd_rmwlock);
	kmem_free(&M_BDEV, bd, sizeof(*bd));
}

int
bdev_register(struct bdev *bd)
{
	int i, error = ENOSPC;

	mutex_enter(&bdev_lock);
	for (i = 0; i < BDEV_SLOTS; i++) {
		if (bdev_slots[i] == NULL) {
			bd->bd_slot = i;
			bd->bd_dev = ANYK_MAKEDEV(bdev_major(), (uint32_t)i);
			bd->bd_gone = false;
			atomic_store_release(&bdev_slots[i], bd);
			error = 0;
			break;
		}
	}
	mutex_exit(&bdev_lock);
	return error;
}

static void
bdev_unslot(struct bdev *bd)
{
	if (bd->bd_slot >= 0) {
		atomic_store_release(&bdev_slots[bd->bd_slot], NULL);
		bd->bd_slot = -1;
	}
	bd->bd_gone = true;
}

int
bdev_unregister_disk(struct bdev *whole, struct bdev **parts, int nparts, bool force)
{
	int i, error = 0;

	mutex_enter(&bdev_lock);
	if (whole->bd_busy != 0 && !force) {
		error = EBUSY;
		goto out;
	}
	if (whole->bd_busy != 0)
		klog(LOG_WARN, "%s: withdrawn while still open (%u users)", whole->bd_name,
		     whole->bd_busy);
	for (i = 0; i < nparts; i++)
		if (parts[i] != NULL)
			bdev_unslot(parts[i]);
	bdev_unslot(whole);
out:
	mutex_exit(&bdev_lock);
	return error;
}

int
bdev_open_dev(anyk_dev_t dev, bool rdonly, struct bdev **bdp)
{
	struct bdev *bd;
	uint32_t minor = ANYK_MINOR(dev);
	int error = 0;

	if (ANYK_MAJOR(dev) != bdev_major() || bdev_major() == 0 || minor >= BDEV_SLOTS)
		return ENXIO;
	mutex_enter(&bdev_lock);
	bd = bdev_slots[minor];
	if (bd == NULL || bd->bd_gone) {
		error = ENXIO;
	} else if (!rdonly && bd->bd_rdonly) {
		error = EROFS;
	} else {
		bd->bd_opencnt++;
		bd->bd_whole->bd_busy++;
		*bdp = bd;
	}
	mutex_exit(&bdev_lock);
	return error;
}

int
bdev_open_path(const char *devpath, bool rdonly, struct bdev **bdp)
{
	struct vnode *vp;
	anyk_dev_t dev;
	int error;

	if (devpath == NULL)
		return EINVAL;
	error = namei(ANYK_AT_FDCWD, devpath, NI_FOLLOW, &vp);
	if (error)
		return error;
	if (vp->v_type != VBLK) {
		vrele(vp);
		return ENOTBLK;
	}
	dev = vp->v_rdev;
	vrele(vp);
	return bdev_open_dev(dev, rdonly, bdp);
}

void
bdev_close(struct bdev *bd)
{
	mutex_enter(&bdev_lock);
	KASSERT(bd->bd_opencnt > 0 && bd->bd_whole->bd_busy > 0);
	bd->bd_opencnt--;
	bd->bd_whole->bd_busy--;
	mutex_exit(&bdev_lock);
}

struct bdev *
bdev_lookup_open(anyk_dev_t dev)
{
	uint32_t minor = ANYK_MINOR(dev);

	if (minor >= BDEV_SLOTS)
		return NULL;
	return atomic_load_acquire(&bdev_slots[minor]);
}

/* --- I/O ---------------------------------------------------------------- */

/* Is [off, off+len) inside bd? Written so that no sum can overflow. */
static bool
bdev_inrange(const struct bdev *bd, uint64_t off, uint64_t len)
{
	return off <= bd->bd_size && len <= bd->bd_size - off;
}

static int
iov_total(const struct anyk_iovec *iov, int cnt, size_t *totp)
{
	size_t tot = 0;
	int i;

	if (cnt < 0 || cnt > BDEV_IOV_MAX || (cnt > 0 && iov == NULL))
		return EINVAL;
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - tot)
			return EINVAL;
		tot += iov[i].iov_len;
	}
	*totp = tot;
	return 0;
}

static int
bdev_checkv(struct bdev *bd, uint64_t off, const struct anyk_iovec *iov, int cnt, size_t *totp)
{
	int error;

	error = iov_total(iov, cnt, totp);
	if (error)
		return error;
	if (off % bd->bd_secsize != 0 || *totp % bd->bd_secsize != 0)
		return EINVAL;
	if (!bdev_inrange(bd, off, *totp))
		return EIO;
	return 0;
}

int
bdev_readv(struct bdev *bd, uint64_t off, const struct anyk_iovec *iov, int cnt)
{
	size_t tot;
	int error;

	error = bdev_checkv(bd, off, iov, cnt, &tot);
	if (error || tot == 0)
		return error;
	return bd->bd_ops->bo_readv(bd->bd_cookie, iov, cnt, bd->bd_offset + off);
}

int
bdev_writev(struct bdev *bd, uint64_t off, const struct anyk_iovec *iov, int cnt)
{
	size_t tot;
	int error;

	if (bd->bd_rdonly)
		return EROFS;
	error = bdev_checkv(bd, off, iov, cnt, &tot);
	if (error || tot == 0)
		return error;
	return bd->bd_ops->bo_writev(bd->bd_cookie, iov, cnt, bd->bd_offset + off);
}

int
bdev_splice(struct bdev *bd, uint64_t off, int peer, size_t len, int dir, size_t *donep)
{
	*donep = 0;
	if (dir == ANYK_HYP_SPLICE_IN && bd->bd_rdonly)
		return EROFS;
	if (off % bd->bd_secsize != 0 || len % bd->bd_secsize != 0)
		return EINVAL;
	if (!bdev_inrange(bd, off, len))
		return EIO;
	if (bd->bd_ops->bo_splice == NULL)
		return ENOTSUP;
	if (len == 0)
		return 0;
	return bd->bd_ops->bo_splice(bd->bd_cookie, bd->bd_offset + off, peer, len, dir, donep);
}

/* Read one whole sector (absolute offset) into a bounce buffer. */
static int
bdev_rsector(struct bdev *bd, uint64_t abs, void *sec)
{
	struct anyk_iovec iov = { sec, bd->bd_secsize };

	return bd->bd_ops->bo_readv(bd->bd_cookie, &iov, 1, abs);
}

static int
bdev_wsector(struct bdev *bd, uint64_t abs, void *sec)
{
	struct anyk_iovec iov = { sec, bd->bd_secsize };

	return bd->bd_ops->bo_writev(bd->bd_cookie, &iov, 1, abs);
}

int
bdev_read(struct bdev *bd, uint64_t off, void *buf, size_t len)
{
	uint32_t ss = bd->bd_secsize;
	uint8_t *p = buf;
	uint8_t *sec = NULL;
	struct anyk_iovec iov;
	uint64_t abs;
	size_t n, skip, mid;
	int error = 0;

	if (!bdev_inrange(bd, off, len))
		return EIO;
	abs = bd->bd_offset + off;
	if (abs % ss != 0 || len % ss != 0) {
		sec = kmem_alloc_aligned(&M_BDEV, ss, ss);
		if (sec == NULL)
			return ENOMEM;
	}
	/* Head: the part of a sector before the first aligned offset. */
	skip = (size_t)(abs % ss);
	if (skip != 0 && len > 0) {
		n = MIN(len, ss - skip);
		error = bdev_rsector(bd, abs - skip, sec);
		if (error)
			goto out;
		memcpy(p, sec + skip, n);
		p += n;
		abs += n;
		len -= n;
	}
	/* Middle: straight into the caller's buffer. */
	mid = len - len % ss;
	if (mid > 0) {
		iov.iov_base = p;
		iov.iov_len = mid;
		error = bd->bd_ops->bo_readv(bd->bd_cookie, &iov, 1, abs);
		if (error)
			goto out;
		p += mid;
		abs += mid;
		len -= mid;
	}
	if (len > 0) {
		error = bdev_rsector(bd, abs, sec);
		if (error)
			goto out;
		memcpy(p, sec, len);
	}
out:
	if (sec != NULL)
		kmem_free(&M_BDEV, sec, ss);
	return error;
}

int
bdev_write(struct bdev *bd, uint64_t off, const void *buf, size_t len)
{
	uint32_t ss = bd->bd_secsize;
	const uint8_t *p = buf;
	uint8_t *sec = NULL;
	struct anyk_iovec iov;
	uint64_t abs;
	size_t n, skip, mid;
	bool partial;
	int error = 0;

	if (bd->bd_rdonly)
		return EROFS;
	if (!bdev_inrange(bd, off, len))
		return EIO;
	abs = bd->bd_offset + off;
	partial = abs % ss != 0 || len % ss != 0;
	if (partial) {
		sec = kmem_alloc_aligned(&M_BDEV, ss, ss);
		if (sec == NULL)
			return ENOMEM;
		/* Two partial writers of one sector must not lose each other's
		 * bytes between the read and the write back. */
		mutex_enter(&bd->bd_whole->bd_rmwlock);
	}
	skip = (size_t)(abs % ss);
	if (skip != 0 && len > 0) {
		n = MIN(len, ss - skip);
		error = bdev_rsector(bd, abs - skip, sec);
		if (error)
			goto out;
		memcpy(sec + skip, p, n);
		error = bdev_wsector(bd, abs - skip, sec);
		if (error)
			goto out;
		p += n;
		abs += n;
		len -= n;
	}
	mid = len - len % ss;
	if (mid > 0) {
		iov.iov_base = (void *)(uintptr_t)p;
		iov.iov_len = mid;
		error = bd->bd_ops->bo_writev(bd->bd_cookie, &iov, 1, abs);
		if (error)
			goto out;
		p += mid;
		abs += mid;
		len -= mid;
	}
	if (len > 0) {
		error = bdev_rsector(bd, abs, sec);
		if (error)
			goto out;
		memcpy(sec, p, len);
		error = bdev_wsector(bd, abs, sec);
	}
out:
	if (partial) {
		mutex_exit(&bd->bd_whole->bd_rmwlock);
		kmem_free(&M_BDEV, sec, ss);
	}
	return error;
}

int
bdev_flush(struct bdev *bd)
{
	if (bd->bd_ops->bo_flush == NULL)
		return 0;
	return bd->bd_ops->bo_flush(bd->bd_cookie);
}

void
bio_complete(struct bio *bio, size_t moved, int error)
{
	bio->bio_moved = moved;
	bio->bio_error = error;
	bio->bio_done(bio);
}

void
bdev_submit(struct bio *bio)
{
	struct bdev *bd = bio->bio_bdev;
	struct anyk_iovec iov;
	int op = bio->bio_op;
	int error = 0;

	if (op == BIO_FLUSH) {
		if (bio->bio_len != 0) {
			bio_complete(bio, 0, EINVAL);
			return;
		}
	} else if ((op & ~BIO_FLUSH) != BIO_READ && (op & ~BIO_FLUSH) != BIO_WRITE) {
		bio_complete(bio, 0, EINVAL);
		return;
	} else if ((op & BIO_READ) && (op & BIO_FLUSH)) {
		bio_complete(bio, 0, EINVAL);
		return;
	} else if ((op & BIO_WRITE) && bd->bd_rdonly) {
		bio_complete(bio, 0, EROFS);
		return;
	} else if (bio->bio_off % bd->bd_secsize != 0 || bio->bio_len % bd->bd_secsize != 0 ||
		   (bio->bio_len > 0 && bio->bio_data == NULL)) {
		bio_complete(bio, 0, EINVAL);
		return;
	} else if (!bdev_inrange(bd, bio->bio_off, bio->bio_len)) {
		bio_complete(bio, 0, EIO);
		return;
	}
	if (bd->bd_ops->bo_submit != NULL) {
		bd->bd_ops->bo_submit(bd->bd_cookie, bio, bd->bd_offset + bio->bio_off);
		return;
	}
	/* A backend without asynchronous I/O: do it now. */
	iov.iov_base = bio->bio_data;
	iov.iov_len = bio->bio_len;
	if (op & BIO_READ)
		error = bdev_readv(bd, bio->bio_off, &iov, 1);
	else if (op & BIO_WRITE)
		error = bdev_writev(bd, bio->bio_off, &iov, 1);
	if (error == 0 && (op & BIO_FLUSH))
		error = bdev_flush(bd);
	bio_complete(bio, error ? 0 : bio->bio_len, error);
}
