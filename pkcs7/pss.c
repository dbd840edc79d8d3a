/*
 * RSASSA-PSS signature parameters (RFC 4055 3.1, RFC 8017 A.2.3): decode
 * the RSASSA-PSS-params of an AlgorithmIdentifier, refuse the ones we do
 * not support, and set up a verification context with them.
 *
 * Supported: the hash is one of ours (pkcs7/algs.c), the mask generation
 * is MGF1 with that same hash, the trailer field is 1 and the salt length
 * fits the key.  Any salt length the parameters state is used as stated:
 * OpenSSL then requires exactly that many salt bytes in the signature.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pkcs7/local.h"

/* RFC 4055 3.1 defaults: SHA-1, MGF1 with SHA-1, 20 salt bytes, 1. */
#define PSS_DEFAULT_SALT	20

/* The parameters of an AlgorithmIdentifier as one DER SEQUENCE, or NULL. */
static const ASN1_STRING *
sequence_param(const X509_ALGOR *alg)
{
	if (alg->parameter == NULL || alg->parameter->type != V_ASN1_SEQUENCE)
		return NULL;
	return alg->parameter->value.sequence;
}

/* A hash AlgorithmIdentifier's parameters must be absent or NULL. */
static int
hash_params_ok(const X509_ALGOR *alg)
{
	return alg->parameter == NULL || alg->parameter->type == V_ASN1_NULL;
}

/* The MGF1 hash (RFC 8017 B.2.1), decoded with no trailing bytes. */
static X509_ALGOR *
mgf1_hash(const X509_ALGOR *mgf)
{
	const ASN1_STRING	*seq;
	const unsigned char	*p, *end;
	X509_ALGOR		*h;	/* owned until returned */

	if ((seq = sequence_param(mgf)) == NULL)
		return NULL;
	p = ASN1_STRING_get0_data(seq);
	end = p + ASN1_STRING_length(seq);
	if ((h = d2i_X509_ALGOR(NULL, &p, end - p)) == NULL)
		return NULL;
	if (p != end) {
		X509_ALGOR_free(h);
		return NULL;
	}
	return h;
}

int
p7_pss_params(const X509_ALGOR *alg, EVP_PKEY *pub, int want_hash,
    struct p7_pss *out, char *err, size_t errlen)
{
	RSA_PSS_PARAMS		*pss = NULL;	/* owned */
	X509_ALGOR		*mh = NULL;	/* owned */
	const ASN1_STRING	*seq;
	const unsigned char	*p, *end;
	enum p7_digest		 d;
	int64_t			 salt, trailer, maxsalt;
	int			 hash = NID_sha1, mhash = NID_sha1, rc = -1;

	memset(out, 0, sizeof(*out));
	/* RFC 4055 3.1: MUST be present with a signature value. */
	if ((seq = sequence_param(alg)) == NULL) {
		snprintf(err, errlen, "RSASSA-PSS without parameters");
		goto out;
	}
	p = ASN1_STRING_get0_data(seq);
	end = p + ASN1_STRING_length(seq);
	if ((pss = d2i_RSA_PSS_PARAMS(NULL, &p, end - p)) == NULL ||
	    p != end) {
		snprintf(err, errlen, "RSASSA-PSS parameters undecodable");
		goto out;
	}

	if (pss->hashAlgorithm != NULL) {
		hash = OBJ_obj2nid(pss->hashAlgorithm->algorithm);
		if (!hash_params_ok(pss->hashAlgorithm)) {
			snprintf(err, errlen, "RSASSA-PSS hash parameters "
			    "not NULL");
			goto out;
		}
	}
	if (p7_digest_from_nid(hash, &d) == -1 || d == P7_MD_MD5 ||
	    (out->md = p7_digest_md(d)) == NULL) {
		snprintf(err, errlen, "RSASSA-PSS hash %s not supported",
		    OBJ_nid2sn(hash));
		goto out;
	}
	if (want_hash != NID_undef && hash != want_hash) {
		snprintf(err, errlen, "RSASSA-PSS hash %s differs from "
		    "digestAlgorithm %s", OBJ_nid2sn(hash),
		    OBJ_nid2sn(want_hash));
		goto out;
	}

	if (pss->maskGenAlgorithm != NULL) {
		if (OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) !=
		    NID_mgf1) {
			snprintf(err, errlen, "RSASSA-PSS mask generation %s "
			    "is not MGF1", OBJ_nid2sn(OBJ_obj2nid(
			    pss->maskGenAlgorithm->algorithm)));
			goto out;
		}
		if ((mh = mgf1_hash(pss->maskGenAlgorithm)) == NULL ||
		    !hash_params_ok(mh)) {
			snprintf(err, errlen, "RSASSA-PSS MGF1 parameters "
			    "undecodable");
			goto out;
		}
		mhash = OBJ_obj2nid(mh->algorithm);
	}
	/* RFC 8017 A.2.3 allows others; nobody sends them, we refuse them. */
	if (mhash != hash) {
		snprintf(err, errlen, "RSASSA-PSS MGF1 hash %s differs from "
		    "hash %s", OBJ_nid2sn(mhash), OBJ_nid2sn(hash));
		goto out;
	}

	trailer = 1;
	if (pss->trailerField != NULL &&
	    ASN1_INTEGER_get_int64(&trailer, pss->trailerField) != 1)
		trailer = -1;
	if (trailer != 1) {
		snprintf(err, errlen, "RSASSA-PSS trailerField is not 1");
		goto out;
	}

	/* RFC 8017 9.1.1: emLen >= hLen + sLen + 2, emLen = ceil((bits-1)/8). */
	salt = PSS_DEFAULT_SALT;
	if (pss->saltLength != NULL &&
	    ASN1_INTEGER_get_int64(&salt, pss->saltLength) != 1)
		salt = -1;
	maxsalt = (EVP_PKEY_get_bits(pub) - 1 + 7) / 8 -
	    EVP_MD_get_size(out->md) - 2;
	if (salt < 0 || salt > maxsalt) {
		snprintf(err, errlen, "RSASSA-PSS saltLength out of range "
		    "(0 to %lld for a %d-bit key)", (long long)maxsalt,
		    EVP_PKEY_get_bits(pub));
		goto out;
	}
	out->saltlen = (int)salt;
	rc = 0;
out:
	RSA_PSS_PARAMS_free(pss);
	X509_ALGOR_free(mh);
	if (rc == -1)
		memset(out, 0, sizeof(*out));
	return rc;
}

int
p7_pss_verify_ctx(EVP_PKEY_CTX *pctx, const struct p7_pss *pss)
{
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, pss->md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss->saltlen) <= 0)
		return -1;
	return 0;
}
