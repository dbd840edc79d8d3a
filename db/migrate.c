/*
 * Schema migrations: the files of db/schema/, compiled in, applied in
 * order, each once, each in its own transaction.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"


/* The compiled-in files must be in strictly increasing version order. */
static int
files_sane(char *err, size_t errlen)
{
	int	 i;

	for (i = 0; i < db_schema_nfiles; i++) {
		if (db_schema_files[i].version <= 0 || (i > 0 &&
		    db_schema_files[i].version <=
		    db_schema_files[i - 1].version)) {
			db_seterr(err, errlen, "migration %s: bad version order",
			    db_schema_files[i].name);
			return -1;
		}
	}
	return 0;
}

/* Apply one migration unless recorded: 1 applied, 0 already, -1 error. */
static int
apply(struct db *db, const struct db_schema_file *f, char *err,
    size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 why[512];
	int			 rc = -1;

	/* No reconnect: a new session would not hold the migration lock. */
	if (db_begin(db, 0, err, errlen) == -1)
		goto out;
	db_params_init(&p);
	db_param_int(&p, f->version);
	res = db_exec(db, "SELECT 1 FROM scepd.schema_migrations "
	    "WHERE version = $1", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) > 0) {
		db_rollback(db);
		rc = 0;
		goto out;
	}
	PQclear(res);
	/*
	 * A migration is several statements of compiled-in text without
	 * parameters: the one place PQexec (simple protocol) is needed.
	 */
	res = PQexec(db->conn, f->sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    db_check(db, res, PGRES_COMMAND_OK, why, sizeof(why)) == -1) {
		db_seterr(err, errlen, "migration %s: %s", f->name, why);
		goto out;
	}
	PQclear(res);
	db_params_init(&p);
	db_param_int(&p, f->version);
	db_param_text(&p, f->name);
	res = db_exec(db, "INSERT INTO scepd.schema_migrations "
	    "(version, name) VALUES ($1, $2)", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	if (db_commit(db, err, errlen) == DB_ERROR)
		goto out;
	rc = 1;
out:
	PQclear(res);
	if (rc == -1)
		db_rollback(db);
	return rc;
}

enum db_rc
db_migrate(struct db *db, int *applied, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	int			 i, n = 0, r, locked = 0;
	enum db_rc		 rc = DB_ERROR;

	if (applied != NULL)
		*applied = 0;
	if (files_sane(err, errlen) == -1)
		goto out;
	if (db_in_tx(db, NULL, 0) == 0) {
		db_seterr(err, errlen, "db_migrate inside a transaction");
		goto out;
	}
	/* A session lock (db_xact_lock() is for transactions), same space. */
	db_params_init(&p);
	db_param_int(&p, DB_LOCK_MIGRATE);
	res = db_exec(db, "SELECT pg_catalog.pg_advisory_lock($1::integer, 0)",
	    &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	locked = 1;
	PQclear(res);
	res = db_exec(db, "CREATE SCHEMA IF NOT EXISTS scepd", NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);
	res = db_exec(db, "CREATE TABLE IF NOT EXISTS scepd.schema_migrations ("
	    "version integer PRIMARY KEY, "
	    "name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT pg_catalog.now())",
	    NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	for (i = 0; i < db_schema_nfiles; i++) {
		if ((r = apply(db, &db_schema_files[i], err, errlen)) == -1)
			goto out;
		n += r;
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (locked && PQstatus(db->conn) == CONNECTION_OK) {
		db_rollback(db);
		db_params_init(&p);
		db_param_int(&p, DB_LOCK_MIGRATE);
		res = db_exec(db, "SELECT pg_catalog.pg_advisory_unlock("
		    "$1::integer, 0)", &p, 0);
		/* If this fails the lock goes with the session anyway. */
		PQclear(res);
	}
	if (applied != NULL)
		*applied = n;
	return rc;
}

enum db_rc
db_schema_current(struct db *db, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	int		 i, j, found;
	enum db_rc	 rc = DB_ERROR;

	if (files_sane(err, errlen) == -1)
		goto out;
	res = db_exec(db, "SELECT pg_catalog.to_regclass("
	    "'scepd.schema_migrations') IS NOT NULL", NULL, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		db_seterr(err, errlen, "no schema: run the migrations");
		rc = DB_REFUSED;
		goto out;
	}
	PQclear(res);
	res = db_exec(db, "SELECT version FROM scepd.schema_migrations",
	    NULL, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	for (i = 0; i < db_schema_nfiles; i++) {
		found = 0;
		for (j = 0; j < PQntuples(res) && !found; j++)
			found = atoi(PQgetvalue(res, j, 0)) ==
			    db_schema_files[i].version;
		if (!found) {
			db_seterr(err, errlen, "migration %s is not applied",
			    db_schema_files[i].name);
			rc = DB_REFUSED;
			goto out;
		}
	}
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}
