/*
 * Disks with 4096-byte logical sectors (ANYK_DISK_SECTOR4K): an MBR whose
 * LBAs count 4K sectors (written here by hand: Debian 12's sfdisk cannot be
 * told the sector size of an image file) is found with the right offsets
 * and sizes,
 * unaligned writes land byte-exact (read-modify-write of whole 4K sectors),
 * and a tail shorter than a sector is not part of the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include <anyk/anyk.h>

static char dir[] = "/tmp/anyk-4k-XXXXXX";
static char img[256];

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int64_t dev_size(const char *path)
{
	int fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
	if (fd < 0)
		return -1;
	int64_t size = anyk_sys_lseek(fd, 0, ANYK_SEEK_END);
	anyk_sys_close(fd);
	return size;
}

int main(void)
{
	char cmd[1024], buf[8192];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(img, sizeof img, "%s/disk.img", dir);
	/* 64 MiB + 1000 bytes: the odd tail must not belong to the device. */
	{
		static const uint32_t part[2][2] = { { 256, 2560 }, { 4096, 8192 } };
		unsigned char mbr[512] = { 0 };
		int hfd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
		for (int i = 0; i < 2; i++) {
			unsigned char *e = mbr + 446 + 16 * i;
			e[4] = 0x83;
			for (int b = 0; b < 4; b++) {
				e[8 + b] = (unsigned char)(part[i][0] >> (8 * b));
				e[12 + b] = (unsigned char)(part[i][1] >> (8 * b));
			}
		}
		mbr[510] = 0x55;
		mbr[511] = 0xaa;
		T_OK(hfd >= 0 && pwrite(hfd, mbr, sizeof mbr, 0) == (ssize_t)sizeof mbr &&
			     ftruncate(hfd, 64LL * 1024 * 1024 + 1000) == 0,
		     "write an MBR in 4K-sector units");
		close(hfd);
	}

	T_EQ(anyk_init(), 0, "anyk_init");
	T_EQ(anyk_disk_attach("/dev/sd0", img, ANYK_DISK_SECTOR4K), 0, "attach with 4096-byte sectors");
	T_EQ(dev_size("/dev/sd0"), 64LL * 1024 * 1024, "the device ends at the last whole 4K sector");
	T_EQ(dev_size("/dev/sd0p1"), 2560LL * 4096, "MBR partition 1 size in 4K sectors");
	T_EQ(dev_size("/dev/sd0p2"), 8192LL * 4096, "MBR partition 2 size in 4K sectors");

	/* A write inside partition 2 at an unaligned offset. */
	int fd = anyk_sys_open("/dev/sd0p2", ANYK_O_RDWR, 0);
	T_OK(fd >= 0, "open /dev/sd0p2");
	for (int i = 0; i < 6000; i++)
		buf[i] = (char)('A' + i % 26);
	T_EQ(anyk_sys_pwrite(fd, buf, 6000, 4096 + 1234), 6000, "unaligned 6000-byte write");
	T_EQ(anyk_sys_pwrite(fd, buf, 10, 8192LL * 4096 - 5), 5, "a write crossing the partition end is cut short");
	char back[6000];
	T_EQ(anyk_sys_pread(fd, back, sizeof back, 4096 + 1234), 6000, "read it back");
	T_OK(memcmp(back, buf, 6000) == 0, "same bytes through the kernel");
	anyk_sys_close(fd);
	T_EQ(anyk_disk_detach("/dev/sd0"), 0, "detach");
	T_EQ(anyk_fini(), 0, "anyk_fini");

	/* On the host: partition 2 starts at 4096 * 4096 bytes. */
	int hfd = open(img, O_RDONLY);
	char host[6002];
	T_EQ(pread(hfd, host, sizeof host, 4096LL * 4096 + 4096 + 1234 - 1), (long)sizeof host, "host read");
	close(hfd);
	T_OK(host[0] == 0 && host[6001] == 0, "the bytes around the write are untouched");
	T_OK(memcmp(host + 1, buf, 6000) == 0, "the write landed at partition offset + 5330 in the image");

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	sh(cmd);
	return t_done();
}
