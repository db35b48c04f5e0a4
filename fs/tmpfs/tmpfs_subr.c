/*
 * tmpfs nodes: allocation against the mount's limits, the per-mount table
 * from node number to node (so that the VFS can evict a vnode and load it
 * again later), timestamps and the page accounting shared by all files.
 */
#include "fs/tmpfs/tmpfs.h"

KMEM_TYPE(tmpfs_kmem, "tmpfs");

static int
node_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	uint64_t x = container_of(a, struct tmpfs_node, tn_tablenode)->tn_ino;
	uint64_t y = container_of(b, struct tmpfs_node, tn_tablenode)->tn_ino;

	return x < y ? -1 : x > y;
}

static int
node_cmp_key(const struct rb_node *a, const void *key)
{
	uint64_t x = container_of(a, struct tmpfs_node, tn_tablenode)->tn_ino;
	uint64_t y = *(const uint64_t *)key;

	return x < y ? -1 : x > y;
}

void
tmpfs_node_table_init(struct tmpfs_mount *tm)
{
	rb_init(&tm->tm_nodes, node_cmp_nodes, node_cmp_key);
}

void
tmpfs_now(struct anyk_timespec *ts)
{
	time_real(ts);
}

/* Take one unit of a counter bounded by max (0: unbounded). */
static bool
counter_take(uint64_t *counter, uint64_t n, uint64_t max)
{
	uint64_t cur;

	if (max == 0) {
		atomic_add(counter, n);
		return true;
	}
	cur = atomic_load_relaxed(counter);
	do {
		if (cur + n > max || cur + n < cur)
			return false;
	} while (!atomic_cas(counter, &cur, cur + n));
	return true;
}

int
tmpfs_pages_reserve(struct tmpfs_mount *tm, uint64_t n)
{
	return counter_take(&tm->tm_pages, n, tm->tm_maxpages) ? 0 : ENOSPC;
}

void
tmpfs_pages_release(struct tmpfs_mount *tm, uint64_t n)
{
	__atomic_sub_fetch(&tm->tm_pages, n, __ATOMIC_RELAXED);
}

int
tmpfs_node_alloc(struct tmpfs_mount *tm, enum vtype type, anyk_mode_t mode, anyk_uid_t uid,
		 anyk_gid_t gid, anyk_dev_t rdev, struct tmpfs_node **np)
{
	struct tmpfs_node *n;
	struct anyk_timespec now;

	if (!counter_take(&tm->tm_nodes_used, 1, tm->tm_maxnodes))
		return ENOSPC;
	n = kmem_zalloc(&tmpfs_kmem, sizeof(*n));
	if (n == NULL) {
		__atomic_sub_fetch(&tm->tm_nodes_used, 1, __ATOMIC_RELAXED);
		return ENOMEM;
	}
	n->tn_ino = atomic_inc_nv(&tm->tm_nextino);
	n->tn_type = type;
	n->tn_mode = mode & 07777;
	n->tn_uid = uid;
	n->tn_gid = gid;
	n->tn_nlink = 0;
	if (type == VCHR || type == VBLK)
		n->tn_rdev = rdev;
	tmpfs_now(&now);
	n->tn_atime = n->tn_mtime = n->tn_ctime = n->tn_btime = now;
	dlist_init(&n->tn_xattrs);
	if (type == VDIR)
		tmpfs_dir_init(n, NULL);

	mutex_enter(&tm->tm_lock);
	rb_insert(&tm->tm_nodes, &n->tn_tablenode);
	mutex_exit(&tm->tm_lock);
	*np = n;
	return 0;
}

/* Free a node that has neither names nor a vnode (or the whole mount is
 * going away). Directory entries must have been taken out by the caller. */
void
tmpfs_node_free(struct tmpfs_mount *tm, struct tmpfs_node *n)
{
	mutex_enter(&tm->tm_lock);
	rb_remove(&tm->tm_nodes, &n->tn_tablenode);
	mutex_exit(&tm->tm_lock);

	switch (n->tn_type) {
	case VREG:
		tmpfs_file_free(tm, n);
		break;
	case VLNK:
		if (n->tn_lnk.tl_target != NULL)
			kmem_free(&tmpfs_kmem, n->tn_lnk.tl_target, n->tn_lnk.tl_len + 1);
		break;
	case VDIR:
		tmpfs_dir_destroy(n);
		break;
	default:
		break;
	}
	tmpfs_xattr_free_all(n);
	kmem_free(&tmpfs_kmem, n, sizeof(*n));
	__atomic_sub_fetch(&tm->tm_nodes_used, 1, __ATOMIC_RELAXED);
}

/* The vnode of an existing node, referenced and unlocked. */
int
tmpfs_node_vget(struct mount *mp, struct tmpfs_node *n, struct vnode **vpp)
{
	return vcache_get(mp, n->tn_ino, vpp);
}

void
tmpfs_node_touch(struct tmpfs_node *n, bool mtime, bool ctime)
{
	struct anyk_timespec now;

	tmpfs_now(&now);
	if (mtime)
		n->tn_mtime = now;
	if (ctime)
		n->tn_ctime = now;
}

static bool
ts_le(const struct anyk_timespec *a, const struct anyk_timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/*
 * Mark an access. Readers hold the vnode lock shared, so several may get
 * here at once: the fields are stored with relaxed atomics (a torn pair of
 * seconds and nanoseconds from two racing readers is harmless). As other
 * systems do by default ("relatime"), the time is written only if it is not
 * newer than the last change or is a day old, which keeps concurrent
 * readers of one file from fighting over its cache line.
 */
void
tmpfs_node_atime(struct mount *mp, struct tmpfs_node *n)
{
	struct anyk_timespec now, at;

	if (mp->mnt_flag & (ANYK_MNT_NOATIME | ANYK_MNT_RDONLY))
		return;
	at.tv_sec = atomic_load_relaxed(&n->tn_atime.tv_sec);
	at.tv_nsec = atomic_load_relaxed(&n->tn_atime.tv_nsec);
	tmpfs_now(&now);
	if (!ts_le(&at, &n->tn_mtime) && !ts_le(&at, &n->tn_ctime) &&
	    now.tv_sec - at.tv_sec < 24 * 60 * 60)
		return;
	atomic_store_relaxed(&n->tn_atime.tv_sec, now.tv_sec);
	atomic_store_relaxed(&n->tn_atime.tv_nsec, now.tv_nsec);
}
