/*
 * Lines that would repeat.  A flood of identical bad requests from one
 * address must not become a flood of identical log lines (a full disk is
 * a denial of service too): the first line of a kind is logged at once;
 * the same key and text within REPEAT_WINDOW seconds is only counted,
 * and the count is logged once the window is over, as "<line> (repeated
 * N times in 60 s)".  A small table under one lock: a line logged is
 * slower than the lookup.  Read-only answers, which a client may ask for
 * thousands of times a second, are only counted, and the counts logged
 * once a window.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/log.h"

#define REPEAT_WINDOW	60	/* seconds */
#define REPEAT_SLOTS	128

struct repeat {
	char	key[64];	/* "": free */
	char	text[512];
	time_t	since;		/* the window started */
	long	count;		/* lines counted, not logged */
};

static struct repeat	repeats[REPEAT_SLOTS];
static pthread_mutex_t	repeat_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_long	served[LOG_SERVED_KINDS];
static time_t		served_since;	/* under repeat_mu */

static time_t
now_s(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* The window of r is over: say what it counted, free it.  Under the lock. */
static void
repeat_end(struct repeat *r)
{
	if (r->count > 0)
		log_info("%s (repeated %ld time%s in %d s)", r->text, r->count,
		    r->count == 1 ? "" : "s", REPEAT_WINDOW);
	r->key[0] = '\0';
	r->count = 0;
}

void
log_repeat(const char *key, const char *fmt, ...)
{
	struct repeat	*r = NULL, *oldest = &repeats[0];
	char		 text[sizeof(repeats[0].text)];
	va_list		 ap;
	time_t		 now = now_s();

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	pthread_mutex_lock(&repeat_mu);
	for (int i = 0; i < REPEAT_SLOTS && r == NULL; i++) {
		struct repeat	*e = &repeats[i];

		if (e->key[0] != '\0' && strcmp(e->key, key) == 0 &&
		    strcmp(e->text, text) == 0)
			r = e;
		else if (e->key[0] == '\0' || e->since < oldest->since)
			oldest = e;
	}
	if (r != NULL && now - r->since < REPEAT_WINDOW) {
		r->count++;
		pthread_mutex_unlock(&repeat_mu);
		return;
	}
	if (r == NULL) {
		if (oldest->key[0] != '\0')
			repeat_end(oldest);
		r = oldest;
	} else
		repeat_end(r);
	snprintf(r->key, sizeof(r->key), "%s", key[0] != '\0' ? key : "-");
	memcpy(r->text, text, sizeof(r->text));
	r->since = now;
	r->count = 0;
	pthread_mutex_unlock(&repeat_mu);
	log_info("%s", text);
}

void
log_served(enum log_served kind)
{
	atomic_fetch_add_explicit(&served[kind], 1, memory_order_relaxed);
}

/* The window's read-only answers, if any.  Under the lock. */
static void
served_end(void)
{
	long	n[LOG_SERVED_KINDS];

	for (int i = 0; i < LOG_SERVED_KINDS; i++)
		n[i] = atomic_exchange(&served[i], 0);
	if (n[0] + n[1] + n[2] + n[3] > 0)
		log_info("answered in %d s: GetCACaps %ld, GetCACert %ld, "
		    "CRL %ld, OCSP %ld", REPEAT_WINDOW, n[LOG_SERVED_GETCACAPS],
		    n[LOG_SERVED_GETCACERT], n[LOG_SERVED_CRL],
		    n[LOG_SERVED_OCSP]);
}

void
log_repeat_flush(void)
{
	time_t	now = now_s();

	pthread_mutex_lock(&repeat_mu);
	if (served_since == 0)
		served_since = now;
	else if (now - served_since >= REPEAT_WINDOW) {
		served_end();
		served_since = now;
	}
	for (int i = 0; i < REPEAT_SLOTS; i++)
		if (repeats[i].key[0] != '\0' &&
		    now - repeats[i].since >= REPEAT_WINDOW)
			repeat_end(&repeats[i]);
	pthread_mutex_unlock(&repeat_mu);
}
