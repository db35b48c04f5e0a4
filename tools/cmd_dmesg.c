/*
 * anyk dmesg: boot the kernel and show its log, to see what a build links
 * in and how the boot went.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const struct tool_cmd dmesg_cmd = { "dmesg", "", "", NULL };

int
cmd_dmesg(int argc, char **argv)
{
	char *log;
	size_t len;
	int status;

	(void)argv;
	if (argc > 1)
		return err_usage(&dmesg_cmd, "too many arguments");
	status = boot_kernel();
	if (status != EXIT_OK)
		return status;
	log = read_dmesg();
	if (log == NULL) {
		errno = ENOMEM;
		status = err_path("dmesg");
	} else {
		len = strlen(log);
		fputs(log, stdout);
		if (len > 0 && log[len - 1] != '\n')
			putchar('\n');
		free(log);
	}
	anyk_fini();
	if (fflush(stdout) != 0)
		status = err_path("stdout");
	return status;
}
