#!/bin/sh
# scripts/logcheck.sh DIR...: no secret reaches scepd's log.  Each
# integration script runs in DIR/<name>/ and declares there, in the file
# secrets (test/lib.sh secret), the challenges, one-time challenges, API
# tokens, webhook and Intune secrets it handed scepd.  Every scepd log
# under every DIR (scepd-PORT.log, as test/lib.sh start_scepd names them)
# is searched for every declared secret of any script; a hit is named by
# file and line.  Values shorter than 8 characters are no secret worth
# the search ("wrong", "x").  Only scepd's logs count: the scripts' own
# outputs (summaries, HTTP bodies) hold the secrets they sent.
set -eu
[ $# -gt 0 ] || { echo "usage: logcheck.sh DIR..." >&2; exit 2; }
list=$(mktemp)
logs=$(mktemp)
trap 'rm -f "$list" "$logs"' EXIT
for d in "$@"; do
	[ -d "$d" ] || continue
	find "$d" -name secrets -type f -exec cat {} + >>"$list"
	find "$d" -name 'scepd-*.log' -type f >>"$logs"
done
sort -u "$list" | awk 'length($0) >= 8' >"$list.8"
mv "$list.8" "$list"
nsecrets=$(wc -l <"$list")
nlogs=$(wc -l <"$logs")
[ "$nsecrets" -gt 0 ] || { echo "no secrets declared under $*"; exit 1; }
[ "$nlogs" -gt 0 ] || { echo "no scepd logs under $*"; exit 1; }
hits=0
while IFS= read -r f; do
	if grep -nFf "$list" "$f" >/dev/null; then
		grep -nFf "$list" "$f" | cut -c1-200 | sed "s|^|$f:|"
		hits=$((hits + 1))
	fi
done <"$logs"
if [ "$hits" -gt 0 ]; then
	echo "secrets in $hits scepd log(s)"
	exit 1
fi
echo "no secret in scepd's logs: $nsecrets secrets, $nlogs logs"
