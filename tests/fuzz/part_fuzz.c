/*
 * libFuzzer harness for the partition-table scanner (MBR with extended and
 * logical partitions, GPT with its backup header): the input is a whole
 * disk (its length rounded up to 512 bytes, at least 1 KiB), placed in a
 * memfd and attached read-only with partition scanning, with 512-byte
 * sectors or, for inputs of odd length, 4096-byte ones. Every partition
 * anyk_disk_partinfo lists must lie inside the disk and be readable at
 * both ends through its own device node; each is also offered to the ext4
 * driver read-only. Nothing must crash or touch memory outside its
 * buffers; a damaged table is fine, and so is finding nothing.
 *
 * Built by "make build/fuzz/bin/part_fuzz" (see run.sh) with clang
 * -fsanitize=fuzzer,address,undefined against a libanyk built the same way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <anyk/anyk.h>

#define DISK_MAX (1024 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static uint8_t disk[DISK_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (anyk_init() != 0 || anyk_sys_mkdir("/mnt", 0755) != 0)
		abort();
	memfd = memfd_create("anyk-part-fuzz", 0);
	if (memfd < 0)
		abort();
	return 0;
}

static void
probe_part(const struct anyk_partinfo *pi, uint64_t disksize)
{
	uint8_t buf[4096];
	int fd;

	if (pi->start > disksize || pi->size > disksize - pi->start || pi->size == 0) {
		fprintf(stderr, "part_fuzz: partition %u at %llu+%llu is outside the %llu-byte disk\n", pi->number,
			(unsigned long long)pi->start, (unsigned long long)pi->size, (unsigned long long)disksize);
		abort();
	}
	fd = anyk_sys_open(pi->devpath, ANYK_O_RDONLY, 0);
	if (fd < 0) {
		fprintf(stderr, "part_fuzz: %s listed but cannot be opened (errno %d)\n", pi->devpath, errno);
		abort();
	}
	if (anyk_sys_pread(fd, buf, sizeof(buf) < pi->size ? sizeof(buf) : pi->size, 0) < 0 ||
	    anyk_sys_pread(fd, buf, 512, (anyk_off_t)(pi->size >= 512 ? pi->size - 512 : 0)) < 0) {
		fprintf(stderr, "part_fuzz: %s cannot be read at its ends (errno %d)\n", pi->devpath, errno);
		abort();
	}
	/* Reading past its end finds nothing, never the next partition. */
	if (anyk_sys_pread(fd, buf, 512, (anyk_off_t)pi->size) > 0) {
		fprintf(stderr, "part_fuzz: %s reads past its end\n", pi->devpath);
		abort();
	}
	anyk_sys_close(fd);
	if (anyk_sys_mount(pi->devpath, "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) == 0)
		anyk_sys_unmount("/mnt", 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < DISK_MAX ? size : DISK_MAX;
	size_t disksize = (n + 511) & ~(size_t)511;
	unsigned flags = ANYK_DISK_RDONLY | ((size & 1) ? ANYK_DISK_SECTOR4K : 0);
	struct anyk_partinfo pi;
	char dev[64];

	if (disksize < 1024)
		disksize = 1024;
	if (flags & ANYK_DISK_SECTOR4K)
		disksize = (disksize + 4095) & ~(size_t)4095;
	memcpy(disk, data, n);
	memset(disk + n, 0, disksize - n);
	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, disk, disksize, 0) != (ssize_t)disksize)
		abort();
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", memfd);
	if (anyk_disk_attach("/dev/sd0", dev, flags) != 0)
		return 0;
	for (int i = 0; i < 1024; i++) {
		if (anyk_disk_partinfo("/dev/sd0", i, &pi) != 0) {
			if (errno != ENOENT) {
				fprintf(stderr, "part_fuzz: partinfo %d: errno %d\n", i, errno);
				abort();
			}
			break;
		}
		probe_part(&pi, disksize);
	}
	if (anyk_disk_detach("/dev/sd0") != 0) {
		fprintf(stderr, "part_fuzz: the disk stayed busy\n");
		abort();
	}
	return 0;
}
