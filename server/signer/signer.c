/*
 * The signer process: the one process of scepd that holds private keys.
 * The supervisor (server/signer/supervisor.c) starts it as a fresh image
 * of scepd (scepd -S), so nothing of the worker's memory is in it and
 * nothing of it is in the worker's.  It reads the configuration, loads
 * every CA, RA, previous CA and OCSP-signer key (server/ca_load.c), says
 * WIRE_READY on its link (descriptor 3), and then does one thing: answer
 * "sign this digest" and "decrypt this key block" (pkcs7/remote_perform.c)
 * over connections the worker hands it through the link.  It counts
 * what it did with each key, per purpose (WIRE_OP_STATS answers them),
 * for the audit of key use (docs/keys.md).
 *
 * One thread per connection, so RSA work spreads over the cores as it
 * did in the worker's pool.  A connection that sends anything but a
 * well-formed request is closed; the signer parses no ASN.1 of what a
 * client sent, only the fixed header of server/signer/wire.h.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pkcs7/pkcs7.h"
#include "server/ca_load.h"
#include "server/conf.h"
#include "server/log.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

/* Connections (threads) at once: the worker opens one per thread that signs. */
#define MAX_CONNECTIONS	1024

_Static_assert(sizeof(struct wire_key_use) <= WIRE_MAX_DATA,
    "the counts of a key do not fit an answer");

struct held {
	unsigned char	 id[P7_KEY_ID_LEN];
	EVP_PKEY	*key;
	/* Since the start, per enum p7_purpose: as struct wire_key_use. */
	_Atomic uint64_t done[P7_PURPOSE_MAX];
	_Atomic uint64_t failed[P7_PURPOSE_MAX];
};

static struct held	*keys;
static int		 nkeys;
static atomic_int	 nconnections;

/* ca_keys_each()'s fn: hold key. */
static int
add_key(EVP_PKEY *key, const unsigned char *id, void *arg)
{
	struct held	*k;

	(void)arg;
	if ((k = reallocarray(keys, (size_t)nkeys + 1, sizeof(*k))) == NULL)
		return -1;
	keys = k;
	k = &keys[nkeys++];
	memset(k, 0, sizeof(*k));
	memcpy(k->id, id, P7_KEY_ID_LEN);
	k->key = key;
	return 0;
}

static struct held *
find_key(const unsigned char id[P7_KEY_ID_LEN])
{
	for (int i = 0; i < nkeys; i++)
		if (memcmp(keys[i].id, id, P7_KEY_ID_LEN) == 0)
			return &keys[i];
	return NULL;
}

/* Perform rq with k into rs, counted under its purpose; 0 or -1. */
static int
perform(struct held *k, const struct wire_req *rq, struct wire_resp *rs)
{
	int	rc = -1;

	if (!wire_req_purpose_fits(rq))
		log_warnx("signer: a %s for purpose %s: refused",
		    rq->op == P7_REMOTE_SIGN ? "signature" : "decryption",
		    rq->purpose == P7_PURPOSE_NONE ? "(none)" :
		    p7_purpose_name(rq->purpose));
	else
		rc = wire_perform(k->key, rq, rs);
	if (rq->purpose != P7_PURPOSE_NONE)
		atomic_fetch_add(rc == 0 ? &k->done[rq->purpose] :
		    &k->failed[rq->purpose], 1);
	return rc;
}

/* The counts of k, as struct wire_key_use, into rs. */
static void
stats(struct held *k, struct wire_resp *rs)
{
	struct wire_key_use	u;

	for (int p = 0; p < P7_PURPOSE_MAX; p++) {
		u.done[p] = atomic_load(&k->done[p]);
		u.failed[p] = atomic_load(&k->failed[p]);
	}
	memcpy(rs->data, &u, sizeof(u));
	rs->len = sizeof(u);
}

/* One request: 0 answered (perhaps with a refusal), -1 close. */
static int
answer(int fd, struct wire_req *rq, ssize_t n, struct wire_resp *rs)
{
	struct held		*k;
	size_t			 len;

	if (wire_req_malformed(rq, (size_t)n)) {
		log_warnx("signer: malformed request (%zd bytes): closing "
		    "the connection", n);
		return -1;
	}
	memset(rs, 0, WIRE_RESP_HEAD);
	rs->magic = WIRE_MAGIC;
	rs->status = -1;
	if ((k = find_key(rq->key_id)) == NULL)
		log_warnx("signer: request for a key it does not hold");
	else if (rq->op == WIRE_OP_STATS) {
		stats(k, rs);
		rs->status = 0;
	} else if (perform(k, rq, rs) == 0)
		rs->status = 0;
	len = WIRE_RESP_HEAD + rs->len;
	/* A decrypted key block is secret: nothing of it stays behind. */
	if (send(fd, rs, len, MSG_NOSIGNAL) != (ssize_t)len) {
		OPENSSL_cleanse(rs->data, sizeof(rs->data));
		return -1;
	}
	OPENSSL_cleanse(rs->data, sizeof(rs->data));
	return 0;
}

static void *
serve(void *arg)
{
	int			 fd = (int)(intptr_t)arg;
	struct wire_req		 rq;
	struct wire_resp	 rs;
	ssize_t			 n;

	for (;;) {
		/*
		 * MSG_TRUNC: n is the message's whole length, so a longer one
		 * than a request can be is seen, and refused, though only
		 * sizeof(rq) of it is read.
		 */
		n = recv(fd, &rq, sizeof(rq), MSG_TRUNC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || answer(fd, &rq, n, &rs) == -1)
			break;
	}
	close(fd);
	atomic_fetch_sub(&nconnections, 1);
	return NULL;
}

void
signer_main(const char *conf_path)
{
	struct conf	*c;
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 fd;

	(void)prctl(PR_SET_NAME, "scepd-signer");
	/* The supervisor stops it, after the worker (a ^C reaches all three). */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if ((c = conf_load(conf_path, CONF_CHECK_FILES)) == NULL)
		exit(1);
	if (ca_load_all(c) == -1 || ca_keys_each(c, add_key, NULL) == -1)
		exit(1);
	if (send(WIRE_LINK_FD, WIRE_READY, sizeof(WIRE_READY), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(WIRE_READY))
		exit(1);
	log_debug("signer: %d key%s loaded", nkeys, nkeys == 1 ? "" : "s");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The link's end is the worker's: nothing more to sign for. */
	while ((fd = fd_recv(WIRE_LINK_FD)) != -1) {
		if (fd == -2)
			continue;
		if (atomic_load(&nconnections) >= MAX_CONNECTIONS) {
			log_warnx("signer: %d connections already: refusing "
			    "one more", MAX_CONNECTIONS);
			close(fd);
			continue;
		}
		atomic_fetch_add(&nconnections, 1);
		if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd) !=
		    0) {
			log_warnx("signer: cannot start a thread");
			atomic_fetch_sub(&nconnections, 1);
			close(fd);
		}
	}
	exit(0);
}
