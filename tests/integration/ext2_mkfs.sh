#!/bin/sh
# anyk mkfs against the ext2/3/4 tools and the Linux kernel as oracles: for
# every type, block size, inode size and a few image sizes, e2fsck must find
# the new file system clean and dumpe2fs must show what was asked for; the
# defaults must match Debian's mke2fs field for field; Linux must mount it
# read-write (when root), anyk read-only; two runs with the same UUID and
# time must give the same bytes; and bad arguments must fail cleanly.
# Run by tests/run.sh with B set to the build directory.
set -u
B=${B:-build}
ANYK=$B/bin/anyk
if [ ! -x "$ANYK" ]; then
	echo "skip - ext2_mkfs: $ANYK not built"
	exit 77
fi
if ! command -v e2fsck >/dev/null 2>&1 || ! command -v dumpe2fs >/dev/null 2>&1; then
	PATH=$PATH:/sbin:/usr/sbin
fi
if ! command -v e2fsck >/dev/null 2>&1 || ! command -v dumpe2fs >/dev/null 2>&1; then
	echo "skip - ext2_mkfs: e2fsprogs (e2fsck, dumpe2fs) not installed"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-mkfs.XXXXXX") || exit 1
mnt=$tmp/mnt
mkdir "$mnt"
trap 'umount "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
img=$tmp/img
UUID=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff
TS=1700000000
failed=0

pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	failed=1
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}

# The features each type gets, in dumpe2fs's order.
features() {
	case $1 in
	ext2) echo "ext_attr resize_inode dir_index filetype sparse_super large_file" ;;
	ext3) echo "has_journal ext_attr resize_inode dir_index filetype sparse_super large_file" ;;
	ext4) echo "has_journal ext_attr resize_inode dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum" ;;
	esac
}

field() { sed -n "s/^$1:[[:space:]]*//p" "$tmp/hdr" | sed 's/[[:space:]]*$//'; }

# Can Linux mount loop images here? Decided once, with the first image.
linux_mount=unknown
linux_check() {
	name=$1
	if [ "$linux_mount" = no ]; then
		echo "skip - $name: Linux mount (needs root and loop devices)"
		return
	fi
	if ! mount -o loop,rw "$img" "$mnt" 2>"$tmp/merr"; then
		if [ "$linux_mount" = unknown ]; then
			linux_mount=no
			echo "skip - $name: Linux mount (needs root and loop devices)"
		else
			fail "$name: Linux mount" "$(cat "$tmp/merr")"
		fi
		return
	fi
	linux_mount=yes
	ok=1
	[ -d "$mnt/lost+found" ] || ok=0
	echo "written by Linux" >"$mnt/hello" || ok=0
	mkdir "$mnt/dir" || ok=0
	umount "$mnt" || ok=0
	if [ $ok = 1 ] && e2fsck -fn "$img" >"$tmp/fsck" 2>&1; then
		pass "$name: Linux mounts it read-write, writes, e2fsck still clean"
	else
		fail "$name: Linux read-write mount" "$(cat "$tmp/fsck" 2>/dev/null)"
	fi
}

anyk_ls() {
	name=$1
	# The shell mounts ext file systems on attached disks under /mnt by itself;
	# older shells do not, so mount explicitly then.
	out=$("$ANYK" shell -q --disk "$img:ro" -c 'ls -a /mnt/sd0' 2>"$tmp/err")
	if ! printf '%s\n' "$out" | grep -qx 'lost+found'; then
		out=$("$ANYK" shell -q --disk "$img:ro" -c 'mkdir /x; mount -r -t ext2 /dev/sd0 /x; ls -a /x' 2>"$tmp/err")
	fi
	if printf '%s\n' "$out" | grep -qx 'lost+found'; then
		pass "$name: anyk mounts it read-only and lists lost+found"
	else
		fail "$name: anyk read-only mount" "$out
$(cat "$tmp/err")"
	fi
}

# mk NAME ARGS...: make the image; sets $rc and $err.
mk() {
	rm -f "$img"
	"$ANYK" mkfs "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	err=$(cat "$tmp/err")
}

fsck_ok() {
	e2fsck -fn "$img" >"$tmp/fsck" 2>&1
}

# --- the matrix ------------------------------------------------------------

for t in ext2 ext3 ext4; do
	for bs in 1024 4096; do
		for is in 128 256; do
			for size in 8M 300M 2G; do
				name="$t -b $bs -I $is $size"
				mk -t "$t" -b "$bs" -I "$is" -L "lbl-$t" -U "$UUID" --timestamp "$TS" "$img" "$size"
				if [ "$rc" != 0 ]; then
					fail "$name: mkfs exit $rc" "$err"
					continue
				fi
				if ! fsck_ok; then
					fail "$name: e2fsck -fn" "$(cat "$tmp/fsck")"
					continue
				fi
				dumpe2fs -h "$img" >"$tmp/hdr" 2>/dev/null
				want="$(features "$t")"
				got="$(field 'Filesystem features')"
				if [ "$got" != "$want" ] || [ "$(field 'Block size')" != "$bs" ] ||
				    [ "$(field 'Inode size')" != "$is" ] ||
				    [ "$(field 'Filesystem volume name')" != "lbl-$t" ] ||
				    [ "$(field 'Filesystem UUID')" != "$UUID" ]; then
					fail "$name: dumpe2fs fields" "$(head -8 "$tmp/hdr")"
					continue
				fi
				pass "$name: e2fsck clean, features, sizes, label and UUID as asked"
				# Linux and anyk mounts on one size each, to keep the run short.
				if [ "$size" = 300M ]; then
					anyk_ls "$name"
					linux_check "$name"
				fi
			done
		done
	done
done

# --- defaults: the same geometry as Debian's mke2fs ----------------------------

if command -v mke2fs >/dev/null 2>&1; then
	keys='^(Filesystem features|Filesystem flags|Default mount options|Inode count|Block count|Reserved block count|Free blocks|Free inodes|Block size|Reserved GDT blocks|Inodes per group|Inode blocks per group|Flex block group size|Inode size|Required extra isize|Default directory hash|Journal backup|Total journal blocks)'
	for t in ext2 ext3 ext4; do
		for size in 2M 8M 300M 2G; do
			name="defaults $t $size"
			rm -f "$tmp/ref"
			truncate -s "$size" "$tmp/ref"
			if ! mke2fs -q -F -t "$t" "$tmp/ref" >/dev/null 2>&1; then
				echo "skip - $name: mke2fs failed"
				continue
			fi
			mk -q -t "$t" "$img" "$size"
			dumpe2fs -h "$tmp/ref" 2>/dev/null | grep -E "$keys" >"$tmp/want"
			dumpe2fs -h "$img" 2>/dev/null | grep -E "$keys" >"$tmp/got"
			if [ "$rc" = 0 ] && fsck_ok && cmp -s "$tmp/want" "$tmp/got"; then
				pass "$name: same features, counts, free blocks and journal as mke2fs"
			else
				fail "$name: differs from mke2fs (exit $rc)" "$(diff "$tmp/want" "$tmp/got")
$err"
			fi
		done
	done
	rm -f "$tmp/ref"
else
	echo "skip - defaults: mke2fs not installed"
fi

# --- options ---------------------------------------------------------------

# opt NAME GREP ARGS...: mkfs with ARGS must pass e2fsck and dumpe2fs -h must
# match GREP.
opt() {
	name=$1
	pat=$2
	shift 2
	mk "$@"
	if [ "$rc" != 0 ]; then
		fail "$name: exit $rc" "$err"
	elif ! fsck_ok; then
		fail "$name: e2fsck" "$(cat "$tmp/fsck")"
	elif ! dumpe2fs -h "$img" 2>/dev/null | grep -Eq -- "$pat"; then
		fail "$name: dumpe2fs does not match /$pat/" "$(dumpe2fs -h "$img" 2>/dev/null | head -12)"
	else
		pass "$name"
	fi
}

opt "ext4 without metadata_csum, with uninit_bg (crc16 descriptors)" 'features:.*flex_bg.*uninit_bg' \
	-t ext4 -O ^metadata_csum,uninit_bg "$img" 300M
opt "ext4 without flex_bg" 'features:.*extent 64bit sparse_super' -t ext4 -O ^flex_bg "$img" 300M
opt "ext4 without 64bit (32-byte descriptors)" 'features:.*extent flex_bg' -t ext4 -O ^64bit "$img" 300M
opt "ext4 without a journal" 'features:[[:space:]]*ext_attr' -t ext4 -O ^has_journal "$img" 64M
opt "ext4 with metadata_csum_seed" 'features:.*metadata_csum_seed' -t ext4 -O metadata_csum_seed "$img" 64M
opt "ext4 with casefold (utf8-12.1)" 'Character encoding:[[:space:]]*utf8-12.1' -t ext4 -O casefold "$img" 64M
opt "ext4 with -E encoding=utf8,encoding_flags=strict" 'features:.*casefold' \
	-t ext4 -E encoding=utf8,encoding_flags=strict "$img" 64M
if [ "$(od -An -tx1 -j $((1024 + 0x27C)) -N 4 "$img" | tr -d " ")" = 01000100 ] &&
	"$ANYK" info "$img" | grep -q "utf8-12.1 (strict)"; then
	pass "...the encoding and its strict flag in the superblock, as mke2fs writes them"
else
	fail "...the encoding and its strict flag in the superblock, as mke2fs writes them" \
		"$(od -An -tx1 -j $((1024 + 0x27C)) -N 4 "$img")"
fi
opt "ext4 with ea_inode" 'features:.*ea_inode' -t ext4 -O ea_inode "$img" 64M
opt "ext4 with inline_data" 'features:.*inline_data' -t ext4 -O inline_data "$img" 64M
opt "ext3 without resize_inode" 'features:[[:space:]]*has_journal ext_attr dir_index' -t ext3 -O ^resize_inode "$img" 64M
opt "ext4 with 2048-byte blocks" 'Block size:[[:space:]]*2048' -t ext4 -b 2048 "$img" 64M
opt "ext2 with -N 1000 inodes" 'Inode count:[[:space:]]*10[0-9][0-9]$' -t ext2 -N 1000 "$img" 64M
opt "ext4 with 1024-byte inodes" 'Inode size:[[:space:]]*1024' -t ext4 -I 1024 "$img" 64M
opt "ext4 journal with checksum v3" 'Journal features:.*journal_checksum_v3' -t ext4 "$img" 64M
opt "ext2 on a 1 MiB floppy-sized image" 'Inode count:[[:space:]]*128$' -t ext2 "$img" 1M
opt "ext3 too small for a journal: made without one" 'features:[[:space:]]*ext_attr' -t ext3 "$img" 1M
if printf '%s\n' "$err" | grep -q 'has_journal left out'; then
	pass "a journal left out is reported"
else
	fail "a journal left out is reported" "$err"
fi
# One 1 MiB group holds 3872 inodes only without the reserved descriptor
# blocks: resize_inode is dropped (and said so) unless asked for by name.
opt "ext2 1M -N 3870: resize_inode left out" 'features:[[:space:]]*ext_attr dir_index' -t ext2 -N 3870 "$img" 1M
if printf '%s\n' "$err" | grep -q 'resize_inode left out'; then
	pass "resize_inode left out is reported"
else
	fail "resize_inode left out is reported" "$err"
fi
mk -t ext2 -O resize_inode -N 3870 "$img" 1M
if [ "$rc" = 1 ] && printf '%s\n' "$err" | grep -q 'too small'; then
	pass "resize_inode asked for by name is not dropped: exit 1"
else
	fail "resize_inode asked for by name (exit $rc)" "$err"
fi
# A big sparse image: the ext4 journal at 1 KiB blocks spans block groups
# with superblock copies, so it needs an extent leaf block; at ext3's block
# map it needs a triple indirect block.
opt "ext4 -b 1024 on 20G (journal extents in a leaf block)" 'Total journal blocks:[[:space:]]*131072' \
	-t ext4 -b 1024 "$img" 20G
opt "ext3 -b 1024 on 20G (journal through a triple indirect block)" 'Total journal blocks:[[:space:]]*131072' \
	-t ext3 -b 1024 "$img" 20G
if [ "$(du -k "$img" | cut -f1)" -lt 65536 ]; then
	pass "a 20G image stays sparse"
else
	fail "a 20G image stays sparse" "$(du -k "$img")"
fi
rm -f "$img"

# An image that is not empty: the old contents are gone (the tool punches the
# file empty, like mke2fs's discard).
head -c 8388608 /dev/urandom >"$img"
"$ANYK" mkfs -t ext4 "$img" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 0 ] && fsck_ok && [ "$(stat -c %s "$img")" = 8388608 ]; then
	pass "an existing image full of noise, size taken from the file"
else
	fail "an existing image full of noise (exit $rc)" "$(cat "$tmp/err" "$tmp/fsck")"
fi

# Over a loop device (a block device: nothing is punched, so the kernel writes
# the zeros itself) on top of noise.
if [ "$linux_mount" = yes ] && command -v losetup >/dev/null 2>&1; then
	head -c 67108864 /dev/urandom >"$img"
	if dev=$(losetup -f --show "$img" 2>/dev/null); then
		"$ANYK" mkfs -t ext4 "$dev" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		e2fsck -fn "$dev" >"$tmp/fsck" 2>&1
		frc=$?
		losetup -d "$dev"
		if [ $rc = 0 ] && [ $frc = 0 ]; then
			pass "ext4 on a loop device over noise: inode tables and journal zeroed"
		else
			fail "ext4 on a loop device (exit $rc, e2fsck $frc)" "$(cat "$tmp/err" "$tmp/fsck")"
		fi
	else
		echo "skip - mkfs on a loop device: losetup failed"
	fi
else
	echo "skip - mkfs on a loop device: needs root and loop devices"
fi

# --- reproducibility ---------------------------------------------------------

for t in ext2 ext3 ext4; do
	mk -t "$t" -U "$UUID" --timestamp "$TS" "$img" 300M
	a=$(sha256sum "$img" | cut -d' ' -f1)
	mk -t "$t" -U "$UUID" --timestamp "$TS" "$img" 300M
	b=$(sha256sum "$img" | cut -d' ' -f1)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		pass "$t: two runs with the same -U and --timestamp are byte-identical"
	else
		fail "$t: runs differ ($a, $b)" "$err"
	fi
done
rm -f "$img"
SOURCE_DATE_EPOCH=$TS "$ANYK" mkfs -t ext4 -U "$UUID" "$img" 64M 2>/dev/null
a=$(sha256sum "$img" | cut -d' ' -f1)
mk -t ext4 -U "$UUID" --timestamp "$TS" "$img" 64M
b=$(sha256sum "$img" | cut -d' ' -f1)
if [ "$a" = "$b" ] && dumpe2fs -h "$img" 2>/dev/null | grep -q 'Filesystem created:.*2023'; then
	pass "SOURCE_DATE_EPOCH stands in for --timestamp"
else
	fail "SOURCE_DATE_EPOCH" "$a $b"
fi
mk -t ext4 -U 11111111-2222-4333-8444-555555555555 --timestamp "$TS" "$img" 64M
c=$(sha256sum "$img" | cut -d' ' -f1)
mk -t ext4 -U "$UUID" --timestamp "$((TS + 1))" "$img" 64M
d=$(sha256sum "$img" | cut -d' ' -f1)
if [ "$c" != "$b" ] && [ "$d" != "$b" ]; then
	pass "another UUID or time gives another image"
else
	fail "another UUID or time gives another image"
fi

# --- errors ---------------------------------------------------------------------

# bad NAME RC REGEX ARGS...: exit status RC and a message matching REGEX.
bad() {
	name=$1
	want=$2
	pat=$3
	shift 3
	mk "$@"
	if [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, want $want" "$err"
	elif ! printf '%s\n' "$err" | grep -Eiq -- "$pat"; then
		fail "$name: message does not match /$pat/" "$err"
	else
		pass "$name: exit $want with a message"
	fi
}

bad "size too small" 1 'too small' -t ext4 "$img" 32k
bad "block size not a power of 2" 2 'block size' -t ext4 -b 3000 "$img" 8M
bad "block size too big" 2 'block size' -t ext4 -b 131072 "$img" 8M
bad "inode size bigger than the block" 1 'inode size' -t ext4 -b 1024 -I 2048 "$img" 8M
bad "unknown feature" 1 "unknown feature 'frobnicate'" -t ext4 -O frobnicate "$img" 8M
bad "unsupported feature" 1 "not supported" -t ext4 -O bigalloc "$img" 8M
bad "inline_data with 128-byte inodes" 1 "at least 256" -t ext4 -I 128 -O inline_data "$img" 8M
bad "64bit without extents" 1 'extent' -t ext4 -O ^extent "$img" 8M
bad "the strict encoding flag without casefold" 1 "needs the casefold feature" -t ext4 -E encoding_flags=strict "$img" 8M
bad "an unknown extended option" 2 "extended option" -t ext4 -E stride=4 "$img" 8M
bad "unknown type" 2 'unknown type' -t ext5 "$img" 8M
bad "label too long" 2 'label' -t ext4 -L 12345678901234567 "$img" 8M
bad "bad UUID" 2 'UUID' -t ext4 -U 1234-xyz "$img" 8M
bad "bad size" 2 'size' -t ext4 "$img" 12q
bad "bad timestamp" 2 'timestamp' -t ext4 --timestamp soon "$img" 8M
bad "no image" 2 'IMAGE' -t ext4
bad "unknown option" 2 'unknown option' -t ext4 -Z "$img" 8M
bad "empty image without a size" 2 'SIZE' -t ext4 "$img"
rm -f "$img"
if "$ANYK" mkfs --help | grep -q 'ext2|ext3|ext4'; then
	pass "mkfs --help"
else
	fail "mkfs --help"
fi

exit $failed
