/*
 * scepctl ca init over an existing CA: a re-key.  The database tells CA
 * keys apart (db/schema/007_ca_key.sql), so the old key's certificates
 * stay answerable, but only while the old key is kept: it is moved aside,
 * never overwritten, and the operator is told how to keep it configured
 * as the previous CA (docs/revocation.md, "A re-keyed CA").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "server/conf.h"
#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

/* The files of p that ca init writes: the CA's, and the RA's unless no_ra. */
static int
ca_files(const struct conf_profile *p, int no_ra, const char *files[4])
{
	int	 n = 0;

	files[n++] = p->ca_cert;
	files[n++] = p->ca_key;
	if (!no_ra && p->ra_cert[0] != '\0') {
		files[n++] = p->ra_cert;
		files[n++] = p->ra_key;
	}
	return n;
}

/* Move each file to <file>.<suffix>, refusing to overwrite; or exit. */
static void
move_aside(const char *const *files, int n, const char *suffix)
{
	char	 to[4096];

	for (int i = 0; i < n; i++) {
		if (access(files[i], F_OK) != 0)
			continue;
		snprintf(to, sizeof(to), "%s.%s", files[i], suffix);
		if (access(to, F_OK) == 0)
			fatalx("ca init: %s already exists: move it away first",
			    to);
		if (rename(files[i], to) == -1)
			fatal("ca init: rename %s to %s", files[i], to);
	}
}

int
ctl_ca_retire(const struct conf *c, const struct conf_profile *p, int no_ra,
    int force, char *suffix, size_t suffixlen)
{
	const char	*files[4];
	struct db	*db;
	char		*issuer = NULL;	/* owned */
	char		 key[P7_CA_KEY_LEN + 1], err[256];
	long long	 live, claimed;
	int		 n;

	suffix[0] = '\0';
	/* A first ca init (half a pair: p7_ca_create() refuses it). */
	if (access(p->ca_cert, F_OK) != 0 || access(p->ca_key, F_OK) != 0)
		return 0;
	if (p7_ca_file_ident(p->ca_cert, &issuer, key, err, sizeof(err)) == -1)
		fatalx("ca init: %s", err);
	db = ctl_connect(c);
	if (db_ca_key_live(db, issuer, key, &live, err, sizeof(err)) ==
	    DB_ERROR)
		fatalx("ca init: database: %s", err);
	if (live > 0 && !force)
		fatalx("ca init: %lld certificate%s issued by the CA key in %s "
		    "%s still valid: revoke %s first, or replace the key "
		    "anyway with --force (then keep the old CA as "
		    "ca.previous_cert and ca.previous_key, so that they stay "
		    "answerable)", live, live == 1 ? "" : "s", p->ca_cert,
		    live == 1 ? "is" : "are", live == 1 ? "it" : "them");
	/* Rows without a CA key can only be this key's: say so for good. */
	if (db_ca_key_claim(db, issuer, key, &claimed, err, sizeof(err)) ==
	    DB_ERROR)
		fatalx("ca init: database: %s", err);
	db_close(db);
	snprintf(suffix, suffixlen, "%.16s", key);
	n = ca_files(p, no_ra, files);
	move_aside(files, n, suffix);
	printf("kept the replaced CA (key %s, %lld valid certificate%s) as "
	    "%s.%s and %s.%s: set ca.previous_cert and ca.previous_key to "
	    "them so that its certificates stay answerable\n", key, live,
	    live == 1 ? "" : "s", p->ca_cert, suffix, p->ca_key, suffix);
	free(issuer);
	return 1;
}

void
ctl_ca_restore(const struct conf_profile *p, int no_ra, const char *suffix)
{
	const char	*files[4];
	char		 from[4096];
	int		 n = ca_files(p, no_ra, files);

	for (int i = 0; i < n; i++) {
		snprintf(from, sizeof(from), "%s.%s", files[i], suffix);
		if (access(files[i], F_OK) != 0 && rename(from, files[i]) == -1)
			log_warn("ca init: cannot move %s back to %s", from,
			    files[i]);
	}
}
