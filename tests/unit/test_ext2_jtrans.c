/*
 * Journal transactions (fs/ext2/ext2_jtrans.c) on their own, against
 * e2fsprogs. A fresh ext3/ext4 image is mounted read-write, its journal
 * opened, and transactions write recognisable patterns into free blocks
 * (as metadata blocks would be): then copies of the image taken after a
 * commit and before any checkpoint (a crash there) must show a journal
 * that debugfs's logdump reads, and anyk's replay (mount) and e2fsck's
 * (-fy) must produce the same blocks, the committed ones: the escaped
 * block, blocks changed twice, a block revoked and then reused as file
 * data (the revoke must keep the old copy off it), a block revoked and
 * logged again. Then many transactions wrap the log around its end and
 * force checkpoints; several threads with nested handles commit
 * concurrently; and closing the journal leaves a clean file system.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <anyk/anyk.h>

#include "kern/kernel.h"
#include "vfs/vfs.h"
#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_journal.h"

#define NPB 64

static char top[256], img[300];
static struct ext2_mount *em;
static uint32_t bs;
static uint64_t pb[NPB];      /* free blocks used as "metadata" */
static uint32_t want[NPB];    /* the pattern each should hold once committed */

/* Pattern v: a block no two v share, readable in a hex dump. */
static void
fill(uint8_t *p, uint32_t v)
{
	uint32_t x = v * 2654435761u + 1;

	for (uint32_t i = 0; i < bs; i += 4) {
		x = x * 1103515245u + 12345;
		p[i] = (uint8_t)(v >> 8);
		p[i + 1] = (uint8_t)v;
		p[i + 2] = (uint8_t)(x >> 16);
		p[i + 3] = (uint8_t)(x >> 24);
	}
	if (v % 7 == 3) {
		/* Begins with the journal's magic: logged escaped. */
		p[0] = 0xC0;
		p[1] = 0x3B;
		p[2] = 0x39;
		p[3] = 0x98;
	}
}

static bool
is_pattern(const uint8_t *p, uint32_t v)
{
	uint8_t *q = malloc(bs);
	bool ok;

	fill(q, v);
	ok = memcmp(p, q, bs) == 0;
	free(q);
	return ok;
}

/* One metadata change: block pb[i] becomes pattern v. */
static int
put(struct ext2_jhandle *h, int i, uint32_t v)
{
	struct buf *bp;
	int error;

	error = bread(em->em_bdev, pb[i], bs, &bp);
	if (error)
		return error;
	error = ext2_jdirty(h, bp);
	fill(bp->b_data, v);
	bdwrite(bp);
	return error;
}

static int
find_free_blocks(uint64_t goal)
{
	char cmd[600], line[8192], *s, *e;
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'ffb %d %llu' %s 2>/dev/null", NPB, (unsigned long long)goal, img);
	p = popen(cmd, "r");
	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		s = strstr(line, "Free blocks found:");
		if (s == NULL)
			continue;
		s += strlen("Free blocks found:");
		while (n < NPB) {
			unsigned long long v = strtoull(s, &e, 10);

			if (e == s)
				break;
			pb[n++] = v;
			s = e;
		}
	}
	pclose(p);
	return n;
}

static struct ext2_mount *
mounted(const char *path)
{
	struct vnode *vp;
	struct ext2_mount *m;

	if (namei(ANYK_AT_FDCWD, path, NI_FOLLOW, &vp) != 0)
		return NULL;
	m = VFSTOEXT2(vp->v_mount);
	vrele(vp);
	return m;
}

static uint8_t *
readblk(const char *path, uint64_t blk)
{
	uint8_t *p = malloc(bs);
	FILE *f = fopen(path, "rb");

	if (f == NULL || fseeko(f, (off_t)(blk * bs), SEEK_SET) != 0 || fread(p, 1, bs, f) != bs) {
		memset(p, 0xEE, bs);
	}
	if (f != NULL)
		fclose(f);
	return p;
}

/*
 * The image as a crash now would leave it: debugfs reads ntrans committed
 * transactions, and both replays give every pattern block its committed
 * contents (want[]) and a clean file system.
 */
static void
check_cut(const char *what, int ntrans)
{
	char cut[400], a[400], e[400], out[400], line[512];
	int ncommit = 0, bad_a = 0, bad_e = 0, same = 0, rc;
	FILE *f;

	snprintf(cut, sizeof(cut), "%s/cut.img", top);
	snprintf(a, sizeof(a), "%s/anyk.img", top);
	snprintf(e, sizeof(e), "%s/e2fsck.img", top);
	snprintf(out, sizeof(out), "%s/logdump.txt", top);
	T_EQ(t_runf("cp --sparse=always %s %s && cp --sparse=always %s %s && cp --sparse=always %s %s", img, cut,
		  cut, a, cut, e), 0, "copy the image");
	T_EQ(t_runf("debugfs -R logdump %s >%s 2>&1", cut, out), 0, "debugfs logdump");
	f = fopen(out, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "(commit block)") != NULL)
			ncommit++;
	if (f != NULL)
		fclose(f);
	if (ntrans >= 0)
		T_EQ(ncommit, ntrans, "logdump finds the committed transactions");
	else
		T_OK(ncommit > 0, "%s: logdump finds %d committed transactions", what, ncommit);

	rc = t_runf("e2fsck -fy %s >/dev/null 2>&1", e);
	T_OK(rc == 0 || rc == 1, "%s: e2fsck -fy replays (exit %d)", what, rc);
	T_EQ(t_runf("e2fsck -fn %s >/dev/null 2>&1", e), 0, "e2fsck's replay is clean");

	T_EQ(anyk_disk_attach("/dev/sd1", a, 0), 0, "attach the copy");
	T_EQ(anyk_sys_mount("/dev/sd1", "/mnt2", "ext4", 0, NULL), 0, "anyk mounts it (replays)");
	T_EQ(anyk_sys_unmount("/mnt2", 0), 0, "and unmounts");
	anyk_disk_detach("/dev/sd1");
	rc = t_runf("e2fsck -fn %s >/dev/null 2>&1", a);
	T_EQ(rc, 0, "anyk's replay is clean");

	for (int i = 0; i < NPB; i++) {
		uint8_t *pa, *pe, *pw;

		if (want[i] == 0)
			continue;
		pa = readblk(a, pb[i]);
		pe = readblk(e, pb[i]);
		pw = malloc(bs);
		fill(pw, want[i]);
		if (memcmp(pa, pw, bs) != 0)
			bad_a++;
		if (memcmp(pe, pw, bs) != 0)
			bad_e++;
		if (memcmp(pa, pe, bs) == 0)
			same++;
		free(pa);
		free(pe);
		free(pw);
	}
	T_EQ(bad_a, 0, "anyk's replay: every block holds what was committed");
	T_EQ(bad_e, 0, "e2fsck's replay: every block holds what was committed");
	(void)same;
	/* Beyond the superblock (times, counts), the images agree. */
	rc = t_runf("cmp -s -i %u %s %s", 8192u, a, e);
	if (rc != 0) {
		T_EQ(t_runf("cmp -l -i %u %s %s | awk '{print int(($1-1+%u)/%u)}' | sort -un | head -5 >&2", 8192u, a, e,
			  8192u, bs), 0, "(blocks that differ)");
	}
	T_EQ(rc, 0, "anyk's and e2fsck's replays are identical past the first 8 KiB");
}

/* debugfs opens and closes the journal, leaving these features set. */
#define JFEAT(opts) "printf 'jo " opts "\\njc\\n' | debugfs -w -f - %1$s >/dev/null 2>&1"

static int
txn(int ntouch, const int *idx, const uint32_t *val)
{
	struct ext2_jhandle *h;
	int error;

	error = ext2_jbegin(em, (uint32_t)ntouch, &h);
	if (error)
		return error;
	for (int i = 0; i < ntouch && !error; i++)
		error = put(h, idx[i], val[i]);
	if (!error)
		error = ext2_jend(h);
	else
		ext2_jend(h);
	return error;
}

static void
test_commit_and_revoke(void)
{
	struct ext2_jhandle *h, *h2;
	int idx[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	uint32_t val[8];
	uint8_t *data;

	for (int i = 0; i < 8; i++)
		val[i] = want[i] = 100 + (uint32_t)i;
	T_EQ(txn(8, idx, val), 0, "transaction 1: eight blocks, one escaped");
	T_EQ(ext2_jcommit(em, true), 0, "commit");
	check_cut("after one commit", 1);

	T_EQ(ext2_jbegin(em, 6, &h), 0, "transaction 2");
	for (int i = 0; i < 4; i++) {
		T_EQ(put(h, i, 200 + (uint32_t)i), 0, "change a block again");
		want[i] = 200 + (uint32_t)i;
	}
	T_EQ(ext2_jbegin(em, 2, &h2), 0, "a nested handle");
	T_OK(h2 == h, "is the same handle");
	T_EQ(ext2_jrevoke(h2, pb[5]), 0, "revoke a block (freed)");
	T_EQ(ext2_jrevoke(h2, pb[7]), 0, "revoke another");
	T_EQ(ext2_jend(h2), 0, "end the nested handle");
	T_EQ(put(h, 7, 207), 0, "... which is used as metadata again");
	want[7] = 207;
	T_EQ(ext2_jend(h), 0, "end transaction 2");
	T_EQ(ext2_jcommit(em, true), 0, "commit");
	/* The freed block becomes file data, written around the journal. */
	data = malloc(bs);
	fill(data, 555);
	T_EQ(bdev_write(em->em_bdev, pb[5] * bs, data, bs), 0, "reuse the revoked block for file data");
	T_EQ(bdev_flush(em->em_bdev), 0, "flush it");
	free(data);
	want[5] = 555;
	check_cut("after a revoke", 2);
}

static void
test_wrap(void)
{
	struct ext2_jinfo ji0, ji;
	bool cut = false;
	int k, idx[6];
	uint32_t val[6];

	ext2_jinfo(em, &ji0);
	for (k = 0; k < 3000; k++) {
		for (int i = 0; i < 6; i++) {
			idx[i] = 8 + (k * 6 + i) % 40;
			val[i] = 1000 + (uint32_t)(k * 6 + i);
		}
		if (txn(6, idx, val) != 0 || ext2_jcommit(em, true) != 0)
			break;
		for (int i = 0; i < 6; i++)
			want[idx[i]] = val[i];
		ext2_jinfo(em, &ji);
		/* The live part of the log runs past its end: cut there. */
		if (ji.ji_wraps > ji0.ji_wraps + 1 && ji.ji_used > ji.ji_head - ji.ji_first + 20 &&
		    ji.ji_checkpoints > ji0.ji_checkpoints) {
			cut = true;
			break;
		}
	}
	T_OK(cut, "the log wrapped around its end (%d transactions, %llu checkpoints, head %u)", k,
	     (unsigned long long)ji.ji_checkpoints, ji.ji_head);
	check_cut("across the end of the log", -1);
}

struct worker {
	int id;
	int n;
	int err;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct ext2_jhandle *h, *h2;

	for (int k = 1; k <= w->n && !w->err; k++) {
		w->err = ext2_jbegin(em, 2, &h);
		if (w->err)
			break;
		w->err = put(h, 48 + 2 * w->id, 5000 + (uint32_t)(w->id * 1000 + k));
		if (!w->err)
			w->err = ext2_jbegin(em, 1, &h2);
		if (!w->err) {
			w->err = put(h2, 49 + 2 * w->id, 9000 + (uint32_t)(w->id * 1000 + k));
			ext2_jend(h2);
		}
		ext2_jend(h);
		if (k % 25 == 0 && !w->err)
			w->err = ext2_jcommit(em, k % 50 == 0);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[4];
	struct worker w[4];
	int errs = 0, bad = 0;
	uint8_t *p = malloc(bs);

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .id = i, .n = 150 };
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		errs += w[i].err != 0;
		want[48 + 2 * i] = 5000 + (uint32_t)(i * 1000 + w[i].n);
		want[49 + 2 * i] = 9000 + (uint32_t)(i * 1000 + w[i].n);
	}
	T_EQ(errs, 0, "four threads with nested handles and commits");
	T_EQ(ext2_jcheckpoint(em), 0, "checkpoint");
	for (int i = 48; i < 56; i++) {
		if (bdev_read(em->em_bdev, pb[i] * bs, p, bs) != 0 || !is_pattern(p, want[i]))
			bad++;
	}
	T_EQ(bad, 0, "after the checkpoint every block is home");
	free(p);
}

/* Commits nobody waits for: asked for (jcommit without wait) and, once,
 * the periodic one of a transaction left alone. */
static void
test_background(bool periodic)
{
	struct ext2_jinfo ji0, ji;
	int idx[1] = { 60 };
	uint32_t val[1] = { 7000 };

	ext2_jinfo(em, &ji0);
	T_EQ(txn(1, idx, val), 0, "a transaction");
	want[60] = val[0];
	T_EQ(ext2_jcommit(em, false), 0, "commit without waiting");
	for (int i = 0; i < 300; i++) {
		ext2_jinfo(em, &ji);
		if (ji.ji_commits > ji0.ji_commits)
			break;
		usleep(10000);
	}
	T_OK(ji.ji_commits > ji0.ji_commits, "... commits in the background");
	if (!periodic)
		return;
	ji0 = ji;
	val[0] = 7001;
	T_EQ(txn(1, idx, val), 0, "a transaction left alone");
	want[60] = val[0];
	for (int i = 0; i < 150; i++) {
		ext2_jinfo(em, &ji);
		if (ji.ji_commits > ji0.ji_commits)
			break;
		usleep(100000);
	}
	T_OK(ji.ji_commits > ji0.ji_commits, "... is committed within about 5 s");
}

/*
 * Helpers deep in an operation join the thread's handle (ext2_jcurrent)
 * without adding credits: a block changed a hundred times costs one. And
 * a transaction commits before it grows past a share of the buffer
 * cache's bound, since its buffers stay pinned there until it commits.
 */
static void
test_bounds(void)
{
	struct ext2_jhandle *h, *h2;
	struct ext2_jinfo ji, ji0;
	struct bufcache_stats st;
	struct buf *bp;
	uint32_t cap;
	int i, idx[1] = { 9 };
	uint32_t val[1] = { 900 };

	T_EQ(ext2_jop_blocks(em, EXT2_JOP_CREATE, 0), 48, "a create's handle: 48 blocks");
	T_EQ(ext2_jop_blocks(em, EXT2_JOP_FILE, 1 << 20), 16 + ext2_jcost(em, (1 << 20) / bs + 2),
	     "a 1 MiB write's: its mapping's cost");
	T_EQ(ext2_jop_blocks(em, EXT2_JOP_COUNT, 0), 1, "an unknown operation: 1");
	T_EQ(ext2_jcommit(em, true), 0, "commit what is running");
	T_OK(ext2_jcurrent(em) == NULL, "no current handle outside one");
	T_EQ(ext2_jbegin(em, 4, &h), 0, "a handle of 4 blocks");
	T_OK(ext2_jcurrent(em) == h, "is the current handle");
	for (i = 0; i < 100; i++) {
		if (bread(em->em_bdev, pb[8], bs, &bp) != 0)
			break;
		fill(bp->b_data, 800);
		ext2_mwrite(em, bp);
	}
	want[8] = 800;
	T_EQ(i, 100, "change one block 100 times through ext2_mwrite");
	ext2_jinfo(em, &ji);
	T_EQ(ji.ji_reserved, 4, "the transaction still reserves 4 blocks");
	T_EQ(ext2_jbegin(em, 2, &h2), 0, "a nested begin");
	T_OK(h2 == h && ext2_jcurrent(em) == h, "joins the same handle");
	T_EQ(ext2_jend(h2), 0, "end the nested handle");
	T_OK(ext2_jcurrent(em) == h, "the outer handle is still current");
	T_EQ(ext2_jend(h), 0, "end the handle");
	T_OK(ext2_jcurrent(em) == NULL, "no current handle after its end");

	bufcache_stats(&st);
	bufcache_setlimit(1u << 20);
	ext2_jinfo(em, &ji);
	cap = (uint32_t)((1u << 20) / 4 / bs);
	if (cap < 64)
		cap = 64;
	T_OK(ji.ji_maxtrans <= cap && ji.ji_maxtrans >= 64,
	     "with a 1 MiB cache a transaction may reach %u blocks (the cache allows %u)", ji.ji_maxtrans, cap);
	T_EQ(txn(1, idx, val), 0, "a transaction of one block");
	want[9] = 900;
	ext2_jinfo(em, &ji0);
	T_EQ(ext2_jbegin(em, ji.ji_maxtrans, &h), 0, "a handle as large as a transaction may be");
	ext2_jinfo(em, &ji);
	T_OK(ji.ji_commits > ji0.ji_commits, "commits the running transaction first");
	T_EQ(ext2_jend(h), 0, "end it");
	bufcache_setlimit(st.limit);
	ext2_jinfo(em, &ji);
	T_OK(ji.ji_maxtrans > 64 || bs == 1024, "the cache's bound back: %u blocks", ji.ji_maxtrans);
	T_EQ(ext2_jcommit(em, true), 0, "commit");
}

static void
one(const char *name, const char *mkfs)
{
	struct ext2_jinfo ji;
	struct ext2_jhandle *h;
	uint8_t sb[2048];
	FILE *f;

	printf("# %s\n", name);
	memset(want, 0, sizeof(want));
	snprintf(img, sizeof(img), "%s/fs.img", top);
	if (t_runf(mkfs, img) != 0 || t_runf("dumpe2fs -h %s 2>/dev/null | grep -i '^journal features'", img) != 0) {
		T_SKIP("%s: mkfs failed", name);
		return;
	}
	T_EQ(anyk_disk_attach("/dev/sd0", img, 0), 0, "attach");
	T_EQ(anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, NULL), 0, "mount read-write");
	em = mounted("/mnt");
	if (em == NULL)
		return;
	bs = em->em_bsize;
	T_EQ(find_free_blocks(em->em_nblocks - 2 * NPB - 100), NPB, "free blocks to play metadata");
	T_EQ(ext2_jopen(em), 0, "open the journal");
	T_EQ(ext2_jinfo(em, &ji), 0, "journal info");
	T_OK(ji.ji_maxlen >= 1024 && ji.ji_first == 1, "a log of %u blocks", ji.ji_maxlen);
	T_OK(em->em_sb.s_incompat & INCOMPAT_RECOVER, "needs_recovery set while the journal is open");
	T_EQ(ext2_jbegin(em, 100000, &h), ANYK_EFBIG, "a handle larger than a transaction may be: EFBIG");

	test_commit_and_revoke();
	test_wrap();
	test_threads();
	test_background(strstr(name, "ext3") != NULL);
	test_bounds();

	T_EQ(ext2_jclose(em), 0, "close the journal");
	T_EQ(anyk_sys_unmount("/mnt", 0), 0, "unmount");
	anyk_disk_detach("/dev/sd0");
	f = fopen(img, "rb");
	T_OK(f != NULL && fread(sb, 1, sizeof(sb), f) == sizeof(sb), "read the superblock");
	if (f != NULL)
		fclose(f);
	T_OK(!(sb[1024 + 0x60] & INCOMPAT_RECOVER), "needs_recovery cleared at close");
	T_EQ(t_runf("e2fsck -fn %s >/dev/null 2>&1", img), 0, "e2fsck -fn: clean after close");
	T_EQ(t_runf("debugfs -R logdump %s 2>&1 | grep -q 'Journal starts at block 0'", img), 0,
	     "the log is empty after close");
}

int
main(void)
{
	char tmpl[] = "/tmp/anyk-jtrans-XXXXXX";
	char anyk[600];

	if (!t_have_tools("mke2fs debugfs e2fsck")) {
		T_SKIP("e2fsprogs not installed");
		return t_done();
	}
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(top, sizeof(top), "%s", tmpl);
	T_OK(anyk_init() == 0, "anyk_init");
	anyk_sys_mkdir("/mnt", 0755);
	anyk_sys_mkdir("/mnt2", 0755);
	/* Tags of every size: 8 (32-bit), 10 (csum v2), 12 (64-bit), 14 (64-bit
	 * csum v2), 16 (csum v3, 32- and 64-bit). mke2fs makes journals without
	 * features; debugfs's journal commands set them. */
	one("ext3, 1 KiB blocks, no journal features", "mke2fs -q -F -t ext3 -b 1024 -J size=1 %1$s 24M");
	one("ext4, 4 KiB blocks, 64-bit journal", "mke2fs -q -F -t ext4 -b 4096 -J size=4 %1$s 64M && " JFEAT(""));
	one("ext4, 4 KiB blocks, 64-bit csum v2", "mke2fs -q -F -t ext4 -b 4096 -J size=4 %1$s 64M && " JFEAT("-c -v 2"));
	one("ext4, 4 KiB blocks, 64-bit csum v3", "mke2fs -q -F -t ext4 -b 4096 -J size=4 %1$s 64M && " JFEAT("-c -v 3"));
	one("ext4, 1 KiB blocks, 32-bit csum v2",
	    "mke2fs -q -F -t ext4 -O ^64bit -b 1024 -J size=1 %1$s 24M && " JFEAT("-c -v 2"));
	snprintf(anyk, sizeof(anyk), "%s/build/bin/anyk", getenv("ANYK_TOP") ? getenv("ANYK_TOP") : ".");
	if (access(anyk, X_OK) == 0) {
		char cmd[900];

		snprintf(cmd, sizeof(cmd), "%s mkfs -t ext4 %%1$s 64M >/dev/null", anyk);
		one("ext4 (anyk mkfs)", cmd);
	} else {
		T_SKIP("anyk mkfs: %s not built", anyk);
	}
	anyk_fini();
	t_runf("rm -rf %s", top);
	return t_done();
}
