/*
 * Renewal: the certificate that signed a renewal request, superseding it
 * once renewed, and the sweep that revokes superseded certificates when
 * their grace has passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"


void
db_signer_clear(struct db_signer *s)
{
	if (s == NULL)
		return;
	free(s->superseded_by);
	free(s->device_id);
	free(s->device_state);
	free(s->profile);
	free(s->der);
	memset(s, 0, sizeof(*s));
}

enum db_rc
db_renewal_signer(struct db *db, const char *serial, struct db_signer *s,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 norm[DB_SERIAL_MAX + 1];
	const char		*status;
	enum db_rc		 rc = DB_ERROR;

	memset(s, 0, sizeof(*s));
	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (db_serial_norm(serial, norm) == -1) {
		db_seterr(err, errlen, "bad serial number");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, norm);
	/* FOR UPDATE OF c: a second renewal of it waits for our COMMIT. */
	res = db_exec(db, "SELECT c.status, c.superseded_by, c.device_id, "
	    "d.state, extract(epoch FROM c.not_before)::bigint, "
	    "extract(epoch FROM c.not_after)::bigint, "
	    "pg_catalog.encode(c.der, 'hex'), c.profile "
	    "FROM scepd.certificates c "
	    "LEFT JOIN scepd.devices d ON d.id = c.device_id "
	    "WHERE c.serial = $1 FOR UPDATE OF c", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	status = PQgetvalue(res, 0, 0);
	if (strlen(status) >= sizeof(s->status)) {
		db_seterr(err, errlen, "bad status");
		goto out;
	}
	memcpy(s->status, status, strlen(status) + 1);
	if (db_dup_col(res, 1, &s->superseded_by) == -1 ||
	    db_dup_col(res, 2, &s->device_id) == -1 ||
	    db_dup_col(res, 3, &s->device_state) == -1 ||
	    db_dup_col(res, 7, &s->profile) == -1) {
		db_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (db_get_time(PQgetvalue(res, 0, 4), &s->not_before) == -1 ||
	    db_get_time(PQgetvalue(res, 0, 5), &s->not_after) == -1 ||
	    db_hex_decode(PQgetvalue(res, 0, 6), &s->der, &s->der_len) == -1) {
		db_seterr(err, errlen, "certificate %s: bad row", norm);
		goto out;
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR) {
		db_signer_clear(s);
		db_rollback(db);
	}
	return rc;
}

enum db_rc
db_renewal_supersede(struct db *db, const char *old_serial,
    const char *new_serial, int grace_days, const char *actor, char *err,
    size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 old[DB_SERIAL_MAX + 1], new[DB_SERIAL_MAX + 1];
	char			 detail[128];
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (db_serial_norm(old_serial, old) == -1 ||
	    db_serial_norm(new_serial, new) == -1 || grace_days < 0) {
		db_seterr(err, errlen, "bad serial number or grace");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, old);
	db_param_text(&p, new);
	db_param_int(&p, grace_days);
	/*
	 * Under READ COMMITTED a concurrent supersede of the same row makes
	 * this one re-check its WHERE after the other commits: it then
	 * matches nothing, and the second renewal fails instead of leaving
	 * two successors.  CRLReason superseded is 4 (RFC 5280 5.3.1).
	 */
	res = db_exec(db, "UPDATE scepd.certificates SET superseded_by = $2, "
	    "revoke_after = pg_catalog.now() + "
	    "pg_catalog.make_interval(days => $3::integer), "
	    "status = CASE WHEN $3::integer = 0 THEN 'revoked' ELSE status END, "
	    "revocation_reason = CASE WHEN $3::integer = 0 THEN 4 "
	    "ELSE revocation_reason END, "
	    "revoked_at = CASE WHEN $3::integer = 0 THEN pg_catalog.now() "
	    "ELSE revoked_at END "
	    "WHERE serial = $1 AND status = 'valid' AND superseded_by IS NULL",
	    &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		db_seterr(err, errlen, "certificate %s is not valid or was "
		    "renewed already", old);
		goto out;
	}
	if (grace_days == 0)
		snprintf(detail, sizeof(detail), "superseded by %s, revoked "
		    "(reason 4 superseded)", new);
	else
		snprintf(detail, sizeof(detail), "superseded by %s, revoked "
		    "(reason 4 superseded) after %d day%s", new, grace_days,
		    grace_days == 1 ? "" : "s");
	if (db_audit(db, actor != NULL ? actor : "scepd", "supersede", old,
	    detail, err, errlen) == DB_ERROR)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

enum db_rc
db_renewal_sweep(struct db *db, int limit, int *revoked, int *busy,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	int			 locked;
	enum db_rc		 rc = DB_ERROR;

	*revoked = 0;
	*busy = 0;
	if (limit <= 0) {
		db_seterr(err, errlen, "bad limit");
		return DB_ERROR;
	}
	if (db_begin(db, 1, err, errlen) == -1)
		return DB_ERROR;
	/* Never hold up the requests that share this connection for long. */
	res = db_exec(db, "SET LOCAL lock_timeout = '1s'", NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);
	res = db_exec(db, "SET LOCAL statement_timeout = '10s'", NULL, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);
	res = NULL;

	if ((locked = db_xact_lock(db, DB_LOCK_RENEWAL_SWEEP, "renewal", 1,
	    err, errlen)) == -1)
		goto out;
	if (locked == 0) {
		*busy = 1;
		db_rollback(db);
		rc = DB_OK;
		goto out;
	}

	/*
	 * SKIP LOCKED: a certificate a renewal or an operator holds right
	 * now is left for the next round.  The audit rows are written by
	 * the same statement, so they commit with the revocations.
	 */
	db_params_init(&p);
	db_param_int(&p, limit);
	res = db_exec(db, "WITH due AS (SELECT serial FROM scepd.certificates "
	    "WHERE superseded_by IS NOT NULL AND status <> 'revoked' "
	    "AND revoke_after <= pg_catalog.now() "
	    "ORDER BY revoke_after LIMIT $1 FOR UPDATE SKIP LOCKED), "
	    "done AS (UPDATE scepd.certificates c SET status = 'revoked', "
	    "revocation_reason = 4, revoked_at = pg_catalog.now() "
	    "FROM due WHERE c.serial = due.serial "
	    "RETURNING c.serial, c.superseded_by), "
	    "logged AS (INSERT INTO scepd.audit (actor, action, object, detail) "
	    "SELECT 'scepd:sweep', 'revoke', serial, 'superseded by ' || "
	    "superseded_by || ', grace over (reason 4 superseded)' FROM done "
	    "RETURNING 1) "
	    "SELECT count(*) FROM logged", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	*revoked = atoi(PQgetvalue(res, 0, 0));
	if (db_commit(db, err, errlen) == DB_ERROR) {
		*revoked = 0;
		goto out;
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}
