/* The JSON admin API's challenge route (api.c). */
#ifndef SCEPD_API_API_H
#define SCEPD_API_API_H

#include <stddef.h>

#include "server/scepd.h"

/*
 * The JSON admin API (/api/v1/...): minting challenges, and 404 for an
 * API path nobody serves.  Returns 1 if path is under /api/ (r filled),
 * else 0.
 */
int	api_handle(struct worker *, const struct request *, struct reply *);
#endif /* SCEPD_API_API_H */
