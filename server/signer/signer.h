/*
 * server/signer/: key custody (docs/design.md, "Processes").  scepd
 * starts as a supervisor that starts two processes and restarts the
 * signer when it dies: the signer, the only one with private keys, and
 * the worker, which does everything else and asks the signer for each
 * private-key operation over a socketpair.
 */
#ifndef SCEPD_SIGNER_H
#define SCEPD_SIGNER_H

#include <stddef.h>

#include "pkcs7/pkcs7.h"

/* scepd -S: the signer process (signer.c).  Never returns. */
void	signer_main(const char *conf_path) __attribute__((noreturn));

/*
 * Become the supervisor (supervisor.c): start the signer, wait until it
 * has loaded its keys, then fork the worker.  Returns only in the
 * worker, with the control socket over which each signer's link comes
 * (give it to signer_client_start()); the supervisor stays in its loop
 * until the worker ends, and exits with the worker's status.  signer_argv
 * is the signer's command line after the program name (-S -c FILE ...).
 */
int	supervise(char *const signer_argv[]);

/*
 * In the worker (client.c): keys are remote from now on (p7_remote_init()),
 * their operations sent to the signer whose link comes over ctl; waits
 * for the first link.  Returns 0, or -1 with err.
 */
int	signer_client_start(int ctl, char *err, size_t errlen);

/*
 * The signer's answers since the start: how many, their round trips and
 * the key operations' own time in them, in microseconds; the difference
 * is what separation costs (make bench prints it).
 */
void	signer_client_stats(unsigned long *calls, unsigned long *round_trip,
	    unsigned long *key_op);

/*
 * What the current signer did with key id since it started (counts per
 * purpose, server/signer/wire.h), and that signer's generation in *gen:
 * a new signer, a new generation, counting from 0 again.  Returns 0, -1
 * if the signer does not hold the key, or P7_REMOTE_UNAVAILABLE.
 */
struct wire_key_use;
int	signer_client_key_use(const unsigned char id[P7_KEY_ID_LEN],
	    struct wire_key_use *u, unsigned *gen);

/*
 * The signer's reading of one request (request.c).  wire_req_malformed():
 * 1 unless rq, n bytes long, is a message this program sends (the
 * connection is then closed).  wire_req_purpose_fits(): 1 if rq's purpose
 * fits its operation.  wire_perform(): rq's key operation with key into
 * rs (its len and usec); 0 or -1.
 */
struct wire_req;
struct wire_resp;
int	wire_req_malformed(const struct wire_req *rq, size_t n);
int	wire_req_purpose_fits(const struct wire_req *rq);
int	wire_perform(EVP_PKEY *key, const struct wire_req *rq,
	    struct wire_resp *rs);

/* Pass a descriptor over a UNIX socket (fdpass.c): 0 or -1. */
int	fd_send(int sock, int fd);
/* The descriptor passed, -1 at the end of the socket or on error, -2 if a
 * message came without one. */
int	fd_recv(int sock);

#endif /* SCEPD_SIGNER_H */
