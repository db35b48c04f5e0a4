/*
 * ext2/ext3/ext4 read path against mke2fs: build a host tree (files of many
 * sizes, sparse files, hard links, short and long symlinks, a directory of
 * 5,000 entries that gets a hash index, nested directories), turn it into
 * images with "mke2fs -d" for each format and block size, mount each one
 * read-only through the public API and compare everything with the host:
 * names, types, modes, sizes, link targets, hard-link identity, contents.
 * Then corrupt copies of the images and check that mounting, walking and
 * reading them fails cleanly instead of crashing.
 */
#include "tests/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anyk/anyk.h>

static char top[256], tree[300];
static int mismatches;

static uint64_t rng = 88172645463325252ull;
static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
put_file(const char *rel, size_t size, mode_t mode)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "wb");
	for (size_t i = 0; i < size; i++)
		fputc((int)(rnd() & 0xff), f);
	fclose(f);
	chmod(path, mode);
}

static void
make_tree(void)
{
	static const size_t sizes[] = { 0, 1, 100, 1023, 1024, 1025, 4095, 4096, 4097, 65537, 1048583, 3145728 + 11 };
	char rel[300], path[600], tgt[600];
	int fd;

	snprintf(tree, sizeof(tree), "%s/tree", top);
	mkdir(tree, 0755);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(rel, sizeof(rel), "file%zu", sizes[i]);
		put_file(rel, sizes[i], i % 2 ? 0640 : 0755);
	}
	/* Sparse: data at the start, in the middle and at the end of 10 MiB. */
	snprintf(path, sizeof(path), "%s/sparse", tree);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	pwrite(fd, "head", 4, 0);
	pwrite(fd, "middle", 6, 5 << 20);
	pwrite(fd, "tail", 4, (10 << 20) - 4);
	close(fd);
	snprintf(path, sizeof(path), "%s/allhole", tree);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ftruncate(fd, 3 << 20);
	close(fd);
	/* Hard links. */
	snprintf(path, sizeof(path), "%s/file4097", tree);
	snprintf(tgt, sizeof(tgt), "%s/hardlink1", tree);
	link(path, tgt);
	snprintf(tgt, sizeof(tgt), "%s/hardlink2", tree);
	link(path, tgt);
	/* Symlinks, fast and slow. */
	snprintf(path, sizeof(path), "%s/shortlink", tree);
	symlink("file100", path);
	memset(tgt, 'x', 200);
	memcpy(tgt, "long/", 5);
	tgt[200] = '\0';
	snprintf(path, sizeof(path), "%s/longlink", tree);
	symlink(tgt, path);
	/* Nested directories. */
	snprintf(path, sizeof(path), "%s/a", tree);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/a/b", tree);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/a/b/c", tree);
	mkdir(path, 01777);
	put_file("a/b/c/deep", 5000, 0644);
	/* A big directory: it gets a hash index. */
	snprintf(path, sizeof(path), "%s/big", tree);
	mkdir(path, 0755);
	for (int i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "%s/big/entry-%05d-with-a-longer-name", tree, i);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		if (i % 500 == 0)
			write(fd, path, strlen(path));
		close(fd);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "%s/big/\xc3\xa9t\xc3\xa9-%d-\xe2\x82\xac\xff", tree, i);
		close(open(path, O_CREAT | O_WRONLY, 0644));
	}
}

/* Host inode number -> anyk inode number, for hard links. */
static struct {
	ino_t host;
	uint64_t anyk;
} inomap[64];
static int ninomap;

static void
check_ino(ino_t host, uint64_t anyk, const char *rel)
{
	for (int i = 0; i < ninomap; i++) {
		if (inomap[i].host == host) {
			if (inomap[i].anyk != anyk) {
				printf("# %s: hard link to another inode\n", rel);
				mismatches++;
			}
			return;
		}
	}
	if (ninomap < 64) {
		inomap[ninomap].host = host;
		inomap[ninomap].anyk = anyk;
		ninomap++;
	}
}

static void
compare_file(const char *hp, const char *ap, off_t size, const char *rel)
{
	static char hb[1 << 17], ab[1 << 17];
	int hfd = open(hp, O_RDONLY), afd = anyk_sys_open(ap, ANYK_O_RDONLY, 0);
	size_t chunk = size % 3 == 0 ? sizeof(ab) : 777; /* odd sizes too */
	off_t done = 0;

	if (hfd < 0 || afd < 0) {
		printf("# %s: open failed (%d)\n", rel, errno);
		mismatches++;
		goto out;
	}
	for (;;) {
		ssize_t n = anyk_sys_read(afd, ab, chunk);
		ssize_t m = n > 0 ? read(hfd, hb, (size_t)n) : 0;

		if (n < 0) {
			printf("# %s: read error %d at %lld\n", rel, errno, (long long)done);
			mismatches++;
			break;
		}
		if (n == 0)
			break;
		if (m != n || memcmp(hb, ab, (size_t)n) != 0) {
			printf("# %s: contents differ near %lld\n", rel, (long long)done);
			mismatches++;
			break;
		}
		done += n;
	}
	if (done != size) {
		printf("# %s: read %lld of %lld bytes\n", rel, (long long)done, (long long)size);
		mismatches++;
	}
out:
	if (hfd >= 0)
		close(hfd);
	if (afd >= 0)
		anyk_sys_close(afd);
}

static int
count_anyk_entries(const char *ap)
{
	char buf[4096];
	int fd = anyk_sys_open(ap, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0), n = 0;
	anyk_ssize_t got;

	if (fd < 0)
		return -1;
	while ((got = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
		for (anyk_ssize_t off = 0; off < got;) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + off);

			if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
				n++;
			off += d->d_reclen;
		}
	}
	anyk_sys_close(fd);
	return got < 0 ? -1 : n;
}

static int
walk(const char *rel)
{
	char hp[1200], ap[1200], crel[900], ht[512], at[512];
	DIR *d;
	struct dirent *de;
	int n = 0, an;

	snprintf(hp, sizeof(hp), "%s/%s", tree, rel);
	d = opendir(hp);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct stat hs;
		struct anyk_stat as;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "lost+found") == 0)
			continue;
		n++;
		snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(hp, sizeof(hp), "%s/%s", tree, crel);
		snprintf(ap, sizeof(ap), "/mnt/%s", crel);
		lstat(hp, &hs);
		if (anyk_sys_lstat(ap, &as) != 0) {
			printf("# %s: lstat failed: %d\n", crel, errno);
			mismatches++;
			continue;
		}
		if ((as.st_mode & ANYK_S_IFMT) != (hs.st_mode & S_IFMT) || (as.st_mode & 07777) != (hs.st_mode & 07777)) {
			printf("# %s: mode %o, host %o\n", crel, (unsigned)as.st_mode, (unsigned)hs.st_mode);
			mismatches++;
		}
		if (!S_ISDIR(hs.st_mode) && (as.st_size != hs.st_size || as.st_nlink != hs.st_nlink)) {
			printf("# %s: size %lld nlink %llu, host %lld %llu\n", crel, (long long)as.st_size,
			       (unsigned long long)as.st_nlink, (long long)hs.st_size,
			       (unsigned long long)hs.st_nlink);
			mismatches++;
		}
		if (as.st_mtim.tv_sec != hs.st_mtim.tv_sec) {
			printf("# %s: mtime %lld, host %lld\n", crel, (long long)as.st_mtim.tv_sec,
			       (long long)hs.st_mtim.tv_sec);
			mismatches++;
		}
		if (hs.st_nlink > 1 && !S_ISDIR(hs.st_mode))
			check_ino(hs.st_ino, as.st_ino, crel);
		if (S_ISLNK(hs.st_mode)) {
			ssize_t hl = readlink(hp, ht, sizeof(ht));
			anyk_ssize_t al = anyk_sys_readlink(ap, at, sizeof(at));

			if (hl != al || hl < 0 || memcmp(ht, at, (size_t)hl) != 0) {
				printf("# %s: link target differs\n", crel);
				mismatches++;
			}
		} else if (S_ISREG(hs.st_mode)) {
			compare_file(hp, ap, hs.st_size, crel);
		} else if (S_ISDIR(hs.st_mode)) {
			int hn = walk(crel);

			an = count_anyk_entries(ap);
			if (hn != an - (strcmp(crel, "lost+found") == 0 ? 0 : 0)) {
				printf("# %s: %d entries, host %d\n", crel, an, hn);
				mismatches++;
			}
		}
	}
	closedir(d);
	return n;
}

static void
test_image(const char *fstype, int bsize, int isize, const char *hash, int hashflags)
{
	char img[400], cmd[2400], dmesg[65536];
	struct anyk_statvfs sv;
	int fd, topn;

	snprintf(img, sizeof(img), "%s/%s-%d-%d.img", top, fstype, bsize, isize);
	snprintf(cmd, sizeof(cmd), "mke2fs -q -F -t %s -b %d -I %d -d %s %s 64M >/dev/null 2>&1", fstype, bsize,
		 isize, tree, img);
	if (t_run(cmd) != 0) {
		T_SKIP("%s -b %d -I %d: mke2fs failed", fstype, bsize, isize);
		return;
	}
	/* mke2fs -d writes linear directories; e2fsck -D indexes the big
	 * one, with the hash function and signedness chosen here. */
	snprintf(cmd, sizeof(cmd),
		 "tune2fs -E hash_alg=%s %s >/dev/null 2>&1 && debugfs -w -R 'ssv flags %d' %s >/dev/null 2>&1; "
		 "e2fsck -fyD %s >/dev/null 2>&1; test $? -le 1",
		 hash, img, hashflags, img, img);
	T_OK(t_run(cmd) == 0, "%s/%d/%d: directories indexed with %s (flags %d)", fstype, bsize, isize, hash,
	     hashflags);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'htree /big' %s 2>/dev/null | grep -q 'Root node dump'", img);
	T_OK(t_run(cmd) == 0, "%s/%d/%d: /big has a hash index", fstype, bsize, isize);
	mismatches = 0;
	ninomap = 0;
	T_OK(anyk_disk_attach("/dev/sd0", img, ANYK_DISK_RDONLY) == 0, "%s/%d/%d: attach", fstype, bsize, isize);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", fstype, 0, NULL) == -1 && errno == EROFS,
	     "%s/%d/%d: read-write mount refused with EROFS", fstype, bsize, isize);
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) != 0) {
		T_OK(0, "%s/%d/%d: mount read-only (errno %d)", fstype, bsize, isize, errno);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	topn = walk("");
	T_OK(topn > 0 && mismatches == 0, "%s/%d/%d: tree matches the host (%d mismatches)", fstype, bsize, isize,
	     mismatches);
	T_EQ(count_anyk_entries("/mnt"), topn + 1, "root listing has every entry and lost+found");

	fd = anyk_sys_open("/mnt/sparse", ANYK_O_RDONLY, 0);
	anyk_off_t hole = anyk_sys_lseek(fd, 0, ANYK_SEEK_HOLE);
	anyk_off_t data = anyk_sys_lseek(fd, 8192, ANYK_SEEK_DATA);
	T_OK(hole > 0 && hole <= (1 << 20), "%s/%d/%d: SEEK_HOLE finds the first hole (%lld)", fstype, bsize,
	     isize, (long long)hole);
	T_OK(data >= (5 << 20) - 65536 && data <= (5 << 20), "%s/%d/%d: SEEK_DATA finds the middle (%lld)",
	     fstype, bsize, isize, (long long)data);
	anyk_sys_close(fd);
	T_OK(anyk_sys_open("/mnt/big/entry-99999", ANYK_O_RDONLY, 0) == -1 && errno == ENOENT,
	     "missing name in the indexed directory is ENOENT");
	T_OK(anyk_sys_open("/mnt/newfile", ANYK_O_CREAT | ANYK_O_WRONLY, 0644) == -1 && errno == EROFS,
	     "create on the read-only mount is EROFS");
	T_OK(anyk_sys_statvfs("/mnt", &sv) == 0 && sv.f_bsize == (uint64_t)bsize && sv.f_blocks > 0 &&
		     sv.f_bfree < sv.f_blocks && (sv.f_flag & ANYK_ST_RDONLY),
	     "%s/%d/%d: statvfs", fstype, bsize, isize);
	anyk_dmesg(dmesg, sizeof(dmesg));
	T_OK(strstr(dmesg, "bad hash index") == NULL && strstr(dmesg, "corrupt") == NULL,
	     "%s/%d/%d: no corruption or index fallback logged", fstype, bsize, isize);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s/%d/%d: unmount", fstype, bsize, isize);
	T_OK(anyk_disk_detach("/dev/sd0") == 0, "%s/%d/%d: detach", fstype, bsize, isize);
}

/* Walk everything, reading every file; errors are fine, crashes are not. */
static void
survive_walk(const char *dir, int depth)
{
	char buf[8192], path[1200];
	int fd = anyk_sys_open(dir, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	anyk_ssize_t got;
	int seen = 0;

	if (fd < 0 || depth > 8)
		goto out;
	while ((got = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0 && seen < 20000) {
		for (anyk_ssize_t off = 0; off < got; seen++) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + off);
			struct anyk_stat st;

			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
			if (anyk_sys_lstat(path, &st) != 0)
				continue;
			if (ANYK_S_ISDIR(st.st_mode)) {
				survive_walk(path, depth + 1);
			} else if (ANYK_S_ISLNK(st.st_mode)) {
				char t[4096];
				anyk_sys_readlink(path, t, sizeof(t));
			} else if (ANYK_S_ISREG(st.st_mode)) {
				static char data[65536];
				int f = anyk_sys_open(path, ANYK_O_RDONLY, 0);
				for (int i = 0; f >= 0 && i < 64 && anyk_sys_read(f, data, sizeof(data)) > 0; i++)
					;
				if (f >= 0)
					anyk_sys_close(f);
			}
		}
	}
out:
	if (fd >= 0)
		anyk_sys_close(fd);
}

static void
corrupt_copies(const char *fstype, int bsize, int isize, int trials)
{
	char img[400], bad[420];
	int survived = 0, mounted = 0;

	snprintf(img, sizeof(img), "%s/%s-%d-%d.img", top, fstype, bsize, isize);
	snprintf(bad, sizeof(bad), "%s.bad", img);
	if (access(img, R_OK) != 0)
		return;
	for (int t = 0; t < trials; t++) {
		char cmd[1000];
		int fd;

		snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", img, bad);
		if (t_run(cmd) != 0)
			break;
		fd = open(bad, O_RDWR);
		/* Metadata sits mostly in the first megabytes; hit it there. */
		for (int i = 0; i < 24; i++) {
			off_t off = t < 4 ? 1024 + (off_t)(rnd() % 1024) : (off_t)(rnd() % (t % 2 ? (1 << 20) : (8 << 20)));
			unsigned char b = (unsigned char)rnd();
			pwrite(fd, &b, 1, off);
		}
		close(fd);
		if (anyk_disk_attach("/dev/sd0", bad, ANYK_DISK_RDONLY) != 0)
			continue;
		if (anyk_sys_mount("/dev/sd0", "/mnt", fstype, ANYK_MNT_RDONLY, NULL) == 0) {
			mounted++;
			survive_walk("/mnt", 0);
			anyk_sys_unmount("/mnt", ANYK_MNT_FORCE);
		}
		anyk_disk_detach("/dev/sd0");
		survived++;
	}
	unlink(bad);
	T_OK(survived == trials, "%s/%d/%d: %d corrupted copies handled without a crash (%d mounted)", fstype,
	     bsize, isize, survived, mounted);
}

/*
 * A file whose block pointer names the indirect block that maps an ext3
 * journal: reading it must not hand out the journal's map, and writing it
 * must not rewrite where the log lives.
 */
static void
journal_mapblock(void)
{
	char img[400], bad[420], cmd[1600], line[64];
	unsigned char before[4096], after[4096], got[4096];
	long long ind = -1;
	int fd, afd;
	FILE *p;

	snprintf(img, sizeof(img), "%s/ext3-4096-128.img", top);
	snprintf(bad, sizeof(bad), "%s.jmap", img);
	if (access(img, R_OK) != 0)
		return;
	snprintf(cmd, sizeof(cmd),
		 "cp --sparse=always %s %s && debugfs -R 'stat <8>' %s 2>/dev/null | "
		 "grep -o '(IND):[0-9]*' | cut -d: -f2",
		 img, bad, bad);
	p = popen(cmd, "r");
	if (p != NULL && fgets(line, sizeof(line), p) != NULL)
		ind = strtoll(line, NULL, 10);
	if (p != NULL)
		pclose(p);
	T_OK(ind > 0, "ext3 journal: its indirect block found (%lld)", ind);
	if (ind <= 0)
		return;
	snprintf(cmd, sizeof(cmd), "debugfs -w -R 'sif /file4096 block[0] %lld' %s >/dev/null 2>&1", ind, bad);
	T_EQ(t_run(cmd), 0, "ext3 journal: /file4096 made to point at the journal's indirect block");
	fd = open(bad, O_RDONLY);
	T_OK(pread(fd, before, sizeof(before), (off_t)ind * 4096) == (ssize_t)sizeof(before),
	     "ext3 journal: indirect block read from the image");
	anyk_disk_attach("/dev/sd0", bad, 0);
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext3", 0, NULL) != 0) {
		T_OK(0, "ext3 journal: read-write mount (errno %d)", errno);
	} else {
		afd = anyk_sys_open("/mnt/file4096", ANYK_O_RDWR, 0);
		T_OK(afd >= 0, "ext3 journal: the file opens");
		errno = 0;
		T_OK(anyk_sys_pread(afd, got, sizeof(got), 0) == -1 && (errno == EUCLEAN || errno == EIO),
		     "ext3 journal: reading through the pointer fails (errno %d), the map is not handed out",
		     errno);
		memset(got, 0xA5, sizeof(got));
		errno = 0;
		T_OK(anyk_sys_pwrite(afd, got, sizeof(got), 0) == -1 && (errno == EUCLEAN || errno == EIO),
		     "ext3 journal: writing through the pointer fails (errno %d)", errno);
		anyk_sys_close(afd);
		anyk_sys_unmount("/mnt", ANYK_MNT_FORCE);
	}
	anyk_disk_detach("/dev/sd0");
	T_OK(pread(fd, after, sizeof(after), (off_t)ind * 4096) == (ssize_t)sizeof(after) &&
		     memcmp(before, after, sizeof(after)) == 0,
	     "ext3 journal: its indirect block is unchanged");
	close(fd);
	unlink(bad);
}

/*
 * One damaged entry in a directory block: the names before it are still
 * found, every time (a lookup that has met the damage must not leave the
 * block taken for sound), and the names past it give EUCLEAN. Under
 * metadata_csum a block whose checksum does not match fails every lookup,
 * the second as the first.
 */
static void
damaged_entry(const char *type, const char *opts)
{
	char stage[400], img[420], cmd[1400], line[64], path[64];
	unsigned char blk[1024];
	long long pblk = -1;
	bool earlier[9] = { false };
	int fd, i, at = -1, nearlier = 0;
	FILE *p;

	snprintf(stage, sizeof(stage), "%s/dmg", top);
	snprintf(img, sizeof(img), "%s/dmg.img", top);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/d", stage, stage);
	t_run(cmd);
	for (i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "/d/name-%d", i);
		snprintf(cmd, sizeof(cmd), "%s%s", stage, path);
		fclose(fopen(cmd, "w"));
	}
	snprintf(cmd, sizeof(cmd), "rm -f %s && mke2fs -q -F -t %s -b 1024 %s -d %s %s 1M", img, type, opts,
		 stage, img);
	T_OK(t_run(cmd) == 0, "%s: image with a small directory made", type);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap /d 0' %s 2>/dev/null", img);
	p = popen(cmd, "r");
	if (p != NULL && fgets(line, sizeof(line), p) != NULL)
		pblk = strtoll(line, NULL, 10);
	if (p != NULL)
		pclose(p);
	fd = open(img, O_RDWR);
	T_OK(pblk > 0 && fd >= 0 && pread(fd, blk, sizeof(blk), pblk * 1024) == (ssize_t)sizeof(blk),
	     "%s: the directory's block found (%lld)", type, pblk);
	for (i = 0; pblk > 0 && i + 8 + 6 <= (int)sizeof(blk); i += 4)
		if (memcmp(blk + i + 8, "name-4", 6) == 0 && blk[i + 6] == 6)
			at = i;
	T_OK(at > 0, "%s: the entry of name-4 found in it", type);
	/* The names the damage leaves reachable: those stored before it. */
	for (i = 0; at > 0 && i < at; i += 4)
		if (memcmp(blk + i + 8, "name-", 5) == 0 && blk[i + 6] == 6 && blk[i + 13] >= '0' &&
		    blk[i + 13] <= '8') {
			earlier[blk[i + 13] - '0'] = true;
			nearlier++;
		}
	if (at <= 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	blk[at + 4] |= 1; /* a record length that is not a multiple of four */
	pwrite(fd, blk, sizeof(blk), pblk * 1024);
	close(fd);
	anyk_disk_attach("/dev/sd0", img, ANYK_DISK_RDONLY);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", type, ANYK_MNT_RDONLY, NULL) == 0, "%s: mounted", type);
	for (int round = 0; round < 2; round++) {
		struct anyk_stat st;
		bool csum = strstr(opts, ",metadata_csum") != NULL;
		int found = 0, lost = 0, other = 0;

		for (i = 0; i < 9; i++) {
			snprintf(path, sizeof(path), "/mnt/d/name-%d", i);
			errno = 0;
			if (anyk_sys_stat(path, &st) == 0)
				found += earlier[i] ? 1 : 100;
			else if (errno == EUCLEAN)
				lost++;
			else
				other++;
		}
		if (csum)
			T_OK(found == 0 && lost == 9 && other == 0,
			     "%s: checksum mismatch: every name EUCLEAN, pass %d (%d, %d, %d)", type, round + 1,
			     found, lost, other);
		else
			T_OK(found == nearlier && lost == 9 - nearlier && other == 0,
			     "%s: damaged entry: the %d names before it found, the others EUCLEAN, pass %d "
			     "(%d, %d, %d)",
			     type, nearlier, round + 1, found, lost, other);
	}
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	unlink(img);
}

/* Targeted corruptions with a known answer. */
static void
corrupt_known(void)
{
	char img[400], bad[420], cmd[1000];
	uint32_t incompat;
	unsigned char b;
	int fd;

	snprintf(img, sizeof(img), "%s/ext4-4096-256.img", top);
	snprintf(bad, sizeof(bad), "%s.known", img);
	if (access(img, R_OK) != 0)
		return;
	/* A superblock byte under metadata_csum: EUCLEAN. */
	snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", img, bad);
	t_run(cmd);
	fd = open(bad, O_RDWR);
	pread(fd, &b, 1, 1024 + 0x78);
	b ^= 0x55;
	pwrite(fd, &b, 1, 1024 + 0x78); /* the volume name */
	close(fd);
	anyk_disk_attach("/dev/sd0", bad, ANYK_DISK_RDONLY);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) == -1 && errno == EUCLEAN,
	     "superblock checksum mismatch is EUCLEAN");
	anyk_disk_detach("/dev/sd0");
	/* A bad magic: EINVAL. */
	t_run(cmd);
	fd = open(bad, O_RDWR);
	pwrite(fd, "\0\0", 2, 1024 + 0x38);
	close(fd);
	anyk_disk_attach("/dev/sd0", bad, ANYK_DISK_RDONLY);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) == -1 && errno == EINVAL,
	     "bad magic is EINVAL");
	anyk_disk_detach("/dev/sd0");
	/* An unknown incompatible feature (0x40000, which no ext4 has): EINVAL
	 * (debugfs rewrites the checksum). */
	t_run(cmd);
	fd = open(bad, O_RDONLY);
	incompat = 0;
	if (fd < 0 || pread(fd, &incompat, 4, 1024 + 0x60) != 4)
		incompat = 0;
	if (fd >= 0)
		close(fd);
	snprintf(cmd, sizeof(cmd), "debugfs -w -R 'ssv feature_incompat %#x' %s >/dev/null 2>&1",
		 (unsigned)(le32toh(incompat) | 0x40000), bad);
	if (incompat != 0 && t_run(cmd) == 0) {
		anyk_disk_attach("/dev/sd0", bad, ANYK_DISK_RDONLY);
		T_OK(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) == -1 && errno == EINVAL,
		     "unknown incompatible feature is EINVAL");
		anyk_disk_detach("/dev/sd0");
	}
	unlink(bad);
	journal_mapblock();
	damaged_entry("ext2", "-O ^dir_index");
	damaged_entry("ext4", "-O ^dir_index,^metadata_csum");
	damaged_entry("ext4", "-O ^dir_index,metadata_csum");
}

int
main(void)
{
	static const struct {
		const char *type;
		int bsize, isize;
		const char *hash;
		int hashflags; /* 1: signed chars, 2: unsigned */
	} cfg[] = {
		{ "ext2", 1024, 128, "legacy", 1 },   { "ext2", 4096, 256, "half_md4", 2 },
		{ "ext3", 1024, 256, "tea", 1 },      { "ext3", 4096, 128, "tea", 2 },
		{ "ext4", 1024, 256, "half_md4", 1 }, { "ext4", 2048, 256, "legacy", 2 },
		{ "ext4", 4096, 256, "half_md4", 1 }, { "ext4", 4096, 128, "half_md4", 2 },
	};
	char cmd[400];

	if (!t_have_tools("mke2fs")) {
		T_SKIP("mke2fs not installed");
		return t_done();
	}
	if (strstr(getenv("PATH"), "sbin") == NULL) {
		snprintf(cmd, sizeof(cmd), "%s:/usr/sbin:/sbin", getenv("PATH"));
		setenv("PATH", cmd, 1);
	}
	snprintf(top, sizeof(top), "%s/anyk-ext2-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL) {
		T_SKIP("no temporary directory");
		return t_done();
	}
	make_tree();
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++)
		test_image(cfg[i].type, cfg[i].bsize, cfg[i].isize, cfg[i].hash, cfg[i].hashflags);
	corrupt_known();
	corrupt_copies("ext4", 4096, 256, 40);
	corrupt_copies("ext4", 1024, 256, 40);
	corrupt_copies("ext2", 1024, 128, 40);
	corrupt_copies("ext3", 4096, 128, 20);
	T_OK(anyk_fini() == 0, "anyk_fini");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	t_run(cmd);
	return t_done();
}
