/*
 * Host-backed disks: anyk_disk_attach() makes a host file or block device
 * appear as a block device node (/dev/sd0) with its partitions (/dev/sd0p1,
 * ...); anyk_disk_detach() takes it away again when nothing uses it.
 *
 * The backend moves data with the host's scatter/gather pread/pwrite (one
 * copy, straight between the caller's buffers and the host) and its
 * asynchronous block I/O for read-ahead. The host already caches a disk
 * image, so nothing here caches data.
 *
 * Disks still attached at shutdown are detached by a shutdown hook; one that
 * is still open then (a file system the VFS has not unmounted yet, an open
 * descriptor) is withdrawn from the namespace, but its bdevs and host handle
 * are left to their users (closing the handle could send their writes to
 * whatever host file gets its number next).
 *
 * Lock order: disk_lock > vnode locks (node creation) > bdev registry lock.
 */
#include "anyk/anyk.h"
#include "dev/part.h"

KMEM_TYPE(M_DISK, "disk");

#define DISK_MAX 16
#define DISK_PATHLEN 48 /* room for "p" and a partition number in a 64-byte path */

struct disk {
	char dk_path[DISK_PATHLEN];
	int dk_fd;
	struct bdev *dk_bdev;
	bool dk_node;      /* we made the node at dk_path */
	int dk_nparts;
	int dk_partnodes;  /* dk_parts[0 .. dk_partnodes-1] have nodes */
	struct bdev *dk_parts[PART_MAX];
	/* Read-ahead state (hints only, updated without a lock): where the
	 * last read ended, and how far the host was already asked to read. */
	uint64_t dk_lastend;
	uint64_t dk_pfend;
	/* Write-behind state (hints as well): the run of contiguous writes
	 * not yet handed to the host's write-back, [dk_wbstart, dk_wbend). */
	uint64_t dk_wbstart;
	uint64_t dk_wbend;
};

/* Sequential reads ask the host to read ahead up to this much past the
 * request, so that its cache is warm when the next read arrives
 * (ANYK_READAHEAD_KB, default 16 MiB; 0 turns read-ahead off). */
#define DISK_RA_MIN (1u << 20)
#define DISK_WB_RUN (64u << 10) /* a write this long may start a run */
static uint64_t disk_ra_max = 16u << 20;

/* A run of contiguous writes is handed to the host's write-back in pieces
 * of this much (ANYK_WRITEBEHIND_KB, default 8 MiB; 0 turns it off). */
static uint64_t disk_wb_chunk = 8u << 20;

static struct disk *disks[DISK_MAX];
static kmutex_t disk_lock;
static bool disk_ready;
static struct shutdown_hook disk_hook;

/* --- the backend ---------------------------------------------------------- */

static size_t
iov_sum(const struct anyk_iovec *iov, int cnt)
{
	size_t tot = 0;
	int i;

	for (i = 0; i < cnt; i++)
		tot += iov[i].iov_len;
	return tot;
}

/* A read that starts where the previous one ended is part of a sequential
 * stream: ask the host to fetch a window beyond it (four times the request,
 * between 1 and 16 MiB), skipping what was already asked for. Data still
 * moves in one copy, from the host's cache into the caller's buffer. */
static void
disk_readahead(struct disk *dk, uint64_t off, size_t len)
{
	uint64_t end = off + len, win, from, to;
	uint64_t last = __atomic_exchange_n(&dk->dk_lastend, end, __ATOMIC_RELAXED);

	if (off != last || len < 16384 || dk->dk_bdev == NULL || disk_ra_max == 0)
		return;
	win = MIN(MAX((uint64_t)len * 4, (uint64_t)DISK_RA_MIN), disk_ra_max);
	to = end + win;
	if (to > dk->dk_bdev->bd_size)
		to = dk->dk_bdev->bd_size;
	from = MAX(end, __atomic_load_n(&dk->dk_pfend, __ATOMIC_RELAXED));
	if (from >= to || to - from < win / 2)
		return;
	__atomic_store_n(&dk->dk_pfend, to, __ATOMIC_RELAXED);
	anyk_hyp_prefetch(dk->dk_fd, (int64_t)from, (int64_t)(to - from));
}

static int
disk_readv(void *cookie, const struct anyk_iovec *iov, int cnt, uint64_t off)
{
	struct disk *dk = cookie;
	size_t done = 0;
	int error;

	size_t len = iov_sum(iov, cnt);

	disk_readahead(dk, off, len);
	error = anyk_hyp_preadv(dk->dk_fd, iov, cnt, (int64_t)off, &done);
	if (error == 0 && done != len)
		error = EIO; /* the host file shrank under us */
	return error;
}

/* Write-behind: data written in long contiguous runs (file data streamed
 * into an image) is handed to the host's write-back every disk_wb_chunk
 * bytes, so that the host disk writes while the writer is still producing
 * instead of all at the next sync. A small write elsewhere (metadata, a
 * journal block) does not break a run; a large one starts a new run. The
 * data's own cache pages stay where they are and are still read from
 * there: this only moves the disk's work earlier. */
static void
disk_writebehind(struct disk *dk, uint64_t off, size_t len)
{
	uint64_t start, end = __atomic_load_n(&dk->dk_wbend, __ATOMIC_RELAXED);

	if (disk_wb_chunk == 0)
		return;
	if (off == end)
		start = __atomic_load_n(&dk->dk_wbstart, __ATOMIC_RELAXED);
	else if (len >= DISK_WB_RUN)
		start = off;
	else
		return;
	end = off + len;
	if (end - start >= disk_wb_chunk) {
		anyk_hyp_writeback(dk->dk_fd, (int64_t)start, (int64_t)(end - start));
		start = end;
	}
	__atomic_store_n(&dk->dk_wbstart, start, __ATOMIC_RELAXED);
	__atomic_store_n(&dk->dk_wbend, end, __ATOMIC_RELAXED);
}

static int
disk_writev(void *cookie, const struct anyk_iovec *iov, int cnt, uint64_t off)
{
	struct disk *dk = cookie;
	size_t done = 0, len = iov_sum(iov, cnt);
	int error;

	error = anyk_hyp_pwritev(dk->dk_fd, iov, cnt, (int64_t)off, &done);
	if (error == 0 && done != len)
		error = EIO;
	if (error == 0)
		disk_writebehind(dk, off, len);
	return error;
}

static int
disk_splice(void *cookie, uint64_t off, int peer, size_t len, int dir, size_t *donep)
{
	struct disk *dk = cookie;
	int error;

	if (dir == ANYK_HYP_SPLICE_OUT)
		disk_readahead(dk, off, len);
	error = anyk_hyp_splice(dk->dk_fd, (int64_t)off, peer, len, dir, donep);
	if (dir == ANYK_HYP_SPLICE_IN && *donep > 0)
		disk_writebehind(dk, off, *donep);
	return error;
}

static int
disk_flush(void *cookie)
{
	struct disk *dk = cookie;

	return anyk_hyp_fsync(dk->dk_fd);
}

static void
disk_biodone(void *arg, size_t moved, int error)
{
	struct bio *bio = arg;

	if (error == 0 && moved != bio->bio_len)
		error = EIO;
	bio_complete(bio, moved, error);
}

static void
disk_submit(void *cookie, struct bio *bio, uint64_t off)
{
	struct disk *dk = cookie;
	int op = 0;

	if (bio->bio_op & BIO_READ)
		op |= ANYK_HYP_BIO_READ;
	if (bio->bio_op & BIO_WRITE)
		op |= ANYK_HYP_BIO_WRITE;
	if (bio->bio_op & BIO_FLUSH)
		op |= ANYK_HYP_BIO_FLUSH;
	anyk_hyp_bio(dk->dk_fd, op, bio->bio_data, bio->bio_len, (int64_t)off, disk_biodone, bio);
}

static const struct bdev_ops disk_ops = {
	.bo_readv = disk_readv,
	.bo_writev = disk_writev,
	.bo_splice = disk_splice,
	.bo_flush = disk_flush,
	.bo_submit = disk_submit,
};

/* --- attach and detach ---------------------------------------------------------- */

static const char *
path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static void
partpath(const struct disk *dk, unsigned number, char *buf, size_t len)
{
	ksnprintf(buf, len, "%sp%u", dk->dk_path, number);
}

/* Remove the nodes we made (never someone else's at the same path). */
static void
disk_remove_nodes(struct disk *dk)
{
	char path[64];
	int i;

	for (i = 0; i < dk->dk_partnodes; i++) {
		partpath(dk, dk->dk_parts[i]->bd_part->pi_number, path, sizeof(path));
		(void)devnode_remove(path);
	}
	dk->dk_partnodes = 0;
	if (dk->dk_node)
		(void)devnode_remove(dk->dk_path);
	dk->dk_node = false;
}

/* Undo an attach (whole or partial); the disk is unregistered already. */
static void
disk_free(struct disk *dk)
{
	int i;

	disk_remove_nodes(dk);
	for (i = 0; i < dk->dk_nparts; i++) {
		struct bdev *bd = dk->dk_parts[i];
		if (bd->bd_part != NULL)
			kmem_free(&M_DISK, bd->bd_part, sizeof(*bd->bd_part));
		bdev_destroy(bd);
	}
	if (dk->dk_bdev != NULL)
		bdev_destroy(dk->dk_bdev);
	if (dk->dk_fd >= 0)
		(void)anyk_hyp_close(dk->dk_fd);
	kmem_free(&M_DISK, dk, sizeof(*dk));
}

static void
disk_size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ull << 30))
		ksnprintf(buf, len, "%llu.%01llu GiB", (unsigned long long)(bytes >> 30),
			  (unsigned long long)((bytes & ((1ull << 30) - 1)) * 10 >> 30));
	else if (bytes >= (1ull << 20))
		ksnprintf(buf, len, "%llu.%01llu MiB", (unsigned long long)(bytes >> 20),
			  (unsigned long long)((bytes & ((1ull << 20) - 1)) * 10 >> 20));
	else
		ksnprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
}

/* Make bdevs and nodes for the partitions found on the disk. */
static int
disk_add_parts(struct disk *dk, const struct part_table *pt)
{
	const char *base = path_base(dk->dk_path);
	char name[BDEV_NAMELEN], path[64], sz[32];
	const struct part_info *pi;
	struct bdev *bd;
	int i, error = 0;

	for (i = 0; i < pt->pt_count && dk->dk_nparts < PART_MAX; i++) {
		pi = &pt->pt_parts[i];
		ksnprintf(name, sizeof(name), "%sp%u", base, pi->pi_number);
		error = bdev_create_part(dk->dk_bdev, name, pi->pi_start, pi->pi_size, &bd);
		if (error)
			break;
		bd->bd_part = kmem_alloc(&M_DISK, sizeof(*bd->bd_part));
		if (bd->bd_part == NULL) {
			bdev_destroy(bd);
			error = ENOMEM;
			break;
		}
		*bd->bd_part = *pi;
		dk->dk_parts[dk->dk_nparts++] = bd;
		error = bdev_register(bd);
		if (error)
			break;
		partpath(dk, pi->pi_number, path, sizeof(path));
		error = devnode_create(path, VBLK, bd->bd_dev, 0660);
		if (error)
			break;
		dk->dk_partnodes = dk->dk_nparts;
		disk_size_str(pi->pi_size, sz, sizeof(sz));
		if (pi->pi_scheme == PART_SCHEME_GPT)
			klog(LOG_INFO, "%s: GPT partition at byte %llu, %s, \"%s\"", name,
			     (unsigned long long)pi->pi_start, sz, pi->pi_name);
		else
			klog(LOG_INFO, "%s: MBR partition type 0x%02x at byte %llu, %s%s", name,
			     pi->pi_mbrtype, (unsigned long long)pi->pi_start, sz,
			     pi->pi_extended ? " (extended)" : "");
	}
	return error;
}

static int
disk_attach(const char *devpath, const char *hostpath, unsigned flags)
{
	struct disk *dk = NULL;
	struct part_table *pt = NULL;
	uint64_t size;
	uint32_t hostsec, secsize, tail;
	int type, slot = -1, i, error, perr;
	bool rdonly = (flags & ANYK_DISK_RDONLY) != 0;
	char sz[32];

	if (devpath == NULL || hostpath == NULL || devpath[0] != '/' ||
	    strnlen(devpath, DISK_PATHLEN) >= DISK_PATHLEN || devpath[strlen(devpath) - 1] == '/' ||
	    (flags & ~(unsigned)(ANYK_DISK_RDONLY | ANYK_DISK_SECTOR4K | ANYK_DISK_NOPART)) != 0)
		return EINVAL;
	if (strlen(path_base(devpath)) + 5 > BDEV_NAMELEN)
		return ENAMETOOLONG;

	mutex_enter(&disk_lock);
	for (i = 0; i < DISK_MAX; i++) {
		if (disks[i] != NULL && strcmp(disks[i]->dk_path, devpath) == 0) {
			error = EEXIST;
			goto out;
		}
		if (disks[i] == NULL && slot < 0)
			slot = i;
	}
	if (slot < 0) {
		error = ENOSPC;
		goto out;
	}
	dk = kmem_zalloc(&M_DISK, sizeof(*dk));
	if (dk == NULL) {
		error = ENOMEM;
		goto out;
	}
	dk->dk_fd = -1;
	strlcpy(dk->dk_path, devpath, sizeof(dk->dk_path));

	error = anyk_hyp_open(hostpath, rdonly ? ANYK_HYP_OPEN_RDONLY : ANYK_HYP_OPEN_RDWR, &dk->dk_fd);
	if (!rdonly && (error == EACCES || error == EROFS || error == EPERM)) {
		/* The host will not let us write: attach read-only. */
		error = anyk_hyp_open(hostpath, ANYK_HYP_OPEN_RDONLY, &dk->dk_fd);
		if (error == 0)
			rdonly = true;
	}
	if (error) {
		dk->dk_fd = -1;
		goto fail;
	}
	error = anyk_hyp_fd_info(dk->dk_fd, &size, &type, &hostsec);
	if (error)
		goto fail;
	if (type == ANYK_HYP_FT_DIR) {
		error = EISDIR;
		goto fail;
	}
	if (type != ANYK_HYP_FT_REG && type != ANYK_HYP_FT_BLK) {
		error = ENOTBLK;
		goto fail;
	}
	secsize = (flags & ANYK_DISK_SECTOR4K) ? 4096 : 512;
	if (hostsec == 4096 && secsize == 512) {
		klog(LOG_INFO, "%s: the host device has 4096-byte sectors; using them", devpath);
		secsize = 4096;
	}
	if (size > (uint64_t)INT64_MAX)
		size = (uint64_t)INT64_MAX;
	tail = (uint32_t)(size % secsize);
	if (tail != 0) {
		klog(LOG_WARN, "%s: %s is not a whole number of %u-byte sectors; ignoring its last %u bytes",
		     devpath, hostpath, secsize, tail);
		size -= tail;
	}
	error = bdev_create(path_base(devpath), &disk_ops, dk, size, secsize, rdonly, &dk->dk_bdev);
	if (error)
		goto fail;
	error = bdev_register(dk->dk_bdev);
	if (error)
		goto fail;
	error = devnode_create(devpath, VBLK, dk->dk_bdev->bd_dev, 0660);
	if (error)
		goto fail;
	dk->dk_node = true;
	disk_size_str(size, sz, sizeof(sz));
	klog(LOG_INFO, "%s: %s, %s (%llu sectors of %u bytes), %s", path_base(devpath), hostpath, sz,
	     (unsigned long long)(size / secsize), secsize, rdonly ? "read-only" : "read-write");

	if (!(flags & ANYK_DISK_NOPART)) {
		pt = kmem_alloc(&M_DISK, sizeof(*pt));
		if (pt == NULL) {
			error = ENOMEM;
			goto fail;
		}
		/* A damaged table is logged and what could be read is used:
		 * the whole disk stays usable either way. */
		perr = part_scan(dk->dk_bdev, pt);
		if (perr && perr != EFSCORRUPTED) {
			klog(LOG_WARN, "%s: cannot read the partition table (error %d)", devpath, perr);
		} else {
			error = disk_add_parts(dk, pt);
			if (error)
				goto fail;
		}
	}
	disks[slot] = dk;
	dk = NULL;
	error = 0;
	goto out;
fail:
	if (dk->dk_bdev != NULL)
		(void)bdev_unregister_disk(dk->dk_bdev, dk->dk_parts, dk->dk_nparts, true);
	disk_free(dk);
out:
	mutex_exit(&disk_lock);
	if (pt != NULL)
		kmem_free(&M_DISK, pt, sizeof(*pt));
	return error;
}

/* Detach slot i (disk_lock held). At shutdown (force) a busy disk is
 * withdrawn but its memory left to its remaining users. */
static int
disk_detach_slot(int i, bool force)
{
	struct disk *dk = disks[i];
	int error;

	error = bdev_unregister_disk(dk->dk_bdev, dk->dk_parts, dk->dk_nparts, false);
	if (error == EBUSY && force) {
		(void)bdev_unregister_disk(dk->dk_bdev, dk->dk_parts, dk->dk_nparts, true);
		klog(LOG_WARN, "%s: still in use at shutdown; its memory is left to its users",
		     dk->dk_path);
		disk_remove_nodes(dk);
		disks[i] = NULL;
		return 0;
	}
	if (error)
		return error;
	disks[i] = NULL;
	klog(LOG_INFO, "%s: detached", path_base(dk->dk_path));
	disk_free(dk);
	return 0;
}

static int
disk_detach(const char *devpath)
{
	int i, error = ENXIO;

	if (devpath == NULL)
		return EINVAL;
	mutex_enter(&disk_lock);
	for (i = 0; i < DISK_MAX; i++) {
		if (disks[i] != NULL && strcmp(disks[i]->dk_path, devpath) == 0) {
			error = disk_detach_slot(i, false);
			break;
		}
	}
	mutex_exit(&disk_lock);
	return error;
}

/* Find the partition of the disk at diskpath whose GPT name is name, and
 * give its device node path. ENOENT if there is none. */
int disk_find_part(const char *diskpath, const char *name, char *buf, size_t len);

int
disk_find_part(const char *diskpath, const char *name, char *buf, size_t len)
{
	struct disk *dk;
	const struct part_info *pi;
	int i, j, error = ENOENT;

	mutex_enter(&disk_lock);
	for (i = 0; i < DISK_MAX; i++) {
		dk = disks[i];
		if (dk == NULL || strcmp(dk->dk_path, diskpath) != 0)
			continue;
		for (j = 0; j < dk->dk_nparts; j++) {
			pi = dk->dk_parts[j]->bd_part;
			if (pi != NULL && strcmp(pi->pi_name, name) == 0) {
				partpath(dk, pi->pi_number, buf, len);
				error = 0;
				break;
			}
		}
		break;
	}
	mutex_exit(&disk_lock);
	return error;
}

/* The index-th partition (0-based, in table order) of the disk at devpath,
 * for the tools' "info" and IMAGE@NAME: ENOENT past the last one, ENODEV
 * if no disk is attached there. */
static int
disk_partinfo(const char *devpath, int index, struct anyk_partinfo *out)
{
	const struct part_info *pi;
	struct disk *dk;
	int i, error = ENODEV;

	if (devpath == NULL || out == NULL || index < 0)
		return EINVAL;
	mutex_enter(&disk_lock);
	for (i = 0; i < DISK_MAX; i++) {
		dk = disks[i];
		if (dk == NULL || strcmp(dk->dk_path, devpath) != 0)
			continue;
		error = ENOENT;
		if (index >= dk->dk_nparts || dk->dk_parts[index]->bd_part == NULL)
			break;
		pi = dk->dk_parts[index]->bd_part;
		memset(out, 0, sizeof(*out));
		out->scheme = pi->pi_scheme == PART_SCHEME_GPT ? ANYK_PART_GPT : ANYK_PART_MBR;
		out->number = pi->pi_number;
		out->start = pi->pi_start;
		out->size = pi->pi_size;
		out->mbrtype = pi->pi_mbrtype;
		out->extended = pi->pi_extended;
		out->bootable = pi->pi_bootable;
		memcpy(out->typeguid, pi->pi_typeguid, 16);
		memcpy(out->guid, pi->pi_guid, 16);
		out->attrs = pi->pi_attrs;
		strlcpy(out->name, pi->pi_name, sizeof(out->name));
		partpath(dk, pi->pi_number, out->devpath, sizeof(out->devpath));
		error = 0;
		break;
	}
	mutex_exit(&disk_lock);
	return error;
}

ANYK_EXPORT int
anyk_disk_partinfo(const char *devpath, int index, struct anyk_partinfo *out)
{
	if (!kernel_running)
		return sys_ret(ENXIO);
	return sys_ret(disk_partinfo(devpath, index, out));
}

ANYK_EXPORT int
anyk_disk_attach(const char *devpath, const char *hostpath, unsigned flags)
{
	if (!kernel_running)
		return sys_ret(ENXIO);
	return sys_ret(disk_attach(devpath, hostpath, flags));
}

ANYK_EXPORT int
anyk_disk_detach(const char *devpath)
{
	if (!kernel_running)
		return sys_ret(ENXIO);
	return sys_ret(disk_detach(devpath));
}

static void
disk_fini(void)
{
	int i;

	mutex_enter(&disk_lock);
	for (i = 0; i < DISK_MAX; i++)
		if (disks[i] != NULL)
			(void)disk_detach_slot(i, true);
	mutex_exit(&disk_lock);
}

static int
disk_init(void)
{
	if (!disk_ready) {
		mutex_init(&disk_lock);
		disk_ready = true;
	}
	disk_ra_max = param_u64("ANYK_READAHEAD_KB", 16384) * 1024;
	disk_wb_chunk = param_u64("ANYK_WRITEBEHIND_KB", 8192) * 1024;
	disk_hook.name = "disk";
	disk_hook.fn = disk_fini;
	shutdown_hook_register(&disk_hook);
	return 0;
}
ANYK_COMPONENT(disk, LEVEL_DEVSW + 10, disk_init);
