/*
 * anyk version: which tool and kernel this is and how it was built, the
 * first thing to ask for in a bug report.
 */
#include <stdio.h>

#include "tool.h"

#ifndef ANYK_VERSION
#define ANYK_VERSION "unknown"
#endif

static const struct tool_cmd version_cmd = { "version", "", "", NULL };

int
cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return err_usage(&version_cmd, "too many arguments");
	/* The kernel reports its version without being booted. */
	printf("anyk %s\n", ANYK_VERSION);
	printf("kernel %s\n", anyk_version());
#if defined(__clang__)
	printf("built with clang %s", __clang_version__);
#elif defined(__GNUC__)
	printf("built with gcc %s", __VERSION__);
#else
	printf("built with an unknown compiler");
#endif
#if defined(__SANITIZE_ADDRESS__)
	printf(", AddressSanitizer");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	printf(", AddressSanitizer");
#endif
#endif
#if defined(__SANITIZE_THREAD__)
	printf(", ThreadSanitizer");
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	printf(", ThreadSanitizer");
#endif
#endif
#if defined(__OPTIMIZE__)
	printf(", optimized");
#endif
	printf("\n");
	return EXIT_OK;
}
