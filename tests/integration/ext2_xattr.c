/*
 * ext2/3/4 extended attributes against the host: set attributes on a host
 * tree with setxattr(2) (small ones that stay in the inode body, many or
 * large ones that spill into an external block, empty and binary values,
 * a directory's, trusted.* as root and an ACL where the host allows), turn
 * the tree into images with "mke2fs -d" for several formats, block and
 * inode sizes, mount each read-only in anyk, and check that anyk's
 * listxattr and getxattr give exactly what the host reads back from its
 * own tree. debugfs confirms which case sits where.
 */
#include "tests/harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <anyk/anyk.h>

static char top[256], tree[300];
static int have_trusted, have_acl;

static int
hset(const char *rel, const char *name, const void *v, size_t n)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	return lsetxattr(path, name, v, n, 0);
}

static void
touch(const char *rel)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs(rel, f);
		fclose(f);
	}
}

/* Build the tree; 0 if the host file system keeps user.* attributes. */
static int
make_tree(void)
{
	/* A VFS-format ACL with a named user, so the host stores it rather
	 * than folding it into the mode: user::rw- user:1234:r-- group::r--
	 * mask::r-- other::--- */
	static const unsigned char acl[] = {
		2, 0, 0, 0,
		0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
		0x02, 0, 4, 0, 0xd2, 0x04, 0, 0,
		0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	};
	char name[64], val[64], big[700], dirpath[400];
	unsigned char bin[32];
	int i;

	snprintf(tree, sizeof(tree), "%s/tree", top);
	if (mkdir(tree, 0755) != 0)
		return -1;
	touch("none");
	touch("small");
	if (hset("small", "user.a", "1", 1) != 0)
		return -1;
	hset("small", "user.color", "blue", 4);
	touch("empty");
	hset("empty", "user.e", "", 0);
	touch("binary");
	for (i = 0; i < (int)sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 37);
	bin[3] = 0;
	hset("binary", "user.bin", bin, sizeof(bin));
	/* Twenty entries are more than a 256-byte inode's spare room holds. */
	touch("many");
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "user.k%02d", i);
		snprintf(val, sizeof(val), "value-%02d-xxxxxxxx", i);
		hset("many", name, val, strlen(val));
	}
	touch("large");
	memset(big, 'L', sizeof(big));
	big[0] = '<';
	big[sizeof(big) - 1] = '>';
	hset("large", "user.large", big, sizeof(big));
	hset("large", "user.tiny", "t", 1);
	snprintf(dirpath, sizeof(dirpath), "%s/dir", tree);
	mkdir(dirpath, 0755);
	hset("dir", "user.d", "dir", 3);
	if (geteuid() == 0 && hset("small", "trusted.t", "root", 4) == 0)
		have_trusted = 1;
	touch("acl");
	if (hset("acl", "system.posix_acl_access", acl, sizeof(acl)) == 0)
		have_acl = 1;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A NUL-separated list as sorted names joined by ','. */
static void
canon(const char *list, long n, char *out, size_t outlen)
{
	char copy[8192], *names[512];
	size_t cnt = 0, pos = 0, len = 0, i;

	out[0] = '\0';
	if (n < 0 || (size_t)n > sizeof(copy)) {
		snprintf(out, outlen, "(error %ld)", n);
		return;
	}
	memcpy(copy, list, (size_t)n);
	while (pos < (size_t)n && cnt < 512) {
		names[cnt++] = copy + pos;
		pos += strnlen(copy + pos, (size_t)n - pos) + 1;
	}
	qsort(names, cnt, sizeof(names[0]), cmp_str);
	for (i = 0; i < cnt && len < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", i ? "," : "", names[i]);
}

/* Compare every attribute of one file; returns the number of mismatches. */
static int
compare_file(const char *tag, const char *rel)
{
	char hpath[600], apath[600], hlist[8192], alist[8192], hc[8192], ac[8192];
	char hval[4096], aval[4096];
	long hn, an, hv, av;
	size_t pos;
	int bad = 0;

	snprintf(hpath, sizeof(hpath), "%s/%s", tree, rel);
	snprintf(apath, sizeof(apath), "/mnt/%s", rel);
	hn = llistxattr(hpath, hlist, sizeof(hlist));
	an = anyk_sys_llistxattr(apath, alist, sizeof(alist));
	canon(hlist, hn, hc, sizeof(hc));
	canon(alist, an, ac, sizeof(ac));
	T_OK(strcmp(hc, ac) == 0, "%s: %s lists the host's names (host %s, anyk %s)", tag, rel, hc, ac);
	if (strcmp(hc, ac) != 0)
		bad++;
	T_EQ(anyk_sys_llistxattr(apath, NULL, 0), hn, "list size query");
	for (pos = 0; hn > 0 && pos < (size_t)hn; pos += strlen(hlist + pos) + 1) {
		const char *name = hlist + pos;

		hv = lgetxattr(hpath, name, hval, sizeof(hval));
		av = anyk_sys_lgetxattr(apath, name, aval, sizeof(aval));
		if (hv < 0 || av != hv || memcmp(hval, aval, (size_t)hv) != 0) {
			T_OK(0, "%s: %s %s: host %ld bytes, anyk %ld (errno %d)", tag, rel, name, hv, av, errno);
			bad++;
			continue;
		}
		if (anyk_sys_lgetxattr(apath, name, NULL, 0) != hv) {
			T_OK(0, "%s: %s %s: size query", tag, rel, name);
			bad++;
		}
	}
	T_OK(bad == 0, "%s: %s values match the host's", tag, rel);
	return bad;
}

/* debugfs: does the inode of rel name an external attribute block? */
static int
has_xattr_block(const char *img, const char *rel)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'stat /%s' %s 2>/dev/null | grep -Eq 'File ACL: [1-9]'", rel, img);
	return t_run(cmd) == 0;
}

static void
test_image(const char *fstype, int bsize, int isize)
{
	static const char *const files[] = { "none", "small", "empty", "binary", "many", "large", "dir", "acl" };
	char img[400], cmd[1200], tag[64], buf[16];
	size_t i;
	int fd;

	snprintf(tag, sizeof(tag), "%s/%d/%d", fstype, bsize, isize);
	snprintf(img, sizeof(img), "%s/%s-%d-%d.img", top, fstype, bsize, isize);
	snprintf(cmd, sizeof(cmd), "mke2fs -q -F -t %s -b %d -I %d -d %s %s 16M >/dev/null 2>&1", fstype,
		 bsize, isize, tree, img);
	if (t_run(cmd) != 0) {
		T_SKIP("%s: mke2fs failed", tag);
		return;
	}
	/* The cases are what they claim to be. */
	if (isize > 128)
		T_OK(!has_xattr_block(img, "small"), "%s: small attributes stay in the inode", tag);
	else
		T_OK(has_xattr_block(img, "small"), "%s: 128-byte inodes put them in a block", tag);
	T_OK(has_xattr_block(img, "many"), "%s: many attributes spill into a block", tag);
	T_OK(has_xattr_block(img, "large"), "%s: a large value lives in a block", tag);
	T_OK(!has_xattr_block(img, "none"), "%s: no attributes, no block", tag);

	if (anyk_disk_attach("/dev/sd0", img, ANYK_DISK_RDONLY) != 0) {
		T_OK(0, "%s: attach (errno %d)", tag, errno);
		return;
	}
	if (anyk_sys_mount("/dev/sd0", "/mnt", fstype, ANYK_MNT_RDONLY, NULL) != 0) {
		T_OK(0, "%s: mount read-only (errno %d)", tag, errno);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i], "acl") == 0 && !have_acl)
			continue;
		compare_file(tag, files[i]);
	}
	if (have_trusted)
		T_EQ(anyk_sys_getxattr("/mnt/small", "trusted.t", buf, sizeof(buf)), 4,
		     "trusted.* copied by mke2fs and read by root");
	errno = 0;
	T_OK(anyk_sys_getxattr("/mnt/large", "user.large", buf, sizeof(buf)) == -1 && errno == ERANGE,
	     "%s: a short buffer is ERANGE", tag);
	errno = 0;
	T_OK(anyk_sys_getxattr("/mnt/small", "user.nope", buf, sizeof(buf)) == -1 && errno == ENODATA,
	     "%s: a missing name is ENODATA", tag);
	errno = 0;
	T_OK(anyk_sys_listxattr("/mnt/many", buf, sizeof(buf)) == -1 && errno == ERANGE,
	     "%s: a short list buffer is ERANGE", tag);
	errno = 0;
	T_OK(anyk_sys_setxattr("/mnt/small", "user.a", "2", 1, 0) == -1 && errno == EROFS,
	     "%s: setxattr on the read-only mount is EROFS", tag);
	errno = 0;
	T_OK(anyk_sys_removexattr("/mnt/small", "user.a") == -1 && errno == EROFS,
	     "%s: removexattr too", tag);
	fd = anyk_sys_open("/mnt/small", ANYK_O_RDONLY, 0);
	T_EQ(anyk_sys_fgetxattr(fd, "user.color", buf, sizeof(buf)), 4, "fgetxattr on ext2");
	anyk_sys_close(fd);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", tag);
	T_OK(anyk_disk_detach("/dev/sd0") == 0, "%s: detach", tag);
}

/* A temporary directory on a host file system that keeps user.*. */
static int
pick_top(void)
{
	const char *cands[] = { getenv("TMPDIR"), "/tmp", "/var/tmp", "/dev/shm" };
	char probe[300];
	size_t i;

	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (cands[i] == NULL)
			continue;
		snprintf(top, sizeof(top), "%s/anyk-ext2x-XXXXXX", cands[i]);
		if (mkdtemp(top) == NULL)
			continue;
		snprintf(probe, sizeof(probe), "%s", top);
		if (setxattr(probe, "user.probe", "1", 1, 0) == 0)
			return 0;
		rmdir(top);
	}
	return -1;
}

int
main(void)
{
	static const struct {
		const char *type;
		int bsize, isize;
	} cfg[] = {
		{ "ext4", 4096, 256 }, { "ext4", 1024, 128 }, { "ext4", 1024, 256 },
		{ "ext3", 2048, 256 }, { "ext2", 4096, 128 },
	};
	char cmd[400];
	size_t i;

	if (!t_have_tools("mke2fs")) {
		T_SKIP("mke2fs not installed");
		return t_done();
	}
	if (strstr(getenv("PATH"), "sbin") == NULL) {
		snprintf(cmd, sizeof(cmd), "%s:/usr/sbin:/sbin", getenv("PATH"));
		setenv("PATH", cmd, 1);
	}
	if (pick_top() != 0) {
		T_SKIP("no host file system here keeps user.* attributes");
		return t_done();
	}
	if (make_tree() != 0) {
		T_SKIP("cannot set user.* attributes on %s", top);
	} else {
		T_OK(anyk_init() == 0, "anyk_init");
		T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
		for (i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++)
			test_image(cfg[i].type, cfg[i].bsize, cfg[i].isize);
		T_OK(anyk_fini() == 0, "anyk_fini");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	t_run(cmd);
	return t_done();
}
