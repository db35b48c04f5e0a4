#!/bin/sh
# The README's "API in twenty lines" must compile against the installed
# headers and library (pkg-config), and run: docs that stay true.
B=${B:-build}
CC=${CC:-cc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=""
[ "${SAN:-}" = 1 ] && flags="-fsanitize=address,undefined"
[ "${TSAN:-}" = 1 ] && flags="-fsanitize=thread"
if ! make --no-print-directory -s install PREFIX="$out/prefix" SAN="${SAN:-}" TSAN="${TSAN:-}" > "$out/install.log" 2>&1; then
	echo "not ok - make install failed:"; sed 's/^/    /' "$out/install.log"; exit 1
fi
for f in include/anyk/anyk.h include/anyk/abi.h include/anyk/hyper.h lib/libanyk.a lib/libanyk.so bin/anyk lib/pkgconfig/anyk.pc; do
	if [ -e "$out/prefix/$f" ]; then echo "ok - make install put $f"; else echo "not ok - make install did not put $f"; fi
done
awk '/^```c$/ {on=1; next} /^```$/ {if (on) exit} on' README.md > "$out/prog.c"
[ -s "$out/prog.c" ] || { echo "not ok - no C example in README.md"; exit 1; }
cflags=$(PKG_CONFIG_PATH="$out/prefix/lib/pkgconfig" pkg-config --cflags anyk 2>/dev/null || echo "-I$out/prefix/include")
if $CC -std=c11 $flags $cflags -o "$out/prog" "$out/prog.c" "$out/prefix/lib/libanyk.a" -lpthread 2> "$out/cc.log"; then
	echo "ok - the README example compiles against the installed headers and library"
else
	echo "not ok - the README example does not compile:"; sed 's/^/    /' "$out/cc.log"; exit 1
fi
( cd "$out" && truncate -s 1M disk.img && ./prog > run.log 2>&1 )
rc=$?
if [ $rc = 0 ] && grep -q "14 bytes" "$out/run.log" && grep -q "root file system: tmpfs" "$out/run.log"; then
	echo "ok - the README example runs and prints what it promises"
else
	echo "not ok - the README example failed (status $rc):"; sed 's/^/    /' "$out/run.log"
fi
