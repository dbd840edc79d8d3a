#!/bin/sh
# Faults of the database under load (issue 10, item 6), each followed by
# the invariants of test/lib.sh (invariants: every certificate a client
# saved is in the database with its DER, no duplicate serial, no success
# without its certificate, no one-time challenge good twice or used up
# by nothing, no held request lost).  scepd has a PostgreSQL of its own
# here (a second cluster of scripts/pg.sh under $WORK, not the suite's),
# and 6 clients enroll with one-time challenges all along:
#
# 1. PostgreSQL dies (immediate shutdown) under load: the clients get 503
#    or FAILURE, never a SUCCESS without its record; started again, the
#    same scepd issues again within 5 s (its connections reset, db/conn.c).
# 2. PostgreSQL's disk fills (its data directory on a small tmpfs, the WAL
#    kept on disk so that the server itself survives): enrollments fail
#    with 503 or FAILURE, nothing is half-written, scepd stays up; the
#    space freed, issuing resumes within 5 s.
#
# A request held PENDING (manual approval) before the faults is issued
# after them.  A CertRep lost and retransmitted is undelivered.sh's.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
CTL=$BUILD/scepctl
PORT=18950
DB=it_faults
D=$WORK/ca
CONF=$D/scepd.conf
URL=http://127.0.0.1:$PORT/scep/dyn
LOG=$WORK/scepd-$PORT.log
PGSH=$(cd "$(dirname "$0")/../.." && pwd)/scripts/pg.sh
PG2=$WORK/pg2
CLIENTS="1 2 3 4 5 6"
CHALLENGES=20		# one-time challenges a client and scenario
TMPFS=""
cpids=""

cleanup() {
	for l in load1 load2; do mkdir -p "$WORK/$l" && touch "$WORK/$l/stop"; done
	for p in $cpids; do wait "$p"; done
	stop_scepd $PORT
	sh "$PGSH" stop "$PG2" 2>/dev/null
	[ -z "$TMPFS" ] || umount "$TMPFS"
}
trap cleanup EXIT

# The second cluster; the lock of scripts/test.sh's callers (fd 3, flock)
# must not go with it.
PGCONN=$(sh "$PGSH" start "$PG2" 3>&-) ||
    { echo "cannot start a second PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }
# pg.sh may have put it elsewhere (a folder its owner can reach).
PGDIR=$(echo "$PGCONN" | sed 's|^host=\(.*\)/sock .*|\1|')
start_pg() { sh "$PGSH" start "$PG2" 3>&- >/dev/null; }

setup() {
	setup_ca "$D" $DB ca "challenge_key = \"$(openssl rand -hex 32)\";
profiles = (
	{ name = \"dyn\"; challenge_mode = \"dynamic\"; challenge_ttl = 60; },
	{ name = \"manual\"; approval = \"manual\"; }
);" || return 1
	# The challenges of both scenarios, minted beforehand.
	for s in 1 2; do
		mkdir -p "$WORK/load$s"
		for i in $CLIENTS; do
			for _ in $(seq $CHALLENGES); do
				"$CTL" -c "$CONF" challenge create --profile dyn 2>/dev/null ||
				    return 1
			done >"$WORK/load$s/$i.chal"
			# shellcheck disable=SC2046 # one value a line, no spaces
			secret $(cat "$WORK/load$s/$i.chal")
		done
	done
}
check "a CA with one-time challenges on a PostgreSQL of its own" setup
check "start scepd" start_scepd "$CONF" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }
SCEPD=$(cat "$WORK/scepd-$PORT.pid")

more_than() { [ "$(certs)" -gt "$1" ]; }
# attempts DIR RC [HTTP]: how many of DIR's clients' attempts ended so.
attempts() { cat "$1"/*.log 2>/dev/null | awk -v rc="$2" -v h="${3:-}" \
    '$2 == rc && (h == "" || $4 == h) { n++ } END { print n + 0 }'; }
# clean DIR: no attempt of DIR has ended otherwise than with SUCCESS
# (before a fault: what refused counts next is the fault's).
clean() {
	c_n=$(cat "$1"/*.log | awk '$2 != 0' | wc -l)
	[ "$c_n" = 0 ] && return 0
	echo "$c_n attempts refused before the fault:"
	grep -h . "$1"/*.out | sort | uniq -c
	return 1
}
# refused DIR N: at least N attempts of DIR ended with 503 or FAILURE.
refused() { [ $(($(attempts "$1" 4 503) + $(attempts "$1" 2))) -ge "$2" ]; }

load_start() {
	rm -f "$WORK/$1/stop"
	cpids=""
	for i in $CLIENTS; do
		enroll_loop "$WORK/$1" $i "$URL" "$D/ca.pem" "@$WORK/$1/$i.chal" &
		cpids="$cpids $!"
	done
}
load_stop() {
	touch "$WORK/$1/stop"
	for p in $cpids; do wait "$p"; done
	cpids=""
}

# recovered WHAT: time from now (the fault just mended) to the first
# certificate issued after it; at most 5 s, and the same scepd.
recovered() {
	r_n=$(certs) || return 1
	r_t0=$(date +%s%N)
	wait_for 100 more_than "$r_n" || return 1
	r_ms=$((($(date +%s%N) - r_t0) / 1000000))
	echo "$1: issuing again after $r_ms ms" | tee -a "$WORK/notes"
	[ "$r_ms" -le 5000 ] && kill -0 "$SCEPD"
}

# settled_load DIR: after the load: every attempt a SUCCESS with its
# certificate saved, a FAILURE or a 503 (nothing else: no 500, no
# protocol violation, no connection refused), then the invariants.
settled_load() {
	ok=$(attempts "$1" 0) fl=$(attempts "$1" 2) n503=$(attempts "$1" 4 503)
	all=$(cat "$1"/*.log | wc -l)
	saved=$(find "$1" -name '*-*.pem' | wc -l)
	echo "$(basename "$1"): $all attempts, $ok SUCCESS, $fl FAILURE, $n503 HTTP 503" |
	    tee -a "$WORK/notes"
	[ "$all" = $((ok + fl + n503)) ] ||
	    { echo "other answers:"; cat "$1"/*.log | awk '$2 != 0 && $2 != 2 && $4 != 503'; return 1; }
	[ "$ok" = "$saved" ] || { echo "$ok SUCCESS, $saved certificates saved"; return 1; }
	invariants $DB "$1" dyn || return 1
	reserved_left $DB | tee -a "$WORK/notes" || return 1
	# Its own connection reset, the delivery watch marks them again
	# (one whose mark was in flight when the server died may stay
	# undelivered: the safe side).
	echo "$(basename "$1"): $(sql $DB "SELECT count(*) FROM scepd.certificates
	    WHERE subject LIKE 'CN=$(basename "$1")-%' AND delivered_at IS NULL") undelivered" |
	    tee -a "$WORK/notes"
}

# A request held for approval, to be issued after both faults.
K=$WORK/held.key
HELD=held-1
held() {
	rc=0
	$T enroll -u "http://127.0.0.1:$PORT/scep/manual" --ca "$D/ca.pem" -k "$K" \
	    --subject /CN=held --challenge interop-secret-1 --transid $HELD \
	    >"$WORK/held.out" 2>&1 || rc=$?
	cat "$WORK/held.out"
	[ $rc = 3 ]
}
check "a request held for approval before the faults (PENDING)" held

# --- 1. PostgreSQL dies under load, then starts again -----------------------

L=$WORK/load1
load_start load1
check "load: 6 clients issued 12 certificates" wait_for 300 more_than 11
check "load: nothing refused so far" clean "$L"
check "PostgreSQL killed (immediate shutdown)" sh "$PGSH" crash "$PG2"
check "PostgreSQL down: the clients get 503 or FAILURE" wait_for 100 refused "$L" 6
check "PostgreSQL down: scepd still answers GetCACaps" \
    sh -c "curl -fsS '$URL?operation=GetCACaps' | grep -qx AES"
check "PostgreSQL started again" start_pg
check "the same scepd issues again within 5 s" recovered "PostgreSQL restarted"
check "load: 12 more issued" wait_for 300 more_than $(($(certs) + 11))
load_stop load1
check "after the restart: only SUCCESS, FAILURE or 503; the invariants hold" \
    settled_load "$L"

# --- 2. PostgreSQL's disk full ----------------------------------------------

# The data directory on a tmpfs a little larger than it is, the WAL left
# on disk: a WAL that cannot grow makes PostgreSQL PANIC and stop, a
# table that cannot is one failed statement.
on_tmpfs() {
	sh "$PGSH" stop "$PG2" || return 1
	own=$(stat -c %u:%g "$PGDIR/data")
	mv "$PGDIR/data" "$PGDIR/data.disk" && mkdir -m 0700 "$PGDIR/data" || return 1
	mb=$(du -sm --exclude=pg_wal "$PGDIR/data.disk" | cut -f1)
	if ! mount -t tmpfs -o "size=$((mb + 8))m,mode=0700,uid=${own%:*},gid=${own#*:}" \
	    tmpfs "$PGDIR/data" 2>"$WORK/mount.err"; then
		rmdir "$PGDIR/data" && mv "$PGDIR/data.disk" "$PGDIR/data"
		start_pg
		return 2
	fi
	TMPFS=$PGDIR/data
	(cd "$PGDIR/data.disk" && tar -cf - --exclude=./pg_wal .) |
	    (cd "$PGDIR/data" && tar -xpf -) || return 1
	ln -s "$PGDIR/data.disk/pg_wal" "$PGDIR/data/pg_wal" &&
	    chown -h "$own" "$PGDIR/data/pg_wal" && start_pg &&
	    df -m "$PGDIR/data" | tail -n 1
}
rc=0
on_tmpfs >"$WORK/tmpfs.out" 2>&1 || rc=$?
if [ $rc = 2 ]; then
	echo "  SKIP  PostgreSQL's disk full: cannot mount a tmpfs here ($(cat "$WORK/mount.err"))"
else
	check "PostgreSQL's data directory on a tmpfs" sh -c "cat '$WORK/tmpfs.out'; [ $rc = 0 ]"
	L=$WORK/load2
	load_start load2
	check "load: issuing on the tmpfs" wait_for 300 more_than $(($(certs) + 5))
	check "load: nothing refused so far" clean "$L"
	fill() {
		dd if=/dev/zero of="$PGDIR/data/fill" bs=1M 2>&1 | tail -n 1
		df -m "$PGDIR/data" | tail -n 1
		[ "$(df --output=avail "$PGDIR/data" | tail -n 1)" -eq 0 ]
	}
	check "the disk filled (dd)" fill
	check "disk full: enrollments get 503 or FAILURE" wait_for 200 refused "$L" 6
	check "disk full: scepd still answers GetCACaps" \
	    sh -c "curl -fsS '$URL?operation=GetCACaps' | grep -qx AES && kill -0 $SCEPD"
	grep -c 'No space left on device' "$LOG" | sed 's/^/  (scepd logged "No space left on device" /; s/$/ times)/'
	check "space freed" rm "$PGDIR/data/fill"
	check "scepd issues again within 5 s" recovered "disk space freed"
	check "load: 6 more issued" wait_for 300 more_than $(($(certs) + 5))
	load_stop load2
	check "after the disk full: only SUCCESS, FAILURE or 503; the invariants hold" \
	    settled_load "$L"
fi

# --- The held request --------------------------------------------------------

issued() {
	"$CTL" -c "$CONF" pending list | grep -q "^$HELD " || return 1
	"$CTL" -c "$CONF" pending approve $HELD || return 1
	$T poll -u "http://127.0.0.1:$PORT/scep/manual" --ca "$D/ca.pem" -k "$K" \
	    --subject /CN=held --transid $HELD -o "$WORK/held.pem" || return 1
	mkdir -p "$WORK/held" && cp "$WORK/held.pem" "$WORK/held/" &&
	    invariants $DB "$WORK/held"
}
check "the request held before the faults: still listed, approved, issued" issued
[ -f "$WORK/notes" ] && sed 's/^/  (/; s/$/)/' "$WORK/notes"
check "scepd stops cleanly" stop_scepd $PORT
summary
