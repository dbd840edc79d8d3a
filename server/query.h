/*
 * Parsing of the SCEP query string (RFC 8894 4.1): operation and message,
 * percent-decoded without turning '+' into a space, and the base64 of a
 * GET PKIOperation (standard alphabet, RFC 4648 4), tolerant of the
 * literal '+' and '/' Apple sends and of escaped or unescaped '='.
 */
#ifndef SCEPD_QUERY_H
#define SCEPD_QUERY_H

#include <stddef.h>

struct scep_query {
	char	*operation;	/* decoded, or NULL if absent */
	char	*message;	/* decoded, or NULL if absent */
	size_t	 message_len;
};

/*
 * Parse query (the part after '?', may be NULL).  Other parameters are
 * ignored (sscep -M adds its own); a repeated operation or message is an
 * error.  Returns 0, or -1 with a reason in err.  Free with
 * scep_query_clear().
 */
int	scep_query_parse(const char *query, struct scep_query *q,
	    char *err, size_t errlen);
void	scep_query_clear(struct scep_query *);

/*
 * Decode base64 in either alphabet of RFC 4648: standard (4; spaces are
 * read as '+', what a form decoder upstream made of them) or URL-safe (5,
 * '-' and '_', as micromdm's scepclient sends), never both in one input.
 * CR and LF are skipped (sscep breaks lines), padding may be missing,
 * leftover bits must be zero; other characters are refused.  Returns the
 * decoded length or -1.  *out is malloc'd.
 */
long	scep_base64_decode(const char *in, size_t len, unsigned char **out);

#endif /* SCEPD_QUERY_H */
