#!/bin/sh
# The partition-table libFuzzer harness (part_fuzz.c) for FUZZ_SECONDS from
# the seeds part_seeds.sh makes (MBR, GPT, GPT with ext4); see run.sh.
exec sh "$(dirname "$0")/run.sh" part 1048576
