/*
 * Journal recovery against e2fsprogs. For ext3 and ext4 at 1 KiB and 4 KiB
 * blocks, with and without journal checksums (csum v3; 32- and 64-bit
 * tags): image A is a fresh file system, image B is A after some changes
 * made with debugfs (directories, a file whose first block begins with the
 * jbd2 magic, a symlink). The journal of a copy of A ("dirty") gets, with
 * debugfs's journal commands, transactions that take A to B: garbage for
 * two free blocks, a transaction revoking one of them and one block of B,
 * B's changed blocks over several transactions (the revoked one after its
 * revoke, so it counts), and an uncommitted transaction of garbage. Then:
 *  - anyk replays one copy (read-write mount, unmount) and debugfs's
 *    journal_run another: the images must be byte-identical except the
 *    superblock fields a mount changes (mount and write times, mount
 *    count, checksum), and e2fsck -fn must find anyk's clean;
 *  - a read-only mount of the dirty image sees B's tree and leaves every
 *    byte of the image as it was;
 *  - the log moved so that it wraps past the end of the journal replays
 *    the same;
 *  - damaged journals (commit checksum, descriptor, tag flags, s_start,
 *    random bytes) give an error or a replay that stops before the damaged
 *    transaction, never a crash.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))

#include <anyk/anyk.h>

static char top[256];
static uint32_t bsize;

static uint8_t *
load(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*lenp = (size_t)n;
	return p;
}

static int
save(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* CRC-32C, bit at a time: the journal superblock checksum after edits. */
static uint32_t
crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return crc;
}

static void
jsb_fix_csum(uint8_t *jsb)
{
	static const uint8_t z[4];
	uint32_t c;

	if (!(be32(jsb + 0x28) & 0x18))
		return;
	c = crc32c(~0u, jsb, 0xFC);
	c = crc32c(c, z, 4);
	c = crc32c(c, jsb + 0x100, 1024 - 0x100);
	put_be32(jsb + 0xFC, c);
}

static int
sha(const char *path, char *out, size_t len)
{
	char cmd[600];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	ok = fgets(out, (int)len, p) != NULL;
	pclose(p);
	return ok ? 0 : -1;
}

/* A number printed by a shell command. */
static long long
numf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long
numf(const char *fmt, ...)
{
	char cmd[2048], line[128];
	va_list ap;
	FILE *p;
	long long v = -1;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fgets(line, sizeof(line), p) != NULL)
		v = strtoll(line, NULL, 0);
	pclose(p);
	return v;
}

/* Mount img read-write through anyk and unmount: that is the replay. */
static int
anyk_replay(const char *img, int *errp)
{
	int rc = -1;

	*errp = 0;
	if (anyk_disk_attach("/dev/sd0", img, 0) != 0) {
		*errp = errno;
		return -1;
	}
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, NULL) == 0) {
		rc = anyk_sys_unmount("/mnt", 0);
		if (rc != 0)
			*errp = errno;
	} else {
		*errp = errno;
	}
	anyk_disk_detach("/dev/sd0");
	return rc;
}

/* Superblock bytes a mount and unmount may change: s_mtime, s_wtime,
 * s_mnt_count (0x2C-0x35), s_lastcheck (0x40: debugfs's journal_run sets it
 * to 0xffffffff, e2fsck to the time of the check), s_kbytes_written (0x178, 8 bytes), s_checksum
 * (0x3FC, 4 bytes); offsets from byte 1024 of the image. */
static bool
sb_volatile(size_t off)
{
	if (off < 1024 || off >= 2048)
		return false;
	off -= 1024;
	return (off >= 0x2C && off < 0x36) || (off >= 0x40 && off < 0x44) || (off >= 0x178 && off < 0x180) || off >= 0x3FC;
}

/* Differences between two images outside the volatile superblock fields:
 * the count, and the first few printed. */
static int
imgdiff(const char *a, const char *b, const char *what)
{
	size_t la, lb, n = 0;
	uint8_t *pa = load(a, &la), *pb = load(b, &lb);

	if (pa == NULL || pb == NULL || la != lb) {
		free(pa);
		free(pb);
		return -1;
	}
	for (size_t i = 0; i < la; i++) {
		if (pa[i] == pb[i] || sb_volatile(i))
			continue;
		if (n < 5)
			printf("# %s: byte %zu (block %zu) differs: %02x %02x\n", what, i, i / bsize, pa[i], pb[i]);
		n++;
	}
	free(pa);
	free(pb);
	return (int)MIN(n, (size_t)INT32_MAX);
}

/* --- building the dirty journals ------------------------------------------------- */

struct fsimg {
	char name[64];
	char a[300], b[300], dirty[300];
	uint64_t *jmap;    /* journal block -> physical block */
	uint32_t jmaxlen;
	uint64_t free1, free2, revoked_b;
	uint64_t *changed; /* blocks B changed */
	size_t nchanged;
};

/* Where the journal's blocks are, from debugfs's list of the journal
 * inode's runs: "(0-9):9-18, (10):20, (IND):19, ...". */
static bool
map_journal(struct fsimg *fi)
{
	char cmd[400], tok[128];
	unsigned long long l0, l1, p0, p1;
	uint32_t mapped = 0;
	FILE *p;

	fi->jmap = calloc(fi->jmaxlen, sizeof(uint64_t));
	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat <8>' %s 2>/dev/null | tr ' ,' '\\n\\n' | grep '^([0-9]'", fi->a);
	p = popen(cmd, "r");
	if (p == NULL)
		return false;
	while (fgets(tok, sizeof(tok), p) != NULL) {
		if (sscanf(tok, "(%llu-%llu):%llu-%llu", &l0, &l1, &p0, &p1) == 4) {
		} else if (sscanf(tok, "(%llu):%llu", &l0, &p0) == 2) {
			l1 = l0;
			p1 = p0;
		} else {
			continue;
		}
		for (unsigned long long l = l0; l <= l1 && l < fi->jmaxlen; l++, mapped++)
			fi->jmap[l] = p0 + (l - l0);
	}
	pclose(p);
	return mapped == fi->jmaxlen;
}

static uint8_t *
jblk(const uint8_t *img, const struct fsimg *fi, uint32_t lblk)
{
	return (uint8_t *)(uintptr_t)(img + fi->jmap[lblk] * bsize);
}

/* The blocks of B with other contents than A's. */
static int
changed_blocks(struct fsimg *fi)
{
	size_t la, lb;
	uint8_t *pa = load(fi->a, &la), *pb = load(fi->b, &lb);

	if (pa == NULL || pb == NULL || la != lb) {
		free(pa);
		free(pb);
		return -1;
	}
	fi->changed = malloc(sizeof(uint64_t) * (la / bsize));
	fi->nchanged = 0;
	for (size_t blk = 0; blk < la / bsize; blk++) {
		if (memcmp(pa + blk * bsize, pb + blk * bsize, bsize) != 0)
			fi->changed[fi->nchanged++] = blk;
	}
	free(pa);
	free(pb);
	return 0;
}

static void
blocklist(char *out, size_t len, const uint64_t *blks, size_t n)
{
	size_t pos = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && pos < len; i++)
		pos += (size_t)snprintf(out + pos, len - pos, "%s%llu", i ? "," : "", (unsigned long long)blks[i]);
}

/* Copy blocks blks of img into file out, in order. */
static int
extract(const char *img, const uint64_t *blks, size_t n, const char *out)
{
	size_t len;
	uint8_t *p = load(img, &len), *o;
	int rc;

	if (p == NULL)
		return -1;
	o = malloc(n * bsize + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(o + i * bsize, p + blks[i] * bsize, bsize);
	rc = save(out, o, n * bsize);
	free(o);
	free(p);
	return rc;
}

static bool
make_images(struct fsimg *fi, const char *fstype, const char *mkopts, uint32_t bs, const char *jo)
{
	char hostfile[300], garbage[300], script[300], list[4096], part[300];
	uint8_t magic[4] = { 0xC0, 0x3B, 0x39, 0x98 };
	FILE *f;

	bsize = bs;
	snprintf(fi->name, sizeof(fi->name), "%s%s/%u%s%s", fstype, mkopts, bs, *jo ? "/" : "", jo);
	snprintf(fi->a, sizeof(fi->a), "%s/a.img", top);
	snprintf(fi->b, sizeof(fi->b), "%s/b.img", top);
	snprintf(fi->dirty, sizeof(fi->dirty), "%s/dirty.img", top);
	snprintf(hostfile, sizeof(hostfile), "%s/magicfile", top);
	snprintf(garbage, sizeof(garbage), "%s/garbage", top);
	snprintf(script, sizeof(script), "%s/script", top);

	/* A file whose blocks start with the jbd2 magic: escaped in the log. */
	f = fopen(hostfile, "wb");
	for (uint32_t i = 0; i < 3 * bs; i++)
		fputc(i % bs < 4 ? magic[i % bs] : (int)((i * 7) & 0xff), f);
	fclose(f);
	f = fopen(garbage, "wb");
	for (uint32_t i = 0; i < 4 * bs; i++)
		fputc((int)((i * 131 + 17) & 0xff), f);
	fclose(f);

	if (t_runf("mke2fs -q -F -t %s %s -b %u -U 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff -E hash_seed="
		 "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff %s 16M >/dev/null 2>&1",
		 fstype, mkopts, bs, fi->a) != 0)
		return false;
	if (t_runf("cp %s %s && debugfs -w -f - %s >/dev/null 2>&1 <<'EOF'\n"
		 "mkdir d1\nmkdir d1/d2\nwrite %s d1/magic\nsymlink d1/link /some/where/else\n"
		 "mkdir d3\nwrite %s d3/garbage\nEOF",
		 fi->a, fi->b, fi->b, hostfile, garbage) != 0)
		return false;
	if (changed_blocks(fi) != 0 || fi->nchanged < 4)
		return false;
	fi->jmaxlen = (uint32_t)numf("dumpe2fs -h %s 2>/dev/null | sed -n 's/^Total journal blocks: *//p'", fi->a);
	if (fi->jmaxlen < 1024 || !map_journal(fi))
		return false;
	/* Two free blocks (free in B too): the last two of the image. */
	fi->free2 = numf("dumpe2fs -h %s 2>/dev/null | sed -n 's/^Block count: *//p'", fi->a) - 1;
	fi->free1 = fi->free2 - 1;
	if (t_runf("test \"$(debugfs -R 'testb %llu 2' %s 2>&1 | grep -c 'not in use')\" = 2",
		 (unsigned long long)fi->free1, fi->b) != 0)
		return false;
	fi->revoked_b = fi->changed[fi->nchanged / 2];

	/* The dirty image: A, with the journal taking it to B. */
	snprintf(part, sizeof(part), "%s/changed", top);
	if (extract(fi->b, fi->changed, fi->nchanged, part) != 0)
		return false;
	f = fopen(script, "w");
	fprintf(f, "jo %s\n", jo);
	fprintf(f, "jw -b %llu,%llu %s\n", (unsigned long long)fi->free1, (unsigned long long)fi->free2, garbage);
	fprintf(f, "jw -r %llu,%llu\n", (unsigned long long)fi->free1, (unsigned long long)fi->revoked_b);
	/* B's blocks in transactions of up to 8 blocks. */
	for (size_t i = 0; i < fi->nchanged; i += 8) {
		size_t n = MIN((size_t)8, fi->nchanged - i);
		char chunk[300];

		snprintf(chunk, sizeof(chunk), "%s/chunk%zu", top, i);
		if (extract(fi->b, fi->changed + i, n, chunk) != 0) {
			fclose(f);
			return false;
		}
		blocklist(list, sizeof(list), fi->changed + i, n);
		fprintf(f, "jw -b %s %s\n", list, chunk);
	}
	/* Not committed: must not be replayed. */
	fprintf(f, "jw -b %llu,%llu -c %s\n", (unsigned long long)fi->changed[0],
		(unsigned long long)fi->changed[1], garbage);
	fprintf(f, "jc\n");
	fclose(f);
	/* Ordered mode: file data goes home before the metadata commits. */
	if (t_runf("cp %s %s && for f in d1/magic d3/garbage; do for b in $(debugfs -R \"blocks $f\" %s 2>/dev/null); "
		 "do dd if=%s of=%s bs=%u skip=$b seek=$b count=1 conv=notrunc status=none || exit 1; done; done",
		 fi->a, fi->dirty, fi->b, fi->b, fi->dirty, bs) != 0)
		return false;
	if (t_runf("debugfs -w -f %s %s >%s/jlog 2>&1", script, fi->dirty, top) != 0)
		return false;
	if (t_runf("dumpe2fs -h %s 2>/dev/null | grep -q needs_recovery", fi->dirty) != 0)
		return false;
	return true;
}

/* --- the checks ----------------------------------------------------------------------- */

static void
check_replay(struct fsimg *fi, const char *dirty, const char *what)
{
	char mine[300], theirs[300];
	int err, d;

	snprintf(mine, sizeof(mine), "%s/mine.img", top);
	snprintf(theirs, sizeof(theirs), "%s/theirs.img", top);
	t_runf("cp %s %s && cp %s %s", dirty, mine, dirty, theirs);
	T_OK(anyk_replay(mine, &err) == 0, "%s%s: anyk mounts the dirty image read-write and unmounts (errno %d)",
	     fi->name, what, err);
	T_OK(t_runf("debugfs -w -R 'jr' %s >/dev/null 2>&1", theirs) == 0, "%s%s: debugfs journal_run", fi->name, what);
	d = imgdiff(mine, theirs, fi->name);
	T_OK(d == 0, "%s%s: anyk's replay is byte-identical to debugfs's but for mount times (%d bytes differ)",
	     fi->name, what, d);
	T_OK(t_runf("e2fsck -fn %s >%s/fsck 2>&1", mine, top) == 0, "%s%s: e2fsck -fn finds anyk's result clean",
	     fi->name, what);
	d = imgdiff(mine, fi->b, "vs B");
	T_OK(d > 0 && d == imgdiff(theirs, fi->b, "vs B"), "%s%s: the result differs from B only where debugfs's does",
	     fi->name, what);
}

static void
check_rdonly(struct fsimg *fi)
{
	char before[128], after[128], buf[64];
	struct anyk_stat st;
	int fd, ok = 0;

	sha(fi->dirty, before, sizeof(before));
	if (anyk_disk_attach("/dev/sd0", fi->dirty, 0) != 0) {
		T_OK(0, "%s: attach", fi->name);
		return;
	}
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) != 0) {
		T_OK(0, "%s: read-only mount of the dirty image (errno %d)", fi->name, errno);
		anyk_disk_detach("/dev/sd0");
		return;
	}
	if (anyk_sys_stat("/mnt/d1/d2", &st) == 0 && ANYK_S_ISDIR(st.st_mode))
		ok++;
	if (anyk_sys_stat("/mnt/d1/magic", &st) == 0 && st.st_size == 3 * bsize)
		ok++;
	fd = anyk_sys_open("/mnt/d3/garbage", ANYK_O_RDONLY, 0);
	if (fd >= 0) {
		if (anyk_sys_read(fd, buf, sizeof(buf)) == (anyk_ssize_t)sizeof(buf) && buf[0] == 17)
			ok++;
		anyk_sys_close(fd);
	}
	T_EQ(ok, 3, "read-only mount sees the replayed tree");
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", fi->name);
	anyk_disk_detach("/dev/sd0");
	sha(fi->dirty, after, sizeof(after));
	T_OK(strcmp(before, after) == 0, "%s: the read-only mount left the image byte-identical", fi->name);
}

/* Move the log so that it wraps: transactions start 3 blocks before the
 * end of the journal. Log blocks hold no journal positions, so moving
 * them and s_start is all it takes. */
static bool
make_wrapped(struct fsimg *fi, const char *out)
{
	size_t len;
	uint8_t *p = load(fi->dirty, &len), *jsb, *log;
	uint32_t first, start, maxlen, n, nstart;

	if (p == NULL)
		return false;
	jsb = jblk(p, fi, 0);
	maxlen = be32(jsb + 0x10);
	first = be32(jsb + 0x14);
	start = be32(jsb + 0x1C);
	n = maxlen - start;
	log = malloc((size_t)n * bsize);
	for (uint32_t i = 0; i < n; i++)
		memcpy(log + (size_t)i * bsize, jblk(p, fi, start + i), bsize);
	for (uint32_t i = first; i < maxlen; i++)
		memset(jblk(p, fi, i), 0, bsize);
	nstart = maxlen - 3;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = first + (nstart - first + i) % (maxlen - first);

		memcpy(jblk(p, fi, at), log + (size_t)i * bsize, bsize);
	}
	put_be32(jsb + 0x1C, nstart);
	jsb_fix_csum(jsb);
	free(log);
	save(out, p, len);
	free(p);
	return true;
}

static bool
in_journal(const struct fsimg *fi, uint64_t blk)
{
	for (uint32_t i = 0; i < fi->jmaxlen; i++)
		if (fi->jmap[i] == blk)
			return true;
	return false;
}

/* The journal block of the first block of type `type` in transaction seq. */
static uint32_t
find_jblock(const uint8_t *p, const struct fsimg *fi, uint32_t type, uint32_t seq)
{
	const uint8_t *jsb = jblk(p, fi, 0);

	for (uint32_t b = be32(jsb + 0x14); b < be32(jsb + 0x10); b++) {
		const uint8_t *h = jblk(p, fi, b);

		if (be32(h) == 0xC03B3998u && be32(h + 4) == type && be32(h + 8) == seq)
			return b;
	}
	return 0;
}

enum damage { D_COMMIT, D_DESCRIPTOR, D_LASTTAG, D_START, D_START0 };

/* Expected after damage to transaction 3 (the first of B's): A with the
 * garbage of transaction 1 in one free block (the other was revoked). */
static void
check_damage(struct fsimg *fi, enum damage dmg, bool csum, const char *what)
{
	char img[300], ref[300];
	size_t len;
	uint8_t *p = load(fi->dirty, &len);
	uint8_t *jsb = jblk(p, fi, 0);
	uint32_t b, seq = be32(jsb + 0x18) + 2;
	int err, rc, d;

	snprintf(img, sizeof(img), "%s/damaged.img", top);
	snprintf(ref, sizeof(ref), "%s/ref.img", top);
	switch (dmg) {
	case D_COMMIT:
		b = find_jblock(p, fi, 2, seq);
		jblk(p, fi, b)[0x40] ^= 1; /* past the commit time */
		break;
	case D_DESCRIPTOR:
		b = find_jblock(p, fi, 1, seq);
		jblk(p, fi, b)[12 + 3] ^= 1; /* the first tag's block */
		break;
	case D_LASTTAG:
		b = find_jblock(p, fi, 1, seq);
		/* Every tag of the block: no flags, so no last tag and no
		 * same-UUID; the walk must stop at the end of the block. */
		for (uint32_t off = 12; off + 16 <= bsize; off++)
			jblk(p, fi, b)[off] = off % 7 == 0 ? 0 : jblk(p, fi, b)[off];
		for (uint32_t off = 12; off < bsize; off += 4)
			jblk(p, fi, b)[off + 2] = 0;
		break;
	case D_START:
		put_be32(jsb + 0x1C, be32(jsb + 0x10));
		jsb_fix_csum(jsb);
		break;
	case D_START0:
		put_be32(jsb + 0x1C, 0xFFFFFFFFu);
		jsb_fix_csum(jsb);
		break;
	}
	save(img, p, len);
	free(p);
	rc = anyk_replay(img, &err);
	switch (dmg) {
	case D_COMMIT:
	case D_DESCRIPTOR:
		if (!csum) {
			/* Without checksums a changed tag is just another block;
			 * all that matters is that nothing breaks. */
			T_OK(rc == 0 || err == EUCLEAN, "%s: %s: mount or EUCLEAN (errno %d)", fi->name, what, err);
			break;
		}
		T_OK(rc == 0, "%s: %s: mounts (errno %d)", fi->name, what, err);
		/* The reference: A plus transaction 1's unrevoked block. */
		t_runf("cp %s %s", fi->dirty, ref); /* A with the data blocks in place */
		{
			uint8_t *r = load(ref, &len), *g;
			size_t gl;
			char gpath[300];

			snprintf(gpath, sizeof(gpath), "%s/garbage", top);
			g = load(gpath, &gl);
			memcpy(r + fi->free2 * bsize, g + bsize, bsize);
			r[1024 + 0x60] &= (uint8_t)~0x4; /* needs_recovery cleared */
			save(ref, r, len);
			free(r);
			free(g);
		}
		d = imgdiff(img, ref, fi->name);
		/* The journal area differs (the log was emptied); count the
		 * differences outside it. */
		{
			uint8_t *x = load(img, &len), *y = load(ref, &len);
			size_t n = 0;

			for (size_t blk = 0; blk < len / bsize; blk++) {
				if (in_journal(fi, blk))
					continue;
				for (size_t i = blk * bsize; i < (blk + 1) * bsize; i++)
					if (x[i] != y[i] && !sb_volatile(i))
						n++;
			}
			free(x);
			free(y);
			d = (int)n;
		}
		T_EQ(d, 0, "replay stopped before the damaged transaction: the image is A plus transaction 1");
		T_OK(t_runf("e2fsck -fn %s >/dev/null 2>&1", img) == 0, "%s: %s: e2fsck clean", fi->name, what);
		break;
	case D_LASTTAG:
		T_OK(rc == 0 || err == EUCLEAN, "%s: %s: mount or EUCLEAN, no crash (errno %d)", fi->name, what, err);
		break;
	case D_START:
	case D_START0:
		T_OK(rc == -1 && err == EUCLEAN, "%s: %s: EUCLEAN (errno %d)", fi->name, what, err);
		break;
	}
}

/* Random bytes of the log changed: whatever happens, no crash. */
static void
check_fuzz(struct fsimg *fi)
{
	char img[300];
	size_t len;
	uint8_t *orig = load(fi->dirty, &len), *p = malloc(len);
	uint64_t rng = 0x9E3779B97F4A7C15ull ^ bsize;
	uint32_t used = 0, mounted = 0;
	int err;

	snprintf(img, sizeof(img), "%s/fuzz.img", top);
	for (int iter = 0; iter < 24; iter++) {
		memcpy(p, orig, len);
		for (int k = 0; k < 1 + iter % 5; k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			/* Mostly the log's first blocks, where the transactions are. */
			uint64_t jb = rng % 16 == 0 ? rng % fi->jmaxlen : 1 + (rng >> 8) % 24;
			size_t off = (size_t)fi->jmap[jb] * bsize + (size_t)((rng >> 20) % (iter % 2 ? 64 : bsize));

			p[off] ^= (uint8_t)(1u << ((rng >> 40) % 8));
		}
		save(img, p, len);
		if (anyk_replay(img, &err) == 0)
			mounted++;
		used++;
	}
	T_OK(used == 24, "%s: 24 randomly damaged journals: no crash (%u mounted)", fi->name, mounted);
	free(p);
	free(orig);
}

/* mkopts: more mke2fs options; jo: debugfs's journal_open options ("-c":
 * checksums, the version the file system's features pick). */
static void
one(const char *fstype, const char *mkopts, uint32_t bs, const char *jo)
{
	bool jcsum = *jo != '\0';
	struct fsimg fi;
	char wrapped[300];

	memset(&fi, 0, sizeof(fi));
	if (!make_images(&fi, fstype, mkopts, bs, jo)) {
		T_OK(0, "%s: making the dirty image with debugfs", fi.name);
		free(fi.changed);
	free(fi.jmap);
		return;
	}
	T_OK(1, "%s: dirty image: %zu changed blocks journaled, journal of %u blocks", fi.name, fi.nchanged,
	     fi.jmaxlen);
	check_replay(&fi, fi.dirty, "");
	check_rdonly(&fi);
	snprintf(wrapped, sizeof(wrapped), "%s/wrapped.img", top);
	if (make_wrapped(&fi, wrapped))
		check_replay(&fi, wrapped, " (log wrapping past the end)");
	check_damage(&fi, D_COMMIT, jcsum, "damaged commit block");
	check_damage(&fi, D_DESCRIPTOR, jcsum, "damaged descriptor block");
	check_damage(&fi, D_LASTTAG, jcsum, "tags without flags to the end of the block");
	check_damage(&fi, D_START, jcsum, "s_start = s_maxlen");
	check_damage(&fi, D_START0, jcsum, "s_start = 0xffffffff");
	check_fuzz(&fi);
	free(fi.changed);
	free(fi.jmap);
}

int
main(void)
{
	char tmpl[] = "/tmp/anyk-journal.XXXXXX";

	if (!t_have_tools("mke2fs debugfs e2fsck sha256sum")) {
		T_SKIP("ext2_journal: e2fsprogs not installed");
		return t_done();
	}
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(top, sizeof(top), "%s", tmpl);
	T_OK(anyk_init() == 0, "anyk_init");
	anyk_sys_mkdir("/mnt", 0755);
	/* Tags of 12 bytes (64-bit), 16 (csum v3, 64- and 32-bit), 8 (32-bit),
	 * 10 (csum v2, 32-bit). ext3's checksummed journals (-c there gives
	 * v1, a crc32 of the transaction in the commit block) are left out:
	 * e2fsck rejects the v1 checksums debugfs writes for revoke-only
	 * transactions, so there is no oracle, and anyk does not verify v1. */
	one("ext4", "", 4096, "");
	one("ext4", "", 4096, "-c");
	one("ext4", "", 1024, "-c");
	one("ext3", "", 1024, "");
	one("ext4", " -O ^64bit", 4096, "-c -v 2");
	one("ext4", " -O ^64bit", 1024, "-c -v 3");
	t_runf("rm -rf %s", top);
	return t_done();
}
