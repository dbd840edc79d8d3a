/*
 * One-time challenges for policy/: consumed atomically in the enrollment's
 * database transaction, so the use commits (or rolls back) with the
 * certificate or the recorded refusal.  A refusal after consumption (the
 * template says no) still commits the use: the challenge was exposed.
 * Minting lives here too, for the API, mscep_admin and scepctl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "server/api/challenge_mint.h"
#include "server/scepd.h"

const char *
challenge_utc(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

enum policy_lookup
ops_consume_challenge(void *ctx, const struct policy_profile *p,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	struct scep_ctx		*c = ctx;
	const struct conf	*conf = c->w->srv->conf;
	struct db_challenge_use	 use;
	unsigned char		 mac[32];
	char			 err[256], t[32];
	enum policy_lookup	 l = POLICY_LOOKUP_ERROR;

	memset(&use, 0, sizeof(use));
	reason[0] = '\0';
	/* conf_load() refuses a dynamic profile without the key. */
	if (conf->challenge_key == NULL || conf->challenge_key[0] == '\0') {
		snprintf(reason, reasonlen, "no challenge_key configured");
		goto out;
	}
	if (policy_challenge_mac(conf->hmac_key, p->name, challenge, len,
	    mac) == -1) {
		snprintf(reason, reasonlen, "cannot compute the challenge MAC");
		goto out;
	}
	if (db_challenge_consume(c->w->db, p->name, mac,
	    p7_req_get0_transaction_id(c->req), &use, err, sizeof(err)) == -1) {
		snprintf(reason, reasonlen, "database: %s", err);
		goto out;
	}
	switch (use.state) {
	case DB_CHALLENGE_OK:
		/* The binding moves into *out; policy/ checks the request. */
		out->device_id = use.device_id;
		out->subject = use.subject;
		out->sans.v = use.sans;
		out->sans.n = use.nsans;
		use.device_id = use.subject = NULL;
		use.sans = NULL;
		use.nsans = 0;
		l = POLICY_LOOKUP_OK;
		break;
	case DB_CHALLENGE_USED:
		/*
		 * decide.c says "possible replay"; the first use tells an
		 * operator whether it was the same device retrying.
		 */
		snprintf(reason, reasonlen, "challenge #%lld first used at %s "
		    "by transaction %.80s", use.id, challenge_utc(use.used_at, t,
		    sizeof(t)), use.used_by != NULL ? use.used_by : "?");
		l = POLICY_LOOKUP_USED;
		break;
	case DB_CHALLENGE_EXPIRED:
		snprintf(reason, reasonlen, "challenge #%lld expired at %s",
		    use.id, challenge_utc(use.expires_at, t, sizeof(t)));
		l = POLICY_LOOKUP_EXPIRED;
		break;
	case DB_CHALLENGE_UNKNOWN:
		snprintf(reason, reasonlen, "not minted for profile %s",
		    p->name);
		l = POLICY_LOOKUP_UNKNOWN;
		break;
	}
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	db_challenge_use_clear(&use);
	return l;
}

int
challenge_mint(struct db *db, const struct conf *conf,
    const struct conf_profile *p, const struct api_mint *m, int ttl_minutes,
    const char *actor, char *out, size_t outlen, long long *id,
    time_t *expires_at, char *err, size_t errlen)
{
	struct db_challenge_new	 nc;
	unsigned char		 mac[32];
	int			 attempt, rc = 1;

	if (conf->challenge_key == NULL || conf->challenge_key[0] == '\0') {
		snprintf(err, errlen, "no challenge_key configured");
		return -1;
	}
	memset(&nc, 0, sizeof(nc));
	nc.profile = p->policy.name;
	nc.mac = mac;
	if (m != NULL) {
		nc.device_id = m->device_id;
		nc.subject = m->subject;
		nc.sans = (const char *const *)m->sans;
		nc.nsans = m->nsans;
	}
	nc.ttl_minutes = ttl_minutes;
	nc.actor = actor;
	/* A MAC already stored means 128 random bits repeated: draw again. */
	for (attempt = 0; rc == 1 && attempt < 3; attempt++) {
		if (policy_challenge_new(out, outlen) == -1 ||
		    policy_challenge_mac(conf->hmac_key, p->policy.name, out,
		    strlen(out), mac) == -1) {
			snprintf(err, errlen, "cannot make a random challenge");
			rc = -1;
			break;
		}
		rc = db_challenge_create(db, &nc, id, expires_at, err, errlen);
	}
	if (rc == 1)
		snprintf(err, errlen, "three challenge collisions in a row");
	OPENSSL_cleanse(mac, sizeof(mac));
	if (rc != 0)
		OPENSSL_cleanse(out, outlen);
	return rc == 0 ? 0 : -1;
}
