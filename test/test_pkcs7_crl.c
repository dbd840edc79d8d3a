/*
 * Unit tests of pkcs7/crl.c and pkcs7/ocsp.c: CRLs and OCSP responses
 * made by scepd, checked with plain OpenSSL (X509_STORE with CRL
 * checking, OCSP_basic_verify) and, when the openssl command is on the
 * PATH, with "openssl crl/verify/ocsp" as an operator would.
 *
 * The test PKI (a CA, the same CA with an RA, a CA lacking cRLSign,
 * another CA, leaves) is made in the group setup with OpenSSL and written
 * to a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/pkcs7.h"
#include "pkcs7/local.h"	/* struct p7_req for GetCRL, p7_nids() */

#define NLEAF	4

/* Leaf serials as db/ stores them; "80" is DER 00 80. */
static const char *leaf_serial[NLEAF] = {
	"0A", "80", "7F0102030405060708090A0B0C0D0E0F10", "ABCDEF",
};

static struct {
	char		 dir[64];
	char		 path[32][128];
	int		 npath;
	EVP_PKEY	*ca_key, *ra_key, *other_key, *leaf_key;
	X509		*ca, *ra, *nocrl, *other, *client;
	X509		*leaf[NLEAF];
	X509		*other_leaf, *ocsp_foreign, *ocsp_noeku;
	struct p7_ca	*pca;		/* CA mode */
	struct p7_ca	*pra;		/* the same CA with an RA */
	struct p7_ca	*pnocrl;	/* keyUsage without cRLSign */
	const char	*ca_pem, *leaf_pem[NLEAF], *other_leaf_pem;
	const char	*signer_pem, *signer_key;
	int		 have_openssl;
	time_t		 now;
} g;

static const char *
tmp_path(const char *name)
{
	char	 buf[sizeof(g.path[0])];

	assert_true(g.npath < (int)(sizeof(g.path) / sizeof(g.path[0])));
	assert_true(snprintf(buf, sizeof(buf), "%s/%s", g.dir, name) <
	    (int)sizeof(buf));
	memcpy(g.path[g.npath], buf, sizeof(buf));
	return g.path[g.npath++];
}

static EVP_PKEY *
rsa_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for key named cn, serial in hex, issued by issuer (NULL:
 * self-signed).  kind: 'c' CA, 'n' CA without cRLSign, 'r' RA, 'l'
 * leaf, 'o' OCSP signer.
 */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    const char *serial, int kind)
{
	X509		*x, *iss;
	X509_NAME	*name;
	BIGNUM		*bn = NULL;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_true(BN_hex2bn(&bn, serial) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"scepd tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, key);
	iss = issuer != NULL ? issuer : x;
	add_ext(x, iss, NID_subject_key_identifier, "hash");
	switch (kind) {
	case 'c':
	case 'n':
		add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, iss, NID_key_usage, kind == 'c' ?
		    "critical,digitalSignature,keyEncipherment,keyCertSign,"
		    "cRLSign" : "critical,keyCertSign,keyEncipherment");
		break;
	case 'r':
		add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, iss, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		break;
	case 'l':
		add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
		add_ext(x, iss, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		break;
	case 'o':
		add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
		add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
		add_ext(x, iss, NID_ext_key_usage, "OCSPSigning");
		break;
	}
	assert_true(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static const char *
write_cert(const char *name, X509 *x)
{
	const char	*path = tmp_path(name);
	FILE		*fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	return path;
}

static const char *
write_key(const char *name, EVP_PKEY *key)
{
	const char	*path = tmp_path(name);
	FILE		*fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	return path;
}

static struct p7_ca *
load_ca(const char *cert, const char *key, const char *ra, const char *rakey)
{
	struct p7_ca_files	 f;
	struct p7_ca		*ca;
	char			 err[256];

	memset(&f, 0, sizeof(f));
	f.ca_cert = cert;
	f.ca_key = key;
	f.ra_cert = ra;
	f.ra_key = rakey;
	if ((ca = p7_ca_load(&f, err, sizeof(err))) == NULL)
		fail_msg("p7_ca_load: %s", err);
	return ca;
}

static int
group_setup(void **state)
{
	const char	*cakey;
	char		 name[32];
	int		 i;

	(void)state;
	snprintf(g.dir, sizeof(g.dir), "/tmp/scepd-test-crl.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	g.now = time(NULL);
	g.have_openssl = system("openssl version >/dev/null 2>&1") == 0;

	g.ca_key = rsa_key();
	g.ra_key = rsa_key();
	g.other_key = rsa_key();
	g.leaf_key = rsa_key();
	g.ca = make_cert("crl test CA", g.ca_key, NULL, NULL, "01", 'c');
	g.ra = make_cert("crl test RA", g.ra_key, g.ca, g.ca_key, "02", 'r');
	g.nocrl = make_cert("no cRLSign CA", g.ca_key, NULL, NULL, "03", 'n');
	g.other = make_cert("other CA", g.other_key, NULL, NULL, "01", 'c');
	g.client = make_cert("client", g.leaf_key, NULL, NULL, "05", 'l');
	for (i = 0; i < NLEAF; i++) {
		snprintf(name, sizeof(name), "leaf %d", i);
		g.leaf[i] = make_cert(name, g.leaf_key, g.ca, g.ca_key,
		    leaf_serial[i], 'l');
		snprintf(name, sizeof(name), "leaf%d.pem", i);
		g.leaf_pem[i] = write_cert(name, g.leaf[i]);
	}
	/* Same serial as leaf 0, other CA: must not be taken for ours. */
	g.other_leaf = make_cert("other leaf", g.leaf_key, g.other,
	    g.other_key, leaf_serial[0], 'l');
	g.other_leaf_pem = write_cert("otherleaf.pem", g.other_leaf);
	g.ocsp_foreign = make_cert("foreign ocsp", g.leaf_key, g.other,
	    g.other_key, "09", 'o');
	g.ocsp_noeku = make_cert("no eku ocsp", g.leaf_key, g.ca, g.ca_key,
	    "0B", 'l');

	g.ca_pem = write_cert("ca.pem", g.ca);
	cakey = write_key("ca.key", g.ca_key);
	g.pca = load_ca(g.ca_pem, cakey, NULL, NULL);
	g.pra = load_ca(g.ca_pem, cakey, write_cert("ra.pem", g.ra),
	    write_key("ra.key", g.ra_key));
	g.pnocrl = load_ca(write_cert("nocrl.pem", g.nocrl), cakey, NULL,
	    NULL);
	g.signer_pem = tmp_path("ocsp.pem");
	g.signer_key = tmp_path("ocsp.key");
	return 0;
}

static int
group_teardown(void **state)
{
	int	 i;

	(void)state;
	p7_ca_free(g.pca);
	p7_ca_free(g.pra);
	p7_ca_free(g.pnocrl);
	EVP_PKEY_free(g.ca_key);
	EVP_PKEY_free(g.ra_key);
	EVP_PKEY_free(g.other_key);
	EVP_PKEY_free(g.leaf_key);
	X509_free(g.ca);
	X509_free(g.ra);
	X509_free(g.nocrl);
	X509_free(g.other);
	X509_free(g.client);
	for (i = 0; i < NLEAF; i++)
		X509_free(g.leaf[i]);
	X509_free(g.other_leaf);
	X509_free(g.ocsp_foreign);
	X509_free(g.ocsp_noeku);
	for (i = 0; i < g.npath; i++)
		unlink(g.path[i]);
	rmdir(g.dir);
	return 0;
}

/* ---- CRL ---- */

static X509_CRL *
crl_d2i(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;
	X509_CRL		*crl;

	assert_non_null(crl = d2i_X509_CRL(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	return crl;
}

static unsigned char *
sign_crl(const struct p7_ca *ca, const struct p7_crl_entry *e, size_t n,
    uint64_t number, size_t *len)
{
	unsigned char	*der = NULL;
	char		 err[256];

	if (p7_crl_sign(ca, e, n, number, g.now - 60, g.now + 3600, &der, len,
	    err, sizeof(err)) != 0)
		fail_msg("p7_crl_sign: %s", err);
	return der;
}

/* X509_verify_cert() of leaf against the CA and this CRL. */
static int
verify_leaf(X509 *leaf, const unsigned char *der, size_t len)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx;
	X509_CRL	*crl;
	int		 ok, e;

	crl = crl_d2i(der, len);
	assert_non_null(store = X509_STORE_new());
	assert_int_equal(X509_STORE_add_cert(store, g.ca), 1);
	assert_int_equal(X509_STORE_add_crl(store, crl), 1);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	assert_non_null(ctx = X509_STORE_CTX_new());
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	ok = X509_verify_cert(ctx);
	e = X509_STORE_CTX_get_error(ctx);
	assert_true(ok == 1 ? e == X509_V_OK : e != X509_V_OK);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_CRL_free(crl);
	return e;
}

/* The fixed parts of every CRL we sign. */
static void
check_crl_shape(X509_CRL *crl, X509 *ca, uint64_t number)
{
	ASN1_INTEGER		*num;
	AUTHORITY_KEYID		*akid;
	const X509_ALGOR	*alg;
	uint64_t		 v;
	int			 crit;

	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ca)), 0);
	/* Signed by the CA key, never the RA's. */
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	X509_CRL_get0_signature(crl, NULL, &alg);
	assert_int_equal(OBJ_obj2nid(alg->algorithm),
	    NID_sha256WithRSAEncryption);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl),
	    g.now - 60), 0);
	assert_non_null(X509_CRL_get0_nextUpdate(crl));
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl),
	    g.now + 3600), 0);
	assert_non_null(num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit,
	    NULL));
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_INTEGER_get_uint64(&v, num), 1);
	assert_true(v == number);
	ASN1_INTEGER_free(num);
	assert_non_null(akid = X509_CRL_get_ext_d2i(crl,
	    NID_authority_key_identifier, &crit, NULL));
	assert_int_equal(crit, 0);
	assert_non_null(akid->keyid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid,
	    X509_get0_subject_key_id(ca)), 0);
	AUTHORITY_KEYID_free(akid);
}

static X509_REVOKED *
find_entry(X509_CRL *crl, const char *hex)
{
	X509_REVOKED	*r = NULL;
	ASN1_INTEGER	*ai;
	BIGNUM		*bn = NULL;

	assert_true(BN_hex2bn(&bn, hex) > 0);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (X509_CRL_get0_by_serial(crl, &r, ai) != 1)
		r = NULL;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return r;
}

/* The entry's reasonCode, -1 if absent. */
static int
entry_reason(X509_REVOKED *r)
{
	ASN1_ENUMERATED	*e;
	int		 v;

	if ((e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL)) ==
	    NULL)
		return -1;
	v = (int)ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return v;
}

static void
test_crl_empty(void **state)
{
	unsigned char	*der;
	size_t		 len;
	X509_CRL	*crl;
	int		 i;

	(void)state;
	der = sign_crl(g.pca, NULL, 0, 1, &len);
	crl = crl_d2i(der, len);
	check_crl_shape(crl, g.ca, 1);
	/* revokedCertificates absent: NULL, -1. */
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
	for (i = 0; i < NLEAF; i++)
		assert_int_equal(verify_leaf(g.leaf[i], der, len), X509_V_OK);
	X509_CRL_free(crl);
	OPENSSL_free(der);

	/* The CRL number is the caller's: any uint64, kept as given. */
	der = sign_crl(g.pca, NULL, 0, UINT64_MAX, &len);
	crl = crl_d2i(der, len);
	check_crl_shape(crl, g.ca, UINT64_MAX);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

static void
test_crl_one(void **state)
{
	struct p7_crl_entry	 e = { leaf_serial[1], 0, 0 };
	unsigned char		*der;
	size_t			 len;
	X509_CRL		*crl;
	X509_REVOKED		*r;

	(void)state;
	e.revoked_at = g.now - 120;
	e.reason = P7_CRL_REASON_KEY_COMPROMISE;
	der = sign_crl(g.pca, &e, 1, 2, &len);
	crl = crl_d2i(der, len);
	check_crl_shape(crl, g.ca, 2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	assert_non_null(r = find_entry(crl, leaf_serial[1]));
	assert_int_equal(ASN1_TIME_cmp_time_t(
	    X509_REVOKED_get0_revocationDate(r), g.now - 120), 0);
	assert_int_equal(entry_reason(r), P7_CRL_REASON_KEY_COMPROMISE);
	assert_int_equal(verify_leaf(g.leaf[1], der, len),
	    X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify_leaf(g.leaf[0], der, len), X509_V_OK);
	assert_int_equal(verify_leaf(g.leaf[2], der, len), X509_V_OK);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

static void
test_crl_several_and_hold(void **state)
{
	struct p7_crl_entry	 e[3];
	unsigned char		*der;
	size_t			 len;
	X509_CRL		*crl;
	STACK_OF(X509_REVOKED)	*revs;
	const ASN1_INTEGER	*a, *b;
	int			 i;

	(void)state;
	/* Out of order, lower case, leading zeros: as a caller may. */
	e[0].serial = "abcdef";
	e[0].revoked_at = g.now - 300;
	e[0].reason = P7_CRL_REASON_SUPERSEDED;
	e[1].serial = "000A";
	e[1].revoked_at = g.now - 200;
	e[1].reason = P7_CRL_REASON_CERTIFICATE_HOLD;
	e[2].serial = leaf_serial[2];
	e[2].revoked_at = g.now - 100;
	e[2].reason = P7_CRL_REASON_UNSPECIFIED;
	der = sign_crl(g.pca, e, 3, 3, &len);
	crl = crl_d2i(der, len);
	check_crl_shape(crl, g.ca, 3);
	revs = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(revs), 3);
	for (i = 1; i < 3; i++) {
		a = X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i - 1));
		b = X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i));
		assert_true(ASN1_INTEGER_cmp(a, b) < 0);
	}
	assert_int_equal(entry_reason(find_entry(crl, "ABCDEF")),
	    P7_CRL_REASON_SUPERSEDED);
	assert_int_equal(entry_reason(find_entry(crl, "0A")),
	    P7_CRL_REASON_CERTIFICATE_HOLD);
	/* RFC 5280 5.3.1: unspecified is written as no reasonCode. */
	assert_int_equal(entry_reason(find_entry(crl, leaf_serial[2])), -1);
	assert_int_equal(verify_leaf(g.leaf[0], der, len),
	    X509_V_ERR_CERT_REVOKED);		/* on hold */
	assert_int_equal(verify_leaf(g.leaf[1], der, len), X509_V_OK);
	assert_int_equal(verify_leaf(g.leaf[2], der, len),
	    X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify_leaf(g.leaf[3], der, len),
	    X509_V_ERR_CERT_REVOKED);
	X509_CRL_free(crl);
	OPENSSL_free(der);

	/* The hold is released: the next CRL simply leaves it out. */
	der = sign_crl(g.pca, e + 2, 1, 4, &len);
	e[0].reason = P7_CRL_REASON_NONE;
	crl = crl_d2i(der, len);
	check_crl_shape(crl, g.ca, 4);
	assert_null(find_entry(crl, "0A"));
	assert_int_equal(verify_leaf(g.leaf[0], der, len), X509_V_OK);
	assert_int_equal(verify_leaf(g.leaf[2], der, len),
	    X509_V_ERR_CERT_REVOKED);
	X509_CRL_free(crl);
	OPENSSL_free(der);

	/* NONE: no reasonCode either. */
	der = sign_crl(g.pca, e, 1, 5, &len);
	crl = crl_d2i(der, len);
	assert_int_equal(entry_reason(find_entry(crl, "ABCDEF")), -1);
	X509_CRL_free(crl);
	OPENSSL_free(der);
}

/* With an RA the CRL is still the CA's. */
static void
test_crl_ra_mode(void **state)
{
	struct p7_crl_entry	 e = { leaf_serial[3], 0,
				    P7_CRL_REASON_CESSATION_OF_OPERATION };
	unsigned char		*der;
	size_t			 len;
	X509_CRL		*crl;

	(void)state;
	e.revoked_at = g.now;
	der = sign_crl(g.pra, &e, 1, 7, &len);
	crl = crl_d2i(der, len);
	check_crl_shape(crl, g.ca, 7);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(g.ra)), 0);
	assert_int_equal(verify_leaf(g.leaf[3], der, len),
	    X509_V_ERR_CERT_REVOKED);
	X509_CRL_free(crl);
	OPENSSL_free(der);
	ERR_clear_error();
}

static void
expect_crl_error(const struct p7_ca *ca, const struct p7_crl_entry *e,
    size_t n, time_t this_update, time_t next_update, const char *want)
{
	unsigned char	*der = NULL;
	size_t		 len = 0;
	char		 err[256] = "";

	assert_int_equal(p7_crl_sign(ca, e, n, 1, this_update, next_update,
	    &der, &len, err, sizeof(err)), -1);
	assert_null(der);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_crl_refused(void **state)
{
	static const char *bad_serials[] = {
		"", "-1", "0x1A", "12 34", "xyz",
		/* 21 octets */
		"010203040506070809101112131415161718192021",
	};
	struct p7_crl_entry	 e[2];
	size_t			 i;
	time_t			 t = g.now;

	(void)state;
	memset(e, 0, sizeof(e));
	e[0].serial = NULL;
	expect_crl_error(g.pca, e, 1, t, t + 60, "bad serial");
	for (i = 0; i < sizeof(bad_serials) / sizeof(bad_serials[0]); i++) {
		e[0].serial = bad_serials[i];
		expect_crl_error(g.pca, e, 1, t, t + 60, "bad serial");
	}
	/* 20 octets is the most RFC 5280 allows, and fine. */
	e[0].serial = "7102030405060708091011121314151617181920";
	e[0].reason = P7_CRL_REASON_NONE;
	expect_crl_error(g.pca, e, 1, t, t, "nextUpdate");
	expect_crl_error(g.pca, e, 1, t, t - 1, "nextUpdate");
	e[0].reason = 7;
	expect_crl_error(g.pca, e, 1, t, t + 60, "reason");
	e[0].reason = 8;	/* removeFromCRL: delta CRLs only */
	expect_crl_error(g.pca, e, 1, t, t + 60, "reason");
	e[0].reason = 11;
	expect_crl_error(g.pca, e, 1, t, t + 60, "reason");
	e[0].reason = -2;
	expect_crl_error(g.pca, e, 1, t, t + 60, "reason");
	/* The same serial twice, spelt differently. */
	e[0].reason = P7_CRL_REASON_NONE;
	e[0].serial = "0a";
	e[1].serial = "A";
	e[1].reason = P7_CRL_REASON_NONE;
	expect_crl_error(g.pca, e, 2, t, t + 60, "twice");
	expect_crl_error(g.pnocrl, NULL, 0, t, t + 60, "cRLSign");
}

static void
test_crl_reason_names(void **state)
{
	int	 r;

	(void)state;
	assert_string_equal(p7_crl_reason_name(6), "certificateHold");
	assert_string_equal(p7_crl_reason_name(1), "keyCompromise");
	assert_null(p7_crl_reason_name(7));
	assert_null(p7_crl_reason_name(8));
	assert_null(p7_crl_reason_name(-1));
	assert_int_equal(p7_crl_reason_from_name("KEYCOMPROMISE", &r), 0);
	assert_int_equal(r, P7_CRL_REASON_KEY_COMPROMISE);
	assert_int_equal(p7_crl_reason_from_name("aACompromise", &r), 0);
	assert_int_equal(r, P7_CRL_REASON_AA_COMPROMISE);
	assert_int_equal(p7_crl_reason_from_name("removeFromCRL", &r), -1);
	assert_int_equal(p7_crl_reason_from_name("", &r), -1);
	assert_true(p7_crl_reason_valid(P7_CRL_REASON_NONE));
	assert_true(p7_crl_reason_valid(0));
	assert_false(p7_crl_reason_valid(8));
}

/* Run a shell command; its exit status, output in out (if not NULL). */
static int
run(char *out, size_t outlen, const char *fmt, ...)
{
	char	 cmd[2048];
	va_list	 ap;
	FILE	*p;
	size_t	 n = 0;
	int	 st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	if (out != NULL) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	} else {
		char	 sink[512];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *
write_der_as(const char *name, const unsigned char *der, size_t len)
{
	const char	*path = tmp_path(name);
	FILE		*fp;

	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(der, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* What an operator runs: openssl crl -verify, openssl verify -crl_check. */
static void
test_crl_openssl_cli(void **state)
{
	struct p7_crl_entry	 e[2];
	unsigned char		*der;
	size_t			 len;
	const char		*crl;
	char			 out[4096];

	(void)state;
	if (!g.have_openssl)
		skip();
	memset(e, 0, sizeof(e));
	e[0].serial = leaf_serial[0];
	e[0].revoked_at = g.now - 10;
	e[0].reason = P7_CRL_REASON_KEY_COMPROMISE;
	e[1].serial = leaf_serial[1];
	e[1].revoked_at = g.now - 10;
	e[1].reason = P7_CRL_REASON_CERTIFICATE_HOLD;
	der = sign_crl(g.pca, e, 2, 42, &len);
	crl = write_der_as("cli.crl", der, len);
	OPENSSL_free(der);

	assert_int_equal(run(out, sizeof(out), "openssl crl -inform DER "
	    "-in %s -CAfile %s -verify -noout -text 2>&1", crl, g.ca_pem), 0);
	assert_non_null(strstr(out, "verify OK"));
	assert_non_null(strstr(out, "X509v3 CRL Number"));
	assert_non_null(strstr(out, "42"));
	assert_non_null(strstr(out, "Key Compromise"));
	assert_non_null(strstr(out, "Certificate Hold"));
	/* openssl verify wants the CRL in PEM. */
	assert_int_equal(run(NULL, 0, "openssl crl -inform DER -in %s "
	    "-out %s.pem", crl, crl), 0);
	tmp_path("cli.crl.pem");
	assert_int_not_equal(run(out, sizeof(out), "openssl verify -crl_check "
	    "-CAfile %s -CRLfile %s.pem %s 2>&1", g.ca_pem, crl,
	    g.leaf_pem[0]), 0);
	assert_non_null(strstr(out, "error 23"));
	assert_int_not_equal(run(out, sizeof(out), "openssl verify -crl_check "
	    "-CAfile %s -CRLfile %s.pem %s 2>&1", g.ca_pem, crl,
	    g.leaf_pem[1]), 0);
	assert_non_null(strstr(out, "error 23"));
	assert_int_equal(run(out, sizeof(out), "openssl verify -crl_check "
	    "-CAfile %s -CRLfile %s.pem %s 2>&1", g.ca_pem, crl,
	    g.leaf_pem[2]), 0);
	assert_non_null(strstr(out, ": OK"));
}

/* The certs-only SignedData of a GetCRL answer, as OpenSSL reads it. */
static void
check_crl_bag(const unsigned char *bag, size_t baglen,
    const unsigned char *crl, size_t crllen)
{
	const unsigned char	*p = bag;
	PKCS7			*p7;
	X509_CRL		*got;
	unsigned char		*der = NULL;
	int			 n;

	assert_non_null(p7 = d2i_PKCS7(NULL, &p, (long)baglen));
	assert_ptr_equal(p, bag + baglen);
	assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_signed);
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	assert_true(sk_X509_num(p7->d.sign->cert) <= 0);	/* NULL: -1 */
	assert_int_equal(sk_X509_CRL_num(p7->d.sign->crl), 1);
	assert_int_equal(OBJ_obj2nid(p7->d.sign->contents->type),
	    NID_pkcs7_data);
	assert_null(p7->d.sign->contents->d.data);
	got = sk_X509_CRL_value(p7->d.sign->crl, 0);
	assert_int_equal(n = i2d_X509_CRL(got, &der), (int)crllen);
	assert_memory_equal(der, crl, crllen);
	OPENSSL_free(der);
	PKCS7_free(p7);
}

static void
test_crl_certs_only(void **state)
{
	unsigned char	*crl, *bag = NULL, *junk;
	size_t		 len, baglen;

	(void)state;
	crl = sign_crl(g.pca, NULL, 0, 9, &len);
	assert_int_equal(p7_crl_certs_only(crl, len, &bag, &baglen), 0);
	check_crl_bag(bag, baglen, crl, len);
	OPENSSL_free(bag);

	/* Exactly one CRL: no trailing bytes, no truncation, no junk. */
	assert_non_null(junk = OPENSSL_malloc(len + 1));
	memcpy(junk, crl, len);
	junk[len] = 0;
	bag = NULL;
	assert_int_equal(p7_crl_certs_only(junk, len + 1, &bag, &baglen), -1);
	assert_int_equal(p7_crl_certs_only(junk, len - 1, &bag, &baglen), -1);
	assert_int_equal(p7_crl_certs_only(junk, 0, &bag, &baglen), -1);
	junk[0] = 0x04;
	assert_int_equal(p7_crl_certs_only(junk, len, &bag, &baglen), -1);
	assert_null(bag);
	OPENSSL_free(junk);
	OPENSSL_free(crl);
	ERR_clear_error();
}

static const ASN1_TYPE *
signed_attr(PKCS7_SIGNER_INFO *si, int nid)
{
	return PKCS7_get_signed_attribute(si, nid);
}

/* CertRep SUCCESS to a GetCRL, by the RA and in CA mode. */
static void
certrep_crl(const struct p7_ca *ca, X509 *signcert)
{
	const struct p7_nids	*nids;
	struct p7_req		 req;
	unsigned char		*crl, *rep = NULL, *content;
	const unsigned char	*p;
	size_t			 len, replen;
	long			 clen;
	PKCS7			*p7, *env;
	PKCS7_SIGNER_INFO	*si;
	STACK_OF(X509)		*signers;
	const ASN1_TYPE		*t;
	BIO			*out, *plain;

	assert_non_null(nids = p7_nids());
	memset(&req, 0, sizeof(req));
	req.msg_type = P7_MSG_GETCRL;
	strcpy(req.transaction_id, "getcrl-1");
	assert_int_equal(RAND_bytes(req.sender_nonce, P7_NONCE_LEN), 1);
	req.cipher = P7_CIPHER_AES256;
	req.cipher_allowed = 1;
	req.digest = P7_MD_SHA256;
	req.digest_allowed = 1;
	req.signer = g.client;

	crl = sign_crl(ca, NULL, 0, 11, &len);
	assert_int_equal(p7_certrep_crl(ca, &req, crl, len, &rep, &replen), 0);
	p = rep;
	assert_non_null(p7 = d2i_PKCS7(NULL, &p, (long)replen));
	assert_ptr_equal(p, rep + replen);
	si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	assert_non_null(si);
	assert_non_null(t = signed_attr(si, nids->pki_status));
	assert_int_equal(t->type, V_ASN1_PRINTABLESTRING);
	assert_int_equal(t->value.printablestring->length, 1);
	assert_int_equal(t->value.printablestring->data[0], '0');
	assert_non_null(t = signed_attr(si, nids->message_type));
	assert_int_equal(t->value.printablestring->data[0], '3');
	assert_non_null(t = signed_attr(si, nids->recipient_nonce));
	assert_memory_equal(t->value.octet_string->data, req.sender_nonce,
	    P7_NONCE_LEN);

	out = BIO_new(BIO_s_mem());
	assert_int_equal(PKCS7_verify(p7, NULL, NULL, NULL, out,
	    PKCS7_NOVERIFY | PKCS7_BINARY), 1);
	assert_non_null(signers = PKCS7_get0_signers(p7, NULL, 0));
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), signcert), 0);
	sk_X509_free(signers);
	clen = BIO_get_mem_data(out, (char **)&content);
	p = content;
	assert_non_null(env = d2i_PKCS7(NULL, &p, clen));
	assert_int_equal(OBJ_obj2nid(env->type), NID_pkcs7_enveloped);
	assert_int_equal(OBJ_obj2nid(
	    env->d.enveloped->enc_data->algorithm->algorithm),
	    NID_aes_256_cbc);
	plain = BIO_new(BIO_s_mem());
	assert_int_equal(PKCS7_decrypt(env, g.leaf_key, g.client, plain, 0),
	    1);
	clen = BIO_get_mem_data(plain, (char **)&content);
	check_crl_bag(content, (size_t)clen, crl, len);
	BIO_free(plain);
	PKCS7_free(env);
	BIO_free(out);
	PKCS7_free(p7);
	OPENSSL_free(rep);

	/* No signer certificate to encrypt to; not a CRL. */
	req.signer = NULL;
	rep = NULL;
	assert_int_equal(p7_certrep_crl(ca, &req, crl, len, &rep, &replen),
	    -1);
	req.signer = g.client;
	assert_int_equal(p7_certrep_crl(ca, &req, crl, len - 1, &rep,
	    &replen), -1);
	assert_null(rep);
	OPENSSL_free(crl);
	ERR_clear_error();
}

static void
test_certrep_crl(void **state)
{
	(void)state;
	certrep_crl(g.pra, g.ra);
	certrep_crl(g.pca, g.ca);
}

/* ---- OCSP ---- */

/* An OCSPRequest for certs (all issued by issuer) made by OpenSSL. */
static unsigned char *
ocsp_req(X509 **certs, X509 **issuers, int n, const EVP_MD *md, int nonce,
    size_t *len)
{
	OCSP_REQUEST	*req;
	OCSP_CERTID	*id;
	unsigned char	*der = NULL;
	int		 i, l;

	assert_non_null(req = OCSP_REQUEST_new());
	for (i = 0; i < n; i++) {
		assert_non_null(id = OCSP_cert_to_id(md, certs[i],
		    issuers[i]));
		assert_non_null(OCSP_request_add0_id(req, id));
	}
	if (nonce)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, -1), 1);
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	*len = (size_t)l;
	OCSP_REQUEST_free(req);
	return der;
}

static struct p7_ocsp_req *
parse_ok(const unsigned char *der, size_t len)
{
	struct p7_ocsp_req	*r = NULL;
	char			 err[256];

	if (p7_ocsp_request_parse(g.pca, der, len, &r, err, sizeof(err)) != 0)
		fail_msg("p7_ocsp_request_parse: %s", err);
	return r;
}

static void
test_ocsp_parse(void **state)
{
	X509			*certs[NLEAF + 1], *iss[NLEAF + 1];
	const EVP_MD		*mds[4];
	struct p7_ocsp_req	*r;
	unsigned char		*der;
	const unsigned char	*nonce;
	size_t			 len, nlen;
	int			 i, m;

	(void)state;
	mds[0] = EVP_sha1();
	mds[1] = EVP_sha256();
	mds[2] = EVP_sha384();
	mds[3] = EVP_sha512();
	for (i = 0; i < NLEAF; i++) {
		certs[i] = g.leaf[i];
		iss[i] = g.ca;
	}
	certs[NLEAF] = g.other_leaf;
	iss[NLEAF] = g.other;
	for (m = 0; m < 4; m++) {
		der = ocsp_req(certs, iss, NLEAF + 1, mds[m], m & 1, &len);
		r = parse_ok(der, len);
		assert_int_equal(p7_ocsp_req_count(r), NLEAF + 1);
		/* db/'s form: upper case, no leading zeros. */
		assert_string_equal(p7_ocsp_req_serial(r, 0), "A");
		assert_string_equal(p7_ocsp_req_serial(r, 1), "80");
		assert_string_equal(p7_ocsp_req_serial(r, 2), leaf_serial[2]);
		assert_string_equal(p7_ocsp_req_serial(r, 3), "ABCDEF");
		for (i = 0; i < NLEAF; i++)
			assert_int_equal(p7_ocsp_req_ours(r, i), 1);
		/* Another CA's certificate with the same serial. */
		assert_string_equal(p7_ocsp_req_serial(r, NLEAF), "A");
		assert_int_equal(p7_ocsp_req_ours(r, NLEAF), 0);
		assert_int_equal(p7_ocsp_req_ours(r, NLEAF + 1), 0);
		assert_null(p7_ocsp_req_serial(r, NLEAF + 1));
		nonce = p7_ocsp_req_get0_nonce(r, &nlen);
		if (m & 1) {
			assert_non_null(nonce);
			assert_int_equal(nlen, 18);	/* OCTET STRING of 16 */
		} else
			assert_null(nonce);
		p7_ocsp_req_free(r);
		OPENSSL_free(der);
	}
	p7_ocsp_req_free(NULL);
}

/* A CertID built by hand: serial and hash algorithm as we like. */
static unsigned char *
ocsp_req_raw(const EVP_MD *md, X509 *issuer, ASN1_INTEGER *serial,
    size_t *len)
{
	OCSP_REQUEST	*req;
	OCSP_CERTID	*id;
	unsigned char	*der = NULL;
	int		 l;

	assert_non_null(req = OCSP_REQUEST_new());
	assert_non_null(id = OCSP_cert_id_new(md,
	    X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
	    serial));
	assert_non_null(OCSP_request_add0_id(req, id));
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	*len = (size_t)l;
	OCSP_REQUEST_free(req);
	return der;
}

static void
test_ocsp_odd_certids(void **state)
{
	struct p7_ocsp_req	*r;
	ASN1_INTEGER		*ai;
	BIGNUM			*bn = NULL;
	unsigned char		*der;
	size_t			 len;

	(void)state;
	/* Negative serial: never ours. */
	ai = ASN1_INTEGER_new();
	ASN1_INTEGER_set(ai, -10);
	der = ocsp_req_raw(EVP_sha1(), g.ca, ai, &len);
	r = parse_ok(der, len);
	assert_int_equal(p7_ocsp_req_ours(r, 0), 0);
	assert_null(p7_ocsp_req_serial(r, 0));
	p7_ocsp_req_free(r);
	OPENSSL_free(der);
	ASN1_INTEGER_free(ai);

	/* 21 octets: longer than RFC 5280 allows. */
	assert_true(BN_hex2bn(&bn,
	    "7F0102030405060708090A0B0C0D0E0F1011121314") > 0);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	der = ocsp_req_raw(EVP_sha256(), g.ca, ai, &len);
	r = parse_ok(der, len);
	assert_int_equal(p7_ocsp_req_ours(r, 0), 0);
	assert_null(p7_ocsp_req_serial(r, 0));
	p7_ocsp_req_free(r);
	OPENSSL_free(der);
	ASN1_INTEGER_free(ai);
	BN_free(bn);

	/* Zero, and a hash algorithm we do not match (answered unknown). */
	ai = ASN1_INTEGER_new();
	ASN1_INTEGER_set(ai, 0);
	der = ocsp_req_raw(EVP_sha224(), g.ca, ai, &len);
	r = parse_ok(der, len);
	assert_int_equal(p7_ocsp_req_ours(r, 0), 0);
	assert_string_equal(p7_ocsp_req_serial(r, 0), "0");
	p7_ocsp_req_free(r);
	OPENSSL_free(der);
	der = ocsp_req_raw(EVP_sha1(), g.ca, ai, &len);
	r = parse_ok(der, len);
	assert_int_equal(p7_ocsp_req_ours(r, 0), 1);
	p7_ocsp_req_free(r);
	OPENSSL_free(der);
	ASN1_INTEGER_free(ai);
}

static void
expect_parse_error(const unsigned char *der, size_t len, const char *what)
{
	struct p7_ocsp_req	*r = (struct p7_ocsp_req *)1;
	char			 err[256] = "";

	if (p7_ocsp_request_parse(g.pca, der, len, &r, err, sizeof(err)) !=
	    -1)
		fail_msg("%s: parsed", what);
	assert_null(r);
	assert_true(err[0] != '\0');
	ERR_clear_error();
}

static void
test_ocsp_malformed(void **state)
{
	static const unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	X509			*c[P7_OCSP_MAX_CERTIDS + 1];
	X509			*iss[P7_OCSP_MAX_CERTIDS + 1];
	OCSP_REQUEST		*req;
	X509_EXTENSION		*ext;
	ASN1_OCTET_STRING	*os;
	ASN1_OBJECT		*obj;
	unsigned char		*der, *buf;
	size_t			 len, i;
	int			 l;

	(void)state;
	der = ocsp_req(g.leaf, (X509 *[]){ g.ca }, 1, EVP_sha1(), 1, &len);
	expect_parse_error(der, 0, "empty");
	expect_parse_error(der, len - 1, "truncated by one");
	expect_parse_error(der, len / 2, "truncated by half");
	assert_non_null(buf = OPENSSL_malloc(len + 1));
	memcpy(buf, der, len);
	buf[len] = 0x00;
	expect_parse_error(buf, len + 1, "trailing byte");
	buf[0] = 0x31;
	expect_parse_error(buf, len, "wrong tag");
	OPENSSL_free(buf);
	OPENSSL_free(der);
	expect_parse_error(garbage, sizeof(garbage), "garbage");

	/* No CertID at all. */
	req = OCSP_REQUEST_new();
	der = NULL;
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	expect_parse_error(der, (size_t)l, "no CertID");
	OPENSSL_free(der);

	/* An unknown critical extension (RFC 6960 4.4). */
	obj = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
	os = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2);
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_to_id(NULL,
	    g.leaf[0], g.ca)));
	assert_int_equal(OCSP_REQUEST_add_ext(req, ext, -1), 1);
	der = NULL;
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	expect_parse_error(der, (size_t)l, "critical extension");
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);

	/* ... but a non-critical one is ignored. */
	req = OCSP_REQUEST_new();
	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_to_id(NULL,
	    g.leaf[0], g.ca)));
	assert_int_equal(X509_EXTENSION_set_critical(ext, 0), 1);
	assert_int_equal(OCSP_REQUEST_add_ext(req, ext, -1), 1);
	der = NULL;
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	p7_ocsp_req_free(parse_ok(der, (size_t)l));
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);

	/* Two nonces. */
	req = OCSP_REQUEST_new();
	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_to_id(NULL,
	    g.leaf[0], g.ca)));
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, -1), 1);
	ext = OCSP_REQUEST_get_ext(req, 0);
	assert_int_equal(OCSP_REQUEST_add_ext(req, ext, -1), 1);
	assert_int_equal(OCSP_REQUEST_get_ext_count(req), 2);
	der = NULL;
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	expect_parse_error(der, (size_t)l, "two nonces");
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);

	/* A nonce over RFC 8954's 32 octets is accepted but not echoed. */
	req = OCSP_REQUEST_new();
	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_to_id(NULL,
	    g.leaf[0], g.ca)));
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, 64), 1);
	der = NULL;
	assert_true((l = i2d_OCSP_REQUEST(req, &der)) > 0);
	{
		struct p7_ocsp_req	*r = parse_ok(der, (size_t)l);

		assert_null(p7_ocsp_req_get0_nonce(r, &len));
		p7_ocsp_req_free(r);
	}
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);

	/* Too many CertIDs. */
	for (i = 0; i <= P7_OCSP_MAX_CERTIDS; i++) {
		c[i] = g.leaf[i % NLEAF];
		iss[i] = g.ca;
	}
	der = ocsp_req(c, iss, P7_OCSP_MAX_CERTIDS, EVP_sha1(), 0, &len);
	p7_ocsp_req_free(parse_ok(der, len));
	OPENSSL_free(der);
	der = ocsp_req(c, iss, P7_OCSP_MAX_CERTIDS + 1, EVP_sha1(), 0, &len);
	expect_parse_error(der, len, "too many CertIDs");
	OPENSSL_free(der);
}

static OCSP_BASICRESP *
resp_basic(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;
	OCSP_RESPONSE		*resp;
	OCSP_BASICRESP		*bs;

	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	OCSP_RESPONSE_free(resp);
	return bs;
}

/*
 * OCSP_basic_verify() against the CA, as a relying party would.  With
 * nochecks, only the signature and the signer's chain: OpenSSL wants
 * every CertID of a response to name the signer's CA (or the CA that
 * delegated to it), which a foreign CertID does not.
 */
static void
verify_basic(OCSP_BASICRESP *bs, X509 *signer, int nochecks)
{
	X509_STORE		*store;
	const STACK_OF(X509)	*sent;
	const X509_ALGOR	*alg;
	const ASN1_OCTET_STRING	*keyid = NULL;
	const X509_NAME		*name = NULL;
	unsigned char		 want[SHA_DIGEST_LENGTH];
	unsigned int		 n;
	int			 nid;

	assert_non_null(store = X509_STORE_new());
	assert_int_equal(X509_STORE_add_cert(store, g.ca), 1);
	/* No extra certificates, as most relying parties call it. */
	if (OCSP_basic_verify(bs, NULL, store, nochecks ? OCSP_NOCHECKS : 0)
	    != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("OCSP_basic_verify failed");
	}
	X509_STORE_free(store);

	/* responderID byKey: SHA-1 of the signer's public key. */
	assert_int_equal(OCSP_resp_get0_id(bs, &keyid, &name), 1);
	assert_non_null(keyid);
	assert_null(name);
	assert_int_equal(X509_pubkey_digest(signer, EVP_sha1(), want, &n), 1);
	assert_int_equal(keyid->length, (int)n);
	assert_memory_equal(keyid->data, want, n);
	alg = OCSP_resp_get0_tbs_sigalg(bs);
	nid = OBJ_obj2nid(alg->algorithm);
	assert_true(nid == NID_sha256WithRSAEncryption ||
	    nid == NID_ecdsa_with_SHA256);
	/* The signer's certificate is sent, CA or delegate. */
	sent = OCSP_resp_get0_certs(bs);
	assert_int_equal(sk_X509_num(sent), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sent, 0), signer), 0);
}

/* The SingleResponse for cert, checked against want. */
static void
check_single(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer, const EVP_MD *md,
    const struct p7_ocsp_status *want)
{
	OCSP_CERTID		*id;
	ASN1_GENERALIZEDTIME	*rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int			 status, reason;

	assert_non_null(id = OCSP_cert_to_id(md, cert, issuer));
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev,
	    &thisupd, &nextupd), 1);
	assert_int_equal(status, want->status);
	assert_int_equal(OCSP_check_validity(thisupd, nextupd, 300, -1), 1);
	assert_int_equal(ASN1_TIME_cmp_time_t(thisupd, want->this_update), 0);
	if (want->next_update == 0)
		assert_null(nextupd);
	else {
		assert_non_null(nextupd);
		assert_int_equal(ASN1_TIME_cmp_time_t(nextupd,
		    want->next_update), 0);
	}
	if (want->status == P7_OCSP_REVOKED) {
		assert_non_null(rev);
		assert_int_equal(ASN1_TIME_cmp_time_t(rev, want->revoked_at),
		    0);
		assert_int_equal(reason, want->reason > 0 ? want->reason :
		    OCSP_REVOKED_STATUS_NOSTATUS);
	} else
		assert_null(rev);
	OCSP_CERTID_free(id);
}

/* Requests with the nonce and without, each status, by signer. */
static void
respond_all(const struct p7_ocsp_signer *signer, X509 *signcert)
{
	X509			*certs[NLEAF + 1], *iss[NLEAF + 1];
	struct p7_ocsp_status	 st[NLEAF + 1], unknown;
	struct p7_ocsp_req	*r;
	OCSP_REQUEST		*oreq;
	OCSP_BASICRESP		*bs;
	unsigned char		*der, *resp;
	const unsigned char	*p;
	size_t			 len, rlen;
	char			 err[256];
	int			 i, n, nonce;

	for (i = 0; i < NLEAF; i++) {
		certs[i] = g.leaf[i];
		iss[i] = g.ca;
	}
	certs[NLEAF] = g.other_leaf;
	iss[NLEAF] = g.other;
	memset(st, 0, sizeof(st));
	for (i = 0; i <= NLEAF; i++) {
		st[i].this_update = g.now - 5;
		st[i].next_update = g.now + 600;
	}
	st[0].status = P7_OCSP_GOOD;
	st[1].status = P7_OCSP_REVOKED;
	st[1].revoked_at = g.now - 1000;
	st[1].reason = P7_CRL_REASON_KEY_COMPROMISE;
	st[2].status = P7_OCSP_REVOKED;		/* on hold */
	st[2].revoked_at = g.now - 2000;
	st[2].reason = P7_CRL_REASON_CERTIFICATE_HOLD;
	st[2].next_update = 0;
	st[3].status = P7_OCSP_UNKNOWN;
	/* Whatever the caller says, another CA's certificate is unknown. */
	st[NLEAF].status = P7_OCSP_GOOD;
	unknown = st[NLEAF];
	unknown.status = P7_OCSP_UNKNOWN;

	/* Nonce or not; then a foreign CertID among ours. */
	for (nonce = 0; nonce < 3; nonce++) {
		n = nonce < 2 ? NLEAF : NLEAF + 1;
		der = ocsp_req(certs, iss, n, EVP_sha256(), nonce, &len);
		r = parse_ok(der, len);
		if (p7_ocsp_respond(g.pca, r, st, signer, &resp, &rlen, err,
		    sizeof(err)) != 0)
			fail_msg("p7_ocsp_respond: %s", err);
		bs = resp_basic(resp, rlen);
		verify_basic(bs, signcert, n > NLEAF);
		for (i = 0; i < NLEAF; i++)
			check_single(bs, g.leaf[i], g.ca, EVP_sha256(), &st[i]);
		if (n > NLEAF)
			check_single(bs, g.other_leaf, g.other, EVP_sha256(),
			    &unknown);
		assert_int_equal(OCSP_resp_count(bs), n);
		p = der;
		assert_non_null(oreq = d2i_OCSP_REQUEST(NULL, &p, (long)len));
		/* 1: nonces equal; 2: neither has one. */
		assert_int_equal(OCSP_check_nonce(oreq, bs), nonce ? 1 : 2);
		OCSP_REQUEST_free(oreq);
		OCSP_BASICRESP_free(bs);
		OPENSSL_free(resp);
		p7_ocsp_req_free(r);
		OPENSSL_free(der);
	}
}

static void
test_ocsp_respond_ca(void **state)
{
	(void)state;
	respond_all(NULL, g.ca);
}

static void
test_ocsp_bad_status(void **state)
{
	struct p7_ocsp_status	 st;
	struct p7_ocsp_req	*r;
	unsigned char		*der, *resp = NULL;
	size_t			 len, rlen;
	char			 err[256];

	(void)state;
	der = ocsp_req(g.leaf, (X509 *[]){ g.ca }, 1, EVP_sha1(), 0, &len);
	r = parse_ok(der, len);
	memset(&st, 0, sizeof(st));
	st.this_update = g.now;
	st.status = 3;
	assert_int_equal(p7_ocsp_respond(g.pca, r, &st, NULL, &resp, &rlen,
	    err, sizeof(err)), -1);
	st.status = P7_OCSP_REVOKED;
	st.reason = 7;
	assert_int_equal(p7_ocsp_respond(g.pca, r, &st, NULL, &resp, &rlen,
	    err, sizeof(err)), -1);
	st.reason = P7_CRL_REASON_NONE;
	st.this_update = 0;
	assert_int_equal(p7_ocsp_respond(g.pca, r, &st, NULL, &resp, &rlen,
	    err, sizeof(err)), -1);
	st.this_update = g.now;
	st.next_update = g.now;
	assert_int_equal(p7_ocsp_respond(g.pca, r, &st, NULL, &resp, &rlen,
	    err, sizeof(err)), -1);
	assert_null(resp);
	/* Revoked without a reason: no revocationReason. */
	st.next_update = 0;
	st.revoked_at = g.now - 10;
	assert_int_equal(p7_ocsp_respond(g.pca, r, &st, NULL, &resp, &rlen,
	    err, sizeof(err)), 0);
	{
		OCSP_BASICRESP	*bs = resp_basic(resp, rlen);

		check_single(bs, g.leaf[0], g.ca, EVP_sha1(), &st);
		OCSP_BASICRESP_free(bs);
	}
	OPENSSL_free(resp);
	p7_ocsp_req_free(r);
	OPENSSL_free(der);
}

static void
test_ocsp_error(void **state)
{
	static const int ok[] = { 1, 2, 3, 5, 6 };
	static const int bad[] = { 0, 4, 7, -1 };
	const unsigned char	*p;
	unsigned char		*der;
	OCSP_RESPONSE		*resp;
	size_t			 len, i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(p7_ocsp_error(ok[i], &der, &len), 0);
		p = der;
		assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len));
		assert_ptr_equal(p, der + len);
		assert_int_equal(OCSP_response_status(resp), ok[i]);
		assert_null(OCSP_response_get1_basic(resp));
		OCSP_RESPONSE_free(resp);
		OPENSSL_free(der);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(p7_ocsp_error(bad[i], &der, &len), -1);
	ERR_clear_error();
}

static void
test_ocsp_delegated(void **state)
{
	struct p7_ocsp_signer	*s;
	X509			*cert;
	char			 err[256];
	const char		*fpem, *fkey, *npem;

	(void)state;
	if (p7_ocsp_signer_create(g.pca, "scepd OCSP", 7, g.signer_pem,
	    g.signer_key, err, sizeof(err)) != 0)
		fail_msg("p7_ocsp_signer_create: %s", err);
	/* Never overwrites. */
	assert_int_equal(p7_ocsp_signer_create(g.pca, "again", 7, g.signer_pem,
	    tmp_path("other.key"), err, sizeof(err)), -1);
	assert_int_equal(access(g.path[g.npath - 1], F_OK), -1);
	assert_int_equal(p7_ocsp_signer_create(g.pca, "bad", 0,
	    tmp_path("x.pem"), tmp_path("x.key"), err, sizeof(err)), -1);

	if ((s = p7_ocsp_signer_load(g.pca, g.signer_pem, g.signer_key, NULL,
	    err, sizeof(err))) == NULL)
		fail_msg("p7_ocsp_signer_load: %s", err);
	cert = p7_ocsp_signer_get0_cert(s);
	assert_true(X509_get_extended_key_usage(cert) & XKU_OCSP_SIGN);
	assert_true(X509_get_ext_by_NID(cert, NID_id_pkix_OCSP_noCheck, -1) >=
	    0);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(g.ca)), 1);
	respond_all(s, cert);
	p7_ocsp_signer_free(s);
	p7_ocsp_signer_free(NULL);

	/* Another CA's OCSP signer, a certificate without the EKU. */
	fpem = write_cert("foreign.pem", g.ocsp_foreign);
	fkey = write_key("leaf.key", g.leaf_key);
	assert_null(p7_ocsp_signer_load(g.pca, fpem, fkey, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not issued by the CA"));
	npem = write_cert("noeku.pem", g.ocsp_noeku);
	assert_null(p7_ocsp_signer_load(g.pca, npem, fkey, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "OCSPSigning"));
	/* Key of another certificate; missing files. */
	assert_null(p7_ocsp_signer_load(g.pca, g.signer_pem, fkey, NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	assert_null(p7_ocsp_signer_load(g.pca, "/nonexistent.pem", fkey, NULL,
	    err, sizeof(err)));
	assert_null(p7_ocsp_signer_load(g.pca, g.signer_pem,
	    "/nonexistent.key", NULL, err, sizeof(err)));
	ERR_clear_error();
}

/* Write a response for leaf i to a file, then ask openssl ocsp. */
static void
cli_check(const struct p7_ocsp_signer *signer, int leaf,
    const struct p7_ocsp_status *st, const char *want)
{
	struct p7_ocsp_req	*r;
	unsigned char		*der, *resp;
	size_t			 len, rlen;
	const char		*req_path, *resp_path;
	char			 err[256], out[4096], name[32];
	static int		 seq;
	int			 rc;

	der = ocsp_req(&g.leaf[leaf], (X509 *[]){ g.ca }, 1, EVP_sha1(), 1,
	    &len);
	r = parse_ok(der, len);
	if (p7_ocsp_respond(g.pca, r, st, signer, &resp, &rlen, err,
	    sizeof(err)) != 0)
		fail_msg("p7_ocsp_respond: %s", err);
	snprintf(name, sizeof(name), "req%d.der", seq);
	req_path = write_der_as(name, der, len);
	snprintf(name, sizeof(name), "resp%d.der", seq++);
	resp_path = write_der_as(name, resp, rlen);
	/*
	 * With -cert openssl builds its own request (without a nonce here),
	 * so the nonce echo is checked against ours with -reqin.
	 */
	rc = run(out, sizeof(out), "openssl ocsp -issuer %s -cert %s "
	    "-no_nonce -respin %s -CAfile %s 2>&1", g.ca_pem,
	    g.leaf_pem[leaf], resp_path, g.ca_pem);
	if (rc != 0 || strstr(out, "Response verify OK") == NULL ||
	    strstr(out, want) == NULL)
		fail_msg("openssl ocsp said:\n%s", out);
	rc = run(out, sizeof(out), "openssl ocsp -reqin %s -respin %s "
	    "-CAfile %s 2>&1", req_path, resp_path, g.ca_pem);
	if (rc != 0 || strstr(out, "Response verify OK") == NULL)
		fail_msg("openssl ocsp -reqin said:\n%s", out);
	OPENSSL_free(resp);
	p7_ocsp_req_free(r);
	OPENSSL_free(der);
}

static void
test_ocsp_openssl_cli(void **state)
{
	struct p7_ocsp_signer	*s;
	struct p7_ocsp_status	 st;
	char			 err[256];

	(void)state;
	if (!g.have_openssl)
		skip();
	memset(&st, 0, sizeof(st));
	st.this_update = g.now - 5;
	st.next_update = g.now + 600;
	st.status = P7_OCSP_GOOD;
	cli_check(NULL, 0, &st, ": good");
	st.status = P7_OCSP_REVOKED;
	st.revoked_at = g.now - 100;
	st.reason = P7_CRL_REASON_CERTIFICATE_HOLD;
	cli_check(NULL, 1, &st, "certificateHold");
	st.status = P7_OCSP_UNKNOWN;
	cli_check(NULL, 2, &st, ": unknown");

	/* The delegated signer made by test_ocsp_delegated. */
	if ((s = p7_ocsp_signer_load(g.pca, g.signer_pem, g.signer_key, NULL,
	    err, sizeof(err))) == NULL)
		fail_msg("p7_ocsp_signer_load: %s", err);
	st.status = P7_OCSP_REVOKED;
	st.reason = P7_CRL_REASON_KEY_COMPROMISE;
	cli_check(s, 3, &st, "keyCompromise");
	p7_ocsp_signer_free(s);
}

/*
 * fuzz_ocsp found it: a CertID whose hashAlgorithm has parameters that
 * parse but do not survive the copy the response makes.  It is a
 * malformed request, refused at parse time, not an internal error.
 */
static void
test_ocsp_certid_odd_params(void **state)
{
	static const unsigned char der[] = {
		0x30, 0x42, 0x30, 0x40, 0x30, 0x3e, 0x30, 0x3c, 0x30, 0x3a,
		0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x20,
		0x00, 0x04, 0x14, 0x2d, 0xfd, 0x38, 0x4c, 0x1a, 0x17, 0x5d,
		0xa5, 0x51, 0x93, 0x1f, 0x87, 0xf8, 0x77, 0xae, 0x89, 0xda,
		0xa4, 0xe5, 0x31, 0x04, 0x14, 0xb4, 0xc0, 0x6d, 0x01, 0x24,
		0xf2, 0x36, 0xc6, 0xd8, 0x3e, 0xcd, 0xd7, 0xcb, 0x05, 0x16,
		0xb9, 0x40, 0x44, 0x1d, 0x43, 0x02, 0x01, 0x00,
	};
	struct p7_ocsp_req	*r = NULL;
	char			 err[256];

	(void)state;
	assert_int_equal(p7_ocsp_request_parse(g.pca, der, sizeof(der), &r, err,
	    sizeof(err)), -1);
	assert_null(r);
	assert_non_null(strstr(err, "CertID"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crl_empty),
		cmocka_unit_test(test_crl_one),
		cmocka_unit_test(test_crl_several_and_hold),
		cmocka_unit_test(test_crl_ra_mode),
		cmocka_unit_test(test_crl_refused),
		cmocka_unit_test(test_crl_reason_names),
		cmocka_unit_test(test_crl_openssl_cli),
		cmocka_unit_test(test_crl_certs_only),
		cmocka_unit_test(test_certrep_crl),
		cmocka_unit_test(test_ocsp_parse),
		cmocka_unit_test(test_ocsp_odd_certids),
		cmocka_unit_test(test_ocsp_malformed),
		cmocka_unit_test(test_ocsp_respond_ca),
		cmocka_unit_test(test_ocsp_bad_status),
		cmocka_unit_test(test_ocsp_error),
		/* Creates the signer test_ocsp_openssl_cli uses. */
		cmocka_unit_test(test_ocsp_delegated),
		cmocka_unit_test(test_ocsp_openssl_cli),
		cmocka_unit_test(test_ocsp_certid_odd_params),
	};

	/* A peer that closes early must fail a test, not kill the binary. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
