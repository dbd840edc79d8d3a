/*
 * The HTTP face of scepd: each worker runs its own evhttp on its own
 * event base, all accepting on one listening socket, with the request
 * limits and connection caps; every request is copied off evhttp and
 * routed (route.c), and the struct reply a handler fills is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "server/http/conncap.h"
#include "server/http/http.h"
#include "server/http/offload.h"
#include "server/http/request.h"
#include "server/http/route.h"
#include "server/log.h"

/*
 * Every request: the connection caps, then the routing table on the loop
 * (server/http/route.c); what needs the database or a validator goes to
 * the pool (server/http/offload.c), which sends its answer later.
 */
static void
handle(struct evhttp_request *req, void *arg)
{
	struct worker		*w = arg;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct request		*rq = NULL;
	struct reply		 r;
	const char		*over;

	char			 peer[80];

	memset(&r, 0, sizeof(r));
	if (!conncap_admit(w->conncap, conn, &over)) {
		log_info("%s: connection over %s -> 503",
		    request_peer(req, peer, sizeof(peer)), over);
		reply_text(&r, 503, "too many connections, retry later\n");
		r.close = 1;
		goto out;
	}
	if ((rq = request_copy(req)) == NULL) {
		reply_text(&r, 500, "internal error\n");
		goto out;
	}
	route(w, rq, &r);
	if (r.to_pool) {
		reply_clear(&r);
		memset(&r, 0, sizeof(r));
		if (offload_request(w->srv->offload, w, req, rq) == 0)
			return;		/* rq is the pool's now */
		log_warnx("%s %s: cannot queue it -> 503", rq->peer, rq->uri);
		reply_text(&r, 503, "busy, retry later\n");
	}
out:
	request_free(rq);
	reply_send(req, &r);
}

int
http_worker_init(struct worker *w)
{
	const struct conf	*c = w->srv->conf;
	evutil_socket_t		 fd;

	if ((w->conncap = conncap_new(c->max_connections,
	    c->max_connections_per_address)) == NULL)
		return -1;
	if ((w->http = evhttp_new(w->base)) == NULL)
		return -1;
	/* Unset, evhttp takes any size. */
	evhttp_set_max_body_size(w->http, (ev_ssize_t)c->max_body);
	evhttp_set_max_headers_size(w->http, (ev_ssize_t)c->max_headers);
	evhttp_set_timeout(w->http, c->request_timeout);
	/* Every method reaches handle(), which answers 405 itself. */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(w->http, NULL);
	evhttp_set_gencb(w->http, handle, w);
	/* evhttp closes the socket it accepts on: give each worker a dup. */
	if ((fd = dup(w->srv->listen_fd)) == -1)
		return -1;
	if (evhttp_accept_socket_with_handle(w->http, fd) == NULL) {
		close(fd);
		return -1;
	}
	return 0;
}

void
http_worker_free(struct worker *w)
{
	if (w->http != NULL)
		evhttp_free(w->http);
	w->http = NULL;
	conncap_free(w->conncap);
	w->conncap = NULL;
}
