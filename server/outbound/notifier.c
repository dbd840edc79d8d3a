/*
 * The notification sender.  A notification is a row of the outbox,
 * written in the transaction of the decision it tells of; this thread
 * claims due rows under a lease, POSTs each, signed, to its profile's
 * webhook and marks it sent, or counts the failure and tries again later
 * (2 s, doubling, at most an hour).  It runs beside the workers, with its
 * own database connection, so a slow or absent receiver never holds up a
 * reply, and rows left when scepd stops are sent by the next start (or by
 * another scepd on the same database, once their lease is over).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "server/bgthread.h"
#include "server/conf.h"
#include "server/log.h"
#include "server/outbound/notifier.h"
#include "server/outbound/webhook_post.h"

#define BATCH		16	/* rows claimed at a time */
#define LEASE_SECONDS	120	/* a claimed row waits this long for its end */
#define IDLE_SECONDS	5	/* look for due retries at least this often */
#define RETRY_FIRST	2	/* seconds before the first retry */
#define RETRY_MAX	3600

struct notifier {
	const struct conf	*conf;
	struct db		*db;
	struct bgthread		*thread;
};

/* The pause before attempt number attempts + 1. */
static int
retry_seconds(int attempts)
{
	long	s = RETRY_FIRST;

	while (attempts-- > 0 && s < RETRY_MAX)
		s *= 2;
	return s < RETRY_MAX ? (int)s : RETRY_MAX;
}

static const struct policy_webhook *
profile_webhook(const struct conf *c, const char *name)
{
	for (int i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].policy.name, name) == 0)
			return &c->profiles[i].policy.webhook;
	return NULL;
}

/* Deliver one claimed row and record how it went. */
static int
deliver(const struct db_outbox_row *row, void *arg)
{
	struct notifier			*n = arg;
	const struct policy_webhook	*wh;
	struct httpc_reply		 reply;
	struct timespec			 t0;
	enum httpc_result		 hr;
	char				 err[256] = "", dberr[256];
	int				 attempts = 0, wait;

	memset(&reply, 0, sizeof(reply));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	wh = profile_webhook(n->conf, row->profile);
	if (wh == NULL || wh->url == NULL || wh->secret == NULL)
		snprintf(err, sizeof(err), "profile %s has no webhook.url and "
		    "webhook.secret now", row->profile);
	else {
		hr = webhook_post(wh, "notify", row->transaction_id, row->body,
		    strlen(row->body), &reply, &attempts, err, sizeof(err));
		if (hr == HTTPC_OK && (reply.status < 200 || reply.status > 299))
			snprintf(err, sizeof(err), "HTTP %d", reply.status);
	}
	httpc_reply_clear(&reply);
	if (err[0] == '\0') {
		log_info("webhook notify %s %s -> delivered (%ld ms, delivery "
		    "%d)", row->kind, row->transaction_id, log_ms_since(&t0),
		    row->attempts + 1);
		if (db_outbox_sent(n->db, row->id, dberr, sizeof(dberr)) ==
		    DB_ERROR)
			log_warnx("webhook notify %s %s: cannot mark it sent: %s",
			    row->kind, row->transaction_id, dberr);
		return 0;
	}
	wait = retry_seconds(row->attempts);
	log_warnx("webhook notify %s %s -> not delivered: %s (%ld ms); "
	    "next attempt in %d s", row->kind, row->transaction_id, err,
	    log_ms_since(&t0), wait);
	if (db_outbox_failed(n->db, row->id, err, wait, dberr,
	    sizeof(dberr)) == DB_ERROR)
		log_warnx("webhook notify %s %s: cannot record the failure: %s",
		    row->kind, row->transaction_id, dberr);
	return 0;
}

/* One round: deliver what is due; a full batch may have more behind it. */
static long
round_once(void *arg)
{
	struct notifier	*n = arg;
	char		 err[256];
	int		 claimed;

	claimed = db_outbox_claim(n->db, BATCH, LEASE_SECONDS, deliver, n, err,
	    sizeof(err));
	if (claimed == -1)
		log_warnx("webhook notify: outbox: %s", err);
	return claimed == BATCH ? 0 : IDLE_SECONDS * 1000L;
}

struct notifier *
notifier_start(const struct conf *c, char *err, size_t errlen)
{
	struct notifier	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->conf = c;
	if ((n->db = db_open(c->database, err, errlen)) == NULL) {
		free(n);
		return NULL;
	}
	if ((n->thread = bgthread_start(round_once, n, err, errlen)) == NULL) {
		db_close(n->db);
		free(n);
		return NULL;
	}
	return n;
}

void
notifier_wake(struct notifier *n)
{
	if (n != NULL)
		bgthread_wake(n->thread);
}

void
notifier_stop(struct notifier *n)
{
	if (n == NULL)
		return;
	bgthread_stop(n->thread);
	db_close(n->db);
	free(n);
}
