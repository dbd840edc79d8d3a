/*
 * server/sweep.c: periodic housekeeping on worker 0's event loop, run by
 * one scepd process at a time (a PostgreSQL advisory lock): revoking
 * superseded certificates whose grace has passed.
 */
#ifndef SCEPD_SWEEP_H
#define SCEPD_SWEEP_H

struct worker;

/*
 * Add the sweep timer to w's event base (before its thread runs); the
 * first round runs a second after start.  Returns 0 or -1.
 */
int	sweep_start(struct worker *w);
/* Remove and free the timer, after w's loop has ended. */
void	sweep_stop(struct worker *w);

#endif /* SCEPD_SWEEP_H */
