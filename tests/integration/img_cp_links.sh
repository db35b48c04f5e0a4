#!/bin/sh
# "anyk cp -r IMAGE:/dir DIR" decides about each symbolic link while it
# copies: an unsafe one (absolute, escaping the copied tree directly or
# through the image's own links, or through a link the host destination
# already has) is never made on the host, not even for a moment, which is
# watched here by tracing every symlink call the process makes. Also: a
# symbolic link hard-linked into two directories is judged in each, the
# copy of a subtree judges against that subtree, and modes, owners, hard
# links and holes come out as they were.
T_NAME=img_cp_links
. "$(dirname "$0")/../lib.sh"
need_tools mke2fs debugfs
need_built "$ANYK"
t_tmpdir

mkdir -p "$tmp/src/t/d/e" "$tmp/src/t/sub" "$tmp/outside"
echo top >"$tmp/src/t/file"
echo deep >"$tmp/src/t/d/e/f"
img=$tmp/l.img
mke2fs -q -F -t ext4 -d "$tmp/src" "$img" 8M >/dev/null 2>&1 || { echo "not ok - mke2fs"; exit 1; }
# d/rel is harmless where it stands (t/file); its second name t/hl (a hard
# link to the same inode) leads out of t. via leads through t/sub, which
# the host destination will already have as a link to outside.
debugfs -w "$img" -f - >/dev/null 2>&1 <<EOF
symlink /t/abs /etc/passwd
symlink /t/esc ../../outside/x
symlink /t/dot .
symlink /t/up dot/..
symlink /t/d/e/deep ../../../x
symlink /t/d/e/ok ../../file
symlink /t/d/rel ../file
symlink /t/via sub/x
symlink /t/loop1 loop2
symlink /t/loop2 loop1/..
EOF
ino=$(debugfs -R "stat /t/d/rel" "$img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
debugfs -w "$img" -f - >/dev/null 2>&1 <<EOF
ln <$ino> /t/hl
sif <$ino> links_count 2
EOF
e2fsck -fn "$img" >/dev/null 2>&1 || echo "# note: e2fsck complains about the test image"

out=$tmp/out
mkdir -p "$out/t"
ln -s "$tmp/outside" "$out/t/sub"
trace=""
if command -v strace >/dev/null 2>&1; then
	trace=$tmp/trace
	strace -f -qq -e trace=symlink,symlinkat -o "$trace" "$ANYK" cp -r "$img:/t" "$out" >/dev/null 2>"$tmp/err"
else
	"$ANYK" cp -r "$img:/t" "$out" >/dev/null 2>"$tmp/err"
fi
rc=$?
err=$(cat "$tmp/err")
check "unsafe links make the copy exit 1" '[ $rc = 1 ]' "rc=$rc $err"
for l in abs esc up d/e/deep hl via; do
	check "$l not made" '[ ! -L "$out/t/$l" ] && [ ! -e "$out/t/$l" ]'
	check "$l reported" 'printf "%s\n" "$err" | grep -q "$out/t/$l: skipped: symbolic link leading outside"' "$err"
done
check "a loop of links is left out" '[ ! -L "$out/t/loop1" ] && [ ! -L "$out/t/loop2" ]'
check "safe links made" '[ "$(readlink "$out/t/dot")" = . ] && [ "$(readlink "$out/t/d/e/ok")" = ../../file ] &&
	[ "$(readlink "$out/t/d/rel")" = ../file ]'
check "nothing outside" '[ -z "$(ls -A "$tmp/outside")" ]'
if [ -n "$trace" ]; then
	made=$(grep -o 'symlink[a-z]*("[^"]*"' "$trace" | sed 's/^[a-z]*("//; s/"$//' | LC_ALL=C sort | tr '\n' ' ')
	check "only safe targets ever passed to symlink (traced)" '[ "$made" = ". ../../file ../file " ]' "made: $made"
else
	echo "skip - symlink calls traced (strace missing)"
fi

# A subtree: d/rel's "../file" climbs out of d, so it is left out there.
out2=$tmp/out2
"$ANYK" cp -r "$img:/t/d" "$out2" >/dev/null 2>"$tmp/err2"
rc=$?
check "subtree: a link out of it is left out" '[ $rc = 1 ] && [ ! -L "$out2/rel" ] && [ ! -L "$out2/e/ok" ] && [ -f "$out2/e/f" ]' \
	"rc=$rc $(cat "$tmp/err2")"

# Modes, owners (as root), hard links, holes, times: kept by -rp.
mkdir -p "$tmp/m/x"
printf a >"$tmp/m/x/m644"; chmod 644 "$tmp/m/x/m644"
printf b >"$tmp/m/x/m640"; chmod 640 "$tmp/m/x/m640"
printf c >"$tmp/m/x/m4755"; chmod 4755 "$tmp/m/x/m4755"
printf d >"$tmp/m/x/m400"; chmod 400 "$tmp/m/x/m400"
ln "$tmp/m/x/m644" "$tmp/m/x/hard"
dd if=/dev/zero of="$tmp/m/x/holes" bs=1k seek=300 count=1 >/dev/null 2>&1
truncate -s 1M "$tmp/m/x/holes"
touch -d "2001-02-03 04:05:06.789" "$tmp/m/x/m640"
if [ "$(id -u)" = 0 ]; then
	chown 1234:5678 "$tmp/m/x/m640" "$tmp/m/x/m4755"
	chmod 4755 "$tmp/m/x/m4755"
fi
img2=$tmp/m.img
mke2fs -q -F -t ext4 -I 256 -d "$tmp/m" "$img2" 8M >/dev/null 2>&1
mkdir "$tmp/mo"
"$ANYK" cp -rp "$img2:/x" "$tmp/mo" >/dev/null 2>"$tmp/err3"
rc=$?
check "-rp copy succeeds" '[ $rc = 0 ]' "$(cat "$tmp/err3")"
modes=$(cd "$tmp/mo/x" && stat -c '%n %a' m644 m640 m4755 m400 | tr '\n' ' ')
check "modes kept" '[ "$modes" = "m644 644 m640 640 m4755 4755 m400 400 " ]' "$modes"
if [ "$(id -u)" = 0 ]; then
	owners=$(cd "$tmp/mo/x" && stat -c '%n %u:%g' m640 m4755 m644 | tr '\n' ' ')
	check "owners kept" '[ "$owners" = "m640 1234:5678 m4755 1234:5678 m644 0:0 " ]' "$owners"
else
	echo "skip - owners kept (not root)"
fi
check "hard link kept" '[ "$(stat -c %i "$tmp/mo/x/hard")" = "$(stat -c %i "$tmp/mo/x/m644")" ]'
check "holes kept, size exact" '[ "$(stat -c %s "$tmp/mo/x/holes")" = 1048576 ] && [ "$(du -k "$tmp/mo/x/holes" | cut -f1)" -lt 100 ] &&
	cmp -s "$tmp/m/x/holes" "$tmp/mo/x/holes"'
check "times kept (mke2fs -d keeps seconds)" '[ "$(stat -c %Y "$tmp/mo/x/m640")" = "$(stat -c %Y "$tmp/m/x/m640")" ]'
check "contents kept" 'diff -r "$tmp/m/x" "$tmp/mo/x" >/dev/null'

# Copying again into the same place fails on each file and leaves them;
# with -f every file is replaced (hard links too).
echo changed >"$tmp/mo/x/m644"
"$ANYK" cp -rp "$img2:/x" "$tmp/mo" >/dev/null 2>&1
rc=$?
check "existing files kept without -f" '[ $rc = 1 ] && [ "$(cat "$tmp/mo/x/m644")" = changed ]'
echo changed >"$tmp/mo/x/m400"
"$ANYK" cp -rpf "$img2:/x" "$tmp/mo" >/dev/null 2>"$tmp/err4"
rc=$?
check "-f replaces them" '[ $rc = 0 ] && [ "$(cat "$tmp/mo/x/m644")" = a ] && diff -r "$tmp/m/x" "$tmp/mo/x" >/dev/null &&
	[ "$(stat -c %i "$tmp/mo/x/hard")" = "$(stat -c %i "$tmp/mo/x/m644")" ]' "rc=$rc $(cat "$tmp/err4")"
check "--progress on a pipe works" '"$ANYK" cp -r --progress "$img2:/x" "$tmp/pout" 2>/dev/null && diff -r "$tmp/m/x" "$tmp/pout" >/dev/null'
exit $failed
