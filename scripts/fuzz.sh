#!/bin/sh
# make fuzz: build each libFuzzer target in test/fuzz/ with clang, ASan and
# UBSan, and run it for FUZZ_SECONDS (default 60) from its seeds.
# Seeds: the real client vectors in test/data/vectors/ for the pkiMessage
# targets, GET query strings made from them for fuzz_query, configuration
# files and captured CertReps under test/fuzz/seeds/.
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
out=build/fuzz
mkdir -p "$out"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -DOPENSSL_API_COMPAT=30000 -D_DEFAULT_SOURCE $(pkg-config --cflags p11-kit-1)"
libs="-lp11 -lcrypto -lpthread"

build() {
	target=$1
	shift
	echo "fuzz: building $target"
	# shellcheck disable=SC2086
	clang $flags -o "$out/$target" "test/fuzz/$target.c" "$@" $libs
}

seed_query() {
	mkdir -p "$out/corpus/fuzz_query"
	for f in test/data/vectors/*.der; do
		printf 'operation=PKIOperation&message=%s' \
		    "$(base64 -w 64 "$f" | sed 's/+/%2B/g; s/=/%3D/g' | tr '\n' ' ' | sed 's/ /%0A/g')" \
		    >"$out/corpus/fuzz_query/$(basename "$f" .der)"
	done
	# micromdm scepclient: base64url, no escaping needed.
	for f in test/data/vectors/scepclient-*.der; do
		printf 'operation=PKIOperation&message=%s' \
		    "$(base64 -w 0 "$f" | tr '+/' '-_')" \
		    >"$out/corpus/fuzz_query/$(basename "$f" .der)-base64url"
	done
	printf 'operation=GetCACert&message=CAIdentifier&x=1' >"$out/corpus/fuzz_query/getca"
}

seed_vectors() {
	mkdir -p "$out/corpus/$1"
	cp test/data/vectors/*.der "$out/corpus/$1/"
}


build fuzz_query server/query.c
seed_query
build fuzz_pkimessage pkcs7/*.c
seed_vectors fuzz_pkimessage
build fuzz_ocsp pkcs7/*.c
mkdir -p "$out/corpus/fuzz_ocsp"
v=test/data/vectors/ca.pem
openssl ocsp -issuer $v -serial 0x11 -no_nonce -reqout "$out/corpus/fuzz_ocsp/sha1" >/dev/null
openssl ocsp -issuer $v -serial 0x11 -reqout "$out/corpus/fuzz_ocsp/sha1-nonce" >/dev/null
openssl ocsp -sha256 -issuer $v -serial 0x0A -serial 0xABCDEF \
    -reqout "$out/corpus/fuzz_ocsp/sha256-two" >/dev/null

build fuzz_api server/api/api_parse.c -ljansson
mkdir -p "$out/corpus/fuzz_api"
printf '{"device_id":"d","subject":"/CN=d","sans":["DNS:a"],"ttl_minutes":5}' \
    >"$out/corpus/fuzz_api/mint"
printf 'Basic bWRtLTE6c2NlcGRfeA==' >"$out/corpus/fuzz_api/basic"
printf 'Bearer scepd_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN-_0' \
    >"$out/corpus/fuzz_api/bearer"

build fuzz_webhook_reply server/outbound/webhook_json.c policy/profile.c -ljansson
mkdir -p "$out/corpus/fuzz_webhook_reply"
printf '{"allow":true,"device_id":"d","sid":"S-1-5-21-1-2","vars":{"a":"b"}}' \
    >"$out/corpus/fuzz_webhook_reply/allow"
printf '{"allow":false,"reason":"no"}' >"$out/corpus/fuzz_webhook_reply/deny"

build fuzz_intune_json server/outbound/intune_json.c -ljansson
mkdir -p "$out/corpus/fuzz_intune_json"
printf '{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0.e30.x"}' \
    >"$out/corpus/fuzz_intune_json/token"
printf '{"error":"invalid_client","error_description":"AADSTS7000215: bad\\r\\nTrace"}' \
    >"$out/corpus/fuzz_intune_json/token-error"
printf '{"value":[{"providerName":"ScepRequestValidationFEService","uri":"https://h/S"},{"providerName":"PkiConnectorFEService","uri":"https://h/P"}]}' \
    >"$out/corpus/fuzz_intune_json/discovery"
printf '{"code":"ChallengeExpired","errorDescription":"expired"}' \
    >"$out/corpus/fuzz_intune_json/code"
printf '{"value":[{"requestContext":"c1","serialNumber":"0A","issuerName":"CN=CA","caConfiguration":"x"}]}' \
    >"$out/corpus/fuzz_intune_json/revocations"
printf '{"value":true}' >"$out/corpus/fuzz_intune_json/uploaded"

# CSRs straight into the template engine: every SAN type, CA extensions,
# an EC key, one request the fuzz profile accepts.
seed_csr_policy() {
	d=$1
	mkdir -p "$d"
	printf '[req]\ndistinguished_name=dn\nprompt=no\nreq_extensions=ext\n[dn]\nCN=host1\n[ext]\nsubjectAltName=@alt\nbasicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n[alt]\nDNS.1=host1.corp.example\nDNS.2=*.corp.example\nemail.1=u@corp.example\nURI.1=tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001\notherName.1=1.3.6.1.4.1.311.20.2.3;UTF8:u@corp.example\nIP.1=10.1.2.3\nRID.1=1.2.3.4\n' >"$d.cnf"
	openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -config "$d.cnf" \
	    -outform DER -out "$d/sans.der" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout /dev/null -subj /CN=ec -outform DER -out "$d/ec.der" 2>/dev/null
	openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj /CN=host1 \
	    -addext "subjectAltName=DNS:host1.corp.example,URI:urn:device:x" \
	    -outform DER -out "$d/ok.der" 2>/dev/null
	rm -f "$d.cnf"
}
build fuzz_csr_policy policy/*.c
seed_csr_policy "$out/corpus/fuzz_csr_policy"

# The configuration parser: etc/scepd.conf and what the integration tests
# write (test/fuzz/seeds/config/).
build fuzz_config server/conf.c server/log.c policy/*.c pkcs7/algs.c \
    pkcs7/key_load.c -lconfig
mkdir -p "$out/corpus/fuzz_config"
cp etc/scepd.conf "$out/corpus/fuzz_config/etc-scepd.conf"
cp test/fuzz/seeds/config/* "$out/corpus/fuzz_config/"

# The test client's CertRep checks (test/sceptool.c): a SUCCESS, a FAILURE
# and a PENDING captured from scepd (test/fuzz/seeds/certrep/).
build fuzz_certrep -lssl
mkdir -p "$out/corpus/fuzz_certrep"
cp test/fuzz/seeds/certrep/*.der "$out/corpus/fuzz_certrep/"

# What reaches the signer (server/signer/request.c), with keys made at
# start: a request to sign a SHA-256 digest with each key, one to
# decrypt, one for the counts.
build fuzz_signer server/signer/request.c server/log.c pkcs7/*.c
mkdir -p "$out/corpus/fuzz_signer"
python3 - "$out/corpus/fuzz_signer" <<'SEEDS'
import os, struct, sys
d = sys.argv[1]
def req(op, purpose, md_nid, key0, data):
	head = struct.pack("=IBB2xi", 0x53435031, op, purpose, md_nid)
	return head + bytes([key0]) + bytes(31) + struct.pack("=I", len(data)) + data
for name, r in (("sign-rsa", req(1, 1, 672, 0, bytes(range(32)))),
    ("sign-ec", req(1, 2, 672, 1, bytes(range(32)))),
    ("decrypt", req(2, 5, 0, 0, bytes(256))),
    ("stats", req(16, 0, 0, 0, b""))):
	open(os.path.join(d, name), "wb").write(r)
SEEDS

# Each target for $seconds, FUZZ_JOBS (default 2, the machine's cores) at
# a time; a crash ends the run with its reproducer named.
targets="fuzz_query fuzz_pkimessage fuzz_csr_policy fuzz_webhook_reply
fuzz_intune_json fuzz_ocsp fuzz_api fuzz_config fuzz_certrep fuzz_signer"
jobs=${FUZZ_JOBS:-2}
echo "fuzz: running $(echo $targets | wc -w) targets for ${seconds}s each, $jobs at a time"
# shellcheck disable=SC2086
if ! printf '%s\n' $targets | xargs -P "$jobs" -I{} sh -c '
	t=$1 out=$2 seconds=$3
	if LSAN_OPTIONS=suppressions=$PWD/test/fuzz/lsan.supp:print_suppressions=0 \
	    "$out/$t" -max_total_time="$seconds" -max_len=65536 -timeout=5 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
	    "$out/corpus/$t" >"$out/$t.log" 2>&1; then
		echo "fuzz: $t: $(sed -n "s/^stat::number_of_executed_units: *//p" "$out/$t.log") executions in ${seconds}s, peak RSS $(sed -n "s/^stat::peak_rss_mb: *//p" "$out/$t.log") MB"
	else
		tail -n 40 "$out/$t.log"
		echo "fuzz: $t found a crash (reproduce: $out/$t $out/crash-*)"
		exit 1
	fi' sh {} "$out" "$seconds"; then
	exit 1
fi
echo "fuzz: no findings"
