/*
 * anyk mkfs: make an ext2/ext3/ext4 file system in a host image file (or
 * on a host block device) with the kernel's own mkfs, so that images can be
 * made where no mke2fs exists, and made the same bytes every time (with -U
 * and --timestamp or SOURCE_DATE_EPOCH).
 *
 * The image is created or resized to SIZE and, like mke2fs's discard,
 * hole-punched first: it then reads as zeros, so the kernel need not write
 * the inode tables or the journal, and a large image stays sparse.
 *
 * With -d DIR the new file system is mounted read-write in the kernel and
 * DIR's tree copied into its root (hostcopy.c). The copy visits names in
 * sorted order and, with a fixed timestamp, the kernel's wall clock is
 * stopped at it (ANYK_FIXED_TIME), so that change and creation times, and
 * so the image, are the same on every run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "tools/hostcopy.h"

int cmd_mkfs(int argc, char **argv);

#define MKFS_DEV "/dev/sd0"
#define MKFS_MNT "/mnt/mkfs"

static const struct tool_cmd mkfs_cmd = {
	"mkfs",
	"-t ext2|ext3|ext4 [-b BSIZE] [-I ISIZE] [-N INODES] [-L LABEL] [-U UUID]\n"
	"       [-O FEATURES] [-E EXTENDED] [-d DIR] [-q] [--timestamp T] IMAGE [SIZE]",
	"", NULL
};

/* -E, as mke2fs's: encoding=utf8 (or utf8-12.1, the one encoding ext4
 * defines) and encoding_flags=strict, comma-separated. */
static int
parse_extended(const char *s, struct anyk_mkfs_opts *o, int *encoding)
{
	const char *end;
	size_t len;

	for (; *s != '\0'; s = *end == ',' ? end + 1 : end) {
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		len = (size_t)(end - s);
		if ((len == 13 && strncmp(s, "encoding=utf8", len) == 0) ||
		    (len == 18 && strncmp(s, "encoding=utf8-12.1", len) == 0))
			*encoding = 1;
		else if (len == 21 && strncmp(s, "encoding_flags=strict", len) == 0)
			o->flags |= ANYK_MKFS_ENC_STRICT;
		else
			return -1;
	}
	return 0;
}

static int
parse_uuid(const char *s, uint8_t *out)
{
	int n = 0, hi = -1, v;

	for (; *s != '\0'; s++) {
		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (n == 16)
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == 16 && hi < 0 ? 0 : -1;
}

static int
pow2_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* Create or resize the image and punch it empty; *zeroed tells whether it
 * now reads as zeros. Host block devices are used as they are. */
static int
prepare_image(const char *path, uint64_t size, int have_size, int *zeroed)
{
	struct stat st;
	int fd, status = EXIT_OK;

	*zeroed = 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_path(path);
	if (fstat(fd, &st) != 0) {
		status = err_path(path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (!S_ISBLK(st.st_mode))
			status = err_msg(path, "not a regular file or block device");
		goto out;
	}
	if (!have_size) {
		if (st.st_size == 0) {
			status = err_usage(&mkfs_cmd, "%s is empty: give a SIZE", path);
			goto out;
		}
		size = (uint64_t)st.st_size;
	}
	if (size > INT64_MAX || ftruncate(fd, (off_t)size) != 0) {
		status = err_path(path);
		goto out;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size) == 0)
		*zeroed = 1;
	else if (st.st_size == 0)
		*zeroed = 1; /* new, so all a hole anyway */
out:
	close(fd);
	return status;
}

/* A progress line on a terminal, at most a few times a second. */
static void
show_progress(void *arg, const struct hostcopy_stats *st)
{
	static struct timespec last;
	struct timespec now;
	char b[16];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (arg == NULL && (now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) < 200000000L)
		return;
	last = now;
	fmt_human(b, sizeof(b), st->bytes);
	fprintf(stderr, "\ranyk: mkfs: copied %llu files, %s%s", (unsigned long long)st->files, b,
	    arg != NULL ? "\n" : "");
}

/* Copy the host tree dir into the root of the file system just made. */
static int
populate(const char *dir, const char *image, const char *fstype, int quiet)
{
	struct hostcopy_opts ho = { 0, NULL, NULL, NULL };
	struct hostcopy_stats hs;
	int status = EXIT_OK, tty = !quiet && isatty(2);

	if ((anyk_sys_mkdir("/mnt", 0755) != 0 && errno != EEXIST) ||
	    (anyk_sys_mkdir(MKFS_MNT, 0755) != 0 && errno != EEXIST))
		return err_path(MKFS_MNT);
	if (anyk_sys_mount(MKFS_DEV, MKFS_MNT, fstype, 0, "") != 0)
		return err_msg(image, "cannot mount the new %s file system read-write to copy %s into it: %s",
		    fstype, dir, strerror(errno));
	/* hostcopy reports each failure with its host path. */
	if (tty)
		ho.progress = show_progress;
	if (hostcopy_in(dir, MKFS_MNT, &ho, &hs) != 0)
		status = EXIT_FAIL;
	if (tty)
		show_progress("end", &hs);
	if (anyk_sys_unmount(MKFS_MNT, 0) != 0 && status == EXIT_OK)
		status = err_msg(image, "cannot unmount after copying %s: %s", dir, strerror(errno));
	return status;
}

int
cmd_mkfs(int argc, char **argv)
{
	struct anyk_mkfs_opts o;
	uint8_t uuid[16];
	char msg[512];
	const char *image = NULL, *sizearg = NULL, *ts = NULL, *dir = NULL, *arg, *env;
	char fixed[32];
	struct stat dst;
	uint64_t v, size = 0;
	int i, quiet = 0, zeroed, status, lockfd = -1, encoding = 0;
	char features[512];
	char c;

	memset(&o, 0, sizeof(o));
	o.timestamp = -1;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--help") == 0) {
			cmd_print_help(stdout, &mkfs_cmd, "anyk ");
			return EXIT_OK;
		}
		if (strcmp(arg, "--timestamp") == 0 || strncmp(arg, "--timestamp=", 12) == 0) {
			if (arg[11] == '=')
				ts = arg + 12;
			else if (++i < argc)
				ts = argv[i];
			else
				return err_usage(&mkfs_cmd, "--timestamp needs a value");
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		c = arg[1];
		if (c == 'q' && arg[2] == '\0') {
			quiet = 1;
			continue;
		}
		if (strchr("tbINLUOEd", c) == NULL || arg[1] == '-')
			return err_usage(&mkfs_cmd, "unknown option '%s'", arg);
		if (arg[2] != '\0')
			arg += 2;
		else if (++i < argc)
			arg = argv[i];
		else
			return err_usage(&mkfs_cmd, "option -%c needs a value", c);
		switch (c) {
		case 't':
			if (strcmp(arg, "ext2") != 0 && strcmp(arg, "ext3") != 0 && strcmp(arg, "ext4") != 0)
				return err_usage(&mkfs_cmd, "unknown type '%s' (ext2, ext3 or ext4)", arg);
			o.fstype = arg;
			break;
		case 'b':
			if (parse_size(arg, &v) != 0 || !pow2_in(v, 1024, 65536))
				return err_usage(&mkfs_cmd, "bad block size '%s' (1024, 2048, ... 65536)", arg);
			o.block_size = (uint32_t)v;
			break;
		case 'I':
			if (parse_uint(arg, 65536, &v) != 0 || !pow2_in(v, 128, 65536))
				return err_usage(&mkfs_cmd, "bad inode size '%s' (128, 256, ... the block size)", arg);
			o.inode_size = (uint32_t)v;
			break;
		case 'N':
			if (parse_uint(arg, UINT32_MAX, &v) != 0 || v == 0)
				return err_usage(&mkfs_cmd, "bad inode count '%s'", arg);
			o.inodes = v;
			break;
		case 'L':
			if (strlen(arg) > 16)
				return err_usage(&mkfs_cmd, "label '%s' is longer than 16 bytes", arg);
			o.label = arg;
			break;
		case 'U':
			if (parse_uuid(arg, uuid) != 0)
				return err_usage(&mkfs_cmd, "bad UUID '%s'", arg);
			o.uuid = uuid;
			break;
		case 'O':
			o.features = arg;
			break;
		case 'E':
			if (parse_extended(arg, &o, &encoding) != 0)
				return err_usage(&mkfs_cmd, "bad extended option in '%s' (encoding=utf8, "
				    "encoding_flags=strict)", arg);
			break;
		case 'd':
			dir = arg;
			break;
		}
	}
	if (i < argc)
		image = argv[i++];
	if (i < argc)
		sizearg = argv[i++];
	if (image == NULL)
		return err_usage(&mkfs_cmd, "no IMAGE given");
	if (i < argc)
		return err_usage(&mkfs_cmd, "too many arguments");
	if (o.fstype == NULL)
		o.fstype = "ext2";
	/* An encoding means case-insensitive directories may be made. */
	if (encoding) {
		snprintf(features, sizeof(features), "%s%scasefold", o.features != NULL ? o.features : "",
		    o.features != NULL ? "," : "");
		o.features = features;
	}
	if (sizearg != NULL && (parse_size(sizearg, &size) != 0 || size == 0))
		return err_usage(&mkfs_cmd, "bad size '%s'", sizearg);
	if (ts == NULL && (env = getenv("SOURCE_DATE_EPOCH")) != NULL && *env != '\0') {
		if (parse_uint(env, UINT32_MAX, &v) != 0)
			return err_msg("SOURCE_DATE_EPOCH", "not a time in seconds: '%s'", env);
		o.timestamp = (int64_t)v;
	}
	if (ts != NULL) {
		if (parse_uint(ts, UINT32_MAX, &v) != 0)
			return err_usage(&mkfs_cmd, "bad timestamp '%s'", ts);
		o.timestamp = (int64_t)v;
	}

	if (dir != NULL) {
		if (stat(dir, &dst) != 0)
			return err_path(dir);
		if (!S_ISDIR(dst.st_mode))
			return err_msg(dir, "not a directory");
	}
	if (dir != NULL && o.timestamp >= 0) {
		/* Stop the kernel's clock before it boots (read once). */
		snprintf(fixed, sizeof(fixed), "%lld", (long long)o.timestamp);
		if (setenv("ANYK_FIXED_TIME", fixed, 1) != 0)
			return err_path("ANYK_FIXED_TIME");
	}
	/* Not an image a mount or another command is using: locked before it
	 * is cut to size, or once it exists. */
	if (access(image, F_OK) == 0 && (lockfd = image_lock(image, 1)) < 0)
		return EXIT_FAIL;
	status = prepare_image(image, size, sizearg != NULL, &zeroed);
	if (status != EXIT_OK)
		return status;
	if (zeroed)
		o.flags |= ANYK_MKFS_PREZEROED;
	msg[0] = '\0';
	o.msg = msg;
	o.msglen = sizeof(msg);
	if (lockfd < 0 && image_lock(image, 1) < 0)
		return EXIT_FAIL;
	status = boot_kernel();
	if (status != EXIT_OK)
		return status;
	if (anyk_disk_attach(MKFS_DEV, image, ANYK_DISK_NOPART) != 0) {
		status = err_path(image);
	} else {
		if (anyk_mkfs(MKFS_DEV, &o) != 0)
			status = err_msg(image, "%s", msg[0] != '\0' ? msg : strerror(errno));
		else if (msg[0] != '\0' && !quiet)
			fprintf(stderr, "anyk: mkfs: %s\n", msg);
		if (status == EXIT_OK && dir != NULL)
			status = populate(dir, image, o.fstype, quiet);
		if (anyk_disk_detach(MKFS_DEV) != 0 && status == EXIT_OK)
			status = err_path(image);
	}
	anyk_fini();
	return status;
}
