/*
 * Private to policy/: the subjectAltName part of the template engine
 * (san.c), for template.c's policy_plan().
 */
#ifndef SCEPD_POLICY_SAN_H
#define SCEPD_POLICY_SAN_H

#include <stddef.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"
#include "policy/tmpl_util.h"

/*
 * The subjectAltName of the certificate: every name in the CSR's SAN
 * extension checked against the template's allow-lists (and, when the
 * binding names SANs, equal to them as a set), then the template's
 * san_add entries expanded.  *out is NULL when there are none.  *sid is
 * set (owned by the caller) to the SID of an allowed Intune SID URI, or
 * NULL.
 */
int	policy_san_plan(const struct policy_template *, X509_REQ *csr,
	    const struct tmpl_vars *, GENERAL_NAMES **out, char **sid,
	    char *reason, size_t reasonlen);

#endif /* SCEPD_POLICY_SAN_H */
