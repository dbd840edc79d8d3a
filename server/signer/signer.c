/*
 * The signer process: the one process of scepd that holds private keys.
 * The supervisor (server/signer/supervisor.c) starts it as a fresh image
 * of scepd (scepd -S), so nothing of the worker's memory is in it and
 * nothing of it is in the worker's.  It reads the configuration, loads
 * every CA, RA, previous CA and OCSP-signer key (server/ca_load.c), says
 * WIRE_READY on its link (descriptor 3), and then does one thing: answer
 * "sign this digest" and "decrypt this key block" (pkcs7/remote_perform.c)
 * over connections the worker hands it through the link.
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

struct held {
	unsigned char	 id[P7_KEY_ID_LEN];
	EVP_PKEY	*key;
};

static struct held	*keys;
static int		 nkeys;
static atomic_int	 nconnections;

static int
add_key(EVP_PKEY *key)
{
	unsigned char	 id[P7_KEY_ID_LEN];
	struct held	*k;

	if (key == NULL)
		return 0;
	if (p7_key_id(key, id) == -1)
		return -1;
	for (int i = 0; i < nkeys; i++)
		if (memcmp(keys[i].id, id, sizeof(id)) == 0)
			return 0;
	if ((k = reallocarray(keys, (size_t)nkeys + 1, sizeof(*k))) == NULL)
		return -1;
	keys = k;
	memcpy(keys[nkeys].id, id, sizeof(id));
	keys[nkeys++].key = key;
	return 0;
}

/* Every private key the profiles hold, each once. */
static int
collect_keys(const struct conf *c)
{
	EVP_PKEY	*k[2];
	int		 n;

	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile	*p = &c->profiles[i];

		n = p7_ca_private_keys(p->ca, k);
		for (int j = 0; j < n; j++)
			if (add_key(k[j]) == -1)
				return -1;
		if (p->prev_ca != NULL) {
			n = p7_ca_private_keys(p->prev_ca, k);
			for (int j = 0; j < n; j++)
				if (add_key(k[j]) == -1)
					return -1;
		}
		if (p->ocsp_signer != NULL &&
		    add_key(p7_ocsp_signer_get0_key(p->ocsp_signer)) == -1)
			return -1;
	}
	return 0;
}

static EVP_PKEY *
find_key(const unsigned char id[P7_KEY_ID_LEN])
{
	for (int i = 0; i < nkeys; i++)
		if (memcmp(keys[i].id, id, P7_KEY_ID_LEN) == 0)
			return keys[i].key;
	return NULL;
}

/* One request: 0 answered (perhaps with a refusal), -1 close. */
static int
answer(int fd, struct wire_req *rq, ssize_t n, struct wire_resp *rs)
{
	struct p7_remote_call	 c;
	struct timespec		 t0;
	EVP_PKEY		*key;
	size_t			 len = WIRE_RESP_HEAD;

	if (n < (ssize_t)WIRE_REQ_HEAD || rq->magic != WIRE_MAGIC ||
	    rq->len > WIRE_MAX_DATA || (size_t)n != WIRE_REQ_HEAD + rq->len ||
	    (rq->op != P7_REMOTE_SIGN && rq->op != P7_REMOTE_DECRYPT)) {
		log_warnx("signer: malformed request (%zd bytes): closing "
		    "the connection", n);
		return -1;
	}
	memset(rs, 0, WIRE_RESP_HEAD);
	rs->magic = WIRE_MAGIC;
	rs->status = -1;
	if ((key = find_key(rq->key_id)) == NULL)
		log_warnx("signer: request for a key it does not hold");
	else {
		memset(&c, 0, sizeof(c));
		c.op = (enum p7_remote_op)rq->op;
		c.md_nid = rq->md_nid;
		c.in = rq->data;
		c.in_len = rq->len;
		c.out = rs->data;
		c.out_cap = sizeof(rs->data);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (p7_remote_perform(key, &c) == 0) {
			rs->status = 0;
			rs->len = (uint32_t)c.out_len;
			len += c.out_len;
		}
		rs->usec = (uint32_t)log_us_since(&t0);
	}
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
		/* One byte more than a request can be: a longer one is cut. */
		n = recv(fd, &rq, sizeof(rq), MSG_TRUNC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (n > (ssize_t)sizeof(rq) || answer(fd, &rq, n, &rs) == -1)
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
	if (ca_load_all(c) == -1 || collect_keys(c) == -1)
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
