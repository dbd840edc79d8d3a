/*
 * Microsoft Intune's SCEP validation API (docs/mdm.md, "Intune").  Intune
 * publishes no REST specification; the wire format is the one Microsoft's
 * own validation libraries (Intune-Resource-Access, MIT) speak:
 *
 *   token	POST <authority>/<tenant>/oauth2/v2.0/token, OAuth2 client
 *		credentials (RFC 6749 4.4) by secret or by a signed JWT
 *		(RFC 7523), one token per audience: Graph, Intune;
 *   discovery	GET <graph>/v1.0/servicePrincipals/appId=<Intune's app
 *		id>/endpoints: where the tenant's ScepRequestValidationFEService
 *		and PkiConnectorFEService live;
 *   ScepActions POST <that uri>/ScepActions/validateRequest,
 *		successNotification, failureNotification, with headers
 *		api-version and client-request-id, answered {"code", ...}.
 *
 * Tokens and the service map are cached for every thread of the process
 * under one mutex that is never held across the network; a token is
 * dropped after a 401 and the map after a transport error, and the call
 * is made once more.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "server/outbound/http_client.h"
#include "server/outbound/intune.h"

/* Intune's first-party application, whose endpoints Graph lists. */
#define INTUNE_APP_ID		"0000000a-0000-0000-c000-000000000000"
#define SCOPE_GRAPH		"https://graph.microsoft.com/.default"
#define SCOPE_INTUNE		"https://api.manage.microsoft.com/.default"
#define SCEP_SERVICE		"ScepRequestValidationFEService"
#define PKI_SERVICE		"PkiConnectorFEService"
#define SCEP_API_VERSION	"2018-02-20"
/* A token is renewed this long before it expires. */
#define TOKEN_MARGIN		300
#define MAX_REPLY		(256 * 1024)

enum audience { AUD_GRAPH, AUD_INTUNE, AUD_N };

struct token {
	char	*value;		/* NULL: none */
	time_t	 expires;
};

struct intune {
	const struct conf_intune *conf;
	char			*secret;	/* or key and cert */
	EVP_PKEY		*key;
	char			 x5t[32];	/* base64url SHA-1 of the cert */
	pthread_mutex_t		 mu;		/* for what follows */
	struct token		 tokens[AUD_N];
	char			*scep_uri;	/* NULL: not discovered */
};

static const char *const scopes[AUD_N] = { SCOPE_GRAPH, SCOPE_INTUNE };

/* Put "what: " before the explanation in err. */
static void
prefix(char *err, size_t errlen, const char *what)
{
	char	why[256];

	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "%s: %s", what, why);
}

/* A random (version 4) GUID, the client-request-id of one call. */
static void
guid(char out[37])
{
	unsigned char	b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Standard base64 (url 0) or unpadded base64url (url 1), malloc'd. */
static char *
base64(const unsigned char *in, size_t len, int url)
{
	char	*out;
	size_t	 n;

	if ((out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (url) {
		for (n = 0; out[n] != '\0'; n++)
			if (out[n] == '+')
				out[n] = '-';
			else if (out[n] == '/')
				out[n] = '_';
		while (n > 0 && out[n - 1] == '=')
			out[--n] = '\0';
	}
	return out;
}

/* application/x-www-form-urlencoded value of s appended to buf. */
static int
form_add(char *buf, size_t len, const char *name, const char *s)
{
	size_t	n = strlen(buf);

	n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=",
	    n ? "&" : "", name);
	for (; *s != '\0' && n + 4 < len; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			buf[n++] = *s;
		else
			n += (size_t)snprintf(buf + n, len - n, "%%%02X",
			    (unsigned char)*s);
	}
	if (n + 4 >= len)
		return -1;
	buf[n] = '\0';
	return 0;
}

static char *
read_secret(const char *path, char *err, size_t errlen)
{
	FILE	*f;
	char	 buf[1024], *nl;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot read intune.client_secret_file %s",
		    path);
		return NULL;
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	if ((nl = strpbrk(buf, "\r\n")) != NULL)
		*nl = '\0';
	if (buf[0] == '\0') {
		snprintf(err, errlen, "intune.client_secret_file %s is empty",
		    path);
		return NULL;
	}
	return strdup(buf);
}

/* The key and the x5t (SHA-1 thumbprint) of the certificate. */
static int
read_cert(struct intune *in, char *err, size_t errlen)
{
	const struct conf_intune	*c = in->conf;
	unsigned char			 md[20];
	unsigned int			 mdlen = 0;
	X509				*x = NULL;
	BIO				*b;
	char				*t;
	int				 rc = -1;

	if ((b = BIO_new_file(c->client_certificate, "r")) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if ((b = BIO_new_file(c->client_key, "r")) != NULL)
		in->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL || in->key == NULL) {
		snprintf(err, errlen, "cannot read intune.client_certificate "
		    "%s or intune.client_key %s (PEM)", c->client_certificate,
		    c->client_key);
		goto out;
	}
	if (EVP_PKEY_base_id(in->key) != EVP_PKEY_RSA ||
	    X509_check_private_key(x, in->key) != 1) {
		snprintf(err, errlen, "intune.client_key must be the RSA key "
		    "of intune.client_certificate");
		goto out;
	}
	if (X509_digest(x, EVP_sha1(), md, &mdlen) != 1 ||
	    (t = base64(md, mdlen, 1)) == NULL) {
		snprintf(err, errlen, "cannot hash intune.client_certificate");
		goto out;
	}
	snprintf(in->x5t, sizeof(in->x5t), "%s", t);
	free(t);
	rc = 0;
out:
	X509_free(x);
	return rc;
}

struct intune *
intune_new(const struct conf_intune *c, char *err, size_t errlen)
{
	struct intune	*in;

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->conf = c;
	pthread_mutex_init(&in->mu, NULL);
	if (c->client_secret_file[0] != '\0' ?
	    (in->secret = read_secret(c->client_secret_file, err,
	    errlen)) == NULL : read_cert(in, err, errlen) == -1) {
		intune_free(in);
		return NULL;
	}
	return in;
}

void
intune_free(struct intune *in)
{
	if (in == NULL)
		return;
	if (in->secret != NULL)
		OPENSSL_clear_free(in->secret, strlen(in->secret));
	EVP_PKEY_free(in->key);
	for (int i = 0; i < AUD_N; i++)
		free(in->tokens[i].value);
	free(in->scep_uri);
	pthread_mutex_destroy(&in->mu);
	free(in);
}

/*
 * The client assertion (RFC 7523 2.2): a JWT for aud, signed RS256 with
 * the certificate's key, its x5t in the header as Entra ID wants it.
 */
static char *
assertion(struct intune *in, const char *aud)
{
	EVP_MD_CTX	*md = NULL;
	unsigned char	 sig[1024];
	size_t		 siglen = sizeof(sig);
	char		 jti[37], *h = NULL, *cl = NULL, *hs = NULL, *cs = NULL;
	char		*input = NULL, *ss = NULL, *out = NULL;
	json_t		*jh, *jc;
	time_t		 now = time(NULL);

	guid(jti);
	jh = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "x5t",
	    in->x5t);
	jc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "aud", aud, "iss",
	    in->conf->client_id, "sub", in->conf->client_id, "jti", jti,
	    "nbf", (json_int_t)now, "exp", (json_int_t)(now + 600));
	if (jh == NULL || jc == NULL ||
	    (h = json_dumps(jh, JSON_COMPACT)) == NULL ||
	    (cl = json_dumps(jc, JSON_COMPACT)) == NULL ||
	    (hs = base64((unsigned char *)h, strlen(h), 1)) == NULL ||
	    (cs = base64((unsigned char *)cl, strlen(cl), 1)) == NULL ||
	    (input = malloc(strlen(hs) + strlen(cs) + 2)) == NULL)
		goto out;
	sprintf(input, "%s.%s", hs, cs);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, in->key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)input,
	    strlen(input)) != 1 || (ss = base64(sig, siglen, 1)) == NULL ||
	    (out = malloc(strlen(input) + strlen(ss) + 2)) == NULL)
		goto out;
	sprintf(out, "%s.%s", input, ss);
out:
	json_decref(jh);
	json_decref(jc);
	free(h);
	free(cl);
	free(hs);
	free(cs);
	free(input);
	free(ss);
	EVP_MD_CTX_free(md);
	return out;
}

/* Entra ID's error, for the log: its code and the first line. */
static void
token_error(const struct httpc_reply *r, char *err, size_t errlen)
{
	json_t		*j;
	const char	*e = NULL, *d = NULL;
	size_t		 n;

	j = json_loadb((const char *)r->body, r->len, 0, NULL);
	if (j != NULL) {
		e = json_string_value(json_object_get(j, "error"));
		d = json_string_value(json_object_get(j, "error_description"));
	}
	n = d != NULL ? strcspn(d, "\r\n") : 0;
	snprintf(err, errlen, "token: HTTP %d %s%s%.*s%s", r->status,
	    e ? e : "(no error code)", d ? ": " : "", (int)(n > 200 ? 200 : n),
	    d ? d : "", r->status == 401 || (e && strcmp(e, "invalid_client")
	    == 0) ? " (check intune.client_id and the secret or certificate)" :
	    e && strcmp(e, "invalid_request") == 0 ? " (check intune.tenant)" :
	    "");
	json_decref(j);
}

/* A new token for audience a into *t. */
static int
token_fetch(struct intune *in, enum audience a, struct token *t, char *err,
    size_t errlen)
{
	const struct conf_intune	*c = in->conf;
	struct httpc_reply		 r;
	enum httpc_result		 hr;
	json_t				*j = NULL;
	const char			*v;
	char				 url[512], form[8192], *jwt = NULL;
	json_int_t			 life;
	int				 rc = -1;

	memset(&r, 0, sizeof(r));
	form[0] = '\0';
	snprintf(url, sizeof(url), "%s%s%s/oauth2/v2.0/token", c->authority,
	    c->authority[strlen(c->authority) - 1] == '/' ? "" : "/",
	    c->tenant);
	if (in->key != NULL && (jwt = assertion(in, url)) == NULL) {
		snprintf(err, errlen, "token: cannot sign the client assertion");
		goto out;
	}
	if (form_add(form, sizeof(form), "grant_type", "client_credentials") ||
	    form_add(form, sizeof(form), "client_id", c->client_id) ||
	    form_add(form, sizeof(form), "scope", scopes[a]) ||
	    (jwt == NULL ? form_add(form, sizeof(form), "client_secret",
	    in->secret) : form_add(form, sizeof(form), "client_assertion_type",
	    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") ||
	    form_add(form, sizeof(form), "client_assertion", jwt))) {
		snprintf(err, errlen, "token: request too long");
		goto out;
	}
	hr = httpc_request(HTTPC_POST, url, "application/x-www-form-urlencoded",
	    NULL, 0, form, strlen(form), c->timeout_ms, MAX_REPLY, &r, err,
	    errlen);
	if (hr != HTTPC_OK) {
		prefix(err, errlen, "token");
		goto out;
	}
	if (r.status != 200) {
		token_error(&r, err, errlen);
		goto out;
	}
	if ((j = json_loadb((const char *)r.body, r.len, 0, NULL)) == NULL ||
	    (v = json_string_value(json_object_get(j, "access_token"))) ==
	    NULL || v[0] == '\0' ||
	    !json_is_integer(json_object_get(j, "expires_in"))) {
		snprintf(err, errlen, "token: malformed answer");
		goto out;
	}
	life = json_integer_value(json_object_get(j, "expires_in"));
	if ((t->value = strdup(v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	t->expires = time(NULL) + (time_t)(life > 0 ? life : 0);
	rc = 0;
out:
	json_decref(j);
	OPENSSL_cleanse(form, sizeof(form));
	if (r.body != NULL)
		OPENSSL_cleanse(r.body, r.len);
	httpc_reply_clear(&r);
	free(jwt);
	return rc;
}

/* A copy of a usable token for a (fetched if need be), or NULL. */
static char *
token_get(struct intune *in, enum audience a, char *err, size_t errlen)
{
	struct token	 t = { NULL, 0 };
	char		*v = NULL;

	pthread_mutex_lock(&in->mu);
	if (in->tokens[a].value != NULL &&
	    in->tokens[a].expires - TOKEN_MARGIN > time(NULL))
		v = strdup(in->tokens[a].value);
	pthread_mutex_unlock(&in->mu);
	if (v != NULL)
		return v;
	/* Outside the lock: two threads may both fetch; both are good. */
	if (token_fetch(in, a, &t, err, errlen) == -1)
		return NULL;
	v = strdup(t.value);
	pthread_mutex_lock(&in->mu);
	free(in->tokens[a].value);
	in->tokens[a] = t;
	pthread_mutex_unlock(&in->mu);
	return v;
}

/* Intune answered 401 to tok: forget it, unless another came meanwhile. */
static void
token_drop(struct intune *in, enum audience a, const char *tok)
{
	pthread_mutex_lock(&in->mu);
	if (in->tokens[a].value != NULL &&
	    strcmp(in->tokens[a].value, tok) == 0) {
		free(in->tokens[a].value);
		in->tokens[a].value = NULL;
	}
	pthread_mutex_unlock(&in->mu);
}

/* One call: the token, the correlation id, the request. */
static enum httpc_result
call(struct intune *in, enum audience a, enum httpc_method m,
    const char *url, const char *api_version, const char *body,
    struct httpc_reply *r, char *tok_used, size_t toklen, char *err,
    size_t errlen)
{
	struct httpc_header	 h[4];
	enum httpc_result	 hr;
	char			*tok, *bearer, id[37];
	size_t			 n = 0;

	if ((tok = token_get(in, a, err, errlen)) == NULL)
		return HTTPC_INTERNAL;
	if ((bearer = malloc(strlen(tok) + 8)) == NULL) {
		free(tok);
		return HTTPC_INTERNAL;
	}
	sprintf(bearer, "Bearer %s", tok);
	snprintf(tok_used, toklen, "%s", tok);
	guid(id);
	h[n].name = "Authorization", h[n++].value = bearer;
	h[n].name = "client-request-id", h[n++].value = id;
	h[n].name = "Accept", h[n++].value = "application/json";
	if (api_version != NULL)
		h[n].name = "api-version", h[n++].value = api_version;
	hr = httpc_request(m, url, body != NULL ? "application/json" : NULL, h,
	    n, body, body != NULL ? strlen(body) : 0, in->conf->timeout_ms,
	    MAX_REPLY, r, err, errlen);
	if (hr != HTTPC_OK) {
		char	why[256];

		/* For Microsoft's support, who can trace it. */
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s (client-request-id %s)", why, id);
	}
	OPENSSL_cleanse(bearer, strlen(bearer));
	free(bearer);
	OPENSSL_cleanse(tok, strlen(tok));
	free(tok);
	return hr;
}

/*
 * Ask Graph where the tenant's validation service is.  Missing, it is
 * almost always the app's permission or the admin's consent.
 */
static char *
discover(struct intune *in, char *err, size_t errlen)
{
	struct httpc_reply	 r;
	enum httpc_result	 hr;
	json_t			*j = NULL, *v, *e;
	const char		*name, *uri;
	char			 url[512], tok[4096];
	char			*found = NULL;
	size_t			 i;

	for (int attempt = 0; attempt < 2; attempt++) {
		memset(&r, 0, sizeof(r));
		snprintf(url, sizeof(url), "%s%sv1.0/servicePrincipals/appId="
		    INTUNE_APP_ID "/endpoints", in->conf->graph,
		    in->conf->graph[strlen(in->conf->graph) - 1] == '/' ? "" :
		    "/");
		hr = call(in, AUD_GRAPH, HTTPC_GET, url, NULL, NULL, &r, tok,
		    sizeof(tok), err, errlen);
		if (hr == HTTPC_OK && r.status == 401 && attempt == 0) {
			token_drop(in, AUD_GRAPH, tok);
			httpc_reply_clear(&r);
			continue;
		}
		break;
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	if (hr != HTTPC_OK) {
		prefix(err, errlen, "Graph service discovery");
		goto out;
	}
	if (r.status != 200) {
		snprintf(err, errlen, "Graph service discovery: HTTP %d%s",
		    r.status, r.status == 401 || r.status == 403 ? " (grant "
		    "the app Application.Read.All on Microsoft Graph, with "
		    "admin consent)" : "");
		goto out;
	}
	if ((j = json_loadb((const char *)r.body, r.len, 0, NULL)) == NULL ||
	    !json_is_array(v = json_object_get(j, "value"))) {
		snprintf(err, errlen, "Graph service discovery: malformed "
		    "answer");
		goto out;
	}
	json_array_foreach(v, i, e) {
		name = json_string_value(json_object_get(e, "providerName"));
		uri = json_string_value(json_object_get(e, "uri"));
		if (name != NULL && uri != NULL && found == NULL &&
		    strcasecmp(name, SCEP_SERVICE) == 0 &&
		    strncmp(uri, "https://", 8) == 0)
			found = strdup(uri);
	}
	if (found == NULL)
		snprintf(err, errlen, "Graph lists no " SCEP_SERVICE " for "
		    "Intune: grant the app the Intune permission "
		    "scep_challenge_provider, with admin consent");
out:
	json_decref(j);
	httpc_reply_clear(&r);
	return found;
}

/* A copy of the validation service's URI, discovered if need be. */
static char *
scep_uri(struct intune *in, char *err, size_t errlen)
{
	char	*u = NULL;

	pthread_mutex_lock(&in->mu);
	if (in->scep_uri != NULL)
		u = strdup(in->scep_uri);
	pthread_mutex_unlock(&in->mu);
	if (u != NULL || (u = discover(in, err, errlen)) == NULL)
		return u;
	pthread_mutex_lock(&in->mu);
	if (in->scep_uri == NULL)
		in->scep_uri = strdup(u);
	pthread_mutex_unlock(&in->mu);
	return u;
}

static void
scep_uri_drop(struct intune *in)
{
	pthread_mutex_lock(&in->mu);
	free(in->scep_uri);
	in->scep_uri = NULL;
	pthread_mutex_unlock(&in->mu);
}

/*
 * POST body to ScepActions/<action> and read {"code", "errorDescription"}.
 * A 401 gets a new token and a transport error a new discovery, once.
 */
static enum intune_rc
scep_action(struct intune *in, const char *action, json_t *body, char *code,
    size_t codelen, char *err, size_t errlen)
{
	struct httpc_reply	 r;
	enum httpc_result	 hr = HTTPC_INTERNAL;
	enum intune_rc		 rc = INTUNE_ERROR;
	json_t			*j = NULL;
	const char		*c, *d;
	char			*doc = NULL, *base = NULL, *url = NULL;
	char			 tok[4096];

	memset(&r, 0, sizeof(r));
	code[0] = '\0';
	if ((doc = json_dumps(body, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "cannot write the request");
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		free(base);
		free(url);
		url = NULL;
		httpc_reply_clear(&r);
		if ((base = scep_uri(in, err, errlen)) == NULL)
			goto out;
		if ((url = malloc(strlen(base) + strlen(action) + 20)) == NULL)
			goto out;
		sprintf(url, "%s%sScepActions/%s", base,
		    base[strlen(base) - 1] == '/' ? "" : "/", action);
		hr = call(in, AUD_INTUNE, HTTPC_POST, url, SCEP_API_VERSION,
		    doc, &r, tok, sizeof(tok), err, errlen);
		if (hr == HTTPC_UNREACHED || hr == HTTPC_FAILED) {
			/* The service may have moved: ask Graph again. */
			scep_uri_drop(in);
			continue;
		}
		if (hr == HTTPC_OK && r.status == 401) {
			token_drop(in, AUD_INTUNE, tok);
			snprintf(err, errlen, "%s: HTTP 401 (token refused)",
			    action);
			continue;
		}
		break;
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	if (hr != HTTPC_OK) {
		prefix(err, errlen, action);
		goto out;
	}
	if (r.status < 200 || r.status > 299) {
		snprintf(err, errlen, "%s: HTTP %d%s", action, r.status,
		    r.status == 401 || r.status == 403 ? " (grant the app the "
		    "Intune permission scep_challenge_provider, with admin "
		    "consent)" : r.status == 404 ? " (endpoint not found)" : "");
		goto out;
	}
	if ((j = json_loadb((const char *)r.body, r.len, 0, NULL)) == NULL ||
	    (c = json_string_value(json_object_get(j, "code"))) == NULL) {
		snprintf(err, errlen, "%s: malformed answer", action);
		goto out;
	}
	d = json_string_value(json_object_get(j, "errorDescription"));
	snprintf(code, codelen, "%s", c);
	if (strcasecmp(c, "Success") == 0) {
		rc = INTUNE_OK;
		err[0] = '\0';
	} else {
		rc = INTUNE_REFUSED;
		snprintf(err, errlen, "%.200s", d != NULL && d[0] != '\0' ? d :
		    "no description");
	}
out:
	json_decref(j);
	free(doc);
	free(base);
	free(url);
	httpc_reply_clear(&r);
	return rc;
}

/* Send b (NULL: it could not be made) to action; b and csr64 freed. */
static enum intune_rc
send_action(struct intune *in, const char *action, json_t *b, char *csr64,
    char *code, size_t codelen, char *err, size_t errlen)
{
	enum intune_rc	 rc = INTUNE_ERROR;

	code[0] = '\0';
	if (b == NULL)
		snprintf(err, errlen, "%s: cannot write the request "
		    "(transactionID not UTF-8?)", action);
	else
		rc = scep_action(in, action, b, code, codelen, err, errlen);
	json_decref(b);
	free(csr64);
	return rc;
}

enum intune_rc
intune_validate(struct intune *in, const char *tid, const unsigned char *csr,
    size_t csrlen, char *code, size_t codelen, char *err, size_t errlen)
{
	char	*csr64 = base64(csr, csrlen, 0);

	return send_action(in, "validateRequest", csr64 == NULL ? NULL :
	    json_pack("{s:{s:s, s:s, s:s}}", "request", "transactionId", tid,
	    "certificateRequest", csr64, "callerInfo",
	    in->conf->provider_name), csr64, code, codelen, err, errlen);
}

enum intune_rc
intune_success(struct intune *in, const struct intune_issued *n, char *code,
    size_t codelen, char *err, size_t errlen)
{
	struct tm	 tm;
	char		*csr64 = base64(n->csr, n->csrlen, 0), expires[32];

	gmtime_r(&n->not_after, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return send_action(in, "successNotification", csr64 == NULL ? NULL :
	    json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
	    "notification", "transactionId", n->tid, "certificateRequest",
	    csr64, "certificateThumbprint", n->thumbprint,
	    "certificateSerialNumber", n->serial,
	    "certificateExpirationDateUtc", expires,
	    "issuingCertificateAuthority", n->issuer, "callerInfo",
	    in->conf->provider_name), csr64, code, codelen, err, errlen);
}

enum intune_rc
intune_failure(struct intune *in, const char *tid, const unsigned char *csr,
    size_t csrlen, long hresult, const char *description, char *code,
    size_t codelen, char *err, size_t errlen)
{
	char	*csr64 = base64(csr, csrlen, 0), d[256];

	/* Intune keeps 255 characters. */
	snprintf(d, sizeof(d), "%s", description);
	return send_action(in, "failureNotification", csr64 == NULL ? NULL :
	    json_pack("{s:{s:s, s:s, s:I, s:s, s:s}}", "notification",
	    "transactionId", tid, "certificateRequest", csr64, "hResult",
	    (json_int_t)hresult, "errorDescription", d, "callerInfo",
	    in->conf->provider_name), csr64, code, codelen, err, errlen);
}
