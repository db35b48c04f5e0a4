/*
 * One timed phase of the ext2/3/4 benchmarks, on one contender. bench/ext2.sh
 * and bench/fuse.sh drive it: they make the images, mount the anchors (the
 * Linux kernel on a loop device, fuse2fs, the anyk FUSE mount), drop the
 * host's caches before each phase and compute the ratios.
 *
 *   ext2 anyk IMAGE PHASE [ARG]   the kernel linked into this process: boot,
 *                                 attach IMAGE, mount it (not timed), run
 *                                 PHASE through anyk_sys_* (timed), unmount
 *   ext2 host DIR PHASE [ARG]     the same phase through the host's system
 *                                 calls in DIR (a loop or FUSE mount)
 *
 * PHASE is seqwrite or seqread (ARG: MiB, default 1024, in 1 MiB calls;
 * the write ends with fsync), or create, stat or unlink (ARG: files, default
 * 100,000, in 100 directories; create and unlink end with a sync of the file
 * system), or readsmall or append (the same files, each read whole, or
 * given 100 more bytes through O_APPEND, ending with a sync). It prints
 * one line, "phase=P sec=S rss_kib=K": S covers the phase
 * and its sync (for anyk also the unmount; the scripts time the anchors'
 * unmounts and add them), K is this process's peak resident set (the file
 * system's own memory only for anyk in-process; the scripts measure the FUSE
 * servers).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anyk/anyk.h>

#define NDIRS 100

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench ext2: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The system calls of one contender, so that every phase is the same code. */
struct ops {
	int (*open)(const char *, int, int);
	int (*close)(int);
	int (*stat)(const char *);
	int (*unlink)(const char *);
	int (*mkdir)(const char *, int);
	int (*rmdir)(const char *);
	long (*write)(int, const void *, size_t);
	long (*read)(int, void *, size_t);
	int (*fsync)(int);
	int (*syncfs)(const char *);
};

static int h_open(const char *p, int f, int m) { return open(p, f, m); }
static int h_stat(const char *p) { struct stat st; return stat(p, &st); }
static int h_mkdir(const char *p, int m) { return mkdir(p, (mode_t)m); }
static long h_write(int fd, const void *b, size_t n) { return write(fd, b, n); }
static long h_read(int fd, void *b, size_t n) { return read(fd, b, n); }
static int
h_syncfs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), r;

	if (fd < 0)
		return -1;
	r = syncfs(fd);
	close(fd);
	return r;
}
static const struct ops host_ops = {
	h_open, close, h_stat, unlink, h_mkdir, rmdir, h_write, h_read, fsync, h_syncfs
};

static int
a_open(const char *p, int f, int m)
{
	int af = 0;

	if ((f & O_ACCMODE) == O_WRONLY)
		af |= ANYK_O_WRONLY;
	if ((f & O_ACCMODE) == O_RDWR)
		af |= ANYK_O_RDWR;
	if (f & O_CREAT)
		af |= ANYK_O_CREAT;
	if (f & O_EXCL)
		af |= ANYK_O_EXCL;
	if (f & O_TRUNC)
		af |= ANYK_O_TRUNC;
	if (f & O_APPEND)
		af |= ANYK_O_APPEND;
	return anyk_sys_open(p, af, (anyk_mode_t)m);
}
static int a_stat(const char *p) { struct anyk_stat st; return anyk_sys_stat(p, &st); }
static int a_mkdir(const char *p, int m) { return anyk_sys_mkdir(p, (anyk_mode_t)m); }
static long a_write(int fd, const void *b, size_t n) { return anyk_sys_write(fd, b, n); }
static long a_read(int fd, void *b, size_t n) { return anyk_sys_read(fd, b, n); }
static int a_syncfs(const char *dir) { (void)dir; return anyk_sys_sync(); }
static const struct ops anyk_ops = {
	a_open, anyk_sys_close, a_stat, anyk_sys_unlink, a_mkdir, anyk_sys_rmdir,
	a_write, a_read, anyk_sys_fsync, a_syncfs
};

static double
seqwrite(const struct ops *o, const char *base, long mib)
{
	char path[512];
	size_t chunk = 1 << 20;
	char *buf = malloc(chunk);
	double t0;
	int fd;

	if (buf == NULL)
		die("malloc");
	/* Not all zeros, so no layer can take a shortcut on it. */
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (char)(i * 131 + 7);
	snprintf(path, sizeof path, "%s/big", base);
	t0 = now();
	fd = o->open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open big");
	for (long i = 0; i < mib; i++)
		if (o->write(fd, buf, chunk) != (long)chunk)
			die("write");
	if (o->fsync(fd) != 0)
		die("fsync");
	o->close(fd);
	free(buf);
	return now() - t0;
}

static double
seqread(const struct ops *o, const char *base, long mib)
{
	char path[512];
	size_t chunk = 1 << 20;
	char *buf = malloc(chunk);
	long got = 0, r;
	double t0;
	int fd;

	if (buf == NULL)
		die("malloc");
	snprintf(path, sizeof path, "%s/big", base);
	t0 = now();
	fd = o->open(path, O_RDONLY, 0);
	if (fd < 0)
		die("open big");
	while ((r = o->read(fd, buf, chunk)) > 0)
		got += r;
	if (r < 0)
		die("read");
	o->close(fd);
	if (got != mib << 20) {
		fprintf(stderr, "bench ext2: read %ld bytes, expected %ld\n", got, mib << 20);
		exit(1);
	}
	free(buf);
	return now() - t0;
}

static double
meta(const struct ops *o, const char *base, const char *phase, long nfiles)
{
	char path[512];
	long per = nfiles / NDIRS;
	double t0 = now();
	int fd;

	for (int d = 0; d < NDIRS; d++) {
		if (!strcmp(phase, "create")) {
			snprintf(path, sizeof path, "%s/d%03d", base, d);
			if (o->mkdir(path, 0755) != 0)
				die(path);
		}
		for (long i = 0; i < per; i++) {
			snprintf(path, sizeof path, "%s/d%03d/file-%06ld", base, d, i);
			if (!strcmp(phase, "create")) {
				fd = o->open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
				if (fd < 0)
					die(path);
				o->close(fd);
			} else if (!strcmp(phase, "stat")) {
				if (o->stat(path) != 0)
					die(path);
			} else if (o->unlink(path) != 0) {
				die(path);
			}
		}
		if (!strcmp(phase, "unlink")) {
			snprintf(path, sizeof path, "%s/d%03d", base, d);
			if (o->rmdir(path) != 0)
				die(path);
		}
	}
	if (strcmp(phase, "stat") != 0 && o->syncfs(base) != 0)
		die("sync");
	return now() - t0;
}

/* Every file of the meta layout read whole (readsmall), or given 100 bytes
 * more at its end (append). */
static double
small(const struct ops *o, const char *base, const char *phase, long nfiles)
{
	char path[512], buf[4096];
	long per = nfiles / NDIRS, r;
	int app = !strcmp(phase, "append"), fd;
	double t0 = now();

	memset(buf, 'a', 100);
	for (int d = 0; d < NDIRS; d++) {
		for (long i = 0; i < per; i++) {
			snprintf(path, sizeof path, "%s/d%03d/file-%06ld", base, d, i);
			fd = o->open(path, app ? O_WRONLY | O_APPEND : O_RDONLY, 0);
			if (fd < 0)
				die(path);
			if (app) {
				if (o->write(fd, buf, 100) != 100)
					die(path);
			} else {
				while ((r = o->read(fd, buf, sizeof buf)) > 0)
					;
				if (r < 0)
					die(path);
			}
			o->close(fd);
		}
	}
	if (app && o->syncfs(base) != 0)
		die("sync");
	return now() - t0;
}

static double
run(const struct ops *o, const char *base, const char *phase, long arg)
{
	if (!strcmp(phase, "seqwrite"))
		return seqwrite(o, base, arg ? arg : 1024);
	if (!strcmp(phase, "seqread"))
		return seqread(o, base, arg ? arg : 1024);
	if (!strcmp(phase, "create") || !strcmp(phase, "stat") || !strcmp(phase, "unlink"))
		return meta(o, base, phase, arg ? arg : 100000);
	if (!strcmp(phase, "readsmall") || !strcmp(phase, "append"))
		return small(o, base, phase, arg ? arg : 100000);
	fprintf(stderr, "bench ext2: unknown phase %s\n", phase);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	long arg = 0;
	double sec, t0;

	if (argc < 4 || argc > 5 || (strcmp(argv[1], "anyk") && strcmp(argv[1], "host"))) {
		/* Run bare (as bench/run.sh once did), there is nothing to set up. */
		fprintf(stderr, "usage: ext2 anyk IMAGE PHASE [ARG] | ext2 host DIR PHASE [ARG]\n"
		    "(bench/ext2.sh and bench/fuse.sh run it)\n");
		return 2;
	}
	if (argc == 5)
		arg = atol(argv[4]);
	if (arg < 0 || arg > (1L << 20))
		return 2;
	if (!strcmp(argv[1], "host")) {
		sec = run(&host_ops, argv[2], argv[3], arg);
	} else {
		const char *fstype = getenv("BENCH_FSTYPE");

		if (anyk_init() != 0)
			die("anyk_init");
		if (anyk_disk_attach("/dev/sd0", argv[2], ANYK_DISK_NOPART) != 0)
			die(argv[2]);
		if (anyk_sys_mkdir("/mnt", 0755) != 0 && errno != EEXIST)
			die("mkdir /mnt");
		if (anyk_sys_mount("/dev/sd0", "/mnt", fstype ? fstype : "ext4", 0, "") != 0)
			die("mount");
		sec = run(&anyk_ops, "/mnt", argv[3], arg);
		/* Write-back left for the unmount counts, as the scripts count
		 * the anchors' unmounts. */
		t0 = now();
		if (anyk_sys_unmount("/mnt", 0) != 0)
			die("unmount");
		if (anyk_disk_detach("/dev/sd0") != 0)
			die("detach");
		sec += now() - t0;
		anyk_fini();
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("phase=%s sec=%.3f rss_kib=%ld\n", argv[3], sec, ru.ru_maxrss);
	return 0;
}
