/*
 * The JSON admin API (/api/v1/...) and the NDES-style mscep_admin page.
 * (Placeholder until the dynamic-challenge work lands: no routes.)
 */
#include "server/scepd.h"

int
api_handle(struct worker *w, struct evhttp_request *req, const char *path,
    const char *peer, struct reply *r)
{
	(void)w;
	(void)req;
	(void)path;
	(void)peer;
	(void)r;
	return 0;
}
