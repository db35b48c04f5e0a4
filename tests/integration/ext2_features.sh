#!/bin/sh
# ext2/3/4 feature sets images come with, through the anyk tool. For each
# set anyk can write (orphan_file, metadata_csum_seed, stable_inodes,
# fast_commit, sparse_super2 with 0, 1 and 2 backups, meta_bg, uninit_bg
# without metadata_csum, no flex_bg, no 64bit, no journal, 128-byte inodes,
# large_dir, ext3 and ext2): copy a tree in, make, move and remove
# directories, write a file that spans block groups, require e2fsck to find
# nothing and the tree to come back out unchanged. For the features anyk
# only reads (mmp), reading works and a write is refused with the reason.
# bigalloc, read in full and never written, is read as Linux reads it, by
# the image commands and through anyk mount (readonly_tree); ea_inode
# read and written (ea_inode_tree); encrypt and casefold written, each with
# its own test. inline_data, quota, project and verity are read and written
# (below). A refused image is left byte for byte as it was.
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

# write_refused NAME WHY: a write to img fails (exit 1) saying it is read-only
# and why, and img stays as $tmp/before.
write_refused() {
	why=$2
	"$ANYK" mkdir "$img:/new" >"$tmp/err" 2>&1
	rc=$?
	check "$1: a write is refused (exit 1) with the reason" \
		'[ $rc = 1 ] && grep -q "read-only\|read-write" "$tmp/err" && grep -q "$why" "$tmp/err"' \
		"rc=$rc $(cat "$tmp/err")"
	check "$1: the refused image is unchanged" 'cmp -s "$img" "$tmp/before"'
}

readonly_only() { # NAME WHY TYPE FEATURES [EXTRA...]
	name=$1 why=$2
	shift
	mk "$@" || return
	cp "$img" "$tmp/before"
	run_check "$name: read" sh -c "'$ANYK' cat '$img:/sub/b.bin' | cmp - '$src/sub/b.bin'"
	run_check "$name: anyk check finds nothing" "$ANYK" check "$img"
	write_refused "$name" "$why"
}

# Through anyk mount (FUSE), which serves the image read-only: the same
# tree, and writes refused. Skipped without /dev/fuse or libfuse3.
fuse_tree() { # NAME COMPARE [MOUNT-OPTIONS]: COMPARE (a command on DIR) must succeed
	if ! [ -c /dev/fuse ] || ! "$ANYK" help mount >/dev/null 2>&1; then
		echo "skip - $1: through anyk mount (no FUSE here)"
		return
	fi
	mkdir -p "$tmp/fmnt"
	# shellcheck disable=SC2086
	if ! "$ANYK" mount ${3:-} "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		check "$1: anyk mount serves it read-only" false "$(cat "$tmp/ferr")"
		return
	fi
	$2 "$tmp/fmnt" >"$tmp/fdiff" 2>&1
	rc=$?
	touch "$tmp/fmnt/f1" 2>/dev/null
	wrc=$?
	"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
	check "$1: anyk mount serves the same tree read-only" '[ $rc = 0 ] && [ $wrc != 0 ]' \
		"rc=$rc write rc=$wrc $(cat "$tmp/ferr" "$tmp/fdiff")"
	check "$1: the image is unchanged after anyk mount" 'cmp -s "$img" "$tmp/before"'
}
same_manifest() { manifest "$1" | cmp -s "$tmp/src.m" -; }
same_tree() { diff -r -x lost+found "$src" "$1"; }

# A feature anyk reads in full but does not write (bigalloc): the tree, with
# a 24 MB file across groups, comes out as it went in, as Linux reads it
# too (as root); anyk check finds nothing; a write is refused naming the
# feature and leaves the image as it was.
readonly_tree() { # NAME TYPE FEATURES [EXTRA...]
	name=$1
	cp "$tmp/big" "$src/big"
	if ! mk "$@"; then
		rm -f "$src/big"
		return
	fi
	cp "$img" "$tmp/before"
	rm -rf "$tmp/out"
	"$ANYK" cp -r -p "$img:/" "$tmp/out" >"$tmp/err" 2>&1 && diff -r -x lost+found "$src" "$tmp/out" >>"$tmp/err" 2>&1
	rc=$?
	check "$name: the tree comes out as it went in" '[ $rc = 0 ]' "$(cat "$tmp/err")"
	run_check "$name: anyk check finds nothing" "$ANYK" check "$img"
	if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/kmnt" && mount -o loop,ro "$img" "$tmp/kmnt" 2>/dev/null; then
		diff -r -x lost+found "$tmp/kmnt" "$tmp/out" >"$tmp/err" 2>&1
		rc=$?
		umount "$tmp/kmnt"
		check "$name: Linux reads the same tree off a loop mount" '[ $rc = 0 ]' "$(cat "$tmp/err")"
	else
		echo "skip - $name: Linux loop mount (needs root and loop devices)"
	fi
	fuse_tree "$name" same_tree
	rm -f "$src/big"
	write_refused "$name" "${name%%,*}"
}

# ea_inode: an attribute value too large for the inode and a block (3,900
# bytes at 1 KiB blocks) lives in an inode of its own. mke2fs -d puts it
# there from the host tree; anyk reads it back (cp -p, and through anyk
# mount) as the host and Linux have it; check passes; a new value is
# written, e2fsck-clean, and Linux reads it.
ea_value_same() { getfattr --only-values -n user.big "$1/f" 2>/dev/null | cmp -s - "$tmp/eaval"; }
ea_inode_tree() {
	name=ea_inode
	esrc=$tmp/esrc
	rm -rf "$esrc" && mkdir -p "$esrc"
	echo hi >"$esrc/f"
	head -c 3000 /dev/urandom | base64 -w0 | head -c 3900 >"$tmp/eaval"
	if ! command -v setfattr >/dev/null 2>&1 || ! setfattr -n user.big -v "$(cat "$tmp/eaval")" "$esrc/f" 2>/dev/null; then
		echo "skip - $name: no 3,900-byte user attribute on the host's $tmp"
		return
	fi
	rm -f "$img"
	if ! mke2fs -q -F -t ext4 -O ea_inode -b 1024 -I 256 -d "$esrc" "$img" 16M >"$tmp/mkfs.out" 2>&1; then
		echo "skip - $name: this mke2fs cannot make it: $(tail -1 "$tmp/mkfs.out")"
		return
	fi
	# mke2fs -d leaves the owner's i_blocks without the value's blocks,
	# which ext4 and e2fsck count there: e2fsck -fy adds them.
	e2fsck -fy "$img" >/dev/null 2>&1
	run_check "$name: e2fsck -fn clean" e2fsck -fn "$img"
	cp "$img" "$tmp/before"
	fl=$(debugfs -R "stat <13>" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	check "$name: the value is in an inode of its own" '[ $((${fl:-0} & 0x200000)) != 0 ]' "flags ${fl:-none}"
	rm -rf "$tmp/out"
	"$ANYK" cp -r -p "$img:/" "$tmp/out" >"$tmp/err" 2>&1
	rc=$?
	check "$name: anyk cp -p brings the value out" '[ $rc = 0 ] && ea_value_same "$tmp/out"' "rc=$rc $(cat "$tmp/err")"
	run_check "$name: anyk check finds nothing" "$ANYK" check "$img"
	if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/kmnt" && mount -o loop,ro "$img" "$tmp/kmnt" 2>/dev/null; then
		ea_value_same "$tmp/kmnt"
		rc=$?
		umount "$tmp/kmnt"
		check "$name: Linux reads the same value off a loop mount" '[ $rc = 0 ]'
	else
		echo "skip - $name: Linux loop mount (needs root and loop devices)"
	fi
	fuse_tree "$name" ea_value_same "-o ro"
	# Written too (ext2_xattr_write.c tests it at length): a new value
	# replaces the old one's inode, another file's goes with the file.
	if [ -c /dev/fuse ] && "$ANYK" help mount >/dev/null 2>&1 && "$ANYK" mount "$img" "$tmp/fmnt" 2>"$tmp/ferr"; then
		head -c 6000 /dev/urandom | base64 -w0 | head -c 7000 >"$tmp/eaval"
		setfattr -n user.big -v "$(cat "$tmp/eaval")" "$tmp/fmnt/f"
		rc=$?
		echo x >"$tmp/fmnt/g" && setfattr -n user.g -v "$(cat "$tmp/eaval")" "$tmp/fmnt/g" && rm "$tmp/fmnt/g"
		rc=$((rc + $?))
		ea_value_same "$tmp/fmnt"
		rc=$((rc + $?))
		"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
		check "$name: values written and removed through anyk mount" '[ $rc = 0 ]'
		run_check "$name: e2fsck -fn clean after the writes" e2fsck -fn "$img"
		if [ "$(id -u)" = 0 ] && mount -o loop,ro "$img" "$tmp/kmnt" 2>/dev/null; then
			ea_value_same "$tmp/kmnt"
			rc=$?
			umount "$tmp/kmnt"
			check "$name: Linux reads the new value" '[ $rc = 0 ]'
		fi
	else
		echo "skip - $name: writes through anyk mount (no FUSE here)"
	fi
}

# quota: the hidden quota files count inodes and bytes per user and group;
# e2fsck checks them against the inodes. Writes that change owners, add
# and remove files and grow them (through the commands and anyk mount)
# must leave them right, with the limits set on them kept. (mke2fs -d
# leaves the counts of what it copied wrong: e2fsck -fy sets them first.)
quota_usage() { # TYPE ID: "space inodes" of ID in the TYPE quota file
	debugfs -R "list_quota $1" "$img" 2>/dev/null | awk -v id="$2" '$1 == id { print $2, $5 }'
}
# Set the 8-byte field at OFFSET of id 0's entry in the quota file of
# inode INUM to VALUE, in the image.
set_limit() { # INUM OFFSET VALUE
	debugfs -R "dump <$1> $tmp/qf" "$img" >/dev/null 2>&1 || return 1
	at=$(python3 - "$tmp/qf" "$2" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb").read()
def walk(blk, depth):
    b = f[blk * 1024:(blk + 1) * 1024]
    if depth == 4:
        for i in range(14):
            o = 16 + i * 72
            if b[o:o + 72] != bytes(72) and struct.unpack_from("<I", b, o)[0] == 0:
                return blk * 1024 + o
        return None
    for i in range(256):
        r = struct.unpack_from("<I", b, 4 * i)[0]
        if r:
            got = walk(r, depth + 1)
            if got is not None:
                return got
    return None
print(walk(1, 0) + int(sys.argv[2]))
PY
) || return 1
	blk=$(debugfs -R "bmap <$1> $((at / 1024))" "$img" 2>/dev/null)
	[ -n "$blk" ] && [ "$blk" -gt 0 ] || return 1
	python3 -c 'import struct, sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(struct.pack("<Q", int(sys.argv[3])))' \
		"$img" $((blk * 1024 + at % 1024)) "$3"
}
quota_tree() {
	name=quota
	command -v debugfs >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 ||
		{ echo "skip - $name: no debugfs or python3"; return; }
	mk "$name" ext4 quota -b 1024 -I 256 || return
	e2fsck -fy "$img" >/dev/null 2>&1
	run_check "$name: e2fsck -fn clean before" e2fsck -fn "$img"
	# Limits for id 0, put in the files' entries by hand (debugfs sets none).
	set_limit 3 32 900000 && set_limit 4 8 4242 || fail "$name: limits set in the quota files"
	nsrc=$(find "$src" -printf '%i\n' | sort -u | wc -l)
	if "$ANYK" cp -r -p "$src" "$img:/copy" >"$tmp/err" 2>&1 &&
		"$ANYK" chown -R 1234:99 "$img:/copy" >>"$tmp/err" 2>&1 &&
		"$ANYK" cp "$tmp/big" "$img:/big" >>"$tmp/err" 2>&1 &&
		"$ANYK" chown 1000:1000 "$img:/big" >>"$tmp/err" 2>&1 &&
		"$ANYK" rm -r "$img:/sub" >>"$tmp/err" 2>&1 &&
		"$ANYK" mkdir -p "$img:/x/y" >>"$tmp/err" 2>&1 &&
		"$ANYK" mv "$img:/x" "$img:/copy/x" >>"$tmp/err" 2>&1; then
		pass "$name: written"
	else
		fail "$name: written" "$(cat "$tmp/err")"
	fi
	run_check "$name: e2fsck -fn clean after the writes (usage right)" e2fsck -fn "$img"
	u1234=$(quota_usage user 1234)
	check "$name: user 1234 owns the copied tree's $nsrc inodes" '[ "${u1234#* }" = "$nsrc" ]' "$u1234"
	u1000=$(quota_usage user 1000)
	check "$name: user 1000 owns the 24 MB file" '[ "${u1000% *}" -gt 24000000 ] && [ "${u1000#* }" = 1 ]' "$u1000"
	debugfs -R "list_quota user" "$img" 2>/dev/null | awk '$1 == 0 { print $4 }' >"$tmp/qlim"
	debugfs -R "list_quota group" "$img" 2>/dev/null | awk '$1 == 0 { print $7 }' >>"$tmp/qlim"
	check "$name: the limits set are kept" '[ "$(cat "$tmp/qlim" | tr "\n" " ")" = "900000 4242 " ]' "$(cat "$tmp/qlim")"
	if [ -c /dev/fuse ] && "$ANYK" help mount >/dev/null 2>&1 && mkdir -p "$tmp/fmnt" &&
		"$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		cp "$tmp/big" "$tmp/fmnt/big2" && chown 1000:5 "$tmp/fmnt/big2" && rm -r "$tmp/fmnt/copy/x" &&
			chown -R 77 "$tmp/fmnt/copy" && truncate -s 100000 "$tmp/fmnt/big"
		rc=$?
		"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
		check "$name: written through anyk mount" '[ $rc = 0 ]'
		run_check "$name: e2fsck -fn clean after anyk mount's writes" e2fsck -fn "$img"
	else
		echo "skip - $name: writes through anyk mount (no FUSE here)"
	fi
	"$ANYK" rm -r "$img:/copy" "$img:/big" "$img:/big2" >/dev/null 2>&1
	u77=$(quota_usage user 77)
	check "$name: a user who owns nothing any more has no usage" '[ -z "$u77" ] || [ "$u77" = "0 0" ]' "$u77"
	run_check "$name: e2fsck -fn clean after removing it all" e2fsck -fn "$img"
	# A quota file that does not parse (its root block all ones): writes
	# go on, the file is left alone with a warning.
	qb=$(debugfs -R "bmap <3> 1" "$img" 2>/dev/null)
	if [ -n "$qb" ] && [ "$qb" -gt 0 ] 2>/dev/null; then
		head -c 1024 /dev/zero | tr '\0' '\377' | dd of="$img" bs=1024 seek="$qb" conv=notrunc status=none
		"$ANYK" mkdir "$img:/after" >"$tmp/err" 2>&1
		rc=$?
		"$ANYK" ls -d "$img:/after" >>"$tmp/err" 2>&1
		lrc=$?
		check "$name: a broken quota file: writes go on" '[ $rc = 0 ] && [ $lrc = 0 ]' "rc=$rc $lrc $(cat "$tmp/err")"
	fi
	# Quota files changed a few bytes at a time (seeded, so repeatable):
	# every write still succeeds and nothing crashes.
	mk "$name" ext4 quota -b 1024 -I 256 || return
	e2fsck -fy "$img" >/dev/null 2>&1
	"$ANYK" chown 5:6 "$img:/a.txt" >/dev/null 2>&1
	cp "$img" "$tmp/qgood"
	qb=$(debugfs -R "bmap <3> 0" "$img" 2>/dev/null) gb=$(debugfs -R "bmap <4> 0" "$img" 2>/dev/null)
	bad=0 i=0
	while [ $i -lt 30 ] && [ -n "$qb" ] && [ -n "$gb" ]; do
		cp "$tmp/qgood" "$img"
		python3 -c '
import random, sys
r = random.Random(int(sys.argv[2]))
with open(sys.argv[1], "r+b") as f:
    for _ in range(r.randint(1, 6)):
        blk = int(r.choice(sys.argv[3:5]))
        f.seek(blk * 1024 + r.choice([r.randrange(0, 32), r.randrange(0, 3 * 1024)]))
        f.write(bytes([r.randrange(256)]))
' "$img" $i "$qb" "$gb" $((qb + 1)) $((gb + 1))
		"$ANYK" chown -R 7:8 "$img:/" >"$tmp/err" 2>&1
		rc=$?
		[ $rc = 0 ] || { bad=$((bad + 1)); echo "# variant $i: rc=$rc $(tail -2 "$tmp/err")"; }
		i=$((i + 1))
	done
	check "$name: 30 damaged quota files: every write goes on ($bad failed)" '[ $bad = 0 ] && [ $i = 30 ]'
}

# verity: files under fs-verity (flag set here with debugfs; their hash
# trees are Linux's business) are read but never written, as on Linux:
# writes, truncation and opening for writing give EPERM, through the
# commands and anyk mount; the rest of the image is written as usual and a
# verity file may be removed.
verity_tree() {
	name=verity
	command -v debugfs >/dev/null 2>&1 || { echo "skip - $name: no debugfs"; return; }
	mk "$name" ext4 verity -b 4096 || return
	debugfs -w -R "set_inode_field /sub/b.bin flags 0x180000" "$img" >/dev/null 2>&1
	run_check "$name: e2fsck -fn clean with a verity file" e2fsck -fn "$img"
	run_check "$name: the verity file reads" sh -c "'$ANYK' cat '$img:/sub/b.bin' | cmp - '$src/sub/b.bin'"
	"$ANYK" cp "$src/a.txt" "$img:/sub/b.bin" >"$tmp/err" 2>&1
	rc=$?
	check "$name: writing over it is refused (exit 1, not permitted)" \
		'[ $rc = 1 ] && grep -q "not permitted" "$tmp/err"' "rc=$rc $(cat "$tmp/err")"
	if "$ANYK" cp -r -p "$src" "$img:/copy" >"$tmp/err" 2>&1 && "$ANYK" rm -r "$img:/copy/sub" >>"$tmp/err" 2>&1 &&
		"$ANYK" mkdir "$img:/new" >>"$tmp/err" 2>&1; then
		pass "$name: the rest is written"
	else
		fail "$name: the rest is written" "$(cat "$tmp/err")"
	fi
	if [ -c /dev/fuse ] && "$ANYK" help mount >/dev/null 2>&1 && mkdir -p "$tmp/fmnt" &&
		"$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		n=0
		echo x >>"$tmp/fmnt/sub/b.bin" 2>/dev/null || n=$((n + 1))
		truncate -s 10 "$tmp/fmnt/sub/b.bin" 2>/dev/null || n=$((n + 1))
		cmp -s "$tmp/fmnt/sub/b.bin" "$src/sub/b.bin" && n=$((n + 1))
		echo y >"$tmp/fmnt/new/y" && n=$((n + 1))
		"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
		check "$name: through anyk mount, appends and truncation refused, reads and other writes work" \
			'[ $n = 4 ]' "$n of 4"
	fi
	"$ANYK" cat "$img:/sub/b.bin" | cmp -s - "$src/sub/b.bin"
	rc=$?
	check "$name: the verity file is unchanged" '[ $rc = 0 ]'
	run_check "$name: it can be removed" "$ANYK" rm "$img:/sub/b.bin"
	run_check "$name: e2fsck -fn clean after the writes" e2fsck -fn "$img"
}

# File flags: an immutable file and an append-only directory (flags set
# with debugfs, as Linux would leave them) refuse the changes Linux refuses,
# through the commands and anyk mount; there lsattr and chattr see and set
# them, and what chattr set is on disk for debugfs, e2fsck-clean.
inode_flags() { # PATH: the inode's flags, from debugfs
	debugfs -R "stat $1" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p'
}
flags_tree() {
	name=flags
	command -v debugfs >/dev/null 2>&1 || { echo "skip - $name: no debugfs"; return; }
	mk "$name" ext4 "" || return
	fa=$(inode_flags /a.txt) fs=$(inode_flags /sub)
	debugfs -w -R "set_inode_field /a.txt flags $(printf '0x%x' $((fa | 0x10)))" "$img" >/dev/null 2>&1
	debugfs -w -R "set_inode_field /sub flags $(printf '0x%x' $((fs | 0x20)))" "$img" >/dev/null 2>&1
	run_check "$name: e2fsck -fn clean with the flags set" e2fsck -fn "$img"
	"$ANYK" stat "$img:/a.txt" "$img:/sub" >"$tmp/st" 2>&1
	"$ANYK" stat --json "$img:/sub" >>"$tmp/st" 2>&1
	check "$name: anyk stat names them" \
		'grep -q "^ Flags: immutable, extents$" "$tmp/st" && grep -q "^ Flags: append_only, extents$" "$tmp/st" &&
		 grep -q "\"flags\":\[\"append_only\",\"extents\"\]" "$tmp/st"' "$(cat "$tmp/st")"
	n=0
	for cmd in "rm $img:/a.txt" "cp $src/lnk $img:/a.txt" "chmod 600 $img:/a.txt" "mv $img:/a.txt $img:/z" \
		"ln $img:/a.txt $img:/z" "touch $img:/a.txt" "rm $img:/sub/b.bin" "mv $img:/sub/b.bin $img:/b.bin"; do
		"$ANYK" $cmd >"$tmp/err" 2>&1
		rc=$?
		if [ $rc = 1 ] && grep -q "not permitted" "$tmp/err"; then
			n=$((n + 1))
		else
			echo "# anyk $cmd: rc=$rc $(cat "$tmp/err")"
		fi
	done
	check "$name: 8 changes Linux refuses are refused (exit 1, not permitted)" '[ $n = 8 ]' "$n of 8"
	if "$ANYK" cp "$src/a.txt" "$img:/sub/new" >"$tmp/err" 2>&1 && "$ANYK" cat "$img:/a.txt" | cmp -s - "$src/a.txt"; then
		pass "$name: an append-only directory gains a name; the immutable file reads"
	else
		fail "$name: an append-only directory gains a name; the immutable file reads" "$(cat "$tmp/err")"
	fi
	if [ -c /dev/fuse ] && "$ANYK" help mount >/dev/null 2>&1 && command -v chattr >/dev/null 2>&1 &&
		mkdir -p "$tmp/fmnt" && "$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		m=$tmp/fmnt n=0
		lsattr -d "$m/a.txt" 2>/dev/null | grep -q '^----i' && n=$((n + 1))
		lsattr -d "$m/sub" 2>/dev/null | grep -q '^-----a' && n=$((n + 1))
		echo x >>"$m/a.txt" 2>/dev/null || n=$((n + 1))
		rm -f "$m/sub/b.bin" 2>/dev/null || n=$((n + 1))
		chattr -i "$m/a.txt" && echo x >>"$m/a.txt" && n=$((n + 1))
		chattr +a "$m/sub/deeper/c" && echo y >>"$m/sub/deeper/c" && n=$((n + 1))
		echo z >"$m/sub/deeper/c" 2>/dev/null || n=$((n + 1))
		chattr -a "$m/sub" && rm "$m/sub/b.bin" && n=$((n + 1))
		# Handed down as ext4 hands them: no-dump is, append-only not.
		chattr +d "$m/sub" && chattr +a "$m/sub" && mkdir "$m/sub/kid" && : >"$m/sub/kid/f" &&
			lsattr -d "$m/sub/kid" "$m/sub/kid/f" | grep -c '^-----.d' | grep -qx 2 &&
			chattr -a "$m/sub" && n=$((n + 1))
		"$ANYK" umount "$m" >/dev/null 2>&1
		check "$name: through anyk mount, lsattr sees them, chattr changes them, both enforced" \
			'[ $n = 9 ]' "$n of 9"
		fa2=$(inode_flags /a.txt) fs2=$(inode_flags /sub) fc=$(inode_flags /sub/deeper/c)
		check "$name: what chattr set is on disk" \
			'[ $((fa2)) = $((fa)) ] && [ $((fs2)) = $((fs | 0x40)) ] && [ $((fc & 0x20)) = 32 ]' "$fa2 $fs2 $fc"
		run_check "$name: the append went to the end" sh -c "'$ANYK' cat '$img:/sub/deeper/c' | head -c 5000 | cmp - '$src/sub/deeper/c'"
	fi
	run_check "$name: e2fsck -fn clean after the changes" e2fsck -fn "$img"
}

# A superblock write cut short by a crash: its checksum (in its second
# sector) belongs to another version of its first. A backup that agrees on
# everything that never changes while mounted vouches for it: anyk mounts
# it, a write leaves it whole and e2fsck-clean. A mismatch in a field the
# backup does not share is still refused.
poke() { # OFFSET HEXBYTE: one byte of the image
	printf "\\$(printf '%03o' "0x$2")" | dd of="$img" bs=1 seek="$1" conv=notrunc status=none
}
torn_sb() { # EXTRA: mke2fs options
	name="torn superblock $*"
	mk "$name" ext4 "" "$@" || return
	poke $((1024 + 0x10)) 7f # free inodes: another version's count
	if e2fsck -fn "$img" >/dev/null 2>&1; then
		fail "$name: e2fsck sees the mismatch"
		return
	fi
	"$ANYK" mkdir "$img:/after" >"$tmp/err" 2>&1
	rc=$?
	check "$name: anyk writes the image (a backup vouches for it)" '[ $rc = 0 ]' "rc=$rc $(cat "$tmp/err")"
	run_check "$name: e2fsck -fn clean afterwards" e2fsck -fn "$img"
	mk "$name" ext4 "" "$@" || return
	poke $((1024 + 0x68)) 00 # the UUID's first byte
	poke $((1024 + 0x69)) 00
	cp "$img" "$tmp/before"
	"$ANYK" mkdir "$img:/after" >"$tmp/err" 2>&1
	rc=$?
	check "$name: a changed UUID is refused, the image untouched" \
		'[ $rc = 1 ] && grep -q "checksum" "$tmp/err" && cmp -s "$img" "$tmp/before"' "rc=$rc $(cat "$tmp/err")"
}

# project (with quota): a directory marked to hand its project down (set
# with debugfs) gives it to all that is made in it; a link or a move into
# it from another project is refused (EXDEV), as on Linux, and coreutils'
# mv through anyk mount then copies; the project quota file's usage stays
# right (e2fsck) and counts the tree.
project_tree() {
	name=project
	command -v debugfs >/dev/null 2>&1 || { echo "skip - $name: no debugfs"; return; }
	mk "$name" ext4 project,quota -b 1024 -I 256 || return
	e2fsck -fy "$img" >/dev/null 2>&1
	debugfs -w -R "set_inode_field /sub projid 42" "$img" >/dev/null 2>&1
	fl=$(debugfs -R "stat /sub" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field /sub flags $(( ${fl:-0} | 0x20000000 ))" "$img" >/dev/null 2>&1
	e2fsck -fy "$img" >/dev/null 2>&1
	run_check "$name: e2fsck -fn clean before" e2fsck -fn "$img"
	before=$(quota_usage project 42)
	if "$ANYK" cp -r -p "$src" "$img:/sub/copy" >"$tmp/err" 2>&1 && "$ANYK" mkdir -p "$img:/sub/n/m" >>"$tmp/err" 2>&1 &&
		"$ANYK" cp "$tmp/big" "$img:/sub/n/m/big" >>"$tmp/err" 2>&1; then
		pass "$name: written"
	else
		fail "$name: written" "$(cat "$tmp/err")"
	fi
	p=$(debugfs -R "stat /sub/n/m/big" "$img" 2>/dev/null | sed -n 's/.*Project: *\([0-9]*\).*/\1/p')
	m=$(debugfs -R "stat /sub/n/m" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	check "$name: what is made in it takes its project, directories the mark" \
		'[ "$p" = 42 ] && [ $(( ${m:-0} & 0x20000000 )) != 0 ]' "project ${p:-none} flags ${m:-none}"
	"$ANYK" ln "$img:/hard" "$img:/sub/hard" >"$tmp/err" 2>&1
	rc=$?
	check "$name: a link in from another project is refused (EXDEV)" \
		'[ $rc = 1 ] && grep -q "cross-device" "$tmp/err"' "$rc $(cat "$tmp/err")"
	# A rename in gives EXDEV too; anyk mv then copies, as mv(1) does.
	"$ANYK" mv "$img:/a.txt" "$img:/sub/a.txt" >"$tmp/err" 2>&1
	rc=$?
	p=$(debugfs -R "stat /sub/a.txt" "$img" 2>/dev/null | sed -n 's/.*Project: *\([0-9]*\).*/\1/p')
	check "$name: anyk mv in copies and removes (the copy takes the project)" \
		'[ $rc = 0 ] && [ "$p" = 42 ] && ! "$ANYK" stat "$img:/a.txt" >/dev/null 2>&1 &&
		 "$ANYK" cat "$img:/sub/a.txt" | cmp -s - "$src/a.txt"' "rc=$rc project=$p $(cat "$tmp/err")"
	run_check "$name: a move out is allowed" "$ANYK" mv "$img:/sub/copy/sub" "$img:/out"
	run_check "$name: e2fsck -fn clean after the writes (project usage right)" e2fsck -fn "$img"
	after=$(quota_usage project 42)
	nsrc=$(find "$src" -printf '%i\n' | sort -u | wc -l)
	check "$name: the project counts what came in" \
		'[ "${after#* }" -ge $(( ${before#* } + nsrc + 3 )) ] && [ "${after% *}" -gt 24000000 ]' "$before -> $after"
	if [ -c /dev/fuse ] && "$ANYK" help mount >/dev/null 2>&1 && mkdir -p "$tmp/fmnt" &&
		"$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		mv "$tmp/fmnt/hard" "$tmp/fmnt/sub/hard" && echo z >"$tmp/fmnt/sub/n/z" && rm -r "$tmp/fmnt/sub/copy"
		rc=$?
		# lsattr -p and chattr -p: the id moves the file's usage.
		pl=$(lsattr -p "$tmp/fmnt/sub/n/z" 2>&1)
		chattr -p 7 "$tmp/fmnt/sub/n/z" 2>&1 && pl2=$(lsattr -p "$tmp/fmnt/sub/n/z" 2>&1)
		"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
		check "$name: through anyk mount, mv in copies" '[ $rc = 0 ]'
		p=$(debugfs -R "stat /sub/n/z" "$img" 2>/dev/null | sed -n 's/.*Project: *\([0-9]*\).*/\1/p')
		check "$name: through anyk mount, lsattr -p shows the project, chattr -p changes it" \
			'echo "$pl" | grep -q "^ *42 " && echo "${pl2:-}" | grep -q "^ *7 " && [ "$p" = 7 ]' \
			"before: $pl after: ${pl2:-} on disk: $p"
		"$ANYK" stat --json "$img:/sub/n/z" >"$tmp/st" 2>&1
		check "$name: anyk stat shows it" 'grep -q "\"project\":7" "$tmp/st"' "$(cat "$tmp/st")"
		run_check "$name: e2fsck -fn clean after anyk mount's writes" e2fsck -fn "$img"
	fi
}

# casefold: a directory with the casefold flag finds names regardless of
# case; its index hashes folded names. The flag is set here with debugfs on
# a directory of 400 mixed-case names and e2fsck -fD indexes it (this
# host's kernel may lack Unicode support). Every name reads as stored and
# in another ASCII case, the tree comes out whole, check finds nothing,
# anyk mount serves it, and writes by other spellings land on the same
# entries, e2fsck-clean (ext2_casefold.c tests the folding itself).
casefold_tree() {
	name=casefold
	command -v debugfs >/dev/null 2>&1 || { echo "skip - $name: no debugfs"; return; }
	csrc=$tmp/csrc
	rm -rf "$csrc" && mkdir -p "$csrc/cf" "$csrc/plain"
	i=0
	while [ $i -lt 400 ]; do
		echo $i >"$csrc/cf/File-Number-$i.TXT"
		i=$((i + 1))
	done
	echo hi >"$csrc/cf/MixedCase.txt"
	echo plain >"$csrc/plain/Plain.txt"
	rm -f "$img"
	if ! mke2fs -q -F -t ext4 -O casefold -b 1024 -d "$csrc" "$img" 32M >"$tmp/mkfs.out" 2>&1; then
		echo "skip - $name: this mke2fs cannot make it: $(tail -1 "$tmp/mkfs.out")"
		return
	fi
	fl=$(debugfs -R "stat /cf" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	debugfs -w -R "set_inode_field /cf flags $(( ${fl:-0} | 0x40000000 ))" "$img" >/dev/null 2>&1
	e2fsck -fyD "$img" >/dev/null 2>&1
	fl=$(debugfs -R "stat /cf" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	check "$name: /cf is casefolded and indexed" '[ $(( ${fl:-0} & 0x40001000 )) = $((0x40001000)) ]' "${fl:-none}"
	run_check "$name: e2fsck -fn clean" e2fsck -fn "$img"
	check "$name: anyk info names the encoding" '"$ANYK" info "$img" | grep -q "Encoding: *utf8-12.1"'
	cp "$img" "$tmp/before"
	rm -rf "$tmp/out"
	"$ANYK" cp -r -p "$img:/" "$tmp/out" >"$tmp/err" 2>&1 && diff -r -x lost+found "$csrc" "$tmp/out" >>"$tmp/err" 2>&1
	rc=$?
	check "$name: the tree comes out as it went in" '[ $rc = 0 ]' "$(cat "$tmp/err")"
	bad=0
	for n in 0 7 123 399; do
		[ "$("$ANYK" cat "$img:/cf/File-Number-$n.TXT" 2>&1)" = $n ] || bad=$((bad + 1))
		[ "$("$ANYK" cat "$img:/cf/file-number-$n.txt" 2>&1)" = $n ] || bad=$((bad + 1))
		[ "$("$ANYK" cat "$img:/cf/FILE-NUMBER-$n.TxT" 2>&1)" = $n ] || bad=$((bad + 1))
	done
	check "$name: names found as stored and in other cases ($bad wrong)" '[ $bad = 0 ]'
	"$ANYK" cat "$img:/plain/plain.txt" >/dev/null 2>&1
	rc=$?
	check "$name: a directory without the flag keeps case" '[ $rc = 1 ]'
	run_check "$name: anyk check finds nothing" "$ANYK" check "$img"
	fuse_tree "$name" cf_same "-o ro"
	# Written too: into e2fsck's index, by another spelling of the name.
	printf w >"$tmp/w"
	run_check "$name: a file written into the directory" "$ANYK" cp "$tmp/w" "$img:/cf/Written-Here.TXT"
	check "$name: found in another case" '[ "$("$ANYK" cat "$img:/cf/WRITTEN-here.txt" 2>&1)" = w ]'
	run_check "$name: another spelling replaces it" "$ANYK" cp "$tmp/w" "$img:/cf/written-HERE.txt"
	check "$name: one entry for both" '[ "$("$ANYK" ls "$img:/cf" 2>&1 | grep -ci written)" = 1 ]'
	run_check "$name: removed by another spelling" "$ANYK" rm "$img:/cf/file-number-7.txt"
	run_check "$name: e2fsck -fn clean after the writes" e2fsck -fn "$img"
}
cf_same() { diff -r -x lost+found "$csrc" "$1" && [ "$(cat "$1/cf/mixedcase.TXT")" = hi ]; }

# encrypt: files, links and directories under fscrypt (flagged here with
# debugfs) give ENOKEY, as Linux does without the key; everything else
# reads, check counts them apart and passes; writes go everywhere but into
# encrypted data and directories, e2fsck-clean.
# count_enokey COMMAND...: how many of the anyk commands (each one word
# list) fail with exit 1 saying the key is not available.
count_enokey() {
	k=0
	for w in "$@"; do
		# shellcheck disable=SC2086
		"$ANYK" $w >"$tmp/err" 2>&1
		[ $? = 1 ] && grep -q "key not available" "$tmp/err" && k=$((k + 1))
	done
	echo $k
}
encrypt_tree() {
	name=encrypt
	command -v debugfs >/dev/null 2>&1 || { echo "skip - $name: no debugfs"; return; }
	esrc=$tmp/encsrc
	rm -rf "$esrc" && mkdir -p "$esrc/secret/deeper" "$esrc/open"
	echo s >"$esrc/secret.txt"
	echo d >"$esrc/secret/deeper/d"
	echo o >"$esrc/open/o.txt"
	ln -s secret.txt "$esrc/slink"
	rm -f "$img"
	if ! mke2fs -q -F -t ext4 -O encrypt -b 4096 -d "$esrc" "$img" 16M >"$tmp/mkfs.out" 2>&1; then
		echo "skip - $name: this mke2fs cannot make it: $(tail -1 "$tmp/mkfs.out")"
		return
	fi
	for f in /secret /secret.txt /slink; do
		fl=$(debugfs -R "stat $f" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
		debugfs -w -R "set_inode_field $f flags $(( ${fl:-0} | 0x800 ))" "$img" >/dev/null 2>&1
	done
	cp "$img" "$tmp/before"
	n=$(count_enokey "cat $img:/secret.txt" "ls $img:/secret" "cat $img:/secret/deeper/d" "cp $img:/slink $tmp/slink.out")
	check "$name: encrypted files, directories and links give ENOKEY (4 of 4)" '[ $n = 4 ]' "$n"
	run_check "$name: the rest reads" sh -c "[ \"\$('$ANYK' cat '$img:/open/o.txt')\" = o ]"
	"$ANYK" ls -l "$img:/" >"$tmp/err" 2>&1
	rc=$?
	check "$name: the root lists, encrypted names in it too" '[ $rc = 0 ] && grep -q secret.txt "$tmp/err"' \
		"$(cat "$tmp/err")"
	"$ANYK" check "$img" >"$tmp/err" 2>&1
	rc=$?
	check "$name: check passes, counting 3 encrypted" '[ $rc = 0 ] && grep -q "^$img: 3 encrypted" "$tmp/err"' \
		"rc=$rc $(cat "$tmp/err")"
	# Written around what is encrypted, as Linux writes without the key.
	n=$(count_enokey "cp $tmp/eaval $img:/secret.txt" "mkdir $img:/secret/x" "rm $img:/secret/deeper/d" \
		"mv $img:/open/o.txt $img:/secret/o")
	check "$name: encrypted data and directories are not written (ENOKEY, 4 of 4)" '[ $n = 4 ]' "$n"
	echo new >"$tmp/new"
	run_check "$name: the rest is written" sh -c "'$ANYK' mkdir '$img:/new' && '$ANYK' cp '$tmp/new' '$img:/open/n' &&
		'$ANYK' chmod 600 '$img:/secret.txt' && [ \"\$('$ANYK' cat '$img:/open/n')\" = new ]"
	run_check "$name: an encrypted file is removed from an unencrypted directory" "$ANYK" rm "$img:/secret.txt"
	# The flags debugfs set come without fscrypt's policy attribute,
	# which e2fsck reports: nothing beyond what it reports on the image
	# before the writes.
	e2fsck_problems "$tmp/before" >"$tmp/p.before"
	e2fsck_problems "$img" >"$tmp/p.after"
	check "$name: e2fsck finds nothing new after the writes" '[ -z "$(comm -13 "$tmp/p.before" "$tmp/p.after")" ]' \
		"$(comm -13 "$tmp/p.before" "$tmp/p.after")"
}
e2fsck_problems() { e2fsck -fn "$1" 2>&1 | grep -E '^(Inode|Entry|Problem|Directory|Free|Block|Padding|Unattached)' | sed 's/ *Fix?.*//' | sort -u; }


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
quota_tree
project_tree
verity_tree
flags_tree
torn_sb -b 1024
torn_sb -b 4096 -g 8192
torn_sb -b 1024 -O sparse_super2 -E num_backup_sb=1
readonly_only mmp "multi-mount" ext4 mmp -b 4096
ea_inode_tree
casefold_tree
encrypt_tree
readonly_tree bigalloc ext4 bigalloc -b 1024 -C 2048
readonly_tree "bigalloc, 16-block clusters" ext4 bigalloc -b 1024 -C 16384
readonly_tree "bigalloc, 4 KiB blocks" ext4 bigalloc -b 4096 -C 65536
readonly_tree "bigalloc, no journal" ext4 bigalloc,^has_journal -b 4096 -C 16384

# --- inline_data ---------------------------------------------------------------
# Small files, directories and symlinks kept in their inodes: 60 bytes in
# i_block, the rest in the in-inode attribute system.data. The tree: files
# of 0 to 150 bytes, a larger one, small and empty directories (inline), one
# with many entries (in blocks), short and long symlinks, hard links,
# xattrs, modes; one directory also gets an entry in its system.data value,
# which only Linux writes (debugfs puts it there here). Read, the tree
# comes back out as it went in (anyk cp -r -p, anyk tar), anyk find, ls and
# stat see it, and Linux reads the same off a loop mount (as root); anyk
# check finds nothing. Then every kind of write, through the commands and
# through anyk mount, to inline files, directories (the one with a value
# entry too) and symlinks, done to a copy of the host tree as well: the
# trees must match, e2fsck must find nothing, and Linux must read the same.
isrc=$tmp/isrc
mkdir -p "$isrc/small/deeper" "$isrc/empty" "$isrc/many"
for n in 0 1 59 60 61 100 150; do head -c $n /dev/urandom >"$isrc/f$n"; done
head -c 9000 /dev/urandom >"$isrc/big"
echo x >"$isrc/small/x"
echo y >"$isrc/small/deeper/y"
i=0
while [ $i -lt 80 ]; do
	: >"$isrc/many/entry-number-$i"
	i=$((i + 1))
done
ln -s f1 "$isrc/short"
ln -s "$(printf './%.0s' $(seq 40))f100" "$isrc/long82"
ln -s "$(printf './%.0s' $(seq 98))f150" "$isrc/long200"
ln "$isrc/f61" "$isrc/small/hard61"
chmod 600 "$isrc/f59"
chmod 750 "$isrc/small"
ixattr=no
command -v setfattr >/dev/null 2>&1 && command -v getfattr >/dev/null 2>&1 &&
	setfattr -n user.color -v blue "$isrc/f100" 2>/dev/null &&
	setfattr -n user.tag -v t "$isrc/small" && ixattr=yes

# One line per entry under DIR but lost+found: type, mode, links, size and
# checksum of files, link targets, user.* attributes.
manifest() { # DIR
	(cd "$1" && find . -path ./lost+found -prune -o -print | LC_ALL=C sort | while IFS= read -r p; do
		if [ -L "$p" ]; then
			echo "$p link $(readlink "$p")"
		elif [ -d "$p" ]; then
			echo "$p dir $(stat -c %a "$p")"
		else
			echo "$p file $(stat -c '%a %h %s' "$p") $(cksum <"$p")"
		fi
		[ $ixattr = no ] || getfattr -h -d -m '^user\.' "$p" 2>/dev/null | grep '=' | sed "s|^|$p |"
	done)
}

# The four bytes of N, little-endian, as printf escapes.
le32() { printf '\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

# Give /small an entry "v" (a link to /f1) in its system.data value, as
# Linux does once i_block is full; the host tree gets the same link.
inline_value_entry() {
	ino=$(debugfs -R 'stat /f1' "$img" 2>/dev/null | sed -n 's/^Inode: *\([0-9]*\).*/\1/p')
	[ -n "$ino" ] || return 1
	# inode, record length 12, name length 1, regular file, "v", padding
	printf "$(le32 "$ino")\\014\\000\\001\\001v\\000\\000\\000" >"$tmp/dirval"
	printf 'ea_set -f %s /small system.data\nsif /small size 72\nsif /f1 links_count 2\n' "$tmp/dirval" |
		debugfs -w -f - "$img" >/dev/null 2>&1 || return 1
	ln "$isrc/f1" "$isrc/small/v"
}

inline_kernel() { # NAME: the same tree through a Linux loop mount
	if [ "$(id -u)" != 0 ]; then
		echo "skip - $1: Linux loop mount (needs root)"
		return
	fi
	mkdir -p "$tmp/kmnt"
	if ! mount -o loop,ro "$img" "$tmp/kmnt" 2>"$tmp/merr"; then
		echo "skip - $1: Linux loop mount ($(head -1 "$tmp/merr"))"
		return
	fi
	manifest "$tmp/kmnt" >"$tmp/kernel.m"
	# st_blocks: inline bytes count as sectors, as Linux counts them.
	: >"$tmp/kblocks"
	: >"$tmp/ablocks"
	for f in f0 f1 f59 f60 f61 f100 f150 big small empty short long82; do
		echo "$f $(stat -c %b "$tmp/kmnt/$f")" >>"$tmp/kblocks"
		echo "$f $("$ANYK" stat "$img:/$f" | sed -n 's/.*Blocks: *\([0-9]*\).*/\1/p')" >>"$tmp/ablocks"
	done
	umount "$tmp/kmnt"
	check "$1: Linux reads the same tree off a loop mount" 'cmp -s "$tmp/src.m" "$tmp/kernel.m"' \
		"$(diff "$tmp/src.m" "$tmp/kernel.m")"
	check "$1: st_blocks as Linux gives it" 'cmp -s "$tmp/kblocks" "$tmp/ablocks"' \
		"$(diff "$tmp/kblocks" "$tmp/ablocks")"
}

# The same change to the image (anyk ARGS, with @ for the image) and to the
# host copy (sh -c HOST in $tmp/iw): inline_writes.
both() { # WHAT HOST ANYK-ARGS...
	w_what=$1 w_host=$2
	shift 2
	# shellcheck disable=SC2046
	"$ANYK" $(echo "$@" | sed "s|@|$img:|g") >"$tmp/werr" 2>&1 || fail "$name: $w_what" "$(cat "$tmp/werr")"
	(cd "$tmp/iw" && sh -c "$w_host") || fail "$name: $w_what (on the host)"
}

inline_writes() { # NAME: every kind of write to inline inodes
	rm -rf "$tmp/iw"
	cp -a "$isrc" "$tmp/iw"
	head -c 120 /dev/urandom >"$tmp/n120"
	head -c 7000 /dev/urandom >"$tmp/n7000"
	mkdir -p "$tmp/tsrc/sub" && echo t >"$tmp/tsrc/sub/t" && echo u >"$tmp/tsrc/u"
	tar -c -f "$tmp/w.tar" -C "$tmp/tsrc" .
	both "an inline file rewritten, still small" "cp $tmp/n120 f100" cp "$tmp/n120" @/f100
	both "an inline file with a hard link grown past the inode" "cp $tmp/n7000 f61" cp "$tmp/n7000" @/f61
	both "an empty inline file given data" "cp $tmp/n120 f0" cp "$tmp/n120" @/f0
	both "an inline file removed" "rm f59" rm @/f59
	both "an inline symlink removed" "rm long82" rm @/long82
	both "a directory made in an inline directory with a value entry" "mkdir small/newdir" mkdir @/small/newdir
	both "a file moved into an empty inline directory" "mv f60 empty/g60" mv @/f60 @/empty/g60
	both "an inline directory moved to another parent" "mv small/deeper moved" mv @/small/deeper @/moved
	both "an inline directory removed with its file" "rm -r moved" rm -r @/moved
	both "links made in an inline directory" "ln -s x small/sl && ln f1 small/h1" ln -s x @/small/sl
	both "a hard link into an inline directory" ":" ln @/f1 @/small/h1
	both "a name removed from an inline directory" "rm small/x" rm @/small/x
	both "modes of inline inodes" "chmod 700 f1 small" chmod 700 @/f1 @/small
	both "a tree unpacked into an inline directory" "tar -x -f $tmp/w.tar -C small" tar -x -f "$tmp/w.tar" @/small
	run_check "$name: e2fsck -fn clean after the writes" e2fsck -fn "$img"
	manifest "$tmp/iw" >"$tmp/iw.m"
	rm -rf "$tmp/out"
	"$ANYK" cp -r -p "$img:/" "$tmp/out" >"$tmp/err" 2>&1
	rc=$?
	manifest "$tmp/out" >"$tmp/out.m"
	check "$name: after the writes the tree is what the host's is" \
		'[ $rc = 0 ] && cmp -s "$tmp/iw.m" "$tmp/out.m"' "rc=$rc $(cat "$tmp/err"; diff "$tmp/iw.m" "$tmp/out.m")"
	# Written, the data left the inode; only f1's mode and links changed.
	if command -v debugfs >/dev/null 2>&1; then
		flags=""
		for f in /f1 /f0 /f100 /small /empty; do
			fl=$(debugfs -R "stat $f" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
			flags="$flags $((${fl:-0} >> 28 & 1))"
		done
		check "$name: written inodes left their inodes, f1 stayed inline" '[ "$flags" = " 1 0 0 0 0" ]' "$flags"
	fi
	inline_fuse_writes
	if [ "$(id -u)" = 0 ] && mount -o loop,ro "$img" "$tmp/kmnt" 2>/dev/null; then
		manifest "$tmp/kmnt" >"$tmp/kernel.m"
		umount "$tmp/kmnt"
		check "$name: Linux reads what was written" 'cmp -s "$tmp/iw.m" "$tmp/kernel.m"' \
			"$(diff "$tmp/iw.m" "$tmp/kernel.m")"
	fi
}

# Writes only anyk mount makes: truncation, appends, attributes, renames
# over an inline file, through the host's system calls.
inline_fuse_writes() {
	if ! [ -c /dev/fuse ] || ! "$ANYK" help mount >/dev/null 2>&1; then
		echo "skip - $name: writes through anyk mount (no FUSE here)"
		return
	fi
	mkdir -p "$tmp/fmnt"
	# An attribute on f1, inline still: removing one it lacks leaves its
	# data inline; setting one moves the data out first.
	if [ $ixattr = yes ] && command -v debugfs >/dev/null 2>&1 &&
		"$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		setfattr -x user.none "$tmp/fmnt/f1" 2>/dev/null
		rc=$?
		"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
		f1=$(debugfs -R "stat /f1" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
		check "$name: removing an attribute f1 lacks fails and leaves it inline" \
			'[ $rc != 0 ] && [ $(( ${f1:-0} >> 28 & 1 )) = 1 ]' "rc=$rc flags ${f1:-none}"
		"$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1
		setfattr -n user.only -v v "$tmp/fmnt/f1" && setfattr -n user.only -v v "$tmp/iw/f1"
		rc=$?
		"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
		f1=$(debugfs -R "stat /f1" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
		check "$name: an attribute set on inline f1 moves its data out" \
			'[ $rc = 0 ] && [ $(( ${f1:-0} >> 28 & 1 )) = 0 ]' "rc=$rc flags ${f1:-none}"
		run_check "$name: e2fsck -fn clean after it" e2fsck -fn "$img"
	fi
	if ! "$ANYK" mount "$img" "$tmp/fmnt" >"$tmp/ferr" 2>&1; then
		fail "$name: anyk mount read-write" "$(cat "$tmp/ferr")"
		return
	fi
	for d in "$tmp/fmnt" "$tmp/iw"; do
		truncate -s 10 "$d/f150"
		printf 'more' >>"$d/short" 2>/dev/null # a symlink: appends to f1
		printf 'tail' >>"$d/f1"
		truncate -s 0 "$d/small/hard61"
		mv "$d/f100" "$d/f150"
		mkdir "$d/empty/sub"
		rmdir "$d/empty/sub"
		[ $ixattr = no ] || setfattr -n user.added -v yes "$d/small"
		[ $ixattr = no ] || setfattr -x user.tag "$d/small"
	done
	manifest "$tmp/fmnt" >"$tmp/fm.m"
	"$ANYK" umount "$tmp/fmnt" >/dev/null 2>&1
	manifest "$tmp/iw" >"$tmp/iw.m"
	check "$name: writes through anyk mount give the host's tree" 'cmp -s "$tmp/iw.m" "$tmp/fm.m"' \
		"$(diff "$tmp/iw.m" "$tmp/fm.m")"
	run_check "$name: e2fsck -fn clean after anyk mount's writes" e2fsck -fn "$img"
}

inline_data() { # NAME BLOCKSIZE
	name=$1
	rm -f "$img" "$isrc/small/v"
	ssize=60
	if ! mke2fs -q -F -t ext4 -O inline_data -b "$2" -I 256 -d "$isrc" "$img" 16M >"$tmp/mkfs.out" 2>&1; then
		echo "skip - $name: this mke2fs cannot make it: $(tail -1 "$tmp/mkfs.out")"
		return
	fi
	if command -v debugfs >/dev/null 2>&1; then
		if inline_value_entry; then ssize=72; else fail "$name: an entry put in /small's system.data"; fi
		n=0
		for f in /f0 /f60 /f100 /small /small/deeper /empty /long82; do
			fl=$(debugfs -R "stat $f" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
			[ $((${fl:-0} & 0x10000000)) = 0 ] || n=$((n + 1))
		done
		check "$name: small files, directories and links are inline (7 of 7)" '[ $n = 7 ]' "$n"
	fi
	run_check "$name: e2fsck -fn clean" e2fsck -fn "$img"
	cp "$img" "$tmp/before"
	manifest "$isrc" >"$tmp/src.m"

	rm -rf "$tmp/out"
	"$ANYK" cp -r -p "$img:/" "$tmp/out" >"$tmp/err" 2>&1
	rc=$?
	manifest "$tmp/out" >"$tmp/out.m"
	check "$name: anyk cp -r -p brings the tree out as it went in" \
		'[ $rc = 0 ] && cmp -s "$tmp/src.m" "$tmp/out.m"' "rc=$rc $(cat "$tmp/err"; diff "$tmp/src.m" "$tmp/out.m")"
	rm -rf "$tmp/tar" && mkdir "$tmp/tar"
	"$ANYK" tar -c -f "$tmp/t.tar" "$img:/" >"$tmp/err" 2>&1 &&
		tar -x -p --xattrs --xattrs-include='user.*' -f "$tmp/t.tar" -C "$tmp/tar" >>"$tmp/err" 2>&1
	rc=$?
	manifest "$tmp/tar" >"$tmp/tar.m"
	check "$name: anyk tar -c archives the same tree" \
		'[ $rc = 0 ] && cmp -s "$tmp/src.m" "$tmp/tar.m"' "rc=$rc $(cat "$tmp/err"; diff "$tmp/src.m" "$tmp/tar.m")"
	"$ANYK" find "$img:/" >"$tmp/find" 2>&1
	rc=$?
	(cd "$isrc" && find . | sed 's|^\.||; s|^$|/|') | LC_ALL=C sort >"$tmp/find.want"
	grep -v '^/lost+found' "$tmp/find" | LC_ALL=C sort >"$tmp/find.got"
	check "$name: anyk find lists every name" '[ $rc = 0 ] && cmp -s "$tmp/find.want" "$tmp/find.got"' \
		"rc=$rc $(diff "$tmp/find.want" "$tmp/find.got")"
	"$ANYK" ls -lR "$img:/" >"$tmp/ls" 2>&1 && "$ANYK" stat "$img:/small" "$img:/f100" >>"$tmp/ls" 2>&1
	rc=$?
	check "$name: anyk ls -lR and stat" '[ $rc = 0 ] && grep -q "long82 -> \./\./" "$tmp/ls" &&
		grep -q "Size: $ssize " "$tmp/ls" && grep -q "Size: 100 " "$tmp/ls"' "rc=$rc $(cat "$tmp/ls")"
	run_check "$name: anyk check finds nothing" "$ANYK" check "$img"
	inline_kernel "$name"
	fuse_tree "$name" same_manifest "-o ro"
	inline_writes "$name"
}

inline_data inline_data 1024
inline_data "inline_data, 4 KiB blocks" 4096
# A hostile inline directory: an entry renamed "." (no checksums, so the
# inode still loads). Adding a name, which moves the entries to a block,
# must fail naming the corruption, not copy a second "." there.
rm -rf "$tmp/hx" && mkdir -p "$tmp/hx/small" && echo x >"$tmp/hx/small/x"
if mke2fs -q -F -t ext4 -O inline_data,^metadata_csum -I 256 -d "$tmp/hx" "$img" 16M >/dev/null 2>&1 &&
	command -v python3 >/dev/null 2>&1 && command -v debugfs >/dev/null 2>&1; then
	at=$(debugfs -R "imap /small" "$img" 2>/dev/null | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
	python3 - "$img" $at 1024 <<'PY'
import struct, sys
img, blk, off, bs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 16), int(sys.argv[4])
with open(img, "r+b") as f:
    f.seek(blk * bs + off + 0x28)
    b = bytearray(f.read(60))
    p = 4
    while p < 60:
        ino, rec, nl, ft = struct.unpack_from("<IHBB", b, p)
        if b[p + 8:p + 8 + nl] == b"x":
            b[p + 8] = ord(".")
        p += max(rec, 12)
    f.seek(blk * bs + off + 0x28)
    f.write(b)
PY
	"$ANYK" mkdir "$img:/small/new" >"$tmp/err" 2>&1
	rc=$?
	check "hostile inline directory: a name added fails, the corruption named" \
		'[ $rc = 1 ] && grep -q "inline entries" "$tmp/err"' "rc=$rc $(cat "$tmp/err")"
	"$ANYK" ls -a "$img:/small" >"$tmp/err" 2>&1
	check "hostile inline directory: the failed mkdir added no name" '! grep -q "^new$" "$tmp/err"' "$(cat "$tmp/err")"
else
	echo "skip - hostile inline directory: mke2fs, python3 or debugfs missing"
fi
# The state the superblock records. An unclean unmount alone is a note (the
# journal, if any, is replayed): check finds nothing. Errors recorded by
# whoever wrote the image are a complaint: check names them and exits 1.
# The level of the kernel's log line decides, not its wording.
state_check() { # NAME STATE WANT_RC
	name="check, $1"
	mk "$name" ext4 "" || return
	if ! debugfs -w -R "ssv state $2" "$img" >"$tmp/err" 2>&1; then
		fail "$name: debugfs sets the state" "$(cat "$tmp/err")"
		return
	fi
	"$ANYK" check "$img" >"$tmp/chk" 2>"$tmp/err"
	rc=$?
	if [ "$3" = 0 ]; then
		check "$name: anyk check finds nothing" '[ $rc = 0 ] && [ ! -s "$tmp/err" ]' \
			"rc=$rc $(cat "$tmp/chk" "$tmp/err")"
	else
		check "$name: anyk check names it and exits 1" \
			'[ $rc = 1 ] && grep -q "having errors" "$tmp/err" && grep -q "PROBLEMS FOUND" "$tmp/chk"' \
			"rc=$rc $(cat "$tmp/chk" "$tmp/err")"
	fi
}
if command -v debugfs >/dev/null 2>&1; then
	state_check "not cleanly unmounted" 0 0
	state_check "errors recorded" 3 1
	state_check "errors recorded, not cleanly unmounted" 2 1
else
	echo "# no debugfs: the superblock state checks are skipped"
fi

exit $failed
