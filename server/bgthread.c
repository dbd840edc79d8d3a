/*
 * Background threads (bgthread.h): a round, then a wait on a condition
 * variable with a deadline on the monotonic clock, which a wake or a stop
 * ends early.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "server/bgthread.h"

struct bgthread {
	long		(*round)(void *);
	void		*arg;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 woken;
	int		 stopping;
};

static void
deadline(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void *
run(void *p)
{
	struct bgthread	*b = p;
	struct timespec	 until;
	long		 ms;

	pthread_mutex_lock(&b->mu);
	while (!b->stopping) {
		b->woken = 0;
		pthread_mutex_unlock(&b->mu);
		ms = b->round(b->arg);
		pthread_mutex_lock(&b->mu);
		if (ms <= 0)
			continue;
		deadline(&until, ms);
		while (!b->woken && !b->stopping &&
		    pthread_cond_timedwait(&b->cv, &b->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

struct bgthread *
bgthread_start(long (*round)(void *), void *arg, char *err, size_t errlen)
{
	struct bgthread		*b;
	pthread_condattr_t	 ca;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->round = round;
	b->arg = arg;
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&b->thread, NULL, run, b) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		pthread_mutex_destroy(&b->mu);
		pthread_cond_destroy(&b->cv);
		free(b);
		return NULL;
	}
	return b;
}

/* Set a flag under the lock and wake the thread. */
static void
signal_flag(struct bgthread *b, int *flag)
{
	pthread_mutex_lock(&b->mu);
	*flag = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void
bgthread_wake(struct bgthread *b)
{
	if (b != NULL)
		signal_flag(b, &b->woken);
}

void
bgthread_stop(struct bgthread *b)
{
	if (b == NULL)
		return;
	signal_flag(b, &b->stopping);
	pthread_join(b->thread, NULL);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}
