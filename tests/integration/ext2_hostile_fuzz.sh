#!/bin/sh
# make check's run of the ext2 libFuzzer harness: 60 seconds from the seed
# corpus (tests/fuzz/ext2_fuzz.sh skips when clang/libFuzzer are missing).
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SECONDS=${ANYK_CHECK_FUZZ_SECONDS:-60} exec sh tests/fuzz/ext2_fuzz.sh
