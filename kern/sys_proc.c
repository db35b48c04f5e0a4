/*
 * System calls on the calling process's identity: pid, user and group ids,
 * supplementary groups and the file creation mask. Identity changes follow
 * POSIX (the saved set-user-ID rules of setuid/setgid) and make a new
 * credential rather than changing a shared one.
 */
#include "anyk/anyk.h"

#include "kern/kernel.h"

/* Only reads an immutable field: no lock, nothing allocated. */
ANYK_API anyk_pid_t
anyk_sys_getpid(void)
{
	return curproc()->p_pid;
}

/* Before boot there are no credentials yet; the initial context is root. */
static struct cred *
cred_get(void)
{
	if (curproc()->p_lock.hm == NULL)
		return NULL;
	return curcred_hold();
}

ANYK_API anyk_uid_t
anyk_sys_getuid(void)
{
	struct cred *c = cred_get();
	anyk_uid_t id = c != NULL ? c->cr_uid : 0;

	cred_free(c);
	return id;
}

ANYK_API anyk_uid_t
anyk_sys_geteuid(void)
{
	struct cred *c = cred_get();
	anyk_uid_t id = c != NULL ? c->cr_euid : 0;

	cred_free(c);
	return id;
}

ANYK_API anyk_gid_t
anyk_sys_getgid(void)
{
	struct cred *c = cred_get();
	anyk_gid_t id = c != NULL ? c->cr_gid : 0;

	cred_free(c);
	return id;
}

ANYK_API anyk_gid_t
anyk_sys_getegid(void)
{
	struct cred *c = cred_get();
	anyk_gid_t id = c != NULL ? c->cr_egid : 0;

	cred_free(c);
	return id;
}

/* setuid and setgid share one rule (POSIX): root sets the real, effective
 * and saved ids; anyone else may only set the effective id, and only to the
 * real or the saved one. */
static int
do_setid(uint32_t id, bool group)
{
	struct cred *c, *n = NULL;
	uint32_t *real, *eff, *saved;
	int error = 0;

	if (id == (uint32_t)-1)
		return EINVAL;
	c = cred_get();
	if (c == NULL)
		return ENXIO;
	if (!cred_is_root(c) && id != (group ? c->cr_gid : c->cr_uid) &&
	    id != (group ? c->cr_sgid : c->cr_suid)) {
		error = EPERM;
		goto out;
	}
	n = cred_dup(c);
	if (n == NULL) {
		error = ENOMEM;
		goto out;
	}
	real = group ? &n->cr_gid : &n->cr_uid;
	eff = group ? &n->cr_egid : &n->cr_euid;
	saved = group ? &n->cr_sgid : &n->cr_suid;
	if (cred_is_root(c))
		*real = *saved = id;
	*eff = id;
	proc_set_cred(curproc(), n);
out:
	cred_free(c);
	return error;
}

ANYK_API int
anyk_sys_setuid(anyk_uid_t uid)
{
	return sys_ret(do_setid(uid, false));
}

ANYK_API int
anyk_sys_setgid(anyk_gid_t gid)
{
	return sys_ret(do_setid(gid, true));
}

/* The size is checked before the privilege, as Linux does. */
static int
do_setgroups(size_t n, const anyk_gid_t *groups)
{
	struct cred *c, *nc = NULL;
	int error = 0;

	if (n > ANYK_NGROUPS_MAX)
		return EINVAL;
	if (n > 0 && groups == NULL)
		return EFAULT;
	c = cred_get();
	if (c == NULL)
		return ENXIO;
	if (!cred_is_root(c)) {
		error = EPERM;
		goto out;
	}
	nc = cred_dup(c);
	if (nc == NULL) {
		error = ENOMEM;
		goto out;
	}
	if (n > 0)
		memcpy(nc->cr_groups, groups, n * sizeof(groups[0]));
	nc->cr_ngroups = (int)n;
	proc_set_cred(curproc(), nc);
out:
	cred_free(c);
	return error;
}

ANYK_API int
anyk_sys_setgroups(size_t n, const anyk_gid_t *groups)
{
	return sys_ret(do_setgroups(n, groups));
}

static int
do_getgroups(int n, anyk_gid_t *groups, int *countp)
{
	struct cred *c;
	int error = 0;

	if (n < 0)
		return EINVAL;
	c = cred_get();
	if (c == NULL) {
		*countp = 0;
		return 0;
	}
	*countp = c->cr_ngroups;
	if (n == 0)
		goto out;
	if (n < c->cr_ngroups) {
		error = EINVAL;
		goto out;
	}
	if (c->cr_ngroups > 0 && groups == NULL) {
		error = EFAULT;
		goto out;
	}
	if (c->cr_ngroups > 0)
		memcpy(groups, c->cr_groups, (size_t)c->cr_ngroups * sizeof(groups[0]));
out:
	cred_free(c);
	return error;
}

ANYK_API int
anyk_sys_getgroups(int n, anyk_gid_t *groups)
{
	int count = 0, error;

	error = do_getgroups(n, groups, &count);
	if (error)
		return sys_ret(error);
	return count;
}

/* umask cannot fail. Before boot proc0's lock does not exist yet, but
 * neither can another thread be in the kernel. */
ANYK_API anyk_mode_t
anyk_sys_umask(anyk_mode_t mask)
{
	struct proc *p = curproc();
	anyk_mode_t old;

	if (p->p_lock.hm == NULL) {
		old = p->p_umask;
		p->p_umask = mask & 0777;
		return old;
	}
	mutex_enter(&p->p_lock);
	old = p->p_umask;
	p->p_umask = mask & 0777;
	mutex_exit(&p->p_lock);
	return old;
}
