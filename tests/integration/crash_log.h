/*
 * Reading the disk record log that the POSIX host writes under
 * ANYK_DISK_RECORD (format: docs/hypercalls.md, "Recording disk writes"),
 * and rebuilding a disk image as it stood at a cut: the base image plus the
 * first N records. Shared by the crash harness program and the crash tests.
 *
 * Crash models, from the records before the cut:
 *  - prefix: every write before the cut reached the disk, in order;
 *  - torn: the last write after the last barrier reached it only in part,
 *    a random strict subset of its 512-byte sectors;
 *  - reorder: of the writes since the last barrier (nothing has promised
 *    they are durable) a random subset reached the disk; the others were
 *    lost. Writes before the barrier are always there.
 * A log that ends in a partial or damaged record (the writer died) is read
 * up to the last whole record; why it stopped is kept in bad.
 */
#ifndef ANYK_TEST_CRASH_LOG_H
#define ANYK_TEST_CRASH_LOG_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLOG_OPEN 1
#define CLOG_WRITE 2
#define CLOG_FLUSH 3
#define CLOG_SIZE 4
#define CLOG_HDR 40
#define CLOG_FILEHDR 16
#define CLOG_SECTOR 512

struct crec {
	uint32_t type, file, len, flags;
	uint64_t seq, off;
	const uint8_t *data;
};

struct clog {
	uint8_t *map;
	size_t maplen;
	struct crec *r;
	size_t n;
	const char *bad; /* why reading stopped before the end, or NULL */
	uint32_t nids;	 /* file ids are 1 .. nids */
	bool *sel;	 /* sel[id]: the image being rebuilt */
};

struct clog_cut {
	bool torn, reorder;
	uint64_t torn_seed, reorder_seed;
};

/* What a cut did, for tests to check. */
struct clog_cutinfo {
	size_t applied, dropped; /* writes of the unflushed window */
	long torn_rec;		 /* record torn, or -1 */
	uint64_t torn_first;	 /* its first sector number */
	size_t torn_nsect;
	unsigned char *torn_keep; /* torn_nsect flags: sector written */
};

static uint32_t
clog_crc(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	const unsigned char *s = p;

	if (table[1] == 0) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (n-- > 0)
		crc = table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t
clog_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
clog_get64(const uint8_t *p)
{
	return (uint64_t)clog_get32(p) | (uint64_t)clog_get32(p + 4) << 32;
}

static void
clog_free(struct clog *lg)
{
	if (lg->map != NULL)
		munmap(lg->map, lg->maplen);
	free(lg->r);
	free(lg->sel);
	memset(lg, 0, sizeof(*lg));
}

/* Read the log at path. 0, or -1 when it is not a log at all (errno set,
 * or lg->bad says why). */
static int
clog_load(const char *path, struct clog *lg)
{
	struct stat st;
	size_t pos, cap = 0;
	int fd;

	memset(lg, 0, sizeof(*lg));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_size < CLOG_FILEHDR) {
		close(fd);
		lg->bad = "shorter than the log header";
		errno = EINVAL;
		return -1;
	}
	lg->maplen = (size_t)st.st_size;
	lg->map = mmap(NULL, lg->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (lg->map == MAP_FAILED) {
		lg->map = NULL;
		return -1;
	}
	if (memcmp(lg->map, "ANYKDLOG", 8) != 0 || clog_get32(lg->map + 8) != 1 ||
	    clog_get32(lg->map + 12) < CLOG_FILEHDR || clog_get32(lg->map + 12) > lg->maplen) {
		lg->bad = "not an anyk disk record log (version 1)";
		clog_free(lg);
		errno = EINVAL;
		return -1;
	}
	pos = clog_get32(lg->map + 12);
	while (pos < lg->maplen) {
		const uint8_t *h = lg->map + pos;
		uint8_t zero[CLOG_HDR];
		struct crec c;
		uint32_t crc;

		if (lg->maplen - pos < CLOG_HDR) {
			lg->bad = "partial record header at the end";
			break;
		}
		c.type = clog_get32(h);
		c.file = clog_get32(h + 4);
		c.seq = clog_get64(h + 8);
		c.off = clog_get64(h + 16);
		c.len = clog_get32(h + 24);
		c.flags = clog_get32(h + 28);
		c.data = h + CLOG_HDR;
		if (c.len > lg->maplen - pos - CLOG_HDR) {
			lg->bad = "partial record payload at the end";
			break;
		}
		memcpy(zero, h, CLOG_HDR);
		memset(zero + 32, 0, 4);
		crc = clog_crc(clog_crc(0, zero, CLOG_HDR), c.data, c.len);
		if (crc != clog_get32(h + 32)) {
			lg->bad = "record checksum mismatch";
			break;
		}
		if (c.seq != lg->n) {
			lg->bad = "sequence number out of order";
			break;
		}
		if (c.type < CLOG_OPEN || c.type > CLOG_SIZE || c.file == 0 ||
		    (c.type == CLOG_OPEN ? c.file != lg->nids + 1 : c.file > lg->nids)) {
			lg->bad = "record type or file id invalid";
			break;
		}
		if (c.type == CLOG_OPEN)
			lg->nids = c.file;
		if (lg->n == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			struct crec *nr = realloc(lg->r, ncap * sizeof(*nr));

			if (nr == NULL) {
				clog_free(lg);
				errno = ENOMEM;
				return -1;
			}
			lg->r = nr;
			cap = ncap;
		}
		lg->r[lg->n++] = c;
		pos += CLOG_HDR + c.len;
	}
	lg->sel = calloc(lg->nids + 1, sizeof(bool));
	if (lg->sel == NULL) {
		clog_free(lg);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* The path recorded for file id into buf. */
static const char *
clog_path(const struct clog *lg, uint32_t id, char *buf, size_t len)
{
	for (size_t i = 0; i < lg->n; i++) {
		if (lg->r[i].type == CLOG_OPEN && lg->r[i].file == id) {
			snprintf(buf, len, "%.*s", (int)lg->r[i].len, (const char *)lg->r[i].data);
			return buf;
		}
	}
	snprintf(buf, len, "?");
	return buf;
}

/*
 * Choose the image to rebuild: every file id opened with the path file (the
 * same image opened again keeps its identity), or the one id given as a
 * number. With file NULL the log must name one image only. 0, or -1 with a
 * message on stderr.
 */
static int
clog_select(struct clog *lg, const char *file)
{
	char a[4096], b[4096];
	char *end;
	unsigned long id = 0;
	uint32_t i, n = 0;

	memset(lg->sel, 0, (lg->nids + 1) * sizeof(bool));
	if (file != NULL && file[0] != '\0') {
		id = strtoul(file, &end, 10);
		if (*end != '\0')
			id = 0;
	}
	for (i = 1; i <= lg->nids; i++) {
		clog_path(lg, i, a, sizeof(a));
		if (id != 0)
			lg->sel[i] = i == id;
		else if (file != NULL && file[0] != '\0')
			lg->sel[i] = strcmp(a, file) == 0;
		else
			lg->sel[i] = strcmp(a, clog_path(lg, 1, b, sizeof(b))) == 0;
		n += lg->sel[i];
		if (file == NULL && !lg->sel[i]) {
			fprintf(stderr, "the log records several images (%s, %s); choose one with --file\n",
				b, a);
			return -1;
		}
	}
	if (n == 0 && lg->nids > 0) {
		fprintf(stderr, "the log records no image %s\n", file ? file : "");
		return -1;
	}
	return 0;
}

static bool
clog_is(const struct clog *lg, size_t i, uint32_t type)
{
	return i < lg->n && lg->r[i].type == type && lg->r[i].file <= lg->nids && lg->sel[lg->r[i].file];
}

/* The index of the last barrier of the chosen image before record n, or -1. */
static long
clog_last_flush(const struct clog *lg, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (clog_is(lg, i, CLOG_FLUSH))
			return (long)i;
	return -1;
}

static uint64_t
clog_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int
clog_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
	const char *s = p;
	ssize_t r;

	while (n > 0) {
		r = pwrite(fd, s, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int
clog_copy(const char *from, const char *to)
{
	static char buf[1 << 20];
	uint64_t off = 0;
	int in, out, rc = 0;
	ssize_t r;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	for (;;) {
		r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -1 : 0;
			break;
		}
		if (clog_pwrite(out, buf, (size_t)r, off) != 0) {
			rc = -1;
			break;
		}
		off += (uint64_t)r;
	}
	if (close(out) != 0)
		rc = -1;
	close(in);
	return rc;
}

/* Write the sectors of record c that keep[] marks. */
static int
clog_apply_torn(int fd, const struct crec *c, const unsigned char *keep)
{
	uint64_t first = c->off / CLOG_SECTOR, s, end = c->off + c->len;
	size_t k = 0;

	for (s = first; s * CLOG_SECTOR < end; s++, k++) {
		uint64_t a = s * CLOG_SECTOR > c->off ? s * CLOG_SECTOR : c->off;
		uint64_t b = (s + 1) * CLOG_SECTOR < end ? (s + 1) * CLOG_SECTOR : end;

		if (keep[k] && clog_pwrite(fd, c->data + (a - c->off), (size_t)(b - a), a) != 0)
			return -1;
	}
	return 0;
}

/*
 * Build out as the chosen image of the log at cut n: base plus records
 * [0, n) under the models of o. 0, or -1 with errno.
 */
static int
clog_build(const struct clog *lg, const char *base, size_t n, const char *out,
	   const struct clog_cut *o, struct clog_cutinfo *info)
{
	uint64_t rs = o->reorder_seed, ts = o->torn_seed;
	unsigned char *keep = NULL;
	long b, torn = -1;
	size_t i;
	int fd, rc = 0;

	memset(info, 0, sizeof(*info));
	info->torn_rec = -1;
	if (n > lg->n) {
		errno = ERANGE;
		return -1;
	}
	if (clog_copy(base, out) != 0)
		return -1;
	fd = open(out, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	b = clog_last_flush(lg, n);
	keep = calloc(n > 0 ? n : 1, 1);
	if (keep == NULL) {
		close(fd);
		return -1;
	}
	/* Decide which writes of the unflushed window land, and which one
	 * tears: the last one that lands. */
	for (i = 0; i < n; i++) {
		keep[i] = 1;
		if ((long)i > b && clog_is(lg, i, CLOG_WRITE)) {
			if (o->reorder && (clog_rand(&rs) & 1) == 0)
				keep[i] = 0;
			if (keep[i]) {
				info->applied++;
				torn = (long)i;
			} else {
				info->dropped++;
			}
		}
	}
	if (o->torn && torn >= 0) {
		const struct crec *c = &lg->r[torn];
		size_t k, nk = 0;

		info->torn_rec = torn;
		info->torn_first = c->off / CLOG_SECTOR;
		info->torn_nsect = (size_t)((c->off + c->len + CLOG_SECTOR - 1) / CLOG_SECTOR - info->torn_first);
		info->torn_keep = calloc(info->torn_nsect ? info->torn_nsect : 1, 1);
		if (info->torn_keep == NULL) {
			rc = -1;
			goto out;
		}
		for (k = 0; k < info->torn_nsect; k++) {
			info->torn_keep[k] = clog_rand(&ts) & 1;
			nk += info->torn_keep[k];
		}
		if (nk == info->torn_nsect) /* a strict subset: some sector is lost */
			info->torn_keep[clog_rand(&ts) % info->torn_nsect] = 0;
	}
	for (i = 0; i < n && rc == 0; i++) {
		const struct crec *c = &lg->r[i];

		if (!keep[i] || c->file > lg->nids || !lg->sel[c->file])
			continue;
		if (c->type == CLOG_WRITE) {
			if ((long)i == info->torn_rec)
				rc = clog_apply_torn(fd, c, info->torn_keep);
			else
				rc = clog_pwrite(fd, c->data, c->len, c->off);
		} else if (c->type == CLOG_SIZE) {
			rc = ftruncate(fd, (off_t)c->off);
		}
	}
out:
	free(keep);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

#endif
