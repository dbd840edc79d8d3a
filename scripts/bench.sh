#!/bin/sh
# make bench: measure scepd against the reference SCEP server, micromdm's
# scepserver (Debian package scep), in one run, and print one table.  A
# benchmark, not a test: it fails only when it cannot measure.
#
# Method: a private network namespace (unshare -n) with
# only loopback, so scepserver, which binds every interface, is reachable
# from nowhere else; both servers pinned to CPU 1 (taskset), the load
# generators to CPU 0, PostgreSQL floating.  PKCSReq messages are pre-built
# by sceptool (each its own subject and transactionID, 32 keys shared) so
# the generator, build/scepbench (test/bench.c), does no crypto; it checks
# every reply is HTTP 200 and a CertRep SUCCESS for the request's
# transactionID, and a few replies are checked in full with sceptool post.
# GetCACaps and GetCACert are measured with wrk.
#
# Knobs (environment):  BENCH_SECONDS   wrk duration per run (10)
#                       BENCH_ENROLL    PKCSReq messages per run (1200)
#                       BENCH_ENROLL_SECONDS  time cap per PKCSReq run (10)
#                       BENCH_KEYS      request keys to share (32)
#                       BENCH_WORKERS   scepd's workers (unset: workers = 0,
#                                       one per CPU, as shipped)
#                       BENCH_SLOW      enrollments at once on the slow
#                                       validator (50)
# Logs and everything made go to build/bench/.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build/bench

if [ "${1:-}" != --inner ]; then
	[ "$(id -u)" = 0 ] || { echo "bench: needs root (unshare -n, PostgreSQL as postgres)" >&2; exit 1; }
	# scripts/setup.sh brings scep (scepserver), PostgreSQL and curl; the
	# rest only the benchmark needs.
	sh scripts/setup.sh
	missing=""
	for p in wrk iproute2 util-linux procps; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		    missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "bench: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
	make -s all build/sceptool build/scepbench build/signerbench
	# A run killed without its cleanup may have left its servers: stop
	# them by their recorded PID, if that PID still runs the same program.
	for name in scepd scepserver; do
		[ -f "$out/$name.pid" ] || continue
		pid=$(cat "$out/$name.pid")
		case $(readlink "/proc/$pid/exe" 2>/dev/null) in
		"$out/bin/scepd"|*/scepserver) kill "$pid" 2>/dev/null || true ;;
		esac
	done
	if [ -f "$out/pg/data/postmaster.pid" ]; then
		sh scripts/pg.sh stop "$out/pg" || true
	fi
	rm -rf "$out"
	mkdir -p "$out/bin"
	# Private copies: a rebuild during the run must not change what runs.
	cp build/scepd build/scepctl build/sceptool build/scepbench build/signerbench "$out/bin/"
	exec unshare -n sh "$0" --inner
fi

# ---- inside the private network namespace --------------------------------

SECS=${BENCH_SECONDS:-10}
NENROLL=${BENCH_ENROLL:-1200}
ESECS=${BENCH_ENROLL_SECONDS:-10}
NKEYS=${BENCH_KEYS:-32}
NSLOW=${BENCH_SLOW:-50}
WORKERS=${BENCH_WORKERS:-0}
NSPARE=3	# never sent during the load; checked in full at the end
NWARM=200
CHAL=bench-challenge-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
SD_PORT=18080
SS_PORT=18081
SD_URL=http://127.0.0.1:$SD_PORT/scep
SS_URL=http://127.0.0.1:$SS_PORT/scep
BIN=$out/bin
T=$BIN/sceptool
JOBS=$(($(nproc) * 2))
log=$out/bench.log

ip link set lo up

say() { echo "$*" | tee -a "$log" >&2; }
die() { say "bench: $*"; exit 1; }

# alive PID: running (a child that exited stays a zombie until waited for).
alive() {
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
# stop_pid PIDFILE: SIGTERM, 5 s, then SIGKILL; $rc_stopped is its status.
rc_stopped=-
stop_pid() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	rm -f "$1"
	rc_stopped=-
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while alive "$pid" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		say "bench: $pid did not stop within 5 s of SIGTERM, killed"
	fi
	rc_stopped=0
	wait "$pid" 2>/dev/null || rc_stopped=$?
}
cleanup() {
	stop_pid "$out/scepd.pid"
	stop_pid "$out/scepserver.pid"
	stop_pid "$out/wait.pid"
	stop_pid "$out/validator.pid"
	stop_pid "$out/pgproxy.pid"
	stop_pid "$out/intune.pid"
	sh "$top/scripts/pg.sh" stop "$out/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_up URL PIDFILE NAME: until GetCACaps answers, or the process dies.
wait_up() {
	i=0
	while [ $i -lt 100 ]; do
		curl -fsS -o /dev/null "$1?operation=GetCACaps" 2>/dev/null && return 0
		alive "$(cat "$2")" || break
		sleep 0.1
		i=$((i + 1))
	done
	tail -n 20 "$out/$3.log" >&2
	die "$3 did not start"
}

# ticks PID: utime + stime of PID and its children (scepd's worker and
# signer, server/signer/), in clock ticks.
ticks() {
	tk=0
	for tp in $1 $(ps -o pid= --ppid "$1"); do
		tt=$(sed 's/.*) //' "/proc/$tp/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		tk=$((tk + ${tt:-0}))
	done
	echo $tk
}
# pg_ticks: the same for the postmaster and all its children.
pg_ticks() {
	pm=$(head -n 1 "$out/pg/data/postmaster.pid")
	s=0
	for p in $pm $(ps -o pid= --ppid "$pm"); do
		t=$(ticks "$p" 2>/dev/null) || continue
		s=$((s + t))
	done
	echo $s
}
# hwm_kib PID: the peak RSS of PID and its children, added up.
hwm_kib() {
	hk=0
	for hp in $1 $(ps -o pid= --ppid "$1"); do
		hv=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$hp/status" 2>/dev/null)
		hk=$((hk + ${hv:-0}))
	done
	echo $hk
}

# ---- setup ------------------------------------------------------------------

load0=$(cut -d' ' -f1-3 /proc/loadavg)
say "== setup (logs in $out; load average $load0)"
PGCONN=$(sh scripts/pg.sh start "$out/pg") || die "cannot start PostgreSQL"

mkdir -p "$out/scepd" "$out/scepserver" "$out/keys" "$out/msg"
cat >"$out/scepd/scepd.conf" <<CONF
# Written by scripts/bench.sh; defaults elsewhere.
listen = "127.0.0.1";
workers = $WORKERS;
database = "$PGCONN";
ca = { cert = "ca.pem"; key = "ca.key"; ra_cert = "ra.pem"; ra_key = "ra.key"; };
challenge = "$CHAL";
validity_days = 30;
CONF
"$BIN/scepctl" -c "$out/scepd/scepd.conf" db migrate >>"$log" 2>&1 ||
    die "scepctl db migrate failed (see $log)"
"$BIN/scepctl" -c "$out/scepd/scepd.conf" ca init --bits 2048 \
    --subject "/O=scepd bench/CN=Bench CA" --ra-subject "/O=scepd bench/CN=Bench RA" \
    >>"$log" 2>&1 || die "scepctl ca init failed (see $log)"
scepserver ca -init -depot "$out/scepserver/depot" -keySize 2048 \
    -organization "scepd bench" >>"$log" 2>&1 || die "scepserver ca -init failed"

taskset -c 1 "$BIN/scepd" -d -c "$out/scepd/scepd.conf" -p $SD_PORT \
    >"$out/scepd.log" 2>&1 &
echo $! >"$out/scepd.pid"
taskset -c 1 scepserver -port $SS_PORT -depot "$out/scepserver/depot" \
    -challenge "$CHAL" >"$out/scepserver.log" 2>&1 &
echo $! >"$out/scepserver.pid"
wait_up "$SD_URL" "$out/scepd.pid" scepd
wait_up "$SS_URL" "$out/scepserver.pid" scepserver
SD_PID=$(cat "$out/scepd.pid")
SS_PID=$(cat "$out/scepserver.pid")

# Recipients: scepd's RA certificate (first of GetCACert), scepserver's CA.
$T getca -u "$SD_URL" -o "$out/scepd/getca.pem" >>"$log" 2>&1 || die "getca scepd"
$T getca -u "$SS_URL" -o "$out/scepserver/getca.pem" >>"$log" 2>&1 || die "getca scepserver"
openssl x509 -in "$out/scepd/getca.pem" -out "$out/scepd/recipient.pem"
openssl x509 -in "$out/scepserver/getca.pem" -out "$out/scepserver/recipient.pem"
openssl x509 -in "$out/scepd/recipient.pem" -noout -subject | grep -q 'Bench RA' ||
    die "scepd's first GetCACert certificate is not the RA"

# ---- pre-built messages ------------------------------------------------------

t0=$(date +%s)
total=$((2 * NENROLL + NWARM + NSPARE))	# per server
say "== $NKEYS RSA-2048 keys, $((2 * total)) PKCSReq messages ($JOBS jobs)"
seq 1 "$NKEYS" | xargs -P "$JOBS" -I{} \
    openssl genrsa -out "$out/keys/k{}.pem" 2048 2>>"$log" ||
    die "key generation failed"

# Helper run by xargs: build messages for server $1 with the given indexes.
cat >"$out/mkmsg.sh" <<'SH'
srv=$1 url=$2 out=$3 nkeys=$4 chal=$5
shift 5
for i in "$@"; do
	$out/bin/sceptool enroll -u "$url" --ca "$out/$srv/recipient.pem" \
	    -k "$out/keys/k$((i % nkeys + 1)).pem" \
	    --subject "/O=scepd bench/CN=$srv-$i" --challenge "$chal" \
	    --cipher aes128 --digest sha256 --transid "bench-$srv-$i" \
	    --no-send --save-request "$out/msg/$srv/$i.der" >/dev/null 2>&1 ||
	    { echo "sceptool failed for $srv message $i" >&2; exit 1; }
done
SH
for srv in scepd scepserver; do
	mkdir -p "$out/msg/$srv"
	[ $srv = scepd ] && url=$SD_URL || url=$SS_URL
	seq 1 $total | xargs -P "$JOBS" -n 40 sh "$out/mkmsg.sh" $srv "$url" "$out" \
	    "$NKEYS" "$CHAL" 2>>"$log" || die "building $srv messages failed (see $log)"
	[ "$(find "$out/msg/$srv" -name "*.der" | wc -l)" = $total ] || die "missing $srv messages"
	# pool.8: 1..N, pool.32: N+1..2N, pool.warm: the next NWARM, spares after.
	for p in 8 32 warm; do
		case $p in
		8) a=1 b=$NENROLL ;;
		32) a=$((NENROLL + 1)) b=$((2 * NENROLL)) ;;
		warm) a=$((2 * NENROLL + 1)) b=$((2 * NENROLL + NWARM)) ;;
		esac
		# shellcheck disable=SC2046
		cat $(seq "$a" "$b" | sed "s|.*|$out/msg/$srv/&.der|") >"$out/msg/$srv.pool.$p"
	done
done
say "   built in $(($(date +%s) - t0)) s"

# ---- measurements ---------------------------------------------------------------

# wrk_run NAME URL PID: wrk on CPU 0, 32 connections; writes $out/NAME.wrk
# and the server's CPU use over the run (% of one core) to $out/NAME.cpu.
wrk_run() {
	c0=$(ticks "$3")
	w0=$(date +%s.%N)
	taskset -c 0 wrk -t1 -c32 -d"${SECS}s" --latency "$2" >"$out/$1.wrk" 2>&1 ||
	    die "wrk $1 failed: $(cat "$out/$1.wrk")"
	awk -v t="$(($(ticks "$3") - c0))" -v hz="$(getconf CLK_TCK)" -v w0="$w0" \
	    -v w1="$(date +%s.%N)" 'BEGIN { printf "%.0f\n", t / hz / (w1 - w0) * 100 }' \
	    >"$out/$1.cpu"
}
# wrk_get NAME FIELD: rps, p50, p99 (ms), errors (non-2xx + socket errors).
wrk_get() {
	awk -v f="$2" '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return v * 1000
		return v
	}
	/^Requests\/sec:/ { rps = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/Non-2xx or 3xx responses:/ { err += $NF }
	/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
	END {
		if (f == "rps") printf "%.0f\n", rps
		else if (f == "p50") printf "%.2f\n", p50
		else if (f == "p99") printf "%.2f\n", p99
		else printf "%d\n", err
	}' "$out/$1.wrk"
}
# enroll_run NAME URL CONNS SECONDS POOL [-r]: scepbench on CPU 0; records
# the server's and PostgreSQL's CPU ticks over the run.
enroll_run() {
	name=$1 url=$2 conns=$3 secs=$4 pool=$5
	shift 5
	case $name in scepd*) pid=$SD_PID ;; *) pid=$SS_PID ;; esac
	c0=$(ticks "$pid")
	g0=$(pg_ticks)
	taskset -c 0 "$BIN/scepbench" -u "$url" -c "$conns" -d "$secs" "$@" "$pool" \
	    >"$out/$name.bench" 2>&1 || die "scepbench $name failed: $(cat "$out/$name.bench")"
	echo "$(($(ticks "$pid") - c0)) $(($(pg_ticks) - g0))" >"$out/$name.cpu"
	say "   $name: $(head -n 1 "$out/$name.bench")"
	sed 1d "$out/$name.bench" | sed 's/^/     /' | tee -a "$log" >&2
}
bget() { sed -n "1s/.* $2=\([^ ]*\).*/\1/p" "$out/$1.bench"; }

# The two servers take turns at each measurement, so a drift in the speed
# of the machine (a shared VM) weighs on both alike.
say "== GetCACaps, GetCACert: wrk, 32 connections, ${SECS} s each"
for op in GetCACaps GetCACert; do
	for srv in scepd scepserver; do
		if [ $srv = scepd ]; then url=$SD_URL pid=$SD_PID; else url=$SS_URL pid=$SS_PID; fi
		wrk_run $srv.$op "$url?operation=$op" "$pid"
		say "   $srv $op: $(wrk_get $srv.$op rps)/s, p50 $(wrk_get $srv.$op p50) ms, p99 $(wrk_get $srv.$op p99) ms, errors $(wrk_get $srv.$op err), server CPU $(cat "$out/$srv.$op.cpu")%"
	done
done

say "== PKCSReq: scepbench, $NENROLL messages or ${ESECS} s per run"
for srv in scepd scepserver; do
	[ $srv = scepd ] && url=$SD_URL || url=$SS_URL
	# Warm-up (not reported): connections, caches, the first serials.
	taskset -c 0 "$BIN/scepbench" -u "$url" -c 8 -d 5 "$out/msg/$srv.pool.warm" \
	    >"$out/$srv.warm.bench" 2>&1 || die "warm-up $srv failed"
	say "   $srv.warm-up: $(head -n 1 "$out/$srv.warm.bench")"
done
for c in 8 32; do
	for srv in scepd scepserver; do
		[ $srv = scepd ] && url=$SD_URL || url=$SS_URL
		enroll_run $srv.enroll$c "$url" $c "$ESECS" "$out/msg/$srv.pool.$c"
	done
done

# Replay: every message of the 8-client run again.  scepd answers each as a
# retransmission (SUCCESS, the certificate it already issued, no new
# signature over a certificate); scepserver keeps no transactions and
# refuses a second certificate for a subject it has (FAILURE badRequest).
say "== replay of already answered PKCSReqs, 32 clients, 5 s"
enroll_run scepd.replay "$SD_URL" 32 5 "$out/msg/scepd.pool.8" -r
enroll_run scepserver.replay "$SS_URL" 32 5 "$out/msg/scepserver.pool.8" -r

# ---- decryption failures: one answer, no timing to tell them apart ---------------
# Every refusal that depends on decrypted bytes is FAILURE badMessageCheck
# (pkcs7/req.c); here its timing per class, against the bad RSA block
# (a Bleichenbacher probe), by the Mann-Whitney U test
# (test/mann_whitney.py).  The classes are interleaved, message by
# message, on one connection, so that drift touches them alike.
UCLASSES="wrong-recipient corrupt-rsa corrupt-padding csr-garbage csr-trailing bad-csr-sig"
NUNI=${BENCH_UNIFORM_MSGS:-20}
USAMPLES=${BENCH_UNIFORM_SAMPLES:-6000}
say "== decryption failures: $USAMPLES refusals in 6 classes, 1 client"
mkdir -p "$out/uniform"
for m in $UCLASSES; do
	for i in $(seq 1 "$NUNI"); do
		$T enroll -u "$SD_URL" --ca "$out/scepd/recipient.pem" -k "$out/keys/k1.pem" \
		    --subject "/O=scepd bench/CN=uniform" --challenge "$CHAL" --transid "$m-$i" \
		    --mutate "$m" --no-send --save-request "$out/uniform/$m-$i.der" \
		    >/dev/null 2>&1 || die "sceptool cannot build a $m message"
	done
done
for i in $(seq 1 "$NUNI"); do
	for m in $UCLASSES; do cat "$out/uniform/$m-$i.der"; done
done >"$out/uniform.pool"
taskset -c 0 "$BIN/scepbench" -u "$SD_URL" -c 1 -d 120 -n "$USAMPLES" -r \
    -l "$out/uniform.lat" "$out/uniform.pool" >"$out/uniform.bench" 2>&1 ||
    die "scepbench (decryption failures) failed: $(cat "$out/uniform.bench")"
say "   $(head -n 1 "$out/uniform.bench")"
say "   answers: $(tail -n +2 "$out/uniform.bench" | tr '\n' ';')"
python3 "$top/test/mann_whitney.py" "$out/uniform.lat" corrupt-rsa |
    sed 's/^/   /' | tee -a "$log" >&2

# ---- checks ----------------------------------------------------------------------

say "== checks"
sample_ok=0
sample_n=0
for srv in scepd scepserver; do
	[ $srv = scepd ] && url=$SD_URL || url=$SS_URL
	lenient=""
	[ $srv = scepserver ] && lenient=--lenient
	# Spare messages (never sent), and for scepd one already issued (a
	# retransmission answered with the same certificate): full check.
	again=""
	[ $srv = scepd ] && again=1
	for i in $(seq $((total - NSPARE + 1)) $total) $again; do
		k=$out/keys/k$((i % NKEYS + 1)).pem
		sample_n=$((sample_n + 1))
		rc=0
		$T post -u "$url" --file "$out/msg/$srv/$i.der" \
		    --ca "$out/$srv/recipient.pem" -k "$k" $lenient \
		    -o "$out/$srv/sample-$i.pem" >"$out/$srv/sample-$i.out" 2>&1 || rc=$?
		if [ $rc = 0 ] && openssl verify -CAfile "$out/$srv/getca.pem" \
		    -partial_chain "$out/$srv/sample-$i.pem" >/dev/null 2>&1; then
			sample_ok=$((sample_ok + 1))
		else
			say "   $srv message $i: sceptool post exit $rc: $(tail -n 1 "$out/$srv/sample-$i.out")"
		fi
	done
done
say "   sceptool post, full check of CertRep and certificate: $sample_ok of $sample_n SUCCESS"

sd_certs=$(psql -X -qAt "$PGCONN" -c "SELECT count(*) FROM scepd.certificates") ||
    die "cannot count scepd's certificates"
sd_issued=$(( $(bget scepd.warm ok) + $(bget scepd.enroll8 ok) + $(bget scepd.enroll32 ok) + NSPARE ))
if [ "$sd_certs" = "$sd_issued" ]; then
	say "   scepd certificates in the database: $sd_certs = SUCCESS replies to new transactions"
else
	say "   MISMATCH: scepd has $sd_certs certificates in the database, $sd_issued SUCCESS replies to new transactions"
fi
ss_certs=$(grep -c '^V' "$out/scepserver/depot/index.txt" || true)
say "   scepserver certificates in index.txt: $ss_certs"
sd_warn=$(grep -ciE 'warn|error|fatal' "$out/scepd.log" || true)
say "   scepd log lines with warn/error: $sd_warn (of $(wc -l <"$out/scepd.log"))"
grep -iE 'warn|error|fatal' "$out/scepd.log" | sed 's/^[^ ]* //; s/[0-9][0-9.:]*/N/g' |
    sort | uniq -c | sort -rn | head -n 5 | sed 's/^/     /' | tee -a "$log" >&2
ss_err=$(grep 'err=' "$out/scepserver.log" | grep -vc 'err=null' || true)
say "   scepserver log lines with an error: $ss_err"
grep 'err=' "$out/scepserver.log" | grep -v 'err=null' | sed 's/^ts=[^ ]* //' |
    sort | uniq -c | sort -rn | head -n 5 | sed 's/^/     /' | tee -a "$log" >&2

alive "$SD_PID" || die "scepd died during the run"
alive "$SS_PID" || die "scepserver died during the run"
SD_HWM=$(hwm_kib "$SD_PID")
SS_HWM=$(hwm_kib "$SS_PID")
# Stop both now, to see how scepd ends after the load.
stop_pid "$out/scepd.pid"
sd_exit=$rc_stopped
# What keeping the keys in the signer costs: the round trips of its
# operations beyond the key operation itself (server/signer/client.c
# counts them, scepd logs them when it stops).
sep=$(sed -n 's/.* \([0-9]*\) signer operations, \([0-9.]*\) us of round trip each, \([0-9.]*\) us of it the key.s$/\1 \2 \3/p' "$out/scepd.log" | tail -n 1)
stop_pid "$out/scepserver.pid"
ss_exit=$rc_stopped
say "   exit status after SIGTERM: scepd $sd_exit, scepserver $ss_exit"

# ---- key custody: what the signer costs a key operation ----------------------------
# build/signerbench (test/signer_bench.c) starts the signer as scepd does
# and times an enrollment's three key operations on the bench's own keys,
# in its process and through the signer, pinned to CPU 1 with the signer:
# the wall time of an operation is then the CPU both spend on it.
NSIGN=${BENCH_SIGNER_OPS:-2000}
say "== key custody: $NSIGN of each key operation in process and through the signer, CPU 1"
taskset -c 1 "$BIN/signerbench" -c "$out/scepd/scepd.conf" -n "$NSIGN" \
    "$out/scepd/ca.key" "$out/scepd/ra.key" >"$out/signer.bench" 2>>"$log" ||
    die "signerbench failed (see $log)"
sed 's/^/   /' "$out/signer.bench" | tee -a "$log" >&2

# ---- fast answers while slow work waits (scepd alone) ------------------------------
# A second scepd with one worker: its profile "hook" asks a validator that
# answers after 3 s (test/webhook_validator.py --mode slow), and it reaches
# PostgreSQL through test/slow_pg_proxy.py, which holds every message a
# client sends for 2 s while $out/pg-slow exists.  GetCACaps is timed one
# request at a time (curl): idle, while BENCH_SLOW (8) enrollments wait on the
# validator, and while 2 wait on the database; and the wall time of 1 and
# of BENCH_SLOW concurrent enrollments on the slow validator.
WAIT_PORT=18083 VAL_PORT=18383 PGP_PORT=18384
WAIT_URL=http://127.0.0.1:$WAIT_PORT/scep
HOOK_SECRET=bench-hook-secret-0123456789
say "== fast answers while slow work waits (scepd, workers = 1)"
psql -X -q "$PGCONN" -c "CREATE DATABASE bench_wait" >>"$log" 2>&1 || die "cannot create bench_wait"
pgsock=$(echo "$PGCONN" | sed -n 's/.*host=\([^ ]*\).*/\1/p')/.s.PGSQL.5432
pguser=$(echo "$PGCONN" | sed -n 's/.*user=\([^ ]*\).*/\1/p')
python3 "$top/test/slow_pg_proxy.py" --listen $PGP_PORT --socket "$pgsock" \
    --switch "$out/pg-slow" --delay 2 >"$out/pgproxy.log" 2>&1 &
echo $! >"$out/pgproxy.pid"
python3 "$top/test/webhook_validator.py" --port $VAL_PORT --secret $HOOK_SECRET \
    --record "$out/validator.jsonl" --mode slow --slow 3 --challenge "$CHAL" \
    >"$out/validator.log" 2>&1 &
echo $! >"$out/validator.pid"
# up_tcp CMD...: until CMD succeeds (a listener is up), at most 10 s.
up_tcp() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "not up within 10 s: $*"
		sleep 0.1
	done
}
up_tcp psql -X -qAt "host=127.0.0.1 port=$PGP_PORT dbname=bench_wait user=$pguser sslmode=disable" -c 'SELECT 1'
up_tcp curl -s -o /dev/null "http://127.0.0.1:$VAL_PORT/"
mkdir -p "$out/wait"
# A local Intune (test/fake_intune.py) whose every call takes 500 ms, over
# TLS from a throw-away CA that scepd trusts through SSL_CERT_FILE.
I_PORT=18385
I_TENANT=00000000-1111-2222-3333-444444444444
I_CID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench Intune CA" \
    -keyout "$out/wait/itls-ca.key" -out "$out/wait/itls-ca.pem" >>"$log" 2>&1
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$out/wait/itls.key" -out "$out/wait/itls.csr" >>"$log" 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$out/wait/itls.ext"
openssl x509 -req -in "$out/wait/itls.csr" -CA "$out/wait/itls-ca.pem" \
    -CAkey "$out/wait/itls-ca.key" -CAcreateserial -days 2 \
    -extfile "$out/wait/itls.ext" -out "$out/wait/itls.pem" >>"$log" 2>&1
echo bench-intune-secret >"$out/wait/intune.secret"
python3 "$top/test/fake_intune.py" --port $I_PORT --cert "$out/wait/itls.pem" \
    --key "$out/wait/itls.key" --tenant $I_TENANT --client-id $I_CID \
    --client-secret-file "$out/wait/intune.secret" >"$out/intune.log" 2>&1 &
echo $! >"$out/intune.pid"
up_tcp curl -fs --cacert "$out/wait/itls-ca.pem" -o /dev/null "https://127.0.0.1:$I_PORT/_control/state"
curl -fs --cacert "$out/wait/itls-ca.pem" -H 'Content-Type: application/json' \
    --data '{"delay_ms": 500}' "https://127.0.0.1:$I_PORT/_control" >/dev/null ||
    die "fake Intune: cannot set its delay"
cp "$out/scepd/ca.pem" "$out/scepd/ca.key" "$out/scepd/ra.pem" "$out/scepd/ra.key" "$out/wait/"
cat >"$out/wait/scepd.conf" <<CONF
# Written by scripts/bench.sh: one worker, a slow validator, a slow database.
listen = "127.0.0.1";
workers = 1;
database = "host=127.0.0.1 port=$PGP_PORT dbname=bench_wait user=$pguser sslmode=disable";
ca = { cert = "ca.pem"; key = "ca.key"; ra_cert = "ra.pem"; ra_key = "ra.key"; };
challenge = "$CHAL";
validity_days = 30;
# Room for the flood of 1,000 enrollments from one address.
limits = { max_connections = 1100; max_connections_per_address = 1100; };
profiles = ( { name = "hook"; challenge_mode = "webhook";
    webhook = { url = "http://127.0.0.1:$VAL_PORT/hook"; secret = "$HOOK_SECRET";
    timeout_ms = 20000; notify = false; }; },
  { name = "intune"; challenge_mode = "intune";
    intune = { tenant = "$I_TENANT"; client_id = "$I_CID";
    client_secret_file = "intune.secret"; authority = "https://127.0.0.1:$I_PORT";
    graph = "https://127.0.0.1:$I_PORT"; timeout_ms = 20000; }; } );
CONF
"$BIN/scepctl" -c "$out/wait/scepd.conf" db migrate >>"$log" 2>&1 || die "bench_wait: db migrate failed"
SSL_CERT_FILE=$out/wait/itls-ca.pem taskset -c 1 "$BIN/scepd" -d -c "$out/wait/scepd.conf" \
    -p $WAIT_PORT >"$out/wait.log" 2>&1 &
echo $! >"$out/wait.pid"
wait_up "$WAIT_URL" "$out/wait.pid" wait

# fast_times N NAME: N rounds, one request at a time (at most 60 s each),
# of GetCACaps, GetCACert and the CRL (from scepd's memory): per answer
# "p50 p99 max failed" in ms over those answered into $out/NAME.OP.lat;
# failed = no answer (scepd's request_timeout closed the connection, or
# 60 s passed).
fast_times() {
	for op in caps cacert crl; do : >"$out/$2.$op.times"; done
	for _ in $(seq 1 "$1"); do
		for op in caps cacert crl; do
			case $op in
			caps) u="$WAIT_URL?operation=GetCACaps" ;;
			cacert) u="$WAIT_URL?operation=GetCACert" ;;
			crl) u="$WAIT_URL/crl/hook.crl" ;;
			esac
			# curl -w writes the time of a failed request too: keep it apart.
			if t=$(curl -fs -o /dev/null --max-time 60 -w '%{time_total}' "$u"); then
				echo "$t" >>"$out/$2.$op.times"
			else
				echo failed >>"$out/$2.$op.times"
			fi
		done
	done
	for op in caps cacert crl; do
		grep -v failed "$out/$2.$op.times" | sort -n |
		    awk -v f="$(grep -c failed "$out/$2.$op.times")" '
		    { v[NR] = $1 * 1000 }
		    END { if (NR == 0) { printf "- - - %d\n", f; exit }
			i = int(NR * 0.99 + 0.999); if (i < 1) i = 1
			printf "%.1f %.1f %.1f %d\n", v[int((NR + 1) / 2)], v[i], v[NR], f }' >"$out/$2.$op.lat"
	done
	say "   $2 ($1 rounds), p50/p99/max ms, failed: GetCACaps $(cat "$out/$2.caps.lat"); GetCACert $(cat "$out/$2.cacert.lat"); CRL $(cat "$out/$2.crl.lat")"
}
# slow_enroll N PROFILE TAG: N enrollments at once; prints the wall time (ms).
slow_enroll() {
	s0=$(date +%s%3N)
	pids=""
	for i in $(seq 1 "$1"); do
		$T enroll -u "$WAIT_URL$2" --ca "$out/scepd/recipient.pem" \
		    -k "$out/keys/k$((i % NKEYS + 1)).pem" --subject "/O=scepd bench/CN=$3-$i" \
		    --challenge "$CHAL" --transid "bench-$3-$i" >"$out/wait/$3-$i.out" 2>&1 &
		pids="$pids $!"
	done
	echo "$pids" >"$out/$3.pids"
	echo "$s0" >"$out/$3.t0"
}
slow_done() {	# TAG: wait for slow_enroll TAG; its wall time in ms, failures
	n=0
	for p in $(cat "$out/$1.pids"); do wait "$p" || n=$((n + 1)); done
	echo "$(($(date +%s%3N) - $(cat "$out/$1.t0"))) $n" >"$out/$1.wall"
	say "   $1: wall $(cut -d' ' -f1 "$out/$1.wall") ms, $n not SUCCESS"
}

# The CRL is in memory once the sweep thread's first round has made it.
up_tcp curl -fs -o /dev/null "$WAIT_URL/crl/hook.crl"
fast_times 100 idle
slow_enroll 1 /hook hook1
slow_done hook1
slow_enroll "$NSLOW" /hook hookN
fast_times 20 validator
slow_done hookN
touch "$out/pg-slow"
slow_enroll 2 "" dbslow
fast_times 5 database
rm -f "$out/pg-slow"
slow_done dbslow
# A flood against the slow database: 1,000 enrollments in flight at once
# (64 on the pool's threads, the rest in its queue, limits.max_queued =
# 1024), GetCACaps timed meanwhile, scepd's RSS before and among them;
# then the database is fast again and they end.
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# The worker holds the connections and their memory.
WAIT_PID=$(ps -o pid=,comm= --ppid "$(cat "$out/wait.pid")" | awk '$2 == "scepd-worker" { print $1 }')
flood_rss0=$(rss_kib "$WAIT_PID")
touch "$out/pg-slow"
(ulimit -n 4096 && exec taskset -c 0 "$BIN/scepbench" -u "$WAIT_URL" -c 1000 -n 1000 -d 300 \
    "$out/msg/scepd.pool.8") >"$out/flood.bench" 2>&1 &
FLOOD_PID=$!
# In flight once scepd holds the 1,000 connections.
i=0
until [ "$(ls /proc/"$WAIT_PID"/fd | wc -l)" -ge 1000 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "the flood did not reach 1,000 connections"
	sleep 0.1
done
fast_times 20 flood
flood_rss=$(rss_kib "$WAIT_PID")
rm -f "$out/pg-slow"
wait "$FLOOD_PID" || die "scepbench (flood) failed: $(cat "$out/flood.bench")"
say "   flood: $(head -n 1 "$out/flood.bench")"
say "   flood: scepd RSS $flood_rss0 kB before, $flood_rss kB with 1,000 enrollments in flight"
slow_enroll 1 /intune intune1
slow_done intune1
slow_enroll "$NSLOW" /intune intuneN
fast_times 20 intune
slow_done intuneN
stop_pid "$out/intune.pid"
stop_pid "$out/wait.pid"
stop_pid "$out/validator.pid"
stop_pid "$out/pgproxy.pid"

# ---- the table -------------------------------------------------------------------------

hz=$(getconf CLK_TCK)
cpu_ms() {	# NAME FIELD(1 server, 2 PostgreSQL) [PER]: CPU ms per SUCCESS (or PER)
	ok=$(bget "$1" "${3:-ok}")
	t=$(cut -d' ' -f"$2" "$out/$1.cpu")
	awk -v t="$t" -v ok="$ok" -v hz="$hz" 'BEGIN { if (ok > 0) printf "%.2f\n", t * 1000 / hz / ok; else print "-" }'
}
errs() {	# NAME: replies that are not a CertRep SUCCESS
	echo $(( $(bget "$1" sent) - $(bget "$1" ok) ))
}
row() {		# LABEL SCEPD SCEPSERVER [-]: no ratio with -
	awk -v l="$1" -v a="$2" -v b="$3" -v n="${4:-}" 'BEGIN {
		r = "-"
		if (n == "" && a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) r = sprintf("%.2f", a / b)
		printf "%-40s | %17s | %17s | %6s\n", l, a, b, r
	}'
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
{
echo
echo "scepd vs micromdm scepserver $(dpkg-query -W -f '${Version}' scep 2>/dev/null || echo '?')  --  $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $cpu, $(uname -sr), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "load:    load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after (above ~0.3 before: other work on the machine, figures unreliable)"
echo "command: make bench (sh scripts/bench.sh)  BENCH_SECONDS=$SECS BENCH_ENROLL=$NENROLL BENCH_ENROLL_SECONDS=$ESECS BENCH_KEYS=$NKEYS BENCH_WORKERS=$WORKERS BENCH_SLOW=$NSLOW"
echo "setup:   private netns, loopback; servers on CPU 1, load on CPU 0, PostgreSQL $(psql -X -qAt "$PGCONN" -c 'SHOW server_version' | cut -d' ' -f1) floating (fsync on);"
echo "         scepd RA mode, $(sed -n 's/.* with \([0-9]*\) worker.*/\1/p' "$out/scepd.log" | head -n 1) workers (workers = $WORKERS); RSA-2048 CA/RA and request keys; AES-128, SHA-256"
echo "         scepserver CA mode, file depot (no fsync); its CertRep uses DES-CBC and SHA-1 whatever the request"
echo
row "metric" "scepd" "scepserver" | sed 's/| *-$/| ratio/'
echo "-----------------------------------------+-------------------+-------------------+-------"
for op in GetCACaps GetCACert; do
	row "$op req/s (32 conn)" "$(wrk_get scepd.$op rps)" "$(wrk_get scepserver.$op rps)"
	row "$op p50 ms" "$(wrk_get scepd.$op p50)" "$(wrk_get scepserver.$op p50)"
	row "$op p99 ms" "$(wrk_get scepd.$op p99)" "$(wrk_get scepserver.$op p99)"
	row "$op errors (non-2xx, socket)" "$(wrk_get scepd.$op err)" "$(wrk_get scepserver.$op err)" -
	row "$op server CPU % of its core" "$(cat "$out/scepd.$op.cpu")" "$(cat "$out/scepserver.$op.cpu")" -
done
for c in 8 32; do
	row "PKCSReq enrollments/s ($c clients)" "$(bget scepd.enroll$c rate)" "$(bget scepserver.enroll$c rate)"
	row "PKCSReq p50 ms ($c clients)" "$(bget scepd.enroll$c p50_ms)" "$(bget scepserver.enroll$c p50_ms)"
	row "PKCSReq p99 ms ($c clients)" "$(bget scepd.enroll$c p99_ms)" "$(bget scepserver.enroll$c p99_ms)"
	row "PKCSReq SUCCESS / sent ($c clients)" "$(bget scepd.enroll$c ok)/$(bget scepd.enroll$c sent)" \
	    "$(bget scepserver.enroll$c ok)/$(bget scepserver.enroll$c sent)"
	row "PKCSReq not SUCCESS ($c clients)" "$(errs scepd.enroll$c)" "$(errs scepserver.enroll$c)" -
	row "server CPU ms per enrollment ($c)" "$(cpu_ms scepd.enroll$c 1)" "$(cpu_ms scepserver.enroll$c 1)"
	row "PostgreSQL CPU ms per enrollment ($c)" "$(cpu_ms scepd.enroll$c 2)" "-"
done
# The signer's round trips beyond the key operation's own time (scepd
# logs both at stop): with the servers pinned to one core this is mostly
# waiting for the worker's other threads, not a cost in CPU, so it is
# shown as it is and not as a share of a PKCSReq.
if [ -n "$sep" ]; then
	set -- $sep
	row "signer operations (whole run)" "$1" "-" -
	row "signer round trip us, beyond the key's" "$(echo "$2 $3" | awk '{ printf "%.1f", $1 - $2 }')" "-" -
fi
per_s() { awk -v s="$(bget "$1" sent)" -v e="$(bget "$1" elapsed)" 'BEGIN { printf "%.1f\n", s / e }'; }
row "replay replies/s (32 clients)" "$(per_s scepd.replay)" "$(per_s scepserver.replay)"
row "replay p50 ms" "$(bget scepd.replay p50_ms)" "$(bget scepserver.replay p50_ms)"
row "replay p99 ms" "$(bget scepd.replay p99_ms)" "$(bget scepserver.replay p99_ms)"
row "server CPU ms per replay reply" "$(cpu_ms scepd.replay 1 sent)" "$(cpu_ms scepserver.replay 1 sent)"
row "replay answer" "SUCCESS $(bget scepd.replay ok)/$(bget scepd.replay sent)" \
    "FAILURE $(bget scepserver.replay failure)/$(bget scepserver.replay sent)"
row "peak RSS MiB (VmHWM)" "$(awk -v k="$SD_HWM" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$(awk -v k="$SS_HWM" 'BEGIN { printf "%.1f", k / 1024 }')"
echo
echo "ratio = scepd / scepserver.  Latency: first byte sent to last byte received, over every CertRep."
echo "Full check: $sample_ok of $sample_n sampled replies verified by sceptool post + openssl verify."
echo "Server logs: scepd $sd_warn warn/error lines; scepserver $ss_err error lines$(
	grep 'err=' "$out/scepserver.log" | grep -v 'err=null' | grep -v 'already exists' |
	    sed -n 's/.* err=\(.*\)/\1/p' | sort | uniq -c | sort -rn | head -n 2 |
	    awk '{ n = $1; $1 = ""; printf "%s%d x%s", (NR == 1 ? ", besides replay refusals: " : ";"), n, $0 }')."
echo
# sgetf OP FIELD: a figure of signerbench's line for OP.
sgetf() { sed -n "s/^$1 .*$2=\([0-9.]*\).*/\1/p" "$out/signer.bench"; }
echo "key custody: each key operation in scepd's process (as before the signer) and through the signer,"
echo "$NSIGN each, both processes on CPU 1 (wall time = their CPU); an enrollment does all three"
printf '  %-34s %12s %15s %10s\n' "operation" "in process" "through signer" "cost"
sep_us=0
for o in decrypt:"decrypt key block (RA)" sign-ca:"sign certificate (CA)" sign-ra:"sign CertRep (RA)"; do
	l=$(sgetf "${o%%:*}" local_us)
	r=$(sgetf "${o%%:*}" signer_us)
	printf '  %-34s %9s us %12s us %7s us\n' "${o#*:}" "$l" "$r" "$(awk -v l="$l" -v r="$r" 'BEGIN { printf "%+.1f", r - l }')"
	sep_us=$(awk -v s="$sep_us" -v l="$l" -v r="$r" 'BEGIN { printf "%.1f", s + r - l }')
done
awk -v s="$sep_us" -v c="$(cpu_ms scepd.enroll32 1)" 'BEGIN {
	printf "  per enrollment: %+.1f us, %.1f %% of scepd'"'"'s %s ms of CPU per enrollment (32 clients; target: under 5 %%)\n",
	    s, (c > 0 ? s / (c * 1000) * 100 : 0), c
}'
echo
echo "scepd alone, workers = 1: p50 / p99 / max ms and unanswered, one request at a time"
printf '  %-48s %-20s %-20s %s\n' "while" GetCACaps GetCACert "CRL (cached)"
for ph in idle validator database flood intune; do
	case $ph in
	idle) l="idle" ;;
	validator) l="$NSLOW enrollments wait on a 3 s validator" ;;
	database) l="2 enrollments, PostgreSQL held 2 s a statement" ;;
	flood) l="1,000 enrollments, PostgreSQL held 2 s a statement" ;;
	intune) l="$NSLOW Intune enrollments, 500 ms a call" ;;
	esac
	printf '  %-48s %-20s %-20s %s\n' "$l" "$(cat "$out/$ph.caps.lat")" \
	    "$(cat "$out/$ph.cacert.lat")" "$(cat "$out/$ph.crl.lat")"
done
echo "  wall time, 1 / $NSLOW concurrent enrollments on the 3 s validator: $(cut -d' ' -f1 "$out/hook1.wall") / $(cut -d' ' -f1 "$out/hookN.wall") ms (pki_threads = $(sed -n 's/.*pki_threads = \([0-9]*\).*/\1/p' "$out/wait.log" | head -n 1))"
echo "  wall time, 1 / $NSLOW concurrent Intune enrollments, every Intune call 500 ms: $(cut -d' ' -f1 "$out/intune1.wall") / $(cut -d' ' -f1 "$out/intuneN.wall") ms, not SUCCESS: $(cut -d' ' -f2 "$out/intuneN.wall")"
echo "  1,000 enrollments against PostgreSQL held 2 s a statement: RSS $flood_rss0 kB before, $flood_rss kB among them; once it answers again: $(sed -n 's/.*\(sent=[0-9]* ok=[0-9]*\).*\(http5xx=[0-9]*\).*/\1 \2/p' "$out/flood.bench")"
echo
echo "decryption failures (FAILURE badMessageCheck), 1 client, against a bad RSA block (Mann-Whitney U):"
python3 "$top/test/mann_whitney.py" "$out/uniform.lat" corrupt-rsa | sed 's/^/  /'
} | tee "$out/table.txt"
