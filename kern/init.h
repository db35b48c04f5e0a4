/*
 * Bootstrap steps of the kernel core, shared between kern/init.c, the files
 * that implement each step and their unit tests. Nothing outside kern/
 * needs these: drivers use kernel.h and register as components.
 */
#ifndef ANYK_KERN_INIT_H
#define ANYK_KERN_INIT_H

#include "kern/kernel.h"

/* kern/param.c: read ncpu and the other boot parameters. */
void param_init(void);

/* kern/log.c */
void log_init(int64_t boot_ns);	/* new boot: empty log, clock origin, lock */
void log_set_verbose(int level);

/* kern/kmem.c: (re)read ANYK_MEMLIMIT; counters keep running. */
void kmem_init(void);
/* Report types still holding memory in dmesg; returns bytes still in use. */
uint64_t kmem_report_leaks(void);

/* kern/component.c */
/* Run linked components with minlevel <= level < maxlevel, in order. */
int components_run(int minlevel, int maxlevel);
/* Run the shutdown hooks in reverse order of registration and forget them. */
void shutdown_hooks_run(void);
void shutdown_hooks_init(void);

/* kern/kthread.c, kern/workqueue.c, kern/callout.c */
void kthreads_configure(bool enabled);
void workqueue_init(void);
int workqueue_start(int nworkers);	/* 0 workers: threadless */
void workqueue_stop(void);	/* joins the workers, then drains the queue */
void workqueue_fini(void);
int workqueue_nworkers(void);
void callout_subsys_init(void);
int callout_start(void);	/* the timer thread */
void callout_stop_thread(void);
void callout_fini(void);	/* drops timers still pending */
int callout_run_expired(void);

/* kern/proc.c */
int proc0_init(void);			/* pid 1, root credentials */
int proc0_set_root(struct vnode *vp);	/* cwd and root; consumes vp's reference */
void procs_teardown(void);		/* before unmount: drop vnodes, descriptors */
void proc0_fini(void);			/* last: credentials and locks */

#endif /* ANYK_KERN_INIT_H */
