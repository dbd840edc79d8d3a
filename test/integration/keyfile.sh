#!/bin/sh
# Encrypted key files (PKCS#8 "ENCRYPTED PRIVATE KEY", pkcs7/key_load.c):
# `scepctl ca init --passphrase-file` writes the CA and RA keys encrypted;
# scepd starts with ca.key_passphrase_file and issues (sceptool, verified);
# the same with ca.key_passphrase_credential from $CREDENTIALS_DIRECTORY
# (systemd's LoadCredential=) and with a key openssl genpkey -aes256
# encrypted.  Refusals by scepd -n, each with its message and exit
# status 1: no passphrase configured, a wrong one, a passphrase file of
# mode 0644, an unreadable one, both settings at once.  The passphrases
# are declared secret: scripts/logcheck.sh finds none in scepd's logs.
. "$(dirname "$0")/../lib.sh"

PORT=19010
DB=it_keyfile
D=$WORK/ca
PASS=keyfile-pass-8d2c41
OTHER=keyfile-other-9e7f
T=$BUILD/sceptool
secret "$PASS" "$OTHER"
started=""
cleanup() {
	for p in $started; do
		stop_scepd "$p"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$D" "$WORK/creds"
printf '%s\n' "$PASS" >"$D/pass"
printf '%s\n' "$OTHER" >"$D/wrong"
printf '%s\n' "$PASS" >"$WORK/creds/scepd-ca"
chmod 600 "$D/pass" "$D/wrong" "$WORK/creds/scepd-ca"

# conf FILE EXTRA: a configuration of the CA and RA in $D.
conf() {
	cat >"$1" <<CONF
listen = "127.0.0.1";
workers = 2;
database = "$(conninfo $DB)";
ca = { cert = "ca.pem"; key = "ca.key"; ra_cert = "ra.pem"; ra_key = "ra.key";
    $2 };
challenge = "interop-secret-1";
validity_days = 30;
CONF
}
conf "$D/scepd.conf" 'key_passphrase_file = "pass";'

init() {
	fresh_db $DB
	"$BUILD/scepctl" -c "$D/scepd.conf" db migrate >/dev/null || return 1
	"$BUILD/scepctl" -c "$D/scepd.conf" ca init --bits 2048 \
	    --subject "/O=scepd test/CN=Keyfile CA" \
	    --ra-subject "/O=scepd test/CN=Keyfile RA" || return 1
	for k in ca ra; do
		head -n 1 "$D/$k.key" | grep -qx -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' ||
		    { echo "$k.key is not encrypted"; return 1; }
		openssl pkey -in "$D/$k.key" -passin "file:$D/pass" -noout || return 1
	done
}
check "scepctl ca init with ca.key_passphrase_file: both keys encrypted (PKCS#8)" init

# enroll CN: sceptool against the running scepd: issued, verified.
enroll() {
	URL=http://127.0.0.1:$PORT/scep
	"$T" getca -u "$URL" -o "$WORK/recipient.pem" >/dev/null || return 1
	openssl genrsa -out "$WORK/$1.key" 2048 2>/dev/null || return 1
	"$T" enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/$1.key" \
	    --subject "/CN=$1" --challenge interop-secret-1 -o "$WORK/$1.pem" ||
	    return 1
	verify_cert "$WORK/$1.pem" "$D/ca.pem" "$WORK/$1.key" "CN=$1"
}

# serve CONF CN: start scepd with CONF, one enrollment, stop it.
serve() {
	started=$PORT
	start_scepd "$1" $PORT || return 1
	enroll "$2" || return 1
	grep -q "issued serial [0-9A-F]* to \"CN=$2\"" "$WORK/scepd-$PORT.log" ||
	    return 1
	stop_scepd $PORT
	started=""
}
check "scepd with the passphrase file: starts, issues" serve "$D/scepd.conf" kf-file

conf "$D/cred.conf" 'key_passphrase_credential = "scepd-ca";'
cred() {
	CREDENTIALS_DIRECTORY=$WORK/creds serve "$D/cred.conf" kf-cred
}
check "scepd with the systemd credential: starts, issues" cred

# A key encrypted by openssl itself, as an operator would bring one.
genpkey() {
	mkdir -p "$WORK/g"
	cp "$D/ca.pem" "$D/ra.pem" "$D/ra.key" "$D/pass" "$WORK/g/"
	openssl pkey -in "$D/ca.key" -passin "file:$D/pass" |
	    openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "file:$D/pass" \
	    -out "$WORK/g/ca.key" || return 1
	chmod 600 "$WORK/g/ca.key"
	conf "$WORK/g/scepd.conf" 'key_passphrase_file = "pass";'
	"$BUILD/scepd" -n -c "$WORK/g/scepd.conf"
}
check "a key of openssl pkcs8 -topk8 -v2 aes-256-cbc: scepd -n accepts it" genpkey

# --- refusals ------------------------------------------------------------------

conf "$D/none.conf" ''
check "scepd -n, encrypted key and no passphrase: refused" fails_with 1 \
    "CA: $D/ca.key is encrypted and no passphrase is configured (ca.key_passphrase_file or ca.key_passphrase_credential)" \
    "$BUILD/scepd" -n -c "$D/none.conf"
conf "$D/wrong.conf" 'key_passphrase_file = "wrong";'
check "scepd -n, wrong passphrase: refused" fails_with 1 \
    "CA: cannot decrypt $D/ca.key: wrong passphrase?" \
    "$BUILD/scepd" -n -c "$D/wrong.conf"
mode() {
	cp "$D/pass" "$D/open"
	chmod 644 "$D/open"
	conf "$D/open.conf" 'key_passphrase_file = "open";'
	fails_with 1 "\"ca.key_passphrase_file\": $D/open has mode 0644: only its owner may read a private key: chmod 600 $D/open" \
	    "$BUILD/scepd" -n -c "$D/open.conf"
}
check "scepd -n, passphrase file of mode 0644: refused" mode
conf "$D/missing.conf" 'key_passphrase_file = "nowhere";'
check "scepd -n, passphrase file missing: refused" fails_with 1 \
    "\"ca.key_passphrase_file\": cannot read $D/nowhere" \
    "$BUILD/scepd" -n -c "$D/missing.conf"
conf "$D/both.conf" 'key_passphrase_file = "pass"; key_passphrase_credential = "scepd-ca";'
check "scepd -n, both a file and a credential: refused" fails_with 1 \
    '"ca.key_passphrase_file" or "ca.key_passphrase_credential": one of them' \
    "$BUILD/scepd" -n -c "$D/both.conf"
nocreds() {
	unset CREDENTIALS_DIRECTORY
	fails_with 1 "passphrase credential scepd-ca: \$CREDENTIALS_DIRECTORY is not set" \
	    "$BUILD/scepd" -n -c "$D/cred.conf"
}
check "scepd -n, a credential outside systemd: refused" nocreds
# Nothing above printed a passphrase.
unprinted() {
	! grep -rlF -e "$PASS" -e "$OTHER" "$WORK"/*.out "$WORK"/scepd-*.log
}
check "no passphrase in scepd's output or logs" unprinted
summary
