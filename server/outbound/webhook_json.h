/*
 * The webhook documents as pure functions over bytes (webhook_json.c,
 * fuzzed and unit tested without a network), for server/scep/webhook.c;
 * the POST goes through http_client.h.
 *
 * Wire protocol (docs/webhook.md): scepd POSTs JSON with
 *   X-Scepd-Timestamp: <unix seconds>
 *   X-Scepd-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 * and expects 200 with {"allow": true|false, ...} for a "validate" request.
 */
#ifndef SCEPD_OUTBOUND_WEBHOOK_JSON_H
#define SCEPD_OUTBOUND_WEBHOOK_JSON_H

#include <stddef.h>
#include <time.h>

#include "policy/policy.h"

/* A reply larger than this is refused unread: a bounded budget. */
#define WEBHOOK_MAX_REPLY	(64 * 1024)
/* "sha256=" + 64 hex digits + NUL. */
#define WEBHOOK_SIG_LEN		(7 + 64 + 1)
/* Longest string accepted in a reply field (device id, SID, var...). */
#define WEBHOOK_MAX_FIELD	1024
/* Longest validator "reason" kept for the log. */
#define WEBHOOK_MAX_REASON	200

/* The facts of one request sent for validation; all borrowed. */
struct webhook_validate_req {
	const char		*profile;
	const char		*transaction_id;
	const char		*challenge;	/* UTF-8, not NUL-terminated */
	size_t			 challenge_len;
	const char		*csr_pem;
	const char		*subject;	/* RFC 2253 */
	const char *const	*sans;		/* "DNS:x", "IP:1.2.3.4", ... */
	size_t			 nsans;
	const char		*client_address;
};

/* An issued certificate for the "issued" notification; all borrowed. */
struct webhook_issued {
	const char	*profile;
	const char	*transaction_id;
	const char	*serial;		/* upper-case hex */
	const char	*thumbprint_sha1;	/* upper-case hex of the DER */
	time_t		 not_after;
	const char	*issuer;		/* RFC 2253 */
	const char	*subject;
};

/*
 * Build the JSON documents.  Return a NUL-terminated malloc'ed string the
 * caller frees (its length in *len), or NULL if a value is not valid
 * UTF-8 or memory ran out.
 */
char	*webhook_build_validate(const struct webhook_validate_req *,
	    size_t *len);
char	*webhook_build_issued(const struct webhook_issued *, size_t *len);
char	*webhook_build_refused(const char *profile, const char *transaction_id,
	    const char *reason, size_t *len);

/*
 * Parse a validator's reply body (untrusted, any bytes).  Returns 0 with
 * *allow set: when allowing, out is filled (device_id, sid, subject,
 * sans, vars; the caller clears it with policy_binding_clear()); reason
 * gets the validator's "reason", made printable, if any.  Returns -1 with
 * reason explaining why when the body is not a well-formed reply (too
 * big, not JSON, "allow" missing or not a boolean, a field of the wrong
 * type or with control characters, too many vars); out is then empty.
 * Only a well-formed reply can allow.
 */
int	webhook_parse_reply(const unsigned char *body, size_t len, int *allow,
	    struct policy_binding *out, char *reason, size_t reasonlen);

/*
 * The X-Scepd-Signature value: "sha256=" and the lower-case hex
 * HMAC-SHA256 under key of timestamp, ".", body.  Returns 0 or -1.
 */
int	webhook_sign(const char *key, size_t keylen, const char *timestamp,
	    const void *body, size_t len, char out[WEBHOOK_SIG_LEN]);

/* ISO 8601 UTC, "YYYY-MM-DDThh:mm:ssZ" (21 bytes with the NUL). */
int	webhook_time(time_t, char *buf, size_t len);

#endif /* SCEPD_OUTBOUND_WEBHOOK_JSON_H */
