/*
 * The ext4 journal within the memory bound. A running transaction keeps
 * every metadata buffer it changed pinned in the buffer cache until it
 * commits, and a commit holds a copy of each; unless the transaction's
 * size follows the cache's bound, a metadata-heavy workload on a big
 * journal pins (and copies) megabytes the cache cannot give back.
 *
 * 20,000 creates in one directory on an ext4 image with a 64 MiB journal,
 * under ANYK_MEMLIMIT (every allocation beyond it is refused and counted)
 * and a 4 MiB cache: kernel memory, sampled by a thread every 100 us so
 * that commits in flight are seen, must stay within the cache's bound plus
 * a fixed allowance for the mount's tables, vnodes and inodes, no
 * allocation may be refused, and e2fsck -fn must find the image clean.
 *
 * ext2_jmembound [N]: N creates (default 20,000).
 */
#include "tests/posix/membound.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define LIMIT_STR "16m"
#define CACHE_STR "4m"
#define CACHE_BYTES (4ull << 20)
/* What the mount holds besides the cache: group descriptors and bitmaps'
 * tables, the vnode and inode caches at their bounds, the directory's
 * index, journal bookkeeping: ~1.8 MiB at 20,000 creates, ~2.4 MiB at
 * 60,000. With transactions sized by the journal alone (2048 blocks here)
 * the peak was 13.7 MiB, and at 60,000 creates a commit's copies were
 * refused and the journal stopped. */
#define ALLOWANCE (4ull << 20)
#define IMGSIZE (1ll << 30)
#define JBLOCKS 16384 /* 64 MiB: the journal alone would allow 8 MiB transactions */

static atomic_ullong peak;
static atomic_int stop;

static void *
sampler(void *arg)
{
	struct timespec ts = { 0, 100000 };
	uint64_t t;

	(void)arg;
	while (!atomic_load(&stop)) {
		t = mb_kmem(NULL);
		if (t != UINT64_MAX && t > atomic_load(&peak))
			atomic_store(&peak, t);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	char img[] = "/tmp/anyk-jmembound-XXXXXX";
	char p[64];
	struct anyk_mkfs_opts o;
	pthread_t thr;
	uint64_t base, fails = 0, fails0 = 0, pk;
	int fd, i, n = argc > 1 ? atoi(argv[1]) : 20000, ok, running = 0;

	setenv("ANYK_MEMLIMIT", LIMIT_STR, 1);
	setenv("ANYK_BUFCACHE", CACHE_STR, 1);
	if (!mb_start(img, IMGSIZE, &o))
		return t_done();
	o.inodes = (uint64_t)n + 1000;
	o.journal_blocks = JBLOCKS;
	if (!mb_mount(img, &o, "mkfs ext4 with a 64 MiB journal"))
		goto fini;
	T_EQ(anyk_sys_mkdir("/mnt/d", 0755), 0, "mkdir /mnt/d");
	base = mb_kmem(&fails0);
	if (pthread_create(&thr, NULL, sampler, NULL) == 0)
		running = 1;
	T_OK(running, "start the sampling thread");

	ok = 1;
	for (i = 0; i < n && ok; i++) {
		snprintf(p, sizeof(p), "/mnt/d/file-with-a-name-%d", i);
		fd = anyk_sys_open(p, ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_WRONLY, 0644);
		if (fd < 0 || anyk_sys_close(fd) != 0) {
			T_OK(0, "create %s: %s", p, strerror(errno));
			ok = 0;
		}
	}
	T_OK(ok, "create %d files in one directory", n);
	T_EQ(anyk_sys_sync(), 0, "sync");
	atomic_store(&stop, 1);
	if (running)
		pthread_join(thr, NULL);
	pk = atomic_load(&peak);
	(void)mb_kmem(&fails);
	T_EQ(fails - fails0, 0, "no kernel allocation refused under ANYK_MEMLIMIT=" LIMIT_STR);
	T_OK(pk <= CACHE_BYTES + ALLOWANCE,
	     "kernel memory peaks at %llu KiB: within the %llu KiB cache plus %llu KiB (%llu KiB at mount)",
	     (unsigned long long)(pk >> 10), CACHE_BYTES >> 10, ALLOWANCE >> 10, (unsigned long long)(base >> 10));
	T_EQ(anyk_sys_unmount("/mnt", 0), 0, "unmount");
fini:
	return mb_finish(img, "e2fsck -fn finds the image clean");
}
