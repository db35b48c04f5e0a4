#!/bin/sh
# The anyk tool and its shell, end to end: every shell command with its
# success and error cases (exit status 0 ok, 1 error, 2 usage), and disk
# images attached with --disk, whose writes must land in the host file.
# Run by tests/run.sh with B set to the build directory.
set -u
B=${B:-build}
ANYK=$B/bin/anyk
if [ ! -x "$ANYK" ]; then
	echo "skip - tool_shell: $ANYK not built"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-tool.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
# ls -l prints local times; the tests want no surprises from the host's zone.
TZ=UTC
export TZ

pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	failed=1
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}

# sh_run SCRIPT: run the shell; sets $out (stdout), $err (stderr), $rc.
sh_run() {
	"$ANYK" shell -q -c "$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# t NAME RC SCRIPT [EXPECTED_STDOUT]: exit status, and stdout if given.
t() {
	sh_run "$3"
	if [ "$rc" != "$2" ]; then
		fail "$1 (exit $rc, want $2)" "$err"
	elif [ $# -ge 4 ] && [ "$out" != "$4" ]; then
		fail "$1 (output)" "got: $out
want: $4"
	else
		pass "$1"
	fi
}

# tgrep NAME RC SCRIPT REGEX: exit status, and stdout matching an ERE.
tgrep() {
	sh_run "$3"
	if [ "$rc" != "$2" ]; then
		fail "$1 (exit $rc, want $2)" "$err"
	elif ! printf '%s\n' "$out" | grep -Eq -- "$4"; then
		fail "$1 (output does not match /$4/)" "$out"
	else
		pass "$1"
	fi
}

# terr NAME RC SCRIPT REGEX: exit status, and stderr matching an ERE.
terr() {
	sh_run "$3"
	if [ "$rc" != "$2" ]; then
		fail "$1 (exit $rc, want $2)" "$out$err"
	elif ! printf '%s\n' "$err" | grep -Eq -- "$4"; then
		fail "$1 (message does not match /$4/)" "$err"
	else
		pass "$1"
	fi
}

# --- the tool itself -------------------------------------------------------

"$ANYK" version >"$tmp/out" 2>&1 && grep -q '^anyk ' "$tmp/out" &&
    grep -q '^kernel ' "$tmp/out" && pass "anyk version" ||
    fail "anyk version" "$(cat "$tmp/out")"
"$ANYK" --help >"$tmp/out" 2>&1 && grep -q shell "$tmp/out" &&
    pass "anyk --help" || fail "anyk --help"
"$ANYK" help shell >"$tmp/out" 2>&1 && grep -q '^usage: anyk shell' "$tmp/out" &&
    pass "anyk help shell" || fail "anyk help shell"
"$ANYK" shell --help >"$tmp/out" 2>&1 && grep -q -- '--disk' "$tmp/out" &&
    pass "anyk shell --help" || fail "anyk shell --help"
"$ANYK" >/dev/null 2>&1; [ $? = 2 ] && pass "anyk without a command: usage, 2" ||
    fail "anyk without a command: usage, 2"
"$ANYK" frobnicate >/dev/null 2>&1; [ $? = 2 ] && pass "anyk unknown command: 2" ||
    fail "anyk unknown command: 2"
"$ANYK" version extra >/dev/null 2>&1; [ $? = 2 ] && pass "anyk version extra: 2" ||
    fail "anyk version extra: 2"
"$ANYK" shell -x >/dev/null 2>&1; [ $? = 2 ] && pass "anyk shell -x: 2" ||
    fail "anyk shell -x: 2"
"$ANYK" dmesg >"$tmp/out" 2>&1 && [ -s "$tmp/out" ] && pass "anyk dmesg prints the log" ||
    fail "anyk dmesg prints the log" "$(cat "$tmp/out")"

# --- the interpreter ---------------------------------------------------------

t "echo" 0 'echo hello world' "hello world"
t "echo -n" 0 'echo -n a; echo b' "ab"
t "echo -e escapes" 0 'echo -e "a\tb\x41\0101"' "$(printf 'a\tbAA')"
t "quotes and escapes" 0 "echo \"a  b\" 'c;d' e\\ f \"q\\\"\"" 'a  b c;d e f q"'
t "comments and empty commands" 0 'echo a;; # echo b
echo c' "a
c"
t "newlines separate commands" 0 'echo 1
echo 2' "1
2"
terr "unknown command: 2" 2 'frobnicate' 'frobnicate: command not found'
terr "unterminated quote: 2" 2 'echo "abc' 'syntax error'
terr "redirection without a file: 2" 2 'echo a >' 'syntax error'
t "stops at the first failure (sh -e)" 1 'echo before; cat /nope; echo after' "before"
t "exit STATUS" 3 'exit 3; echo not reached' ""
t "exit with a bad status: 2" 2 'exit 256'
t "help" 0 'help >/h; cat /h >/dev/null'
tgrep "help lists commands" 0 'help' '^  hexdump'
tgrep "help CMD" 0 'help ls' '^usage: ls'
tgrep "CMD --help" 0 'mount --help' '^usage: mount'
tgrep "--help after options" 0 'ls -l --help' '^usage: ls'
printf 'echo from stdin\npwd\n' | "$ANYK" shell -q >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && [ "$(cat "$tmp/out")" = "from stdin
/" ] && pass "script on stdin" || fail "script on stdin" "$(cat "$tmp/out" "$tmp/err")"
printf 'cat /nope\necho after\n' | "$ANYK" shell -q >"$tmp/out" 2>&1
[ $? = 1 ] && ! grep -q after "$tmp/out" && pass "script on stdin stops at a failure" ||
    fail "script on stdin stops at a failure"

# --- files -------------------------------------------------------------------

t "redirect > and cat" 0 'echo hello > /f; cat /f' "hello"
t "redirect >> appends" 0 'echo a > /f; echo b >> /f; echo c >>/f; cat /f' "a
b
c"
t "> FILE alone empties it" 0 'echo x > /f; > /f; cat /f' ""
terr "redirect into a missing directory: 1" 1 'echo a > /no/f' '^anyk: /no/f: No such file or directory'
t "write" 0 'write /f one two; cat /f' "one two"
t "write -a" 0 'write /f one; write -a /f two; cat /f' "one
two"
t "write -n" 0 'write -n /f abc; hexdump /f' "00000000  61 62 63                                          |abc|
00000003"
terr "write without a file: 2" 2 'write' 'usage: write'
terr "write to a directory: 1" 1 'write / x' '^anyk: /: Is a directory'
t "cat of several files" 0 'echo 1 > /a; echo 2 > /b; cat /a /b' "1
2"
terr "cat missing: 1 and names the path" 1 'cat /nope' '^anyk: /nope: No such file or directory$'
terr "cat without operand: 2" 2 'cat' 'usage: cat'
terr "cat of a directory: 1" 1 'cat /' '^anyk: /: Is a directory'

t "ls sorts and hides dot files" 0 'mkdir /d; touch /d/b /d/a /d/.h; ls /d' "a
b"
tgrep "ls -a shows dot files" 0 'mkdir /d; touch /d/.h; ls -a /d' '^\.h$'
t "ls -d" 0 'mkdir /d; ls -d /d' "/d"
t "ls of a file" 0 'touch /f; ls /f' "/f"
t "ls of several directories" 0 'mkdir /d /e; touch /d/1 /e/2; ls /d /e' "/d:
1

/e:
2"
terr "ls missing: 1" 1 'ls /nope' '^anyk: /nope: No such file or directory$'
terr "ls bad option: 2" 2 'ls -z' "invalid option -- 'z'"
tgrep "ls -l file" 0 'write /f abc; chmod 644 /f; ls -l /f' \
    '^-rw-r--r-- 1 0 0 4 [A-Z][a-z][a-z] [ 0-9][0-9] ([0-9][0-9]:[0-9][0-9]| [0-9]{4}) /f$'
tgrep "ls -l directory has a total" 0 'mkdir /d; touch /d/x; ls -l /d' '^total [0-9]+$'
tgrep "ls -l symlink shows its target" 0 'ln -s /target /l; ls -l /l' '^l[rwx-]{9} 1 0 0 +7 .* /l -> /target$'
tgrep "ls -l /dev shows character devices" 0 'ls -l /dev' '^c[rwx-]{9} +[0-9]+ 0 0 +[0-9]+, +[0-9]+ .* null$'
tgrep "ls /dev has the standard devices" 0 'ls /dev' '^zero$'

t "mkdir" 0 'mkdir /x; ls -d /x' "/x"
t "mkdir -p" 0 'mkdir -p /x/y/z; mkdir -p /x/y/z; ls -d /x/y/z' "/x/y/z"
tgrep "mkdir -m" 0 'mkdir -m 700 /x; stat /x' 'Access: \(0700/drwx------\)'
terr "mkdir existing: 1" 1 'mkdir /x; mkdir /x' '^anyk: /x: File exists$'
terr "mkdir in a missing parent: 1" 1 'mkdir /no/x' '^anyk: /no/x: No such file or directory$'
terr "mkdir without operand: 2" 2 'mkdir' 'usage: mkdir'
terr "mkdir -m with a bad mode: 2" 2 'mkdir -m abc /x' 'invalid mode'

t "rm" 0 'touch /f; rm /f; ls /' "$(sh_run 'ls /'; echo "$out")"
terr "rm missing: 1" 1 'rm /nope' '^anyk: /nope: No such file or directory$'
t "rm -f missing: 0" 0 'rm -f /nope'
terr "rm of a directory: 1" 1 'mkdir /d; rm /d' '^anyk: /d: is a directory'
t "rm -r" 0 'mkdir -p /d/e/f; touch /d/1 /d/e/2 /d/e/f/3; ln -s /d /d/e/loop; rm -r /d; mkdir /d; ls /d' ""
terr "rm without operand: 2" 2 'rm' 'usage: rm'
t "rmdir" 0 'mkdir /d; rmdir /d; touch /d; ls /d' "/d"
terr "rmdir not empty: 1" 1 'mkdir /d; touch /d/f; rmdir /d' '^anyk: /d: Directory not empty$'
terr "rmdir missing: 1" 1 'rmdir /nope' '^anyk: /nope: No such file or directory$'

t "mv renames" 0 'echo x > /a; mv /a /b; cat /b' "x"
t "mv into a directory" 0 'echo x > /a; mkdir /d; mv /a /d; cat /d/a' "x"
terr "mv missing: 1" 1 'mv /nope /b' '^anyk: /nope: '
terr "mv one operand: 2" 2 'mv /a' 'usage: mv'

tgrep "ln makes a hard link" 0 'echo x > /a; ln /a /b; stat /b' 'Links: 2'
t "ln -s" 0 'echo x > /a; ln -s /a /s; cat /s' "x"
terr "ln onto an existing name: 1" 1 'touch /a /b; ln /a /b' '^anyk: /b: File exists$'
terr "ln without operands: 2" 2 'ln' 'usage: ln'

t "cp inside the kernel" 0 'echo data > /a; cp /a /b; cat /b' "data"
t "cp into a directory" 0 'echo data > /a; mkdir /d; cp /a /d; cat /d/a' "data"
head -c 100000 /dev/urandom > "$tmp/rand" 2>/dev/null || dd if=/dev/urandom of="$tmp/rand" bs=1000 count=100 2>/dev/null
t "cp host: in and out" 0 "cp host:$tmp/rand /r; cp /r host:$tmp/back"
cmp -s "$tmp/rand" "$tmp/back" && pass "cp host: round trip is identical" ||
    fail "cp host: round trip is identical"
terr "cp missing: 1" 1 'cp /nope /b' '^anyk: /nope: No such file or directory$'
terr "cp host: missing: 1" 1 "cp host:$tmp/nope /b" "^anyk: $tmp/nope: No such file or directory\$"
terr "cp one operand: 2" 2 'cp /a' 'usage: cp'

# --- attributes ------------------------------------------------------------

tgrep "chmod" 0 'touch /f; chmod 4751 /f; ls -l /f' '^-rwsr-x--x '
terr "chmod bad mode: 2" 2 'touch /f; chmod u+x /f' 'invalid mode'
terr "chmod missing: 1" 1 'chmod 644 /nope' '^anyk: /nope: No such file or directory$'
terr "chmod without path: 2" 2 'chmod 644' 'usage: chmod'
tgrep "chown UID:GID" 0 'touch /f; chown 12:34 /f; ls -l /f' '^-[rwx-]{9} 1 12 34 '
tgrep "chown :GID" 0 'touch /f; chown 12:34 /f; chown :56 /f; ls -l /f' '^-[rwx-]{9} 1 12 56 '
terr "chown bad owner: 2" 2 'touch /f; chown root /f' 'invalid owner'
terr "chown missing: 1" 1 'chown 1 /nope' '^anyk: /nope: No such file or directory$'
tgrep "stat size" 0 'write /f abc; stat /f' 'Size: 4 .*regular file'
tgrep "stat mode" 0 'write /f abc; chmod 640 /f; stat /f' 'Access: \(0640/-rw-r-----\)'
tgrep "stat nanosecond times" 0 'touch /f; stat /f' '^Modify: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{9} [+-][0-9]{4}$'
tgrep "stat birth time" 0 'touch /f; stat /f' '^ Birth: '
tgrep "stat of a device" 0 'stat /dev/null' 'Device type: [0-9]+,[0-9]+'
tgrep "stat of a symlink" 0 'ln -s /x /l; stat /l' 'File: /l -> /x'
terr "stat missing: 1" 1 'stat /nope' '^anyk: /nope: No such file or directory$'
terr "stat without operand: 2" 2 'stat' 'usage: stat'
t "chattr + and lsattr" 0 'touch /f; chattr +id /f; lsattr /f' "----i-d--------------- /f"
t "chattr - and =" 0 'touch /f; chattr +id /f; chattr -i /f; chattr =A /f; lsattr /f' "-------A-------------- /f"
terr "an immutable file is not removed" 1 'touch /f; chattr +i /f; rm /f' '^anyk: /f: Operation not permitted$'
t "an append-only file is appended to" 0 'write -n /f ab; chattr +a /f; write -a -n /f cd; cat /f' "abcd"
terr "an append-only file is not overwritten" 1 'write /f ab; chattr +a /f; write /f cd' 'Operation not permitted'
terr "chattr of an unknown flag: 2" 2 'touch /f; chattr +q /f' "unknown flag 'q'"
t "lsattr -p" 0 'touch /f; lsattr -p /f' "    0 ---------------------- /f"
terr "tmpfs keeps no project ids" 1 'touch /f; chattr -p 3 /f' 'Operation not supported'
t "xattr -w and -p" 0 'touch /f; xattr -w user.color blue /f; xattr -p user.color /f' "blue"
t "xattr lists names" 0 'touch /f; xattr -w user.a 1 /f; xattr -w trusted.b 2 /f; xattr /f' "user.a
trusted.b"
t "xattr -l lists values" 0 'touch /f; xattr -w user.a 1 /f; xattr -w user.e "" /f; xattr -l /f' "user.a: 1
user.e: "
t "xattr -l of several paths" 0 'touch /f /g; xattr -w user.a 1 /f; xattr -w user.b 2 /g; xattr -l /f /g' "/f: user.a: 1
/g: user.b: 2"
t "xattr -w replaces" 0 'touch /f; xattr -w user.a 1 /f; xattr -w user.a 22 /f; xattr -p user.a /f' "22"
t "xattr -d" 0 'touch /f; xattr -w user.a 1 /f; xattr -w user.b 2 /f; xattr -d user.a /f; xattr /f' "user.b"
t "xattr on a directory" 0 'mkdir /d; xattr -w user.d yes /d; xattr -l /d' "user.d: yes"
t "xattr of a file without attributes" 0 'touch /f; xattr /f' ""
t "xattr follows symlinks" 0 'touch /f; ln -s /f /l; xattr -w user.a 1 /l; xattr -p user.a /f' "1"
t "xattr -h on the link itself" 0 'touch /f; ln -s /f /l; xattr -w user.a 1 /f; xattr -h -w trusted.l x /l; xattr -h /l; xattr /l' "trusted.l
user.a"
terr "xattr -h user.* on a symlink: 1" 1 'touch /f; ln -s /f /l; xattr -h -w user.a 1 /l' '^anyk: /l: user.a: Operation not permitted$'
terr "xattr -p missing: 1" 1 'touch /f; xattr -p user.nope /f' '^anyk: /f: user.nope: No data available$'
terr "xattr -d missing: 1" 1 'touch /f; xattr -d user.nope /f' '^anyk: /f: user.nope: No data available$'
terr "xattr unknown namespace: 1" 1 'touch /f; xattr -w bogus.a 1 /f' 'Operation not supported$'
terr "xattr on a missing file: 1" 1 'xattr -l /nope' '^anyk: /nope: No such file or directory$'
terr "xattr without path: 2" 2 'xattr -l' 'usage: xattr'
terr "xattr -w without value: 2" 2 'xattr -w user.a' 'usage: xattr'
terr "xattr -l and -d together: 2" 2 'touch /f; xattr -l -d user.a /f' 'exclude each other'
t "touch creates" 0 'touch /new; ls /new' "/new"
t "touch -c does not create" 0 'touch -c /new; mkdir /new; ls -d /new' "/new"
terr "touch in a missing directory: 1" 1 'touch /no/f' '^anyk: /no/f: No such file or directory$'
tgrep "truncate -s" 0 'truncate -s 1k /f; stat /f' 'Size: 1024 '
tgrep "truncate shrinks" 0 'write /f 0123456789; truncate -s 3 /f; stat /f' 'Size: 3 '
terr "truncate without -s: 2" 2 'truncate /f' 'usage: truncate'
terr "truncate bad size: 2" 2 'truncate -s lots /f' 'invalid size'
terr "truncate a directory: 1" 1 'truncate -s 0 /' '^anyk: /: Is a directory$'

# --- file systems and the process context -----------------------------------

t "cd and pwd" 0 'mkdir /x; cd /x; pwd; write f hi; cat /x/f' "/x
hi"
t "cd without argument goes to /" 0 'mkdir /x; cd /x; cd; pwd' "/"
terr "cd missing: 1" 1 'cd /nope' '^anyk: /nope: No such file or directory$'
terr "cd to a file: 1" 1 'touch /f; cd /f' '^anyk: /f: Not a directory$'
terr "pwd extra: 2" 2 'pwd x' 'usage: pwd'
t "sync" 0 'sync'
tgrep "dmesg" 0 'dmesg' '.'
tgrep "df" 0 'df' '^Filesystem +Type +1K-blocks +Used +Avail +Use% +Mounted on$'
tgrep "df lists /" 0 'df' ' /$'
tgrep "mount tmpfs with a size limit" 0 'mkdir /m; mount -t tmpfs -o size=1m tmpfs /m; df -h /m' ' 1\.0M .* /m$'
tgrep "mount lists the new mount" 0 'mkdir /m; mount -t tmpfs tmpfs /m; mount' ' on /m type tmpfs '
t "files on a mounted tmpfs" 0 'mkdir /m; mount -t tmpfs tmpfs /m; echo in > /m/f; cat /m/f; umount /m; ls /m' "in"
terr "size limit is enforced" 1 'mkdir /m; mount -t tmpfs -o size=64k tmpfs /m; cp host:'"$tmp/rand"' /m/r' 'No space left on device'
terr "umount not mounted: 1" 1 'mkdir /m; umount /m' '^anyk: /m: '
terr "umount busy: 1" 1 'mkdir /m; mount -t tmpfs tmpfs /m; cd /m; umount /m' '^anyk: /m: Device or resource busy$'
terr "mount unknown type: 1" 1 'mkdir /m; mount -t nosuchfs none /m' '^anyk: /m: cannot mount none as nosuchfs: '
terr "mount on a missing directory: 1" 1 'mount -t tmpfs tmpfs /nope' '^anyk: /nope: '
terr "mount one operand: 2" 2 'mount tmpfs' 'usage: mount'
terr "umount without operand: 2" 2 'umount' 'usage: umount'

t "hexdump" 0 'echo -n ABC > /h; hexdump /h' "00000000  41 42 43                                          |ABC|
00000003"
t "hexdump -s -n" 0 'echo -n ABCDEF > /h; hexdump -s 2 -n 3 /h' "00000002  43 44 45                                          |CDE|
00000005"
t "hexdump folds repeated lines" 0 'truncate -s 64 /z; hexdump /z' "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
*
00000040"
terr "hexdump missing: 1" 1 'hexdump /nope' '^anyk: /nope: No such file or directory$'
terr "hexdump bad length: 2" 2 'hexdump -n x /h' 'invalid length'

# --- disks -------------------------------------------------------------------

dd if=/dev/zero of="$tmp/disk.img" bs=1024 count=4096 2>/dev/null
printf 'anyk sector zero' | dd of="$tmp/disk.img" conv=notrunc 2>/dev/null
dd if=/dev/urandom of="$tmp/sector" bs=512 count=1 2>/dev/null
"$ANYK" shell --disk "$tmp/disk.img" -c 'ls -l /dev/sd0; hexdump -n 16 /dev/sd0' >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 0 ] && grep -Eq '^b[rwx-]{9} .* /dev/sd0$' "$tmp/out" &&
    grep -q '|anyk sector zero|' "$tmp/out"; then
	pass "--disk shows the image as block device /dev/sd0"
else
	fail "--disk shows the image as block device /dev/sd0" "$(cat "$tmp/out" "$tmp/err")"
fi
grep -q '^/dev/sd0: .*disk.img (4.0M, read-write)' "$tmp/err" &&
    pass "--disk reports the attached disk" || fail "--disk reports the attached disk" "$(cat "$tmp/err")"
"$ANYK" shell -q --disk "$tmp/disk.img" -c "cp host:$tmp/sector /dev/sd0" >"$tmp/out" 2>&1
rc=$?
dd if="$tmp/disk.img" of="$tmp/check" bs=512 count=1 2>/dev/null
[ $rc = 0 ] && cmp -s "$tmp/sector" "$tmp/check" &&
    pass "a write to /dev/sd0 lands in the image file" ||
    fail "a write to /dev/sd0 lands in the image file" "$(cat "$tmp/out")"
cp "$tmp/disk.img" "$tmp/before.img"
"$ANYK" shell -q --disk "$tmp/disk.img:ro" -c "echo overwrite > /dev/sd0" >"$tmp/out" 2>&1
rc=$?
[ $rc = 1 ] && cmp -s "$tmp/disk.img" "$tmp/before.img" &&
    pass "a disk attached :ro refuses writes" ||
    fail "a disk attached :ro refuses writes (exit $rc)" "$(cat "$tmp/out")"
"$ANYK" shell -q --disk "$tmp/missing.img" -c 'true' >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q "missing.img: No such file or directory" "$tmp/out" &&
    pass "--disk with a missing image: 1" || fail "--disk with a missing image: 1" "$(cat "$tmp/out")"
"$ANYK" shell -q --disk "$tmp/disk.img" --disk "$tmp/before.img" -c 'ls /dev' >"$tmp/out" 2>&1
grep -q '^sd1$' "$tmp/out" && pass "two --disk give sd0 and sd1" ||
    fail "two --disk give sd0 and sd1" "$(cat "$tmp/out")"

dd if=/dev/zero of="$tmp/disk.img" bs=1024 count=4096 2>/dev/null
if command -v sfdisk >/dev/null 2>&1 &&
    printf 'label: dos\nstart=2048, size=2048, type=83\nstart=4096, type=83\n' |
    sfdisk -q "$tmp/disk.img" >/dev/null 2>&1; then
	"$ANYK" shell --disk "$tmp/disk.img" -c "ls /dev; cp host:$tmp/sector /dev/sd0p2" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	grep -q '^sd0p1$' "$tmp/out" && grep -q '^sd0p2$' "$tmp/out" &&
	    pass "MBR partitions appear as /dev/sd0p1, /dev/sd0p2" ||
	    fail "MBR partitions appear as /dev/sd0p1, /dev/sd0p2" "$(cat "$tmp/out" "$tmp/err")"
	grep -q 'partitions: sd0p1 (1.0M) sd0p2' "$tmp/err" &&
	    pass "--disk reports the partitions" || fail "--disk reports the partitions" "$(cat "$tmp/err")"
	dd if="$tmp/disk.img" of="$tmp/check" bs=512 skip=4096 count=1 2>/dev/null
	[ $rc = 0 ] && cmp -s "$tmp/sector" "$tmp/check" &&
	    pass "a write to /dev/sd0p2 lands at the partition's offset" ||
	    fail "a write to /dev/sd0p2 lands at the partition's offset"
else
	echo "skip - partition tests (no sfdisk)"
fi

exit $failed
