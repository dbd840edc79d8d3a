/*
 * Reading what Entra ID, Graph and Intune answer (intune_json.h).  A
 * field of the wrong type is as bad as a missing one: nothing is
 * guessed, since a misread answer could issue or revoke a certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "server/outbound/intune_json.h"

/* At most this many characters of a peer's text go into a log line. */
#define TEXT_MAX	200

static json_t *
load(const void *body, size_t len)
{
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
}

/* A control character: never into a log line. */
static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (is_control((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * s up to its first line break and TEXT_MAX, into buf, other control
 * characters as '?'.
 */
static void
first_line(const char *s, char *buf, size_t buflen)
{
	size_t	n = s != NULL ? strcspn(s, "\r\n") : 0;

	if (n > TEXT_MAX)
		n = TEXT_MAX;
	snprintf(buf, buflen, "%.*s", (int)n, s != NULL ? s : "");
	for (char *p = buf; *p != '\0'; p++)
		if (is_control((unsigned char)*p))
			*p = '?';
}

int
intune_json_token(const void *body, size_t len, char **token,
    long long *expires_in, char *err, size_t errlen)
{
	json_t		*j, *e;
	const char	*v;
	int		 rc = -1;

	*token = NULL;
	if ((j = load(body, len)) == NULL || !json_is_object(j))
		snprintf(err, errlen, "not a JSON object");
	else if ((v = json_string_value(json_object_get(j, "access_token"))) ==
	    NULL || v[0] == '\0')
		snprintf(err, errlen, "no access_token");
	else if (!json_is_integer(e = json_object_get(j, "expires_in")))
		snprintf(err, errlen, "expires_in is not a number");
	else if ((*token = strdup(v)) == NULL)
		snprintf(err, errlen, "out of memory");
	else {
		*expires_in = json_integer_value(e);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

void
intune_json_token_error(const void *body, size_t len, char *code,
    size_t codelen, char *desc, size_t desclen)
{
	json_t	*j = load(body, len);

	first_line(json_string_value(json_object_get(j, "error")), code,
	    codelen);
	first_line(json_string_value(json_object_get(j, "error_description")),
	    desc, desclen);
	json_decref(j);
}

int
intune_json_service(const void *body, size_t len, const char *name,
    char **uri, char *err, size_t errlen)
{
	json_t		*j, *v, *e;
	const char	*n, *u;
	size_t		 i;

	*uri = NULL;
	if ((j = load(body, len)) == NULL ||
	    !json_is_array(v = json_object_get(j, "value"))) {
		snprintf(err, errlen, "no \"value\" list");
		json_decref(j);
		return -1;
	}
	json_array_foreach(v, i, e) {
		n = json_string_value(json_object_get(e, "providerName"));
		u = json_string_value(json_object_get(e, "uri"));
		if (n == NULL || strcasecmp(n, name) != 0)
			continue;
		/* The token goes wherever this points: TLS only. */
		if (u != NULL && strncmp(u, "https://", 8) == 0 && u[8] != '\0' &&
		    (*uri = strdup(u)) == NULL) {
			snprintf(err, errlen, "out of memory");
			json_decref(j);
			return -1;
		}
		if (*uri != NULL)
			break;
	}
	json_decref(j);
	return 0;
}

int
intune_json_code(const void *body, size_t len, char *code, size_t codelen,
    char *desc, size_t desclen, char *err, size_t errlen)
{
	json_t		*j, *d;
	const char	*c;
	int		 rc = -1;

	code[0] = desc[0] = '\0';
	if ((j = load(body, len)) == NULL || !json_is_object(j))
		snprintf(err, errlen, "not a JSON object");
	else if ((c = json_string_value(json_object_get(j, "code"))) == NULL ||
	    c[0] == '\0')
		snprintf(err, errlen, "no \"code\"");
	else if ((d = json_object_get(j, "errorDescription")) != NULL &&
	    !json_is_string(d) && !json_is_null(d))
		snprintf(err, errlen, "errorDescription is not a string");
	else if (strlen(c) >= codelen || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(c))
		/* A code goes into log lines and is compared: a name only. */
		snprintf(err, errlen, "\"code\" is not a code name");
	else {
		snprintf(code, codelen, "%s", c);
		first_line(json_string_value(d), desc, desclen);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* A required non-empty string field of entry i, strdup'ed into *out. */
static int
field(json_t *e, size_t i, const char *name, int required, char **out,
    char *err, size_t errlen)
{
	json_t		*f = json_object_get(e, name);
	const char	*s = json_string_value(f);

	*out = NULL;
	if (f == NULL || json_is_null(f)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "value[%zu].%s missing", i, name);
		return -1;
	}
	if (s == NULL || s[0] == '\0' || strlen(s) > 1024) {
		snprintf(err, errlen, "value[%zu].%s is not a short string", i,
		    name);
		return -1;
	}
	/* Logged and sent back: printable only (a NUL would cut it short). */
	if (strlen(s) != json_string_length(f) || !printable(s)) {
		snprintf(err, errlen, "value[%zu].%s holds a control character",
		    i, name);
		return -1;
	}
	if ((*out = strdup(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
intune_json_revocations(const void *body, size_t len, size_t max,
    struct intune_revocation **out, size_t *n, char *err, size_t errlen)
{
	struct intune_revocation	*r = NULL;
	json_t				*j, *v, *e;
	size_t				 i, count = 0;
	int				 rc = -1;

	*out = NULL;
	*n = 0;
	if ((j = load(body, len)) == NULL ||
	    !json_is_array(v = json_object_get(j, "value"))) {
		snprintf(err, errlen, "no \"value\" list");
		goto out;
	}
	if ((count = json_array_size(v)) > max) {
		snprintf(err, errlen, "%zu requests, more than the %zu asked for",
		    count, max);
		goto out;
	}
	if (count > 0 && (r = calloc(count, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_object(e)) {
			snprintf(err, errlen, "value[%zu] is not an object", i);
			goto out;
		}
		if (field(e, i, "requestContext", 1, &r[i].context, err,
		    errlen) == -1 || field(e, i, "serialNumber", 1,
		    &r[i].serial, err, errlen) == -1 || field(e, i,
		    "issuerName", 0, &r[i].issuer, err, errlen) == -1)
			goto out;
		*n = i + 1;
	}
	rc = 0;
out:
	json_decref(j);
	if (rc == -1) {
		/* calloc'd: the entries not reached hold NULLs. */
		intune_revocations_free(r, r != NULL ? count : 0);
		r = NULL;
		*n = 0;
	}
	*out = r;
	return rc;
}

void
intune_revocations_free(struct intune_revocation *r, size_t n)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(r[i].context);
		free(r[i].serial);
		free(r[i].issuer);
	}
	free(r);
}

int
intune_json_uploaded(const void *body, size_t len, char *err, size_t errlen)
{
	json_t	*j = load(body, len);
	int	 ok = json_is_true(json_object_get(j, "value"));

	json_decref(j);
	if (!ok)
		snprintf(err, errlen, "the answer is not {\"value\": true}: the "
		    "results were not recorded");
	return ok ? 0 : -1;
}
