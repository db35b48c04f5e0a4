#!/bin/sh
# ext2/3/4 driver benchmarks: anyk linked into the benchmark process (the
# public API: anyk_disk_attach, anyk_sys_mount, anyk_sys_*) against the Linux
# kernel on a loop mount and against fuse2fs, on the same kind of ext4 image:
#
#   seqio     1 GiB written in 1 MiB calls and fsynced, then read back;
#             twice, the faster pass of each kept
#   meta      100,000 files (100 directories x 1,000): create, stat, unlink
#   populate  an image filled from a 50,000-file tree (the first files of
#             /usr, copied to a tmpfs first): anyk mkfs -d vs mke2fs -d
#
# Run by bench/run.sh (make bench); --quick shrinks every workload ~10x.
# Needs root for the loop mount, fuse2fs and dropping caches; what cannot be
# had is skipped with a note.
NAME=ext2
. "$(dirname "$0")/lib/common.sh"

FILES=100000 MIB=1024 POP=50000 IMGSIZE=4G POPSIZE=8G
[ $QUICK = 1 ] && FILES=10000 MIB=128 POP=5000 POPSIZE=2G
for f in "$HELPER" "$ANYK"; do
	[ -x "$f" ] || { echo "bench ext2: $f is missing (make bench builds it)"; exit 1; }
done
have mke2fs e2fsprogs || exit 1

CONTENDERS=anyk
if can_loop; then CONTENDERS="$CONTENDERS kernel"; else note "no loop mounts (not root): kernel anchor skipped"; fi
if can_fuse && is_root && have fuse2fs fuse2fs; then CONTENDERS="$CONTENDERS fuse2fs"; else note "fuse2fs anchor skipped"; fi

# --- seqio and meta, one contender at a time -------------------------------

phase_arg() { case $1 in seq*) echo "$MIB" ;; *) echo "$FILES" ;; esac; }

for c in $CONTENDERS; do
	img=$WORK/$c.img mnt=$WORK/mnt
	fresh_image "$img" $IMGSIZE || exit 1
	# The disk's speed varies from one 1 GiB pass to the next: the
	# sequential phases run twice (write, read, write, read) and keep
	# the faster of each; the metadata phases run once.
	for p in seqwrite seqread seqwrite seqread create stat unlink; do
		drop_caches
		if [ $c = anyk ]; then
			out=$(BENCH_FSTYPE=ext4 "$HELPER" anyk "$img" $p "$(phase_arg $p)") || exit 1
			sec=$(field sec "$out") rss=$(field rss_kib "$out")
		else
			mount_as $c "$img" "$mnt" || exit 1
			out=$("$HELPER" host "$mnt" $p "$(phase_arg $p)") || exit 1
			unmount_as $c "$mnt"
			sec=$(add "$(field sec "$out")" "$UNMOUNT_SEC")
			rss=-
			[ $c = fuse2fs ] && rss=$(server_rss "$mnt")
		fi
		prev=$(eval "echo \${T_${c}_$p:-}")
		if [ -n "$prev" ] && awk -v a="$prev" -v b="$sec" 'BEGIN { exit !(a <= b) }'; then
			continue
		fi
		eval "T_${c}_$p=$sec M_${c}_$p=$rss"
	done
	if ! e2fsck -fn "$img" >"$WORK/fsck.out" 2>&1; then
		note "e2fsck found problems in the image $c left: $(grep -v '^e2fsck\|^Pass' "$WORK/fsck.out" | head -3 | tr '\n' ' ')"
	fi
	rm -f "$img"
done

get() { eval "echo \${$1_$2_$3:-}"; }
kib_mib() { [ "$1" = - ] || [ -z "$1" ] && echo "-" || awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

header
echo "# anyk: the benchmark process itself (build/bench/ext2 anyk IMAGE PHASE);"
echo "# kernel: mount -o loop; fuse2fs: fuse2fs -f IMAGE DIR -o rw,fakeroot. The same"
echo "# program makes the calls on the mounts. Caches: $CACHES. RSS: peak resident set of"
echo "# the process serving the file system (anyk: the benchmark process; fuse2fs: its"
echo "# server; the kernel's own memory is not measured)."
printf '%s' "$NOTES"

for p in seqwrite seqread; do
	a=$(get T anyk $p) k=$(get T kernel $p) f=$(get T fuse2fs $p)
	printf 'seqio %s %d MiB, best of 2: anyk %s s (%s, rss %s) | kernel loop %s s (%s) | fuse2fs %s s (%s, rss %s) | vs kernel %s (target >= 0.9x) | vs fuse2fs %s\n' \
	    "$p" "$MIB" "$a" "$(mibs $MIB "$a")" "$(kib_mib "$(get M anyk $p)")" \
	    "${k:-n/a}" "$(mibs $MIB "${k:-0}")" "${f:-n/a}" "$(mibs $MIB "${f:-0}")" "$(kib_mib "$(get M fuse2fs $p)")" \
	    "$(ratio "$k" "$a")" "$(ratio "$f" "$a")"
done
for c in $CONTENDERS; do
	eval "T_${c}_meta=$(add "$(add "$(get T $c create)" "$(get T $c stat)")" "$(get T $c unlink)")"
done
for p in create stat unlink meta; do
	a=$(get T anyk $p) k=$(get T kernel $p) f=$(get T fuse2fs $p)
	label=$p
	[ $p = meta ] && label="create+stat+unlink"
	printf 'meta %s %d files: anyk %s s | kernel loop %s s | fuse2fs %s s | vs kernel %s (target >= 2x) | vs fuse2fs %s (target >= 5x)\n' \
	    "$label" "$FILES" "$a" "${k:-n/a}" "${f:-n/a}" "$(ratio "$k" "$a")" "$(ratio "$f" "$a")"
done
echo "meta rss: anyk $(kib_mib "$(get M anyk create)") create, $(kib_mib "$(get M anyk stat)") stat, $(kib_mib "$(get M anyk unlink)") unlink | fuse2fs $(kib_mib "$(get M fuse2fs create)") create, $(kib_mib "$(get M fuse2fs stat)") stat, $(kib_mib "$(get M fuse2fs unlink)") unlink"

# --- populate --------------------------------------------------------------

SRC=$WORK/src
shm=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 { print $4 }')
[ -n "$shm" ] && [ "$shm" -gt 8000000 ] && SRC=$(mktemp -d /dev/shm/anyk-bench-src.XXXXXX) && EXTRA_DIRS=$SRC
mkdir -p "$SRC"
# Regular files and symbolic links, in a fixed (byte) order, with their
# directories; the tree lives in tmpfs when there is room, so that dropping
# caches does not make either contender read it from the disk.
(cd / && find usr -xdev \( -type f -o -type l \) 2>/dev/null | LC_ALL=C sort | head -n $POP |
    tar -cf - --no-recursion -T - 2>/dev/null) | tar -xf - -C "$SRC" 2>/dev/null
srcfiles=$(find "$SRC" | wc -l) srcsize=$(du -sm "$SRC" | cut -f1)

populate() { # TOOL: sets PT (seconds, with the image fsynced) and PM (peak RSS KiB)
	img=$WORK/pop.img
	rm -f "$img"
	drop_caches
	t0=$(now)
	if [ $1 = anyk ]; then
		/usr/bin/time -f %M -o "$WORK/pop.rss" "$ANYK" mkfs -q -t ext4 -d "$SRC/usr" "$img" $POPSIZE >"$WORK/pop.err" 2>&1
	else
		truncate -s $POPSIZE "$img" &&
		/usr/bin/time -f %M -o "$WORK/pop.rss" mke2fs -q -F -t ext4 -d "$SRC/usr" "$img" >"$WORK/pop.err" 2>&1
	fi
	st=$?
	sync "$img"
	PT=$(elapsed "$t0" "$(now)") PM=$(tail -1 "$WORK/pop.rss")
	[ $st = 0 ] || { note "$1 populate failed: $(head -3 "$WORK/pop.err" | tr '\n' ' ')"; PT=""; }
	if ! e2fsck -fn "$img" >"$WORK/fsck.out" 2>&1; then
		note "e2fsck found problems in the image $1 populated: $(grep -v '^e2fsck\|^Pass' "$WORK/fsck.out" | head -3 | tr '\n' ' ')"
	fi
	rm -f "$img"
}
# Best of two rounds, alternating: the timed fsync of a 2 GiB image makes a
# single round swing with the host disk's write-back.
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "" || a < b) print a; else print b }'; }
pa="" pm=""
for r in 1 2; do
	populate anyk
	[ -n "$PT" ] && pa=$(min "$pa" "$PT") pam=$PM
	populate mke2fs
	[ -n "$PT" ] && pm=$(min "$pm" "$PT") pmm=$PM
done
printf '%s' "$NOTES" | grep populate
echo "populate $srcfiles entries, $srcsize MiB (first $POP files of /usr) into a $POPSIZE image, best of 2: anyk mkfs -d ${pa:-n/a} s (rss $(kib_mib "$pam")) | mke2fs -d ${pm:-n/a} s (rss $(kib_mib "$pmm")) | ratio $(ratio "$pm" "$pa") (target >= 1x)"
