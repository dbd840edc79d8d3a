/*
 * Shared by the files of server/: the process-wide state (read-only once
 * the workers run), one worker thread's state, and the HTTP answer every
 * handler fills.  One SCEP request's state is server/scep/core.h's.
 */
#ifndef SCEPD_SCEPD_H
#define SCEPD_SCEPD_H

#include <pthread.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "policy/policy.h"
#include "server/conf.h"

struct server {
	struct conf		*conf;		/* profiles hold their CA */
	evutil_socket_t		 listen_fd;
	struct notifier		*notifier;	/* webhook notifications */
	struct offload		*offload;	/* the PKIOperation threads */
};

struct worker {
	struct server		*srv;
	int			 id;
	pthread_t		 thread;
	struct event_base	*base;
	struct evhttp		*http;
	struct db		*db;		/* this thread's connection */
	struct conncap		*conncap;	/* its connections */
};

/* An HTTP answer, filled by the operation handlers. */
struct reply {
	int		 status;	/* 200, 400, ... */
	const char	*content_type;
	unsigned char	*body;		/* owned when free_body is set */
	size_t		 len;
	int		 free_body;	/* 1: OPENSSL_free, 2: free */
	const char	*www_authenticate; /* for 401 */
	const char	*allow;		/* for 405; default "GET, POST" */
	int		 close;		/* close the connection after it */
	int		 deferred;	/* sent later (server/http/offload.c) */
};

/* reply.c: short text answers for bad input (400, 404, ...) and our faults. */
void	reply_text(struct reply *, int status, const char *text);
/* Send r as the answer to req (on req's loop) and free r's body. */
struct evhttp_request;
void	reply_send(struct evhttp_request *, struct reply *);

#endif /* SCEPD_SCEPD_H */
