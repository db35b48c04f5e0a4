#!/bin/sh
# Run every test program and script, count their assertions and print the
# closing line "N passed, N failed, N skipped".
#
# A test prints one line per assertion: "ok - NAME", "not ok - NAME" or
# "skip - NAME (why)". It exits 0 if nothing failed, 77 if it skipped as a
# whole, anything else on failure. A test that dies (signal, time-out,
# sanitizer report) without printing a failure is counted as one failure.
set -u
B=${B:-build}
export B
LOGS=$B/test-logs
mkdir -p "$LOGS"
# ThreadSanitizer runs the kernel 5-15 times slower: the hostile-image
# test alone takes close to 600 s there.
if [ -n "${TSAN:-}" ] && [ "${TSAN:-}" != 0 ]; then
	TIMEOUT=${ANYK_TEST_TIMEOUT:-1500}
else
	TIMEOUT=${ANYK_TEST_TIMEOUT:-600}
fi
pass=0 fail=0 skip=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

run_one() { # name, command...
	name=$1; shift
	log=$LOGS/$(echo "$name" | tr '/ ' '__').log
	start=$(date +%s)
	timeout -k 10 "$TIMEOUT" "$@" > "$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^skip ' "$log")
	if [ "$rc" = 77 ] && [ "$p$f$s" = "000" ]; then s=1; fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >> "$log"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$f" != 0 ]; then
		echo "FAIL $name: $p passed, $f failed, $s skipped (${secs}s; log $log)"
		grep -E '^not ok |ERROR|Sanitizer|runtime error' "$log" | head -15 | sed 's/^/    /'
	elif [ "$p" = 0 ] && [ "$s" != 0 ]; then
		echo "SKIP $name: $(grep '^skip ' "$log" | head -1 | sed 's/^skip - //')"
	else
		echo "PASS $name: $p passed, $s skipped (${secs}s)"
	fi
}

run_one check-freestanding make --no-print-directory -s check-freestanding SAN=${SAN:-} TSAN=${TSAN:-}
run_one check-exports make --no-print-directory -s check-exports SAN=${SAN:-} TSAN=${TSAN:-}
for t in "$B"/tests/unit/* "$B"/tests/posix/* "$B"/tests/integration/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue ;; esac
	run_one "${t#$B/tests/}" "$t"
done
for t in tests/unit/*.sh tests/posix/*.sh tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_one "${t#tests/}" sh "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
