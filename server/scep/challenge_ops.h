/* One-time challenges as policy/ consumes them (challenge_ops.c). */
#ifndef SCEPD_SCEP_CHALLENGE_OPS_H
#define SCEPD_SCEP_CHALLENGE_OPS_H

#include <stddef.h>

#include "policy/policy.h"

/*
 * struct policy_ops consume_challenge for one-time challenges; ctx is
 * the struct scep_ctx, whose worker's database transaction is open.
 */
enum policy_lookup ops_consume_challenge(void *ctx,
	    const struct policy_profile *, const char *challenge, size_t len,
	    struct policy_binding *out, char *reason, size_t reasonlen);

#endif /* SCEPD_SCEP_CHALLENGE_OPS_H */
