/*
 * pkcs7/remote_key.c: a key held elsewhere signs and decrypts through
 * every OpenSSL path scepd uses (certificates, CRLs, CertReps, envelopes),
 * each private operation is exactly one call of the transport, the
 * private half can never be read out, and ordinary keys are untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "pkcs7/pkcs7.h"

struct holder {
	EVP_PKEY	*keys[2];
	int		 calls;
	int		 fail;
	enum p7_purpose	 purpose;	/* of the last call */
};

static struct holder	 h;

static int
in_process(void *arg, struct p7_remote_call *c)
{
	struct holder	*hd = arg;
	unsigned char	 id[P7_KEY_ID_LEN];

	hd->calls++;
	hd->purpose = c->purpose;
	if (hd->fail)
		return hd->fail;
	for (int i = 0; i < 2; i++)
		if (p7_key_id(hd->keys[i], id) == 0 &&
		    memcmp(id, c->key_id, sizeof(id)) == 0)
			return p7_remote_perform(hd->keys[i], c);
	return -1;
}

static EVP_PKEY *
public_of(EVP_PKEY *k)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	EVP_PKEY		*pub;
	int			 len;

	assert_true((len = i2d_PUBKEY(k, &der)) > 0);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	assert_non_null(pub);
	return pub;
}

/* A self-signed certificate for k, signed with signer. */
static X509 *
cert_for(EVP_PKEY *k, EVP_PKEY *signer)
{
	X509		*x;
	X509_NAME	*n;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"remote", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	if (X509_sign(x, signer, EVP_sha256()) <= 0)
		return X509_free(x), NULL;
	return x;
}

static int
setup(void **state)
{
	char	err[128];

	(void)state;
	memset(&h, 0, sizeof(h));
	h.keys[0] = EVP_RSA_gen(2048);
	h.keys[1] = EVP_EC_gen("P-256");
	assert_non_null(h.keys[0]);
	assert_non_null(h.keys[1]);
	assert_int_equal(p7_remote_init(in_process, &h, err, sizeof(err)), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(h.keys[0]);
	EVP_PKEY_free(h.keys[1]);
	p7_remote_shutdown();
	return 0;
}

static EVP_PKEY *
remote(int handle)
{
	EVP_PKEY	*pub = public_of(h.keys[handle]), *k;
	char		 err[128];

	k = p7_remote_key(pub, err, sizeof(err));
	EVP_PKEY_free(pub);
	assert_non_null(k);
	return k;
}

static void
certificate_signed(int handle)
{
	EVP_PKEY	*k = remote(handle);
	X509		*x;

	h.calls = 0;
	assert_non_null(x = cert_for(k, k));
	assert_int_equal(h.calls, 1);
	assert_int_equal(X509_verify(x, h.keys[handle]), 1);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_rsa_certificate(void **state)
{
	(void)state;
	certificate_signed(0);
}

static void
test_ec_certificate(void **state)
{
	(void)state;
	certificate_signed(1);
}

static void
test_crl(void **state)
{
	EVP_PKEY	*k = remote(0);
	X509_CRL	*crl;

	(void)state;
	assert_non_null(crl = X509_CRL_new());
	X509_CRL_set_version(crl, 1);
	h.calls = 0;
	assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(X509_CRL_verify(crl, h.keys[0]), 1);
	X509_CRL_free(crl);
	EVP_PKEY_free(k);
}

/* A CertRep's shape: SignedData with signed attributes, SHA-1 and -256. */
static void
test_pkcs7_signed(void **state)
{
	EVP_PKEY	*k = remote(0);
	X509		*x = cert_for(h.keys[0], h.keys[0]);
	X509_STORE	*st = X509_STORE_new();
	const EVP_MD	*mds[2] = { EVP_sha1(), EVP_sha256() };

	(void)state;
	X509_STORE_add_cert(st, x);
	for (int i = 0; i < 2; i++) {
		PKCS7			*p7;
		PKCS7_SIGNER_INFO	*si;
		BIO			*in, *out;

		assert_non_null(p7 = PKCS7_sign(NULL, NULL, NULL, NULL,
		    PKCS7_BINARY | PKCS7_PARTIAL));
		assert_non_null(si = PKCS7_sign_add_signer(p7, x, k, mds[i],
		    PKCS7_BINARY));
		in = BIO_new_mem_buf("payload", 7);
		h.calls = 0;
		assert_int_equal(PKCS7_final(p7, in, PKCS7_BINARY), 1);
		assert_int_equal(h.calls, 1);
		BIO_free(in);
		out = BIO_new(BIO_s_mem());
		assert_int_equal(PKCS7_verify(p7, NULL, st, NULL, out,
		    PKCS7_BINARY), 1);
		BIO_free(out);
		PKCS7_free(p7);
	}
	X509_STORE_free(st);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* A pkiMessage's envelope, opened with the remote RSA key. */
static void
test_pkcs7_decrypt(void **state)
{
	EVP_PKEY		*k = remote(0);
	X509			*x = cert_for(h.keys[0], h.keys[0]);
	STACK_OF(X509)		*to = sk_X509_new_null();
	PKCS7			*env;
	BIO			*in, *out;
	char			*got;
	long			 n;

	(void)state;
	sk_X509_push(to, x);
	in = BIO_new_mem_buf("a CSR, say", 10);
	assert_non_null(env = PKCS7_encrypt(to, in, EVP_aes_128_cbc(),
	    PKCS7_BINARY));
	out = BIO_new(BIO_s_mem());
	h.calls = 0;
	assert_int_equal(PKCS7_decrypt(env, k, x, out, PKCS7_BINARY), 1);
	assert_int_equal(h.calls, 1);
	n = BIO_get_mem_data(out, &got);
	assert_int_equal(n, 10);
	assert_memory_equal(got, "a CSR, say", 10);
	BIO_free(in);
	BIO_free(out);
	PKCS7_free(env);
	sk_X509_free(to);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * The holder refuses, or is gone: the signature fails, nothing is made,
 * and only the second is unavailable (a 503, not a FAILURE).
 */
static void
test_transport_failure(void **state)
{
	EVP_PKEY	*k = remote(0);

	(void)state;
	p7_remote_clear();
	h.fail = -1;
	assert_null(cert_for(k, k));
	assert_int_equal(p7_remote_unavailable(), 0);
	assert_int_equal(p7_remote_refused(), 1);
	p7_remote_clear();
	assert_int_equal(p7_remote_refused(), 0);
	h.fail = P7_REMOTE_UNAVAILABLE;
	assert_null(cert_for(k, k));
	assert_int_equal(p7_remote_unavailable(), 1);
	assert_int_equal(p7_remote_refused(), 0);
	/* It stays said until the next request begins. */
	h.fail = 0;
	X509_free(cert_for(k, k));
	assert_int_equal(p7_remote_unavailable(), 1);
	p7_remote_clear();
	assert_int_equal(p7_remote_unavailable(), 0);
	assert_int_equal(p7_remote_refused(), 0);
	ERR_clear_error();
	EVP_PKEY_free(k);
}

/*
 * Each call carries the purpose this thread set last, until it is set
 * again; every purpose has its name, and none past the last.
 */
static void
test_purpose(void **state)
{
	EVP_PKEY	*k = remote(0);
	X509		*x;
	X509_CRL	*crl;

	(void)state;
	p7_remote_set_purpose(P7_PURPOSE_CERT);
	assert_non_null(x = cert_for(k, k));
	assert_int_equal(h.purpose, P7_PURPOSE_CERT);
	X509_free(x);
	assert_non_null(x = cert_for(k, k));
	assert_int_equal(h.purpose, P7_PURPOSE_CERT);
	X509_free(x);
	p7_remote_set_purpose(P7_PURPOSE_CRL);
	assert_non_null(crl = X509_CRL_new());
	assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
	assert_int_equal(h.purpose, P7_PURPOSE_CRL);
	X509_CRL_free(crl);
	p7_remote_set_purpose(P7_PURPOSE_NONE);
	assert_string_equal(p7_purpose_name(P7_PURPOSE_CERT), "certificate");
	assert_string_equal(p7_purpose_name(P7_PURPOSE_CERTREP), "certrep");
	assert_string_equal(p7_purpose_name(P7_PURPOSE_CRL), "crl");
	assert_string_equal(p7_purpose_name(P7_PURPOSE_OCSP), "ocsp");
	assert_string_equal(p7_purpose_name(P7_PURPOSE_DECRYPT), "decrypt");
	assert_null(p7_purpose_name(P7_PURPOSE_NONE));
	assert_null(p7_purpose_name(P7_PURPOSE_MAX));
	EVP_PKEY_free(k);
}

/* Nothing here can write out the private half: there is none. */
static void
test_no_private_export(void **state)
{
	EVP_PKEY	*k = remote(0);
	unsigned char	*der = NULL;
	OSSL_PARAM	*params = NULL;
	BIO		*b = BIO_new(BIO_s_mem());

	(void)state;
	assert_true(i2d_PrivateKey(k, &der) <= 0);
	assert_int_not_equal(EVP_PKEY_todata(k, EVP_PKEY_KEYPAIR, &params), 1);
	assert_int_not_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
	    NULL, NULL), 1);
	ERR_clear_error();
	BIO_free(b);
	EVP_PKEY_free(k);
}

/* With the provider loaded, an ordinary key signs and decrypts itself. */
static void
test_ordinary_keys(void **state)
{
	X509		*x;
	EVP_PKEY_CTX	*ctx;
	unsigned char	 ct[512], pt[512];
	size_t		 ctlen = sizeof(ct), ptlen = sizeof(pt);

	(void)state;
	h.calls = 0;
	assert_non_null(x = cert_for(h.keys[0], h.keys[0]));
	assert_int_equal(X509_verify(x, h.keys[0]), 1);
	X509_free(x);
	assert_non_null(ctx = EVP_PKEY_CTX_new(h.keys[0], NULL));
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ctlen,
	    (const unsigned char *)"k", 1), 1);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, pt, &ptlen, ct, ctlen), 1);
	assert_int_equal(ptlen, 1);
	EVP_PKEY_CTX_free(ctx);
	assert_int_equal(h.calls, 0);
}

/* The holder's checks: a digest of the wrong size, a hash not allowed. */
static void
test_perform_refuses(void **state)
{
	struct p7_remote_call	c;
	unsigned char		dg[32] = { 0 }, out[512];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.op = P7_REMOTE_SIGN;
	c.md_nid = NID_sha256;
	c.in = dg;
	c.in_len = 31;
	c.out = out;
	c.out_cap = sizeof(out);
	assert_int_equal(p7_remote_perform(h.keys[0], &c), -1);
	c.in_len = 32;
	c.md_nid = NID_sha3_256;
	assert_int_equal(p7_remote_perform(h.keys[0], &c), -1);
	c.md_nid = NID_sha256;
	assert_int_equal(p7_remote_perform(h.keys[0], &c), 0);
	assert_int_equal(c.out_len, 256);
	c.op = P7_REMOTE_DECRYPT;
	assert_int_equal(p7_remote_perform(h.keys[1], &c), -1);
	c.out_cap = 100;
	c.op = P7_REMOTE_SIGN;
	assert_int_equal(p7_remote_perform(h.keys[0], &c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_certificate),
		cmocka_unit_test(test_ec_certificate),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_pkcs7_signed),
		cmocka_unit_test(test_pkcs7_decrypt),
		cmocka_unit_test(test_transport_failure),
		cmocka_unit_test(test_purpose),
		cmocka_unit_test(test_no_private_export),
		cmocka_unit_test(test_ordinary_keys),
		cmocka_unit_test(test_perform_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
