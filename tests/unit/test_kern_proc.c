/*
 * Process contexts and credentials through the public API: pids, switching,
 * inheritance of credentials and umask (with and without a parent), the
 * POSIX rules of setuid/setgid/setgroups/getgroups, freeing when both the
 * creator and every thread inside have let go, and the cost of getpid.
 */
#include "../harness.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <anyk/anyk.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GETPID_LIMIT_NS 1000.0
#else
#define GETPID_LIMIT_NS 50.0
#endif

static uint64_t
memstat_bytes(const char *name)
{
	struct anyk_memstat_entry e[64];
	int n = anyk_memstats(e, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (strcmp(e[i].name, name) == 0)
			return e[i].bytes;
	return 0;
}

static void
test_initial(void)
{
	T_EQ(anyk_sys_getpid(), 1, "initial context is pid 1");
	T_EQ(anyk_sys_getuid(), 0, "uid 0");
	T_EQ(anyk_sys_geteuid(), 0, "euid 0");
	T_EQ(anyk_sys_getgid(), 0, "gid 0");
	T_EQ(anyk_sys_getegid(), 0, "egid 0");
	T_EQ(anyk_sys_getgroups(0, NULL), 0, "no supplementary groups");
	T_EQ(anyk_sys_umask(022), 022, "umask 022");
	T_OK(anyk_proc_current() != NULL, "anyk_proc_current");
	errno = 0;
	T_OK(anyk_proc_create(NULL, 0x100) == NULL && errno == EINVAL, "unknown flags: EINVAL");
}

static void
test_identity(void)
{
	uint64_t procbytes = memstat_bytes("proc"), credbytes = memstat_bytes("cred");
	struct anyk_proc *p, *c, *initial = anyk_proc_current(), *old;
	anyk_gid_t groups[ANYK_NGROUPS_MAX + 1] = { 5, 6 }, got[4];
	anyk_pid_t ppid;

	p = anyk_proc_create(NULL, 0);
	T_OK(p != NULL, "create a context without parent");
	if (p == NULL)
		return;
	old = anyk_proc_switch(p);
	T_OK(old == initial, "switch returns the previous context");
	T_OK(anyk_proc_current() == p, "now in the new context");
	ppid = anyk_sys_getpid();
	T_OK(ppid > 1, "it has a pid of its own (%d)", (int)ppid);
	T_EQ(anyk_sys_umask(077), 022, "fresh context: umask 022");
	T_EQ(anyk_sys_umask(01777), 077, "umask returns the old mask");
	T_EQ(anyk_sys_umask(077), 0777, "umask keeps only the permission bits");

	T_EQ(anyk_sys_setgroups(2, groups), 0, "root may setgroups");
	T_EQ(anyk_sys_getgroups(0, NULL), 2, "getgroups(0) counts");
	errno = 0;
	T_OK(anyk_sys_getgroups(1, got) == -1 && errno == EINVAL, "getgroups: too small: EINVAL");
	T_OK(anyk_sys_getgroups(4, got) == 2 && got[0] == 5 && got[1] == 6, "getgroups copies");
	errno = 0;
	T_OK(anyk_sys_setgroups(ANYK_NGROUPS_MAX + 1, groups) == -1 && errno == EINVAL,
	    "setgroups: too many: EINVAL");
	T_EQ(anyk_sys_setgid(100), 0, "root may setgid");
	T_OK(anyk_sys_getgid() == 100 && anyk_sys_getegid() == 100, "gid and egid set");
	T_EQ(anyk_sys_setuid(1000), 0, "root may setuid");
	T_OK(anyk_sys_getuid() == 1000 && anyk_sys_geteuid() == 1000, "uid and euid set");
	errno = 0;
	T_OK(anyk_sys_setuid(0) == -1 && errno == EPERM, "no way back to root: EPERM");
	T_EQ(anyk_sys_setuid(1000), 0, "setuid to the own uid is allowed");
	errno = 0;
	T_OK(anyk_sys_setgid(5) == -1 && errno == EPERM, "setgid to another group: EPERM");
	T_EQ(anyk_sys_setgid(100), 0, "setgid to the own gid is allowed");
	errno = 0;
	T_OK(anyk_sys_setgroups(1, groups) == -1 && errno == EPERM, "setgroups as non-root: EPERM");
	errno = 0;
	T_OK(anyk_sys_setuid((anyk_uid_t)-1) == -1 && errno == EINVAL, "setuid(-1): EINVAL");

	c = anyk_proc_create(p, ANYK_PROC_EXEC);
	T_OK(c != NULL, "create a child of it");
	if (c != NULL) {
		anyk_proc_switch(c);
		T_OK(anyk_sys_getpid() != ppid && anyk_sys_getpid() > 1, "child has another pid");
		T_EQ(anyk_sys_getuid(), 1000, "child inherits the uid");
		T_EQ(anyk_sys_getgroups(0, NULL), 2, "and the groups");
		T_EQ(anyk_sys_umask(0), 077, "and the umask");
		anyk_proc_switch(p);
		T_EQ(anyk_sys_umask(077), 077, "parent's umask untouched by the child");
		anyk_proc_release(c);
	}

	anyk_proc_switch(NULL);
	T_EQ(anyk_sys_getpid(), 1, "back in the initial context");
	T_EQ(anyk_sys_getuid(), 0, "as root");
	T_EQ(anyk_sys_umask(022), 022, "with its own umask");
	anyk_proc_release(p);
	T_EQ(memstat_bytes("proc"), procbytes, "released contexts are freed");
	T_EQ(memstat_bytes("cred"), credbytes, "and their credentials");
}

static pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void
set_stage(int s)
{
	pthread_mutex_lock(&mx);
	stage = s;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mx);
}

static void
wait_stage(int s)
{
	pthread_mutex_lock(&mx);
	while (stage < s)
		pthread_cond_wait(&cv, &mx);
	pthread_mutex_unlock(&mx);
}

static void *
inside(void *arg)
{
	anyk_proc_switch(arg);
	set_stage(1);
	wait_stage(2);
	anyk_proc_switch(NULL);
	return NULL;
}

static void
test_thread_inside(void)
{
	uint64_t procbytes = memstat_bytes("proc");
	struct anyk_proc *p = anyk_proc_create(NULL, 0);
	pthread_t t;

	T_OK(p != NULL, "create a context for a thread");
	if (p == NULL)
		return;
	stage = 0;
	pthread_create(&t, NULL, inside, p);
	wait_stage(1);
	anyk_proc_release(p);
	T_OK(memstat_bytes("proc") > procbytes, "released while a thread is inside: still there");
	set_stage(2);
	pthread_join(t, NULL);
	T_EQ(memstat_bytes("proc"), procbytes, "freed when the last thread leaves");
}

static void
test_getpid_cost(void)
{
	struct timespec a, b;
	const int n = 10000000;
	volatile anyk_pid_t sink = 0;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		sink += anyk_sys_getpid();
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
	printf("# anyk_sys_getpid: %.2f ns per call (pid sum %d)\n", ns, (int)sink);
	T_OK(ns < GETPID_LIMIT_NS, "getpid costs nanoseconds (%.2f ns)", ns);
}

static void
test_after_fini(void)
{
	struct anyk_proc *p = anyk_proc_create(NULL, 0), *q;

	T_OK(p != NULL, "a context left unreleased at shutdown");
	anyk_proc_switch(p);
	T_EQ(anyk_fini(), 0, "anyk_fini with a context still in use");
	T_EQ(anyk_sys_getpid(), 1, "the calling thread was moved to the initial context");
	errno = 0;
	q = anyk_proc_create(NULL, 0);
	T_OK(q == NULL && errno == ENXIO, "no contexts while the kernel is down");
	anyk_proc_release(p); /* late, but safe */
	T_EQ(anyk_init(), 0, "boot again");
	T_EQ(memstat_bytes("proc"), 0, "nothing of the old context left");
	T_EQ(anyk_fini(), 0, "shut down");
}

int
main(void)
{
	int error = anyk_init();

	T_EQ(error, 0, "anyk_init");
	if (error)
		return t_done();
	test_initial();
	test_identity();
	test_thread_inside();
	test_getpid_cost();
	test_after_fini();
	return t_done();
}
