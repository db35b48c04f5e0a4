/*
 * The UTF-8 bytes of a code point, for tests that build names from code
 * points (tests/unit/test_libkern.c, tests/integration/ext2_casefold.c).
 */
#ifndef ANYK_TESTS_UTF8PUT_H
#define ANYK_TESTS_UTF8PUT_H

#include <stddef.h>
#include <stdint.h>

/* Write cp (at most U+10FFFF) at s; the number of bytes, 1 to 4. */
static inline size_t
t_utf8_put(char *s, uint32_t cp)
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xC0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xE0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	s[0] = (char)(0xF0 | cp >> 18);
	s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	s[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	s[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

#endif /* ANYK_TESTS_UTF8PUT_H */
