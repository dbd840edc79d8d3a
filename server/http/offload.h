/*
 * What needs the database or a validator, answered on a pool of threads
 * (offload.c), so that the event loops never wait for either.
 */
#ifndef SCEPD_HTTP_OFFLOAD_H
#define SCEPD_HTTP_OFFLOAD_H

#include <stddef.h>

struct evhttp_request;
struct offload;
struct request;
struct server;
struct worker;

/*
 * Start threads threads for srv, each with a database connection of its
 * own, and a queue of at most max_queued requests waiting for them.
 * Returns NULL with err.
 */
struct offload	*offload_start(struct server *srv, int threads,
		    int max_queued, char *err, size_t errlen);

/*
 * On worker w's loop: answer rq (owned by the pool from now on) on a
 * pool thread; the reply goes to req later, on w's loop, unless the
 * connection has closed by then.  Returns 0, or -1 (rq still the
 * caller's) when it cannot be handed over (the queue is full, logged,
 * or the pool stops): the caller answers 503.
 */
int		 offload_request(struct offload *, struct worker *w,
		    struct evhttp_request *req, struct request *rq);

/*
 * Answer what is queued or running (queued ones with 503) and wait for
 * the threads; later requests are refused (-1).  The workers' loops
 * must still run, to send those answers.  NULL is fine.
 */
void		 offload_stop(struct offload *);
/* Free a stopped pool, once the workers' loops have ended. */
void		 offload_free(struct offload *);

#endif /* SCEPD_HTTP_OFFLOAD_H */
