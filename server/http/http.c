/*
 * The HTTP face of scepd: routes /scep and /scep/pkiclient.exe, the
 * admin API and the revocation endpoints, enforces the request limits and
 * connection caps, and sends the struct reply each handler fills.  Each
 * worker runs its own evhttp on its own event base, all accepting on one
 * listening socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>

#include "server/api/api.h"
#include "server/api/api_lifecycle.h"
#include "server/api/mscep_admin.h"
#include "server/http/conncap.h"
#include "server/http/offload.h"
#include "server/http/http.h"
#include "server/log.h"
#include "server/query.h"
#include "server/revocation/responder.h"
#include "server/scep/pkioperation.h"


static const char *
peer_name(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*conn;
	const char			*addr = "?";
	ev_uint16_t			 port = 0;

	if ((conn = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(conn, (char **)(uintptr_t)&addr, &port);
	snprintf(buf, len, "%s:%u", addr, (unsigned)port);
	return buf;
}

/*
 * The profile a path names: <base>, <base>/pkiclient.exe (Windows appends
 * it), <base>/<profile> and <base>/<profile>/pkiclient.exe.  NULL if the
 * path is not a SCEP path or names no profile.
 */
static struct conf_profile *
scep_profile(const struct conf *c, const char *path)
{
	const char	*name, *end;
	size_t		 n = strlen(c->base_path);

	if (path == NULL || strncmp(path, c->base_path, n) != 0)
		return NULL;
	path += n;
	if (path[0] == '\0' || strcmp(path, "/") == 0 ||
	    strcmp(path, "/pkiclient.exe") == 0)
		return &c->profiles[0];
	if (path[0] != '/')
		return NULL;
	name = path + 1;
	if ((end = strchr(name, '/')) == NULL)
		end = name + strlen(name);
	else if (strcmp(end, "/") != 0 && strcmp(end, "/pkiclient.exe") != 0)
		return NULL;
	if (end == name)
		return NULL;
	return conf_profile(c, name, (size_t)(end - name));
}

/*
 * The PKIOperation der (owned) goes to the pool (server/http/offload.c);
 * its answer is sent from there.
 */
static void
hand_over(struct worker *w, struct conf_profile *prof,
    struct evhttp_request *req, unsigned char *der, size_t len,
    const char *peer, struct reply *r)
{
	if (offload_pkioperation(w->srv->offload, w, prof, req, der, len,
	    peer) == -1) {
		log_warnx("%s PKIOperation: cannot queue it -> 503", peer);
		reply_text(r, 503, "busy, retry later\n");
		return;
	}
	r->deferred = 1;
}

static void
pkioperation(struct worker *w, struct conf_profile *prof,
    struct evhttp_request *req, const struct scep_query *q, const char *peer,
    struct reply *r)
{
	struct evbuffer	*in;
	unsigned char	*der = NULL;	/* owned, GET only */
	long		 n;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		/* Any or no Content-Type: the body is the DER message. */
		in = evhttp_request_get_input_buffer(req);
		if (evbuffer_get_length(in) == 0) {
			log_info("%s PKIOperation: empty POST body -> 400", peer);
			reply_text(r, 400, "empty PKIOperation body\n");
			return;
		}
		if ((der = malloc(evbuffer_get_length(in))) == NULL) {
			reply_text(r, 500, "internal error\n");
			return;
		}
		n = (long)evbuffer_get_length(in);
		memcpy(der, evbuffer_pullup(in, -1), (size_t)n);
		hand_over(w, prof, req, der, (size_t)n, peer, r);
		return;
	}
	if (q->message == NULL || q->message_len == 0) {
		log_info("%s PKIOperation: GET without message -> 400", peer);
		reply_text(r, 400, "PKIOperation by GET needs message=\n");
		return;
	}
	if ((n = scep_base64_decode(q->message, q->message_len, &der)) <= 0) {
		log_info("%s PKIOperation: message is not base64 -> 400", peer);
		reply_text(r, 400, "message is not base64\n");
		return;
	}
	if (n > w->srv->conf->max_body) {
		free(der);
		log_info("%s PKIOperation: GET message over %d bytes -> 413",
		    peer, w->srv->conf->max_body);
		reply_text(r, 413, "message too large\n");
		return;
	}
	hand_over(w, prof, req, der, (size_t)n, peer, r);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct worker		*w = arg;
	struct server		*srv = w->srv;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct conf_profile	*prof;
	struct scep_query	 q;
	struct reply		 r;
	const unsigned char	*der;
	char			 peer[80], err[128];
	const char		*op, *over;

	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	peer_name(req, peer, sizeof(peer));
	if (!conncap_admit(w->conncap, evhttp_request_get_connection(req),
	    &over)) {
		log_info("%s: connection over %s -> 503", peer, over);
		reply_text(&r, 503, "too many connections, retry later\n");
		r.close = 1;
		goto out;
	}
	if (revocation_http(w, req, evhttp_uri_get_path(uri), peer, &r) ||
	    api_lifecycle(w, req, evhttp_uri_get_path(uri), peer, &r) ||
	    api_handle(w, req, evhttp_uri_get_path(uri), peer, &r) ||
	    mscep_handle(w, req, evhttp_uri_get_path(uri), peer, &r))
		goto out;
	if ((prof = scep_profile(srv->conf, evhttp_uri_get_path(uri))) == NULL) {
		log_info("%s %s: unknown path -> 404", peer,
		    evhttp_request_get_uri(req));
		reply_text(&r, 404, "not found\n");
		goto out;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
		log_info("%s: method not allowed -> 405", peer);
		reply_text(&r, 405, "only GET and POST\n");
		goto out;
	}
	if (scep_query_parse(evhttp_uri_get_query(uri), &q, err,
	    sizeof(err)) == -1) {
		log_info("%s: %s -> 400", peer, err);
		reply_text(&r, 400, "malformed query string\n");
		goto out;
	}
	if ((op = q.operation) == NULL) {
		log_info("%s: no operation -> 400", peer);
		reply_text(&r, 400, "missing operation=\n");
		goto out;
	}
	/* RFC 8894 4.1: operation names are case-sensitive. */
	if (strcmp(op, "GetCACaps") == 0) {
		r.status = 200;
		r.content_type = "text/plain";
		r.body = (unsigned char *)prof->caps;
		r.len = strlen(prof->caps);
		log_info("%s GetCACaps %s -> 200", peer, prof->policy.name);
	} else if (strcmp(op, "GetCACert") == 0) {
		r.status = 200;
		p7_ca_getcacert(prof->ca, &der, &r.len, &r.content_type);
		r.body = (unsigned char *)(uintptr_t)der;
		log_info("%s GetCACert %s -> 200 %s", peer, prof->policy.name,
		    r.content_type);
	} else if (strcmp(op, "GetNextCACert") == 0) {
		/* RFC 8894 4.7: signed by the current RA/CA (pkcs7/nextca.c). */
		if (p7_ca_getnextcacert(prof->ca, &der, &r.len) == 0) {
			r.status = 200;
			r.content_type = "application/x-x509-next-ca-cert";
			r.body = (unsigned char *)(uintptr_t)der;
			log_info("%s GetNextCACert %s -> 200", peer,
			    prof->policy.name);
		} else {
			log_info("%s GetNextCACert %s: no next CA configured "
			    "-> 404", peer, prof->policy.name);
			reply_text(&r, 404, "no next CA certificate\n");
		}
	} else if (strcmp(op, "PKIOperation") == 0) {
		pkioperation(w, prof, req, &q, peer, &r);
	} else {
		log_info("%s: unknown operation -> 400", peer);
		reply_text(&r, 400, "unknown operation\n");
	}
out:
	scep_query_clear(&q);
	if (!r.deferred)
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
