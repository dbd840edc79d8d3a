/*
 * A minimal blocking HTTP/1.1 client (http_client.c), for the webhook
 * (server/scep/webhook.c) and Intune (intune.c).
 */
#ifndef SCEPD_OUTBOUND_HTTP_CLIENT_H
#define SCEPD_OUTBOUND_HTTP_CLIENT_H

#include <stddef.h>

enum httpc_result {
	HTTPC_OK = 0,		/* a complete reply, any status */
	HTTPC_UNREACHED,	/* no connection: nothing was sent */
	HTTPC_FAILED,		/* failed after the request went out */
	HTTPC_TIMEOUT,		/* the deadline passed */
	HTTPC_TOO_BIG,		/* the reply exceeded max_reply */
	HTTPC_INTERNAL,		/* bad URL, memory */
};

struct httpc_header {
	const char	*name;
	const char	*value;
};

struct httpc_reply {
	int		 status;
	unsigned char	*body;		/* owned, NUL-terminated, malloc */
	size_t		 len;
};

/*
 * POST body to url (http:// or https://; https verifies the server
 * against the system trust store, with SNI and a host name check) with
 * the headers given, Content-Type application/json, and wait at most
 * timeout_ms for the whole exchange, on a private event base: the
 * calling thread blocks, for that long at most.  No retries.  On HTTPC_OK
 * *out holds the status and body (free with httpc_reply_clear()); err
 * explains anything else.
 */
enum httpc_result httpc_post(const char *url, const struct httpc_header *,
	    size_t nheaders, const void *body, size_t len, int timeout_ms,
	    size_t max_reply, struct httpc_reply *out, char *err, size_t errlen);
enum httpc_method { HTTPC_GET, HTTPC_POST };
/*
 * As httpc_post, with the method and the Content-Type given (NULL: no
 * Content-Type header, as for a GET without a body).
 */
enum httpc_result httpc_request(enum httpc_method, const char *url,
	    const char *content_type, const struct httpc_header *,
	    size_t nheaders, const void *body, size_t len, int timeout_ms,
	    size_t max_reply, struct httpc_reply *out, char *err,
	    size_t errlen);
void	httpc_reply_clear(struct httpc_reply *);
const char *httpc_result_name(enum httpc_result);

#endif /* SCEPD_OUTBOUND_HTTP_CLIENT_H */
