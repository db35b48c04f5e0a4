#!/bin/sh
# Install the Debian packages the build and the tests need, when we can.
# Run by `make check`; as root it installs what is missing, otherwise it
# only reports, and the tests that need a missing tool say SKIP.
PKGS="gcc make binutils clang pkg-config fdisk e2fsprogs util-linux coreutils attr libfuse3-dev fuse3 python3 strace libclang-rt-14-dev unicode-data"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1 || true
	apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
		echo "deps: could not install$missing; tests that need them will SKIP"
else
	echo "deps: missing$missing (not root); tests that need them will SKIP"
fi
exit 0
