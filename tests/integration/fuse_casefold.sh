#!/bin/sh
# Case-insensitive directories (ext4 casefold) through anyk mount: chattr +F
# through the FUSE ioctl, names found under any spelling that folds alike,
# and none of the host's directory cache standing in the way: a spelling
# looked up and missing is found the moment another spelling is made, and
# gone the moment it is removed. Afterwards e2fsck finds the image clean
# (it checks the index hashes of folded names).
T_NAME=fuse_casefold
. "$(dirname "$0")/../lib.sh"

need_built "$ANYK"
"$ANYK" help mount >/dev/null 2>&1 || skip_all "the tool was built without libfuse3"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
need_tools mke2fs e2fsck chattr lsattr stat
t_tmpdir
mnt=$tmp/mnt
mkdir "$mnt"
trap 'umount -l "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
img=$tmp/img
mke2fs -q -F -t ext4 -O casefold -E encoding=utf8 "$img" 64M >/dev/null 2>&1 ||
	skip_all "mke2fs cannot make casefold file systems"
if ! timeout 20 "$ANYK" mount "$img" "$mnt" 2>"$tmp/err"; then
	fail "mount" "$(cat "$tmp/err")"
	exit 1
fi
d=$mnt/d
mkdir "$d"
run_check "chattr +F through the mount" chattr +F "$d"
check "lsattr shows the flag" 'lsattr -d "$d" | grep -q "^[^ ]*F"'
: >"$d/Foo"
check "a name is found under another case" '[ "$(stat -c %i "$d/FOO")" = "$(stat -c %i "$d/Foo")" ]'
check "the directory lists the name as made" '[ "$(ls "$d")" = "Foo" ]'
check "creating another spelling finds the file" '! (set -C; : >"$d/fOO") 2>/dev/null'
check "a missing spelling..." '! stat "$d/BAR" >/dev/null 2>&1'
: >"$d/bar"
check "...is there once another spelling is made" 'stat "$d/BAR" >/dev/null 2>&1'
stat "$d/FOO" >/dev/null
rm "$d/foo"
check "a spelling seen before is gone with the file" '! stat "$d/FOO" >/dev/null 2>&1 && ! stat "$d/Foo" >/dev/null 2>&1'
check "rename by another spelling" 'mv "$d/BAR" "$d/baz" && [ "$(ls "$d")" = "baz" ]'
printf 'x' >"$d/Stra$(printf '\303\237')e"
check "full folding: sharp s is ss" '[ "$(cat "$d/STRASSE")" = x ]'
mkdir "$d/Sub"
check "subdirectories inherit the flag" 'lsattr -d "$d/SUB" | grep -q "^[^ ]*F"'
check "chattr -F of a directory with entries is refused" '! chattr -F "$d" 2>/dev/null'
mkdir "$mnt/plain"
: >"$mnt/plain/Foo"
check "other directories keep case" '! stat "$mnt/plain/FOO" >/dev/null 2>&1'
for i in $(seq 1 300); do : >"$d/File-$i-$(printf '\303\211')t$(printf '\303\251')"; done
check "300 names, each found under upper case" \
	'n=0; for i in $(seq 1 300); do stat "$d/FILE-$i-$(printf "\303\251")T$(printf "\303\211")" >/dev/null 2>&1 && n=$((n+1)); done; [ $n = 300 ]'
"$ANYK" umount "$mnt" 2>"$tmp/err" || umount "$mnt"
for i in $(seq 1 50); do mountpoint -q "$mnt" || break; sleep 0.1; done
if e2fsck -fn "$img" >"$tmp/fsck" 2>&1; then
	pass "e2fsck -fn clean after the writes"
else
	fail "e2fsck -fn clean after the writes" "$(cat "$tmp/fsck")"
fi
exit $failed
