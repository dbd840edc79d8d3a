#!/bin/sh
# make test: install what is missing, build, start a private PostgreSQL,
# run every unit and integration test, twice: with the plain build and
# with AddressSanitizer + UndefinedBehaviorSanitizer.  Ends with one
# "N passed, M failed" line; exits non-zero if anything failed.
#
# TEST_PASSES="plain" (or "san") runs one pass only.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

sh scripts/setup.sh
passes=${TEST_PASSES:-plain san}
total_pass=0
total_fail=0
total_skip=0

# exit_text RC: how a process ended, as the shell reports it (above 128:
# killed by signal RC - 128).
exit_text() {
	if [ "$1" -gt 128 ]; then
		echo "killed by signal $(kill -l "$(($1 - 128))" 2>/dev/null || echo "$(($1 - 128))")"
	else
		echo "exit status $1"
	fi
}

run_pass() {
	pass=$1
	# BUILD is given on make's command line: the environment's BUILD (what
	# the integration scripts read) must not redirect the build.
	if [ "$pass" = san ]; then
		build=build/san
		make -s SAN=1 BUILD=build/san unit
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		export LSAN_OPTIONS=suppressions=$top/test/lsan.supp
	else
		build=build
		make -s BUILD=build unit
	fi
	pgdir=$top/$build/test-pg
	sh scripts/pg.sh stop "$pgdir" 2>/dev/null || true
	rm -rf "$pgdir"
	PGCONN=$(sh scripts/pg.sh start "$pgdir")
	export PGCONN BUILD="$top/$build"

	echo "== $pass: unit tests"
	for t in test_pkcs7 test_pkcs7_crl test_remote_key test_policy test_api test_db test_server; do
		log=$top/$build/$t.log
		rc=0
		SCEPD_TEST_DB=$PGCONN "$top/$build/$t" >"$log" 2>&1 || rc=$?
		n=$(grep -c '^\[       OK \]' "$log" || true)
		# cmocka's skip(): neither OK nor FAILED; counted and named.
		# cmocka names each skipped test twice (as it runs, in its summary).
		names=$(grep '^\[  SKIPPED \] [a-z_]' "$log" | sed 's/^\[  SKIPPED \] //' | sort -u)
		k=$(printf '%s' "$names" | grep -c . || true)
		total_skip=$((total_skip + k))
		skipped=""
		[ "$k" -eq 0 ] || skipped=", $k skipped: $(echo $names)"
		if [ "$rc" -eq 0 ]; then
			echo "  ok    $t ($n tests$skipped)"
			total_pass=$((total_pass + n))
		else
			f=$(grep -c '^\[  FAILED  \] [a-z]' "$log" || true)
			[ "$f" -gt 0 ] || f=1
			echo "  FAIL  $t ($(exit_text "$rc")$skipped)"
			tail -n 30 "$log" | sed 's/^/        | /'
			total_pass=$((total_pass + n))
			total_fail=$((total_fail + f))
		fi
	done

	for s in test/integration/*.sh; do
		echo "== $pass: $(basename "$s" .sh)"
		WORK=$top/$build/it/$(basename "$s" .sh)
		rm -rf "$WORK"
		mkdir -p "$WORK"
		export WORK
		out=$WORK/summary
		if sh "$s" | tee "$out"; then :; fi
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
		if [ -z "$line" ]; then
			echo "  FAIL  $(basename "$s") ended without a summary"
			total_fail=$((total_fail + 1))
			continue
		fi
		total_pass=$((total_pass + ${line%% passed*}))
		# A script's "  SKIP  NAME" lines: what this machine cannot do.
		total_skip=$((total_skip + $(grep -c '^  SKIP  ' "$out" || true)))
		f=${line#*passed, }
		total_fail=$((total_fail + ${f%% failed}))
	done
	sh scripts/pg.sh stop "$pgdir"
}

for p in $passes; do
	run_pass "$p"
done

# script_test SCRIPT [ARG...]: sh SCRIPT as one test, its output in
# build/<name>.log: the last line when it passes, the last 20 when not.
script_test() {
	log=build/$(basename "$1" .sh).log
	if sh "$@" >"$log" 2>&1; then
		echo "  ok    $(tail -n 1 "$log")"
		total_pass=$((total_pass + 1))
	else
		echo "  FAIL  $1"
		tail -n 20 "$log" | sed 's/^/        | /'
		total_fail=$((total_fail + 1))
	fi
}

# No cycle among server/'s files and parts, nor between policy/'s files
# (from the objects the plain pass built), as one test.
echo "== dependencies"
script_test scripts/deps.sh build

# No challenge, token or secret an integration script declared (test/lib.sh
# secret) is in any scepd log of any pass, as one test.
echo "== secrets in logs"
its=""
for p in $passes; do
	if [ "$p" = san ]; then its="$its build/san/it"; else its="$its build/it"; fi
done
# shellcheck disable=SC2086 # one folder a word
script_test scripts/logcheck.sh $its

# db/'s statuses are compared against their enum db_rc names (db/db.h),
# as one test.
echo "== db_rc names"
script_test scripts/db_rc.sh

# Every parser of network input has a fuzz target; a minute of each
# from the real client vectors (two at a time), as one test.
echo "== fuzz (${FUZZ_SECONDS:-60}s per target)"
if FUZZ_SECONDS=${FUZZ_SECONDS:-60} sh scripts/fuzz.sh; then
	total_pass=$((total_pass + 1))
else
	total_fail=$((total_fail + 1))
fi
echo "$total_skip skipped (cmocka skip() and integration SKIP lines: a capability this machine lacks)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
