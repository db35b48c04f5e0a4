/*
 * Formatted output for the kernel: dmesg lines, names built from numbers,
 * error reports. The conversions are those of C's snprintf that the kernel
 * needs (no floating point, no %n), with the same truncation contract: the
 * result is the length the whole output would have had, and the buffer is
 * always terminated.
 */
#include <limits.h>

#include "kern/lib/libkern.h"

#define F_MINUS 0x01 /* left-justify */
#define F_PLUS 0x02  /* always a sign */
#define F_SPACE 0x04 /* space where a plus sign would go */
#define F_ALT 0x08   /* '#': 0 / 0x prefix */
#define F_ZERO 0x10  /* pad with zeros */

/* Widths and precisions beyond this are clamped, so that their arithmetic
 * cannot overflow; the output is truncated to the buffer anyway. */
#define FMT_MAX_FIELD (INT_MAX / 2)

enum lenmod { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_PTRDIFF, LEN_INTMAX };

struct outbuf {
	char *buf;
	size_t size; /* bytes available, including the terminator */
	size_t len;  /* bytes the full output has so far */
};

/* Bytes still free in the buffer, keeping one for the terminator. */
static size_t
out_room(const struct outbuf *o)
{
	return o->len + 1 < o->size ? o->size - 1 - o->len : 0;
}

static void
out_char(struct outbuf *o, char c)
{
	if (out_room(o) > 0)
		o->buf[o->len] = c;
	o->len++;
}

/* Padding past the end of the buffer is only counted, so that a huge width
 * costs nothing. */
static void
out_repeat(struct outbuf *o, char c, int n)
{
	size_t k, room = out_room(o);

	if (n <= 0)
		return;
	k = (size_t)n < room ? (size_t)n : room;
	for (size_t i = 0; i < k; i++)
		o->buf[o->len + i] = c;
	o->len += (size_t)n;
}

static void
out_str(struct outbuf *o, const char *s, size_t n)
{
	size_t k, room = out_room(o);

	k = n < room ? n : room;
	for (size_t i = 0; i < k; i++)
		o->buf[o->len + i] = s[i];
	o->len += n;
}

/*
 * On 32-bit CPUs a 64-bit division is a call into the compiler's runtime
 * library, which the kernel does not link; there we divide in 16-bit limbs
 * with 32-bit arithmetic instead.
 */
#if !defined(FORMAT_DIV_LIMBS) && UINTPTR_MAX <= 0xffffffffu
#define FORMAT_DIV_LIMBS 1
#endif

/* *v /= base; returns the remainder. */
static unsigned
divmod(uint64_t *v, unsigned base)
{
#if FORMAT_DIV_LIMBS
	uint64_t q = 0;
	uint32_t r = 0;

	for (int shift = 48; shift >= 0; shift -= 16) {
		uint32_t cur = r << 16 | (uint32_t)((*v >> shift) & 0xffff);
		q |= (uint64_t)(cur / base) << shift;
		r = cur % base;
	}
	*v = q;
	return r;
#else
	unsigned r = (unsigned)(*v % base);
	*v /= base;
	return r;
#endif
}

/* Digits of v in base, least significant last; returns their number. */
static int
utoa(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;

	do {
		*--p = digits[divmod(&v, base)];
	} while (v != 0);
	return (int)(end - p);
}

/*
 * One integer conversion. prefix is the sign or "0x"; precision < 0 means
 * none was given.
 */
static void
out_number(struct outbuf *o, uint64_t v, unsigned base, bool upper, const char *prefix,
	   int flags, int width, int precision)
{
	char digits[24]; /* 64 bits in octal is 22 digits */
	int ndig, nzero, plen, total;

	plen = (int)strlen(prefix);
	if (precision == 0 && v == 0)
		ndig = 0; /* "%.0d" of 0 prints nothing */
	else
		ndig = utoa(digits + sizeof(digits), v, base, upper);
	nzero = precision > ndig ? precision - ndig : 0;
	/* '#' with octal: the first digit must be a zero. */
	if ((flags & F_ALT) && base == 8 && nzero == 0 && (ndig == 0 || digits[sizeof(digits) - ndig] != '0'))
		nzero = 1;
	total = plen + nzero + ndig;
	/* The zero flag pads with zeros after the prefix, unless a precision
	 * or left-justification says otherwise. */
	if ((flags & (F_ZERO | F_MINUS)) == F_ZERO && precision < 0 && width > total) {
		nzero += width - total;
		total = width;
	}
	if (!(flags & F_MINUS))
		out_repeat(o, ' ', width - total);
	out_str(o, prefix, (size_t)plen);
	out_repeat(o, '0', nzero);
	out_str(o, digits + sizeof(digits) - ndig, (size_t)ndig);
	if (flags & F_MINUS)
		out_repeat(o, ' ', width - total);
}

static void
out_padded(struct outbuf *o, const char *s, size_t n, int flags, int width)
{
	int pad = (size_t)width > n ? width - (int)n : 0;

	if (!(flags & F_MINUS))
		out_repeat(o, ' ', pad);
	out_str(o, s, n);
	if (flags & F_MINUS)
		out_repeat(o, ' ', pad);
}

static int
parse_num(const char **fp)
{
	const char *f = *fp;
	int v = 0;

	while (*f >= '0' && *f <= '9') {
		if (v < FMT_MAX_FIELD)
			v = v * 10 + (*f - '0');
		f++;
	}
	*fp = f;
	return v < FMT_MAX_FIELD ? v : FMT_MAX_FIELD;
}

static int64_t
arg_signed(va_list *ap, enum lenmod len)
{
	switch (len) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
		/* The signed type of size_t's width. */
		return (int64_t)(ptrdiff_t)va_arg(*ap, size_t);
	case LEN_PTRDIFF:
		return va_arg(*ap, ptrdiff_t);
	case LEN_INTMAX:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

static uint64_t
arg_unsigned(va_list *ap, enum lenmod len)
{
	switch (len) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	case LEN_PTRDIFF:
		return (uint64_t)(uintptr_t)va_arg(*ap, ptrdiff_t);
	case LEN_INTMAX:
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

int
kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap0)
{
	struct outbuf o = {buf, size, 0};
	va_list ap;

	/* A copy, so that helpers can take it by pointer portably. */
	va_copy(ap, ap0);
	while (*fmt) {
		const char *start = fmt;
		int flags = 0, width = 0, precision = -1;
		enum lenmod len = LEN_INT;

		if (*fmt != '%') {
			out_char(&o, *fmt++);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				flags |= F_MINUS;
			else if (*fmt == '+')
				flags |= F_PLUS;
			else if (*fmt == ' ')
				flags |= F_SPACE;
			else if (*fmt == '#')
				flags |= F_ALT;
			else if (*fmt == '0')
				flags |= F_ZERO;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_MINUS;
				width = width == INT_MIN ? FMT_MAX_FIELD : -width;
			}
			if (width > FMT_MAX_FIELD)
				width = FMT_MAX_FIELD;
			fmt++;
		} else {
			width = parse_num(&fmt);
		}
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				precision = va_arg(ap, int);
				if (precision < 0)
					precision = -1; /* as if none were given */
				else if (precision > FMT_MAX_FIELD)
					precision = FMT_MAX_FIELD;
				fmt++;
			} else {
				precision = parse_num(&fmt);
			}
		}
		switch (*fmt) {
		case 'h':
			fmt++;
			len = LEN_SHORT;
			if (*fmt == 'h') {
				fmt++;
				len = LEN_CHAR;
			}
			break;
		case 'l':
			fmt++;
			len = LEN_LONG;
			if (*fmt == 'l') {
				fmt++;
				len = LEN_LLONG;
			}
			break;
		case 'z':
			fmt++;
			len = LEN_SIZE;
			break;
		case 't':
			fmt++;
			len = LEN_PTRDIFF;
			break;
		case 'j':
			fmt++;
			len = LEN_INTMAX;
			break;
		default:
			break;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&ap, len);
			/* Negate in unsigned arithmetic: INT64_MIN has no
			 * positive counterpart. */
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			const char *sign = v < 0 ? "-" : (flags & F_PLUS) ? "+" : (flags & F_SPACE) ? " " : "";
			out_number(&o, mag, 10, false, sign, flags, width, precision);
			break;
		}
		case 'u':
			out_number(&o, arg_unsigned(&ap, len), 10, false, "", flags, width, precision);
			break;
		case 'o':
			out_number(&o, arg_unsigned(&ap, len), 8, false, "", flags, width, precision);
			break;
		case 'x':
		case 'X': {
			uint64_t v = arg_unsigned(&ap, len);
			const char *prefix = "";
			if ((flags & F_ALT) && v != 0)
				prefix = *fmt == 'x' ? "0x" : "0X";
			out_number(&o, v, 16, *fmt == 'X', prefix, flags, width, precision);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			out_number(&o, v, 16, false, "0x", flags, width, precision);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			out_padded(&o, &c, 1, flags, width);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n;
			if (s == NULL)
				s = "(null)";
			/* With a precision the string need not be terminated:
			 * never look past it. */
			n = precision >= 0 ? strnlen(s, (size_t)precision) : strlen(s);
			out_padded(&o, s, n, flags, width);
			break;
		}
		case '%':
			out_char(&o, '%');
			break;
		default:
			/* Unknown or unsupported (%n, %f): print the directive
			 * as it stands. We cannot know what argument it meant,
			 * so none is taken. A '%' at the very end is kept. */
			if (*fmt == 0) {
				out_str(&o, start, (size_t)(fmt - start));
				continue;
			}
			out_str(&o, start, (size_t)(fmt - start) + 1);
			break;
		}
		fmt++;
	}
	va_end(ap);

	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = 0;
	return o.len > INT_MAX ? INT_MAX : (int)o.len;
}

int
ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
