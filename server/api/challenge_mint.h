/*
 * Minting one-time challenges (challenge_mint.c), shared by the admin
 * API (api.c), the mscep_admin page and scepctl challenge create
 * (server/ctl/ctl_challenge.c); the consuming side is
 * ops_consume_challenge() in server/scep/challenge_ops.c.
 */
#ifndef SCEPD_API_CHALLENGE_MINT_H
#define SCEPD_API_CHALLENGE_MINT_H

#include <stddef.h>
#include <time.h>

#include "db/db.h"
#include "policy/policy.h"
#include "server/api/api_parse.h"
#include "server/conf.h"

/*
 * Mint a challenge for profile p bound as m says (m may be NULL), valid
 * ttl_minutes, recorded with actor in the audit trail.  Writes the
 * challenge into out (at least POLICY_CHALLENGE_LEN + 1 bytes; the
 * caller shows it once and cleanses it), its row id into *id and its
 * expiry into *expires_at.  Returns 0 or -1 with err.
 */
int	challenge_mint(struct db *, const struct conf *,
	    const struct conf_profile *p, const struct api_mint *m,
	    int ttl_minutes, const char *actor, char *out, size_t outlen,
	    long long *id, time_t *expires_at, char *err, size_t errlen);

/* 1 if one-time challenges can be minted for p: its modes list them. */
int	challenge_mintable(const struct conf_profile *p);

/* "2026-01-02T03:04:05Z" into buf. */
const char *challenge_utc(time_t, char *buf, size_t len);

#endif /* SCEPD_API_CHALLENGE_MINT_H */
