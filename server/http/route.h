/* Which handler answers a request (route.c). */
#ifndef SCEPD_HTTP_ROUTE_H
#define SCEPD_HTTP_ROUTE_H

#include "server/scepd.h"

/*
 * Answer rq into r: on an event loop (w without a database) what is in
 * memory, else r->to_pool set and nothing else; on a pool thread
 * everything.
 */
void	route(struct worker *w, const struct request *rq, struct reply *r);

#endif /* SCEPD_HTTP_ROUTE_H */
