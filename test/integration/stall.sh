#!/bin/sh
# A database that stops answering does not stop the fast answers.  scepd
# with one worker reaches PostgreSQL through test/slow_pg_proxy.py, which
# holds every message while $WORK/pg-stall exists.  With it held, an
# enrollment waits (on a pool thread), and the one worker still answers
# GetCACaps, GetCACert and the CRL, which it serves from memory; once the
# database answers again the enrollment ends with its certificate and an
# OCSP request asked meanwhile gets its answer.  Then a flood against the
# held database: with pki_threads = 2 and limits.max_queued = 8, of 30
# enrollments at once all but those the pool and its queue hold get 503
# with Retry-After at once (nothing piles up), and those held end with
# their certificates once the database is back.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18790
PGPORT=18791		# test/slow_pg_proxy.py
DB=it_stall
D=$WORK/ca
URL=http://127.0.0.1:$PORT/scep
SWITCH=$WORK/pg-stall
PROXY=""
EPID="" OPID="" FPID=""
cleanup() {
	rm -f "$SWITCH"
	stop_scepd $PORT
	for p in $PROXY $EPID $OPID $FPID; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

command -v python3 >/dev/null || { echo "python3 missing"; echo "0 passed, 1 failed"; exit 1; }

sock=$(echo "$PGCONN" | sed -n 's/.*host=\([^ ]*\).*/\1/p')/.s.PGSQL.5432
user=$(echo "$PGCONN" | sed -n 's/.*user=\([^ ]*\).*/\1/p')
python3 "$(dirname "$0")/../slow_pg_proxy.py" --listen $PGPORT --socket "$sock" \
    --switch "$SWITCH" --delay 0 >"$WORK/proxy.log" 2>&1 &
PROXY=$!

through_proxy() {
	setup_ca "$D" $DB ca 'pki_threads = 2; limits = { max_queued = 8; };' &&
	    sed -i "s|^workers = 2;|workers = 1;|; s|^database = .*|database = \"host=127.0.0.1 port=$PGPORT dbname=$DB${user:+ user=$user} sslmode=disable\";|" \
	    "$D/scepd.conf" &&
	    grep -qx 'workers = 1;' "$D/scepd.conf" && grep -q "port=$PGPORT" "$D/scepd.conf"
}
check "set up a CA-mode scepd with one worker, its database through the proxy" through_proxy
check "start scepd" start_scepd "$D/scepd.conf" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }
check "the CRL is served (and so in memory)" settled sh -c "
	curl -fsS '$URL/crl/default.crl' | openssl crl -inform DER -CAfile '$D/ca.pem' -noout 2>&1 |
	    grep -qx 'verify OK'"
K=$WORK/stall.key
check "a first enrollment, the database answering" sh -c "
	'$T' enroll -u '$URL' --ca '$D/ca.pem' -k '$WORK/first.key' --subject '/O=scepd test/CN=first' \
	    --challenge interop-secret-1 --transid tid-first -o '$WORK/first.pem' >/dev/null &&
	openssl verify -CAfile '$D/ca.pem' '$WORK/first.pem'"

touch "$SWITCH"
"$T" enroll -u "$URL" --ca "$D/ca.pem" -k "$K" --subject "/O=scepd test/CN=stalled" \
    --challenge interop-secret-1 --transid tid-stalled -o "$WORK/stalled.pem" \
    >"$WORK/stalled.out" 2>&1 &
EPID=$!
openssl ocsp -issuer "$D/ca.pem" -cert "$WORK/first.pem" -CAfile "$D/ca.pem" \
    -url "http://127.0.0.1:$PORT/ocsp" >"$WORK/ocsp.out" 2>&1 &
OPID=$!

# The database holds everything from now on: an answer that needs it
# cannot come (curl gives up after 10 s), one from memory comes.
fast() {
	curl -fsS --max-time 10 "$URL?operation=GetCACaps" | grep -qx AES &&
	curl -fsS --max-time 10 -o "$WORK/cacert.der" "$URL?operation=GetCACert" &&
	    openssl x509 -inform DER -in "$WORK/cacert.der" -noout &&
	curl -fsS --max-time 10 "$URL/crl/default.crl" |
	    openssl crl -inform DER -CAfile "$D/ca.pem" -noout 2>&1 | grep -qx 'verify OK'
}
check "database held: GetCACaps, GetCACert and the CRL are answered" fast
waiting() {
	kill -0 "$EPID" 2>/dev/null || { echo "the enrollment ended"; cat "$WORK/stalled.out"; return 1; }
	kill -0 "$OPID" 2>/dev/null || { echo "the OCSP request ended"; cat "$WORK/ocsp.out"; return 1; }
	[ ! -s "$WORK/stalled.pem" ]
}
check "database held: the enrollment and the OCSP request still wait for it" waiting

rm -f "$SWITCH"
ended() {
	wait "$EPID" || { cat "$WORK/stalled.out"; return 1; }
	EPID=""
	verify_cert "$WORK/stalled.pem" "$D/ca.pem" "$K" "CN=stalled,O=scepd test"
}
check "database back: the enrollment ends with its certificate" ended
ocsp_ended() {
	wait "$OPID" || { cat "$WORK/ocsp.out"; return 1; }
	OPID=""
	grep -q "^$WORK/first.pem: good" "$WORK/ocsp.out"
}
check "database back: the OCSP request gets its answer (good)" ocsp_ended
check "scepd still answers" sh -c "curl -fsS '$URL?operation=GetCACaps' | grep -qx AES"

# The flood: 30 enrollments built beforehand, replayed at once.
flood_msgs() {
	mkdir -p "$WORK/flood"
	for i in $(seq 0 30); do
		"$T" enroll -u "$URL" --ca "$D/ca.pem" -k "$WORK/first.key" \
		    --subject "/O=scepd test/CN=flood-$i" --challenge interop-secret-1 \
		    --transid "tid-flood-$i" --no-send --save-request "$WORK/flood/$i.der" \
		    >/dev/null 2>&1 || return 1
	done
	for i in $(seq 1 30); do cat "$WORK/flood/$i.der"; done >"$WORK/flood.pool"
}
check "build 30 enrollments" flood_msgs
touch "$SWITCH"
"$BUILD/scepbench" -u "$URL" -c 30 -d 60 "$WORK/flood.pool" >"$WORK/flood.out" 2>&1 &
FPID=$!
LOG=$WORK/scepd-$PORT.log
check "database held, 30 enrollments at once: the queue fills, logged" \
    wait_for 100 grep -q '127.0.0.1: 8 requests wait for a pool thread already (limits.max_queued) -> 503' "$LOG"
# The pool's threads may have taken their jobs after the burst came, which
# leaves up to 2 places in the queue: a request that takes one waits (its
# client gives up after 2 s, the job keeps its place), so by the third try
# the queue is full.
retry_after() {
	for try in 1 2 3 4; do
		: >"$WORK/full.head"
		curl -sS --max-time 2 -D "$WORK/full.head" -o /dev/null \
		    -H 'Content-Type: application/x-pki-message' \
		    --data-binary "@$WORK/flood/0.der" "$URL?operation=PKIOperation" &&
		    break
		echo "try $try: queued, no answer within 2 s"
	done
	cat "$WORK/full.head"
	head -n 1 "$WORK/full.head" | grep -q ' 503 ' && grep -qi '^Retry-After: 10' "$WORK/full.head"
}
check "one more meanwhile: 503 with Retry-After at once" retry_after
check "and GetCACaps is answered" sh -c "curl -fsS --max-time 10 '$URL?operation=GetCACaps' | grep -qx AES"
rm -f "$SWITCH"
flooded() {
	wait "$FPID" || return 1
	cat "$WORK/flood.out"
	ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' "$WORK/flood.out")
	n503=$(sed -n 's/^status 503: //p' "$WORK/flood.out")
	# The pool's 2 threads and its 8 places took 10 at most.
	[ $((ok + ${n503:-0})) = 30 ] && [ "${n503:-0}" -ge 20 ] &&
	    [ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE transaction_id LIKE 'tid-flood-%' AND transaction_id <> 'tid-flood-0'")" = "$ok" ]
}
check "database back: those held are issued, the rest were 503, one certificate each" flooded
check "scepd stops cleanly" stop_scepd $PORT
summary
