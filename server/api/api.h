/* The JSON admin API and the mscep_admin page (api.c). */
#ifndef SCEPD_API_API_H
#define SCEPD_API_API_H

#include <stddef.h>

#include <event2/http.h>

#include "server/scepd.h"

/*
 * The JSON admin API (/api/v1/...) and the NDES-style mscep_admin page.
 * Returns 1 if path is one of its routes (r filled), else 0.
 */
int	api_handle(struct worker *, struct evhttp_request *, const char *path,
	    const char *peer, struct reply *r);
/*
 * The name of the live API token tok (as sent): 0 and name filled, 1 if
 * tok is no live token, -1 if the database cannot tell.
 */
int	api_token_auth(struct worker *, const char *tok, char *name,
	    size_t namelen, char *err, size_t errlen);

#endif /* SCEPD_API_API_H */
