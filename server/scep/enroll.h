/* PKCSReq and RenewalReq (enroll.c). */
#ifndef SCEPD_SCEP_ENROLL_H
#define SCEPD_SCEP_ENROLL_H

#include "server/scep/core.h"

/*
 * Decide, record and answer one PKCSReq or RenewalReq in a database
 * transaction it begins and ends itself.
 */
void	enroll_request(struct scep_ctx *, struct reply *);

#endif /* SCEPD_SCEP_ENROLL_H */
