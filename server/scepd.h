/*
 * Shared by the files of server/: the process-wide state (read-only once
 * the workers run), one worker thread's state, the HTTP request every
 * handler reads and the answer it fills.  One SCEP request's state is
 * server/scep/core.h's.
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
	struct offload		*offload;	/* the pki_threads pool */
	struct crl_cache	*crls;		/* every CA key's last CRL */
	struct challenge_limit	*challenge_limit; /* failures per address */
	struct delivery		*delivery;	/* delivery marks */
};

/*
 * A thread's context: an event loop's (base and http set, db NULL) or a
 * pool thread's and the background threads' (db set, no loop).
 */
struct worker {
	struct server		*srv;
	int			 id;
	pthread_t		 thread;
	struct event_base	*base;
	struct evhttp		*http;
	struct db		*db;		/* this thread's connection */
	struct db		*reserve_db;	/* serial reservations, opened on
						   first use (scep/core.c) */
	struct conncap		*conncap;	/* its connections */
};

/*
 * One HTTP request, copied off evhttp (server/http/request.c) so that a
 * pool thread may read it while the loop goes on.
 */
struct request {
	enum evhttp_cmd_type	 method;
	char			*uri;		/* as sent, for log lines */
	char			*path;		/* raw, NULL if none */
	char			*query;		/* raw, NULL if none */
	char			*authorization;	/* header, NULL if none */
	char			*if_none_match;	/* header, NULL if none */
	unsigned char		*body;
	size_t			 body_len;
	char			 peer[80];	/* "address:port" */
	char			 addr[64];	/* "address": log_repeat's key */
};

#define REPLY_HEADERS	6
struct reply_header {
	const char	*name;
	char		 value[64];
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
	struct reply_header hdr[REPLY_HEADERS]; /* further headers */
	int		 nhdr;
	int		 to_pool;	/* route it again on a pool thread */
	char		 delivers[41];	/* serial of the issued certificate a
					   SUCCESS carries, else "" */
};

/* reply.c: short text answers for bad input (400, 404, ...) and our faults. */
void	reply_text(struct reply *, int status, const char *text);
/* Add a header (name a literal) to the answer; value is cut to fit. */
void	reply_header(struct reply *, const char *name, const char *value);
/* Free what the answer owns. */
void	reply_clear(struct reply *);

/*
 * What needs the database or the network is answered on a pool thread
 * (server/http/offload.c), never on an event loop, whose context has no
 * connection.  A handler calls this before it touches anything: on a
 * loop it marks r and returns 1 (return at once, the request is routed
 * again on the pool), elsewhere 0.
 */
static inline int
reply_to_pool(const struct worker *w, struct reply *r)
{
	if (w->db != NULL)
		return 0;
	r->to_pool = 1;
	return 1;
}
/* Send r as the answer to req (on req's loop) and free r's body. */
struct evhttp_request;
void	reply_send(struct evhttp_request *, struct reply *);

#endif /* SCEPD_SCEPD_H */
