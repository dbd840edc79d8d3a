/*
 * libFuzzer target: the query string of a SCEP request, as a client sends
 * it, through scep_query_parse() and scep_base64_decode() of a GET
 * PKIOperation message.  Property: whatever decodes re-encodes to base64
 * that decodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "server/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scep_query	 q;
	unsigned char		*der = NULL, *again = NULL;
	char			*query, *b64, err[128];
	long			 n, m;

	if ((query = malloc(size + 1)) == NULL)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	if (scep_query_parse(query, &q, err, sizeof(err)) == 0 &&
	    q.message != NULL &&
	    (n = scep_base64_decode(q.message, q.message_len, &der)) > 0) {
		b64 = malloc(4 * ((size_t)n + 2) / 3 + 4);
		EVP_EncodeBlock((unsigned char *)b64, der, (int)n);
		m = scep_base64_decode(b64, strlen(b64), &again);
		if (m != n || memcmp(der, again, (size_t)n) != 0)
			abort();
		free(b64);
		free(again);
		free(der);
	}
	scep_query_clear(&q);
	free(query);
	return 0;
}
