/*
 * Every CA key's last CRL in memory (crl_cache.c), so that an event loop
 * answers a CRL fetch without the database.
 */
#ifndef SCEPD_REVOCATION_CRL_CACHE_H
#define SCEPD_REVOCATION_CRL_CACHE_H

#include <stddef.h>
#include <time.h>

/* A signed CRL, its number and validity. */
struct crl_der {
	unsigned char	*der;		/* malloc'd */
	size_t		 len;
	long long	 number;
	time_t		 this_update;
	time_t		 next_update;
};

struct crl_cache;

struct crl_cache *crl_cache_new(void);
void		 crl_cache_free(struct crl_cache *);
/* Keep a copy of CA key key's CRL c, unless a newer one is kept. */
void		 crl_cache_put(struct crl_cache *, const char *key,
		    const struct crl_der *c);
/*
 * A copy of CA key key's CRL into *c (free c->der) if one is kept and
 * is in the first half of its life (life seconds) at now: 0, else -1.
 */
int		 crl_cache_get(struct crl_cache *, const char *key, time_t now,
		    time_t life, struct crl_der *c);
/* A status changed: nothing kept is current; the next fetch makes one. */
void		 crl_cache_forget(struct crl_cache *);

#endif /* SCEPD_REVOCATION_CRL_CACHE_H */
