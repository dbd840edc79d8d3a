/*
 * The CA and RA credentials: loading and checking them at start-up, and
 * the GetCACert body (RFC 8894 4.2.1) computed once from them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

int
p7_certs_only(STACK_OF(X509) *certs, unsigned char **der, size_t *len)
{
	PKCS7		*p7 = NULL;	/* owned */
	unsigned char	*buf = NULL;	/* owned until moved to *der */
	unsigned char	*p;
	int		 i, n, rc = -1;

	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto out;
	/* RFC 8894 3.4: the content is omitted. */
	if (PKCS7_set_detached(p7, 1) != 1)
		goto out;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (PKCS7_add_certificate(p7, sk_X509_value(certs, i)) != 1)
			goto out;
	if ((n = i2d_PKCS7(p7, NULL)) <= 0)
		goto out;
	if ((buf = OPENSSL_malloc(n)) == NULL)
		goto out;
	p = buf;
	if (i2d_PKCS7(p7, &p) != n)
		goto out;
	*der = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	PKCS7_free(p7);
	return rc;
}

/* Read every certificate of a PEM file, in order; NULL with err if none. */
static STACK_OF(X509) *
read_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509)	*certs = NULL;	/* owned until returned */
	STACK_OF(X509)	*ret = NULL;
	X509		*x = NULL;	/* owned until pushed */
	FILE		*fp = NULL;
	unsigned long	 e;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ERR_set_mark();
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(certs, x) <= 0) {
			ERR_clear_last_mark();
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		x = NULL;
	}
	/* Running out of PEM blocks is the normal end. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_pop_to_mark();
	else {
		ERR_clear_last_mark();
		if (e != 0) {
			snprintf(err, errlen, "%s: bad PEM certificate", path);
			goto out;
		}
	}
	if (sk_X509_num(certs) == 0) {
		snprintf(err, errlen, "%s: no certificate", path);
		goto out;
	}
	ret = certs;
	certs = NULL;
out:
	X509_free(x);
	sk_X509_pop_free(certs, X509_free);
	if (fp != NULL)
		fclose(fp);
	return ret;
}

/*
 * cert's private key: loaded from ref (a file or a token, src), or, in a
 * process whose keys the signer holds (p7_remote_init()), a remote key
 * for cert's public key, and ref is not opened.
 */
EVP_PKEY *
p7_key_for(const char *ref, const struct p7_key_source *src, X509 *cert,
    char *err, size_t errlen)
{
	EVP_PKEY	*pub;

	if (!p7_remote_active())
		return p7_key_load(ref, src, err, errlen);
	if (cert == NULL || (pub = X509_get0_pubkey(cert)) == NULL) {
		snprintf(err, errlen, "no public key for %s", ref);
		return NULL;
	}
	return p7_remote_key(pub, err, errlen);
}

/* 1 if parent issued child and its signature verifies, else 0. */
static int
issued_by(X509 *child, X509 *parent)
{
	EVP_PKEY	*pub;	/* borrowed from parent */

	if (X509_check_issued(parent, child) != X509_V_OK)
		return 0;
	if ((pub = X509_get0_pubkey(parent)) == NULL)
		return 0;
	return X509_verify(child, pub) == 1;
}

static int
check_ca(struct p7_ca *ca, const struct p7_ca_files *f, char *err,
    size_t errlen)
{
	X509	*child, *parent;
	int	 i;

	if (X509_check_private_key(ca->ca, ca->ca_key) != 1) {
		snprintf(err, errlen, "%s does not match %s", f->ca_key,
		    f->ca_cert);
		return -1;
	}
	/* X509_get_extension_flags() also computes the cached flags. */
	if ((X509_get_extension_flags(ca->ca) & EXFLAG_CA) == 0) {
		snprintf(err, errlen, "%s: first certificate is not a CA "
		    "(basicConstraints)", f->ca_cert);
		return -1;
	}
	if ((X509_get_key_usage(ca->ca) & KU_KEY_CERT_SIGN) == 0) {
		snprintf(err, errlen, "%s: CA keyUsage lacks keyCertSign",
		    f->ca_cert);
		return -1;
	}
	child = ca->ca;
	for (i = 0; i < sk_X509_num(ca->chain); i++) {
		parent = sk_X509_value(ca->chain, i);
		if (!issued_by(child, parent)) {
			snprintf(err, errlen, "%s: certificate %d is not "
			    "issued by certificate %d", f->ca_cert, i + 1,
			    i + 2);
			return -1;
		}
		child = parent;
	}
	if (ca->ra != NULL) {
		if (X509_check_private_key(ca->ra, ca->ra_key) != 1) {
			snprintf(err, errlen, "%s does not match %s",
			    f->ra_key, f->ra_cert);
			return -1;
		}
		if (!issued_by(ca->ra, ca->ca)) {
			snprintf(err, errlen, "%s is not issued by %s",
			    f->ra_cert, f->ca_cert);
			return -1;
		}
	}
	/* Requests are key-transported to it (RFC 8894 2.1.2, 3.1). */
	if (!EVP_PKEY_is_a(P7_CA_RECIPIENT_KEY(ca), "RSA")) {
		snprintf(err, errlen, "%s: the %s key must be RSA",
		    ca->ra != NULL ? f->ra_key : f->ca_key,
		    ca->ra != NULL ? "RA" : "CA");
		return -1;
	}
	return 0;
}

/*
 * Apple accepts a certs-only bundle only if it holds an RA-capable leaf
 * with a chain built from the bundle (docs/protocol.md): a lone
 * self-signed CA goes out as one DER certificate instead.
 */
static int
make_getcacert(struct p7_ca *ca)
{
	STACK_OF(X509)	*certs = NULL;	/* borrows its certificates */
	unsigned char	*p;
	int		 i, n, rc = -1;

	if (ca->ra == NULL && sk_X509_num(ca->chain) == 0 &&
	    X509_check_issued(ca->ca, ca->ca) == X509_V_OK) {
		if ((n = i2d_X509(ca->ca, NULL)) <= 0 ||
		    (ca->getcacert = OPENSSL_malloc(n)) == NULL)
			goto out;
		p = ca->getcacert;
		if (i2d_X509(ca->ca, &p) != n)
			goto out;
		ca->getcacert_len = n;
		ca->getcacert_type = "application/x-x509-ca-cert";
		rc = 0;
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL)
		goto out;
	if (ca->ra != NULL && sk_X509_push(certs, ca->ra) <= 0)
		goto out;
	if (sk_X509_push(certs, ca->ca) <= 0)
		goto out;
	for (i = 0; i < sk_X509_num(ca->chain); i++)
		if (sk_X509_push(certs, sk_X509_value(ca->chain, i)) <= 0)
			goto out;
	if (p7_certs_only(certs, &ca->getcacert, &ca->getcacert_len) == -1)
		goto out;
	ca->getcacert_type = "application/x-x509-ca-ra-cert";
	rc = 0;
out:
	sk_X509_free(certs);
	return rc;
}

struct p7_ca *
p7_ca_load(const struct p7_ca_files *f, char *err, size_t errlen)
{
	struct p7_ca	*ca = NULL;	/* owned until returned */
	struct p7_ca	*ret = NULL;
	STACK_OF(X509)	*ra = NULL;	/* owned */

	if (f->ca_cert == NULL || f->ca_key == NULL) {
		snprintf(err, errlen, "CA certificate and key are required");
		goto out;
	}
	if ((f->ra_cert == NULL) != (f->ra_key == NULL)) {
		snprintf(err, errlen, "RA certificate and key go together");
		goto out;
	}
	if ((ca = OPENSSL_zalloc(sizeof(*ca))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The issuing CA first, then its chain. */
	if ((ca->chain = read_certs(f->ca_cert, err, errlen)) == NULL)
		goto out;
	ca->ca = sk_X509_shift(ca->chain);
	if ((ca->ca_key = p7_key_for(f->ca_key, f->keys, ca->ca, err,
	    errlen)) == NULL)
		goto out;
	if (f->ra_cert != NULL) {
		if ((ra = read_certs(f->ra_cert, err, errlen)) == NULL)
			goto out;
		if (sk_X509_num(ra) != 1) {
			snprintf(err, errlen, "%s: expected one certificate",
			    f->ra_cert);
			goto out;
		}
		ca->ra = sk_X509_shift(ra);
		if ((ca->ra_key = p7_key_for(f->ra_key, f->keys, ca->ra, err,
		    errlen)) == NULL)
			goto out;
	}
	if (check_ca(ca, f, err, errlen) == -1)
		goto out;
	if (make_getcacert(ca) == -1) {
		snprintf(err, errlen, "cannot encode the GetCACert answer");
		goto out;
	}
	ret = ca;
	ca = NULL;
out:
	p7_ca_free(ca);
	sk_X509_pop_free(ra, X509_free);
	return ret;
}

int
p7_ca_private_keys(const struct p7_ca *ca, EVP_PKEY *out[2])
{
	int	n = 0;

	out[n++] = ca->ca_key;
	if (ca->ra_key != NULL)
		out[n++] = ca->ra_key;
	return n;
}

void
p7_ca_free(struct p7_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->ca);
	EVP_PKEY_free(ca->ca_key);
	sk_X509_pop_free(ca->chain, X509_free);
	X509_free(ca->ra);
	EVP_PKEY_free(ca->ra_key);
	OPENSSL_free(ca->getcacert);
	OPENSSL_free(ca->getnextcacert);
	OPENSSL_free(ca);
}

X509 *
p7_ca_get0_cert(const struct p7_ca *ca)
{
	return ca->ca;
}

int
p7_ca_has_ra(const struct p7_ca *ca)
{
	return ca->ra != NULL;
}

void
p7_ca_getcacert(const struct p7_ca *ca, const unsigned char **der,
    size_t *len, const char **content_type)
{
	*der = ca->getcacert;
	*len = ca->getcacert_len;
	*content_type = ca->getcacert_type;
}

int
p7_ca_is_own_name(const struct p7_ca *ca, const X509_NAME *name)
{
	if (name == NULL)
		return 0;
	return X509_NAME_cmp(name, X509_get_subject_name(ca->ca)) == 0 ||
	    X509_NAME_cmp(name, X509_get_issuer_name(ca->ca)) == 0 ||
	    (ca->ra != NULL &&
	    X509_NAME_cmp(name, X509_get_subject_name(ca->ra)) == 0);
}

int
p7_ca_issued(const struct p7_ca *ca, X509 *crt)
{
	return crt != NULL && issued_by(crt, ca->ca);
}

const char *
p7_ca_mode_usage_missing(const struct p7_ca *ca)
{
	uint32_t	ku;
	int		sig, enc;

	if (ca->ra != NULL ||
	    !(X509_get_extension_flags(ca->ca) & EXFLAG_KUSAGE))
		return NULL;
	ku = X509_get_key_usage(ca->ca);
	sig = (ku & KU_DIGITAL_SIGNATURE) != 0;
	enc = (ku & KU_KEY_ENCIPHERMENT) != 0;
	if (sig && enc)
		return NULL;
	if (!sig && !enc)
		return "digitalSignature and keyEncipherment";
	return sig ? "keyEncipherment" : "digitalSignature";
}
