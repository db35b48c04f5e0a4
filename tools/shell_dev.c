/*
 * Shell commands for looking at devices: hexdump, which shows the raw
 * bytes of a disk (/dev/sd0), a partition or any file in the layout of
 * "hexdump -C", with repeated lines folded into "*".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

#define LINE 16
#define CHUNK (64 * 1024)

static void
dump_line(uint64_t off, const unsigned char *p, size_t n)
{
	char hex[3 * LINE + 2], asc[LINE + 1];
	size_t i, h = 0;

	for (i = 0; i < LINE; i++) {
		if (i == 8)
			hex[h++] = ' ';
		if (i < n)
			h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x ", p[i]);
		else
			h += (size_t)snprintf(hex + h, sizeof(hex) - h, "   ");
		if (i < n)
			asc[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
	}
	asc[n] = '\0';
	sh_printf("%08llx  %s |%s|\n", (unsigned long long)off, hex, asc);
}

static int
sh_hexdump(int argc, char **argv)
{
	unsigned char *buf, prev[LINE];
	uint64_t limit = UINT64_MAX, skip = 0, off, left;
	anyk_ssize_t got;
	size_t have, i, n;
	int c, fd, status = EXIT_OK, folded = 0, haveprev = 0;
	struct opt o;

	opt_init(&o, shell_find("hexdump"));
	while ((c = opt_next(&o, argc, argv, "n:s:")) != OPT_END) {
		if (c == 'n') {
			if (parse_size(o.arg, &limit) != 0)
				return err_usage(o.cmd, "invalid length '%s'", o.arg);
		} else if (c == 's') {
			if (parse_size(o.arg, &skip) != 0 || skip > INT64_MAX)
				return err_usage(o.cmd, "invalid offset '%s'", o.arg);
		} else {
			return opt_fail(c);
		}
	}
	if (argc - o.ind != 1)
		return err_usage(o.cmd, "need exactly one file");
	fd = anyk_sys_open(argv[o.ind], ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return err_path(argv[o.ind]);
	buf = malloc(CHUNK);
	if (buf == NULL) {
		anyk_sys_close(fd);
		return err_msg("hexdump", "%s", strerror(ENOMEM));
	}
	off = skip;
	left = limit;
	while (left > 0) {
		/* Whole lines per read, so each line is one piece of the file;
		 * pread keeps it working on devices without a file offset. */
		n = left < CHUNK ? (size_t)left : CHUNK;
		got = anyk_sys_pread(fd, buf, n, (anyk_off_t)off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			status = err_path(argv[o.ind]);
			break;
		}
		if (got == 0)
			break;
		have = (size_t)got;
		for (i = 0; i < have; i += LINE) {
			size_t len = have - i < LINE ? have - i : LINE;

			if (len == LINE && haveprev &&
			    memcmp(prev, buf + i, LINE) == 0) {
				if (!folded)
					sh_printf("*\n");
				folded = 1;
				continue;
			}
			folded = 0;
			dump_line(off + i, buf + i, len);
			memcpy(prev, buf + i, len);
			haveprev = len == LINE;
		}
		off += have;
		left -= have;
		/* A short read not on a line boundary would misalign the
		 * folding; it only happens at the end of the file. */
		if (have % LINE != 0)
			break;
	}
	if (off > skip || status == EXIT_OK)
		sh_printf("%08llx\n", (unsigned long long)off);
	free(buf);
	anyk_sys_close(fd);
	return status;
}

const struct tool_cmd shell_dev_cmds[] = {
	{ "hexdump", "[-n LENGTH] [-s OFFSET] FILE",
	  "Show bytes of a file or device in hex and ASCII (like hexdump -C),\n"
	  "LENGTH bytes (default: all) from OFFSET (default 0); both accept\n"
	  "K, M, G suffixes. Repeated lines are shown as '*'.",
	  sh_hexdump },
	{ NULL, NULL, NULL, NULL },
};
