#!/bin/sh
# anyk tar against GNU tar on ext4 images: a host tree with every kind of
# entry (modes, owners as root, ns times, symlinks, hard links, holes and a
# 9 GiB sparse file, names of 150 and 255 bytes, a path over 256 bytes,
# devices, fifos, xattrs) goes in through GNU tar's pax, GNU and ustar
# archives ("anyk tar -x") and out again ("anyk tar -c" | GNU tar -x) and
# must come back the same; an image made by mke2fs -d archives like GNU tar
# archives its source; a hostile archive cannot write outside the target;
# the images stay e2fsck-clean.
T_NAME=img_tar
. "$(dirname "$0")/../lib.sh"
need_tools mke2fs e2fsck python3 tar
tar --version 2>/dev/null | grep -q 'GNU tar' || skip_all "GNU tar missing"
need_built "$ANYK"
t_tmpdir
root=0
[ "$(id -u)" = 0 ] && root=1

cat >"$tmp/tree.py" <<'EOF'
import os, sys, stat, hashlib
def make(root):
    os.makedirs(root)
    os.chdir(root)
    os.makedirs('a/b/c')
    with open('a/b/c/data', 'wb') as f:
        f.write(os.urandom(300000))
    with open('sparse', 'wb') as f:
        f.write(b'head')
        f.seek(8 << 20)
        f.write(b'tail')
    with open('endhole', 'wb') as f:
        f.write(b'x' * 5000)
        f.truncate(3 << 20)
    with open('allhole', 'wb') as f:
        f.truncate(1 << 20)
    with open('huge', 'wb') as f:
        f.write(b'start')
        f.seek(9 << 30)
        f.write(b'end')
    open('empty', 'w').close()
    for n in ('l' * 150, 'n' * 255):
        with open(n, 'w') as f:
            f.write(n[:1] + '\n')
    deep = '/'.join(['d%02d_' % i + 'x' * 36 for i in range(8)])
    os.makedirs(deep)
    with open(deep + '/bottom_' + 'b' * 120, 'w') as f:
        f.write('deep\n')
    os.link(deep + '/bottom_' + 'b' * 120, 'deeplink')
    os.symlink('../' * 3 + 't' * 120, 'longtarget')
    os.symlink('a/b/c/data', 'rel')
    os.symlink('dangling-target', 'dangling')
    os.symlink('/etc/passwd', 'absolute')
    os.link('a/b/c/data', 'hard1')
    os.link('a/b/c/data', 'a/hard2')
    os.mkfifo('fifo')
    if os.geteuid() == 0:
        os.mknod('chr', 0o620 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod('blk', 0o660 | stat.S_IFBLK, os.makedev(300, 70000))
    for p, m in (('a/b/c/data', 0o640), ('a', 0o750), ('sparse', 0o4755), ('a/b', 0o1777), ('fifo', 0o600)):
        os.chmod(p, m)
    try:
        os.setxattr('a/b/c/data', 'user.color', b'blue')
        os.setxattr('a', 'user.big', b'x' * 2000)
        os.setxattr('empty', 'user.bin', bytes(range(256)))
    except OSError:
        pass
    if os.geteuid() == 0:
        os.lchown('a/b/c/data', 1234, 5678)
        os.lchown('rel', 42, 43)
        os.lchown('empty', 3000000, 4000000)
    t = 1600000000
    for dp, dn, fn in os.walk('.', topdown=False):
        for n in fn + dn:
            p = os.path.join(dp, n)
            os.utime(p, ns=(t * 10**9 + 111, t * 10**9 + 123456789), follow_symlinks=False)
            t += 1
    os.utime('huge', ns=(4102444800 * 10**9, 4102444800 * 10**9 + 1))

def content(p, size):
    h = hashlib.sha1()
    with open(p, 'rb') as f:
        if size > (64 << 20):
            # Only the ends of the giant: reading 9 GiB of zeros is slow.
            h.update(f.read(4096))
            f.seek(size - 4096)
        h.update(f.read())
    return h.hexdigest()

def describe(root):
    out = {}
    links = {}
    nons = os.environ.get('NO_NS')
    for dp, dn, fn in os.walk(root):
        for n in sorted(fn + dn):
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            if rel == 'lost+found':
                continue
            st = os.lstat(p)
            mt = st.st_mtime_ns // 10**9 if nons else st.st_mtime_ns
            if rel in os.environ.get('ANY_TIME', '').split():
                mt = None
            d = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), mt]
            if os.geteuid() == 0:
                d += [st.st_uid, st.st_gid]
            if stat.S_ISLNK(st.st_mode):
                d.append(os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                d += [st.st_size, content(p, st.st_size)]
                if st.st_nlink > 1:
                    links.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                d += [os.major(st.st_rdev), os.minor(st.st_rdev)]
            if not stat.S_ISLNK(st.st_mode) and not os.environ.get('NO_XATTR'):
                d.append(sorted((a, os.getxattr(p, a)) for a in os.listxattr(p) if a.startswith('user.')))
            out[rel] = d
    return out, sorted(sorted(v) for v in links.values())

if sys.argv[1] == 'make':
    make(sys.argv[2])
elif sys.argv[1] == 'sparse':
    # Allocated blocks of a file, to see that holes stayed holes.
    print(os.lstat(sys.argv[2]).st_blocks)
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
xattr_host=1
getfattr_ok=$(python3 -c "import os; print(1 if os.listxattr('$tmp/src/a/b/c/data') else 0)" 2>/dev/null)
[ "$getfattr_ok" = 1 ] || { xattr_host=0; echo "skip - xattrs: the host file system in $tmp has no user xattrs"; }

# Can the driver write xattrs into an image? If not, imports leave them out.
img=$tmp/probe.img
"$ANYK" mkfs -q -t ext4 "$img" 8M >/dev/null 2>&1 && "$ANYK" touch "$img:/f"
xattr_img=1
if ! "$ANYK" shell -q --disk "$img" -c 'xattr -w user.t v /mnt/sd0/f' >/dev/null 2>&1; then
	xattr_img=0
	echo "skip - xattrs into images: the ext2 driver does not store them yet"
fi
imp_env=""
[ $xattr_img = 1 ] && [ $xattr_host = 1 ] || imp_env="NO_XATTR=1"
[ $xattr_host = 1 ] || export NO_XATTR=1
only_xattr_msgs() { # file: stderr of an import, allowed to hold xattr refusals only
	[ $xattr_img = 0 ] && sed -i '/extended attribute .* not kept/d; /entr.* skipped or not fully unpacked/d' "$1"
	[ ! -s "$1" ]
}

# --- GNU tar's pax archive into an image, and back out ----------------------
tar --format=posix --xattrs --xattrs-include='*' -S --sort=name -C "$tmp/src" -cf "$tmp/host.tar" . 2>"$tmp/err"
check "GNU tar archives the host tree" '[ -s "$tmp/host.tar" ]' "$(cat "$tmp/err")"
img=$tmp/in.img
"$ANYK" mkfs -q -t ext4 -b 4096 "$img" 64M >/dev/null 2>&1
start=$(date +%s)
"$ANYK" tar -x "$img:/t" -f "$tmp/host.tar" 2>"$tmp/err"
rc=$?
check "anyk tar -x unpacks GNU tar's pax archive" '[ $rc = 0 ] || { [ $xattr_img = 0 ] && only_xattr_msgs "$tmp/err"; }' "rc=$rc $(cat "$tmp/err")"
"$ANYK" tar -c "$img:/t" >"$tmp/back.tar" 2>"$tmp/err"
check "anyk tar -c archives the unpacked tree" '[ $? = 0 ] && [ ! -s "$tmp/err" ]' "$(cat "$tmp/err")"
mkdir "$tmp/out1"
tar --warning=no-timestamp --xattrs --xattrs-include='*' -xpf "$tmp/back.tar" -C "$tmp/out1" 2>"$tmp/err"
check "GNU tar reads anyk's archive" '[ $? = 0 ] && [ ! -s "$tmp/err" ]' "$(cat "$tmp/err")"
r=$(env $imp_env python3 "$tmp/tree.py" cmp "$tmp/src" "$tmp/out1" 2>&1)
check "host -> GNU tar -> anyk tar -x -> anyk tar -c -> GNU tar -x: same tree (types, modes, owners, ns mtimes, links, data, devices)" '[ $? = 0 ]' "$r"
tar -tv --numeric-owner -f "$tmp/host.tar" >"$tmp/l1" 2>&1
tar -tv --numeric-owner -f "$tmp/back.tar" >"$tmp/l2" 2>&1
check "tar -tv of GNU tar's and anyk's archives match" 'cmp -s "$tmp/l1" "$tmp/l2"' "$(diff "$tmp/l1" "$tmp/l2" | head)"
blocks=$(python3 "$tmp/tree.py" sparse "$tmp/out1/huge")
check "the 9 GiB sparse file stays sparse through anyk's archive ($blocks blocks)" '[ "$blocks" -lt 1000 ]'
check "anyk's archive of the tree is small (sparse entries): $(stat -c %s "$tmp/back.tar") bytes" '[ $(stat -c %s "$tmp/back.tar") -lt 4000000 ]'
"$ANYK" tar -c "$img:/t" -f "$tmp/back2.tar" 2>/dev/null
check "anyk tar -c is reproducible" 'cmp -s "$tmp/back.tar" "$tmp/back2.tar"'
"$ANYK" tar -t -f "$tmp/back.tar" >"$tmp/n1" 2>&1
tar -tf "$tmp/back.tar" >"$tmp/n2" 2>&1
check "anyk tar -t lists what GNU tar lists" 'cmp -s "$tmp/n1" "$tmp/n2"' "$(diff "$tmp/n1" "$tmp/n2" | head)"
mtime=$("$ANYK" stat "$img:/t/a/b/c/data" 2>/dev/null | grep -i modify)
check "ns mtime inside the image: $mtime" 'echo "$mtime" | grep -q "\.1234567"'
r=$(e2fsck -fn "$img" 2>&1)
check "e2fsck clean after the pax import" '[ $? = 0 ]' "$r"
end=$(date +%s)
echo "# pax round trip: $((end - start)) s"

# --- other dialects GNU tar writes: GNU format (L/K names, old 'S' sparse),
# --- pax sparse 0.0 and 0.1, plain ustar -----------------------------------
for dialect in gnu pax00 pax01; do
	case $dialect in
	gnu) opts="--format=gnu -S" ;;
	pax00) opts="--format=posix -S --sparse-version=0.0" ;;
	pax01) opts="--format=posix -S --sparse-version=0.1" ;;
	esac
	rm -rf "$tmp/outd"
	mkdir "$tmp/outd"
	tar $opts --xattrs --sort=name -C "$tmp/src" -cf "$tmp/d.tar" . 2>/dev/null
	img=$tmp/$dialect.img
	"$ANYK" mkfs -q -t ext4 -b 4096 "$img" 64M >/dev/null 2>&1
	"$ANYK" tar -x "$img:/" -f "$tmp/d.tar" 2>"$tmp/err"
	rc=$?
	check "anyk tar -x reads GNU tar $opts" '[ $rc = 0 ] || only_xattr_msgs "$tmp/err"' "rc=$rc $(cat "$tmp/err")"
	"$ANYK" tar -c "$img:/" 2>/dev/null | tar --warning=no-timestamp -xpf - -C "$tmp/outd" 2>"$tmp/err"
	# The GNU format keeps no ns times, and xattrs only in pax.
	env NO_NS=1 NO_XATTR=1 python3 "$tmp/tree.py" cmp "$tmp/src" "$tmp/outd" >"$tmp/r" 2>&1
	check "$dialect: the tree comes back the same" '[ $? = 0 ]' "$(cat "$tmp/r")"
	r=$(e2fsck -fn "$img" 2>&1)
	check "$dialect: e2fsck clean" '[ $? = 0 ]' "$r"
done
mkdir "$tmp/small" "$tmp/outu"
cp -a "$tmp/src/a" "$tmp/src/fifo" "$tmp/src/rel" "$tmp/src/hard1" "$tmp/small/"
tar --format=ustar --sort=name -C "$tmp/small" -cf "$tmp/u.tar" . 2>/dev/null
img=$tmp/ustar.img
"$ANYK" mkfs -q -t ext4 "$img" 16M >/dev/null 2>&1
"$ANYK" tar -x "$img:/u" -f "$tmp/u.tar" 2>"$tmp/err"
check "anyk tar -x reads a plain ustar archive" '[ $? = 0 ] && [ ! -s "$tmp/err" ]' "$(cat "$tmp/err")"
"$ANYK" tar -c "$img:/u" 2>/dev/null | tar --warning=no-timestamp -xpf - -C "$tmp/outu" 2>/dev/null
r=$(env NO_NS=1 NO_XATTR=1 python3 "$tmp/tree.py" cmp "$tmp/small" "$tmp/outu" 2>&1)
check "ustar: the tree comes back the same" '[ $? = 0 ]' "$r"

# --- an image made by mke2fs -d archives as GNU tar archives its source ----
img=$tmp/mk.img
if mke2fs -q -F -t ext4 -b 4096 -d "$tmp/src" "$img" 64M >/dev/null 2>&1; then
	"$ANYK" tar -c "$img:/" -f "$tmp/mk.tar" 2>"$tmp/err"
	check "anyk tar -c of an mke2fs -d image" '[ $? = 0 ] && [ ! -s "$tmp/err" ]' "$(cat "$tmp/err")"
	grep -v lost+found "$tmp/l1" | sed 's/ [0-9-]* [0-9:]* \./ ./' >"$tmp/l1n"
	tar -tv --numeric-owner -f "$tmp/mk.tar" | grep -v lost+found | sed 's/ [0-9-]* [0-9:]* \./ ./' >"$tmp/l3"
	# The root directory's time is mke2fs's; the rest must match.
	check "tar -tv: anyk's archive of the image = GNU tar's of the source" 'cmp -s "$tmp/l1n" "$tmp/l3"' "$(diff "$tmp/l1n" "$tmp/l3" | head)"
	mkdir "$tmp/out2"
	tar --warning=no-timestamp --xattrs --xattrs-include='*' -xpf "$tmp/mk.tar" -C "$tmp/out2" 2>"$tmp/err"
	# mke2fs -d keeps whole seconds only, and 32 bits of them; it copies
	# xattrs.
	r=$(NO_NS=1 ANY_TIME=huge python3 "$tmp/tree.py" cmp "$tmp/src" "$tmp/out2" 2>&1)
	check "GNU tar -x of anyk's archive = the source tree (xattrs exported)" '[ $? = 0 ]' "$r"
	mkdir "$tmp/out3"
	tar --warning=no-timestamp --xattrs --xattrs-include='*' -xpf "$tmp/host.tar" -C "$tmp/out3" 2>/dev/null
	r=$(diff -r -x huge --no-dereference "$tmp/out2" "$tmp/out3" 2>&1 | grep -v 'lost+found\|is a fifo\|special file')
	check "diff -r of both extractions (huge compared above by its ends)" '[ -z "$r" ]' "$r"
else
	echo "skip - mke2fs -d: not supported here"
fi

# --- a hostile archive -------------------------------------------------------
python3 - "$tmp/evil.tar" <<'EOF'
import tarfile, io, sys
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, data=b'pwned', **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)
add('/abs/file', b'abs')
add('../escape')
add('ok/../../escape2')
add('link', type=tarfile.SYMTYPE, linkname='/etc')
add('link/passwd')
add('up', type=tarfile.SYMTYPE, linkname='..')
add('up/escape3')
add('hard', type=tarfile.LNKTYPE, linkname='/etc/passwd')
add('hard2', type=tarfile.LNKTYPE, linkname='../etc/passwd')
add('good', b'good')
t.close()
EOF
img=$tmp/evil.img
"$ANYK" mkfs -q -t ext4 "$img" 16M >/dev/null 2>&1
mkdir -p "$tmp/etcsrc/etc"
echo secret >"$tmp/etcsrc/etc/passwd"
"$ANYK" cp -r "$tmp/etcsrc/etc" "$img:/etc" >/dev/null 2>&1
"$ANYK" tar -x "$img:/t" -f "$tmp/evil.tar" 2>"$tmp/err"
rc=$?
check "hostile archive: exit status 1" '[ $rc = 1 ]' "rc=$rc"
for n in ../escape ok/../../escape2 link/passwd up/escape3 hard hard2; do
	check "hostile archive: $n reported" 'grep -q "^anyk: $n: " "$tmp/err"' "$(cat "$tmp/err")"
done
check "hostile archive: leading '/' reported" 'grep -q "leading ./." "$tmp/err"'
found=$("$ANYK" find "$img:/" 2>/dev/null | sort | tr '\n' ' ')
check "hostile archive: nothing outside /t ($found)" '[ "$found" = "/ /etc /etc/passwd /lost+found /t /t/abs /t/abs/file /t/good /t/link /t/up " ]'
check "hostile archive: /etc/passwd untouched, one link" '[ "$("$ANYK" cat "$img:/etc/passwd")" = secret ] && "$ANYK" stat "$img:/etc/passwd" | grep -q "Links: 1"' "$("$ANYK" stat "$img:/etc/passwd")"
check "hostile archive: the good file is there" '[ "$("$ANYK" cat "$img:/t/good")" = good ]'
r=$(e2fsck -fn "$img" 2>&1)
check "hostile archive: e2fsck clean" '[ $? = 0 ]' "$r"

# --- damaged archives and usage ---------------------------------------------
head -c 1000 "$tmp/back.tar" >"$tmp/cut.tar"
"$ANYK" tar -x "$img:/cut" -f "$tmp/cut.tar" 2>"$tmp/err"
check "a cut archive fails with a message" '[ $? = 1 ] && grep -q "archive:" "$tmp/err"' "$(cat "$tmp/err")"
head -c 4096 /dev/urandom >"$tmp/junk.tar"
"$ANYK" tar -t -f "$tmp/junk.tar" >/dev/null 2>"$tmp/err"
check "junk is not an archive" '[ $? = 1 ] && grep -q "checksum" "$tmp/err"' "$(cat "$tmp/err")"
# An old GNU sparse entry whose real size is not a number (found by
# tests/fuzz/tar_fuzz.c): refused, saying why.
"$ANYK" tar -t -f tests/fuzz/corpus/tar/old-gnu-sparse-bad-size >/dev/null 2>"$tmp/err"
check "a damaged sparse header is refused with its reason" '[ $? = 1 ] && grep -q "sparse header" "$tmp/err"' \
	"$(cat "$tmp/err")"
"$ANYK" tar "$img:/" >/dev/null 2>&1
check "no mode: usage error" '[ $? = 2 ]'
"$ANYK" tar -c "$tmp/src" >/dev/null 2>&1
check "a host path: usage error" '[ $? = 2 ]'
"$ANYK" tar -c "$img:/nonexistent" >/dev/null 2>"$tmp/err"
check "a missing path fails naming it" '[ $? = 1 ] && grep -q nonexistent "$tmp/err"'
"$ANYK" tar --help | grep -q "POSIX pax"
check "--help" '[ $? = 0 ]'
exit $failed
