/*
 * anyk cp: copy files and trees between the host and disk images, and
 * between images, in every direction.
 *
 * Trees between the host and an image go through hostcopy.c, which keeps
 * types, modes, times, hard links, holes, owners and extended attributes
 * and never writes outside the destination. On the way out one more rule
 * is asked of it (HOSTCOPY_SAFE_LINKS): a symbolic link in the image that is
 * absolute, or whose target climbs out of the copied tree (resolving the
 * image's own links on the way, in the kernel), is never made and is
 * reported, so that no later tool on the host can be led outside the
 * destination by following it. That is decided per link during the one walk
 * of the tree; nothing is scanned beforehand or removed afterwards.
 *
 * The progress bar's total is counted only when a bar can be shown, and
 * only once the copy has run long enough for the bar to appear, so short
 * copies and scripts never pay for a second walk.
 *
 * Single files, and trees from one image to another, are copied here with
 * data ranges only (holes stay holes); each end is an image's own chrooted
 * context, switched to for each call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "tools/hostcopy.h"
#include "tools/image.h"
#include "tools/progress.h"

const char img_usage_cp[] =
	"[-rpfn] [--devices] [--progress|--no-progress] [-o OPTS] SOURCE... DEST";
const char img_help_cp[] =
	"Copy files between the host and disk images, or between images.\n"
	"SOURCE and DEST are host paths or IMAGE[@PART]:PATH; with several\n"
	"sources, or when DEST is a directory, the copies go into it.\n"
	"  -r              copy directories and everything in them (symbolic links\n"
	"                  as links, hard links as links, holes as holes)\n"
	"  -p              keep owners (as root on the host) and extended attributes;\n"
	"                  modes and nanosecond times are kept by -r in any case\n"
	"  -f              replace files that exist in the destination\n"
	"  --devices       make device nodes on the host (root only); they are\n"
	"                  otherwise skipped and reported\n"
	"  --progress      show a progress bar; by default it appears when stderr\n"
	"                  is a terminal and the copy takes over a second\n"
	"Copying out of an image never writes outside DEST: unsafe names, absolute\n"
	"or escaping symbolic links and device nodes are skipped and reported, and\n"
	"the command then exits with status 1.";

enum { O_DEVICES = 256, O_PROGRESS, O_NO_PROGRESS };

struct cp {
	int r, p, f, devices;
	struct img_session *s;
	struct progress prog;
	uint64_t base;     /* bytes done by earlier operands */
	uint64_t done;
	int status;
	uint64_t skipped;
	/* The sources, for the progress bar's total (counted lazily). */
	const struct img_path *src;
	int nsrc;
	int want_total;    /* a bar can be shown and the total is not yet known */
};

static void maybe_total(struct cp *c);

/* --- one end of a copy: a host path or a path in an image ------------------- */

static void
enter(struct cp *c, const struct img_path *p)
{
	img_enter(c->s, p->img);
}

static int
ep_lstat(struct cp *c, const struct img_path *p, const char *path, struct anyk_stat *st, int follow)
{
	struct stat hs;

	if (p->img >= 0) {
		enter(c, p);
		return follow ? anyk_sys_stat(path, st) : anyk_sys_lstat(path, st);
	}
	if ((follow ? stat(path, &hs) : lstat(path, &hs)) != 0)
		return -1;
	memset(st, 0, sizeof(*st));
	st->st_mode = (anyk_mode_t)(hs.st_mode & 07777);
	switch (hs.st_mode & S_IFMT) {
	case S_IFDIR: st->st_mode |= ANYK_S_IFDIR; break;
	case S_IFLNK: st->st_mode |= ANYK_S_IFLNK; break;
	case S_IFREG: st->st_mode |= ANYK_S_IFREG; break;
	case S_IFBLK: st->st_mode |= ANYK_S_IFBLK; break;
	case S_IFCHR: st->st_mode |= ANYK_S_IFCHR; break;
	case S_IFIFO: st->st_mode |= ANYK_S_IFIFO; break;
	default: st->st_mode |= ANYK_S_IFSOCK; break;
	}
	st->st_size = hs.st_size;
	st->st_uid = hs.st_uid;
	st->st_gid = hs.st_gid;
	st->st_ino = hs.st_ino;
	st->st_dev = hs.st_dev;
	st->st_nlink = hs.st_nlink;
	st->st_atim.tv_sec = hs.st_atim.tv_sec;
	st->st_atim.tv_nsec = hs.st_atim.tv_nsec;
	st->st_mtim.tv_sec = hs.st_mtim.tv_sec;
	st->st_mtim.tv_nsec = hs.st_mtim.tv_nsec;
	return 0;
}

static int
ep_open(struct cp *c, const struct img_path *p, const char *path, int create, anyk_mode_t mode)
{
	int fl;

	if (p->img >= 0) {
		enter(c, p);
		fl = create ? ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_TRUNC : ANYK_O_RDONLY;
		return anyk_sys_open(path, fl | ANYK_O_CLOEXEC, mode);
	}
	fl = create ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
	return open(path, fl | O_CLOEXEC, (mode_t)mode);
}

static void
ep_close(struct cp *c, const struct img_path *p, int fd)
{
	if (p->img >= 0) {
		enter(c, p);
		anyk_sys_close(fd);
	} else {
		close(fd);
	}
}

static long
ep_pread(struct cp *c, const struct img_path *p, int fd, void *buf, size_t n, int64_t off)
{
	if (p->img >= 0) {
		enter(c, p);
		return anyk_sys_pread(fd, buf, n, off);
	}
	return (long)pread(fd, buf, n, (off_t)off);
}

static long
ep_pwrite(struct cp *c, const struct img_path *p, int fd, const void *buf, size_t n, int64_t off)
{
	if (p->img >= 0) {
		enter(c, p);
		return anyk_sys_pwrite(fd, buf, n, off);
	}
	return (long)pwrite(fd, buf, n, (off_t)off);
}

static int64_t
ep_seek(struct cp *c, const struct img_path *p, int fd, int64_t off, int hole)
{
	if (p->img >= 0) {
		enter(c, p);
		return anyk_sys_lseek(fd, off, hole ? ANYK_SEEK_HOLE : ANYK_SEEK_DATA);
	}
	return (int64_t)lseek(fd, (off_t)off, hole ? SEEK_HOLE : SEEK_DATA);
}

static int
ep_truncate(struct cp *c, const struct img_path *p, int fd, int64_t len)
{
	if (p->img >= 0) {
		enter(c, p);
		return anyk_sys_ftruncate(fd, len);
	}
	return ftruncate(fd, (off_t)len);
}

/* --- single files -------------------------------------------------------------- */

#define CHUNK (1 << 20)

static void
tick(struct cp *c, uint64_t n)
{
	c->done += n;
	maybe_total(c);
	progress_update(&c->prog, c->base + c->done);
}

/* Copy the data of in to out, ranges only; -1 reading, -2 writing. */
static int
copy_data(struct cp *c, const struct img_path *sp, int in, const struct img_path *dp, int out,
	  int64_t size)
{
	static char *buf;
	int64_t pos = 0, d, e, off;
	long n, m;
	size_t want, got;

	if (buf == NULL)
		buf = xmalloc(CHUNK);
	while (pos < size) {
		d = ep_seek(c, sp, in, pos, 0);
		if (d < 0) {
			if (errno == ENXIO)
				break;
			d = pos, e = size;
		} else {
			e = ep_seek(c, sp, in, d, 1);
			if (e < 0 || e > size)
				e = size;
		}
		for (off = d; off < e; off += (int64_t)got) {
			want = (size_t)(e - off < CHUNK ? e - off : CHUNK);
			n = ep_pread(c, sp, in, buf, want, off);
			if (n < 0)
				return -1;
			if (n == 0) {
				e = off;
				break;
			}
			got = (size_t)n;
			for (size_t w = 0; w < got; w += (size_t)m) {
				m = ep_pwrite(c, dp, out, buf + w, got - w, off + (int64_t)w);
				if (m <= 0) {
					if (m == 0)
						errno = EIO;
					return -2;
				}
			}
			tick(c, got);
		}
		if (e <= pos)
			break;
		pos = e;
	}
	return ep_truncate(c, dp, out, size) != 0 ? -2 : 0;
}

/* Owners (with -p), mode, xattrs (with -p), then times; on dst path. */
static int
set_attrs(struct cp *c, const struct img_path *sp, const char *spath, const struct img_path *dp,
	  const char *dpath, const struct anyk_stat *st, int symlink)
{
	static char list[ANYK_XATTR_LIST_MAX], val[ANYK_XATTR_SIZE_MAX];
	struct anyk_timespec ts[2];
	struct timespec hts[2];
	long n, v;
	char *a;
	int r = EXIT_OK;

	if (c->p && (dp->img >= 0 || geteuid() == 0)) {
		if (dp->img >= 0) {
			enter(c, dp);
			if (anyk_sys_lchown(dpath, st->st_uid, st->st_gid) != 0)
				r = img_err(dp, dpath, errno);
		} else if (lchown(dpath, st->st_uid, st->st_gid) != 0) {
			r = img_err(dp, dpath, errno);
		}
	}
	if (!symlink) {
		if (dp->img >= 0) {
			enter(c, dp);
			if (anyk_sys_chmod(dpath, st->st_mode & 07777) != 0)
				r = img_err(dp, dpath, errno);
		} else if (chmod(dpath, (mode_t)(st->st_mode & 07777)) != 0) {
			r = img_err(dp, dpath, errno);
		}
	}
	if (c->p) {
		if (sp->img >= 0) {
			enter(c, sp);
			n = anyk_sys_llistxattr(spath, list, sizeof(list));
		} else {
			n = llistxattr(spath, list, sizeof(list));
		}
		for (a = list; n > 0 && a < list + n; a += strlen(a) + 1) {
			if (sp->img >= 0) {
				enter(c, sp);
				v = anyk_sys_lgetxattr(spath, a, val, sizeof(val));
			} else {
				v = lgetxattr(spath, a, val, sizeof(val));
			}
			if (v < 0)
				continue;
			if (dp->img >= 0) {
				enter(c, dp);
				if (anyk_sys_lsetxattr(dpath, a, val, (size_t)v, 0) != 0)
					img_errmsg(dp, dpath, "warning: extended attribute %s not kept: %s", a, strerror(errno));
			} else if (lsetxattr(dpath, a, val, (size_t)v, 0) != 0) {
				img_errmsg(dp, dpath, "warning: extended attribute %s not kept: %s", a, strerror(errno));
			}
		}
	}
	if (c->p || c->r) {
		ts[0] = st->st_atim;
		ts[1] = st->st_mtim;
		if (dp->img >= 0) {
			enter(c, dp);
			if (anyk_sys_utimensat(ANYK_AT_FDCWD, dpath, ts, ANYK_AT_SYMLINK_NOFOLLOW) != 0)
				r = img_err(dp, dpath, errno);
		} else {
			hts[0].tv_sec = (time_t)ts[0].tv_sec;
			hts[0].tv_nsec = (long)ts[0].tv_nsec;
			hts[1].tv_sec = (time_t)ts[1].tv_sec;
			hts[1].tv_nsec = (long)ts[1].tv_nsec;
			if (utimensat(AT_FDCWD, dpath, hts, AT_SYMLINK_NOFOLLOW) != 0)
				r = img_err(dp, dpath, errno);
		}
	}
	return r;
}

static int
copy_file(struct cp *c, const struct img_path *sp, const char *spath, const struct img_path *dp,
	  const char *dpath, const struct anyk_stat *st)
{
	int in, out, r, e;

	in = ep_open(c, sp, spath, 0, 0);
	if (in < 0)
		return img_err(sp, spath, errno);
	out = ep_open(c, dp, dpath, 1, (st->st_mode & 0777) | 0200);
	if (out < 0) {
		e = errno;
		ep_close(c, sp, in);
		return img_err(dp, dpath, e);
	}
	r = copy_data(c, sp, in, dp, out, st->st_size);
	e = errno;
	ep_close(c, sp, in);
	ep_close(c, dp, out);
	if (r == -1)
		return img_err(sp, spath, e);
	if (r == -2)
		return img_err(dp, dpath, e);
	return set_attrs(c, sp, spath, dp, dpath, st, 0);
}

/* --- trees from one image to another (or within one) ------------------------------ */

struct linkent {
	uint64_t ino;
	char *path;
};

struct kk {
	struct linkent *links;
	size_t nlinks, cap;
};

static const char *
kk_find(struct kk *k, uint64_t ino)
{
	size_t i;

	for (i = 0; i < k->nlinks; i++)
		if (k->links[i].ino == ino)
			return k->links[i].path;
	return NULL;
}

static int
copy_tree_kk(struct cp *c, struct kk *k, const struct img_path *sp, const char *spath,
	     const struct img_path *dp, const char *dpath, int depth)
{
	struct anyk_stat st;
	char target[ANYK_PATH_MAX], **names, *s2, *d2;
	const char *first;
	size_t n, i;
	anyk_ssize_t tl;
	int r = EXIT_OK;

	if (depth > 2000)
		return img_err(sp, spath, ELOOP);
	enter(c, sp);
	if (anyk_sys_lstat(spath, &st) != 0)
		return img_err(sp, spath, errno);
	if (ANYK_S_ISDIR(st.st_mode)) {
		enter(c, dp);
		if (anyk_sys_mkdir(dpath, 0700) != 0 && errno != EEXIST)
			return img_err(dp, dpath, errno);
		enter(c, sp);
		if (kdir_names(spath, &names, &n) != 0)
			return img_err(sp, spath, errno);
		for (i = 0; i < n; i++) {
			s2 = path_join(spath, names[i]);
			d2 = path_join(dpath, names[i]);
			if (copy_tree_kk(c, k, sp, s2, dp, d2, depth + 1) != EXIT_OK)
				r = EXIT_FAIL;
			free(s2);
			free(d2);
		}
		knames_free(names, n);
		if (set_attrs(c, sp, spath, dp, dpath, &st, 0) != EXIT_OK)
			r = EXIT_FAIL;
		return r;
	}
	if (st.st_nlink > 1 && (first = kk_find(k, st.st_ino)) != NULL) {
		enter(c, dp);
		if (anyk_sys_link(first, dpath) != 0)
			return img_err(dp, dpath, errno);
		return EXIT_OK;
	}
	if (c->f) {
		enter(c, dp);
		(void)anyk_sys_unlink(dpath);
	}
	if (ANYK_S_ISREG(st.st_mode)) {
		r = copy_file(c, sp, spath, dp, dpath, &st);
	} else if (ANYK_S_ISLNK(st.st_mode)) {
		enter(c, sp);
		tl = anyk_sys_readlink(spath, target, sizeof(target) - 1);
		if (tl < 0)
			return img_err(sp, spath, errno);
		target[tl] = '\0';
		enter(c, dp);
		if (anyk_sys_symlink(target, dpath) != 0)
			return img_err(dp, dpath, errno);
		r = set_attrs(c, sp, spath, dp, dpath, &st, 1);
	} else {
		enter(c, dp);
		if (anyk_sys_mknod(dpath, st.st_mode, st.st_rdev) != 0)
			return img_err(dp, dpath, errno);
		r = set_attrs(c, sp, spath, dp, dpath, &st, 0);
	}
	if (r == EXIT_OK && st.st_nlink > 1) {
		if (k->nlinks == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 64;
			k->links = realloc(k->links, k->cap * sizeof(*k->links));
			if (k->links == NULL) {
				fprintf(stderr, "anyk: out of memory\n");
				exit(EXIT_FAIL);
			}
		}
		k->links[k->nlinks].ino = st.st_ino;
		k->links[k->nlinks++].path = xstrdup(dpath);
	}
	return r;
}

int
img_move_by_copy(struct img_session *s, const struct img_path *sp, const struct img_path *dp, const char *to,
		 int noclobber)
{
	struct anyk_stat sst, tst;
	struct kk k = { NULL, 0, 0 };
	struct cp c;
	int r;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.r = c.p = 1;
	progress_init(&c.prog, PROGRESS_OFF, 0);
	img_enter(s, sp->img);
	if (anyk_sys_lstat(sp->path, &sst) != 0)
		return img_err(sp, NULL, errno);
	img_enter(s, dp->img);
	if (anyk_sys_lstat(to, &tst) == 0) {
		if (noclobber)
			return EXIT_OK;
		/* rename(2)'s rules for what may replace what. */
		if (ANYK_S_ISDIR(sst.st_mode) != ANYK_S_ISDIR(tst.st_mode))
			return img_err(dp, to, ANYK_S_ISDIR(tst.st_mode) ? EISDIR : ENOTDIR);
		if ((ANYK_S_ISDIR(tst.st_mode) ? anyk_sys_rmdir(to) : anyk_sys_unlink(to)) != 0)
			return img_err(dp, to, errno);
	} else if (errno != ENOENT) {
		return img_err(dp, to, errno);
	}
	r = copy_tree_kk(&c, &k, sp, sp->path, dp, to, 0);
	for (size_t i = 0; i < k.nlinks; i++)
		free(k.links[i].path);
	free(k.links);
	if (r != EXIT_OK) {
		img_errmsg(sp, NULL, "not moved: the copy failed, the source is kept");
		return r;
	}
	img_enter(s, sp->img);
	return img_rm_tree(sp, sp->path);
}

/* --- sizes, for the progress bar ------------------------------------------------------ */

#define TOTAL_DEPTH 256  /* deeper than this is not counted: the bar just ends early */
#define TOTAL_AFTER 0.5  /* seconds: counted before the bar first appears (at 1 s) */
#define DIRBUF 8192

/* Bytes in regular files below the open kernel directory dfd; closes dfd.
 * Relative to open directories, one lookup per entry, none for directories'
 * own names beyond their open. */
static uint64_t
kdir_bytes(int dfd, int depth)
{
	const struct anyk_dirent *de;
	struct anyk_stat st;
	uint64_t sum = 0, *dbuf;
	size_t off;
	long n;
	int sub;

	/* One buffer per level: the walk recurses while one is being read. */
	dbuf = xmalloc(DIRBUF);
	while ((n = anyk_sys_getdents(dfd, dbuf, DIRBUF)) > 0) {
		for (off = 0; off + sizeof(*de) <= (size_t)n; off += de->d_reclen) {
			de = (const struct anyk_dirent *)((const char *)dbuf + off);
			if (de->d_reclen < sizeof(*de) || de->d_reclen > (size_t)n - off)
				break;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (de->d_type == ANYK_DT_DIR) {
				if (depth >= TOTAL_DEPTH)
					continue;
				sub = anyk_sys_openat(dfd, de->d_name, ANYK_O_RDONLY | ANYK_O_DIRECTORY |
				    ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC, 0);
				if (sub >= 0)
					sum += kdir_bytes(sub, depth + 1);
			} else if ((de->d_type == ANYK_DT_REG || de->d_type == ANYK_DT_UNKNOWN) &&
			    anyk_sys_fstatat(dfd, de->d_name, &st, ANYK_AT_SYMLINK_NOFOLLOW) == 0 &&
			    ANYK_S_ISREG(st.st_mode)) {
				sum += (uint64_t)st.st_size;
			}
		}
	}
	free(dbuf);
	anyk_sys_close(dfd);
	return sum;
}

/* The same on the host. */
static uint64_t
hdir_bytes(int dfd, int depth)
{
	struct dirent *de;
	struct stat st;
	uint64_t sum = 0;
	DIR *d;
	int sub;

	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR) {
			if (depth >= TOTAL_DEPTH)
				continue;
			sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				sum += hdir_bytes(sub, depth + 1);
		} else if ((de->d_type == DT_REG || de->d_type == DT_UNKNOWN) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			sum += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return sum;
}

/* One source operand: a file's size, or what its tree holds. Switches
 * kernel contexts directly and back, so whatever context the copy is in
 * (img_enter()'s, or hostcopy's own) is as it was. */
static uint64_t
src_bytes(struct cp *c, const struct img_path *p)
{
	struct anyk_proc *was;
	struct anyk_stat st;
	struct stat hs;
	uint64_t sum = 0;
	int fd;

	if (p->img < 0) {
		if (lstat(p->path, &hs) != 0)
			return 0;
		if (!S_ISDIR(hs.st_mode))
			return S_ISREG(hs.st_mode) ? (uint64_t)hs.st_size : 0;
		if (!c->r)
			return 0;
		fd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd >= 0 ? hdir_bytes(fd, 0) : 0;
	}
	was = anyk_proc_switch(c->s->img[p->img].proc);
	if (anyk_sys_stat(p->path, &st) == 0) {
		if (ANYK_S_ISREG(st.st_mode)) {
			sum = (uint64_t)st.st_size;
		} else if (ANYK_S_ISDIR(st.st_mode) && c->r) {
			fd = anyk_sys_open(p->path, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_CLOEXEC, 0);
			if (fd >= 0)
				sum = kdir_bytes(fd, 0);
		}
	}
	anyk_proc_switch(was);
	return sum;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count the total once the copy has lasted long enough for a bar. */
static void
maybe_total(struct cp *c)
{
	uint64_t total = 0;
	int i;

	if (!c->want_total || mono() - c->prog.start < TOTAL_AFTER)
		return;
	c->want_total = 0;
	for (i = 0; i < c->nsrc; i++)
		total += src_bytes(c, &c->src[i]);
	c->prog.total = total;
}

/* --- the command ------------------------------------------------------------------- */

static void
on_progress(void *arg, const struct hostcopy_stats *st)
{
	struct cp *c = arg;

	maybe_total(c);
	progress_update(&c->prog, c->base + st->bytes);
}

static void
on_report(void *arg, enum hostcopy_level lv, const char *path, const char *msg)
{
	struct cp *c = arg;

	if (c->prog.shown)
		fputc('\n', stderr);
	fflush(stdout);
	fprintf(stderr, "anyk: %s: %s%s\n", path,
	    lv == HOSTCOPY_WARN ? "warning: " : lv == HOSTCOPY_SKIP ? "skipped: " : "", msg);
	if (lv == HOSTCOPY_SKIP)
		c->skipped++;
}

static int
copy_one(struct cp *c, struct img_path *sp, struct img_path *dp, int dest_is_dir)
{
	struct hostcopy_opts ho;
	struct hostcopy_stats hs;
	struct anyk_stat st;
	char name[ANYK_NAME_MAX + 1], *dpath;
	size_t i;
	int r = EXIT_OK;
	struct kk k = { NULL, 0, 0 };

	/* Without -r a source symlink is followed, as cp does. */
	if (ep_lstat(c, sp, sp->path, &st, !c->r) != 0)
		return img_err(sp, NULL, errno);
	path_last(name, sizeof(name), sp->path);
	if (dest_is_dir && strcmp(name, "/") == 0) {
		/* An image's root has no name: its contents go into DEST. */
		dpath = xstrdup(dp->path);
	} else if (dest_is_dir) {
		if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
			return img_errmsg(sp, NULL, "cannot copy into a directory under this name");
		dpath = path_join(dp->path, name);
	} else {
		dpath = xstrdup(dp->path);
	}
	c->done = 0;
	if (ANYK_S_ISDIR(st.st_mode)) {
		if (!c->r) {
			free(dpath);
			return img_errmsg(sp, NULL, "is a directory (use -r)");
		}
		memset(&ho, 0, sizeof(ho));
		ho.flags = HOSTCOPY_KEEP_GOING;
		if (c->f)
			ho.flags |= HOSTCOPY_OVERWRITE;
		if (!c->p)
			ho.flags |= HOSTCOPY_NO_OWNER | HOSTCOPY_NO_XATTR;
		if (c->devices)
			ho.flags |= HOSTCOPY_DEVICES;
		ho.report = on_report;
		ho.progress = on_progress;
		ho.arg = c;
		memset(&hs, 0, sizeof(hs));
		if (sp->img < 0 && dp->img >= 0) {
			enter(c, dp);
			if (hostcopy_in(sp->path, dpath, &ho, &hs) != 0)
				r = EXIT_FAIL;
		} else if (sp->img >= 0 && dp->img < 0) {
			enter(c, sp);
			ho.flags |= HOSTCOPY_SAFE_LINKS;
			if (hostcopy_out(sp->path, dpath, &ho, &hs) != 0)
				r = EXIT_FAIL;
		} else if (sp->img >= 0 && dp->img >= 0) {
			r = copy_tree_kk(c, &k, sp, sp->path, dp, dpath, 0);
			for (i = 0; i < k.nlinks; i++)
				free(k.links[i].path);
			free(k.links);
		} else {
			r = img_errmsg(sp, NULL, "host to host copies are cp(1)'s work");
		}
		c->base += c->done ? c->done : hs.bytes;
		free(dpath);
		return r;
	}
	if (ANYK_S_ISREG(st.st_mode)) {
		r = copy_file(c, sp, sp->path, dp, dpath, &st);
	} else if (!c->r) {
		r = img_errmsg(sp, NULL, "not a regular file (use -r to copy it as it is)");
	} else if (sp->img >= 0 && dp->img >= 0) {
		r = copy_tree_kk(c, &k, sp, sp->path, dp, dpath, 0);
		free(k.links);
	} else {
		r = img_errmsg(sp, NULL, "special files go between the host and an image only inside a tree (-r on a directory)");
	}
	c->base += c->done;
	free(dpath);
	return r;
}

int
cmd_img_cp(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(cp);
	static const struct lopt longs[] = {
		{ "devices", 0, O_DEVICES }, { "progress", 0, O_PROGRESS },
		{ "no-progress", 0, O_NO_PROGRESS }, { "recursive", 0, 'r' },
		{ "preserve", 0, 'p' }, { "force", 0, 'f' }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path *p, *dp;
	struct anyk_stat st;
	struct iopts o;
	struct cp c;
	int ch, i, n, pmode = PROGRESS_AUTO, dest_is_dir, status = EXIT_OK;

	memset(&c, 0, sizeof(c));
	c.s = &s;
	iopt_init(&o, &cmd, &s, argc, argv);
	while ((ch = iopt_next(&o, "rRpfao:", longs)) != IOPT_END) {
		switch (ch) {
		case 'r': case 'R': c.r = 1; break;
		case 'p': c.p = 1; break;
		case 'a': c.r = c.p = 1; break;
		case 'f': c.f = 1; break;
		case O_DEVICES: c.devices = 1; break;
		case O_PROGRESS: pmode = PROGRESS_ON; break;
		case O_NO_PROGRESS: pmode = PROGRESS_OFF; break;
		default:
			return iopt_fail(ch);
		}
	}
	if (o.noperands < 2)
		return err_usage(&cmd, "missing %s", o.noperands ? "destination" : "source and destination");
	n = o.noperands;
	p = xmalloc(sizeof(*p) * (size_t)n);
	memset(p, 0, sizeof(*p) * (size_t)n);
	dp = &p[n - 1];
	/* The destination first: its image is the one mounted read-write. */
	status = img_operand(&s, dp, o.operands[n - 1], 1, 1);
	for (i = 0; i < n - 1 && status == EXIT_OK; i++) {
		status = img_operand(&s, &p[i], o.operands[i], 0, 1);
		if (status == EXIT_OK && p[i].img < 0 && dp->img < 0)
			status = img_errmsg(&p[i], NULL, "neither source nor destination is in an image (use cp(1))");
	}
	if (status != EXIT_OK)
		goto out;
	if (!s.booted && (status = img_boot(&s)) != EXIT_OK)
		goto out;
	dest_is_dir = ep_lstat(&c, dp, dp->path, &st, 1) == 0 && ANYK_S_ISDIR(st.st_mode);
	if (n > 2 && !dest_is_dir) {
		status = img_err(dp, NULL, ENOTDIR);
		goto out;
	}
	progress_init(&c.prog, pmode, 0);
	c.src = p;
	c.nsrc = n - 1;
	c.want_total = c.prog.mode == PROGRESS_ON;
	for (i = 0; i < n - 1; i++)
		if (copy_one(&c, &p[i], dp, dest_is_dir) != EXIT_OK)
			status = EXIT_FAIL;
	progress_end(&c.prog);
	if (c.skipped > 0) {
		fprintf(stderr, "anyk: cp: %llu entr%s skipped\n", (unsigned long long)c.skipped,
		    c.skipped == 1 ? "y" : "ies");
		status = EXIT_FAIL;
	}
out:
	for (i = 0; i < n; i++)
		img_path_free(&p[i]);
	free(p);
	return img_close(&s, status);
}
