/*
 * Connection caps of one worker: limits.max_connections open connections
 * in all, limits.max_connections_per_address from one client address.
 */
#ifndef SCEPD_CONNCAP_H
#define SCEPD_CONNCAP_H

struct conncap;
struct evhttp_connection;

struct conncap	*conncap_new(int max_total, int max_per_address);
void		 conncap_free(struct conncap *);

/*
 * Called for every request: 1 if its connection is counted already or
 * fits under both caps (it is counted from now until it closes), 0 if it
 * is over one (*why says which).
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
