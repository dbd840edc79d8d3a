/*
 * The sweep: every SWEEP_SECONDS, on worker 0's event loop and database
 * connection, revoke superseded certificates whose grace has passed
 * (renewal.supersede_grace_days).  Any number of scepd processes may
 * share the database: a transaction-scoped advisory lock, tried and
 * never waited for, lets one of them run a round.  A round revokes at
 * most SWEEP_BATCH certificates under short lock and statement timeouts,
 * so the requests worker 0 serves between rounds wait little; a full
 * batch schedules the next round at once.
 */
#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "server/log.h"
#include "server/revocation/crl.h"
#include "server/scepd.h"
#include "server/sweep.h"

#define SWEEP_SECONDS	10
#define SWEEP_BATCH	200

/* One timer per process, on worker 0's base (touched by that thread only). */
static struct event	*sweep_ev;

static void
schedule(long seconds, long usec)
{
	struct timeval	tv = { seconds, usec };

	if (event_add(sweep_ev, &tv) == -1)
		log_warnx("sweep: cannot schedule the next round");
}

/*
 * Every sweep_interval: revoke certificates never bound within their
 * profile's unused_days (one process at a time, db_sweep_unused's lock),
 * and keep each CA's CRL fresh even when nobody fetches it.
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
		    "scepd:sweep", &ran, &revoked, err, sizeof(err)) == -1)
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
	revocation_periodic(w);
}

static void
sweep_round(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	char		 err[256];
	int		 revoked = 0, busy = 0;

	(void)fd;
	(void)what;
	housekeeping(w);
	if (db_renewal_sweep(w->db, SWEEP_BATCH, &revoked, &busy, err,
	    sizeof(err)) == -1) {
		log_warnx("sweep: superseded certificates: %s", err);
		schedule(SWEEP_SECONDS, 0);
		return;
	}
	if (revoked > 0)
		log_info("sweep: revoked %d superseded certificate%s (grace "
		    "over, reason superseded)", revoked, revoked == 1 ? "" : "s");
	if (revoked == SWEEP_BATCH)
		schedule(0, 100000);
	else
		schedule(SWEEP_SECONDS, 0);
}

int
sweep_start(struct worker *w)
{
	if (sweep_ev != NULL)
		return -1;
	if ((sweep_ev = evtimer_new(w->base, sweep_round, w)) == NULL)
		return -1;
	schedule(1, 0);
	return 0;
}

void
sweep_stop(struct worker *w)
{
	(void)w;
	if (sweep_ev == NULL)
		return;
	event_free(sweep_ev);
	sweep_ev = NULL;
}
