/*
 * Delivery of issued certificates (db/schema/009_delivered.sql): the
 * mark scepd sets once a SUCCESS CertRep has been handed to the
 * connection, and the sweep of certificates that never got it.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

enum db_rc
db_cert_mark_delivered(struct db *db, const char *const *serials, int n,
    int *marked, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			*list = NULL, norm[DB_SERIAL_MAX + 1];
	size_t			 len = 0;
	enum db_rc		 rc = DB_ERROR;

	*marked = 0;
	if (n <= 0)
		return DB_OK;
	/* A text[] literal: normalised serials are bare hex digits. */
	if ((list = malloc((size_t)n * (DB_SERIAL_MAX + 1) + 3)) == NULL) {
		db_seterr(err, errlen, "out of memory");
		goto out;
	}
	list[len++] = '{';
	for (int i = 0; i < n; i++) {
		if (db_serial_norm(serials[i], norm) == -1) {
			db_seterr(err, errlen, "bad serial number %s",
			    serials[i]);
			goto out;
		}
		if (i > 0)
			list[len++] = ',';
		memcpy(list + len, norm, strlen(norm));
		len += strlen(norm);
	}
	list[len++] = '}';
	list[len] = '\0';
	db_params_init(&p);
	db_param_text(&p, list);
	/* The first delivery counts; a later one changes nothing. */
	res = db_exec(db, "UPDATE scepd.certificates "
	    "SET delivered_at = pg_catalog.now() "
	    "WHERE serial = ANY ($1::text[]) AND delivered_at IS NULL", &p, 1);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	*marked = atoi(PQcmdTuples(res));
	rc = DB_OK;
out:
	PQclear(res);
	free(list);
	return rc;
}

enum db_rc
db_sweep_undelivered(struct db *db, int hours, time_t at, int limit,
    const char *actor, void (*cb)(const char *serial, void *), void *arg,
    int *ran, int *revoked, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;

	*ran = 0;
	*revoked = 0;
	if (hours <= 0) {
		*ran = 1;
		return DB_OK;
	}
	db_params_init(&p);
	db_param_int(&p, hours);
	db_param_int(&p, (long long)at);
	db_param_int(&p, limit);
	db_param_text(&p, actor);
	if (db_sweep_round(db, DB_LOCK_UNDELIVERED_SWEEP, "", "SELECT s FROM "
	    "scepd.sweep_undelivered($1::integer, pg_catalog.to_timestamp($2), "
	    "$3::integer, $4) s", &p, &res, err, errlen) == DB_ERROR)
		return DB_ERROR;
	if (res == NULL)
		return DB_OK;
	*ran = 1;
	*revoked = PQntuples(res);
	/* Told only once committed: each is revoked for good. */
	for (int i = 0; cb != NULL && i < PQntuples(res); i++)
		cb(PQgetvalue(res, i, 0), arg);
	PQclear(res);
	return DB_OK;
}
