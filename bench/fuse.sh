#!/bin/sh
# FUSE benchmarks: the anyk FUSE mount (anyk mount) against fuse2fs and the
# Linux kernel's loop mount of the same kind of ext4 image, all driven by the
# same host programs:
#
#   tar       tar c of a tree (a copy of /usr/include made into the image by
#             mke2fs -d) piped to /dev/null
#   seqio     dd bs=1M count=1024 conv=fsync, then dd back to /dev/null
#             and the read again with the image in host memory (tmpfs),
#             where the disk does not count
#   meta      100,000 files (100 directories x 1,000): create, stat, unlink
#             (build/bench/ext2 host DIR ...)
#   floor     the meta phases on bench/fuse_null, a FUSE server that does
#             no work, with anyk mount's request loop, over /dev/fuse and
#             io_uring: what the round trips alone cost here
#
# Each phase runs on a fresh mount after a cache drop, for every contender
# in turn, and the passes repeat three times: the fastest pass counts.
#
# Run by bench/run.sh (make bench); --quick shrinks every workload ~10x.
# Needs root (mounts, cache drops); what cannot be had is skipped with a note.
NAME=fuse
. "$(dirname "$0")/lib/common.sh"

FILES=100000 MIB=1024 TREE=/usr/include IMGSIZE=4G
[ $QUICK = 1 ] && FILES=10000 MIB=128 TREE=/usr/include/linux
for f in "$HELPER" "$ANYK"; do
	[ -x "$f" ] || { echo "bench fuse: $f is missing (make bench builds it)"; exit 1; }
done
have mke2fs e2fsprogs || exit 1
is_root && can_fuse || { echo "bench fuse: needs root and /dev/fuse; skipped"; exit 0; }

CONTENDERS=anykfuse ANYKS=anykfuse
if uring_switch on 2>/dev/null && uring_switch off; then
	CONTENDERS="$CONTENDERS anykuring" ANYKS="$ANYKS anykuring"
else
	note "the host kernel has no FUSE over io_uring: only /dev/fuse measured"
fi
if can_loop; then CONTENDERS="$CONTENDERS kernel"; else note "no loop mounts: kernel anchor skipped"; fi
if have fuse2fs fuse2fs; then CONTENDERS="$CONTENDERS fuse2fs"; fi

STAGE=$WORK/stage
mkdir -p "$STAGE"
cp -a "$TREE" "$STAGE/tree" || exit 1
entries=$(find "$STAGE/tree" | wc -l) size=$(du -sm "$STAGE/tree" | cut -f1)
M=$WORK/mnt

# phase CONTENDER PHASE: one cold, timed phase on a fresh mount of the
# contender's image (IMG_<contender>); sets T (seconds, with the unmount, or
# "" if the phase failed) and R (the server's peak RSS in KiB, or -). The
# floors stay mounted through a round of the metadata phases (they keep
# their names in memory only) and have nothing to write back.
phase() {
	drop_caches
	case $1 in
	floor*) T=$(timed_meta "$WORK/$1" $2) && R=- || { note "$1 $2 failed"; T=""; } ; return ;;
	esac
	[ $1 = anykuring ] && uring_switch on
	mount_as $1 "$(eval "echo \$IMG_$1")" "$M" || exit 1
	t0=$(now)
	case $2 in
	tar) tar cf - -C "$M" tree | cat >/dev/null ;;
	seqwrite) dd if="$WORK/pattern" of="$M/big" bs=1M count=$MIB conv=fsync 2>/dev/null ;;
	seqread) dd if="$M/big" of=/dev/null bs=1M 2>/dev/null ;;
	*) "$HELPER" host "$M" $2 $FILES >/dev/null ;;
	esac
	st=$?
	T=$(elapsed "$t0" "$(now)")
	unmount_as $1 "$M"
	[ $1 = anykuring ] && [ -z "$URING_HOLD" ] && uring_switch off
	T=$(add "$T" "$UNMOUNT_SEC")
	[ $st = 0 ] || { note "$1 $2 failed"; T=""; }
	R=-
	[ $1 != kernel ] && R=$(server_rss "$M")
}

# timed_meta DIR PHASE: the helper's metadata phase on a mounted DIR; prints
# the seconds it took.
timed_meta() {
	t0=$(now)
	"$HELPER" host "$1" $2 $FILES >/dev/null || return 1
	elapsed "$t0" "$(now)"
}

# keep CONTENDER PHASE NAME: record T and R of a pass under NAME; the fastest
# pass counts, and the largest RSS.
keep() {
	old=$(get T $1 $3)
	if [ -n "$T" ] && { [ -z "$old" ] || awk -v a="$T" -v b="$old" 'BEGIN { exit !(a < b) }'; }; then
		eval "T_${1}_$3=$T"
	fi
	old=$(get M $1 $3)
	case $R in
	-|n/a|'') [ -n "$old" ] || eval "M_${1}_$3=-" ;;
	*) case $old in ''|-|n/a) eval "M_${1}_$3=$R" ;; *) [ "$R" -gt "$old" ] && eval "M_${1}_$3=$R" ;; esac ;;
	esac
}

get() { eval "echo \${$1_$2_$3:-}"; }

# dd reads its 1 MiB blocks from a file, not /dev/zero, so that no layer
# sees zeros it could skip: one random MiB repeated, in tmpfs when there is
# room so that the cache drops do not send dd to the disk for it.
PAT=$WORK
shm=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 { print $4 }')
if [ -n "$shm" ] && [ "$shm" -gt $((MIB * 1024 * 3)) ]; then
	PAT=$(mktemp -d /dev/shm/anyk-bench-pat.XXXXXX) && EXTRA_DIRS=$PAT
else
	note "the dd source lives on disk: the write phase also reads it"
fi
# memread: seqread again from a copy of the image in tmpfs (its pages stay
# in host memory through the cache drops, which still empty the file
# system's own cache above it), when there is room for it beside the rest.
MEMIMG=
if [ -n "$shm" ] && [ "$shm" -gt $((MIB * 1024 * 3 + 1048576)) ]; then
	MEMIMG=$(mktemp -d /dev/shm/anyk-bench-img.XXXXXX) && EXTRA_DIRS="$EXTRA_DIRS $MEMIMG"
else
	note "no room in /dev/shm for an image: the read from host memory is not measured"
fi
head -c 1048576 /dev/urandom >"$PAT/pattern.1"
i=0
while [ $i -lt $MIB ]; do cat "$PAT/pattern.1"; i=$((i + 1)); done >"$PAT/pattern"
ln -s "$PAT/pattern" "$WORK/pattern" 2>/dev/null

# Every contender is measured in each pass, one after the other, and the
# passes repeat (ROUNDS): what the host does meanwhile (its disk sometimes
# serves from a cache outside this machine, other guests take the
# processors: three reads in a row by the kernel took 1.3, 3.2 and 1.7 s)
# then falls on all of them alike, and the fastest pass of each counts.
ROUNDS=3
[ $QUICK = 1 ] && ROUNDS=2
for c in $CONTENDERS; do
	eval "IMG_${c}=$WORK/$c.img"
	fresh_image "$WORK/$c.img" $IMGSIZE "$STAGE" || exit 1
done
for p in tar seqwrite seqread; do
	r=0
	while [ $r -lt $ROUNDS ]; do
		for c in $CONTENDERS; do
			phase $c $p
			keep $c $p $p
		done
		r=$((r + 1))
	done
done
# The same read with the image in host memory: what the layers above the
# disk cost, without the disk's swings. Each image is copied into tmpfs in
# turn while there is room for it.
if [ -n "$MEMIMG" ]; then
	for c in $CONTENDERS; do
		cp --sparse=always "$WORK/$c.img" "$MEMIMG/$c.img" || { rm -f "$MEMIMG/$c.img"; break; }
		eval "IMG_${c}=$MEMIMG/$c.img"
	done
	r=0
	while [ $r -lt $ROUNDS ]; do
		for c in $CONTENDERS; do
			[ -f "$MEMIMG/$c.img" ] || continue
			phase $c seqread
			keep $c seqread memread
		done
		r=$((r + 1))
	done
	for c in $CONTENDERS; do
		rm -f "$MEMIMG/$c.img"
		eval "IMG_${c}=$WORK/$c.img"
	done
fi

# The floor: a FUSE server that does no work (bench/fuse_null.c) with anyk
# mount's request loop, over /dev/fuse and (where anyk mount was measured
# over it) io_uring, mounted for a round of the metadata phases, measured
# in turn with the others. Kernel time / its time is the best ratio a FUSE
# server reaches here over that transport.
FLOORS=
if [ -x "$FLOOR" ]; then
	FLOORS=floor
	case " $ANYKS " in *" anykuring "*) FLOORS="floor flooruring" ;; esac
else
	note "no $FLOOR (make bench builds it): no FUSE floor measured"
fi
# The host refuses every io_uring request while the switch is off: it stays
# on through the rounds the io_uring floor serves in (anyk mount -o nouring
# and the others do not use it).
URING_HOLD=
case " $FLOORS " in *" flooruring "*) URING_HOLD=1 ;; esac
r=0
while [ $r -lt $ROUNDS ]; do
	[ -n "$URING_HOLD" ] && uring_switch on
	for c in $FLOORS; do
		mount_as $c - "$WORK/$c" || exit 1
	done
	for p in create stat unlink; do
		for c in $CONTENDERS $FLOORS; do
			phase $c $p
			keep $c $p $p
		done
	done
	for c in $FLOORS; do
		unmount_as $c "$WORK/$c"
	done
	[ -n "$URING_HOLD" ] && uring_switch off
	r=$((r + 1))
done
for c in $CONTENDERS; do
	if ! e2fsck -fn "$WORK/$c.img" >"$WORK/fsck.out" 2>&1; then
		note "e2fsck found problems in the image $c left: $(grep -v '^e2fsck\|^Pass' "$WORK/fsck.out" | head -3 | tr '\n' ' ')"
	fi
	grep -qi 'sanitizer\|error' "$WORK/$c.err" 2>/dev/null && note "$c server said: $(head -2 "$WORK/$c.err" | tr '\n' ' ')"
	rm -f "$WORK/$c.img"
done

peak() { # CONTENDER: the largest RSS over its phases
	m=0
	for p in tar seqwrite seqread memread create stat unlink; do
		v=$(get M $1 $p)
		case $v in ''|-|n/a) ;; *) [ "$v" -gt $m ] && m=$v ;; esac
	done
	[ $m = 0 ] && echo "-" || awk -v k=$m 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

header
echo "# anyk mount: anyk mount -f -o nouring IMAGE DIR (requests through /dev/fuse;"
echo "# attribute timeout 1 s); anyk mount, io_uring: anyk mount -f -o uring with the"
echo "# host's fuse.enable_uring switched on for that run (FUSE over io_uring, one"
echo "# queue per processor, Linux 6.14+), then put back;"
echo "# fuse2fs: fuse2fs -f IMAGE DIR -o rw,fakeroot; kernel: mount -o loop. Caches"
echo "# $CACHES. tar reads $entries entries, $size MiB (a copy of $TREE put into each"
echo "# image by mke2fs -d). RSS: the server's peak over all phases."
echo "# FUSE floor: bench/fuse_null, one mount per transport for each round of the"
echo "# three metadata phases (caches dropped before each; no unmount timed: it has"
echo "# nothing to write back). Every phase: $ROUNDS passes, the contenders in turn in"
echo "# each; the fastest pass of each counts (create+stat+unlink: the sum of those)."
printf '%s' "$NOTES"
for p in tar seqwrite seqread memread create stat unlink meta; do
	if [ $p = meta ]; then
		for c in $CONTENDERS $FLOORS; do
			eval "T_${c}_meta=$(add "$(add "$(get T $c create)" "$(get T $c stat)")" "$(get T $c unlink)")"
		done
	fi
	k=$(get T kernel $p) f=$(get T fuse2fs $p)
	case $p in
	tar) what="tar c of $entries entries, $size MiB" ;;
	seq*) what="$p $MIB MiB (dd bs=1M)" ;;
	memread) what="seqread $MIB MiB (dd bs=1M), image in host memory" ;;
	meta) what="create+stat+unlink $FILES files" ;;
	*) what="$p $FILES files" ;;
	esac
	for c in $ANYKS; do
		a=$(get T $c $p) how=""
		[ $c = anykuring ] && how=", io_uring"
		extra=""
		[ $p = memread ] && [ -z "$a" ] && continue
		case $p in seq*|memread) extra=" [anyk $(mibs $MIB "$a"), kernel $(mibs $MIB "${k:-0}"), fuse2fs $(mibs $MIB "${f:-0}")]" ;; esac
		echo "fuse $what: anyk mount$how $a s | kernel loop ${k:-n/a} s | fuse2fs ${f:-n/a} s | vs fuse2fs $(ratio "$f" "$a") (target >= 2x) | vs kernel $(ratio "$k" "$a") (target >= 0.8x)$extra"
	done
	for c in $FLOORS; do
		z=$(get T $c $p)
		[ -n "$z" ] || continue
		if [ $c = floor ]; then
			a=$(get T anykfuse $p) how="/dev/fuse"
		else
			a=$(get T anykuring $p) how="io_uring"
		fi
		echo "fuse $what: FUSE floor over $how (no work, anyk mount's loop) $z s | kernel loop ${k:-n/a} s | vs kernel $(ratio "$k" "$z") (the best a server reaches over $how here) | anyk mount over $how takes $(ratio "$a" "$z") its time"
	done
done
rss="anyk mount $(peak anykfuse)"
case " $ANYKS " in *" anykuring "*) rss="$rss | anyk mount, io_uring $(peak anykuring)" ;; esac
echo "fuse server peak rss: $rss | fuse2fs $(peak fuse2fs)"
