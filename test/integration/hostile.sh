#!/bin/sh
# The hostile-input catalogue (issue 10): every case is a message or
# request scepd must refuse, and each asserts three things: the exact
# answer (HTTP status, or CertRep FAILURE with its failInfo), that no row
# of any scepd.* table was added or removed (a refusal the protocol
# records, such as a wrong challenge, adds exactly its one failed
# transaction), and that scepd still answers GetCACaps afterwards.
# Ports 18900-18909.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18900
DB=it_hostile
DIR=$WORK/ca
CONF=$DIR/scepd.conf
BASE=http://127.0.0.1:$PORT
URL=$BASE/scep
API=$BASE/api/v1
trap 'stop_scepd $PORT' EXIT

setup_ca "$DIR" $DB ra "challenge_key = \"$(openssl rand -hex 32)\";
template = { san_dns = [ \"*.example\" ]; san_email = [ \"*@example.org\" ]; };
profiles = ( { name = \"dyn\"; challenge_mode = \"dynamic\"; } );" ||
    { echo "cannot set up the CA"; exit 1; }
start_scepd "$CONF" $PORT || exit 1
TOK=$("$BUILD/scepctl" -c "$CONF" token create hostile 2>/dev/null)
$T getca -u "$URL" -o "$WORK/getca.pem" >/dev/null
openssl x509 -in "$WORK/getca.pem" -out "$WORK/recipient.pem"	# the RA
RAW="python3 $(dirname "$0")/../raw_http.py $PORT"

# --- The three assertions ----------------------------------------------

# counts: "table rows" for every table of schema scepd, one a line, but
# scepd.key_use: the sweep adds the signer's counts to it every second,
# whatever the request (a refused request's decryption is counted too:
# that is the audit of key use, not something the request wrote).
counts() {
	sql $DB "SELECT table_name || ' ' || (xpath('/row/c/text()',
	    query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema,
	    table_name), false, true, '')))[1]::text
	    FROM information_schema.tables
	    WHERE table_schema = 'scepd' AND table_type = 'BASE TABLE'
	    AND table_name <> 'key_use' ORDER BY 1"
}

# rows_after ROWS: the counts now against $WORK/before.  ROWS "none":
# every table as it was; "refusal": one transaction more, in state
# failure, and its one audit row "refuse", nothing else.
rows_after() {
	counts >"$WORK/after" || return 1
	if [ "$1" = refusal ]; then
		awk '$1 == "transactions" || $1 == "audit" { $2++ } 1' \
		    "$WORK/before" >"$WORK/want"
		[ "$(sql $DB "SELECT state FROM scepd.transactions ORDER BY
		    id DESC LIMIT 1")" = failure ] ||
		    { echo "the newest transaction is no failure"; return 1; }
		[ "$(sql $DB "SELECT action FROM scepd.audit ORDER BY id DESC
		    LIMIT 1")" = refuse ] ||
		    { echo "the newest audit row is no refusal"; return 1; }
	else
		cp "$WORK/before" "$WORK/want"
	fi
	diff "$WORK/want" "$WORK/after" ||
	    { echo "rows written (< want, > got)"; return 1; }
}

# hostile WANT ROWS CMD...: CMD's answer is WANT ("HTTP 400": a line
# starting so; "FAILURE badRequest": sceptool's exit 2 and that failInfo),
# never a certificate; rows_after ROWS; then GetCACaps still answers.
hostile() {
	h_want=$1 h_rows=$2
	shift 2
	counts >"$WORK/before" || return 1
	h_rc=0
	"$@" >"$WORK/h.out" 2>&1 || h_rc=$?
	cat "$WORK/h.out"
	case $h_want in
	HTTP*)	[ $h_rc = 0 ] || [ $h_rc = 4 ] || { echo "exit $h_rc"; return 1; }
		grep -q "^$h_want\( \|\$\)" "$WORK/h.out" ||
		    { echo "no \"$h_want\""; return 1; } ;;
	FAILURE*) [ $h_rc = 2 ] || { echo "exit $h_rc, want 2"; return 1; }
		grep -q "^pkiStatus=FAILURE failInfo=${h_want#FAILURE } " \
		    "$WORK/h.out" || { echo "no failInfo=${h_want#FAILURE }"; return 1; } ;;
	*)	echo "bad WANT $h_want"; return 1 ;;
	esac
	! grep -q 'pkiStatus=SUCCESS' "$WORK/h.out" || return 1
	rows_after "$h_rows" || return 1
	curl -fsS "$URL?operation=GetCACaps" | grep -qx POSTPKIOperation ||
	    { echo "scepd no longer answers GetCACaps"; return 1; }
}

# --- Requests -------------------------------------------------------------

# en [sceptool options]: a PKCSReq by sceptool, CN=hostile.  One key
# for all (a new RSA key each would cost the time box), a transactionID
# of its own for each.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$WORK/h.key" 2>/dev/null
en() {
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/h.key" \
	    --transid "h-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" \
	    --subject /CN=hostile --challenge interop-secret-1 "$@"
}
# http [curl options] URL: prints the body, then "HTTP <status>".
http() {
	curl -s -o "$WORK/body" -w '%{http_code}' "$@" >"$WORK/status"
	cat "$WORK/body"
	printf '\nHTTP %s\n' "$(cat "$WORK/status")"
}
# says TEXT CMD...: CMD's output, which must contain TEXT.
says() {
	s_text=$1
	shift
	"$@" >"$WORK/says.out" 2>&1
	cat "$WORK/says.out"
	grep -qF -- "$s_text" "$WORK/says.out" || { echo "no \"$s_text\""; return 1; }
}
# pkiop BODYFILE [curl options]: POST BODYFILE as a PKIOperation.
pkiop() {
	f=$1
	shift
	http --data-binary "@$f" "$@" "$URL?operation=PKIOperation"
}
# getop MESSAGE: PKIOperation by GET with MESSAGE, escaped.
getop() {
	http "$URL?operation=PKIOperation&message=$(printf %s "$1" |
	    sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g; s/ /%20/g')"
}
# repeat N CHAR: CHAR N times.
repeat() { head -c "$1" /dev/zero | tr '\0' "$2"; }

# --- Outer layers: ContentInfo and SignedData ------------------------------

en --save-request "$WORK/good.der" --no-send >/dev/null 2>&1
# der_edit MODE: $WORK/good.der with its SignedData (the [0] content of
# the outer ContentInfo) replaced by junk or cut in half, lengths
# re-encoded so that only the inner layer is wrong; written to stdout.
der_edit() {
	python3 - "$WORK/good.der" "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
def tlv(b):	# (header length, content length) of the TLV at b
	n = b[1]
	if n < 0x80:
		return 2, n
	k = n & 0x7f
	return 2 + k, int.from_bytes(b[2:2 + k], "big")
def enc(tag, c):
	n = len(c)
	if n < 0x80:
		return bytes([tag, n]) + c
	nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
	return bytes([tag, 0x80 | len(nb)]) + nb + c
h, _ = tlv(d)
oid_h, oid_l = tlv(d[h:])
oid = d[h:h + oid_h + oid_l]
rest = d[h + oid_h + oid_l:]
eh, el = tlv(rest)
sd = rest[eh:eh + el]
if sys.argv[2] == "junk":
	sd = enc(0x30, b"sceptool junk in place of a SignedData")
else:
	sd = sd[:len(sd) // 2]
sys.stdout.buffer.write(enc(0x30, oid + enc(0xa0, sd)))
PY
}
der_edit junk >"$WORK/sd-junk.der"
der_edit half >"$WORK/sd-half.der"
head -c 100 "$WORK/good.der" >"$WORK/ci-trunc.der"
printf '\060\003\002\001\001' >"$WORK/ci-int.der"	# SEQUENCE { INTEGER 1 }
printf 'not DER at all' >"$WORK/garbage.der"
: >"$WORK/empty.der"
# 1,000 nested SEQUENCEs, the innermost empty.
python3 -c '
import sys
b = b""
for i in range(1000):
	n = len(b)
	h = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82, n >> 8, n & 0xff])
	b = b"\x30" + h + b
sys.stdout.buffer.write(b)' >"$WORK/nested.der"

check "ContentInfo: not DER at all -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" pkiop "$WORK/garbage.der"
check "ContentInfo: empty body -> 400, nothing written" \
    hostile "HTTP 400" none pkiop "$WORK/empty.der"
check "ContentInfo: first 100 bytes only -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" pkiop "$WORK/ci-trunc.der"
check "ContentInfo: SEQUENCE { INTEGER } -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" pkiop "$WORK/ci-int.der"
check "ContentInfo truncated at 200 bytes (sceptool) -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate truncate:200
check "ContentInfo truncated to 1 byte -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate truncate:1
check "ContentInfo with trailing garbage -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate trailing-garbage
check "SignedData replaced by junk -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" pkiop "$WORK/sd-junk.der"
check "SignedData cut in half, outer lengths intact -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" pkiop "$WORK/sd-half.der"
check "1,000-deep nested SEQUENCE as the body -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" pkiop "$WORK/nested.der"
check "1,000-deep nested SEQUENCE by GET -> 400, nothing written" \
    hostile "HTTP 400" none getop "$(base64 -w0 "$WORK/nested.der")"

# --- Signatures and signers -------------------------------------------------

check "no SignerInfo -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate zero-signers
check "two SignerInfos -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate two-signers
check "flipped SignerInfo signature: FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate flip-signature
check "600-byte OID as the digest algorithm: FAILURE badAlg, nothing written" \
    hostile "FAILURE badAlg" none en --mutate long-oid-digest
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other.key" \
    -out "$WORK/other.pem" -days 1 -subj /CN=hostile 2>/dev/null
check "signer key is not the CSR key: FAILURE badRequest, nothing written" \
    hostile "FAILURE badRequest" none en --signer-cert "$WORK/other.pem" \
    --signer-key "$WORK/other.key"

# --- The envelope -----------------------------------------------------------

check "envelope replaced by junk (signed): FAILURE badRequest, nothing written" \
    hostile "FAILURE badRequest" none en --mutate envelope-garbage
check "envelope cut in half (signed): FAILURE badRequest, nothing written" \
    hostile "FAILURE badRequest" none en --mutate truncate-envelope
check "envelope for another recipient: FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate wrong-recipient
check "random RSA content key: FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate corrupt-rsa
check "bad CBC padding: FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate corrupt-padding
check "no envelope (bare CSR as eContent): FAILURE badRequest, nothing written" \
    hostile "FAILURE badRequest" none en --mutate bare-csr

# --- The CSR ----------------------------------------------------------------

check "CSR replaced by junk (encrypted): FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate csr-garbage
check "CSR cut in half (encrypted): FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate truncate-csr
check "CSR whose signature fails: FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate bad-csr-sig
check "CSR and 16 bytes more (encrypted): FAILURE badMessageCheck, nothing written" \
    hostile "FAILURE badMessageCheck" none en --mutate csr-trailing
# Whatever depends on decrypted bytes gets one answer (no padding oracle):
# with one transactionID, the same status, failInfo and reply size.
uniform() {
	u_first=""
	for m in wrong-recipient corrupt-rsa corrupt-padding csr-garbage csr-trailing bad-csr-sig; do
		u_rc=0
		$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/h.key" \
		    --transid h-uniform --subject /CN=hostile --challenge interop-secret-1 \
		    --mutate $m --save-reply "$WORK/u-$m.der" >"$WORK/u-$m.out" 2>&1 || u_rc=$?
		u_got="exit $u_rc $(grep -o 'pkiStatus=[^ ]* failInfo=[^ ]*' "$WORK/u-$m.out") $(wc -c <"$WORK/u-$m.der") bytes"
		echo "$m: $u_got"
		[ -n "$u_first" ] || u_first=$u_got
		[ "$u_got" = "$u_first" ] || return 1
	done
	[ "$u_first" != "${u_first#exit 2 pkiStatus=FAILURE failInfo=badMessageCheck }" ]
}
check "the six decryption failures: one answer (status, failInfo, size)" uniform
for b in 512 1024; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$b \
	    -out "$WORK/k$b.pem" 2>/dev/null
	check "$b-bit RSA CSR key: FAILURE badRequest, one failed transaction" \
	    hostile "FAILURE badRequest" refusal $T enroll -u "$URL" \
	    --ca "$WORK/recipient.pem" -k "$WORK/k$b.pem" --subject /CN=hostile \
	    --challenge interop-secret-1
done
check "wrong challenge: FAILURE badRequest, one failed transaction" \
    hostile "FAILURE badRequest" refusal en --challenge interop-secret-2

# --- messageType ----------------------------------------------------------

for mt in 18 3 0 99 '' 019 ' 19' +19; do
	check "messageType \"$mt\": FAILURE badRequest, nothing written" \
	    hostile "FAILURE badRequest" none en --msgtype "$mt"
done
check "messageType of 60,000 digits: FAILURE badRequest, nothing written" \
    hostile "FAILURE badRequest" none en --msgtype "$(repeat 60000 7)"
check "messageType of 64 KiB (body over 64 KiB) -> 413, nothing written" \
    hostile "HTTP 413" none en --msgtype "$(repeat 65536 7)"
check "messageType as INTEGER 19 -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate msgtype-integer
check "messageType as UTF8String -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate msgtype-utf8

# --- transactionID and nonces ------------------------------------------------

check "no transactionID -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate no-transid
check "empty transactionID -> 400, nothing written" \
    hostile "HTTP 400" none en --transid ''
check "129-character transactionID -> 400, nothing written" \
    hostile "HTTP 400" none en --transid "$(repeat 129 a)"
check "transactionID with a control character -> 400, nothing written" \
    hostile "HTTP 400" none en --transid "$(printf 'a\001b')"
check "transactionID with @ (not PrintableString) -> 400, nothing written" \
    hostile "HTTP 400" none en --transid 'a@b'
check "no senderNonce -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate no-nonce
check "15-byte senderNonce -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate nonce-15
check "17-byte senderNonce -> 400, nothing written" \
    hostile "HTTP 400" none en --mutate nonce-17

# --- Subject and SANs ----------------------------------------------------

check "NUL byte inside a subject CN: FAILURE badRequest, one failed transaction" \
    hostile "FAILURE badRequest" refusal en --mutate cn-nul
for c in CR:'\r' LF:'\n' ESC:'\033'; do
	ch=$(printf "${c#*:}x")
	ch=${ch%x}
	check "${c%%:*} in the subject CN: FAILURE badRequest, one failed transaction" \
	    hostile "FAILURE badRequest" refusal en --subject "/CN=a${ch}b"
	check "${c%%:*} in a DNS SAN: FAILURE badRequest, one failed transaction" \
	    hostile "FAILURE badRequest" refusal en --san "DNS:a${ch}b.example"
done
check "LF in an e-mail SAN: FAILURE badRequest, one failed transaction" \
    hostile "FAILURE badRequest" refusal en --san "email:a$(printf '\nb')@example.org"
check "NUL byte inside a DNS SAN: FAILURE badRequest, one failed transaction" \
    hostile "FAILURE badRequest" refusal en --mutate san-nul

# --- HTTP -----------------------------------------------------------------

head -c 65537 /dev/zero >"$WORK/big.bin"
check "POST body of 64 KiB + 1 -> 413, nothing written" \
    hostile "HTTP 413" none pkiop "$WORK/big.bin"
check "header of 33,000 bytes -> 400, nothing written" \
    hostile "HTTP 400" none http -H "X-Big: $(repeat 33000 a)" "$URL?operation=GetCACaps"
check "GET message decoding to 16 KiB + 1 of junk -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed pkiMessage" \
    getop "$(head -c 16385 /dev/urandom | base64 -w0)"
for b in M 'MIIB===' '====' 'MIIB AAAA' "$(printf '\377\376')" 'MIIBAAAA=AAAA'; do
	check "GET message \"$b\" (bad base64) -> 400, nothing written" \
	    hostile "HTTP 400" none says "message is not base64" getop "$b"
done
check "GET message with an escaped NUL -> 400, nothing written" \
    hostile "HTTP 400" none says "malformed query string" \
    http "$URL?operation=PKIOperation&message=MI%00IB"
check "GET without message= -> 400, nothing written" \
    hostile "HTTP 400" none says "needs message=" \
    http "$URL?operation=PKIOperation"

# A good enrollment POSTed with Transfer-Encoding: chunked is served like
# any other: libevent joins the chunks before scepd sees the body.
chunked_ok() {
	counts >"$WORK/before" || return 1
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/h.key" \
	    --transid chunked-1 --subject /CN=chunked --challenge interop-secret-1 \
	    --save-request "$WORK/chunked.der" --no-send || return 1
	s=$(curl -s -o "$WORK/chunked.rep" -w '%{http_code}' \
	    -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-pki-message' \
	    --data-binary "@$WORK/chunked.der" "$URL?operation=PKIOperation")
	[ "$s" = 200 ] || { echo "HTTP $s"; return 1; }
	[ "$(certs "WHERE subject = 'CN=chunked'")" = 1 ]
}
check "good PKCSReq POSTed chunked -> 200, one certificate" chunked_ok
check "chunk size \"zz\" -> 413 (libevent's answer), connection closed, nothing written" \
    hostile "HTTP/1.1 413" none says closed $RAW badchunk
check "HTTP/1.0 GetCACaps -> answered with HTTP/1.0 200, connection closed" \
    hostile "HTTP/1.0 200" none says closed $RAW http10
pipelined() {
	$RAW pipeline >"$WORK/pipe.out" || return 1
	cat "$WORK/pipe.out"
	[ "$(grep -c '^HTTP/1.1 200' "$WORK/pipe.out")" = 2 ] &&
	[ "$(grep '^Content-Type' "$WORK/pipe.out" | tr '\n' ' ')" = \
	    "Content-Type: text/plain Content-Type: application/x-x509-ca-ra-cert " ]
}
check "pipelined GetCACaps + GetCACert in one write -> two 200s in order" \
    hostile "HTTP/1.1 200" none pipelined

# --- The admin API ----------------------------------------------------------

SERIAL=$(sql $DB "SELECT serial FROM scepd.certificates WHERE subject = 'CN=chunked'")
BAD="Authorization: Bearer scepd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
GOOD="Authorization: Bearer $TOK"
JSON="Content-Type: application/json"
for ep in "POST /profiles/dyn/challenges|a bearer token is required|unknown or revoked token" \
    "PUT /devices/d1|bearer token required|invalid token" \
    "GET /devices/d1|bearer token required|invalid token" \
    "POST /bindings|bearer token required|invalid token" \
    "GET /certificates/$SERIAL|bearer token required|invalid token" \
    "POST /certificates/$SERIAL/revoke|bearer token required|invalid token" \
    "POST /certificates/$SERIAL/hold|bearer token required|invalid token" \
    "POST /certificates/$SERIAL/release|bearer token required|invalid token"; do
	req=${ep%%|*} rest=${ep#*|}
	m=${req%% *} path=${req#* }
	check "$req without a token -> 401 \"${rest%%|*}\", nothing written" \
	    hostile "HTTP 401" none says "{\"error\":\"${rest%%|*}\"}" \
	    http -X "$m" -H "$JSON" --data-binary '{}' "$API$path"
	check "$req with a wrong token -> 401 \"${rest#*|}\", nothing written" \
	    hostile "HTTP 401" none says "{\"error\":\"${rest#*|}\"}" \
	    http -X "$m" -H "$BAD" -H "$JSON" --data-binary '{}' "$API$path"
	[ "$m" = GET ] && continue
	if [ "$path" = /profiles/dyn/challenges ]; then
		e='bad JSON at line 1 column 7'
	else
		e='body must be a JSON object'
	fi
	check "$req with malformed JSON -> 400 \"$e\", nothing written" \
	    hostile "HTTP 400" none says "{\"error\":\"$e\"}" \
	    http -X "$m" -H "$GOOD" -H "$JSON" --data-binary '{"x": 1' "$API$path"
done

stop_scepd $PORT
check "scepd exits cleanly on SIGTERM after all of it" \
    sh -c "grep -q stopped '$WORK/scepd-$PORT.log'"
# The CA key signed only what was issued (the chunked enrollment) or
# discarded by a rollback (its serial reservation says so): none of the
# refusals above reached the signer (as scepd counts on its way out).
signed() {
	n=$(sql $DB "SELECT count(*) FROM scepd.certificates")
	r=$(sql $DB "SELECT count(*) FILTER (WHERE state = 'issued') || ' ' ||
	    count(*) FILTER (WHERE state = 'discarded') FROM scepd.serial_reservations")
	echo "$n certificates in the database; reservations issued, discarded: $r;" \
	    "$(grep 'stopped;' "$WORK/scepd-$PORT.log")"
	[ "${r% *}" = "$n" ] &&
	    grep -q "stopped; $((n + ${r#* })) certificates signed since the start" \
	    "$WORK/scepd-$PORT.log"
}
check "certificates signed = issued + discarded reservations: no refusal was signed" signed
summary
