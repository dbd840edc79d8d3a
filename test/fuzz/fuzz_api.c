/*
 * libFuzzer target: the admin API's network input (server/api_parse.c):
 * the same bytes as a mint request's JSON body and as an Authorization
 * header, Bearer and Basic.  Properties: what parses passes the binding
 * checks again unchanged; a Basic user name never holds the colon.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/api/api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_mint	 m;
	char		*s, tok[128], user[API_NAME_MAX + 1], pass[128];
	char		 err[256];
	size_t		 i;

	if (api_parse_mint((const char *)data, size, &m, err,
	    sizeof(err)) == 0) {
		if (api_mint_check(&m, err, sizeof(err)) != 0)
			abort();
		for (i = 0; i < m.nsans; i++)
			if (strchr(m.sans[i], ':') == NULL)
				abort();
		api_mint_clear(&m);
	}

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (api_parse_bearer(s, tok, sizeof(tok)) == 0 &&
	    (tok[0] == '\0' || strchr(tok, ' ') != NULL))
		abort();
	if (api_parse_basic(s, user, sizeof(user), pass, sizeof(pass)) == 0 &&
	    strchr(user, ':') != NULL)
		abort();
	(void)api_token_wellformed(s);
	(void)api_name_valid(s);
	free(s);
	return 0;
}
