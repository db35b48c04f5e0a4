/*
 * anyk tar: a tree inside a disk image to a tar stream, and a tar stream
 * into an image, without root on the host (the kernel is root inside), so
 * images can be filled from, and emptied into, the archives every other
 * tool speaks. The format is tar.c's (POSIX pax as GNU tar writes it).
 *
 * Export (-c) walks the tree in the image's chrooted context in byte order
 * of names, each directory before what it holds, so the same tree gives
 * the same archive; hard links become type '1' entries naming the first
 * copy, and files with holes GNU's sparse 1.0 entries.
 *
 * Import (-x) treats the archive as hostile. Names lose a leading '/';
 * names with ".." are refused. Every entry is reached from the extraction
 * root one component at a time through the kernel with O_NOFOLLOW, so a
 * symbolic link the archive made earlier (or the image had) is never
 * followed, and nothing is made outside the root. Hard links may only
 * name entries under the root, found the same way. Directory times are set
 * last, once nothing more is made inside them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/image.h"
#include "tools/tar.h"

IMG_CMD_DECL(tar);

const char img_usage_tar[] = "-c|-x|-t [-v] [-f ARCHIVE] [-o OPTS] [IMAGE[@PART]:PATH]";
const char img_help_tar[] =
	"Write a tree in a disk image as a tar archive, or unpack one into it.\n"
	"  -c          archive the tree under PATH (names relative to it, sorted)\n"
	"  -x          unpack into the directory PATH (made if missing), with\n"
	"              owners, modes, nanosecond times, links, devices, xattrs\n"
	"  -t          list the archive's names (no image needed)\n"
	"  -f ARCHIVE  the archive's host file; - or none: stdin / stdout\n"
	"  -v          name each entry on stderr (-c, -x) or list like ls -l (-t)\n"
	"The format is POSIX pax as GNU tar writes with --format=posix --xattrs;\n"
	"files with holes are GNU sparse 1.0 entries. Unpacking reads ustar, pax,\n"
	"GNU long names and GNU sparse files too. Names lose a leading '/'; names\n"
	"with '..', entries that would pass through a symbolic link, and hard links\n"
	"to anything outside PATH are skipped and reported, and the command then\n"
	"exits with status 1.";

#define CHUNK (1 << 20)

struct tar {
	struct img_session *s;
	struct img_path *p;
	int verbose;
	int status;
	uint64_t skipped;
	char *buf;
	/* export: (dev, ino) of files with several links -> first name */
	struct lent { uint64_t dev, ino; char *name; } *links;
	size_t nlinks, lcap;
	/* import: directories whose times wait for the end */
	struct dent { char *rel; struct anyk_timespec ts[2]; } *dirs;
	size_t ndirs, dcap;
	int rootfd;
	int warned_abs;
};

static void *
grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 64;
	v = realloc(v, *cap * size);
	if (v == NULL) {
		fprintf(stderr, "anyk: out of memory\n");
		exit(EXIT_FAIL);
	}
	return v;
}

/* "anyk: NAME: reason" for an entry; counts it as skipped or failed. */
static void __attribute__((format(printf, 3, 4)))
report(struct tar *t, const char *name, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "anyk: %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	t->skipped++;
	t->status = EXIT_FAIL;
}

/* --- export ---------------------------------------------------------------- */

static const char *
link_find(struct tar *t, uint64_t dev, uint64_t ino)
{
	size_t i;

	/* Only files with several links are kept, so the list is short in
	 * most trees; a linear search keeps this simple. */
	for (i = t->nlinks; i > 0; i--)
		if (t->links[i - 1].ino == ino && t->links[i - 1].dev == dev)
			return t->links[i - 1].name;
	return NULL;
}

static void
get_xattrs(struct tar *t, const char *kpath, struct tar_entry *e)
{
	static char list[ANYK_XATTR_LIST_MAX], val[ANYK_XATTR_SIZE_MAX];
	anyk_ssize_t n, v;
	char *a;

	n = anyk_sys_llistxattr(kpath, list, sizeof(list));
	if (n < 0) {
		if (errno != ENOTSUP && errno != EOPNOTSUPP)
			report(t, kpath, "cannot list extended attributes: %s", strerror(errno));
		return;
	}
	for (a = list; a < list + n; a += strlen(a) + 1) {
		if (*a == '\0')
			continue;
		v = anyk_sys_lgetxattr(kpath, a, val, sizeof(val));
		if (v < 0) {
			report(t, kpath, "cannot read extended attribute %s: %s", a, strerror(errno));
			continue;
		}
		if (tar_entry_add_xattr(e, a, val, (size_t)v) != 0) {
			fprintf(stderr, "anyk: out of memory\n");
			exit(EXIT_FAIL);
		}
	}
}

/* The data ranges of fd, as SEEK_DATA/SEEK_HOLE report them. */
static int
find_regions(int fd, uint64_t size, struct tar_entry *e)
{
	int64_t pos = 0, d, h;
	size_t cap = 0;

	while ((uint64_t)pos < size) {
		d = anyk_sys_lseek(fd, pos, ANYK_SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;
		if (d < 0) {
			d = pos;
			h = (int64_t)size; /* no hole support: all data */
		} else {
			h = anyk_sys_lseek(fd, d, ANYK_SEEK_HOLE);
			if (h < 0 || (uint64_t)h > size)
				h = (int64_t)size;
		}
		if (h <= d)
			break;
		e->map = grow(e->map, &cap, e->nmap, sizeof(*e->map));
		e->map[e->nmap].off = (uint64_t)d;
		e->map[e->nmap].len = (uint64_t)(h - d);
		e->nmap++;
		pos = h;
	}
	return 0;
}

static int
put_file(struct tar *t, struct tar_out *o, const char *kpath, const char *name, struct tar_entry *e,
	 const struct anyk_stat *st)
{
	struct anyk_stat now;
	uint64_t data = 0, off, left;
	anyk_ssize_t n;
	size_t i, want;
	int fd, r;

	fd = anyk_sys_open(kpath, ANYK_O_RDONLY | ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC, 0);
	if (fd < 0) {
		report(t, name, "cannot open: %s", strerror(errno));
		return 0;
	}
	if (anyk_sys_fstat(fd, &now) != 0 || now.st_ino != st->st_ino) {
		report(t, name, "changed while being archived");
		anyk_sys_close(fd);
		return 0;
	}
	find_regions(fd, e->size, e);
	for (i = 0; i < e->nmap; i++)
		data += e->map[i].len;
	if (data < e->size) {
		e->sparse = 1;
		/* A hole at the end: the map says where the file ends. */
		if (e->nmap == 0 || e->map[e->nmap - 1].off + e->map[e->nmap - 1].len < e->size) {
			e->map = realloc(e->map, (e->nmap + 1) * sizeof(*e->map));
			if (e->map == NULL) {
				fprintf(stderr, "anyk: out of memory\n");
				exit(EXIT_FAIL);
			}
			e->map[e->nmap].off = e->size;
			e->map[e->nmap].len = 0;
			e->nmap++;
		}
	} else {
		free(e->map);
		e->map = NULL;
		e->nmap = 0;
	}
	if (tar_write_header(o, e) != 0) {
		anyk_sys_close(fd);
		return -1;
	}
	/* A plain file is one region from 0. */
	for (i = 0; i < (e->sparse ? e->nmap : 1); i++) {
		off = e->sparse ? e->map[i].off : 0;
		left = e->sparse ? e->map[i].len : e->size;
		while (left > 0) {
			want = left > CHUNK ? CHUNK : (size_t)left;
			n = anyk_sys_pread(fd, t->buf, want, (anyk_off_t)off);
			if (n <= 0) {
				if (n < 0)
					report(t, name, "cannot read: %s", strerror(errno));
				left = 0;
				break;
			}
			if (tar_write_data(o, t->buf, (size_t)n) != 0) {
				anyk_sys_close(fd);
				return -1;
			}
			off += (uint64_t)n;
			left -= (uint64_t)n;
		}
	}
	anyk_sys_close(fd);
	r = tar_end_entry(o);
	if (r < 0)
		return -1;
	if (r > 0)
		report(t, name, "file shrank while being archived; padded with zeros");
	return 0;
}

/* One entry and, for a directory, everything below it. -1 only when the
 * archive cannot be written (nothing more can be done). */
static int
put_tree(struct tar *t, struct tar_out *o, const char *kpath, const char *name, int depth)
{
	char target[ANYK_PATH_MAX], **names, *sub, *sname;
	struct tar_entry e;
	struct anyk_stat st;
	const char *first;
	anyk_ssize_t n;
	size_t cnt, i;
	int r = 0;

	if (anyk_sys_lstat(kpath, &st) != 0) {
		report(t, name, "cannot stat: %s", strerror(errno));
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.mode = st.st_mode & 07777;
	e.uid = st.st_uid;
	e.gid = st.st_gid;
	e.mtime = st.st_mtim.tv_sec;
	e.mtime_ns = (uint32_t)st.st_mtim.tv_nsec;
	e.has_atime = 1;
	e.atime = st.st_atim.tv_sec;
	e.atime_ns = (uint32_t)st.st_atim.tv_nsec;
	e.path = xstrdup(name);
	if (t->verbose)
		fprintf(stderr, "%s\n", name);
	if (!ANYK_S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
	    (first = link_find(t, st.st_dev, st.st_ino)) != NULL) {
		e.type = TAR_LINK;
		e.linkpath = xstrdup(first);
		r = tar_write_header(o, &e) != 0 || tar_end_entry(o) < 0 ? -1 : 0;
		tar_entry_free(&e);
		return r;
	}
	get_xattrs(t, kpath, &e);
	switch (st.st_mode & ANYK_S_IFMT) {
	case ANYK_S_IFREG:
		e.type = TAR_REG;
		e.size = (uint64_t)st.st_size;
		r = put_file(t, o, kpath, name, &e, &st);
		break;
	case ANYK_S_IFLNK:
		e.type = TAR_SYMLINK;
		n = anyk_sys_readlink(kpath, target, sizeof(target) - 1);
		if (n < 0) {
			report(t, name, "cannot read the symbolic link: %s", strerror(errno));
			goto out;
		}
		target[n] = '\0';
		e.linkpath = xstrdup(target);
		break;
	case ANYK_S_IFCHR:
	case ANYK_S_IFBLK:
		e.type = ANYK_S_ISCHR(st.st_mode) ? TAR_CHR : TAR_BLK;
		e.devmajor = ANYK_MAJOR(st.st_rdev);
		e.devminor = ANYK_MINOR(st.st_rdev);
		break;
	case ANYK_S_IFIFO:
		e.type = TAR_FIFO;
		break;
	case ANYK_S_IFDIR:
		e.type = TAR_DIR;
		/* Directories end with '/', as GNU tar writes them. */
		free(e.path);
		e.path = xmalloc(strlen(name) + 2);
		sprintf(e.path, "%s%s", name, name[strlen(name) - 1] == '/' ? "" : "/");
		break;
	default:
		report(t, name, "skipped: sockets cannot be archived");
		goto out;
	}
	if (e.type != TAR_REG && (tar_write_header(o, &e) != 0 || tar_end_entry(o) < 0))
		r = -1;
	if (r == 0 && !ANYK_S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		t->links = grow(t->links, &t->lcap, t->nlinks, sizeof(*t->links));
		t->links[t->nlinks].dev = st.st_dev;
		t->links[t->nlinks].ino = st.st_ino;
		t->links[t->nlinks++].name = xstrdup(name);
	}
	if (r == 0 && e.type == TAR_DIR) {
		if (depth > 4000) {
			report(t, name, "too deep, contents not archived");
			goto out;
		}
		if (kdir_names(kpath, &names, &cnt) != 0) {
			report(t, name, "cannot read the directory: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < cnt && r == 0; i++) {
			sub = path_join(kpath, names[i]);
			sname = strcmp(name, "./") == 0 ? path_join(".", names[i]) : path_join(name, names[i]);
			r = put_tree(t, o, sub, sname, depth + 1);
			free(sub);
			free(sname);
		}
		knames_free(names, cnt);
	}
out:
	tar_entry_free(&e);
	return r;
}

static int
do_create(struct tar *t, FILE *f)
{
	struct tar_out o;
	struct anyk_stat st;
	char base[ANYK_NAME_MAX + 1];
	int r;

	tar_out_init(&o, f);
	img_enter(t->s, t->p->img);
	if (anyk_sys_stat(t->p->path, &st) != 0)
		return img_err(t->p, NULL, errno);
	if (ANYK_S_ISDIR(st.st_mode)) {
		r = put_tree(t, &o, t->p->path, "./", 0);
	} else {
		path_last(base, sizeof(base), t->p->path);
		r = put_tree(t, &o, t->p->path, base, 0);
	}
	if (r != 0 || tar_finish(&o) != 0) {
		fprintf(stderr, "anyk: cannot write the archive: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return t->status;
}

/* --- import ---------------------------------------------------------------- */

/*
 * The archive's name made safe: no leading '/', no "." or empty
 * components. NULL (after reporting) when it has a ".." component.
 */
static char *
clean_name(struct tar *t, const char *name, const char *what)
{
	char *out = xmalloc(strlen(name) + 1), *o = out;
	const char *p = name, *c;
	size_t len;

	if (*p == '/') {
		if (!t->warned_abs++)
			fprintf(stderr, "anyk: removing leading '/' from %s names\n", what);
		while (*p == '/')
			p++;
	}
	while (*p != '\0') {
		c = strchr(p, '/');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return NULL;
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	*o = '\0';
	return out;
}

/*
 * Open the directory that holds rel's last component, walking from the
 * root without following any symbolic link; with create, missing
 * directories on the way are made. *leaf points into rel. Returns a
 * descriptor (t->rootfd itself for a top-level name) or -1 with *why.
 */
static int
open_parent(struct tar *t, char *rel, int create, const char **leaf, const char **why)
{
	struct anyk_stat st;
	char *p = rel, *slash;
	int dfd = t->rootfd, nfd;

	*why = NULL;
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		nfd = anyk_sys_openat(dfd, p, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC, 0);
		if (nfd < 0 && errno == ENOENT && create) {
			if (anyk_sys_mkdirat(dfd, p, 0755) != 0 && errno != EEXIST)
				goto fail;
			nfd = anyk_sys_openat(dfd, p, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC, 0);
		}
		if (nfd < 0) {
			if (anyk_sys_fstatat(dfd, p, &st, ANYK_AT_SYMLINK_NOFOLLOW) == 0 && ANYK_S_ISLNK(st.st_mode))
				*why = "a symbolic link is in the way (not followed)";
			goto fail;
		}
		*slash = '/';
		if (dfd != t->rootfd)
			anyk_sys_close(dfd);
		dfd = nfd;
		p = slash + 1;
	}
	*leaf = p;
	return dfd;
fail:
	if (*why == NULL)
		*why = strerror(errno);
	if (slash != NULL)
		*slash = '/';
	if (dfd != t->rootfd)
		anyk_sys_close(dfd);
	return -1;
}

static void
close_parent(struct tar *t, int dfd)
{
	if (dfd >= 0 && dfd != t->rootfd)
		anyk_sys_close(dfd);
}

/* Skip the rest of the entry's data; 0, or -1 if the archive broke. */
static int
drain(struct tar_in *in)
{
	char buf[8192];
	long n;

	while ((n = tar_read_data(in, buf, sizeof(buf))) > 0)
		;
	return n < 0 ? -1 : 0;
}

/* Write the entry's data into fd; -1 for the archive, -2 for the image. */
static int
get_data(struct tar *t, struct tar_in *in, int fd, const struct tar_entry *e)
{
	uint64_t off, left, w;
	size_t i, want, blk;
	long n;

	for (i = 0; i < (e->sparse ? e->nmap : 1); i++) {
		off = e->sparse ? e->map[i].off : 0;
		left = e->sparse ? e->map[i].len : e->size;
		while (left > 0) {
			want = left > CHUNK ? CHUNK : (size_t)left;
			n = tar_read_data(in, t->buf, want);
			if (n <= 0)
				return -1;
			/* Blocks of zeros stay holes: the final truncate
			 * gives the size. */
			for (w = 0; w < (uint64_t)n; w += blk) {
				blk = (size_t)((uint64_t)n - w > 4096 ? 4096 : (uint64_t)n - w);
				if (blk == 4096 && (off + w) % 4096 == 0 && tar_all_zero(t->buf + w, blk))
					continue;
				if (anyk_sys_pwrite(fd, t->buf + w, blk, (anyk_off_t)(off + w)) != (anyk_ssize_t)blk)
					return -2;
			}
			off += (uint64_t)n;
			left -= (uint64_t)n;
		}
	}
	return anyk_sys_ftruncate(fd, (anyk_off_t)e->size) != 0 ? -2 : 0;
}

/* Owner, mode, xattrs, times: on fd when >= 0, else on dfd/leaf. */
static void
set_attrs(struct tar *t, const struct tar_entry *e, int fd, int dfd, const char *leaf)
{
	struct anyk_timespec ts[2];
	size_t i;
	int r;

	r = fd >= 0 ? anyk_sys_fchown(fd, (anyk_uid_t)e->uid, (anyk_gid_t)e->gid)
		    : anyk_sys_fchownat(dfd, leaf, (anyk_uid_t)e->uid, (anyk_gid_t)e->gid, ANYK_AT_SYMLINK_NOFOLLOW);
	if (r != 0)
		report(t, e->path, "cannot set the owner: %s", strerror(errno));
	if (e->type != TAR_SYMLINK) {
		r = fd >= 0 ? anyk_sys_fchmod(fd, e->mode) : anyk_sys_fchmodat(dfd, leaf, e->mode, 0);
		if (r != 0)
			report(t, e->path, "cannot set the mode: %s", strerror(errno));
	}
	for (i = 0; i < e->nxattrs; i++) {
		if (fd >= 0)
			r = anyk_sys_fsetxattr(fd, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0);
		else if ((r = anyk_sys_fchdir(dfd)) == 0)
			r = anyk_sys_lsetxattr(leaf, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0);
		if (r != 0)
			report(t, e->path, "extended attribute %s not kept: %s", e->xattrs[i].name, strerror(errno));
	}
	if (e->type == TAR_DIR)
		return; /* at the end */
	ts[0].tv_sec = e->has_atime ? e->atime : 0;
	ts[0].tv_nsec = e->has_atime ? e->atime_ns : ANYK_UTIME_OMIT;
	ts[1].tv_sec = e->mtime;
	ts[1].tv_nsec = e->mtime_ns;
	r = fd >= 0 ? anyk_sys_futimens(fd, ts) : anyk_sys_utimensat(dfd, leaf, ts, ANYK_AT_SYMLINK_NOFOLLOW);
	if (r != 0)
		report(t, e->path, "cannot set the times: %s", strerror(errno));
}

/* One entry; -1 only when the archive itself cannot be read on. */
static int
get_entry(struct tar *t, struct tar_in *in, struct tar_entry *e)
{
	struct anyk_stat st;
	const char *leaf, *tleaf, *why;
	char *rel, *trel = NULL;
	int dfd = -1, tdfd = -1, fd = -1, r = 0, exists;

	rel = clean_name(t, e->path, "member");
	if (rel == NULL) {
		report(t, e->path, "skipped: name contains '..'");
		return drain(in);
	}
	if (t->verbose)
		fprintf(stderr, "%s\n", e->path);
	if (rel[0] == '\0') {
		if (e->type != TAR_DIR) {
			report(t, e->path, "skipped: no name left once '/' and '.' are removed");
			goto done;
		}
		set_attrs(t, e, t->rootfd, -1, NULL);
		t->dirs = grow(t->dirs, &t->dcap, t->ndirs, sizeof(*t->dirs));
		t->dirs[t->ndirs].rel = xstrdup("");
		goto remember_dir;
	}
	if (e->type == TAR_LINK) {
		trel = clean_name(t, e->linkpath, "hard link");
		if (trel == NULL || trel[0] == '\0') {
			report(t, e->path, "skipped: hard link to '%s' leads outside the tree", e->linkpath);
			goto done;
		}
	}
	dfd = open_parent(t, rel, 1, &leaf, &why);
	if (dfd < 0) {
		report(t, e->path, "skipped: %s", why);
		goto done;
	}
	exists = anyk_sys_fstatat(dfd, leaf, &st, ANYK_AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && e->type == TAR_DIR && ANYK_S_ISDIR(st.st_mode)) {
		/* Already there: take the archive's attributes. */
	} else if (exists && ANYK_S_ISDIR(st.st_mode)) {
		report(t, e->path, "skipped: a directory is in the way");
		goto done;
	} else if (exists && anyk_sys_unlinkat(dfd, leaf, 0) != 0) {
		report(t, e->path, "cannot replace: %s", strerror(errno));
		goto done;
	}
	switch (e->type) {
	case TAR_DIR:
		if (!(exists && ANYK_S_ISDIR(st.st_mode)) && anyk_sys_mkdirat(dfd, leaf, 0700) != 0) {
			report(t, e->path, "cannot make the directory: %s", strerror(errno));
			goto done;
		}
		fd = anyk_sys_openat(dfd, leaf, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC, 0);
		if (fd < 0) {
			report(t, e->path, "cannot open the directory: %s", strerror(errno));
			goto done;
		}
		set_attrs(t, e, fd, -1, NULL);
		t->dirs = grow(t->dirs, &t->dcap, t->ndirs, sizeof(*t->dirs));
		t->dirs[t->ndirs].rel = xstrdup(rel);
		goto remember_dir;
	case TAR_REG:
		fd = anyk_sys_openat(dfd, leaf, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_NOFOLLOW | ANYK_O_CLOEXEC, 0600);
		if (fd < 0) {
			report(t, e->path, "cannot create: %s", strerror(errno));
			goto done;
		}
		r = get_data(t, in, fd, e);
		if (r == -1)
			goto done; /* the archive's own message follows */
		if (r == -2) {
			r = 0;
			report(t, e->path, "cannot write: %s", strerror(errno));
			goto done;
		}
		set_attrs(t, e, fd, -1, NULL);
		break;
	case TAR_SYMLINK:
		if (anyk_sys_symlinkat(e->linkpath, dfd, leaf) != 0) {
			report(t, e->path, "cannot make the symbolic link: %s", strerror(errno));
			goto done;
		}
		set_attrs(t, e, -1, dfd, leaf);
		break;
	case TAR_LINK:
		tdfd = open_parent(t, trel, 0, &tleaf, &why);
		if (tdfd < 0) {
			report(t, e->path, "skipped: hard link to '%s': %s", e->linkpath, why);
			goto done;
		}
		if (anyk_sys_linkat(tdfd, tleaf, dfd, leaf, 0) != 0)
			report(t, e->path, "cannot make the hard link to '%s': %s", e->linkpath, strerror(errno));
		break;
	case TAR_CHR:
	case TAR_BLK:
	case TAR_FIFO:
		if (anyk_sys_mknodat(dfd, leaf,
		    (e->type == TAR_CHR ? ANYK_S_IFCHR : e->type == TAR_BLK ? ANYK_S_IFBLK : ANYK_S_IFIFO) | 0600,
		    ANYK_MAKEDEV(e->devmajor, e->devminor)) != 0) {
			report(t, e->path, "cannot make the node: %s", strerror(errno));
			goto done;
		}
		set_attrs(t, e, -1, dfd, leaf);
		break;
	default:
		report(t, e->path, "skipped: unknown entry type '%c'", e->type);
		break;
	}
	goto done;
remember_dir:
	t->dirs[t->ndirs].ts[0].tv_sec = e->has_atime ? e->atime : 0;
	t->dirs[t->ndirs].ts[0].tv_nsec = e->has_atime ? e->atime_ns : ANYK_UTIME_OMIT;
	t->dirs[t->ndirs].ts[1].tv_sec = e->mtime;
	t->dirs[t->ndirs].ts[1].tv_nsec = e->mtime_ns;
	t->ndirs++;
done:
	if (fd >= 0)
		anyk_sys_close(fd);
	close_parent(t, dfd);
	close_parent(t, tdfd);
	free(rel);
	free(trel);
	if (r == -1)
		return -1;
	return drain(in);
}

static void
dir_times(struct tar *t)
{
	const char *leaf, *why;
	size_t i;
	int dfd, r;

	/* Deepest last made first, so setting one does not disturb another. */
	for (i = t->ndirs; i > 0; i--) {
		struct dent *d = &t->dirs[i - 1];
		if (d->rel[0] == '\0') {
			r = anyk_sys_futimens(t->rootfd, d->ts);
		} else {
			dfd = open_parent(t, d->rel, 0, &leaf, &why);
			if (dfd < 0)
				continue; /* replaced or reported already */
			r = anyk_sys_utimensat(dfd, leaf, d->ts, ANYK_AT_SYMLINK_NOFOLLOW);
			close_parent(t, dfd);
		}
		if (r != 0)
			report(t, d->rel[0] ? d->rel : ".", "cannot set the times: %s", strerror(errno));
		free(d->rel);
	}
	t->ndirs = 0;
}

static int
do_extract(struct tar *t, FILE *f)
{
	struct tar_in in;
	struct tar_entry e;
	int r;

	img_enter(t->s, t->p->img);
	if (anyk_sys_mkdir(t->p->path, 0755) != 0 && errno != EEXIST)
		return img_err(t->p, NULL, errno);
	t->rootfd = anyk_sys_open(t->p->path, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_CLOEXEC, 0);
	if (t->rootfd < 0)
		return img_err(t->p, NULL, errno);
	tar_in_init(&in, f);
	while ((r = tar_next(&in, &e)) == 1) {
		r = get_entry(t, &in, &e);
		tar_entry_free(&e);
		if (r < 0)
			break;
	}
	dir_times(t);
	anyk_sys_close(t->rootfd);
	if (r < 0) {
		fprintf(stderr, "anyk: archive: %s (at byte %llu)\n", in.msg, (unsigned long long)in.nread);
		return EXIT_FAIL;
	}
	return t->status;
}

/* --- listing ---------------------------------------------------------------- */

static int
do_list(struct tar *t, FILE *f)
{
	struct tar_in in;
	struct tar_entry e;
	char mode[12], when[32];
	struct tm tm;
	time_t tt;
	int r;

	tar_in_init(&in, f);
	while ((r = tar_next(&in, &e)) == 1) {
		if (t->verbose) {
			anyk_mode_t m = e.mode;
			switch (e.type) {
			case TAR_DIR: m |= ANYK_S_IFDIR; break;
			case TAR_SYMLINK: m |= ANYK_S_IFLNK; break;
			case TAR_CHR: m |= ANYK_S_IFCHR; break;
			case TAR_BLK: m |= ANYK_S_IFBLK; break;
			case TAR_FIFO: m |= ANYK_S_IFIFO; break;
			default: m |= ANYK_S_IFREG; break;
			}
			fmt_mode(mode, m);
			if (e.type == TAR_LINK)
				mode[0] = 'h';
			tt = (time_t)e.mtime;
			localtime_r(&tt, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
			printf("%s %llu/%llu ", mode, (unsigned long long)e.uid, (unsigned long long)e.gid);
			if (e.type == TAR_CHR || e.type == TAR_BLK)
				printf("%u,%u", e.devmajor, e.devminor);
			else
				printf("%llu", (unsigned long long)e.size);
			printf(" %s %s", when, e.path);
			if (e.type == TAR_SYMLINK)
				printf(" -> %s", e.linkpath);
			else if (e.type == TAR_LINK)
				printf(" link to %s", e.linkpath);
			putchar('\n');
		} else {
			printf("%s\n", e.path);
		}
		tar_entry_free(&e);
	}
	if (fflush(stdout) != 0)
		return err_path("standard output");
	if (r < 0) {
		fprintf(stderr, "anyk: archive: %s (at byte %llu)\n", in.msg, (unsigned long long)in.nread);
		return EXIT_FAIL;
	}
	return t->status;
}

/* --- the command -------------------------------------------------------------- */

int
cmd_img_tar(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(tar);
	static const struct lopt longs[] = {
		{ "create", 0, 'c' }, { "extract", 0, 'x' }, { "list", 0, 't' },
		{ "file", 1, 'f' }, { "verbose", 0, 'v' }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path p;
	struct iopts o;
	struct tar t;
	const char *file = NULL;
	FILE *f = NULL;
	int c, mode = 0, status;

	memset(&t, 0, sizeof(t));
	memset(&p, 0, sizeof(p));
	iopt_init(&o, &cmd, &s, argc, argv);
	while ((c = iopt_next(&o, "cxtf:vo:", longs)) != IOPT_END) {
		switch (c) {
		case 'c': case 'x': case 't':
			if (mode != 0 && mode != c)
				return err_usage(&cmd, "only one of -c, -x and -t");
			mode = c;
			break;
		case 'f': file = o.arg; break;
		case 'v': t.verbose = 1; break;
		default:
			return iopt_fail(c);
		}
	}
	if (mode == 0 || o.noperands != (mode == 't' ? 0 : 1))
		return err_usage(&cmd, mode == 0 ? "one of -c, -x and -t is needed" :
		    mode == 't' ? "-t takes no operand" : "one IMAGE[@PART]:PATH is needed");
	if (file == NULL || strcmp(file, "-") == 0) {
		f = mode == 'c' ? stdout : stdin;
		if (mode == 'c' && isatty(STDOUT_FILENO))
			return err_usage(&cmd, "will not write an archive to a terminal (use -f or a redirection)");
	} else {
		f = fopen(file, mode == 'c' ? "wb" : "rb");
		if (f == NULL)
			return err_path(file);
	}
	t.s = &s;
	t.p = &p;
	t.buf = xmalloc(CHUNK);
	if (mode == 't') {
		status = do_list(&t, f);
	} else {
		status = img_operand(&s, &p, o.operands[0], mode == 'x', 0);
		if (status == EXIT_OK)
			status = mode == 'c' ? do_create(&t, f) : do_extract(&t, f);
		if (mode == 'c' && fflush(f) != 0 && status == EXIT_OK)
			status = err_path(file ? file : "standard output");
		if (t.skipped > 0)
			fprintf(stderr, "anyk: tar: %llu entr%s skipped or not fully %s\n",
			    (unsigned long long)t.skipped, t.skipped == 1 ? "y" : "ies",
			    mode == 'c' ? "archived" : "unpacked");
		status = img_close(&s, status);
		img_path_free(&p);
	}
	if (f != stdin && f != stdout && fclose(f) != 0 && status == EXIT_OK)
		status = err_path(file);
	for (size_t i = 0; i < t.nlinks; i++)
		free(t.links[i].name);
	free(t.links);
	free(t.dirs);
	free(t.buf);
	return status;
}
