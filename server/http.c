/*
 * The HTTP face of scepd: routes /scep and /scep/pkiclient.exe, enforces
 * the request limits, and maps every outcome to an HTTP status in one
 * place.  Each worker runs its own evhttp on its own event base, all
 * accepting on one listening socket.
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

#include "server/log.h"
#include "server/query.h"
#include "server/scepd.h"

static void
send_reply(struct evhttp_request *req, struct reply *r)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if (r->status == 405)
		evhttp_add_header(h, "Allow", "GET, POST");
	if (r->content_type != NULL)
		/* No parameters: Apple and sscep compare the whole string. */
		evhttp_add_header(h, "Content-Type", r->content_type);
	if ((buf = evbuffer_new()) == NULL ||
	    evbuffer_add(buf, r->body, r->len) != 0) {
		evbuffer_free(buf);
		evhttp_send_error(req, 500, "Internal Server Error");
	} else {
		evhttp_send_reply(req, r->status, NULL, buf);
		evbuffer_free(buf);
	}
	if (r->free_body == 1)
		OPENSSL_free(r->body);
	else if (r->free_body == 2)
		free(r->body);
}

/* A short text answer for bad input (400, 404, 405, 413) and our faults. */
static void
text_reply(struct reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain";
	r->body = (unsigned char *)(uintptr_t)text;
	r->len = strlen(text);
	r->free_body = 0;
}

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

/* The path is the base path or base path + "/pkiclient.exe" (Windows). */
static int
scep_path(const char *base, const char *path)
{
	size_t	n = strlen(base);

	if (path == NULL || strncmp(path, base, n) != 0)
		return 0;
	path += n;
	return path[0] == '\0' || strcmp(path, "/") == 0 ||
	    strcmp(path, "/pkiclient.exe") == 0;
}

static void
pkioperation(struct worker *w, struct evhttp_request *req,
    const struct scep_query *q, const char *peer, struct reply *r)
{
	struct evbuffer	*in;
	unsigned char	*der = NULL;	/* owned, GET only */
	long		 n;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		/* Any or no Content-Type: the body is the DER message. */
		in = evhttp_request_get_input_buffer(req);
		if (evbuffer_get_length(in) == 0) {
			log_info("%s PKIOperation: empty POST body -> 400", peer);
			text_reply(r, 400, "empty PKIOperation body\n");
			return;
		}
		enroll_pkioperation(w, evbuffer_pullup(in, -1),
		    evbuffer_get_length(in), peer, r);
		return;
	}
	if (q->message == NULL || q->message_len == 0) {
		log_info("%s PKIOperation: GET without message -> 400", peer);
		text_reply(r, 400, "PKIOperation by GET needs message=\n");
		return;
	}
	if ((n = scep_base64_decode(q->message, q->message_len, &der)) <= 0) {
		log_info("%s PKIOperation: message is not base64 -> 400", peer);
		text_reply(r, 400, "message is not standard base64\n");
		return;
	}
	if (n > w->srv->conf->max_body) {
		free(der);
		log_info("%s PKIOperation: GET message over %d bytes -> 413",
		    peer, w->srv->conf->max_body);
		text_reply(r, 413, "message too large\n");
		return;
	}
	enroll_pkioperation(w, der, (size_t)n, peer, r);
	free(der);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct worker		*w = arg;
	struct server		*srv = w->srv;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct scep_query	 q;
	struct reply		 r;
	const unsigned char	*der;
	char			 peer[80], err[128];
	const char		*op;

	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	peer_name(req, peer, sizeof(peer));
	if (!scep_path(srv->conf->base_path, evhttp_uri_get_path(uri))) {
		log_info("%s %s: unknown path -> 404", peer,
		    evhttp_request_get_uri(req));
		text_reply(&r, 404, "not found\n");
		goto out;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
		log_info("%s: method not allowed -> 405", peer);
		text_reply(&r, 405, "only GET and POST\n");
		goto out;
	}
	if (scep_query_parse(evhttp_uri_get_query(uri), &q, err,
	    sizeof(err)) == -1) {
		log_info("%s: %s -> 400", peer, err);
		text_reply(&r, 400, "malformed query string\n");
		goto out;
	}
	if ((op = q.operation) == NULL) {
		log_info("%s: no operation -> 400", peer);
		text_reply(&r, 400, "missing operation=\n");
		goto out;
	}
	/* RFC 8894 4.1: operation names are case-sensitive. */
	if (strcmp(op, "GetCACaps") == 0) {
		r.status = 200;
		r.content_type = "text/plain";
		r.body = (unsigned char *)srv->caps;
		r.len = strlen(srv->caps);
		log_info("%s GetCACaps -> 200", peer);
	} else if (strcmp(op, "GetCACert") == 0) {
		r.status = 200;
		p7_ca_getcacert(srv->ca, &der, &r.len, &r.content_type);
		r.body = (unsigned char *)(uintptr_t)der;
		log_info("%s GetCACert -> 200 %s", peer, r.content_type);
	} else if (strcmp(op, "GetNextCACert") == 0) {
		log_info("%s GetNextCACert: no next CA configured -> 404", peer);
		text_reply(&r, 404, "no next CA certificate\n");
	} else if (strcmp(op, "PKIOperation") == 0) {
		pkioperation(w, req, &q, peer, &r);
	} else {
		log_info("%s: unknown operation -> 400", peer);
		text_reply(&r, 400, "unknown operation\n");
	}
out:
	scep_query_clear(&q);
	send_reply(req, &r);
}

int
http_worker_init(struct worker *w)
{
	const struct conf	*c = w->srv->conf;
	evutil_socket_t		 fd;

	if ((w->http = evhttp_new(w->base)) == NULL)
		return -1;
	/* Unset, evhttp takes any size (reliability.md 1.6). */
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
}
