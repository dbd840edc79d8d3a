#!/bin/sh
# Key custody (issue 11): scepd runs as a supervisor, a worker that does
# everything a client reaches, and a signer that alone holds the keys
# (server/signer/).  Checked here:
#
# - the three processes, and the worker's memory holds no piece of the
#   CA or RA key while the signer's does (test/memscan.py; needs the
#   right to read another process's memory: root, as in CI);
# - as root with user = "nobody", the worker runs as nobody and nobody
#   cannot open the key files;
# - a signer that is stopped: PKIOperations get 503 (never FAILURE), GetCACaps still 200, and issuing resumes after;
# - a signer killed: the supervisor starts another, which serves;
# - the signer killed three times under load: the invariants of
#   test/lib.sh, and every certificate recorded verifies against the CA
#   (none was recorded that was not signed);
# - the audit of key use: after enrollments, a CRL and an OCSP answer,
#   scepctl ca status shows the CA key's certificates (exactly those
#   recorded), CertReps, CRLs, OCSP answers and decryptions, and the
#   counts do not go back when the signer is killed;
# - a signer that refuses the signature (the CA files replaced on disk
#   and the signer restarted: it no longer holds the key the worker
#   names): FAILURE badRequest recorded, the reservation 'failed';
# - SIGKILL to scepd leaves no worker or signer behind.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18960
DB=it_signer
D=$WORK/ca
CONF=$D/scepd.conf
URL=http://127.0.0.1:$PORT/scep
LOG=$WORK/scepd-$PORT.log
CHAL=interop-secret-1
cpids=""

cleanup() {
	mkdir -p "$WORK/load" && touch "$WORK/load/stop"
	for p in $cpids; do wait "$p"; done
	[ -n "${SIG:-}" ] && kill -CONT "$SIG" 2>/dev/null
	stop_scepd $PORT
}
trap cleanup EXIT

user=""
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	user='user = "nobody";'
fi
setup_ca "$D" $DB ra "$user" || { echo "setup failed"; exit 1; }
start_scepd "$CONF" $PORT || exit 1
SUP=$(cat "$WORK/scepd-$PORT.pid")
curl -fsS "$URL?operation=GetCACert" -o "$WORK/cacert.bin"
openssl pkcs7 -inform DER -in "$WORK/cacert.bin" -print_certs -out "$WORK/ra-bundle.pem"
openssl x509 -in "$D/ra.pem" -out "$WORK/ra.pem"

worker() { scepd_child "$SUP" scepd-worker; }
signer() { scepd_child "$SUP" scepd-signer; }
# How many signers have served since the start (after the first).
signers() { grep -c 'a new signer is serving' "$LOG"; }
# Kill the signer; wait until the next serves.
kill_signer() {
	ks_n=$(signers)
	kill -KILL "$(signer)"
	wait_for 100 sh -c "[ \$(grep -c 'a new signer is serving' '$LOG') -gt $ks_n ]"
}

# enroll CN: SUCCESS through the signer, verified.
enroll() {
	k=$WORK/$1.key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k" 2>/dev/null
	$T enroll -u "$URL" --ca "$WORK/ra.pem" -k "$k" --subject "/O=scepd test/CN=$1" \
	    --challenge $CHAL -o "$WORK/$1.pem" || return 1
	verify_cert "$WORK/$1.pem" "$D/ca.pem" "$k" "CN=$1,O=scepd test"
}

layout() {
	ps -o pid,ppid,user,comm,args -p "$SUP,$(worker),$(signer)"
	[ "$(cat /proc/"$SUP"/comm)" = scepd ] || return 1
	[ "$(worker | wc -w)" = 1 ] && [ "$(signer | wc -w)" = 1 ]
}
check "three processes: scepd (supervisor), scepd-worker, scepd-signer" layout
check "an enrollment through the signer" enroll first

# --- the audit of key use -------------------------------------------------------

CAKEY=$(openssl x509 -in "$D/ca.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1)
RAKEY=$(openssl x509 -in "$D/ra.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1)
status() { "$BUILD/scepctl" -c "$CONF" ca status; }
# use KEY PURPOSE: the count scepctl ca status shows.
use() {
	status | awk -v k="key $1:" -v p="$2" '$1 " " $2 == k { on = 1; next }
	    /^key / { on = 0 } on && $1 == p { print $2; exit }'
}
recorded() { sql $DB "SELECT count(*) FROM scepd.certificates WHERE ca_key = '$CAKEY'"; }
# The CA key's certificate signatures are its certificates recorded, the
# RA key's CertReps and decryptions at least $1, a CRL and an OCSP answer.
counted() {
	[ "$(use "$CAKEY" certificate)" = "$(recorded)" ] &&
	    [ "$(use "$RAKEY" certrep)" -ge "$1" ] && [ "$(use "$RAKEY" decrypt)" -ge "$1" ] &&
	    [ "$(use "$CAKEY" crl)" -ge 1 ] && [ "$(use "$CAKEY" ocsp)" -ge 1 ]
}
key_use() {
	for n in 1 2 3; do enroll "audit-$n" || return 1; done
	curl -fsS "$URL/crl/default.crl" | openssl crl -inform DER -noout -CAfile "$D/ca.pem" ||
	    return 1
	openssl ocsp -issuer "$D/ca.pem" -cert "$WORK/audit-1.pem" \
	    -url "http://127.0.0.1:$PORT/ocsp" -CAfile "$D/ca.pem" \
	    2>&1 | grep -q "audit-1.pem: good" || { echo "no OCSP answer"; return 1; }
	wait_for 100 counted 4 || { status; echo "recorded $(recorded)"; return 1; }
	status
	[ "$(recorded)" -ge 4 ]
}
check "scepctl ca status: certificates signed = recorded, CertReps, decryptions, CRL, OCSP" key_use

key_use_survives() {
	before=$(use "$CAKEY" certificate) crep=$(use "$RAKEY" certrep)
	kill_signer || return 1
	[ "$(use "$CAKEY" certificate)" = "$before" ] || { echo "went back"; return 1; }
	enroll audit-after-kill || return 1
	# The new signer counts from 0: its one certificate is added to the rest.
	wait_for 100 counted_cert $((before + 1)) || { status; return 1; }
	[ "$(use "$RAKEY" certrep)" -gt "$crep" ]
}
counted_cert() { [ "$(use "$CAKEY" certificate)" = "$1" ] && [ "$(recorded)" = "$1" ]; }
check "key use counts survive a killed signer, and count on" key_use_survives

# The CA files replaced under a running scepd (a new CA key, the RA
# re-certified by it), and the signer restarted: the worker still names
# the old key, which the signer no longer holds, and refuses.
refused() {
	mkdir -p "$WORK/orig"
	cp -p "$D/ca.pem" "$D/ca.key" "$D/ra.pem" "$WORK/orig/"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/new-ca.key" -out "$WORK/new-ca.pem" \
	    -subj "$(openssl x509 -in "$D/ca.pem" -noout -subject -nameopt compat | sed 's/^subject=//')" \
	    -days 30 -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	openssl x509 -x509toreq -in "$D/ra.pem" -signkey "$D/ra.key" -out "$WORK/ra.csr" 2>/dev/null &&
	    openssl x509 -req -in "$WORK/ra.csr" -CA "$WORK/new-ca.pem" -CAkey "$WORK/new-ca.key" \
	    -set_serial 77 -days 30 -copy_extensions copy -out "$WORK/new-ra.pem" 2>/dev/null || return 1
	install -m 600 "$WORK/new-ca.key" "$D/ca.key"
	cp "$WORK/new-ca.pem" "$D/ca.pem"
	cp "$WORK/new-ra.pem" "$D/ra.pem"
	kill_signer || return 1
	k=$WORK/refused.key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k" 2>/dev/null
	rc=0
	$T enroll -u "$URL" --ca "$WORK/ra.pem" -k "$k" --subject "/O=scepd test/CN=refused" \
	    --challenge $CHAL --transid refused-1 >"$WORK/refused.out" 2>&1 || rc=$?
	# Put the CA back, for what follows.
	cp -p "$WORK/orig/ca.pem" "$WORK/orig/ca.key" "$WORK/orig/ra.pem" "$D/"
	kill_signer || return 1
	cat "$WORK/refused.out"
	[ $rc = 2 ] && grep -q 'badRequest' "$WORK/refused.out" || { echo "exit $rc, want 2 (FAILURE badRequest)"; return 1; }
	grep -q 'refused-1: the signer refused to sign: .* -> FAILURE badRequest' "$LOG" || { echo "not logged"; return 1; }
	[ "$(sql $DB "SELECT state || ' ' || fail_info FROM scepd.transactions WHERE transaction_id = 'refused-1'")" = "failure 2" ] ||
	    { echo "transaction: $(sql $DB "SELECT state, fail_info FROM scepd.transactions WHERE transaction_id = 'refused-1'")"; return 1; }
	[ "$(sql $DB "SELECT string_agg(state, ',') FROM scepd.serial_reservations WHERE transaction_id = 'refused-1'")" = failed ] ||
	    { echo "reservations: $(sql $DB "SELECT string_agg(state, ',') FROM scepd.serial_reservations WHERE transaction_id = 'refused-1'")"; return 1; }
	[ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE subject LIKE 'CN=refused,%'")" = 0 ] || return 1
	enroll after-refusal
}
check "a signature the signer refuses: FAILURE badRequest recorded, reservation failed, scepd serves on" refused

# memory KEY: no piece of KEY in the worker, some in the signer.
memory() {
	w=0 s=0
	w=$(python3 "$(dirname "$0")/../memscan.py" "$(worker)" "$1") || return 1
	s=$(python3 "$(dirname "$0")/../memscan.py" "$(signer)" "$1") || return 1
	echo "pieces of $1: worker $w, signer $s"
	[ "$w" = 0 ] && [ "$s" -gt 0 ]
}
if python3 "$(dirname "$0")/../memscan.py" "$(signer)" "$D/ca.key" >/dev/null 2>&1; then
	check "the worker's memory has no piece of the CA key; the signer's has" memory "$D/ca.key"
	check "the worker's memory has no piece of the RA key; the signer's has" memory "$D/ra.key"
else
	echo "  SKIP  key pieces in memory: this user may not read another process's memory"
fi

if [ -n "$user" ]; then
	unprivileged() {
		grep '^Uid:' /proc/"$(worker)"/status /proc/"$(signer)"/status
		[ "$(awk '/^Uid:/ { print $2 }' /proc/"$(worker)"/status)" = "$(id -u nobody)" ] || return 1
		[ "$(awk '/^Uid:/ { print $2 }' /proc/"$(signer)"/status)" = 0 ] || return 1
		# What the worker's user may do with the key files: nothing.
		fails_with 1 "Permission denied" runuser -u nobody -- cat "$D/ca.key" || return 1
		fails_with 1 "Permission denied" runuser -u nobody -- cat "$D/ra.key"
	}
	check "user = nobody: the worker runs as nobody and cannot open the key files" unprivileged
else
	echo "  SKIP  the worker's user: needs root and a user nobody"
fi

# --- a signer that does not answer -------------------------------------------

stopped() {
	SIG=$(signer)
	kill -STOP "$SIG"
	rc=0
	k=$WORK/stopped.key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k" 2>/dev/null
	$T enroll -u "$URL" --ca "$WORK/ra.pem" -k "$k" --subject "/O=scepd test/CN=stopped" \
	    --challenge $CHAL --transid stopped-1 >"$WORK/stopped.out" 2>&1 || rc=$?
	curl -sS -o /dev/null -w '%{http_code}\n' "$URL?operation=GetCACaps" >"$WORK/caps.code"
	kill -CONT "$SIG"
	SIG=""
	cat "$WORK/stopped.out"
	[ $rc = 4 ] && grep -q '^HTTP 503 ' "$WORK/stopped.out" || { echo "exit $rc, want 4 (HTTP 503)"; return 1; }
	[ "$(cat "$WORK/caps.code")" = 200 ] || { echo "GetCACaps: $(cat "$WORK/caps.code")"; return 1; }
	grep -q 'the signer is unavailable -> 503' "$LOG" || { echo "no 503 logged"; return 1; }
	[ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE subject LIKE 'CN=stopped,%'")" = 0 ]
}
check "signer stopped: PKIOperation 503 (not FAILURE), GetCACaps 200, nothing issued" stopped

check "issuing resumes once the signer answers again" enroll resumed

# --- a signer that dies --------------------------------------------------------

killed() {
	old=$(signer)
	kill_signer || return 1
	new=$(signer)
	echo "signer $old killed, $new serving"
	[ -n "$new" ] && [ "$new" != "$old" ] || return 1
	grep -q "signer (pid $old) was killed by signal 9: starting another" "$LOG" || return 1
	enroll "after-kill-$1"
}
check "signer killed: the supervisor starts another, which issues" killed 1

loaded() { [ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE subject LIKE 'CN=load-%'")" -ge "$1" ]; }

# Every recorded certificate verifies against the CA: none is recorded
# that the signer did not sign.
all_signed() {
	n=0 bad=0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		printf '%s' "$line" | base64 -d >"$WORK/one.der" 2>/dev/null
		n=$((n + 1))
		openssl x509 -inform DER -in "$WORK/one.der" -out "$WORK/one.pem" &&
		    openssl verify -CAfile "$D/ca.pem" "$WORK/one.pem" >/dev/null 2>&1 ||
		    bad=$((bad + 1))
	done <<EOF
$(sql $DB "SELECT replace(encode(der, 'base64'), E'\n', '') FROM scepd.certificates")
EOF
	echo "$n recorded, $bad that do not verify"
	[ "$n" -gt 0 ] && [ "$bad" = 0 ]
}

under_load() {
	mkdir -p "$WORK/load"
	rm -f "$WORK/load/stop"
	cpids=""
	for i in 1 2 3 4; do
		enroll_loop "$WORK/load" $i "$URL" "$WORK/ra.pem" $CHAL &
		cpids="$cpids $!"
	done
	want=0
	for round in 2 3 4; do
		want=$((want + 4))
		wait_for 200 loaded $want || { touch "$WORK/load/stop"; return 1; }
		kill_signer || { touch "$WORK/load/stop"; return 1; }
	done
	want=$((want + 4))
	wait_for 200 loaded $want || { touch "$WORK/load/stop"; return 1; }
	touch "$WORK/load/stop"
	for p in $cpids; do wait "$p"; done
	cpids=""
	echo "$(cat "$WORK"/load/*.log | wc -l) attempts, $(cat "$WORK"/load/*.log | grep -c ' 0 ') issued, $(cat "$WORK"/load/*.log | grep -c 'HTTP 503') answered 503"
	invariants $DB "$WORK/load" || return 1
	all_signed
}
check "signer killed 3 times under load: invariants hold, every record is signed" under_load

orphans() {
	w=$(worker) s=$(signer)
	kill9_scepd $PORT || return 1
	echo "worker $w and signer $s gone with the supervisor"
	gone "$w" && gone "$s"
}
check "SIGKILL to scepd: its worker and signer die with it" orphans

summary
