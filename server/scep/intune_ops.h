/*
 * Intune as the SCEP operations use it (intune_ops.c): validation before
 * the transaction, the success notification before the CertRep, the
 * failure notification after a refusal of scepd's own.
 */
#ifndef SCEPD_SCEP_INTUNE_OPS_H
#define SCEPD_SCEP_INTUNE_OPS_H

#include <stddef.h>

#include <openssl/x509.h>

#include "server/scep/core.h"

/* Ask Intune's validateRequest about c's CSR; the answer in c->validation. */
void	intune_validate_first(struct scep_ctx *c);
/*
 * In the open transaction, after crt was issued: successNotification.
 * 0 once Intune answered Success (the certificate may be delivered), else
 * -1 with err (the caller rolls back: nothing is delivered).
 */
int	intune_notify_issued(struct scep_ctx *c, X509 *crt, char *err,
	    size_t errlen);
/*
 * After scepd refused (reason) a request Intune had validated:
 * failureNotification, logged; nothing depends on its answer.
 */
void	intune_notify_refused(struct scep_ctx *c, const char *reason);

#endif /* SCEPD_SCEP_INTUNE_OPS_H */
