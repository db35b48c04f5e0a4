/*
 * The orphan list: inodes whose last name is gone while they are still
 * open. The superblock's s_last_orphan names the first, and each one's
 * i_dtime the next, so that after a crash the next read-write mount (or
 * e2fsck) frees what nobody can reach any more. An inode joins at the
 * head when its link count drops to 0 under an open reference, and leaves
 * when it is finally released.
 *
 * Every orphan of this mount is in memory (its vnode is referenced), in
 * chain order on em_orphans, so leaving the middle of the chain only
 * rewrites the previous orphan's i_dtime: in memory, and in the inode
 * table buffer (patched there, with the inode checksum, so that the other
 * vnode's inode copy is not written from here).
 *
 * Lock order: em_orphan_lock, then buffers, then em_lock.
 */
#include "fs/ext2/ext2.h"

/* Bounds the mount-time walk beyond the inodes in use (a loop otherwise). */
#define ORPHAN_WALK_SLACK 16

static bool
has_csum_hi(const struct ext2_mount *em, const uint8_t *raw)
{
	return em->em_sb.s_inode_size > EXT2_GOOD_OLD_INODE_SIZE &&
	       EXT2_GOOD_OLD_INODE_SIZE + le16dec(raw + I_EXTRA_ISIZE) >= I_CHECKSUM_HI + 2;
}

static bool
inode_csum_matches(struct ext2_mount *em, uint32_t ino, const uint8_t *raw)
{
	uint32_t c = ext2_inode_csum(&em->em_sb, ino, le32dec(raw + I_GENERATION), raw, em->em_sb.s_inode_size);

	if (le16dec(raw + I_CHECKSUM_LO) != (uint16_t)c)
		return false;
	return !has_csum_hi(em, raw) || le16dec(raw + I_CHECKSUM_HI) == (uint16_t)(c >> 16);
}

static void
inode_csum_set(struct ext2_mount *em, uint32_t ino, uint8_t *raw)
{
	uint32_t c = ext2_inode_csum(&em->em_sb, ino, le32dec(raw + I_GENERATION), raw, em->em_sb.s_inode_size);

	le16enc(raw + I_CHECKSUM_LO, (uint16_t)c);
	if (has_csum_hi(em, raw))
		le16enc(raw + I_CHECKSUM_HI, (uint16_t)(c >> 16));
}

static int
set_head(struct ext2_mount *em, uint32_t ino)
{
	mutex_enter(&em->em_lock);
	le32enc(em->em_sbraw + SB_LAST_ORPHAN, ino);
	mutex_exit(&em->em_lock);
	return ext2_sb_update(em);
}

/* Rewrite one inode's i_dtime in the inode table, checksum included. */
static int
patch_dtime(struct ext2_mount *em, const struct ext2_inode *ip)
{
	uint64_t blk;
	uint32_t off;
	struct buf *bp;
	uint8_t *raw;
	int error;

	error = ext2_inode_where(em, ip->i_ino, &blk, &off);
	if (error)
		return error;
	error = ext2_bread(em, blk, &bp);
	if (error)
		return error;
	raw = (uint8_t *)bp->b_data + off;
	le32enc(raw + I_DTIME, ip->i_dtime);
	if (em->em_csum)
		inode_csum_set(em, ip->i_ino, raw);
	ext2_mwrite(em, bp);
	return 0;
}

int
ext2_orphan_add(struct ext2_mount *em, struct ext2_inode *ip)
{
	int error;

	if (em->em_rdonly || ip->i_orphan)
		return 0;
	mutex_enter(&em->em_orphan_lock);
	ip->i_dtime = le32dec(em->em_sbraw + SB_LAST_ORPHAN);
	error = ext2_inode_write(em, ip);
	if (!error)
		error = set_head(em, ip->i_ino);
	if (!error) {
		ip->i_orphan = true;
		ip->i_orphan_next = em->em_orphans;
		em->em_orphans = ip;
	}
	mutex_exit(&em->em_orphan_lock);
	return error;
}

int
ext2_orphan_remove(struct ext2_mount *em, struct ext2_inode *ip)
{
	struct ext2_inode **pp, *prev = NULL;
	int error = 0;

	if (!ip->i_orphan)
		return 0;
	mutex_enter(&em->em_orphan_lock);
	for (pp = &em->em_orphans; *pp != NULL && *pp != ip; pp = &(*pp)->i_orphan_next)
		prev = *pp;
	if (*pp == ip) {
		*pp = ip->i_orphan_next;
		if (prev == NULL) {
			error = set_head(em, ip->i_dtime);
		} else {
			/* prev's own lock is not held: see encode() in ext2_iwrite.c. */
			atomic_store_relaxed(&prev->i_dtime, ip->i_dtime);
			error = patch_dtime(em, prev);
		}
	}
	ip->i_orphan = false;
	ip->i_orphan_next = NULL;
	ip->i_dtime = 0;
	mutex_exit(&em->em_orphan_lock);
	return error;
}

/* Load an orphan: the decoder refuses an inode in use with no links, as
 * anywhere else that is corruption, so it sees a copy with one link (and
 * the checksum to match), and the count goes back to 0 afterwards. */
static int
orphan_load(struct ext2_mount *em, uint32_t ino, struct ext2_inode **ipp)
{
	const struct ext2_sb *sb = &em->em_sb;
	uint64_t blk;
	uint32_t off;
	struct ext2_inode *ip;
	struct buf *bp;
	uint8_t *raw;
	uint16_t links;
	char why[128];
	int error;

	*ipp = NULL;
	error = ext2_inode_where(em, ino, &blk, &off);
	if (error)
		return error;
	ip = kmem_zalloc(&ext2_kmem, sizeof(*ip));
	raw = kmem_alloc(&ext2_kmem, sb->s_inode_size);
	if (ip == NULL || raw == NULL) {
		error = ENOMEM;
		goto fail;
	}
	error = ext2_bread(em, blk, &bp);
	if (error)
		goto fail;
	memcpy(raw, (uint8_t *)bp->b_data + off, sb->s_inode_size);
	brelse(bp);
	links = le16dec(raw + I_LINKS);
	if (links == 0 && le16dec(raw + I_MODE) != 0) {
		bool csum_ok = em->em_csum && inode_csum_matches(em, ino, raw);

		le16enc(raw + I_LINKS, 1);
		/* Only a checksum that was right is redone: a wrong one stays wrong. */
		if (csum_ok)
			inode_csum_set(em, ino, raw);
	}
	error = ext2_inode_decode(sb, ino, raw, ip, why, sizeof(why));
	if (error) {
		ext2_corrupt(em, "orphan inode %u: %s", ino, why);
		goto fail;
	}
	le16enc(raw + I_LINKS, links);
	ip->i_nlink = links;
	ip->i_dtime = le32dec(raw + I_DTIME); /* the next orphan */
	ip->i_raw = raw;
	ip->i_rawsize = sb->s_inode_size;
	*ipp = ip;
	return 0;
fail:
	if (raw != NULL)
		kmem_free(&ext2_kmem, raw, sb->s_inode_size);
	if (ip != NULL)
		kmem_free(&ext2_kmem, ip, sizeof(*ip));
	return error;
}

/* One orphan found at mount: free it, or (still linked: a truncation that
 * did not finish) cut it to its size. */
static int
orphan_finish(struct ext2_mount *em, struct ext2_inode *ip)
{
	int error;

	if (ip->i_nlink == 0)
		return ext2_inode_release(em, ip);
	ip->i_dtime = 0;
	error = 0;
	if (ext2_has_blockmap(em, ip))
		error = ext2_truncate(em, ip, ip->i_size);
	if (!error)
		error = ext2_inode_write(em, ip);
	return error;
}

int
ext2_orphan_process(struct ext2_mount *em)
{
	uint32_t ino = le32dec(em->em_sbraw + SB_LAST_ORPHAN), done = 0, bound;
	struct ext2_inode *ip;
	int error = 0;

	if (ino == 0)
		return 0;
	bound = em->em_sb.s_inodes_count - (uint32_t)MIN(em->em_free_inodes, em->em_sb.s_inodes_count) +
		ORPHAN_WALK_SLACK;
	while (ino != 0) {
		uint32_t next;
		bool inuse;

		if (done >= bound) {
			klog(LOG_WARN, "ext2 %s: orphan list longer than the inodes in use (a loop?): stopped after %u",
			     em->em_name, done);
			break;
		}
		if (ino < em->em_sb.s_first_ino || ino > em->em_sb.s_inodes_count) {
			klog(LOG_WARN, "ext2 %s: orphan list names invalid inode %u: stopped after %u", em->em_name,
			     ino, done);
			break;
		}
		/* A freed inode ends the walk: this is how a loop ends too. */
		if (ext2_inode_inuse(em, ino, &inuse) != 0 || !inuse) {
			klog(LOG_WARN, "ext2 %s: orphan inode %u is not in use: stopped after %u", em->em_name, ino,
			     done);
			break;
		}
		error = orphan_load(em, ino, &ip);
		if (error) {
			klog(LOG_WARN, "ext2 %s: orphan inode %u unreadable (error %d): stopped after %u",
			     em->em_name, ino, error, done);
			error = 0;
			break;
		}
		if (ip->i_mode == 0) {
			klog(LOG_WARN, "ext2 %s: orphan inode %u has no mode: stopped after %u", em->em_name, ino,
			     done);
			ext2_inode_free(ip);
			break;
		}
		next = ip->i_dtime;
		error = orphan_finish(em, ip);
		ext2_inode_free(ip);
		if (error) {
			klog(LOG_WARN, "ext2 %s: orphan inode %u: error %d freeing it", em->em_name, ino, error);
			break;
		}
		done++;
		ino = next;
	}
	if (done > 0)
		klog(LOG_INFO, "ext2 %s: %u orphan inode%s freed", em->em_name, done, done == 1 ? "" : "s");
	if (set_head(em, 0) != 0 && !error)
		error = EIO;
	return error;
}
