/*
 * The vnode cache: one vnode per (mount, key), reference counting, the
 * transition to inactive and reclaim, and a bounded LRU of unreferenced
 * vnodes kept for reuse (param ANYK_VNODES, default 16384, less under a
 * small ANYK_MEMLIMIT).
 *
 * Scheme. vcache_lock guards the hash table, the LRU, every v_state and
 * the per-mount vnode lists. v_usecount is atomic:
 *  - vref() needs a reference already held, so it never moves 0 -> 1 and
 *    is a plain atomic increment;
 *  - the 0 -> 1 move happens only in vcache_get() under vcache_lock (a vnode
 *    on the LRU is revived there);
 *  - vrele() decrements without the lock while the count stays above one;
 *    the last reference is dropped under vcache_lock, where the count is
 *    re-checked (a concurrent vcache_get may have revived it meanwhile).
 *    A vnode whose count reached zero is marked VS_BLOCKED while
 *    VOP_INACTIVE runs (vcache_get waits on vcache_cv for it), then either
 *    goes to the LRU (VS_ACTIVE, count 0) or is reclaimed.
 *  - Reclaim marks the vnode VS_RECLAIMING but leaves it in the hash until
 *    VOP_RECLAIM has finished, so that a lookup of the same key waits and
 *    then loads a fresh vnode: the file system never sees two vnodes for one
 *    node.
 * Lock order: vnode locks > vcache_lock (VOP_* and allocation happen with
 * vcache_lock released).
 */
#include "vfs/vfs_impl.h"

KMEM_TYPE(M_VNODE, "vnode");

enum {
	VS_LOADING = 1,  /* vfs_loadvnode running */
	VS_ACTIVE,       /* referenced, or unreferenced on the LRU */
	VS_BLOCKED,      /* last reference gone, VOP_INACTIVE running */
	VS_RECLAIMING,   /* VOP_RECLAIM running; still in the hash */
};

static kmutex_t vcache_lock;
static kcondvar_t vcache_cv;
static struct htab vcache_tab;
static struct hnode **vcache_buckets;
static unsigned vcache_order;
static struct dlist vcache_lru;
static uint64_t vcache_nfree;  /* on the LRU */
static uint64_t vcache_maxfree;

static uint64_t vnode_hash(const struct mount *mp, uint64_t key)
{
	return hash_u64(key ^ hash_u64((uint64_t)(uintptr_t)mp));
}

static uint64_t vnode_rehash(struct hnode *n)
{
	struct vnode *vp = container_of(n, struct vnode, v_hash);
	return vnode_hash(vp->v_mount, vp->v_key);
}

int vcache_init(void)
{
	uint64_t def;

	vcache_order = 10;
	vcache_buckets = kmem_zalloc(&M_VNODE, sizeof(struct hnode *) << vcache_order);
	if (vcache_buckets == NULL)
		return ENOMEM;
	htab_init(&vcache_tab, vcache_buckets, vcache_order);
	mutex_init(&vcache_lock);
	cv_init(&vcache_cv);
	dlist_init(&vcache_lru);
	vcache_nfree = 0;
	/* Unreferenced vnodes kept for reuse: enough that a stat after a close
	 * of a recent file finds its inode in memory (a metadata workload over
	 * tens of thousands of files), fewer under a small memory limit (about
	 * one vnode and its file system node per 8 KiB of the limit). */
	def = 16384;
	if (kmem_limit() != 0 && kmem_limit() / 8192 < def)
		def = kmem_limit() / 8192;
	vcache_maxfree = param_u64("ANYK_VNODES", def);
	if (vcache_maxfree < 16)
		vcache_maxfree = 16;
	return 0;
}

void vcache_fini(void)
{
	kmem_free(&M_VNODE, vcache_buckets, sizeof(struct hnode *) << vcache_order);
	vcache_buckets = NULL;
	cv_destroy(&vcache_cv);
	mutex_destroy(&vcache_lock);
}

/* Grow the table when chains get long; allocation failure just keeps the
 * old table. Called with vcache_lock held. */
static void vcache_maybe_grow(void)
{
	struct hnode **nb;
	unsigned norder;

	if (vcache_tab.count <= ((size_t)2 << vcache_order) || vcache_order >= 24)
		return;
	norder = vcache_order + 2;
	nb = kmem_zalloc(&M_VNODE, sizeof(struct hnode *) << norder);
	if (nb == NULL)
		return;
	htab_resize(&vcache_tab, nb, norder, vnode_rehash);
	kmem_free(&M_VNODE, vcache_buckets, sizeof(struct hnode *) << vcache_order);
	vcache_buckets = nb;
	vcache_order = norder;
}

static struct vnode *vcache_find(struct mount *mp, uint64_t key)
{
	struct hnode *n;
	uint64_t h = vnode_hash(mp, key);

	htab_foreach_bucket(n, &vcache_tab, h) {
		struct vnode *vp = container_of(n, struct vnode, v_hash);
		if (vp->v_mount == mp && vp->v_key == key)
			return vp;
	}
	return NULL;
}

static void vnode_free(struct vnode *vp)
{
	rw_destroy(&vp->v_lock);
	kmem_free(&M_VNODE, vp, sizeof(*vp));
}

/* Take vp out of the hash and its mount's list; vcache_lock held. */
static void vcache_unhash(struct vnode *vp)
{
	if (vn_flags(vp) & VV_CACHED) {
		htab_remove(&vcache_tab, vnode_hash(vp->v_mount, vp->v_key), &vp->v_hash);
		__atomic_and_fetch(&vp->v_vflag, ~(unsigned)VV_CACHED, __ATOMIC_RELAXED);
	}
	if (!dlist_empty(&vp->v_mntlist))
		dlist_remove(&vp->v_mntlist);
}

/* Reclaim a VS_RECLAIMING vnode: no references, vcache_lock not held. */
static void vnode_reclaim(struct vnode *vp)
{
	if (!vn_isdead(vp) && vp->v_op->vop_reclaim != NULL)
		(void)vp->v_op->vop_reclaim(vp);
	mutex_enter(&vcache_lock);
	vcache_unhash(vp);
	cv_broadcast(&vcache_cv);
	mutex_exit(&vcache_lock);
	vnode_free(vp);
}

/* Evict the oldest unreferenced vnodes beyond the bound; vcache_lock is held
 * on entry and on return (dropped while reclaiming). */
static void vcache_trim(void)
{
	while (vcache_nfree > vcache_maxfree) {
		struct vnode *vp = dlist_first(&vcache_lru, struct vnode, v_lru);
		dlist_remove(&vp->v_lru);
		vcache_nfree--;
		vp->v_state = VS_RECLAIMING;
		mutex_exit(&vcache_lock);
		vnode_reclaim(vp);
		mutex_enter(&vcache_lock);
	}
}

void vref(struct vnode *vp)
{
	uint32_t n = atomic_inc_nv(&vp->v_usecount);
	KASSERT(n > 1);
}

/* The last reference is gone (count 0, VS_BLOCKED, vcache_lock not held). */
static void vnode_inactive(struct vnode *vp)
{
	bool recycle = false;
	bool keep;

	if (!vn_isdead(vp) && vp->v_op->vop_inactive != NULL) {
		vn_lock(vp, RW_WRITER);
		(void)vp->v_op->vop_inactive(vp, &recycle);
		vn_unlock(vp);
	}
	mutex_enter(&vcache_lock);
	keep = !recycle && !vn_isdead(vp) && (vn_flags(vp) & VV_CACHED) &&
	       vp->v_mount->mnt_state == 0 && vcache_maxfree > 0;
	if (keep) {
		vp->v_state = VS_ACTIVE;
		dlist_insert_tail(&vcache_lru, &vp->v_lru);
		vcache_nfree++;
		cv_broadcast(&vcache_cv);
		vcache_trim();
		mutex_exit(&vcache_lock);
		return;
	}
	vp->v_state = VS_RECLAIMING;
	mutex_exit(&vcache_lock);
	vnode_reclaim(vp);
}

void vrele(struct vnode *vp)
{
	uint32_t n = atomic_load_relaxed(&vp->v_usecount);

	/* Fast path: not the last reference. */
	while (n > 1) {
		if (atomic_cas(&vp->v_usecount, &n, n - 1))
			return;
	}
	KASSERT(n == 1);
	if (!(vn_flags(vp) & VV_CACHED)) {
		/* Dead (forcibly unmounted) vnodes are out of the cache: nobody
		 * can revive them, so the last one out frees it. */
		if (atomic_dec_nv(&vp->v_usecount) == 0)
			vnode_free(vp);
		return;
	}
	mutex_enter(&vcache_lock);
	if (atomic_dec_nv(&vp->v_usecount) > 0) {
		mutex_exit(&vcache_lock);
		return;
	}
	vp->v_state = VS_BLOCKED;
	mutex_exit(&vcache_lock);
	vnode_inactive(vp);
}

void vput(struct vnode *vp)
{
	vn_unlock(vp);
	vrele(vp);
}

static int vcache_lookup(struct mount *mp, uint64_t key, void *arg, struct vnode **vpp)
{
	struct vnode *vp, *nvp = NULL;
	int error;

	mutex_enter(&vcache_lock);
	for (;;) {
		vp = vcache_find(mp, key);
		if (vp == NULL) {
			if (mp->mnt_state != 0) {
				error = ENOENT;
				goto out;
			}
			if (nvp != NULL)
				break;
			/* Allocate without the lock, then look again. */
			mutex_exit(&vcache_lock);
			nvp = kmem_zalloc(&M_VNODE, sizeof(*nvp));
			if (nvp == NULL)
				return ENOMEM;
			rw_init(&nvp->v_lock);
			dlist_init(&nvp->v_lru);
			dlist_init(&nvp->v_mntlist);
			mutex_enter(&vcache_lock);
			continue;
		}
		if (vp->v_state != VS_ACTIVE) {
			cv_wait(&vcache_cv, &vcache_lock);
			continue;
		}
		if (atomic_inc_nv(&vp->v_usecount) == 1) {
			dlist_remove(&vp->v_lru);
			vcache_nfree--;
		}
		mutex_exit(&vcache_lock);
		if (nvp != NULL)
			vnode_free(nvp);
		*vpp = vp;
		return 0;
	}

	/* New vnode: hashed as VS_LOADING so that others wait for it. */
	vp = nvp;
	vp->v_mount = mp;
	vp->v_key = key;
	vp->v_usecount = 1;
	vp->v_state = VS_LOADING;
	vp->v_vflag = VV_CACHED;
	htab_insert(&vcache_tab, vnode_hash(mp, key), &vp->v_hash);
	vcache_maybe_grow();
	mutex_exit(&vcache_lock);

	error = mp->mnt_op->vfs_loadvnode(mp, vp, key, arg);

	mutex_enter(&vcache_lock);
	if (error) {
		vcache_unhash(vp);
		cv_broadcast(&vcache_cv);
		mutex_exit(&vcache_lock);
		vnode_free(vp);
		return error;
	}
	vp->v_state = VS_ACTIVE;
	dlist_insert_tail(&mp->mnt_vnodes, &vp->v_mntlist);
	cv_broadcast(&vcache_cv);
	mutex_exit(&vcache_lock);
	*vpp = vp;
	return 0;
out:
	mutex_exit(&vcache_lock);
	if (nvp != NULL)
		vnode_free(nvp);
	return error;
}

int vcache_get(struct mount *mp, uint64_t key, struct vnode **vpp)
{
	return vcache_lookup(mp, key, NULL, vpp);
}

int vcache_new(struct mount *mp, uint64_t key, void *arg, struct vnode **vpp)
{
	return vcache_lookup(mp, key, arg, vpp);
}

bool vcache_mount_busy(struct mount *mp, uint32_t rootrefs)
{
	struct dlist *it;
	bool busy = false;

	mutex_enter(&vcache_lock);
	dlist_foreach(it, &mp->mnt_vnodes) {
		struct vnode *vp = container_of(it, struct vnode, v_mntlist);
		uint32_t uc = atomic_load_relaxed(&vp->v_usecount);
		if (vp == mp->mnt_root ? uc > rootrefs : (uc > 0 || vp->v_state != VS_ACTIVE)) {
			busy = true;
			break;
		}
	}
	mutex_exit(&vcache_lock);
	return busy;
}

/* Make a referenced vnode dead: the file system lets go of it, every later
 * operation fails. It leaves the cache; the last vrele frees it. */
static void vnode_kill(struct vnode *vp, bool reclaim)
{
	vn_lock(vp, RW_WRITER);
	if (reclaim && vp->v_op->vop_reclaim != NULL)
		(void)vp->v_op->vop_reclaim(vp);
	atomic_store_relaxed(&vp->v_op, &dead_vnodeops);
	vp->v_data = NULL;
	vp->v_mount = &dead_mount;
	__atomic_or_fetch(&vp->v_vflag, VV_DEAD, __ATOMIC_RELAXED);
	vn_unlock(vp);
}

int vcache_flush_mount(struct mount *mp, bool force, uint32_t rootrefs, bool *busyp)
{
	struct dlist *it, *tmp;
	struct vnode *vp;

	*busyp = false;
	mutex_enter(&vcache_lock);
again:
	dlist_foreach_safe(it, tmp, &mp->mnt_vnodes) {
		vp = container_of(it, struct vnode, v_mntlist);
		if (vp == mp->mnt_root) {
			if (atomic_load_relaxed(&vp->v_usecount) > rootrefs)
				*busyp = true;
			continue;
		}
		if (vp->v_state == VS_BLOCKED || vp->v_state == VS_LOADING ||
		    vp->v_state == VS_RECLAIMING) {
			/* In transition: wait and rescan. */
			cv_wait(&vcache_cv, &vcache_lock);
			goto again;
		}
		if (atomic_load_relaxed(&vp->v_usecount) == 0) {
			dlist_remove(&vp->v_lru);
			vcache_nfree--;
			vp->v_state = VS_RECLAIMING;
			mutex_exit(&vcache_lock);
			vnode_reclaim(vp);
			mutex_enter(&vcache_lock);
			goto again;
		}
		*busyp = true;
		if (!force)
			continue;
		/* Referenced: detach from the cache and kill it. */
		vcache_unhash(vp);
		mutex_exit(&vcache_lock);
		vnode_kill(vp, true);
		mutex_enter(&vcache_lock);
		goto again;
	}
	mutex_exit(&vcache_lock);
	return 0;
}

void vcache_release_root(struct mount *mp)
{
	struct vnode *vp = mp->mnt_root;

	mutex_enter(&vcache_lock);
	vcache_unhash(vp);
	mutex_exit(&vcache_lock);
	if (atomic_load_relaxed(&vp->v_usecount) > 1)
		vnode_kill(vp, false);
	else
		vp->v_mount = &dead_mount;
	mp->mnt_root = NULL;
	/* Out of the cache now: the last vrele frees it without VOP_INACTIVE. */
	vrele(vp);
}

void vcache_mount_state(struct mount *mp, int state)
{
	mutex_enter(&vcache_lock);
	mp->mnt_state = state;
	mutex_exit(&vcache_lock);
}
