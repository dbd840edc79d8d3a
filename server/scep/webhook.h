/*
 * The webhook as the SCEP operations use it (webhook.c): the validator
 * (through delegate.c), and the notification of a decision.
 */
#ifndef SCEPD_SCEP_WEBHOOK_H
#define SCEPD_SCEP_WEBHOOK_H

#include <stddef.h>

#include <openssl/x509.h>

#include "policy/policy.h"
#include "server/scep/core.h"

/*
 * Ask the profile's validator about csr and challenge now, before the
 * request's transaction and its transactionID lock (so a slow validator
 * holds neither), and keep the answer in c->validation.
 */
void	webhook_validate_first(struct scep_ctx *c, X509_REQ *csr,
	    const char *challenge, size_t len);
/*
 * In the open transaction of a decision: queue the profile's notification
 * of it (issued, or NULL for a refusal with its reason), if the profile
 * has one; sets c->queued.  0, or -1 with err (the caller rolls back).
 */
int	webhook_queue(struct scep_ctx *, X509 *issued, const char *reason,
	    char *err, size_t errlen);

#endif /* SCEPD_SCEP_WEBHOOK_H */
