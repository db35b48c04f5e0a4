/*
 * File system types and the mount table: vfs_register, mount and unmount
 * (plain and forced), crossing mount points, sync of everything, and the
 * VFS component that sets up the vnode cache and the mount table at boot.
 *
 * mount_lock (a rwlock, the outermost VFS lock) guards the mount list,
 * every v_mountedhere and mnt_vnodecovered link and the type list. Path
 * lookup takes it shared only when it meets a covered directory; mount and
 * unmount take it exclusive, so a lookup never enters a file system that is
 * being unmounted.
 */
#include "vfs/vfs_impl.h"

KMEM_TYPE(M_MOUNT, "mount");

static krwlock_t mount_lock;
static struct dlist mountlist = DLIST_INIT(mountlist);
static struct dlist vfstypes = DLIST_INIT(vfstypes);
static struct mount *rootmount;
static uint64_t next_fsid = 1;

int vfs_register(struct vfsops *ops)
{
	struct dlist *it;
	int error = 0;

	if (ops == NULL || ops->vfs_name == NULL || ops->vfs_mount == NULL ||
	    ops->vfs_loadvnode == NULL)
		return EINVAL;
	rw_enter(&mount_lock, RW_WRITER);
	dlist_foreach(it, &vfstypes) {
		struct vfsops *o = container_of(it, struct vfsops, vfs_link);
		if (o == ops)
			goto out; /* registered again after a re-init */
		if (strcmp(o->vfs_name, ops->vfs_name) == 0) {
			error = EEXIST;
			goto out;
		}
	}
	dlist_insert_tail(&vfstypes, &ops->vfs_link);
out:
	rw_exit(&mount_lock);
	return error;
}

static struct vfsops *vfs_findtype(const char *name)
{
	struct dlist *it;

	dlist_foreach(it, &vfstypes) {
		struct vfsops *o = container_of(it, struct vfsops, vfs_link);
		if (strcmp(o->vfs_name, name) == 0)
			return o;
	}
	return NULL;
}

static void mount_free(struct mount *mp)
{
	mutex_destroy(&mp->mnt_renamelock);
	mutex_destroy(&mp->mnt_vnlock);
	kmem_free(&M_MOUNT, mp, sizeof(*mp));
}

int vfs_mount(struct vnode *vp, const char *fstype, const char *source, int flags,
	      const char *options, const char *onpath)
{
	struct vfsops *ops;
	struct mount *mp;
	struct vnode *rootvp = NULL;
	bool busy;
	int error;

	if (fstype == NULL)
		return EINVAL;
	rw_enter(&mount_lock, RW_READER);
	ops = vfs_findtype(fstype);
	rw_exit(&mount_lock);
	if (ops == NULL)
		return ENODEV;
	if (vp != NULL && vp->v_type != VDIR)
		return ENOTDIR;

	mp = kmem_zalloc(&M_MOUNT, sizeof(*mp));
	if (mp == NULL)
		return ENOMEM;
	mp->mnt_op = ops;
	mp->mnt_flag = flags;
	mutex_init(&mp->mnt_renamelock);
	mutex_init(&mp->mnt_vnlock);
	dlist_init(&mp->mnt_vnodes);
	dlist_init(&mp->mnt_link);
	mp->mnt_ref = 1;
	strlcpy(mp->mnt_fstype, fstype, sizeof(mp->mnt_fstype));
	strlcpy(mp->mnt_from, source != NULL ? source : fstype, sizeof(mp->mnt_from));
	strlcpy(mp->mnt_on, onpath != NULL ? onpath : "/", sizeof(mp->mnt_on));
	mp->mnt_fsid = __atomic_fetch_add(&next_fsid, 1, __ATOMIC_RELAXED);

	error = ops->vfs_mount(mp, source, options != NULL ? options : "", &rootvp);
	if (error) {
		/* The file system may have loaded vnodes before failing. */
		vcache_mount_state(mp, 1);
		(void)vcache_flush_mount(mp, true, 0, &busy);
		mount_free(mp);
		return error;
	}
	__atomic_or_fetch(&rootvp->v_vflag, VV_ROOT, __ATOMIC_RELAXED);
	mp->mnt_root = rootvp;

	rw_enter(&mount_lock, RW_WRITER);
	if (vp == NULL ? rootmount != NULL : vp->v_mountedhere != NULL) {
		rw_exit(&mount_lock);
		error = EBUSY;
		goto undo;
	}
	mp->mnt_vnodecovered = vp;
	if (vp == NULL)
		rootmount = mp;
	else
		atomic_store_release(&vp->v_mountedhere, mp);
	dlist_insert_tail(&mountlist, &mp->mnt_link);
	rw_exit(&mount_lock);
	return 0;
undo:
	vcache_mount_state(mp, 1);
	(void)vcache_flush_mount(mp, true, 1, &busy);
	if (ops->vfs_unmount != NULL)
		(void)ops->vfs_unmount(mp, ANYK_MNT_FORCE);
	vcache_release_root(mp);
	mount_free(mp);
	return error;
}

static bool mount_has_children(struct mount *mp)
{
	struct dlist *it;

	dlist_foreach(it, &mountlist) {
		struct mount *m = container_of(it, struct mount, mnt_link);
		if (m->mnt_vnodecovered != NULL && m->mnt_vnodecovered->v_mount == mp)
			return true;
	}
	return false;
}

/* Unmount with mount_lock held exclusive; rootrefs: references on the root
 * that are allowed (the mount's own, plus the caller's). */
static int unmount_locked(struct mount *mp, int flags, uint32_t rootrefs)
{
	bool force = (flags & (ANYK_MNT_FORCE | ANYK_MNT_DETACH)) != 0;
	bool busy;
	int error;

	if (mount_has_children(mp))
		return EBUSY;
	if (!force && vcache_mount_busy(mp, rootrefs))
		return EBUSY;
	/* From here on the cache loads no vnode of mp, and lookups cannot
	 * enter it (mount_lock), so nothing can become busy again. */
	vcache_mount_state(mp, 1);
	error = vcache_flush_mount(mp, force, rootrefs, &busy);
	if (!error && busy && !force)
		error = EBUSY;
	if (!error && mp->mnt_op->vfs_sync != NULL && !(mp->mnt_flag & ANYK_MNT_RDONLY))
		(void)mp->mnt_op->vfs_sync(mp, true);
	if (!error && mp->mnt_op->vfs_unmount != NULL)
		error = mp->mnt_op->vfs_unmount(mp, force ? ANYK_MNT_FORCE : 0);
	if (error && !force) {
		vcache_mount_state(mp, 0);
		return error;
	}
	if (error)
		klog(LOG_WARN, "vfs: forced unmount of %s: file system error %d", mp->mnt_on, error);
	dlist_remove(&mp->mnt_link);
	if (mp->mnt_vnodecovered != NULL)
		atomic_store_release(&mp->mnt_vnodecovered->v_mountedhere, (struct mount *)NULL);
	if (mp == rootmount)
		rootmount = NULL;
	vcache_release_root(mp);
	if (mp->mnt_vnodecovered != NULL)
		vrele(mp->mnt_vnodecovered);
	mount_free(mp);
	return 0;
}

int vfs_unmount(struct mount *mp, int flags)
{
	int error;

	rw_enter(&mount_lock, RW_WRITER);
	error = unmount_locked(mp, flags, 1);
	rw_exit(&mount_lock);
	return error;
}

int vfs_unmount_root(struct vnode *vp, int flags)
{
	struct mount *mp;
	int error;

	rw_enter(&mount_lock, RW_WRITER);
	mp = vp->v_mount;
	if (vn_isdead(vp) || !(vn_flags(vp) & VV_ROOT) || mp->mnt_root != vp) {
		error = EINVAL;
		goto out;
	}
	error = unmount_locked(mp, flags, 2);
out:
	rw_exit(&mount_lock);
	return error;
}

int vfs_sync_all(bool wait)
{
	struct dlist *it;
	int error = 0, e;

	rw_enter(&mount_lock, RW_READER);
	dlist_foreach(it, &mountlist) {
		struct mount *mp = container_of(it, struct mount, mnt_link);
		if (mp->mnt_op->vfs_sync == NULL || (mp->mnt_flag & ANYK_MNT_RDONLY))
			continue;
		e = mp->mnt_op->vfs_sync(mp, wait);
		if (e && !error)
			error = e;
	}
	rw_exit(&mount_lock);
	return error;
}

int vfs_unmount_all(bool keep_root)
{
	int error = 0, e;

	rw_enter(&mount_lock, RW_WRITER);
	/* A mount is always listed after the one it sits on: unmount from the
	 * end, so children go before their parents. */
	while (!dlist_empty(&mountlist)) {
		struct mount *mp = container_of(mountlist.prev, struct mount, mnt_link);
		if (keep_root && mp == rootmount)
			break;
		e = unmount_locked(mp, ANYK_MNT_FORCE, 1);
		if (e) {
			if (!error)
				error = e;
			break;
		}
	}
	rw_exit(&mount_lock);
	/* At shutdown (after every process let go of its vnodes) the cache
	 * and the type list go too; vfs_init sets them up again. */
	if (!kernel_running && dlist_empty(&mountlist)) {
		dlist_init(&vfstypes);
		vcache_fini();
		rw_destroy(&mount_lock);
	}
	return error;
}

struct vnode *vfs_rootvnode(void)
{
	struct vnode *vp = NULL;

	rw_enter(&mount_lock, RW_READER);
	if (rootmount != NULL) {
		vp = rootmount->mnt_root;
		vref(vp);
	}
	rw_exit(&mount_lock);
	return vp;
}

struct vnode *vfs_mounted_root(struct vnode *vp)
{
	struct mount *mp;
	struct vnode *rvp = NULL;

	if (atomic_load_acquire(&vp->v_mountedhere) == NULL)
		return NULL;
	rw_enter(&mount_lock, RW_READER);
	mp = vp->v_mountedhere;
	if (mp != NULL) {
		rvp = mp->mnt_root;
		vref(rvp);
	}
	rw_exit(&mount_lock);
	return rvp;
}

struct vnode *vfs_covered(struct vnode *vp)
{
	struct vnode *cvp = NULL;

	if (!(vn_flags(vp) & VV_ROOT))
		return NULL;
	rw_enter(&mount_lock, RW_READER);
	if (!vn_isdead(vp) && vp->v_mount->mnt_root == vp) {
		cvp = vp->v_mount->mnt_vnodecovered;
		if (cvp != NULL)
			vref(cvp);
	}
	rw_exit(&mount_lock);
	return cvp;
}

bool vfs_readonly(const struct vnode *vp)
{
	return (vp->v_mount->mnt_flag & ANYK_MNT_RDONLY) != 0;
}

bool vfs_opt_get(const char *options, const char *key, char *val, size_t vallen)
{
	const char *p = options;
	size_t klen;

	if (options == NULL || key == NULL)
		return false;
	klen = strlen(key);
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len >= klen && strncmp(p, key, klen) == 0 &&
		    (len == klen || p[klen] == '=')) {
			if (val != NULL && vallen > 0) {
				size_t vl = len > klen ? len - klen - 1 : 0;
				if (vl >= vallen)
					vl = vallen - 1;
				memcpy(val, p + klen + (len > klen ? 1 : 0), vl);
				val[vl] = '\0';
			}
			return true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static int vfs_init(void)
{
	int error;

	rw_init(&mount_lock);
	dlist_init(&mountlist);
	dlist_init(&vfstypes);
	rootmount = NULL;
	error = vcache_init();
	if (error)
		return error;
	return 0;
}
ANYK_COMPONENT(vfs, LEVEL_VFS, vfs_init);
