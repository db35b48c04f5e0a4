#!/bin/sh
# Components are registered by being linked: a program that links only the
# kernel core, the VFS and tmpfs (and the POSIX host) boots and works, and
# contains no other driver.
B=${B:-build}
CC=${CC:-cc}
flags="-std=c11 -D_GNU_SOURCE -Iinclude"
[ "${SAN:-}" = 1 ] && flags="$flags -fsanitize=address,undefined"
[ "${TSAN:-}" = 1 ] && flags="$flags -fsanitize=thread"
objs=$(ls "$B"/obj/kern/*.o "$B"/obj/kern/lib/*.o "$B"/obj/vfs/*.o "$B"/obj/fs/tmpfs/*.o "$B"/obj/host/posix/*.o |
	grep -v -e '/vfs/bio\.o$' -e '/kern/sys_pipe\.o$')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if $CC $flags -o "$out/prog" tests/integration/minimal/prog.c $objs -lpthread 2> "$out/err"; then
	echo "ok - a program links with only kern, vfs, tmpfs and the POSIX host"
else
	echo "not ok - minimal link failed:"; sed 's/^/    /' "$out/err"; exit 1
fi
drivers=$(nm --defined-only "$out/prog" | awk '{print $NF}' | grep -E '^(bdev_|devsw_|disk_|pipe_|part_|bread$|ext2_|fat_|iso9660_)' | head -5)
if [ -z "$drivers" ]; then
	echo "ok - it contains no block layer, device switch, disk, pipe or other file system code"
else
	echo "not ok - it contains driver symbols: $drivers"
fi
"$out/prog"
