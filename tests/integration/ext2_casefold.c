/*
 * Case-insensitive directories (ext4 casefold, encoding utf8-12.1) written
 * by anyk, checked against e2fsprogs, which folds names with its own code:
 *
 *  - every code point of the planes where case and decomposition live,
 *    each in a name of its own, and 30,000 names of random runs of
 *    combining marks, ignorables, Hangul and letters (canonical ordering),
 *    go into a casefold directory with 1 KiB blocks (a deep index); e2fsck
 *    -fn checks each name's hash against the index, so a name folded
 *    differently from e2fsprogs shows as a bad hash;
 *  - e2fsck -fD then rebuilds the index with its own hashes, and anyk finds
 *    every name again through it;
 *  - pairs that fold alike (and some that do not) behave as Linux's ext4
 *    makes them: found under either name, EEXIST, unlink and rename by the
 *    other name; the same pairs put in one directory whose flag is then set
 *    with debugfs are the duplicates e2fsck -D finds, no more, no fewer;
 *  - chattr +F only on an empty directory, inherited by subdirectories,
 *    refused without the feature; names not UTF-8 are kept as bytes, and
 *    refused under the strict flag.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anyk/anyk.h>

#include "tests/integration/ext2_img.h"
#include "tests/utf8put.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool
touch(const char *path)
{
	int fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_EXCL | ANYK_O_WRONLY, 0644);

	if (fd < 0)
		return false;
	anyk_sys_close(fd);
	return true;
}

static bool
mount_img(const char *what, unsigned flags)
{
	if (anyk_disk_attach("/dev/sd0", img, 0) != 0) {
		T_OK(0, "%s: attach", what);
		return false;
	}
	if (anyk_sys_mount("/dev/sd0", "/mnt", "ext4", flags, NULL) != 0) {
		T_OK(0, "%s: mount (errno %d)", what, errno);
		anyk_disk_detach("/dev/sd0");
		return false;
	}
	return true;
}

static void
umount_img(const char *what)
{
	T_OK(anyk_sys_unmount("/mnt", 0) == 0, "%s: unmount", what);
	anyk_disk_detach("/dev/sd0");
}

/* The names made, kept to look them up again. */
static char (*names)[64];
static int nnames;

static void
add_name(const char *dir, const char *name, int *made, int *same, int *bad)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (touch(path)) {
		(*made)++;
		snprintf(names[nnames++], sizeof(names[0]), "%s", name);
	} else if (errno == EEXIST) {
		(*same)++; /* folds like a name already there */
	} else if ((*bad)++ < 5) {
		printf("# create %s: errno %d\n", path, errno);
	}
}

/* The code points whose names are made: all of those where Unicode has
 * case, decompositions and combining marks (planes 0 and 1 but for the
 * unified ideographs and Hangul, which are sampled), and a sample of the
 * ignorable tags and variation selectors of plane 14. */
static bool
wanted(uint32_t cp)
{
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return false;
	if ((cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0x17000 && cp <= 0x18FFF))
		return cp % 37 == 0;
	if (cp < 0x20000)
		return true;
	if (cp >= 0x2F800 && cp <= 0x2FA1F) /* compatibility ideographs */
		return true;
	if (cp >= 0xE0000 && cp <= 0xE0FFF)
		return cp % 5 == 0;
	return cp % 4099 == 0;
}

/* Random short runs: a starter, then marks of mixed classes, with now and
 * then an ignorable, a Hangul syllable or a letter with a decomposition. */
static const uint32_t marks[] = {
	0x0300, 0x0301, 0x0302, 0x0308, 0x030A, 0x0316, 0x0317, 0x031B, 0x0323, 0x0327, 0x0328, 0x0334,
	0x0338, 0x0342, 0x0345, 0x05B0, 0x05B8, 0x05BC, 0x0610, 0x064B, 0x0651, 0x0670, 0x093C, 0x094D,
	0x0E38, 0x0E48, 0x0F71, 0x0F72, 0x0F80, 0x1DCE, 0x20D2, 0x20D6, 0x302A, 0x302E, 0x3099, 0x1D165,
	0x1D167, 0x1D16D, 0x1D17B, 0x0313, 0x0314, 0x1AB0, 0x1DFF, 0x10A0D, 0x16AF0,
};
static const uint32_t starters[] = {
	'a', 'A', 'e', 'Z', 0x00C5, 0x00E9, 0x0130, 0x0131, 0x01C5, 0x0390, 0x03A3, 0x03C2, 0x1E9E, 0x1F80,
	0x1FB3, 0x212B, 0x212A, 0xFB01, 0xAC00, 0xD7A3, 0x1100, 0x1161, 0x11A8, 0x041F, 0x10400, 0x1E900,
	0x00DF, 0x0587, 0x1F88, 0x2126, 0x03D0, 0x1E9B, 0x0049,
};
static const uint32_t ignorables[] = { 0x00AD, 0x034F, 0x200B, 0x200D, 0x2060, 0xFE0F, 0xFEFF, 0xE0001, 0xE0100 };

static void
random_run(char *s, size_t cap)
{
	size_t n = t_utf8_put(s, 'y');
	int k = 1 + (int)(rnd() % 6);

	for (int i = 0; i < k && n + 8 < cap; i++) {
		uint64_t r = rnd() % 20;
		uint32_t cp;

		if (r < 11)
			cp = marks[rnd() % ARRAY_SIZE(marks)];
		else if (r < 17)
			cp = starters[rnd() % ARRAY_SIZE(starters)];
		else
			cp = ignorables[rnd() % ARRAY_SIZE(ignorables)];
		n += t_utf8_put(s + n, cp);
	}
	s[n] = '\0';
}

static void
test_all_code_points(void)
{
	const char *what = "casefold, every code point";
	int made = 0, same = 0, bad = 0, found = 0, missing = 0;
	char name[64], path[128], cmd[800];
	struct anyk_stat st;
	double t0 = now_s();

	/* 1 KiB blocks: the index has thousands of leaves, so a wrong hash
	 * lands in another leaf's range. */
	if (!img_mkfs("ext4", "-O casefold,^has_journal -E encoding=utf8 -b 1024 -N 400000 -I 128", "400M")) {
		T_SKIP("%s: mke2fs cannot make casefold file systems", what);
		return;
	}
	names = calloc(400000, sizeof(*names));
	nnames = 0;
	if (!mount_img(what, 0))
		return;
	T_OK(anyk_sys_mkdir("/mnt/d", 0755) == 0, "%s: mkdir", what);
	T_OK(anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/d", ANYK_FL_CASEFOLD, 0) == 0, "%s: chattr +F (errno %d)", what,
	     errno);
	for (uint32_t cp = 0x20; cp <= 0x10FFFF; cp++) {
		if (cp == '/' || cp == 0x7F || !wanted(cp))
			continue;
		name[0] = 'x';
		name[1 + t_utf8_put(name + 1, cp)] = '\0';
		add_name("/mnt/d", name, &made, &same, &bad);
	}
	rng = 0xCA5EF01D;
	for (int i = 0; i < 30000; i++) {
		random_run(name, sizeof(name));
		add_name("/mnt/d", name, &made, &same, &bad);
	}
	printf("# %d names made, %d folded like one made before, in %.2f s\n", made, same, now_s() - t0);
	T_OK(bad == 0, "%s: every name made or found already there (%d errors)", what, bad);
	T_OK(made > 100000 && same > 5000, "%s: %d names, %d folded onto others", what, made, same);
	T_OK(anyk_sys_stat("/mnt/d", &st) == 0 && (st.st_flags & ANYK_FL_INDEX), "%s: the directory is indexed", what);
	umount_img(what);
	img_fsck_clean(what);

	/* The index e2fsck builds from its own hashes. */
	snprintf(cmd, sizeof(cmd), "e2fsck -fyD %s >/dev/null 2>&1", img);
	T_OK(t_run(cmd) <= 1, "%s: e2fsck -fyD rebuilds the index", what);
	img_fsck_clean("casefold, after e2fsck -D");
	if (!mount_img(what, ANYK_MNT_RDONLY))
		return;
	for (int i = 0; i < nnames; i++) {
		snprintf(path, sizeof(path), "/mnt/d/%s", names[i]);
		if (anyk_sys_lstat(path, &st) == 0)
			found++;
		else if (missing++ < 5)
			printf("# not found after e2fsck -D: %s (errno %d)\n", path, errno);
	}
	T_OK(missing == 0, "%s: all %d names found through e2fsck's index (%d missing)", what, found, missing);
	umount_img(what);
	free(names);
}

/* Names that fold alike, and (same == false) names that do not. */
static const struct pair {
	const char *a, *b;
	bool same;
} pairs[] = {
	{ "README", "readme", true },
	{ "Stra\xc3\x9f" "e", "STRASSE", true },                  /* ß folds to ss */
	{ "\xc3\x85ngstr\xc3\xb6m", "A\xcc\x8angstro\xcc\x88m", true }, /* NFC and NFD */
	{ "\xe2\x84\xab", "\xc3\xa5", true },                       /* ANGSTROM SIGN, å */
	{ "\xe2\x84\xaa" "elvin", "kelvin", true },                 /* KELVIN SIGN */
	{ "\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1", "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xcc\x81\xce\xb1", true },
	{ "\xcf\x82", "\xcf\x83", true },                           /* final sigma */
	{ "\xc7\x84", "\xc7\x85", true },                           /* DŽ, Dž */
	{ "\xc7\x85", "\xc7\x86", true },                           /* Dž, dž */
	{ "\xef\xac\x81le", "FILE", true },                         /* ﬁ ligature */
	{ "a\xe2\x80\x8d" "b", "ab", true },                        /* ZERO WIDTH JOINER */
	{ "so\xc2\xad" "ft", "soft", true },                        /* SOFT HYPHEN */
	{ "q\xcc\x81\xcc\x96", "q\xcc\x96\xcc\x81", true },         /* marks of classes 230, 220 */
	{ "\xed\x95\x9c", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", true }, /* 한 and its jamo */
	{ "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2", "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
	  true },                                                   /* ПРИВЕТ */
	{ "\xf0\x90\x90\x80", "\xf0\x90\x90\xa8", true },           /* Deseret 𐐀, 𐐨 */
	{ "\xe1\xba\x9e", "ss", true },                             /* ẞ */
	{ "\xc4\xb0", "i\xcc\x87", true },                          /* İ folds to i + dot */
	{ "\xc4\xb0", "i", false },
	{ "\xc4\xb1", "i", false },                                 /* dotless ı has no folding */
	{ "\xef\xbc\xa1", "A", false },                             /* fullwidth: compatibility only */
	{ "\xe2\x91\xa0", "1", false },                             /* circled digit */
	{ "a\xcc\x81\xcd\x8f\xcc\x96", "a\xcc\x96\xcd\x8f\xcc\x81", false }, /* CGJ stops reordering */
	{ "e\xcc\x81", "e", false },
	{ "x\xf0\x9f\x98\x80", "X\xf0\x9f\x98\x80", true },        /* emoji, letters around */
	{ "na\xc3\xafve", "NAI\xcc\x88VE", true },
};

static void
test_pairs(void)
{
	const char *what = "casefold pairs";
	char pa[128], pb[128], cmd[2000];
	struct anyk_stat sa, sb;
	int nsame = 0, i = 0;

	if (!img_mkfs("ext4", "-O casefold -E encoding=utf8", "32M")) {
		T_SKIP("%s: mke2fs cannot make casefold file systems", what);
		return;
	}
	if (!mount_img(what, 0))
		return;
	anyk_sys_mkdir("/mnt/ci", 0755);
	T_OK(anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/ci", ANYK_FL_CASEFOLD, 0) == 0, "%s: chattr +F", what);
	for (const struct pair *p = pairs; p < pairs + ARRAY_SIZE(pairs); p++, i++) {
		snprintf(pa, sizeof(pa), "/mnt/ci/%s", p->a);
		snprintf(pb, sizeof(pb), "/mnt/ci/%s", p->b);
		T_OK(touch(pa), "%s %d: create", what, i);
		if (p->same) {
			nsame++;
			T_OK(anyk_sys_lstat(pa, &sa) == 0 && anyk_sys_lstat(pb, &sb) == 0 && sa.st_ino == sb.st_ino,
			     "%s %d: found under the other name", what, i);
			T_OK(!touch(pb) && errno == EEXIST, "%s %d: the other name exists (errno %d)", what, i, errno);
			T_OK(anyk_sys_unlink(pb) == 0 && anyk_sys_lstat(pa, &sa) != 0 && errno == ENOENT,
			     "%s %d: unlink by the other name", what, i);
		} else {
			T_OK(anyk_sys_lstat(pb, &sb) != 0 && errno == ENOENT, "%s %d: the other name is another", what,
			     i);
			T_OK(touch(pb), "%s %d: which can be made", what, i);
			anyk_sys_unlink(pb);
			anyk_sys_unlink(pa);
		}
	}
	/* rename by another spelling of the source; onto another spelling
	 * of an existing name replaces it. */
	T_OK(touch("/mnt/ci/Alpha") && anyk_sys_rename("/mnt/ci/ALPHA", "/mnt/ci/beta") == 0 &&
	     anyk_sys_lstat("/mnt/ci/Beta", &sa) == 0 && anyk_sys_lstat("/mnt/ci/alpha", &sb) != 0,
	     "%s: rename by another spelling", what);
	T_OK(touch("/mnt/ci/gamma") && anyk_sys_rename("/mnt/ci/gamma", "/mnt/ci/BETA") == 0 &&
	     anyk_sys_lstat("/mnt/ci/beta", &sb) == 0 && sb.st_ino != sa.st_ino &&
	     anyk_sys_lstat("/mnt/ci/gamma", &sa) != 0,
	     "%s: rename onto another spelling replaces", what);
	/* Subdirectories inherit the flag; files do not carry it. */
	T_OK(anyk_sys_mkdir("/mnt/ci/Sub", 0755) == 0 && anyk_sys_lstat("/mnt/ci/SUB", &sa) == 0 &&
	     (sa.st_flags & ANYK_FL_CASEFOLD) && anyk_sys_lstat("/mnt/ci/beta", &sb) == 0 &&
	     !(sb.st_flags & ANYK_FL_CASEFOLD),
	     "%s: a subdirectory is case-insensitive too, a file has no flag", what);
	T_OK(touch("/mnt/ci/sub/File") && anyk_sys_lstat("/mnt/ci/SUB/FILE", &sa) == 0, "%s: path through both",
	     what);
	/* The flag changes only on empty directories. */
	errno = 0;
	T_OK(anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/ci/sub", 0, 0) != 0 && errno == ENOTEMPTY,
	     "%s: chattr -F of a directory with entries: ENOTEMPTY (errno %d)", what, errno);
	errno = 0;
	T_OK(anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/ci/beta", ANYK_FL_CASEFOLD, 0) != 0 && errno == ENOTDIR,
	     "%s: chattr +F of a file: ENOTDIR (errno %d)", what, errno);
	anyk_sys_mkdir("/mnt/cs", 0755);
	T_OK(touch("/mnt/cs/x") && anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/cs", ANYK_FL_CASEFOLD, 0) != 0 &&
	     errno == ENOTEMPTY,
	     "%s: chattr +F of a directory with entries: ENOTEMPTY", what);
	T_OK(anyk_sys_unlink("/mnt/cs/x") == 0 && anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/cs", ANYK_FL_CASEFOLD, 0) == 0 &&
	     anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/cs", 0, 0) == 0,
	     "%s: set and cleared on an empty directory", what);
	/* Names that are not UTF-8: kept, found only as they are. */
	T_OK(touch("/mnt/ci/bad\xff") && anyk_sys_lstat("/mnt/ci/bad\xff", &sa) == 0 &&
	     anyk_sys_lstat("/mnt/ci/BAD\xff", &sb) != 0 && errno == ENOENT,
	     "%s: a name that is not UTF-8 is found by its bytes only", what);
	/* The pairs, written side by side into a directory that is not
	 * case-insensitive, which debugfs then marks so (EXTENTS kept): e2fsck
	 * -D, rebuilding it, must find exactly the pairs that fold alike. */
	anyk_sys_mkdir("/mnt/pairs", 0755);
	i = 0;
	for (const struct pair *p = pairs; p < pairs + ARRAY_SIZE(pairs); p++, i++) {
		snprintf(pa, sizeof(pa), "/mnt/pairs/%02d%s", i, p->a);
		snprintf(pb, sizeof(pb), "/mnt/pairs/%02d%s", i, p->b);
		touch(pa);
		touch(pb);
	}
	umount_img(what);
	img_fsck_clean(what);
	snprintf(cmd, sizeof(cmd),
		 "debugfs -w -R 'set_inode_field /pairs flags 0x40080000' %s >/dev/null 2>&1 && "
		 "e2fsck -fyD %s 2>&1 | grep -c 'non-unique filename' > %s/dups; cat %s/dups",
		 img, img, top, top);
	printf("# duplicates e2fsck reports (expected %d):\n", nsame);
	fflush(stdout);
	t_run(cmd);
	snprintf(cmd, sizeof(cmd), "test \"$(cat %s/dups)\" -eq %d", top, nsame);
	T_OK(t_run(cmd) == 0, "%s: e2fsck finds the %d pairs that fold alike, and no others", what, nsame);
}

static void
test_strict_and_feature(void)
{
	const char *what = "casefold strict";
	struct anyk_stat st;

	if (!img_mkfs("ext4", "-O casefold -E encoding=utf8,encoding_flags=strict", "32M")) {
		T_SKIP("%s: mke2fs cannot make strict casefold file systems", what);
		return;
	}
	if (!mount_img(what, 0))
		return;
	anyk_sys_mkdir("/mnt/ci", 0755);
	anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/ci", ANYK_FL_CASEFOLD, 0);
	errno = 0;
	T_OK(!touch("/mnt/ci/bad\xff") && errno == EINVAL, "%s: a name that is not UTF-8 is refused (errno %d)",
	     what, errno);
	T_OK(touch("/mnt/ci/ok\xc3\xa9") && anyk_sys_lstat("/mnt/ci/OK\xc3\x89", &st) == 0, "%s: UTF-8 names are made",
	     what);
	T_OK(touch("/mnt/bad\xff"), "%s: outside casefold directories any name goes", what);
	umount_img(what);
	img_fsck_clean(what);

	what = "no casefold feature";
	if (!img_mkfs("ext4", "", "32M") || !mount_img(what, 0))
		return;
	anyk_sys_mkdir("/mnt/d", 0755);
	errno = 0;
	T_OK(anyk_sys_chflagsat(ANYK_AT_FDCWD, "/mnt/d", ANYK_FL_CASEFOLD, 0) != 0 && errno == EOPNOTSUPP,
	     "%s: chattr +F refused (errno %d)", what, errno);
	umount_img(what);
}

int
main(void)
{
	if (!img_setup("anyk-casefold"))
		return t_done();
	T_OK(anyk_init() == 0, "anyk_init");
	T_OK(anyk_sys_mkdir("/mnt", 0755) == 0, "mkdir /mnt");
	test_pairs();
	test_strict_and_feature();
	test_all_code_points();
	T_OK(anyk_fini() == 0, "anyk_fini");
	img_cleanup();
	return t_done();
}
