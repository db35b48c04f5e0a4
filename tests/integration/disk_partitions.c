/*
 * Disks and partitions against a real partitioning tool: sfdisk writes an
 * MBR (two primaries, an extended partition with two logicals) and a GPT
 * into host image files; the kernel attaches them, and every /dev/sd0pN must
 * have the size sfdisk reports, and a pattern written through the kernel at
 * a partition offset must land at exactly that byte offset in the host
 * file. Out-of-range I/O fails, and a disk attached read-only refuses writes.
 * Uses the public API only.
 */
#include "../harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anyk/anyk.h>

#define IMGSIZE (64ll << 20)
#define MAXP 16

struct ptab {
	int n;
	int num[MAXP];
	long long start[MAXP], size[MAXP]; /* sectors */
};

static char dir[] = "/tmp/anyk-disk-XXXXXX";

/* Parse sfdisk --json: each partition object has "node", "start", "size". */
static int
sfdisk_json(const char *img, struct ptab *pt)
{
	char cmd[512], text[65536];
	size_t len;
	FILE *f;
	char *p, *q;

	snprintf(cmd, sizeof(cmd), "sfdisk --json '%s' 2>/dev/null", img);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	if (pclose(f) != 0)
		return -1;
	pt->n = 0;
	for (p = strstr(text, "\"node\""); p != NULL && pt->n < MAXP; p = strstr(p + 1, "\"node\"")) {
		char *end = strchr(p + 7, ',');
		/* The node name ends in the partition number. */
		q = end;
		while (q > p && (q[-1] == '"' || q[-1] == ' '))
			q--;
		while (q > p && q[-1] >= '0' && q[-1] <= '9')
			q--;
		pt->num[pt->n] = atoi(q);
		q = strstr(p, "\"start\":");
		if (q == NULL)
			return -1;
		pt->start[pt->n] = atoll(q + 8);
		q = strstr(p, "\"size\":");
		if (q == NULL)
			return -1;
		pt->size[pt->n] = atoll(q + 7);
		pt->n++;
	}
	return 0;
}

static int
make_image(const char *img, const char *script)
{
	char cmd[1024];
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, IMGSIZE) != 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "printf '%s' | sfdisk --no-reread --no-tell-kernel -q '%s' >/dev/null 2>&1",
		 script, img);
	return system(cmd) == 0 ? 0 : -1;
}

static long long
dev_size(const char *path)
{
	int fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
	long long sz;

	if (fd < 0)
		return -1;
	sz = anyk_sys_lseek(fd, 0, ANYK_SEEK_END);
	anyk_sys_close(fd);
	return sz;
}

/* Write a pattern at off inside the partition through the kernel, then
 * compare with the host file at the partition's start + off. */
static void
check_pattern(const char *img, const char *dev, long long pstart_bytes, long long off, size_t n,
	      const char *what)
{
	unsigned char *w = malloc(n), *r = malloc(n);
	int fd, hfd;
	ssize_t got;

	for (size_t i = 0; i < n; i++)
		w[i] = (unsigned char)(i * 31 + off + 7);
	fd = anyk_sys_open(dev, ANYK_O_RDWR, 0);
	T_OK(fd >= 0, "%s: open %s", what, dev);
	got = anyk_sys_pwrite(fd, w, n, off);
	T_EQ(got, (long long)n, "pwrite through the kernel");
	T_EQ(anyk_sys_fsync(fd), 0, "fsync the device");
	anyk_sys_close(fd);
	hfd = open(img, O_RDONLY);
	got = pread(hfd, r, n, pstart_bytes + off);
	close(hfd);
	T_OK(got == (ssize_t)n && memcmp(w, r, n) == 0, "%s: bytes land at host offset %lld", what,
	     pstart_bytes + off);
	free(w);
	free(r);
}

static void
test_table(const char *label, const char *script, int expect)
{
	char img[256], dev[64];
	struct ptab pt;
	int i;

	snprintf(img, sizeof(img), "%s/%s.img", dir, label);
	if (make_image(img, script) != 0 || sfdisk_json(img, &pt) != 0) {
		T_OK(0, "%s: sfdisk made and listed the table", label);
		return;
	}
	T_EQ(pt.n, expect, "sfdisk reports the partitions");
	T_EQ(anyk_disk_attach("/dev/sd0", img, 0), 0, "attach the disk");
	T_EQ(dev_size("/dev/sd0"), IMGSIZE, "whole disk size");
	for (i = 0; i < pt.n; i++) {
		snprintf(dev, sizeof(dev), "/dev/sd0p%d", pt.num[i]);
		T_EQ(dev_size(dev), pt.size[i] * 512, dev);
	}
	/* Patterns in the first and last data partition, one unaligned. */
	for (i = 0; i < pt.n; i++) {
		if (pt.size[i] < 64)
			continue; /* the extended container */
		snprintf(dev, sizeof(dev), "/dev/sd0p%d", pt.num[i]);
		check_pattern(img, dev, pt.start[i] * 512, 4096, 8192, label);
		check_pattern(img, dev, pt.start[i] * 512, 1000, 777, label);
		check_pattern(img, dev, pt.start[i] * 512, pt.size[i] * 512 - 512, 512, label);
	}
	/* Out of range. */
	snprintf(dev, sizeof(dev), "/dev/sd0p%d", pt.num[0]);
	int fd = anyk_sys_open(dev, ANYK_O_RDWR, 0);
	char buf[512] = { 0 };
	T_OK(anyk_sys_pwrite(fd, buf, 512, pt.size[0] * 512) < 0, "write past a partition's end fails");
	T_OK(anyk_sys_pwrite(fd, buf, 1024, pt.size[0] * 512 - 512) == 512,
	     "a write across the end stops at it");
	T_EQ(anyk_sys_pread(fd, buf, 512, pt.size[0] * 512), 0, "read at the end: end of file");
	T_EQ(anyk_disk_detach("/dev/sd0"), -1, "detach while open fails (EBUSY)");
	anyk_sys_close(fd);
	T_EQ(anyk_disk_detach("/dev/sd0"), 0, "detach");
	T_OK(dev_size("/dev/sd0p1") < 0, "partition nodes are gone");

	/* Read-only. */
	T_EQ(anyk_disk_attach("/dev/sd1", img, ANYK_DISK_RDONLY), 0, "attach read-only");
	snprintf(dev, sizeof(dev), "/dev/sd1p%d", pt.num[0]);
	fd = anyk_sys_open(dev, ANYK_O_RDWR, 0);
	if (fd >= 0) {
		T_OK(anyk_sys_pwrite(fd, buf, 512, 0) < 0, "write to a read-only disk fails");
		anyk_sys_close(fd);
	} else {
		T_OK(1, "open for writing a read-only disk fails");
	}
	fd = anyk_sys_open(dev, ANYK_O_RDONLY, 0);
	T_OK(fd >= 0 && anyk_sys_pread(fd, buf, 512, 0) == 512, "reading a read-only disk works");
	anyk_sys_close(fd);
	T_EQ(anyk_disk_detach("/dev/sd1"), 0, "detach read-only disk");
	unlink(img);
}

int
main(void)
{
	char cmd[300];

	if (system("command -v sfdisk >/dev/null 2>&1") != 0) {
		T_SKIP("sfdisk not installed");
		return t_done();
	}
	if (mkdtemp(dir) == NULL || anyk_init() != 0) {
		T_OK(0, "set up");
		return t_done();
	}
	test_table("mbr",
		   "label: dos\\n"
		   "start=2048, size=8192, type=83\\n"
		   "start=10240, size=16384, type=c\\n"
		   "start=30720, size=61440, type=5\\n"
		   "start=32768, size=10240, type=83\\n"
		   "start=45056, size=20480, type=83\\n",
		   5);
	test_table("gpt",
		   "label: gpt\\n"
		   "start=2048, size=8192, name=boot\\n"
		   "start=10240, size=20000\\n"
		   "start=40960, size=40960, name=data\\n",
		   3);
	anyk_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
	return t_done();
}
