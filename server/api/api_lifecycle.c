/*
 * The relying-party and lifecycle API (bearer token, JSON):
 *
 *   PUT  /api/v1/devices/<id>                 {"state": "deactivated"}
 *   GET  /api/v1/devices/<id>
 *   POST /api/v1/bindings                     {"certificate": PEM | "serial": hex,
 *                                              "device_id": "..."}
 *   GET  /api/v1/certificates/<serial>
 *   POST /api/v1/certificates/<serial>/revoke {"reason": "keyCompromise"}
 *   POST /api/v1/certificates/<serial>/hold
 *   POST /api/v1/certificates/<serial>/release
 *
 * Every answer says whether the device counts as managed: certificate
 * valid, device active, certificate bound to that device.  A binding
 * naming a second device is a cloned credential: 409, logged, and (by
 * profile setting) the certificate is revoked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "server/api/api_common.h"
#include "server/api/api_lifecycle.h"
#include "server/api/api_parse.h"
#include "server/log.h"
#include "server/revocation/crl_cache.h"

#define DEVICES		"/api/v1/devices/"
#define BINDINGS	"/api/v1/bindings"
#define CERTS		"/api/v1/certificates/"
#define MAX_JSON	(64 * 1024)



/* The token's name in actor ("api:<name>"), or a 401 in *r: 0 or -1. */
static int
authorize(struct worker *w, const struct request *rq, char *actor,
    size_t len, const char *peer, struct reply *r)
{
	const char	*h;
	char		 tok[256], name[96], err[256];
	int		 rc;

	h = rq->authorization;
	if (h == NULL || api_parse_bearer(h, tok, sizeof(tok)) == -1) {
		log_info("%s %s: no bearer token -> 401", peer,
		    rq->uri);
		r->www_authenticate = "Bearer realm=\"scepd\"";
		api_json_error(r, 401, "bearer token required");
		return -1;
	}
	rc = api_token_auth(w, tok, name, sizeof(name), err, sizeof(err));
	OPENSSL_cleanse(tok, sizeof(tok));
	if (rc == -1) {
		log_warnx("%s API: database: %s -> 503", peer, err);
		api_json_error(r, 503, "database unavailable");
		return -1;
	}
	if (rc != 0) {
		log_info("%s %s: unknown or revoked token -> 401", peer,
		    rq->uri);
		r->www_authenticate = "Bearer realm=\"scepd\", error=\"invalid_token\"";
		api_json_error(r, 401, "invalid token");
		return -1;
	}
	snprintf(actor, len, "api:%s", name);
	return 0;
}

/* The request body as a JSON object, or a 400 in *r (NULL). */
static json_t *
body_json(const struct request *rq, int required, struct reply *r)
{
	size_t		 n = rq->body_len;
	json_error_t	 jerr;
	json_t		*j;

	if (n == 0 && !required)
		return json_object();
	if (n > MAX_JSON) {
		api_json_error(r, 413, "body too large");
		return NULL;
	}
	j = json_loadb((const char *)rq->body, n,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		api_json_error(r, 400, "body must be a JSON object");
		return NULL;
	}
	return j;
}

static char *
iso(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (t == 0)
		return NULL;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* A certificate's standing as JSON (null for what is unknown). */
static json_t *
standing_json(const struct db_cert_standing *s)
{
	char	t1[32], t2[32], t3[32], t4[32];
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:b}",
	    "serial", s->serial, "status", s->status,
	    "reason", s->reason >= 0 ? p7_crl_reason_name(s->reason) : NULL,
	    "revoked_at", iso(s->revoked_at, t1, sizeof(t1)),
	    "device_id", s->device_id[0] ? s->device_id : NULL,
	    "device_state", s->device_state[0] ? s->device_state : NULL,
	    "bound_at", iso(s->bound_at, t2, sizeof(t2)),
	    "last_used_at", iso(s->last_used_at, t3, sizeof(t3)),
	    "not_after", iso(s->not_after, t4, sizeof(t4)),
	    "managed", s->managed);
	if (o != NULL && s->clone_device_id[0])
		json_object_set_new(o, "clone_seen_on",
		    json_string(s->clone_device_id));
	return o;
}

static int
valid_id(const char *s, size_t n)
{
	if (n == 0 || n > 256)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f || s[i] == '/')
			return 0;
	return 1;
}

/* PUT|GET /api/v1/devices/<id> */
static void
devices(struct worker *w, const struct request *rq, const char *id,
    const char *actor, const char *peer, struct reply *r)
{
	enum evhttp_cmd_type	 cmd = rq->method;
	struct db_device	 d;
	json_t			*j = NULL, *st;
	char			 err[256], t1[32], t2[32];
	int			 changed;
	enum db_rc		 rc;

	if (!valid_id(id, strlen(id))) {
		api_json_error(r, 400, "bad device id");
		return;
	}
	if (cmd == EVHTTP_REQ_PUT) {
		if ((j = body_json(rq, 1, r)) == NULL)
			return;
		st = json_object_get(j, "state");
		if (!json_is_string(st)) {
			json_decref(j);
			api_json_error(r, 400, "\"state\" must be active, suspended, "
			    "deactivated or deleted");
			return;
		}
		rc = db_device_set_state(w->db, id, json_string_value(st), actor,
		    &changed, err, sizeof(err));
		if (rc == DB_NOT_FOUND || rc == DB_REFUSED || rc == DB_ERROR) {
			log_info("%s device %s -> %s: %s", peer, id,
			    json_string_value(st), rc == DB_NOT_FOUND ?
			    "unknown device" : err);
			json_decref(j);
			if (rc == DB_ERROR)
				api_json_error(r, 503, "database unavailable");
			else if (rc == DB_NOT_FOUND)
				api_json_error(r, 404, "no such device");
			else
				api_json_error(r, strstr(err, "unknown device state") ?
				    400 : 409, "state change not allowed");
			return;
		}
		log_info("%s device %s -> %s by %s: %d certificate(s) changed",
		    peer, id, json_string_value(st), actor, changed);
		if (changed > 0)
			crl_cache_forget(w->srv->crls);
		json_decref(j);
	} else if (cmd != EVHTTP_REQ_GET) {
		r->allow = "GET, PUT";
		api_json_error(r, 405, "GET or PUT");
		return;
	}
	rc = db_device_get(w->db, id, &d, err, sizeof(err));
	if (rc != DB_OK) {
		api_json_error(r, rc == DB_NOT_FOUND ? 404 : 503, rc == DB_NOT_FOUND ?
		    "no such device" : "database unavailable");
		return;
	}
	api_json_reply(r, 200, json_pack("{s:s, s:s, s:i, s:s, s:s}", "device_id",
	    d.id, "state", d.state, "certificates", d.certificates,
	    "created_at", iso(d.created_at, t1, sizeof(t1)),
	    "updated_at", iso(d.updated_at, t2, sizeof(t2))));
}

/* The serial of the "certificate" (PEM) or "serial" of a binding body. */
static int
binding_serial(struct worker *w, json_t *j, char serial[41], struct reply *r)
{
	json_t		*pem = json_object_get(j, "certificate");
	json_t		*sn = json_object_get(j, "serial");
	BIO		*bio;
	X509		*crt;
	unsigned char	*der = NULL;
	char		 err[256];
	int		 len;
	enum db_rc	 rc;

	if (json_is_string(sn) && strlen(json_string_value(sn)) < 41) {
		snprintf(serial, 41, "%s", json_string_value(sn));
		return 0;
	}
	if (!json_is_string(pem)) {
		api_json_error(r, 400,
		    "give \"certificate\" (PEM) or \"serial\" (hex)");
		return -1;
	}
	bio = BIO_new_mem_buf(json_string_value(pem), -1);
	crt = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (crt == NULL || (len = i2d_X509(crt, &der)) <= 0) {
		X509_free(crt);
		api_json_error(r, 400,
		    "\"certificate\" is not a PEM certificate");
		return -1;
	}
	X509_free(crt);
	/* By the whole DER: a look-alike with our serial is not ours. */
	rc = db_cert_serial_by_der(w->db, der, (size_t)len, serial, err,
	    sizeof(err));
	OPENSSL_free(der);
	if (rc == DB_NOT_FOUND) {
		api_json_error(r, 404, "not a certificate this CA issued");
		return -1;
	}
	if (rc == DB_ERROR) {
		api_json_error(r, 503, "database unavailable");
		return -1;
	}
	return 0;
}

/* POST /api/v1/bindings */
static void
bindings(struct worker *w, const struct request *rq, const char *actor,
    const char *peer, struct reply *r)
{
	struct db_cert_standing	 st;
	struct conf_profile	*p;
	enum db_bind_result	 res;
	json_t			*j, *dev, *o;
	char			 serial[41], err[256];
	int			 revoke = 1;
	enum db_rc		 rc;

	if (rq->method != EVHTTP_REQ_POST) {
		r->allow = "POST";
		api_json_error(r, 405, "POST");
		return;
	}
	if ((j = body_json(rq, 1, r)) == NULL)
		return;
	dev = json_object_get(j, "device_id");
	if (!json_is_string(dev) || !valid_id(json_string_value(dev),
	    strlen(json_string_value(dev)))) {
		json_decref(j);
		api_json_error(r, 400,
		    "\"device_id\" must be a non-empty string");
		return;
	}
	if (binding_serial(w, j, serial, r) == -1) {
		json_decref(j);
		return;
	}
	/* The certificate's profile decides what a clone costs it. */
	if ((rc = db_cert_standing(w->db, serial, &st, err, sizeof(err))) !=
	    DB_OK) {
		json_decref(j);
		api_json_error(r, rc == DB_NOT_FOUND ? 404 : 503, rc == DB_NOT_FOUND ?
		    "no such certificate" : "database unavailable");
		return;
	}
	if ((p = conf_profile(w->srv->conf, st.profile, strlen(st.profile))) != NULL)
		revoke = p->revoke_on_clone;
	rc = db_cert_bind(w->db, serial, json_string_value(dev), revoke, actor,
	    &res, &st, err, sizeof(err));
	if (rc != DB_OK) {
		json_decref(j);
		api_json_error(r, rc == DB_NOT_FOUND ? 404 : 503, rc == DB_NOT_FOUND ?
		    "no such certificate" : "database unavailable");
		return;
	}
	if (res == DB_BIND_CLONE && revoke)
		crl_cache_forget(w->srv->crls);
	if (res == DB_BIND_CLONE)
		log_warnx("%s binding: certificate %s is bound to device %s but "
		    "was presented on %s: cloned credential%s", peer, serial,
		    st.device_id, json_string_value(dev),
		    revoke ? ", certificate revoked" : "");
	else
		log_info("%s binding: certificate %s on device %s (%s)", peer,
		    serial, json_string_value(dev), res == DB_BIND_NEW ?
		    "bound now" : "already bound");
	o = standing_json(&st);
	if (o != NULL)
		json_object_set_new(o, "binding", json_string(res == DB_BIND_NEW ?
		    "new" : res == DB_BIND_SAME ? "same" : "clone"));
	json_decref(j);
	api_json_reply(r, res == DB_BIND_CLONE ? 409 : 200, o);
}

/* GET /api/v1/certificates/<serial>, POST .../revoke|hold|release */
static void
certificates(struct worker *w, const struct request *rq, const char *rest,
    const char *actor, const char *peer, struct reply *r)
{
	enum evhttp_cmd_type	 cmd = rq->method;
	struct db_cert_standing	 st;
	enum db_cert_action	 a;
	const char		*slash = strchr(rest, '/'), *verb;
	json_t			*j, *rs;
	char			 serial[41], err[256];
	int			 reason = 0, changed;
	enum db_rc		 rc;

	if ((size_t)(slash ? slash - rest : (long)strlen(rest)) >= sizeof(serial)) {
		api_json_error(r, 404, "no such certificate");
		return;
	}
	snprintf(serial, sizeof(serial), "%.*s",
	    (int)(slash ? slash - rest : (long)strlen(rest)), rest);
	if (slash != NULL) {
		verb = slash + 1;
		if (strcmp(verb, "revoke") == 0)
			a = DB_CERT_REVOKE;
		else if (strcmp(verb, "hold") == 0)
			a = DB_CERT_HOLD;
		else if (strcmp(verb, "release") == 0)
			a = DB_CERT_RELEASE;
		else {
			api_json_error(r, 404, "no such API path");
			return;
		}
		if (cmd != EVHTTP_REQ_POST) {
			r->allow = "POST";
			api_json_error(r, 405, "POST");
			return;
		}
		if ((j = body_json(rq, 0, r)) == NULL)
			return;
		rs = json_object_get(j, "reason");
		if (a == DB_CERT_REVOKE && rs != NULL && (!json_is_string(rs) ||
		    p7_crl_reason_from_name(json_string_value(rs), &reason) == -1 ||
		    reason == P7_CRL_REASON_CERTIFICATE_HOLD)) {
			json_decref(j);
			api_json_error(r, 400, "\"reason\" must be an RFC 5280 reason "
			    "name such as keyCompromise (hold has its own call)");
			return;
		}
		json_decref(j);
		rc = db_cert_set_status(w->db, serial, a, reason, actor, &changed,
		    err, sizeof(err));
		if (rc != DB_OK) {
			log_info("%s certificate %s %s: %s", peer, serial, verb,
			    rc == DB_NOT_FOUND ? "unknown" : err);
			api_json_error(r, rc == DB_NOT_FOUND ? 404 : rc == DB_REFUSED ?
			    409 : 503, rc == DB_NOT_FOUND ? "no such certificate" :
			    rc == DB_REFUSED ? "not possible in its state" :
			    "database unavailable");
			return;
		}
		log_info("%s certificate %s %s by %s%s", peer, serial, verb,
		    actor, changed ? "" : " (unchanged)");
		if (changed)
			crl_cache_forget(w->srv->crls);
	} else if (cmd != EVHTTP_REQ_GET) {
		r->allow = "GET";
		api_json_error(r, 405, "GET");
		return;
	}
	rc = db_cert_standing(w->db, serial, &st, err, sizeof(err));
	if (rc != DB_OK) {
		api_json_error(r, rc == DB_NOT_FOUND ? 404 : 503, rc == DB_NOT_FOUND ?
		    "no such certificate" : "database unavailable");
		return;
	}
	api_json_reply(r, 200, standing_json(&st));
}

int
api_lifecycle(struct worker *w, const struct request *rq, struct reply *r)
{
	const char	*path = rq->path, *peer = rq->peer;
	char		 actor[128];
	int		 which;

	if (path == NULL)
		return 0;
	if (strncmp(path, DEVICES, strlen(DEVICES)) == 0)
		which = 0;
	else if (strcmp(path, BINDINGS) == 0)
		which = 1;
	else if (strncmp(path, CERTS, strlen(CERTS)) == 0)
		which = 2;
	else
		return 0;
	if (reply_to_pool(w, r))
		return 1;
	reply_header(r, "Cache-Control", "no-store");
	if (authorize(w, rq, actor, sizeof(actor), peer, r) == -1)
		return 1;
	switch (which) {
	case 0:
		devices(w, rq, path + strlen(DEVICES), actor, peer, r);
		break;
	case 1:
		bindings(w, rq, actor, peer, r);
		break;
	default:
		certificates(w, rq, path + strlen(CERTS), actor, peer, r);
		break;
	}
	return 1;
}
