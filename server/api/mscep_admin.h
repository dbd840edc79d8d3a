/* The NDES-style mscep_admin page (mscep_admin.c). */
#ifndef SCEPD_API_MSCEP_ADMIN_H
#define SCEPD_API_MSCEP_ADMIN_H

#include "server/scepd.h"

/*
 * GET /certsrv/mscep_admin/ and <base>[/<profile>]/mscep_admin/:
 * returns 1 if path is one of them (r filled), else 0.
 */
int	mscep_handle(struct worker *, const struct request *, struct reply *);

#endif /* SCEPD_API_MSCEP_ADMIN_H */
