#!/bin/sh
# The semantics suite again with the kernel running without kernel threads
# (ANYK_THREADS=0), the mode of hosts that have none: deferred work then runs
# only when the program calls anyk_run_pending(). Output passes through so
# that the runner counts its lines.
B=${B:-build}
exec env ANYK_THREADS=0 "$B/tests/posix/semantics"
