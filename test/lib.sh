# Shared by the integration test scripts (sourced, POSIX sh).
#
# Each script gets $BUILD (build dir with scepd, scepctl, sceptool), $PGCONN
# (conninfo of the private PostgreSQL's maintenance database) and $WORK (a
# scratch folder of its own).  check NAME CMD... records one result; the
# summary line at the end is what scripts/test.sh adds up.

passed=0
failed=0
failures=""

# check NAME CMD...: run CMD, record pass or fail under NAME.
check() {
	name=$1
	shift
	if "$@" >"$WORK/last.out" 2>&1; then
		passed=$((passed + 1))
		echo "  ok    $name"
	else
		failed=$((failed + 1))
		failures="$failures
  $name"
		echo "  FAIL  $name"
		sed 's/^/        | /' "$WORK/last.out" | tail -n 25
	fi
}

# summary: print the totals in the form scripts/test.sh reads.
summary() {
	[ -n "$failures" ] && printf 'failed:%s\n' "$failures"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# fails_with STATUS TEXT CMD...: CMD exits with STATUS and its output
# (stdout and stderr) contains TEXT: a refusal that is the right one, not
# any failure.
fails_with() {
	fw_want=$1
	fw_text=$2
	shift 2
	fw_rc=0
	"$@" >"$WORK/fails_with.out" 2>&1 || fw_rc=$?
	cat "$WORK/fails_with.out"
	[ "$fw_rc" = "$fw_want" ] || { echo "exit $fw_rc, want $fw_want"; return 1; }
	grep -qF -- "$fw_text" "$WORK/fails_with.out" || { echo "no \"$fw_text\""; return 1; }
}

# wait_for N CMD...: run CMD (quietly) every 0.1 s until it succeeds, at
# most N times; fails if it never does.
wait_for() {
	wf_n=$1
	shift
	wf_i=0
	while [ $wf_i -lt "$wf_n" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		wf_i=$((wf_i + 1))
	done
	echo "not within $((wf_n / 10)) s: $*"
	return 1
}

# settled CMD...: CMD succeeds within 3 s (wait_for), or fails with the
# output of a last try.  For a CRL after a change made through another
# process (scepctl, a second scepd): the CRL a scepd serves from memory
# follows it within a second (docs/revocation.md).
settled() {
	wait_for 30 "$@" && return 0
	"$@"
	return 1
}

# psql against database $1 (a name on the private cluster).
sql() {
	db=$1
	shift
	psql -X -qAt -v ON_ERROR_STOP=1 "$(echo "$PGCONN" | sed "s/dbname=[^ ]*/dbname=$db/")" -c "$*"
}

# fresh_db NAME: an empty database with the schema applied by scepctl.
fresh_db() {
	sql scepd "DROP DATABASE IF EXISTS $1" >/dev/null
	sql scepd "CREATE DATABASE $1" >/dev/null
}

# conninfo NAME: the conninfo of database NAME.
conninfo() {
	echo "$PGCONN" | sed "s/dbname=[^ ]*/dbname=$1/"
}

# secret VALUE...: values this script handed scepd (challenges, one-time
# challenges, API tokens, webhook and Intune secrets) that scepd must never
# log.  Appended to $WORK/secrets; scripts/logcheck.sh greps every scepd
# log (scepd-PORT.log, as start_scepd names them) for them after the run.
secret() {
	for sv in "$@"; do
		[ -n "$sv" ] && printf '%s\n' "$sv" >>"$WORK/secrets"
	done
	return 0
}

# start_scepd CONF PORT: run scepd in the background, wait until it answers.
# The challenges, challenge_key and webhook secrets the file holds are
# declared secret.
start_scepd() {
	# shellcheck disable=SC2046 # one value a line, none with spaces here
	secret $(grep -o '\(challenge\|challenge_key\|secret\)[[:space:]]*=[[:space:]]*"[^"]*"' "$1" |
	    sed 's/^[^"]*"//; s/"$//')
	"$BUILD/scepd" -d -c "$1" -p "$2" >>"$WORK/scepd-$2.log" 2>&1 &
	echo $! >"$WORK/scepd-$2.pid"
	i=0
	while [ $i -lt 100 ]; do
		if curl -fsS -o /dev/null "http://127.0.0.1:$2/scep?operation=GetCACaps" 2>/dev/null; then
			return 0
		fi
		kill -0 "$(cat "$WORK/scepd-$2.pid")" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "scepd on port $2 did not start:" >&2
	tail -n 20 "$WORK/scepd-$2.log" >&2
	return 1
}

# scepd_child PID NAME: the PID of scepd PID's child process NAME
# (scepd-worker or scepd-signer, server/signer/signer.h), if any.
scepd_child() {
	for sc_p in /proc/[0-9]*; do
		[ "$(awk '{print $4}' "$sc_p/stat" 2>/dev/null)" = "$1" ] &&
		    [ "$(cat "$sc_p/comm" 2>/dev/null)" = "$2" ] && echo "${sc_p#/proc/}"
	done
	return 0
}

# kill9_scepd PORT: SIGKILL the scepd on PORT and wait until its worker
# and signer, which die with it, are gone too (the port is free again).
kill9_scepd() {
	k9_pid=$(cat "$WORK/scepd-$1.pid")
	k9_kids="$(scepd_child "$k9_pid" scepd-worker) $(scepd_child "$k9_pid" scepd-signer)"
	kill -KILL "$k9_pid"
	wait "$k9_pid" 2>/dev/null
	rm -f "$WORK/scepd-$1.pid"
	for k9_k in $k9_kids; do
		wait_for 100 gone "$k9_k" || return 1
	done
}

# gone PID: no thread of process PID is left but zombies, which hold
# nothing (a killed process's first thread is a zombie while the others,
# which share its descriptors, are still on their way out).
gone() {
	for gn_t in /proc/"$1"/task/*/stat; do
		[ -e "$gn_t" ] || continue
		awk '{ exit $3 != "Z" }' "$gn_t" 2>/dev/null || return 1
	done
	return 0
}

# stop_scepd PORT: SIGTERM, wait; fails if scepd did not exit cleanly,
# or had died before it was asked to stop.  Stopping twice is harmless
# (the second call finds no PID file).
stop_scepd() {
	[ -f "$WORK/scepd-$1.pid" ] || return 0
	pid=$(cat "$WORK/scepd-$1.pid")
	rm -f "$WORK/scepd-$1.pid"
	if ! kill -TERM "$pid" 2>/dev/null; then
		echo "scepd on port $1 (pid $pid) had exited before it was stopped:"
		tail -n 5 "$WORK/scepd-$1.log"
		return 1
	fi
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "scepd on port $1 (pid $pid) still runs 10 s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null
		return 1
	fi
	# 127: not this shell's child (started elsewhere): no status to read.
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	[ $rc = 0 ] || [ $rc = 127 ] ||
	    { echo "scepd on port $1 exited with status $rc"; tail -n 5 "$WORK/scepd-$1.log"; return 1; }
}

# verify_cert CERT CA KEY SUBJECT: openssl verify against the CA, the
# certificate's public key is KEY's, its subject is SUBJECT (openssl's
# -nameopt RFC2253 form).
verify_cert() {
	openssl verify -CAfile "$2" "$1" || return 1
	a=$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
	b=$(openssl pkey -in "$3" -pubout -outform DER | sha256sum)
	[ "$a" = "$b" ] || { echo "public key differs from the requested key"; return 1; }
	s=$(openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
	[ "$s" = "$4" ] || { echo "subject \"$s\" != \"$4\""; return 1; }
}

# setup_ca DIR DB MODE [EXTRA]: DIR/scepd.conf for database DB and a new
# CA (MODE ca) or CA and RA (MODE ra) made by scepctl ca init; EXTRA is
# appended to the configuration verbatim.
setup_ca() {
	mkdir -p "$1"
	if [ "$3" = ra ]; then
		ra='ra_cert = "ra.pem"; ra_key = "ra.key";'
		nora=''
	else
		ra=''
		nora='--no-ra'
	fi
	cat >"$1/scepd.conf" <<CONF
listen = "127.0.0.1";
workers = 2;
database = "$(conninfo "$2")";
ca = { cert = "ca.pem"; key = "ca.key"; $ra };
challenge = "interop-secret-1";
validity_days = 30;
${4:-}
CONF
	fresh_db "$2"
	"$BUILD/scepctl" -c "$1/scepd.conf" db migrate >/dev/null &&
	"$BUILD/scepctl" -c "$1/scepd.conf" ca init --bits 2048 \
	    --subject "/O=scepd test/CN=Test CA $3" \
	    --ra-subject "/O=scepd test/CN=Test RA" $nora >/dev/null
}

# --- certmonger, shared by interop.sh and approval.sh ------------------------

# cm_setup DIR: certmonger's state under DIR (CM), nothing in the system's.
cm_setup() {
	CM=$1
	drs_pid=""
	rm -rf "$CM"
	mkdir -p "$CM/config" "$CM/requests" "$CM/cas" "$CM/local" "$CM/tmp"
	CERTMONGER_CONFIG_DIR=$CM/config
	CERTMONGER_REQUESTS_DIR=$CM/requests
	CERTMONGER_CAS_DIR=$CM/cas
	CERTMONGER_LOCAL_CA_DIR=$CM/local
	CERTMONGER_TMPDIR=$CM/tmp
	CERTMONGER_SYSTEM_LOCK_FILE=$CM/lock
	export CERTMONGER_CONFIG_DIR CERTMONGER_REQUESTS_DIR CERTMONGER_CAS_DIR \
	    CERTMONGER_LOCAL_CA_DIR CERTMONGER_TMPDIR CERTMONGER_SYSTEM_LOCK_FILE
}

# cm_start: a private session bus with certmonger (foreground, debug log)
# on it; the bus address is written where getcert can read it.
cm_start() {
	rm -f "$CM/bus.addr" "$CM/certmonger.pid"
	# shellcheck disable=SC2016 # expanded by the inner sh
	dbus-run-session -- sh -c 'echo "$DBUS_SESSION_BUS_ADDRESS" >"$1/bus.addr.tmp" &&
	    mv "$1/bus.addr.tmp" "$1/bus.addr" &&
	    exec certmonger -s -n -d 2 -p "$1/certmonger.pid"' sh "$CM" \
	    >"$CM/certmonger.log" 2>&1 </dev/null &
	drs_pid=$!
	j=0
	while [ $j -lt 150 ]; do
		if [ -s "$CM/bus.addr" ] && [ -s "$CM/certmonger.pid" ]; then
			DBUS_SESSION_BUS_ADDRESS=$(cat "$CM/bus.addr")
			export DBUS_SESSION_BUS_ADDRESS
			timeout 5 getcert list-cas -s >/dev/null 2>&1 && return 0
		fi
		kill -0 "$drs_pid" 2>/dev/null || break
		sleep 0.1
		j=$((j + 1))
	done
	echo "certmonger did not come up"
	tail -n 20 "$CM/certmonger.log"
	return 1
}

# cm_status ID: the status certmonger shows for request ID.
cm_status() {
	timeout 20 getcert list -s -i "$1" | sed -n 's/^[[:space:]]*status: //p'
}

# cm_wait ID: wait (at most 60 s) until request ID settles: MONITORING,
# CA_REJECTED, CA_UNREACHABLE or NEED_GUIDANCE; prints the last status.
cm_wait() {
	j=0
	while [ $j -lt 600 ]; do
		st=$(cm_status "$1")
		case $st in MONITORING|CA_REJECTED|CA_UNREACHABLE|NEED_GUIDANCE) break ;; esac
		sleep 0.1
		j=$((j + 1))
	done
	echo "$st"
}

# cm_add_ca NAME URL: a SCEP CA for certmonger; returns once certmonger
# has fetched its CA certificates (at most 10 s).
cm_add_ca() {
	timeout 30 getcert add-scep-ca -s -c "$1" -u "$2" || return 1
	j=0
	while [ $j -lt 100 ]; do
		timeout 10 getcert list-cas -s -c "$1" 2>&1 |
		    grep -q 'SCEP CA certificate thumbprint' && return 0
		sleep 0.1
		j=$((j + 1))
	done
	echo "certmonger did not fetch the CA certificates of $2"
	return 1
}

# cm_stop: certmonger, then its bus; only the processes cm_start started.
cm_stop() {
	[ -n "${drs_pid:-}" ] || return 0
	if [ -s "$CM/certmonger.pid" ]; then
		kill -TERM "$(cat "$CM/certmonger.pid")" 2>/dev/null
	fi
	# dbus-run-session ends (and stops its dbus-daemon) when certmonger does.
	j=0
	while kill -0 "$drs_pid" 2>/dev/null && [ $j -lt 100 ]; do
		sleep 0.1
		j=$((j + 1))
	done
	if kill -0 "$drs_pid" 2>/dev/null; then
		for c in $(pgrep -P "$drs_pid" 2>/dev/null); do
			kill -TERM "$c" 2>/dev/null
		done
		kill -TERM "$drs_pid" 2>/dev/null
	fi
	wait "$drs_pid" 2>/dev/null
	drs_pid=""
}

# --- enrollments with sceptool ($T) on $URL/PROFILE, CA $DIR/ca.pem (its
# copy from GetCACert in $WORK/ca.pem), challenge $CHAL, database $DB,
# scepd's log $LOG: shared by webhook.sh and intune.sh -------------------

certs() { sql $DB "SELECT count(*) FROM scepd.certificates $1"; }
key() { echo "$WORK/k$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n').pem"; }
# ok PROFILE CN TID [sceptool options]: SUCCESS, verified, one row.
ok() {
	prof=$1 cn=$2 tid=$3
	shift 3
	k=$WORK/$cn.key
	$T enroll -u "$URL/$prof" --ca "$WORK/ca.pem" -k "$k" \
	    --subject "/O=scepd test/CN=$cn" --challenge $CHAL --transid "$tid" \
	    -o "$WORK/$cn.pem" "$@" || return 1
	verify_cert "$WORK/$cn.pem" "$DIR/ca.pem" "$k" "CN=$cn,O=scepd test" || return 1
	[ "$(certs "WHERE subject = 'CN=$cn,O=scepd test'")" = 1 ]
}
# not_issued WANT PROFILE CN TID [sceptool options]: an enrollment that
# must end with sceptool exit WANT (2 FAILURE, 4 HTTP error) and no
# certificate row; its output is in $WORK/CN.out.
not_issued() {
	want=$1 prof=$2 cn=$3 tid=$4
	shift 4
	rc=0
	$T enroll -u "$URL/$prof" --ca "$WORK/ca.pem" -k "$(key)" \
	    --subject "/O=scepd test/CN=$cn" --challenge $CHAL --transid "$tid" \
	    "$@" >"$WORK/$cn.out" 2>&1 || rc=$?
	cat "$WORK/$cn.out"
	[ $rc = "$want" ] || { echo "exit $rc, want $want"; return 1; }
	[ "$(certs "WHERE subject LIKE 'CN=$cn,%'")" = 0 ] ||
	    { echo "a certificate row exists"; return 1; }
}
# refused PROFILE CN TID [sceptool options]: FAILURE badRequest, no row.
refused() {
	not_issued 2 "$@" || return 1
	grep -q "failInfo=badRequest" "$WORK/$2.out"
}
# unavailable PROFILE CN TID [sceptool options]: HTTP 503, no certificate,
# nothing recorded for TID, logged as a 503, and scepd still answers.
unavailable() {
	not_issued 4 "$@" || return 1
	grep -q '^HTTP 503 ' "$WORK/$2.out" || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.transactions WHERE transaction_id = '$3'")" = 0 ] ||
	    { echo "a transaction was recorded"; return 1; }
	grep -F "$3" "$LOG" | grep -q -- '-> 503$' || { echo "no 503 logged"; return 1; }
	curl -fsS -o /dev/null "$URL?operation=GetCACaps" || { echo "scepd no longer answers"; return 1; }
}

# --- load under faults and what must hold after them: shared by
# undelivered.sh and faults.sh -------------------------------------------

# enroll_loop DIR I URL CA CHALLENGE: client I enrolls with sceptool again
# and again, as CN=NAME-I-N with transactionID NAME-I-N (NAME the last
# part of DIR: clients of one DIR never reuse another's transactionID),
# until DIR/stop exists.  CHALLENGE is the challenge, or @FILE for one-time challenges,
# one a line, taken in turn: the next after a SUCCESS or a FAILURE, the
# same again after an HTTP error (the client was asked to retry); the
# client stops when they are used up.  Each attempt is a line "TID EXIT
# [HTTP STATUS]" in DIR/I.log, each certificate received DIR/I-N.pem.
enroll_loop() {
	el_dir=$1 el_i=$2 el_url=$3 el_ca=$4 el_chal=$5
	el_n=0 el_c=1 el_p=$(basename "$1")
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$el_dir/$el_i.key" 2>/dev/null
	while [ ! -f "$el_dir/stop" ]; do
		el_n=$((el_n + 1))
		el_s=$el_chal
		case $el_chal in
		@*)	el_s=$(sed -n "${el_c}p" "${el_chal#@}")
			[ -n "$el_s" ] || break ;;
		esac
		el_rc=0
		"$BUILD/sceptool" enroll -u "$el_url" --ca "$el_ca" -k "$el_dir/$el_i.key" \
		    --subject "/CN=$el_p-$el_i-$el_n" --transid "$el_p-$el_i-$el_n" \
		    --challenge "$el_s" -o "$el_dir/$el_i-$el_n.pem" \
		    >"$el_dir/$el_i.out" 2>&1 || el_rc=$?
		[ $el_rc = 0 ] || rm -f "$el_dir/$el_i-$el_n.pem"
		echo "$el_p-$el_i-$el_n $el_rc $(grep -o '^HTTP [0-9]*' "$el_dir/$el_i.out" | head -n 1)" \
		    >>"$el_dir/$el_i.log"
		case $el_rc in
		0|2)	el_c=$((el_c + 1)) ;;
		*)	sleep 0.1 ;;	# a client's pause before it retries
		esac
	done
}

# invariants DB DIR [PROFILE]: what must hold after any fault, read from
# database DB and the certificates enroll_loop's clients saved in DIR
# (each *.pem a SUCCESS a client received): every one is in
# scepd.certificates with the same serial and DER; no duplicate serial;
# no transaction in state success without its certificate; no request
# held PENDING without what it needs to be issued later; every one-time
# challenge used names a transaction that succeeded or is held (nothing
# half-written); and with PROFILE, whose enrollments all take one-time
# challenges, every success of PROFILE used up one of its own (no
# challenge good twice); every certificate has its serial reservation in
# state issued, and no reservation is issued without its certificate
# (db/schema/010_serial_reservation.sql).  Prints what it found.
invariants() {
	iv_db=$1 iv_dir=$2 iv_prof=${3:-}
	iv_vals="" iv_n=0 iv_rc=0
	for iv_f in "$iv_dir"/*.pem; do
		[ -s "$iv_f" ] || continue
		iv_s=$(openssl x509 -in "$iv_f" -noout -serial | sed 's/serial=//; s/^0*//')
		iv_h=$(openssl x509 -in "$iv_f" -outform DER | sha256sum | cut -d' ' -f1)
		iv_vals="$iv_vals${iv_vals:+, }('$iv_s', '$iv_h')"
		iv_n=$((iv_n + 1))
	done
	echo "$iv_n certificates saved by the clients"
	[ "$iv_n" -gt 0 ] || { echo "no client saved a certificate"; return 1; }
	# From a file: a few thousand values are longer than one argument may be.
	printf 'SELECT v.s FROM (VALUES %s) v (s, h) LEFT JOIN scepd.certificates c
	    ON c.serial = v.s AND encode(sha256(c.der), %s) = v.h
	    WHERE c.serial IS NULL;\n' "$iv_vals" "'hex'" >"$iv_dir/saved.sql"
	iv_bad=$(psql -X -qAt -v ON_ERROR_STOP=1 -f "$iv_dir/saved.sql" \
	    "$(conninfo "$iv_db")") || return 1
	[ -z "$iv_bad" ] || { echo "saved, not in the database with that DER: $iv_bad"; iv_rc=1; }
	iv_none "duplicate serials" "SELECT count(*) - count(DISTINCT serial)
	    FROM scepd.certificates" || iv_rc=1
	iv_none "successes without their certificate" "SELECT count(*)
	    FROM scepd.transactions t LEFT JOIN scepd.certificates c
	    ON c.serial = t.cert_serial WHERE t.state = 'success' AND c.serial IS NULL" || iv_rc=1
	iv_none "held requests that lost their request" "SELECT count(*)
	    FROM scepd.transactions WHERE state = 'pending' AND approval IS NOT NULL
	    AND (request_der IS NULL OR signer_der IS NULL)" || iv_rc=1
	iv_none "one-time challenges used by no success" "SELECT count(*)
	    FROM scepd.challenges ch WHERE ch.used_at IS NOT NULL AND NOT EXISTS
	    (SELECT 1 FROM scepd.transactions t WHERE t.transaction_id = ch.used_by
	    AND t.state IN ('success', 'pending'))" || iv_rc=1
	iv_none "certificates without an issued reservation" "SELECT count(*)
	    FROM scepd.certificates c WHERE NOT EXISTS (SELECT 1 FROM
	    scepd.serial_reservations r WHERE r.serial = c.serial AND
	    r.state = 'issued')" || iv_rc=1
	iv_none "reservations issued without their certificate" "SELECT count(*)
	    FROM scepd.serial_reservations r WHERE r.state = 'issued' AND NOT
	    EXISTS (SELECT 1 FROM scepd.certificates c WHERE c.serial = r.serial)" || iv_rc=1
	[ -z "$iv_prof" ] || iv_none "successes of $iv_prof without a challenge of their own" \
	    "SELECT count(*) FROM scepd.transactions t WHERE t.state = 'success'
	    AND t.profile = '$iv_prof' AND (SELECT count(*) FROM scepd.challenges ch
	    WHERE ch.used_by = t.transaction_id AND ch.profile = '$iv_prof') <> 1" || iv_rc=1
	return $iv_rc
}

# reserved_left DB: the serial reservations left 'reserved' (scepd or
# PostgreSQL gone between a reservation and its outcome) have no
# certificate and name no transaction that succeeded (enroll_loop's
# transactionIDs are one an attempt).  Prints how many there are.
reserved_left() {
	iv_db=$1
	rl_n=$(sql "$iv_db" "SELECT count(*) FROM scepd.serial_reservations
	    WHERE state = 'reserved'") || return 1
	echo "$rl_n reservations left reserved"
	iv_none "reservations left reserved with a certificate or a success" \
	    "SELECT count(*) FROM scepd.serial_reservations r
	    WHERE r.state = 'reserved' AND (EXISTS (SELECT 1 FROM
	    scepd.certificates c WHERE c.serial = r.serial) OR EXISTS (SELECT 1
	    FROM scepd.transactions t WHERE t.transaction_id = r.transaction_id
	    AND t.state = 'success'))"
}

# iv_none WHAT SQL: SQL counts 0 of WHAT.
iv_none() {
	iv_c=$(sql "$iv_db" "$2") || return 1
	[ "$iv_c" = 0 ] && return 0
	echo "$iv_c $1"
	return 1
}
