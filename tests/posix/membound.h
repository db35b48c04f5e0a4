/*
 * What the memory-bound tests of the ext2/3/4 driver share
 * (tests/posix/ext2_membound.c, tests/integration/ext2_jmembound.c): a
 * sparse ext4 image in /tmp made by anyk_mkfs and mounted on /mnt, the
 * kernel's memory total as anyk_memstats reports it, and the end: e2fsck
 * -fn on the image, which is removed.
 */
#ifndef ANYK_TESTS_MEMBOUND_H
#define ANYK_TESTS_MEMBOUND_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anyk/anyk.h"
#include "tests/harness.h"

#define MB_MAXSTATS 128

/* The start of a test: path, a mkstemp template, becomes the name of a new
 * sparse file of size bytes, the kernel starts and o is cleared for an
 * ext4 mkfs of the pre-zeroed image. False, after a skip or failure line,
 * if that cannot be (the test then returns t_done()). */
static inline bool
mb_start(char *path, long long size, struct anyk_mkfs_opts *o)
{
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, size) != 0) {
		T_SKIP("cannot make an image file in /tmp");
		return false;
	}
	close(fd);
	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		unlink(path);
		return false;
	}
	memset(o, 0, sizeof(*o));
	o->fstype = "ext4";
	o->flags = ANYK_MKFS_PREZEROED;
	return true;
}

/* The image attached as /dev/sd0, made by mkfs with o (what: that
 * assertion's name) and mounted on /mnt; false after a failure line if it
 * did not mount (the test then ends with mb_finish). */
static inline bool
mb_mount(const char *img, const struct anyk_mkfs_opts *o, const char *what)
{
	T_EQ(anyk_disk_attach("/dev/sd0", img, ANYK_DISK_NOPART), 0, "attach the image");
	T_EQ(anyk_mkfs("/dev/sd0", o), 0, what);
	T_EQ(anyk_sys_mkdir("/mnt", 0755), 0, "mkdir /mnt");
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, "") != 0) {
		T_OK(0, "mount: %s", strerror(errno));
		return false;
	}
	return true;
}

/* Bytes the kernel has allocated (UINT64_MAX if it cannot say), and how
 * many allocations it refused so far if failures is not NULL. Safe to
 * call from a sampling thread. */
static inline uint64_t
mb_kmem(uint64_t *failures)
{
	struct anyk_memstat_entry st[MB_MAXSTATS];

	if (anyk_memstats(st, MB_MAXSTATS) < 1)
		return UINT64_MAX;
	if (failures != NULL)
		*failures = st[0].failures;
	return st[0].bytes;
}

/* The end of a test whose kernel started: /dev/sd0 detached, the kernel
 * stopped, one assertion (what) that e2fsck -fn finds the image clean
 * (a skip line if the host has no e2fsck), the image removed. Returns
 * t_done(). */
static inline int
mb_finish(const char *img, const char *what)
{
	char cmd[512];
	int st;

	anyk_disk_detach("/dev/sd0");
	anyk_fini();
	st = system("command -v e2fsck >/dev/null 2>&1 || test -x /sbin/e2fsck || test -x /usr/sbin/e2fsck");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		T_SKIP("no e2fsck on this host");
	} else {
		snprintf(cmd, sizeof(cmd), "PATH=$PATH:/sbin:/usr/sbin e2fsck -fn '%s' >/dev/null 2>&1", img);
		st = system(cmd);
		T_OK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", what);
	}
	unlink(img);
	return t_done();
}

#endif /* ANYK_TESTS_MEMBOUND_H */
