#!/bin/sh
# Renewal, GetCert and GetNextCACert.  A RenewalReq (strongSwan pki --scep
# --cert/--key) or a PKCSReq signed by a certificate this CA issued
# (sceptool --signer-cert, as sscep -O and certmonger do) is authenticated
# by that certificate on a profile with renewal enabled; the old
# certificate is superseded (revoked at once with grace 0, later by the
# sweep otherwise).  Refused: self-signed, outside the window, revoked,
# already renewed, another CA's, another profile's, renewal disabled.
# GetCert returns a certificate to its holder only; GetNextCACert serves
# the configured next CA signed by the current RA.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
PORT=18420
DB=it_renew
D=$WORK/renew
BASE=http://127.0.0.1:$PORT/scep
URL=$BASE/renew
SECRET=interop-secret-1
trap 'stop_scepd $PORT' EXIT

mkdir -p "$D"
# The next CA (rollover) and a foreign CA, made with openssl.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/next.key" -out "$D/next.pem" \
    -subj "/O=scepd test/CN=Next CA" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/foreign.key" -out "$D/foreign.pem" \
    -subj "/O=elsewhere/CN=Foreign CA" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

check "set up RA-mode CA with renewal profiles" setup_ca "$D" $DB ra '
profiles = (
	{ name = "renew"; renewal = { enabled = true; window_percent = 100;
	    supersede_grace_days = 0; }; },
	{ name = "early"; renewal = { enabled = true; window_percent = 1;
	    supersede_grace_days = 0; }; },
	{ name = "grace"; renewal = { enabled = true; window_percent = 100;
	    supersede_grace_days = 3; }; },
	{ name = "next"; ca = { next_cert = "next.pem"; }; }
);'
check "start scepd" start_scepd "$D/scepd.conf" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }

serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//; s/^0*//'; }
status_of() {
	sql $DB "SELECT status || ':' || coalesce(revocation_reason::text, '-') || ':' ||
	    coalesce(superseded_by, '-') FROM scepd.certificates WHERE serial = '$(serial_of "$1")'"
}
logged() {
	grep -Eq "$1" "$WORK/scepd-$PORT.log" ||
	    { echo "no log line matching: $1"; tail -n 5 "$WORK/scepd-$PORT.log"; return 1; }
}

$T getca -u "$URL" -o "$WORK/getca.pem" >/dev/null
# GetCert names the issuing CA (sceptool defaults to the --ca certificate's).
CASUBJ="/O=scepd test/CN=Test CA ra"
openssl x509 -in "$WORK/getca.pem" -out "$WORK/recipient.pem"	# the RA

# issue PROFILE NAME: a fresh certificate $WORK/NAME.pem for key $WORK/NAME.key.
issue() {
	$T enroll -u "$BASE/$1" --ca "$WORK/recipient.pem" -k "$WORK/$2.key" \
	    --subject "/CN=$2" --challenge "$SECRET" -o "$WORK/$2.pem" >/dev/null 2>&1
}

# refused NAME FAILINFO sceptool-args...: FAILURE FAILINFO, no certificate for NAME.
refused() {
	rf_name=$1
	rf_want=$2
	shift 2
	rc=0
	$T enroll --ca "$WORK/recipient.pem" -k "$(key)" --subject "/CN=$rf_name" \
	    -o "$WORK/$rf_name.out.pem" "$@" >"$WORK/$rf_name.out" 2>&1 || rc=$?
	cat "$WORK/$rf_name.out"
	[ $rc = 2 ] || { echo "exit $rc, want 2 (FAILURE)"; return 1; }
	grep -q "failInfo=$rf_want" "$WORK/$rf_name.out" || return 1
	[ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE subject = 'CN=$rf_name'")" = 0 ]
}

# --- GetCACaps ---------------------------------------------------------------

caps_has() { curl -fsS "$BASE$1?operation=GetCACaps" | tr -d '\r' | grep -qx "$2"; }
check "GetCACaps: Renewal on a renewal profile" caps_has /renew Renewal
# caps_lacks PATH TOKEN: GetCACaps answers, without TOKEN.
caps_lacks() {
	c=$(curl -fsS "$BASE$1?operation=GetCACaps" | tr -d '\r') || { echo "GetCACaps failed"; return 1; }
	[ -n "$c" ] && ! printf '%s\n' "$c" | grep -qx "$2"
}
check "GetCACaps: no Renewal where it is disabled" caps_lacks "" Renewal
check "GetCACaps: GetNextCACert only on the profile with a next CA" sh -c "
	curl -fsS '$BASE/next?operation=GetCACaps' | grep -qx GetNextCACert"
check "GetCACaps: no GetNextCACert on the default profile" caps_lacks "" GetNextCACert
check "GetCACaps: no GetNextCACert on the renewal profile" caps_lacks /renew GetNextCACert

# --- strongSwan RenewalReq -------------------------------------------------------

SW=$WORK/sw
mkdir -p "$SW"
sw_renew() {
	timeout 30 pki --scepca --url "$URL" --caout "$SW/ca.der" --raout "$SW/ra.der" \
	    --force >/dev/null 2>&1 || { echo "pki --scepca failed"; return 1; }
	pki --gen --type rsa --size 2048 --outform pem >"$SW/old.key" || return 1
	timeout 60 pki --scep --url "$URL" --in "$SW/old.key" --dn "CN=rn-sw" \
	    --password "$SECRET" --cacert-enc "$SW/ra.der" --cacert-sig "$SW/ra.der" \
	    --cacert "$SW/ca.der" --outform pem >"$SW/old.pem" 2>"$SW/old.err" ||
	    { tail "$SW/old.err"; return 1; }
	pki --gen --type rsa --size 2048 --outform pem >"$SW/new.key" || return 1
	timeout 60 pki --scep --url "$URL" --in "$SW/new.key" --dn "CN=rn-sw" \
	    --cacert-enc "$SW/ra.der" --cacert-sig "$SW/ra.der" --cacert "$SW/ca.der" \
	    --cert "$SW/old.pem" --key "$SW/old.key" --outform pem \
	    >"$SW/new.pem" 2>"$SW/new.err" || { tail -n 20 "$SW/new.err"; return 1; }
	verify_cert "$SW/new.pem" "$D/ca.pem" "$SW/new.key" "CN=rn-sw" || return 1
	logged "RenewalReq [0-9A-F]+: issued serial 0*$(serial_of "$SW/new.pem") to \"CN=rn-sw\" renewing 0*$(serial_of "$SW/old.pem")"
}
check "strongSwan pki --scep --cert/--key (RenewalReq, no challenge) -> renewed" sw_renew
check "the old certificate is revoked, reason superseded, superseded_by the new" sh -c "
	[ \"\$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT status || ':' || revocation_reason || ':' ||
	    superseded_by FROM scepd.certificates WHERE serial = '$(serial_of "$SW/old.pem" 2>/dev/null)'\")\" = \
	    'revoked:4:$(serial_of "$SW/new.pem" 2>/dev/null)' ]"
check "the supersede is audited" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit
	    WHERE action = 'supersede' AND object = '$(serial_of "$SW/old.pem" 2>/dev/null)'\") = 1 ]"

# --- PKCSReq signed by our certificate (sscep -O, certmonger) ---------------------

pkcsreq_renew() {
	issue renew rn-a || return 1
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/rn-a2.key" --subject /CN=rn-a \
	    --signer-cert "$WORK/rn-a.pem" --signer-key "$WORK/rn-a.key" \
	    -o "$WORK/rn-a2.pem" || return 1
	verify_cert "$WORK/rn-a2.pem" "$D/ca.pem" "$WORK/rn-a2.key" "CN=rn-a" || return 1
	[ "$(status_of "$WORK/rn-a.pem")" = "revoked:4:$(serial_of "$WORK/rn-a2.pem")" ] ||
	    { echo "old: $(status_of "$WORK/rn-a.pem")"; return 1; }
	logged "PKCSReq [0-9A-F]+: issued serial 0*$(serial_of "$WORK/rn-a2.pem") to \"CN=rn-a\" renewing 0*$(serial_of "$WORK/rn-a.pem")"
}
check "PKCSReq signed by our certificate, no challenge -> renewed, old superseded" pkcsreq_renew
check "renewing with the superseded (revoked) certificate -> FAILURE badRequest" \
    refused rn-a3 badRequest -u "$URL" --signer-cert "$WORK/rn-a.pem" --signer-key "$WORK/rn-a.key"
check "RenewalReq signed by a self-signed certificate, no challenge -> FAILURE badRequest" \
    refused rn-self badRequest -u "$URL" --msgtype 17

early() {
	issue early rn-early || return 1
	refused rn-early2 badRequest -u "$BASE/early" --msgtype 17 \
	    --signer-cert "$WORK/rn-early.pem" --signer-key "$WORK/rn-early.key" || return 1
	logged "RenewalReq [0-9A-F]+: renewal too early"
}
check "window_percent = 1, fresh certificate: RenewalReq -> FAILURE badRequest (too early)" early

revoked() {
	issue renew rn-rev || return 1
	sql $DB "UPDATE scepd.certificates SET status = 'revoked', revocation_reason = 1,
	    revoked_at = now() WHERE serial = '$(serial_of "$WORK/rn-rev.pem")'" >/dev/null
	refused rn-rev2 badRequest -u "$URL" --msgtype 17 \
	    --signer-cert "$WORK/rn-rev.pem" --signer-key "$WORK/rn-rev.key"
}
check "RenewalReq signed by a revoked certificate -> FAILURE badRequest" revoked

held() {
	issue renew rn-hold || return 1
	sql $DB "UPDATE scepd.certificates SET status = 'hold', revocation_reason = 6,
	    revoked_at = now() WHERE serial = '$(serial_of "$WORK/rn-hold.pem")'" >/dev/null
	refused rn-hold2 badRequest -u "$URL" --msgtype 17 \
	    --signer-cert "$WORK/rn-hold.pem" --signer-key "$WORK/rn-hold.key"
}
check "RenewalReq signed by a certificate on hold -> FAILURE badRequest" held

foreign() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/fx.key" 2>/dev/null
	openssl req -new -key "$WORK/fx.key" -subj /CN=rn-foreign -out "$WORK/fx.csr" &&
	openssl x509 -req -in "$WORK/fx.csr" -CA "$D/foreign.pem" -CAkey "$D/foreign.key" \
	    -set_serial 0x$(serial_of "$SW/new.pem") -days 30 -out "$WORK/fx.pem" 2>/dev/null ||
	    return 1
	# Even with the serial of one of ours: another CA's certificate.
	refused rn-foreign2 badRequest -u "$URL" --msgtype 17 \
	    --signer-cert "$WORK/fx.pem" --signer-key "$WORK/fx.key"
}
check "RenewalReq signed by another CA's certificate (our serial) -> FAILURE badRequest" foreign

disabled() {
	issue "" rn-dis || return 1
	refused rn-dis2 badRequest -u "$BASE" --msgtype 17 \
	    --signer-cert "$WORK/rn-dis.pem" --signer-key "$WORK/rn-dis.key" || return 1
	logged "RenewalReq [0-9A-F]+: renewal is not enabled on profile default"
}
check "renewal disabled: RenewalReq -> FAILURE badRequest" disabled
check "renewal disabled: PKCSReq signed by our certificate, no challenge -> FAILURE badRequest" \
    refused rn-dis3 badRequest -u "$BASE" --signer-cert "$WORK/rn-dis.pem" \
    --signer-key "$WORK/rn-dis.key"
check "a certificate of another profile does not renew here -> FAILURE badRequest" \
    refused rn-cross badRequest -u "$URL" --msgtype 17 --signer-cert "$WORK/rn-dis.pem" \
    --signer-key "$WORK/rn-dis.key"
check "renewal refusals left the signer certificates valid" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates
	    WHERE subject IN ('CN=rn-early', 'CN=rn-dis') AND status = 'valid'
	    AND superseded_by IS NULL\") = 2 ]"

# --- grace and the sweep ------------------------------------------------------------

grace() {
	issue grace rn-grace || return 1
	$T enroll -u "$BASE/grace" --ca "$WORK/recipient.pem" -k "$WORK/rn-grace2.key" \
	    --subject /CN=rn-grace --msgtype 17 --signer-cert "$WORK/rn-grace.pem" \
	    --signer-key "$WORK/rn-grace.key" -o "$WORK/rn-grace2.pem" || return 1
	s=$(serial_of "$WORK/rn-grace.pem")
	[ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE serial = '$s' AND
	    status = 'valid' AND revoke_after > now() + interval '2 days'")" = 1 ] ||
	    { echo "old: $(status_of "$WORK/rn-grace.pem")"; return 1; }
	# A second renewal of it, while in grace: refused.
	refused rn-grace3 badRequest -u "$BASE/grace" --msgtype 17 \
	    --signer-cert "$WORK/rn-grace.pem" --signer-key "$WORK/rn-grace.key" || return 1
	logged "renewal signer 0*$s was already renewed"
}
check "grace 3 days: renewed, old still valid until then; no second renewal" grace
sweep() {
	s=$(serial_of "$WORK/rn-grace.pem")
	sql $DB "UPDATE scepd.certificates SET revoke_after = now() - interval '1 second'
	    WHERE serial = '$s'" >/dev/null
	j=0
	while [ $j -lt 150 ]; do
		[ "$(status_of "$WORK/rn-grace.pem")" = "revoked:4:$(serial_of "$WORK/rn-grace2.pem")" ] &&
		    break
		sleep 0.1
		j=$((j + 1))
	done
	[ $j -lt 150 ] || { echo "not revoked: $(status_of "$WORK/rn-grace.pem")"; return 1; }
	[ "$(sql $DB "SELECT count(*) FROM scepd.audit WHERE actor = 'scepd:sweep' AND object = '$s'")" = 1 ] &&
	    logged "sweep: revoked 1 superseded certificate"
}
check "the sweep revokes it once the grace is over (within 15 s)" sweep

# --- GetCert ---------------------------------------------------------------------------

getcert_ok() {
	$T getcert -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/rn-a2.key" \
	    --issuer "$CASUBJ" --serial "$(serial_of "$WORK/rn-a2.pem")" -o "$WORK/gc.pem" || return 1
	cmp "$WORK/gc.pem" "$WORK/rn-a2.pem" ||
	    [ "$(openssl x509 -in "$WORK/gc.pem" -outform DER | sha256sum)" = \
	      "$(openssl x509 -in "$WORK/rn-a2.pem" -outform DER | sha256sum)" ]
}
check "GetCert by the holder -> SUCCESS with that certificate" getcert_ok
getcert_fail() {
	want=$1
	shift
	rc=0
	$T getcert -u "$URL" --ca "$WORK/recipient.pem" --issuer "$CASUBJ" "$@" \
	    >"$WORK/gcf.out" 2>&1 || rc=$?
	cat "$WORK/gcf.out"
	[ $rc = 2 ] && grep -q "failInfo=$want" "$WORK/gcf.out"
}
check "GetCert of an unknown serial -> FAILURE badCertId" \
    getcert_fail badCertId -k "$(key)" --serial 0123456789ABCDEF
# The RA's name (sscep's default) is one of the CA's names
# (docs/protocol.md); a name that is none of them is refused.
check "GetCert with a foreign issuer name -> FAILURE badCertId" sh -c "
	$T getcert -u '$URL' --ca '$WORK/recipient.pem' -k '$WORK/rn-a2.key' \
	    --serial \$(openssl x509 -in '$WORK/rn-a2.pem' -noout -serial | cut -d= -f2) \
	    --issuer '/O=elsewhere/CN=Other CA' \
	    >'$WORK/gci.out' 2>&1; rc=\$?; cat '$WORK/gci.out'
	[ \$rc = 2 ] && grep -q failInfo=badCertId '$WORK/gci.out'"
check "GetCert of a serial 0 -> FAILURE badCertId" getcert_fail badCertId -k "$(key)" --serial 0
check "GetCert by someone who does not hold it -> FAILURE badRequest" \
    getcert_fail badRequest -k "$(key)" --serial "$(serial_of "$WORK/rn-a2.pem")"

# --- GetNextCACert ----------------------------------------------------------------------

nextca() {
	t=$(curl -sS -D - -o "$WORK/nx.der" "$BASE/next?operation=GetNextCACert" |
	    tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
	[ "$t" = application/x-x509-next-ca-cert ] || { echo "Content-Type \"$t\""; return 1; }
	# Signed by the current RA, which chains to the current CA.
	openssl cms -verify -binary -inform DER -in "$WORK/nx.der" -CAfile "$D/ca.pem" \
	    -purpose any -signer "$WORK/nx-signer.pem" -out "$WORK/nx-inner.der" || return 1
	[ "$(openssl x509 -in "$WORK/nx-signer.pem" -outform DER | sha256sum)" = \
	  "$(openssl x509 -in "$D/ra.pem" -outform DER | sha256sum)" ] || { echo "signer is not the RA"; return 1; }
	openssl pkcs7 -inform DER -in "$WORK/nx-inner.der" -print_certs >"$WORK/nx-certs.pem" || return 1
	[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/nx-certs.pem")" = 1 ] || return 1
	[ "$(openssl x509 -in "$WORK/nx-certs.pem" -outform DER | sha256sum)" = \
	  "$(openssl x509 -in "$D/next.pem" -outform DER | sha256sum)" ]
}
check "GetNextCACert: x-x509-next-ca-cert, signed by the current RA, holds the next CA" nextca
check "GetNextCACert tampered: the signature no longer verifies" sh -c "
	cp '$WORK/nx.der' '$WORK/nx-bad.der'
	n=\$(stat -c %s '$WORK/nx-bad.der'); printf '\\377' |
	    dd of='$WORK/nx-bad.der' bs=1 seek=\$((n - 20)) conv=notrunc 2>/dev/null
	! openssl cms -verify -binary -inform DER -in '$WORK/nx-bad.der' -CAfile '$D/ca.pem' \
	    -purpose any -out /dev/null 2>/dev/null"
check "GetNextCACert without a next CA -> 404" sh -c "
	[ \$(curl -s -o /dev/null -w '%{http_code}' '$BASE?operation=GetNextCACert') = 404 ]"

# --- A renewal that keeps its key is not a retransmission -------------------------
# scepclient and certmonger derive the transactionID from the key and renew
# with the same key (and often the same CSR), signed by the issued
# certificate: a new transaction, never the old certificate sent again.

# same_key_renew: sceptool with the same key, subject, challenge (so the
# same CSR) and transactionID, PKCSReq signed by the issued certificate;
# then that renewal resent.
same_key_renew() {
	issue renew rn-k || return 1
	$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$WORK/rn-k.key" --subject /CN=rn-k \
	    --challenge "$SECRET" --signer-cert "$WORK/rn-k.pem" --signer-key "$WORK/rn-k.key" \
	    --save-request "$WORK/rn-k2.der" -o "$WORK/rn-k2.pem" || return 1
	[ "$(serial_of "$WORK/rn-k.pem")" != "$(serial_of "$WORK/rn-k2.pem")" ] ||
	    { echo "the old certificate came back"; return 1; }
	verify_cert "$WORK/rn-k2.pem" "$D/ca.pem" "$WORK/rn-k.key" "CN=rn-k" || return 1
	[ "$(status_of "$WORK/rn-k.pem")" = "revoked:4:$(serial_of "$WORK/rn-k2.pem")" ] ||
	    { echo "old: $(status_of "$WORK/rn-k.pem")"; return 1; }
	$T post -u "$URL" --file "$WORK/rn-k2.der" --ca "$WORK/recipient.pem" \
	    -k "$WORK/rn-k.key" -o "$WORK/rn-k3.pem" || return 1
	cmp "$WORK/rn-k2.pem" "$WORK/rn-k3.pem" || { echo "resent renewal: another certificate"; return 1; }
	[ "$(sql $DB "SELECT count(*) FROM scepd.certificates WHERE subject = 'CN=rn-k'")" = 2 ] &&
	[ "$(sql $DB "SELECT count(*) FROM scepd.transactions WHERE transaction_id =
	    (SELECT transaction_id FROM scepd.certificates WHERE serial = '$(serial_of "$WORK/rn-k.pem")')")" = 2 ]
}
check "same key, CSR and transactionID, signed by the issued certificate -> a new certificate; resent -> that one again" \
    same_key_renew

# micromdm scepclient needs single DES: a legacy RA-mode server of its own.
LEGPORT=18421
LEGDB=it_renew_legacy
LEG=$WORK/legacy
check "set up legacy RA mode with renewal" setup_ca "$LEG" $LEGDB ra '
legacy = true; ciphers = ["aes128", "des"]; digests = ["sha1", "sha256"];
renewal = { enabled = true; window_percent = 100; supersede_grace_days = 0; };'
check "start scepd legacy RA mode on $LEGPORT" start_scepd "$LEG/scepd.conf" $LEGPORT
trap 'stop_scepd $PORT; stop_scepd $LEGPORT' EXIT

# scepclient keeps key.pem, csr.pem and cert.pem in its folder; run again
# there it sends the stored CSR as a RenewalReq signed by cert.pem.
MM=$WORK/mm
mm_run() {
	(cd "$MM" && timeout 60 scepclient -server-url "http://127.0.0.1:$LEGPORT/scep" \
	    -challenge "$SECRET" -private-key "$MM/key.pem" -certificate "$MM/cert.pem" \
	    -cn mm-renew) >>"$MM/scepclient.log" 2>&1 || { tail -n 5 "$MM/scepclient.log"; return 1; }
}
mm_renew() {
	rm -rf "$MM" && mkdir -p "$MM" || return 1
	mm_run || return 1
	cp "$MM/cert.pem" "$MM/first.pem"
	mm_run || return 1
	[ "$(serial_of "$MM/first.pem")" != "$(serial_of "$MM/cert.pem")" ] ||
	    { echo "scepclient got its old certificate back"; return 1; }
	verify_cert "$MM/cert.pem" "$LEG/ca.pem" "$MM/key.pem" \
	    "CN=mm-renew,OU=MDM,O=scep-client,C=US" || return 1
	st=$(sql $LEGDB "SELECT status || ':' || coalesce(revocation_reason::text, '-') || ':' ||
	    coalesce(superseded_by, '-') FROM scepd.certificates WHERE serial = '$(serial_of "$MM/first.pem")'")
	[ "$st" = "revoked:4:$(serial_of "$MM/cert.pem")" ] || { echo "old: $st"; return 1; }
	grep -Eq "RenewalReq [^ ]+: issued serial 0*$(serial_of "$MM/cert.pem") to \"CN=mm-renew,OU=MDM,O=scep-client,C=US\" renewing 0*$(serial_of "$MM/first.pem")" \
	    "$WORK/scepd-$LEGPORT.log" || { echo "no renewal logged"; tail -n 5 "$WORK/scepd-$LEGPORT.log"; return 1; }
	[ "$(sql $LEGDB "SELECT string_agg(message_type::text, ',' ORDER BY id) FROM scepd.transactions")" = 19,17 ]
}
check "micromdm scepclient run again (legacy, RenewalReq, same key and CSR) -> a new certificate, old superseded" \
    mm_renew

# certmonger: getcert resubmit keeps the key; it signs with the issued
# certificate and uses the same transactionID.
cm_setup "$WORK/cm"
cm_renew() {
	cm_add_ca scepd-renew "$URL" || return 1
	timeout 30 getcert request -s -c scepd-renew -I cm-renew -k "$CM/cm.key" \
	    -f "$CM/cm.pem" -L "$SECRET" -N "CN=cm-renew" || return 1
	st=$(cm_wait cm-renew)
	[ "$st" = MONITORING ] || { echo "first: status \"$st\""; return 1; }
	cp "$CM/cm.pem" "$CM/first.pem"
	cp "$CM/cm.key" "$CM/first.key"
	timeout 20 getcert resubmit -s -i cm-renew >/dev/null || return 1
	j=0
	while [ $j -lt 600 ] && [ "$(serial_of "$CM/cm.pem")" = "$(serial_of "$CM/first.pem")" ]; do
		sleep 0.1
		j=$((j + 1))
	done
	st=$(cm_wait cm-renew)
	[ "$st" = MONITORING ] || { echo "resubmit: status \"$st\""; timeout 20 getcert list -s -i cm-renew; return 1; }
	[ "$(serial_of "$CM/first.pem")" != "$(serial_of "$CM/cm.pem")" ] ||
	    { echo "certmonger got its old certificate back"; return 1; }
	cmp -s "$CM/cm.key" "$CM/first.key" || { echo "the key changed"; return 1; }
	verify_cert "$CM/cm.pem" "$D/ca.pem" "$CM/cm.key" "CN=cm-renew" || return 1
	[ "$(status_of "$CM/first.pem")" = "revoked:4:$(serial_of "$CM/cm.pem")" ] ||
	    { echo "old: $(status_of "$CM/first.pem")"; return 1; }
	logged "PKCSReq [0-9]+: issued serial 0*$(serial_of "$CM/cm.pem") to \"CN=cm-renew\" renewing 0*$(serial_of "$CM/first.pem")"
}
if check "certmonger daemon on a private session bus" cm_start; then
	check "certmonger getcert resubmit, same key -> a new certificate, old superseded" cm_renew
fi
cm_stop

check "no success without its certificate; every renewal audited" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.transactions t
	    LEFT JOIN scepd.certificates c ON c.serial = t.cert_serial
	    WHERE t.state = 'success' AND c.serial IS NULL\") = 0 ] &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates
	    WHERE superseded_by IS NOT NULL\") = \
	  \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit WHERE action = 'renew'\") ]"
summary
