/*
 * ext2 vnode operations. The VFS holds the vnode locks (vfs/vfs.h): reads
 * run under a shared lock and change nothing; every change to an inode or
 * a directory runs under its exclusive lock, and what vnodes share (the
 * allocator) has its own lock. Changed inodes are written to the buffer
 * cache at once, so an unmount or sync finds everything there.
 */
#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_journal.h"

static uint32_t ext2_mask_flags(enum vtype t, uint32_t f);

/*
 * Encryption (the encrypt feature): a file's data, a symlink's target and
 * a directory's names may be encrypted (fscrypt), the inode flagged. The
 * driver holds no keys: such a file, link or directory gives ENOKEY when
 * read, as Linux does without the key (Linux would list a directory by
 * names made from the ciphertext; here it is not listed). Its attributes
 * and everything unencrypted read as usual. Writes likewise: an encrypted
 * file's data is neither written, truncated nor allocated, and an
 * encrypted directory gains and loses no names (ENOKEY); what Linux
 * allows without the key is allowed (its attributes, owner, mode and
 * times changed, the file or empty directory removed from an unencrypted
 * one), and the rest of the file system is written as usual.
 */
static bool
encrypted(struct vnode *vp)
{
	return (VTOI(vp)->i_flags & EXT4_ENCRYPT_FL) &&
	       (VFSTOEXT2(vp->v_mount)->em_sb.s_incompat & INCOMPAT_ENCRYPT);
}

static int
ext2_lookup(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	uint32_t ino;
	int error;

	if (dvp->v_type != VDIR)
		return ENOTDIR;
	if (namelen == 1 && name[0] == '.') {
		vref(dvp);
		*vpp = dvp;
		return 0;
	}
	if (encrypted(dvp) && !(namelen == 2 && name[0] == '.' && name[1] == '.'))
		return ENOKEY;
	if (namelen > ANYK_NAME_MAX)
		return ENAMETOOLONG;
	error = ext2_dir_lookup(em, VTOI(dvp), name, namelen, &ino);
	if (error)
		return error;
	if (ino == VTOI(dvp)->i_ino) {
		vref(dvp);
		*vpp = dvp;
		return 0;
	}
	return vcache_get(dvp->v_mount, ino, vpp);
}

static int
ext2_readdir(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	if (vp->v_type != VDIR)
		return ENOTDIR;
	if (encrypted(vp))
		return ENOKEY;
	return ext2_dir_readdir(VFSTOEXT2(vp->v_mount), VTOI(vp), cookie, fill, ctx);
}

static int
ext2_vop_readlink(struct vnode *vp, struct uio *uio)
{
	if (vp->v_type != VLNK)
		return EINVAL;
	if (encrypted(vp))
		return ENOKEY;
	return ext2_readlink(VFSTOEXT2(vp->v_mount), VTOI(vp), uio);
}

static int
ext2_getattr(struct vnode *vp, struct vattr *va)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);

	vattr_null(va);
	va->va_type = vp->v_type;
	va->va_mode = ip->i_mode & 07777;
	va->va_nlink = ip->i_nlink;
	va->va_uid = ip->i_uid;
	va->va_gid = ip->i_gid;
	va->va_fsid = vp->v_mount->mnt_fsid;
	va->va_ino = ip->i_ino;
	va->va_size = (anyk_off_t)ip->i_size;
	va->va_bytes = ip->i_blocks512 << 9;
	/* Inline data takes no block, but a regular file counts its bytes,
	 * rounded up to sectors, as Linux counts them: a file of data and no
	 * blocks would look all holes to tools that judge sparseness by
	 * st_blocks. Directories and symlinks count only their blocks. */
	if (ext2_is_inline(ip) && ANYK_S_ISREG(ip->i_mode))
		va->va_bytes += roundup2(ip->i_size, (uint64_t)512);
	va->va_blksize = em->em_bsize;
	va->va_rdev = ip->i_rdev;
	va->va_flags = ip->i_flags & EXT2_FL_VISIBLE;
	va->va_projid = (em->em_sb.s_rocompat & RO_COMPAT_PROJECT) ? ip->i_projid : 0;
	va->va_atime = ip->i_atime;
	va->va_mtime = ip->i_mtime;
	va->va_ctime = ip->i_ctime;
	if (ip->i_has_crtime)
		va->va_btime = ip->i_crtime;
	return 0;
}

static int
ext2_vop_read(struct vnode *vp, struct uio *uio, int ioflag)
{
	if (vp->v_type == VDIR)
		return EISDIR;
	if (vp->v_type != VREG)
		return EINVAL;
	if (encrypted(vp))
		return ENOKEY;
	return ext2_read(VFSTOEXT2(vp->v_mount), VTOI(vp), uio);
}

static int
ext2_seek(struct vnode *vp, int whence, anyk_off_t *offp)
{
	if (vp->v_type != VREG)
		return EINVAL;
	return ext2_seek_data(VFSTOEXT2(vp->v_mount), VTOI(vp), whence, offp);
}

static int
ext2_getxattr_vop(struct vnode *vp, const char *name, void *buf, size_t *sizep)
{
	return ext2_getxattr(VFSTOEXT2(vp->v_mount), VTOI(vp), name, buf, sizep);
}

static int
ext2_listxattr_vop(struct vnode *vp, char *buf, size_t *sizep)
{
	return ext2_listxattr(VFSTOEXT2(vp->v_mount), VTOI(vp), buf, sizep);
}

static int
ext2_fsync(struct vnode *vp, int flags)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_jhandle *h;
	int error;

	if (em->em_rdonly)
		return 0;
	error = ext2_jop_begin(em, EXT2_JOP_IWRITE, 0, &h);
	if (error)
		return error;
	error = ext2_jop_end(h, ext2_inode_write(em, VTOI(vp)));
	if (error)
		return error;
	/* Journaled: the commit makes the file's metadata durable, and its
	 * data, written to the device before the write returned, with the
	 * flush ahead of the commit block. */
	if (em->em_journaled)
		return ext2_jcommit(em, true);
	/* The buffer cache writes per device, so this flushes more than the
	 * file's own metadata; without a journal that is the safe choice. */
	error = bsync(em->em_bdev);
	if (!error)
		error = bdev_flush(em->em_bdev);
	return error;
}

static int
ext2_inactive(struct vnode *vp, bool *recycle)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);

	*recycle = false;
	if (ip == NULL || em == NULL || ip->i_nlink > 0 || em->em_rdonly)
		return 0;
	*recycle = true;
	return ext2_inode_release(em, ip);
}

/* Frees only the vnode's own inode copy: the mount may be gone already. */
static int
ext2_reclaim(struct vnode *vp)
{
	ext2_inode_free(VTOI(vp));
	vp->v_data = NULL;
	return 0;
}

/* --- changing the namespace --------------------------------------------------- */

/* The last link is gone: an inode still open elsewhere goes on the orphan
 * list, so a crash before its last close cannot leak it. */
static int
unlinked(struct ext2_mount *em, struct vnode *vp, struct ext2_inode *ip)
{
	if (ip->i_nlink > 0 || atomic_load_relaxed(&vp->v_usecount) <= 1)
		return 0;
	return ext2_orphan_add(em, ip);
}

static void
touch_dir(struct ext2_inode *dp, const struct anyk_timespec *now)
{
	dp->i_mtime = *now;
	dp->i_ctime = *now;
}

/* A directory's link count: past EXT2_LINK_MAX, dir_nlink makes it 1,
 * meaning "many". */
static int
dir_link_inc(struct ext2_mount *em, struct ext2_inode *dp)
{
	if (dp->i_nlink == 1 && (em->em_sb.s_rocompat & RO_COMPAT_DIR_NLINK))
		return 0;
	if (dp->i_nlink >= EXT2_LINK_MAX) {
		if (!(em->em_sb.s_incompat & INCOMPAT_EXTENTS) && !(em->em_sb.s_rocompat & RO_COMPAT_DIR_NLINK))
			return EMLINK;
		ext2_feature_set(em, 0, RO_COMPAT_DIR_NLINK);
		dp->i_nlink = 1;
		return 0;
	}
	dp->i_nlink++;
	return 0;
}

static void
dir_link_dec(struct ext2_inode *dp)
{
	if (dp->i_nlink > 2)
		dp->i_nlink--;
}

static bool
dir_link_full(struct ext2_mount *em, struct ext2_inode *dp)
{
	if (em->em_sb.s_rocompat & RO_COMPAT_DIR_NLINK || em->em_sb.s_incompat & INCOMPAT_EXTENTS)
		return false;
	return dp->i_nlink >= EXT2_LINK_MAX;
}

static int
new_inode(struct ext2_mount *em, struct ext2_inode *dp, struct vattr *va, struct ext2_inode **ipp)
{
	const struct ext2_sb *sb = &em->em_sb;
	anyk_mode_t mode = va->va_mode & 07777;
	struct ext2_inode *ip;
	uint32_t ino;
	bool init;
	int error;

	error = ext2_ialloc(em, dp->i_ino, va->va_type == VDIR, &ino, &init);
	if (error)
		return error;
	/* A wrong inode bitmap can hand out an inode that is in use: look
	 * before writing over it. Refused, it stays marked used in the
	 * bitmap (and counted so), which is the truth, so the next create
	 * gets another one. */
	if (init) {
		error = ext2_inode_check_free(em, ino);
		if (error)
			return error;
	}
	ip = kmem_zalloc(&ext2_kmem, sizeof(*ip));
	if (ip == NULL) {
		ext2_ifree(em, ino, va->va_type == VDIR);
		return ENOMEM;
	}
	ip->i_gid = va->va_gid;
	/* Set-group-ID directories hand their group down, and the bit to
	 * subdirectories. */
	if (dp->i_mode & ANYK_S_ISGID) {
		ip->i_gid = dp->i_gid;
		if (va->va_type == VDIR)
			mode |= ANYK_S_ISGID;
	}
	ip->i_mode = (uint16_t)(vtype_to_ifmt(va->va_type) | mode);
	ip->i_uid = va->va_uid;
	ip->i_nlink = va->va_type == VDIR ? 2 : 1;
	ip->i_rdev = (va->va_type == VCHR || va->va_type == VBLK) ? va->va_rdev : 0;
	ext2_inode_init(em, ip, ino, va->va_type == VREG || va->va_type == VDIR || va->va_type == VLNK);
	ext2_now(&ip->i_mtime);
	ip->i_atime = ip->i_ctime = ip->i_crtime = ip->i_mtime;
	/* Flags a directory hands down, as ext4: not IMMUTABLE or APPEND. */
	ip->i_flags |= ext2_mask_flags(va->va_type, dp->i_flags & (ANYK_FL_SECRM | ANYK_FL_UNRM | ANYK_FL_SYNC |
								   ANYK_FL_NODUMP | ANYK_FL_NOATIME | ANYK_FL_NOTAIL |
								   ANYK_FL_DIRSYNC));
	/* A case-insensitive directory's subdirectories are too. */
	if (va->va_type == VDIR && ext2_casefolded(em, dp))
		ip->i_flags |= EXT4_CASEFOLD_FL;
	/* A directory marked to hand its project down gives it to what is
	 * made in it, and the mark to subdirectories. */
	if ((sb->s_rocompat & RO_COMPAT_PROJECT) && (dp->i_flags & EXT4_PROJINHERIT_FL)) {
		ip->i_projid = dp->i_projid;
		if (va->va_type == VDIR)
			ip->i_flags |= EXT4_PROJINHERIT_FL;
	}
	*ipp = ip;
	return 0;
}

/* Undo new_inode after a failure before the inode got a name. */
static void
drop_inode(struct ext2_mount *em, struct ext2_inode *ip)
{
	ip->i_nlink = 0;
	(void)ext2_inode_release(em, ip);
	ext2_inode_free(ip);
}

/*
 * Write the new inode ip and give it its vnode, before it has a name, so
 * that a failure to name it can be undone by letting go of the vnode (its
 * nlink 0 frees it). On failure the inode is gone.
 */
static int
node_vnode(struct vnode *dvp, struct ext2_inode *ip, struct vnode **vpp)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	int error;

	*vpp = NULL;
	error = ext2_inode_write(em, ip);
	if (!error)
		error = vcache_new(dvp->v_mount, ip->i_ino, ip, vpp);
	if (error) {
		drop_inode(em, ip);
		*vpp = NULL;
		return error;
	}
	/* A corrupt bitmap can hand out an inode that is in use and cached:
	 * the cache then returns that vnode and ignores ip. Give the number
	 * back to nobody (its owner keeps it) and free only our copy. */
	if (VTOI(*vpp) != ip) {
		uint32_t ino = ip->i_ino;

		vrele(*vpp);
		*vpp = NULL;
		ext2_inode_free(ip);
		return ext2_corrupt(em, "inode %u: allocated while in use (inode bitmap wrong)", ino);
	}
	return 0;
}

static int
makenode(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target,
	 struct vnode **vpp)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_inode *dp = VTOI(dvp), *ip = NULL;
	struct anyk_timespec now;
	size_t tlen = 0;
	int error;

	*vpp = NULL;
	if (em->em_rdonly)
		return EROFS;
	if (dvp->v_type != VDIR)
		return ENOTDIR;
	if (dp->i_nlink == 0)
		return ENOENT;
	if (namelen == 0 || namelen > ANYK_NAME_MAX)
		return ENAMETOOLONG;
	if (va->va_type == VDIR && dir_link_full(em, dp))
		return EMLINK;
	if (va->va_type == VLNK) {
		tlen = strnlen(target, ANYK_PATH_MAX);
		if (tlen >= ANYK_PATH_MAX || tlen >= em->em_bsize)
			return ENAMETOOLONG;
	}
	error = new_inode(em, dp, va, &ip);
	if (error)
		return error;
	if (va->va_type == VDIR) {
		error = ext2_dir_init(em, ip, dp->i_ino);
	} else if (va->va_type == VLNK && tlen < EXT2_I_BLOCK_SIZE) {
		/* Fast symlink: the target in the block map area, no extents. */
		ip->i_flags &= ~EXT4_EXTENTS_FL;
		ip->i_extloaded = false;
		memset(ip->i_block, 0, EXT2_I_BLOCK_SIZE);
		memcpy(ip->i_block, target, tlen);
		ip->i_size = tlen;
	} else if (va->va_type == VLNK) {
		struct ext2_map map;
		struct buf *bp;
		bool isnew;

		error = ext2_map_alloc(em, ip, 0, 1, &map, &isnew);
		if (!error && (ip->i_flags & EXT4_EXTENTS_FL))
			error = ext2_ext_store(em, ip);
		if (!error && getblk(em->em_bdev, map.m_pblk, em->em_bsize, &bp) != 0)
			error = EIO;
		if (!error) {
			memset(bp->b_data, 0, em->em_bsize);
			memcpy(bp->b_data, target, tlen);
			ext2_mwrite(em, bp);
			ip->i_size = tlen;
		}
	}
	if (error) {
		drop_inode(em, ip);
		return error;
	}
	error = node_vnode(dvp, ip, vpp);
	if (error)
		return error;
	error = ext2_dir_add(em, dp, name, namelen, ip->i_ino, ext2_mode_to_ft(ip->i_mode));
	if (!error && va->va_type == VDIR)
		error = dir_link_inc(em, dp);
	if (error) {
		ip->i_nlink = 0;
		vrele(*vpp);
		*vpp = NULL;
		return error;
	}
	ext2_now(&now);
	touch_dir(dp, &now);
	return ext2_inode_write(em, dp);
}

static int
ext2_create(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return makenode(dvp, name, namelen, va, NULL, vpp);
}

static int
ext2_mkdir(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	va->va_type = VDIR;
	return makenode(dvp, name, namelen, va, NULL, vpp);
}

static int
ext2_symlink(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target,
	     struct vnode **vpp)
{
	va->va_type = VLNK;
	return makenode(dvp, name, namelen, va, target, vpp);
}

static int
ext2_remove(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_inode *dp = VTOI(dvp), *ip = VTOI(vp);
	struct anyk_timespec now;
	int error;

	if (em->em_rdonly)
		return EROFS;
	if (vp->v_type == VDIR)
		return EISDIR;
	error = ext2_dir_remove(em, dp, name, namelen);
	if (error)
		return error;
	ext2_now(&now);
	touch_dir(dp, &now);
	if (ip->i_nlink > 0)
		ip->i_nlink--;
	ip->i_ctime = now;
	error = unlinked(em, vp, ip);
	if (!error)
		error = ext2_inode_write(em, ip);
	if (!error)
		error = ext2_inode_write(em, dp);
	return error;
}

static int
ext2_rmdir(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_inode *dp = VTOI(dvp), *ip = VTOI(vp);
	struct anyk_timespec now;
	bool empty;
	int error;

	if (em->em_rdonly)
		return EROFS;
	if (vp->v_type != VDIR)
		return ENOTDIR;
	error = ext2_dir_empty(em, ip, &empty);
	if (error)
		return error;
	if (!empty)
		return ENOTEMPTY;
	error = ext2_dir_remove(em, dp, name, namelen);
	if (error)
		return error;
	ext2_now(&now);
	touch_dir(dp, &now);
	dir_link_dec(dp);
	ip->i_nlink = 0;
	ip->i_ctime = now;
	error = unlinked(em, vp, ip);
	if (!error)
		error = ext2_inode_write(em, ip);
	if (!error)
		error = ext2_inode_write(em, dp);
	return error;
}

/* A directory that hands its project down keeps its tree in that project,
 * as Linux does: a link or a move into it from another project is refused
 * (EXDEV: the caller copies instead). */
static bool
other_project(const struct ext2_mount *em, const struct ext2_inode *dp, const struct ext2_inode *ip)
{
	return (em->em_sb.s_rocompat & RO_COMPAT_PROJECT) && (dp->i_flags & EXT4_PROJINHERIT_FL) &&
	       dp->i_projid != ip->i_projid;
}

static int
ext2_link(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_inode *dp = VTOI(dvp), *ip = VTOI(vp);
	struct anyk_timespec now;
	int error;

	if (em->em_rdonly)
		return EROFS;
	if (vp->v_type == VDIR)
		return EPERM;
	if (ip->i_nlink == 0)
		return ENOENT;
	if (ip->i_nlink >= EXT2_LINK_MAX)
		return EMLINK;
	if (other_project(em, dp, ip))
		return EXDEV;
	error = ext2_dir_add(em, dp, name, namelen, ip->i_ino, ext2_mode_to_ft(ip->i_mode));
	if (error)
		return error;
	ext2_now(&now);
	ip->i_nlink++;
	ip->i_ctime = now;
	touch_dir(dp, &now);
	error = ext2_inode_write(em, ip);
	if (!error)
		error = ext2_inode_write(em, dp);
	return error;
}

/* RENAME_EXCHANGE: fname and tname swap their inodes. */
static int
ext2_exchange(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen, struct vnode *tdvp,
	      struct vnode *tvp, const char *tname, size_t tnamelen)
{
	struct ext2_mount *em = VFSTOEXT2(fdvp->v_mount);
	struct ext2_inode *fdp = VTOI(fdvp), *ip = VTOI(fvp), *tdp = VTOI(tdvp), *tip = VTOI(tvp);
	bool fdir = fvp->v_type == VDIR, tdir = tvp->v_type == VDIR;
	struct anyk_timespec now;
	uint32_t ino;
	int error;

	/* The target name must still name tvp. */
	error = ext2_dir_lookup(em, tdp, tname, tnamelen, &ino);
	if (error)
		return error;
	if (ino != tip->i_ino)
		return ENOENT;
	/* A directory swapped for a non-directory moves a link to ".."
	 * from one parent to the other. */
	if (fdp != tdp && fdir && !tdir && dir_link_full(em, tdp))
		return EMLINK;
	if (fdp != tdp && tdir && !fdir && dir_link_full(em, fdp))
		return EMLINK;
	error = ext2_dir_set(em, fdp, fname, fnamelen, tip->i_ino, ext2_mode_to_ft(tip->i_mode));
	if (!error)
		error = ext2_dir_set(em, tdp, tname, tnamelen, ip->i_ino, ext2_mode_to_ft(ip->i_mode));
	if (!error && fdp != tdp && fdir)
		error = ext2_dir_set(em, ip, "..", 2, tdp->i_ino, EXT2_FT_DIR);
	if (!error && fdp != tdp && tdir)
		error = ext2_dir_set(em, tip, "..", 2, fdp->i_ino, EXT2_FT_DIR);
	if (!error && fdp != tdp && fdir != tdir) {
		dir_link_dec(fdir ? fdp : tdp);
		error = dir_link_inc(em, fdir ? tdp : fdp);
	}
	if (error)
		return error;
	ext2_now(&now);
	ip->i_ctime = tip->i_ctime = now;
	touch_dir(fdp, &now);
	touch_dir(tdp, &now);
	error = ext2_inode_write(em, ip);
	if (!error)
		error = ext2_inode_write(em, tip);
	if (!error)
		error = ext2_inode_write(em, fdp);
	if (!error && tdp != fdp)
		error = ext2_inode_write(em, tdp);
	return error;
}

static int
ext2_rename(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen, struct vnode *tdvp,
	    struct vnode *tvp, const char *tname, size_t tnamelen, unsigned flags, struct vattr *wva)
{
	struct ext2_mount *em = VFSTOEXT2(fdvp->v_mount);
	struct ext2_inode *fdp = VTOI(fdvp), *ip = VTOI(fvp), *tdp = VTOI(tdvp);
	struct ext2_inode *tip = tvp != NULL ? VTOI(tvp) : NULL, *wip;
	struct vnode *wvp = NULL;
	bool isdir = fvp->v_type == VDIR, empty;
	uint8_t ft = ext2_mode_to_ft(ip->i_mode);
	struct anyk_timespec now;
	uint32_t ino;
	int error;

	if (em->em_rdonly)
		return EROFS;
	if (fdvp->v_type != VDIR || tdvp->v_type != VDIR)
		return ENOTDIR;
	if (tdp->i_nlink == 0)
		return ENOENT;
	if ((flags & VRENAME_EXCHANGE) && tvp == NULL)
		return EINVAL;
	/* The source name must still name fvp. */
	error = ext2_dir_lookup(em, fdp, fname, fnamelen, &ino);
	if (error)
		return error;
	if (ino != ip->i_ino)
		return ENOENT;
	if (fdp != tdp && (other_project(em, tdp, ip) ||
			   ((flags & VRENAME_EXCHANGE) && other_project(em, fdp, VTOI(tvp)))))
		return EXDEV;
	if (flags & VRENAME_EXCHANGE)
		return ext2_exchange(fdvp, fvp, fname, fnamelen, tdvp, tvp, tname, tnamelen);
	if (tip != NULL && tvp->v_type == VDIR) {
		error = ext2_dir_empty(em, tip, &empty);
		if (error)
			return error;
		if (!empty)
			return ENOTEMPTY;
	}
	if (isdir && fdp != tdp && tip == NULL && dir_link_full(em, tdp))
		return EMLINK;
	/* The whiteout's inode first: running out of inodes changes nothing. */
	if (flags & VRENAME_WHITEOUT) {
		if (wva == NULL)
			return EINVAL;
		error = new_inode(em, fdp, wva, &wip);
		if (!error)
			error = node_vnode(fdvp, wip, &wvp);
		if (error)
			return error;
	}
	ext2_now(&now);
	if (tip != NULL) {
		error = ext2_dir_set(em, tdp, tname, tnamelen, ip->i_ino, ft);
		if (error)
			goto out;
		if (tvp->v_type == VDIR) {
			tip->i_nlink = 0;
			dir_link_dec(tdp);
		} else if (tip->i_nlink > 0) {
			tip->i_nlink--;
		}
		tip->i_ctime = now;
		error = unlinked(em, tvp, tip);
		if (!error)
			error = ext2_inode_write(em, tip);
	} else {
		error = ext2_dir_add(em, tdp, tname, tnamelen, ip->i_ino, ft);
	}
	if (error)
		goto out;
	if (wvp != NULL)
		error = ext2_dir_set(em, fdp, fname, fnamelen, VTOI(wvp)->i_ino, EXT2_FT_CHRDEV);
	else
		error = ext2_dir_remove(em, fdp, fname, fnamelen);
	if (error)
		goto out;
	if (wvp != NULL) {
		vrele(wvp); /* named now: it stays */
		wvp = NULL;
	}
	if (isdir && fdp != tdp) {
		error = ext2_dir_set(em, ip, "..", 2, tdp->i_ino, EXT2_FT_DIR);
		if (error)
			goto out;
		dir_link_dec(fdp);
		/* A replaced target directory's link to tdp went above. */
		error = dir_link_inc(em, tdp);
		if (error)
			goto out;
	}
	ip->i_ctime = now;
	touch_dir(fdp, &now);
	touch_dir(tdp, &now);
	error = ext2_inode_write(em, ip);
	if (!error)
		error = ext2_inode_write(em, fdp);
	if (!error && tdp != fdp)
		error = ext2_inode_write(em, tdp);
out:
	/* A whiteout that got no name is freed with its vnode. */
	if (wvp != NULL) {
		VTOI(wvp)->i_nlink = 0;
		vrele(wvp);
	}
	return error;
}

/* The settable flags a node of type t keeps, as ext4 keeps them: those for
 * directories only go from other files, and symlinks and devices keep
 * only NODUMP and NOATIME. */
static uint32_t
ext2_mask_flags(enum vtype t, uint32_t f)
{
	f &= ANYK_FL_SETTABLE;
	if (t == VDIR)
		return f;
	if (t == VREG)
		return f & ~(uint32_t)(ANYK_FL_DIRSYNC | ANYK_FL_TOPDIR | ANYK_FL_PROJINHERIT);
	return f & (ANYK_FL_NODUMP | ANYK_FL_NOATIME);
}

static int
ext2_setattr(struct vnode *vp, struct vattr *va)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);
	unsigned mask = va->va_mask;
	int error;

	if (mask == 0)
		return 0;
	if (em->em_rdonly)
		return EROFS;
	/* Flags past what ext4 reports are unknown; the read-only ones it
	 * reports are left as they are. */
	if ((mask & VA_FLAGS) && (va->va_flags & ~EXT2_FL_VISIBLE))
		return EOPNOTSUPP;
	/* A directory becomes case-insensitive, or stops being so, only
	 * while empty: its names and index are kept as it folds them. */
	if ((mask & VA_FLAGS) && ((va->va_flags ^ ip->i_flags) & EXT4_CASEFOLD_FL)) {
		bool empty;

		if (!(em->em_sb.s_incompat & INCOMPAT_CASEFOLD) || (ip->i_flags & EXT4_ENCRYPT_FL))
			return EOPNOTSUPP;
		if (vp->v_type != VDIR)
			return ENOTDIR;
		error = ext2_dir_empty(em, ip, &empty);
		if (error)
			return error;
		if (!empty)
			return ENOTEMPTY;
	}
	if (mask & VA_PROJID) {
		/* The id lives past the old inode, in its extra space. */
		if (!(em->em_sb.s_rocompat & RO_COMPAT_PROJECT))
			return va->va_projid == 0 ? 0 : EOPNOTSUPP;
		if (em->em_sb.s_inode_size <= EXT2_GOOD_OLD_INODE_SIZE ||
		    EXT2_GOOD_OLD_INODE_SIZE + ip->i_extra_isize < I_PROJID + 4)
			return EOVERFLOW;
	}
	if (mask & VA_SIZE) {
		switch (vp->v_type) {
		case VREG:
			if (va->va_size < 0)
				return EINVAL;
			if (ip->i_flags & EXT4_VERITY_FL)
				return EPERM;
			/* Even to the same size: blocks preallocated past the
			 * end go (ext2_truncate does nothing else then). */
			error = ext2_truncate(em, ip, (uint64_t)va->va_size);
			if (error)
				return error;
			break;
		case VDIR:
			return EISDIR;
		case VLNK:
			return EINVAL;
		default:
			break;
		}
	}
	if (mask & VA_MODE)
		ip->i_mode = (uint16_t)((ip->i_mode & EXT2_S_IFMT) | (va->va_mode & 07777));
	if (mask & VA_UID)
		ip->i_uid = va->va_uid;
	if (mask & VA_GID)
		ip->i_gid = va->va_gid;
	if (mask & VA_ATIME)
		ip->i_atime = va->va_atime;
	if (mask & VA_MTIME)
		ip->i_mtime = va->va_mtime;
	if ((mask & VA_BTIME) && ip->i_has_crtime)
		ip->i_crtime = va->va_btime;
	if (mask & VA_FLAGS)
		ip->i_flags = (ip->i_flags & ~(ANYK_FL_SETTABLE | EXT4_CASEFOLD_FL)) |
			      ext2_mask_flags(vp->v_type, va->va_flags) | (va->va_flags & EXT4_CASEFOLD_FL);
	/* The quota hook of ext2_inode_write moves the usage. */
	if ((mask & VA_PROJID) && (em->em_sb.s_rocompat & RO_COMPAT_PROJECT))
		ip->i_projid = va->va_projid;
	if (mask & VA_CTIME)
		ip->i_ctime = va->va_ctime;
	else
		ext2_now(&ip->i_ctime);
	return ext2_inode_write(em, ip);
}

static int
ext2_vop_write(struct vnode *vp, struct uio *uio, int ioflag)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);

	if (vp->v_type == VDIR)
		return EISDIR;
	if (vp->v_type != VREG)
		return EINVAL;
	if (em->em_rdonly)
		return EROFS;
	if (VTOI(vp)->i_flags & (EXT4_VERITY_FL | EXT2_IMMUTABLE_FL))
		return EPERM;
	return ext2_write(em, VTOI(vp), uio, ioflag);
}

/* A file under fs-verity is read, never written, as on Linux: its data and
 * the hash tree kept past its end must not change. */
static int
ext2_open(struct vnode *vp, int flags)
{
	if ((VTOI(vp)->i_flags & EXT4_VERITY_FL) && (flags & ANYK_O_ACCMODE) != ANYK_O_RDONLY)
		return EPERM;
	return 0;
}

static int
ext2_setxattr_vop(struct vnode *vp, const char *name, const void *buf, size_t size, int flags)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);

	if (em->em_rdonly)
		return EROFS;
	if (buf == NULL && size != 0)
		return EINVAL;
	return ext2_setxattr(em, VTOI(vp), name, buf == NULL ? "" : buf, size, flags);
}

static int
ext2_removexattr_vop(struct vnode *vp, const char *name)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);

	if (em->em_rdonly)
		return EROFS;
	return ext2_setxattr(em, VTOI(vp), name, NULL, 0, 0);
}

/* --- journal handles ------------------------------------------------------------- */

/*
 * Every operation that changes metadata runs in one journal handle, taken
 * here, after the VFS has locked the vnodes, and ended before returning.
 * Its size, the distinct metadata blocks the operation may change, comes
 * from the table behind ext2_jop_begin (ext2_jmeta.c). Those that allocate
 * run once more after an ENOSPC if blocks freed by uncommitted
 * transactions were waiting (ext2_jretry commits them first).
 */
/* create and mkdir: a new name and inode. */
static int
j_make(int (*op)(struct vnode *, const char *, size_t, struct vattr *, struct vnode **), struct vnode *dvp,
       const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_jhandle *h;
	int error, tries = 0;

	*vpp = NULL;
	if (encrypted(dvp))
		return ENOKEY;
	do {
		*vpp = NULL;
		error = ext2_jop_begin(em, EXT2_JOP_CREATE, 0, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, op(dvp, name, namelen, va, vpp));
	} while (ext2_jretry(em, error, &tries));
	return error;
}

static int
j_create(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return j_make(ext2_create, dvp, name, namelen, va, vpp);
}

static int
j_mkdir(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	return j_make(ext2_mkdir, dvp, name, namelen, va, vpp);
}

static int
j_symlink(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, const char *target,
	  struct vnode **vpp)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_jhandle *h;
	int error, tries = 0;

	*vpp = NULL;
	if (encrypted(dvp))
		return ENOKEY;
	do {
		*vpp = NULL;
		error = ext2_jop_begin(em, EXT2_JOP_CREATE, 0, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, ext2_symlink(dvp, name, namelen, va, target, vpp));
	} while (ext2_jretry(em, error, &tries));
	return error;
}

/* remove, rmdir and link: one name of an existing inode. */
static int
j_name(int (*op)(struct vnode *, struct vnode *, const char *, size_t), struct vnode *dvp, struct vnode *vp,
       const char *name, size_t namelen)
{
	struct ext2_mount *em = VFSTOEXT2(dvp->v_mount);
	struct ext2_jhandle *h;
	int error, tries = 0;

	if (encrypted(dvp))
		return ENOKEY;
	do {
		error = ext2_jop_begin(em, EXT2_JOP_NAME, 0, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, op(dvp, vp, name, namelen));
	} while (ext2_jretry(em, error, &tries));
	return error;
}

static int
j_remove(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return j_name(ext2_remove, dvp, vp, name, namelen);
}

static int
j_rmdir(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return j_name(ext2_rmdir, dvp, vp, name, namelen);
}

static int
j_link(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	return j_name(ext2_link, dvp, vp, name, namelen);
}

static int
j_rename(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen, struct vnode *tdvp,
	 struct vnode *tvp, const char *tname, size_t tnamelen, unsigned flags, struct vattr *wva)
{
	struct ext2_mount *em = VFSTOEXT2(fdvp->v_mount);
	struct ext2_jhandle *h;
	int error, tries = 0;

	if (encrypted(fdvp) || encrypted(tdvp))
		return ENOKEY;
	do {
		error = ext2_jop_begin(em, EXT2_JOP_RENAME, 0, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, ext2_rename(fdvp, fvp, fname, fnamelen, tdvp, tvp, tname, tnamelen,
						    flags, wva));
	} while (ext2_jretry(em, error, &tries));
	return error;
}

static int
j_setattr(struct vnode *vp, struct vattr *va)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_jhandle *h;
	int error;

	if ((va->va_mask & VA_SIZE) && encrypted(vp))
		return ENOKEY;
	/* Truncation frees what lies beyond the new size, growth only zeroes
	 * the old last block's tail. */
	if ((va->va_mask & VA_SIZE) && VTOI(vp) != NULL)
		error = ext2_jop_begin(em, EXT2_JOP_FILE, VTOI(vp)->i_size, &h);
	else
		error = ext2_jop_begin(em, EXT2_JOP_SETATTR, 0, &h);
	if (error)
		return error;
	return ext2_jop_end(h, ext2_setattr(vp, va));
}

static int
j_write(struct vnode *vp, struct uio *uio, int ioflag)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_jhandle *h;
	int error, tries = 0;

	if (encrypted(vp))
		return ENOKEY;
	/* Another pass after ENOSPC goes on from where the first stopped. */
	do {
		error = ext2_jop_begin(em, EXT2_JOP_FILE, uio->uio_resid, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, ext2_vop_write(vp, uio, ioflag));
	} while (ext2_jretry(em, error, &tries));
	return error;
}


#define FALLOC_CHUNK ((anyk_off_t)1 << 30) /* bytes of a fallocate per transaction */

static int j_fallocate(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len);

/*
 * COLLAPSE_RANGE and INSERT_RANGE, checked as Linux checks them: whole
 * blocks, a collapse ending before the end of file, an insert starting
 * before it. A collapse first punches the range out as j_fallocate punches
 * holes (a gibibyte per transaction), then moves the extents in one more
 * transaction: a crash between leaves the range a hole, the file otherwise
 * whole.
 */
static int
j_shift_range(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);
	struct ext2_jhandle *h;
	int error;

	if (((uint64_t)off | (uint64_t)len) & (em->em_bsize - 1))
		return EINVAL;
	if (mode & ANYK_FALLOC_FL_COLLAPSE_RANGE) {
		if ((uint64_t)(off + len) >= ip->i_size)
			return EINVAL;
		error = j_fallocate(vp, ANYK_FALLOC_FL_PUNCH_HOLE | ANYK_FALLOC_FL_KEEP_SIZE, off, len);
		if (error)
			return error;
	} else {
		if ((uint64_t)off >= ip->i_size)
			return EINVAL;
		if (ip->i_size + (uint64_t)len > ext2_maxfilesize(em, ip))
			return EFBIG;
	}
	/* The whole tree is written again: as many blocks as a truncation. */
	error = ext2_jop_begin(em, EXT2_JOP_FILE, ip->i_size, &h);
	if (error)
		return error;
	return ext2_jop_end(h, ext2_shift_range(em, ip, mode, (uint64_t)off, (uint64_t)len));
}

/*
 * fallocate, one journal transaction per gibibyte of the range (aligned
 * on gibibytes, so that only the range's own ends fall inside a block);
 * every piece but the last keeps the size, the last sets it.
 */
static int
j_fallocate(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);
	anyk_off_t end = off + len, pos = off, stop;
	struct ext2_jhandle *h;
	int error = 0, m, tries = 0;

	if (ip->i_flags & (EXT4_VERITY_FL | EXT2_IMMUTABLE_FL))
		return EPERM;
	if (encrypted(vp))
		return ENOKEY;
	/* Inline data first moves to a block, mapped as the file system
	 * maps blocks. */
	if (ext2_is_inline(ip)) {
		error = ext2_jop_begin(em, EXT2_JOP_FILE, ip->i_size, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, ext2_inline_expand(em, ip));
		if (error)
			return error;
	}
	/* A block map can lose blocks, but has no unwritten ones to add. */
	if (!(ip->i_flags & EXT4_EXTENTS_FL) && !(mode & ANYK_FALLOC_FL_PUNCH_HOLE))
		return EOPNOTSUPP;
	if (mode & (ANYK_FALLOC_FL_COLLAPSE_RANGE | ANYK_FALLOC_FL_INSERT_RANGE))
		return j_shift_range(vp, mode, off, len);
	while (pos < end && !error) {
		stop = MIN(end, (pos / FALLOC_CHUNK + 1) * FALLOC_CHUNK);
		m = stop < end ? mode | ANYK_FALLOC_FL_KEEP_SIZE : mode;
		error = ext2_jop_begin(em, EXT2_JOP_FILE, (uint64_t)(stop - pos), &h);
		if (!error)
			error = ext2_jop_end(h, ext2_fallocate(em, ip, m, (uint64_t)pos, (uint64_t)(stop - pos)));
		/* A piece that ran out of space runs again (holes only). */
		if (ext2_jretry(em, error, &tries))
			error = 0;
		else
			pos = stop;
	}
	return error;
}

static int
j_setxattr(struct vnode *vp, const char *name, const void *buf, size_t size, int flags)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_jhandle *h;
	int error, tries = 0;

	do {
		error = ext2_jop_begin(em, EXT2_JOP_XATTR, 0, &h);
		if (error)
			return error;
		error = ext2_jop_end(h, ext2_setxattr_vop(vp, name, buf, size, flags));
	} while (ext2_jretry(em, error, &tries));
	return error;
}

static int
j_removexattr(struct vnode *vp, const char *name)
{
	struct ext2_jhandle *h;
	int error = ext2_jop_begin(VFSTOEXT2(vp->v_mount), EXT2_JOP_XATTR, 0, &h);

	if (error)
		return error;
	return ext2_jop_end(h, ext2_removexattr_vop(vp, name));
}

/* The last reference to an unlinked inode: its blocks, attribute block
 * and inode are freed, and it leaves the orphan list. */
static int
j_inactive(struct vnode *vp, bool *recycle)
{
	struct ext2_mount *em = VFSTOEXT2(vp->v_mount);
	struct ext2_inode *ip = VTOI(vp);
	struct ext2_jhandle *h = NULL;
	int error;

	if (ip != NULL && em != NULL && ip->i_nlink == 0 && !em->em_rdonly) {
		error = ext2_jop_begin(em, EXT2_JOP_RELEASE, ip->i_blocks512 * 512, &h);
		if (error) {
			*recycle = false;
			return error;
		}
	}
	return ext2_jop_end(h, ext2_inactive(vp, recycle));
}

const struct vnodeops ext2_vnodeops = {
	.vop_lookup = ext2_lookup,
	.vop_create = j_create,
	.vop_mkdir = j_mkdir,
	.vop_symlink = j_symlink,
	.vop_mknod = j_create,
	.vop_remove = j_remove,
	.vop_rmdir = j_rmdir,
	.vop_link = j_link,
	.vop_rename = j_rename,
	.vop_readdir = ext2_readdir,
	.vop_readlink = ext2_vop_readlink,
	.vop_getattr = ext2_getattr,
	.vop_setattr = j_setattr,
	.vop_read = ext2_vop_read,
	.vop_write = j_write,
	.vop_seek = ext2_seek,
	.vop_fallocate = j_fallocate,
	.vop_fsync = ext2_fsync,
	.vop_open = ext2_open,
	.vop_close = NULL,
	.vop_inactive = j_inactive,
	.vop_reclaim = ext2_reclaim,
	.vop_getxattr = ext2_getxattr_vop,
	.vop_setxattr = j_setxattr,
	.vop_listxattr = ext2_listxattr_vop,
	.vop_removexattr = j_removexattr,
};
