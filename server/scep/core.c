/*
 * What every SCEP operation shares (RFC 8894 3.3): the names of message
 * types and failInfo values for the log, the CertRep, the transaction
 * row of scepd.transactions, and issuing a certificate inside an open
 * transaction.  Nothing here begins, commits or rolls back a database
 * transaction: the operation that begins it (enroll.c, pending.c) ends
 * it, and no SUCCESS leaves without a confirmed COMMIT.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/core.h"

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

const char *const scep_fail_names[] = {
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
scep_msg_name(const struct scep_ctx *c)
{
	return msg_name(p7_req_message_type(c->req));
}

int
scep_serial_hex(const X509 *crt, char *buf, size_t len)
{
	BIGNUM	*bn = NULL;	/* owned */
	char	*hex = NULL;	/* owned */
	int	 rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(crt), NULL)) ==
	    NULL || BN_is_negative(bn) || (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	if ((size_t)snprintf(buf, len, "%s", hex) >= len)
		goto out;
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

void
scep_certrep(struct scep_ctx *c, enum p7_pki_status st, enum p7_fail_info fi,
    X509 *issued, struct reply *r)
{
	unsigned char	*der = NULL;
	size_t		 len = 0;

	if (p7_certrep(c->prof->ca, c->req, st, fi, issued, &der, &len) == -1) {
		log_openssl("CertRep");
		if (p7_remote_unavailable()) {
			log_warnx("%s %s %s: CertRep: the signer is "
			    "unavailable -> 503", c->peer, scep_msg_name(c),
			    p7_req_get0_transaction_id(c->req));
			reply_text(r, 503, "signer unavailable, retry later\n");
			return;
		}
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
	r->delivers[0] = '\0';
	/*
	 * The certificate a request for one gets (issued now, sent again
	 * or collected by CertPoll) is delivered once this is written out
	 * (server/http/delivery.c); a GetCert hands out any certificate to
	 * whoever asks, so it delivers nothing.
	 */
	if (st == P7_PKI_SUCCESS && issued != NULL &&
	    p7_req_message_type(c->req) != P7_MSG_GETCERT &&
	    scep_serial_hex(issued, r->delivers, sizeof(r->delivers)) == -1)
		r->delivers[0] = '\0';
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
scep_begin(struct scep_ctx *c, struct db_prior *prior, char *err,
    size_t errlen)
{
	struct db_tx	rq;

	tx_identity(c, &rq);
	if (db_enroll_begin(c->w->db, &rq,
	    c->w->srv->conf->retransmission_window_hours, prior, err,
	    errlen) == DB_ERROR)
		return -1;
	c->tx_row = prior->row_id;
	return 0;
}

int
scep_peek(struct scep_ctx *c, struct db_prior *prior, char *err,
    size_t errlen)
{
	struct db_tx	rq;

	tx_identity(c, &rq);
	return db_enroll_peek(c->w->db, &rq,
	    c->w->srv->conf->retransmission_window_hours, prior, err,
	    errlen) == DB_OK ? 0 : -1;
}

/* Fill and record the transaction row in the open database transaction. */
int
scep_record(struct scep_ctx *c, enum db_tx_state state, int fail_info,
    const char *serial, char *err, size_t errlen)
{
	struct db_tx	tx;

	tx_identity(c, &tx);
	tx.state = state;
	tx.fail_info = fail_info;
	tx.cert_serial = serial;
	tx.profile = c->prof->policy.name;
	tx.peer = c->addr;
	return db_tx_record(c->w->db, &tx, &c->tx_row, err, errlen) == DB_OK ?
	    0 : -1;
}

/*
 * Record a refusal of an authentic request (its transaction row and an
 * audit line) in the open transaction.  Returns 0 or -1 with err; the
 * owner of the transaction commits or rolls back.
 */
int
scep_record_failure(struct scep_ctx *c, enum p7_fail_info fi,
    const char *reason, char *err, size_t errlen)
{
	if (scep_record(c, DB_TX_FAILURE, (int)fi, NULL, err, errlen) == -1 ||
	    db_audit(c->w->db, c->actor, "refuse",
	    p7_req_get0_transaction_id(c->req), reason, err, errlen) ==
	    DB_ERROR)
		return -1;
	return 0;
}

/*
 * Renewed: the old certificate is superseded by the new one, and revoked
 * after the profile's grace (server/sweep.c), at once when it is 0.
 */
static int
supersede(struct scep_ctx *c, const char *old_serial,
    const char *new_serial, char *err, size_t errlen)
{
	const struct policy_renewal	*rn = &c->prof->policy.renewal;

	if (old_serial == NULL || *old_serial == '\0') {
		snprintf(err, errlen, "renewal without the renewed serial");
		return -1;
	}
	if (db_renewal_supersede(c->w->db, old_serial, new_serial,
	    rn->supersede_grace_days, c->actor, err, errlen) == DB_ERROR)
		return -1;
	if (rn->supersede_grace_days == 0)
		log_info("%s %s %s: serial %s superseded by %s and revoked",
		    c->peer, scep_msg_name(c),
		    p7_req_get0_transaction_id(c->req), old_serial, new_serial);
	else
		log_info("%s %s %s: serial %s superseded by %s, revoked in %d "
		    "day%s", c->peer, scep_msg_name(c),
		    p7_req_get0_transaction_id(c->req), old_serial, new_serial,
		    rn->supersede_grace_days,
		    rn->supersede_grace_days == 1 ? "" : "s");
	return 0;
}

/*
 * The worker's second connection, for the reservations that must be
 * committed while its transaction is open on w->db: opened on first use
 * (and again after a failed open), reset by db/ when the server closed
 * it.  NULL with err if it cannot be opened.
 */
static struct db *
reserve_db(struct worker *w, char *err, size_t errlen)
{
	if (w->reserve_db == NULL)
		w->reserve_db = db_open_async(w->srv->conf->database, err,
		    errlen);
	return w->reserve_db;
}

/* Resolve serial's reservation on the reservation connection. */
static enum db_rc
resolve_alone(struct scep_ctx *c, const char *serial, enum db_resv_state st,
    char *err, size_t errlen)
{
	struct db	*db;

	if ((db = reserve_db(c->w, err, errlen)) == NULL)
		return DB_ERROR;
	return db_serial_resolve(db, serial, st, err, errlen);
}

/*
 * The one place that ends "signed but not committed" other than the
 * certificate's own COMMIT (which marks it 'issued'): best effort, as
 * whatever stays 'reserved' is abandoned by the sweep (server/sweep.c).
 */
void
scep_discard(struct scep_ctx *c)
{
	char		 err[256];
	enum db_rc	 rc;

	if (c->signed_serial[0] == '\0')
		return;
	/*
	 * DB_NOT_FOUND: already resolved, by a COMMIT reported in doubt that
	 * took place after all (it marked the reservation 'issued').
	 */
	if ((rc = resolve_alone(c, c->signed_serial, DB_RESV_DISCARDED, err,
	    sizeof(err))) == DB_ERROR)
		log_warnx("transaction %s: serial %s signed but not recorded, "
		    "cannot mark its reservation discarded: %s (the sweep "
		    "will abandon it)", p7_req_get0_transaction_id(c->req),
		    c->signed_serial, err);
	else if (rc == DB_OK)
		log_info("transaction %s: serial %s signed but not recorded: "
		    "reservation discarded", p7_req_get0_transaction_id(c->req),
		    c->signed_serial);
	c->signed_serial[0] = '\0';
}

void
scep_settle(struct scep_ctx *c, int committed)
{
	if (!committed)
		scep_discard(c);
	c->signed_serial[0] = '\0';
}

/*
 * Reserve serial (committed before it is signed, so that a signature
 * always leaves a trace: db/schema/010_serial_reservation.sql).
 */
static enum db_rc
reserve(struct scep_ctx *c, const char *serial, char *err, size_t errlen)
{
	struct db_reservation	 r;
	struct db		*db;

	if ((db = reserve_db(c->w, err, errlen)) == NULL)
		return DB_ERROR;
	memset(&r, 0, sizeof(r));
	r.serial = serial;
	r.ca_key = c->prof->ca_key_id;
	r.transaction_id = p7_req_get0_transaction_id(c->req);
	r.profile = c->prof->policy.name;
	return db_serial_reserve(db, &r, err, errlen);
}

/*
 * Issue inside the open database transaction: draw a serial, reserve it,
 * sign, insert (drawing again on the rare collision), mark the
 * reservation issued, record the transaction, supersede a renewed
 * certificate, write the audit row.  Returns the certificate, described
 * in *d, which the caller may send only once its COMMIT is confirmed;
 * NULL with err on failure (the caller rolls back).  Either way the
 * caller calls scep_settle() once the transaction has ended.
 */
X509 *
scep_issue(struct scep_ctx *c, X509_REQ *csr, const struct policy_plan *plan,
    const char *renewed_serial, struct p7_cert_desc *d, char *err,
    size_t errlen)
{
	X509			*crt = NULL;	/* owned until returned */
	struct p7_issue		 spec;
	struct db_cert		 dc;
	unsigned char		 serial[P7_SERIAL_LEN];
	char			 hex[2 * P7_SERIAL_LEN + 1];
	const char		*tid = p7_req_get0_transaction_id(c->req);
	enum db_rc		 rc = DB_REFUSED;

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
	for (int attempt = 0; rc == DB_REFUSED && attempt < 3; attempt++) {
		X509_free(crt);
		crt = NULL;
		p7_cert_desc_clear(d);
		/*
		 * The last round's certificate lost its serial to one
		 * recorded meanwhile: it is never recorded.
		 */
		scep_discard(c);
		if (p7_serial_random(serial) == -1) {
			snprintf(err, errlen, "no random serial");
			goto fail;
		}
		/* As scepd.certificates keeps it: no leading zero. */
		for (size_t i = 0; i < sizeof(serial); i++)
			snprintf(hex + 2 * i, 3, "%02X", serial[i]);
		if (hex[0] == '0')
			memmove(hex, hex + 1, sizeof(hex) - 1);
		if ((rc = reserve(c, hex, err, errlen)) == DB_ERROR)
			goto fail;
		if (rc == DB_REFUSED)
			continue;
		if (p7_issue(c->prof->ca, csr, &spec, &crt, err, errlen) ==
		    -1) {
			char	 e2[256];

			if (p7_remote_unavailable())
				snprintf(err, errlen, "the signer is "
				    "unavailable");
			else if (p7_remote_refused())
				c->sign_refused = 1;
			if (resolve_alone(c, hex, DB_RESV_FAILED, e2,
			    sizeof(e2)) == DB_ERROR)
				log_warnx("transaction %s: serial %s: cannot "
				    "mark its reservation failed: %s", tid,
				    hex, e2);
			goto fail;
		}
		memcpy(c->signed_serial, hex, sizeof(hex));
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
		if ((rc = db_cert_insert(c->w->db, &dc, err, errlen)) ==
		    DB_ERROR)
			goto fail;
	}
	if (rc != DB_OK) {
		snprintf(err, errlen, "three serial collisions in a row");
		goto fail;
	}
	/* Atomic with the certificate's row: one COMMIT makes both. */
	if ((rc = db_serial_resolve(c->w->db, d->serial, DB_RESV_ISSUED, err,
	    errlen)) != DB_OK) {
		if (rc == DB_NOT_FOUND)
			snprintf(err, errlen, "serial %s is no longer reserved",
			    d->serial);
		goto fail;
	}
	if (scep_record(c, DB_TX_SUCCESS, -1, d->serial, err, errlen) == -1 ||
	    (renewed_serial != NULL &&
	    supersede(c, renewed_serial, d->serial, err, errlen) == -1) ||
	    db_audit(c->w->db, c->actor, renewed_serial ? "renew" : "issue",
	    d->serial, d->subject, err, errlen) == DB_ERROR)
		goto fail;
	return crt;
fail:
	p7_cert_desc_clear(d);
	X509_free(crt);
	return NULL;
}
