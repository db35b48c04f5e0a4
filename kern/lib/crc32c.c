/*
 * CRC-32C (Castagnoli), the checksum of ext4 metadata_csum, jbd2 and iSCSI:
 * reflected polynomial 0x82F63B78, no inversion here (the caller starts from
 * ~0 and decides about the final one, as those formats do).
 *
 * On x86-64 CPUs with SSE4.2 the crc32 instruction does eight bytes at a
 * time. One instruction takes three cycles but a new one can start every
 * cycle, so long buffers are cut in three equal parts whose checksums run
 * side by side and are then joined: a checksum state followed by L zero
 * bytes is a linear function of the state, kept as four byte-indexed
 * tables per part length L, and the checksum of A then B is (A's state
 * shifted over B's length) xor (B's checksum from zero). Elsewhere "slicing by 8" does eight bytes per step from eight
 * 256-entry tables. The tables are built on first use. Building them is
 * claimed by one thread with an atomic compare-and-swap; threads that
 * arrive meanwhile compute bit by bit rather than wait, so no lock and no
 * host call is needed, and nobody reads a half-built table.
 */
#include "kern/lib/libkern.h"

#define CRC32C_POLY 0x82f63b78u

enum { TAB_NONE, TAB_BUILDING, TAB_READY };

static int crc32c_state; /* TAB_*, accessed atomically */
static uint32_t crc32c_table[8][256];
#if defined(__x86_64__)
static bool crc32c_use_hw; /* written before TAB_READY is published */

/* Part lengths for the three-way split (multiples of 8): the long one
 * takes a 4 KiB block in one round, the short one what remains. */
#define SPLIT_LONG 1360
#define SPLIT_SHORT 128
static uint32_t crc32c_shift_long[4][256];  /* state -> state after SPLIT_LONG zeros */
static uint32_t crc32c_shift_short[4][256]; /* ... after SPLIT_SHORT zeros */
#endif

static uint32_t
crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1)));
	}
	return crc;
}

#if defined(__x86_64__)
static bool
cpu_has_sse42(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (c >> 20) & 1;
}

typedef uint64_t u64u __attribute__((aligned(1), may_alias));

static uint32_t
crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c64;

	/* Single bytes up to an 8-byte boundary, so the word loads that
	 * follow never straddle a cache line. */
	for (; len > 0 && ((uintptr_t)p & 7) != 0; len--, p++)
		__asm__("crc32b %1, %0" : "+r"(crc) : "rm"(*p));
	c64 = crc;
	for (; len >= 8; len -= 8, p += 8)
		__asm__("crc32q %1, %0" : "+r"(c64) : "rm"(*(const u64u *)p));
	crc = (uint32_t)c64;
	for (; len > 0; len--, p++)
		__asm__("crc32b %1, %0" : "+r"(crc) : "rm"(*p));
	return crc;
}

static uint32_t
crc32c_shift(uint32_t (*t)[256], uint32_t s)
{
	return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
}

/* Rounds of three parts of part bytes each, while they fit. */
static uint32_t
crc32c_sse42_3way(uint32_t crc, const uint8_t **pp, size_t *lenp, size_t part,
		  uint32_t (*shift)[256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * part) {
		uint64_t c0 = crc, c1 = 0, c2 = 0;
		const uint8_t *a = p, *b = p + part, *c = p + 2 * part;

		for (size_t i = 0; i < part; i += 8) {
			__asm__("crc32q %1, %0" : "+r"(c0) : "rm"(*(const u64u *)(a + i)));
			__asm__("crc32q %1, %0" : "+r"(c1) : "rm"(*(const u64u *)(b + i)));
			__asm__("crc32q %1, %0" : "+r"(c2) : "rm"(*(const u64u *)(c + i)));
		}
		crc = crc32c_shift(shift, crc32c_shift(shift, (uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * part;
		len -= 3 * part;
	}
	*pp = p;
	*lenp = len;
	return crc;
}

static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	if (len >= 3 * SPLIT_SHORT) {
		for (; ((uintptr_t)p & 7) != 0; len--, p++)
			__asm__("crc32b %1, %0" : "+r"(crc) : "rm"(*p));
		crc = crc32c_sse42_3way(crc, &p, &len, SPLIT_LONG, crc32c_shift_long);
		crc = crc32c_sse42_3way(crc, &p, &len, SPLIT_SHORT, crc32c_shift_short);
	}
	return crc32c_sse42(crc, p, len);
}

/* The tables of "the state after n zero bytes": linear in the state, so
 * each byte position's table is built from the images of its bits. */
static void
crc32c_shift_build(uint32_t (*t)[256], size_t n)
{
	uint32_t img[32];

	for (int i = 0; i < 32; i++) {
		uint64_t c = 1u << i;
		for (size_t k = 0; k < n; k += 8)
			__asm__("crc32q %1, %0" : "+r"(c) : "r"((uint64_t)0));
		img[i] = (uint32_t)c;
	}
	for (int k = 0; k < 4; k++) {
		t[k][0] = 0;
		for (unsigned b = 1; b < 256; b++)
			t[k][b] = t[k][b & (b - 1)] ^ img[8 * k + __builtin_ctz(b)];
	}
}
#endif

static void
crc32c_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i;
		crc32c_table[0][i] = crc32c_bitwise(0, &b, 1);
	}
	/* Table k: the effect of a byte followed by k zero bytes. */
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++) {
			uint32_t prev = crc32c_table[k - 1][i];
			crc32c_table[k][i] = (prev >> 8) ^ crc32c_table[0][prev & 0xff];
		}
}

/* True once the tables (and the hardware probe) can be used. */
static bool
crc32c_ready(void)
{
	int state = __atomic_load_n(&crc32c_state, __ATOMIC_ACQUIRE);
	int expect = TAB_NONE;

	if (state == TAB_READY)
		return true;
	if (state != TAB_NONE ||
	    !__atomic_compare_exchange_n(&crc32c_state, &expect, TAB_BUILDING, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	crc32c_build();
#if defined(__x86_64__)
	crc32c_use_hw = cpu_has_sse42();
	if (crc32c_use_hw) {
		crc32c_shift_build(crc32c_shift_long, SPLIT_LONG);
		crc32c_shift_build(crc32c_shift_short, SPLIT_SHORT);
	}
#endif
	__atomic_store_n(&crc32c_state, TAB_READY, __ATOMIC_RELEASE);
	return true;
}

uint32_t
crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc32c_ready())
		return crc32c_bitwise(crc, p, len);
	while (len >= 8) {
		uint32_t lo = crc ^ le32dec(p), hi = le32dec(p + 4);
		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (!crc32c_ready())
		return crc32c_bitwise(crc, buf, len);
#if defined(__x86_64__)
	if (crc32c_use_hw)
		return crc32c_hw(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}
