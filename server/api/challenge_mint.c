/*
 * Minting one-time challenges, for the admin API, the mscep_admin page
 * and scepctl challenge create; stored as HMAC only, consumed by
 * server/scep/challenge_ops.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "server/api/challenge_mint.h"

const char *
challenge_utc(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* One-time challenges can be minted for a profile whose modes list them. */
int
challenge_mintable(const struct conf_profile *p)
{
	return policy_profile_has_mode(&p->policy, POLICY_CHALLENGE_DYNAMIC);
}

int
challenge_mint(struct db *db, const struct conf *conf,
    const struct conf_profile *p, const struct api_mint *m, int ttl_minutes,
    const char *actor, char *out, size_t outlen, long long *id,
    time_t *expires_at, char *err, size_t errlen)
{
	struct db_challenge_new	 nc;
	unsigned char		 mac[32];
	int			 attempt;
	enum db_rc		 rc = DB_REFUSED;

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
	for (attempt = 0; rc == DB_REFUSED && attempt < 3; attempt++) {
		if (policy_challenge_new(out, outlen) == -1 ||
		    policy_challenge_mac(conf->hmac_key, p->policy.name, out,
		    strlen(out), mac) == -1) {
			snprintf(err, errlen, "cannot make a random challenge");
			rc = DB_ERROR;
			break;
		}
		rc = db_challenge_create(db, &nc, id, expires_at, err, errlen);
	}
	if (rc == DB_REFUSED)
		snprintf(err, errlen, "three challenge collisions in a row");
	OPENSSL_cleanse(mac, sizeof(mac));
	if (rc != DB_OK)
		OPENSSL_cleanse(out, outlen);
	return rc == DB_OK ? 0 : -1;
}
