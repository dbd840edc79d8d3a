/* Renewal signers (renew.c). */
#ifndef SCEPD_SCEP_RENEW_H
#define SCEPD_SCEP_RENEW_H

#include <stddef.h>

#include "policy/policy.h"
#include "server/scep/core.h"

/*
 * The certificate we issued that signed a renewal, looked up in the open
 * transaction: 0 (signer filled, known or not, and the renewed serial
 * into serial) or -1 with err on a database error.  It never ends the
 * transaction.
 */
int	renew_signer(struct scep_ctx *, struct policy_signer *, char *serial,
	    size_t seriallen, char *err, size_t errlen);

#endif /* SCEPD_SCEP_RENEW_H */
