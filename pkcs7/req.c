/*
 * Decoding a pkiMessage (RFC 8894 3): the outer SignedData, the SCEP
 * signed attributes, the signer's signature, the pkcsPKIEnvelope and its
 * content.
 *
 * The shape is restricted before OpenSSL's heavier code sees it
 * (docs/protocol.md): one SignerInfo, a non-empty digestAlgorithms SET
 * (CVE-2026-45447), content type data, KeyTransRecipientInfo only,
 * algorithms from an allow-list decided on the cleartext
 * AlgorithmIdentifiers, and no trailing bytes at any layer.
 *
 * Everything that depends on decrypted bytes (wrong recipient, RSA or CBC
 * padding, inner DER, CSR signature) ends in the same badMessageCheck so
 * that no layer rebuilds a padding oracle (Bleichenbacher, CBC), and, by
 * the floor p7_set_uniform_failure_ms() sets, at the same time: a
 * plaintext that parses as a CSR takes longer to refuse than one that
 * does not, and that difference would tell valid CBC padding apart.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "pkcs7/local.h"

/* RFC 8894 3.3.3: IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } */
typedef struct {
	X509_NAME	*issuer;
	X509_NAME	*subject;
} ISSUER_AND_SUBJECT;

ASN1_SEQUENCE(ISSUER_AND_SUBJECT) = {
	ASN1_SIMPLE(ISSUER_AND_SUBJECT, issuer, X509_NAME),
	ASN1_SIMPLE(ISSUER_AND_SUBJECT, subject, X509_NAME),
} static_ASN1_SEQUENCE_END(ISSUER_AND_SUBJECT)

/* A refusal once the attributes a CertRep needs are known. */
static int	uniform_failure_ms;

void
p7_set_uniform_failure_ms(int ms)
{
	uniform_failure_ms = ms;
}

/* Sleep until uniform_failure_ms after t0 (CLOCK_MONOTONIC). */
static void
uniform_wait(const struct timespec *t0)
{
	struct timespec	until = *t0;

	if (uniform_failure_ms <= 0)
		return;
	until.tv_sec += uniform_failure_ms / 1000;
	until.tv_nsec += (long)(uniform_failure_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
	    NULL) == EINTR)
		;
}

#define REFUSE(r, fi)	do {			\
	(r)->fail_info = (fi);			\
	status = P7_FAILED;			\
	goto out;				\
} while (0)

/*
 * RFC 8894 3.2.1.1: 1 to P7_TRANSID_MAX characters, all of the X.680
 * PrintableString set (OpenSSL does not check it, and a NUL would cut
 * the copy we hand out).
 */
static int
transaction_id(const ASN1_STRING *str)
{
	static const char	 extra[] = " '()+,-./:=?";
	const unsigned char	*s = ASN1_STRING_get0_data(str);
	int			 i, len = ASN1_STRING_length(str);

	if (len < 1 || len > P7_TRANSID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (s[i] == '\0' || strchr(extra, s[i]) == NULL)
			return 0;
	}
	return 1;
}

/*
 * The single value of the signed attribute nid, which must occur exactly
 * once with exactly one value of ASN.1 type `type'.  NULL otherwise.
 */
static const ASN1_TYPE *
single_attr(STACK_OF(X509_ATTRIBUTE) *attrs, int nid, int type)
{
	X509_ATTRIBUTE	*attr;
	ASN1_TYPE	*v;
	int		 i;

	if ((i = X509at_get_attr_by_NID(attrs, nid, -1)) < 0)
		return NULL;
	if (X509at_get_attr_by_NID(attrs, nid, i) >= 0)
		return NULL;
	attr = X509at_get_attr(attrs, i);
	if (X509_ATTRIBUTE_count(attr) != 1)
		return NULL;
	if ((v = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    v->type != type)
		return NULL;
	return v;
}

/*
 * messageType as a number if it is one of the types we serve written
 * canonically ("19", not "019" or "+19"), else -1.
 */
static int
message_type(const ASN1_STRING *s, int *sent)
{
	static const int	 served[] = {
		P7_MSG_RENEWALREQ, P7_MSG_PKCSREQ, P7_MSG_CERTPOLL,
		P7_MSG_GETCERT, P7_MSG_GETCRL,
	};
	const unsigned char	*d = ASN1_STRING_get0_data(s);
	int			 len = ASN1_STRING_length(s);
	int			 i, v = 0;

	*sent = -1;
	if (len < 1 || len > 2 || (len > 1 && d[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		v = v * 10 + (d[i] - '0');
	}
	*sent = v;
	for (i = 0; i < (int)(sizeof(served) / sizeof(served[0])); i++)
		if (served[i] == v)
			return v;
	return -1;
}

static X509 *
find_signer(STACK_OF(X509) *certs, PKCS7_ISSUER_AND_SERIAL *ias)
{
	X509	*x;
	int	 i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if (X509_NAME_cmp(X509_get_issuer_name(x), ias->issuer) == 0 &&
		    ASN1_INTEGER_cmp(X509_get0_serialNumber(x),
		    ias->serial) == 0)
			return x;
	}
	return NULL;
}

/*
 * SignerInfo signatureAlgorithm: rsaEncryption (sscep, certmonger) or
 * shaNWithRSAEncryption (strongSwan, micromdm), as captured on the wire.
 */
static int
rsa_sigalg(const X509_ALGOR *alg)
{
	int	 nid, pknid;

	nid = OBJ_obj2nid(alg->algorithm);
	if (nid == NID_rsaEncryption)
		return 1;
	if (OBJ_find_sigid_algs(nid, NULL, &pknid) == 1 &&
	    pknid == NID_rsaEncryption)
		return 1;
	return 0;
}

/*
 * Verify the SignerInfo: messageDigest against the content, then the
 * signature over the DER of the signed attributes, PKCS#1 v1.5 or, if
 * pss is set, RSASSA-PSS with its parameters.  Returns 1 if both hold,
 * else 0.
 */
static int
verify_signer(PKCS7_SIGNER_INFO *si, const ASN1_OCTET_STRING *content,
    const EVP_MD *md, EVP_PKEY *pub, const struct p7_pss *pss)
{
	EVP_MD_CTX		*ctx = NULL;	/* owned */
	EVP_PKEY_CTX		*pctx;		/* borrowed from ctx */
	unsigned char		*abuf = NULL;	/* owned */
	const ASN1_TYPE		*mdattr, *ct;	/* borrowed from si */
	unsigned char		 dig[EVP_MAX_MD_SIZE];
	unsigned int		 diglen;
	int			 alen, ok = 0;

	if ((mdattr = single_attr(si->auth_attr, NID_pkcs9_messageDigest,
	    V_ASN1_OCTET_STRING)) == NULL)
		goto out;
	/* contentType is optional here, but if present it says data. */
	if (X509at_get_attr_by_NID(si->auth_attr, NID_pkcs9_contentType,
	    -1) >= 0) {
		if ((ct = single_attr(si->auth_attr, NID_pkcs9_contentType,
		    V_ASN1_OBJECT)) == NULL ||
		    OBJ_obj2nid(ct->value.object) != NID_pkcs7_data)
			goto out;
	}
	if (EVP_Digest(ASN1_STRING_get0_data(content),
	    ASN1_STRING_length(content), dig, &diglen, md, NULL) != 1)
		goto out;
	if ((unsigned int)ASN1_STRING_length(mdattr->value.octet_string) !=
	    diglen || CRYPTO_memcmp(ASN1_STRING_get0_data(
	    mdattr->value.octet_string), dig, diglen) != 0)
		goto out;

	alen = ASN1_item_i2d((ASN1_VALUE *)si->auth_attr, &abuf,
	    ASN1_ITEM_rptr(PKCS7_ATTR_VERIFY));
	if (alen <= 0)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit_ex(ctx, &pctx, EVP_MD_get0_name(md), NULL,
	    NULL, pub, NULL) != 1)
		goto out;
	if (pss != NULL && p7_pss_verify_ctx(pctx, pss) == -1)
		goto out;
	if (EVP_DigestVerify(ctx, ASN1_STRING_get0_data(si->enc_digest),
	    ASN1_STRING_length(si->enc_digest), abuf, alen) != 1)
		goto out;
	ok = 1;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(abuf);
	return ok;
}

/*
 * Classify an inner content that PKCS7 cannot decode: an EnvelopedData
 * with recipients other than KeyTransRecipientInfo, or AuthEnvelopedData,
 * is an algorithm we refuse (badAlg); anything else is not a SCEP
 * request (badRequest, e.g. a bare CSR).
 */
static enum p7_fail_info
classify_inner(const unsigned char *der, long len)
{
	CMS_ContentInfo		*cms;	/* owned */
	const unsigned char	*p = der;
	enum p7_fail_info	 fi = P7_FAIL_BAD_REQUEST;
	int			 nid;

	if ((cms = d2i_CMS_ContentInfo(NULL, &p, len)) == NULL)
		return fi;
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (nid == NID_pkcs7_enveloped ||
	    nid == NID_id_smime_ct_authEnvelopedData)
		fi = P7_FAIL_BAD_ALG;
	CMS_ContentInfo_free(cms);
	return fi;
}

/*
 * Decrypt the pkcsPKIEnvelope to the recipient.  The recipient
 * certificate is always passed so only its RecipientInfo is tried
 * (CVE-2019-1563); on an RSA failure OpenSSL goes on with a random key
 * (CVE-2012-0884).  Returns the plaintext in a secure-memory BIO, or NULL
 * for any failure.
 */
static BIO *
decrypt(PKCS7 *env, X509 *rcpt, EVP_PKEY *key)
{
	BIO	*out;	/* owned until returned */

	if ((out = BIO_new(BIO_s_secmem())) == NULL)
		return NULL;
	p7_remote_set_purpose(P7_PURPOSE_DECRYPT);
	if (PKCS7_decrypt(env, key, rcpt, out, PKCS7_BINARY) != 1) {
		BIO_free(out);
		return NULL;
	}
	return out;
}

/*
 * An envelope for another recipient costs the RSA private operation a
 * real one does, on its first RecipientInfo's key block (the result is
 * thrown away): the thread then sleeps out the floor as long as after a
 * real decryption, and its time afterwards is not that of a cold cache.
 */
static void
decoy_decrypt(PKCS7 *env, EVP_PKEY *key)
{
	PKCS7_RECIP_INFO	*ri;
	EVP_PKEY_CTX		*ctx;
	unsigned char		 out[1024];
	size_t			 outlen = sizeof(out);

	if (sk_PKCS7_RECIP_INFO_num(env->d.enveloped->recipientinfo) < 1 ||
	    (ri = sk_PKCS7_RECIP_INFO_value(env->d.enveloped->recipientinfo,
	    0)) == NULL || ri->enc_key == NULL ||
	    (ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return;
	p7_remote_set_purpose(P7_PURPOSE_DECRYPT);
	if (EVP_PKEY_decrypt_init(ctx) == 1)
		(void)EVP_PKEY_decrypt(ctx, out, &outlen,
		    ASN1_STRING_get0_data(ri->enc_key),
		    (size_t)ASN1_STRING_length(ri->enc_key));
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
}

/*
 * SHA-256 of the signer's SubjectPublicKeyInfo, and of the signer
 * certificate if this CA issued it.  0, or -1 if a digest failed.
 */
static int
signer_hashes(struct p7_req *r)
{
	unsigned char	*der = NULL;	/* owned */
	unsigned int	 n = 32;
	int		 len, rc = -1;

	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(r->signer),
	    &der)) <= 0 || EVP_Digest(der, (size_t)len, r->signer_key_sha256,
	    NULL, EVP_sha256(), NULL) != 1)
		goto out;
	if (r->signer_issued && X509_digest(r->signer, EVP_sha256(),
	    r->issued_signer_sha256, &n) != 1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/*
 * A PKCS#10 signed with RSASSA-PSS must carry parameters we support, the
 * same rules as for the SignerInfo (OpenSSL alone would accept an MGF1
 * hash that differs from the hash).  Decrypted content, so a refusal is
 * badMessageCheck like every other one here; why is for the log only.
 */
static int
csr_sigalg_ok(const X509_REQ *csr, EVP_PKEY *pub, char *why, size_t whylen)
{
	const X509_ALGOR	*alg;	/* borrowed from csr */
	struct p7_pss		 pss;
	char			 e[128];

	X509_REQ_get0_signature(csr, NULL, &alg);
	if (OBJ_obj2nid(alg->algorithm) != NID_rsassaPss)
		return 1;
	if (EVP_PKEY_is_a(pub, "RSA") &&
	    p7_pss_params(alg, pub, NID_undef, &pss, e, sizeof(e)) == 0)
		return 1;
	snprintf(why, whylen, "CSR %s", EVP_PKEY_is_a(pub, "RSA") ? e :
	    "RSASSA-PSS signature with a key that is not RSA");
	return 0;
}

/*
 * The content of the pkcsPKIEnvelope for the messageType (RFC 8894 3.3):
 * a PKCS#10 request, IssuerAndSubject or IssuerAndSerialNumber.
 */
static enum p7_status
inner_content(struct p7_req *r, const unsigned char *der, long len,
    char *why, size_t whylen)
{
	const unsigned char		*p = der;
	ISSUER_AND_SUBJECT		*ias = NULL;	/* owned */
	PKCS7_ISSUER_AND_SERIAL		*iasn = NULL;	/* owned */
	EVP_PKEY			*pub;	/* borrowed from r->csr */
	enum p7_status			 status = P7_INTERNAL;

	switch (r->msg_type) {
	case P7_MSG_PKCSREQ:
	case P7_MSG_RENEWALREQ:
		if ((r->csr = d2i_X509_REQ(NULL, &p, len)) == NULL ||
		    p != der + len)
			REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
		if ((pub = X509_REQ_get0_pubkey(r->csr)) == NULL ||
		    !csr_sigalg_ok(r->csr, pub, why, whylen))
			REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
		if (X509_REQ_verify(r->csr, pub) != 1) {
			snprintf(why, whylen, "CSR signature does not verify");
			REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
		}
		if (EVP_Digest(der, len, r->csr_sha256, NULL, EVP_sha256(),
		    NULL) != 1)
			goto out;
		break;
	case P7_MSG_CERTPOLL:
		if ((ias = (ISSUER_AND_SUBJECT *)ASN1_item_d2i(NULL, &p, len,
		    ASN1_ITEM_rptr(ISSUER_AND_SUBJECT))) == NULL ||
		    p != der + len)
			REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
		r->issuer = ias->issuer;
		r->subject = ias->subject;
		ias->issuer = ias->subject = NULL;
		break;
	case P7_MSG_GETCERT:
	case P7_MSG_GETCRL:
		if ((iasn = d2i_PKCS7_ISSUER_AND_SERIAL(NULL, &p, len)) ==
		    NULL || p != der + len)
			REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
		r->issuer = iasn->issuer;
		r->serial = iasn->serial;
		iasn->issuer = NULL;
		iasn->serial = NULL;
		break;
	default:
		REFUSE(r, P7_FAIL_BAD_REQUEST);
	}
	status = P7_OK;
out:
	if (status != P7_OK) {
		/* Nothing half-decoded is handed out. */
		X509_REQ_free(r->csr);
		r->csr = NULL;
	}
	ASN1_item_free((ASN1_VALUE *)ias, ASN1_ITEM_rptr(ISSUER_AND_SUBJECT));
	PKCS7_ISSUER_AND_SERIAL_free(iasn);
	return status;
}

/*
 * The pkcsPKIEnvelope: algorithms checked on the cleartext first, then
 * decryption and the inner content.
 */
static enum p7_status
envelope(struct p7_req *r, const struct p7_ca *ca,
    const ASN1_OCTET_STRING *content, const struct p7_algs *allowed,
    const struct timespec *t0, char *why, size_t whylen)
{
	PKCS7			*env = NULL;	/* owned */
	BIO			*plain = NULL;	/* owned */
	PKCS7_RECIP_INFO	*ri, *ours = NULL;
	X509			*rcpt = P7_CA_RECIPIENT(ca);
	const unsigned char	*der = ASN1_STRING_get0_data(content);
	const unsigned char	*p = der;
	char			*pt;
	long			 len = ASN1_STRING_length(content), ptlen;
	enum p7_status		 status = P7_INTERNAL;
	int			 i, class_e = 0;

	if ((env = d2i_PKCS7(NULL, &p, len)) == NULL || p != der + len) {
		if (env == NULL)
			REFUSE(r, classify_inner(der, len));
		REFUSE(r, P7_FAIL_BAD_REQUEST);
	}
	if (OBJ_obj2nid(env->type) != NID_pkcs7_enveloped ||
	    env->d.enveloped == NULL) {
		if (OBJ_obj2nid(env->type) ==
		    NID_id_smime_ct_authEnvelopedData)
			REFUSE(r, P7_FAIL_BAD_ALG);
		REFUSE(r, P7_FAIL_BAD_REQUEST);
	}
	if (p7_cipher_from_nid(OBJ_obj2nid(
	    env->d.enveloped->enc_data->algorithm->algorithm),
	    &r->cipher) == -1) {
		r->cipher = P7_CIPHER_AES128;
		REFUSE(r, P7_FAIL_BAD_ALG);
	}
	r->cipher_allowed = (allowed->ciphers & P7_BIT(r->cipher)) != 0;
	/* Single DES allowed but the legacy provider not loaded: badAlg. */
	if (!r->cipher_allowed || p7_cipher_evp(r->cipher) == NULL)
		REFUSE(r, P7_FAIL_BAD_ALG);

	for (i = 0; i < sk_PKCS7_RECIP_INFO_num(
	    env->d.enveloped->recipientinfo); i++) {
		ri = sk_PKCS7_RECIP_INFO_value(
		    env->d.enveloped->recipientinfo, i);
		if (X509_NAME_cmp(X509_get_issuer_name(rcpt),
		    ri->issuer_and_serial->issuer) == 0 &&
		    ASN1_INTEGER_cmp(X509_get0_serialNumber(rcpt),
		    ri->issuer_and_serial->serial) == 0) {
			ours = ri;
			break;
		}
	}
	/* RSA-OAEP and friends: cleartext, so it may differ from class E. */
	if (ours != NULL &&
	    OBJ_obj2nid(ours->key_enc_algor->algorithm) != NID_rsaEncryption)
		REFUSE(r, P7_FAIL_BAD_ALG);

	/* Class E from here on: one answer for every failure, at one time. */
	class_e = 1;
	if (ours == NULL) {
		decoy_decrypt(env, P7_CA_RECIPIENT_KEY(ca));
		REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
	}
	if ((plain = decrypt(env, rcpt, P7_CA_RECIPIENT_KEY(ca))) == NULL) {
		/* Not the message's fault: nobody could try (a 503). */
		if (p7_remote_unavailable()) {
			snprintf(why, whylen, "the signer is unavailable");
			status = P7_UNAVAILABLE;
			goto out;
		}
		REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
	}
	if ((ptlen = BIO_get_mem_data(plain, &pt)) <= 0)
		REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
	status = inner_content(r, (const unsigned char *)pt, ptlen, why,
	    whylen);
out:
	BIO_free(plain);
	PKCS7_free(env);
	if (class_e && status == P7_FAILED)
		uniform_wait(t0);
	return status;
}

enum p7_status
p7_req_parse(const struct p7_ca *ca, const unsigned char *der, size_t len,
    const struct p7_algs *allowed, struct p7_req **reqp, char *err,
    size_t errlen)
{
	PKCS7			*p7 = NULL;	/* owned */
	struct p7_req		*r = NULL;	/* owned until moved to *reqp */
	const struct p7_nids	*nids;
	const unsigned char	*p = der;
	PKCS7_SIGNED		*sd;		/* borrowed from p7 */
	PKCS7_SIGNER_INFO	*si;		/* borrowed from p7 */
	ASN1_OCTET_STRING	*content;	/* borrowed from p7 */
	const ASN1_TYPE		*mt, *tid, *nonce;	/* borrowed from si */
	X509			*signer;	/* borrowed from p7 */
	EVP_PKEY		*pub;		/* borrowed from signer */
	const EVP_MD		*md;
	struct p7_pss		 pss_params;
	const struct p7_pss	*pss = NULL;	/* &pss_params if PSS */
	enum p7_status		 status = P7_MALFORMED;
	struct timespec		 t0;
	char			 why[192] = "";
	int			 sent;

	/*
	 * The floor of a refusal of decrypted bytes counts from here: the
	 * layers before the envelope differ in size between messages too.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*reqp = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((nids = p7_nids()) == NULL) {
		status = P7_INTERNAL;
		snprintf(err, errlen, "cannot register the SCEP OIDs");
		goto out;
	}

	/* Outer shape: HTTP 400 if anything is off, nothing to answer. */
	if (len == 0 || len > LONG_MAX ||
	    (p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL) {
		snprintf(err, errlen, "not a DER PKCS#7 message");
		goto out;
	}
	if (p != der + len) {
		snprintf(err, errlen, "trailing bytes after the message");
		goto out;
	}
	if (OBJ_obj2nid(p7->type) != NID_pkcs7_signed ||
	    (sd = p7->d.sign) == NULL) {
		snprintf(err, errlen, "not a SignedData");
		goto out;
	}
	if (sk_X509_ALGOR_num(sd->md_algs) < 1) {
		snprintf(err, errlen, "empty digestAlgorithms");
		goto out;
	}
	if (sk_PKCS7_SIGNER_INFO_num(sd->signer_info) != 1) {
		snprintf(err, errlen, "not exactly one SignerInfo");
		goto out;
	}
	if (sd->contents == NULL ||
	    OBJ_obj2nid(sd->contents->type) != NID_pkcs7_data ||
	    (content = sd->contents->d.data) == NULL ||
	    ASN1_STRING_length(content) <= 0) {
		snprintf(err, errlen, "no data content");
		goto out;
	}
	si = sk_PKCS7_SIGNER_INFO_value(sd->signer_info, 0);
	if (si->auth_attr == NULL || si->issuer_and_serial == NULL ||
	    si->enc_digest == NULL) {
		snprintf(err, errlen, "no signed attributes");
		goto out;
	}

	/* RFC 8894 3.2.1: the attributes a CertRep must echo. */
	if ((mt = single_attr(si->auth_attr, nids->message_type,
	    V_ASN1_PRINTABLESTRING)) == NULL) {
		snprintf(err, errlen, "bad messageType attribute");
		goto out;
	}
	if ((tid = single_attr(si->auth_attr, nids->transaction_id,
	    V_ASN1_PRINTABLESTRING)) == NULL ||
	    !transaction_id(tid->value.printablestring)) {
		snprintf(err, errlen, "bad transactionID attribute");
		goto out;
	}
	if ((nonce = single_attr(si->auth_attr, nids->sender_nonce,
	    V_ASN1_OCTET_STRING)) == NULL ||
	    ASN1_STRING_length(nonce->value.octet_string) != P7_NONCE_LEN) {
		snprintf(err, errlen, "bad senderNonce attribute");
		goto out;
	}

	/* From here on every refusal is a CertRep FAILURE. */
	if ((r = OPENSSL_zalloc(sizeof(*r))) == NULL) {
		status = P7_INTERNAL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(r->transaction_id,
	    ASN1_STRING_get0_data(tid->value.printablestring),
	    ASN1_STRING_length(tid->value.printablestring));
	memcpy(r->sender_nonce,
	    ASN1_STRING_get0_data(nonce->value.octet_string), P7_NONCE_LEN);
	r->digest = P7_MD_SHA256;
	r->cipher = P7_CIPHER_AES128;

	/* Unknown types are refused before any cryptography (H-26). */
	if ((r->msg_type = message_type(mt->value.printablestring,
	    &sent)) == -1) {
		r->msg_type = sent;
		snprintf(err, errlen, "messageType not served");
		REFUSE(r, P7_FAIL_BAD_REQUEST);
	}

	if ((signer = find_signer(sd->cert, si->issuer_and_serial)) == NULL) {
		snprintf(err, errlen, "signer certificate not included");
		REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
	}
	if (X509_up_ref(signer) != 1) {
		status = P7_INTERNAL;
		goto out;
	}
	r->signer = signer;

	if (p7_digest_from_nid(OBJ_obj2nid(si->digest_alg->algorithm),
	    &r->digest) == -1) {
		r->digest = P7_MD_SHA256;
		snprintf(err, errlen, "unknown digest algorithm");
		REFUSE(r, P7_FAIL_BAD_ALG);
	}
	r->digest_allowed = (allowed->digests & P7_BIT(r->digest)) != 0;
	if (!r->digest_allowed || (md = p7_digest_md(r->digest)) == NULL) {
		snprintf(err, errlen, "digest %s refused",
		    p7_digest_name(r->digest));
		REFUSE(r, P7_FAIL_BAD_ALG);
	}
	if ((pub = X509_get0_pubkey(signer)) == NULL ||
	    !EVP_PKEY_is_a(pub, "RSA")) {
		snprintf(err, errlen, "signer is not RSA");
		REFUSE(r, P7_FAIL_BAD_ALG);
	}
	/* strongSwan pki --rsa-padding pss, RFC 4056. */
	if (OBJ_obj2nid(si->digest_enc_alg->algorithm) == NID_rsassaPss) {
		if (p7_pss_params(si->digest_enc_alg, pub,
		    OBJ_obj2nid(si->digest_alg->algorithm), &pss_params, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "signer %s", why);
			REFUSE(r, P7_FAIL_BAD_ALG);
		}
		pss = &pss_params;
	} else if (!rsa_sigalg(si->digest_enc_alg)) {
		snprintf(err, errlen, "signatureAlgorithm %s is not RSA",
		    OBJ_nid2sn(OBJ_obj2nid(si->digest_enc_alg->algorithm)));
		REFUSE(r, P7_FAIL_BAD_ALG);
	}
	/* The signer chain is not verified: it is self-signed, maybe v1. */
	if (!verify_signer(si, content, md, pub, pss)) {
		snprintf(err, errlen, "signature does not verify");
		REFUSE(r, P7_FAIL_BAD_MESSAGE_CHECK);
	}
	r->signer_issued = X509_check_issued(ca->ca, signer) == X509_V_OK &&
	    X509_verify(signer, X509_get0_pubkey(ca->ca)) == 1;
	/* What identifies the request (server/scep/core.c): never unset. */
	if (signer_hashes(r) == -1) {
		snprintf(err, errlen, "cannot hash the signer certificate");
		status = P7_INTERNAL;
		goto out;
	}

	if ((status = envelope(r, ca, content, allowed, &t0, why,
	    sizeof(why))) != P7_OK) {
		if (status == P7_FAILED)
			snprintf(err, errlen, "pkcsPKIEnvelope refused%s%s",
			    why[0] != '\0' ? ": " : "", why);
		else if (status == P7_UNAVAILABLE)
			snprintf(err, errlen, "%s", why);
		goto out;
	}

	/*
	 * RFC 8894 2.3: a PKCSReq is signed with the key it certifies, or
	 * with a certificate this CA issued (renewal as sscep -O and
	 * certmonger do it).
	 */
	if (r->msg_type == P7_MSG_PKCSREQ && !r->signer_issued &&
	    EVP_PKEY_eq(pub, X509_REQ_get0_pubkey(r->csr)) != 1) {
		snprintf(err, errlen, "signer key differs from the CSR key");
		REFUSE(r, P7_FAIL_BAD_REQUEST);
	}
	status = P7_OK;
out:
	if (status == P7_OK || status == P7_FAILED) {
		*reqp = r;
		r = NULL;
	}
	p7_req_free(r);
	PKCS7_free(p7);
	return status;
}

void
p7_req_free(struct p7_req *r)
{
	if (r == NULL)
		return;
	X509_free(r->signer);
	X509_REQ_free(r->csr);
	X509_NAME_free(r->issuer);
	X509_NAME_free(r->subject);
	ASN1_INTEGER_free(r->serial);
	OPENSSL_clear_free(r, sizeof(*r));
}

int
p7_req_message_type(const struct p7_req *r)
{
	return r->msg_type;
}

const char *
p7_req_get0_transaction_id(const struct p7_req *r)
{
	return r->transaction_id;
}

enum p7_fail_info
p7_req_fail_info(const struct p7_req *r)
{
	return r->fail_info;
}

enum p7_cipher
p7_req_cipher(const struct p7_req *r)
{
	return r->cipher;
}

enum p7_digest
p7_req_digest(const struct p7_req *r)
{
	return r->digest;
}

X509 *
p7_req_get0_signer(const struct p7_req *r)
{
	return r->signer;
}

int
p7_req_signer_issued(const struct p7_req *r)
{
	return r->signer_issued;
}

X509_REQ *
p7_req_get0_csr(const struct p7_req *r)
{
	return r->csr;
}

X509_NAME *
p7_req_get0_issuer(const struct p7_req *r)
{
	return r->issuer;
}

X509_NAME *
p7_req_get0_subject(const struct p7_req *r)
{
	return r->subject;
}

const ASN1_INTEGER *
p7_req_get0_serial(const struct p7_req *r)
{
	return r->serial;
}

int
p7_req_challenge(const struct p7_req *r, char *buf, size_t len)
{
	X509_ATTRIBUTE	*attr;		/* borrowed from r->csr */
	ASN1_TYPE	*v;		/* borrowed from attr */
	unsigned char	*utf8 = NULL;	/* owned */
	int		 i, n = -1, rc = -1;

	if (len > 0)
		buf[0] = '\0';
	if (r->csr == NULL || len == 0)
		goto out;
	if ((i = X509_REQ_get_attr_by_NID(r->csr,
	    NID_pkcs9_challengePassword, -1)) < 0)
		goto out;
	/* Two challenges would be ambiguous. */
	if (X509_REQ_get_attr_by_NID(r->csr, NID_pkcs9_challengePassword,
	    i) >= 0)
		goto out;
	attr = X509_REQ_get_attr(r->csr, i);
	if (X509_ATTRIBUTE_count(attr) != 1 ||
	    (v = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL)
		goto out;
	switch (v->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_T61STRING:
		break;
	default:
		goto out;
	}
	if ((n = ASN1_STRING_to_UTF8(&utf8, v->value.asn1_string)) < 0)
		goto out;
	if ((size_t)n > len - 1 || memchr(utf8, '\0', n) != NULL)
		goto out;
	memcpy(buf, utf8, n);
	buf[n] = '\0';
	rc = n;
out:
	if (utf8 != NULL)
		OPENSSL_clear_free(utf8, n);
	return rc;
}

void
p7_req_signer_key_sha256(const struct p7_req *r, unsigned char out[32])
{
	memcpy(out, r->signer_key_sha256, 32);
}

void
p7_req_issued_signer_sha256(const struct p7_req *r, unsigned char out[32])
{
	memcpy(out, r->issued_signer_sha256, 32);
}

void
p7_req_csr_sha256(const struct p7_req *r, unsigned char out[32])
{
	memcpy(out, r->csr_sha256, 32);
}
