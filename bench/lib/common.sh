# (local is not POSIX, but dash, bash, busybox sh and ksh all have it; it
# keeps these helpers from clobbering their callers' t0 and img.)
#
# Shared by the file system benchmark scripts (bench/ext2.sh, image.sh,
# fuse.sh): anchors installed on demand, images made the same way for every
# contender, mounts that are always cleaned up, cache drops, timing, and
# ratios. Sourced, not run; the caller sets B (build directory) and NAME.
#
# Every mount and server started here is recorded, and the EXIT trap undoes
# them in reverse, so an interrupted run leaves no mount and no loop device.

B=${B:-build}
ANYK=${ANYK:-$B/bin/anyk}
HELPER=${HELPER:-$B/bench/ext2}
FLOOR=${FLOOR:-$B/bench/fuse_null}
QUICK=0
for _a in "$@"; do
	[ "$_a" = --quick ] && QUICK=1
done
WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/anyk-bench-$NAME.XXXXXX") || exit 1
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
EXTRA_DIRS=""  # removed at exit too (a source tree in /dev/shm)
MOUNTS=""  # "dir:pid" pairs, newest first (pid - for the kernel's)
NOTES=""
URING_SWITCH=/sys/module/fuse/parameters/enable_uring
URING_OLD=""  # the switch as found, while a benchmark has changed it

note() { NOTES="$NOTES# note: $*
"; }

cleanup() {
	for m in $MOUNTS; do
		d=${m%%:*} p=${m#*:}
		mountpoint -q "$d" 2>/dev/null && { umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null; }
		[ "$p" != - ] && kill "$p" 2>/dev/null
	done
	MOUNTS=""
	[ -n "$URING_OLD" ] && echo "$URING_OLD" > "$URING_SWITCH" 2>/dev/null
	rm -rf "$WORK" $EXTRA_DIRS
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

is_root() { [ "$(id -u)" = 0 ]; }

# have TOOL PACKAGE: the tool is there, or installed now from Debian.
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if is_root && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null 2>&1
		command -v "$1" >/dev/null 2>&1 && return 0
	fi
	note "$1 (Debian package $2) is missing and could not be installed: skipped"
	return 1
}

can_loop() { is_root && [ -e /dev/loop-control ]; }
can_fuse() { [ -c /dev/fuse ] && { command -v fusermount3 || command -v fusermount; } >/dev/null 2>&1; }

CACHES=dropped
drop_caches() {
	sync
	if ! { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
		CACHES="NOT dropped (not root)"
	fi
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
# ratio ANCHOR_SECONDS ANYK_SECONDS: above 1 means anyk is faster.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b <= 0) print "n/a"; else printf "%.2fx", a / b }'; }
mibs() { awk -v m="$1" -v s="$2" 'BEGIN { if (s <= 0) print "n/a"; else printf "%.0f MiB/s", m / s }'; }

# fresh_image PATH SIZE [DIR]: the same ext4 image for every contender, made
# by the anchor's mke2fs (filled from DIR if given) with tables initialised
# now, so that no contender pays for (or races with) lazy initialisation.
fresh_image() {
	rm -f "$1"
	truncate -s "$2" "$1" &&
	mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 ${3:+-d "$3"} "$1" >/dev/null
}

wait_mounted() {
	local i=0
	while ! mountpoint -q "$1"; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "bench: $1 did not mount" >&2; return 1; }
		sleep 0.05
	done
}

# uring_switch on|off: FUSE over io_uring on the host (root; Linux 6.14+);
# cleanup puts it back as it was.
uring_switch() {
	[ -f "$URING_SWITCH" ] || return 1
	[ -n "$URING_OLD" ] || URING_OLD=$(cat "$URING_SWITCH")
	case $1 in on) echo Y ;; *) echo "$URING_OLD" ;; esac > "$URING_SWITCH"
}

# mount_as KIND IMAGE DIR: kernel (loop), fuse2fs, anykfuse (anyk mount over
# /dev/fuse), anykuring (anyk mount over io_uring: uring_switch on), floor or
# flooruring (bench/fuse_null over /dev/fuse or io_uring: no file system,
# IMAGE unused); FUSE servers
# run in the foreground under /usr/bin/time so their peak RSS is known after
# they exit ($WORK/rss.DIRNAME).
mount_as() {
	local kind="$1" img="$2" dir="$3" rss opt
	rss="$WORK/rss.$(basename "$3")"
	mkdir -p "$dir"
	rm -f "$rss"
	case $kind in
	kernel)
		mount -o loop "$img" "$dir" || return 1
		MOUNTS="$dir:- $MOUNTS" ;;
	fuse2fs)
		/usr/bin/time -f %M -o "$rss" fuse2fs -f "$img" "$dir" -o rw,fakeroot >"$WORK/fuse2fs.err" 2>&1 &
		MOUNTS="$dir:$! $MOUNTS"
		wait_mounted "$dir" ;;
	anykfuse|anykuring)
		opt=nouring
		[ $kind = anykuring ] && opt=uring
		/usr/bin/time -f %M -o "$rss" "$ANYK" mount -f -o $opt "$img" "$dir" >"$WORK/$kind.err" 2>&1 &
		MOUNTS="$dir:$! $MOUNTS"
		wait_mounted "$dir" ;;
	floor|flooruring)
		opt=
		[ $kind = flooruring ] && opt=--uring
		"$FLOOR" $opt "$dir" >"$WORK/$kind.err" 2>&1 &
		MOUNTS="$dir:$! $MOUNTS"
		wait_mounted "$dir" ;;
	esac
}

# unmount_as KIND DIR: unmount and, for a FUSE server, wait (bounded) until
# it has written everything back and exited. Sets UNMOUNT_SEC (not printed:
# a command substitution would lose the change to MOUNTS).
unmount_as() {
	local kind="$1" dir="$2" t0 pid=- keep="" m i
	t0=$(now)
	for m in $MOUNTS; do
		[ "${m%%:*}" = "$dir" ] && pid=${m#*:}
	done
	case $kind in
	kernel) umount "$dir" ;;
	fuse2fs|floor|flooruring) umount "$dir" ;;
	anykfuse|anykuring) "$ANYK" umount "$dir" >/dev/null 2>&1 || umount "$dir" ;;
	esac
	if [ "$pid" != - ]; then
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 1200 ] && { kill "$pid"; echo "bench: $kind server did not exit" >&2; break; }
			sleep 0.05
		done
		wait "$pid" 2>/dev/null
	fi
	for m in $MOUNTS; do
		[ "${m%%:*}" = "$dir" ] || keep="$keep $m"
	done
	MOUNTS=$keep
	UNMOUNT_SEC=$(elapsed "$t0" "$(now)")
}

server_rss() { cat "$WORK/rss.$(basename "$1")" 2>/dev/null || echo n/a; }

# field KEY LINE: the value of KEY=... in the helper's output.
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

header() {
	echo "# method: every contender gets a fresh ext4 image of the same size made by"
	echo "# mke2fs -t ext4 -E lazy_itable_init=0,lazy_journal_init=0, in a file on the"
	echo "# host's disk ($(df -P "$WORK" | awk 'NR==2 { print $1 }'), $(findmnt -no FSTYPE -T "$WORK" 2>/dev/null))."
	echo "# Before each phase: sync; echo 3 > /proc/sys/vm/drop_caches; mount. A phase is"
	echo "# timed from its first call to the end of its unmount (FUSE servers: until the"
	echo "# server has exited), so lazy write-back is counted; mounting is not timed."
	echo "# anyk reads and writes the image through the host's page cache (no O_DIRECT),"
	echo "# as a loop device does: the cache drop makes both start cold. Ratios are"
	echo "# anchor time / anyk time: above 1 means anyk is faster."
	load_note
}
load_note() {
	echo "# load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
	echo "# (above ~0.5 other work shared the $(nproc) cpus and the disk: numbers are noisier)"
}
