#!/bin/sh
# Protocol tests with our own client (sceptool) and curl against a running
# scepd in RA mode and CA mode: the HTTP surface, every cipher x digest x
# method x SignerInfo algorithm, the legacy switch, refusals with their
# failInfo, retransmission and concurrency, hostile messages.  Every issued
# certificate is checked with openssl verify, its key and its subject; every
# refusal is checked to have left no certificate in the database.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18201
CAPORT=18202
DB=it_protocol
CADB=it_protocol_ca
RA=$WORK/ra
CA=$WORK/ca
URL=http://127.0.0.1:$PORT/scep
CAURL=http://127.0.0.1:$CAPORT/scep
# An intermediate CA (CA mode) and, on the same database, profile "b"
# with a CA of its own: the issuer names clients give, and CA isolation.
INTPORT=18203
INTDB=it_protocol_int
INT=$WORK/int
INTURL=http://127.0.0.1:$INTPORT/scep
trap 'stop_scepd $PORT; stop_scepd $CAPORT; stop_scepd $INTPORT' EXIT

# SANs are allow-listed by the profile's template, never copied blindly.
SANS='template = { san_dns = [ "*.example" ]; san_email = [ "*@example.org" ]; san_ip = true; };'
setup_ca "$RA" $DB ra "$SANS" || { echo "cannot set up the RA-mode CA"; exit 1; }
setup_ca "$CA" $CADB ca || { echo "cannot set up the CA-mode CA"; exit 1; }
start_scepd "$RA/scepd.conf" $PORT || exit 1
start_scepd "$CA/scepd.conf" $CAPORT || exit 1

# setup_intermediate: a root (not served) and an intermediate under it,
# imported as the default profile's CA; profile b's own CA by ca init.
setup_intermediate() {
	mkdir -p "$INT"
	cat >"$INT/scepd.conf" <<CONF
listen = "127.0.0.1";
workers = 2;
database = "$(conninfo $INTDB)";
ca = { cert = "ca.pem"; key = "ca.key"; };
challenge = "interop-secret-1";
validity_days = 30;
profiles = ( { name = "b"; ca = { cert = "b-ca.pem"; key = "b-ca.key"; }; } );
CONF
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
	    >"$INT/ca.ext"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$INT/root.key" \
	    -out "$INT/root.pem" -days 30 -subj "/O=scepd test/CN=Test Root" \
	    2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$INT/inter.key" \
	    -out "$INT/inter.csr" -subj "/O=scepd test/CN=Test Intermediate" \
	    2>/dev/null &&
	openssl x509 -req -in "$INT/inter.csr" -CA "$INT/root.pem" \
	    -CAkey "$INT/root.key" -set_serial 2 -days 30 -extfile "$INT/ca.ext" \
	    -out "$INT/inter.pem" 2>/dev/null &&
	cat "$INT/inter.pem" "$INT/root.pem" >"$INT/chain.pem" &&
	fresh_db $INTDB &&
	"$BUILD/scepctl" -c "$INT/scepd.conf" db migrate >/dev/null &&
	"$BUILD/scepctl" -c "$INT/scepd.conf" ca import --chain "$INT/chain.pem" \
	    --key "$INT/inter.key" >/dev/null &&
	"$BUILD/scepctl" -c "$INT/scepd.conf" ca init --profile b --no-ra \
	    --bits 2048 --subject "/O=scepd test/CN=Test CA b" >/dev/null
}
setup_intermediate || { echo "cannot set up the intermediate CA"; exit 1; }
start_scepd "$INT/scepd.conf" $INTPORT || exit 1

# key: a fresh key file name (sceptool creates the key); works inside $().

# --- HTTP surface --------------------------------------------------------

http_status() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
content_type() {
	curl -s -D - -o /dev/null "$1" | tr -d '\r' | sed -n 's/^Content-Type: //Ip'
}

caps_exact() {
	got=$(curl -fsS "$URL?operation=GetCACaps" | sort | tr '\n' ' ')
	want=$(printf 'AES\nDES3\nPOSTPKIOperation\nSCEPStandard\nSHA-1\nSHA-256\nSHA-384\nSHA-512\n' | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || { echo "caps: $got"; return 1; }
}
check "GetCACaps lists exactly the enforced tokens" caps_exact

getcacert_ra() {
	[ "$(content_type "$URL?operation=GetCACert")" = application/x-x509-ca-ra-cert ] || return 1
	curl -fsS "$URL?operation=GetCACert&message=default" |
	    openssl pkcs7 -inform DER -print_certs >"$WORK/ra-bundle.pem"
	[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/ra-bundle.pem")" = 2 ]
}
check "GetCACert RA mode: certs-only PKCS#7 of RA and CA" getcacert_ra

getcacert_ca() {
	[ "$(content_type "$CAURL?operation=GetCACert")" = application/x-x509-ca-cert ] || return 1
	curl -fsS "$CAURL?operation=GetCACert" | openssl x509 -inform DER -noout -subject |
	    grep -q 'Test CA ca'
}
check "GetCACert CA mode: one DER certificate" getcacert_ca

check "pkiclient.exe path and any message= serve GetCACaps" \
    sh -c "curl -fsS '$URL/pkiclient.exe?operation=GetCACaps&message=CAIdentifier' | grep -qx AES"
check "unknown operation -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=GetFoo') = 400 ]"
check "operation in the wrong case -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=getcacaps') = 400 ]"
check "missing operation -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL') = 400 ]"
check "unknown path -> 404" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$PORT/other?operation=GetCACaps') = 404 ]"
check "PUT -> 405" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d x '$URL?operation=PKIOperation') = 405 ]"
check "GetNextCACert without a next CA -> 404" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=GetNextCACert') = 404 ]"

head -c 65537 /dev/zero >"$WORK/big.bin"
check "POST body over 64 KiB -> 413" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' --data-binary @$WORK/big.bin '$URL?operation=PKIOperation') = 413 ]"
long=$(head -c 33000 /dev/zero | tr '\0' 'A')
check "request line over 32 KiB -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=PKIOperation&message=$long') = 400 ]"
check "empty POST -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST '$URL?operation=PKIOperation') = 400 ]"
check "POST of garbage -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'not a pkiMessage' '$URL?operation=PKIOperation') = 400 ]"
check "GET message not base64 -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=PKIOperation&message=!!!!') = 400 ]"
check "GET message mixing the base64 and base64url alphabets -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=PKIOperation&message=MIIB-/w') = 400 ]"
check "repeated operation parameter -> 400" \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL?operation=GetCACaps&operation=GetCACert') = 400 ]"

# --- Enrollment matrix (RA mode) ----------------------------------------

$T getca -u "$URL" -o "$WORK/ra-getca.pem" >/dev/null
openssl x509 -in "$WORK/ra-getca.pem" -out "$WORK/recipient.pem"  # the RA, first

# enroll NAME [sceptool options...]: SUCCESS, certificate verified, one row.
enroll_ok() {
	name=$1
	shift
	k=$(key)
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" \
	    --subject "/O=scepd test/CN=$name" --challenge interop-secret-1 \
	    -o "$WORK/$name.pem" "$@" || return 1
	verify_cert "$WORK/$name.pem" "$RA/ca.pem" "$k" "CN=$name,O=scepd test" || return 1
	[ "$(certs "WHERE subject = 'CN=$name,O=scepd test'")" = 1 ]
}

# enroll_fail NAME FAILINFO [options...]: FAILURE FAILINFO and no row.
enroll_fail() {
	name=$1
	want=$2
	shift 2
	k=$(key)
	rc=0
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" \
	    --subject "/O=scepd test/CN=$name" -o "$WORK/$name.pem" "$@" \
	    >"$WORK/$name.out" 2>&1 || rc=$?
	cat "$WORK/$name.out"
	[ $rc = 2 ] || { echo "exit $rc, want 2 (FAILURE)"; return 1; }
	grep -q "failInfo=$want" "$WORK/$name.out" || return 1
	[ "$(certs "WHERE subject = 'CN=$name,O=scepd test'")" = 0 ]
}

styles="apple escaped sscep base64url"
i=0
g=0
for cipher in aes128 aes192 aes256 3des; do
	for digest in sha1 sha224 sha256 sha384 sha512; do
		for method in post get; do
			i=$((i + 1))
			sigalg=rsa
			[ $((i % 2)) = 0 ] && sigalg=sha
			[ $method = get ] && g=$((g + 1))
			style=$(echo $styles | cut -d' ' -f$((g % 4 + 1)))
			name=m-$cipher-$digest-$method-$sigalg
			opts="--cipher $cipher --digest $digest --method $method --sigalg $sigalg"
			[ $method = get ] && opts="$opts --get-style $style" && name=$name-$style
			# shellcheck disable=SC2086
			check "sceptool $cipher $digest $method $sigalg${method#post}" \
			    enroll_ok "$name" $opts
		done
	done
done

check "content type none" enroll_ok ct-none --content-type none
check "content type application/octet-stream (micromdm)" \
    enroll_ok ct-octet --content-type application/octet-stream
check "content type application/x-pki-message" \
    enroll_ok ct-pki --content-type application/x-pki-message
check "POST on /scep/pkiclient.exe" enroll_ok path-exe --path-suffix /pkiclient.exe
check "X.509 v1 self-signed signer (certmonger style)" enroll_ok v1-signer --v1-signer
for t in printable ia5 bmp utf8; do
	check "challengePassword as $t" enroll_ok chal-$t --challenge-type $t
done
check "transactionID with + / = and spaces" enroll_ok odd-tid --transid 'ab+/= SSCEP x'
check "SANs are copied" sh -c "
	$T enroll -u '$URL' --ca '$WORK/recipient.pem' -k '$(key)' --subject '/CN=san-test' \
	    --san DNS:host.example,IP:192.0.2.7,email:a@example.org \
	    --challenge interop-secret-1 -o '$WORK/san.pem' >/dev/null &&
	openssl x509 -in '$WORK/san.pem' -noout -ext subjectAltName |
	    grep -q 'DNS:host.example, IP Address:192.0.2.7, email:a@example.org'"
check "subject keeps RDN order" sh -c "
	$T enroll -u '$URL' --ca '$WORK/recipient.pem' -k '$(key)' \
	    --subject '/C=DE/ST=Berlin/O=Org/OU=Unit/CN=order-test' \
	    --challenge interop-secret-1 -o '$WORK/order.pem' >/dev/null &&
	[ \"\$(openssl x509 -in '$WORK/order.pem' -noout -subject -nameopt RFC2253)\" = \
	    'subject=CN=order-test,OU=Unit,O=Org,ST=Berlin,C=DE' ]"

# --- Refusals -------------------------------------------------------------

check "single DES refused: FAILURE badAlg" \
    enroll_fail des badAlg --cipher des --challenge interop-secret-1
check "MD5 refused: FAILURE badAlg" \
    enroll_fail md5 badAlg --digest md5 --challenge interop-secret-1
check "wrong challenge: FAILURE badRequest" \
    enroll_fail wrong-chal badRequest --challenge interop-secret-2
check "no challenge: FAILURE badRequest" enroll_fail no-chal badRequest
check "wrong challenge recorded as a failed transaction" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.transactions
	    WHERE state = 'failure' AND fail_info = 2\") -ge 2 ]"
for mt in 18 3 0 99 '' 019 ' 19' +19 17; do
	check "messageType \"$mt\": FAILURE badRequest" \
	    enroll_fail "mt$(echo "$mt" | tr -dc '0-9+')x" badRequest --msgtype "$mt" \
	    --challenge interop-secret-1
done

# mutate NAME MUTATION WANT: WANT is http400 or a failInfo name.
mutate() {
	k=$(key)
	rc=0
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" \
	    --subject "/CN=mut-$1" --challenge interop-secret-1 --mutate "$2" \
	    >"$WORK/mut.out" 2>&1 || rc=$?
	cat "$WORK/mut.out"
	case $3 in
	http400) [ $rc = 4 ] && grep -q 400 "$WORK/mut.out" || return 1 ;;
	*) [ $rc = 2 ] && grep -q "failInfo=$3" "$WORK/mut.out" || return 1 ;;
	esac
	[ "$(certs "WHERE subject = 'CN=mut-$1'")" = 0 ]
}
check "truncated message -> 400" mutate trunc truncate:200 http400
check "trailing garbage -> 400" mutate trail trailing-garbage http400
check "no SignerInfo -> 400" mutate zero zero-signers http400
check "two SignerInfos -> 400" mutate two two-signers http400
check "messageType as UTF8String -> 400" mutate mtutf8 msgtype-utf8 http400
check "15-byte senderNonce -> 400" mutate nonce nonce-15 http400
check "no transactionID -> 400" mutate notid no-transid http400
check "flipped signature -> badMessageCheck" mutate flip flip-signature badMessageCheck
check "envelope to another recipient -> badMessageCheck" \
    mutate recip wrong-recipient badMessageCheck
check "corrupt RSA key block -> badMessageCheck" mutate rsa corrupt-rsa badMessageCheck
check "bad CBC padding -> badMessageCheck" mutate pad corrupt-padding badMessageCheck
check "bad CSR signature -> badMessageCheck" mutate csrsig bad-csr-sig badMessageCheck
check "no envelope (bare CSR) -> FAILURE, no certificate" sh -c "
	$T enroll -u '$URL' --ca '$WORK/recipient.pem' -k '$(key)' --subject /CN=mut-bare \
	    --challenge interop-secret-1 --mutate bare-csr; [ \$? = 2 ]"

# --- Transactions -----------------------------------------------------------

retransmit() {
	k=$(key)
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" --subject /CN=retx \
	    --challenge interop-secret-1 --save-request "$WORK/retx.der" \
	    -o "$WORK/retx1.pem" || return 1
	$T post -u "$URL" --file "$WORK/retx.der" --ca "$WORK/recipient.pem" -k "$k" \
	    -o "$WORK/retx2.pem" || return 1
	cmp "$WORK/retx1.pem" "$WORK/retx2.pem" || return 1
	[ "$(certs "WHERE subject = 'CN=retx'")" = 1 ]
}
check "retransmitted PKCSReq gets the same certificate, one row" retransmit

concurrent() {
	k=$(key)
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" --subject /CN=race \
	    --challenge interop-secret-1 --save-request "$WORK/race.der" --no-send || return 1
	pids=""
	for j in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
		$T post -u "$URL" --file "$WORK/race.der" --ca "$WORK/recipient.pem" \
		    -k "$k" -o "$WORK/race$j.pem" >"$WORK/race$j.out" 2>&1 &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || return 1; done
	[ "$(certs "WHERE subject = 'CN=race'")" = 1 ] || return 1
	[ "$(cat "$WORK"/race*.pem | sort -u | grep -c BEGIN)" = 1 ]
}
check "16 concurrent copies of one PKCSReq issue one certificate" concurrent

tid_other_key() {
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$(key)" --subject /CN=tid-a \
	    --challenge interop-secret-1 --transid SHARED-TID-1 -o "$WORK/tida.pem" || return 1
	enroll_fail tid-b badRequest --challenge interop-secret-1 --transid SHARED-TID-1
}
check "same transactionID with another key: FAILURE badRequest" tid_other_key

same_key_new_csr() {
	k=$(key)
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" --subject /CN=rekey-1 \
	    --challenge interop-secret-1 -o "$WORK/rk1.pem" || return 1
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$k" --subject /CN=rekey-2 \
	    --challenge interop-secret-1 -o "$WORK/rk2.pem" || return 1
	[ "$(certs "WHERE subject IN ('CN=rekey-1', 'CN=rekey-2')")" = 2 ]
}
check "same key and transactionID, new CSR: a new transaction" same_key_new_csr

# --- CA mode ------------------------------------------------------------------

ca_mode() {
	k=$(key)
	curl -fsS "$CAURL?operation=GetCACert" | openssl x509 -inform DER -out "$WORK/ca-recip.pem"
	$T enroll -u "$CAURL" --ca "$WORK/ca-recip.pem" -k "$k" --subject /CN=camode \
	    --challenge interop-secret-1 --cipher "$1" --digest "$2" -o "$WORK/camode.pem" || return 1
	verify_cert "$WORK/camode.pem" "$CA/ca.pem" "$k" CN=camode
}
check "CA mode enrollment aes256 sha512" ca_mode aes256 sha512
check "CA mode enrollment 3des sha1" ca_mode 3des sha1

# --- Issuer names of GetCert, GetCRL and CertPoll -----------------------------
#
# RFC 8894 3.3.3, 3.3.4: sscep names the certificate it encrypts to (the
# RA in RA mode), certmonger the issuer of the CA certificate it holds
# (the root above an intermediate).  Each is a name of the CA; the serial
# must still be one this CA issued, and any other name is badCertId.

# names_enroll URL RECIPIENT NAME: a certificate NAME.pem for key NAME.key.
names_enroll() {
	$T enroll -u "$1" --ca "$2" -k "$WORK/$3.key" --subject "/CN=$3" \
	    --challenge interop-secret-1 -o "$WORK/$3.pem" >/dev/null
}
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# names_send OP URL RECIPIENT NAME ISSUER [OPTIONS]: OP (getcert, getcrl,
# poll) for certificate NAME (key NAME.key) with ISSUER as the issuer name.
names_send() {
	nop=$1 nurl=$2 nrecip=$3 nname=$4 nissuer=$5
	shift 5
	if [ "$nop" = poll ]; then
		$T poll -u "$nurl" --ca "$nrecip" -k "$WORK/$nname.key" \
		    --subject "/CN=$nname" --issuer "$nissuer" "$@"
	else
		$T "$nop" -u "$nurl" --ca "$nrecip" -k "$WORK/$nname.key" \
		    --serial "$(serial_of "$WORK/$nname.pem")" --issuer "$nissuer" "$@"
	fi
}

# names_op OP URL RECIPIENT NAME ISSUER: SUCCESS, and the answer is NAME's
# certificate (getcert, poll) or a CRL that verifies with $CAFILE.
names_op() {
	rm -f "$WORK/$4.$1"
	names_send "$@" -o "$WORK/$4.$1" || return 1
	if [ "$1" = getcrl ]; then
		openssl crl -in "$WORK/$4.$1" -CAfile "$CAFILE" -noout 2>&1 |
		    grep -qx 'verify OK'
	else
		[ "$(serial_of "$WORK/$4.$1")" = "$(serial_of "$WORK/$4.pem")" ]
	fi
}

# names_refused OP URL RECIPIENT NAME ISSUER: FAILURE badCertId, and the
# server still answers.
names_refused() {
	rc=0
	names_send "$@" >"$WORK/names.out" 2>&1 || rc=$?
	cat "$WORK/names.out"
	[ $rc = 2 ] || { echo "exit $rc, want 2 (FAILURE)"; return 1; }
	grep -q 'failInfo=badCertId' "$WORK/names.out" || return 1
	curl -fsS -o /dev/null "$2?operation=GetCACaps"
}

log_says() { grep -q "$2" "$WORK/scepd-$1.log"; }

# names_matrix LABEL URL RECIPIENT NAME REFUSED "WHAT|DN"...: for each
# operation, every DN given is accepted, REFUSED ("WHAT|DN") is badCertId.
names_matrix() {
	mlabel=$1 murl=$2 mrecip=$3 mname=$4 mrefused=$5
	shift 5
	for op in getcert getcrl poll; do
		for pair in "$@"; do
			check "$mlabel $op, issuer ${pair%%|*}" \
			    names_op $op "$murl" "$mrecip" "$mname" "${pair#*|}"
		done
		check "$mlabel $op, issuer ${mrefused%%|*}: FAILURE badCertId" \
		    names_refused $op "$murl" "$mrecip" "$mname" "${mrefused#*|}"
	done
}

RA_DN="/O=scepd test/CN=Test RA"
FOREIGN="a foreign name|/O=elsewhere/CN=Some Other CA"
names_enroll "$URL" "$WORK/recipient.pem" names-ra
CAFILE=$RA/ca.pem
names_matrix "RA mode" "$URL" "$WORK/recipient.pem" names-ra "$FOREIGN" \
    "the RA's subject (sscep)|$RA_DN" \
    "the CA's subject|/O=scepd test/CN=Test CA ra"
check "the log names the refusal: issuer is not this CA" \
    log_says $PORT 'issuer is not this CA -> FAILURE badCertId'

names_enroll "$CAURL" "$WORK/ca-recip.pem" names-ca
CAFILE=$CA/ca.pem
names_matrix "CA mode" "$CAURL" "$WORK/ca-recip.pem" names-ca \
    "the RA of another server|$RA_DN" \
    "the CA's subject|/O=scepd test/CN=Test CA ca"

$T getca -u "$INTURL" -o "$WORK/int-getca.pem" >/dev/null
openssl x509 -in "$WORK/int-getca.pem" -out "$WORK/int-recip.pem"  # the intermediate
names_enroll "$INTURL" "$WORK/int-recip.pem" names-int
CAFILE=$INT/chain.pem
check "intermediate CA issues under its root" \
    openssl verify -CAfile "$INT/root.pem" -untrusted "$INT/inter.pem" "$WORK/names-int.pem"
names_matrix "intermediate" "$INTURL" "$WORK/int-recip.pem" names-int "$FOREIGN" \
    "the CA's issuer (certmonger)|/O=scepd test/CN=Test Root" \
    "the CA's subject|/O=scepd test/CN=Test Intermediate"

# Profile b shares the database, not the CA: the intermediate's serial
# through b is no certificate of b's, whatever issuer name is given.
curl -fsS "$INTURL/b?operation=GetCACert" | openssl x509 -inform DER -out "$WORK/b-recip.pem"
check "GetCert of CA A's serial through profile B (B's name): FAILURE badCertId" \
    names_refused getcert "$INTURL/b" "$WORK/b-recip.pem" names-int "/O=scepd test/CN=Test CA b"
check "GetCert of CA A's serial through profile B (A's name): FAILURE badCertId" \
    names_refused getcert "$INTURL/b" "$WORK/b-recip.pem" names-int "/O=scepd test/CN=Test Intermediate"
check "the log says the serial is no certificate of B's" \
    log_says $INTPORT "no such certificate: serial $(serial_of "$WORK/names-int.pem")"
check "CertPoll of A's transaction through profile B: FAILURE badCertId" \
    names_refused poll "$INTURL/b" "$WORK/b-recip.pem" names-int "/O=scepd test/CN=Test CA b"

# --- CA-mode keyUsage (RFC 8894 2.1) ------------------------------------------

check "ca init --no-ra: the CA has keyEncipherment and digitalSignature" sh -c "
	openssl x509 -in '$CA/ca.pem' -noout -ext keyUsage | tail -n 1 | tr -d ' ' |
	    grep -qx 'DigitalSignature,KeyEncipherment,CertificateSign,CRLSign'"
check "scepd -n: no keyUsage warning for that CA" sh -c "
	'$BUILD/scepd' -n -c '$CA/scepd.conf' >'$WORK/n-ok.out' 2>&1 &&
	! grep -q keyUsage '$WORK/n-ok.out'"

# bare_ca_warns: a CA-mode profile whose CA has keyCertSign and cRLSign
# only still starts, and the log names what is missing and the fix.
bare_ca_warns() {
	mkdir -p "$WORK/bare"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/bare/ca.key" \
	    -out "$WORK/bare/ca.pem" -days 30 -subj "/CN=Bare CA" \
	    -addext 'basicConstraints=critical,CA:TRUE' \
	    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null || return 1
	sed 's/^ca = .*/ca = { cert = "ca.pem"; key = "ca.key"; };/' "$CA/scepd.conf" \
	    >"$WORK/bare/scepd.conf"
	"$BUILD/scepd" -n -c "$WORK/bare/scepd.conf" >"$WORK/bare/n.out" 2>&1 || return 1
	cat "$WORK/bare/n.out"
	grep -q "profile default: CA mode, but the CA certificate .*/bare/ca.pem lacks digitalSignature and keyEncipherment in its keyUsage" "$WORK/bare/n.out" &&
	grep -q "add an RA certificate, or reissue the CA with keyEncipherment and digitalSignature" "$WORK/bare/n.out" &&
	grep -q "configuration OK" "$WORK/bare/n.out"
}
check "a CA-mode CA without keyEncipherment/digitalSignature: warning naming the fix" \
    bare_ca_warns

# --- Nothing half-written ------------------------------------------------------

check "no transaction row without its certificate" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.transactions t
	    LEFT JOIN scepd.certificates c ON c.serial = t.cert_serial
	    WHERE t.state = 'success' AND c.serial IS NULL\") = 0 ]"
check "one audit row per certificate" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates\") = \
	  \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit WHERE action = 'issue'\") ]"

stop_scepd $PORT
check "scepd exits cleanly on SIGTERM" sh -c "grep -q stopped '$WORK/scepd-$PORT.log'"
summary
