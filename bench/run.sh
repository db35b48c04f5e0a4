#!/bin/sh
# Run every benchmark program and record its output, with the machine and
# the commit it was measured on, in bench/results/<name>.txt.
set -u
B=${B:-build}
mkdir -p bench/results
for b in "$B"/bench/*; do
	[ -x "$b" ] || continue
	name=$(basename "$b")
	out=bench/results/$name.txt
	{
		echo "# $name — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo "# machine: $(nproc) cpus, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
		"$b" ${BENCH_ARGS:-}
	} > "$out.tmp" 2>&1 && mv "$out.tmp" "$out" || { cat "$out.tmp"; rm -f "$out.tmp"; echo "bench: $name failed"; continue; }
	cat "$out"
done
