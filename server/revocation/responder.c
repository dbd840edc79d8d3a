/*
 * Revocation status for relying parties: the CRL of each CA over HTTP
 * (<base>/crl/<profile>.crl; SCEP GetCRL is server/scep/getcrl.c) and
 * the OCSP responder (/ocsp, RFC 6960, GET and POST).
 *
 * OCSP looks each serial up in PostgreSQL, on a pool thread, so a
 * status change made by any scepd process or by scepctl is seen at once.
 * A CRL comes from the cache on the loop (crl_cache.c: current within a
 * second of a change made elsewhere, at once for one made here), or else
 * from the database on a pool thread, made anew when stale (crl.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "server/log.h"
#include "server/query.h"
#include "server/revocation/crl.h"
#include "server/revocation/crl_cache.h"
#include "server/revocation/responder.h"

/* OCSP answers say how long they may be trusted: an hour at most. */
#define OCSP_VALIDITY	3600

static void
http_date(struct reply *r, const char *name, time_t t)
{
	struct tm	tm;
	char		date[64];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	reply_header(r, name, date);
}

/* GET <base>/crl/<profile>[.previous].crl: DER, with caching headers. */
static void
crl_http(struct worker *w, const struct request *rq, const char *name,
    size_t namelen, struct reply *r)
{
	const struct conf	*c = w->srv->conf;
	const char		*peer = rq->peer;
	struct conf_profile	*p;
	struct ca_key		 k;
	struct crl_der		 crl;
	time_t			 now = time(NULL);
	char			 err[256], etag[40], cc[64];
	long			 maxage;

	memset(&crl, 0, sizeof(crl));
	if ((p = crl_lookup(c, name, namelen, &k)) == NULL) {
		log_repeat(rq->addr, "%s CRL: no profile %.*s -> 404",
		    rq->addr, (int)namelen, name);
		reply_text(r, 404, "no such CRL\n");
		return;
	}
	if (crl_cache_get(w->srv->crls, k.key, now,
	    (time_t)c->crl_validity_hours * 3600, &crl) == -1 &&
	    reply_to_pool(w, r))
		return;
	if (crl.der == NULL && crl_fresh(w, &k, &crl, err, sizeof(err)) == -1) {
		log_openssl("CRL");
		log_warnx("%s CRL %s%s: %s -> 503", peer, p->policy.name,
		    k.what, err);
		reply_text(r, 503, "CRL unavailable, retry later\n");
		return;
	}
	/*
	 * Caches may keep it a minute at most: a status change must reach
	 * relying parties quickly, and a new CRL is made at once.
	 */
	snprintf(etag, sizeof(etag), "\"crl-%lld\"", crl.number);
	maxage = crl.next_update - now < 60 ? (long)(crl.next_update - now) :
	    60;
	snprintf(cc, sizeof(cc), "public, max-age=%ld", maxage > 0 ? maxage : 0);
	reply_header(r, "ETag", etag);
	reply_header(r, "Cache-Control", cc);
	http_date(r, "Last-Modified", crl.this_update);
	http_date(r, "Expires", crl.next_update);
	if (rq->if_none_match != NULL && strcmp(rq->if_none_match, etag) == 0) {
		free(crl.der);
		log_served(LOG_SERVED_CRL);
		log_debug("%s CRL %s%s %lld -> 304", peer, p->policy.name,
		    k.what, crl.number);
		r->status = 304;
		return;
	}
	log_served(LOG_SERVED_CRL);
	log_debug("%s CRL %s%s %lld -> 200", peer, p->policy.name, k.what,
	    crl.number);
	r->status = 200;
	r->content_type = "application/pkix-crl";
	r->body = crl.der;
	r->len = crl.len;
	r->free_body = 2;
}

/* The answer for one OCSP CertID of CA key k. */
static int
ocsp_status(struct worker *w, const struct ca_key *k, const char *serial,
    struct p7_ocsp_status *st, char *err, size_t errlen)
{
	struct db_cert_standing	 s;
	time_t			 now = time(NULL);
	enum db_rc		 rc;

	memset(st, 0, sizeof(*st));
	st->this_update = now;
	st->next_update = now + OCSP_VALIDITY;
	st->status = P7_OCSP_UNKNOWN;
	if (serial == NULL)
		return 0;
	if ((rc = db_cert_standing(w->db, serial, &s, err, errlen)) ==
	    DB_ERROR)
		return -1;
	/*
	 * A serial of another CA of ours, or of another key of this CA's
	 * name, is not this key's to answer.  A certificate recorded without
	 * its CA key (before 007_ca_key.sql) goes by the name.
	 */
	if (rc == DB_NOT_FOUND || strcmp(s.issuer, k->issuer) != 0 ||
	    (s.ca_key[0] != '\0' && strcmp(s.ca_key, k->key) != 0))
		return 0;
	if (strcmp(s.status, "valid") == 0)
		st->status = P7_OCSP_GOOD;
	else {
		st->status = P7_OCSP_REVOKED;
		st->revoked_at = s.revoked_at;
		st->reason = s.reason >= 0 ? s.reason : P7_CRL_REASON_NONE;
	}
	return 0;
}

static void
ocsp_reply(struct reply *r, unsigned char *der, size_t len)
{
	r->status = 200;
	r->content_type = "application/ocsp-response";
	r->body = der;
	r->len = len;
	r->free_body = 1;
}

static void
ocsp_error(struct reply *r, enum p7_ocsp_resp_status st)
{
	unsigned char	*der;
	size_t		 len;

	if (p7_ocsp_error(st, &der, &len) == -1) {
		reply_text(r, 500, "internal error\n");
		return;
	}
	ocsp_reply(r, der, len);
}

/*
 * Answer one DER OCSPRequest: the first CA key whose name and key hashes
 * the request's CertIDs carry answers it, current or previous key of any
 * profile (profiles sharing a CA give the same answer), signed by that
 * key (or the current key's delegated signer).
 */
static void
ocsp_answer(struct worker *w, const unsigned char *der, size_t len,
    const struct request *rq, struct reply *r)
{
	const char		*peer = rq->peer;
	struct p7_ocsp_status	*st = NULL;	/* owned */
	struct p7_ocsp_req	*oreq = NULL;	/* owned */
	struct conf_profile	*p = NULL, *q;
	const struct conf	*c = w->srv->conf;
	struct ca_key		 k;
	unsigned char		*out;
	size_t			 n, outlen, i;
	char			 err[256] = "";
	int			 parsed = 0;

	for (int j = 0; j < CA_NKEYS(c) && p == NULL; j++) {
		if ((q = ca_key_nth(c, j, &k)) == NULL)
			continue;
		p7_ocsp_req_free(oreq);
		oreq = NULL;
		if (p7_ocsp_request_parse(k.ca, der, len, &oreq, err,
		    sizeof(err)) == -1)
			break;
		parsed = 1;
		for (i = 0; i < p7_ocsp_req_count(oreq); i++)
			if (p7_ocsp_req_ours(oreq, i))
				p = q;
	}
	if (!parsed) {
		log_repeat(rq->addr, "%s OCSP: malformed request (%s) -> "
		    "malformedRequest", rq->addr, err);
		ocsp_error(r, P7_OCSP_MALFORMED_REQUEST);
		goto out;
	}
	if (p == NULL) {
		/* RFC 6960 2.3: not a CA we answer for. */
		log_repeat(rq->addr, "%s OCSP: no CertID of our CAs -> "
		    "unauthorized", rq->addr);
		ocsp_error(r, P7_OCSP_UNAUTHORIZED);
		goto out;
	}
	n = p7_ocsp_req_count(oreq);
	if ((st = calloc(n, sizeof(*st))) == NULL) {
		ocsp_error(r, P7_OCSP_INTERNAL_ERROR);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (ocsp_status(w, &k, p7_ocsp_req_ours(oreq, i) ?
		    p7_ocsp_req_serial(oreq, i) : NULL, &st[i], err,
		    sizeof(err)) == -1) {
			log_warnx("%s OCSP: database: %s -> tryLater", peer, err);
			ocsp_error(r, P7_OCSP_TRY_LATER);
			goto out;
		}
	if (p7_ocsp_respond(k.ca, oreq, st, k.ocsp_signer, &out, &outlen, err,
	    sizeof(err)) == -1) {
		log_openssl("OCSP");
		/* RFC 6960 4.2.1: tryLater, the responder cannot sign now. */
		if (p7_remote_unavailable()) {
			log_warnx("%s OCSP: the signer is unavailable -> "
			    "tryLater", peer);
			ocsp_error(r, P7_OCSP_TRY_LATER);
			goto out;
		}
		log_warnx("%s OCSP: %s -> internalError", peer, err);
		ocsp_error(r, P7_OCSP_INTERNAL_ERROR);
		goto out;
	}
	log_served(LOG_SERVED_OCSP);
	log_debug("%s OCSP %s%s: %s%s -> %s", peer, p->policy.name, k.what,
	    p7_ocsp_req_serial(oreq, 0) ? p7_ocsp_req_serial(oreq, 0) : "?",
	    n > 1 ? " and more" : "", st[0].status == P7_OCSP_GOOD ? "good" :
	    st[0].status == P7_OCSP_REVOKED ? "revoked" : "unknown");
	ocsp_reply(r, out, outlen);
out:
	free(st);
	p7_ocsp_req_free(oreq);
}

int
revocation_http(struct worker *w, const struct request *rq, struct reply *r)
{
	const struct conf	*c = w->srv->conf;
	const char		*path = rq->path;
	enum evhttp_cmd_type	 cmd = rq->method;
	unsigned char		*der = NULL;
	const char		*rest, *name;
	size_t			 n = strlen(c->base_path), nlen;
	long			 dlen;

	if (path == NULL)
		return 0;
	/* <base>/crl/<profile>.crl */
	if (strncmp(path, c->base_path, n) == 0 &&
	    strncmp(path + n, "/crl/", 5) == 0) {
		name = path + n + 5;
		nlen = strlen(name);
		r->allow = "GET";
		if (cmd != EVHTTP_REQ_GET || nlen < 5 ||
		    strcmp(name + nlen - 4, ".crl") != 0) {
			reply_text(r, cmd != EVHTTP_REQ_GET ? 405 : 404,
			    cmd != EVHTTP_REQ_GET ? "only GET\n" : "not found\n");
			return 1;
		}
		crl_http(w, rq, name, nlen - 4, r);
		return 1;
	}
	if (strcmp(path, "/ocsp") != 0 && strncmp(path, "/ocsp/", 6) != 0)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
		reply_text(r, 405, "only GET and POST\n");	/* Allow: GET, POST */
		return 1;
	}
	/* Each answer looks its serials up. */
	if (reply_to_pool(w, r))
		return 1;
	if (cmd == EVHTTP_REQ_POST) {
		ocsp_answer(w, rq->body, rq->body_len, rq, r);
		return 1;
	}
	/* RFC 6960 A.1: GET /ocsp/<url-encoded base64 of the DER request>. */
	rest = path[5] == '/' ? path + 6 : "";
	{
		struct scep_query	 q;
		char			*query, qerr[64];

		/* Reuse the GET decoder: "message=" + the path's rest. */
		if ((query = malloc(strlen(rest) + 9)) == NULL) {
			reply_text(r, 500, "internal error\n");
			return 1;
		}
		snprintf(query, strlen(rest) + 9, "message=%s", rest);
		dlen = -1;
		if (scep_query_parse(query, &q, qerr, sizeof(qerr)) == 0 &&
		    q.message != NULL)
			dlen = scep_base64_decode(q.message, q.message_len, &der);
		scep_query_clear(&q);
		free(query);
	}
	if (dlen <= 0) {
		log_repeat(rq->addr, "%s OCSP: GET path is not base64 -> "
		    "malformedRequest", rq->addr);
		ocsp_error(r, P7_OCSP_MALFORMED_REQUEST);
		return 1;
	}
	ocsp_answer(w, der, (size_t)dlen, rq, r);
	free(der);
	return 1;
}



