/*
 * The connection caps.  libevent 2.1's evhttp accepts connections itself
 * and shows one to us only with its first request, so a connection is
 * counted from its first request until evhttp closes it (its close
 * callback); one over a cap is answered 503 and closed.  A connection
 * that never sends a request is bounded by limits.request_timeout
 * instead.  One table per worker thread: no lock.  The table is a plain
 * array of at most max_total slots, scanned: a few hundred comparisons
 * per request cost less than the request's own parsing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "server/http/conncap.h"

struct slot {
	struct evhttp_connection	*conn;	/* NULL: free */
	char				 addr[64];
	void				(*gone)(void *);	/* conncap_hold */
	void				*gone_arg;
};

struct conncap {
	int		 max_total;
	int		 max_per_address;
	struct slot	*slots;		/* max_total of them */
};

struct conncap *
conncap_new(int max_total, int max_per_address)
{
	struct conncap	*cc;

	if (max_total < 1 || max_per_address < 1 ||
	    (cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	if ((cc->slots = calloc((size_t)max_total, sizeof(*cc->slots))) ==
	    NULL) {
		free(cc);
		return NULL;
	}
	cc->max_total = max_total;
	cc->max_per_address = max_per_address;
	return cc;
}

void
conncap_free(struct conncap *cc)
{
	if (cc == NULL)
		return;
	free(cc->slots);
	free(cc);
}

static void
on_close(struct evhttp_connection *conn, void *arg)
{
	struct conncap	*cc = arg;

	for (int i = 0; i < cc->max_total; i++)
		if (cc->slots[i].conn == conn) {
			if (cc->slots[i].gone != NULL)
				cc->slots[i].gone(cc->slots[i].gone_arg);
			memset(&cc->slots[i], 0, sizeof(cc->slots[i]));
			return;
		}
}

int
conncap_admit(struct conncap *cc, struct evhttp_connection *conn,
    const char **why)
{
	struct slot	*free_slot = NULL;
	const char	*addr = "";
	ev_uint16_t	 port;
	int		 same = 0;

	*why = NULL;
	if (conn == NULL)
		return 1;
	evhttp_connection_get_peer(conn, (char **)(uintptr_t)&addr, &port);
	for (int i = 0; i < cc->max_total; i++) {
		struct slot	*s = &cc->slots[i];

		if (s->conn == conn)
			return 1;
		if (s->conn == NULL) {
			if (free_slot == NULL)
				free_slot = s;
		} else if (strcmp(s->addr, addr) == 0)
			same++;
	}
	if (free_slot == NULL) {
		*why = "limits.max_connections";
		return 0;
	}
	if (same >= cc->max_per_address) {
		*why = "limits.max_connections_per_address";
		return 0;
	}
	free_slot->conn = conn;
	snprintf(free_slot->addr, sizeof(free_slot->addr), "%s", addr);
	evhttp_connection_set_closecb(conn, on_close, cc);
	return 1;
}

/* The slot of an admitted connection, or NULL. */
static struct slot *
slot_of(struct conncap *cc, struct evhttp_connection *conn)
{
	for (int i = 0; i < cc->max_total; i++)
		if (cc->slots[i].conn == conn)
			return &cc->slots[i];
	return NULL;
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
