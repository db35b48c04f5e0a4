/*
 * The VFS core through the system calls: path lookup edge cases, the
 * bounded vnode cache (eviction and revival), mount/unmount (EBUSY and
 * forced), descriptor table growth to ANYK_OPEN_MAX, getdents resumption,
 * and a few threads renaming and stat-ing at once (for TSan).
 */
#include "../harness.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include <anyk/anyk.h>

#define CHECK_ERR(call, want, what)                                                   \
	do {                                                                          \
		errno = 0;                                                            \
		long r_ = (long)(call);                                               \
		T_OK(r_ == -1 && errno == (want), "%s (got %ld errno %d, want errno %d)", \
		     what, r_, errno, want);                                          \
	} while (0)

static int mkfile(const char *path, const char *data)
{
	int fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_WRONLY | ANYK_O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	if (data != NULL)
		anyk_sys_write(fd, data, strlen(data));
	return anyk_sys_close(fd);
}

static uint64_t kmem_of(const char *name)
{
	struct anyk_memstat_entry e[128];
	int i, n = anyk_memstats(e, 128);

	for (i = 0; i < n && i < 128; i++)
		if (strcmp(e[i].name, name) == 0)
			return e[i].bytes;
	return 0;
}

static void test_namei(void)
{
	struct anyk_stat st, st2;
	char longname[300], *longpath;
	char buf[256];
	int i;

	T_EQ(anyk_sys_mkdir("/n", 0755), 0, "mkdir /n");
	T_EQ(anyk_sys_mkdir("/n/a", 0755), 0, "mkdir /n/a");
	T_EQ(anyk_sys_mkdir("/n/a/b", 0755), 0, "mkdir /n/a/b");
	T_EQ(mkfile("/n/a/b/f", "hello"), 0, "create /n/a/b/f");
	T_EQ(anyk_sys_stat("//n///a/./b/../b/f", &st), 0, "repeated slashes, . and ..");
	T_EQ(st.st_size, 5, "found the file");
	T_EQ(anyk_sys_stat("/..", &st), 0, "stat /..");
	T_EQ(anyk_sys_stat("/", &st2), 0, "stat /");
	T_EQ(st.st_ino, st2.st_ino, "/.. is /");
	CHECK_ERR(anyk_sys_stat("/n/a/b/f/", &st), ENOTDIR, "trailing slash on a file");
	CHECK_ERR(anyk_sys_stat("/n/a/b/f/x", &st), ENOTDIR, "file in the middle");
	CHECK_ERR(anyk_sys_stat("/n/nope/x", &st), ENOENT, "missing in the middle");
	CHECK_ERR(anyk_sys_stat("", &st), ENOENT, "empty path");
	CHECK_ERR(anyk_sys_stat(NULL, &st), EFAULT, "NULL path");
	T_EQ(anyk_sys_stat("/n/a/", &st), 0, "trailing slash on a directory");

	memset(longname, 'x', sizeof(longname));
	longname[0] = '/';
	longname[257] = '\0';
	CHECK_ERR(anyk_sys_stat(longname, &st), ENAMETOOLONG, "component of 256 bytes");
	longname[256] = '\0';
	CHECK_ERR(anyk_sys_stat(longname, &st), ENOENT, "component of 255 bytes is fine");
	longpath = malloc(ANYK_PATH_MAX + 1);
	for (i = 0; i < ANYK_PATH_MAX; i += 2) {
		longpath[i] = '/';
		longpath[i + 1] = '.';
	}
	longpath[ANYK_PATH_MAX] = '\0';
	CHECK_ERR(anyk_sys_stat(longpath, &st), ENAMETOOLONG, "path of PATH_MAX bytes");
	longpath[ANYK_PATH_MAX - 1] = '\0';
	T_EQ(anyk_sys_stat(longpath, &st), 0, "path of PATH_MAX-1 bytes");
	free(longpath);

	/* Symlinks: middle, end, loops, the limit. */
	T_EQ(anyk_sys_symlink("a/b", "/n/lb"), 0, "symlink lb -> a/b");
	T_EQ(anyk_sys_stat("/n/lb/f", &st), 0, "symlink in the middle");
	T_EQ(anyk_sys_stat("/n/lb", &st), 0, "stat follows");
	T_OK(ANYK_S_ISDIR(st.st_mode), "to a directory");
	T_EQ(anyk_sys_lstat("/n/lb", &st), 0, "lstat does not");
	T_OK(ANYK_S_ISLNK(st.st_mode), "a symlink");
	T_EQ(anyk_sys_symlink("/n/a/b/f", "/n/abs"), 0, "absolute symlink");
	T_EQ(anyk_sys_stat("/n/abs", &st), 0, "absolute target");
	T_EQ(st.st_size, 5, "reaches the file");
	CHECK_ERR(anyk_sys_stat("/n/abs/", &st), ENOTDIR, "symlink to a file with a slash");
	T_EQ(anyk_sys_symlink("loop2", "/n/loop1"), 0, "loop1");
	T_EQ(anyk_sys_symlink("loop1", "/n/loop2"), 0, "loop2");
	CHECK_ERR(anyk_sys_stat("/n/loop1", &st), ELOOP, "symlink loop");
	CHECK_ERR(anyk_sys_open("/n/abs", ANYK_O_RDONLY | ANYK_O_NOFOLLOW, 0), ELOOP, "O_NOFOLLOW");
	T_EQ(anyk_sys_symlink("", "/n/empty"), -1, "empty target refused");
	/* A chain of ANYK_SYMLOOP_MAX links resolves; one more does not. */
	T_EQ(anyk_sys_symlink("a", "/n/c0"), 0, "c0");
	for (i = 1; i <= ANYK_SYMLOOP_MAX; i++) {
		char name[32], target[32];
		snprintf(name, sizeof(name), "/n/c%d", i);
		snprintf(target, sizeof(target), "c%d", i - 1);
		anyk_sys_symlink(target, name);
	}
	snprintf(buf, sizeof(buf), "/n/c%d", ANYK_SYMLOOP_MAX - 1);
	T_EQ(anyk_sys_stat(buf, &st), 0, "SYMLOOP_MAX links");
	snprintf(buf, sizeof(buf), "/n/c%d", ANYK_SYMLOOP_MAX);
	CHECK_ERR(anyk_sys_stat(buf, &st), ELOOP, "SYMLOOP_MAX+1 links");

	/* Relative lookups and getcwd. */
	T_EQ(anyk_sys_chdir("/n/a"), 0, "chdir");
	T_EQ(anyk_sys_stat("b/f", &st), 0, "relative path");
	T_OK(anyk_sys_getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, "/n/a") == 0, "getcwd /n/a");
	errno = 0;
	T_OK(anyk_sys_getcwd(buf, 3) == NULL && errno == ERANGE, "getcwd small buffer: ERANGE");
	T_EQ(anyk_sys_chdir("/"), 0, "chdir /");
}

static void test_mount(void)
{
	struct anyk_stat st, top, sub;
	char buf[64], cwd[256];
	int fd;

	T_EQ(anyk_sys_mkdir("/m", 0755), 0, "mkdir /m");
	T_EQ(anyk_sys_mount("tmpfs", "/m", "tmpfs", 0, NULL), 0, "mount tmpfs on /m");
	T_EQ(anyk_sys_mkdir("/m/d", 0755), 0, "mkdir in the mount");
	T_EQ(anyk_sys_stat("/m/d/..", &sub), 0, "stat /m/d/..");
	T_EQ(anyk_sys_stat("/m", &top), 0, "stat /m");
	T_EQ(sub.st_ino, top.st_ino, "crossed downward: /m is the mount's root");
	T_EQ(anyk_sys_stat("/", &top), 0, "stat /");
	T_EQ(anyk_sys_stat("/m/..", &st), 0, "stat /m/..");
	T_EQ(st.st_ino, top.st_ino, ".. at a mount root goes to the covered directory's parent");
	T_EQ(st.st_dev, top.st_dev, "and to its file system");
	T_EQ(anyk_sys_chdir("/m/d"), 0, "chdir into the mount");
	T_OK(anyk_sys_getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/m/d") == 0,
	     "getcwd across a mount (%s)", cwd);
	CHECK_ERR(anyk_sys_unmount("/m", 0), EBUSY, "unmount with cwd inside: EBUSY");
	T_EQ(anyk_sys_chdir("/"), 0, "chdir /");
	CHECK_ERR(anyk_sys_rmdir("/m"), EBUSY, "rmdir of a mount point");
	CHECK_ERR(anyk_sys_rename("/m/d", "/n/d"), EXDEV, "rename across mounts");

	fd = anyk_sys_open("/m/f", ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	T_OK(fd >= 0, "open a file in the mount");
	T_EQ(anyk_sys_write(fd, "data", 4), 4, "write");
	CHECK_ERR(anyk_sys_unmount("/m", 0), EBUSY, "unmount with an open file: EBUSY");
	T_EQ(anyk_sys_close(fd), 0, "close");
	T_EQ(anyk_sys_unmount("/m", 0), 0, "unmount when idle");
	CHECK_ERR(anyk_sys_stat("/m/f", &st), ENOENT, "the mount's files are gone");
	CHECK_ERR(anyk_sys_unmount("/m", 0), EINVAL, "unmount of a plain directory");

	T_EQ(anyk_sys_mount("tmpfs", "/m", "tmpfs", 0, NULL), 0, "mount again");
	fd = anyk_sys_open("/m/g", ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	T_OK(fd >= 0, "open a file");
	T_EQ(anyk_sys_write(fd, "data", 4), 4, "write");
	T_EQ(anyk_sys_unmount("/m", ANYK_MNT_FORCE), 0, "forced unmount with an open file");
	T_EQ(anyk_sys_lseek(fd, 0, ANYK_SEEK_SET) >= 0 || errno == EIO, 1, "seek on a dead file");
	errno = 0;
	T_OK(anyk_sys_read(fd, buf, sizeof(buf)) == -1 && (errno == EBADF || errno == EIO),
	     "read of a dead file fails (errno %d)", errno);
	CHECK_ERR(anyk_sys_fstat(fd, &st), EIO, "fstat of a dead file");
	T_EQ(anyk_sys_close(fd), 0, "close of a dead file");
	T_EQ(anyk_sys_stat("/m", &st), 0, "the mount point is back");
	CHECK_ERR(anyk_sys_mount("tmpfs", "/m", "nosuchfs", 0, NULL), ENODEV, "unknown type");
	CHECK_ERR(anyk_sys_mount("tmpfs", "/n/a/b/f", "tmpfs", 0, NULL), ENOTDIR, "mount on a file");
}

static void test_vnode_cache(void)
{
	struct anyk_stat st;
	char path[64], buf[16];
	uint64_t vbytes;
	int i, fd, bad = 0;

	T_EQ(anyk_sys_mkdir("/v", 0755), 0, "mkdir /v");
	for (i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/v/f%d", i);
		snprintf(buf, sizeof(buf), "%d", i);
		if (mkfile(path, buf) != 0)
			bad++;
	}
	T_EQ(bad, 0, "create 500 files");
	for (i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/v/f%d", i);
		if (anyk_sys_stat(path, &st) != 0)
			bad++;
	}
	T_EQ(bad, 0, "stat them all");
	vbytes = kmem_of("vnode");
	/* ANYK_VNODES=32 (set below): the cache holds a few dozen, not 500. */
	T_OK(vbytes < 200 * 256, "unreferenced vnodes are evicted (%llu bytes)",
	     (unsigned long long)vbytes);
	for (i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/v/f%d", i);
		fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);
		memset(buf, 0, sizeof(buf));
		if (fd < 0 || anyk_sys_read(fd, buf, sizeof(buf) - 1) <= 0 || atoi(buf) != i)
			bad++;
		anyk_sys_close(fd);
	}
	T_EQ(bad, 0, "evicted vnodes are revived with their data");
	/* Unlinked while open: the data lives until the last close. */
	fd = anyk_sys_open("/v/f7", ANYK_O_RDONLY, 0);
	T_EQ(anyk_sys_unlink("/v/f7"), 0, "unlink an open file");
	memset(buf, 0, sizeof(buf));
	T_EQ(anyk_sys_read(fd, buf, sizeof(buf)), 1, "still readable");
	T_EQ(anyk_sys_fstat(fd, &st), 0, "fstat");
	T_EQ(st.st_nlink, 0, "nlink 0");
	T_EQ(anyk_sys_close(fd), 0, "last close");
}

static void test_fdtable(void)
{
	int fds[ANYK_OPEN_MAX + 8];
	int n = 0, i, fd, bad = 0;

	for (;;) {
		fd = anyk_sys_open("/", ANYK_O_RDONLY, 0);
		if (fd < 0)
			break;
		fds[n++] = fd;
		if (n > ANYK_OPEN_MAX)
			break;
	}
	T_OK(errno == EMFILE, "table full: EMFILE");
	T_OK(n <= ANYK_OPEN_MAX && fds[n - 1] == ANYK_OPEN_MAX - 1, "grew to ANYK_OPEN_MAX (%d)", n);
	CHECK_ERR(anyk_sys_dup(fds[0]), EMFILE, "dup when full");
	T_EQ(anyk_sys_close(fds[10]), 0, "close one");
	T_EQ(anyk_sys_dup(fds[0]), fds[10], "dup takes the lowest free");
	for (i = 0; i < n; i++)
		if (anyk_sys_close(fds[i]) != 0)
			bad++;
	T_EQ(bad, 0, "close them all");
	fd = anyk_sys_open("/", ANYK_O_RDONLY, 0);
	T_EQ(anyk_sys_dup2(fd, ANYK_OPEN_MAX - 1), ANYK_OPEN_MAX - 1, "dup2 to the last slot");
	CHECK_ERR(anyk_sys_dup2(fd, ANYK_OPEN_MAX), EBADF, "dup2 past the table");
	CHECK_ERR(anyk_sys_fcntl(fd, ANYK_F_DUPFD, ANYK_OPEN_MAX), EINVAL, "F_DUPFD past the table");
	T_EQ(anyk_sys_fcntl(fd, ANYK_F_DUPFD_CLOEXEC, 100), 100, "F_DUPFD_CLOEXEC");
	T_EQ(anyk_sys_fcntl(100, ANYK_F_GETFD, 0), ANYK_FD_CLOEXEC, "close-on-exec set");
	CHECK_ERR(anyk_sys_dup3(fd, fd, 0), EINVAL, "dup3 to itself");
	CHECK_ERR(anyk_sys_close(-1), EBADF, "close(-1)");
	anyk_sys_close(100);
	anyk_sys_close(ANYK_OPEN_MAX - 1);
	anyk_sys_close(fd);
}

static void test_getdents(void)
{
	char buf[4096], name[32], resume_name[300], tiny[16];
	int64_t resume_off = -1;
	int i, fd, seen = 0, total = 0;
	long n;

	T_EQ(anyk_sys_mkdir("/g", 0755), 0, "mkdir /g");
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "/g/entry%03d", i);
		mkfile(name, NULL);
	}
	fd = anyk_sys_open("/g", ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	T_OK(fd >= 0, "open dir");
	resume_name[0] = '\0';
	/* Small buffer: several calls; remember where the 20th entry ends. */
	while ((n = anyk_sys_getdents(fd, buf, 200)) > 0) {
		long pos = 0;
		while (pos < n) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + pos);
			T_OK(d->d_reclen % 8 == 0 || total < 0, "reclen aligned");
			if (seen == 20)
				snprintf(resume_name, sizeof(resume_name), "%s", d->d_name);
			if (seen == 19)
				resume_off = d->d_off;
			seen++;
			pos += d->d_reclen;
		}
		total += (int)n;
	}
	T_EQ(n, 0, "end of directory");
	T_EQ(seen, 102, "100 entries plus . and ..");
	T_EQ(anyk_sys_lseek(fd, resume_off, ANYK_SEEK_SET), resume_off, "lseek to a d_off");
	n = anyk_sys_getdents(fd, buf, sizeof(buf));
	T_OK(n > 0 && strcmp(((struct anyk_dirent *)buf)->d_name, resume_name) == 0,
	     "resumes at the next entry (%s)", resume_name);
	T_EQ(anyk_sys_lseek(fd, 0, ANYK_SEEK_SET), 0, "rewind");
	n = anyk_sys_getdents(fd, buf, sizeof(buf));
	T_OK(n > 0 && strcmp(((struct anyk_dirent *)buf)->d_name, ".") == 0, "starts again at .");
	T_EQ(anyk_sys_lseek(fd, 0, ANYK_SEEK_SET), 0, "rewind");
	CHECK_ERR(anyk_sys_getdents(fd, tiny, sizeof(tiny)), EINVAL, "buffer too small for one entry");
	CHECK_ERR(anyk_sys_read(fd, buf, 10), EISDIR, "read of a directory");
	anyk_sys_close(fd);
	fd = anyk_sys_open("/g/entry001", ANYK_O_RDONLY, 0);
	CHECK_ERR(anyk_sys_getdents(fd, buf, sizeof(buf)), ENOTDIR, "getdents of a file");
	anyk_sys_close(fd);
}

/* Threads creating, renaming, stat-ing and removing in shared directories. */
static void *hammer(void *arg)
{
	long id = (long)arg;
	char a[64], b[64];
	struct anyk_stat st;
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "/t/d%ld/f%d", id % 2, i % 7);
		snprintf(b, sizeof(b), "/t/d%ld/g%d", (id + 1) % 2, i % 5);
		mkfile(a, "x");
		anyk_sys_stat(a, &st);
		anyk_sys_rename(a, b);
		anyk_sys_stat("/t/d0/../d1/.", &st);
		if (i % 3 == 0)
			anyk_sys_unlink(b);
		if (i % 50 == 0) {
			anyk_sys_rename("/t/d0/sub", "/t/d1/sub");
			anyk_sys_rename("/t/d1/sub", "/t/d0/sub");
		}
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[4];
	long i;

	anyk_sys_mkdir("/t", 0755);
	anyk_sys_mkdir("/t/d0", 0755);
	anyk_sys_mkdir("/t/d1", 0755);
	anyk_sys_mkdir("/t/d0/sub", 0755);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_ERR(anyk_sys_rename("/t/d0", "/t/d0/sub/x"), EINVAL, "rename into own subtree");
	T_OK(1, "threads done");
}

int main(void)
{
	setenv("ANYK_VNODES", "32", 1);
	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	test_namei();
	test_mount();
	test_vnode_cache();
	test_fdtable();
	test_getdents();
	test_threads();
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
