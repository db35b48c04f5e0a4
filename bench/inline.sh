#!/bin/sh
# ext4 inline_data images: small files whose data is kept in their inodes.
# anyk linked into the benchmark process (build/bench/ext2 anyk) against the
# Linux kernel on a loop mount, each on its own copy of one image that
# mke2fs -O inline_data -d filled with 20,000 files of 40 bytes (100
# directories x 200; files and directories inline), in three phases run in
# order on that copy:
#
#   readsmall  every file opened, read whole and closed: inline reads
#   append     100 bytes appended to every file, then a sync: each one's
#              data moves out of its inode into a block (anyk's
#              ext2_inline_expand; ext4's conversion)
#   unlink     every file removed, each directory with it, then a sync
#
# Run by bench/run.sh (make bench); --quick shrinks it 10x. Needs root for
# the loop mount and dropping caches; without them the anchor is skipped.
NAME=inline
. "$(dirname "$0")/lib/common.sh"

FILES=20000
[ $QUICK = 1 ] && FILES=2000
[ -x "$HELPER" ] || { echo "bench inline: $HELPER is missing (make bench builds it)"; exit 1; }
have mke2fs e2fsprogs || exit 1

CONTENDERS=anyk
if can_loop; then CONTENDERS="$CONTENDERS kernel"; else note "no loop mounts (not root): kernel anchor skipped"; fi

# The source tree, in the layout the helper walks.
src=$WORK/src
per=$((FILES / 100))
mkdir -p "$src"
d=0
while [ $d -lt 100 ]; do
	dir=$src/$(printf 'd%03d' $d)
	mkdir "$dir"
	(cd "$dir" && i=0 && while [ $i -lt $per ]; do
		printf '%040d' $i >"$(printf 'file-%06d' $i)"
		i=$((i + 1))
	done)
	d=$((d + 1))
done
base=$WORK/base.img
if ! mke2fs -q -F -t ext4 -O inline_data -E lazy_itable_init=0,lazy_journal_init=0 -d "$src" "$base" 1G \
	>"$WORK/mkfs.out" 2>&1; then
	echo "bench inline: mke2fs -O inline_data failed: $(tail -1 "$WORK/mkfs.out")"
	exit 1
fi
rm -rf "$src"

for c in $CONTENDERS; do
	img=$WORK/$c.img mnt=$WORK/mnt
	cp "$base" "$img"
	for p in readsmall append unlink; do
		drop_caches
		if [ $c = anyk ]; then
			out=$(BENCH_FSTYPE=ext4 "$HELPER" anyk "$img" $p $FILES) || exit 1
			sec=$(field sec "$out")
		else
			mount_as kernel "$img" "$mnt" || exit 1
			out=$("$HELPER" host "$mnt" $p $FILES) || exit 1
			unmount_as kernel "$mnt"
			sec=$(add "$(field sec "$out")" "$UNMOUNT_SEC")
		fi
		eval "T_${c}_$p=$sec"
	done
	if ! e2fsck -fn "$img" >"$WORK/fsck.out" 2>&1; then
		note "e2fsck found problems in the image $c left: $(grep -v '^e2fsck\|^Pass' "$WORK/fsck.out" | head -3 | tr '\n' ' ')"
	fi
	rm -f "$img"
done

get() { eval "echo \${$1_$2_$3:-}"; }
echo "# method: one ext4 image, mke2fs -t ext4 -O inline_data -E lazy_itable_init=0,"
echo "# lazy_journal_init=0 -d of $FILES 40-byte files in 100 directories, 1 GiB, in a"
echo "# file on the host's disk ($(df -P "$WORK" | awk 'NR==2 { print $1 }'), $(findmnt -no FSTYPE -T "$WORK" 2>/dev/null)); each contender"
echo "# runs the three phases in order on its own copy. Before each phase: sync; echo 3 >"
echo "# /proc/sys/vm/drop_caches; mount. A phase is timed from its first call to the end"
echo "# of its unmount. anyk: the benchmark process itself (build/bench/ext2 anyk); kernel:"
echo "# mount -o loop. Ratios are kernel time / anyk time: above 1 means anyk is faster."
load_note
printf '%s' "$NOTES"
for p in readsmall append unlink; do
	a=$(get T anyk $p) k=$(get T kernel $p)
	printf 'inline %s %d files: anyk %s s | kernel loop %s s | vs kernel %s\n' \
	    "$p" "$FILES" "$a" "${k:-n/a}" "$(ratio "$k" "$a")"
done
