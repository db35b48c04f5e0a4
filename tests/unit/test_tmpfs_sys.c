/*
 * tmpfs through the system calls: a tmpfs mounted with options on a
 * directory of the root, exercised with anyk_sys_* as a program would
 * (errors arrive in errno), then unmounted with its memory handed back.
 */
#include "../harness.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include <anyk/anyk.h>

static uint64_t
tmpfs_bytes(void)
{
	struct anyk_memstat_entry e[64];
	int i, n = anyk_memstats(e, 64);

	for (i = 0; i < n && i < 64; i++)
		if (strcmp(e[i].name, "tmpfs") == 0)
			return e[i].bytes;
	return 0;
}

static bool
ts_before(struct anyk_timespec a, struct anyk_timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Let the wall clock move, so timestamps can be told apart. */
static void
tick(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static int
count_dents(const char *path, int *dots)
{
	char buf[4096];
	int fd = anyk_sys_open(path, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	long n, off;
	int count = 0;

	*dots = 0;
	if (fd < 0)
		return -1;
	while ((n = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct anyk_dirent *de = (struct anyk_dirent *)(void *)(buf + off);
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				(*dots)++;
			else
				count++;
			off += de->d_reclen;
		}
	}
	anyk_sys_close(fd);
	return n < 0 ? -1 : count;
}

static void
test_files(void)
{
	struct anyk_stat st, st2, dst, dst2;
	char buf[64];
	int fd;

	T_EQ(anyk_sys_stat("/ts", &dst), 0, "stat mount root");
	tick();
	T_EQ(anyk_sys_stat("/ts", &dst), 0, "stat mount root");
	tick();
	fd = anyk_sys_open("/ts/a", ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	T_OK(fd >= 0, "create /ts/a");
	T_EQ(anyk_sys_stat("/ts", &dst2), 0, "stat mount root");
	T_OK(ts_before(dst.st_mtim, dst2.st_mtim), "create sets the parent's mtime");
	T_OK(ts_before(dst.st_ctim, dst2.st_ctim), "create sets the parent's ctime");
	T_EQ(anyk_sys_write(fd, "hello", 5), 5, "write");
	T_EQ(anyk_sys_fstat(fd, &st), 0, "fstat");
	T_EQ(st.st_size, 5, "size 5");
	T_EQ(st.st_blksize, 4096, "blksize 4096");
	T_EQ(st.st_blocks, 8, "one page = 8 sectors");
	T_EQ(st.st_nlink, 1, "nlink 1");
	anyk_sys_close(fd);
	tick();
	fd = anyk_sys_open("/ts/a", ANYK_O_WRONLY | ANYK_O_APPEND, 0);
	T_OK(fd >= 0, "open O_APPEND");
	anyk_sys_lseek(fd, 0, ANYK_SEEK_SET);
	T_EQ(anyk_sys_write(fd, " world", 6), 6, "append");
	T_EQ(anyk_sys_fstat(fd, &st2), 0, "fstat");
	T_EQ(st2.st_size, 11, "appended at the end");
	T_OK(ts_before(st.st_mtim, st2.st_mtim), "write sets mtime");
	anyk_sys_close(fd);
	T_EQ(anyk_sys_pread(fd = anyk_sys_open("/ts/a", ANYK_O_RDONLY, 0), buf, sizeof(buf), 0), 11,
	     "read back");
	T_OK(memcmp(buf, "hello world", 11) == 0, "content");
	anyk_sys_close(fd);

	T_EQ(anyk_sys_truncate("/ts/a", 3), 0, "truncate shrink");
	T_EQ(anyk_sys_truncate("/ts/a", 6), 0, "truncate grow");
	fd = anyk_sys_open("/ts/a", ANYK_O_RDONLY, 0);
	T_EQ(anyk_sys_read(fd, buf, sizeof(buf)), 6, "read after truncates");
	T_OK(memcmp(buf, "hel\0\0\0", 6) == 0, "grown tail reads zeros");
	anyk_sys_close(fd);

	T_EQ(anyk_sys_link("/ts/a", "/ts/b"), 0, "link");
	T_EQ(anyk_sys_stat("/ts/a", &st), 0, "stat");
	T_EQ(st.st_nlink, 2, "nlink 2");
	T_EQ(anyk_sys_stat("/ts/b", &st2), 0, "stat b");
	T_EQ(st.st_ino, st2.st_ino, "same inode");
	T_EQ(anyk_sys_unlink("/ts/a"), 0, "unlink a");
	T_EQ(anyk_sys_symlink("b", "/ts/l"), 0, "symlink");
	T_EQ(anyk_sys_readlink("/ts/l", buf, sizeof(buf)), 1, "readlink");
	T_EQ(anyk_sys_stat("/ts/l", &st), 0, "stat through symlink");
	T_EQ(st.st_ino, st2.st_ino, "symlink resolves");
	T_EQ(anyk_sys_unlink("/ts/l"), 0, "unlink symlink");
	T_EQ(anyk_sys_unlink("/ts/b"), 0, "unlink b");
}

static void
test_sparse(void)
{
	char buf[16];
	int fd = anyk_sys_open("/ts/sp", ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	struct anyk_stat st;

	T_OK(fd >= 0, "create sparse");
	T_EQ(anyk_sys_pwrite(fd, "data", 4, 512 * 1024), 4, "pwrite at 512 KiB");
	T_EQ(anyk_sys_lseek(fd, 0, ANYK_SEEK_DATA), 512 * 1024, "SEEK_DATA");
	T_EQ(anyk_sys_lseek(fd, 512 * 1024, ANYK_SEEK_HOLE), 512 * 1024 + 4, "SEEK_HOLE at EOF");
	T_EQ(anyk_sys_lseek(fd, 10, ANYK_SEEK_HOLE), 10, "SEEK_HOLE in a hole");
	errno = 0;
	T_EQ(anyk_sys_lseek(fd, 1 << 20, ANYK_SEEK_DATA), -1, "SEEK_DATA past EOF fails");
	T_EQ(errno, ENXIO, "ENXIO");
	T_EQ(anyk_sys_pread(fd, buf, 4, 100), 4, "read the hole");
	T_OK(memcmp(buf, "\0\0\0\0", 4) == 0, "zeros");
	T_EQ(anyk_sys_fstat(fd, &st), 0, "fstat");
	T_EQ(st.st_blocks, 8, "one page allocated");
	anyk_sys_close(fd);
	T_EQ(anyk_sys_unlink("/ts/sp"), 0, "unlink");
}

static void
test_dirs(void)
{
	struct anyk_stat st;
	char name[32];
	int i, dots;

	T_EQ(anyk_sys_mkdir("/ts/d", 0755), 0, "mkdir d");
	T_EQ(anyk_sys_mkdir("/ts/d/s1", 0755), 0, "mkdir d/s1");
	T_EQ(anyk_sys_mkdir("/ts/d/s2", 0755), 0, "mkdir d/s2");
	T_EQ(anyk_sys_stat("/ts/d", &st), 0, "stat d");
	T_EQ(st.st_nlink, 4, "nlink 2 + 2 subdirs");
	T_EQ(anyk_sys_close(anyk_sys_open("/ts/d/s2/f", ANYK_O_CREAT | ANYK_O_WRONLY, 0644)), 0, "create s2/f");
	errno = 0;
	T_EQ(anyk_sys_rename("/ts/d/s1", "/ts/d/s2"), -1, "rename over non-empty dir fails");
	T_EQ(errno, ENOTEMPTY, "ENOTEMPTY");
	errno = 0;
	T_EQ(anyk_sys_rmdir("/ts/d/s2"), -1, "rmdir non-empty fails");
	T_EQ(errno, ENOTEMPTY, "ENOTEMPTY");
	T_EQ(anyk_sys_mkdir("/ts/e", 0755), 0, "mkdir e");
	T_EQ(anyk_sys_rename("/ts/d/s2", "/ts/e/s2"), 0, "move dir to another parent");
	T_EQ(anyk_sys_stat("/ts/d", &st), 0, "stat d");
	T_EQ(st.st_nlink, 3, "d lost a subdir");
	T_EQ(anyk_sys_stat("/ts/e", &st), 0, "stat e");
	T_EQ(st.st_nlink, 3, "e gained one");
	T_EQ(anyk_sys_stat("/ts/e/s2/../s2/f", &st), 0, ".. of the moved dir is its new parent");
	T_EQ(anyk_sys_rename("/ts/d/s1", "/ts/e/s2/f"), -1, "dir over file fails (VFS)");

	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "/ts/d/n%03d", i);
		anyk_sys_close(anyk_sys_open(name, ANYK_O_CREAT | ANYK_O_WRONLY, 0644));
	}
	T_EQ(count_dents("/ts/d", &dots), 501, "getdents sees 500 files and s1");
	T_EQ(dots, 2, "and . and ..");
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "/ts/d/n%03d", i);
		anyk_sys_unlink(name);
	}
	T_EQ(count_dents("/ts/d", &dots), 1, "only s1 left");
	T_EQ(anyk_sys_unlink("/ts/e/s2/f"), 0, "unlink");
	T_EQ(anyk_sys_rmdir("/ts/e/s2"), 0, "rmdir");
	T_EQ(anyk_sys_rmdir("/ts/e"), 0, "rmdir e");
	T_EQ(anyk_sys_rmdir("/ts/d/s1"), 0, "rmdir s1");
	T_EQ(anyk_sys_rmdir("/ts/d"), 0, "rmdir d");
}

static void
test_enospc(void)
{
	char *buf = calloc(1, 2 << 20);
	struct anyk_statvfs sv;
	int fd = anyk_sys_open("/ts/full", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);

	T_OK(fd >= 0, "create full");
	T_EQ(anyk_sys_write(fd, buf, 2 << 20), 1 << 20, "write stops at size=1m");
	errno = 0;
	T_EQ(anyk_sys_write(fd, buf, 1), -1, "then fails");
	T_EQ(errno, ENOSPC, "ENOSPC");
	T_EQ(anyk_sys_statvfs("/ts", &sv), 0, "statvfs");
	T_EQ(sv.f_bfree, 0, "nothing free");
	T_EQ(anyk_sys_ftruncate(fd, 0), 0, "ftruncate 0");
	T_EQ(anyk_sys_statvfs("/ts", &sv), 0, "statvfs");
	T_EQ(sv.f_bfree, 256, "all free again");
	anyk_sys_close(fd);
	T_EQ(anyk_sys_unlink("/ts/full"), 0, "unlink");
	free(buf);
}

int
main(void)
{
	struct anyk_statvfs sv;
	uint64_t base;

	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	base = tmpfs_bytes();
	T_EQ(anyk_sys_mkdir("/ts", 0755), 0, "mkdir /ts");
	T_EQ(anyk_sys_mount("tmpfs", "/ts", "tmpfs", 0, "size=1m,mode=0755"), 0, "mount tmpfs size=1m");
	T_EQ(anyk_sys_statvfs("/ts", &sv), 0, "statvfs");
	T_OK(strcmp(sv.f_fstypename, "tmpfs") == 0, "fstypename tmpfs");
	T_EQ(sv.f_bsize, 4096, "f_bsize");
	T_EQ(sv.f_blocks, 256, "f_blocks");
	test_files();
	test_sparse();
	test_dirs();
	test_enospc();
	/* Something left behind for unmount to free. */
	anyk_sys_mkdir("/ts/left", 0755);
	anyk_sys_close(anyk_sys_open("/ts/left/f", ANYK_O_CREAT | ANYK_O_WRONLY, 0644));
	T_EQ(anyk_sys_unmount("/ts", 0), 0, "unmount");
	T_EQ(anyk_sys_rmdir("/ts"), 0, "rmdir /ts");
	T_EQ(tmpfs_bytes(), base, "tmpfs memory back to baseline");
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
