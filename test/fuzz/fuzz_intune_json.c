/*
 * libFuzzer target: an answer of Entra ID, Graph or Intune through every
 * reader of server/outbound/intune_json.c.  Properties: a refusal leaves
 * nothing allocated and says why; what is accepted is what the caller
 * relies on (a token, an https URI, a code name, revocation requests
 * with context and serial, at most as many as asked for); nothing that
 * reaches a log line holds a control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/outbound/intune_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct intune_revocation	*q;
	char				*tok, *uri, code[64], desc[256];
	char				 e[256];
	long long			 life;
	size_t				 n, max = size % 7 + 1;

	e[0] = '\0';
	if (intune_json_token(data, size, &tok, &life, e, sizeof(e)) == 0) {
		if (tok == NULL || tok[0] == '\0')
			abort();
		free(tok);
	} else if (tok != NULL || e[0] == '\0')
		abort();

	intune_json_token_error(data, size, code, sizeof(code), desc,
	    sizeof(desc));
	printable(code);
	printable(desc);

	e[0] = '\0';
	if (intune_json_service(data, size, "PkiConnectorFEService", &uri, e,
	    sizeof(e)) == 0) {
		if (uri != NULL && strncmp(uri, "https://", 8) != 0)
			abort();
		free(uri);
	} else if (uri != NULL || e[0] == '\0')
		abort();

	e[0] = '\0';
	if (intune_json_code(data, size, code, sizeof(code), desc,
	    sizeof(desc), e, sizeof(e)) == 0) {
		if (code[0] == '\0' || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(code))
			abort();
		printable(desc);
	} else if (code[0] != '\0' || e[0] == '\0')
		abort();

	e[0] = '\0';
	if (intune_json_revocations(data, size, max, &q, &n, e,
	    sizeof(e)) == 0) {
		if (n > max || (n > 0 && q == NULL))
			abort();
		for (size_t i = 0; i < n; i++) {
			if (q[i].context == NULL || q[i].serial == NULL)
				abort();
			printable(q[i].context);
			printable(q[i].serial);
			if (q[i].issuer != NULL)
				printable(q[i].issuer);
		}
		intune_revocations_free(q, n);
	} else if (q != NULL || n != 0 || e[0] == '\0')
		abort();

	(void)intune_json_uploaded(data, size, e, sizeof(e));
	return 0;
}
