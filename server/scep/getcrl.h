/* SCEP GetCRL (getcrl.c). */
#ifndef SCEPD_SCEP_GETCRL_H
#define SCEPD_SCEP_GETCRL_H

#include "server/scep/core.h"

void	getcrl_answer(struct scep_ctx *, struct reply *);

#endif /* SCEPD_SCEP_GETCRL_H */
