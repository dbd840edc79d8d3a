#!/bin/sh
# deps.sh [BUILD]: which file of server/ and policy/ uses which (calls a
# function or reads a variable defined there), from the objects make
# built (nm), one line per file; then the same between server/'s parts
# (its sub-folders and the files beside them); then whether either has
# a cycle (tsort).  docs/design.md
# lists its output.  Run `make unit` first.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

srcs=$(find server policy -name '*.c' | sort)
for f in $srcs; do
	o=$build/${f%.c}.o
	[ -f "$o" ] || { echo "deps.sh: $o missing: make unit first" >&2; exit 1; }
	nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 { print $3, f }'
done | sort >"$tmp/defs"

for f in $srcs; do
	nm -u "$build/${f%.c}.o" | awk '{ print $NF }' | sort -u |
	    join - "$tmp/defs" | awk -v f="$f" '$2 != f { print f, $2 }'
done | sort -u >"$tmp/edges"

echo "# file: the files it uses"
for f in $srcs; do
	printf '%s:%s\n' "$f" "$(awk -v f="$f" '$1 == f { printf " %s", $2 }' \
	    "$tmp/edges")"
done
echo
echo "# server/'s parts: a sub-folder, or a file of server/ itself"
awk 'function part(f) {
	if (f ~ /^server\/[^\/]*\//) sub(/\/[^\/]*$/, "", f)
	return f
}
$1 ~ /^server\// && $2 ~ /^server\// && part($1) != part($2) {
	print part($1), part($2)
}' "$tmp/edges" | sort -u >"$tmp/folders"
for d in $(find server -mindepth 1 -maxdepth 1 \( -type d -o -name '*.c' \) |
    sort); do
	printf '%s:%s\n' "$d" "$(awk -v d="$d" '$1 == d { printf " %s", $2 }' \
	    "$tmp/folders")"
done
echo
ok=1
for g in edges folders; do
	if ! tsort "$tmp/$g" >/dev/null 2>"$tmp/loop"; then
		ok=0
		echo "a cycle among the $g:"
		cat "$tmp/loop"
	fi
done
[ "$ok" -eq 0 ] || echo "no cycle among files, nor among server/'s parts"
[ "$ok" -eq 1 ]
