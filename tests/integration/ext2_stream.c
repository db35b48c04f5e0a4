/*
 * anyk_sys_pread_host / anyk_sys_pwrite_host on ext2/3/4 and tmpfs: file
 * data to and from a host pipe and a host file (spliced by the host, or
 * copied by the kernel where the host cannot splice), checked byte for
 * byte against what pread/pwrite see: holes, unwritten extents, partial
 * blocks, a fragmented file whose pieces overflow a small nonblocking
 * pipe, a stream that ends early, the error cases, and e2fsck afterwards.
 */
#include "tests/integration/ext2_img.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include "anyk/anyk.h"

#define BIG (3 * 1024 * 1024 + 777)

static unsigned char *want, *got;

/* T_EQ with a formatted description. */
#define EQ(a, b, ...)                                                          \
	do {                                                                   \
		char eq_what_[160];                                            \
		snprintf(eq_what_, sizeof(eq_what_), __VA_ARGS__);             \
		T_EQ(a, b, eq_what_);                                          \
	} while (0)

static void
fill(unsigned char *p, size_t n, uint64_t seed)
{
	rng = seed;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rnd();
}

struct drain {
	int fd;
	size_t have;
};

static void *
drain_main(void *arg)
{
	struct drain *d = arg;

	for (;;) {
		ssize_t k = read(d->fd, got + d->have, BIG + 65536 - d->have);

		if (k <= 0)
			break;
		d->have += (size_t)k;
	}
	return NULL;
}

/* Read n bytes of fd at off through a pipe (a thread drains it as the
 * kernel fills it: n may exceed the pipe); compare with want + off. */
static void
via_pipe(const char *what, int fd, size_t n, anyk_off_t off, size_t expect)
{
	struct drain d = { -1, 0 };
	pthread_t t;
	int p[2];
	anyk_ssize_t r;

	if (pipe(p) != 0) {
		T_OK(0, "%s: pipe", what);
		return;
	}
	d.fd = p[0];
	memset(got, 0, expect);
	pthread_create(&t, NULL, drain_main, &d);
	r = anyk_sys_pread_host(fd, p[1], n, off);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	EQ(r, expect, "%s: pread_host of %zu at %lld", what, n, (long long)off);
	EQ(d.have, expect, "%s: bytes through the pipe", what);
	T_OK(d.have == expect && memcmp(got, want + off, expect) == 0, "%s: contents", what);
}

static void
test_fs(const char *what, const char *path)
{
	char name[300];
	int fd, hf, p[2];
	anyk_ssize_t r;

	snprintf(name, sizeof(name), "%s/f", path);
	fd = anyk_sys_open(name, ANYK_O_RDWR | ANYK_O_CREAT | ANYK_O_TRUNC, 0644);
	T_OK(fd >= 0, "%s: create", what);
	if (fd < 0)
		return;
	/* Data, a hole of 1 MiB, data ending inside a block. */
	fill(want, BIG, 0x5eed);
	memset(want + 1000000, 0, 1048576);
	EQ(anyk_sys_pwrite(fd, want, 1000000, 0), 1000000, "%s: pwrite head", what);
	EQ(anyk_sys_pwrite(fd, want + 2048576, BIG - 2048576, 2048576), BIG - 2048576, "%s: pwrite tail", what);
	via_pipe(what, fd, BIG, 0, BIG);
	via_pipe(what, fd, 5000, 999000, 5000);           /* across data and hole */
	via_pipe(what, fd, 100000, 123, 100000);          /* unaligned start */
	via_pipe(what, fd, 200000, BIG - 1000, 1000);     /* the end of the file */
	via_pipe(what, fd, 10, BIG + 5, 0);               /* past it */

	/* Into a host file: sendfile, or the kernel's copy. */
	snprintf(name, sizeof(name), "%s/host.out", top);
	hf = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	r = anyk_sys_pread_host(fd, hf, BIG, 0);
	EQ(r, BIG, "%s: pread_host into a host file", what);
	memset(got, 0, BIG);
	T_OK(pread(hf, got, BIG, 0) == BIG && memcmp(got, want, BIG) == 0, "%s: host file contents", what);

	/* From a host file (no splice from a regular file into a file: the
	 * kernel copies), over the middle, unaligned. */
	fill(want + 4097, 700000, 0xfeed);
	T_OK(pwrite(hf, want + 4097, 700000, 0) == 700000 && lseek(hf, 0, SEEK_SET) == 0, "%s: host source", what);
	r = anyk_sys_pwrite_host(fd, hf, 700000, 4097);
	EQ(r, 700000, "%s: pwrite_host from a host file", what);
	close(hf);
	memset(got, 0, BIG);
	EQ(anyk_sys_pread(fd, got, BIG, 0), BIG, "%s: pread after", what);
	T_OK(memcmp(got, want, BIG) == 0, "%s: file = expected after pwrite_host (file)", what);

	/* From a pipe, block-aligned and not, into the hole and past the end. */
	T_OK(pipe(p) == 0 && fcntl(p[0], F_SETPIPE_SZ, 1 << 20) >= (1 << 20), "%s: pipe of 1 MiB", what);
	fill(want + 1048576, 600000, 0xbeef);
	EQ(write(p[1], want + 1048576, 600000), 600000, "%s: fill pipe", what);
	EQ(anyk_sys_pwrite_host(fd, p[0], 600000, 1048576), 600000, "%s: pwrite_host from a pipe", what);
	fill(want + BIG - 100, 300, 0xcafe);
	EQ(write(p[1], want + BIG - 100, 300), 300, "%s: fill pipe", what);
	EQ(anyk_sys_pwrite_host(fd, p[0], 300, BIG - 100), 300, "%s: pwrite_host extends", what);
	memset(got, 0, BIG + 200);
	EQ(anyk_sys_pread(fd, got, BIG + 1000, 0), BIG + 200, "%s: pread after", what);
	T_OK(memcmp(got, want, BIG + 200) == 0, "%s: file = expected after pwrite_host (pipe)", what);

	/* A stream that ends early: what came is written, then EPIPE. */
	EQ(write(p[1], "abcdefgh", 8), 8, "%s: 8 bytes", what);
	close(p[1]);
	errno = 0;
	r = anyk_sys_pwrite_host(fd, p[0], 9000, 0);
	T_OK(r == 8 || (r < 0 && errno == EPIPE), "%s: short stream: 8 or EPIPE (got %lld, errno %d)", what,
	     (long long)r, errno);
	errno = 0;
	T_OK(anyk_sys_pwrite_host(fd, p[0], 4096, 0) < 0 && errno == EPIPE, "%s: ended stream: EPIPE", what);
	close(p[0]);
	memcpy(want, "abcdefgh", 8);
	T_OK(anyk_sys_pread(fd, got, 8, 0) == 8 && memcmp(got, "abcdefgh", 8) == 0, "%s: the 8 bytes landed", what);

	/* Errors. */
	errno = 0;
	T_OK(anyk_sys_pread_host(fd, -1, 10, 0) < 0 && errno == EBADF, "%s: hostfd -1: EBADF", what);
	errno = 0;
	T_OK(anyk_sys_pread_host(fd, 1, 10, -1) < 0 && errno == EINVAL, "%s: negative offset: EINVAL", what);
	errno = 0;
	T_OK(anyk_sys_pread_host(12345, 1, 10, 0) < 0 && errno == EBADF, "%s: bad fd: EBADF", what);
	int dfd = anyk_sys_open(path, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	errno = 0;
	T_OK(anyk_sys_pread_host(dfd, 1, 10, 0) < 0 && errno == EISDIR, "%s: a directory: EISDIR", what);
	anyk_sys_close(dfd);
	int rfd = anyk_sys_open("/dev/null", ANYK_O_RDONLY, 0);
	if (rfd >= 0) {
		errno = 0;
		T_OK(anyk_sys_pread_host(rfd, 1, 10, 0) < 0 && errno == EINVAL, "%s: not a regular file: EINVAL", what);
		anyk_sys_close(rfd);
	}
	snprintf(name, sizeof(name), "%s/f", path);
	int ro = anyk_sys_open(name, ANYK_O_RDONLY, 0);
	errno = 0;
	T_OK(anyk_sys_pwrite_host(ro, 0, 10, 0) < 0 && errno == EBADF, "%s: pwrite_host on read-only: EBADF", what);
	anyk_sys_close(ro);
	T_OK(anyk_sys_close(fd) == 0, "%s: close", what);
}

/*
 * A file of many small extents (two files grown 1 KiB at a time in
 * turns, on a 1 KiB-block file system), read whole into a nonblocking
 * pipe of 64 KiB: the pipe fills long before the data ends, and the call
 * returns what fit, as the FUSE server expects.
 */
static void
test_fragmented(void)
{
	int a, b, p[2];
	size_t n = 256 * 1024;
	anyk_ssize_t r;

	a = anyk_sys_open("/mnt/a", ANYK_O_RDWR | ANYK_O_CREAT, 0644);
	b = anyk_sys_open("/mnt/b", ANYK_O_RDWR | ANYK_O_CREAT, 0644);
	fill(want, n, 0xabc);
	for (size_t off = 0; off < n; off += 1024) {
		if (anyk_sys_pwrite(a, want + off, 1024, (anyk_off_t)off) != 1024 ||
		    anyk_sys_pwrite(b, want + off, 1024, (anyk_off_t)off) != 1024) {
			T_OK(0, "fragmented: pwrite at %zu", off);
			break;
		}
	}
	T_OK(pipe2(p, O_NONBLOCK) == 0, "fragmented: nonblocking pipe");
	fcntl(p[0], F_SETPIPE_SZ, 65536);
	r = anyk_sys_pread_host(a, p[1], n, 0);
	T_OK(r > 0 && (size_t)r < n, "fragmented: a full pipe ends the call short (%lld of %zu)", (long long)r, n);
	if (r > 0) {
		ssize_t k = read(p[0], got, n);

		T_OK(k == r && memcmp(got, want, (size_t)r) == 0, "fragmented: what came is right");
		/* The rest, after the pipe was emptied. */
		size_t have = (size_t)r;
		int rounds = 0;

		while (have < n && rounds++ < 1000) {
			r = anyk_sys_pread_host(a, p[1], n - have, (anyk_off_t)have);
			if (r <= 0)
				break;
			k = read(p[0], got + have, n);
			if (k != r)
				break;
			have += (size_t)r;
		}
		T_OK(have == n && memcmp(got, want, n) == 0, "fragmented: whole file in %d more calls", rounds);
	}
	close(p[0]);
	close(p[1]);
	anyk_sys_close(a);
	anyk_sys_close(b);
}

static void
test_ext(const char *type, const char *opts)
{
	char what[64];

	snprintf(what, sizeof(what), "%s %s", type, opts);
	if (!img_mkfs(type, opts, "64M")) {
		T_OK(0, "%s: mke2fs", what);
		return;
	}
	T_OK(anyk_disk_attach("/dev/sd0", img, 0) == 0, "%s: attach", what);
	if (anyk_sys_mount("/dev/sd0", "/mnt", type, 0, NULL) != 0) {
		T_OK(0, "%s: mount", what);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	test_fs(what, "/mnt");
	if (strstr(opts, "1024") != NULL)
		test_fragmented();
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	anyk_disk_detach("/dev/sd0");
	img_fsck_clean(what);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!img_setup("anyk-stream"))
		return t_done();
	want = calloc(1, BIG + 65536);
	got = calloc(1, BIG + 65536);
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	test_ext("ext4", "-b 4096");
	test_ext("ext4", "-O ^has_journal -b 1024");
	test_ext("ext2", "-b 1024");
	test_ext("ext3", "-b 4096");
	T_OK(anyk_sys_mkdir("/tmp", 0755) == 0, "mkdir /tmp");
	test_fs("tmpfs", "/tmp");
	T_OK(anyk_fini() == 0, "anyk_fini");
	free(want);
	free(got);
	img_cleanup();
	return t_done();
}
