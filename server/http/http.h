/* The HTTP front end (http.c): routes every request to its handler. */
#ifndef SCEPD_HTTP_HTTP_H
#define SCEPD_HTTP_HTTP_H

#include "server/scepd.h"

/* Attach a worker's evhttp to the shared listening socket. */
int	http_worker_init(struct worker *);
void	http_worker_free(struct worker *);

#endif /* SCEPD_HTTP_HTTP_H */
