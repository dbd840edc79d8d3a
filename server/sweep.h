/*
 * server/sweep.c: periodic housekeeping on a thread of its own, run by
 * one scepd process at a time (PostgreSQL advisory locks): superseded and
 * unused certificates, fresh CRLs.
 */
#ifndef SCEPD_SWEEP_H
#define SCEPD_SWEEP_H

#include <stddef.h>

struct server;

/*
 * Start the sweep for srv, with a database connection of its own; the
 * first round runs at once.  Returns 0, or -1 with err.
 */
int	sweep_start(struct server *srv, char *err, size_t errlen);
/* Let the round in progress finish, stop the thread. */
void	sweep_stop(void);

#endif /* SCEPD_SWEEP_H */
