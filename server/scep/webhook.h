/*
 * The webhook as the SCEP operations use it (webhook.c): struct
 * policy_ops validate, and the notification of a decision.
 */
#ifndef SCEPD_SCEP_WEBHOOK_H
#define SCEPD_SCEP_WEBHOOK_H

#include <stddef.h>

#include <openssl/x509.h>

#include "policy/policy.h"
#include "server/scep/core.h"

/* ctx is the struct scep_ctx. */
enum policy_lookup webhook_validate(void *ctx, const struct policy_profile *,
	    X509_REQ *csr, const char *challenge, size_t len,
	    struct policy_binding *out, char *reason, size_t reasonlen);
/*
 * In the open transaction of a decision: queue the profile's notification
 * of it (issued, or NULL for a refusal with its reason), if the profile
 * has one; sets c->queued.  0, or -1 with err (the caller rolls back).
 */
int	webhook_queue(struct scep_ctx *, X509 *issued, const char *reason,
	    char *err, size_t errlen);

#endif /* SCEPD_SCEP_WEBHOOK_H */
