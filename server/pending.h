/*
 * server/pending.c beyond the hooks declared in server/scepd.h: for
 * enroll.c to call before policy_decide() (see pending_approved()).
 */
#ifndef SCEPD_PENDING_H
#define SCEPD_PENDING_H

#include <stddef.h>

struct scep_ctx;

/*
 * In the open enrollment transaction of a PKCSReq on a manual-approval
 * profile: 1 if an operator approved a request of this transactionID
 * and signer key whose CSR has the same public key and subject as this
 * one's.  certmonger cannot read a PENDING CertRep (clients.md 6) and
 * resends its request with a fresh CSR (a new random SKI) every few
 * seconds, so the approved request never comes back byte for byte;
 * this one is then the approved request, and the caller decides it
 * with policy_request.approved set.  0 if not, -1 on a database error
 * (rolled back, err filled).
 */
int	pending_approved(struct scep_ctx *, char *err, size_t errlen);

#endif /* SCEPD_PENDING_H */
