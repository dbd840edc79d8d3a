/*
 * One PKIOperation: pkcs7/ decodes, policy/ decides, db/ records in one
 * transaction committed before the reply, pkcs7/ signs the certificate and
 * the CertRep.  Nothing is signed for a request that has not passed the
 * challenge or renewal check (docs/design.md), and no SUCCESS leaves
 * without a confirmed COMMIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/pending.h"
#include "server/scepd.h"

/*
 * policy/ and pkcs7/ number failInfo alike, as RFC 8894 3.2.1.4.5 does:
 * server/ casts a verdict's enum policy_fail to enum p7_fail_info.
 */
_Static_assert((int)POLICY_FAIL_BAD_ALG == (int)P7_FAIL_BAD_ALG &&
    (int)POLICY_FAIL_BAD_MESSAGE_CHECK == (int)P7_FAIL_BAD_MESSAGE_CHECK &&
    (int)POLICY_FAIL_BAD_REQUEST == (int)P7_FAIL_BAD_REQUEST &&
    (int)POLICY_FAIL_BAD_TIME == (int)P7_FAIL_BAD_TIME &&
    (int)POLICY_FAIL_BAD_CERT_ID == (int)P7_FAIL_BAD_CERT_ID,
    "enum policy_fail and enum p7_fail_info differ");

const char *const enroll_fail_names[] = {
	"badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId"
};

static const char *
msg_name(int type)
{
	switch (type) {
	case P7_MSG_PKCSREQ:	return "PKCSReq";
	case P7_MSG_RENEWALREQ:	return "RenewalReq";
	case P7_MSG_CERTPOLL:	return "CertPoll";
	case P7_MSG_GETCERT:	return "GetCert";
	case P7_MSG_GETCRL:	return "GetCRL";
	default:		return "unknown messageType";
	}
}

const char *
enroll_msg_name(const struct scep_ctx *c)
{
	return msg_name(p7_req_message_type(c->req));
}

void
reply_text(struct reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain";
	r->body = (unsigned char *)(uintptr_t)text;
	r->len = strlen(text);
	r->free_body = 0;
}

void
enroll_certrep(struct scep_ctx *c, enum p7_pki_status st, enum p7_fail_info fi,
    X509 *issued, struct reply *r)
{
	unsigned char	*der = NULL;
	size_t		 len = 0;

	if (p7_certrep(c->prof->ca, c->req, st, fi, issued, &der, &len) == -1) {
		log_openssl("CertRep");
		log_warnx("cannot build CertRep for transaction %s",
		    p7_req_get0_transaction_id(c->req));
		reply_text(r, 500, "internal error\n");
		return;
	}
	r->status = 200;
	r->content_type = "application/x-pki-message";
	r->body = der;
	r->len = len;
	r->free_body = 1;
}

/* What identifies this request in scepd.transactions. */
static void
tx_identity(const struct scep_ctx *c, struct db_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->transaction_id = p7_req_get0_transaction_id(c->req);
	tx->message_type = p7_req_message_type(c->req);
	tx->signer_cert_sha256 = c->signer;
	tx->signer_key_sha256 = c->key;
	tx->request_sha256 = c->csr;
}

int
enroll_begin(struct scep_ctx *c, struct db_prior *prior, char *err,
    size_t errlen)
{
	struct db_tx	rq;

	tx_identity(c, &rq);
	if (db_enroll_begin(c->w->db, &rq,
	    c->w->srv->conf->retransmission_window_hours, prior, err,
	    errlen) == -1)
		return -1;
	c->tx_row = prior->row_id;
	return 0;
}

/* Fill and record the transaction row in the open database transaction. */
int
enroll_record(struct scep_ctx *c, enum db_tx_state state, int fail_info,
    const char *serial, char *err, size_t errlen)
{
	struct db_tx	tx;

	tx_identity(c, &tx);
	tx.state = state;
	tx.fail_info = fail_info;
	tx.cert_serial = serial;
	tx.profile = c->prof->policy.name;
	tx.peer = c->addr;
	return db_tx_record(c->w->db, &tx, &c->tx_row, err, errlen);
}

/*
 * Record a refusal of an authentic request (its transaction row and an
 * audit line) in the open transaction.  Returns 0 or -1 with err; the
 * owner of the transaction commits or rolls back.
 */
int
enroll_record_failure(struct scep_ctx *c, enum p7_fail_info fi,
    const char *reason, char *err, size_t errlen)
{
	if (enroll_record(c, DB_TX_FAILURE, (int)fi, NULL, err, errlen) == -1 ||
	    db_audit(c->w->db, c->actor, "refuse",
	    p7_req_get0_transaction_id(c->req), reason, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * Issue inside the open database transaction: draw a serial, sign, insert
 * (drawing again on the rare collision), record the transaction, supersede
 * a renewed certificate, write the audit row.  Returns the certificate,
 * described in *d, which the caller may send only once its COMMIT is
 * confirmed; NULL with err on failure (the caller rolls back).
 */
X509 *
enroll_issue(struct scep_ctx *c, X509_REQ *csr, const struct policy_plan *plan,
    const char *renewed_serial, struct p7_cert_desc *d, char *err,
    size_t errlen)
{
	X509			*crt = NULL;	/* owned until returned */
	struct p7_issue		 spec;
	struct db_cert		 dc;
	unsigned char		 serial[P7_SERIAL_LEN];
	const char		*tid = p7_req_get0_transaction_id(c->req);
	int			 rc = 1;

	memset(d, 0, sizeof(*d));
	memset(&spec, 0, sizeof(spec));
	spec.serial = serial;
	spec.serial_len = sizeof(serial);
	spec.not_before = plan->not_before;
	spec.not_after = plan->not_after;
	spec.subject = plan->subject;
	spec.san = plan->san;
	spec.key_usage = plan->key_usage;
	spec.eku = plan->eku;
	spec.sid = plan->sid;
	spec.crl_url = plan->crl_url;
	spec.ocsp_url = plan->ocsp_url;
	spec.ca_issuers_url = plan->ca_issuers_url;
	for (int attempt = 0; rc == 1 && attempt < 3; attempt++) {
		X509_free(crt);
		crt = NULL;
		p7_cert_desc_clear(d);
		if (p7_serial_random(serial) == -1) {
			snprintf(err, errlen, "no random serial");
			goto fail;
		}
		if (p7_issue(c->prof->ca, csr, &spec, &crt, err, errlen) == -1)
			goto fail;
		if (p7_cert_describe(crt, d) == -1) {
			snprintf(err, errlen, "cannot describe certificate");
			goto fail;
		}
		memset(&dc, 0, sizeof(dc));
		dc.serial = d->serial;
		dc.issuer = d->issuer;
		dc.ca_key = c->prof->ca_key_id;
		dc.subject = d->subject;
		dc.sans = d->sans;
		dc.not_before = d->not_before;
		dc.not_after = d->not_after;
		dc.der = d->der;
		dc.der_len = d->der_len;
		dc.key_sha256 = d->key_sha256;
		dc.transaction_id = tid;
		dc.profile = c->prof->policy.name;
		dc.device_id = plan->device_id;
		if ((rc = db_cert_insert(c->w->db, &dc, err, errlen)) == -1)
			goto fail;
	}
	if (rc != 0) {
		snprintf(err, errlen, "three serial collisions in a row");
		goto fail;
	}
	if (enroll_record(c, DB_TX_SUCCESS, -1, d->serial, err, errlen) == -1 ||
	    (renewed_serial != NULL &&
	    renew_supersede(c, renewed_serial, d->serial, err, errlen) == -1) ||
	    db_audit(c->w->db, c->actor, renewed_serial ? "renew" : "issue",
	    d->serial, d->subject, err, errlen) == -1)
		goto fail;
	return crt;
fail:
	p7_cert_desc_clear(d);
	X509_free(crt);
	return NULL;
}

int
enroll_keeps(const struct enroll_outcome *o)
{
	return o->step != ENROLL_ANSWERED && !o->failed;
}

void
enroll_answer(struct scep_ctx *c, struct enroll_outcome *o, struct reply *r)
{
	const char	*tid = p7_req_get0_transaction_id(c->req);

	switch (o->step) {
	case ENROLL_ANSWERED:
		break;
	case ENROLL_REFUSED:
		/* Nothing was issued: a refusal not recorded is still one. */
		if (!o->committed)
			log_warnx("transaction %s: cannot record refusal: %s",
			    tid, o->err);
		webhook_notify(c, NULL, o->v.reason);
		enroll_certrep(c, P7_PKI_FAILURE, (enum p7_fail_info)o->v.fail,
		    NULL, r);
		break;
	case ENROLL_HELD:
		if (!o->committed) {
			log_warnx("%s %s %s: cannot hold for approval: %s -> 503",
			    c->peer, enroll_msg_name(c), tid, o->err);
			reply_text(r, 503, "cannot hold the request, retry later\n");
			break;
		}
		log_info("%s %s %s: waiting for approval -> PENDING", c->peer,
		    enroll_msg_name(c), tid);
		enroll_certrep(c, P7_PKI_PENDING, 0, NULL, r);
		break;
	case ENROLL_ISSUED:
		if (!o->committed) {
			log_openssl("issue");
			log_warnx("%s %s %s: %snot issued: %s -> 503", c->peer,
			    enroll_msg_name(c), tid, o->what ? o->what : "", o->err);
			reply_text(r, 503, "cannot issue now, retry later\n");
			break;
		}
		log_info("%s %s %s: issued serial %s to \"%s\"%s%s", c->peer,
		    enroll_msg_name(c), tid, o->d.serial, o->d.subject,
		    o->renewed ? " renewing " : "", o->renewed ? o->renewed : "");
		webhook_notify(c, o->crt, NULL);
		enroll_certrep(c, P7_PKI_SUCCESS, 0, o->crt, r);
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

/* Answer with the certificate a finished transaction already issued. */
static void
replay(struct scep_ctx *c, const struct db_prior *prior, struct reply *r)
{
	const unsigned char	*p = prior->cert_der;
	X509			*crt;

	if ((crt = d2i_X509(NULL, &p, (long)prior->cert_der_len)) == NULL) {
		log_warnx("%s %s %s: stored certificate %s unreadable", c->peer,
		    enroll_msg_name(c), p7_req_get0_transaction_id(c->req),
		    prior->serial);
		reply_text(r, 500, "internal error\n");
		return;
	}
	log_info("%s %s %s: retransmission, serial %s sent again", c->peer,
	    enroll_msg_name(c), p7_req_get0_transaction_id(c->req),
	    prior->serial);
	enroll_certrep(c, P7_PKI_SUCCESS, 0, crt, r);
	X509_free(crt);
}

/*
 * What enroll() gets when its transaction must end before the answer:
 * a request held for approval is answered as a CertPoll, which takes
 * the transactionID's lock anew.
 */
#define ENROLL_POLL	(-1)

/*
 * PKCSReq and RenewalReq inside the transaction enroll() began: decide,
 * and record what is decided.  Fills *o (and *r for ENROLL_ANSWERED);
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
	int			 clen, renewal, twin, rc = 0;

	memset(&signer, 0, sizeof(signer));
	o->step = ENROLL_ANSWERED;
	/* One transactionID, one requester key (docs/protocol.md). */
	if (prior->key_mismatch) {
		log_info("%s %s %s: transactionID already used by another key "
		    "-> FAILURE badRequest", c->peer, enroll_msg_name(c), tid);
		enroll_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
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

	/*
	 * RenewalReq, or a PKCSReq signed by a certificate we issued (how
	 * sscep -O and certmonger renew) when the profile allows renewal.
	 */
	renewal = p7_req_message_type(c->req) == P7_MSG_RENEWALREQ ||
	    (p7_req_signer_issued(c->req) && c->prof->policy.renewal.enabled);
	if (renewal && renew_signer(c, &signer, o->renewed_serial,
	    sizeof(o->renewed_serial), o->err, sizeof(o->err)) == -1) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    enroll_msg_name(c), tid, o->err);
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
		    enroll_msg_name(c), tid, o->err);
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
	ops.validate = webhook_validate;
	ops.ctx = c;
	if (policy_decide(&c->prof->policy, &ops, &pr, &o->v) == -1) {
		OPENSSL_cleanse(challenge, sizeof(challenge));
		log_warnx("%s %s %s: policy error -> 500", c->peer,
		    enroll_msg_name(c), tid);
		reply_text(r, 500, "internal error\n");
		goto out;
	}
	OPENSSL_cleanse(challenge, sizeof(challenge));

	switch (o->v.decision) {
	case POLICY_DENY:
		log_info("%s %s %s: %s -> FAILURE %s", c->peer,
		    enroll_msg_name(c), tid, o->v.reason,
		    enroll_fail_names[o->v.fail]);
		/* A consumed one-time challenge stays consumed: it was shown. */
		o->step = ENROLL_REFUSED;
		o->failed = enroll_record_failure(c, (enum p7_fail_info)o->v.fail,
		    o->v.reason, o->err, sizeof(o->err)) == -1;
		break;
	case POLICY_RETRY:
		/*
		 * Transient: nothing recorded, no notification; the client
		 * sends the same request again and it is judged then.
		 */
		log_warnx("%s %s %s: %s -> 503", c->peer, enroll_msg_name(c),
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
		o->crt = enroll_issue(c, pr.csr, &o->v.plan, o->renewed, &o->d,
		    o->err, sizeof(o->err));
		o->failed = o->crt == NULL;
		break;
	}
out:
	X509_NAME_free(signer.subject);
	free((char *)(uintptr_t)signer.device_id);
	return rc;
}

/* PKCSReq and RenewalReq: the transaction begins and ends here. */
static void
enroll(struct scep_ctx *c, struct reply *r)
{
	struct db_prior		 prior;
	struct enroll_outcome	 o;
	int			 poll;

	memset(&prior, 0, sizeof(prior));
	memset(&o, 0, sizeof(o));
	if (enroll_begin(c, &prior, o.err, sizeof(o.err)) == -1) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    enroll_msg_name(c), p7_req_get0_transaction_id(c->req),
		    o.err);
		reply_text(r, 503, "database unavailable, retry later\n");
		return;
	}
	poll = enroll_decide(c, &prior, &o, r);
	/* The one end of the transaction: a SUCCESS only after its COMMIT. */
	if (enroll_keeps(&o) && db_commit(c->w->db, o.err, sizeof(o.err)) == 0)
		o.committed = 1;
	else
		db_rollback(c->w->db);
	if (poll == ENROLL_POLL)
		pending_certpoll(c, r);
	else
		enroll_answer(c, &o, r);
	enroll_outcome_clear(&o);
	db_prior_clear(&prior);
}

void
enroll_pkioperation(struct worker *w, struct conf_profile *prof,
    const unsigned char *der, size_t len, const char *peer, struct reply *r)
{
	struct scep_ctx		 c;
	struct p7_req		*req = NULL;	/* owned */
	enum p7_status		 st;
	enum p7_fail_info	 fi;
	const char		*colon;
	char			 err[256] = "";

	ERR_clear_error();
	memset(&c, 0, sizeof(c));
	c.w = w;
	c.prof = prof;
	c.peer = peer;
	colon = strrchr(peer, ':');
	snprintf(c.addr, sizeof(c.addr), "%.*s",
	    (int)(colon ? (size_t)(colon - peer) : strlen(peer)), peer);
	snprintf(c.actor, sizeof(c.actor), "scep:%s", c.addr);

	st = p7_req_parse(prof->ca, der, len, &prof->algs, &req, err,
	    sizeof(err));
	c.req = req;
	switch (st) {
	case P7_MALFORMED:
		log_info("%s PKIOperation: malformed pkiMessage (%s) -> 400",
		    peer, err);
		reply_text(r, 400, "malformed pkiMessage\n");
		goto out;
	case P7_INTERNAL:
		log_openssl("parse");
		log_warnx("%s PKIOperation: %s -> 500", peer, err);
		reply_text(r, 500, "internal error\n");
		goto out;
	case P7_FAILED:
		fi = p7_req_fail_info(req);
		log_info("%s %s %s: %s -> FAILURE %s", peer, enroll_msg_name(&c),
		    p7_req_get0_transaction_id(req), err, enroll_fail_names[fi]);
		enroll_certrep(&c, P7_PKI_FAILURE, fi, NULL, r);
		goto out;
	case P7_OK:
		break;
	}
	p7_req_signer_key_sha256(req, c.key);
	p7_req_issued_signer_sha256(req, c.signer);
	p7_req_csr_sha256(req, c.csr);
	switch (p7_req_message_type(req)) {
	case P7_MSG_PKCSREQ:
	case P7_MSG_RENEWALREQ:
		enroll(&c, r);
		break;
	case P7_MSG_CERTPOLL:
		pending_certpoll(&c, r);
		break;
	case P7_MSG_GETCERT:
		getcert_answer(&c, r);
		break;
	case P7_MSG_GETCRL:
		revocation_getcrl(&c, r);
		break;
	default:
		log_info("%s %s %s: not served -> FAILURE badRequest", peer,
		    enroll_msg_name(&c), p7_req_get0_transaction_id(req));
		enroll_certrep(&c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		break;
	}
out:
	p7_req_free(req);
	ERR_clear_error();
}
