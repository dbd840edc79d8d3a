/*
 * challenge_mode "intune" in the enrollment flow (docs/mdm.md, "Intune").
 * Only Intune can read its challenges, so every PKCSReq of the profile is
 * put to validateRequest, before the transaction and the transactionID's
 * lock like the webhook (scep/enroll.c); a certificate leaves only after
 * successNotification answered Success, which is asked inside the
 * transaction so that a refusal there rolls the certificate back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/outbound/intune.h"
#include "server/scep/intune_ops.h"
#include "server/scep/webhook.h"

/*
 * The HRESULT of a failure notification: E_FAIL, with the reason in the
 * description (Intune's console shows both).
 */
#define HRESULT_REFUSED	0x80004005L

/* c's CSR in DER (OPENSSL_free), or NULL. */
static unsigned char *
csr_der(const struct scep_ctx *c, size_t *len)
{
	unsigned char	*der = NULL;
	int		 n;

	if ((n = i2d_X509_REQ(p7_req_get0_csr(c->req), &der)) <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

void
intune_validate_first(struct scep_ctx *c)
{
	struct scep_validation	*v = &c->validation;
	const char		*tid = p7_req_get0_transaction_id(c->req);
	struct timespec		 t0;
	unsigned char		*der;
	enum intune_rc		 rc = INTUNE_ERROR;
	char			 code[64] = "", err[300] = "";
	size_t			 len = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	v->asked = 1;
	if ((der = csr_der(c, &len)) == NULL)
		snprintf(err, sizeof(err), "cannot encode the CSR");
	else
		rc = intune_validate(c->prof->intune_client, tid, der, len,
		    code, sizeof(code), err, sizeof(err));
	OPENSSL_free(der);
	v->lookup = rc == INTUNE_OK ? POLICY_LOOKUP_OK : rc == INTUNE_REFUSED ?
	    POLICY_LOOKUP_DENIED : POLICY_LOOKUP_ERROR;
	/*
	 * Cut to fit if need be (the reason is for the log); the result is
	 * looked at so that -O1's format-truncation check knows it is.
	 */
	if (rc != INTUNE_OK && snprintf(v->reason, sizeof(v->reason),
	    "Intune: %s%s%s", rc == INTUNE_REFUSED ? code : "",
	    rc == INTUNE_REFUSED ? ": " : "", err) < 0)
		v->reason[0] = '\0';
	log_info("%s %s %s: Intune validateRequest -> %s%s%s (%ld ms)",
	    c->peer, scep_msg_name(c), tid, rc == INTUNE_OK ? "Success" :
	    rc == INTUNE_REFUSED ? code : "error", err[0] ? ": " : "", err,
	    log_ms_since(&t0));
}

/* successNotification for crt: what Intune answered, code and why. */
static enum intune_rc
notify_issued(struct scep_ctx *c, X509 *crt, char *code, size_t codelen,
    char *why, size_t whylen)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	struct intune_issued	 n;
	struct p7_cert_desc	 d;
	struct timespec		 t0;
	unsigned char		*der;
	enum intune_rc		 rc = INTUNE_ERROR;
	char			 thumb[41];
	size_t			 len = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&d, 0, sizeof(d));
	if ((der = csr_der(c, &len)) == NULL ||
	    p7_cert_describe(crt, &d) == -1)
		snprintf(why, whylen, "cannot describe the certificate");
	else {
		for (size_t i = 0; i < sizeof(d.sha1); i++)
			snprintf(thumb + 2 * i, 3, "%02X", d.sha1[i]);
		memset(&n, 0, sizeof(n));
		n.tid = tid;
		n.csr = der;
		n.csrlen = len;
		n.thumbprint = thumb;
		n.serial = d.serial;
		n.not_after = d.not_after;
		n.issuer = d.issuer;
		rc = intune_success(c->prof->intune_client, &n, code, codelen,
		    why, whylen);
	}
	log_info("%s %s %s: Intune successNotification serial %s -> %s%s%s "
	    "(%ld ms)", c->peer, scep_msg_name(c), tid, d.serial[0] ?
	    d.serial : "?", rc == INTUNE_OK ? "Success" : rc == INTUNE_REFUSED ?
	    code : "error", why[0] ? ": " : "", why, log_ms_since(&t0));
	OPENSSL_free(der);
	p7_cert_desc_clear(&d);
	return rc;
}

void
intune_confirm(struct scep_ctx *c, struct enroll_outcome *o)
{
	enum intune_rc	 rc;
	char		 code[64] = "", why[300] = "";

	if ((rc = notify_issued(c, o->crt, code, sizeof(code), why,
	    sizeof(why))) == INTUNE_OK)
		return;
	if (rc == INTUNE_ERROR) {
		o->failed = 1;
		if (snprintf(o->err, sizeof(o->err), "Intune did not confirm "
		    "the certificate (%s): not delivered", why) < 0)
			o->err[0] = '\0';
		return;
	}
	/*
	 * A definite no: the certificate is undone, and the refusal stays
	 * recorded as the transaction's end, like any other.
	 */
	X509_free(o->crt);
	o->crt = NULL;
	p7_cert_desc_clear(&o->d);
	o->step = ENROLL_REFUSED;
	o->v.decision = POLICY_DENY;
	o->v.fail = POLICY_FAIL_BAD_REQUEST;
	if (snprintf(o->v.reason, sizeof(o->v.reason), "Intune refused the "
	    "success notification (%s: %s)", code, why) < 0)
		o->v.reason[0] = '\0';
	/* Intune said no itself: no failureNotification for it. */
	c->validation.lookup = POLICY_LOOKUP_DENIED;
	log_info("%s %s %s: %s -> FAILURE badRequest", c->peer,
	    scep_msg_name(c), p7_req_get0_transaction_id(c->req),
	    o->v.reason);
	o->failed = db_back_to_mark(c->w->db, o->err, sizeof(o->err)) ==
	    DB_ERROR;
	/* Signed, now undone: whatever the COMMIT, it never leaves. */
	if (!o->failed)
		scep_discard(c);
	/* The transaction's row, if any, is as it was at the mark. */
	c->tx_row = o->marked_row;
	o->failed = o->failed || scep_record_failure(c, P7_FAIL_BAD_REQUEST,
	    o->v.reason, o->err, sizeof(o->err)) == -1 || webhook_queue(c,
	    NULL, o->v.reason, o->err, sizeof(o->err)) == -1;
}

void
intune_notify_refused(struct scep_ctx *c, const char *reason)
{
	const char	*tid = p7_req_get0_transaction_id(c->req);
	unsigned char	*der;
	enum intune_rc	 rc = INTUNE_ERROR;
	char		 code[64] = "", err[300] = "";
	size_t		 len = 0;

	if ((der = csr_der(c, &len)) != NULL)
		rc = intune_failure(c->prof->intune_client, tid, der, len,
		    HRESULT_REFUSED, reason, code, sizeof(code), err,
		    sizeof(err));
	OPENSSL_free(der);
	log_info("%s %s %s: Intune failureNotification -> %s%s%s", c->peer,
	    scep_msg_name(c), tid, rc == INTUNE_OK ? "Success" :
	    rc == INTUNE_REFUSED ? code : "error", err[0] ? ": " : "", err);
}
