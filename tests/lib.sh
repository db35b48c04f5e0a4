# What the shell tests share; sourced by a test after it sets T_NAME:
#   T_NAME=img_tar; . "$(dirname "$0")/../lib.sh"
# Sets B, ANYK and PATH (with the sbin directories, where e2fsprogs live)
# and failed=0; defines pass/fail (the harness's "ok -" and "not ok -"
# lines; fail's optional second argument is shown indented), check NAME
# EXPR [DETAIL], run_check NAME COMMAND..., skip_all REASON, need_tools TOOL..., need_built FILE and
# t_tmpdir (a temporary directory in $tmp, removed at exit).
set -u
B=${B:-build}
ANYK=$B/bin/anyk
PATH=$PATH:/sbin:/usr/sbin
export PATH
failed=0

pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	failed=1
	[ -n "${2:-}" ] && printf '%s\n' "$2" | head -40 | sed 's/^/#   /'
	return 0
}
check() { if eval "$2"; then pass "$1"; else fail "$1" "${3:-}"; fi; }
run_check() { # NAME COMMAND...: pass if the command succeeds, else show its output
	t_name=$1
	shift
	if t_out=$("$@" 2>&1); then pass "$t_name"; else fail "$t_name" "$t_out"; fi
}
skip_all() { echo "skip - $T_NAME: $1"; exit 77; }
need_tools() {
	for t_tool in "$@"; do
		command -v "$t_tool" >/dev/null 2>&1 || skip_all "$t_tool missing"
	done
}
need_built() { [ -x "$1" ] || skip_all "$1 not built"; }
t_tmpdir() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/anyk-$T_NAME.XXXXXX") || exit 1
	trap 'rm -rf "$tmp"' EXIT
}
