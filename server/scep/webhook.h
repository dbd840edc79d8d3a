/*
 * The webhook as the SCEP operations use it (webhook.c): struct
 * policy_ops validate, and notifications after a decision.
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
/* After a decision: issued, or NULL for a refusal with its reason. */
void	webhook_notify(struct scep_ctx *, X509 *issued, const char *reason);

#endif /* SCEPD_SCEP_WEBHOOK_H */
