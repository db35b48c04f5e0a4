/*
 * tmpfs: a file system kept entirely in kernel memory. It is the root file
 * system at boot and the reference for POSIX behaviour.
 *
 * Nodes (tmpfs_node) live as long as they have a name (nlink > 0) or a
 * vnode; the vnode cache key is the node number, and each mount keeps a
 * table from node number to node so that evicted vnodes can be reloaded.
 * Directories index their entries twice: by name (hash, then bytes) for
 * lookup and by cookie for readdir, so readdir positions survive unlinks.
 * Regular files keep 4 KiB pages in a radix tree; missing pages are holes.
 *
 * Locking: the VFS holds the vnode locks (see vfs/vfs.h), which serialise
 * every change to a node, its directory entries and its pages. Only what is
 * shared across nodes has its own lock: the mount's node table (tm_lock),
 * and the page and node counters (atomics). An atime update under a shared
 * vnode lock uses relaxed atomics.
 */
#ifndef ANYK_FS_TMPFS_H
#define ANYK_FS_TMPFS_H

#include "vfs/vfs.h"

#define TMPFS_PAGE_SHIFT 12
#define TMPFS_PAGE_SIZE ((size_t)1 << TMPFS_PAGE_SHIFT)
#define TMPFS_PAGE_MASK ((anyk_off_t)TMPFS_PAGE_SIZE - 1)
/* Largest file: 2^46 bytes, which a radix tree of height 4 covers. */
#define TMPFS_MAXFILESIZE ((anyk_off_t)1 << 46)
#define TMPFS_RADIX_SHIFT 9
#define TMPFS_RADIX_FANOUT ((size_t)1 << TMPFS_RADIX_SHIFT)
#define TMPFS_LINK_MAX UINT32_MAX
#define TMPFS_XATTR_SIZE_MAX (64 * 1024)
#define TMPFS_XATTR_NAME_MAX 255
/* What a directory reports as its size per entry, as other tmpfs do. */
#define TMPFS_DIRENT_BOGOSIZE 20
#define TMPFS_ROOT_INO 2

KMEM_TYPE_DECLARE(tmpfs_kmem);

struct tmpfs_node;

struct tmpfs_dirent {
	struct rb_node td_byname;   /* in the directory's name index */
	struct rb_node td_bycookie; /* in the directory's readdir order */
	struct tmpfs_node *td_node;
	int64_t td_cookie;
	uint64_t td_hash;
	uint16_t td_namelen;
	char td_name[]; /* not NUL-terminated */
};

struct tmpfs_xattr {
	struct dlist tx_link;
	size_t tx_namelen;
	size_t tx_size;
	char *tx_name; /* NUL-terminated */
	void *tx_value;
};

struct tmpfs_dir {
	struct rb_tree td_names;
	struct rb_tree td_cookies;
	int64_t td_nextcookie;
	struct tmpfs_node *td_parent; /* NULL once removed */
};

struct tmpfs_reg {
	void *tr_root;       /* radix tree of pages; NULL: all holes */
	unsigned tr_height;  /* levels; height h covers 512^h pages */
	uint64_t tr_npages;  /* pages allocated */
};

struct tmpfs_lnk {
	char *tl_target; /* NUL-terminated */
	size_t tl_len;
};

struct tmpfs_node {
	struct rb_node tn_tablenode; /* in the mount's node table (tm_lock) */
	uint64_t tn_ino;
	enum vtype tn_type;
	anyk_mode_t tn_mode;
	uint64_t tn_nlink;
	anyk_uid_t tn_uid;
	anyk_gid_t tn_gid;
	uint32_t tn_flags;
	anyk_off_t tn_size;
	anyk_dev_t tn_rdev;
	struct anyk_timespec tn_atime, tn_mtime, tn_ctime, tn_btime;
	struct vnode *tn_vnode; /* tm_lock; NULL when not loaded */
	struct dlist tn_xattrs;
	union {
		struct tmpfs_dir tn_dir;
		struct tmpfs_reg tn_reg;
		struct tmpfs_lnk tn_lnk;
	};
};

struct tmpfs_mount {
	kmutex_t tm_lock;      /* tm_nodes, tn_vnode */
	struct rb_tree tm_nodes; /* every node, by number */
	uint64_t tm_nextino;   /* atomic */
	uint64_t tm_maxpages;  /* 0: no limit of our own */
	uint64_t tm_pages;     /* atomic: data pages in use */
	uint64_t tm_maxnodes;  /* 0: no limit */
	uint64_t tm_nodes_used; /* atomic */
	struct tmpfs_node *tm_root;
};

static inline struct tmpfs_node *VTON(struct vnode *vp) { return vp->v_data; }
static inline struct tmpfs_mount *VFSTOTM(struct mount *mp) { return mp->mnt_data; }

extern const struct vnodeops tmpfs_vnodeops;

/* tmpfs_subr.c: nodes and the mount's node table. */
int tmpfs_node_alloc(struct tmpfs_mount *tm, enum vtype type, anyk_mode_t mode, anyk_uid_t uid,
		     anyk_gid_t gid, anyk_dev_t rdev, struct tmpfs_node **np);
void tmpfs_node_free(struct tmpfs_mount *tm, struct tmpfs_node *n);
int tmpfs_node_vget(struct mount *mp, struct tmpfs_node *n, struct vnode **vpp);
void tmpfs_node_table_init(struct tmpfs_mount *tm);
void tmpfs_now(struct anyk_timespec *ts);
void tmpfs_node_touch(struct tmpfs_node *n, bool mtime, bool ctime);
void tmpfs_node_atime(struct mount *mp, struct tmpfs_node *n);
int tmpfs_pages_reserve(struct tmpfs_mount *tm, uint64_t n);
void tmpfs_pages_release(struct tmpfs_mount *tm, uint64_t n);

/* tmpfs_dir.c: directory entries. */
void tmpfs_dir_init(struct tmpfs_node *dn, struct tmpfs_node *parent);
struct tmpfs_dirent *tmpfs_dir_lookup(struct tmpfs_node *dn, const char *name, size_t namelen);
int tmpfs_dirent_alloc(const char *name, size_t namelen, struct tmpfs_dirent **dep);
void tmpfs_dirent_free(struct tmpfs_dirent *de);
/* Link de (naming n) into dn; adjusts nothing but the indexes. */
void tmpfs_dir_attach(struct tmpfs_node *dn, struct tmpfs_dirent *de, struct tmpfs_node *n);
void tmpfs_dir_detach(struct tmpfs_node *dn, struct tmpfs_dirent *de);
bool tmpfs_dir_empty(struct tmpfs_node *dn);
size_t tmpfs_dir_count(struct tmpfs_node *dn);
int tmpfs_dir_readdir(struct tmpfs_node *dn, int64_t cookie, readdir_fill_fn fill, void *ctx);
/* Free every entry (unmount); the nodes are freed by the caller. */
void tmpfs_dir_destroy(struct tmpfs_node *dn);

/* tmpfs_file.c: regular file data. */
int tmpfs_file_read(struct tmpfs_node *n, struct uio *uio);
int tmpfs_file_write(struct tmpfs_mount *tm, struct tmpfs_node *n, struct uio *uio, int ioflag);
int tmpfs_file_truncate(struct tmpfs_mount *tm, struct tmpfs_node *n, anyk_off_t size);
int tmpfs_file_seek(struct tmpfs_node *n, int whence, anyk_off_t *offp);
int tmpfs_file_fallocate(struct tmpfs_mount *tm, struct tmpfs_node *n, int mode, anyk_off_t off,
			 anyk_off_t len);
void tmpfs_file_free(struct tmpfs_mount *tm, struct tmpfs_node *n);

/* tmpfs_xattr.c: extended attributes. */
int tmpfs_getxattr(struct vnode *vp, const char *name, void *buf, size_t *sizep);
int tmpfs_setxattr(struct vnode *vp, const char *name, const void *buf, size_t size, int flags);
int tmpfs_listxattr(struct vnode *vp, char *buf, size_t *sizep);
int tmpfs_removexattr(struct vnode *vp, const char *name);
void tmpfs_xattr_free_all(struct tmpfs_node *n);

#endif /* ANYK_FS_TMPFS_H */
