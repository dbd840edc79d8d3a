/*
 * The short text answers every handler gives for bad input (400, 404,
 * ...) and for our own faults (500, 503), and sending a struct reply.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>

#include "server/scepd.h"

void
reply_text(struct reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain";
	r->body = (unsigned char *)(uintptr_t)text;
	r->len = strlen(text);
	r->free_body = 0;
	r->delivers[0] = '\0';
}

void
reply_header(struct reply *r, const char *name, const char *value)
{
	if (r->nhdr == REPLY_HEADERS)
		return;
	r->hdr[r->nhdr].name = name;
	snprintf(r->hdr[r->nhdr].value, sizeof(r->hdr[0].value), "%s", value);
	r->nhdr++;
}

void
reply_clear(struct reply *r)
{
	if (r->free_body == 1)
		OPENSSL_free(r->body);
	else if (r->free_body == 2)
		free(r->body);
	r->body = NULL;
	r->free_body = 0;
}

void
reply_send(struct evhttp_request *req, struct reply *r)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if (r->status == 405)
		evhttp_add_header(h, "Allow", r->allow ? r->allow : "GET, POST");
	if (r->www_authenticate != NULL)
		evhttp_add_header(h, "WWW-Authenticate", r->www_authenticate);
	/* Transient: the client retries the same request later. */
	if (r->status == 503)
		evhttp_add_header(h, "Retry-After", "10");
	if (r->close)
		evhttp_add_header(h, "Connection", "close");
	for (int i = 0; i < r->nhdr; i++)
		evhttp_add_header(h, r->hdr[i].name, r->hdr[i].value);
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
	reply_clear(r);
}
