/*
 * Shared by the files of server/: the process-wide state (read-only once
 * the workers run), one worker thread's state, and one SCEP request's.
 */
#ifndef SCEPD_SCEPD_H
#define SCEPD_SCEPD_H

#include <pthread.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "policy/policy.h"
#include "server/conf.h"

struct server {
	struct conf		*conf;		/* profiles hold their CA */
	evutil_socket_t		 listen_fd;
};

struct worker {
	struct server		*srv;
	int			 id;
	pthread_t		 thread;
	struct event_base	*base;
	struct evhttp		*http;
	struct db		*db;		/* this thread's connection */
	struct conncap		*conncap;	/* its connections */
};

/* An HTTP answer, filled by the operation handlers. */
struct reply {
	int		 status;	/* 200, 400, ... */
	const char	*content_type;
	unsigned char	*body;		/* owned when free_body is set */
	size_t		 len;
	int		 free_body;	/* 1: OPENSSL_free, 2: free */
	const char	*www_authenticate; /* for 401 */
	const char	*allow;		/* for 405; default "GET, POST" */
	int		 close;		/* close the connection after it */
};

/* One PKIOperation being answered. */
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
};

/* Short text answers for bad input (400, 404, ...) and our faults. */
void	reply_text(struct reply *, int status, const char *text);

/* caps.c: GetCACaps tokens for what a profile enforces. */
void	caps_build(const struct conf_profile *, char *buf, size_t len);

/* http.c: attach a worker's evhttp to the shared listening socket. */
int	http_worker_init(struct worker *);
void	http_worker_free(struct worker *);

/*
 * enroll.c: answer one PKIOperation body for profile from peer.  Fills *r
 * (a CertRep with status 200, or an HTTP error) and logs one line.
 */
void	enroll_pkioperation(struct worker *, struct conf_profile *,
	    const unsigned char *der, size_t len, const char *peer,
	    struct reply *r);
/* enroll.c: the failInfo names for the log, "badAlg" ... "badCertId". */
extern const char *const enroll_fail_names[];
const char *enroll_msg_name(const struct scep_ctx *);
/*
 * enroll.c: db_enroll_begin() for this request (the retransmission window
 * of the configuration); c->tx_row becomes the same request's row.
 */
int	enroll_begin(struct scep_ctx *, struct db_prior *, char *err,
	    size_t errlen);
/* enroll.c: record the request's transaction row in the open transaction. */
int	enroll_record(struct scep_ctx *, enum db_tx_state, int fail_info,
	    const char *serial, char *err, size_t errlen);
/*
 * enroll.c: record a refusal (transaction row, audit) in the open
 * transaction.  Returns 0 or -1 with err; never ends the transaction.
 */
int	enroll_record_failure(struct scep_ctx *, enum p7_fail_info,
	    const char *reason, char *err, size_t errlen);
/*
 * enroll.c: in the open transaction, sign csr as plan says, store it,
 * record the transaction, supersede renewed_serial (if not NULL), audit.
 * Returns the certificate (described in *d, to clear) for the caller to
 * send once its COMMIT is confirmed, or NULL with err; never ends the
 * transaction.
 */
X509	*enroll_issue(struct scep_ctx *, X509_REQ *csr, const struct policy_plan *,
	    const char *renewed_serial, struct p7_cert_desc *d, char *err,
	    size_t errlen);

/*
 * What a PKCSReq, RenewalReq or approved CertPoll leaves in its open
 * transaction for the function that began it.  That owner commits when
 * enroll_keeps() (else rolls back), sets committed when the COMMIT is
 * confirmed, and calls enroll_answer(), which logs, notifies and fills
 * the reply: SUCCESS only when committed.
 */
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
	char			 err[256];
};
int	enroll_keeps(const struct enroll_outcome *);
void	enroll_answer(struct scep_ctx *, struct enroll_outcome *,
	    struct reply *);
void	enroll_outcome_clear(struct enroll_outcome *);

/* enroll.c: sign and store a CertRep into *r (HTTP 500 if impossible). */
void	enroll_certrep(struct scep_ctx *, enum p7_pki_status, enum p7_fail_info,
	    X509 *issued, struct reply *r);

/*
 * challenge_ops.c: struct policy_ops consume_challenge for one-time
 * challenges; ctx is the struct scep_ctx, whose worker's database
 * transaction is open.
 */
enum policy_lookup ops_consume_challenge(void *ctx, const struct policy_profile *,
	    const char *challenge, size_t len, struct policy_binding *out,
	    char *reason, size_t reasonlen);

/* webhook.c: struct policy_ops validate, and notifications after a
 * decision (issued may be NULL for a refusal). */
enum policy_lookup webhook_validate(void *ctx, const struct policy_profile *,
	    X509_REQ *csr, const char *challenge, size_t len,
	    struct policy_binding *out, char *reason, size_t reasonlen);
void	webhook_notify(struct scep_ctx *, X509 *issued, const char *reason);

/*
 * renew.c: the certificate we issued that signed a renewal (looked up in
 * the open transaction), and what happens to it once renewed.
 * renew_signer returns 0 (signer filled, known or not) or -1 on a
 * database error; renew_supersede 0 or -1 with err.  Neither ends the
 * transaction.
 */
int	renew_signer(struct scep_ctx *, struct policy_signer *, char *serial,
	    size_t seriallen, char *err, size_t errlen);
int	renew_supersede(struct scep_ctx *, const char *old_serial,
	    const char *new_serial, char *err, size_t errlen);

/*
 * pending.c: manual approval.  pending_store records a PENDING request in
 * the open transaction (0, or -1 with err; it never ends the
 * transaction).  The CertPoll, GetCert answers.
 */
int	pending_store(struct scep_ctx *, const struct policy_plan *,
	    char *err, size_t errlen);
void	pending_certpoll(struct scep_ctx *, struct reply *);
void	getcert_answer(struct scep_ctx *, struct reply *);

/*
 * revocation.c: <base>/crl/<profile>.crl and /ocsp (returns 1 if path is
 * one of them, r filled, else 0); SCEP GetCRL; keeping CRLs fresh.
 */
int	revocation_http(struct worker *, struct evhttp_request *,
	    const char *path, const char *peer, struct reply *r);
void	revocation_getcrl(struct scep_ctx *, struct reply *);
void	revocation_periodic(struct worker *);

/*
 * api_lifecycle.c: /api/v1/devices/, /api/v1/bindings and
 * /api/v1/certificates/ (returns 1 if path is one of them, r filled).
 */
int	api_lifecycle(struct worker *, struct evhttp_request *, const char *path,
	    const char *peer, struct reply *r);

/*
 * api.c: the JSON admin API (/api/v1/...) and the NDES-style
 * mscep_admin page.  Returns 1 if path is one of its routes (r filled),
 * else 0.
 */
int	api_handle(struct worker *, struct evhttp_request *, const char *path,
	    const char *peer, struct reply *r);
/*
 * api.c: the name of the live API token tok (as sent): 0 and name
 * filled, 1 if tok is no live token, -1 if the database cannot tell.
 */
int	api_token_auth(struct worker *, const char *tok, char *name,
	    size_t namelen, char *err, size_t errlen);

#endif /* SCEPD_SCEPD_H */
