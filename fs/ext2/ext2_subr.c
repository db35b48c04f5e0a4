/*
 * Small helpers every part of the ext2 driver uses: the corruption report
 * (one dmesg line naming the device and the object, then EUCLEAN), block
 * number checks against the file system size, and reading a metadata block
 * through the buffer cache.
 */
#include "fs/ext2/ext2.h"

KMEM_TYPE(ext2_kmem, "ext2");

int
ext2_corrupt(const struct ext2_mount *em, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	klog(LOG_ERR, "ext2 %s: corrupt: %s", em != NULL && em->em_name != NULL ? em->em_name : "?", msg);
	return EUCLEAN;
}

bool
ext2_blocks_valid(const struct ext2_mount *em, uint64_t blk, uint64_t n)
{
	/* Nothing a file or the metadata points to may be the superblock (or
	 * the boot block before it) or lie past the end. */
	if (blk <= em->em_sb.s_first_data_block || n == 0)
		return false;
	return blk < em->em_nblocks && n <= em->em_nblocks - blk;
}

int
ext2_bread(struct ext2_mount *em, uint64_t blk, struct buf **bpp)
{
	int error;

	if (!ext2_blocks_valid(em, blk, 1))
		return ext2_corrupt(em, "block %llu outside the file system", (unsigned long long)blk);
	error = bread(em->em_bdev, blk, em->em_bsize, bpp);
	if (error) {
		klog(LOG_ERR, "ext2 %s: read error %d at block %llu", em->em_name, error,
		     (unsigned long long)blk);
		*bpp = NULL;
		return EIO;
	}
	return 0;
}
