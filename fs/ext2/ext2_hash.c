/*
 * Name hashes of indexed (dir_index, "htree") directories. The index orders
 * leaf blocks by a 31-bit hash of each name; which function made it is
 * recorded in the index root. Three families exist, each with a variant
 * that reads name bytes as signed chars (what x86 kernels once did) and one
 * that reads them unsigned; the superblock says which one the creator used.
 *
 *   legacy: a small multiplicative hash;
 *   half-MD4: the name in 32-byte pieces, each through a reduced (three
 *     round, four word) MD4 compression of a 4-word state;
 *   TEA: the name in 16-byte pieces, each through 16 rounds of the Tiny
 *     Encryption Algorithm keyed by the piece, encrypting the state.
 *
 * The state starts from the superblock's hash seed (or MD4's initial
 * constants if the seed is all zeros).
 */
#include "fs/ext2/ext2.h"

#define HASH_EOF_32 0x7fffffffu

static inline uint32_t
rol32(uint32_t x, unsigned s)
{
	return (x << s) | (x >> (32 - s));
}

static uint32_t
hash_legacy(const char *name, size_t len, bool is_signed)
{
	uint32_t h, h0 = 0x12a3fe2d, h1 = 0x37abe8f9;

	for (size_t i = 0; i < len; i++) {
		int32_t c = is_signed ? (int32_t)(int8_t)name[i] : (int32_t)(uint8_t)name[i];

		h = h1 + (h0 ^ (uint32_t)c * 7152373u);
		if (h & 0x80000000u)
			h -= 0x7fffffffu;
		h1 = h0;
		h0 = h;
	}
	return h0 << 1;
}

/* Pack up to 4 * nwords name bytes into words, big-end first within each
 * word, padding with a pattern made of the length. */
static void
name_to_words(const char *name, size_t len, uint32_t *out, int nwords, bool is_signed)
{
	uint32_t pad, val;
	size_t i, n;
	int w = 0;

	pad = (uint32_t)len | ((uint32_t)len << 8);
	pad |= pad << 16;
	val = pad;
	n = MIN(len, (size_t)nwords * 4);
	for (i = 0; i < n; i++) {
		int32_t c = is_signed ? (int32_t)(int8_t)name[i] : (int32_t)(uint8_t)name[i];

		val = (uint32_t)c + (val << 8);
		if (i % 4 == 3) {
			out[w++] = val;
			val = pad;
		}
	}
	if (w < nwords)
		out[w++] = val;
	while (w < nwords)
		out[w++] = pad;
}

#define MD4_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD4_G(x, y, z) (((x) & (y)) + (((x) ^ (y)) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD4_STEP(f, a, b, c, d, x, s) ((a) = rol32((a) + f((b), (c), (d)) + (x), (s)))
#define MD4_K2 0x5A827999u
#define MD4_K3 0x6ED9EBA1u

static void
half_md4(uint32_t st[4], const uint32_t in[8])
{
	uint32_t a = st[0], b = st[1], c = st[2], d = st[3];

	MD4_STEP(MD4_F, a, b, c, d, in[0], 3);
	MD4_STEP(MD4_F, d, a, b, c, in[1], 7);
	MD4_STEP(MD4_F, c, d, a, b, in[2], 11);
	MD4_STEP(MD4_F, b, c, d, a, in[3], 19);
	MD4_STEP(MD4_F, a, b, c, d, in[4], 3);
	MD4_STEP(MD4_F, d, a, b, c, in[5], 7);
	MD4_STEP(MD4_F, c, d, a, b, in[6], 11);
	MD4_STEP(MD4_F, b, c, d, a, in[7], 19);

	MD4_STEP(MD4_G, a, b, c, d, in[1] + MD4_K2, 3);
	MD4_STEP(MD4_G, d, a, b, c, in[3] + MD4_K2, 5);
	MD4_STEP(MD4_G, c, d, a, b, in[5] + MD4_K2, 9);
	MD4_STEP(MD4_G, b, c, d, a, in[7] + MD4_K2, 13);
	MD4_STEP(MD4_G, a, b, c, d, in[0] + MD4_K2, 3);
	MD4_STEP(MD4_G, d, a, b, c, in[2] + MD4_K2, 5);
	MD4_STEP(MD4_G, c, d, a, b, in[4] + MD4_K2, 9);
	MD4_STEP(MD4_G, b, c, d, a, in[6] + MD4_K2, 13);

	MD4_STEP(MD4_H, a, b, c, d, in[3] + MD4_K3, 3);
	MD4_STEP(MD4_H, d, a, b, c, in[7] + MD4_K3, 9);
	MD4_STEP(MD4_H, c, d, a, b, in[2] + MD4_K3, 11);
	MD4_STEP(MD4_H, b, c, d, a, in[6] + MD4_K3, 15);
	MD4_STEP(MD4_H, a, b, c, d, in[1] + MD4_K3, 3);
	MD4_STEP(MD4_H, d, a, b, c, in[5] + MD4_K3, 9);
	MD4_STEP(MD4_H, c, d, a, b, in[0] + MD4_K3, 11);
	MD4_STEP(MD4_H, b, c, d, a, in[4] + MD4_K3, 15);

	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
}

static void
tea(uint32_t st[4], const uint32_t in[4])
{
	uint32_t sum = 0, v0 = st[0], v1 = st[1];

	for (int n = 0; n < 16; n++) {
		sum += 0x9E3779B9u;
		v0 += ((v1 << 4) + in[0]) ^ (v1 + sum) ^ ((v1 >> 5) + in[1]);
		v1 += ((v0 << 4) + in[2]) ^ (v0 + sum) ^ ((v0 >> 5) + in[3]);
	}
	st[0] += v0;
	st[1] += v1;
}

int
ext2_dirhash(const char *name, size_t len, int version, const uint32_t seed[4], uint32_t *hashp,
	     uint32_t *minorp)
{
	uint32_t st[4] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u };
	uint32_t in[8], hash = 0, minor = 0;
	bool is_signed = version <= DX_HASH_TEA;

	if (seed != NULL && (seed[0] | seed[1] | seed[2] | seed[3]) != 0)
		memcpy(st, seed, sizeof(st));
	switch (version) {
	case DX_HASH_LEGACY:
	case DX_HASH_LEGACY_UNSIGNED:
		hash = hash_legacy(name, len, is_signed);
		break;
	case DX_HASH_HALF_MD4:
	case DX_HASH_HALF_MD4_UNSIGNED:
		for (size_t off = 0;; off += 32) {
			name_to_words(name + off, len - off, in, 8, is_signed);
			half_md4(st, in);
			if (len - off <= 32)
				break;
		}
		hash = st[1];
		minor = st[2];
		break;
	case DX_HASH_TEA:
	case DX_HASH_TEA_UNSIGNED:
		for (size_t off = 0;; off += 16) {
			name_to_words(name + off, len - off, in, 4, is_signed);
			tea(st, in);
			if (len - off <= 16)
				break;
		}
		hash = st[0];
		minor = st[1];
		break;
	default:
		return EINVAL;
	}
	/* The low bit marks collision chains in the index, and the top value
	 * is reserved as end-of-directory for 32-bit readdir cookies. */
	hash &= ~1u;
	if (hash == (HASH_EOF_32 << 1))
		hash = (HASH_EOF_32 - 1) << 1;
	*hashp = hash;
	if (minorp != NULL)
		*minorp = minor;
	return 0;
}
