#!/bin/sh
# make fuzz: build each libFuzzer target in test/fuzz/ with clang, ASan and
# UBSan, and run it for FUZZ_SECONDS (default 60) from its seeds.
# Seeds: the real client vectors in test/data/vectors/ for the pkiMessage
# targets, GET query strings made from them for fuzz_query.
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
out=build/fuzz
mkdir -p "$out"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -DOPENSSL_API_COMPAT=30000 -D_DEFAULT_SOURCE"
libs="-lcrypto -lpthread"

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
	printf 'operation=GetCACert&message=CAIdentifier&x=1' >"$out/corpus/fuzz_query/getca"
}

seed_vectors() {
	mkdir -p "$out/corpus/$1"
	cp test/data/vectors/*.der "$out/corpus/$1/"
}

run() {
	echo "fuzz: running $1 for ${seconds}s"
	if ! "$out/$1" -max_total_time="$seconds" -max_len=65536 -timeout=5 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
	    "$out/corpus/$1" >"$out/$1.log" 2>&1; then
		tail -n 40 "$out/$1.log"
		echo "fuzz: $1 found a crash (reproduce: $out/$1 $out/crash-*)"
		exit 1
	fi
	grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$out/$1.log" |
	    sed 's/^/  /'
}

build fuzz_query server/query.c
seed_query
if [ -f test/fuzz/fuzz_pkimessage.c ]; then
	build fuzz_pkimessage pkcs7/*.c
	seed_vectors fuzz_pkimessage
fi
run fuzz_query
[ -x "$out/fuzz_pkimessage" ] && run fuzz_pkimessage
echo "fuzz: no findings"
