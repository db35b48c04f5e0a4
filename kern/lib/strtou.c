/*
 * Number parsing for the kernel: mount options, parameters such as
 * ANYK_MEMLIMIT=64m, numeric names. Stricter than strtoull: no leading
 * blanks, no sign, and overflow is an error rather than a clamp.
 */
#include <anyk/abi.h>

#include "kern/lib/libkern.h"

static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

int
kstrtou64(const char *s, char **endp, int base, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	bool overflow = false, any = false;
	int error = 0;

	if (base < 0 || base == 1 || base > 36) {
		error = ANYK_EINVAL;
		goto out;
	}
	/* A "0x" counts as a prefix only if a hex digit follows; "0xg"
	 * is the number 0 followed by "xg", as in C. */
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    digit_value(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	for (;; p++) {
		int d = digit_value(*p);
		if (d >= base)
			break;
		any = true;
		/* The builtins need no 64-bit division, which 32-bit
		 * CPUs would have to call a runtime library for. */
		uint64_t next;
		if (__builtin_mul_overflow(v, (uint64_t)base, &next) ||
		    __builtin_add_overflow(next, (uint64_t)d, &next))
			overflow = true;
		else
			v = next;
	}
	if (!any) {
		p = s;
		v = 0;
		error = ANYK_EINVAL;
	} else if (overflow) {
		v = UINT64_MAX;
		error = ANYK_ERANGE;
	}
out:
	if (endp != NULL)
		*endp = (char *)(uintptr_t)p;
	*out = v;
	return error;
}

int
kparse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;
	unsigned shift = 0;
	int error;

	/* Decimal, or hex with 0x; a leading zero does not mean octal here,
	 * since "0100m" surely means one hundred megabytes. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		error = kstrtou64(s, &end, 16, &v);
	else
		error = kstrtou64(s, &end, 10, &v);
	if (error)
		goto out;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	case 0:
		break;
	default:
		error = ANYK_EINVAL;
		goto out;
	}
	if (shift != 0)
		end++;
	if (*end != 0) {
		error = ANYK_EINVAL;
		goto out;
	}
	if (v > (UINT64_MAX >> shift)) {
		error = ANYK_ERANGE;
		goto out;
	}
	v <<= shift;
out:
	*out = error ? 0 : v;
	return error;
}
