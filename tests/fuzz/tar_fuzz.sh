#!/bin/sh
# The tar reader's libFuzzer harness (tar_fuzz.c) for FUZZ_SECONDS from the
# archives tar_seeds.sh makes with GNU tar; see run.sh.
exec sh "$(dirname "$0")/run.sh" tar 1048576
