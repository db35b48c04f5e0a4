/*
 * A directory reader in the middle of an inline directory (inline_data)
 * that moves to a block under it: entries added, which moves it, must not
 * make the reader see a name twice or miss one that was there before. The
 * readdir cookies of inline entries are the positions the entries take in
 * the block. mke2fs -d makes the inline directories; every way of reading
 * (one entry at a time, resumed at each cookie with lseek) is tried, and
 * e2fsck checks the block the move wrote.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <anyk/anyk.h>

#include "tests/integration/ext2_img.h"

#define NOLD 4

static const char *const old_names[NOLD] = { "a1", "bb22", "ccc333", "dddd4444" };

/* Read the directory one entry per call from cookie *offp; the entry's
 * name in name, its cookie in *offp; false at the end. */
static bool
next_entry(int fd, int64_t *offp, char *name, size_t namesz)
{
	char buf[64]; /* room for one entry only */
	const struct anyk_dirent *d = (const void *)buf;
	anyk_ssize_t n;

	if (anyk_sys_lseek(fd, *offp, ANYK_SEEK_SET) < 0)
		return false;
	n = anyk_sys_getdents(fd, buf, sizeof(buf));
	if (n <= 0)
		return false;
	snprintf(name, namesz, "%s", d->d_name);
	*offp = d->d_off;
	return true;
}

static void
test_move_while_reading(int after)
{
	char what[100], name[64], path[128];
	int seen[NOLD] = { 0 }, dots = 0, others = 0, got = 0, fd;
	int64_t off = 0;
	struct anyk_stat st;

	snprintf(what, sizeof(what), "moved to a block after %d entries read", after);
	T_OK(anyk_disk_attach("/dev/sd0", img, 0) == 0, "%s: attach", what);
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, NULL) != 0) {
		T_OK(0, "%s: mount (errno %d)", what, errno);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	T_OK(anyk_sys_stat("/mnt/d", &st) == 0 && (st.st_flags & ANYK_FL_INLINE_DATA), "%s: the directory is inline",
	     what);
	fd = anyk_sys_open("/mnt/d", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	for (;;) {
		if (got == after) {
			/* Enough names to need a block. */
			for (int i = 0; i < 12; i++) {
				snprintf(path, sizeof(path), "/mnt/d/new-entry-with-a-long-name-%02d", i);
				int nfd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
				if (nfd >= 0)
					anyk_sys_close(nfd);
			}
			T_OK(anyk_sys_stat("/mnt/d", &st) == 0 && !(st.st_flags & ANYK_FL_INLINE_DATA),
			     "%s: the directory is in a block now", what);
		}
		if (!next_entry(fd, &off, name, sizeof(name)))
			break;
		got++;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			dots++;
			continue;
		}
		bool old = false;
		for (int i = 0; i < NOLD; i++) {
			if (strcmp(name, old_names[i]) == 0) {
				seen[i]++;
				old = true;
			}
		}
		if (!old)
			others++;
	}
	anyk_sys_close(fd);
	bool once = true;
	for (int i = 0; i < NOLD; i++)
		once &= seen[i] == 1;
	T_OK(once && dots == 2, "%s: . and .. and each entry there before read once (%d %d %d %d, dots %d)", what,
	     seen[0], seen[1], seen[2], seen[3], dots);
	T_OK(others <= 12, "%s: no name read twice among the new ones (%d)", what, others);
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean(what);
}

int
main(void)
{
	char cmd[4096];

	if (!img_setup("anyk-inline-readdir"))
		return t_done();
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	for (int after = 0; after <= NOLD + 2; after++) {
		snprintf(cmd, sizeof(cmd),
			 "rm -rf %s/src && mkdir -p %s/src/d && for n in %s %s %s %s; do : > %s/src/d/$n; done && "
			 "rm -f %s && mke2fs -q -F -t ext4 -O inline_data -I 256 -d %s/src %s 8M >/dev/null 2>&1",
			 top, top, old_names[0], old_names[1], old_names[2], old_names[3], top, img, top, img);
		if (t_run(cmd) != 0) {
			T_SKIP("this mke2fs cannot make inline_data images");
			break;
		}
		test_move_while_reading(after);
	}
	T_OK(anyk_fini() == 0, "anyk_fini");
	img_cleanup();
	return t_done();
}
