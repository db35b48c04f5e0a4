/*
 * POSIX access control lists (POSIX.1e draft 17, as Linux applies them).
 *
 * A file system stores an ACL as the value of the extended attribute
 * system.posix_acl_access or system.posix_acl_default, in the format the
 * xattr calls exchange: a 32-bit version (2), then 8-byte entries of a
 * 16-bit tag, a 16-bit permission set and a 32-bit id, all little-endian.
 * This file gives the values their meaning:
 *
 *   - an access ACL decides who may read, write and search the file, for
 *     everyone but the owner and root (vfs_access_vn);
 *   - the permission bits and the access ACL are kept in step: setting the
 *     ACL sets the bits (the group bits show the mask), chmod rewrites the
 *     ACL's owner, mask (or owning group) and other entries, and an ACL
 *     that says no more than the bits is not stored at all;
 *   - a directory's default ACL is given to what is created in it: the new
 *     node's access ACL is the default masked by the mode asked for, the
 *     umask is not applied, and a new directory inherits the default too.
 *
 * Whether a vnode has an access ACL is remembered in v_acl, so that the
 * checks of the common case (no ACL) do not read attributes each time.
 */
#include "vfs/vfs_impl.h"

KMEM_TYPE(kmem_acl, "acl");

#define ACL_VERSION POSIX_ACL_XATTR_VERSION
#define ACL_ENTRY 8
#define ACL_MAX_ENTRIES 4096 /* far above what any file system stores */

const char acl_access_name[] = "system.posix_acl_access";
const char acl_default_name[] = "system.posix_acl_default";

enum { V_ACL_UNKNOWN, V_ACL_NONE, V_ACL_PRESENT };

/*
 * Check an ACL value: its version, tags in order (owner, named users,
 * owning group, named groups, mask, other) with the three base tags once
 * each, permissions within rwx, and a mask whenever a named entry exists.
 * Linear in the entries: a hostile ACL costs no more than its size.
 * *permp gets the permission bits it implies and *equivp whether it says
 * nothing more than they do.
 */
int acl_check(const void *value, size_t len, anyk_mode_t *permp, bool *equivp)
{
	const uint8_t *v = value, *e;
	unsigned state = 0, seen = 0, tag, perm, owner = 0, group = 0, other = 0, mask = 0;
	size_t n, i;

	if (value == NULL || len < 4)
		return EINVAL;
	if (le32dec(v) != ACL_VERSION)
		return ENOTSUP; /* a format this kernel does not speak */
	if ((len - 4) % ACL_ENTRY != 0)
		return EINVAL;
	n = (len - 4) / ACL_ENTRY;
	if (n > ACL_MAX_ENTRIES)
		return EINVAL;
	for (i = 0; i < n; i++) {
		e = v + 4 + i * ACL_ENTRY;
		tag = le16dec(e);
		perm = le16dec(e + 2);
		if (perm & ~7u)
			return EINVAL;
		/* Tags never go back; only the named ones repeat (repeated
		 * ids are taken, as Linux takes them: the first decides). */
		if (tag < state || (tag == state && tag != ACL_USER && tag != ACL_GROUP))
			return EINVAL;
		switch (tag) {
		case ACL_USER_OBJ: owner = perm; break;
		case ACL_GROUP_OBJ: group = perm; break;
		case ACL_MASK: mask = perm; break;
		case ACL_OTHER: other = perm; break;
		case ACL_USER: case ACL_GROUP: break;
		default: return EINVAL;
		}
		state = tag;
		seen |= tag;
	}
	if ((seen & (ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_OTHER)) !=
	    (ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_OTHER) ||
	    ((seen & (ACL_USER | ACL_GROUP)) && !(seen & ACL_MASK)))
		return EINVAL;
	if (permp != NULL)
		*permp = (anyk_mode_t)(owner << 6 | ((seen & ACL_MASK) ? mask : group) << 3 | other);
	if (equivp != NULL)
		*equivp = n == 3;
	return 0;
}

/* Rewrite the owner, group-class (the mask, else the owning group) and
 * other entries of a checked ACL from perm (rwxrwxrwx), or with and=true
 * keep only what perm allows of them. */
static void acl_apply_mode(uint8_t *v, size_t len, anyk_mode_t perm, bool and)
{
	size_t n = (len - 4) / ACL_ENTRY, i;
	uint8_t *group = NULL, *mask = NULL, *e;
	unsigned want;

	for (i = 0; i < n; i++) {
		e = v + 4 + i * ACL_ENTRY;
		switch (le16dec(e)) {
		case ACL_USER_OBJ:
			want = (perm >> 6) & 7;
			le16enc(e + 2, (uint16_t)(and ? le16dec(e + 2) & want : want));
			break;
		case ACL_GROUP_OBJ: group = e; break;
		case ACL_MASK: mask = e; break;
		case ACL_OTHER:
			want = perm & 7;
			le16enc(e + 2, (uint16_t)(and ? le16dec(e + 2) & want : want));
			break;
		}
	}
	e = mask != NULL ? mask : group;
	if (e != NULL) {
		want = (perm >> 3) & 7;
		le16enc(e + 2, (uint16_t)(and ? le16dec(e + 2) & want : want));
	}
}

/* Read ACL name of vp (locked, so it cannot change between the size and
 * the read) into a new buffer; ENODATA when it has none, or when its file
 * system keeps no attributes. */
static int acl_read(struct vnode *vp, const char *name, uint8_t **bufp, size_t *lenp)
{
	uint8_t *buf;
	size_t len = 0, got;
	int error;

	error = VOP_GETXATTR(vp, name, NULL, &len);
	if (error == ENOTSUP || error == EOPNOTSUPP)
		return ENODATA;
	if (error)
		return error;
	if (len == 0 || len > 4 + (size_t)ACL_MAX_ENTRIES * ACL_ENTRY)
		return EINVAL;
	buf = kmem_alloc(&kmem_acl, len);
	if (buf == NULL)
		return ENOMEM;
	got = len;
	error = VOP_GETXATTR(vp, name, buf, &got);
	if (!error && got != len)
		error = EIO; /* a file system that changed its answer */
	if (error) {
		kmem_free(&kmem_acl, buf, len);
		return error;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static void acl_free(uint8_t *buf, size_t len)
{
	kmem_free(&kmem_acl, buf, len);
}

static void acl_mark(struct vnode *vp, int state)
{
	atomic_store_relaxed(&vp->v_acl, (uint8_t)state);
}

/* The POSIX.1e check of cred against a checked ACL of a file of group
 * gid, for anyone but the owner and root. */
static int acl_permits(const uint8_t *v, size_t len, const struct cred *cred, anyk_gid_t gid,
		       unsigned want)
{
	size_t n = (len - 4) / ACL_ENTRY, i;
	unsigned mask = 7, other = 0;
	bool ingroup = false;

	for (i = 0; i < n; i++) {
		const uint8_t *e = v + 4 + i * ACL_ENTRY;

		if (le16dec(e) == ACL_MASK)
			mask = le16dec(e + 2);
		else if (le16dec(e) == ACL_OTHER)
			other = le16dec(e + 2);
		else if (le16dec(e) == ACL_USER && le32dec(e + 4) == cred->cr_euid)
			return (want & ~(le16dec(e + 2) & mask)) == 0 ? 0 : EACCES;
	}
	/* The mask follows every named entry: it is known by now. */
	for (i = 0; i < n; i++) {
		const uint8_t *e = v + 4 + i * ACL_ENTRY;
		unsigned tag = le16dec(e);

		if (!(tag == ACL_GROUP_OBJ && cred_groupmember(cred, gid)) &&
		    !(tag == ACL_GROUP && cred_groupmember(cred, le32dec(e + 4))))
			continue;
		ingroup = true;
		if ((want & ~(le16dec(e + 2) & mask)) == 0)
			return 0;
	}
	if (ingroup)
		return EACCES;
	return (want & ~other) == 0 ? 0 : EACCES;
}

int vfs_access_vn(struct vnode *vp, const struct vattr *va, const struct cred *cred, int mode)
{
	uint8_t *buf;
	size_t len;
	int error;

	if ((mode & VWRITE) && (va->va_flags & ANYK_FL_IMMUTABLE))
		return EPERM; /* for root too */
	if (cred_is_root(cred) || cred->cr_euid == va->va_uid ||
	    atomic_load_relaxed(&vp->v_acl) == V_ACL_NONE)
		return vfs_access_va(va, cred, mode);
	error = acl_read(vp, acl_access_name, &buf, &len);
	if (error == ENODATA) {
		acl_mark(vp, V_ACL_NONE);
		return vfs_access_va(va, cred, mode);
	}
	if (error)
		return error;
	acl_mark(vp, V_ACL_PRESENT);
	if (acl_check(buf, len, NULL, NULL) != 0)
		error = EACCES; /* a broken ACL grants nothing beyond the owner */
	else
		error = acl_permits(buf, len, cred, va->va_gid,
				    (unsigned)mode & (VREAD | VWRITE | VEXEC));
	acl_free(buf, len);
	return error;
}

/*
 * setxattr of an ACL on vp (locked exclusive), after the caller's right to
 * it was checked. An access ACL sets the permission bits, and one the
 * bits say all of is dropped instead of stored. An empty value, or one of
 * no entries, removes the ACL, and removing one that is not there is no
 * error. Only a directory takes a default ACL. As on Linux, the
 * XATTR_CREATE and XATTR_REPLACE flags mean nothing for an ACL.
 */
int vn_acl_set(struct vnode *vp, bool dflt, const void *value, size_t len,
	       const struct cred *cred)
{
	struct vattr va, nva;
	anyk_mode_t perm;
	bool equiv;
	int error;

	if (len != 0 && len != 4) {
		error = acl_check(value, len, &perm, &equiv);
		if (error)
			return error;
	} else if (len == 4 && (value == NULL || le32dec(value) != ACL_VERSION)) {
		return value == NULL ? EINVAL : ENOTSUP;
	}
	if (dflt)
		atomic_store_relaxed(&vp->v_dacl, (uint8_t)V_ACL_UNKNOWN);
	else
		acl_mark(vp, V_ACL_UNKNOWN);
	if (len == 0 || len == 4) {
		error = VOP_REMOVEXATTR(vp, dflt ? acl_default_name : acl_access_name);
		return error == ENODATA || error == ENOTSUP || error == EOPNOTSUPP ? 0 : error;
	}
	if (dflt)
		return vp->v_type != VDIR ? EACCES : VOP_SETXATTR(vp, acl_default_name, value, len, 0);
	error = VOP_GETATTR(vp, &va);
	if (error)
		return error;
	vattr_null(&nva);
	nva.va_mask = VA_MODE | VA_CTIME;
	nva.va_mode = (va.va_mode & ~(anyk_mode_t)0777) | perm;
	/* As chmod would: set-group-ID only for a member of the group. */
	if (!cred_is_root(cred) && !cred_groupmember(cred, va.va_gid))
		nva.va_mode &= ~(anyk_mode_t)ANYK_S_ISGID;
	vfs_now(&nva.va_ctime);
	acl_mark(vp, V_ACL_UNKNOWN);
	if (equiv) {
		error = VOP_REMOVEXATTR(vp, acl_access_name);
		if (error == ENODATA || error == ENOTSUP || error == EOPNOTSUPP)
			error = 0; /* nothing to drop */
	} else {
		error = VOP_SETXATTR(vp, acl_access_name, value, len, 0);
	}
	if (!error && nva.va_mode != va.va_mode)
		error = VOP_SETATTR(vp, &nva);
	return error;
}

/* After vp's (locked exclusive) permission bits became mode: its access
 * ACL, if any, says the same. */
int vn_acl_chmod(struct vnode *vp, anyk_mode_t mode)
{
	uint8_t *buf;
	size_t len;
	int error;

	if (vp->v_type == VLNK || atomic_load_relaxed(&vp->v_acl) == V_ACL_NONE)
		return 0;
	error = acl_read(vp, acl_access_name, &buf, &len);
	if (error == ENODATA) {
		acl_mark(vp, V_ACL_NONE);
		return 0;
	}
	if (error)
		return error;
	if (acl_check(buf, len, NULL, NULL) == 0) {
		acl_apply_mode(buf, len, mode, false);
		error = VOP_SETXATTR(vp, acl_access_name, buf, len, ANYK_XATTR_REPLACE);
	}
	acl_free(buf, len);
	return error;
}

/*
 * The permission bits of a new node of type in dvp (locked), asked for
 * with mode (07777 bits) under umask: with a default ACL on dvp, the umask
 * does not apply and the bits are those the inherited ACL grants; ai then
 * holds what vn_acl_inherit stores on the new node.
 */
anyk_mode_t acl_new_mode(struct vnode *dvp, enum vtype type, anyk_mode_t mode, anyk_mode_t umask,
			 struct acl_inherit *ai)
{
	anyk_mode_t perm;
	bool equiv;

	ai->dflt = NULL;
	ai->access = NULL;
	ai->len = 0;
	ai->equiv = true;
	if (type == VLNK || atomic_load_relaxed(&dvp->v_dacl) == V_ACL_NONE)
		return mode & ~umask;
	if (acl_read(dvp, acl_default_name, &ai->dflt, &ai->len) != 0) {
		atomic_store_relaxed(&dvp->v_dacl, (uint8_t)V_ACL_NONE);
		return mode & ~umask;
	}
	if (acl_check(ai->dflt, ai->len, NULL, NULL) != 0) {
		acl_free(ai->dflt, ai->len);
		ai->dflt = NULL;
		return mode & ~umask;
	}
	ai->access = kmem_alloc(&kmem_acl, ai->len);
	if (ai->access == NULL) {
		acl_free(ai->dflt, ai->len);
		ai->dflt = NULL;
		return mode & ~umask;
	}
	memcpy(ai->access, ai->dflt, ai->len);
	acl_apply_mode(ai->access, ai->len, mode, true);
	(void)acl_check(ai->access, ai->len, &perm, &equiv);
	ai->equiv = equiv;
	return (mode & ~(anyk_mode_t)0777) | perm;
}

/* Give the new node vp (of type) what acl_new_mode found for it; vp is
 * not yet reachable by others, so its lock is not needed. */
int vn_acl_inherit(struct vnode *vp, enum vtype type, struct acl_inherit *ai)
{
	int error = 0;

	if (ai->dflt == NULL)
		return 0;
	vn_lock(vp, RW_WRITER);
	if (!ai->equiv)
		error = VOP_SETXATTR(vp, acl_access_name, ai->access, ai->len, 0);
	if (!error && type == VDIR) {
		error = VOP_SETXATTR(vp, acl_default_name, ai->dflt, ai->len, 0);
		atomic_store_relaxed(&vp->v_dacl, (uint8_t)V_ACL_UNKNOWN);
	}
	acl_mark(vp, ai->equiv ? V_ACL_NONE : V_ACL_PRESENT);
	vn_unlock(vp);
	return error;
}

void acl_inherit_done(struct acl_inherit *ai)
{
	if (ai->dflt != NULL)
		acl_free(ai->dflt, ai->len);
	if (ai->access != NULL)
		acl_free(ai->access, ai->len);
	ai->dflt = ai->access = NULL;
}
