/*
 * Crash-consistency harness: a tool over the disk record logs that the
 * POSIX host writes under ANYK_DISK_RECORD, and, run without arguments, the
 * test that proves the recorder and the rebuilt images on a raw block device.
 *
 *   crash_harness info LOG
 *   crash_harness flushes LOG [--file IMG]        cut after each barrier, one a line
 *   crash_harness sample LOG K SEED [--file IMG]  "N flush|mid|end": every barrier
 *                                                 cut, K cuts between, the whole log
 *   crash_harness cut BASE LOG N OUT [--torn SEED] [--reorder SEED] [--file IMG]
 *   crash_harness workload IMG LOG MANIFEST FSTYPE
 *   crash_harness verify IMG MANIFEST N FSTYPE [--ro]
 *
 * A cut N is the image after the first N records of the log (record numbers
 * are the sequence numbers, from 0). "workload" runs a small file workload
 * through the kernel on IMG with recording on, and writes to MANIFEST, for
 * each file it fsync'ed, the cut from which the file must be intact: the
 * log on disk reaches every barrier, so after fsync returns the last
 * barrier in the log covers it. "verify" mounts a rebuilt image with anyk
 * (read-write: a journal is replayed; the unmount leaves it clean for
 * e2fsck) and checks every file of MANIFEST whose cut is <= N.
 */
#include "tests/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <anyk/anyk.h>

#include "tests/integration/crash_log.h"

static const char *self;

static void
usage(void)
{
	fprintf(stderr,
		"usage: crash_harness info LOG\n"
		"       crash_harness flushes LOG [--file IMG]\n"
		"       crash_harness sample LOG K SEED [--file IMG]\n"
		"       crash_harness cut BASE LOG N OUT [--torn SEED] [--reorder SEED] [--file IMG]\n"
		"       crash_harness workload IMG LOG MANIFEST FSTYPE\n"
		"       crash_harness verify IMG MANIFEST N FSTYPE [--ro]\n");
	exit(2);
}

static uint64_t
num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || s[0] == '-' || s[0] == '\0') {
		fprintf(stderr, "crash_harness: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

/* Options after the positional arguments. */
struct opts {
	const char *file;
	struct clog_cut cut;
	bool ro;
};

static void
parse_opts(int argc, char **argv, int first, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
			o->file = argv[++i];
		} else if (strcmp(argv[i], "--torn") == 0 && i + 1 < argc) {
			o->cut.torn = true;
			o->cut.torn_seed = num(argv[++i]);
		} else if (strcmp(argv[i], "--reorder") == 0 && i + 1 < argc) {
			o->cut.reorder = true;
			o->cut.reorder_seed = num(argv[++i]);
		} else if (strcmp(argv[i], "--ro") == 0) {
			o->ro = true;
		} else {
			usage();
		}
	}
}

static void
load_or_die(const char *path, const char *file, struct clog *lg)
{
	if (clog_load(path, lg) != 0) {
		fprintf(stderr, "crash_harness: %s: %s\n", path, lg->bad ? lg->bad : strerror(errno));
		exit(1);
	}
	if (lg->bad != NULL)
		fprintf(stderr, "crash_harness: %s: read %zu records, then: %s\n", path, lg->n, lg->bad);
	if (clog_select(lg, file) != 0)
		exit(1);
}

/* --- the tool --------------------------------------------------------- */

static int
cmd_info(const char *log)
{
	struct clog lg;
	size_t i, w = 0, f = 0, z = 0;
	uint64_t bytes = 0;
	char path[4096];

	if (clog_load(log, &lg) != 0) {
		fprintf(stderr, "crash_harness: %s: %s\n", log, lg.bad ? lg.bad : strerror(errno));
		return 1;
	}
	for (i = 0; i < lg.n; i++) {
		w += lg.r[i].type == CLOG_WRITE;
		f += lg.r[i].type == CLOG_FLUSH;
		z += lg.r[i].type == CLOG_SIZE;
		if (lg.r[i].type == CLOG_WRITE)
			bytes += lg.r[i].len;
	}
	printf("records %zu\nwrites %zu (%llu bytes)\nflushes %zu\nresizes %zu\n", lg.n, w,
	       (unsigned long long)bytes, f, z);
	for (uint32_t id = 1; id <= lg.nids; id++)
		printf("file %u %s\n", id, clog_path(&lg, id, path, sizeof(path)));
	if (lg.bad != NULL)
		printf("tail %s\n", lg.bad);
	clog_free(&lg);
	return 0;
}

static int
cmd_flushes(const char *log, const struct opts *o)
{
	struct clog lg;

	load_or_die(log, o->file, &lg);
	for (size_t i = 0; i < lg.n; i++)
		if (clog_is(&lg, i, CLOG_FLUSH))
			printf("%zu\n", i + 1);
	clog_free(&lg);
	return 0;
}

static int
cmd_sample(const char *log, uint64_t k, uint64_t seed, const struct opts *o)
{
	struct clog lg;
	size_t i, nc = 0;
	size_t *cand;
	char *kind;

	load_or_die(log, o->file, &lg);
	kind = calloc(lg.n + 1, 1);
	cand = calloc(lg.n + 1, sizeof(*cand));
	if (kind == NULL || cand == NULL) {
		perror("crash_harness");
		return 1;
	}
	kind[0] = 'f'; /* nothing written yet is a state too */
	for (i = 0; i < lg.n; i++) {
		if (clog_is(&lg, i, CLOG_FLUSH))
			kind[i + 1] = 'f';
		else if (clog_is(&lg, i, CLOG_WRITE))
			cand[nc++] = i + 1; /* a cut right after a write */
	}
	/* K distinct cuts between barriers: a partial shuffle. */
	for (i = 0; i < nc && i < k; i++) {
		size_t j = i + (size_t)(clog_rand(&seed) % (nc - i)), t = cand[i];

		cand[i] = cand[j];
		cand[j] = t;
		if (kind[cand[i]] == 0)
			kind[cand[i]] = 'm';
	}
	if (kind[lg.n] == 0)
		kind[lg.n] = 'e';
	for (i = 0; i <= lg.n; i++)
		if (kind[i] != 0)
			printf("%zu %s\n", i, kind[i] == 'f' ? "flush" : kind[i] == 'm' ? "mid" : "end");
	free(kind);
	free(cand);
	clog_free(&lg);
	return 0;
}

static int
cmd_cut(const char *base, const char *log, uint64_t n, const char *out, const struct opts *o)
{
	struct clog lg;
	struct clog_cutinfo info;

	load_or_die(log, o->file, &lg);
	if (n > lg.n) {
		fprintf(stderr, "crash_harness: cut %llu is past the log's %zu records\n",
			(unsigned long long)n, lg.n);
		return 1;
	}
	if (clog_build(&lg, base, (size_t)n, out, &o->cut, &info) != 0) {
		fprintf(stderr, "crash_harness: cannot build %s: %s\n", out, strerror(errno));
		return 1;
	}
	printf("cut %llu: %zu unflushed writes landed, %zu lost", (unsigned long long)n, info.applied,
	       info.dropped);
	if (info.torn_rec >= 0) {
		size_t kept = 0;

		for (size_t s = 0; s < info.torn_nsect; s++)
			kept += info.torn_keep[s];
		printf(", record %ld torn (%zu of %zu sectors)", info.torn_rec, kept, info.torn_nsect);
	}
	printf("\n");
	free(info.torn_keep);
	clog_free(&lg);
	return 0;
}

/* --- the file workload --------------------------------------------------- */

static uint32_t
crc_of(const void *p, size_t n)
{
	return clog_crc(0, p, n);
}

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i % 8 == 0 ? clog_rand(&s) : (uint64_t)i * 131 + seed);
}

static bool
must(bool ok, const char *what)
{
	if (!ok)
		printf("not ok - workload: %s (errno %d)\n", what, errno);
	return ok;
}

/* The cut that covers everything made durable so far: after the last
 * barrier in the log on disk. */
static size_t
barrier_cut(const char *log)
{
	struct clog lg;
	long b;

	if (clog_load(log, &lg) != 0)
		return (size_t)-1;
	if (clog_select(&lg, NULL) != 0) {
		clog_free(&lg);
		return (size_t)-1;
	}
	b = clog_last_flush(&lg, lg.n);
	clog_free(&lg);
	return (size_t)(b + 1);
}

static int
write_file(const char *path, const unsigned char *p, size_t n, bool sync)
{
	int fd, dfd, rc = 0;
	char dir[256], *slash;

	fd = anyk_sys_open(path, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	if (anyk_sys_write(fd, p, n) != (anyk_ssize_t)n)
		rc = -1;
	if (rc == 0 && sync && anyk_sys_fsync(fd) != 0)
		rc = -1;
	anyk_sys_close(fd);
	if (rc != 0 || !sync)
		return rc;
	/* The entry too: POSIX promises it only after the directory's fsync. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	dfd = anyk_sys_open(dir, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	if (dfd < 0)
		return -1;
	rc = anyk_sys_fsync(dfd);
	anyk_sys_close(dfd);
	return rc;
}

static int
cmd_workload(const char *img, const char *log, const char *manifest, const char *fstype)
{
	static const size_t sizes[] = { 300, 4096, 5000, 20000, 70000, 1, 9000, 131072 };
	static unsigned char buf[131072];
	char dm[8192], path[256], to[256], *line;
	FILE *mf;
	int i, ok = 1;

	mf = fopen(manifest, "w");
	if (mf == NULL) {
		perror(manifest);
		return 1;
	}
	setenv("ANYK_DISK_RECORD", log, 1);
	if (!must(anyk_init() == 0, "boot") || !must(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt") ||
	    !must(anyk_disk_attach("/dev/sd0", img, 0) == 0, "attach") ||
	    !must(anyk_sys_mount("/dev/sd0", "/mnt", fstype, 0, NULL) == 0, "mount read-write"))
		return 1;
	/* What the driver says about its journal, for the scripts to read. */
	anyk_dmesg(dm, sizeof(dm));
	for (line = strtok(dm, "\n"); line != NULL; line = strtok(NULL, "\n"))
		if (strstr(line, "ext2") != NULL || strstr(line, "journal") != NULL)
			printf("# dmesg: %s\n", line);
	for (i = 0; i < 3 && ok; i++) {
		snprintf(path, sizeof(path), "/mnt/d%d", i);
		ok = must(anyk_sys_mkdir(path, 0755) == 0, "mkdir");
	}
	/* Files 0, 1, 3, 4, ... are fsync'ed and then left alone; 2, 5, 8, ...
	 * are not, and each is later moved to another directory and then
	 * removed, so that the cuts between barriers catch metadata in motion
	 * next to the entries that must survive. */
	for (i = 0; i < 16 && ok; i++) {
		size_t n = sizes[i % 8];
		bool sync = i % 3 != 2;

		fill(buf, n, (unsigned)i + 1);
		snprintf(path, sizeof(path), "/mnt/d%d/f%d", sync ? i % 3 : (i / 3) % 3, i);
		ok = must(write_file(path, buf, n, sync) == 0, path);
		if (ok && sync) {
			size_t cut = barrier_cut(log);

			ok = must(cut != (size_t)-1, "read the log");
			fprintf(mf, "%zu %zu %08x %s\n", cut, n, crc_of(buf, n), path);
			fflush(mf);
		}
		if (ok && !sync) {
			/* The previous unsynced file moves; the one before goes. */
			if (i >= 5) {
				snprintf(path, sizeof(path), "/mnt/d%d/f%d", ((i - 3) / 3) % 3, i - 3);
				snprintf(to, sizeof(to), "/mnt/d%d/moved%d", (i / 3 + 1) % 3, i - 3);
				ok = must(anyk_sys_rename(path, to) == 0, "rename");
			}
			if (ok && i >= 8) {
				snprintf(path, sizeof(path), "/mnt/d%d/moved%d", ((i - 3) / 3 + 1) % 3, i - 6);
				ok = must(anyk_sys_unlink(path) == 0, path);
			}
			/* The new file and the one just moved swap names
			 * across directories; the moved one then steps aside
			 * leaving a whiteout, and comes back over it. The set
			 * of names is as before, for the steps above. */
			if (ok && i >= 8) {
				snprintf(path, sizeof(path), "/mnt/d%d/f%d", (i / 3) % 3, i);
				snprintf(to, sizeof(to), "/mnt/d%d/moved%d", (i / 3 + 1) % 3, i - 3);
				ok = must(anyk_sys_renameat2(ANYK_AT_FDCWD, path, ANYK_AT_FDCWD, to,
							     ANYK_RENAME_EXCHANGE) == 0, "exchange");
				snprintf(path, sizeof(path), "/mnt/d%d/wo%d", (i / 3 + 1) % 3, i);
				if (ok)
					ok = must(anyk_sys_renameat2(ANYK_AT_FDCWD, to, ANYK_AT_FDCWD, path,
								     ANYK_RENAME_WHITEOUT) == 0, "whiteout");
				if (ok)
					ok = must(anyk_sys_rename(path, to) == 0, "rename over the whiteout");
			}
		}
	}
	if (ok)
		ok = must(anyk_sys_unmount("/mnt", 0) == 0, "unmount");
	anyk_disk_detach("/dev/sd0");
	anyk_fini();
	fclose(mf);
	if (ok)
		printf("ok - workload on %s done\n", fstype);
	return ok ? 0 : 1;
}

static int
cmd_verify(const char *img, const char *manifest, uint64_t cut, const char *fstype, const struct opts *o)
{
	static unsigned char buf[131072 + 1];
	char path[256];
	unsigned long long c;
	size_t n;
	unsigned crc;
	int total = 0, intact = 0, fd;
	FILE *mf;

	mf = fopen(manifest, "r");
	if (mf == NULL) {
		perror(manifest);
		return 2;
	}
	unsetenv("ANYK_DISK_RECORD");
	if (anyk_init() != 0 || anyk_sys_mkdir("/mnt", 0755) != 0 ||
	    anyk_disk_attach("/dev/sd0", img, o->ro ? ANYK_DISK_RDONLY : 0) != 0) {
		printf("# verify: cannot attach %s\n", img);
		return 2;
	}
	if (anyk_sys_mount("/dev/sd0", "/mnt", fstype, o->ro ? ANYK_MNT_RDONLY : 0, NULL) != 0) {
		printf("# verify: cut %llu: the mount fails (errno %d)\n", (unsigned long long)cut, errno);
		anyk_fini();
		return 2;
	}
	while (fscanf(mf, "%llu %zu %x %255s", &c, &n, &crc, path) == 4) {
		anyk_ssize_t got = -1;

		if (c > cut)
			continue;
		total++;
		fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
		if (fd >= 0) {
			got = anyk_sys_read(fd, buf, sizeof(buf));
			anyk_sys_close(fd);
		}
		if (got == (anyk_ssize_t)n && crc_of(buf, n) == crc)
			intact++;
		else
			printf("# verify: cut %llu: %s fsync'ed at cut %llu is %s\n", (unsigned long long)cut,
			       path, c, fd < 0 ? "missing" : "damaged");
	}
	fclose(mf);
	if (anyk_sys_unmount("/mnt", 0) != 0)
		printf("# verify: cut %llu: unmount fails (errno %d)\n", (unsigned long long)cut, errno);
	anyk_disk_detach("/dev/sd0");
	anyk_fini();
	printf("intact %d of %d\n", intact, total);
	return intact == total ? 0 : 1;
}

/* --- the self-test: recording a raw block device ------------------------- */

#define DISK (2u << 20)
#define ROUNDS 8
#define BANDS 6
#define BAND (DISK / BANDS / 65536 * 65536)

static char dir[] = "/tmp/anyk-crash.XXXXXX";

static unsigned char *
slurp(const char *path)
{
	unsigned char *p = malloc(DISK);
	int fd = open(path, O_RDONLY);

	if (p == NULL || fd < 0 || pread(fd, p, DISK, 0) != (ssize_t)DISK) {
		free(p);
		p = NULL;
	}
	if (fd >= 0)
		close(fd);
	return p;
}

/* The chosen image of lg at cut n, in memory (NULL on failure). */
static unsigned char *
image_at(const struct clog *lg, const char *base, size_t n, const struct clog_cut *o,
	 struct clog_cutinfo *info)
{
	char out[300];
	struct clog_cutinfo dummy;
	unsigned char *p;

	snprintf(out, sizeof(out), "%s/cut.img", dir);
	if (clog_build(lg, base, n, out, o, info ? info : &dummy) != 0)
		return NULL;
	if (info == NULL)
		free(dummy.torn_keep);
	p = slurp(out);
	unlink(out);
	return p;
}

static bool
sector_in(const struct crec *c, uint64_t s)
{
	return s * CLOG_SECTOR < c->off + c->len && (s + 1) * CLOG_SECTOR > c->off;
}

static void
check_torn(const struct clog *lg, const char *base, const size_t *mid, int nmid)
{
	static const struct clog_cut plain;
	int i, good = 0, tested = 0;

	for (i = 0; i < nmid; i++) {
		size_t n = mid[i];
		struct clog_cut o = { .torn = true, .torn_seed = 1000 + (uint64_t)i };
		struct clog_cutinfo info;
		unsigned char *a = image_at(lg, base, n - 1, &plain, NULL);
		unsigned char *b = image_at(lg, base, n, &plain, NULL);
		unsigned char *t = image_at(lg, base, n, &o, &info);
		const struct crec *c = &lg->r[n - 1];
		bool ok = a && b && t && info.torn_rec == (long)(n - 1);
		size_t lost = 0;

		for (uint64_t s = 0; ok && s < DISK / CLOG_SECTOR; s++) {
			const unsigned char *want;

			if (!sector_in(c, s)) {
				want = b;
			} else {
				size_t k = (size_t)(s - info.torn_first);

				want = info.torn_keep[k] ? b : a;
				lost += !info.torn_keep[k];
			}
			ok = memcmp(t + s * CLOG_SECTOR, want + s * CLOG_SECTOR, CLOG_SECTOR) == 0;
		}
		ok = ok && lost > 0;
		tested++;
		good += ok;
		if (!ok)
			printf("# torn cut %zu differs outside record %zu's sectors or lost none\n", n, n - 1);
		free(info.torn_keep);
		free(a);
		free(b);
		free(t);
	}
	T_OK(tested > 0 && good == tested,
	     "torn cuts (%d): only the last write's sectors differ, kept ones new, lost ones old", tested);
}

static void
check_reorder(const struct clog *lg, const char *base, size_t n)
{
	static const struct clog_cut plain;
	struct clog_cut o = { .reorder = true, .reorder_seed = 7, .torn = true, .torn_seed = 8 };
	struct clog_cutinfo info, info2;
	long b = clog_last_flush(lg, n);
	unsigned char *fl = image_at(lg, base, (size_t)(b + 1), &plain, NULL);
	unsigned char *r1 = image_at(lg, base, n, &o, &info);
	unsigned char *r2 = image_at(lg, base, n, &o, &info2);
	size_t window = 0, i;
	bool ok = fl && r1 && r2;

	for (i = (size_t)(b + 1); i < n; i++)
		window += clog_is(lg, i, CLOG_WRITE);
	T_EQ(info.applied + info.dropped, window, "reorder: every unflushed write landed or was lost");
	T_OK(ok && memcmp(r1, r2, DISK) == 0, "reorder: the same seed gives the same image");
	for (uint64_t s = 0; ok && s < DISK / CLOG_SECTOR; s++) {
		bool touched = false;

		for (i = (size_t)(b + 1); i < n && !touched; i++)
			touched = clog_is(lg, i, CLOG_WRITE) && sector_in(&lg->r[i], s);
		if (!touched)
			ok = memcmp(r1 + s * CLOG_SECTOR, fl + s * CLOG_SECTOR, CLOG_SECTOR) == 0;
	}
	T_OK(ok, "reorder: outside the unflushed writes the image is the barrier's (%zu landed, %zu lost)",
	     info.applied, info.dropped);
	free(info.torn_keep);
	free(info2.torn_keep);
	free(fl);
	free(r1);
	free(r2);
}

static int
run_out(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	if (p == NULL)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static void
check_cli(const struct clog *lg, const char *base, const char *log, size_t mid)
{
	char cmd[1024], out[65536], img[300];
	size_t flushes = 0, lines = 0, hits = 0;
	struct clog_cut o = { .torn = true, .torn_seed = 5 };
	unsigned char *want, *got;
	char *l;

	for (size_t i = 0; i < lg->n; i++)
		flushes += clog_is(lg, i, CLOG_FLUSH);
	snprintf(cmd, sizeof(cmd), "%s flushes %s", self, log);
	T_EQ(run_out(cmd, out, sizeof(out)), 0, "crash_harness flushes runs");
	for (l = out; (l = strchr(l, '\n')) != NULL; l++)
		lines++;
	T_EQ(lines, flushes, "crash_harness flushes lists every barrier");

	snprintf(cmd, sizeof(cmd), "%s sample %s 5 42", self, log);
	T_EQ(run_out(cmd, out, sizeof(out)), 0, "crash_harness sample runs");
	for (l = out; *l != '\0'; l = strchr(l, '\n') + 1) {
		if (strstr(l, " mid") == strchr(l, ' '))
			hits++;
		if (strchr(l, '\n') == NULL)
			break;
	}
	T_EQ(hits, 5, "crash_harness sample: 5 cuts between barriers");

	snprintf(img, sizeof(img), "%s/cli.img", dir);
	snprintf(cmd, sizeof(cmd), "%s cut %s %s %zu %s --torn 5 >/dev/null", self, base, log, mid, img);
	T_EQ(run_out(cmd, out, sizeof(out)), 0, "crash_harness cut --torn runs");
	want = image_at(lg, base, mid, &o, NULL);
	got = slurp(img);
	T_OK(want && got && memcmp(want, got, DISK) == 0, "crash_harness cut gives the harness's image");
	free(want);
	free(got);
	unlink(img);
	snprintf(cmd, sizeof(cmd), "%s cut %s %s %zu %s 2>/dev/null", self, base, log, lg->n + 1, img);
	T_OK(run_out(cmd, out, sizeof(out)) != 0, "crash_harness cut past the end fails");
}

static void
check_damage(const char *log, size_t n)
{
	struct clog lg;
	char bad[300];
	unsigned char *p;
	struct stat st;
	size_t len, pos;
	int fd;

	snprintf(bad, sizeof(bad), "%s/bad.log", dir);
	if (stat(log, &st) != 0 || (p = malloc((size_t)st.st_size)) == NULL)
		return;
	len = (size_t)st.st_size;
	fd = open(log, O_RDONLY);
	if (fd < 0 || read(fd, p, len) != (ssize_t)len) {
		T_OK(0, "read the log");
		free(p);
		return;
	}
	close(fd);
	/* Cut short in the last record: the writer died while appending. */
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_OK(fd >= 0 && write(fd, p, len - 3) == (ssize_t)(len - 3), "write a short log");
	close(fd);
	T_OK(clog_load(bad, &lg) == 0 && lg.n == n - 1 && lg.bad != NULL,
	     "a log cut short is read to its last whole record");
	clog_free(&lg);
	/* A flipped byte in the middle: reading stops at that record. */
	pos = len / 2;
	p[pos] ^= 0x40;
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_OK(fd >= 0 && write(fd, p, len) == (ssize_t)len, "write a damaged log");
	close(fd);
	T_OK(clog_load(bad, &lg) == 0 && lg.n < n && lg.n > 0 && lg.bad != NULL,
	     "a damaged record ends the log (%zu of %zu read: %s)", lg.n, n, lg.bad ? lg.bad : "");
	clog_free(&lg);
	memcpy(p, "NOTALOG!", 8);
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_OK(fd >= 0 && write(fd, p, len) == (ssize_t)len, "write a foreign file");
	close(fd);
	T_OK(clog_load(bad, &lg) != 0, "a file that is not a log is refused");
	unlink(bad);
	free(p);
}

static int
selftest(void)
{
	char base[300], work[300], log[300];
	unsigned char *model, *states[ROUNDS], *img;
	size_t cuts[ROUNDS], mid[64], i, nmid = 0, writes = 0, flushes = 0;
	uint64_t rng = 12345;
	struct clog lg;
	static const struct clog_cut plain;
	int r, fd, wfd, good;

	if (mkdtemp(dir) == NULL) {
		T_OK(0, "mkdtemp");
		return t_done();
	}
	snprintf(base, sizeof(base), "%s/base.img", dir);
	snprintf(work, sizeof(work), "%s/work.img", dir);
	snprintf(log, sizeof(log), "%s/raw.log", dir);
	model = malloc(DISK);
	for (i = 0; i < DISK; i++)
		model[i] = (unsigned char)clog_rand(&rng);
	fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_OK(fd >= 0 && write(fd, model, DISK) == (ssize_t)DISK, "write the base image");
	close(fd);
	T_OK(clog_copy(base, work) == 0, "copy it to the working image");

	setenv("ANYK_DISK_RECORD", log, 1);
	T_EQ(anyk_init(), 0, "boot");
	T_EQ(anyk_disk_attach("/dev/sd0", work, 0), 0, "attach with ANYK_DISK_RECORD set");
	wfd = anyk_sys_open("/dev/sd0", ANYK_O_RDWR, 0);
	T_OK(wfd >= 0, "open /dev/sd0");
	/* Each round writes one region in each band, a few unaligned, then
	 * fsyncs: within a round no sector is written twice, so at any point of
	 * the log a sector holds its value before or after the round. */
	good = 1;
	for (r = 0; r < ROUNDS; r++) {
		for (int b = 0; b < BANDS; b++) {
			size_t len = 1 + (size_t)(clog_rand(&rng) % 40000);
			size_t off = (size_t)b * BAND + (size_t)(clog_rand(&rng) % (BAND - len));
			unsigned char data[40001];

			if ((b + r) % 3 != 0) { /* sector-aligned */
				off &= ~(size_t)511;
				len = (len + 511) & ~(size_t)511;
				if (off + len > (size_t)(b + 1) * BAND)
					len = (size_t)(b + 1) * BAND - off;
			}
			for (i = 0; i < len; i++)
				data[i] = (unsigned char)clog_rand(&rng);
			good &= anyk_sys_pwrite(wfd, data, len, (anyk_off_t)off) == (anyk_ssize_t)len;
			memcpy(model + off, data, len);
		}
		good &= anyk_sys_fsync(wfd) == 0;
		states[r] = malloc(DISK);
		memcpy(states[r], model, DISK);
		cuts[r] = barrier_cut(log);
		good &= cuts[r] != (size_t)-1 && (r == 0 || cuts[r] > cuts[r - 1]);
	}
	T_OK(good, "%d rounds of writes and fsyncs through /dev/sd0, the log read after each", ROUNDS);
	anyk_sys_close(wfd);
	T_EQ(anyk_disk_detach("/dev/sd0"), 0, "detach");
	T_EQ(anyk_fini(), 0, "shut down");

	if (clog_load(log, &lg) != 0 || clog_select(&lg, NULL) != 0) {
		T_OK(0, "load the log: %s", lg.bad ? lg.bad : strerror(errno));
		return t_done();
	}
	for (i = 0; i < lg.n; i++) {
		writes += lg.r[i].type == CLOG_WRITE;
		flushes += lg.r[i].type == CLOG_FLUSH;
		if (clog_is(&lg, i, CLOG_WRITE) && (long)i > clog_last_flush(&lg, i) && nmid < 64)
			mid[nmid++] = i + 1;
	}
	T_OK(lg.bad == NULL, "the log reads to its end");
	T_OK(lg.nids == 1 && writes >= ROUNDS && flushes >= ROUNDS,
	     "one image, %zu writes, %zu barriers in %zu records", writes, flushes, lg.n);

	img = image_at(&lg, base, lg.n, &plain, NULL);
	T_OK(img && memcmp(img, model, DISK) == 0, "replaying every record gives the final image");
	free(img);
	good = 0;
	for (r = 0; r < ROUNDS; r++) {
		img = image_at(&lg, base, cuts[r], &plain, NULL);
		good += img && memcmp(img, states[r], DISK) == 0;
		free(img);
	}
	T_EQ(good, ROUNDS, "the cut at each fsync's barrier is the state the program had written");
	/* Every barrier in the log, not only the program's: sector by sector
	 * the state before or after the round it falls in. */
	good = 1;
	for (i = 0; i < lg.n && good; i++) {
		const unsigned char *prev, *next;

		if (!clog_is(&lg, i, CLOG_FLUSH))
			continue;
		for (r = 0; r < ROUNDS && cuts[r] < i + 1; r++)
			;
		if (r == ROUNDS)
			r = ROUNDS - 1;
		next = states[r];
		img = image_at(&lg, base, i + 1, &plain, NULL);
		prev = r > 0 ? states[r - 1] : NULL;
		unsigned char *b0 = prev ? NULL : slurp(base);

		if (prev == NULL)
			prev = b0;
		for (size_t s = 0; img && prev && s < DISK / CLOG_SECTOR && good; s++)
			good = memcmp(img + s * 512, prev + s * 512, 512) == 0 ||
			       memcmp(img + s * 512, next + s * 512, 512) == 0;
		good = good && img != NULL;
		free(b0);
		free(img);
	}
	T_OK(good, "every barrier cut holds each sector as before or after its round");

	check_torn(&lg, base, mid, nmid < 10 ? (int)nmid : 10);
	if (nmid > 0)
		check_reorder(&lg, base, mid[nmid / 2]);
	if (nmid > 0)
		check_cli(&lg, base, log, mid[nmid - 1]);
	check_damage(log, lg.n);

	/* A second session with the same log appends to it. */
	{
		size_t before = lg.n;
		unsigned char sec[512];

		clog_free(&lg);
		memset(sec, 0xa5, sizeof(sec));
		T_EQ(anyk_init(), 0, "boot again");
		T_EQ(anyk_disk_attach("/dev/sd0", work, 0), 0, "attach again");
		wfd = anyk_sys_open("/dev/sd0", ANYK_O_RDWR, 0);
		T_OK(anyk_sys_pwrite(wfd, sec, 512, 4096) == 512 && anyk_sys_fsync(wfd) == 0,
		     "write and fsync one sector");
		memcpy(model + 4096, sec, 512);
		anyk_sys_close(wfd);
		anyk_disk_detach("/dev/sd0");
		anyk_fini();
		T_OK(clog_load(log, &lg) == 0 && lg.bad == NULL && lg.n > before && lg.nids == 2,
		     "the next session of the process goes on in the same log");
		T_OK(clog_select(&lg, NULL) == 0, "the image opened twice is one image");
		img = image_at(&lg, base, lg.n, &plain, NULL);
		T_OK(img && memcmp(img, model, DISK) == 0, "replaying both sessions gives the final image");
		free(img);
		clog_free(&lg);
	}
	/* Without the variable nothing is recorded. */
	{
		struct stat st;
		char log2[300];

		snprintf(log2, sizeof(log2), "%s/none.log", dir);
		unsetenv("ANYK_DISK_RECORD");
		anyk_init();
		anyk_disk_attach("/dev/sd0", work, 0);
		wfd = anyk_sys_open("/dev/sd0", ANYK_O_RDWR, 0);
		T_OK(anyk_sys_pwrite(wfd, model, 512, 0) == 512 && anyk_sys_fsync(wfd) == 0,
		     "write without recording");
		anyk_sys_close(wfd);
		anyk_disk_detach("/dev/sd0");
		anyk_fini();
		T_OK(stat(log2, &st) != 0 && clog_load(log, &lg) == 0 && lg.nids == 2,
		     "no record is written when ANYK_DISK_RECORD is unset");
		clog_free(&lg);
	}
	for (r = 0; r < ROUNDS; r++)
		free(states[r]);
	free(model);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}

int
main(int argc, char **argv)
{
	struct opts o;

	self = argv[0];
	if (argc == 1)
		return selftest();
	if (strcmp(argv[1], "info") == 0 && argc == 3)
		return cmd_info(argv[2]);
	if (strcmp(argv[1], "flushes") == 0 && argc >= 3) {
		parse_opts(argc, argv, 3, &o);
		return cmd_flushes(argv[2], &o);
	}
	if (strcmp(argv[1], "sample") == 0 && argc >= 5) {
		parse_opts(argc, argv, 5, &o);
		return cmd_sample(argv[2], num(argv[3]), num(argv[4]), &o);
	}
	if (strcmp(argv[1], "cut") == 0 && argc >= 6) {
		parse_opts(argc, argv, 6, &o);
		return cmd_cut(argv[2], argv[3], num(argv[4]), argv[5], &o);
	}
	if (strcmp(argv[1], "workload") == 0 && argc == 6)
		return cmd_workload(argv[2], argv[3], argv[4], argv[5]);
	if (strcmp(argv[1], "verify") == 0 && argc >= 6) {
		parse_opts(argc, argv, 6, &o);
		return cmd_verify(argv[2], argv[3], num(argv[4]), argv[5], &o);
	}
	usage();
	return 2;
}
