#!/bin/sh
# make demo: boot the anyk kernel inside the anyk tool, attach a fresh disk
# image, and walk through what it can do, with a heading before each step.
# Usage: sh tools/demo.sh BUILD_DIR   (the tool is BUILD_DIR/bin/anyk)
set -u
B=${1:-build}
ANYK=$B/bin/anyk
if [ ! -x "$ANYK" ]; then
	echo "demo: $ANYK not found; run make first" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
img=$tmp/disk.img

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] || say() { printf '\n== %s\n' "$*"; }

# An 8 MiB disk. With sfdisk it gets an MBR partition table: partition 1
# from sector 2048 (1 MiB) for 4096 sectors, partition 2 after it.
dd if=/dev/zero of="$img" bs=1024 count=8192 2>/dev/null || exit 1
if command -v sfdisk >/dev/null 2>&1 &&
    printf 'label: dos\nstart=2048, size=4096, type=83\nstart=6144, type=83\n' |
    sfdisk -q "$img" >/dev/null 2>&1; then
	part=/dev/sd0p1
	part_off=1048576
	say "A disk image of 8 MiB with two partitions (made by sfdisk on the host)"
	sfdisk -l "$img" 2>/dev/null | sed -n '/^Device/,$p'
else
	part=/dev/sd0
	part_off=0
	say "A raw disk image of 8 MiB (no sfdisk on this host, so no partitions)"
fi

# One sector of text to write through the kernel; checked on the host later.
msg="anyk wrote this through $part"
dd if=/dev/zero of="$tmp/sector" bs=512 count=1 2>/dev/null
printf '%s' "$msg" | dd of="$tmp/sector" conv=notrunc 2>/dev/null

say "Booting the kernel inside this process: anyk shell --disk disk.img"
echo "(everything below runs in the anyk kernel, linked into the anyk tool;"
echo " the '==' headings are printed by the shell's echo command)"

"$ANYK" shell --disk "$img" -c "
echo; echo '== The kernel log (dmesg): what booted and which components are linked in'
dmesg
echo; echo '== Devices in /dev: the image is sd0, its partitions sd0p1, sd0p2 (b = block device: major, minor)'
ls -l /dev
echo; echo '== The root file system is a tmpfs in memory. Write a file and read it back:'
echo 'Hello from inside the anyk kernel!' > /hello.txt
echo 'A second line, appended with >>' >> /hello.txt
cat /hello.txt
echo; echo '== Directories, a symbolic link and ls -l (mode, links, owner, group, size, time, name)'
mkdir -p /home/demo/projects
ln -s /hello.txt /home/demo/hello-link
cp /hello.txt /home/demo/copy.txt
chmod 600 /home/demo/copy.txt
ls -l /home/demo
cat /home/demo/hello-link
echo; echo '== stat: every attribute the kernel keeps, times to the nanosecond'
stat /hello.txt
echo; echo '== A second tmpfs, limited to 1 MiB, mounted on /mnt; df -h shows the limit'
mkdir /mnt
mount -t tmpfs -o size=1m tmpfs /mnt
truncate -s 256k /mnt/quarter
write /mnt/note 'this file lives in the second tmpfs'
ls -l /mnt
df -h
echo; echo '== The first sector of /dev/sd0: the partition table starts at 0x1be, the signature 55 aa ends it'
hexdump -n 512 /dev/sd0
echo; echo '== Writing one sector of text to $part through the kernel block layer'
cp host:$tmp/sector $part
sync
hexdump -n 64 $part
" || { echo; echo "demo: the step above failed (the kernel may not support it yet)"; exit 1; }

say "Back on the host: the bytes landed in disk.img at offset $part_off ($part)"
od -A d -c -j "$part_off" -N 48 "$img"
dd if="$img" of="$tmp/check" bs=512 skip=$((part_off / 512)) count=1 2>/dev/null
if cmp -s "$tmp/sector" "$tmp/check"; then
	echo "cmp: the sector in disk.img is identical to what was written. Done."
else
	echo "demo: the sector in disk.img differs from what was written" >&2
	exit 1
fi
