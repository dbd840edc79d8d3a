/*
 * What a PKCSReq, RenewalReq or approved CertPoll leaves in its open
 * transaction for the function that began it (outcome.c).  That owner
 * commits when enroll_keeps() (else rolls back), sets committed when the
 * COMMIT is confirmed, and calls enroll_answer(), which logs, notifies
 * and fills the reply: SUCCESS only when committed.
 */
#ifndef SCEPD_SCEP_OUTCOME_H
#define SCEPD_SCEP_OUTCOME_H

#include <openssl/x509.h>

#include "pkcs7/pkcs7.h"
#include "policy/policy.h"
#include "server/scep/core.h"

enum enroll_step {
	ENROLL_ANSWERED,	/* the reply is filled, nothing to keep */
	ENROLL_REFUSED,		/* v is a DENY, recorded unless failed */
	ENROLL_HELD,		/* held for approval unless failed */
	ENROLL_ISSUED,		/* crt issued unless failed */
};
struct enroll_outcome {
	enum enroll_step	 step;
	int			 failed;	/* a step failed: err says why */
	int			 committed;	/* the COMMIT was confirmed */
	struct policy_verdict	 v;
	X509			*crt;		/* ENROLL_ISSUED, owned */
	struct p7_cert_desc	 d;		/* crt described */
	const char		*renewed;	/* NULL or renewed_serial */
	char			 renewed_serial[64];
	const char		*what;		/* NULL or "approved, " (log) */
	long long		 marked_row;	/* c->tx_row at db_mark() */
	char			 err[256];
};
int	enroll_keeps(const struct enroll_outcome *);
/*
 * After scep_issue() failed in o's open transaction: if the signer
 * refused the signature, that is a decision, recorded as the FAILURE
 * badRequest o becomes (its reservation is 'failed' already); anything
 * else stays a failure (503).
 */
void	enroll_sign_refused(struct scep_ctx *, struct enroll_outcome *);
void	enroll_answer(struct scep_ctx *, struct enroll_outcome *,
	    struct reply *);
void	enroll_outcome_clear(struct enroll_outcome *);

#endif /* SCEPD_SCEP_OUTCOME_H */
