/*
 * Minimal test harness shared by tests/unit, tests/posix and
 * tests/integration: one line per assertion, counted by tests/run.sh.
 *
 * Include it before any kernel header: it pulls in the libc headers the
 * kernel's headers must not precede.
 */
#ifndef ANYK_TEST_HARNESS_H
#define ANYK_TEST_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int t_failed, t_passed, t_skipped;

/* Run a shell command (the oracles: mke2fs, e2fsck, debugfs, mount);
 * its exit status, or -1 if it did not exit. */
static inline int
t_run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static inline int t_runf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int
t_runf(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return t_run(cmd);
}

/* Are the commands named in names (separated by spaces) there? PATH is
 * first set to the system directories, sbin included, where e2fsprogs
 * live, so that the test then finds them by name. */
static inline int
t_have_tools(const char *names)
{
	const char *p = names;
	int n;

	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	while (*p != '\0') {
		n = (int)strcspn(p, " ");
		if (n > 0 && t_runf("command -v %.*s >/dev/null 2>&1", n, p) != 0)
			return 0;
		p += n;
		p += strspn(p, " ");
	}
	return 1;
}

#define T_OK(cond, ...)                                                        \
	do {                                                                   \
		if (cond) {                                                    \
			t_passed++;                                            \
			printf("ok - ");                                       \
		} else {                                                       \
			t_failed++;                                            \
			printf("not ok - %s:%d: ", __FILE__, __LINE__);        \
		}                                                              \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		fflush(stdout);                                                \
	} while (0)

#define T_EQ(a, b, what)                                                       \
	do {                                                                   \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);        \
		T_OK(t_a_ == t_b_, "%s (got %lld, want %lld)", what, t_a_, t_b_); \
	} while (0)

#define T_SKIP(...)                                                            \
	do {                                                                   \
		t_skipped++;                                                   \
		printf("skip - ");                                             \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		fflush(stdout);                                                \
	} while (0)

/* Exit status for tests/run.sh. */
static inline int t_done(void)
{
	if (t_failed == 0 && t_passed == 0 && t_skipped > 0)
		return 77;
	return t_failed ? 1 : 0;
}

#endif
