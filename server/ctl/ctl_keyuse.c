/*
 * scepctl ca status: the audit of key use (docs/keys.md).  For every key
 * of the configuration (CA, RA, previous CA, OCSP signer), what the
 * signers of every scepd on the database did with it, per purpose; for a
 * CA key, beside its certificate signatures, what became of them: the
 * certificates recorded and the reservations that were not (a signed
 * certificate is recorded or discarded; a failed one was not signed; an
 * abandoned one may have been).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "server/conf.h"
#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

#define MAX_KEYS	256

struct key {
	char	 id[P7_CA_KEY_LEN + 1];
	char	 roles[512];	/* "CA of profile default, ..." */
	int	 ca;		/* signs certificates */
};

struct keys {
	struct key	 k[MAX_KEYS];
	int		 n;
};

/* The key of the certificate in file, with its role; logged if unreadable. */
static void
add(struct keys *ks, const char *file, const char *role,
    const char *profile, int ca)
{
	struct key	*k = NULL;
	char		*issuer = NULL;	/* owned */
	char		 id[P7_CA_KEY_LEN + 1], err[256];
	size_t		 len;

	if (file[0] == '\0')
		return;
	if (p7_ca_file_ident(file, &issuer, id, err, sizeof(err)) == -1) {
		log_warnx("ca status: %s of profile %s: %s", role, profile,
		    err);
		return;
	}
	free(issuer);
	for (int i = 0; i < ks->n; i++)
		if (strcmp(ks->k[i].id, id) == 0)
			k = &ks->k[i];
	if (k == NULL) {
		if (ks->n == MAX_KEYS)
			return;
		k = &ks->k[ks->n++];
		memset(k, 0, sizeof(*k));
		memcpy(k->id, id, sizeof(id));
	}
	k->ca |= ca;
	len = strlen(k->roles);
	snprintf(k->roles + len, sizeof(k->roles) - len, "%s%s of profile %s",
	    len > 0 ? ", " : "", role, profile);
}

/* key's counts, and for a CA key its records; -1 on a database error. */
static int
show(struct db *db, const struct key *k)
{
	struct db_key_records	 r;
	long long		 count, failures;
	char			 err[256];

	printf("key %s: %s\n", k->id, k->roles);
	for (int p = P7_PURPOSE_NONE + 1; p < P7_PURPOSE_MAX; p++) {
		if (db_key_use_get(db, k->id, p7_purpose_name(p), &count,
		    &failures, err, sizeof(err)) == DB_ERROR)
			goto fail;
		printf("  %-12s %10lld  failures %lld", p7_purpose_name(p),
		    count, failures);
		if (p == P7_PURPOSE_CERT && k->ca) {
			if (db_key_records(db, k->id, &r, err, sizeof(err)) ==
			    DB_ERROR)
				goto fail;
			printf("  recorded %lld  discarded %lld  failed %lld  "
			    "abandoned %lld  reserved %lld", r.recorded,
			    r.discarded, r.failed, r.abandoned, r.reserved);
		}
		printf("\n");
	}
	return 0;
fail:
	printf("\n");
	log_warnx("ca status: database: %s", err);
	return -1;
}

int
ctl_ca_status(const struct conf *c, int argc, char **argv)
{
	struct keys	*ks;
	struct db	*db;
	int		 rc = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: scepctl ca status\n");
		return 2;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		fatal("calloc");
	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile	*p = &c->profiles[i];
		const char			*name = p->policy.name;

		add(ks, p->ca_cert, "CA", name, 1);
		add(ks, p->ra_cert, "RA", name, 0);
		add(ks, p->previous_cert, "previous CA", name, 1);
		add(ks, p->ocsp_cert, "OCSP signer", name, 0);
	}
	db = ctl_connect(c);
	for (int i = 0; i < ks->n && rc == 0; i++)
		if (show(db, &ks->k[i]) == -1)
			rc = 1;
	db_close(db);
	free(ks);
	return rc;
}
