/*
 * Manual approval and CertPoll (GetCertInitial).
 *
 * A request held for approval is stored with its PKCS#10 request and
 * signer certificate (pending_store), so it can be issued without the
 * client resending it.  A CertPoll, or the client's PKCSReq again, is
 * looked up by transactionID and signer key (RFC 8894 3.3.3), not by
 * IssuerAndSubject, whose issuer need only be one of the CA's names
 * (p7_ca_is_own_name: certmonger gives the CA's issuer, sscep the RA's
 * subject), under the transactionID's lock, so two polls never issue
 * twice: it gets PENDING until an operator decides (scepctl pending
 * approve|reject), then the certificate, issued at that moment under the
 * profile's current template, or FAILURE.  Held requests live in
 * PostgreSQL and survive restarts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/core.h"
#include "server/scep/outcome.h"
#include "server/scep/pending.h"
#include "server/scep/webhook.h"

/* name as RFC 2253 text, control characters escaped, into buf. */
static void
name_text(X509_NAME *name, char *buf, size_t len)
{
	BIO	*bio;
	int	 n;

	buf[0] = '\0';
	if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_read(bio, buf, (int)len - 1)) > 0)
		buf[n] = '\0';
	BIO_free(bio);
}

int
pending_store(struct scep_ctx *c, const struct policy_plan *plan, char *err,
    size_t errlen)
{
	const char	*tid = p7_req_get0_transaction_id(c->req);
	X509_REQ	*csr = p7_req_get0_csr(c->req);	/* borrowed */
	X509		*signer = p7_req_get0_signer(c->req);	/* borrowed */
	unsigned char	*req_der = NULL;	/* owned */
	unsigned char	*sig_der = NULL;	/* owned */
	struct db_hold	 h;
	char		 subject[512];
	int		 req_len, sig_len, rc = -1;

	if (csr == NULL || signer == NULL) {
		snprintf(err, errlen, "no request or signer to hold");
		goto out;
	}
	if ((req_len = i2d_X509_REQ(csr, &req_der)) <= 0 ||
	    (sig_len = i2d_X509(signer, &sig_der)) <= 0) {
		snprintf(err, errlen, "cannot encode the request");
		goto out;
	}
	name_text(X509_REQ_get_subject_name(csr), subject, sizeof(subject));
	memset(&h, 0, sizeof(h));
	h.transaction_id = tid;
	h.request_der = req_der;
	h.request_der_len = (size_t)req_len;
	h.signer_der = sig_der;
	h.signer_der_len = (size_t)sig_len;
	h.request_subject = subject;
	h.device_id = plan->device_id;
	if (scep_record(c, DB_TX_PENDING, -1, NULL, err, errlen) == -1)
		goto out;
	h.row_id = c->tx_row;
	if (db_pending_hold(c->w->db, &h, err, errlen) == DB_ERROR ||
	    db_audit(c->w->db, c->actor, "hold", tid, subject, err,
	    errlen) == DB_ERROR)
		goto out;
	rc = 0;
out:
	OPENSSL_free(req_der);
	OPENSSL_free(sig_der);
	return rc;
}

static int
is_zero(const unsigned char *b, size_t len)
{
	unsigned char	acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= b[i];
	return acc == 0;
}

/* SUCCESS with a stored certificate. */
static void
send_stored(struct scep_ctx *c, const unsigned char *der, size_t len,
    const char *serial, const char *what, struct reply *r)
{
	const unsigned char	*p = der;
	X509			*crt;

	if ((crt = d2i_X509(NULL, &p, (long)len)) == NULL) {
		log_warnx("%s %s %s: stored certificate %s unreadable -> 500",
		    c->peer, scep_msg_name(c),
		    p7_req_get0_transaction_id(c->req), serial);
		reply_text(r, 500, "internal error\n");
		return;
	}
	log_info("%s %s %s: %s serial %s -> SUCCESS", c->peer,
	    scep_msg_name(c), p7_req_get0_transaction_id(c->req), what,
	    serial);
	scep_certrep(c, P7_PKI_SUCCESS, 0, crt, r);
	X509_free(crt);
}

/*
 * An approved request: in the open transaction (locked on the
 * transactionID), decide again with the profile's current template, as
 * of now, and issue.  The transaction row is the stored request's, so
 * c->csr becomes its hash.  Fills *o (and *r for ENROLL_ANSWERED) for
 * pending_certpoll(), which ends the transaction.
 */
static void
issue_approved(struct scep_ctx *c, const struct db_pending *p,
    struct enroll_outcome *o, struct reply *r)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	const unsigned char	*q = p->request_der;
	struct policy_request	 pr;
	X509_REQ		*csr = NULL;	/* owned */

	o->step = ENROLL_ANSWERED;
	o->what = "approved, ";
	if (q == NULL || (csr = d2i_X509_REQ(NULL, &q,
	    (long)p->request_der_len)) == NULL) {
		log_warnx("%s %s %s: stored request unreadable -> 500", c->peer,
		    scep_msg_name(c), tid);
		reply_text(r, 500, "internal error\n");
		goto out;
	}
	memset(&pr, 0, sizeof(pr));
	pr.csr = csr;
	pr.approved = 1;
	pr.now = time(NULL);
	if (policy_decide(&c->prof->policy, NULL, &pr, &o->v) == -1 ||
	    o->v.decision == POLICY_PENDING || o->v.decision == POLICY_RETRY) {
		log_warnx("%s %s %s: policy error on an approved request -> 500",
		    c->peer, scep_msg_name(c), tid);
		reply_text(r, 500, "internal error\n");
		goto out;
	}
	memcpy(c->csr, p->request_sha256, sizeof(c->csr));
	if (o->v.decision == POLICY_DENY) {
		log_info("%s %s %s: approved, but %s -> FAILURE %s", c->peer,
		    scep_msg_name(c), tid, o->v.reason,
		    scep_fail_names[o->v.fail]);
		o->step = ENROLL_REFUSED;
		o->failed = scep_record_failure(c, (enum p7_fail_info)o->v.fail,
		    o->v.reason, o->err, sizeof(o->err)) == -1 ||
		    webhook_queue(c, NULL, o->v.reason, o->err,
		    sizeof(o->err)) == -1;
		goto out;
	}
	/* The device the challenge named when the request was held. */
	if (o->v.plan.device_id == NULL && p->device_id != NULL &&
	    (o->v.plan.device_id = strdup(p->device_id)) == NULL) {
		reply_text(r, 500, "internal error\n");
		goto out;
	}
	o->step = ENROLL_ISSUED;
	o->crt = scep_issue(c, csr, &o->v.plan, NULL, &o->d, o->err,
	    sizeof(o->err));
	o->failed = o->crt == NULL || webhook_queue(c, o->crt, NULL, o->err,
	    sizeof(o->err)) == -1;
	enroll_sign_refused(c, o);
out:
	X509_REQ_free(csr);
}

/*
 * In the transaction pending_certpoll() began: what the poll finds.
 * Fills *o (and *r for ENROLL_ANSWERED); never ends the transaction.
 */
static void
certpoll_decide(struct scep_ctx *c, const struct db_prior *prior,
    struct db_pending *p, struct enroll_outcome *o, struct reply *r)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	enum p7_fail_info	 fi;
	enum db_rc		 t;

	o->step = ENROLL_ANSWERED;
	/* A CertPoll has no request: its newest transaction. */
	if ((t = db_pending_get(c->w->db, tid, c->key,
	    is_zero(c->csr, sizeof(c->csr)) ? NULL : c->csr, p, o->err,
	    sizeof(o->err))) == DB_ERROR) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    scep_msg_name(c), tid, o->err);
		reply_text(r, 503, "database unavailable, retry later\n");
		return;
	}
	if (t == DB_NOT_FOUND) {
		/* RFC 8894 4.4: the transaction is the signer key's. */
		if (prior->key_mismatch) {
			log_info("%s %s %s: transaction of another signer key "
			    "-> FAILURE badRequest", c->peer, scep_msg_name(c),
			    tid);
			scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST,
			    NULL, r);
		} else {
			log_info("%s %s %s: no such transaction -> FAILURE "
			    "badCertId", c->peer, scep_msg_name(c), tid);
			scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID,
			    NULL, r);
		}
		return;
	}
	/* What this poll decides is recorded on the row it polls for. */
	c->tx_row = p->row_id;
	/* Issued and signed by the CA of the profile it was held on. */
	if (p->profile[0] != '\0' &&
	    strcmp(p->profile, c->prof->policy.name) != 0) {
		log_info("%s %s %s: transaction of profile %s -> FAILURE "
		    "badCertId", c->peer, scep_msg_name(c), tid, p->profile);
		scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID, NULL, r);
		return;
	}
	switch (p->state) {
	case DB_TX_SUCCESS:
		send_stored(c, p->cert_der, p->cert_der_len, p->serial,
		    "issued", r);
		break;
	case DB_TX_FAILURE:
		fi = p->fail_info >= 0 && p->fail_info <= P7_FAIL_BAD_CERT_ID ?
		    (enum p7_fail_info)p->fail_info : P7_FAIL_BAD_REQUEST;
		log_info("%s %s %s: %s%s%s -> FAILURE %s", c->peer,
		    scep_msg_name(c), tid,
		    p->approval == DB_APPROVAL_REJECTED ? "rejected" : "refused",
		    p->reason != NULL ? ": " : "",
		    p->reason != NULL ? p->reason : "", scep_fail_names[fi]);
		scep_certrep(c, P7_PKI_FAILURE, fi, NULL, r);
		break;
	default:
		if (p->approval == DB_APPROVAL_APPROVED) {
			issue_approved(c, p, o, r);
			break;
		}
		log_info("%s %s %s: waiting for approval -> PENDING", c->peer,
		    scep_msg_name(c), tid);
		scep_certrep(c, P7_PKI_PENDING, 0, NULL, r);
		break;
	}
}

/* CertPoll, and a held PKCSReq sent again: its transaction is this one's. */
void
pending_certpoll(struct scep_ctx *c, struct reply *r)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	struct db_prior		 prior;
	struct db_pending	 p;
	struct enroll_outcome	 o;

	memset(&prior, 0, sizeof(prior));
	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	/* A CertPoll names the CA; a PKCSReq sent again does not. */
	if (p7_req_message_type(c->req) == P7_MSG_CERTPOLL &&
	    !p7_ca_is_own_name(c->prof->ca, p7_req_get0_issuer(c->req))) {
		log_info("%s %s %s: issuer is not this CA -> FAILURE badCertId",
		    c->peer, scep_msg_name(c), tid);
		scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID, NULL, r);
		return;
	}
	/* The lock every request of this transactionID takes. */
	if (scep_begin(c, &prior, o.err, sizeof(o.err)) == -1) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    scep_msg_name(c), tid, o.err);
		reply_text(r, 503, "database unavailable, retry later\n");
		return;
	}
	certpoll_decide(c, &prior, &p, &o, r);
	/* The one end of the transaction: a SUCCESS only after its COMMIT. */
	if (enroll_keeps(&o) &&
	    db_commit(c->w->db, o.err, sizeof(o.err)) == DB_OK)
		o.committed = 1;
	else
		db_rollback(c->w->db);
	scep_settle(c, o.committed);
	enroll_answer(c, &o, r);
	enroll_outcome_clear(&o);
	db_pending_clear(&p);
	db_prior_clear(&prior);
}

int
pending_approved(struct scep_ctx *c, struct reply *r, char *err,
    size_t errlen)
{
	X509_REQ		*csr = p7_req_get0_csr(c->req);	/* borrowed */
	X509_REQ		*held = NULL;	/* owned */
	struct db_pending	 p;
	const unsigned char	*q;
	enum db_rc		 t;
	int			 rc = -1;

	memset(&p, 0, sizeof(p));
	if (csr == NULL) {
		rc = PENDING_TWIN_NONE;
		goto out;
	}
	if ((t = db_pending_approved(c->w->db, p7_req_get0_transaction_id(c->req),
	    c->key, c->w->srv->conf->retransmission_window_hours, &p, err,
	    errlen)) == DB_ERROR)
		goto out;
	rc = PENDING_TWIN_NONE;
	if (t == DB_NOT_FOUND || (q = p.request_der) == NULL)
		goto out;
	if ((held = d2i_X509_REQ(NULL, &q, (long)p.request_der_len)) == NULL)
		goto out;
	if (EVP_PKEY_eq(X509_REQ_get0_pubkey(held),
	    X509_REQ_get0_pubkey(csr)) != 1 ||
	    X509_NAME_cmp(X509_REQ_get_subject_name(held),
	    X509_REQ_get_subject_name(csr)) != 0)
		goto out;
	if (p.state == DB_TX_SUCCESS) {
		send_stored(c, p.cert_der, p.cert_der_len, p.serial,
		    "approved twin issued", r);
		rc = PENDING_TWIN_ISSUED;
	} else
		rc = PENDING_TWIN_APPROVED;
out:
	X509_REQ_free(held);
	db_pending_clear(&p);
	return rc;
}

