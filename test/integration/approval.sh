#!/bin/sh
# Manual approval: a profile with approval = "manual" answers PENDING and
# keeps the request in PostgreSQL; scepctl pending list|approve|reject;
# CertPoll (GetCertInitial) answers PENDING, then SUCCESS with a
# certificate issued at that moment, or FAILURE; an unknown transaction
# gets badCertId.  Held requests survive a restart of scepd.  Real
# clients: strongSwan pki --scep polls until the script approves it in
# the background; certmonger reads PENDING, keeps waiting, and gets
# its certificate after approval.
. "$(dirname "$0")/../lib.sh"

T=$BUILD/sceptool
CTL=$BUILD/scepctl
PORT=18400
DB=it_appr
D=$WORK/appr
URL=http://127.0.0.1:$PORT/scep/manual
AUTO=http://127.0.0.1:$PORT/scep
SECRET=interop-secret-1
bg_pid=""


cleanup() {
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
	cm_stop
	stop_scepd $PORT
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

check "set up RA-mode CA with a manual-approval profile" setup_ca "$D" $DB ra \
    'profiles = ( { name = "manual"; approval = "manual"; } );'
check "start scepd" start_scepd "$D/scepd.conf" $PORT
[ "$failed" -eq 0 ] || { summary; exit 1; }

ctl() { "$CTL" -c "$D/scepd.conf" "$@"; }
# The transactionID sceptool derives from a key: hex SHA-1 of the SPKI.
tid_of() {
	openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha1 -r |
	    cut -d' ' -f1 | tr a-f A-F
}

$T getca -u "$URL" -o "$WORK/getca.pem" >/dev/null
openssl x509 -in "$WORK/getca.pem" -out "$WORK/recipient.pem"	# the RA

# run WANT_EXIT CMD...: CMD exits with WANT_EXIT (output in $WORK/run.out).
run() {
	want=$1
	shift
	rc=0
	"$@" >"$WORK/run.out" 2>&1 || rc=$?
	cat "$WORK/run.out"
	[ "$rc" = "$want" ] || { echo "exit $rc, want $want"; return 1; }
}

K1=$(key)
$T enroll -u "$URL" --ca "$WORK/recipient.pem" -k "$K1" --subject "/O=scepd test/CN=appr-1" \
    --challenge "$SECRET" --save-request "$WORK/appr1.der" --no-send >/dev/null 2>&1
TID1=$(tid_of "$K1")

check "manual profile: PKCSReq -> PENDING, no certificate" sh -c "
	$T post -u '$URL' --file '$WORK/appr1.der' --ca '$WORK/recipient.pem' -k '$K1' \
	    >'$WORK/p1.out' 2>&1; rc=\$?; cat '$WORK/p1.out'; [ \$rc = 3 ] &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates
	    WHERE subject = 'CN=appr-1,O=scepd test'\") = 0 ]"
check "the auto profile still issues at once" sh -c "
	$T enroll -u '$AUTO' --ca '$WORK/recipient.pem' -k '$(key)' --subject /CN=appr-auto \
	    --challenge '$SECRET' -o '$WORK/auto.pem'"
# not_held PATTERN: scepctl pending list works and lists nothing matching.
not_held() {
	ctl pending list >"$WORK/pl.out" 2>&1 || { cat "$WORK/pl.out"; return 1; }
	! grep -q -- "$1" "$WORK/pl.out" || { cat "$WORK/pl.out"; return 1; }
}
check "wrong challenge on the manual profile: FAILURE badRequest, nothing held" sh -c "
	$T enroll -u '$URL' --ca '$WORK/recipient.pem' -k '$(key)' --subject /CN=appr-badchal \
	    --challenge wrong >'$WORK/bc.out' 2>&1; rc=\$?; cat '$WORK/bc.out'
	[ \$rc = 2 ] && grep -q failInfo=badRequest '$WORK/bc.out'"
check "the refused request is not held" not_held appr-badchal

listed() {
	ctl pending list >"$WORK/list.out" || return 1
	cat "$WORK/list.out"
	grep "^$1 " "$WORK/list.out" | grep -q "manual .*pending .*CN=appr-1,O=scepd test"
}
check "scepctl pending list shows it (profile, state, subject)" listed "$TID1"
check "CertPoll while undecided -> PENDING" \
    run 3 $T poll -u "$URL" --ca "$WORK/recipient.pem" -k "$K1" --subject "/O=scepd test/CN=appr-1"
check "retransmitted PKCSReq while undecided -> PENDING, one held row" sh -c "
	$T post -u '$URL' --file '$WORK/appr1.der' --ca '$WORK/recipient.pem' -k '$K1' >/dev/null 2>&1
	[ \$? = 3 ] && [ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.transactions
	    WHERE transaction_id = '$TID1'\") = 1 ]"
check "CertPoll of this transaction signed by another key -> FAILURE badRequest" sh -c "
	$T poll -u '$URL' --ca '$WORK/recipient.pem' -k '$(key)' --subject /CN=appr-1 \
	    --transid '$TID1' >'$WORK/ok.out' 2>&1; rc=\$?; cat '$WORK/ok.out'
	[ \$rc = 2 ] && grep -q failInfo=badRequest '$WORK/ok.out'"
check "CertPoll of an unknown transaction -> FAILURE badCertId" sh -c "
	$T poll -u '$URL' --ca '$WORK/recipient.pem' -k '$(key)' --subject /CN=nobody \
	    >'$WORK/unk.out' 2>&1; rc=\$?; cat '$WORK/unk.out'
	[ \$rc = 2 ] && grep -q failInfo=badCertId '$WORK/unk.out'"

restart() {
	stop_scepd $PORT
	start_scepd "$D/scepd.conf" $PORT
}
check "restart scepd (held requests are in PostgreSQL)" restart
check "after the restart: still PENDING" \
    run 3 $T poll -u "$URL" --ca "$WORK/recipient.pem" -k "$K1" --subject "/O=scepd test/CN=appr-1"
check "scepctl pending approve of an unknown transactionID fails" \
    fails_with 1 "no request with transactionID NO-SUCH-TX waits for approval" \
    "$CTL" -c "$D/scepd.conf" pending approve NO-SUCH-TX
check "scepctl pending approve" sh -c "
	'$CTL' -c '$D/scepd.conf' pending approve '$TID1' | grep -q 'approved 1 request'"
check "approval audited as scepctl:<user>" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit
	    WHERE action = 'approve' AND actor LIKE 'scepctl:%' AND object = '$TID1'\") = 1 ]"

# Two polls at once after approval: one certificate.
poll_race() {
	pids=""
	for j in 1 2 3 4; do
		$T poll -u "$URL" --ca "$WORK/recipient.pem" -k "$K1" \
		    --subject "/O=scepd test/CN=appr-1" -o "$WORK/appr1-$j.pem" \
		    >"$WORK/poll$j.out" 2>&1 &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || { cat "$WORK"/poll*.out; return 1; }; done
	[ "$(cat "$WORK"/appr1-*.pem | sort -u | grep -c BEGIN)" = 1 ] || return 1
	[ "$(certs "WHERE subject = 'CN=appr-1,O=scepd test'")" = 1 ]
}
check "approved: 4 concurrent CertPolls -> SUCCESS, one certificate" poll_race
check "the certificate verifies (chain, key, subject)" \
    verify_cert "$WORK/appr1-1.pem" "$D/ca.pem" "$K1" "CN=appr-1,O=scepd test"
check "issued: no longer listed as pending" not_held "^$TID1 "
check "retransmitted PKCSReq after issue -> the same certificate" sh -c "
	$T post -u '$URL' --file '$WORK/appr1.der' --ca '$WORK/recipient.pem' -k '$K1' \
	    -o '$WORK/appr1-retx.pem' && cmp '$WORK/appr1-retx.pem' '$WORK/appr1-1.pem'"
# certmonger resubmits an approved request with a fresh CSR (same key and
# subject): after the issue it gets that certificate, never a second one.
check "approved and issued: a new CSR of the same key and subject -> the same certificate" sh -c "
	$T enroll -u '$URL' --ca '$WORK/recipient.pem' -k '$K1' --subject '/O=scepd test/CN=appr-1' \
	    --challenge '$SECRET' --san DNS:twin.example -o '$WORK/appr1-twin.pem' &&
	cmp '$WORK/appr1-twin.pem' '$WORK/appr1-1.pem' &&
	grep -q 'approved twin issued serial' '$WORK/scepd-$PORT.log' &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates
	    WHERE subject = 'CN=appr-1,O=scepd test'\") = 1 ]"
check "a later CertPoll -> the same certificate" sh -c "
	$T poll -u '$URL' --ca '$WORK/recipient.pem' -k '$K1' --subject /CN=x \
	    -o '$WORK/appr1-late.pem' && cmp '$WORK/appr1-late.pem' '$WORK/appr1-1.pem'"

# --- reject ---------------------------------------------------------------------

K2=$(key)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K2" 2>/dev/null
TID2=$(tid_of "$K2")
check "second request -> PENDING" run 3 $T enroll -u "$URL" --ca "$WORK/recipient.pem" \
    -k "$K2" --subject /CN=appr-2 --challenge "$SECRET"
check "scepctl pending reject --reason" sh -c "
	'$CTL' -c '$D/scepd.conf' pending reject '$TID2' --reason 'not our device' |
	    grep -q 'rejected 1 request'"
check "rejected: CertPoll -> FAILURE badRequest, no certificate" sh -c "
	$T poll -u '$URL' --ca '$WORK/recipient.pem' -k '$K2' --subject /CN=appr-2 \
	    >'$WORK/rej.out' 2>&1; rc=\$?; cat '$WORK/rej.out'
	[ \$rc = 2 ] && grep -q failInfo=badRequest '$WORK/rej.out' &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates
	    WHERE subject = 'CN=appr-2'\") = 0 ]"
check "rejection recorded with its reason and audited" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.transactions
	    WHERE transaction_id = '$TID2' AND state = 'failure' AND fail_info = 2
	    AND approval = 'rejected' AND reason = 'not our device'\") = 1 ] &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit
	    WHERE action = 'reject' AND object = '$TID2'\") = 1 ]"
check "scepctl pending approve after the rejection finds nothing" \
    fails_with 1 "no request with transactionID $TID2 waits for approval" \
    "$CTL" -c "$D/scepd.conf" pending approve "$TID2"

# --- strongSwan pki --scep polling ------------------------------------------------

SW=$WORK/sw
mkdir -p "$SW"
# approve_when SUBJECT [polled]: wait (bounded) until SUBJECT is held and,
# with "polled", until its client has polled once and been told PENDING;
# then approve it.
approve_when() {
	j=0
	while [ $j -lt 600 ]; do
		t=$(ctl pending list 2>/dev/null | grep "$1" | awk '{print $1}' | head -n 1)
		if [ -n "$t" ] && { [ "${2:-}" != polled ] ||
		    grep -q "CertPoll $t: waiting for approval -> PENDING" "$WORK/scepd-$PORT.log"; }; then
			ctl pending approve "$t" && return 0
		fi
		sleep 0.1
		j=$((j + 1))
	done
	echo "no pending request for $1${2:+ that was polled}"
	return 1
}

sw_poll() {
	timeout 30 pki --scepca --url "$URL" --caout "$SW/ca.der" --raout "$SW/ra.der" \
	    --force >/dev/null 2>&1 || { echo "pki --scepca failed"; return 1; }
	pki --gen --type rsa --size 2048 --outform pem >"$SW/sw.key" || return 1
	approve_when 'CN=sw-manual' polled >"$SW/approve.out" 2>&1 &
	bg_pid=$!
	timeout 90 pki --scep --url "$URL" --in "$SW/sw.key" --dn "CN=sw-manual" \
	    --password "$SECRET" --cacert-enc "$SW/ra.der" --cacert-sig "$SW/ra.der" \
	    --cacert "$SW/ca.der" --interval 1 --maxpolltime 60 --outform pem \
	    >"$SW/sw.pem" 2>"$SW/pki.err"
	rc=$?
	wait "$bg_pid"
	arc=$?
	bg_pid=""
	cat "$SW/approve.out"
	[ $rc = 0 ] || { tail -n 20 "$SW/pki.err"; echo "pki exit $rc"; return 1; }
	[ $arc = 0 ] || return 1
	grep -Eq "CertPoll [0-9A-Fa-f]+: waiting for approval -> PENDING" "$WORK/scepd-$PORT.log" ||
	    { echo "strongSwan never polled"; return 1; }
	verify_cert "$SW/sw.pem" "$D/ca.pem" "$SW/sw.key" "CN=sw-manual" || return 1
	[ "$(certs "WHERE subject = 'CN=sw-manual'")" = 1 ]
}
check "strongSwan pki --scep polls after PENDING and gets the approved certificate" sw_poll

# --- certmonger ---------------------------------------------------------------------

cm_setup "$WORK/cm"


# cm_manual: certmonger reads the PENDING CertRep (its content is present
# and empty, so PKCS7_verify() accepts it): the request stays CA_WORKING
# with scepd's answer saved as its cookie, to be asked again later (with
# a detached SignedData it was CA_UNREACHABLE).  certmonger 0.79 asks
# again only after hours; `getcert resubmit` asks now, with a fresh
# PKCSReq of the same key and subject that counts as the approved one.
cm_manual() {
	cm_add_ca scepd-manual "$URL" || return 1
	timeout 30 getcert request -s -c scepd-manual -I cm-manual -k "$CM/cm.key" \
	    -f "$CM/cm.pem" -L "$SECRET" -N "CN=cm-manual" || return 1
	j=0
	while [ $j -lt 300 ]; do
		st=$(cm_status cm-manual)
		[ "$st" = CA_WORKING ] && break
		sleep 0.1
		j=$((j + 1))
	done
	[ "$st" = CA_WORKING ] || { echo "after PENDING: status \"$st\", want CA_WORKING"; return 1; }
	grep -q 'Saved cookie' "$CM/certmonger.log" ||
	    { echo "certmonger kept no cookie to poll with"; return 1; }
	grep -Eq 'PKCSReq [0-9]{30,}: waiting for approval -> PENDING' "$WORK/scepd-$PORT.log" ||
	    { echo "scepd logged no PENDING for certmonger"; return 1; }
	approve_when 'CN=cm-manual' || return 1
	timeout 20 getcert resubmit -s -i cm-manual >/dev/null || return 1
	st=$(cm_wait cm-manual)
	[ "$st" = MONITORING ] || { echo "status \"$st\""; timeout 20 getcert list -s -i cm-manual; return 1; }
	verify_cert "$CM/cm.pem" "$D/ca.pem" "$CM/cm.key" "CN=cm-manual" || return 1
	[ "$(certs "WHERE subject = 'CN=cm-manual'")" = 1 ]
}
if check "certmonger daemon on a private session bus" cm_start; then
	check "certmonger: PENDING read (CA_WORKING, cookie kept), approved, reaches MONITORING, one certificate" cm_manual
fi
cm_stop

check "no success without its certificate; one audit row per certificate" sh -c "
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.transactions t
	    LEFT JOIN scepd.certificates c ON c.serial = t.cert_serial
	    WHERE t.state = 'success' AND c.serial IS NULL\") = 0 ] &&
	[ \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.certificates\") = \
	  \$(psql -X -qAt '$(conninfo $DB)' -c \"SELECT count(*) FROM scepd.audit WHERE action = 'issue'\") ]"
check "scepd exits cleanly on SIGTERM" stop_scepd $PORT
summary
