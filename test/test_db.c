/*
 * db/ against a real PostgreSQL: the conninfo comes from SCEPD_TEST_DB
 * (sh scripts/pg.sh start DIR prints one).  The schema scepd is dropped
 * first, so every run starts from nothing.  A second libpq connection
 * ("admin") looks behind db/'s back: counts rows, watches locks and
 * terminates backends.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "db/db.h"
#include "db/local.h"	/* db_schema_nfiles */

#define VICTIM_APP	"scepd-test-victim"

struct state {
	const char	*conninfo;
	PGconn		*admin;
	struct db	*db;
};

static char	 errbuf[512];

/* Run SQL on the admin connection; return the first value as a number. */
static long long
admin_num(struct state *st, const char *sql, const char *arg)
{
	PGresult	*res;
	long long	 v = -1;
	const char	*vals[1] = { arg };

	res = PQexecParams(st->admin, sql, arg != NULL ? 1 : 0, NULL,
	    arg != NULL ? vals : NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("admin: %s: %s", sql, PQerrorMessage(st->admin));
	PQclear(res);
	return v;
}

static int
group_setup(void **state)
{
	struct state	*st;
	const char	*conninfo;

	if ((conninfo = getenv("SCEPD_TEST_DB")) == NULL) {
		fprintf(stderr, "test_db: set SCEPD_TEST_DB to a libpq "
		    "conninfo, e.g. $(sh scripts/pg.sh start /tmp/dbtest)\n");
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->conninfo = conninfo;
	st->admin = PQconnectdb(conninfo);
	if (PQstatus(st->admin) != CONNECTION_OK) {
		fprintf(stderr, "test_db: %s", PQerrorMessage(st->admin));
		PQfinish(st->admin);
		free(st);
		return -1;
	}
	PQclear(PQexec(st->admin, "SET client_min_messages = warning"));
	PQclear(PQexec(st->admin, "DROP SCHEMA IF EXISTS scepd CASCADE"));
	if ((st->db = db_open(conninfo, errbuf, sizeof(errbuf))) == NULL) {
		fprintf(stderr, "test_db: db_open: %s\n", errbuf);
		PQfinish(st->admin);
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static int
group_teardown(void **state)
{
	struct state	*st = *state;

	if (st == NULL)		/* cmocka tears down a failed setup too */
		return 0;
	db_close(st->db);
	PQfinish(st->admin);
	free(st);
	return 0;
}

/* Deterministic test material. */
static void
fill(unsigned char *b, size_t len, int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(seed * 31 + i * 7);
}

struct issued {
	char		 serial[41];
	char		 txid[64];
	unsigned char	 key[32];
	unsigned char	 req[32];
	unsigned char	 der[300];
};

static void
issued_init(struct issued *is, int seed)
{
	memset(is, 0, sizeof(*is));
	/* A leading zero octet in lower case: db/ must normalise. */
	snprintf(is->serial, sizeof(is->serial), "00%02xabcdef%08x", seed,
	    (unsigned)seed * 2654435761u);
	snprintf(is->txid, sizeof(is->txid), "TX-%d-%ld", seed,
	    (long)getpid());
	fill(is->key, sizeof(is->key), seed);
	fill(is->req, sizeof(is->req), seed + 1000);
	fill(is->der, sizeof(is->der), seed + 2000);
	is->der[0] = 0x30;
}

static void
norm(const char *in, char out[41])
{
	size_t	 i, n = 0;

	for (i = 0; in[i] == '0' && in[i + 1] != '\0'; i++)
		;
	for (; in[i] != '\0'; i++)
		out[n++] = (char)(in[i] >= 'a' ? in[i] - 32 : in[i]);
	out[n] = '\0';
}

/* Insert is's certificate, issued by the CA issuer with key ca_key. */
static enum db_rc
insert_cert_of(struct db *db, const struct issued *is, const char *serial,
    const char *issuer, const char *ca_key)
{
	struct db_cert	 c;

	memset(&c, 0, sizeof(c));
	c.serial = serial != NULL ? serial : is->serial;
	c.issuer = issuer;
	c.ca_key = ca_key;
	c.subject = "CN=device";
	c.sans = "DNS:device.example";
	c.not_before = 1700000000;
	c.not_after = 1800000000;
	c.der = is->der;
	c.der_len = sizeof(is->der);
	c.key_sha256 = is->key;
	c.transaction_id = is->txid;
	c.profile = "default";
	return db_cert_insert(db, &c, errbuf, sizeof(errbuf));
}

/* Recorded without a CA key, as before 007_ca_key.sql. */
static enum db_rc
insert_cert(struct db *db, const struct issued *is, const char *serial)
{
	return insert_cert_of(db, is, serial, "CN=Test CA", NULL);
}

/* A self-signed signer certificate: no part of a request's identity. */
static const unsigned char self_signed[32];

/*
 * db_enroll_begin() for a PKCSReq (19) of transactionID txid, signer key
 * key and request req, signed by a self-signed certificate.
 */
static enum db_rc
begin(struct db *db, const char *txid, const unsigned char *key,
    const unsigned char *req, struct db_prior *prior, char *err,
    size_t errlen)
{
	struct db_tx	 rq;

	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = txid;
	rq.message_type = 19;
	rq.signer_cert_sha256 = self_signed;
	rq.signer_key_sha256 = key;
	rq.request_sha256 = req;
	return db_enroll_begin(db, &rq, 24, prior, err, errlen);
}

/* Record is's PKCSReq in row *row (0: a new row). */
static enum db_rc
record(struct db *db, const struct issued *is, long long *row,
    enum db_tx_state state, int fail_info, const char *serial)
{
	struct db_tx	 tx;

	memset(&tx, 0, sizeof(tx));
	tx.transaction_id = is->txid;
	tx.message_type = 19;	/* PKCSReq */
	tx.signer_cert_sha256 = self_signed;
	tx.signer_key_sha256 = is->key;
	tx.request_sha256 = is->req;
	tx.state = state;
	tx.fail_info = fail_info;
	tx.cert_serial = serial;
	tx.profile = "default";
	tx.peer = "127.0.0.1";
	return db_tx_record(db, &tx, row, errbuf, sizeof(errbuf));
}

/* One whole successful enrollment by CA issuer, key ca_key, committed. */
static void
issue_of(struct db *db, const struct issued *is, const char *issuer,
    const char *ca_key)
{
	struct db_prior	 prior;

	assert_int_equal(begin(db, is->txid, is->key, is->req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(insert_cert_of(db, is, NULL, issuer, ca_key), DB_OK);
	assert_int_equal(record(db, is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is->serial), DB_OK);
	assert_int_equal(db_audit(db, "scep:127.0.0.1", "issue", is->serial,
	    "CN=device", errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
}

static void
issue(struct db *db, const struct issued *is)
{
	issue_of(db, is, "CN=Test CA", NULL);
}

struct migrate_arg {
	const char	*conninfo;
	enum db_rc	 rc;
	int		 applied;
};

static void *
migrate_thread(void *p)
{
	struct migrate_arg	*a = p;
	struct db		*db;
	char			 err[256];

	a->rc = DB_ERROR;
	if ((db = db_open(a->conninfo, err, sizeof(err))) == NULL)
		return NULL;
	a->rc = db_migrate(db, &a->applied, err, sizeof(err));
	db_close(db);
	return NULL;
}

/* Two processes' worth of migrations at once, then once more. */
static void
test_migrate(void **state)
{
	struct state		*st = *state;
	struct migrate_arg	 a[2];
	pthread_t		 t[2];
	int			 i, applied = -1;

	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    DB_REFUSED);
	memset(a, 0, sizeof(a));
	for (i = 0; i < 2; i++) {
		a[i].conninfo = st->conninfo;
		assert_int_equal(pthread_create(&t[i], NULL, migrate_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(a[0].rc, DB_OK);
	assert_int_equal(a[1].rc, DB_OK);
	assert_int_equal(a[0].applied + a[1].applied, db_schema_nfiles);

	assert_int_equal(db_migrate(st->db, &applied, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    DB_OK);
	assert_int_equal(admin_num(st,
	    "SELECT count(*) FROM scepd.schema_migrations", NULL),
	    db_schema_nfiles);

	/* A forgotten migration makes the schema outdated. */
	admin_num(st, "DELETE FROM scepd.schema_migrations WHERE version = "
	    "(SELECT max(version) FROM scepd.schema_migrations)", NULL);
	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    DB_REFUSED);
	{
		char	sql[256];

		snprintf(sql, sizeof(sql), "INSERT INTO scepd.schema_migrations "
		    "(version, name) VALUES (%d, '%s')",
		    db_schema_files[db_schema_nfiles - 1].version,
		    db_schema_files[db_schema_nfiles - 1].name);
		admin_num(st, sql, NULL);
	}
	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    DB_OK);
}

static void
test_durability(void **state)
{
	struct state	*st = *state;

	assert_int_equal(db_check_durability(st->db, errbuf, sizeof(errbuf)),
	    DB_OK);
}

static void
test_begin_unknown(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is;

	issued_init(&is, 1);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(prior.key_mismatch, 0);
	assert_null(prior.cert_der);
	db_prior_clear(&prior);
	/*
	 * Left open (holding the transactionID's lock): the next
	 * db_begin() rolls it back and begins its own.
	 */
	assert_int_equal(db_begin(st->db, 1, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);

	/* Nothing to commit: not a success. */
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(begin(st->db, "", is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_ERROR);
}

struct list_arg {
	int	 n;
	int	 stop_after;
	char	 first[41];
	time_t	 last_created;
	int	 ordered;
};

static int
list_cb(const struct db_cert_row *row, void *p)
{
	struct list_arg	*a = p;

	if (a->n == 0)
		snprintf(a->first, sizeof(a->first), "%s", row->serial);
	else if (row->created_at > a->last_created)
		a->ordered = 0;
	a->last_created = row->created_at;
	a->n++;
	return a->stop_after != 0 && a->n >= a->stop_after;
}

static void
test_issue_and_read(void **state)
{
	struct state		*st = *state;
	struct issued		 is;
	struct db_cert_row	 row;
	struct list_arg		 la;
	char			 want[41], upper[64];
	long long		 audits;

	audits = admin_num(st, "SELECT count(*) FROM scepd.audit", NULL);
	issued_init(&is, 2);
	issue(st->db, &is);
	norm(is.serial, want);

	assert_int_equal(db_cert_get(st->db, is.serial, &row, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_string_equal(row.serial, want);
	assert_string_equal(row.subject, "CN=device");
	assert_string_equal(row.sans, "DNS:device.example");
	assert_string_equal(row.transaction_id, is.txid);
	assert_string_equal(row.status, "valid");
	assert_int_equal(row.not_before, 1700000000);
	assert_int_equal(row.not_after, 1800000000);
	assert_true(row.created_at > 1700000000);
	assert_int_equal(row.der_len, sizeof(is.der));
	assert_memory_equal(row.der, is.der, sizeof(is.der));
	db_cert_row_clear(&row);

	/* Any spelling of the same number. */
	snprintf(upper, sizeof(upper), "0x0000%s", want);
	assert_int_equal(db_cert_get(st->db, upper, &row, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_string_equal(row.serial, want);
	db_cert_row_clear(&row);
	assert_int_equal(db_cert_get(st->db, "12345", &row, errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(db_cert_get(st->db, "not-hex", &row, errbuf,
	    sizeof(errbuf)), DB_ERROR);

	/* Stored normalised, audited once. */
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1", want), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit",
	    NULL), audits + 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE cert_serial = $1 AND "
	    "state = 'success'", want), 1);

	/* A second one: the list is newest first. */
	issued_init(&is, 3);
	issue(st->db, &is);
	norm(is.serial, want);
	memset(&la, 0, sizeof(la));
	la.ordered = 1;
	assert_int_equal(db_cert_list(st->db, 0, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(la.n, admin_num(st,
	    "SELECT count(*) FROM scepd.certificates", NULL));
	assert_string_equal(la.first, want);
	assert_true(la.ordered);

	memset(&la, 0, sizeof(la));
	assert_int_equal(db_cert_list(st->db, 1, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(la.n, 1);
	memset(&la, 0, sizeof(la));
	la.stop_after = 1;
	assert_int_equal(db_cert_list(st->db, 0, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(la.n, 1);
	/* The walk left the connection usable. */
	assert_int_equal(db_cert_get(st->db, want, &row, errbuf,
	    sizeof(errbuf)), DB_OK);
	db_cert_row_clear(&row);
}

/* The same request again: SUCCESS and the same certificate. */
static void
test_replay(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is;
	char		 want[41];

	issued_init(&is, 2);
	norm(is.serial, want);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.key_mismatch, 0);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_string_equal(prior.serial, want);
	assert_non_null(prior.cert_der);
	assert_int_equal(prior.cert_der_len, sizeof(is.der));
	assert_memory_equal(prior.cert_der, is.der, sizeof(is.der));
	/* A SUCCESS is never overwritten. */
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_FAILURE, 2, NULL), DB_ERROR);
	db_rollback(st->db);
	db_prior_clear(&prior);
}

/* Same transactionID, another signer key. */
static void
test_key_mismatch(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is;

	issued_init(&is, 2);
	is.key[0] ^= 0xff;
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.key_mismatch, 1);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_null(prior.cert_der);
	db_rollback(st->db);
	db_prior_clear(&prior);
}

/* db_enroll_peek() for is's PKCSReq, signed by a self-signed certificate. */
static enum db_rc
peek(struct db *db, const struct issued *is, struct db_prior *prior)
{
	struct db_tx	 rq;

	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = is->txid;
	rq.message_type = 19;
	rq.signer_cert_sha256 = self_signed;
	rq.signer_key_sha256 = is->key;
	rq.request_sha256 = is->req;
	return db_enroll_peek(db, &rq, 24, prior, errbuf, sizeof(errbuf));
}

/*
 * The look before the lock says what db_enroll_begin() would, and takes
 * neither a transaction nor a lock: another connection holding the
 * transactionID's lock does not hold it up.
 */
static void
test_peek(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior, locked;
	struct issued	 is, other, unknown;
	struct db	*db2, *db3;
	char		 want[41], ci[1024];

	issued_init(&is, 2);
	norm(is.serial, want);
	assert_non_null(db2 = db_open(st->conninfo, errbuf, sizeof(errbuf)));
	/* Were the look to wait for the lock, it fails instead of hanging. */
	snprintf(ci, sizeof(ci), "%s options='-c lock_timeout=5000'",
	    st->conninfo);
	assert_non_null(db3 = db_open(ci, errbuf, sizeof(errbuf)));
	/* db2 holds the lock of is's transactionID meanwhile. */
	assert_int_equal(begin(db2, is.txid, is.key, is.req, &locked, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(peek(db3, &is, &prior), DB_OK);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_int_equal(prior.key_mismatch, 0);
	assert_string_equal(prior.serial, want);
	assert_int_equal(prior.cert_der_len, sizeof(is.der));
	assert_memory_equal(prior.cert_der, is.der, sizeof(is.der));
	db_prior_clear(&prior);
	db_rollback(db2);
	db_prior_clear(&locked);
	db_close(db2);
	db_close(db3);

	other = is;
	other.key[0] ^= 0xff;
	assert_int_equal(peek(st->db, &other, &prior), DB_OK);
	assert_int_equal(prior.key_mismatch, 1);
	assert_int_equal(prior.state, DB_TX_NONE);
	db_prior_clear(&prior);

	issued_init(&unknown, 77);
	assert_int_equal(peek(st->db, &unknown, &prior), DB_OK);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(prior.key_mismatch, 0);
	assert_int_equal(prior.row_id, 0);
	db_prior_clear(&prior);
	/* No transaction was left open: BEGIN works. */
	assert_int_equal(begin(st->db, unknown.txid, unknown.key, unknown.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	db_rollback(st->db);
	db_prior_clear(&prior);
}

/* Same transactionID and key, another request. */
static void
test_other_request(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is;

	issued_init(&is, 2);
	is.req[5] ^= 0x01;
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.key_mismatch, 0);
	assert_int_equal(prior.state, DB_TX_NONE);
	db_rollback(st->db);
	db_prior_clear(&prior);
}

/* FAILURE and PENDING are recorded and read back; PENDING may change. */
static void
test_failure_pending(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is, pend;

	issued_init(&is, 4);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_FAILURE, 2, NULL), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_FAILURE);
	assert_int_equal(prior.fail_info, 2);
	db_rollback(st->db);

	issued_init(&pend, 5);
	assert_int_equal(begin(st->db, pend.txid, pend.key,
	    pend.req, &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(record(st->db, &pend, &prior.row_id,
	    DB_TX_PENDING, -1, NULL), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(begin(st->db, pend.txid, pend.key,
	    pend.req, &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_PENDING);
	assert_int_equal(insert_cert(st->db, &pend, NULL), DB_OK);
	assert_int_equal(record(st->db, &pend, &prior.row_id, DB_TX_SUCCESS, -1,
	    pend.serial), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(begin(st->db, pend.txid, pend.key,
	    pend.req, &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_non_null(prior.cert_der);
	db_rollback(st->db);
	db_prior_clear(&prior);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", pend.txid), 1);
}

/* db_enroll_begin() for is's request, with messageType and signer given. */
static void
begin_as(struct db *db, const struct issued *is, int message_type,
    const unsigned char *signer_cert, int window_hours,
    struct db_prior *prior)
{
	struct db_tx	 rq;

	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = is->txid;
	rq.message_type = message_type;
	rq.signer_cert_sha256 = signer_cert;
	rq.signer_key_sha256 = is->key;
	rq.request_sha256 = is->req;
	assert_int_equal(db_enroll_begin(db, &rq, window_hours, prior, errbuf,
	    sizeof(errbuf)), DB_OK);
}

/*
 * A retransmission repeats transactionID, messageType, signer
 * certificate, key and request within the window; a renewal that keeps
 * key, CSR and transactionID (scepclient, certmonger) is a new row.
 */
static void
test_retransmission_identity(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct db_tx	 tx;
	struct issued	 is, renewed;
	unsigned char	 issued_cert[32];
	long long	 row;
	char		 want[41];

	issued_init(&is, 47);
	issue(st->db, &is);
	fill(issued_cert, sizeof(issued_cert), 4700);

	/* Same everything: the PKCSReq's row. */
	begin_as(st->db, &is, 19, self_signed, 24, &prior);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_true(prior.row_id > 0);
	row = prior.row_id;
	db_rollback(st->db);
	db_prior_clear(&prior);

	/* Another messageType (RenewalReq): not a retransmission. */
	begin_as(st->db, &is, 17, self_signed, 24, &prior);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(prior.row_id, 0);
	assert_int_equal(prior.key_mismatch, 0);
	db_rollback(st->db);
	db_prior_clear(&prior);

	/* Signed by the issued certificate: a renewal, a row of its own. */
	renewed = is;
	snprintf(renewed.serial, sizeof(renewed.serial), "%s", "4747AB");
	renewed.der[1] ^= 0x5a;
	begin_as(st->db, &is, 19, issued_cert, 24, &prior);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(prior.row_id, 0);
	assert_int_equal(insert_cert(st->db, &renewed, NULL), DB_OK);
	memset(&tx, 0, sizeof(tx));
	tx.transaction_id = is.txid;
	tx.message_type = 19;
	tx.signer_cert_sha256 = issued_cert;
	tx.signer_key_sha256 = is.key;
	tx.request_sha256 = is.req;
	tx.state = DB_TX_SUCCESS;
	tx.fail_info = -1;
	tx.cert_serial = renewed.serial;
	assert_int_equal(db_tx_record(st->db, &tx, &prior.row_id, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_true(prior.row_id > row);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", is.txid), 2);

	/* Each is a retransmission of itself only. */
	begin_as(st->db, &is, 19, issued_cert, 24, &prior);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	norm(renewed.serial, want);
	assert_string_equal(prior.serial, want);
	db_rollback(st->db);
	db_prior_clear(&prior);
	begin_as(st->db, &is, 19, self_signed, 24, &prior);
	norm(is.serial, want);
	assert_string_equal(prior.serial, want);
	assert_int_equal(prior.row_id, row);
	db_rollback(st->db);
	db_prior_clear(&prior);

	/* Older than the window: a new transaction, not a replay. */
	admin_num(st, "UPDATE scepd.transactions SET created_at = "
	    "created_at - interval '25 hours' WHERE transaction_id = $1",
	    is.txid);
	begin_as(st->db, &is, 19, self_signed, 24, &prior);
	assert_int_equal(prior.state, DB_TX_NONE);
	db_rollback(st->db);
	db_prior_clear(&prior);
	begin_as(st->db, &is, 19, self_signed, 48, &prior);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	db_rollback(st->db);
	db_prior_clear(&prior);

	/* A row from before migration 006 (no signer certificate) matches any. */
	admin_num(st, "UPDATE scepd.transactions SET signer_cert_sha256 = "
	    "NULL, created_at = now() WHERE transaction_id = $1 AND "
	    "cert_serial <> '4747AB'", is.txid);
	fill(issued_cert, sizeof(issued_cert), 4701);
	begin_as(st->db, &is, 19, issued_cert, 24, &prior);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_int_equal(prior.row_id, row);
	db_rollback(st->db);
	db_prior_clear(&prior);
}

/* A request held for approval stays one request past the window. */
static void
test_retransmission_pending(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is;
	long long	 row;

	issued_init(&is, 48);
	begin_as(st->db, &is, 19, self_signed, 24, &prior);
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_PENDING, -1, NULL), DB_OK);
	row = prior.row_id;
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
	admin_num(st, "UPDATE scepd.transactions SET created_at = "
	    "created_at - interval '30 days' WHERE transaction_id = $1",
	    is.txid);
	begin_as(st->db, &is, 19, self_signed, 24, &prior);
	assert_int_equal(prior.state, DB_TX_PENDING);
	assert_int_equal(prior.row_id, row);
	db_rollback(st->db);
	db_prior_clear(&prior);
}

static void
test_serial_collision(void **state)
{
	struct state		*st = *state;
	struct db_prior		 prior;
	struct issued		 is, taken;
	struct db_cert_row	 row;
	char			 other[41];

	issued_init(&taken, 2);	/* committed by test_issue_and_read */
	issued_init(&is, 6);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	/* Another spelling of the taken serial collides too. */
	norm(taken.serial, other);
	assert_int_equal(insert_cert(st->db, &is, other), DB_REFUSED);
	assert_int_equal(insert_cert(st->db, &is, taken.serial), DB_REFUSED);
	/* Still usable: draw a new serial. */
	assert_int_equal(insert_cert(st->db, &is, NULL), DB_OK);
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is.serial), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);

	assert_int_equal(db_cert_get(st->db, is.serial, &row, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_string_equal(row.transaction_id, is.txid);
	db_cert_row_clear(&row);
	/* The taken one is untouched. */
	assert_int_equal(db_cert_get(st->db, taken.serial, &row, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_string_equal(row.transaction_id, taken.txid);
	db_cert_row_clear(&row);
}

static void
test_rollback(void **state)
{
	struct state		*st = *state;
	struct db_prior		 prior;
	struct issued		 is;
	struct db_cert_row	 row;
	long long		 audits;

	audits = admin_num(st, "SELECT count(*) FROM scepd.audit", NULL);
	issued_init(&is, 7);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(insert_cert(st->db, &is, NULL), DB_OK);
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is.serial), DB_OK);
	assert_int_equal(db_audit(st->db, "scep:127.0.0.1", "issue",
	    is.serial, NULL, errbuf, sizeof(errbuf)), DB_OK);
	db_rollback(st->db);
	db_rollback(st->db);	/* harmless */

	assert_int_equal(db_cert_get(st->db, is.serial, &row, errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit",
	    NULL), audits);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", is.txid), 0);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_NONE);
	db_rollback(st->db);
}

/* Back to the mark: the failure row stays, the certificate goes. */
static void
test_mark(void **state)
{
	struct state		*st = *state;
	struct db_prior		 prior;
	struct issued		 is;
	struct db_cert_row	 row;
	long long		 marked;

	issued_init(&is, 49);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_mark(st->db, errbuf, sizeof(errbuf)), DB_OK);
	marked = prior.row_id;
	assert_int_equal(insert_cert(st->db, &is, NULL), DB_OK);
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is.serial), DB_OK);
	assert_int_equal(db_back_to_mark(st->db, errbuf, sizeof(errbuf)),
	    DB_OK);
	prior.row_id = marked;
	assert_int_equal(record(st->db, &is, &prior.row_id, DB_TX_FAILURE,
	    2, NULL), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_cert_get(st->db, is.serial, &row, errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1 AND state = "
	    "'failure' AND cert_serial IS NULL", is.txid), 1);
	/* Outside a transaction there is no mark to go back to. */
	assert_int_equal(db_back_to_mark(st->db, errbuf, sizeof(errbuf)),
	    DB_ERROR);
}

/* A job's lock: one session at a time, free again once let go. */
static void
test_job_lock(void **state)
{
	struct state	*st = *state;
	struct db	*other;

	assert_non_null(other = db_open(st->conninfo, errbuf,
	    sizeof(errbuf)));
	assert_int_equal(db_job_lock(st->db, "job a", errbuf, sizeof(errbuf)),
	    DB_OK);
	assert_int_equal(db_job_lock(other, "job a", errbuf, sizeof(errbuf)),
	    DB_REFUSED);
	/* Another job's name is another lock. */
	assert_int_equal(db_job_lock(other, "job b", errbuf, sizeof(errbuf)),
	    DB_OK);
	db_job_unlock(st->db, "job a");
	assert_int_equal(db_job_lock(other, "job a", errbuf, sizeof(errbuf)),
	    DB_OK);
	assert_int_equal(db_job_lock(st->db, "job a", errbuf, sizeof(errbuf)),
	    DB_REFUSED);
	/*
	 * The session's end lets go of what it held, once its backend has
	 * seen the end (db_close() does not wait for that): wait for it,
	 * a bounded number of times.
	 */
	db_close(other);
	for (int i = 0; i < 1000 && admin_num(st, "SELECT count(*) FROM "
	    "pg_catalog.pg_locks WHERE locktype = 'advisory' AND objid = "
	    "pg_catalog.hashtext($1)", "job a") > 0; i++)
		usleep(10000);
	assert_int_equal(db_job_lock(st->db, "job a", errbuf, sizeof(errbuf)),
	    DB_OK);
	assert_int_equal(db_job_lock(st->db, "job b", errbuf, sizeof(errbuf)),
	    DB_OK);
	db_job_unlock(st->db, "job a");
	db_job_unlock(st->db, "job b");
	assert_int_equal(admin_num(st, "SELECT count(*) FROM pg_catalog.pg_locks "
	    "WHERE locktype = 'advisory' AND objid = pg_catalog.hashtext($1)",
	    "job a"), 0);
}

/* A failed statement: the COMMIT that follows is not a success. */
static void
test_commit_refused(void **state)
{
	struct state		*st = *state;
	struct db_prior		 prior;
	struct issued		 is;

	issued_init(&is, 8);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	/* SUCCESS pointing at no certificate: foreign key violation. */
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, "ABCDEF"), DB_ERROR);
	assert_non_null(strstr(errbuf, "23503"));
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", is.txid), 0);
	/* Bad input is refused before SQL. */
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(insert_cert(st->db, &is, "xyz"), DB_ERROR);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_ERROR);
	/* Nothing open: db_cert_insert refuses too. */
	assert_int_equal(insert_cert(st->db, &is, NULL), DB_ERROR);
	assert_int_equal(db_audit(st->db, "a", "b", NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_ERROR);
}

struct begin_arg {
	struct db		*db;
	const struct issued	*is;
	struct db_prior		 prior;
	enum db_rc		 rc;
};

static void *
begin_thread(void *p)
{
	struct begin_arg	*a = p;
	char			 err[256];

	a->rc = begin(a->db, a->is->txid, a->is->key, a->is->req,
	    &a->prior, err, sizeof(err));
	db_rollback(a->db);
	return NULL;
}

/*
 * Two copies of one request at once: the second waits for the first's
 * COMMIT and then sees its SUCCESS, so at most one certificate exists.
 */
static void
test_concurrent(void **state)
{
	struct state		*st = *state;
	struct db_prior		 prior;
	struct begin_arg	 b;
	struct issued		 is;
	pthread_t		 t;
	int			 i;
	long long		 waiting = 0;

	issued_init(&is, 9);
	memset(&b, 0, sizeof(b));
	b.is = &is;
	if ((b.db = db_open(st->conninfo, errbuf, sizeof(errbuf))) == NULL)
		fail_msg("db_open: %s", errbuf);

	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(pthread_create(&t, NULL, begin_thread, &b), 0);
	/* Wait until the second is seen blocked on the advisory lock. */
	for (i = 0; i < 500 && waiting == 0; i++) {
		waiting = admin_num(st, "SELECT count(*) FROM pg_catalog.pg_locks"
		    " WHERE locktype = 'advisory' AND NOT granted", NULL);
		if (waiting == 0)
			usleep(10000);
	}
	assert_int_equal(waiting, 1);
	assert_int_equal(insert_cert(st->db, &is, NULL), DB_OK);
	assert_int_equal(record(st->db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is.serial), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_int_equal(b.rc, DB_OK);
	assert_int_equal(b.prior.state, DB_TX_SUCCESS);
	assert_int_equal(b.prior.cert_der_len, sizeof(is.der));
	assert_memory_equal(b.prior.cert_der, is.der, sizeof(is.der));
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE transaction_id = $1", is.txid), 1);
	db_prior_clear(&b.prior);
	db_prior_clear(&prior);
	db_close(b.db);
}

/* Terminate the victim's backend and wait until it is gone. */
static void
kill_victim(struct state *st)
{
	int	 i;

	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "pg_catalog.pg_stat_activity WHERE application_name = $1",
	    VICTIM_APP), 1);
	/* OFFSET 0 fences the filter: it must run before the kill. */
	assert_int_equal(admin_num(st, "SELECT count(*) FROM (SELECT pid "
	    "FROM pg_catalog.pg_stat_activity WHERE application_name = $1 "
	    "OFFSET 0) s WHERE pg_catalog.pg_terminate_backend(s.pid)",
	    VICTIM_APP), 1);
	for (i = 0; i < 500; i++) {
		if (admin_num(st, "SELECT count(*) FROM "
		    "pg_catalog.pg_stat_activity WHERE application_name = $1",
		    VICTIM_APP) == 0)
			return;
		usleep(10000);
	}
	fail_msg("the victim backend did not exit");
}

static struct db *
open_victim(struct state *st)
{
	struct db	*db;

	/* libpq's default for application_name; the conninfo may be a URI. */
	setenv("PGAPPNAME", VICTIM_APP, 1);
	db = db_open(st->conninfo, errbuf, sizeof(errbuf));
	unsetenv("PGAPPNAME");
	if (db == NULL)
		fail_msg("db_open: %s", errbuf);
	return db;
}

/* The server closed our idle connection: the next call reconnects. */
static void
test_reset_idle(void **state)
{
	struct state		*st = *state;
	struct db		*db;
	struct db_prior		 prior;
	struct db_cert_row	 row;
	struct issued		 is;
	struct list_arg		 la;

	issued_init(&is, 2);
	db = open_victim(st);

	kill_victim(st);
	assert_int_equal(db_cert_get(db, is.serial, &row, errbuf,
	    sizeof(errbuf)), DB_OK);
	db_cert_row_clear(&row);

	kill_victim(st);
	assert_int_equal(begin(db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	db_rollback(db);
	db_prior_clear(&prior);

	kill_victim(st);
	memset(&la, 0, sizeof(la));
	assert_int_equal(db_cert_list(db, 0, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_true(la.n > 0);

	kill_victim(st);
	assert_int_equal(db_schema_current(db, errbuf, sizeof(errbuf)), DB_OK);

	/* search_path is empty again on the new session. */
	kill_victim(st);
	assert_int_equal(db_migrate(db, NULL, errbuf, sizeof(errbuf)), DB_OK);
	db_close(db);
}

/* The server went away inside a transaction: no success, then recovery. */
static void
test_reset_in_tx(void **state)
{
	struct state		*st = *state;
	struct db		*db;
	struct db_prior		 prior;
	struct issued		 is;

	issued_init(&is, 10);
	db = open_victim(st);

	assert_int_equal(begin(db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(insert_cert(db, &is, NULL), DB_OK);
	kill_victim(st);
	assert_int_equal(record(db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is.serial), DB_ERROR);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), DB_ERROR);
	db_rollback(db);

	/* Killed between the last statement and COMMIT: in doubt. */
	assert_int_equal(begin(db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(insert_cert(db, &is, NULL), DB_OK);
	assert_int_equal(record(db, &is, &prior.row_id,
	    DB_TX_SUCCESS, -1, is.serial), DB_OK);
	kill_victim(st);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), DB_ERROR);
	assert_non_null(strstr(errbuf, "commit in doubt"));

	/* Recovered: the retry finds nothing and can issue. */
	issue(db, &is);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE transaction_id = $1", is.txid), 1);
	db_close(db);
}

/* --- Manual approval and renewal (db/pending.c, db/renewal.c) --- */

/* Hold is as a pending request, committed. */
static void
hold(struct db *db, const struct issued *is, const char *device)
{
	struct db_prior	 prior;
	struct db_hold	 h;
	unsigned char	 sig[40];

	fill(sig, sizeof(sig), 77);
	assert_int_equal(begin(db, is->txid, is->key, is->req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(record(db, is, &prior.row_id,
	    DB_TX_PENDING, -1, NULL), DB_OK);
	memset(&h, 0, sizeof(h));
	h.row_id = prior.row_id;
	h.transaction_id = is->txid;
	h.request_der = is->der;
	h.request_der_len = sizeof(is->der);
	h.signer_der = sig;
	h.signer_der_len = sizeof(sig);
	h.request_subject = "CN=held";
	h.device_id = device;
	assert_int_equal(db_pending_hold(db, &h, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
}

/* db_pending_get in a transaction of its own; returns its result. */
static enum db_rc
poll_get(struct db *db, const struct issued *is, const unsigned char *key,
    const unsigned char *req, struct db_pending *p)
{
	struct db_prior	 prior;
	enum db_rc	 t;

	assert_int_equal(begin(db, is->txid, key, req != NULL ? req :
	    is->req, &prior, errbuf, sizeof(errbuf)), DB_OK);
	t = db_pending_get(db, is->txid, key, req, p, errbuf, sizeof(errbuf));
	db_rollback(db);
	db_prior_clear(&prior);
	return t;
}

struct held_want {
	const char	*txid;
	const char	*approval;
	int		 seen;
};

static int
count_held(const struct db_pending_row *r, void *arg)
{
	struct held_want	*want = arg;

	if (strcmp(r->transaction_id, want->txid) == 0 &&
	    strcmp(r->subject, "CN=held") == 0 &&
	    strcmp(r->approval, want->approval) == 0)
		want->seen++;
	return 0;
}

static void
test_pending_approve(void **state)
{
	struct state		*st = *state;
	struct issued		 is;
	struct db_pending	 p;
	unsigned char		 other[32];
	struct held_want	 want;

	issued_init(&is, 40);
	hold(st->db, &is, "dev-40");
	/* What CertPoll sees: pending, with the request to issue later. */
	assert_int_equal(poll_get(st->db, &is, is.key, NULL, &p), DB_OK);
	assert_int_equal(p.state, DB_TX_PENDING);
	assert_int_equal(p.approval, DB_APPROVAL_PENDING);
	assert_int_equal(p.fail_info, -1);
	assert_memory_equal(p.request_sha256, is.req, 32);
	assert_int_equal(p.request_der_len, sizeof(is.der));
	assert_memory_equal(p.request_der, is.der, sizeof(is.der));
	assert_string_equal(p.device_id, "dev-40");
	assert_string_equal(p.profile, "default");
	db_pending_clear(&p);
	/* Another key's poll finds nothing (the caller answers badRequest). */
	fill(other, sizeof(other), 41);
	assert_int_equal(poll_get(st->db, &is, other, NULL, &p), DB_NOT_FOUND);
	/* By exact request hash, too. */
	assert_int_equal(poll_get(st->db, &is, is.key, is.req, &p), DB_OK);
	db_pending_clear(&p);

	want.txid = is.txid;
	want.approval = "pending";
	want.seen = 0;
	assert_int_equal(db_pending_list(st->db, count_held, &want, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(want.seen, 1);

	assert_int_equal(db_pending_decide(st->db, is.txid, 1,
	    "scepctl:test", NULL, errbuf, sizeof(errbuf)), 1);
	/* Decided once: a second decision finds nothing undecided. */
	assert_int_equal(db_pending_decide(st->db, is.txid, 1,
	    "scepctl:test", NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_pending_decide(st->db, is.txid, 0,
	    "scepctl:test", "late", errbuf, sizeof(errbuf)), 0);
	assert_int_equal(poll_get(st->db, &is, is.key, NULL, &p), DB_OK);
	assert_int_equal(p.state, DB_TX_PENDING);
	assert_int_equal(p.approval, DB_APPROVAL_APPROVED);
	db_pending_clear(&p);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE action = 'approve' AND actor = 'scepctl:test' AND "
	    "object = $1", is.txid), 1);
	assert_int_equal(db_pending_decide(st->db, "no-such-tx", 1,
	    "scepctl:test", NULL, errbuf, sizeof(errbuf)), 0);
}

static void
test_pending_reject(void **state)
{
	struct state		*st = *state;
	struct issued		 is;
	struct db_pending	 p;
	struct db_prior		 prior;
	struct db_hold		 h;

	issued_init(&is, 42);
	hold(st->db, &is, NULL);
	assert_int_equal(db_pending_decide(st->db, is.txid, 0,
	    "scepctl:test", "unknown device", errbuf, sizeof(errbuf)), 1);
	assert_int_equal(poll_get(st->db, &is, is.key, NULL, &p), DB_OK);
	assert_int_equal(p.state, DB_TX_FAILURE);
	assert_int_equal(p.approval, DB_APPROVAL_REJECTED);
	assert_int_equal(p.fail_info, 2);
	assert_string_equal(p.reason, "unknown device");
	assert_null(p.device_id);
	db_pending_clear(&p);

	/* Sent again and held again: undecided, the rejection cleared. */
	hold(st->db, &is, NULL);
	assert_int_equal(poll_get(st->db, &is, is.key, NULL, &p), DB_OK);
	assert_int_equal(p.state, DB_TX_PENDING);
	assert_int_equal(p.approval, DB_APPROVAL_PENDING);
	assert_null(p.reason);
	db_pending_clear(&p);

	/* Only a row recorded as pending can be held. */
	issued_init(&is, 43);
	assert_int_equal(begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(record(st->db, &is, &prior.row_id, DB_TX_FAILURE,
	    2, NULL), DB_OK);
	memset(&h, 0, sizeof(h));
	h.row_id = prior.row_id;
	h.transaction_id = is.txid;
	h.request_der = is.der;
	h.request_der_len = sizeof(is.der);
	h.signer_der = is.der;
	h.signer_der_len = sizeof(is.der);
	assert_int_equal(db_pending_hold(st->db, &h, errbuf, sizeof(errbuf)),
	    DB_ERROR);
	assert_non_null(strstr(errbuf, "is not recorded as pending"));
	db_prior_clear(&prior);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_ERROR);
}

static void
test_supersede(void **state)
{
	struct state		*st = *state;
	struct issued		 old, new, next;
	struct db_prior		 prior;
	struct db_signer	 s;
	char			 o[41], n[41];

	issued_init(&old, 44);
	issued_init(&new, 45);
	issue(st->db, &old);
	issue(st->db, &new);
	norm(old.serial, o);
	norm(new.serial, n);

	assert_int_equal(begin(st->db, new.txid, new.key, new.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_renewal_signer(st->db, old.serial, &s, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_string_equal(s.status, "valid");
	assert_null(s.superseded_by);
	assert_null(s.device_id);
	assert_int_equal(s.not_before, 1700000000);
	assert_int_equal(s.not_after, 1800000000);
	assert_int_equal(s.der_len, sizeof(old.der));
	assert_memory_equal(s.der, old.der, sizeof(old.der));
	db_signer_clear(&s);
	assert_int_equal(db_renewal_signer(st->db, "ABCDEF0123", &s, errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(db_renewal_supersede(st->db, old.serial, new.serial,
	    0, "scep:test", errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND status = 'revoked' AND "
	    "revocation_reason = 4 AND revoked_at IS NOT NULL AND "
	    "superseded_by IS NOT NULL", o), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE action = 'supersede' AND object = $1", o), 1);

	/* Renewed once: a second supersede of it fails and rolls back. */
	assert_int_equal(begin(st->db, new.txid, new.key, new.req,
	    &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_renewal_supersede(st->db, old.serial, new.serial,
	    0, "scep:test", errbuf, sizeof(errbuf)), DB_ERROR);
	assert_non_null(strstr(errbuf, "renewed already"));
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_ERROR);
	db_prior_clear(&prior);

	/* With a grace: still valid, revoked by the sweep once it is due. */
	issued_init(&next, 46);
	issue(st->db, &next);
	assert_int_equal(begin(st->db, next.txid, next.key,
	    next.req, &prior, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_renewal_supersede(st->db, new.serial, next.serial,
	    7, "scep:test", errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND status = 'valid' AND "
	    "revoke_after > now() + interval '6 days'", n), 1);
}

static void
test_sweep(void **state)
{
	struct state	*st = *state;
	PGresult	*res;
	int		 revoked = -1, busy = -1;
	char		 n[41];
	struct issued	 new;

	issued_init(&new, 45);	/* superseded with a grace by test_supersede */
	norm(new.serial, n);
	/*
	 * A client whose transactionID is the sweep lock's name holds its
	 * transaction lock (DB_LOCK_TRANSACTION, 2): the sweep still runs.
	 */
	res = PQexec(st->admin, "BEGIN");
	PQclear(res);
	admin_num(st, "SELECT 1 FROM pg_advisory_xact_lock(2, "
	    "hashtext('renewal'))", NULL);
	assert_int_equal(db_renewal_sweep(st->db, 10, &revoked, &busy, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(busy, 0);
	assert_int_equal(revoked, 0);
	res = PQexec(st->admin, "ROLLBACK");
	PQclear(res);
	admin_num(st, "UPDATE scepd.certificates SET revoke_after = "
	    "now() - interval '1 minute' WHERE serial = $1", n);

	/* Another process sweeping (DB_LOCK_RENEWAL_SWEEP, 3): this one skips. */
	res = PQexec(st->admin, "BEGIN");
	PQclear(res);
	admin_num(st, "SELECT 1 FROM pg_advisory_xact_lock(3, "
	    "hashtext('renewal'))", NULL);
	assert_int_equal(db_renewal_sweep(st->db, 10, &revoked, &busy, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(busy, 1);
	assert_int_equal(revoked, 0);
	res = PQexec(st->admin, "ROLLBACK");
	PQclear(res);

	assert_int_equal(db_renewal_sweep(st->db, 10, &revoked, &busy, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(busy, 0);
	assert_int_equal(revoked, 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND status = 'revoked' AND "
	    "revocation_reason = 4", n), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE actor = 'scepd:sweep' AND object = $1", n), 1);
	/* Nothing due any more. */
	assert_int_equal(db_renewal_sweep(st->db, 10, &revoked, &busy, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(revoked, 0);
	assert_int_equal(db_renewal_sweep(st->db, 0, &revoked, &busy, errbuf,
	    sizeof(errbuf)), DB_ERROR);
}

/* --- Delivery marks (009_delivered.sql) --------------------------------- */

/* Is serial (normalised) among those cert list --undelivered walks? */
struct find_arg {
	const char	*want;
	int		 found;
	int		 bad;		/* a revoked or delivered row listed */
};

static int
find_cb(const struct db_cert_row *row, void *p)
{
	struct find_arg	*a = p;

	if (strcmp(row->serial, a->want) == 0)
		a->found = 1;
	if (strcmp(row->status, "revoked") == 0 || row->delivered_at != 0)
		a->bad = 1;
	return 0;
}

static int
undelivered_listed(struct db *db, const char *serial)
{
	struct find_arg	 a;

	memset(&a, 0, sizeof(a));
	a.want = serial;
	assert_int_equal(db_cert_list(db, 0, 1, find_cb, &a, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_false(a.bad);
	return a.found;
}

struct swept {
	char	 serials[8][41];
	int	 n;
};

static void
swept_cb(const char *serial, void *p)
{
	struct swept	*s = p;

	if (s->n < 8)
		snprintf(s->serials[s->n], sizeof(s->serials[0]), "%s", serial);
	s->n++;
}

static int
was_swept(const struct swept *s, const char *serial)
{
	for (int i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->serials[i], serial) == 0)
			return 1;
	return 0;
}

static void
test_delivery(void **state)
{
	struct state	*st = *state;
	struct issued	 is[4];
	struct swept	 sw;
	char		 n[4][41];
	const char	*serials[2];
	int		 marked = -1, ran = -1, revoked = -1;
	long long	 due;

	/*
	 * 60 delivered, 61 undelivered and 30 h old, 62 undelivered and
	 * 1 h old, 63 delivered and 30 h old.
	 */
	for (int i = 0; i < 4; i++) {
		issued_init(&is[i], 60 + i);
		issue(st->db, &is[i]);
		norm(is[i].serial, n[i]);
		assert_int_equal(admin_num(st, "SELECT count(*) FROM "
		    "scepd.certificates WHERE serial = $1 AND "
		    "delivered_at IS NULL", n[i]), 1);
	}
	admin_num(st, "UPDATE scepd.certificates SET created_at = now() - "
	    "interval '30 hours' WHERE serial = $1", n[1]);
	admin_num(st, "UPDATE scepd.certificates SET created_at = now() - "
	    "interval '1 hour' WHERE serial = $1", n[2]);
	admin_num(st, "UPDATE scepd.certificates SET created_at = now() - "
	    "interval '30 hours' WHERE serial = $1", n[3]);

	/* The mark takes serials as SCEP shows them (any case, zeros). */
	serials[0] = is[0].serial;
	serials[1] = is[3].serial;
	assert_int_equal(db_cert_mark_delivered(st->db, serials, 2, &marked,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(marked, 2);
	/* The first delivery counts: a second changes nothing. */
	admin_num(st, "UPDATE scepd.certificates SET delivered_at = "
	    "'2020-01-01T00:00:00Z' WHERE serial = $1", n[0]);
	assert_int_equal(db_cert_mark_delivered(st->db, serials, 1, &marked,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(marked, 0);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND delivered_at = "
	    "'2020-01-01T00:00:00Z'", n[0]), 1);
	serials[0] = "not-a-serial";
	assert_int_equal(db_cert_mark_delivered(st->db, serials, 1, &marked,
	    errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(db_cert_mark_delivered(st->db, serials, 0, &marked,
	    errbuf, sizeof(errbuf)), DB_OK);

	/* The list: undelivered and not revoked only. */
	assert_false(undelivered_listed(st->db, n[0]));
	assert_true(undelivered_listed(st->db, n[1]));
	assert_true(undelivered_listed(st->db, n[2]));
	assert_false(undelivered_listed(st->db, n[3]));

	/* Another process sweeping (DB_LOCK_UNDELIVERED_SWEEP, 6): skip. */
	PQclear(PQexec(st->admin, "BEGIN"));
	admin_num(st, "SELECT 1 FROM pg_advisory_xact_lock(6, hashtext(''))",
	    NULL);
	assert_int_equal(db_sweep_undelivered(st->db, 24, time(NULL), 100,
	    "scepd:sweep", NULL, NULL, &ran, &revoked, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(ran, 0);
	assert_int_equal(revoked, 0);
	PQclear(PQexec(st->admin, "ROLLBACK"));

	/* Off: nothing. */
	assert_int_equal(db_sweep_undelivered(st->db, 0, time(NULL), 100,
	    "scepd:sweep", NULL, NULL, &ran, &revoked, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(revoked, 0);

	/* Only 61 of ours is undelivered past 24 hours. */
	due = admin_num(st, "SELECT count(*) FROM scepd.certificates WHERE "
	    "delivered_at IS NULL AND status <> 'revoked' AND "
	    "created_at < now() - interval '24 hours'", NULL);
	assert_true(due >= 1 && due <= 8);
	memset(&sw, 0, sizeof(sw));
	assert_int_equal(db_sweep_undelivered(st->db, 24, time(NULL), 100,
	    "scepd:sweep", swept_cb, &sw, &ran, &revoked, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(ran, 1);
	assert_int_equal(revoked, due);
	assert_int_equal(sw.n, due);
	assert_true(was_swept(&sw, n[1]));
	assert_false(was_swept(&sw, n[0]));
	assert_false(was_swept(&sw, n[2]));
	assert_false(was_swept(&sw, n[3]));
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND status = 'revoked' AND "
	    "revocation_reason = 5", n[1]), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE actor = 'scepd:sweep' AND object = $1 AND "
	    "detail LIKE 'not delivered within 24 hours%'", n[1]), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND "
	    "status = 'valid'", n[2]), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND status = 'valid'", n[3]),
	    1);
	assert_false(undelivered_listed(st->db, n[1]));

	/* Later (the clock moved): 62 is due, and delivered first it is not. */
	serials[0] = is[2].serial;
	assert_int_equal(db_cert_mark_delivered(st->db, serials, 1, &marked,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(marked, 1);
	memset(&sw, 0, sizeof(sw));
	assert_int_equal(db_sweep_undelivered(st->db, 24, time(NULL) + 86400,
	    100, "scepd:sweep", swept_cb, &sw, &ran, &revoked, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_false(was_swept(&sw, n[2]));
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND status = 'valid'", n[2]),
	    1);
}

/* --- Serial reservations (010_serial_reservation.sql) ------------------ */

/* What db_sweep_reservations() and the list told, by normalised serial. */
struct resv_seen {
	char			 serial[8][41];
	enum db_resv_state	 state[8];
	int			 n;
};

static int
resv_cb(const struct db_reservation *r, void *arg)
{
	struct resv_seen	*s = arg;

	if (s->n < 8) {
		snprintf(s->serial[s->n], sizeof(s->serial[0]), "%s", r->serial);
		s->state[s->n] = r->state;
		s->n++;
	}
	return 0;
}

static void
resv_swept(const struct db_reservation *r, void *arg)
{
	(void)resv_cb(r, arg);
}

/* The state s shows for serial, or -1 if absent. */
static int
resv_state_of(const struct resv_seen *s, const char *serial)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->serial[i], serial) == 0)
			return (int)s->state[i];
	return -1;
}

static long long
resv_count(struct state *st, const char *serial, const char *state)
{
	char	sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "scepd.serial_reservations WHERE serial = $1 AND state = '%s'",
	    state);
	return admin_num(st, sql, serial);
}

static enum db_rc
reserve_is(struct db *db, const struct issued *is)
{
	struct db_reservation	 r;

	memset(&r, 0, sizeof(r));
	r.serial = is->serial;
	r.ca_key = "k1";
	r.transaction_id = is->txid;
	r.profile = "default";
	return db_serial_reserve(db, &r, errbuf, sizeof(errbuf));
}

/*
 * Reserve, refuse a serial reserved or a certificate's, 'issued' only
 * with the certificate's COMMIT, resolve once, the sweep abandons only
 * what is old, the list shows what was never recorded, and the upgrade
 * gives every certificate an 'issued' reservation.
 */
static void
test_reservation(void **state)
{
	struct state		*st = *state;
	struct issued		 a, b, c, d, e;
	struct db_prior		 prior;
	struct resv_seen	 seen;
	struct db		*rdb;
	char			 na[41], nc[41], nd[41], ne[41];
	int			 ran = -1, abandoned = -1, applied = -1;

	assert_non_null(rdb = db_open_async(st->conninfo, errbuf,
	    sizeof(errbuf)));
	issued_init(&a, 100);
	issued_init(&b, 101);
	issued_init(&c, 102);
	issued_init(&d, 103);
	issued_init(&e, 104);
	norm(a.serial, na);
	norm(c.serial, nc);
	norm(d.serial, nd);
	norm(e.serial, ne);

	/* Reserved once, committed at once; twice is refused. */
	assert_int_equal(reserve_is(rdb, &a), DB_OK);
	assert_int_equal(resv_count(st, na, "reserved"), 1);
	assert_int_equal(reserve_is(rdb, &a), DB_REFUSED);
	/* A certificate's serial is refused (b has no reservation). */
	issue(st->db, &b);
	assert_int_equal(reserve_is(rdb, &b), DB_REFUSED);
	/* Inside a transaction it would not be committed first. */
	assert_int_equal(begin(st->db, c.txid, c.key, c.req, &prior, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(reserve_is(st->db, &c), DB_ERROR);
	db_rollback(st->db);
	db_prior_clear(&prior);

	/* 'issued' in a transaction rolled back: still reserved. */
	assert_int_equal(begin(st->db, a.txid, a.key, a.req, &prior, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(insert_cert(st->db, &a, NULL), DB_OK);
	assert_int_equal(db_serial_resolve(st->db, a.serial, DB_RESV_ISSUED,
	    errbuf, sizeof(errbuf)), DB_OK);
	db_rollback(st->db);
	db_prior_clear(&prior);
	assert_int_equal(resv_count(st, na, "reserved"), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1", na), 0);
	/* 'issued' only inside the certificate's transaction. */
	assert_int_equal(db_serial_resolve(rdb, a.serial, DB_RESV_ISSUED,
	    errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(resv_count(st, na, "reserved"), 1);
	/* Signed, not recorded: discarded, once. */
	assert_int_equal(db_serial_resolve(rdb, a.serial, DB_RESV_DISCARDED,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_serial_resolve(rdb, a.serial, DB_RESV_FAILED,
	    errbuf, sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(resv_count(st, na, "discarded"), 1);
	assert_int_equal(db_serial_resolve(rdb, "not-hex", DB_RESV_FAILED,
	    errbuf, sizeof(errbuf)), DB_ERROR);

	/* Committed with its certificate: issued, and nothing else after. */
	assert_int_equal(reserve_is(rdb, &c), DB_OK);
	assert_int_equal(begin(st->db, c.txid, c.key, c.req, &prior, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(insert_cert(st->db, &c, NULL), DB_OK);
	assert_int_equal(db_serial_resolve(st->db, c.serial, DB_RESV_ISSUED,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
	assert_int_equal(resv_count(st, nc, "issued"), 1);
	assert_int_equal(db_serial_resolve(rdb, c.serial, DB_RESV_DISCARDED,
	    errbuf, sizeof(errbuf)), DB_NOT_FOUND);

	/* d reserved two hours ago, e now. */
	assert_int_equal(reserve_is(rdb, &d), DB_OK);
	assert_int_equal(reserve_is(rdb, &e), DB_OK);
	admin_num(st, "UPDATE scepd.serial_reservations SET reserved_at = "
	    "now() - interval '2 hours' WHERE serial = $1", nd);

	/* Another process sweeping (DB_LOCK_RESERVATION_SWEEP, 7): skip. */
	PQclear(PQexec(st->admin, "BEGIN"));
	admin_num(st, "SELECT 1 FROM pg_advisory_xact_lock(7, hashtext(''))",
	    NULL);
	assert_int_equal(db_sweep_reservations(st->db, 60, time(NULL), 100,
	    "scepd:sweep", NULL, NULL, &ran, &abandoned, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(ran, 0);
	assert_int_equal(abandoned, 0);
	PQclear(PQexec(st->admin, "ROLLBACK"));

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(db_sweep_reservations(st->db, 60, time(NULL), 100,
	    "scepd:sweep", resv_swept, &seen, &ran, &abandoned, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(ran, 1);
	assert_int_equal(abandoned, 1);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.serial[0], nd);
	assert_int_equal(resv_count(st, nd, "abandoned"), 1);
	assert_int_equal(resv_count(st, ne, "reserved"), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE actor = 'scepd:sweep' AND action = 'abandon' AND "
	    "object = $1", nd), 1);
	/* A sweep again finds nothing more. */
	assert_int_equal(db_sweep_reservations(st->db, 60, time(NULL), 100,
	    "scepd:sweep", NULL, NULL, &ran, &abandoned, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(abandoned, 0);

	/* e's signature failed. */
	assert_int_equal(db_serial_resolve(rdb, e.serial, DB_RESV_FAILED,
	    errbuf, sizeof(errbuf)), DB_OK);

	/* Unrecorded: every state but issued. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(db_reservation_list_unrecorded(st->db, 0, resv_cb,
	    &seen, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(resv_state_of(&seen, na), DB_RESV_DISCARDED);
	assert_int_equal(resv_state_of(&seen, nd), DB_RESV_ABANDONED);
	assert_int_equal(resv_state_of(&seen, ne), DB_RESV_FAILED);
	assert_int_equal(resv_state_of(&seen, nc), -1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(db_reservation_list_unrecorded(st->db, 1, resv_cb,
	    &seen, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(seen.n, 1);

	/*
	 * The upgrade: 010 applied over certificates recorded before it
	 * (every certificate of the other tests has none) gives each an
	 * 'issued' reservation of its creation time.
	 */
	admin_num(st, "DROP FUNCTION scepd.sweep_reservations", NULL);
	admin_num(st, "DROP TABLE scepd.serial_reservations", NULL);
	admin_num(st, "DELETE FROM scepd.schema_migrations WHERE version = 10",
	    NULL);
	assert_int_equal(db_migrate(st->db, &applied, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(applied, 1);
	assert_true(admin_num(st, "SELECT count(*) FROM scepd.certificates",
	    NULL) > 10);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates c WHERE NOT EXISTS (SELECT 1 FROM "
	    "scepd.serial_reservations r WHERE r.serial = c.serial AND "
	    "r.state = 'issued' AND r.reserved_at = c.created_at)", NULL), 0);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.serial_reservations", NULL), admin_num(st,
	    "SELECT count(*) FROM scepd.certificates", NULL));
	db_close(rdb);
}

/* --- CA keys (007_ca_key.sql) ------------------------------------------ */

/* The serials, normalised, of the entries db_crl_begin() lists for key. */
static void
crl_entries(struct db *db, const char *key, char *out, size_t len)
{
	struct db_crl	 crl;

	out[0] = '\0';
	assert_int_equal(db_crl_begin(db, "CN=Rekey CA", key, &crl, errbuf,
	    sizeof(errbuf)), DB_OK);
	for (size_t i = 0; i < crl.nentries; i++) {
		strncat(out, crl.entries[i].serial, len - strlen(out) - 2);
		strncat(out, " ", len - strlen(out) - 1);
	}
	db_crl_clear(&crl);
	db_rollback(db);
}

/*
 * A re-keyed CA: each key has its own CRL state and entries; rows
 * without a key count for every key of the name until claimed; CRL
 * numbers go on across the keys of one name; live counts valid and held.
 */
static void
test_ca_keys(void **state)
{
	struct state	*st = *state;
	struct issued	 a, b, c, l;
	struct db_crl	 crl;
	char		 sa[41], sb[41], sc[41], sl[41], want[256], got[256];
	long long	 n;

	issued_init(&a, 90);
	issued_init(&b, 91);
	issued_init(&c, 92);
	issued_init(&l, 93);
	norm(a.serial, sa);
	norm(b.serial, sb);
	norm(c.serial, sc);
	norm(l.serial, sl);
	issue_of(st->db, &a, "CN=Rekey CA", "k1");
	issue_of(st->db, &b, "CN=Rekey CA", "k1");
	issue_of(st->db, &c, "CN=Rekey CA", "k2");
	issue_of(st->db, &l, "CN=Rekey CA", NULL);
	assert_int_equal(db_ca_key_live(st->db, "CN=Rekey CA", "k1", &n,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 3);		/* a, b and the unclaimed l */
	admin_num(st, "UPDATE scepd.certificates SET status = 'revoked', "
	    "revocation_reason = 1, revoked_at = now() WHERE serial = $1", sb);
	admin_num(st, "UPDATE scepd.certificates SET status = 'revoked', "
	    "revocation_reason = 1, revoked_at = now() WHERE serial = $1", sc);
	admin_num(st, "UPDATE scepd.certificates SET status = 'hold', "
	    "revocation_reason = 6, revoked_at = now() WHERE serial = $1", sl);

	/* Each key's CRL lists its own, and the row without a key. */
	snprintf(want, sizeof(want), "%s %s ", strcmp(sb, sl) < 0 ? sb : sl,
	    strcmp(sb, sl) < 0 ? sl : sb);
	crl_entries(st->db, "k1", got, sizeof(got));
	assert_string_equal(got, want);
	snprintf(want, sizeof(want), "%s %s ", strcmp(sc, sl) < 0 ? sc : sl,
	    strcmp(sc, sl) < 0 ? sl : sc);
	crl_entries(st->db, "k2", got, sizeof(got));
	assert_string_equal(got, want);

	/* k1's CRL is k1's only; k2's next number goes beyond it. */
	assert_int_equal(db_crl_begin(st->db, "CN=Rekey CA", "k1", &crl,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_crl_store(st->db, "CN=Rekey CA", "k1",
	    crl.crl_number + 5, crl.changes, (const unsigned char *)"\x30\x00",
	    2, 1700000000, 1800000000, errbuf, sizeof(errbuf)), DB_OK);
	n = crl.crl_number + 5;
	db_crl_clear(&crl);
	assert_int_equal(db_crl_get(st->db, "CN=Rekey CA", "k2", &crl, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_null(crl.der);
	db_crl_clear(&crl);
	assert_int_equal(db_crl_get(st->db, "CN=Rekey CA", "k1", &crl, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_non_null(crl.der);
	db_crl_clear(&crl);
	assert_int_equal(db_crl_begin(st->db, "CN=Rekey CA", "k2", &crl,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(crl.crl_number, n);
	db_crl_clear(&crl);
	db_rollback(st->db);

	/* Claiming: l becomes k1's, and leaves k2's CRL. */
	assert_int_equal(db_ca_key_claim(st->db, "CN=Rekey CA", "k1", &n,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE serial = $1 AND ca_key = 'k1'", sl), 1);
	snprintf(want, sizeof(want), "%s ", sc);
	crl_entries(st->db, "k2", got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(db_ca_key_live(st->db, "CN=Rekey CA", "k1", &n,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 2);		/* a valid, l on hold */
	assert_int_equal(db_ca_key_live(st->db, "CN=Rekey CA", "k2", &n,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 0);
}

/* --- The notification outbox (db/outbox.c) -------------------------------- */

struct claimed {
	int		 n;
	long long	 id[8];
	int		 attempts[8];
	char		 tid[8][64];
	char		 body[8][64];
};

static int
claim_cb(const struct db_outbox_row *r, void *arg)
{
	struct claimed	*c = arg;

	if (c->n < 8) {
		c->id[c->n] = r->id;
		c->attempts[c->n] = r->attempts;
		snprintf(c->tid[c->n], sizeof(c->tid[0]), "%s", r->transaction_id);
		snprintf(c->body[c->n], sizeof(c->body[0]), "%s", r->body);
		assert_string_equal(r->profile, "hook");
		assert_string_equal(r->kind, "issued");
	}
	c->n++;
	return 0;
}

static int
claim(struct db *db, int limit, struct claimed *c)
{
	memset(c, 0, sizeof(*c));
	return db_outbox_claim(db, limit, 60, claim_cb, c, errbuf,
	    sizeof(errbuf));
}

static void
outbox_add(struct db *db, const char *tid, int commit)
{
	assert_int_equal(db_begin(db, 1, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_outbox_add(db, "hook", "issued", tid,
	    "{\"type\": \"issued\"}", errbuf, sizeof(errbuf)), DB_OK);
	if (commit)
		assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), DB_OK);
	else
		db_rollback(db);
}

/*
 * Queued with the transaction (a rolled-back one queues nothing), claimed
 * once under a lease, retried after a failure, done when sent; two
 * senders never get the same row.
 */
static void
test_outbox(void **state)
{
	struct state	*st = *state;
	struct claimed	 c, d;
	struct db	*other;

	assert_int_equal(claim(st->db, 8, &c), 0);
	outbox_add(st->db, "ob-rolled-back", 0);
	outbox_add(st->db, "ob-1", 1);
	/* Outside a transaction: refused. */
	assert_int_equal(db_outbox_add(st->db, "hook", "issued", "x", "{}",
	    errbuf, sizeof(errbuf)), DB_ERROR);

	assert_int_equal(claim(st->db, 8, &c), 1);
	assert_string_equal(c.tid[0], "ob-1");
	assert_string_equal(c.body[0], "{\"type\": \"issued\"}");
	assert_int_equal(c.attempts[0], 0);
	/* Leased: not claimed again meanwhile. */
	assert_int_equal(claim(st->db, 8, &d), 0);

	/* A failure counts and comes back once its pause is over. */
	assert_int_equal(db_outbox_failed(st->db, c.id[0], "HTTP 500", 30,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(claim(st->db, 8, &d), 0);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.outbox "
	    "WHERE transaction_id = $1 AND attempts = 1 AND "
	    "last_error = 'HTTP 500'", "ob-1"), 1);
	admin_num(st, "UPDATE scepd.outbox SET next_at = now() - "
	    "interval '1 second' WHERE transaction_id = $1", "ob-1");
	assert_int_equal(claim(st->db, 8, &d), 1);
	assert_int_equal(d.id[0], c.id[0]);
	assert_int_equal(d.attempts[0], 1);

	/* Sent: done, and only once. */
	assert_int_equal(db_outbox_sent(st->db, c.id[0], errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(db_outbox_sent(st->db, c.id[0], errbuf,
	    sizeof(errbuf)), DB_ERROR);
	assert_non_null(strstr(errbuf, "no such notification waits"));
	assert_int_equal(db_outbox_failed(st->db, c.id[0], "late", 30,
	    errbuf, sizeof(errbuf)), DB_ERROR);
	admin_num(st, "UPDATE scepd.outbox SET next_at = now() - "
	    "interval '1 second' WHERE transaction_id = $1", "ob-1");
	assert_int_equal(claim(st->db, 8, &d), 0);

	/* Two senders, two rows: one each. */
	outbox_add(st->db, "ob-2", 1);
	outbox_add(st->db, "ob-3", 1);
	if ((other = db_open(st->conninfo, errbuf, sizeof(errbuf))) == NULL)
		fail_msg("db_open: %s", errbuf);
	assert_int_equal(claim(st->db, 1, &c), 1);
	assert_int_equal(claim(other, 8, &d), 1);
	assert_string_not_equal(c.tid[0], d.tid[0]);
	db_close(other);
	assert_int_equal(db_outbox_claim(st->db, 0, 60, claim_cb, &c, errbuf,
	    sizeof(errbuf)), -1);
}

/* --- One-time challenges and API tokens ---------------------------------- */

/* Open an enrollment transaction for the challenge tests. */
static void
chal_begin(struct db *db, const char *txid)
{
	struct db_prior	 prior;
	unsigned char	 key[32], req[32];

	fill(key, sizeof(key), 77);
	fill(req, sizeof(req), (int)strlen(txid));
	assert_int_equal(begin(db, txid, key, req, &prior, errbuf,
	    sizeof(errbuf)), DB_OK);
	db_prior_clear(&prior);
}

/* Consume mac for profile in a transaction of its own, committed. */
static enum db_challenge_state
chal_consume(struct db *db, const char *profile, const unsigned char *mac,
    const char *txid, struct db_challenge_use *use)
{
	chal_begin(db, txid);
	assert_int_equal(db_challenge_consume(db, profile, mac, txid, use,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), DB_OK);
	return use->state;
}

static void
chal_new(struct db_challenge_new *c, const unsigned char *mac)
{
	memset(c, 0, sizeof(*c));
	c->profile = "default";
	c->mac = mac;
	c->ttl_minutes = 60;
	c->actor = "test:chal";
}

static void
test_challenge_once(void **state)
{
	static const char *const sans[] = { "DNS:dev-1.example",
	    "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1" };
	struct state		*st = *state;
	struct db_challenge_new	 c;
	struct db_challenge_use	 use;
	unsigned char		 mac[32];
	long long		 id = 0;
	time_t			 exp = 0, now = time(NULL);
	char			 ids[32];

	fill(mac, sizeof(mac), 101);
	chal_new(&c, mac);
	c.device_id = "dev-1";
	c.subject = "/O=Acme/CN=dev-1";
	c.sans = sans;
	c.nsans = 2;
	assert_int_equal(db_challenge_create(st->db, &c, &id, &exp, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_true(id > 0);
	/* The database's clock: within a minute of ours in this test. */
	assert_true(exp >= now + 3600 - 60 && exp <= now + 3600 + 60);
	snprintf(ids, sizeof(ids), "challenge:%lld", id);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE action = 'challenge-create' AND object = $1", ids), 1);
	/* Only the MAC is stored. */
	assert_int_equal(admin_num(st, "SELECT length(mac) FROM "
	    "scepd.challenges WHERE id = $1::bigint", ids + 10), 32);

	/* The same MAC again: the caller draws another challenge. */
	assert_int_equal(db_challenge_create(st->db, &c, NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_REFUSED);

	/* First use: OK with the binding. */
	assert_int_equal(chal_consume(st->db, "default", mac, "TX-CHAL-1",
	    &use), DB_CHALLENGE_OK);
	assert_int_equal(use.id, id);
	assert_string_equal(use.device_id, "dev-1");
	assert_string_equal(use.subject, "/O=Acme/CN=dev-1");
	assert_int_equal(use.nsans, 2);
	assert_string_equal(use.sans[0], sans[0]);
	assert_string_equal(use.sans[1], sans[1]);
	db_challenge_use_clear(&use);

	/* Second use: USED, naming the first. */
	assert_int_equal(chal_consume(st->db, "default", mac, "TX-CHAL-2",
	    &use), DB_CHALLENGE_USED);
	assert_int_equal(use.id, id);
	assert_string_equal(use.used_by, "TX-CHAL-1");
	assert_true(use.used_at >= now - 60 && use.used_at <= now + 60);
	assert_null(use.device_id);
	db_challenge_use_clear(&use);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.challenges "
	    "WHERE id = $1::bigint AND used_by = 'TX-CHAL-1'", ids + 10), 1);
}

static void
test_challenge_states(void **state)
{
	struct state		*st = *state;
	struct db_challenge_new	 c;
	struct db_challenge_use	 use;
	unsigned char		 mac[32], other[32];
	long long		 id;
	char			 ids[32];
	static const char *const bad_san[] = { "DNS:a\nDNS:b" };

	/* Unknown. */
	fill(other, sizeof(other), 199);
	assert_int_equal(chal_consume(st->db, "default", other, "TX-CHAL-3",
	    &use), DB_CHALLENGE_UNKNOWN);
	db_challenge_use_clear(&use);

	/* Minted for another profile: unknown here, still usable there. */
	fill(mac, sizeof(mac), 102);
	chal_new(&c, mac);
	assert_int_equal(db_challenge_create(st->db, &c, &id, NULL, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(chal_consume(st->db, "other", mac, "TX-CHAL-4",
	    &use), DB_CHALLENGE_UNKNOWN);
	db_challenge_use_clear(&use);
	/* No binding: all NULL. */
	assert_int_equal(chal_consume(st->db, "default", mac, "TX-CHAL-5",
	    &use), DB_CHALLENGE_OK);
	assert_null(use.device_id);
	assert_null(use.subject);
	assert_int_equal(use.nsans, 0);
	db_challenge_use_clear(&use);

	/* Expired, by the database's clock. */
	fill(mac, sizeof(mac), 103);
	chal_new(&c, mac);
	assert_int_equal(db_challenge_create(st->db, &c, &id, NULL, errbuf,
	    sizeof(errbuf)), DB_OK);
	snprintf(ids, sizeof(ids), "%lld", id);
	admin_num(st, "UPDATE scepd.challenges SET created_at = now() - "
	    "interval '2 hours', expires_at = now() - interval '1 second' "
	    "WHERE id = $1::bigint", ids);
	assert_int_equal(chal_consume(st->db, "default", mac, "TX-CHAL-6",
	    &use), DB_CHALLENGE_EXPIRED);
	assert_int_equal(use.id, id);
	db_challenge_use_clear(&use);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.challenges "
	    "WHERE id = $1::bigint AND used_at IS NULL", ids), 1);

	/* A rolled-back enrollment gives the challenge back. */
	fill(mac, sizeof(mac), 104);
	chal_new(&c, mac);
	assert_int_equal(db_challenge_create(st->db, &c, NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_OK);
	chal_begin(st->db, "TX-CHAL-7");
	assert_int_equal(db_challenge_consume(st->db, "default", mac,
	    "TX-CHAL-7", &use, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(use.state, DB_CHALLENGE_OK);
	db_challenge_use_clear(&use);
	db_rollback(st->db);
	assert_int_equal(chal_consume(st->db, "default", mac, "TX-CHAL-8",
	    &use), DB_CHALLENGE_OK);
	db_challenge_use_clear(&use);

	/* Outside a transaction: refused. */
	assert_int_equal(db_challenge_consume(st->db, "default", mac,
	    "TX-CHAL-9", &use, errbuf, sizeof(errbuf)), DB_ERROR);

	/* Bad bindings never reach the table. */
	fill(mac, sizeof(mac), 105);
	chal_new(&c, mac);
	c.device_id = "dev\r1";
	assert_int_equal(db_challenge_create(st->db, &c, NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_ERROR);
	chal_new(&c, mac);
	c.sans = bad_san;
	c.nsans = 1;
	assert_int_equal(db_challenge_create(st->db, &c, NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_ERROR);
	chal_new(&c, mac);
	c.ttl_minutes = 0;
	assert_int_equal(db_challenge_create(st->db, &c, NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_ERROR);
}

struct race_arg {
	const char		*conninfo;
	const unsigned char	*mac;
	char			 txid[32];
	enum db_rc		 rc;
	enum db_challenge_state	 state;
};

static void *
race_thread(void *p)
{
	struct race_arg		*a = p;
	struct db_challenge_use	 use;
	struct db_prior		 prior;
	struct db		*db;
	unsigned char		 key[32], req[32];
	char			 err[256];

	a->rc = DB_ERROR;
	memset(key, 0x42, sizeof(key));
	memset(req, 0x43, sizeof(req));
	if ((db = db_open(a->conninfo, err, sizeof(err))) == NULL)
		return NULL;
	if (begin(db, a->txid, key, req, &prior, err,
	    sizeof(err)) == DB_OK) {
		db_prior_clear(&prior);
		if (db_challenge_consume(db, "default", a->mac, a->txid, &use,
		    err, sizeof(err)) == DB_OK) {
			a->state = use.state;
			db_challenge_use_clear(&use);
			/* Hold the row a moment: the others must wait. */
			usleep(20000);
			a->rc = db_commit(db, err, sizeof(err));
		}
	}
	db_close(db);
	return NULL;
}

/* Sixteen connections, one challenge: exactly one use. */
static void
test_challenge_race(void **state)
{
	struct state		*st = *state;
	struct db_challenge_new	 c;
	struct race_arg		 a[16];
	pthread_t		 t[16];
	unsigned char		 mac[32];
	int			 i, ok = 0, used = 0;

	fill(mac, sizeof(mac), 106);
	chal_new(&c, mac);
	assert_int_equal(db_challenge_create(st->db, &c, NULL, NULL, errbuf,
	    sizeof(errbuf)), DB_OK);
	for (i = 0; i < 16; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].conninfo = st->conninfo;
		a[i].mac = mac;
		snprintf(a[i].txid, sizeof(a[i].txid), "TX-RACE-%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, race_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < 16; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].rc, DB_OK);
		ok += a[i].state == DB_CHALLENGE_OK;
		used += a[i].state == DB_CHALLENGE_USED;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(used, 15);
}

/* Ten per token, one more per revoked one; created_by is checked. */
static int
token_cb(const struct db_token_row *r, void *p)
{
	int	*n = p;

	assert_string_equal(r->created_by, "test:tok");
	assert_true(r->created_at > 0);
	*n += 10 + (r->revoked_at != 0);
	return 0;
}

static void
test_token(void **state)
{
	struct state	*st = *state;
	unsigned char	 sha[32], sha2[32], none[32];
	char		 name[65];
	int		 n = 0;

	fill(sha, sizeof(sha), 201);
	fill(sha2, sizeof(sha2), 202);
	fill(none, sizeof(none), 203);
	assert_int_equal(db_token_create(st->db, "mdm-1", sha, "test:tok",
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_token_create(st->db, "mdm-1", sha2, "test:tok",
	    errbuf, sizeof(errbuf)), DB_REFUSED);
	assert_int_equal(db_token_create(st->db, "bad name", sha2, "test:tok",
	    errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(db_token_create(st->db, "mdm:2", sha2, "test:tok",
	    errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE action = 'token-create' AND object = 'token:mdm-1'", NULL),
	    1);

	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.api_tokens "
	    "WHERE last_used_at IS NOT NULL", NULL), 0);
	assert_int_equal(db_token_check(st->db, sha, name, sizeof(name), errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_string_equal(name, "mdm-1");
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.api_tokens "
	    "WHERE last_used_at IS NOT NULL", NULL), 1);
	assert_int_equal(db_token_check(st->db, none, name, sizeof(name),
	    errbuf, sizeof(errbuf)), DB_NOT_FOUND);
	/* A name that does not fit is a refusal, not an overflow. */
	assert_int_equal(db_token_check(st->db, sha, name, 3, errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);

	assert_int_equal(db_token_revoke(st->db, "mdm-1", "test:tok", errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(db_token_revoke(st->db, "mdm-1", "test:tok", errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(db_token_revoke(st->db, "nope", "test:tok", errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(db_token_check(st->db, sha, name, sizeof(name), errbuf,
	    sizeof(errbuf)), DB_NOT_FOUND);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit "
	    "WHERE action = 'token-revoke' AND object = 'token:mdm-1'", NULL),
	    1);
	/* A revoked name stays taken. */
	assert_int_equal(db_token_create(st->db, "mdm-1", sha2, "test:tok",
	    errbuf, sizeof(errbuf)), DB_REFUSED);
	assert_int_equal(db_token_create(st->db, "mdm-2", sha2, "test:tok",
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_token_list(st->db, token_cb, &n, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 2 * 10 + 1);	/* mdm-1 revoked, mdm-2 live */
}

/* --- The audit of key use (011_key_use.sql) --------------------------- */

#define KEY_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/*
 * Two processes' deltas add up per key and purpose; a key or purpose
 * not of the table's form, or a negative delta, is refused; a CA key's
 * records are its certificates and its reservations by state.
 */
static void
test_key_use(void **state)
{
	struct state		*st = *state;
	struct db_key_records	 r;
	struct db		*other;
	struct issued		 is[5];
	long long		 n, f;

	assert_non_null(other = db_open(st->conninfo, errbuf,
	    sizeof(errbuf)));
	assert_int_equal(db_key_use_get(st->db, KEY_A, "certificate", &n, &f,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(f, 0);
	assert_int_equal(db_key_use_add(st->db, KEY_A, "certificate", 3, 1,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_key_use_add(other, KEY_A, "certificate", 4, 0,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_key_use_add(other, KEY_A, "crl", 2, 0,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_key_use_get(st->db, KEY_A, "certificate", &n, &f,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 7);
	assert_int_equal(f, 1);
	assert_int_equal(db_key_use_get(st->db, KEY_A, "crl", &n, &f,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(f, 0);
	assert_int_equal(db_key_use_add(st->db, "k1", "crl", 1, 0, errbuf,
	    sizeof(errbuf)), DB_ERROR);
	assert_int_equal(db_key_use_add(st->db, KEY_A, "signing", 1, 0,
	    errbuf, sizeof(errbuf)), DB_ERROR);
	assert_int_equal(db_key_use_add(st->db, KEY_A, "crl", -1, 0, errbuf,
	    sizeof(errbuf)), DB_ERROR);
	assert_int_equal(db_key_use_get(st->db, KEY_A, "crl", &n, &f,
	    errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(n, 2);
	db_close(other);

	/*
	 * KEY_A's records: two certificates, a reservation discarded, one
	 * failed, one still reserved; another key's are not its.
	 */
	assert_non_null(other = db_open_async(st->conninfo, errbuf,
	    sizeof(errbuf)));
	for (int i = 0; i < 5; i++) {
		struct db_reservation	 rv;

		issued_init(&is[i], 900 + i);
		memset(&rv, 0, sizeof(rv));
		rv.serial = is[i].serial;
		rv.ca_key = i < 4 ? KEY_A : "k1";
		rv.transaction_id = is[i].txid;
		assert_int_equal(db_serial_reserve(other, &rv, errbuf,
		    sizeof(errbuf)), DB_OK);
	}
	assert_int_equal(db_serial_resolve(other, is[2].serial,
	    DB_RESV_DISCARDED, errbuf, sizeof(errbuf)), DB_OK);
	assert_int_equal(db_serial_resolve(other, is[3].serial,
	    DB_RESV_FAILED, errbuf, sizeof(errbuf)), DB_OK);
	db_close(other);
	for (int i = 0; i < 2; i++) {
		issue(st->db, &is[i]);
		admin_num(st, "UPDATE scepd.certificates SET ca_key = '" KEY_A
		    "' WHERE transaction_id = $1", is[i].txid);
	}
	assert_int_equal(db_key_records(st->db, KEY_A, &r, errbuf,
	    sizeof(errbuf)), DB_OK);
	assert_int_equal(r.recorded, 2);
	/* issue() records no reservation's 'issued': they stay reserved. */
	assert_int_equal(r.reserved, 2);
	assert_int_equal(r.discarded, 1);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.abandoned, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_durability),
		cmocka_unit_test(test_begin_unknown),
		cmocka_unit_test(test_issue_and_read),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_other_request),
		cmocka_unit_test(test_failure_pending),
		cmocka_unit_test(test_retransmission_identity),
		cmocka_unit_test(test_retransmission_pending),
		cmocka_unit_test(test_serial_collision),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_mark),
		cmocka_unit_test(test_job_lock),
		cmocka_unit_test(test_commit_refused),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_reset_idle),
		cmocka_unit_test(test_reset_in_tx),
		cmocka_unit_test(test_challenge_once),
		cmocka_unit_test(test_challenge_states),
		cmocka_unit_test(test_challenge_race),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_pending_approve),
		cmocka_unit_test(test_pending_reject),
		cmocka_unit_test(test_supersede),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_outbox),
		cmocka_unit_test(test_ca_keys),
		cmocka_unit_test(test_delivery),
		cmocka_unit_test(test_reservation),
		cmocka_unit_test(test_key_use),
	};

	/* A peer that closes early must fail a test, not kill the binary. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("db", tests, group_setup,
	    group_teardown);
}
