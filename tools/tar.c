/*
 * The bytes of a tar archive (see tar.h), written from the POSIX pax
 * interchange format: 512-byte blocks; a ustar header of fixed fields in
 * octal; "LEN KEY=VALUE\n" records in a pax extended header ('x') for what
 * does not fit; GNU tar's own conventions for xattrs (SCHILY.xattr.NAME)
 * and sparse files.
 *
 * Reading trusts nothing: every number is checked against its field, every
 * record against its header's size, and the sizes of long names, pax
 * headers and sparse maps are bounded, so a hostile archive costs at most
 * a few megabytes of memory and fails with a message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tar.h"

/* Field offsets and lengths in a ustar header. */
#define H_NAME 0
#define H_MODE 100
#define H_UID 108
#define H_GID 116
#define H_SIZE 124
#define H_MTIME 136
#define H_CHKSUM 148
#define H_TYPE 156
#define H_LINK 157
#define H_MAGIC 257
#define H_VERSION 263
#define H_UNAME 265
#define H_GNAME 297
#define H_DEVMAJOR 329
#define H_DEVMINOR 337
#define H_PREFIX 345
/* GNU's old format uses the prefix area for sparse entries. */
#define H_GNU_SPARSE 386
#define H_GNU_ISEXT 482
#define H_GNU_REALSIZE 483

#define META_MAX (8u << 20)     /* a pax header or GNU long name */
#define MAP_MAX (1u << 20)      /* regions in one sparse file */

void
tar_entry_free(struct tar_entry *e)
{
	size_t i;

	free(e->path);
	free(e->linkpath);
	for (i = 0; i < e->nxattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	free(e->map);
	memset(e, 0, sizeof(*e));
}

int
tar_entry_add_xattr(struct tar_entry *e, const char *name, const void *v, size_t len)
{
	struct tar_xattr *nx;

	nx = realloc(e->xattrs, (e->nxattrs + 1) * sizeof(*nx));
	if (nx == NULL)
		return -1;
	e->xattrs = nx;
	nx = &e->xattrs[e->nxattrs];
	nx->name = strdup(name);
	nx->value = malloc(len + 1);
	if (nx->name == NULL || nx->value == NULL) {
		free(nx->name);
		free(nx->value);
		return -1;
	}
	memcpy(nx->value, v, len);
	nx->value[len] = '\0';
	nx->len = len;
	e->nxattrs++;
	return 0;
}

/* --- writing --------------------------------------------------------------- */

void
tar_out_init(struct tar_out *o, FILE *f)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
}

static int
out_raw(struct tar_out *o, const void *buf, size_t n)
{
	if (o->err)
		return -1;
	if (n > 0 && fwrite(buf, 1, n, o->f) != n) {
		o->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static int
out_zeros(struct tar_out *o, uint64_t n)
{
	static const char z[TAR_BLOCK];
	size_t k;

	while (n > 0) {
		k = n > sizeof(z) ? sizeof(z) : (size_t)n;
		if (out_raw(o, z, k) != 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Octal, zero-filled, NUL-terminated in len bytes; 0, or -1 if v does not fit. */
static int
put_octal(char *f, size_t len, uint64_t v)
{
	size_t i = len - 1;

	f[i] = '\0';
	while (i > 0) {
		f[--i] = (char)('0' + (v & 7));
		v >>= 3;
	}
	return v == 0 ? 0 : -1;
}

/* Octal if it fits, else GNU's base-256 (the first byte's high bit set,
 * two's complement big-endian), which GNU tar and libarchive read. */
static void
put_num(char *f, size_t len, int64_t v)
{
	size_t i;
	uint64_t u = (uint64_t)v;

	if (v >= 0 && put_octal(f, len, u) == 0)
		return;
	for (i = len; i > 0; i--) {
		f[i - 1] = (char)(u & 0xff);
		u = (uint64_t)((int64_t)u >> 8);
	}
	f[0] = (char)(v < 0 ? 0xff : 0x80);
}

static int
fits_octal(uint64_t v, size_t len)
{
	return len - 1 >= 22 || v < ((uint64_t)1 << (3 * (len - 1)));
}

static void
checksum(char *h)
{
	unsigned sum = 0;
	size_t i;

	memset(h + H_CHKSUM, ' ', 8);
	for (i = 0; i < TAR_BLOCK; i++)
		sum += (unsigned char)h[i];
	put_octal(h + H_CHKSUM, 7, sum);
	h[H_CHKSUM + 7] = ' ';
}

/* A growing buffer of pax records. */
struct rec {
	char *b;
	size_t n, cap;
	int oom;
};

static void
rec_add(struct rec *r, const char *key, const char *val, size_t vlen)
{
	size_t body = 1 + strlen(key) + 1 + vlen + 1, len, digits, t;
	char num[24];
	char *nb;

	/* The length counts its own digits: find the fixed point. */
	len = body + 1;
	for (;;) {
		for (digits = 1, t = len; t >= 10; t /= 10)
			digits++;
		if (body + digits == len)
			break;
		len = body + digits;
	}
	if (r->n + len > r->cap) {
		r->cap = (r->n + len) * 2 + 256;
		nb = realloc(r->b, r->cap);
		if (nb == NULL) {
			r->oom = 1;
			return;
		}
		r->b = nb;
	}
	snprintf(num, sizeof(num), "%zu", len);
	r->n += (size_t)sprintf(r->b + r->n, "%s %s=", num, key);
	memcpy(r->b + r->n, val, vlen);
	r->n += vlen;
	r->b[r->n++] = '\n';
}

static void
rec_str(struct rec *r, const char *key, const char *val)
{
	rec_add(r, key, val, strlen(val));
}

static void
rec_u64(struct rec *r, const char *key, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	rec_str(r, key, b);
}

/* Seconds and nanoseconds as a decimal with a fraction; a negative time
 * is the whole value's sign, as POSIX reads it ("-1.5" is 1.5 s before). */
static void
rec_time(struct rec *r, const char *key, int64_t sec, uint32_t ns)
{
	char b[48];

	if (ns == 0)
		snprintf(b, sizeof(b), "%" PRId64, sec);
	else if (sec >= 0)
		snprintf(b, sizeof(b), "%" PRId64 ".%09" PRIu32, sec, ns);
	else
		snprintf(b, sizeof(b), "-%" PRIu64 ".%09" PRIu32,
		    (uint64_t)(-(sec + 1)), 1000000000u - ns);
	rec_str(r, key, b);
}

/* Fill a ustar header; name and link are cut to fit (the pax header has
 * them whole). */
static void
ustar(char *h, const char *name, const char *link, char type, uint32_t mode, uint64_t uid,
      uint64_t gid, uint64_t size, int64_t mtime, uint32_t dmaj, uint32_t dmin)
{
	size_t nl = strlen(name), cut;
	const char *slash;

	memset(h, 0, TAR_BLOCK);
	if (nl <= 100) {
		memcpy(h + H_NAME, name, nl);
	} else {
		/* ustar's own split, for readers without pax: prefix/name. */
		slash = NULL;
		for (cut = nl - 1; cut > 0 && nl - cut - 1 <= 100; cut--)
			if (name[cut] == '/' && cut <= 155)
				slash = name + cut;
		if (slash != NULL && nl - (size_t)(slash - name) - 1 > 0) {
			memcpy(h + H_PREFIX, name, (size_t)(slash - name));
			memcpy(h + H_NAME, slash + 1, nl - (size_t)(slash - name) - 1);
		} else {
			memcpy(h + H_NAME, name, 100);
		}
	}
	if (link != NULL)
		memcpy(h + H_LINK, link, strlen(link) > 100 ? 100 : strlen(link));
	put_octal(h + H_MODE, 8, mode & 07777);
	put_num(h + H_UID, 8, (int64_t)uid);
	put_num(h + H_GID, 8, (int64_t)gid);
	put_num(h + H_SIZE, 12, (int64_t)size);
	put_num(h + H_MTIME, 12, mtime);
	h[H_TYPE] = type;
	memcpy(h + H_MAGIC, "ustar", 6);
	memcpy(h + H_VERSION, "00", 2);
	if (put_octal(h + H_DEVMAJOR, 8, dmaj) != 0)
		put_octal(h + H_DEVMAJOR, 8, 0);
	if (put_octal(h + H_DEVMINOR, 8, dmin) != 0)
		put_octal(h + H_DEVMINOR, 8, 0);
	checksum(h);
}

/* The last component of path (trailing slashes ignored), at most max bytes. */
static void
base_of(char *out, size_t max, const char *path)
{
	size_t n = strlen(path), s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (s = n; s > 0 && path[s - 1] != '/'; s--)
		;
	if (n - s > max)
		n = s + max;
	memcpy(out, path + s, n - s);
	out[n - s] = '\0';
}

static int
cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct tar_xattr *)a)->name, ((const struct tar_xattr *)b)->name);
}

/* The decimal lines of a sparse map (GNU 1.0), padded to a block. */
static char *
sparse_map(const struct tar_entry *e, size_t *len)
{
	size_t cap = 32 + e->nmap * 42, n = 0, i;
	char *b = malloc(cap + TAR_BLOCK);

	if (b == NULL)
		return NULL;
	n += (size_t)sprintf(b + n, "%zu\n", e->nmap);
	for (i = 0; i < e->nmap; i++)
		n += (size_t)sprintf(b + n, "%" PRIu64 "\n%" PRIu64 "\n", e->map[i].off, e->map[i].len);
	memset(b + n, 0, TAR_BLOCK - n % TAR_BLOCK);
	*len = (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	return b;
}

int
tar_write_header(struct tar_out *o, const struct tar_entry *e)
{
	struct rec r = { NULL, 0, 0, 0 };
	char h[TAR_BLOCK], hname[101], base[64], *map = NULL;
	const char *name = e->path;
	uint64_t stored = 0, data = 0;
	size_t i, maplen = 0;
	int ret = -1;

	if (e->type == TAR_REG && e->sparse) {
		for (i = 0; i < e->nmap; i++)
			data += e->map[i].len;
		map = sparse_map(e, &maplen);
		if (map == NULL)
			goto out;
		stored = maplen + data;
		rec_str(&r, "GNU.sparse.major", "1");
		rec_str(&r, "GNU.sparse.minor", "0");
		rec_str(&r, "GNU.sparse.name", e->path);
		rec_u64(&r, "GNU.sparse.realsize", e->size);
	} else if (e->type == TAR_REG) {
		stored = e->size;
	}
	if (!e->sparse && strlen(e->path) > 100)
		rec_str(&r, "path", e->path);
	if (e->linkpath != NULL && strlen(e->linkpath) > 100)
		rec_str(&r, "linkpath", e->linkpath);
	if (!fits_octal(stored, 12))
		rec_u64(&r, "size", stored);
	if (!fits_octal(e->uid, 8))
		rec_u64(&r, "uid", e->uid);
	if (!fits_octal(e->gid, 8))
		rec_u64(&r, "gid", e->gid);
	rec_time(&r, "mtime", e->mtime, e->mtime_ns);
	if (e->has_atime)
		rec_time(&r, "atime", e->atime, e->atime_ns);
	if (e->nxattrs > 1)
		qsort(e->xattrs, e->nxattrs, sizeof(*e->xattrs), cmp_xattr);
	for (i = 0; i < e->nxattrs; i++) {
		char key[32 + 256];

		if (strlen(e->xattrs[i].name) > 255)
			continue;
		snprintf(key, sizeof(key), "SCHILY.xattr.%s", e->xattrs[i].name);
		rec_add(&r, key, e->xattrs[i].value, e->xattrs[i].len);
	}
	if (r.oom) {
		errno = ENOMEM;
		goto out;
	}
	/* The pax header's own name, like GNU's "%d/PaxHeaders/%f". */
	base_of(base, 50, e->path);
	snprintf(hname, sizeof(hname), "./PaxHeaders/%s", base);
	ustar(h, hname, NULL, 'x', 0644, 0, 0, r.n, e->mtime < 0 ? 0 : e->mtime, 0, 0);
	if (out_raw(o, h, TAR_BLOCK) != 0 || out_raw(o, r.b, r.n) != 0 ||
	    out_zeros(o, (TAR_BLOCK - r.n % TAR_BLOCK) % TAR_BLOCK) != 0)
		goto out;
	if (e->sparse) {
		/* What a reader without sparse support extracts it as. */
		base_of(base, 50, e->path);
		snprintf(hname, sizeof(hname), "./GNUSparseFile.0/%s", base);
		name = hname;
	}
	ustar(h, name, e->linkpath, e->type, e->mode, e->uid, e->gid, stored, e->mtime,
	    e->devmajor, e->devminor);
	if (out_raw(o, h, TAR_BLOCK) != 0 || (map != NULL && out_raw(o, map, maplen) != 0))
		goto out;
	o->left = data ? data : (e->sparse ? 0 : stored);
	o->written = maplen;
	ret = 0;
out:
	if (ret != 0 && o->err)
		errno = o->err;
	free(r.b);
	free(map);
	return ret;
}

int
tar_write_data(struct tar_out *o, const void *buf, size_t n)
{
	if (n > o->left)
		n = (size_t)o->left;
	if (out_raw(o, buf, n) != 0) {
		errno = o->err;
		return -1;
	}
	o->left -= n;
	o->written += n;
	return 0;
}

int
tar_end_entry(struct tar_out *o)
{
	int short_ = o->left > 0;

	o->written += o->left;
	if (out_zeros(o, o->left) != 0 ||
	    out_zeros(o, (TAR_BLOCK - o->written % TAR_BLOCK) % TAR_BLOCK) != 0) {
		errno = o->err;
		return -1;
	}
	o->left = o->written = 0;
	return short_;
}

int
tar_finish(struct tar_out *o)
{
	if (out_zeros(o, 2 * TAR_BLOCK) != 0 || fflush(o->f) != 0) {
		errno = o->err ? o->err : errno;
		return -1;
	}
	return 0;
}

/* --- reading --------------------------------------------------------------- */

void
tar_in_init(struct tar_in *in, FILE *f)
{
	memset(in, 0, sizeof(*in));
	in->f = f;
}

static int
bad(struct tar_in *in, const char *fmt, const char *what)
{
	snprintf(in->msg, sizeof(in->msg), fmt, what);
	return -1;
}

/* Exactly n bytes, or -1 (a short archive is damaged). */
static int
in_raw(struct tar_in *in, void *buf, size_t n)
{
	size_t got = fread(buf, 1, n, in->f);

	in->nread += got;
	if (got != n) {
		if (ferror(in->f))
			return bad(in, "cannot read the archive: %s", strerror(errno));
		return bad(in, "%s", "the archive ends in the middle of an entry");
	}
	return 0;
}

static int
in_skip(struct tar_in *in, uint64_t n)
{
	char buf[8192];
	size_t k;

	while (n > 0) {
		k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
		if (in_raw(in, buf, k) != 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* A numeric field: octal (leading spaces, ended by space or NUL) or
 * base-256. 0, or -1 if it is neither. */
static int
get_num(const char *f, size_t len, int64_t *out)
{
	const unsigned char *u = (const unsigned char *)f;
	uint64_t v = 0;
	size_t i = 0;

	if (u[0] & 0x80) {
		/* Base-256; bit 6 of the first byte is the sign. */
		v = (u[0] & 0x40) ? ~(uint64_t)0 : 0;
		v = (v << 6) | (u[0] & 0x3f);
		for (i = 1; i < len; i++) {
			if (i < len - 8 && u[i] != ((u[0] & 0x40) ? 0xff : 0))
				return -1;
			v = (v << 8) | u[i];
		}
		*out = (int64_t)v;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = (int64_t)v;
	return 0;
}

static int
get_unum(const char *f, size_t len, uint64_t *out)
{
	int64_t v;

	if (get_num(f, len, &v) != 0 || v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int
sum_ok(const char *h)
{
	unsigned usum = 0;
	int ssum = 0;
	int64_t want;
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++) {
		unsigned char c = (unsigned char)h[i];
		if (i >= H_CHKSUM && i < H_CHKSUM + 8)
			c = ' ';
		usum += c;
		ssum += (signed char)c;
	}
	if (get_num(h + H_CHKSUM, 8, &want) != 0)
		return 0;
	return want == (int64_t)usum || want == (int64_t)ssum;
}

static char *
field_str(const char *f, size_t len)
{
	size_t n = strnlen(f, len);
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, f, n);
		s[n] = '\0';
	}
	return s;
}

/* Decimal without sign; 0 or -1. */
static int
dec_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "[-]SECS[.FRACTION]"; 0 or -1. */
static int
dec_time(const char *s, size_t n, int64_t *sec, uint32_t *ns)
{
	size_t i = 0, dot;
	uint64_t v, frac = 0, scale = 100000000;
	int neg = 0;

	if (n > 0 && s[0] == '-')
		neg = 1, i = 1;
	for (dot = i; dot < n && s[dot] != '.'; dot++)
		;
	if (dec_u64(s + i, dot - i, &v) != 0 || v > INT64_MAX / 2)
		return -1;
	for (i = dot + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		frac += (uint64_t)(s[i] - '0') * scale;
		scale /= 10;
	}
	if (!neg) {
		*sec = (int64_t)v;
		*ns = (uint32_t)frac;
	} else if (frac == 0) {
		*sec = -(int64_t)v;
		*ns = 0;
	} else {
		*sec = -(int64_t)v - 1;
		*ns = (uint32_t)(1000000000 - frac);
	}
	return 0;
}

/* What the meta entries before a file told about it. */
struct meta {
	char *path, *linkpath, *longname, *longlink, *sparse_name;
	int has_size, has_uid, has_gid, has_mtime, has_atime, has_dev, has_realsize;
	uint64_t size, uid, gid, realsize, devmajor, devminor;
	int64_t mtime, atime;
	uint32_t mtime_ns, atime_ns;
	int sparse_major, sparse_minor, sparse_pax;
	uint64_t pend_off;       /* GNU.sparse.offset waiting for its numbytes */
	int has_pend;
	struct tar_entry x;      /* collects xattrs and the 0.x map */
};

static void
meta_free(struct meta *m)
{
	free(m->path);
	free(m->linkpath);
	free(m->longname);
	free(m->longlink);
	free(m->sparse_name);
	tar_entry_free(&m->x);
	memset(m, 0, sizeof(*m));
}

static int
map_add(struct tar_entry *e, uint64_t off, uint64_t len)
{
	struct tar_region *nm;

	if (e->nmap >= MAP_MAX)
		return -1;
	if ((e->nmap & (e->nmap - 1)) == 0) {
		nm = realloc(e->map, (e->nmap ? e->nmap * 2 : 8) * sizeof(*nm));
		if (nm == NULL)
			return -1;
		e->map = nm;
	}
	e->map[e->nmap].off = off;
	e->map[e->nmap].len = len;
	e->nmap++;
	return 0;
}

static int
set_str(char **dst, const char *v, size_t n)
{
	free(*dst);
	*dst = malloc(n + 1);
	if (*dst == NULL)
		return -1;
	memcpy(*dst, v, n);
	(*dst)[n] = '\0';
	return 0;
}

static int
is_key(const char *k, size_t kl, const char *want)
{
	return strlen(want) == kl && memcmp(k, want, kl) == 0;
}

/* One "KEY=VALUE" of a pax header. */
static int
pax_record(struct tar_in *in, struct meta *m, const char *k, size_t kl, const char *v, size_t vl)
{
	uint64_t u;
	char name[256];
	const char *p, *end;

	if (kl > 13 && memcmp(k, "SCHILY.xattr.", 13) == 0) {
		if (kl - 13 >= sizeof(name))
			return 0;
		memcpy(name, k + 13, kl - 13);
		name[kl - 13] = '\0';
		if (tar_entry_add_xattr(&m->x, name, v, vl) != 0)
			return bad(in, "%s", "out of memory");
		return 0;
	}
	if (is_key(k, kl, "path"))
		return set_str(&m->path, v, vl) ? bad(in, "%s", "out of memory") : 0;
	if (is_key(k, kl, "linkpath"))
		return set_str(&m->linkpath, v, vl) ? bad(in, "%s", "out of memory") : 0;
	if (is_key(k, kl, "GNU.sparse.name"))
		return set_str(&m->sparse_name, v, vl) ? bad(in, "%s", "out of memory") : 0;
	if (is_key(k, kl, "mtime"))
		return (m->has_mtime = dec_time(v, vl, &m->mtime, &m->mtime_ns) == 0), 0;
	if (is_key(k, kl, "atime"))
		return (m->has_atime = dec_time(v, vl, &m->atime, &m->atime_ns) == 0), 0;
	if (is_key(k, kl, "GNU.sparse.map")) {
		/* 0.1: "off,len,off,len..." */
		m->sparse_pax = 1;
		for (p = v, end = v + vl; p < end;) {
			const char *c1 = memchr(p, ',', (size_t)(end - p)), *c2;
			uint64_t off;
			if (c1 == NULL || dec_u64(p, (size_t)(c1 - p), &off) != 0)
				return bad(in, "%s", "bad GNU.sparse.map");
			c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
			if (c2 == NULL)
				c2 = end;
			if (dec_u64(c1 + 1, (size_t)(c2 - c1 - 1), &u) != 0 || map_add(&m->x, off, u) != 0)
				return bad(in, "%s", "bad GNU.sparse.map");
			p = c2 + (c2 < end);
		}
		return 0;
	}
	if (dec_u64(v, vl, &u) != 0)
		return 0; /* a number we cannot read is one we do not use */
	if (is_key(k, kl, "size"))
		m->has_size = 1, m->size = u;
	else if (is_key(k, kl, "uid"))
		m->has_uid = 1, m->uid = u;
	else if (is_key(k, kl, "gid"))
		m->has_gid = 1, m->gid = u;
	else if (is_key(k, kl, "SCHILY.devmajor"))
		m->has_dev = 1, m->devmajor = u;
	else if (is_key(k, kl, "SCHILY.devminor"))
		m->has_dev = 1, m->devminor = u;
	else if (is_key(k, kl, "GNU.sparse.realsize") || is_key(k, kl, "GNU.sparse.size"))
		m->has_realsize = 1, m->realsize = u;
	else if (is_key(k, kl, "GNU.sparse.major"))
		m->sparse_major = (int)(u & 0xff), m->sparse_pax = 1;
	else if (is_key(k, kl, "GNU.sparse.minor"))
		m->sparse_minor = (int)(u & 0xff);
	else if (is_key(k, kl, "GNU.sparse.offset"))
		m->pend_off = u, m->has_pend = 1, m->sparse_pax = 1;
	else if (is_key(k, kl, "GNU.sparse.numbytes") && m->has_pend) {
		if (map_add(&m->x, m->pend_off, u) != 0)
			return bad(in, "%s", "too many sparse regions");
		m->has_pend = 0;
	}
	return 0;
}

static int
pax_parse(struct tar_in *in, struct meta *m, const char *b, size_t n)
{
	size_t pos = 0, len, i;
	const char *rec, *eq;

	while (pos < n) {
		if (b[pos] == '\0')
			break; /* padding some writers leave */
		for (i = pos, len = 0; i < n && b[i] >= '0' && b[i] <= '9' && len < n; i++)
			len = len * 10 + (size_t)(b[i] - '0');
		if (i == pos || i >= n || b[i] != ' ' || len < 5 || len > n - pos ||
		    b[pos + len - 1] != '\n')
			return bad(in, "%s", "damaged pax extended header");
		rec = b + i + 1;
		eq = memchr(rec, '=', (size_t)(b + pos + len - 1 - rec));
		if (eq == NULL)
			return bad(in, "%s", "damaged pax extended header");
		if (pax_record(in, m, rec, (size_t)(eq - rec), eq + 1,
		    (size_t)(b + pos + len - 1 - (eq + 1))) != 0)
			return -1;
		pos += len;
	}
	return 0;
}

/* The data of a meta entry (pax header, GNU long name), whole. */
static char *
read_meta(struct tar_in *in, uint64_t size)
{
	char *b;

	if (size > META_MAX) {
		bad(in, "%s", "pax header or long name too large");
		return NULL;
	}
	b = malloc((size_t)size + 1);
	if (b == NULL) {
		bad(in, "%s", "out of memory");
		return NULL;
	}
	if (in_raw(in, b, (size_t)size) != 0 || in_skip(in, (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK) != 0) {
		free(b);
		return NULL;
	}
	b[size] = '\0';
	return b;
}

int
tar_all_zero(const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Old GNU sparse: 4 regions in the header, 21 in each extension block. */
static int
gnu_old_sparse(struct tar_in *in, struct tar_entry *e, const char *h)
{
	char ext[TAR_BLOCK];
	const char *sp = h + H_GNU_SPARSE;
	int more = h[H_GNU_ISEXT] != 0, i, cnt = 4;
	uint64_t off, len;

	for (;;) {
		for (i = 0; i < cnt; i++, sp += 24) {
			if (sp[0] == '\0')
				break;
			if (get_unum(sp, 12, &off) != 0 || get_unum(sp + 12, 12, &len) != 0 ||
			    map_add(e, off, len) != 0)
				return bad(in, "%s", "damaged old GNU sparse header");
		}
		if (!more)
			return 0;
		if (in_raw(in, ext, TAR_BLOCK) != 0)
			return -1;
		sp = ext;
		cnt = 21;
		more = ext[504] != 0;
	}
}

/* GNU 1.0: the map is decimal lines at the start of the data. */
static int
sparse_map_read(struct tar_in *in, struct tar_entry *e, uint64_t *stored)
{
	char blk[TAR_BLOCK];
	size_t pos = TAR_BLOCK;
	uint64_t count = 0, v[2];
	int first = 1, half = 0;

	for (;;) {
		uint64_t val = 0;
		int digits = 0;
		for (;;) {
			if (pos == TAR_BLOCK) {
				if (*stored < TAR_BLOCK)
					return bad(in, "%s", "damaged sparse map");
				if (in_raw(in, blk, TAR_BLOCK) != 0)
					return -1;
				*stored -= TAR_BLOCK;
				pos = 0;
			}
			char c = blk[pos++];
			if (c == '\n')
				break;
			if (c < '0' || c > '9' || ++digits > 20 || val > (UINT64_MAX - 9) / 10)
				return bad(in, "%s", "damaged sparse map");
			val = val * 10 + (uint64_t)(c - '0');
		}
		if (digits == 0)
			return bad(in, "%s", "damaged sparse map");
		if (first) {
			count = val;
			first = 0;
			if (count > MAP_MAX)
				return bad(in, "%s", "too many sparse regions");
		} else {
			v[half++] = val;
			if (half == 2) {
				if (map_add(e, v[0], v[1]) != 0)
					return bad(in, "%s", "out of memory");
				half = 0;
			}
		}
		if (!first && (uint64_t)e->nmap == count && half == 0)
			break;
	}
	return 0;
}

/* Regions in order, inside the file, adding up to the stored data. */
static int
map_ok(const struct tar_entry *e, uint64_t stored)
{
	uint64_t end = 0, sum = 0;
	size_t i;

	for (i = 0; i < e->nmap; i++) {
		if (e->map[i].off < end || e->map[i].len > e->size ||
		    e->map[i].off > e->size - e->map[i].len)
			return 0;
		end = e->map[i].off + e->map[i].len;
		sum += e->map[i].len;
	}
	return sum == stored;
}

int
tar_next(struct tar_in *in, struct tar_entry *e)
{
	struct meta m;
	char h[TAR_BLOCK], *b;
	int64_t v;
	uint64_t size;
	int gnu, ret = -1;

	memset(e, 0, sizeof(*e));
	memset(&m, 0, sizeof(m));
	if (in_skip(in, in->left + in->pad) != 0)
		return -1;
	in->left = in->pad = 0;
	for (;;) {
		size_t got = fread(h, 1, TAR_BLOCK, in->f);
		in->nread += got;
		if (got == 0 && !ferror(in->f)) {
			ret = 0; /* no end blocks: tolerated, as GNU tar does */
			goto out;
		}
		if (got != TAR_BLOCK) {
			in_raw(in, h, TAR_BLOCK); /* sets the message */
			if (got > 0 && !ferror(in->f))
				bad(in, "%s", "the archive ends in the middle of a header");
			goto out;
		}
		if (tar_all_zero(h, TAR_BLOCK)) {
			ret = 0;
			goto out;
		}
		if (!sum_ok(h)) {
			bad(in, "%s", "not a tar archive, or damaged (header checksum wrong)");
			goto out;
		}
		gnu = memcmp(h + H_MAGIC, "ustar  ", 8) == 0;
		if (get_unum(h + H_SIZE, 12, &size) != 0) {
			bad(in, "%s", "damaged header (size)");
			goto out;
		}
		if (m.has_size && h[H_TYPE] != 'x' && h[H_TYPE] != 'g')
			size = m.size;
		switch (h[H_TYPE]) {
		case 'x':
		case 'g':
			b = read_meta(in, size);
			if (b == NULL)
				goto out;
			/* Global headers hold defaults GNU tar does not write;
			 * they are read for their format and not applied. */
			if (h[H_TYPE] == 'x' && pax_parse(in, &m, b, (size_t)size) != 0) {
				free(b);
				goto out;
			}
			free(b);
			continue;
		case 'L':
		case 'K':
			b = read_meta(in, size);
			if (b == NULL)
				goto out;
			free(h[H_TYPE] == 'L' ? m.longname : m.longlink);
			*(h[H_TYPE] == 'L' ? &m.longname : &m.longlink) = b;
			continue;
		case 'V':
			if (in_skip(in, (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK) != 0)
				goto out;
			continue;
		}
		break;
	}
	/* The entry: header fields, overridden by what came before it. */
	if (m.path != NULL)
		e->path = m.path, m.path = NULL;
	else if (m.longname != NULL)
		e->path = m.longname, m.longname = NULL;
	else if (!gnu && h[H_PREFIX] != '\0' && memcmp(h + H_MAGIC, "ustar", 6) == 0) {
		char *pre = field_str(h + H_PREFIX, 155), *nm = field_str(h + H_NAME, 100);
		if (pre != NULL && nm != NULL && (e->path = malloc(strlen(pre) + strlen(nm) + 2)) != NULL)
			sprintf(e->path, "%s/%s", pre, nm);
		free(pre);
		free(nm);
	} else
		e->path = field_str(h + H_NAME, 100);
	if (m.sparse_name != NULL) {
		free(e->path);
		e->path = m.sparse_name, m.sparse_name = NULL;
	}
	if (m.linkpath != NULL)
		e->linkpath = m.linkpath, m.linkpath = NULL;
	else if (m.longlink != NULL)
		e->linkpath = m.longlink, m.longlink = NULL;
	else if (h[H_LINK] != '\0')
		e->linkpath = field_str(h + H_LINK, 100);
	if (e->path == NULL || ((h[H_TYPE] == '1' || h[H_TYPE] == '2') && e->linkpath == NULL)) {
		bad(in, "%s", "out of memory or a link without a target");
		goto out;
	}
	e->type = h[H_TYPE];
	switch (e->type) {
	case '\0': case '7': e->type = TAR_REG; break;
	case 'D': e->type = TAR_DIR; break;
	case 'S': e->type = TAR_REG; e->sparse = 1; break;
	}
	if (get_num(h + H_MODE, 8, &v) != 0) {
		bad(in, "%s", "damaged header (mode)");
		goto out;
	}
	e->mode = (uint32_t)v & 07777;
	if ((m.has_uid ? (e->uid = m.uid, 0) : get_unum(h + H_UID, 8, &e->uid)) != 0 ||
	    (m.has_gid ? (e->gid = m.gid, 0) : get_unum(h + H_GID, 8, &e->gid)) != 0) {
		bad(in, "%s", "damaged header (owner)");
		goto out;
	}
	if (m.has_mtime) {
		e->mtime = m.mtime, e->mtime_ns = m.mtime_ns;
	} else if (get_num(h + H_MTIME, 12, &e->mtime) != 0) {
		bad(in, "%s", "damaged header (mtime)");
		goto out;
	}
	if (m.has_atime)
		e->has_atime = 1, e->atime = m.atime, e->atime_ns = m.atime_ns;
	if (e->type == TAR_CHR || e->type == TAR_BLK) {
		uint64_t ma = 0, mi = 0;
		if (m.has_dev)
			ma = m.devmajor, mi = m.devminor;
		else if (get_unum(h + H_DEVMAJOR, 8, &ma) != 0 || get_unum(h + H_DEVMINOR, 8, &mi) != 0) {
			bad(in, "%s", "damaged header (device)");
			goto out;
		}
		e->devmajor = (uint32_t)ma;
		e->devminor = (uint32_t)mi;
	}
	e->xattrs = m.x.xattrs, e->nxattrs = m.x.nxattrs;
	m.x.xattrs = NULL, m.x.nxattrs = 0;
	/* Only regular files (and GNU's sparse ones) carry data that is the
	 * file's; a hard link's or directory's data is skipped. */
	e->size = size;
	if (e->type != TAR_REG) {
		in->left = size;
		in->pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
		e->size = 0;
		ret = 1;
		goto out;
	}
	in->pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
	if (h[H_TYPE] == 'S') {
		if (get_unum(h + H_GNU_REALSIZE, 12, &e->size) != 0) {
			bad(in, "%s", "damaged old GNU sparse header (size)");
			goto out;
		}
		if (gnu_old_sparse(in, e, h) != 0)
			goto out;
	} else if (m.sparse_pax && m.sparse_major == 1) {
		e->sparse = 1;
		if (!m.has_realsize || sparse_map_read(in, e, &size) != 0) {
			if (in->msg[0] == '\0')
				bad(in, "%s", "sparse file without its real size");
			goto out;
		}
		e->size = m.realsize;
	} else if (m.sparse_pax) {
		e->sparse = 1;
		e->map = m.x.map, e->nmap = m.x.nmap;
		m.x.map = NULL, m.x.nmap = 0;
		e->size = m.has_realsize ? m.realsize : size;
	}
	if (e->sparse && !map_ok(e, size)) {
		bad(in, "%s", "sparse map does not match the data");
		goto out;
	}
	in->left = size;
	ret = 1;
out:
	if (ret != 1)
		tar_entry_free(e);
	meta_free(&m);
	return ret;
}

long
tar_read_data(struct tar_in *in, void *buf, size_t n)
{
	if (n > in->left)
		n = (size_t)in->left;
	if (n == 0)
		return 0;
	if (in_raw(in, buf, n) != 0)
		return -1;
	in->left -= n;
	return (long)n;
}
