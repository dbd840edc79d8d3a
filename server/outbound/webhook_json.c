/*
 * The webhook documents: the "validate" request and the notifications
 * scepd sends, the validator's reply it reads, and the signature header.
 * Pure functions over bytes, no I/O, so they can be fuzzed and unit
 * tested alone.  jansson builds and parses; nothing here writes JSON by
 * hand.  The reply is untrusted input: only a well-formed reply with
 * "allow": true can allow (test/fuzz/fuzz_webhook_reply.c).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "server/outbound/webhook_json.h"

/* At most this many SANs in a reply's expected "sans". */
#define MAX_SANS	64

/* Add a string member; a value that is not valid UTF-8 fails. */
static int
set_str(json_t *o, const char *key, const char *val)
{
	json_t	*s;

	if (val == NULL)
		return json_object_set_new(o, key, json_null());
	if ((s = json_string(val)) == NULL)
		return -1;
	return json_object_set_new(o, key, s);
}

static char *
dump(json_t *o, size_t *len)
{
	char	*s;

	/* Compact, keys in insertion order: what the validator signs over
	 * is exactly the body, so no canonical form is needed. */
	if ((s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL)
		*len = strlen(s);
	return s;
}

char *
webhook_build_validate(const struct webhook_validate_req *r, size_t *len)
{
	json_t	*o = NULL, *sans = NULL, *s;	/* owned */
	char	*out = NULL;

	if ((o = json_object()) == NULL || (sans = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < r->nsans; i++)
		if ((s = json_string(r->sans[i])) == NULL ||
		    json_array_append_new(sans, s) == -1)
			goto out;
	if (set_str(o, "type", "validate") == -1 ||
	    set_str(o, "profile", r->profile) == -1 ||
	    set_str(o, "transaction_id", r->transaction_id) == -1 ||
	    (s = json_stringn(r->challenge ? r->challenge : "",
	    r->challenge ? r->challenge_len : 0)) == NULL ||
	    json_object_set_new(o, "challenge", s) == -1 ||
	    set_str(o, "csr", r->csr_pem) == -1 ||
	    set_str(o, "subject", r->subject) == -1 ||
	    json_object_set(o, "sans", sans) == -1 ||
	    set_str(o, "client_address", r->client_address) == -1)
		goto out;
	out = dump(o, len);
out:
	json_decref(sans);
	json_decref(o);
	return out;
}

int
webhook_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

char *
webhook_build_issued(const struct webhook_issued *n, size_t *len)
{
	json_t	*o;	/* owned */
	char	*out = NULL, when[32];

	if (webhook_time(n->not_after, when, sizeof(when)) == -1 ||
	    (o = json_object()) == NULL)
		return NULL;
	if (set_str(o, "type", "issued") == 0 &&
	    set_str(o, "profile", n->profile) == 0 &&
	    set_str(o, "transaction_id", n->transaction_id) == 0 &&
	    set_str(o, "serial", n->serial) == 0 &&
	    set_str(o, "thumbprint_sha1", n->thumbprint_sha1) == 0 &&
	    set_str(o, "not_after", when) == 0 &&
	    set_str(o, "issuer", n->issuer) == 0 &&
	    set_str(o, "subject", n->subject) == 0)
		out = dump(o, len);
	json_decref(o);
	return out;
}

char *
webhook_build_refused(const char *profile, const char *transaction_id,
    const char *reason, size_t *len)
{
	json_t	*o;	/* owned */
	char	*out = NULL;

	if ((o = json_object()) == NULL)
		return NULL;
	if (set_str(o, "type", "refused") == 0 &&
	    set_str(o, "profile", profile) == 0 &&
	    set_str(o, "transaction_id", transaction_id) == 0 &&
	    set_str(o, "reason", reason) == 0)
		out = dump(o, len);
	json_decref(o);
	return out;
}

/*
 * A string value fit to become a device id, SID, subject or template
 * value: no NUL inside (jansson accepts \u0000), no control characters
 * (they would reach log lines and certificates), bounded.  jansson has
 * already checked that it is UTF-8.
 */
static const char *
good_string(json_t *v, const char *what, char *reason, size_t reasonlen)
{
	const char	*s;
	size_t		 n;

	if (!json_is_string(v)) {
		snprintf(reason, reasonlen, "\"%s\" is not a string", what);
		return NULL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > WEBHOOK_MAX_FIELD || strlen(s) != n) {
		snprintf(reason, reasonlen, "\"%s\" is empty, too long or "
		    "holds NUL", what);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(reason, reasonlen, "\"%s\" holds a control "
			    "character", what);
			return NULL;
		}
	return s;
}

/* Copy an optional string member into *dst (NULL if absent or null). */
static int
take_string(json_t *o, const char *key, char **dst, char *reason,
    size_t reasonlen)
{
	json_t		*v;
	const char	*s;

	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return 0;
	if ((s = good_string(v, key, reason, reasonlen)) == NULL)
		return -1;
	if ((*dst = strdup(s)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return -1;
	}
	return 0;
}

/* "S-1-5-21-...": S-1 and up to 15 more decimal sub-authorities. */
static int
good_sid(const char *s)
{
	const char	*p;
	int		 parts = 0, digits;

	if (strncmp(s, "S-1", 3) != 0)
		return 0;
	for (p = s + 3; *p != '\0'; parts++) {
		if (*p++ != '-')
			return 0;
		for (digits = 0; isdigit((unsigned char)*p); p++)
			digits++;
		if (digits == 0 || digits > 10)
			return 0;
	}
	return parts >= 1 && parts <= 15;
}

/* A template variable name: what {var.NAME} can spell. */
static int
good_var_name(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/*
 * Words from the validator (or jansson's description of its bytes), made
 * safe for a log line and a JSON string: printable ASCII only, so a cut
 * cannot split a UTF-8 sequence either.
 */
static void
copy_reason(const char *s, char *reason, size_t reasonlen)
{
	size_t	i, o = 0;

	if (reasonlen == 0)
		return;
	for (i = 0; s[i] != '\0' && o + 1 < reasonlen && i < WEBHOOK_MAX_REASON;
	    i++)
		reason[o++] = (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\' ? '?' : s[i];
	reason[o] = '\0';
}

static int
take_binding(json_t *root, struct policy_binding *b, char *reason,
    size_t reasonlen)
{
	json_t		*sans, *vars, *v;
	const char	*name, *s;
	size_t		 i;

	if (take_string(root, "device_id", &b->device_id, reason,
	    reasonlen) == -1 ||
	    take_string(root, "sid", &b->sid, reason, reasonlen) == -1 ||
	    take_string(root, "subject", &b->subject, reason, reasonlen) == -1)
		return -1;
	if (b->sid != NULL && !good_sid(b->sid)) {
		snprintf(reason, reasonlen, "\"sid\" is not a SID (S-1-...)");
		return -1;
	}
	if ((sans = json_object_get(root, "sans")) != NULL &&
	    !json_is_null(sans)) {
		if (!json_is_array(sans) || json_array_size(sans) > MAX_SANS) {
			snprintf(reason, reasonlen, "\"sans\" is not an array "
			    "of at most %d strings", MAX_SANS);
			return -1;
		}
		if (json_array_size(sans) > 0 && (b->sans.v = calloc(
		    json_array_size(sans), sizeof(*b->sans.v))) == NULL) {
			snprintf(reason, reasonlen, "out of memory");
			return -1;
		}
		json_array_foreach(sans, i, v) {
			if ((s = good_string(v, "sans", reason,
			    reasonlen)) == NULL)
				return -1;
			if ((b->sans.v[b->sans.n] = strdup(s)) == NULL) {
				snprintf(reason, reasonlen, "out of memory");
				return -1;
			}
			b->sans.n++;
		}
	}
	if ((vars = json_object_get(root, "vars")) != NULL &&
	    !json_is_null(vars)) {
		if (!json_is_object(vars) ||
		    json_object_size(vars) > POLICY_MAX_VARS) {
			snprintf(reason, reasonlen, "\"vars\" is not an object "
			    "of at most %d strings", POLICY_MAX_VARS);
			return -1;
		}
		json_object_foreach(vars, name, v) {
			if (!good_var_name(name)) {
				snprintf(reason, reasonlen, "a \"vars\" name is "
				    "not [A-Za-z0-9_-]{1,64}");
				return -1;
			}
			if ((s = good_string(v, "vars", reason,
			    reasonlen)) == NULL)
				return -1;
			if ((b->var_name[b->nvars] = strdup(name)) == NULL ||
			    (b->var_value[b->nvars] = strdup(s)) == NULL) {
				free(b->var_name[b->nvars]);
				b->var_name[b->nvars] = NULL;
				snprintf(reason, reasonlen, "out of memory");
				return -1;
			}
			b->nvars++;
		}
	}
	return 0;
}

int
webhook_parse_reply(const unsigned char *body, size_t len, int *allow,
    struct policy_binding *out, char *reason, size_t reasonlen)
{
	json_t		*root = NULL, *a, *r;	/* owned: root */
	json_error_t	 jerr;
	char		 text[64];
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	*allow = 0;
	if (reasonlen > 0)
		reason[0] = '\0';
	if (len > WEBHOOK_MAX_REPLY) {
		snprintf(reason, reasonlen, "reply over %d bytes",
		    WEBHOOK_MAX_REPLY);
		goto out;
	}
	/* Duplicate keys could make two readers see two answers. */
	if ((root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		copy_reason(jerr.text, text, sizeof(text));
		snprintf(reason, reasonlen, "reply is not JSON (line %d: %s)",
		    jerr.line, text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(reason, reasonlen, "reply is not a JSON object");
		goto out;
	}
	if ((a = json_object_get(root, "allow")) == NULL || !json_is_boolean(a)) {
		snprintf(reason, reasonlen, "reply has no boolean \"allow\"");
		goto out;
	}
	if ((r = json_object_get(root, "reason")) != NULL && !json_is_null(r)) {
		if (!json_is_string(r)) {
			snprintf(reason, reasonlen, "\"reason\" is not a string");
			goto out;
		}
		copy_reason(json_string_value(r), reason, reasonlen);
	}
	if (json_is_true(a)) {
		if (take_binding(root, out, reason, reasonlen) == -1)
			goto out;
		*allow = 1;
	}
	rc = 0;
out:
	if (rc == -1)
		policy_binding_clear(out);
	json_decref(root);
	return rc;
}

int
webhook_sign(const char *key, size_t keylen, const char *timestamp,
    const void *body, size_t len, char out[WEBHOOK_SIG_LEN])
{
	EVP_MAC		*mac = NULL;	/* owned */
	EVP_MAC_CTX	*ctx = NULL;	/* owned */
	OSSL_PARAM	 params[2];
	unsigned char	 md[32];
	size_t		 mdlen = 0;
	int		 rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    !EVP_MAC_init(ctx, (const unsigned char *)key, keylen, params) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)timestamp,
	    strlen(timestamp)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
	    !EVP_MAC_update(ctx, body, len) ||
	    !EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) || mdlen != sizeof(md))
		goto out;
	memcpy(out, "sha256=", 7);
	for (size_t i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}
