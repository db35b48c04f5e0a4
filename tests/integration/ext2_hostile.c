/*
 * Hostile ext2/ext3/ext4 images: build valid seed images with mke2fs -d
 * (ext2, ext3, ext4, with and without metadata_csum, 1 KiB and 4 KiB
 * blocks, one with inline_data, one with quota and project; a tree with a plain file, a sparse file,
 * a fragmented file whose extent tree has depth 1, a file reaching
 * double-indirect blocks, an indexed directory, fast and slow symlinks,
 * xattrs in the inode and in a block), find their structures with debugfs and dumpe2fs, and derive well
 * over a thousand images by changing one chosen field at a time
 * (superblock, group descriptors, bitmaps, inodes, extent trees, block
 * maps, directory entries, hash-tree nodes, xattrs, journal, checksums,
 * directory loops, block pointers aimed at other groups' metadata, inline
 * data: sizes, system.data entries, inline directory entries). Most
 * seeds have one block group; four have several (flex_bg, per-group
 * metadata with a journal spanning groups, no sparse_super, meta_bg), so
 * that pointers can name the bitmaps, inode tables, backup superblocks and
 * descriptor blocks of groups other than the first.
 *
 * Each image lives in a memfd (so its size and bytes can be checked without
 * touching the disk), is attached, mounted read-only and walked in full,
 * then mounted read-write and changed. A crash or sanitizer report ends the
 * program; a hang trips the watchdog. Read-write runs happen in child
 * processes, and a hang or crash there fails the test too, unless
 * ANYK_HOSTILE_LAX is set (for debugging one write-path problem while
 * others remain). The image must never grow, and a read-only mount must
 * leave every byte as it was. When a system call fails with EIO or
 * EUCLEAN, the kernel log must say why.
 */
#include "tests/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/ext2_hostile.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* --- mutations ------------------------------------------------------------ */

enum cat {
	C_SUPER, C_GDESC, C_BITMAP, C_INODE, C_EXTENT, C_BMAP, C_DIRENT, C_HTREE, C_XATTR, C_JOURNAL,
	C_CSUM, C_LOOP, C_GMETA, C_INLINE, C_NCAT
};
static const char *const cat_name[C_NCAT] = {
	"superblock", "group descriptors", "bitmaps", "inodes", "extent trees", "block maps",
	"directory entries", "htree nodes", "xattrs", "journal", "checksums", "directory loops",
	"pointers at other groups' metadata", "inline data",
};

#define MAXW 4
struct mut {
	uint8_t seed;
	uint8_t cat;
	uint8_t n;
	struct {
		uint32_t off;
		uint8_t w; /* 1, 2, 4; 0x84: 4 bytes big-endian */
		uint32_t v;
	} w[MAXW];
};

static struct mut *muts;
static size_t nmuts, capmuts;
static int cur_seed;

static void
add(int cat, int n, const uint32_t *offs, const uint8_t *ws, const uint32_t *vs)
{
	if (nmuts == capmuts) {
		capmuts = capmuts ? capmuts * 2 : 1024;
		muts = realloc(muts, capmuts * sizeof(*muts));
	}
	muts[nmuts].seed = (uint8_t)cur_seed;
	muts[nmuts].cat = (uint8_t)cat;
	muts[nmuts].n = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		muts[nmuts].w[i].off = offs[i];
		muts[nmuts].w[i].w = ws[i];
		muts[nmuts].w[i].v = vs[i];
	}
	nmuts++;
}

static void
add1(int cat, uint64_t off, int w, uint32_t v)
{
	uint32_t o = (uint32_t)off;
	uint8_t ww = (uint8_t)w;

	if (off == 0 || off >= (1u << 30))
		return; /* a structure the seed does not have */
	add(cat, 1, &o, &ww, &v);
}

static void
add2(int cat, uint64_t o1, int w1, uint32_t v1, uint64_t o2, int w2, uint32_t v2)
{
	uint32_t o[2] = { (uint32_t)o1, (uint32_t)o2 }, v[2] = { v1, v2 };
	uint8_t w[2] = { (uint8_t)w1, (uint8_t)w2 };

	if (o1 == 0 || o2 == 0)
		return;
	add(cat, 2, o, w, v);
}

/* --- seeds ------------------------------------------------------------------ */

static char top[256], tree[300];

#define MAXMETA 40

struct seed {
	const char *name, *mkfs;
	size_t size;
	bool multi; /* several groups: fewer mutations of the generic kinds */
	bool inline_data; /* small files, directories and links in their inodes */
	bool ea_inode;    /* /dir's user.huge in an inode of its own */
	uint8_t *img;
	/* Found with debugfs/dumpe2fs; byte offsets into the image, 0 = none. */
	uint32_t bsize, isize, blocks, inodes, fdb, desc_size;
	bool extents, csum, journal;
	uint64_t gd, bbm, ibm, itable;
	uint64_t ino_root, ino_file, ino_sparse, ino_frag, ino_bigfile, ino_big, ino_dir, ino_sub, ino_short,
		ino_long, ino_journal, ino_lf;
	uint64_t ino_tiny, ino_ilink; /* inline_data: a 100-byte file, an 80-byte link */
	uint64_t ino_eaval;           /* ea_inode: the inode holding user.huge */
	uint32_t n_dir, n_sub, n_file; /* inode numbers */
	uint64_t blk_root, blk_dir, blk_sub, blk_big0, blk_big1, blk_long, blk_xattr, blk_extidx, blk_ind,
		blk_dind, blk_jsb, blk_jsb1;
	uint32_t b_ind, b_dind, b_extidx; /* block numbers */
	uint32_t groups;
	/* Block numbers of metadata beyond group 0's own: backup superblocks
	 * and descriptors, other groups' bitmaps and inode tables, the
	 * journal's middle and end and its map blocks. */
	uint32_t meta[MAXMETA];
	int nmeta;
};

/* The number that follows key in the output of cmd; -1 if none. */
static long long
out_num(const char *cmd, const char *key)
{
	static char out[1 << 16];
	FILE *p = popen(cmd, "r");
	size_t n;
	char *at;

	if (p == NULL)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[n] = '\0';
	at = strstr(out, key);
	if (at == NULL)
		return -1;
	return strtoll(at + strlen(key), NULL, 0);
}

static long long
dbg(const struct seed *s, const char *req, const char *key)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "debugfs -R '%s' %s/%s.img 2>/dev/null", req, top, s->name);
	return out_num(cmd, key);
}

static long long
dump(const struct seed *s, const char *key)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "dumpe2fs %s/%s.img 2>/dev/null", top, s->name);
	return out_num(cmd, key);
}

/* Byte offset of the inode at path, from debugfs's imap. */
static uint64_t
ino_off(const struct seed *s, const char *path)
{
	char req[300];
	long long blk, off;

	snprintf(req, sizeof(req), "imap %s", path);
	blk = dbg(s, req, "located at block ");
	off = dbg(s, req, ", offset ");
	if (blk <= 0 || off < 0)
		return 0;
	return (uint64_t)blk * s->bsize + (uint64_t)off;
}

/* Byte offset of logical block lblk of path. */
static uint64_t
blk_off(const struct seed *s, const char *path, int lblk)
{
	char req[300], cmd[1200];
	long long b;

	snprintf(req, sizeof(req), "bmap %s %d", path, lblk);
	snprintf(cmd, sizeof(cmd), "debugfs -R '%s' %s/%s.img 2>/dev/null", req, top, s->name);
	b = out_num(cmd, "");
	return b > 0 ? (uint64_t)b * s->bsize : 0;
}

static uint32_t
le(const uint8_t *p, int w)
{
	uint32_t v = 0;

	for (int i = w - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
put_file(const char *rel, const void *data, size_t n)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "wb");
	if (f == NULL)
		return;
	fwrite(data, 1, n, f);
	fclose(f);
}

static void
make_tree(void)
{
	static uint8_t data[320 * 1024];
	char path[700];
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + (i >> 9) + 7);
	snprintf(tree, sizeof(tree), "%s/tree", top);
	mkdir(tree, 0755);
	put_file("file", data, 5000);
	put_file("bigfile", data, 300 * 1024); /* 1 KiB blocks: double indirect */
	/* Data in every other 4 KiB: dozens of extents, an extent tree of
	 * depth 1 (a block map in ext2/3). */
	snprintf(path, sizeof(path), "%s/frag", tree);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (int i = 0; i < 40; i++)
		pwrite(fd, data + i * 100, 4096, (off_t)i * 8192);
	close(fd);
	snprintf(path, sizeof(path), "%s/sparse", tree);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	pwrite(fd, "head", 4, 0);
	pwrite(fd, "middle", 6, 200000);
	pwrite(fd, "tail", 4, 400000);
	close(fd);
	snprintf(path, sizeof(path), "%s/dir", tree);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/dir/sub", tree);
	mkdir(path, 0755);
	put_file("dir/sub/deep", "deep", 4);
	snprintf(path, sizeof(path), "%s/dir/sub/up", tree);
	symlink("../..", path);
	snprintf(path, sizeof(path), "%s/short", tree);
	symlink("file", path);
	memset(path, 0, sizeof(path));
	{
		char tgt[300], lp[700];

		memset(tgt, 'y', 250);
		memcpy(tgt, "dir/", 4);
		tgt[250] = '\0';
		snprintf(lp, sizeof(lp), "%s/long", tree);
		symlink(tgt, lp);
	}
	snprintf(path, sizeof(path), "%s/big", tree);
	mkdir(path, 0755);
	for (int i = 0; i < 120; i++) {
		snprintf(path, sizeof(path), "%s/big/entry-%04d-with-a-long-name", tree, i);
		close(open(path, O_CREAT | O_WRONLY, 0644));
	}
	put_file("bigval", data, 700);
}

static void
meta_add(struct seed *s, long long b)
{
	if (b <= 0 || b >= s->blocks || s->nmeta == MAXMETA)
		return;
	for (int i = 0; i < s->nmeta; i++)
		if (s->meta[i] == (uint32_t)b)
			return;
	s->meta[s->nmeta++] = (uint32_t)b;
}

/* The block range after key in line ("a" or "a-b"): a, and b in *end;
 * -1 if key is not there. */
static long long
range_after(const char *line, const char *key, long long *end)
{
	const char *at = strstr(line, key);
	char *e;
	long long a;

	*end = -1;
	if (at == NULL)
		return -1;
	a = strtoll(at + strlen(key), &e, 0);
	*end = *e == '-' ? strtoll(e + 1, NULL, 0) : a;
	return a;
}

/*
 * Fill s->meta from dumpe2fs: every backup superblock and descriptor block
 * (with meta_bg, the descriptor blocks of later meta groups too), and the
 * bitmaps, reserved descriptor blocks and inode table (first, middle,
 * last block) of groups 1, 2 and the last one, wherever flex_bg put them;
 * then the journal's middle and last block and, when it is block-mapped,
 * its indirect and double-indirect blocks. Group 0's own metadata is
 * already what the single-group generators aim at.
 */
static void
find_meta(struct seed *s)
{
	char cmd[1200], line[512];
	long g = -1;
	long long a, b, jsize;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "dumpe2fs %s/%s.img 2>/dev/null", top, s->name);
	p = popen(cmd, "r");
	if (p == NULL)
		return;
	while (fgets(line, sizeof(line), p) != NULL) {
		bool near = g == 1 || g == 2 || g == (long)s->groups - 1;

		if (strncmp(line, "Group ", 6) == 0) {
			g = strtol(line + 6, NULL, 10);
			continue;
		}
		if (g < 1)
			continue;
		meta_add(s, range_after(line, "superblock at ", &b));
		a = range_after(line, "Group descriptors at ", &b);
		if (a < 0)
			a = range_after(line, "Group descriptor at ", &b);
		meta_add(s, a);
		meta_add(s, b);
		if (!near)
			continue;
		meta_add(s, range_after(line, "Reserved GDT blocks at ", &b));
		meta_add(s, range_after(line, "Block bitmap at ", &b));
		meta_add(s, range_after(line, "Inode bitmap at ", &b));
		a = range_after(line, "Inode table at ", &b);
		if (a > 0) {
			meta_add(s, a);
			meta_add(s, a + (b - a) / 2);
			meta_add(s, b);
		}
	}
	pclose(p);
	if (s->journal) {
		jsize = dbg(s, "stat <8>", "Size: ") / s->bsize;
		if (jsize > 2) {
			meta_add(s, (long long)(blk_off(s, "<8>", (int)(jsize / 2)) / s->bsize));
			meta_add(s, (long long)(blk_off(s, "<8>", (int)(jsize - 1)) / s->bsize));
		}
		/* The blocks holding a block-mapped journal's own map. */
		meta_add(s, dbg(s, "stat <8>", "(IND):"));
		meta_add(s, dbg(s, "stat <8>", "(DIND):"));
	}
}

static bool
put_top(const char *name, const void *data, size_t n)
{
	char path[600];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", top, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return false;
	ok = fwrite(data, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

/*
 * What mke2fs -d leaves out of the inline_data seed: a 100-byte file (60
 * bytes in i_block, 40 in system.data), an 80-byte symlink kept the same
 * way, and an entry of /dir in its system.data value ("f2", a second link
 * to /file), which only Linux writes: debugfs sets the value, the size and
 * the link count. e2fsck must find the result clean.
 */
static bool
inline_extras(const struct seed *s)
{
	static uint8_t data[100];
	uint8_t ent[12] = { 0 };
	char tgt[81], cmd[3000];
	long long ino = dbg(s, "stat /file", "Inode: ");

	if (ino <= 0)
		return false;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < 4; i++)
		ent[i] = (uint8_t)(ino >> (8 * i));
	ent[4] = 12;  /* record length */
	ent[6] = 2;   /* name length */
	ent[7] = 1;   /* regular file */
	ent[8] = 'f';
	ent[9] = '2';
	memset(tgt, 'q', 80);
	tgt[80] = '\0';
	if (!put_top("tiny", data, sizeof(data)) || !put_top("dirval", ent, sizeof(ent)))
		return false;
	snprintf(cmd, sizeof(cmd),
		 "debugfs -w -f - %s/%s.img >/dev/null 2>&1 <<'EOF'\n"
		 "write %s/tiny tiny\n"
		 "symlink islink %s\n"
		 "ea_set -f %s/dirval /dir system.data\n"
		 "sif /dir size 72\n"
		 "sif /file links_count 2\n"
		 "EOF\n"
		 "e2fsck -fn %s/%s.img >/dev/null 2>&1",
		 top, s->name, top, tgt, top, top, s->name);
	return t_run(cmd) == 0;
}

/* ea_inode: a 1,500-byte value for /dir, which debugfs puts in an inode of
 * its own (it keeps 1,024 bytes of it, as a 1 KiB block allows). */
static bool
ea_extras(const struct seed *s)
{
	static uint8_t data[1500];
	char cmd[3000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 5);
	if (!put_top("hugeval", data, sizeof(data)))
		return false;
	/* debugfs leaves /dir's block count short (the value block of the
	 * old set): e2fsck mends it, and must then find the image clean. */
	snprintf(cmd, sizeof(cmd),
		 "debugfs -w -R 'ea_set -f %s/hugeval /dir user.huge' %s/%s.img >/dev/null 2>&1 && "
		 "{ e2fsck -fy %s/%s.img >/dev/null 2>&1; e2fsck -fn %s/%s.img >/dev/null 2>&1; }",
		 top, top, s->name, top, s->name, top, s->name);
	return t_run(cmd) == 0;
}

static bool
build_seed(struct seed *s)
{
	char img[400], cmd[3000];
	long long gd;
	int fd;

	snprintf(img, sizeof(img), "%s/%s.img", top, s->name);
	snprintf(cmd, sizeof(cmd),
		 "mke2fs -q -F -E root_owner=0:0 %s -d %s %s %zuk >/dev/null 2>&1 && "
		 "debugfs -w -f - %s >/dev/null 2>&1 <<'EOF'\n"
		 "rm /bigval\n"
		 "ea_set /file user.small hello\n"
		 "ea_set /dir user.d dval\n"
		 "ea_set -f %s/bigval /file user.big\n"
		 "ea_set /file trusted.t tt\n"
		 "EOF\n"
		 "e2fsck -fyD %s >/dev/null 2>&1; test $? -le 1",
		 s->mkfs, tree, img, s->size / 1024, img, tree, img);
	if (t_run(cmd) != 0 || (s->inline_data && !inline_extras(s)) || (s->ea_inode && !ea_extras(s)))
		return false;
	s->img = malloc(s->size);
	fd = open(img, O_RDONLY);
	if (fd < 0 || pread(fd, s->img, s->size, 0) != (ssize_t)s->size) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	s->bsize = 1024u << le(s->img + 1024 + 0x18, 4);
	s->inodes = le(s->img + 1024 + 0x0, 4);
	s->blocks = le(s->img + 1024 + 0x4, 4);
	s->fdb = le(s->img + 1024 + 0x14, 4);
	s->isize = le(s->img + 1024 + 0x58, 2);
	s->desc_size = (le(s->img + 1024 + 0x60, 4) & 0x80) ? le(s->img + 1024 + 0xFE, 2) : 32;
	s->extents = (le(s->img + 1024 + 0x60, 4) & 0x40) != 0;
	s->csum = (le(s->img + 1024 + 0x64, 4) & 0x400) != 0;
	s->journal = (le(s->img + 1024 + 0x5C, 4) & 0x4) != 0;
	gd = dump(s, "Group descriptors at ");
	if (gd < 0)
		gd = dump(s, "Group descriptor at "); /* meta_bg: one block */
	s->gd = gd > 0 ? (uint64_t)gd * s->bsize : 0;
	s->bbm = (uint64_t)dump(s, "Block bitmap at ") * s->bsize;
	s->ibm = (uint64_t)dump(s, "Inode bitmap at ") * s->bsize;
	s->itable = (uint64_t)dump(s, "Inode table at ") * s->bsize;
	s->ino_root = ino_off(s, "/");
	s->ino_file = ino_off(s, "/file");
	s->ino_sparse = ino_off(s, "/sparse");
	s->ino_frag = ino_off(s, "/frag");
	s->ino_bigfile = ino_off(s, "/bigfile");
	s->ino_big = ino_off(s, "/big");
	s->ino_dir = ino_off(s, "/dir");
	s->ino_sub = ino_off(s, "/dir/sub");
	s->ino_short = ino_off(s, "/short");
	s->ino_long = ino_off(s, "/long");
	s->ino_journal = s->journal ? ino_off(s, "<8>") : 0;
	s->ino_lf = ino_off(s, "/lost+found");
	if (s->inline_data) {
		s->ino_tiny = ino_off(s, "/tiny");
		s->ino_ilink = ino_off(s, "/islink");
		if (!s->ino_tiny || !s->ino_ilink || !s->ino_dir || !(le(s->img + s->ino_dir + 0x20, 4) & 0x10000000))
			return false;
	}
	if (s->ea_inode) {
		/* The first inode past the tree's flagged as a value's. */
		char req[32];

		for (int n = 12; n < 200 && s->ino_eaval == 0; n++) {
			uint64_t o;

			snprintf(req, sizeof(req), "<%d>", n);
			o = ino_off(s, req);
			if (o != 0 && (le(s->img + o + 0x20, 4) & 0x200000))
				s->ino_eaval = o;
		}
		if (s->ino_eaval == 0)
			return false;
	}
	s->n_dir = (uint32_t)dbg(s, "stat /dir", "Inode: ");
	s->n_sub = (uint32_t)dbg(s, "stat /dir/sub", "Inode: ");
	s->n_file = (uint32_t)dbg(s, "stat /file", "Inode: ");
	s->blk_root = blk_off(s, "/", 0);
	s->blk_dir = blk_off(s, "/dir", 0);
	s->blk_sub = blk_off(s, "/dir/sub", 0);
	s->blk_big0 = blk_off(s, "/big", 0);
	s->blk_big1 = blk_off(s, "/big", 1);
	s->blk_long = blk_off(s, "/long", 0);
	s->blk_xattr = (uint64_t)dbg(s, "stat /file", "File ACL: ") * s->bsize;
	if (s->extents) {
		/* The first index entry in the inode names the leaf block. */
		s->b_extidx = le(s->img + s->ino_frag + 0x28 + 12 + 4, 4);
		if (le(s->img + s->ino_frag + 0x28 + 6, 2) != 1)
			s->b_extidx = 0;
		s->blk_extidx = (uint64_t)s->b_extidx * s->bsize;
	} else {
		s->b_ind = (uint32_t)dbg(s, "stat /bigfile", "(IND):");
		s->b_dind = (uint32_t)dbg(s, "stat /bigfile", "(DIND):");
		s->blk_ind = (uint64_t)(int64_t)s->b_ind * s->bsize;
		s->blk_dind = s->b_dind != (uint32_t)-1 ? (uint64_t)s->b_dind * s->bsize : 0;
	}
	if (s->journal) {
		s->blk_jsb = blk_off(s, "<8>", 0);
		s->blk_jsb1 = blk_off(s, "<8>", 1);
	}
	s->groups = (s->blocks - s->fdb + le(s->img + 1024 + 0x20, 4) - 1) / le(s->img + 1024 + 0x20, 4);
	find_meta(s);
	return s->gd && s->itable && s->ino_frag && s->blk_big0 && s->blk_xattr;
}

/* --- generators -------------------------------------------------------------- */

static void
gen_super(const struct seed *s)
{
	static const struct {
		uint16_t off;
		uint8_t w;
	} f[] = {
		{ 0x00, 4 }, { 0x04, 4 }, { 0x08, 4 }, { 0x0C, 4 }, { 0x10, 4 }, { 0x14, 4 }, { 0x18, 4 },
		{ 0x1C, 4 }, { 0x20, 4 }, { 0x24, 4 }, { 0x28, 4 }, { 0x3A, 2 }, { 0x4C, 4 }, { 0x54, 4 },
		{ 0x58, 2 }, { 0xCE, 2 }, { 0xE0, 4 }, { 0xFC, 1 }, { 0xFE, 2 }, { 0x104, 4 }, { 0x150, 4 },
		{ 0x15C, 2 }, { 0x15E, 2 }, { 0x174, 1 },
	};
	const uint8_t *sb = s->img + 1024;

	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		uint32_t o = le(sb + f[i].off, f[i].w);
		uint32_t mask = f[i].w == 4 ? 0xFFFFFFFFu : f[i].w == 2 ? 0xFFFFu : 0xFFu;
		uint32_t v[] = { 0, 1, mask, o + 1, o - 1, o * 2, o / 2, 0x80000000u & mask, 7, 31, 129 };

		for (size_t j = 0; j < ARRAY_LEN(v); j++)
			if ((v[j] & mask) != o)
				add1(C_SUPER, 1024 + f[i].off, f[i].w, v[j] & mask);
	}
	/* Feature words: each bit flipped, all set. */
	for (int word = 0; word < 3; word++) {
		uint32_t o = le(sb + 0x5C + 4 * word, 4);

		for (int b = 0; b < 20; b++)
			add1(C_SUPER, 1024 + 0x5C + 4 * word, 4, o ^ (1u << b));
		add1(C_SUPER, 1024 + 0x5C + 4 * word, 4, 0xFFFFFFFFu);
	}
	/* Fields that only mean something together. */
	add2(C_SUPER, 1024 + 0x4C, 4, 0, 1024 + 0x58, 2, 4096);
	add2(C_SUPER, 1024 + 0x18, 4, 2, 1024 + 0x1C, 4, 2);
	add2(C_SUPER, 1024 + 0x20, 4, 8, 1024 + 0x28, 4, 8);
	add2(C_SUPER, 1024 + 0x60, 4, le(sb + 0x60, 4) | 0x80, 1024 + 0xFE, 2, 1024);
	add2(C_SUPER, 1024 + 0x60, 4, le(sb + 0x60, 4) | 0x10, 1024 + 0x104, 4, 0);
}

static void
gen_gdesc(const struct seed *s)
{
	/* Groups 0, 1 and the last; with meta_bg only those whose descriptor
	 * lies in the first descriptor block. */
	uint32_t gs[3] = { 0, 1, s->groups - 1 }, ng = s->groups < 3 ? s->groups : 3;

	if (le(s->img + 1024 + 0x60, 4) & 0x10)
		while (ng > 0 && gs[ng - 1] >= s->bsize / s->desc_size)
			ng--;
	for (uint32_t k = 0; k < ng; k++) {
		uint32_t g = gs[k];
		uint64_t d = s->gd + (uint64_t)g * s->desc_size;
		static const struct {
			uint8_t off, w;
		} f[] = { { 0x0, 4 }, { 0x4, 4 }, { 0x8, 4 }, { 0xC, 2 }, { 0xE, 2 }, { 0x10, 2 },
			  { 0x12, 2 }, { 0x1C, 2 }, { 0x1E, 2 } };

		for (size_t i = 0; i < ARRAY_LEN(f); i++) {
			uint32_t o = le(s->img + d + f[i].off, f[i].w);
			uint32_t mask = f[i].w == 4 ? 0xFFFFFFFFu : 0xFFFFu;
			uint32_t v[] = { 0, 1, mask, s->blocks, s->blocks - 1, s->fdb, (uint32_t)(s->gd / s->bsize),
					 o + 1, (uint32_t)(s->itable / s->bsize) + 3, 7 };

			for (size_t j = 0; j < ARRAY_LEN(v); j++)
				if ((v[j] & mask) != o)
					add1(C_GDESC, d + f[i].off, f[i].w, v[j] & mask);
		}
		if (s->desc_size >= 64)
			for (int off = 0x20; off < 0x2C; off += 4)
				add1(C_GDESC, d + (uint32_t)off, 4, 1);
		/* Inode table overlapping the bitmaps, bitmaps swapped. */
		add2(C_GDESC, d + 0, 4, le(s->img + d + 4, 4), d + 4, 4, le(s->img + d + 0, 4));
		add1(C_GDESC, d + 8, 4, le(s->img + d + 0, 4));
	}
}

static void
gen_bitmap(const struct seed *s)
{
	uint64_t bm[2] = { s->bbm, s->ibm };

	for (int k = 0; k < 2; k++) {
		for (uint32_t off = 0; off < 64; off += 4) {
			add1(C_BITMAP, bm[k] + off, 4, 0);
			add1(C_BITMAP, bm[k] + off + 256, 4, 0xFFFFFFFFu);
		}
		add1(C_BITMAP, bm[k] + s->bsize - 4, 4, 0);
		add1(C_BITMAP, bm[k] + s->bsize - 4, 4, 0xFFFFFFFFu);
	}
}

static void
gen_inode_fields(const struct seed *s, uint64_t ino)
{
	static const uint32_t modes[] = { 0, 0xFFFF, 040755, 0100644, 0120777, 020644, 060644, 010644, 0140755,
					  070755, 0x0FFF };
	static const uint32_t flags[] = { 0x80000, 0x1000, 0x10000000, 0x40000, 0x200000, 0x4000, 0x10,
					  0xFFFFFFFFu, 0 };
	uint32_t o;

	if (ino == 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(modes); i++)
		add1(C_INODE, ino + 0x0, 2, modes[i]);
	o = le(s->img + ino + 0x4, 4);
	{
		uint32_t v[] = { 0, 1, 0xFFFFFFFFu, o + 1, o * 16 + 5, 0x7FFFFFFFu };

		for (size_t i = 0; i < ARRAY_LEN(v); i++)
			add1(C_INODE, ino + 0x4, 4, v[i]);
	}
	add1(C_INODE, ino + 0x6C, 4, 1);
	add1(C_INODE, ino + 0x6C, 4, 0xFFFFFFFFu);
	add1(C_INODE, ino + 0x6C, 4, 0x80000000u);
	add1(C_INODE, ino + 0x1A, 2, 0);
	add1(C_INODE, ino + 0x1A, 2, 0xFFFF);
	add1(C_INODE, ino + 0x1C, 4, 0);
	add1(C_INODE, ino + 0x1C, 4, 0xFFFFFFFFu);
	o = le(s->img + ino + 0x20, 4);
	for (size_t i = 0; i < ARRAY_LEN(flags); i++)
		add1(C_INODE, ino + 0x20, 4, flags[i] == 0 || flags[i] == 0xFFFFFFFFu ? flags[i] : o ^ flags[i]);
	for (uint32_t k = 0; k < 15; k += (k < 3 || k >= 11 ? 1 : 4)) {
		uint32_t v[] = { 0xFFFFFFFFu, s->blocks, (uint32_t)(ino / s->bsize), 1 };

		for (size_t i = 0; i < ARRAY_LEN(v); i++)
			add1(C_INODE, ino + 0x28 + 4 * k, 4, v[i]);
	}
	add1(C_INODE, ino + 0x68, 4, 1);
	add1(C_INODE, ino + 0x68, 4, 0xFFFFFFFFu);
	add1(C_INODE, ino + 0x68, 4, s->blocks);
	add1(C_INODE, ino + 0x68, 4, (uint32_t)(s->blk_root / s->bsize));
	add1(C_INODE, ino + 0x68, 4, (uint32_t)(ino / s->bsize));
	if (s->isize > 128) {
		static const uint32_t ex[] = { 0, 1, 3, 0xFFFF, 0x80, 0xA0, 0x7E };

		for (size_t i = 0; i < ARRAY_LEN(ex); i++)
			add1(C_INODE, ino + 0x80, 2, ex[i]);
	}
}

static void
gen_inode(const struct seed *s)
{
	uint64_t all[] = { s->ino_root, s->ino_file, s->ino_sparse, s->ino_frag, s->ino_bigfile, s->ino_big,
			   s->ino_dir, s->ino_sub, s->ino_short, s->ino_long, s->ino_lf };

	for (size_t i = 0; i < ARRAY_LEN(all); i++)
		gen_inode_fields(s, all[i]);
}

/* An extent header at h: magic, entries, max, depth. */
static void
gen_ext_header(const struct seed *s, uint64_t h)
{
	uint32_t ent = le(s->img + h + 2, 2), max = le(s->img + h + 4, 2);

	add1(C_EXTENT, h + 0, 2, 0);
	add1(C_EXTENT, h + 0, 2, 0xF30B);
	add1(C_EXTENT, h + 2, 2, 0);
	add1(C_EXTENT, h + 2, 2, max + 1);
	add1(C_EXTENT, h + 2, 2, 0xFFFF);
	add1(C_EXTENT, h + 4, 2, 0);
	add1(C_EXTENT, h + 4, 2, ent > 0 ? ent - 1 : 0);
	add1(C_EXTENT, h + 4, 2, 0xFFFF);
	for (uint32_t d = 0; d < 7; d++)
		add1(C_EXTENT, h + 6, 2, d == 6 ? 0xFFFF : d);
}

/* Entries at e (12 bytes each), n of them, in a node of given depth. */
static void
gen_ext_entries(const struct seed *s, uint64_t e, uint32_t n, bool index, uint32_t self)
{
	for (uint32_t i = 0; i < n && i < 6; i++) {
		uint64_t x = e + 12 * i;
		uint32_t lb = le(s->img + x, 4);

		/* Logical block: out of order, overlapping, huge. */
		add1(C_EXTENT, x, 4, 0xFFFFFFFFu);
		add1(C_EXTENT, x, 4, lb + 1);
		if (i > 0)
			add1(C_EXTENT, x, 4, le(s->img + x - 12, 4));
		if (index) {
			uint32_t v[] = { 0, 1, self, s->blocks, 0xFFFFFFFFu, (uint32_t)(s->itable / s->bsize),
					 (uint32_t)(s->blk_root / s->bsize) };

			for (size_t j = 0; j < ARRAY_LEN(v); j++)
				add1(C_EXTENT, x + 4, 4, v[j]);
			add1(C_EXTENT, x + 8, 2, 1);
		} else {
			uint32_t len[] = { 0, 0x8000, 0x8001, 0xFFFF, 32768, 2000 };
			/* The last ones name metadata: a write through them
			 * would destroy it. */
			uint32_t st[] = { 0, 1, self, s->blocks - 1, s->blocks, 0xFFFFFFFFu,
					  (uint32_t)(s->gd / s->bsize), (uint32_t)(s->bbm / s->bsize),
					  (uint32_t)(s->ibm / s->bsize), (uint32_t)(s->itable / s->bsize) + 1,
					  (uint32_t)((s->blk_jsb ? s->blk_jsb : s->gd) / s->bsize) + 1 };

			for (size_t j = 0; j < ARRAY_LEN(len); j++)
				add1(C_EXTENT, x + 4, 2, len[j]);
			for (size_t j = 0; j < ARRAY_LEN(st); j++)
				add1(C_EXTENT, x + 8, 4, st[j]);
			add1(C_EXTENT, x + 6, 2, 1);
			add1(C_EXTENT, x + 6, 2, 0xFFFF);
		}
	}
}

static void
gen_extent(const struct seed *s)
{
	if (!s->extents)
		return;
	gen_ext_header(s, s->ino_frag + 0x28);
	gen_ext_entries(s, s->ino_frag + 0x28 + 12, 1, true, s->b_extidx);
	if (s->blk_extidx) {
		uint32_t n = le(s->img + s->blk_extidx + 2, 2);

		gen_ext_header(s, s->blk_extidx);
		gen_ext_entries(s, s->blk_extidx + 12, n, false, s->b_extidx);
		/* The leaf claims to be an index whose entries point at itself. */
		add2(C_EXTENT, s->blk_extidx + 6, 2, 1, s->blk_extidx + 16, 4, s->b_extidx);
		add2(C_EXTENT, s->ino_frag + 0x28 + 6, 2, 2, s->blk_extidx + 6, 2, 1);
		/* Two extents mapping the same logical blocks. */
		add2(C_EXTENT, s->blk_extidx + 24, 4, 0, s->blk_extidx + 36, 4, 0);
	}
	gen_ext_header(s, s->ino_file + 0x28);
	gen_ext_entries(s, s->ino_file + 0x28 + 12, 1, false, (uint32_t)(s->ino_file / s->bsize));
	gen_ext_header(s, s->ino_big + 0x28);
	gen_ext_entries(s, s->ino_big + 0x28 + 12, 1, false, (uint32_t)(s->blk_big0 / s->bsize));
	gen_ext_header(s, s->ino_root + 0x28);
}

static void
gen_bmap(const struct seed *s)
{
	uint32_t self[] = { s->b_ind, s->b_dind };
	uint64_t at[] = { s->blk_ind, s->blk_dind };

	if (s->extents)
		return;
	for (int k = 0; k < 2; k++) {
		if (at[k] == 0)
			continue;
		for (uint32_t i = 0; i < 4; i++) {
			uint64_t p = at[k] + 4 * (i == 3 ? s->bsize / 4 - 1 : i * 5);
			/* From gd on: group metadata and the journal. */
			uint32_t v[] = { 0, 1, 0xFFFFFFFFu, s->blocks, s->blocks - 1, self[k], s->b_ind,
					 s->b_dind, (uint32_t)(s->gd / s->bsize), (uint32_t)(s->itable / s->bsize),
					 (uint32_t)(s->bbm / s->bsize), (uint32_t)(s->ibm / s->bsize),
					 (uint32_t)((s->blk_jsb ? s->blk_jsb : s->itable) / s->bsize) + 1 };

			for (size_t j = 0; j < ARRAY_LEN(v); j++)
				add1(C_BMAP, p, 4, v[j]);
		}
		/* A whole block of pointers at one block. */
		{
			uint32_t offs[4], vs[4];
			uint8_t ws[4] = { 4, 4, 4, 4 };

			for (int i = 0; i < 4; i++) {
				offs[i] = (uint32_t)(at[k] + 4 * (uint32_t)i * 9);
				vs[i] = self[k];
			}
			add(C_BMAP, 4, offs, ws, vs);
		}
	}
	/* The inode's own indirect slots. */
	for (uint32_t slot = 12; slot < 15; slot++) {
		uint32_t v[] = { 0, 1, 0xFFFFFFFFu, s->blocks, s->b_ind, s->b_dind,
				 (uint32_t)(s->ino_bigfile / s->bsize) };

		for (size_t j = 0; j < ARRAY_LEN(v); j++)
			add1(C_BMAP, s->ino_bigfile + 0x28 + 4 * slot, 4, v[j]);
	}
	for (uint32_t slot = 0; slot < 15; slot += 3)
		add1(C_BMAP, s->ino_frag + 0x28 + 4 * slot, 4, s->blocks + 5);
}

/* The first three entries of a directory block at b. */
static void
gen_dirent_block(const struct seed *s, uint64_t b, int cat)
{
	uint32_t off = 0;

	if (b == 0)
		return; /* an inline directory: gen_inline */
	for (int i = 0; i < 3 && off + 8 <= s->bsize; i++) {
		uint64_t e = b + off;
		uint32_t rl = le(s->img + e + 4, 2), nl = s->img[e + 6];
		uint32_t rls[] = { 0, 1, 3, 7, 8, 13, rl + 1, rl + 4, s->bsize - off + 4, s->bsize, 0xFFFF, 0xFFFC };
		uint32_t inos[] = { 0, 1, 0xFFFFFFFFu, s->inodes + 1, s->inodes, 7, 8 };

		for (size_t j = 0; j < ARRAY_LEN(rls); j++)
			add1(cat, e + 4, 2, rls[j]);
		add1(cat, e + 6, 1, 0);
		add1(cat, e + 6, 1, 0xFF);
		add1(cat, e + 6, 1, rl > 8 ? rl - 7 : 1);
		add1(cat, e + 6, 1, nl + 1);
		add1(cat, e + 7, 1, 0);
		add1(cat, e + 7, 1, 2);
		add1(cat, e + 7, 1, 7);
		add1(cat, e + 7, 1, 0xFF);
		for (size_t j = 0; j < ARRAY_LEN(inos); j++)
			add1(cat, e + 0, 4, inos[j]);
		add1(cat, e + 8, 1, '/');
		add1(cat, e + 8, 1, 0);
		if (rl < 8 || rl > s->bsize)
			break;
		off += rl;
	}
}

static void
gen_dirent(const struct seed *s)
{
	gen_dirent_block(s, s->blk_root, C_DIRENT);
	gen_dirent_block(s, s->blk_sub, C_DIRENT);
	if (s->blk_big1)
		gen_dirent_block(s, s->blk_big1, C_DIRENT);
	/* The whole block zeroed past the first entry (an inline /dir has
	 * no block: gen_inline). */
	for (uint32_t off = 16; off < 64 && s->blk_dir; off += 4)
		add1(C_DIRENT, s->blk_dir + off, 4, 0);
}

static void
gen_htree(const struct seed *s)
{
	uint64_t r = s->blk_big0, info = r + 0x18, lim = info + 8;
	uint32_t count = le(s->img + lim + 2, 2), limit = le(s->img + lim, 2);

	add1(C_HTREE, info + 0, 4, 1);
	for (uint32_t v = 0; v < 8; v++)
		add1(C_HTREE, info + 4, 1, v == 7 ? 0xFF : v);
	add1(C_HTREE, info + 5, 1, 0);
	add1(C_HTREE, info + 5, 1, 0xFF);
	add1(C_HTREE, info + 5, 1, 16);
	for (uint32_t v = 1; v < 5; v++)
		add1(C_HTREE, info + 6, 1, v);
	add1(C_HTREE, info + 6, 1, 0xFF);
	add1(C_HTREE, info + 7, 1, 0xFF);
	{
		uint32_t v[] = { 0, 1, limit + 1, 0xFFFF, count - 1 };

		for (size_t i = 0; i < ARRAY_LEN(v); i++)
			add1(C_HTREE, lim, 2, v[i]);
	}
	{
		uint32_t v[] = { 0, 1, limit + 1, 0xFFFF, count + 1 };

		for (size_t i = 0; i < ARRAY_LEN(v); i++)
			add1(C_HTREE, lim + 2, 2, v[i]);
	}
	/* Entry blocks: itself (a loop), past the directory, huge; hashes
	 * out of order. */
	for (uint32_t i = 0; i < count && i < 4; i++) {
		uint64_t blk = lim + 4 + 8 * i;
		uint32_t v[] = { 0, 1, 5000, 0xFFFFFFFFu, 0x7FFFFFFFu };

		for (size_t j = 0; j < ARRAY_LEN(v); j++)
			add1(C_HTREE, blk, 4, v[j]);
		if (i > 0) {
			add1(C_HTREE, blk - 4, 4, 0);
			add1(C_HTREE, blk - 4, 4, 0xFFFFFFFFu);
			add1(C_HTREE, blk - 4, 4, 1);
		}
	}
	/* An index flag on a directory without one, and the flag cleared. */
	add1(C_HTREE, s->ino_root + 0x20, 4, le(s->img + s->ino_root + 0x20, 4) | 0x1000);
	add1(C_HTREE, s->ino_dir + 0x20, 4, le(s->img + s->ino_dir + 0x20, 4) | 0x1000);
	add1(C_HTREE, s->ino_big + 0x20, 4, le(s->img + s->ino_big + 0x20, 4) & ~0x1000u);
	/* The fake "." and ".." around the root info. */
	add1(C_HTREE, r + 4, 2, 0);
	add1(C_HTREE, r + 12 + 4, 2, 12);
	add1(C_HTREE, r + 12 + 4, 2, s->bsize);
	/* A leaf with entries not matching its hash range. */
	if (s->blk_big1) {
		add1(C_HTREE, s->blk_big1 + 8, 1, 'Z');
		add1(C_HTREE, s->blk_big1 + 4, 2, s->bsize);
	}
}

static void
gen_xattr(const struct seed *s)
{
	uint64_t x = s->blk_xattr;
	uint32_t entries[] = { 32, 0 };

	{
		uint32_t v[] = { 0, 0xEA020001u, 0x02EA0000u };

		for (size_t i = 0; i < ARRAY_LEN(v); i++)
			add1(C_XATTR, x, 4, v[i]);
	}
	add1(C_XATTR, x + 4, 4, 0);
	add1(C_XATTR, x + 4, 4, 0xFFFFFFFFu);
	add1(C_XATTR, x + 8, 4, 0);
	add1(C_XATTR, x + 8, 4, 2);
	/* Entries: the first in the block; in the inode body, after its
	 * 4-byte magic. */
	if (s->isize > 128)
		entries[1] = 0;
	for (int k = 0; k < 2; k++) {
		uint64_t e;

		if (k == 0) {
			e = x + entries[0];
		} else {
			uint32_t extra = le(s->img + s->ino_file + 0x80, 2);

			if (s->isize <= 128 || le(s->img + s->ino_file + 128 + extra, 4) != 0xEA020000u)
				continue;
			e = s->ino_file + 128 + extra + 4;
			add1(C_XATTR, e - 4, 4, 0);
			add1(C_XATTR, e - 4, 4, 0xEA020001u);
		}
		{
			uint32_t nl[] = { 0, 0xFF, 16, 200 };
			uint32_t vo[] = { 0xFFFF, s->bsize - 1, s->bsize, 1, 0, 3, s->isize };
			uint32_t vs[] = { 0xFFFFFFFFu, s->bsize, 65536, 0x7FFFFFFFu, 1000 };

			for (size_t i = 0; i < ARRAY_LEN(nl); i++)
				add1(C_XATTR, e + 0, 1, nl[i]);
			add1(C_XATTR, e + 1, 1, 0);
			add1(C_XATTR, e + 1, 1, 0xFF);
			add1(C_XATTR, e + 1, 1, 8);
			for (size_t i = 0; i < ARRAY_LEN(vo); i++)
				add1(C_XATTR, e + 2, 2, vo[i]);
			add1(C_XATTR, e + 4, 4, 12);
			add1(C_XATTR, e + 4, 4, 0xFFFFFFFFu);
			for (size_t i = 0; i < ARRAY_LEN(vs); i++)
				add1(C_XATTR, e + 8, 4, vs[i]);
			/* No terminating empty entry: names run to the end. */
			add2(C_XATTR, e + 16, 4, 0xFFFFFFFFu, e + 20, 4, 0xFFFFFFFFu);
		}
	}
	/* The inode's extra space too small for the xattr header. */
	if (s->isize > 128)
		add1(C_XATTR, s->ino_file + 0x80, 2, (uint16_t)(s->isize - 128 - 2));
}

static void
put_be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
gen_journal(const struct seed *s)
{
	uint64_t j = s->blk_jsb;

	if (!s->journal || j == 0)
		return;
	for (uint32_t off = 0; off < 0x48; off += 4) {
		uint32_t v[] = { 0, 1, 0xFFFFFFFFu, 1024, 5000 };

		for (size_t i = 0; i < ARRAY_LEN(v); i++)
			add1(C_JOURNAL, j + off, 0x84, v[i]);
	}
	/* Needs recovery: s_start set, and the incompat flag in the super. */
	add2(C_JOURNAL, 1024 + 0x60, 4, le(s->img + 1024 + 0x60, 4) | 0x4, j + 28, 0x84, 1);
	add1(C_JOURNAL, 1024 + 0x60, 4, le(s->img + 1024 + 0x60, 4) | 0x4);
	/* A descriptor block where the log starts. */
	add2(C_JOURNAL, j + 28, 0x84, 1, s->blk_jsb1, 0x84, 0xC03B3998u);
	add2(C_JOURNAL, s->blk_jsb1 + 4, 0x84, 1, s->blk_jsb1, 0x84, 0xC03B3998u);
	/* The journal inode named as something else, and its fields. */
	add1(C_JOURNAL, 1024 + 0xE0, 4, s->n_file);
	add1(C_JOURNAL, 1024 + 0xE0, 4, 2);
	add1(C_JOURNAL, 1024 + 0xE0, 4, 0xFFFFFFFFu);
	add1(C_JOURNAL, s->ino_journal + 0x0, 2, 040755);
	add1(C_JOURNAL, s->ino_journal + 0x4, 4, 0);
	add1(C_JOURNAL, s->ino_journal + 0x28, 4, 0xFFFFFFFFu);
	add1(C_JOURNAL, s->ino_journal + 0x28 + 4 * 5, 4, 0xFFFFFFFFu);
}

static void
gen_csum(const struct seed *s)
{
	uint64_t blocks[] = { s->blk_root, s->blk_sub, s->blk_big0, s->blk_big1, s->blk_xattr, s->blk_extidx };

	if (!s->csum)
		return;
	add1(C_CSUM, 1024 + 0x3FC, 4, 0);
	add1(C_CSUM, 1024 + 0x3FC, 4, le(s->img + 1024 + 0x3FC, 4) ^ 1);
	add1(C_CSUM, s->gd + 0x1E, 2, 0);
	add1(C_CSUM, s->gd + 0x1E, 2, le(s->img + s->gd + 0x1E, 2) ^ 0x100);
	add1(C_CSUM, s->gd + 0x18, 2, le(s->img + s->gd + 0x18, 2) ^ 1); /* bitmap csums */
	add1(C_CSUM, s->gd + 0x1A, 2, le(s->img + s->gd + 0x1A, 2) ^ 1);
	add1(C_CSUM, s->bbm + 8, 1, s->img[s->bbm + 8] ^ 0x80);
	add1(C_CSUM, s->ibm + 8, 1, s->img[s->ibm + 8] ^ 0x80);
	{
		uint64_t inos[] = { s->ino_root, s->ino_file, s->ino_frag, s->ino_big, s->ino_sub, s->ino_long };

		for (size_t i = 0; i < ARRAY_LEN(inos); i++) {
			add1(C_CSUM, inos[i] + 0x7C, 2, le(s->img + inos[i] + 0x7C, 2) ^ 1);
			add1(C_CSUM, inos[i] + 0x82, 2, le(s->img + inos[i] + 0x82, 2) ^ 1);
			add1(C_CSUM, inos[i] + 0x8, 1, s->img[inos[i] + 0x8] ^ 1); /* atime */
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(blocks); i++) {
		if (blocks[i] == 0)
			continue;
		add1(C_CSUM, blocks[i] + s->bsize - 4, 4, le(s->img + blocks[i] + s->bsize - 4, 4) ^ 1);
		add1(C_CSUM, blocks[i] + s->bsize - 12, 4, 0);
		add1(C_CSUM, blocks[i] + 40, 1, s->img[blocks[i] + 40] ^ 0x20);
		add1(C_CSUM, blocks[i] + 16, 4, le(s->img + blocks[i] + 16, 4) ^ 1); /* xattr h_checksum */
	}
	/* A dx tail moved: limit no longer leaves room for it. */
	add1(C_CSUM, s->blk_big0 + 0x20, 2, le(s->img + s->blk_big0 + 0x20, 2) + 1);
	add1(C_CSUM, s->blk_long + 3, 1, 0x41);
}

static void
gen_loop(const struct seed *s)
{
	uint64_t sub = s->blk_sub, dir = s->blk_dir, root = s->blk_root;

	/* Inline directories have no blocks (gen_inline aims at them). */
	if (sub == 0 || dir == 0)
		return;
	/* dir/sub's ".." at itself, at the root; "." at its parent. */
	add1(C_LOOP, sub + 12, 4, s->n_sub);
	add1(C_LOOP, sub + 12, 4, 2);
	add1(C_LOOP, sub + 0, 4, s->n_dir);
	add1(C_LOOP, dir + 0, 4, 2);
	add1(C_LOOP, dir + 12, 4, s->n_sub);
	/* A subdirectory entry of dir/sub (its third entry) pointing back at
	 * dir or the root, typed as a directory. */
	{
		uint32_t rl0 = le(s->img + sub + 4, 2), rl1 = le(s->img + sub + 12 + 4, 2);
		uint64_t e = sub + rl0 + rl1;

		if (rl0 == 12 && rl1 >= 12 && rl0 + rl1 < s->bsize) {
			add2(C_LOOP, e, 4, s->n_dir, e + 7, 1, 2);
			add2(C_LOOP, e, 4, 2, e + 7, 1, 2);
			add2(C_LOOP, e, 4, s->n_sub, e + 7, 1, 2);
		}
	}
	/* A root entry naming the root. */
	{
		uint32_t rl0 = le(s->img + root + 4, 2), rl1 = le(s->img + root + 12 + 4, 2);
		uint64_t e = root + rl0 + rl1;

		if (rl0 == 12 && rl1 >= 12 && rl0 + rl1 < s->bsize) {
			add2(C_LOOP, e, 4, 2, e + 7, 1, 2);
			add2(C_LOOP, e, 4, s->n_dir, e + 7, 1, 2);
		}
	}
	/* Root's ".." somewhere else. */
	add1(C_LOOP, root + 12, 4, s->n_sub);
	/* Links on dir/sub's inode say it is unlinked. */
	add1(C_LOOP, s->ino_sub + 0x1A, 2, 1);
}

/*
 * Block pointers aimed at the metadata of other groups and at the journal:
 * the extents or block-map slots of a file the read-write run rewrites, of
 * an indirect or extent index block, of the big directory that gains
 * entries, and the attribute block the run changes. Writing through any of
 * them would overwrite a bitmap, an inode table, a backup superblock or
 * descriptor block, or the log. (Pointers inside indirect and extent
 * blocks are the block-map and extent categories' part.)
 */
static void
gen_gmeta(const struct seed *s)
{
	for (int i = 0; i < s->nmeta; i++) {
		uint32_t b = s->meta[i];

		if (s->extents) {
			add1(C_GMETA, s->ino_file + 0x28 + 12 + 8, 4, b);
			add1(C_GMETA, s->ino_big + 0x28 + 12 + 8, 4, b);
			if (s->blk_extidx)
				add1(C_GMETA, s->ino_frag + 0x28 + 12 + 4, 4, b);
		} else {
			add1(C_GMETA, s->ino_file + 0x28 + 4 * (4096 / s->bsize), 4, b);
			add1(C_GMETA, s->ino_big + 0x28, 4, b);
			add1(C_GMETA, s->ino_bigfile + 0x28 + 4 * 12, 4, b);
		}
		add1(C_GMETA, s->ino_file + 0x68, 4, b);
	}
}

/* The system.data entry in the inode body of the inode at ino: its offset
 * in the image (0 if there is none) and its value's length. */
static uint64_t
data_entry(const struct seed *s, uint64_t ino, uint32_t *vlen)
{
	uint32_t extra = le(s->img + ino + 0x80, 2);
	uint64_t e = ino + 128 + extra + 4, end = ino + s->isize;

	if (s->isize <= 128 || le(s->img + ino + 128 + extra, 4) != 0xEA020000u)
		return 0;
	while (e + 20 <= end && le(s->img + e, 4) != 0) {
		uint32_t nl = s->img[e];

		if (nl == 4 && s->img[e + 1] == 7 && memcmp(s->img + e + 16, "data", 4) == 0) {
			*vlen = le(s->img + e + 8, 4);
			return e;
		}
		e += (16 + nl + 3) & ~3u;
	}
	return 0;
}

/* An inline inode: its size, flags and type, and its system.data entry
 * (value length and offset, name, index, the attribute space's magic and
 * the extra size that places it). */
static void
gen_inline_inode(const struct seed *s, uint64_t ino)
{
	uint32_t vlen = 0, flags = le(s->img + ino + 0x20, 4), extra = le(s->img + ino + 0x80, 2);
	uint64_t e = data_entry(s, ino, &vlen);
	uint32_t sizes[] = { 60 + vlen + 1, 60 + vlen + 4, 0xFFFFFFFFu, 4096, 0, 59, 61 };
	uint32_t vsizes[] = { vlen + 1, vlen + 4, 0xFFFF, s->isize, 0xFFFFFFFFu, 0, 2 };
	uint32_t voffs[] = { 0xFFFF, s->isize, s->isize - 128 - extra - 4, 2 };

	if (ino == 0 || e == 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
		add1(C_INLINE, ino + 0x4, 4, sizes[i]);
	add1(C_INLINE, ino + 0x6C, 4, 1);
	add1(C_INLINE, ino + 0x20, 4, flags | 0x80000);
	add1(C_INLINE, ino + 0x20, 4, flags | 0x1000);
	add1(C_INLINE, ino + 0x20, 4, flags & ~0x10000000u);
	add1(C_INLINE, ino + 0x0, 2, 020644);
	add1(C_INLINE, ino + 0x0, 2, 010644);
	for (size_t i = 0; i < ARRAY_LEN(vsizes); i++)
		add1(C_INLINE, e + 8, 4, vsizes[i]);
	for (size_t i = 0; i < ARRAY_LEN(voffs); i++)
		add1(C_INLINE, e + 2, 2, voffs[i]);
	add1(C_INLINE, e + 4, 4, 5);
	add1(C_INLINE, e + 1, 1, 1);
	add1(C_INLINE, e + 0, 1, 3);
	add1(C_INLINE, e + 0, 1, 0xFF);
	add1(C_INLINE, ino + 128 + extra, 4, 0);
	add1(C_INLINE, ino + 0x80, 2, extra + 4);
	add1(C_INLINE, ino + 0x80, 2, s->isize - 128 - 4);
}

/* Entries of an inline directory at ent (end: where their area ends):
 * record lengths running past the area, names past their records, inode
 * numbers out of range. */
static void
gen_inline_dirent(const struct seed *s, uint64_t ent, uint32_t room)
{
	uint32_t rl = le(s->img + ent + 4, 2);
	uint32_t rls[] = { 0, 4, 13, room + 4, room + 12, 0xFFFF, rl > 12 ? rl - 4 : 8 };

	for (size_t i = 0; i < ARRAY_LEN(rls); i++)
		add1(C_INLINE, ent + 4, 2, rls[i]);
	add1(C_INLINE, ent + 6, 1, 0xFF);
	add1(C_INLINE, ent + 6, 1, rl > 8 ? rl - 7 : 1);
	add1(C_INLINE, ent + 0, 4, s->inodes + 1);
	add1(C_INLINE, ent + 0, 4, 0xFFFFFFFFu);
}

/* ea_inode: the inode holding /dir's user.huge, made wrong for it. */
static void
gen_eainode(const struct seed *s)
{
	uint64_t v = s->ino_eaval;
	uint32_t flags, size;

	if (v == 0)
		return;
	flags = le(s->img + v + 0x20, 4);
	size = le(s->img + v + 0x4, 4);
	add1(C_XATTR, v + 0x20, 4, flags & ~0x200000u);   /* not a value's */
	add1(C_XATTR, v + 0x20, 4, flags | 0x10000000u);  /* inline data */
	add1(C_XATTR, v + 0x0, 2, 040600);                /* a directory */
	add1(C_XATTR, v + 0x0, 2, 0120777);               /* a symlink */
	add1(C_XATTR, v + 0x4, 4, size - 1);
	add1(C_XATTR, v + 0x4, 4, size + 1);
	add1(C_XATTR, v + 0x4, 4, 0);
	add1(C_XATTR, v + 0x4, 4, 0xFFFFFFFFu);
	add1(C_XATTR, v + 0x28, 4, 0);                    /* the extent header */
	add1(C_XATTR, v + 0x1A, 2, 0);                    /* no links */
}

static void
gen_inline(const struct seed *s)
{
	uint64_t inl[] = { s->ino_tiny, s->ino_dir, s->ino_sub, s->ino_ilink };
	uint32_t vlen = 0, extra;
	uint64_t e;

	if (!s->inline_data)
		return;
	for (size_t i = 0; i < ARRAY_LEN(inl); i++)
		gen_inline_inode(s, inl[i]);
	/* /dir: its parent, then the entries in i_block and in the value. */
	add1(C_INLINE, s->ino_dir + 0x28, 4, 0);
	add1(C_INLINE, s->ino_dir + 0x28, 4, 0xFFFFFFFFu);
	add1(C_INLINE, s->ino_dir + 0x28, 4, s->inodes + 1);
	add1(C_INLINE, s->ino_dir + 0x28, 4, s->n_dir);
	add1(C_INLINE, s->ino_sub + 0x28, 4, s->n_sub);
	gen_inline_dirent(s, s->ino_dir + 0x28 + 4, 56);
	e = data_entry(s, s->ino_dir, &vlen);
	if (e != 0 && vlen >= 12) {
		extra = le(s->img + s->ino_dir + 0x80, 2);
		gen_inline_dirent(s, s->ino_dir + 128 + extra + 4 + le(s->img + e + 2, 2), vlen);
	}
}

/* --- running one image ----------------------------------------------------- */

static volatile char wd_label[160];
static const uint8_t *wd_img;
static volatile int wd_rw;
static size_t wd_size;
static char wd_path[400];

static void
on_alarm(int sig)
{
	char m[256];
	size_t n = 0;
	const char *p = "not ok - hang (watchdog) read-only on ";

	(void)sig;
	if (wd_rw)
		p = "# hang (watchdog) read-write on ";
	while (*p && n < sizeof(m) - 2)
		m[n++] = *p++;
	for (size_t i = 0; i < sizeof(wd_label) && wd_label[i] && n < sizeof(m) - 2; i++)
		m[n++] = wd_label[i];
	m[n++] = '\n';
	write(1, m, n);
	/* Keep the image that hung, for the report. */
	if (wd_img != NULL) {
		int fd = open(wd_path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

		if (fd >= 0) {
			write(fd, wd_img, wd_size);
			close(fd);
		}
	}
	_exit(1);
}

struct cat_stats {
	long images, ro_mounted, rw_mounted, errors, unlogged, changed_ro, grew, rw_broken;
	struct hw_stats hw;
	char first_bad[200], first_rw_broken[200];
};
/* Shared with the children that run the read-write mounts. */
static struct cat_stats *cs;
static volatile size_t *rw_progress;
static char logbuf[1 << 17];

static void
apply(uint8_t *img, const struct mut *m)
{
	for (int i = 0; i < m->n; i++) {
		uint8_t *p = img + m->w[i].off;
		uint32_t v = m->w[i].v;

		if (m->w[i].w == 0x84) {
			put_be(p, v);
			continue;
		}
		for (int b = 0; b < m->w[i].w; b++)
			p[b] = (uint8_t)(v >> (8 * b));
	}
}

/* The log's last line, to find what comes after it later. */
static void
log_mark(char *mark, size_t len)
{
	size_t n = anyk_dmesg(logbuf, sizeof(logbuf));
	char *end, *start;

	n = strlen(logbuf);
	mark[0] = '\0';
	if (n == 0)
		return;
	end = logbuf + n - 1; /* the last newline */
	*end = '\0';
	start = strrchr(logbuf, '\n');
	start = start ? start + 1 : logbuf;
	snprintf(mark, len, "%s", start);
}

static bool
logged_since(const char *mark)
{
	char *at;

	anyk_dmesg(logbuf, sizeof(logbuf));
	at = mark[0] ? strstr(logbuf, mark) : logbuf;
	if (at == NULL)
		at = logbuf; /* the mark scrolled away: much was logged */
	return strstr(at, "ext2 ") != NULL;
}

/* One memfd per process, rewritten for each image: its pages stay
 * allocated, which makes an image several times cheaper than a fresh
 * memfd (most of the run's time went to faulting in new pages). */
static int img_fd = -1;
static pid_t img_pid;

static int
memfd_with(const uint8_t *img, size_t size)
{
	if (img_fd >= 0 && img_pid != getpid()) {
		close(img_fd); /* the parent's, inherited by a child */
		img_fd = -1;
	}
	if (img_fd < 0) {
		img_fd = memfd_create("anyk-hostile", 0);
		img_pid = getpid();
	}
	if (img_fd < 0)
		return -1;
	if (ftruncate(img_fd, (off_t)size) != 0 || pwrite(img_fd, img, size, 0) != (ssize_t)size)
		return -1;
	return img_fd;
}

/* Attach img (copied), mount it, walk it, change it if rw. */
static void
one_mount(struct cat_stats *c, const uint8_t *img, size_t size, bool rw, const char *label)
{
	static uint8_t back[8 << 20];
	struct hw_stats before = c->hw;
	char dev[64], mark[256];
	struct stat st;
	long budget = 2000;
	int fd, mounted;

	wd_rw = rw;
	fd = memfd_with(img, size);
	if (fd < 0)
		return;
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", fd);
	log_mark(mark, sizeof(mark));
	if (anyk_disk_attach("/dev/sd0", dev, rw ? ANYK_DISK_NOPART : ANYK_DISK_RDONLY | ANYK_DISK_NOPART) != 0)
		return;
	mounted = anyk_sys_mount("/dev/sd0", "/mnt", "ext4", rw ? 0 : ANYK_MNT_RDONLY, NULL);
	if (mounted == 0) {
		if (rw)
			c->rw_mounted++;
		else
			c->ro_mounted++;
		hw_walk(&c->hw, "/mnt", 6, &budget);
		if (rw) {
			hw_write(&c->hw, "/mnt");
			budget = 500;
			hw_walk(&c->hw, "/mnt", 3, &budget);
		}
		if (anyk_sys_unmount("/mnt", 0) != 0) {
			hw_note(&c->hw, -1);
			anyk_sys_unmount("/mnt", ANYK_MNT_FORCE);
		}
	} else {
		c->hw.ops++;
		if (errno == ANYK_EIO || errno == ANYK_EUCLEAN)
			c->hw.eio += errno == ANYK_EIO, c->hw.euclean += errno == ANYK_EUCLEAN;
	}
	anyk_disk_detach("/dev/sd0");
	if (c->hw.eio + c->hw.euclean > before.eio + before.euclean) {
		c->errors++;
		if (!logged_since(mark)) {
			c->unlogged++;
			if (!c->first_bad[0])
				snprintf(c->first_bad, sizeof(c->first_bad), "%s: EIO/EUCLEAN with no log line",
					 label);
		}
	}
	if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
		c->grew++;
		if (!c->first_bad[0])
			snprintf(c->first_bad, sizeof(c->first_bad), "%s: image size changed", label);
	}
	if (!rw && (pread(fd, back, size, 0) != (ssize_t)size || memcmp(back, img, size) != 0)) {
		c->changed_ro++;
		if (!c->first_bad[0])
			snprintf(c->first_bad, sizeof(c->first_bad), "%s: read-only mount changed the image",
				 label);
	}
}

static void
set_label(const struct seed *s, size_t i, size_t from)
{
	char label[160];

	snprintf(label, sizeof(label), "%s %s #%zu (+%#x=%#x)", s->name, cat_name[muts[i].cat], i - from,
		 muts[i].w[0].off, muts[i].w[0].v);
	for (size_t k = 0; k < sizeof(wd_label); k++) {
		wd_label[k] = label[k];
		if (!label[k])
			break;
	}
}

static uint8_t work[8 << 20];
static const char *only;

static void
run_one(struct seed *seeds, size_t i, bool rw)
{
	struct seed *s = &seeds[muts[i].seed];
	struct cat_stats *c = &cs[muts[i].cat];
	size_t from = i;

	while (from > 0 && muts[from - 1].seed == muts[i].seed)
		from--;
	set_label(s, i, from);
	/* ANYK_HOSTILE_ONLY=text: only the images whose label contains it
	 * (for chasing one case). */
	if (only != NULL && strstr((const char *)wd_label, only) == NULL)
		return;
	/* A hang read-only fails the run; read-write, it costs the wait. */
	alarm(rw ? 2 : 30);
	memcpy(work, s->img, s->size);
	apply(work, &muts[i]);
	wd_img = work;
	wd_size = s->size;
	if (!rw)
		c->images++;
	one_mount(c, work, s->size, rw, (const char *)wd_label);
	alarm(0);
}

/*
 * The read-write mounts run in child processes: the write path is younger
 * than the read path, and a hang or crash there should be counted and
 * named, not end the run. A child that dies leaves its place in
 * rw_progress; the next one starts after it.
 */
static void
run_rw(struct seed *seeds)
{
	size_t start = 0;

	while (start < nmuts) {
		pid_t pid;
		int status;

		*rw_progress = start;
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			if (anyk_init() != 0 || anyk_sys_mkdir("/mnt", 0755) != 0)
				_exit(2);
			/* Every third image: a third of the time, and each
			 * category still gets read-write mounts; every block
			 * map, whose bad pointers only the write path acts
			 * on. */
			for (size_t i = start; i < nmuts; i++) {
				*rw_progress = i;
				if (i % 3 != 0 && muts[i].cat != C_BMAP && muts[i].cat != C_GMETA)
					continue;
				run_one(seeds, i, true);
			}
			anyk_fini();
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid)
			break;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			break;
		{
			size_t i = *rw_progress;
			struct cat_stats *c = &cs[muts[i].cat];
			size_t from = i;

			while (from > 0 && muts[from - 1].seed == muts[i].seed)
				from--;
			set_label(&seeds[muts[i].seed], i, from);
			c->rw_broken++;
			if (!c->first_rw_broken[0])
				snprintf(c->first_rw_broken, sizeof(c->first_rw_broken), "%s (%s %d)",
					 (const char *)wd_label, WIFSIGNALED(status) ? "signal" : "exit",
					 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			printf("# read-write: %s ended the child (%s %d)\n", (const char *)wd_label,
			       WIFSIGNALED(status) ? "signal" : "exit",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			start = i + 1;
		}
	}
}

/* Keep at most cap mutations of each category of the last seed, evenly
 * spread over what the generators made. The cap is for time only
 * (ANYK_HOSTILE_CAP=0 runs every image the generators make); the default
 * of 40 keeps the run near 20 s (about 3,300 images). */
static void
thin(size_t from, size_t cap, bool multi)
{
	size_t out = from;

	if (cap == 0)
		return;
	for (int c = 0; c < C_NCAT; c++) {
		size_t n = 0, k = 0;
		/* Block-map pointers are few and all kept: among them are the
		 * ones naming group metadata, which once made the write path
		 * overwrite descriptors and hang. */
		size_t ccap = c == C_GMETA || c == C_INLINE || (c == C_BMAP && !multi) ? SIZE_MAX / 2 : cap;

		/* The multi-group seeds are here for the group metadata; the
		 * other kinds get a quarter of the share there, the block maps
		 * the usual cap. */
		if (multi && c != C_BMAP && c != C_GMETA)
			ccap = (cap + 3) / 4;

		for (size_t i = from; i < nmuts; i++)
			n += muts[i].cat == c;
		for (size_t i = from; i < nmuts; i++) {
			if (muts[i].cat != c)
				continue;
			if (n <= ccap || (k * ccap) / n != ((k + 1) * ccap) / n) {
				struct mut m = muts[i];

				/* Stable: everything before out is done. */
				memmove(&muts[out + 1], &muts[out], (i - out) * sizeof(*muts));
				muts[out++] = m;
			}
			k++;
		}
	}
	nmuts = out;
}

/*
 * An inode bitmap that shows in-use inodes as free: creating files must
 * refuse each such inode (EUCLEAN, logged) before writing anything over
 * it, keep it marked used, and so reach a truly free inode in the end;
 * afterwards the tree must read exactly as before, plus the new file.
 */
static void
check_create_over_used(struct seed *s)
{
	static uint8_t img[8 << 20];
	struct hw_stats before, after;
	struct anyk_stat st;
	char dev[64], mark[256];
	long budget;
	int fd, refused = 0, other = 0, created = -1;

	memcpy(img, s->img, s->size);
	/* Inodes 9..24: 9 and 10 reserved (never handed out), 11
	 * lost+found and 12..24 files of the seed: 14 in use. */
	img[s->ibm + 1] = 0;
	img[s->ibm + 2] = 0;
	fd = memfd_with(img, s->size);
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", fd);
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	log_mark(mark, sizeof(mark));
	if (fd < 0 || anyk_disk_attach("/dev/sd0", dev, ANYK_DISK_NOPART) != 0) {
		T_OK(0, "%s: attach for the inode bitmap check", s->name);
		return;
	}
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", 0, NULL) == 0) {
		budget = 2000;
		hw_walk(&before, "/mnt", 6, &budget);
		for (int i = 0; i < 40 && created < 0; i++) {
			int nfd = anyk_sys_open("/mnt/created-over-used", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);

			if (nfd >= 0) {
				created = i;
				anyk_sys_close(nfd);
			} else if (errno == ANYK_EUCLEAN) {
				refused++;
			} else {
				other++;
			}
		}
		anyk_sys_unmount("/mnt", 0);
	}
	anyk_disk_detach("/dev/sd0");
	T_OK(refused == 14 && other == 0 && created == 14 && logged_since(mark),
	     "%s: creating with a wrong inode bitmap refuses the %d in-use inodes (EUCLEAN, logged), then "
	     "finds a free one (%d other errors, created after %d tries)",
	     s->name, refused, other, created);
	/* Read-only now: the same tree, no errors, and the new file. */
	if (anyk_disk_attach("/dev/sd0", dev, ANYK_DISK_RDONLY | ANYK_DISK_NOPART) == 0) {
		if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", ANYK_MNT_RDONLY, NULL) == 0) {
			budget = 2000;
			hw_walk(&after, "/mnt", 6, &budget);
			T_OK(after.eio + after.euclean == 0 && after.entries > before.entries &&
				     anyk_sys_stat("/mnt/created-over-used", &st) == 0 && st.st_ino > 24,
			     "%s: after it the tree reads cleanly (%ld entries before, %ld after, %ld EIO/EUCLEAN)",
			     s->name, before.entries, after.entries, after.eio + after.euclean);
			anyk_sys_unmount("/mnt", 0);
		} else {
			T_OK(0, "%s: remount after the inode bitmap check", s->name);
		}
		anyk_disk_detach("/dev/sd0");
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static struct seed seeds[] = {
		{ .name = "ext2-1k", .mkfs = "-t ext2 -b 1024 -I 128", .size = 4 << 20 },
		{ .name = "ext3-1k", .mkfs = "-t ext3 -b 1024 -I 256", .size = 4 << 20 },
		{ .name = "ext4-1k", .mkfs = "-t ext4 -b 1024 -I 256 -O ^metadata_csum", .size = 4 << 20 },
		{ .name = "ext4-4k", .mkfs = "-t ext4 -b 4096 -I 256 -O ^metadata_csum", .size = 8 << 20 },
		{ .name = "ext4-csum-1k", .mkfs = "-t ext4 -b 1024 -I 256", .size = 4 << 20 },
		{ .name = "ext2-4k", .mkfs = "-t ext2 -b 4096 -I 256", .size = 4 << 20 },
		/* Several groups: flex_bg packing two groups' bitmaps and
		 * inode tables together; per-group metadata and a journal
		 * spanning groups; a backup superblock in every group; meta_bg
		 * with two meta groups of descriptors. */
		{ .name = "ext4-flex-4k", .mkfs = "-t ext4 -b 4096 -I 256 -g 512 -G 2", .size = 8 << 20,
		  .multi = true },
		{ .name = "ext3-groups-1k", .mkfs = "-t ext3 -b 1024 -I 256 -g 1024", .size = 4 << 20,
		  .multi = true },
		{ .name = "ext2-nosparse-1k", .mkfs = "-t ext2 -b 1024 -I 128 -g 1024 -O ^sparse_super,^resize_inode",
		  .size = 4 << 20, .multi = true },
		{ .name = "ext4-metabg-1k", .mkfs = "-t ext4 -b 1024 -I 256 -g 256 -O meta_bg,^resize_inode",
		  .size = 8 << 20, .multi = true },
		/* Inline data: small files, directories and links in their
		 * inodes (inline_extras adds what mke2fs leaves out). */
		{ .name = "ext4-inline-1k", .mkfs = "-t ext4 -b 1024 -I 256 -O inline_data,^metadata_csum",
		  .size = 4 << 20, .inline_data = true },
		/* ea_inode: /dir's user.huge in an inode of its own
		 * (ea_extras), made wrong in ten ways (gen_eainode). */
		{ .name = "ext4-eainode-1k", .mkfs = "-t ext4 -b 1024 -I 256 -O ea_inode,^metadata_csum",
		  .size = 4 << 20, .ea_inode = true },
		/* quota and project: three quota files, usage kept on
		 * writes (ext2_quota.c). */
		{ .name = "ext4-quota-1k", .mkfs = "-t ext4 -b 1024 -I 256 -O quota,project,^metadata_csum",
		  .size = 4 << 20 },
		/* bigalloc: clusters of 4 blocks, group 0 from block 0. */
		{ .name = "ext4-bigalloc-1k", .mkfs = "-t ext4 -b 1024 -I 256 -C 4096 -O bigalloc,^metadata_csum",
		  .size = 4 << 20 },
	};
	char cmd[400];
	bool rw = getenv("ANYK_HOSTILE_RO") == NULL, strict = getenv("ANYK_HOSTILE_LAX") == NULL;
	size_t cap = getenv("ANYK_HOSTILE_CAP") ? strtoul(getenv("ANYK_HOSTILE_CAP"), NULL, 0) : 40;
	double t0 = now_s(), t1;
	long total = 0, broken = 0;
	bool built[ARRAY_LEN(seeds)];

	(void)argc;
	(void)argv;
	only = getenv("ANYK_HOSTILE_ONLY");
	if (!t_have_tools("mke2fs debugfs")) {
		T_SKIP("mke2fs or debugfs not installed");
		return t_done();
	}
	snprintf(top, sizeof(top), "%s/anyk-hostile-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL) {
		T_SKIP("no temporary directory");
		return t_done();
	}
	snprintf(wd_path, sizeof(wd_path), "%s/anyk-hostile-hang.img", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	signal(SIGALRM, on_alarm);
	cs = mmap(NULL, sizeof(*cs) * C_NCAT + 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cs == MAP_FAILED) {
		T_SKIP("no shared memory");
		return t_done();
	}
	rw_progress = (volatile size_t *)(cs + C_NCAT);
	make_tree();
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
		struct seed *s = &seeds[i];
		size_t from = nmuts;

		built[i] = build_seed(s);
		if (!built[i])
			continue;
		cur_seed = (int)i;
		gen_super(s);
		gen_gdesc(s);
		gen_bitmap(s);
		gen_inode(s);
		gen_extent(s);
		gen_bmap(s);
		gen_dirent(s);
		gen_htree(s);
		gen_xattr(s);
		gen_journal(s);
		gen_csum(s);
		gen_loop(s);
		gen_gmeta(s);
		gen_inline(s);
		gen_eainode(s);
		thin(from, cap, s->multi);
		printf("# %s: %u groups, %d metadata blocks beyond group 0\n", s->name, s->groups, s->nmeta);
	}
	t1 = now_s();
	/* Read-write first, in children, while this process has no kernel. */
	if (rw)
		run_rw(seeds);
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
		struct seed *s = &seeds[i];
		struct cat_stats sane;

		if (!built[i]) {
			T_OK(0, "%s: seed image built and its structures found", s->name);
			continue;
		}
		/* The seed itself must mount and walk without an error. */
		memset(&sane, 0, sizeof(sane));
		one_mount(&sane, s->img, s->size, false, s->name);
		T_OK(sane.ro_mounted == 1 && sane.hw.eio + sane.hw.euclean == 0 && sane.hw.entries > 130,
		     "%s: seed mounts and walks cleanly (%ld entries, %ld EIO, %ld EUCLEAN)", s->name,
		     sane.hw.entries, sane.hw.eio, sane.hw.euclean);
	}
	if (built[0] && only == NULL)
		check_create_over_used(&seeds[0]);
	for (size_t i = 0; i < nmuts; i++)
		run_one(seeds, i, false);
	for (int c = 0; c < C_NCAT; c++) {
		total += cs[c].images;
		broken += cs[c].rw_broken;
		if (cs[c].images == 0)
			continue;
		T_OK(cs[c].unlogged == 0 && cs[c].grew == 0 && cs[c].changed_ro == 0,
		     "%s: %ld images, %ld mounted read-only, %ld read-write, %ld syscalls (%ld EIO, %ld EUCLEAN, "
		     "%ld other errors), %ld mounts with EIO/EUCLEAN, %ld of them unlogged, %ld grew, %ld changed "
		     "read-only%s%s",
		     cat_name[c], cs[c].images, cs[c].ro_mounted, cs[c].rw_mounted, cs[c].hw.ops, cs[c].hw.eio,
		     cs[c].hw.euclean, cs[c].hw.other, cs[c].errors, cs[c].unlogged, cs[c].grew, cs[c].changed_ro,
		     cs[c].first_bad[0] ? "; first: " : "", cs[c].first_bad);
		if (cs[c].rw_broken && strict)
			T_OK(0, "%s: %ld read-write mounts hung or crashed; first: %s", cat_name[c], cs[c].rw_broken,
			     cs[c].first_rw_broken);
		else if (cs[c].rw_broken)
			T_SKIP("%s: %ld read-write mounts hung or crashed (ANYK_HOSTILE_LAX set, so not counted as "
			       "failures); first: %s",
			       cat_name[c], cs[c].rw_broken, cs[c].first_rw_broken);
	}
	T_OK(total >= 1000, "%ld hostile images (seeds and mutations made in %.1f s), read-only%s in %.1f s, "
	     "no crash or hang read-only, %ld read-write runs broken",
	     total, t1 - t0, rw ? " and read-write" : "", now_s() - t1, broken);
	T_OK(anyk_fini() == 0, "anyk_fini");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	t_run(cmd);
	free(muts);
	return t_done();
}
