/*
 * The signer's side of a remote key (pkcs7/remote_key.c): one private
 * operation, on a digest or on an RSA key block, never on anything a
 * client wrote in clear.  What it accepts is narrow on purpose: the
 * digests scepd signs with, PKCS #1 v1.5 for RSA, and sizes checked
 * before the key is touched.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "pkcs7/pkcs7.h"

/* SHA-1 and MD5 stay for CertReps to old clients that asked for them. */
static const EVP_MD *
allowed_md(int nid)
{
	switch (nid) {
	case NID_md5:
	case NID_sha1:
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return EVP_get_digestbynid(nid);
	}
	return NULL;
}

static int
sign(EVP_PKEY_CTX *ctx, EVP_PKEY *key, struct p7_remote_call *c)
{
	const EVP_MD	*md;
	size_t		 len = c->out_cap;

	if ((md = allowed_md(c->md_nid)) == NULL ||
	    c->in_len != (size_t)EVP_MD_get_size(md) ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    (EVP_PKEY_is_a(key, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    EVP_PKEY_sign(ctx, c->out, &len, c->in, c->in_len) != 1)
		return -1;
	c->out_len = len;
	return 0;
}

static int
decrypt(EVP_PKEY_CTX *ctx, EVP_PKEY *key, struct p7_remote_call *c)
{
	size_t	len = c->out_cap;

	if (!EVP_PKEY_is_a(key, "RSA") ||
	    c->in_len != (size_t)EVP_PKEY_get_size(key) ||
	    EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_decrypt(ctx, c->out, &len, c->in, c->in_len) != 1)
		return -1;
	c->out_len = len;
	return 0;
}

int
p7_remote_perform(EVP_PKEY *key, struct p7_remote_call *c)
{
	EVP_PKEY_CTX	*ctx;
	int		 rc = -1;

	c->out_len = 0;
	if (c->out == NULL || c->out_cap < (size_t)EVP_PKEY_get_size(key) ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL)
		return -1;
	if (c->op == P7_REMOTE_SIGN)
		rc = sign(ctx, key, c);
	else if (c->op == P7_REMOTE_DECRYPT)
		rc = decrypt(ctx, key, c);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}
