/*
 * Walking and changing a mounted, possibly hostile ext2/3/4 file system
 * through the public API, shared by tests/integration/ext2_hostile.c and the
 * libFuzzer harness tests/fuzz/ext2_fuzz.c. Every loop is bounded (depth,
 * entries, bytes read) so that a hostile image that reads fine but is huge
 * or cyclic cannot make the walk itself run for ever; any hang left is the
 * kernel's. Errors are counted, never fatal: the point is that nothing
 * crashes.
 */
#ifndef ANYK_TESTS_EXT2_HOSTILE_H
#define ANYK_TESTS_EXT2_HOSTILE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <anyk/anyk.h>

struct hw_stats {
	long ops;      /* system calls made */
	long eio;      /* of which failed with EIO */
	long euclean;  /* of which failed with EUCLEAN */
	long other;    /* of which failed otherwise */
	long entries;  /* directory entries seen */
};

static void
hw_note(struct hw_stats *s, long rc)
{
	s->ops++;
	if (rc >= 0)
		return;
	if (errno == ANYK_EIO)
		s->eio++;
	else if (errno == ANYK_EUCLEAN)
		s->euclean++;
	else
		s->other++;
}

static void
hw_xattrs(struct hw_stats *s, const char *path)
{
	char list[1024], val[2048];
	anyk_ssize_t n = anyk_sys_llistxattr(path, list, sizeof(list));

	hw_note(s, n);
	for (anyk_ssize_t off = 0; n > 0 && off < n;) {
		size_t len = strnlen(list + off, (size_t)(n - off));

		if ((anyk_ssize_t)(off + len) >= n)
			break;
		hw_note(s, anyk_sys_lgetxattr(path, list + off, val, sizeof(val)));
		hw_note(s, anyk_sys_lgetxattr(path, list + off, NULL, 0));
		off += (anyk_ssize_t)len + 1;
	}
	hw_note(s, anyk_sys_lgetxattr(path, "user.none", val, sizeof(val)));
}

static void
hw_read_file(struct hw_stats *s, const char *path)
{
	static char data[32768];
	struct anyk_stat st;
	int fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
	long total = 0;
	anyk_ssize_t n;

	hw_note(s, fd);
	if (fd < 0)
		return;
	/* Sequentially, up to 1 MiB; then around the end and far out. */
	while (total < (1 << 20) && (n = anyk_sys_read(fd, data, sizeof(data))) > 0)
		total += n;
	hw_note(s, total > 0 ? 0 : n);
	if (anyk_sys_fstat(fd, &st) == 0 && st.st_size > 0) {
		hw_note(s, anyk_sys_pread(fd, data, 4096, st.st_size - 1));
		hw_note(s, anyk_sys_pread(fd, data, 8192, st.st_size / 2));
	}
	hw_note(s, anyk_sys_pread(fd, data, 512, (anyk_off_t)1 << 40));
	hw_note(s, (long)anyk_sys_lseek(fd, 0, ANYK_SEEK_DATA));
	hw_note(s, (long)anyk_sys_lseek(fd, 0, ANYK_SEEK_HOLE));
	anyk_sys_close(fd);
}

/* Walk dir (a path under the mount) to depth levels; at most *budget entries
 * in all. */
static void
hw_walk(struct hw_stats *s, const char *dir, int depth, long *budget)
{
	char buf[4096], path[1024], target[4200];
	int fd = anyk_sys_open(dir, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	anyk_ssize_t got;

	hw_note(s, fd);
	if (fd < 0)
		return;
	hw_xattrs(s, dir);
	while (*budget > 0 && (got = anyk_sys_getdents(fd, buf, sizeof(buf))) != 0) {
		hw_note(s, got);
		if (got < 0)
			break;
		for (anyk_ssize_t off = 0; off < got && *budget > 0;) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + off);
			struct anyk_stat st;

			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
			(*budget)--;
			s->entries++;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
			if (anyk_sys_lstat(path, &st) != 0) {
				hw_note(s, -1);
				continue;
			}
			hw_note(s, 0);
			if (ANYK_S_ISLNK(st.st_mode)) {
				hw_note(s, anyk_sys_readlink(path, target, sizeof(target)));
				hw_note(s, anyk_sys_stat(path, &st)); /* follow it */
			} else if (ANYK_S_ISREG(st.st_mode)) {
				hw_read_file(s, path);
			}
			hw_xattrs(s, path);
			if (ANYK_S_ISDIR(st.st_mode) && depth > 0)
				hw_walk(s, path, depth - 1, budget);
		}
	}
	anyk_sys_close(fd);
}

/* A few changes on a read-write mount at mnt. */
static void
hw_write(struct hw_stats *s, const char *mnt)
{
	static char data[20000];
	char p[512], q[512];
	int fd;

	memset(data, 'w', sizeof(data));
	snprintf(p, sizeof(p), "%s/newfile", mnt);
	fd = anyk_sys_open(p, ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	hw_note(s, fd);
	if (fd >= 0) {
		hw_note(s, anyk_sys_write(fd, data, sizeof(data)));
		hw_note(s, anyk_sys_pwrite(fd, data, 100, 300000));
		hw_note(s, anyk_sys_ftruncate(fd, 3000));
		hw_note(s, anyk_sys_fsync(fd));
		anyk_sys_close(fd);
	}
	snprintf(p, sizeof(p), "%s/file", mnt);
	fd = anyk_sys_open(p, ANYK_O_RDWR, 0);
	hw_note(s, fd);
	if (fd >= 0) {
		hw_note(s, anyk_sys_pwrite(fd, data, 5000, 4000));
		hw_note(s, anyk_sys_ftruncate(fd, 100));
		anyk_sys_close(fd);
	}
	snprintf(p, sizeof(p), "%s/frag", mnt);
	fd = anyk_sys_open(p, ANYK_O_RDWR, 0);
	hw_note(s, fd);
	if (fd >= 0) {
		hw_note(s, anyk_sys_pwrite(fd, data, 3000, 5000));
		hw_note(s, anyk_sys_ftruncate(fd, 70000));
		/* Preallocation, holes and zeroed ranges over whatever the
		 * extent tree (or block map) says. */
		hw_note(s, anyk_sys_fallocate(fd, 0, 60000, 30000));
		hw_note(s, anyk_sys_fallocate(fd, ANYK_FALLOC_FL_KEEP_SIZE, 100000, 50000));
		hw_note(s, anyk_sys_fallocate(fd, ANYK_FALLOC_FL_PUNCH_HOLE | ANYK_FALLOC_FL_KEEP_SIZE, 1000, 20000));
		hw_note(s, anyk_sys_fallocate(fd, ANYK_FALLOC_FL_ZERO_RANGE, 30000, 9000));
		hw_note(s, anyk_sys_pwrite(fd, data, 100, 70000));
		anyk_sys_close(fd);
	}
	snprintf(p, sizeof(p), "%s/bigfile", mnt);
	hw_note(s, anyk_sys_truncate(p, 200000));
	snprintf(p, sizeof(p), "%s/ndir", mnt);
	hw_note(s, anyk_sys_mkdir(p, 0755));
	snprintf(p, sizeof(p), "%s/newfile", mnt);
	snprintf(q, sizeof(q), "%s/dir/moved", mnt);
	hw_note(s, anyk_sys_rename(p, q));
	snprintf(p, sizeof(p), "%s/dir/sub", mnt);
	snprintf(q, sizeof(q), "%s/ndir/sub", mnt);
	hw_note(s, anyk_sys_rename(p, q));
	snprintf(p, sizeof(p), "%s/ndir/sub", mnt);
	snprintf(q, sizeof(q), "%s/file", mnt);
	hw_note(s, anyk_sys_renameat2(ANYK_AT_FDCWD, p, ANYK_AT_FDCWD, q, ANYK_RENAME_EXCHANGE));
	snprintf(p, sizeof(p), "%s/dir/moved", mnt);
	snprintf(q, sizeof(q), "%s/ndir/moved", mnt);
	hw_note(s, anyk_sys_renameat2(ANYK_AT_FDCWD, p, ANYK_AT_FDCWD, q, ANYK_RENAME_WHITEOUT));
	snprintf(p, sizeof(p), "%s/ndir/sub", mnt);
	snprintf(q, sizeof(q), "%s/file", mnt);
	hw_note(s, anyk_sys_renameat2(ANYK_AT_FDCWD, q, ANYK_AT_FDCWD, p, ANYK_RENAME_EXCHANGE));
	snprintf(p, sizeof(p), "%s/short", mnt);
	hw_note(s, anyk_sys_unlink(p));
	snprintf(p, sizeof(p), "%s/nlink", mnt);
	hw_note(s, anyk_sys_symlink("a-target-long-enough-to-need-no-inline-storage-"
				    "a-target-long-enough-to-need-no-inline-storage", p));
	snprintf(p, sizeof(p), "%s/file", mnt);
	hw_note(s, anyk_sys_setxattr(p, "user.new", "value", 5, 0));
	hw_note(s, anyk_sys_removexattr(p, "user.small"));
	for (int i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/big/entry-%04d-with-a-long-name", mnt, i * 7);
		hw_note(s, anyk_sys_unlink(p));
		snprintf(p, sizeof(p), "%s/big/added-%d", mnt, i);
		fd = anyk_sys_open(p, ANYK_O_CREAT | ANYK_O_WRONLY, 0600);
		hw_note(s, fd);
		if (fd >= 0)
			anyk_sys_close(fd);
	}
	snprintf(p, sizeof(p), "%s/sparse", mnt);
	hw_note(s, anyk_sys_unlink(p));
	snprintf(p, sizeof(p), "%s/lost+found", mnt);
	hw_note(s, anyk_sys_rmdir(p));
	hw_note(s, anyk_sys_sync());
}

#endif
