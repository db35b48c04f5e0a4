/*
 * The kernel log: line format, the ring wrapping around (oldest text goes,
 * the copy starts at a line boundary), anyk_dmesg truncating to the
 * caller's buffer and reporting the whole length, and over-long lines.
 * Runs without anyk_init.
 */
#include "../harness.h"

#include <anyk/anyk.h>

#include "kern/kernel.h"
#include "kern/init.h"

#define RING 65536

static char big[2 * RING];

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every line of s starts with '[' (its time stamp). */
static int
lines_stamped(const char *s)
{
	for (; *s; s = strchr(s, '\n') + 1) {
		if (*s != '[' || strchr(s, '\n') == NULL)
			return 0;
	}
	return 1;
}

static void
test_format(void)
{
	size_t len;

	log_init(time_mono_ns());
	T_EQ(anyk_dmesg(big, sizeof(big)), 0, "empty log after reset");
	T_EQ(big[0], '\0', "empty copy is NUL-terminated");
	klog(LOG_INFO, "hello %d", 42);
	klog(LOG_INFO, "with newline\n");
	len = anyk_dmesg(big, sizeof(big));
	T_EQ(len, strlen(big), "length returned equals the copy");
	T_OK(strncmp(big, "[    0.0", 8) == 0, "line starts with the time stamp: %.20s", big);
	T_OK(strstr(big, "] hello 42\n") != NULL, "text follows the stamp");
	T_EQ(count_lines(big), 2, "a newline is added only when missing");
	T_EQ(anyk_dmesg(NULL, 0), len, "NULL buffer gives the length");
}

static void
test_truncate(void)
{
	char small[100], tiny[1];
	size_t total;
	int i;

	log_init(time_mono_ns());
	for (i = 0; i < 10; i++)
		klog(LOG_INFO, "line number %d", i);
	total = anyk_dmesg(big, sizeof(big));
	T_EQ(count_lines(big), 10, "ten lines");
	T_EQ(anyk_dmesg(small, sizeof(small)), total, "truncated copy still reports the whole length");
	T_OK(strlen(small) < sizeof(small), "truncated copy fits with its NUL");
	T_OK(small[0] == '[', "truncated copy starts at a line boundary");
	T_OK(strstr(small, "line number 9\n") != NULL, "newest line kept");
	T_OK(strstr(small, "line number 0\n") == NULL, "oldest line dropped");
	T_EQ(anyk_dmesg(tiny, sizeof(tiny)), total, "one-byte buffer: length");
	T_EQ(tiny[0], '\0', "one-byte buffer: just the NUL");
}

static void
test_wrap(void)
{
	char last[64];
	size_t total;
	int i, n = 3000;

	log_init(time_mono_ns());
	for (i = 0; i < n; i++)
		klog(LOG_INFO, "wrap line %05d ..................................................", i);
	total = anyk_dmesg(big, sizeof(big));
	/* Each line's level byte stays in the ring: 1 in 85 bytes. */
	T_OK(total <= RING && total > RING - RING / 80 - 200, "a full ring holds about 64 KiB (%zu)", total);
	T_EQ(strlen(big), total, "whole ring copied");
	T_OK(big[0] == '[', "wrapped log starts at a line boundary");
	snprintf(last, sizeof(last), "wrap line %05d ", n - 1);
	T_OK(strstr(big, last) != NULL, "newest line present");
	T_OK(strstr(big, "wrap line 00000 ") == NULL, "oldest line overwritten");
	T_OK(big[total - 1] == '\n', "ends with a whole line");
}

static void
test_long_line(void)
{
	static char s[2000];

	log_init(time_mono_ns());
	memset(s, 'x', sizeof(s) - 1);
	klog(LOG_INFO, "%s", s);
	klog(LOG_INFO, "after");
	anyk_dmesg(big, sizeof(big));
	T_EQ(count_lines(big), 2, "an over-long line is cut, not split");
	T_OK(strstr(big, "x\n[") != NULL, "the cut line still ends with a newline");
}

static void
test_levels(void)
{
	char small[64];
	size_t all, warn, err;

	log_init(time_mono_ns());
	klog(LOG_INFO, "a note");
	klog(LOG_WARN, "a warning");
	klog(LOG_ERR, "an error");
	klog(LOG_DEBUG, "a detail");
	all = anyk_dmesg(big, sizeof(big));
	T_EQ(count_lines(big), 4, "every level in anyk_dmesg");
	T_OK(lines_stamped(big), "every line starts with its time stamp, not its level");
	warn = anyk_dmesg_level(big, sizeof(big), ANYK_LOG_WARN);
	T_EQ(warn, strlen(big), "length of the selection");
	T_EQ(count_lines(big), 2, "warnings and errors only");
	T_OK(strstr(big, "] a warning\n") != NULL && strstr(big, "] an error\n") != NULL,
	     "both severe lines kept: %s", big);
	T_OK(strstr(big, "a note") == NULL && strstr(big, "a detail") == NULL, "notes left out");
	err = anyk_dmesg_level(big, sizeof(big), ANYK_LOG_ERR);
	T_EQ(count_lines(big), 1, "errors only");
	T_OK(err < warn && warn < all, "selections shrink: %zu < %zu < %zu", err, warn, all);
	T_EQ(anyk_dmesg_level(NULL, 0, ANYK_LOG_WARN), warn, "NULL buffer gives the selection's length");
	T_EQ(anyk_dmesg_level(small, 30, ANYK_LOG_WARN), warn, "truncated selection: whole length");
	T_OK(lines_stamped(small), "truncated selection starts at a line");
	T_OK(strstr(small, "a warning") == NULL, "the oldest selected line goes first");
	T_EQ(anyk_dmesg_level(big, sizeof(big), -1), 0, "below every level: nothing");
}

int
main(void)
{
	test_levels();
	test_format();
	test_truncate();
	test_wrap();
	test_long_line();
	return t_done();
}
