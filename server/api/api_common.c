/*
 * What the API's handlers share: JSON answers, and the API token check
 * (tokens are stored as SHA-256 only).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "server/api/api_common.h"
#include "server/api/api_parse.h"

/* Set *r to obj as JSON (obj is consumed); 500 if that fails. */
void
api_json_reply(struct reply *r, int status, json_t *obj)
{
	char	*s = NULL;

	if (obj != NULL)
		s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL) {
		reply_text(r, 500, "internal error\n");
		return;
	}
	r->status = status;
	r->content_type = "application/json";
	r->body = (unsigned char *)s;
	r->len = strlen(s);
	r->free_body = 2;
}

void
api_json_error(struct reply *r, int status, const char *msg)
{
	api_json_reply(r, status, json_pack("{s:s}", "error", msg));
}

int
api_token_auth(struct worker *w, const char *tok, char *name, size_t namelen,
    char *err, size_t errlen)
{
	unsigned char	 sha[32];
	enum db_rc	 rc;

	if (!api_token_wellformed(tok))
		return 1;
	if (!EVP_Digest(tok, strlen(tok), sha, NULL, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	rc = db_token_check(w->db, sha, name, namelen, err, errlen);
	OPENSSL_cleanse(sha, sizeof(sha));
	return rc == DB_OK ? 0 : rc == DB_NOT_FOUND ? 1 : -1;
}
