/*
 * CA keys and their CRLs (crl.c), for the HTTP responder, SCEP GetCRL
 * and the sweep.
 */
#ifndef SCEPD_REVOCATION_CRL_H
#define SCEPD_REVOCATION_CRL_H

#include <stddef.h>
#include <time.h>

#include "pkcs7/pkcs7.h"
#include "server/conf.h"
#include "server/revocation/crl_cache.h"
#include "server/scepd.h"

/*
 * One key of a profile's CA as the database keys its state: the current
 * one, or the one it replaced (ca.previous_cert), which still answers
 * for the certificates it signed (RFC 5280 3.5 and 5: until they expire,
 * their CRL is signed by the key that signed them).
 */
struct ca_key {
	const struct p7_ca	*ca;		/* NULL: no such key */
	const char		*issuer;	/* p7_ca_issuer_text */
	const char		*key;		/* p7_ca_key_text */
	const struct p7_ocsp_signer *ocsp_signer; /* NULL: the CA key */
	const char		*what;		/* "" or " (previous CA)" */
};

/* A profile's current CA key, and the one it replaced (ca.previous_cert). */
struct ca_key	ca_key_current(const struct conf_profile *);
struct ca_key	ca_key_previous(const struct conf_profile *);
/*
 * Every CA key in turn, j from 0 to CA_NKEYS(c) - 1: the profile, or
 * NULL when it has no such key.
 */
struct conf_profile *ca_key_nth(const struct conf *, int j, struct ca_key *);
#define CA_NKEYS(c)	(2 * (c)->nprofiles)

/*
 * A fresh CRL of CA key k into *out (free out->der); made and stored
 * first if the stored one is stale; kept in w's server's cache.  Needs
 * the database (w->db).  Returns 0 or -1 with err.
 */
int	crl_fresh(struct worker *, const struct ca_key *k, struct crl_der *out,
	    char *err, size_t errlen);
/*
 * The profile and CA key a CRL path names: <profile>.crl the current
 * key's, <profile>.previous.crl the previous key's.  NULL if none.
 */
struct conf_profile *crl_lookup(const struct conf *, const char *name,
	    size_t namelen, struct ca_key *);
/* Keep every CA key's CRL fresh, in the database and the cache. */
void	revocation_periodic(struct worker *);

#endif /* SCEPD_REVOCATION_CRL_H */
