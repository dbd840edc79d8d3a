/*
 * Delegated validation and notifications.  (Placeholder until the
 * webhook work lands: validation is unavailable, nothing is notified.)
 */
#include <stdio.h>

#include "server/scepd.h"

enum policy_lookup
webhook_validate(void *ctx, const struct policy_profile *p, X509_REQ *csr,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	(void)ctx;
	(void)p;
	(void)csr;
	(void)challenge;
	(void)len;
	(void)out;
	snprintf(reason, reasonlen, "webhook validation is not available yet");
	return POLICY_LOOKUP_ERROR;
}

void
webhook_notify(struct scep_ctx *c, X509 *issued, const char *reason)
{
	(void)c;
	(void)issued;
	(void)reason;
}
