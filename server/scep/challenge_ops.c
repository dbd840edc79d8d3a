/*
 * One-time challenges for policy/: consumed atomically in the enrollment's
 * database transaction, so the use commits (or rolls back) with the
 * certificate or the recorded refusal.  A refusal after consumption (the
 * template says no) still commits the use: the challenge was exposed.
 * Minting is server/api/challenge_mint.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "server/api/challenge_mint.h"	/* challenge_utc() */
#include "server/scep/challenge_ops.h"
#include "server/scep/core.h"


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
	    p7_req_get0_transaction_id(c->req), &use, err, sizeof(err)) ==
	    DB_ERROR) {
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

