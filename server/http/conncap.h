/*
 * Connections of one worker: limits.max_connections open connections in
 * all, limits.max_connections_per_address from one client address, each
 * counted from its accept; and limits.request_deadline for each request
 * to arrive whole.
 */
#ifndef SCEPD_CONNCAP_H
#define SCEPD_CONNCAP_H

struct bufferevent;
struct conncap;
struct event_base;
struct evhttp_connection;

struct conncap	*conncap_new(struct event_base *, int max_total,
		    int max_per_address, int deadline_s);
void		 conncap_free(struct conncap *);

/*
 * Descriptors one worker may hold for max_total connections: those, and
 * the grace slots in which a connection over a cap waits for its 503.
 */
int		 conncap_slots(int max_total);

/*
 * What runs once a second on the worker's loop (and, for the tests, on
 * call): let go of the connections evhttp freed, cut those past their
 * deadline, flush collapsed log lines.
 */
void		 conncap_tick(struct conncap *);

/* For evhttp_set_bevcb(): the bufferevent of each accepted connection. */
struct bufferevent *conncap_bufferevent(struct event_base *, void *);

/*
 * Called for every request: 1 if its connection fits under both caps,
 * 0 if it is over one (*why names the setting).  The request's deadline
 * stops until its answer has been written.
 */
int		 conncap_admit(struct conncap *, struct evhttp_connection *,
		    const char **why);

/*
 * While an answer is being worked out elsewhere or written out: call
 * gone(arg) if the connection (admitted before) closes first.
 * conncap_release() ends that.  Both on the worker's loop.  -1 if the
 * connection was not admitted (nothing will be called).
 */
int		 conncap_hold(struct conncap *, struct evhttp_connection *,
		    void (*gone)(void *), void *arg);
void		 conncap_release(struct conncap *, struct evhttp_connection *);

#endif /* SCEPD_CONNCAP_H */
