/*
 * The IMAGE[@PART]:PATH framework (see image.h): operands, options, and the
 * life of one command's kernel: boot, attach, detect, mount, chroot, and
 * the clean shutdown that leaves every image consistent.
 *
 * File systems are found by their superblocks, one probe per type in the
 * table below, so that FAT and ISO 9660 plug in as rows when their drivers
 * land; trying mounts blindly would cost a kernel log line per failed guess.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/image.h"

/* --- small helpers --------------------------------------------------------- */

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "anyk: out of memory\n");
		exit(EXIT_FAIL);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	p = xmalloc(dl + nl + 2);
	memcpy(p, dir, dl);
	if (dl == 0 || dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

void
path_last(char *buf, size_t n, const char *path)
{
	size_t len = strlen(path), start;

	while (len > 1 && path[len - 1] == '/')
		len--;
	start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (len - start == 0 && len > 0) {
		snprintf(buf, n, "/");
		return;
	}
	snprintf(buf, n, "%.*s", (int)(len - start), path + start);
}

/* --- options --------------------------------------------------------------- */

void
iopt_init(struct iopts *o, const struct tool_cmd *cmd, struct img_session *s,
	  int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	o->argc = argc;
	o->argv = argv;
	o->ind = 1;
	o->cmd = cmd;
	o->s = s;
	/* An operand is moved to argv[1 + noperands], a slot already read:
	 * ind only moves ahead of it. */
	o->operands = argv + 1;
	img_session_init(s);
}

int
iopt_fail(int c)
{
	return c == IOPT_HELP ? EXIT_OK : EXIT_USAGE;
}

static int
long_option(struct iopts *o, const char *word, const struct lopt *longs)
{
	const char *eq = strchr(word, '=');
	size_t len = eq != NULL ? (size_t)(eq - word) : strlen(word);
	const struct lopt *l, *hit = NULL;
	int n = 0;

	o->ind++;
	if (len == 4 && strncmp(word, "help", 4) == 0 && eq == NULL) {
		cmd_print_help(stdout, o->cmd, "anyk ");
		return IOPT_HELP;
	}
	/* Unambiguous prefixes are accepted, as getopt_long does. */
	for (l = longs; l != NULL && l->name != NULL; l++) {
		if (strncmp(l->name, word, len) != 0)
			continue;
		if (strlen(l->name) == len) {
			hit = l;
			n = 1;
			break;
		}
		hit = l;
		n++;
	}
	if (n != 1) {
		err_usage(o->cmd, "%s option '--%.*s'", n ? "ambiguous" : "unknown",
		    (int)len, word);
		return IOPT_ERR;
	}
	if (hit->has_arg) {
		if (eq != NULL) {
			o->arg = eq + 1;
		} else if (o->ind < o->argc) {
			o->arg = o->argv[o->ind++];
		} else {
			err_usage(o->cmd, "option '--%s' requires an argument", hit->name);
			return IOPT_ERR;
		}
	} else if (eq != NULL) {
		err_usage(o->cmd, "option '--%s' takes no argument", hit->name);
		return IOPT_ERR;
	}
	return hit->val;
}

/* iopt_next without -o's handling. */
static int
next_option(struct iopts *o, const char *spec, const struct lopt *longs)
{
	struct opt so;
	const char *word;
	int c;

	o->arg = NULL;
	while (o->pos == 0) {
		if (o->ind >= o->argc)
			return IOPT_END;
		word = o->argv[o->ind];
		if (o->done || word[0] != '-' || word[1] == '\0') {
			o->operands[o->noperands++] = o->argv[o->ind++];
			continue;
		}
		if (strcmp(word, "--") == 0) {
			o->done = 1;
			o->ind++;
			continue;
		}
		if (word[1] == '-')
			return long_option(o, word + 2, longs);
		o->pos = 1;
	}
	/* Inside a word of short options, util.c's getopt reads them. */
	so.ind = o->ind;
	so.pos = o->pos;
	so.cmd = o->cmd;
	c = opt_next(&so, o->argc, o->argv, spec);
	o->ind = so.ind;
	o->pos = so.pos;
	o->arg = so.arg;
	return c == OPT_ERR ? IOPT_ERR : c;
}

int
iopt_next(struct iopts *o, const char *spec, const struct lopt *longs)
{
	int c;

	while ((c = next_option(o, spec, longs)) == 'o')
		img_set_mount_opts(o->s, o->arg);
	return c;
}

/* --- operands -------------------------------------------------------------- */

static int
host_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int
img_path_parse(const char *arg, struct img_path *p)
{
	const char *colon = strchr(arg, ':'), *rest;
	char *prefix, *at;

	memset(p, 0, sizeof(*p));
	p->arg = arg;
	p->img = -1;
	if (colon == NULL) {
		p->path = xstrdup(arg);
		return 0;
	}
	prefix = xmalloc((size_t)(colon - arg) + 1);
	memcpy(prefix, arg, (size_t)(colon - arg));
	prefix[colon - arg] = '\0';
	at = strrchr(prefix, '@');
	/* A host file whose own name has a colon stays a host path, unless
	 * what is before the colon is an image too. */
	if (!host_exists(prefix) && host_exists(arg)) {
		if (at == NULL || (*at = '\0', !host_exists(prefix))) {
			free(prefix);
			p->path = xstrdup(arg);
			return 0;
		}
		*at = '@';
	}
	if (prefix[0] == '\0') {
		free(prefix);
		fprintf(stderr, "anyk: %s: no image named before the ':'\n", arg);
		return EXIT_USAGE;
	}
	if (!host_exists(prefix) && at != NULL) {
		*at = '\0';
		if (at[1] == '\0' || prefix[0] == '\0') {
			free(prefix);
			fprintf(stderr, "anyk: %s: expected IMAGE@PART:PATH\n", arg);
			return EXIT_USAGE;
		}
		p->part = xstrdup(at + 1);
	}
	p->file = prefix;
	rest = colon + 1;
	if (rest[0] == '/')
		p->path = xstrdup(rest);
	else
		p->path = path_join("/", rest);
	return 0;
}

void
img_path_free(struct img_path *p)
{
	free(p->file);
	free(p->part);
	free(p->path);
	p->file = p->part = p->path = NULL;
}

/* --- messages -------------------------------------------------------------- */

char *
img_name(const struct img_path *p, const char *sub)
{
	const char *base = p->path;
	char *path, *out;
	size_t n;

	if (sub != NULL && sub[0] == '/')
		path = xstrdup(sub);
	else if (sub != NULL && sub[0] != '\0')
		path = path_join(base, sub);
	else
		path = xstrdup(base);
	if (p->file == NULL)
		return path;
	n = strlen(p->file) + (p->part ? strlen(p->part) + 1 : 0) + strlen(path) + 2;
	out = xmalloc(n);
	snprintf(out, n, "%s%s%s:%s", p->file, p->part ? "@" : "", p->part ? p->part : "", path);
	free(path);
	return out;
}

int
img_err(const struct img_path *p, const char *sub, int e)
{
	char *name = img_name(p, sub);

	fflush(stdout);
	fprintf(stderr, "anyk: %s: %s\n", name, strerror(e));
	free(name);
	return EXIT_FAIL;
}

int
img_errmsg(const struct img_path *p, const char *sub, const char *fmt, ...)
{
	char *name = img_name(p, sub);
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "anyk: %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	free(name);
	return EXIT_FAIL;
}

/* --- file system detection ------------------------------------------------- */

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* ext2/3/4: the superblock's magic at 1024 + 0x38; the feature flags tell
 * the variants apart (the driver mounts all three under any name, but the
 * user is told the one mke2fs would call it). */
static const char *
probe_ext(const unsigned char *buf, size_t len)
{
	const unsigned char *sb = buf + 1024;

	if (len < 2048 || (sb[0x38] | sb[0x39] << 8) != 0xEF53)
		return NULL;
	if (le32(sb + 0x4C) == 0)
		return "ext2";
	if ((le32(sb + 0x60) & 0xFFC0u) || (le32(sb + 0x64) & 0xFFF8u))
		return "ext4";
	if (le32(sb + 0x5C) & 0x4)
		return "ext3";
	return "ext2";
}

struct fs_probe {
	const char *(*probe)(const unsigned char *buf, size_t len);
};

static const struct fs_probe probes[] = {
	{ probe_ext },
};

#define PROBE_LEN 4096

/* Which file system is on the kernel block device dev, or NULL. */
static const char *
probe_dev(const char *dev)
{
	static unsigned char buf[PROBE_LEN];
	const char *t;
	anyk_ssize_t n;
	size_t i;
	int fd;

	fd = anyk_sys_open(dev, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	n = anyk_sys_pread(fd, buf, sizeof(buf), 0);
	anyk_sys_close(fd);
	if (n <= 0)
		return NULL;
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if ((t = probes[i].probe(buf, (size_t)n)) != NULL)
			return t;
	return NULL;
}

/* --- the session ------------------------------------------------------------ */

void
img_session_init(struct img_session *s)
{
	memset(s, 0, sizeof(*s));
	s->current = -2;
}

void
img_set_mount_opts(struct img_session *s, const char *opts)
{
	static char rest[512];
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", opts);
	rest[0] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "ro") == 0) {
			if (!s->force_ro)
				s->force_ro = 1;
			continue;
		}
		if (strcmp(tok, "rw") == 0)
			continue;
		/* The journal left as it is: only a read-only mount may. */
		if (strcmp(tok, "norecovery") == 0 || strcmp(tok, "noload") == 0)
			s->force_ro = 2;
		if (rest[0] != '\0')
			strncat(rest, ",", sizeof(rest) - strlen(rest) - 1);
		strncat(rest, tok, sizeof(rest) - strlen(rest) - 1);
	}
	s->mopts = rest;
}

int
img_boot(struct img_session *s)
{
	if (s->booted)
		return EXIT_OK;
	if (boot_kernel() != EXIT_OK)
		return EXIT_FAIL;
	s->booted = 1;
	if (anyk_sys_mkdir("/img", 0700) != 0 && errno != EEXIST)
		return err_path("kernel /img");
	return EXIT_OK;
}

static int
same_image(const struct img *im, const struct img_path *p)
{
	struct stat a, b;

	if ((im->part == NULL) != (p->part == NULL))
		return 0;
	if (im->part != NULL && strcmp(im->part, p->part) != 0)
		return 0;
	if (strcmp(im->file, p->file) == 0)
		return 1;
	return stat(im->file, &a) == 0 && stat(p->file, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Choose the block device of im: the named partition, the whole disk, or
 * the only partition with a file system on it. */
static int
pick_device(struct img *im, const char *what)
{
	struct anyk_partinfo pi;
	char found[64] = "", disk[sizeof(im->disk)];
	int i, nfs = 0;

	memcpy(disk, im->disk, sizeof(disk));

	if (im->part != NULL && all_digits(im->part) && strlen(im->part) < 12) {
		snprintf(im->dev, sizeof(im->dev), "%sp%s", disk, im->part);
		if (anyk_sys_access(im->dev, ANYK_F_OK) != 0)
			return err_msg(what, "no partition %s on this disk", im->part);
	} else if (im->part != NULL) {
		for (i = 0; anyk_disk_partinfo(im->disk, i, &pi) == 0; i++)
			if (pi.scheme == ANYK_PART_GPT && strcmp(pi.name, im->part) == 0)
				break;
		if (anyk_disk_partinfo(im->disk, i, &pi) != 0)
			return err_msg(what, "no partition named \"%s\" on this disk", im->part);
		snprintf(im->dev, sizeof(im->dev), "%s", pi.devpath);
	} else {
		snprintf(im->dev, sizeof(im->dev), "%s", disk);
		if (probe_dev(im->dev) == NULL) {
			for (i = 0; anyk_disk_partinfo(im->disk, i, &pi) == 0; i++) {
				if (probe_dev(pi.devpath) != NULL) {
					nfs++;
					snprintf(found, sizeof(found), "%s", pi.devpath);
				}
			}
			if (nfs == 1)
				snprintf(im->dev, sizeof(im->dev), "%s", found);
			else if (nfs > 1)
				return err_msg(what, "%d partitions hold file systems: "
				    "name one as IMAGE@N:PATH or IMAGE@NAME:PATH (see 'anyk info')", nfs);
		}
	}
	im->fstype = probe_dev(im->dev);
	if (im->fstype == NULL)
		return err_msg(what, "no file system anyk knows (ext2/3/4) found%s",
		    im->part ? " in that partition" : "");
	return EXIT_OK;
}

static int
mount_image(struct img_session *s, struct img *im, const char *what)
{
	struct anyk_proc *prev;
	unsigned long flags = im->rdonly ? ANYK_MNT_RDONLY : 0;

	if (anyk_sys_mkdir(im->mnt, 0700) != 0 && errno != EEXIST)
		return err_path(im->mnt);
	if (anyk_sys_mount(im->dev, im->mnt, im->fstype, flags, s->mopts ? s->mopts : "") != 0) {
		if (errno == EROFS && !im->rdonly)
			return err_msg(what, "cannot mount %s read-write: %s", im->fstype,
			    "the driver refuses to write this file system (read-only features, or it needs recovery)");
		return err_msg(what, "cannot mount %s: %s (see 'anyk dmesg')", im->fstype,
		    strerror(errno));
	}
	im->mounted = 1;
	/* The image's own context, rooted at its mount: user paths and the
	 * image's absolute symlinks resolve inside the image, never in the
	 * kernel's /dev or root tmpfs. */
	im->proc = anyk_proc_create(NULL, 0);
	if (im->proc == NULL)
		return err_path("kernel process context");
	prev = anyk_proc_switch(im->proc);
	if (anyk_sys_chroot(im->mnt) != 0 || anyk_sys_chdir("/") != 0) {
		int e = errno;
		anyk_proc_switch(prev);
		errno = e;
		return err_path(im->mnt);
	}
	anyk_proc_switch(prev);
	return EXIT_OK;
}

int
img_add(struct img_session *s, struct img_path *p, int writable)
{
	struct img *im;
	char what[4200];
	int i, r, cur, lockfd;

	if (p->file == NULL)
		return EXIT_OK;
	if (img_boot(s) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; i < s->nimg; i++) {
		if (same_image(&s->img[i], p)) {
			if (writable && s->img[i].rdonly)
				return err_msg(p->arg, "image is open read-only (-o ro)");
			p->img = i;
			return EXIT_OK;
		}
	}
	snprintf(what, sizeof(what), "%s%s%s", p->file, p->part ? "@" : "", p->part ? p->part : "");
	if (s->nimg == IMG_MAX)
		return err_msg(what, "too many images in one command (at most %d)", IMG_MAX);
	if (!host_exists(p->file))
		return err_msg(p->file, "%s", strerror(errno));
	if (writable && s->force_ro)
		return err_msg(what, "cannot write with -o %s",
		    s->force_ro == 2 ? "norecovery (the journal is left unreplayed: read-only)" : "ro");
	lockfd = image_lock(p->file, writable);
	if (lockfd < 0)
		return EXIT_FAIL;
	/* Devices and mount points are the kernel's, outside every image's
	 * root: a command that has already entered an image (ls of several
	 * operands) leaves it for this, and comes back. */
	cur = s->current;
	img_enter(s, -1);
	im = &s->img[s->nimg];
	memset(im, 0, sizeof(*im));
	im->file = xstrdup(p->file);
	im->part = p->part ? xstrdup(p->part) : NULL;
	im->rdonly = !writable || s->force_ro;
	im->lockfd = lockfd;
	snprintf(im->disk, sizeof(im->disk), "/dev/sd%d", s->nimg);
	snprintf(im->mnt, sizeof(im->mnt), "/img/%d", s->nimg);
	s->nimg++;
	if (anyk_disk_attach(im->disk, im->file, im->rdonly ? ANYK_DISK_RDONLY : 0) != 0) {
		r = err_msg(p->file, "cannot attach: %s", strerror(errno));
		img_enter(s, cur);
		return r;
	}
	r = pick_device(im, what);
	if (r == EXIT_OK)
		r = mount_image(s, im, what);
	if (r == EXIT_OK)
		p->img = s->nimg - 1;
	img_enter(s, cur);
	return r;
}

void
img_enter(struct img_session *s, int i)
{
	if (s->current == i)
		return;
	anyk_proc_switch(i >= 0 ? s->img[i].proc : NULL);
	s->current = i;
}

int
img_close(struct img_session *s, int status)
{
	struct img *im;
	int i;

	if (!s->booted)
		return status;
	img_enter(s, -1);
	for (i = s->nimg - 1; i >= 0; i--) {
		im = &s->img[i];
		if (im->proc != NULL)
			anyk_proc_release(im->proc);
		im->proc = NULL;
		if (im->mounted) {
			if (anyk_sys_unmount(im->mnt, 0) != 0) {
				err_msg(im->file, "cannot unmount cleanly: %s", strerror(errno));
				status = EXIT_FAIL;
			}
			im->mounted = 0;
		}
		anyk_disk_detach(im->disk);
		if (im->lockfd >= 0)
			close(im->lockfd);
		im->lockfd = -1;
		free(im->file);
		free(im->part);
	}
	s->nimg = 0;
	if (anyk_fini() != 0) {
		fprintf(stderr, "anyk: kernel shutdown: %s\n", strerror(errno));
		status = EXIT_FAIL;
	}
	s->booted = 0;
	return status;
}

int
img_operand(struct img_session *s, struct img_path *p, const char *arg, int writable,
	    int host_ok)
{
	int r = img_path_parse(arg, p);

	if (r != 0)
		return r;
	if (p->file == NULL && !host_ok) {
		fprintf(stderr, "anyk: %s: not an image path (expected IMAGE[@PART]:PATH)\n", arg);
		return EXIT_USAGE;
	}
	return img_add(s, p, writable);
}

/* --- directories ------------------------------------------------------------ */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
kdir_names(const char *path, char ***names, size_t *count)
{
	char buf[8192], **v = NULL;
	size_t n = 0, cap = 0, off;
	anyk_ssize_t got;
	struct anyk_dirent *d;
	int fd, e;

	fd = anyk_sys_open(path, ANYK_O_RDONLY | ANYK_O_DIRECTORY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while ((got = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < (size_t)got; off += d->d_reclen) {
			d = (struct anyk_dirent *)(void *)(buf + off);
			if (d->d_reclen == 0)
				break;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = realloc(v, cap * sizeof(*v));
				if (v == NULL) {
					fprintf(stderr, "anyk: out of memory\n");
					exit(EXIT_FAIL);
				}
			}
			v[n++] = xstrdup(d->d_name);
		}
	}
	e = errno;
	anyk_sys_close(fd);
	if (got < 0) {
		knames_free(v, n);
		errno = e;
		return -1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	*count = n;
	return 0;
}

void
knames_free(char **names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* --- dates ------------------------------------------------------------------- */

static int
digits(const char **s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int
parse_frac(const char **s, int64_t *ns)
{
	int64_t v = 0, scale = 100000000;

	if (**s != '.' && **s != ',')
		return 0;
	(*s)++;
	if (**s < '0' || **s > '9')
		return -1;
	for (; **s >= '0' && **s <= '9'; (*s)++) {
		v += (**s - '0') * scale;
		scale /= 10;
	}
	*ns = v;
	return 0;
}

int
parse_date(const char *s, struct anyk_timespec *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, zh, zm = 0, sign, zone = 0;
	int64_t ns = 0, secs, zoff = 0;
	char *end;

	if (s[0] == '@') {
		errno = 0;
		secs = strtoll(s + 1, &end, 10);
		if (end == s + 1 || errno != 0)
			return -1;
		s = end;
		if (parse_frac(&s, &ns) != 0 || *s != '\0')
			return -1;
		out->tv_sec = secs;
		out->tv_nsec = secs < 0 && ns ? ns : ns;
		return 0;
	}
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -1;
	if (*s == 'T' || *s == ' ') {
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return -1;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &se) || parse_frac(&s, &ns))
				return -1;
		}
	}
	if (*s == 'Z') {
		zone = 1;
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &zh))
			return -1;
		if (*s == ':')
			s++;
		if (*s != '\0' && digits(&s, 2, &zm))
			return -1;
		zone = 1;
		zoff = sign * ((int64_t)zh * 3600 + zm * 60);
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tm.tm_isdst = -1;
	secs = zone ? (int64_t)timegm(&tm) - zoff : (int64_t)mktime(&tm);
	out->tv_sec = secs;
	out->tv_nsec = ns;
	return 0;
}
