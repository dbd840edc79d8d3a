/*
 * The worker's side of the signer (server/signer/signer.c): the transport
 * of pkcs7/remote_key.c.  A thread that signs takes a connection from a
 * small pool, sends one request, waits for its answer, and gives the
 * connection back; new connections are socketpairs whose other end goes
 * to the signer over the link.
 *
 * The supervisor sends a link for each signer it starts over the control
 * socket (a thread here waits for them).  A new link means a new signer:
 * the connections to the old one are dropped.  Without a signer, or when
 * one does not answer within SIGNER_TIMEOUT_MS, a call is unavailable:
 * the request in hand is answered 503, never FAILURE.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pkcs7/pkcs7.h"
#include "server/log.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

/* Far above a signature on a token; a signer stuck this long is gone. */
#define SIGNER_TIMEOUT_MS	5000
#define POOL_MAX		64

/* Since the start (signer_client_stats()). */
static _Atomic unsigned long	 ncalls, round_trip_us, key_op_us;

struct conn {
	int		 fd;
	unsigned	 gen;
};

static struct {
	pthread_mutex_t	 mu;
	int		 link;		/* to the current signer, -1: none */
	unsigned	 gen;		/* of link */
	struct conn	 idle[POOL_MAX];
	int		 nidle;
	int		 ctl;		/* from the supervisor */
	pthread_t	 thread;
} pool = { PTHREAD_MUTEX_INITIALIZER, -1, 0, { { 0, 0 } }, 0, -1, 0 };

/* Under pool.mu. */
static void
drop_idle(void)
{
	for (int i = 0; i < pool.nidle; i++)
		close(pool.idle[i].fd);
	pool.nidle = 0;
}

/* A connection to the current signer: 0, or -1 (there is none). */
static int
take(struct conn *c)
{
	int	sv[2];
	int	rc = -1;

	pthread_mutex_lock(&pool.mu);
	if (pool.nidle > 0) {
		*c = pool.idle[--pool.nidle];
		rc = 0;
	} else if (pool.link != -1 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
		if (fd_send(pool.link, sv[1]) == 0) {
			c->fd = sv[0];
			c->gen = pool.gen;
			rc = 0;
		} else
			close(sv[0]);
		close(sv[1]);
	}
	pthread_mutex_unlock(&pool.mu);
	return rc;
}

static void
give_back(struct conn *c)
{
	pthread_mutex_lock(&pool.mu);
	if (c->gen == pool.gen && pool.nidle < POOL_MAX)
		pool.idle[pool.nidle++] = *c;
	else
		close(c->fd);
	pthread_mutex_unlock(&pool.mu);
}

/* The answer to what was just sent on fd, within the timeout. */
static ssize_t
await(int fd, struct wire_resp *rs)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	int		n;

	do
		n = poll(&pfd, 1, SIGNER_TIMEOUT_MS);
	while (n == -1 && errno == EINTR);
	if (n != 1)
		return -1;
	return recv(fd, rs, sizeof(*rs), MSG_DONTWAIT | MSG_TRUNC);
}

/*
 * Send rq (its header and len bytes of data) to the current signer and
 * read its answer into *rs; *gen is that signer's generation.  A key
 * operation is counted in signer_client_stats(), the counts' queries are
 * not.  Returns 0, or P7_REMOTE_UNAVAILABLE (no signer, or no answer).
 */
static int
round_trip(struct wire_req *rq, struct wire_resp *rs, unsigned *gen)
{
	struct conn		 c;
	struct timespec		 t0;
	size_t			 len = WIRE_REQ_HEAD + rq->len;
	ssize_t			 n;

	if (take(&c) == -1)
		return P7_REMOTE_UNAVAILABLE;
	rq->magic = WIRE_MAGIC;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send(c.fd, rq, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    (n = await(c.fd, rs)) < (ssize_t)WIRE_RESP_HEAD ||
	    n > (ssize_t)sizeof(*rs) || rs->magic != WIRE_MAGIC ||
	    rs->len > WIRE_MAX_DATA || (size_t)n != WIRE_RESP_HEAD + rs->len) {
		/* Gone, stuck or confused: this connection is done. */
		close(c.fd);
		return P7_REMOTE_UNAVAILABLE;
	}
	*gen = c.gen;
	give_back(&c);
	if (rq->op == WIRE_OP_STATS)
		return 0;
	ncalls++;
	round_trip_us += (unsigned long)log_us_since(&t0);
	key_op_us += rs->usec;
	return 0;
}

static int
transport(void *arg, struct p7_remote_call *call)
{
	struct wire_req		 rq;
	struct wire_resp	 rs;
	unsigned		 gen;
	int			 rc = -1;

	(void)arg;
	if (call->in_len > WIRE_MAX_DATA)
		return -1;
	memset(&rq, 0, WIRE_REQ_HEAD);
	rq.op = (uint8_t)call->op;
	rq.purpose = (uint8_t)call->purpose;
	rq.md_nid = call->md_nid;
	memcpy(rq.key_id, call->key_id, sizeof(rq.key_id));
	rq.len = (uint32_t)call->in_len;
	memcpy(rq.data, call->in, call->in_len);
	if (round_trip(&rq, &rs, &gen) != 0) {
		OPENSSL_cleanse(&rq, sizeof(rq));
		return P7_REMOTE_UNAVAILABLE;
	}
	if (rs.status == 0 && rs.len <= call->out_cap) {
		memcpy(call->out, rs.data, rs.len);
		call->out_len = rs.len;
		rc = 0;
	}
	OPENSSL_cleanse(&rs, sizeof(rs));
	OPENSSL_cleanse(&rq, sizeof(rq));
	return rc;
}

/* Under pool.mu: a new signer; the connections to the old one are done. */
static void
install(int link)
{
	if (pool.link != -1)
		close(pool.link);
	pool.link = link;
	pool.gen++;
	drop_idle();
}

/* The link to each new signer, from the supervisor. */
static void *
control(void *arg)
{
	int	fd;

	(void)arg;
	while ((fd = fd_recv(pool.ctl)) != -1) {
		if (fd == -2)
			continue;
		pthread_mutex_lock(&pool.mu);
		install(fd);
		pthread_mutex_unlock(&pool.mu);
		log_info("signer: a new signer is serving");
	}
	return NULL;
}

int
signer_client_start(int ctl, char *err, size_t errlen)
{
	int	fd;

	if (p7_remote_init(transport, NULL, err, errlen) == -1)
		return -1;
	/* The supervisor sends the first link as soon as the worker runs. */
	if ((fd = fd_recv(ctl)) < 0) {
		snprintf(err, errlen, "no link to the signer");
		return -1;
	}
	install(fd);
	pool.ctl = ctl;
	if (pthread_create(&pool.thread, NULL, control, NULL) != 0) {
		snprintf(err, errlen, "cannot start the signer's control "
		    "thread");
		return -1;
	}
	pthread_detach(pool.thread);
	return 0;
}

int
signer_client_key_use(const unsigned char id[P7_KEY_ID_LEN],
    struct wire_key_use *u, unsigned *gen)
{
	struct wire_req		 rq;
	struct wire_resp	 rs;

	memset(&rq, 0, WIRE_REQ_HEAD);
	rq.op = WIRE_OP_STATS;
	memcpy(rq.key_id, id, sizeof(rq.key_id));
	if (round_trip(&rq, &rs, gen) != 0)
		return P7_REMOTE_UNAVAILABLE;
	if (rs.status != 0 || rs.len != sizeof(*u))
		return -1;
	memcpy(u, rs.data, sizeof(*u));
	return 0;
}

void
signer_client_stats(unsigned long *calls, unsigned long *round_trip,
    unsigned long *key_op)
{
	*calls = ncalls;
	*round_trip = round_trip_us;
	*key_op = key_op_us;
}
