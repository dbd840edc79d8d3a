#!/bin/sh
# Certificate templates (issue 3, item 4) end to end: a scepd with
# profiles whose templates set the subject (fixed text and variables),
# SAN allow-lists (DNS, e-mail, UPN, Intune's SID URI, IP), key sizes,
# validity, key usage, EKUs, CRL distribution point and AIA.  Enrollments
# by our own client (sceptool) and strongSwan `pki --scep`; every issued
# certificate is read back with openssl (exact subject, SANs, KU, EKU,
# CDP, AIA, the SID extension 1.3.6.1.4.1.311.25.2 and its value,
# validity length); every refusal must be FAILURE badRequest, leave a log
# line giving the template's reason, and leave no certificate row.
# (EC keys and the Windows ValidityPeriod attribute are covered by
# test_policy: neither client can send them.)
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18451
DB=it_tmpl
D=$WORK/ca
BASE=http://127.0.0.1:$PORT/scep
LOG=$WORK/scepd-$PORT.log
SID=S-1-5-21-1004336348-1177238915-682003330-1001
SIDURI="tag:microsoft.com,2022-09-14:sid:$SID"
trap 'stop_scepd $PORT' EXIT

setup_ca "$D" $DB ca '
profiles = (
  { name = "corp";
    challenge = "corp-secret-1";
    validity_days = 30;
    backdate_seconds = 600;
    template = {
      subject = "/O=Acme Corp/OU=Devices/CN={csr.cn}";
      san_dns = [ "*.corp.example" ];
      san_email = [ "*@corp.example" ];
      san_upn = [ "*@corp.example" ];
      san_uri = [ "tag:microsoft.com,2022-09-14:sid:*" ];
      max_validity_days = 90;
      key_usage = [ "digitalSignature" ];
      eku = [ "clientAuth", "serverAuth", "msSmartcardLogin" ];
      crl_url = "http://pki.corp.example/crl/ca.crl?a=1,b=2";
      ocsp_url = "http://ocsp.corp.example/";
      ca_issuers_url = "http://pki.corp.example/ca.cer";
      sid_extension = true;
      # A static challenge and the CSR naming the SID: the test of it.
      sid_from_csr_acknowledged = true;
    };
  },
  { name = "strict";
    challenge = "strict-secret-1";
    template = { rsa_max_bits = 2048; subject = "/O=Acme/OU={var.dept}/CN={csr.cn}"; };
  },
  { name = "ip";
    challenge = "ip-secret-1";
    template = { san_ip = true; rsa_min_bits = 3072; san_dns = [ "*.lab.example" ]; };
  }
);' || { echo "cannot set up the CA"; exit 1; }
start_scepd "$D/scepd.conf" $PORT || exit 1

certs() { sql $DB "SELECT count(*) FROM scepd.certificates"; }
key() { echo "$WORK/k$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n').pem"; }
text() { openssl x509 -in "$1" -noout -text -certopt no_pubkey,no_sigdump; }
# ext CERT NAME: the lines of one extension in openssl's text form.
ext() {
	text "$1" | awk -v h="$2" 'f && substr($0, 1, 16) != "                " { exit }
	    f { print } index($0, h) { f = 1; print }'
}
# lifetime CERT: notAfter - notBefore in seconds.
lifetime() {
	a=$(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s)
	b=$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)
	echo $((a - b))
}
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }

openssl genrsa -out "$WORK/k1024.pem" 1024 2>/dev/null
openssl genrsa -out "$WORK/k3072.pem" 3072 2>/dev/null
openssl genrsa -out "$WORK/k3072b.pem" 3072 2>/dev/null

# --- corp: subject template, allow-lists, KU/EKU, CDP, AIA -----------------

corp_ok() {
	k=$(key)
	$T enroll -u "$BASE/corp" --ca "$D/ca.pem" -k "$k" --challenge corp-secret-1 \
	    --subject "/O=Whatever Inc/CN=laptop-7" -o "$WORK/corp.pem" \
	    --san "DNS:laptop-7.corp.example,email:alice@corp.example,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp.example" ||
	    return 1
	# The template's subject, not the CSR's O.
	verify_cert "$WORK/corp.pem" "$D/ca.pem" "$k" "CN=laptop-7,OU=Devices,O=Acme Corp"
}
check "corp: enrolls, subject from the template with {csr.cn}" corp_ok

corp_sans() {
	s=$(ext "$WORK/corp.pem" "Subject Alternative Name" | tail -n 1 | sed 's/^ *//')
	echo "$s"
	[ "$s" = "DNS:laptop-7.corp.example, email:alice@corp.example, othername: UPN::alice@corp.example" ]
}
check "corp: SANs exactly as requested and allowed" corp_sans

corp_ku_eku() {
	ext "$WORK/corp.pem" "X509v3 Key Usage: critical" | grep -qx '                Digital Signature' || return 1
	e=$(ext "$WORK/corp.pem" "Extended Key Usage" | tail -n 1 | sed 's/^ *//')
	echo "$e"
	[ "$e" = "TLS Web Client Authentication, TLS Web Server Authentication, Microsoft Smartcard Login" ] || return 1
	ext "$WORK/corp.pem" "Basic Constraints: critical" | grep -q 'CA:FALSE'
}
check "corp: key usage and EKU list from the template, CA:FALSE" corp_ku_eku

corp_urls() {
	ext "$WORK/corp.pem" "CRL Distribution Points" | grep -qx '                  URI:http://pki.corp.example/crl/ca.crl?a=1,b=2' || return 1
	a=$(ext "$WORK/corp.pem" "Authority Information Access")
	echo "$a"
	echo "$a" | grep -q 'OCSP - URI:http://ocsp.corp.example/' &&
	    echo "$a" | grep -q 'CA Issuers - URI:http://pki.corp.example/ca.cer'
}
check "corp: CRL distribution point (URL with ',') and AIA OCSP + caIssuers" corp_urls

corp_validity() {
	l=$(lifetime "$WORK/corp.pem")
	echo "lifetime $l"
	[ "$l" = $((30 * 86400 + 600)) ]
}
check "corp: validity 30 days plus 600 s backdating" corp_validity
check "corp: no SID extension without a SID" \
    sh -c "! openssl x509 -in '$WORK/corp.pem' -noout -text | grep -q 1.3.6.1.4.1.311.25.2"

# strongSwan sends Intune's SID URI (with its ',') as a raw GeneralName.
hex=$(printf '%s' "$SIDURI" | od -An -tx1 | tr -d ' \n')
sidgn="asn1gn:#86$(printf '%02x' ${#SIDURI})$hex"
curl -fsS "$BASE/corp?operation=GetCACert" -o "$WORK/ca.der"
sw() {
	out=$1
	shift
	timeout 60 pki --scep --url "$BASE/corp" --in "$WORK/sw.key" \
	    --cacert-enc "$WORK/ca.der" --cacert-sig "$WORK/ca.der" \
	    --password corp-secret-1 --interval 1 --maxpolltime 10 \
	    --outform pem "$@" >"$out" 2>"$out.log"
}
pki --gen --type rsa --size 2048 --outform pem >"$WORK/sw.key" 2>/dev/null

sw_sid() {
	sw "$WORK/sw.pem" --dn "CN=ws-9" --san "ws-9.corp.example" --san "$sidgn" ||
	    { cat "$WORK/sw.pem.log"; return 1; }
	verify_cert "$WORK/sw.pem" "$D/ca.pem" "$WORK/sw.key" "CN=ws-9,OU=Devices,O=Acme Corp" || return 1
	s=$(ext "$WORK/sw.pem" "Subject Alternative Name" | tail -n 1 | sed 's/^ *//')
	echo "$s"
	[ "$s" = "DNS:ws-9.corp.example, URI:$SIDURI" ]
}
check "strongSwan pki --scep: Intune SID URI SAN allowed and kept" sw_sid

# The SID extension, non-critical, its value the textual SID in an
# otherName 1.3.6.1.4.1.311.25.2.1 (as AD CS writes it).
sid_ext() {
	openssl asn1parse -in "$WORK/sw.pem" >"$WORK/sw.asn1" || return 1
	line=$(grep -n ':1.3.6.1.4.1.311.25.2$' "$WORK/sw.asn1" | cut -d: -f1)
	[ -n "$line" ] || { echo "no SID extension"; return 1; }
	# The next element is the OCTET STRING value, not a BOOLEAN critical.
	next=$(sed -n "$((line + 1))p" "$WORK/sw.asn1")
	echo "$next" | grep -q 'OCTET STRING' || { echo "critical? $next"; return 1; }
	off=$(echo "$next" | sed 's/^ *\([0-9]*\):.*/\1/')
	openssl asn1parse -in "$WORK/sw.pem" -strparse "$off" >"$WORK/sid.asn1" || return 1
	cat "$WORK/sid.asn1"
	grep -q 'OBJECT *:1.3.6.1.4.1.311.25.2.1$' "$WORK/sid.asn1" &&
	    grep -q "OCTET STRING *:$SID\$" "$WORK/sid.asn1"
}
check "SID extension 1.3.6.1.4.1.311.25.2 non-critical with the SID" sid_ext

# --- refusals: FAILURE badRequest, a log line with the reason, no row ------

# refuse NAME URLPATH CHALLENGE REASON [sceptool options...]
refuse() {
	r_name=$1
	r_path=$2
	r_chal=$3
	r_why=$4
	shift 4
	before=$(certs)
	rc=0
	$T enroll -u "$BASE$r_path" --ca "$D/ca.pem" --challenge "$r_chal" \
	    -o "$WORK/$r_name.pem" "$@" >"$WORK/$r_name.out" 2>&1 || rc=$?
	cat "$WORK/$r_name.out"
	[ $rc = 2 ] || { echo "exit $rc, want 2 (FAILURE)"; return 1; }
	grep -q "failInfo=badRequest" "$WORK/$r_name.out" || return 1
	[ "$(certs)" = "$before" ] || { echo "a certificate row was written"; return 1; }
	grep -F "template refuses: " "$LOG" | grep -F "$r_why" >/dev/null ||
	    { echo "no log line with: $r_why"; tail -n 3 "$LOG"; return 1; }
}

check "DNS name outside san_dns -> badRequest" \
    refuse dns /corp corp-secret-1 "SAN DNS:evil.example is not allowed by the profile's san_dns" \
    -k "$(key)" --subject /CN=d1 --san "DNS:ok.corp.example,DNS:evil.example"
check "wildcard DNS name not listed as it is -> badRequest" \
    refuse wild /corp corp-secret-1 "SAN DNS:*.sub.corp.example is not allowed" \
    -k "$(key)" --subject /CN=d2 --san "DNS:*.sub.corp.example"
check "e-mail outside san_email -> badRequest" \
    refuse mail /corp corp-secret-1 "SAN email:mallory@evil.example is not allowed" \
    -k "$(key)" --subject /CN=d3 --san "email:mallory@evil.example"
check "UPN outside san_upn (ESC1 shape) -> badRequest" \
    refuse upn /corp corp-secret-1 "SAN UPN:administrator@evil.example is not allowed" \
    -k "$(key)" --subject /CN=d4 --san "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@evil.example"
check "IP SAN on a profile without san_ip -> badRequest" \
    refuse ip /corp corp-secret-1 "SAN IP:10.1.2.3: the profile allows no IP addresses" \
    -k "$(key)" --subject /CN=d5 --san "IP:10.1.2.3"
check "URI outside san_uri -> badRequest" \
    refuse uri /corp corp-secret-1 "SAN URI:https://evil.example/ is not allowed" \
    -k "$(key)" --subject /CN=d6 --san "URI:https://evil.example/"
check "registeredID SAN -> badRequest (refused, not dropped)" \
    refuse rid /corp corp-secret-1 "SAN of type registeredID is not accepted" \
    -k "$(key)" --subject /CN=d7 --san "RID:1.2.3.4"
check "RSA 1024 -> badRequest naming the key" \
    refuse rsa1024 /corp corp-secret-1 "RSA 1024 bits below the profile's minimum 2048" \
    -k "$WORK/k1024.pem" --subject /CN=d8
check "RSA 3072 above rsa_max_bits 2048 -> badRequest" \
    refuse rsa3072 /strict strict-secret-1 "RSA 3072 bits above the profile's maximum 2048" \
    -k "$WORK/k3072.pem" --subject /CN=d9
check "template variable without a value -> badRequest naming it" \
    refuse novar /strict strict-secret-1 "template variable {var.dept} has no value" \
    -k "$(key)" --subject /CN=d10
tab=$(printf 'a\tb')
check "control character in the CSR subject -> badRequest, escaped in the log" \
    refuse ctrl /corp corp-secret-1 'CSR subject CN "a\x09b" has control characters' \
    -k "$(key)" --subject "/CN=$tab"
check "{csr.cn} with no CN -> badRequest" \
    refuse nocn /corp corp-secret-1 "the CSR subject has no CN" \
    -k "$(key)" --subject "/O=Acme" --san "DNS:x.corp.example"

sw_refused() {
	before=$(certs)
	if sw "$WORK/sw-bad.pem" --dn "CN=ws-10" --san "ws-10.evil.example"; then
		echo "pki --scep succeeded"
		return 1
	fi
	[ "$(certs)" = "$before" ] &&
	    grep -qF "template refuses: SAN DNS:ws-10.evil.example is not allowed" "$LOG"
}
check "strongSwan pki --scep with a SAN outside the list: refused, no row" sw_refused

# --- ip: IP SANs allowed, a larger minimum key ---------------------------

ip_ok() {
	$T enroll -u "$BASE/ip" --ca "$D/ca.pem" -k "$WORK/k3072b.pem" \
	    --challenge ip-secret-1 --subject "/CN=router-1" \
	    --san "IP:10.1.2.3,DNS:router-1.lab.example" -o "$WORK/ip.pem" || return 1
	verify_cert "$WORK/ip.pem" "$D/ca.pem" "$WORK/k3072b.pem" "CN=router-1" || return 1
	s=$(ext "$WORK/ip.pem" "Subject Alternative Name" | tail -n 1 | sed 's/^ *//')
	echo "$s"
	[ "$s" = "IP Address:10.1.2.3, DNS:router-1.lab.example" ] || return 1
	# Defaults: digitalSignature + keyEncipherment, clientAuth, 30 days.
	ext "$WORK/ip.pem" "X509v3 Key Usage" | grep -q 'Digital Signature, Key Encipherment' &&
	    ext "$WORK/ip.pem" "Extended Key Usage" | grep -qx '                TLS Web Client Authentication' &&
	    [ "$(lifetime "$WORK/ip.pem")" = $((30 * 86400 + 300)) ]
}
check "ip: IP SAN allowed, CSR subject kept, default KU/EKU" ip_ok
check "ip: RSA 2048 below the profile's 3072 -> badRequest" \
    refuse ip2048 /ip ip-secret-1 "RSA 2048 bits below the profile's minimum 3072" \
    -k "$(key)" --subject /CN=r2

check "scepd still running" kill -0 "$(cat "$WORK/scepd-$PORT.pid")"
check "scepd exits cleanly on SIGTERM" stop_scepd $PORT

# Without the acknowledgement, profile corp (a static challenge, the
# CSR's SID URI) is a forgeable strong mapping: scepd -n refuses it.
grep -v sid_from_csr_acknowledged "$D/scepd.conf" >"$D/noack.conf"
check "scepd -n: static challenge + SID san_uri without the acknowledgement -> refused" \
    fails_with 1 'profile corp: template.san_uri "tag:microsoft.com,2022-09-14:sid:*" lets the CSR name a SID' \
    "$BUILD/scepd" -n -c "$D/noack.conf"
summary
