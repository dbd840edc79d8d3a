/*
 * Parsers of the admin API's network input, kept free of libevent so
 * that the unit tests and test/fuzz/fuzz_api.c can feed them bytes: the
 * JSON body of a challenge mint, the Authorization header (Bearer and
 * Basic), and the checks of a challenge binding shared with scepctl.
 */
#ifndef SCEPD_API_PARSE_H
#define SCEPD_API_PARSE_H

#include <stddef.h>

/* "scepd_" and 43 base64url characters: 256 random bits. */
#define API_TOKEN_PREFIX	"scepd_"
#define API_TOKEN_RANDOM	32
#define API_TOKEN_LEN		(6 + 43)
#define API_NAME_MAX		64	/* token names, [A-Za-z0-9._-] */
#define API_MAX_BODY		8192	/* bytes of a mint request */
#define API_MAX_SANS		32
#define API_MAX_TTL		(60 * 24 * 30)	/* minutes */

/* A mint request; every field optional. */
struct api_mint {
	char	*device_id;	/* owned, or NULL */
	char	*subject;	/* owned, "/CN=x", or NULL */
	char	**sans;		/* owned, "DNS:x" (type canonicalised) */
	size_t	 nsans;
	int	 ttl_minutes;	/* 0: the profile's */
};
void	api_mint_clear(struct api_mint *);

/*
 * Parse the JSON body of POST /api/v1/profiles/<p>/challenges: an object
 * with at most "device_id" (string), "subject" (string), "sans" (array
 * of strings), "ttl_minutes" (integer); null is the same as absent; an
 * empty body means all defaults.  Unknown keys, duplicate keys and wrong
 * types are errors.  The values are checked by api_mint_check().
 * Returns 0 with *m filled (free with api_mint_clear()) or -1 with a
 * short reason in err for the 400 answer.
 */
int	api_parse_mint(const char *body, size_t len, struct api_mint *m,
	    char *err, size_t errlen);

/*
 * Check a binding (from the API or scepctl): device_id 1-256 printable
 * characters, subject "/TYPE=value/..." up to 1024, each SAN
 * "TYPE:value" with TYPE DNS, email, URI, UPN or IP (any case; rewritten
 * in that spelling), ttl 0..API_MAX_TTL.  Returns 0 or -1 with err.
 */
int	api_mint_check(struct api_mint *, char *err, size_t errlen);

/*
 * "Bearer <token>" (scheme in any case): copy the token into tok.
 * Returns 0, or -1 if the header is not that or the token does not fit.
 */
int	api_parse_bearer(const char *header, char *tok, size_t toklen);

/*
 * "Basic base64(user:password)" (RFC 7617): copy both, NUL-terminated.
 * Returns 0, or -1 if the header is not that, the base64 is not
 * canonical, there is no colon, either holds a NUL or does not fit.
 */
int	api_parse_basic(const char *header, char *user, size_t userlen,
	    char *pass, size_t passlen);

/* 1 if tok has the shape of a scepd API token, else 0. */
int	api_token_wellformed(const char *tok);
/* 1 if name is a valid token name ([A-Za-z0-9._-]{1,64}), else 0. */
int	api_name_valid(const char *name);

#endif /* SCEPD_API_PARSE_H */
