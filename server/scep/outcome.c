/*
 * What a decided PKCSReq, RenewalReq or approved CertPoll leaves for the
 * function that began its transaction, and the answer once that function
 * has committed or rolled back: SUCCESS only after a confirmed COMMIT,
 * 503 when it is not confirmed.
 */
#include <string.h>

#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/outcome.h"
#include "server/scep/webhook.h"
#include "server/outbound/notifier.h"

int
enroll_keeps(const struct enroll_outcome *o)
{
	return o->step != ENROLL_ANSWERED && !o->failed;
}

void
enroll_sign_refused(struct scep_ctx *c, struct enroll_outcome *o)
{
	if (o->crt != NULL || !c->sign_refused)
		return;
	log_warnx("%s %s %s: the signer refused to sign: %s -> FAILURE "
	    "badRequest", c->peer, scep_msg_name(c),
	    p7_req_get0_transaction_id(c->req), o->err);
	o->step = ENROLL_REFUSED;
	o->v.fail = POLICY_FAIL_BAD_REQUEST;
	snprintf(o->v.reason, sizeof(o->v.reason), "the signer refused to "
	    "sign: %.200s", o->err);
	o->failed = scep_record_failure(c, P7_FAIL_BAD_REQUEST, o->v.reason,
	    o->err, sizeof(o->err)) == -1 || webhook_queue(c, NULL,
	    o->v.reason, o->err, sizeof(o->err)) == -1;
}

/* A refusal: FAILURE whether or not it could be recorded (nothing issued). */
static void
answer_refused(struct scep_ctx *c, struct enroll_outcome *o, struct reply *r)
{
	if (!o->committed)
		log_warnx("transaction %s: cannot record refusal: %s",
		    p7_req_get0_transaction_id(c->req), o->err);
	scep_certrep(c, P7_PKI_FAILURE, (enum p7_fail_info)o->v.fail, NULL, r);
}

/* Held for approval: PENDING once the hold is committed, else 503. */
static void
answer_held(struct scep_ctx *c, struct enroll_outcome *o, struct reply *r)
{
	const char	*tid = p7_req_get0_transaction_id(c->req);

	if (!o->committed) {
		log_warnx("%s %s %s: cannot hold for approval: %s -> 503",
		    c->peer, scep_msg_name(c), tid, o->err);
		reply_text(r, 503, "cannot hold the request, retry later\n");
		return;
	}
	log_info("%s %s %s: waiting for approval -> PENDING", c->peer,
	    scep_msg_name(c), tid);
	scep_certrep(c, P7_PKI_PENDING, 0, NULL, r);
}

/* Issued: SUCCESS once the certificate is committed, else 503. */
static void
answer_issued(struct scep_ctx *c, struct enroll_outcome *o, struct reply *r)
{
	const char	*tid = p7_req_get0_transaction_id(c->req);

	if (!o->committed) {
		log_openssl("issue");
		log_warnx("%s %s %s: %snot issued: %s -> 503", c->peer,
		    scep_msg_name(c), tid, o->what ? o->what : "", o->err);
		reply_text(r, 503, "cannot issue now, retry later\n");
		return;
	}
	log_info("%s %s %s: issued serial %s to \"%s\"%s%s", c->peer,
	    scep_msg_name(c), tid, o->d.serial, o->d.subject,
	    o->renewed ? " renewing " : "", o->renewed ? o->renewed : "");
	scep_certrep(c, P7_PKI_SUCCESS, 0, o->crt, r);
}

void
enroll_answer(struct scep_ctx *c, struct enroll_outcome *o, struct reply *r)
{
	/* Committed with a notification in the outbox: send it now. */
	if (o->committed && c->queued)
		notifier_wake(c->w->srv->notifier);
	switch (o->step) {
	case ENROLL_ANSWERED:
		break;
	case ENROLL_REFUSED:
		answer_refused(c, o, r);
		break;
	case ENROLL_HELD:
		answer_held(c, o, r);
		break;
	case ENROLL_ISSUED:
		answer_issued(c, o, r);
		break;
	}
}

void
enroll_outcome_clear(struct enroll_outcome *o)
{
	policy_verdict_clear(&o->v);
	X509_free(o->crt);
	p7_cert_desc_clear(&o->d);
	memset(o, 0, sizeof(*o));
}
