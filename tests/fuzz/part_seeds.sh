#!/bin/sh
# Seeds for the partition-table fuzzer, made with sfdisk (util-linux's
# fdisk package): sh part_seeds.sh DIR. Left out quietly without sfdisk.
#   mbr      a DOS table: primaries, an extended one with two logical
#            partitions, a bootable one, a FAT type;
#   gpt      a GPT with three named partitions and its backup header;
#   gpt-ext4 a GPT whose partition holds a small ext4 file system.
set -u
out=${1:?usage: part_seeds.sh DIR}
PATH=$PATH:/sbin:/usr/sbin
command -v sfdisk >/dev/null 2>&1 || exit 0
work=$(mktemp -d "${TMPDIR:-/tmp}/anyk-pseeds.XXXXXX") || exit 0
trap 'rm -rf "$work"' EXIT
mk() { # NAME SIZE TABLE
	rm -f "$work/$1"
	truncate -s "$2" "$work/$1"
	printf "$3" | sfdisk -q --no-reread --no-tell-kernel "$work/$1" >/dev/null 2>&1 && cp "$work/$1" "$out/$1"
}
mk mbr 256K 'label: dos\nstart=2, size=50, type=83\nstart=60, size=300, type=5\nstart=62, size=40, type=83\nstart=110, size=40, type=c\nstart=400, size=50, type=83, bootable\n'
mk gpt 256K 'label: gpt\nfirst-lba: 34\nstart=40, size=100, name="one"\nstart=140, size=200, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="two"\nstart=340, size=50\n'
if mk gpt-ext4 1M 'label: gpt\nfirst-lba: 34\nstart=40, size=1900, name="root"\n' && command -v mke2fs >/dev/null 2>&1; then
	rm -f "$work/fs"
	mke2fs -q -F -t ext4 -O ^has_journal -b 1024 "$work/fs" 950K >/dev/null 2>&1 &&
		dd if="$work/fs" of="$out/gpt-ext4" bs=512 seek=40 conv=notrunc status=none
fi
exit 0
