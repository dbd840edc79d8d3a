/*
 * Certificate issuance: serial numbers, signing a PKCS#10 request with the
 * CA key, and describing an issued certificate for the database.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

static int	asn1_time_t(const ASN1_TIME *, time_t *);

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

/* keyUsage from KU_* bits, critical (RFC 5280 4.2.1.3 SHOULD). */
static int
add_key_usage(X509 *crt, unsigned bits)
{
	static const struct { unsigned bit; int n; } map[] = {
		{ KU_DIGITAL_SIGNATURE, 0 }, { KU_NON_REPUDIATION, 1 },
		{ KU_KEY_ENCIPHERMENT, 2 }, { KU_DATA_ENCIPHERMENT, 3 },
		{ KU_KEY_AGREEMENT, 4 }, { KU_KEY_CERT_SIGN, 5 },
		{ KU_CRL_SIGN, 6 }, { KU_ENCIPHER_ONLY, 7 },
		{ KU_DECIPHER_ONLY, 8 },
	};
	ASN1_BIT_STRING	*ku;
	int		 rc = -1;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if ((bits & map[i].bit) &&
		    ASN1_BIT_STRING_set_bit(ku, map[i].n, 1) != 1)
			goto out;
	if (X509_add1_ext_i2d(crt, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

/*
 * The SID security extension as AD CS writes it (KB5014754):
 * 1.3.6.1.4.1.311.25.2, non-critical, GeneralNames with one otherName
 * 1.3.6.1.4.1.311.25.2.1 whose value is the textual SID in an OCTET
 * STRING.
 */
static int
add_sid(X509 *crt, const char *sid)
{
	GENERAL_NAMES		*gens = NULL;
	GENERAL_NAME		*gen = NULL;
	ASN1_OBJECT		*type_id = NULL, *ext_oid = NULL;
	ASN1_OCTET_STRING	*text = NULL, *value = NULL;
	ASN1_TYPE		*any = NULL;
	X509_EXTENSION		*ext = NULL;
	unsigned char		*der = NULL;
	int			 len, rc = -1;

	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL ||
	    (type_id = OBJ_txt2obj("1.3.6.1.4.1.311.25.2.1", 1)) == NULL ||
	    (ext_oid = OBJ_txt2obj("1.3.6.1.4.1.311.25.2", 1)) == NULL ||
	    (text = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(text, (const unsigned char *)sid,
	    (int)strlen(sid)) != 1 || (any = ASN1_TYPE_new()) == NULL)
		goto out;
	ASN1_TYPE_set(any, V_ASN1_OCTET_STRING, text);
	text = NULL;
	if (GENERAL_NAME_set0_othername(gen, type_id, any) != 1)
		goto out;
	type_id = NULL;
	any = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen))
		goto out;
	gen = NULL;
	if ((len = i2d_GENERAL_NAMES(gens, &der)) <= 0 ||
	    (value = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(value, der, len) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, ext_oid, 0, value)) == NULL ||
	    X509_add_ext(crt, ext, -1) != 1)
		goto out;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(value);
	OPENSSL_free(der);
	ASN1_TYPE_free(any);
	ASN1_OCTET_STRING_free(text);
	ASN1_OBJECT_free(ext_oid);
	ASN1_OBJECT_free(type_id);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* GeneralNames holding one URI; NULL unless uri is printable ASCII. */
static GENERAL_NAMES *
uri_names(const char *uri)
{
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*gen = NULL;
	ASN1_IA5STRING	*s = NULL;
	size_t		 i, len = strlen(uri);

	/* An IA5String without spaces or controls (RFC 5280 4.2.1.13). */
	if (len == 0 || len > 2048)
		return NULL;
	for (i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f)
			return NULL;
	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL ||
	    (s = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(s, uri, (int)len) != 1)
		goto fail;
	GENERAL_NAME_set0_value(gen, GEN_URI, s);
	s = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen))
		goto fail;
	return gens;
fail:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return NULL;
}

/*
 * cRLDistributionPoints with one fullName URI.  Built as a structure,
 * not through the X509V3 config syntax, so a URL holding ',' or ':' is
 * one URL and not several names.
 */
static int
add_cdp(X509 *crt, const char *url)
{
	CRL_DIST_POINTS	*cdp = NULL;
	DIST_POINT	*dp = NULL;
	int		 rc = -1;

	if ((cdp = sk_DIST_POINT_new_null()) == NULL ||
	    (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL)
		goto out;
	dp->distpoint->type = 0;	/* fullName */
	if ((dp->distpoint->name.fullname = uri_names(url)) == NULL ||
	    !sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	if (X509_add1_ext_i2d(crt, NID_crl_distribution_points, cdp, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return rc;
}

/* authorityInfoAccess: OCSP and/or caIssuers, one URI each. */
static int
add_aia(X509 *crt, const char *ocsp, const char *issuers)
{
	AUTHORITY_INFO_ACCESS	*aia = NULL;
	ACCESS_DESCRIPTION	*ad = NULL;
	GENERAL_NAMES		*gens = NULL;
	const char		*url[2] = { ocsp, issuers };
	int			 nid[2] = { NID_ad_OCSP, NID_ad_ca_issuers };
	int			 i, rc = -1;

	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL)
		goto out;
	for (i = 0; i < 2; i++) {
		if (url[i] == NULL)
			continue;
		if ((ad = ACCESS_DESCRIPTION_new()) == NULL ||
		    (gens = uri_names(url[i])) == NULL)
			goto out;
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_nid2obj(nid[i]);
		GENERAL_NAME_free(ad->location);
		ad->location = sk_GENERAL_NAME_pop(gens);
		if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
			goto out;
		ad = NULL;
		GENERAL_NAMES_free(gens);
		gens = NULL;
	}
	if (X509_add1_ext_i2d(crt, NID_info_access, aia, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	GENERAL_NAMES_free(gens);
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

/* Extensions in the order RFC 5280 readers expect to find them. */
static int
add_extensions(const struct p7_ca *ca, X509 *crt, const struct p7_issue *spec,
    X509_NAME *subject, char *err, size_t errlen)
{
	STACK_OF(ASN1_OBJECT)	*eku = NULL;	/* owned if made here */
	X509V3_CTX		 ctx;
	int			 rc = -1;

	X509V3_set_ctx(&ctx, ca->ca, crt, NULL, NULL, 0);
	if (p7_add_ext(crt, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_key_usage(crt, spec->key_usage != 0 ? spec->key_usage :
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) == -1) {
		snprintf(err, errlen, "cannot add basicConstraints/keyUsage");
		goto out;
	}
	if (spec->eku == NULL) {
		if ((eku = sk_ASN1_OBJECT_new_null()) == NULL ||
		    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))
			goto out;
	}
	if (sk_ASN1_OBJECT_num(spec->eku != NULL ? spec->eku : eku) > 0 &&
	    X509_add1_ext_i2d(crt, NID_ext_key_usage, spec->eku != NULL ?
	    spec->eku : eku, 0, X509V3_ADD_DEFAULT) != 1) {
		snprintf(err, errlen, "cannot add extendedKeyUsage");
		goto out;
	}
	/* RFC 5280 4.2.1.6: critical when the subject is empty. */
	if (spec->san != NULL && sk_GENERAL_NAME_num(spec->san) > 0 &&
	    X509_add1_ext_i2d(crt, NID_subject_alt_name, spec->san,
	    X509_NAME_entry_count(subject) == 0, X509V3_ADD_DEFAULT) != 1) {
		snprintf(err, errlen, "cannot add subjectAltName");
		goto out;
	}
	if (p7_add_ext(crt, &ctx, NID_subject_key_identifier, "hash") ||
	    /* An old CA without SKI: name it by issuer and serial. */
	    p7_add_ext(crt, &ctx, NID_authority_key_identifier,
	    X509_get0_subject_key_id(ca->ca) != NULL ? "keyid:always" :
	    "issuer:always")) {
		snprintf(err, errlen, "cannot add key identifiers");
		goto out;
	}
	if (spec->crl_url != NULL && add_cdp(crt, spec->crl_url) == -1) {
		snprintf(err, errlen, "bad CRL URL");
		goto out;
	}
	if ((spec->ocsp_url != NULL || spec->ca_issuers_url != NULL) &&
	    add_aia(crt, spec->ocsp_url, spec->ca_issuers_url) == -1) {
		snprintf(err, errlen, "bad AIA URL");
		goto out;
	}
	if (spec->sid != NULL && add_sid(crt, spec->sid) == -1) {
		snprintf(err, errlen, "cannot add the SID extension");
		goto out;
	}
	rc = 0;
out:
	sk_ASN1_OBJECT_free(eku);	/* objects are static (OBJ_nid2obj) */
	return rc;
}

static atomic_ulong	issued;

unsigned long
p7_issued_count(void)
{
	return atomic_load(&issued);
}

int
p7_issue(const struct p7_ca *ca, X509_REQ *csr, const struct p7_issue *spec,
    X509 **out, char *err, size_t errlen)
{
	X509		*crt = NULL;	/* owned until moved to *out */
	ASN1_INTEGER	*serial = NULL;	/* owned */
	BIGNUM		*bn = NULL;	/* owned */
	EVP_PKEY	*pub;		/* borrowed from csr */
	X509_NAME	*subject;	/* borrowed */
	time_t		 not_after = spec->not_after, ca_end;
	int		 rc = -1;

	/* A certificate never outlives its issuer: cap at the CA's
	 * notAfter, as AD CS does. */
	if (asn1_time_t(X509_get0_notAfter(ca->ca), &ca_end) == 0 &&
	    ca_end < not_after)
		not_after = ca_end;
	if (not_after <= spec->not_before) {
		snprintf(err, errlen, "the CA certificate expires before the "
		    "certificate would start");
		goto out;
	}
	subject = spec->subject != NULL ? spec->subject :
	    X509_REQ_get_subject_name(csr);
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
	    X509_set_subject_name(crt, subject) != 1 ||
	    X509_set_pubkey(crt, pub) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(crt), spec->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(crt), not_after) == NULL) {
		snprintf(err, errlen, "cannot fill certificate fields");
		goto out;
	}
	if (add_extensions(ca, crt, spec, subject, err, errlen) == -1)
		goto out;
	p7_remote_set_purpose(P7_PURPOSE_CERT);
	if (X509_sign(crt, ca->ca_key, EVP_sha256()) <= 0) {
		snprintf(err, errlen, "CA signature failed");
		goto out;
	}
	atomic_fetch_add_explicit(&issued, 1, memory_order_relaxed);
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
	if (n > 0)	/* an empty memory BIO has no data pointer */
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

char *
p7_ca_issuer_text(const struct p7_ca *ca)
{
	return name_text(X509_get_subject_name(ca->ca));
}

/* SHA-256 of crt's SubjectPublicKeyInfo DER.  Returns 0 or -1. */
static int
spki_sha256(X509 *crt, unsigned char md[32])
{
	unsigned char	*spki = NULL;	/* owned */
	unsigned int	 mdlen;
	int		 len, rc = -1;

	if ((len = i2d_PUBKEY(X509_get0_pubkey(crt), &spki)) > 0 &&
	    EVP_Digest(spki, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) == 1)
		rc = 0;
	OPENSSL_free(spki);
	return rc;
}

static int
key_text(X509 *crt, char out[P7_CA_KEY_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[32];

	if (spki_sha256(crt, md) == -1)
		return -1;
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[P7_CA_KEY_LEN] = '\0';
	return 0;
}

int
p7_ca_key_text(const struct p7_ca *ca, char out[P7_CA_KEY_LEN + 1])
{
	return key_text(ca->ca, out);
}

int
p7_ca_file_ident(const char *path, char **issuer,
    char key[P7_CA_KEY_LEN + 1], char *err, size_t errlen)
{
	X509	*crt = NULL;	/* owned */
	FILE	*fp;
	int	 rc = -1;

	*issuer = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	crt = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (crt == NULL) {
		snprintf(err, errlen, "%s: no PEM certificate", path);
		goto out;
	}
	if ((*issuer = name_text(X509_get_subject_name(crt))) == NULL ||
	    key_text(crt, key) == -1) {
		snprintf(err, errlen, "%s: cannot read its name and key", path);
		free(*issuer);
		*issuer = NULL;
		goto out;
	}
	rc = 0;
out:
	X509_free(crt);
	return rc;
}

int
p7_cert_describe(X509 *crt, struct p7_cert_desc *d)
{
	const ASN1_INTEGER	*serial;
	BIGNUM			*bn = NULL;	/* owned */
	char			*hex = NULL;	/* owned */
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
	if (spki_sha256(crt, d->key_sha256) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		p7_cert_desc_clear(d);
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
