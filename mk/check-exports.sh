#!/bin/sh
# libanyk.so and libanyk.a must define no global symbol that does not start
# with anyk_, so that the kernel's names never clash with the program's.
set -u
fail=0
for lib in "$@"; do
	case "$lib" in
	*.so) bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^anyk_' | grep -v '^$') ;;
	*) bad=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF==3 {print $3}' | grep -v '^anyk_' |
		grep -Ev '^(__odr_asan|___asan|__asan|__ubsan|__tsan|__sancov)' ) ;;
	esac
	if [ -n "$bad" ]; then
		echo "check-exports: $lib exports symbols outside anyk_*:"
		echo "$bad" | head -20
		fail=1
	fi
done
if [ $fail = 0 ]; then echo "ok - check-exports"; else echo "not ok - check-exports"; fi
exit $fail
