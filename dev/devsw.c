/*
 * The device switch: character and block drivers registered by major number,
 * and the creation of their nodes in the kernel's namespace.
 *
 * Every read or write of a device node looks its driver up, so the lookup is
 * one bounds check and one acquire load from a fixed array; only attach and
 * detach take the lock. A driver must not detach while its devices are open
 * (the drivers here detach at shutdown, after the file systems are gone).
 *
 * Device nodes are made by the kernel itself (disk attach, boot), not by a
 * process: devnode_create/remove run with the initial process (proc0) as the
 * calling thread's context for the duration, so that the lookup starts at the
 * namespace root and searches with proc0's (root) credentials, whatever
 * process context the calling host thread was in.
 */
#include "vfs/vfs.h"

#define DEVSW_MAX 64 /* majors 1..63; 0 means "no device" */

static const struct devsw *devsw_table[DEVSW_MAX];
static kmutex_t devsw_lock;
static bool devsw_ready;

extern struct proc proc0;

static int
devsw_init(void)
{
	if (!devsw_ready) {
		mutex_init(&devsw_lock);
		devsw_ready = true;
	}
	return 0;
}
ANYK_COMPONENT(devsw, LEVEL_DEVSW - 10, devsw_init);

int
devsw_attach(const struct devsw *sw, uint32_t *majorp)
{
	uint32_t major;
	int error = ENOSPC;

	if (sw == NULL || majorp == NULL || (sw->d_type != VCHR && sw->d_type != VBLK))
		return EINVAL;
	mutex_enter(&devsw_lock);
	for (major = 1; major < DEVSW_MAX; major++) {
		if (devsw_table[major] == NULL) {
			atomic_store_release(&devsw_table[major], sw);
			*majorp = major;
			error = 0;
			break;
		}
	}
	mutex_exit(&devsw_lock);
	if (error)
		klog(LOG_WARN, "devsw: no free major for %s", sw->d_name);
	return error;
}

void
devsw_detach(uint32_t major)
{
	if (major == 0 || major >= DEVSW_MAX)
		return;
	mutex_enter(&devsw_lock);
	atomic_store_release(&devsw_table[major], NULL);
	mutex_exit(&devsw_lock);
}

const struct devsw *
devsw_lookup(anyk_dev_t dev)
{
	uint32_t major = ANYK_MAJOR(dev);

	if (major == 0 || major >= DEVSW_MAX)
		return NULL;
	return atomic_load_acquire(&devsw_table[major]);
}

/* Make the directory holding the node ("/dev") if it is missing: one level
 * only, which is all the kernel's own nodes need. */
static int
devnode_mkparent(const char *path)
{
	char dir[ANYK_PATH_MAX];
	struct nameidata nd;
	struct vnode *vp = NULL;
	struct vattr va;
	const char *slash = strrchr(path, '/');
	size_t len;
	int error;

	if (slash == NULL || slash == path)
		return 0;
	len = (size_t)(slash - path);
	if (len >= sizeof(dir))
		return ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';

	error = namei_parent_at(NULL, dir, 0, &nd);
	if (error)
		return error;
	if (nd.ni_isroot || nd.ni_isdot)
		goto out;
	vn_lock(nd.ni_dvp, RW_WRITER);
	error = VOP_LOOKUP(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &vp);
	if (error == ENOENT) {
		vattr_null(&va);
		va.va_type = VDIR;
		va.va_mode = 0755;
		va.va_uid = 0;
		va.va_gid = 0;
		error = VOP_MKDIR(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, &vp);
	}
	vn_unlock(nd.ni_dvp);
	if (vp != NULL)
		vrele(vp);
out:
	nameidata_release(&nd);
	return error;
}

int
devnode_create(const char *path, enum vtype type, anyk_dev_t dev, anyk_mode_t mode)
{
	struct nameidata nd;
	struct vnode *vp = NULL;
	struct vattr va;
	void *oldctx;
	int error;

	if (path == NULL || path[0] != '/' || (type != VCHR && type != VBLK))
		return EINVAL;
	oldctx = anyk_hyp_curctx_get();
	anyk_hyp_curctx_set(&proc0);

	error = devnode_mkparent(path);
	if (error)
		goto out;
	error = namei_parent_at(NULL, path, 0, &nd);
	if (error)
		goto out;
	if (nd.ni_isroot || nd.ni_isdot || nd.ni_slash) {
		error = EINVAL;
		goto release;
	}
	vn_lock(nd.ni_dvp, RW_WRITER);
	error = VOP_LOOKUP(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &vp);
	if (error == 0) {
		error = EEXIST;
	} else if (error == ENOENT) {
		vattr_null(&va);
		va.va_type = type;
		va.va_mode = mode & 07777;
		va.va_uid = 0;
		va.va_gid = 0;
		va.va_rdev = dev;
		error = VOP_MKNOD(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &va, &vp);
	}
	vn_unlock(nd.ni_dvp);
	if (vp != NULL)
		vrele(vp);
release:
	nameidata_release(&nd);
out:
	anyk_hyp_curctx_set(oldctx);
	return error;
}

int
devnode_remove(const char *path)
{
	struct nameidata nd;
	struct vnode *vp = NULL;
	void *oldctx;
	int error;

	if (path == NULL || path[0] != '/')
		return EINVAL;
	oldctx = anyk_hyp_curctx_get();
	anyk_hyp_curctx_set(&proc0);

	error = namei_parent_at(NULL, path, 0, &nd);
	if (error)
		goto out;
	if (nd.ni_isroot || nd.ni_isdot) {
		error = EINVAL;
		goto release;
	}
	vn_lock(nd.ni_dvp, RW_WRITER);
	error = VOP_LOOKUP(nd.ni_dvp, nd.ni_name, nd.ni_namelen, &vp);
	if (error == 0) {
		if (vp->v_type != VCHR && vp->v_type != VBLK) {
			error = EINVAL; /* never remove something that is not a node */
		} else {
			vn_lock(vp, RW_WRITER);
			error = VOP_REMOVE(nd.ni_dvp, vp, nd.ni_name, nd.ni_namelen);
			vn_unlock(vp);
		}
	}
	vn_unlock(nd.ni_dvp);
	if (vp != NULL)
		vrele(vp);
release:
	nameidata_release(&nd);
out:
	anyk_hyp_curctx_set(oldctx);
	return error;
}
