/*
 * The CRL of each CA key, kept fresh in PostgreSQL: made anew whenever
 * the issuer's change counter (bumped by a trigger on every status
 * change) moved since the stored CRL, or the stored one is past half its
 * life.  One process at a time makes a CRL (row lock); the CRL number
 * only grows.  Served over HTTP (responder.c, from the cache when it
 * can: crl_cache.c) and SCEP GetCRL (server/scep/getcrl.c), refreshed
 * by the sweep thread every second.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "server/log.h"
#include "server/revocation/crl.h"
#include "server/revocation/crl_cache.h"

struct ca_key
ca_key_current(const struct conf_profile *p)
{
	struct ca_key	k = { p->ca, p->issuer, p->ca_key_id, p->ocsp_signer,
			    "" };

	return k;
}

/* The delegated OCSP signer is the current CA's: the old key signs. */
struct ca_key
ca_key_previous(const struct conf_profile *p)
{
	struct ca_key	k = { p->prev_ca, p->prev_issuer, p->prev_key_id, NULL,
			    " (previous CA)" };

	return k;
}

/*
 * Every CA key in turn: key j is profile j / 2's current key for an even
 * j, its previous key for an odd j.  Returns the profile, or NULL when it
 * has no such key.
 */
struct conf_profile *
ca_key_nth(const struct conf *c, int j, struct ca_key *k)
{
	struct conf_profile	*p = &c->profiles[j / 2];

	*k = j % 2 == 0 ? ca_key_current(p) : ca_key_previous(p);
	return k->ca != NULL ? p : NULL;
}

/* 1 if the stored CRL reflects every status change and is in its first half. */
static int
crl_current(const struct db_crl *crl, time_t now, time_t life)
{
	return crl->der != NULL && crl->generated_changes == crl->changes &&
	    crl->next_update - now >= life / 2;
}

/*
 * Sign the next CRL of CA key k from the state db_crl_begin() read, into
 * *der (OPENSSL_malloc'd).  Returns 0 or -1 with err; never ends the
 * transaction.
 */
static int
crl_sign(const struct ca_key *k, const struct db_crl *crl, time_t now,
    time_t life, unsigned char **der, size_t *len, char *err, size_t errlen)
{
	struct p7_crl_entry	*e = NULL;	/* owned */
	int			 rc;

	if (crl->nentries > 0 && (e = calloc(crl->nentries,
	    sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < crl->nentries; i++) {
		e[i].serial = crl->entries[i].serial;
		e[i].revoked_at = crl->entries[i].revoked_at;
		e[i].reason = crl->entries[i].reason;
	}
	rc = p7_crl_sign(k->ca, e, crl->nentries,
	    (uint64_t)crl->crl_number + 1, now, now + life, der, len, err,
	    errlen);
	free(e);
	return rc;
}

/*
 * A fresh CRL of CA key k into *out, kept in the cache too.  The stored
 * CRL is the key's own (db/crl.c keys it by the CA's name and key), so a
 * re-keyed CA never serves one its old key signed.  Returns 0 or -1 with
 * err.
 */
int
crl_fresh(struct worker *w, const struct ca_key *k, struct crl_der *out,
    char *err, size_t errlen)
{
	struct db_crl		 crl;
	unsigned char		*signed_der = NULL; /* owned, OPENSSL_malloc */
	time_t			 now = time(NULL);
	time_t			 life = (time_t)w->srv->conf->crl_validity_hours * 3600;
	size_t			 len;
	int			 made, rc = -1;

	memset(out, 0, sizeof(*out));
	if (db_crl_get(w->db, k->issuer, k->key, &crl, err, errlen) ==
	    DB_ERROR)
		return -1;
	if (!crl_current(&crl, now, life)) {
		db_crl_clear(&crl);
		/* Under the row lock: another process may have just made it. */
		if (db_crl_begin(w->db, k->issuer, k->key, &crl, err,
		    errlen) == DB_ERROR)
			return -1;
		if (crl_current(&crl, now, life))
			made = 0;	/* made meanwhile */
		else if (crl_sign(k, &crl, now, life, &signed_der, &len, err,
		    errlen) == 0 && db_crl_store(w->db, k->issuer, k->key,
		    crl.crl_number + 1, crl.changes, signed_der, len, now,
		    now + life, err, errlen) == DB_OK)
			made = 1;
		else
			made = -1;
		/*
		 * The one end of this transaction: db_crl_store() stored the
		 * new CRL and committed; anything else is rolled back.
		 */
		if (made != 1)
			db_rollback(w->db);
		if (made == -1)
			goto out;
		if (made == 1) {
			log_info("CRL %lld of \"%s\"%s: %zu entr%s",
			    crl.crl_number + 1, k->issuer, k->what,
			    crl.nentries, crl.nentries == 1 ? "y" : "ies");
			db_crl_clear(&crl);
			if (db_crl_get(w->db, k->issuer, k->key, &crl, err,
			    errlen) == DB_ERROR)
				goto out;
		}
	}
	if (crl.der == NULL) {
		snprintf(err, errlen, "no CRL stored");
		goto out;
	}
	out->der = crl.der;
	out->len = crl.der_len;
	crl.der = NULL;
	out->number = crl.crl_number;
	out->next_update = crl.next_update;
	out->this_update = crl.next_update - life;
	crl_cache_put(w->srv->crls, k->key, out);
	rc = 0;
out:
	OPENSSL_free(signed_der);
	db_crl_clear(&crl);
	return rc;
}

/*
 * The profile and CA key a CRL path names: <profile>.crl the current
 * key's, <profile>.previous.crl the previous key's.  NULL if none.
 */
struct conf_profile *
crl_lookup(const struct conf *c, const char *name, size_t namelen,
    struct ca_key *k)
{
	static const char	 prev[] = ".previous";
	struct conf_profile	*p;
	size_t			 plen = sizeof(prev) - 1;

	if ((p = conf_profile(c, name, namelen)) != NULL) {
		*k = ca_key_current(p);
		return p;
	}
	if (namelen > plen && memcmp(name + namelen - plen, prev, plen) == 0 &&
	    (p = conf_profile(c, name, namelen - plen)) != NULL &&
	    p->prev_ca != NULL) {
		*k = ca_key_previous(p);
		return p;
	}
	return NULL;
}

void
revocation_periodic(struct worker *w)
{
	const struct conf	*c = w->srv->conf;
	const struct conf_profile *p;
	struct ca_key		 k;
	struct crl_der		 crl;
	char			 err[256];

	/*
	 * Keep every CA key's CRL fresh even when nobody fetches it, the
	 * previous key's too while it is configured, and the cache the
	 * loops answer from with it.
	 */
	for (int j = 0; j < CA_NKEYS(c); j++) {
		if ((p = ca_key_nth(c, j, &k)) == NULL)
			continue;
		if (crl_fresh(w, &k, &crl, err, sizeof(err)) == -1)
			log_warnx("CRL of profile %s%s: %s", p->policy.name,
			    k.what, err);
		else
			free(crl.der);
	}
}
