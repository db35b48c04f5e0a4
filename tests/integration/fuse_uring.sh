#!/bin/sh
# anyk mount over FUSE's io_uring transport (Linux 6.14 and later, with the
# host switch fuse.enable_uring, which this test turns on for its run and
# then puts back as it found it):
#   - the server says which transport serves: the rings by default, /dev/fuse
#     with -o nouring or with the switch off, where the thread reading
#     /dev/fuse moves beside its caller;
#   - writers on every processor at once (so every queue serves), each
#     file's contents read back, a large file copied in and out through
#     1 MiB requests, links and renames, then e2fsck finds the image clean;
#   - a server bound to processor 0 serves a caller on processor 1 (the
#     queue of a processor the server may not run on has a spare thread);
#   - the POSIX semantics suite and the fuse_mount test again, through the
#     rings, their lines marked "uring:".
# Needs root and a kernel with the switch; says "skip" otherwise.
T_NAME=fuse_uring
. "$(dirname "$0")/../lib.sh"
HERE=$(dirname "$0")
P=/sys/module/fuse/parameters/enable_uring
T=20 # seconds any one step may take

need_built "$ANYK"
"$ANYK" help mount >/dev/null 2>&1 || skip_all "the tool was built without libfuse3"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip_all "turning fuse.enable_uring on needs root"
[ -f $P ] || skip_all "the host kernel has no FUSE over io_uring"
need_tools mke2fs e2fsck timeout cmp
old=$(cat $P)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-$T_NAME.XXXXXX") || exit 1
mnt=$tmp/mnt
mkdir "$mnt"
bgpid=""
cleanup() {
	[ -n "$bgpid" ] && kill -TERM "$bgpid" 2>/dev/null
	if mountpoint -q "$mnt" 2>/dev/null; then
		umount -l "$mnt" 2>/dev/null
	fi
	[ -n "$bgpid" ] && wait "$bgpid" 2>/dev/null
	echo "$old" > $P 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
echo Y > $P 2>/dev/null || skip_all "cannot turn fuse.enable_uring on"

mounted() { # wait until $mnt is a mount point, at most $T seconds
	n=0
	while ! mountpoint -q "$mnt" 2>/dev/null; do
		n=$((n + 1))
		[ $n -gt $((T * 10)) ] && return 1
		sleep 0.1
	done
}

# transport NAME EXPECTED ARGS...: mount in the foreground with -d, make a
# request, unmount, and find the server's line about its transport.
transport() {
	name=$1 want=$2
	shift 2
	timeout -k 5 $T "$ANYK" mount -d "$@" "$tmp/img" "$mnt" 2>"$tmp/d.log" &
	bgpid=$!
	if mounted; then
		ls "$mnt" >/dev/null 2>&1
		timeout $T "$ANYK" umount "$mnt" >/dev/null 2>&1
	fi
	wait "$bgpid"
	bgpid=""
	line=$(grep '^anyk mount: serving through' "$tmp/d.log" | head -1)
	case $line in
	*"$want"*) pass "$name ($line)" ;;
	*) fail "$name" "wanted '$want', the server said: ${line:-nothing}" ;;
	esac
}

mke2fs -q -F -t ext4 "$tmp/img" 256M >/dev/null 2>&1 || { fail "mke2fs"; exit 1; }
transport "the rings serve by default" "FUSE over io_uring"
transport "-o nouring keeps /dev/fuse" "/dev/fuse (-o nouring" -o nouring
if [ -r /proc/self/schedstat ]; then
	check "over /dev/fuse the server thread moves beside its caller" \
		"grep -q 'moves beside its callers' '$tmp/d.log'" "$(grep '^anyk mount' "$tmp/d.log")"
fi
echo N > $P
transport "with the switch off, /dev/fuse" "/dev/fuse (the host kernel offers no io_uring"
echo Y > $P

# A workload through the rings.
if ! timeout $T "$ANYK" mount "$tmp/img" "$mnt" 2>"$tmp/err"; then
	fail "mount" "$(cat "$tmp/err")"
	exit 1
fi
ncpu=$(nproc 2>/dev/null || echo 1)
[ "$ncpu" -gt 8 ] && ncpu=8
export M="$mnt"
# each_cpu SCRIPT: run the shell SCRIPT, with $1 the processor's number,
# pinned to each of the first $ncpu processors at once, so that every
# queue serves; false if any run failed.
each_cpu() {
	c=0 pids=""
	while [ $c -lt "$ncpu" ]; do
		taskset -c $c sh -c "$1" sh $c &
		pids="$pids $!"
		c=$((c + 1))
	done
	ok=0
	for p in $pids; do wait "$p" || ok=1; done
	return $ok
}
each_cpu 'mkdir "$M/w$1" && i=0 && while [ $i -lt 200 ]; do
	echo "writer $1 file $i" > "$M/w$1/f$i" || exit 1; i=$((i + 1)); done'
check "$ncpu writers, one per processor, create 200 files each" "[ $? = 0 ]"
bad=""
c=0
while [ $c -lt "$ncpu" ]; do
	i=0
	while [ $i -lt 200 ]; do
		[ "$(cat "$mnt/w$c/f$i" 2>/dev/null)" = "writer $c file $i" ] || bad="$bad w$c/f$i"
		i=$((i + 2))
	done
	c=$((c + 1))
done
check "every file reads back what its writer wrote" "[ -z '$bad' ]" "wrong:$bad"
each_cpu 'i=1; while [ $i -lt 200 ]; do rm "$M/w$1/f$i" || exit 1; i=$((i + 2)); done'
check "parallel removal of half the files" "[ $? = 0 ] && [ \$(ls '$mnt/w0' | wc -l) = 100 ]"
head -c 9437185 /dev/urandom > "$tmp/big"
check "a 9 MiB file copied in and read back" "cp '$tmp/big' '$mnt/big' && cmp -s '$tmp/big' '$mnt/big'"
check "a hard link and a rename across directories" \
	"ln '$mnt/big' '$mnt/w0/big2' && mv '$mnt/w0/big2' '$mnt/big3' && [ \$(stat -c %h '$mnt/big') = 2 ]"
check "a symlink" "ln -s w0/f0 '$mnt/sym' && [ \"\$(cat '$mnt/sym')\" = 'writer 0 file 0' ]"
check "anyk umount" "timeout $T '$ANYK' umount '$mnt'"

# A server that may run on processor 0 only still has a queue for every
# other one (the host kernel needs them all), served by its spare thread.
if [ "$ncpu" -ge 2 ]; then
	taskset -c 0 timeout -k 5 $T "$ANYK" mount -d "$tmp/img" "$mnt" 2>"$tmp/d.log" &
	bgpid=$!
	st=1
	if mounted; then
		taskset -c 1 sh -c 'mkdir "$M/cpu1" && for i in 1 2 3 4 5 6 7 8 9; do
			echo "$i" > "$M/cpu1/f$i" || exit 1; done && [ "$(cat "$M/cpu1/f9")" = 9 ] &&
			rm -r "$M/cpu1"'
		st=$?
		timeout $T "$ANYK" umount "$mnt" >/dev/null 2>&1
	fi
	wait "$bgpid"
	bgpid=""
	line=$(grep '^anyk mount: serving through' "$tmp/d.log" | head -1)
	check "a server bound to processor 0 serves a caller on processor 1 through the rings" \
		"[ $st = 0 ] && case '$line' in *io_uring*) true ;; *) false ;; esac" "the server said: $line"
fi
out=$(e2fsck -fn "$tmp/img" 2>&1)
st=$?
check "e2fsck -fn clean after the workload" "[ $st = 0 ]" "$out"

# The other FUSE tests, through the rings.
for t in fuse_mount fuse_semantics; do
	sh "$HERE/$t.sh" >"$tmp/$t.log" 2>&1
	rc=$?
	sed -n 's/^\(ok\|not ok\|skip\) - /\1 - uring: /p' "$tmp/$t.log"
	grep '^#' "$tmp/$t.log" | head -20
	[ $rc = 0 ] || [ $rc = 77 ] || fail "uring: $t exited with $rc"
done
exit $failed
