/*
 * libkern: the small library every kernel file may use — strings, formatted
 * output, byte order, intrusive lists, hash tables, red-black trees, bitmaps
 * and crc32c. Freestanding: it needs nothing but the compiler.
 *
 * Hosted code (unit tests) that includes this header must include its libc
 * headers first: the string functions below are also macros for the
 * compiler's builtins, which lets it inline small fixed-size copies even
 * though the kernel is compiled with -ffreestanding.
 */
#ifndef ANYK_LIBKERN_H
#define ANYK_LIBKERN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- helpers -------------------------------------------------------------- */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define howmany(x, y) (((x) + ((y) - 1)) / (y))
#define roundup(x, y) (howmany(x, y) * (y))
#define rounddown(x, y) (((x) / (y)) * (y))
#define roundup2(x, y) (((x) + ((y) - 1)) & ~((__typeof__(x))(y) - 1)) /* y: power of 2 */
#define rounddown2(x, y) ((x) & ~((__typeof__(x))(y) - 1))
#define powerof2(x) ((((x) - 1) & (x)) == 0)
#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __unused __attribute__((unused))
#define __printflike(f, a) __attribute__((format(printf, f, a)))
#define __noreturn __attribute__((noreturn))

static inline unsigned ilog2_u64(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x | 1); }

/* --- strings and memory (same contracts as the C library) ----------------- */

void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
/* BSD strlcpy/strlcat: always NUL-terminate (if size > 0), return the
 * length of the string they tried to create. */
size_t strlcpy(char *d, const char *s, size_t size);
size_t strlcat(char *d, const char *s, size_t size);

#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define strlen(s) __builtin_strlen(s)

/* Parse an unsigned number in base 8, 10 or 16 (base 0: C prefixes). Stops
 * at the first non-digit; *endp (if not NULL) points there. 0, EINVAL (no
 * digits) or ERANGE (overflow). */
int kstrtou64(const char *s, char **endp, int base, uint64_t *out);
/* Parse a size with an optional k/m/g/t suffix (powers of 1024), e.g. "64m".
 * The whole string must be consumed. 0, EINVAL or ERANGE. */
int kparse_size(const char *s, uint64_t *out);

/* --- formatted output ------------------------------------------------------ */

/* Like C vsnprintf: flags "-0+ #", width and precision (also '*'), lengths
 * hh h l ll z t j, conversions d i u o x X c s p %. Returns the length the
 * full output would have; always NUL-terminates if size > 0. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printflike(3, 4);

/* --- byte order: read and write on-disk / on-wire fields ------------------- */

static inline uint16_t le16dec(const void *p) { const uint8_t *b = p; return (uint16_t)(b[0] | b[1] << 8); }
static inline uint32_t le32dec(const void *p) { const uint8_t *b = p; return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static inline uint64_t le64dec(const void *p) { const uint8_t *b = p; return (uint64_t)le32dec(b) | (uint64_t)le32dec(b + 4) << 32; }
static inline uint16_t be16dec(const void *p) { const uint8_t *b = p; return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t be32dec(const void *p) { const uint8_t *b = p; return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3]; }
static inline uint64_t be64dec(const void *p) { const uint8_t *b = p; return (uint64_t)be32dec(b) << 32 | be32dec(b + 4); }
static inline void le16enc(void *p, uint16_t v) { uint8_t *b = p; b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static inline void le32enc(void *p, uint32_t v) { uint8_t *b = p; b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24); }
static inline void le64enc(void *p, uint64_t v) { le32enc(p, (uint32_t)v); le32enc((uint8_t *)p + 4, (uint32_t)(v >> 32)); }
static inline void be16enc(void *p, uint16_t v) { uint8_t *b = p; b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }
static inline void be32enc(void *p, uint32_t v) { uint8_t *b = p; b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16); b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v; }
static inline void be64enc(void *p, uint64_t v) { be32enc(p, (uint32_t)(v >> 32)); be32enc((uint8_t *)p + 4, (uint32_t)v); }

/* --- intrusive doubly linked lists ----------------------------------------- */

/* A list is a struct dlist head whose next/prev point to itself when empty;
 * elements embed a struct dlist. */
struct dlist {
	struct dlist *next, *prev;
};
#define DLIST_INIT(h) { &(h), &(h) }
static inline void dlist_init(struct dlist *h) { h->next = h->prev = h; }
static inline bool dlist_empty(const struct dlist *h) { return h->next == h; }
static inline void dlist_insert_after(struct dlist *pos, struct dlist *e)
{
	e->prev = pos; e->next = pos->next; pos->next->prev = e; pos->next = e;
}
static inline void dlist_insert_head(struct dlist *h, struct dlist *e) { dlist_insert_after(h, e); }
static inline void dlist_insert_tail(struct dlist *h, struct dlist *e) { dlist_insert_after(h->prev, e); }
static inline void dlist_remove(struct dlist *e)
{
	e->prev->next = e->next; e->next->prev = e->prev; e->next = e->prev = e;
}
#define dlist_entry(p, type, member) container_of(p, type, member)
#define dlist_first(h, type, member) (dlist_empty(h) ? (type *)0 : dlist_entry((h)->next, type, member))
#define dlist_foreach(it, h) for ((it) = (h)->next; (it) != (h); (it) = (it)->next)
#define dlist_foreach_safe(it, tmp, h) \
	for ((it) = (h)->next, (tmp) = (it)->next; (it) != (h); (it) = (tmp), (tmp) = (it)->next)

/* --- hashing and intrusive hash tables ------------------------------------- */

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed); /* fast, well mixed */
uint64_t hash_str(const char *s, uint64_t seed);
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
	return x;
}

/* Chained hash table with a caller-provided bucket array of 2^order heads.
 * It does no locking and no allocation; the caller owns both. */
struct hnode {
	struct hnode *next;
};
struct htab {
	struct hnode **buckets;
	unsigned order;
	size_t count;
};
void htab_init(struct htab *t, struct hnode **buckets, unsigned order);
static inline struct hnode **htab_bucket(struct htab *t, uint64_t hash)
{
	return &t->buckets[hash & (((uint64_t)1 << t->order) - 1)];
}
void htab_insert(struct htab *t, uint64_t hash, struct hnode *n);
/* Remove n (must be present); returns true if it was found. */
bool htab_remove(struct htab *t, uint64_t hash, struct hnode *n);
/* Move every node into a new bucket array of 2^order heads; rehash(n) gives
 * a node's hash. */
void htab_resize(struct htab *t, struct hnode **buckets, unsigned order, uint64_t (*rehash)(struct hnode *));
#define htab_foreach_bucket(it, t, hash) for ((it) = *htab_bucket((t), (hash)); (it); (it) = (it)->next)

/* --- red-black trees -------------------------------------------------------- */

/* Intrusive; the comparison functions order nodes and compare a key with a
 * node. No allocation, no locking. */
struct rb_node {
	struct rb_node *parent, *left, *right;
	int red;
};
struct rb_tree {
	struct rb_node *root;
	int (*cmp_nodes)(const struct rb_node *a, const struct rb_node *b);
	int (*cmp_key)(const struct rb_node *n, const void *key); /* <0: n < key */
	size_t count;
};
void rb_init(struct rb_tree *t, int (*cmp_nodes)(const struct rb_node *, const struct rb_node *),
	     int (*cmp_key)(const struct rb_node *, const void *));
/* Insert n; if an equal node exists, return it and leave the tree as it was. */
struct rb_node *rb_insert(struct rb_tree *t, struct rb_node *n);
void rb_remove(struct rb_tree *t, struct rb_node *n);
struct rb_node *rb_find(const struct rb_tree *t, const void *key);
/* First node >= key (NULL if none). */
struct rb_node *rb_lower_bound(const struct rb_tree *t, const void *key);
struct rb_node *rb_min(const struct rb_tree *t);
struct rb_node *rb_max(const struct rb_tree *t);
struct rb_node *rb_next(const struct rb_node *n);
struct rb_node *rb_prev(const struct rb_node *n);

/* --- bitmaps (arrays of bits, LSB-first within each byte as on disk) ------- */

static inline bool bit_test(const uint8_t *map, size_t i) { return (map[i >> 3] >> (i & 7)) & 1; }
static inline void bit_set(uint8_t *map, size_t i) { map[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void bit_clear(uint8_t *map, size_t i) { map[i >> 3] &= (uint8_t)~(1u << (i & 7)); }
/* First clear/set bit in [start, nbits), or nbits if none. Word-at-a-time. */
size_t bit_find_zero(const uint8_t *map, size_t nbits, size_t start);
size_t bit_find_set(const uint8_t *map, size_t nbits, size_t start);
/* Set bits in [start, nbits). */
size_t bit_count(const uint8_t *map, size_t start, size_t nbits);
void bit_set_range(uint8_t *map, size_t start, size_t n);
void bit_clear_range(uint8_t *map, size_t start, size_t n);

/* --- checksums ------------------------------------------------------------- */

/* CRC-32C (Castagnoli), as ext4 and jbd2 use it: pass the previous value
 * (~0 to start, as those formats do) and get the next; no final inversion. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable table-driven CRC-32C, whatever crc32c() uses on this CPU
 * (tests compare the two). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* CRC-16 (ANSI, as ext4 group descriptors without metadata_csum use). */
uint16_t crc16(uint16_t crc, const void *buf, size_t len);

/* --- Unicode names --------------------------------------------------------- */

/* utf8fold.c: names folded for comparison without case, as ext4's
 * "utf8-12.1" encoding folds them (Unicode 12.1 full case folding and
 * canonical decomposition, default ignorable code points dropped). Two names
 * are the same without case when their foldings are equal byte for byte.
 * utf8_fold folds name (at most UTF8_FOLD_NAME_MAX bytes) into out, which
 * has room for UTF8_FOLD_MAX bytes, and returns the folding's length; -1 if
 * name is not UTF-8 (or too long), out then undefined. A NUL ends the name. */
#define UTF8_FOLD_NAME_MAX 255
#define UTF8_FOLD_MAX 768
int utf8_fold(const char *name, size_t len, char *out);
/* Is s, len bytes, well-formed UTF-8 (shortest forms, no surrogates, at
 * most U+10FFFF, no NUL)? */
bool utf8_valid(const char *s, size_t len);

#endif /* ANYK_LIBKERN_H */
