/*
 * The lifecycle calls: device state, revocation, bindings and the sweep
 * of unused certificates.  The rules are SQL functions of
 * db/schema/005_lifecycle.sql, so every process applies them the same
 * way under row locks; this file calls them and maps their errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

/* SQLSTATEs the lifecycle functions raise. */
static enum db_rc
lifecycle_error(PGresult *res)
{
	const char	*state;

	if (res == NULL ||
	    (state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return DB_ERROR;
	if (strcmp(state, "P0002") == 0)
		return DB_NOT_FOUND;
	if (strcmp(state, "55000") == 0 || strcmp(state, "22023") == 0)
		return DB_REFUSED;
	return DB_ERROR;
}

/*
 * Run one statement returning one row in its own transaction and commit.
 * Returns DB_OK with *resp (the caller clears it), DB_NOT_FOUND, DB_REFUSED
 * or DB_ERROR; err is set for all but DB_OK.
 */
static enum db_rc
run_one(struct db *db, const char *sql, const struct db_params *p,
    PGresult **resp, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	enum db_rc	 rc;

	*resp = NULL;
	if (db_begin(db, 1, err, errlen) == -1)
		return DB_ERROR;
	res = db_exec(db, sql, p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1) {
		/* Our own refusals: their one-line message is the reason. */
		if ((rc = lifecycle_error(res)) != DB_ERROR &&
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != NULL)
			db_seterr(err, errlen, "%s",
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		PQclear(res);
		db_rollback(db);
		return rc;
	}
	if (PQntuples(res) != 1) {
		db_seterr(err, errlen, "expected one row, got %d", PQntuples(res));
		PQclear(res);
		db_rollback(db);
		return DB_ERROR;
	}
	if (db_commit(db, err, errlen) == DB_ERROR) {
		PQclear(res);
		return DB_ERROR;
	}
	*resp = res;
	return DB_OK;
}

enum db_rc
db_device_set_state(struct db *db, const char *device_id, const char *state,
    const char *actor, int *changed, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc;

	*changed = 0;
	db_params_init(&p);
	db_param_text(&p, device_id);
	db_param_text(&p, state);
	db_param_text(&p, actor);
	rc = run_one(db, "SELECT scepd.device_set_state($1, $2, $3)", &p, &res,
	    err, errlen);
	if (rc == DB_OK) {
		*changed = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return rc;
}

enum db_rc
db_device_get(struct db *db, const char *device_id, struct db_device *d,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	memset(d, 0, sizeof(*d));
	db_params_init(&p);
	db_param_text(&p, device_id);
	res = db_exec(db, "SELECT d.id, d.state, "
	    "extract(epoch FROM d.created_at)::bigint, "
	    "extract(epoch FROM d.updated_at)::bigint, "
	    "(SELECT count(*) FROM scepd.certificates c WHERE c.device_id = d.id) "
	    "FROM scepd.devices d WHERE d.id = $1", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	snprintf(d->id, sizeof(d->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(d->state, sizeof(d->state), "%s", PQgetvalue(res, 0, 1));
	if (db_get_time(PQgetvalue(res, 0, 2), &d->created_at) == -1 ||
	    db_get_time(PQgetvalue(res, 0, 3), &d->updated_at) == -1) {
		db_seterr(err, errlen, "device %s: bad time", device_id);
		goto out;
	}
	d->certificates = atoi(PQgetvalue(res, 0, 4));
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_cert_set_status(struct db *db, const char *serial, enum db_cert_action a,
    int reason, const char *actor, int *changed, char *err, size_t errlen)
{
	static const char *const actions[] = { "revoke", "hold", "release" };
	struct db_params	 p;
	PGresult		*res;
	char			 norm[DB_SERIAL_MAX + 1];
	enum db_rc		 rc;

	*changed = 0;
	if (db_serial_norm(serial, norm) == -1) {
		db_seterr(err, errlen, "bad serial number %s", serial);
		return DB_NOT_FOUND;
	}
	db_params_init(&p);
	db_param_text(&p, norm);
	db_param_text(&p, actions[a]);
	db_param_int(&p, reason);
	db_param_text(&p, actor);
	rc = run_one(db, "SELECT scepd.cert_set_status($1, $2, $3::integer, $4)",
	    &p, &res, err, errlen);
	if (rc == DB_OK) {
		*changed = strcmp(PQgetvalue(res, 0, 0), "changed") == 0;
		PQclear(res);
	}
	return rc;
}

/* The columns standing_fill() reads, in order. */
#define STANDING_COLUMNS						\
	"c.serial, c.status, coalesce(c.revocation_reason, -1), "	\
	"coalesce(extract(epoch FROM c.revoked_at)::bigint, 0), "	\
	"coalesce(c.device_id, ''), coalesce(d.state, ''), "		\
	"coalesce(extract(epoch FROM c.bound_at)::bigint, 0), "		\
	"coalesce(extract(epoch FROM c.last_used_at)::bigint, 0), "	\
	"extract(epoch FROM c.not_after)::bigint, "			\
	"coalesce(c.profile, ''), c.issuer, coalesce(c.clone_device_id, ''), " \
	"coalesce(c.ca_key, '')"

static int
standing_fill(PGresult *res, int col, struct db_cert_standing *st, char *err,
    size_t errlen)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->serial, sizeof(st->serial), "%s", PQgetvalue(res, 0, col));
	snprintf(st->status, sizeof(st->status), "%s",
	    PQgetvalue(res, 0, col + 1));
	st->reason = atoi(PQgetvalue(res, 0, col + 2));
	snprintf(st->device_id, sizeof(st->device_id), "%s",
	    PQgetvalue(res, 0, col + 4));
	snprintf(st->device_state, sizeof(st->device_state), "%s",
	    PQgetvalue(res, 0, col + 5));
	snprintf(st->profile, sizeof(st->profile), "%s",
	    PQgetvalue(res, 0, col + 9));
	snprintf(st->issuer, sizeof(st->issuer), "%s",
	    PQgetvalue(res, 0, col + 10));
	snprintf(st->clone_device_id, sizeof(st->clone_device_id), "%s",
	    PQgetvalue(res, 0, col + 11));
	snprintf(st->ca_key, sizeof(st->ca_key), "%s",
	    PQgetvalue(res, 0, col + 12));
	if (db_get_time(PQgetvalue(res, 0, col + 3), &st->revoked_at) == -1 ||
	    db_get_time(PQgetvalue(res, 0, col + 6), &st->bound_at) == -1 ||
	    db_get_time(PQgetvalue(res, 0, col + 7), &st->last_used_at) == -1 ||
	    db_get_time(PQgetvalue(res, 0, col + 8), &st->not_after) == -1) {
		db_seterr(err, errlen, "certificate %s: bad time", st->serial);
		return -1;
	}
	return 0;
}

enum db_rc
db_cert_standing(struct db *db, const char *serial,
    struct db_cert_standing *st, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	char			 norm[DB_SERIAL_MAX + 1];
	enum db_rc		 rc = DB_ERROR;

	memset(st, 0, sizeof(*st));
	if (db_serial_norm(serial, norm) == -1)
		return DB_NOT_FOUND;
	db_params_init(&p);
	db_param_text(&p, norm);
	res = db_exec(db, "SELECT " STANDING_COLUMNS " FROM scepd.certificates c "
	    "LEFT JOIN scepd.devices d ON d.id = c.device_id "
	    "WHERE c.serial = $1", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	if (standing_fill(res, 0, st, err, errlen) == -1)
		goto out;
	st->managed = strcmp(st->status, "valid") == 0 &&
	    strcmp(st->device_state, "active") == 0 && st->bound_at != 0;
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_cert_bind(struct db *db, const char *serial, const char *device_id,
    int revoke_on_clone, const char *actor, enum db_bind_result *result,
    struct db_cert_standing *st, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	char			 norm[DB_SERIAL_MAX + 1], kind[8];
	enum db_rc		 rc;

	if (db_serial_norm(serial, norm) == -1) {
		db_seterr(err, errlen, "bad serial number %s", serial);
		return DB_NOT_FOUND;
	}
	db_params_init(&p);
	db_param_text(&p, norm);
	db_param_text(&p, device_id);
	db_param_text(&p, revoke_on_clone ? "true" : "false");
	db_param_text(&p, actor);
	rc = run_one(db, "SELECT b.result FROM scepd.cert_bind($1, $2, "
	    "$3::boolean, $4) b", &p, &res, err, errlen);
	if (rc != DB_OK)
		return rc;
	snprintf(kind, sizeof(kind), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	*result = strcmp(kind, "new") == 0 ? DB_BIND_NEW :
	    strcmp(kind, "same") == 0 ? DB_BIND_SAME : DB_BIND_CLONE;
	if ((rc = db_cert_standing(db, norm, st, err, errlen)) != DB_OK)
		return rc;
	/* Managed as seen from this device: a clone never is. */
	if (*result == DB_BIND_CLONE)
		st->managed = 0;
	return DB_OK;
}

enum db_rc
db_cert_serial_by_der(struct db *db, const unsigned char *der, size_t len,
    char serial[41], char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	serial[0] = '\0';
	db_params_init(&p);
	db_param_bytea(&p, der, len);
	res = db_exec(db, "SELECT serial FROM scepd.certificates WHERE der = $1",
	    &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	snprintf(serial, 41, "%s", PQgetvalue(res, 0, 0));
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_sweep_unused(struct db *db, const char *profile, int days, time_t at,
    const char *actor, int *ran, int *revoked, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;

	*ran = 0;
	*revoked = 0;
	db_params_init(&p);
	db_param_text(&p, profile);
	db_param_int(&p, days);
	db_param_int(&p, (long long)at);
	db_param_text(&p, actor);
	if (db_sweep_round(db, DB_LOCK_UNUSED_SWEEP, profile, "SELECT "
	    "scepd.sweep_unused($1, $2::integer, pg_catalog.to_timestamp($3), "
	    "$4)", &p, &res, err, errlen) == DB_ERROR)
		return DB_ERROR;
	if (res == NULL)
		return DB_OK;
	*ran = 1;
	*revoked = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_OK;
}
