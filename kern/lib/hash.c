/*
 * Hashing and intrusive chained hash tables: name caches, inode and vnode
 * tables, socket demultiplexing. The hash is not cryptographic; seed it with
 * a random value where an adversary chooses the keys (names, addresses) so
 * that collisions cannot be precomputed.
 *
 * hash_bytes reads 8-byte little-endian words into two independent lanes
 * (so their multiplies overlap in the pipeline). Each step is xor, multiply
 * by an odd constant, xorshift: each is a bijection of the lane state, so
 * one word never collides with another in one step, the multiply carries
 * every input bit upward and the shift brings the high bits back down. The
 * lanes and the length meet at the end and pass through hash_u64's
 * avalanche. Byte-order independent: the same bytes hash the same on every
 * host.
 */
#include "kern/lib/libkern.h"

#define HASH_M 0xd6e8feb86659fd93ull
#define HASH_K0 0x243f6a8885a308d3ull /* digits of pi: nothing up the sleeve */
#define HASH_K1 0x13198a2e03707344ull

static inline uint64_t
rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
hash_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * HASH_M;
	return h ^ (h >> 32);
}

uint64_t
hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t a = seed ^ HASH_K0;
	uint64_t c = rotl64(seed, 32) ^ HASH_K1 ^ (uint64_t)n;

	while (n >= 16) {
		a = hash_step(a, le64dec(b));
		c = hash_step(c, le64dec(b + 8));
		b += 16;
		n -= 16;
	}
	if (n >= 8) {
		a = hash_step(a, le64dec(b));
		b += 8;
		n -= 8;
	}
	if (n > 0) {
		/* The last 1..7 bytes, with their count in the top byte so
		 * that trailing zero bytes still count. */
		uint64_t w = (uint64_t)n << 56;
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)b[i] << (8 * i);
		c = hash_step(c, w);
	}
	a = hash_step(a, rotl64(c, 23));
	return hash_u64(a ^ c);
}

uint64_t
hash_str(const char *s, uint64_t seed)
{
	return hash_bytes(s, strlen(s), seed);
}

void
htab_init(struct htab *t, struct hnode **buckets, unsigned order)
{
	size_t n = (size_t)1 << order;

	for (size_t i = 0; i < n; i++)
		buckets[i] = NULL;
	t->buckets = buckets;
	t->order = order;
	t->count = 0;
}

void
htab_insert(struct htab *t, uint64_t hash, struct hnode *n)
{
	struct hnode **b = htab_bucket(t, hash);

	n->next = *b;
	*b = n;
	t->count++;
}

bool
htab_remove(struct htab *t, uint64_t hash, struct hnode *n)
{
	struct hnode **pp;

	for (pp = htab_bucket(t, hash); *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->count--;
			return true;
		}
	}
	return false;
}

void
htab_resize(struct htab *t, struct hnode **buckets, unsigned order, uint64_t (*rehash)(struct hnode *))
{
	struct hnode **old = t->buckets;
	size_t nold = (size_t)1 << t->order, nnew = (size_t)1 << order;
	uint64_t mask = ((uint64_t)1 << order) - 1;

	for (size_t i = 0; i < nnew; i++)
		buckets[i] = NULL;
	for (size_t i = 0; i < nold; i++) {
		struct hnode *n = old[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			struct hnode **b = &buckets[rehash(n) & mask];
			n->next = *b;
			*b = n;
		}
	}
	t->buckets = buckets;
	t->order = order;
}
