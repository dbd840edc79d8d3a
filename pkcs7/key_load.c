/*
 * Where the CA-side private keys come from: PEM files, encrypted
 * (PKCS#8) or not, and keys on a PKCS#11 token named by an RFC 7512
 * URI, through libp11's PKCS11_* calls (not the OpenSSL engine API,
 * which OpenSSL 3 deprecates).  Every CA, RA, previous CA and OCSP
 * signer key is read by p7_key_load(), so that the process that holds
 * the keys has one door to them.
 *
 * The module is loaded at the first pkcs11: key, never at start-up: a
 * process forked before then (a signer) initialises it for itself, as
 * PKCS#11 requires of a child (PKCS#11 v2.40 section 6.6.1).  libp11
 * itself notices a fork and initialises the module again in the child.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pkcs7/local.h"

#define SECRET_MAX	1024	/* passphrases and PINs, NUL included */

int
p7_key_is_pkcs11(const char *ref)
{
	return ref != NULL && strncmp(ref, "pkcs11:", 7) == 0;
}

static int
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

int
p7_read_secret(const char *path, const char *what, char *buf, size_t len,
    char *err, size_t errlen)
{
	FILE	*f;
	int	 rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		snprintf(err, errlen, "%s %s: the first line is empty", what,
		    path);
	else if (strlen(buf) + 1 >= len)
		snprintf(err, errlen, "%s %s: longer than %zu characters",
		    what, path, len - 2);
	else
		rc = 0;
	if (rc == -1)
		OPENSSL_cleanse(buf, len);
	fclose(f);
	return rc;
}

int
p7_key_passphrase(const struct p7_key_source *src, char *buf, size_t len,
    char *err, size_t errlen)
{
	const char	*dir, *name;
	char		 path[PATH_MAX];

	if (src != NULL && set(src->passphrase_file))
		return p7_read_secret(src->passphrase_file, "passphrase file",
		    buf, len, err, errlen) == -1 ? -1 : 1;
	if (src == NULL || !set(src->passphrase_credential))
		return 0;
	name = src->passphrase_credential;
	/* systemd.exec(5), LoadCredential=: the unit's private folder. */
	if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || dir[0] == '\0') {
		snprintf(err, errlen, "passphrase credential %s: "
		    "$CREDENTIALS_DIRECTORY is not set (LoadCredential= in "
		    "the service unit)", name);
		return -1;
	}
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		snprintf(err, errlen, "passphrase credential \"%s\": a name, "
		    "not a path", name);
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "passphrase credential %s: path too "
		    "long", name);
		return -1;
	}
	return p7_read_secret(path, "passphrase credential", buf, len, err,
	    errlen) == -1 ? -1 : 1;
}

/* The PEM password callback's state: what to answer, and whether asked. */
struct pass {
	const char	*pass;		/* NULL: none configured */
	int		 asked;
};

static int
pass_cb(char *buf, int size, int rwflag, void *arg)
{
	struct pass	*p = arg;
	size_t		 n;

	(void)rwflag;
	p->asked = 1;
	if (p->pass == NULL || (n = strlen(p->pass)) > (size_t)size)
		return -1;
	memcpy(buf, p->pass, n);
	return (int)n;
}

static EVP_PKEY *
pem_key(const char *path, const struct p7_key_source *src, char *err,
    size_t errlen)
{
	EVP_PKEY	*key = NULL;
	FILE		*fp;
	char		 secret[SECRET_MAX];
	struct pass	 p = { NULL, 0 };
	int		 have;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((have = p7_key_passphrase(src, secret, sizeof(secret), err,
	    errlen)) == -1)
		goto out;
	if (have)
		p.pass = secret;
	key = PEM_read_PrivateKey(fp, NULL, pass_cb, &p);
	if (key != NULL)
		goto out;
	if (p.asked && p.pass == NULL)
		snprintf(err, errlen, "%s is encrypted and no passphrase is "
		    "configured (ca.key_passphrase_file or "
		    "ca.key_passphrase_credential)", path);
	else if (p.asked)
		snprintf(err, errlen, "cannot decrypt %s: wrong passphrase?",
		    path);
	else
		snprintf(err, errlen, "%s: no usable private key", path);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	fclose(fp);
	return key;
}

/* --- RFC 7512 URIs -------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[0..n) into out (at most max bytes); RFC 7512 2.3:
 * pk11-pchar is unreserved, the path's reserved-but-available
 * characters and pct-encoded.  Returns the length, or -1.
 */
static int
pct_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (o == max)
			return -1;
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			out[o++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~:[]@!$'()*+,=&",
		    c) != NULL)
			out[o++] = c;
		else
			return -1;
	}
	return (int)o;
}

/* A text attribute: decoded, no NUL inside, NUL-terminated. */
static int
text_attr(const char *v, size_t n, char *out)
{
	int	len;

	if ((len = pct_decode(v, n, (unsigned char *)out,
	    P7_P11_TEXT_MAX)) < 0 || memchr(out, '\0', (size_t)len) != NULL)
		return -1;
	out[len] = '\0';
	return 0;
}

int
p7_pkcs11_uri_parse(const char *uri, struct p7_pkcs11_uri *u, char *err,
    size_t errlen)
{
	static const char *const names[] = { "token", "manufacturer", "model",
	    "serial", "object", "id", "type" };
	const char	*p, *end, *eq, *q;
	unsigned	 seen = 0;
	size_t		 n, i;
	int		 len;

	memset(u, 0, sizeof(*u));
	if (!p7_key_is_pkcs11(uri)) {
		snprintf(err, errlen, "not a pkcs11: URI");
		return -1;
	}
	p = uri + 7;
	if ((q = strchr(p, '?')) != NULL) {
		/* RFC 7512 2.3: the query may carry the PIN; never here. */
		if (strstr(q, "pin-value=") != NULL ||
		    strstr(q, "pin-source=") != NULL)
			snprintf(err, errlen, "a PIN in the URI is not accepted: "
			    "the PIN is read from pkcs11.pin_file");
		else
			snprintf(err, errlen, "query attributes (\"%s\") are not "
			    "accepted: the module is pkcs11.module", q + 1);
		return -1;
	}
	end = p + strlen(p);
	while (p < end) {
		const char	*semi = memchr(p, ';', (size_t)(end - p));
		const char	*stop = semi != NULL ? semi : end;

		if ((eq = memchr(p, '=', (size_t)(stop - p))) == NULL) {
			snprintf(err, errlen, "\"%.*s\" is not name=value",
			    (int)(stop - p), p);
			return -1;
		}
		n = (size_t)(eq - p);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == n && memcmp(names[i], p, n) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			snprintf(err, errlen, "unknown attribute \"%.*s\" (token, "
			    "manufacturer, model, serial, object, id, type)",
			    (int)n, p);
			return -1;
		}
		/* RFC 7512 2.3: an attribute MUST NOT be repeated. */
		if (seen & (1u << i)) {
			snprintf(err, errlen, "attribute \"%s\" given twice",
			    names[i]);
			return -1;
		}
		seen |= 1u << i;
		eq++;
		n = (size_t)(stop - eq);
		len = 0;
		switch (i) {
		case 0: len = text_attr(eq, n, u->token); break;
		case 1: len = text_attr(eq, n, u->manufacturer); break;
		case 2: len = text_attr(eq, n, u->model); break;
		case 3: len = text_attr(eq, n, u->serial); break;
		case 4: len = text_attr(eq, n, u->object); break;
		case 5:
			if ((len = pct_decode(eq, n, u->id, P7_P11_ID_MAX)) > 0)
				u->id_len = (size_t)len;
			else
				len = -1;
			break;
		case 6:
			if (n != 7 || memcmp(eq, "private", 7) != 0) {
				snprintf(err, errlen, "type=%.*s: a key URI has "
				    "type=private", (int)n, eq);
				return -1;
			}
			break;
		}
		if (len < 0) {
			snprintf(err, errlen, "attribute \"%s\": bad value "
			    "(percent-encode reserved characters; at most %d "
			    "bytes)", names[i], i == 5 ? P7_P11_ID_MAX :
			    P7_P11_TEXT_MAX);
			return -1;
		}
		p = semi != NULL ? semi + 1 : end;
	}
	if (u->object[0] == '\0' && u->id_len == 0) {
		snprintf(err, errlen, "names no key: give object= or id=");
		return -1;
	}
	return 0;
}

/* "object=NAME" or "id=HEX" of u, for messages. */
void
p7_pkcs11_uri_text(const struct p7_pkcs11_uri *u, char *buf, size_t len)
{
	size_t	o;

	if (u->object[0] != '\0')
		snprintf(buf, len, "object=%s", u->object);
	else {
		snprintf(buf, len, "id=");
		for (size_t i = 0; i < u->id_len && (o = strlen(buf)) + 3 <=
		    len; i++)
			snprintf(buf + o, len - o, "%02x", u->id[i]);
	}
}

/* --- the token, through libp11 --------------------------------------------- */

/* The one module of this process, loaded at the first pkcs11: key. */
static pthread_mutex_t	 p11_lock = PTHREAD_MUTEX_INITIALIZER;
static PKCS11_CTX	*p11_ctx;
static PKCS11_SLOT	*p11_slots;
static unsigned int	 p11_nslots;
static char		 p11_module[PATH_MAX];

static int
p11_open(const struct p7_key_source *src, char *err, size_t errlen)
{
	if (src == NULL || !set(src->pkcs11_module)) {
		snprintf(err, errlen, "a pkcs11: key needs pkcs11.module (and "
		    "pkcs11.pin_file)");
		return -1;
	}
	if (p11_ctx != NULL) {
		if (strcmp(p11_module, src->pkcs11_module) == 0)
			return 0;
		snprintf(err, errlen, "one PKCS#11 module per process: %s is "
		    "loaded, not %s", p11_module, src->pkcs11_module);
		return -1;
	}
	if (strlen(src->pkcs11_module) >= sizeof(p11_module)) {
		snprintf(err, errlen, "pkcs11.module: path too long");
		return -1;
	}
	if ((p11_ctx = PKCS11_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (PKCS11_CTX_load(p11_ctx, src->pkcs11_module) != 0) {
		snprintf(err, errlen, "cannot load the PKCS#11 module %s",
		    src->pkcs11_module);
		goto fail;
	}
	if (PKCS11_enumerate_slots(p11_ctx, &p11_slots, &p11_nslots) != 0) {
		snprintf(err, errlen, "PKCS#11 module %s: cannot list its "
		    "slots", src->pkcs11_module);
		PKCS11_CTX_unload(p11_ctx);
		goto fail;
	}
	memcpy(p11_module, src->pkcs11_module, strlen(src->pkcs11_module) + 1);
	return 0;
fail:
	PKCS11_CTX_free(p11_ctx);
	p11_ctx = NULL;
	return -1;
}

static int
matches(const char *want, const char *have)
{
	return want[0] == '\0' || (have != NULL && strcmp(want, have) == 0);
}

/* The first slot whose token u matches, logged in; NULL with err. */
static PKCS11_SLOT *
p11_token(const struct p7_pkcs11_uri *u, const struct p7_key_source *src,
    char *err, size_t errlen)
{
	PKCS11_SLOT	*slot = NULL;
	PKCS11_TOKEN	*t;
	char		 pin[SECRET_MAX];
	int		 in = 0;

	for (unsigned i = 0; i < p11_nslots && slot == NULL; i++) {
		if ((t = p11_slots[i].token) == NULL || !t->initialized)
			continue;
		if (matches(u->token, t->label) &&
		    matches(u->manufacturer, t->manufacturer) &&
		    matches(u->model, t->model) &&
		    matches(u->serial, t->serialnr))
			slot = &p11_slots[i];
	}
	if (slot == NULL) {
		snprintf(err, errlen, "no token%s%s%s in %s",
		    u->token[0] != '\0' ? " \"" : "", u->token,
		    u->token[0] != '\0' ? "\"" : " the URI matches",
		    p11_module);
		return NULL;
	}
	if (!slot->token->loginRequired ||
	    (PKCS11_is_logged_in(slot, 0, &in) == 0 && in))
		return slot;
	if (!set(src->pkcs11_pin_file)) {
		snprintf(err, errlen, "token \"%s\" needs a PIN: set "
		    "pkcs11.pin_file", slot->token->label);
		return NULL;
	}
	if (p7_read_secret(src->pkcs11_pin_file, "PIN file", pin, sizeof(pin),
	    err, errlen) == -1)
		return NULL;
	if (PKCS11_login(slot, 0, pin) != 0) {
		snprintf(err, errlen, "token \"%s\": PIN refused (pkcs11.pin_file "
		    "%s)", slot->token->label, src->pkcs11_pin_file);
		slot = NULL;
	}
	OPENSSL_cleanse(pin, sizeof(pin));
	return slot;
}

static EVP_PKEY *
p11_key(const char *uri, const struct p7_key_source *src, char *err,
    size_t errlen)
{
	struct p7_pkcs11_uri	 u;
	PKCS11_SLOT		*slot;
	PKCS11_KEY		*keys, *k = NULL;
	EVP_PKEY		*key = NULL;
	unsigned int		 nkeys, found = 0;
	char			 what[P7_P11_TEXT_MAX + 2 * P7_P11_ID_MAX + 16];
	char			 perr[192];
	int			 type;

	if (p7_pkcs11_uri_parse(uri, &u, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "%s: %s", uri, perr);
		return NULL;
	}
	p7_pkcs11_uri_text(&u, what, sizeof(what));
	pthread_mutex_lock(&p11_lock);
	if (p11_open(src, err, errlen) == -1 ||
	    (slot = p11_token(&u, src, err, errlen)) == NULL)
		goto out;
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		snprintf(err, errlen, "token \"%s\": cannot list its private "
		    "keys", slot->token->label);
		goto out;
	}
	for (unsigned i = 0; i < nkeys; i++) {
		if (!matches(u.object, keys[i].label))
			continue;
		if (u.id_len > 0 && (keys[i].id_len != u.id_len ||
		    memcmp(keys[i].id, u.id, u.id_len) != 0))
			continue;
		if (found++ == 0)
			k = &keys[i];
	}
	if (found == 0) {
		snprintf(err, errlen, "token \"%s\" has no private key %s",
		    slot->token->label, what);
		goto out;
	}
	if (found > 1) {
		snprintf(err, errlen, "token \"%s\" has %u private keys %s: add "
		    "id= to the URI", slot->token->label, found, what);
		goto out;
	}
	type = PKCS11_get_key_type(k);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
		snprintf(err, errlen, "token \"%s\": %s is neither RSA nor EC",
		    slot->token->label, what);
		goto out;
	}
	if ((key = PKCS11_get_private_key(k)) == NULL)
		snprintf(err, errlen, "token \"%s\": cannot use the private key "
		    "%s", slot->token->label, what);
out:
	pthread_mutex_unlock(&p11_lock);
	return key;
}

EVP_PKEY *
p7_key_load(const char *ref, const struct p7_key_source *src, char *err,
    size_t errlen)
{
	if (ref == NULL || ref[0] == '\0') {
		snprintf(err, errlen, "no key given");
		return NULL;
	}
	if (p7_key_is_pkcs11(ref))
		return p11_key(ref, src, err, errlen);
	return pem_key(ref, src, err, errlen);
}

void
p7_key_shutdown(void)
{
	pthread_mutex_lock(&p11_lock);
	if (p11_ctx != NULL) {
		PKCS11_release_all_slots(p11_ctx, p11_slots, p11_nslots);
		PKCS11_CTX_unload(p11_ctx);
		PKCS11_CTX_free(p11_ctx);
		p11_ctx = NULL;
		p11_slots = NULL;
		p11_nslots = 0;
		p11_module[0] = '\0';
	}
	pthread_mutex_unlock(&p11_lock);
}
