/*
 * Certificate templates: what a profile puts into a certificate.
 * (Minimal version: CSR subject and SANs, profile validity, key usage and
 * EKU; the full template engine replaces it.)
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"

int
policy_plan(const struct policy_profile *p, X509_REQ *csr,
    const struct policy_binding *b, time_t now, struct policy_plan *plan,
    char *reason, size_t reasonlen)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	ASN1_OBJECT			*obj;
	const struct policy_template	*t = &p->tmpl;
	int				 rc = -1;

	(void)reason;
	(void)reasonlen;
	memset(plan, 0, sizeof(*plan));
	if ((plan->subject = X509_NAME_dup(X509_REQ_get_subject_name(csr))) == NULL)
		goto out;
	if ((exts = X509_REQ_get_extensions(csr)) != NULL)
		plan->san = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	plan->not_before = now - t->backdate_seconds;
	plan->not_after = now + (time_t)t->validity_days * 86400;
	plan->key_usage = t->key_usage;
	if ((plan->eku = sk_ASN1_OBJECT_new_null()) == NULL ||
	    (obj = OBJ_nid2obj(NID_client_auth)) == NULL ||
	    !sk_ASN1_OBJECT_push(plan->eku, OBJ_dup(obj)))
		goto out;
	plan->crl_url = t->crl_url;
	plan->ocsp_url = t->ocsp_url;
	plan->ca_issuers_url = t->ca_issuers_url;
	if (b != NULL && b->device_id != NULL &&
	    (plan->device_id = strdup(b->device_id)) == NULL)
		goto out;
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc == -1)
		policy_plan_clear(plan);
	return rc;
}
