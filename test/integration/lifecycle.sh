#!/bin/sh
# Devices and revocation end to end (issue 4): certificates issued over
# SCEP by strongSwan's pki, then every lifecycle transition checked four
# ways: the relying-party API, openssl verify -crl_check with the CRL from
# the URL in the certificate, openssl ocsp against the OCSP URL in the
# certificate, and SCEP GetCRL.  Also: clone detection, revocation
# commands, the unused-certificate sweep with a moved clock, two processes
# racing the sweep, and two scepd processes seeing each other's changes.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
CTL=$BUILD/scepctl
PORT=18601
PORT2=18602
DB=it_lifecycle
DIR=$WORK/ca
URL=http://127.0.0.1:$PORT/scep
API=http://127.0.0.1:$PORT/api/v1
trap 'stop_scepd $PORT; stop_scepd $PORT2' EXIT

setup_ca "$DIR" $DB ra "
challenge_key = \"$(openssl rand -hex 32)\";
template = {
  device_id = \"{csr.cn}\";
  crl_url = \"http://127.0.0.1:$PORT/scep/crl/default.crl\";
  ocsp_url = \"http://127.0.0.1:$PORT/ocsp\";
};
unused_days = 90;
sweep_interval = 3600;
" || { echo "cannot set up the CA"; exit 1; }
CONF=$DIR/scepd.conf
start_scepd "$CONF" $PORT || exit 1
TOKEN=$("$CTL" -c "$CONF" token create lifecycle-test 2>/dev/null)
secret "$TOKEN"

pki --scepca --url "$URL" --caout "$WORK/ca.der" --raout "$WORK/ra.der" >/dev/null 2>&1
openssl x509 -inform DER -in "$WORK/ca.der" -out "$WORK/ca.pem"

# enroll CN: a certificate for device CN from strongSwan; prints its serial.
enroll() {
	pki --gen --type rsa --size 2048 --outform pem >"$WORK/$1.key" 2>/dev/null &&
	timeout 60 pki --scep --url "$URL" --in "$WORK/$1.key" --dn "CN=$1" \
	    --password interop-secret-1 --cacert-enc "$WORK/ra.der" \
	    --cacert-sig "$WORK/ra.der" --cacert "$WORK/ca.der" \
	    --outform pem >"$WORK/$1.pem" 2>"$WORK/$1.err" &&
	openssl x509 -in "$WORK/$1.pem" -noout -serial | sed 's/serial=//; s/^0*//'
}

api() {	# METHOD PATH [JSON]: prints the body, then the status on a line
	curl -s -X "$1" -H "Authorization: Bearer $TOKEN" \
	    ${3:+-H 'Content-Type: application/json' --data "$3"} \
	    -w '\n%{http_code}' "$API$2"
}
field() { sed '$d' | python3 -c "import json,sys; v=json.load(sys.stdin).get('$1'); print('null' if v is None else (str(v).lower() if isinstance(v,bool) else v))"; }

# The CRL from the certificate's own CRL distribution point.
crl_says() {	# CN -> "OK" or "revoked"
	url=$(openssl x509 -in "$WORK/$1.pem" -noout -ext crlDistributionPoints |
	    sed -n 's/.*URI://p')
	curl -fsS "$url" | openssl crl -inform DER -out "$WORK/crl.pem" || return 1
	if openssl verify -crl_check -CAfile "$WORK/ca.pem" -CRLfile "$WORK/crl.pem" \
	    "$WORK/$1.pem" >/dev/null 2>&1; then echo OK; else
		openssl verify -crl_check -CAfile "$WORK/ca.pem" -CRLfile "$WORK/crl.pem" \
		    "$WORK/$1.pem" 2>&1 | grep -q "certificate revoked" && echo revoked
	fi
}
# OCSP at the certificate's own AIA URL: good, revoked or unknown.
ocsp_says() {
	url=$(openssl x509 -in "$WORK/$1.pem" -noout -ocsp_uri)
	openssl ocsp -issuer "$WORK/ca.pem" -cert "$WORK/$1.pem" -url "$url" \
	    -CAfile "$WORK/ca.pem" 2>&1 | sed -n "s|^$WORK/$1.pem: ||p" | head -n 1
}
# SCEP GetCRL (sceptool), then the same verification.
getcrl_says() {
	s=$(openssl x509 -in "$WORK/$1.pem" -noout -serial | sed 's/serial=//; s/^0*//')
	$T getcrl -u "$URL" --ca "$WORK/ra.pem" -k "$WORK/$1.key" --serial "$s" \
	    --issuer "/O=scepd test/CN=Test CA ra" -o "$WORK/getcrl.der" >/dev/null 2>&1 ||
	    return 1
	openssl crl -inform DER -in "$WORK/getcrl.der" -out "$WORK/getcrl.pem" 2>/dev/null ||
	    openssl crl -in "$WORK/getcrl.der" -out "$WORK/getcrl.pem" || return 1
	if openssl verify -crl_check -CAfile "$WORK/ca.pem" -CRLfile "$WORK/getcrl.pem" \
	    "$WORK/$1.pem" >/dev/null 2>&1; then echo OK; else echo revoked; fi
}
openssl x509 -inform DER -in "$WORK/ra.der" -out "$WORK/ra.pem"

# expect CN API-STATUS MANAGED CRL OCSP [REASON]: every view agrees.
expect() {
	s=$(openssl x509 -in "$WORK/$1.pem" -noout -serial | sed 's/serial=//; s/^0*//')
	body=$(api GET "/certificates/$s")
	st=$(echo "$body" | field status)
	mg=$(echo "$body" | field managed)
	crl=$(crl_says "$1")
	oc=$(ocsp_says "$1")
	gc=$(getcrl_says "$1")
	echo "api=$st managed=$mg crl=$crl ocsp=$oc getcrl=$gc"
	[ "$st" = "$2" ] && [ "$mg" = "$3" ] && [ "$crl" = "$4" ] &&
	    [ "$oc" = "$5" ] && [ "$gc" = "$4" ] || return 1
	if [ -n "${6:-}" ]; then
		echo "$body" | field reason | grep -qx "$6" || return 1
	fi
}

table=""
row() { table="$table
  $(printf '%-44s %s' "$1" "$2")"; }

S1=$(enroll dev-a)
check "strongSwan enrolls dev-a (device from {csr.cn})" sh -c "
	[ -n '$S1' ] && psql -X -qAt '$(conninfo $DB)' -c \"SELECT device_id FROM scepd.certificates
	    WHERE serial = '$S1'\" | grep -qx dev-a"
check "certificate carries CRL and OCSP URLs" sh -c "
	openssl x509 -in '$WORK/dev-a.pem' -noout -ext crlDistributionPoints,authorityInfoAccess |
	    grep -q 'scep/crl/default.crl' &&
	openssl x509 -in '$WORK/dev-a.pem' -noout -ocsp_uri | grep -q /ocsp"
check "issued, not yet bound: valid, not managed" settled expect dev-a valid false OK good
row "issued, unbound" "valid / not managed / CRL OK / OCSP good"

bind() { api POST /bindings "{\"serial\": \"$1\", \"device_id\": \"$2\"}"; }
check "first binding (PEM) binds to dev-a: 200, managed" sh -c "
	body=\$(curl -s -X POST -H 'Authorization: Bearer $TOKEN' -w '\n%{http_code}' \
	    --data \"\$(python3 -c 'import json,sys; print(json.dumps({\"certificate\": open(sys.argv[1]).read(), \"device_id\": \"dev-a\"}))' '$WORK/dev-a.pem')\" \
	    '$API/bindings'); echo \"\$body\"
	[ \"\$(echo \"\$body\" | tail -n 1)\" = 200 ] &&
	echo \"\$body\" | sed '\$d' | grep -q '\"binding\":\"new\"' &&
	echo \"\$body\" | sed '\$d' | grep -q '\"managed\":true'"
check "active + bound: valid, managed" settled expect dev-a valid true OK good
row "device active, bound" "valid / managed / CRL OK / OCSP good"
check "binding again from the same device: 200, last use recorded" sh -c "
	bind_out=\$(curl -s -X POST -H 'Authorization: Bearer $TOKEN' -w '\n%{http_code}' \
	    --data '{\"serial\": \"$S1\", \"device_id\": \"dev-a\"}' '$API/bindings')
	[ \"\$(echo \"\$bind_out\" | tail -n 1)\" = 200 ] &&
	echo \"\$bind_out\" | grep -q '\"binding\":\"same\"' &&
	echo \"\$bind_out\" | grep -q last_used_at"

state() { api PUT "/devices/$1" "{\"state\": \"$2\"}" | tail -n 1; }
check "device suspended (API)" sh -c "[ \"\$(curl -s -X PUT -H 'Authorization: Bearer $TOKEN' \
    --data '{\"state\":\"suspended\"}' -o /dev/null -w '%{http_code}' '$API/devices/dev-a')\" = 200 ]"
check "suspended: valid, not managed" settled expect dev-a valid false OK good
row "device suspended" "valid / not managed / CRL OK / OCSP good"
check "device deactivated (scepctl)" "$CTL" -c "$CONF" device set-state dev-a deactivated
check "deactivated: on hold" settled expect dev-a hold false revoked revoked certificateHold
row "device deactivated" "hold / not managed / CRL certificateHold / OCSP revoked"
check "device reactivated (API)" sh -c "[ \"\$(curl -s -X PUT -H 'Authorization: Bearer $TOKEN' \
    --data '{\"state\":\"active\"}' -o /dev/null -w '%{http_code}' '$API/devices/dev-a')\" = 200 ]"
check "reactivated: hold released, managed again" settled expect dev-a valid true OK good
row "device reactivated" "valid / managed / off the CRL / OCSP good"
check "device deleted (API)" sh -c "[ \"\$(curl -s -X PUT -H 'Authorization: Bearer $TOKEN' \
    --data '{\"state\":\"deleted\"}' -o /dev/null -w '%{http_code}' '$API/devices/dev-a')\" = 200 ]"
check "deleted: revoked" settled expect dev-a revoked false revoked revoked cessationOfOperation
row "device deleted" "revoked (cessationOfOperation) for good"
check "a deleted device cannot come back: 409" sh -c "[ \"\$(curl -s -X PUT -H 'Authorization: Bearer $TOKEN' \
    --data '{\"state\":\"active\"}' -o /dev/null -w '%{http_code}' '$API/devices/dev-a')\" = 409 ]"
check "status changes are audited with who did it" sh -c "
	psql -X -qAt '$(conninfo $DB)' -c \"SELECT actor FROM scepd.audit
	    WHERE action = 'device-state' AND object = 'dev-a' ORDER BY id\" |
	    tr '\n' ' ' | grep -q 'api:lifecycle-test scepctl:.* api:lifecycle-test api:lifecycle-test'"

# Clone detection.
S2=$(enroll dev-b)
check "clone: binding from another device is 409 and revokes" sh -c "
	curl -s -X POST -H 'Authorization: Bearer $TOKEN' --data '{\"serial\": \"$S2\", \"device_id\": \"dev-b\"}' '$API/bindings' >/dev/null
	code=\$(curl -s -X POST -H 'Authorization: Bearer $TOKEN' -o '$WORK/clone.json' -w '%{http_code}' \
	    --data '{\"serial\": \"$S2\", \"device_id\": \"dev-evil\"}' '$API/bindings')
	cat '$WORK/clone.json'; [ \"\$code\" = 409 ] &&
	grep -q '\"clone_seen_on\":\"dev-evil\"' '$WORK/clone.json' &&
	grep -q 'cloned credential' '$WORK/scepd-$PORT.log'"
check "cloned certificate: revoked keyCompromise everywhere" \
    settled expect dev-b revoked false revoked revoked keyCompromise
row "clone seen (second device)" "409, revoked (keyCompromise)"

# Revocation commands and their API twins.
S3=$(enroll dev-c)
check "scepctl cert hold" "$CTL" -c "$CONF" cert hold "$S3"
check "held: CRL and OCSP say revoked (hold)" \
    settled expect dev-c hold false revoked revoked certificateHold
check "scepctl cert release" "$CTL" -c "$CONF" cert release "$S3"
check "released: valid everywhere" settled expect dev-c valid false OK good
check "API hold then release" sh -c "
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $TOKEN' '$API/certificates/$S3/hold')\" = 200 ] &&
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $TOKEN' '$API/certificates/$S3/release')\" = 200 ]"
check "API revoke superseded" sh -c "
	curl -s -X POST -H 'Authorization: Bearer $TOKEN' --data '{\"reason\":\"superseded\"}' \
	    '$API/certificates/$S3/revoke' | grep -q '\"reason\":\"superseded\"'"
check "revoked: everywhere, reason superseded" settled expect dev-c revoked false revoked revoked superseded
check "revoking twice is harmless" "$CTL" -c "$CONF" cert revoke "$S3" --reason keyCompromise
check "release of a revoked certificate is refused" \
    fails_with 1 "certificate $S3 is revoked" "$CTL" -c "$CONF" cert release "$S3"
check "unknown serial: clear error" sh -c "
	'$CTL' -c '$CONF' cert revoke 1234ABCD 2>&1 | grep -q 'no certificate with serial 1234ABCD' &&
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' '$API/certificates/1234ABCD')\" = 404 ]"
check "API without a token: 401" sh -c "
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$API/certificates/$S3')\" = 401 ]"
check "OCSP for another CA's certificate: unauthorized" sh -c "
	openssl req -x509 -newkey rsa:2048 -nodes -keyout '$WORK/o.key' -out '$WORK/o.pem' -subj /CN=other -days 1 2>/dev/null
	openssl ocsp -issuer '$WORK/o.pem' -serial 0x11 -url http://127.0.0.1:$PORT/ocsp 2>&1 | grep -qi unauthorized"

# Two processes: a change through one is seen at once in the other's
# OCSP answers, and within a second in its CRL.
start_scepd "$CONF" $PORT2 || true
S4=$(enroll dev-d)
crl_number_at() {
	curl -fsS "http://127.0.0.1:$1/scep/crl/default.crl" |
	    openssl crl -inform DER -noout -crlnumber | sed 's/.*=//; s/^0x//'
}
A=$(crl_number_at $PORT)
check "hold through the first scepd's API" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' \
    -X POST -H 'Authorization: Bearer $TOKEN' '$API/certificates/$S4/hold')\" = 200 ]"
check "the other scepd's OCSP says revoked at once" sh -c "
	openssl ocsp -issuer '$WORK/ca.pem' -cert '$WORK/dev-d.pem' -url http://127.0.0.1:$PORT2/ocsp \
	    -CAfile '$WORK/ca.pem' 2>&1 | grep -q ': revoked'"
check "the other scepd's CRL lists it" settled sh -c "
	curl -fsS http://127.0.0.1:$PORT2/scep/crl/default.crl | openssl crl -inform DER -noout -text |
	    grep -q 'Serial Number: 0*$S4'"
numbers_grew() { [ $((0x$(crl_number_at $PORT2))) -gt $((0x$A)) ]; }
check "CRL numbers only grow" settled numbers_grew
check "CRL is served with caching headers and 304 on If-None-Match" sh -c "
	h=\$(curl -s -D - -o /dev/null http://127.0.0.1:$PORT/scep/crl/default.crl | tr -d '\r')
	echo \"\$h\" | grep -qi '^Cache-Control: public, max-age=' &&
	etag=\$(echo \"\$h\" | sed -n 's/^ETag: //Ip') &&
	[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H \"If-None-Match: \$etag\" http://127.0.0.1:$PORT/scep/crl/default.crl)\" = 304 ]"

# A delegated OCSP signer (EKU OCSPSigning, issued by the CA) signs the
# answers of a scepd configured with it.
delegated_ocsp() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$DIR/ocsp.key" -subj "/CN=Test OCSP signer" \
	    -out "$WORK/ocsp.csr" 2>/dev/null || return 1
	# scepd refuses a key its group or others may read.
	chmod 600 "$DIR/ocsp.key" || return 1
	printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n' \
	    >"$WORK/ocsp.ext"
	openssl x509 -req -in "$WORK/ocsp.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
	    -CAcreateserial -days 2 -extfile "$WORK/ocsp.ext" -out "$DIR/ocsp.pem" \
	    2>/dev/null || return 1
	sed 's/^ca = { /ca = { ocsp_cert = "ocsp.pem"; ocsp_key = "ocsp.key"; /' \
	    "$CONF" >"$DIR/ocsp.conf"
	start_scepd "$DIR/ocsp.conf" 18605 || return 1
	openssl ocsp -issuer "$WORK/ca.pem" -cert "$WORK/dev-d.pem" \
	    -url http://127.0.0.1:18605/ocsp -CAfile "$WORK/ca.pem" -resp_text \
	    >"$WORK/ocsp-delegated.txt" 2>&1
	stop_scepd 18605
	cat "$WORK/ocsp-delegated.txt" | grep -E 'Response verify|Responder Id|Subject:|dev-d'
	grep -q 'Response verify OK' "$WORK/ocsp-delegated.txt" &&
	    grep -q 'Subject: CN *= *Test OCSP signer' "$WORK/ocsp-delegated.txt" &&
	    grep -q 'OCSP Signing' "$WORK/ocsp-delegated.txt"
}
check "delegated OCSP signer: response verifies, signed by the OCSP certificate" delegated_ocsp

# The unused-certificate sweep: dev-e is never bound, dev-f is.
S5=$(enroll dev-e)
S6=$(enroll dev-f)
curl -s -X POST -H "Authorization: Bearer $TOKEN" \
    --data "{\"serial\": \"$S6\", \"device_id\": \"dev-f\"}" "$API/bindings" >/dev/null
check "sweep at issuance + 89 days revokes nothing" sh -c "
	'$CTL' -c '$CONF' sweep unused --at \$(date -u -d '+89 days' +%Y-%m-%dT%H:%M:%SZ) | grep -q ': 0 unused'"
check "two processes sweep at issuance + 91 days: each unused certificate revoked once" sh -c "
	at=\$(date -u -d '+91 days' +%Y-%m-%dT%H:%M:%SZ)
	'$CTL' -c '$CONF' sweep unused --at \$at >'$WORK/sw1' & p1=\$!
	'$CTL' -c '$CONF' sweep unused --at \$at >'$WORK/sw2' & p2=\$!
	wait \$p1 && wait \$p2; cat '$WORK/sw1' '$WORK/sw2'
	n=\$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit
	    WHERE action = 'revoke' AND detail LIKE 'unused%' AND object = '$S5'\")
	[ \"\$n\" = 1 ]"
check "unused certificate revoked (privilegeWithdrawn), bound one kept" sh -c "
	expect_out=\$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT serial || ' ' || status || ' ' ||
	    coalesce(revocation_reason, -1) FROM scepd.certificates WHERE serial IN ('$S5', '$S6')
	    ORDER BY serial = '$S5' DESC\" | tr '\n' ' ')
	echo \"\$expect_out\"
	[ \"\$expect_out\" = '$S5 revoked 9 $S6 valid -1 ' ]"
check "swept certificate: CRL and OCSP say revoked" settled expect dev-e revoked false revoked revoked privilegeWithdrawn
row "never bound, 91 days later" "revoked (privilegeWithdrawn) by the sweep"

# Two scepd processes whose clocks run 91 days ahead (libfaketime) race
# their first sweep at start-up: the unused certificate is revoked once.
S7=$(enroll dev-g)
FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep 'libfaketimeMT.so.1$' | head -n 1)
race_sweep() {
	[ -n "$FAKETIME_LIB" ] || { echo "libfaketime is not installed"; return 1; }
	for p in 18603 18604; do
		# libfaketime preloaded by hand (the faketime command forks, and
		# its PID would not be scepd's); it comes before the ASan runtime.
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		    LD_PRELOAD=$FAKETIME_LIB FAKETIME=+91d \
		    "$BUILD/scepd" -d -v -c "$CONF" -p $p \
		    >>"$WORK/scepd-$p.log" 2>&1 &
		echo $! >"$WORK/scepd-$p.pid"
	done
	i=0
	while [ $i -lt 100 ]; do
		st=$(psql -X -qAt "$(conninfo $DB)" -c "SELECT status FROM
		    scepd.certificates WHERE serial = '$S7'")
		[ "$st" = revoked ] && break
		sleep 0.2
		i=$((i + 1))
	done
	# Both must have finished their round (the slower could revoke again).
	i=0
	while [ $i -lt 100 ] && ! { grep -q 'sweep: unused certificates checked' "$WORK/scepd-18603.log" &&
	    grep -q 'sweep: unused certificates checked' "$WORK/scepd-18604.log"; }; do
		sleep 0.1
		i=$((i + 1))
	done
	stop_scepd 18603 || return 1
	stop_scepd 18604 || return 1
	n=$(psql -X -qAt "$(conninfo $DB)" -c "SELECT count(*) FROM scepd.audit
	    WHERE action = 'revoke' AND object = '$S7' AND actor = 'scepd:sweep'")
	echo "status=$st audit rows=$n"
	grep -h 'never bound' "$WORK/scepd-18603.log" "$WORK/scepd-18604.log"
	[ "$st" = revoked ] && [ "$n" = 1 ]
}
check "two scepd processes 91 days ahead race the sweep: revoked once" race_sweep

check "scepd on $PORT2 exits cleanly on SIGTERM" stop_scepd $PORT2
check "scepd on $PORT exits cleanly on SIGTERM" stop_scepd $PORT
echo
echo "lifecycle table (as measured):$table"
summary
