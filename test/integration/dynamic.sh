#!/bin/sh
# One-time challenges: API tokens (scepctl token), minting through the
# admin API (curl) and scepctl, enrollment with sceptool and strongSwan,
# replay, expiry, binding, the API's refusals, the NDES-style mscep_admin
# page, and the race: two scepd processes on one database, 32 concurrent
# enrollments presenting one challenge -> exactly one certificate.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
C=$BUILD/scepctl
PORT=18301
PORT2=18302
DB=it_dyn
D=$WORK/dyn
CONF=$D/scepd.conf
BASE=http://127.0.0.1:$PORT
URL=$BASE/scep/dyn
URL2=http://127.0.0.1:$PORT2/scep/dyn
API=$BASE/api/v1/profiles
LOG=$WORK/scepd-$PORT.log
trap 'stop_scepd $PORT; stop_scepd $PORT2' EXIT

setup_ca "$D" $DB ra "challenge_key = \"$(openssl rand -hex 32)\";
profiles = (
	{ name = \"dyn\"; challenge_mode = \"dynamic\"; challenge_ttl = 30;
	  template = { san_dns = [ \"*.example\" ]; }; },
	{ name = \"dyn2\"; challenge_mode = \"dynamic\"; }
);" || { echo "cannot set up the CA"; exit 1; }
start_scepd "$CONF" $PORT || exit 1

$T getca -u "$URL" -o "$WORK/getca.pem" >/dev/null
openssl x509 -in "$WORK/getca.pem" -out "$WORK/recipient.pem"	# the RA

# status ARGS...: the HTTP status of a curl request, body in $WORK/body.
status() { curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@"; }
# json_field NAME: a string field of $WORK/body.
json_field() { jq -r ".$1 // empty" "$WORK/body"; }

# --- Tokens -------------------------------------------------------------

TOK=$($C -c "$CONF" token create mdm-1 2>/dev/null)
secret "$TOK"
check "token create prints a scepd_ token of 256 bits" \
    sh -c "echo '$TOK' | grep -Eqx 'scepd_[A-Za-z0-9_-]{43}'"
check "only the token's SHA-256 is stored" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.api_tokens
	    WHERE name = 'mdm-1' AND token_sha256 = sha256('$TOK'::bytea)\") = 1 ] &&
	rows=\$(psql -X -qAt '$(conninfo $DB)' -c 'SELECT * FROM scepd.api_tokens') &&
	[ -n \"\$rows\" ] && ! printf '%s\\n' \"\$rows\" | grep -q '$TOK'"
check "token create refuses a name in use" \
    fails_with 1 "a token called mdm-1 exists" $C -c "$CONF" token create mdm-1
check "token list shows it" sh -c "$C -c '$CONF' token list | grep -q '^mdm-1 '"
check "scepctl profile list shows the dynamic profiles" \
    sh -c "$C -c '$CONF' profile list | grep -Eq '^dyn +/scep/dyn +dynamic'"

# --- Minting through the API and enrolling --------------------------------

# mint [JSON]: POST to profile dyn with the token; sets CHAL.
mint() {
	CHAL=
	s=$(status -X POST -H "Authorization: Bearer $TOK" \
	    -H 'Content-Type: application/json' --data-binary "${1:-}" \
	    "$API/${2:-dyn}/challenges")
	[ "$s" = 201 ] || { echo "HTTP $s: $(cat "$WORK/body")"; return 1; }
	CHAL=$(json_field challenge)
	secret "$CHAL"
	[ -n "$CHAL" ]
}

# enroll CN CHALLENGE [options]: sceptool enroll at $URL with a new key
# ($e_key), output in $WORK/CN.out, exit status in $RC.
enroll() {
	e_cn=$1
	e_chal=$2
	shift 2
	e_key=$(key)
	RC=0
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$e_key" \
	    --subject "/O=scepd test/CN=$e_cn" --challenge "$e_chal" \
	    -o "$WORK/$e_cn.pem" "$@" >"$WORK/$e_cn.out" 2>&1 || RC=$?
	cat "$WORK/$e_cn.out"
}

# fails CN FAILINFO: the last enroll got FAILURE FAILINFO and left no row.
fails() {
	[ $RC = 2 ] || { echo "exit $RC, want 2 (FAILURE)"; return 1; }
	grep -q "failInfo=$2" "$WORK/$1.out" || return 1
	[ "$(certs "WHERE subject = 'CN=$1,O=scepd test'")" = 0 ]
}

api_mint_shape() {
	mint '{"device_id": "dev-42", "ttl_minutes": 10}' || return 1
	cat "$WORK/body"
	echo "$CHAL" | grep -Eqx '[0-9A-F]{32}' || return 1
	[ "$(json_field profile)" = dyn ] || return 1
	[ "$(json_field device_id)" = dev-42 ] || return 1
	json_field expires_at | grep -Eqx '20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z' || return 1
	grep -qi '^Content-Type: application/json' "$WORK/headers" || return 1
	grep -qi '^Cache-Control: no-store' "$WORK/headers" || return 1
	# Ten minutes by the database clock, and only a MAC stored.
	[ "$(sql $DB "SELECT count(*) FROM scepd.challenges WHERE device_id = 'dev-42'
	    AND expires_at - created_at = interval '10 minutes'
	    AND created_by = 'api:mdm-1' AND length(mac) = 32")" = 1 ]
}
check "POST .../challenges -> 201 JSON, 32 hex digits, bound to a device" api_mint_shape
API_CHAL=$CHAL

enroll_bound() {
	enroll dyn-1 "$API_CHAL" || true
	[ $RC = 0 ] || { echo "exit $RC"; return 1; }
	verify_cert "$WORK/dyn-1.pem" "$D/ca.pem" "$e_key" "CN=dyn-1,O=scepd test" || return 1
	[ "$(sql $DB "SELECT device_id FROM scepd.certificates
	    WHERE subject = 'CN=dyn-1,O=scepd test'")" = dev-42 ]
}
check "enrollment with the minted challenge: SUCCESS, certificate of device dev-42" \
    enroll_bound

replay() {
	enroll dyn-1-again "$API_CHAL" || true
	fails dyn-1-again badRequest || return 1
	grep -q "possible replay" "$LOG" || { echo "no replay warning in the log"; return 1; }
	grep "possible replay" "$LOG" | tail -n 1 | grep -q "first used at"
}
check "the same challenge again: FAILURE badRequest, log flags a possible replay" replay

check "the audit trail records the mint by the token" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit
	    WHERE action = 'challenge-create' AND actor = 'api:mdm-1'\") -ge 1 ]"

ctl_mint() {
	chal=$($C -c "$CONF" challenge create --profile dyn --device dev-43 \
	    --ttl 5 2>"$WORK/ctl.err") || { cat "$WORK/ctl.err"; return 1; }
	secret "$chal"
	cat "$WORK/ctl.err"
	grep -q 'device dev-43' "$WORK/ctl.err" || return 1
	enroll dyn-ctl "$chal" || true
	[ $RC = 0 ] || return 1
	[ "$(sql $DB "SELECT device_id FROM scepd.certificates
	    WHERE subject = 'CN=dyn-ctl,O=scepd test'")" = dev-43 ] || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.audit WHERE action = 'challenge-create'
	    AND actor LIKE 'scepctl:%'")" -ge 1 ]
}
check "scepctl challenge create: enrolls, bound to its device" ctl_mint

check "scepctl challenge create refuses a static profile" \
    sh -c "! $C -c '$CONF' challenge create --profile default"
check "scepctl challenge create refuses a bad SAN" \
    sh -c "! $C -c '$CONF' challenge create --profile dyn --san FOO:bar"

expired() {
	mint || return 1
	sql $DB "UPDATE scepd.challenges SET created_at = now() - interval '2 hours',
	    expires_at = now() - interval '1 minute'
	    WHERE id = (SELECT max(id) FROM scepd.challenges)" || return 1
	enroll dyn-expired "$CHAL" || true
	fails dyn-expired badRequest || return 1
	grep -q "challenge expired" "$LOG"
}
check "expired challenge: FAILURE badRequest" expired

# What a requester presents is a secret too, even when it is wrong.
secret 0123456789ABCDEF0123456789ABCDEF \
    scepd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
unknown() {
	enroll dyn-unknown 0123456789ABCDEF0123456789ABCDEF || true
	fails dyn-unknown badRequest
}
check "unknown challenge: FAILURE badRequest" unknown

other_profile() {
	mint '' dyn2 || return 1
	enroll dyn-other "$CHAL" || true
	fails dyn-other badRequest || return 1
	# Still unused: it was never valid at /scep/dyn.
	[ "$(sql $DB "SELECT used_at IS NULL FROM scepd.challenges
	    WHERE id = (SELECT max(id) FROM scepd.challenges)")" = t ]
}
check "a challenge of profile dyn2 is unknown at dyn" other_profile

subject_mismatch() {
	mint '{"subject": "/O=scepd test/CN=bound-ok"}' || return 1
	id=$(sql $DB "SELECT max(id) FROM scepd.challenges")
	enroll bound-other "$CHAL" || true
	fails bound-other badRequest || return 1
	# It was shown to the wrong requester: consumed.
	[ "$(sql $DB "SELECT used_at IS NOT NULL FROM scepd.challenges WHERE id = $id")" = t ] ||
	    { echo "challenge not consumed"; return 1; }
	enroll bound-ok "$CHAL" || true
	fails bound-ok badRequest
}
check "bound subject mismatch: FAILURE badRequest, challenge consumed" subject_mismatch

subject_match() {
	mint '{"subject": "/O=scepd test/CN=bound-ok2", "sans": ["dns:bound-ok2.example"]}' ||
	    return 1
	[ "$(sql $DB "SELECT sans[1] FROM scepd.challenges
	    WHERE id = (SELECT max(id) FROM scepd.challenges)")" = DNS:bound-ok2.example ] ||
	    return 1
	enroll bound-ok2 "$CHAL" --san DNS:bound-ok2.example || true
	[ $RC = 0 ]
}
check "bound subject and SAN match: SUCCESS" subject_match

# --- The API's refusals ---------------------------------------------------

api_status() {
	want=$1
	shift
	s=$(status "$@")
	[ "$s" = "$want" ] || { echo "HTTP $s, want $want: $(cat "$WORK/body")"; return 1; }
}
auth="Authorization: Bearer $TOK"
check "no token -> 401 with WWW-Authenticate: Bearer" sh -c "
	[ \$(curl -s -o /dev/null -D '$WORK/h401' -w '%{http_code}' -X POST '$API/dyn/challenges') = 401 ] &&
	grep -qi '^WWW-Authenticate: Bearer' '$WORK/h401'"
check "wrong token -> 401" api_status 401 -X POST \
    -H "Authorization: Bearer scepd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$API/dyn/challenges"
check "not a token -> 401" api_status 401 -X POST -H "Authorization: Bearer x" "$API/dyn/challenges"
check "Basic instead of Bearer -> 401" api_status 401 -X POST -u "mdm-1:$TOK" "$API/dyn/challenges"

revoked() {
	tok2=$($C -c "$CONF" token create mdm-2 2>/dev/null) || return 1
	secret "$tok2"
	api_status 201 -X POST -H "Authorization: Bearer $tok2" "$API/dyn/challenges" || return 1
	$C -c "$CONF" token revoke mdm-2 || return 1
	api_status 401 -X POST -H "Authorization: Bearer $tok2" "$API/dyn/challenges" || return 1
	$C -c "$CONF" token list | grep '^mdm-2 ' | grep -Eq '20[0-9-]{8}T[0-9:]{8}Z +scepctl:'
}
check "revoked token -> 401" revoked

check "bad JSON -> 400" api_status 400 -X POST -H "$auth" --data-binary '{"device_id": ' \
    "$API/dyn/challenges"
check "JSON array body -> 400" api_status 400 -X POST -H "$auth" --data-binary '[1]' \
    "$API/dyn/challenges"
check "ttl_minutes as a string -> 400" api_status 400 -X POST -H "$auth" \
    --data-binary '{"ttl_minutes": "10"}' "$API/dyn/challenges"
check "ttl_minutes as a fraction -> 400" api_status 400 -X POST -H "$auth" \
    --data-binary '{"ttl_minutes": 1.5}' "$API/dyn/challenges"
check "ttl_minutes over the profile's challenge_ttl -> 400" api_status 400 -X POST \
    -H "$auth" --data-binary '{"ttl_minutes": 31}' "$API/dyn/challenges"
check "unknown key -> 400" api_status 400 -X POST -H "$auth" \
    --data-binary '{"device": "x"}' "$API/dyn/challenges"
check "duplicate key -> 400" api_status 400 -X POST -H "$auth" \
    --data-binary '{"device_id": "a", "device_id": "b"}' "$API/dyn/challenges"
check "SAN of an unknown type -> 400" api_status 400 -X POST -H "$auth" \
    --data-binary '{"sans": ["X400:a"]}' "$API/dyn/challenges"
check "control character in device_id -> 400" api_status 400 -X POST -H "$auth" \
    --data-binary '{"device_id": "a\u0007b"}' "$API/dyn/challenges"
head -c 9000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
check "body over 8 KiB -> 413" api_status 413 -X POST -H "$auth" \
    --data-binary @"$WORK/big.json" "$API/dyn/challenges"
check "unknown profile -> 404" api_status 404 -X POST -H "$auth" "$API/nope/challenges"
check "static profile -> 409" api_status 409 -X POST -H "$auth" "$API/default/challenges"
check "GET -> 405" api_status 405 -H "$auth" "$API/dyn/challenges"
check "unknown API path -> 404" api_status 404 -H "$auth" "$BASE/api/v1/other"
check "the SCEP paths still work next to the API" \
    sh -c "curl -fsS '$URL?operation=GetCACaps' | grep -qx AES"

# --- mscep_admin ------------------------------------------------------------

# page URL [curl options]: GET it with the token as Basic credentials,
# the challenge of the (UTF-16) page in CHAL.
page() {
	p_url=$1
	shift
	CHAL=
	s=$(status -u "mdm-1:$TOK" "$@" "$p_url")
	[ "$s" = 200 ] || { echo "HTTP $s"; return 1; }
	# What zentral's microsoft_ca.py does: decode UTF-16, match.
	CHAL=$(iconv -f UTF-16 -t UTF-8 "$WORK/body" |
	    sed -n 's/.*challenge password is: <B> \([A-Z0-9]\{16,32\}\) <\/B>.*/\1/p')
	[ -n "$CHAL" ] || { echo "no challenge in the page"; od -c "$WORK/body" | head; return 1; }
	secret "$CHAL"
}

mscep_ndes_path() {
	page "$BASE/certsrv/mscep_admin/?profile=dyn" || return 1
	# UTF-16LE with a byte order mark, as NDES sends it.
	[ "$(head -c 2 "$WORK/body" | od -An -tx1 | tr -d ' ')" = fffe ] || return 1
	grep -qi '^Content-Type: text/html; charset=utf-16' "$WORK/headers" || return 1
	enroll mscep-1 "$CHAL" || true
	[ $RC = 0 ] || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.audit WHERE action = 'challenge-create'
	    AND actor = 'mscep_admin:mdm-1'")" -ge 1 ]
}
check "mscep_admin at /certsrv/mscep_admin/: NDES page, the challenge enrolls" mscep_ndes_path

mscep_profile_path() {
	page "$URL/mscep_admin/" || return 1
	enroll mscep-2 "$CHAL" || true
	[ $RC = 0 ] || return 1
	enroll mscep-2b "$CHAL" || true
	fails mscep-2b badRequest
}
check "mscep_admin at /scep/dyn/mscep_admin/: one-time challenge" mscep_profile_path

mscep_utf8() {
	s=$(status -u "mdm-1:$TOK" "$URL/mscep_admin/?charset=utf-8")
	[ "$s" = 200 ] || return 1
	# Okta's scrapers read an 8-bit page: [A-Za-z0-9_-]+.
	grep -Eq 'challenge password is: <B> [A-Za-z0-9_-]+ </B>' "$WORK/body"
}
check "mscep_admin ?charset=utf-8: an 8-bit page" mscep_utf8

check "mscep_admin with a wrong password -> 401 Basic" sh -c "
	[ \$(curl -s -o /dev/null -D '$WORK/hb' -w '%{http_code}' -u 'mdm-1:scepd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
	    '$BASE/certsrv/mscep_admin/?profile=dyn') = 401 ] &&
	grep -qi '^WWW-Authenticate: Basic realm=\"scepd\"' '$WORK/hb'"
check "mscep_admin with another user name -> 401" api_status 401 -u "mdm-9:$TOK" \
    "$BASE/certsrv/mscep_admin/?profile=dyn"
check "mscep_admin without credentials -> 401" api_status 401 "$URL/mscep_admin/"
check "mscep_admin for a static profile -> 409" api_status 409 -u "mdm-1:$TOK" \
    "$BASE/certsrv/mscep_admin/"

check "neither token nor challenges ever reach the log" sh -c "
	! grep -q '$TOK' '$LOG' && ! grep -q '$API_CHAL' '$LOG' && ! grep -q '$CHAL' '$LOG'"

# --- strongSwan with a one-time challenge ------------------------------------

strongswan() {
	command -v pki >/dev/null || { echo "pki not installed"; return 1; }
	sw=$WORK/sw
	mkdir -p "$sw"
	timeout 30 pki --scepca --url "$URL" --caout "$sw/ca.der" --raout "$sw/ra.der" \
	    --force >/dev/null || return 1
	pki --gen --type rsa --size 2048 --outform pem >"$sw/key.pem" || return 1
	mint '{"device_id": "sw-1"}' || return 1
	timeout 60 pki --scep --url "$URL" --in "$sw/key.pem" --dn "CN=sw-dyn" \
	    --password "$CHAL" --cacert-enc "$sw/ra.der" --cacert-sig "$sw/ra.der" \
	    --cacert "$sw/ca.der" --outform pem >"$sw/cert.pem" || return 1
	openssl verify -CAfile "$D/ca.pem" "$sw/cert.pem" || return 1
	[ "$(sql $DB "SELECT device_id FROM scepd.certificates WHERE subject = 'CN=sw-dyn'")" = sw-1 ] ||
	    return 1
	# The same challenge again, with a new key: refused as a replay.
	pki --gen --type rsa --size 2048 --outform pem >"$sw/key2.pem" || return 1
	before=$(grep -c 'possible replay.*-> FAILURE badRequest' "$LOG")
	! timeout 60 pki --scep --url "$URL" --in "$sw/key2.pem" --dn "CN=sw-dyn2" \
	    --password "$CHAL" --cacert-enc "$sw/ra.der" --cacert-sig "$sw/ra.der" \
	    --cacert "$sw/ca.der" --outform pem >"$sw/cert2.pem" || return 1
	[ "$(grep -c 'possible replay.*-> FAILURE badRequest' "$LOG")" = $((before + 1)) ] ||
	    { echo "scepd logged no replay refusal"; tail -n 3 "$LOG"; return 1; }
	[ "$(certs "WHERE subject = 'CN=sw-dyn2'")" = 0 ]
}
check "strongSwan pki --scep with a minted challenge, once only" strongswan

# --- The race: two scepd, one database, one challenge, 32 requests -----------

race() {
	start_scepd "$CONF" $PORT2 || return 1
	mint || return 1
	r=$WORK/race
	mkdir -p "$r"
	# Build the 32 requests first, each with its own key, so they go out
	# together.
	i=1
	while [ $i -le 32 ]; do
		$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$r/k$i.pem" \
		    --subject "/O=scepd test/CN=race-$i" --challenge "$CHAL" \
		    --save-request "$r/m$i.der" --no-send >/dev/null 2>&1 ||
		    { echo "cannot build request $i"; return 1; }
		i=$((i + 1))
	done
	pids=""
	i=1
	while [ $i -le 32 ]; do
		u=$URL
		[ $((i % 2)) = 0 ] && u=$URL2
		( rc=0
		  $T post -u "$u" --file "$r/m$i.der" --ca "$WORK/recipient.pem" -k "$r/k$i.pem" \
		      -o "$r/c$i.pem" >"$r/o$i" 2>&1 || rc=$?
		  echo $rc >"$r/rc$i" ) &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do wait "$p"; done
	ok=0
	bad=0
	i=1
	while [ $i -le 32 ]; do
		case $(cat "$r/rc$i") in
		0) ok=$((ok + 1)) ;;
		2) grep -q failInfo=badRequest "$r/o$i" && bad=$((bad + 1)) ;;
		*) echo "request $i: exit $(cat "$r/rc$i")"; cat "$r/o$i" ;;
		esac
		i=$((i + 1))
	done
	echo "$ok SUCCESS, $bad FAILURE badRequest"
	[ $ok = 1 ] && [ $bad = 31 ] || return 1
	[ "$(certs "WHERE subject LIKE 'CN=race-%'")" = 1 ] || return 1
	# Both processes answered some of them.
	grep -q "race-\|possible replay" "$WORK/scepd-$PORT2.log" || return 1
	[ "$(grep -c 'possible replay' "$WORK/scepd-$PORT2.log")" -ge 1 ]
}
check "race: 2 scepd x 32 concurrent enrollments, one challenge -> exactly one certificate" race

check "scepd on $PORT2 exits cleanly on SIGTERM" stop_scepd $PORT2
check "scepd on $PORT exits cleanly on SIGTERM" stop_scepd $PORT
summary
