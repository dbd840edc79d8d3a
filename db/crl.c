/*
 * CRL state per issuing CA key (issuer name and ca_key, 007_ca_key.sql):
 * the monotonic CRL number, the change counter every status change bumps
 * (trigger in 005_lifecycle.sql, 007_ca_key.sql), the last CRL, and the
 * entries of the next one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

void
db_crl_clear(struct db_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	free(crl->entries);
	memset(crl, 0, sizeof(*crl));
}

#define STATE_COLUMNS							\
	"crl_number, changes, generated_changes, "			\
	"coalesce(extract(epoch FROM next_update)::bigint, 0), "	\
	"coalesce(pg_catalog.encode(der, 'hex'), '')"

/* Fill the state columns of row 0 of res (absent row: all zero). */
static int
state_fill(PGresult *res, struct db_crl *crl, char *err, size_t errlen)
{
	const char	*hex;

	if (PQntuples(res) == 0) {
		crl->generated_changes = -1;
		return 0;
	}
	crl->crl_number = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	crl->changes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	crl->generated_changes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	if (db_get_time(PQgetvalue(res, 0, 3), &crl->next_update) == -1) {
		db_seterr(err, errlen, "CRL state: bad time");
		return -1;
	}
	hex = PQgetvalue(res, 0, 4);
	if (*hex != '\0' &&
	    db_hex_decode(hex, &crl->der, &crl->der_len) == -1) {
		db_seterr(err, errlen, "CRL state: bad DER");
		return -1;
	}
	return 0;
}

enum db_rc
db_crl_get(struct db *db, const char *issuer, const char *ca_key,
    struct db_crl *crl, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	memset(crl, 0, sizeof(*crl));
	db_params_init(&p);
	db_param_text(&p, issuer);
	db_param_text(&p, ca_key);
	res = db_exec(db, "SELECT " STATE_COLUMNS " FROM scepd.crl_state "
	    "WHERE issuer = $1 AND ca_key = $2", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1 ||
	    state_fill(res, crl, err, errlen) == -1)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_crl_clear(crl);
	return rc;
}

enum db_rc
db_crl_begin(struct db *db, const char *issuer, const char *ca_key,
    struct db_crl *crl, char *err, size_t errlen)
{
	struct db_params	 p, name;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	memset(crl, 0, sizeof(*crl));
	if (db_begin(db, 1, err, errlen) == -1)
		return DB_ERROR;
	/* The row exists from now on; its lock makes one CRL maker at a time. */
	db_params_init(&p);
	db_param_text(&p, issuer);
	db_param_text(&p, ca_key);
	res = db_exec(db, "INSERT INTO scepd.crl_state (issuer, ca_key) "
	    "VALUES ($1, $2) ON CONFLICT (issuer, ca_key) DO NOTHING", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	PQclear(res);
	res = db_exec(db, "SELECT " STATE_COLUMNS " FROM scepd.crl_state "
	    "WHERE issuer = $1 AND ca_key = $2 FOR UPDATE", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1 ||
	    state_fill(res, crl, err, errlen) == -1)
		goto out;
	PQclear(res);
	/*
	 * The next number is beyond every CRL of the name, whichever key
	 * signed it (RFC 5280 5.2.3), so no relying party takes a re-keyed
	 * CA's CRL for an older one.
	 */
	db_params_init(&name);
	db_param_text(&name, issuer);
	res = db_exec(db, "SELECT max(crl_number) FROM scepd.crl_state "
	    "WHERE issuer = $1", &name, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (strtoll(PQgetvalue(res, 0, 0), NULL, 10) > crl->crl_number)
		crl->crl_number = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/*
	 * Expired certificates may leave the CRL (RFC 5280 3.3).  Those
	 * recorded before 007_ca_key.sql (no ca_key) are on every key's.
	 */
	res = db_exec(db, "SELECT serial, "
	    "extract(epoch FROM revoked_at)::bigint, revocation_reason "
	    "FROM scepd.certificates WHERE issuer = $1 "
	    "AND (ca_key = $2 OR ca_key IS NULL) "
	    "AND status IN ('hold', 'revoked') AND not_after > now() "
	    "ORDER BY serial", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) > 0 && (crl->entries = calloc((size_t)PQntuples(res),
	    sizeof(*crl->entries))) == NULL) {
		db_seterr(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct db_revoked *e = &crl->entries[i];

		snprintf(e->serial, sizeof(e->serial), "%s", PQgetvalue(res, i, 0));
		if (db_get_time(PQgetvalue(res, i, 1), &e->revoked_at) == -1) {
			db_seterr(err, errlen, "certificate %s: bad time",
			    e->serial);
			goto out;
		}
		e->reason = atoi(PQgetvalue(res, i, 2));
		crl->nentries++;
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR) {
		db_crl_clear(crl);
		db_rollback(db);
	}
	return rc;
}

enum db_rc
db_crl_store(struct db *db, const char *issuer, const char *ca_key,
    long long number,
    long long seen_changes, const unsigned char *der, size_t len,
    time_t this_update, time_t next_update, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res;
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		return DB_ERROR;
	db_params_init(&p);
	db_param_text(&p, issuer);
	db_param_int(&p, number);
	db_param_int(&p, seen_changes);
	db_param_bytea(&p, der, len);
	db_param_int(&p, (long long)this_update);
	db_param_int(&p, (long long)next_update);
	db_param_text(&p, ca_key);
	/* crl_number < $2: a number is never reused, even by a late writer. */
	res = db_exec(db, "UPDATE scepd.crl_state SET crl_number = $2, "
	    "generated_changes = $3, der = $4, "
	    "this_update = pg_catalog.to_timestamp($5), "
	    "next_update = pg_catalog.to_timestamp($6) "
	    "WHERE issuer = $1 AND ca_key = $7 AND crl_number < $2", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		db_seterr(err, errlen, "CRL number %lld is not new", number);
		goto out;
	}
	if (db_commit(db, err, errlen) == DB_ERROR)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}
