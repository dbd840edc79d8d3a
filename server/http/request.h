/*
 * struct request (server/scepd.h) from an evhttp_request: a copy that
 * any thread may read while the loop goes on (request.c).
 */
#ifndef SCEPD_HTTP_REQUEST_H
#define SCEPD_HTTP_REQUEST_H

#include <event2/http.h>

#include "server/scepd.h"

/* On req's loop: a copy of what the handlers read, or NULL (no memory). */
struct request	*request_copy(struct evhttp_request *req);
void		 request_free(struct request *);
/* "address:port" of req's client into buf. */
const char	*request_peer(struct evhttp_request *req, char *buf,
		    size_t len);

#endif /* SCEPD_HTTP_REQUEST_H */
