/* Loading the profiles' CAs (server/ca_load.c). */
#ifndef SCEPD_CA_LOAD_H
#define SCEPD_CA_LOAD_H

#include <openssl/evp.h>

struct conf;

/*
 * Load each profile's CA (and RA, previous CA, OCSP signer); profiles
 * naming the same files share one struct p7_ca, so each key is loaded
 * once.  Returns 0, or -1 after logging each problem.
 */
int	ca_load_all(struct conf *);
void	ca_free_all(struct conf *);
/*
 * Call fn with every private key the loaded profiles hold (CA, RA,
 * previous CA and its RA, OCSP signer), each once, with its id
 * (p7_key_id(), P7_KEY_ID_LEN bytes): the signer's and the audit of key
 * use's list.  Stops at fn's first -1.  Returns 0 or -1.
 */
int	ca_keys_each(const struct conf *,
	    int (*fn)(EVP_PKEY *, const unsigned char *id, void *), void *arg);

#endif /* SCEPD_CA_LOAD_H */
