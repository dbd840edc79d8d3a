/*
 * The HTTP face of scepd: each worker runs its own evhttp on its own
 * event base, all accepting on one listening socket, with the request
 * limits and connection caps; every request is copied off evhttp and
 * routed (route.c), and the struct reply a handler fills is sent.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

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
		reply_text(&r, 503, "busy, retry later\n");
	}
out:
	request_free(rq);
	reply_send(req, &r);
}

/*
 * Descriptors besides the connections: one database connection per pool
 * thread and background thread, an outbound connection per pool thread
 * (validators, Intune), and what libevent, logging and key files take.
 */
#define FD_RESERVE(c)	(2 * (c)->pki_threads + 64)

int
http_fit_descriptors(struct conf *c, int nworkers)
{
	struct rlimit	rl;
	rlim_t		need, per_worker;
	int		max;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	need = (rlim_t)nworkers * (rlim_t)conncap_slots(c->max_connections) +
	    (rlim_t)FD_RESERVE(c);
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
		    need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_cur <= (rlim_t)FD_RESERVE(c))
		return -1;
	per_worker = (rl.rlim_cur - (rlim_t)FD_RESERVE(c)) / (rlim_t)nworkers;
	/* conncap_slots(max) = max + max / 4 + 1 <= per_worker */
	max = (int)((per_worker - 1) * 4 / 5);
	if (max < 1)
		return -1;
	log_warnx("limits.max_connections = %d on %d worker%s needs %llu "
	    "descriptors, the limit is %llu (ulimit -n, LimitNOFILE): %d per "
	    "worker instead", c->max_connections, nworkers,
	    nworkers > 1 ? "s" : "", (unsigned long long)need,
	    (unsigned long long)rl.rlim_cur, max);
	c->max_connections = max;
	if (c->max_connections_per_address > max)
		c->max_connections_per_address = max;
	return 0;
}

/* How long accepting pauses when the process is out of descriptors. */
#define ACCEPT_PAUSE_MS	250

static void
accept_resume(evutil_socket_t unused, short what, void *arg)
{
	(void)unused;
	(void)what;
	evconnlistener_enable(arg);
}

/*
 * accept() failed.  Out of descriptors (or memory), the pending
 * connection stays in the backlog and the socket stays readable:
 * retrying at once is a busy loop.  Pause accepting, and say so at most
 * once a minute.
 */
static void
accept_error(struct evconnlistener *l, void *unused)
{
	struct timeval	 pause = { 0, ACCEPT_PAUSE_MS * 1000 };
	int		 e = EVUTIL_SOCKET_ERROR();

	(void)unused;
	log_repeat("accept", "accept: %s: not accepting for %d ms (raise the "
	    "descriptor limit, ulimit -n / LimitNOFILE, or lower "
	    "limits.max_connections)", evutil_socket_error_to_string(e),
	    ACCEPT_PAUSE_MS);
	evconnlistener_disable(l);
	if (event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT,
	    accept_resume, l, &pause) == -1)
		evconnlistener_enable(l);
}

int
http_worker_init(struct worker *w)
{
	const struct conf	*c = w->srv->conf;
	struct evhttp_bound_socket *bound;
	evutil_socket_t		 fd;

	if ((w->conncap = conncap_new(w->base, c->max_connections,
	    c->max_connections_per_address, c->request_deadline)) == NULL)
		return -1;
	if ((w->http = evhttp_new(w->base)) == NULL)
		return -1;
	evhttp_set_bevcb(w->http, conncap_bufferevent, w->conncap);
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
	if ((bound = evhttp_accept_socket_with_handle(w->http, fd)) == NULL) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound),
	    accept_error);
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
