/*
 * scepd: options, configuration, the listening socket, then the three
 * processes (server/signer/signer.h): the supervisor, the signer that
 * holds the keys, and the worker, which runs N threads (each with its
 * own event loop, so no lock is shared on the request path), the pool,
 * the sweep and the notifier, and handles signals.
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

#include "server/ca_load.h"
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
#include "server/privdrop.h"
#include "server/scepd.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"
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

/* Intune's client (its TLS key is the worker's, not a CA key). */
static void
load_intune(struct conf *c)
{
	char	err[256];

	for (int i = 0; i < c->nprofiles; i++) {
		struct conf_profile	*p = &c->profiles[i];

		if (policy_profile_has_mode(&p->policy,
		    POLICY_CHALLENGE_INTUNE) && (p->intune_client =
		    intune_new(&p->intune, err, sizeof(err))) == NULL)
			fatalx("profile %s: %s", p->policy.name, err);
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
	char		*signer_argv[6];
	int		 ch, debug = 0, check = 0, verbose = 0, port = -1;
	int		 signer = 0, ctl, nargs = 0;
	unsigned long	 calls, round_trip, key_op;
	int		 nworkers, bound_port, i;
	long		 ncpu;

	while ((ch = getopt(argc, argv, "c:dl:np:Sv")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'S': signer = 1; break;
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
	/*
	 * Nothing inherited beyond stdin, stdout and stderr (the signer's
	 * link is its descriptor 3): a lock or socket of whoever started
	 * us must not live on in a signer or worker.
	 */
	closefrom(signer ? WIRE_LINK_FD + 1 : 3);
	log_init("scepd", debug, verbose);
	signal(SIGPIPE, SIG_IGN);

	if ((conf_path = conf_find(conf_path, argv[0])) == NULL)
		fatalx("no configuration: use -c FILE or set SCEPD_CONF");
	if (signer) {
		log_init("scepd-signer", debug, verbose);
		signer_main(conf_path);
	}
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
	if (check) {
		/* One process: the keys are read here, to be checked. */
		if (ca_load_all(srv.conf) == -1)
			exit(1);
		load_intune(srv.conf);
		printf("%s: configuration OK\n", conf_path);
		goto done;
	}
	/* Bound before the worker gives up its user: the port may be < 1024. */
	if ((srv.listen_fd = listen_on(srv.conf->listen, srv.conf->port,
	    &bound_port)) == -1)
		exit(1);
	signer_argv[nargs++] = (char *)(uintptr_t)"-S";
	signer_argv[nargs++] = (char *)(uintptr_t)"-c";
	signer_argv[nargs++] = (char *)(uintptr_t)conf_path;
	if (debug)
		signer_argv[nargs++] = (char *)(uintptr_t)"-d";
	if (verbose || srv.conf->verbose)
		signer_argv[nargs++] = (char *)(uintptr_t)"-v";
	signer_argv[nargs] = NULL;
	ctl = supervise(signer_argv);

	/* The worker, from here on: it never holds a private key. */
	if (signer_client_start(ctl, err, sizeof(err)) == -1)
		fatalx("signer: %s", err);
	if (ca_load_all(srv.conf) == -1)
		exit(1);
	/*
	 * Refusals of decrypted bytes all take this long (pkcs7/req.c): well
	 * above what the slowest of them costs, a CSR with a large key to
	 * parse and verify.
	 */
	p7_set_uniform_failure_ms(UNIFORM_FAILURE_MS);
	load_intune(srv.conf);
	if (privdrop(srv.conf->user, err, sizeof(err)) == -1)
		fatalx("%s", err);

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
	signer_client_stats(&calls, &round_trip, &key_op);
	log_info("stopped; %lu certificates signed since the start; %lu "
	    "signer operations, %.1f us of round trip each, %.1f us of it "
	    "the key's", p7_issued_count(), calls,
	    calls ? (double)round_trip / (double)calls : 0.0,
	    calls ? (double)key_op / (double)calls : 0.0);
done:
	for (i = 0; i < srv.conf->nprofiles; i++)
		intune_free(srv.conf->profiles[i].intune_client);
	ca_free_all(srv.conf);
	p7_remote_shutdown();	/* after the last remote key is freed */
	p7_key_shutdown();	/* after the last key on a token is freed */
	conf_free(srv.conf);
	return 0;
}
