#!/bin/sh
# Mounting without replaying the journal (-o norecovery, or noload): an
# image whose journal holds a committed transaction (written with debugfs's
# journal commands) shows the replayed contents by default and the contents
# as they lie on the disk with norecovery, through the image commands and
# through anyk mount. Neither view writes the image. norecovery refuses
# writing (the journal's later replay would undo the writes), an unknown
# mount option is refused by name, and a read-write mount then replays the
# journal for good.
T_NAME=img_norecovery
. "$(dirname "$0")/../lib.sh"

need_built "$ANYK"
need_tools mke2fs debugfs dumpe2fs e2fsck cmp
t_tmpdir
img=$tmp/img
mke2fs -q -F -t ext4 -b 4096 "$img" 16M >/dev/null 2>&1 || { fail "mke2fs"; exit 1; }
head -c 4096 /dev/zero | tr '\0' o >"$tmp/old"
head -c 4096 /dev/zero | tr '\0' n >"$tmp/new"
debugfs -w -R "write $tmp/old f" "$img" >/dev/null 2>&1
blk=$(debugfs -R "blocks f" "$img" 2>/dev/null | tr -d ' \n')
case $blk in
'' | *[!0-9]*) fail "the file's block" "debugfs said '$blk'"; exit 1 ;;
esac
printf 'jo\njw -b %s %s\njc\n' "$blk" "$tmp/new" >"$tmp/script"
debugfs -w -f "$tmp/script" "$img" >"$tmp/jlog" 2>&1
dumpe2fs -h "$img" 2>/dev/null | grep -q needs_recovery ||
	skip_all "debugfs could not leave a transaction in the journal: $(head -3 "$tmp/jlog")"
cp "$img" "$tmp/orig"

check "by default the journal is replayed (in memory)" '"$ANYK" cat "$img:/f" | cmp -s - "$tmp/new"'
check "norecovery shows the blocks as they lie" '"$ANYK" cat -o norecovery "$img:/f" | cmp -s - "$tmp/old"'
check "noload is the same" '"$ANYK" ls -l -o ro,noload "$img:/f" >/dev/null && "$ANYK" cat -o noload "$img:/f" | cmp -s - "$tmp/old"'
run_check "anyk check of the replayed view" "$ANYK" check "$img"
run_check "anyk check of the unreplayed view (only file data is journaled: consistent)" "$ANYK" check -o norecovery "$img"
check "reading wrote nothing" 'cmp -s "$img" "$tmp/orig"'

"$ANYK" cp -o norecovery "$tmp/new" "$img:/g" >"$tmp/out" 2>&1
rc=$?
check "norecovery refuses writing" '[ $rc = 1 ] && grep -q norecovery "$tmp/out"' "exit $rc: $(cat "$tmp/out")"
"$ANYK" ls -o bogus "$img:/" >"$tmp/out" 2>&1
rc=$?
check "an unknown mount option is refused by name" '[ $rc = 1 ] && grep -q "bogus" "$tmp/out"' "exit $rc: $(cat "$tmp/out")"
check "...and the image is untouched" 'cmp -s "$img" "$tmp/orig"'

if "$ANYK" help mount >/dev/null 2>&1 && [ -c /dev/fuse ] && [ "$(id -u)" = 0 ]; then
	mnt=$tmp/mnt
	mkdir "$mnt"
	trap 'umount -l "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
	if timeout 20 "$ANYK" mount -o norecovery "$img" "$mnt" 2>"$tmp/err"; then
		check "anyk mount -o norecovery shows the blocks as they lie" 'cmp -s "$mnt/f" "$tmp/old"'
		check "...read-only" '! touch "$mnt/x" 2>/dev/null'
		timeout 60 "$ANYK" umount "$mnt" || umount -l "$mnt"
		check "...and writes nothing" 'cmp -s "$img" "$tmp/orig"'
	else
		fail "anyk mount -o norecovery" "$(cat "$tmp/err")"
	fi
else
	echo "skip - anyk mount -o norecovery: needs root, /dev/fuse and a tool built with libfuse3"
fi

run_check "a read-write mount replays the journal" "$ANYK" cp "$tmp/old" "$img:/g"
check "...for good" '! dumpe2fs -h "$img" 2>/dev/null | grep -q needs_recovery && "$ANYK" cat -o norecovery "$img:/f" | cmp -s - "$tmp/new"'
run_check "e2fsck finds the image clean" e2fsck -fn "$img"
exit $failed
