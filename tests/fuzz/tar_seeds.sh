#!/bin/sh
# Seeds for the tar fuzzer, made with GNU tar: sh tar_seeds.sh DIR. Each is
# a small tree archived in one of the formats the reader takes: pax (with
# xattrs, nanosecond times, a long name, a symlink, a hard link, a FIFO),
# GNU (long names and links as 'L'/'K' entries), ustar, and GNU sparse
# files in the pax 1.0 and old GNU forms. Left out quietly without tar.
set -u
out=${1:?usage: tar_seeds.sh DIR}
command -v tar >/dev/null 2>&1 || exit 0
work=$(mktemp -d "${TMPDIR:-/tmp}/anyk-tseeds.XXXXXX") || exit 0
trap 'rm -rf "$work"' EXIT
t=$work/t
mkdir -p "$t/dir/sub"
echo hello >"$t/dir/file"
ln "$t/dir/file" "$t/dir/hard"
ln -s file "$t/dir/link"
mkfifo "$t/dir/fifo" 2>/dev/null
long=$(printf 'n%.0s' $(seq 1 150))
echo long >"$t/dir/sub/$long"
setfattr -n user.k -v value "$t/dir/file" 2>/dev/null
truncate -s 200K "$t/sparse"
printf data | dd of="$t/sparse" bs=1 seek=100000 conv=notrunc status=none
cd "$t" || exit 0
tar --format=posix --xattrs -cf "$out/pax.tar" dir 2>/dev/null
tar --format=gnu -cf "$out/gnu.tar" dir 2>/dev/null
tar --format=ustar -cf "$out/ustar.tar" dir/file dir/link 2>/dev/null
tar --format=posix --sparse --sparse-version=1.0 -cf "$out/sparse10.tar" sparse 2>/dev/null
tar --format=gnu --sparse -cf "$out/sparse-gnu.tar" sparse 2>/dev/null
exit 0
