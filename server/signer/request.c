/*
 * One request to the signer, apart from its keys and its socket
 * (server/signer/signer.c has both): is it a message this program sends,
 * does its purpose fit its operation, and the key operation itself.  The
 * signer's whole reading of what reaches it, so that
 * test/fuzz/fuzz_signer.c can drive it with any bytes.
 */
#include <string.h>
#include <time.h>

#include "pkcs7/pkcs7.h"
#include "server/log.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

int
wire_req_malformed(const struct wire_req *rq, size_t n)
{
	if (n < WIRE_REQ_HEAD || n > sizeof(*rq) || rq->magic != WIRE_MAGIC ||
	    rq->len > WIRE_MAX_DATA || n != WIRE_REQ_HEAD + rq->len ||
	    rq->purpose >= P7_PURPOSE_MAX)
		return 1;
	if (rq->op == WIRE_OP_STATS)
		return rq->len != 0 || rq->purpose != P7_PURPOSE_NONE;
	return rq->op != P7_REMOTE_SIGN && rq->op != P7_REMOTE_DECRYPT;
}

int
wire_req_purpose_fits(const struct wire_req *rq)
{
	if (rq->purpose == P7_PURPOSE_NONE)
		return 0;
	return (rq->op == P7_REMOTE_DECRYPT) ==
	    (rq->purpose == P7_PURPOSE_DECRYPT);
}

int
wire_perform(EVP_PKEY *key, const struct wire_req *rq, struct wire_resp *rs)
{
	struct p7_remote_call	 c;
	struct timespec		 t0;
	int			 rc;

	memset(&c, 0, sizeof(c));
	c.op = (enum p7_remote_op)rq->op;
	c.purpose = (enum p7_purpose)rq->purpose;
	c.md_nid = rq->md_nid;
	c.in = rq->data;
	c.in_len = rq->len;
	c.out = rs->data;
	c.out_cap = sizeof(rs->data);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = p7_remote_perform(key, &c)) == 0)
		rs->len = (uint32_t)c.out_len;
	rs->usec = (uint32_t)log_us_since(&t0);
	return rc;
}
