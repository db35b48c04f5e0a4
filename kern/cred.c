/*
 * Credentials: who a process acts as. A cred is immutable once more than
 * one holder can see it; changing identity means making a copy and
 * swapping the process's pointer (proc_set_cred), so readers need no lock
 * beyond taking their reference.
 */
#include "kern/kernel.h"

KMEM_TYPE(kmem_cred, "cred");

struct cred *
cred_alloc(void)
{
	struct cred *c = kmem_zalloc(&kmem_cred, sizeof(*c));

	if (c != NULL)
		c->cr_ref = 1;
	return c;
}

struct cred *
cred_dup(const struct cred *c)
{
	struct cred *n = kmem_alloc(&kmem_cred, sizeof(*n));

	/* Field by field: cr_ref of the original may be changing under us. */
	if (n != NULL) {
		n->cr_ref = 1;
		n->cr_uid = c->cr_uid;
		n->cr_euid = c->cr_euid;
		n->cr_suid = c->cr_suid;
		n->cr_gid = c->cr_gid;
		n->cr_egid = c->cr_egid;
		n->cr_sgid = c->cr_sgid;
		n->cr_ngroups = c->cr_ngroups;
		memcpy(n->cr_groups, c->cr_groups, sizeof(n->cr_groups));
	}
	return n;
}

void
cred_free(struct cred *c)
{
	if (c != NULL && atomic_dec_nv(&c->cr_ref) == 0)
		kmem_free(&kmem_cred, c, sizeof(*c));
}

bool
cred_groupmember(const struct cred *c, anyk_gid_t gid)
{
	int i;

	if (c->cr_egid == gid)
		return true;
	for (i = 0; i < c->cr_ngroups && i < ANYK_NGROUPS_MAX; i++)
		if (c->cr_groups[i] == gid)
			return true;
	return false;
}
