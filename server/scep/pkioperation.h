/* The SCEP operations' entry point, for the HTTP front end (pkioperation.c). */
#ifndef SCEPD_SCEP_PKIOPERATION_H
#define SCEPD_SCEP_PKIOPERATION_H

#include <stddef.h>

#include "server/scepd.h"

/*
 * Answer one PKIOperation body for profile from peer.  Fills *r (a
 * CertRep with status 200, or an HTTP error) and logs one line.
 */
void	scep_pkioperation(struct worker *, struct conf_profile *,
	    const unsigned char *der, size_t len, const char *peer,
	    struct reply *r);

#endif /* SCEPD_SCEP_PKIOPERATION_H */
