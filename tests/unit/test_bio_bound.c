/*
 * The buffer cache's memory bound holds while a file system only writes:
 * dirty buffers, which eviction cannot take, are written back by the
 * allocation that finds the cache full, also when the writer holds a busy
 * buffer of its own, and pinned (journaled) buffers stay unwritten and do
 * not stop the others from going. Run without kernel threads, so that no
 * background write-back does the work for the allocation path under test.
 */
#include "../harness.h"

#include <anyk/anyk.h>

#include "vfs/bio.h"
#include "test_dev_membd.h"

#define BS 4096
#define NBLK 4096 /* 16 MiB */
#define LIMIT (64 * BS)

static struct membd m;
static struct bdev *bd;

static uint64_t
cache_bytes(void)
{
	struct bufcache_stats s;

	bufcache_stats(&s);
	return s.bytes;
}

/* Dirty blocks first..first+n-1 with their number; the largest cache size
 * seen along the way. */
static bool
dirty_run(uint64_t first, uint64_t n, uint64_t *peak)
{
	struct buf *bp;
	uint64_t i, b;

	for (i = first; i < first + n; i++) {
		if (getblk(bd, i, BS, &bp) != 0)
			return false;
		memset(bp->b_data, (int)(i & 0xff), BS);
		memcpy(bp->b_data, &i, sizeof(i));
		bdwrite(bp);
		b = cache_bytes();
		if (b > *peak)
			*peak = b;
	}
	return true;
}

static bool
disk_has(uint64_t first, uint64_t n)
{
	uint64_t i, v;

	for (i = first; i < first + n; i++) {
		memcpy(&v, m.data + i * BS, sizeof(v));
		if (v != i || m.data[i * BS + BS - 1] != (uint8_t)(i & 0xff))
			return false;
	}
	return true;
}

static void
test_dirty_bound(void)
{
	struct bufcache_stats s0, s1;
	uint64_t peak = 0;

	bufcache_stats(&s0);
	T_OK(dirty_run(0, 2000, &peak), "dirty 2000 blocks under a 64-block bound");
	bufcache_stats(&s1);
	T_OK(peak <= LIMIT, "the cache never held more than its bound (peak %llu bytes)",
	     (unsigned long long)peak);
	T_OK(s1.writes - s0.writes >= 2000 - 64, "the allocations wrote dirty buffers back (%llu)",
	     (unsigned long long)(s1.writes - s0.writes));
	T_OK(s1.evictions - s0.evictions >= 2000 - 64, "... and evicted them (%llu)",
	     (unsigned long long)(s1.evictions - s0.evictions));
	/* Well below the bound: not one write per allocation. */
	T_OK(s1.writeclusters - s0.writeclusters < 2000 / 4, "in clusters (%llu writes)",
	     (unsigned long long)(s1.writeclusters - s0.writeclusters));
	T_EQ(bsync(bd), 0, "bsync");
	T_OK(disk_has(0, 2000), "every block reached the disk with its last contents");
}

/* The writer holds a dirty buffer while it allocates: the write-back it
 * triggers must skip that one, not wait for it. */
static void
test_hold_busy(void)
{
	struct buf *held;
	uint64_t peak = 0, v = 3000;
	int n0 = m.nwritev;

	T_EQ(getblk(bd, 3000, BS, &held), 0, "getblk a block and keep it");
	memset(held->b_data, 0, BS);
	memcpy(held->b_data, &v, sizeof(v));
	bdwrite(held);
	T_EQ(bread(bd, 3000, BS, &held), 0, "take it again (dirty, busy)");
	T_OK(dirty_run(2000, 500, &peak), "dirty 500 more blocks while holding it");
	T_OK(peak <= LIMIT + BS, "cache within its bound (peak %llu bytes)", (unsigned long long)peak);
	T_OK(m.nwritev > n0, "others were written back");
	T_OK(m.data[3000 * BS] == 0, "the held buffer was not");
	bdwrite(held);
	T_EQ(bsync(bd), 0, "bsync");
	memcpy(&v, m.data + 3000 * BS, sizeof(v));
	T_EQ(v, 3000, "the held buffer is written once released");
	T_OK(disk_has(2000, 500), "and so are the others");
	/* Release what a full cache holds past its bound. */
	T_OK(cache_bytes() <= LIMIT, "after bsync the cache is within its bound");
}

/* Pinned buffers (a journal's running transaction) count as dirty but
 * cannot be written: the rest still go, and the pinned stay unwritten. */
#define NPIN 24 /* more than a quarter of the bound */
static void
test_pinned(void)
{
	struct buf *pins[NPIN], *bp;
	uint64_t peak = 0;
	bool unwritten = true;
	int i;

	for (i = 0; i < NPIN; i++) {
		T_EQ(getblk(bd, 3100 + (uint64_t)i, BS, &bp), 0, "getblk to pin");
		memset(bp->b_data, 0xee, BS);
		bpin(bp);
		pins[i] = bp;
		bdwrite(bp);
	}
	T_OK(dirty_run(3200, 600, &peak), "dirty 600 blocks beside %d pinned ones", NPIN);
	T_OK(peak <= LIMIT, "cache within its bound (peak %llu bytes)", (unsigned long long)peak);
	for (i = 0; i < NPIN; i++)
		if (m.data[(3100 + (size_t)i) * BS] != 0)
			unwritten = false;
	T_OK(unwritten, "pinned buffers were not written back");
	T_EQ(bsync(bd), 0, "bsync");
	T_OK(disk_has(3200, 600), "the unpinned ones reached the disk");
	for (i = 0; i < NPIN; i++)
		bunpin(pins[i]);
	T_EQ(bsync(bd), 0, "bsync after unpin");
	T_OK(m.data[3100 * BS] == 0xee && m.data[(3100 + NPIN - 1) * BS + 7] == 0xee,
	     "unpinned, they are written");
}

/* A lowered bound is met at once when only clean buffers are over it, and
 * through write-back when dirty ones are. */
static void
test_setlimit(void)
{
	uint64_t peak = 0;

	bufcache_setlimit(1024 * BS);
	T_OK(dirty_run(0, 512, &peak), "dirty 512 blocks under a large bound");
	T_OK(cache_bytes() >= 512 * BS, "all cached (%llu bytes)", (unsigned long long)cache_bytes());
	bufcache_setlimit(LIMIT);
	T_OK(cache_bytes() <= LIMIT, "lowering the bound writes back and evicts (%llu bytes)",
	     (unsigned long long)cache_bytes());
	T_EQ(bsync(bd), 0, "bsync");
	T_OK(disk_has(0, 512), "nothing was lost");
}

int
main(void)
{
	setenv("ANYK_THREADS", "0", 1);
	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	bd = membd_new(&m, (size_t)NBLK * BS, 512, false);
	T_OK(bd != NULL, "make a memory disk");
	bufcache_setlimit(LIMIT);
	test_dirty_bound();
	test_hold_busy();
	test_pinned();
	test_setlimit();
	binval(bd);
	membd_free(&m, bd);
	anyk_fini();
	return t_done();
}
