/*
 * Intune-driven revocation, on a thread of its own with its own database
 * connection (server/bgthread.c).  Every intune.revocation_interval
 * seconds, for each Intune connection (a tenant and the CA it was told
 * of; profiles that share both are one connection): download the
 * revocation requests Intune holds for the CA, revoke each certificate
 * named, upload one result per request.  Intune keeps a request, and
 * offers it again, until its result is uploaded.
 *
 * Any number of scepd processes may share the database; a session
 * advisory lock per connection (db_job_lock()) lets one of them run its
 * round.  It is not a transaction lock, since the round waits on Intune
 * between its statements; each revocation commits on its own.
 *
 * The results (CA request error codes):
 *   None			revoked now;
 *   ConflictError		revoked already (unless this process revoked
 *				it for the same request and the upload did
 *				not get through: then None again);
 *   CertificateNotFoundError	no such certificate issued by this CA
 *				through one of the connection's profiles.
 * A request for another CA is left alone; one the database cannot answer
 * now gets no result and comes again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db/db.h"
#include "server/bgthread.h"
#include "server/log.h"
#include "server/outbound/intune.h"
#include "server/revocation/crl_cache.h"
#include "server/revocation/intune_revocation.h"
#include "server/scepd.h"

/* Intune's most per download; a full one runs the next round at once. */
#define BATCH		500
/* Revoked for requests whose results were not taken, kept to resend. */
#define UNCONFIRMED_MAX	(4 * BATCH)
#define ACTOR		"scepd:intune"

struct connection {
	const struct conf_profile *lead;	/* its client and issuer */
	char			 lock[600];	/* db_job_lock() name */
	time_t			 next;		/* next round, 0: at once */
	char			*unconfirmed[UNCONFIRMED_MAX];
	size_t			 nunconfirmed;
};

static struct worker		 revoker;
static struct bgthread		*revoker_thread;
static struct connection	*conns;
static size_t			 nconns;

/* p and q reach the same Intune queue: the same tenant and CA name. */
static int
same_connection(const struct conf_profile *p, const struct conf_profile *q)
{
	return strcasecmp(p->intune.tenant, q->intune.tenant) == 0 &&
	    strcmp(p->issuer, q->issuer) == 0;
}

/* st was issued by c's CA through one of c's profiles. */
static int
ours(const struct connection *c, const struct conf *conf,
    const struct db_cert_standing *st)
{
	for (int i = 0; i < conf->nprofiles; i++) {
		const struct conf_profile *p = &conf->profiles[i];

		if (p->intune_client != NULL && same_connection(p, c->lead) &&
		    strcmp(p->policy.name, st->profile) == 0)
			return strcmp(st->issuer, p->issuer) == 0 ||
			    (p->prev_issuer != NULL &&
			    strcmp(st->issuer, p->prev_issuer) == 0);
	}
	return 0;
}

static int
unconfirmed(const struct connection *c, const char *context)
{
	for (size_t i = 0; i < c->nunconfirmed; i++)
		if (strcmp(c->unconfirmed[i], context) == 0)
			return 1;
	return 0;
}

static void
unconfirmed_add(struct connection *c, const char *context)
{
	char	*s;

	if (unconfirmed(c, context) || (s = strdup(context)) == NULL)
		return;
	if (c->nunconfirmed == UNCONFIRMED_MAX) {
		free(c->unconfirmed[0]);
		memmove(c->unconfirmed, c->unconfirmed + 1,
		    (UNCONFIRMED_MAX - 1) * sizeof(c->unconfirmed[0]));
		c->nunconfirmed--;
	}
	c->unconfirmed[c->nunconfirmed++] = s;
}

static void
unconfirmed_clear(struct connection *c)
{
	for (size_t i = 0; i < c->nunconfirmed; i++)
		free(c->unconfirmed[i]);
	c->nunconfirmed = 0;
}

/*
 * The result for request q into *res: 0, or -1 when it gets none now
 * (another CA's, or the database did not answer).  *revoked is set when
 * this call revoked the certificate.
 */
static int
answer(struct connection *c, const struct intune_revocation *q,
    struct intune_revocation_result *res, int *revoked)
{
	const struct conf_profile	*p = c->lead;
	struct db_cert_standing		 st;
	enum db_rc			 rc;
	char				 err[256];
	int				 changed = 0;

	*revoked = 0;
	res->context = q->context;
	res->message = "";
	if (q->issuer != NULL && strcasecmp(q->issuer, p->issuer) != 0 &&
	    (p->prev_issuer == NULL || strcasecmp(q->issuer,
	    p->prev_issuer) != 0)) {
		log_info("Intune revocation request %s: serial %s of issuer "
		    "\"%s\", not this CA's: left for its CA", q->context,
		    q->serial, q->issuer);
		return -1;
	}
	rc = db_cert_standing(revoker.db, q->serial, &st, err, sizeof(err));
	if (rc == DB_OK && !ours(c, revoker.srv->conf, &st))
		rc = DB_NOT_FOUND;
	if (rc == DB_OK)
		rc = db_cert_set_status(revoker.db, q->serial, DB_CERT_REVOKE,
		    P7_CRL_REASON_CESSATION_OF_OPERATION, ACTOR, &changed, err,
		    sizeof(err));
	switch (rc) {
	case DB_OK:
		if (changed || unconfirmed(c, q->context)) {
			res->code = INTUNE_CA_NONE;
			*revoked = changed;
			log_info("Intune revocation request %s: certificate %s "
			    "revoked (cessationOfOperation)%s -> None",
			    q->context, st.serial, changed ? "" : " for this "
			    "request before, the result sent again");
		} else {
			res->code = INTUNE_CA_CONFLICT;
			res->message = "the certificate is revoked already";
			log_info("Intune revocation request %s: certificate %s "
			    "revoked already -> ConflictError", q->context,
			    st.serial);
		}
		return 0;
	case DB_NOT_FOUND:
	case DB_REFUSED:
		res->code = INTUNE_CA_NOT_FOUND;
		res->message = "no certificate with this serial number was "
		    "issued by this CA through Intune";
		log_info("Intune revocation request %s: serial %s is no "
		    "certificate of profile %s's CA issued through Intune -> "
		    "CertificateNotFoundError", q->context, q->serial,
		    p->policy.name);
		return 0;
	case DB_ERROR:
		break;
	}
	log_warnx("Intune revocation request %s: serial %s: database: %s (it "
	    "comes again)", q->context, q->serial, err);
	return -1;
}

/* One connection's round: 1 if Intune may hold more at once, else 0. */
static int
connection_round(struct connection *c)
{
	const struct conf_profile	*p = c->lead;
	struct intune_revocation	*q = NULL;
	struct intune_revocation_result	*res = NULL;
	enum db_rc			 lrc;
	size_t				 n = 0, nres = 0, i;
	char				 err[512];
	int				 revoked, nrevoked = 0, more = 0;

	if ((lrc = db_job_lock(revoker.db, c->lock, err, sizeof(err))) !=
	    DB_OK) {
		if (lrc == DB_ERROR)
			log_warnx("Intune revocation (profile %s): database: %s",
			    p->policy.name, err);
		else
			log_debug("Intune revocation (profile %s): another "
			    "scepd runs the round", p->policy.name);
		return 0;
	}
	if (intune_revocations(p->intune_client, p->issuer, BATCH, &q, &n,
	    err, sizeof(err)) != INTUNE_OK) {
		log_warnx("Intune revocation (profile %s): %s", p->policy.name,
		    err);
		goto out;
	}
	/* With -v, one line a round (the tests wait for it). */
	log_debug("Intune revocation (profile %s): %zu request%s",
	    p->policy.name, n, n == 1 ? "" : "s");
	if (n == 0)
		goto out;
	if ((res = calloc(n, sizeof(*res))) == NULL) {
		log_warnx("Intune revocation: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (answer(c, &q[i], &res[nres], &revoked) == 0)
			nres++;
		nrevoked += revoked;
	}
	/* The CRL the loops serve shows them at once. */
	if (nrevoked > 0)
		crl_cache_forget(revoker.srv->crls);
	if (nres > 0 && intune_revocation_results(p->intune_client, res,
	    nres, err, sizeof(err)) != INTUNE_OK) {
		log_warnx("Intune revocation (profile %s): %s (the requests "
		    "come again)", p->policy.name, err);
		for (i = 0; i < nres; i++)
			if (res[i].code == INTUNE_CA_NONE)
				unconfirmed_add(c, res[i].context);
		goto out;
	}
	if (nres > 0) {
		unconfirmed_clear(c);
		log_info("Intune revocation (profile %s): %zu result%s "
		    "uploaded, %d certificate%s revoked", p->policy.name, nres,
		    nres == 1 ? "" : "s", nrevoked, nrevoked == 1 ? "" : "s");
	}
	more = n == BATCH;
out:
	db_job_unlock(revoker.db, c->lock);
	free(res);
	intune_revocations_free(q, n);
	return more;
}

static long
revocation_round(void *arg)
{
	time_t	 now = time(NULL), wait = 3600;

	(void)arg;
	for (size_t i = 0; i < nconns; i++) {
		struct connection *c = &conns[i];

		if (now >= c->next)
			c->next = connection_round(c) ? now : now +
			    c->lead->intune.revocation_interval;
		if (c->next - now < wait)
			wait = c->next - now;
	}
	return wait > 0 ? (long)wait * 1000 : 0;
}

int
intune_revocation_start(struct server *srv, char *err, size_t errlen)
{
	const struct conf	*conf = srv->conf;
	size_t			 j;

	if ((conns = calloc((size_t)conf->nprofiles, sizeof(*conns))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < conf->nprofiles; i++) {
		const struct conf_profile *p = &conf->profiles[i];

		if (p->intune_client == NULL ||
		    p->intune.revocation_interval == 0)
			continue;
		for (j = 0; j < nconns; j++)
			if (same_connection(conns[j].lead, p))
				break;
		if (j < nconns)
			continue;
		conns[nconns].lead = p;
		snprintf(conns[nconns].lock, sizeof(conns[nconns].lock),
		    "intune-revocation %s %s", p->intune.tenant, p->issuer);
		log_info("Intune revocation: every %d s for profile %s",
		    p->intune.revocation_interval, p->policy.name);
		nconns++;
	}
	if (nconns == 0) {
		free(conns);
		conns = NULL;
		return 0;
	}
	memset(&revoker, 0, sizeof(revoker));
	revoker.srv = srv;
	revoker.id = -1;
	if ((revoker.db = db_open(conf->database, err, errlen)) == NULL ||
	    (revoker_thread = bgthread_start(revocation_round, NULL, err,
	    errlen)) == NULL) {
		intune_revocation_stop();
		return -1;
	}
	return 0;
}

void
intune_revocation_stop(void)
{
	bgthread_stop(revoker_thread);
	revoker_thread = NULL;
	db_close(revoker.db);
	revoker.db = NULL;
	for (size_t i = 0; i < nconns; i++)
		unconfirmed_clear(&conns[i]);
	free(conns);
	conns = NULL;
	nconns = 0;
}
