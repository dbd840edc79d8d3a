/*
 * libFuzzer target: a PKIOperation body through p7_req_parse() with the
 * test-vector CA (CA mode), then the CertRep the server would send:
 * FAILURE for a refused request, SUCCESS (the signer certificate standing
 * in for the issued one) for an accepted one.  Seeds: the vectors.
 *
 * The CA comes from $SCEPD_FUZZ_CA (a directory holding ca.pem and
 * ca.key) or test/data/vectors.
 *
 * Build (scripts/fuzz.sh): clang -g -O1 -fsanitize=fuzzer,address,undefined
 * -I. test/fuzz/fuzz_pkimessage.c with every .c file of pkcs7/, -lcrypto.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
		fprintf(stderr, "fuzz_pkimessage: %s\n", err);
		abort();
	}
	/* Single DES and MD5 paths too. */
	(void)p7_enable_legacy();
	return ca;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct p7_ca	*ca;
	static const struct p7_algs allowed = {
		(1u << P7_CIPHER_COUNT) - 1, (1u << P7_MD_COUNT) - 1
	};
	struct p7_req		*req = NULL;
	unsigned char		*rep = NULL, hash[32];
	char			 err[128], chal[256];
	size_t			 replen;
	enum p7_status		 st;

	if (ca == NULL)
		ca = load_ca();
	st = p7_req_parse(ca, data, size, &allowed, &req, err, sizeof(err));
	if ((st == P7_OK || st == P7_FAILED) != (req != NULL))
		abort();
	if (req != NULL) {
		(void)p7_req_message_type(req);
		(void)p7_req_get0_transaction_id(req);
		(void)p7_req_challenge(req, chal, sizeof(chal));
		OPENSSL_cleanse(chal, sizeof(chal));
		p7_req_signer_key_sha256(req, hash);
		p7_req_csr_sha256(req, hash);
		if (st == P7_FAILED) {
			if (p7_certrep(ca, req, P7_PKI_FAILURE,
			    p7_req_fail_info(req), NULL, &rep, &replen) != 0)
				abort();
		} else {
			if (p7_certrep(ca, req, P7_PKI_SUCCESS, 0,
			    p7_req_get0_signer(req), &rep, &replen) != 0)
				abort();
		}
		OPENSSL_free(rep);
	}
	p7_req_free(req);
	ERR_clear_error();
	return 0;
}
