#!/bin/sh
# The POSIX semantics suite's host half (tests/posix/semantics with
# ANYK_SEMANTICS_HOSTDIR) run through an anyk FUSE mount of a fresh ext4
# image, as root with allow_other so that its unprivileged checks reach the
# mount too. The checks that cannot hold through FUSE become "skip" lines:
# - atime on a second read (the host serves it from its page cache and the
#   server never sees the read);
# - "(host-only check)": fcntl(F_SETFL) clearing O_APPEND on an append-only
#   file, which the host kernel handles without asking the server;
# - "(open-time check)", without "-o opens" only: opening an immutable or
#   append-only file for writing is then not asked of the server (the host
#   opens files itself), so the refusal comes at the first write instead.
# The statvfs-exactness and EXDEV checks are left out by the suite itself
# outside its private tmpfs. Afterwards the image must be e2fsck-clean.
T_NAME=fuse_semantics
. "$(dirname "$0")/../lib.sh"
SEM=$B/tests/posix/semantics

need_built "$ANYK"
need_built "$SEM"
"$ANYK" help mount >/dev/null 2>&1 || skip_all "the tool was built without libfuse3"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip_all "the suite's host half needs root"
need_tools mke2fs e2fsck

tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-fusesem.XXXXXX") || exit 1
mnt=$tmp/mnt
mkdir "$mnt"
cleanup() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		umount -l "$mnt" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
chmod 755 "$tmp"

# By default files open without an OPEN request where the host allows it
# (the server reads through descriptors of its own); "-o opens" sends every
# open to the server. Both ways get the whole suite.
for opts in allow_other allow_other,opens; do
	rm -f "$tmp/img"
	mke2fs -q -F -t ext4 "$tmp/img" 256M >/dev/null 2>&1 || { echo "not ok - mke2fs"; exit 1; }
	if ! timeout 20 "$ANYK" mount -o $opts "$tmp/img" "$mnt" 2>"$tmp/err"; then
		echo "not ok - mount -o $opts"
		sed 's/^/#   /' "$tmp/err"
		exit 1
	fi
	if grep -q " $mnt fuse[^ ]* ro[ ,]" /proc/mounts; then
		echo "skip - fuse_semantics: the ext2 driver served the image read-only"
		exit 77
	fi
	echo "# -o $opts"
	ANYK_SEMANTICS_HOSTDIR=$mnt timeout 300 "$SEM" >"$tmp/log" 2>&1
	# Which failures are FUSE's own (see the top).
	fuse_only='read updated an atime older than mtime|\(host-only check\)'
	case $opts in *opens*) ;; *) fuse_only="$fuse_only|\\(open-time check\\)" ;; esac
	sed -E -e "/^not ok .*($fuse_only)/s/^not ok - /skip - (through FUSE) /" \
	    -e "s/^(ok|not ok|skip) - /\1 - -o $opts: /" "$tmp/log"
	grep -Ev "^not ok .*($fuse_only)" "$tmp/log" | grep -q '^not ok' && failed=1
	run_check "-o $opts: anyk umount" timeout 30 "$ANYK" umount "$mnt"
	run_check "-o $opts: e2fsck -fn clean after the suite" e2fsck -fn "$tmp/img"
done
exit $failed
