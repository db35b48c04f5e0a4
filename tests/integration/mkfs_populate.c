/*
 * hostcopy and "anyk mkfs -d" against the host as the oracle: a host tree
 * with every file type, set-id and sticky modes, owners (as root), distinct
 * nanosecond times, hard-link groups, holes, user.* attributes, 255-byte
 * names, a 200-level deep path and 2,100 files is copied into the kernel's
 * tmpfs and back out, and the two host trees must agree in every lstat
 * field that a copy keeps, in contents, link targets, hard-link groups,
 * data/hole maps and attributes. A hostile kernel tree (absolute and
 * escaping symlinks, a symlink planted in the destination, device nodes)
 * must not lead the way out of the destination. Then the same tree goes
 * into ext2 and ext4 images with the tool: e2fsck must pass, anyk and (as
 * root) the Linux kernel must read back the same tree, and two runs with a
 * fixed UUID and timestamp must give the same bytes.
 */
#include "tests/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../tools/hostcopy.c"

#define DEPTH 200
#define MANY 2100

static char top[256], src[300];
static int is_root, have_xattr, check_xattr;

static int
sh_run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
path_of(char *buf, size_t n, const char *rel)
{
	snprintf(buf, n, "%s/%s", src, rel);
}

static void
mkfile(const char *rel, mode_t mode, const void *data, size_t len)
{
	char p[1200];
	int fd;

	path_of(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t)len))
		printf("# cannot make %s: %s\n", p, strerror(errno));
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
}

static void
mkdir_rel(const char *rel, mode_t mode)
{
	char p[1200];

	path_of(p, sizeof(p), rel);
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		printf("# cannot mkdir %s: %s\n", p, strerror(errno));
	chmod(p, mode);
}

/* Data at [off, off+len) of a file whose size is size; the rest holes. */
static void
mksparse(const char *rel, off_t size, const off_t *offs, int n, size_t len)
{
	char p[1200], buf[8192];
	int fd, i;

	memset(buf, 0x5a, sizeof(buf));
	path_of(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (ftruncate(fd, size) != 0)
		printf("# ftruncate %s\n", p);
	for (i = 0; i < n; i++)
		if (pwrite(fd, buf, len, offs[i]) != (ssize_t)len)
			printf("# pwrite %s\n", p);
	close(fd);
}

static void
xset(const char *rel, const char *name, const void *v, size_t n)
{
	char p[1200];

	path_of(p, sizeof(p), rel);
	if (lsetxattr(p, name, v, n, 0) != 0)
		printf("# setxattr %s %s: %s\n", p, name, strerror(errno));
}

static int stamp_i;

static int
stamp(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	struct timespec ts[2];

	stamp_i++;
	ts[0].tv_sec = 1500000000 + stamp_i * 3;
	ts[0].tv_nsec = (long)((stamp_i * 7919L) % 1000000000L);
	ts[1].tv_sec = 1400000000 + stamp_i * 5;
	ts[1].tv_nsec = (long)((stamp_i * 104729L + 1) % 1000000000L);
	if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) != 0)
		printf("# utimensat %s: %s\n", p, strerror(errno));
	return 0;
}

/* Give every entry its own times again: reading a directory (even to take
 * a snapshot) moves its atime, and the copy must see the snapshot's. The
 * same walk order gives the same times. */
static void
restamp(void)
{
	stamp_i = 0;
	if (nftw(src, stamp, 64, FTW_PHYS | FTW_DEPTH) != 0)
		printf("# nftw stamp failed\n");
}

static void
build_tree(void)
{
	static char big[3 * 1024 * 1024 + 12345];
	char name[300], rel[1200], *q;
	off_t so[3] = { 0, 8 << 20, (20 << 20) - 4096 }, to[1] = { 0 };
	unsigned char bin[200];
	uint32_t x = 12345;
	size_t i;
	int fd;

	mkdir(src, 0751);
	mkfile("plain", 0644, "hello\n", 6);
	mkfile("exec", 0755, "#!/bin/sh\n", 10);
	mkfile("empty", 0644, "", 0);
	mkfile("suid", 04755, "s", 1);
	mkfile("sgid", 02750, "g", 1);
	mkdir_rel("sticky", 01777);
	mkfile("sticky/inside", 0600, "in", 2);
	mkdir_rel("setgid-dir", 02775);
	if (is_root)
		mkfile("zero-mode", 0, "secret", 6);
	for (i = 0; i < sizeof(big); i++) {
		x = x * 1103515245 + 12345;
		big[i] = (char)(x >> 16);
	}
	mkfile("big", 0644, big, sizeof(big));
	mksparse("sparse", 20 << 20, so, 3, 4096);
	mksparse("allhole", 5 << 20, so, 0, 0);
	mksparse("tailhole", 1 << 20, to, 1, 4096);

	if (symlinkat("plain", AT_FDCWD, (path_of(rel, sizeof(rel), "sym-rel"), rel)) ||
	    symlinkat("/etc/passwd", AT_FDCWD, (path_of(rel, sizeof(rel), "sym-abs"), rel)) ||
	    symlinkat("nowhere/x", AT_FDCWD, (path_of(rel, sizeof(rel), "sym-dangling"), rel)))
		printf("# symlink: %s\n", strerror(errno));
	memset(name, 't', 1000 < sizeof(name) ? 1000 : sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	path_of(rel, sizeof(rel), "sym-long");
	if (symlink(name, rel) != 0)
		printf("# symlink long: %s\n", strerror(errno));

	mkdir_rel("links", 0755);
	mkdir_rel("other", 0755);
	mkfile("links/a", 0640, "linked", 6);
	{
		char a[1200], b[1200], c[1200];
		path_of(a, sizeof(a), "links/a");
		path_of(b, sizeof(b), "links/b");
		path_of(c, sizeof(c), "other/c");
		if (link(a, b) != 0 || link(a, c) != 0)
			printf("# link: %s\n", strerror(errno));
		mkfile("other/solo", 0644, "solo", 4);
		path_of(a, sizeof(a), "other/fifo2");
		path_of(b, sizeof(b), "links/fifo-link");
		if (mkfifo(a, 0600) != 0 || link(a, b) != 0)
			printf("# fifo link: %s\n", strerror(errno));
	}

	path_of(rel, sizeof(rel), "fifo");
	if (mkfifo(rel, 0640) != 0)
		printf("# mkfifo: %s\n", strerror(errno));
	chmod(rel, 0640);
	path_of(rel, sizeof(rel), "sock");
	if (mknod(rel, S_IFSOCK | 0755, 0) != 0)
		printf("# mknod sock: %s\n", strerror(errno));
	chmod(rel, 0755);
	if (is_root) {
		mkdir_rel("dev", 0755);
		path_of(rel, sizeof(rel), "dev/null");
		if (mknod(rel, S_IFCHR | 0666, makedev(1, 3)) != 0)
			printf("# mknod: %s\n", strerror(errno));
		path_of(rel, sizeof(rel), "dev/sda1");
		if (mknod(rel, S_IFBLK | 0660, makedev(8, 1)) != 0)
			printf("# mknod: %s\n", strerror(errno));
		path_of(rel, sizeof(rel), "dev/big");
		if (mknod(rel, S_IFCHR | 0600, makedev(300, 70000)) != 0)
			printf("# mknod: %s\n", strerror(errno));
		mkfile("owned", 0644, "o", 1);
		path_of(rel, sizeof(rel), "owned");
		if (chown(rel, 1234, 5678) != 0)
			printf("# chown: %s\n", strerror(errno));
		chmod(rel, 06755);
		path_of(rel, sizeof(rel), "sym-rel");
		if (lchown(rel, 4321, 8765) != 0)
			printf("# lchown: %s\n", strerror(errno));
		path_of(rel, sizeof(rel), "sticky");
		if (chown(rel, 99, 98) != 0)
			printf("# chown: %s\n", strerror(errno));
	}

	memset(name, 'L', 255);
	name[255] = '\0';
	mkfile(name, 0644, "long", 4);
	memset(name, 'D', 255);
	mkdir_rel(name, 0755);
	snprintf(rel, sizeof(rel), "%s/", name);
	memset(rel + 256, 'f', 255);
	rel[511] = '\0';
	mkfile(rel, 0644, "longer", 6);

	strcpy(rel, "deep");
	mkdir_rel(rel, 0755);
	for (i = 0, q = rel + 4; i < DEPTH; i++) {
		q += sprintf(q, "/d");
		mkdir_rel(rel, 0755);
	}
	strcpy(q, "/bottom");
	mkfile(rel, 0644, "bottom", 6);

	mkdir_rel("many", 0755);
	for (i = 0; i < MANY; i++) {
		snprintf(rel, sizeof(rel), "many/f%04zu", i);
		snprintf(name, sizeof(name), "%zu\n", i * i);
		mkfile(rel, 0644, name, strlen(name));
	}

	path_of(rel, sizeof(rel), "plain");
	have_xattr = lsetxattr(rel, "user.probe", "1", 1, 0) == 0;
	if (have_xattr) {
		lremovexattr(rel, "user.probe");
		for (i = 0; i < sizeof(bin); i++)
			bin[i] = (unsigned char)(i * 37);
		xset("plain", "user.a", "1", 1);
		xset("plain", "user.bin", bin, sizeof(bin));
		xset("plain", "user.empty", "", 0);
		xset("sticky", "user.dir", "x", 1);
		xset("big", "user.big", big, 600);
		xset("links/a", "user.linked", "yes", 3);
		xset("many/f0007", "user.seven", "7", 1);
		xset("", "user.root", "r", 1);
	}
	if (is_root) {
		fd = open(src, O_RDONLY);
		if (fd >= 0) {
			fsetxattr(fd, "trusted.t", "tt", 2, 0);
			close(fd);
		}
	}
	restamp();
}

/* --- snapshots and comparison ----------------------------------------- */

struct ent {
	char *rel;
	struct stat st;
};

struct tree {
	struct ent *e;
	size_t n, cap;
};

static struct tree *cur_tree;
static size_t cur_rootlen;

static int
collect(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	struct tree *t = cur_tree;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->e = realloc(t->e, t->cap * sizeof(*t->e));
	}
	t->e[t->n].rel = strdup(p[cur_rootlen] == '/' ? p + cur_rootlen + 1 : p + cur_rootlen);
	t->e[t->n].st = *st;
	t->n++;
	return 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->rel, ((const struct ent *)b)->rel);
}

static void
snapshot(const char *root, struct tree *t)
{
	memset(t, 0, sizeof(*t));
	cur_tree = t;
	cur_rootlen = strlen(root);
	nftw(root, collect, 64, FTW_PHYS);
	qsort(t->e, t->n, sizeof(*t->e), ent_cmp);
}

static void
tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].rel);
	free(t->e);
}

static int
same_contents(const char *a, const char *b)
{
	static char ba[65536], bb[65536];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), same = 1;
	ssize_t na, nb;

	if (fa < 0 || fb < 0)
		same = 0;
	while (same) {
		na = read(fa, ba, sizeof(ba));
		nb = read(fb, bb, sizeof(bb));
		if (na != nb || na < 0 || memcmp(ba, bb, (size_t)na) != 0)
			same = 0;
		if (na <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/* "data@0+4096,data@8388608+4096": the file's data ranges. */
static void
data_map(const char *p, char *out, size_t n)
{
	off_t d, e = 0, size;
	size_t used = 0;
	int fd = open(p, O_RDONLY);

	out[0] = '\0';
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	while (e < size && used < n - 40) {
		d = lseek(fd, e, SEEK_DATA);
		if (d < 0)
			break;
		e = lseek(fd, d, SEEK_HOLE);
		if (e < 0)
			break;
		used += (size_t)snprintf(out + used, n - used, "%lld+%lld,", (long long)d, (long long)(e - d));
	}
	close(fd);
}

static int
same_xattrs(const char *a, const char *b)
{
	char la[4096], lb[4096], va[4096], vb[4096];
	ssize_t na = llistxattr(a, la, sizeof(la)), nb = llistxattr(b, lb, sizeof(lb));
	char *p;
	ssize_t x, y;
	int cnt = 0;

	if (na < 0 || nb < 0)
		return na < 0 && nb < 0;
	for (p = la; p < la + na; p += strlen(p) + 1) {
		if (strncmp(p, "security.", 9) == 0 || strncmp(p, "system.", 7) == 0)
			continue; /* the host adds these by policy */
		cnt++;
		x = lgetxattr(a, p, va, sizeof(va));
		y = lgetxattr(b, p, vb, sizeof(vb));
		if (x != y || x < 0 || memcmp(va, vb, (size_t)x) != 0) {
			printf("# xattr %s differs on %s\n", p, b);
			return 0;
		}
	}
	for (p = lb; p < lb + nb; p += strlen(p) + 1)
		if (strncmp(p, "security.", 9) != 0 && strncmp(p, "system.", 7) != 0)
			cnt--;
	return cnt == 0;
}

static int
ignored(const char *rel, const char *ignore)
{
	return ignore != NULL && strncmp(rel, ignore, strlen(ignore)) == 0;
}

/* Compare the tree at broot with snapshot a of the tree at aroot. */
static void
compare(const char *what, const struct tree *a, const char *aroot, const char *broot,
	const char *ignore, int check_atime)
{
	struct tree b;
	size_t i, j, k, nb = 0;
	int bad_names = 0, bad_meta = 0, bad_data = 0, bad_link = 0, bad_holes = 0, bad_x = 0, bad_hard = 0;
	char pa[1200], pb[1200], ta[1200], tb[1200];
	static char ma[4096], mb[4096];
	const struct stat *x, *y;
	struct ent **map;
	ssize_t n1, n2;

	snapshot(broot, &b);
	map = calloc(a->n, sizeof(*map));
	for (i = 0, j = 0; i < a->n || j < b.n;) {
		if (j < b.n && ignored(b.e[j].rel, ignore)) {
			j++;
			continue;
		}
		if (i < a->n && j < b.n && strcmp(a->e[i].rel, b.e[j].rel) == 0) {
			map[i] = &b.e[j];
			i++, j++, nb++;
			continue;
		}
		if (bad_names++ < 5)
			printf("# %s: %s only on one side\n", what,
			    i < a->n && (j >= b.n || strcmp(a->e[i].rel, b.e[j].rel) < 0) ? a->e[i].rel : b.e[j].rel);
		if (i < a->n && (j >= b.n || strcmp(a->e[i].rel, b.e[j].rel) < 0))
			i++;
		else
			j++;
	}
	T_OK(bad_names == 0 && nb == a->n, "%s: the same %zu names", what, a->n);
	for (i = 0; i < a->n; i++) {
		if (map[i] == NULL)
			continue;
		x = &a->e[i].st;
		y = &map[i]->st;
		snprintf(pa, sizeof(pa), "%s/%s", aroot, a->e[i].rel);
		snprintf(pb, sizeof(pb), "%s/%s", broot, a->e[i].rel);
		if (x->st_mode != y->st_mode || x->st_uid != y->st_uid || x->st_gid != y->st_gid ||
		    (!S_ISDIR(x->st_mode) && (x->st_size != y->st_size || x->st_nlink != y->st_nlink)) ||
		    ((S_ISCHR(x->st_mode) || S_ISBLK(x->st_mode)) && x->st_rdev != y->st_rdev) ||
		    x->st_mtim.tv_sec != y->st_mtim.tv_sec || x->st_mtim.tv_nsec != y->st_mtim.tv_nsec ||
		    (check_atime && (x->st_atim.tv_sec != y->st_atim.tv_sec ||
				     x->st_atim.tv_nsec != y->st_atim.tv_nsec))) {
			if (bad_meta++ < 5)
				printf("# %s: %s: mode %o/%o uid %u/%u gid %u/%u size %lld/%lld nlink %lu/%lu "
				    "mtime %lld.%09ld/%lld.%09ld atime %lld.%09ld/%lld.%09ld\n", what, a->e[i].rel,
				    x->st_mode, y->st_mode, x->st_uid, y->st_uid, x->st_gid, y->st_gid,
				    (long long)x->st_size, (long long)y->st_size,
				    (unsigned long)x->st_nlink, (unsigned long)y->st_nlink,
				    (long long)x->st_mtim.tv_sec, x->st_mtim.tv_nsec,
				    (long long)y->st_mtim.tv_sec, y->st_mtim.tv_nsec,
				    (long long)x->st_atim.tv_sec, x->st_atim.tv_nsec,
				    (long long)y->st_atim.tv_sec, y->st_atim.tv_nsec);
		}
		if (S_ISREG(x->st_mode) && (x->st_mode & 0444) != 0) {
			if (!same_contents(pa, pb) && bad_data++ < 5)
				printf("# %s: %s: contents differ\n", what, a->e[i].rel);
			data_map(pa, ma, sizeof(ma));
			data_map(pb, mb, sizeof(mb));
			if (strcmp(ma, mb) != 0 && bad_holes++ < 5)
				printf("# %s: %s: data %s vs %s\n", what, a->e[i].rel, ma, mb);
		}
		if (S_ISLNK(x->st_mode)) {
			n1 = readlink(pa, ta, sizeof(ta));
			n2 = readlink(pb, tb, sizeof(tb));
			if ((n1 != n2 || n1 < 0 || memcmp(ta, tb, (size_t)n1) != 0) && bad_link++ < 5)
				printf("# %s: %s: link targets differ\n", what, a->e[i].rel);
		}
		if (check_xattr && !S_ISLNK(x->st_mode) && !same_xattrs(pa, pb) && bad_x++ < 5)
			printf("# %s: %s: attributes differ\n", what, a->e[i].rel);
		/* Hard-link groups: same inode on one side iff on the other. */
		if (!S_ISDIR(x->st_mode) && x->st_nlink > 1) {
			for (k = 0; k < a->n; k++) {
				if (k == i || map[k] == NULL || S_ISDIR(a->e[k].st.st_mode))
					continue;
				if ((a->e[k].st.st_ino == x->st_ino) != (map[k]->st.st_ino == y->st_ino) &&
				    bad_hard++ < 5)
					printf("# %s: %s and %s: hard links differ\n", what, a->e[i].rel, a->e[k].rel);
			}
		}
	}
	T_OK(bad_meta == 0, "%s: types, modes, owners, sizes, link counts, devices, ns times", what);
	T_OK(bad_data == 0, "%s: contents", what);
	T_OK(bad_holes == 0, "%s: holes stay holes (SEEK_DATA/SEEK_HOLE maps)", what);
	T_OK(bad_link == 0, "%s: symlink targets", what);
	T_OK(bad_hard == 0, "%s: hard-link groups", what);
	if (check_xattr)
		T_OK(bad_x == 0, "%s: extended attributes", what);
	free(map);
	tree_free(&b);
}

/* --- reports ------------------------------------------------------------ */

static char reports[16384];
static int nprogress;

static void
collect_report(void *arg, enum hostcopy_level lv, const char *path, const char *msg)
{
	size_t n = strlen(reports);

	snprintf(reports + n, sizeof(reports) - n, "%d %s: %s\n", (int)lv, path, msg);
}

static void
count_progress(void *arg, const struct hostcopy_stats *st)
{
	nprogress++;
}

/* --- the parts ----------------------------------------------------------- */

static void
roundtrip(const struct tree *snap)
{
	struct hostcopy_opts o = { 0, collect_report, count_progress, NULL };
	struct hostcopy_stats st;
	struct anyk_stat ks;
	char out[400], rel[300];

	if (is_root)
		o.flags |= HOSTCOPY_DEVICES;
	int r, fd;
	anyk_off_t h;

	reports[0] = '\0';
	r = hostcopy_in(src, "/copy", &o, &st);
	T_EQ(r, 0, "hostcopy_in into the kernel's tmpfs");
	if (reports[0] != '\0')
		printf("# reports:\n%s", reports);
	T_OK(st.errors == 0 && st.skipped == 0, "no errors, no skips (%llu, %llu)",
	    (unsigned long long)st.errors, (unsigned long long)st.skipped);
	T_OK(st.files >= MANY + DEPTH + 20, "entries counted (%llu)", (unsigned long long)st.files);
	T_EQ(st.links, 3, "hard links made with link, not copied");
	T_OK(nprogress > 0 && st.bytes >= 3 * 1024 * 1024 + 12345 + 3 * 4096,
	    "progress called (%d), bytes %llu", nprogress, (unsigned long long)st.bytes);

	/* A look from inside the kernel. */
	T_OK(anyk_sys_lstat("/copy/links/b", &ks) == 0 && ks.st_nlink == 3, "kernel: three names for links/a");
	fd = anyk_sys_open("/copy/sparse", ANYK_O_RDONLY, 0);
	h = fd >= 0 ? anyk_sys_lseek(fd, 0, ANYK_SEEK_HOLE) : -1;
	T_EQ(h, 4096, "kernel: the sparse file's first hole is where the host's was");
	T_OK(fd >= 0 && anyk_sys_fstat(fd, &ks) == 0 && ks.st_blocks <= 3 * 8 + 8 && ks.st_size == 20 << 20,
	    "kernel: sparse file of 20 MiB holds 12 KiB (%lld blocks)", fd >= 0 ? (long long)ks.st_blocks : -1LL);
	if (fd >= 0)
		anyk_sys_close(fd);
	if (is_root) {
		T_OK(anyk_sys_lstat("/copy/dev/big", &ks) == 0 && ANYK_S_ISCHR(ks.st_mode) &&
		    ks.st_rdev == ANYK_MAKEDEV(300, 70000), "kernel: character device 300,70000");
		T_OK(anyk_sys_lstat("/copy/owned", &ks) == 0 && ks.st_uid == 1234 && ks.st_gid == 5678 &&
		    (ks.st_mode & 07777) == 06755, "kernel: owner 1234:5678 and set-id bits after chown");
	}
	memset(rel, 'L', 255);
	strcpy(rel + 255, "");
	snprintf(out, sizeof(out), "/copy/%s", rel);
	T_OK(anyk_sys_lstat(out, &ks) == 0, "kernel: 255-byte name");

	snprintf(out, sizeof(out), "%s/out", top);
	reports[0] = '\0';
	r = hostcopy_out("/copy", out, &o, &st);
	T_EQ(r, 0, "hostcopy_out back to a new host directory");
	if (reports[0] != '\0')
		printf("# reports:\n%s", reports);
	compare("tmpfs round trip", snap, src, out, NULL, 1);
}

static void
keep_going(void)
{
	struct hostcopy_opts o = { 0, collect_report, NULL, NULL };
	struct hostcopy_stats st;
	struct anyk_stat ks;
	int r;

	/* A directory already in the way of a file. */
	anyk_sys_mkdir("/kg1", 0755);
	anyk_sys_mkdir("/kg1/plain", 0755);
	anyk_sys_mkdir("/kg2", 0755);
	anyk_sys_mkdir("/kg2/plain", 0755);
	reports[0] = '\0';
	r = hostcopy_in(src, "/kg1", &o, &st);
	T_OK(r == -1 && errno == EISDIR && st.errors == 1, "an error stops the copy (errno %d)", errno);
	T_OK(strstr(reports, "/plain: a directory in the destination") != NULL &&
	    strstr(reports, src) != NULL, "the error names the host path: %.*s",
	    (int)strcspn(reports, "\n"), reports);
	T_OK(anyk_sys_lstat("/kg1/sparse", &ks) != 0, "nothing after it was copied");
	o.flags = HOSTCOPY_KEEP_GOING;
	r = hostcopy_in(src, "/kg2", &o, &st);
	T_OK(r == -1 && st.errors == 1, "--keep-going: fails at the end with one error");
	T_OK(anyk_sys_lstat("/kg2/sparse", &ks) == 0 && anyk_sys_lstat("/kg2/many/f2000", &ks) == 0,
	    "--keep-going: the rest is copied");
	o.flags = HOSTCOPY_OVERWRITE;
	anyk_sys_rmdir("/kg2/plain");
	r = hostcopy_in(src, "/kg2", &o, &st);
	T_OK(r == 0 && st.errors == 0, "OVERWRITE: a second copy over the first replaces files");
}

static int
dir_empty(const char *p)
{
	struct tree t;
	size_t n;

	snapshot(p, &t);
	n = t.n;
	tree_free(&t);
	return n == 1;
}

static void
hostile(void)
{
	struct hostcopy_opts o = { HOSTCOPY_KEEP_GOING, collect_report, NULL, NULL };
	struct hostcopy_stats st;
	char victim[400], dest[400], p[600], abs_target[500];
	struct stat hs;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", top);
	snprintf(dest, sizeof(dest), "%s/x/dest", top);
	snprintf(p, sizeof(p), "%s/x", top);
	mkdir(victim, 0755);
	mkdir(p, 0755);
	mkdir(dest, 0755);

	/* The kernel tree: symlinks out of any destination, and files
	 * written through them (which land elsewhere in the kernel). */
	anyk_sys_mkdir("/evil", 0755);
	anyk_sys_mkdir("/evil/sub", 0755);
	snprintf(abs_target, sizeof(abs_target), "%s", victim);
	anyk_sys_symlink(abs_target, "/evil/abs");
	anyk_sys_symlink("../../../victim", "/evil/sub/esc");
	anyk_sys_symlink("..", "/evil/up");
	anyk_sys_mkdir("/tmp", 0755);
	anyk_sys_mkdir("/victim", 0755);
	{
		/* The kernel's own copy of the victim path, so that writing
		 * through abs works inside the kernel. */
		char kp[600], *s;
		for (s = abs_target + 1; (s = strchr(s, '/')) != NULL; s++) {
			snprintf(kp, sizeof(kp), "%.*s", (int)(s - abs_target), abs_target);
			anyk_sys_mkdir(kp, 0755);
		}
		anyk_sys_mkdir(abs_target, 0755);
	}
	fd = anyk_sys_open("/evil/abs/pwned", ANYK_O_WRONLY | ANYK_O_CREAT, 0644);
	T_OK(fd >= 0, "kernel: a file written through the absolute symlink");
	if (fd >= 0)
		anyk_sys_close(fd);
	fd = anyk_sys_open("/evil/up/evil/sub/through-up", ANYK_O_WRONLY | ANYK_O_CREAT, 0644);
	if (fd >= 0)
		anyk_sys_close(fd);
	/* A directory whose name is planted as a symlink in the host
	 * destination, and a device node. */
	anyk_sys_mkdir("/evil/planted", 0755);
	fd = anyk_sys_open("/evil/planted/file", ANYK_O_WRONLY | ANYK_O_CREAT, 0644);
	if (fd >= 0)
		anyk_sys_close(fd);
	anyk_sys_mknod("/evil/null", ANYK_S_IFCHR | 0666, ANYK_MAKEDEV(1, 3));
	snprintf(p, sizeof(p), "%s/planted", dest);
	if (symlink(victim, p) != 0)
		printf("# symlink planted: %s\n", strerror(errno));

	reports[0] = '\0';
	hostcopy_out("/evil", dest, &o, &st);
	printf("# reports:\n%s", reports);
	T_OK(dir_empty(victim), "nothing written outside the destination");
	snprintf(p, sizeof(p), "%s/abs", dest);
	T_OK(lstat(p, &hs) == 0 && S_ISLNK(hs.st_mode), "the absolute symlink is copied as a symlink");
	snprintf(p, sizeof(p), "%s/sub/esc", dest);
	T_OK(lstat(p, &hs) == 0 && S_ISLNK(hs.st_mode), "the escaping symlink is copied as a symlink");
	snprintf(p, sizeof(p), "%s/planted/file", dest);
	T_OK(strstr(reports, "/planted: skipped") != NULL || strstr(reports, "planted: a symbolic link") != NULL,
	    "the planted symlink is reported, not followed");
	snprintf(p, sizeof(p), "%s/null", dest);
	T_OK(lstat(p, &hs) != 0 && strstr(reports, "/null: device node not made") != NULL,
	    "a device node is not made without HOSTCOPY_DEVICES, and is reported");
	T_OK(st.skipped >= 2, "skips counted (%llu)", (unsigned long long)st.skipped);
	T_OK(!name_ok("a/b") && !name_ok(".") && !name_ok("..") && !name_ok("") && name_ok("..."),
	    "names with '/', '.', '..' and empty ones are refused");
	if (is_root) {
		o.flags |= HOSTCOPY_DEVICES | HOSTCOPY_OVERWRITE;
		reports[0] = '\0';
		hostcopy_out("/evil", dest, &o, &st);
		T_OK(lstat(p, &hs) == 0 && S_ISCHR(hs.st_mode) && hs.st_rdev == makedev(1, 3),
		    "with HOSTCOPY_DEVICES as root the device node is made");
		T_OK(dir_empty(victim), "still nothing outside the destination");
	}
}

static void
images(const struct tree *snap, const char *fstype)
{
	char img[400], img2[400], cmd[1600], out[400], mnt[400], what[64], dev[32];
	const char *b = getenv("B") ? getenv("B") : "build";
	struct hostcopy_opts o = { 0, NULL, NULL, NULL };
	struct hostcopy_stats st;
	static int n;
	int r;

	if (is_root)
		o.flags |= HOSTCOPY_DEVICES;
	check_xattr = have_xattr;

	snprintf(img, sizeof(img), "%s/%s.img", top, fstype);
	snprintf(img2, sizeof(img2), "%s/%s-2.img", top, fstype);
	snprintf(cmd, sizeof(cmd), "%s/bin/anyk mkfs -q -t %s -U 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 "
	    "--timestamp 1700000000 -d %s %s 64M", b, fstype, src, img);
	r = sh_run(cmd);
	T_EQ(r, 0, "anyk mkfs -d makes the image");
	if (r != 0)
		return;
	/* The first run read the files, which moved their atimes. */
	restamp();
	snprintf(cmd, sizeof(cmd), "%s/bin/anyk mkfs -q -t %s -U 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 "
	    "--timestamp 1700000000 -d %s %s 64M", b, fstype, src, img2);
	T_EQ(sh_run(cmd), 0, "a second run");
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", img, img2);
	T_EQ(sh_run(cmd), 0, "two runs with -U and --timestamp give the same bytes");
	if (sh_run("command -v e2fsck >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "e2fsck -fn %s >%s/fsck.log 2>&1", img, top);
		r = sh_run(cmd);
		T_EQ(r, 0, "e2fsck -fn finds nothing to fix");
		if (r != 0) {
			snprintf(cmd, sizeof(cmd), "head -20 %s/fsck.log | sed 's/^/# /'", top);
			sh_run(cmd);
		}
	} else {
		T_SKIP("e2fsck not installed");
	}

	/* anyk reads it back. */
	snprintf(dev, sizeof(dev), "/dev/sd%d", n++);
	snprintf(mnt, sizeof(mnt), "/img-%s", fstype);
	snprintf(out, sizeof(out), "%s/out-%s", top, fstype);
	snprintf(what, sizeof(what), "%s via anyk", fstype);
	anyk_sys_mkdir(mnt, 0755);
	T_OK(anyk_disk_attach(dev, img, ANYK_DISK_RDONLY | ANYK_DISK_NOPART) == 0 &&
	    anyk_sys_mount(dev, mnt, fstype, ANYK_MNT_RDONLY, "") == 0, "anyk mounts the image");
	r = hostcopy_out(mnt, out, &o, &st);
	T_EQ(r, 0, "hostcopy_out from the image");
	snprintf(cmd, sizeof(cmd), "%s/plain", out);
	if (have_xattr && lgetxattr(cmd, "user.a", NULL, 0) < 0 && errno == ENODATA) {
		/* What the tool warned about: the ext2 write path refused. */
		T_SKIP("%s: the kernel's %s write path does not store extended attributes yet", what, fstype);
		check_xattr = 0;
	}
	compare(what, snap, src, out, "lost+found", 1);
	anyk_sys_unmount(mnt, 0);
	anyk_disk_detach(dev);

	/* And the Linux kernel. */
	if (!is_root) {
		T_SKIP("%s: Linux loop mount (not root)", fstype);
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt-%s", top, fstype);
	mkdir(mnt, 0755);
	snprintf(cmd, sizeof(cmd), "mount -t %s -o ro,loop,noatime %s %s 2>/dev/null", fstype, img, mnt);
	if (sh_run(cmd) != 0) {
		T_SKIP("%s: Linux loop mount unavailable here", fstype);
		return;
	}
	snprintf(what, sizeof(what), "%s via Linux", fstype);
	compare(what, snap, src, mnt, "lost+found", 1);
	check_xattr = have_xattr;
	snprintf(cmd, sizeof(cmd), "umount %s", mnt);
	sh_run(cmd);
}

static void
mkfs_errors(void)
{
	char cmd[1200];
	const char *b = getenv("B") ? getenv("B") : "build";

	snprintf(cmd, sizeof(cmd), "%s/bin/anyk mkfs -q -t ext2 -d %s/nonexistent %s/e.img 8M 2>%s/err.log",
	    b, top, top, top);
	T_EQ(sh_run(cmd), 1, "mkfs -d with a missing directory fails");
	snprintf(cmd, sizeof(cmd), "grep -q 'nonexistent: No such file' %s/err.log", top);
	T_EQ(sh_run(cmd), 0, "and names it");
	snprintf(cmd, sizeof(cmd), "%s/bin/anyk mkfs -q -t ext2 -d %s %s/e.img 1M 2>%s/err.log",
	    b, src, top, top);
	T_EQ(sh_run(cmd), 1, "mkfs -d into a file system too small fails");
	snprintf(cmd, sizeof(cmd), "grep -q 'No space left' %s/err.log", top);
	T_EQ(sh_run(cmd), 0, "and says why");
}

int
main(void)
{
	struct tree snap;
	char cmd[600];

	is_root = geteuid() == 0;
	snprintf(top, sizeof(top), "%s/anyk-populate.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL) {
		T_SKIP("cannot make a temporary directory");
		return t_done();
	}
	snprintf(src, sizeof(src), "%s/src", top);
	build_tree();
	if (!have_xattr)
		T_SKIP("the host file system under %s has no user.* attributes", top);
	snapshot(src, &snap);
	restamp();
	check_xattr = have_xattr;
	T_OK(snap.n > MANY + DEPTH + 20, "host tree built (%zu entries)", snap.n);

	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	roundtrip(&snap);
	keep_going();
	hostile();
	restamp();
	images(&snap, "ext2");
	restamp();
	images(&snap, "ext4");
	anyk_fini();
	mkfs_errors();

	tree_free(&snap);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (getenv("ANYK_TEST_KEEP") == NULL)
		sh_run(cmd);
	return t_done();
}
