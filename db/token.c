/*
 * Bearer tokens of the admin API.  A token is 256 random bits, so its
 * SHA-256 is all that is stored and looked up; its name is what the
 * audit trail and the logs show.  Changes and their audit rows are one
 * statement each, so they commit together.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

enum db_rc
db_token_create(struct db *db, const char *name,
    const unsigned char sha256[32], const char *actor, char *err,
    size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	const char		*state, *constraint;
	enum db_rc		 rc = DB_ERROR;

	if (name == NULL || actor == NULL) {
		db_seterr(err, errlen, "token without name or actor");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, name);
	db_param_bytea(&p, sha256, 32);
	db_param_text(&p, actor);
	res = db_exec(db, "WITH t AS (INSERT INTO scepd.api_tokens "
	    "(name, token_sha256, created_by) VALUES ($1::text, $2, $3::text) "
	    "RETURNING id) "
	    "INSERT INTO scepd.audit (actor, action, object) "
	    "SELECT $3::text, 'token-create', 'token:' || $1::text FROM t",
	    &p, 1);
	if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    (state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL &&
	    (constraint = PQresultErrorField(res,
	    PG_DIAG_CONSTRAINT_NAME)) != NULL) {
		if (strcmp(state, "23505") == 0 &&
		    strcmp(constraint, "api_tokens_name_key") == 0) {
			rc = DB_REFUSED;
			goto out;
		}
		if (strcmp(state, "23514") == 0 &&
		    strcmp(constraint, "api_tokens_name_check") == 0) {
			db_seterr(err, errlen, "a token name is 1 to 64 of "
			    "A-Z a-z 0-9 . _ -");
			goto out;
		}
	}
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_token_revoke(struct db *db, const char *name, const char *actor,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	if (name == NULL || actor == NULL) {
		db_seterr(err, errlen, "token without name or actor");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, name);
	db_param_text(&p, actor);
	res = db_exec(db, "WITH t AS (UPDATE scepd.api_tokens "
	    "SET revoked_at = pg_catalog.now() "
	    "WHERE name = $1::text AND revoked_at IS NULL RETURNING id) "
	    "INSERT INTO scepd.audit (actor, action, object) "
	    "SELECT $2::text, 'token-revoke', 'token:' || $1::text FROM t",
	    &p, 1);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	/* One audit row per revoked token: none means nothing to revoke. */
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? DB_OK : DB_NOT_FOUND;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_token_check(struct db *db, const unsigned char sha256[32], char *name,
    size_t namelen, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	const char		*v;
	enum db_rc		 rc = DB_ERROR;

	db_params_init(&p);
	db_param_bytea(&p, sha256, 32);
	res = db_exec(db, "UPDATE scepd.api_tokens "
	    "SET last_used_at = pg_catalog.now() "
	    "WHERE token_sha256 = $1 AND revoked_at IS NULL RETURNING name",
	    &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) != 1) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	v = PQgetvalue(res, 0, 0);
	if (strlen(v) >= namelen) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	memcpy(name, v, strlen(v) + 1);
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_token_list(struct db *db, int (*cb)(const struct db_token_row *, void *),
    void *arg, char *err, size_t errlen)
{
	struct db_token_row	 row;
	PGresult		*res = NULL;
	const char		*v;
	int			 i;
	enum db_rc		 rc = DB_ERROR;

	res = db_exec(db, "SELECT name, created_by, "
	    "extract(epoch FROM created_at)::bigint, "
	    "coalesce(extract(epoch FROM revoked_at)::bigint, 0), "
	    "coalesce(extract(epoch FROM last_used_at)::bigint, 0) "
	    "FROM scepd.api_tokens ORDER BY name", NULL, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&row, 0, sizeof(row));
		v = PQgetvalue(res, i, 0);
		if (strlen(v) >= sizeof(row.name)) {
			db_seterr(err, errlen, "token name too long");
			goto out;
		}
		memcpy(row.name, v, strlen(v) + 1);
		row.created_by = PQgetvalue(res, i, 1);
		if (db_get_time(PQgetvalue(res, i, 2), &row.created_at) == -1 ||
		    db_get_time(PQgetvalue(res, i, 3), &row.revoked_at) == -1 ||
		    db_get_time(PQgetvalue(res, i, 4), &row.last_used_at) == -1) {
			db_seterr(err, errlen, "token %s: bad time", row.name);
			goto out;
		}
		if (cb(&row, arg) != 0)
			break;
	}
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}
