/*
 * Declarations shared between the VFS core files (vfs/ and the system
 * call files kern/sys_*.c, kern/descrip.c) that file systems never need.
 * File systems code against vfs/vfs.h only.
 */
#ifndef ANYK_VFS_VFS_IMPL_H
#define ANYK_VFS_VFS_IMPL_H

#include "vfs/vfs.h"

/* --- vnode cache (vfs/vnode.c) --- */
int vcache_init(void);
void vcache_fini(void);
/* Reclaim every unreferenced vnode of mp. With force, referenced vnodes
 * other than the root are made dead. *busyp: a vnode other than the root
 * is referenced, or the root has more than rootrefs references. */
int vcache_flush_mount(struct mount *mp, bool force, uint32_t rootrefs, bool *busyp);
/* Check only (no change): would vcache_flush_mount report busy? */
bool vcache_mount_busy(struct mount *mp, uint32_t rootrefs);
/* After the file system unmounted: drop the mount's root reference, making
 * the root dead if others still hold it (no VOP_RECLAIM: the file system
 * freed everything). */
void vcache_release_root(struct mount *mp);
/* Nonzero: the mount is going away; the cache loads no new vnodes for it. */
void vcache_mount_state(struct mount *mp, int state);
static inline unsigned vn_flags(const struct vnode *vp) { return atomic_load_relaxed(&vp->v_vflag); }
static inline bool vn_isdead(const struct vnode *vp) { return (vn_flags(vp) & VV_DEAD) != 0; }

/*
 * Lock a vnode exclusively while already holding others (a child after its
 * parent, the second directory of a rename). The order is safe by the
 * protocol in vfs.h, but parent and child change places as renames move
 * things, which a lock-order checker that learns from history (TSan) takes
 * for a deadlock; a try-lock loop is equally safe and teaches it nothing.
 */
static inline void vn_lock_nested(struct vnode *vp)
{
	int spins = 0;

	while (!rw_tryenter(&vp->v_lock, RW_WRITER)) {
		if (++spins > 16)
			anyk_hyp_sleep_ns(ANYK_HYP_CLOCK_MONO, 2000, 0);
	}
}

/* --- dead vnodes (vfs/dead.c) --- */
extern const struct vnodeops dead_vnodeops;
extern struct mount dead_mount;

/* --- mounts (vfs/mount.c) --- */
/* If vp is covered by a mount, the root of the mount (referenced), else NULL. */
struct vnode *vfs_mounted_root(struct vnode *vp);
/* The covered vnode (referenced) of the mount whose root is vp, or NULL. */
struct vnode *vfs_covered(struct vnode *vp);
/* Unmount the file system whose root is vp; the caller holds one reference
 * to vp, which stays the caller's. */
int vfs_unmount_root(struct vnode *vp, int flags);
int vfs_mount_init(void);
void vfs_mount_fini(void);

/* --- path lookup (vfs/namei.c) --- */
/* Internal flag: nd->ni_loops already counts earlier symlinks (callers
 * that follow a symlink in the last component themselves). */
#define NI_CONTINUE 0x100
/* Read a symlink into buf (NUL-terminated); ENAMETOOLONG if it does not fit. */
int vn_readlink_buf(struct vnode *vp, char *buf, size_t len, size_t *lenp);
/* Check a path argument from outside: EFAULT, ENAMETOOLONG, ENOENT (empty,
 * unless emptyok). */
int path_check(const char *path, bool emptyok);
/* Resolve dirfd (AT_FDCWD or a directory descriptor) to a referenced vnode. */
int namei_startdir(int dirfd, struct vnode **vpp);

/* --- permissions (vfs/perm.c) --- */
/* Clear S_ISUID/S_ISGID after a write by a non-root caller (vp locked
 * exclusive). */
int vn_kill_suid(struct vnode *vp, const struct cred *cred);

/* POSIX ACLs (vfs/acl.c). */
extern const char acl_access_name[], acl_default_name[];
struct acl_inherit {
	uint8_t *dflt, *access; /* the parent's default; the new node's */
	size_t len;
	bool equiv;             /* the access ACL says no more than the bits */
};
int acl_check(const void *value, size_t len, anyk_mode_t *permp, bool *equivp);
int vn_acl_set(struct vnode *vp, bool dflt, const void *value, size_t len,
	       const struct cred *cred);
int vn_acl_chmod(struct vnode *vp, anyk_mode_t mode);
anyk_mode_t acl_new_mode(struct vnode *dvp, enum vtype type, anyk_mode_t mode, anyk_mode_t umask,
			 struct acl_inherit *ai);
int vn_acl_inherit(struct vnode *vp, enum vtype type, struct acl_inherit *ai);
void acl_inherit_done(struct acl_inherit *ai);

/* --- open files (vfs/vnfile.c, vfs/spec.c) --- */
extern const struct fileops vnfileops;
int spec_open(struct vnode *vp, int fflags, struct file *fp);
int spec_fsync(struct vnode *vp);
/* Open vp (referenced; the reference passes to the file on success). */
int vn_open_file(struct vnode *vp, int flags, bool created, struct file **fpp);
/* FREAD/FWRITE from the access mode. */
static inline bool file_readable(int fflag)
{
	int acc = fflag & ANYK_O_ACCMODE;
	return !(fflag & ANYK_O_PATH) && (acc == ANYK_O_RDONLY || acc == ANYK_O_RDWR);
}
static inline bool file_writable(int fflag)
{
	int acc = fflag & ANYK_O_ACCMODE;
	return !(fflag & ANYK_O_PATH) && (acc == ANYK_O_WRONLY || acc == ANYK_O_RDWR);
}
/* stat(2) of a vnode (unlocked). */
int vn_stat_vnode(struct vnode *vp, struct anyk_stat *st);
/* lseek on a vnode-backed file; have_size: SEEK_END uses size_for_end. */
int vn_seek_common(struct file *fp, anyk_off_t size_for_end, bool have_size,
		   anyk_off_t off, int whence, anyk_off_t *newoff);
/* Truncate vp (locked exclusive) to len, updating mtime/ctime. */
int vn_truncate_locked(struct vnode *vp, anyk_off_t len);

/* --- descriptor tables (kern/descrip.c) --- */
/* Install fp at exactly newfd, closing what was there (dup2). */
int fd_dup2(struct file *fp, int newfd, bool cloexec);
int fd_getcloexec(int fd, bool *cloexecp);
int fd_setcloexec(int fd, bool cloexec);
/* The calling process's umask (kern/sys_path.c). */
anyk_mode_t proc_umask(void);
/* Current time for timestamps. */
static inline void vfs_now(struct anyk_timespec *ts) { time_real(ts); }

/* Bytes a read/write may move at once (as Linux: INT_MAX rounded down to a page). */
#define VFS_MAX_RW 0x7ffff000ul

#endif /* ANYK_VFS_VFS_IMPL_H */
