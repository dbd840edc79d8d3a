/*
 * SCEP GetCRL (RFC 8894 3.3.4, 4.6): the CRL of the CA key that issued
 * the certificate named, as server/revocation/crl.c keeps it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "server/log.h"
#include "server/revocation/crl.h"
#include "server/scep/core.h"
#include "server/scep/getcrl.h"

/*
 * The CRL a GetCRL wants (RFC 8894 4.6: that of the CA which issued the
 * named certificate): the previous key's for a certificate it signed,
 * else the current key's.
 */
static struct ca_key
getcrl_key(struct scep_ctx *c)
{
	const struct conf_profile	*p = c->prof;
	struct db_cert_standing		 s;
	const ASN1_INTEGER		*sn = p7_req_get0_serial(c->req);
	BIGNUM				*bn = NULL;	/* owned */
	char				*hex = NULL;	/* owned */
	char				 err[256];
	int				 prev = 0;

	if (p->prev_ca != NULL && sn != NULL &&
	    (bn = ASN1_INTEGER_to_BN(sn, NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL &&
	    db_cert_standing(c->w->db, hex, &s, err, sizeof(err)) == DB_OK)
		prev = strcmp(s.issuer, p->prev_issuer) == 0 &&
		    strcmp(s.ca_key, p->prev_key_id) == 0;
	OPENSSL_free(hex);
	BN_free(bn);
	return prev ? ca_key_previous(p) : ca_key_current(p);
}

void
getcrl_answer(struct scep_ctx *c, struct reply *r)
{
	const X509_NAME	*issuer = p7_req_get0_issuer(c->req);
	struct ca_key	 k;
	struct crl_der	 crl;
	unsigned char	*der = NULL;
	size_t		 len;
	char		 err[256];

	/* RFC 8894 4.6: the CRL of the CA that issued the named certificate. */
	if (!p7_ca_is_own_name(c->prof->ca, issuer) && (c->prof->prev_ca ==
	    NULL || !p7_ca_is_own_name(c->prof->prev_ca, issuer))) {
		log_info("%s GetCRL %s: issuer is not this CA -> FAILURE "
		    "badCertId", c->peer, p7_req_get0_transaction_id(c->req));
		scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID, NULL, r);
		return;
	}
	k = getcrl_key(c);
	if (crl_fresh(c->w, &k, &crl, err, sizeof(err)) == -1) {
		log_warnx("%s GetCRL %s: %s -> 503", c->peer,
		    p7_req_get0_transaction_id(c->req), err);
		reply_text(r, 503, "CRL unavailable, retry later\n");
		return;
	}
	if (p7_certrep_crl(c->prof->ca, c->req, crl.der, crl.len, &der,
	    &len) == -1) {
		free(crl.der);
		log_openssl("GetCRL");
		if (p7_remote_unavailable()) {
			log_warnx("%s GetCRL %s: the signer is unavailable -> "
			    "503", c->peer, p7_req_get0_transaction_id(c->req));
			reply_text(r, 503, "signer unavailable, retry later\n");
			return;
		}
		reply_text(r, 500, "internal error\n");
		return;
	}
	free(crl.der);
	log_info("%s GetCRL %s: CRL %lld%s -> SUCCESS", c->peer,
	    p7_req_get0_transaction_id(c->req), crl.number, k.what);
	r->status = 200;
	r->content_type = "application/x-pki-message";
	r->body = der;
	r->len = len;
	r->free_body = 1;
}
