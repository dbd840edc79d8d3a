#!/bin/sh
# A re-keyed CA (docs/revocation.md, "A re-keyed CA"): on one database,
# certificates issued and revoked under CA key 1, then `scepctl ca init
# --force` makes key 2 under the same subject.  The CRL served is signed by
# key 2 (never key 1's cached one), OCSP for key 2's certificates answers
# with key 2; with key 1 kept as the previous CA, OCSP by key 1's CertID
# answers its certificates good or revoked and key 1 signs their CRL.
# `scepctl ca init` without --force is refused while key 1's certificates
# are valid.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
CTL=$BUILD/scepctl
PORT=18770
DB=it_rekey
DIR=$WORK/ca
BASE=http://127.0.0.1:$PORT
URL=$BASE/scep
SUBJECT="/O=scepd test/CN=Test CA ca"	# what setup_ca gives a CA-mode CA
trap 'stop_scepd $PORT' EXIT

setup_ca "$DIR" $DB ca || { echo "cannot set up the CA"; exit 1; }
CONF=$DIR/scepd.conf
start_scepd "$CONF" $PORT || exit 1
cp "$DIR/ca.pem" "$WORK/old-ca.pem"

# enroll NAME: NAME.pem for NAME.key from the CA served now.
enroll() {
	curl -fsS "$URL?operation=GetCACert" | openssl x509 -inform DER -out "$WORK/recip.pem" &&
	$T enroll -u "$URL" --ca "$WORK/recip.pem" -k "$WORK/$1.key" --subject "/CN=$1" \
	    --challenge interop-secret-1 -o "$WORK/$1.pem" >/dev/null
}
serial() { openssl x509 -in "$WORK/$1.pem" -noout -serial | sed 's/serial=//'; }
# crl_get NAME OUT: the CRL at <base>/crl/NAME as PEM.
crl_get() { curl -fsS "$URL/crl/$1" | openssl crl -inform DER -out "$2"; }
# crl_verifies CRL CA: its signature verifies with CA's key.
crl_verifies() { openssl crl -in "$1" -CAfile "$2" -noout 2>&1 | grep -qx 'verify OK'; }
crl_lists() { openssl crl -in "$1" -noout -text | grep -q "Serial Number: $(serial "$2")$"; }
crl_number() { openssl crl -in "$1" -noout -crlnumber | sed 's/.*=//; s/^0x//'; }
# ocsp_says NAME ISSUER: OCSP by ISSUER's CertID for NAME, the response
# verified as ISSUER's; prints good, revoked or unknown.
ocsp_says() {
	openssl ocsp -issuer "$2" -cert "$WORK/$1.pem" -url "$BASE/ocsp" -CAfile "$2" \
	    >"$WORK/ocsp.out" 2>&1
	grep -q '^Response verify OK' "$WORK/ocsp.out" || { cat "$WORK/ocsp.out" >&2; return 1; }
	sed -n "s|^$WORK/$1.pem: ||p" "$WORK/ocsp.out" | head -n 1
}
# is WANT CMD...: CMD prints exactly WANT.
is() {
	want=$1
	shift
	got=$("$@") || return 1
	echo "$got"
	[ "$got" = "$want" ]
}
alive() { curl -fsS -o /dev/null "$URL?operation=GetCACaps"; }

# --- Key 1 --------------------------------------------------------------------

key1() {
	enroll old-a && enroll old-b &&
	openssl verify -CAfile "$WORK/old-ca.pem" "$WORK/old-a.pem" "$WORK/old-b.pem" &&
	"$CTL" -c "$CONF" cert revoke "$(serial old-b)" --reason keyCompromise
}
key1_crl() {
	crl_get default.crl "$WORK/crl1.pem" &&
	crl_verifies "$WORK/crl1.pem" "$WORK/old-ca.pem" && crl_lists "$WORK/crl1.pem" old-b
}
check "key 1 issues two certificates, revokes one (scepctl)" key1
check "key 1 signs a CRL listing it" settled key1_crl
# old-a as a row recorded before 007_ca_key.sql: no CA key; the re-key
# must count it and record key 1 as its key.
sql $DB "UPDATE scepd.certificates SET ca_key = NULL WHERE subject = 'CN=old-a'" >/dev/null
stop_scepd $PORT

# --- The re-key ------------------------------------------------------------------

refused() {
	rc=0
	"$CTL" -c "$CONF" ca init --no-ra --bits 2048 --subject "$SUBJECT" \
	    >"$WORK/init.out" 2>&1 || rc=$?
	cat "$WORK/init.out"
	[ $rc != 0 ] || { echo "ca init over a CA with valid certificates succeeded"; return 1; }
	grep -q "1 certificate issued by the CA key in $DIR/ca.pem is still valid" "$WORK/init.out" &&
	grep -q -- "--force" "$WORK/init.out" &&
	cmp "$DIR/ca.pem" "$WORK/old-ca.pem" && [ -s "$DIR/ca.key" ]
}
check "ca init without --force: refused, naming the count and --force; CA untouched" refused

rekey() {
	"$CTL" -c "$CONF" ca init --force --no-ra --bits 2048 --subject "$SUBJECT" \
	    >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out"; return 1; }
	cat "$WORK/init.out"
	grep -q "set ca.previous_cert and ca.previous_key" "$WORK/init.out" || return 1
	cp "$DIR/ca.pem" "$WORK/new-ca.pem"
	! cmp -s "$WORK/new-ca.pem" "$WORK/old-ca.pem" || return 1
	[ "$(openssl x509 -in "$WORK/new-ca.pem" -noout -subject)" = \
	  "$(openssl x509 -in "$WORK/old-ca.pem" -noout -subject)" ] || return 1
	a=$(openssl x509 -in "$WORK/new-ca.pem" -noout -pubkey)
	b=$(openssl x509 -in "$WORK/old-ca.pem" -noout -pubkey)
	[ "$a" != "$b" ] || { echo "same key"; return 1; }
	# The old CA is kept aside, byte for byte.
	set -- "$DIR"/ca.pem.*
	[ -f "$1" ] && cmp "$1" "$WORK/old-ca.pem"
}
check "ca init --force: a new key under the same subject, the old CA kept aside" rekey
check "the re-key records key 1 on the row recorded without a CA key" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates
	    WHERE ca_key IS NULL\") = 0 ] &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(DISTINCT ca_key) FROM scepd.certificates
	    WHERE subject IN ('CN=old-a', 'CN=old-b')\") = 1 ]"
OLDCERT=$(ls "$DIR"/ca.pem.* | head -n 1)
OLDKEY=$DIR/ca.key.${OLDCERT##*.}

start_scepd "$CONF" $PORT || exit 1

# --- Key 2 alone -------------------------------------------------------------------

new_crl() {
	crl_get default.crl "$WORK/crl2.pem" || return 1
	! cmp -s "$WORK/crl1.pem" "$WORK/crl2.pem" || { echo "key 1's CRL served"; return 1; }
	crl_verifies "$WORK/crl2.pem" "$WORK/new-ca.pem" || return 1
	! crl_verifies "$WORK/crl2.pem" "$WORK/old-ca.pem" || return 1
	! crl_lists "$WORK/crl2.pem" old-b
}
check "the CRL served verifies with the new CA, not the old; not key 1's cached one" new_crl
crl_numbers_grow() {
	[ "$(printf '%d' "0x$(crl_number "$WORK/crl2.pem")")" -gt \
	  "$(printf '%d' "0x$(crl_number "$WORK/crl1.pem")")" ]
}
check "the new key's CRL numbers go on from key 1's (RFC 5280 5.2.3)" crl_numbers_grow

new_cert() {
	enroll new-c && openssl verify -CAfile "$WORK/new-ca.pem" "$WORK/new-c.pem" &&
	! openssl verify -CAfile "$WORK/old-ca.pem" "$WORK/new-c.pem" 2>/dev/null
}
check "key 2 issues new-c, verified against the new CA only" new_cert
check "OCSP for new-c by the new CA's CertID: good, signed by the new CA" \
    is good ocsp_says new-c "$WORK/new-ca.pem"
old_unauthorized() {
	openssl ocsp -issuer "$WORK/old-ca.pem" -cert "$WORK/old-a.pem" -url "$BASE/ocsp" \
	    >"$WORK/ocsp.out" 2>&1
	cat "$WORK/ocsp.out"
	grep -qi 'unauthorized' "$WORK/ocsp.out" && alive
}
check "OCSP by the old CA's CertID, old CA not kept: unauthorized" old_unauthorized
getcert_old() {
	rc=0
	$T getcert -u "$URL" --ca "$WORK/recip.pem" -k "$WORK/old-a.key" \
	    --serial "$(serial old-a)" --issuer "$SUBJECT" >"$WORK/gc.out" 2>&1 || rc=$?
	cat "$WORK/gc.out"
	[ $rc = 2 ] && grep -q failInfo=badCertId "$WORK/gc.out" &&
	grep -q "no such certificate: serial $(serial old-a)" "$WORK/scepd-$PORT.log" && alive
}
check "GetCert of key 1's certificate through key 2: FAILURE badCertId" getcert_old
stop_scepd $PORT

# --- Key 1 kept as the previous CA ---------------------------------------------------

sed "s|^ca = { |ca = { previous_cert = \"$OLDCERT\"; previous_key = \"$OLDKEY\"; |" \
    "$CONF" >"$CONF.new" && mv "$CONF.new" "$CONF"
start_scepd "$CONF" $PORT || exit 1

check "OCSP for old-a by the old CA's CertID: good, signed by the old CA" \
    is good ocsp_says old-a "$WORK/old-ca.pem"
check "OCSP for old-b by the old CA's CertID: revoked" \
    is revoked ocsp_says old-b "$WORK/old-ca.pem"
check "OCSP for new-c by the new CA's CertID: still good" \
    is good ocsp_says new-c "$WORK/new-ca.pem"
check "OCSP for old-a by the new CA's CertID: unknown (not the new key's)" \
    is unknown ocsp_says old-a "$WORK/new-ca.pem"

prev_crl() {
	crl_get default.previous.crl "$WORK/crl-prev.pem" || return 1
	crl_verifies "$WORK/crl-prev.pem" "$WORK/old-ca.pem" &&
	! crl_verifies "$WORK/crl-prev.pem" "$WORK/new-ca.pem" &&
	crl_lists "$WORK/crl-prev.pem" old-b &&
	openssl verify -crl_check -CAfile "$WORK/old-ca.pem" -CRLfile "$WORK/crl-prev.pem" \
	    "$WORK/old-a.pem"
}
check "the old CA's CRL (<base>/crl/default.previous.crl) verifies with the old CA, lists old-b" \
    prev_crl

revoked_new() {
	crl_get default.crl "$WORK/crl3.pem" && crl_get default.previous.crl "$WORK/crl-prev2.pem" ||
	    return 1
	crl_verifies "$WORK/crl3.pem" "$WORK/new-ca.pem" && crl_lists "$WORK/crl3.pem" new-c &&
	! crl_lists "$WORK/crl3.pem" old-b && ! crl_lists "$WORK/crl-prev2.pem" new-c &&
	[ "$(ocsp_says new-c "$WORK/new-ca.pem")" = revoked ]
}
check "scepctl revokes new-c" "$CTL" -c "$CONF" cert revoke "$(serial new-c)"
check "revoked new-c: on the new CA's CRL and OCSP, not on the old CA's CRL" \
    settled revoked_new

getcrl_old() {
	$T getcrl -u "$URL" --ca "$WORK/recip.pem" -k "$WORK/old-b.key" \
	    --serial "$(serial old-b)" --issuer "$SUBJECT" -o "$WORK/getcrl.out" >/dev/null &&
	openssl crl -in "$WORK/getcrl.out" -out "$WORK/getcrl.pem" &&
	crl_verifies "$WORK/getcrl.pem" "$WORK/old-ca.pem" && crl_lists "$WORK/getcrl.pem" old-b
}
check "GetCRL naming old-b: the CRL signed by the old CA" getcrl_old

check "no previous CA on a profile: <base>/crl/default.previous.crl of another name -> 404" sh -c "
	[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL/crl/nosuch.previous.crl') = 404 ]"

stop_scepd $PORT
check "scepd exits cleanly on SIGTERM" sh -c "grep -q stopped '$WORK/scepd-$PORT.log'"
summary
