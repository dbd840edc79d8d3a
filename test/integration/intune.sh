#!/bin/sh
# challenge_mode "intune" against test/fake_intune.py, the local Intune
# that checks every header and field scepd sends: an enrollment is put to
# validateRequest and issued only after successNotification answered
# Success; Intune's refusal codes are FAILURE badRequest; Intune down, too
# slow, or refusing the success notification is 503 with no certificate;
# a 401 gets a new token, a transport error a new discovery; a refusal of
# scepd's own after a validation is reported by failureNotification;
# revocation requests are downloaded, the certificates revoked (CRL and
# OCSP) and the results uploaded with Intune's error codes.
# Ports 18820-18829.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18820
IPORT=18821		# the fake Intune
DB=it_intune
DIR=$WORK/ca
CHAL=intune-challenge-blob
URL=http://127.0.0.1:$PORT/scep
LOG=$WORK/scepd-$PORT.log
FAKE=$(dirname "$0")/../fake_intune.py
H=https://127.0.0.1:$IPORT
TENANT=00000000-1111-2222-3333-444444444444
CID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
FPID=""

cleanup() {
	stop_scepd $PORT
	[ -z "$FPID" ] || kill "$FPID" 2>/dev/null
}
trap cleanup EXIT

for c in python3 curl openssl; do
	command -v $c >/dev/null || { echo "$c missing"; echo "0 passed, 1 failed"; exit 1; }
done

# The fake's TLS certificate, from a CA scepd trusts through SSL_CERT_FILE.
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=intune test CA" \
    -keyout "$WORK/tls-ca.key" -out "$WORK/tls-ca.pem"
o req -new -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$WORK/tls.key" -out "$WORK/tls.csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/tls.ext"
o x509 -req -in "$WORK/tls.csr" -CA "$WORK/tls-ca.pem" -CAkey "$WORK/tls-ca.key" \
    -CAcreateserial -days 2 -extfile "$WORK/tls.ext" -out "$WORK/tls.pem"
SSL_CERT_FILE=$WORK/tls-ca.pem
export SSL_CERT_FILE
# The app's certificate, for signing in by client assertion instead.
o req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=scepd app" \
    -keyout "$WORK/app.key" -out "$WORK/app.pem"
chmod 600 "$WORK/app.key"	# scepd refuses a key others may read
printf 'app-secret~%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$WORK/secret"
secret "$(cat "$WORK/secret")" "$CHAL"

python3 "$FAKE" --port $IPORT --cert "$WORK/tls.pem" --key "$WORK/tls.key" \
    --tenant $TENANT --client-id $CID --client-secret-file "$WORK/secret" \
    --client-cert "$WORK/app.pem" --record "$WORK/intune.jsonl" >"$WORK/fake.log" 2>&1 &
FPID=$!
fake_up() { curl -fsS --cacert "$WORK/tls-ca.pem" -o /dev/null "$H/_control/state"; }
check "the fake Intune is up" wait_for 100 fake_up

control() {
	curl -fsS --cacert "$WORK/tls-ca.pem" -H 'Content-Type: application/json' \
	    --data "$1" "$H/_control" >/dev/null
}
# state PATH...: one value of the fake's state (counts, tokens_issued, ...).
state() {
	curl -fsS --cacert "$WORK/tls-ca.pem" "$H/_control/state" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[k] if not isinstance(v, list) else v[int(k)]
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$@"
}
no_problems() {
	p=$(state problems)
	[ "$p" = "[]" ] || { echo "the fake Intune saw problems: $p"; return 1; }
}

setup() {
	setup_ca "$DIR" $DB ca "profiles = ( { name = \"intune\"; challenge_mode = \"intune\";
	    intune = { tenant = \"$TENANT\"; client_id = \"$CID\";
	        client_secret_file = \"$WORK/secret\"; provider_name = \"scepd test\";
	        authority = \"$H\"; graph = \"$H\"; timeout_ms = 1500;
	        revocation_interval = 0; };
	    template = { rsa_max_bits = 2048; }; },
	  { name = \"intunecert\"; challenge_mode = \"intune\";
	    intune = { tenant = \"$TENANT\"; client_id = \"$CID\";
	        client_certificate = \"$WORK/app.pem\"; client_key = \"$WORK/app.key\";
	        authority = \"$H\"; graph = \"$H\"; revocation_interval = 0; }; } );" &&
	    "$BUILD/scepd" -n -c "$DIR/scepd.conf" >/dev/null
}
check "set up scepd with an Intune profile (scepd -n accepts it)" setup
check "start scepd" start_scepd "$DIR/scepd.conf" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }
$T getca -u "$URL" -o "$WORK/ca.pem" >/dev/null || { echo "getca failed"; summary; exit 1; }

# The success notification names the certificate delivered.
notified() {
	n=$(state notifications)
	th=$(openssl x509 -in "$WORK/$1.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
	sn=$(openssl x509 -in "$WORK/$1.pem" -noout -serial | sed 's/serial=//')
	echo "$n" | python3 -c '
import json, sys
th, sn, tid = sys.argv[1:4]
for e in json.load(sys.stdin):
    n = e["notification"]
    if e["endpoint"] == "successNotification" and n["transactionId"] == tid:
        ok = (n["certificateThumbprint"] == th and
              n["certificateSerialNumber"].lstrip("0") == sn.lstrip("0") and
              n["certificateExpirationDateUtc"].endswith("Z") and
              "CN=" in n["issuingCertificateAuthority"] and
              n["callerInfo"] == "scepd test")
        print(json.dumps(n)); sys.exit(0 if ok else 1)
print("no successNotification for", tid); sys.exit(1)' "$th" "$sn" "$2"
}
issued() {
	ok intune "$1" "$2" || return 1
	notified "$1" "$2" && no_problems &&
	    grep -F "$2" "$LOG" | grep -q 'Intune validateRequest -> Success' &&
	    grep -F "$2" "$LOG" | grep -q 'Intune successNotification serial .* -> Success'
}
check "issued after validateRequest and successNotification, both Success" issued dev-1 tid-ok
check "tokens for both audiences, discovery once" sh -c "
	[ \"\$(curl -fsS --cacert '$WORK/tls-ca.pem' '$H/_control/state' | python3 -c '
import json, sys; s = json.load(sys.stdin)
print(s[\"tokens_issued\"][\"https://graph.microsoft.com\"], s[\"tokens_issued\"][\"https://api.manage.microsoft.com\"], s[\"counts\"][\"discovery\"])')\" = '1 1 1' ]"
reused() {
	tok0=$(state counts token)
	issued dev-2 tid-ok-2 || return 1
	[ "$(state counts token)" = "$tok0" ] && [ "$(state counts discovery)" = 1 ]
}
check "a second enrollment reuses the tokens and the service map" reused

for code in ChallengeExpired SubjectNameMismatch ScepProfileNoLongerTargetedToTheClient; do
	intune_refuses() {
		control "{\"validate\": {\"tid-$1\": \"$1\"}}" || return 1
		refused intune "no-$1" "tid-$1" || return 1
		grep -F "tid-$1" "$LOG" | grep -q "Intune validateRequest -> $1" &&
		    [ "$(sql $DB "SELECT count(*) FROM scepd.transactions WHERE transaction_id = 'tid-$1' AND state = 'failure'")" = 1 ] &&
		    no_problems
	}
	check "Intune answers $code: FAILURE badRequest, no certificate, the code logged" \
	    intune_refuses $code
done

down() {
	control '{"fail_next": {"validateRequest": "http500"}}' || return 1
	unavailable intune down-1 tid-down &&
	    grep -F tid-down "$LOG" | grep -q 'Intune validateRequest -> error: validateRequest: HTTP 500'
}
check "Intune answers HTTP 500: 503, nothing recorded" down
garbage() {
	control '{"fail_next": {"validateRequest": "garbage"}}' || return 1
	unavailable intune garbage-1 tid-garbage &&
	    grep -F tid-garbage "$LOG" | grep -q 'malformed answer'
}
check "Intune answers what is not JSON: 503, nothing recorded" garbage
slow() {
	control '{"delay_ms": 2500}' || return 1
	slow_rc=0
	unavailable intune slow-1 tid-slow || slow_rc=1
	# The delayed calls still sleeping would take the next case's fail_next.
	control '{"delay_ms": 0, "settle": true}' || slow_rc=1
	[ $slow_rc = 0 ] && grep -F tid-slow "$LOG" | grep -q 'no reply within 1500 ms'
}
check "Intune slower than intune.timeout_ms: 503, nothing recorded" slow
unauthorized() {
	tok0=$(state tokens_issued https://api.manage.microsoft.com)
	control '{"fail_next": {"validateRequest": "unauthorized"}}' || return 1
	issued dev-401 tid-401 &&
	    [ "$(state tokens_issued https://api.manage.microsoft.com)" = $((tok0 + 1)) ]
}
check "a 401: a new token, then issued" unauthorized
moved() {
	disc0=$(state counts discovery)
	control '{"move_services": true}' || return 1
	issued dev-moved tid-moved &&
	    [ "$(state counts discovery)" = $((disc0 + 1)) ]
}
check "the service moved (transport error): discovered again, then issued" moved
# discarded TID: TID's certificate was signed and rolled back (to the
# mark, or wholly): its one serial reservation says 'discarded', and
# scepd logged it.
discarded() {
	d_r=$(sql $DB "SELECT string_agg(state, ',') FROM scepd.serial_reservations
	    WHERE transaction_id = '$1'")
	echo "$1: reservations $d_r"
	[ "$d_r" = discarded ] &&
	    grep -F "transaction $1: serial" "$LOG" | grep -q 'signed but not recorded: reservation discarded$'
}
notify_refused() {
	fail0=$(state counts failureNotification)
	control '{"notify_code": {"tid-nonote": "Unknown"}}' || return 1
	refused intune nonote-1 tid-nonote || return 1
	grep -F tid-nonote "$LOG" | grep -q 'Intune refused the success notification (Unknown: .*-> FAILURE badRequest$' &&
	    [ "$(sql $DB "SELECT state || ' ' || (cert_serial IS NULL) FROM scepd.transactions WHERE transaction_id = 'tid-nonote'")" = "failure true" ] &&
	    [ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE transaction_id = 'tid-nonote'")" = 0 ] &&
	    discarded tid-nonote &&
	    [ "$(state counts failureNotification)" = "$fail0" ]
}
check "successNotification answered Unknown: FAILURE badRequest, no certificate, the transaction recorded as failed, its serial discarded" notify_refused
notify_unanswered() {
	control '{"fail_next": {"successNotification": "http500"}}' || return 1
	unavailable intune nonote-2 tid-nonote-2 &&
	    grep -F tid-nonote-2 "$LOG" | grep -q 'Intune did not confirm the certificate (successNotification: HTTP 500): not delivered' &&
	    discarded tid-nonote-2
}
check "successNotification unanswered (HTTP 500): 503, no certificate, nothing recorded, its serial discarded" notify_unanswered
failure_notified() {
	fail0=$(state counts failureNotification)
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 \
	    -out "$WORK/big.key" 2>/dev/null || return 1
	refused intune bigkey-1 tid-bigkey -k "$WORK/big.key" || return 1
	[ "$(state counts failureNotification)" = $((fail0 + 1)) ] && no_problems &&
	    grep -F tid-bigkey "$LOG" | grep -q 'Intune failureNotification -> Success'
}
check "validated, then refused by the template: failureNotification sent" failure_notified
by_assertion() {
	ok intunecert dev-cert tid-cert || return 1
	grep -q '"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"' \
	    "$WORK/intune.jsonl" && no_problems
}
check "signed in by a client assertion (intune.client_certificate): issued" by_assertion

# Revocation: scepd again, now downloading Intune's revocation requests
# every second (the first part counted every call without it).
revocation_on() {
	stop_scepd $PORT &&
	    sed -i 's/revocation_interval = 0;/revocation_interval = 1;/' "$DIR/scepd.conf" &&
	    echo 'verbose = true;' >>"$DIR/scepd.conf" &&
	    start_scepd "$DIR/scepd.conf" $PORT &&
	    grep -q 'Intune revocation: every 1 s for profile intune' "$LOG"
}
check "scepd restarted with intune.revocation_interval = 1" revocation_on
# The issuer scepd reported with the certificate, as Intune gives it back.
issuer_of() {
	state notifications | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    n = e["notification"]
    if n["transactionId"] == sys.argv[1]:
        print(n["issuingCertificateAuthority"]); break' "$1"
}
serial_of() { openssl x509 -in "$WORK/$1.pem" -noout -serial | sed 's/serial=//'; }
# upload CONTEXT: the result scepd uploaded for it: "succeeded errorCode".
upload() {
	state uploads | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    if u["requestContext"] == sys.argv[1]:
        print(u["succeeded"], u["errorCode"]); break' "$1"
}
uploaded() { [ -n "$(upload "$1")" ]; }
ocsp_says() {
	openssl ocsp -issuer "$WORK/ca.pem" -cert "$WORK/$1.pem" -url "http://127.0.0.1:$PORT/ocsp" \
	    -CAfile "$WORK/ca.pem" 2>&1 | sed -n "s|^$WORK/$1.pem: ||p" | head -n 1
}
crl_lists() {
	curl -fsS "$URL/crl/intune.crl" | openssl crl -inform DER -noout -text |
	    grep -qi "Serial Number: $(serial_of "$1")"
}
revoked_by_intune() {
	issued dev-rv1 tid-rv1 || return 1
	iss=$(issuer_of tid-rv1)
	[ "$(ocsp_says dev-rv1)" = good ] || { echo "not good before"; return 1; }
	control "{\"revoke\": [
	    {\"serialNumber\": \"$(serial_of dev-rv1)\", \"issuerName\": \"$iss\", \"caConfiguration\": \"scepd\", \"requestContext\": \"ctx-rv1\"},
	    {\"serialNumber\": \"0DEADBEEF0\", \"issuerName\": \"$iss\", \"caConfiguration\": \"scepd\", \"requestContext\": \"ctx-unknown\"},
	    {\"serialNumber\": \"$(serial_of dev-rv1)\", \"issuerName\": \"CN=another CA\", \"caConfiguration\": \"x\", \"requestContext\": \"ctx-other\"}]}" ||
	    return 1
	wait_for 100 uploaded ctx-unknown || return 1
	echo "ctx-rv1: $(upload ctx-rv1); ctx-unknown: $(upload ctx-unknown); queued $(state queued)"
	[ "$(upload ctx-rv1)" = "True 0" ] && [ "$(upload ctx-unknown)" = "False 4004" ] &&
	    [ "$(state queued)" = 1 ] && no_problems &&
	    [ "$(sql $DB "SELECT status || ' ' || revocation_reason FROM scepd.certificates WHERE serial = '$(serial_of dev-rv1 | sed 's/^0*//')'")" = "revoked 5" ] &&
	    [ "$(ocsp_says dev-rv1)" = revoked ] && crl_lists dev-rv1 &&
	    grep -q "Intune revocation request ctx-rv1: certificate .* revoked (cessationOfOperation) -> None" "$LOG" &&
	    grep -q "Intune revocation request ctx-unknown: serial 0DEADBEEF0 is no certificate .* -> CertificateNotFoundError" "$LOG"
}
check "Intune's revocation request: revoked (OCSP, CRL), None uploaded; an unknown serial CertificateNotFoundError; another CA's left queued" \
    revoked_by_intune
again() {
	control "{\"revoke\": [{\"serialNumber\": \"$(serial_of dev-rv1)\", \"issuerName\": \"$(issuer_of tid-rv1)\", \"requestContext\": \"ctx-again\"}]}" ||
	    return 1
	wait_for 100 uploaded ctx-again && [ "$(upload ctx-again)" = "False 4005" ] &&
	    grep -q "Intune revocation request ctx-again: certificate .* revoked already -> ConflictError" "$LOG"
}
check "a request for a certificate revoked already: ConflictError" again
upload_lost() {
	issued dev-rv2 tid-rv2 || return 1
	control '{"fail_next": {"uploadRevocationResults": "http500"}}' || return 1
	control "{\"revoke\": [{\"serialNumber\": \"$(serial_of dev-rv2)\", \"issuerName\": \"$(issuer_of tid-rv2)\", \"requestContext\": \"ctx-lost\"}]}" ||
	    return 1
	wait_for 100 uploaded ctx-lost && [ "$(upload ctx-lost)" = "True 0" ] &&
	    grep -q 'Intune revocation (profile intune): uploadRevocationResults: HTTP 500 (the requests come again)' "$LOG" &&
	    grep -q 'Intune revocation request ctx-lost: certificate .* revoked (cessationOfOperation) -> None' "$LOG" &&
	    grep -q 'Intune revocation request ctx-lost: certificate .* revoked (cessationOfOperation) for this request before, the result sent again -> None' "$LOG"
}
check "the upload fails: the request comes again and is answered None, not ConflictError" upload_lost
one_process() {
	[ "$(sql $DB "SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted")" -le 1 ] &&
	    grep -q 'Intune revocation (profile intune): 0 requests' "$LOG"
}
check "rounds go on with nothing queued (and no advisory lock left behind)" one_process
check "the fake Intune saw no malformed request from scepd" no_problems
check "scepd still answers" sh -c "curl -fsS '$URL?operation=GetCACaps' >/dev/null"
check "scepd stops cleanly" stop_scepd $PORT
summary
