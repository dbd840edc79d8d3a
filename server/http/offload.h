/*
 * PKIOperations answered on a pool of threads (offload.c), so that the
 * event loops never wait for a validator or the database.
 */
#ifndef SCEPD_HTTP_OFFLOAD_H
#define SCEPD_HTTP_OFFLOAD_H

#include <stddef.h>

struct conf_profile;
struct evhttp_request;
struct offload;
struct server;
struct worker;

/*
 * Start threads threads for srv, each with a database connection of its
 * own.  Returns NULL with err.
 */
struct offload	*offload_start(struct server *srv, int threads, char *err,
		    size_t errlen);

/*
 * On worker w's loop: answer the PKIOperation der (len bytes, owned by
 * the pool from now on, freed with free()) for profile prof from peer on
 * a pool thread; the reply goes to req later, on w's loop, unless the
 * connection has closed by then.  Returns 0, or -1 (der freed) when it
 * cannot be handed over: the caller answers 503.
 */
int		 offload_pkioperation(struct offload *, struct worker *w,
		    struct conf_profile *prof, struct evhttp_request *req,
		    unsigned char *der, size_t len, const char *peer);

/*
 * Answer what is queued or running (queued ones with 503) and wait for
 * the threads; later PKIOperations are refused (-1).  The workers' loops
 * must still run, to send those answers.  NULL is fine.
 */
void		 offload_stop(struct offload *);
/* Free a stopped pool, once the workers' loops have ended. */
void		 offload_free(struct offload *);

#endif /* SCEPD_HTTP_OFFLOAD_H */
