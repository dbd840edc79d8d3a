/*
 * Creating a CA (and RA) for scepctl ca init, and checking an existing
 * enterprise CA for scepctl ca import.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/local.h"

/*
 * A new CA or RA key where out says: generated on the token for a
 * pkcs11: URI (then loaded from it), else in memory, to be written to
 * the file out.  Returns the key, or NULL with err.
 */
static EVP_PKEY *
key_new(const char *out, const struct p7_key_source *keys, int ec, int bits,
    char *err, size_t errlen)
{
	EVP_PKEY	*key;

	if (p7_key_is_pkcs11(out)) {
		if (p7_key_generate(out, keys, ec, bits, err, errlen) == -1)
			return NULL;
		return p7_key_load(out, keys, err, errlen);
	}
	if ((key = ec ? EVP_EC_gen("P-256") :
	    EVP_RSA_gen((unsigned int)bits)) == NULL) {
		if (ec)
			snprintf(err, errlen, "cannot generate a P-256 key");
		else
			snprintf(err, errlen, "cannot generate a %d-bit RSA key",
			    bits);
	}
	return key;
}

/* Open path for writing, refusing to replace an existing file. */
static FILE *
create_file(const char *path, mode_t mode, char *err, size_t errlen)
{
	FILE	*f;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/*
 * Write a certificate (and chain), or a key: encrypted (PKCS#8, AES-256)
 * when keys configures a passphrase; a key on a token is not written.
 */
static int
write_pem(const char *path, X509 *crt, STACK_OF(X509) *chain, EVP_PKEY *key,
    const struct p7_key_source *keys, char *err, size_t errlen)
{
	FILE	*f;
	char	 pass[1024];
	int	 ok, have = 0;

	if (key != NULL && p7_key_is_pkcs11(path))
		return 0;
	if (key != NULL && (have = p7_key_passphrase(keys, pass, sizeof(pass),
	    err, errlen)) == -1)
		return -1;
	if ((f = create_file(path, key != NULL ? 0600 : 0644, err, errlen)) ==
	    NULL) {
		OPENSSL_cleanse(pass, sizeof(pass));
		return -1;
	}
	if (key != NULL && have)
		ok = PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(), NULL, 0,
		    NULL, pass);
	else if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else {
		ok = PEM_write_X509(f, crt);
		for (int i = 0; ok && i < sk_X509_num(chain); i++)
			ok = PEM_write_X509(f, sk_X509_value(chain, i));
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "%s: write failed", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* Parse an "/O=Example/CN=Example CA" subject as openssl req -subj does. */
static X509_NAME *
parse_subject(const char *subject)
{
	X509_NAME	*name;
	char		 buf[512], *p, *next, *eq;

	if (strlen(subject) >= sizeof(buf) || subject[0] != '/' ||
	    (name = X509_NAME_new()) == NULL)
		return NULL;
	memcpy(buf, subject, strlen(subject) + 1);
	for (p = buf + 1; p != NULL && *p != '\0'; p = next) {
		if ((next = strchr(p, '/')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(p, '=')) == NULL ||
		    (*eq++ = '\0', X509_NAME_add_entry_by_txt(name, p,
		    MBSTRING_UTF8, (unsigned char *)eq, -1, -1, 0)) != 1) {
			X509_NAME_free(name);
			return NULL;
		}
	}
	return name;
}

/*
 * Make a certificate for key with subject (an "/O=x/CN=y" string) issued
 * by issuer (NULL: self-signed) with the given keyUsage and CA flag.
 */
static X509 *
make_cert(const char *subject, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int days, int is_ca, const char *key_usage)
{
	X509		*crt = NULL;	/* owned until returned */
	X509_NAME	*name = NULL;	/* owned */
	unsigned char	 serial[P7_SERIAL_LEN];
	BIGNUM		*bn = NULL;	/* owned */
	ASN1_INTEGER	*sn = NULL;	/* owned */
	X509V3_CTX	 ctx;
	int		 ok = 0;

	if ((name = parse_subject(subject)) == NULL)
		goto out;
	if (p7_serial_random(serial) == -1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    (crt = X509_new()) == NULL)
		goto out;
	if (X509_set_version(crt, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(crt, sn) != 1 ||
	    X509_set_subject_name(crt, name) != 1 ||
	    X509_set_issuer_name(crt, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(crt, key) != 1 ||
	    /* An hour back: clients with a slightly late clock still accept it. */
	    X509_gmtime_adj(X509_getm_notBefore(crt), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(crt), days, 0, NULL) == NULL)
		goto out;
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : crt, crt, NULL, NULL, 0);
	if (p7_add_ext(crt, &ctx, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    p7_add_ext(crt, &ctx, NID_key_usage, key_usage) ||
	    p7_add_ext(crt, &ctx, NID_subject_key_identifier, "hash") ||
	    p7_add_ext(crt, &ctx, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (X509_sign(crt, issuer_key != NULL ? issuer_key : key,
	    EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		X509_free(crt);
		crt = NULL;
	}
	X509_NAME_free(name);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return crt;
}

int
p7_ca_create(const struct p7_ca_create *o, char *err, size_t errlen)
{
	EVP_PKEY	*ca_key = NULL, *ra_key = NULL;	/* owned */
	X509		*ca = NULL, *ra = NULL;		/* owned */
	int		 rc = -1;

	if (access(o->ca_cert_out, F_OK) == 0 || access(o->ca_key_out, F_OK) == 0) {
		snprintf(err, errlen, "%s or %s already exists", o->ca_cert_out,
		    o->ca_key_out);
		return -1;
	}
	/* Clients encrypt to the CA without an RA: RFC 8894 3.1 needs RSA. */
	if (o->ca_ec && o->ra_subject == NULL) {
		snprintf(err, errlen, "an EC CA needs an RA (with an RSA key): "
		    "clients encrypt their requests to the RA");
		return -1;
	}
	if (o->ra_subject != NULL && (access(o->ra_cert_out, F_OK) == 0 ||
	    access(o->ra_key_out, F_OK) == 0)) {
		snprintf(err, errlen, "%s or %s already exists", o->ra_cert_out,
		    o->ra_key_out);
		return -1;
	}
	if ((ca_key = key_new(o->ca_key_out, o->keys, o->ca_ec, o->ca_bits, err,
	    errlen)) == NULL)
		goto out;
	/*
	 * digitalSignature next to keyCertSign and cRLSign: RFC 8894 2.1.2,
	 * and Apple picks the CA for CertRep signatures only with it.  In
	 * CA mode (no RA) clients also encrypt to the CA certificate, which
	 * then needs keyEncipherment (RFC 8894 2.1).
	 */
	if ((ca = make_cert(o->ca_subject, ca_key, NULL, NULL, o->ca_days, 1,
	    o->ra_subject == NULL ?
	    "critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment" :
	    "critical,keyCertSign,cRLSign,digitalSignature")) == NULL) {
		snprintf(err, errlen, "cannot create the CA certificate "
		    "(subject must look like /O=Example/CN=Example CA)");
		goto out;
	}
	if (o->ra_subject != NULL) {
		if ((ra_key = key_new(o->ra_key_out, o->keys, 0, o->ra_bits, err,
		    errlen)) == NULL)
			goto out;
		/* The RA decrypts requests and signs CertReps (RFC 8894 2.1). */
		if ((ra = make_cert(o->ra_subject, ra_key, ca, ca_key, o->ra_days,
		    0, "critical,digitalSignature,keyEncipherment")) == NULL) {
			snprintf(err, errlen, "cannot create the RA certificate");
			goto out;
		}
	}
	/* Keys first, so a certificate never exists without its key. */
	if (write_pem(o->ca_key_out, NULL, NULL, ca_key, o->keys, err,
	    errlen) == -1)
		goto out;
	if (write_pem(o->ca_cert_out, ca, NULL, NULL, NULL, err, errlen) == -1) {
		unlink(o->ca_key_out);
		goto out;
	}
	if (ra != NULL) {
		if (write_pem(o->ra_key_out, NULL, NULL, ra_key, o->keys, err,
		    errlen) == -1)
			goto out;
		if (write_pem(o->ra_cert_out, ra, NULL, NULL, NULL, err,
		    errlen) == -1) {
			unlink(o->ra_key_out);
			goto out;
		}
	}
	rc = 0;
out:
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ra_key);
	X509_free(ca);
	X509_free(ra);
	return rc;
}

int
p7_ca_import(const char *chain_in, const char *key_in, const char *ca_cert_out,
    const char *ca_key_out, const struct p7_key_source *keys, char *err,
    size_t errlen)
{
	STACK_OF(X509)	*certs = NULL;		/* owned */
	X509_STORE	*store = NULL;		/* owned */
	X509_STORE_CTX	*vctx = NULL;		/* owned */
	EVP_PKEY	*key = NULL;		/* owned */
	X509		*crt, *top;		/* borrowed from certs */
	BIO		*bio = NULL;		/* owned */
	STACK_OF(X509)	*rest;
	int		 rc = -1, n;

	/* A key goes onto a token with the token's own tools. */
	if (p7_key_is_pkcs11(ca_key_out) && strcmp(key_in, ca_key_out) != 0) {
		snprintf(err, errlen, "ca.key is %s: --key must be that URI "
		    "(put the key on the token first)", ca_key_out);
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL ||
	    (bio = BIO_new_file(chain_in, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open", chain_in);
		goto out;
	}
	while ((crt = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(certs, crt)) {
			X509_free(crt);
			goto out;
		}
	BIO_free(bio);
	if ((n = sk_X509_num(certs)) == 0) {
		bio = NULL;
		snprintf(err, errlen, "%s: no PEM certificate", chain_in);
		goto out;
	}
	bio = NULL;
	if ((key = p7_key_load(key_in, keys, err, errlen)) == NULL)
		goto out;
	crt = sk_X509_value(certs, 0);
	if (X509_check_private_key(crt, key) != 1) {
		snprintf(err, errlen, "the key does not match the first "
		    "certificate of %s", chain_in);
		goto out;
	}
	if (X509_check_ca(crt) == 0 ||
	    ((X509_get_extension_flags(crt) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(crt) & KU_KEY_CERT_SIGN))) {
		snprintf(err, errlen, "the first certificate of %s is not a CA "
		    "allowed to sign certificates", chain_in);
		goto out;
	}
	top = sk_X509_value(certs, n - 1);
	if (X509_check_issued(top, top) != X509_V_OK) {
		snprintf(err, errlen, "%s must end with the self-signed root",
		    chain_in);
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, top) != 1 ||
	    (vctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	rest = sk_X509_new_null();
	for (int i = 1; rest != NULL && i < n - 1; i++)
		sk_X509_push(rest, sk_X509_value(certs, i));
	if (rest == NULL || X509_STORE_CTX_init(vctx, store, crt, rest) != 1) {
		sk_X509_free(rest);
		goto out;
	}
	if (X509_verify_cert(vctx) != 1) {
		snprintf(err, errlen, "the chain in %s does not verify: %s",
		    chain_in, X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(vctx)));
		sk_X509_free(rest);
		goto out;
	}
	sk_X509_free(rest);
	if (write_pem(ca_key_out, NULL, NULL, key, keys, err, errlen) == -1)
		goto out;
	{
		STACK_OF(X509)	*above = sk_X509_new_null();

		for (int i = 1; above != NULL && i < n; i++)
			sk_X509_push(above, sk_X509_value(certs, i));
		if (above == NULL || write_pem(ca_cert_out, crt, above, NULL,
		    NULL, err, errlen) == -1) {
			sk_X509_free(above);
			unlink(ca_key_out);
			goto out;
		}
		sk_X509_free(above);
	}
	rc = 0;
out:
	if (rc == -1 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	EVP_PKEY_free(key);
	BIO_free(bio);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}
