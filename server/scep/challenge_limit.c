/*
 * Failed challenges per client address.  A guessed challenge costs the
 * guesser one request and scepd a decryption, a database transaction and
 * perhaps a validator's call: past limits.failed_challenges_per_minute
 * failures in a minute, an address gets FAILURE badRequest at once for
 * the rest of that minute.  A fixed table of addresses under one lock,
 * the oldest forgotten when it is full: an attacker with more addresses
 * than slots is only as limited as the table allows, and a legitimate
 * address is never blocked for longer than its own minute.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/scep/challenge_limit.h"

#define SLOTS		4096
#define WINDOW		60	/* seconds */

struct entry {
	char	addr[64];	/* "": free */
	time_t	since;		/* its minute began */
	int	count;		/* failures in it */
};

struct challenge_limit {
	pthread_mutex_t	 mu;
	int		 per_minute;
	struct entry	 e[SLOTS];
};

struct challenge_limit *
challenge_limit_new(int per_minute, int *failed)
{
	struct challenge_limit	*cl;

	*failed = 0;
	if (per_minute <= 0)
		return NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		*failed = 1;
		return NULL;
	}
	pthread_mutex_init(&cl->mu, NULL);
	cl->per_minute = per_minute;
	return cl;
}

void
challenge_limit_free(struct challenge_limit *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

static time_t
now_s(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static unsigned int
hash(const char *s)
{
	unsigned int	h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/*
 * The entry of addr, its minute renewed if over; with create, a new one
 * in place of the stalest of its probe run.  Under the lock.
 */
static struct entry *
find(struct challenge_limit *cl, const char *addr, time_t now, int create)
{
	struct entry	*stale = NULL;
	unsigned int	 h = hash(addr);

	for (unsigned int i = 0; i < 8; i++) {
		struct entry	*e = &cl->e[(h + i) % SLOTS];

		if (e->addr[0] != '\0' && strcmp(e->addr, addr) == 0) {
			if (now - e->since >= WINDOW) {
				e->since = now;
				e->count = 0;
			}
			return e;
		}
		if (stale == NULL || e->addr[0] == '\0' ||
		    (stale->addr[0] != '\0' && e->since < stale->since))
			stale = e;
	}
	if (!create)
		return NULL;
	memset(stale, 0, sizeof(*stale));
	snprintf(stale->addr, sizeof(stale->addr), "%s", addr);
	stale->since = now;
	return stale;
}

int
challenge_limit_over(struct challenge_limit *cl, const char *addr)
{
	struct entry	*e;
	int		 over;

	if (cl == NULL)
		return 0;
	pthread_mutex_lock(&cl->mu);
	e = find(cl, addr, now_s(), 0);
	over = e != NULL && e->count >= cl->per_minute;
	pthread_mutex_unlock(&cl->mu);
	return over;
}

void
challenge_limit_failed(struct challenge_limit *cl, const char *addr)
{
	if (cl == NULL)
		return;
	pthread_mutex_lock(&cl->mu);
	find(cl, addr, now_s(), 1)->count++;
	pthread_mutex_unlock(&cl->mu);
}
