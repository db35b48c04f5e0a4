#!/bin/sh
# Crash consistency of the journal, the real check: a workload with fsyncs
# runs through anyk on ext4 and ext3 images with a journal, recorded under
# ANYK_DISK_RECORD; then every cut at a barrier and 12 random cuts between
# barriers (the last write torn, every other one with the unflushed writes
# also reordered) is rebuilt, mounted read-write by anyk (which replays the
# journal) and unmounted, and must then be clean for e2fsck -fn, with every
# file fsync'ed before the cut intact.
#
# An ext4 or ext3 mount that says its metadata is written in place (not
# through the journal) fails the test. Each image type is bounded to about
# 25 s.
T_NAME=crash_ext4
. "$(dirname "$0")/../lib.sh"
H=$B/tests/integration/crash_harness
need_tools mke2fs e2fsck
need_built "$H"
t_tmpdir

# workload TYPE: base.img and work.img, log, manifest; sets $wl.
workload() {
	mke2fs -q -F -t "$1" "$tmp/base.img" 16M >/dev/null 2>&1 || return 1
	cp "$tmp/base.img" "$tmp/work.img"
	wl=$("$H" workload "$tmp/work.img" "$tmp/log" "$tmp/manifest" "$1" 2>&1)
	echo "$wl" | grep -q '^ok - workload'
}

# The first type's workload must have gone through the journal.
if ! workload ext4; then
	echo "not ok - crash_ext4: the ext4 workload ran"
	echo "$wl" | sed 's/^/#   /'
	exit 1
fi
inplace=$(echo "$wl" | grep -E '^# dmesg: .*(written in place|journal is not used)')
if [ -n "$inplace" ]; then
	echo "not ok - crash_ext4: the ext4 mount journals its metadata (it says: $(echo "$inplace" | head -1 | sed 's/^# dmesg: \[[^]]*\] //'))"
	exit 1
fi
echo "ok - crash_ext4: the ext4 mount journals its metadata"

for type in ext4 ext3; do
	if [ "$type" != ext4 ] && ! workload "$type"; then
		fail "crash_ext4: the $type workload ran" "$wl"
		continue
	fi
	pass "crash_ext4: $type workload recorded ($("$H" info "$tmp/log" | awk '/^records/ {print $2}') records)"
	"$H" sample "$tmp/log" 12 11 > "$tmp/cuts" || { fail "crash_ext4: $type: sample cuts"; continue; }
	start=$(date +%s)
	ncut=0 nclean=0 nintact=0 bad= i=0 stopped=0
	while read -r n kind; do
		if [ $(( $(date +%s) - start )) -ge 25 ]; then
			stopped=1
			break
		fi
		i=$((i + 1))
		opt=
		if [ "$kind" = mid ]; then
			opt="--torn $n"
			[ $((i % 2)) = 0 ] && opt="$opt --reorder $n"
		fi
		# shellcheck disable=SC2086
		if ! "$H" cut "$tmp/base.img" "$tmp/log" "$n" "$tmp/cut.img" $opt >/dev/null 2>&1; then
			bad="$bad
cut $n $kind: cannot build"
			continue
		fi
		ncut=$((ncut + 1))
		v=$("$H" verify "$tmp/cut.img" "$tmp/manifest" "$n" "$type" 2>&1)
		if [ $? = 0 ]; then
			nintact=$((nintact + 1))
		else
			bad="$bad
cut $n $kind $opt: $(echo "$v" | grep -v '^intact' | head -3)"
		fi
		f=$(e2fsck -fn "$tmp/cut.img" 2>&1)
		if [ $? = 0 ]; then
			nclean=$((nclean + 1))
		else
			bad="$bad
cut $n $kind $opt: e2fsck -fn: $(echo "$f" | grep -vE '^(e2fsck|Pass|$)' | head -3)"
		fi
	done < "$tmp/cuts"
	total=$(wc -l < "$tmp/cuts")
	[ $stopped = 1 ] && echo "# crash_ext4: $type: time bound reached after $ncut of $total cuts"
	[ "$ncut" -gt 0 ] && [ "$nclean" = "$ncut" ] && [ "$nintact" = "$ncut" ] &&
		pass "crash_ext4: $type: $ncut cuts after anyk's journal replay: e2fsck clean, fsync'ed files intact" ||
		fail "crash_ext4: $type: of $ncut cuts, $nclean clean and $nintact with every fsync'ed file intact" "$bad"
done
exit $failed
