/*
 * Private to db/: the connection behind struct db, the compiled-in
 * migrations and the helpers shared by the files of db/.
 */
#ifndef SCEPD_DB_LOCAL_H
#define SCEPD_DB_LOCAL_H

#include <stddef.h>

#include "db/db.h"

/*
 * libpq's PGconn and PGresult by their struct tags: this header is also
 * compiled into build/db/schema_sql.c, which is built without libpq's
 * include path.
 */
struct pg_conn;
struct pg_result;

struct db {
	struct pg_conn	*conn;		/* owned */
	int		 async_commit;	/* db_open_async(): kept over resets */
};

/*
 * One migration, db/schema/NNN_name.sql, as embedded by
 * scripts/embed-sql.sh into build/db/schema_sql.c (sorted by name).
 */
struct db_schema_file {
	int		 version;	/* NNN */
	const char	*name;		/* "NNN_name" */
	const char	*sql;
};
extern const struct db_schema_file	db_schema_files[];
extern const int			db_schema_nfiles;

/* Type OIDs we pass (catalog/pg_type_d.h is a server header). */
#define DB_OID_INT4	23
#define DB_OID_INT8	20
#define DB_OID_BYTEA	17

#define DB_MAXPARAMS	16
#define DB_SERIAL_MAX	40	/* hex digits: 20 octets, RFC 5280 4.1.2.2 */

/* Out-of-line statement parameters for PQexecParams. */
struct db_params {
	int		 n;
	int		 overflow;
	unsigned int	 types[DB_MAXPARAMS];	/* Oid */
	const char	*values[DB_MAXPARAMS];	/* borrowed, or into buf */
	int		 lengths[DB_MAXPARAMS];
	int		 formats[DB_MAXPARAMS];	/* 0 text, 1 binary */
	char		 buf[DB_MAXPARAMS][24];	/* numbers as text */
};

void		 db_params_init(struct db_params *);
void		 db_param_text(struct db_params *, const char *);
void		 db_param_int(struct db_params *, long long);
void		 db_param_bytea(struct db_params *, const unsigned char *,
		    size_t);
/* A LIMIT's parameter: limit rows, or all (SQL NULL) when limit is 0. */
void		 db_param_limit(struct db_params *, int limit);

void		 db_seterr(char *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
int		 db_check(struct db *, struct pg_result *,
		    int /* ExecStatusType */, char *, size_t);
int		 db_ready(struct db *, char *, size_t);
struct pg_result *db_exec(struct db *, const char *,
		    const struct db_params *, int);
int		 db_begin(struct db *, int, char *, size_t);
int		 db_in_tx(struct db *, char *, size_t);

/*
 * Advisory locks use PostgreSQL's two-key form: the first key says whose
 * lock it is, the second is hashtext() of a name, so a transactionID a
 * client chooses can only ever collide with another transactionID (and
 * then one waits for the other), never with scepd's own locks.
 */
enum db_lock_space {
	DB_LOCK_MIGRATE = 1,		/* session lock of db_migrate() */
	DB_LOCK_TRANSACTION,		/* a SCEP transactionID */
	DB_LOCK_RENEWAL_SWEEP,		/* db_renewal_sweep() */
	DB_LOCK_UNUSED_SWEEP,		/* db_sweep_unused(), per profile */
	DB_LOCK_JOB,			/* db_job_lock(), session-scoped */
	DB_LOCK_UNDELIVERED_SWEEP,	/* db_sweep_undelivered() */
	DB_LOCK_RESERVATION_SWEEP,	/* db_sweep_reservations() */
};
/*
 * Inside the open transaction: take the transaction-scoped lock (space,
 * name), waiting for it, or with try only if it is free.  Returns 1 when
 * held, 0 when try found it taken, -1 with err.
 */
int		 db_xact_lock(struct db *, enum db_lock_space, const char *name,
		    int try, char *err, size_t errlen);

/*
 * One round of a sweep that one process at a time runs, the others
 * skipping it: BEGIN, try the transaction lock (space, name), run sql
 * with p, COMMIT.  Returns DB_OK with *res the committed result (the
 * caller clears it), DB_OK with *res NULL when another process holds the
 * lock, or DB_ERROR (rolled back).
 */
enum db_rc	 db_sweep_round(struct db *, enum db_lock_space,
		    const char *name, const char *sql, const struct db_params *,
		    struct pg_result **res, char *err, size_t errlen);

int		 db_serial_norm(const char *, char [DB_SERIAL_MAX + 1]);
int		 db_hex_decode(const char *, unsigned char **, size_t *);
int		 db_get_time(const char *, time_t *);
/* A transactions.state value as the enum: 0, or -1 if unknown. */
int		 db_tx_state_parse(const char *, enum db_tx_state *);
/* strdup of column c of row 0, NULL for SQL NULL; -1 on no memory. */
int		 db_dup_col(struct pg_result *, int c, char **out);

#endif /* SCEPD_DB_LOCAL_H */
