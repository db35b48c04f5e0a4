#!/bin/sh
# The image subcommands (anyk ls, cat, cp, ... on IMAGE[@PART]:PATH) on
# ext2, ext3 and ext4 images made by mke2fs -d, as a whole disk and inside
# MBR and GPT partitions (the GPT one also by name): results, error
# messages naming the path, exit codes (0/1/2), JSON that parses, and
# e2fsck finding every image clean after the writing commands.
set -u
B=${B:-build}
ANYK=$B/bin/anyk
for tool in mke2fs e2fsck sfdisk python3; do
	if ! command -v $tool >/dev/null 2>&1 && [ ! -x /sbin/$tool ] && [ ! -x /usr/sbin/$tool ]; then
		echo "skip - img_cmds: $tool missing"
		exit 77
	fi
done
[ -x "$ANYK" ] || { echo "skip - img_cmds: $ANYK not built"; exit 77; }
PATH=$PATH:/sbin:/usr/sbin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-img.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
TZ=UTC
export TZ
failed=0
pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	failed=1
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}
# r CMD...: run anyk; $out, $err, $rc.
r() {
	"$ANYK" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
# t NAME RC [STDOUT] -- CMD...: exit status and, if given, stdout.
t() {
	name=$1 want=$2
	shift 2
	expect=
	have_expect=0
	if [ "$1" != "--" ]; then
		expect=$1
		have_expect=1
		shift
	fi
	shift
	r "$@"
	if [ "$rc" != "$want" ]; then
		fail "$name (exit $rc, want $want)" "$err"
	elif [ $have_expect = 1 ] && [ "$out" != "$expect" ]; then
		fail "$name (output)" "got: $out
want: $expect"
	else
		pass "$name"
	fi
}
# terr NAME RC MESSAGE -- CMD...: fails with MESSAGE on stderr.
terr() {
	name=$1 want=$2 msg=$3
	shift 4
	r "$@"
	if [ "$rc" != "$want" ]; then
		fail "$name (exit $rc, want $want)" "$err"
	elif ! printf '%s' "$err" | grep -qF -- "$msg"; then
		fail "$name (message)" "got: $err
want: $msg"
	else
		pass "$name"
	fi
}
json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out" 2>/dev/null; }
tjson() {
	name=$1
	shift
	r "$@"
	if [ "$rc" = 0 ] && json_ok; then pass "$name"; else fail "$name" "$out $err"; fi
}
fsck_clean() {
	case $1 in
	*mbr.img|*gpt.img)
		dd if="$1" of="$tmp/fsck.fs" bs=512 skip=10240 count=32768 status=none
		set -- "$tmp/fsck.fs" "$2";;
	esac
	if e2fsck -fn "$1" >"$tmp/fsck" 2>&1; then pass "$2: e2fsck clean"; else fail "$2: e2fsck clean" "$(cat "$tmp/fsck")"; fi
}

# The tree every image starts from.
src=$tmp/src
mkdir -p "$src/etc" "$src/dir/sub" "$src/empty"
printf 'hello\n' >"$src/hello.txt"
printf 'root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n' >"$src/etc/passwd"
printf 'root:x:0:\nstaff:x:50:\n' >"$src/etc/group"
head -c 100000 /dev/urandom >"$src/dir/big"
printf 'deep\n' >"$src/dir/sub/deep.txt"
ln -s hello.txt "$src/link"
ln "$src/hello.txt" "$src/hard"

mkimg() { # FSTYPE FILE [SIZE]
	mke2fs -q -F -t "$1" -d "$src" "$2" "${3:-16M}" >/dev/null 2>&1
}

# run_suite LABEL SPEC FILE: SPEC is what goes before ':' (IMAGE or IMAGE@PART).
run_suite() {
	L=$1 I=$2 F=$3
	t "$L ls" 0 "dir
empty
etc
hard
hello.txt
link
lost+found" -- ls "$I:/"
	t "$L ls -a shows dots" 0 -- ls -a "$I:/dir"
	case $out in .*) pass "$L ls -a order";; *) fail "$L ls -a order" "$out";; esac
	t "$L ls -d" 0 "/dir" -- ls -d "$I:/dir"
	r ls -l "$I:/link"
	case $out in *"link -> hello.txt") pass "$L ls -l symlink";; *) fail "$L ls -l symlink" "$out";; esac
	r ls -R "$I:/dir"
	case $out in *deep.txt*) pass "$L ls -R";; *) fail "$L ls -R" "$out";; esac
	t "$L ls --sort=size" 0 "big
sub" -- ls --sort=size "$I:/dir"
	tjson "$L ls --json" ls -la --json "$I:/"
	terr "$L ls missing" 1 "$I:/nope: No such file or directory" -- ls "$I:/nope"
	terr "$L ls bad option" 2 "invalid option" -- ls -Z "$I:/"
	terr "$L ls bad sort" 2 "--sort" -- ls --sort=color "$I:/"
	t "$L cat" 0 "hello" -- cat "$I:/hello.txt"
	t "$L cat through symlink" 0 "hello" -- cat "$I:link"
	terr "$L cat directory" 1 "Is a directory" -- cat "$I:/dir"
	tjson "$L stat --json" stat --json "$I:/hello.txt" "$I:/link"
	r stat "$I:/hard"
	case $out in *"Links: 2"*) pass "$L stat links";; *) fail "$L stat links" "$out";; esac
	t "$L find -name" 0 "/dir/sub/deep.txt" -- find "$I:/" -name 'deep*'
	t "$L find -type l" 0 "/link" -- find "$I:/" -type l
	t "$L find -size" 0 "/dir/big" -- find "$I:/" -type f -size +50k
	t "$L find -maxdepth" 0 "/dir
/dir/big
/dir/sub" -- find "$I:/dir" -maxdepth 1
	tjson "$L find --json" find "$I:/" --json
	terr "$L find bad test" 2 "unknown test" -- find "$I:/" -frob
	r du -s "$I:/dir"
	case $out in [0-9]*"	/dir") pass "$L du -s";; *) fail "$L du -s" "$out";; esac
	tjson "$L df --json" df --json "$I"
	tjson "$L info --json" info --json "$F"
	t "$L check" 0 -- check -q "$I"
	# Writes.
	t "$L mkdir -p" 0 -- mkdir -p "$I:/a/b/c"
	terr "$L mkdir exists" 1 "$I:/a: File exists" -- mkdir "$I:/a"
	t "$L cp host->image" 0 -- cp "$src/dir/big" "$I:/a/b/"
	r cat "$I:/a/b/big"
	if cmp -s "$tmp/out" "$src/dir/big"; then pass "$L cp data"; else fail "$L cp data"; fi
	t "$L cp image->host" 0 -- cp "$I:/a/b/big" "$tmp/big.out"
	if cmp -s "$tmp/big.out" "$src/dir/big"; then pass "$L cp out data"; else fail "$L cp out data"; fi
	t "$L cp image->image" 0 -- cp -r "$I:/dir" "$I:/a/copy"
	t "$L cp -r copy" 0 "deep" -- cat "$I:/a/copy/sub/deep.txt"
	terr "$L cp dir without -r" 1 "use -r" -- cp "$I:/dir" "$tmp/x"
	terr "$L cp missing source" 1 "$I:/none: No such file or directory" -- cp "$I:/none" "$tmp/x"
	terr "$L cp one operand" 2 "missing" -- cp "$I:/dir"
	t "$L mv" 0 -- mv "$I:/a/b/big" "$I:/a/moved"
	terr "$L mv missing" 1 "No such file" -- mv "$I:/a/b/big" "$I:/a/x"
	t "$L mv -n keeps the target" 0 -- mv -n "$I:/a/copy/sub/deep.txt" "$I:/a/moved"
	t "$L mv -n moved nothing" 0 "deep" -- cat "$I:/a/copy/sub/deep.txt"
	t "$L mv -n to a new name" 0 -- mv -n "$I:/a/copy/sub/deep.txt" "$I:/a/copy/sub/deeper.txt"
	t "$L mv --exchange" 0 -- mv --exchange "$I:/a/copy/sub/deeper.txt" "$I:/a/moved"
	t "$L mv --exchange swapped" 0 "deep" -- cat "$I:/a/moved"
	t "$L mv --exchange back" 0 -- mv --exchange "$I:/a/moved" "$I:/a/copy/sub/deeper.txt"
	t "$L mv -T back" 0 -- mv -T "$I:/a/copy/sub/deeper.txt" "$I:/a/copy/sub/deep.txt"
	terr "$L mv --exchange missing" 1 "$I:/a/none: No such file" -- mv --exchange "$I:/a/moved" "$I:/a/none"
	terr "$L mv -T onto a dir" 1 "Is a directory" -- mv -T "$I:/a/moved" "$I:/a/copy"
	terr "$L mv --exchange extra operand" 2 "extra operand" -- mv --exchange "$I:/a/moved" "$I:/a/copy" "$I:/dir"
	terr "$L mv --exchange with -n" 2 "cannot go together" -- mv -n --exchange "$I:/a/moved" "$I:/a/copy"
	t "$L ln -s" 0 -- ln -s moved "$I:/a/sym"
	t "$L ln hard" 0 -- ln "$I:/a/moved" "$I:/a/hard2"
	r stat --json "$I:/a/moved"
	case $out in *'"nlink":2'*) pass "$L ln nlink";; *) fail "$L ln nlink" "$out";; esac
	t "$L chmod octal" 0 -- chmod 0640 "$I:/a/moved"
	t "$L chmod symbolic" 0 -- chmod g+w,o+r "$I:/a/moved"
	r stat --json "$I:/a/moved"
	case $out in *'"mode":"0664"'*) pass "$L chmod result";; *) fail "$L chmod result" "$out";; esac
	terr "$L chmod bad mode" 2 "invalid mode" -- chmod 99x "$I:/a/moved"
	t "$L chown numeric" 0 -- chown 7:8 "$I:/a/moved"
	t "$L chown names from the image" 0 -- chown alice:staff "$I:/a/hard2"
	r stat --json "$I:/a/moved"
	case $out in *'"uid":1001,"gid":50'*) pass "$L chown result";; *) fail "$L chown result" "$out";; esac
	terr "$L chown unknown user" 1 "no such user" -- chown mallory "$I:/a/moved"
	t "$L touch -d" 0 -- touch -d 2021-02-03T04:05:06.123456789Z "$I:/a/new"
	r stat --json "$I:/a/new"
	case $out in *'"mtime":1612325106,"mtime_nsec":123456789'*) pass "$L touch result";; *) fail "$L touch result" "$out";; esac
	t "$L touch -m @epoch" 0 -- touch -m -d @1000000000 "$I:/a/new"
	terr "$L touch bad date" 2 "invalid date" -- touch -d yesterday "$I:/a/new"
	t "$L find -newer" 0 "/a/moved" -- find "$I:/a" -newer /a/new -name moved
	terr "$L rmdir not empty" 1 "Directory not empty" -- rmdir "$I:/a"
	t "$L rmdir" 0 -- rmdir "$I:/a/b/c"
	terr "$L rm dir without -r" 1 "Is a directory" -- rm "$I:/a/b"
	t "$L rm -f missing" 0 -- rm -f "$I:/a/none"
	t "$L rm -r" 0 -- rm -r "$I:/a"
	terr "$L gone" 1 "No such file" -- ls "$I:/a"
	terr "$L ro refuses writes" 1 "-o ro" -- mkdir -o ro "$I:/zz"
	fsck_clean "$F" "$L"
}

for fs in ext2 ext3 ext4; do
	mkimg $fs "$tmp/$fs.img"
	run_suite "$fs whole" "$tmp/$fs.img" "$tmp/$fs.img"
done

# Partitions: an MBR and a GPT disk with the file system in partition 2.
mkpart() { # LABEL(dos|gpt) FILE
	truncate -s 40M "$2"
	if [ "$1" = gpt ]; then
		printf 'label: gpt\nstart=2048, size=8192, name=boot\nstart=10240, size=32768, name=rootfs\n' | sfdisk -q "$2" >/dev/null 2>&1
	else
		printf 'label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=32768, type=83\n' | sfdisk -q "$2" >/dev/null 2>&1
	fi
	mkimg ext4 "$tmp/part.fs" 16M
	dd if="$tmp/part.fs" of="$2" bs=512 seek=10240 conv=notrunc status=none
}
mkpart dos "$tmp/mbr.img"
mkpart gpt "$tmp/gpt.img"
run_suite "mbr@2" "$tmp/mbr.img@2" "$tmp/mbr.img"
run_suite "gpt@rootfs" "$tmp/gpt.img@rootfs" "$tmp/gpt.img"
t "gpt@2 by number" 0 "hello" -- cat "$tmp/gpt.img@2:/hello.txt"
t "gpt: the only file system found without @PART" 0 "hello" -- cat "$tmp/gpt.img:/hello.txt"
terr "gpt: no such partition name" 1 "no partition named" -- ls "$tmp/gpt.img@nope:/"
terr "gpt: no such partition number" 1 "no partition 7" -- ls "$tmp/gpt.img@7:/"
terr "gpt: partition without a file system" 1 "no file system" -- ls "$tmp/gpt.img@1:/"
r info "$tmp/gpt.img"
case $out in *rootfs*linux*|*linux*rootfs*) pass "info shows GPT names and types";; *) fail "info shows GPT names and types" "$out";; esac
r info --json "$tmp/mbr.img"
if json_ok && grep -q '"type":"fat32"' "$tmp/out"; then pass "info --json MBR types"; else fail "info --json MBR types" "$out"; fi

# Two images in one command: ls reads both; mv from one to the other
# copies the tree (a hard link pair, an xattr, a hole) and removes it.
t "ls of two images" 0 "$(printf '/hello.txt\n/hello.txt')" -- ls -d "$tmp/ext2.img:/hello.txt" "$tmp/ext4.img:/hello.txt"
r mkdir "$tmp/ext2.img:/mvsrc"
r cp "$tmp/ext4.img:/hello.txt" "$tmp/ext2.img:/mvsrc/h"
r ln "$tmp/ext2.img:/mvsrc/h" "$tmp/ext2.img:/mvsrc/h2"
printf 'xyz' >"$tmp/holey" && truncate -s 5M "$tmp/holey"
r cp "$tmp/holey" "$tmp/ext2.img:/mvsrc/holey"
t "mv between images" 0 -- mv "$tmp/ext2.img:/mvsrc" "$tmp/ext4.img:/mvdst"
terr "mv between images: the source is gone" 1 "No such file" -- stat "$tmp/ext2.img:/mvsrc"
r stat --json "$tmp/ext4.img:/mvdst/h" "$tmp/ext4.img:/mvdst/holey"
case $out in *'"nlink":2'*'"size":5242880,"blocks":'[0-9]\,*|*'"nlink":2'*'"size":5242880,"blocks":'[0-9][0-9]\,*)
	pass "mv between images: links and holes kept";;
*) fail "mv between images: links and holes kept" "$out";; esac
t "mv between images: data" 0 "hello" -- cat "$tmp/ext4.img:/mvdst/h2"
terr "mv between images: no exchange" 1 "cannot exchange" -- mv --exchange "$tmp/ext4.img:/mvdst" "$tmp/ext2.img:/hello.txt"
for f in ext2 ext4; do
	if e2fsck -fn "$tmp/$f.img" >/dev/null 2>&1; then pass "mv between images: $f e2fsck clean"
	else fail "mv between images: $f e2fsck clean"; fi
done

# Errors that need no image contents.
terr "missing image" 1 "nothere.img: No such file or directory" -- ls "$tmp/nothere.img:/"
terr "host path refused" 2 "not an image path" -- ls "$tmp"
terr "unknown long option" 2 "unknown option" -- ls --frob "$tmp/ext2.img:/"
t "--help" 0 -- cat --help
# --help after an operand prints the help and stops, for every command.
for c in cat mkdir rm rmdir touch ls stat mv ln chmod chown; do
	t "$c IMAGE:PATH --help" 0 -- $c "$tmp/ext4.img:/" --help
done
terr "chown with an empty owner" 2 "invalid owner" -- chown : "$tmp/ext4.img:/hello.txt"
terr "not a file system" 1 "no file system" -- ls "$tmp/big.out:/"
t "options after operands and --" 0 "/hello.txt" -- ls "$tmp/ext4.img:/hello.txt" -d --

exit $failed
