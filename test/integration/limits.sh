#!/bin/sh
# Connection caps: one worker with limits.max_connections = 4 and
# limits.max_connections_per_address = 3.  Keep-alive connections from
# 127.0.0.1, .2 and .3 (all loopback) each send a GetCACaps and stay open;
# the one over a cap gets HTTP 503 with Retry-After and Connection: close
# and a log line naming the cap; once a counted connection closes, a new
# one is served again; scepd keeps answering throughout.  Then
# limits.failed_challenges_per_minute = 3: the 4th wrong challenge from
# 127.0.0.2 in a minute, and any PKCSReq from there after it, is refused
# unchecked; 127.0.0.1 is served all the while.
. "$(dirname "$0")/../lib.sh"

PORT=18780
DB=it_limits
D=$WORK/ca
LOG=$WORK/scepd-$PORT.log
trap 'stop_scepd $PORT; [ -z "${HOLD:-}" ] || kill "$HOLD" 2>/dev/null' EXIT

one_worker() {
	setup_ca "$D" $DB ca 'limits = { max_connections = 4; max_connections_per_address = 3;
	    failed_challenges_per_minute = 3; };' &&
	    sed -i 's/^workers = 2;/workers = 1;/' "$D/scepd.conf" &&
	    grep -qx 'workers = 1;' "$D/scepd.conf"
}
check "set up a CA-mode scepd with one worker and small connection caps" one_worker
check "start scepd" start_scepd "$D/scepd.conf" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }

# hold: a python3 process that opens keep-alive connections on request
# (commands on a FIFO: "open SRC", "close N", "quit"), sends one
# GetCACaps on each and writes "N STATUS RETRY-AFTER CONNECTION" to
# $WORK/hold.out for every answer.
FIFO=$WORK/hold.fifo
rm -f "$FIFO" "$WORK/hold.out"
mkfifo "$FIFO"
python3 - "$PORT" "$FIFO" "$WORK/hold.out" <<'PY' &
import socket, sys
port, fifo, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = []
req = (b"GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       b"Connection: keep-alive\r\n\r\n")

def answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdr = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(hdr.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], hdr.get("retry-after", "-"), hdr.get("connection", "-"), body

with open(out, "a", buffering=1) as o:
    for line in open(fifo):
        cmd = line.split()
        if cmd[0] == "open":
            s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                         source_address=(cmd[1], 0))
            s.sendall(req)
            st, ra, conn, body = answer(s)
            conns.append(s)
            first = body.decode("latin-1").split("\n")[0].strip()
            o.write("%d %s %s %s %s\n" % (len(conns), st, ra, conn,
                    first.replace(" ", "_")))
        elif cmd[0] == "close":
            conns[int(cmd[1]) - 1].close()
            o.write("closed %s\n" % cmd[1])
        elif cmd[0] == "quit":
            break
PY
HOLD=$!
exec 9>"$FIFO"

# say CMD: send one command; wait (bounded) for its line of output.
say() {
	before=$(wc -l <"$WORK/hold.out" 2>/dev/null || echo 0)
	echo "$1" >&9
	i=0
	while [ $i -lt 100 ]; do
		now=$(wc -l <"$WORK/hold.out" 2>/dev/null || echo 0)
		[ "$now" -gt "$before" ] && { tail -n 1 "$WORK/hold.out"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	echo "no answer to \"$1\""
	return 1
}
# expect CMD WANT: the answer line to CMD is WANT.
expect() {
	got=$(say "$1") || { echo "$got"; return 1; }
	[ "$got" = "$2" ] || { echo "\"$1\": got \"$got\", want \"$2\""; return 1; }
}

caps=$(curl -fsS "http://127.0.0.1:$PORT/scep?operation=GetCACaps" | head -n 1 | tr -d '\r')
check "connection 1 from 127.0.0.1 is served" expect "open 127.0.0.1" "1 200 - - $caps"
check "connection 2 from 127.0.0.1 is served" expect "open 127.0.0.1" "2 200 - - $caps"
check "connection 3 from 127.0.0.1 is served" expect "open 127.0.0.1" "3 200 - - $caps"
check "a 4th from 127.0.0.1: 503, Retry-After, closed (per-address cap)" \
    expect "open 127.0.0.1" "4 503 10 close too_many_connections,_retry_later"
check "logged with the cap's name" grep -q \
    "127.0.0.1:[0-9]*: connection over limits.max_connections_per_address -> 503" "$LOG"
check "connection 5 from 127.0.0.2 is served (4 open in all)" expect "open 127.0.0.2" "5 200 - - $caps"
check "connection 6 from 127.0.0.3: 503 (worker cap)" \
    expect "open 127.0.0.3" "6 503 10 close too_many_connections,_retry_later"
check "logged with the cap's name" grep -q \
    "127.0.0.3:[0-9]*: connection over limits.max_connections -> 503" "$LOG"
check "close connection 1" expect "close 1" "closed 1"
# scepd sees the close when it reads the socket: poll until a slot is free.
again() {
	j=0
	while [ $j -lt 50 ]; do
		got=$(say "open 127.0.0.3") || return 1
		case $got in *" 200 - - $caps") return 0 ;; esac
		sleep 0.1
		j=$((j + 1))
	done
	echo "still refused: $got"
	return 1
}
check "after the close, 127.0.0.3 is served" again
echo quit >&9
exec 9>&-
wait "$HOLD"
HOLD=
# Every connection closed: scepd serves again once it has seen the closes.
check "all closed: scepd answers again" \
    wait_for 50 curl -fsS -o /dev/null "http://127.0.0.1:$PORT/scep?operation=GetCACaps"
# enroll_from SRC CN CHALLENGE: sceptool's PKCSReq from SRC; its output
# in $WORK/CN.out, its exit status in rc.
URL=http://127.0.0.1:$PORT/scep
"$BUILD/sceptool" getca -u "$URL" -o "$WORK/ca.pem" >/dev/null
enroll_from() {
	rc=0
	"$BUILD/sceptool" enroll -u "$URL" --source "$1" --ca "$WORK/ca.pem" \
	    -k "$WORK/$2.key" --subject "/O=scepd test/CN=$2" --challenge "$3" \
	    --transid "tid-$2" -o "$WORK/$2.pem" >"$WORK/$2.out" 2>&1 || rc=$?
	cat "$WORK/$2.out"
}
tx_state() { sql $DB "SELECT string_agg(state, ',') FROM scepd.transactions WHERE transaction_id = 'tid-$1'"; }
guess() {
	enroll_from 127.0.0.2 "guess-$1" wrong-guess-$1
	[ $rc = 2 ] && grep -q 'failInfo=badRequest' "$WORK/guess-$1.out" &&
	    [ "$(tx_state "guess-$1")" = failure ]
}
for n in 1 2 3; do
	check "wrong challenge $n from 127.0.0.2: FAILURE badRequest, recorded" guess $n
done
unchecked() {
	enroll_from 127.0.0.2 "$1" "$2"
	[ $rc = 2 ] && grep -q 'failInfo=badRequest' "$WORK/$1.out" || return 1
	[ -z "$(tx_state "$1")" ] || { echo "recorded: $(tx_state "$1")"; return 1; }
	grep -q "127.0.0.2: over limits.failed_challenges_per_minute (3): PKCSReq refused unchecked -> FAILURE badRequest" "$LOG"
}
check "the 4th: FAILURE badRequest unchecked, nothing recorded, logged" unchecked guess-4 wrong-guess-4
check "then the right challenge from 127.0.0.2: refused unchecked too" unchecked right-2 interop-secret-1
served() {
	enroll_from 127.0.0.1 right-1 interop-secret-1
	[ $rc = 0 ] && verify_cert "$WORK/right-1.pem" "$D/ca.pem" "$WORK/right-1.key" "CN=right-1,O=scepd test"
}
check "127.0.0.1 meanwhile: issued" served
once() { [ "$(grep -c '127.0.0.2: over limits.failed_challenges_per_minute' "$LOG")" = 1 ]; }
check "the limit's refusals are logged once a minute, not once each" once
check "scepd exits cleanly on SIGTERM" stop_scepd $PORT
summary
