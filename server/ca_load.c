/*
 * Each profile's CA, RA, previous CA and OCSP signer, loaded from the
 * configuration's files: by the signer process with their private keys,
 * by the worker with remote keys in their place (pkcs7/remote_key.c), and
 * by scepd -n to check them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs7/pkcs7.h"
#include "server/ca_load.h"
#include "server/conf.h"
#include "server/log.h"

static int
same(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/*
 * The CA key that p's CA replaced (ca.previous_cert, ca.previous_key):
 * it signs the CRL and OCSP answers for the certificates it issued
 * (docs/revocation.md, "A re-keyed CA").  NULL, logged, on error.
 */
static struct p7_ca *
load_previous(const struct conf *c, const struct conf_profile *p)
{
	struct p7_ca_files	 f;
	struct p7_ca		*prev;
	char			 err[256];

	memset(&f, 0, sizeof(f));
	f.ca_cert = p->previous_cert;
	f.ca_key = p->previous_key;
	f.keys = &p->keys;
	if ((prev = p7_ca_load(&f, err, sizeof(err))) == NULL)
		log_warnx("%s: profile %s: previous CA: %s", c->path,
		    p->policy.name, err);
	return prev;
}


int
ca_load_all(struct conf *c)
{
	struct p7_ca_files	 f;
	struct conf_profile	*p, *q;
	const char		*missing;
	char			 err[256];
	int			 errors = 0;

	for (int i = 0; i < c->nprofiles; i++) {
		p = &c->profiles[i];
		for (int j = 0; j < i && p->ca == NULL; j++) {
			q = &c->profiles[j];
			if (q->ca != NULL && same(p->ca_cert, q->ca_cert) &&
			    same(p->ca_key, q->ca_key) &&
			    same(p->ra_cert, q->ra_cert) && same(p->ra_key, q->ra_key) &&
			    same(p->next_ca_cert, q->next_ca_cert) &&
			    same(p->next_ra_cert, q->next_ra_cert) &&
			    same(p->previous_cert, q->previous_cert) &&
			    same(p->previous_key, q->previous_key) &&
			    same(p->key_passphrase_file,
			    q->key_passphrase_file) &&
			    same(p->key_passphrase_credential,
			    q->key_passphrase_credential)) {
				p->ca = q->ca;
				p->prev_ca = q->prev_ca;
			}
		}
		if (p->ca != NULL)
			continue;
		memset(&f, 0, sizeof(f));
		f.ca_cert = p->ca_cert;
		f.ca_key = p->ca_key;
		f.keys = &p->keys;
		f.ra_cert = p->ra_cert[0] != '\0' ? p->ra_cert : NULL;
		f.ra_key = p->ra_key[0] != '\0' ? p->ra_key : NULL;
		if ((p->ca = p7_ca_load(&f, err, sizeof(err))) == NULL) {
			log_warnx("%s: profile %s: CA: %s", c->path,
			    p->policy.name, err);
			errors++;
			continue;
		}
		p->owns_ca = 1;
		if ((missing = p7_ca_mode_usage_missing(p->ca)) != NULL)
			log_warnx("%s: profile %s: CA mode, but the CA "
			    "certificate %s lacks %s in its keyUsage (RFC 8894 "
			    "2.1: clients encrypt to it): add an RA "
			    "certificate, or reissue the CA with "
			    "keyEncipherment and digitalSignature", c->path,
			    p->policy.name, p->ca_cert, missing);
		/* CA rollover: the GetNextCACert answer (pkcs7/nextca.c). */
		if (p->next_ca_cert[0] != '\0' && p7_ca_load_next(p->ca,
		    p->next_ca_cert, p->next_ra_cert, err, sizeof(err)) == -1) {
			log_warnx("%s: profile %s: next CA: %s", c->path,
			    p->policy.name, err);
			errors++;
		} else if (p->next_ca_cert[0] == '\0' &&
		    p->next_ra_cert[0] != '\0') {
			log_warnx("%s: profile %s: ca.next_ra_cert needs "
			    "ca.next_cert", c->path, p->policy.name);
			errors++;
		}
		if (p->previous_cert[0] != '\0' &&
		    (p->prev_ca = load_previous(c, p)) == NULL)
			errors++;
	}
	/* What every profile needs of its CA, shared or not. */
	for (int i = 0; errors == 0 && i < c->nprofiles; i++) {
		p = &c->profiles[i];
		if ((p->issuer = p7_ca_issuer_text(p->ca)) == NULL ||
		    p7_ca_key_text(p->ca, p->ca_key_id) == -1)
			fatal("p7_ca_issuer_text");
		if (p->prev_ca != NULL &&
		    ((p->prev_issuer = p7_ca_issuer_text(p->prev_ca)) == NULL ||
		    p7_ca_key_text(p->prev_ca, p->prev_key_id) == -1))
			fatal("p7_ca_issuer_text");
		if (p->prev_ca != NULL &&
		    strcmp(p->prev_key_id, p->ca_key_id) == 0) {
			log_warnx("%s: profile %s: ca.previous_cert has the "
			    "key of ca.cert: name the CA key it replaced",
			    c->path, p->policy.name);
			errors++;
		}
		if (p->ocsp_cert[0] != '\0' && (p->ocsp_signer =
		    p7_ocsp_signer_load(p->ca, p->ocsp_cert, p->ocsp_key,
		    &p->keys, err, sizeof(err))) == NULL) {
			log_warnx("%s: profile %s: OCSP signer: %s", c->path,
			    p->policy.name, err);
			errors++;
		}
	}
	return errors > 0 ? -1 : 0;
}

void
ca_free_all(struct conf *c)
{
	for (int i = 0; c != NULL && i < c->nprofiles; i++) {
		p7_ocsp_signer_free(c->profiles[i].ocsp_signer);
		free(c->profiles[i].issuer);
		free(c->profiles[i].prev_issuer);
		if (c->profiles[i].owns_ca) {
			p7_ca_free(c->profiles[i].ca);
			p7_ca_free(c->profiles[i].prev_ca);
		}
	}
}


/* What ca_keys_each() has called fn with. */
struct each {
	int		(*fn)(EVP_PKEY *, const unsigned char *, void *);
	void		*arg;
	unsigned char	(*ids)[P7_KEY_ID_LEN];
	int		 n;
};

/* fn with key, unless it had key already: 0 or -1. */
static int
each_one(struct each *e, EVP_PKEY *key)
{
	unsigned char	  id[P7_KEY_ID_LEN];
	unsigned char	(*ids)[P7_KEY_ID_LEN];

	if (key == NULL)
		return 0;
	if (p7_key_id(key, id) == -1)
		return -1;
	for (int i = 0; i < e->n; i++)
		if (memcmp(e->ids[i], id, sizeof(id)) == 0)
			return 0;
	if ((ids = reallocarray(e->ids, (size_t)e->n + 1, sizeof(*ids))) ==
	    NULL)
		return -1;
	e->ids = ids;
	memcpy(e->ids[e->n++], id, sizeof(id));
	return e->fn(key, id, e->arg);
}

int
ca_keys_each(const struct conf *c,
    int (*fn)(EVP_PKEY *, const unsigned char *, void *), void *arg)
{
	struct each	 e = { fn, arg, NULL, 0 };
	EVP_PKEY	*k[2];
	int		 n, rc = -1;

	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile	*p = &c->profiles[i];

		n = p7_ca_private_keys(p->ca, k);
		for (int j = 0; j < n; j++)
			if (each_one(&e, k[j]) == -1)
				goto out;
		if (p->prev_ca != NULL) {
			n = p7_ca_private_keys(p->prev_ca, k);
			for (int j = 0; j < n; j++)
				if (each_one(&e, k[j]) == -1)
					goto out;
		}
		if (p->ocsp_signer != NULL && each_one(&e,
		    p7_ocsp_signer_get0_key(p->ocsp_signer)) == -1)
			goto out;
	}
	rc = 0;
out:
	free(e.ids);
	return rc;
}
