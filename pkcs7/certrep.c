/*
 * Encoding a CertRep (RFC 8894 3.3.2): a SignedData by the RA (or the CA
 * in CA mode) whose content is, for SUCCESS, a pkcsPKIEnvelope of a
 * degenerate certs-only SignedData, and is empty for FAILURE and PENDING.
 *
 * Built with the PKCS7 API, not streaming (CVE-2023-0215): its SignerInfo
 * carries digestEncryptionAlgorithm rsaEncryption, which strongSwan
 * requires (test/integration/interop.sh).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "pkcs7/local.h"

/*
 * A pkcsPKIEnvelope of a SUCCESS: inner (a certs-only SignedData)
 * encrypted to the request's signer certificate (RFC 8894 2.3, 3.3.2.1)
 * with the request's cipher if it was allowed.
 */
static int
envelope(const struct p7_req *req, const unsigned char *inner,
    size_t inner_len, unsigned char **der, int *len)
{
	STACK_OF(X509)		*rcpts = NULL;	/* borrows its certificates */
	BIO			*in = NULL;	/* owned */
	PKCS7			*env = NULL;	/* owned */
	const EVP_CIPHER	*cipher = NULL;
	int			 rc = -1;

	if (req->cipher_allowed)
		cipher = p7_cipher_evp(req->cipher);
	if (cipher == NULL && (cipher = p7_cipher_evp(P7_CIPHER_AES128)) ==
	    NULL)
		goto out;
	if ((rcpts = sk_X509_new_null()) == NULL ||
	    sk_X509_push(rcpts, req->signer) <= 0)
		goto out;
	if ((in = BIO_new_mem_buf(inner, (int)inner_len)) == NULL)
		goto out;
	if ((env = PKCS7_encrypt(rcpts, in, cipher, PKCS7_BINARY)) == NULL)
		goto out;
	*der = NULL;
	if ((*len = i2d_PKCS7(env, der)) <= 0)
		goto out;
	rc = 0;
out:
	PKCS7_free(env);
	BIO_free(in);
	sk_X509_free(rcpts);
	return rc;
}

/* The pkcsPKIEnvelope of a PKCSReq SUCCESS: issued, first and only. */
static int
success_envelope(const struct p7_req *req, X509 *issued, unsigned char **der,
    int *len)
{
	STACK_OF(X509)		*certs = NULL;	/* borrows its certificates */
	unsigned char		*inner = NULL;	/* owned */
	size_t			 inner_len;
	int			 rc = -1;

	if ((certs = sk_X509_new_null()) == NULL ||
	    sk_X509_push(certs, issued) <= 0)
		goto out;
	if (p7_certs_only(certs, &inner, &inner_len) == -1)
		goto out;
	rc = envelope(req, inner, inner_len, der, len);
out:
	OPENSSL_free(inner);
	sk_X509_free(certs);
	return rc;
}

static int
add_string(PKCS7_SIGNER_INFO *si, int nid, int type, const void *data,
    int len)
{
	return X509at_add1_attr_by_NID(&si->auth_attr, nid, type, data,
	    len) != NULL ? 0 : -1;
}

/* RFC 8894 3.2.1: the SCEP attributes, strings as PrintableString. */
static int
add_scep_attrs(PKCS7_SIGNER_INFO *si, const struct p7_req *req,
    enum p7_pki_status status, enum p7_fail_info fi)
{
	const struct p7_nids	*nids;
	unsigned char		 nonce[P7_NONCE_LEN];
	char			 buf[16];

	if ((nids = p7_nids()) == NULL)
		return -1;
	if (add_string(si, nids->message_type, V_ASN1_PRINTABLESTRING,
	    "3", 1) == -1)
		return -1;
	snprintf(buf, sizeof(buf), "%d", (int)status);
	if (add_string(si, nids->pki_status, V_ASN1_PRINTABLESTRING,
	    buf, (int)strlen(buf)) == -1)
		return -1;
	if (status == P7_PKI_FAILURE) {
		snprintf(buf, sizeof(buf), "%d", (int)fi);
		if (add_string(si, nids->fail_info, V_ASN1_PRINTABLESTRING,
		    buf, (int)strlen(buf)) == -1)
			return -1;
	}
	if (add_string(si, nids->transaction_id, V_ASN1_PRINTABLESTRING,
	    req->transaction_id, (int)strlen(req->transaction_id)) == -1)
		return -1;
	if (add_string(si, nids->recipient_nonce, V_ASN1_OCTET_STRING,
	    req->sender_nonce, P7_NONCE_LEN) == -1)
		return -1;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -1;
	if (add_string(si, nids->sender_nonce, V_ASN1_OCTET_STRING,
	    nonce, P7_NONCE_LEN) == -1)
		return -1;
	return 0;
}

/* The signed CertRep around env (NULL: empty content, FAILURE/PENDING). */
static int
certrep_sign(const struct p7_ca *ca, const struct p7_req *req,
    enum p7_pki_status status, enum p7_fail_info fi,
    const unsigned char *env, int env_len, unsigned char **der, size_t *len)
{
	PKCS7			*p7 = NULL;	/* owned */
	BIO			*data = NULL;	/* owned */
	unsigned char		*out = NULL;	/* owned until moved to *der */
	PKCS7_SIGNER_INFO	*si;		/* borrowed from p7 */
	X509			*cert = P7_CA_RECIPIENT(ca);
	EVP_PKEY		*key = P7_CA_RECIPIENT_KEY(ca);
	const EVP_MD		*md = NULL;
	int			 n, rc = -1;

	/* Never answer with an algorithm the policy refused. */
	if (req->digest_allowed)
		md = p7_digest_md(req->digest);
	if (md == NULL && (md = p7_digest_md(P7_MD_SHA256)) == NULL)
		goto out;

	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto out;
	if ((si = PKCS7_add_signature(p7, cert, key, md)) == NULL)
		goto out;
	if (PKCS7_add_certificate(p7, cert) != 1)
		goto out;
	if (PKCS7_add_attrib_content_type(si, NULL) != 1)
		goto out;
	if (add_scep_attrs(si, req, status, fi) == -1)
		goto out;
	/*
	 * FAILURE and PENDING carry no pkcsPKIEnvelope (RFC 8894 3.3.2.2),
	 * but the encapsulated content is present and empty (a zero-length
	 * OCTET STRING), not omitted: certmonger verifies every CertRep with
	 * PKCS7_verify(), which refuses a detached SignedData ("no content")
	 * and would take a refusal for an unreachable CA.
	 */
	if (env != NULL)
		data = BIO_new_mem_buf(env, env_len);
	else
		data = BIO_new(BIO_s_mem());
	if (data == NULL)
		goto out;
	p7_remote_set_purpose(P7_PURPOSE_CERTREP);
	if (PKCS7_final(p7, data, PKCS7_BINARY) != 1)
		goto out;
	if ((n = i2d_PKCS7(p7, &out)) <= 0)
		goto out;
	*der = out;
	*len = n;
	out = NULL;
	rc = 0;
out:
	OPENSSL_free(out);
	BIO_free(data);
	PKCS7_free(p7);
	return rc;
}

int
p7_certrep(const struct p7_ca *ca, const struct p7_req *req,
    enum p7_pki_status status, enum p7_fail_info fi, X509 *issued,
    unsigned char **der, size_t *len)
{
	unsigned char		*env = NULL;	/* owned */
	int			 env_len = 0, rc = -1;

	switch (status) {
	case P7_PKI_SUCCESS:
		if (issued == NULL || req->signer == NULL)
			goto out;
		if (success_envelope(req, issued, &env, &env_len) == -1)
			goto out;
		break;
	case P7_PKI_FAILURE:
		if ((unsigned)fi > P7_FAIL_BAD_CERT_ID)
			goto out;
		break;
	case P7_PKI_PENDING:
		break;
	default:
		goto out;
	}
	rc = certrep_sign(ca, req, status, fi, env, env_len, der, len);
out:
	OPENSSL_free(env);
	return rc;
}

/*
 * GetCRL (RFC 8894 3.3.2.1, 4.6): SUCCESS whose envelope holds the CRL
 * in a certs-only SignedData.
 */
int
p7_certrep_crl(const struct p7_ca *ca, const struct p7_req *req,
    const unsigned char *crl_der, size_t crl_len, unsigned char **der,
    size_t *len)
{
	unsigned char	*inner = NULL;	/* owned */
	unsigned char	*env = NULL;	/* owned */
	size_t		 inner_len;
	int		 env_len = 0, rc = -1;

	if (req->signer == NULL)
		goto out;
	if (p7_crl_certs_only(crl_der, crl_len, &inner, &inner_len) == -1 ||
	    envelope(req, inner, inner_len, &env, &env_len) == -1)
		goto out;
	rc = certrep_sign(ca, req, P7_PKI_SUCCESS, 0, env, env_len, der, len);
out:
	OPENSSL_free(env);
	OPENSSL_free(inner);
	return rc;
}
