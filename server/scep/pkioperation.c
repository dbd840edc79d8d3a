/*
 * One PKIOperation body (RFC 8894 3.3): pkcs7/ decodes and authenticates
 * it, then it goes to the operation its messageType names.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "server/log.h"
#include "server/scep/core.h"
#include "server/scep/enroll.h"
#include "server/scep/getcert.h"
#include "server/scep/getcrl.h"
#include "server/scep/pending.h"
#include "server/scep/pkioperation.h"

void
scep_pkioperation(struct worker *w, struct conf_profile *prof,
    const unsigned char *der, size_t len, const char *peer, struct reply *r)
{
	struct scep_ctx		 c;
	struct p7_req		*req = NULL;	/* owned */
	enum p7_status		 st;
	enum p7_fail_info	 fi;
	const char		*colon;
	char			 err[256] = "";

	ERR_clear_error();
	memset(&c, 0, sizeof(c));
	c.w = w;
	c.prof = prof;
	c.peer = peer;
	colon = strrchr(peer, ':');
	snprintf(c.addr, sizeof(c.addr), "%.*s",
	    (int)(colon ? (size_t)(colon - peer) : strlen(peer)), peer);
	snprintf(c.actor, sizeof(c.actor), "scep:%s", c.addr);

	st = p7_req_parse(prof->ca, der, len, &prof->algs, &req, err,
	    sizeof(err));
	c.req = req;
	switch (st) {
	case P7_MALFORMED:
		log_repeat(c.addr, "%s PKIOperation: malformed pkiMessage (%s) "
		    "-> 400", c.addr, err);
		reply_text(r, 400, "malformed pkiMessage\n");
		goto out;
	case P7_UNAVAILABLE:
		log_warnx("%s PKIOperation: %s -> 503", peer, err);
		reply_text(r, 503, "signer unavailable, retry later\n");
		goto out;
	case P7_INTERNAL:
		log_openssl("parse");
		log_warnx("%s PKIOperation: %s -> 500", peer, err);
		reply_text(r, 500, "internal error\n");
		goto out;
	case P7_FAILED:
		fi = p7_req_fail_info(req);
		log_repeat(c.addr, "%s %s %s: %s -> FAILURE %s", c.addr,
		    scep_msg_name(&c), p7_req_get0_transaction_id(req), err,
		    scep_fail_names[fi]);
		scep_certrep(&c, P7_PKI_FAILURE, fi, NULL, r);
		goto out;
	case P7_OK:
		break;
	}
	p7_req_signer_key_sha256(req, c.key);
	p7_req_issued_signer_sha256(req, c.signer);
	p7_req_csr_sha256(req, c.csr);
	switch (p7_req_message_type(req)) {
	case P7_MSG_PKCSREQ:
	case P7_MSG_RENEWALREQ:
		enroll_request(&c, r);
		break;
	case P7_MSG_CERTPOLL:
		pending_certpoll(&c, r);
		break;
	case P7_MSG_GETCERT:
		getcert_answer(&c, r);
		break;
	case P7_MSG_GETCRL:
		getcrl_answer(&c, r);
		break;
	default:
		log_repeat(c.addr, "%s %s %s: not served -> FAILURE "
		    "badRequest", c.addr, scep_msg_name(&c),
		    p7_req_get0_transaction_id(req));
		scep_certrep(&c, P7_PKI_FAILURE, P7_FAIL_BAD_REQUEST, NULL, r);
		break;
	}
out:
	p7_req_free(req);
	ERR_clear_error();
}
