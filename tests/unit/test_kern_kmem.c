/*
 * Kernel memory accounting: per-type counters, the ANYK_MEMLIMIT budget
 * (allocations fail cleanly at the limit and the counters come back to
 * their baseline), zero-size and aligned allocations, anyk_memstats, and
 * the parameter parser the limit is read with. Runs without anyk_init.
 */
#include "../harness.h"

#include <stdint.h>

#include <anyk/anyk.h>

#include "kern/kernel.h"
#include "kern/init.h"

KMEM_TYPE(kmem_test, "kmemtest");

#define CHUNK 4096
#define MAXCHUNKS 4096

static void *chunks[MAXCHUNKS];

static int
find_stat(const struct anyk_memstat_entry *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return i;
	return -1;
}

static void
test_params(void)
{
	setenv("ANYK_TEST_PARAM", "4m", 1);
	T_EQ(param_u64("ANYK_TEST_PARAM", 7), 4ull << 20, "param_u64 parses 4m");
	setenv("ANYK_TEST_PARAM", "123", 1);
	T_EQ(param_u64("ANYK_TEST_PARAM", 7), 123, "param_u64 parses a number");
	setenv("ANYK_TEST_PARAM", "12x", 1);
	T_EQ(param_u64("ANYK_TEST_PARAM", 7), 7, "param_u64: junk gives the default");
	unsetenv("ANYK_TEST_PARAM");
	T_EQ(param_u64("ANYK_TEST_PARAM", 7), 7, "param_u64: unset gives the default");
}

static void
test_basic(void)
{
	uint64_t base = kmem_inuse();
	uint64_t allocs = kmem_test.allocs, frees = kmem_test.frees;
	void *z1, *z2, *a;
	unsigned char *p;
	char *s;
	int ok = 1;

	p = kmem_zalloc(&kmem_test, 1000);
	T_OK(p != NULL, "kmem_zalloc 1000");
	for (int i = 0; i < 1000; i++)
		ok &= p[i] == 0;
	T_OK(ok, "kmem_zalloc returns zeroed memory");
	T_EQ(kmem_inuse() - base, 1000, "in-use counter charged");
	T_EQ(kmem_test.bytes, 1000, "type counter charged");
	kmem_free(&kmem_test, p, 1000);
	T_EQ(kmem_inuse(), base, "in-use back after free");

	z1 = kmem_alloc(&kmem_test, 0);
	z2 = kmem_alloc(&kmem_test, 0);
	T_OK(z1 != NULL && z2 != NULL && z1 != z2, "size-0 allocations are unique pointers");
	kmem_free(&kmem_test, z1, 0);
	kmem_free(&kmem_test, z2, 0);
	kmem_free(&kmem_test, NULL, 123);

	a = kmem_alloc_aligned(&kmem_test, 100, 4096);
	T_OK(a != NULL && ((uintptr_t)a & 4095) == 0, "4096-aligned allocation");
	kmem_free(&kmem_test, a, 100);

	s = kmem_strdup(&kmem_test, "hello");
	T_OK(s != NULL && strcmp(s, "hello") == 0, "kmem_strdup");
	kmem_strfree(&kmem_test, s);

	T_EQ(kmem_test.allocs - allocs, 5, "five allocations counted");
	T_EQ(kmem_test.frees - frees, 5, "five frees counted");
	T_EQ(kmem_test.bytes, 0, "type holds nothing afterwards");
	T_EQ(kmem_inuse(), base, "in-use back to baseline");
}

static void
test_limit(void)
{
	uint64_t base, failures;
	int n = 0;

	setenv("ANYK_MEMLIMIT", "1m", 1);
	kmem_init();
	T_EQ(kmem_limit(), 1u << 20, "ANYK_MEMLIMIT=1m read");
	base = kmem_inuse();
	failures = kmem_test.failures;
	while (n < MAXCHUNKS && (chunks[n] = kmem_alloc(&kmem_test, CHUNK)) != NULL)
		n++;
	T_OK(n < MAXCHUNKS, "allocation fails at the limit (after %d chunks)", n);
	T_EQ(n, (int)(((1u << 20) - base) / CHUNK), "exactly as many chunks as fit");
	T_OK(kmem_inuse() <= kmem_limit(), "in-use never exceeds the limit");
	T_EQ(kmem_test.failures - failures, 1, "the refusal is counted");
	T_OK(kmem_alloc(&kmem_test, 1u << 20) == NULL, "a big allocation is refused too");
	while (n > 0)
		kmem_free(&kmem_test, chunks[--n], CHUNK);
	T_EQ(kmem_inuse(), base, "in-use back to baseline after freeing");
	chunks[0] = kmem_alloc(&kmem_test, CHUNK);
	T_OK(chunks[0] != NULL, "allocation works again");
	kmem_free(&kmem_test, chunks[0], CHUNK);

	unsetenv("ANYK_MEMLIMIT");
	kmem_init();
	T_EQ(kmem_limit(), 0, "no limit when unset");
}

static void
test_memstats(void)
{
	struct anyk_memstat_entry e[64], small[1];
	int n, i;
	void *p;

	p = kmem_alloc(&kmem_test, 4242);
	n = anyk_memstats(e, 64);
	T_OK(n >= 2 && n <= 64, "anyk_memstats returns %d entries", n);
	T_OK(strcmp(e[0].name, "total") == 0, "first entry is the total");
	T_EQ(e[0].bytes, kmem_inuse(), "total bytes is the in-use counter");
	i = find_stat(e, n, "kmemtest");
	T_OK(i > 0, "the test's type is listed");
	if (i > 0)
		T_EQ(e[i].bytes, 4242, "its bytes are reported");
	T_EQ(anyk_memstats(small, 1), n, "count does not depend on room");
	T_EQ(anyk_memstats(NULL, 0), n, "NULL buffer just counts");
	kmem_free(&kmem_test, p, 4242);
}

int
main(void)
{
	test_params();
	test_basic();
	test_limit();
	test_memstats();
	return t_done();
}
