/*
 * Routing: /scep and /scep/pkiclient.exe (per profile, and a profile's
 * own "path": conf_profile_at(), server/conf.c), the admin API,
 * mscep_admin and the revocation endpoints.  The same table runs twice
 * for what needs the database or a validator: on the event loop, where
 * the handler only says so (reply_to_pool(), server/scepd.h), and again
 * on a pool thread, which answers it.  GetCACaps, GetCACert,
 * GetNextCACert, cached CRLs and every refusal of a malformed request are
 * answered on the loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api/api.h"
#include "server/api/api_lifecycle.h"
#include "server/api/mscep_admin.h"
#include "server/http/route.h"
#include "server/log.h"
#include "server/query.h"
#include "server/revocation/responder.h"
#include "server/scep/pkioperation.h"

/* The message of a PKIOperation, POST body or GET message=. */
static void
pkioperation(struct worker *w, struct conf_profile *prof,
    const struct request *rq, const struct scep_query *q, struct reply *r)
{
	const char	*peer = rq->peer;
	unsigned char	*der = NULL;	/* owned, GET only */
	long		 n;

	if (rq->method == EVHTTP_REQ_POST) {
		/* Any or no Content-Type: the body is the DER message. */
		if (rq->body_len == 0) {
			log_repeat(rq->addr, "%s PKIOperation: empty POST body -> 400",
			    rq->addr);
			reply_text(r, 400, "empty PKIOperation body\n");
			return;
		}
		if (reply_to_pool(w, r))
			return;
		scep_pkioperation(w, prof, rq->body, rq->body_len, peer, r);
		return;
	}
	if (q->message == NULL || q->message_len == 0) {
		log_repeat(rq->addr, "%s PKIOperation: GET without message "
		    "-> 400", rq->addr);
		reply_text(r, 400, "PKIOperation by GET needs message=\n");
		return;
	}
	if ((n = scep_base64_decode(q->message, q->message_len, &der)) <= 0) {
		log_repeat(rq->addr, "%s PKIOperation: message is not base64 "
		    "-> 400", rq->addr);
		reply_text(r, 400, "message is not base64\n");
		return;
	}
	if (n > w->srv->conf->max_body) {
		free(der);
		log_repeat(rq->addr, "%s PKIOperation: GET message over %d "
		    "bytes -> 413", rq->addr, w->srv->conf->max_body);
		reply_text(r, 413, "message too large\n");
		return;
	}
	if (!reply_to_pool(w, r))
		scep_pkioperation(w, prof, der, (size_t)n, peer, r);
	free(der);
}

/* The SCEP operations of profile prof (RFC 8894 4). */
static void
scep_operation(struct worker *w, struct conf_profile *prof,
    const struct request *rq, struct reply *r)
{
	const char		*peer = rq->peer, *op;
	const unsigned char	*der;
	struct scep_query	 q;
	char			 err[128];

	memset(&q, 0, sizeof(q));
	if (rq->method != EVHTTP_REQ_GET && rq->method != EVHTTP_REQ_POST) {
		log_repeat(rq->addr, "%s: method not allowed -> 405", rq->addr);
		reply_text(r, 405, "only GET and POST\n");
		return;
	}
	if (scep_query_parse(rq->query, &q, err, sizeof(err)) == -1) {
		log_repeat(rq->addr, "%s: %s -> 400", rq->addr, err);
		reply_text(r, 400, "malformed query string\n");
		return;
	}
	if ((op = q.operation) == NULL) {
		log_repeat(rq->addr, "%s: no operation -> 400", rq->addr);
		reply_text(r, 400, "missing operation=\n");
	/* RFC 8894 4.1: operation names are case-sensitive. */
	} else if (strcmp(op, "GetCACaps") == 0) {
		r->status = 200;
		r->content_type = "text/plain";
		r->body = (unsigned char *)prof->caps;
		r->len = strlen(prof->caps);
		log_served(LOG_SERVED_GETCACAPS);
		log_debug("%s GetCACaps %s -> 200", peer, prof->policy.name);
	} else if (strcmp(op, "GetCACert") == 0) {
		r->status = 200;
		p7_ca_getcacert(prof->ca, &der, &r->len, &r->content_type);
		r->body = (unsigned char *)(uintptr_t)der;
		log_served(LOG_SERVED_GETCACERT);
		log_debug("%s GetCACert %s -> 200 %s", peer, prof->policy.name,
		    r->content_type);
	} else if (strcmp(op, "GetNextCACert") == 0) {
		/* RFC 8894 4.7: signed by the current RA/CA (pkcs7/nextca.c). */
		if (p7_ca_getnextcacert(prof->ca, &der, &r->len) == 0) {
			r->status = 200;
			r->content_type = "application/x-x509-next-ca-cert";
			r->body = (unsigned char *)(uintptr_t)der;
			log_served(LOG_SERVED_GETCACERT);
			log_debug("%s GetNextCACert %s -> 200", peer,
			    prof->policy.name);
		} else {
			log_repeat(rq->addr, "%s GetNextCACert %s: no next CA "
			    "configured -> 404", rq->addr, prof->policy.name);
			reply_text(r, 404, "no next CA certificate\n");
		}
	} else if (strcmp(op, "PKIOperation") == 0) {
		pkioperation(w, prof, rq, &q, r);
	} else {
		log_repeat(rq->addr, "%s: unknown operation -> 400", rq->addr);
		reply_text(r, 400, "unknown operation\n");
	}
	scep_query_clear(&q);
}

void
route(struct worker *w, const struct request *rq, struct reply *r)
{
	struct conf_profile	*prof;

	if (revocation_http(w, rq, r) || api_lifecycle(w, rq, r) ||
	    api_handle(w, rq, r) || mscep_handle(w, rq, r))
		return;
	if ((prof = conf_profile_at(w->srv->conf, rq->path)) == NULL) {
		log_repeat(rq->addr, "%s %s: unknown path -> 404", rq->addr,
		    rq->uri);
		reply_text(r, 404, "not found\n");
		return;
	}
	scep_operation(w, prof, rq, r);
}
