/*
 * Every CA key's last CRL, kept in memory so that the event loops answer
 * CRL fetches without the database (docs/design.md, "Threads").  Whoever
 * makes or reads a CRL from the database (crl_fresh(): a pool thread, or
 * the sweep thread every second) puts it here; a status change made in
 * this process forgets them all at once, one made elsewhere (scepctl,
 * another scepd) reaches the cache with the sweep thread's next check.
 * A handful of CA keys: a list under one mutex.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/revocation/crl_cache.h"

struct entry {
	char		*key;		/* p7_ca_key_text */
	struct crl_der	 crl;
	int		 current;	/* no status change since */
	struct entry	*next;
};

struct crl_cache {
	pthread_mutex_t	 mu;
	struct entry	*head;
};

struct crl_cache *
crl_cache_new(void)
{
	struct crl_cache	*cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	pthread_mutex_init(&cc->mu, NULL);
	return cc;
}

void
crl_cache_free(struct crl_cache *cc)
{
	struct entry	*e, *next;

	if (cc == NULL)
		return;
	for (e = cc->head; e != NULL; e = next) {
		next = e->next;
		free(e->key);
		free(e->crl.der);
		free(e);
	}
	pthread_mutex_destroy(&cc->mu);
	free(cc);
}

static struct entry *
find(struct crl_cache *cc, const char *key)
{
	struct entry	*e;

	for (e = cc->head; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

void
crl_cache_put(struct crl_cache *cc, const char *key, const struct crl_der *c)
{
	struct entry	*e;
	unsigned char	*der;

	if ((der = malloc(c->len)) == NULL)
		return;		/* the next fetch goes to the database */
	memcpy(der, c->der, c->len);
	pthread_mutex_lock(&cc->mu);
	if ((e = find(cc, key)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->key = strdup(key)) == NULL) {
			free(e);
			goto out;
		}
		e->next = cc->head;
		cc->head = e;
	} else if (e->crl.number > c->number)
		goto out;	/* a thread that read earlier comes later */
	free(e->crl.der);
	e->crl = *c;
	e->crl.der = der;
	e->current = 1;
	der = NULL;
out:
	pthread_mutex_unlock(&cc->mu);
	free(der);
}

int
crl_cache_get(struct crl_cache *cc, const char *key, time_t now, time_t life,
    struct crl_der *c)
{
	struct entry	*e;
	int		 rc = -1;

	pthread_mutex_lock(&cc->mu);
	/* As crl.c's crl_current(): past half its life, a new one is due. */
	if ((e = find(cc, key)) != NULL && e->current &&
	    e->crl.next_update - now >= life / 2 &&
	    (c->der = malloc(e->crl.len)) != NULL) {
		memcpy(c->der, e->crl.der, e->crl.len);
		c->len = e->crl.len;
		c->number = e->crl.number;
		c->this_update = e->crl.this_update;
		c->next_update = e->crl.next_update;
		rc = 0;
	}
	pthread_mutex_unlock(&cc->mu);
	return rc;
}

void
crl_cache_forget(struct crl_cache *cc)
{
	pthread_mutex_lock(&cc->mu);
	for (struct entry *e = cc->head; e != NULL; e = e->next)
		e->current = 0;
	pthread_mutex_unlock(&cc->mu);
}
