/*
 * Image set-up shared by the ext2/3/4 write tests (ext2_write.c,
 * ext2_htree_write.c, ext2_xattr_write.c, ext2_orphan.c): a temporary directory holding
 * the image, mke2fs and e2fsck -fn run through the shell with sbin on the
 * PATH, a seeded random number generator and a clock. The three tests
 * each carried their own copy of this.
 *
 * A test calls img_setup() first (it says "skip" and returns false when
 * e2fsprogs or a temporary directory are missing), then anyk_init(); it
 * ends with img_cleanup().
 */
#ifndef ANYK_TESTS_EXT2_IMG_H
#define ANYK_TESTS_EXT2_IMG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

/* top: the temporary directory; img: the image file in it. */
static char top[256], img[300];
/* Root may loop-mount the image to compare with the Linux kernel. */
static bool is_root __attribute__((unused));

/* xorshift: the same sequence for the same seed on every host. */
static uint64_t rng;
static inline uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A shell command's exit status, -1 if it did not exit. */
static inline double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fresh image of size (as mke2fs takes it: "32M") made by mke2fs. */
static inline bool
img_mkfs(const char *type, const char *opts, const char *size)
{
	char cmd[800];

	snprintf(cmd, sizeof(cmd), "rm -f %s && mke2fs -q -F -t %s %s %s %s >/dev/null 2>&1", img, type, opts, img,
		 size);
	return t_run(cmd) == 0;
}

/* One assertion: e2fsck -fn finds nothing on image; its first lines as
 * comments if it does. */
static inline bool
img_fsck_clean_at(const char *what, const char *image)
{
	char cmd[900];
	int rc;

	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s > %s/fsck.log 2>&1", image, top);
	rc = t_run(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "head -40 %s/fsck.log | sed 's/^/# /'", top);
		t_run(cmd);
	}
	T_OK(rc == 0, "%s: e2fsck -fn clean (exit %d)", what, rc);
	return rc == 0;
}

/* The same for img. */
static inline bool
img_fsck_clean(const char *what)
{
	return img_fsck_clean_at(what, img);
}

/* mke2fs present, sbin on the PATH, top made from "TMPDIR/<name>-XXXXXX"
 * and img named; false (after a skip line) when that cannot be. */
static inline bool
img_setup(const char *name)
{
	char cmd[400];
	const char *path = getenv("PATH"), *tmp = getenv("TMPDIR");

	if (t_run("command -v mke2fs >/dev/null 2>&1 || test -x /sbin/mke2fs || test -x /usr/sbin/mke2fs") != 0) {
		T_SKIP("mke2fs not installed");
		return false;
	}
	if (strstr(path ? path : "", "sbin") == NULL) {
		snprintf(cmd, sizeof(cmd), "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
		setenv("PATH", cmd, 1);
	}
	is_root = geteuid() == 0;
	snprintf(top, sizeof(top), "%s/%s-XXXXXX", tmp ? tmp : "/tmp", name);
	if (mkdtemp(top) == NULL) {
		T_SKIP("no temporary directory");
		return false;
	}
	snprintf(img, sizeof(img), "%s/img", top);
	return true;
}

/* Remove top and everything in it. */
static inline void
img_cleanup(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	t_run(cmd);
}

#endif /* ANYK_TESTS_EXT2_IMG_H */
