/*
 * One-time challenges for policy/: consumed atomically in the enrollment's
 * database transaction.  (Placeholder until the dynamic-challenge work
 * lands: every one-time challenge is unknown.)
 */
#include <stdio.h>

#include "server/scepd.h"

enum policy_lookup
ops_consume_challenge(void *ctx, const struct policy_profile *p,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	(void)ctx;
	(void)p;
	(void)challenge;
	(void)len;
	(void)out;
	snprintf(reason, reasonlen, "one-time challenges are not available yet");
	return POLICY_LOOKUP_ERROR;
}
