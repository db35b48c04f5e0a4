/*
 * Big directories on ext2/3/4 written by anyk keep a valid hash index:
 * 50,000 random names added with removals interleaved (the index splits
 * leaves and nodes, grows a level; removals leave it alone), then every
 * name looked up, readdir compared, "e2fsck -fn" clean (it checks the
 * index), "debugfs htree" shows the index, and the Linux kernel sees every
 * name. Also renames and rmdir of a directory that was indexed (the time
 * 70,000 subdirectories take is in ext2_write.c).
 *
 * ext2_htree_write [N]: N names (default 50,000).
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anyk/anyk.h>

#include "tests/integration/ext2_img.h"

struct name {
	char s[256];
	bool alive;
};

static struct name *names;
static int nnames;
static int min_name; /* long names fill leaves fast: more levels */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
random_name(char *s, int i)
{
	static const char cs[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
	int len = min_name + 1 + (int)(rnd() % (rnd() % 8 == 0 ? 200 : 24));
	int n = snprintf(s, 256, "%d", i); /* unique */

	for (int k = n; k < n + len && k < 250; k++)
		s[k] = cs[rnd() % (sizeof(cs) - 1)];
	s[n + len < 250 ? n + len : 250] = '\0';
}

/* The names alive, sorted, in a file. */
static void
write_expected(const char *path)
{
	char **v = malloc(sizeof(*v) * (size_t)nnames);
	int n = 0;
	FILE *f = fopen(path, "w");

	for (int i = 0; i < nnames; i++)
		if (names[i].alive)
			v[n++] = names[i].s;
	qsort(v, (size_t)n, sizeof(*v), cmp_str);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n", v[i]);
	fclose(f);
	free(v);
}

/* Every name but "." and ".." into f; how many. */
static int
list_dir(int fd, FILE *f)
{
	static char buf[65536];
	anyk_ssize_t got;
	int n = 0;

	while ((got = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
		for (anyk_ssize_t off = 0; off < got;) {
			const struct anyk_dirent *d = (const void *)(buf + off);
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
				fprintf(f, "%s\n", d->d_name);
				n++;
			}
			off += d->d_reclen;
		}
	}
	return got == 0 ? n : -1;
}

static void
test_big_dir(const char *type, const char *opts, int n, uint64_t seed)
{
	char what[200], path[700], cmd[1600];
	int fd, bad = 0, alive = 0, removed = 0, renamed = 0;
	double t0;
	struct anyk_stat st;

	snprintf(what, sizeof(what), "%s %s, %d names", type, opts, n);
	if (!img_mkfs(type, opts, "300M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	rng = seed;
	names = calloc((size_t)n, sizeof(*names));
	nnames = 0;
	T_OK(anyk_disk_attach("/dev/sd0", img, 0) == 0, "%s: attach", what);
	if (anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL) != 0) {
		T_OK(0, "%s: mount (errno %d)", what, errno);
		anyk_disk_detach("/dev/sd0");
		free(names);
		return;
	}
	anyk_sys_mkdir("/mnt/big", 0755);
	t0 = now_s();
	while (nnames < n) {
		uint64_t r = rnd() % 10;

		if (r < 2 && nnames > 0) {
			/* Remove a random name (a few will be gone already). */
			struct name *nm = &names[rnd() % (uint64_t)nnames];
			snprintf(path, sizeof(path), "/mnt/big/%s", nm->s);
			if (nm->alive) {
				if (anyk_sys_unlink(path) != 0)
					bad++;
				nm->alive = false;
				removed++;
			} else if (anyk_sys_unlink(path) == 0 || errno != ENOENT) {
				bad++;
			}
		} else if (r == 2 && nnames > 0) {
			/* Rename within the directory: remove and add at once. */
			struct name *nm = &names[rnd() % (uint64_t)nnames];
			char to[700];
			if (!nm->alive || nnames >= n)
				continue;
			struct name *nw = &names[nnames];
			random_name(nw->s, nnames);
			snprintf(path, sizeof(path), "/mnt/big/%s", nm->s);
			snprintf(to, sizeof(to), "/mnt/big/%s", nw->s);
			if (anyk_sys_rename(path, to) != 0)
				bad++;
			nm->alive = false;
			nw->alive = true;
			nnames++;
			renamed++;
		} else {
			struct name *nm = &names[nnames];
			random_name(nm->s, nnames);
			snprintf(path, sizeof(path), "/mnt/big/%s", nm->s);
			fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_WRONLY, 0644);
			if (fd < 0) {
				bad++;
				if (bad < 5)
					printf("# create %s: errno %d\n", path, errno);
			} else {
				anyk_sys_close(fd);
			}
			nm->alive = true;
			nnames++;
		}
	}
	T_OK(bad == 0, "%s: %d creates, %d removals, %d renames in %.1fs", what, nnames - renamed, removed, renamed,
	     now_s() - t0);
	t0 = now_s();
	bad = 0;
	for (int i = 0; i < nnames; i++) {
		int rc;
		snprintf(path, sizeof(path), "/mnt/big/%s", names[i].s);
		rc = anyk_sys_stat(path, &st);
		if ((rc == 0) != names[i].alive)
			bad++;
		alive += names[i].alive;
	}
	T_OK(bad == 0, "%s: %d names looked up (%d present) in %.2fs", what, nnames, alive, now_s() - t0);
	/* readdir lists exactly the names present. */
	{
		char exp[300], got[300];
		FILE *f;
		int nlisted;
		int dfd = anyk_sys_open("/mnt/big", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);

		snprintf(exp, sizeof(exp), "%s/expected", top);
		snprintf(got, sizeof(got), "%s/got", top);
		write_expected(exp);
		f = fopen(got, "w");
		nlisted = list_dir(dfd, f);
		fclose(f);
		anyk_sys_close(dfd);
		snprintf(cmd, sizeof(cmd), "LC_ALL=C sort -o %s %s && cmp -s %s %s", got, got, exp, got);
		T_OK(t_run(cmd) == 0, "%s: readdir lists the %d names present (got %d)", what, alive, nlisted);
	}
	/* A directory that was indexed empties and goes. */
	anyk_sys_mkdir("/mnt/gone", 0755);
	for (int i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/mnt/gone/entry-with-a-longish-name-%04d", i);
		anyk_sys_mkdir(path, 0755);
	}
	bad = 0;
	for (int i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/mnt/gone/entry-with-a-longish-name-%04d", i);
		bad += anyk_sys_rmdir(path) != 0;
	}
	T_OK(bad == 0 && anyk_sys_rmdir("/mnt/gone") == 0, "%s: an indexed directory emptied is removed", what);
	/* ".." of an indexed directory moved elsewhere. */
	anyk_sys_mkdir("/mnt/moved", 0755);
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/mnt/moved/file-with-a-name-that-takes-room-%04d", i);
		fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
		anyk_sys_close(fd);
	}
	anyk_sys_mkdir("/mnt/to", 0755);
	T_OK(anyk_sys_rename("/mnt/moved", "/mnt/to/moved") == 0 &&
	     anyk_sys_stat("/mnt/to/moved/../moved/file-with-a-name-that-takes-room-0123", &st) == 0,
	     "%s: an indexed directory moves (its \"..\" in the index root)", what);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean(what);
	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'htree /big' %s 2>&1 | grep -q 'Root node dump' && "
		 "debugfs -R 'htree /to/moved' %s 2>&1 | grep -q 'Root node dump'", img, img);
	T_OK(t_run(cmd) == 0, "%s: debugfs htree shows the indexes", what);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'htree /big' %s 2>/dev/null | grep -o 'Indirect levels: [0-9]*' | head -1 | sed 's/^/# /'", img);
	t_run(cmd);
	/* The read-only remount finds everything through the index. */
	anyk_disk_attach("/dev/sd0", img, ANYK_DISK_RDONLY);
	if (anyk_sys_mount("/dev/sd0", "/mnt", type, ANYK_MNT_RDONLY, NULL) == 0) {
		bad = 0;
		for (int i = 0; i < nnames; i++) {
			snprintf(path, sizeof(path), "/mnt/big/%s", names[i].s);
			if ((anyk_sys_stat(path, &st) == 0) != names[i].alive)
				bad++;
		}
		T_OK(bad == 0, "%s: after remount every name is found or not, as it should", what);
		anyk_sys_unmount("/mnt", 0);
	} else {
		T_OK(0, "%s: remount read-only", what);
	}
	anyk_disk_detach("/dev/sd0");
	if (!is_root) {
		T_SKIP("%s: Linux kernel view (not root)", what);
	} else {
		char mnt[400];
		snprintf(mnt, sizeof(mnt), "%s/kmnt", top);
		mkdir(mnt, 0755);
		snprintf(cmd, sizeof(cmd), "mount -o loop,ro %s %s >/dev/null 2>&1", img, mnt);
		if (t_run(cmd) != 0) {
			T_SKIP("%s: Linux kernel view (mount -o loop,ro not possible here)", what);
		} else {
			int missing = 0;
			struct stat hst;
			/* Lookups by name go through Linux's own index walk. */
			for (int i = 0; i < nnames; i++) {
				snprintf(path, sizeof(path), "%s/big/%s", mnt, names[i].s);
				if ((stat(path, &hst) == 0) != names[i].alive)
					missing++;
			}
			snprintf(cmd, sizeof(cmd), "ls -A %s/big | LC_ALL=C sort | cmp -s - %s/expected", mnt, top);
			T_OK(t_run(cmd) == 0 && missing == 0, "%s: Linux sees every name (%d wrong by lookup)", what,
			     missing);
			snprintf(cmd, sizeof(cmd), "umount %s", mnt);
			t_run(cmd);
		}
	}
	free(names);
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50000;

	if (!img_setup("anyk-htree"))
		return t_done();
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	if (argc > 3) {
		test_big_dir(argv[2], argv[3], n, 0x1234567);
		goto done;
	}
	/* metadata_csum (dx tails), 4 KiB blocks. */
	test_big_dir("ext4", "-O ^has_journal -b 4096", n, 0x1234567);
	/* 1 KiB blocks: two levels. */
	test_big_dir("ext4", "-O ^has_journal -b 1024 -I 128", n, 0x2345678);
	/* No checksums, signed hashes would differ: ext2 with 1 KiB blocks. */
	test_big_dir("ext2", "-b 1024", n / 2, 0x3456789);
	/* largedir: a third level with long names on 1 KiB blocks. */
	min_name = 200;
	test_big_dir("ext4", "-O ^has_journal,large_dir -b 1024 -N 80000", n + n / 5, 0x456789a);
	min_name = 0;
done:
	T_OK(anyk_fini() == 0, "anyk_fini");
	img_cleanup();
	return t_done();
}
