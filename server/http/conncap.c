/*
 * The connection caps and the request deadline.  libevent 2.1's evhttp
 * accepts connections itself and shows one to us only with its first
 * complete request, and its timeout is per read: a client that sends one
 * byte every few seconds is never cut.  So every connection is counted
 * from its accept, through the bufferevent evhttp asks us for
 * (evhttp_set_bevcb): we hold a reference to it, watch its buffers, and
 * look up its peer once evhttp has given it the socket.
 *
 * A request must arrive whole within limits.request_deadline seconds of
 * the accept (the first request) or of its first byte (the next ones on
 * a kept-alive connection); the time its answer takes is not counted.
 * One that does not is cut with shutdown(): evhttp then reads the end of
 * the stream and frees the connection itself.  A connection over a cap
 * is marked at accept and answered 503 when its request comes, within
 * OVER_DEADLINE_MS; beyond the grace slots it is cut at once.
 *
 * One table per worker thread: no lock.  The table is a plain array,
 * scanned: a few hundred comparisons per connection cost less than its
 * request's own parsing.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "server/http/conncap.h"
#include "server/log.h"

/* A connection over a cap has this long to send the request its 503 answers. */
#define OVER_DEADLINE_MS	2000

enum over { OVER_NONE, OVER_TOTAL, OVER_ADDRESS };

static const char *const cap_names[] = {
	[OVER_TOTAL] = "limits.max_connections",
	[OVER_ADDRESS] = "limits.max_connections_per_address",
};

struct slot {
	struct conncap		*cc;
	struct bufferevent	*bev;	/* NULL: free; holds our reference */
	struct evhttp_connection *conn;	/* from its first request */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	char			 addr[64];	/* "" until looked up */
	enum over		 over;
	uint64_t		 since;	/* ms; 0: no request being read */
	int			 busy;	/* a request is being answered */
	void			(*gone)(void *);	/* conncap_hold */
	void			*gone_arg;
};

struct conncap {
	struct event_base	*base;
	int			 max_total;
	int			 max_per_address;
	uint64_t		 deadline_ms;
	int			 nslots;	/* max_total and the grace */
	struct slot		*slots;
	struct event		*tick;
};

static uint64_t
now_ms(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/*
 * evhttp has let go of the bufferevent: bufferevent_free() clears every
 * callback.  Not the read callback alone: evhttp clears that one while it
 * writes an answer out.  The event callback it sets in every state.
 */
static int
released_by_evhttp(struct bufferevent *bev)
{
	bufferevent_event_cb	 ecb;

	bufferevent_getcb(bev, NULL, NULL, &ecb, NULL);
	return ecb == NULL;
}

static void
slot_free(struct slot *s)
{
	if (s->gone != NULL)
		s->gone(s->gone_arg);
	evbuffer_remove_cb_entry(bufferevent_get_input(s->bev), s->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(s->bev), s->out_cb);
	bufferevent_decref(s->bev);
	memset(s, 0, sizeof(*s));
}

/* End the connection: evhttp reads the end of the stream and frees it. */
static void
cut(struct slot *s)
{
	evutil_socket_t	fd = bufferevent_getfd(s->bev);

	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
}

/*
 * Bytes arrived: a request is being read from now, if none was.  Or the
 * client sends on after evhttp let go of the connection (it answered
 * 400 and shut its side): our reference keeps the bufferevent reading,
 * so stop it here rather than buffer what comes until the slot is freed.
 */
static void
on_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct slot	*s = arg;

	if (info->n_added == 0)
		return;
	if (released_by_evhttp(s->bev)) {
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		evbuffer_drain(b, evbuffer_get_length(b));
		return;
	}
	if (!s->busy && s->since == 0)
		s->since = now_ms();
}

/* The answer is written out: the next request's time starts. */
static void
on_output(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct slot	*s = arg;

	if (info->n_deleted == 0 || evbuffer_get_length(b) != 0 || !s->busy)
		return;
	s->busy = 0;
	s->since = evbuffer_get_length(bufferevent_get_input(s->bev)) > 0 ?
	    now_ms() : 0;
}

/*
 * Free the slots of the connections evhttp has let go of since the last
 * look (those it frees before their first request never call on_close):
 * at each accept, so that they count against no cap and their
 * descriptors are closed before another is taken, and once a second.
 */
static void
reap(struct conncap *cc)
{
	for (int i = 0; i < cc->nslots; i++)
		if (cc->slots[i].bev != NULL &&
		    released_by_evhttp(cc->slots[i].bev))
			slot_free(&cc->slots[i]);
}

/* Right after the accept, once evhttp has given the bufferevent its socket. */
static void
inspect(evutil_socket_t unused, short what, void *arg)
{
	struct slot		*s = arg;
	struct conncap		*cc = s->cc;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const void		*a = NULL;
	evutil_socket_t		 fd;
	int			 total = 0, same = 0;

	(void)unused;
	(void)what;
	if (s->bev == NULL || s->addr[0] != '\0')
		return;
	if (released_by_evhttp(s->bev)) {
		slot_free(s);
		return;
	}
	fd = bufferevent_getfd(s->bev);
	if (fd != -1 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&ss)->sin_addr;
		else if (ss.ss_family == AF_INET6)
			a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	}
	if (a == NULL || evutil_inet_ntop(ss.ss_family, a, s->addr,
	    sizeof(s->addr)) == NULL)
		snprintf(s->addr, sizeof(s->addr), "?");
	for (int i = 0; i < cc->nslots; i++) {
		struct slot	*o = &cc->slots[i];

		if (o == s || o->bev == NULL || o->over != OVER_NONE)
			continue;
		total++;
		if (strcmp(o->addr, s->addr) == 0)
			same++;
	}
	if (total >= cc->max_total)
		s->over = OVER_TOTAL;
	else if (same >= cc->max_per_address)
		s->over = OVER_ADDRESS;
}

static void
on_tick(evutil_socket_t unused, short what, void *arg)
{
	(void)unused;
	(void)what;
	conncap_tick(arg);
}

void
conncap_tick(struct conncap *cc)
{
	uint64_t	 now = now_ms();

	for (int i = 0; i < cc->nslots; i++) {
		struct slot	*s = &cc->slots[i];
		uint64_t	 limit;

		if (s->bev == NULL)
			continue;
		if (released_by_evhttp(s->bev)) {
			slot_free(s);
			continue;
		}
		limit = s->over != OVER_NONE ? OVER_DEADLINE_MS :
		    cc->deadline_ms;
		if (s->since == 0 || now - s->since < limit)
			continue;
		if (s->over == OVER_NONE)
			log_repeat(s->addr, "%s: request not complete within "
			    "%llu s (limits.request_deadline): connection "
			    "closed", s->addr,
			    (unsigned long long)(limit / 1000));
		cut(s);
		s->since = 0;
	}
	/* The clock of every collapsed log line (server/log_repeat.c). */
	log_repeat_flush();
}

struct conncap *
conncap_new(struct event_base *base, int max_total, int max_per_address,
    int deadline_s)
{
	struct conncap	*cc;
	struct timeval	 second = { 1, 0 };

	if (max_total < 1 || max_per_address < 1 || deadline_s < 1 ||
	    (cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	cc->base = base;
	cc->max_total = max_total;
	cc->max_per_address = max_per_address;
	cc->deadline_ms = (uint64_t)deadline_s * 1000;
	cc->nslots = conncap_slots(max_total);
	if ((cc->slots = calloc((size_t)cc->nslots, sizeof(*cc->slots))) ==
	    NULL || (cc->tick = event_new(base, -1, EV_PERSIST, on_tick,
	    cc)) == NULL || event_add(cc->tick, &second) == -1) {
		conncap_free(cc);
		return NULL;
	}
	return cc;
}

int
conncap_slots(int max_total)
{
	return max_total + max_total / 4 + 1;
}

void
conncap_free(struct conncap *cc)
{
	if (cc == NULL)
		return;
	if (cc->tick != NULL)
		event_free(cc->tick);
	for (int i = 0; cc->slots != NULL && i < cc->nslots; i++)
		if (cc->slots[i].bev != NULL) {
			cc->slots[i].gone = NULL;
			slot_free(&cc->slots[i]);
		}
	free(cc->slots);
	free(cc);
}

/* Beyond the grace slots: cut at once, after evhttp has set it up. */
static void
cut_untracked(evutil_socket_t unused, short what, void *arg)
{
	struct bufferevent	*bev = arg;
	evutil_socket_t		 fd;

	(void)unused;
	(void)what;
	if (!released_by_evhttp(bev) && (fd = bufferevent_getfd(bev)) != -1)
		shutdown(fd, SHUT_RDWR);
	bufferevent_decref(bev);
}

struct bufferevent *
conncap_bufferevent(struct event_base *base, void *arg)
{
	struct conncap		*cc = arg;
	struct bufferevent	*bev;
	struct slot		*s = NULL;
	struct timeval		 now = { 0, 0 };

	/*
	 * The bufferevent closes the socket when it is freed, not evhttp
	 * when it lets go of it: until our reference goes, the bufferevent
	 * still has its events on that descriptor, and a descriptor closed
	 * under them would be the next accepted connection's, whose bytes
	 * the stale events would then read away from evhttp.
	 */
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;	/* evhttp makes one itself: not counted */
	reap(cc);
	for (int i = 0; i < cc->nslots && s == NULL; i++)
		if (cc->slots[i].bev == NULL)
			s = &cc->slots[i];
	bufferevent_incref(bev);
	if (s == NULL) {
		log_repeat("accept", "more than %d connections on a worker "
		    "(limits.max_connections and its grace): closed at once",
		    cc->nslots);
		if (event_base_once(base, -1, EV_TIMEOUT, cut_untracked, bev,
		    &now) == -1)
			bufferevent_decref(bev);
		return bev;
	}
	s->cc = cc;
	s->bev = bev;
	s->since = now_ms();
	s->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, s);
	s->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output,
	    s);
	if (s->in_cb == NULL || s->out_cb == NULL ||
	    event_base_once(base, -1, EV_TIMEOUT, inspect, s, &now) == -1) {
		/* Not watched: cut it rather than let it run unbounded. */
		s->since = 1;
	}
	return bev;
}

/* The slot of a connection, or NULL. */
static struct slot *
slot_of(struct conncap *cc, struct evhttp_connection *conn)
{
	struct bufferevent	*bev = evhttp_connection_get_bufferevent(conn);

	for (int i = 0; i < cc->nslots; i++)
		if (cc->slots[i].bev == bev && bev != NULL)
			return &cc->slots[i];
	return NULL;
}

/* evhttp frees the connection: the slot goes with it, at once. */
static void
on_close(struct evhttp_connection *conn, void *arg)
{
	struct slot	*s;

	if ((s = slot_of(arg, conn)) != NULL)
		slot_free(s);
}

int
conncap_admit(struct conncap *cc, struct evhttp_connection *conn,
    const char **why)
{
	struct slot	*s;

	*why = NULL;
	if (conn == NULL || (s = slot_of(cc, conn)) == NULL)
		return 1;
	if (s->conn == NULL) {
		s->conn = conn;
		evhttp_connection_set_closecb(conn, on_close, cc);
	}
	/* Not looked up yet (cannot happen after a whole request): now. */
	if (s->addr[0] == '\0')
		inspect(-1, 0, s);
	s->busy = 1;
	s->since = 0;
	if (s->over != OVER_NONE) {
		*why = cap_names[s->over];
		return 0;
	}
	return 1;
}

int
conncap_hold(struct conncap *cc, struct evhttp_connection *conn,
    void (*gone)(void *), void *arg)
{
	struct slot	*s;

	if ((s = slot_of(cc, conn)) == NULL)
		return -1;
	s->gone = gone;
	s->gone_arg = arg;
	return 0;
}

void
conncap_release(struct conncap *cc, struct evhttp_connection *conn)
{
	struct slot	*s;

	if ((s = slot_of(cc, conn)) != NULL) {
		s->gone = NULL;
		s->gone_arg = NULL;
	}
}
