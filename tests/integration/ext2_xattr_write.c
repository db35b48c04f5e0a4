/*
 * Extended attribute writes on ext2/3/4: set, replace and remove many
 * attributes of growing sizes (user., trusted., security., POSIX ACLs) so
 * that they spill from the inode body into the external block and back,
 * on 128- and 256-byte inodes, with and without metadata_csum; every
 * result compared with a model (create/replace flags, ENODATA, ENOSPC
 * when nothing more fits). Then e2fsck -fn, a read-only remount, debugfs
 * ea_list, and the Linux kernel's getfattr on a loop mount must all see
 * the model's attributes.
 *
 * With ea_inode, values grow to the 64 KiB limit: those a block cannot
 * take go to inodes of their own, and a fifth of the
 * files are then removed; e2fsck checks the value inodes' hashes and
 * reference counts and that none is left behind, the kernel reads the
 * values. With quota as well, such images mount read-only.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anyk/anyk.h>

#define NFILES 24
#define NATTRS 12
#define VMAX 65536

#include "tests/integration/ext2_img.h"

struct attr {
	bool set;
	uint8_t v[VMAX];
	size_t len;
};

static struct attr model[NFILES][NATTRS];
static bool gone[NFILES]; /* removed at the end */

static const char *
attr_name(int a)
{
	static const char *const n[NATTRS] = { "user.a", "user.bb", "user.ccc", "user.long-attribute-name-number-4",
					       "trusted.t1", "security.s1", "user.e", "user.f", "user.g",
					       "user.h", "system.posix_acl_access", "system.posix_acl_default" };
	return n[a];
}

/* A POSIX ACL in the VFS's format with n named users. */
static size_t
make_acl(uint8_t *v, int nusers)
{
	size_t o = 4;
	uint16_t tags[] = { 0x01, 0x04, 0x10, 0x20 };

	v[0] = 2, v[1] = v[2] = v[3] = 0;
	for (int i = 0; i < 4; i++) {
		uint32_t id = 0xffffffffu;
		if (i == 1) {
			for (int u = 0; u < nusers; u++) {
				uint32_t uid = 1000 + (uint32_t)u;
				v[o] = 0x02, v[o + 1] = 0, v[o + 2] = 6, v[o + 3] = 0;
				memcpy(v + o + 4, &uid, 4);
				o += 8;
			}
		}
		v[o] = (uint8_t)tags[i], v[o + 1] = 0, v[o + 2] = (uint8_t)(i + 4), v[o + 3] = 0;
		memcpy(v + o + 4, &id, 4);
		o += 8;
	}
	return o;
}

static void
fill(uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		v[i] = (uint8_t)rnd();
}

/* Compare what anyk returns for every attribute of every file. */
static int
check_anyk(void)
{
	static uint8_t buf[VMAX + 64];
	char path[100], list[8192];
	int bad = 0;

	for (int f = 0; f < NFILES; f++) {
		int nset = 0, nlisted = 0;
		anyk_ssize_t ll;
		if (gone[f])
			continue;
		snprintf(path, sizeof(path), "/mnt/f%d", f);
		for (int a = 0; a < NATTRS; a++) {
			anyk_ssize_t n = anyk_sys_getxattr(path, attr_name(a), buf, sizeof(buf));
			struct attr *m = &model[f][a];
			if (m->set) {
				nset++;
				if (n != (anyk_ssize_t)m->len || memcmp(buf, m->v, m->len) != 0) {
					if (bad++ < 5)
						printf("# %s %s: got %zd want %zu (errno %d)\n", path, attr_name(a),
						       (ssize_t)n, m->len, errno);
				}
			} else if (n >= 0 || errno != ENODATA) {
				if (bad++ < 5)
					printf("# %s %s: present (%zd) but removed\n", path, attr_name(a), (ssize_t)n);
			}
		}
		ll = anyk_sys_listxattr(path, list, sizeof(list));
		for (anyk_ssize_t o = 0; o < ll; o += (anyk_ssize_t)strlen(list + o) + 1)
			nlisted++;
		if (nlisted != nset && bad++ < 5)
			printf("# %s: %d listed, %d set\n", path, nlisted, nset);
	}
	return bad;
}

/* The Linux kernel's view through getfattr on a loop mount. */
static int
check_linux(const char *mnt)
{
	char cmd[600];
	static uint8_t buf[VMAX + 64];
	int bad = 0;

	for (int f = 0; f < NFILES; f++) {
		for (int a = 0; a < NATTRS && !gone[f]; a++) {
			struct attr *m = &model[f][a];
			FILE *p;
			size_t n;
			snprintf(cmd, sizeof(cmd), "getfattr --absolute-names --only-values -n %s %s/f%d 2>/dev/null",
				 attr_name(a), mnt, f);
			p = popen(cmd, "r");
			n = fread(buf, 1, sizeof(buf), p);
			pclose(p);
			if (m->set ? (n != m->len || memcmp(buf, m->v, n) != 0) : n != 0) {
				if (bad++ < 5)
					printf("# linux f%d %s: %zu bytes, want %zu\n", f, attr_name(a), n,
					       m->set ? m->len : 0);
			}
		}
	}
	return bad;
}

static void
test_xattrs(const char *type, const char *opts, uint64_t seed)
{
	char what[200], path[400], cmd[900];
	static uint8_t v[VMAX];
	bool ea = strstr(opts, "ea_inode") != NULL;
	int bad = 0, nospc = 0, big = 0, ops = 0, fd;

	snprintf(what, sizeof(what), "%s %s", type, opts);
	if (!img_mkfs(type, opts, "32M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	rng = seed;
	memset(model, 0, sizeof(model));
	memset(gone, 0, sizeof(gone));
	T_OK(anyk_disk_attach("/dev/sd0", img, 0) == 0, "%s: attach", what);
	if (anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL) != 0) {
		T_OK(0, "%s: mount (errno %d)", what, errno);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	for (int f = 0; f < NFILES; f++) {
		snprintf(path, sizeof(path), f % 4 == 3 ? "/mnt/f%d" : "/mnt/f%d", f);
		if (f % 4 == 3)
			anyk_sys_mkdir(path, 0755);
		else if ((fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_WRONLY, 0644)) >= 0)
			anyk_sys_close(fd);
	}
	for (int round = 0; round < 60; round++) {
		for (int f = 0; f < NFILES; f++) {
			int a = (int)(rnd() % NATTRS), r = (int)(rnd() % 10), flags = 0, rc, want;
			struct attr *m = &model[f][a];
			size_t len;

			if (a == 11 && f % 4 != 3)
				a = 10; /* default ACLs only on directories */
			m = &model[f][a];
			snprintf(path, sizeof(path), "/mnt/f%d", f);
			if (r < 3) {
				rc = anyk_sys_removexattr(path, attr_name(a));
				/* An ACL that is not there is removed without error. */
				want = m->set || a >= 10 ? 0 : ENODATA;
				if ((rc == 0 ? 0 : errno) != want && bad++ < 5)
					printf("# remove %s %s: errno %d, want %d\n", path, attr_name(a), errno, want);
				m->set = false;
				ops++;
				continue;
			}
			/* Sizes grow with the round: the body fills, then the block. */
			if (a >= 10)
				len = make_acl(v, (int)(rnd() % (round / 4 + 1)));
			else if (ea)
				len = (size_t)(rnd() % (size_t)(40 + round * 1200)) % (VMAX + 1);
			else
				len = (size_t)(rnd() % (size_t)(40 + round * 30)) % 2048;
			if (a < 10)
				fill(v, len);
			flags = r == 3 ? ANYK_XATTR_CREATE : r == 4 ? 2 : 0;
			rc = anyk_sys_setxattr(path, attr_name(a), v, len, flags);
			want = flags == ANYK_XATTR_CREATE && m->set ? EEXIST : flags == 2 && !m->set ? ENODATA : 0;
			if (a >= 10)
				want = 0; /* the flags mean nothing for an ACL, as on Linux */
			if (rc != 0 && errno == ENOSPC && want == 0) {
				nospc++;
				continue; /* the model keeps the old value */
			}
			if ((rc == 0 ? 0 : errno) != want && bad++ < 5)
				printf("# set %s %s %zu flags %d: errno %d, want %d\n", path, attr_name(a), len, flags,
				       errno, want);
			if (rc == 0) {
				big += len > 4096;
				memcpy(m->v, v, len);
				m->len = len;
				m->set = true;
			}
			ops++;
		}
	}
	T_OK(bad == 0, "%s: %d attribute operations as expected (%d refused with ENOSPC)", what, ops, nospc);
	if (ea) {
		/* As on Linux, a value is refused only when the block has no
		 * room left for its entry. */
		T_OK(big > 100, "%s: %d values larger than a block kept", what, big);
		/* Files and directories holding values in inodes of their
		 * own go away: so must those inodes. */
		for (int f = 0; f < NFILES; f += 5) {
			snprintf(path, sizeof(path), "/mnt/f%d", f);
			if ((f % 4 == 3 ? anyk_sys_rmdir(path) : anyk_sys_unlink(path)) != 0 && bad++ < 5)
				printf("# remove %s: errno %d\n", path, errno);
			gone[f] = true;
			memset(model[f], 0, sizeof(model[f]));
		}
		T_OK(bad == 0, "%s: files with values in inodes of their own removed", what);
	}
	T_OK(check_anyk() == 0, "%s: every attribute reads back while mounted", what);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	anyk_disk_detach("/dev/sd0");
	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s > %s/fsck.log 2>&1 || { head -30 %s/fsck.log | sed 's/^/# /'; false; }",
		 img, top, top);
	T_OK(t_run(cmd) == 0, "%s: e2fsck -fn clean", what);
	anyk_disk_attach("/dev/sd0", img, ANYK_DISK_RDONLY);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", type, ANYK_MNT_RDONLY, NULL) == 0 && check_anyk() == 0,
	     "%s: every attribute reads back after remount", what);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	/* debugfs lists the same number of attributes. */
	{
		int want = 0, got = 0;
		FILE *p;
		char line[4096];
		for (int f = 0; f < NFILES; f++)
			for (int a = 0; a < NATTRS; a++)
				want += model[f][a].set;
		for (int f = 0; f < NFILES; f++) {
			if (gone[f])
				continue;
			snprintf(cmd, sizeof(cmd), "debugfs -R 'ea_list /f%d' %s 2>/dev/null", f, img);
			p = popen(cmd, "r");
			while (fgets(line, sizeof(line), p) != NULL)
			{
				char nm[300];
				int n;
				/* "  user.name (len) = value"; hex dumps continue on other lines. */
				got += line[0] == ' ' && line[1] == ' ' && line[2] != ' ' &&
				       sscanf(line, " %299s (%d)", nm, &n) == 2 && strchr(nm, '.') != NULL;
			}
			pclose(p);
		}
		T_OK(got == want, "%s: debugfs ea_list shows %d attributes (want %d)", what, got, want);
	}
	if (!is_root || t_run("command -v getfattr >/dev/null") != 0) {
		T_SKIP("%s: Linux view (needs root and getfattr)", what);
		return;
	}
	snprintf(path, sizeof(path), "%s/kmnt", top);
	mkdir(path, 0755);
	snprintf(cmd, sizeof(cmd), "mount -o loop,ro %s %s >/dev/null 2>&1", img, path);
	if (t_run(cmd) != 0) {
		T_SKIP("%s: Linux view (no loop mount here)", what);
		return;
	}
	T_OK(check_linux(path) == 0, "%s: Linux's getfattr sees the same attributes", what);
	snprintf(cmd, sizeof(cmd), "umount %s", path);
	t_run(cmd);
}

/* ea_inode with quota: read-only (ext2_xattr_w.c says why). */
static void
test_ea_quota(void)
{
	if (!img_mkfs("ext4", "-O ea_inode,quota", "32M")) {
		T_SKIP("ea_inode with quota: mke2fs failed");
		return;
	}
	anyk_disk_attach("/dev/sd0", img, 0);
	errno = 0;
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, NULL) != 0 && errno == EROFS,
	     "ea_inode with quota: a read-write mount is refused with EROFS (errno %d)", errno);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) == 0 && anyk_sys_unmount("/mnt", 0) == 0,
	     "ea_inode with quota: read-only mounts");
	anyk_disk_detach("/dev/sd0");
}

/* A block shared by two inodes (h_refcount 2, as Linux makes them):
 * changing one inode's attributes copies the block, the other keeps it. */
static void
test_shared(void)
{
	const char *what = "shared attribute block";
	char cmd[1600], buf[200], v[100];
	unsigned long blk0 = 0, blk1 = 0;
	FILE *p;
	int fd;

	memset(v, 'v', sizeof(v));
	if (!img_mkfs("ext2", "-b 1024 -I 128", "8M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	anyk_disk_attach("/dev/sd0", img, 0);
	anyk_sys_mount("/dev/sd0", "/mnt", "ext2", 0, NULL);
	fd = anyk_sys_open("/mnt/f0", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	anyk_sys_close(fd);
	fd = anyk_sys_open("/mnt/f1", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	anyk_sys_close(fd);
	T_OK(anyk_sys_setxattr("/mnt/f0", "user.a", v, sizeof(v), 0) == 0, "%s: set on f0", what);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	/* Share f0's block with f1 by hand. */
	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat /f0' %s 2>/dev/null | sed -n 's/.*File ACL: \\([0-9]*\\).*/\\1/p'",
		 img);
	p = popen(cmd, "r");
	if (fgets(buf, sizeof(buf), p) != NULL)
		blk0 = strtoul(buf, NULL, 10);
	pclose(p);
	snprintf(cmd, sizeof(cmd),
		 "debugfs -w -R 'sif /f1 file_acl %lu' %s >/dev/null 2>&1 && "
		 "debugfs -w -R 'sif /f1 blocks 2' %s >/dev/null 2>&1 && "
		 "printf '\\002' | dd of=%s bs=1 seek=%lu conv=notrunc status=none && "
		 "e2fsck -fn %s >/dev/null 2>&1",
		 blk0, img, img, img, blk0 * 1024 + 4, img);
	if (blk0 == 0 || t_run(cmd) != 0) {
		T_SKIP("%s: could not share the block by hand (block %lu)", what, blk0);
		return;
	}
	anyk_disk_attach("/dev/sd0", img, 0);
	anyk_sys_mount("/dev/sd0", "/mnt", "ext2", 0, NULL);
	T_OK(anyk_sys_getxattr("/mnt/f1", "user.a", buf, sizeof(buf)) == (anyk_ssize_t)sizeof(v),
	     "%s: f1 reads the shared attribute", what);
	T_OK(anyk_sys_setxattr("/mnt/f1", "user.b", "b", 1, 0) == 0 &&
	     anyk_sys_getxattr("/mnt/f0", "user.b", buf, sizeof(buf)) < 0 && errno == ENODATA &&
	     anyk_sys_getxattr("/mnt/f0", "user.a", buf, sizeof(buf)) == (anyk_ssize_t)sizeof(v) &&
	     anyk_sys_getxattr("/mnt/f1", "user.a", buf, sizeof(buf)) == (anyk_ssize_t)sizeof(v),
	     "%s: a change to f1 leaves f0 as it was", what);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat /f1' %s 2>/dev/null | sed -n 's/.*File ACL: \\([0-9]*\\).*/\\1/p'",
		 img);
	p = popen(cmd, "r");
	if (fgets(buf, sizeof(buf), p) != NULL)
		blk1 = strtoul(buf, NULL, 10);
	pclose(p);
	T_OK(blk1 != 0 && blk1 != blk0, "%s: f1 has a block of its own (%lu, was %lu)", what, blk1, blk0);
	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s > %s/fsck.log 2>&1 || { head -20 %s/fsck.log | sed 's/^/# /'; false; }",
		 img, top, top);
	T_OK(t_run(cmd) == 0, "%s: e2fsck -fn clean after the copy", what);
	/* Both let go: every block comes back. */
	anyk_disk_attach("/dev/sd0", img, 0);
	anyk_sys_mount("/dev/sd0", "/mnt", "ext2", 0, NULL);
	T_OK(anyk_sys_removexattr("/mnt/f0", "user.a") == 0 && anyk_sys_removexattr("/mnt/f1", "user.a") == 0 &&
	     anyk_sys_removexattr("/mnt/f1", "user.b") == 0, "%s: all removed", what);
	anyk_sys_unmount("/mnt", 0);
	anyk_disk_detach("/dev/sd0");
	T_OK(t_run(cmd) == 0, "%s: e2fsck -fn clean after removing everything", what);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat /f1' %s 2>/dev/null | grep -q 'File ACL: 0'", img);
	T_OK(t_run(cmd) == 0, "%s: an emptied block is given back", what);
}

int
main(void)
{
	if (!img_setup("anyk-xattrw"))
		return t_done();
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	test_xattrs("ext4", "-O ^has_journal -b 4096 -I 256", 0x1234567);
	test_xattrs("ext4", "-O ^has_journal -b 1024 -I 128", 0x2345678);
	test_xattrs("ext4", "-O ^has_journal,^metadata_csum -b 1024 -I 256", 0x3456789);
	test_xattrs("ext2", "-b 1024 -I 128", 0x456789a);
	test_xattrs("ext3", "-b 4096 -I 256", 0x56789ab);
	test_xattrs("ext4", "-O ea_inode -b 4096 -I 256", 0x6789abc);
	test_xattrs("ext4", "-O ea_inode,^has_journal -b 1024 -I 128", 0x789abcd);
	test_ea_quota();
	test_shared();
	T_OK(anyk_fini() == 0, "anyk_fini");
	img_cleanup();
	return t_done();
}
