#!/bin/sh
# Install what building, running and testing scepd needs on Debian 12.
# Does nothing when everything is present; uses sudo when not root.
set -eu

# Build: compiler, pkg-config and the libraries' -dev packages (libp11 for
# keys on PKCS#11 tokens, p11-kit's PKCS#11 header for key generation).
# Run: the PostgreSQL server (a private cluster under var/).
# Test: cmocka, the real SCEP clients (micromdm scepclient, certmonger,
# strongSwan pki with the curl fetcher plugin), dbus for certmonger,
# clang for the fuzz targets, python3 for the test webhook validator and the
# fake Intune, jq for the scripts that read JSON answers, SoftHSM2 for the
# token keys of test/integration/pkcs11.sh.
pkgs="build-essential pkg-config libssl-dev libevent-dev libpq-dev
libconfig-dev libjansson-dev libp11-dev libp11-kit-dev postgresql
postgresql-client openssl libcmocka-dev scep certmonger strongswan-pki
libstrongswan-extra-plugins dbus curl clang python3 jq faketime wrk softhsm2"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "setup: installing$missing"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
