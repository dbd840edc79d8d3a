#!/bin/sh
# The demo make run serves: a configuration that shows every feature, and
# the banner that says what to try against it.
#
#   sh scripts/demo.sh conf DIR PORT CONNINFO [BUILD]
#       writes DIR/scepd.conf (unless a current demo configuration is
#       there: its challenge and challenge_key are kept either way),
#       applies the schema and makes the demo CA and RA under DIR/ca.
#   sh scripts/demo.sh banner DIR PORT [BUILD]
#       prints the URL, the static challenge and one line per thing to
#       try, each a command that runs as printed from the current folder.
#
# BUILD is the folder holding scepctl (default: build).  DIR and BUILD
# appear in the printed commands as given, so pass them relative to
# where the commands will be typed (make run: var and build).
set -eu

# Marks a configuration this script wrote; bump it when the demo changes,
# so an older var/scepd.conf is rewritten (keeping its secrets).
MARK="# scepd demo configuration, version 2"

usage() {
	echo "usage: sh scripts/demo.sh conf DIR PORT CONNINFO [BUILD]" >&2
	echo "       sh scripts/demo.sh banner DIR PORT [BUILD]" >&2
	exit 2
}

# setting FILE NAME: the value of a top-level string setting NAME.
setting() {
	sed -n "s/^$2 = \"\(.*\)\";/\1/p" "$1" 2>/dev/null | head -n 1
}

# write_conf DIR PORT CONNINFO: DIR/scepd.conf, readable by its owner only.
write_conf() {
	conf=$1/scepd.conf
	challenge=$(setting "$conf" challenge)
	key=$(setting "$conf" challenge_key)
	[ -n "$challenge" ] || challenge=$(openssl rand -hex 16)
	[ -n "$key" ] || key=$(openssl rand -hex 32)
	url=http://127.0.0.1:$2
	old_umask=$(umask)
	umask 077
	cat >"$conf.tmp" <<CONF
$MARK
#
# A DEMO OF THE WHOLE PRODUCT, for loopback only: written by make run
# (scripts/demo.sh).  It allows any DNS, e-mail and IP subjectAltName,
# renews certificates at any time, takes one-time and static challenges
# and holds requests at /scep/approval for manual approval.  A production server
# starts from etc/scepd.conf, the annotated reference with strict
# defaults (no SANs, no renewal, static challenge only).
listen = "127.0.0.1";
port = $2;
base_path = "/scep";
database = "$3";
ca = {
  cert = "ca/ca.pem";
  key = "ca/ca.key";
  ra_cert = "ca/ra.pem";
  ra_key = "ca/ra.key";
};
challenge = "$challenge";
challenge_key = "$key";
# One-time challenges (scepctl challenge create) first, then the static
# one above: docs/policy.md, "Several challenge modes".
challenge_mode = [ "dynamic", "static" ];
validity_days = 365;
# Renewal at any time (production: the last 20 % of the lifetime).
renewal = { enabled = true; window_percent = 100; };
template = {
  # Any name of these types: a demo, never a production setting.
  san_dns = [ "*" ];
  san_email = [ "*" ];
  san_ip = true;
  # Revocation works out of the box: every certificate names these.
  crl_url = "$url/scep/crl/default.crl";
  ocsp_url = "$url/ocsp";
};
profiles = (
  # $url/scep/approval: PENDING until scepctl pending approve.
  { name = "approval"; approval = "manual"; }
);
CONF
	mv "$conf.tmp" "$conf"
	umask "$old_umask"
}

conf() {
	if [ $# -lt 3 ] || [ $# -gt 4 ]; then usage; fi
	dir=$1
	ctl=${4:-build}/scepctl
	mkdir -p "$dir/ca"
	if ! head -n 1 "$dir/scepd.conf" 2>/dev/null | grep -qxF "$MARK"; then
		write_conf "$dir" "$2" "$3"
	fi
	"$ctl" -c "$dir/scepd.conf" db migrate >/dev/null
	if [ ! -f "$dir/ca/ca.pem" ]; then
		"$ctl" -c "$dir/scepd.conf" ca init \
		    --subject "/O=scepd demo/CN=scepd demo CA" \
		    --ra-subject "/O=scepd demo/CN=scepd demo RA" >/dev/null
	fi
}

banner() {
	if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
	d=$1
	url=http://127.0.0.1:$2
	ctl="${3:-build}/scepctl -c $d/scepd.conf"
	c=$d/scepd.conf
	t=$d/try
	challenge=$(setting "$c" challenge)
	fp=$(openssl x509 -in "$d/ca/ca.pem" -noout -fingerprint -sha256 |
	    sed 's/.*=//')
	# pki --scep needs the CA and RA certificates (the second line).
	enc="--cacert-enc $t/ra.der --cacert-sig $t/ra.der --cacert $t/ca.der"
	key="pki --gen --type rsa --size 2048 --outform pem"
	sans="--san demo.example.com --san demo@example.com --san 192.0.2.10"
	cat <<MSG

  scepd is serving SCEP on  $url/scep
  static challenge:         $challenge
  CA certificate:           $d/ca/ca.pem
  CA SHA-256 fingerprint:   $fp
  configuration:            $c (a demo: see its first lines)
  issued certificates:      $ctl cert list
  CRL:                      $url/scep/crl/default.crl
  OCSP:                     $url/ocsp

  Try, in order, in another terminal in $(pwd) (pki is strongSwan's):
  mint a one-time challenge:      \$ $ctl challenge create --device demo-1
  fetch the CA and RA for pki:    \$ mkdir -p $t && pki --scepca --url $url/scep --caout $t/ca.der --raout $t/ra.der --force
  enroll with SANs (static):      \$ $key >$t/static.key && pki --scep --url $url/scep --in $t/static.key --dn "CN=demo-static" $sans --password $challenge $enc --outform pem >$t/static.pem && openssl x509 -in $t/static.pem -noout -subject -ext subjectAltName
  enroll with a one-time one:     \$ $key >$t/once.key && pki --scep --url $url/scep --in $t/once.key --dn "CN=demo-once" $sans --password "\$($ctl challenge create --device demo-once)" $enc --outform pem >$t/once.pem && openssl verify -CAfile $d/ca/ca.pem $t/once.pem
  renew that certificate:         \$ $key >$t/renewed.key && pki --scep --url $url/scep --in $t/renewed.key --dn "CN=demo-once" $sans --cert $t/once.pem --key $t/once.key $enc --outform pem >$t/renewed.pem && openssl verify -CAfile $d/ca/ca.pem $t/renewed.pem
  ask /scep/approval (it waits):  \$ $key >$t/held.key && pki --scep --url $url/scep/approval --in $t/held.key --dn "CN=demo-held" --password $challenge $enc --interval 2 --maxpolltime 600 --outform pem >$t/held.pem && openssl x509 -in $t/held.pem -noout -subject
  see what waits for approval:    \$ $ctl pending list
  approve the oldest request:     \$ $ctl pending approve "\$($ctl pending list | awk 'NR == 2 { print \$1 }')"
  revoke the static certificate:  \$ $ctl cert revoke "\$(openssl x509 -in $t/static.pem -noout -serial | cut -d= -f2)" --reason keyCompromise
  see it in the CRL:              \$ curl -fsS $url/scep/crl/default.crl | openssl crl -inform DER -noout -text | grep -A1 'Serial Number'
  ask OCSP about it:              \$ openssl ocsp -issuer $d/ca/ca.pem -CAfile $d/ca/ca.pem -cert $t/static.pem -url $url/ocsp

  Ctrl-C stops scepd and its PostgreSQL.

MSG
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
conf)	conf "$@" ;;
banner)	banner "$@" ;;
*)	usage ;;
esac
