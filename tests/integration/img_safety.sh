#!/bin/sh
# Extraction safety of "anyk cp -r IMAGE:/ DIR" against a hostile image made
# here with debugfs and by editing directory entries directly: absolute and
# escaping symbolic links (also through a chain of harmless-looking links),
# device nodes, a name holding '/', a second ".." entry, and a destination
# whose parent directory is a symlink planted on the host. Nothing may be
# written outside DIR, each left-out entry is reported, and the exit status
# is 1. Writing into an image never leaves it: absolute links resolve inside
# the image, not in the kernel's /dev or root tmpfs.
T_NAME=img_safety
. "$(dirname "$0")/../lib.sh"
need_tools mke2fs debugfs python3
need_built "$ANYK"
t_tmpdir

mkdir -p "$tmp/src/d" "$tmp/outside"
echo ok >"$tmp/src/d/file"
echo secret >"$tmp/src/aQb"
echo x >"$tmp/src/ZZZZ"
img=$tmp/mal.img
mke2fs -q -F -t ext2 -O ^dir_index -d "$tmp/src" "$img" 4M >/dev/null 2>&1
esc=$(echo "$tmp" | sed 's|^/||; s|[^/]*|..|g')
debugfs -w "$img" -f - >/dev/null 2>&1 <<EOF
symlink abs /etc/passwd
symlink esc ../../../../../../../../..$tmp/outside/pwned
symlink dot .
symlink up dot/..
symlink d/deep ../../x
symlink d/fine ../d/file
symlink d/updir ..
mknod cdev c 1 3
mknod bdev b 7 0
mknod fifo p
EOF
# Directory entries edited in place (ext2 has no checksums to fix): "aQb"
# becomes "a/b", "ZZZZ" becomes a second "..". An entry is inode(4)
# rec_len(2) name_len(1) file_type(1) name.
python3 - "$img" <<'EOF'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
i = d.find(b'\x03\x01aQb')
assert i > 0
d[i + 3] = ord('/')
j = d.find(b'\x04\x01ZZZZ')
assert j > 0
d[j] = 2
d[j + 2:j + 6] = b'..\0\0'
open(p, 'wb').write(d)
EOF

out=$tmp/out
"$ANYK" cp -r "$img:/" "$out" >"$tmp/stdout" 2>"$tmp/err"
rc=$?
err=$(cat "$tmp/err")
check "hostile extraction exits 1" '[ $rc = 1 ]' "rc=$rc $err"
check "nothing written outside" '[ -z "$(ls -A "$tmp/outside")" ] && [ ! -e "$tmp/x" ]'
check "absolute symlink skipped" '[ ! -e "$out/abs" ] && [ ! -L "$out/abs" ]'
check "escaping symlink skipped" '[ ! -L "$out/esc" ]'
check "escape through a chain of links skipped" '[ ! -L "$out/up" ]'
check "escaping link in a subdirectory skipped" '[ ! -L "$out/d/deep" ]'
check "safe links kept" '[ "$(readlink "$out/dot")" = . ] && [ "$(readlink "$out/d/fine")" = ../d/file ] && [ "$(readlink "$out/d/updir")" = .. ]'
check "regular files extracted" '[ "$(cat "$out/d/file")" = ok ]'
check "fifo extracted" '[ -p "$out/fifo" ]'
if [ "$(id -u)" = 0 ]; then
	check "device nodes skipped without --devices" '[ ! -e "$out/cdev" ] && [ ! -e "$out/bdev" ]'
else
	check "device nodes skipped (not root)" '[ ! -e "$out/cdev" ] && [ ! -e "$out/bdev" ]'
fi
check "name with '/' not extracted" '[ ! -e "$out/a" ] && [ ! -e "$out/b" ] && [ ! -e "$tmp/b" ]'
for what in abs esc up d/deep cdev bdev; do
	check "skip of $what reported" 'printf "%s" "$err" | grep -q "$out/$what: skipped"' "$err"
done
check "skip count reported" 'printf "%s" "$err" | grep -q "entries skipped"' "$err"

if [ "$(id -u)" = 0 ]; then
	out2=$tmp/out2
	"$ANYK" cp -r --devices "$img:/" "$out2" >/dev/null 2>&1
	check "--devices as root makes device nodes" '[ -c "$out2/cdev" ] && [ -b "$out2/bdev" ]'
	rm -rf "$out2"
fi

# A destination below a host symlink that points outside: the copy goes
# into what the user named, and no entry of the image follows a link.
mkdir -p "$tmp/dest"
ln -s "$tmp/outside" "$tmp/dest/d"
"$ANYK" cp -r "$img:/" "$tmp/dest" >/dev/null 2>"$tmp/err2"
check "existing symlinked directory in the destination not followed" \
	'[ ! -e "$tmp/outside/file" ] && grep -q "not followed" "$tmp/err2"' "$(cat "$tmp/err2")"

# Writing into an image: absolute links and .. stay inside the image.
good=$tmp/good.img
mkdir -p "$tmp/gsrc/etc"
echo inside >"$tmp/gsrc/etc/motd"
mke2fs -q -F -t ext4 -d "$tmp/gsrc" "$good" 8M >/dev/null 2>&1
"$ANYK" ln -s /dev "$good:/devlink" 2>/dev/null
"$ANYK" ln -s /etc "$good:/etclink" 2>/dev/null
echo payload >"$tmp/payload"
"$ANYK" cp "$tmp/payload" "$good:/devlink/zero" >/dev/null 2>&1
r1=$?
check "write through an absolute link stays in the image" '[ $r1 = 1 ] || [ "$("$ANYK" cat "$good:/dev/zero" 2>/dev/null)" = payload ]'
check "absolute link resolves to the image's own /etc" '[ "$("$ANYK" cat "$good:/etclink/motd")" = inside ]'
check "dot-dot above the root stays at the image root" '[ "$("$ANYK" cat "$good:/../../etc/motd")" = inside ]'
r2=$("$ANYK" ls "$good:/../../" 2>&1)
check "the kernel's root tmpfs is not reachable" '! printf "%s" "$r2" | grep -qx img' "$r2"
check "image still clean" 'e2fsck -fn "$good" >/dev/null 2>&1'
exit $failed
