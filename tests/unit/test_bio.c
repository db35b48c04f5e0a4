/*
 * The buffer cache over a memory disk: hits and misses, delayed writes that
 * reach the disk only at bsync, in block order and clustered, pinned buffers
 * that write-back skips, eviction under the memory bound, read-ahead, read
 * errors, several threads sharing buffers, and a hash table sized by the
 * bound.
 */
#include "../harness.h"

#include <anyk/anyk.h>

#include "vfs/bio.h"
#include "test_dev_membd.h"

#define BS 4096
#define NBLK 1024 /* 4 MiB */

static struct membd m;
static struct bdev *bd;

static void
test_hit_miss(void)
{
	struct bufcache_stats s0, s1;
	struct buf *bp;

	memset(m.data + 7 * BS, 0x5a, BS);
	bufcache_stats(&s0);
	T_EQ(bread(bd, 7, BS, &bp), 0, "bread a block");
	T_OK(((uint8_t *)bp->b_data)[100] == 0x5a && (bp->b_flags & B_VALID), "... with the disk's contents");
	brelse(bp);
	T_EQ(bread(bd, 7, BS, &bp), 0, "bread it again");
	brelse(bp);
	bufcache_stats(&s1);
	T_EQ(s1.misses - s0.misses, 1, "one miss");
	T_EQ(s1.hits - s0.hits, 1, "one hit");
	T_EQ(bread(bd, NBLK, BS, &bp), ANYK_EIO, "a block past the end: EIO");
	T_EQ(bread(bd, UINT64_MAX / 2, BS, &bp), ANYK_EIO, "an overflowing block number: EIO");
	T_EQ(bread(bd, 1, 1000, &bp), ANYK_EINVAL, "a size that is not a power of two: EINVAL");
}

static void
test_delayed_write(void)
{
	static const int order[] = { 40, 12, 11, 13, 41, 10, 99 };
	struct buf *bp;
	int i, n0;
	bool sorted = true;

	n0 = m.nwritev;
	for (i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
		T_EQ(getblk(bd, (uint64_t)order[i], BS, &bp), 0, "getblk");
		memset(bp->b_data, order[i], BS);
		bdwrite(bp);
	}
	T_EQ(m.nwritev, n0, "delayed writes do not touch the disk");
	T_OK(m.data[12 * BS] == 0, "... the disk still has the old contents");
	T_EQ(bsync(bd), 0, "bsync");
	T_OK(m.data[12 * BS] == 12 && m.data[41 * BS + BS - 1] == 41 && m.data[99 * BS] == 99,
	     "after bsync the disk has the new contents");
	/* 10-13 in one write, 40-41 in one, 99 alone: three writes, in order. */
	T_EQ(m.nwritev - n0, 3, "adjacent dirty buffers clustered into one write each");
	for (i = n0 + 1; i < m.nwritev; i++)
		if (m.woff[i] <= m.woff[i - 1])
			sorted = false;
	T_OK(sorted, "written in block order");
	T_OK(m.woff[n0] == 10 * BS && m.wlen[n0] == 4 * BS, "first cluster is blocks 10-13");
	n0 = m.nwritev;
	T_EQ(bsync(bd), 0, "bsync again");
	T_EQ(m.nwritev, n0, "nothing left to write");

	T_EQ(bread(bd, 5, BS, &bp), 0, "bread for bwrite");
	memset(bp->b_data, 0x77, BS);
	T_EQ(bwrite(bp), 0, "bwrite");
	T_OK(m.data[5 * BS + 9] == 0x77, "bwrite reaches the disk at once");
}

static void
test_pin(void)
{
	struct buf *bp;
	int n0;

	T_EQ(getblk(bd, 200, BS, &bp), 0, "getblk for pin");
	memset(bp->b_data, 0xcc, BS);
	bpin(bp);
	bdwrite(bp);
	n0 = m.nwritev;
	T_EQ(bsync(bd), 0, "bsync with a pinned buffer");
	T_EQ(m.nwritev, n0, "the pinned buffer is not written");
	bunpin(bp);
	T_EQ(bsync(bd), 0, "bsync after unpin");
	T_OK(m.nwritev == n0 + 1 && m.data[200 * BS] == 0xcc, "now it is written");
}

static void
test_evict(void)
{
	struct bufcache_stats s;
	struct buf *bp;
	uint64_t i;
	bool ok = true;

	bufcache_setlimit(64 * BS);
	for (i = 300; i < 600 && ok; i++) {
		if (bread(bd, i, BS, &bp) != 0)
			ok = false;
		else
			brelse(bp);
	}
	T_OK(ok, "read 300 blocks with a 64-block bound");
	bufcache_stats(&s);
	T_OK(s.bytes <= 64 * BS, "cache stays within its bound (%llu bytes)", (unsigned long long)s.bytes);
	T_OK(s.evictions >= 300 - 64, "clean buffers were evicted (%llu)", (unsigned long long)s.evictions);
	/* Dirty buffers are never evicted. */
	T_EQ(getblk(bd, 700, BS, &bp), 0, "getblk");
	memset(bp->b_data, 0x31, BS);
	bdwrite(bp);
	for (i = 300; i < 500; i++) {
		if (bread(bd, i, BS, &bp) == 0)
			brelse(bp);
	}
	T_EQ(bread(bd, 700, BS, &bp), 0, "dirty block still cached");
	T_OK(((uint8_t *)bp->b_data)[0] == 0x31 && m.data[700 * BS] == 0, "... with its unwritten data");
	brelse(bp);
	T_EQ(bsync(bd), 0, "bsync");
	bufcache_setlimit(16 << 20);
}

static void
test_readahead(void)
{
	struct bufcache_stats s0, s1;
	struct buf *bp;
	int i;

	binval(bd);
	T_EQ(breada(bd, 800, BS, 4, &bp), 0, "breada with 4 blocks of read-ahead");
	brelse(bp);
	bufcache_stats(&s0);
	for (i = 801; i <= 804; i++) {
		T_EQ(bread(bd, (uint64_t)i, BS, &bp), 0, "bread a read-ahead block");
		brelse(bp);
	}
	bufcache_stats(&s1);
	T_EQ(s1.hits - s0.hits, 4, "read-ahead blocks are hits");

	m.fail_reads = 1;
	T_EQ(bread(bd, 900, BS, &bp), ANYK_EIO, "a read error comes back");
	m.fail_reads = 0;
	T_EQ(bread(bd, 900, BS, &bp), 0, "the next bread retries");
	brelse(bp);
}

/* Threads increment counters in shared blocks; every increment must land. */
#define NTHR 4
#define ITER 2000
static void *
worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct buf *bp;

	for (int i = 0; i < ITER; i++) {
		uint64_t blk = 1000 + (uint64_t)(rand_r(&seed) % 16);
		if (bread(bd, blk, BS, &bp) != 0)
			return (void *)1;
		((uint32_t *)bp->b_data)[0]++;
		if (i % 7 == 0) {
			if (bwrite(bp) != 0)
				return (void *)1;
		} else {
			bdwrite(bp);
		}
		if (i % 500 == 0)
			(void)bsync(bd);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[NTHR];
	uint64_t sum = 0;
	void *rv;
	bool ok = true;
	int i;

	for (i = 1000; i < 1016; i++)
		memset(m.data + (size_t)i * BS, 0, BS);
	binval(bd);
	bufcache_setlimit(8 * BS * 16); /* small: eviction runs too */
	for (i = 0; i < NTHR; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < NTHR; i++) {
		pthread_join(t[i], &rv);
		if (rv != NULL)
			ok = false;
	}
	T_OK(ok, "%d threads doing bread/bdwrite/bwrite/bsync", NTHR);
	T_EQ(bsync(bd), 0, "final bsync");
	for (i = 1000; i < 1016; i++) {
		uint32_t v;
		memcpy(&v, m.data + (size_t)i * BS, 4);
		sum += v;
	}
	T_EQ(sum, NTHR * ITER, "every increment reached the disk");
	bufcache_setlimit(16 << 20);
}

/* The hash table is sized for the bound the cache started with: a chain
 * per 2 KiB of it, so about one buffer a chain. */
static void
test_chains(void)
{
	struct bufcache_stats st;

	bufcache_stats(&st);
	T_OK(st.chains >= st.limit / 2048 && (st.chains & (st.chains - 1)) == 0,
	     "%llu hash chains for a bound of %llu bytes", (unsigned long long)st.chains,
	     (unsigned long long)st.limit);
}

int
main(void)
{
	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	bd = membd_new(&m, (size_t)NBLK * BS, 512, false);
	T_OK(bd != NULL, "make a memory disk");
	test_hit_miss();
	test_delayed_write();
	test_pin();
	test_evict();
	test_readahead();
	test_chains();
	test_threads();
	membd_free(&m, bd);
	anyk_fini();
	return t_done();
}
