/*
 * One-time challenges: stored as a MAC only, consumed exactly once by a
 * conditional UPDATE inside the enrollment transaction (the check and
 * the use are one statement, so two transactions, in one scepd or in
 * two, can never both see the challenge unused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

/* SAN lists travel as one text joined by newlines (none may hold one). */
#define SAN_SEP	'\n'

void
db_challenge_use_clear(struct db_challenge_use *use)
{
	size_t	 i;

	if (use == NULL)
		return;
	free(use->device_id);
	free(use->subject);
	for (i = 0; i < use->nsans; i++)
		free(use->sans[i]);
	free(use->sans);
	free(use->used_by);
	memset(use, 0, sizeof(*use));
}

/* 1 if s holds a control character (C0 or DEL). */
static int
has_cntrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * The SANs joined by newlines, to be freed; NULL with *none set when
 * there are none.  NULL without *none on a bad value or no memory.
 */
static char *
sans_join(const char *const *sans, size_t n, int *none, char *err,
    size_t errlen)
{
	char	*s = NULL;
	size_t	 i, len = 0, off = 0;

	*none = n == 0;
	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++) {
		if (sans[i] == NULL || sans[i][0] == '\0' || has_cntrl(sans[i])) {
			db_seterr(err, errlen, "SAN %zu is empty or holds a "
			    "control character", i + 1);
			return NULL;
		}
		len += strlen(sans[i]) + 1;
	}
	if ((s = malloc(len)) == NULL) {
		db_seterr(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		len = strlen(sans[i]);
		memcpy(s + off, sans[i], len);
		off += len;
		s[off++] = i + 1 < n ? SAN_SEP : '\0';
	}
	return s;
}

/* 1 if res failed on the unique constraint called constraint. */
static int
unique_violation(PGresult *res, const char *constraint)
{
	const char	*state, *name;

	if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR)
		return 0;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	name = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	return state != NULL && strcmp(state, "23505") == 0 && name != NULL &&
	    strcmp(name, constraint) == 0;
}

enum db_rc
db_challenge_create(struct db *db, const struct db_challenge_new *c,
    long long *id, time_t *expires_at, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			*sans = NULL;	/* owned */
	char			 detail[512];
	time_t			 exp;
	int			 none;
	enum db_rc		 rc = DB_ERROR;

	if (c->profile == NULL || c->mac == NULL || c->actor == NULL ||
	    c->ttl_minutes <= 0) {
		db_seterr(err, errlen, "challenge without profile, MAC, actor "
		    "or lifetime");
		goto out;
	}
	if ((c->device_id != NULL && has_cntrl(c->device_id)) ||
	    (c->subject != NULL && has_cntrl(c->subject))) {
		db_seterr(err, errlen, "control character in the binding");
		goto out;
	}
	if ((sans = sans_join(c->sans, c->nsans, &none, err, errlen)) == NULL &&
	    !none)
		goto out;
	/* What was minted, for whom; never the challenge. */
	snprintf(detail, sizeof(detail), "profile %s, device %s, subject %s, "
	    "%zu SAN%s, %d min", c->profile,
	    c->device_id != NULL ? c->device_id : "(any)",
	    c->subject != NULL ? c->subject : "(any)", c->nsans,
	    c->nsans == 1 ? "" : "s", c->ttl_minutes);

	db_params_init(&p);
	db_param_text(&p, c->profile);
	db_param_bytea(&p, c->mac, 32);
	db_param_text(&p, c->device_id);
	db_param_text(&p, c->subject);
	db_param_text(&p, sans);
	db_param_text(&p, c->actor);
	db_param_int(&p, c->ttl_minutes);
	db_param_text(&p, detail);
	/* The row and its audit line commit together: one statement. */
	res = db_exec(db,
	    "WITH c AS (INSERT INTO scepd.challenges (profile, mac, "
	    "device_id, subject, sans, created_by, expires_at) "
	    "VALUES ($1::text, $2, $3::text, $4::text, "
	    "pg_catalog.string_to_array($5::text, E'\\n'), $6::text, "
	    "pg_catalog.now() + pg_catalog.make_interval(mins => $7::integer)) "
	    "RETURNING id, expires_at), "
	    "a AS (INSERT INTO scepd.audit (actor, action, object, detail) "
	    "SELECT $6::text, 'challenge-create', 'challenge:' || c.id, "
	    "$8::text FROM c) "
	    "SELECT c.id, extract(epoch FROM c.expires_at)::bigint FROM c",
	    &p, 1);
	if (unique_violation(res, "challenges_mac_key")) {
		rc = DB_REFUSED;
		goto out;
	}
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) != 1 ||
	    db_get_time(PQgetvalue(res, 0, 1), &exp) == -1) {
		db_seterr(err, errlen, "challenge insert: unexpected answer");
		goto out;
	}
	if (id != NULL)
		*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (expires_at != NULL)
		*expires_at = exp;
	rc = DB_OK;
out:
	PQclear(res);
	free(sans);
	return rc;
}

/* Split the newline-joined SANs of a row into use->sans (n of them). */
static int
sans_split(const char *s, long n, struct db_challenge_use *use)
{
	const char	*end;
	long		 i;

	if (n <= 0)
		return 0;
	if ((use->sans = calloc((size_t)n, sizeof(*use->sans))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((end = strchr(s, SAN_SEP)) == NULL)
			end = s + strlen(s);
		if ((i + 1 < n) != (*end == SAN_SEP))
			return -1;
		if ((use->sans[i] = strndup(s, (size_t)(end - s))) == NULL)
			return -1;
		use->nsans++;
		s = end + (*end == SAN_SEP);
	}
	return 0;
}

static int
dup_or_null(PGresult *res, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(res, 0, col))
		return 0;
	return (*out = strdup(PQgetvalue(res, 0, col))) == NULL ? -1 : 0;
}

enum db_rc
db_challenge_consume(struct db *db, const char *profile,
    const unsigned char mac[32], const char *transaction_id,
    struct db_challenge_use *use, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	memset(use, 0, sizeof(*use));
	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (profile == NULL || transaction_id == NULL) {
		db_seterr(err, errlen, "consume without profile or "
		    "transactionID");
		goto out;
	}
	db_params_init(&p);
	db_param_bytea(&p, mac, 32);
	db_param_text(&p, profile);
	db_param_text(&p, transaction_id);
	/*
	 * The check and the use in one statement.  A concurrent consumer
	 * of the same row waits here for our COMMIT or ROLLBACK, then
	 * re-reads the row (READ COMMITTED) and finds it used, or not.
	 */
	res = db_exec(db, "UPDATE scepd.challenges "
	    "SET used_at = pg_catalog.statement_timestamp(), used_by = $3::text "
	    "WHERE mac = $1 AND profile = $2::text AND used_at IS NULL "
	    "AND expires_at > pg_catalog.statement_timestamp() "
	    "RETURNING id, device_id, subject, "
	    "coalesce(pg_catalog.cardinality(sans), 0), "
	    "pg_catalog.array_to_string(sans, E'\\n'), "
	    "extract(epoch FROM expires_at)::bigint", &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 1) {
		use->state = DB_CHALLENGE_OK;
		use->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (dup_or_null(res, 1, &use->device_id) == -1 ||
		    dup_or_null(res, 2, &use->subject) == -1 ||
		    sans_split(PQgetvalue(res, 0, 4),
		    strtol(PQgetvalue(res, 0, 3), NULL, 10), use) == -1 ||
		    db_get_time(PQgetvalue(res, 0, 5), &use->expires_at) == -1) {
			db_seterr(err, errlen, "challenge %lld: cannot read "
			    "its binding", use->id);
			goto out;
		}
		rc = DB_OK;
		goto out;
	}

	/* Not consumable: say why, for the log. */
	PQclear(res);
	db_params_init(&p);
	db_param_bytea(&p, mac, 32);
	db_param_text(&p, profile);
	res = db_exec(db, "SELECT id, used_at IS NOT NULL, "
	    "coalesce(extract(epoch FROM used_at)::bigint, 0), used_by, "
	    "extract(epoch FROM expires_at)::bigint "
	    "FROM scepd.challenges WHERE mac = $1 AND profile = $2::text",
	    &p, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		use->state = DB_CHALLENGE_UNKNOWN;
		rc = DB_OK;
		goto out;
	}
	use->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (db_get_time(PQgetvalue(res, 0, 2), &use->used_at) == -1 ||
	    db_get_time(PQgetvalue(res, 0, 4), &use->expires_at) == -1) {
		db_seterr(err, errlen, "challenge %lld: bad time", use->id);
		goto out;
	}
	/* Used and since expired is still a replay: that says more. */
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		use->state = DB_CHALLENGE_USED;
		if (dup_or_null(res, 3, &use->used_by) == -1) {
			db_seterr(err, errlen, "out of memory");
			goto out;
		}
	} else
		use->state = DB_CHALLENGE_EXPIRED;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR) {
		db_challenge_use_clear(use);
		db_rollback(db);
	}
	return rc;
}
