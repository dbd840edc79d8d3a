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
 * Connect with a libpq conninfo string (empty: libpq's environment
 * defaults).  Returns NULL and explains in err on failure.
 */
struct db	*db_open(const char *conninfo, char *err, size_t errlen);
void		 db_close(struct db *);

/*
 * N12 (reliability.md): 0 if the server runs with fsync and
 * full_page_writes on, 1 if not (err says which; scepd refuses to
 * start), -1 on error.
 */
int		 db_check_durability(struct db *, char *err, size_t errlen);

/*
 * Apply the schema migrations compiled into scepd (db/schema/NNN_*.sql)
 * that the database has not seen yet, each in its own transaction,
 * recorded in scepd.schema_migrations.  Safe to run again and from
 * several processes at once (advisory lock).  *applied is the number
 * applied now.  Returns 0 or -1 with err.
 */
int		 db_migrate(struct db *, int *applied, char *err, size_t errlen);

/*
 * 0 if every compiled-in migration is applied, 1 if some are missing,
 * -1 on error.  scepd refuses to serve an outdated schema.
 */
int		 db_schema_current(struct db *, char *err, size_t errlen);

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
	enum db_tx_state	 state;		/* of the same request, or NONE */
	int			 fail_info;	/* if FAILURE */
	char			 serial[41];	/* if SUCCESS */
	unsigned char		*cert_der;	/* if SUCCESS; owned */
	size_t			 cert_der_len;
};
void		 db_prior_clear(struct db_prior *);	/* frees, zeroes */

/*
 * Open the database transaction of one enrollment: BEGIN, take a
 * transaction-scoped advisory lock on the transactionID (so concurrent
 * copies of one request, in any scepd process, run one after the other),
 * and read what is recorded for it: *prior says whether another signer key
 * used this transactionID and what became of the same request (same
 * transactionID, signer key and request hash).  Leaves the transaction
 * open on success; on error it is rolled back.  Returns 0 or -1 with err.
 * *prior is overwritten (clear it first if reused) and is all zero
 * except fail_info -1 when nothing is known.  A connection the server
 * closed is reset once here, before BEGIN; the transaction runs at READ
 * COMMITTED with synchronous_commit on.
 */
int		 db_enroll_begin(struct db *, const char *transaction_id,
		    const unsigned char signer_key_sha256[32],
		    const unsigned char request_sha256[32],
		    struct db_prior *prior, char *err, size_t errlen);

/* An issued certificate as recorded. */
struct db_cert {
	const char		*serial;	/* hex, see db_cert_get() */
	const char		*issuer;
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
 * Returns 0, 1 if the serial is already taken (the transaction stays
 * usable: the insert ran under a savepoint; draw a new serial), or -1
 * with err (the transaction is rolled back; db_rollback() is harmless).
 * The serial is stored normalised: upper-case hex, no leading zeros.
 */
int		 db_cert_insert(struct db *, const struct db_cert *,
		    char *err, size_t errlen);

/* One SCEP transaction outcome. */
struct db_tx {
	const char		*transaction_id;
	const unsigned char	*signer_key_sha256;	/* 32 bytes */
	const unsigned char	*request_sha256;	/* 32 bytes */
	int			 message_type;
	enum db_tx_state	 state;
	int			 fail_info;		/* -1 unless FAILURE */
	const char		*cert_serial;		/* NULL unless SUCCESS */
	const char		*profile;
	const char		*peer;			/* client address */
};

/*
 * Inside the open enrollment transaction: record (insert or update) the
 * outcome of (transactionID, signer key, request hash).  A recorded
 * SUCCESS is never overwritten (that is an error).  Returns 0 or -1
 * with err; on -1 the transaction is rolled back.
 */
int		 db_tx_record(struct db *, const struct db_tx *,
		    char *err, size_t errlen);

/*
 * Inside the open transaction: append an audit row.  actor is who did it
 * ("scep:<peer>", "scepctl:<user>"), action a verb ("issue", ...),
 * object what it was done to (a serial), detail free text; object and
 * detail may be NULL.  Returns 0 or -1 (rolled back).
 */
int		 db_audit(struct db *, const char *actor, const char *action,
		    const char *object, const char *detail,
		    char *err, size_t errlen);

/*
 * COMMIT (with synchronous_commit on) or ROLLBACK the open transaction.
 * db_commit returns 0 only when the server confirmed the COMMIT; -1 if
 * no transaction was open, it had failed (the server answers ROLLBACK),
 * COMMIT failed, or the connection broke during COMMIT: then err starts
 * with "commit in doubt" and the outcome is unknown, so the client must
 * not be told SUCCESS (reliability.md 2.5).  db_rollback() does nothing
 * when no transaction is open.
 */
int		 db_commit(struct db *, char *err, size_t errlen);
void		 db_rollback(struct db *);

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
	unsigned char	*der;		/* owned */
	size_t		 der_len;
};
void		 db_cert_row_clear(struct db_cert_row *);

/*
 * Call cb for each certificate, newest first (at most limit rows; 0 means
 * all).  A non-zero return from cb stops the walk.  The row is only
 * valid during the call.  Rows are fetched one at a time (libpq single
 * row mode), so memory does not grow with the table.  Returns 0 or -1.
 */
int		 db_cert_list(struct db *, int limit,
		    int (*cb)(const struct db_cert_row *, void *), void *arg,
		    char *err, size_t errlen);

/*
 * Read one certificate by serial: hex, any case, leading zeros, a "0x"
 * prefix and colons between octets ignored (serials are stored
 * upper-case without leading zeros, "0" for zero).  Returns 0 and fills
 * *row (free with db_cert_row_clear()), 1 if there is none, -1 with err
 * (also for a string that is not a serial).
 */
int		 db_cert_get(struct db *, const char *serial,
		    struct db_cert_row *row, char *err, size_t errlen);

/* --- One-time challenges and API tokens (db/challenge.c, db/token.c) --- */

/* --- Manual approval, renewal, GetCert (db/pending.c, db/renewal.c) --- */

#endif /* SCEPD_DB_H */
