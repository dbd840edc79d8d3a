#!/bin/sh
# Slow and stuck clients (test/slow_client.py): a request must arrive whole
# within limits.request_deadline (3 s here) of the accept or of its first
# byte, however it trickles; idle time on a kept-alive connection is not
# counted; 500 slowloris connections leave enrollments from another
# address served; with its descriptors used up scepd pauses accepting
# instead of spinning, and serves again once they are free; a short
# descriptor limit at start lowers limits.max_connections.
. "$(dirname "$0")/../lib.sh"

PORT=18920
PORT2=18921
DB=it_slowloris
D=$WORK/ca
LOG=$WORK/scepd-$PORT.log
URL=http://127.0.0.1:$PORT/scep
SLOW="python3 $(dirname "$0")/../slow_client.py"
STOP=$WORK/stop
CROWD=
HOLD=
trap 'touch "$STOP"; stop_scepd $PORT; stop_scepd $PORT2; for p in $CROWD $HOLD; do kill $p 2>/dev/null; done' EXIT

check "set up a CA-mode scepd with limits.request_deadline = 3" \
    setup_ca "$D" $DB ca 'limits = { request_deadline = 3; };'
check "start scepd" start_scepd "$D/scepd.conf" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }
# The worker: the process that holds the connections (server/signer/).
PID=$(scepd_child "$(cat "$WORK/scepd-$PORT.pid")" scepd-worker)

# cut_out FILE: FILE says the connection was cut before the request was whole.
cut_out() { grep -q '^cut after [0-9]* of ' "$1" && ! grep -q complete "$1"; }

slow_header() {
	$SLOW dribble $PORT header 0.5 20 >"$WORK/header.out" || return 1
	cat "$WORK/header.out"
	cut_out "$WORK/header.out" &&
	    grep -q '127.0.0.1: request not complete within 3 s (limits.request_deadline): connection closed' "$LOG"
}
check "request line and headers, one byte every 0.5 s: cut, logged" slow_header
slow_body() {
	$SLOW dribble $PORT body 0.5 20 >"$WORK/body.out" || return 1
	cat "$WORK/body.out"
	cut_out "$WORK/body.out"
}
check "a POST body, one byte every 0.5 s: cut" slow_body
idle_ok() {
	out=$($SLOW idle $PORT 4) || return 1
	echo "$out"
	[ "$out" = "200 200" ]
}
check "a kept-alive connection idle 4 s, then a whole request: answered" idle_ok
check "scepd still answers" curl -fsS -o /dev/null "$URL?operation=GetCACaps"

# 200 enrollments, built beforehand, replayed by scepbench from 127.0.0.1.
build_msgs() {
	"$BUILD/sceptool" getca -u "$URL" -o "$WORK/recipient.pem" >/dev/null || return 1
	for k in 1 2 3 4; do
		openssl genrsa -out "$WORK/k$k.pem" 2048 2>/dev/null || return 1
	done
	mkdir -p "$WORK/msg"
	for i in $(seq 1 200); do
		"$BUILD/sceptool" enroll -u "$URL" --ca "$WORK/recipient.pem" \
		    -k "$WORK/k$((i % 4 + 1)).pem" --subject "/O=scepd test/CN=legit-$i" \
		    --challenge interop-secret-1 --transid "legit-$i" \
		    --no-send --save-request "$WORK/msg/$i.der" >/dev/null 2>&1 || return 1
	done
	for i in $(seq 1 200); do cat "$WORK/msg/$i.der"; done >"$WORK/pool"
}
check "build 200 PKCSReq messages" build_msgs

rss_kb() { awk '/^VmRSS:/ { print $2 }' /proc/$PID/status; }
RSS0=$(rss_kb)
# 500 slowloris connections from 127.0.0.2 and 127.0.0.3, opening again
# whenever scepd cuts one.
rm -f "$STOP"
$SLOW crowd $PORT 500 127.0.0.2,127.0.0.3 "$WORK/crowd.status" "$STOP" >"$WORK/crowd.out" 2>&1 &
CROWD=$!
crowd_open() { grep -Eq 'open=(4[5-9][0-9]|500) ' "$WORK/crowd.status"; }
check "500 slowloris connections open" wait_for 300 crowd_open
legit() {
	"$BUILD/scepbench" -u "$URL" -c 4 -d 120 "$WORK/pool" >"$WORK/legit.out" || return 1
	cat "$WORK/legit.out" "$WORK/crowd.status" | tee -a "$WORK/figures"
	ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' "$WORK/legit.out" | head -n 1)
	[ "${ok:-0}" -ge 198 ]
}
check "200 enrollments among them: at least 99 % issued" legit
cuts() { grep -Eq 'cuts=[1-9]' "$WORK/crowd.status"; }
check "the slowloris connections are being cut" wait_for 100 cuts
rss() {
	kb=$(rss_kb)
	echo "VmRSS $RSS0 kB before the crowd, $kb kB among it" | tee -a "$WORK/figures"
	[ $((kb - RSS0)) -lt 65536 ]
}
# Not under ASan: its quarantine keeps freed memory resident.
case $BUILD in
*/san) ;;
*) check "scepd's memory stays bounded (RSS grows by less than 64 MiB)" rss ;;
esac
collapsed() {
	n=$(grep -c '127.0.0.2: request not complete within' "$LOG")
	echo "$n lines for 127.0.0.2; $(cat "$WORK/crowd.status")" | tee -a "$WORK/figures"
	[ "$n" -le 2 ]
}
check "their cuts are logged once a minute per address, not once each" collapsed
touch "$STOP"
wait $CROWD
CROWD=
check "scepd still answers" curl -fsS -o /dev/null "$URL?operation=GetCACaps"

# Out of descriptors: lower scepd's soft limit under it, hold connections.
ticks() { awk '{ print $14 + $15 }' /proc/$PID/stat; }
hard=$(prlimit --pid $PID --nofile --noheadings --output HARD)
soft=$(prlimit --pid $PID --nofile --noheadings --output SOFT)
no_spin() {
	prlimit --pid $PID --nofile=64:$hard || return 1
	rm -f "$STOP"
	$SLOW hold $PORT 150 "$STOP" >"$WORK/hold.out" 2>&1 &
	HOLD=$!
	wait_for 100 grep -q . "$WORK/hold.out" || return 1
	wait_for 50 grep -q 'accept: Too many open files: not accepting' "$LOG" || return 1
	t0=$(ticks)
	# An observation window: a spinning loop would burn it whole.
	sleep 2
	t1=$(ticks)
	echo "CPU ticks in 2 s with descriptors used up: $((t1 - t0)) ($(getconf CLK_TCK) a second)" |
	    tee -a "$WORK/figures"
	[ $((t1 - t0)) -lt 50 ]
}
check "descriptors used up: accepting pauses (no busy loop), logged" no_spin
once() {
	n=$(grep -c 'accept: Too many open files' "$LOG")
	echo "$n lines"
	[ "$n" -le 2 ]
}
check "that is logged once, not once per try" once
touch "$STOP"
[ -z "$HOLD" ] || wait $HOLD
HOLD=
prlimit --pid $PID --nofile=$soft:$hard
check "descriptors free again: scepd answers" \
    wait_for 100 curl -fsS -o /dev/null "$URL?operation=GetCACaps"
check "scepd exits cleanly on SIGTERM" stop_scepd $PORT

# A short descriptor limit at start: the caps fit under it.
short() {
	sed 's/^workers = 2;/workers = 2; pki_threads = 4;/' "$D/scepd.conf" >"$D/short.conf"
	(ulimit -n 200 && start_scepd "$D/short.conf" $PORT2) || return 1
	grep -q 'limits.max_connections = 1024 on 2 workers needs [0-9]* descriptors, the limit is 200 (ulimit -n, LimitNOFILE): [0-9]* per worker instead' \
	    "$WORK/scepd-$PORT2.log" || { tail -n 5 "$WORK/scepd-$PORT2.log"; return 1; }
}
check "ulimit -n 200 at start: limits.max_connections lowered, said so" short
check "that scepd serves" curl -fsS -o /dev/null "http://127.0.0.1:$PORT2/scep?operation=GetCACaps"
check "and exits cleanly on SIGTERM" stop_scepd $PORT2
summary
