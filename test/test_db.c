/*
 * db/ against a real PostgreSQL: the conninfo comes from SCEPD_TEST_DB
 * (sh scripts/pg.sh start DIR prints one).  The schema scepd is dropped
 * first, so every run starts from nothing.  A second libpq connection
 * ("admin") looks behind db/'s back: counts rows, watches locks and
 * terminates backends.
 */
#include <pthread.h>
#include <setjmp.h>
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

static int
insert_cert(struct db *db, const struct issued *is, const char *serial)
{
	struct db_cert	 c;

	memset(&c, 0, sizeof(c));
	c.serial = serial != NULL ? serial : is->serial;
	c.issuer = "CN=Test CA";
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

static int
record(struct db *db, const struct issued *is, enum db_tx_state state,
    int fail_info, const char *serial)
{
	struct db_tx	 tx;

	memset(&tx, 0, sizeof(tx));
	tx.transaction_id = is->txid;
	tx.signer_key_sha256 = is->key;
	tx.request_sha256 = is->req;
	tx.message_type = 19;	/* PKCSReq */
	tx.state = state;
	tx.fail_info = fail_info;
	tx.cert_serial = serial;
	tx.profile = "default";
	tx.peer = "127.0.0.1";
	return db_tx_record(db, &tx, errbuf, sizeof(errbuf));
}

/* One whole successful enrollment, committed. */
static void
issue(struct db *db, const struct issued *is)
{
	struct db_prior	 prior;

	assert_int_equal(db_enroll_begin(db, is->txid, is->key, is->req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(insert_cert(db, is, NULL), 0);
	assert_int_equal(record(db, is, DB_TX_SUCCESS, -1, is->serial), 0);
	assert_int_equal(db_audit(db, "scep:127.0.0.1", "issue", is->serial,
	    "CN=device", errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), 0);
	db_prior_clear(&prior);
}

struct migrate_arg {
	const char	*conninfo;
	int		 rc;
	int		 applied;
};

static void *
migrate_thread(void *p)
{
	struct migrate_arg	*a = p;
	struct db		*db;
	char			 err[256];

	a->rc = -1;
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
	    1);
	memset(a, 0, sizeof(a));
	for (i = 0; i < 2; i++) {
		a[i].conninfo = st->conninfo;
		assert_int_equal(pthread_create(&t[i], NULL, migrate_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(a[0].rc, 0);
	assert_int_equal(a[1].rc, 0);
	assert_int_equal(a[0].applied + a[1].applied, db_schema_nfiles);

	assert_int_equal(db_migrate(st->db, &applied, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    0);
	assert_int_equal(admin_num(st,
	    "SELECT count(*) FROM scepd.schema_migrations", NULL),
	    db_schema_nfiles);

	/* A forgotten migration makes the schema outdated. */
	admin_num(st, "DELETE FROM scepd.schema_migrations WHERE version = "
	    "(SELECT max(version) FROM scepd.schema_migrations)", NULL);
	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    1);
	{
		char	sql[256];

		snprintf(sql, sizeof(sql), "INSERT INTO scepd.schema_migrations "
		    "(version, name) VALUES (%d, '%s')",
		    db_schema_files[db_schema_nfiles - 1].version,
		    db_schema_files[db_schema_nfiles - 1].name);
		admin_num(st, sql, NULL);
	}
	assert_int_equal(db_schema_current(st->db, errbuf, sizeof(errbuf)),
	    0);
}

static void
test_durability(void **state)
{
	struct state	*st = *state;

	assert_int_equal(db_check_durability(st->db, errbuf, sizeof(errbuf)),
	    0);
}

static void
test_begin_unknown(void **state)
{
	struct state	*st = *state;
	struct db_prior	 prior;
	struct issued	 is;

	issued_init(&is, 1);
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(prior.key_mismatch, 0);
	assert_null(prior.cert_der);
	db_rollback(st->db);
	db_prior_clear(&prior);

	/* Nothing to commit: not a success. */
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), -1);
	assert_int_equal(db_enroll_begin(st->db, "", is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), -1);
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
	    sizeof(errbuf)), 0);
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
	    sizeof(errbuf)), 0);
	assert_string_equal(row.serial, want);
	db_cert_row_clear(&row);
	assert_int_equal(db_cert_get(st->db, "12345", &row, errbuf,
	    sizeof(errbuf)), 1);
	assert_int_equal(db_cert_get(st->db, "not-hex", &row, errbuf,
	    sizeof(errbuf)), -1);

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
	assert_int_equal(db_cert_list(st->db, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(la.n, admin_num(st,
	    "SELECT count(*) FROM scepd.certificates", NULL));
	assert_string_equal(la.first, want);
	assert_true(la.ordered);

	memset(&la, 0, sizeof(la));
	assert_int_equal(db_cert_list(st->db, 1, list_cb, &la, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(la.n, 1);
	memset(&la, 0, sizeof(la));
	la.stop_after = 1;
	assert_int_equal(db_cert_list(st->db, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(la.n, 1);
	/* The walk left the connection usable. */
	assert_int_equal(db_cert_get(st->db, want, &row, errbuf,
	    sizeof(errbuf)), 0);
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
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.key_mismatch, 0);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_string_equal(prior.serial, want);
	assert_non_null(prior.cert_der);
	assert_int_equal(prior.cert_der_len, sizeof(is.der));
	assert_memory_equal(prior.cert_der, is.der, sizeof(is.der));
	/* A SUCCESS is never overwritten. */
	assert_int_equal(record(st->db, &is, DB_TX_FAILURE, 2, NULL), -1);
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
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.key_mismatch, 1);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_null(prior.cert_der);
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
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
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
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(record(st->db, &is, DB_TX_FAILURE, 2, NULL), 0);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_FAILURE);
	assert_int_equal(prior.fail_info, 2);
	db_rollback(st->db);

	issued_init(&pend, 5);
	assert_int_equal(db_enroll_begin(st->db, pend.txid, pend.key,
	    pend.req, &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(record(st->db, &pend, DB_TX_PENDING, -1, NULL), 0);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_enroll_begin(st->db, pend.txid, pend.key,
	    pend.req, &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_PENDING);
	assert_int_equal(insert_cert(st->db, &pend, NULL), 0);
	assert_int_equal(record(st->db, &pend, DB_TX_SUCCESS, -1,
	    pend.serial), 0);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(db_enroll_begin(st->db, pend.txid, pend.key,
	    pend.req, &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	assert_non_null(prior.cert_der);
	db_rollback(st->db);
	db_prior_clear(&prior);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", pend.txid), 1);
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
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	/* Another spelling of the taken serial collides too. */
	norm(taken.serial, other);
	assert_int_equal(insert_cert(st->db, &is, other), 1);
	assert_int_equal(insert_cert(st->db, &is, taken.serial), 1);
	/* Still usable: draw a new serial. */
	assert_int_equal(insert_cert(st->db, &is, NULL), 0);
	assert_int_equal(record(st->db, &is, DB_TX_SUCCESS, -1, is.serial),
	    0);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), 0);
	db_prior_clear(&prior);

	assert_int_equal(db_cert_get(st->db, is.serial, &row, errbuf,
	    sizeof(errbuf)), 0);
	assert_string_equal(row.transaction_id, is.txid);
	db_cert_row_clear(&row);
	/* The taken one is untouched. */
	assert_int_equal(db_cert_get(st->db, taken.serial, &row, errbuf,
	    sizeof(errbuf)), 0);
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
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(insert_cert(st->db, &is, NULL), 0);
	assert_int_equal(record(st->db, &is, DB_TX_SUCCESS, -1, is.serial),
	    0);
	assert_int_equal(db_audit(st->db, "scep:127.0.0.1", "issue",
	    is.serial, NULL, errbuf, sizeof(errbuf)), 0);
	db_rollback(st->db);
	db_rollback(st->db);	/* harmless */

	assert_int_equal(db_cert_get(st->db, is.serial, &row, errbuf,
	    sizeof(errbuf)), 1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM scepd.audit",
	    NULL), audits);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", is.txid), 0);
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_NONE);
	db_rollback(st->db);
}

/* A failed statement: the COMMIT that follows is not a success. */
static void
test_commit_refused(void **state)
{
	struct state		*st = *state;
	struct db_prior		 prior;
	struct issued		 is;

	issued_init(&is, 8);
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	/* SUCCESS pointing at no certificate: foreign key violation. */
	assert_int_equal(record(st->db, &is, DB_TX_SUCCESS, -1, "ABCDEF"),
	    -1);
	assert_non_null(strstr(errbuf, "23503"));
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), -1);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.transactions WHERE transaction_id = $1", is.txid), 0);
	/* Bad input is refused before SQL. */
	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(insert_cert(st->db, &is, "xyz"), -1);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), -1);
	/* Nothing open: db_cert_insert refuses too. */
	assert_int_equal(insert_cert(st->db, &is, NULL), -1);
	assert_int_equal(db_audit(st->db, "a", "b", NULL, NULL, errbuf,
	    sizeof(errbuf)), -1);
}

struct begin_arg {
	struct db		*db;
	const struct issued	*is;
	struct db_prior		 prior;
	int			 rc;
};

static void *
begin_thread(void *p)
{
	struct begin_arg	*a = p;
	char			 err[256];

	a->rc = db_enroll_begin(a->db, a->is->txid, a->is->key, a->is->req,
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

	assert_int_equal(db_enroll_begin(st->db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
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
	assert_int_equal(insert_cert(st->db, &is, NULL), 0);
	assert_int_equal(record(st->db, &is, DB_TX_SUCCESS, -1, is.serial),
	    0);
	assert_int_equal(db_commit(st->db, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_int_equal(b.rc, 0);
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
	    sizeof(errbuf)), 0);
	db_cert_row_clear(&row);

	kill_victim(st);
	assert_int_equal(db_enroll_begin(db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_SUCCESS);
	db_rollback(db);
	db_prior_clear(&prior);

	kill_victim(st);
	memset(&la, 0, sizeof(la));
	assert_int_equal(db_cert_list(db, 0, list_cb, &la, errbuf,
	    sizeof(errbuf)), 0);
	assert_true(la.n > 0);

	kill_victim(st);
	assert_int_equal(db_schema_current(db, errbuf, sizeof(errbuf)), 0);

	/* search_path is empty again on the new session. */
	kill_victim(st);
	assert_int_equal(db_migrate(db, NULL, errbuf, sizeof(errbuf)), 0);
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

	assert_int_equal(db_enroll_begin(db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(insert_cert(db, &is, NULL), 0);
	kill_victim(st);
	assert_int_equal(record(db, &is, DB_TX_SUCCESS, -1, is.serial), -1);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), -1);
	db_rollback(db);

	/* Killed between the last statement and COMMIT: in doubt. */
	assert_int_equal(db_enroll_begin(db, is.txid, is.key, is.req,
	    &prior, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(prior.state, DB_TX_NONE);
	assert_int_equal(insert_cert(db, &is, NULL), 0);
	assert_int_equal(record(db, &is, DB_TX_SUCCESS, -1, is.serial), 0);
	kill_victim(st);
	assert_int_equal(db_commit(db, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "commit in doubt"));

	/* Recovered: the retry finds nothing and can issue. */
	issue(db, &is);
	assert_int_equal(admin_num(st, "SELECT count(*) FROM "
	    "scepd.certificates WHERE transaction_id = $1", is.txid), 1);
	db_close(db);
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
		cmocka_unit_test(test_other_request),
		cmocka_unit_test(test_failure_pending),
		cmocka_unit_test(test_serial_collision),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_commit_refused),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_reset_idle),
		cmocka_unit_test(test_reset_in_tx),
	};

	return cmocka_run_group_tests_name("db", tests, group_setup,
	    group_teardown);
}
