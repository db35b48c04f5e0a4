/*
 * tmpfs vnode operations: name space changes (create, link, remove,
 * rename), attributes, and the entry points for file data, directories and
 * symbolic links. The VFS holds the vnode locks as vfs/vfs.h describes and
 * has checked permissions, types and ancestry; what is left here is the
 * file system's own bookkeeping: entries, link counts and timestamps.
 */
#include "fs/tmpfs/tmpfs.h"

static int
tmpfs_lookup(struct vnode *dvp, const char *name, size_t namelen, struct vnode **vpp)
{
	struct tmpfs_node *dn = VTON(dvp), *parent;
	struct tmpfs_dirent *de;

	if (dvp->v_type != VDIR)
		return ENOTDIR;
	if (namelen == 1 && name[0] == '.') {
		vref(dvp);
		*vpp = dvp;
		return 0;
	}
	if (namelen == 2 && name[0] == '.' && name[1] == '.') {
		parent = dn->tn_dir.td_parent;
		if (parent == NULL)
			return ENOENT;
		if (parent == dn) {
			vref(dvp);
			*vpp = dvp;
			return 0;
		}
		return tmpfs_node_vget(dvp->v_mount, parent, vpp);
	}
	if (namelen > ANYK_NAME_MAX)
		return ENAMETOOLONG;
	de = tmpfs_dir_lookup(dn, name, namelen);
	if (de == NULL)
		return ENOENT;
	return tmpfs_node_vget(dvp->v_mount, de->td_node, vpp);
}

/* Make a node of any type named name in dvp (held exclusive). */
static int
tmpfs_makenode(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va,
	       const char *target, struct vnode **vpp)
{
	struct tmpfs_mount *tm = VFSTOTM(dvp->v_mount);
	struct tmpfs_node *dn = VTON(dvp), *n = NULL;
	struct tmpfs_dirent *de = NULL;
	anyk_mode_t mode = va->va_mode & 07777;
	anyk_gid_t gid = va->va_gid;
	char *tcopy = NULL;
	size_t tlen = 0;
	int error;

	if (dvp->v_type != VDIR)
		return ENOTDIR;
	/* A removed directory takes no new entries. */
	if (dn->tn_nlink == 0)
		return ENOENT;
	if (va->va_type == VDIR && dn->tn_nlink >= TMPFS_LINK_MAX)
		return EMLINK;
	if (tmpfs_dir_lookup(dn, name, namelen) != NULL)
		return EEXIST;
	if (va->va_type == VLNK) {
		tlen = strnlen(target, ANYK_PATH_MAX);
		if (tlen >= ANYK_PATH_MAX)
			return ENAMETOOLONG;
	}
	error = tmpfs_dirent_alloc(name, namelen, &de);
	if (error)
		goto out;
	if (va->va_type == VLNK) {
		tcopy = kmem_alloc(&tmpfs_kmem, tlen + 1);
		if (tcopy == NULL) {
			error = ENOMEM;
			goto out;
		}
		memcpy(tcopy, target, tlen);
		tcopy[tlen] = '\0';
	}
	/* Set-group-ID directories hand their group down, and the bit to
	 * subdirectories. */
	if (dn->tn_mode & ANYK_S_ISGID) {
		gid = dn->tn_gid;
		if (va->va_type == VDIR)
			mode |= ANYK_S_ISGID;
	}
	error = tmpfs_node_alloc(tm, va->va_type, mode, va->va_uid, gid, va->va_rdev, &n);
	if (error)
		goto out;
	if (va->va_type == VLNK) {
		n->tn_lnk.tl_target = tcopy;
		n->tn_lnk.tl_len = tlen;
		n->tn_size = (anyk_off_t)tlen;
		tcopy = NULL;
	}
	n->tn_nlink = va->va_type == VDIR ? 2 : 1;
	if (va->va_type == VDIR)
		n->tn_dir.td_parent = dn;
	/* Handed down, as Linux's tmpfs hands them. */
	n->tn_flags = dn->tn_flags & (ANYK_FL_NODUMP | ANYK_FL_NOATIME);

	/* Get the vnode before linking the name, so that failing leaves
	 * nothing behind. */
	error = vcache_new(dvp->v_mount, n->tn_ino, n, vpp);
	if (error) {
		n->tn_nlink = 0;
		tmpfs_node_free(tm, n);
		goto out;
	}
	tmpfs_dir_attach(dn, de, n);
	de = NULL;
	if (va->va_type == VDIR)
		dn->tn_nlink++;
	dn->tn_mtime = dn->tn_ctime = n->tn_ctime;
out:
	if (de != NULL)
		tmpfs_dirent_free(de);
	if (tcopy != NULL)
		kmem_free(&tmpfs_kmem, tcopy, tlen + 1);
	return error;
}

static int
tmpfs_create(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	if (va->va_type == VDIR || va->va_type == VLNK || va->va_type == VNON || va->va_type == VBAD)
		return EINVAL;
	return tmpfs_makenode(dvp, name, namelen, va, NULL, vpp);
}

static int
tmpfs_mkdir(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	va->va_type = VDIR;
	return tmpfs_makenode(dvp, name, namelen, va, NULL, vpp);
}

static int
tmpfs_symlink(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va,
	      const char *target, struct vnode **vpp)
{
	if (target == NULL)
		return EINVAL;
	va->va_type = VLNK;
	return tmpfs_makenode(dvp, name, namelen, va, target, vpp);
}

static int
tmpfs_mknod(struct vnode *dvp, const char *name, size_t namelen, struct vattr *va, struct vnode **vpp)
{
	switch (va->va_type) {
	case VREG:
	case VCHR:
	case VBLK:
	case VFIFO:
	case VSOCK:
		return tmpfs_makenode(dvp, name, namelen, va, NULL, vpp);
	default:
		return EINVAL;
	}
}

/* The entry name in dn, which must name n (the VFS looked it up, but be
 * sure rather than unlink the wrong thing). */
static int
entry_of(struct tmpfs_node *dn, const char *name, size_t namelen, struct tmpfs_node *n,
	 struct tmpfs_dirent **dep)
{
	struct tmpfs_dirent *de = tmpfs_dir_lookup(dn, name, namelen);

	if (de == NULL || de->td_node != n)
		return ENOENT;
	*dep = de;
	return 0;
}

static int
tmpfs_remove(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	struct tmpfs_node *dn = VTON(dvp), *n = VTON(vp);
	struct tmpfs_dirent *de;
	int error;

	if (vp->v_type == VDIR)
		return EPERM;
	error = entry_of(dn, name, namelen, n, &de);
	if (error)
		return error;
	tmpfs_dir_detach(dn, de);
	tmpfs_dirent_free(de);
	n->tn_nlink--;
	tmpfs_node_touch(n, false, true);
	dn->tn_mtime = dn->tn_ctime = n->tn_ctime;
	return 0;
}

static int
tmpfs_rmdir(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	struct tmpfs_node *dn = VTON(dvp), *n = VTON(vp);
	struct tmpfs_dirent *de;
	int error;

	if (vp->v_type != VDIR)
		return ENOTDIR;
	if (n == dn)
		return EINVAL;
	error = entry_of(dn, name, namelen, n, &de);
	if (error)
		return error;
	if (!tmpfs_dir_empty(n))
		return ENOTEMPTY;
	tmpfs_dir_detach(dn, de);
	tmpfs_dirent_free(de);
	n->tn_nlink = 0;
	n->tn_dir.td_parent = NULL;
	dn->tn_nlink--;
	tmpfs_node_touch(n, false, true);
	dn->tn_mtime = dn->tn_ctime = n->tn_ctime;
	return 0;
}

static int
tmpfs_link(struct vnode *dvp, struct vnode *vp, const char *name, size_t namelen)
{
	struct tmpfs_node *dn = VTON(dvp), *n = VTON(vp);
	struct tmpfs_dirent *de;
	int error;

	if (dvp->v_type != VDIR)
		return ENOTDIR;
	if (vp->v_type == VDIR)
		return EPERM;
	if (dn->tn_nlink == 0 || n->tn_nlink == 0)
		return ENOENT;
	if (n->tn_nlink >= TMPFS_LINK_MAX)
		return EMLINK;
	if (tmpfs_dir_lookup(dn, name, namelen) != NULL)
		return EEXIST;
	error = tmpfs_dirent_alloc(name, namelen, &de);
	if (error)
		return error;
	tmpfs_dir_attach(dn, de, n);
	n->tn_nlink++;
	tmpfs_node_touch(n, false, true);
	dn->tn_mtime = dn->tn_ctime = n->tn_ctime;
	return 0;
}

/* RENAME_EXCHANGE: the entries fde and tde swap their nodes. */
static void
tmpfs_exchange(struct tmpfs_node *fdn, struct tmpfs_dirent *fde, struct tmpfs_node *tdn,
	       struct tmpfs_dirent *tde)
{
	struct tmpfs_node *fn = fde->td_node, *tn = tde->td_node;
	bool fdir = fn->tn_type == VDIR, tdir = tn->tn_type == VDIR;
	struct anyk_timespec now;

	fde->td_node = tn;
	tde->td_node = fn;
	if (fdn != tdn) {
		if (fdir)
			fn->tn_dir.td_parent = tdn;
		if (tdir)
			tn->tn_dir.td_parent = fdn;
		if (fdir && !tdir) {
			fdn->tn_nlink--;
			tdn->tn_nlink++;
		} else if (tdir && !fdir) {
			tdn->tn_nlink--;
			fdn->tn_nlink++;
		}
	}
	tmpfs_now(&now);
	fn->tn_ctime = tn->tn_ctime = now;
	fdn->tn_mtime = fdn->tn_ctime = now;
	tdn->tn_mtime = tdn->tn_ctime = now;
}

/*
 * Move fname in fdvp to tname in tdvp, replacing tvp if there is one (or,
 * with VRENAME_EXCHANGE, swapping the two). All checks come first, and the
 * allocations (a new entry when nothing is replaced, a whiteout) before any
 * change, so the rename happens entirely or not at all. A replaced entry
 * keeps its place (and readdir cookie) and just names the moved node from
 * then on; so does the source entry that comes to name a whiteout.
 */
static int
tmpfs_rename(struct vnode *fdvp, struct vnode *fvp, const char *fname, size_t fnamelen,
	     struct vnode *tdvp, struct vnode *tvp, const char *tname, size_t tnamelen,
	     unsigned flags, struct vattr *wva)
{
	struct tmpfs_mount *tm = VFSTOTM(fdvp->v_mount);
	struct tmpfs_node *fdn = VTON(fdvp), *fn = VTON(fvp), *tdn = VTON(tdvp);
	struct tmpfs_node *tn = tvp ? VTON(tvp) : NULL, *wn = NULL;
	struct tmpfs_dirent *fde, *tde = NULL, *nde = NULL;
	bool isdir = fn->tn_type == VDIR;
	struct anyk_timespec now;
	int error;

	if (fdvp->v_type != VDIR || tdvp->v_type != VDIR)
		return ENOTDIR;
	error = entry_of(fdn, fname, fnamelen, fn, &fde);
	if (error)
		return error;
	if (tdn->tn_nlink == 0)
		return ENOENT;
	if (flags & VRENAME_EXCHANGE) {
		if (tn == NULL)
			return EINVAL;
		if (tn == fn)
			return 0;
		error = entry_of(tdn, tname, tnamelen, tn, &tde);
		if (error)
			return error;
		tmpfs_exchange(fdn, fde, tdn, tde);
		return 0;
	}
	if (tn != NULL) {
		if (tn == fn)
			return 0;
		error = entry_of(tdn, tname, tnamelen, tn, &tde);
		if (error)
			return error;
		if (tn->tn_type == VDIR && !tmpfs_dir_empty(tn))
			return ENOTEMPTY;
	} else {
		tde = tmpfs_dir_lookup(tdn, tname, tnamelen);
		if (tde != NULL)
			return tde->td_node == fn ? 0 : EEXIST;
		if (isdir && fdn != tdn && tdn->tn_nlink >= TMPFS_LINK_MAX)
			return EMLINK;
		error = tmpfs_dirent_alloc(tname, tnamelen, &nde);
		if (error)
			return error;
	}
	if (flags & VRENAME_WHITEOUT) {
		error = wva == NULL ? EINVAL : tmpfs_node_alloc(tm, VCHR, 0, wva->va_uid, wva->va_gid, 0, &wn);
		if (error) {
			if (nde != NULL)
				tmpfs_dirent_free(nde);
			return error;
		}
		wn->tn_nlink = 1;
	}

	if (isdir && fdn != tdn) {
		fdn->tn_nlink--;
		tdn->tn_nlink++;
		fn->tn_dir.td_parent = tdn;
	}
	tmpfs_now(&now);
	if (tn != NULL) {
		tde->td_node = fn;
		if (tn->tn_type == VDIR) {
			tn->tn_nlink = 0;
			tn->tn_dir.td_parent = NULL;
			tdn->tn_nlink--;
		} else {
			tn->tn_nlink--;
		}
		tn->tn_ctime = now;
	} else {
		tmpfs_dir_attach(tdn, nde, fn);
	}
	if (wn != NULL) {
		fde->td_node = wn;
	} else {
		tmpfs_dir_detach(fdn, fde);
		tmpfs_dirent_free(fde);
	}
	fn->tn_ctime = now;
	fdn->tn_mtime = fdn->tn_ctime = now;
	tdn->tn_mtime = tdn->tn_ctime = now;
	return 0;
}

static int
tmpfs_readdir(struct vnode *vp, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	struct tmpfs_node *n = VTON(vp);
	int error;

	if (vp->v_type != VDIR)
		return ENOTDIR;
	error = tmpfs_dir_readdir(n, cookie, fill, ctx);
	if (error == 0)
		tmpfs_node_atime(vp->v_mount, n);
	return error;
}

static int
tmpfs_fallocate(struct vnode *vp, int mode, anyk_off_t off, anyk_off_t len)
{
	if (VTON(vp)->tn_flags & ANYK_FL_IMMUTABLE)
		return EPERM;
	return tmpfs_file_fallocate(VFSTOTM(vp->v_mount), VTON(vp), mode, off, len);
}

static int
tmpfs_readlink(struct vnode *vp, struct uio *uio)
{
	struct tmpfs_node *n = VTON(vp);
	int error;

	if (vp->v_type != VLNK)
		return EINVAL;
	error = uiomove(n->tn_lnk.tl_target, MIN(n->tn_lnk.tl_len, uio->uio_resid), uio);
	if (error == 0)
		tmpfs_node_atime(vp->v_mount, n);
	return error;
}

static int
tmpfs_getattr(struct vnode *vp, struct vattr *va)
{
	struct tmpfs_node *n = VTON(vp);

	va->va_mask = 0;
	va->va_type = n->tn_type;
	va->va_mode = n->tn_mode;
	va->va_nlink = n->tn_nlink;
	va->va_uid = n->tn_uid;
	va->va_gid = n->tn_gid;
	va->va_fsid = vp->v_mount->mnt_fsid;
	va->va_ino = n->tn_ino;
	va->va_bytes = 0;
	switch (n->tn_type) {
	case VREG:
		va->va_size = n->tn_size;
		va->va_bytes = n->tn_reg.tr_npages * TMPFS_PAGE_SIZE;
		break;
	case VLNK:
		va->va_size = n->tn_size;
		break;
	case VDIR:
		va->va_size = (anyk_off_t)((tmpfs_dir_count(n) + 2) * TMPFS_DIRENT_BOGOSIZE);
		break;
	default:
		va->va_size = 0;
		break;
	}
	va->va_blksize = TMPFS_PAGE_SIZE;
	va->va_rdev = n->tn_rdev;
	va->va_flags = n->tn_flags;
	va->va_atime.tv_sec = atomic_load_relaxed(&n->tn_atime.tv_sec);
	va->va_atime.tv_nsec = atomic_load_relaxed(&n->tn_atime.tv_nsec);
	va->va_mtime = n->tn_mtime;
	va->va_ctime = n->tn_ctime;
	va->va_btime = n->tn_btime;
	return 0;
}

/* The file flags tmpfs keeps, Linux's tmpfs's. */
#define TMPFS_FLAGS (ANYK_FL_IMMUTABLE | ANYK_FL_APPEND | ANYK_FL_NODUMP | ANYK_FL_NOATIME)

static int
tmpfs_setattr(struct vnode *vp, struct vattr *va)
{
	struct tmpfs_mount *tm = VFSTOTM(vp->v_mount);
	struct tmpfs_node *n = VTON(vp);
	unsigned mask = va->va_mask;
	int error;

	if (mask == 0)
		return 0;
	if ((mask & VA_FLAGS) && (va->va_flags & ~TMPFS_FLAGS))
		return EOPNOTSUPP;
	if ((mask & VA_PROJID) && va->va_projid != 0)
		return EOPNOTSUPP; /* as Linux's tmpfs: no project ids */
	if (mask & VA_SIZE) {
		switch (n->tn_type) {
		case VREG:
			error = tmpfs_file_truncate(tm, n, va->va_size);
			if (error)
				return error;
			break;
		case VDIR:
			return EISDIR;
		case VLNK:
			return EINVAL;
		default:
			break; /* devices, fifos and sockets have no size to change */
		}
	}
	if (mask & VA_MODE)
		n->tn_mode = va->va_mode & 07777;
	if (mask & VA_UID)
		n->tn_uid = va->va_uid;
	if (mask & VA_GID)
		n->tn_gid = va->va_gid;
	if (mask & VA_ATIME)
		n->tn_atime = va->va_atime;
	if (mask & VA_MTIME)
		n->tn_mtime = va->va_mtime;
	if (mask & VA_BTIME)
		n->tn_btime = va->va_btime;
	/* Symlinks and devices keep only NODUMP and NOATIME. */
	if (mask & VA_FLAGS)
		n->tn_flags = va->va_flags & (n->tn_type == VREG || n->tn_type == VDIR
					      ? TMPFS_FLAGS : ANYK_FL_NODUMP | ANYK_FL_NOATIME);
	if (mask & VA_CTIME)
		n->tn_ctime = va->va_ctime;
	else
		tmpfs_node_touch(n, false, true);
	return 0;
}

static int
tmpfs_read(struct vnode *vp, struct uio *uio, int ioflag)
{
	struct tmpfs_node *n = VTON(vp);
	int error;

	if (vp->v_type == VDIR)
		return EISDIR;
	if (vp->v_type != VREG)
		return EINVAL;
	error = tmpfs_file_read(n, uio);
	if (error == 0)
		tmpfs_node_atime(vp->v_mount, n);
	return error;
}

static int
tmpfs_write(struct vnode *vp, struct uio *uio, int ioflag)
{
	if (vp->v_type == VDIR)
		return EISDIR;
	if (vp->v_type != VREG)
		return EINVAL;
	if (VTON(vp)->tn_flags & ANYK_FL_IMMUTABLE)
		return EPERM;
	return tmpfs_file_write(VFSTOTM(vp->v_mount), VTON(vp), uio, ioflag);
}

static int
tmpfs_seek(struct vnode *vp, int whence, anyk_off_t *offp)
{
	if (vp->v_type != VREG)
		return EINVAL;
	return tmpfs_file_seek(VTON(vp), whence, offp);
}

static int
tmpfs_fsync(struct vnode *vp, int flags)
{
	return 0; /* memory is as stable as it gets */
}

static int
tmpfs_inactive(struct vnode *vp, bool *recycle)
{
	struct tmpfs_node *n = VTON(vp);

	*recycle = n == NULL || n->tn_nlink == 0;
	return 0;
}

/* Free the node with its last vnode if no name is left; otherwise the node
 * stays in the mount's table to be loaded again. */
static int
tmpfs_reclaim(struct vnode *vp)
{
	struct tmpfs_node *n = VTON(vp);
	struct tmpfs_mount *tm;

	if (n == NULL)
		return 0; /* the mount went first and freed it */
	tm = VFSTOTM(vp->v_mount);
	mutex_enter(&tm->tm_lock);
	if (n->tn_vnode == vp)
		n->tn_vnode = NULL;
	mutex_exit(&tm->tm_lock);
	vp->v_data = NULL;
	if (n->tn_nlink == 0)
		tmpfs_node_free(tm, n);
	return 0;
}

const struct vnodeops tmpfs_vnodeops = {
	.vop_lookup = tmpfs_lookup,
	.vop_create = tmpfs_create,
	.vop_mkdir = tmpfs_mkdir,
	.vop_symlink = tmpfs_symlink,
	.vop_mknod = tmpfs_mknod,
	.vop_remove = tmpfs_remove,
	.vop_rmdir = tmpfs_rmdir,
	.vop_link = tmpfs_link,
	.vop_rename = tmpfs_rename,
	.vop_readdir = tmpfs_readdir,
	.vop_readlink = tmpfs_readlink,
	.vop_getattr = tmpfs_getattr,
	.vop_setattr = tmpfs_setattr,
	.vop_read = tmpfs_read,
	.vop_write = tmpfs_write,
	.vop_seek = tmpfs_seek,
	.vop_fallocate = tmpfs_fallocate,
	.vop_fsync = tmpfs_fsync,
	.vop_open = NULL,
	.vop_close = NULL,
	.vop_inactive = tmpfs_inactive,
	.vop_reclaim = tmpfs_reclaim,
	.vop_getxattr = tmpfs_getxattr,
	.vop_setxattr = tmpfs_setxattr,
	.vop_listxattr = tmpfs_listxattr,
	.vop_removexattr = tmpfs_removexattr,
};
