/*
 * Keys this process does not hold: an OpenSSL provider, built in, whose
 * keys are a handle and a public key.  Every private operation on them
 * (a signature over a digest, an RSA decryption of a content-encryption
 * key) is handed, as a struct p7_remote_call, to the function given to
 * p7_remote_init(): server/signer/ sends it to the signer process, which
 * alone holds the private keys (docs/design.md, "Key custody").
 *
 * Being a provider, a remote key is an EVP_PKEY like any other: X509_sign,
 * X509_CRL_sign, OCSP_basic_sign, PKCS7_final and PKCS7_dataDecode use it
 * unchanged, and the digests are computed here, so only a digest crosses
 * to the signer, never data a client chose.
 *
 * The keys refuse to be exported with their private half (there is none
 * here) and refuse to import a key without a handle, so OpenSSL never
 * mistakes one of ours for an ordinary key, nor an ordinary key for one
 * of ours: an operation on a remote key falls to this provider's own
 * implementation, and one on any other key to the default provider.
 */
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pkcs7/pkcs7.h"

#define PROVIDER_NAME	"scepd-signer"
#define PARAM_SPKI	"scepd-remote-spki"
#define RSA_NAMES	"RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define EC_NAMES	"EC:id-ecPublicKey:1.2.840.10045.2.1"

static OSSL_LIB_CTX	*remote_libctx;			/* p7_remote_init() */
static OSSL_PROVIDER	*remote_prov, *remote_default;
static p7_remote_fn	 transport;
static void		*transport_arg;
/* A call of this thread found no holder (p7_remote_unavailable()). */
static _Thread_local int unavailable;
/* A holder refused or failed a call of this thread (p7_remote_refused()). */
static _Thread_local int refused;
/* What this thread's calls are for (p7_remote_set_purpose()). */
static _Thread_local enum p7_purpose purpose;

struct rkey {
	int		 ec;
	int		 has_handle;	/* made by p7_remote_key() */
	unsigned char	 id[P7_KEY_ID_LEN];
	EVP_PKEY	*pub;		/* the same key, public half, default provider */
};

/* A signature or decryption under way. */
struct rop {
	struct rkey	*key;
	EVP_MD		*md;		/* fetched from the default provider */
	EVP_MD_CTX	*mdctx;		/* digest_sign_* only */
};

static int
call(struct rkey *k, enum p7_remote_op op, int md_nid,
    const unsigned char *in, size_t inlen, unsigned char *out,
    size_t *outlen, size_t outcap)
{
	struct p7_remote_call	c;
	int			rc;

	if (transport == NULL || !k->has_handle)
		return 0;
	memset(&c, 0, sizeof(c));
	c.op = op;
	c.purpose = purpose;
	memcpy(c.key_id, k->id, sizeof(c.key_id));
	c.md_nid = md_nid;
	c.in = in;
	c.in_len = inlen;
	c.out = out;
	c.out_cap = outcap;
	if ((rc = transport(transport_arg, &c)) == P7_REMOTE_UNAVAILABLE)
		unavailable = 1;
	else if (rc != 0)
		refused = 1;
	if (rc != 0 || c.out_len > outcap)
		return 0;
	*outlen = c.out_len;
	return 1;
}

/* --- key management -------------------------------------------------- */

static void *
km_new(void *provctx)
{
	(void)provctx;
	return OPENSSL_zalloc(sizeof(struct rkey));
}

static void *
km_new_ec(void *provctx)
{
	struct rkey	*k = km_new(provctx);

	if (k != NULL)
		k->ec = 1;
	return k;
}

static void
km_free(void *kd)
{
	struct rkey	*k = kd;

	if (k == NULL)
		return;
	EVP_PKEY_free(k->pub);
	OPENSSL_free(k);
}

static int
km_has(const void *kd, int selection)
{
	const struct rkey	*k = kd;

	if (k == NULL || k->pub == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 &&
	    !k->has_handle)
		return 0;
	return 1;
}

static int
km_match(const void *a, const void *b, int selection)
{
	const struct rkey	*ka = a, *kb = b;

	(void)selection;
	return EVP_PKEY_eq(ka->pub, kb->pub) == 1;
}

/* Only a key made by p7_remote_key() comes in, never an ordinary one. */
static int
km_import(void *kd, int selection, const OSSL_PARAM params[])
{
	struct rkey		*k = kd;
	const OSSL_PARAM	*p;
	const unsigned char	*der;
	size_t			 len;
	EVP_PKEY		*pub;

	(void)selection;
	if ((p = OSSL_PARAM_locate_const(params, PARAM_SPKI)) == NULL ||
	    !OSSL_PARAM_get_octet_string_ptr(p, (const void **)&der, &len))
		return 0;
	if ((pub = d2i_PUBKEY(NULL, &der, (long)len)) == NULL)
		return 0;
	if (EVP_PKEY_is_a(pub, k->ec ? "EC" : "RSA") != 1) {
		EVP_PKEY_free(pub);
		return 0;
	}
	if (p7_key_id(pub, k->id) == -1) {
		EVP_PKEY_free(pub);
		return 0;
	}
	EVP_PKEY_free(k->pub);
	k->pub = pub;
	k->has_handle = 1;
	return 1;
}

static const OSSL_PARAM *
km_import_types(int selection)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_octet_string(PARAM_SPKI, NULL, 0),
		OSSL_PARAM_END
	};

	(void)selection;
	return types;
}

/* The public half only: what comparing keys needs, nothing to sign with. */
static int
km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct rkey	*k = kd;
	OSSL_PARAM	*params = NULL;
	int		 rc;

	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ||
	    k->pub == NULL ||
	    EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params) != 1)
		return 0;
	rc = cb(params, cbarg);
	OSSL_PARAM_free(params);
	return rc;
}

static const OSSL_PARAM *
km_export_types(int selection)
{
	static const OSSL_PARAM rsa[] = {
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_END
	};

	(void)selection;
	return rsa;
}

static const OSSL_PARAM *
km_export_types_ec(int selection)
{
	static const OSSL_PARAM ec[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_END
	};

	(void)selection;
	return ec;
}

/* Sizes and public parameters: those of the public half. */
static int
km_get_params(void *kd, OSSL_PARAM params[])
{
	struct rkey	*k = kd;
	OSSL_PARAM	*p;

	if (k->pub == NULL)
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) !=
	    NULL && !OSSL_PARAM_set_utf8_string(p, "SHA256"))
		return 0;
	for (p = params; p->key != NULL; p++) {
		OSSL_PARAM	one[2];

		if (strcmp(p->key, OSSL_PKEY_PARAM_DEFAULT_DIGEST) == 0)
			continue;
		one[0] = *p;
		one[1] = OSSL_PARAM_construct_end();
		if (EVP_PKEY_get_params(k->pub, one) != 1)
			return 0;
		p->return_size = one[0].return_size;
	}
	return 1;
}

static const OSSL_PARAM *
km_gettable_params(void *provctx)
{
	static const OSSL_PARAM gettable[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return gettable;
}

static const char *
km_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "RSA" :
	    operation_id == OSSL_OP_ASYM_CIPHER ? "RSA" : NULL;
}

static const char *
km_operation_name_ec(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

#define KM_COMMON \
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free }, \
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has }, \
	{ OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match }, \
	{ OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import }, \
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_types }, \
	{ OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export }, \
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params }, \
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, \
	    (void (*)(void))km_gettable_params }

static const OSSL_DISPATCH rsa_keymgmt[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new },
	{ OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_export_types },
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
	    (void (*)(void))km_operation_name },
	KM_COMMON,
	{ 0, NULL }
};

static const OSSL_DISPATCH ec_keymgmt[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new_ec },
	{ OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_export_types_ec },
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
	    (void (*)(void))km_operation_name_ec },
	KM_COMMON,
	{ 0, NULL }
};

/* --- operations: shared context ---------------------------------------- */

static void *
op_new(void *provctx, const char *propq)
{
	(void)provctx;
	(void)propq;
	return OPENSSL_zalloc(sizeof(struct rop));
}

static void
op_free(void *vctx)
{
	struct rop	*o = vctx;

	if (o == NULL)
		return;
	EVP_MD_CTX_free(o->mdctx);
	EVP_MD_free(o->md);
	OPENSSL_free(o);
}

static void *
op_dup(void *vctx)
{
	struct rop	*o = vctx, *d;

	if ((d = OPENSSL_zalloc(sizeof(*d))) == NULL)
		return NULL;
	d->key = o->key;
	if (o->md != NULL) {
		if (!EVP_MD_up_ref(o->md))
			goto fail;
		d->md = o->md;
	}
	if (o->mdctx != NULL && ((d->mdctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_MD_CTX_copy_ex(d->mdctx, o->mdctx)))
		goto fail;
	return d;
fail:
	op_free(d);
	return NULL;
}

static int
set_md(struct rop *o, const char *name)
{
	EVP_MD	*md;

	if ((md = EVP_MD_fetch(NULL, name, "provider=default")) == NULL)
		return 0;
	EVP_MD_free(o->md);
	o->md = md;
	return 1;
}

/* RSA: PKCS #1 v1.5 only (scepd signs nothing with PSS); a digest name. */
static int
op_set_params(void *vctx, const OSSL_PARAM params[])
{
	struct rop		*o = vctx;
	const OSSL_PARAM	*p;

	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params,
	    OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		int		 mode;
		const char	*s;

		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_get_int(p, &mode) ||
			    mode != RSA_PKCS1_PADDING)
				return 0;
		} else if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) ||
		    strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) != 0)
			return 0;
	}
	if ((p = OSSL_PARAM_locate_const(params,
	    OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
		const char	*name;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
		    !set_md(o, name))
			return 0;
	}
	return 1;
}

static const OSSL_PARAM *
op_settable_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM settable[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return settable;
}

/* --- signature ------------------------------------------------------- */

static int
sig_init(void *vctx, void *kd, const OSSL_PARAM params[])
{
	struct rop	*o = vctx;

	if (kd == NULL || !((struct rkey *)kd)->has_handle)
		return 0;
	o->key = kd;
	return op_set_params(o, params);
}

static int
sig_max(struct rop *o, size_t *siglen)
{
	int	n = EVP_PKEY_get_size(o->key->pub);

	if (n <= 0)
		return 0;
	*siglen = (size_t)n;
	return 1;
}

/* EVP_PKEY_sign(): tbs is the digest already. */
static int
sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
    const unsigned char *tbs, size_t tbslen)
{
	struct rop	*o = vctx;

	if (sig == NULL)
		return sig_max(o, siglen);
	if (o->md == NULL || tbslen != (size_t)EVP_MD_get_size(o->md))
		return 0;
	return call(o->key, P7_REMOTE_SIGN, EVP_MD_get_type(o->md), tbs,
	    tbslen, sig, siglen, sigsize);
}

static int
sig_digest_init(void *vctx, const char *mdname, void *kd,
    const OSSL_PARAM params[])
{
	struct rop	*o = vctx;

	if (!sig_init(o, kd, params) ||
	    !set_md(o, mdname != NULL ? mdname : "SHA256"))
		return 0;
	if (o->mdctx == NULL && (o->mdctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestInit_ex2(o->mdctx, o->md, NULL);
}

static int
sig_digest_update(void *vctx, const unsigned char *data, size_t len)
{
	struct rop	*o = vctx;

	return o->mdctx != NULL && EVP_DigestUpdate(o->mdctx, data, len);
}

static int
sig_digest_final(void *vctx, unsigned char *sig, size_t *siglen,
    size_t sigsize)
{
	struct rop	*o = vctx;
	unsigned char	 dgst[EVP_MAX_MD_SIZE];
	unsigned int	 dlen;

	if (sig == NULL)
		return sig_max(o, siglen);
	if (o->mdctx == NULL || !EVP_DigestFinal_ex(o->mdctx, dgst, &dlen))
		return 0;
	return call(o->key, P7_REMOTE_SIGN, EVP_MD_get_type(o->md), dgst,
	    dlen, sig, siglen, sigsize);
}

/* The AlgorithmIdentifier that ASN1_item_sign() writes beside the value. */
static int
sig_get_params(void *vctx, OSSL_PARAM params[])
{
	struct rop	*o = vctx;
	OSSL_PARAM	*p;
	X509_ALGOR	*alg;
	unsigned char	*der = NULL;
	int		 nid, len, ok;

	if ((p = OSSL_PARAM_locate(params,
	    OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) == NULL)
		return 1;
	if (o->md == NULL || o->key == NULL ||
	    !OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(o->md),
	    o->key->ec ? NID_X9_62_id_ecPublicKey : NID_rsaEncryption) ||
	    (alg = X509_ALGOR_new()) == NULL)
		return 0;
	ok = X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
	    o->key->ec ? V_ASN1_UNDEF : V_ASN1_NULL, NULL) &&
	    (len = i2d_X509_ALGOR(alg, &der)) > 0 &&
	    OSSL_PARAM_set_octet_string(p, der, (size_t)len);
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	return ok;
}

static const OSSL_PARAM *
sig_gettable_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM gettable[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
		    NULL, 0),
		OSSL_PARAM_END
	};

	(void)vctx;
	(void)provctx;
	return gettable;
}

static const OSSL_DISPATCH signature[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))op_new },
	{ OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))op_free },
	{ OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))op_dup },
	{ OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_init },
	{ OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
	    (void (*)(void))sig_digest_init },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
	    (void (*)(void))sig_digest_update },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL,
	    (void (*)(void))sig_digest_final },
	{ OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_params },
	{ OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS,
	    (void (*)(void))sig_gettable_params },
	{ OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))op_set_params },
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,
	    (void (*)(void))op_settable_params },
	{ 0, NULL }
};

/* --- RSA decryption (the content-encryption key of an envelope) ------ */

static int
dec_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
    const unsigned char *in, size_t inlen)
{
	struct rop	*o = vctx;

	if (out == NULL)
		return sig_max(o, outlen);
	return call(o->key, P7_REMOTE_DECRYPT, NID_undef, in, inlen, out,
	    outlen, outsize);
}

static const OSSL_DISPATCH asym_cipher[] = {
	{ OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))op_new },
	{ OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))op_free },
	{ OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))op_dup },
	{ OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))sig_init },
	{ OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))dec_decrypt },
	{ OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS,
	    (void (*)(void))op_set_params },
	{ OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS,
	    (void (*)(void))op_settable_params },
	{ 0, NULL }
};

/* --- the provider ---------------------------------------------------- */

#define PROPS	"provider=" PROVIDER_NAME

static const OSSL_ALGORITHM keymgmts[] = {
	{ RSA_NAMES, PROPS, rsa_keymgmt, "RSA key held by the signer" },
	{ EC_NAMES, PROPS, ec_keymgmt, "EC key held by the signer" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM signatures[] = {
	{ RSA_NAMES, PROPS, signature, "RSA PKCS #1 v1.5 by the signer" },
	{ "ECDSA", PROPS, signature, "ECDSA by the signer" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM ciphers[] = {
	{ RSA_NAMES, PROPS, asym_cipher, "RSA decryption by the signer" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *
query(void *provctx, int operation_id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT:
		return keymgmts;
	case OSSL_OP_SIGNATURE:
		return signatures;
	case OSSL_OP_ASYM_CIPHER:
		return ciphers;
	}
	return NULL;
}

static const OSSL_DISPATCH provider[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
	{ 0, NULL }
};

static int
provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*out = provider;
	*provctx = &transport_arg;	/* any non-NULL pointer */
	return 1;
}

int
p7_remote_unavailable(void)
{
	return unavailable;
}

int
p7_remote_refused(void)
{
	return refused;
}

void
p7_remote_clear(void)
{
	unavailable = 0;
	refused = 0;
}

void
p7_remote_set_purpose(enum p7_purpose p)
{
	purpose = p;
}

const char *
p7_purpose_name(enum p7_purpose p)
{
	static const char *const names[] = {
		NULL, "certificate", "certrep", "crl", "ocsp", "decrypt"
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) == P7_PURPOSE_MAX,
	    "a purpose without a name");
	if ((int)p < 0 || p >= P7_PURPOSE_MAX)
		return NULL;
	return names[p];
}

int
p7_remote_active(void)
{
	return transport != NULL;
}

int
p7_key_id(EVP_PKEY *key, unsigned char id[P7_KEY_ID_LEN])
{
	unsigned char	*spki = NULL;
	int		 len, rc = -1;

	if ((len = i2d_PUBKEY(key, &spki)) > 0 &&
	    EVP_Digest(spki, (size_t)len, id, NULL, EVP_sha256(), NULL) == 1)
		rc = 0;
	OPENSSL_free(spki);
	return rc;
}

int
p7_remote_init(p7_remote_fn fn, void *arg, char *err, size_t errlen)
{
	transport = fn;
	transport_arg = arg;
	if (remote_prov != NULL)
		return 0;
	/*
	 * A library context of its own for this provider: the default
	 * context stays as OpenSSL sets it up, so that decoding a client's
	 * certificate or CSR there never considers (and fails to import
	 * into) our key management.  Sharing it cost the worker 0.58 M of
	 * its 9.7 M instructions per enrollment (callgrind, docs/design.md,
	 * "What the signer costs").  An operation on a remote key still
	 * reaches our implementation: OpenSSL falls back to the provider of
	 * the key's own key management when the default provider's cannot
	 * take the key.  The default provider is loaded there too, for its
	 * encoders: a remote key's public half is written out (its
	 * SubjectPublicKeyInfo, its id).
	 */
	if ((remote_libctx = OSSL_LIB_CTX_new()) == NULL ||
	    OSSL_PROVIDER_add_builtin(remote_libctx, PROVIDER_NAME,
	    provider_init) != 1 ||
	    (remote_default = OSSL_PROVIDER_load(remote_libctx,
	    "default")) == NULL ||
	    (remote_prov = OSSL_PROVIDER_load(remote_libctx,
	    PROVIDER_NAME)) == NULL) {
		snprintf(err, errlen, "cannot load the signer's provider");
		p7_remote_shutdown();
		return -1;
	}
	return 0;
}

void
p7_remote_shutdown(void)
{
	if (remote_prov != NULL)
		OSSL_PROVIDER_unload(remote_prov);
	if (remote_default != NULL)
		OSSL_PROVIDER_unload(remote_default);
	OSSL_LIB_CTX_free(remote_libctx);
	remote_prov = remote_default = NULL;
	remote_libctx = NULL;
	transport = NULL;
}

EVP_PKEY *
p7_remote_key(EVP_PKEY *pub, char *err, size_t errlen)
{
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*key = NULL;
	unsigned char	*spki = NULL;
	int		 len;
	OSSL_PARAM	 params[2];

	if ((len = i2d_PUBKEY(pub, &spki)) <= 0) {
		snprintf(err, errlen, "cannot encode the public key");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_octet_string(PARAM_SPKI, spki,
	    (size_t)len);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(remote_libctx,
	    EVP_PKEY_is_a(pub, "EC") ? "EC" : "RSA",
	    "provider=" PROVIDER_NAME)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) {
		snprintf(err, errlen, "cannot make a key held by the signer "
		    "(RSA and EC keys only)");
		key = NULL;
	}
out:
	OPENSSL_free(spki);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return key;
}
