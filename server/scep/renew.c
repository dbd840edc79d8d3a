/*
 * Renewal (RFC 8894 2.5): a RenewalReq, or a PKCSReq signed by a
 * certificate this CA issued (sscep -O, certmonger), is authenticated by
 * that certificate.  pkcs7/ has checked that our CA signed it; here it
 * must also be in our records, byte for byte (a certificate merely
 * carrying one of our serials is not ours), and
 * policy/ judges status, validity and the renewal window from what we
 * fill in.  Once renewed it is superseded (scep_issue() in core.c), and
 * revoked after the profile's grace (server/sweep.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/core.h"
#include "server/scep/renew.h"

/* 1 if der is exactly crt's encoding. */
static int
same_der(X509 *crt, const unsigned char *der, size_t der_len)
{
	unsigned char	*buf = NULL;	/* owned */
	int		 n, eq;

	if ((n = i2d_X509(crt, &buf)) <= 0)
		return 0;
	eq = (size_t)n == der_len && CRYPTO_memcmp(buf, der, der_len) == 0;
	OPENSSL_free(buf);
	return eq;
}

int
renew_signer(struct scep_ctx *c, struct policy_signer *s, char *serial,
    size_t seriallen, char *err, size_t errlen)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	X509			*signer = p7_req_get0_signer(c->req);
	struct db_signer	 ds;
	char			 hex[64];
	enum db_rc		 t;
	int			 rc = -1;

	memset(s, 0, sizeof(*s));
	memset(&ds, 0, sizeof(ds));
	if (seriallen > 0)
		serial[0] = '\0';
	/* Self-signed or another CA's: not known; policy/ refuses it. */
	if (signer == NULL || !p7_req_signer_issued(c->req)) {
		log_debug("%s %s %s: renewal signer is not a certificate of "
		    "this CA", c->peer, scep_msg_name(c), tid);
		rc = 0;
		goto out;
	}
	if (scep_serial_hex(signer, hex, sizeof(hex)) == -1) {
		log_info("%s %s %s: renewal signer has an unusable serial",
		    c->peer, scep_msg_name(c), tid);
		rc = 0;
		goto out;
	}
	if ((t = db_renewal_signer(c->w->db, hex, &ds, err, errlen)) ==
	    DB_ERROR)
		goto out;
	if (t == DB_NOT_FOUND || !same_der(signer, ds.der, ds.der_len)) {
		log_info("%s %s %s: renewal signer serial %s is not in our "
		    "records%s", c->peer, scep_msg_name(c), tid, hex,
		    t == DB_NOT_FOUND ? "" :
		    " (a different certificate has it)");
		rc = 0;
		goto out;
	}
	/*
	 * Renewed under the rules it was issued under: another profile's
	 * template (other EKUs, subjects) is not reached by renewing.
	 */
	if (ds.profile != NULL &&
	    strcmp(ds.profile, c->prof->policy.name) != 0) {
		log_info("%s %s %s: renewal signer %s was issued on profile "
		    "%s, not %s", c->peer, scep_msg_name(c), tid, hex,
		    ds.profile, c->prof->policy.name);
		rc = 0;
		goto out;
	}
	s->known = 1;
	s->not_before = ds.not_before;
	s->not_after = ds.not_after;
	s->status_valid = strcmp(ds.status, "valid") == 0;
	/*
	 * One renewal per certificate: a renewed certificate in its grace
	 * is still valid for relying parties, not for another renewal.  A
	 * device that is no longer active renews nothing (H-56).
	 */
	if (s->status_valid && ds.superseded_by != NULL) {
		log_info("%s %s %s: renewal signer %s was already renewed "
		    "(superseded by %s)", c->peer, scep_msg_name(c), tid,
		    hex, ds.superseded_by);
		s->status_valid = 0;
	}
	if (s->status_valid && ds.device_state != NULL &&
	    strcmp(ds.device_state, "active") != 0) {
		log_info("%s %s %s: renewal signer %s belongs to device %s, "
		    "which is %s", c->peer, scep_msg_name(c), tid, hex,
		    ds.device_id, ds.device_state);
		s->status_valid = 0;
	}
	if (ds.device_id != NULL && (s->device_id = strdup(ds.device_id)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((s->subject = X509_NAME_dup(X509_get_subject_name(signer))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((size_t)snprintf(serial, seriallen, "%s", hex) >= seriallen) {
		snprintf(err, errlen, "serial buffer too small");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		/* The caller frees these only on success. */
		free((char *)(uintptr_t)s->device_id);
		X509_NAME_free(s->subject);
		memset(s, 0, sizeof(*s));
	}
	db_signer_clear(&ds);
	return rc;
}

