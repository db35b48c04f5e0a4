/*
 * libFuzzer harness for the ext2/ext3/ext4 driver: the input is a small
 * disk image, cut to or padded with zeros to 256 KiB (the seed corpus keeps
 * its images without their zero tails).
 * It is placed in a memfd, attached through its /proc/self/fd path (the
 * public API attaches host files), mounted read-only and walked in full,
 * then mounted read-write, changed and walked again. Nothing must crash,
 * hang, or touch memory outside its buffers; errors are fine. The image's
 * size must not change: a write past its end would grow the memfd.
 *
 * Built by "make fuzz-ext2" with clang -fsanitize=fuzzer,address,undefined
 * against a libanyk built with the same sanitizers and coverage.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/ext2_hostile.h"

#define IMG_MAX (256 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static uint8_t img[IMG_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (anyk_init() != 0 || anyk_sys_mkdir("/mnt", 0755) != 0)
		abort();
	memfd = memfd_create("anyk-fuzz", 0);
	if (memfd < 0)
		abort();
	return 0;
}

static void
mount_and_walk(size_t size, bool rw)
{
	struct hw_stats s;
	char dev[64];
	long budget = 600;

	memset(&s, 0, sizeof(s));
	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, img, size, 0) != (ssize_t)size)
		abort();
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", memfd);
	if (anyk_disk_attach("/dev/sd0", dev, rw ? ANYK_DISK_NOPART : ANYK_DISK_RDONLY | ANYK_DISK_NOPART) != 0)
		return;
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", rw ? 0 : ANYK_MNT_RDONLY, NULL) == 0) {
		hw_walk(&s, "/mnt", 5, &budget);
		if (rw) {
			hw_write(&s, "/mnt");
			budget = 200;
			hw_walk(&s, "/mnt", 3, &budget);
		}
		if (anyk_sys_unmount("/mnt", 0) != 0)
			anyk_sys_unmount("/mnt", ANYK_MNT_FORCE);
	}
	if (anyk_disk_detach("/dev/sd0") != 0) {
		fprintf(stderr, "ext2_fuzz: the disk stayed busy after unmount\n");
		abort();
	}
	{
		struct stat st;

		if (fstat(memfd, &st) != 0 || (size_t)st.st_size != size) {
			fprintf(stderr, "ext2_fuzz: the image grew from %zu to %lld bytes\n", size,
				(long long)st.st_size);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < IMG_MAX ? size : IMG_MAX;
	size_t padded = IMG_MAX;

	memcpy(img, data, n);
	memset(img + n, 0, padded - n);
	mount_and_walk(padded, false);
	/* Read-write on a fresh copy, unless the harness is asked to stay
	 * on the read path. */
	if (getenv("ANYK_FUZZ_RO") == NULL)
		mount_and_walk(padded, true);
	return 0;
}
