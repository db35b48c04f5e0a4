#!/bin/sh
# Image tool benchmarks: copying a tree out of and into an ext4 image with
# `anyk cp -rp`, against debugfs (rdump out; a scripted mkdir/write/symlink
# per entry in) and against the Linux kernel (mount -o loop, cp -a, umount).
# The tree is a copy of /usr/include (--quick: /usr/include/linux) kept in
# tmpfs so every contender reads the same source.
#
# Run by bench/run.sh (make bench). Needs root for the loop mount and for
# dropping caches; what cannot be had is skipped with a note.
NAME=image
. "$(dirname "$0")/lib/common.sh"

TREE=/usr/include IMGSIZE=1G
[ $QUICK = 1 ] && TREE=/usr/include/linux
[ -x "$ANYK" ] || { echo "bench image: $ANYK is missing (make bench builds it)"; exit 1; }
have mke2fs e2fsprogs || exit 1
DEBUGFS=1 LOOP=1
have debugfs e2fsprogs || DEBUGFS=0
can_loop || { LOOP=0; note "no loop mounts (not root): kernel anchor skipped"; }

SRC=$WORK/src
shm=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 { print $4 }')
[ -n "$shm" ] && [ "$shm" -gt 2000000 ] && SRC=$(mktemp -d /dev/shm/anyk-bench-src.XXXXXX) && EXTRA_DIRS=$SRC
mkdir -p "$SRC/stage"
cp -a "$TREE" "$SRC/stage/dir" || exit 1
# anyk cp leaves out, by design, symbolic links that lead outside the copy
# (absolute or climbing out); drop them so every contender copies the same.
dropped=0
find "$SRC/stage/dir" -type l >"$WORK/links"
while IFS= read -r l; do
	case $(readlink "$l") in
	/*) rm -f "$l"; dropped=$((dropped + 1)) ;;
	*) case $(realpath -m "$(dirname "$l")/$(readlink "$l")") in
		"$SRC/stage/dir"/*) ;;
		*) rm -f "$l"; dropped=$((dropped + 1)) ;;
		esac ;;
	esac
done <"$WORK/links"
entries=$(find "$SRC/stage/dir" | wc -l) size=$(du -sm "$SRC/stage/dir" | cut -f1)
OUT=$WORK/out M=$WORK/mnt
mkdir -p "$M"

# done_check WHAT DIR: the copy matches the source (contents, types, links).
same_tree() {
	if ! diff -r --no-dereference "$SRC/stage/dir" "$1" >/dev/null 2>&1; then
		note "$2: the copy differs from the source ($(diff -rq --no-dereference "$SRC/stage/dir" "$1" 2>&1 | head -2 | tr '\n' ' '))"
	fi
}
fsck_note() {
	e2fsck -fn "$1" >"$WORK/fsck.out" 2>&1 ||
		note "e2fsck found problems after $2: $(grep -v '^e2fsck\|^Pass' "$WORK/fsck.out" | head -3 | tr '\n' ' ')"
}

# --- out of an image -------------------------------------------------------

IMG=$WORK/src.img
truncate -s $IMGSIZE "$IMG"
mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 -d "$SRC/stage" "$IMG" || exit 1

copy_out() { # CONTENDER: sets T
	rm -rf "$OUT"
	mkdir -p "$OUT"
	drop_caches
	t0=$(now)
	case $1 in
	anyk) "$ANYK" cp -rp "$IMG:/dir" "$OUT/" >"$WORK/err" 2>&1 ;;
	debugfs) debugfs -R "rdump /dir $OUT" "$IMG" >"$WORK/err" 2>&1 ;;
	kernel) mount -o loop,ro "$IMG" "$M" && MOUNTS="$M:- $MOUNTS" &&
		cp -a "$M/dir" "$OUT/" && umount "$M" ;;
	esac
	st=$?
	T=$(elapsed "$t0" "$(now)")
	[ $st = 0 ] || { note "$1 copy out failed: $(head -2 "$WORK/err" | tr '\n' ' ')"; T=""; }
	mountpoint -q "$M" && umount "$M"
	same_tree "$OUT/dir" "$1 copy out"
}

# Each copy takes a second or two, so the best of ROUNDS alternating rounds
# is cheap and keeps a busy machine's hiccups out of the ratios.
ROUNDS=3
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "" || a < b) print a; else print b }'; }
out_anyk="" out_debugfs="" out_kernel=""
r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	copy_out anyk; out_anyk=$(min "$out_anyk" "$T")
	[ $DEBUGFS = 1 ] && { copy_out debugfs; out_debugfs=$(min "$out_debugfs" "$T"); }
	[ $LOOP = 1 ] && { copy_out kernel; out_kernel=$(min "$out_kernel" "$T"); }
done
rm -rf "$OUT" "$IMG"

# --- into an image ---------------------------------------------------------

# The debugfs script: one command per entry, parents first (find's order).
(cd "$SRC/stage" && find dir -mindepth 0) | while IFS= read -r p; do
	h=$SRC/stage/$p
	if [ -L "$h" ]; then
		echo "symlink \"/$p\" \"$(readlink "$h")\""
	elif [ -d "$h" ]; then
		echo "mkdir \"/$p\""
	elif [ -f "$h" ]; then
		echo "write \"$h\" \"/$p\""
	fi
done >"$WORK/debugfs.cmds"

copy_in() { # CONTENDER: sets T (the image fsynced at the end)
	img=$WORK/in.img
	fresh_image "$img" $IMGSIZE || exit 1
	drop_caches
	t0=$(now)
	case $1 in
	anyk) "$ANYK" cp -rp "$SRC/stage/dir" "$img:/" >"$WORK/err" 2>&1 ;;
	debugfs) debugfs -w -f "$WORK/debugfs.cmds" "$img" >"$WORK/err" 2>&1 &&
		! grep -v '^debugfs: \|^Allocated inode\|^debugfs [0-9]' "$WORK/err" | grep -q . ;;
	kernel) mount -o loop "$img" "$M" && MOUNTS="$M:- $MOUNTS" &&
		cp -a "$SRC/stage/dir" "$M/" && umount "$M" ;;
	esac
	st=$?
	sync "$img"
	T=$(elapsed "$t0" "$(now)")
	[ $st = 0 ] || { note "$1 copy in failed: $(grep -v '^debugfs: \|^Allocated inode\|^debugfs [0-9]' "$WORK/err" | head -2 | tr '\n' ' ')"; T=""; }
	mountpoint -q "$M" && umount "$M"
	fsck_note "$img" "$1 copy in"
	if [ $LOOP = 1 ]; then
		mount -o loop,ro "$img" "$M" && MOUNTS="$M:- $MOUNTS" && same_tree "$M/dir" "$1 copy in"
		mountpoint -q "$M" && umount "$M"
	fi
	rm -f "$img"
}

in_anyk="" in_debugfs="" in_kernel=""
r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	copy_in anyk; in_anyk=$(min "$in_anyk" "$T")
	[ $DEBUGFS = 1 ] && { copy_in debugfs; in_debugfs=$(min "$in_debugfs" "$T"); }
	[ $LOOP = 1 ] && { copy_in kernel; in_kernel=$(min "$in_kernel" "$T"); }
done

echo "# method: the tree ($entries entries, $size MiB, a copy of $TREE less $dropped symbolic"
echo "# links that lead outside it, which anyk cp leaves out by design) sits in"
echo "# tmpfs. Out: one ext4 image made by mke2fs -d, copied into an empty host directory"
echo "# by each contender. In: a fresh image per contender (mke2fs -t ext4 -E"
echo "# lazy_itable_init=0,lazy_journal_init=0, $IMGSIZE), the image file fsynced at the"
echo "# end (timed). Caches $CACHES before each copy. Best of $ROUNDS alternating"
echo "# rounds. Times cover the whole command: anyk boots, attaches, mounts, copies and"
echo "# unmounts; the kernel anchor is mount -o loop + cp -a + umount. debugfs write"
echo "# keeps less than cp -a and anyk cp -p do (no times), so it does a little less work."
echo "# Copies are compared with diff -r; images are checked with e2fsck -fn. Ratios are"
echo "# anchor time / anyk time: above 1 means anyk is faster."
load_note
printf '%s' "$NOTES"
echo "image out ($entries entries, $size MiB): anyk cp -rp $out_anyk s | debugfs rdump ${out_debugfs:-n/a} s | loop mount + cp -a ${out_kernel:-n/a} s | vs debugfs $(ratio "$out_debugfs" "$out_anyk") (target > 1x) | vs loop $(ratio "$out_kernel" "$out_anyk") (target >= 0.8x)"
echo "image in ($entries entries, $size MiB): anyk cp -rp $in_anyk s | debugfs mkdir/write ${in_debugfs:-n/a} s | loop mount + cp -a ${in_kernel:-n/a} s | vs debugfs $(ratio "$in_debugfs" "$in_anyk") (target > 1x) | vs loop $(ratio "$in_kernel" "$in_anyk") (target >= 0.8x)"
