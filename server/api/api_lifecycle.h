/* The device, binding and certificate API (api_lifecycle.c). */
#ifndef SCEPD_API_API_LIFECYCLE_H
#define SCEPD_API_API_LIFECYCLE_H

#include "server/scepd.h"

/*
 * /api/v1/devices/, /api/v1/bindings and /api/v1/certificates/ (returns
 * 1 if path is one of them, r filled).
 */
int	api_lifecycle(struct worker *, const struct request *, struct reply *);

#endif /* SCEPD_API_API_LIFECYCLE_H */
