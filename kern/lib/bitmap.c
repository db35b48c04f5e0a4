/*
 * Bitmaps as file systems store them: bit i is bit (i % 8) of byte i / 8.
 * Block and inode allocators scan them for free bits and count them, so the
 * scans go a 64-bit word at a time. A word is read as eight little-endian
 * bytes, which makes bit i of the map bit (i % 64) of word i / 64 on every
 * host, and never reads a byte past the last one the map covers.
 */
#include "kern/lib/libkern.h"

/* Word index wi of a map of nbytes bytes; missing bytes read as zero. */
static inline uint64_t
load_word(const uint8_t *map, size_t wi, size_t nbytes)
{
	size_t off = wi * 8;
	uint64_t w = 0;

	if (nbytes - off >= 8)
		return le64dec(map + off);
	for (size_t i = 0; off + i < nbytes; i++)
		w |= (uint64_t)map[off + i] << (8 * i);
	return w;
}

/* Bits [lo, 64) of a word. */
static inline uint64_t
mask_from(unsigned lo)
{
	return ~(uint64_t)0 << lo;
}

/* Shared scan: invert = true finds zeros. */
static size_t
find_bit(const uint8_t *map, size_t nbits, size_t start, bool invert)
{
	size_t nbytes = howmany(nbits, 8), wi, nwords = howmany(nbits, 64);
	uint64_t w;

	if (start >= nbits)
		return nbits;
	wi = start / 64;
	w = load_word(map, wi, nbytes);
	if (invert)
		w = ~w;
	w &= mask_from(start % 64);
	for (;;) {
		if (w != 0) {
			size_t i = wi * 64 + (size_t)__builtin_ctzll(w);
			/* Bits past nbits in the last word (or, inverted,
			 * the bytes we did not read) are not part of the map. */
			return i < nbits ? i : nbits;
		}
		if (++wi >= nwords)
			return nbits;
		w = load_word(map, wi, nbytes);
		if (invert)
			w = ~w;
	}
}

size_t
bit_find_zero(const uint8_t *map, size_t nbits, size_t start)
{
	return find_bit(map, nbits, start, true);
}

size_t
bit_find_set(const uint8_t *map, size_t nbits, size_t start)
{
	return find_bit(map, nbits, start, false);
}

/* Set bits in a word, by halving sums: the compiler's popcount builtin
 * would become a libgcc call on CPUs without the instruction. */
static inline unsigned
popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

size_t
bit_count(const uint8_t *map, size_t start, size_t nbits)
{
	size_t nbytes = howmany(nbits, 8), wi, last;
	size_t count = 0;
	uint64_t w;

	if (start >= nbits)
		return 0;
	wi = start / 64;
	last = (nbits - 1) / 64;
	w = load_word(map, wi, nbytes) & mask_from(start % 64);
	for (;;) {
		if (wi == last) {
			/* Drop the bits at and above nbits. */
			if (nbits % 64 != 0)
				w &= ~mask_from(nbits % 64);
			count += popcount64(w);
			break;
		}
		count += popcount64(w);
		w = load_word(map, ++wi, nbytes);
	}
	return count;
}

/*
 * Partial bytes at either end bit by bit, whole bytes between with memset
 * (which moves them a vector at a time).
 */
void
bit_set_range(uint8_t *map, size_t start, size_t n)
{
	size_t end = start + n;

	for (; start < end && (start & 7) != 0; start++)
		bit_set(map, start);
	if (end - start >= 8) {
		memset(map + start / 8, 0xff, (end - start) / 8);
		start += (end - start) & ~(size_t)7;
	}
	for (; start < end; start++)
		bit_set(map, start);
}

void
bit_clear_range(uint8_t *map, size_t start, size_t n)
{
	size_t end = start + n;

	for (; start < end && (start & 7) != 0; start++)
		bit_clear(map, start);
	if (end - start >= 8) {
		memset(map + start / 8, 0, (end - start) / 8);
		start += (end - start) & ~(size_t)7;
	}
	for (; start < end; start++)
		bit_clear(map, start);
}
