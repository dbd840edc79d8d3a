/* CRLs over HTTP and the OCSP responder (responder.c). */
#ifndef SCEPD_REVOCATION_RESPONDER_H
#define SCEPD_REVOCATION_RESPONDER_H

#include "server/scepd.h"

/*
 * <base>/crl/<profile>.crl and /ocsp: returns 1 if path is one of them,
 * r filled, else 0.
 */
int	revocation_http(struct worker *, const struct request *, struct reply *);

#endif /* SCEPD_REVOCATION_RESPONDER_H */
