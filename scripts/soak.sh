#!/bin/sh
# make soak: a mixed load against one scepd at a modest, steady rate for
# SOAK_MINUTES (30), then one table and verdicts; exits non-zero if a
# verdict fails.  Not part of make test.
#
# The load, four generators at once, each one request at a time:
#   enroll   build/scepbench (test/bench.c) replaying pre-built PKCSReqs,
#            each a new transaction, a batch of 5 every 5 s;
#   read     curl: GetCACaps, GetCACert and the CRL, about 10 a second;
#   ocsp     openssl ocsp for a good and a revoked certificate, 1 a second;
#   api      the admin API: a one-time challenge minted (201) and a
#            certificate fetched (200) every 2 s; every 5th challenge is
#            used by a sceptool enrollment (SUCCESS).
# Every 30 s: the worker's VmRSS, its open descriptors, PostgreSQL client
# connections and each generator's error count (non-2xx, FAILURE where a
# SUCCESS was expected, a wrong OCSP status).  Verdicts: RSS growth from
# minute 5 (minute 1 for a run shorter than 10 minutes) to the end at
# most 2 MiB; descriptors within +-4 of that sample; database
# connections equal to it; no errors; scepd exits 0 on SIGTERM.
#
# SOAK_VALGRIND=1 (make leakcheck): scepd under valgrind --leak-check=full
# for SOAK_REQUESTS (10000) requests of the same mix, as fast as valgrind
# allows, then SIGTERM; the verdict is valgrind's "0 definitely lost, 0
# indirectly lost", no other valgrind error, and a clean exit.  No
# suppression file: none was needed (nothing possibly lost, 80 bytes in
# 2 blocks still reachable at exit; docs/testing.md).
#
# Ports 18960-18969; everything made goes to build/soak/.  scepd runs with
# one worker and 4 pki_threads: the machine is shared, the load modest.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build/soak
VG=${SOAK_VALGRIND:-0}
MINUTES=${SOAK_MINUTES:-30}
NREQ=${SOAK_REQUESTS:-10000}
PORT=18960
URL=http://127.0.0.1:$PORT
BIN=$out/bin
T=$BIN/sceptool
CONF=$out/scepd/scepd.conf

say() { echo "$*" | tee -a "$out/soak.log" >&2; }
die() { say "soak: $*"; exit 1; }

# alive PID: running (a child that exited stays a zombie until waited for).
alive() {
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

make -s all build/sceptool build/scepbench
# A run killed without its cleanup may have left its scepd: stop it by
# its recorded PID if that PID still runs our copy (or valgrind).
if [ -f "$out/scepd.pid" ]; then
	pid=$(cat "$out/scepd.pid")
	case $(readlink "/proc/$pid/exe" 2>/dev/null) in
	"$BIN/scepd"|*valgrind*|*memcheck*) kill -KILL "$pid" 2>/dev/null || true ;;
	esac
fi
if [ -f "$out/pg/data/postmaster.pid" ]; then
	sh scripts/pg.sh stop "$out/pg" || true
fi
rm -rf "$out"
mkdir -p "$BIN" "$out/scepd" "$out/keys" "$out/msg" "$out/gen"
# Private copies: a rebuild during the run must not change what runs.
cp build/scepd build/scepctl build/sceptool build/scepbench "$BIN/"

gen_pids=""
scepd_rc=-
# stop_scepd: SIGTERM, then wait (60 s: valgrind writes its report at
# exit); $scepd_rc is its exit status, "killed" if it had to be.
stop_scepd() {
	[ -f "$out/scepd.pid" ] || return 0
	pid=$(cat "$out/scepd.pid")
	rm -f "$out/scepd.pid"
	kill -TERM "$pid" 2>/dev/null || { scepd_rc=gone; return 0; }
	i=0
	while alive "$pid" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		scepd_rc=killed
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	scepd_rc=0
	wait "$pid" 2>/dev/null || scepd_rc=$?
}
cleanup() {
	for p in $gen_pids; do kill "$p" 2>/dev/null || true; done
	stop_scepd
	sh "$top/scripts/pg.sh" stop "$out/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- setup ------------------------------------------------------------------

say "== setup (logs in $out)"
PGCONN=$(sh scripts/pg.sh start "$out/pg" 3>&-) || die "cannot start PostgreSQL"
CHAL=soak-$(openssl rand -hex 12)
cat >"$CONF" <<CONF
# Written by scripts/soak.sh; defaults elsewhere.
listen = "127.0.0.1";
workers = 1;
pki_threads = 4;
database = "$PGCONN";
ca = { cert = "ca.pem"; key = "ca.key"; ra_cert = "ra.pem"; ra_key = "ra.key"; };
challenge = "$CHAL";
challenge_key = "$(openssl rand -hex 32)";
challenge_mode = [ "dynamic", "static" ];
validity_days = 30;
CONF
"$BIN/scepctl" -c "$CONF" db migrate >>"$out/soak.log" 2>&1 ||
    die "scepctl db migrate failed"
"$BIN/scepctl" -c "$CONF" ca init --bits 2048 \
    --subject "/O=scepd soak/CN=Soak CA" --ra-subject "/O=scepd soak/CN=Soak RA" \
    >>"$out/soak.log" 2>&1 || die "scepctl ca init failed"
TOKEN=$("$BIN/scepctl" -c "$CONF" token create soak 2>>"$out/soak.log") ||
    die "scepctl token create failed"

if [ "$VG" = 1 ]; then
	# Leaks only: definite and indirect ones are errors, possible ones
	# are listed (OpenSSL's and libevent's globals live until exit).
	# --trace-children: the signer is a fresh image (scepd -S); one log
	# a process: the supervisor, the worker, each signer.
	valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
	    --errors-for-leak-kinds=definite,indirect --num-callers=30 \
	    --trace-children=yes --log-file="$out/valgrind.%p.log" \
	    "$BIN/scepd" -d -c "$CONF" -p $PORT >"$out/scepd.log" 2>&1 &
else
	"$BIN/scepd" -d -c "$CONF" -p $PORT >"$out/scepd.log" 2>&1 &
fi
echo $! >"$out/scepd.pid"
PID=$(cat "$out/scepd.pid")
i=0
until curl -fsS -o /dev/null "$URL/scep?operation=GetCACaps" 2>/dev/null; do
	alive "$PID" || { tail -n 20 "$out/scepd.log" >&2; die "scepd died at start"; }
	i=$((i + 1))
	[ $i -lt 1200 ] || die "scepd did not answer within 120 s"
	sleep 0.1
done

$T getca -u "$URL/scep" -o "$out/getca.pem" >>"$out/soak.log" 2>&1 || die "getca failed"
openssl x509 -in "$out/getca.pem" -out "$out/recipient.pem"	# the RA
CA=$out/scepd/ca.pem
for k in 1 2 3 4; do
	openssl genrsa -out "$out/keys/k$k.pem" 2048 2>/dev/null || die "genrsa failed"
done
# Two certificates for OCSP and the API: one good, one revoked (by the API).
for c in good revoked; do
	$T enroll -u "$URL/scep" --ca "$out/recipient.pem" -k "$out/keys/k1.pem" \
	    --subject "/O=scepd soak/CN=soak-$c" --challenge "$CHAL" \
	    --transid "soak-$c" -o "$out/$c.pem" >>"$out/soak.log" 2>&1 ||
	    die "enrolling soak-$c failed"
done
serial() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//; s/^0*//'; }
GOOD=$(serial "$out/good.pem")
s=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data '{"reason": "keyCompromise"}' \
    "$URL/api/v1/certificates/$(serial "$out/revoked.pem")/revoke")
[ "$s" = 200 ] || die "revoking soak-revoked through the API: HTTP $s"

# ---- how much of each -----------------------------------------------------------

BATCH=5
if [ "$VG" = 1 ]; then
	N_ENROLL=$((NREQ / 50))			# scepbench enrollments
	N_OCSP=$((NREQ / 20))			# openssl ocsp requests
	N_API=$((NREQ / 40))			# API rounds: mint + GET
	N_DYN=$((N_API / 5))			# ... plus an enrollment every 5th
	N_READ=$((NREQ - N_ENROLL - N_OCSP - 2 * N_API - N_DYN))
	NBATCH=$(((N_ENROLL + BATCH - 1) / BATCH))
	DEADLINE=$(($(date +%s) + 86400))	# counts end it, not time
	E_SLEEP=0 R_SLEEP=0 O_SLEEP=0 A_SLEEP=0
	say "== $NREQ requests: $N_ENROLL PKCSReq (scepbench), $N_READ GetCACaps/GetCACert/CRL, $N_OCSP OCSP, $((2 * N_API)) API, $N_DYN PKCSReq with a minted challenge"
else
	E_SLEEP=5 R_SLEEP=0.3 O_SLEEP=1 A_SLEEP=2
	# One batch per E_SLEEP seconds, and some to spare.
	NBATCH=$((MINUTES * 60 / E_SLEEP + 5))
	N_READ=-1 N_OCSP=-1 N_API=-1
fi

say "== $((NBATCH * BATCH)) PKCSReq messages"
cat >"$out/mkmsg.sh" <<'SH'
out=$1 url=$2 chal=$3
shift 3
for i in "$@"; do
	$out/bin/sceptool enroll -u "$url" --ca "$out/recipient.pem" \
	    -k "$out/keys/k$((i % 4 + 1)).pem" --subject "/O=scepd soak/CN=soak-$i" \
	    --challenge "$chal" --transid "soak-$i" \
	    --no-send --save-request "$out/msg/$i.der" >/dev/null 2>&1 ||
	    { echo "sceptool failed for message $i" >&2; exit 1; }
done
SH
seq 1 $((NBATCH * BATCH)) | xargs -P 2 -n 50 sh "$out/mkmsg.sh" "$out" "$URL/scep" \
    "$CHAL" 2>>"$out/soak.log" || die "building messages failed"
for b in $(seq 1 $NBATCH); do
	# shellcheck disable=SC2046
	cat $(seq $(((b - 1) * BATCH + 1)) $((b * BATCH)) | sed "s|.*|$out/msg/&.der|") \
	    >"$out/msg/batch.$b"
done

# ---- the generators --------------------------------------------------------------
# Each writes "ok errors" to $out/gen/NAME after every round and the
# reason for each error to $out/gen/NAME.errors.  They stop at DEADLINE,
# or after their count (a negative count: none).

count() {	# NAME OK ERR
	echo "$2 $3" >"$out/gen/$1.tmp" && mv "$out/gen/$1.tmp" "$out/gen/$1"
}
more() {	# DONE COUNT: another round?
	[ "$(date +%s)" -lt "$DEADLINE" ] && { [ "$2" -lt 0 ] || [ "$1" -lt "$2" ]; }
}

gen_enroll() {
	ok=0 err=0 b=0
	count enroll 0 0
	while [ $b -lt $NBATCH ] && [ "$(date +%s)" -lt "$DEADLINE" ]; do
		b=$((b + 1))
		"$BIN/scepbench" -u "$URL/scep" -c 1 -d 600 "$out/msg/batch.$b" \
		    >"$out/gen/enroll.last" 2>&1 || true
		n=$(sed -n '1s/.* sent=\([0-9]*\).*/\1/p' "$out/gen/enroll.last")
		o=$(sed -n '1s/.* ok=\([0-9]*\).*/\1/p' "$out/gen/enroll.last")
		# A batch is BATCH messages: what was not sent failed too.
		o=${o:-0}
		ok=$((ok + o))
		if [ "$o" != $BATCH ]; then
			err=$((err + BATCH - o))
			{ echo "batch $b: sent=${n:-?}"; cat "$out/gen/enroll.last"; } \
			    >>"$out/gen/enroll.errors"
		fi
		count enroll $ok $err
		sleep $E_SLEEP
	done
}

# GetCACaps, GetCACert, the CRL: 3 a round (soak), 30 (valgrind), through
# one curl (one connection); an answer is good if 200 and not empty.
gen_read() {
	ok=0 err=0
	count read 0 0
	per=3
	[ "$VG" = 1 ] && per=30
	while more $((ok + err)) "$N_READ"; do
		set --
		j=0
		while [ $j -lt $per ]; do
			[ "$N_READ" -lt 0 ] || [ $((ok + err + j)) -lt "$N_READ" ] || break
			case $((j % 3)) in
			0) u="$URL/scep?operation=GetCACaps" ;;
			1) u="$URL/scep?operation=GetCACert" ;;
			2) u="$URL/scep/crl/default.crl" ;;
			esac
			set -- "$@" -o /dev/null "$u"
			j=$((j + 1))
		done
		curl -s -w '%{http_code} %{size_download} %{url_effective}\n' "$@" \
		    >"$out/gen/read.last" 2>&1 || true
		good=$(awk '$1 == 200 && $2 > 0' "$out/gen/read.last" | wc -l)
		ok=$((ok + good))
		if [ "$good" != $j ]; then
			err=$((err + j - good))
			awk '$1 != 200 || $2 == 0' "$out/gen/read.last" >>"$out/gen/read.errors"
		fi
		count read $ok $err
		[ "$R_SLEEP" = 0 ] || sleep $R_SLEEP
	done
}

# One OCSP request for two certificates: the good one good, the revoked
# one revoked, the response signed by the CA.
gen_ocsp() {
	ok=0 err=0
	count ocsp 0 0
	while more $((ok + err)) "$N_OCSP"; do
		openssl ocsp -issuer "$CA" -CAfile "$CA" -cert "$out/good.pem" \
		    -cert "$out/revoked.pem" -url "$URL/ocsp" >"$out/gen/ocsp.last" 2>&1 || true
		if grep -q '^Response verify OK' "$out/gen/ocsp.last" &&
		    grep -qx "$out/good.pem: good" "$out/gen/ocsp.last" &&
		    grep -qx "$out/revoked.pem: revoked" "$out/gen/ocsp.last"; then
			ok=$((ok + 1))
		else
			err=$((err + 1))
			cat "$out/gen/ocsp.last" >>"$out/gen/ocsp.errors"
		fi
		count ocsp $ok $err
		[ "$O_SLEEP" = 0 ] || sleep $O_SLEEP
	done
}

# The admin API: mint (201 with a challenge), GET the good certificate
# (200, its serial); every 5th round enrolls with the minted challenge.
gen_api() {
	ok=0 err=0 round=0
	count api 0 0
	while more $round "$N_API"; do
		round=$((round + 1))
		s=$(curl -s -o "$out/gen/api.body" -w '%{http_code}' -X POST \
		    -H "Authorization: Bearer $TOKEN" "$URL/api/v1/profiles/default/challenges") ||
		    s="curl $?"
		c=$(jq -r '.challenge // empty' "$out/gen/api.body" 2>/dev/null || true)
		if [ "$s" = 201 ] && [ -n "$c" ]; then ok=$((ok + 1)); else
			err=$((err + 1))
			echo "mint: HTTP $s $(cat "$out/gen/api.body")" >>"$out/gen/api.errors"
		fi
		s=$(curl -s -o "$out/gen/api.body" -w '%{http_code}' \
		    -H "Authorization: Bearer $TOKEN" "$URL/api/v1/certificates/$GOOD") ||
		    s="curl $?"
		if [ "$s" = 200 ] && grep -qi "$GOOD" "$out/gen/api.body"; then
			ok=$((ok + 1))
		else
			err=$((err + 1))
			echo "GET: HTTP $s $(cat "$out/gen/api.body")" >>"$out/gen/api.errors"
		fi
		if [ $((round % 5)) = 0 ] && [ -n "$c" ]; then
			if $T enroll -u "$URL/scep" --ca "$out/recipient.pem" \
			    -k "$out/keys/k2.pem" --subject "/O=scepd soak/CN=soak-dyn-$round" \
			    --challenge "$c" --transid "soak-dyn-$round" \
			    >"$out/gen/api.enroll" 2>&1; then
				ok=$((ok + 1))
			else
				err=$((err + 1))
				cat "$out/gen/api.enroll" >>"$out/gen/api.errors"
			fi
		fi
		count api $ok $err
		[ "$A_SLEEP" = 0 ] || sleep $A_SLEEP
	done
}

# ---- sampling ------------------------------------------------------------------------

# The worker: the process that serves (server/signer/); the signer's
# memory is its keys and a thread a connection.
WPID=$(ps -o pid=,comm= --ppid "$PID" | awk '$2 == "scepd-worker" { print $1 }')
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$WPID/status"; }
fds() { ls "/proc/$WPID/fd" | wc -l; }
dbconns() {
	psql -X -qAt "$PGCONN" -c "SELECT count(*) FROM pg_stat_activity
	    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
}
errs() { [ -f "$out/gen/$1" ] && cut -d' ' -f2 "$out/gen/$1" || echo 0; }
oks() { [ -f "$out/gen/$1" ] && cut -d' ' -f1 "$out/gen/$1" || echo 0; }
sample() {	# SECONDS: one line of $out/samples
	echo "$1 $(rss_kib) $(fds) $(dbconns) $(errs enroll) $(errs read) $(errs ocsp) $(errs api)" \
	    >>"$out/samples"
}

T0=$(date +%s)
[ "$VG" = 1 ] || DEADLINE=$((T0 + MINUTES * 60))
say "== load$( [ "$VG" = 1 ] || echo " for $MINUTES minutes") (pid $PID)"
: >"$out/samples"
[ "$VG" = 1 ] || sample 0
gen_enroll & gen_pids="$gen_pids $!"
gen_read & gen_pids="$gen_pids $!"
gen_ocsp & gen_pids="$gen_pids $!"
gen_api & gen_pids="$gen_pids $!"

if [ "$VG" != 1 ]; then
	next=30
	while [ $next -le $((MINUTES * 60)) ]; do
		now=$(date +%s)
		[ $((T0 + next)) -le "$now" ] || sleep $((T0 + next - now))
		alive "$PID" || die "scepd died during the run"
		sample $next
		tail -n 1 "$out/samples" | awk '{ printf "   %5.1f min  RSS %.1f MiB  fds %d  db %d  errors %d %d %d %d\n",
		    $1 / 60, $2 / 1024, $3, $4, $5, $6, $7, $8 }' | tee -a "$out/soak.log" >&2
		next=$((next + 30))
	done
fi
for p in $gen_pids; do wait "$p" || true; done
gen_pids=""
alive "$PID" || die "scepd died during the run"
[ "$VG" = 1 ] || sample end
elapsed=$(($(date +%s) - T0))
stop_scepd

# ---- the table and verdicts ----------------------------------------------------------

fail=0
verdict() {	# OK? TEXT
	if [ "$1" = 0 ]; then say "   PASS  $2"; else say "   FAIL  $2"; fail=1; fi
}
total_err=$(($(errs enroll) + $(errs read) + $(errs ocsp) + $(errs api)))
say ""
say "scepd soak$( [ "$VG" = 1 ] && echo " under valgrind") -- $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "answered without error: enroll $(oks enroll), read $(oks read), ocsp $(oks ocsp), api $(oks api) in $elapsed s"
for g in enroll read ocsp api; do
	[ -s "$out/gen/$g.errors" ] && say "   $g errors (first lines of $out/gen/$g.errors):" &&
	    head -n 5 "$out/gen/$g.errors" | sed 's/^/     /' | tee -a "$out/soak.log" >&2
done

if [ "$VG" != 1 ]; then
	if [ "$MINUTES" -ge 10 ]; then base=300; else
		base=60
		say "(a run shorter than 10 minutes: the baseline is minute 1, not minute 5)"
	fi
	say ""
	say "$(printf '%7s %9s %5s %5s %7s %7s %7s %7s' min 'RSS MiB' fds db enroll read ocsp api)"
	awk '{ m = ($1 == "end") ? "end" : sprintf("%.1f", $1 / 60)
		printf "%7s %9.2f %5d %5d %7d %7d %7d %7d\n", m, $2 / 1024, $3, $4, $5, $6, $7, $8 }' \
	    "$out/samples" | tee -a "$out/soak.log" >&2
	say "(enroll ... api: errors so far)"
	b=$(awk -v b=$base '$1 != "end" && $1 >= b { print; exit }' "$out/samples")
	e=$(tail -n 1 "$out/samples")
	[ -n "$b" ] || die "no sample at $base s"
	set -- $b
	b_rss=$2 b_fd=$3 b_db=$4
	set -- $e
	growth=$(($2 - b_rss))
	verdict "$([ $growth -le 2048 ] && echo 0 || echo 1)" \
	    "RSS growth from minute $((base / 60)) to the end: $growth KiB ($(awk -v k=$b_rss 'BEGIN { printf "%.2f", k / 1024 }') -> $(awk -v k=$2 'BEGIN { printf "%.2f", k / 1024 }') MiB; at most 2048 KiB)"
	fdr=$(awk -v b=$base '$1 == "end" || $1 >= b' "$out/samples" |
	    awk '{ if (NR == 1 || $3 < lo) lo = $3; if (NR == 1 || $3 > hi) hi = $3 } END { print lo, hi }')
	set -- $fdr
	verdict "$([ $(($1 - b_fd)) -ge -4 ] && [ $(($2 - b_fd)) -le 4 ] && echo 0 || echo 1)" \
	    "descriptors from minute $((base / 60)) on: $1..$2 (baseline $b_fd +-4)"
	dbr=$(awk -v b=$base '$1 == "end" || $1 >= b' "$out/samples" |
	    awk '{ if (NR == 1 || $4 < lo) lo = $4; if (NR == 1 || $4 > hi) hi = $4 } END { print lo, hi }')
	set -- $dbr
	verdict "$([ "$1" = "$b_db" ] && [ "$2" = "$b_db" ] && echo 0 || echo 1)" \
	    "PostgreSQL connections from minute $((base / 60)) on: $1..$2 (constant: $b_db)"
fi
verdict "$([ $total_err = 0 ] && echo 0 || echo 1)" \
    "errors: $total_err (enroll $(errs enroll), read $(errs read), ocsp $(errs ocsp), api $(errs api))"
verdict "$([ "$scepd_rc" = 0 ] && echo 0 || echo 1)" "scepd exit status after SIGTERM: $scepd_rc"
if [ "$VG" = 1 ]; then
	for vl in "$out"/valgrind.*.log; do
		# Which process: its command line, as valgrind heads its log.
		what=$(sed -n 's/^==[0-9]*== Command: //p' "$vl" | head -n 1 | sed 's|^[^ ]*/||')
		# No leak at all: valgrind says so instead of printing the counts.
		if grep -q 'All heap blocks were freed' "$vl"; then
			def=0 ind=0 pos=0
		else
			lost() { sed -n "s/.*$1 lost: \([0-9,]*\) bytes.*/\1/p" "$vl" | tail -n 1 | tr -d ,; }
			def=$(lost definitely) ind=$(lost indirectly) pos=$(lost possibly)
		fi
		supp=$(sed -n 's/.*suppressed: \([0-9,]*\) bytes.*/\1/p' "$vl" | tail -n 1 | tr -d ,)
		verr=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$vl" | tail -n 1 | tr -d ,)
		say "valgrind ($what): definitely lost ${def:-?}, indirectly lost ${ind:-?}, possibly lost ${pos:-?}, suppressed ${supp:-0} bytes; ERROR SUMMARY ${verr:-?} ($vl)"
		verdict "$([ "${def:-x}" = 0 ] && [ "${ind:-x}" = 0 ] && echo 0 || echo 1)" \
		    "$what: 0 definitely lost, 0 indirectly lost"
		verdict "$([ "${verr:-x}" = 0 ] && echo 0 || echo 1)" \
		    "$what: valgrind ERROR SUMMARY 0 (no invalid access, no uninitialised use, no leak counted)"
	done
fi
exit $fail
