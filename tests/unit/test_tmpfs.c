/*
 * tmpfs through the vnode interface: every case here takes the vnode locks
 * the way the VFS does (vfs/vfs.h) and calls VOP_* directly, so tmpfs is
 * tested on its own terms before and beside the system calls.
 */
#include "../harness.h"

#include <pthread.h>
#include <time.h>

#include <anyk/anyk.h>

#include "kern/kernel.h"
#include "vfs/vfs.h"
#include "fs/tmpfs/tmpfs.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

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

/* --- helpers that lock as the VFS does ---------------------------------------- */

static int
mk(struct vnode *dvp, const char *name, enum vtype type, anyk_mode_t mode, struct vnode **vpp)
{
	struct vattr va;
	struct vnode *vp = NULL;
	int error;

	vattr_null(&va);
	va.va_type = type;
	va.va_mode = mode;
	va.va_uid = 0;
	va.va_gid = 0;
	va.va_rdev = 0;
	vn_lock(dvp, RW_WRITER);
	if (type == VDIR)
		error = VOP_MKDIR(dvp, name, strlen(name), &va, &vp);
	else if (type == VREG)
		error = VOP_CREATE(dvp, name, strlen(name), &va, &vp);
	else
		error = VOP_MKNOD(dvp, name, strlen(name), &va, &vp);
	vn_unlock(dvp);
	if (error == 0) {
		if (vpp != NULL)
			*vpp = vp;
		else
			vrele(vp);
	}
	return error;
}

static int
lookup(struct vnode *dvp, const char *name, struct vnode **vpp)
{
	int error;

	vn_lock(dvp, RW_READER);
	error = VOP_LOOKUP(dvp, name, strlen(name), vpp);
	vn_unlock(dvp);
	return error;
}

static int
unlink_name(struct vnode *dvp, const char *name, bool dir)
{
	struct vnode *vp;
	int error;

	error = lookup(dvp, name, &vp);
	if (error)
		return error;
	vn_lock(dvp, RW_WRITER);
	vn_lock(vp, RW_WRITER);
	if (dir)
		error = VOP_RMDIR(dvp, vp, name, strlen(name));
	else
		error = VOP_REMOVE(dvp, vp, name, strlen(name));
	vn_unlock(vp);
	vn_unlock(dvp);
	vrele(vp);
	return error;
}

static int
getattr(struct vnode *vp, struct vattr *va)
{
	int error;

	vn_lock(vp, RW_READER);
	error = VOP_GETATTR(vp, va);
	vn_unlock(vp);
	return error;
}

static long
pwrite_vp(struct vnode *vp, const void *buf, size_t len, anyk_off_t off, int ioflag, int *errp)
{
	struct anyk_iovec iov;
	struct uio uio;

	uio_init_kernel(&uio, &iov, (void *)buf, len, off, UIO_WRITE);
	vn_lock(vp, RW_WRITER);
	*errp = VOP_WRITE(vp, &uio, ioflag);
	vn_unlock(vp);
	return (long)(len - uio.uio_resid);
}

static long
pread_vp(struct vnode *vp, void *buf, size_t len, anyk_off_t off, int *errp)
{
	struct anyk_iovec iov;
	struct uio uio;

	uio_init_kernel(&uio, &iov, buf, len, off, UIO_READ);
	vn_lock(vp, RW_READER);
	*errp = VOP_READ(vp, &uio, 0);
	vn_unlock(vp);
	return (long)(len - uio.uio_resid);
}

static int
truncate_vp(struct vnode *vp, anyk_off_t size)
{
	struct vattr va;
	int error;

	vattr_null(&va);
	va.va_mask = VA_SIZE;
	va.va_size = size;
	vn_lock(vp, RW_WRITER);
	error = VOP_SETATTR(vp, &va);
	vn_unlock(vp);
	return error;
}

static int
seek_vp(struct vnode *vp, int whence, anyk_off_t *off)
{
	int error;

	vn_lock(vp, RW_READER);
	error = VOP_SEEK(vp, whence, off);
	vn_unlock(vp);
	return error;
}

/* Rename with the locks the VFS takes (the callers here pass directories
 * that are not ancestors of each other, so address order is right). */
static int
rename_names(struct vnode *fdvp, const char *fname, struct vnode *tdvp, const char *tname)
{
	struct vnode *fvp, *tvp = NULL, *locks[4];
	int error, i, n = 0;

	error = lookup(fdvp, fname, &fvp);
	if (error)
		return error;
	if (lookup(tdvp, tname, &tvp) != 0)
		tvp = NULL;
	mutex_enter(&fdvp->v_mount->mnt_renamelock);
	if (fdvp == tdvp) {
		locks[n++] = fdvp;
	} else {
		locks[n++] = (uintptr_t)fdvp < (uintptr_t)tdvp ? fdvp : tdvp;
		locks[n++] = (uintptr_t)fdvp < (uintptr_t)tdvp ? tdvp : fdvp;
	}
	if (tvp == NULL || fvp == tvp) {
		locks[n++] = fvp;
	} else {
		locks[n++] = (uintptr_t)fvp < (uintptr_t)tvp ? fvp : tvp;
		locks[n++] = (uintptr_t)fvp < (uintptr_t)tvp ? tvp : fvp;
	}
	for (i = 0; i < n; i++)
		vn_lock(locks[i], RW_WRITER);
	error = VOP_RENAME(fdvp, fvp, fname, strlen(fname), tdvp, fvp == tvp ? NULL : tvp,
			   tname, strlen(tname), 0, NULL);
	for (i = n - 1; i >= 0; i--)
		vn_unlock(locks[i]);
	mutex_exit(&fdvp->v_mount->mnt_renamelock);
	vrele(fvp);
	if (tvp != NULL)
		vrele(tvp);
	return error;
}

/* Mount a fresh tmpfs with options on a new directory of the root. */
static struct mount *
mount_tmpfs(const char *dirname, const char *options, struct vnode **rootp)
{
	struct vnode *root = vfs_rootvnode(), *dir;
	struct mount *mp;
	char path[64];
	int error;

	error = mk(root, dirname, VDIR, 0755, &dir);
	vrele(root);
	if (error)
		return NULL;
	snprintf(path, sizeof(path), "/%s", dirname);
	error = vfs_mount(dir, "tmpfs", "tmpfs", 0, options, path);
	if (error) {
		vrele(dir);
		return NULL;
	}
	mp = dir->v_mountedhere;
	*rootp = mp->mnt_root;
	vref(*rootp);
	return mp;
}

static void
umount_tmpfs(struct mount *mp, struct vnode *mroot, const char *dirname)
{
	struct vnode *root = vfs_rootvnode();

	vrele(mroot);
	T_EQ(vfs_unmount(mp, 0), 0, "unmount");
	T_EQ(unlink_name(root, dirname, true), 0, "rmdir mount point");
	vrele(root);
}

/* --- readdir collection ---------------------------------------------------------- */

struct rdctx {
	int max;        /* entries per call, like a buffer */
	int n;
	int64_t cookie; /* where to resume */
	char names[64][ANYK_NAME_MAX + 1];
	uint64_t inos[64];
	uint8_t types[64];
};

static int
rd_fill(void *ctx, const char *name, size_t namelen, uint64_t ino, uint8_t dtype, int64_t next)
{
	struct rdctx *c = ctx;

	if (c->n >= c->max)
		return 1;
	memcpy(c->names[c->n], name, namelen);
	c->names[c->n][namelen] = '\0';
	c->inos[c->n] = ino;
	c->types[c->n] = dtype;
	c->n++;
	c->cookie = next;
	return 0;
}

static int
readdir_some(struct vnode *dvp, struct rdctx *c, int max)
{
	int error;

	c->max = max > 64 ? 64 : max;
	c->n = 0;
	vn_lock(dvp, RW_READER);
	error = VOP_READDIR(dvp, c->cookie, rd_fill, c);
	vn_unlock(dvp);
	return error;
}

/* --- tests --------------------------------------------------------------------- */

static void
test_basic(struct vnode *root)
{
	struct vnode *d, *f, *vp;
	struct vattr va, dva, dva2;
	char buf[32];
	long n;
	int err;

	T_EQ(mk(root, "basic", VDIR, 0755, &d), 0, "mkdir basic");
	T_EQ(getattr(d, &va), 0, "getattr dir");
	T_EQ(va.va_type, VDIR, "dir type");
	T_EQ(va.va_nlink, 2, "new dir nlink 2");
	T_EQ(va.va_mode, 0755, "dir mode");
	T_EQ(va.va_blksize, 4096, "blksize");
	T_EQ(getattr(d, &dva), 0, "getattr dir again");
	T_EQ(mk(d, "f", VREG, 0644, &f), 0, "create f");
	T_EQ(mk(d, "f", VREG, 0644, NULL), EEXIST, "create existing: EEXIST");
	T_EQ(getattr(d, &dva2), 0, "getattr dir after create");
	T_OK(dva2.va_mtime.tv_sec > dva.va_mtime.tv_sec ||
		     (dva2.va_mtime.tv_sec == dva.va_mtime.tv_sec && dva2.va_mtime.tv_nsec >= dva.va_mtime.tv_nsec),
	     "create moves parent mtime forward");
	T_EQ(getattr(f, &va), 0, "getattr file");
	T_EQ(va.va_type, VREG, "file type");
	T_EQ(va.va_nlink, 1, "file nlink");
	T_EQ(va.va_size, 0, "file size 0");
	T_OK(va.va_btime.tv_sec != 0, "btime set");
	T_EQ(va.va_fsid, root->v_mount->mnt_fsid, "fsid is the mount's");
	n = pwrite_vp(f, "hello", 5, 0, 0, &err);
	T_OK(n == 5 && err == 0, "write 5 bytes");
	n = pwrite_vp(f, "!!", 2, 0, IO_APPEND, &err);
	T_OK(n == 2 && err == 0, "append");
	memset(buf, 0, sizeof(buf));
	n = pread_vp(f, buf, sizeof(buf), 0, &err);
	T_OK(n == 7 && memcmp(buf, "hello!!", 7) == 0, "read back with append at end");
	n = pread_vp(f, buf, sizeof(buf), 100, &err);
	T_OK(n == 0 && err == 0, "read past end gives 0");

	T_EQ(lookup(d, "f", &vp), 0, "lookup f");
	T_OK(vp == f, "lookup gives the same vnode");
	vrele(vp);
	T_EQ(lookup(d, "nope", &vp), ENOENT, "lookup missing: ENOENT");
	T_EQ(lookup(d, ".", &vp), 0, "lookup .");
	T_OK(vp == d, ". is the directory");
	vrele(vp);
	T_EQ(lookup(d, "..", &vp), 0, "lookup ..");
	T_OK(vp == root, ".. is the parent");
	vrele(vp);

	/* Hard links. */
	vn_lock(d, RW_WRITER);
	vn_lock(f, RW_WRITER);
	T_EQ(VOP_LINK(d, f, "g", 1), 0, "link g");
	T_EQ(VOP_LINK(d, f, "g", 1), EEXIST, "link existing: EEXIST");
	vn_unlock(f);
	vn_unlock(d);
	T_EQ(getattr(f, &va), 0, "getattr");
	T_EQ(va.va_nlink, 2, "nlink 2 after link");
	T_EQ(unlink_name(d, "f", false), 0, "unlink f");
	T_EQ(getattr(f, &va), 0, "getattr");
	T_EQ(va.va_nlink, 1, "nlink 1 after unlink");
	T_EQ(unlink_name(d, "g", false), 0, "unlink g");
	T_EQ(getattr(f, &va), 0, "getattr open unlinked");
	T_EQ(va.va_nlink, 0, "nlink 0, still usable");
	n = pread_vp(f, buf, sizeof(buf), 0, &err);
	T_OK(n == 7, "read an unlinked file still works");
	vrele(f);

	/* Subdirectories count in nlink. */
	T_EQ(mk(d, "sub", VDIR, 0700, NULL), 0, "mkdir sub");
	T_EQ(getattr(d, &va), 0, "getattr");
	T_EQ(va.va_nlink, 3, "parent nlink 3 with one subdir");
	T_EQ(unlink_name(d, "sub", false), EPERM, "remove of a dir: EPERM");
	T_EQ(lookup(d, "sub", &vp), 0, "lookup sub");
	T_EQ(mk(vp, "inner", VREG, 0600, NULL), 0, "create inner");
	vrele(vp);
	T_EQ(unlink_name(d, "sub", true), ENOTEMPTY, "rmdir non-empty: ENOTEMPTY");
	T_EQ(lookup(d, "sub", &vp), 0, "lookup sub");
	T_EQ(unlink_name(vp, "inner", false), 0, "unlink inner");
	vrele(vp);
	T_EQ(lookup(d, "sub", &vp), 0, "lookup sub again");
	T_EQ(unlink_name(d, "sub", true), 0, "rmdir sub");
	T_EQ(mk(vp, "late", VREG, 0600, NULL), ENOENT, "create in removed dir: ENOENT");
	T_EQ(lookup(vp, "..", &f), ENOENT, ".. of a removed dir: ENOENT");
	vrele(vp);
	T_EQ(getattr(d, &va), 0, "getattr");
	T_EQ(va.va_nlink, 2, "nlink back to 2 after rmdir");

	/* Symlinks and special nodes. */
	{
		struct vattr sva;
		struct anyk_iovec iov;
		struct uio uio;
		char tgt[16];

		vattr_null(&sva);
		sva.va_mode = 0777;
		vn_lock(d, RW_WRITER);
		T_EQ(VOP_SYMLINK(d, "ln", 2, &sva, "some/target", &vp), 0, "symlink");
		vn_unlock(d);
		T_EQ(getattr(vp, &va), 0, "getattr symlink");
		T_EQ(va.va_type, VLNK, "symlink type");
		T_EQ(va.va_size, 11, "symlink size is target length");
		memset(tgt, 0, sizeof(tgt));
		uio_init_kernel(&uio, &iov, tgt, 4, 0, UIO_READ);
		vn_lock(vp, RW_READER);
		T_EQ(VOP_READLINK(vp, &uio), 0, "readlink short buffer");
		vn_unlock(vp);
		T_OK(memcmp(tgt, "some", 4) == 0 && uio.uio_resid == 0, "readlink truncates");
		uio_init_kernel(&uio, &iov, tgt, sizeof(tgt), 0, UIO_READ);
		vn_lock(vp, RW_READER);
		T_EQ(VOP_READLINK(vp, &uio), 0, "readlink");
		vn_unlock(vp);
		T_OK(sizeof(tgt) - uio.uio_resid == 11 && memcmp(tgt, "some/target", 11) == 0, "readlink target");
		vrele(vp);
	}
	{
		struct vattr nva;

		vattr_null(&nva);
		nva.va_type = VCHR;
		nva.va_mode = 0600;
		nva.va_rdev = ANYK_MAKEDEV(5, 7);
		vn_lock(d, RW_WRITER);
		T_EQ(VOP_MKNOD(d, "chr", 3, &nva, &vp), 0, "mknod chr");
		vn_unlock(d);
		T_EQ(vp->v_type, VCHR, "v_type VCHR");
		T_EQ(vp->v_rdev, ANYK_MAKEDEV(5, 7), "v_rdev");
		T_EQ(getattr(vp, &va), 0, "getattr chr");
		T_EQ(va.va_rdev, ANYK_MAKEDEV(5, 7), "va_rdev");
		vrele(vp);
		T_EQ(mk(d, "fifo", VFIFO, 0600, &vp), 0, "mknod fifo");
		T_EQ(vp->v_type, VFIFO, "v_type VFIFO");
		vrele(vp);
		T_EQ(mk(d, "sock", VSOCK, 0600, &vp), 0, "mknod sock");
		T_EQ(vp->v_type, VSOCK, "v_type VSOCK");
		vrele(vp);
	}
	vrele(d);
}

static void
test_bigdir(struct vnode *root)
{
	enum { N = 100000 };
	struct vnode *d, *vp;
	struct rdctx *c = calloc(1, sizeof(*c));
	unsigned char *seen = calloc(N, 1);
	char name[32];
	double t0, t1, t2, t3, t4;
	int i, bad = 0, dup = 0, total = 0, k;
	struct vattr va;

	T_EQ(mk(root, "big", VDIR, 0755, &d), 0, "mkdir big");
	t0 = now_s();
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%06d", i);
		if (mk(d, name, VREG, 0644, NULL) != 0)
			bad++;
	}
	t1 = now_s();
	T_EQ(bad, 0, "100000 creates");
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%06d", (i * 7919) % N);
		if (lookup(d, name, &vp) != 0)
			bad++;
		else
			vrele(vp);
	}
	t2 = now_s();
	T_EQ(bad, 0, "100000 lookups");
	T_EQ(getattr(d, &va), 0, "getattr big");
	T_EQ(va.va_nlink, 2, "files do not count in dir nlink");
	c->cookie = 0;
	for (;;) {
		if (readdir_some(d, c, 64) != 0)
			bad++;
		if (c->n == 0)
			break;
		for (k = 0; k < c->n; k++) {
			if (c->names[k][0] == '.')
				continue;
			i = atoi(c->names[k] + 5);
			if (i < 0 || i >= N) {
				bad++;
				continue;
			}
			if (seen[i])
				dup++;
			seen[i] = 1;
			total++;
		}
	}
	t3 = now_s();
	T_EQ(bad, 0, "readdir without errors");
	T_EQ(total, N, "readdir returns every entry");
	T_EQ(dup, 0, "readdir returns no entry twice");
	bad = 0;
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%06d", i);
		if (unlink_name(d, name, false) != 0)
			bad++;
	}
	t4 = now_s();
	T_EQ(bad, 0, "100000 unlinks");
	printf("# bigdir: create %.3fs lookup %.3fs readdir %.3fs unlink %.3fs\n", t1 - t0, t2 - t1,
	       t3 - t2, t4 - t3);
	T_OK(t1 - t0 < 10 && t2 - t1 < 10 && t4 - t3 < 10, "100000-entry directory stays fast");
	vrele(d);
	T_EQ(unlink_name(root, "big", true), 0, "rmdir big");
	free(seen);
	free(c);
}

static void
test_readdir_unlink(struct vnode *root)
{
	enum { N = 200 };
	struct vnode *d;
	struct rdctx *c = calloc(1, sizeof(*c));
	unsigned char seen[N];
	char name[32];
	int i, k, total = 0, dup = 0, dots = 0;

	memset(seen, 0, sizeof(seen));
	T_EQ(mk(root, "rdu", VDIR, 0755, &d), 0, "mkdir rdu");
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "e%03d", i);
		mk(d, name, VREG, 0644, NULL);
	}
	c->cookie = 0;
	/* Read in small pieces; after each piece unlink entries already
	 * returned and some not yet returned, and add a new one. */
	for (;;) {
		readdir_some(d, c, 10);
		if (c->n == 0)
			break;
		for (k = 0; k < c->n; k++) {
			if (strcmp(c->names[k], ".") == 0 || strcmp(c->names[k], "..") == 0) {
				dots++;
				continue;
			}
			if (c->names[k][0] != 'e')
				continue;
			i = atoi(c->names[k] + 1);
			if (seen[i])
				dup++;
			seen[i] = 1;
			total++;
			snprintf(name, sizeof(name), "e%03d", i);
			unlink_name(d, name, false);
			if (i + 100 < N && (i % 2) == 0) {
				snprintf(name, sizeof(name), "e%03d", i + 100);
				if (unlink_name(d, name, false) == 0)
					seen[i + 100] = 2; /* gone before read */
			}
		}
	}
	T_EQ(dots, 2, ". and .. once each");
	T_EQ(dup, 0, "no entry returned twice during unlinks");
	for (i = 0, k = 0; i < N; i++)
		if (seen[i] == 0)
			k++;
	T_EQ(k, 0, "every entry not removed early was returned");
	c->cookie = DIRCOOKIE_EOF;
	readdir_some(d, c, 10);
	T_EQ(c->n, 0, "readdir at EOF cookie is empty");
	vrele(d);
	T_EQ(unlink_name(root, "rdu", true), 0, "rmdir rdu (empty after all unlinks)");
	(void)total;
	free(c);
}

static void
test_sparse_truncate(struct vnode *root)
{
	struct vnode *f;
	struct vattr va;
	char *buf = malloc(1 << 20), *z = calloc(1, 1 << 20);
	anyk_off_t off;
	long n;
	int err;

	T_EQ(mk(root, "sparse", VREG, 0644, &f), 0, "create sparse");
	memset(buf, 'x', 4096);
	n = pwrite_vp(f, buf, 4096, 1 << 20, 0, &err);
	T_OK(n == 4096 && err == 0, "write 4 KiB at 1 MiB");
	n = pwrite_vp(f, buf, 10, 8 << 20, 0, &err);
	T_OK(n == 10 && err == 0, "write 10 bytes at 8 MiB");
	T_EQ(getattr(f, &va), 0, "getattr");
	T_EQ(va.va_size, (8 << 20) + 10, "size");
	T_EQ(va.va_bytes, 2 * 4096, "only two pages allocated");
	n = pread_vp(f, buf, 1 << 20, 0, &err);
	T_OK(n == 1 << 20 && memcmp(buf, z, 1 << 20) == 0, "hole reads as zeros");
	off = 0;
	T_EQ(seek_vp(f, ANYK_SEEK_DATA, &off), 0, "SEEK_DATA 0");
	T_EQ(off, 1 << 20, "first data at 1 MiB");
	off = 1 << 20;
	T_EQ(seek_vp(f, ANYK_SEEK_HOLE, &off), 0, "SEEK_HOLE 1M");
	T_EQ(off, (1 << 20) + 4096, "hole after the page");
	off = (1 << 20) + 4096;
	T_EQ(seek_vp(f, ANYK_SEEK_DATA, &off), 0, "SEEK_DATA after first page");
	T_EQ(off, 8 << 20, "second data at 8 MiB");
	off = (8 << 20) + 5;
	T_EQ(seek_vp(f, ANYK_SEEK_HOLE, &off), 0, "SEEK_HOLE inside last page");
	T_EQ(off, (8 << 20) + 10, "hole at end of file");
	off = (8 << 20) + 10;
	T_EQ(seek_vp(f, ANYK_SEEK_DATA, &off), ENXIO, "SEEK_DATA at EOF: ENXIO");
	off = 5;
	T_EQ(seek_vp(f, ANYK_SEEK_HOLE, &off), 0, "SEEK_HOLE in a hole");
	T_EQ(off, 5, "stays");

	/* Truncate down into the middle of a page, then grow again. */
	T_EQ(truncate_vp(f, (1 << 20) + 100), 0, "truncate to 1M+100");
	T_EQ(getattr(f, &va), 0, "getattr");
	T_EQ(va.va_size, (1 << 20) + 100, "size after shrink");
	T_EQ(va.va_bytes, 4096, "pages beyond the end freed");
	T_EQ(truncate_vp(f, (1 << 20) + 8192), 0, "grow to 1M+8K");
	n = pread_vp(f, buf, 8192, 1 << 20, &err);
	T_OK(n == 8192 && buf[99] == 'x' && memcmp(buf + 100, z, 8192 - 100) == 0,
	     "tail of the partial page was zeroed");
	T_EQ(truncate_vp(f, -1), EINVAL, "negative size: EINVAL");
	T_EQ(truncate_vp(f, (anyk_off_t)1 << 50), EFBIG, "huge size: EFBIG");
	n = pwrite_vp(f, "a", 1, (anyk_off_t)1 << 47, 0, &err);
	T_OK(n == 0 && err == EFBIG, "write beyond the maximum size: EFBIG");
	n = pwrite_vp(f, buf, 4096, ((anyk_off_t)1 << 46) - 1000, 0, &err);
	T_OK(n == 1000 && err == 0, "write up to the maximum size is cut short");
	off = ((anyk_off_t)1 << 46) - 10000;
	T_EQ(seek_vp(f, ANYK_SEEK_DATA, &off), 0, "SEEK_DATA far out");
	T_EQ(off, ((anyk_off_t)1 << 46) - 4096, "data found at the last page");
	T_EQ(truncate_vp(f, 0), 0, "truncate to 0");
	T_EQ(getattr(f, &va), 0, "getattr");
	T_OK(va.va_size == 0 && va.va_bytes == 0, "empty again");
	vrele(f);
	T_EQ(unlink_name(root, "sparse", false), 0, "unlink sparse");
	free(buf);
	free(z);
}

static void
test_rename(struct vnode *root)
{
	struct vnode *a, *b, *vp, *vp2;
	struct vattr va;
	char buf[8];
	long n;
	int err;

	T_EQ(mk(root, "ra", VDIR, 0755, &a), 0, "mkdir ra");
	T_EQ(mk(root, "rb", VDIR, 0755, &b), 0, "mkdir rb");
	T_EQ(mk(a, "f1", VREG, 0644, &vp), 0, "create f1");
	pwrite_vp(vp, "one", 3, 0, 0, &err);
	vrele(vp);
	T_EQ(mk(a, "f2", VREG, 0644, &vp2), 0, "create f2");
	T_EQ(rename_names(a, "f1", a, "g1"), 0, "rename within a dir");
	T_EQ(lookup(a, "f1", &vp), ENOENT, "old name gone");
	T_EQ(lookup(a, "g1", &vp), 0, "new name there");
	vrele(vp);
	T_EQ(rename_names(a, "g1", a, "f2"), 0, "rename over an existing file");
	T_EQ(getattr(vp2, &va), 0, "getattr replaced file");
	T_EQ(va.va_nlink, 0, "replaced file has no links");
	vrele(vp2);
	T_EQ(lookup(a, "f2", &vp), 0, "lookup f2");
	n = pread_vp(vp, buf, sizeof(buf), 0, &err);
	T_OK(n == 3 && memcmp(buf, "one", 3) == 0, "f2 now has f1's data");
	vrele(vp);
	T_EQ(rename_names(a, "f2", b, "f3"), 0, "rename a file across dirs");
	T_EQ(lookup(b, "f3", &vp), 0, "lookup f3");
	vrele(vp);

	/* Directories. */
	T_EQ(mk(a, "sd", VDIR, 0755, NULL), 0, "mkdir ra/sd");
	T_EQ(getattr(a, &va), 0, "getattr a");
	T_EQ(va.va_nlink, 3, "a nlink 3");
	T_EQ(rename_names(a, "sd", b, "sd2"), 0, "move dir to rb");
	T_EQ(getattr(a, &va), 0, "getattr a");
	T_EQ(va.va_nlink, 2, "a nlink 2 after move out");
	T_EQ(getattr(b, &va), 0, "getattr b");
	T_EQ(va.va_nlink, 3, "b nlink 3 after move in");
	T_EQ(lookup(b, "sd2", &vp), 0, "lookup sd2");
	T_EQ(lookup(vp, "..", &vp2), 0, "lookup sd2/..");
	T_OK(vp2 == b, ".. follows the move");
	vrele(vp2);
	T_EQ(mk(vp, "x", VREG, 0644, NULL), 0, "fill sd2");
	vrele(vp);
	T_EQ(mk(a, "empty", VDIR, 0755, NULL), 0, "mkdir ra/empty");
	T_EQ(rename_names(a, "empty", b, "sd2"), ENOTEMPTY, "rename over non-empty dir: ENOTEMPTY");
	T_EQ(mk(b, "e2", VDIR, 0755, NULL), 0, "mkdir rb/e2");
	T_EQ(rename_names(b, "sd2", a, "empty"), 0, "rename dir over empty dir across parents");
	T_EQ(getattr(a, &va), 0, "getattr a");
	T_EQ(va.va_nlink, 3, "a: lost empty, gained sd2");
	T_EQ(getattr(b, &va), 0, "getattr b");
	T_EQ(va.va_nlink, 3, "b: lost sd2, has e2");
	T_EQ(lookup(a, "empty", &vp), 0, "lookup moved dir");
	T_EQ(lookup(vp, "x", &vp2), 0, "its contents came along");
	vrele(vp2);
	vrele(vp);

	/* Clean up. */
	T_EQ(lookup(a, "empty", &vp), 0, "lookup");
	unlink_name(vp, "x", false);
	vrele(vp);
	T_EQ(unlink_name(a, "empty", true), 0, "rmdir");
	T_EQ(unlink_name(b, "e2", true), 0, "rmdir");
	T_EQ(unlink_name(b, "f3", false), 0, "unlink");
	vrele(a);
	vrele(b);
	T_EQ(unlink_name(root, "ra", true), 0, "rmdir ra");
	T_EQ(unlink_name(root, "rb", true), 0, "rmdir rb");
}

static void
test_xattr(struct vnode *root)
{
	struct vnode *f;
	char buf[128], *big;
	size_t sz;

	T_EQ(mk(root, "xa", VREG, 0644, &f), 0, "create xa");
	vn_lock(f, RW_WRITER);
	sz = 0;
	T_EQ(VOP_GETXATTR(f, "user.a", NULL, &sz), ENODATA, "missing: ENODATA");
	T_EQ(VOP_SETXATTR(f, "user.a", "123", 3, 0), 0, "set user.a");
	T_EQ(VOP_SETXATTR(f, "user.a", "x", 1, 1), EEXIST, "create-only on existing: EEXIST");
	T_EQ(VOP_SETXATTR(f, "user.b", "x", 1, 2), ENODATA, "replace-only on missing: ENODATA");
	T_EQ(VOP_SETXATTR(f, "trusted.t", "", 0, 1), 0, "empty value");
	T_EQ(VOP_SETXATTR(f, "bogus.x", "x", 1, 0), ENOTSUP, "unknown namespace: ENOTSUP");
	big = calloc(1, 70000);
	T_EQ(VOP_SETXATTR(f, "user.big", big, 70000, 0), E2BIG, "value > 64 KiB: E2BIG");
	T_EQ(VOP_SETXATTR(f, "user.max", big, 65536, 0), 0, "value of 64 KiB");
	free(big);
	sz = 0;
	T_EQ(VOP_GETXATTR(f, "user.a", NULL, &sz), 0, "size query");
	T_EQ(sz, 3, "size 3");
	sz = 2;
	T_EQ(VOP_GETXATTR(f, "user.a", buf, &sz), ERANGE, "small buffer: ERANGE");
	sz = sizeof(buf);
	T_EQ(VOP_GETXATTR(f, "user.a", buf, &sz), 0, "get");
	T_OK(sz == 3 && memcmp(buf, "123", 3) == 0, "value");
	T_EQ(VOP_SETXATTR(f, "user.a", "45", 2, 2), 0, "replace");
	sz = sizeof(buf);
	T_EQ(VOP_GETXATTR(f, "user.a", buf, &sz), 0, "get replaced");
	T_OK(sz == 2 && memcmp(buf, "45", 2) == 0, "replaced value");
	sz = 0;
	T_EQ(VOP_LISTXATTR(f, NULL, &sz), 0, "list size");
	T_EQ(sz, sizeof("user.a") + sizeof("trusted.t") + sizeof("user.max"), "list size value");
	sz = 4;
	T_EQ(VOP_LISTXATTR(f, buf, &sz), ERANGE, "list small buffer: ERANGE");
	sz = sizeof(buf);
	T_EQ(VOP_LISTXATTR(f, buf, &sz), 0, "list");
	T_OK(memcmp(buf, "user.a\0trusted.t\0user.max\0", sz) == 0, "list names");
	T_EQ(VOP_REMOVEXATTR(f, "user.a"), 0, "remove");
	T_EQ(VOP_REMOVEXATTR(f, "user.a"), ENODATA, "remove missing: ENODATA");
	vn_unlock(f);
	vrele(f);
	T_EQ(unlink_name(root, "xa", false), 0, "unlink xa (frees its xattrs)");
}

static void
test_limits_and_memory(void)
{
	struct vnode *mroot, *f;
	struct mount *mp;
	struct anyk_statvfs st;
	struct vattr va;
	uint64_t base = tmpfs_bytes();
	char *buf = malloc(1 << 20);
	long n;
	int err, i;

	memset(buf, 'q', 1 << 20);
	mp = mount_tmpfs("lim", "size=64k,nr_inodes=5,mode=0710,uid=12,gid=34", &mroot);
	T_OK(mp != NULL, "mount tmpfs size=64k");
	if (mp == NULL)
		goto out;
	T_EQ(getattr(mroot, &va), 0, "getattr mount root");
	T_EQ(va.va_mode, 0710, "mode= option");
	T_EQ(va.va_uid, 12, "uid= option");
	T_EQ(va.va_gid, 34, "gid= option");
	T_EQ(mp->mnt_op->vfs_statvfs(mp, &st), 0, "statvfs");
	T_EQ(st.f_bsize, 4096, "f_bsize");
	T_EQ(st.f_blocks, 16, "f_blocks from size=");
	T_EQ(st.f_bfree, 16, "all free");
	T_EQ(st.f_files, 5, "f_files from nr_inodes=");
	T_EQ(st.f_ffree, 4, "root uses one inode");

	T_EQ(mk(mroot, "big", VREG, 0644, &f), 0, "create");
	n = pwrite_vp(f, buf, 100000, 0, 0, &err);
	T_OK(n == 65536 && err == 0, "write stops at the size limit (partial write)");
	n = pwrite_vp(f, buf, 10, 65536, 0, &err);
	T_OK(n == 0 && err == ENOSPC, "next write: ENOSPC");
	n = pwrite_vp(f, "z", 1, 10, 0, &err);
	T_OK(n == 1 && err == 0, "overwriting an allocated page still works");
	T_EQ(mp->mnt_op->vfs_statvfs(mp, &st), 0, "statvfs");
	T_EQ(st.f_bfree, 0, "no blocks free");
	T_EQ(truncate_vp(f, 4096), 0, "truncate frees pages");
	T_EQ(mp->mnt_op->vfs_statvfs(mp, &st), 0, "statvfs");
	T_EQ(st.f_bfree, 15, "blocks back");
	vrele(f);
	for (i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		T_EQ(mk(mroot, name, VREG, 0644, NULL), 0, "create within nr_inodes");
	}
	T_EQ(mk(mroot, "over", VREG, 0644, NULL), ENOSPC, "nr_inodes exhausted: ENOSPC");
	/* Leave things behind: unmount frees them. Also an xattr and a dir. */
	T_EQ(lookup(mroot, "big", &f), 0, "lookup big");
	vn_lock(f, RW_WRITER);
	VOP_SETXATTR(f, "user.k", "v", 1, 0);
	vn_unlock(f);
	vrele(f);
	umount_tmpfs(mp, mroot, "lim");
	T_EQ(tmpfs_bytes(), base, "tmpfs memory back to baseline after unmount");

	mp = mount_tmpfs("bad", "size=12q", &mroot);
	T_OK(mp == NULL, "bad size option: mount fails");
	if (mp != NULL)
		umount_tmpfs(mp, mroot, "bad");
	else {
		struct vnode *root = vfs_rootvnode();
		unlink_name(root, "bad", true);
		vrele(root);
	}
	mp = mount_tmpfs("badmode", "mode=99", &mroot);
	T_OK(mp == NULL, "bad mode option: mount fails");
	if (mp != NULL)
		umount_tmpfs(mp, mroot, "badmode");
	else {
		struct vnode *root = vfs_rootvnode();
		unlink_name(root, "badmode", true);
		vrele(root);
	}
out:
	free(buf);
}

static void
test_unlinked_open_frees(struct vnode *root)
{
	struct vnode *f;
	uint64_t before = tmpfs_bytes(), mid;
	char *buf = malloc(1 << 20);
	long n;
	int err;

	memset(buf, 7, 1 << 20);
	T_EQ(mk(root, "tmpf", VREG, 0644, &f), 0, "create");
	n = pwrite_vp(f, buf, 1 << 20, 0, 0, &err);
	T_OK(n == 1 << 20, "write 1 MiB");
	T_EQ(unlink_name(root, "tmpf", false), 0, "unlink while open");
	mid = tmpfs_bytes();
	T_OK(mid >= before + (1 << 20), "data kept while referenced");
	vrele(f);
	T_OK(tmpfs_bytes() <= before, "last reference frees the node and its pages");
	free(buf);
}

static void
test_throughput(struct vnode *root)
{
	enum { MB = 1 << 20, TOTAL = 256 };
	struct vnode *f;
	char *buf = malloc(MB);
	double t0, ta, tw, tr;
	int i, err, bad = 0;

	memset(buf, 0x5a, MB);
	T_EQ(mk(root, "speed", VREG, 0644, &f), 0, "create speed");
	/* Once to allocate, then rewrites and reads. */
	t0 = now_s();
	for (i = 0; i < TOTAL; i++)
		if (pwrite_vp(f, buf, MB, (anyk_off_t)i * MB, 0, &err) != MB)
			bad++;
	ta = now_s() - t0;
	t0 = now_s();
	for (i = 0; i < TOTAL; i++)
		if (pwrite_vp(f, buf, MB, (anyk_off_t)i * MB, 0, &err) != MB)
			bad++;
	tw = now_s() - t0;
	t0 = now_s();
	for (i = 0; i < TOTAL; i++)
		if (pread_vp(f, buf, MB, (anyk_off_t)i * MB, &err) != MB)
			bad++;
	tr = now_s() - t0;
	T_EQ(bad, 0, "256 MiB of 1 MiB writes and reads");
	printf("# throughput: first write %.2f GB/s, rewrite %.2f GB/s, read %.2f GB/s\n",
	       TOTAL * (double)MB / ta / 1e9, TOTAL * (double)MB / tw / 1e9, TOTAL * (double)MB / tr / 1e9);
	vrele(f);
	T_EQ(unlink_name(root, "speed", false), 0, "unlink speed");
	free(buf);
}

/* --- concurrency: threads in their own and in a shared directory ----------- */

struct worker {
	pthread_t t;
	int id;
	struct vnode *shared;
	int errors;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct vnode *mine, *f;
	char name[32], buf[8192];
	struct rdctx *c = calloc(1, sizeof(*c));
	int i, err;
	struct vattr va;

	snprintf(name, sizeof(name), "w%d", w->id);
	if (mk(w->shared, name, VDIR, 0755, &mine) != 0) {
		w->errors++;
		free(c);
		return NULL;
	}
	memset(buf, w->id, sizeof(buf));
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i % 20);
		if (mk(mine, name, VREG, 0644, &f) == 0) {
			if (pwrite_vp(f, buf, sizeof(buf), (anyk_off_t)i * 100, 0, &err) != sizeof(buf))
				w->errors++;
			vrele(f);
		}
		if (lookup(mine, name, &f) == 0) {
			if (pread_vp(f, buf, sizeof(buf), 0, &err) < 0)
				w->errors++;
			getattr(f, &va);
			vrele(f);
		}
		/* Shared directory: everyone creates, reads and removes. */
		snprintf(name, sizeof(name), "s%d-%d", w->id, i % 10);
		mk(w->shared, name, VREG, 0644, NULL);
		c->cookie = 0;
		readdir_some(w->shared, c, 16);
		if (lookup(w->shared, name, &f) == 0) {
			getattr(f, &va);
			vrele(f);
		}
		if (i % 3 == 0)
			unlink_name(w->shared, name, false);
		if (i % 7 == 0) {
			snprintf(name, sizeof(name), "f%d", i % 20);
			unlink_name(mine, name, false);
		}
	}
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		unlink_name(mine, name, false);
	}
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "s%d-%d", w->id, i);
		unlink_name(w->shared, name, false);
	}
	vrele(mine);
	snprintf(name, sizeof(name), "w%d", w->id);
	if (unlink_name(w->shared, name, true) != 0)
		w->errors++;
	free(c);
	return NULL;
}

static void
test_threads(struct vnode *root)
{
	struct worker w[8];
	struct vnode *shared;
	struct vattr va;
	int i, errors = 0;

	T_EQ(mk(root, "conc", VDIR, 0777, &shared), 0, "mkdir conc");
	for (i = 0; i < 8; i++) {
		w[i].id = i;
		w[i].shared = shared;
		w[i].errors = 0;
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(w[i].t, NULL);
		errors += w[i].errors;
	}
	T_EQ(errors, 0, "8 threads without errors");
	T_EQ(getattr(shared, &va), 0, "getattr conc");
	T_EQ(va.va_nlink, 2, "every subdir gone: nlink 2");
	T_EQ(va.va_size, 2 * TMPFS_DIRENT_BOGOSIZE, "every entry gone");
	vrele(shared);
	T_EQ(unlink_name(root, "conc", true), 0, "rmdir conc");
}

int
main(void)
{
	struct vnode *root;
	bool slow = getenv("ANYK_TEST_QUICK") == NULL;

	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	root = vfs_rootvnode();
	T_OK(root != NULL && strcmp(root->v_mount->mnt_op->vfs_name, "tmpfs") == 0, "root is tmpfs");
	test_basic(root);
	test_readdir_unlink(root);
	test_sparse_truncate(root);
	test_rename(root);
	test_xattr(root);
	test_unlinked_open_frees(root);
	test_limits_and_memory();
	test_threads(root);
	if (slow) {
		test_bigdir(root);
		test_throughput(root);
	}
	vrele(root);
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
