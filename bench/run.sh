#!/bin/sh
# Run every benchmark and record its output, with the machine and the commit
# it was measured on, in bench/results/<name>.txt. A benchmark is a program
# built from bench/<name>.c or a script bench/<name>.sh (run with B and
# BENCH_ARGS); a program with a script of the same name, or named after a
# script and "_" (fuse_null for fuse.sh), is that script's helper and is not
# run on its own. BENCH_ARGS=--quick for shorter runs,
# recorded outside the tree (not to be committed as results);
# BENCH_ONLY="ext2 fuse" runs only those.
set -u
B=${B:-build}
R=bench/results
case " ${BENCH_ARGS:-} " in *" --quick "*) R=${TMPDIR:-/tmp}/anyk-bench-quick ;; esac
mkdir -p "$R"
for b in "$B"/bench/* bench/*.sh; do
	[ -x "$b" ] || [ "${b%.sh}" != "$b" ] || continue
	name=$(basename "$b" .sh)
	[ "$b" = bench/run.sh ] && continue
	case $b in *.sh) ;; *) { [ -e bench/$name.sh ] || [ -e "bench/${name%%_*}.sh" ]; } && continue ;; esac
	case " ${BENCH_ONLY:-$name} " in *" $name "*) ;; *) continue ;; esac
	out=$R/$name.txt
	{
		echo "# $name — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo "# machine: $(nproc) cpus, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
		case $b in
		*.sh) B=$B sh "$b" ${BENCH_ARGS:-} ;;
		*) "$b" ${BENCH_ARGS:-} ;;
		esac
	} > "$out.tmp.$$" 2>&1 && mv "$out.tmp.$$" "$out" || { cat "$out.tmp.$$"; rm -f "$out.tmp.$$"; echo "bench: $name failed"; continue; }
	cat "$out"
done
