/*
 * Quota usage (the quota feature). ext4 keeps, in hidden quota files whose
 * inodes the superblock names, how many inodes and bytes each user and
 * each group owns, beside the limits set for them. e2fsck checks that
 * usage against what the inodes add up to: every inode in use (links not
 * zero), the root and those from s_first_ino on, the quota files aside,
 * counts one inode and i_blocks * 512 bytes for its owner, its group and
 * its project.
 *
 * The driver keeps the files right without walking the inodes: each inode
 * write (ext2_inode_write) compares the owner, group, link count and
 * blocks it writes with what the inode held on disk before (its raw copy)
 * and notes the difference per user and per group. On sync and unmount
 * each quota file with differences is read (format v2, revision 1: a
 * header, a radix tree of 1 KiB blocks four levels deep on the id, data
 * blocks of 72-byte entries), the differences are added, and the file is
 * laid out again whole, its limits, grace times and settings kept. A
 * quota file that cannot be read is left as it is, with a warning: e2fsck
 * rebuilds quota files.
 *
 * With the project feature, projects are a third kind, by each inode's
 * project id (which new inodes take from a directory marked to hand it
 * down, ext2_vnops.c).
 */
#include "fs/ext2/ext2_journal.h"

#define SB_USR_QUOTA_INUM 0x240
#define SB_GRP_QUOTA_INUM 0x244
#define SB_PRJ_QUOTA_INUM 0x26C

#define QT_BLK 1024u          /* the format's block */
#define QT_DEPTH 4            /* levels of the tree */
#define QT_HDR 16u            /* a data block's header */
#define QT_ENT 72u            /* one entry */
#define QT_PER ((QT_BLK - QT_HDR) / QT_ENT)
#define QT_FILE_MAX (16u << 20) /* larger quota files are not read */
#define QT_HASH 256

/* Entry fields. */
#define QE_ID 0
#define QE_CURINODES 24
#define QE_CURSPACE 48
#define QE_ITIME 64
/* Header and info (after the 8-byte header). */
#define QH_MAGIC 0
#define QH_VERSION 4
#define QI_BLOCKS 20
#define QI_FREE_BLK 24
#define QI_FREE_ENTRY 28

static const uint32_t qt_magic[EXT2_NQUOTA] = { 0xd9c01f11, 0xd9c01927, 0xd9c03f14 };
static const char *const qt_name[EXT2_NQUOTA] = { "user", "group", "project" };

struct qdelta {
	struct qdelta *next;
	uint32_t id;
	int64_t inodes, space;
};

struct ext2_quota {
	kmutex_t lock;     /* the differences; taken by inode writes */
	kmutex_t synclock; /* one rewrite of the files at a time */
	uint32_t inum[EXT2_NQUOTA];
	struct qdelta *hash[EXT2_NQUOTA][QT_HASH];
	bool broken[EXT2_NQUOTA]; /* warned once: left alone from then on */
};

int
ext2_quota_init(struct ext2_mount *em)
{
	struct ext2_quota *q;

	if (!(em->em_sb.s_rocompat & RO_COMPAT_QUOTA) || em->em_rdonly)
		return 0;
	q = kmem_zalloc(&ext2_kmem, sizeof(*q));
	if (q == NULL)
		return ENOMEM;
	mutex_init(&q->lock);
	mutex_init(&q->synclock);
	q->inum[0] = le32dec(em->em_sbraw + SB_USR_QUOTA_INUM);
	q->inum[1] = le32dec(em->em_sbraw + SB_GRP_QUOTA_INUM);
	if (em->em_sb.s_rocompat & RO_COMPAT_PROJECT)
		q->inum[2] = le32dec(em->em_sbraw + SB_PRJ_QUOTA_INUM);
	for (int t = 0; t < EXT2_NQUOTA; t++) {
		if (q->inum[t] != 0 && (q->inum[t] > em->em_sb.s_inodes_count || q->inum[t] == EXT2_ROOT_INO)) {
			klog(LOG_WARN, "ext2 %s: %s quota inode %u out of range: not kept", em->em_name,
			     qt_name[t], q->inum[t]);
			q->inum[t] = 0;
		}
	}
	em->em_quota = q;
	return 0;
}

static void
deltas_free(struct qdelta **hash)
{
	struct qdelta *d;

	for (int b = 0; b < QT_HASH; b++) {
		while ((d = hash[b]) != NULL) {
			hash[b] = d->next;
			kmem_free(&ext2_kmem, d, sizeof(*d));
		}
	}
}

void
ext2_quota_free(struct ext2_mount *em)
{
	struct ext2_quota *q = em->em_quota;

	if (q == NULL)
		return;
	for (int t = 0; t < EXT2_NQUOTA; t++)
		deltas_free(q->hash[t]);
	mutex_destroy(&q->lock);
	mutex_destroy(&q->synclock);
	kmem_free(&ext2_kmem, q, sizeof(*q));
	em->em_quota = NULL;
}

/* Does inode ino count towards quota usage? */
static bool
counted(const struct ext2_mount *em, const struct ext2_quota *q, uint32_t ino)
{
	if (ino != EXT2_ROOT_INO && ino < em->em_sb.s_first_ino)
		return false;
	return ino != q->inum[0] && ino != q->inum[1] && ino != q->inum[2];
}

/* q->lock held. */
static void
note(struct ext2_quota *q, int t, uint32_t id, int64_t inodes, int64_t space)
{
	struct qdelta **pp = &q->hash[t][id % QT_HASH], *d;

	for (d = *pp; d != NULL; d = d->next)
		if (d->id == id)
			break;
	if (d == NULL) {
		d = kmem_zalloc(&ext2_kmem, sizeof(*d));
		if (d == NULL)
			return; /* the file lags; e2fsck corrects it */
		d->id = id;
		d->next = *pp;
		*pp = d;
	}
	d->inodes += inodes;
	d->space += space;
}

void
ext2_quota_inode(struct ext2_mount *em, const struct ext2_inode *ip)
{
	struct ext2_quota *q = em->em_quota;
	const struct ext2_sb *sb = &em->em_sb;
	const uint8_t *raw = ip->i_raw;
	uint32_t used;
	int64_t space;

	if (q == NULL || !counted(em, q, ip->i_ino))
		return;
	mutex_enter(&q->lock);
	/* What the inode held (nothing for one never written). */
	if (raw != NULL && le16dec(raw + I_LINKS) != 0) {
		used = EXT2_GOOD_OLD_INODE_SIZE;
		if (sb->s_inode_size > EXT2_GOOD_OLD_INODE_SIZE)
			used += le16dec(raw + I_EXTRA_ISIZE);
		space = (int64_t)(ext2_raw_blocks512(sb, raw) << 9);
		note(q, 0, ext2_raw_uid(raw), -1, -space);
		note(q, 1, ext2_raw_gid(raw), -1, -space);
		if (q->inum[2] != 0)
			note(q, 2, used <= sb->s_inode_size ? ext2_raw_projid(sb, raw, used) : 0, -1, -space);
	}
	if (ip->i_nlink != 0) {
		space = (int64_t)(ip->i_blocks512 << 9);
		note(q, 0, ip->i_uid, 1, space);
		note(q, 1, ip->i_gid, 1, space);
		if (q->inum[2] != 0)
			note(q, 2, ip->i_projid, 1, space);
	}
	mutex_exit(&q->lock);
}

/* --- the file ----------------------------------------------------------------- */

struct qent {
	uint32_t id;
	uint8_t raw[QT_ENT];
};

struct qfile {
	const uint8_t *f;
	uint32_t nblk;
	uint8_t *seen; /* a bit per block: visited */
	struct qent *ents;
	uint32_t n, cap;
};

static bool
entry_unused(const uint8_t *e)
{
	for (uint32_t i = 0; i < QT_ENT; i++)
		if (e[i] != 0)
			return false;
	return true;
}

static int
walk(struct qfile *qf, uint32_t blk, int depth)
{
	const uint8_t *b;
	int error;

	if (blk >= qf->nblk || blk < 1)
		return EUCLEAN;
	if (qf->seen[blk / 8] & (1u << (blk % 8)))
		return 0; /* a data block many ids share, or a loop */
	qf->seen[blk / 8] |= (uint8_t)(1u << (blk % 8));
	b = qf->f + (size_t)blk * QT_BLK;
	if (depth == QT_DEPTH) { /* below the four levels of the tree */
		for (uint32_t i = 0; i < QT_PER; i++) {
			const uint8_t *e = b + QT_HDR + i * QT_ENT;

			if (entry_unused(e))
				continue;
			if (qf->n == qf->cap)
				return EUCLEAN;
			qf->ents[qf->n].id = le32dec(e + QE_ID);
			memcpy(qf->ents[qf->n].raw, e, QT_ENT);
			qf->n++;
		}
		return 0;
	}
	for (uint32_t i = 0; i < QT_BLK / 4; i++) {
		uint32_t ref = le32dec(b + 4 * i);

		if (ref != 0 && (error = walk(qf, ref, depth + 1)) != 0)
			return error;
	}
	return 0;
}

static void
ent_sort(struct qent *v, uint32_t n)
{
	/* Shell sort: a few hundred entries, usually a handful. */
	for (uint32_t gap = n / 2; gap > 0; gap /= 2) {
		for (uint32_t i = gap; i < n; i++) {
			struct qent t = v[i];
			uint32_t j = i;

			while (j >= gap && v[j - gap].id > t.id) {
				v[j] = v[j - gap];
				j -= gap;
			}
			v[j] = t;
		}
	}
}

static void
add64(uint8_t *p, int64_t d)
{
	int64_t v = (int64_t)le64dec(p) + d;

	le64enc(p, (uint64_t)(v < 0 ? 0 : v));
}

/* The blocks a file of the n sorted entries takes. */
static uint32_t
layout_blocks(const struct qent *v, uint32_t n)
{
	uint32_t blocks = 2 + (n + QT_PER - 1) / QT_PER;

	for (int level = 1; level < QT_DEPTH; level++) {
		unsigned shift = 8u * (unsigned)(QT_DEPTH - level);

		for (uint32_t i = 0; i < n; i++)
			if (i == 0 || v[i].id >> shift != v[i - 1].id >> shift)
				blocks++;
	}
	return blocks;
}

/* Lay the n sorted entries out in out (layout_blocks(v, n) blocks, zeroed),
 * keeping the grace times and flags of old (the old file). */
static void
layout(const struct qent *v, uint32_t n, uint8_t *out, const uint8_t *old, uint32_t magic)
{
	uint32_t nblk = layout_blocks(v, n);
	uint32_t next = 2, data = 0, indata = 0;

	memcpy(out, old, QI_FREE_ENTRY + 4); /* magic, version, info */
	le32enc(out + QH_MAGIC, magic);
	le32enc(out + QH_VERSION, 1);
	le32enc(out + QI_BLOCKS, nblk);
	le32enc(out + QI_FREE_BLK, 0);
	le32enc(out + QI_FREE_ENTRY, 0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t blk = 1;
		uint8_t *e;

		for (int level = 0; level < QT_DEPTH - 1; level++) {
			uint8_t *ref = out + (size_t)blk * QT_BLK + 4 * ((v[i].id >> (8u * (unsigned)(3 - level))) & 255);

			if (le32dec(ref) == 0)
				le32enc(ref, next++);
			blk = le32dec(ref);
		}
		if (data == 0 || indata == QT_PER) {
			data = next++;
			indata = 0;
		}
		le32enc(out + (size_t)blk * QT_BLK + 4 * (v[i].id & 255), data);
		e = out + (size_t)data * QT_BLK + QT_HDR + indata * QT_ENT;
		memcpy(e, v[i].raw, QT_ENT);
		/* An all-zero entry reads as a free slot. */
		if (entry_unused(e))
			le64enc(e + QE_ITIME, 1);
		indata++;
		le16enc(out + (size_t)data * QT_BLK + 8, (uint16_t)indata);
	}
}

static int
file_io(struct ext2_mount *em, struct ext2_inode *ip, void *buf, size_t len, bool write)
{
	struct anyk_iovec iov;
	struct uio uio;
	int error;

	uio_init_kernel(&uio, &iov, buf, len, 0, write ? UIO_WRITE : UIO_READ);
	error = write ? ext2_write(em, ip, &uio, 0) : ext2_read(em, ip, &uio);
	if (!error && uio.uio_resid != 0)
		error = EIO;
	return error;
}

/* The entry for id among v[0, n) (sorted), or NULL. */
static struct qent *
ent_find(struct qent *v, uint32_t n, uint32_t id)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].id == id ? &v[lo] : NULL;
}

/* Nothing but the id: no usage, limits or grace times. */
static bool
ent_empty(const struct qent *e)
{
	for (uint32_t i = 8; i < QT_ENT; i++)
		if (e->raw[i] != 0)
			return false;
	return true;
}

/* Add the differences in hash to type t's file. q->synclock held. */
static int
sync_one(struct ext2_mount *em, struct ext2_quota *q, int t, struct qdelta **hash)
{
	struct qfile qf = { 0 };
	struct ext2_inode *ip = NULL;
	uint8_t *buf = NULL, *out = NULL;
	struct qdelta *d;
	uint32_t ndelta = 0, norig, k, outblk = 0;
	size_t len = 0, entsize = 0;
	int error;

	for (int b = 0; b < QT_HASH; b++)
		for (d = hash[b]; d != NULL; d = d->next)
			ndelta++;
	error = ext2_inode_load(em, q->inum[t], &ip);
	if (error)
		goto bad;
	len = (size_t)ip->i_size;
	if (!ANYK_S_ISREG(ip->i_mode) || len < 2 * QT_BLK || len > QT_FILE_MAX || len % QT_BLK != 0) {
		error = EUCLEAN;
		goto bad;
	}
	qf.nblk = (uint32_t)(len / QT_BLK);
	qf.cap = qf.nblk * QT_PER + ndelta;
	entsize = (size_t)qf.cap * sizeof(*qf.ents);
	buf = kmem_alloc(&ext2_kmem, len);
	qf.seen = kmem_zalloc(&ext2_kmem, qf.nblk / 8 + 1);
	qf.ents = kmem_alloc(&ext2_kmem, entsize);
	if (buf == NULL || qf.seen == NULL || qf.ents == NULL) {
		error = ENOMEM;
		goto bad;
	}
	error = file_io(em, ip, buf, len, false);
	if (error)
		goto bad;
	qf.f = buf;
	if (le32dec(buf + QH_MAGIC) != qt_magic[t] || le32dec(buf + QH_VERSION) != 1) {
		error = EUCLEAN;
		goto bad;
	}
	qf.cap -= ndelta; /* the rest is for new ids */
	error = walk(&qf, 1, 0);
	if (error)
		goto bad;
	ent_sort(qf.ents, qf.n);
	/* One entry per id: the first. */
	k = 0;
	for (uint32_t i = 0; i < qf.n; i++)
		if (k == 0 || qf.ents[i].id != qf.ents[k - 1].id)
			qf.ents[k++] = qf.ents[i];
	qf.n = norig = k;
	for (int b = 0; b < QT_HASH; b++) {
		for (d = hash[b]; d != NULL; d = d->next) {
			struct qent *e = ent_find(qf.ents, norig, d->id);

			if (e == NULL) {
				e = &qf.ents[qf.n++];
				memset(e, 0, sizeof(*e));
				e->id = d->id;
				le32enc(e->raw + QE_ID, d->id);
			}
			add64(e->raw + QE_CURINODES, d->inodes);
			add64(e->raw + QE_CURSPACE, d->space);
		}
	}
	ent_sort(qf.ents, qf.n);
	k = 0;
	for (uint32_t i = 0; i < qf.n; i++)
		if (!ent_empty(&qf.ents[i]))
			qf.ents[k++] = qf.ents[i];
	qf.n = k;
	outblk = layout_blocks(qf.ents, qf.n);
	out = kmem_zalloc(&ext2_kmem, (size_t)outblk * QT_BLK);
	if (out == NULL) {
		error = ENOMEM;
		goto bad;
	}
	layout(qf.ents, qf.n, out, buf, qt_magic[t]);
	error = file_io(em, ip, out, (size_t)outblk * QT_BLK, true);
	if (!error && (uint64_t)outblk * QT_BLK < ip->i_size)
		error = ext2_truncate(em, ip, (uint64_t)outblk * QT_BLK);
	if (!error)
		error = ext2_inode_write(em, ip);
	goto out;
bad:
	/* Reading it failed (or memory ran out): the mount goes on. */
	klog(LOG_WARN, "ext2 %s: %s quota file (inode %u) unreadable (error %d): usage not kept; run e2fsck",
	     em->em_name, qt_name[t], q->inum[t], error);
	q->broken[t] = true;
	error = 0;
out:
	if (ip != NULL)
		ext2_inode_free(ip);
	if (buf != NULL)
		kmem_free(&ext2_kmem, buf, len);
	if (out != NULL)
		kmem_free(&ext2_kmem, out, (size_t)outblk * QT_BLK);
	if (qf.seen != NULL)
		kmem_free(&ext2_kmem, qf.seen, qf.nblk / 8 + 1);
	if (qf.ents != NULL)
		kmem_free(&ext2_kmem, qf.ents, entsize);
	return error;
}

int
ext2_quota_sync(struct ext2_mount *em)
{
	struct ext2_quota *q = em->em_quota;
	struct qdelta *hash[QT_HASH];
	struct ext2_jhandle *h;
	bool changed;
	int error = 0, e2;

	if (q == NULL)
		return 0;
	mutex_enter(&q->synclock);
	for (int t = 0; t < EXT2_NQUOTA && !error; t++) {
		/* Taken out under the lock, so that inode writes, which may
		 * hold other locks the rewrite needs, never wait for it. */
		mutex_enter(&q->lock);
		memcpy(hash, q->hash[t], sizeof(hash));
		memset(q->hash[t], 0, sizeof(q->hash[t]));
		mutex_exit(&q->lock);
		/* Nothing changed, or nothing to keep: no handle, no I/O. */
		changed = false;
		for (int b = 0; b < QT_HASH && !changed; b++)
			changed = hash[b] != NULL;
		if (changed && q->inum[t] != 0 && !q->broken[t]) {
			/* The file is written whole: room for a file of 64
			 * KiB, more than a few hundred ids take (larger ones
			 * run past what they reserved, which the log's slack
			 * absorbs). */
			error = ext2_jop_begin(em, EXT2_JOP_FILE, 64 * QT_BLK, &h);
			if (!error) {
				e2 = sync_one(em, q, t, hash);
				error = ext2_jop_end(h, e2);
			}
		}
		deltas_free(hash);
	}
	mutex_exit(&q->synclock);
	return error;
}
