#!/bin/sh
# The ext2/3/4 libFuzzer harness (ext2_fuzz.c) for FUZZ_SECONDS from the
# committed seed corpus and the seeds ext2_seeds.sh makes (inline_data,
# bigalloc, quota and casefold images); see run.sh.
exec sh "$(dirname "$0")/run.sh" ext2 262144
