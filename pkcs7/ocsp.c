/*
 * OCSP (RFC 6960): decoding requests, encoding responses signed by the
 * CA or a delegated OCSP signer, and that signer's credentials.  Which
 * status a certificate has is the caller's (db/) business.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

/* RFC 8954 2.1: nonces of 1 to 32 octets, plus the OCTET STRING header. */
#define NONCE_MAX	(32 + 2)

struct certid {
	char	 serial[2 * 20 + 1];	/* "" if it cannot be ours */
	int	 ours;
};

struct p7_ocsp_req {
	OCSP_REQUEST		*req;		/* owned */
	struct certid		*ids;		/* owned, n of them */
	size_t			 n;
	const unsigned char	*nonce;		/* borrowed from req */
	size_t			 nonce_len;
};

struct p7_ocsp_signer {
	X509		*cert;		/* owned */
	EVP_PKEY	*key;		/* owned */
};

/* The CertID hash algorithms we can match against our CA. */
static const EVP_MD *
certid_md(const ASN1_OBJECT *alg)
{
	switch (OBJ_obj2nid(alg)) {
	case NID_sha1:
		return EVP_sha1();
	case NID_sha256:
		return EVP_sha256();
	case NID_sha384:
		return EVP_sha384();
	case NID_sha512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static int
hash_equal(const EVP_MD *md, const void *data, size_t len,
    const ASN1_OCTET_STRING *want)
{
	unsigned char	 buf[EVP_MAX_MD_SIZE];
	unsigned int	 n;

	if (EVP_Digest(data, len, buf, &n, md, NULL) != 1)
		return -1;
	return want->length == (int)n && CRYPTO_memcmp(buf, want->data, n) ==
	    0;
}

/*
 * RFC 6960 4.1.1: issuerNameHash over the DER of the issuer's name,
 * issuerKeyHash over the issuer's subjectPublicKey BIT STRING value.
 * Returns 1 if the CertID names our CA, 0 if not, -1 on failure.
 */
/* 1 if cid survives the copy OCSP_basic_add1_status() makes of it. */
static int
certid_copies(OCSP_CERTID *cid)
{
	OCSP_CERTID	*copy;

	if ((copy = OCSP_CERTID_dup(cid)) == NULL)
		return 0;
	OCSP_CERTID_free(copy);
	return 1;
}

static int
certid_is_ca(const struct p7_ca *ca, OCSP_CERTID *cid)
{
	ASN1_OCTET_STRING	*nh, *kh;	/* borrowed from cid */
	ASN1_OBJECT		*alg;		/* borrowed from cid */
	ASN1_INTEGER		*serial;	/* borrowed from cid */
	const ASN1_BIT_STRING	*key;		/* borrowed from ca */
	const EVP_MD		*md;
	unsigned char		*name = NULL;	/* owned */
	int			 len, r, rc = -1;

	if (OCSP_id_get0_info(&nh, &alg, &kh, &serial, cid) != 1)
		goto out;
	if ((md = certid_md(alg)) == NULL) {
		rc = 0;
		goto out;
	}
	if ((len = i2d_X509_NAME(X509_get_subject_name(ca->ca), &name)) <= 0 ||
	    (key = X509_get0_pubkey_bitstr(ca->ca)) == NULL)
		goto out;
	if ((r = hash_equal(md, name, (size_t)len, nh)) != 1) {
		rc = r;
		goto out;
	}
	rc = hash_equal(md, key->data, (size_t)key->length, kh);
out:
	OPENSSL_free(name);
	return rc;
}

/*
 * The serial as db_serial_norm() writes it; -1 if it cannot be one of
 * ours (negative, over 20 octets), which is not an error of the request.
 */
static int
serial_hex(const ASN1_INTEGER *ai, char out[2 * 20 + 1])
{
	BIGNUM		*bn = NULL;	/* owned */
	char		*hex = NULL;	/* owned */
	const char	*p;
	int		 rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL ||
	    BN_is_negative(bn) || BN_num_bytes(bn) > 20 ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	/* BN_bn2hex() writes whole octets, upper case: "0" for zero. */
	for (p = hex; p[0] == '0' && p[1] != '\0'; p++)
		;
	if (strlen(p) > 2 * 20)
		goto out;
	memcpy(out, p, strlen(p) + 1);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* The nonce extension, if any: one at most, echoed only if sensible. */
static int
find_nonce(struct p7_ocsp_req *r, char *err, size_t errlen)
{
	X509_EXTENSION		*ext;	/* borrowed from r->req */
	ASN1_OCTET_STRING	*val;	/* borrowed from ext */
	int			 i;

	i = OCSP_REQUEST_get_ext_by_NID(r->req, NID_id_pkix_OCSP_Nonce, -1);
	if (i < 0)
		return 0;
	if (OCSP_REQUEST_get_ext_by_NID(r->req, NID_id_pkix_OCSP_Nonce,
	    i) >= 0) {
		snprintf(err, errlen, "nonce extension twice");
		return -1;
	}
	ext = OCSP_REQUEST_get_ext(r->req, i);
	val = X509_EXTENSION_get_data(ext);
	if (val->length > 0 && val->length <= NONCE_MAX) {
		r->nonce = val->data;
		r->nonce_len = (size_t)val->length;
	}
	return 0;
}

int
p7_ocsp_request_parse(const struct p7_ca *ca, const unsigned char *der,
    size_t len, struct p7_ocsp_req **out, char *err, size_t errlen)
{
	struct p7_ocsp_req	*r = NULL;	/* owned until moved to *out */
	const unsigned char	*p = der;
	OCSP_ONEREQ		*one;		/* borrowed from r->req */
	OCSP_CERTID		*cid;		/* borrowed from one */
	ASN1_OCTET_STRING	*nh, *kh;	/* borrowed from cid */
	ASN1_OBJECT		*alg;		/* borrowed from cid */
	ASN1_INTEGER		*serial;	/* borrowed from cid */
	X509_EXTENSION		*ext;		/* borrowed from r->req */
	size_t			 i;
	int			 n, ours, rc = -1;

	*out = NULL;
	if ((r = OPENSSL_zalloc(sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (len == 0 || len > LONG_MAX ||
	    (r->req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		snprintf(err, errlen, "not an OCSPRequest");
		goto out;
	}
	if (p != der + len) {
		snprintf(err, errlen, "trailing bytes after the OCSPRequest");
		goto out;
	}
	n = OCSP_request_onereq_count(r->req);
	if (n < 1 || n > P7_OCSP_MAX_CERTIDS) {
		snprintf(err, errlen, "%d CertIDs (1 to %d accepted)", n,
		    P7_OCSP_MAX_CERTIDS);
		goto out;
	}
	r->n = (size_t)n;
	if ((r->ids = OPENSSL_zalloc(r->n * sizeof(*r->ids))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/*
	 * RFC 6960 4.4: unknown extensions are ignored unless critical.  Of
	 * the request's only the nonce is understood, of a CertID's none.
	 */
	for (n = 0; n < OCSP_REQUEST_get_ext_count(r->req); n++) {
		ext = OCSP_REQUEST_get_ext(r->req, n);
		if (X509_EXTENSION_get_critical(ext) &&
		    OBJ_obj2nid(X509_EXTENSION_get_object(ext)) !=
		    NID_id_pkix_OCSP_Nonce) {
			snprintf(err, errlen, "unsupported critical extension");
			goto out;
		}
	}
	if (find_nonce(r, err, errlen) == -1)
		goto out;

	for (i = 0; i < r->n; i++) {
		one = OCSP_request_onereq_get0(r->req, (int)i);
		/*
		 * The response repeats each CertID (a copy by re-encoding): one
		 * that parses but does not survive that (odd AlgorithmIdentifier
		 * parameters, found by fuzz_ocsp) is a malformed request, not
		 * our failure.
		 */
		if ((cid = OCSP_onereq_get0_id(one)) == NULL ||
		    !certid_copies(cid) ||
		    OCSP_id_get0_info(&nh, &alg, &kh, &serial, cid) != 1) {
			snprintf(err, errlen, "bad CertID");
			goto out;
		}
		for (n = 0; n < OCSP_ONEREQ_get_ext_count(one); n++)
			if (X509_EXTENSION_get_critical(
			    OCSP_ONEREQ_get_ext(one, n))) {
				snprintf(err, errlen, "unsupported critical "
				    "extension");
				goto out;
			}
		if ((ours = certid_is_ca(ca, cid)) == -1) {
			snprintf(err, errlen, "cannot hash the CA");
			goto out;
		}
		if (serial_hex(serial, r->ids[i].serial) == -1) {
			r->ids[i].serial[0] = '\0';
			ours = 0;
		}
		r->ids[i].ours = ours;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	p7_ocsp_req_free(r);
	return rc;
}

void
p7_ocsp_req_free(struct p7_ocsp_req *r)
{
	if (r == NULL)
		return;
	OCSP_REQUEST_free(r->req);
	OPENSSL_free(r->ids);
	OPENSSL_free(r);
}

size_t
p7_ocsp_req_count(const struct p7_ocsp_req *r)
{
	return r->n;
}

int
p7_ocsp_req_ours(const struct p7_ocsp_req *r, size_t i)
{
	return i < r->n && r->ids[i].ours;
}

const char *
p7_ocsp_req_serial(const struct p7_ocsp_req *r, size_t i)
{
	if (i >= r->n || r->ids[i].serial[0] == '\0')
		return NULL;
	return r->ids[i].serial;
}

const unsigned char *
p7_ocsp_req_get0_nonce(const struct p7_ocsp_req *r, size_t *len)
{
	*len = r->nonce_len;
	return r->nonce;
}

static int
check_status(const struct p7_ocsp_status *st, char *err, size_t errlen)
{
	if (st->status != P7_OCSP_GOOD && st->status != P7_OCSP_REVOKED &&
	    st->status != P7_OCSP_UNKNOWN) {
		snprintf(err, errlen, "bad certificate status %d", st->status);
		return -1;
	}
	if (st->status == P7_OCSP_REVOKED && !p7_crl_reason_valid(st->reason)) {
		snprintf(err, errlen, "bad revocation reason %d", st->reason);
		return -1;
	}
	if (st->this_update == 0 || (st->next_update != 0 &&
	    st->next_update <= st->this_update)) {
		snprintf(err, errlen, "bad thisUpdate/nextUpdate");
		return -1;
	}
	return 0;
}

/* One SingleResponse (RFC 6960 4.2.1) for CertID cid. */
static int
add_single(OCSP_BASICRESP *bs, OCSP_CERTID *cid,
    const struct p7_ocsp_status *st, int ours)
{
	ASN1_TIME	*thisupd = NULL, *nextupd = NULL;	/* owned */
	ASN1_TIME	*rev = NULL;				/* owned */
	int		 status, reason, rc = -1;

	status = ours ? st->status : P7_OCSP_UNKNOWN;
	reason = OCSP_REVOKED_STATUS_NOSTATUS;
	if ((thisupd = ASN1_TIME_set(NULL, st->this_update)) == NULL)
		goto out;
	if (st->next_update != 0 &&
	    (nextupd = ASN1_TIME_set(NULL, st->next_update)) == NULL)
		goto out;
	if (status == P7_OCSP_REVOKED) {
		if ((rev = ASN1_TIME_set(NULL, st->revoked_at)) == NULL)
			goto out;
		/* As in the CRL: unspecified is left out (CA/B BR 7.3). */
		if (st->reason > P7_CRL_REASON_UNSPECIFIED)
			reason = st->reason;
	}
	/* Our enum values are RFC 6960's, as are V_OCSP_CERTSTATUS_*. */
	if (OCSP_basic_add1_status(bs, cid, status, reason, rev, thisupd,
	    nextupd) == NULL)
		goto out;
	rc = 0;
out:
	ASN1_TIME_free(rev);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	return rc;
}

static int
encode_response(OCSP_RESPONSE *resp, unsigned char **der, size_t *len)
{
	unsigned char	*buf = NULL;	/* owned until moved to *der */
	unsigned char	*p;
	int		 n, rc = -1;

	if ((n = i2d_OCSP_RESPONSE(resp, NULL)) <= 0 ||
	    (buf = OPENSSL_malloc(n)) == NULL)
		goto out;
	p = buf;
	if (i2d_OCSP_RESPONSE(resp, &p) != n)
		goto out;
	*der = buf;
	*len = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	return rc;
}

int
p7_ocsp_respond(const struct p7_ca *ca, const struct p7_ocsp_req *r,
    const struct p7_ocsp_status *per_certid,
    const struct p7_ocsp_signer *signer, unsigned char **der, size_t *len,
    char *err, size_t errlen)
{
	OCSP_BASICRESP	*bs = NULL;	/* owned */
	OCSP_RESPONSE	*resp = NULL;	/* owned */
	OCSP_CERTID	*cid;		/* borrowed from r->req */
	unsigned long	 flags;
	size_t		 i;
	int		 rc = -1;

	for (i = 0; i < r->n; i++)
		if (r->ids[i].ours &&
		    check_status(&per_certid[i], err, errlen) == -1)
			goto out;
	if ((bs = OCSP_BASICRESP_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(r->req,
		    (int)i));
		/* The CertID is echoed as sent, so clients can match it. */
		if (add_single(bs, cid, &per_certid[i], r->ids[i].ours) == -1) {
			snprintf(err, errlen, "cannot add a SingleResponse");
			goto out;
		}
	}
	/* RFC 6960 4.4.1, RFC 8954: echo the nonce verbatim. */
	if (r->nonce != NULL && OCSP_copy_nonce(bs, r->req) != 1) {
		snprintf(err, errlen, "cannot echo the nonce");
		goto out;
	}
	/*
	 * responderID byKey (RFC 6960 4.2.2.3).  The signer's certificate
	 * goes along even when it is the CA's: OpenSSL's OCSP_basic_verify()
	 * looks for the signer only among the response's certificates and
	 * those its caller passes, never in the trust store, and many
	 * callers (openssl ocsp -reqin, RADIUS servers) pass none.
	 */
	flags = OCSP_RESPID_KEY;
	p7_remote_set_purpose(P7_PURPOSE_OCSP);
	if (OCSP_basic_sign(bs, signer != NULL ? signer->cert : ca->ca,
	    signer != NULL ? signer->key : ca->ca_key, EVP_sha256(), NULL,
	    flags) != 1) {
		snprintf(err, errlen, "OCSP signature failed");
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || encode_response(resp, der, len) == -1) {
		snprintf(err, errlen, "cannot encode the OCSPResponse");
		goto out;
	}
	rc = 0;
out:
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	return rc;
}

int
p7_ocsp_error(enum p7_ocsp_resp_status status, unsigned char **der,
    size_t *len)
{
	OCSP_RESPONSE	*resp = NULL;	/* owned */
	int		 rc = -1;

	switch (status) {
	case P7_OCSP_MALFORMED_REQUEST:
	case P7_OCSP_INTERNAL_ERROR:
	case P7_OCSP_TRY_LATER:
	case P7_OCSP_SIG_REQUIRED:
	case P7_OCSP_UNAUTHORIZED:
		break;
	default:
		goto out;
	}
	if ((resp = OCSP_response_create((int)status, NULL)) == NULL ||
	    encode_response(resp, der, len) == -1)
		goto out;
	rc = 0;
out:
	OCSP_RESPONSE_free(resp);
	return rc;
}

/* 1 if the CA issued crt and its signature verifies, else 0. */
static int
issued_by_ca(const struct p7_ca *ca, X509 *crt)
{
	EVP_PKEY	*pub;	/* borrowed from ca->ca */

	if (X509_check_issued(ca->ca, crt) != X509_V_OK)
		return 0;
	if ((pub = X509_get0_pubkey(ca->ca)) == NULL)
		return 0;
	return X509_verify(crt, pub) == 1;
}

struct p7_ocsp_signer *
p7_ocsp_signer_load(const struct p7_ca *ca, const char *cert, const char *key,
    const struct p7_key_source *keys, char *err, size_t errlen)
{
	struct p7_ocsp_signer	*s = NULL;	/* owned until returned */
	struct p7_ocsp_signer	*ret = NULL;
	FILE			*fp = NULL;
	time_t			 now;

	if ((s = OPENSSL_zalloc(sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((fp = fopen(cert, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", cert, strerror(errno));
		goto out;
	}
	if ((s->cert = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "%s: no PEM certificate", cert);
		goto out;
	}
	fclose(fp);
	fp = NULL;
	if ((s->key = p7_key_for(key, keys, s->cert, err, errlen)) == NULL)
		goto out;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		snprintf(err, errlen, "%s does not match %s", key, cert);
		goto out;
	}
	if (!issued_by_ca(ca, s->cert)) {
		snprintf(err, errlen, "%s is not issued by the CA", cert);
		goto out;
	}
	/* RFC 6960 4.2.2.2: clients refuse a signer without this EKU. */
	if ((X509_get_extension_flags(s->cert) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(s->cert) & XKU_OCSP_SIGN) == 0) {
		snprintf(err, errlen, "%s: extendedKeyUsage lacks OCSPSigning",
		    cert);
		goto out;
	}
	now = time(NULL);
	if (X509_cmp_time(X509_get0_notBefore(s->cert), &now) > 0 ||
	    X509_cmp_time(X509_get0_notAfter(s->cert), &now) < 0) {
		snprintf(err, errlen, "%s is not valid now", cert);
		goto out;
	}
	ret = s;
	s = NULL;
out:
	if (fp != NULL)
		fclose(fp);
	p7_ocsp_signer_free(s);
	return ret;
}

void
p7_ocsp_signer_free(struct p7_ocsp_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	OPENSSL_free(s);
}

EVP_PKEY *
p7_ocsp_signer_get0_key(const struct p7_ocsp_signer *s)
{
	return s->key;
}

X509 *
p7_ocsp_signer_get0_cert(const struct p7_ocsp_signer *s)
{
	return s->cert;
}

/* Write a PEM file that must not exist yet; keys get mode 0600. */
static int
write_new(const char *path, X509 *crt, EVP_PKEY *key, char *err,
    size_t errlen)
{
	FILE	*f;
	int	 fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
	    key != NULL ? 0600 : 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, crt);
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "%s: write failed", path);
		unlink(path);
		return -1;
	}
	return 0;
}

int
p7_ocsp_signer_create(const struct p7_ca *ca, const char *cn, int days,
    const char *cert_out, const char *key_out, char *err, size_t errlen)
{
	EVP_PKEY	*key = NULL;	/* owned */
	X509		*crt = NULL;	/* owned */
	X509_NAME	*name = NULL;	/* owned */
	unsigned char	 serial[P7_SERIAL_LEN];
	BIGNUM		*bn = NULL;	/* owned */
	X509V3_CTX	 ctx;
	int		 rc = -1;

	if (days < 1 || days > 3650) {
		snprintf(err, errlen, "bad validity %d days", days);
		goto out;
	}
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    p7_serial_random(serial) == -1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    (crt = X509_new()) == NULL || (name = X509_NAME_new()) == NULL) {
		snprintf(err, errlen, "out of memory or randomness");
		goto out;
	}
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_version(crt, X509_VERSION_3) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) == NULL ||
	    X509_set_issuer_name(crt, X509_get_subject_name(ca->ca)) != 1 ||
	    X509_set_subject_name(crt, name) != 1 ||
	    X509_set_pubkey(crt, key) != 1 ||
	    /* An hour back for clocks that lag behind ours. */
	    X509_gmtime_adj(X509_getm_notBefore(crt), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(crt), days, 0, NULL) == NULL) {
		snprintf(err, errlen, "cannot fill certificate fields");
		goto out;
	}
	X509V3_set_ctx(&ctx, ca->ca, crt, NULL, NULL, 0);
	if (p7_add_ext(crt, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    p7_add_ext(crt, &ctx, NID_key_usage,
	    "critical,digitalSignature") ||
	    p7_add_ext(crt, &ctx, NID_ext_key_usage, "OCSPSigning") ||
	    p7_add_ext(crt, &ctx, NID_subject_key_identifier, "hash") ||
	    p7_add_ext(crt, &ctx, NID_authority_key_identifier,
	    "keyid:always") ||
	    /* RFC 6960 4.2.2.2.1: clients need not check the signer. */
	    p7_add_ext(crt, &ctx, NID_id_pkix_OCSP_noCheck, "ignored")) {
		snprintf(err, errlen, "cannot add extensions");
		goto out;
	}
	p7_remote_set_purpose(P7_PURPOSE_CERT);
	if (X509_sign(crt, ca->ca_key, EVP_sha256()) <= 0) {
		snprintf(err, errlen, "CA signature failed");
		goto out;
	}
	if (write_new(key_out, NULL, key, err, errlen) == -1)
		goto out;
	if (write_new(cert_out, crt, NULL, err, errlen) == -1) {
		unlink(key_out);
		goto out;
	}
	rc = 0;
out:
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(crt);
	EVP_PKEY_free(key);
	return rc;
}
