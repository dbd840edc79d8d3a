/*
 * Certificate issuance: serial numbers, signing a PKCS#10 request with the
 * CA key, and describing an issued certificate for the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

int
p7_serial_random(unsigned char out[P7_SERIAL_LEN])
{
	if (RAND_bytes(out, P7_SERIAL_LEN) != 1)
		return -1;
	/*
	 * Positive (top bit clear) and minimal DER (first octet non-zero):
	 * 17 octets leave at least 128 random bits (CA/B BR 7.1 asks 64).
	 */
	out[0] &= 0x7f;
	if (out[0] == 0)
		out[0] = 0x01;
	return 0;
}

int
p7_add_ext(X509 *crt, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 rc;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(crt, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* Copy the subjectAltName of the CSR's extensionRequest, if any. */
static int
copy_san(X509 *crt, X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*ext;
	int				 i, rc = 0;

	if ((exts = X509_REQ_get_extensions(csr)) == NULL)
		return 0;
	if ((i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1)) >= 0) {
		ext = X509v3_get_ext(exts, i);
		/* Never critical: the subject is not empty in our certificates. */
		X509_EXTENSION_set_critical(ext, 0);
		if (X509_add_ext(crt, ext, -1) != 1)
			rc = -1;
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
p7_issue(const struct p7_ca *ca, X509_REQ *csr, const struct p7_issue *spec,
    X509 **out, char *err, size_t errlen)
{
	X509		*crt = NULL;	/* owned until moved to *out */
	ASN1_INTEGER	*serial = NULL;	/* owned */
	BIGNUM		*bn = NULL;	/* owned */
	EVP_PKEY	*pub;		/* borrowed from csr */
	X509V3_CTX	 ctx;
	int		 rc = -1;

	if ((pub = X509_REQ_get0_pubkey(csr)) == NULL) {
		snprintf(err, errlen, "request has no usable public key");
		goto out;
	}
	if ((crt = X509_new()) == NULL ||
	    (bn = BN_bin2bn(spec->serial, (int)spec->serial_len, NULL)) == NULL ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (X509_set_version(crt, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(crt, serial) != 1 ||
	    X509_set_issuer_name(crt, X509_get_subject_name(ca->ca)) != 1 ||
	    /* X509_NAME copies keep RDN order and each entry's string type. */
	    X509_set_subject_name(crt, X509_REQ_get_subject_name(csr)) != 1 ||
	    X509_set_pubkey(crt, pub) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(crt), spec->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(crt), spec->not_after) == NULL) {
		snprintf(err, errlen, "cannot fill certificate fields");
		goto out;
	}

	X509V3_set_ctx(&ctx, ca->ca, crt, NULL, NULL, 0);
	if (p7_add_ext(crt, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    p7_add_ext(crt, &ctx, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment") ||
	    p7_add_ext(crt, &ctx, NID_ext_key_usage, "clientAuth") ||
	    p7_add_ext(crt, &ctx, NID_subject_key_identifier, "hash") ||
	    p7_add_ext(crt, &ctx, NID_authority_key_identifier, "keyid:always")) {
		snprintf(err, errlen, "cannot add certificate extensions");
		goto out;
	}
	if (copy_san(crt, csr) == -1) {
		snprintf(err, errlen, "cannot copy subjectAltName");
		goto out;
	}
	if (X509_sign(crt, ca->ca_key, EVP_sha256()) <= 0) {
		snprintf(err, errlen, "CA signature failed");
		goto out;
	}
	*out = crt;
	crt = NULL;
	rc = 0;
out:
	X509_free(crt);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rc;
}

/* A BIO's contents as a NUL-terminated malloc'd string. */
static char *
bio_strdup(BIO *bio)
{
	char	*data, *s;
	long	 n;

	n = BIO_get_mem_data(bio, &data);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

static char *
name_text(const X509_NAME *name)
{
	BIO	*bio;
	char	*s = NULL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	/* RFC 2253 with UTF-8 kept; control characters are escaped. */
	if (X509_NAME_print_ex(bio, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		s = bio_strdup(bio);
	BIO_free(bio);
	return s;
}

static char *
san_text(X509 *crt)
{
	GENERAL_NAMES	*gens;
	BIO		*bio;
	char		*s = NULL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	gens = X509_get_ext_d2i(crt, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL) {
		for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			if (i > 0)
				BIO_puts(bio, ", ");
			GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(gens, i));
		}
		GENERAL_NAMES_free(gens);
	}
	s = bio_strdup(bio);
	BIO_free(bio);
	return s;
}

static int
asn1_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm	tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int
p7_cert_describe(X509 *crt, struct p7_cert_desc *d)
{
	const ASN1_INTEGER	*serial;
	BIGNUM			*bn = NULL;	/* owned */
	char			*hex = NULL;	/* owned */
	unsigned char		*spki = NULL;	/* owned */
	unsigned int		 mdlen;
	int			 len, rc = -1;

	memset(d, 0, sizeof(*d));
	serial = X509_get0_serialNumber(crt);
	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL || strlen(hex) >= sizeof(d->serial))
		goto out;
	memcpy(d->serial, hex, strlen(hex) + 1);
	if ((d->subject = name_text(X509_get_subject_name(crt))) == NULL ||
	    (d->issuer = name_text(X509_get_issuer_name(crt))) == NULL ||
	    (d->sans = san_text(crt)) == NULL)
		goto out;
	if (asn1_time_t(X509_get0_notBefore(crt), &d->not_before) == -1 ||
	    asn1_time_t(X509_get0_notAfter(crt), &d->not_after) == -1)
		goto out;
	if ((len = i2d_X509(crt, &d->der)) <= 0)
		goto out;
	d->der_len = (size_t)len;
	if (X509_digest(crt, EVP_sha1(), d->sha1, &mdlen) != 1)
		goto out;
	if ((len = i2d_PUBKEY(X509_get0_pubkey(crt), &spki)) <= 0 ||
	    EVP_Digest(spki, (size_t)len, d->key_sha256, &mdlen, EVP_sha256(),
	    NULL) != 1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		p7_cert_desc_clear(d);
	OPENSSL_free(spki);
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

void
p7_cert_desc_clear(struct p7_cert_desc *d)
{
	free(d->subject);
	free(d->issuer);
	free(d->sans);
	OPENSSL_free(d->der);
	memset(d, 0, sizeof(*d));
}
