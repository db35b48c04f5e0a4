/*
 * The kernel's internal services: components, logging, memory, locks,
 * atomics, time, kernel threads, deferred work, timers, parameters, process
 * contexts and credentials. Every kernel file includes this header; nothing
 * here is visible to programs (see include/anyk/anyk.h for that).
 *
 * Lock order (outer first; see docs/architecture.md):
 *   file offset lock (held across a read or write) > mount table lock >
 *   per-mount rename lock > directory vnode locks (ancestor before
 *   descendant; unrelated by address) > non-directory vnode locks >
 *   descriptor table lock > buffer cache bucket lock > proc lock > vnode
 *   cache lock > kmem statistics (atomics only).
 */
#ifndef ANYK_KERN_KERNEL_H
#define ANYK_KERN_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <anyk/abi.h>
#include <anyk/hyper.h>

#include "kern/errno.h"
#include "kern/lib/libkern.h"

/* Functions the public API exports are marked so; everything else is hidden. */
#define ANYK_EXPORT __attribute__((visibility("default")))

/* --- components ----------------------------------------------------------- */

/* A component registers itself by being linked: its descriptor lands in the
 * anyk_components section and anyk_init() runs every linked one in level
 * order (then by name). init returns 0 or an error, which aborts boot. */
struct component {
	const char *name;
	int level;
	int (*init)(void);
};
#define ANYK_COMPONENT(cname, clevel, cinit)                                    \
	static const struct component component_##cname                        \
		__attribute__((section("anyk_components"), used, aligned(8))) = { \
			.name = #cname, .level = (clevel), .init = (cinit) }

enum {
	LEVEL_KERN = 100,  /* memory, locks, threads, timers, work queues */
	LEVEL_VFS = 200,   /* vnode cache, mount table, descriptor tables */
	LEVEL_DEVSW = 300, /* device switch, block layer, buffer cache */
	LEVEL_FS = 400,    /* file system types register their vfsops */
	/* anyk_init mounts the root tmpfs here, then runs: */
	LEVEL_ROOT = 500,  /* components that need "/": /dev nodes, ... */
};

/* Undone in reverse order of registration by anyk_fini(). */
struct shutdown_hook {
	struct dlist link;
	const char *name;
	void (*fn)(void);
};
void shutdown_hook_register(struct shutdown_hook *h);

/* True between the end of anyk_init() and the start of anyk_fini(). */
extern volatile int kernel_running;

/* --- log ------------------------------------------------------------------- */

#define LOG_ERR ANYK_LOG_ERR
#define LOG_WARN ANYK_LOG_WARN
#define LOG_INFO ANYK_LOG_INFO
#define LOG_DEBUG ANYK_LOG_DEBUG
/* Append a line to the kernel log (dmesg), prefixed with the time since boot;
 * also to the host console when ANYK_VERBOSE >= level. A trailing newline is
 * added if missing. Never blocks for long, never allocates. */
void klog(int level, const char *fmt, ...) __printflike(2, 3);
#define kprintf(...) klog(LOG_INFO, __VA_ARGS__)
__noreturn void panic(const char *fmt, ...) __printflike(1, 2);
#define KASSERT(e)                                                            \
	do {                                                                  \
		if (unlikely(!(e)))                                           \
			panic("assertion \"%s\" failed: %s:%d", #e, __FILE__, __LINE__); \
	} while (0)

/* --- memory ---------------------------------------------------------------- */

/* Every allocation is charged to a type, which names the subsystem in
 * anyk_memstats(). Define one per subsystem with KMEM_TYPE(var, "name"). */
struct kmem_type {
	const char *name;
	uint64_t bytes, allocs, frees, failures; /* updated atomically */
};
#define KMEM_TYPE(var, tname)                                                 \
	struct kmem_type var __attribute__((section("anyk_kmemtypes"), used, aligned(8))) = { .name = (tname) }
#define KMEM_TYPE_DECLARE(var) extern struct kmem_type var

/* NULL when the host has no memory or ANYK_MEMLIMIT would be exceeded;
 * callers turn that into ENOMEM. size may be 0 (returns a unique pointer). */
void *kmem_alloc(struct kmem_type *t, size_t size);
void *kmem_zalloc(struct kmem_type *t, size_t size);
/* align: a power of two up to 4096. */
void *kmem_alloc_aligned(struct kmem_type *t, size_t size, size_t align);
/* p may be NULL; size must be what was asked for at allocation. */
void kmem_free(struct kmem_type *t, void *p, size_t size);
char *kmem_strdup(struct kmem_type *t, const char *s); /* free: strlen(s)+1 */
void kmem_strfree(struct kmem_type *t, char *s);
uint64_t kmem_inuse(void);  /* total bytes allocated now */
uint64_t kmem_limit(void);  /* 0: no limit */

/* --- pages ------------------------------------------------------------------ */

/* Whole pages for bulk data such as file contents (kern/page.c), carved from
 * large host chunks; a chunk goes back to the host when its last page is
 * freed. The chunk is what counts against ANYK_MEMLIMIT; the pages handed
 * out show under t in anyk_memstats, the unused rest of the chunks under
 * "pages"; free a page with the type it was taken with. Contents are
 * undefined; alignment is only that of a pointer. Batches take the
 * allocator's lock once; that lock is a leaf. */
#define PAGE_SIZE ((size_t)4096)
void *page_alloc(struct kmem_type *t);                        /* NULL: no memory */
size_t page_alloc_n(struct kmem_type *t, void **pages, size_t n); /* fills pages[0..k), returns k; 0: no memory */
void page_free(struct kmem_type *t, void *pg);                /* pg may be NULL */
void page_free_n(struct kmem_type *t, void **pages, size_t n); /* NULL entries are skipped */

/* --- atomics ------------------------------------------------------------------ */

#define atomic_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define atomic_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define atomic_inc(p) ((void)__atomic_add_fetch((p), 1, __ATOMIC_RELAXED))
#define atomic_add(p, v) ((void)__atomic_add_fetch((p), (v), __ATOMIC_RELAXED))
/* Returns the new value; release on the way down, acquire when it hits 0. */
#define atomic_dec_nv(p) __atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL)
#define atomic_inc_nv(p) __atomic_add_fetch((p), 1, __ATOMIC_ACQ_REL)
#define atomic_cas(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

/* --- locks ------------------------------------------------------------------ */

typedef struct {
	struct anyk_hyp_mutex *hm;
} kmutex_t;
typedef struct {
	struct anyk_hyp_rwlock *hrw;
} krwlock_t;
typedef struct {
	struct anyk_hyp_cond *hcv;
} kcondvar_t;
#define RW_READER 0
#define RW_WRITER 1

/* Init panics if the host cannot make a lock (host memory exhausted). */
void mutex_init(kmutex_t *m);
void mutex_destroy(kmutex_t *m);
static inline void mutex_enter(kmutex_t *m) { anyk_hyp_mutex_enter(m->hm); }
static inline void mutex_exit(kmutex_t *m) { anyk_hyp_mutex_exit(m->hm); }
static inline bool mutex_tryenter(kmutex_t *m) { return anyk_hyp_mutex_tryenter(m->hm) == 0; }
void rw_init(krwlock_t *rw);
void rw_destroy(krwlock_t *rw);
static inline void rw_enter(krwlock_t *rw, int op) { anyk_hyp_rw_enter(rw->hrw, op); }
static inline bool rw_tryenter(krwlock_t *rw, int op) { return anyk_hyp_rw_tryenter(rw->hrw, op) == 0; }
static inline void rw_exit(krwlock_t *rw) { anyk_hyp_rw_exit(rw->hrw); }
void cv_init(kcondvar_t *cv);
void cv_destroy(kcondvar_t *cv);
static inline void cv_wait(kcondvar_t *cv, kmutex_t *m) { anyk_hyp_cond_wait(cv->hcv, m->hm); }
/* Wait at most timeout_ns: 0, or ETIMEDOUT. */
int cv_timedwait(kcondvar_t *cv, kmutex_t *m, int64_t timeout_ns);
static inline void cv_signal(kcondvar_t *cv) { anyk_hyp_cond_signal(cv->hcv); }
static inline void cv_broadcast(kcondvar_t *cv) { anyk_hyp_cond_broadcast(cv->hcv); }

/* --- time ----------------------------------------------------------------------- */

static inline int64_t time_mono_ns(void) { return anyk_hyp_clock_ns(ANYK_HYP_CLOCK_MONO); }
void time_real(struct anyk_timespec *ts); /* wall clock */

/* --- threads, deferred work, timers ------------------------------------------- */

/* False under ANYK_THREADS=0 or on hosts without threads: then work and
 * timers run from anyk_run_pending(), which the host calls. */
bool kthreads_enabled(void);
struct kthread;
/* ENOSYS when threads are disabled. */
int kthread_create(void (*fn)(void *), void *arg, const char *name, struct kthread **tp);
void kthread_join(struct kthread *t);

/* Deferred work: fn runs once per enqueue (enqueueing an already-queued item
 * does nothing) on a kernel worker thread; without threads, it runs at the
 * next anyk_run_pending() call. The item must stay valid until it has run or
 * work_cancel() returned. */
struct work {
	struct dlist link;
	void (*fn)(struct work *);
	int state; /* private to kern/workqueue.c */
};
void work_init(struct work *w, void (*fn)(struct work *));
void work_enqueue(struct work *w);
/* Remove w if still queued; if it is running, wait until it has finished. */
void work_cancel(struct work *w);
/* Run queued work and expired timers in the calling thread; returns count. */
int work_run_pending(void);

/* Timers: fn(arg) runs on the timer thread (or from anyk_run_pending()) once
 * delay_ns has elapsed. Rescheduling a pending callout moves it. */
struct callout {
	struct rb_node node;
	int64_t when;
	uint64_t seq;
	void (*fn)(void *);
	void *arg;
	int state; /* private to kern/callout.c */
};
void callout_init(struct callout *c, void (*fn)(void *), void *arg);
void callout_schedule(struct callout *c, int64_t delay_ns);
/* Cancel if pending; true if it was. Does not wait for a running handler. */
bool callout_stop(struct callout *c);
/* Cancel and wait for a running handler to finish. */
void callout_halt(struct callout *c);

/* --- parameters ------------------------------------------------------------------ */

/* A host parameter parsed as a size ("64m") or number; def if unset/invalid. */
uint64_t param_u64(const char *name, uint64_t def);
extern int ncpu; /* ANYK_NCPU, default 1 */

/* --- credentials and process contexts -------------------------------------------- */

/* Credentials are immutable once shared: setuid and friends make a new one
 * and swap the process's pointer under p_lock. */
struct cred {
	uint32_t cr_ref;
	anyk_uid_t cr_uid, cr_euid, cr_suid;
	anyk_gid_t cr_gid, cr_egid, cr_sgid;
	int cr_ngroups;
	anyk_gid_t cr_groups[ANYK_NGROUPS_MAX];
};
struct cred *cred_alloc(void); /* root, no groups; NULL on ENOMEM */
struct cred *cred_dup(const struct cred *c);
static inline struct cred *cred_hold(struct cred *c) { atomic_inc(&c->cr_ref); return c; }
void cred_free(struct cred *c);
bool cred_groupmember(const struct cred *c, anyk_gid_t gid); /* egid or supplementary */
static inline bool cred_is_root(const struct cred *c) { return c->cr_euid == 0; }

struct vnode;
struct filedesc;
struct proc {
	anyk_pid_t p_pid;
	uint32_t p_ref;     /* creator's reference + threads inside it */
	kmutex_t p_lock;    /* guards p_cred, p_cwd, p_root, p_umask */
	struct cred *p_cred;
	struct filedesc *p_fd; /* descriptor table (kern/descrip.c) */
	struct vnode *p_cwd;   /* referenced */
	struct vnode *p_root;  /* referenced; "/" of this process */
	anyk_mode_t p_umask;
	struct dlist p_link;   /* all processes */
};
/* The calling host thread's process: the initial one (pid 1) unless the thread
 * switched with anyk_proc_switch(). */
static inline struct proc *curproc(void)
{
	extern struct proc proc0;
	struct proc *p = anyk_hyp_curctx_get();
	return p ? p : &proc0;
}
/* A held reference to the current credentials; cred_free() it when done. */
struct cred *curcred_hold(void);
/* Take/replace pieces of process state under p_lock. */
struct vnode *proc_cwd_hold(struct proc *p);
struct vnode *proc_root_hold(struct proc *p);
void proc_set_cwd(struct proc *p, struct vnode *vp);  /* consumes a reference */
void proc_set_root(struct proc *p, struct vnode *vp); /* consumes a reference */
void proc_set_cred(struct proc *p, struct cred *c);   /* consumes a reference */

/* --- the public entry --------------------------------------------------------- */

/* The public wrappers: set the caller's errno and return -1 on error. */
static inline int sys_ret(int error)
{
	if (unlikely(error)) {
		anyk_hyp_set_errno(error);
		return -1;
	}
	return 0;
}

#endif /* ANYK_KERN_KERNEL_H */
