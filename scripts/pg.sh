#!/bin/sh
# A private PostgreSQL on a Unix socket only, for `make run` and the tests.
#
#   pg.sh start DIR    initdb DIR/data once, start it, create database scepd;
#                      prints the libpq conninfo on stdout
#   pg.sh stop DIR     fast shutdown
#   pg.sh crash DIR    immediate shutdown, as if the server had died: no
#                      checkpoint, the next start recovers from the WAL
#   pg.sh conninfo DIR print the conninfo
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# "postgres" user (created by the postgresql package) or to "scepd".
set -eu

cmd=${1:?usage: pg.sh start|stop|crash|conninfo DIR}
dir=${2:?usage: pg.sh start|stop|crash|conninfo DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: no PostgreSQL server installed" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$owner" -- "$@"
	else
		"$@"
	fi
}

owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
	if id postgres >/dev/null 2>&1; then owner=postgres
	else
		id scepd >/dev/null 2>&1 || useradd --system --no-create-home scepd
		owner=scepd
	fi
fi

# The cluster owner must reach DIR through its parents; a checkout under
# a private home (mode 0700) is not reachable, so the cluster then lives
# in a /tmp folder named after DIR (the same one every time).
if [ "$(id -u)" = 0 ] && ! runuser -u "$owner" -- test -x "$dir"; then
	dir=/tmp/scepd-pg-$(printf '%s' "$dir" | md5sum | cut -c1-12)
	mkdir -p "$dir"
	chmod 0755 "$dir"
fi

conninfo="host=$dir/sock dbname=scepd user=$owner"

case "$cmd" in
start)
	mkdir -p "$dir/sock"
	[ "$(id -u)" = 0 ] && chown "$owner" "$dir" "$dir/sock"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$dir/data" -U "$owner" -A trust \
		    -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
		    { cat "$dir/initdb.log" >&2; exit 1; }
	fi
	if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
		    -w -t 60 -o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -c fsync=on -c max_connections=500" \
		    start >/dev/null ||
		    { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
	fi
	as_owner "$bindir/psql" -qAt -h "$dir/sock" -d postgres -c \
	    "SELECT 1 FROM pg_database WHERE datname='scepd'" | grep -q 1 ||
	    as_owner "$bindir/createdb" -h "$dir/sock" scepd
	echo "$conninfo"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	;;
crash)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
		    >/dev/null
	fi
	;;
conninfo)
	echo "$conninfo"
	;;
*)
	echo "pg.sh: unknown command $cmd" >&2; exit 1
	;;
esac
