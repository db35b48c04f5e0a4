#!/bin/sh
# The crash harness end to end on ext2 without a journal: a small workload
# with fsyncs runs through anyk's ext2 driver with ANYK_DISK_RECORD set; the
# image rebuilt from the whole log must equal the image the workload left,
# and every cut at a barrier (and some torn cuts between barriers) is
# rebuilt, checked by e2fsck -fn and mounted read-only by anyk to see which
# fsync'ed files are intact. Without a journal a crash may well need fsck,
# so those counts are printed as information, not judged; what is judged is
# that the machinery works (cuts build, e2fsck and the mount run on each).
T_NAME=crash_ext2
. "$(dirname "$0")/../lib.sh"
H=$B/tests/integration/crash_harness
need_tools mke2fs e2fsck
need_built "$H"
t_tmpdir

mke2fs -q -F -t ext2 "$tmp/base.img" 8M >/dev/null 2>&1 || { echo "skip - crash_ext2: mke2fs failed"; exit 77; }
cp "$tmp/base.img" "$tmp/work.img"
if "$H" workload "$tmp/work.img" "$tmp/log" "$tmp/manifest" ext2 > "$tmp/wl.out" 2>&1 &&
	grep -q '^ok - workload' "$tmp/wl.out"; then
	pass "crash_ext2: the workload ran with its writes recorded"
else
	fail "crash_ext2: the workload ran with its writes recorded"
	sed 's/^/#   /' "$tmp/wl.out"
	exit 1
fi
"$H" info "$tmp/log" | sed 's/^/# log: /'
"$H" cut "$tmp/base.img" "$tmp/log" "$("$H" info "$tmp/log" | awk '/^records/ {print $2}')" "$tmp/all.img" >/dev/null &&
	cmp -s "$tmp/all.img" "$tmp/work.img" &&
	pass "crash_ext2: base + every record = the image the workload left" ||
	fail "crash_ext2: base + every record = the image the workload left"

# cuts: "N flush" for every barrier, "N mid" for 10 torn cuts between them.
"$H" sample "$tmp/log" 10 7 > "$tmp/cuts" || fail "crash_ext2: sample cuts"
nflush=0 fclean=0 fintact=0 nmid=0 mclean=0 built=0 ran=0
while read -r n kind; do
	case $kind in
	mid) opt="--torn $n" ;;
	*) opt= ;;
	esac
	# shellcheck disable=SC2086
	"$H" cut "$tmp/base.img" "$tmp/log" "$n" "$tmp/cut.img" $opt >/dev/null 2>&1 && built=$((built + 1))
	e2fsck -fn "$tmp/cut.img" >/dev/null 2>&1
	rc=$?
	[ $rc -lt 16 ] && ran=$((ran + 1)) # 8: it gave up on the damage; 16 and up: it did not run
	v=$("$H" verify "$tmp/cut.img" "$tmp/manifest" "$n" ext2 --ro 2>&1)
	vrc=$?
	if [ "$kind" = mid ]; then
		nmid=$((nmid + 1))
		[ $rc = 0 ] && mclean=$((mclean + 1))
		echo "# info: torn cut $n: e2fsck -fn exit $rc; $(echo "$v" | tail -1)"
	else
		nflush=$((nflush + 1))
		[ $rc = 0 ] && fclean=$((fclean + 1))
		[ $vrc = 0 ] && fintact=$((fintact + 1))
	fi
	[ $vrc -le 1 ] || echo "# info: cut $n: $(echo "$v" | head -1)"
done < "$tmp/cuts"
total=$((nflush + nmid))
[ "$built" = "$total" ] && [ "$total" -gt 10 ] && pass "crash_ext2: $total cuts built ($nflush at barriers, $nmid torn)" ||
	fail "crash_ext2: $built of $total cuts built"
[ "$ran" = "$total" ] && pass "crash_ext2: e2fsck checked every cut" || fail "crash_ext2: e2fsck failed to run on some cut"
echo "# info: without a journal: $fclean of $nflush barrier cuts are clean for e2fsck -fn, all fsync'ed files intact in $fintact"
echo "# info: without a journal: $mclean of $nmid torn cuts between barriers are clean"
exit $failed
