/*
 * Shared by the files of server/: the process-wide state (read-only once
 * the workers run) and one worker thread's state.
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
	struct conf		*conf;
	struct p7_ca		*ca;		/* the only copy of the keys */
	struct policy_profile	 profile;	/* the default profile */
	char			 caps[256];	/* GetCACaps body */
	evutil_socket_t		 listen_fd;
};

struct worker {
	struct server		*srv;
	int			 id;
	pthread_t		 thread;
	struct event_base	*base;
	struct evhttp		*http;
	struct db		*db;		/* this thread's connection */
	int			 connections;	/* open now */
};

/* An HTTP answer, filled by the operation handlers. */
struct reply {
	int		 status;	/* 200, 400, ... */
	const char	*content_type;
	unsigned char	*body;		/* owned when free_body is set */
	size_t		 len;
	int		 free_body;	/* 1: OPENSSL_free, 2: free */
};

/* GetCACaps tokens for what the configuration enforces (caps.c). */
void	caps_build(const struct conf *, char *buf, size_t len);

/* http.c: attach a worker's evhttp to the shared listening socket. */
int	http_worker_init(struct worker *);
void	http_worker_free(struct worker *);

/*
 * enroll.c: answer one PKIOperation body from peer.  Fills *r (a CertRep
 * with status 200, or an HTTP error) and logs one line.
 */
void	enroll_pkioperation(struct worker *, const unsigned char *der,
	    size_t len, const char *peer, struct reply *r);

#endif /* SCEPD_SCEPD_H */
