#!/bin/sh
# Round trip: a host tree -> "anyk cp -r -p" into an image -> back out ->
# identical by a full comparison (types, modes, owners when root, ns
# mtimes, symlink targets, hard-link groups, holes, xattrs, contents), with
# long names and 10,000 files, on ext2 and ext4; also image to image. The
# image must stay e2fsck-clean throughout.
T_NAME=img_roundtrip
. "$(dirname "$0")/../lib.sh"
need_tools mke2fs e2fsck python3
need_built "$ANYK"
t_tmpdir

# The tree, made and compared by one Python script.
cat >"$tmp/tree.py" <<'EOF'
import os, sys, stat
def make(root):
    os.makedirs(root)
    os.chdir(root)
    os.makedirs('many')
    for i in range(int(os.environ.get('NFILES', '10000'))):
        with open('many/f%05d' % i, 'w') as f:
            f.write('%d\n' % i)
    os.makedirs('a/b/c')
    with open('a/b/c/data', 'wb') as f:
        f.write(os.urandom(300000))
    with open('sparse', 'wb') as f:
        f.write(b'head')
        f.seek(8 << 20)
        f.write(b'tail')
    with open('long_' + 'n' * 250, 'w') as f:
        f.write('long name\n')
    os.symlink('a/b/c/data', 'rel')
    os.symlink('../../sparse', 'a/b/up2')
    os.symlink('dangling-target', 'dangling')
    os.link('a/b/c/data', 'hard1')
    os.link('a/b/c/data', 'a/hard2')
    os.mkfifo('fifo')
    for p, m in (('a/b/c/data', 0o640), ('a', 0o750), ('sparse', 0o4755), ('many', 0o1777)):
        os.chmod(p, m)
    try:
        os.setxattr('a/b/c/data', 'user.color', b'blue')
        os.setxattr('a', 'user.big', b'x' * 2000)
    except OSError:
        pass
    if os.geteuid() == 0:
        os.lchown('a/b/c/data', 1234, 5678)
        os.lchown('rel', 42, 43)
    t = 1600000000
    for dp, dn, fn in os.walk('.', topdown=False):
        for n in fn + dn:
            p = os.path.join(dp, n)
            os.utime(p, ns=(t * 10**9 + 111, t * 10**9 + 123456789), follow_symlinks=False)
            t += 1
    os.utime('.', ns=(t * 10**9, t * 10**9 + 5))

def describe(root, skip_root=True):
    out = {}
    links = {}
    for dp, dn, fn in os.walk(root):
        for n in sorted(fn + dn):
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            if rel == 'lost+found':
                continue
            st = os.lstat(p)
            d = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_mtime_ns]
            if os.geteuid() == 0:
                d += [st.st_uid, st.st_gid]
            if stat.S_ISLNK(st.st_mode):
                d.append(os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, 'rb') as f:
                    d.append(hash(f.read()))
                d.append(st.st_size)
                # Holes: where data is, as the file system reports it.
                fd = os.open(p, os.O_RDONLY)
                try:
                    d.append(os.lseek(fd, 0, os.SEEK_HOLE) if st.st_size else 0)
                finally:
                    os.close(fd)
                if st.st_nlink > 1:
                    links.setdefault(st.st_ino, []).append(rel)
            if os.environ.get('ONLY_XATTR'):
                d = []
            if not stat.S_ISLNK(st.st_mode) and not os.environ.get('NO_XATTR'):
                try:
                    d.append(sorted((a, os.getxattr(p, a)) for a in os.listxattr(p) if a.startswith('user.')))
                except OSError:
                    pass
            out[rel] = d
    groups = sorted(sorted(v) for v in links.values())
    return out, groups

if sys.argv[1] == 'make':
    make(sys.argv[2])
else:
    a, ga = describe(sys.argv[2])
    b, gb = describe(sys.argv[3])
    bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    for k in bad[:10]:
        print('differs:', k, a.get(k), b.get(k))
    if ga != gb:
        print('hard links differ:', ga, gb)
    sys.exit(1 if bad or ga != gb else 0)
EOF
python3 "$tmp/tree.py" make "$tmp/src" || { echo "not ok - make the tree"; exit 1; }
NFILES=20 python3 "$tmp/tree.py" make "$tmp/small" || { echo "not ok - make the small tree"; exit 1; }

# Images use 4 KiB blocks: the tree has a 2000-byte attribute, which no
# ext4 with 1 KiB blocks can hold (Linux refuses it too). If the driver
# cannot store attributes, host -> image -> host compares everything else,
# and attributes are checked on the way out of images that mke2fs -d made.
probe=$tmp/probe.img
mke2fs -q -F -t ext4 -b 4096 "$probe" 4M >/dev/null 2>&1
"$ANYK" cp -r -p "$tmp/small/a" "$probe:/a" 2>"$tmp/err"
if grep -q "not kept" "$tmp/err"; then
	echo "skip - extended attributes into images (the driver does not write them yet)"
	NO_XATTR=1
	export NO_XATTR
fi

# rt LABEL FS TREE
rt() {
	img=$tmp/$2.img
	mke2fs -q -F -t $2 -b 4096 -N 12000 "$img" 64M >/dev/null 2>&1
	start=$(date +%s)
	if "$ANYK" cp -r -p --no-progress "$3" "$img:/tree" 2>"$tmp/err"; then
		pass "$1: cp -r -p host -> image"
	else
		grep -v "not kept" "$tmp/err" | grep -q . && fail "$1: cp -r -p host -> image" "$(head -5 "$tmp/err")" || pass "$1: cp -r -p host -> image"
	fi
	if e2fsck -fn "$img" >"$tmp/fsck" 2>&1; then pass "$1: e2fsck clean after copy in"; else fail "$1: e2fsck clean after copy in" "$(head -20 "$tmp/fsck")"; fi
	if "$ANYK" cp -r -p --no-progress "$img:/tree" "$tmp/back" 2>"$tmp/err"; then
		pass "$1: cp -r -p image -> host"
	else
		fail "$1: cp -r -p image -> host" "$(head -5 "$tmp/err")"
	fi
	if python3 "$tmp/tree.py" cmp "$3" "$tmp/back" >"$tmp/cmp" 2>&1; then
		pass "$1: round trip identical"
	else
		fail "$1: round trip identical" "$(head -c 2000 "$tmp/cmp")"
	fi
	echo "# $1 round trip took $(( $(date +%s) - start ))s"
	rm -rf "$tmp/back"
}
rt "ext4, 10,000 files" ext4 "$tmp/src"
n=$("$ANYK" find "$tmp/ext4.img:/tree/many" -type f | wc -l)
[ "$n" = 10000 ] && pass "10,000 files listed" || fail "10,000 files listed" "$n"
rt "ext2" ext2 "$tmp/small"

# Image to image, then out again.
img2=$tmp/second.img
mke2fs -q -F -t ext4 -b 4096 "$img2" 64M >/dev/null 2>&1
if "$ANYK" cp -r -p "$tmp/ext2.img:/tree" "$img2:/copy" 2>"$tmp/err"; then pass "image -> image"; else fail "image -> image" "$(head -5 "$tmp/err")"; fi
"$ANYK" cp -r -p "$img2:/copy" "$tmp/back2" 2>"$tmp/err"
if python3 "$tmp/tree.py" cmp "$tmp/small" "$tmp/back2" >"$tmp/cmp" 2>&1; then
	pass "image -> image -> host identical"
else
	fail "image -> image -> host identical" "$(head -c 2000 "$tmp/cmp")"
fi
if e2fsck -fn "$img2" >"$tmp/fsck" 2>&1; then pass "second image e2fsck clean"; else fail "second image e2fsck clean" "$(head -20 "$tmp/fsck")"; fi

# Attributes out of an image mke2fs -d made from the tree.
xi=$tmp/xattr.img
mke2fs -q -F -t ext4 -b 4096 -d "$tmp/small" "$xi" 16M >/dev/null 2>&1
"$ANYK" cp -r -p "$xi:/" "$tmp/xback" 2>"$tmp/err"
if NO_XATTR= ONLY_XATTR=1 python3 "$tmp/tree.py" cmp "$tmp/small" "$tmp/xback" >"$tmp/cmp" 2>&1; then
	pass "extended attributes kept on the way out"
else
	fail "extended attributes kept on the way out" "$(head -c 2000 "$tmp/cmp")"
fi

# A large file with the progress bar forced on.
dd if=/dev/urandom of="$tmp/bigfile" bs=1M count=16 status=none
"$ANYK" cp --progress "$tmp/bigfile" "$img2:/bigfile" 2>"$tmp/prog"
"$ANYK" cat "$img2:/bigfile" | cmp -s - "$tmp/bigfile" && pass "16 MiB file copied" || fail "16 MiB file copied"
"$ANYK" cp --no-progress "$tmp/bigfile" "$img2:/bigfile2" 2>"$tmp/noprog"
[ ! -s "$tmp/noprog" ] && pass "--no-progress is silent" || fail "--no-progress is silent" "$(cat "$tmp/noprog")"
exit $failed
