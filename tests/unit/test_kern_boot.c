/*
 * Boot and shutdown: anyk_init is idempotent, dmesg tells the boot story
 * (version, CPUs, memory limit, threads, root file system, components in
 * level order), anyk_fini frees every byte, init/fini cycles work, the boot
 * is fast (median of several), threadless mode runs deferred work from
 * anyk_run_pending, and a failed boot cleans up after itself.
 */
#include "../harness.h"

#include <time.h>

#include <anyk/anyk.h>

#include "kern/kernel.h"

#define CYCLES 15

/* The sanitizers slow thread creation down, TSan by far the most. */
#if defined(__SANITIZE_THREAD__)
#define BOOT_LIMIT_US 20000.0
#elif defined(__SANITIZE_ADDRESS__)
#define BOOT_LIMIT_US 5000.0
#else
#define BOOT_LIMIT_US 1000.0
#endif

static char logbuf[65536 + 1];

/* Components of the test itself, one on each side of the root mount; the
 * late one can be told to fail, to drive the failed-boot path. */
static int early_ran, late_ran, late_saw_root;
static int
test_early_init(void)
{
	early_ran++;
	return 0;
}
static int
test_late_init(void)
{
	extern struct proc proc0;

	late_ran++;
	late_saw_root = proc0.p_root != NULL && proc0.p_cwd != NULL;
	return getenv("TEST_FAIL_LATE") != NULL ? ANYK_EIO : 0;
}
ANYK_COMPONENT(zz_test_early, LEVEL_KERN, test_early_init);
ANYK_COMPONENT(aa_test_late, LEVEL_ROOT + 50, test_late_init);

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static const char *
dmesg(void)
{
	anyk_dmesg(logbuf, sizeof(logbuf));
	return logbuf;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Every "component NAME initialised (level N)" line, in log order, must be
 * ordered by level then name, and those below LEVEL_ROOT come before the
 * root file system line, the others after. */
static void
check_component_order(const char *log)
{
	const char *s = log, *rootline = strstr(log, "root file system");
	char name[64], prev[64] = "";
	int level, prevlevel = -1, n = 0, ordered = 1, placed = 1;

	while ((s = strstr(s, "] component ")) != NULL) {
		if (sscanf(s, "] component %63s initialised (level %d)", name, &level) == 2) {
			if (level < prevlevel || (level == prevlevel && strcmp(prev, name) > 0))
				ordered = 0;
			if (rootline != NULL && ((level < LEVEL_ROOT) != (s < rootline)))
				placed = 0;
			strcpy(prev, name);
			prevlevel = level;
			n++;
		}
		s++;
	}
	T_OK(n > 0, "dmesg lists %d components", n);
	T_OK(ordered, "components ran in level, then name order");
	T_OK(placed, "root mounted between levels below and above LEVEL_ROOT");
}

static void
test_boot(void)
{
	uint64_t base = kmem_inuse();
	const char *log;
	int error;

	error = anyk_init();
	T_EQ(error, 0, "anyk_init");
	if (error) {
		fputs(dmesg(), stdout);
		return;
	}
	T_EQ(anyk_init(), 0, "a second anyk_init does nothing");
	T_OK(kernel_running, "kernel_running set");
	T_OK(strcmp(anyk_version(), ANYK_VERSION) == 0, "anyk_version");
	log = dmesg();
	T_OK(strstr(log, "] anyk ") != NULL, "dmesg: version line");
	T_OK(strstr(log, "virtual CPU") != NULL, "dmesg: CPUs");
	T_OK(strstr(log, "memory limit") != NULL, "dmesg: memory limit");
	T_OK(strstr(log, "threads: on") != NULL, "dmesg: threads on");
	T_OK(strstr(log, "root file system: tmpfs") != NULL, "dmesg: root file system");
	T_OK(strstr(log, "boot took") != NULL, "dmesg: boot time");
	check_component_order(log);
	T_OK(early_ran == 1 && late_ran == 1, "the test's own components ran once each");
	T_OK(late_saw_root, "a LEVEL_ROOT component finds proc0's root and cwd set");
	T_EQ(anyk_fini(), 0, "anyk_fini");
	T_OK(!kernel_running, "kernel_running cleared");
	T_EQ(kmem_inuse(), base, "every byte freed at shutdown");
	T_OK(strstr(dmesg(), "all kernel memory freed") != NULL, "dmesg says so");
	T_EQ(anyk_fini(), 0, "anyk_fini when down does nothing");
}

static void
test_cycles(void)
{
	double t[CYCLES], t0;
	uint64_t base = kmem_inuse();
	int i, ok = 1;

	for (i = 0; i < CYCLES; i++) {
		t0 = now_us();
		ok &= anyk_init() == 0;
		t[i] = now_us() - t0;
		ok &= anyk_fini() == 0;
	}
	T_OK(ok, "%d init/fini cycles", CYCLES);
	T_EQ(kmem_inuse(), base, "no memory kept across cycles");
	qsort(t, CYCLES, sizeof(t[0]), cmp_double);
	printf("# boot time: median %.1f us, min %.1f us, max %.1f us\n",
	    t[CYCLES / 2], t[0], t[CYCLES - 1]);
	T_OK(t[CYCLES / 2] < BOOT_LIMIT_US, "median boot %.1f us < %.0f us",
	    t[CYCLES / 2], BOOT_LIMIT_US);
}

static int work_ran;
static void
note_work(struct work *w)
{
	(void)w;
	__atomic_add_fetch(&work_ran, 1, __ATOMIC_RELAXED);
}

static void
test_threadless(void)
{
	struct work w;

	setenv("ANYK_THREADS", "0", 1);
	T_EQ(anyk_init(), 0, "anyk_init with ANYK_THREADS=0");
	T_OK(strstr(dmesg(), "threads: off") != NULL, "dmesg: threads off");
	T_OK(!kthreads_enabled(), "kthreads_enabled false");
	work_init(&w, note_work);
	work_enqueue(&w);
	T_EQ(work_ran, 0, "work waits for anyk_run_pending");
	T_OK(anyk_run_pending() >= 1, "anyk_run_pending runs it");
	T_EQ(work_ran, 1, "it ran once");
	T_EQ(anyk_fini(), 0, "anyk_fini without threads");
	unsetenv("ANYK_THREADS");
	T_EQ(anyk_run_pending(), 0, "anyk_run_pending when down: nothing");
}

static void
test_params_and_failure(void)
{
	uint64_t base = kmem_inuse();

	setenv("ANYK_MEMLIMIT", "lots", 1);
	setenv("ANYK_NCPU", "2", 1);
	T_EQ(anyk_init(), 0, "boots with a bad ANYK_MEMLIMIT");
	T_OK(strstr(dmesg(), "ANYK_MEMLIMIT is not a number") != NULL, "and says so");
	T_OK(strstr(dmesg(), "2 virtual CPUs") != NULL, "ANYK_NCPU=2");
	T_OK(strstr(dmesg(), "2 workers") != NULL, "one worker per CPU");
	anyk_fini();
	unsetenv("ANYK_NCPU");
	unsetenv("ANYK_MEMLIMIT");

	setenv("TEST_FAIL_LATE", "1", 1);
	T_EQ(anyk_init(), ANYK_EIO, "a failing component fails the boot with its error");
	T_OK(strstr(dmesg(), "component aa_test_late failed") != NULL, "dmesg names the component");
	T_OK(!kernel_running, "kernel not running after it");
	T_EQ(kmem_inuse(), base, "the failed boot (root mounted) freed everything");
	unsetenv("TEST_FAIL_LATE");
	T_EQ(anyk_init(), 0, "a normal boot works after a failed one");
	T_EQ(anyk_fini(), 0, "and shuts down");
	T_EQ(kmem_inuse(), base, "memory at baseline");
}

int
main(void)
{
	unsetenv("ANYK_THREADS");
	unsetenv("ANYK_MEMLIMIT");
	test_boot();
	test_cycles();
	test_threadless();
	test_params_and_failure();
	return t_done();
}
