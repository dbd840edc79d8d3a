#!/bin/sh
# make run: everything a newcomer needs, from a fresh Debian machine to a
# SCEP server on http://127.0.0.1:8080/scep, in the foreground.
#   - installs missing packages, builds
#   - starts a private PostgreSQL under var/pg (Unix socket only)
#   - writes var/scepd.conf, a demo of every feature (scripts/demo.sh
#     conf: random static challenge, one-time challenges, any SAN,
#     renewal, /scep/approval), applies the schema, creates a demo CA
#     and RA once under var/ca
#   - prints the URL, the challenge and what to try (scripts/demo.sh
#     banner), then runs scepd; Ctrl-C stops scepd and its PostgreSQL
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh
make -s all

mkdir -p var/ca
conninfo=$(sh scripts/pg.sh start var/pg)

# The demo configuration, schema, CA and RA, and what to try: scripts/demo.sh.
sh scripts/demo.sh conf var 8080 "$conninfo" build
sh scripts/demo.sh banner var 8080 build

build/scepd -d -c var/scepd.conf &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' INT TERM
wait $pid || true
# The first wait returns when a trapped signal arrives; wait for the exit.
wait $pid 2>/dev/null || true
sh scripts/pg.sh stop var/pg
exit 0
