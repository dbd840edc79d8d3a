/*
 * The enrollment transaction: lock the transactionID, read what is known
 * about it, record the certificate, the outcome and the audit trail.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

void
db_prior_clear(struct db_prior *prior)
{
	if (prior == NULL)
		return;
	free(prior->cert_der);
	memset(prior, 0, sizeof(*prior));
}

static const char *
state_name(enum db_tx_state state)
{
	switch (state) {
	case DB_TX_SUCCESS:
		return "success";
	case DB_TX_FAILURE:
		return "failure";
	case DB_TX_PENDING:
		return "pending";
	default:
		return NULL;
	}
}

/* Fill prior from the row of the same request (same key and hash). */
static int
prior_fill(PGresult *res, int i, struct db_prior *prior, char *err,
    size_t errlen)
{
	const char	*serial;

	if (db_tx_state_parse(PQgetvalue(res, i, 2), &prior->state) == -1) {
		db_seterr(err, errlen, "unknown transaction state %s",
		    PQgetvalue(res, i, 2));
		return -1;
	}
	switch (prior->state) {
	case DB_TX_FAILURE:
		prior->fail_info = atoi(PQgetvalue(res, i, 3));
		break;
	case DB_TX_SUCCESS:
		serial = PQgetvalue(res, i, 4);
		if (PQgetisnull(res, i, 5) || strlen(serial) == 0 ||
		    strlen(serial) >= sizeof(prior->serial)) {
			db_seterr(err, errlen, "transaction without its "
			    "certificate");
			return -1;
		}
		memcpy(prior->serial, serial, strlen(serial) + 1);
		if (db_hex_decode(PQgetvalue(res, i, 5), &prior->cert_der,
		    &prior->cert_der_len) == -1) {
			db_seterr(err, errlen, "certificate %s: bad DER",
			    serial);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Does rq carry everything that identifies a request? */
static int
identity_complete(const struct db_tx *rq, char *err, size_t errlen)
{
	if (rq->transaction_id == NULL || *rq->transaction_id == '\0') {
		db_seterr(err, errlen, "empty transactionID");
		return -1;
	}
	if (rq->signer_cert_sha256 == NULL || rq->signer_key_sha256 == NULL ||
	    rq->request_sha256 == NULL) {
		db_seterr(err, errlen, "transaction without its identity");
		return -1;
	}
	return 0;
}

/*
 * Read into *prior what is recorded for rq's transactionID (in a
 * transaction or not).  0, or -1 with err and *prior cleared.
 */
static int
prior_read(struct db *db, const struct db_tx *rq, int window_hours,
    struct db_prior *prior, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;
	int			 i;

	/*
	 * One row per transaction of this ID, newest first; the first whose
	 * whole identity matches is the request's, if it is still waiting
	 * for approval or was recorded within the window.  A NULL signer
	 * certificate is a row recorded before migration 006, matched as it
	 * was then.
	 */
	db_params_init(&p);
	db_param_text(&p, rq->transaction_id);
	db_param_bytea(&p, rq->signer_key_sha256, 32);
	db_param_bytea(&p, rq->request_sha256, 32);
	db_param_int(&p, rq->message_type);
	db_param_bytea(&p, rq->signer_cert_sha256, 32);
	db_param_int(&p, window_hours);
	res = db_exec(db, "SELECT t.signer_key_sha256 = $2, "
	    "t.request_sha256 = $3 AND t.message_type = $4 AND "
	    "coalesce(t.signer_cert_sha256 = $5, true) AND "
	    "(t.state = 'pending' OR t.created_at > pg_catalog.now() - "
	    "pg_catalog.make_interval(hours => $6::integer)), "
	    "t.state, t.fail_info, t.cert_serial, "
	    "pg_catalog.encode(c.der, 'hex'), t.id "
	    "FROM scepd.transactions t "
	    "LEFT JOIN scepd.certificates c ON c.serial = t.cert_serial "
	    "WHERE t.transaction_id = $1 ORDER BY t.created_at DESC, t.id DESC",
	    &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 0), "t") != 0)
			prior->key_mismatch = 1;
		else if (prior->row_id == 0 &&
		    strcmp(PQgetvalue(res, i, 1), "t") == 0) {
			if (prior_fill(res, i, prior, err, errlen) == -1)
				goto out;
			prior->row_id = atoll(PQgetvalue(res, i, 6));
		}
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR) {
		db_prior_clear(prior);
		prior->fail_info = -1;
	}
	return rc;
}

enum db_rc
db_enroll_peek(struct db *db, const struct db_tx *rq, int window_hours,
    struct db_prior *prior, char *err, size_t errlen)
{
	memset(prior, 0, sizeof(*prior));
	prior->fail_info = -1;
	if (identity_complete(rq, err, errlen) == -1 ||
	    db_ready(db, err, errlen) == -1)
		return DB_ERROR;
	return prior_read(db, rq, window_hours, prior, err, errlen);
}

enum db_rc
db_enroll_begin(struct db *db, const struct db_tx *rq, int window_hours,
    struct db_prior *prior, char *err, size_t errlen)
{
	memset(prior, 0, sizeof(*prior));
	prior->fail_info = -1;
	if (identity_complete(rq, err, errlen) == -1 ||
	    db_begin(db, 1, err, errlen) == -1)
		return DB_ERROR;
	/*
	 * Concurrent copies of one request (a client retrying, two scepd
	 * processes) wait here for each other until COMMIT or ROLLBACK, so
	 * the second sees what the first recorded and at most one
	 * certificate is issued.  Keyed on the transactionID alone: a
	 * different signer key must also see the first one's row.  The
	 * snapshot of prior_read() (READ COMMITTED) is taken after the lock.
	 */
	if (db_xact_lock(db, DB_LOCK_TRANSACTION, rq->transaction_id, 0, err,
	    errlen) == -1 ||
	    prior_read(db, rq, window_hours, prior, err, errlen) != DB_OK) {
		db_rollback(db);
		return DB_ERROR;
	}
	return DB_OK;
}

/* Is this unique violation about the serial number? */
static int
serial_taken(PGresult *res)
{
	const char	*state, *constraint;

	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	return state != NULL && strcmp(state, "23505") == 0 &&
	    constraint != NULL &&
	    (strcmp(constraint, "certificates_pkey") == 0 ||
	    strcmp(constraint, "certificates_issuer_serial_key") == 0);
}

enum db_rc
db_cert_insert(struct db *db, const struct db_cert *c, char *err,
    size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 serial[DB_SERIAL_MAX + 1];
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (db_serial_norm(c->serial, serial) == -1) {
		db_seterr(err, errlen, "bad serial number");
		goto out;
	}
	if (c->der == NULL || c->key_sha256 == NULL) {
		db_seterr(err, errlen, "certificate without DER or key");
		goto out;
	}
	/* A collision must not abort the enrollment transaction. */
	res = db_exec(db, "SAVEPOINT db_cert_insert", NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);

	db_params_init(&p);
	db_param_text(&p, serial);
	db_param_text(&p, c->issuer);
	db_param_text(&p, c->subject);
	db_param_text(&p, c->sans != NULL ? c->sans : "");
	db_param_int(&p, (long long)c->not_before);
	db_param_int(&p, (long long)c->not_after);
	db_param_bytea(&p, c->der, c->der_len);
	db_param_bytea(&p, c->key_sha256, 32);
	db_param_text(&p, c->transaction_id);
	db_param_text(&p, c->profile);
	db_param_text(&p, c->device_id);
	db_param_text(&p, c->ca_key);
	/* The device a challenge or validator named is created on first use. */
	res = db_exec(db, "WITH dev AS (INSERT INTO scepd.devices (id) "
	    "SELECT $11::text WHERE $11::text IS NOT NULL "
	    "ON CONFLICT (id) DO NOTHING) "
	    "INSERT INTO scepd.certificates (serial, issuer, "
	    "subject, sans, not_before, not_after, der, key_sha256, "
	    "transaction_id, profile, device_id, ca_key) VALUES ($1, $2, $3, "
	    "$4, pg_catalog.to_timestamp($5), pg_catalog.to_timestamp($6), "
	    "$7, $8, $9, $10, $11, $12)", &p, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && serial_taken(res)) {
		PQclear(res);
		res = db_exec(db, "ROLLBACK TO SAVEPOINT db_cert_insert",
		    NULL, 0);
		if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
			goto out;
		rc = DB_REFUSED;
	} else if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);
	res = db_exec(db, "RELEASE SAVEPOINT db_cert_insert", NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1) {
		rc = DB_ERROR;
		goto out;
	}
	if (rc != DB_REFUSED)
		rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

enum db_rc
db_tx_record(struct db *db, const struct db_tx *tx, long long *row_id,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	const char		*state;
	char			 serial[DB_SERIAL_MAX + 1];
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if ((state = state_name(tx->state)) == NULL) {
		db_seterr(err, errlen, "bad transaction state %d",
		    (int)tx->state);
		goto out;
	}
	if (identity_complete(tx, err, errlen) == -1)
		goto out;
	if (tx->cert_serial != NULL &&
	    db_serial_norm(tx->cert_serial, serial) == -1) {
		db_seterr(err, errlen, "bad serial number");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, state);
	if (tx->state == DB_TX_FAILURE)
		db_param_int(&p, tx->fail_info);
	else
		db_param_text(&p, NULL);
	db_param_text(&p, tx->cert_serial != NULL ? serial : NULL);
	db_param_text(&p, tx->profile);
	db_param_text(&p, tx->peer);
	if (*row_id > 0) {
		/*
		 * The WHERE keeps a SUCCESS: its certificate was handed out,
		 * and a later outcome for the same request is a bug, not news.
		 */
		db_param_int(&p, *row_id);
		res = db_exec(db, "UPDATE scepd.transactions SET state = $1, "
		    "fail_info = $2, cert_serial = $3, profile = $4, "
		    "peer = $5, updated_at = pg_catalog.now() "
		    "WHERE id = $6 AND state <> 'success' RETURNING id",
		    &p, 0);
	} else {
		db_param_text(&p, tx->transaction_id);
		db_param_int(&p, tx->message_type);
		db_param_bytea(&p, tx->signer_cert_sha256, 32);
		db_param_bytea(&p, tx->signer_key_sha256, 32);
		db_param_bytea(&p, tx->request_sha256, 32);
		res = db_exec(db, "INSERT INTO scepd.transactions "
		    "(state, fail_info, cert_serial, profile, peer, "
		    "transaction_id, message_type, signer_cert_sha256, "
		    "signer_key_sha256, request_sha256) "
		    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
		    "RETURNING id", &p, 0);
	}
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) != 1) {
		db_seterr(err, errlen, "transaction %s already succeeded",
		    tx->transaction_id);
		goto out;
	}
	*row_id = atoll(PQgetvalue(res, 0, 0));
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

enum db_rc
db_audit(struct db *db, const char *actor, const char *action,
    const char *object, const char *detail, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (actor == NULL || action == NULL) {
		db_seterr(err, errlen, "audit without actor or action");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, actor);
	db_param_text(&p, action);
	db_param_text(&p, object);
	db_param_text(&p, detail);
	res = db_exec(db, "INSERT INTO scepd.audit (actor, action, object, "
	    "detail) VALUES ($1, $2, $3, $4)", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}
