/*
 * Reading issued certificates back (scepctl cert list|show).
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/local.h"

/* The columns row_fill() reads, in order. */
#define CERT_COLUMNS							\
	"serial, subject, sans, coalesce(transaction_id, ''), status, "	\
	"extract(epoch FROM not_before)::bigint, "			\
	"extract(epoch FROM not_after)::bigint, "			\
	"extract(epoch FROM created_at)::bigint, "			\
	"pg_catalog.encode(der, 'hex'), "				\
	"coalesce(extract(epoch FROM delivered_at)::bigint, 0)"

void
db_cert_row_clear(struct db_cert_row *row)
{
	if (row == NULL)
		return;
	free(row->subject);
	free(row->sans);
	free(row->transaction_id);
	free(row->der);
	memset(row, 0, sizeof(*row));
}

static int
copy_str(const char *s, char *dst, size_t dstlen)
{
	size_t	 len = strlen(s);

	if (len >= dstlen)
		return -1;
	memcpy(dst, s, len + 1);
	return 0;
}

/* Fill *row from row i of res; on error *row is cleared. */
static int
row_fill(PGresult *res, int i, struct db_cert_row *row, char *err,
    size_t errlen)
{
	int	 rc = -1;

	memset(row, 0, sizeof(*row));
	if (PQnfields(res) != 10) {
		db_seterr(err, errlen, "certificate row: %d columns",
		    PQnfields(res));
		goto out;
	}
	if (copy_str(PQgetvalue(res, i, 0), row->serial,
	    sizeof(row->serial)) == -1 ||
	    copy_str(PQgetvalue(res, i, 4), row->status,
	    sizeof(row->status)) == -1) {
		db_seterr(err, errlen, "certificate row: field too long");
		goto out;
	}
	if ((row->subject = strdup(PQgetvalue(res, i, 1))) == NULL ||
	    (row->sans = strdup(PQgetvalue(res, i, 2))) == NULL ||
	    (row->transaction_id = strdup(PQgetvalue(res, i, 3))) == NULL) {
		db_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (db_get_time(PQgetvalue(res, i, 5), &row->not_before) == -1 ||
	    db_get_time(PQgetvalue(res, i, 6), &row->not_after) == -1 ||
	    db_get_time(PQgetvalue(res, i, 7), &row->created_at) == -1 ||
	    db_get_time(PQgetvalue(res, i, 9), &row->delivered_at) == -1) {
		db_seterr(err, errlen, "certificate %s: bad time", row->serial);
		goto out;
	}
	if (db_hex_decode(PQgetvalue(res, i, 8), &row->der,
	    &row->der_len) == -1) {
		db_seterr(err, errlen, "certificate %s: bad DER", row->serial);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		db_cert_row_clear(row);
	return rc;
}

/*
 * One walk over the certificates; *seen counts the rows given to cb.
 * Returns DB_OK or DB_ERROR.
 */
static enum db_rc
walk(struct db *db, const struct db_params *p, int undelivered,
    int (*cb)(const struct db_cert_row *, void *), void *arg, int *seen,
    char *err, size_t errlen)
{
	struct db_cert_row	 row;
	PGresult		*res;
	int			 stop = 0, failed = 0;

	memset(&row, 0, sizeof(row));
	if (!PQsendQueryParams(db->conn, undelivered ? "SELECT " CERT_COLUMNS
	    " FROM scepd.certificates"
	    " WHERE delivered_at IS NULL AND status <> 'revoked'"
	    " ORDER BY created_at DESC, serial DESC LIMIT $1" :
	    "SELECT " CERT_COLUMNS
	    " FROM scepd.certificates ORDER BY created_at DESC, serial DESC"
	    " LIMIT $1", p->n, p->types, p->values, p->lengths, p->formats,
	    0)) {
		db_seterr(err, errlen, "%s", PQerrorMessage(db->conn));
		return DB_ERROR;
	}
	/* Single row mode: one row in memory at a time, however many. */
	(void)PQsetSingleRowMode(db->conn);

	/*
	 * Read every result until NULL even after cb said stop or a row
	 * was bad, so the connection is idle again for the next caller.
	 */
	while ((res = PQgetResult(db->conn)) != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
			if (stop || failed)
				break;
			if (row_fill(res, 0, &row, err, errlen) == -1) {
				failed = 1;
				break;
			}
			(*seen)++;
			stop = cb(&row, arg) != 0;
			db_cert_row_clear(&row);
			break;
		case PGRES_TUPLES_OK:
			break;
		default:
			if (!failed)
				(void)db_check(db, res, PGRES_TUPLES_OK, err,
				    errlen);
			failed = 1;
			break;
		}
		PQclear(res);
	}
	return failed ? DB_ERROR : DB_OK;
}

enum db_rc
db_cert_list(struct db *db, int limit, int undelivered,
    int (*cb)(const struct db_cert_row *, void *), void *arg, char *err,
    size_t errlen)
{
	struct db_params	 p;
	int			 idle, seen = 0;
	enum db_rc		 rc = DB_ERROR;

	if (limit < 0) {
		db_seterr(err, errlen, "negative limit");
		goto out;
	}
	db_params_init(&p);
	db_param_limit(&p, limit);

	idle = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
	if (db_ready(db, err, errlen) == -1)
		goto out;
	rc = walk(db, &p, undelivered, cb, arg, &seen, err, errlen);
	/*
	 * The server closed the connection before the first row (restart,
	 * terminated backend): as db_exec(), reconnect and try once more.
	 */
	if (rc == DB_ERROR && idle && seen == 0 &&
	    PQstatus(db->conn) == CONNECTION_BAD &&
	    db_ready(db, err, errlen) == 0)
		rc = walk(db, &p, undelivered, cb, arg, &seen, err, errlen);
out:
	return rc;
}

enum db_rc
db_cert_get(struct db *db, const char *serial, struct db_cert_row *row,
    char *err, size_t errlen)
{
	struct db_params	 p;
	PGresult		*res = NULL;
	char			 norm[DB_SERIAL_MAX + 1];
	enum db_rc		 rc = DB_ERROR;

	memset(row, 0, sizeof(*row));
	if (db_serial_norm(serial, norm) == -1) {
		db_seterr(err, errlen, "bad serial number");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, norm);
	res = db_exec(db, "SELECT " CERT_COLUMNS
	    " FROM scepd.certificates WHERE serial = $1", &p, 1);
	if (db_check(db, res, PGRES_TUPLES_OK, err, errlen) == -1)
		goto out;
	if (PQntuples(res) == 0) {
		rc = DB_NOT_FOUND;
		goto out;
	}
	if (row_fill(res, 0, row, err, errlen) == -1)
		goto out;
	rc = DB_OK;
out:
	PQclear(res);
	return rc;
}
