#!/bin/sh
# Interop with the real Debian SCEP clients against scepd on loopback:
# strongSwan 5.9.8 `pki --scepca/--scep`, the certmonger daemon
# (getcert, scep-submit) and micromdm's scepclient 2.1.0, each against a
# CA-mode server (GetCACert: one DER certificate), an RA-mode server
# (GetCACert: certs-only PKCS#7 of RA + CA) and, for scepclient, an RA-mode
# server with the legacy single-DES switch on; strongSwan also with
# RSASSA-PSS signatures (--rsa-padding pss, recorded on the way by
# test/record_proxy.py to check what was sent).  Every issued certificate is
# verified (chain, public key, subject) and must be exactly one row in
# scepd.certificates; every refusal must leave none.  Ends with a matrix
# client x mode x cipher x digest x method -> ok/FAIL and the summary line.
#
# Needs: python3, pki (strongswan-pki + libstrongswan-extra-plugins for the curl
# fetcher), certmonger + getcert, dbus-run-session, scepclient, curl.
. "$(dirname "$0")/../lib.sh"

t0=$(date +%s)
CAPORT=18100
RAPORT=18101
LEGPORT=18102
CAPSSPORT=18103		# test/record_proxy.py in front of CAPORT
RAPSSPORT=18104		# and of RAPORT
CADB=it_interop_ca
RADB=it_interop_ra
LEGDB=it_interop_legacy
CA=$WORK/ca
RA=$WORK/ra
LEG=$WORK/legacy
CAURL=http://127.0.0.1:$CAPORT/scep
RAURL=http://127.0.0.1:$RAPORT/scep
LEGURL=http://127.0.0.1:$LEGPORT/scep
SECRET=interop-secret-1
MATRIX=$WORK/matrix
: >"$MATRIX"
started=""
proxies=""

# --- helpers ----------------------------------------------------------------

# mcheck ROW NAME CMD...: check NAME CMD... and add ROW (client|mode|cipher|
# digest|method|operation) with its outcome to the matrix.
mcheck() {
	mc_row=$1
	shift
	mc_failed=$failed
	check "$@"
	if [ "$failed" = "$mc_failed" ]; then
		echo "$mc_row|ok" >>"$MATRIX"
	else
		echo "$mc_row|FAIL" >>"$MATRIX"
	fi
}

# rows DB SUBJECT: how many certificates DB holds for SUBJECT (RFC 2253).
rows() {
	sql "$1" "SELECT count(*) FROM scepd.certificates WHERE subject = '$2'"
}

one_row() {
	n=$(rows "$1" "$2")
	[ "$n" = 1 ] || { echo "$n certificate rows for \"$2\" in $1, want 1"; return 1; }
}

no_row() {
	n=$(rows "$1" "$2")
	[ "$n" = 0 ] || { echo "$n certificate rows for \"$2\" in $1, want 0"; return 1; }
}

# logged PORT ERE: scepd on PORT logged a line matching ERE.
logged() {
	grep -Eq "$2" "$WORK/scepd-$1.log" ||
	    { echo "scepd-$1.log has no line matching: $2"; tail -n 5 "$WORK/scepd-$1.log"; return 1; }
}

der_of() { openssl x509 -in "$1" -outform DER; }


cleanup() {
	cm_stop
	for p in $started; do
		stop_scepd "$p"
	done
	for pid in $proxies; do
		kill "$pid" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- servers ------------------------------------------------------------------

LEGACY='legacy = true; ciphers = ["aes128","aes192","aes256","3des","des"]; digests = ["sha1","sha224","sha256","sha384","sha512","md5"];'
check "set up CA mode (no RA)" setup_ca "$CA" $CADB ca
check "set up RA mode" setup_ca "$RA" $RADB ra \
    'template = { san_dns = [ "*.example.org" ]; san_email = [ "*@example.org" ]; san_ip = true; };'
check "set up RA mode with legacy single DES" setup_ca "$LEG" $LEGDB ra "$LEGACY"
started="$CAPORT $RAPORT $LEGPORT"
check "start scepd CA mode on $CAPORT" start_scepd "$CA/scepd.conf" $CAPORT
check "start scepd RA mode on $RAPORT" start_scepd "$RA/scepd.conf" $RAPORT
check "start scepd legacy RA mode on $LEGPORT" start_scepd "$LEG/scepd.conf" $LEGPORT
if [ "$failed" -gt 0 ]; then
	summary
	exit 1
fi

# --- HTTP: GetCACert content types, GetCACaps tokens -------------------------

# ctype URL OUT: GET URL into OUT, print the Content-Type header verbatim.
ctype() {
	curl -sS -D - -o "$2" "$1" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p'
}

getcacert_ca() {
	t=$(ctype "$CAURL?operation=GetCACert" "$WORK/gca-ca.der")
	[ "$t" = application/x-x509-ca-cert ] || { echo "Content-Type \"$t\""; return 1; }
	# exactly one DER certificate, nothing after it, and it is our CA
	openssl x509 -inform DER -in "$WORK/gca-ca.der" -outform DER |
	    cmp - "$WORK/gca-ca.der" || return 1
	der_of "$CA/ca.pem" | cmp - "$WORK/gca-ca.der"
}
mcheck "curl|ca|-|-|GET|GetCACert: one DER cert, x-x509-ca-cert" \
    "GetCACert CA mode: exactly application/x-x509-ca-cert, one DER certificate" \
    getcacert_ca

getcacert_ra() {
	t=$(ctype "$RAURL?operation=GetCACert" "$WORK/gca-ra.p7")
	[ "$t" = application/x-x509-ca-ra-cert ] || { echo "Content-Type \"$t\""; return 1; }
	openssl pkcs7 -inform DER -in "$WORK/gca-ra.p7" -print_certs >"$WORK/gca-ra.pem" ||
	    return 1
	[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/gca-ra.pem")" = 2 ] || return 1
	got=$(openssl crl2pkcs7 -nocrl -certfile "$WORK/gca-ra.pem" |
	    openssl pkcs7 -print_certs -noout | grep '^subject' | sort)
	want=$(printf 'subject=O = scepd test, CN = Test CA ra\nsubject=O = scepd test, CN = Test RA\n' | sort)
	[ "$got" = "$want" ] || { echo "bundle: $got"; return 1; }
}
mcheck "curl|ra|-|-|GET|GetCACert: PKCS#7 RA+CA, x-x509-ca-ra-cert" \
    "GetCACert RA mode: exactly application/x-x509-ca-ra-cert, certs-only RA + CA" \
    getcacert_ra

# caps URL OUT: the GetCACaps tokens, one a line, CR stripped.
caps() {
	t=$(ctype "$1?operation=GetCACaps" "$2.raw")
	[ "$t" = text/plain ] || { echo "GetCACaps Content-Type \"$t\""; return 1; }
	tr -d '\r' <"$2.raw" >"$2"
}

# caps_ok URL OUT: exact-case known tokens only, no blanks, no duplicates,
# and what the clients here need: POST, AES, SHA-256/384/512 (strongSwan
# 5.9.8 wants SHA-384 listed), SCEPStandard; no GetNextCACert (404s).
caps_ok() {
	caps "$1" "$2" || return 1
	cat "$2"
	bad=$(grep -Evx 'AES|DES3|POSTPKIOperation|Renewal|SCEPStandard|SHA-1|SHA-224|SHA-256|SHA-384|SHA-512' "$2")
	[ -z "$bad" ] || { echo "unexpected token(s): $bad"; return 1; }
	[ "$(sort "$2" | uniq -d)" = "" ] || { echo "duplicate token"; return 1; }
	for tok in AES POSTPKIOperation SHA-256 SHA-384 SHA-512 SCEPStandard DES3 SHA-1; do
		grep -qx "$tok" "$2" || { echo "missing $tok"; return 1; }
	done
}
mcheck "curl|ca|-|-|GET|GetCACaps tokens" "GetCACaps CA mode: text/plain, exact tokens" \
    caps_ok "$CAURL" "$WORK/caps-ca"
mcheck "curl|ra|-|-|GET|GetCACaps tokens" "GetCACaps RA mode: text/plain, exact tokens" \
    caps_ok "$RAURL" "$WORK/caps-ra"
mcheck "curl|legacy|-|-|GET|GetCACaps tokens" "GetCACaps legacy RA mode: text/plain, exact tokens" \
    caps_ok "$LEGURL" "$WORK/caps-legacy"

# --- strongSwan pki ----------------------------------------------------------

SW=$WORK/sw
rm -rf "$SW"
mkdir -p "$SW"

scepca_ca() {
	timeout 30 pki --scepca --url "$CAURL" --caout "$SW/ca-ca.der" --force || return 1
	der_of "$CA/ca.pem" | cmp - "$SW/ca-ca.der"
}
mcheck "strongswan|ca|-|-|GET|--scepca --caout" \
    "strongSwan pki --scepca CA mode: --caout is the CA" scepca_ca

scepca_ra() {
	timeout 30 pki --scepca --url "$RAURL" --caout "$SW/ra-ca.der" \
	    --raout "$SW/ra-ra.der" --force || return 1
	der_of "$RA/ca.pem" | cmp - "$SW/ra-ca.der" || return 1
	der_of "$RA/ra.pem" | cmp - "$SW/ra-ra.der"
}
mcheck "strongswan|ra|-|-|GET|--scepca --caout --raout" \
    "strongSwan pki --scepca RA mode: --caout is the CA, --raout the RA" scepca_ra

# sw_pki MODE CN KEY OUT [pki options...]: pki --scep against MODE's server
# with the recipient/signer certificates --scepca wrote.
sw_pki() {
	sp_mode=$1
	sp_dn=$2
	sp_key=$3
	sp_out=$4
	shift 4
	if [ "$sp_mode" = ra ]; then
		set -- --url "${sw_url:-$RAURL}" --cacert-enc "$SW/ra-ra.der" --cacert-sig "$SW/ra-ra.der" \
		    --cacert "$SW/ra-ca.der" "$@"
	else
		set -- --url "${sw_url:-$CAURL}" --cacert-enc "$SW/ca-ca.der" --cacert-sig "$SW/ca-ca.der" "$@"
	fi
	[ -s "$sp_key" ] || pki --gen --type rsa --size 2048 --outform pem >"$sp_key" ||
	    return 1
	timeout 60 pki --scep --in "$sp_key" --dn "$sp_dn" --interval 1 --maxpolltime 20 \
	    --outform pem "$@" >"$sp_out"
}

# sw_enroll MODE CIPHER DIGEST [PADDING]: issued, verified, exactly one
# row; PADDING is pki's --rsa-padding (pkcs1 if not given).
sw_enroll() {
	cn=sw-$1-$2-$3${4:+-$4}
	sw_pki "$1" "CN=$cn" "$SW/$cn.key" "$SW/$cn.pem" --password "$SECRET" \
	    --cipher "$2" --digest "$3" ${4:+--rsa-padding "$4"} ||
	    { echo "pki --scep failed"; return 1; }
	if [ "$1" = ra ]; then cadb=$RADB cacert=$RA/ca.pem; else cadb=$CADB cacert=$CA/ca.pem; fi
	verify_cert "$SW/$cn.pem" "$cacert" "$SW/$cn.key" "CN=$cn" || return 1
	one_row $cadb "CN=$cn"
}

for mode in ca ra; do
	for cipher in aes des3; do
		for digest in sha1 sha224 sha256 sha384 sha512; do
			mcheck "strongswan|$mode|$cipher|$digest|POST|PKCSReq: issued" \
			    "strongSwan $mode --cipher $cipher --digest $digest" \
			    sw_enroll $mode $cipher $digest
		done
	done
done

# --- strongSwan with RSASSA-PSS signatures (--rsa-padding pss) ---------------
# pki signs the pkiMessage, the CSR and its self-signed certificate with
# RSASSA-PSS.  It talks to scepd through test/record_proxy.py, so the test
# sees what was sent: without that, a pki that fell back to PKCS#1 v1.5
# would pass too.

# start_proxy PORT TARGETPORT DIR: the recording proxy, answering.
start_proxy() {
	python3 "$(dirname "$0")/../record_proxy.py" "$1" "http://127.0.0.1:$2" "$3" \
	    2>>"$WORK/proxy-$1.log" &
	proxies="$proxies $!"
	j=0
	while [ $j -lt 100 ]; do
		curl -fsS -o /dev/null "http://127.0.0.1:$1/scep?operation=GetCACaps" 2>/dev/null &&
		    return 0
		sleep 0.1
		j=$((j + 1))
	done
	cat "$WORK/proxy-$1.log"
	return 1
}
check "recording proxy on $CAPSSPORT for CA mode" start_proxy $CAPSSPORT $CAPORT "$SW/rec-ca"
check "recording proxy on $RAPSSPORT for RA mode" start_proxy $RAPSSPORT $RAPORT "$SW/rec-ra"

# sent_pss DIR DIGEST RCPT KEY: the one POST recorded in DIR is a PKCSReq
# whose SignerInfo is RSASSA-PSS with DIGEST and MGF1 with DIGEST, whose
# signature OpenSSL verifies, and whose CSR (decrypted with RCPT and KEY)
# is RSASSA-PSS-signed too.
sent_pss() {
	m=$1/post-1.der
	if [ ! -s "$m" ] || [ -e "$1/post-2.der" ]; then
		ls "$1"
		echo "want exactly one POST"
		return 1
	fi
	openssl cms -cmsout -print -inform DER -in "$m" >"$m.txt" || return 1
	grep -q 'PRINTABLESTRING:19$' "$m.txt" || { echo "not a PKCSReq"; return 1; }
	sed -n '/signatureAlgorithm:/,/^ *signature:/p' "$m.txt" >"$m.sigalg"
	grep -q 'algorithm: rsassaPss' "$m.sigalg" || { cat "$m.sigalg"; return 1; }
	[ "$(grep -c "OBJECT *:$2\$" "$m.sigalg")" = 2 ] ||
	    { echo "hash and MGF1 hash are not both $2:"; cat "$m.sigalg"; return 1; }
	openssl cms -verify -noverify -binary -inform DER -in "$m" -out "$m.env" || return 1
	openssl cms -decrypt -binary -inform DER -in "$m.env" -recip "$3" -inkey "$4" \
	    -out "$m.csr" || return 1
	openssl req -inform DER -in "$m.csr" -noout -verify -text >"$m.csr.txt" || return 1
	grep -q 'Signature Algorithm: rsassaPss' "$m.csr.txt" ||
	    { grep 'Signature Algorithm' "$m.csr.txt"; return 1; }
}

# sw_enroll_pss MODE DIGEST: pki --rsa-padding pss through the proxy:
# issued, verified, one row, and PSS is what was sent.
sw_enroll_pss() {
	if [ "$1" = ra ]; then
		rec=$SW/rec-ra sw_url=http://127.0.0.1:$RAPSSPORT/scep
		set -- "$@" "$RA/ra.pem" "$RA/ra.key"
	else
		rec=$SW/rec-ca sw_url=http://127.0.0.1:$CAPSSPORT/scep
		set -- "$@" "$CA/ca.pem" "$CA/ca.key"
	fi
	rm -f "$rec"/post-*
	sw_enroll "$1" aes "$2" pss || { sw_url=; return 1; }
	sw_url=
	sent_pss "$rec" "$2" "$3" "$4"
}

for mode in ca ra; do
	for digest in sha256 sha384 sha512; do
		mcheck "strongswan|$mode|aes|$digest|POST|PKCSReq --rsa-padding pss: issued" \
		    "strongSwan $mode --rsa-padding pss --digest $digest: issued, PSS sent" \
		    sw_enroll_pss $mode $digest
	done
done

# p7_attr FILE OID: the PrintableString value of the SCEP signed attribute
# OID (2.16.840.1.113733.1.9.x) in the DER pkiMessage FILE.
p7_attr() {
	openssl cms -cmsout -print -inform DER -in "$1" |
	    awk -v oid="($2)" 'index($0, oid) { want = 1; next }
		want && /PRINTABLESTRING:/ { sub(/.*PRINTABLESTRING:/, ""); print; exit }'
}

# sw_pss_badmgf: strongSwan's PSS vector with the SignerInfo's MGF1 hash
# turned from SHA-256 into SHA-384 (the last SHA-256 OID in the message;
# same length) -> CertRep FAILURE badAlg with the reason logged, decided
# before decryption, nothing issued, and scepd still answers.
sw_pss_badmgf() {
	bad=$SW/pss-bad-mgf.der
	python3 - "$(dirname "$0")/../data/vectors/strongswan-pkcsreq-pss-aes128-sha256.der" \
	    "$bad" <<'PY' || return 1
import sys
d = open(sys.argv[1], "rb").read()
sha256 = bytes.fromhex("0609608648016503040201")
i = d.rindex(sha256)
open(sys.argv[2], "wb").write(d[:i] + sha256[:-1] + b"\x02" + d[i + len(sha256):])
PY
	tid=$(p7_attr "$bad" 2.16.840.1.113733.1.9.7)
	[ -n "$tid" ] || { echo "no transactionID in $bad"; return 1; }
	code=$(curl -sS -o "$SW/pss-bad-mgf.rep" -w '%{http_code}' --data-binary "@$bad" \
	    -H 'Content-Type: application/x-pki-message' "$CAURL?operation=PKIOperation")
	[ "$code" = 200 ] || { echo "HTTP $code"; return 1; }
	st=$(p7_attr "$SW/pss-bad-mgf.rep" 2.16.840.1.113733.1.9.3)
	fi=$(p7_attr "$SW/pss-bad-mgf.rep" 2.16.840.1.113733.1.9.4)
	if [ "$st" != 2 ] || [ "$fi" != 0 ]; then
		echo "pkiStatus \"$st\" failInfo \"$fi\", want 2 (FAILURE) 0 (badAlg)"
		return 1
	fi
	logged $CAPORT "PKCSReq $tid: signer RSASSA-PSS MGF1 hash SHA384 differs from hash SHA256 -> FAILURE badAlg" ||
	    return 1
	no_row $CADB "CN=sw-pss" || return 1
	curl -fsS -o /dev/null "$CAURL?operation=GetCACaps" || { echo "scepd no longer answers"; return 1; }
}
mcheck "strongswan|ca|aes|sha256|POST|PKCSReq PSS with MGF1 SHA-384: FAILURE badAlg" \
    "strongSwan PSS vector with a mismatched MGF1 hash: FAILURE badAlg, no certificate, scepd alive" \
    sw_pss_badmgf

sw_san() {
	sw_pki ra "C=DE, O=scepd test, CN=sw-ra-san" "$SW/san.key" "$SW/san.pem" \
	    --password "$SECRET" --san sw-san.example.org --san 192.0.2.9 \
	    --san sw@example.org || return 1
	verify_cert "$SW/san.pem" "$RA/ca.pem" "$SW/san.key" "CN=sw-ra-san,O=scepd test,C=DE" ||
	    return 1
	openssl x509 -in "$SW/san.pem" -noout -ext subjectAltName |
	    grep -Fx '    DNS:sw-san.example.org, IP Address:192.0.2.9, email:sw@example.org' ||
	    { openssl x509 -in "$SW/san.pem" -noout -ext subjectAltName; return 1; }
	one_row $RADB "CN=sw-ra-san,O=scepd test,C=DE"
}
mcheck "strongswan|ra|aes|sha256|POST|PKCSReq 3 RDNs + DNS/IP/email SAN: issued" \
    "strongSwan ra: multi-RDN subject and allow-listed DNS, IP, email SANs" sw_san

# sw_badchal MODE: wrong challenge -> pki fails on FAILURE badRequest, no row.
# A wrong challenge may be another profile's: never logged either.
secret wrong-interop-secret
sw_badchal() {
	cn=sw-$1-badchal
	if sw_pki "$1" "CN=$cn" "$SW/$cn.key" "$SW/$cn.pem" \
	    --password wrong-interop-secret >"$SW/$cn.out" 2>&1; then
		cat "$SW/$cn.out"
		echo "pki succeeded with a wrong challenge"
		return 1
	fi
	cat "$SW/$cn.out"
	grep -q 'failInfo: *badRequest' "$SW/$cn.out" || return 1
	tid=$(sed -n 's/^transaction ID: //p' "$SW/$cn.out")
	if [ "$1" = ra ]; then p=$RAPORT cadb=$RADB; else p=$CAPORT cadb=$CADB; fi
	logged $p "PKCSReq $tid: wrong challengePassword -> FAILURE badRequest" || return 1
	no_row $cadb "CN=$cn"
}
mcheck "strongswan|ca|aes|sha256|POST|PKCSReq wrong challenge: FAILURE badRequest" \
    "strongSwan ca: wrong challenge -> FAILURE badRequest, no certificate" sw_badchal ca
mcheck "strongswan|ra|aes|sha256|POST|PKCSReq wrong challenge: FAILURE badRequest" \
    "strongSwan ra: wrong challenge -> FAILURE badRequest, no certificate" sw_badchal ra

# RenewalReq (pki --cert/--key): issued when GetCACaps lists Renewal,
# otherwise FAILURE badRequest and nothing issued.
if grep -qx Renewal "$WORK/caps-ra"; then renew_want=issued; else renew_want=refused; fi
sw_renew() {
	cn=CN=sw-ra-renew
	sw_pki ra "$cn" "$SW/renew-old.key" "$SW/renew-old.pem" --password "$SECRET" ||
	    { echo "first enrollment failed"; return 1; }
	rc=0
	sw_pki ra "$cn" "$SW/renew-new.key" "$SW/renew-new.pem" \
	    --cert "$SW/renew-old.pem" --key "$SW/renew-old.key" >"$SW/renew.out" 2>&1 || rc=$?
	cat "$SW/renew.out"
	if [ $renew_want = issued ]; then
		[ $rc = 0 ] || { echo "Renewal advertised but pki --scep --cert failed"; return 1; }
		verify_cert "$SW/renew-new.pem" "$RA/ca.pem" "$SW/renew-new.key" "$cn" || return 1
		[ "$(rows $RADB "$cn")" = 2 ]
	else
		[ $rc != 0 ] || { echo "Renewal not advertised, yet pki renewed"; return 1; }
		grep -q 'failInfo: *badRequest' "$SW/renew.out" || return 1
		one_row $RADB "$cn"
	fi
}
mcheck "strongswan|ra|aes|sha256|POST|RenewalReq: $renew_want (Renewal cap $( [ $renew_want = issued ] && echo listed || echo not listed))" \
    "strongSwan ra: RenewalReq $renew_want" sw_renew

# --- certmonger -----------------------------------------------------------------

cm_setup "$WORK/cm"

check "certmonger daemon on a private session bus" cm_start

# cm_add MODE: add-scep-ca and wait (bounded) until it has fetched GetCACert.
cm_add() {
	if [ "$1" = ra ]; then
		timeout 30 getcert add-scep-ca -s -c scepd-ra -u "$RAURL" || return 1
	else
		# A single DER CA certificate gives certmonger no root to verify
		# CertReps with: hand it the CA (-N) as a deployment would.
		timeout 30 getcert add-scep-ca -s -c scepd-ca -u "$CAURL" -N "$CA/ca.pem" ||
		    return 1
	fi
	j=0
	while [ $j -lt 100 ]; do
		timeout 10 getcert list-cas -s -c "scepd-$1" >"$CM/ca-$1.txt" 2>&1
		grep -q 'SCEP CA certificate thumbprint' "$CM/ca-$1.txt" && return 0
		sleep 0.1
		j=$((j + 1))
	done
	cat "$CM/ca-$1.txt"
	return 1
}

# cm_enroll MODE: getcert request -w reaches MONITORING, verified, one row;
# scepd saw certmonger's (decimal) transactionID.
cm_enroll() {
	cn=cm-$1
	timeout 60 getcert request -s -c "scepd-$1" -I "$cn" -k "$CM/$cn.key" \
	    -f "$CM/$cn.pem" -L "$SECRET" -N "CN=$cn" -w
	st=$(cm_status "$cn")
	[ "$st" = MONITORING ] || { echo "status \"$st\""; timeout 20 getcert list -s -i "$cn"; return 1; }
	if [ "$1" = ra ]; then p=$RAPORT cadb=$RADB cacert=$RA/ca.pem; else
		p=$CAPORT cadb=$CADB cacert=$CA/ca.pem; fi
	verify_cert "$CM/$cn.pem" "$cacert" "$CM/$cn.key" "CN=$cn" || return 1
	one_row $cadb "CN=$cn" || return 1
	logged $p "PKCSReq [0-9]{30,}: issued serial [0-9A-F]+ to \"CN=$cn\""
}

# cm_badchal MODE: a wrong challenge ends in CA_REJECTED, no row.
# certmonger verifies the FAILURE CertRep with PKCS7_verify(), which
# needs its (empty) content present: with a detached SignedData it would
# report CA_UNREACHABLE and retry the wrong challenge forever.
cm_badchal() {
	cn=cm-$1-badchal
	timeout 60 getcert request -s -c "scepd-$1" -I "$cn" -k "$CM/$cn.key" \
	    -f "$CM/$cn.pem" -L wrong-interop-secret -N "CN=$cn" -w
	st=$(cm_status "$cn")
	echo "status: $st"
	timeout 20 getcert list -s -i "$cn"
	timeout 20 getcert stop-tracking -s -i "$cn" >/dev/null
	[ "$st" = CA_REJECTED ] || { echo "want CA_REJECTED"; return 1; }
	[ ! -s "$CM/$cn.pem" ] || { echo "a certificate was written"; return 1; }
	if [ "$1" = ra ]; then p=$RAPORT cadb=$RADB; else p=$CAPORT cadb=$CADB; fi
	logged $p "PKCSReq [0-9]{30,}: wrong challengePassword -> FAILURE badRequest" || return 1
	no_row $cadb "CN=$cn"
}

for mode in ca ra; do
	mcheck "certmonger|$mode|-|-|GET|GetCACaps+GetCACert (add-scep-ca)" \
	    "certmonger add-scep-ca $mode mode fetches the CA data" cm_add $mode
	mcheck "certmonger|$mode|aes256|sha256|GET|PKCSReq: MONITORING" \
	    "certmonger $mode: getcert request reaches MONITORING, certificate verified" \
	    cm_enroll $mode
done
for mode in ca ra; do
	mcheck "certmonger|$mode|aes256|sha256|GET|PKCSReq wrong challenge: CA_REJECTED" \
	    "certmonger $mode: wrong challenge -> CA_REJECTED, not issued" cm_badchal $mode
done

cm_stopped() {
	cmpid=$(cat "$CM/certmonger.pid" 2>/dev/null)
	d=$drs_pid
	cm_stop
	! kill -0 "$d" 2>/dev/null || { echo "dbus-run-session $d still running"; return 1; }
	[ -z "$cmpid" ] || ! kill -0 "$cmpid" 2>/dev/null ||
	    { echo "certmonger $cmpid still running"; return 1; }
}
check "certmonger and its session bus stopped" cm_stopped

# --- micromdm scepclient ----------------------------------------------------------

MM=$WORK/mm
rm -rf "$MM"

# mm_run TAG URL CN: scepclient in its own folder (it writes csr.pem and
# self.pem to the current folder and reuses them when present).
mm_run() {
	mkdir -p "$MM/$1"
	(cd "$MM/$1" && timeout 60 scepclient -server-url "$2" -challenge "$SECRET" \
	    -private-key "$MM/$1/key.pem" -certificate "$MM/$1/cert.pem" -cn "$3")
}

# mm_refused MODE PORT URL DB: single DES + SHA-1 -> FAILURE badAlg.
mm_refused() {
	mm_before=$(grep -c 'PKCSReq .*-> FAILURE badAlg' "$WORK/scepd-$2.log")
	if mm_run "$1" "$3" "mm-$1"; then
		echo "scepclient succeeded against a server without legacy DES"
		return 1
	fi
	mm_after=$(grep -c 'PKCSReq .*-> FAILURE badAlg' "$WORK/scepd-$2.log")
	[ "$mm_after" = $((mm_before + 1)) ] ||
	    { echo "scepd logged $((mm_after - mm_before)) FAILURE badAlg, want 1"; return 1; }
	[ ! -e "$MM/$1/cert.pem" ] || { echo "a certificate was written"; return 1; }
	no_row "$4" "CN=mm-$1,OU=MDM,O=scep-client,C=US"
}
mcheck "scepclient|ca|des|sha1|POST|PKCSReq: FAILURE badAlg" \
    "micromdm scepclient vs CA mode: single DES -> FAILURE badAlg, no certificate" \
    mm_refused ca $CAPORT "$CAURL" $CADB
mcheck "scepclient|ra|des|sha1|POST|PKCSReq: FAILURE badAlg" \
    "micromdm scepclient vs RA mode: single DES -> FAILURE badAlg, no certificate" \
    mm_refused ra $RAPORT "$RAURL" $RADB

mm_legacy() {
	mm_run legacy "$LEGURL" mm-legacy || { echo "scepclient failed"; return 1; }
	verify_cert "$MM/legacy/cert.pem" "$LEG/ca.pem" "$MM/legacy/key.pem" \
	    "CN=mm-legacy,OU=MDM,O=scep-client,C=US" || return 1
	one_row $LEGDB "CN=mm-legacy,OU=MDM,O=scep-client,C=US"
}
mcheck "scepclient|legacy|des|sha1|POST|PKCSReq: issued (legacy = true)" \
    "micromdm scepclient vs legacy RA mode: enrolls with single DES" mm_legacy

# --- shut down ------------------------------------------------------------------

for p in $CAPORT $RAPORT $LEGPORT; do
	check "scepd on $p exits cleanly on SIGTERM" stop_scepd "$p"
done
started=""
for pid in $proxies; do
	kill "$pid" 2>/dev/null
done
proxies=""
check "no sanitizer report in the scepd logs" sh -c "
	! grep -E 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
	    '$WORK/scepd-$CAPORT.log' '$WORK/scepd-$RAPORT.log' '$WORK/scepd-$LEGPORT.log'"

echo
echo "interop matrix ($(( $(date +%s) - t0 )) s):"
awk -F'|' 'BEGIN { printf "  %-10s %-6s %-6s %-6s %-4s %-58s %s\n", "client", "mode",
    "cipher", "digest", "http", "operation: expected", "result" }
    { printf "  %-10s %-6s %-6s %-6s %-4s %-58s %s\n", $1, $2, $3, $4, $5, $6, $7 }' "$MATRIX"
echo "  (http = PKIOperation method the client uses: strongSwan and scepclient POST"
echo "   because POSTPKIOperation is listed, certmonger always GET; aes = strongSwan's"
echo "   --cipher aes, certmonger AES-256, scepclient single DES)"
summary
