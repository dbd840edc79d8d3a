/*
 * libFuzzer target: a message on a connection to the signer, through
 * what the signer does with it (server/signer/request.c): the header
 * check, the purpose check, and for what passes the key operation with
 * an RSA-2048 or P-256 key (the first byte of key_id picks one), as
 * pkcs7/remote_perform.c performs it.  Properties: a request the check
 * passes has exactly its stated length; an answer fits the response
 * and, for a signature, verifies with the key over the digest sent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "pkcs7/pkcs7.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY	*keys[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((keys[0] = EVP_RSA_gen(2048)) == NULL ||
	    (keys[1] = EVP_EC_gen("P-256")) == NULL)
		abort();
	return 0;
}

/* The signature in rs over rq's digest verifies with key. */
static void
check_signature(EVP_PKEY *key, const struct wire_req *rq,
    const struct wire_resp *rs)
{
	EVP_PKEY_CTX	*ctx;
	const EVP_MD	*md = EVP_get_digestbynid(rq->md_nid);

	if (md == NULL || (ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		abort();
	if (EVP_PKEY_verify_init(ctx) != 1 ||
	    (EVP_PKEY_is_a(key, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    EVP_PKEY_verify(ctx, rs->data, rs->len, rq->data, rq->len) != 1)
		abort();
	EVP_PKEY_CTX_free(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wire_req	rq;
	static struct wire_resp	rs;
	EVP_PKEY		*key;

	/* As recv() with MSG_TRUNC: at most sizeof(rq) read, size seen. */
	memset(&rq, 0, sizeof(rq));
	memcpy(&rq, data, size < sizeof(rq) ? size : sizeof(rq));
	if (wire_req_malformed(&rq, size))
		return 0;
	if (size != WIRE_REQ_HEAD + rq.len || rq.len > WIRE_MAX_DATA)
		abort();
	if (rq.op == WIRE_OP_STATS || !wire_req_purpose_fits(&rq))
		return 0;
	key = keys[rq.key_id[0] & 1];
	memset(&rs, 0, sizeof(rs));
	if (wire_perform(key, &rq, &rs) != 0)
		return 0;
	if (rs.len > sizeof(rs.data))
		abort();
	if (rq.op == P7_REMOTE_SIGN)
		check_signature(key, &rq, &rs);
	return 0;
}
