/*
 * Intune-driven revocation (intune_revocation.c, docs/mdm.md "Intune"):
 * a device wiped or retired in Intune has its certificates revoked here,
 * and so in the CRL and by OCSP.
 */
#ifndef SCEPD_REVOCATION_INTUNE_REVOCATION_H
#define SCEPD_REVOCATION_INTUNE_REVOCATION_H

#include <stddef.h>

struct server;

/*
 * Start the worker for srv's Intune profiles with a revocation_interval,
 * on a thread with a database connection of its own; the first round
 * runs at once.  0 (also when no profile needs it), or -1 with err.
 */
int	intune_revocation_start(struct server *srv, char *err, size_t errlen);
/* Let the round in progress finish, stop the thread (if started). */
void	intune_revocation_stop(void);

#endif /* SCEPD_REVOCATION_INTUNE_REVOCATION_H */
