/*
 * Certificate revocation lists (RFC 5280 5): an X.509 v2 CRL signed by the
 * CA key, and the degenerate SignedData that carries it in a SCEP GetCRL
 * answer (RFC 8894 3.3.2.1, 4.6).  Which certificates are listed, and the
 * CRL number, are the caller's (db/) business.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

/* RFC 5280 5.3.1 names, as openssl(1) and most tools spell them. */
static const struct {
	int		 reason;
	const char	*name;
} reasons[] = {
	{ P7_CRL_REASON_UNSPECIFIED, "unspecified" },
	{ P7_CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ P7_CRL_REASON_CA_COMPROMISE, "cACompromise" },
	{ P7_CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ P7_CRL_REASON_SUPERSEDED, "superseded" },
	{ P7_CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
	{ P7_CRL_REASON_CERTIFICATE_HOLD, "certificateHold" },
	{ P7_CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
	{ P7_CRL_REASON_AA_COMPROMISE, "aACompromise" },
};

const char *
p7_crl_reason_name(int reason)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].reason == reason)
			return reasons[i].name;
	return NULL;
}

int
p7_crl_reason_from_name(const char *name, int *reason)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcasecmp(reasons[i].name, name) == 0) {
			*reason = reasons[i].reason;
			return 0;
		}
	return -1;
}

int
p7_crl_reason_valid(int reason)
{
	/* removeFromCRL (8) belongs to delta CRLs, which we do not issue. */
	return reason == P7_CRL_REASON_NONE || p7_crl_reason_name(reason) !=
	    NULL;
}

/*
 * A serial as db/ stores it (hex digits, any case, no sign) as an
 * ASN1_INTEGER; NULL if it is not one or is longer than RFC 5280 4.1.2.2
 * allows (20 octets).
 */
static ASN1_INTEGER *
serial_from_hex(const char *hex)
{
	ASN1_INTEGER	*ai = NULL;
	BIGNUM		*bn = NULL;	/* owned */
	size_t		 n;

	n = strlen(hex);
	if (n == 0 || n > 64 || strspn(hex, "0123456789abcdefABCDEF")
	    != n)
		return NULL;
	if (BN_hex2bn(&bn, hex) != (int)n || BN_num_bytes(bn) > 20)
		goto out;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
out:
	BN_free(bn);
	return ai;
}

/*
 * authorityKeyIdentifier (RFC 5280 5.2.1, MUST): the CA's own subject key
 * identifier, or when its certificate has none the SHA-1 of its public
 * key (RFC 5280 4.2.1.2 method 1), the value OpenSSL would compute.
 */
static int
add_akid(X509_CRL *crl, X509 *ca)
{
	AUTHORITY_KEYID		*akid = NULL;	/* owned */
	const ASN1_OCTET_STRING	*skid;		/* borrowed from ca */
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	int			 rc = -1;

	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	if ((skid = X509_get0_subject_key_id(ca)) != NULL) {
		if (ASN1_OCTET_STRING_set(akid->keyid, skid->data,
		    skid->length) != 1)
			goto out;
	} else {
		if (X509_pubkey_digest(ca, EVP_sha1(), md, &mdlen) != 1 ||
		    ASN1_OCTET_STRING_set(akid->keyid, md, (int)mdlen) != 1)
			goto out;
	}
	if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int
add_crl_number(X509_CRL *crl, uint64_t number)
{
	ASN1_INTEGER	*ai = NULL;	/* owned */
	int		 rc = -1;

	if ((ai = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(ai, number) != 1)
		goto out;
	if (X509_CRL_add1_ext_i2d(crl, NID_crl_number, ai, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	ASN1_INTEGER_free(ai);
	return rc;
}

static int
add_entry(X509_CRL *crl, const struct p7_crl_entry *e, char *err,
    size_t errlen)
{
	X509_REVOKED		*rev = NULL;	/* owned until added */
	ASN1_INTEGER		*serial = NULL;	/* owned */
	ASN1_TIME		*when = NULL;	/* owned */
	ASN1_ENUMERATED		*code = NULL;	/* owned */
	int			 rc = -1;

	if (e->serial == NULL || (serial = serial_from_hex(e->serial)) ==
	    NULL) {
		snprintf(err, errlen, "bad serial \"%.64s\"",
		    e->serial != NULL ? e->serial : "(null)");
		goto out;
	}
	if (!p7_crl_reason_valid(e->reason)) {
		snprintf(err, errlen, "serial %.64s: bad reason %d", e->serial,
		    e->reason);
		goto out;
	}
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (when = ASN1_TIME_set(NULL, e->revoked_at)) == NULL ||
	    X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, when) != 1) {
		snprintf(err, errlen, "cannot fill CRL entry");
		goto out;
	}
	/* RFC 5280 5.3.1: unspecified SHOULD be expressed by absence. */
	if (e->reason > P7_CRL_REASON_UNSPECIFIED) {
		if ((code = ASN1_ENUMERATED_new()) == NULL ||
		    ASN1_ENUMERATED_set(code, e->reason) != 1 ||
		    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0,
		    X509V3_ADD_DEFAULT) != 1) {
			snprintf(err, errlen, "cannot add reasonCode");
			goto out;
		}
	}
	if (X509_CRL_add0_revoked(crl, rev) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rev = NULL;
	rc = 0;
out:
	ASN1_ENUMERATED_free(code);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	X509_REVOKED_free(rev);
	return rc;
}

/* After X509_CRL_sort(): 0 if no serial is listed twice, else -1. */
static int
check_unique(X509_CRL *crl, char *err, size_t errlen)
{
	STACK_OF(X509_REVOKED)	*revs;	/* borrowed from crl */
	const ASN1_INTEGER	*a, *b;
	int			 i;

	revs = X509_CRL_get_REVOKED(crl);
	for (i = 1; i < sk_X509_REVOKED_num(revs); i++) {
		a = X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i - 1));
		b = X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i));
		if (ASN1_INTEGER_cmp(a, b) == 0) {
			snprintf(err, errlen, "serial listed twice");
			return -1;
		}
	}
	return 0;
}

int
p7_crl_sign(const struct p7_ca *ca, const struct p7_crl_entry *entries,
    size_t n, uint64_t crl_number, time_t this_update, time_t next_update,
    unsigned char **der, size_t *len, char *err, size_t errlen)
{
	X509_CRL	*crl = NULL;	/* owned */
	ASN1_TIME	*t = NULL;	/* owned */
	unsigned char	*buf = NULL;	/* owned until moved to *der */
	unsigned char	*p;
	size_t		 i;
	int		 sz, rc = -1;

	/* X509_get_extension_flags() also computes the cached flags. */
	if ((X509_get_extension_flags(ca->ca) & EXFLAG_KUSAGE) &&
	    (X509_get_key_usage(ca->ca) & KU_CRL_SIGN) == 0) {
		snprintf(err, errlen, "CA keyUsage lacks cRLSign");
		goto out;
	}
	/* RFC 5280 5.1.2.5: conforming issuers MUST include nextUpdate. */
	if (next_update <= this_update) {
		snprintf(err, errlen, "nextUpdate must follow thisUpdate");
		goto out;
	}
	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->ca)) != 1 ||
	    (t = ASN1_TIME_set(NULL, this_update)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    ASN1_TIME_set(t, next_update) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1) {
		snprintf(err, errlen, "cannot fill CRL fields");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (add_entry(crl, &entries[i], err, errlen) == -1)
			goto out;
	/* Sorted by serial: readers may search, and duplicates show. */
	if (X509_CRL_sort(crl) != 1) {
		snprintf(err, errlen, "cannot sort CRL entries");
		goto out;
	}
	if (check_unique(crl, err, errlen) == -1)
		goto out;
	if (add_akid(crl, ca->ca) == -1 ||
	    add_crl_number(crl, crl_number) == -1) {
		snprintf(err, errlen, "cannot add CRL extensions");
		goto out;
	}
	/* Always the CA key: an RA cannot vouch for revocations. */
	p7_remote_set_purpose(P7_PURPOSE_CRL);
	if (X509_CRL_sign(crl, ca->ca_key, EVP_sha256()) <= 0) {
		snprintf(err, errlen, "CA signature failed");
		goto out;
	}
	if ((sz = i2d_X509_CRL(crl, NULL)) <= 0 ||
	    (buf = OPENSSL_malloc(sz)) == NULL) {
		snprintf(err, errlen, "cannot encode the CRL");
		goto out;
	}
	p = buf;
	if (i2d_X509_CRL(crl, &p) != sz) {
		snprintf(err, errlen, "cannot encode the CRL");
		goto out;
	}
	*der = buf;
	*len = (size_t)sz;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}

int
p7_crl_certs_only(const unsigned char *crl_der, size_t len,
    unsigned char **out, size_t *outlen)
{
	X509_CRL		*crl = NULL;	/* owned */
	PKCS7			*p7 = NULL;	/* owned */
	unsigned char		*buf = NULL;	/* owned until moved to *out */
	const unsigned char	*q = crl_der;
	unsigned char		*p;
	int			 n, rc = -1;

	if (len == 0 || len > LONG_MAX ||
	    (crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL ||
	    q != crl_der + len)
		goto out;
	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto out;
	/* RFC 8894 3.4: no signers, content omitted, the CRL in crls. */
	if (PKCS7_set_detached(p7, 1) != 1 || PKCS7_add_crl(p7, crl) != 1)
		goto out;
	if ((n = i2d_PKCS7(p7, NULL)) <= 0 ||
	    (buf = OPENSSL_malloc(n)) == NULL)
		goto out;
	p = buf;
	if (i2d_PKCS7(p7, &p) != n)
		goto out;
	*out = buf;
	*outlen = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	PKCS7_free(p7);
	X509_CRL_free(crl);
	return rc;
}
