/*
 * Helpers shared by every anyk subcommand and shell command: error
 * messages in one format ("anyk: PATH: reason"), option parsing, and the
 * formatting of sizes, modes and times the way coreutils users expect.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/file.h>
#include <unistd.h>

#include "tool.h"

int
err_path(const char *what)
{
	int e = errno;

	/* Keep messages in order with what was printed before them. */
	fflush(stdout);
	fprintf(stderr, "anyk: %s: %s\n", what, strerror(e));
	return EXIT_FAIL;
}

int
err_msg(const char *what, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "anyk: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
err_usage(const struct tool_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "anyk: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s %s\n", cmd->name, cmd->usage);
	return EXIT_USAGE;
}

void
cmd_print_help(FILE *f, const struct tool_cmd *cmd, const char *prefix)
{
	fprintf(f, "usage: %s%s %s\n\n%s\n", prefix, cmd->name, cmd->usage,
	    cmd->help);
}

const struct tool_cmd *
cmd_find(const struct tool_cmd *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

void
opt_init(struct opt *o, const struct tool_cmd *cmd)
{
	o->ind = 1;
	o->pos = 0;
	o->arg = NULL;
	o->cmd = cmd;
}

int
opt_fail(int c)
{
	return c == OPT_HELP ? EXIT_OK : EXIT_USAGE;
}

int
opt_next(struct opt *o, int argc, char **argv, const char *spec)
{
	const char *word, *p;
	int c;

	o->arg = NULL;
	if (o->pos == 0) {
		if (o->ind >= argc)
			return OPT_END;
		word = argv[o->ind];
		if (strcmp(word, "--help") == 0) {
			if (o->cmd != NULL)
				cmd_print_help(stdout, o->cmd, "");
			return OPT_HELP;
		}
		if (strcmp(word, "--") == 0) {
			o->ind++;
			return OPT_END;
		}
		/* "-" alone and words not starting with '-' are operands;
		 * so is "-5" for commands that take no digit options. */
		if (word[0] != '-' || word[1] == '\0')
			return OPT_END;
		if (word[1] == '-')
			return err_usage(o->cmd, "unknown option '%s'", word),
			    OPT_ERR;
		o->pos = 1;
	}
	word = argv[o->ind];
	c = (unsigned char)word[o->pos++];
	p = strchr(spec, c);
	if (c == ':' || p == NULL) {
		err_usage(o->cmd, "invalid option -- '%c'", c);
		return OPT_ERR;
	}
	if (p[1] == ':') {
		if (word[o->pos] != '\0') {
			o->arg = word + o->pos;
		} else if (o->ind + 1 < argc) {
			o->arg = argv[++o->ind];
		} else {
			err_usage(o->cmd, "option requires an argument -- '%c'", c);
			return OPT_ERR;
		}
		o->ind++;
		o->pos = 0;
		return c;
	}
	if (word[o->pos] == '\0') {
		o->ind++;
		o->pos = 0;
	}
	return c;
}

void
fmt_human(char *buf, size_t n, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, n, "%u", (unsigned)bytes);
		return;
	}
	while (v >= 1024.0 && units[u + 1] != '\0') {
		v /= 1024.0;
		u++;
	}
	/* Round up, as df -h does, so a size is never shown smaller than it is. */
	if (v < 10.0) {
		double r = (double)(long long)(v * 10.0);
		if (r < v * 10.0)
			r += 1.0;
		if (r >= 100.0)
			snprintf(buf, n, "%d%c", 10, units[u]);
		else
			snprintf(buf, n, "%.1f%c", r / 10.0, units[u]);
	} else {
		long long r = (long long)v;
		if ((double)r < v)
			r++;
		snprintf(buf, n, "%lld%c", r, units[u]);
	}
}

void
fmt_mode(char *buf, anyk_mode_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	char t;
	int i;

	switch (mode & ANYK_S_IFMT) {
	case ANYK_S_IFDIR: t = 'd'; break;
	case ANYK_S_IFLNK: t = 'l'; break;
	case ANYK_S_IFCHR: t = 'c'; break;
	case ANYK_S_IFBLK: t = 'b'; break;
	case ANYK_S_IFIFO: t = 'p'; break;
	case ANYK_S_IFSOCK: t = 's'; break;
	case ANYK_S_IFREG: t = '-'; break;
	default: t = '?'; break;
	}
	buf[0] = t;
	for (i = 0; i < 9; i++)
		buf[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & ANYK_S_ISUID)
		buf[3] = (mode & 0100) ? 's' : 'S';
	if (mode & ANYK_S_ISGID)
		buf[6] = (mode & 0010) ? 's' : 'S';
	if (mode & ANYK_S_ISVTX)
		buf[9] = (mode & 0001) ? 't' : 'T';
	buf[10] = '\0';
}

const char *
fmt_type(anyk_mode_t mode)
{
	switch (mode & ANYK_S_IFMT) {
	case ANYK_S_IFDIR: return "directory";
	case ANYK_S_IFLNK: return "symbolic link";
	case ANYK_S_IFCHR: return "character special file";
	case ANYK_S_IFBLK: return "block special file";
	case ANYK_S_IFIFO: return "fifo";
	case ANYK_S_IFSOCK: return "socket";
	case ANYK_S_IFREG: return "regular file";
	default: return "unknown";
	}
}

void
fmt_ls_time(char *buf, size_t n, const struct anyk_timespec *ts)
{
	/* Half a Gregorian year, as ls uses to tell "recent" from "old". */
	const int64_t six_months = 31556952 / 2;
	time_t t = (time_t)ts->tv_sec, now = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, n, "%lld", (long long)ts->tv_sec);
		return;
	}
	if ((int64_t)now - ts->tv_sec > six_months || ts->tv_sec > (int64_t)now + 60)
		strftime(buf, n, "%b %e  %Y", &tm);
	else
		strftime(buf, n, "%b %e %H:%M", &tm);
}

void
fmt_full_time(char *buf, size_t n, const struct anyk_timespec *ts)
{
	time_t t = (time_t)ts->tv_sec;
	struct tm tm;
	char date[64], zone[16];

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, n, "@%lld.%09lld", (long long)ts->tv_sec,
		    (long long)ts->tv_nsec);
		return;
	}
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf, n, "%s.%09lld %s", date, (long long)ts->tv_nsec, zone);
}

int
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t len = strlen(s), digits = 0;
	uint64_t v, mult = 1;
	int shift = 0;

	while (digits < len && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (digits == 0 || digits >= sizeof(num))
		return -1;
	memcpy(num, s, digits);
	num[digits] = '\0';
	if (parse_uint(num, UINT64_MAX, &v) != 0)
		return -1;
	s += digits;
	switch (*s) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*s != '\0') {
		s++;
		/* Accept "K", "KB", "KiB", as the coreutils user types them. */
		if (strcmp(s, "iB") != 0 && strcmp(s, "B") != 0 && *s != '\0')
			return -1;
	}
	mult = (uint64_t)1 << shift;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int
parse_mode(const char *s, anyk_mode_t *out)
{
	anyk_mode_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		v = v * 8 + (anyk_mode_t)(*s - '0');
		if (v > 07777)
			return -1;
	}
	*out = v;
	return 0;
}

int
boot_kernel(void)
{
	if (anyk_init() != 0) {
		fprintf(stderr, "anyk: cannot boot the kernel: %s\n",
		    strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

char *
read_dmesg_level(int maxlevel)
{
	char probe[1];
	size_t len;
	char *buf;

	/* The log may grow between the two calls; a little slack keeps the
	 * newest lines, and the kernel drops the oldest if it still grew. */
	len = anyk_dmesg_level(probe, sizeof(probe), maxlevel) + 4096;
	buf = malloc(len);
	if (buf == NULL)
		return NULL;
	anyk_dmesg_level(buf, len, maxlevel);
	buf[len - 1] = '\0';
	return buf;
}

char *
read_dmesg(void)
{
	return read_dmesg_level(ANYK_LOG_DEBUG);
}

int
image_lock(const char *path, int exclusive)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err_path(path);
		return -1;
	}
	for (int waited = 0;; waited += 20) {
		if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			/* No locks here (some network file systems): go on. */
			return fd;
		}
		if (waited >= IMAGE_LOCK_WAIT_MS)
			break;
		nanosleep(&ts, NULL);
	}
	close(fd);
	err_msg(path, "in use (an anyk mount, or a command writing to it); unmount it with anyk umount first");
	return -1;
}
