/*
 * Kernel memory on an ext4 mount stays under a bound that does not grow
 * with the number of files: 50,000 creates (then stats and unlinks) with a
 * small buffer cache and vnode cache, kmem checked every 10,000 files
 * through anyk_memstats(). Before the buffer cache wrote back dirty
 * buffers under pressure, every inode table and directory block a create
 * touched stayed in memory until sync, ~0.3 KiB a file without bound.
 * The image (ext4 without a journal) is checked with e2fsck afterwards when
 * the host has it, since metadata now reaches the disk early and in pieces.
 */
#include "tests/posix/membound.h"

#include <errno.h>
#include <fcntl.h>

#define NFILES 50000
#define NDIRS 50
#define STEP 10000
#define IMGSIZE (256ll << 20)
/* The caches' bounds (1 MiB of buffers, 256 unreferenced vnodes) plus the
 * mount's own tables and headroom: far below what 50,000 files held. */
#define BOUND (4ull << 20)
#define GROWTH (256ull << 10)
#define MAXSTATS 64

static struct anyk_memstat_entry stats[MAXSTATS];

/* After the deferred work (write-back, vnode releases) has run. */
static uint64_t
kmem_total(void)
{
	anyk_run_pending();
	return mb_kmem(NULL);
}

static uint64_t
kmem_of(const char *name)
{
	int i, n = anyk_memstats(stats, MAXSTATS);

	for (i = 1; i < n && i < MAXSTATS; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].bytes;
	return 0;
}

static void
path_of(char *p, size_t len, int i)
{
	snprintf(p, len, "/mnt/d%d/f%d", i % NDIRS, i);
}

int
main(void)
{
	char img[] = "/tmp/anyk-membound-XXXXXX";
	char p[64];
	struct anyk_mkfs_opts o;
	struct anyk_stat st;
	uint64_t base, at_first = 0, peak = 0, t, bufs = 0;
	int fd, i, ok;

	setenv("ANYK_BUFCACHE", "1m", 1);
	setenv("ANYK_VNODES", "256", 1);
	if (!mb_start(img, IMGSIZE, &o))
		return t_done();
	/* A running journal transaction pins its blocks in the cache until it
	 * commits, up to its own size limit (ext2_jtrans.c); this test is about
	 * the buffer cache's bound, so the image has every ext4 feature but
	 * the journal. */
	o.features = "^has_journal";
	o.inodes = NFILES + 1000;
	o.timestamp = -1;
	if (!mb_mount(img, &o, "mkfs ext4 without a journal"))
		goto fini;
	base = kmem_total();
	for (i = 0; i < NDIRS; i++) {
		snprintf(p, sizeof(p), "/mnt/d%d", i);
		if (anyk_sys_mkdir(p, 0755) != 0)
			break;
	}
	T_EQ(i, NDIRS, "make the directories");

	ok = 1;
	for (i = 0; i < NFILES && ok; i++) {
		path_of(p, sizeof(p), i);
		fd = anyk_sys_open(p, ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_WRONLY, 0644);
		if (fd < 0 || anyk_sys_close(fd) != 0) {
			T_OK(0, "create %s: %s", p, strerror(errno));
			ok = 0;
		}
		if ((i + 1) % STEP == 0) {
			t = kmem_total();
			if (t > peak)
				peak = t;
			if (i + 1 == STEP)
				at_first = t;
			if (kmem_of("bufcache") > bufs)
				bufs = kmem_of("bufcache");
		}
	}
	T_OK(ok, "create %d files", NFILES);
	T_OK(peak <= BOUND, "kernel memory stays under %llu KiB (peak %llu KiB, %llu KiB at mount)",
	     BOUND >> 10, (unsigned long long)(peak >> 10), (unsigned long long)(base >> 10));
	T_OK(peak <= at_first + GROWTH, "... and does not grow with the files (%llu KiB at %d, peak %llu KiB)",
	     (unsigned long long)(at_first >> 10), STEP, (unsigned long long)(peak >> 10));
	/* 1 MiB of data and a header per buffer; write-back in another thread
	 * holds up to a cluster (32 buffers) that cannot be evicted meanwhile. */
	T_OK(bufs <= (1u << 20) + 64 * 4096 + (1u << 20) / 16, "the buffer cache keeps to its bound (%llu KiB)",
	     (unsigned long long)(bufs >> 10));

	ok = 1;
	for (i = 0; i < NFILES && ok; i++) {
		path_of(p, sizeof(p), i);
		if (anyk_sys_stat(p, &st) != 0)
			ok = 0;
	}
	T_OK(ok, "stat every file");
	t = kmem_total();
	T_OK(t <= BOUND, "after the stats: %llu KiB", (unsigned long long)(t >> 10));
	ok = 1;
	for (i = 0; i < NFILES && ok; i++) {
		path_of(p, sizeof(p), i);
		if (anyk_sys_unlink(p) != 0)
			ok = 0;
	}
	T_OK(ok, "unlink every file");
	t = kmem_total();
	T_OK(t <= BOUND, "after the unlinks: %llu KiB", (unsigned long long)(t >> 10));
	T_EQ(anyk_sys_unmount("/mnt", 0), 0, "unmount");
fini:
	return mb_finish(img, "e2fsck finds the image clean");
}
