#!/bin/sh
# make check's run of the part libFuzzer harness (tests/fuzz/part_fuzz.c):
# 30 seconds from its seeds; "make fuzz" runs it longer. Skips when clang
# or libFuzzer are missing.
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SECONDS=${ANYK_CHECK_FUZZ_SECONDS:-30} exec sh tests/fuzz/part_fuzz.sh
