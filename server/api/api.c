/*
 * The JSON admin API's challenge route (/api/v1/...; the lifecycle routes
 * are api_lifecycle.c, the NDES-style page mscep_admin.c).
 *
 *   POST /api/v1/profiles/<profile>/challenges
 *	Authorization: Bearer <token>; optional JSON body (api_parse.h).
 *	201 {"challenge", "profile", "expires_at", "device_id", ...};
 *	401 bad, unknown or revoked token; 404 unknown profile; 409 a
 *	profile that does not use one-time challenges; 400 bad JSON or
 *	binding; 413 body too large; 405 another method; 503 database.
 *
 * Every call logs one line; neither the token nor the challenge is ever
 * logged, and every mint writes an audit row.
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

#include "server/api/api.h"
#include "server/api/api_common.h"
#include "server/api/api_parse.h"
#include "server/api/challenge_mint.h"
#include "server/log.h"

#define API_PREFIX	"/api/"
#define MINT_PREFIX	"/api/v1/profiles/"
#define MINT_SUFFIX	"/challenges"

#define BEARER_CHALLENGE	"Bearer realm=\"scepd\""
#define BEARER_INVALID		"Bearer realm=\"scepd\", error=\"invalid_token\""

/* POST /api/v1/profiles/<name>/challenges */
static void
api_mint(struct worker *w, const struct request *rq, const char *name,
    size_t namelen, const char *path, const char *peer, struct reply *r)
{
	struct conf_profile	*p;
	struct api_mint		 m;
	json_t			*o;
	const char		*h, *data;
	char			 tok[128], who[API_NAME_MAX + 1], actor[80];
	char			 err[256] = "", chal[POLICY_CHALLENGE_LEN + 1];
	char			 exp_s[32], msg[160];
	long long		 id = 0;
	time_t			 exp;
	size_t			 len;
	int			 ttl, rc;

	memset(&m, 0, sizeof(m));
	chal[0] = '\0';
	if (rq->method != EVHTTP_REQ_POST) {
		log_info("%s %s: method not allowed -> 405", peer, path);
		r->allow = "POST";
		api_json_error(r, 405, "use POST");
		goto out;
	}
	/* Who asks comes first: no profile names for strangers. */
	h = rq->authorization;
	if (h == NULL || api_parse_bearer(h, tok, sizeof(tok)) == -1) {
		log_info("%s POST %s: no bearer token -> 401", peer, path);
		api_json_error(r, 401, "a bearer token is required");
		r->www_authenticate = BEARER_CHALLENGE;
		goto out;
	}
	if ((rc = api_token_auth(w, tok, who, sizeof(who), err, sizeof(err))) ==
	    -1) {
		log_warnx("%s POST %s: database: %s -> 503", peer, path, err);
		api_json_error(r, 503, "database unavailable, retry later");
		goto out;
	}
	if (rc == 1) {
		log_info("%s POST %s: unknown or revoked token -> 401", peer,
		    path);
		api_json_error(r, 401, "unknown or revoked token");
		r->www_authenticate = BEARER_INVALID;
		goto out;
	}
	if ((p = conf_profile(w->srv->conf, name, namelen)) == NULL) {
		log_info("%s POST %s: token %s: no such profile -> 404", peer,
		    path, who);
		api_json_error(r, 404, "no such profile");
		goto out;
	}
	/* The request is fine; the profile is not set up for it. */
	if (!challenge_mintable(p)) {
		log_info("%s POST %s: token %s: profile %s does not use "
		    "one-time challenges -> 409", peer, path, who,
		    p->policy.name);
		api_json_error(r, 409, "this profile does not use one-time "
		    "challenges (challenge_mode does not list \"dynamic\")");
		goto out;
	}
	if ((len = rq->body_len) > API_MAX_BODY) {
		log_info("%s POST %s: token %s: body of %zu bytes -> 413", peer,
		    path, who, len);
		api_json_error(r, 413, "body too large");
		goto out;
	}
	data = (const char *)rq->body;
	if (api_parse_mint(data, len, &m, err, sizeof(err)) == -1) {
		log_info("%s POST %s: token %s: %s -> 400", peer, path, who, err);
		api_json_error(r, 400, err);
		goto out;
	}
	/* A caller may shorten the profile's lifetime, not extend it. */
	ttl = m.ttl_minutes ? m.ttl_minutes : p->policy.challenge_ttl_minutes;
	if (ttl > p->policy.challenge_ttl_minutes) {
		snprintf(msg, sizeof(msg), "ttl_minutes is over the profile's "
		    "challenge_ttl of %d", p->policy.challenge_ttl_minutes);
		log_info("%s POST %s: token %s: %s -> 400", peer, path, who, msg);
		api_json_error(r, 400, msg);
		goto out;
	}
	snprintf(actor, sizeof(actor), "api:%s", who);
	if (challenge_mint(w->db, w->srv->conf, p, &m, ttl, actor, chal,
	    sizeof(chal), &id, &exp, err, sizeof(err)) == -1) {
		log_warnx("%s POST %s: token %s: cannot mint: %s -> 503", peer,
		    path, who, err);
		api_json_error(r, 503, "cannot store the challenge, retry later");
		goto out;
	}
	challenge_utc(exp, exp_s, sizeof(exp_s));
	o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:i}",
	    "challenge", chal, "profile", p->policy.name, "expires_at", exp_s,
	    "id", (json_int_t)id,
	    "device_id", m.device_id ? json_string(m.device_id) : json_null(),
	    "subject", m.subject ? json_string(m.subject) : json_null(),
	    "ttl_minutes", ttl);
	api_json_reply(r, 201, o);
	log_info("%s POST %s: token %s minted challenge #%lld for device %s, "
	    "expires %s -> 201", peer, path, who, id,
	    m.device_id ? m.device_id : "(any)", exp_s);
out:
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(chal, sizeof(chal));
	api_mint_clear(&m);
}

int
api_handle(struct worker *w, const struct request *rq, struct reply *r)
{
	const char	*path = rq->path, *peer = rq->peer, *name, *end;

	if (path == NULL)
		return 0;
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0) {
		if (reply_to_pool(w, r))
			return 1;
		/* Answers that carry a secret must not be kept by caches. */
		reply_header(r, "Cache-Control", "no-store");
		name = path + strlen(MINT_PREFIX);
		if (strncmp(path, MINT_PREFIX, strlen(MINT_PREFIX)) == 0 &&
		    (end = strchr(name, '/')) != NULL && end > name &&
		    strcmp(end, MINT_SUFFIX) == 0) {
			api_mint(w, rq, name, (size_t)(end - name), path, peer,
			    r);
			return 1;
		}
		log_info("%s %s: unknown API path -> 404", peer, path);
		api_json_error(r, 404, "no such API path");
		return 1;
	}
	return 0;
}
