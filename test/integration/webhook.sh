#!/bin/sh
# Delegated validation (issue 3 item 3): a scepd profile in challenge_mode
# "webhook" asks test/webhook_validator.py, which checks the HMAC signature
# and timestamp of every request and answers by the CN prefix of the CSR
# subject.  Allowed -> SUCCESS with the validator's device id; denied ->
# FAILURE badRequest (a decision, final); down, slow, garbage, huge, HTTP
# 500, closed, wrongly typed, wrong secret, TLS name mismatch -> HTTP 503
# with Retry-After (no decision: the device retries), nothing recorded.
# Issued and refused notifications carry what openssl reads from the
# certificate.
# Ports 18350-18399.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18350
VPORT=18351		# validator, plain HTTP
DOWNPORT=18352		# nothing listens here
TLSPORT=18353		# validator over TLS, certificate for IP 127.0.0.1
BADTLSPORT=18354	# validator over TLS, certificate without that name
LATEPORT=18355		# a notification receiver that comes up late
DB=it_webhook
DIR=$WORK/hook
SECRET=hook-secret-0123456789abcdef
CHAL=hook-challenge-42
secret "$CHAL"
URL=http://127.0.0.1:$PORT/scep
REC=$WORK/validator.jsonl
LOG=$WORK/scepd-$PORT.log
VPIDS=""

cleanup() {
	stop_scepd $PORT
	for p in $VPIDS; do
		kill "$p" 2>/dev/null
	done
}
trap cleanup EXIT

command -v python3 >/dev/null || { echo "python3 missing"; echo "0 passed, 1 failed"; exit 1; }

# --- a TLS server certificate for the validator, trusted via SSL_CERT_FILE
mkdir -p "$DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/tls.key" \
    -out "$WORK/tls.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=DNS:validator.invalid" -keyout "$WORK/badtls.key" \
    -out "$WORK/badtls.pem" 2>/dev/null
cat "$WORK/tls.pem" "$WORK/badtls.pem" >"$WORK/trust.pem"
# scepd's https client reads the trust store from here instead of the system's.
SSL_CERT_FILE=$WORK/trust.pem
export SSL_CERT_FILE

# profile NAME URL SECRET [TEMPLATE]: a webhook profile, 1 s timeout.
profile() {
	cat <<P
    { name = "$1"; challenge_mode = "webhook";
      webhook = { url = "$2"; secret = "$3"; timeout_ms = 1000; };
      template = { san_dns = [ "*.example.org" ]; $4 }; },
P
}
extra="profiles = (
    { name = \"patient\"; challenge_mode = \"webhook\";
      webhook = { url = \"http://127.0.0.1:$VPORT/patient\"; secret = \"$SECRET\";
      timeout_ms = 10000; notify = false; }; },
$(profile hook "http://127.0.0.1:$VPORT/hook" $SECRET)
$(profile wrong "http://127.0.0.1:$VPORT/wrong" wrong-secret-0123456789)
$(profile down "http://127.0.0.1:$DOWNPORT/down" $SECRET)
$(profile tls "https://127.0.0.1:$TLSPORT/tls" $SECRET)
$(profile badtls "https://127.0.0.1:$BADTLSPORT/badtls" $SECRET)
$(profile sid "http://127.0.0.1:$VPORT/sid" $SECRET \
    'subject = "/O=scepd test/OU={var.dept}/CN={device_id}"; sid_extension = true;')
    { name = \"snotify\"; challenge_mode = \"static\";
      webhook = { url = \"http://127.0.0.1:$VPORT/snotify\"; secret = \"$SECRET\"; }; },
    { name = \"late\"; challenge_mode = \"static\";
      webhook = { url = \"http://127.0.0.1:$LATEPORT/late\"; secret = \"$SECRET\"; }; }
);"
setup_ca "$DIR" $DB ca "$extra" || { echo "cannot set up the CA"; summary; exit 1; }
# One worker: what it answers while a validator keeps an enrollment
# waiting shows that no loop waits (the PKIOperation runs on a pool thread).
sed -i 's/^workers = 2;/workers = 1;/' "$DIR/scepd.conf"

start_validator() {
	python3 "$(dirname "$0")/../webhook_validator.py" --port "$1" \
	    --secret $SECRET --record "$REC" --challenge $CHAL --slow 3 \
	    ${2:+--tls-cert "$2" --tls-key "$3"} >>"$WORK/validator-$1.log" 2>&1 &
	VPIDS="$VPIDS $!"
	i=0
	while [ $i -lt 50 ]; do
		curl -sk -o /dev/null "http${2:+s}://127.0.0.1:$1/" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "validator on $1 did not start"
	return 1
}
start_validator $VPORT || { summary; exit 1; }
start_validator $TLSPORT "$WORK/tls.pem" "$WORK/tls.key" || { summary; exit 1; }
start_validator $BADTLSPORT "$WORK/badtls.pem" "$WORK/badtls.key" || { summary; exit 1; }
start_scepd "$DIR/scepd.conf" $PORT || { summary; exit 1; }
$T getca -u "$URL" -o "$WORK/ca.pem" >/dev/null || { echo "getca failed"; summary; exit 1; }

# rec TID TYPE: the validator's records for a transaction, one JSON a line.
rec() {
	python3 - "$REC" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = r.get("body") or {}
    if b.get("transaction_id") == sys.argv[2] and r.get("type") == sys.argv[3]:
        print(json.dumps(r))
PY
}
# field JSON PATH...: one value out of a record.
field() {
	python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v=v[k]
print(v if not isinstance(v,(list,dict)) else json.dumps(v))' "$@"
}

# delivered TYPE TID: within 10 s, scepd logs the notification of TID
# as delivered (notifications go out after the reply, from the outbox).
delivered() {
	wait_for 100 grep -q "webhook notify $1 $2 -> delivered" "$LOG" ||
	    { grep -F "$2" "$LOG"; return 1; }
}
# logged TID REGEX: scepd's log has a line for TID matching REGEX.
logged() { grep -F "$1" "$LOG" | grep -Eq "$2" || { grep -F "$1" "$LOG"; return 1; }; }

# --- allowed --------------------------------------------------------------

check "allow: SUCCESS, certificate verified, one row" \
    ok hook allow-1 tid-allow-1 --san DNS:allow-1.example.org
check "allow: the certificate row carries the validator's device id" \
    sh -c "[ \"\$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT device_id FROM scepd.certificates
	WHERE subject = 'CN=allow-1,O=scepd test'\")\" = dev-allow-1 ]"
check "allow: the decision is logged with outcome, device and duration" \
    logged tid-allow-1 'webhook validate -> allow: in inventory, device dev-allow-1 \([0-9]+ ms, 1 attempt\)'

validate_doc() {
	r=$(rec tid-allow-1 validate)
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || { echo "records: $r"; return 1; }
	[ "$(field "$r" hmac_ok)" = True ] && [ "$(field "$r" fresh)" = True ] || return 1
	[ "$(field "$r" content_type)" = application/json ] || return 1
	[ "$(field "$r" path)" = /hook ] || return 1
	b=$(field "$r" body)
	[ "$(field "$b" profile)" = hook ] || return 1
	[ "$(field "$b" challenge)" = $CHAL ] || return 1
	[ "$(field "$b" subject)" = "CN=allow-1,O=scepd test" ] || return 1
	[ "$(field "$b" sans)" = '["DNS:allow-1.example.org"]' ] || { field "$b" sans; return 1; }
	[ "$(field "$b" client_address)" = 127.0.0.1 ] || return 1
	field "$b" csr >"$WORK/sent-csr.pem"
	a=$(openssl req -in "$WORK/sent-csr.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
	k=$(openssl pkey -in "$WORK/allow-1.key" -pubout -outform DER | sha256sum)
	[ "$a" = "$k" ] || { echo "the CSR sent is not the client's"; return 1; }
}
check "validate request: signed, fresh, JSON with profile, challenge, CSR, subject, SANs, address" \
    validate_doc

notified_issued() {
	delivered issued tid-allow-1 || return 1
	r=$(rec tid-allow-1 issued)
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || { echo "records: $r"; return 1; }
	[ "$(field "$r" hmac_ok)" = True ] || return 1
	b=$(field "$r" body)
	c=$WORK/allow-1.pem
	serial=$(openssl x509 -in "$c" -noout -serial | sed 's/^serial=0*//')
	[ "$(field "$b" serial | sed 's/^0*//')" = "$serial" ] || { echo "serial"; return 1; }
	thumb=$(openssl x509 -in "$c" -noout -fingerprint -sha1 | sed 's/^.*=//; s/://g')
	[ "$(field "$b" thumbprint_sha1)" = "$thumb" ] || { echo "thumbprint"; return 1; }
	na=$(date -u -d "$(openssl x509 -in "$c" -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)
	[ "$(field "$b" not_after)" = "$na" ] || { echo "not_after"; return 1; }
	[ "$(field "$b" issuer)" = "$(openssl x509 -in "$c" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" ] ||
	    { echo "issuer"; return 1; }
	[ "$(field "$b" subject)" = "CN=allow-1,O=scepd test" ] || return 1
	[ "$(field "$b" profile)" = hook ]
}
check "issued notification: serial, SHA-1 thumbprint, notAfter, issuer match the certificate" \
    notified_issued

check "retransmission: same certificate, validator not asked again" sh -c "
	$T enroll -u '$URL/hook' --ca '$WORK/ca.pem' -k '$WORK/allow-1.key' \
	    --subject '/O=scepd test/CN=allow-1' --challenge $CHAL --transid tid-allow-1 \
	    --san DNS:allow-1.example.org -o '$WORK/allow-1b.pem' >/dev/null &&
	cmp '$WORK/allow-1.pem' '$WORK/allow-1b.pem' &&
	[ \$(grep -c '\"transaction_id\": \"tid-allow-1\"' '$REC') = 2 ]"

# --- refused --------------------------------------------------------------

check "deny: FAILURE badRequest, no row" refused hook deny-1 tid-deny-1
check "deny: logged with the validator's reason" \
    logged tid-deny-1 'webhook validate -> deny: device not in inventory'
refused_note() {
	delivered refused tid-deny-1 || return 1
	r=$(rec tid-deny-1 refused)
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || { echo "records: $r"; return 1; }
	[ "$(field "$r" hmac_ok)" = True ] || return 1
	field "$(field "$r" body)" reason | grep -q 'device not in inventory'
}
check "refused notification with the reason" refused_note
check "wrong challenge (validator denies): FAILURE" \
    refused hook allow-badchal tid-badchal --challenge not-the-one

# --- the validator gave no decision: 503 ------------------------------------

check "garbage reply: 503, nothing recorded" unavailable hook garbage-1 tid-garbage
check "garbage: logged as a malformed reply" logged tid-garbage 'error: malformed reply: reply is not JSON'
check "reply over 64 KiB: 503, nothing recorded" unavailable hook huge-1 tid-huge
check "huge: logged" logged tid-huge 'error: reply over 65536 bytes'
check "HTTP 500: 503, nothing recorded" unavailable hook http500-1 tid-500
check "allow of the wrong type: 503, nothing recorded" unavailable hook badtype-1 tid-badtype
check "connection closed unanswered: 503, nothing recorded" unavailable hook close-1 tid-close
closed_once() {
	[ "$(rec tid-close validate | wc -l)" = 1 ] || return 1
	! grep -F tid-close "$LOG" | grep -q 'retrying'
}
check "closed after the request went out: not retried" closed_once

check "slow validator (3 s, timeout 1 s): 503, nothing recorded" unavailable hook slow-1 tid-slow
slow_logged() {
	grep -F tid-slow "$LOG" | grep -Eq 'error: no reply within 1000 ms \([0-9]+ ms, 1 attempt\)' ||
	    { grep -F tid-slow "$LOG"; return 1; }
	[ -z "$(rec tid-slow refused)" ] || { echo "a refused notification was sent"; return 1; }
}
check "slow: logged as a timeout after one attempt, no refused notification" slow_logged

down() {
	unavailable down down-1 tid-down || return 1
	[ "$(grep -F tid-down "$LOG" | grep -c 'retrying once')" = 1 ] ||
	    { grep -F tid-down "$LOG"; return 1; }
	logged tid-down 'webhook validate -> error: cannot connect to 127.0.0.1:18352 .*(2 attempts)'
}
check "validator down: 503, nothing recorded, connection retried exactly once" down
# The 503 carries Retry-After: the same request, sent by curl.
retry_after() {
	$T enroll -u "$URL/down" --ca "$WORK/ca.pem" -k "$(key)" --subject "/O=scepd test/CN=down-2" \
	    --challenge $CHAL --transid tid-down-2 --save-request "$WORK/down-2.der" --no-send \
	    >/dev/null 2>&1 || return 1
	curl -sS -o /dev/null -D "$WORK/down-2.h" --data-binary "@$WORK/down-2.der" \
	    -H 'Content-Type: application/x-pki-message' "$URL/down?operation=PKIOperation" || return 1
	cat "$WORK/down-2.h"
	head -n 1 "$WORK/down-2.h" | grep -q ' 503 ' && grep -qi '^Retry-After: 10' "$WORK/down-2.h"
}
check "the 503 carries Retry-After" retry_after

check "wrong secret: the validator rejects the signature (401) -> 503, nothing recorded" \
    unavailable wrong allow-wrong tid-wrong
check "wrong secret: the validator saw a bad HMAC and scepd logged HTTP 401" sh -c "
	[ \"\$(grep -F '\"path\": \"/wrong\"' '$REC' | grep -c '\"hmac_ok\": false')\" -ge 1 ] &&
	grep -F tid-wrong '$LOG' | grep -q 'validator answered HTTP 401'"
check "every request of the right secret verified" sh -c "
	[ \"\$(grep -v '\"path\": \"/wrong\"' '$REC' | grep -c '\"hmac_ok\": false')\" = 0 ] &&
	[ \"\$(grep -c '\"hmac_ok\": true' '$REC')\" -ge 10 ]"

# --- https ----------------------------------------------------------------

check "https validator (trusted, name matches): SUCCESS" \
    ok tls allow-tls tid-tls
check "https: device id from the TLS validator" sh -c "
	[ \"\$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT device_id FROM scepd.certificates
	    WHERE subject = 'CN=allow-tls,O=scepd test'\")\" = dev-allow-tls ]"
check "https validator whose certificate does not name 127.0.0.1: 503, nothing recorded" \
    unavailable badtls allow-badtls tid-badtls
check "https name mismatch: logged, nothing reached the validator" sh -c "
	grep -F tid-badtls '$LOG' | grep -q 'TLS: server certificate:' &&
	! grep -q '\"path\": \"/badtls\"' '$REC'"

# --- notifications from a static-challenge profile -------------------------

static_note() {
	k=$(key)
	$T enroll -u "$URL/snotify" --ca "$WORK/ca.pem" -k "$k" \
	    --subject "/O=scepd test/CN=static-note" --challenge interop-secret-1 \
	    --transid tid-static -o "$WORK/static.pem" >/dev/null || return 1
	delivered issued tid-static || return 1
	r=$(rec tid-static issued)
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || { echo "records: $r"; return 1; }
	[ "$(field "$r" path)" = /snotify ] && [ "$(field "$r" hmac_ok)" = True ] || return 1
	[ -z "$(rec tid-static validate)" ]
}
check "static profile with webhook.url: issued notification, no validation" static_note

# while_validating NAME CMD...: an enrollment (CN=slow-NAME, transactionID
# tid-NAME) on the profile whose validator sleeps 3 s; once the validator
# has it, CMD runs; CMD must succeed while the enrollment still waits, and
# the enrollment must then end with its certificate.
has_validate() { [ -n "$(rec "$1" validate)" ]; }
while_validating() {
	wv=$1
	shift
	k=$(key)
	$T enroll -u "$URL/patient" --ca "$WORK/ca.pem" -k "$k" \
	    --subject "/O=scepd test/CN=slow-$wv" --challenge $CHAL --transid "tid-$wv" \
	    -o "$WORK/$wv.pem" >"$WORK/$wv.out" 2>&1 &
	wpid=$!
	wait_for 50 has_validate "tid-$wv" || { wait $wpid; return 1; }
	during=0
	"$@" || during=$?
	[ -s "$WORK/$wv.pem" ] && early=1 || early=0
	rc=0
	wait $wpid || rc=$?
	cat "$WORK/$wv.out"
	[ $during = 0 ] || { echo "failed while the validator thought: $*"; return 1; }
	[ $early = 0 ] || { echo "the enrollment was done before $* ran"; return 1; }
	[ $rc = 0 ] || { echo "the enrollment failed"; return 1; }
	verify_cert "$WORK/$wv.pem" "$DIR/ca.pem" "$k" "CN=slow-$wv,O=scepd test"
}

# busy: the one worker answers GetCACaps and GetCACert meanwhile.
fast_answers() {
	grep -qx 'workers = 1;' "$DIR/scepd.conf" || { echo "not one worker"; return 1; }
	curl -fsS "$URL?operation=GetCACaps" | grep -qx AES &&
	    curl -fsS -o /dev/null "$URL?operation=GetCACert"
}
check "one worker: GetCACaps and GetCACert answered while a validator holds an enrollment, which then succeeds" \
    while_validating busy fast_answers

# unlocked: meanwhile scepd holds no transactionID lock (advisory lock
# space 2 of db/local.h, two-key form) in its database: the validator is
# asked before the transaction begins.
no_tid_lock() {
	n=$(sql $DB "SELECT count(*) FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_database d
	    ON d.oid = l.database WHERE d.datname = '$DB' AND l.locktype = 'advisory'
	    AND l.classid = 2 AND l.objsubid = 2")
	[ "$n" = 0 ] || { echo "$n transactionID lock(s) held"; return 1; }
}
check "no transactionID lock is held while the validator thinks; the enrollment then succeeds" \
    while_validating unlocked no_tid_lock

# A receiver that is down: the certificate is issued at once, the
# notification waits in the outbox, is retried, survives a restart of
# scepd and is delivered once the receiver is up.
late_queued() {
	$T enroll -u "$URL/late" --ca "$WORK/ca.pem" -k "$(key)" \
	    --subject "/O=scepd test/CN=late-note" --challenge interop-secret-1 \
	    --transid tid-late -o "$WORK/late.pem" >/dev/null || return 1
	openssl verify -CAfile "$DIR/ca.pem" "$WORK/late.pem" || return 1
	wait_for 100 grep -q "webhook notify issued tid-late -> not delivered: .*next attempt in 2 s" "$LOG" ||
	    { grep -F tid-late "$LOG"; return 1; }
	[ "$(sql $DB "SELECT count(*) FROM scepd.outbox WHERE transaction_id = 'tid-late'
	    AND kind = 'issued' AND sent_at IS NULL AND attempts >= 1")" = 1 ]
}
check "receiver down: issued at once, the notification waits in the outbox, retried" late_queued
late_delivered() {
	stop_scepd $PORT || return 1
	start_validator $LATEPORT || return 1
	start_scepd "$DIR/scepd.conf" $PORT || return 1
	delivered issued tid-late || return 1
	r=$(rec tid-late issued)
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || { echo "records: $r"; return 1; }
	[ "$(field "$r" path)" = /late ] && [ "$(field "$r" hmac_ok)" = True ] || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.outbox WHERE transaction_id = 'tid-late'
	    AND sent_at IS NOT NULL")" = 1 ]
}
check "after a restart of scepd and with the receiver up: delivered once, signed" late_delivered

# --- strongSwan -------------------------------------------------------------

sw() {
	pki --gen --type rsa --size 2048 --outform pem >"$WORK/sw.key" || return 1
	openssl x509 -in "$WORK/ca.pem" -outform DER -out "$WORK/ca.der" || return 1
	timeout 60 pki --scep --url "$URL/hook" --in "$WORK/sw.key" \
	    --dn "O=scepd test, CN=allow-sw" --san allow-sw.example.org \
	    --password $CHAL --cacert-enc "$WORK/ca.der" --cacert-sig "$WORK/ca.der" \
	    --interval 1 --maxpolltime 10 --outform pem >"$WORK/sw.pem" || return 1
	verify_cert "$WORK/sw.pem" "$DIR/ca.pem" "$WORK/sw.key" "CN=allow-sw,O=scepd test" ||
	    return 1
	[ "$(sql $DB "SELECT device_id FROM scepd.certificates
	    WHERE subject = 'CN=allow-sw,O=scepd test'")" = dev-allow-sw ]
}
if command -v pki >/dev/null; then
	check "strongSwan pki --scep against the webhook profile: issued, device id" sw
else
	check "strongSwan pki installed" false
fi

# --- template values from the validator --------------------------------------

sid_ext() {
	k=$WORK/allow-sid.key
	$T enroll -u "$URL/sid" --ca "$WORK/ca.pem" -k "$k" \
	    --subject "/O=scepd test/CN=allow-sid" --challenge $CHAL \
	    --san DNS:allow-sid.example.org -o "$WORK/allow-sid.pem" || return 1
	verify_cert "$WORK/allow-sid.pem" "$DIR/ca.pem" "$k" \
	    "CN=dev-allow-sid,OU=eng,O=scepd test" || return 1
	openssl x509 -in "$WORK/allow-sid.pem" -noout -text >"$WORK/sid.txt"
	grep -q '1.3.6.1.4.1.311.25.2' "$WORK/sid.txt" ||
	    { echo "no SID extension"; return 1; }
	openssl x509 -in "$WORK/allow-sid.pem" -outform DER |
	    grep -aq 'S-1-5-21-1004336348-1177238915-682003330-1001' ||
	    { echo "SID value not found"; return 1; }
}
check "template from the validator: subject {var.dept}/{device_id}, SID extension with its SID" sid_ext

check "scepd exits cleanly on SIGTERM" stop_scepd $PORT
summary
