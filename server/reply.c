/*
 * The short text answers every handler gives for bad input (400, 404,
 * ...) and for our own faults (500, 503).
 */
#include <stdint.h>
#include <string.h>

#include "server/scepd.h"

void
reply_text(struct reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain";
	r->body = (unsigned char *)(uintptr_t)text;
	r->len = strlen(text);
	r->free_body = 0;
}
