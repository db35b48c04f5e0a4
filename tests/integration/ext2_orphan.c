/*
 * The ext2/3/4 orphan list: files unlinked while open are chained from the
 * superblock, so a crash while they are open does not leak them. Unlink
 * open files (closing one in the middle of the chain), copy the image as
 * it is (the crash), then: e2fsck -fn on the copy reports the orphans;
 * anyk's read-write mount of the copy frees them (the same free counts as
 * the original after the last close) and e2fsck -fn finds it clean; a
 * broken chain (an invalid inode, a loop) ends the walk with a log line
 * and a clean file system.
 */
#include "tests/integration/ext2_img.h"

#include <errno.h>

#include <anyk/anyk.h>

/* The copy of img taken while files are open: the crashed image. */
static char crash[300];

static void
statfs_of(const char *image, const char *type, struct anyk_statvfs *st)
{
	memset(st, 0, sizeof(*st));
	anyk_disk_attach("/dev/sd1", image, 0);
	if (anyk_sys_mount("/dev/sd1", "/mnt2", type, 0, NULL) == 0) {
		static char log[1 << 16];
		static size_t seen;
		size_t n = anyk_dmesg(log, sizeof(log) - 1);
		log[n] = '\0';
		/* The driver's new lines about the orphan list, for the record. */
		for (char *l = strtok(log + (seen < n ? seen : n), "\n"); l != NULL; l = strtok(NULL, "\n"))
			if (strstr(l, "orphan") != NULL && strstr(l, "sd1") != NULL)
				printf("# %s\n", l);
		seen = n;
		anyk_sys_statvfs("/mnt2", st);
		anyk_sys_unmount("/mnt2", 0);
	}
	anyk_disk_detach("/dev/sd1");
}

static void
test_orphans(const char *type, const char *opts)
{
	static char data[1 << 20];
	char what[200], cmd[2400], path[100];
	int fds[5], nfd = 0;
	struct anyk_statvfs want, got;
	struct anyk_stat st;

	snprintf(what, sizeof(what), "orphans %s %s", type, opts);
	if (!img_mkfs(type, opts, "64M")) {
		T_SKIP("%s: mke2fs failed", what);
		return;
	}
	memset(data, 'o', sizeof(data));
	anyk_disk_attach("/dev/sd0", img, 0);
	T_OK(anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL) == 0, "%s: mount", what);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/mnt/open%d", i);
		fds[nfd] = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_RDWR, 0644);
		if (fds[nfd] < 0)
			continue;
		anyk_sys_write(fds[nfd], data, sizeof(data) / (size_t)(i + 1));
		nfd++;
	}
	anyk_sys_mkdir("/mnt/opendir", 0755);
	fds[4] = anyk_sys_open("/mnt/opendir", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	T_OK(nfd == 4 && fds[4] >= 0, "%s: files and a directory open", what);
	T_OK(anyk_sys_unlink("/mnt/open0") == 0 && anyk_sys_unlink("/mnt/open1") == 0 &&
	     anyk_sys_unlink("/mnt/open2") == 0 && anyk_sys_rmdir("/mnt/opendir") == 0,
	     "%s: unlinked while open", what);
	/* The middle of the chain goes first: open1 was linked after open0. */
	anyk_sys_close(fds[1]);
	T_OK(anyk_sys_stat("/mnt/open1", &st) != 0 && anyk_sys_fstat(fds[0], &st) == 0 && st.st_nlink == 0 &&
	     anyk_sys_pread(fds[2], data, 4, 0) == 4,
	     "%s: the open files are still readable, with no links", what);
	anyk_sys_sync();
	/* The crash: the image as it is while the files are open. */
	snprintf(cmd, sizeof(cmd), "cp %s %s", img, crash);
	T_OK(t_run(cmd) == 0, "%s: image copied while files are open", what);
	anyk_sys_close(fds[0]);
	anyk_sys_close(fds[2]);
	anyk_sys_close(fds[3]);
	anyk_sys_close(fds[4]);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount (errno %d)", what, errno);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean_at(what, img);
	statfs_of(img, type, &want);

	/* e2fsck sees the orphans on the crashed copy (and would free them). */
	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s 2>&1 | grep -qi 'orphan'", crash);
	T_OK(t_run(cmd) == 0, "%s: e2fsck -fn on the crashed copy reports the orphan list", what);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'stats' %s 2>/dev/null | grep -i 'orphan' | sed 's/^/# /'", crash);
	t_run(cmd);
	/* anyk's read-write mount frees them. */
	statfs_of(crash, type, &got);
	T_OK(got.f_ffree == want.f_ffree && got.f_bfree == want.f_bfree,
	     "%s: mounting the crashed copy frees the orphans (%llu/%llu inodes, %llu/%llu blocks free)", what,
	     (unsigned long long)got.f_ffree, (unsigned long long)want.f_ffree, (unsigned long long)got.f_bfree,
	     (unsigned long long)want.f_bfree);
	img_fsck_clean_at(what, crash);

	/* A chain naming an invalid inode, then one that loops. */
	snprintf(cmd, sizeof(cmd), "debugfs -w -R 'ssv last_orphan 4000000' %s >/dev/null 2>&1", crash);
	t_run(cmd);
	statfs_of(crash, type, &got);
	T_OK(got.f_bsize != 0, "%s: an invalid orphan inode ends the walk, the mount goes on", what);
	img_fsck_clean_at(what, crash);
	snprintf(cmd, sizeof(cmd),
		 "debugfs -w -R 'write /etc/hostname loop' %s >/dev/null 2>&1 && "
		 "ino=$(debugfs -R 'stat /loop' %s 2>/dev/null | sed -n 's/^Inode: \\([0-9]*\\).*/\\1/p') && "
		 "debugfs -w -R 'unlink /loop' %s >/dev/null 2>&1 && "
		 "debugfs -w -R \"sif <$ino> links_count 0\" %s >/dev/null 2>&1 && "
		 "debugfs -w -R \"sif <$ino> dtime $ino\" %s >/dev/null 2>&1 && "
		 "debugfs -w -R \"ssv last_orphan $ino\" %s >/dev/null 2>&1",
		 crash, crash, crash, crash, crash, crash);
	if (t_run(cmd) != 0) {
		T_SKIP("%s: debugfs could not make a looping orphan", what);
		return;
	}
	statfs_of(crash, type, &got);
	T_OK(got.f_bsize != 0, "%s: an orphan pointing at itself ends the walk, the mount goes on", what);
	img_fsck_clean_at(what, crash);
}

int
main(void)
{
	if (!img_setup("anyk-orphan"))
		return t_done();
	snprintf(crash, sizeof(crash), "%s/crash", top);
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0 && anyk_sys_mkdir("/mnt2", 0755) == 0, "mkdir /mnt /mnt2");
	test_orphans("ext4", "-O ^has_journal -b 4096");
	test_orphans("ext2", "-b 1024 -I 128");
	T_OK(anyk_fini() == 0, "anyk_fini");
	img_cleanup();
	return t_done();
}
