/*
 * A challenge only someone else can judge (delegate.c): the webhook
 * validator or Intune, asked before the request's transaction.
 */
#ifndef SCEPD_SCEP_DELEGATE_H
#define SCEPD_SCEP_DELEGATE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "policy/policy.h"
#include "server/scep/core.h"

/* Does the profile's decision ask a webhook or Intune? */
int	delegate_used(const struct scep_ctx *);
/* Ask it now about c's CSR and challenge; the answer in c->validation. */
void	delegate_first(struct scep_ctx *c, const char *challenge, size_t len);
/* Free what c->validation holds. */
void	delegate_clear(struct scep_ctx *c);
/*
 * struct policy_ops validate (ctx is the struct scep_ctx): the answer
 * delegate_first() kept, or, if it was not asked, the answer now.
 */
enum policy_lookup delegate_validate(void *ctx, const struct policy_profile *,
	    X509_REQ *csr, const char *challenge, size_t len,
	    struct policy_binding *out, char *reason, size_t reasonlen);

#endif /* SCEPD_SCEP_DELEGATE_H */
