/*
 * The kernel's own memory and string functions. They carry the same
 * contracts as the C library's, because the compiler emits calls to
 * memcpy/memset/memmove/memcmp for struct copies and initializers even in
 * freestanding code, and every bulk file read or write goes through memcpy:
 * the bulk copies move 64-byte blocks through vector registers and, on
 * x86-64, hand very large ones to the CPU's fast string copy.
 *
 * libkern.h turns the common ones into macros for the compiler's builtins;
 * here we need the real functions, so the macros go.
 */
#include "kern/lib/libkern.h"

#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen

/*
 * A compiler may recognise a copy or fill loop and replace it with a call to
 * memcpy or memset, which inside memcpy itself would recurse forever. gcc's
 * loop distribution is switched off per function; clang does not rewrite
 * loops into library calls under -ffreestanding (which implies -fno-builtin).
 */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LIBCALL
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRING_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STRING_SANITIZED 1
#endif
#endif

/*
 * Unaligned, alias-anything vector and word types. Moving data through
 * these, rather than through __builtin_memcpy, guarantees the compiler can
 * never turn a block move back into a call to ourselves, at any -O level.
 */
typedef unsigned char v16 __attribute__((vector_size(16), aligned(1), may_alias));
typedef uint64_t u64u __attribute__((aligned(1), may_alias));
typedef uint32_t u32u __attribute__((aligned(1), may_alias));
typedef uint16_t u16u __attribute__((aligned(1), may_alias));

/*
 * From this size on, x86-64's "rep movsb" and "rep stosb" (fast on every CPU
 * with ERMS, which all current ones have) beat a 16-byte vector loop: they
 * move whole cache lines, about twice as fast. But when the destination is
 * a few bytes ahead of the source modulo the 4 KiB page, each store appears
 * to conflict with the next load ("4K aliasing") and rep movsb falls to a
 * twentieth of its speed on some CPUs (measured on AMD EPYC: 3 GB/s instead
 * of 90); that case stays with the vector loop.
 */
#define REP_MIN 2048
#define REP_MOVSB_BAD_DISTANCE 64

/* Copy 0..16 bytes, n given. Overlapping head and tail moves avoid a byte
 * loop; src and dst must not overlap (callers guarantee). */
static inline void
copy_small(unsigned char *d, const unsigned char *s, size_t n)
{
	if (n >= 8) {
		uint64_t a = *(const u64u *)s, b = *(const u64u *)(s + n - 8);
		*(u64u *)d = a;
		*(u64u *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const u32u *)s, b = *(const u32u *)(s + n - 4);
		*(u32u *)d = a;
		*(u32u *)(d + n - 4) = b;
	} else if (n >= 2) {
		uint16_t a = *(const u16u *)s, b = *(const u16u *)(s + n - 2);
		*(u16u *)d = a;
		*(u16u *)(d + n - 2) = b;
	} else if (n == 1) {
		*d = *s;
	}
}

/*
 * Every size up to 64 is done with head and tail moves that load all their
 * source bytes before storing any, so this is also safe for overlapping
 * buffers; memmove relies on that.
 */
static inline void
copy_upto64(unsigned char *d, const unsigned char *s, size_t n)
{
	if (n <= 16) {
		if (n == 16) {
			*(v16 *)d = *(const v16 *)s;
			return;
		}
		copy_small(d, s, n);
	} else if (n <= 32) {
		v16 a = *(const v16 *)s, b = *(const v16 *)(s + n - 16);
		*(v16 *)d = a;
		*(v16 *)(d + n - 16) = b;
	} else {
		v16 a = *(const v16 *)s, b = *(const v16 *)(s + 16);
		v16 c = *(const v16 *)(s + n - 32), e = *(const v16 *)(s + n - 16);
		*(v16 *)d = a;
		*(v16 *)(d + 16) = b;
		*(v16 *)(d + n - 32) = c;
		*(v16 *)(d + n - 16) = e;
	}
}

static inline void
move64(unsigned char *d, const unsigned char *s)
{
	v16 a = *(const v16 *)s, b = *(const v16 *)(s + 16);
	v16 c = *(const v16 *)(s + 32), e = *(const v16 *)(s + 48);
	*(v16 *)d = a;
	*(v16 *)(d + 16) = b;
	*(v16 *)(d + 32) = c;
	*(v16 *)(d + 48) = e;
}

#if defined(__x86_64__) && !defined(STRING_SANITIZED)
static inline void
rep_movsb(unsigned char *d, const unsigned char *s, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static inline void
rep_stosb(unsigned char *d, unsigned char c, size_t n)
{
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
}
#endif

NO_LIBCALL void *
memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	v16 tail[4];
	size_t skew;

	if (n <= 64) {
		copy_upto64(d, s, n);
		return dst;
	}
#if defined(__x86_64__) && !defined(STRING_SANITIZED)
	if (n >= REP_MIN && (((uintptr_t)d - (uintptr_t)s) & 4095) - 1 >= REP_MOVSB_BAD_DISTANCE - 1) {
		rep_movsb(d, s, n);
		return dst;
	}
#endif
	/* The last 64 bytes are copied last, overlapping the loop's final
	 * block, so the loop needs no remainder handling. */
	tail[0] = *(const v16 *)(s + n - 64);
	tail[1] = *(const v16 *)(s + n - 48);
	tail[2] = *(const v16 *)(s + n - 32);
	tail[3] = *(const v16 *)(s + n - 16);
	/* One unaligned block, then continue from an aligned destination so
	 * no store splits a cache line. */
	move64(d, s);
	skew = 64 - ((uintptr_t)d & 63);
	d += skew;
	s += skew;
	n -= skew;
	while (n > 64) {
		move64(d, s);
		d += 64;
		s += 64;
		n -= 64;
	}
	d += n;
	*(v16 *)(d - 64) = tail[0];
	*(v16 *)(d - 48) = tail[1];
	*(v16 *)(d - 32) = tail[2];
	*(v16 *)(d - 16) = tail[3];
	return dst;
}

NO_LIBCALL void *
memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	v16 edge[4];

	if (n <= 64) {
		copy_upto64(d, s, n);
		return dst;
	}
	/* Disjoint buffers: memcpy's faster path is correct. Compare as
	 * integers; the pointers may belong to different objects. */
	if ((uintptr_t)d - (uintptr_t)s >= n && (uintptr_t)s - (uintptr_t)d >= n)
		return memcpy(dst, src, n);

	if ((uintptr_t)d < (uintptr_t)s) {
		/* Forward: every block is loaded whole before it is stored,
		 * and a store never reaches source bytes not yet loaded. The
		 * last 64 source bytes are saved first for the tail. */
		edge[0] = *(const v16 *)(s + n - 64);
		edge[1] = *(const v16 *)(s + n - 48);
		edge[2] = *(const v16 *)(s + n - 32);
		edge[3] = *(const v16 *)(s + n - 16);
		unsigned char *end = d + n;
		while (n > 64) {
			move64(d, s);
			d += 64;
			s += 64;
			n -= 64;
		}
		*(v16 *)(end - 64) = edge[0];
		*(v16 *)(end - 48) = edge[1];
		*(v16 *)(end - 32) = edge[2];
		*(v16 *)(end - 16) = edge[3];
	} else {
		/* Backward, mirror image: the first 64 bytes go last. */
		edge[0] = *(const v16 *)s;
		edge[1] = *(const v16 *)(s + 16);
		edge[2] = *(const v16 *)(s + 32);
		edge[3] = *(const v16 *)(s + 48);
		unsigned char *start = d;
		while (n > 64) {
			n -= 64;
			move64(d + n, s + n);
		}
		*(v16 *)start = edge[0];
		*(v16 *)(start + 16) = edge[1];
		*(v16 *)(start + 32) = edge[2];
		*(v16 *)(start + 48) = edge[3];
	}
	return dst;
}

NO_LIBCALL void *
memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned char b = (unsigned char)c;
	v16 v = {b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b};
	uint64_t w = 0x0101010101010101ull * b;

	if (n < 16) {
		if (n >= 8) {
			*(u64u *)d = w;
			*(u64u *)(d + n - 8) = w;
		} else if (n >= 4) {
			*(u32u *)d = (uint32_t)w;
			*(u32u *)(d + n - 4) = (uint32_t)w;
		} else {
			while (n--)
				*d++ = b;
		}
		return dst;
	}
	if (n <= 64) {
		*(v16 *)d = v;
		*(v16 *)(d + n - 16) = v;
		if (n > 32) {
			*(v16 *)(d + 16) = v;
			*(v16 *)(d + n - 32) = v;
		}
		return dst;
	}
#if defined(__x86_64__) && !defined(STRING_SANITIZED)
	if (n >= REP_MIN) {
		rep_stosb(d, b, n);
		return dst;
	}
#endif
	/* Unaligned head and tail, aligned blocks between them. */
	unsigned char *end = d + n;
	*(v16 *)d = v;
	*(v16 *)(d + 16) = v;
	*(v16 *)(d + 32) = v;
	*(v16 *)(d + 48) = v;
	d = (unsigned char *)(((uintptr_t)d + 64) & ~(uintptr_t)63);
	while (d + 64 < end) {
		*(v16 *)d = v;
		*(v16 *)(d + 16) = v;
		*(v16 *)(d + 32) = v;
		*(v16 *)(d + 48) = v;
		d += 64;
	}
	*(v16 *)(end - 64) = v;
	*(v16 *)(end - 48) = v;
	*(v16 *)(end - 32) = v;
	*(v16 *)(end - 16) = v;
	return dst;
}

/* The first differing byte decides; on little-endian hosts it is the lowest
 * differing byte of the word, which byte swapping makes the highest. */
static inline int
word_cmp(uint64_t x, uint64_t y)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
	y = __builtin_bswap64(y);
#endif
	return x < y ? -1 : 1;
}

NO_LIBCALL int
memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	while (n >= 8) {
		uint64_t x = *(const u64u *)p, y = *(const u64u *)q;
		if (x != y)
			return word_cmp(x, y);
		p += 8;
		q += 8;
		n -= 8;
	}
	for (; n > 0; n--, p++, q++) {
		if (*p != *q)
			return *p < *q ? -1 : 1;
	}
	return 0;
}

/* A word has a zero byte iff this is non-zero (the classic carry trick). */
static inline uint64_t
has_zero_byte(uint64_t w)
{
	return (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
}

NO_LIBCALL void *
memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	unsigned char b = (unsigned char)c;
	uint64_t pat = 0x0101010101010101ull * b;

	/* Whole words only: never read past n, so sanitizers stay quiet. */
	while (n >= 8) {
		if (has_zero_byte(*(const u64u *)p ^ pat))
			break;
		p += 8;
		n -= 8;
	}
	for (; n > 0; n--, p++) {
		if (*p == b)
			return (void *)(uintptr_t)p;
	}
	return NULL;
}

NO_LIBCALL size_t
strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

NO_LIBCALL size_t
strnlen(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i]; i++)
		continue;
	return i;
}

NO_LIBCALL int
strcmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;

	while (*p && *p == *q) {
		p++;
		q++;
	}
	return (*p > *q) - (*p < *q);
}

NO_LIBCALL int
strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;

	for (; n > 0; n--, p++, q++) {
		if (*p != *q)
			return *p < *q ? -1 : 1;
		if (*p == 0)
			break;
	}
	return 0;
}

NO_LIBCALL char *
strchr(const char *s, int c)
{
	char ch = (char)c;

	for (;; s++) {
		if (*s == ch)
			return (char *)(uintptr_t)s;
		if (*s == 0)
			return NULL;
	}
}

NO_LIBCALL char *
strrchr(const char *s, int c)
{
	char ch = (char)c;
	const char *last = NULL;

	for (;; s++) {
		if (*s == ch)
			last = s;
		if (*s == 0)
			return (char *)(uintptr_t)last;
	}
}

NO_LIBCALL size_t
strlcpy(char *d, const char *s, size_t size)
{
	size_t len = strlen(s);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(d, s, n);
		d[n] = 0;
	}
	return len;
}

NO_LIBCALL size_t
strlcat(char *d, const char *s, size_t size)
{
	/* A destination that is not terminated within size is left alone,
	 * and the result says how long it would have had to be. */
	size_t dlen = strnlen(d, size);

	if (dlen == size)
		return size + strlen(s);
	return dlen + strlcpy(d + dlen, s, size - dlen);
}
