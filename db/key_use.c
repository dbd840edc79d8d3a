/*
 * The audit of key use (db/schema/011_key_use.sql): what each key did,
 * per purpose, added up over every scepd sharing the database, and what
 * the database recorded of the certificates a key signed.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

enum db_rc
db_key_use_add(struct db *db, const char *key_id, const char *purpose,
    long long count, long long failures, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	if (count < 0 || failures < 0) {
		db_seterr(err, errlen, "negative key use");
		return DB_ERROR;
	}
	db_params_init(&p);
	db_param_text(&p, key_id);
	db_param_text(&p, purpose);
	db_param_int(&p, count);
	db_param_int(&p, failures);
	/*
	 * Adding, so not retried on a new connection: a COMMIT that took
	 * place before the connection was lost would be added twice.  A
	 * connection found lost before is reset.
	 */
	if (db_ready(db, err, errlen) == -1)
		return DB_ERROR;
	res = db_exec(db, "INSERT INTO scepd.key_use (key_id, purpose, count, "
	    "failures) VALUES ($1, $2, $3::bigint, $4::bigint) "
	    "ON CONFLICT (key_id, purpose) DO UPDATE "
	    "SET count = scepd.key_use.count + EXCLUDED.count, "
	    "failures = scepd.key_use.failures + EXCLUDED.failures, "
	    "updated_at = pg_catalog.clock_timestamp()", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == 0)
		rc = DB_OK;
	PQclear(res);
	return rc;
}

enum db_rc
db_key_use_get(struct db *db, const char *key_id, const char *purpose,
    long long *count, long long *failures, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	*count = *failures = 0;
	db_params_init(&p);
	db_param_text(&p, key_id);
	db_param_text(&p, purpose);
	res = db_exec(db, "SELECT count, failures FROM scepd.key_use "
	    "WHERE key_id = $1 AND purpose = $2", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 1) {
		*count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*failures = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_key_records(struct db *db, const char *ca_key, struct db_key_records *r,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	memset(r, 0, sizeof(*r));
	db_params_init(&p);
	db_param_text(&p, ca_key);
	res = db_exec(db, "SELECT "
	    "(SELECT count(*) FROM scepd.certificates WHERE ca_key = $1), "
	    "count(*) FILTER (WHERE state = 'reserved'), "
	    "count(*) FILTER (WHERE state = 'discarded'), "
	    "count(*) FILTER (WHERE state = 'failed'), "
	    "count(*) FILTER (WHERE state = 'abandoned') "
	    "FROM scepd.serial_reservations WHERE ca_key = $1", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	r->recorded = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	r->reserved = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	r->discarded = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	r->failed = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	r->abandoned = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}
