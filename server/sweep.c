/*
 * The sweep, on a thread of its own with its own database connection
 * (server/bgthread.c), so no request waits for it: every second, bring
 * each CA key's CRL up to date with status changes made by any process
 * (into the cache the event loops answer from); every SWEEP_SECONDS,
 * revoke superseded certificates whose grace has passed
 * (renewal.supersede_grace_days); every sweep_interval, revoke
 * certificates never bound or never delivered, and abandon serial
 * reservations whose certificate was never recorded; every second, and
 * once more at stop, write what the signer did with each key
 * (server/key_use.c).  Any number of
 * scepd processes may share the database: a transaction-scoped advisory
 * lock, tried and never waited for, lets one of them run a round.  A
 * round revokes at most SWEEP_BATCH certificates under short lock and
 * statement timeouts; a full batch runs the next round at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "server/bgthread.h"
#include "server/key_use.h"
#include "server/log.h"
#include "server/revocation/crl.h"
#include "server/scepd.h"
#include "server/sweep.h"

#define CRL_CHECK_MS	1000
#define SWEEP_SECONDS	10
#define SWEEP_BATCH	200
/*
 * A reservation still 'reserved' this long after: its request ended long
 * ago (statement and lock timeouts are seconds), so scepd died between
 * the reservation and the commit.
 */
#define ABANDON_MINUTES	60

/*
 * The sweep's own context: a worker without an event loop, for the
 * functions that take one (its database connection and the server).
 */
static struct worker	 sweeper;
static struct bgthread	*sweep_thread;

/* One line per certificate the undelivered sweep revoked. */
static void
log_undelivered(const char *serial, void *arg)
{
	log_info("sweep: revoked serial %s: not delivered within %d hours of "
	    "issuance (reason cessationOfOperation)", serial,
	    (int)(intptr_t)arg);
}

/* One line per reservation the sweep abandoned, for the operator. */
static void
log_abandoned(const struct db_reservation *r, void *arg)
{
	struct tm	 tm;
	char		 at[32];

	(void)arg;
	gmtime_r(&r->reserved_at, &tm);
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%SZ", &tm);
	log_warnx("sweep: serial %s reserved %s for transaction %s (profile "
	    "%s) was never recorded: scepd stopped between the reservation "
	    "and the commit, maybe after signing; no client received it "
	    "(reservation abandoned)", r->serial, at,
	    r->transaction_id != NULL ? r->transaction_id : "?",
	    r->profile != NULL ? r->profile : "?");
}

/*
 * Every sweep_interval: revoke certificates never bound within their
 * profile's unused_days (one process at a time, db_sweep_unused's lock),
 * and those never delivered within undelivered_hours (server/http/delivery.c;
 * a round takes at most SWEEP_BATCH, the next interval the rest); abandon
 * the serial reservations left 'reserved' ABANDON_MINUTES ago
 * (server/scep/core.c).
 */
static void
housekeeping(struct worker *w)
{
	static time_t		 last;
	const struct conf	*c = w->srv->conf;
	time_t			 now = time(NULL);
	char			 err[256];
	int			 ran, revoked;

	if (last != 0 && now - last < c->sweep_interval)
		return;
	last = now;
	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile *p = &c->profiles[i];

		if (p->unused_days == 0)
			continue;
		if (db_sweep_unused(w->db, p->policy.name, p->unused_days, now,
		    "scepd:sweep", &ran, &revoked, err, sizeof(err)) ==
		    DB_ERROR)
			log_warnx("sweep: unused certificates of profile %s: %s",
			    p->policy.name, err);
		else if (revoked > 0)
			log_info("sweep: revoked %d certificate%s of profile %s "
			    "never bound within %d days", revoked,
			    revoked == 1 ? "" : "s", p->policy.name,
			    p->unused_days);
	}
	/* With -v, one line a round (test/integration/lifecycle.sh waits for it). */
	log_debug("sweep: unused certificates checked");
	if (c->undelivered_hours > 0 && db_sweep_undelivered(w->db,
	    c->undelivered_hours, now, SWEEP_BATCH, "scepd:sweep",
	    log_undelivered, (void *)(intptr_t)c->undelivered_hours, &ran,
	    &revoked, err, sizeof(err)) == DB_ERROR)
		log_warnx("sweep: undelivered certificates: %s", err);
	if (db_sweep_reservations(w->db, ABANDON_MINUTES, now, SWEEP_BATCH,
	    "scepd:sweep", log_abandoned, NULL, &ran, &revoked, err,
	    sizeof(err)) == DB_ERROR)
		log_warnx("sweep: serial reservations: %s", err);
}

static long
sweep_round(void *arg)
{
	static time_t	 next;
	struct worker	*w = arg;
	time_t		 now = time(NULL);
	char		 err[256];
	int		 revoked = 0, busy = 0;

	revocation_periodic(w);
	key_use_flush(w->srv->conf, w->db);
	if (now < next)
		return CRL_CHECK_MS;
	next = now + SWEEP_SECONDS;
	housekeeping(w);
	if (db_renewal_sweep(w->db, SWEEP_BATCH, &revoked, &busy, err,
	    sizeof(err)) == DB_ERROR) {
		log_warnx("sweep: superseded certificates: %s", err);
		return CRL_CHECK_MS;
	}
	if (revoked > 0)
		log_info("sweep: revoked %d superseded certificate%s (grace "
		    "over, reason superseded)", revoked, revoked == 1 ? "" : "s");
	if (revoked == SWEEP_BATCH) {
		next = 0;	/* more are due: the next round at once */
		return 100;
	}
	return CRL_CHECK_MS;
}

int
sweep_start(struct server *srv, char *err, size_t errlen)
{
	if (sweep_thread != NULL) {
		snprintf(err, errlen, "the sweep runs already");
		return -1;
	}
	memset(&sweeper, 0, sizeof(sweeper));
	sweeper.srv = srv;
	sweeper.id = -1;
	if ((sweeper.db = db_open(srv->conf->database, err, errlen)) == NULL)
		return -1;
	if ((sweep_thread = bgthread_start(sweep_round, &sweeper, err,
	    errlen)) == NULL) {
		db_close(sweeper.db);
		sweeper.db = NULL;
		return -1;
	}
	return 0;
}

void
sweep_stop(void)
{
	bgthread_stop(sweep_thread);
	sweep_thread = NULL;
	/* The workers have stopped: what they signed last is counted now. */
	if (sweeper.srv != NULL)
		key_use_flush(sweeper.srv->conf, sweeper.db);
	db_close(sweeper.db);
	sweeper.db = NULL;
}
