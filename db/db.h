/*
 * db/ -- every SQL statement of scepd.  PostgreSQL through libpq only;
 * returns plain C structs, never a PGresult.  One struct db is one
 * connection, used by one thread at a time (each worker owns one).
 * All objects live in the schema "scepd"; the search_path is emptied
 * after connecting and every statement is schema-qualified.
 */
#ifndef SCEPD_DB_H
#define SCEPD_DB_H

#include <stddef.h>
#include <time.h>

struct db;

/*
 * What every db_* function that reports a status returns (those that
 * return a count, a pointer or nothing say so).  Each function's comment
 * names the values it can return; err is set for DB_ERROR only, except
 * where a function says otherwise.
 */
enum db_rc {
	DB_OK = 0,		/* done */
	DB_ERROR = -1,		/* failed, err says why (each function says
				   what becomes of an open transaction) */
	DB_NOT_FOUND = 1,	/* the object does not exist */
	DB_REFUSED = 2,		/* not possible: the name, serial or MAC is
				   taken, the change is not allowed, or the
				   database is unfit to serve (err says why) */
};

/*
 * Connect with a libpq conninfo string (empty: libpq's environment
 * defaults).  Returns the connection, or NULL and explains in err on
 * failure.
 */
struct db	*db_open(const char *conninfo, char *err, size_t errlen);
/*
 * db_open() for statements outside a transaction whose COMMIT need not
 * wait for the disk (synchronous_commit off, kept over reconnects): the
 * serial reservations, db/reservation.c says why that is safe there.  A
 * transaction begun on it (db_begin()) is synchronous still.
 */
struct db	*db_open_async(const char *conninfo, char *err, size_t errlen);
void		 db_close(struct db *);

/*
 * DB_OK if the server runs with fsync and full_page_writes on,
 * DB_REFUSED if not (err says which; scepd refuses to start), DB_ERROR.
 */
enum db_rc	 db_check_durability(struct db *, char *err, size_t errlen);

/*
 * Apply the schema migrations compiled into scepd (db/schema/NNN_*.sql)
 * that the database has not seen yet, each in its own transaction,
 * recorded in scepd.schema_migrations.  Safe to run again and from
 * several processes at once (advisory lock).  *applied is the number
 * applied now.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	 db_migrate(struct db *, int *applied, char *err, size_t errlen);

/*
 * DB_OK if every compiled-in migration is applied, DB_REFUSED if some
 * are missing (err says which), DB_ERROR.  scepd refuses to serve an
 * outdated schema.
 */
enum db_rc	 db_schema_current(struct db *, char *err, size_t errlen);

/*
 * A job that waits on the network between its statements (the Intune
 * revocation worker) runs in one scepd process at a time, and outside
 * any transaction: try the session advisory lock of the job's name.
 * DB_OK: held until db_job_unlock() or the connection ends; DB_REFUSED:
 * another session holds it (err not set); DB_ERROR.
 */
enum db_rc	 db_job_lock(struct db *, const char *name, char *err,
		    size_t errlen);
void		 db_job_unlock(struct db *, const char *name);

/* Transaction states recorded in scepd.transactions. */
enum db_tx_state {
	DB_TX_NONE = 0,		/* no such transaction */
	DB_TX_SUCCESS,
	DB_TX_FAILURE,
	DB_TX_PENDING,
};

/* What is already known about a transactionID, from db_enroll_begin(). */
struct db_prior {
	int			 key_mismatch;	/* recorded with another signer key */
	long long		 row_id;	/* the same request's row, or 0 */
	enum db_tx_state	 state;		/* of the same request, or NONE */
	int			 fail_info;	/* if FAILURE */
	char			 serial[41];	/* if SUCCESS */
	unsigned char		*cert_der;	/* if SUCCESS; owned */
	size_t			 cert_der_len;
};
void		 db_prior_clear(struct db_prior *);	/* frees, zeroes */

/* One SCEP transaction outcome, and what identifies its request. */
struct db_tx {
	const char		*transaction_id;
	int			 message_type;
	const unsigned char	*signer_cert_sha256;	/* 32 bytes, zeros if
							   self-signed */
	const unsigned char	*signer_key_sha256;	/* 32 bytes */
	const unsigned char	*request_sha256;	/* 32 bytes */
	enum db_tx_state	 state;
	int			 fail_info;		/* -1 unless FAILURE */
	const char		*cert_serial;		/* NULL unless SUCCESS */
	const char		*profile;
	const char		*peer;			/* client address */
};

/*
 * Open the database transaction of one enrollment: BEGIN, take a
 * transaction-scoped advisory lock on the transactionID (so concurrent
 * copies of one request, in any scepd process, run one after the other),
 * and read what is recorded for it: *prior says whether another signer key
 * used this transactionID and what became of the same request, the
 * newest row recorded in the last window_hours whose transactionID,
 * messageType, signer certificate, signer key and request hash all equal
 * rq's (a retransmission).  A renewal that keeps key, CSR and
 * transactionID but is signed by the issued certificate is not the same
 * request.  Leaves the transaction open on success; on error it is rolled
 * back.  Returns DB_OK or DB_ERROR.  *prior is overwritten (clear it first
 * if reused) and is all zero except fail_info -1 when nothing is known.
 * A connection the server closed is reset once here, before BEGIN; the
 * transaction runs at READ COMMITTED with synchronous_commit on.
 */
enum db_rc	 db_enroll_begin(struct db *, const struct db_tx *rq,
		    int window_hours, struct db_prior *prior, char *err,
		    size_t errlen);
/*
 * What db_enroll_begin() would report as *prior, read without a
 * transaction or a lock: a look before slow work (asking a validator)
 * that is not worth doing for a request already decided.  Only a hint:
 * db_enroll_begin()'s answer, under the lock, is the one that counts.
 * Returns DB_OK or DB_ERROR with err.
 */
enum db_rc	 db_enroll_peek(struct db *, const struct db_tx *rq,
		    int window_hours, struct db_prior *prior, char *err,
		    size_t errlen);

/* An issued certificate as recorded. */
struct db_cert {
	const char		*serial;	/* hex, see db_cert_get() */
	const char		*issuer;
	const char		*ca_key;	/* issuing CA key, see db_crl */
	const char		*subject;
	const char		*sans;
	time_t			 not_before;
	time_t			 not_after;
	const unsigned char	*der;
	size_t			 der_len;
	const unsigned char	*key_sha256;	/* 32 bytes */
	const char		*transaction_id;
	const char		*profile;
	const char		*device_id;	/* enrolled for, or NULL */
};

/*
 * Inside the open enrollment transaction: insert the certificate.
 * Returns DB_OK, DB_REFUSED if the serial is already taken (the
 * transaction stays usable: the insert ran under a savepoint; draw a
 * new serial), or DB_ERROR (the transaction is rolled back;
 * db_rollback() is harmless).
 * The serial is stored normalised: upper-case hex, no leading zeros.
 */
enum db_rc	 db_cert_insert(struct db *, const struct db_cert *,
		    char *err, size_t errlen);

/*
 * Inside the open enrollment transaction: record the outcome of a
 * request.  *row_id 0: a new row, whose id is stored in *row_id;
 * otherwise the row *row_id (db_prior.row_id, db_pending.row_id) gets
 * the new state, outcome, profile and peer and keeps its request
 * identity.  A recorded SUCCESS is never overwritten (that is an error).
 * Returns DB_OK or DB_ERROR (the transaction is rolled back).
 */
enum db_rc	 db_tx_record(struct db *, const struct db_tx *,
		    long long *row_id, char *err, size_t errlen);

/*
 * Inside the open transaction: append an audit row.  actor is who did it
 * ("scep:<peer>", "scepctl:<user>"), action a verb ("issue", ...),
 * object what it was done to (a serial), detail free text; object and
 * detail may be NULL.  Returns DB_OK or DB_ERROR (rolled back).
 */
enum db_rc	 db_audit(struct db *, const char *actor, const char *action,
		    const char *object, const char *detail,
		    char *err, size_t errlen);

/*
 * COMMIT (with synchronous_commit on) or ROLLBACK the open transaction.
 * db_commit returns DB_OK only when the server confirmed the COMMIT;
 * DB_ERROR if
 * no transaction was open, it had failed (the server answers ROLLBACK),
 * COMMIT failed, or the connection broke during COMMIT: then err starts
 * with "commit in doubt" and the outcome is unknown, so the client must
 * not be told SUCCESS.  db_rollback() does nothing
 * when no transaction is open.
 */
enum db_rc	 db_commit(struct db *, char *err, size_t errlen);
void		 db_rollback(struct db *);

/*
 * Inside the open transaction: mark this point (one mark at a time), and
 * undo everything done since it while keeping what came before (an
 * Intune refusal keeps the failure row, not the certificate).  DB_OK or
 * DB_ERROR.
 */
enum db_rc	 db_mark(struct db *, char *err, size_t errlen);
enum db_rc	 db_back_to_mark(struct db *, char *err, size_t errlen);

/* A certificate row as read back (scepctl cert list|show). */
struct db_cert_row {
	char		 serial[41];
	char		*subject;	/* owned */
	char		*sans;		/* owned */
	char		*transaction_id; /* owned, may be "" */
	char		 status[16];	/* valid, hold, revoked */
	time_t		 not_before;
	time_t		 not_after;
	time_t		 created_at;
	time_t		 delivered_at;	/* 0: never (db/delivery.c) */
	unsigned char	*der;		/* owned */
	size_t		 der_len;
};
void		 db_cert_row_clear(struct db_cert_row *);

/*
 * Call cb for each certificate, newest first (at most limit rows; 0 means
 * all), with undelivered only those not revoked and never delivered
 * (db_cert_mark_delivered()).  A non-zero return from cb stops the walk.  The row is only
 * valid during the call.  Rows are fetched one at a time (libpq single
 * row mode), so memory does not grow with the table.  Returns DB_OK or
 * DB_ERROR.
 */
enum db_rc	 db_cert_list(struct db *, int limit, int undelivered,
		    int (*cb)(const struct db_cert_row *, void *), void *arg,
		    char *err, size_t errlen);

/*
 * Read one certificate by serial: hex, any case, leading zeros, a "0x"
 * prefix and colons between octets ignored (serials are stored
 * upper-case without leading zeros, "0" for zero).  Returns DB_OK and
 * fills *row (free with db_cert_row_clear()), DB_NOT_FOUND if there is
 * none, DB_ERROR (also for a string that is not a serial).
 */
enum db_rc	 db_cert_get(struct db *, const char *serial,
		    struct db_cert_row *row, char *err, size_t errlen);

/* --- One-time challenges and API tokens (db/challenge.c, db/token.c) --- */

/*
 * A one-time challenge to store.  Only its MAC is stored (the caller
 * computes it, policy_challenge_mac()).  device_id, subject and sans are
 * the binding and may be NULL/0; none may hold control characters.
 */
struct db_challenge_new {
	const char		*profile;
	const unsigned char	*mac;		/* 32 bytes */
	const char		*device_id;
	const char		*subject;	/* "/CN=x" */
	const char *const	*sans;		/* "DNS:x", nsans of them */
	size_t			 nsans;
	int			 ttl_minutes;	/* > 0 */
	const char		*actor;		/* "api:<token>", "scepctl:<user>" */
};

/*
 * Store a new challenge that expires ttl_minutes from now by the
 * database's clock, and its audit row, in one statement.  *id and
 * *expires_at (may be NULL) are set.  Returns DB_OK, DB_REFUSED if the
 * MAC is already stored (draw another challenge), or DB_ERROR.  Runs
 * outside any transaction.
 */
enum db_rc	 db_challenge_create(struct db *, const struct db_challenge_new *,
		    long long *id, time_t *expires_at, char *err, size_t errlen);

enum db_challenge_state {
	DB_CHALLENGE_OK = 0,		/* consumed now; binding filled */
	DB_CHALLENGE_UNKNOWN,		/* no such MAC for this profile */
	DB_CHALLENGE_USED,		/* consumed before: possible replay */
	DB_CHALLENGE_EXPIRED,
};

/* What db_challenge_consume() found, when it returns DB_OK. */
struct db_challenge_use {
	enum db_challenge_state	 state;
	long long		 id;		/* unless UNKNOWN */
	char			*device_id;	/* owned, OK only, may be NULL */
	char			*subject;	/* owned, OK only, may be NULL */
	char			**sans;		/* owned, OK only */
	size_t			 nsans;
	time_t			 expires_at;	/* unless UNKNOWN */
	time_t			 used_at;	/* USED: the first use */
	char			*used_by;	/* owned, USED: its transactionID */
};
void		 db_challenge_use_clear(struct db_challenge_use *);

/*
 * Inside the open enrollment transaction: consume the challenge of
 * profile whose MAC is mac for transaction_id, atomically and at most
 * once however many transactions (in however many processes) try at
 * once: a concurrent consumer waits for this transaction and then finds
 * it used; a rollback un-consumes it.  Expiry is judged by the
 * database's clock.  Returns DB_OK with *use filled, use->state saying
 * what was found (free with db_challenge_use_clear()), or DB_ERROR
 * (rolled back).
 */
enum db_rc	 db_challenge_consume(struct db *, const char *profile,
		    const unsigned char mac[32], const char *transaction_id,
		    struct db_challenge_use *use, char *err, size_t errlen);

/*
 * Store a new API token by its SHA-256 under name ([A-Za-z0-9._-]{1,64}),
 * with its audit row.  Returns DB_OK, DB_REFUSED if the name is taken
 * (also by a revoked token), DB_ERROR.
 */
enum db_rc	 db_token_create(struct db *, const char *name,
		    const unsigned char sha256[32], const char *actor,
		    char *err, size_t errlen);

/*
 * Revoke the token called name, with its audit row.  Returns DB_OK,
 * DB_NOT_FOUND if there is no such token or it is already revoked,
 * DB_ERROR.
 */
enum db_rc	 db_token_revoke(struct db *, const char *name,
		    const char *actor, char *err, size_t errlen);

/*
 * The token whose SHA-256 is sha256, if it is not revoked: copies its
 * name into name and records the use (last_used_at).  Returns DB_OK,
 * DB_NOT_FOUND if there is none (or it is revoked, or name is too
 * small), DB_ERROR.
 */
enum db_rc	 db_token_check(struct db *, const unsigned char sha256[32],
		    char *name, size_t namelen, char *err, size_t errlen);

struct db_token_row {
	char		 name[65];
	const char	*created_by;	/* valid during the callback */
	time_t		 created_at;
	time_t		 revoked_at;	/* 0: not revoked */
	time_t		 last_used_at;	/* 0: never */
};

/*
 * Call cb for each token, by name (revoked ones too).  The row is only
 * valid during the call; a non-zero return stops.  Returns DB_OK or
 * DB_ERROR.
 */
enum db_rc	 db_token_list(struct db *,
		    int (*cb)(const struct db_token_row *, void *), void *arg,
		    char *err, size_t errlen);

/* --- Manual approval, renewal, GetCert (db/pending.c, db/renewal.c) --- */

/* The operator's decision on a request held for manual approval. */
enum db_approval {
	DB_APPROVAL_NONE = 0,	/* not a held request */
	DB_APPROVAL_PENDING,
	DB_APPROVAL_APPROVED,
	DB_APPROVAL_REJECTED,
};

/* What a held request keeps, so it can be issued without a resend. */
struct db_hold {
	long long		 row_id;		/* from db_tx_record() */
	const char		*transaction_id;
	const unsigned char	*request_der;		/* the PKCS#10 */
	size_t			 request_der_len;
	const unsigned char	*signer_der;		/* the signer certificate */
	size_t			 signer_der_len;
	const char		*request_subject;	/* for scepctl, RFC 2253 */
	const char		*device_id;		/* binding, or NULL */
};

/*
 * Inside the open enrollment transaction, after db_tx_record() stored
 * the row as pending: keep the request and mark it undecided (also
 * clearing an earlier rejection).  Returns DB_OK or DB_ERROR (rolled
 * back).
 */
enum db_rc	 db_pending_hold(struct db *, const struct db_hold *,
		    char *err, size_t errlen);

/* One transaction as CertPoll sees it (db_pending_get()). */
struct db_pending {
	long long		 row_id;
	enum db_tx_state	 state;
	enum db_approval	 approval;
	int			 fail_info;	/* if FAILURE, else -1 */
	unsigned char		 request_sha256[32];
	char			*profile;	/* owned, "" if unknown */
	char			*device_id;	/* owned, NULL if none */
	char			*reason;	/* owned, NULL if none */
	unsigned char		*request_der;	/* owned, NULL if not held */
	size_t			 request_der_len;
	char			 serial[41];	/* if SUCCESS */
	unsigned char		*cert_der;	/* owned, if SUCCESS */
	size_t			 cert_der_len;
};
void		 db_pending_clear(struct db_pending *);	/* frees, zeroes */

/*
 * Inside the open transaction (db_enroll_begin() holds the lock on the
 * transactionID): the newest transaction recorded for transaction_id
 * with this signer key, and with this request hash unless it is NULL.
 * Keyed on the transactionID alone, not on IssuerAndSubject (RFC 8894
 * 3.3.3).  Returns DB_OK and fills *p (clear with db_pending_clear()),
 * DB_NOT_FOUND if there is none, DB_ERROR (rolled back).
 */
enum db_rc	 db_pending_get(struct db *, const char *transaction_id,
		    const unsigned char signer_key_sha256[32],
		    const unsigned char *request_sha256, struct db_pending *p,
		    char *err, size_t errlen);

/*
 * Inside the open transaction: the newest approved request of
 * transaction_id and this signer key that is not issued yet, or was
 * issued within the last window_hours (certmonger sends a new CSR for
 * the same key with every retry).  Returns DB_OK and fills *p,
 * DB_NOT_FOUND if there is none, DB_ERROR (rolled back).
 */
enum db_rc	 db_pending_approved(struct db *, const char *transaction_id,
		    const unsigned char signer_key_sha256[32], int window_hours,
		    struct db_pending *p, char *err, size_t errlen);

/* A held request as scepctl pending list shows it. */
struct db_pending_row {
	const char	*transaction_id;
	const char	*profile;
	const char	*subject;
	const char	*peer;
	const char	*device_id;	/* "" if none */
	const char	*approval;	/* "pending", "approved" */
	const char	*decided_by;	/* "" if undecided */
	time_t		 created_at;
};

/*
 * Call cb for each request held and not yet issued or rejected, oldest
 * first; a non-zero return stops the walk.  The row is valid during the
 * call only.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	 db_pending_list(struct db *,
		    int (*cb)(const struct db_pending_row *, void *), void *arg,
		    char *err, size_t errlen);

/*
 * In a transaction of its own: approve (state stays pending until the
 * next CertPoll issues) or reject (state failure, failInfo badRequest,
 * reason kept) every undecided request of transaction_id, with an audit
 * row by actor ("scepctl:<user>").  Returns a count, not a db_rc: the
 * number of requests decided (0: none undecided), or -1 with err.
 */
int		 db_pending_decide(struct db *, const char *transaction_id,
		    int approve, const char *actor, const char *reason,
		    char *err, size_t errlen);

/* The certificate that signed a renewal, as recorded (db_renewal_signer()). */
struct db_signer {
	char		 status[16];	/* valid, hold, revoked */
	char		*superseded_by;	/* owned, NULL unless renewed already */
	char		*device_id;	/* owned, NULL if none */
	char		*device_state;	/* owned, NULL if no device */
	char		*profile;	/* owned, NULL if not recorded */
	time_t		 not_before;
	time_t		 not_after;
	unsigned char	*der;		/* owned */
	size_t		 der_len;
};
void		 db_signer_clear(struct db_signer *);	/* frees, zeroes */

/*
 * Inside the open enrollment transaction: read the certificate serial
 * and lock its row until COMMIT, so two renewals of one certificate
 * run one after the other and the second sees the first's supersede.
 * Returns DB_OK and fills *s (clear with db_signer_clear()),
 * DB_NOT_FOUND if there is none, DB_ERROR (rolled back).
 */
enum db_rc	 db_renewal_signer(struct db *, const char *serial,
		    struct db_signer *s, char *err, size_t errlen);

/*
 * Inside the open enrollment transaction: old_serial is superseded by
 * new_serial and is to be revoked (CRLReason superseded) after
 * grace_days, at once when 0.  Returns DB_OK, or DB_ERROR (rolled back)
 * also when old_serial is not a valid certificate or was already
 * superseded.
 */
enum db_rc	 db_renewal_supersede(struct db *, const char *old_serial,
		    const char *new_serial, int grace_days, const char *actor,
		    char *err, size_t errlen);

/*
 * In a transaction of its own, if no other process is sweeping (a
 * transaction-scoped advisory lock, not waited for): revoke at most
 * limit superseded certificates whose grace has passed, with an audit
 * row each.  *revoked is how many; *busy is 1 when another process held
 * the lock.  Bounded by lock and statement timeouts so a request on the
 * same connection never waits long.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	 db_renewal_sweep(struct db *, int limit, int *revoked,
		    int *busy, char *err, size_t errlen);


/* --- Devices, bindings, revocation, CRL (db/lifecycle.c, db/crl.c) --- */

/*
 * Set a device's lifecycle state ("active", "suspended", "deactivated",
 * "deleted") and its certificates' status with it (005_lifecycle.sql has
 * the table), with an audit row naming actor; commits.  *changed is the
 * number of certificates whose status changed.  Returns DB_OK,
 * DB_NOT_FOUND, DB_REFUSED (a deleted device cannot come back, a bad
 * state), or DB_ERROR; err is set for all but DB_OK.
 */
enum db_rc	db_device_set_state(struct db *, const char *device_id,
	    const char *state, const char *actor, int *changed, char *err,
	    size_t errlen);

/* A device as read back. */
struct db_device {
	char	 id[257];
	char	 state[16];
	time_t	 created_at;
	time_t	 updated_at;
	int	 certificates;		/* issued for or bound to it */
};
/* DB_OK and *d filled, DB_NOT_FOUND, or DB_ERROR. */
enum db_rc	db_device_get(struct db *, const char *device_id,
	    struct db_device *d, char *err, size_t errlen);

/* What cert revoke/hold/release do. */
enum db_cert_action { DB_CERT_REVOKE, DB_CERT_HOLD, DB_CERT_RELEASE };

/*
 * Revoke (with an RFC 5280 reason), hold or release one certificate,
 * with an audit row; commits.  Revoking twice is harmless: *changed
 * says whether anything changed.  Returns DB_OK, DB_NOT_FOUND (also for
 * a string that is not a serial), DB_REFUSED (release or hold of a
 * revoked certificate, or a bad reason), or DB_ERROR; err is set for
 * all but DB_OK.
 */
enum db_rc	db_cert_set_status(struct db *, const char *serial,
	    enum db_cert_action, int reason, const char *actor,
	    int *changed, char *err, size_t errlen);

/* A certificate's standing, for relying parties. */
struct db_cert_standing {
	char	 serial[41];
	char	 status[16];		/* valid, hold, revoked */
	int	 reason;		/* -1 if none */
	time_t	 revoked_at;		/* 0 if valid */
	char	 device_id[257];	/* "" if none */
	char	 device_state[16];	/* "" if no device */
	time_t	 bound_at;		/* 0 if never bound */
	time_t	 last_used_at;		/* 0 if never */
	time_t	 not_after;
	char	 profile[65];
	char	 issuer[512];		/* RFC 2253, as recorded */
	char	 ca_key[65];		/* "" if recorded without one */
	char	 clone_device_id[257];	/* "" unless a clone was seen */
	int	 managed;		/* valid, device active, bound */
};

enum db_bind_result { DB_BIND_NEW, DB_BIND_SAME, DB_BIND_CLONE };

/*
 * A relying party saw the certificate on device_id: the first call binds
 * it, a call naming another device is a clone (recorded, and with
 * revoke_on_clone the certificate is revoked with keyCompromise).  Every
 * call records the time of use; commits.  Returns DB_OK with *result
 * and *st filled (managed is judged for device_id), DB_NOT_FOUND (err
 * set), DB_REFUSED (err set), or DB_ERROR.
 */
enum db_rc	db_cert_bind(struct db *, const char *serial,
	    const char *device_id, int revoke_on_clone, const char *actor,
	    enum db_bind_result *result, struct db_cert_standing *st, char *err,
	    size_t errlen);

/*
 * Read a certificate's standing: DB_OK, DB_NOT_FOUND (also for a string
 * that is not a serial; err not set), or DB_ERROR.
 */
enum db_rc	db_cert_standing(struct db *, const char *serial,
	    struct db_cert_standing *st, char *err, size_t errlen);

/*
 * The serial of the certificate with this DER, for callers holding a PEM:
 * DB_OK, DB_NOT_FOUND (err not set), or DB_ERROR.
 */
enum db_rc	db_cert_serial_by_der(struct db *, const unsigned char *der,
	    size_t len, char serial[41], char *err, size_t errlen);

/*
 * The unused-certificate sweep of one profile: revoke the valid
 * certificates never bound within days of issuance, as of at (the tests
 * move this clock).  Serialised across processes by an advisory lock:
 * when another process holds it, returns DB_OK with *ran = 0 at once.
 * Commits.  *revoked counts what it revoked.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	db_sweep_unused(struct db *, const char *profile, int days,
	    time_t at, const char *actor, int *ran, int *revoked, char *err,
	    size_t errlen);

/*
 * A SUCCESS CertRep carrying each of serials[0..n) has been handed to
 * its connection (db/delivery.c): set delivered_at where it is not set.
 * *marked counts the rows changed.  Outside a transaction.  Returns
 * DB_OK or DB_ERROR.
 */
enum db_rc	db_cert_mark_delivered(struct db *, const char *const *serials,
	    int n, int *marked, char *err, size_t errlen);

/*
 * The undelivered-certificate sweep: revoke (cessationOfOperation) at
 * most limit certificates, not revoked, never delivered and issued more
 * than hours before at (the tests move this clock); hours <= 0 revokes
 * nothing.  Serialised across processes as db_sweep_unused().  Commits,
 * then calls cb (if not NULL) with each serial revoked.  Returns DB_OK
 * or DB_ERROR.
 */
enum db_rc	db_sweep_undelivered(struct db *, int hours, time_t at,
	    int limit, const char *actor,
	    void (*cb)(const char *serial, void *), void *arg, int *ran,
	    int *revoked, char *err, size_t errlen);

/*
 * Serial reservations (db/schema/010_serial_reservation.sql): a serial is
 * reserved and committed before it is signed, and resolved once the
 * outcome is known.
 */
enum db_resv_state {
	DB_RESV_RESERVED,	/* committed before the signature */
	DB_RESV_ISSUED,		/* its certificate is recorded */
	DB_RESV_DISCARDED,	/* signed, its transaction rolled back */
	DB_RESV_FAILED,		/* the signature failed */
	DB_RESV_ABANDONED,	/* still reserved long after (the sweep) */
};
/* The database's name of a state ("reserved", ...). */
const char	*db_resv_state_name(enum db_resv_state);

/* What a reservation names; strings borrowed, NULL for none. */
struct db_reservation {
	const char	*serial;	/* hex, any case; stored normalised */
	const char	*ca_key;
	const char	*transaction_id;
	const char	*profile;
	enum db_resv_state state;	/* rows read back */
	time_t		 reserved_at;	/* rows read back */
};

/*
 * Reserve r->serial, in a transaction of its own: outside a transaction,
 * on a db_open_async() connection in scepd.  Returns DB_OK once the
 * reservation is committed, DB_REFUSED if the serial is reserved or a
 * certificate has it already (draw another), DB_ERROR.
 */
enum db_rc	db_serial_reserve(struct db *, const struct db_reservation *r,
	    char *err, size_t errlen);

/*
 * Move serial's reservation from 'reserved' to state, in the open
 * transaction if there is one (DB_RESV_ISSUED only there: in the
 * transaction that inserts the certificate), else alone.  Returns DB_OK, DB_NOT_FOUND
 * if serial is not reserved (unknown, or resolved already), DB_ERROR (an
 * open transaction is rolled back, as db_cert_insert()).
 */
enum db_rc	db_serial_resolve(struct db *, const char *serial,
	    enum db_resv_state state, char *err, size_t errlen);

/*
 * Call cb with each reservation whose certificate was never recorded
 * (every state but 'issued'), newest first, at most limit (0: all).  The
 * row is only valid during the call; a non-zero return from cb stops the
 * walk.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	db_reservation_list_unrecorded(struct db *, int limit,
	    int (*cb)(const struct db_reservation *, void *), void *arg,
	    char *err, size_t errlen);

/*
 * The reservation sweep: at most limit reservations still 'reserved'
 * more than minutes before at become 'abandoned', each with an audit
 * row; serialised across processes as db_sweep_undelivered() (*ran 0:
 * another process sweeps).  Commits, then calls cb (if not NULL) with
 * each one abandoned.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	db_sweep_reservations(struct db *, int minutes, time_t at,
	    int limit, const char *actor,
	    void (*cb)(const struct db_reservation *, void *), void *arg,
	    int *ran, int *abandoned, char *err, size_t errlen);

/*
 * The audit of key use (db/schema/011_key_use.sql).  A key is named by
 * key_id, as ca_key names CA keys (lower-case hex SHA-256 of its
 * SubjectPublicKeyInfo); purpose is "certificate", "certrep", "crl",
 * "ocsp" or "decrypt".
 *
 * Add count operations done and failures refused or failed to key_id's
 * counts for purpose, alone (outside a transaction); any number of
 * processes may add at once.  Never retried on a new connection (a
 * COMMIT lost with its connection would be added twice).  Returns DB_OK
 * or DB_ERROR: the caller adds the same again later.
 */
enum db_rc	db_key_use_add(struct db *, const char *key_id,
	    const char *purpose, long long count, long long failures,
	    char *err, size_t errlen);
/* key_id's counts for purpose (0 if none).  Returns DB_OK or DB_ERROR. */
enum db_rc	db_key_use_get(struct db *, const char *key_id,
	    const char *purpose, long long *count, long long *failures,
	    char *err, size_t errlen);

/* What the database keeps of the certificates a CA key signed. */
struct db_key_records {
	long long	 recorded;	/* in scepd.certificates */
	long long	 reserved;	/* reservations by state */
	long long	 discarded;
	long long	 failed;
	long long	 abandoned;
};
enum db_rc	db_key_records(struct db *, const char *ca_key,
	    struct db_key_records *, char *err, size_t errlen);

/* One entry of a CRL. */
struct db_revoked {
	char	 serial[41];
	time_t	 revoked_at;
	int	 reason;		/* 6 for a hold */
};

/*
 * The CRL state of one CA key, from db_crl_begin().  A CA is named by
 * issuer (its subject, RFC 2253, as certificates record it) and ca_key
 * (hex SHA-256 of its SubjectPublicKeyInfo): a re-keyed CA of the same
 * name has a state, and a CRL, of its own.
 */
struct db_crl {
	long long		 crl_number;	/* of the last CRL; 0 if none;
						 * after db_crl_begin() the
						 * highest of any key of the
						 * name */
	long long		 changes;	/* status changes so far */
	long long		 generated_changes; /* at the last CRL */
	time_t			 next_update;	/* of the last CRL */
	unsigned char		*der;		/* last CRL, owned, or NULL */
	size_t			 der_len;
	struct db_revoked	*entries;	/* owned, when listed */
	size_t			 nentries;
};
void	db_crl_clear(struct db_crl *);

/*
 * Read the last CRL of the CA key (no lock, no transaction).  Returns
 * DB_OK (crl filled; der NULL if none yet) or DB_ERROR.
 */
enum db_rc	db_crl_get(struct db *, const char *issuer, const char *ca_key,
	    struct db_crl *crl, char *err, size_t errlen);

/*
 * Start making a new CRL of the CA key: BEGIN, lock its row (one
 * maker at a time, in any process), read the state and every certificate
 * of that key (or recorded without one) on hold or revoked that has not
 * expired.  Returns DB_OK and leaves the transaction open (finish with
 * db_crl_store() or db_rollback()), or DB_ERROR.
 */
enum db_rc	db_crl_begin(struct db *, const char *issuer,
	    const char *ca_key, struct db_crl *crl, char *err, size_t errlen);

/*
 * Store the CRL made after db_crl_begin() and commit: number is the
 * CRL number it carries (crl->crl_number + 1), seen_changes the change
 * counter it reflects.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	db_crl_store(struct db *, const char *issuer,
	    const char *ca_key, long long number, long long seen_changes,
	    const unsigned char *der, size_t len, time_t this_update,
	    time_t next_update, char *err, size_t errlen);

/*
 * db/ca_key.c: before a CA key is replaced (scepctl ca init).
 * db_ca_key_live counts the certificates of the CA key (or of its name,
 * recorded without a key) that are valid or on hold and unexpired.
 * db_ca_key_claim records ca_key as the key of the certificates of
 * issuer recorded without one (they can only be the key's being
 * replaced) and commits; *n is how many.  Both return DB_OK or
 * DB_ERROR.
 */
enum db_rc	db_ca_key_live(struct db *, const char *issuer,
	    const char *ca_key, long long *n, char *err, size_t errlen);
enum db_rc	db_ca_key_claim(struct db *, const char *issuer,
	    const char *ca_key, long long *n, char *err, size_t errlen);

/* --- The notification outbox (db/outbox.c, 008_outbox.sql) --- */

/* One notification as the sender gets it. */
struct db_outbox_row {
	long long		 id;
	const char		*profile;
	const char		*kind;		/* "issued", "refused" */
	const char		*transaction_id;
	const char		*body;		/* the JSON document */
	int			 attempts;	/* failed before this one */
};

/*
 * Inside the open enrollment transaction: queue a notification (kind
 * "issued" or "refused"), to be sent once the transaction commits.
 * Returns DB_OK or DB_ERROR (rolled back).
 */
enum db_rc	 db_outbox_add(struct db *, const char *profile,
		    const char *kind, const char *transaction_id,
		    const char *body, char *err, size_t errlen);

/*
 * Claim up to limit due notifications, oldest first, for lease_seconds
 * (no other sender sees them meanwhile; unreported ones come back after
 * it) and call cb for each; the row is valid during the call only, and a
 * non-zero return stops the walk.  Its own transaction.  Returns a
 * count, not a db_rc: the number claimed, or -1 with err.
 */
int		 db_outbox_claim(struct db *, int limit, int lease_seconds,
		    int (*cb)(const struct db_outbox_row *, void *), void *arg,
		    char *err, size_t errlen);

/* A claimed notification was delivered.  Returns DB_OK or DB_ERROR. */
enum db_rc	 db_outbox_sent(struct db *, long long id, char *err,
		    size_t errlen);

/*
 * A claimed notification could not be delivered: count the attempt, keep
 * why, and try again in retry_seconds.  Returns DB_OK or DB_ERROR.
 */
enum db_rc	 db_outbox_failed(struct db *, long long id, const char *why,
		    int retry_seconds, char *err, size_t errlen);

#endif /* SCEPD_DB_H */
