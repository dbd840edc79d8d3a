/* What the API's handlers share (api_common.c). */
#ifndef SCEPD_API_COMMON_H
#define SCEPD_API_COMMON_H

#include <stddef.h>

#include <jansson.h>

#include "server/scepd.h"

/* Set *r to obj as JSON (obj is consumed); 500 if that fails. */
void	api_json_reply(struct reply *, int status, json_t *obj);
/* {"error": msg} with status. */
void	api_json_error(struct reply *, int status, const char *msg);
/*
 * The name of the live API token tok (as sent): 0 and name filled, 1 if
 * tok is no live token, -1 if the database cannot tell.
 */
int	api_token_auth(struct worker *, const char *tok, char *name,
	    size_t namelen, char *err, size_t errlen);

#endif /* SCEPD_API_COMMON_H */
