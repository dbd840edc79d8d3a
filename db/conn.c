/*
 * The connection: open, reconnect after the server went away, run
 * statements, open and close transactions; helpers shared by db/.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

/* The oldest PostgreSQL scepd is tested against is 11. */
#define DB_MIN_SERVER	110000

void
db_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* libpq's messages end in a newline; one-line errors log better. */
	len = strlen(err);
	while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
		err[--len] = '\0';
}

/*
 * Keep libpq from printing NOTICEs and WARNINGs on stderr: leaves do not
 * log, and the server log has them.
 */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * What every session needs after a (re)connect: an empty search_path,
 * so that no object of another schema can stand in for ours.
 */
static int
session_setup(struct db *db, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	int		 rc = -1;

	if (PQserverVersion(db->conn) < DB_MIN_SERVER) {
		db_seterr(err, errlen, "PostgreSQL %d is too old, need %d",
		    PQserverVersion(db->conn), DB_MIN_SERVER);
		goto out;
	}
	/*
	 * Bounded waits: a stuck statement or a lock
	 * held by a stalled twin becomes an error (HTTP 503) instead of a
	 * worker blocked for good.  Idle-in-transaction sessions are cut so
	 * a crashed client of ours cannot hold a transactionID lock.
	 */
	res = PQexecParams(db->conn,
	    "SELECT pg_catalog.set_config('search_path', '', false), "
	    "pg_catalog.set_config('statement_timeout', '10s', false), "
	    "pg_catalog.set_config('lock_timeout', '5s', false), "
	    "pg_catalog.set_config("
	    "'idle_in_transaction_session_timeout', '60s', false)",
	    0, NULL, NULL, NULL, NULL, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (db->async_commit) {
		PQclear(res);
		res = PQexecParams(db->conn, "SELECT pg_catalog.set_config("
		    "'synchronous_commit', 'off', false)", 0, NULL, NULL, NULL,
		    NULL, 0);
		if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
			goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

static struct db *
open_conn(const char *conninfo, int async_commit, char *err, size_t errlen)
{
	struct db	*db = NULL;	/* owned */
	struct db	*ret = NULL;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		db_seterr(err, errlen, "%s", strerror(errno));
		goto out;
	}
	if ((db->conn = PQconnectdb(conninfo != NULL ? conninfo : "")) ==
	    NULL) {
		db_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_seterr(err, errlen, "connect: %s",
		    PQerrorMessage(db->conn));
		goto out;
	}
	(void)PQsetNoticeProcessor(db->conn, quiet, NULL);
	db->async_commit = async_commit;
	if (session_setup(db, err, errlen) == -1)
		goto out;
	ret = db;
	db = NULL;
out:
	db_close(db);
	return ret;
}

struct db *
db_open(const char *conninfo, char *err, size_t errlen)
{
	return open_conn(conninfo, 0, err, errlen);
}

struct db *
db_open_async(const char *conninfo, char *err, size_t errlen)
{
	return open_conn(conninfo, 1, err, errlen);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	/* An open transaction is rolled back by the server. */
	PQfinish(db->conn);
	free(db);
}

/*
 * 0 if res has the wanted status, else -1 with the server's message and
 * SQLSTATE (or libpq's, if there is no result) in err.
 */
int
db_check(struct db *db, PGresult *res, int want, char *err, size_t errlen)
{
	const char	*state;

	if (res != NULL && (int)PQresultStatus(res) == want)
		return 0;
	if (res == NULL) {
		db_seterr(err, errlen, "%s", *PQerrorMessage(db->conn) != '\0' ?
		    PQerrorMessage(db->conn) :
		    "no result (out of memory or too many parameters)");
		return -1;
	}
	if ((state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL)
		db_seterr(err, errlen, "%s (SQLSTATE %s)",
		    PQresultErrorMessage(res), state);
	else if (*PQresultErrorMessage(res) != '\0')
		db_seterr(err, errlen, "%s", PQresultErrorMessage(res));
	else
		db_seterr(err, errlen, "unexpected result %s",
		    PQresStatus(PQresultStatus(res)));
	return -1;
}

/*
 * Make sure the connection is usable before an operation starts: a
 * connection the server closed (restart, crash recovery, terminated
 * backend) is reset once.  Returns 0 or -1 with err.
 */
int
db_ready(struct db *db, char *err, size_t errlen)
{
	/* Read what the server sent while we were idle: maybe its goodbye. */
	if (PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		(void)PQconsumeInput(db->conn);
	if (PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_seterr(err, errlen, "reconnect: %s",
		    PQerrorMessage(db->conn));
		return -1;
	}
	return session_setup(db, err, errlen);
}

/*
 * Run one statement with out-of-line parameters (p may be NULL); the
 * caller checks and clears the result.  With retry, and only outside a
 * transaction, a statement that failed because the connection was lost
 * is run once more on a fresh connection: callers ask for it only for
 * the first statement of an operation, which can safely run twice and
 * does not depend on session state (locks) that a reset loses.
 */
PGresult *
db_exec(struct db *db, const char *sql, const struct db_params *p,
    int retry)
{
	PGresult	*res;
	int		 idle;

	/* Callers pass at most a dozen parameters: a bug, not a state. */
	if (p != NULL && p->overflow)
		return NULL;
	idle = PQtransactionStatus(db->conn) == PQTRANS_IDLE ||
	    PQstatus(db->conn) != CONNECTION_OK;
	if (retry && idle && db_ready(db, NULL, 0) == -1)
		return NULL;
	res = PQexecParams(db->conn, sql, p != NULL ? p->n : 0,
	    p != NULL ? p->types : NULL, p != NULL ? p->values : NULL,
	    p != NULL ? p->lengths : NULL, p != NULL ? p->formats : NULL, 0);
	if (retry && idle && PQstatus(db->conn) == CONNECTION_BAD &&
	    PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		if (db_ready(db, NULL, 0) == -1)
			return NULL;
		res = PQexecParams(db->conn, sql, p != NULL ? p->n : 0,
		    p != NULL ? p->types : NULL, p != NULL ? p->values : NULL,
		    p != NULL ? p->lengths : NULL,
		    p != NULL ? p->formats : NULL, 0);
	}
	return res;
}

/*
 * BEGIN a READ COMMITTED transaction with synchronous commit.  READ
 * COMMITTED whatever default_transaction_isolation says: each statement
 * must see what was committed while we waited for an advisory lock.
 * synchronous_commit on: a transaction reported committed survives a
 * server crash, and a client acts on our answer.
 * With retry, a lost connection is reset and BEGIN sent again.
 * Returns 0 or -1 with err; on error no transaction is open.
 */
int
db_begin(struct db *db, int retry, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	int		 rc = -1;

	/*
	 * A transaction still open here was left by an operation that
	 * failed half-way (test/integration/faults.sh met it in about one
	 * run in six, on the first enrollment after PostgreSQL's fast
	 * shutdown and restart; the path is not found).  Its
	 * work is rolled back either way; this request need not fail for
	 * it, so it goes on unless the rollback did not end it.
	 */
	switch (PQtransactionStatus(db->conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		db_rollback(db);
		if (PQtransactionStatus(db->conn) != PQTRANS_IDLE &&
		    PQstatus(db->conn) == CONNECTION_OK) {
			db_seterr(err, errlen, "a transaction was already "
			    "open and could not be rolled back");
			goto out;
		}
		break;
	default:
		break;
	}
	if (retry && db_ready(db, err, errlen) == -1)
		goto out;
	res = db_exec(db, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL,
	    retry);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);
	res = db_exec(db, "SET LOCAL synchronous_commit = on", NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	PQclear(res);
	if (rc == -1)
		db_rollback(db);
	return rc;
}

/* 0 if a transaction is open and usable, else -1 with err. */
int
db_in_tx(struct db *db, char *err, size_t errlen)
{
	switch (PQtransactionStatus(db->conn)) {
	case PQTRANS_INTRANS:
		return 0;
	case PQTRANS_INERROR:
		db_seterr(err, errlen, "the transaction has failed");
		return -1;
	case PQTRANS_UNKNOWN:
		db_seterr(err, errlen, "connection lost: %s",
		    PQerrorMessage(db->conn));
		return -1;
	default:
		db_seterr(err, errlen, "no open transaction");
		return -1;
	}
}

enum db_rc
db_commit(struct db *db, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	enum db_rc	 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	res = PQexecParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/*
		 * The server may or may not have committed before the
		 * connection broke: the outcome is in doubt and the caller
		 * must not claim success.
		 */
		if (PQstatus(db->conn) == CONNECTION_BAD)
			db_seterr(err, errlen, "commit in doubt: %s",
			    PQerrorMessage(db->conn));
		else
			(void)db_check(db, res, PGRES_COMMAND_OK, err, errlen);
		goto out;
	}
	/* A failed transaction "commits" as ROLLBACK with status OK. */
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		db_seterr(err, errlen, "commit refused: the server answered %s",
		    PQcmdStatus(res));
		goto out;
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

/* Roll back the open transaction, if any; harmless otherwise. */
void
db_rollback(struct db *db)
{
	PGresult	*res;

	if (db == NULL)
		return;
	switch (PQtransactionStatus(db->conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		res = PQexecParams(db->conn, "ROLLBACK", 0, NULL, NULL, NULL,
		    NULL, 0);
		/* If even this fails, the connection is gone, and so is the
		 * transaction; db_ready() reconnects next time. */
		PQclear(res);
		break;
	default:
		break;
	}
}

enum db_rc
db_check_durability(struct db *db, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	enum db_rc	 rc = DB_ERROR;

	res = db_exec(db, "SELECT pg_catalog.current_setting('fsync'), "
	    "pg_catalog.current_setting('full_page_writes')", NULL, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) != 1) {
		db_seterr(err, errlen, "settings: %d rows", PQntuples(res));
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "on") != 0) {
		db_seterr(err, errlen, "the server runs with fsync = %s",
		    PQgetvalue(res, 0, 0));
		rc = DB_REFUSED;
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "on") != 0) {
		db_seterr(err, errlen, "the server runs with "
		    "full_page_writes = %s", PQgetvalue(res, 0, 1));
		rc = DB_REFUSED;
		goto out;
	}
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

void
db_params_init(struct db_params *p)
{
	memset(p, 0, sizeof(*p));
}

static int
param_next(struct db_params *p)
{
	if (p->n >= DB_MAXPARAMS) {
		p->overflow = 1;
		return -1;
	}
	return p->n++;
}

/* A text parameter of a type the server infers; NULL is SQL NULL. */
void
db_param_text(struct db_params *p, const char *s)
{
	int	 i;

	if ((i = param_next(p)) == -1)
		return;
	p->values[i] = s;
}

void
db_param_int(struct db_params *p, long long v)
{
	int	 i;

	if ((i = param_next(p)) == -1)
		return;
	(void)snprintf(p->buf[i], sizeof(p->buf[i]), "%lld", v);
	p->types[i] = DB_OID_INT8;
	p->values[i] = p->buf[i];
}

/* bytea in binary format: the bytes as they are, no escaping. */
void
db_param_bytea(struct db_params *p, const unsigned char *b, size_t len)
{
	int	 i;

	if ((i = param_next(p)) == -1)
		return;
	if (len > 0x7fffffff) {
		p->overflow = 1;
		return;
	}
	p->types[i] = DB_OID_BYTEA;
	p->values[i] = (const char *)b;
	p->lengths[i] = (int)len;
	p->formats[i] = 1;
}

void
db_param_limit(struct db_params *p, int limit)
{
	if (limit > 0)
		db_param_int(p, limit);
	else
		db_param_text(p, NULL);	/* LIMIT NULL: all rows */
}

/*
 * Normalise a serial number given in hex: any case, optional "0x",
 * optional colons between octets (as openssl prints them), leading
 * zeros ignored.  Writes upper-case hex without leading zeros ("0" for
 * zero), the form stored in scepd.certificates.  Returns 0 or -1.
 */
int
db_serial_norm(const char *in, char out[DB_SERIAL_MAX + 1])
{
	const char	*s;
	size_t		 n = 0;
	int		 digits = 0;

	if (in == NULL)
		return -1;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (s = in; *s != '\0'; s++) {
		if (*s == ':' && s != in && s[1] != '\0' && s[1] != ':')
			continue;
		if (!isxdigit((unsigned char)*s))
			return -1;
		digits++;
		if (n == 0 && *s == '0')
			continue;
		if (n == DB_SERIAL_MAX)
			return -1;
		out[n++] = (char)toupper((unsigned char)*s);
	}
	if (digits == 0)
		return -1;
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode hex (encode(x, 'hex') output) into a new buffer, to be freed
 * with free().  Returns 0 or -1.
 */
int
db_hex_decode(const char *hex, unsigned char **out, size_t *outlen)
{
	unsigned char	*b = NULL;	/* owned */
	size_t		 len, i;
	int		 hi, lo, rc = -1;

	len = strlen(hex);
	if (len % 2 != 0)
		goto out;
	/* malloc(0) may return NULL; keep a valid pointer for empty DER. */
	if ((b = malloc(len / 2 + 1)) == NULL)
		goto out;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hexval(hex[2 * i])) == -1 ||
		    (lo = hexval(hex[2 * i + 1])) == -1)
			goto out;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	*out = b;
	*outlen = len / 2;
	b = NULL;
	rc = 0;
out:
	free(b);
	return rc;
}

/* Parse extract(epoch ...)::bigint text into *t.  Returns 0 or -1. */
int
db_get_time(const char *s, time_t *t)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		return -1;
	*t = (time_t)v;
	return 0;
}

int
db_tx_state_parse(const char *s, enum db_tx_state *state)
{
	if (strcmp(s, "success") == 0)
		*state = DB_TX_SUCCESS;
	else if (strcmp(s, "failure") == 0)
		*state = DB_TX_FAILURE;
	else if (strcmp(s, "pending") == 0)
		*state = DB_TX_PENDING;
	else
		return -1;
	return 0;
}

int
db_dup_col(PGresult *res, int c, char **out)
{
	*out = NULL;
	if (PQgetisnull(res, 0, c))
		return 0;
	return (*out = strdup(PQgetvalue(res, 0, c))) == NULL ? -1 : 0;
}

int
db_xact_lock(struct db *db, enum db_lock_space space, const char *name,
    int try, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	int			 rc;

	db_params_init(&p);
	db_param_int(&p, space);
	db_param_text(&p, name);
	if (try)
		res = db_exec(db, "SELECT pg_catalog.pg_try_advisory_xact_lock("
		    "$1::integer, pg_catalog.hashtext($2))", &p, 0);
	else
		res = db_exec(db, "SELECT pg_catalog.pg_advisory_xact_lock("
		    "$1::integer, pg_catalog.hashtext($2)) IS NULL", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1) {
		PQclear(res);
		return -1;
	}
	/* pg_advisory_xact_lock() returns void: IS NULL is true. */
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

enum db_rc
db_sweep_round(struct db *db, enum db_lock_space space, const char *name,
    const char *sql, const struct db_params *p, PGresult **res, char *err,
    size_t errlen)
{
	PGresult	*r = NULL;
	int		 locked;
	enum db_rc	 rc = DB_ERROR;

	*res = NULL;
	if (db_begin(db, 1, err, errlen) == -1)
		return DB_ERROR;
	/* One sweeper at a time across every scepd; the others skip. */
	if ((locked = db_xact_lock(db, space, name, 1, err, errlen)) == -1)
		goto out;
	if (locked == 0) {
		db_rollback(db);
		rc = DB_OK;
		goto out;
	}
	r = db_exec(db, sql, p, 0);
	if (db_check(db, r, PGRES_TUPLES_OK, err, errlen) == -1 ||
	    db_commit(db, err, errlen) == DB_ERROR)
		goto out;
	*res = r;
	r = NULL;
	rc = DB_OK;
out:
	PQclear(r);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

enum db_rc
db_job_lock(struct db *db, const char *name, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	db_params_init(&p);
	db_param_int(&p, DB_LOCK_JOB);
	db_param_text(&p, name);
	res = db_exec(db, "SELECT pg_catalog.pg_try_advisory_lock($1::integer, "
	    "pg_catalog.hashtext($2))", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == 0)
		rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? DB_OK :
		    DB_REFUSED;
	PQclear(res);
	return rc;
}

void
db_job_unlock(struct db *db, const char *name)
{
	struct db_params	 p;

	db_params_init(&p);
	db_param_int(&p, DB_LOCK_JOB);
	db_param_text(&p, name);
	/* If this fails the lock goes with the session. */
	PQclear(db_exec(db, "SELECT pg_catalog.pg_advisory_unlock($1::integer, "
	    "pg_catalog.hashtext($2))", &p, 0));
}

enum db_rc
db_mark(struct db *db, char *err, size_t errlen)
{
	PGresult	*res = db_exec(db, "SAVEPOINT scepd_mark", NULL, 0);
	int		 rc = db_check(db, res, PGRES_COMMAND_OK, err, errlen);

	PQclear(res);
	return rc == 0 ? DB_OK : DB_ERROR;
}

enum db_rc
db_back_to_mark(struct db *db, char *err, size_t errlen)
{
	PGresult	*res = db_exec(db, "ROLLBACK TO SAVEPOINT scepd_mark", NULL,
			    0);
	int		 rc = db_check(db, res, PGRES_COMMAND_OK, err, errlen);

	PQclear(res);
	return rc == 0 ? DB_OK : DB_ERROR;
}
