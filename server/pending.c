/*
 * Manual approval, CertPoll and GetCert.  (Placeholder until the approval
 * work lands.)
 */
#include <stdio.h>

#include "server/log.h"
#include "server/scepd.h"

int
pending_store(struct scep_ctx *c, const struct policy_plan *plan, char *err,
    size_t errlen)
{
	(void)c;
	(void)plan;
	snprintf(err, errlen, "manual approval is not available yet");
	return -1;
}

void
pending_certpoll(struct scep_ctx *c, struct reply *r)
{
	log_info("%s %s %s: no such pending transaction -> FAILURE badCertId",
	    c->peer, enroll_msg_name(c), p7_req_get0_transaction_id(c->req));
	enroll_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID, NULL, r);
}

void
getcert_answer(struct scep_ctx *c, struct reply *r)
{
	log_info("%s %s %s: not served -> FAILURE badRequest", c->peer,
	    enroll_msg_name(c), p7_req_get0_transaction_id(c->req));
	enroll_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
}
