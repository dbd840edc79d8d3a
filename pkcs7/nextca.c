/*
 * CA rollover: the GetNextCACert answer (RFC 8894 3.5.3, 4.7), computed
 * once at start-up.  It is a SignedData signed by the current RA (or CA
 * in CA mode), the same signer as the CertReps, so a client can trust
 * the next CA on the strength of the current one; its content is a
 * degenerate certs-only SignedData of the next RA (if any), the next CA
 * and the rest of the next CA's file (its chain), in the order of
 * GetCACert.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

/* Every certificate of a PEM file, in order; NULL with err if none. */
static STACK_OF(X509) *
read_pem_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509)		*certs = NULL;	/* owned until returned */
	STACK_OF(X509_INFO)	*infos = NULL;	/* owned */
	STACK_OF(X509)		*ret = NULL;
	X509_INFO		*xi;		/* borrowed from infos */
	BIO			*bio = NULL;	/* owned */
	int			 i;

	if ((bio = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "%s: bad PEM", path);
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 == NULL)
			continue;
		if (sk_X509_push(certs, xi->x509) <= 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		xi->x509 = NULL;	/* moved into certs */
	}
	if (sk_X509_num(certs) == 0) {
		snprintf(err, errlen, "%s: no certificate", path);
		goto out;
	}
	ret = certs;
	certs = NULL;
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	return ret;
}

/* The checks p7_ca_load() makes of the current CA, for the next one. */
static int
check_next(const struct p7_ca *ca, X509 *next, X509 *next_ra,
    const char *next_path, const char *ra_path, char *err, size_t errlen)
{
	EVP_PKEY	*pub;	/* borrowed from next */

	if ((X509_get_extension_flags(next) & EXFLAG_CA) == 0) {
		snprintf(err, errlen, "%s: first certificate is not a CA "
		    "(basicConstraints)", next_path);
		return -1;
	}
	if ((X509_get_key_usage(next) & KU_KEY_CERT_SIGN) == 0) {
		snprintf(err, errlen, "%s: CA keyUsage lacks keyCertSign",
		    next_path);
		return -1;
	}
	if (X509_cmp(next, ca->ca) == 0) {
		snprintf(err, errlen, "%s is the current CA, not a next one",
		    next_path);
		return -1;
	}
	if (next_ra == NULL)
		return 0;
	if (X509_check_issued(next, next_ra) != X509_V_OK ||
	    (pub = X509_get0_pubkey(next)) == NULL ||
	    X509_verify(next_ra, pub) != 1) {
		snprintf(err, errlen, "%s is not issued by %s", ra_path,
		    next_path);
		return -1;
	}
	/* Requests will be key-transported to it (RFC 8894 3.1). */
	if ((pub = X509_get0_pubkey(next_ra)) == NULL ||
	    !EVP_PKEY_is_a(pub, "RSA")) {
		snprintf(err, errlen, "%s: the RA key must be RSA", ra_path);
		return -1;
	}
	return 0;
}

/* The signed answer: certs-only inner DER signed by the current signer. */
static int
sign_next(struct p7_ca *ca, STACK_OF(X509) *certs, char *err, size_t errlen)
{
	STACK_OF(X509)	*extra = NULL;	/* borrows its certificates */
	unsigned char	*inner = NULL;	/* owned */
	unsigned char	*out = NULL;	/* owned until moved into ca */
	size_t		 inner_len;
	BIO		*in = NULL;	/* owned */
	PKCS7		*p7 = NULL;	/* owned */
	int		 n, rc = -1;

	if (p7_certs_only(certs, &inner, &inner_len) == -1) {
		snprintf(err, errlen, "cannot encode the next CA certificates");
		goto out;
	}
	/* In RA mode the current CA goes along, so the RA can be chained. */
	if ((extra = sk_X509_new_null()) == NULL ||
	    (ca->ra != NULL && sk_X509_push(extra, ca->ca) <= 0))
		goto nomem;
	if ((in = BIO_new_mem_buf(inner, (int)inner_len)) == NULL)
		goto nomem;
	/*
	 * The PKCS7 API, as for CertReps: SHA-256, one SignerInfo with
	 * digestEncryptionAlgorithm rsaEncryption, the signer certificate
	 * included, the content embedded.
	 */
	p7_remote_set_purpose(P7_PURPOSE_CERTREP);
	if ((p7 = PKCS7_sign(P7_CA_RECIPIENT(ca), P7_CA_RECIPIENT_KEY(ca),
	    extra, in, PKCS7_BINARY | PKCS7_NOSMIMECAP)) == NULL) {
		snprintf(err, errlen, "cannot sign the GetNextCACert answer");
		goto out;
	}
	if ((n = i2d_PKCS7(p7, &out)) <= 0) {
		snprintf(err, errlen, "cannot encode the GetNextCACert answer");
		goto out;
	}
	OPENSSL_free(ca->getnextcacert);
	ca->getnextcacert = out;
	ca->getnextcacert_len = (size_t)n;
	out = NULL;
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	OPENSSL_free(out);
	PKCS7_free(p7);
	BIO_free(in);
	OPENSSL_free(inner);
	sk_X509_free(extra);
	return rc;
}

int
p7_ca_load_next(struct p7_ca *ca, const char *next_ca_cert,
    const char *next_ra_cert, char *err, size_t errlen)
{
	STACK_OF(X509)	*next = NULL;	/* owned */
	STACK_OF(X509)	*ra = NULL;	/* owned */
	STACK_OF(X509)	*certs = NULL;	/* borrows its certificates */
	int		 i, rc = -1;

	if (next_ca_cert == NULL || *next_ca_cert == '\0') {
		snprintf(err, errlen, "no next CA certificate given");
		goto out;
	}
	if ((next = read_pem_certs(next_ca_cert, err, errlen)) == NULL)
		goto out;
	if (next_ra_cert != NULL && *next_ra_cert != '\0') {
		if ((ra = read_pem_certs(next_ra_cert, err, errlen)) == NULL)
			goto out;
		if (sk_X509_num(ra) != 1) {
			snprintf(err, errlen, "%s: expected one certificate",
			    next_ra_cert);
			goto out;
		}
	}
	if (check_next(ca, sk_X509_value(next, 0), ra ? sk_X509_value(ra, 0) :
	    NULL, next_ca_cert, next_ra_cert, err, errlen) == -1)
		goto out;
	if ((certs = sk_X509_new_null()) == NULL ||
	    (ra != NULL && sk_X509_push(certs, sk_X509_value(ra, 0)) <= 0)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < sk_X509_num(next); i++)
		if (sk_X509_push(certs, sk_X509_value(next, i)) <= 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	if (sign_next(ca, certs, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	sk_X509_free(certs);
	sk_X509_pop_free(next, X509_free);
	sk_X509_pop_free(ra, X509_free);
	return rc;
}

int
p7_ca_getnextcacert(const struct p7_ca *ca, const unsigned char **der,
    size_t *len)
{
	if (ca->getnextcacert == NULL)
		return -1;
	*der = ca->getnextcacert;
	*len = ca->getnextcacert_len;
	return 0;
}
