#!/bin/sh
# Seeds for the ext2 fuzzer that are made, not committed: sh ext2_seeds.sh DIR
# writes them into DIR (ext2_fuzz.sh calls it for its scratch corpus). Each
# needs mke2fs, and is left out quietly when mke2fs cannot make it.
#   inline-1k  inline_data in 256 KiB (the harness's image size): files of 0
#              to 100 bytes, a larger one, inline directories (one with an
#              entry in its system.data value, put there with debugfs as
#              Linux would), a directory in blocks, short and long links,
#              an xattr beside system.data.
#   bigalloc-1k bigalloc, clusters of 4 blocks, in 256 KiB: a small tree.
#   quota-1k   quota (user and group files) in 256 KiB: a small tree, the
#              usage made right by e2fsck.
#   casefold-1k casefold and encrypt in 256 KiB: a directory of mixed-case
#              names given the casefold flag (debugfs), a file the encrypt
#              flag.
#   ea-1k      ea_inode in 256 KiB: a file whose 3,000-byte attribute is in
#              an inode of its own (1 KiB blocks).
set -u
out=${1:?usage: ext2_seeds.sh DIR}
PATH=$PATH:/sbin:/usr/sbin
command -v mke2fs >/dev/null 2>&1 || exit 0
work=$(mktemp -d "${TMPDIR:-/tmp}/anyk-seeds.XXXXXX") || exit 0
trap 'rm -rf "$work"' EXIT

t=$work/tree
mkdir -p "$t/d/e" "$t/many"
for n in 0 1 60 61 100; do head -c $n /dev/zero | tr '\0' 'a' >"$t/f$n"; done
head -c 3000 /dev/zero | tr '\0' 'b' >"$t/big"
echo x >"$t/d/x"
i=0
while [ $i -lt 30 ]; do
	: >"$t/many/name-$i"
	i=$((i + 1))
done
ln -s f1 "$t/s"
ln -s "$(printf './%.0s' $(seq 40))f100" "$t/long"
img=$work/bigalloc-1k
mke2fs -q -F -t ext4 -O bigalloc,^has_journal,^resize_inode -b 1024 -C 4096 -I 256 -N 64 -E root_owner=0:0 \
	-d "$t/d" "$img" 256k >/dev/null 2>&1 && cp "$img" "$out/gen-bigalloc-1k"
img=$work/quota-1k
if mke2fs -q -F -t ext4 -O quota,^has_journal,^resize_inode -b 1024 -I 256 -N 64 -E root_owner=0:0 \
	-d "$t/d" "$img" 256k >/dev/null 2>&1; then
	command -v e2fsck >/dev/null 2>&1 && e2fsck -fy "$img" >/dev/null 2>&1
	cp "$img" "$out/gen-quota-1k"
fi
img=$work/casefold-1k
mkdir -p "$work/cf/Names"
for n in Alpha beta GAMMA Delta-1 delta-2; do : >"$work/cf/Names/$n"; done
echo secret >"$work/cf/Sealed"
if mke2fs -q -F -t ext4 -O casefold,encrypt,^has_journal,^resize_inode -b 1024 -I 256 -N 64 -E root_owner=0:0 \
	-d "$work/cf" "$img" 256k >/dev/null 2>&1 && command -v debugfs >/dev/null 2>&1; then
	fl=$(debugfs -R 'stat /Names' "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field /Names flags $(( ${fl:-0} | 0x40000000 ))" "$img" >/dev/null 2>&1
	fl=$(debugfs -R 'stat /Sealed' "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field /Sealed flags $(( ${fl:-0} | 0x800 ))" "$img" >/dev/null 2>&1
	cp "$img" "$out/gen-casefold-1k"
fi
img=$work/ea-1k
mkdir -p "$work/ea"
echo v >"$work/ea/f"
if command -v setfattr >/dev/null 2>&1 &&
	setfattr -n user.big -v "$(head -c 3000 /dev/zero | tr '\0' 'v')" "$work/ea/f" 2>/dev/null &&
	mke2fs -q -F -t ext4 -O ea_inode,^has_journal,^resize_inode -b 1024 -I 256 -N 64 -E root_owner=0:0 \
		-d "$work/ea" "$img" 256k >/dev/null 2>&1; then
	command -v e2fsck >/dev/null 2>&1 && e2fsck -fy "$img" >/dev/null 2>&1
	cp "$img" "$out/gen-ea-1k"
fi
img=$work/inline-1k
mke2fs -q -F -t ext4 -O inline_data,^has_journal,^resize_inode -b 1024 -I 256 -N 64 -E root_owner=0:0 \
	-d "$t" "$img" 256k >/dev/null 2>&1 || exit 0
if command -v debugfs >/dev/null 2>&1; then
	ino=$(debugfs -R 'stat /f1' "$img" 2>/dev/null | sed -n 's/^Inode: *\([0-9]*\).*/\1/p')
	if [ -n "$ino" ] && [ "$ino" -lt 256 ]; then
		# inode, record length 12, name length 1, regular file, "v", padding
		printf "\\$(printf %03o "$ino")\\000\\000\\000\\014\\000\\001\\001v\\000\\000\\000" >"$work/val"
		printf 'ea_set -f %s /d system.data\nsif /d size 72\nsif /f1 links_count 2\nea_set /f100 user.k v\n' \
			"$work/val" | debugfs -w -f - "$img" >/dev/null 2>&1
	fi
fi
cp "$img" "$out/gen-inline-1k"
