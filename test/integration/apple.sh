#!/bin/sh
# Apple devices: scepctl mobileconfig (parsed back with python3's
# plistlib: every key and type, the CA in the root payload, CAFingerprint,
# the one-time challenge that works exactly once) and requests shaped like
# Apple's SecSCEP (sceptool --apple: BER indefinite lengths, a UUID
# signer, the transactionID of the key bits), which scepd must issue for.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
C=$BUILD/scepctl
PORT=18810
DB=it_apple
D=$WORK/apple
CONF=$D/scepd.conf
BASE=http://127.0.0.1:$PORT
LOG=$WORK/scepd-$PORT.log
trap 'stop_scepd $PORT' EXIT

setup_ca "$D" $DB ra "challenge_key = \"$(openssl rand -hex 32)\";
template = { subject = \"/O=Example & Co/CN=device\"; };
profiles = (
	{ name = \"mdm\"; challenge_mode = \"dynamic\"; },
	{ name = \"nochal\"; challenge = \"\"; }
);" || { echo "cannot set up the CA"; exit 1; }
start_scepd "$CONF" $PORT || exit 1

$T getca -u "$BASE/scep" -o "$WORK/getca.pem" >/dev/null
openssl x509 -in "$WORK/getca.pem" -out "$WORK/recipient.pem"	# the RA

certs() { sql $DB "SELECT count(*) FROM scepd.certificates $1"; }

# plist_check FILE URL CHALLENGE: every key of the profile and its type.
plist_check() {
	python3 - "$1" "$2" "$3" "$D/ca.pem" <<'EOF'
import hashlib, plistlib, ssl, sys, uuid
path, url, chal, ca_pem = sys.argv[1:]
pl = plistlib.load(open(path, "rb"))
ca_der = ssl.PEM_cert_to_DER_cert(open(ca_pem).read())
def common(d, ptype):
    assert d["PayloadType"] == ptype, d["PayloadType"]
    assert d["PayloadVersion"] == 1 and type(d["PayloadVersion"]) is int
    for k in ("PayloadIdentifier", "PayloadDisplayName"):
        assert isinstance(d[k], str) and d[k], k
    assert str(uuid.UUID(d["PayloadUUID"])).upper() == d["PayloadUUID"]
common(pl, "Configuration")
assert isinstance(pl["PayloadContent"], list) and len(pl["PayloadContent"]) == 2
root, scep = pl["PayloadContent"]
common(root, "com.apple.security.root")
assert isinstance(root["PayloadContent"], bytes)
assert root["PayloadContent"] == ca_der, "root payload is not the CA"
common(scep, "com.apple.security.scep")
uuids = {pl["PayloadUUID"], root["PayloadUUID"], scep["PayloadUUID"]}
assert len(uuids) == 3, "UUIDs repeat"
c = scep["PayloadContent"]
want = {"URL": str, "Name": str, "Subject": list, "Challenge": str,
        "Keysize": int, "Key Type": str, "Key Usage": int, "Retries": int,
        "RetryDelay": int, "CAFingerprint": bytes}
assert set(c) == set(want), sorted(c)
for k, t in want.items():
    assert type(c[k]) is t, (k, type(c[k]))
assert c["URL"] == url, c["URL"]
assert c["Challenge"] == chal, c["Challenge"]
assert c["Subject"] == [[["O", "Example & Co"]], [["CN", "device"]]], c["Subject"]
assert (c["Keysize"], c["Key Type"], c["Key Usage"]) == (2048, "RSA", 5)
assert (c["Retries"], c["RetryDelay"]) == (3, 10)
assert c["CAFingerprint"] == hashlib.sha1(ca_der).digest()
print(c["Name"], "ok")
EOF
}

static_profile() {
	$C -c "$CONF" mobileconfig --url https://scep.example/ \
	    -o "$WORK/static.mobileconfig" || return 1
	[ "$(stat -c %a "$WORK/static.mobileconfig")" = 600 ] ||
	    { echo "not mode 0600"; return 1; }
	head -c 38 "$WORK/static.mobileconfig" | grep -q '^<?xml version="1.0" encoding="UTF-8"?>' ||
	    return 1
	plist_check "$WORK/static.mobileconfig" https://scep.example/scep \
	    interop-secret-1
}
check "mobileconfig: every key and type, the static challenge, mode 0600" \
    static_profile

fingerprint() {
	want=$(openssl x509 -in "$D/ca.pem" -noout -fingerprint -sha1 |
	    sed 's/.*=//; s/://g')
	got=$(python3 -c 'import plistlib, sys
print(plistlib.load(open(sys.argv[1], "rb"))["PayloadContent"][1]["PayloadContent"]["CAFingerprint"].hex().upper())' \
	    "$WORK/static.mobileconfig")
	echo "$got / $want"
	[ -n "$want" ] && [ "$got" = "$want" ]
}
check "mobileconfig: CAFingerprint is openssl x509 -fingerprint -sha1 of the CA" \
    fingerprint

# The one-time profile: a fresh challenge, recorded, good for one device.
one_time() {
	before=$(sql $DB "SELECT count(*) FROM scepd.challenges WHERE profile = 'mdm'")
	$C -c "$CONF" mobileconfig --profile mdm --challenge-mode one-time \
	    --url http://127.0.0.1:$PORT >"$WORK/mdm.mobileconfig" 2>"$WORK/mdm.err" ||
	    { cat "$WORK/mdm.err"; return 1; }
	cat "$WORK/mdm.err"
	OT=$(python3 -c 'import plistlib, sys
print(plistlib.load(open(sys.argv[1], "rb"))["PayloadContent"][1]["PayloadContent"]["Challenge"])' \
	    "$WORK/mdm.mobileconfig")
	echo "$OT" | grep -Eqx '[0-9A-F]{32}' || return 1
	secret "$OT"
	plist_check "$WORK/mdm.mobileconfig" "$BASE/scep/mdm" "$OT" || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.challenges WHERE profile = 'mdm'")" = \
	    $((before + 1)) ] || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.challenges WHERE profile = 'mdm'
	    AND created_by LIKE 'scepctl:%'")" -ge 1 ]
}
check "mobileconfig --challenge-mode one-time: a new challenge, recorded" one_time

# enroll CN URL CHALLENGE [options]: sceptool --apple at URL, new key in
# $WORK/CN.key, output in $WORK/CN.out, exit status in $RC.
enroll() {
	e_cn=$1
	e_url=$2
	e_chal=$3
	shift 3
	RC=0
	$T enroll --apple -v -u "$e_url" --ca "$WORK/recipient.pem" \
	    -k "$WORK/$e_cn.key" --subject "/CN=$e_cn" --challenge "$e_chal" \
	    --save-request "$WORK/$e_cn.req" -o "$WORK/$e_cn.pem" "$@" \
	    >"$WORK/$e_cn.out" 2>&1 || RC=$?
	cat "$WORK/$e_cn.out"
}

one_time_once() {
	enroll ot-1 "$BASE/scep/mdm" "$OT"
	[ $RC = 0 ] || { echo "exit $RC"; return 1; }
	verify_cert "$WORK/ot-1.pem" "$D/ca.pem" "$WORK/ot-1.key" \
	    "CN=device,O=Example & Co" || return 1
	enroll ot-2 "$BASE/scep/mdm" "$OT"
	[ $RC = 2 ] || { echo "second use: exit $RC, want 2 (FAILURE)"; return 1; }
	grep -q 'failInfo=badRequest' "$WORK/ot-2.out" || return 1
	[ "$(certs "WHERE transaction_id = '$(grep -o 'transactionID=[0-9A-F]*' \
	    "$WORK/ot-2.out" | head -n 1 | cut -d= -f2)'")" = 0 ]
}
check "the profile's one-time challenge enrolls once, then FAILURE badRequest" \
    one_time_once

# --- Refusals ---------------------------------------------------------------

check "mobileconfig refuses an unknown profile" \
    fails_with 1 'has no profile "nope"' \
    $C -c "$CONF" mobileconfig --profile nope --url https://x.example
check "mobileconfig refuses one-time on a profile without \"dynamic\"" \
    fails_with 1 'profile default does not use one-time challenges' \
    $C -c "$CONF" mobileconfig --challenge-mode one-time --url https://x.example
check "mobileconfig refuses a static profile without a challenge" \
    fails_with 1 'profile nochal has no static challenge' \
    $C -c "$CONF" mobileconfig --profile nochal --url https://x.example
check "mobileconfig refuses a dynamic-only profile without --challenge-mode" \
    fails_with 1 'profile mdm has no static challenge: use --challenge-mode one-time' \
    $C -c "$CONF" mobileconfig --profile mdm --url https://x.example
check "mobileconfig needs --url" \
    fails_with 2 'usage: scepctl mobileconfig' $C -c "$CONF" mobileconfig

# --- Requests shaped like Apple's -------------------------------------------

# ber_indefinite FILE: the outer SignedData and the EnvelopedData inside
# it are BER with indefinite lengths (0x80 length octets).
ber_indefinite() {
	openssl asn1parse -inform DER -in "$1" >"$WORK/outer.txt" || return 1
	head -n 1 "$WORK/outer.txt" | grep -q 'l=inf  *cons: SEQUENCE' ||
	    { head -n 3 "$WORK/outer.txt"; return 1; }
	off=$(grep 'prim: OCTET STRING' "$WORK/outer.txt" | head -n 1 | cut -d: -f1 |
	    tr -d ' ')
	openssl asn1parse -inform DER -in "$1" -strparse "$off" >"$WORK/env.txt" ||
	    return 1
	head -n 2 "$WORK/env.txt"
	head -n 1 "$WORK/env.txt" | grep -q 'l=inf  *cons: SEQUENCE' &&
	    sed -n 2p "$WORK/env.txt" | grep -q ':pkcs7-envelopedData'
}

apple_request() {
	enroll apple-1 "$BASE/scep" interop-secret-1
	[ $RC = 0 ] || { echo "exit $RC"; return 1; }
	ber_indefinite "$WORK/apple-1.req" || return 1
	verify_cert "$WORK/apple-1.pem" "$D/ca.pem" "$WORK/apple-1.key" \
	    "CN=device,O=Example & Co" || return 1
	# The transactionID: SHA-1 of the RSAPublicKey, 40 hex digits.
	tid=$(openssl pkey -in "$WORK/apple-1.key" -pubout |
	    openssl rsa -pubin -RSAPublicKey_out -outform DER 2>/dev/null |
	    sha1sum | cut -c1-40 | tr a-f A-F)
	echo "$tid" | grep -Eqx '[0-9A-F]{40}' || return 1
	grep -q "PKCSReq $tid: issued serial" "$LOG" ||
	    { echo "scepd did not log $tid"; tail -n 3 "$LOG"; return 1; }
	[ "$(certs "WHERE transaction_id = '$tid'")" = 1 ]
}
check "sceptool --apple (BER indefinite): issued, verified, scepd logs the 40-hex transactionID" \
    apple_request

uuid_signer() {
	# The signer certificate in the request: CN a UUID, DS + KE.
	openssl pkcs7 -inform DER -in "$WORK/apple-1.req" -print_certs \
	    -out "$WORK/apple-1.signer.pem" || return 1
	openssl x509 -in "$WORK/apple-1.signer.pem" -noout -subject -ext keyUsage |
	    tee "$WORK/signer.txt"
	grep -Eq 'subject=CN ?= ?[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$' \
	    "$WORK/signer.txt" &&
	    grep -q 'Digital Signature, Key Encipherment' "$WORK/signer.txt"
}
check "the --apple signer is self-signed with CN a random UUID, DS + KE" uuid_signer

apple_get() {
	enroll apple-get "$BASE/scep" interop-secret-1 --method get \
	    --get-style apple
	[ $RC = 0 ] || { echo "exit $RC"; return 1; }
	verify_cert "$WORK/apple-get.pem" "$D/ca.pem" "$WORK/apple-get.key" \
	    "CN=device,O=Example & Co"
}
check "sceptool --apple by GET (Apple's escaping): issued" apple_get

check "scepd is alive after the refusals" \
    curl -fsS -o /dev/null "$BASE/scep?operation=GetCACaps"
check "scepd stops cleanly" stop_scepd $PORT
summary
