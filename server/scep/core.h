/*
 * What every SCEP operation of server/scep/ shares (core.c): one
 * PKIOperation's state, the names the log uses, the CertRep, the
 * transaction row, issuing.  None of these functions ends a database
 * transaction: the operation that began it does (enroll.c, pending.c).
 */
#ifndef SCEPD_SCEP_CORE_H
#define SCEPD_SCEP_CORE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "policy/policy.h"
#include "server/scepd.h"

/* One PKIOperation being answered. */
/*
 * The validator's answer for this request, asked before its transaction
 * (server/scep/delegate.c) and handed to policy/ inside it.
 */
struct scep_validation {
	int			 asked;
	enum policy_lookup	 lookup;
	struct policy_binding	 binding;	/* owned until handed over */
	char			 reason[200];
};

struct scep_ctx {
	struct worker		*w;
	struct conf_profile	*prof;
	struct p7_req		*req;		/* borrowed */
	const char		*peer;		/* "addr:port" */
	char			 addr[64];	/* peer address only */
	char			 actor[96];	/* "scep:<addr>" for the audit */
	unsigned char		 key[32];	/* signer key SHA-256 */
	unsigned char		 signer[32];	/* p7_req_issued_signer_sha256() */
	unsigned char		 csr[32];	/* CSR SHA-256 (zeros if none) */
	long long		 tx_row;	/* transaction row, 0: none yet */
	int			 queued;	/* a notification waits (webhook_queue) */
	char			 signed_serial[2 * P7_SERIAL_LEN + 1];
					/* signed, its certificate only in the
					   open transaction (scep_settle) */
	struct scep_validation	 validation;	/* asked before the lock */
	int			 sign_refused;	/* scep_issue(): the signer
						   refused the signature */
};

/* The failInfo names for the log, "badAlg" ... "badCertId". */
extern const char *const scep_fail_names[];
/* "PKCSReq", "RenewalReq", ... for the log. */
const char *scep_msg_name(const struct scep_ctx *);
/*
 * db_enroll_begin() for this request (the retransmission window of the
 * configuration); c->tx_row becomes the same request's row.  The caller
 * owns the transaction it opens.
 */
int	scep_begin(struct scep_ctx *, struct db_prior *, char *err,
	    size_t errlen);
/* db_enroll_peek() for this request: scep_begin()'s *prior, unlocked. */
int	scep_peek(struct scep_ctx *, struct db_prior *, char *err,
	    size_t errlen);
/* Record the request's transaction row in the open transaction. */
int	scep_record(struct scep_ctx *, enum db_tx_state, int fail_info,
	    const char *serial, char *err, size_t errlen);
/*
 * Record a refusal (transaction row, audit) in the open transaction.
 * Returns 0 or -1 with err.
 */
int	scep_record_failure(struct scep_ctx *, enum p7_fail_info,
	    const char *reason, char *err, size_t errlen);
/*
 * In the open transaction, sign csr as plan says (its serial reserved and
 * committed first, db_serial_reserve()), store it, record the
 * transaction, supersede renewed_serial (if not NULL), audit.  The
 * caller calls scep_settle() once the transaction has ended.  Returns
 * the certificate (described in *d, to clear) for the caller to send
 * once its COMMIT is confirmed, or NULL with err; when the signer
 * answered the signature with a refusal (not: it was unavailable), it
 * sets c->sign_refused and marks the reservation 'failed', and the
 * transaction is still usable to record the refusal
 * (enroll_sign_refused()).
 */
X509	*scep_issue(struct scep_ctx *, X509_REQ *csr, const struct policy_plan *,
	    const char *renewed_serial, struct p7_cert_desc *d, char *err,
	    size_t errlen);
/*
 * After the owner of the transaction in which scep_issue() signed has
 * committed (committed 1) or rolled back: a certificate signed but not
 * committed has its reservation marked 'discarded'.
 */
void	scep_settle(struct scep_ctx *, int committed);
/*
 * The certificate scep_issue() signed was undone inside the open
 * transaction (rolled back to a mark): its reservation becomes
 * 'discarded' now, whatever the transaction's end.
 */
void	scep_discard(struct scep_ctx *);
/* crt's serial as upper-case hex, as scepd.certificates keeps it: 0 or -1. */
int	scep_serial_hex(const X509 *crt, char *buf, size_t len);
/*
 * Sign and store a CertRep into *r (HTTP 500 if impossible); a SUCCESS
 * carrying an issued certificate names it in r->delivers.
 */
void	scep_certrep(struct scep_ctx *, enum p7_pki_status, enum p7_fail_info,
	    X509 *issued, struct reply *r);

#endif /* SCEPD_SCEP_CORE_H */
