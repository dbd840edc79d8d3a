/*
 * The delegated validators, the webhook (webhook.c) and Intune
 * (intune_ops.c), asked before the request's database transaction and
 * its transactionID lock, so that a slow one holds neither
 * (docs/design.md); policy/ gets the kept answer inside the transaction.
 */
#include <stdio.h>
#include <string.h>

#include "server/scep/delegate.h"
#include "server/scep/intune_ops.h"
#include "server/scep/webhook.h"

int
delegate_used(const struct scep_ctx *c)
{
	return policy_profile_has_mode(&c->prof->policy,
	    POLICY_CHALLENGE_WEBHOOK) || policy_profile_has_mode(
	    &c->prof->policy, POLICY_CHALLENGE_INTUNE);
}

void
delegate_first(struct scep_ctx *c, const char *challenge, size_t len)
{
	if (policy_profile_has_mode(&c->prof->policy, POLICY_CHALLENGE_INTUNE))
		intune_validate_first(c);
	else
		webhook_validate_first(c, p7_req_get0_csr(c->req), challenge,
		    len);
}

void
delegate_clear(struct scep_ctx *c)
{
	policy_binding_clear(&c->validation.binding);
	memset(&c->validation, 0, sizeof(c->validation));
}

enum policy_lookup
delegate_validate(void *ctx, const struct policy_profile *p, X509_REQ *csr,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	struct scep_ctx		*c = ctx;
	struct scep_validation	*v = &c->validation;

	(void)p;
	(void)csr;
	/*
	 * Not asked (the look before the lock saw a decided request, which
	 * the locked read then did not): ask now, under the lock.
	 */
	if (!v->asked)
		delegate_first(c, challenge, len);
	*out = v->binding;
	memset(&v->binding, 0, sizeof(v->binding));
	if (v->lookup != POLICY_LOOKUP_OK)
		snprintf(reason, reasonlen, "%s", v->reason);
	return v->lookup;
}
