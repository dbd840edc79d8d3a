/*
 * Revocation status for relying parties: the CRL of each CA over HTTP
 * (<base>/crl/<profile>.crl) and through SCEP GetCRL, and the OCSP
 * responder (/ocsp, RFC 6960, GET and POST).
 *
 * Both read PostgreSQL, so a status change made by any scepd process or
 * by scepctl is seen at once: OCSP looks each serial up, and a CRL is
 * made anew whenever the issuer's change counter (bumped by a trigger on
 * every status change) moved since the stored CRL, or the stored one is
 * past half its life.  One process at a time makes a CRL (row lock); the
 * CRL number only grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "server/log.h"
#include "server/query.h"
#include "server/scepd.h"

/* OCSP answers say how long they may be trusted: an hour at most. */
#define OCSP_VALIDITY	3600

/*
 * One key of a profile's CA as the database keys its state: the current
 * one, or the one it replaced (ca.previous_cert), which still answers
 * for the certificates it signed (RFC 5280 3.5 and 5: until they expire,
 * their CRL is signed by the key that signed them).
 */
struct ca_key {
	const struct p7_ca	*ca;		/* NULL: no such key */
	const char		*issuer;	/* p7_ca_issuer_text */
	const char		*key;		/* p7_ca_key_text */
	const struct p7_ocsp_signer *ocsp_signer; /* NULL: the CA key */
	const char		*what;		/* "" or " (previous CA)" */
};

static struct ca_key
current_key(const struct conf_profile *p)
{
	struct ca_key	k = { p->ca, p->issuer, p->ca_key_id, p->ocsp_signer,
			    "" };

	return k;
}

/* The delegated OCSP signer is the current CA's: the old key signs. */
static struct ca_key
previous_key(const struct conf_profile *p)
{
	struct ca_key	k = { p->prev_ca, p->prev_issuer, p->prev_key_id, NULL,
			    " (previous CA)" };

	return k;
}

/*
 * Every CA key in turn: key j is profile j / 2's current key for an even
 * j, its previous key for an odd j.  Returns the profile, or NULL when it
 * has no such key.
 */
static struct conf_profile *
nth_key(const struct conf *c, int j, struct ca_key *k)
{
	struct conf_profile	*p = &c->profiles[j / 2];

	*k = j % 2 == 0 ? current_key(p) : previous_key(p);
	return k->ca != NULL ? p : NULL;
}
#define NKEYS(c)	(2 * (c)->nprofiles)

/* 1 if the stored CRL reflects every status change and is in its first half. */
static int
crl_current(const struct db_crl *crl, time_t now, time_t life)
{
	return crl->der != NULL && crl->generated_changes == crl->changes &&
	    crl->next_update - now >= life / 2;
}

/*
 * Sign the next CRL of CA key k from the state db_crl_begin() read, into
 * *der (OPENSSL_malloc'd).  Returns 0 or -1 with err; never ends the
 * transaction.
 */
static int
crl_sign(const struct ca_key *k, const struct db_crl *crl, time_t now,
    time_t life, unsigned char **der, size_t *len, char *err, size_t errlen)
{
	struct p7_crl_entry	*e = NULL;	/* owned */
	int			 rc;

	if (crl->nentries > 0 && (e = calloc(crl->nentries,
	    sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < crl->nentries; i++) {
		e[i].serial = crl->entries[i].serial;
		e[i].revoked_at = crl->entries[i].revoked_at;
		e[i].reason = crl->entries[i].reason;
	}
	rc = p7_crl_sign(k->ca, e, crl->nentries,
	    (uint64_t)crl->crl_number + 1, now, now + life, der, len, err,
	    errlen);
	free(e);
	return rc;
}

/*
 * A fresh CRL of CA key k into *der (malloc'd), with its number and
 * nextUpdate.  The stored CRL is the key's own (db/crl.c keys it by the
 * CA's name and key), so a re-keyed CA never serves one its old key
 * signed.  Returns 0 or -1 with err.
 */
static int
crl_fresh(struct worker *w, const struct ca_key *k, unsigned char **der,
    size_t *len, long long *number, time_t *this_update, time_t *next_update,
    char *err, size_t errlen)
{
	struct db_crl		 crl;
	unsigned char		*signed_der = NULL; /* owned, OPENSSL_malloc */
	time_t			 now = time(NULL);
	time_t			 life = (time_t)w->srv->conf->crl_validity_hours * 3600;
	int			 made, rc = -1;

	*der = NULL;
	if (db_crl_get(w->db, k->issuer, k->key, &crl, err, errlen) == -1)
		return -1;
	if (!crl_current(&crl, now, life)) {
		db_crl_clear(&crl);
		/* Under the row lock: another process may have just made it. */
		if (db_crl_begin(w->db, k->issuer, k->key, &crl, err,
		    errlen) == -1)
			return -1;
		if (crl_current(&crl, now, life))
			made = 0;	/* made meanwhile */
		else if (crl_sign(k, &crl, now, life, &signed_der, len, err,
		    errlen) == 0 && db_crl_store(w->db, k->issuer, k->key,
		    crl.crl_number + 1, crl.changes, signed_der, *len, now,
		    now + life, err, errlen) == 0)
			made = 1;
		else
			made = -1;
		/*
		 * The one end of this transaction: db_crl_store() stored the
		 * new CRL and committed; anything else is rolled back.
		 */
		if (made != 1)
			db_rollback(w->db);
		if (made == -1)
			goto out;
		if (made == 1) {
			log_info("CRL %lld of \"%s\"%s: %zu entr%s",
			    crl.crl_number + 1, k->issuer, k->what,
			    crl.nentries, crl.nentries == 1 ? "y" : "ies");
			db_crl_clear(&crl);
			if (db_crl_get(w->db, k->issuer, k->key, &crl, err,
			    errlen) == -1)
				goto out;
		}
	}
	if (crl.der == NULL) {
		snprintf(err, errlen, "no CRL stored");
		goto out;
	}
	*der = crl.der;
	*len = crl.der_len;
	crl.der = NULL;
	*number = crl.crl_number;
	*next_update = crl.next_update;
	*this_update = crl.next_update - life;
	rc = 0;
out:
	OPENSSL_free(signed_der);
	db_crl_clear(&crl);
	return rc;
}

/*
 * The profile and CA key a CRL path names: <profile>.crl the current
 * key's, <profile>.previous.crl the previous key's.  NULL if none.
 */
static struct conf_profile *
crl_lookup(const struct conf *c, const char *name, size_t namelen,
    struct ca_key *k)
{
	static const char	 prev[] = ".previous";
	struct conf_profile	*p;
	size_t			 plen = sizeof(prev) - 1;

	if ((p = conf_profile(c, name, namelen)) != NULL) {
		*k = current_key(p);
		return p;
	}
	if (namelen > plen && memcmp(name + namelen - plen, prev, plen) == 0 &&
	    (p = conf_profile(c, name, namelen - plen)) != NULL &&
	    p->prev_ca != NULL) {
		*k = previous_key(p);
		return p;
	}
	return NULL;
}

/* GET <base>/crl/<profile>[.previous].crl: DER, with caching headers. */
static void
crl_http(struct worker *w, struct evhttp_request *req, const char *name,
    size_t namelen, const char *peer, struct reply *r)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct conf_profile	*p;
	struct ca_key		 k;
	unsigned char		*der;
	const char		*inm;
	long long		 number;
	time_t			 this_update, next_update, now = time(NULL);
	size_t			 len;
	struct tm		 tm;
	char			 err[256], etag[40], date[64], cc[64];
	long			 maxage;

	if ((p = crl_lookup(w->srv->conf, name, namelen, &k)) == NULL) {
		log_info("%s CRL: no profile %.*s -> 404", peer, (int)namelen, name);
		reply_text(r, 404, "no such CRL\n");
		return;
	}
	if (crl_fresh(w, &k, &der, &len, &number, &this_update, &next_update,
	    err, sizeof(err)) == -1) {
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
	snprintf(etag, sizeof(etag), "\"crl-%lld\"", number);
	maxage = next_update - now < 60 ? (long)(next_update - now) : 60;
	snprintf(cc, sizeof(cc), "public, max-age=%ld", maxage > 0 ? maxage : 0);
	evhttp_add_header(h, "ETag", etag);
	evhttp_add_header(h, "Cache-Control", cc);
	gmtime_r(&this_update, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evhttp_add_header(h, "Last-Modified", date);
	gmtime_r(&next_update, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evhttp_add_header(h, "Expires", date);
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		free(der);
		log_info("%s CRL %s%s %lld -> 304", peer, p->policy.name,
		    k.what, number);
		r->status = 304;
		return;
	}
	log_info("%s CRL %s%s %lld -> 200", peer, p->policy.name, k.what,
	    number);
	r->status = 200;
	r->content_type = "application/pkix-crl";
	r->body = der;
	r->len = len;
	r->free_body = 2;
}

/* The answer for one OCSP CertID of CA key k. */
static int
ocsp_status(struct worker *w, const struct ca_key *k, const char *serial,
    struct p7_ocsp_status *st, char *err, size_t errlen)
{
	struct db_cert_standing	 s;
	time_t			 now = time(NULL);
	int			 rc;

	memset(st, 0, sizeof(*st));
	st->this_update = now;
	st->next_update = now + OCSP_VALIDITY;
	st->status = P7_OCSP_UNKNOWN;
	if (serial == NULL)
		return 0;
	if ((rc = db_cert_standing(w->db, serial, &s, err, errlen)) == -1)
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
    const char *peer, struct reply *r)
{
	struct p7_ocsp_status	*st = NULL;	/* owned */
	struct p7_ocsp_req	*oreq = NULL;	/* owned */
	struct conf_profile	*p = NULL, *q;
	const struct conf	*c = w->srv->conf;
	struct ca_key		 k;
	unsigned char		*out;
	size_t			 n, outlen, i;
	char			 err[256] = "";
	int			 parsed = 0;

	for (int j = 0; j < NKEYS(c) && p == NULL; j++) {
		if ((q = nth_key(c, j, &k)) == NULL)
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
		log_info("%s OCSP: malformed request (%s) -> malformedRequest",
		    peer, err);
		ocsp_error(r, P7_OCSP_MALFORMED_REQUEST);
		goto out;
	}
	if (p == NULL) {
		/* RFC 6960 2.3: not a CA we answer for. */
		log_info("%s OCSP: no CertID of our CAs -> unauthorized", peer);
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
		log_warnx("%s OCSP: %s -> internalError", peer, err);
		ocsp_error(r, P7_OCSP_INTERNAL_ERROR);
		goto out;
	}
	log_info("%s OCSP %s%s: %s%s -> %s", peer, p->policy.name, k.what,
	    p7_ocsp_req_serial(oreq, 0) ? p7_ocsp_req_serial(oreq, 0) : "?",
	    n > 1 ? " and more" : "", st[0].status == P7_OCSP_GOOD ? "good" :
	    st[0].status == P7_OCSP_REVOKED ? "revoked" : "unknown");
	ocsp_reply(r, out, outlen);
out:
	free(st);
	p7_ocsp_req_free(oreq);
}

int
revocation_http(struct worker *w, struct evhttp_request *req, const char *path,
    const char *peer, struct reply *r)
{
	const struct conf	*c = w->srv->conf;
	struct evbuffer		*in;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
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
		crl_http(w, req, name, nlen - 4, peer, r);
		return 1;
	}
	if (strcmp(path, "/ocsp") != 0 && strncmp(path, "/ocsp/", 6) != 0)
		return 0;
	if (cmd == EVHTTP_REQ_POST) {
		in = evhttp_request_get_input_buffer(req);
		ocsp_answer(w, evbuffer_pullup(in, -1), evbuffer_get_length(in),
		    peer, r);
		return 1;
	}
	if (cmd != EVHTTP_REQ_GET) {
		reply_text(r, 405, "only GET and POST\n");	/* Allow: GET, POST */
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
		log_info("%s OCSP: GET path is not base64 -> malformedRequest",
		    peer);
		ocsp_error(r, P7_OCSP_MALFORMED_REQUEST);
		return 1;
	}
	ocsp_answer(w, der, (size_t)dlen, peer, r);
	free(der);
	return 1;
}

/*
 * The CRL a GetCRL wants (RFC 8894 4.6: that of the CA which issued the
 * named certificate): the previous key's for a certificate it signed,
 * else the current key's.
 */
static struct ca_key
getcrl_key(struct scep_ctx *c)
{
	const struct conf_profile	*p = c->prof;
	struct db_cert_standing		 s;
	const ASN1_INTEGER		*sn = p7_req_get0_serial(c->req);
	BIGNUM				*bn = NULL;	/* owned */
	char				*hex = NULL;	/* owned */
	char				 err[256];
	int				 prev = 0;

	if (p->prev_ca != NULL && sn != NULL &&
	    (bn = ASN1_INTEGER_to_BN(sn, NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL &&
	    db_cert_standing(c->w->db, hex, &s, err, sizeof(err)) == 0)
		prev = strcmp(s.issuer, p->prev_issuer) == 0 &&
		    strcmp(s.ca_key, p->prev_key_id) == 0;
	OPENSSL_free(hex);
	BN_free(bn);
	return prev ? previous_key(p) : current_key(p);
}

void
revocation_getcrl(struct scep_ctx *c, struct reply *r)
{
	const X509_NAME	*issuer = p7_req_get0_issuer(c->req);
	struct ca_key	 k;
	unsigned char	*crl = NULL, *der = NULL;
	long long	 number;
	time_t		 tu, nu;
	size_t		 crllen, len;
	char		 err[256];

	/* RFC 8894 4.6: the CRL of the CA that issued the named certificate. */
	if (!p7_ca_is_own_name(c->prof->ca, issuer) && (c->prof->prev_ca ==
	    NULL || !p7_ca_is_own_name(c->prof->prev_ca, issuer))) {
		log_info("%s GetCRL %s: issuer is not this CA -> FAILURE "
		    "badCertId", c->peer, p7_req_get0_transaction_id(c->req));
		enroll_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID, NULL, r);
		return;
	}
	k = getcrl_key(c);
	if (crl_fresh(c->w, &k, &crl, &crllen, &number, &tu, &nu, err,
	    sizeof(err)) == -1) {
		log_warnx("%s GetCRL %s: %s -> 503", c->peer,
		    p7_req_get0_transaction_id(c->req), err);
		reply_text(r, 503, "CRL unavailable, retry later\n");
		return;
	}
	if (p7_certrep_crl(c->prof->ca, c->req, crl, crllen, &der, &len) == -1) {
		free(crl);
		log_openssl("GetCRL");
		reply_text(r, 500, "internal error\n");
		return;
	}
	free(crl);
	log_info("%s GetCRL %s: CRL %lld%s -> SUCCESS", c->peer,
	    p7_req_get0_transaction_id(c->req), number, k.what);
	r->status = 200;
	r->content_type = "application/x-pki-message";
	r->body = der;
	r->len = len;
	r->free_body = 1;
}

void
revocation_periodic(struct worker *w)
{
	const struct conf	*c = w->srv->conf;
	const struct conf_profile *p;
	struct ca_key		 k;
	unsigned char		*der;
	long long		 number;
	time_t			 tu, nu;
	size_t			 len;
	char			 err[256];

	/*
	 * Keep every CA key's CRL fresh even when nobody fetches it, the
	 * previous key's too while it is configured.
	 */
	for (int j = 0; j < NKEYS(c); j++) {
		if ((p = nth_key(c, j, &k)) == NULL)
			continue;
		if (crl_fresh(w, &k, &der, &len, &number, &tu, &nu, err,
		    sizeof(err)) == -1)
			log_warnx("CRL of profile %s%s: %s", p->policy.name,
			    k.what, err);
		else
			free(der);
	}
}
