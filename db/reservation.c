/*
 * Serial reservations (db/schema/010_serial_reservation.sql): the trace
 * a signature leaves before its certificate is recorded.  scepd reserves
 * a serial on a connection of its own (db_open_async()), committed before
 * the signature, while the request's transaction is still open on the
 * worker's connection; that transaction marks it 'issued' with the
 * certificate's row.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

static const char *const state_names[] = {
	"reserved", "issued", "discarded", "failed", "abandoned"
};

const char *
db_resv_state_name(enum db_resv_state s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(state_names) /
	    sizeof(state_names[0]))
		return "?";
	return state_names[s];
}

static int
state_parse(const char *s, enum db_resv_state *state)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]);
	    i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*state = (enum db_resv_state)i;
			return 0;
		}
	}
	return -1;
}

enum db_rc
db_serial_reserve(struct db *db, const struct db_reservation *r, char *err,
    size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 serial[DB_SERIAL_MAX + 1];
	enum db_rc		 rc = DB_ERROR;

	/* Inside a transaction it would not be committed before the signature. */
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE &&
	    PQstatus(db->conn) == CONNECTION_OK) {
		db_seterr(err, errlen, "reservation inside a transaction");
		goto out;
	}
	if (db_serial_norm(r->serial, serial) == -1) {
		db_seterr(err, errlen, "bad serial number");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, serial);
	db_param_text(&p, r->ca_key);
	db_param_text(&p, r->transaction_id);
	db_param_text(&p, r->profile);
	/*
	 * One statement, its own transaction.  With synchronous_commit off
	 * (db_open_async()) the COMMIT returns before its WAL is on disk;
	 * that is enough here.  The reservation guards against scepd's own
	 * death: once the COMMIT returns PostgreSQL has the row, whatever
	 * becomes of scepd.  If PostgreSQL itself crashes, the certificate's
	 * transaction, committed synchronously on the worker's connection
	 * after the signature, comes later in the WAL: flushing it flushes
	 * the reservation first, so no certificate reaches a client without
	 * its reservation on disk.  It saves an fsync an issuance.
	 *
	 * Retried once on a lost connection: if the first one was committed
	 * after all, the retry is refused, another serial is drawn, and the
	 * first stays 'reserved' until the sweep abandons it (nothing was
	 * signed with it).
	 */
	res = db_exec(db, "INSERT INTO scepd.serial_reservations (serial, "
	    "ca_key, transaction_id, profile) "
	    "SELECT $1::text, $2::text, $3::text, $4::text "
	    "WHERE NOT EXISTS (SELECT 1 FROM scepd.certificates "
	    "WHERE serial = $1::text) "
	    "ON CONFLICT (serial) DO NOTHING", &p, 1);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? DB_OK : DB_REFUSED;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_serial_resolve(struct db *db, const char *serial, enum db_resv_state state,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 norm[DB_SERIAL_MAX + 1];
	int			 in_tx;
	enum db_rc		 rc = DB_ERROR;

	in_tx = PQtransactionStatus(db->conn) == PQTRANS_INTRANS ||
	    PQtransactionStatus(db->conn) == PQTRANS_INERROR;
	if (db_serial_norm(serial, norm) == -1) {
		db_seterr(err, errlen, "bad serial number");
		goto out;
	}
	/*
	 * 'issued' only in the certificate's transaction: never on a
	 * connection reset under it (db_exec()'s retry), which would
	 * commit it alone.
	 */
	if (state == DB_RESV_ISSUED && db_in_tx(db, err, errlen) == -1)
		goto out;
	if (state == DB_RESV_RESERVED) {
		db_seterr(err, errlen, "a reservation is resolved to another "
		    "state");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, norm);
	db_param_text(&p, db_resv_state_name(state));
	res = db_exec(db, "UPDATE scepd.serial_reservations "
	    "SET state = $2, resolved_at = pg_catalog.clock_timestamp() "
	    "WHERE serial = $1 AND state = 'reserved'", &p, !in_tx);
	if (db_check(db, res, PGRES_COMMAND_OK, err, errlen) == -1)
		goto out;
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? DB_OK : DB_NOT_FOUND;
out:
	PQclear(res);
	if (rc == DB_ERROR && in_tx)
		db_rollback(db);
	return rc;
}

/* Row i of res (serial, state, reserved_at, ca_key, transaction_id, profile). */
static int
row_fill(PGresult *res, int i, struct db_reservation *r)
{
	memset(r, 0, sizeof(*r));
	r->serial = PQgetvalue(res, i, 0);
	r->ca_key = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
	r->transaction_id = PQgetisnull(res, i, 4) ? NULL :
	    PQgetvalue(res, i, 4);
	r->profile = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
	if (state_parse(PQgetvalue(res, i, 1), &r->state) == -1 ||
	    db_get_time(PQgetvalue(res, i, 2), &r->reserved_at) == -1)
		return -1;
	return 0;
}

enum db_rc
db_reservation_list_unrecorded(struct db *db, int limit,
    int (*cb)(const struct db_reservation *, void *), void *arg, char *err,
    size_t errlen)
{
	struct db_params	 p;
	struct db_reservation	 r;
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_ERROR;

	if (limit < 0) {
		db_seterr(err, errlen, "negative limit");
		goto out;
	}
	db_params_init(&p);
	db_param_limit(&p, limit);
	/* Few rows, if any (an index has them): no single row mode. */
	res = db_exec(db, "SELECT serial, state, "
	    "extract(epoch FROM reserved_at)::bigint, ca_key, transaction_id, "
	    "profile FROM scepd.serial_reservations WHERE state <> 'issued' "
	    "ORDER BY reserved_at DESC, serial DESC LIMIT $1", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		if (row_fill(res, i, &r) == -1) {
			db_seterr(err, errlen, "unreadable reservation row");
			goto out;
		}
		if (cb(&r, arg) != 0)
			break;
	}
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}

enum db_rc
db_sweep_reservations(struct db *db, int minutes, time_t at, int limit,
    const char *actor, void (*cb)(const struct db_reservation *, void *),
    void *arg, int *ran, int *abandoned, char *err, size_t errlen)
{
	struct db_params	 p;
	struct db_reservation	 r;
	PGresult		*res = NULL;

	*ran = 0;
	*abandoned = 0;
	db_params_init(&p);
	db_param_int(&p, minutes);
	db_param_int(&p, (long long)at);
	db_param_int(&p, limit);
	db_param_text(&p, actor);
	if (db_sweep_round(db, DB_LOCK_RESERVATION_SWEEP, "", "SELECT serial, "
	    "'abandoned', extract(epoch FROM reserved_at)::bigint, NULL, "
	    "transaction_id, profile FROM scepd.sweep_reservations("
	    "$1::integer, pg_catalog.to_timestamp($2), $3::integer, $4)", &p,
	    &res, err, errlen) == DB_ERROR)
		return DB_ERROR;
	if (res == NULL)
		return DB_OK;
	*ran = 1;
	*abandoned = PQntuples(res);
	/* Told only once committed. */
	for (int i = 0; cb != NULL && i < PQntuples(res); i++)
		if (row_fill(res, i, &r) == 0)
			cb(&r, arg);
	PQclear(res);
	return DB_OK;
}
