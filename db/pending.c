/*
 * Manual approval: requests held PENDING with what is needed to issue
 * them later, the CertPoll look-up by transactionID, and the operator's
 * decision (scepctl pending approve|reject).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

enum db_rc
db_pending_hold(struct db *db, const struct db_hold *h, char *err,
    size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	if (h->row_id <= 0 || h->transaction_id == NULL ||
	    h->request_der == NULL || h->signer_der == NULL) {
		db_seterr(err, errlen, "held request without its request");
		goto out;
	}
	db_params_init(&p);
	db_param_int(&p, h->row_id);
	db_param_bytea(&p, h->request_der, h->request_der_len);
	db_param_bytea(&p, h->signer_der, h->signer_der_len);
	db_param_text(&p, h->request_subject != NULL ? h->request_subject : "");
	db_param_text(&p, h->device_id);
	res = db_exec(db, "UPDATE scepd.transactions SET request_der = $2, "
	    "signer_der = $3, request_subject = $4, device_id = $5, "
	    "approval = 'pending', decided_by = NULL, decided_at = NULL, "
	    "reason = NULL, updated_at = pg_catalog.now() "
	    "WHERE id = $1 AND state = 'pending'", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		db_seterr(err, errlen, "transaction %s is not recorded as "
		    "pending", h->transaction_id);
		goto out;
	}
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR)
		db_rollback(db);
	return rc;
}

void
db_pending_clear(struct db_pending *p)
{
	if (p == NULL)
		return;
	free(p->profile);
	free(p->device_id);
	free(p->reason);
	free(p->request_der);
	free(p->cert_der);
	memset(p, 0, sizeof(*p));
}

static int
approval_parse(const char *s, enum db_approval *a)
{
	if (*s == '\0')
		*a = DB_APPROVAL_NONE;
	else if (strcmp(s, "pending") == 0)
		*a = DB_APPROVAL_PENDING;
	else if (strcmp(s, "approved") == 0)
		*a = DB_APPROVAL_APPROVED;
	else if (strcmp(s, "rejected") == 0)
		*a = DB_APPROVAL_REJECTED;
	else
		return -1;
	return 0;
}

/* The columns pending_fill() reads, in order. */
#define PENDING_COLUMNS							\
	"t.state, coalesce(t.approval, ''), t.fail_info, "		\
	"pg_catalog.encode(t.request_sha256, 'hex'), "			\
	"coalesce(t.profile, ''), t.device_id, t.reason, "		\
	"pg_catalog.encode(t.request_der, 'hex'), "			\
	"coalesce(t.cert_serial, ''), pg_catalog.encode(c.der, 'hex'), "	\
	"t.id"

static int
pending_fill(PGresult *res, struct db_pending *p, char *err, size_t errlen)
{
	unsigned char	*h = NULL;	/* owned */
	const char	*state = PQgetvalue(res, 0, 0), *serial;
	size_t		 hlen = 0;
	int		 rc = -1;

	if (db_tx_state_parse(state, &p->state) == -1) {
		db_seterr(err, errlen, "unknown transaction state %s", state);
		goto out;
	}
	if (approval_parse(PQgetvalue(res, 0, 1), &p->approval) == -1) {
		db_seterr(err, errlen, "unknown approval %s",
		    PQgetvalue(res, 0, 1));
		goto out;
	}
	p->fail_info = PQgetisnull(res, 0, 2) ? -1 :
	    atoi(PQgetvalue(res, 0, 2));
	if (db_hex_decode(PQgetvalue(res, 0, 3), &h, &hlen) == -1 ||
	    hlen != sizeof(p->request_sha256)) {
		db_seterr(err, errlen, "bad request hash");
		goto out;
	}
	memcpy(p->request_sha256, h, hlen);
	if ((p->profile = strdup(PQgetvalue(res, 0, 4))) == NULL ||
	    db_dup_col(res, 5, &p->device_id) == -1 ||
	    db_dup_col(res, 6, &p->reason) == -1) {
		db_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (!PQgetisnull(res, 0, 7) && db_hex_decode(PQgetvalue(res, 0, 7),
	    &p->request_der, &p->request_der_len) == -1) {
		db_seterr(err, errlen, "bad stored request");
		goto out;
	}
	if (p->state == DB_TX_SUCCESS) {
		serial = PQgetvalue(res, 0, 8);
		if (*serial == '\0' || strlen(serial) >= sizeof(p->serial) ||
		    PQgetisnull(res, 0, 9) ||
		    db_hex_decode(PQgetvalue(res, 0, 9), &p->cert_der,
		    &p->cert_der_len) == -1) {
			db_seterr(err, errlen, "transaction without its "
			    "certificate");
			goto out;
		}
		memcpy(p->serial, serial, strlen(serial) + 1);
	}
	p->row_id = atoll(PQgetvalue(res, 0, 10));
	rc = 0;
out:
	free(h);
	return rc;
}

/*
 * The statement that reads the newest transaction row of (transactionID
 * $1, signer key $2) that also satisfies cond (a string literal).  A
 * client that enrolled again with the same key under the same
 * transactionID has several rows: the newest is what it polls for.
 */
#define NEWEST_SQL(cond)						\
	"SELECT " PENDING_COLUMNS " FROM scepd.transactions t "		\
	"LEFT JOIN scepd.certificates c ON c.serial = t.cert_serial "	\
	"WHERE t.transaction_id = $1 AND t.signer_key_sha256 = $2 AND "	\
	cond " ORDER BY t.updated_at DESC, t.id DESC LIMIT 1"

/* Run a NEWEST_SQL: DB_OK and *p filled, DB_NOT_FOUND, DB_ERROR. */
static enum db_rc
newest(struct db *db, const char *sql, const struct db_params *pp,
    struct db_pending *p, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	enum db_rc	 rc = DB_ERROR;

	memset(p, 0, sizeof(*p));
	p->fail_info = -1;
	if (db_in_tx(db, err, errlen) == -1)
		goto out;
	res = db_exec(db, sql, pp, 0);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	if (pending_fill(res, p, err, errlen) == -1)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	if (rc == DB_ERROR) {
		db_pending_clear(p);
		db_rollback(db);
	}
	return rc;
}

enum db_rc
db_pending_get(struct db *db, const char *transaction_id,
    const unsigned char signer_key_sha256[32],
    const unsigned char *request_sha256, struct db_pending *p, char *err,
    size_t errlen)
{
	struct db_params	 pp;

	db_params_init(&pp);
	db_param_text(&pp, transaction_id);
	db_param_bytea(&pp, signer_key_sha256, 32);
	if (request_sha256 != NULL)
		db_param_bytea(&pp, request_sha256, 32);
	else
		db_param_text(&pp, NULL);
	return newest(db, NEWEST_SQL("($3::bytea IS NULL OR "
	    "t.request_sha256 = $3::bytea)"), &pp, p, err, errlen);
}

enum db_rc
db_pending_approved(struct db *db, const char *transaction_id,
    const unsigned char signer_key_sha256[32], int window_hours,
    struct db_pending *p, char *err, size_t errlen)
{
	struct db_params	 pp;

	db_params_init(&pp);
	db_param_text(&pp, transaction_id);
	db_param_bytea(&pp, signer_key_sha256, 32);
	db_param_int(&pp, window_hours);
	return newest(db, NEWEST_SQL("t.approval = 'approved' AND "
	    "(t.state = 'pending' OR (t.state = 'success' AND "
	    "t.updated_at > pg_catalog.now() - "
	    "pg_catalog.make_interval(hours => $3::integer)))"), &pp, p, err,
	    errlen);
}

enum db_rc
db_pending_list(struct db *db,
    int (*cb)(const struct db_pending_row *, void *), void *arg, char *err,
    size_t errlen)
{
	struct db_pending_row	 row;
	PGresult		*res = NULL;
	int			 i;
	enum db_rc		 rc = DB_ERROR;

	res = db_exec(db, "SELECT transaction_id, coalesce(profile, ''), "
	    "coalesce(request_subject, ''), coalesce(peer, ''), "
	    "coalesce(device_id, ''), approval, coalesce(decided_by, ''), "
	    "extract(epoch FROM created_at)::bigint "
	    "FROM scepd.transactions t "
	    "WHERE t.state = 'pending' AND (t.approval = 'pending' OR "
	    "(t.approval = 'approved' AND NOT EXISTS (SELECT 1 "
	    "FROM scepd.transactions s WHERE s.transaction_id = "
	    "t.transaction_id AND s.signer_key_sha256 = t.signer_key_sha256 "
	    "AND s.state = 'success' AND s.id > t.id))) "
	    "ORDER BY t.created_at, t.id", NULL, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&row, 0, sizeof(row));
		row.transaction_id = PQgetvalue(res, i, 0);
		row.profile = PQgetvalue(res, i, 1);
		row.subject = PQgetvalue(res, i, 2);
		row.peer = PQgetvalue(res, i, 3);
		row.device_id = PQgetvalue(res, i, 4);
		row.approval = PQgetvalue(res, i, 5);
		row.decided_by = PQgetvalue(res, i, 6);
		if (db_get_time(PQgetvalue(res, i, 7), &row.created_at) == -1) {
			db_seterr(err, errlen, "bad time");
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

int
db_pending_decide(struct db *db, const char *transaction_id, int approve,
    const char *actor, const char *reason, char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	int			 n = 0, rc = -1;

	if (transaction_id == NULL || *transaction_id == '\0' ||
	    actor == NULL) {
		db_seterr(err, errlen, "no transactionID or actor");
		return -1;
	}
	if (db_begin(db, 1, err, errlen) == -1)
		return -1;
	/* The lock db_enroll_begin() takes: no CertPoll is half-way. */
	if (db_xact_lock(db, DB_LOCK_TRANSACTION, transaction_id, 0, err,
	    errlen) == -1)
		goto out;

	db_params_init(&p);
	db_param_text(&p, transaction_id);
	db_param_text(&p, actor);
	db_param_text(&p, reason);
	if (approve)
		res = db_exec(db, "UPDATE scepd.transactions SET "
		    "approval = 'approved', decided_by = $2, "
		    "decided_at = pg_catalog.now(), reason = $3, "
		    "updated_at = pg_catalog.now() "
		    "WHERE transaction_id = $1 AND state = 'pending' "
		    "AND approval = 'pending'", &p, 0);
	else
		res = db_exec(db, "UPDATE scepd.transactions SET "
		    "state = 'failure', fail_info = 2, "
		    "approval = 'rejected', decided_by = $2, "
		    "decided_at = pg_catalog.now(), reason = $3, "
		    "updated_at = pg_catalog.now() "
		    "WHERE transaction_id = $1 AND state = 'pending' "
		    "AND approval = 'pending'", &p, 0);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	res = NULL;
	if (n == 0) {
		db_rollback(db);
		rc = 0;
		goto out;
	}
	if (db_audit(db, actor, approve ? "approve" : "reject",
	    transaction_id, reason, err, errlen) == DB_ERROR ||
	    db_commit(db, err, errlen) == DB_ERROR)
		goto out;
	rc = n;
out:
	PQclear(res);
	if (rc == -1)
		db_rollback(db);
	return rc;
}
