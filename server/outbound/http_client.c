/*
 * A minimal blocking HTTP/1.1 POST client for the webhook: one request,
 * one total deadline, on a private event base created per call, so the
 * worker thread that asks blocks for the deadline at most and no other
 * thread's event loop is touched.  libevent's evhttp does the protocol
 * (chunked replies, body cap), evdns resolves inside the deadline, and
 * bufferevent_openssl carries https:// with the server certificate
 * verified against the system trust store, SNI and a host name check.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "server/outbound/http_client.h"

/* One exchange, shared by the callbacks below. */
struct exchange {
	struct event_base	*base;
	size_t			 max_reply;
	int			 done;		/* the request callback ran */
	int			 sent;		/* bytes went to the connection */
	int			 timed_out;
	int			 too_big;
	enum evhttp_request_error error;
	int			 have_error;
	int			 status;
	unsigned char		*body;		/* owned until moved out */
	size_t			 len;
};

/* The TLS context: the system trust store is read once per process. */
static pthread_once_t	 tls_once = PTHREAD_ONCE_INIT;
static SSL_CTX		*tls_ctx;

static void
tls_init(void)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return;
	/* SSL_CERT_FILE / SSL_CERT_DIR override the system store, as for
	 * every OpenSSL client (the tests use that). */
	if (!SSL_CTX_set_default_verify_paths(ctx) ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		SSL_CTX_free(ctx);
		return;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	tls_ctx = ctx;
}

const char *
httpc_result_name(enum httpc_result r)
{
	switch (r) {
	case HTTPC_OK:		return "ok";
	case HTTPC_UNREACHED:	return "unreachable";
	case HTTPC_FAILED:	return "failed";
	case HTTPC_TIMEOUT:	return "timeout";
	case HTTPC_TOO_BIG:	return "reply too big";
	default:		return "internal error";
	}
}

void
httpc_reply_clear(struct httpc_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct exchange	*x = arg;

	(void)fd;
	(void)what;
	x->timed_out = 1;
	event_base_loopbreak(x->base);
}

/*
 * Bytes added to the connection's output buffer mean evhttp connected
 * (and, for https, finished the handshake) and started to send: from then
 * on the request may have reached the server and must not be repeated.
 */
static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct exchange	*x = arg;

	(void)buf;
	if (info->n_added > 0)
		x->sent = 1;
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
	struct exchange	*x = arg;

	x->error = e;
	x->have_error = 1;
	if (e == EVREQ_HTTP_DATA_TOO_LONG)
		x->too_big = 1;
}

static void
on_reply(struct evhttp_request *req, void *arg)
{
	struct exchange	*x = arg;
	struct evbuffer	*in;
	size_t		 n;

	x->done = 1;
	event_base_loopbreak(x->base);
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		return;
	in = evhttp_request_get_input_buffer(req);
	if ((n = evbuffer_get_length(in)) > x->max_reply) {
		x->too_big = 1;
		return;
	}
	if ((x->body = malloc(n + 1)) == NULL)
		return;
	if (evbuffer_remove(in, x->body, n) != (int)n) {
		free(x->body);
		x->body = NULL;
		return;
	}
	x->body[n] = '\0';
	x->len = n;
	x->status = evhttp_request_get_response_code(req);
}

/* An SSL for host: SNI for names, and the name or address checked. */
static SSL *
tls_new(const char *host, char *err, size_t errlen)
{
	SSL			*ssl = NULL;	/* owned until returned */
	X509_VERIFY_PARAM	*vp;
	unsigned char		 addr[16];
	int			 is_ip;

	pthread_once(&tls_once, tls_init);
	if (tls_ctx == NULL) {
		snprintf(err, errlen, "no TLS context (trust store unreadable?)");
		return NULL;
	}
	if ((ssl = SSL_new(tls_ctx)) == NULL)
		goto fail;
	vp = SSL_get0_param(ssl);
	is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	if (is_ip) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(vp, host))
			goto fail;
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (!SSL_set_tlsext_host_name(ssl, host) ||
		    !X509_VERIFY_PARAM_set1_host(vp, host, 0))
			goto fail;
	}
	return ssl;
fail:
	snprintf(err, errlen, "cannot set up TLS for %s", host);
	SSL_free(ssl);
	return NULL;
}

/* Why a TLS connection failed, from the verification result or errors. */
static void
tls_why(struct bufferevent *bev, char *err, size_t errlen)
{
	SSL		*ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long	 e;
	long		 v;
	char		 buf[128];

	if (ssl != NULL && (v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(err, errlen, "TLS: server certificate: %s",
		    X509_verify_cert_error_string(v));
		return;
	}
	/* libevent also queues bare SSL_get_error() codes (no library):
	 * those say nothing the connect message does not. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue;
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "TLS: %s", ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : buf);
	}
}

enum httpc_result
httpc_post(const char *url, const struct httpc_header *hdrs, size_t nhdrs,
    const void *body, size_t len, int timeout_ms, size_t max_reply,
    struct httpc_reply *out, char *err, size_t errlen)
{
	return httpc_request(HTTPC_POST, url, "application/json", hdrs, nhdrs,
	    body, len, timeout_ms, max_reply, out, err, errlen);
}

enum httpc_result
httpc_request(enum httpc_method method, const char *url,
    const char *content_type, const struct httpc_header *hdrs, size_t nhdrs,
    const void *body, size_t len, int timeout_ms, size_t max_reply,
    struct httpc_reply *out, char *err, size_t errlen)
{
	struct evhttp_uri		*uri = NULL;	/* owned */
	struct event_base		*base = NULL;	/* owned */
	struct evdns_base		*dns = NULL;	/* owned */
	struct event			*timer = NULL;	/* owned */
	struct bufferevent		*bev = NULL;	/* owned until evcon */
	struct evhttp_connection	*evcon = NULL;	/* owned */
	struct evhttp_request		*req = NULL;	/* owned until made */
	struct evkeyvalq		*h;
	struct exchange			 x;
	struct timeval			 tv;
	SSL				*ssl = NULL;	/* owned until bev */
	const char			*scheme, *host, *path, *query;
	char				*target = NULL, hostport[300];
	int				 port, tls, def_port;
	enum httpc_result		 rc = HTTPC_INTERNAL;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.max_reply = max_reply;
	if (errlen > 0)
		err[0] = '\0';

	if ((uri = evhttp_uri_parse_with_flags(url, 0)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(uri)) == NULL ||
	    (host = evhttp_uri_get_host(uri)) == NULL || host[0] == '\0' ||
	    evhttp_uri_get_userinfo(uri) != NULL) {
		snprintf(err, errlen, "not a usable URL");
		goto out;
	}
	if (strcmp(scheme, "https") == 0)
		tls = 1;
	else if (strcmp(scheme, "http") == 0)
		tls = 0;
	else {
		snprintf(err, errlen, "scheme %s is not http or https", scheme);
		goto out;
	}
	def_port = tls ? 443 : 80;
	if ((port = evhttp_uri_get_port(uri)) == -1)
		port = def_port;
	/* evhttp_uri keeps IPv6 literals without brackets. */
	if (port == def_port)
		snprintf(hostport, sizeof(hostport), strchr(host, ':') ?
		    "[%s]" : "%s", host);
	else
		snprintf(hostport, sizeof(hostport), strchr(host, ':') ?
		    "[%s]:%d" : "%s:%d", host, port);
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	if (path == NULL || path[0] == '\0')
		path = "/";
	if ((target = malloc(strlen(path) + (query ? strlen(query) : 0) +
	    2)) == NULL)
		goto out;
	sprintf(target, "%s%s%s", path, query ? "?" : "", query ? query : "");

	if ((base = event_base_new()) == NULL ||
	    (dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) ==
	    NULL || (timer = evtimer_new(base, on_deadline, &x)) == NULL) {
		snprintf(err, errlen, "cannot set up an event base");
		goto out;
	}
	x.base = base;
	if (tls) {
		if ((ssl = tls_new(host, err, errlen)) == NULL)
			goto out;
		if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS)) == NULL)
			goto out;
		ssl = NULL;
		/* Many servers close without close_notify after the reply. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		goto out;
	if (evbuffer_add_cb(bufferevent_get_output(bev), on_output, &x) == NULL)
		goto out;
	if ((evcon = evhttp_connection_base_bufferevent_new(base, dns, bev,
	    host, (unsigned short)port)) == NULL)
		goto out;
	bev = NULL;	/* the connection frees it */
	evhttp_connection_set_max_body_size(evcon, (ev_ssize_t)max_reply);
	evhttp_connection_set_max_headers_size(evcon, 16 * 1024);
	evhttp_connection_set_retries(evcon, 0);

	if ((req = evhttp_request_new(on_reply, &x)) == NULL)
		goto out;
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", hostport) == -1 ||
	    (content_type != NULL && evhttp_add_header(h, "Content-Type",
	    content_type) == -1) ||
	    evhttp_add_header(h, "User-Agent", "scepd") == -1 ||
	    evhttp_add_header(h, "Connection", "close") == -1)
		goto out;
	for (size_t i = 0; i < nhdrs; i++)
		if (evhttp_add_header(h, hdrs[i].name, hdrs[i].value) == -1)
			goto out;
	if (len > 0 && evbuffer_add(evhttp_request_get_output_buffer(req),
	    body, len) != 0)
		goto out;

	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (evtimer_add(timer, &tv) == -1)
		goto out;
	/* On failure evhttp_make_request frees req itself. */
	if (evhttp_make_request(evcon, req, method == HTTPC_GET ?
	    EVHTTP_REQ_GET : EVHTTP_REQ_POST, target) == -1) {
		req = NULL;
		snprintf(err, errlen, "cannot start the request");
		goto out;
	}
	req = NULL;
	event_base_dispatch(base);

	if (x.done && x.status != 0 && x.body != NULL) {
		out->status = x.status;
		out->body = x.body;
		out->len = x.len;
		x.body = NULL;
		rc = HTTPC_OK;
	} else if (x.too_big) {
		snprintf(err, errlen, "reply over %zu bytes", max_reply);
		rc = HTTPC_TOO_BIG;
	} else if (x.timed_out) {
		snprintf(err, errlen, "no reply within %d ms", timeout_ms);
		rc = HTTPC_TIMEOUT;
	} else if (!x.sent) {
		/* evhttp resets the connection before telling us, so errno
		 * no longer says why. */
		snprintf(err, errlen, "cannot connect to %s (refused, "
		    "unreachable or name not resolved)", hostport);
		if (tls)
			tls_why(evhttp_connection_get_bufferevent(evcon), err,
			    errlen);
		rc = HTTPC_UNREACHED;
	} else {
		snprintf(err, errlen, "%s", !x.have_error ? "connection failed" :
		    x.error == EVREQ_HTTP_EOF ? "connection closed before a "
		    "complete reply" : x.error == EVREQ_HTTP_INVALID_HEADER ?
		    "malformed reply header" : x.error == EVREQ_HTTP_TIMEOUT ?
		    "timeout" : "reply unreadable");
		if (tls && !x.have_error)
			tls_why(evhttp_connection_get_bufferevent(evcon), err,
			    errlen);
		rc = HTTPC_FAILED;
	}
out:
	if (req != NULL)
		evhttp_request_free(req);
	/* Pending requests are dropped without their callback. */
	if (evcon != NULL)
		evhttp_connection_free(evcon);
	if (bev != NULL)
		bufferevent_free(bev);
	SSL_free(ssl);
	if (dns != NULL)
		evdns_base_free(dns, 1);
	if (timer != NULL)
		event_free(timer);
	if (base != NULL)
		event_base_free(base);
	if (uri != NULL)
		evhttp_uri_free(uri);
	free(target);
	free(x.body);
	/* TLS errors of this exchange are explained above, not left for
	 * the next request's log_openssl(). */
	ERR_clear_error();
	return rc;
}
