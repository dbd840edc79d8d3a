/*
 * SCEP query string and GET message decoding.  Hostile input: every
 * length is checked, nothing is assumed NUL-free until decoded.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "server/query.h"

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
 * Percent-decode s[0..len) into a new string.  '+' stays '+' (RFC 3986:
 * it is not a space outside HTML forms, and base64 needs it).  A decoded
 * NUL is refused.  Returns NULL on bad escapes.
 */
static char *
pct_decode(const char *s, size_t len, size_t *outlen)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return NULL;
		}
		if ((hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

int
scep_query_parse(const char *query, struct scep_query *q, char *err,
    size_t errlen)
{
	const char	*p, *end, *eq, *amp;
	char		**slot;
	size_t		 vlen;

	memset(q, 0, sizeof(*q));
	if (query == NULL)
		return 0;
	end = query + strlen(query);
	for (p = query; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (size_t)(eq - p) == 9 &&
		    memcmp(p, "operation", 9) == 0)
			slot = &q->operation;
		else if (eq != NULL && (size_t)(eq - p) == 7 &&
		    memcmp(p, "message", 7) == 0)
			slot = &q->message;
		else
			continue;
		if (*slot != NULL) {
			snprintf(err, errlen, "parameter %.*s given twice",
			    (int)(eq - p), p);
			goto fail;
		}
		if ((*slot = pct_decode(eq + 1, (size_t)(amp - eq - 1),
		    &vlen)) == NULL) {
			snprintf(err, errlen, "bad %%-escape in %.*s",
			    (int)(eq - p), p);
			goto fail;
		}
		if (slot == &q->message)
			q->message_len = vlen;
		if (amp == end)
			break;
	}
	return 0;
fail:
	scep_query_clear(q);
	return -1;
}

void
scep_query_clear(struct scep_query *q)
{
	free(q->operation);
	free(q->message);
	memset(q, 0, sizeof(*q));
}

/* The two alphabets of RFC 4648: 4 (standard) and 5 (URL-safe). */
#define B64_STD	1
#define B64_URL	2

/* The value of c, and in *alpha which alphabet it belongs to (0: both). */
static int
b64val(int c, int *alpha)
{
	*alpha = 0;
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	*alpha = B64_STD;
	if (c == '+' || c == ' ')	/* a space is a '+' a form decoder ate */
		return 62;
	if (c == '/')
		return 63;
	*alpha = B64_URL;
	if (c == '-')			/* micromdm scepclient */
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
scep_base64_decode(const char *in, size_t len, unsigned char **out)
{
	unsigned char	*buf;
	unsigned long	 acc = 0;
	size_t		 i, n = 0, pad = 0, sig = 0;
	int		 bits = 0, v, alpha, seen = 0;

	*out = NULL;
	/* Line breaks at the end, then trailing '=' (at most two), may be
	 * there or not. */
	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r'))
		len--;
	while (len > 0 && in[len - 1] == '=' && pad < 2)
		len--, pad++;
	for (i = 0; i < len; i++)
		if (in[i] != '\n' && in[i] != '\r')
			sig++;
	if (sig == 0 || sig % 4 == 1 || (pad > 0 && (sig + pad) % 4 != 0))
		return -1;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		/* sscep's encoder breaks lines every 64 characters (%0A). */
		if (in[i] == '\n' || in[i] == '\r')
			continue;
		/* One message, one alphabet: "+_" is nobody's encoding. */
		if ((v = b64val((unsigned char)in[i], &alpha)) < 0 ||
		    (seen |= alpha) == (B64_STD | B64_URL)) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if ((acc & ((1UL << bits) - 1)) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return (long)n;
}
