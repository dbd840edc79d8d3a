/*
 * The notification outbox (008_outbox.sql): queued in the enrollment's
 * transaction, claimed by a sender under a lease, then marked sent or
 * failed with the time of the next attempt.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

enum db_rc
db_outbox_add(struct db *db, const char *profile, const char *kind,
    const char *transaction_id, const char *body, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (profile == NULL || kind == NULL || transaction_id == NULL ||
	    body == NULL) {
		db_seterr(err, errlen, "notification without its fields");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, profile);
	db_param_text(&p, kind);
	db_param_text(&p, transaction_id);
	db_param_text(&p, body);
	res = db_exec(db, "INSERT INTO scepd.outbox (profile, kind, "
	    "transaction_id, body) VALUES ($1, $2, $3, $4)", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

int
db_outbox_claim(struct db *db, int limit, int lease_seconds,
    int (*cb)(const struct db_outbox_row *, void *), void *arg, char *err,
    size_t errlen)
{
	struct db_outbox_row	 row;
	struct db_params	 p;
	PGresult		*res = NULL;
	int			 i, n = -1;

	if (limit <= 0 || lease_seconds <= 0) {
		db_seterr(err, errlen, "bad limit or lease");
		return -1;
	}
	/*
	 * One statement, committed at once: SKIP LOCKED and the lease keep
	 * two senders (two scepd processes) from taking the same row.
	 */
	db_params_init(&p);
	db_param_int(&p, limit);
	db_param_int(&p, lease_seconds);
	res = db_exec(db, "UPDATE scepd.outbox o SET next_at = "
	    "pg_catalog.now() + pg_catalog.make_interval(secs => $2::integer) "
	    "FROM (SELECT id FROM scepd.outbox WHERE sent_at IS NULL AND "
	    "next_at <= pg_catalog.now() ORDER BY next_at, id LIMIT $1 "
	    "FOR UPDATE SKIP LOCKED) due WHERE o.id = due.id "
	    "RETURNING o.id, o.profile, o.kind, o.transaction_id, o.body, "
	    "o.attempts", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&row, 0, sizeof(row));
		row.id = atoll(PQgetvalue(res, i, 0));
		row.profile = PQgetvalue(res, i, 1);
		row.kind = PQgetvalue(res, i, 2);
		row.transaction_id = PQgetvalue(res, i, 3);
		row.body = PQgetvalue(res, i, 4);
		row.attempts = atoi(PQgetvalue(res, i, 5));
		if (cb(&row, arg) != 0)
			break;
	}
out:
	PQclear(res);
	return n;
}

/*
 * Run one UPDATE of a claimed row: DB_OK, or DB_ERROR if it failed or hit
 * nothing.
 */
static enum db_rc
update_row(struct db *db, const char *sql, const struct db_params *p,
    char *err, size_t errlen)
{
	PGresult	*res;
	enum db_rc	 rc = DB_ERROR;

	res = db_exec(db, sql, p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		db_seterr(err, errlen, "no such notification waits");
		goto out;
	}
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_outbox_sent(struct db *db, long long id, char *err, size_t errlen)
{
	struct db_params	 p;

	db_params_init(&p);
	db_param_int(&p, id);
	return update_row(db, "UPDATE scepd.outbox SET sent_at = "
	    "pg_catalog.now(), last_error = NULL WHERE id = $1 AND "
	    "sent_at IS NULL", &p, err, errlen);
}

enum db_rc
db_outbox_failed(struct db *db, long long id, const char *why,
    int retry_seconds, char *err, size_t errlen)
{
	struct db_params	 p;

	if (retry_seconds <= 0) {
		db_seterr(err, errlen, "bad retry time");
		return DB_ERROR;
	}
	db_params_init(&p);
	db_param_int(&p, id);
	db_param_text(&p, why != NULL ? why : "");
	db_param_int(&p, retry_seconds);
	return update_row(db, "UPDATE scepd.outbox SET attempts = attempts + 1, "
	    "last_error = $2, next_at = pg_catalog.now() + "
	    "pg_catalog.make_interval(secs => $3::integer) "
	    "WHERE id = $1 AND sent_at IS NULL", &p, err, errlen);
}
