#!/usr/bin/env python3
"""Make kern/lib/utf8fold_data.h from the Unicode Character Database.

    python3 kern/lib/mkutf8fold.py [UCD_DIR] > kern/lib/utf8fold_data.h

UCD_DIR holds UnicodeData.txt, CaseFolding.txt, DerivedAge.txt and
DerivedCoreProperties.txt (Debian's unicode-data package puts them in
/usr/share/unicode, the default). The tables describe the folding that
ext4's "utf8-12.1" encoding applies to the names of case-insensitive
directories, so they are cut back to Unicode 12.1 whatever the version of
the database: a character assigned later is unassigned there, and an
unassigned character folds to itself.

The folding of one character:
  - a character with a full case folding (CaseFolding.txt status C or F)
    maps to its folding, anything else to its canonical decomposition
    (UnicodeData.txt field 5 without a <tag>); the result is expanded the
    same way until nothing in it changes;
  - a Default_Ignorable_Code_Point maps to nothing;
  - Hangul syllables decompose by the algorithm of Unicode section 3.12
    (done in code, not stored).
A name folds character by character; each run of characters with a
nonzero canonical combining class is then put in ascending order of class,
keeping the order of equal classes (the canonical ordering of Unicode
section 3.11). A character that maps to nothing still ends such a run.

tests/unit/utf8fold.sh runs this again and compares with the file in the
tree, when the database is installed.
"""
import os
import sys

VERSION = (12, 1)
UCD = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def lines(name):
    with open(os.path.join(UCD, name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield [x.strip() for x in line.split(";")]


def cprange(field):
    if ".." in field:
        a, b = field.split("..")
        return range(int(a, 16), int(b, 16) + 1)
    return range(int(field, 16), int(field, 16) + 1)


age = {}
for f in lines("DerivedAge.txt"):
    maj, mnr = f[1].split(".")
    for cp in cprange(f[0]):
        age[cp] = (int(maj), int(mnr))


def known(cp):
    """Assigned in the version the tables describe."""
    return cp in age and age[cp] <= VERSION


ccc, decomp = {}, {}
for f in lines("UnicodeData.txt"):
    cp = int(f[0], 16)
    if not known(cp):
        continue
    if int(f[3]):
        ccc[cp] = int(f[3])
    if f[5] and not f[5].startswith("<"):
        decomp[cp] = [int(x, 16) for x in f[5].split()]

fold = {}
for f in lines("CaseFolding.txt"):
    cp = int(f[0], 16)
    if f[1] in ("C", "F") and known(cp):
        fold[cp] = [int(x, 16) for x in f[2].split()]

ignorable = set()
for f in lines("DerivedCoreProperties.txt"):
    if f[1] != "Default_Ignorable_Code_Point":
        continue
    for cp in cprange(f[0]):
        # A character assigned after the version was then unassigned, and
        # not ignorable unless in a block reserved for ignorables; those
        # stay unassigned in later versions too.
        if known(cp) or cp not in age:
            ignorable.add(cp)


def hangul(cp):
    s = cp - HANGUL_FIRST
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return out


def step(cp):
    """One level of the folding of cp, or None if cp folds to itself."""
    if cp in ignorable:
        return []
    if HANGUL_FIRST <= cp <= HANGUL_LAST:
        return hangul(cp)
    if cp in fold:
        return fold[cp]
    if cp in decomp:
        return decomp[cp]
    return None


def full(cp):
    out = step(cp)
    if out is None:
        return [cp]
    while True:
        nxt = []
        changed = False
        for c in out:
            s = step(c)
            if s is None:
                nxt.append(c)
            else:
                nxt.extend(s)
                changed = True
        out = nxt
        if not changed:
            return out


maps = {}
for cp in sorted(set(fold) | set(decomp)):
    if cp in ignorable or HANGUL_FIRST <= cp <= HANGUL_LAST:
        continue
    m = full(cp)
    if m != [cp]:
        maps[cp] = m
for cp, m in maps.items():
    for c in m:
        assert known(c) and c not in maps and c not in ignorable, (hex(cp), hex(c))
        assert not HANGUL_FIRST <= c <= HANGUL_LAST

# The pool: each mapping once, as code point | class << 24.
pool, where = [], {}
entries = []
for cp, m in sorted(maps.items()):
    key = tuple(m)
    if key not in where:
        where[key] = len(pool)
        pool.extend(c | ccc.get(c, 0) << 24 for c in m)
    entries.append((cp, where[key], len(m)))
assert len(pool) < 65536 and max(n for _, _, n in entries) < 256


def u8len(c):
    return 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4


# How much a name can grow: the most bytes out for one byte in, and the
# most characters out for one in (Hangul: three).
grow_bytes = max([sum(u8len(c) for c in m) / u8len(cp) for cp, m in maps.items()] + [9 / 3])
grow_chars = max([len(m) for m in maps.values()] + [3])


def ranges(cps, value=None):
    out = []
    for cp in sorted(cps):
        v = value(cp) if value else None
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1][1] = cp
        else:
            out.append([cp, cp, v])
    return out


ccc_ranges = ranges(ccc, ccc.get)
ign_ranges = ranges(ignorable)

w = sys.stdout.write
w("/* Made by kern/lib/mkutf8fold.py from the Unicode Character Database;\n")
w(" * do not edit. Unicode %d.%d: see that script for what the tables hold. */\n" % VERSION)
w("#define UF_VERSION_MAJOR %d\n#define UF_VERSION_MINOR %d\n" % VERSION)
w("/* A folded character is at most UF_GROW_CHARS characters, and a folded\n")
w(" * name at most UF_GROW_BYTES times its length in bytes. */\n")
w("#define UF_GROW_CHARS %d\n" % grow_chars)
w("#define UF_GROW_BYTES %d\n" % int(-(-grow_bytes // 1)))
w("\n/* Canonical combining classes other than 0: first, last, class. */\n")
w("static const struct uf_ccc uf_ccc[%d] = {\n" % len(ccc_ranges))
for a, b, v in ccc_ranges:
    w("\t{ 0x%X, 0x%X, %d },\n" % (a, b, v))
w("};\n\n/* Default ignorable code points, folded to nothing: first, last. */\n")
w("static const struct uf_range uf_ignorable[%d] = {\n" % len(ign_ranges))
for a, b, _ in ign_ranges:
    w("\t{ 0x%X, 0x%X },\n" % (a, b))
w("};\n\n/* Characters that fold to others: character, start in uf_pool, count. */\n")
w("static const struct uf_map uf_map[%d] = {\n" % len(entries))
for cp, off, n in entries:
    w("\t{ 0x%X, %d, %d },\n" % (cp, off, n))
w("};\n\n/* What they fold to: character | combining class << 24. */\n")
w("static const uint32_t uf_pool[%d] = {\n" % len(pool))
for i in range(0, len(pool), 8):
    w("\t" + " ".join("0x%X," % v for v in pool[i:i + 8]) + "\n")
w("};\n")
