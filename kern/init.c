/*
 * Boot and shutdown of the kernel: anyk_init() brings up the core services
 * (parameters, memory, log, threads, timers, proc0), runs the linked
 * components in level order, mounts the root tmpfs between the levels below
 * LEVEL_ROOT and those at or above it; anyk_fini() takes it all down again
 * so that a program can boot a fresh kernel afterwards.
 */
#include <limits.h>

#include "anyk/anyk.h"

#include "kern/kernel.h"
#include "kern/init.h"
#include "vfs/vfs.h"

#ifndef ANYK_VERSION
#define ANYK_VERSION "unknown"
#endif

enum { K_DOWN, K_BUSY, K_UP };

volatile int kernel_running;
static int kernel_state = K_DOWN;
static bool root_mounted;

/* Undo whatever part of the boot happened; the steps check themselves. */
static int
kern_shutdown(void)
{
	int error = 0, e;

	if (root_mounted) {
		e = vfs_sync_all(true);
		if (e)
			klog(LOG_WARN, "shutdown: sync failed (error %d)", e);
	}
	/* Processes let go of their files, file systems let go of their
	 * devices, then the devices' hooks run while "/" still exists. */
	procs_teardown();
	if (root_mounted) {
		e = vfs_unmount_all(true);
		if (e)
			klog(LOG_WARN, "shutdown: unmount failed (error %d)", e);
	}
	shutdown_hooks_run();
	if (root_mounted) {
		error = vfs_unmount_all(false);
		if (error)
			klog(LOG_ERR, "shutdown: unmount failed (error %d)", error);
		root_mounted = false;
	}
	/* Timers first: their handlers may queue work, which is drained. */
	callout_stop_thread();
	workqueue_stop();
	callout_fini();
	workqueue_fini();
	proc0_fini();
	kthreads_configure(false);
	if (kmem_report_leaks() != 0)
		klog(LOG_WARN, "shutdown: %llu bytes of kernel memory leaked",
		    (unsigned long long)kmem_inuse());
	else
		klog(LOG_INFO, "shutdown: all kernel memory freed");
	anyk_hyp_fini();
	return error;
}

static int
kern_threads_start(void)
{
	int error;

	if (param_u64("ANYK_THREADS", 1) == 0) {
		kthreads_configure(false);
		return 0;
	}
	kthreads_configure(true);
	error = callout_start();
	if (error == ENOSYS) {
		/* The host has no threads: run deferred work from the loop. */
		kthreads_configure(false);
		return 0;
	}
	if (error)
		return error;
	return workqueue_start(ncpu);
}

static int
kern_boot(void)
{
	struct vnode *rootvp;
	uint64_t limit;
	int64_t t0;
	int error;

	t0 = time_mono_ns();
	log_init(t0);
	param_init();
	kmem_init();
	klog(LOG_INFO, "anyk %s", ANYK_VERSION);
	klog(LOG_INFO, "%d virtual CPU%s", ncpu, ncpu == 1 ? "" : "s");
	limit = kmem_limit();
	if (limit != 0)
		klog(LOG_INFO, "memory limit: %llu KiB", (unsigned long long)(limit / 1024));
	else
		klog(LOG_INFO, "memory limit: none");
	shutdown_hooks_init();
	workqueue_init();
	callout_subsys_init();
	error = kern_threads_start();
	if (error) {
		klog(LOG_ERR, "boot: cannot start kernel threads (error %d)", error);
		return error;
	}
	if (kthreads_enabled())
		klog(LOG_INFO, "threads: on (%d worker%s and a timer thread)",
		    workqueue_nworkers(), workqueue_nworkers() == 1 ? "" : "s");
	else
		klog(LOG_INFO, "threads: off (deferred work runs from anyk_run_pending)");
	error = proc0_init();
	if (error)
		return error;
	error = components_run(INT_MIN, LEVEL_ROOT);
	if (error)
		return error;
	error = vfs_mount(NULL, "tmpfs", "tmpfs", 0, NULL, "/");
	if (error) {
		klog(LOG_ERR, "boot: cannot mount the root tmpfs (error %d)", error);
		return error;
	}
	root_mounted = true;
	rootvp = vfs_rootvnode();
	if (rootvp == NULL)
		return ENOENT;
	error = proc0_set_root(rootvp);
	if (error)
		return error;
	klog(LOG_INFO, "root file system: tmpfs");
	error = components_run(LEVEL_ROOT, INT_MAX);
	if (error)
		return error;
	klog(LOG_INFO, "boot took %lld us", (long long)((time_mono_ns() - t0) / 1000));
	return 0;
}

ANYK_API int
anyk_init(void)
{
	int state = K_DOWN;
	int error;

	if (!atomic_cas(&kernel_state, &state, K_BUSY)) {
		if (state == K_UP)
			return 0;
		/* Another thread is booting or stopping the kernel. */
		anyk_hyp_set_errno(EBUSY);
		return EBUSY;
	}
	error = anyk_hyp_init(ANYK_HYP_VERSION);
	if (error) {
		atomic_store_release(&kernel_state, K_DOWN);
		anyk_hyp_set_errno(error);
		return error;
	}
	error = kern_boot();
	if (error) {
		klog(LOG_ERR, "boot failed (error %d)", error);
		kern_shutdown();
		atomic_store_release(&kernel_state, K_DOWN);
		anyk_hyp_set_errno(error);
		return error;
	}
	atomic_store_release(&kernel_running, 1);
	atomic_store_release(&kernel_state, K_UP);
	return 0;
}

ANYK_API int
anyk_fini(void)
{
	int state = K_UP;
	int error;

	if (!atomic_cas(&kernel_state, &state, K_BUSY)) {
		if (state == K_DOWN)
			return 0;
		anyk_hyp_set_errno(EBUSY);
		return EBUSY;
	}
	atomic_store_release(&kernel_running, 0);
	/* The calling thread leaves its process, or the process stays held. */
	anyk_proc_switch(NULL);
	error = kern_shutdown();
	atomic_store_release(&kernel_state, K_DOWN);
	if (error)
		anyk_hyp_set_errno(error);
	return error;
}

ANYK_API int
anyk_run_pending(void)
{
	if (atomic_load_acquire(&kernel_state) != K_UP)
		return 0;
	return work_run_pending();
}

ANYK_API const char *
anyk_version(void)
{
	return ANYK_VERSION;
}
