/* Loading the profiles' CAs (server/ca_load.c). */
#ifndef SCEPD_CA_LOAD_H
#define SCEPD_CA_LOAD_H

struct conf;

/*
 * Load each profile's CA (and RA, previous CA, OCSP signer); profiles
 * naming the same files share one struct p7_ca, so each key is loaded
 * once.  Returns 0, or -1 after logging each problem.
 */
int	ca_load_all(struct conf *);
void	ca_free_all(struct conf *);

#endif /* SCEPD_CA_LOAD_H */
