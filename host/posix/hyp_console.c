/*
 * The kernel's console, parameters and way out: log text goes to the
 * program's standard error, parameters come from the environment, and
 * exit/panic end the process.
 */
#include "hyp_posix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Straight to the descriptor: stdio's buffer and lock would make a panic
 * message from a wedged thread wait, and short lines of several threads
 * interleave no worse than they would through stdio. */
static void
console_write(const char *s, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(STDERR_FILENO, s, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return; /* the console may drop text */
		}
		s += r;
		n -= (size_t)r;
	}
}

void
anyk_hyp_console(const char *s, size_t n)
{
	int saved = errno; /* logging must not disturb the caller's errno */

	if (s != NULL)
		console_write(s, n);
	errno = saved;
}

int
anyk_hyp_getparam(const char *name, char *buf, size_t len)
{
	const char *v;
	size_t n;

	if (name == NULL || (buf == NULL && len > 0))
		return ANYK_EINVAL;
	v = getenv(name);
	if (v == NULL)
		return ANYK_ENOENT;
	n = strlen(v);
	if (n >= len)
		return ANYK_ENAMETOOLONG;
	memcpy(buf, v, n + 1);
	return 0;
}

_Noreturn void
anyk_hyp_exit(int status)
{
	exit(status);
}

_Noreturn void
anyk_hyp_panic(const char *msg)
{
	static const char pfx[] = "anyk: panic: ";

	console_write(pfx, sizeof(pfx) - 1);
	if (msg != NULL)
		console_write(msg, strlen(msg));
	console_write("\n", 1);
	/* abort, not exit: leave a core and skip atexit handlers that would
	 * run into the inconsistent kernel. */
	abort();
}
