/*
 * server/http/delivery.c: mark a certificate delivered once the SUCCESS
 * CertRep carrying it has been handed to the client's connection, off
 * the event loops.
 */
#ifndef SCEPD_HTTP_DELIVERY_H
#define SCEPD_HTTP_DELIVERY_H

#include <stddef.h>

struct delivery;
struct evhttp_request;
struct worker;

/*
 * Start the thread that records the marks, with a database connection
 * of its own.  Returns NULL with err.
 */
struct delivery	*delivery_start(const char *database, char *err,
		    size_t errlen);
/*
 * On w's loop, before req's reply is sent: once evhttp has written it
 * out, mark certificate serial delivered; if the connection fails or
 * closes first, leave it undelivered.  d NULL: nothing.
 */
void		 delivery_watch(struct delivery *d, struct worker *w,
		    struct evhttp_request *req, const char *serial);
/*
 * Once the loops have ended: record the marks still queued, stop the
 * thread, free d (NULL: nothing).
 */
void		 delivery_stop(struct delivery *d);

#endif /* SCEPD_HTTP_DELIVERY_H */
