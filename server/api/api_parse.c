/*
 * Parsers of the admin API's network input: the mint request's JSON
 * (jansson, strict), the Authorization header, and the binding checks.
 * No libevent, no database: bytes in, plain data out (fuzz_api.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "server/api/api_parse.h"

void
api_mint_clear(struct api_mint *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	free(m->device_id);
	free(m->subject);
	for (i = 0; i < m->nsans; i++)
		free(m->sans[i]);
	free(m->sans);
	memset(m, 0, sizeof(*m));
}

/* A JSON string value (or null: *out stays NULL) into a new string. */
static int
get_string(json_t *v, const char *key, char **out, char *err, size_t errlen)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	if ((*out = strdup(json_string_value(v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
api_parse_mint(const char *body, size_t len, struct api_mint *m, char *err,
    size_t errlen)
{
	json_t		*root = NULL;	/* owned */
	json_t		*v, *e;
	json_error_t	 jerr;
	const char	*key;
	json_int_t	 ttl;
	size_t		 i, n;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > API_MAX_BODY) {
		snprintf(err, errlen, "body over %d bytes", API_MAX_BODY);
		goto out;
	}
	/* No body (or only white space): the profile's defaults. */
	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len) {
		rc = 0;
		goto out;
	}
	/* jansson refuses \u0000 in strings unless told otherwise. */
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		snprintf(err, errlen, "bad JSON at line %d column %d",
		    jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "device_id") == 0) {
			if (get_string(v, key, &m->device_id, err, errlen) == -1)
				goto out;
		} else if (strcmp(key, "subject") == 0) {
			if (get_string(v, key, &m->subject, err, errlen) == -1)
				goto out;
		} else if (strcmp(key, "sans") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_array(v)) {
				snprintf(err, errlen, "\"sans\" must be an array "
				    "of strings");
				goto out;
			}
			if ((n = json_array_size(v)) > API_MAX_SANS) {
				snprintf(err, errlen, "more than %d SANs",
				    API_MAX_SANS);
				goto out;
			}
			if (n > 0 && (m->sans = calloc(n, sizeof(*m->sans))) ==
			    NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			json_array_foreach(v, i, e) {
				if (!json_is_string(e)) {
					snprintf(err, errlen, "\"sans\" must be "
					    "an array of strings");
					goto out;
				}
				if ((m->sans[i] = strdup(json_string_value(e))) ==
				    NULL) {
					snprintf(err, errlen, "out of memory");
					goto out;
				}
				m->nsans++;
			}
		} else if (strcmp(key, "ttl_minutes") == 0) {
			if (json_is_null(v))
				continue;
			/* An integer: 1.5 or "60" are mistakes to report. */
			if (!json_is_integer(v)) {
				snprintf(err, errlen, "\"ttl_minutes\" must be an "
				    "integer");
				goto out;
			}
			ttl = json_integer_value(v);
			if (ttl < 1 || ttl > API_MAX_TTL) {
				snprintf(err, errlen, "\"ttl_minutes\" must be "
				    "1 to %d", API_MAX_TTL);
				goto out;
			}
			m->ttl_minutes = (int)ttl;
		} else {
			snprintf(err, errlen, "unknown key \"%.40s\"", key);
			goto out;
		}
	}
	if (api_mint_check(m, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc == -1)
		api_mint_clear(m);
	return rc;
}

/* 1 if s holds a control character (C0 or DEL), else 0. */
static int
has_cntrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
api_mint_check(struct api_mint *m, char *err, size_t errlen)
{
	static const char *const types[] = { "DNS", "email", "URI", "UPN", "IP" };
	const char	*colon;
	char		*s;
	size_t		 i, j, tlen;

	if (m->device_id != NULL && (m->device_id[0] == '\0' ||
	    strlen(m->device_id) > 256 || has_cntrl(m->device_id))) {
		snprintf(err, errlen, "device_id must be 1 to 256 printable "
		    "characters");
		return -1;
	}
	if (m->subject != NULL && (m->subject[0] != '/' ||
	    strchr(m->subject, '=') == NULL || strlen(m->subject) > 1024 ||
	    has_cntrl(m->subject))) {
		snprintf(err, errlen, "subject must look like /O=x/CN=y "
		    "(printable, up to 1024 characters)");
		return -1;
	}
	if (m->nsans > API_MAX_SANS) {
		snprintf(err, errlen, "more than %d SANs", API_MAX_SANS);
		return -1;
	}
	for (i = 0; i < m->nsans; i++) {
		s = m->sans[i];
		if ((colon = strchr(s, ':')) == NULL || colon[1] == '\0' ||
		    strlen(s) > 1024 || has_cntrl(s)) {
			snprintf(err, errlen, "SAN %zu must be TYPE:value "
			    "(printable, up to 1024 characters)", i + 1);
			return -1;
		}
		tlen = (size_t)(colon - s);
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			if (strlen(types[j]) == tlen &&
			    strncasecmp(s, types[j], tlen) == 0)
				break;
		if (j == sizeof(types) / sizeof(types[0])) {
			snprintf(err, errlen, "SAN %zu: type must be DNS, email, "
			    "URI, UPN or IP", i + 1);
			return -1;
		}
		/* One spelling, so policy/ compares like with like. */
		memcpy(s, types[j], tlen);
	}
	if (m->ttl_minutes < 0 || m->ttl_minutes > API_MAX_TTL) {
		snprintf(err, errlen, "ttl must be 1 to %d minutes", API_MAX_TTL);
		return -1;
	}
	return 0;
}

/* The value after "<scheme> " (scheme in any case), or NULL. */
static const char *
after_scheme(const char *h, const char *scheme)
{
	size_t	 n = strlen(scheme);

	if (h == NULL || strncasecmp(h, scheme, n) != 0 || h[n] != ' ')
		return NULL;
	for (h += n; *h == ' '; h++)
		;
	return h;
}

/* The length of s without trailing spaces and tabs. */
static size_t
trimmed_len(const char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

int
api_parse_bearer(const char *header, char *tok, size_t toklen)
{
	const char	*v;
	size_t		 n, i;

	if ((v = after_scheme(header, "Bearer")) == NULL)
		return -1;
	n = trimmed_len(v);
	if (n == 0 || n >= toklen)
		return -1;
	/* RFC 6750 2.1 b64token. */
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("-._~+/=", v[i]) == NULL)
			return -1;
	memcpy(tok, v, n);
	tok[n] = '\0';
	return 0;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Canonical standard base64 (padding required, unused bits zero) into
 * out; returns the decoded length, or -1.
 */
static long
b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t		 i, o = 0;
	int		 v[4], pad, k;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64val(in[i + k])) == -1)
				return -1;
		}
		if (o + 3 - (size_t)pad > outlen)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		else if ((v[1] & 0xf) != 0)
			return -1;
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
		else if (pad == 1 && (v[2] & 0x3) != 0)
			return -1;
	}
	return (long)o;
}

int
api_parse_basic(const char *header, char *user, size_t userlen, char *pass,
    size_t passlen)
{
	unsigned char	 buf[512];
	const char	*v;
	unsigned char	*colon;
	long		 n;
	size_t		 ulen, plen;
	int		 rc = -1;

	if ((v = after_scheme(header, "Basic")) == NULL)
		goto out;
	if ((n = b64_decode(v, trimmed_len(v), buf, sizeof(buf))) == -1)
		goto out;
	if (memchr(buf, '\0', (size_t)n) != NULL ||
	    (colon = memchr(buf, ':', (size_t)n)) == NULL)
		goto out;
	ulen = (size_t)(colon - buf);
	plen = (size_t)n - ulen - 1;
	if (ulen >= userlen || plen >= passlen)
		goto out;
	memcpy(user, buf, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	rc = 0;
out:
	/* The password is the token. */
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int
api_token_wellformed(const char *tok)
{
	size_t	 i, n = strlen(API_TOKEN_PREFIX);

	if (tok == NULL || strlen(tok) != API_TOKEN_LEN ||
	    strncmp(tok, API_TOKEN_PREFIX, n) != 0)
		return 0;
	for (i = n; i < API_TOKEN_LEN; i++)
		if (!isalnum((unsigned char)tok[i]) && tok[i] != '-' &&
		    tok[i] != '_')
			return 0;
	return 1;
}

int
api_name_valid(const char *name)
{
	size_t	 i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > API_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    strchr("._-", name[i]) == NULL)
			return 0;
	return 1;
}
