/*
 * A key pair generated on a PKCS#11 token, for scepctl ca init --pkcs11.
 * libp11 0.4.12 generates only RSA keys, through a call it deprecates
 * (PKCS11_generate_key), so this talks PKCS#11 itself: C_GenerateKeyPair
 * with the templates PKCS#11 v2.40 sections 2.1.4 (RSA) and 2.3.6
 * (EC) describe.  The private key is sensitive and never extractable:
 * it cannot leave the token.  The module is initialised here and
 * finalised before returning, so p7_key_load() can load it afresh.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "pkcs7/local.h"

#define PIN_MAX		1024

/* What a session needs, and what to undo. */
struct gen {
	void			*dl;
	CK_FUNCTION_LIST_PTR	 f;
	int			 initialized;	/* we called C_Initialize */
	CK_SESSION_HANDLE	 session;
	int			 open;
};

/* A fixed-width, blank-padded PKCS#11 text field equals want. */
static int
field_is(const CK_UTF8CHAR *field, size_t width, const char *want)
{
	size_t	n = width;

	if (want[0] == '\0')
		return 1;
	while (n > 0 && field[n - 1] == ' ')
		n--;
	return strlen(want) == n && memcmp(field, want, n) == 0;
}

static int
gen_open(struct gen *g, const struct p7_key_source *src,
    const struct p7_pkcs11_uri *u, char *err, size_t errlen)
{
	CK_C_GetFunctionList	 get;
	CK_C_INITIALIZE_ARGS	 args;
	CK_SLOT_ID		*slots = NULL;
	CK_TOKEN_INFO		 ti;
	CK_ULONG		 n = 0, i;
	CK_RV			 rv;
	char			 pin[PIN_MAX];
	int			 rc = -1;

	if (src == NULL || src->pkcs11_module == NULL ||
	    src->pkcs11_module[0] == '\0') {
		snprintf(err, errlen, "a pkcs11: key needs pkcs11.module (and "
		    "pkcs11.pin_file)");
		return -1;
	}
	if ((g->dl = dlopen(src->pkcs11_module, RTLD_NOW | RTLD_LOCAL)) ==
	    NULL || (get = (CK_C_GetFunctionList)dlsym(g->dl,
	    "C_GetFunctionList")) == NULL || get(&g->f) != CKR_OK) {
		snprintf(err, errlen, "cannot load the PKCS#11 module %s",
		    src->pkcs11_module);
		return -1;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = g->f->C_Initialize(&args);
	/* Already initialised: libp11 has it loaded in this process. */
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(err, errlen, "PKCS#11 module %s: C_Initialize failed "
		    "(0x%lx)", src->pkcs11_module, (unsigned long)rv);
		return -1;
	}
	g->initialized = rv == CKR_OK;
	if (g->f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK ||
	    (slots = calloc(n + 1, sizeof(*slots))) == NULL ||
	    g->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
		snprintf(err, errlen, "PKCS#11 module %s: cannot list its "
		    "slots", src->pkcs11_module);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (g->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (field_is(ti.label, sizeof(ti.label), u->token) &&
		    field_is(ti.manufacturerID, sizeof(ti.manufacturerID),
		    u->manufacturer) &&
		    field_is(ti.model, sizeof(ti.model), u->model) &&
		    field_is(ti.serialNumber, sizeof(ti.serialNumber),
		    u->serial))
			break;
	}
	if (i == n) {
		snprintf(err, errlen, "no token%s%s%s in %s",
		    u->token[0] != '\0' ? " \"" : "", u->token,
		    u->token[0] != '\0' ? "\"" : " the URI matches",
		    src->pkcs11_module);
		goto out;
	}
	if (g->f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &g->session) != CKR_OK) {
		snprintf(err, errlen, "token \"%s\": cannot open a read-write "
		    "session", u->token);
		goto out;
	}
	g->open = 1;
	if (src->pkcs11_pin_file == NULL || src->pkcs11_pin_file[0] == '\0') {
		snprintf(err, errlen, "token \"%s\" needs a PIN: set "
		    "pkcs11.pin_file", u->token);
		goto out;
	}
	if (p7_read_secret(src->pkcs11_pin_file, "PIN file", pin, sizeof(pin),
	    err, errlen) == -1)
		goto out;
	rv = g->f->C_Login(g->session, CKU_USER, (CK_UTF8CHAR_PTR)pin,
	    strlen(pin));
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		snprintf(err, errlen, "token \"%s\": PIN refused (pkcs11.pin_file "
		    "%s)", u->token, src->pkcs11_pin_file);
		goto out;
	}
	rc = 0;
out:
	free(slots);
	return rc;
}

static void
gen_close(struct gen *g)
{
	if (g->open)
		g->f->C_CloseSession(g->session);
	if (g->initialized)
		g->f->C_Finalize(NULL);
	if (g->dl != NULL)
		dlclose(g->dl);
}

/* 1 if a private key with attribute type = v[0..n) exists, 0, or -1. */
static int
exists(struct gen *g, CK_ATTRIBUTE_TYPE type, void *v, CK_ULONG n)
{
	CK_OBJECT_CLASS		cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ type, v, n },
	};
	CK_OBJECT_HANDLE	h;
	CK_ULONG		found = 0;

	if (g->f->C_FindObjectsInit(g->session, tmpl, 2) != CKR_OK)
		return -1;
	if (g->f->C_FindObjects(g->session, &h, 1, &found) != CKR_OK)
		found = (CK_ULONG)-1;
	g->f->C_FindObjectsFinal(g->session);
	return found == (CK_ULONG)-1 ? -1 : found > 0;
}

int
p7_key_generate(const char *uri, const struct p7_key_source *src, int ec,
    int bits, char *err, size_t errlen)
{
	/* DER of the P-256 OID, 1.2.840.10045.3.1.7 (RFC 5480 2.1.1.1). */
	static CK_BYTE		 p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
				    0x3d, 0x03, 0x01, 0x07 };
	static CK_BYTE		 e65537[] = { 0x01, 0x00, 0x01 };
	struct p7_pkcs11_uri	 u;
	struct gen		 g;
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG		 modbits = (CK_ULONG)bits;
	CK_MECHANISM		 mech = { ec ? CKM_EC_KEY_PAIR_GEN :
				    CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE	 pubh, privh;
	CK_ATTRIBUTE		 pub[8], priv[10];
	CK_ULONG		 npub = 0, npriv = 0;
	char			 perr[192];
	int			 rc = -1, e;
	CK_RV			 rv;

	memset(&g, 0, sizeof(g));
	if (p7_pkcs11_uri_parse(uri, &u, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "%s: %s", uri, perr);
		return -1;
	}
	if (u.object[0] == '\0') {
		snprintf(err, errlen, "%s: a new key needs object= (its label)",
		    uri);
		return -1;
	}
	/* Without id=, one of its own: libp11 pairs the halves by CKA_ID. */
	if (u.id_len == 0) {
		if (RAND_bytes(u.id, 16) != 1) {
			snprintf(err, errlen, "no random bytes");
			return -1;
		}
		u.id_len = 16;
	}
	if (gen_open(&g, src, &u, err, errlen) == -1)
		goto out;
	if ((e = exists(&g, CKA_LABEL, u.object, strlen(u.object))) != 0 ||
	    (e = exists(&g, CKA_ID, u.id, u.id_len)) != 0) {
		snprintf(err, errlen, e == 1 ? "token \"%s\" already has a "
		    "private key %s (or its id): remove it first, or name "
		    "another" : "token \"%s\": cannot search for %s", u.token,
		    u.object);
		goto out;
	}
/* Append attribute a = v (len bytes) to template t, counted in n<t>. */
#define ADD(t, a, v, len) do { t[n##t].type = (a); t[n##t].pValue = (v); \
	t[n##t].ulValueLen = (CK_ULONG)(len); n##t++; } while (0)
	ADD(pub, CKA_TOKEN, &yes, sizeof(yes));
	ADD(pub, CKA_LABEL, u.object, strlen(u.object));
	ADD(pub, CKA_ID, u.id, u.id_len);
	ADD(pub, CKA_VERIFY, &yes, sizeof(yes));
	if (ec)
		ADD(pub, CKA_EC_PARAMS, p256, sizeof(p256));
	else {
		ADD(pub, CKA_ENCRYPT, &yes, sizeof(yes));
		ADD(pub, CKA_MODULUS_BITS, &modbits, sizeof(modbits));
		ADD(pub, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
	}
	ADD(priv, CKA_TOKEN, &yes, sizeof(yes));
	ADD(priv, CKA_PRIVATE, &yes, sizeof(yes));
	ADD(priv, CKA_SENSITIVE, &yes, sizeof(yes));
	ADD(priv, CKA_EXTRACTABLE, &no, sizeof(no));
	ADD(priv, CKA_LABEL, u.object, strlen(u.object));
	ADD(priv, CKA_ID, u.id, u.id_len);
	ADD(priv, CKA_SIGN, &yes, sizeof(yes));
	/* An RA (or a CA without one) decrypts the requests' envelopes. */
	if (!ec)
		ADD(priv, CKA_DECRYPT, &yes, sizeof(yes));
#undef ADD
	if ((rv = g.f->C_GenerateKeyPair(g.session, &mech, pub, npub, priv,
	    npriv, &pubh, &privh)) != CKR_OK) {
		snprintf(err, errlen, "token \"%s\": cannot generate %s key %s "
		    "(0x%lx)", u.token, ec ? "a P-256" : "an RSA", u.object,
		    (unsigned long)rv);
		goto out;
	}
	rc = 0;
out:
	gen_close(&g);
	return rc;
}
