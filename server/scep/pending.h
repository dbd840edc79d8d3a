/*
 * Manual approval (pending.c): holding a request, CertPoll, and the
 * approved twin of a PKCSReq sent again.
 */
#ifndef SCEPD_SCEP_PENDING_H
#define SCEPD_SCEP_PENDING_H

#include <stddef.h>

#include "policy/policy.h"
#include "server/scep/core.h"

/*
 * Record a PENDING request in the open transaction: 0, or -1 with err.
 * It never ends the transaction.
 */
int	pending_store(struct scep_ctx *, const struct policy_plan *,
	    char *err, size_t errlen);
/*
 * CertPoll, and a held PKCSReq sent again: in a transaction it begins
 * and ends itself.
 */
void	pending_certpoll(struct scep_ctx *, struct reply *);

/* What pending_approved() found. */
enum pending_twin {
	PENDING_TWIN_NONE = 0,	/* judge the request as it is */
	PENDING_TWIN_APPROVED,	/* issue it: an operator approved its twin */
	PENDING_TWIN_ISSUED,	/* answered: the twin's certificate */
};

/*
 * In the open enrollment transaction of a PKCSReq on a manual-approval
 * profile: is there a request of this transactionID and signer key,
 * approved by an operator, whose CSR has the same public key and
 * subject as this one's?  certmonger resends its request with a fresh
 * CSR (a new random SKI) when it retries or is told to resubmit, so the
 * approved request does not come back byte for byte.  Not issued yet:
 * PENDING_TWIN_APPROVED, and the caller decides this request with
 * policy_request.approved set.  Issued within the retransmission
 * window: PENDING_TWIN_ISSUED, *r holds that certificate again (never a
 * second one for one approval).  -1 on a database error (err filled).
 * The transaction is left open either way: the caller ends it.
 */
int	pending_approved(struct scep_ctx *, struct reply *r, char *err,
	    size_t errlen);

#endif /* SCEPD_SCEP_PENDING_H */
