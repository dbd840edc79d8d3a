/* GetCert (getcert.c). */
#ifndef SCEPD_SCEP_GETCERT_H
#define SCEPD_SCEP_GETCERT_H

#include "server/scep/core.h"

/* Answer a GetCert: the certificate, to its holder only. */
void	getcert_answer(struct scep_ctx *, struct reply *);

#endif /* SCEPD_SCEP_GETCERT_H */
