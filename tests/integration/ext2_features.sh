#!/bin/sh
# ext2/3/4 feature sets images come with, through the anyk tool. For each
# set anyk can write (orphan_file, metadata_csum_seed, stable_inodes,
# fast_commit, sparse_super2 with 0, 1 and 2 backups, meta_bg, uninit_bg
# without metadata_csum, no flex_bg, no 64bit, no journal, 128-byte inodes,
# large_dir, ext3 and ext2): copy a tree in, make, move and remove
# directories, write a file that spans block groups, require e2fsck to find
# nothing and the tree to come back out unchanged. For the features anyk
# only reads (quota, project, verity, mmp), reading works and a write is
# refused with the reason; for those it does not know (inline_data,
# ea_inode, casefold, encrypt, bigalloc), every command is refused with the
# feature named. A refused image is left byte for byte as it was.
T_NAME=ext2_features
. "$(dirname "$0")/../lib.sh"
need_tools mke2fs e2fsck cmp
need_built "$ANYK"
t_tmpdir

src=$tmp/src
mkdir -p "$src/sub/deeper" "$src/empty"
echo hello >"$src/a.txt"
head -c 300000 /dev/urandom >"$src/sub/b.bin"
head -c 5000 /dev/urandom >"$src/sub/deeper/c"
ln -s a.txt "$src/lnk"
ln "$src/a.txt" "$src/hard"
head -c 24000000 /dev/urandom >"$tmp/big"

img=$tmp/i.img
# mk NAME TYPE FEATURES [EXTRA...]: a fresh 64 MiB image of src (1 KiB
# blocks, so 8 groups, unless EXTRA says otherwise); 1, said, if this
# mke2fs cannot make it.
mk() {
	t=$2 f=$3
	shift 3
	rm -f "$img"
	mke2fs -q -F -t "$t" ${f:+-O "$f"} "$@" -d "$src" "$img" 64M >"$tmp/mkfs.out" 2>&1 && return 0
	echo "# $name: this mke2fs cannot make it: $(tail -1 "$tmp/mkfs.out")"
	return 1
}

writable() { # NAME TYPE FEATURES [EXTRA...]
	name=$1
	mk "$@" || return
	out=$tmp/out
	rm -rf "$out"
	if "$ANYK" cp -r -p "$src" "$img:/copy" >"$tmp/err" 2>&1 &&
		"$ANYK" mkdir -p "$img:/a/b/c" >>"$tmp/err" 2>&1 &&
		"$ANYK" mv "$img:/a/b" "$img:/copy/moved" >>"$tmp/err" 2>&1 &&
		"$ANYK" rm -r "$img:/sub" >>"$tmp/err" 2>&1 &&
		"$ANYK" cp "$tmp/big" "$img:/copy/big" >>"$tmp/err" 2>&1 &&
		"$ANYK" rm "$img:/copy/big" >>"$tmp/err" 2>&1 &&
		"$ANYK" cp "$tmp/big" "$img:/big" >>"$tmp/err" 2>&1; then
		pass "$name: written"
	else
		fail "$name: written" "$(cat "$tmp/err")"
	fi
	run_check "$name: e2fsck -fn clean" e2fsck -fn "$img"
	"$ANYK" rmdir "$img:/copy/moved/c" "$img:/copy/moved" >/dev/null 2>&1
	if "$ANYK" cp -r -p "$img:/copy" "$out" >"$tmp/err" 2>&1 && diff -r "$src" "$out" >>"$tmp/err" 2>&1 &&
		"$ANYK" cp "$img:/big" "$tmp/big.out" >>"$tmp/err" 2>&1 && cmp "$tmp/big" "$tmp/big.out" >>"$tmp/err" 2>&1; then
		pass "$name: the tree comes back out unchanged"
	else
		fail "$name: the tree comes back out unchanged" "$(cat "$tmp/err")"
	fi
}

readonly_only() { # NAME WHY TYPE FEATURES [EXTRA...]
	name=$1 why=$2
	shift
	mk "$@" || return
	cp "$img" "$tmp/before"
	run_check "$name: read" sh -c "'$ANYK' cat '$img:/sub/b.bin' | cmp - '$src/sub/b.bin'"
	"$ANYK" mkdir "$img:/new" >"$tmp/err" 2>&1
	rc=$?
	check "$name: a write is refused (exit 1) with the reason" \
		'[ $rc = 1 ] && grep -q "read-only\|read-write" "$tmp/err" && grep -q "$why" "$tmp/err"' \
		"rc=$rc $(cat "$tmp/err")"
	check "$name: the refused image is unchanged" 'cmp -s "$img" "$tmp/before"'
}

unknown() { # NAME TYPE FEATURES [EXTRA...]
	name=$1
	mk "$@" || return
	cp "$img" "$tmp/before"
	"$ANYK" ls "$img:/" >"$tmp/err" 2>&1
	rc=$?
	check "$name: refused (exit 1), the feature named" '[ $rc = 1 ] && grep -q "$name" "$tmp/err"' \
		"rc=$rc $(cat "$tmp/err")"
	"$ANYK" mkdir "$img:/new" >/dev/null 2>&1
	check "$name: the refused image is unchanged" 'cmp -s "$img" "$tmp/before"'
}

writable ext4 ext4 "" -b 1024
writable ext4-4k ext4 "" -b 4096
writable orphan_file ext4 orphan_file -b 1024
writable metadata_csum_seed ext4 metadata_csum_seed -b 1024
writable stable_inodes ext4 stable_inodes -b 1024
writable fast_commit ext4 fast_commit -b 1024
writable "sparse_super2, no backups" ext4 sparse_super2 -b 1024 -E num_backup_sb=0
writable "sparse_super2, one backup" ext4 sparse_super2 -b 1024 -E num_backup_sb=1
writable "sparse_super2, two backups" ext4 sparse_super2 -b 1024 -E num_backup_sb=2
writable "sparse_super2 without resize_inode" ext4 sparse_super2,^resize_inode -b 1024
writable "no sparse_super" ext4 ^sparse_super,^resize_inode -b 1024
writable meta_bg ext4 meta_bg,^resize_inode -b 1024
writable "uninit_bg without metadata_csum" ext4 uninit_bg,^metadata_csum -b 1024
writable "no flex_bg" ext4 ^flex_bg -b 1024
writable "no 64bit" ext4 ^64bit -b 1024
writable "no journal" ext4 ^has_journal -b 1024
writable "128-byte inodes" ext4 "" -b 1024 -I 128
writable large_dir ext4 large_dir -b 1024
writable "no extents" ext4 ^extent,^64bit -b 1024
writable ext3 ext3 "" -b 1024
writable ext2 ext2 "" -b 1024
readonly_only quota quota ext4 quota -b 1024
readonly_only project project ext4 project,quota -b 1024 -I 256
readonly_only verity verity ext4 verity -b 4096
readonly_only mmp "multi-mount" ext4 mmp -b 4096
unknown inline_data ext4 inline_data -b 1024
unknown ea_inode ext4 ea_inode -b 1024
unknown casefold ext4 casefold -b 4096
unknown encrypt ext4 encrypt -b 4096
unknown bigalloc ext4 bigalloc -b 4096 -C 16384
exit $failed
