/*
 * ext2/ext3/ext4 write path against e2fsprogs: for each format, make an
 * image with mke2fs, mount it read-write through the public API and run a
 * seeded random workload (create, write at random offsets, append, extend,
 * truncate, fallocate (punching holes; on ext4 also preallocating, with
 * and without keeping the size, and collapsing and inserting ranges where
 * the host's file system can too), rename and renameat2's exchange, noreplace and whiteout, link,
 * unlink, mkdir, rmdir, symlink, chmod, chown)
 * that is mirrored step by step in a host directory, every result and
 * error compared. Then unmount, require "e2fsck -fn" to find nothing,
 * remount read-only and compare the whole tree with the host's (and, when
 * the host lets us loop-mount, with the Linux kernel's view of the image).
 * Also: filling a file system to ENOSPC and freeing it again, a 5 GiB
 * sparse file, and a directory with 70,000 subdirectories (dir_nlink,
 * and the hash index keeping lookups fast).
 */
#include "tests/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anyk/anyk.h>

#include "tests/integration/ext2_img.h"

static char model[300];
static int mismatches;

/* --- the workload -------------------------------------------------------- */

static const char *const parents[] = { "", "d0", "d1", "d2", "d0/d1", "d0/d2", "d1/d0", "d0/d1/d2" };
static const char *const names[] = { "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9",
				     "d0", "d1", "d2", "s0", "s1", "a-much-longer-file-name-to-fill-blocks-0",
				     "a-much-longer-file-name-to-fill-blocks-1", "g0", "g1", "g2" };

static void
pick(char *rel, size_t len)
{
	const char *p = parents[rnd() % (sizeof(parents) / sizeof(parents[0]))];
	/* Directory names (d*) less often, so that they mostly stay directories. */
	const char *n = names[rnd() % 4 == 0 ? rnd() % (sizeof(names) / sizeof(names[0])) : rnd() % 10];

	snprintf(rel, len, "%s%s%s", p, *p ? "/" : "", n);
}

static void
paths(const char *rel, char *h, char *a)
{
	snprintf(h, 700, "%s/%s", model, rel);
	snprintf(a, 700, "/mnt/%s", rel);
}

static uint64_t nops, nerr_same;

/* Compare the outcome of one operation on both sides. */
static void
same(const char *what, const char *rel, long hr, int herr, long ar, int aerr)
{
	nops++;
	/* The VFS rejects linking a directory before looking at the new name;
	 * Linux reports the existing name first. Not the file system's doing. */
	if (!strcmp(what, "link") && hr < 0 && ar < 0 && herr == EEXIST && aerr == EPERM)
		aerr = EEXIST;
	if ((hr < 0) != (ar < 0) || (hr < 0 && herr != aerr) || (hr >= 0 && hr != ar && strcmp(what, "open")))
	{
		if (mismatches++ < 20)
			printf("# op %llu %s %s: host %ld/%d anyk %ld/%d\n", (unsigned long long)nops, what, rel, hr,
			       hr < 0 ? herr : 0, ar, ar < 0 ? aerr : 0);
	} else if (hr < 0) {
		nerr_same++;
	}
}

static char wbuf[1 << 20];

static void
op_write(bool append)
{
	char rel[200], h[700], a[700];
	size_t len = rnd() % 8 == 0 ? rnd() % sizeof(wbuf) : rnd() % 20000;
	off_t off = (off_t)(rnd() % 8 == 0 ? rnd() % (3 << 20) : rnd() % 70000);
	int hfd, afd, he, ae;
	long hr, ar;

	pick(rel, sizeof(rel));
	paths(rel, h, a);
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(wbuf + i) = rnd();
	int fl = O_CREAT | O_WRONLY | (append ? O_APPEND : 0);
	int afl = ANYK_O_CREAT | ANYK_O_WRONLY | (append ? ANYK_O_APPEND : 0);
	hfd = open(h, fl, 0644);
	he = errno;
	afd = anyk_sys_open(a, afl, 0644);
	ae = errno;
	same("open", rel, hfd, he, afd, ae);
	if (hfd < 0 || afd < 0)
		goto out;
	if (append) {
		hr = write(hfd, wbuf, len);
		he = errno;
		ar = anyk_sys_write(afd, wbuf, len);
		ae = errno;
	} else {
		hr = pwrite(hfd, wbuf, len, off);
		he = errno;
		ar = anyk_sys_pwrite(afd, wbuf, len, off);
		ae = errno;
	}
	same("write", rel, hr, he, ar, ae);
out:
	if (hfd >= 0)
		close(hfd);
	if (afd >= 0)
		anyk_sys_close(afd);
}

/* The modes every host file system has; without extents (ext2, ext3) only
 * punching holes. Collapsing and inserting ranges too where the model's
 * file system does them (shifts: probed) and the image has extents. */
static bool extents, shifts;
static unsigned nshifted; /* ranges collapsed or inserted on both sides */

/* fallocate(mode, off, len) on rel, both sides. */
static void
falloc_both(int mode, off_t off, off_t len)
{
	char rel[200], h[700], a[700];
	int hfd, afd, he, ae;
	long hr, ar;

	pick(rel, sizeof(rel));
	paths(rel, h, a);
	hfd = open(h, O_WRONLY);
	he = errno;
	afd = anyk_sys_open(a, ANYK_O_WRONLY, 0);
	ae = errno;
	same("open", rel, hfd, he, afd, ae);
	if (hfd >= 0 && afd >= 0) {
		hr = fallocate(hfd, mode, off, len); /* same mode values */
		he = errno;
		ar = anyk_sys_fallocate(afd, mode, off, len);
		ae = errno;
		same(mode & (ANYK_FALLOC_FL_COLLAPSE_RANGE | ANYK_FALLOC_FL_INSERT_RANGE) ? "fallocate shift" :
		     "fallocate", rel, hr, he, ar, ae);
		if ((mode & (ANYK_FALLOC_FL_COLLAPSE_RANGE | ANYK_FALLOC_FL_INSERT_RANGE)) && hr == 0 && ar == 0)
			nshifted++;
	}
	if (hfd >= 0)
		close(hfd);
	if (afd >= 0)
		anyk_sys_close(afd);
}

static void
op_falloc(void)
{
	static const int modes[] = { 0, ANYK_FALLOC_FL_KEEP_SIZE,
				     ANYK_FALLOC_FL_PUNCH_HOLE | ANYK_FALLOC_FL_KEEP_SIZE };
	int mode = modes[rnd() % 3];
	off_t off = (off_t)(rnd() % 4 == 0 ? rnd() % (3 << 20) : rnd() % 70000);
	off_t len = (off_t)(rnd() % 4 == 0 ? rnd() % (1 << 20) : rnd() % 30000) + 1;

	if (!extents)
		mode = modes[2];
	falloc_both(mode, off, len);
}

/* Whole 4 KiB pieces (whole blocks at 1 KiB and 4 KiB); now and then 512
 * bytes off, whole blocks for neither. */
static void
op_shift(void)
{
	int mode = rnd() % 2 ? ANYK_FALLOC_FL_COLLAPSE_RANGE : ANYK_FALLOC_FL_INSERT_RANGE;
	off_t off = (off_t)(rnd() % 4 == 0 ? rnd() % 768 : rnd() % 12) * 4096;
	off_t len = (off_t)(rnd() % 4 == 0 ? rnd() % 256 + 1 : rnd() % 6 + 1) * 4096;

	if (rnd() % 10 == 0)
		off += 512;
	if (!shifts)
		return;
	falloc_both(mode, off, len);
}

/* Does the model's file system collapse and insert 4 KiB ranges? */
static bool
host_shifts(void)
{
	char path[400];
	static char z[3 * 4096];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/.shift-probe", model);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	ok = write(fd, z, sizeof(z)) == (ssize_t)sizeof(z) &&
	     fallocate(fd, ANYK_FALLOC_FL_COLLAPSE_RANGE, 4096, 4096) == 0 &&
	     fallocate(fd, ANYK_FALLOC_FL_INSERT_RANGE, 0, 4096) == 0;
	close(fd);
	unlink(path);
	return ok;
}

static void
op_truncate(void)
{
	char rel[200], h[700], a[700];
	off_t size = (off_t)(rnd() % 4 == 0 ? rnd() % (4 << 20) : rnd() % 50000);
	long hr, ar;
	int he, ae;

	pick(rel, sizeof(rel));
	paths(rel, h, a);
	hr = truncate(h, size);
	he = errno;
	ar = anyk_sys_truncate(a, size);
	ae = errno;
	same("truncate", rel, hr, he, ar, ae);
}

static void
op_two(int kind)
{
	char r1[200], r2[200], h1[700], a1[700], h2[700], a2[700];
	long hr = 0, ar = 0;
	int he, ae;

	pick(r1, sizeof(r1));
	pick(r2, sizeof(r2));
	paths(r1, h1, a1);
	paths(r2, h2, a2);
	if (kind == 0) {
		/* Mostly plain renames; a fifth carry a renameat2 flag. */
		unsigned r = (unsigned)(rnd() % 20), f = r == 0 ? ANYK_RENAME_NOREPLACE :
			     r <= 2 ? ANYK_RENAME_EXCHANGE : r == 3 ? ANYK_RENAME_WHITEOUT : 0;

		hr = renameat2(AT_FDCWD, h1, AT_FDCWD, h2, f); /* same flag values */
		he = errno;
		ar = anyk_sys_renameat2(ANYK_AT_FDCWD, a1, ANYK_AT_FDCWD, a2, f);
		ae = errno;
		same(f == 0 ? "rename" : f == ANYK_RENAME_NOREPLACE ? "rename noreplace" :
		     f == ANYK_RENAME_EXCHANGE ? "rename exchange" : "rename whiteout", r1, hr, he, ar, ae);
	} else {
		hr = link(h1, h2);
		he = errno;
		ar = anyk_sys_link(a1, a2);
		ae = errno;
		same("link", r1, hr, he, ar, ae);
	}
}

static void
op_one(int kind)
{
	char rel[200], h[700], a[700], tgt[200];
	long hr = 0, ar = 0;
	int he = 0, ae = 0;
	mode_t mode = (mode_t)(rnd() & 0777) | 0200 | (kind == 3 ? 0700 : 0);

	pick(rel, sizeof(rel));
	paths(rel, h, a);
	switch (kind) {
	case 0:
		hr = unlink(h), he = errno;
		ar = anyk_sys_unlink(a), ae = errno;
		break;
	case 1:
		hr = mkdir(h, 0755), he = errno;
		ar = anyk_sys_mkdir(a, 0755), ae = errno;
		break;
	case 2:
		hr = rmdir(h), he = errno;
		ar = anyk_sys_rmdir(a), ae = errno;
		break;
	case 3:
		hr = chmod(h, mode), he = errno;
		ar = anyk_sys_chmod(a, mode), ae = errno;
		break;
	case 4: {
		uid_t u = (uid_t)(rnd() % 3000);
		gid_t g = (gid_t)(rnd() % 3000);
		if (!is_root)
			return;
		hr = lchown(h, u, g), he = errno;
		ar = anyk_sys_lchown(a, u, g), ae = errno;
		break;
	}
	case 5:
		if (rnd() % 2) {
			snprintf(tgt, sizeof(tgt), "%s", names[rnd() % 10]);
		} else {
			memset(tgt, 'x', 150);
			snprintf(tgt + 150, 20, "-%d", (int)(rnd() % 100));
		}
		hr = symlink(tgt, h), he = errno;
		ar = anyk_sys_symlink(tgt, a), ae = errno;
		break;
	}
	same(kind == 0 ? "unlink" : kind == 1 ? "mkdir" : kind == 2 ? "rmdir" : kind == 3 ? "chmod" :
	     kind == 4 ? "chown" : "symlink", rel, hr, he, ar, ae);
}

static void
workload(int n)
{
	for (int i = 0; i < n; i++) {
		unsigned r = (unsigned)(rnd() % 100);

		if (r < 30)
			op_write(false);
		else if (r < 36)
			op_write(true);
		else if (r < 41)
			op_truncate();
		else if (r < 44)
			op_falloc();
		else if (r < 47)
			op_shift();
		else if (r < 54)
			op_two(0);
		else if (r < 59)
			op_two(1);
		else if (r < 69)
			op_one(0);
		else if (r < 79)
			op_one(1);
		else if (r < 86)
			op_one(2);
		else if (r < 91)
			op_one(3);
		else if (r < 95)
			op_one(4);
		else
			op_one(5);
	}
}

/* --- comparing trees: the host model against anyk or a loop mount --------- */

struct view {
	int (*lstat)(const char *, struct stat *);
	ssize_t (*readlink)(const char *, char *, size_t);
	int (*open)(const char *);
	ssize_t (*read)(int, void *, size_t);
	int (*close)(int);
	int (*count)(const char *); /* entries besides "." and ".." */
};

static int
host_lstat(const char *p, struct stat *st)
{
	return lstat(p, st);
}

static int
host_open(const char *p)
{
	return open(p, O_RDONLY);
}

static int
host_count(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int
a_lstat(const char *p, struct stat *st)
{
	struct anyk_stat as;

	if (anyk_sys_lstat(p, &as) != 0)
		return -1;
	memset(st, 0, sizeof(*st));
	st->st_mode = as.st_mode;
	st->st_size = as.st_size;
	st->st_nlink = as.st_nlink;
	st->st_uid = as.st_uid;
	st->st_gid = as.st_gid;
	st->st_ino = as.st_ino;
	return 0;
}

static ssize_t
a_readlink(const char *p, char *b, size_t n)
{
	return anyk_sys_readlink(p, b, n);
}

static int
a_open(const char *p)
{
	return anyk_sys_open(p, ANYK_O_RDONLY, 0);
}

static ssize_t
a_read(int fd, void *b, size_t n)
{
	return anyk_sys_read(fd, b, n);
}

static int
a_close(int fd)
{
	return anyk_sys_close(fd);
}

static int
a_count(const char *p)
{
	int fd = anyk_sys_open(p, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0), n = 0;
	char buf[8192];
	anyk_ssize_t got;

	if (fd < 0)
		return -1;
	while ((got = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
		for (anyk_ssize_t off = 0; off < got;) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + off);
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				n++;
			off += d->d_reclen;
		}
	}
	anyk_sys_close(fd);
	return n;
}

static const struct view anyk_view = { a_lstat, a_readlink, a_open, a_read, a_close, a_count };
static const struct view host_view = { host_lstat, readlink, host_open, read, close, host_count };

static int
differ(const char *rel, const char *what)
{
	if (mismatches++ < 20)
		printf("# %s: %s differs\n", rel, what);
	return 1;
}

static void
compare_file(const struct view *v, const char *hp, const char *vp, const char *rel)
{
	static char hb[1 << 16], vb[1 << 16];
	int hfd = open(hp, O_RDONLY), vfd = v->open(vp);

	if (hfd < 0 || vfd < 0) {
		differ(rel, "open");
	} else {
		for (;;) {
			ssize_t n = v->read(vfd, vb, sizeof(vb)), m = read(hfd, hb, sizeof(hb));
			if (n != m || (n > 0 && memcmp(hb, vb, (size_t)n) != 0)) {
				differ(rel, "contents");
				break;
			}
			if (n <= 0)
				break;
		}
	}
	if (hfd >= 0)
		close(hfd);
	if (vfd >= 0)
		v->close(vfd);
}

/* Walk the model; everything must look the same through v under vroot. */
static void
compare_tree(const struct view *v, const char *vroot, const char *rel, int skip_extra)
{
	char hp[1400], vp[1400], crel[1000], hl[300], vl[300];
	struct dirent *e;
	struct stat hs, vs;
	int hn = 0;
	DIR *d;

	snprintf(hp, sizeof(hp), "%s/%s", model, rel);
	snprintf(vp, sizeof(vp), "%s/%s", vroot, rel);
	d = opendir(hp);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		hn++;
		snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(hp, sizeof(hp), "%s/%s", model, crel);
		snprintf(vp, sizeof(vp), "%s/%s", vroot, crel);
		if (lstat(hp, &hs) != 0 || v->lstat(vp, &vs) != 0) {
			differ(crel, "existence");
			continue;
		}
		if ((hs.st_mode & S_IFMT) != (vs.st_mode & S_IFMT))
			differ(crel, "type");
		else if (!S_ISLNK(hs.st_mode) && (hs.st_mode & 07777) != (vs.st_mode & 07777))
			differ(crel, "mode");
		else if (!S_ISDIR(hs.st_mode) && hs.st_nlink != vs.st_nlink)
			differ(crel, "link count");
		else if (is_root && (hs.st_uid != vs.st_uid || hs.st_gid != vs.st_gid))
			differ(crel, "owner");
		else if (!S_ISDIR(hs.st_mode) && hs.st_size != vs.st_size)
			differ(crel, "size");
		else if (S_ISLNK(hs.st_mode)) {
			ssize_t a = readlink(hp, hl, sizeof(hl)), b = v->readlink(vp, vl, sizeof(vl));
			if (a != b || a < 0 || memcmp(hl, vl, (size_t)a) != 0)
				differ(crel, "link target");
		} else if (S_ISREG(hs.st_mode)) {
			compare_file(v, hp, vp, crel);
		} else if (S_ISDIR(hs.st_mode)) {
			compare_tree(v, vroot, crel, 0);
		}
	}
	closedir(d);
	snprintf(vp, sizeof(vp), "%s/%s", vroot, rel);
	if (v->count(vp) != hn + skip_extra)
		differ(*rel ? rel : "/", "entry count");
}

static void
kernel_view(const char *what, int skip_extra)
{
	char cmd[900], mnt[400];
	int before = mismatches;

	if (!is_root) {
		T_SKIP("%s: Linux kernel view (not root)", what);
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/kmnt", top);
	mkdir(mnt, 0755);
	snprintf(cmd, sizeof(cmd), "mount -o loop,ro %s %s >/dev/null 2>&1", img, mnt);
	if (t_run(cmd) != 0) {
		T_SKIP("%s: Linux kernel view (mount -o loop,ro not possible here)", what);
		return;
	}
	compare_tree(&host_view, mnt, "", skip_extra);
	snprintf(cmd, sizeof(cmd), "umount %s", mnt);
	t_run(cmd);
	T_OK(mismatches == before, "%s: the Linux kernel sees the same tree", what);
}

static void
test_workload(const char *type, const char *opts, int nops_want, uint64_t seed)
{
	char what[200], cmd[800];
	int before = mismatches, fd;
	double t0;
	struct anyk_stat st;
	char buf[8];

	snprintf(what, sizeof(what), "%s %s", type, opts);
	extents = !strcmp(type, "ext4");
	if (!img_mkfs(type, opts, "256M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", model, model);
	t_run(cmd);
	shifts = extents && host_shifts();
	if (extents && !shifts)
		printf("# %s: the host's %s does not collapse or insert ranges: not compared\n", what, model);
	T_OK(anyk_disk_attach("/dev/sd0", img, 0) == 0, "%s: attach", what);
	if (anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL) != 0) {
		T_OK(0, "%s: read-write mount (errno %d)", what, errno);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	/* mke2fs's lost+found is not in the model. */
	T_OK(anyk_sys_rmdir("/mnt/lost+found") == 0, "%s: rmdir lost+found", what);
	/* Its inode, the first one not reserved (s_first_ino), is free again
	 * and the first a new file in the root's group gets. */
	fd = anyk_sys_open("/mnt/first", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	T_OK(fd >= 0 && anyk_sys_fstat(fd, &st) == 0 && st.st_ino == 11,
	     "%s: lost+found's inode 11 is handed out again (got %llu)", what,
	     fd >= 0 ? (unsigned long long)st.st_ino : 0ULL);
	anyk_sys_close(fd);
	anyk_sys_unlink("/mnt/first");
	/* Start with the parent directories, so that most operations succeed. */
	for (size_t i = 1; i < sizeof(parents) / sizeof(parents[0]); i++) {
		char h[700], a[700];
		paths(parents[i], h, a);
		mkdir(h, 0755);
		anyk_sys_mkdir(a, 0755);
	}
	rng = seed;
	nops = nerr_same = 0;
	nshifted = 0;
	t0 = now_s();
	workload(nops_want);
	T_OK(mismatches == before, "%s: %llu operations (%llu failing alike) match the host in %.1fs", what,
	     (unsigned long long)nops, (unsigned long long)nerr_same, now_s() - t0);
	if (shifts)
		T_OK(nshifted >= 20, "%s: %u ranges collapsed or inserted alike", what, nshifted);
	compare_tree(&anyk_view, "/mnt", "", 0);
	T_OK(mismatches == before, "%s: tree matches while mounted", what);

	/* A sparse file past 4 GiB (large_file). */
	fd = anyk_sys_open("/mnt/big5g", ANYK_O_CREAT | ANYK_O_RDWR, 0600);
	T_OK(fd >= 0 && anyk_sys_pwrite(fd, "head", 4, 0) == 4 &&
	     anyk_sys_pwrite(fd, "tail", 4, (5LL << 30) - 4) == 4 && anyk_sys_fsync(fd) == 0,
	     "%s: 5 GiB sparse file written", what);
	T_OK(anyk_sys_fstat(fd, &st) == 0 && st.st_size == (5LL << 30) && st.st_blocks < 100,
	     "%s: 5 GiB sparse file size %lld, %lld blocks", what, (long long)st.st_size,
	     (long long)st.st_blocks);
	T_OK(anyk_sys_pread(fd, buf, 4, (5LL << 30) - 4) == 4 && memcmp(buf, "tail", 4) == 0 &&
	     anyk_sys_pread(fd, buf, 4, 3LL << 30) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0,
	     "%s: 5 GiB sparse file reads back", what);
	anyk_sys_close(fd);

	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	T_OK(anyk_disk_detach("/dev/sd0") == 0, "%s: detach", what);
	img_fsck_clean(what);
	anyk_disk_attach("/dev/sd0", img, ANYK_DISK_RDONLY);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", type, ANYK_MNT_RDONLY, NULL) == 0, "%s: remount read-only", what);
	before = mismatches;
	compare_tree(&anyk_view, "/mnt", "", 1);
	T_OK(mismatches == before, "%s: tree matches after remount", what);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	kernel_view(what, 1);
}

/* Fill to ENOSPC with big and small files; e2fsck; free it all again. */
static void
test_enospc(const char *type, const char *opts)
{
	char what[200], path[100];
	struct anyk_statvfs s0, s1;
	struct anyk_stat r0, r1;
	int nfiles = 0, fd, err = 0;
	long long total = 0, infile;

	snprintf(what, sizeof(what), "ENOSPC %s %s", type, opts);
	if (!img_mkfs(type, opts, "24M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	anyk_disk_attach("/dev/sd0", img, 0);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL) == 0, "%s: mount", what);
	anyk_sys_statvfs("/mnt", &s0);
	anyk_sys_stat("/mnt", &r0);
	for (int i = 0; i < 100000 && !err; i++) {
		size_t len = i % 10 == 0 ? sizeof(wbuf) : (size_t)(rnd() % 9000);
		snprintf(path, sizeof(path), "/mnt/f%d", i);
		fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		nfiles++;
		infile = 0;
		for (;;) {
			anyk_ssize_t n = anyk_sys_write(fd, wbuf, len);
			if (n < 0) {
				err = errno;
				break;
			}
			total += n;
			infile += n;
			if ((size_t)n < len || i % 10 != 0 || infile >= (2 << 20))
				break;
		}
		anyk_sys_close(fd);
	}
	T_OK(err == ENOSPC, "%s: %d files, %lld bytes, then ENOSPC (errno %d)", what, nfiles, total, err);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount full", what);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean(what);
	anyk_disk_attach("/dev/sd0", img, 0);
	anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL);
	for (int i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "/mnt/f%d", i);
		anyk_sys_unlink(path);
	}
	anyk_sys_statvfs("/mnt", &s1);
	/* Directories do not shrink: the root keeps the blocks it grew by. */
	anyk_sys_stat("/mnt", &r1);
	s1.f_bfree += (uint64_t)(r1.st_size - r0.st_size) / s1.f_bsize;
	T_OK(s1.f_bfree == s0.f_bfree && s1.f_ffree == s0.f_ffree,
	     "%s: every block and inode comes back (%llu/%llu blocks, %llu/%llu inodes)", what,
	     (unsigned long long)s1.f_bfree, (unsigned long long)s0.f_bfree, (unsigned long long)s1.f_ffree,
	     (unsigned long long)s0.f_ffree);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean(what);
}

static void
test_many_dirs(int n)
{
	char what[100], path[100];
	struct anyk_stat st;
	double t0;
	int made = 0;

	snprintf(what, sizeof(what), "%d subdirectories", n);
	if (!img_mkfs("ext4", "-O ^has_journal -b 1024 -N 100000", "160M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	anyk_disk_attach("/dev/sd0", img, 0);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, NULL) == 0, "%s: mount", what);
	anyk_sys_mkdir("/mnt/many", 0755);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/mnt/many/sub%06d", i);
		if (anyk_sys_mkdir(path, 0755) != 0)
			break;
		made++;
	}
	T_EQ(made, n, "subdirectories made");
	T_OK(anyk_sys_stat("/mnt/many", &st) == 0 && (n + 2 > 65000 ? st.st_nlink == 1 : st.st_nlink == (unsigned)n + 2),
	     "%s in %.1fs: parent link count %llu", what, now_s() - t0, (unsigned long long)st.st_nlink);
	T_OK(now_s() - t0 < 60, "%s: the hash index keeps it fast (%.1fs, under 60s)", what, now_s() - t0);
	T_OK(anyk_sys_rmdir("/mnt/many/sub000007") == 0 && anyk_sys_stat("/mnt/many/sub000008", &st) == 0,
	     "%s: rmdir one, the others remain", what);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean(what);
}

int
main(int argc, char **argv)
{
	int nops_want = 10000;

	if (argc > 1)
		nops_want = atoi(argv[1]);
	if (!img_setup("anyk-ext2w"))
		return t_done();
	snprintf(model, sizeof(model), "%s/model", top);
	umask(0);
	T_OK(anyk_init() == 0, "anyk_init");
	anyk_sys_umask(0);
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");

	if (argc > 2) {
		/* One configuration: ext2_write OPS TYPE "MKE2FS OPTIONS". */
		test_workload(argv[2], argc > 3 ? argv[3] : "", nops_want, 0x1234567);
		goto done;
	}
	test_workload("ext2", "-b 1024", nops_want, 0x1234567);
	test_workload("ext2", "-b 4096", nops_want, 0x2345678);
	test_workload("ext4", "-O ^has_journal -b 4096", nops_want, 0x3456789);
	test_workload("ext4", "-O ^has_journal -b 1024 -I 128", nops_want, 0x456789a);
	test_workload("ext3", "-b 4096", nops_want, 0x56789ab);
	test_workload("ext4", "-b 4096", nops_want, 0x6789abc);
	test_enospc("ext4", "-O ^has_journal -b 4096");
	test_enospc("ext2", "-b 1024");
	/* 70,000 entries, past the 65,000 links of dir_nlink: the directory
	 * is indexed, so this takes seconds (it took minutes with linear
	 * lookups). ANYK_EXT2_MANYDIRS=N for another count. */
	test_many_dirs(getenv("ANYK_EXT2_MANYDIRS") ? atoi(getenv("ANYK_EXT2_MANYDIRS")) : 70000);
done:
	T_OK(anyk_fini() == 0, "anyk_fini");
	img_cleanup();
	return t_done();
}
