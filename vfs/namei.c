/*
 * Path lookup: walk a path one component at a time from the process's root
 * or a start directory, following symlinks, crossing mount points and
 * checking search permission on every directory traversed; and the reverse,
 * the path of a directory (getcwd).
 *
 * Only one vnode lock is held at a time (the directory being searched,
 * shared), so lookups never deadlock against each other or against
 * operations that lock a parent and then a child. A cached lookup allocates
 * nothing; a buffer is allocated only to expand a symlink.
 */
#include "vfs/vfs_impl.h"

KMEM_TYPE(M_NAMEI, "namei");

struct walk {
	struct vnode *root; /* process root, referenced */
	struct cred *cred;
	int loops;
	char *buf;          /* current symlink expansion, or NULL */
};

int path_check(const char *path, bool emptyok)
{
	size_t len;

	if (path == NULL)
		return EFAULT;
	len = strnlen(path, ANYK_PATH_MAX);
	if (len >= ANYK_PATH_MAX)
		return ENAMETOOLONG;
	if (len == 0 && !emptyok)
		return ENOENT;
	return 0;
}

int namei_startdir(int dirfd, struct vnode **vpp)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	if (dirfd == ANYK_AT_FDCWD) {
		vp = proc_cwd_hold(curproc());
		if (vp == NULL)
			return ENOENT;
		*vpp = vp;
		return 0;
	}
	error = fd_getfile(dirfd, &fp);
	if (error)
		return error;
	vp = fp->f_vnode;
	if (vp == NULL) {
		file_release(fp);
		return ENOTDIR;
	}
	vref(vp);
	file_release(fp);
	*vpp = vp;
	return 0;
}

/* Search permission on dvp (locked). Root searches every directory. */
static int search_check(struct walk *w, struct vnode *dvp)
{
	struct vattr va;
	int error;

	if (cred_is_root(w->cred))
		return 0;
	error = VOP_GETATTR(dvp, &va);
	if (error)
		return error;
	return vfs_access_vn(dvp, &va, w->cred, VEXEC);
}

int vn_readlink_buf(struct vnode *vp, char *buf, size_t len, size_t *lenp)
{
	struct anyk_iovec iov;
	struct uio uio;
	size_t n;
	int error;

	uio_init_kernel(&uio, &iov, buf, len, 0, UIO_READ);
	vn_lock(vp, RW_READER);
	error = VOP_READLINK(vp, &uio);
	vn_unlock(vp);
	if (error)
		return error;
	n = len - uio.uio_resid;
	if (n >= len)
		return ENAMETOOLONG;
	buf[n] = '\0';
	*lenp = n;
	return 0;
}

/* Step to ".." of *dvpp: stays at the process root, and from the root of
 * a mount goes to the covered directory first. */
static int lookup_dotdot(struct walk *w, struct vnode **dvpp, struct vnode **vpp)
{
	struct vnode *dvp = *dvpp, *cvp;
	int error;

	while (dvp != w->root && (cvp = vfs_covered(dvp)) != NULL) {
		vrele(dvp);
		dvp = cvp;
	}
	*dvpp = dvp;
	vn_lock(dvp, RW_READER);
	error = search_check(w, dvp);
	if (!error) {
		if (dvp == w->root) {
			vref(dvp);
			*vpp = dvp;
		} else {
			error = VOP_LOOKUP(dvp, "..", 2, vpp);
		}
	}
	vn_unlock(dvp);
	return error;
}

/*
 * The walk. dvp (referenced, consumed) is where a relative path starts.
 * With nd, stop before the last component and return its parent in nd.
 */
static int walk_path(struct walk *w, struct vnode *dvp, const char *path, int flags,
		     struct nameidata *nd, struct vnode **vpp)
{
	const char *cp = path;
	struct vnode *vp = NULL, *mvp;
	char *nbuf;
	int error = 0;

	if (*cp == '\0') {
		if (!(flags & NI_EMPTYPATH) || nd != NULL) {
			error = ENOENT;
			goto out;
		}
		*vpp = dvp;
		dvp = NULL;
		goto out;
	}
	if (*cp == '/') {
		vrele(dvp);
		dvp = w->root;
		vref(dvp);
	}
	for (;;) {
		const char *ep, *np;
		size_t len, tlen, rlen;
		bool slash, last, dot, dotdot;

		while (*cp == '/')
			cp++;
		if (*cp == '\0') {
			/* "/" (or a symlink to it): the start directory itself. */
			if (nd != NULL) {
				nd->ni_isroot = true;
				nd->ni_slash = true;
				nd->ni_namelen = 0;
				nd->ni_name[0] = '\0';
				nd->ni_dvp = dvp;
			} else {
				*vpp = dvp;
			}
			dvp = NULL;
			goto out;
		}
		for (ep = cp; *ep != '\0' && *ep != '/'; ep++)
			;
		len = (size_t)(ep - cp);
		if (len > ANYK_NAME_MAX) {
			error = ENAMETOOLONG;
			goto out;
		}
		for (np = ep, slash = false; *np == '/'; np++)
			slash = true;
		last = *np == '\0';
		dot = len == 1 && cp[0] == '.';
		dotdot = len == 2 && cp[0] == '.' && cp[1] == '.';
		if (dvp->v_type != VDIR) {
			error = ENOTDIR;
			goto out;
		}

		if (last && nd != NULL) {
			vn_lock(dvp, RW_READER);
			error = search_check(w, dvp);
			vn_unlock(dvp);
			if (error)
				goto out;
			memcpy(nd->ni_name, cp, len);
			nd->ni_name[len] = '\0';
			nd->ni_namelen = len;
			nd->ni_slash = slash;
			nd->ni_isdot = dot || dotdot;
			nd->ni_isroot = false;
			nd->ni_dvp = dvp;
			dvp = NULL;
			goto out;
		}

		if (dotdot) {
			error = lookup_dotdot(w, &dvp, &vp);
		} else {
			vn_lock(dvp, RW_READER);
			error = search_check(w, dvp);
			if (!error) {
				if (dot) {
					vp = dvp;
					vref(vp);
				} else {
					error = VOP_LOOKUP(dvp, cp, len, &vp);
				}
			}
			vn_unlock(dvp);
		}
		if (error)
			goto out;
		while ((mvp = vfs_mounted_root(vp)) != NULL) {
			vrele(vp);
			vp = mvp;
		}

		if (vp->v_type == VLNK && (!last || (flags & NI_FOLLOW) || slash)) {
			if (++w->loops > ANYK_SYMLOOP_MAX) {
				error = ELOOP;
				goto out;
			}
			nbuf = kmem_alloc(&M_NAMEI, ANYK_PATH_MAX);
			if (nbuf == NULL) {
				error = ENOMEM;
				goto out;
			}
			error = vn_readlink_buf(vp, nbuf, ANYK_PATH_MAX, &tlen);
			vrele(vp);
			vp = NULL;
			if (!error && tlen == 0)
				error = ENOENT;
			rlen = strlen(ep);
			if (!error && tlen + rlen >= ANYK_PATH_MAX)
				error = ENAMETOOLONG;
			if (error) {
				kmem_free(&M_NAMEI, nbuf, ANYK_PATH_MAX);
				goto out;
			}
			/* The rest of the path follows the target. */
			memcpy(nbuf + tlen, ep, rlen + 1);
			if (w->buf != NULL)
				kmem_free(&M_NAMEI, w->buf, ANYK_PATH_MAX);
			w->buf = nbuf;
			cp = nbuf;
			if (*cp == '/') {
				vrele(dvp);
				dvp = w->root;
				vref(dvp);
			}
			continue;
		}
		if (last) {
			if (slash && vp->v_type != VDIR) {
				error = ENOTDIR;
				goto out;
			}
			*vpp = vp;
			vp = NULL;
			goto out;
		}
		vrele(dvp);
		dvp = vp;
		vp = NULL;
		cp = np;
	}
out:
	if (vp != NULL)
		vrele(vp);
	if (dvp != NULL)
		vrele(dvp);
	return error;
}

static int walk_start(struct walk *w, int loops)
{
	w->root = proc_root_hold(curproc());
	if (w->root == NULL)
		return ENOENT;
	w->cred = curcred_hold();
	w->loops = loops;
	w->buf = NULL;
	return 0;
}

static void walk_end(struct walk *w)
{
	if (w->buf != NULL)
		kmem_free(&M_NAMEI, w->buf, ANYK_PATH_MAX);
	cred_free(w->cred);
	vrele(w->root);
}

static int namei_common(struct vnode *start, int dirfd, const char *path, int flags,
			struct nameidata *nd, struct vnode **vpp)
{
	struct walk w;
	struct vnode *dvp;
	int error;

	error = path_check(path, true);
	if (error)
		return error;
	error = walk_start(&w, (nd != NULL && (flags & NI_CONTINUE)) ? nd->ni_loops : 0);
	if (error)
		return error;
	if (path[0] == '/') {
		dvp = w.root;
		vref(dvp);
	} else if (start != NULL) {
		dvp = start;
		vref(dvp);
	} else {
		error = namei_startdir(dirfd, &dvp);
		if (error)
			goto out;
	}
	if (nd != NULL) {
		nd->ni_dvp = NULL;
		nd->ni_isdot = nd->ni_isroot = nd->ni_slash = false;
	}
	error = walk_path(&w, dvp, path, flags, nd, vpp);
	if (nd != NULL)
		nd->ni_loops = w.loops;
out:
	walk_end(&w);
	return error;
}

int namei(int dirfd, const char *path, int flags, struct vnode **vpp)
{
	return namei_common(NULL, dirfd, path, flags, NULL, vpp);
}

int namei_at(struct vnode *start, const char *path, int flags, struct vnode **vpp)
{
	return namei_common(start, ANYK_AT_FDCWD, path, flags, NULL, vpp);
}

int namei_parent(int dirfd, const char *path, int flags, struct nameidata *nd)
{
	return namei_common(NULL, dirfd, path, flags, nd, NULL);
}

int namei_parent_at(struct vnode *start, const char *path, int flags, struct nameidata *nd)
{
	return namei_common(start, ANYK_AT_FDCWD, path, flags, nd, NULL);
}

void nameidata_release(struct nameidata *nd)
{
	if (nd->ni_dvp != NULL) {
		vrele(nd->ni_dvp);
		nd->ni_dvp = NULL;
	}
}

/* --- the path of a directory ------------------------------------------- */

struct findino {
	uint64_t ino;
	char *name;
	size_t namelen;
	bool found;
};

static int findino_fill(void *ctx, const char *name, size_t namelen, uint64_t ino,
			uint8_t dtype, int64_t nextcookie)
{
	struct findino *f = ctx;

	if (ino != f->ino || namelen == 0 || namelen > ANYK_NAME_MAX ||
	    (namelen == 1 && name[0] == '.') ||
	    (namelen == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	memcpy(f->name, name, namelen);
	f->namelen = namelen;
	f->found = true;
	return 1;
}

int vn_getpath(struct vnode *vp, char *buf, size_t len)
{
	char name[ANYK_NAME_MAX + 1];
	struct vnode *root, *cur, *parent, *cvp;
	struct findino f;
	struct vattr va;
	size_t pos;
	int error = 0;

	if (len < 2)
		return ERANGE;
	root = proc_root_hold(curproc());
	if (root == NULL)
		return ENOENT;
	cur = vp;
	vref(cur);
	pos = len - 1;
	buf[pos] = '\0';
	vn_lock(cur, RW_READER);
	error = VOP_GETATTR(cur, &va);
	vn_unlock(cur);
	if (!error && va.va_nlink == 0)
		error = ENOENT;
	while (!error && cur != root) {
		if ((cvp = vfs_covered(cur)) != NULL) {
			vrele(cur);
			cur = cvp;
			continue;
		}
		if (vn_flags(cur) & VV_ROOT)
			break; /* the global root, outside this process's root */
		vn_lock(cur, RW_READER);
		error = VOP_GETATTR(cur, &va);
		if (!error)
			error = VOP_LOOKUP(cur, "..", 2, &parent);
		vn_unlock(cur);
		if (error)
			break;
		f.ino = va.va_ino;
		f.name = name;
		f.found = false;
		vn_lock(parent, RW_READER);
		error = VOP_READDIR(parent, 0, findino_fill, &f);
		vn_unlock(parent);
		if (!error && !f.found)
			error = ENOENT;
		if (!error && pos < f.namelen + 1)
			error = ERANGE;
		if (error) {
			vrele(parent);
			break;
		}
		pos -= f.namelen;
		memcpy(buf + pos, f.name, f.namelen);
		buf[--pos] = '/';
		vrele(cur);
		cur = parent;
	}
	vrele(cur);
	vrele(root);
	if (error)
		return error;
	if (pos == len - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, len - pos);
	return 0;
}
