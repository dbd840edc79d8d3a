/*
 * Unit tests of pkcs7/: algorithm names, CA/RA loading and GetCACert,
 * pkiMessage decoding (real client vectors in test/data/vectors and
 * messages built here with plain OpenSSL, including hostile ones) and
 * CertRep encoding, checked by decoding the output with plain OpenSSL.
 *
 * The test PKI (a root CA, an RA, an intermediate, client keys) is made
 * in the group setup with OpenSSL and written to a temporary directory.
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

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/pkcs7.h"
#include "pkcs7/local.h"	/* p7_nids(), P7_TRANSID_MAX */

#define ALL_ALGS_BUT_LEGACY_CIPHERS \
	(P7_BIT(P7_CIPHER_3DES) | P7_BIT(P7_CIPHER_AES128) | \
	 P7_BIT(P7_CIPHER_AES192) | P7_BIT(P7_CIPHER_AES256))
#define ALL_ALGS_BUT_LEGACY_DIGESTS \
	(P7_BIT(P7_MD_SHA1) | P7_BIT(P7_MD_SHA224) | P7_BIT(P7_MD_SHA256) | \
	 P7_BIT(P7_MD_SHA384) | P7_BIT(P7_MD_SHA512))

static const struct p7_algs modern = {
	ALL_ALGS_BUT_LEGACY_CIPHERS, ALL_ALGS_BUT_LEGACY_DIGESTS
};
static const struct p7_algs everything = {
	(1u << P7_CIPHER_COUNT) - 1, (1u << P7_MD_COUNT) - 1
};

/* The test's own view of the algorithm OIDs, independent of algs.c. */
static const int cipher_nid[P7_CIPHER_COUNT] = {
	NID_des_cbc, NID_des_ede3_cbc, NID_aes_128_cbc, NID_aes_192_cbc,
	NID_aes_256_cbc,
};
static const int digest_nid[P7_MD_COUNT] = {
	NID_md5, NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512,
};

/* The group's PKI. */
static struct {
	char		 dir[64];
	char		*files[32];
	int		 nfiles;
	struct p7_ca	*vec;		/* test/data/vectors CA, CA mode */
	struct p7_ca	*ra;		/* root + RA */
	EVP_PKEY	*root_key, *ra_key, *inter_key, *client_key;
	EVP_PKEY	*other_key;
	X509		*root, *ra_cert, *inter, *client, *client_v1, *other;
	int		 nid_mt, nid_status, nid_fi, nid_sn, nid_rn, nid_tid;
	int		 legacy;	/* legacy provider loaded */
} g;

static const char *
vecdir(void)
{
	const char	*d;

	if ((d = getenv("SCEPD_VECTORS")) != NULL)
		return d;
	return "test/data/vectors";
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	unsigned char	*buf;
	FILE		*fp;
	long		 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL || fread(buf, 1, n, fp) != (size_t)n) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	*len = n;
	return buf;
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
 * A certificate for key named cn, issued by issuer (NULL: self-signed).
 * kind: 'c' CA, 'k' CA with keyCertSign and cRLSign only, 'r' RA,
 * 'l' leaf, '1' X.509 v1 without extensions.
 */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long serial, int kind)
{
	X509		*x;
	X509_NAME	*name;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, kind == '1' ? X509_VERSION_1 :
	    X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
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
	switch (kind) {
	case 'c':
		add_ext(x, issuer != NULL ? issuer : x,
		    NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment,keyCertSign,"
		    "cRLSign");
		break;
	case 'k':	/* a CA that cannot be encrypted to */
		add_ext(x, issuer != NULL ? issuer : x,
		    NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
		break;
	case 'r':
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		break;
	case 'l':
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		break;
	}
	assert_true(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static const char *
tmpfile_path(const char *name)
{
	char	*p;

	assert_true(g.nfiles < (int)(sizeof(g.files) / sizeof(g.files[0])));
	assert_non_null(p = malloc(strlen(g.dir) + strlen(name) + 2));
	sprintf(p, "%s/%s", g.dir, name);
	g.files[g.nfiles++] = p;
	return p;
}

/* Write certificates (NULL-terminated) to a PEM file; returns its path. */
static const char *
write_certs(const char *name, ...)
{
	const char	*path = tmpfile_path(name);
	va_list		 ap;
	X509		*x;
	FILE		*fp;

	assert_non_null(fp = fopen(path, "w"));
	va_start(ap, name);
	while ((x = va_arg(ap, X509 *)) != NULL)
		assert_int_equal(PEM_write_X509(fp, x), 1);
	va_end(ap);
	fclose(fp);
	return path;
}

static const char *
write_key(const char *name, EVP_PKEY *key)
{
	const char	*path = tmpfile_path(name);
	FILE		*fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	return path;
}

static int
group_setup(void **state)
{
	struct p7_ca_files	 f;
	char			 err[256], ca[512], key[512];

	(void)state;
	snprintf(g.dir, sizeof(g.dir), "/tmp/scepd-test-pkcs7.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	if (p7_nids() == NULL)
		return -1;
	g.nid_mt = OBJ_txt2nid("2.16.840.1.113733.1.9.2");
	g.nid_status = OBJ_txt2nid("2.16.840.1.113733.1.9.3");
	g.nid_fi = OBJ_txt2nid("2.16.840.1.113733.1.9.4");
	g.nid_sn = OBJ_txt2nid("2.16.840.1.113733.1.9.5");
	g.nid_rn = OBJ_txt2nid("2.16.840.1.113733.1.9.6");
	g.nid_tid = OBJ_txt2nid("2.16.840.1.113733.1.9.7");

	snprintf(ca, sizeof(ca), "%s/ca.pem", vecdir());
	snprintf(key, sizeof(key), "%s/ca.key", vecdir());
	memset(&f, 0, sizeof(f));
	f.ca_cert = ca;
	f.ca_key = key;
	if ((g.vec = p7_ca_load(&f, err, sizeof(err))) == NULL) {
		fprintf(stderr, "vector CA: %s\n", err);
		return -1;
	}

	g.root_key = rsa_key();
	g.ra_key = rsa_key();
	g.inter_key = rsa_key();
	g.client_key = rsa_key();
	g.other_key = rsa_key();
	g.root = make_cert("root", g.root_key, NULL, NULL, 1, 'c');
	g.ra_cert = make_cert("ra", g.ra_key, g.root, g.root_key, 2, 'r');
	g.inter = make_cert("inter", g.inter_key, g.root, g.root_key, 3, 'c');
	g.client = make_cert("client", g.client_key, NULL, NULL, 4, 'l');
	g.client_v1 = make_cert("client v1", g.client_key, NULL, NULL, 5,
	    '1');
	g.other = make_cert("other", g.other_key, NULL, NULL, 6, 'l');

	f.ca_cert = write_certs("root.pem", g.root, NULL);
	f.ca_key = write_key("root.key", g.root_key);
	f.ra_cert = write_certs("ra.pem", g.ra_cert, NULL);
	f.ra_key = write_key("ra.key", g.ra_key);
	if ((g.ra = p7_ca_load(&f, err, sizeof(err))) == NULL) {
		fprintf(stderr, "RA: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	int	 i;

	(void)state;
	p7_ca_free(g.vec);
	p7_ca_free(g.ra);
	EVP_PKEY_free(g.root_key);
	EVP_PKEY_free(g.ra_key);
	EVP_PKEY_free(g.inter_key);
	EVP_PKEY_free(g.client_key);
	EVP_PKEY_free(g.other_key);
	X509_free(g.root);
	X509_free(g.ra_cert);
	X509_free(g.inter);
	X509_free(g.client);
	X509_free(g.client_v1);
	X509_free(g.other);
	for (i = 0; i < g.nfiles; i++) {
		unlink(g.files[i]);
		free(g.files[i]);
	}
	rmdir(g.dir);
	return 0;
}

/*
 * Request builder: a pkiMessage made with plain OpenSSL, with knobs to
 * make it wrong in one way at a time.
 */
struct rb {
	const char	*msg_type;	/* NULL: omitted */
	int		 msg_type_type;
	int		 msg_type_twice;
	const char	*tid;		/* NULL: omitted */
	int		 nonce_len;	/* -1: omitted */
	int		 nonce_type;
	unsigned char	 nonce[32];
	enum p7_digest	 digest;
	int		 sigalg;	/* NID or 0 for rsaEncryption */
	enum p7_cipher	 cipher;
	X509		*rcpt;
	X509		*rcpt2;		/* a second RecipientInfo, first */
	X509		*signer;
	EVP_PKEY	*key;
	const unsigned char *inner;	/* plaintext of the envelope */
	size_t		 inner_len;
	int		 bare;		/* inner is the eContent itself */
	int		 signers;	/* SignerInfos to leave: 0, 1, 2 */
	int		 flip_sig;
	int		 no_certs;
	int		 empty_md_algs;
	const struct pss *pss;	/* NULL: PKCS#1 v1.5 signature */
};

/*
 * An RSASSA-PSS signature and the RSASSA-PSS-params stated for it.  NIDs
 * of 0 mean "the hash": digest for hash, hash for the MGF1 hash; -1 omits
 * the field (RFC 4055 default: SHA-1, MGF1 with SHA-1, salt 20, trailer
 * 1).  The signature uses hash, MGF1 with mgf_hash and sign_salt (-1: the
 * stated salt).
 */
struct pss {
	int		 hash;
	int		 mgf;		/* 0: id-mgf1 */
	int		 mgf_hash;
	int		 salt;
	int		 sign_salt;
	int		 trailer;	/* 0: omitted */
	int		 params;	/* 0 stated, 1 absent, 2 undecodable */
};

static void
rb_init(struct rb *b, X509 *rcpt, const unsigned char *inner, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->msg_type = "19";
	b->msg_type_type = V_ASN1_PRINTABLESTRING;
	b->tid = "0123456789ABCDEF0123456789ABCDEF";
	b->nonce_len = 16;
	b->nonce_type = V_ASN1_OCTET_STRING;
	assert_int_equal(RAND_bytes(b->nonce, sizeof(b->nonce)), 1);
	b->digest = P7_MD_SHA256;
	b->cipher = P7_CIPHER_AES128;
	b->rcpt = rcpt;
	b->signer = g.client;
	b->key = g.client_key;
	b->inner = inner;
	b->inner_len = len;
	b->signers = 1;
}

static unsigned char *
p7_der(PKCS7 *p7, size_t *len)
{
	unsigned char	*der = NULL;
	int		 n;

	assert_true((n = i2d_PKCS7(p7, &der)) > 0);
	*len = n;
	return der;
}

static void
add_attr(PKCS7_SIGNER_INFO *si, int nid, int type, const void *d, int len)
{
	assert_non_null(X509at_add1_attr_by_NID(&si->auth_attr, nid, type,
	    d, len));
}

/*
 * X509at_add1_attr() refuses duplicates, so push by hand: how 1 adds a
 * second attribute, 2 a second value to the existing one.
 */
static void
add_dup(PKCS7_SIGNER_INFO *si, int nid, int how, const char *v)
{
	X509_ATTRIBUTE	*a;
	int		 i;

	if (how == 2) {
		i = X509at_get_attr_by_NID(si->auth_attr, nid, -1);
		a = X509at_get_attr(si->auth_attr, i);
		assert_int_equal(X509_ATTRIBUTE_set1_data(a,
		    V_ASN1_PRINTABLESTRING, v, (int)strlen(v)), 1);
		return;
	}
	a = X509_ATTRIBUTE_create_by_NID(NULL, nid, V_ASN1_PRINTABLESTRING, v,
	    (int)strlen(v));
	assert_non_null(a);
	assert_true(sk_X509_ATTRIBUTE_push(si->auth_attr, a) > 0);
}

static int
pss_nid(int nid, int dflt)
{
	return nid == 0 ? dflt : nid == -1 ? NID_sha1 : nid;
}

/* A DigestSign context for pss with hash dflt_hash unless pss says. */
static EVP_MD_CTX *
pss_sign_ctx(EVP_PKEY *key, const struct pss *pss, int dflt_hash)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	int		 hash = pss_nid(pss->hash, dflt_hash);
	int		 salt = pss->sign_salt >= 0 ? pss->sign_salt :
			    pss->salt >= 0 ? pss->salt : 20;

	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx, OBJ_nid2sn(hash),
	    NULL, NULL, key, NULL), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_get_digestbynid(
	    pss_nid(pss->mgf_hash, hash))) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) > 0);
	return ctx;
}

/* An AlgorithmIdentifier of a hash, parameters NULL. */
static X509_ALGOR *
hash_alg(int nid)
{
	X509_ALGOR	*a;

	assert_non_null(a = X509_ALGOR_new());
	assert_int_equal(X509_ALGOR_set0(a, OBJ_nid2obj(nid), V_ASN1_NULL,
	    NULL), 1);
	return a;
}

/* Make si's signature RSASSA-PSS as pss says, over its signed attributes. */
static void
pss_resign(PKCS7_SIGNER_INFO *si, EVP_PKEY *key, const struct pss *pss)
{
	static unsigned char	 junk[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	RSA_PSS_PARAMS		*pp;
	X509_ALGOR		*mh;
	ASN1_STRING		*seq = NULL;
	EVP_MD_CTX		*ctx;
	unsigned char		*abuf = NULL, sig[1024];
	size_t			 siglen = sizeof(sig);
	int			 alen, digest, hash;

	digest = OBJ_obj2nid(si->digest_alg->algorithm);
	hash = pss_nid(pss->hash, digest);
	assert_non_null(pp = RSA_PSS_PARAMS_new());
	if (pss->hash != -1)
		pp->hashAlgorithm = hash_alg(hash);
	if (pss->mgf != -1) {
		assert_non_null(pp->maskGenAlgorithm = X509_ALGOR_new());
		mh = hash_alg(pss_nid(pss->mgf_hash, hash));
		assert_non_null(seq = ASN1_item_pack(mh,
		    ASN1_ITEM_rptr(X509_ALGOR), NULL));
		X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(
		    pss->mgf != 0 ? pss->mgf : NID_mgf1), V_ASN1_SEQUENCE, seq);
		X509_ALGOR_free(mh);
	}
	if (pss->salt != -1) {
		assert_non_null(pp->saltLength = ASN1_INTEGER_new());
		assert_int_equal(ASN1_INTEGER_set(pp->saltLength, pss->salt),
		    1);
	}
	if (pss->trailer != 0) {
		assert_non_null(pp->trailerField = ASN1_INTEGER_new());
		assert_int_equal(ASN1_INTEGER_set(pp->trailerField,
		    pss->trailer), 1);
	}
	switch (pss->params) {
	case 0:
		assert_non_null(seq = ASN1_item_pack(pp,
		    ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL));
		break;
	case 2:
		assert_non_null(seq = ASN1_STRING_new());
		assert_int_equal(ASN1_STRING_set(seq, junk, sizeof(junk)), 1);
		break;
	}
	X509_ALGOR_set0(si->digest_enc_alg, OBJ_nid2obj(NID_rsassaPss),
	    pss->params == 1 ? V_ASN1_UNDEF : V_ASN1_SEQUENCE,
	    pss->params == 1 ? NULL : seq);
	RSA_PSS_PARAMS_free(pp);

	/* Signed as PKCS7_dataFinal() does: the DER SET OF, sorted. */
	assert_true((alen = ASN1_item_i2d((ASN1_VALUE *)si->auth_attr, &abuf,
	    ASN1_ITEM_rptr(PKCS7_ATTR_SIGN))) > 0);
	ctx = pss_sign_ctx(key, pss, digest);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, abuf, alen), 1);
	assert_int_equal(ASN1_STRING_set(si->enc_digest, sig, (int)siglen),
	    1);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(abuf);
}

static unsigned char *
rb_build(const struct rb *b, size_t *len)
{
	STACK_OF(X509)		*rcpts;
	PKCS7			*env, *p7;
	PKCS7_SIGNER_INFO	*si;
	BIO			*in;
	unsigned char		*envder, *der;
	size_t			 envlen;
	int			 i;

	if (b->bare) {
		assert_non_null(envder = OPENSSL_memdup(b->inner,
		    b->inner_len));
		envlen = b->inner_len;
	} else {
		rcpts = sk_X509_new_null();
		if (b->rcpt2 != NULL)
			sk_X509_push(rcpts, b->rcpt2);
		sk_X509_push(rcpts, b->rcpt);
		in = BIO_new_mem_buf(b->inner, (int)b->inner_len);
		env = PKCS7_encrypt(rcpts, in,
		    EVP_get_cipherbynid(cipher_nid[b->cipher]), PKCS7_BINARY);
		assert_non_null(env);
		envder = p7_der(env, &envlen);
		PKCS7_free(env);
		BIO_free(in);
		sk_X509_free(rcpts);
	}

	assert_non_null(p7 = PKCS7_new());
	assert_int_equal(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	assert_int_equal(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	for (i = 0; i < (b->signers > 1 ? b->signers : 1); i++) {
		si = PKCS7_add_signature(p7, b->signer, b->key,
		    EVP_get_digestbynid(digest_nid[b->digest]));
		assert_non_null(si);
		assert_int_equal(PKCS7_add_attrib_content_type(si, NULL), 1);
		if (b->msg_type != NULL) {
			add_attr(si, g.nid_mt, b->msg_type_type, b->msg_type,
			    (int)strlen(b->msg_type));
			if (b->msg_type_twice)
				add_dup(si, g.nid_mt, b->msg_type_twice,
				    b->msg_type);
		}
		if (b->tid != NULL)
			add_attr(si, g.nid_tid, V_ASN1_PRINTABLESTRING, b->tid,
			    (int)strlen(b->tid));
		if (b->nonce_len >= 0)
			add_attr(si, g.nid_sn, b->nonce_type, b->nonce,
			    b->nonce_len);
	}
	assert_int_equal(PKCS7_add_certificate(p7, b->signer), 1);
	in = BIO_new_mem_buf(envder, (int)envlen);
	assert_int_equal(PKCS7_final(p7, in, PKCS7_BINARY), 1);
	BIO_free(in);
	OPENSSL_free(envder);

	si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	if (b->pss != NULL)
		pss_resign(si, b->key, b->pss);
	if (b->sigalg != 0)
		X509_ALGOR_set0(si->digest_enc_alg, OBJ_nid2obj(b->sigalg),
		    V_ASN1_NULL, NULL);
	if (b->flip_sig)
		si->enc_digest->data[si->enc_digest->length / 2] ^= 0x01;
	if (b->signers == 0)
		PKCS7_SIGNER_INFO_free(
		    sk_PKCS7_SIGNER_INFO_pop(p7->d.sign->signer_info));
	if (b->no_certs) {
		sk_X509_pop_free(p7->d.sign->cert, X509_free);
		p7->d.sign->cert = NULL;
	}
	if (b->empty_md_algs)
		while (sk_X509_ALGOR_num(p7->d.sign->md_algs) > 0)
			X509_ALGOR_free(sk_X509_ALGOR_pop(
			    p7->d.sign->md_algs));
	der = p7_der(p7, len);
	PKCS7_free(p7);
	return der;
}

/*
 * A CSR for key with an optional challengePassword of ASN.1 type ctype
 * (V_ASN1_UTF8STRING, ...; MBSTRING_UTF8 data).  bad: break its
 * signature.
 */
static unsigned char *
make_csr_pss(EVP_PKEY *key, const char *cn, int ctype, const char *challenge,
    int bad, const struct pss *pss, size_t *len)
{
	X509_REQ	*req;
	X509_NAME	*name;
	ASN1_STRING	*s;
	EVP_MD_CTX	*ctx;
	unsigned char	*der = NULL;
	int		 n;

	assert_non_null(req = X509_REQ_new());
	name = X509_REQ_get_subject_name(req);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	if (challenge != NULL) {
		s = NULL;
		assert_true(ASN1_mbstring_copy(&s,
		    (const unsigned char *)challenge, -1, MBSTRING_UTF8,
		    ASN1_tag2bit(ctype)) > 0);
		assert_non_null(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_challengePassword, ctype, s->data, s->length));
		ASN1_STRING_free(s);
	}
	if (pss == NULL)
		assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	else {
		/* OpenSSL writes the params from the context. */
		assert_non_null(ctx = pss_sign_ctx(key, pss, NID_sha256));
		assert_true(X509_REQ_sign_ctx(req, ctx) > 0);
		EVP_MD_CTX_free(ctx);
	}
	assert_true((n = i2d_X509_REQ(req, &der)) > 0);
	if (bad)
		der[n - 5] ^= 0x01;
	X509_REQ_free(req);
	*len = n;
	return der;
}

static unsigned char *
make_csr(EVP_PKEY *key, const char *cn, int ctype, const char *challenge,
    int bad, size_t *len)
{
	return make_csr_pss(key, cn, ctype, challenge, bad, NULL, len);
}

static enum p7_status
parse(const struct p7_ca *ca, const unsigned char *der, size_t len,
    const struct p7_algs *allowed, struct p7_req **req)
{
	char	 err[128];

	return p7_req_parse(ca, der, len, allowed, req, err, sizeof(err));
}

/*
 * Build, parse, expect status, failInfo and (unless NULL) a reason that
 * contains why; returns the request.
 */
static struct p7_req *
expect_why(const struct rb *b, const struct p7_algs *allowed,
    enum p7_status want, enum p7_fail_info fi, const char *why)
{
	struct p7_req	*req = NULL;
	unsigned char	*der;
	char		 err[256];
	size_t		 len;
	enum p7_status	 st;

	der = rb_build(b, &len);
	st = p7_req_parse(g.ra, der, len, allowed, &req, err, sizeof(err));
	OPENSSL_free(der);
	if (st != want || (why != NULL && strstr(err, why) == NULL))
		fail_msg("status %d (want %d), reason \"%s\" (want \"%s\")",
		    st, want, err, why != NULL ? why : "");
	if (want == P7_OK || want == P7_FAILED)
		assert_non_null(req);
	else
		assert_null(req);
	if (want == P7_FAILED)
		assert_int_equal(p7_req_fail_info(req), fi);
	return req;
}

static struct p7_req *
expect(const struct rb *b, const struct p7_algs *allowed,
    enum p7_status want, enum p7_fail_info fi)
{
	return expect_why(b, allowed, want, fi, NULL);
}

/* --- algs.c --------------------------------------------------------- */

static void
test_algs(void **state)
{
	enum p7_cipher	 c;
	enum p7_digest	 d;
	const char	*cn[] = { "des", "3des", "aes128", "aes192", "aes256" };
	const char	*dn[] = { "md5", "sha1", "sha224", "sha256", "sha384",
			    "sha512" };
	int		 i;

	(void)state;
	for (i = 0; i < P7_CIPHER_COUNT; i++) {
		assert_string_equal(p7_cipher_name(i), cn[i]);
		assert_int_equal(p7_cipher_from_name(cn[i], &c), 0);
		assert_int_equal(c, i);
	}
	for (i = 0; i < P7_MD_COUNT; i++) {
		assert_string_equal(p7_digest_name(i), dn[i]);
		assert_int_equal(p7_digest_from_name(dn[i], &d), 0);
		assert_int_equal(d, i);
	}
	assert_int_equal(p7_cipher_from_name("AES128", &c), -1);
	assert_int_equal(p7_cipher_from_name("rc2", &c), -1);
	assert_int_equal(p7_digest_from_name("sha-256", &d), -1);
	assert_int_equal(p7_digest_from_name("", &d), -1);
	assert_null(p7_cipher_name(P7_CIPHER_COUNT));
	assert_null(p7_digest_name(P7_MD_COUNT));
	/* The OIDs exist, are distinct and stay the same. */
	assert_true(g.nid_mt != NID_undef && g.nid_tid != NID_undef);
	assert_int_not_equal(g.nid_mt, g.nid_status);
	assert_int_not_equal(g.nid_sn, g.nid_rn);
	assert_int_equal(OBJ_txt2nid("2.16.840.1.113733.1.9.7"), g.nid_tid);
	assert_non_null(p7_nids());
}

/* --- ca.c ----------------------------------------------------------- */

static STACK_OF(X509) *
certs_only_certs(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;
	STACK_OF(X509)		*certs;
	PKCS7			*p7;

	assert_non_null(p7 = d2i_PKCS7(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_signed);
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info),
	    0);
	assert_int_equal(OBJ_obj2nid(p7->d.sign->contents->type),
	    NID_pkcs7_data);
	assert_null(p7->d.sign->contents->d.data);
	certs = p7->d.sign->cert;
	p7->d.sign->cert = NULL;
	PKCS7_free(p7);
	return certs;
}

static void
test_ca_vectors(void **state)
{
	const unsigned char	*der, *p;
	const char		*type;
	size_t			 len;
	X509			*x;

	(void)state;
	assert_int_equal(p7_ca_has_ra(g.vec), 0);
	p7_ca_getcacert(g.vec, &der, &len, &type);
	assert_string_equal(type, "application/x-x509-ca-cert");
	p = der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_cmp(x, p7_ca_get0_cert(g.vec)), 0);
	X509_free(x);
}

static void
test_ca_ra(void **state)
{
	STACK_OF(X509)		*certs;
	const unsigned char	*der;
	const char		*type;
	size_t			 len;

	(void)state;
	assert_int_equal(p7_ca_has_ra(g.ra), 1);
	assert_int_equal(X509_cmp(p7_ca_get0_cert(g.ra), g.root), 0);
	p7_ca_getcacert(g.ra, &der, &len, &type);
	assert_string_equal(type, "application/x-x509-ca-ra-cert");
	certs = certs_only_certs(der, len);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), g.ra_cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 1), g.root), 0);
	sk_X509_pop_free(certs, X509_free);
}

static void
test_ca_chain(void **state)
{
	struct p7_ca_files	 f;
	struct p7_ca		*ca;
	STACK_OF(X509)		*certs;
	const unsigned char	*der;
	const char		*type;
	char			 err[256];
	size_t			 len;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.ca_cert = write_certs("inter-chain.pem", g.inter, g.root, NULL);
	f.ca_key = write_key("inter.key", g.inter_key);
	assert_non_null(ca = p7_ca_load(&f, err, sizeof(err)));
	p7_ca_getcacert(ca, &der, &len, &type);
	assert_string_equal(type, "application/x-x509-ca-ra-cert");
	certs = certs_only_certs(der, len);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), g.inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 1), g.root), 0);
	sk_X509_pop_free(certs, X509_free);
	p7_ca_free(ca);
	p7_ca_free(NULL);

	/* An intermediate alone is not self-signed: certs-only too. */
	f.ca_cert = write_certs("inter.pem", g.inter, NULL);
	assert_non_null(ca = p7_ca_load(&f, err, sizeof(err)));
	p7_ca_getcacert(ca, &der, &len, &type);
	assert_string_equal(type, "application/x-x509-ca-ra-cert");
	p7_ca_free(ca);
}

/*
 * The names GetCert, GetCRL and CertPoll may give a CA (RFC 8894 3.3.3,
 * 3.3.4): its subject, its certificate's issuer, the RA's subject; and
 * only certificates signed by the CA's own key are its own.
 */
static void
test_ca_names(void **state)
{
	struct p7_ca_files	 f;
	struct p7_ca		*inter;
	X509			*leaf, *same_name_other_key;
	char			 err[256];

	(void)state;
	/* Root CA with an RA: sscep names the RA it encrypts to. */
	assert_true(p7_ca_is_own_name(g.ra, X509_get_subject_name(g.root)));
	assert_true(p7_ca_is_own_name(g.ra, X509_get_subject_name(g.ra_cert)));
	assert_false(p7_ca_is_own_name(g.ra, X509_get_subject_name(g.inter)));
	assert_false(p7_ca_is_own_name(g.ra, X509_get_subject_name(g.other)));
	assert_false(p7_ca_is_own_name(g.ra, NULL));

	/* Intermediate in CA mode: certmonger names the root above it. */
	memset(&f, 0, sizeof(f));
	f.ca_cert = write_certs("names-inter.pem", g.inter, g.root, NULL);
	f.ca_key = write_key("names-inter.key", g.inter_key);
	assert_non_null(inter = p7_ca_load(&f, err, sizeof(err)));
	assert_true(p7_ca_is_own_name(inter, X509_get_subject_name(g.inter)));
	assert_true(p7_ca_is_own_name(inter, X509_get_subject_name(g.root)));
	assert_false(p7_ca_is_own_name(inter,
	    X509_get_subject_name(g.ra_cert)));

	/* Issued: the name and the signature of this CA's key. */
	leaf = make_cert("leaf", g.client_key, g.inter, g.inter_key, 40, 'l');
	same_name_other_key = make_cert("leaf", g.client_key, g.inter,
	    g.other_key, 41, 'l');
	assert_true(p7_ca_issued(inter, leaf));
	assert_false(p7_ca_issued(inter, same_name_other_key));
	assert_false(p7_ca_issued(g.ra, leaf));
	assert_true(p7_ca_issued(g.ra, g.inter));
	assert_false(p7_ca_issued(inter, g.client));
	assert_false(p7_ca_issued(inter, NULL));
	X509_free(leaf);
	X509_free(same_name_other_key);
	p7_ca_free(inter);
}

/* keyUsage bits of the certificate in a PEM file. */
static uint32_t
file_key_usage(const char *path)
{
	X509	*x;
	FILE	*fp;
	uint32_t ku;

	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	ku = X509_get_key_usage(x);
	X509_free(x);
	return ku;
}

/*
 * p7_ca_create(o), then: the CA certificate's keyUsage is exactly ku and
 * the loaded CA (and RA) draws no keyUsage warning.
 */
static void
create_and_check(const struct p7_ca_create *o, uint32_t ku)
{
	struct p7_ca_files	 f;
	struct p7_ca		*ca;
	char			 err[256];

	assert_int_equal(p7_ca_create(o, err, sizeof(err)), 0);
	assert_int_equal(file_key_usage(o->ca_cert_out) & 0xffff, ku);
	memset(&f, 0, sizeof(f));
	f.ca_cert = o->ca_cert_out;
	f.ca_key = o->ca_key_out;
	if (o->ra_subject != NULL) {
		f.ra_cert = o->ra_cert_out;
		f.ra_key = o->ra_key_out;
	}
	assert_non_null(ca = p7_ca_load(&f, err, sizeof(err)));
	assert_null(p7_ca_mode_usage_missing(ca));
	p7_ca_free(ca);
}

/*
 * RFC 8894 2.1: in CA mode clients encrypt to the CA certificate, so the
 * CA that `scepctl ca init --no-ra` makes has keyEncipherment and
 * digitalSignature; one without them is named for the start-up warning.
 */
static void
test_ca_mode_key_usage(void **state)
{
	struct p7_ca_create	 o;
	struct p7_ca_files	 f;
	struct p7_ca		*ca;
	X509			*bare;
	char			 err[256];
	uint32_t		 want = KU_KEY_CERT_SIGN | KU_CRL_SIGN |
				    KU_DIGITAL_SIGNATURE;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.ca_subject = "/O=scepd tests/CN=CA mode";
	o.ca_bits = 2048;
	o.ca_days = 30;
	o.ca_cert_out = tmpfile_path("camode.pem");
	o.ca_key_out = tmpfile_path("camode.key");
	create_and_check(&o, want | KU_KEY_ENCIPHERMENT);

	/* With an RA the CA is never encrypted to: no keyEncipherment. */
	o.ca_cert_out = tmpfile_path("ramode-ca.pem");
	o.ca_key_out = tmpfile_path("ramode-ca.key");
	o.ra_subject = "/O=scepd tests/CN=RA mode";
	o.ra_bits = 2048;
	o.ra_days = 30;
	o.ra_cert_out = tmpfile_path("ramode-ra.pem");
	o.ra_key_out = tmpfile_path("ramode-ra.key");
	create_and_check(&o, want);

	/* A CA-mode CA with keyCertSign and cRLSign only. */
	bare = make_cert("bare", g.other_key, NULL, NULL, 50, 'k');
	memset(&f, 0, sizeof(f));
	f.ca_cert = write_certs("bare.pem", bare, NULL);
	f.ca_key = write_key("bare.key", g.other_key);
	assert_non_null(ca = p7_ca_load(&f, err, sizeof(err)));
	assert_string_equal(p7_ca_mode_usage_missing(ca),
	    "digitalSignature and keyEncipherment");
	p7_ca_free(ca);
	X509_free(bare);
}

/* path holding line and a newline, mode 0600. */
static const char *
write_line(const char *name, const char *line)
{
	const char	*path = tmpfile_path(name);
	FILE		*fp;

	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "%s\n", line);
	fclose(fp);
	return path;
}

/* RFC 7512 URIs: what p7_pkcs11_uri_parse() takes, and each refusal. */
static void
test_pkcs11_uri(void **state)
{
	static const struct {
		const char	*uri;
		const char	*err;	/* a part of the message */
	} bad[] = {
		{ "file:/x", "not a pkcs11: URI" },
		{ "pkcs11:token=a;object=k?pin-value=1234", "a PIN in the URI" },
		{ "pkcs11:object=k?pin-source=file:/p", "a PIN in the URI" },
		{ "pkcs11:object=k?module-path=/x.so", "query attributes" },
		{ "pkcs11:token=a;object=k;type=cert", "type=cert: a key URI" },
		{ "pkcs11:token=a;object=k;slot-id=1", "unknown attribute "
		    "\"slot-id\"" },
		{ "pkcs11:token=a;token=b;object=k", "\"token\" given twice" },
		{ "pkcs11:token=a;object", "\"object\" is not name=value" },
		{ "pkcs11:token=a", "names no key" },
		{ "pkcs11:", "names no key" },
		{ "pkcs11:object=a%2", "attribute \"object\": bad value" },
		{ "pkcs11:object=a%zz", "attribute \"object\": bad value" },
		{ "pkcs11:object=a%00b", "attribute \"object\": bad value" },
		{ "pkcs11:object=a b", "attribute \"object\": bad value" },
		{ "pkcs11:object=a/b", "attribute \"object\": bad value" },
		{ "pkcs11:id=", "attribute \"id\": bad value" },
	};
	struct p7_pkcs11_uri	 u;
	char			 err[256], big[400];

	(void)state;
	assert_int_equal(p7_key_is_pkcs11("pkcs11:object=x"), 1);
	assert_int_equal(p7_key_is_pkcs11("/etc/scepd/ca.key"), 0);
	assert_int_equal(p7_key_is_pkcs11(NULL), 0);

	assert_int_equal(p7_pkcs11_uri_parse("pkcs11:token=My%20Token;"
	    "manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=1a2b;"
	    "object=ca%3Bkey;id=%01%ff%41;type=private", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.token, "My Token");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_string_equal(u.serial, "1a2b");
	assert_string_equal(u.object, "ca;key");
	assert_int_equal(u.id_len, 3);
	assert_memory_equal(u.id, "\x01\xff\x41", 3);
	/* An ID alone names a key; no token matches any. */
	assert_int_equal(p7_pkcs11_uri_parse("pkcs11:id=%52%41", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.token, "");
	assert_string_equal(u.object, "");
	assert_int_equal(u.id_len, 2);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(p7_pkcs11_uri_parse(bad[i].uri, &u, err,
		    sizeof(err)), -1);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("%s: \"%s\", want \"%s\"", bad[i].uri, err,
			    bad[i].err);
		/* The PIN of a refused URI is not repeated. */
		assert_null(strstr(err, "1234"));
	}
	/* Longer than a label may be. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "pkcs11:object=", 14);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(p7_pkcs11_uri_parse(big, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 128 bytes"));
}

/*
 * Encrypted PKCS#8 keys: loaded with the right passphrase from a file or
 * a credential; refused, each with its reason, without one, with a
 * wrong one, with an unreadable or empty passphrase file.
 */
static void
test_key_encrypted(void **state)
{
	struct p7_key_source	 src;
	struct p7_ca_files	 f;
	struct p7_ca		*ca;
	EVP_PKEY		*key;
	const char		*path, *pass, *wrong, *empty;
	char			 err[256], dir[512];
	FILE			*fp;

	(void)state;
	path = tmpfile_path("enc.key");
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_PKCS8PrivateKey(fp, g.root_key,
	    EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"unit-pass-1"), 1);
	fclose(fp);
	pass = write_line("pass", "unit-pass-1");
	wrong = write_line("wrong", "unit-pass-2");
	empty = write_line("empty", "");

	memset(&src, 0, sizeof(src));
	src.passphrase_file = pass;
	assert_non_null(key = p7_key_load(path, &src, err, sizeof(err)));
	assert_int_equal(EVP_PKEY_eq(key, g.root_key), 1);
	EVP_PKEY_free(key);

	/* The CA loads through it too. */
	memset(&f, 0, sizeof(f));
	f.ca_cert = write_certs("enc-ca.pem", g.root, NULL);
	f.ca_key = path;
	f.keys = &src;
	assert_non_null(ca = p7_ca_load(&f, err, sizeof(err)));
	p7_ca_free(ca);

	/* systemd's credential: $CREDENTIALS_DIRECTORY/NAME. */
	memset(&src, 0, sizeof(src));
	src.passphrase_credential = "pass";
	snprintf(dir, sizeof(dir), "%s", pass);
	*strrchr(dir, '/') = '\0';
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_null(p7_key_load(path, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "$CREDENTIALS_DIRECTORY is not set"));
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_non_null(key = p7_key_load(path, &src, err, sizeof(err)));
	EVP_PKEY_free(key);
	src.passphrase_credential = "../pass";
	assert_null(p7_key_load(path, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "a name, not a path"));
	unsetenv("CREDENTIALS_DIRECTORY");

	memset(&src, 0, sizeof(src));
	assert_null(p7_key_load(path, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "is encrypted and no passphrase is "
	    "configured"));
	assert_null(p7_key_load(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "is encrypted and no passphrase"));
	src.passphrase_file = wrong;
	assert_null(p7_key_load(path, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot decrypt"));
	assert_non_null(strstr(err, "wrong passphrase?"));
	assert_null(strstr(err, "unit-pass"));
	src.passphrase_file = empty;
	assert_null(p7_key_load(path, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "the first line is empty"));
	src.passphrase_file = "/nonexistent/pass";
	assert_null(p7_key_load(path, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "passphrase file /nonexistent/pass"));

	/* A plain key needs no passphrase, and ignores one. */
	src.passphrase_file = pass;
	assert_non_null(key = p7_key_load(write_key("plain.key", g.ra_key),
	    &src, err, sizeof(err)));
	EVP_PKEY_free(key);
	assert_null(p7_key_load(pass, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no usable private key"));
	/* A token key without a module. */
	assert_null(p7_key_load("pkcs11:object=ca", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "needs pkcs11.module"));
	assert_null(p7_key_load("pkcs11:object=ca;x=1", NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "unknown attribute"));
	p7_key_shutdown();
	ERR_clear_error();
}

static void
test_ca_bad(void **state)
{
	struct p7_ca_files	 f;
	EVP_PKEY		*ec;
	X509			*ecra, *selfra;
	char			 err[256];
	const char		*root, *rootkey, *rakey;

	(void)state;
	root = write_certs("bad-root.pem", g.root, NULL);
	rootkey = write_key("bad-root.key", g.root_key);
	rakey = write_key("bad-ra.key", g.ra_key);
	memset(&f, 0, sizeof(f));

	/* Key does not match the CA certificate. */
	f.ca_cert = root;
	f.ca_key = rakey;
	assert_null(p7_ca_load(&f, err, sizeof(err)));
	assert_true(strlen(err) > 0);

	/* A leaf is not a CA. */
	f.ca_cert = write_certs("bad-leaf.pem", g.client, NULL);
	f.ca_key = write_key("bad-client.key", g.client_key);
	assert_null(p7_ca_load(&f, err, sizeof(err)));

	/* Missing file; RA certificate without key. */
	f.ca_cert = "/nonexistent/ca.pem";
	f.ca_key = rootkey;
	assert_null(p7_ca_load(&f, err, sizeof(err)));
	f.ca_cert = root;
	f.ra_cert = root;
	assert_null(p7_ca_load(&f, err, sizeof(err)));

	/* RA not issued by the CA. */
	selfra = make_cert("self ra", g.ra_key, NULL, NULL, 7, 'l');
	f.ra_cert = write_certs("bad-selfra.pem", selfra, NULL);
	f.ra_key = rakey;
	assert_null(p7_ca_load(&f, err, sizeof(err)));
	X509_free(selfra);

	/* RA key not RSA. */
	assert_non_null(ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	ecra = make_cert("ec ra", ec, g.root, g.root_key, 8, 'r');
	f.ra_cert = write_certs("bad-ecra.pem", ecra, NULL);
	f.ra_key = write_key("bad-ecra.key", ec);
	assert_null(p7_ca_load(&f, err, sizeof(err)));
	assert_non_null(strstr(err, "RSA"));
	X509_free(ecra);
	EVP_PKEY_free(ec);
}

/* --- the vectors ---------------------------------------------------- */

enum tidform { HEX32, HEX40, DEC77, B64 };

static const struct vec {
	const char	*file;
	enum p7_cipher	 cipher;
	enum p7_digest	 digest;
	enum tidform	 tid;
	int		 legacy;	/* refused unless legacy allowed */
	int		 challenge;	/* 1 s3cret, 0 another, -1 none */
	int		 renewal;
} vectors[] = {
	{ "certmonger-pkcsreq-get-aes256-sha256.der", P7_CIPHER_AES256,
	    P7_MD_SHA256, DEC77, 0, 1, 0 },
	{ "scepclient-pkcsreq-des-sha1.der", P7_CIPHER_DES, P7_MD_SHA1, B64,
	    1, 1, 0 },
	{ "sscep-pkcsreq-3des-sha1.der", P7_CIPHER_3DES, P7_MD_SHA1, HEX32,
	    0, 1, 0 },
	{ "sscep-pkcsreq-aes128-md5.der", P7_CIPHER_AES128, P7_MD_MD5, HEX32,
	    1, 1, 0 },
	{ "sscep-pkcsreq-aes128-sha256.der", P7_CIPHER_AES128, P7_MD_SHA256,
	    HEX32, 0, 1, 0 },
	{ "sscep-pkcsreq-aes192-sha256.der", P7_CIPHER_AES192, P7_MD_SHA256,
	    HEX32, 0, 1, 0 },
	{ "sscep-pkcsreq-aes256-sha512.der", P7_CIPHER_AES256, P7_MD_SHA512,
	    HEX32, 0, 1, 0 },
	{ "sscep-pkcsreq-des-sha1.der", P7_CIPHER_DES, P7_MD_SHA1, HEX32, 1,
	    1, 0 },
	{ "sscep-pkcsreq-get-aes128-sha256.der", P7_CIPHER_AES128,
	    P7_MD_SHA256, HEX32, 0, 1, 0 },
	{ "sscep-pkcsreq-san-aes128-sha256.der", P7_CIPHER_AES128,
	    P7_MD_SHA256, HEX32, 0, 1, 0 },
	{ "sscep-pkcsreq-wrongchallenge.der", P7_CIPHER_AES128, P7_MD_SHA256,
	    HEX32, 0, 0, 0 },
	{ "sscep-renewal-pkcsreq-signed-by-issued.der", P7_CIPHER_AES128,
	    P7_MD_SHA256, HEX32, 0, -1, 1 },
	{ "strongswan-pkcsreq-3des-sha1.der", P7_CIPHER_3DES, P7_MD_SHA1,
	    HEX40, 0, 1, 0 },
	{ "strongswan-pkcsreq-aes128-sha256.der", P7_CIPHER_AES128,
	    P7_MD_SHA256, HEX40, 0, 1, 0 },
	{ "strongswan-pkcsreq-aes128-sha512.der", P7_CIPHER_AES128,
	    P7_MD_SHA512, HEX40, 0, 1, 0 },
	{ "strongswan-pkcsreq-pss-aes128-sha256.der", P7_CIPHER_AES128,
	    P7_MD_SHA256, HEX40, 0, 1, 0 },
	{ "strongswan-pkcsreq-pss-aes128-sha512.der", P7_CIPHER_AES128,
	    P7_MD_SHA512, HEX40, 0, 1, 0 },
	{ "strongswan-pkcsreq-san-aes128-sha256.der", P7_CIPHER_AES128,
	    P7_MD_SHA256, HEX40, 0, 1, 0 },
};

static unsigned char *
load_vector(const char *name, size_t *len)
{
	char		 path[512];
	unsigned char	*der;

	snprintf(path, sizeof(path), "%s/%s", vecdir(), name);
	der = read_file(path, len);
	if (der == NULL)
		fail_msg("cannot read %s", path);
	return der;
}

static void
check_tid(const char *tid, enum tidform form)
{
	size_t	 i, n = strlen(tid);

	switch (form) {
	case HEX32:
	case HEX40:
		assert_int_equal(n, form == HEX32 ? 32 : 40);
		for (i = 0; i < n; i++)
			assert_non_null(strchr("0123456789ABCDEF", tid[i]));
		break;
	case DEC77:
		assert_true(n >= 70 && n <= 80);
		for (i = 0; i < n; i++)
			assert_true(tid[i] >= '0' && tid[i] <= '9');
		break;
	case B64:
		assert_int_equal(n, 28);
		assert_int_equal(tid[27], '=');
		break;
	}
}

/* Decode every vector with the given policy; legacy: DES/MD5 allowed. */
static void
run_vectors(const struct p7_algs *allowed, int legacy_ok)
{
	const struct vec	*v;
	struct p7_req		*req;
	unsigned char		*der, h[32], h2[32];
	unsigned char		*csrder;
	char			 chal[64];
	size_t			 len, i;
	int			 n;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		v = &vectors[i];
		der = load_vector(v->file, &len);
		req = NULL;
		n = parse(g.vec, der, len, allowed, &req);
		assert_non_null(req);
		assert_int_equal(p7_req_message_type(req), P7_MSG_PKCSREQ);
		check_tid(p7_req_get0_transaction_id(req), v->tid);
		assert_non_null(p7_req_get0_signer(req));
		if (v->legacy && !legacy_ok) {
			if (n != P7_FAILED)
				fail_msg("%s: %d", v->file, n);
			assert_int_equal(p7_req_fail_info(req),
			    P7_FAIL_BAD_ALG);
			assert_null(p7_req_get0_csr(req));
			assert_int_equal(p7_req_challenge(req, chal,
			    sizeof(chal)), -1);
			p7_req_free(req);
			free(der);
			continue;
		}
		if (n != P7_OK)
			fail_msg("%s: status %d failInfo %d", v->file, n,
			    p7_req_fail_info(req));
		assert_int_equal(p7_req_cipher(req), v->cipher);
		assert_int_equal(p7_req_digest(req), v->digest);
		assert_non_null(p7_req_get0_csr(req));
		assert_int_equal(p7_req_signer_issued(req), v->renewal);
		n = p7_req_challenge(req, chal, sizeof(chal));
		if (v->challenge == 1) {
			if (n != 6)
				fail_msg("%s: challenge %d", v->file, n);
			assert_string_equal(chal, "s3cret");
		} else if (v->challenge == -1) {
			assert_int_equal(n, -1);
			assert_string_equal(chal, "");
		} else {
			assert_true(n > 0);
			assert_string_not_equal(chal, "s3cret");
		}
		/* Too small a buffer is -1, never a truncated secret. */
		assert_int_equal(p7_req_challenge(req, chal, 6), -1);
		/* Hashes match an independent computation. */
		csrder = NULL;
		n = i2d_X509_REQ(p7_req_get0_csr(req), &csrder);
		assert_true(n > 0);
		SHA256(csrder, n, h);
		OPENSSL_free(csrder);
		p7_req_csr_sha256(req, h2);
		assert_memory_equal(h, h2, 32);
		csrder = NULL;
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(
		    p7_req_get0_signer(req)), &csrder);
		SHA256(csrder, n, h);
		OPENSSL_free(csrder);
		p7_req_signer_key_sha256(req, h2);
		assert_memory_equal(h, h2, 32);
		p7_req_free(req);
		free(der);
	}
}

static void
test_vectors(void **state)
{
	(void)state;
	run_vectors(&modern, 0);
}

/* Single DES allowed by policy but the legacy provider not loaded. */
static void
test_vectors_des_unavailable(void **state)
{
	struct p7_req	*req = NULL;
	EVP_CIPHER	*des;
	unsigned char	*der;
	size_t		 len;

	(void)state;
	if ((des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL)) != NULL) {
		EVP_CIPHER_free(des);
		skip();
	}
	ERR_clear_error();
	der = load_vector("sscep-pkcsreq-des-sha1.der", &len);
	assert_int_equal(parse(g.vec, der, len, &everything, &req),
	    P7_FAILED);
	assert_int_equal(p7_req_fail_info(req), P7_FAIL_BAD_ALG);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);
	free(der);
}

static void
test_vectors_legacy(void **state)
{
	(void)state;
	if (p7_enable_legacy() == -1)
		skip();
	assert_int_equal(p7_enable_legacy(), 0);
	g.legacy = 1;
	run_vectors(&everything, 1);
	/* Allowed by the provider but not by policy: still refused. */
	run_vectors(&modern, 0);
}

/* --- CertRep -------------------------------------------------------- */

static const ASN1_TYPE *
one_attr(PKCS7_SIGNER_INFO *si, int nid)
{
	X509_ATTRIBUTE	*a;
	int		 i;

	if ((i = X509at_get_attr_by_NID(si->auth_attr, nid, -1)) < 0)
		return NULL;
	assert_true(X509at_get_attr_by_NID(si->auth_attr, nid, i) < 0);
	a = X509at_get_attr(si->auth_attr, i);
	assert_int_equal(X509_ATTRIBUTE_count(a), 1);
	return X509_ATTRIBUTE_get0_type(a, 0);
}

static void
assert_printable(PKCS7_SIGNER_INFO *si, int nid, const char *want)
{
	const ASN1_TYPE	*t;

	assert_non_null(t = one_attr(si, nid));
	assert_int_equal(t->type, V_ASN1_PRINTABLESTRING);
	assert_int_equal(t->value.printablestring->length, strlen(want));
	assert_memory_equal(t->value.printablestring->data, want,
	    strlen(want));
}

struct expect_rep {
	enum p7_pki_status	 status;
	enum p7_fail_info	 fi;
	enum p7_digest		 digest;
	enum p7_cipher		 cipher;
	X509			*signcert;
	X509			*issued;
	X509			*rcpt;
	EVP_PKEY		*rcpt_key;
	const char		*tid;
	const unsigned char	*nonce;	/* the request's senderNonce */
};

/* Decode a CertRep with plain OpenSSL and check everything. */
static void
check_certrep(const unsigned char *der, size_t len,
    const struct expect_rep *e)
{
	const unsigned char	*p = der;
	PKCS7			*p7, *env;
	PKCS7_SIGNER_INFO	*si;
	STACK_OF(X509)		*signers, *certs;
	const ASN1_TYPE		*t;
	BIO			*out, *plain;
	char			 buf[8];
	unsigned char		*content;
	long			 clen;

	assert_non_null(p7 = d2i_PKCS7(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_signed);
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 1);
	si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	/* strongSwan: digestEncryptionAlgorithm rsaEncryption. */
	assert_int_equal(OBJ_obj2nid(si->digest_enc_alg->algorithm),
	    NID_rsaEncryption);
	assert_int_equal(OBJ_obj2nid(si->digest_alg->algorithm),
	    digest_nid[e->digest]);
	assert_int_equal(OBJ_obj2nid(p7->d.sign->contents->type),
	    NID_pkcs7_data);

	assert_printable(si, g.nid_mt, "3");
	snprintf(buf, sizeof(buf), "%d", e->status);
	assert_printable(si, g.nid_status, buf);
	if (e->status == P7_PKI_FAILURE) {
		snprintf(buf, sizeof(buf), "%d", e->fi);
		assert_printable(si, g.nid_fi, buf);
	} else
		assert_null(one_attr(si, g.nid_fi));
	assert_printable(si, g.nid_tid, e->tid);
	assert_non_null(t = one_attr(si, g.nid_rn));
	assert_int_equal(t->type, V_ASN1_OCTET_STRING);
	assert_int_equal(t->value.octet_string->length, 16);
	assert_memory_equal(t->value.octet_string->data, e->nonce, 16);
	assert_non_null(t = one_attr(si, g.nid_sn));
	assert_int_equal(t->type, V_ASN1_OCTET_STRING);
	assert_int_equal(t->value.octet_string->length, 16);
	assert_memory_not_equal(t->value.octet_string->data, e->nonce, 16);

	/* The signature verifies and the signer is the RA (or CA). */
	out = BIO_new(BIO_s_mem());
	/*
	 * The content is never detached: FAILURE and PENDING carry an empty
	 * OCTET STRING, which certmonger's PKCS7_verify() without detached
	 * data accepts.
	 */
	assert_non_null(p7->d.sign->contents->d.data);
	assert_false(PKCS7_get_detached(p7));
	if (e->status != P7_PKI_SUCCESS)
		assert_int_equal(p7->d.sign->contents->d.data->length, 0);
	assert_int_equal(PKCS7_verify(p7, NULL, NULL, NULL, out,
	    PKCS7_NOVERIFY | PKCS7_BINARY), 1);
	if (e->status != P7_PKI_SUCCESS)
		assert_int_equal(BIO_pending(out), 0);
	assert_non_null(signers = PKCS7_get0_signers(p7, NULL, 0));
	assert_int_equal(sk_X509_num(signers), 1);
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), e->signcert), 0);
	sk_X509_free(signers);

	if (e->status == P7_PKI_SUCCESS) {
		clen = BIO_get_mem_data(out, (char **)&content);
		p = content;
		assert_non_null(env = d2i_PKCS7(NULL, &p, clen));
		assert_ptr_equal(p, content + clen);
		assert_int_equal(OBJ_obj2nid(env->type), NID_pkcs7_enveloped);
		assert_int_equal(OBJ_obj2nid(
		    env->d.enveloped->enc_data->algorithm->algorithm),
		    cipher_nid[e->cipher]);
		assert_int_equal(sk_PKCS7_RECIP_INFO_num(
		    env->d.enveloped->recipientinfo), 1);
		plain = BIO_new(BIO_s_mem());
		assert_int_equal(PKCS7_decrypt(env, e->rcpt_key, e->rcpt,
		    plain, 0), 1);
		clen = BIO_get_mem_data(plain, (char **)&content);
		certs = certs_only_certs(content, clen);
		assert_true(sk_X509_num(certs) >= 1);
		assert_int_equal(X509_cmp(sk_X509_value(certs, 0), e->issued),
		    0);
		sk_X509_pop_free(certs, X509_free);
		BIO_free(plain);
		PKCS7_free(env);
	}
	BIO_free(out);
	PKCS7_free(p7);
}

/* An issued certificate for the CSR, made with plain OpenSSL. */
static X509 *
issue(X509_REQ *csr, X509 *ca, EVP_PKEY *cakey)
{
	X509	*x;

	assert_non_null(x = X509_new());
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x11);
	X509_set_subject_name(x, X509_REQ_get_subject_name(csr));
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, X509_REQ_get0_pubkey(csr));
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	return x;
}

static void
roundtrip(struct p7_ca *ca, X509 *rcpt, X509 *signcert, EVP_PKEY *cakey,
    X509 *client, enum p7_cipher c, enum p7_digest d)
{
	struct p7_algs		 allowed = everything;
	struct expect_rep	 e;
	struct rb		 b;
	struct p7_req		*req = NULL;
	unsigned char		*csr, *der, *rep;
	size_t			 csrlen, len, replen;
	X509			*issued;
	int			 st, fi;

	csr = make_csr(g.client_key, "round trip", V_ASN1_UTF8STRING,
	    "s3cret", 0, &csrlen);
	rb_init(&b, rcpt, csr, csrlen);
	b.cipher = c;
	b.digest = d;
	b.signer = client;
	der = rb_build(&b, &len);
	st = parse(ca, der, len, &allowed, &req);
	if (st != P7_OK)
		fail_msg("%s/%s: status %d failInfo %d", p7_cipher_name(c),
		    p7_digest_name(d), st, req ? (int)p7_req_fail_info(req) :
		    -1);
	assert_int_equal(p7_req_cipher(req), c);
	assert_int_equal(p7_req_digest(req), d);
	assert_string_equal(p7_req_get0_transaction_id(req), b.tid);

	issued = issue(p7_req_get0_csr(req), p7_ca_get0_cert(ca), cakey);
	memset(&e, 0, sizeof(e));
	e.digest = d;
	e.cipher = c;
	e.signcert = signcert;
	e.issued = issued;
	e.rcpt = client;
	e.rcpt_key = g.client_key;
	e.tid = b.tid;
	e.nonce = b.nonce;

	e.status = P7_PKI_SUCCESS;
	assert_int_equal(p7_certrep(ca, req, P7_PKI_SUCCESS, 0, issued, &rep,
	    &replen), 0);
	check_certrep(rep, replen, &e);
	OPENSSL_free(rep);

	e.status = P7_PKI_PENDING;
	assert_int_equal(p7_certrep(ca, req, P7_PKI_PENDING, 0, NULL, &rep,
	    &replen), 0);
	check_certrep(rep, replen, &e);
	OPENSSL_free(rep);

	e.status = P7_PKI_FAILURE;
	for (fi = P7_FAIL_BAD_ALG; fi <= P7_FAIL_BAD_CERT_ID; fi++) {
		e.fi = fi;
		assert_int_equal(p7_certrep(ca, req, P7_PKI_FAILURE, fi, NULL,
		    &rep, &replen), 0);
		check_certrep(rep, replen, &e);
		OPENSSL_free(rep);
	}
	/* SUCCESS needs a certificate; failInfo must be one of RFC 8894's. */
	assert_int_equal(p7_certrep(ca, req, P7_PKI_SUCCESS, 0, NULL, &rep,
	    &replen), -1);
	assert_int_equal(p7_certrep(ca, req, P7_PKI_FAILURE, 5, NULL, &rep,
	    &replen), -1);

	X509_free(issued);
	p7_req_free(req);
	OPENSSL_free(der);
	OPENSSL_free(csr);
}

static void
test_certrep_roundtrip(void **state)
{
	int	 c, d;

	(void)state;
	for (c = 0; c < P7_CIPHER_COUNT; c++) {
		if (c == P7_CIPHER_DES && !g.legacy)
			continue;
		for (d = 0; d < P7_MD_COUNT; d++)
			roundtrip(g.ra, g.ra_cert, g.ra_cert, g.root_key,
			    g.client, c, d);
	}
}

static void
test_certrep_ca_mode(void **state)
{
	EVP_PKEY	*key;
	FILE		*fp;
	char		 path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/ca.key", vecdir());
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(key = PEM_read_PrivateKey(fp, NULL, NULL, NULL));
	fclose(fp);
	roundtrip(g.vec, p7_ca_get0_cert(g.vec), p7_ca_get0_cert(g.vec), key,
	    g.client, P7_CIPHER_AES256, P7_MD_SHA512);
	/* certmonger's X.509 v1 signer certificate. */
	roundtrip(g.vec, p7_ca_get0_cert(g.vec), p7_ca_get0_cert(g.vec), key,
	    g.client_v1, P7_CIPHER_AES128, P7_MD_SHA256);
	EVP_PKEY_free(key);
}

/* A refused digest is never used for the answer: SHA-256 instead. */
static void
test_certrep_refused_digest(void **state)
{
	struct p7_req		*req = NULL;
	struct expect_rep	 e;
	unsigned char		*der, *rep;
	size_t			 len, replen;
	const unsigned char	*p;
	PKCS7			*p7;
	PKCS7_SIGNER_INFO	*si;
	const ASN1_TYPE		*t;

	(void)state;
	der = load_vector("sscep-pkcsreq-aes128-md5.der", &len);
	assert_int_equal(parse(g.vec, der, len, &modern, &req), P7_FAILED);
	assert_int_equal(p7_req_fail_info(req), P7_FAIL_BAD_ALG);
	assert_int_equal(p7_certrep(g.vec, req, P7_PKI_FAILURE,
	    P7_FAIL_BAD_ALG, NULL, &rep, &replen), 0);

	/* The request's senderNonce, read independently. */
	p = der;
	assert_non_null(p7 = d2i_PKCS7(NULL, &p, (long)len));
	si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	assert_non_null(t = one_attr(si, g.nid_sn));
	memset(&e, 0, sizeof(e));
	e.status = P7_PKI_FAILURE;
	e.fi = P7_FAIL_BAD_ALG;
	e.digest = P7_MD_SHA256;
	e.signcert = p7_ca_get0_cert(g.vec);
	e.tid = p7_req_get0_transaction_id(req);
	e.nonce = t->value.octet_string->data;
	check_certrep(rep, replen, &e);
	PKCS7_free(p7);
	OPENSSL_free(rep);
	p7_req_free(req);
	free(der);
}

/* --- hostile input -------------------------------------------------- */

static void
test_prefixes_and_trailing(void **state)
{
	struct p7_req	*req;
	unsigned char	*der, *longer;
	size_t		 len, i;

	(void)state;
	der = load_vector("strongswan-pkcsreq-aes128-sha256.der", &len);
	for (i = 0; i < len; i++) {
		req = NULL;
		assert_int_equal(parse(g.vec, der, i, &modern, &req),
		    P7_MALFORMED);
		assert_null(req);
	}
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	req = NULL;
	assert_int_equal(parse(g.vec, longer, len + 1, &modern, &req),
	    P7_MALFORMED);
	assert_null(req);
	/* The whole message is fine. */
	assert_int_equal(parse(g.vec, der, len, &modern, &req), P7_OK);
	p7_req_free(req);
	free(longer);
	free(der);
}

static void
test_flipped_signature(void **state)
{
	struct p7_req	*req;
	unsigned char	*csr;
	size_t		 csrlen;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "flip", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.flip_sig = 1;
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	assert_null(p7_req_get0_csr(req));
	assert_string_equal(p7_req_get0_transaction_id(req), b.tid);
	p7_req_free(req);
	OPENSSL_free(csr);
}

static void
test_message_types(void **state)
{
	static const struct {
		const char	*s;
		int		 sent;
	} bad[] = {
		{ "18", 18 }, { "3", 3 }, { "0", 0 }, { "99", 99 },
		{ "", -1 }, { "019", -1 }, { " 19", -1 }, { "+19", -1 },
		{ "19 ", -1 }, { "-19", -1 },
	};
	struct p7_req	*req;
	unsigned char	*csr;
	char		*digits;
	size_t		 csrlen, i;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "types", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.msg_type = bad[i].s;
		req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_REQUEST);
		/* Nothing was decrypted. */
		assert_null(p7_req_get0_csr(req));
		assert_int_equal(p7_req_message_type(req), bad[i].sent);
		p7_req_free(req);
	}
	assert_non_null(digits = malloc(65537));
	memset(digits, '9', 65536);
	digits[65536] = '\0';
	b.msg_type = digits;
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_REQUEST);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);
	free(digits);

	/* Wrong ASN.1 types, missing or repeated: nothing to answer. */
	b.msg_type = "19";
	b.msg_type_type = V_ASN1_UTF8STRING;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.msg_type_type = V_ASN1_IA5STRING;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.msg_type_type = V_ASN1_OCTET_STRING;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.msg_type_type = V_ASN1_PRINTABLESTRING;
	b.msg_type_twice = 1;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.msg_type_twice = 2;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.msg_type_twice = 0;
	b.msg_type = NULL;
	expect(&b, &modern, P7_MALFORMED, 0);

	/* And the right one works, for the record. */
	b.msg_type = "19";
	req = expect(&b, &modern, P7_OK, 0);
	p7_req_free(req);
	OPENSSL_free(csr);
}

static void
test_attributes(void **state)
{
	struct p7_req	*req;
	unsigned char	*csr;
	char		 tid[P7_TRANSID_MAX + 2];
	size_t		 csrlen;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "attrs", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);

	b.tid = NULL;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.tid = "";
	expect(&b, &modern, P7_MALFORMED, 0);
	b.tid = "bad@char";
	expect(&b, &modern, P7_MALFORMED, 0);
	memset(tid, 'A', sizeof(tid));
	tid[P7_TRANSID_MAX + 1] = '\0';
	b.tid = tid;
	expect(&b, &modern, P7_MALFORMED, 0);
	tid[P7_TRANSID_MAX] = '\0';
	req = expect(&b, &modern, P7_OK, 0);
	assert_string_equal(p7_req_get0_transaction_id(req), tid);
	p7_req_free(req);
	/* micromdm and sscep GetCert forms. */
	b.tid = "LLagb5IJ4nwubuwj7+NKbRdMjT0=";
	req = expect(&b, &modern, P7_OK, 0);
	p7_req_free(req);
	b.tid = "SSCEP transactionId";
	req = expect(&b, &modern, P7_OK, 0);
	assert_string_equal(p7_req_get0_transaction_id(req), b.tid);
	p7_req_free(req);

	b.nonce_len = 15;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.nonce_len = 17;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.nonce_len = -1;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.nonce_len = 16;
	b.nonce_type = V_ASN1_PRINTABLESTRING;
	expect(&b, &modern, P7_MALFORMED, 0);
	OPENSSL_free(csr);
}

static void
test_signed_data_shape(void **state)
{
	struct p7_req	*req;
	unsigned char	*csr;
	size_t		 csrlen;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "shape", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.signers = 0;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.signers = 2;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.signers = 1;
	/* CVE-2026-45447 trigger: refused before any verify call. */
	b.empty_md_algs = 1;
	expect(&b, &modern, P7_MALFORMED, 0);
	b.empty_md_algs = 0;
	/* Signer certificate not included. */
	b.no_certs = 1;
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	assert_null(p7_req_get0_signer(req));
	p7_req_free(req);
	b.no_certs = 0;
	/* shaNWithRSAEncryption as signatureAlgorithm (strongSwan). */
	b.sigalg = NID_sha256WithRSAEncryption;
	req = expect(&b, &modern, P7_OK, 0);
	p7_req_free(req);
	/* An ECDSA signatureAlgorithm with an RSA key. */
	b.sigalg = NID_ecdsa_with_SHA256;
	req = expect_why(&b, &modern, P7_FAILED, P7_FAIL_BAD_ALG,
	    "signatureAlgorithm ecdsa-with-SHA256 is not RSA");
	p7_req_free(req);
	OPENSSL_free(csr);
}

static void
test_algorithms_refused(void **state)
{
	struct p7_algs	 allowed = modern;
	struct p7_req	*req;
	unsigned char	*csr;
	size_t		 csrlen;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "algs", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.cipher = P7_CIPHER_3DES;
	allowed.ciphers &= ~P7_BIT(P7_CIPHER_3DES);
	req = expect(&b, &allowed, P7_FAILED, P7_FAIL_BAD_ALG);
	/* Decided before decrypting. */
	assert_null(p7_req_get0_csr(req));
	assert_int_equal(p7_req_cipher(req), P7_CIPHER_3DES);
	p7_req_free(req);
	b.cipher = P7_CIPHER_AES128;
	b.digest = P7_MD_SHA1;
	allowed.digests &= ~P7_BIT(P7_MD_SHA1);
	req = expect(&b, &allowed, P7_FAILED, P7_FAIL_BAD_ALG);
	assert_null(p7_req_get0_csr(req));
	assert_int_equal(p7_req_digest(req), P7_MD_SHA1);
	p7_req_free(req);
	OPENSSL_free(csr);
}

/* --- RSASSA-PSS (strongSwan pki --rsa-padding pss) ------------------ */

static int
csr_sig_nid(const struct p7_req *req)
{
	const X509_ALGOR	*alg;

	X509_REQ_get0_signature(p7_req_get0_csr(req), NULL, &alg);
	return OBJ_obj2nid(alg->algorithm);
}

/*
 * A CertRep FAILURE with failInfo fi and a reason containing why, that
 * echoes the transactionID and hands out no CSR.
 */
static void
refused(const struct rb *b, const struct p7_algs *allowed,
    enum p7_fail_info fi, const char *why)
{
	struct p7_req	*req;

	req = expect_why(b, allowed, P7_FAILED, fi, why);
	assert_null(p7_req_get0_csr(req));
	assert_string_equal(p7_req_get0_transaction_id(req), b->tid);
	p7_req_free(req);
}

/* The CertRep to a PSS request is PKCS#1 v1.5 (check_certrep asserts). */
static void
pss_certrep(struct p7_req *req, const struct rb *b)
{
	struct expect_rep	 e;
	unsigned char		*rep;
	size_t			 replen;
	X509			*issued;

	issued = issue(p7_req_get0_csr(req), p7_ca_get0_cert(g.ra),
	    g.root_key);
	memset(&e, 0, sizeof(e));
	e.status = P7_PKI_SUCCESS;
	e.digest = b->digest;
	e.cipher = b->cipher;
	e.signcert = g.ra_cert;
	e.issued = issued;
	e.rcpt = g.client;
	e.rcpt_key = g.client_key;
	e.tid = b->tid;
	e.nonce = b->nonce;
	assert_int_equal(p7_certrep(g.ra, req, P7_PKI_SUCCESS, 0, issued,
	    &rep, &replen), 0);
	check_certrep(rep, replen, &e);
	OPENSSL_free(rep);
	X509_free(issued);
}

/*
 * SHA-256/384/512 with any salt length the parameters state, a CSR
 * signed with PSS inside, and a v1.5 CertRep back.
 */
static void
test_pss_accepted(void **state)
{
	static const enum p7_digest	 ds[] = {
		P7_MD_SHA256, P7_MD_SHA384, P7_MD_SHA512,
	};
	struct p7_algs	 allowed = modern;
	struct pss	 pss, csrpss;
	struct p7_req	*req;
	unsigned char	*csr;
	size_t		 csrlen, i, j;
	struct rb	 b;
	unsigned char	*der;
	size_t		 len;
	char		 chal[16];
	int		 h, salts[3];

	(void)state;
	/* strongSwan signs the CSR with PSS as well. */
	der = load_vector("strongswan-pkcsreq-pss-aes128-sha512.der", &len);
	req = NULL;
	assert_int_equal(parse(g.vec, der, len, &modern, &req), P7_OK);
	assert_int_equal(p7_req_digest(req), P7_MD_SHA512);
	assert_int_equal(csr_sig_nid(req), NID_rsassaPss);
	p7_req_free(req);
	free(der);

	memset(&csrpss, 0, sizeof(csrpss));
	csrpss.sign_salt = 32;
	csr = make_csr_pss(g.client_key, "pss", V_ASN1_UTF8STRING, "s3cret",
	    0, &csrpss, &csrlen);
	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		h = EVP_MD_get_size(EVP_get_digestbynid(digest_nid[ds[i]]));
		salts[0] = 0;
		salts[1] = h;
		salts[2] = 256 - h - 2;	/* the largest for RSA-2048 */
		for (j = 0; j < 3; j++) {
			memset(&pss, 0, sizeof(pss));
			pss.salt = salts[j];
			pss.sign_salt = -1;
			rb_init(&b, g.ra_cert, csr, csrlen);
			b.digest = ds[i];
			b.pss = &pss;
			req = expect(&b, &modern, P7_OK, 0);
			assert_int_equal(p7_req_digest(req), ds[i]);
			assert_non_null(p7_req_get0_csr(req));
			assert_int_equal(csr_sig_nid(req), NID_rsassaPss);
			assert_int_equal(p7_req_challenge(req, chal,
			    sizeof(chal)), 6);
			assert_string_equal(chal, "s3cret");
			if (j == 1)
				pss_certrep(req, &b);
			p7_req_free(req);
		}
	}

	/* Salt omitted: RFC 4055's default of 20 bytes. */
	memset(&pss, 0, sizeof(pss));
	pss.salt = -1;
	pss.sign_salt = 20;
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.pss = &pss;
	p7_req_free(expect(&b, &modern, P7_OK, 0));

	/* SHA-1 as for PKCS#1 v1.5: accepted if and only if policy allows. */
	pss.salt = 20;
	b.digest = P7_MD_SHA1;
	p7_req_free(expect(&b, &modern, P7_OK, 0));
	allowed.digests &= ~P7_BIT(P7_MD_SHA1);
	refused(&b, &allowed, P7_FAIL_BAD_ALG, "digest sha1 refused");
	OPENSSL_free(csr);
}

/* Parameters we do not support: badAlg before decryption, a reason. */
static void
test_pss_params_refused(void **state)
{
	static const struct {
		struct pss	 pss;
		enum p7_digest	 digest;
		const char	*why;
	} cases[] = {
		{ { 0, 0, 0, 32, -1, 0, 1 }, P7_MD_SHA256,
		    "signer RSASSA-PSS without parameters" },
		{ { 0, 0, 0, 32, -1, 0, 2 }, P7_MD_SHA256,
		    "signer RSASSA-PSS parameters undecodable" },
		{ { NID_sha384, 0, 0, 32, -1, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS hash SHA384 differs from digestAlgorithm "
		    "SHA256" },
		/* Hash omitted is SHA-1, not the digestAlgorithm. */
		{ { -1, -1, 0, 20, -1, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS hash SHA1 differs from digestAlgorithm "
		    "SHA256" },
		{ { 0, NID_sha256, 0, 32, -1, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS mask generation SHA256 is not MGF1" },
		{ { 0, 0, NID_sha1, 32, -1, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS MGF1 hash SHA1 differs from hash SHA256" },
		/* MGF omitted is MGF1 with SHA-1. */
		{ { 0, -1, 0, 32, -1, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS MGF1 hash SHA1 differs from hash SHA256" },
		{ { 0, 0, 0, 32, -1, 2, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS trailerField is not 1" },
		{ { 0, 0, 0, 223, 32, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS saltLength out of range (0 to 222 for a "
		    "2048-bit key)" },
		{ { 0, 0, 0, -2, 32, 0, 0 }, P7_MD_SHA256,
		    "signer RSASSA-PSS saltLength out of range" },
		/* Legacy MD5 is allowed by policy here, never with PSS. */
		{ { 0, 0, 0, 16, -1, 0, 0 }, P7_MD_MD5,
		    "signer RSASSA-PSS hash MD5 not supported" },
	};
	unsigned char	*csr;
	size_t		 csrlen, i;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "pss", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rb_init(&b, g.ra_cert, csr, csrlen);
		b.digest = cases[i].digest;
		b.pss = &cases[i].pss;
		/* Decided on the cleartext, nothing decrypted. */
		refused(&b, &everything, P7_FAIL_BAD_ALG, cases[i].why);
	}
	OPENSSL_free(csr);
}

/* A PSS signature that does not verify is badMessageCheck, as for v1.5. */
static void
test_pss_signature_refused(void **state)
{
	struct pss	 pss, csrpss;
	unsigned char	*csr;
	size_t		 csrlen;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "pss", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	memset(&pss, 0, sizeof(pss));
	pss.salt = 32;
	pss.sign_salt = -1;
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.pss = &pss;
	b.flip_sig = 1;
	refused(&b, &modern, P7_FAIL_BAD_MESSAGE_CHECK,
	    "signature does not verify");

	/* Signed with 20 salt bytes, parameters say 32. */
	b.flip_sig = 0;
	pss.sign_salt = 20;
	refused(&b, &modern, P7_FAIL_BAD_MESSAGE_CHECK,
	    "signature does not verify");
	OPENSSL_free(csr);

	/*
	 * The CSR is decrypted content: one badMessageCheck for all of it,
	 * the log says which.
	 */
	pss.sign_salt = -1;
	memset(&csrpss, 0, sizeof(csrpss));
	csrpss.sign_salt = 32;
	csr = make_csr_pss(g.client_key, "pss", V_ASN1_UTF8STRING, "s3cret",
	    1, &csrpss, &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.pss = &pss;
	refused(&b, &modern, P7_FAIL_BAD_MESSAGE_CHECK,
	    "pkcsPKIEnvelope refused: CSR signature does not verify");
	OPENSSL_free(csr);

	/* OpenSSL alone accepts an MGF1 hash that differs; we do not. */
	csrpss.mgf_hash = NID_sha1;
	csr = make_csr_pss(g.client_key, "pss", V_ASN1_UTF8STRING, "s3cret",
	    0, &csrpss, &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.pss = &pss;
	refused(&b, &modern, P7_FAIL_BAD_MESSAGE_CHECK,
	    "pkcsPKIEnvelope refused: CSR RSASSA-PSS MGF1 hash SHA1 differs "
	    "from hash SHA256");
	OPENSSL_free(csr);
}

/* A CMS EnvelopedData with a KEKRecipientInfo, which PKCS7 cannot read. */
static unsigned char *
kek_envelope(const unsigned char *data, size_t len, size_t *outlen)
{
	CMS_ContentInfo	*cms;
	BIO		*in;
	unsigned char	*der = NULL, key[16], id[4] = { 1, 2, 3, 4 };
	int		 n;

	assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
	in = BIO_new_mem_buf(data, (int)len);
	assert_non_null(cms = CMS_encrypt(NULL, in, EVP_aes_128_cbc(),
	    CMS_BINARY | CMS_PARTIAL));
	assert_non_null(CMS_add0_recipient_key(cms, NID_undef,
	    OPENSSL_memdup(key, sizeof(key)), sizeof(key),
	    OPENSSL_memdup(id, sizeof(id)), sizeof(id), NULL, NULL, NULL));
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	assert_true((n = i2d_CMS_ContentInfo(cms, &der)) > 0);
	*outlen = n;
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return der;
}

/* Class E: every envelope problem is the same badMessageCheck. */
static void
test_envelope(void **state)
{
	struct p7_req	*req;
	unsigned char	*csr, *badcsr, *trail, *kek, junk[300];
	size_t		 csrlen, badlen, keklen;
	struct rb	 b;

	(void)state;
	csr = make_csr(g.client_key, "env", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.other, csr, csrlen);
	/* To another recipient. */
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);
	/* Encrypted to the CA instead of the RA: not the RA's either. */
	b.rcpt = g.root;
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	p7_req_free(req);

	/* CSR signature broken. */
	badcsr = make_csr(g.client_key, "env", V_ASN1_UTF8STRING, "s3cret",
	    1, &badlen);
	rb_init(&b, g.ra_cert, badcsr, badlen);
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);

	/* CSR with trailing bytes. */
	assert_non_null(trail = malloc(csrlen + 2));
	memcpy(trail, csr, csrlen);
	trail[csrlen] = 0x05;
	trail[csrlen + 1] = 0x00;
	rb_init(&b, g.ra_cert, trail, csrlen + 2);
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);
	free(trail);

	/* Random plaintext. */
	assert_int_equal(RAND_bytes(junk, sizeof(junk)), 1);
	rb_init(&b, g.ra_cert, junk, sizeof(junk));
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	p7_req_free(req);

	/* Ours and another RecipientInfo: only ours is used (H-39). */
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.rcpt2 = g.other;
	req = expect(&b, &modern, P7_OK, 0);
	assert_non_null(p7_req_get0_csr(req));
	p7_req_free(req);

	/* KEKRecipientInfo: refused on the cleartext (H-40). */
	kek = kek_envelope(csr, csrlen, &keklen);
	rb_init(&b, g.ra_cert, kek, keklen);
	b.bare = 1;
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_ALG);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);
	OPENSSL_free(kek);

	/* A bare CSR as eContent, no envelope (RFC 8894 3.1, H-42). */
	rb_init(&b, g.ra_cert, csr, csrlen);
	b.bare = 1;
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_REQUEST);
	assert_null(p7_req_get0_csr(req));
	p7_req_free(req);
	OPENSSL_free(badcsr);
	OPENSSL_free(csr);
}

static void
test_pkcsreq_key_binding(void **state)
{
	struct p7_req	*req;
	unsigned char	*csr;
	size_t		 csrlen;
	struct rb	 b;

	(void)state;
	/* A self-signed signer whose key is not the CSR's. */
	csr = make_csr(g.other_key, "bind", V_ASN1_UTF8STRING, "s3cret", 0,
	    &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_REQUEST);
	assert_int_equal(p7_req_signer_issued(req), 0);
	p7_req_free(req);
	/* The same as a RenewalReq is fine (server/ authorises it). */
	b.msg_type = "17";
	req = expect(&b, &modern, P7_OK, 0);
	assert_int_equal(p7_req_message_type(req), P7_MSG_RENEWALREQ);
	assert_non_null(p7_req_get0_csr(req));
	p7_req_free(req);
	OPENSSL_free(csr);
}

static void
test_challenge_types(void **state)
{
	static const struct {
		int		 type;
		const char	*value;
	} c[] = {
		{ V_ASN1_PRINTABLESTRING, "s3cret" },
		{ V_ASN1_UTF8STRING, "s\xc3\xa9" "cret" },
		{ V_ASN1_IA5STRING, "s3cret@x" },
		{ V_ASN1_BMPSTRING, "s\xc3\xa9" "cret" },
		{ V_ASN1_T61STRING, "s3cret" },
	};
	struct p7_req	*req;
	unsigned char	*csr;
	char		 buf[64];
	size_t		 csrlen, i;
	struct rb	 b;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		csr = make_csr(g.client_key, "chal", c[i].type, c[i].value, 0,
		    &csrlen);
		rb_init(&b, g.ra_cert, csr, csrlen);
		req = expect(&b, &modern, P7_OK, 0);
		assert_int_equal(p7_req_challenge(req, buf, sizeof(buf)),
		    (int)strlen(c[i].value));
		assert_string_equal(buf, c[i].value);
		p7_req_free(req);
		OPENSSL_free(csr);
	}
	csr = make_csr(g.client_key, "chal", 0, NULL, 0, &csrlen);
	rb_init(&b, g.ra_cert, csr, csrlen);
	req = expect(&b, &modern, P7_OK, 0);
	assert_int_equal(p7_req_challenge(req, buf, sizeof(buf)), -1);
	p7_req_free(req);
	OPENSSL_free(csr);
}

static void
test_other_message_types(void **state)
{
	PKCS7_ISSUER_AND_SERIAL	*ias;
	struct p7_req		*req;
	unsigned char		*der = NULL, *p;
	unsigned char		 garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	X509_NAME		*iss, *sub;
	int			 n, l1, l2;
	struct rb		 b;

	(void)state;
	/* GetCert and GetCRL: IssuerAndSerialNumber. */
	ias = PKCS7_ISSUER_AND_SERIAL_new();
	X509_NAME_set(&ias->issuer, X509_get_subject_name(g.root));
	ASN1_INTEGER_set(ias->serial, 0x11);
	assert_true((n = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &der)) > 0);
	rb_init(&b, g.ra_cert, der, n);
	b.msg_type = "21";
	req = expect(&b, &modern, P7_OK, 0);
	assert_int_equal(p7_req_message_type(req), P7_MSG_GETCERT);
	assert_null(p7_req_get0_csr(req));
	assert_int_equal(X509_NAME_cmp(p7_req_get0_issuer(req),
	    X509_get_subject_name(g.root)), 0);
	assert_int_equal(ASN1_INTEGER_get(p7_req_get0_serial(req)), 0x11);
	p7_req_free(req);
	b.msg_type = "22";
	req = expect(&b, &modern, P7_OK, 0);
	assert_non_null(p7_req_get0_serial(req));
	p7_req_free(req);
	OPENSSL_free(der);
	PKCS7_ISSUER_AND_SERIAL_free(ias);

	/* CertPoll: IssuerAndSubject, hand-encoded. */
	iss = X509_get_subject_name(g.root);
	sub = X509_get_subject_name(g.client);
	l1 = i2d_X509_NAME(iss, NULL);
	l2 = i2d_X509_NAME(sub, NULL);
	assert_true(l1 + l2 < 0x10000);
	assert_non_null(der = malloc(4 + l1 + l2));
	der[0] = 0x30;
	der[1] = 0x82;
	der[2] = (l1 + l2) >> 8;
	der[3] = (l1 + l2) & 0xff;
	p = der + 4;
	i2d_X509_NAME(iss, &p);
	i2d_X509_NAME(sub, &p);
	rb_init(&b, g.ra_cert, der, 4 + l1 + l2);
	b.msg_type = "20";
	req = expect(&b, &modern, P7_OK, 0);
	assert_int_equal(X509_NAME_cmp(p7_req_get0_issuer(req), iss), 0);
	assert_int_equal(X509_NAME_cmp(p7_req_get0_subject(req), sub), 0);
	p7_req_free(req);
	free(der);

	/* Malformed contents. */
	rb_init(&b, g.ra_cert, garbage, sizeof(garbage));
	b.msg_type = "20";
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	p7_req_free(req);
	b.msg_type = "21";
	req = expect(&b, &modern, P7_FAILED, P7_FAIL_BAD_MESSAGE_CHECK);
	p7_req_free(req);
}

/* --- nextca.c -------------------------------------------------------- */

/* A PEM file of its own in g.dir (removed by the test that made it). */
static void
nx_write(char *path, size_t len, const char *name, X509 *a, X509 *b,
    EVP_PKEY *key)
{
	FILE	*fp;

	snprintf(path, len, "%s/%s", g.dir, name);
	assert_non_null(fp = fopen(path, "w"));
	if (a != NULL)
		assert_int_equal(PEM_write_X509(fp, a), 1);
	if (b != NULL)
		assert_int_equal(PEM_write_X509(fp, b), 1);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0,
		    NULL, NULL), 1);
	fclose(fp);
}

/*
 * The GetNextCACert answer verifies with the current signer (verify
 * the signature only: the trust decision is the client's) and carries
 * want[0..n-1] in its certs-only content.
 */
static void
check_nextca(struct p7_ca *ca, X509 *signer, X509 **want, int n)
{
	const unsigned char	*der, *p;
	STACK_OF(X509)		*signers, *certs;
	PKCS7			*p7;
	BIO			*out;
	unsigned char		*inner;
	size_t			 len;
	long			 ilen;
	int			 i;

	assert_int_equal(p7_ca_getnextcacert(ca, &der, &len), 0);
	p = der;
	assert_non_null(p7 = d2i_PKCS7(NULL, &p, (long)len));
	assert_ptr_equal(p, der + len);
	assert_true(PKCS7_type_is_signed(p7));
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 1);
	assert_non_null(out = BIO_new(BIO_s_mem()));
	assert_int_equal(PKCS7_verify(p7, NULL, NULL, NULL, out,
	    PKCS7_NOVERIFY), 1);
	assert_non_null(signers = PKCS7_get0_signers(p7, NULL, 0));
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), signer), 0);
	sk_X509_free(signers);
	ilen = BIO_get_mem_data(out, (char **)&inner);
	assert_true(ilen > 0);
	certs = certs_only_certs(inner, (size_t)ilen);
	assert_int_equal(sk_X509_num(certs), n);
	for (i = 0; i < n; i++)
		assert_int_equal(X509_cmp(sk_X509_value(certs, i), want[i]), 0);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(out);
	PKCS7_free(p7);
}

static void
test_nextca(void **state)
{
	struct p7_ca_files	 f;
	struct p7_ca		*ca, *cam;
	EVP_PKEY		*nkey, *nrakey;
	X509			*next, *nra, *want[3];
	const unsigned char	*der;
	size_t			 len;
	char			 root[512], rootkey[512], ra[512], rakey[512];
	char			 npath[512], nrapath[512], bad[512], err[256];

	(void)state;
	nx_write(root, sizeof(root), "nx-root.pem", g.root, NULL, NULL);
	nx_write(rootkey, sizeof(rootkey), "nx-root.key", NULL, NULL,
	    g.root_key);
	nx_write(ra, sizeof(ra), "nx-ra.pem", g.ra_cert, NULL, NULL);
	nx_write(rakey, sizeof(rakey), "nx-ra.key", NULL, NULL, g.ra_key);
	memset(&f, 0, sizeof(f));
	f.ca_cert = root;
	f.ca_key = rootkey;
	f.ra_cert = ra;
	f.ra_key = rakey;
	assert_non_null(ca = p7_ca_load(&f, err, sizeof(err)));
	/* None configured: nothing to serve (HTTP 404). */
	assert_int_equal(p7_ca_getnextcacert(ca, &der, &len), -1);

	nkey = g.other_key;
	nrakey = g.inter_key;
	next = make_cert("next root", nkey, NULL, NULL, 20, 'c');
	nra = make_cert("next ra", nrakey, next, nkey, 21, 'r');
	nx_write(npath, sizeof(npath), "nx-next.pem", next, NULL, NULL);
	nx_write(nrapath, sizeof(nrapath), "nx-nextra.pem", nra, NULL, NULL);

	/* RA mode: signed by the RA; next RA, then next CA. */
	assert_int_equal(p7_ca_load_next(ca, npath, nrapath, err,
	    sizeof(err)), 0);
	want[0] = nra;
	want[1] = next;
	check_nextca(ca, g.ra_cert, want, 2);
	/* Loading again replaces the answer: the next CA alone. */
	assert_int_equal(p7_ca_load_next(ca, npath, "", err, sizeof(err)), 0);
	check_nextca(ca, g.ra_cert, want + 1, 1);

	/* CA mode: signed by the CA itself. */
	f.ra_cert = NULL;
	f.ra_key = NULL;
	assert_non_null(cam = p7_ca_load(&f, err, sizeof(err)));
	assert_int_equal(p7_ca_load_next(cam, npath, NULL, err, sizeof(err)),
	    0);
	check_nextca(cam, g.root, want + 1, 1);

	/* Refused: the current CA, a leaf, an RA of another CA, no file. */
	assert_int_equal(p7_ca_load_next(cam, root, NULL, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "current CA"));
	nx_write(bad, sizeof(bad), "nx-leaf.pem", g.client, NULL, NULL);
	assert_int_equal(p7_ca_load_next(cam, bad, NULL, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not a CA"));
	unlink(bad);
	assert_int_equal(p7_ca_load_next(cam, npath, ra, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not issued by"));
	assert_int_equal(p7_ca_load_next(cam, "/nonexistent/next.pem", NULL,
	    err, sizeof(err)), -1);
	assert_int_equal(p7_ca_load_next(cam, "", NULL, err, sizeof(err)), -1);
	/* A refusal leaves the earlier answer in place. */
	check_nextca(cam, g.root, want + 1, 1);

	p7_ca_free(cam);
	p7_ca_free(ca);
	X509_free(next);
	X509_free(nra);
	unlink(root);
	unlink(rootkey);
	unlink(ra);
	unlink(rakey);
	unlink(npath);
	unlink(nrapath);
}

/*
 * p7_issue with a template's plan: subject bytes kept, the SID extension
 * exactly as AD CS encodes it (KB5014754), CDP and AIA as given
 * (a URL with ',' stays one URL), SAN critical only without a subject,
 * validity capped at the CA's notAfter.
 */
static X509 *
issue_plan(struct p7_issue *spec, X509_REQ *req)
{
	static const unsigned char serial[] = { 0x42, 0x01 };
	X509	*crt = NULL;
	char	 err[256] = "";

	spec->serial = serial;
	spec->serial_len = sizeof(serial);
	if (p7_issue(g.ra, req, spec, &crt, err, sizeof(err)) == -1)
		fail_msg("p7_issue: %s", err);
	assert_int_equal(X509_verify(crt, g.root_key), 1);
	return crt;
}

static const ASN1_STRING *
ext_data(X509 *crt, const char *oid, int *critical)
{
	ASN1_OBJECT	*obj = OBJ_txt2obj(oid, 1);
	X509_EXTENSION	*ext;
	int		 i;

	i = X509_get_ext_by_OBJ(crt, obj, -1);
	ASN1_OBJECT_free(obj);
	if (i < 0)
		return NULL;
	ext = X509_get_ext(crt, i);
	*critical = X509_EXTENSION_get_critical(ext);
	return X509_EXTENSION_get_data(ext);
}

static void
test_issue_template_extensions(void **state)
{
	/* SEQUENCE { [0] { OID 1.3.6.1.4.1.311.25.2.1, [0] { OCTET STRING
	 * "S-1-5-21-1004336348-1177238915-682003330-512" } } } */
	static const char sid[] = "S-1-5-21-1004336348-1177238915-682003330-512";
	unsigned char	 want[128], *a = NULL, *b = NULL;
	size_t		 n = 0, slen = sizeof(sid) - 1;
	struct p7_issue	 spec;
	X509_REQ	*req;
	X509_NAME	*name, *empty;
	GENERAL_NAMES	*san, *got;
	CRL_DIST_POINTS	*cdp;
	AUTHORITY_INFO_ACCESS *aia;
	ACCESS_DESCRIPTION *ad;
	GENERAL_NAME	*gn;
	const ASN1_STRING *d;
	ASN1_IA5STRING	*ia5;
	X509		*crt;
	time_t		 now = time(NULL);
	int		 crit, la, lb;

	(void)state;
	want[n++] = 0x30; want[n++] = (unsigned char)(slen + 18);
	want[n++] = 0xa0; want[n++] = (unsigned char)(slen + 16);
	memcpy(want + n, "\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x19\x02\x01", 12);
	n += 12;
	want[n++] = 0xa0; want[n++] = (unsigned char)(slen + 2);
	want[n++] = 0x04; want[n++] = (unsigned char)slen;
	memcpy(want + n, sid, slen);
	n += slen;

	/* A subject in odd order with three string types. */
	assert_non_null(req = X509_REQ_new());
	X509_REQ_set_pubkey(req, g.client_key);
	name = X509_REQ_get_subject_name(req);
	X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_BMPSTRING,
	    (const unsigned char *)"\0d\0e\0v", 6, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", V_ASN1_UTF8STRING,
	    (const unsigned char *)"Acme", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "C", V_ASN1_PRINTABLESTRING,
	    (const unsigned char *)"DE", -1, -1, 0);
	assert_non_null(san = GENERAL_NAMES_new());
	assert_non_null(gn = GENERAL_NAME_new());
	ia5 = ASN1_IA5STRING_new();
	ASN1_STRING_set(ia5, "dev.example", -1);
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	sk_GENERAL_NAME_push(san, gn);

	memset(&spec, 0, sizeof(spec));
	spec.not_before = now - 300;
	spec.not_after = now + 30 * 86400;
	spec.san = san;
	spec.sid = sid;
	spec.crl_url = "http://pki.example/crl?a=1,b=2";
	spec.ocsp_url = "http://ocsp.example/";
	spec.ca_issuers_url = "http://pki.example/ca.cer";
	crt = issue_plan(&spec, req);

	la = i2d_X509_NAME(X509_get_subject_name(crt), &a);
	lb = i2d_X509_NAME(name, &b);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, (size_t)la);
	OPENSSL_free(a);
	OPENSSL_free(b);

	assert_non_null(d = ext_data(crt, "1.3.6.1.4.1.311.25.2", &crit));
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_STRING_length(d), (int)n);
	assert_memory_equal(ASN1_STRING_get0_data(d), want, n);

	assert_non_null(cdp = X509_get_ext_d2i(crt, NID_crl_distribution_points,
	    &crit, NULL));
	assert_int_equal(crit, 0);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	got = sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname;
	assert_int_equal(sk_GENERAL_NAME_num(got), 1);
	gn = sk_GENERAL_NAME_value(got, 0);
	assert_int_equal(gn->type, GEN_URI);
	assert_int_equal(gn->d.uniformResourceIdentifier->length,
	    (int)strlen(spec.crl_url));
	assert_memory_equal(gn->d.uniformResourceIdentifier->data,
	    spec.crl_url, strlen(spec.crl_url));
	CRL_DIST_POINTS_free(cdp);

	assert_non_null(aia = X509_get_ext_d2i(crt, NID_info_access, &crit,
	    NULL));
	assert_int_equal(crit, 0);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
	assert_memory_equal(ad->location->d.uniformResourceIdentifier->data,
	    "http://ocsp.example/", 20);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);

	/* SAN non-critical beside a subject; default EKU clientAuth. */
	assert_non_null(got = X509_get_ext_d2i(crt, NID_subject_alt_name, &crit,
	    NULL));
	assert_int_equal(crit, 0);
	GENERAL_NAMES_free(got);
	assert_true(X509_get_extended_key_usage(crt) == XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(crt), 0);
	assert_int_equal(X509_cmp_time(X509_get0_notAfter(crt), NULL), 1);
	X509_free(crt);

	/* No subject: the SAN is critical (RFC 5280 4.2.1.6).  No URLs,
	 * no SID: none of those extensions.  A plan past the CA's end is
	 * cut at the CA's notAfter. */
	assert_non_null(empty = X509_NAME_new());
	memset(&spec, 0, sizeof(spec));
	spec.not_before = now - 300;
	spec.not_after = now + 3650L * 86400;
	spec.subject = empty;
	spec.san = san;
	crt = issue_plan(&spec, req);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(crt)), 0);
	assert_non_null(ext_data(crt, "2.5.29.17", &crit));
	assert_int_equal(crit, 1);
	assert_null(ext_data(crt, "1.3.6.1.4.1.311.25.2", &crit));
	assert_null(ext_data(crt, "2.5.29.31", &crit));
	assert_null(ext_data(crt, "1.3.6.1.5.5.7.1.1", &crit));
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(crt),
	    X509_get0_notAfter(g.root)), 0);
	X509_free(crt);

	/* A URL that is not an IA5String without spaces is an error. */
	spec.crl_url = "http://pki.example/a b.crl";
	{
		X509	*bad = NULL;
		char	 err[128];
		static const unsigned char serial[] = { 0x01 };

		spec.serial = serial;
		spec.serial_len = 1;
		assert_int_equal(p7_issue(g.ra, req, &spec, &bad, err,
		    sizeof(err)), -1);
		assert_null(bad);
		assert_non_null(strstr(err, "CRL URL"));
	}
	X509_NAME_free(empty);
	GENERAL_NAMES_free(san);
	X509_REQ_free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_algs),
		cmocka_unit_test(test_ca_vectors),
		cmocka_unit_test(test_ca_ra),
		cmocka_unit_test(test_ca_chain),
		cmocka_unit_test(test_ca_bad),
		cmocka_unit_test(test_pkcs11_uri),
		cmocka_unit_test(test_key_encrypted),
		cmocka_unit_test(test_ca_names),
		cmocka_unit_test(test_ca_mode_key_usage),
		cmocka_unit_test(test_vectors),
		/* Before the legacy provider is loaded. */
		cmocka_unit_test(test_vectors_des_unavailable),
		cmocka_unit_test(test_vectors_legacy),
		cmocka_unit_test(test_certrep_roundtrip),
		cmocka_unit_test(test_certrep_ca_mode),
		cmocka_unit_test(test_certrep_refused_digest),
		cmocka_unit_test(test_prefixes_and_trailing),
		cmocka_unit_test(test_flipped_signature),
		cmocka_unit_test(test_message_types),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_signed_data_shape),
		cmocka_unit_test(test_algorithms_refused),
		cmocka_unit_test(test_pss_accepted),
		cmocka_unit_test(test_pss_params_refused),
		cmocka_unit_test(test_pss_signature_refused),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_pkcsreq_key_binding),
		cmocka_unit_test(test_challenge_types),
		cmocka_unit_test(test_other_message_types),
		cmocka_unit_test(test_issue_template_extensions),
		cmocka_unit_test(test_nextca),
	};

	/* A peer that closes early must fail a test, not kill the binary. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
