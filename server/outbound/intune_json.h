/*
 * The answers of Entra ID, Graph and Intune, read (intune_json.c): pure
 * functions of the bytes received, so that every one of them is unit
 * tested and fuzzed (test/fuzz/fuzz_intune_json.c) without a network.
 * Each returns 0, or -1 with why in err: what it says goes into scepd's
 * log, so it names the field at fault.
 */
#ifndef SCEPD_OUTBOUND_INTUNE_JSON_H
#define SCEPD_OUTBOUND_INTUNE_JSON_H

#include <stddef.h>

/* Entra ID's token answer: access_token (malloc'd) and expires_in. */
int	intune_json_token(const void *body, size_t len, char **token,
	    long long *expires_in, char *err, size_t errlen);

/*
 * Entra ID's error answer, {"error", "error_description"}: the code and
 * the first line of the description ("" when absent).
 */
void	intune_json_token_error(const void *body, size_t len, char *code,
	    size_t codelen, char *desc, size_t desclen);

/*
 * Graph's service map, {"value": [{"providerName", "uri"}, ...]}: the
 * https URI of the service named (case-insensitively) name, malloc'd, or
 * NULL when not listed.  -1 only when the answer itself is malformed.
 */
int	intune_json_service(const void *body, size_t len, const char *name,
	    char **uri, char *err, size_t errlen);

/* A ScepActions answer, {"code", "errorDescription"}. */
int	intune_json_code(const void *body, size_t len, char *code,
	    size_t codelen, char *desc, size_t desclen, char *err,
	    size_t errlen);

/* One revocation request of downloadRevocationRequests. */
struct intune_revocation {
	char	*context;	/* requestContext, echoed in the result */
	char	*serial;	/* serialNumber */
	char	*issuer;	/* issuerName, NULL if not given */
};

/*
 * downloadRevocationRequests' answer, {"value": [{"requestContext",
 * "serialNumber", "issuerName", "caConfiguration"}, ...]}, at most max
 * entries; *out (intune_revocations_free) and *n.
 */
int	intune_json_revocations(const void *body, size_t len, size_t max,
	    struct intune_revocation **out, size_t *n, char *err,
	    size_t errlen);
void	intune_revocations_free(struct intune_revocation *, size_t n);

/* uploadRevocationResults' answer: 0 for {"value": true} only. */
int	intune_json_uploaded(const void *body, size_t len, char *err,
	    size_t errlen);

#endif /* SCEPD_OUTBOUND_INTUNE_JSON_H */
