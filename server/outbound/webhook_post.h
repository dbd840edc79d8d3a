/*
 * A signed POST to a profile's webhook (docs/webhook.md): the body with
 * X-Scepd-Timestamp and X-Scepd-Signature (HMAC-SHA256 under the
 * profile's secret), sent once more after a short pause only when no
 * connection could be made.
 */
#ifndef SCEPD_OUTBOUND_WEBHOOK_POST_H
#define SCEPD_OUTBOUND_WEBHOOK_POST_H

#include <stddef.h>

#include "policy/policy.h"
#include "server/outbound/http_client.h"

/* what ("validate", "notify") and tid are for the log line of a retry. */
enum httpc_result webhook_post(const struct policy_webhook *, const char *what,
	    const char *tid, const char *body, size_t len,
	    struct httpc_reply *reply, int *attempts, char *err,
	    size_t errlen);

#endif /* SCEPD_OUTBOUND_WEBHOOK_POST_H */
