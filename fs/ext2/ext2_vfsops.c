/*
 * ext2/ext3/ext4 as file system types: mounting (superblock, features,
 * group descriptors, root directory), statistics, loading vnodes by inode
 * number, and unmount. The three names share one set of functions: the
 * format is one format, and the features in the superblock, not the name
 * given to mount, say what the driver must handle.
 *
 * Read-write mounts change metadata through the buffer cache. A file
 * system with a journal (ext3, ext4) is replayed at mount if it needs it,
 * then journals its metadata in ordered mode (ext2_jtrans.c, wired into
 * the write path by ext2_jmeta.c and the handles of ext2_vnops.c): after
 * a crash, recovery brings back the last committed state. Without a
 * journal (ext2) metadata is written in place, and while mounted the
 * superblock says "not clean", so after a crash e2fsck checks it in full.
 */
#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_journal.h"

struct feature_name {
	uint32_t bit;
	const char *name;
};

static const struct feature_name incompat_names[] = {
	{ INCOMPAT_COMPRESSION, "compression" }, { INCOMPAT_FILETYPE, "filetype" },
	{ INCOMPAT_RECOVER, "needs_recovery" },  { INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ INCOMPAT_META_BG, "meta_bg" },         { INCOMPAT_EXTENTS, "extent" },
	{ INCOMPAT_64BIT, "64bit" },             { INCOMPAT_MMP, "mmp" },
	{ INCOMPAT_FLEX_BG, "flex_bg" },         { INCOMPAT_EA_INODE, "ea_inode" },
	{ INCOMPAT_DIRDATA, "dirdata" },         { INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ INCOMPAT_LARGEDIR, "large_dir" },      { INCOMPAT_INLINE_DATA, "inline_data" },
	{ INCOMPAT_ENCRYPT, "encrypt" },         { INCOMPAT_CASEFOLD, "casefold" },
};

static const struct feature_name rocompat_names[] = {
	{ RO_COMPAT_BTREE_DIR, "btree_dir" },    { RO_COMPAT_QUOTA, "quota" },
	{ RO_COMPAT_BIGALLOC, "bigalloc" },      { RO_COMPAT_READONLY, "read-only" },
	{ RO_COMPAT_PROJECT, "project" },        { RO_COMPAT_ORPHAN_PRESENT, "orphan_present" },
	{ RO_COMPAT_VERITY, "verity" },
};

/* "name name 0x..." for the bits of mask. */
static void
feature_list(uint32_t mask, const struct feature_name *names, size_t n, char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!(mask & names[i].bit))
			continue;
		pos += (size_t)ksnprintf(buf + MIN(pos, len), len - MIN(pos, len), "%s%s", pos ? " " : "",
					 names[i].name);
		mask &= ~names[i].bit;
	}
	if (mask != 0)
		ksnprintf(buf + MIN(pos, len), len - MIN(pos, len), "%s%#x", pos ? " " : "", mask);
}

static void
ext2_mount_free(struct ext2_mount *em)
{
	if (em == NULL)
		return;
	if (em->em_sbraw != NULL)
		kmem_free(&ext2_kmem, em->em_sbraw, EXT2_SB_SIZE);
	if (em->em_lock_init) {
		mutex_destroy(&em->em_lock);
		mutex_destroy(&em->em_orphan_lock);
		mutex_destroy(&em->em_ea_lock);
	}
	if (em->em_bdev != NULL) {
		/* A read-only journal replay pins its blocks: unpin them first. */
		ext2_journal_release(em);
		binval(em->em_bdev);
		bdev_close(em->em_bdev);
	}
	ext2_meta_free(em);
	ext2_quota_free(em);
	if (em->em_groups != NULL)
		kmem_free(&ext2_kmem, em->em_groups, (size_t)em->em_sb.s_ngroups * sizeof(*em->em_groups));
	ext2_pfree_destroy(em);
	kmem_free(&ext2_kmem, em, sizeof(*em));
}

/*
 * Mount options. norecovery (noload is its older name) leaves the journal
 * as it is: the mount shows the file system as its blocks lie on the disk,
 * without the transactions the journal still holds, beside the replayed
 * view a plain read-only mount gives (which replays in memory only). It
 * needs a read-only mount: writes over an unreplayed journal would be
 * overwritten by a later replay. ro and rw are the mount's flags, which the
 * caller sets; any other option is refused by name rather than ignored.
 */
static int
parse_options(struct ext2_mount *em, const char *options, bool rdonly, bool *norecovery)
{
	const char *p = options, *end;
	size_t len;

	*norecovery = false;
	while (p != NULL && *p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if ((len == 10 && strncmp(p, "norecovery", len) == 0) || (len == 6 && strncmp(p, "noload", len) == 0)) {
			*norecovery = true;
		} else if (len != 0 && !(len == 2 && (strncmp(p, "ro", 2) == 0 || strncmp(p, "rw", 2) == 0))) {
			klog(LOG_ERR, "ext2 %s: unknown mount option '%.*s' (ext2/3/4 knows norecovery, noload)",
			     em->em_name, (int)(len < 64 ? len : 64), p);
			return EINVAL;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	if (*norecovery && !rdonly) {
		klog(LOG_ERR, "ext2 %s: norecovery needs a read-only mount", em->em_name);
		return EINVAL;
	}
	return 0;
}

static int
check_features(struct ext2_mount *em, bool rdonly)
{
	const struct ext2_sb *sb = &em->em_sb;
	char names[160];
	uint32_t bad;

	bad = sb->s_incompat & ~(INCOMPAT_SUPPORTED | INCOMPAT_READONLY);
	if (bad) {
		feature_list(bad, incompat_names, ARRAY_SIZE(incompat_names), names, sizeof(names));
		klog(LOG_ERR, "ext2 %s: unsupported incompatible features: %s", em->em_name, names);
		return EINVAL;
	}
	/* Read in full, never written: nothing to say on a read-only mount. */
	bad = sb->s_incompat & INCOMPAT_READONLY;
	if (bad && !rdonly) {
		feature_list(bad, incompat_names, ARRAY_SIZE(incompat_names), names, sizeof(names));
		klog(LOG_ERR, "ext2 %s: features %s allow only read-only mounts", em->em_name, names);
		return EROFS;
	}
	bad = sb->s_rocompat & RO_COMPAT_READ_ONLY;
	if (bad && !rdonly) {
		feature_list(bad, rocompat_names, ARRAY_SIZE(rocompat_names), names, sizeof(names));
		klog(LOG_ERR, "ext2 %s: features %s allow only read-only mounts", em->em_name, names);
		return EROFS;
	}
	bad = sb->s_rocompat & ~(RO_COMPAT_SUPPORTED | RO_COMPAT_READ_ONLY);
	if (bad) {
		feature_list(bad, rocompat_names, ARRAY_SIZE(rocompat_names), names, sizeof(names));
		if (!rdonly) {
			klog(LOG_ERR, "ext2 %s: features %s allow only read-only mounts", em->em_name, names);
			return EROFS;
		}
		klog(LOG_INFO, "ext2 %s: features %s not understood; read-only is safe", em->em_name, names);
	}
	/* casefold: names fold as utf8-12.1 folds them (kern/lib/utf8fold.c),
	 * the one encoding ext4 defines. */
	if ((sb->s_incompat & INCOMPAT_CASEFOLD) && sb->s_encoding != EXT4_ENC_UTF8_12_1) {
		klog(LOG_ERR, "ext2 %s: casefold with unknown encoding %u", em->em_name, sb->s_encoding);
		return EINVAL;
	}
	if ((sb->s_incompat & INCOMPAT_CASEFOLD) && (sb->s_encoding_flags & ~EXT4_ENC_STRICT_MODE_FL) && !rdonly) {
		klog(LOG_ERR, "ext2 %s: casefold with unknown encoding flags %#x allows only read-only mounts",
		     em->em_name, sb->s_encoding_flags);
		return EROFS;
	}
	/* Values in inodes of their own are charged to their owners in a way
	 * the quota hook does not follow (ext2_xattr_w.c). */
	if (!rdonly && (sb->s_incompat & INCOMPAT_EA_INODE) && (sb->s_rocompat & RO_COMPAT_QUOTA)) {
		klog(LOG_ERR, "ext2 %s: features ea_inode with quota allow only read-only mounts", em->em_name);
		return EROFS;
	}
	/* needs_recovery: ext2_journal_recover() replays the journal. */
	if (!rdonly && (sb->s_incompat & INCOMPAT_MMP)) {
		klog(LOG_ERR, "ext2 %s: multi-mount protection is not supported for writing; mount read-only",
		     em->em_name);
		return EROFS;
	}
	if (!rdonly && !(sb->s_compat & COMPAT_HAS_JOURNAL))
		klog(LOG_INFO, "ext2 %s: no journal: metadata is written in place, so a crash needs e2fsck",
		     em->em_name);
	return 0;
}

static int
load_groups(struct ext2_mount *em)
{
	const struct ext2_sb *sb = &em->em_sb;
	struct buf *bp = NULL;
	uint64_t blk, cur = 0;
	uint32_t off;
	char why[128];
	int error = 0;

	em->em_groups = kmem_zalloc(&ext2_kmem, (size_t)sb->s_ngroups * sizeof(*em->em_groups));
	if (em->em_groups == NULL)
		return ENOMEM;
	for (uint32_t g = 0; g < sb->s_ngroups; g++) {
		blk = ext2_gd_location(sb, g, &off);
		if (bp == NULL || blk != cur) {
			if (bp != NULL)
				brelse(bp);
			bp = NULL;
			error = ext2_bread(em, blk, &bp);
			if (error)
				break;
			cur = blk;
		}
		error = ext2_gd_parse(sb, (const uint8_t *)bp->b_data + off, g, &em->em_groups[g], why,
				      sizeof(why));
		if (error) {
			ext2_corrupt(em, "%s", why);
			break;
		}
	}
	if (bp != NULL)
		brelse(bp);
	return error;
}

static int
ext2_mount(struct mount *mp, const char *source, const char *options, struct vnode **rootvp)
{
	bool rdonly = (mp->mnt_flag & ANYK_MNT_RDONLY) != 0;
	struct ext2_mount *em;
	struct vnode *vp = NULL;
	uint8_t *raw = NULL;
	bool norecovery;
	char why[128];
	int error;

	if (source == NULL)
		return EINVAL;
	em = kmem_zalloc(&ext2_kmem, sizeof(*em));
	if (em == NULL)
		return ENOMEM;
	em->em_mp = mp;
	em->em_name = mp->mnt_from;
	em->em_rdonly = rdonly;
	mutex_init(&em->em_lock);
	mutex_init(&em->em_orphan_lock);
	mutex_init(&em->em_ea_lock);
	em->em_lock_init = true;
	error = bdev_open_path(source, rdonly, &em->em_bdev);
	if (error) {
		em->em_bdev = NULL;
		goto out;
	}
	em->em_name = em->em_bdev->bd_name;
	error = parse_options(em, options, rdonly, &norecovery);
	if (error)
		goto out;
	raw = kmem_alloc(&ext2_kmem, EXT2_SB_SIZE);
	if (raw == NULL) {
		error = ENOMEM;
		goto out;
	}
	error = bdev_read(em->em_bdev, EXT2_SB_OFFSET, raw, EXT2_SB_SIZE);
	if (error) {
		klog(LOG_ERR, "ext2 %s: cannot read the superblock (error %d)", em->em_name, error);
		error = EIO;
		goto out;
	}
	error = ext2_sb_parse(raw, em->em_bdev->bd_size, &em->em_sb, why, sizeof(why));
	/* A superblock is two sectors, its checksum in the second: a crash
	 * between them leaves one version's checksum over the other's
	 * fields. A backup that agrees on what never changes while mounted
	 * vouches for it; a read-write mount then writes it whole. */
	if (error == EUCLEAN && ext2_sb_torn(em, raw, why, sizeof(why)) == 0) {
		klog(LOG_WARN, "ext2 %s: superblock checksum mismatch, but a backup agrees with it: "
		     "taken as a write cut short", em->em_name);
		error = 0;
	}
	if (error) {
		klog(LOG_ERR, "ext2 %s: superblock: %s", em->em_name, why);
		goto out;
	}
	error = check_features(em, rdonly);
	if (error)
		goto out;
	/* Replay the journal if it needs it (ext2_jrecover.c), before anything
	 * else is read: on the disk, or in memory for read-only mounts. It may
	 * replace em_sb with the replayed superblock. */
	if (!norecovery) {
		error = ext2_journal_recover(em);
		if (error)
			goto out;
	} else if (em->em_sb.s_incompat & INCOMPAT_RECOVER) {
		/* A note, not a complaint: the caller asked for this view,
		 * and anyk check then reports only what it finds in it. */
		klog(LOG_INFO, "ext2 %s: norecovery: the journal is not replayed; what it holds is not shown "
		     "and the rest may not agree with itself", em->em_name);
	}
	em->em_bsize = em->em_sb.s_bsize;
	em->em_nblocks = em->em_sb.s_blocks_count;
	em->em_csum = (em->em_sb.s_rocompat & RO_COMPAT_METADATA_CSUM) != 0;
	em->em_gdtcsum = !em->em_csum && (em->em_sb.s_rocompat & RO_COMPAT_GDT_CSUM) != 0;
	em->em_filetype = (em->em_sb.s_incompat & INCOMPAT_FILETYPE) != 0;
	em->em_hash_unsigned = (em->em_sb.s_flags & EXT2_FLAGS_UNSIGNED_HASH) != 0;
	if (em->em_bsize > BUF_MAXSIZE) {
		klog(LOG_ERR, "ext2 %s: block size %u too large for the buffer cache", em->em_name,
		     em->em_bsize);
		error = EINVAL;
		goto out;
	}
	/* Errors recorded by whoever wrote it are a complaint; an unclean
	 * unmount alone is a note (the journal, if any, is replayed). */
	if (em->em_sb.s_state & EXT2_STATE_ERRORS)
		klog(LOG_WARN, "ext2 %s: marked as having errors; run e2fsck", em->em_name);
	else if (!(em->em_sb.s_state & EXT2_STATE_VALID))
		klog(LOG_INFO, "ext2 %s: not cleanly unmounted; run e2fsck", em->em_name);
	mp->mnt_data = em;
	error = load_groups(em);
	if (error)
		goto out;
	if (!rdonly) {
		error = ext2_rw_setup(em);
		if (!error)
			error = ext2_quota_init(em);
		/* Before anything follows a block pointer: orphans are freed
		 * right here. */
		if (!error)
			error = ext2_meta_build(em, em->em_sbraw);
		if (!error)
			error = ext2_orphan_process(em);
		/* After the orphans, which are freed in place: the journal
		 * starts out empty, as recovery leaves it. */
		if (!error && (em->em_sb.s_compat & COMPAT_HAS_JOURNAL)) {
			error = ext2_jopen(em);
			em->em_journaled = error == 0;
		}
		if (error)
			goto out;
	} else {
		error = ext2_meta_build(em, raw);
		if (error)
			goto out;
	}
	error = vcache_get(mp, EXT2_ROOT_INO, &vp);
	if (error)
		goto out;
	if (vp->v_type != VDIR) {
		error = ext2_corrupt(em, "root inode is not a directory");
		goto out;
	}
	klog(LOG_INFO, "ext2 %s: mounted %s (%u-byte blocks, %llu blocks, %u groups%s%s)", em->em_name,
	     rdonly ? "read-only" : "read-write", em->em_bsize, (unsigned long long)em->em_nblocks, em->em_sb.s_ngroups,
	     em->em_csum ? ", metadata_csum" : "",
	     (em->em_sb.s_compat & COMPAT_HAS_JOURNAL) ? ", journal" : "");
	*rootvp = vp;
	vp = NULL;
	em = NULL;
out:
	if (vp != NULL)
		vrele(vp);
	if (error && em != NULL && em->em_journaled) {
		(void)ext2_jclose(em);
		em->em_journaled = false;
	}
	if (error && em != NULL && em->em_sbraw != NULL) {
		/* The superblock said "in use" already: put it back. */
		bsync(em->em_bdev);
		ext2_sb_write(em, true);
	}
	if (raw != NULL)
		kmem_free(&ext2_kmem, raw, EXT2_SB_SIZE);
	if (em != NULL) {
		mp->mnt_data = NULL;
		ext2_mount_free(em);
	}
	return error;
}

static int
ext2_unmount(struct mount *mp, int mntflags)
{
	struct ext2_mount *em = VFSTOEXT2(mp);
	int error;

	if (em != NULL && !em->em_rdonly) {
		/* The journal commits, writes everything home and clears
		 * needs_recovery; then the rest in place, then the superblock
		 * says clean. */
		error = ext2_quota_sync(em);
		if (error && !(mntflags & ANYK_MNT_FORCE))
			return error;
		error = 0;
		if (em->em_journaled) {
			error = ext2_jclose(em);
			if (error && !(mntflags & ANYK_MNT_FORCE))
				return error;
			em->em_journaled = false;
		}
		error = bsync(em->em_bdev);
		if (!error)
			error = bdev_flush(em->em_bdev);
		if (!error)
			error = ext2_sb_write(em, true);
		if (!error)
			error = bdev_flush(em->em_bdev);
		if (error && !(mntflags & ANYK_MNT_FORCE))
			return error;
	}
	/* The VFS lets the root vnode go without VOP_RECLAIM after this. */
	if (mp->mnt_root != NULL) {
		ext2_inode_free(VTOI(mp->mnt_root));
		mp->mnt_root->v_data = NULL;
	}
	ext2_mount_free(VFSTOEXT2(mp));
	mp->mnt_data = NULL;
	return 0;
}

static int
ext2_statvfs(struct mount *mp, struct anyk_statvfs *st)
{
	struct ext2_mount *em = VFSTOEXT2(mp);
	const struct ext2_sb *sb = &em->em_sb;
	uint64_t bfree = 0, ifree = 0;

	/* The group counts are kept current where the superblock's may lag;
	 * with bigalloc they count clusters. */
	for (uint32_t g = 0; g < sb->s_ngroups; g++) {
		bfree += (uint64_t)em->em_groups[g].g_free_blocks << sb->s_cluster_shift;
		ifree += em->em_groups[g].g_free_inodes;
	}
	bfree = MIN(bfree, sb->s_blocks_count);
	ifree = MIN(ifree, (uint64_t)sb->s_inodes_count);
	memset(st, 0, sizeof(*st));
	st->f_bsize = em->em_bsize;
	st->f_frsize = em->em_bsize;
	st->f_blocks = sb->s_blocks_count;
	st->f_bfree = bfree;
	st->f_bavail = bfree > sb->s_r_blocks_count ? bfree - sb->s_r_blocks_count : 0;
	st->f_files = sb->s_inodes_count;
	st->f_ffree = ifree;
	st->f_favail = ifree;
	st->f_fsid = mp->mnt_fsid;
	st->f_flag = em->em_rdonly ? ANYK_ST_RDONLY : 0;
	if (mp->mnt_flag & ANYK_MNT_NOSUID)
		st->f_flag |= ANYK_ST_NOSUID;
	st->f_namemax = ANYK_NAME_MAX;
	strlcpy(st->f_fstypename, mp->mnt_op->vfs_name, sizeof(st->f_fstypename));
	strlcpy(st->f_mntfromname, mp->mnt_from, sizeof(st->f_mntfromname));
	strlcpy(st->f_mntonname, mp->mnt_on, sizeof(st->f_mntonname));
	return 0;
}

static int
ext2_sync(struct mount *mp, bool wait)
{
	struct ext2_mount *em = VFSTOEXT2(mp);
	int error;

	if (em == NULL || em->em_rdonly)
		return 0;
	/* The running transaction goes to the log; its blocks go home with
	 * the bsync below once the commit has unpinned them. */
	error = ext2_quota_sync(em);
	if (!error)
		error = ext2_jcommit(em, wait);
	/* With a journal the superblock changes only in transactions (the
	 * orphan list's head; the free counts are rewritten at unmount and
	 * recounted at mount); without, it is written now. */
	if (!error && !em->em_journaled)
		error = ext2_sb_write(em, false);
	if (!error)
		error = bsync(em->em_bdev);
	if (!error && wait)
		error = bdev_flush(em->em_bdev);
	return error;
}

static int
ext2_loadvnode(struct mount *mp, struct vnode *vp, uint64_t key, void *arg)
{
	struct ext2_mount *em = VFSTOEXT2(mp);
	struct ext2_inode *ip;
	int error;

	if (em == NULL)
		return ENXIO;
	if (arg != NULL) {
		/* A new inode (makenode): already set up. */
		ip = arg;
		goto have;
	}
	if (key == 0 || key > em->em_sb.s_inodes_count)
		return ext2_corrupt(em, "inode number %llu out of range", (unsigned long long)key);
	error = ext2_inode_load(em, (uint32_t)key, &ip);
	if (error)
		return error;
have:
	vp->v_type = ifmt_to_vtype(ip->i_mode);
	vp->v_op = &ext2_vnodeops;
	vp->v_data = ip;
	vp->v_rdev = ip->i_rdev;
	return 0;
}

#define EXT2_VFSOPS(var, name)                                                \
	static struct vfsops var = {                                          \
		.vfs_name = name,                                             \
		.vfs_mount = ext2_mount,                                      \
		.vfs_unmount = ext2_unmount,                                  \
		.vfs_statvfs = ext2_statvfs,                                  \
		.vfs_sync = ext2_sync,                                        \
		.vfs_loadvnode = ext2_loadvnode,                              \
	}

EXT2_VFSOPS(ext2_vfsops, "ext2");
EXT2_VFSOPS(ext3_vfsops, "ext3");
EXT2_VFSOPS(ext4_vfsops, "ext4");

static int
ext2_init(void)
{
	int error;

	error = vfs_register(&ext2_vfsops);
	if (!error)
		error = vfs_register(&ext3_vfsops);
	if (!error)
		error = vfs_register(&ext4_vfsops);
	return error;
}

ANYK_COMPONENT(ext2, LEVEL_FS, ext2_init);
