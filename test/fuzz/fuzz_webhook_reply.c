/*
 * libFuzzer target: a validator's reply body through webhook_parse_reply()
 * (docs/webhook.md).  Properties: only a well-formed reply allows; a
 * refused reply leaves nothing bound; whatever is bound is bounded and
 * free of control characters; the reason is printable and can be sent on
 * in a "refused" notification.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/outbound/webhook_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_string(const char *s)
{
	size_t	n;

	if (s == NULL)
		return;
	if ((n = strlen(s)) == 0 || n > WEBHOOK_MAX_FIELD)
		abort();
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_binding	 b;
	char			 why[256], *note;
	size_t			 len;
	int			 allow = -1, rc;

	rc = webhook_parse_reply(data, size, &allow, &b, why, sizeof(why));
	if (rc == -1) {
		if (allow != 0 || b.device_id != NULL || b.sid != NULL ||
		    b.subject != NULL || b.sans.n != 0 || b.nvars != 0 ||
		    why[0] == '\0')
			abort();
	} else if (rc == 0) {
		if (allow != 0 && allow != 1)
			abort();
		if (!allow && (b.device_id != NULL || b.nvars != 0))
			abort();
		if (size > WEBHOOK_MAX_REPLY || b.nvars > POLICY_MAX_VARS)
			abort();
		check_string(b.device_id);
		check_string(b.sid);
		check_string(b.subject);
		for (size_t i = 0; i < b.sans.n; i++)
			check_string(b.sans.v[i]);
		for (size_t i = 0; i < b.nvars; i++) {
			check_string(b.var_name[i]);
			check_string(b.var_value[i]);
		}
	} else
		abort();
	/* The reason goes into the log and on into a refused notification. */
	for (const char *p = why; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	if ((note = webhook_build_refused("p", "t", why, &len)) == NULL)
		abort();
	free(note);
	policy_binding_clear(&b);
	return 0;
}
