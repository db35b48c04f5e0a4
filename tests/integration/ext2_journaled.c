/*
 * The journal in use: anyk writes an ext3/ext4 file system, fsyncs files,
 * and the image is copied while still mounted, as a crash would leave it.
 * The copy must hold committed transactions not yet written home (debugfs
 * logdump shows them, the superblock says needs_recovery); e2fsck -fy on
 * one copy and anyk's own replay (mount, unmount) on another must both
 * give file systems e2fsck -fn finds clean, with every fsync'ed file as it
 * was written; and the Linux kernel, where it may loop-mount, must see the
 * files on anyk's replayed copy.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <anyk/anyk.h>

#define NFILES 24

static char top[256];

/* File i's size and contents: sizes from empty to several blocks, so that
 * some files need indirect blocks or several extents. */
static size_t
fsize(int i)
{
	static const size_t sizes[] = { 0, 1, 100, 1023, 1024, 4097, 13000, 70000, 300000 };

	return sizes[i % (int)(sizeof(sizes) / sizeof(sizes[0]))];
}

static void
fill(uint8_t *b, size_t n, int i, int gen)
{
	for (size_t k = 0; k < n; k++)
		b[k] = (uint8_t)(k * 31 + (size_t)i * 7 + (size_t)gen * 13 + (k >> 9));
}

static int
write_file(const char *path, int i, int gen, bool sync)
{
	size_t n = fsize(i);
	uint8_t *b = malloc(n + 1);
	int fd, rc = -1;

	if (b == NULL)
		return -1;
	fill(b, n, i, gen);
	fd = anyk_sys_open(path, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_TRUNC, 0644);
	if (fd >= 0) {
		if (n == 0 || anyk_sys_write(fd, b, n) == (anyk_ssize_t)n)
			rc = sync ? anyk_sys_fsync(fd) : 0;
		anyk_sys_close(fd);
	}
	free(b);
	return rc;
}

/* Does anyk's file path hold file i of generation gen? */
static bool
check_anyk(const char *path, int i, int gen)
{
	size_t n = fsize(i);
	uint8_t *want = malloc(n + 1), *got = malloc(n + 2);
	anyk_ssize_t r = -1;
	bool ok = false;
	int fd;

	if (want == NULL || got == NULL)
		goto out;
	fill(want, n, i, gen);
	fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
	if (fd < 0)
		goto out;
	size_t have = 0;
	while (have < n + 1 && (r = anyk_sys_read(fd, got + have, n + 1 - have)) > 0)
		have += (size_t)r;
	anyk_sys_close(fd);
	ok = r >= 0 && have == n && memcmp(want, got, n) == 0;
out:
	free(want);
	free(got);
	return ok;
}

static bool
check_host(const char *path, int i, int gen)
{
	size_t n = fsize(i), have;
	uint8_t *want = malloc(n + 1), *got = malloc(n + 2);
	FILE *f = fopen(path, "rb");
	bool ok = false;

	if (want != NULL && got != NULL && f != NULL) {
		fill(want, n, i, gen);
		have = fread(got, 1, n + 1, f);
		ok = have == n && memcmp(want, got, n) == 0;
	}
	if (f != NULL)
		fclose(f);
	free(want);
	free(got);
	return ok;
}

/* The fsync'ed state: file i exists with generation gen[i] (-1: removed). */
static int gens[NFILES];

static int
check_tree_anyk(const char *img)
{
	char path[64];
	int bad = 0;

	if (anyk_disk_attach("/dev/sd1", img, 0) != 0)
		return -1;
	if (anyk_sys_mount("/dev/sd1", "/chk", "ext4", ANYK_MNT_RDONLY, NULL) != 0) {
		anyk_disk_detach("/dev/sd1");
		return -1;
	}
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/chk/d%d/f%d", i % 3, i);
		if (gens[i] < 0) {
			int fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);

			if (fd >= 0) {
				anyk_sys_close(fd);
				bad++;
			}
		} else if (!check_anyk(path, i, gens[i])) {
			bad++;
		}
	}
	anyk_sys_unmount("/chk", 0);
	anyk_disk_detach("/dev/sd1");
	return bad;
}

static void
one(const char *type, int bs)
{
	char img[300], c1[300], c2[300], c3[300], what[64], path[64], to[64];
	int rc, bad;

	snprintf(what, sizeof(what), "%s -b %d", type, bs);
	snprintf(img, sizeof(img), "%s/img", top);
	snprintf(c1, sizeof(c1), "%s/c1", top);
	snprintf(c2, sizeof(c2), "%s/c2", top);
	snprintf(c3, sizeof(c3), "%s/c3", top);
	if (t_runf("mke2fs -q -F -t %s -b %d %s 64M >/dev/null 2>&1", type, bs, img) != 0) {
		T_OK(0, "%s: mke2fs", what);
		return;
	}
	rc = anyk_disk_attach("/dev/sd0", img, 0);
	T_OK(rc == 0, "%s: attach", what);
	if (rc != 0)
		return;
	rc = anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL);
	T_OK(rc == 0, "%s: mount", what);
	if (rc != 0) {
		anyk_disk_detach("/dev/sd0");
		return;
	}

	/* The workload: directories, files written and fsync'ed, some
	 * rewritten, some removed, some renamed over others, each change
	 * made durable by an fsync of some file afterwards. */
	bool ok = true;
	for (int d = 0; d < 3; d++) {
		snprintf(path, sizeof(path), "/mnt/d%d", d);
		ok &= anyk_sys_mkdir(path, 0755) == 0;
	}
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/mnt/d%d/f%d", i % 3, i);
		ok &= write_file(path, i, 0, true) == 0;
		gens[i] = 0;
	}
	for (int i = 0; i < NFILES; i += 4) {
		snprintf(path, sizeof(path), "/mnt/d%d/f%d", i % 3, i);
		ok &= write_file(path, i, 1, true) == 0;
		gens[i] = 1;
	}
	for (int i = 1; i < NFILES; i += 5) {
		snprintf(path, sizeof(path), "/mnt/d%d/f%d", i % 3, i);
		ok &= anyk_sys_unlink(path) == 0;
		gens[i] = -1;
	}
	/* f2 becomes f3's name (with f2's old content), through a temporary. */
	snprintf(path, sizeof(path), "/mnt/d%d/tmp", 2 % 3);
	ok &= write_file(path, 3, 2, true) == 0;
	snprintf(to, sizeof(to), "/mnt/d%d/f3", 3 % 3);
	ok &= anyk_sys_rename(path, to) == 0;
	gens[3] = 2;
	/* Make the removals and the rename durable: an fsync commits the
	 * whole running transaction. */
	snprintf(path, sizeof(path), "/mnt/d%d/f%d", 0, 0);
	ok &= write_file(path, 0, 3, true) == 0;
	gens[0] = 3;
	T_OK(ok, "%s: workload with fsyncs", what);

	/* The crash: the image as the device holds it now. */
	T_OK(t_runf("cp --sparse=always %s %s && cp --sparse=always %s %s && cp --sparse=always %s %s", img, c1, img,
		  c2, img, c3) == 0,
	     "%s: copy the image while mounted", what);
	T_OK(t_runf("dumpe2fs -h %s 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'", c1) == 0,
	     "%s: the copy needs recovery", what);
	rc = t_runf("debugfs -R 'logdump' %s 2>/dev/null | grep -q 'Found expected sequence'", c1);
	T_OK(rc == 0, "%s: the copy's journal holds committed transactions (logdump)", what);

	/* (a) e2fsck -n does not replay, and says so. */
	rc = t_runf("e2fsck -fn %s 2>&1 | grep -qi 'journal'", c1);
	T_OK(rc == 0, "%s: e2fsck -fn on the copy reports the journal to recover", what);

	/* (b) e2fsck's replay and anyk's: both clean, both with the files. */
	rc = t_runf("e2fsck -fy %s >/dev/null 2>&1", c2);
	T_OK(rc == 0 || rc == 1, "%s: e2fsck -fy replays (exit %d)", what, rc);
	rc = t_runf("e2fsck -fn %s >%s/fsck2.log 2>&1", c2, top);
	T_OK(rc == 0, "%s: after e2fsck's replay, e2fsck -fn clean (exit %d)", what, rc);
	bad = check_tree_anyk(c2);
	T_OK(bad == 0, "%s: after e2fsck's replay, every fsync'ed file intact (%d bad)", what, bad);

	rc = -1;
	if (anyk_disk_attach("/dev/sd1", c3, 0) == 0) {
		if (anyk_sys_mount("/dev/sd1", "/chk", type, 0, NULL) == 0)
			rc = anyk_sys_unmount("/chk", 0);
		anyk_disk_detach("/dev/sd1");
	}
	T_OK(rc == 0, "%s: anyk replays the copy (mount, unmount)", what);
	rc = t_runf("e2fsck -fn %s >%s/fsck3.log 2>&1", c3, top);
	T_OK(rc == 0, "%s: after anyk's replay, e2fsck -fn clean (exit %d)", what, rc);
	if (rc != 0)
		t_runf("cat %s/fsck3.log", top);
	bad = check_tree_anyk(c3);
	T_OK(bad == 0, "%s: after anyk's replay, every fsync'ed file intact (%d bad)", what, bad);

	/* (c) the Linux kernel's view of anyk's replay. */
	if (geteuid() != 0) {
		T_SKIP("%s: Linux kernel view (not root)", what);
	} else {
		char mnt[300];

		snprintf(mnt, sizeof(mnt), "%s/m", top);
		t_runf("mkdir -p %s", mnt);
		if (t_runf("mount -o loop,ro -t %s %s %s >/dev/null 2>&1", type, c3, mnt) != 0) {
			T_SKIP("%s: Linux kernel view (mount -o loop,ro not possible here)", what);
		} else {
			bad = 0;
			for (int i = 0; i < NFILES; i++) {
				char hp[400];

				snprintf(hp, sizeof(hp), "%s/d%d/f%d", mnt, i % 3, i);
				if (gens[i] < 0 ? access(hp, F_OK) == 0 : !check_host(hp, i, gens[i]))
					bad++;
			}
			t_runf("umount %s", mnt);
			T_OK(bad == 0, "%s: Linux mounts anyk's replay and sees every fsync'ed file (%d bad)", what,
			     bad);
		}
	}

	/* The live mount goes on and unmounts cleanly. */
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	anyk_disk_detach("/dev/sd0");
	rc = t_runf("e2fsck -fn %s >/dev/null 2>&1", img);
	T_OK(rc == 0, "%s: after unmount, e2fsck -fn clean (exit %d)", what, rc);
	t_runf("rm -f %s %s %s %s", img, c1, c2, c3);
}

int
main(void)
{
	char tmpl[] = "/tmp/anyk-journaled.XXXXXX";

	if (!t_have_tools("mke2fs debugfs e2fsck dumpe2fs")) {
		T_SKIP("ext2_journaled: e2fsprogs not installed");
		return t_done();
	}
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(top, sizeof(top), "%s", tmpl);
	T_OK(anyk_init() == 0, "anyk_init");
	anyk_sys_mkdir("/mnt", 0755);
	anyk_sys_mkdir("/chk", 0755);
	one("ext4", 4096);
	one("ext4", 1024);
	one("ext3", 1024);
	one("ext3", 4096);
	t_runf("rm -rf %s", top);
	return t_done();
}
