#!/bin/sh
# The make run demo: the configuration and CA that scripts/demo.sh writes,
# served by scepd, with strongSwan pki --scep enrolling SANs (DNS, e-mail,
# IP) by the static challenge and by a one-time challenge from scepctl
# challenge create, a replayed one-time challenge refused, manual approval
# on /scep/approval, and then every line the banner prints, run as
# printed (renewal among them; the one that waits for approval in the
# background).
. "$(dirname "$0")/../lib.sh"

DEMO=$(cd "$(dirname "$0")/../.." && pwd)/scripts/demo.sh
C=$BUILD/scepctl
PORT=18750
DB=it_demo
D=$WORK/demo
CONF=$D/scepd.conf
URL=http://127.0.0.1:$PORT/scep
SW=$WORK/sw
LOG=$WORK/scepd-$PORT.log
bg_pid=""
cleanup() {
	[ -n "$bg_pid" ] && kill -TERM "$bg_pid" 2>/dev/null
	stop_scepd $PORT
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rm -rf "$D" "$SW"
mkdir -p "$SW"

certs() { sql $DB "SELECT count(*) FROM scepd.certificates WHERE subject = '$1'"; }
alive() { curl -fsS -o /dev/null "$URL?operation=GetCACaps"; }

# --- The generator ------------------------------------------------------------

fresh_db $DB
check "scripts/demo.sh conf writes the configuration, the schema and a CA with RA" \
    sh "$DEMO" conf "$D" $PORT "$(conninfo $DB)" "$BUILD"
check "the configuration says at its top that it is a demo, not for production" \
    sh -c "head -n 8 '$CONF' | grep -q 'A DEMO OF THE WHOLE PRODUCT, for loopback only' &&
	head -n 8 '$CONF' | grep -q 'etc/scepd.conf'"
check "scepd -n accepts it" "$BUILD/scepd" -n -c "$CONF"
check "profiles: default dynamic,static with renewal; approval manual" sh -c "
	'$C' -c '$CONF' profile list >'$WORK/profiles' &&
	grep -Eq '^default +/scep +dynamic,static +auto +yes ' '$WORK/profiles' &&
	grep -Eq '^approval +/scep/approval +dynamic,static +manual +yes ' '$WORK/profiles'"
cp "$CONF" "$WORK/conf.first"
check "conf again keeps the configuration, its secrets and the CA" sh -c "
	sum=\$(sha256sum <'$D/ca/ca.pem') &&
	sh '$DEMO' conf '$D' $PORT '$(conninfo $DB)' '$BUILD' &&
	cmp '$CONF' '$WORK/conf.first' && [ \"\$(sha256sum <'$D/ca/ca.pem')\" = \"\$sum\" ]"
# A var/scepd.conf from before the demo: rewritten, its secrets kept.
upgrade() {
	mkdir -p "$WORK/old" &&
	printf '%s\n' '# Written by make run.' 'challenge = "old-static-secret-1";' \
	    "challenge_key = \"$(printf '%064d' 7)\";" >"$WORK/old/scepd.conf" &&
	sh "$DEMO" conf "$WORK/old" $PORT "$(conninfo $DB)" "$BUILD" || return 1
	grep -q 'A DEMO OF THE WHOLE PRODUCT' "$WORK/old/scepd.conf" &&
	    grep -qx 'challenge = "old-static-secret-1";' "$WORK/old/scepd.conf" &&
	    grep -qx "challenge_key = \"$(printf '%064d' 7)\";" "$WORK/old/scepd.conf" &&
	    "$BUILD/scepd" -n -c "$WORK/old/scepd.conf"
}
check "conf over an older make run configuration: the demo, same challenge and key" upgrade
check "start scepd on the demo configuration" start_scepd "$CONF" $PORT
if [ "$failed" -gt 0 ]; then
	summary
	exit 1
fi
SECRET=$(sed -n 's/^challenge = "\(.*\)";/\1/p' "$CONF")

# --- strongSwan pki --scep with SANs ---------------------------------------------

check "pki --scepca fetches the CA and the RA" sh -c "
	timeout 30 pki --scepca --url '$URL' --caout '$SW/ca.der' --raout '$SW/ra.der' \
	    --force >/dev/null 2>&1 && [ -s '$SW/ca.der' ] && [ -s '$SW/ra.der' ]"

# sw_key NAME: a new RSA key $SW/NAME.key.
sw_key() { pki --gen --type rsa --size 2048 --outform pem >"$SW/$1.key" 2>/dev/null; }
# sw_scep NAME URL CHALLENGE [pki options]: CN=NAME with DNS, e-mail and
# IP SANs for $SW/NAME.key; certificate in $SW/NAME.pem, pki's messages
# in $SW/NAME.err.
sw_scep() {
	n=$1 u=$2 p=$3
	shift 3
	timeout 90 pki --scep --url "$u" --in "$SW/$n.key" --dn "CN=$n" \
	    --san "$n.example.com" --san "$n@example.com" --san 192.0.2.7 \
	    --password "$p" --cacert-enc "$SW/ra.der" --cacert-sig "$SW/ra.der" \
	    --cacert "$SW/ca.der" --outform pem "$@" >"$SW/$n.pem" 2>"$SW/$n.err"
}
sw_enroll() { sw_key "$1" && sw_scep "$@"; }

# issued NAME: the certificate chains to the demo CA, holds NAME.key's
# public key, subject CN=NAME and exactly the SANs asked for, one row.
issued() {
	verify_cert "$SW/$1.pem" "$D/ca/ca.pem" "$SW/$1.key" "CN=$1" || return 1
	s=$(openssl x509 -in "$SW/$1.pem" -noout -ext subjectAltName | sed -n 2p |
	    sed 's/^ *//')
	[ "$s" = "DNS:$1.example.com, email:$1@example.com, IP Address:192.0.2.7" ] ||
	    { echo "SANs \"$s\""; return 1; }
	[ "$(certs "CN=$1")" = 1 ]
}

# refused NAME: pki got a CertRep FAILURE badRequest, nothing was issued
# and scepd still answers.
refused() {
	grep -Eq 'failInfo: +badRequest' "$SW/$1.err" || { cat "$SW/$1.err"; return 1; }
	[ "$(certs "CN=$1")" = 0 ] && alive
}

static_enroll() { sw_enroll dm-static "$URL" "$SECRET" && issued dm-static; }
check "pki --scep, static challenge, DNS + e-mail + IP SANs: verified certificate" \
    static_enroll

once_enroll() {
	chal=$("$C" -c "$CONF" challenge create --device dm-dev 2>"$WORK/mint.err") ||
	    { cat "$WORK/mint.err"; return 1; }
	echo "$chal" | grep -Eqx '[0-9A-F]{32}' || { echo "challenge \"$chal\""; return 1; }
	echo "$chal" >"$WORK/once.chal"
	secret "$chal"
	sw_enroll dm-once "$URL" "$chal" && issued dm-once || return 1
	# The one-time challenge bound the certificate to its device.
	[ "$(sql $DB "SELECT device_id FROM scepd.certificates WHERE subject = 'CN=dm-once'")" = dm-dev ]
}
check "scepctl challenge create on the default profile, pki --scep with it: verified, device bound" \
    once_enroll

replay() {
	! sw_enroll dm-replay "$URL" "$(cat "$WORK/once.chal")" || return 1
	refused dm-replay || return 1
	# Refused by the one-time store, never compared with the static one.
	l=$(grep 'possible replay' "$LOG" | tail -n 1)
	if ! echo "$l" | grep -q 'dynamic: challenge already used: possible replay: challenge #[0-9]* first used at .* -> FAILURE badRequest' ||
	    echo "$l" | grep -q 'static:'; then
		echo "log: $l"
		return 1
	fi
}
check "the used one-time challenge again: FAILURE badRequest (replay), no certificate, scepd answers" \
    replay

guess() {
	! sw_enroll dm-guess "$URL" not-a-challenge-at-all || return 1
	refused dm-guess &&
	    grep -Eq 'dynamic: unknown challenge[^;]*; static: wrong challengePassword -> FAILURE badRequest' "$LOG"
}
check "an unknown challenge: FAILURE badRequest, the log names both modes' reasons" guess

# --- Manual approval on /scep/approval -----------------------------------------

held() {
	# One poll at most: pki gives up while the request is still PENDING.
	! sw_enroll dm-held "$URL/approval" "$SECRET" --interval 1 --maxpolltime 1 ||
	    { echo "issued without approval"; return 1; }
	[ "$(certs CN=dm-held)" = 0 ] || return 1
	grep -q 'waiting for approval -> PENDING' "$LOG" || return 1
	tid=$("$C" -c "$CONF" pending list 2>/dev/null | grep 'CN=dm-held' |
	    grep ' approval ' | awk '{ print $1 }')
	[ -n "$tid" ] || { echo "CN=dm-held not in scepctl pending list"; return 1; }
	echo "$tid" >"$WORK/held.tid"
}
check "pki --scep on /scep/approval: PENDING, in scepctl pending list, nothing issued" held
check "scepctl pending approve" sh -c "
	'$C' -c '$CONF' pending approve \"\$(cat '$WORK/held.tid')\" | grep -q 'approved 1 request'"
held_again() { sw_scep dm-held "$URL/approval" "$SECRET" && issued dm-held; }
check "pki --scep again with the same key: the approved certificate (verified, SANs)" held_again

# --- Every line the banner prints ------------------------------------------------

sh "$DEMO" banner "$D" $PORT "$BUILD" >"$WORK/banner" 2>"$WORK/banner.err"
check "banner: the URL, the static challenge, the CA" sh -c "
	grep -q '^  scepd is serving SCEP on  $URL\$' '$WORK/banner' &&
	grep -q '^  static challenge: *$SECRET\$' '$WORK/banner' &&
	grep -q '^  CA certificate: *$D/ca/ca.pem\$' '$WORK/banner'"
check "banner: eleven things to try, each a command" \
    sh -c "[ \$(grep -c '^  [a-zA-Z][^\$]*: *\\\$ ' '$WORK/banner') = 11 ]"

# line LABEL: the command the banner prints after "LABEL:".
line() { grep -F "  $1:" "$WORK/banner" | sed 's/^[^$]*\$ //'; }
# try LABEL ERE: run LABEL's command as printed; its output matches ERE.
try() {
	cmd=$(line "$1")
	[ -n "$cmd" ] || { echo "no banner line \"$1\""; return 1; }
	echo "\$ $cmd"
	sh -c "$cmd" >"$WORK/try.out" 2>&1 || { cat "$WORK/try.out"; return 1; }
	grep -Eq "$2" "$WORK/try.out" || { cat "$WORK/try.out"; return 1; }
}
T=$D/try
check "banner: mint a one-time challenge" try "mint a one-time challenge" '^[0-9A-F]{32}$'
check "banner: fetch the CA and RA for pki" try "fetch the CA and RA for pki" "RA cert is trusted, .* written to '$T/ra.der'"
check "banner: enroll with SANs (static)" try "enroll with SANs (static)" \
    'DNS:demo.example.com, email:demo@example.com, IP Address:192.0.2.10'
check "banner: its certificate verifies, key and subject" \
    verify_cert "$T/static.pem" "$D/ca/ca.pem" "$T/static.key" CN=demo-static
check "banner: enroll with a one-time one" try "enroll with a one-time one" "^$T/once.pem: OK\$"
check "banner: its certificate verifies, key and subject" \
    verify_cert "$T/once.pem" "$D/ca/ca.pem" "$T/once.key" CN=demo-once
check "banner: renew that certificate" try "renew that certificate" "^$T/renewed.pem: OK\$"
renewed() {
	verify_cert "$T/renewed.pem" "$D/ca/ca.pem" "$T/renewed.key" CN=demo-once &&
	    grep -Eq 'RenewalReq [0-9A-F]+: issued serial .* renewing ' "$LOG"
}
check "banner: the renewal is a RenewalReq with the new key, same subject" renewed

# The approval request waits in the background until the lines below approve it.
held_line() {
	cmd=$(line "ask /scep/approval (it waits)")
	[ -n "$cmd" ] || return 1
	timeout 120 sh -c "$cmd" >"$WORK/held.out" 2>&1 &
	bg_pid=$!
	i=0
	while [ $i -lt 300 ]; do
		"$C" -c "$CONF" pending list 2>/dev/null | grep -q 'CN=demo-held' && return 0
		kill -0 "$bg_pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "CN=demo-held never held"
	cat "$WORK/held.out"
	return 1
}
check "banner: ask /scep/approval (it waits) is held" held_line
check "banner: see what waits for approval" try "see what waits for approval" 'approval .*CN=demo-held'
check "banner: approve the oldest request" try "approve the oldest request" 'approved 1 request'
held_done() {
	wait "$bg_pid" || { cat "$WORK/held.out"; return 1; }
	bg_pid=""
	grep -q 'subject=CN = demo-held' "$WORK/held.out" &&
	    verify_cert "$T/held.pem" "$D/ca/ca.pem" "$T/held.key" CN=demo-held
}
check "banner: the waiting pki gets the approved certificate" held_done
SERIAL=$(openssl x509 -in "$T/static.pem" -noout -serial 2>/dev/null | cut -d= -f2)
check "banner: revoke the static certificate" try "revoke the static certificate" 'revoked'
# The CRL follows a change scepctl made within a second (docs/revocation.md).
check "banner: see it in the CRL" settled try "see it in the CRL" "Serial Number: $SERIAL"
check "banner: ask OCSP about it" try "ask OCSP about it" "^$T/static.pem: revoked"
check "banner: OCSP says good for the renewed certificate" sh -c "
	openssl ocsp -issuer '$D/ca/ca.pem' -CAfile '$D/ca/ca.pem' -cert '$T/renewed.pem' \
	    -url http://127.0.0.1:$PORT/ocsp 2>&1 | grep -q '^$T/renewed.pem: good'"

check "scepd still answers after all of it" alive
check "scepd stops cleanly" stop_scepd $PORT
summary
