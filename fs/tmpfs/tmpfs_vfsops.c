/*
 * tmpfs as a file system type: mount options, the root directory, space
 * statistics, loading vnodes for node numbers, and unmount, which hands
 * every byte back to the kernel allocator.
 *
 * Options: size=N (k/m/g/t suffix, or N% of the kernel memory limit; 0 or
 * absent: bounded only by kernel memory), nr_inodes=N (0: no limit),
 * mode=OCTAL (root directory, default 1777), uid=N, gid=N (root's owner).
 */
#include "fs/tmpfs/tmpfs.h"

#define TMPFS_OPTLEN 32
/* The capacity statvfs reports when neither a size option nor a kernel
 * memory limit bounds the file system (16 GiB of pages). */
#define TMPFS_UNBOUNDED_FREE ((uint64_t)1 << 22)

struct tmpfs_args {
	uint64_t maxpages, maxnodes;
	anyk_mode_t mode;
	anyk_uid_t uid;
	anyk_gid_t gid;
};

/* Parse a whole-string number in base; EINVAL for junk, ERANGE above max. */
static int
parse_num(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;
	int error;

	error = kstrtou64(s, &end, base, out);
	if (error)
		return error;
	if (*end != '\0')
		return EINVAL;
	return *out > max ? ERANGE : 0;
}

static int
parse_size(const char *s, uint64_t *pagesp)
{
	char num[TMPFS_OPTLEN];
	size_t len = strlen(s);
	uint64_t v, lim;
	int error;

	if (len > 0 && s[len - 1] == '%') {
		/* A share of the kernel memory limit, as other tmpfs allow a
		 * share of RAM. */
		lim = kmem_limit();
		if (lim == 0 || len >= sizeof(num))
			return EINVAL;
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		error = parse_num(num, 10, 100, &v);
		if (error)
			return error;
		*pagesp = howmany(lim / 100 * v, TMPFS_PAGE_SIZE);
		return 0;
	}
	error = kparse_size(s, &v);
	if (error)
		return error;
	*pagesp = v / TMPFS_PAGE_SIZE + (v % TMPFS_PAGE_SIZE != 0);
	return 0;
}

static int
parse_options(const char *options, struct tmpfs_args *a)
{
	char val[TMPFS_OPTLEN];
	uint64_t v;
	int error = 0;

	a->maxpages = 0;
	a->maxnodes = 0;
	a->mode = 01777;
	a->uid = 0;
	a->gid = 0;
	if (options == NULL)
		return 0;
	if (vfs_opt_get(options, "size", val, sizeof(val))) {
		error = parse_size(val, &a->maxpages);
		if (error)
			goto out;
	}
	if (vfs_opt_get(options, "nr_inodes", val, sizeof(val))) {
		error = kparse_size(val, &a->maxnodes);
		if (error)
			goto out;
	}
	if (vfs_opt_get(options, "mode", val, sizeof(val))) {
		error = parse_num(val, 8, 07777, &v);
		if (error)
			goto out;
		a->mode = (anyk_mode_t)v;
	}
	if (vfs_opt_get(options, "uid", val, sizeof(val))) {
		error = parse_num(val, 10, UINT32_MAX, &v);
		if (error)
			goto out;
		a->uid = (anyk_uid_t)v;
	}
	if (vfs_opt_get(options, "gid", val, sizeof(val))) {
		error = parse_num(val, 10, UINT32_MAX, &v);
		if (error)
			goto out;
		a->gid = (anyk_gid_t)v;
	}
out:
	return error ? EINVAL : 0;
}

static void
tmpfs_free_all(struct tmpfs_mount *tm)
{
	struct rb_node *rn;
	struct tmpfs_node *n;

	while ((rn = rb_min(&tm->tm_nodes)) != NULL) {
		n = container_of(rn, struct tmpfs_node, tn_tablenode);
		/* A vnode the VFS reclaims after us must not reach the node. */
		if (n->tn_vnode != NULL) {
			n->tn_vnode->v_data = NULL;
			n->tn_vnode = NULL;
		}
		tmpfs_node_free(tm, n);
	}
	mutex_destroy(&tm->tm_lock);
	kmem_free(&tmpfs_kmem, tm, sizeof(*tm));
}

static int
tmpfs_mount(struct mount *mp, const char *source, const char *options, struct vnode **rootvp)
{
	struct tmpfs_args args;
	struct tmpfs_mount *tm;
	struct tmpfs_node *root;
	int error;

	error = parse_options(options, &args);
	if (error)
		return error;
	if (args.maxnodes == 1)
		return EINVAL; /* not even the root and one file would fit */
	tm = kmem_zalloc(&tmpfs_kmem, sizeof(*tm));
	if (tm == NULL)
		return ENOMEM;
	mutex_init(&tm->tm_lock);
	tmpfs_node_table_init(tm);
	tm->tm_nextino = TMPFS_ROOT_INO - 1;
	tm->tm_maxpages = args.maxpages;
	tm->tm_maxnodes = args.maxnodes;
	mp->mnt_data = tm;

	error = tmpfs_node_alloc(tm, VDIR, args.mode, args.uid, args.gid, 0, &root);
	if (error)
		goto fail;
	root->tn_nlink = 2;
	root->tn_dir.td_parent = root;
	tm->tm_root = root;
	error = vcache_new(mp, root->tn_ino, root, rootvp);
	if (error)
		goto fail;
	return 0;
fail:
	tmpfs_free_all(tm);
	mp->mnt_data = NULL;
	return error;
}

static int
tmpfs_unmount(struct mount *mp, int mntflags)
{
	struct tmpfs_mount *tm = VFSTOTM(mp);

	if (tm == NULL)
		return 0;
	tmpfs_free_all(tm);
	mp->mnt_data = NULL;
	return 0;
}

static int
tmpfs_statvfs(struct mount *mp, struct anyk_statvfs *st)
{
	struct tmpfs_mount *tm = VFSTOTM(mp);
	uint64_t used = atomic_load_relaxed(&tm->tm_pages);
	uint64_t nodes = atomic_load_relaxed(&tm->tm_nodes_used);
	uint64_t lim = kmem_limit(), inuse, blocks, bfree, kfree;

	if (tm->tm_maxpages != 0) {
		blocks = tm->tm_maxpages;
		bfree = blocks > used ? blocks - used : 0;
	} else if (lim != 0) {
		blocks = lim / TMPFS_PAGE_SIZE;
		bfree = blocks > used ? blocks - used : 0;
	} else {
		/* A nominal capacity, so that free counts still move with use
		 * as programs expect (df, statvfs before and after a write). */
		blocks = MAX(TMPFS_UNBOUNDED_FREE, used);
		bfree = blocks - used;
	}
	/* Whatever the size option says, the kernel's memory may run out first. */
	if (lim != 0) {
		inuse = kmem_inuse();
		kfree = inuse < lim ? (lim - inuse) / TMPFS_PAGE_SIZE : 0;
		bfree = MIN(bfree, kfree);
	}
	memset(st, 0, sizeof(*st));
	st->f_bsize = TMPFS_PAGE_SIZE;
	st->f_frsize = TMPFS_PAGE_SIZE;
	st->f_blocks = blocks;
	st->f_bfree = bfree;
	st->f_bavail = bfree;
	if (tm->tm_maxnodes != 0) {
		st->f_files = tm->tm_maxnodes;
		st->f_ffree = tm->tm_maxnodes > nodes ? tm->tm_maxnodes - nodes : 0;
	} else {
		/* Each node needs memory too; a page a node is a fair bound. */
		st->f_files = MAX(blocks, nodes);
		st->f_ffree = MIN(bfree, st->f_files - nodes);
	}
	st->f_favail = st->f_ffree;
	st->f_fsid = mp->mnt_fsid;
	if (mp->mnt_flag & ANYK_MNT_RDONLY)
		st->f_flag |= ANYK_ST_RDONLY;
	if (mp->mnt_flag & ANYK_MNT_NOSUID)
		st->f_flag |= ANYK_ST_NOSUID;
	st->f_namemax = ANYK_NAME_MAX;
	strlcpy(st->f_fstypename, "tmpfs", sizeof(st->f_fstypename));
	strlcpy(st->f_mntfromname, mp->mnt_from, sizeof(st->f_mntfromname));
	strlcpy(st->f_mntonname, mp->mnt_on, sizeof(st->f_mntonname));
	return 0;
}

static int
tmpfs_sync(struct mount *mp, bool wait)
{
	return 0;
}

static int
tmpfs_loadvnode(struct mount *mp, struct vnode *vp, uint64_t key, void *arg)
{
	struct tmpfs_mount *tm = VFSTOTM(mp);
	struct tmpfs_node *n = arg;
	struct rb_node *rn;

	mutex_enter(&tm->tm_lock);
	if (n == NULL) {
		rn = rb_find(&tm->tm_nodes, &key);
		n = rn ? container_of(rn, struct tmpfs_node, tn_tablenode) : NULL;
	}
	if (n == NULL || n->tn_ino != key) {
		mutex_exit(&tm->tm_lock);
		return ENOENT;
	}
	n->tn_vnode = vp;
	mutex_exit(&tm->tm_lock);

	vp->v_type = n->tn_type;
	vp->v_op = &tmpfs_vnodeops;
	vp->v_data = n;
	vp->v_rdev = n->tn_rdev;
	return 0;
}

static struct vfsops tmpfs_vfsops = {
	.vfs_name = "tmpfs",
	.vfs_mount = tmpfs_mount,
	.vfs_unmount = tmpfs_unmount,
	.vfs_statvfs = tmpfs_statvfs,
	.vfs_sync = tmpfs_sync,
	.vfs_loadvnode = tmpfs_loadvnode,
};

static int
tmpfs_init(void)
{
	return vfs_register(&tmpfs_vfsops);
}

ANYK_COMPONENT(tmpfs, LEVEL_FS, tmpfs_init);
