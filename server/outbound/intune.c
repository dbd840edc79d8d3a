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
 *		api-version and client-request-id, answered {"code", ...};
 *   revocation	POST <the PKI connector's uri>/CertificateAuthorityRequests/
 *		downloadRevocationRequests and uploadRevocationResults.
 *
 * Tokens and the service map are cached for every thread of the process
 * under one mutex that is never held across the network; a token is
 * dropped after a 401 and the map after a transport error, and the call
 * is made once more.  The answers are read by intune_json.c.
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
#include "server/outbound/intune_json.h"

/* Intune's first-party application, whose endpoints Graph lists. */
#define INTUNE_APP_ID		"0000000a-0000-0000-c000-000000000000"
#define SCOPE_GRAPH		"https://graph.microsoft.com/.default"
#define SCOPE_INTUNE		"https://api.manage.microsoft.com/.default"
#define SCEP_SERVICE		"ScepRequestValidationFEService"
#define PKI_SERVICE		"PkiConnectorFEService"
#define SCEP_API_VERSION	"2018-02-20"
/* Sic: the revocation service's version is dated 5019. */
#define PKI_API_VERSION		"5019-05-05"
/* A token is renewed this long before it expires. */
#define TOKEN_MARGIN		300
#define MAX_REPLY		(256 * 1024)

enum audience { AUD_GRAPH, AUD_INTUNE, AUD_N };
enum service { SVC_SCEP, SVC_PKI, SVC_N };

static const char *const service_names[SVC_N] = { SCEP_SERVICE, PKI_SERVICE };

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
	char			*uri[SVC_N];	/* NULL: not discovered */
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
	for (int i = 0; i < SVC_N; i++)
		free(in->uri[i]);
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
	char	e[256], d[256];

	intune_json_token_error(r->body, r->len, e, sizeof(e), d, sizeof(d));
	snprintf(err, errlen, "token: HTTP %d %s%s%s%s", r->status,
	    e[0] ? e : "(no error code)", d[0] ? ": " : "", d,
	    r->status == 401 || strcmp(e, "invalid_client") == 0 ?
	    " (check intune.client_id and the secret or certificate)" :
	    strcmp(e, "invalid_request") == 0 ? " (check intune.tenant)" : "");
}

/* A new token for audience a into *t. */
static int
token_fetch(struct intune *in, enum audience a, struct token *t, char *err,
    size_t errlen)
{
	const struct conf_intune	*c = in->conf;
	struct httpc_reply		 r;
	enum httpc_result		 hr;
	char				 url[512], form[8192], *jwt = NULL;
	char				 why[256];
	long long			 life;
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
	if (intune_json_token(r.body, r.len, &t->value, &life, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "token: malformed answer: %s", why);
		goto out;
	}
	/* Beyond a day is not a lifetime but a bad number. */
	t->expires = time(NULL) + (time_t)(life < 0 ? 0 : life > 86400 ?
	    86400 : life);
	rc = 0;
out:
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
 * Ask Graph where the tenant's services are, and keep every one listed;
 * a copy of svc's URI, or NULL with err.  A service missing is almost
 * always the app's permission or the admin's consent.
 */
static char *
discover(struct intune *in, enum service svc, char *err, size_t errlen)
{
	struct httpc_reply	 r;
	enum httpc_result	 hr;
	char			 url[512], tok[4096], why[256];
	char			*found[SVC_N] = { NULL, NULL }, *u = NULL;
	int			 k;

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
	for (k = 0; k < SVC_N; k++)
		if (intune_json_service(r.body, r.len, service_names[k],
		    &found[k], why, sizeof(why)) == -1) {
			snprintf(err, errlen, "Graph service discovery: "
			    "malformed answer: %s", why);
			goto out;
		}
	if (found[svc] == NULL) {
		snprintf(err, errlen, "Graph lists no %s for Intune: grant the "
		    "app the Intune permission scep_challenge_provider, with "
		    "admin consent", service_names[svc]);
		goto out;
	}
	u = strdup(found[svc]);
	pthread_mutex_lock(&in->mu);
	for (k = 0; k < SVC_N; k++)
		if (found[k] != NULL && in->uri[k] == NULL) {
			in->uri[k] = found[k];
			found[k] = NULL;
		}
	pthread_mutex_unlock(&in->mu);
out:
	for (k = 0; k < SVC_N; k++)
		free(found[k]);
	httpc_reply_clear(&r);
	return u;
}

/* A copy of service svc's URI, discovered if need be. */
static char *
service_uri(struct intune *in, enum service svc, char *err, size_t errlen)
{
	char	*u = NULL;

	pthread_mutex_lock(&in->mu);
	if (in->uri[svc] != NULL)
		u = strdup(in->uri[svc]);
	pthread_mutex_unlock(&in->mu);
	return u != NULL ? u : discover(in, svc, err, errlen);
}

/* After a transport error: the services may have moved. */
static void
service_uri_drop(struct intune *in, enum service svc)
{
	pthread_mutex_lock(&in->mu);
	free(in->uri[svc]);
	in->uri[svc] = NULL;
	pthread_mutex_unlock(&in->mu);
}

/*
 * POST body to <svc's uri>/<path> and leave a 2xx answer in *r (0), or
 * say why not in err (-1).  A 401 gets a new token and a transport
 * error a new discovery, once.
 */
static int
post(struct intune *in, enum service svc, const char *path, json_t *body,
    struct httpc_reply *r, char *err, size_t errlen)
{
	enum httpc_result	 hr = HTTPC_INTERNAL;
	const char		*action = strrchr(path, '/') + 1;
	char			*doc = NULL, *base = NULL, *url = NULL;
	char			 tok[4096];
	int			 rc = -1;

	memset(r, 0, sizeof(*r));
	if ((doc = json_dumps(body, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "%s: cannot write the request", action);
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		free(base);
		free(url);
		url = NULL;
		httpc_reply_clear(r);
		if ((base = service_uri(in, svc, err, errlen)) == NULL)
			goto out;
		if ((url = malloc(strlen(base) + strlen(path) + 2)) == NULL)
			goto out;
		sprintf(url, "%s%s%s", base, base[strlen(base) - 1] == '/' ?
		    "" : "/", path);
		hr = call(in, AUD_INTUNE, HTTPC_POST, url, svc == SVC_SCEP ?
		    SCEP_API_VERSION : PKI_API_VERSION, doc, r, tok,
		    sizeof(tok), err, errlen);
		if (hr == HTTPC_UNREACHED || hr == HTTPC_FAILED) {
			service_uri_drop(in, svc);
			continue;
		}
		if (hr == HTTPC_OK && r->status == 401) {
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
	if (r->status < 200 || r->status > 299) {
		snprintf(err, errlen, "%s: HTTP %d%s", action, r->status,
		    r->status == 401 || r->status == 403 ? " (grant the app "
		    "the Intune permission scep_challenge_provider, with admin "
		    "consent)" : r->status == 404 ? " (endpoint not found)" : "");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		httpc_reply_clear(r);
	free(doc);
	free(base);
	free(url);
	return rc;
}

/* POST body to ScepActions/<action> and read {"code", ...}. */
static enum intune_rc
scep_action(struct intune *in, const char *action, json_t *body, char *code,
    size_t codelen, char *err, size_t errlen)
{
	struct httpc_reply	 r;
	enum intune_rc		 rc = INTUNE_ERROR;
	char			 path[64], desc[256], why[256];

	code[0] = '\0';
	snprintf(path, sizeof(path), "ScepActions/%s", action);
	if (post(in, SVC_SCEP, path, body, &r, err, errlen) == -1)
		return INTUNE_ERROR;
	if (intune_json_code(r.body, r.len, code, codelen, desc, sizeof(desc),
	    why, sizeof(why)) == -1)
		snprintf(err, errlen, "%s: malformed answer: %s", action, why);
	else if (strcasecmp(code, "Success") == 0) {
		rc = INTUNE_OK;
		err[0] = '\0';
	} else {
		rc = INTUNE_REFUSED;
		snprintf(err, errlen, "%s", desc[0] != '\0' ? desc :
		    "no description");
	}
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

enum intune_rc
intune_revocations(struct intune *in, const char *issuer, size_t max,
    struct intune_revocation **out, size_t *n, char *err, size_t errlen)
{
	struct httpc_reply	 r;
	json_t			*b;
	char			 why[256];
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((b = json_pack("{s:{s:I, s:s}}", "downloadParameters",
	    "maxRequests", (json_int_t)max, "issuerName", issuer)) == NULL) {
		snprintf(err, errlen, "downloadRevocationRequests: cannot "
		    "write the request");
		return INTUNE_ERROR;
	}
	rc = post(in, SVC_PKI, "CertificateAuthorityRequests/"
	    "downloadRevocationRequests", b, &r, err, errlen);
	json_decref(b);
	if (rc == -1)
		return INTUNE_ERROR;
	if ((rc = intune_json_revocations(r.body, r.len, max, out, n, why,
	    sizeof(why))) == -1)
		snprintf(err, errlen, "downloadRevocationRequests: malformed "
		    "answer: %s", why);
	httpc_reply_clear(&r);
	return rc == 0 ? INTUNE_OK : INTUNE_ERROR;
}

enum intune_rc
intune_revocation_results(struct intune *in,
    const struct intune_revocation_result *res, size_t n, char *err,
    size_t errlen)
{
	struct httpc_reply	 r;
	json_t			*b, *list;
	char			 code[8], why[256];
	int			 rc = -1;

	err[0] = '\0';
	if ((b = json_pack("{s:[]}", "results")) == NULL)
		goto out;
	list = json_object_get(b, "results");
	for (size_t i = 0; i < n; i++) {
		/* The number as a string, as Microsoft's Java library sends. */
		snprintf(code, sizeof(code), "%d", (int)res[i].code);
		if (json_array_append_new(list, json_pack("{s:s, s:b, s:s, "
		    "s:s}", "requestContext", res[i].context, "succeeded",
		    res[i].code == INTUNE_CA_NONE, "errorCode", code,
		    "errorMessage", res[i].code == INTUNE_CA_NONE ? "" :
		    res[i].message)) == -1)
			goto out;
	}
	if (post(in, SVC_PKI, "CertificateAuthorityRequests/"
	    "uploadRevocationResults", b, &r, err, errlen) == -1) {
		json_decref(b);
		return INTUNE_ERROR;
	}
	if ((rc = intune_json_uploaded(r.body, r.len, why, sizeof(why))) == -1)
		snprintf(err, errlen, "uploadRevocationResults: %s", why);
	httpc_reply_clear(&r);
out:
	if (b == NULL || (rc == -1 && err[0] == '\0'))
		snprintf(err, errlen, "uploadRevocationResults: cannot write "
		    "the request");
	json_decref(b);
	return rc == 0 ? INTUNE_OK : INTUNE_ERROR;
}
