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
#include "server/scep/outcome.h"

/* Ask Intune's validateRequest about c's CSR; the answer in c->validation. */
void	intune_validate_first(struct scep_ctx *c);
/*
 * In the open transaction, after o->crt was issued since db_mark():
 * successNotification.  Success: o is left as it is, the certificate may
 * be delivered.  Intune's refusal: back to the mark, and o becomes a
 * refusal (FAILURE badRequest, recorded).  No answer: o->failed, err
 * says why (the caller rolls back, the client is told to retry).
 */
void	intune_confirm(struct scep_ctx *c, struct enroll_outcome *o);
/*
 * After scepd refused (reason) a request Intune had validated:
 * failureNotification, logged; nothing depends on its answer.
 */
void	intune_notify_refused(struct scep_ctx *c, const char *reason);

#endif /* SCEPD_SCEP_INTUNE_OPS_H */
