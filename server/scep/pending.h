/*
 * server/pending.c beyond the hooks declared in server/scepd.h: for
 * enroll.c to call before policy_decide() (see pending_approved()).
 */
#ifndef SCEPD_PENDING_H
#define SCEPD_PENDING_H

#include <stddef.h>

struct scep_ctx;

struct reply;

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

#endif /* SCEPD_PENDING_H */
