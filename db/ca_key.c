/*
 * What a CA key leaves behind when it is replaced: its certificates that
 * relying parties still trust, and the rows recorded before
 * 007_ca_key.sql that only the key being replaced can have signed.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

/*
 * Run sql with $1 issuer and $2 ca_key: *n is the count(*) it selects
 * (want PGRES_TUPLES_OK) or the rows it changed.  Returns DB_OK or DB_ERROR.
 */
static enum db_rc
by_issuer_key(struct db *db, const char *sql, int want, const char *issuer,
    const char *ca_key, long long *n, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	*n = 0;
	db_params_init(&p);
	db_param_text(&p, issuer);
	db_param_text(&p, ca_key);
	res = db_exec(db, sql, &p, 1);
	if (db_check(db, res, want, err, errlen) == -1)
		goto out;
	*n = strtoll(want == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) :
	    PQcmdTuples(res), NULL, 10);
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_ca_key_live(struct db *db, const char *issuer, const char *ca_key,
    long long *n, char *err, size_t errlen)
{
	return by_issuer_key(db, "SELECT count(*) FROM scepd.certificates "
	    "WHERE issuer = $1 AND (ca_key = $2 OR ca_key IS NULL) "
	    "AND status IN ('valid', 'hold') AND not_after > now()",
	    PGRES_TUPLES_OK, issuer, ca_key, n, err, errlen);
}

enum db_rc
db_ca_key_claim(struct db *db, const char *issuer, const char *ca_key,
    long long *n, char *err, size_t errlen)
{
	/* Idempotent: safe for db_exec() to run again on a new connection. */
	return by_issuer_key(db, "UPDATE scepd.certificates SET ca_key = $2 "
	    "WHERE issuer = $1 AND ca_key IS NULL", PGRES_COMMAND_OK, issuer,
	    ca_key, n, err, errlen);
}
