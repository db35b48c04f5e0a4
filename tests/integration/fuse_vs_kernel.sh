#!/bin/sh
# The same scenarios (fsprobe.py: about 180 of them, as root and as other
# users) on two copies of one fresh ext4 image: through the Linux kernel's
# loop mount and through an anyk FUSE mount (with allow_other, so the host
# checks permissions and ACLs as for a local file system). Every answer
# must be the kernel's. Then the image anyk wrote must be e2fsck-clean.
T_NAME=fuse_vs_kernel
. "$(dirname "$0")/../lib.sh"
PROBE=$(dirname "$0")/fsprobe.py

need_built "$ANYK"
"$ANYK" help mount >/dev/null 2>&1 || skip_all "the tool was built without libfuse3"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip_all "the kernel's loop mount and the other users' checks need root"
need_tools mke2fs e2fsck python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-fvk.XXXXXX") || exit 1
cleanup() {
	for d in "$tmp/k" "$tmp/a"; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
chmod 755 "$tmp"
mkdir "$tmp/k" "$tmp/a"

mke2fs -q -F -t ext4 "$tmp/k.img" 256M >/dev/null 2>&1 || { echo "not ok - mke2fs"; exit 1; }
cp "$tmp/k.img" "$tmp/a.img"
if ! timeout 20 mount -o loop "$tmp/k.img" "$tmp/k" 2>/dev/null; then
	skip_all "no loop mounts here"
fi
timeout 300 python3 "$PROBE" "$tmp/k" >"$tmp/k.out" 2>&1
umount "$tmp/k"
run_check "anyk mount -o allow_other" timeout 20 "$ANYK" mount -o allow_other "$tmp/a.img" "$tmp/a" || exit 1
timeout 300 python3 "$PROBE" "$tmp/a" >"$tmp/a.out" 2>&1
run_check "anyk umount" timeout 30 "$ANYK" umount "$tmp/a"

n=$(grep -c . "$tmp/k.out")
run_check "the kernel answered every scenario ($n lines)" test "$n" -ge 150
failed=0
while IFS= read -r line; do
	name=${line%%:*}
	theirs=$(awk -v n="$name: " 'index($0, n) == 1 { print; exit }' "$tmp/a.out")
	if [ "$theirs" = "$line" ]; then
		echo "ok - $name: ${line#*: }"
	else
		echo "not ok - $name: kernel '${line#*: }', anyk '${theirs#*: }'"
		failed=1
	fi
done <"$tmp/k.out"
run_check "e2fsck -fn clean after the probe" e2fsck -fn "$tmp/a.img"
exit $failed
