/*
 * scepd: options, configuration, keys, the listening socket, N worker
 * threads (each with its own event loop and database connection, so no
 * lock is shared on the request path) and signals.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "server/http/delivery.h"
#include "server/http/caps.h"
#include "server/http/http.h"
#include "server/http/offload.h"
#include "server/log.h"
#include "server/outbound/intune.h"
#include "server/outbound/notifier.h"
#include "server/revocation/crl_cache.h"
#include "server/revocation/intune_revocation.h"
#include "server/scep/challenge_limit.h"
#include "server/scepd.h"
#include "server/sweep.h"

/* Milliseconds a refusal of decrypted bytes takes (pkcs7/req.c). */
#define UNIFORM_FAILURE_MS	10

static void
usage(void)
{
	fprintf(stderr, "usage: scepd [-dnv] [-c file] [-l address] [-p port]\n"
	    "  -c file     configuration (default: $SCEPD_CONF, var/scepd.conf,\n"
	    "              /etc/scepd/scepd.conf)\n"
	    "  -d          stay in the foreground, log to stderr\n"
	    "  -l address  listen address (overrides the file)\n"
	    "  -n          check the configuration and keys, then exit\n"
	    "  -p port     port (overrides the file; 0 picks one)\n"
	    "  -v          verbose logging\n");
	exit(2);
}

static evutil_socket_t
listen_on(const char *addr, int port, int *bound_port)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	evutil_socket_t		 fd = -1;
	char			 portstr[16];
	int			 one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(addr, portstr, &hints, &res) != 0) {
		log_warnx("listen address %s is not a numeric address", addr);
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 1024) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		log_warn("listen on %s port %d", addr, port);
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	*bound_port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static struct event_base	*main_base;

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(main_base);
}

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

/*
 * Load each profile's CA (and RA); profiles naming the same files share
 * one struct p7_ca, so each key is in memory once.
 */
static int
load_cas(struct conf *c)
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

static void
free_cas(struct conf *c)
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

int
main(int argc, char *argv[])
{
	struct server	 srv;
	struct worker	*workers = NULL;
	struct db	*db;
	struct event	*sigint = NULL, *sigterm = NULL;
	const char	*conf_path = NULL, *listen_addr = NULL;
	char		 err[256];
	int		 ch, debug = 0, check = 0, verbose = 0, port = -1;
	int		 nworkers, bound_port, i;
	long		 ncpu;

	while ((ch = getopt(argc, argv, "c:dl:np:v")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'd': debug = 1; break;
		case 'l': listen_addr = optarg; break;
		case 'n': check = 1; debug = 1; break;
		case 'p': port = atoi(optarg); break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("scepd", debug, verbose);
	signal(SIGPIPE, SIG_IGN);

	if ((conf_path = conf_find(conf_path, argv[0])) == NULL)
		fatalx("no configuration: use -c FILE or set SCEPD_CONF");
	memset(&srv, 0, sizeof(srv));
	if ((srv.conf = conf_load(conf_path, CONF_CHECK_FILES)) == NULL)
		exit(1);
	if (listen_addr != NULL) {
		free(srv.conf->listen);
		if ((srv.conf->listen = strdup(listen_addr)) == NULL)
			fatal("strdup");
	}
	if (port >= 0)
		srv.conf->port = port;
	log_init("scepd", debug, verbose || srv.conf->verbose);
	for (i = 0; i < srv.conf->nprofiles; i++)
		if (srv.conf->profiles[i].legacy && p7_enable_legacy() == -1)
			fatalx("legacy = true, but OpenSSL's legacy provider "
			    "(single DES) cannot be loaded");
	if (load_cas(srv.conf) == -1)
		exit(1);
	/*
	 * Refusals of decrypted bytes all take this long (pkcs7/req.c): well
	 * above what the slowest of them costs, a CSR with a large key to
	 * parse and verify.
	 */
	p7_set_uniform_failure_ms(UNIFORM_FAILURE_MS);
	for (i = 0; i < srv.conf->nprofiles; i++) {
		struct conf_profile	*p = &srv.conf->profiles[i];

		if (policy_profile_has_mode(&p->policy,
		    POLICY_CHALLENGE_INTUNE) && (p->intune_client =
		    intune_new(&p->intune, err, sizeof(err))) == NULL)
			fatalx("profile %s: %s", p->policy.name, err);
	}
	if (check) {
		printf("%s: configuration OK\n", conf_path);
		goto done;
	}

	for (i = 0; i < srv.conf->nprofiles; i++)
		caps_build(&srv.conf->profiles[i], srv.conf->profiles[i].caps,
		    sizeof(srv.conf->profiles[i].caps));

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nworkers = srv.conf->workers > 0 ? srv.conf->workers :
	    (ncpu > 0 ? (int)ncpu : 1);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent without thread support");
	if ((workers = calloc((size_t)nworkers, sizeof(*workers))) == NULL)
		fatal("calloc");
	/*
	 * The workers' loops never touch the database (docs/design.md,
	 * "Threads"): the pool, the sweep and the notifier have connections
	 * of their own.  Check it before listening: fail early and clearly.
	 */
	for (i = 0; i < nworkers; i++) {
		workers[i].srv = &srv;
		workers[i].id = i;
	}
	if ((db = db_open(srv.conf->database, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	/* A certificate handed out must survive a crash of PostgreSQL. */
	switch (db_check_durability(db, err, sizeof(err))) {
	case DB_OK:
		break;
	case DB_REFUSED:
		fatalx("database: %s: refusing to issue certificates", err);
	default:
		fatalx("database: %s", err);
	}
	switch (db_schema_current(db, err, sizeof(err))) {
	case DB_OK:
		break;
	case DB_REFUSED:
		fatalx("database schema is not current: run scepctl db migrate");
	default:
		fatalx("database: %s", err);
	}
	db_close(db);
	if ((srv.crls = crl_cache_new()) == NULL)
		fatal("crl_cache_new");
	srv.challenge_limit = challenge_limit_new(
	    srv.conf->failed_challenges_per_minute, &i);
	if (i)
		fatal("challenge_limit_new");
	/* What needs the database, on threads of their own (http/offload.c). */
	if ((srv.offload = offload_start(&srv, srv.conf->pki_threads,
	    srv.conf->max_queued, err,
	    sizeof(err))) == NULL)
		fatalx("PKIOperation threads: %s", err);
	/* Delivery marks (server/http/delivery.c), off the workers' loops. */
	if ((srv.delivery = delivery_start(srv.conf->database, err,
	    sizeof(err))) == NULL)
		fatalx("delivery marks: %s", err);
	/* Housekeeping (server/sweep.c), beside the workers. */
	if (sweep_start(&srv, err, sizeof(err)) == -1)
		fatalx("sweep: %s", err);
	/* Revocation requests from Intune, beside the workers. */
	if (intune_revocation_start(&srv, err, sizeof(err)) == -1)
		fatalx("Intune revocation: %s", err);
	/* Webhook notifications, from the outbox, beside the workers. */
	if ((srv.notifier = notifier_start(srv.conf, err, sizeof(err))) == NULL)
		fatalx("notifications: %s", err);
	if (http_fit_descriptors(srv.conf, nworkers) == -1)
		fatalx("the descriptor limit (ulimit -n) leaves no room for "
		    "connections: raise it");
	if ((srv.listen_fd = listen_on(srv.conf->listen, srv.conf->port,
	    &bound_port)) == -1)
		exit(1);
	for (i = 0; i < nworkers; i++) {
		if ((workers[i].base = event_base_new()) == NULL ||
		    http_worker_init(&workers[i]) == -1)
			fatalx("cannot set up worker %d", i);
		if (pthread_create(&workers[i].thread, NULL, worker_main,
		    &workers[i]) != 0)
			fatalx("cannot start worker %d", i);
	}
	log_info("serving SCEP on http://%s:%d%s with %d worker%s and "
	    "pki_threads = %d (%s mode)", srv.conf->listen, bound_port,
	    srv.conf->base_path, nworkers, nworkers > 1 ? "s" : "",
	    srv.conf->pki_threads,
	    p7_ca_has_ra(srv.conf->profiles[0].ca) ? "RA" : "CA");
	for (i = 1; i < srv.conf->nprofiles; i++)
		log_info("profile %s on http://%s:%d%s/%s",
		    srv.conf->profiles[i].policy.name, srv.conf->listen,
		    bound_port, srv.conf->base_path,
		    srv.conf->profiles[i].policy.name);

	if ((main_base = event_base_new()) == NULL ||
	    (sigint = evsignal_new(main_base, SIGINT, on_signal, NULL)) == NULL ||
	    (sigterm = evsignal_new(main_base, SIGTERM, on_signal, NULL)) == NULL ||
	    event_add(sigint, NULL) == -1 || event_add(sigterm, NULL) == -1)
		fatalx("cannot set up signal handling");
	event_base_dispatch(main_base);

	/*
	 * The PKIOperations in hand are answered (queued ones with 503)
	 * while the loops still run; each loop then sends what is due and
	 * ends.
	 */
	offload_stop(srv.offload);
	for (i = 0; i < nworkers; i++)
		event_base_loopexit(workers[i].base, NULL);
	for (i = 0; i < nworkers; i++) {
		pthread_join(workers[i].thread, NULL);
		http_worker_free(&workers[i]);
		event_base_free(workers[i].base);
	}
	offload_free(srv.offload);
	/* After the loops: the last replies' marks are queued by now. */
	delivery_stop(srv.delivery);
	sweep_stop();
	intune_revocation_stop();
	notifier_stop(srv.notifier);
	crl_cache_free(srv.crls);
	challenge_limit_free(srv.challenge_limit);
	close(srv.listen_fd);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(main_base);
	free(workers);
	log_info("stopped; %lu certificates signed since the start",
	    p7_issued_count());
done:
	for (i = 0; i < srv.conf->nprofiles; i++)
		intune_free(srv.conf->profiles[i].intune_client);
	free_cas(srv.conf);
	p7_key_shutdown();	/* after the last key on a token is freed */
	conf_free(srv.conf);
	return 0;
}
