/*
 * Process contexts: the descriptors, cwd, root, umask and credentials a
 * host thread acts with. proc0 (pid 1) is where every thread starts; a
 * server gives each client its own with anyk_proc_create() and enters it
 * with anyk_proc_switch().
 *
 * p_ref counts the creator's reference plus every thread inside; the
 * process is freed when both are gone. The list of processes and pid
 * allocation are under proc_list_lock, which is made once and kept, so a
 * process outliving anyk_fini() can still be released safely.
 */
#include "anyk/anyk.h"

#include "kern/kernel.h"
#include "kern/init.h"
#include "vfs/vfs.h"

KMEM_TYPE(kmem_proc, "proc");

#define PROC_MAX 4096		/* processes at once, proc0 included */
#define PID_MAX 999999		/* then pids wrap to 2, skipping live ones */

struct proc proc0 = {
	.p_pid = 1,
	.p_ref = 1,
	.p_umask = 022,
	.p_link = DLIST_INIT(proc0.p_link),
};

static struct anyk_hyp_mutex *proc_list_lock;
static struct dlist proc_list = DLIST_INIT(proc_list);
static int nprocs;
static anyk_pid_t pid_next = 2;
static bool pid_wrapped;

static int
proc_list_lock_init(void)
{
	if (proc_list_lock != NULL)
		return 0;
	return anyk_hyp_mutex_init(&proc_list_lock);
}

static bool
pid_in_use(anyk_pid_t pid)
{
	struct dlist *it;

	dlist_foreach(it, &proc_list)
		if (dlist_entry(it, struct proc, p_link)->p_pid == pid)
			return true;
	return false;
}

/* Give p a pid and put it on the list. */
static int
proc_enlist(struct proc *p)
{
	int error = 0;

	anyk_hyp_mutex_enter(proc_list_lock);
	if (nprocs >= PROC_MAX) {
		error = EAGAIN;
		goto out;
	}
	do {
		p->p_pid = pid_next++;
		if (pid_next > PID_MAX) {
			pid_next = 2;
			pid_wrapped = true;
		}
	} while (pid_wrapped && pid_in_use(p->p_pid));
	dlist_insert_tail(&proc_list, &p->p_link);
	nprocs++;
out:
	anyk_hyp_mutex_exit(proc_list_lock);
	return error;
}

static void
proc_free(struct proc *p)
{
	anyk_hyp_mutex_enter(proc_list_lock);
	if (!dlist_empty(&p->p_link)) {
		dlist_remove(&p->p_link);
		nprocs--;
	}
	anyk_hyp_mutex_exit(proc_list_lock);
	if (p->p_fd != NULL)
		fd_table_free(p->p_fd);
	if (p->p_cwd != NULL)
		vrele(p->p_cwd);
	if (p->p_root != NULL)
		vrele(p->p_root);
	cred_free(p->p_cred);
	mutex_destroy(&p->p_lock);
	kmem_free(&kmem_proc, p, sizeof(*p));
}

static void
proc_rele(struct proc *p)
{
	if (p != &proc0 && atomic_dec_nv(&p->p_ref) == 0)
		proc_free(p);
}

int
proc0_init(void)
{
	int error;

	error = proc_list_lock_init();
	if (error)
		return error;
	proc0.p_cred = cred_alloc();
	if (proc0.p_cred == NULL)
		return ENOMEM;
	mutex_init(&proc0.p_lock);
	proc0.p_ref = 1;
	proc0.p_umask = 022;
	proc0.p_fd = NULL;
	proc0.p_cwd = proc0.p_root = NULL;
	anyk_hyp_mutex_enter(proc_list_lock);
	pid_next = 2;
	pid_wrapped = false;
	dlist_insert_head(&proc_list, &proc0.p_link);
	nprocs++;
	anyk_hyp_mutex_exit(proc_list_lock);
	return 0;
}

int
proc0_set_root(struct vnode *vp)
{
	int error;

	error = fd_table_create(&proc0.p_fd);
	if (error) {
		vrele(vp);
		return error;
	}
	vref(vp);
	proc_set_root(&proc0, vp);
	proc_set_cwd(&proc0, vp);
	return 0;
}

/*
 * At shutdown, every process lets go of its descriptors and vnodes so that
 * the file systems can be unmounted. A process its creator has not released
 * keeps its (now empty) structure until it is.
 */
void
procs_teardown(void)
{
	struct filedesc *fdp;
	struct vnode *cwd, *root;
	struct dlist *it;
	struct proc *p;

	for (;;) {
		anyk_hyp_mutex_enter(proc_list_lock);
		p = NULL;
		dlist_foreach(it, &proc_list) {
			struct proc *q = dlist_entry(it, struct proc, p_link);

			if (q->p_fd != NULL || q->p_cwd != NULL || q->p_root != NULL) {
				p = q;
				break;
			}
		}
		if (p != NULL)
			atomic_inc(&p->p_ref);
		anyk_hyp_mutex_exit(proc_list_lock);
		if (p == NULL)
			break;
		if (p != &proc0)
			klog(LOG_WARN, "proc: pid %d not released at shutdown", (int)p->p_pid);
		mutex_enter(&p->p_lock);
		fdp = p->p_fd;
		cwd = p->p_cwd;
		root = p->p_root;
		p->p_fd = NULL;
		p->p_cwd = p->p_root = NULL;
		mutex_exit(&p->p_lock);
		if (fdp != NULL)
			fd_table_free(fdp);
		if (cwd != NULL)
			vrele(cwd);
		if (root != NULL)
			vrele(root);
		if (p == &proc0)
			(void)atomic_dec_nv(&p->p_ref);
		else
			proc_rele(p);
	}
}

/* Processes not released by now stay off the list: pids restart at boot. */
void
proc0_fini(void)
{
	struct proc *p;

	anyk_hyp_mutex_enter(proc_list_lock);
	while ((p = dlist_first(&proc_list, struct proc, p_link)) != NULL)
		dlist_remove(&p->p_link);
	nprocs = 0;
	anyk_hyp_mutex_exit(proc_list_lock);
	cred_free(proc0.p_cred);
	proc0.p_cred = NULL;
	if (proc0.p_lock.hm != NULL)
		mutex_destroy(&proc0.p_lock);
}

struct cred *
curcred_hold(void)
{
	struct proc *p = curproc();
	struct cred *c;

	mutex_enter(&p->p_lock);
	c = cred_hold(p->p_cred);
	mutex_exit(&p->p_lock);
	return c;
}

struct vnode *
proc_cwd_hold(struct proc *p)
{
	struct vnode *vp;

	mutex_enter(&p->p_lock);
	vp = p->p_cwd;
	if (vp != NULL)
		vref(vp);
	mutex_exit(&p->p_lock);
	return vp;
}

struct vnode *
proc_root_hold(struct proc *p)
{
	struct vnode *vp;

	mutex_enter(&p->p_lock);
	vp = p->p_root;
	if (vp != NULL)
		vref(vp);
	mutex_exit(&p->p_lock);
	return vp;
}

/* The old vnode is released after p_lock is dropped: vrele may take vnode
 * locks, which come before the proc lock in the lock order. */
void
proc_set_cwd(struct proc *p, struct vnode *vp)
{
	struct vnode *old;

	mutex_enter(&p->p_lock);
	old = p->p_cwd;
	p->p_cwd = vp;
	mutex_exit(&p->p_lock);
	if (old != NULL)
		vrele(old);
}

void
proc_set_root(struct proc *p, struct vnode *vp)
{
	struct vnode *old;

	mutex_enter(&p->p_lock);
	old = p->p_root;
	p->p_root = vp;
	mutex_exit(&p->p_lock);
	if (old != NULL)
		vrele(old);
}

void
proc_set_cred(struct proc *p, struct cred *c)
{
	struct cred *old;

	mutex_enter(&p->p_lock);
	old = p->p_cred;
	p->p_cred = c;
	mutex_exit(&p->p_lock);
	cred_free(old);
}

static int
proc_create(struct proc *parent, unsigned flags, struct proc **pp)
{
	struct proc *p;
	int error;

	if (!atomic_load_acquire(&kernel_running))
		return ENXIO;
	if (flags & ~(unsigned)ANYK_PROC_EXEC)
		return EINVAL;
	p = kmem_zalloc(&kmem_proc, sizeof(*p));
	if (p == NULL)
		return ENOMEM;
	mutex_init(&p->p_lock);
	p->p_ref = 1;
	dlist_init(&p->p_link);
	if (parent != NULL) {
		mutex_enter(&parent->p_lock);
		p->p_cred = cred_hold(parent->p_cred);
		p->p_umask = parent->p_umask;
		if ((p->p_cwd = parent->p_cwd) != NULL)
			vref(p->p_cwd);
		if ((p->p_root = parent->p_root) != NULL)
			vref(p->p_root);
		mutex_exit(&parent->p_lock);
		if (parent->p_fd != NULL)
			error = fd_table_copy(parent->p_fd, (flags & ANYK_PROC_EXEC) != 0, &p->p_fd);
		else
			error = fd_table_create(&p->p_fd);
	} else {
		p->p_cred = cred_alloc();
		p->p_umask = 022;
		p->p_cwd = proc_cwd_hold(&proc0);
		p->p_root = proc_root_hold(&proc0);
		error = p->p_cred == NULL ? ENOMEM : fd_table_create(&p->p_fd);
	}
	if (error)
		goto fail;
	error = proc_enlist(p);
	if (error)
		goto fail;
	*pp = p;
	return 0;
fail:
	proc_free(p);
	return error;
}

ANYK_API struct anyk_proc *
anyk_proc_create(struct anyk_proc *parent, unsigned flags)
{
	struct proc *p = NULL;
	int error;

	error = proc_create((struct proc *)parent, flags, &p);
	if (error) {
		anyk_hyp_set_errno(error);
		return NULL;
	}
	return (struct anyk_proc *)p;
}

/* Entering takes a reference for the thread and leaving drops it; the
 * initial context is never counted. */
ANYK_API struct anyk_proc *
anyk_proc_switch(struct anyk_proc *to)
{
	struct proc *prev = anyk_hyp_curctx_get();
	struct proc *p = (struct proc *)to;

	if (p == &proc0)
		p = NULL;
	if (p != prev) {
		if (p != NULL)
			atomic_inc(&p->p_ref);
		anyk_hyp_curctx_set(p);
		if (prev != NULL)
			proc_rele(prev);
	}
	return (struct anyk_proc *)(prev != NULL ? prev : &proc0);
}

ANYK_API struct anyk_proc *
anyk_proc_current(void)
{
	return (struct anyk_proc *)curproc();
}

ANYK_API void
anyk_proc_release(struct anyk_proc *pub)
{
	struct proc *p = (struct proc *)pub;

	if (p != NULL && p != &proc0)
		proc_rele(p);
}
