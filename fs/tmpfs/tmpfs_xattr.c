/*
 * tmpfs extended attributes: a short list of (name, value) pairs per node.
 * Nodes carry few attributes (security labels, a user tag or two), so a
 * list is the right structure. Names must carry one of the namespaces other
 * systems know; values are at most 64 KiB.
 *
 * The VFS holds the vnode exclusive to change attributes and at least
 * shared to read them.
 */
#include "fs/tmpfs/tmpfs.h"

#define XATTR_CREATE 1  /* fail if it exists */
#define XATTR_REPLACE 2 /* fail if it does not */

static const char *const xattr_prefixes[] = { "user.", "trusted.", "security.", "system." };

static int
name_check(const char *name, size_t *lenp)
{
	size_t len, plen, i;

	if (name == NULL)
		return EINVAL;
	len = strnlen(name, TMPFS_XATTR_NAME_MAX + 1);
	if (len == 0)
		return EINVAL;
	if (len > TMPFS_XATTR_NAME_MAX)
		return ERANGE;
	for (i = 0; i < ARRAY_SIZE(xattr_prefixes); i++) {
		plen = strlen(xattr_prefixes[i]);
		if (len > plen && strncmp(name, xattr_prefixes[i], plen) == 0) {
			*lenp = len;
			return 0;
		}
	}
	return ENOTSUP;
}

static struct tmpfs_xattr *
xattr_find(struct tmpfs_node *n, const char *name, size_t len)
{
	struct dlist *it;
	struct tmpfs_xattr *xa;

	dlist_foreach(it, &n->tn_xattrs) {
		xa = dlist_entry(it, struct tmpfs_xattr, tx_link);
		if (xa->tx_namelen == len && memcmp(xa->tx_name, name, len) == 0)
			return xa;
	}
	return NULL;
}

static void
xattr_free(struct tmpfs_xattr *xa)
{
	kmem_free(&tmpfs_kmem, xa->tx_name, xa->tx_namelen + 1);
	kmem_free(&tmpfs_kmem, xa->tx_value, xa->tx_size);
	kmem_free(&tmpfs_kmem, xa, sizeof(*xa));
}

int
tmpfs_getxattr(struct vnode *vp, const char *name, void *buf, size_t *sizep)
{
	struct tmpfs_node *n = VTON(vp);
	struct tmpfs_xattr *xa;
	size_t len;
	int error;

	error = name_check(name, &len);
	if (error)
		return error;
	xa = xattr_find(n, name, len);
	if (xa == NULL)
		return ENODATA;
	if (*sizep != 0) {
		if (*sizep < xa->tx_size)
			return ERANGE;
		if (xa->tx_size > 0)
			memcpy(buf, xa->tx_value, xa->tx_size);
	}
	*sizep = xa->tx_size;
	return 0;
}

int
tmpfs_setxattr(struct vnode *vp, const char *name, const void *buf, size_t size, int flags)
{
	struct tmpfs_node *n = VTON(vp);
	struct tmpfs_xattr *xa, *nxa = NULL;
	void *value = NULL;
	size_t len;
	int error;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return EINVAL;
	error = name_check(name, &len);
	if (error)
		return error;
	if (size > TMPFS_XATTR_SIZE_MAX)
		return E2BIG;
	if (size > 0 && buf == NULL)
		return EINVAL;
	xa = xattr_find(n, name, len);
	if (xa != NULL && (flags & XATTR_CREATE))
		return EEXIST;
	if (xa == NULL && (flags & XATTR_REPLACE))
		return ENODATA;

	value = kmem_alloc(&tmpfs_kmem, size);
	if (value == NULL)
		return ENOMEM;
	if (size > 0)
		memcpy(value, buf, size);
	if (xa != NULL) {
		kmem_free(&tmpfs_kmem, xa->tx_value, xa->tx_size);
		xa->tx_value = value;
		xa->tx_size = size;
	} else {
		nxa = kmem_zalloc(&tmpfs_kmem, sizeof(*nxa));
		if (nxa == NULL)
			goto nomem;
		nxa->tx_name = kmem_alloc(&tmpfs_kmem, len + 1);
		if (nxa->tx_name == NULL) {
			kmem_free(&tmpfs_kmem, nxa, sizeof(*nxa));
			goto nomem;
		}
		memcpy(nxa->tx_name, name, len);
		nxa->tx_name[len] = '\0';
		nxa->tx_namelen = len;
		nxa->tx_value = value;
		nxa->tx_size = size;
		dlist_insert_tail(&n->tn_xattrs, &nxa->tx_link);
	}
	tmpfs_node_touch(n, false, true);
	return 0;
nomem:
	kmem_free(&tmpfs_kmem, value, size);
	return ENOMEM;
}

int
tmpfs_listxattr(struct vnode *vp, char *buf, size_t *sizep)
{
	struct tmpfs_node *n = VTON(vp);
	struct tmpfs_xattr *xa;
	struct dlist *it;
	size_t need = 0, pos = 0;

	dlist_foreach(it, &n->tn_xattrs) {
		xa = dlist_entry(it, struct tmpfs_xattr, tx_link);
		need += xa->tx_namelen + 1;
	}
	if (*sizep != 0) {
		if (*sizep < need)
			return ERANGE;
		dlist_foreach(it, &n->tn_xattrs) {
			xa = dlist_entry(it, struct tmpfs_xattr, tx_link);
			memcpy(buf + pos, xa->tx_name, xa->tx_namelen + 1);
			pos += xa->tx_namelen + 1;
		}
	}
	*sizep = need;
	return 0;
}

int
tmpfs_removexattr(struct vnode *vp, const char *name)
{
	struct tmpfs_node *n = VTON(vp);
	struct tmpfs_xattr *xa;
	size_t len;
	int error;

	error = name_check(name, &len);
	if (error)
		return error;
	xa = xattr_find(n, name, len);
	if (xa == NULL)
		return ENODATA;
	dlist_remove(&xa->tx_link);
	xattr_free(xa);
	tmpfs_node_touch(n, false, true);
	return 0;
}

void
tmpfs_xattr_free_all(struct tmpfs_node *n)
{
	struct tmpfs_xattr *xa;

	while ((xa = dlist_first(&n->tn_xattrs, struct tmpfs_xattr, tx_link)) != NULL) {
		dlist_remove(&xa->tx_link);
		xattr_free(xa);
	}
}
