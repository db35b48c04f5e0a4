#!/bin/sh
# Build and run one libFuzzer harness: sh tests/fuzz/run.sh NAME MAX_LEN
# runs build/fuzz/bin/NAME_fuzz for FUZZ_SECONDS (default 60) from the
# committed corpus tests/fuzz/corpus/NAME (if any) and the seeds
# tests/fuzz/NAME_seeds.sh makes (if it exists). Prints "ok - ..." with
# executions, speed and coverage, "not ok - ..." with the path of the input
# that crashed or hung, or "skip - ..." when clang or its libFuzzer runtime
# is missing. The committed corpus is only read; new inputs go to a scratch
# copy (FUZZ_OUT, default build/fuzz/NAME).
set -u
NAME=${1:?usage: run.sh NAME MAX_LEN}
MAX_LEN=${2:?usage: run.sh NAME MAX_LEN}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_CC=${FUZZ_CC:-clang}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build/fuzz/$NAME}
BIN=$ROOT/build/fuzz/bin/${NAME}_fuzz

if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	echo "skip - $NAME fuzzer: $FUZZ_CC not installed"
	exit 77
fi
probe=$(mktemp -d "${TMPDIR:-/tmp}/anyk-fuzzprobe.XXXXXX")
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' > "$probe/p.c"
if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
	rm -rf "$probe"
	echo "skip - $NAME fuzzer: $FUZZ_CC cannot link libFuzzer (libclang-rt-dev missing?)"
	exit 77
fi
rm -rf "$probe"

mkdir -p "$OUT"
if ! make -C "$ROOT" --no-print-directory -s FUZZ_CC="$FUZZ_CC" "build/fuzz/bin/${NAME}_fuzz" > "$OUT/build.log" 2>&1; then
	echo "not ok - $NAME fuzzer does not build (see $OUT/build.log)"
	tail -20 "$OUT/build.log" | sed 's/^/# /'
	exit 1
fi
echo "ok - $NAME fuzzer built with $FUZZ_CC"

rm -rf "$OUT/corpus" "$OUT/artifacts"
mkdir -p "$OUT/corpus" "$OUT/artifacts"
if [ -d "$ROOT/tests/fuzz/corpus/$NAME" ]; then
	cp "$ROOT/tests/fuzz/corpus/$NAME"/* "$OUT/corpus/"
fi
if [ -f "$ROOT/tests/fuzz/${NAME}_seeds.sh" ]; then
	sh "$ROOT/tests/fuzz/${NAME}_seeds.sh" "$OUT/corpus"
fi
# Leak checks after every input cost most of the speed; FUZZ_LEAKS=1 turns
# them on (make check SAN=1 checks leaks on the hostile inputs anyway).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=${FUZZ_LEAKS:-0}" \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$BIN" -max_total_time="$FUZZ_SECONDS" -timeout=25 -rss_limit_mb=4096 -max_len="$MAX_LEN" \
	-print_final_stats=1 -detect_leaks="${FUZZ_LEAKS:-0}" -close_fd_mask=2 -artifact_prefix="$OUT/artifacts/" \
	"$OUT/corpus" > "$OUT/fuzz.log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/fuzz.log" | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/fuzz.log" | tail -1)
last=$(grep -aE '^#[0-9]+' "$OUT/fuzz.log" | tail -1)
cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
crash=$(ls "$OUT"/artifacts/ 2>/dev/null | head -1)
if [ "$rc" != 0 ] || [ -n "$crash" ]; then
	echo "not ok - $NAME fuzzer failed (status $rc) after ${execs:-?} executions; input: $OUT/artifacts/$crash; log: $OUT/fuzz.log"
	grep -aE 'ERROR|SUMMARY|runtime error|timeout|#[0-9]+ +0x' "$OUT/fuzz.log" | head -25 | sed 's/^/# /'
	exit 1
fi
echo "ok - $NAME fuzzer ran ${FUZZ_SECONDS}s: ${execs:-?} executions (${speed:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
exit 0
