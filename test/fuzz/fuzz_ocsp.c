/*
 * libFuzzer target: an OCSP request body (what POST /ocsp receives, or
 * GET /ocsp/<base64> decodes to) through p7_ocsp_request_parse() with the
 * test-vector CA, then the response the server would send: unknown for
 * every CertID, or malformedRequest when parsing fails.  Properties: a
 * parsed request has 1 to P7_OCSP_MAX_CERTIDS CertIDs, a CertID that is
 * ours has a serial in db/'s form, and signing never fails.
 *
 * The CA comes from $SCEPD_FUZZ_CA (a directory holding ca.pem and
 * ca.key) or test/data/vectors.
 *
 * Build (scripts/fuzz.sh): clang -g -O1 -fsanitize=fuzzer,address,undefined
 * -I. test/fuzz/fuzz_ocsp.c with every .c file of pkcs7/, -lcrypto.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "pkcs7/pkcs7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct p7_ca *
load_ca(void)
{
	struct p7_ca_files	 f = { 0 };
	struct p7_ca		*ca;
	const char		*dir;
	char			 cert[1024], key[1024], err[256];

	if ((dir = getenv("SCEPD_FUZZ_CA")) == NULL)
		dir = "test/data/vectors";
	snprintf(cert, sizeof(cert), "%s/ca.pem", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	f.ca_cert = cert;
	f.ca_key = key;
	if ((ca = p7_ca_load(&f, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_ocsp: %s\n", err);
		abort();
	}
	return ca;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct p7_ca	*ca;
	struct p7_ocsp_status	 st[P7_OCSP_MAX_CERTIDS];
	struct p7_ocsp_req	*req = NULL;
	const unsigned char	*nonce;
	const char		*serial;
	unsigned char		*rep = NULL;
	char			 err[128];
	size_t			 i, n, replen, nlen;
	time_t			 now;

	if (ca == NULL)
		ca = load_ca();
	if (p7_ocsp_request_parse(ca, data, size, &req, err,
	    sizeof(err)) != 0) {
		if (req != NULL || p7_ocsp_error(P7_OCSP_MALFORMED_REQUEST,
		    &rep, &replen) != 0)
			abort();
		goto out;
	}
	n = p7_ocsp_req_count(req);
	if (n < 1 || n > P7_OCSP_MAX_CERTIDS)
		abort();
	nonce = p7_ocsp_req_get0_nonce(req, &nlen);
	if (nonce != NULL && (nlen == 0 || nlen > 34))
		abort();
	now = time(NULL);
	memset(st, 0, sizeof(st));
	for (i = 0; i < n; i++) {
		serial = p7_ocsp_req_serial(req, i);
		if (p7_ocsp_req_ours(req, i) && (serial == NULL ||
		    serial[0] == '\0' || strlen(serial) > 40 ||
		    strspn(serial, "0123456789ABCDEF") != strlen(serial) ||
		    (serial[0] == '0' && serial[1] != '\0')))
			abort();
		st[i].status = P7_OCSP_UNKNOWN;
		st[i].this_update = now;
		st[i].next_update = now + 3600;
	}
	if (p7_ocsp_respond(ca, req, st, NULL, &rep, &replen, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "p7_ocsp_respond: %s\n", err);
		abort();
	}
out:
	OPENSSL_free(rep);
	p7_ocsp_req_free(req);
	ERR_clear_error();
	return 0;
}
