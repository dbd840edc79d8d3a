/*
 * The signed POST every webhook request goes out as (webhook_post.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "server/outbound/webhook_json.h"
#include "server/outbound/webhook_post.h"

/* Pause before the one retry of a request that could not connect. */
#define RETRY_PAUSE_MS	250

enum httpc_result
webhook_post(const struct policy_webhook *wh, const char *what,
    const char *tid, const char *body, size_t len, struct httpc_reply *reply,
    int *attempts, char *err, size_t errlen)
{
	struct httpc_header	 hdr[2];
	struct timespec		 pause;
	enum httpc_result	 r = HTTPC_INTERNAL;
	char			 ts[32], sig[WEBHOOK_SIG_LEN];

	for (*attempts = 1; *attempts <= 2; (*attempts)++) {
		snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
		if (webhook_sign(wh->secret, strlen(wh->secret), ts, body, len,
		    sig) == -1) {
			snprintf(err, errlen, "cannot compute the signature");
			return HTTPC_INTERNAL;
		}
		hdr[0].name = "X-Scepd-Timestamp";
		hdr[0].value = ts;
		hdr[1].name = "X-Scepd-Signature";
		hdr[1].value = sig;
		r = httpc_post(wh->url, hdr, 2, body, len, wh->timeout_ms,
		    WEBHOOK_MAX_REPLY, reply, err, errlen);
		if (r != HTTPC_UNREACHED || *attempts == 2)
			break;
		log_info("webhook %s %s: %s; retrying once in %d ms", what, tid,
		    err, RETRY_PAUSE_MS);
		pause.tv_sec = 0;
		pause.tv_nsec = RETRY_PAUSE_MS * 1000000L;
		nanosleep(&pause, NULL);
	}
	if (*attempts > 2)
		*attempts = 2;
	return r;
}
