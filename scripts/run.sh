#!/bin/sh
# make run: everything a newcomer needs, from a fresh Debian machine to a
# SCEP server on http://127.0.0.1:8080/scep, in the foreground.
#   - installs missing packages, builds
#   - starts a private PostgreSQL under var/pg (Unix socket only)
#   - writes var/scepd.conf once (with a random static challenge)
#   - applies the schema, creates a demo CA and RA once under var/ca
#   - runs scepd; Ctrl-C stops scepd and its PostgreSQL
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

sh scripts/setup.sh
make -s all

mkdir -p var/ca
conninfo=$(sh scripts/pg.sh start var/pg)

if [ ! -f var/scepd.conf ]; then
	challenge=$(openssl rand -hex 16)
	key=$(openssl rand -hex 32)
	umask 077
	cat > var/scepd.conf <<CONF
# Written by make run.  See etc/scepd.conf for every setting.
listen = "127.0.0.1";
port = 8080;
base_path = "/scep";
database = "$conninfo";
ca = {
  cert = "ca/ca.pem";
  key = "ca/ca.key";
  ra_cert = "ca/ra.pem";
  ra_key = "ca/ra.key";
};
challenge = "$challenge";
challenge_key = "$key";
validity_days = 365;
# Revocation works out of the box: every certificate names these.
template = {
  crl_url = "http://127.0.0.1:8080/scep/crl/default.crl";
  ocsp_url = "http://127.0.0.1:8080/ocsp";
};
CONF
	umask 022
fi

build/scepctl -c var/scepd.conf db migrate >/dev/null
if [ ! -f var/ca/ca.pem ]; then
	build/scepctl -c var/scepd.conf ca init \
	    --subject "/O=scepd demo/CN=scepd demo CA" \
	    --ra-subject "/O=scepd demo/CN=scepd demo RA" >/dev/null
fi

challenge=$(sed -n 's/^challenge = "\(.*\)";/\1/p' var/scepd.conf)
fp=$(openssl x509 -in var/ca/ca.pem -noout -fingerprint -sha256 | sed 's/.*=//')
cat <<MSG

  scepd is serving SCEP on  http://127.0.0.1:8080/scep
  static challenge:         $challenge
  CA certificate:           $top/var/ca/ca.pem
  CA SHA-256 fingerprint:   $fp
  configuration:            $top/var/scepd.conf
  issued certificates:      build/scepctl cert list
  CRL:                      http://127.0.0.1:8080/scep/crl/default.crl
  OCSP:                     http://127.0.0.1:8080/ocsp

  Ctrl-C stops scepd and its PostgreSQL.

MSG

build/scepd -d -c var/scepd.conf &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' INT TERM
wait $pid || true
# The first wait returns when a trapped signal arrives; wait for the exit.
wait $pid 2>/dev/null || true
sh scripts/pg.sh stop var/pg
exit 0
