#!/bin/sh
# anyk shell with ext2/3/4 disk images: images made by mke2fs -d from a host
# tree are found on the disk or in a partition and mounted on /mnt/sd0,
# /mnt/sd0p2, ... by themselves, read-only when asked or when the driver
# cannot write; their files and extended attributes are what the host put
# there. Run by tests/run.sh with B set to the build directory.
set -u
B=${B:-build}
ANYK=$B/bin/anyk
PATH=$PATH:/usr/sbin:/sbin
export PATH
if [ ! -x "$ANYK" ]; then
	echo "skip - tool_ext2: $ANYK not built"
	exit 77
fi
if ! command -v mke2fs >/dev/null 2>&1; then
	echo "skip - tool_ext2: mke2fs not installed"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-ext2sh.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	failed=1
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}

# run ARGS...: the shell with the given arguments; $out, $err, $rc.
run() {
	"$ANYK" shell "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# check NAME COND: pass if the shell command COND succeeds.
check() {
	if eval "$2"; then pass "$1"; else fail "$1" "rc=$rc
stdout: $out
stderr: $err"; fi
}

tree=$tmp/tree
mkdir -p "$tree/sub/deeper"
echo "hello from the host" >"$tree/hello.txt"
echo deep >"$tree/sub/deeper/file"
head -c 100000 /dev/urandom >"$tree/random.bin"
ln -s hello.txt "$tree/link"
have_xattr=0
if command -v setfattr >/dev/null 2>&1 &&
    setfattr -n user.color -v blue "$tree/hello.txt" 2>/dev/null; then
	setfattr -n user.shape -v round "$tree/hello.txt"
	setfattr -n user.dir -v yes "$tree/sub"
	have_xattr=1
fi

mkimg() { # TYPE IMAGE [mke2fs options]
	t=$1 img=$2
	shift 2
	mke2fs -q -F -t "$t" "$@" -d "$tree" "$img" 16M >/dev/null 2>&1
}

# --- a whole-disk ext4 image ------------------------------------------------

mkimg ext4 "$tmp/e4.img" || fail "mke2fs ext4"
run --disk "$tmp/e4.img:ro" -c 'ls /mnt/sd0; cat /mnt/sd0/hello.txt; cat /mnt/sd0/sub/deeper/file'
check "ext4 image mounted on /mnt/sd0 and listed" \
    '[ $rc = 0 ] && [ "$out" = "hello.txt
link
lost+found
random.bin
sub
hello from the host
deep" ]'
check "the mount is reported on stderr" \
    'printf "%s\n" "$err" | grep -q "^/dev/sd0: ext4 mounted on /mnt/sd0 (read-only)$"'
run --disk "$tmp/e4.img:ro" -c "cp /mnt/sd0/random.bin host:$tmp/back"
check "a file read through the automatic mount is the host's" \
    '[ $rc = 0 ] && cmp -s "$tree/random.bin" "$tmp/back"'
run --disk "$tmp/e4.img:ro" -c 'mount; df /mnt/sd0'
check "mount lists it as ext4, read-only" \
    'printf "%s\n" "$out" | grep -q "^/dev/sd0 on /mnt/sd0 type ext4 (ro)$"'
run -q --disk "$tmp/e4.img:ro" -c 'ls /mnt/sd0/sub'
check "-q mounts without a word" '[ $rc = 0 ] && [ "$out" = "deeper" ] && [ -z "$err" ]'
run --no-mount --disk "$tmp/e4.img" -c 'ls /mnt'
check "--no-mount leaves it alone" \
    '[ $rc = 1 ] && ! printf "%s\n" "$err" | grep -q "mounted on"'

if [ $have_xattr = 1 ]; then
	run -q --disk "$tmp/e4.img:ro" -c 'xattr -l /mnt/sd0/hello.txt; xattr -p user.dir /mnt/sd0/sub'
	check "xattr shows the attributes the host set" \
	    '[ $rc = 0 ] && [ "$(printf "%s\n" "$out" | sort)" = "user.color: blue
user.shape: round
yes" ]'
	run -q --disk "$tmp/e4.img:ro" -c 'xattr -w user.new x /mnt/sd0/hello.txt'
	check "xattr -w on a read-only mount: 1" \
	    '[ $rc = 1 ] && printf "%s\n" "$err" | grep -q "Read-only file system"'
else
	echo "skip - xattr on ext4 (no setfattr or no user.* on this host file system)"
fi

# A disk attached read-write: mounted read-write if the driver can write,
# else read-only with a note. Either way the files are there; if it is
# writable, a write must survive the shell's exit.
cp "$tmp/e4.img" "$tmp/rw.img"
run --disk "$tmp/rw.img" -c 'ls /mnt/sd0/sub'
check "read-write disk: mounted" '[ $rc = 0 ] && [ "$out" = "deeper" ]'
if printf '%s\n' "$err" | grep -q "^/dev/sd0: ext4 mounted on /mnt/sd0 (read-write)$"; then
	pass "read-write disk: mounted read-write"
	run -q --disk "$tmp/rw.img" -c 'echo written > /mnt/sd0/new.txt; sync'
	run -q --disk "$tmp/rw.img" -c 'cat /mnt/sd0/new.txt'
	check "a file written through the automatic mount persists" '[ "$out" = written ]'
	e2fsck -fn "$tmp/rw.img" >"$tmp/fsck" 2>&1
	check "e2fsck finds the written image clean" '[ $? = 0 ]'
elif printf '%s\n' "$err" | grep -q "^/dev/sd0: ext4 mounted on /mnt/sd0 (read-only, the driver refused read-write)$"; then
	pass "read-write disk: the driver cannot write yet, mounted read-only with a note"
else
	fail "read-write disk: mount report" "$err"
fi

# --- ext2 and ext3 are told apart --------------------------------------------

for t in ext2 ext3; do
	mkimg $t "$tmp/$t.img" || fail "mke2fs $t"
	run --disk "$tmp/$t.img:ro" -c 'cat /mnt/sd0/hello.txt'
	check "$t image detected as $t" \
	    '[ $rc = 0 ] && [ "$out" = "hello from the host" ] &&
	    printf "%s\n" "$err" | grep -q "^/dev/sd0: $t mounted on /mnt/sd0 (read-only)$"'
done

# --- partitions -----------------------------------------------------------------

if command -v sfdisk >/dev/null 2>&1; then
	dd if=/dev/zero of="$tmp/part.img" bs=1M count=24 2>/dev/null
	printf 'label: dos\nstart=2048, size=4096, type=83\nstart=8192, type=83\n' |
	    sfdisk -q "$tmp/part.img" >/dev/null 2>&1
	# ext4 inside partition 2 (sector 8192), nothing in partition 1
	mke2fs -q -F -t ext4 -E offset=$((8192 * 512)) -d "$tree" "$tmp/part.img" 16M >/dev/null 2>&1
	run --disk "$tmp/part.img:ro" -c 'ls /mnt; cat /mnt/sd0p2/hello.txt'
	check "ext4 in partition 2 mounted on /mnt/sd0p2, nothing else" \
	    '[ $rc = 0 ] && [ "$out" = "sd0p2
hello from the host" ]'
	check "the partition's mount is reported" \
	    'printf "%s\n" "$err" | grep -q "^/dev/sd0p2: ext4 mounted on /mnt/sd0p2 (read-only)$"'
	# GPT, two file systems
	dd if=/dev/zero of="$tmp/gpt.img" bs=1M count=40 2>/dev/null
	printf 'label: gpt\nstart=2048, size=16384\nstart=20480, size=32768\n' |
	    sfdisk -q "$tmp/gpt.img" >/dev/null 2>&1
	mke2fs -q -F -t ext2 -E offset=$((2048 * 512)) "$tmp/gpt.img" 8M >/dev/null 2>&1
	mke2fs -q -F -t ext4 -E offset=$((20480 * 512)) -d "$tree" "$tmp/gpt.img" 16M >/dev/null 2>&1
	run --disk "$tmp/gpt.img:ro" -c 'ls /mnt; ls /mnt/sd0p1; cat /mnt/sd0p2/sub/deeper/file'
	check "GPT: both partitions mounted" \
	    '[ $rc = 0 ] && [ "$out" = "sd0p1
sd0p2
lost+found
deep" ]'
else
	echo "skip - partitioned images (no sfdisk)"
fi

# --- what is not ext2/3/4 ---------------------------------------------------------

dd if=/dev/zero of="$tmp/zero.img" bs=1M count=4 2>/dev/null
run --disk "$tmp/zero.img" -c 'ls /dev/sd0'
check "a blank disk mounts nothing" \
    '[ $rc = 0 ] && ! printf "%s\n" "$err" | grep -q "mounted on"'
run -q --disk "$tmp/zero.img" -c 'ls /mnt'
check "and makes no mount point" '[ $rc = 1 ]'
# the magic number alone: found, refused by the driver, reported; the
# shell still runs
printf '\123\357' | dd of="$tmp/zero.img" bs=1 seek=1080 conv=notrunc 2>/dev/null
run -q --disk "$tmp/zero.img" -c 'echo still here; ls /mnt'
check "a damaged superblock is reported and the shell goes on" \
    '[ "$out" = "still here" ] && [ $rc = 0 ] &&
    printf "%s\n" "$err" | grep -q "^anyk: /dev/sd0: cannot mount ext2 on /mnt/sd0: "'

exit $failed
