/*
 * The pool (pki_threads threads).  A worker's loop hands each request
 * that needs the database or a validator (a PKIOperation, OCSP, a CRL
 * not in the cache, the admin API, mscep_admin; server/http/route.c
 * decides) to a queue, as a struct request copied off evhttp; one of the
 * pool's threads, each with a database connection of its own, routes it
 * again and answers it, and activates an event on the worker's loop,
 * which sends the reply.  A slow validator or database then holds up a
 * pool thread, and the loops keep answering GetCACaps, GetCACert and
 * cached CRLs.  Blocking threads rather than libpq's asynchronous API:
 * each operation stays one straight function with its transaction in
 * one place, and the threads also spread the RSA work over the cores
 * (docs/design.md, "Threads").
 *
 * The queue is bounded (limits.max_queued): past it a request is
 * answered 503 with Retry-After at once, so a flood against a slow
 * database or validator costs no more memory than the queue holds.
 *
 * The evhttp_request is touched only on its loop.  If the client closes
 * the connection first, server/http/conncap.c tells the job (gone()) and
 * the answer is dropped when it comes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include <event2/event.h>
#include <event2/http.h>

#include <openssl/crypto.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "server/http/delivery.h"
#include "server/http/conncap.h"
#include "server/http/offload.h"
#include "server/http/request.h"
#include "server/http/route.h"
#include "server/log.h"
#include "server/scepd.h"

struct job {
	struct worker			*w;	/* whose loop answers */
	struct evhttp_request		*req;	/* on w's loop only */
	struct evhttp_connection	*conn;
	struct request			*rq;	/* owned */
	struct reply			 reply;
	struct event			*done;	/* on w's loop */
	int				 gone;	/* client closed (w's loop) */
	struct job			*next;
};

struct pool_thread {
	struct offload	*pool;
	struct worker	 ctx;	/* a worker without a loop: srv and db */
	pthread_t	 thread;
};

struct offload {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct job		*head, *tail;
	int			 queued, max_queued;
	int			 stopping;
	int			 nthreads;
	struct pool_thread	*threads;
};

/* On the worker's loop: the client is gone; drop the answer when it comes. */
static void
job_gone(void *arg)
{
	((struct job *)arg)->gone = 1;
}

/* On the worker's loop: send the answer, free the job. */
static void
job_done(evutil_socket_t fd, short what, void *arg)
{
	struct job	*j = arg;

	(void)fd;
	(void)what;
	if (j->gone) {
		log_info("%s %s: the client left before its answer%s%s%s",
		    j->rq->peer, j->rq->uri,
		    j->reply.delivers[0] ? " (certificate " : "",
		    j->reply.delivers,
		    j->reply.delivers[0] ? " not delivered)" : "");
		reply_clear(&j->reply);
	} else {
		conncap_release(j->w->conncap, j->conn);
		if (j->reply.delivers[0] != '\0')
			delivery_watch(j->w->srv->delivery, j->w, j->req,
			    j->reply.delivers);
		reply_send(j->req, &j->reply);
	}
	event_free(j->done);
	request_free(j->rq);
	free(j);
}

static struct job *
take(struct offload *o)
{
	struct job	*j = o->head;

	if (j == NULL)
		return NULL;
	if ((o->head = j->next) == NULL)
		o->tail = NULL;
	o->queued--;
	return j;
}

/*
 * How much nicer than the loops a pool thread runs.  When every pool
 * thread has RSA work at once, the kernel would otherwise share the core
 * evenly between them and the loop, and GetCACaps would wait tens of
 * milliseconds for its turn; at this weight the loop runs first.
 */
#define POOL_NICE	10

static void *
run(void *arg)
{
	struct pool_thread	*t = arg;
	struct offload		*o = t->pool;
	struct job		*j;
	int			 stopping;

	/* Linux: the nice value is the thread's own (setpriority(2)). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_NICE) ==
	    -1)
		log_warn("pool thread: cannot lower its priority");
	pthread_mutex_lock(&o->mu);
	for (;;) {
		while ((j = take(o)) == NULL && !o->stopping)
			pthread_cond_wait(&o->cv, &o->mu);
		if (j == NULL)
			break;
		stopping = o->stopping;
		pthread_mutex_unlock(&o->mu);
		if (stopping)
			reply_text(&j->reply, 503, "shutting down, retry later\n");
		else {
			p7_remote_clear();
			route(&t->ctx, j->rq, &j->reply);
		}
		event_active(j->done, 0, 0);
		pthread_mutex_lock(&o->mu);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

struct offload *
offload_start(struct server *srv, int threads, int max_queued, char *err,
    size_t errlen)
{
	struct offload	*o;
	int		 i;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->threads = calloc((size_t)threads, sizeof(*o->threads))) ==
	    NULL) {
		free(o);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	o->max_queued = max_queued;
	for (i = 0; i < threads; i++) {
		struct pool_thread	*t = &o->threads[i];

		t->pool = o;
		t->ctx.srv = srv;
		t->ctx.id = -1 - i;
		if ((t->ctx.db = db_open(srv->conf->database, err,
		    errlen)) == NULL)
			break;
		if (pthread_create(&t->thread, NULL, run, t) != 0) {
			snprintf(err, errlen, "cannot start a pool thread");
			db_close(t->ctx.db);
			break;
		}
		o->nthreads++;
	}
	if (o->nthreads != threads) {
		offload_stop(o);
		offload_free(o);
		return NULL;
	}
	return o;
}

int
offload_request(struct offload *o, struct worker *w,
    struct evhttp_request *req, struct request *rq)
{
	struct job	*j;
	int		 stopping;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->done = event_new(w->base, -1, 0, job_done, j)) == NULL) {
		free(j);
		log_warnx("%s %s: out of memory -> 503", rq->peer, rq->uri);
		return -1;
	}
	j->w = w;
	j->req = req;
	j->conn = evhttp_request_get_connection(req);
	j->rq = rq;
	pthread_mutex_lock(&o->mu);
	if (o->stopping || o->queued >= o->max_queued) {
		stopping = o->stopping;
		pthread_mutex_unlock(&o->mu);
		event_free(j->done);
		free(j);
		if (stopping)
			log_info("%s %s: shutting down -> 503", rq->peer,
			    rq->uri);
		else
			log_repeat(rq->addr, "%s: %d requests wait for a pool "
			    "thread already (limits.max_queued) -> 503",
			    rq->addr, o->max_queued);
		return -1;
	}
	o->queued++;
	conncap_hold(w->conncap, j->conn, job_gone, j);
	if (o->tail != NULL)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	return 0;
}

void
offload_stop(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->stopping = 1;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	for (int i = 0; i < o->nthreads; i++) {
		pthread_join(o->threads[i].thread, NULL);
		db_close(o->threads[i].ctx.db);
		db_close(o->threads[i].ctx.reserve_db);
	}
	o->nthreads = 0;
}

void
offload_free(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	free(o->threads);
	free(o);
}
