#!/bin/sh
# The kernel's one rule: its objects reference no symbol outside the kernel
# but anyk_hyp_* (and the sanitizer runtime in SAN/TSAN builds), and its
# sources include no header but the compiler's freestanding ones and its own.
# Prints "ok"/"not ok" lines for tests/run.sh.
set -u
fail=0
tmp=${TMPDIR:-/tmp}/anyk-fs.$$
trap 'rm -f "$tmp".*' EXIT
nm -g --defined-only "$@" 2>/dev/null | awk 'NF==3 {print $3}' | sort -u > "$tmp.def"
for o in "$@"; do
	nm -u "$o" | awk '{print $2}' | while read -r s; do
		case "$s" in
		anyk_hyp_*|__asan_*|__ubsan_*|__tsan_*|__sanitizer_*|__start_anyk_*|__stop_anyk_*|_GLOBAL_OFFSET_TABLE_) continue ;;
		esac
		if ! grep -qx "$s" "$tmp.def"; then
			echo "check-freestanding: $o references $s, which is outside the kernel"
			echo x >> "$tmp.bad"
		fi
	done
done
[ -f "$tmp.bad" ] && fail=1
srcs=$(ls kern/*.[ch] kern/lib/*.[ch] vfs/*.[ch] fs/*/*.[ch] dev/*.[ch] net/*.[ch] 2>/dev/null)
bad=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' $srcs 2>/dev/null |
	grep -Ev '<(stddef|stdint|stdarg|stdbool|limits|stdalign|stdnoreturn)\.h>|<anyk/(abi|hyper|anyk)\.h>')
if [ -n "$bad" ]; then
	echo "check-freestanding: kernel source includes a hosted header:"
	echo "$bad"
	fail=1
fi
if [ $fail = 0 ]; then echo "ok - check-freestanding"; else echo "not ok - check-freestanding"; fi
exit $fail
