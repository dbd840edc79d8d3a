#!/bin/sh
# Keys on a PKCS#11 token (SoftHSM2, its token directory under $WORK,
# nothing in the system's): `scepctl ca init --pkcs11 URI` generates the
# CA key on the token, scepd signs and decrypts with it through libp11
# (pkcs7/key_load.c).  Two servers: an RSA CA and RSA RA both on the token
# (port 19000), and an EC (P-256) CA on the token with an RSA RA key file
# (port 19001; the envelope needs an RSA recipient).  Against each,
# certmonger and strongSwan pki --scep (sceptool for the EC CA: pki here
# cannot parse EC certificates) enroll, every certificate is
# verified (chain, key, subject) and one row; the CRL verifies with the
# CA certificate, OCSP answers verify; on the RSA server 64 enrollments
# from 16 concurrent connections (scepbench), every certificate verified,
# and a revocation seen by OCSP and the CRL.  Refusals by scepd -n: a
# wrong PIN, a missing object, a missing token, a PIN in the URI (and
# that PIN never printed), a token key without pkcs11 settings.
#
# Needs: softhsm2 (softhsm2-util, libsofthsm2.so), pki, certmonger, curl.
. "$(dirname "$0")/../lib.sh"

RSAPORT=19000
ECPORT=19001
RSADB=it_pkcs11_rsa
ECDB=it_pkcs11_ec
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=token-pin-5ce9d
SOPIN=token-so-pin-77a1
SECRET=interop-secret-1
T=$BUILD/sceptool
CTL=$BUILD/scepctl
secret "$PIN" "$SOPIN"
started=""

cleanup() {
	cm_stop
	for p in $started; do
		stop_scepd "$p"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ ! -f "$MODULE" ] || ! command -v softhsm2-util >/dev/null; then
	echo "  SKIP  pkcs11.sh: SoftHSM2 ($MODULE) is not installed"
	summary
	exit $?
fi

# A private token directory: SoftHSM2 reads SOFTHSM2_CONF.
SOFTHSM2_CONF=$WORK/softhsm2.conf
export SOFTHSM2_CONF
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$WORK/tokens" >"$SOFTHSM2_CONF"
token() {
	softhsm2-util --init-token --free --label scepd --pin "$PIN" \
	    --so-pin "$SOPIN" || return 1
	printf '%s\n' "$PIN" >"$WORK/token.pin"
	chmod 600 "$WORK/token.pin"
}
check "SoftHSM2 token \"scepd\" under \$WORK" token

RSACA='pkcs11:token=scepd;object=rsa-ca;type=private'
RSARA='pkcs11:token=scepd;object=rsa-ra;id=%52%41;type=private'
ECCA='pkcs11:token=scepd;object=ec-ca;type=private'

# conf DIR DB CAKEY RAKEY [EXTRA]: DIR/scepd.conf with the token's module.
conf() {
	mkdir -p "$1"
	cat >"$1/scepd.conf" <<CONF
listen = "127.0.0.1";
workers = 2;
pki_threads = 8;
database = "$(conninfo "$2")";
pkcs11 = { module = "$MODULE"; pin_file = "$WORK/token.pin"; };
ca = { cert = "ca.pem"; key = "$3"; ra_cert = "ra.pem"; ra_key = "$4"; };
challenge = "$SECRET";
validity_days = 30;
${5:-}
CONF
}

# init DIR DB CAURI [ca init options]: the database, then ca init.
init() {
	d=$1 db=$2 uri=$3
	shift 3
	fresh_db "$db"
	"$CTL" -c "$d/scepd.conf" db migrate >/dev/null || return 1
	"$CTL" -c "$d/scepd.conf" ca init --pkcs11 "$uri" --bits 2048 \
	    --ra-subject "/O=scepd test/CN=Token RA" "$@" >"$d/init.out" || return 1
	cat "$d/init.out"
	grep -qF "created CA $d/ca.pem (key $uri)" "$d/init.out" || return 1
	# Nothing of the CA key outside the token.
	[ ! -e "$d/ca.key" ] || { echo "a key file was written"; return 1; }
	openssl verify -CAfile "$d/ca.pem" "$d/ra.pem"
}

RSA=$WORK/rsa
EC=$WORK/ec
conf "$RSA" $RSADB "$RSACA" "$RSARA"
conf "$EC" $ECDB "$ECCA" "ra.key"
check "scepctl ca init --pkcs11: RSA CA and RSA RA generated on the token" \
    init "$RSA" $RSADB "$RSACA" --subject "/O=scepd test/CN=Token CA rsa"
check "scepctl ca init --pkcs11 --ec: P-256 CA on the token, RA key file" \
    init "$EC" $ECDB "$ECCA" --ec --subject "/O=scepd test/CN=Token CA ec"
ec_key() { openssl x509 -in "$EC/ca.pem" -noout -text | grep -q 'ASN1 OID: prime256v1'; }
check "the EC CA certificate has a P-256 key" ec_key
again() {
	rm -f "$RSA/ca.pem" "$RSA/ra.pem"
	fails_with 1 "already has a private key rsa-ca" \
	    "$CTL" -c "$RSA/scepd.conf" ca init --pkcs11 "$RSACA" --no-ra
}
cp "$RSA/ca.pem" "$RSA/ra.pem" "$WORK/"
check "ca init over an existing token key: refused, the key kept" again
cp "$WORK/ca.pem" "$WORK/ra.pem" "$RSA/"

started="$RSAPORT $ECPORT"
check "scepd -n with the CA and RA keys on the token" "$BUILD/scepd" -n -c "$RSA/scepd.conf"
check "start scepd, RSA CA and RA on the token, on $RSAPORT" start_scepd "$RSA/scepd.conf" $RSAPORT
check "start scepd, EC CA on the token, on $ECPORT" start_scepd "$EC/scepd.conf" $ECPORT
if [ "$failed" -gt 0 ]; then
	summary
	exit 1
fi

url() { echo "http://127.0.0.1:$1/scep"; }
dir_of() { if [ "$1" = $RSAPORT ]; then echo "$RSA"; else echo "$EC"; fi; }
db_of() { if [ "$1" = $RSAPORT ]; then echo $RSADB; else echo $ECDB; fi; }
one_row() {
	n=$(sql "$1" "SELECT count(*) FROM scepd.certificates WHERE subject = '$2'")
	[ "$n" = 1 ] || { echo "$n certificate rows for \"$2\" in $1, want 1"; return 1; }
}

# --- strongSwan pki ----------------------------------------------------------

SW=$WORK/sw
mkdir -p "$SW"
# sw PORT CN: pki --scepca, then pki --scep: issued, verified, one row.
sw() {
	d=$(dir_of "$1")
	timeout 30 pki --scepca --url "$(url "$1")" --caout "$SW/$1-ca.der" \
	    --raout "$SW/$1-ra.der" --force || return 1
	openssl x509 -in "$d/ca.pem" -outform DER | cmp - "$SW/$1-ca.der" || return 1
	pki --gen --type rsa --size 2048 --outform pem >"$SW/$2.key" || return 1
	timeout 60 pki --scep --url "$(url "$1")" --in "$SW/$2.key" --dn "CN=$2" \
	    --cacert-enc "$SW/$1-ra.der" --cacert-sig "$SW/$1-ra.der" \
	    --cacert "$SW/$1-ca.der" --password "$SECRET" --cipher aes \
	    --digest sha256 --interval 1 --maxpolltime 20 --outform pem \
	    >"$SW/$2.pem" || return 1
	verify_cert "$SW/$2.pem" "$d/ca.pem" "$SW/$2.key" "CN=$2" || return 1
	one_row "$(db_of "$1")" "CN=$2"
}
check "strongSwan pki --scep, RSA token CA and RA: issued, verified" sw $RSAPORT sw-rsa
# strongSwan's pki here (gmp, no openssl plugin) cannot parse an EC
# certificate: against the EC CA, sceptool and certmonger enroll.
st_ec() {
	URL=$(url $ECPORT)
	"$T" getca -u "$URL" -o "$SW/ec-recipient.pem" >/dev/null || return 1
	openssl genrsa -out "$SW/st-ec.key" 2048 2>/dev/null || return 1
	"$T" enroll -u "$URL" --ca "$SW/ec-recipient.pem" -k "$SW/st-ec.key" \
	    --subject "/CN=st-ec" --challenge "$SECRET" -o "$SW/st-ec.pem" ||
	    return 1
	verify_cert "$SW/st-ec.pem" "$EC/ca.pem" "$SW/st-ec.key" "CN=st-ec" ||
	    return 1
	one_row $ECDB "CN=st-ec"
}
check "sceptool, EC token CA: issued, verified" st_ec
ec_signed() {
	openssl x509 -in "$SW/st-ec.pem" -noout -text |
	    grep -q 'Signature Algorithm: ecdsa-with-SHA256'
}
check "the EC CA's certificate is signed ecdsa-with-SHA256" ec_signed

# --- certmonger --------------------------------------------------------------

cm_setup "$WORK/cm"
check "certmonger daemon on a private session bus" cm_start
# cm PORT CN: add-scep-ca, getcert request: MONITORING, verified, one row.
cm() {
	d=$(dir_of "$1")
	cm_add_ca "token-$1" "$(url "$1")" || return 1
	timeout 60 getcert request -s -c "token-$1" -I "$2" -k "$CM/$2.key" \
	    -f "$CM/$2.pem" -L "$SECRET" -N "CN=$2" -w
	st=$(cm_status "$2")
	[ "$st" = MONITORING ] || { echo "status \"$st\""; timeout 20 getcert list -s -i "$2"; return 1; }
	verify_cert "$CM/$2.pem" "$d/ca.pem" "$CM/$2.key" "CN=$2" || return 1
	one_row "$(db_of "$1")" "CN=$2"
}
check "certmonger, RSA token CA and RA: MONITORING, verified" cm $RSAPORT cm-rsa
check "certmonger, EC token CA: MONITORING, verified" cm $ECPORT cm-ec
check "certmonger and its session bus stopped" cm_stop

# --- CRL and OCSP, signed on the token -----------------------------------------

serial() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }
# crl PORT [SERIAL]: the CRL verifies with the CA; lists SERIAL if given.
crl() {
	d=$(dir_of "$1")
	curl -fsS "$(url "$1")/crl/default.crl" | openssl crl -inform DER \
	    -out "$WORK/$1.crl" || return 1
	openssl crl -in "$WORK/$1.crl" -CAfile "$d/ca.pem" -noout 2>&1 |
	    grep -qx 'verify OK' || return 1
	[ -z "${2:-}" ] || openssl crl -in "$WORK/$1.crl" -noout -text |
	    grep -q "Serial Number: $2$"
}
# ocsp PORT CERT WANT: the answer for CERT verifies with the CA, says WANT.
ocsp() {
	d=$(dir_of "$1")
	openssl ocsp -issuer "$d/ca.pem" -cert "$2" -url "http://127.0.0.1:$1/ocsp" \
	    -CAfile "$d/ca.pem" >"$WORK/ocsp.out" 2>&1
	cat "$WORK/ocsp.out"
	grep -q '^Response verify OK' "$WORK/ocsp.out" || return 1
	grep -q "^$2: $3" "$WORK/ocsp.out"
}
check "CRL of the RSA token CA verifies" crl $RSAPORT
check "CRL of the EC token CA verifies" crl $ECPORT
check "OCSP, RSA token CA: good, response verified" ocsp $RSAPORT "$SW/sw-rsa.pem" good
check "OCSP, EC token CA: good, response verified" ocsp $ECPORT "$SW/st-ec.pem" good
revoke() {
	"$CTL" -c "$RSA/scepd.conf" cert revoke "$(serial "$CM/cm-rsa.pem")" \
	    --reason keyCompromise
}
check "scepctl cert revoke a certificate of the RSA token CA" revoke
check "OCSP, RSA token CA: revoked, response verified" \
    settled ocsp $RSAPORT "$CM/cm-rsa.pem" revoked
check "the RSA token CA's CRL lists it and verifies" \
    settled crl $RSAPORT "$(serial "$CM/cm-rsa.pem")"

# --- concurrent signing and decryption on the token -------------------------------

# 64 PKCSReqs built beforehand, sent over 16 connections at once: the
# pool's threads decrypt with the RA key and sign with the CA key on the
# token concurrently.  Every reply SUCCESS, every certificate verifies.
load() {
	URL=$(url $RSAPORT)
	"$T" getca -u "$URL" -o "$WORK/recipient.pem" >/dev/null || return 1
	openssl genrsa -out "$WORK/load.key" 2048 2>/dev/null || return 1
	mkdir -p "$WORK/msg"
	for i in $(seq 1 64); do
		"$T" enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/load.key" \
		    --subject "/O=scepd test/CN=load-$i" --challenge "$SECRET" \
		    --transid "token-load-$i" --no-send \
		    --save-request "$WORK/msg/$i.der" >/dev/null 2>&1 || return 1
	done
	for i in $(seq 1 64); do cat "$WORK/msg/$i.der"; done >"$WORK/pool"
	"$BUILD/scepbench" -u "$URL" -c 16 -d 120 "$WORK/pool" >"$WORK/load.out" ||
	    return 1
	cat "$WORK/load.out"
	grep -q ' ok=64 failure=0 pending=0 bad=0 ' "$WORK/load.out" || return 1
	n=0
	rm -rf "$WORK/load"
	mkdir -p "$WORK/load"
	sql $RSADB "SELECT serial || ' ' || translate(encode(der, 'base64'), E'\\n', '')
	    FROM scepd.certificates WHERE subject LIKE 'CN=load-%'" >"$WORK/load.b64" ||
	    return 1
	while read -r sn b64; do
		printf '%s\n' "$b64" >"$WORK/load/$sn.b64"
	done <"$WORK/load.b64"
	for f in "$WORK"/load/*.b64; do
		base64 -d "$f" | openssl x509 -inform DER -out "${f%.b64}.pem" ||
		    return 1
		openssl verify -CAfile "$RSA/ca.pem" "${f%.b64}.pem" >/dev/null ||
		    return 1
		n=$((n + 1))
	done
	echo "$n certificates verified"
	[ $n = 64 ]
}
check "64 enrollments over 16 connections: all issued, all verify" load
alive() { curl -fsS -o /dev/null "$(url "$1")?operation=GetCACaps"; }
check "both servers still answer" sh -c "curl -fsS -o /dev/null '$(url $RSAPORT)?operation=GetCACaps' &&
    curl -fsS -o /dev/null '$(url $ECPORT)?operation=GetCACaps'"

# --- refusals at start ---------------------------------------------------------

# variant NAME SED: the RSA server's configuration edited by SED.
variant() {
	sed "$2" "$RSA/scepd.conf" >"$RSA/$1.conf"
	echo "$RSA/$1.conf"
}
printf 'not-the-pin\n' >"$WORK/wrong.pin"
chmod 600 "$WORK/wrong.pin"
check "scepd -n, wrong PIN: refused, PIN refused" fails_with 1 \
    "CA: token \"scepd\": PIN refused (pkcs11.pin_file $WORK/wrong.pin)" \
    "$BUILD/scepd" -n -c "$(variant wrongpin "s|$WORK/token.pin|$WORK/wrong.pin|")"
check "scepd -n, missing object: refused" fails_with 1 \
    'CA: token "scepd" has no private key object=nope' \
    "$BUILD/scepd" -n -c "$(variant noobject 's|object=rsa-ca|object=nope|')"
check "scepd -n, missing token: refused" fails_with 1 \
    "CA: no token \"nope\" in $MODULE" \
    "$BUILD/scepd" -n -c "$(variant notoken 's|token=scepd;object=rsa-ca|token=nope;object=rsa-ca|')"
pinuri() {
	fails_with 1 "a PIN in the URI is not accepted: the PIN is read from pkcs11.pin_file" \
	    "$BUILD/scepd" -n -c "$(variant pinvalue "s|object=rsa-ca;type=private|object=rsa-ca;type=private?pin-value=$PIN|")" ||
	    return 1
	! grep -qF "$PIN" "$WORK/fails_with.out" || { echo "the PIN was printed"; return 1; }
}
check "scepd -n, pin-value in the URI: refused, the PIN not printed" pinuri
check "scepd -n, a token key without pkcs11 settings: refused" fails_with 1 \
    '"ca.key" is on a token: set pkcs11 = { module = ...; pin_file = ...; }' \
    "$BUILD/scepd" -n -c "$(variant nomodule '/^pkcs11 = /d')"
check "scepd -n, the ID of another key: refused" fails_with 1 \
    'has no private key object=rsa-ca' \
    "$BUILD/scepd" -n -c "$(variant otherid 's|object=rsa-ca;type=private|object=rsa-ca;id=%52%41;type=private|')"
check "scepd on $RSAPORT still answers" alive $RSAPORT

for p in $started; do
	check "scepd on $p exits cleanly on SIGTERM" stop_scepd "$p"
done
started=""
summary
