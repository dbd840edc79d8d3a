/*
 * One PKIOperation: pkcs7/ decodes, policy/ decides, db/ records in one
 * transaction committed before the reply, pkcs7/ signs the certificate and
 * the CertRep.  Nothing is signed for a request that has not passed the
 * challenge (reliability.md N2), and no SUCCESS leaves without a confirmed
 * COMMIT.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scepd.h"

static const char *const fail_names[] = {
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

static void
text_reply(struct reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain";
	r->body = (unsigned char *)(uintptr_t)text;
	r->len = strlen(text);
	r->free_body = 0;
}

/* Sign a CertRep into *r; an HTTP 500 if even that fails. */
static void
certrep(struct worker *w, const struct p7_req *req, enum p7_pki_status st,
    enum p7_fail_info fi, X509 *issued, struct reply *r)
{
	unsigned char	*der = NULL;
	size_t		 len = 0;

	if (p7_certrep(w->srv->ca, req, st, fi, issued, &der, &len) == -1) {
		log_openssl("CertRep");
		log_warnx("cannot build CertRep for transaction %s",
		    p7_req_get0_transaction_id(req));
		text_reply(r, 500, "internal error\n");
		return;
	}
	r->status = 200;
	r->content_type = "application/x-pki-message";
	r->body = der;
	r->len = len;
	r->free_body = 1;
}

static void
peer_addr(const char *peer, char *buf, size_t len)
{
	const char	*colon = strrchr(peer, ':');
	size_t		 n = colon ? (size_t)(colon - peer) : strlen(peer);

	snprintf(buf, len, "%.*s", (int)n, peer);
}

/*
 * Record a refusal of an authentic request (its transaction row and an
 * audit line) in its own database transaction.  A failure to record is
 * logged but does not change the answer: nothing was issued.
 */
static void
record_failure(struct worker *w, const struct p7_req *req, const char *peer,
    const unsigned char key[32], const unsigned char csr[32],
    enum p7_fail_info fi, const char *reason)
{
	struct db_tx	 tx;
	char		 err[256], actor[96], addr[64];

	peer_addr(peer, addr, sizeof(addr));
	snprintf(actor, sizeof(actor), "scep:%s", addr);
	memset(&tx, 0, sizeof(tx));
	tx.transaction_id = p7_req_get0_transaction_id(req);
	tx.signer_key_sha256 = key;
	tx.request_sha256 = csr;
	tx.message_type = p7_req_message_type(req);
	tx.state = DB_TX_FAILURE;
	tx.fail_info = (int)fi;
	tx.profile = w->srv->profile.name;
	tx.peer = addr;
	if (db_tx_record(w->db, &tx, err, sizeof(err)) == -1 ||
	    db_audit(w->db, actor, "refuse", tx.transaction_id, reason, err,
	    sizeof(err)) == -1 || db_commit(w->db, err, sizeof(err)) == -1) {
		db_rollback(w->db);
		log_warnx("transaction %s: cannot record refusal: %s",
		    tx.transaction_id, err);
	}
}

/*
 * Issue inside the open database transaction: draw a serial, sign, insert
 * (drawing again on the rare collision), record the transaction and the
 * audit row, commit.  Returns the certificate only after the commit.
 */
static X509 *
issue(struct worker *w, const struct p7_req *req, const char *peer,
    const unsigned char key[32], const unsigned char csr[32],
    const struct policy_verdict *v, char *err, size_t errlen)
{
	X509			*crt = NULL;	/* owned until returned */
	struct p7_cert_desc	 d;
	struct p7_issue		 spec;
	struct db_cert		 dc;
	struct db_tx		 tx;
	unsigned char		 serial[P7_SERIAL_LEN];
	char			 actor[96], addr[64];
	int			 rc = 1;

	memset(&d, 0, sizeof(d));
	for (int attempt = 0; rc == 1 && attempt < 3; attempt++) {
		X509_free(crt);
		crt = NULL;
		p7_cert_desc_clear(&d);
		if (p7_serial_random(serial) == -1) {
			snprintf(err, errlen, "no random serial");
			goto fail;
		}
		spec.serial = serial;
		spec.serial_len = sizeof(serial);
		spec.not_before = v->not_before;
		spec.not_after = v->not_after;
		if (p7_issue(w->srv->ca, p7_req_get0_csr(req), &spec, &crt, err,
		    errlen) == -1 || p7_cert_describe(crt, &d) == -1) {
			if (err[0] == '\0')
				snprintf(err, errlen, "cannot describe certificate");
			goto fail;
		}
		memset(&dc, 0, sizeof(dc));
		dc.serial = d.serial;
		dc.issuer = d.issuer;
		dc.subject = d.subject;
		dc.sans = d.sans;
		dc.not_before = d.not_before;
		dc.not_after = d.not_after;
		dc.der = d.der;
		dc.der_len = d.der_len;
		dc.key_sha256 = d.key_sha256;
		dc.transaction_id = p7_req_get0_transaction_id(req);
		dc.profile = w->srv->profile.name;
		if ((rc = db_cert_insert(w->db, &dc, err, errlen)) == -1)
			goto fail;
	}
	if (rc != 0) {
		snprintf(err, errlen, "three serial collisions in a row");
		goto fail;
	}
	peer_addr(peer, addr, sizeof(addr));
	snprintf(actor, sizeof(actor), "scep:%s", addr);
	memset(&tx, 0, sizeof(tx));
	tx.transaction_id = p7_req_get0_transaction_id(req);
	tx.signer_key_sha256 = key;
	tx.request_sha256 = csr;
	tx.message_type = p7_req_message_type(req);
	tx.state = DB_TX_SUCCESS;
	tx.fail_info = -1;
	tx.cert_serial = d.serial;
	tx.profile = w->srv->profile.name;
	tx.peer = addr;
	if (db_tx_record(w->db, &tx, err, errlen) == -1 ||
	    db_audit(w->db, actor, "issue", d.serial, d.subject, err,
	    errlen) == -1 || db_commit(w->db, err, errlen) == -1)
		goto fail;
	log_info("%s PKCSReq %s: issued serial %s to \"%s\"", peer,
	    tx.transaction_id, d.serial, d.subject);
	p7_cert_desc_clear(&d);
	return crt;
fail:
	db_rollback(w->db);
	p7_cert_desc_clear(&d);
	X509_free(crt);
	return NULL;
}

static void
pkcsreq(struct worker *w, const struct p7_req *req, const char *peer,
    struct reply *r)
{
	const char		*tid = p7_req_get0_transaction_id(req);
	struct db_prior		 prior;
	struct policy_request	 pr;
	struct policy_verdict	 v;
	unsigned char		 key[32], csr[32];
	const unsigned char	*p;
	X509			*crt = NULL;	/* owned */
	char			 challenge[256], err[256] = "";
	int			 clen;

	memset(&prior, 0, sizeof(prior));
	p7_req_signer_key_sha256(req, key);
	p7_req_csr_sha256(req, csr);
	if (db_enroll_begin(w->db, tid, key, csr, &prior, err,
	    sizeof(err)) == -1) {
		log_warnx("%s PKCSReq %s: database: %s -> 503", peer, tid, err);
		text_reply(r, 503, "database unavailable, retry later\n");
		return;
	}
	/* DESIGN.md: one transactionID, one requester key. */
	if (prior.key_mismatch) {
		db_rollback(w->db);
		log_info("%s PKCSReq %s: transactionID already used by another "
		    "key -> FAILURE badRequest", peer, tid);
		certrep(w, req, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		goto out;
	}
	/* A retransmission gets the certificate it already has. */
	if (prior.state == DB_TX_SUCCESS) {
		db_rollback(w->db);
		p = prior.cert_der;
		if ((crt = d2i_X509(NULL, &p, (long)prior.cert_der_len)) == NULL) {
			log_warnx("%s PKCSReq %s: stored certificate %s unreadable",
			    peer, tid, prior.serial);
			text_reply(r, 500, "internal error\n");
			goto out;
		}
		log_info("%s PKCSReq %s: retransmission, serial %s sent again",
		    peer, tid, prior.serial);
		certrep(w, req, P7_PKI_SUCCESS, 0, crt, r);
		goto out;
	}

	memset(&pr, 0, sizeof(pr));
	clen = p7_req_challenge(req, challenge, sizeof(challenge));
	pr.challenge = clen >= 0 ? challenge : NULL;
	pr.challenge_len = clen >= 0 ? (size_t)clen : 0;
	pr.now = time(NULL);
	if (policy_decide_pkcsreq(&w->srv->profile, &pr, &v) == -1) {
		OPENSSL_cleanse(challenge, sizeof(challenge));
		db_rollback(w->db);
		log_warnx("%s PKCSReq %s: policy error -> 500", peer, tid);
		text_reply(r, 500, "internal error\n");
		goto out;
	}
	OPENSSL_cleanse(challenge, sizeof(challenge));
	if (!v.allow) {
		log_info("%s PKCSReq %s: %s -> FAILURE %s", peer, tid, v.reason,
		    fail_names[v.fail]);
		record_failure(w, req, peer, key, csr, (enum p7_fail_info)v.fail,
		    v.reason);
		certrep(w, req, P7_PKI_FAILURE, (enum p7_fail_info)v.fail, NULL, r);
		goto out;
	}
	if ((crt = issue(w, req, peer, key, csr, &v, err, sizeof(err))) == NULL) {
		log_openssl("issue");
		log_warnx("%s PKCSReq %s: not issued: %s -> 503", peer, tid, err);
		text_reply(r, 503, "cannot issue now, retry later\n");
		goto out;
	}
	certrep(w, req, P7_PKI_SUCCESS, 0, crt, r);
out:
	X509_free(crt);
	db_prior_clear(&prior);
}

void
enroll_pkioperation(struct worker *w, const unsigned char *der, size_t len,
    const char *peer, struct reply *r)
{
	struct p7_req		*req = NULL;	/* owned */
	enum p7_status		 st;
	enum p7_fail_info	 fi;
	char			 err[256] = "";
	const char		*tid;

	ERR_clear_error();
	st = p7_req_parse(w->srv->ca, der, len, &w->srv->conf->algs, &req, err,
	    sizeof(err));
	switch (st) {
	case P7_MALFORMED:
		log_info("%s PKIOperation: malformed pkiMessage (%s) -> 400",
		    peer, err);
		text_reply(r, 400, "malformed pkiMessage\n");
		goto out;
	case P7_INTERNAL:
		log_openssl("parse");
		log_warnx("%s PKIOperation: %s -> 500", peer, err);
		text_reply(r, 500, "internal error\n");
		goto out;
	case P7_FAILED:
		fi = p7_req_fail_info(req);
		log_info("%s %s %s: %s -> FAILURE %s", peer,
		    msg_name(p7_req_message_type(req)),
		    p7_req_get0_transaction_id(req), err, fail_names[fi]);
		certrep(w, req, P7_PKI_FAILURE, fi, NULL, r);
		goto out;
	case P7_OK:
		break;
	}
	tid = p7_req_get0_transaction_id(req);
	switch (p7_req_message_type(req)) {
	case P7_MSG_PKCSREQ:
		pkcsreq(w, req, peer, r);
		break;
	default:
		/* RenewalReq, CertPoll, GetCert, GetCRL: not served yet. */
		log_info("%s %s %s: not enabled on this server -> FAILURE "
		    "badRequest", peer, msg_name(p7_req_message_type(req)), tid);
		certrep(w, req, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		break;
	}
out:
	p7_req_free(req);
	ERR_clear_error();
}
