/* The HTTP front end (http.c): routes every request to its handler. */
#ifndef SCEPD_HTTP_HTTP_H
#define SCEPD_HTTP_HTTP_H

#include "server/scepd.h"

/* Attach a worker's evhttp to the shared listening socket. */
int	http_worker_init(struct worker *);
void	http_worker_free(struct worker *);

/*
 * Fit nworkers' connection caps under the descriptor limit: raise the
 * soft limit as far as needed and allowed, else lower
 * limits.max_connections (a warning says so).  -1 if even one connection
 * per worker would not fit.
 */
int	http_fit_descriptors(struct conf *, int nworkers);

#endif /* SCEPD_HTTP_HTTP_H */
