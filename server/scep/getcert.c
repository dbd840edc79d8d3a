/*
 * GetCert (RFC 8894 3.3.4, 4.5): a certificate this CA issued, sent
 * again to its holder.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/core.h"
#include "server/scep/getcert.h"

/*
 * GetCert (RFC 8894 3.3.4, 4.5): the certificate named by
 * IssuerAndSerialNumber, to its holder only: the request's signer is
 * that certificate or has its public key.  The issuer may be any of the
 * names p7_ca_is_own_name() accepts, the certificate must be signed by
 * this CA's key.  Not ours or unknown: badCertId; someone else's:
 * badRequest.
 */
void
getcert_answer(struct scep_ctx *c, struct reply *r)
{
	const char		*tid = p7_req_get0_transaction_id(c->req);
	X509_NAME		*issuer = p7_req_get0_issuer(c->req);
	const ASN1_INTEGER	*sn = p7_req_get0_serial(c->req);
	X509			*signer = p7_req_get0_signer(c->req);
	X509			*crt = NULL;	/* owned */
	BIGNUM			*bn = NULL;	/* owned */
	char			*hex = NULL;	/* owned */
	struct db_cert_row	 row;
	const unsigned char	*p;
	char			 err[256] = "";
	const char		*why = NULL;
	enum db_rc		 t;

	memset(&row, 0, sizeof(row));
	if (sn == NULL || !p7_ca_is_own_name(c->prof->ca, issuer)) {
		why = "issuer is not this CA";
		goto badcertid;
	}
	/* RFC 5280 4.1.2.2: positive, at most 20 octets. */
	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL ||
	    BN_is_negative(bn) || BN_is_zero(bn) || BN_num_bytes(bn) > 20 ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		why = "not a serial number this CA issues";
		goto badcertid;
	}
	if ((t = db_cert_get(c->w->db, hex, &row, err, sizeof(err))) ==
	    DB_ERROR) {
		log_warnx("%s %s %s: database: %s -> 503", c->peer,
		    scep_msg_name(c), tid, err);
		reply_text(r, 503, "database unavailable, retry later\n");
		goto out;
	}
	p = row.der;
	/* Issued by this CA's key: never another CA's, nor the old key's. */
	if (t == DB_NOT_FOUND ||
	    (crt = d2i_X509(NULL, &p, (long)row.der_len)) == NULL ||
	    !p7_ca_issued(c->prof->ca, crt)) {
		why = "no such certificate";
		goto badcertid;
	}
	if (signer == NULL || (X509_cmp(signer, crt) != 0 &&
	    EVP_PKEY_eq(X509_get0_pubkey(signer), X509_get0_pubkey(crt)) != 1)) {
		log_info("%s %s %s: serial %s: requester does not hold it -> "
		    "FAILURE badRequest", c->peer, scep_msg_name(c), tid, hex);
		scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		goto out;
	}
	log_info("%s %s %s: serial %s (%s) -> SUCCESS", c->peer,
	    scep_msg_name(c), tid, hex, row.status);
	scep_certrep(c, P7_PKI_SUCCESS, 0, crt, r);
	goto out;
badcertid:
	log_info("%s %s %s: %s%s%s -> FAILURE badCertId", c->peer,
	    scep_msg_name(c), tid, why, hex ? ": serial " : "",
	    hex ? hex : "");
	scep_certrep(c, P7_PKI_FAILURE, P7_FAIL_BAD_CERT_ID, NULL, r);
out:
	db_cert_row_clear(&row);
	X509_free(crt);
	OPENSSL_free(hex);
	BN_free(bn);
}
