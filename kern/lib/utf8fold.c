/*
 * Names compared without case, as ext4 compares those in its
 * case-insensitive directories: each name is folded to a canonical form
 * and the forms are compared byte for byte (and hashed, for the directory
 * index). The tables come from the Unicode Character Database by
 * mkutf8fold.py, which says what they hold.
 *
 * A name folds one character at a time: ASCII letters to lower case, any
 * other character through the tables (to its full case folding, fully
 * decomposed; a default ignorable code point to nothing; a Hangul syllable
 * to its jamo). Then each run of combining characters (class other than 0)
 * is put in ascending order of class, stably; a character that folded to
 * nothing ends a run as a starter would. Names are short (ext4's at most
 * 255 bytes), so the whole name is folded into a buffer on the stack.
 */
#include "kern/lib/libkern.h"

struct uf_ccc {
	uint32_t first, last;
	uint8_t ccc;
};
struct uf_range {
	uint32_t first, last;
};
struct uf_map {
	uint32_t cp;
	uint16_t off;
	uint8_t n;
};

#include "kern/lib/utf8fold_data.h"

_Static_assert(UTF8_FOLD_NAME_MAX * UF_GROW_BYTES <= UTF8_FOLD_MAX, "UTF8_FOLD_MAX too small");

#define UF_NONE 0xFFFFFFFFu /* folded to nothing: no output, ends a run */
#define UF_CP(x) ((x) & 0xFFFFFFu)
#define UF_CLASS(x) ((x) >> 24)

#define HANGUL_FIRST 0xAC00u
#define HANGUL_LAST 0xD7A3u

/* Decode the character at s (n > 0 bytes left): its length, 0 if the
 * bytes are not UTF-8. */
static size_t
decode(const uint8_t *s, size_t n, uint32_t *cpp)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80) {
		*cpp = s[0];
		return 1;
	}
	if (s[0] < 0xC2) /* a continuation byte, or an overlong 2-byte form */
		return 0;
	if (s[0] < 0xE0) {
		cp = s[0] & 0x1Fu;
		len = 2;
		min = 0x80;
	} else if (s[0] < 0xF0) {
		cp = s[0] & 0x0Fu;
		len = 3;
		min = 0x800;
	} else if (s[0] < 0xF5) {
		cp = s[0] & 0x07u;
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0u) != 0x80u)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu))
		return 0;
	*cpp = cp;
	return len;
}

static size_t
encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static uint32_t
class_of(uint32_t cp)
{
	size_t lo = 0, hi = ARRAY_SIZE(uf_ccc);

	if (cp < uf_ccc[0].first)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp < uf_ccc[mid].first)
			hi = mid;
		else if (cp > uf_ccc[mid].last)
			lo = mid + 1;
		else
			return uf_ccc[mid].ccc;
	}
	return 0;
}

static bool
ignorable(uint32_t cp)
{
	if (cp < uf_ignorable[0].first)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(uf_ignorable) && cp >= uf_ignorable[i].first; i++)
		if (cp <= uf_ignorable[i].last)
			return true;
	return false;
}

static const struct uf_map *
map_of(uint32_t cp)
{
	size_t lo = 0, hi = ARRAY_SIZE(uf_map);

	if (cp < uf_map[0].cp || cp > uf_map[ARRAY_SIZE(uf_map) - 1].cp)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp < uf_map[mid].cp)
			hi = mid;
		else if (cp > uf_map[mid].cp)
			lo = mid + 1;
		else
			return &uf_map[mid];
	}
	return NULL;
}

static inline char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int
utf8_fold(const char *name, size_t len, char *out)
{
	uint32_t buf[UTF8_FOLD_NAME_MAX * UF_GROW_CHARS];
	const uint8_t *s = (const uint8_t *)name;
	size_t i, n = 0, o = 0, k;
	uint32_t cp;

	if (len > UTF8_FOLD_NAME_MAX)
		return -1;
	/* Most names are ASCII: lower case is their folding. */
	for (i = 0; i < len && s[i] < 0x80 && s[i] != 0; i++)
		out[i] = ascii_lower(name[i]);
	if (i == len)
		return (int)len;
	for (i = 0; i < len && s[i] != 0; i += k) {
		k = decode(s + i, len - i, &cp);
		if (k == 0)
			return -1;
		if (cp < 0x80) {
			buf[n++] = (uint32_t)(uint8_t)ascii_lower((char)cp);
		} else if (ignorable(cp)) {
			buf[n++] = UF_NONE;
		} else if (cp >= HANGUL_FIRST && cp <= HANGUL_LAST) {
			uint32_t si = cp - HANGUL_FIRST;

			buf[n++] = 0x1100 + si / 588;
			buf[n++] = 0x1161 + si % 588 / 28;
			if (si % 28)
				buf[n++] = 0x11A7 + si % 28;
		} else {
			const struct uf_map *m = map_of(cp);

			if (m == NULL) {
				buf[n++] = cp | class_of(cp) << 24;
			} else {
				for (uint32_t j = 0; j < m->n; j++)
					buf[n++] = uf_pool[m->off + j];
			}
		}
	}
	/* Canonical order: each combining character moves back past those of
	 * a higher class, never past a starter or a dropped character. */
	for (i = 1; i < n; i++) {
		uint32_t x = buf[i], c = x == UF_NONE ? 0 : UF_CLASS(x);
		size_t j = i;

		if (c == 0)
			continue;
		while (j > 0 && buf[j - 1] != UF_NONE && UF_CLASS(buf[j - 1]) > c) {
			buf[j] = buf[j - 1];
			j--;
		}
		buf[j] = x;
	}
	for (i = 0; i < n; i++)
		if (buf[i] != UF_NONE)
			o += encode(UF_CP(buf[i]), out + o);
	return (int)o;
}

bool
utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t cp;
	size_t k;

	for (size_t i = 0; i < len; i += k) {
		if (p[i] == 0 || (k = decode(p + i, len - i, &cp)) == 0)
			return false;
	}
	return true;
}
