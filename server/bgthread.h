/*
 * A background thread that runs one job in rounds, apart from the
 * workers' event loops, so that slow work (the sweep, the CRL refresh,
 * webhook notifications) never holds up a request (bgthread.c).
 */
#ifndef SCEPD_BGTHREAD_H
#define SCEPD_BGTHREAD_H

#include <stddef.h>

struct bgthread;

/*
 * Start a thread that calls round(arg) until stopped; each round returns
 * how many milliseconds to wait before the next (0: at once).  Returns
 * NULL with err.
 */
struct bgthread	*bgthread_start(long (*round)(void *), void *arg, char *err,
		    size_t errlen);
/* Cut the current wait short: the next round runs now. */
void		 bgthread_wake(struct bgthread *);
/* Let the round in progress finish, end the thread, free it (NULL: none). */
void		 bgthread_stop(struct bgthread *);

#endif /* SCEPD_BGTHREAD_H */
