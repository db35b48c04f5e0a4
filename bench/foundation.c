/*
 * Foundation benchmarks: anyk and its anchor measured side by side in one
 * run, reported as ratios (anchor time / anyk time: above 1 means anyk is
 * faster).
 *
 *   boot      anyk_init() latency and resident memory it adds, in fresh
 *             processes (median of several)
 *   nullcall  anyk_sys_getpid() vs the host's getpid system call
 *   meta      create+stat+unlink of 100,000 files: anyk tmpfs vs Linux
 *             tmpfs (/dev/shm) through system calls
 *   seqio     sequential 1 GiB write then read in 1 MiB calls: anyk tmpfs
 *             vs Linux tmpfs, best of three rounds (each writes, reads
 *             and deletes its file); the first round's write is shown
 *             too, as the one where neither side reuses freed memory
 *
 * Usage: foundation [boot|nullcall|meta|seqio|all] [--quick]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <anyk/anyk.h>

static int quick;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void die(const char *what)
{
	fprintf(stderr, "foundation: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* --- boot ------------------------------------------------------------------ */

static void bench_boot(void)
{
	enum { RUNS = 15 };
	double us[RUNS], kib[RUNS];
	for (int i = 0; i < RUNS; i++) {
		int fds[2];
		if (pipe(fds) != 0)
			die("pipe");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			long before = rss_kib();
			double t0 = now();
			int err = anyk_init();
			double t1 = now();
			long after = rss_kib();
			double r[2] = { (t1 - t0) * 1e6, (double)(after - before) };
			if (err)
				r[0] = -1;
			if (write(fds[1], r, sizeof r) != sizeof r)
				_exit(1);
			_exit(0);
		}
		double r[2] = { -1, 0 };
		if (read(fds[0], r, sizeof r) != sizeof r)
			r[0] = -1;
		waitpid(pid, NULL, 0);
		close(fds[0]);
		close(fds[1]);
		if (r[0] < 0) {
			fprintf(stderr, "foundation: anyk_init failed in child\n");
			exit(1);
		}
		us[i] = r[0];
		kib[i] = r[1];
	}
	qsort(us, RUNS, sizeof us[0], cmp_double);
	qsort(kib, RUNS, sizeof kib[0], cmp_double);
	printf("boot: anyk_init median %.1f us (min %.1f, max %.1f) | target < 1000 us | ratio to target %.1fx\n",
	       us[RUNS / 2], us[0], us[RUNS - 1], 1000.0 / us[RUNS / 2]);
	printf("boot: resident memory added by anyk_init median %.0f KiB | target < 2048 KiB\n", kib[RUNS / 2]);
}

/* --- null system call ----------------------------------------------------- */

static void bench_nullcall(void)
{
	long n = quick ? 2000000 : 20000000;
	if (anyk_init() != 0)
		die("anyk_init");
	volatile long sink = 0;
	double t0 = now();
	for (long i = 0; i < n; i++)
		sink += anyk_sys_getpid();
	double t1 = now();
	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getpid);
	double t2 = now();
	double a = (t1 - t0) / n * 1e9, h = (t2 - t1) / n * 1e9;
	printf("nullcall: anyk_sys_getpid %.2f ns | host getpid syscall %.2f ns | ratio %.1fx\n", a, h, h / a);
	anyk_fini();
}

/* --- metadata: create + stat + unlink --------------------------------------- */

struct ops {
	int (*open)(const char *, int, int);
	int (*close)(int);
	int (*stat)(const char *, void *);
	int (*unlink)(const char *);
	int (*mkdir)(const char *, int);
	int (*rmdir)(const char *);
	long (*write)(int, const void *, size_t);
	long (*read)(int, void *, size_t);
};

static int h_open(const char *p, int f, int m) { return open(p, f, m); }
static int h_stat(const char *p, void *st) { return stat(p, st); }
static int h_mkdir(const char *p, int m) { return mkdir(p, (mode_t)m); }
static long h_write(int fd, const void *b, size_t n) { return write(fd, b, n); }
static long h_read(int fd, void *b, size_t n) { return read(fd, b, n); }
static const struct ops host_ops = { h_open, close, h_stat, unlink, h_mkdir, rmdir, h_write, h_read };

static int a_open(const char *p, int f, int m)
{
	int af = 0;
	if ((f & O_ACCMODE) == O_WRONLY) af |= ANYK_O_WRONLY;
	if ((f & O_ACCMODE) == O_RDWR) af |= ANYK_O_RDWR;
	if (f & O_CREAT) af |= ANYK_O_CREAT;
	if (f & O_EXCL) af |= ANYK_O_EXCL;
	if (f & O_TRUNC) af |= ANYK_O_TRUNC;
	return anyk_sys_open(p, af, (anyk_mode_t)m);
}
static int a_stat(const char *p, void *st) { return anyk_sys_stat(p, st); }
static int a_mkdir(const char *p, int m) { return anyk_sys_mkdir(p, (anyk_mode_t)m); }
static long a_write(int fd, const void *b, size_t n) { return anyk_sys_write(fd, b, n); }
static long a_read(int fd, void *b, size_t n) { return anyk_sys_read(fd, b, n); }
static const struct ops anyk_ops = { a_open, anyk_sys_close, a_stat, anyk_sys_unlink, a_mkdir, anyk_sys_rmdir, a_write, a_read };

/* 100 directories of 1,000 files each: create (open O_CREAT + close), stat,
 * unlink. Returns seconds. */
static double meta_run(const struct ops *o, const char *base, int nfiles)
{
	char path[512];
	union {
		struct stat h;
		struct anyk_stat a;
	} st;
	int ndirs = 100, per = nfiles / ndirs;
	double t0 = now();
	for (int d = 0; d < ndirs; d++) {
		snprintf(path, sizeof path, "%s/d%03d", base, d);
		if (o->mkdir(path, 0755) != 0)
			die("mkdir");
		for (int i = 0; i < per; i++) {
			snprintf(path, sizeof path, "%s/d%03d/file-%06d", base, d, i);
			int fd = o->open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0)
				die("create");
			o->close(fd);
		}
	}
	for (int d = 0; d < ndirs; d++)
		for (int i = 0; i < per; i++) {
			snprintf(path, sizeof path, "%s/d%03d/file-%06d", base, d, i);
			if (o->stat(path, &st) != 0)
				die("stat");
		}
	for (int d = 0; d < ndirs; d++) {
		for (int i = 0; i < per; i++) {
			snprintf(path, sizeof path, "%s/d%03d/file-%06d", base, d, i);
			if (o->unlink(path) != 0)
				die("unlink");
		}
		snprintf(path, sizeof path, "%s/d%03d", base, d);
		if (o->rmdir(path) != 0)
			die("rmdir");
	}
	return now() - t0;
}

static char host_dir[256];

static void make_host_dir(void)
{
	snprintf(host_dir, sizeof host_dir, "/dev/shm/anyk-bench-%d", (int)getpid());
	if (mkdir(host_dir, 0755) != 0)
		die(host_dir);
}

static void bench_meta(void)
{
	int n = quick ? 10000 : 100000;
	if (anyk_init() != 0)
		die("anyk_init");
	make_host_dir();
	anyk_sys_mkdir("/bench", 0755);
	double best_a = 1e9, best_h = 1e9;
	for (int r = 0; r < 3; r++) {
		double a = meta_run(&anyk_ops, "/bench", n);
		double h = meta_run(&host_ops, host_dir, n);
		if (a < best_a) best_a = a;
		if (h < best_h) best_h = h;
	}
	rmdir(host_dir);
	printf("meta: %d files create+stat+unlink: anyk tmpfs %.3f s | Linux tmpfs %.3f s | ratio %.2fx (target >= 2x)\n",
	       n, best_a, best_h, best_h / best_a);
	anyk_fini();
}

/* --- sequential I/O ------------------------------------------------------------ */

static void seq_run(const struct ops *o, const char *path, long total, double *wsec, double *rsec)
{
	size_t chunk = 1 << 20;
	char *buf = malloc(chunk);
	if (!buf)
		die("malloc");
	memset(buf, 0x5a, chunk);
	int fd = o->open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	double t0 = now();
	for (long done = 0; done < total; done += (long)chunk)
		if (o->write(fd, buf, chunk) != (long)chunk)
			die("write");
	double t1 = now();
	o->close(fd);
	fd = o->open(path, O_RDONLY, 0);
	if (fd < 0)
		die("open");
	double t2 = now();
	long got = 0, r;
	while ((r = o->read(fd, buf, chunk)) > 0)
		got += r;
	double t3 = now();
	if (got != total)
		die("short read");
	o->close(fd);
	o->unlink(path);
	free(buf);
	*wsec = t1 - t0;
	*rsec = t3 - t2;
}

static void bench_seqio(void)
{
	long total = quick ? (128L << 20) : (1L << 30);
	if (anyk_init() != 0)
		die("anyk_init");
	make_host_dir();
	char hpath[300];
	snprintf(hpath, sizeof hpath, "%s/big", host_dir);
	double aw = 1e9, ar = 1e9, hw = 1e9, hr = 1e9, aw1 = 0, hw1 = 0;
	for (int i = 0; i < 3; i++) {
		double w, r;
		seq_run(&anyk_ops, "/big", total, &w, &r);
		if (i == 0) aw1 = w;
		if (w < aw) aw = w;
		if (r < ar) ar = r;
		seq_run(&host_ops, hpath, total, &w, &r);
		if (i == 0) hw1 = w;
		if (w < hw) hw = w;
		if (r < hr) hr = r;
	}
	rmdir(host_dir);
	double mib = total / 1048576.0;
	printf("seqio: %.0f MiB write: anyk %.0f MiB/s | Linux tmpfs %.0f MiB/s | ratio %.2fx (target >= 1x)\n",
	       mib, mib / aw, mib / hw, hw / aw);
	/* The first round: memory neither has used before in this run (the
	 * best round may reuse what the previous round freed). */
	printf("seqio: %.0f MiB write, first round: anyk %.0f MiB/s | Linux tmpfs %.0f MiB/s | ratio %.2fx\n",
	       mib, mib / aw1, mib / hw1, hw1 / aw1);
	printf("seqio: %.0f MiB read:  anyk %.0f MiB/s | Linux tmpfs %.0f MiB/s | ratio %.2fx (target >= 1x)\n",
	       mib, mib / ar, mib / hr, hr / ar);
	anyk_fini();
}

int main(int argc, char **argv)
{
	const char *which = "all";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else
			which = argv[i];
	}
	int all = !strcmp(which, "all");
	if (all || !strcmp(which, "boot"))
		bench_boot();
	if (all || !strcmp(which, "nullcall"))
		bench_nullcall();
	if (all || !strcmp(which, "meta"))
		bench_meta();
	if (all || !strcmp(which, "seqio"))
		bench_seqio();
	return 0;
}
