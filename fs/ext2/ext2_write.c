/*
 * Writing file data and changing file sizes. Like reads, data bypasses the
 * buffer cache: each run of whole blocks that is contiguous on disk goes
 * out in one scatter/gather device write straight from the caller's
 * iovecs. Only a block the write covers in part is read, changed and
 * written back through a one-block bounce buffer (and a new block is
 * zero-filled there instead of read).
 *
 * Holes get blocks as the write reaches them, as long a run as the
 * allocator gives, aimed right after the file's previous block.
 */
#include "fs/ext2/ext2.h"

uint64_t
ext2_goal(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct ext2_map map;

	if (lblk > 0 && ip->i_extloaded) {
		ext2_ext_lookup(ip, lblk - 1, 1, &map);
		if (map.m_pblk != 0)
			return map.m_pblk + 1;
	}
	if (ip->i_goal != 0)
		return ip->i_goal;
	/* A new file starts in its inode's group. */
	return sb->s_first_data_block +
	       (uint64_t)((ip->i_ino - 1) / sb->s_inodes_per_group) * sb->s_blocks_per_group;
}

/* Unwritten extents up to this size are zeroed and marked written whole
 * when a write reaches into them, as ext4 does by default. */
#define ZEROOUT_MAX (32u << 10)

/*
 * map (from lblk) lies in an unwritten extent. If that extent is small,
 * write zeros to its blocks outside map, mark it all written and return 0
 * (map unchanged: the caller fills it); EAGAIN if it is not small.
 */
static int
convert_small(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, const struct ext2_map *map)
{
	uint32_t bsize = em->em_bsize, shift = em->em_sb.s_bshift;
	uint64_t xend, mend = lblk + map->m_len;
	struct ext2_ext x;
	uint8_t *z;
	int error = 0;

	if (!ext2_ext_extent_of(ip, lblk, &x) || (uint64_t)x.e_len * bsize > ZEROOUT_MAX)
		return EAGAIN;
	xend = (uint64_t)x.e_lblk + x.e_len;
	z = kmem_zalloc(&ext2_kmem, ZEROOUT_MAX);
	if (z == NULL)
		return EAGAIN; /* the split needs no buffer */
	if (lblk > x.e_lblk)
		error = bdev_write(em->em_bdev, x.e_pblk << shift, z, (size_t)(lblk - x.e_lblk) << shift);
	if (!error && mend < xend)
		error = bdev_write(em->em_bdev, (x.e_pblk + (mend - x.e_lblk)) << shift, z,
				   (size_t)(xend - mend) << shift);
	kmem_free(&ext2_kmem, z, ZEROOUT_MAX);
	if (error)
		return EIO;
	return ext2_ext_mark_written(em, ip, x.e_lblk, x.e_len);
}

/*
 * Map up to want blocks of the hole at lblk of an extent file (its map
 * loaded) to newly allocated blocks, as written data or unwritten; on
 * success the run is *blkp, *gotp blocks long (at least one).
 */
int
ext2_ext_alloc_run(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t want, bool unwritten,
		   uint64_t *blkp, uint64_t *gotp)
{
	uint64_t blk, got, avail;
	uint32_t reserve;
	int error;

	/* Leave room for the tree nodes that mapping one more extent may need. */
	reserve = ext2_ext_reserve(em, ip);
	avail = ext2_free_blocks(em);
	if (avail <= reserve)
		return ENOSPC;
	error = ext2_balloc(em, ext2_goal(em, ip, lblk), MIN(want, avail - reserve), &blk, &got);
	if (error)
		return error;
	error = ext2_ext_insert(em, ip, (uint32_t)lblk, (uint32_t)got, blk, unwritten);
	if (error) {
		ext2_bfree(em, blk, got, false);
		return error;
	}
	ip->i_blocks512 += got << (em->em_sb.s_bshift - 9);
	ip->i_goal = blk + got;
	*blkp = blk;
	*gotp = got;
	return 0;
}

int
ext2_map_alloc(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint64_t want, struct ext2_map *map,
	       bool *isnewp)
{
	int error;

	*isnewp = false;
	if (want == 0)
		want = 1;
	if (!(ip->i_flags & EXT4_EXTENTS_FL)) {
		error = ext2_bmap_indirect(em, ip, lblk, want, map);
		if (error || map->m_pblk != 0)
			return error;
		if (ip->i_goal == 0)
			ip->i_goal = ext2_goal(em, ip, lblk);
		error = ext2_ind_alloc(em, ip, lblk, MIN(want, map->m_len), map);
		if (!error)
			*isnewp = true;
		return error;
	}
	error = ext2_ext_load(em, ip);
	if (error)
		return error;
	if (lblk >= (uint64_t)1 << 32)
		return EFBIG;
	ext2_ext_lookup(ip, lblk, MIN(want, ((uint64_t)1 << 32) - lblk), map);
	if (map->m_pblk != 0 && !map->m_unwritten)
		return 0;
	if (map->m_pblk != 0) {
		/* A small unwritten extent is written whole (zeros around
		 * what the caller writes) rather than split in three. */
		error = convert_small(em, ip, lblk, map);
		if (error == EAGAIN)
			error = ext2_ext_mark_written(em, ip, (uint32_t)lblk, (uint32_t)map->m_len);
	} else {
		error = ext2_ext_alloc_run(em, ip, lblk, map->m_len, false, &map->m_pblk, &map->m_len);
	}
	if (error)
		return error;
	map->m_unwritten = false;
	*isnewp = true;
	return 0;
}

static int
write_err(struct ext2_mount *em, int error, uint64_t devoff)
{
	klog(LOG_ERR, "ext2 %s: write error %d at byte %llu", em->em_name, error, (unsigned long long)devoff);
	return EIO;
}

/* n bytes (whole blocks) from the uio to the device at devoff. */
static int
write_run(struct ext2_mount *em, uint64_t devoff, size_t n, struct uio *uio, uint8_t *bounce)
{
	uint32_t secsize = em->em_bdev->bd_secsize, bsize = em->em_bsize;
	struct anyk_iovec iov[EXT2_IOVS];
	size_t got;
	int cnt, error;

	if (uio->uio_stream != 0 && bsize % secsize == 0) {
		error = ext2_stream_run(em, devoff, n, uio);
		return error == EIO ? write_err(em, error, devoff) : error;
	}
	while (n > 0) {
		got = bsize % secsize == 0 ? ext2_uio_gather(uio, n, secsize, iov, &cnt) : 0;
		if (got == 0) {
			/* Caller buffers smaller than a sector: a block at a time. */
			got = MIN(n, (size_t)bsize);
			error = uiomove(bounce, got, uio);
			if (error)
				return error;
			error = bdev_write(em->em_bdev, devoff, bounce, got);
		} else {
			error = bdev_writev(em->em_bdev, devoff, iov, cnt);
			if (!error)
				ext2_uio_skip(uio, got);
		}
		if (error)
			return write_err(em, error, devoff);
		devoff += got;
		n -= got;
	}
	return 0;
}

int
ext2_write(struct ext2_mount *em, struct ext2_inode *ip, struct uio *uio, int ioflag)
{
	uint32_t bsize = em->em_bsize;
	unsigned bshift = em->em_sb.s_bshift;
	size_t start = uio->uio_resid;
	uint8_t *bounce = NULL;
	struct ext2_map map;
	uint64_t fresh_start = 0, fresh_end = 0; /* allocated here, not yet written */
	bool isnew;
	int error = 0, error2;

	error = ext2_inline_expand(em, ip);
	if (error)
		return error;
	if (ioflag & IO_APPEND)
		uio->uio_offset = (anyk_off_t)ip->i_size;
	if (uio->uio_offset < 0)
		return EINVAL;
	if (uio->uio_resid == 0)
		return 0;
	if ((uint64_t)uio->uio_offset >= ext2_maxfilesize(em, ip) ||
	    uio->uio_resid > ext2_maxfilesize(em, ip) - (uint64_t)uio->uio_offset)
		return EFBIG;
	if ((uint64_t)uio->uio_offset + uio->uio_resid > INT32_MAX &&
	    !(em->em_sb.s_rocompat & RO_COMPAT_LARGE_FILE))
		ext2_feature_set(em, 0, RO_COMPAT_LARGE_FILE);
	bounce = kmem_alloc(&ext2_kmem, bsize);
	if (bounce == NULL)
		return ENOMEM;
	while (uio->uio_resid > 0) {
		uint64_t off = (uint64_t)uio->uio_offset;
		uint64_t lblk = off >> bshift, inblk = off & (bsize - 1);
		uint64_t devoff;

		error = ext2_map_alloc(em, ip, lblk, howmany(inblk + uio->uio_resid, bsize), &map, &isnew);
		if (error)
			break;
		devoff = map.m_pblk << bshift;
		if (isnew) {
			fresh_start = lblk;
			fresh_end = lblk + map.m_len;
		} else if (lblk >= fresh_start && lblk < fresh_end) {
			/* The tail of a run allocated above: never written yet. */
			isnew = true;
		}
		if (inblk != 0 || uio->uio_resid < bsize) {
			size_t k = (size_t)MIN(bsize - inblk, uio->uio_resid);

			if (isnew)
				memset(bounce, 0, bsize);
			else if ((error = bdev_read(em->em_bdev, devoff, bounce, bsize)) != 0)
				break;
			error = uiomove(bounce + inblk, k, uio);
			if (error)
				break;
			error = bdev_write(em->em_bdev, devoff, bounce, bsize);
			if (error) {
				error = write_err(em, error, devoff);
				break;
			}
		} else {
			size_t n = (size_t)MIN(rounddown(uio->uio_resid, (size_t)bsize), map.m_len << bshift);

			error = write_run(em, devoff, n, uio, bounce);
			if (error)
				break;
		}
		if ((uint64_t)uio->uio_offset > ip->i_size)
			ip->i_size = (uint64_t)uio->uio_offset;
	}
	kmem_free(&ext2_kmem, bounce, bsize);
	if (ip->i_flags & EXT4_EXTENTS_FL) {
		error2 = ext2_ext_store(em, ip);
		if (error2 && !error)
			error = error2;
	}
	if (uio->uio_resid != start) {
		ext2_now(&ip->i_mtime);
		ip->i_ctime = ip->i_mtime;
		/* Set-user-ID goes in vn_kill_suid, which knows the writer. */
	}
	error2 = ext2_inode_write(em, ip);
	if (error2 && !error)
		error = error2;
	if (!error && (ioflag & IO_SYNC)) {
		error = bsync(em->em_bdev);
		if (!error)
			error = bdev_flush(em->em_bdev);
	}
	return error;
}

/* Zero bytes [from, to) of file block lblk, if it holds written data (a
 * hole or an unwritten block reads as zeros already). */
int
ext2_zero_part(struct ext2_mount *em, struct ext2_inode *ip, uint64_t lblk, uint32_t from, uint32_t to)
{
	uint32_t bsize = em->em_bsize;
	struct ext2_map map;
	uint8_t *b;
	int error;

	if (from >= to)
		return 0;
	error = ext2_bmap(em, ip, lblk, 1, &map);
	if (error || map.m_pblk == 0 || map.m_unwritten)
		return error;
	b = kmem_alloc(&ext2_kmem, bsize);
	if (b == NULL)
		return ENOMEM;
	error = bdev_read(em->em_bdev, map.m_pblk << em->em_sb.s_bshift, b, bsize);
	if (!error) {
		memset(b + from, 0, to - from);
		error = bdev_write(em->em_bdev, map.m_pblk << em->em_sb.s_bshift, b, bsize);
	}
	kmem_free(&ext2_kmem, b, bsize);
	return error ? EIO : 0;
}

/* Zero the part of the block holding size that lies past it, so that a
 * later extension reads zeros there. */
static int
zero_tail(struct ext2_mount *em, struct ext2_inode *ip, uint64_t size)
{
	uint32_t bsize = em->em_bsize, inblk = (uint32_t)(size & (bsize - 1));

	if (inblk == 0 || !ANYK_S_ISREG(ip->i_mode))
		return 0;
	return ext2_zero_part(em, ip, size >> em->em_sb.s_bshift, inblk, bsize);
}

/* Does i_block hold block pointers (not a fast link's target, a device
 * number or inline data)? */
bool
ext2_has_blockmap(const struct ext2_mount *em, const struct ext2_inode *ip)
{
	uint64_t xattr512 = ip->i_file_acl != 0 ? em->em_bsize >> 9 : 0;

	if (ext2_is_inline(ip))
		return false;
	if (ANYK_S_ISREG(ip->i_mode) || ANYK_S_ISDIR(ip->i_mode))
		return true;
	if (ANYK_S_ISLNK(ip->i_mode))
		return (ip->i_flags & EXT4_EXTENTS_FL) || ip->i_blocks512 > xattr512;
	return false;
}

int
ext2_truncate(struct ext2_mount *em, struct ext2_inode *ip, uint64_t size)
{
	uint64_t from;
	int error = 0;

	if (size > ext2_maxfilesize(em, ip))
		return EFBIG;
	error = ext2_inline_expand(em, ip);
	if (error)
		return error;
	if (size > INT32_MAX && !(em->em_sb.s_rocompat & RO_COMPAT_LARGE_FILE))
		ext2_feature_set(em, 0, RO_COMPAT_LARGE_FILE);
	from = howmany(size, (uint64_t)em->em_bsize);
	/* An extent file may hold blocks past its end (fallocate with
	 * KEEP_SIZE): a truncation to the same size lets them go too. */
	if (size == ip->i_size && (ip->i_flags & EXT4_EXTENTS_FL) && ANYK_S_ISREG(ip->i_mode)) {
		error = ext2_ext_load(em, ip);
		if (!error && ext2_ext_beyond(ip, from)) {
			error = ext2_ext_truncate(em, ip, from);
			if (!error)
				error = ext2_ext_store(em, ip);
		}
	} else if (size < ip->i_size) {
		if (ip->i_flags & EXT4_EXTENTS_FL) {
			error = ext2_ext_load(em, ip);
			if (!error)
				error = ext2_ext_truncate(em, ip, from);
			if (!error)
				error = ext2_ext_store(em, ip);
		} else if (ext2_has_blockmap(em, ip)) {
			error = ext2_ind_truncate(em, ip, from);
		}
		if (!error)
			error = zero_tail(em, ip, size);
	}
	if (!error)
		ip->i_size = size;
	return error;
}
