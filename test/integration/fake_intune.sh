#!/bin/sh
# Self-test of test/fake_intune.py, the local Intune that scepd's
# challenge_mode "intune" tests talk to: every endpoint driven with curl,
# requests as a correct client sends them (answered, no problem kept) and
# broken ones (the specific refusal, the problem kept, the fake still
# answering), the scripted answers and failures of /_control, and the
# record file.  Needs only $WORK (no scepd, no database).
# Ports 18800-18809 (this script uses 18800).
. "$(dirname "$0")/../lib.sh"

FAKE=$(dirname "$0")/../fake_intune.py
PORT=18800
H=https://127.0.0.1:$PORT
TENANT=00000000-1111-2222-3333-444444444444
CID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
SECRET='s3cret~value.with-odd_chars'
GRAPH_SCOPE=https://graph.microsoft.com/.default
INTUNE_SCOPE=https://api.manage.microsoft.com/.default
TOKEN_URL=$H/$TENANT/oauth2/v2.0/token
APP=0000000a-0000-0000-c000-000000000000
SB=/RACerts/ScepRequestValidationFEService/Gateway/StatelessScepRequestValidationService
PB=/RACerts/StatelessPkiConnectorService/Gateway/StatelessPkiConnectorService
JSON="application/json; charset=utf-8"
REC=$WORK/record.jsonl
CA=$WORK/ca.pem
FPID=""

cleanup() {
	[ -z "$FPID" ] || kill "$FPID" 2>/dev/null
}
trap cleanup EXIT

for c in python3 jq curl openssl; do
	command -v $c >/dev/null || { echo "$c missing"; echo "0 passed, 1 failed"; exit 1; }
done

# --- a throw-away CA, the server's certificate for 127.0.0.1, the app's
# certificate for client assertions and another key that is not the app's
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fake Intune test CA" \
    -keyout "$WORK/ca.key" -out "$CA"
o req -new -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$WORK/srv.key" -out "$WORK/srv.csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/srv.ext"
o x509 -req -in "$WORK/srv.csr" -CA "$CA" -CAkey "$WORK/ca.key" \
    -CAcreateserial -days 2 -extfile "$WORK/srv.ext" -out "$WORK/srv.pem"
o req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=scepd app" \
    -keyout "$WORK/app.key" -out "$WORK/app.pem"
o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.key"
printf '%s\n' "$SECRET" >"$WORK/secret"
# Two device CSRs (DER, standard base64 on one line) and one whose
# self-signature is broken (a bit of the signature flipped).
for n in 1 2; do
	o req -new -newkey rsa:2048 -nodes -subj "/CN=device-$n" \
	    -keyout "$WORK/dev$n.key" -outform DER -out "$WORK/dev$n.der"
done
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read())
d[-3] ^= 1; open(sys.argv[2], "wb").write(d)' "$WORK/dev1.der" "$WORK/bad.der"
b64() { openssl base64 -A; }
CSR1=$(b64 <"$WORK/dev1.der")
CSR2=$(b64 <"$WORK/dev2.der")
BADCSR=$(b64 <"$WORK/bad.der")
PEMCSR=$(openssl base64 <"$WORK/dev1.der")	# broken into lines

python3 "$FAKE" --port $PORT --cert "$WORK/srv.pem" --key "$WORK/srv.key" \
    --tenant $TENANT --client-id $CID --client-secret-file "$WORK/secret" \
    --client-cert "$WORK/app.pem" --record "$REC" >"$WORK/fake.log" 2>&1 &
FPID=$!

# call METHOD PATH [CURL ARGS...]: the HTTP status on stdout (000: no
# answer), the body in $WORK/body.
call() {
	c_m=$1
	c_p=$2
	shift 2
	curl -sS --cacert "$CA" -o "$WORK/body" -w '%{http_code}' -X "$c_m" \
	    "$@" "$H$c_p" 2>"$WORK/curl.err" || true
}

# expect STATUS JQ METHOD PATH [CURL ARGS...]: the call answers STATUS
# with a body for which jq expression JQ is true (JQ "": not looked at).
expect() {
	ex_want=$1
	ex_jq=$2
	shift 2
	ex_got=$(call "$@")
	echo "HTTP $ex_got: $(head -c 800 "$WORK/body")"
	cat "$WORK/curl.err"
	[ "$ex_got" = "$ex_want" ] || { echo "status $ex_got, want $ex_want"; return 1; }
	[ -z "$ex_jq" ] || jq -e "$ex_jq" "$WORK/body" >/dev/null ||
	    { echo "body: not $ex_jq"; return 1; }
}

ctl() { call POST /_control -H "Content-Type: application/json" -d "$1" >/dev/null; }
state() { call GET /_control/state >/dev/null; jq -e "$1" "$WORK/body"; }
# problem TEXT: a kept problem contains TEXT.
problem() { state "[.problems[] | select(contains(\"$1\"))] | length > 0"; }
no_problems() { state '.problems == []'; }
guid() { cat /proc/sys/kernel/random/uuid; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# --- tokens
form() {
	printf 'grant_type=client_credentials&client_id=%s&scope=%s%s' "$1" \
	    "$(printf %s "$2" | jq -sRr @uri)" "$3"
}
SECRET_ENC=$(printf %s "$SECRET" | jq -sRr @uri)
# token CLIENT SCOPE CREDENTIAL-FORM [URLPATH]: POST the form.
token() {
	call POST "${4:-/$TENANT/oauth2/v2.0/token}" \
	    -H "Content-Type: application/x-www-form-urlencoded" \
	    --data-binary "$(form "$1" "$2" "$3")"
}
# get_token SCOPE: a good access token by client secret.
get_token() {
	[ "$(token $CID "$1" "&client_secret=$SECRET_ENC")" = 200 ] &&
	    jq -r .access_token "$WORK/body"
}
# assertion KEY X5T AUD ISS JTI NBF EXP: a signed RS256 client assertion.
assertion() {
	as_h=$(printf '{"alg":"RS256","typ":"JWT","x5t":"%s"}' "$2" | b64url)
	as_c=$(printf '{"aud":"%s","iss":"%s","sub":"%s","jti":"%s","nbf":%s,"exp":%s}' \
	    "$3" "$4" "$4" "$5" "$6" "$7" | b64url)
	as_s=$(printf '%s.%s' "$as_h" "$as_c" | openssl dgst -sha256 -sign "$1" -binary | b64url)
	printf '&client_assertion_type=%s&client_assertion=%s.%s.%s' \
	    urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer \
	    "$as_h" "$as_c" "$as_s"
}
X5T=$(openssl x509 -in "$WORK/app.pem" -outform DER | openssl dgst -sha1 -binary | b64url)
NOW=$(date +%s)
good_assertion() {
	assertion "$WORK/app.key" "$X5T" "$TOKEN_URL" $CID "$1" $((NOW - 60)) $((NOW + 600))
}

check "the fake comes up" wait_for 100 state .counts
OKTOKEN='.token_type == "Bearer" and .expires_in == 3599 and .ext_expires_in == 3599 and (.access_token | type == "string" and length > 20)'
check "token: secret, Graph scope" expect 200 "$OKTOKEN" POST "/$TENANT/oauth2/v2.0/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    --data-binary "$(form $CID $GRAPH_SCOPE "&client_secret=$SECRET_ENC")"
check "token: secret, Intune scope" expect 200 "$OKTOKEN" POST "/$TENANT/oauth2/v2.0/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    --data-binary "$(form $CID $INTUNE_SCOPE "&client_secret=$SECRET_ENC")"
check "token: Intune scope with //.default" expect 200 "$OKTOKEN" POST "/$TENANT/oauth2/v2.0/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    --data-binary "$(form $CID https://api.manage.microsoft.com//.default "&client_secret=$SECRET_ENC")"
check "token: client assertion signed with openssl" expect 200 "$OKTOKEN" POST "/$TENANT/oauth2/v2.0/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    --data-binary "$(form $CID $INTUNE_SCOPE "$(good_assertion jti-1)")"
check "token: counted by audience" state \
    '.tokens_issued == {"https://graph.microsoft.com": 1, "https://api.manage.microsoft.com": 3} and .counts.token == 4'
check "token: good requests leave no problem" no_problems

# tokfail STATUS ERROR AADSTS CLIENT SCOPE CRED [PATH]: refused as Entra does.
tokfail() {
	tf_got=$(token "$4" "$5" "$6" "${7:-}")
	echo "HTTP $tf_got: $(cat "$WORK/body")"
	[ "$tf_got" = "$1" ] &&
	    jq -e --arg e "$2" --arg c "$3" '.error == $e and (.error_description | startswith($c))' "$WORK/body"
}
check "token: unknown tenant: 400 AADSTS90002" tokfail 400 invalid_request AADSTS90002 \
    $CID $GRAPH_SCOPE "&client_secret=$SECRET_ENC" /other-tenant/oauth2/v2.0/token
check "token: unknown client: 400 AADSTS700016" tokfail 400 unauthorized_client AADSTS700016 \
    11111111-2222-3333-4444-555555555555 $GRAPH_SCOPE "&client_secret=$SECRET_ENC"
check "token: wrong secret: 401 AADSTS7000215" tokfail 401 invalid_client AADSTS7000215 \
    $CID $GRAPH_SCOPE "&client_secret=wrong"
check "token: bad scope: 400 AADSTS70011" tokfail 400 invalid_scope AADSTS70011 \
    $CID https://graph.microsoft.com/User.Read "&client_secret=$SECRET_ENC"
check "token: no credential: 401 AADSTS7000218" tokfail 401 invalid_client AADSTS7000218 \
    $CID $GRAPH_SCOPE ""
check "token: replayed assertion (same jti): 401 AADSTS700025" tokfail 401 invalid_client AADSTS700025 \
    $CID $INTUNE_SCOPE "$(good_assertion jti-1)"
check "token: assertion signed by another key: 401 AADSTS700027" tokfail 401 invalid_client AADSTS700027 \
    $CID $INTUNE_SCOPE "$(assertion "$WORK/other.key" "$X5T" "$TOKEN_URL" $CID jti-2 $((NOW - 60)) $((NOW + 600)))"
check "token: assertion with another x5t: 401 AADSTS700027" tokfail 401 invalid_client AADSTS700027 \
    $CID $INTUNE_SCOPE "$(assertion "$WORK/app.key" AAAAAAAAAAAAAAAAAAAAAAAAAAA "$TOKEN_URL" $CID jti-3 $((NOW - 60)) $((NOW + 600)))"
check "token: assertion for another audience: 401 AADSTS700016" tokfail 401 invalid_client AADSTS700016 \
    $CID $INTUNE_SCOPE "$(assertion "$WORK/app.key" "$X5T" "https://login.microsoftonline.com/$TENANT/oauth2/v2.0/token" $CID jti-4 $((NOW - 60)) $((NOW + 600)))"
check "token: expired assertion: 401 AADSTS700024" tokfail 401 invalid_client AADSTS700024 \
    $CID $INTUNE_SCOPE "$(assertion "$WORK/app.key" "$X5T" "$TOKEN_URL" $CID jti-5 $((NOW - 7200)) $((NOW - 3600)))"
check "token: assertion issued by another app: 401 AADSTS700021" tokfail 401 invalid_client AADSTS700021 \
    $CID $INTUNE_SCOPE "$(assertion "$WORK/app.key" "$X5T" "$TOKEN_URL" someone-else jti-6 $((NOW - 60)) $((NOW + 600)))"
check "token: a JSON body: 400 AADSTS900144" expect 400 '.error == "invalid_request" and (.error_description | startswith("AADSTS900144"))' POST "/$TENANT/oauth2/v2.0/token" \
    -H "Content-Type: application/json" -d '{"grant_type":"client_credentials"}'
check "token: the refusals are kept as problems" state '.problems | length == 13'
check "token: problem named" problem "token: client_assertion: jti jti-1 used before"

# --- discovery
ctl '{"reset": true}'
GTOK=$(get_token $GRAPH_SCOPE)
ITOK=$(get_token $INTUNE_SCOPE)
DISC=/v1.0/servicePrincipals/appId=$APP/endpoints
DISC2="/v1.0/servicePrincipals(appId='$APP')/endpoints"
uri_of() { printf '[.value[] | select(.providerName == "%s") | .uri] == ["%s"]' "$1" "$2"; }
check "discovery: the SCEP validation service" expect 200 "$(uri_of ScepRequestValidationFEService "$H$SB")" \
    GET "$DISC" -H "Authorization: Bearer $GTOK" -H "client-request-id: $(guid)"
check "discovery: the PKI connector service" jq -e "$(uri_of PkiConnectorFEService "$H$PB")" "$WORK/body"
check "discovery: and decoys" jq -e '[.value[].providerName] | length >= 5' "$WORK/body"
check "discovery: the OData key form" expect 200 "$(uri_of ScepRequestValidationFEService "$H$SB")" \
    GET "$DISC2" -H "Authorization: Bearer $GTOK"
check "discovery: good requests leave no problem" no_problems
check "discovery: an Intune token: 401 InvalidAuthenticationToken" expect 401 \
    '.error.code == "InvalidAuthenticationToken"' GET "$DISC" -H "Authorization: Bearer $ITOK"
check "discovery: no token: 401" expect 401 '.error.code == "InvalidAuthenticationToken"' GET "$DISC"
check "discovery: both kept as problems" state '.problems | length == 2'
check "discovery: problem named" problem "discovery: token of audience https://api.manage.microsoft.com"
ctl '{"drop_scep_service": true}'
check "discovery: without the SCEP service (no consent)" expect 200 \
    '([.value[] | select(.providerName == "ScepRequestValidationFEService")] == []) and ([.value[] | select(.providerName == "PkiConnectorFEService")] | length == 1)' \
    GET "$DISC" -H "Authorization: Bearer $GTOK"
ctl '{"drop_scep_service": false, "deny_discovery": true}'
check "discovery: 403 Authorization_RequestDenied" expect 403 '.error.code == "Authorization_RequestDenied"' \
    GET "$DISC" -H "Authorization: Bearer $GTOK"
ctl '{"deny_discovery": false}'
check "discovery: a decoy's uri: 404, a problem" expect 404 "" POST /RACerts/Decoy/LegacyScepValidation/ScepActions/validateRequest
check "discovery: decoy counted" state '.counts.decoy == 1 and .counts.discovery == 6'

# --- ScepActions
ctl '{"reset": true}'
# post PATH JSON TOKEN API-VERSION CONTENT-TYPE REQUEST-ID (-: header left out)
post() {
	po_p=$1 po_j=$2 po_t=$3 po_v=$4 po_c=$5 po_r=$6
	shift 6
	for v in po_t po_v po_c po_r; do
		eval "[ \"\$$v\" != - ] || $v=''"
	done
	call POST "$po_p" ${po_t:+-H "Authorization: Bearer $po_t"} \
	    ${po_v:+-H "api-version: $po_v"} ${po_c:+-H "Content-Type: $po_c"} \
	    ${po_r:+-H "client-request-id: $po_r"} --data-binary "$po_j"
}
# scep STATUS JQ ACTION JSON: a correct ScepActions call.
scep() {
	sc_s=$1 sc_q=$2
	shift 2
	pexpect "$sc_s" "$sc_q" "$SB/ScepActions/$1" "$2" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
}
# pexpect STATUS JQ POST-ARGS...: like expect, with post.
pexpect() {
	pe_want=$1 pe_jq=$2
	shift 2
	pe_got=$(post "$@")
	echo "HTTP $pe_got: $(head -c 800 "$WORK/body")"
	cat "$WORK/curl.err"
	[ "$pe_got" = "$pe_want" ] || { echo "status $pe_got, want $pe_want"; return 1; }
	[ -z "$pe_jq" ] || jq -e "$pe_jq" "$WORK/body" >/dev/null || { echo "body: not $pe_jq"; return 1; }
}
vreq() {
	printf '{"request":{"transactionId":"%s","certificateRequest":"%s","callerInfo":"scepd selftest"}}' "$1" "$2"
}
THUMB=0123456789ABCDEF0123456789ABCDEF01234567
snote() {
	printf '{"notification":{"transactionId":"%s","certificateRequest":"%s","certificateThumbprint":"%s","certificateSerialNumber":"%s","certificateExpirationDateUtc":"%s","issuingCertificateAuthority":"CN=Test CA","caConfiguration":"scepd","callerInfo":"scepd selftest"}}' \
	    "$1" "$2" "${3:-$THUMB}" "${4:-4F3A0C}" "${5:-2027-06-11T16:11:20.090Z}"
}
fnote() {
	printf '{"notification":{"transactionId":"%s","certificateRequest":"%s","hResult":%s,"errorDescription":"%s","callerInfo":"scepd selftest"}}' \
	    "$1" "$2" "${3:--2147467259}" "${4:-the CA refused}"
}
SUCCESS='.code == "Success" and .errorDescription == ""'
UNKNOWN='.code == "Unknown" and (.errorDescription | length > 0)'
ctl '{"validate": {"tx-expired": "ChallengeExpired"}}'
check "validateRequest: Success" scep 200 "$SUCCESS" validateRequest "$(vreq tx-1 "$CSR1")"
check "validateRequest: scripted ChallengeExpired" scep 200 \
    '.code == "ChallengeExpired" and (.errorDescription | length > 0)' validateRequest "$(vreq tx-expired "$CSR2")"
check "successNotification: Success" scep 200 "$SUCCESS" successNotification "$(snote tx-1 "$CSR1")"
check "validateRequest: a second transaction" scep 200 "$SUCCESS" validateRequest "$(vreq tx-2 "$CSR2")"
check "failureNotification: Success" scep 200 "$SUCCESS" failureNotification "$(fnote tx-2 "$CSR2")"
check "notifications: kept in the state" state \
    '[.notifications[].endpoint] == ["successNotification", "failureNotification"] and .notifications[0].notification.certificateThumbprint == "'$THUMB'"'
ctl '{"notify_code": {"tx-3": "Unknown"}, "default_code": "SubjectNameMismatch"}'
check "validateRequest: default_code" scep 200 '.code == "SubjectNameMismatch"' validateRequest "$(vreq tx-9 "$CSR1")"
ctl '{"default_code": "Success"}'
scep 200 "$SUCCESS" validateRequest "$(vreq tx-3 "$CSR1")" >/dev/null
check "successNotification: scripted Unknown" scep 200 '.code == "Unknown"' successNotification "$(snote tx-3 "$CSR1")"
check "ScepActions: good requests leave no problem" no_problems

# bad STATUS TEXT POST-ARGS...: refused with STATUS, problem TEXT kept.
bad() {
	bd_s=$1 bd_t=$2
	shift 2
	if [ "$bd_s" = 400 ]; then bd_q=$UNKNOWN; else bd_q=""; fi
	pexpect "$bd_s" "$bd_q" "$@" && problem "$bd_t"
}
V=$SB/ScepActions/validateRequest
S=$SB/ScepActions/successNotification
F=$SB/ScepActions/failureNotification
check "validateRequest: a Graph token: 401" bad 401 "token of audience https://graph.microsoft.com" \
    "$V" "$(vreq tx-4 "$CSR1")" "$GTOK" 2018-02-20 "$JSON" "$(guid)"
check "validateRequest: no token: 401" bad 401 "no Authorization: Bearer" \
    "$V" "$(vreq tx-4 "$CSR1")" - 2018-02-20 "$JSON" "$(guid)"
check "validateRequest: api-version 5019-05-05: 400" bad 400 "api-version ['5019-05-05'], want 2018-02-20" \
    "$V" "$(vreq tx-4 "$CSR1")" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "validateRequest: no api-version: 400" bad 400 "api-version None" \
    "$V" "$(vreq tx-4 "$CSR1")" "$ITOK" - "$JSON" "$(guid)"
RID=$(guid)
scep 200 "" validateRequest "$(vreq tx-5 "$CSR1")" >/dev/null
check "validateRequest: first use of a client-request-id" pexpect 200 "$SUCCESS" \
    "$V" "$(vreq tx-5 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" "$RID"
check "validateRequest: a reused client-request-id: 400" bad 400 "client-request-id $RID used before" \
    "$V" "$(vreq tx-5 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" "$RID"
check "validateRequest: no client-request-id: 400" bad 400 "no client-request-id" \
    "$V" "$(vreq tx-5 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" -
check "validateRequest: a client-request-id not a GUID: 400" bad 400 "is not a GUID" \
    "$V" "$(vreq tx-5 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" 12345
check "validateRequest: Content-Type text/plain: 400" bad 400 "Content-Type 'text/plain'" \
    "$V" "$(vreq tx-5 "$CSR1")" "$ITOK" 2018-02-20 text/plain "$(guid)"
check "validateRequest: a CSR in lines (PEM base64): 400" bad 400 "not standard base64" \
    "$V" "$(vreq tx-5 "$(printf %s "$PEMCSR" | jq -sR . | tr -d '"')")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "validateRequest: a CSR with a bad signature: 400" bad 400 "good self-signature" \
    "$V" "$(vreq tx-5 "$BADCSR")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "validateRequest: empty transactionId: 400" bad 400 "transactionId is empty" \
    "$V" "$(vreq "" "$CSR1")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "validateRequest: an unknown field: 400" bad 400 "unknown field request.pkcs10" \
    "$V" '{"request":{"transactionId":"t","certificateRequest":"'"$CSR1"'","callerInfo":"x","pkcs10":1}}' \
    "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "validateRequest: callerInfo missing: 400" bad 400 "request.callerInfo missing" \
    "$V" '{"request":{"transactionId":"t","certificateRequest":"'"$CSR1"'"}}' \
    "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: notified twice: 400" bad 400 "transaction tx-1 has no validation answered Success" \
    "$S" "$(snote tx-1 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: after ChallengeExpired: 400" bad 400 "transaction tx-expired has no validation" \
    "$S" "$(snote tx-expired "$CSR2")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: another CSR than validated: 400" bad 400 "differs from the one validated" \
    "$S" "$(snote tx-5 "$CSR2")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: a lower-case thumbprint: 400" bad 400 "certificateThumbprint '0123456789abcdef" \
    "$S" "$(snote tx-5 "$CSR1" 0123456789abcdef0123456789abcdef01234567)" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: a serial with colons: 400" bad 400 "certificateSerialNumber '4F:3A'" \
    "$S" "$(snote tx-5 "$CSR1" "$THUMB" 4F:3A)" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: an expiry without Z: 400" bad 400 "certificateExpirationDateUtc '2027-06-11 16:11:20'" \
    "$S" "$(snote tx-5 "$CSR1" "$THUMB" 4F3A "2027-06-11 16:11:20")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "failureNotification: hResult a string: 400" bad 400 "hResult is not a 32-bit integer" \
    "$F" "$(fnote tx-5 "$CSR1" '"0x80004005"')" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "failureNotification: errorDescription of 256 characters: 400" bad 400 "errorDescription is longer than 255" \
    "$F" "$(fnote tx-5 "$CSR1" 1 "$(printf '%0256d' 0)")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "successNotification: tx-5 is still open after the refusals" scep 200 "$SUCCESS" \
    successNotification "$(snote tx-5 "$CSR1")"

# --- scripted failures, once each
ctl '{"reset": true}'
scep 200 "$SUCCESS" validateRequest "$(vreq tx-6 "$CSR1")" >/dev/null
ctl '{"fail_next": {"successNotification": "http500", "validateRequest": "http503", "failureNotification": "garbage"}}'
check "fail_next http500" scep 500 "" successNotification "$(snote tx-6 "$CSR1")"
check "fail_next: once, with no effect: the retry succeeds" scep 200 "$SUCCESS" successNotification "$(snote tx-6 "$CSR1")"
check "fail_next http503 with Retry-After" sh -c \
    "curl -sS -D - -o /dev/null --cacert '$CA' -H 'Authorization: Bearer $ITOK' -H 'api-version: 2018-02-20' \
    -H 'Content-Type: application/json' -H 'client-request-id: $(guid)' --data-binary '$(vreq tx-7 "$CSR1")' \
    $H$V | tee /dev/stderr | grep -qi '^Retry-After: 1'"
check "fail_next garbage: 200, not JSON" sh -c "[ \"\$(curl -sS -o '$WORK/g' -w '%{http_code}' --cacert '$CA' \
    -H 'Authorization: Bearer $ITOK' -H 'api-version: 2018-02-20' -H 'Content-Type: application/json' \
    -H 'client-request-id: $(guid)' --data-binary '{}' $H$F)\" = 200 ] && ! jq . '$WORK/g'"
ctl '{"fail_next": {"validateRequest": "close"}}'
check "fail_next close: no answer" scep 000 "" validateRequest "$(vreq tx-7 "$CSR1")"
check "fail_next close: curl saw the connection closed" grep -q "Empty reply" "$WORK/curl.err"
ctl '{"fail_next": {"validateRequest": "badjson"}}'
check "fail_next badjson: 200, code not a string" scep 200 '.code | type != "string"' validateRequest "$(vreq tx-7 "$CSR1")"
ctl '{"fail_next": {"validateRequest": "unauthorized"}}'
check "fail_next unauthorized: 401" scep 401 "" validateRequest "$(vreq tx-7 "$CSR1")"
check "fail_next unauthorized: not a problem" no_problems
check "fail_next unauthorized: the token stays refused (a problem)" \
    bad 401 "token used again after it was refused" "$V" "$(vreq tx-7 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
ITOK=$(get_token $INTUNE_SCOPE)
check "fail_next unauthorized: a new token works" scep 200 "$SUCCESS" validateRequest "$(vreq tx-7 "$CSR1")"
ctl '{"reset": true, "fail_next": {"token": "http500", "discovery": "close"}}'
check "fail_next token http500" expect 500 "" POST "/$TENANT/oauth2/v2.0/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    --data-binary "$(form $CID $GRAPH_SCOPE "&client_secret=$SECRET_ENC")"
check "fail_next discovery close" expect 000 "" GET "$DISC" -H "Authorization: Bearer $GTOK"
check "fail_next: the fake still answers" expect 200 "$(uri_of ScepRequestValidationFEService "$H$SB")" \
    GET "$DISC" -H "Authorization: Bearer $GTOK"
ctl '{"delay_ms": 300}'
# A lower bound only: the fake sleeps at least this long.
check "delay_ms: the call waits" sh -c "t=\$(curl -sS -o /dev/null -w '%{time_total}' --cacert '$CA' \
    -H 'Authorization: Bearer $GTOK' '$H$DISC'); echo \$t; awk -v t=\$t 'BEGIN { exit !(t >= 0.3) }'"
# settle answers once the delayed call has been answered.
settled() {
	curl -sS -o /dev/null --cacert "$CA" -H "Authorization: Bearer $GTOK" "$H$DISC" &
	cpid=$!
	i=0
	until state '.in_flight == 1' >/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { kill $cpid; return 1; }
	done
	ctl '{"settle": true}' && state '.in_flight == 0' && wait $cpid
}
check "settle: waits for a delayed call still being handled" settled
ctl '{"delay_ms": 0, "token_lifetime": 0}'
ZTOK=$(get_token $INTUNE_SCOPE)
check "token_lifetime 0: expires_in 0" jq -e '.expires_in == 0' "$WORK/body"
check "token_lifetime 0: the token is expired: 401, a problem" \
    bad 401 "token used after it expired" "$V" "$(vreq tx-8 "$CSR1")" "$ZTOK" 2018-02-20 "$JSON" "$(guid)"
ctl '{"reset": true, "expire_tokens": true}'
check "expire_tokens: a token issued before: 401" scep 401 "" validateRequest "$(vreq tx-8 "$CSR1")"
check "expire_tokens: not a problem" no_problems
ITOK=$(get_token $INTUNE_SCOPE)
GTOK=$(get_token $GRAPH_SCOPE)

# --- the services move
ctl '{"move_services": true}'
check "move_services: the old base closes the connection" scep 000 "" validateRequest "$(vreq tx-8 "$CSR1")"
check "move_services: discovery shows the new base" expect 200 \
    '[.value[] | select(.providerName == "ScepRequestValidationFEService") | .uri] | length == 1 and (.[0] | contains("/RACerts-1/"))' \
    GET "$DISC" -H "Authorization: Bearer $GTOK"
NSB=$(jq -r '.value[] | select(.providerName == "ScepRequestValidationFEService") | .uri' "$WORK/body")
NPB=$(jq -r '.value[] | select(.providerName == "PkiConnectorFEService") | .uri' "$WORK/body")
check "move_services: the new base answers" pexpect 200 "$SUCCESS" \
    "${NSB#"$H"}/ScepActions/validateRequest" "$(vreq tx-8 "$CSR1")" "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "move_services: counted, no problem" state '.counts.moved == 1 and .problems == []'

# --- revocation, on the moved PKI base
PB=${NPB#"$H"}
D=$PB/CertificateAuthorityRequests/downloadRevocationRequests
U=$PB/CertificateAuthorityRequests/uploadRevocationResults
pki() {
	pk_s=$1 pk_q=$2
	shift 2
	pexpect "$pk_s" "$pk_q" "$1" "$2" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
}
ctl '{"revoke": [{"serialNumber": "0A1B", "issuerName": "CN=Test CA", "caConfiguration": "scepd"},
    {"serialNumber": "0A1C", "issuerName": "CN=Test CA", "caConfiguration": "scepd"},
    {"serialNumber": "77", "issuerName": "CN=Other CA", "caConfiguration": "other"}]}'
check "revoke: three queued" state '.queued == 3'
check "download: maxRequests 2, any issuer" pki 200 \
    '[.value[].serialNumber] == ["0A1B", "0A1C"] and all(.value[]; (.requestContext | length > 0) and .issuerName == "CN=Test CA" and .caConfiguration == "scepd")' \
    "$D" '{"downloadParameters":{"maxRequests":2,"issuerName":null}}'
CTX1=$(jq -r '.value[0].requestContext' "$WORK/body")
CTX2=$(jq -r '.value[1].requestContext' "$WORK/body")
check "download: by issuer" pki 200 '[.value[].serialNumber] == ["77"]' \
    "$D" '{"downloadParameters":{"maxRequests":500,"issuerName":"CN=Other CA"}}'
CTX3=$(jq -r '.value[0].requestContext' "$WORK/body")
result() { printf '{"requestContext":"%s","succeeded":%s,"errorCode":"%s","errorMessage":"%s"}' "$@"; }
check "upload: numeric and named codes" pki 200 '. == {"value": true}' \
    "$U" "{\"results\":[$(result "$CTX1" true 0 ""),$(result "$CTX2" false CertificateNotFoundError "no such serial")]}"
check "upload: the answered left the queue" state \
    '.queued == 1 and [.uploads[] | [.serialNumber, .succeeded, .errorCode]] == [["0A1B", true, "0"], ["0A1C", false, "CertificateNotFoundError"]]'
check "revocation: good requests leave no problem" no_problems
check "download: maxRequests 0: 400" bad 400 "maxRequests 0 is not in 1..500" \
    "$D" '{"downloadParameters":{"maxRequests":0,"issuerName":null}}' "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "download: maxRequests 501: 400" bad 400 "maxRequests 501" \
    "$D" '{"downloadParameters":{"maxRequests":501,"issuerName":null}}' "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "download: issuerName missing: 400" bad 400 "downloadParameters.issuerName missing" \
    "$D" '{"downloadParameters":{"maxRequests":5}}' "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "download: api-version 2018-02-20: 400" bad 400 "want 5019-05-05" \
    "$D" '{"downloadParameters":{"maxRequests":5,"issuerName":null}}' "$ITOK" 2018-02-20 "$JSON" "$(guid)"
check "upload: answered already: 400" bad 400 "was not downloaded or is answered already" \
    "$U" "{\"results\":[$(result "$CTX1" true 0 "")]}" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
ctl '{"revoke": [{"serialNumber": "99", "issuerName": "CN=Test CA", "caConfiguration": "scepd", "requestContext": "never-downloaded"}]}'
check "upload: not downloaded: 400" bad 400 "'never-downloaded' was not downloaded" \
    "$U" "{\"results\":[$(result never-downloaded true 0 "")]}" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "upload: succeeded with 4004: 400" bad 400 "succeeded with errorCode '4004'" \
    "$U" "{\"results\":[$(result "$CTX3" true 4004 "")]}" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "upload: an unknown code: 400" bad 400 "errorCode '42' is no known code" \
    "$U" "{\"results\":[$(result "$CTX3" false 42 "x")]}" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "upload: failed with None: 400" bad 400 "failed with errorCode None" \
    "$U" "{\"results\":[$(result "$CTX3" false None "x")]}" "$ITOK" 5019-05-05 "$JSON" "$(guid)"
check "upload: the refused ones took nothing" state '.queued == 2 and (.uploads | length == 2)'
ctl '{"fail_next": {"uploadRevocationResults": "http500", "downloadRevocationRequests": "badjson"}}'
check "fail_next download badjson" pki 200 '.value[0].requestContext | type != "string"' \
    "$D" '{"downloadParameters":{"maxRequests":5,"issuerName":null}}'
check "fail_next upload http500: nothing taken" pki 500 "" "$U" "{\"results\":[$(result "$CTX3" true 0 "")]}"
check "upload: after the injected 500 it is taken" pki 200 '.value == true' "$U" "{\"results\":[$(result "$CTX3" true None "")]}"
check "upload: queue and uploads" state '.queued == 1 and (.uploads | length == 3)'

# --- control itself, and the record
check "control: an unknown key: 400" expect 400 '.error | contains("unknown key")' POST /_control -d '{"bogus": 1}'
check "control: an unknown code: 400" expect 400 '.error | contains("validate")' POST /_control -d '{"validate": {"t": "Fine"}}'
check "control: an unknown endpoint in fail_next: 400" expect 400 '.error | contains("fail_next")' \
    POST /_control -d '{"fail_next": {"graph": "close"}}'
check "control: reset" sh -c "curl -sS --cacert '$CA' -d '{\"reset\": true}' $H/_control >/dev/null &&
    curl -sS --cacert '$CA' $H/_control/state | jq -e '.problems == [] and .queued == 0 and .uploads == [] and
    (.counts | all(.[]; . == 0)) and .scep_base == \"$SB\"'"
check "record: one line per request, every field" sh -c "jq -se 'length > 100 and all(.[];
    has(\"endpoint\") and has(\"method\") and has(\"path\") and (.headers | type == \"object\") and
    has(\"body\") and (.problems | type == \"array\") and has(\"status\") and has(\"injected\"))' '$REC'"
check "record: bearer tokens masked" sh -c "! grep -qF -e '$ITOK' -e '$GTOK' '$REC' &&
    grep -q '\"authorization\": \"Bearer \*\*\*\"' '$REC'"
check "record: the secret and assertions masked" sh -c "! grep -qF -e 's3cret' -e '$X5T' '$REC' &&
    jq -se '[.[] | select(.endpoint == \"token\") | .body | objects | (.client_secret, .client_assertion) | strings]
    | length > 10 and all(. == \"***\")' '$REC'"
check "record: a refused request carries its problems" sh -c "jq -se '[.[] | select(.status == 400 and .endpoint == \"validateRequest\")
    | .problems | length > 0] | length > 5 and all' '$REC'"
check "the fake is still running" kill -0 "$FPID"

summary
