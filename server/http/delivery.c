/*
 * Delivery marks (db/schema/009_delivered.sql).  scepd commits a
 * certificate before it answers; evhttp calls a request's on-complete
 * callback (libevent 2.1) once the whole reply has been written to the
 * socket, and frees the request without calling it when the connection
 * fails or closes first.  The callback runs on a worker's loop, which
 * never waits on the database: it queues the serial, and a thread of
 * its own with its own connection records what has queued up in one
 * UPDATE.
 *
 * A mark lost (the process dies between the write and the UPDATE, or
 * the database refuses it) errs on the safe side: the certificate shows
 * as undelivered although the client has it, and a retransmission or the
 * undelivered sweep settles it.  "Written to the socket" is all a server
 * knows: a client that dies before reading what the kernel accepted
 * looks delivered.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "db/db.h"
#include "server/bgthread.h"
#include "server/http/delivery.h"
#include "server/http/conncap.h"
#include "server/log.h"
#include "server/scepd.h"

#define BATCH		256	/* serials in one UPDATE */
#define QUEUE_MAX	65536	/* beyond: dropped, they show undelivered */
#define IDLE_MS		1000	/* between rounds with nothing queued */
#define RETRY_MS	5000	/* after a failed UPDATE */

struct delivery {
	struct db	*db;		/* the thread's */
	struct bgthread	*thread;
	pthread_mutex_t	 mu;
	char		(*queue)[41];	/* serials waiting for their UPDATE */
	int		 n, cap;
};

/* One reply being written, on its worker's loop. */
struct watch {
	struct delivery			*d;
	struct conncap			*cc;
	struct evhttp_connection	*conn;
	char				 serial[41];
};

static void
push(struct delivery *d, const char *serial)
{
	char	(*q)[41];
	int	 cap, dropped = 0;

	pthread_mutex_lock(&d->mu);
	if (d->n == d->cap) {
		cap = d->cap ? d->cap * 2 : 64;
		if (cap > QUEUE_MAX ||
		    (q = realloc(d->queue, (size_t)cap * sizeof(*q))) == NULL)
			dropped = 1;
		else {
			d->queue = q;
			d->cap = cap;
		}
	}
	if (!dropped)
		snprintf(d->queue[d->n++], sizeof(d->queue[0]), "%s", serial);
	pthread_mutex_unlock(&d->mu);
	if (dropped)
		log_warnx("delivery of %s not recorded: queue full", serial);
	else
		bgthread_wake(d->thread);
}

/*
 * Record up to BATCH queued marks.  They leave the queue only once
 * recorded, so a failed UPDATE is tried again.  Returns how many are
 * left, or -1 after an error.
 */
static int
flush(struct delivery *d)
{
	const char	*serials[BATCH];
	char		 batch[BATCH][41], err[256];
	int		 n, marked, left;

	pthread_mutex_lock(&d->mu);
	n = d->n < BATCH ? d->n : BATCH;
	if (n > 0)	/* the queue is NULL until the first push */
		memcpy(batch, d->queue, (size_t)n * sizeof(batch[0]));
	pthread_mutex_unlock(&d->mu);
	if (n == 0)
		return 0;
	for (int i = 0; i < n; i++)
		serials[i] = batch[i];
	if (db_cert_mark_delivered(d->db, serials, n, &marked, err,
	    sizeof(err)) == DB_ERROR) {
		log_warnx("delivery of %d certificate%s not recorded yet: %s",
		    n, n == 1 ? "" : "s", err);
		return -1;
	}
	for (int i = 0; i < n; i++)
		log_debug("certificate %s delivered", batch[i]);
	/* Pushes only append: the first n are still the ones taken. */
	pthread_mutex_lock(&d->mu);
	memmove(d->queue, d->queue + n, (size_t)(d->n - n) * sizeof(d->queue[0]));
	d->n -= n;
	left = d->n;
	pthread_mutex_unlock(&d->mu);
	return left;
}

static long
round_once(void *arg)
{
	int	left = flush(arg);

	return left < 0 ? RETRY_MS : left > 0 ? 0 : IDLE_MS;
}

struct delivery *
delivery_start(const char *database, char *err, size_t errlen)
{
	struct delivery	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	if ((d->db = db_open(database, err, errlen)) == NULL ||
	    (d->thread = bgthread_start(round_once, d, err, errlen)) == NULL) {
		db_close(d->db);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return NULL;
	}
	return d;
}

void
delivery_stop(struct delivery *d)
{
	int	left;

	if (d == NULL)
		return;
	bgthread_stop(d->thread);
	/* What the last replies queued; given up on the first error. */
	while ((left = flush(d)) > 0)
		;
	if (left < 0 || d->n > 0)
		log_warnx("%d certificate%s will show as undelivered", d->n,
		    d->n == 1 ? "" : "s");
	db_close(d->db);
	pthread_mutex_destroy(&d->mu);
	free(d->queue);
	free(d);
}

/* evhttp wrote the whole reply out: the certificate is delivered. */
static void
watch_complete(struct evhttp_request *req, void *arg)
{
	struct watch	*wt = arg;

	(void)req;
	conncap_release(wt->cc, wt->conn);
	push(wt->d, wt->serial);
	free(wt);
}

/* The connection failed or closed before the reply was out. */
static void
watch_gone(void *arg)
{
	struct watch	*wt = arg;

	log_info("certificate %s: the connection closed before its CertRep "
	    "was written out: not delivered", wt->serial);
	free(wt);
}

void
delivery_watch(struct delivery *d, struct worker *w,
    struct evhttp_request *req, const char *serial)
{
	struct watch	*wt;

	if (d == NULL)
		return;
	if ((wt = calloc(1, sizeof(*wt))) == NULL) {
		log_warnx("certificate %s: out of memory: it will show as "
		    "undelivered", serial);
		return;
	}
	wt->d = d;
	wt->cc = w->conncap;
	wt->conn = evhttp_request_get_connection(req);
	snprintf(wt->serial, sizeof(wt->serial), "%s", serial);
	/*
	 * Exactly one of the two runs: the close callback frees what the
	 * completion would have, and evhttp frees the request without
	 * calling the completion when the connection fails.
	 */
	if (conncap_hold(wt->cc, wt->conn, watch_gone, wt) == -1) {
		log_warnx("certificate %s: connection not tracked: it will "
		    "show as undelivered", serial);
		free(wt);
		return;
	}
	evhttp_request_set_on_complete_cb(req, watch_complete, wt);
}
