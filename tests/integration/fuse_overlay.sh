#!/bin/sh
# An anyk FUSE mount as the upper layer of a Linux overlay: removing and
# renaming lower files leaves whiteouts (RENAME_WHITEOUT through FUSE),
# a directory made over a removed one is opaque (a trusted.* xattr),
# changing a lower file copies it up with its xattrs. The merged view must
# be what was done, again after the overlay is mounted anew, and the
# image must then be e2fsck-clean.
T_NAME=fuse_overlay
. "$(dirname "$0")/../lib.sh"

need_built "$ANYK"
"$ANYK" help mount >/dev/null 2>&1 || skip_all "the tool was built without libfuse3"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip_all "overlay mounts need root"
need_tools mke2fs e2fsck setfattr getfattr
grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems 2>/dev/null || skip_all "the host kernel has no overlay file system"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-ovl.XXXXXX") || exit 1
cleanup() {
	mountpoint -q "$tmp/merged" 2>/dev/null && umount -l "$tmp/merged" 2>/dev/null
	mountpoint -q "$tmp/up" 2>/dev/null && umount -l "$tmp/up" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$tmp/lower" "$tmp/up" "$tmp/merged"
L=$tmp/lower M=$tmp/merged
echo one >"$L/gone"
echo two >"$L/moved"
echo three >"$L/changed"
setfattr -n user.tag -v kept "$L/changed"
mkdir -p "$L/dir/sub"
echo four >"$L/dir/sub/deep"

mke2fs -q -F -t ext4 "$tmp/img" 64M >/dev/null 2>&1 || { echo "not ok - mke2fs"; exit 1; }
run_check "anyk mount" timeout 20 "$ANYK" mount "$tmp/img" "$tmp/up" || exit 1
mkdir "$tmp/up/upper" "$tmp/up/work"
ovl() { mount -t overlay overlay -o "lowerdir=$L,upperdir=$tmp/up/upper,workdir=$tmp/up/work" "$M"; }
if ! ovl 2>"$tmp/err"; then
	# An overlay refuses an upper layer it cannot use: that is anyk's failure.
	echo "not ok - overlay mount with the anyk mount as its upper layer"
	sed 's/^/#   /' "$tmp/err"; dmesg 2>/dev/null | grep -i overlay | tail -5 | sed 's/^/#   /'
	exit 1
fi
echo "ok - overlay mount with the anyk mount as its upper layer"

run_check "remove a lower file" rm "$M/gone"
run_check "rename a lower file" mv "$M/moved" "$M/renamed"
run_check "change a lower file" sh -c "echo more >>'$M/changed'"
run_check "replace a lower directory" sh -c "rm -r '$M/dir' && mkdir '$M/dir' && echo new >'$M/dir/fresh'"
run_check "a new file" sh -c "echo five >'$M/new'"

check_view() { # WHEN
	check "$1: the removed file is gone" "! test -e '$M/gone'"
	check "$1: the renamed file moved" "! test -e '$M/moved' && test \"\$(cat '$M/renamed')\" = two"
	check "$1: the changed file" "test \"\$(cat '$M/changed')\" = 'three
more'"
	check "$1: the copy-up kept the xattr" "test \"\$(getfattr --only-values -n user.tag '$M/changed' 2>/dev/null)\" = kept"
	check "$1: the new directory hides the old one's entries" "test \"\$(ls '$M/dir')\" = fresh"
	check "$1: the new file" "test \"\$(cat '$M/new')\" = five"
	check "$1: the lower layer is untouched" "test -e '$L/gone' && test -e '$L/moved' && test -e '$L/dir/sub/deep' && test \"\$(cat '$L/changed')\" = three"
}
check_view "mounted"
# What the overlay keeps in the upper layer for that: whiteouts (0/0
# character devices) and the opaque mark on the new directory.
check "whiteouts in the upper layer" "test -c '$tmp/up/upper/gone' && test -c '$tmp/up/upper/moved'"
check "the new directory is opaque" \
	"getfattr -n trusted.overlay.opaque --only-values '$tmp/up/upper/dir' 2>/dev/null | grep -q y"

run_check "overlay unmount" umount "$M"
run_check "overlay mounted again" ovl
check_view "mounted again"
run_check "overlay unmount again" umount "$M"
run_check "anyk umount" timeout 30 "$ANYK" umount "$tmp/up"
run_check "e2fsck -fn clean" e2fsck -fn "$tmp/img"
exit $failed
