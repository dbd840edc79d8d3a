#!/bin/sh
# Taking NDES's place: the default profile served at its own "path",
# /certsrv/mscep/mscep.dll (and .../pkiclient.exe, which Windows
# appends), next to /certsrv/mscep_admin/ for one-time passwords.
# GetCACaps there, sceptool and certmonger enroll there, and
# `scepd -n` refuses a path that is malformed or taken, naming the key.
#
# Needs: certmonger + getcert, dbus-run-session, iconv, curl.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
C=$BUILD/scepctl
PORT=18811
DB=it_ndes
D=$WORK/ndes
CONF=$D/scepd.conf
BASE=http://127.0.0.1:$PORT
NDES=$BASE/certsrv/mscep/mscep.dll
LOG=$WORK/scepd-$PORT.log
SECRET=interop-secret-1
trap 'cm_stop; stop_scepd $PORT' EXIT

setup_ca "$D" $DB ra "challenge_key = \"$(openssl rand -hex 32)\";
challenge_mode = [ \"dynamic\", \"static\" ];
path = \"/certsrv/mscep/mscep.dll\";
profiles = ( { name = \"other\"; path = \"/other/scep\"; } );" ||
    { echo "cannot set up the CA"; exit 1; }
start_scepd "$CONF" $PORT || exit 1

$T getca -u "$NDES" -o "$WORK/getca.pem" >/dev/null
openssl x509 -in "$WORK/getca.pem" -out "$WORK/recipient.pem"	# the RA

certs() { sql $DB "SELECT count(*) FROM scepd.certificates $1"; }
# status ARGS...: the HTTP status of a curl request, body in $WORK/body.
status() { curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@"; }

caps_at() {
	[ "$(status "$1?operation=GetCACaps")" = 200 ] || return 1
	cp "$WORK/body" "$WORK/caps.here"
	curl -fsS -o "$WORK/caps.base" "$BASE/scep?operation=GetCACaps" || return 1
	cat "$WORK/caps.here"
	grep -qx 'POSTPKIOperation' "$WORK/caps.here" &&
	    cmp "$WORK/caps.here" "$WORK/caps.base"
}
check "GetCACaps at /certsrv/mscep/mscep.dll: the default profile's" \
    caps_at "$NDES"
check "GetCACaps at /certsrv/mscep/mscep.dll/pkiclient.exe" \
    caps_at "$NDES/pkiclient.exe"
check "/certsrv/mscep/mscep.dll/x and /certsrv/mscep are not SCEP: 404" sh -c "
	[ \$(curl -s -o /dev/null -w '%{http_code}' '$NDES/x?operation=GetCACaps') = 404 ] &&
	[ \$(curl -s -o /dev/null -w '%{http_code}' '$BASE/certsrv/mscep?operation=GetCACaps') = 404 ]"

# enroll CN URL CHALLENGE: sceptool, verified, one row, logged.
enroll() {
	$T enroll -u "$2" --ca "$WORK/recipient.pem" -k "$WORK/$1.key" \
	    --subject "/CN=$1" --challenge "$3" -o "$WORK/$1.pem" || return 1
	verify_cert "$WORK/$1.pem" "$D/ca.pem" "$WORK/$1.key" "CN=$1" || return 1
	[ "$(certs "WHERE subject = 'CN=$1'")" = 1 ]
}
check "sceptool enrolls at /certsrv/mscep/mscep.dll" \
    enroll nd-1 "$NDES" $SECRET
check "sceptool enrolls at /certsrv/mscep/mscep.dll/pkiclient.exe" \
    enroll nd-2 "$NDES/pkiclient.exe" $SECRET
check "a second profile at its own path /other/scep enrolls, recorded as other" sh -c "
	$T getca -u '$BASE/other/scep' -o '$WORK/other.pem' >/dev/null &&
	$T enroll -u '$BASE/other/scep' --ca '$WORK/recipient.pem' -k '$WORK/o.key' \
	    --subject /CN=nd-other --challenge $SECRET -o '$WORK/o.pem' &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT profile FROM scepd.certificates
	    WHERE subject = 'CN=nd-other'\") = other ]"

# mscep_admin next to it: the password on the NDES page enrolls once.
TOK=$($C -c "$CONF" token create ndes-admin 2>/dev/null)
secret "$TOK"
mscep_password() {
	s=$(status -u "ndes-admin:$TOK" "$BASE/certsrv/mscep_admin/")
	[ "$s" = 200 ] || { echo "HTTP $s"; return 1; }
	PW=$(iconv -f UTF-16 -t UTF-8 "$WORK/body" |
	    sed -n 's/.*challenge password is: <B> \([A-Z0-9]\{16,32\}\) <\/B>.*/\1/p')
	[ -n "$PW" ] || { echo "no password in the page"; return 1; }
	secret "$PW"
	enroll nd-otp "$NDES/pkiclient.exe" "$PW" || return 1
	rc=0
	$T enroll -u "$NDES" --ca "$WORK/recipient.pem" -k "$WORK/nd-otp2.key" \
	    --subject /CN=nd-otp2 --challenge "$PW" -o "$WORK/nd-otp2.pem" || rc=$?
	[ $rc = 2 ] || { echo "second use: exit $rc, want 2"; return 1; }
	[ "$(certs "WHERE subject = 'CN=nd-otp2'")" = 0 ]
}
check "/certsrv/mscep_admin/ still serves a password, good once at mscep.dll" \
    mscep_password

# --- certmonger through the NDES URL -------------------------------------

cm_setup "$WORK/cm"
cm_enroll() {
	cm_start || return 1
	cm_add_ca ndes "$NDES/pkiclient.exe" || return 1
	timeout 60 getcert request -s -c ndes -I nd-cm -k "$CM/nd-cm.key" \
	    -f "$CM/nd-cm.pem" -L "$SECRET" -N "CN=nd-cm" -w
	st=$(cm_status nd-cm)
	[ "$st" = MONITORING ] || { echo "status \"$st\""; timeout 20 getcert list -s -i nd-cm; return 1; }
	verify_cert "$CM/nd-cm.pem" "$D/ca.pem" "$CM/nd-cm.key" "CN=nd-cm" || return 1
	[ "$(certs "WHERE subject = 'CN=nd-cm'")" = 1 ] || return 1
	# certmonger's transactionID is decimal.
	grep -Eq "PKCSReq [0-9]{30,}: issued serial [0-9A-F]+ to \"CN=nd-cm\"" "$LOG"
}
check "certmonger enrolls through /certsrv/mscep/mscep.dll/pkiclient.exe" cm_enroll
cm_stop

check "scepd is alive" curl -fsS -o /dev/null "$NDES?operation=GetCACaps"
check "scepd stops cleanly" stop_scepd $PORT

# --- scepd -n refuses what would not route -------------------------------

# refused NAME TEXT EXTRA: scepd -n on the working file plus EXTRA exits
# 1 and says TEXT.
refused() {
	sed '/^path = /d; /^profiles = /d' "$CONF" >"$D/bad.conf"
	printf '%s\n' "$2" >>"$D/bad.conf"
	fails_with 1 "$1" "$BUILD/scepd" -n -c "$D/bad.conf"
}
check "scepd -n: a path without a leading / is refused, naming \"path\"" \
    refused '"path" "certsrv/mscep/mscep.dll" must start with /' \
    'path = "certsrv/mscep/mscep.dll";'
check "scepd -n: a path holding ? is refused" \
    refused '"path" "/certsrv/mscep/mscep.dll?x" must start with /' \
    'path = "/certsrv/mscep/mscep.dll?x";'
check "scepd -n: a path colliding with <base_path>/<name> is refused" \
    refused '(profile b): "path" "/scep/a" is taken by a profile'"'"'s <base_path>/<name> route' \
    'profiles = ( { name = "a"; }, { name = "b"; path = "/scep/a"; } );'
check "scepd -n: two profiles at one path are refused" \
    refused '(profile b): "path" "/certsrv/mscep/mscep.dll" is taken by another profile'"'"'s "path"' \
    'path = "/certsrv/mscep/mscep.dll"; profiles = ( { name = "b"; path = "/certsrv/mscep/mscep.dll"; } );'
check "scepd -n: a path on mscep_admin is refused" \
    refused '"path" "/certsrv/mscep_admin" is taken by mscep_admin' \
    'path = "/certsrv/mscep_admin";'
check "scepd -n accepts the working file" "$BUILD/scepd" -n -c "$CONF"

# A key file its group may read is refused, naming it, its mode and the
# fix; at 0600 (as scepctl ca init writes it) it is accepted again.
key_mode() {
	chmod 640 "$D/$1" || return 1
	rc=0
	fails_with 1 "\"ca.$2\": $D/$1 has mode 0640: only its owner may read a private key: chmod 600 $D/$1" \
	    "$BUILD/scepd" -n -c "$CONF" || rc=1
	chmod 600 "$D/$1" || return 1
	[ $rc = 0 ] && "$BUILD/scepd" -n -c "$CONF"
}
check "scepd -n: a CA key of mode 0640 is refused with the chmod to run; 0600 accepted" \
    key_mode ca.key key
check "scepd -n: an RA key of mode 0640 is refused likewise" key_mode ra.key ra_key
summary
