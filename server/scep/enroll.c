/*
 * PKCSReq and RenewalReq: policy/ decides, db/ records in one
 * transaction committed before the reply, pkcs7/ signs the certificate and
 * the CertRep.  Nothing is signed for a request that has not passed the
 * challenge or renewal check (docs/design.md), and no SUCCESS leaves
 * without a confirmed COMMIT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/challenge_limit.h"
#include "server/scep/challenge_ops.h"
#include "server/scep/core.h"
#include "server/scep/delegate.h"
#include "server/scep/enroll.h"
#include "server/scep/intune_ops.h"
#include "server/scep/outcome.h"
#include "server/scep/pending.h"
#include "server/scep/renew.h"
#include "server/scep/webhook.h"

/* Answer with the certificate a finished transaction already issued. */
static void
replay(struct scep_ctx *c, const struct db_prior *prior, struct reply *r)
{
	const unsigned char	*p = prior->cert_der;
	X509			*crt;

	if ((crt = d2i_X509(NULL, &p, (long)prior->cert_der_len)) == NULL) {
		log_warnx("%s %s %s: stored certificate %s unreadable", c->peer,
		    scep_msg_name(c), p7_req_get0_transaction_id(c->req),
		    prior->serial);
		reply_text(r, 500, "internal error\n");
		return;
	}
	log_info("%s %s %s: retransmission, serial %s sent again", c->peer,
	    scep_msg_name(c), p7_req_get0_transaction_id(c->req),
	    prior->serial);
	scep_certrep(c, P7_PKI_SUCCESS, 0, crt, r);
	X509_free(crt);
}

/*
 * RenewalReq, or a PKCSReq signed by a certificate we issued (how sscep
 * -O and certmonger renew) when the profile allows renewal.
 */
static int
is_renewal(const struct scep_ctx *c)
{
	return p7_req_message_type(c->req) == P7_MSG_RENEWALREQ ||
	    (p7_req_signer_issued(c->req) && c->prof->policy.renewal.enabled);
}

/*
 * Before the transaction: ask the validator now if the decision may need
 * it, so that it holds neither a transaction nor the transactionID's
 * lock while it thinks (docs/design.md).  Not for a renewal (its signer
 * authenticates it), a request without a challenge, or one the database
 * already decided (issued, held, or another key's transactionID), as an
 * unlocked look tells; the locked read decides in the end.  0, or -1 on
 * a database error.
 */
static int
validate_first(struct scep_ctx *c, char *err, size_t errlen)
{
	struct db_prior			 prior;
	char				 challenge[256];
	int				 clen, rc;

	if (!delegate_used(c) || is_renewal(c) || (clen = p7_req_challenge(c->req,
	    challenge, sizeof(challenge))) < 0)
		return 0;
	if ((rc = scep_peek(c, &prior, err, errlen)) == 0 &&
	    !prior.key_mismatch && prior.state != DB_TX_SUCCESS &&
	    prior.state != DB_TX_PENDING)
		delegate_first(c, challenge, (size_t)clen);
	OPENSSL_cleanse(challenge, sizeof(challenge));
	db_prior_clear(&prior);
	return rc;
}

/*
 * What enroll_decide() returns when the transaction must end before the
 * answer: a request held for approval is answered as a CertPoll, which
 * takes the transactionID's lock anew.
 */
#define ENROLL_POLL	(-1)

/*
 * PKCSReq and RenewalReq inside the transaction enroll_request() began:
 * decide, and record what is decided.  Fills *o (and *r for ENROLL_ANSWERED);
 * returns ENROLL_POLL or 0.  Never ends the transaction.
 */
static int
enroll_decide(struct scep_ctx *c, const struct db_prior *prior,
    struct enroll_outcome *o, struct reply *r)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	struct policy_request	 pr;
	struct policy_signer	 signer;
	struct policy_ops	 ops;
	char			 challenge[256];
	int			 clen, renewal, twin, intune, rc = 0;

	memset(&signer, 0, sizeof(signer));
	o->step = ENROLL_ANSWERED;
	/* One transactionID, one requester key (docs/protocol.md). */
	if (prior->key_mismatch) {
		log_info("%s %s %s: transactionID already used by another key "
		    "-> FAILURE badRequest", c->peer, scep_msg_name(c), tid);
		scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		goto out;
	}
	/* A retransmission gets the certificate it already has... */
	if (prior->state == DB_TX_SUCCESS) {
		replay(c, prior, r);
		goto out;
	}
	/* ...or, while it waits for approval, what a CertPoll would get. */
	if (prior->state == DB_TX_PENDING) {
		rc = ENROLL_POLL;
		goto out;
	}

	renewal = is_renewal(c);
	if (renewal && renew_signer(c, &signer, o->renewed_serial,
	    sizeof(o->renewed_serial), o->err, sizeof(o->err)) == -1) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    scep_msg_name(c), tid, o->err);
		reply_text(r, 503, "database unavailable, retry later\n");
		goto out;
	}

	memset(&pr, 0, sizeof(pr));
	/*
	 * certmonger resends a held request with a new CSR: an approved twin
	 * (same transactionID, signer key, CSR key and subject) counts as
	 * this request's approval, or, once issued, answers with its
	 * certificate.
	 */
	twin = PENDING_TWIN_NONE;
	if (!renewal && c->prof->policy.approval == POLICY_APPROVAL_MANUAL &&
	    (twin = pending_approved(c, r, o->err, sizeof(o->err))) == -1) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    scep_msg_name(c), tid, o->err);
		reply_text(r, 503, "database unavailable, retry later\n");
		goto out;
	}
	if (twin == PENDING_TWIN_ISSUED)
		goto out;
	pr.approved = twin == PENDING_TWIN_APPROVED;
	clen = p7_req_challenge(c->req, challenge, sizeof(challenge));
	pr.csr = p7_req_get0_csr(c->req);
	pr.challenge = clen >= 0 ? challenge : NULL;
	pr.challenge_len = clen >= 0 ? (size_t)clen : 0;
	pr.renewal = renewal;
	pr.signer = renewal ? &signer : NULL;
	pr.now = time(NULL);
	ops.consume_challenge = ops_consume_challenge;
	ops.validate = delegate_validate;
	ops.ctx = c;
	if (policy_decide(&c->prof->policy, &ops, &pr, &o->v) == -1) {
		OPENSSL_cleanse(challenge, sizeof(challenge));
		log_warnx("%s %s %s: policy error -> 500", c->peer,
		    scep_msg_name(c), tid);
		reply_text(r, 500, "internal error\n");
		goto out;
	}
	OPENSSL_cleanse(challenge, sizeof(challenge));

	switch (o->v.decision) {
	case POLICY_DENY:
		log_info("%s %s %s: %s -> FAILURE %s", c->peer,
		    scep_msg_name(c), tid, o->v.reason,
		    scep_fail_names[o->v.fail]);
		if (o->v.bad_challenge)
			challenge_limit_failed(c->w->srv->challenge_limit,
			    c->addr);
		/* A consumed one-time challenge stays consumed: it was shown. */
		o->step = ENROLL_REFUSED;
		o->failed = scep_record_failure(c, (enum p7_fail_info)o->v.fail,
		    o->v.reason, o->err, sizeof(o->err)) == -1 ||
		    webhook_queue(c, NULL, o->v.reason, o->err,
		    sizeof(o->err)) == -1;
		break;
	case POLICY_RETRY:
		/*
		 * Transient: nothing recorded, no notification; the client
		 * sends the same request again and it is judged then.
		 */
		log_warnx("%s %s %s: %s -> 503", c->peer, scep_msg_name(c),
		    tid, o->v.reason);
		reply_text(r, 503, "challenge check unavailable, retry later\n");
		break;
	case POLICY_PENDING:
		o->step = ENROLL_HELD;
		o->failed = pending_store(c, &o->v.plan, o->err,
		    sizeof(o->err)) == -1;
		break;
	case POLICY_ISSUE:
		o->step = ENROLL_ISSUED;
		o->renewed = renewal ? o->renewed_serial : NULL;
		/*
		 * Intune must know of a certificate before it leaves, and
		 * may refuse it: the mark is where it is undone to
		 * (intune_ops.c, docs/mdm.md).
		 */
		intune = policy_profile_has_mode(&c->prof->policy,
		    POLICY_CHALLENGE_INTUNE);
		if (intune && db_mark(c->w->db, o->err, sizeof(o->err)) !=
		    DB_OK) {
			o->failed = 1;
			break;
		}
		o->marked_row = c->tx_row;
		o->crt = scep_issue(c, pr.csr, &o->v.plan, o->renewed, &o->d,
		    o->err, sizeof(o->err));
		o->failed = o->crt == NULL || webhook_queue(c, o->crt, NULL,
		    o->err, sizeof(o->err)) == -1;
		enroll_sign_refused(c, o);
		if (!o->failed && intune && o->crt != NULL)
			intune_confirm(c, o);
		break;
	}
out:
	X509_NAME_free(signer.subject);
	free((char *)(uintptr_t)signer.device_id);
	return rc;
}

/* PKCSReq and RenewalReq: the transaction begins and ends here. */
void
enroll_request(struct scep_ctx *c, struct reply *r)
{
	struct db_prior		 prior;
	struct enroll_outcome	 o;
	int			 poll;

	memset(&prior, 0, sizeof(prior));
	memset(&o, 0, sizeof(o));
	/* An address that keeps guessing: refused before anything is asked. */
	if (!is_renewal(c) &&
	    challenge_limit_over(c->w->srv->challenge_limit, c->addr)) {
		log_repeat(c->addr, "%s: over limits.failed_challenges_per_"
		    "minute (%d): %s refused unchecked -> FAILURE badRequest",
		    c->addr, c->w->srv->conf->failed_challenges_per_minute,
		    scep_msg_name(c));
		scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		return;
	}
	if (validate_first(c, o.err, sizeof(o.err)) == -1 ||
	    scep_begin(c, &prior, o.err, sizeof(o.err)) == -1) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    scep_msg_name(c), p7_req_get0_transaction_id(c->req),
		    o.err);
		reply_text(r, 503, "database unavailable, retry later\n");
		delegate_clear(c);
		return;
	}
	poll = enroll_decide(c, &prior, &o, r);
	/* The one end of the transaction: a SUCCESS only after its COMMIT. */
	if (enroll_keeps(&o) &&
	    db_commit(c->w->db, o.err, sizeof(o.err)) == DB_OK)
		o.committed = 1;
	else
		db_rollback(c->w->db);
	scep_settle(c, o.committed);
	/* Intune validated what scepd then refused: tell it why. */
	if (o.step == ENROLL_REFUSED && c->validation.asked &&
	    c->validation.lookup == POLICY_LOOKUP_OK &&
	    policy_profile_has_mode(&c->prof->policy, POLICY_CHALLENGE_INTUNE))
		intune_notify_refused(c, o.v.reason);
	delegate_clear(c);
	if (poll == ENROLL_POLL)
		pending_certpoll(c, r);
	else
		enroll_answer(c, &o, r);
	enroll_outcome_clear(&o);
	db_prior_clear(&prior);
}

