/*
 * The copy of an HTTP request the handlers read.  evhttp's request may
 * be touched only on its loop, and a pool thread answers most of what
 * is not in memory, so the handlers read this copy instead: the method,
 * the raw path and query, the two headers any handler looks at, the
 * body and the peer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>

#include "server/http/request.h"

/* A copy of s, or NULL for NULL; -1 when out of memory. */
static int
copy(char **to, const char *s)
{
	*to = NULL;
	if (s == NULL)
		return 0;
	return (*to = strdup(s)) == NULL ? -1 : 0;
}

const char *
request_peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*conn;
	const char			*addr = "?";
	ev_uint16_t			 port = 0;

	if ((conn = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(conn, (char **)(uintptr_t)&addr, &port);
	snprintf(buf, len, "%s:%u", addr, (unsigned)port);
	return buf;
}

struct request *
request_copy(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	struct request		*rq;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->method = evhttp_request_get_command(req);
	request_peer(req, rq->peer, sizeof(rq->peer));
	snprintf(rq->addr, sizeof(rq->addr), "%.*s",
	    (int)(strrchr(rq->peer, ':') - rq->peer), rq->peer);
	rq->body_len = evbuffer_get_length(body);
	if (copy(&rq->uri, evhttp_request_get_uri(req)) == -1 ||
	    copy(&rq->path, evhttp_uri_get_path(uri)) == -1 ||
	    copy(&rq->query, evhttp_uri_get_query(uri)) == -1 ||
	    copy(&rq->authorization, evhttp_find_header(in,
	    "Authorization")) == -1 ||
	    copy(&rq->if_none_match, evhttp_find_header(in,
	    "If-None-Match")) == -1 ||
	    (rq->body = malloc(rq->body_len + 1)) == NULL) {
		request_free(rq);
		return NULL;
	}
	/* NUL-terminated too, for the JSON parsers. */
	evbuffer_copyout(body, rq->body, rq->body_len);
	rq->body[rq->body_len] = '\0';
	return rq;
}

void
request_free(struct request *rq)
{
	if (rq == NULL)
		return;
	free(rq->uri);
	free(rq->path);
	free(rq->query);
	/* A token or a password. */
	if (rq->authorization != NULL)
		OPENSSL_clear_free(rq->authorization,
		    strlen(rq->authorization));
	free(rq->if_none_match);
	free(rq->body);
	free(rq);
}
