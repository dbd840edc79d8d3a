/*
 * libFuzzer target: a PKIOperation reply (CertRep, RFC 8894 3.3.2)
 * through the test client's check_certrep() (test/sceptool.c, included
 * without its main).  The reply is checked as sceptool enroll checks it:
 * signature against the RA certificate of the run the seeds come from,
 * a SUCCESS envelope opened with that run's client key (both under
 * test/fuzz/seeds/).  Property: any reply ends in one of sceptool's exit
 * codes, without a crash, a leak or undefined behaviour; a reply with a
 * protocol violation is never taken for SUCCESS.
 */
#define SCEPTOOL_NO_MAIN
#pragma clang diagnostic ignored "-Wunused-function"
#include "test/sceptool.c"
#include "test/fuzz/quiet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct expect	ex;

static void
init(void)
{
	load_providers();
	if (init_oids() == -1 ||
	    (ex.signcert = load_cert("test/fuzz/seeds/certrep-signer.pem")) ==
	    NULL || (ex.mykey = load_key("test/fuzz/seeds/certrep.key")) ==
	    NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp	 r;
	int			 rc;

	if (ex.mykey == NULL)
		init();
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.nctype = 1;
	r.ctype = (char *)(uintptr_t)"application/x-pki-message";
	r.body.p = (unsigned char *)(uintptr_t)data;
	r.body.len = size;
	nviolations = 0;
	quiet_begin();
	rc = check_certrep(&ex, &r);
	quiet_end();
	ERR_clear_error();
	if (rc != EX_SUCCESS && rc != EX_FAILURE && rc != EX_PENDING &&
	    rc != EX_ERROR)
		abort();
	if (nviolations > 0 && rc != EX_ERROR)
		abort();
	return 0;
}
