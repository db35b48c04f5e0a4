#!/bin/sh
# kern/lib/utf8fold_data.h is what kern/lib/mkutf8fold.py makes from the
# Unicode Character Database installed here (Debian's unicode-data): the
# tables in the tree and their generator agree.
# Run by tests/run.sh.
set -u
ucd=/usr/share/unicode
if ! command -v python3 >/dev/null 2>&1 || [ ! -r "$ucd/CaseFolding.txt" ] || [ ! -r "$ucd/DerivedAge.txt" ]; then
	echo "skip - utf8fold_tables: python3 or the Unicode Character Database ($ucd) not installed"
	exit 77
fi
tmp=$(mktemp "${TMPDIR:-/tmp}/anyk-utf8fold.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
if python3 kern/lib/mkutf8fold.py "$ucd" >"$tmp" 2>&1 && cmp -s "$tmp" kern/lib/utf8fold_data.h; then
	echo "ok - utf8fold_tables: kern/lib/mkutf8fold.py remakes kern/lib/utf8fold_data.h byte for byte"
	exit 0
fi
echo "not ok - utf8fold_tables: kern/lib/mkutf8fold.py gives other tables than kern/lib/utf8fold_data.h"
diff "$tmp" kern/lib/utf8fold_data.h | head -20 | sed 's/^/# /'
exit 1
