/*
 * The Microsoft Intune SCEP validation API, as a client (intune.c):
 * tokens from Entra ID, the service map from Microsoft Graph, and the
 * ScepActions calls (docs/mdm.md, "Intune").  One struct intune per
 * profile, shared by every thread that calls it.
 */
#ifndef SCEPD_OUTBOUND_INTUNE_H
#define SCEPD_OUTBOUND_INTUNE_H

#include <stddef.h>
#include <time.h>

#include "server/conf.h"
#include "server/outbound/intune_json.h"

struct intune;

enum intune_rc {
	INTUNE_OK = 0,		/* Intune answered Success */
	INTUNE_REFUSED,		/* Intune answered another code: final */
	INTUNE_ERROR,		/* no answer, or not one we understand */
};

/* Read the credentials of c; NULL with err. */
struct intune	*intune_new(const struct conf_intune *c, char *err,
		    size_t errlen);
void		 intune_free(struct intune *);

/*
 * validateRequest: may the CSR (DER) of SCEP transaction tid be issued?
 * On INTUNE_REFUSED, code holds Intune's code and err its description;
 * on INTUNE_ERROR err says what went wrong, for an operator.
 */
enum intune_rc	 intune_validate(struct intune *, const char *tid,
		    const unsigned char *csr, size_t csrlen, char *code,
		    size_t codelen, char *err, size_t errlen);

/* What successNotification reports. */
struct intune_issued {
	const char		*tid;
	const unsigned char	*csr;		/* DER */
	size_t			 csrlen;
	const char		*thumbprint;	/* SHA-1, upper-case hex */
	const char		*serial;	/* upper-case hex */
	time_t			 not_after;
	const char		*issuer;	/* the CA's name */
};

/* successNotification; the certificate is delivered only on INTUNE_OK. */
enum intune_rc	 intune_success(struct intune *, const struct intune_issued *,
		    char *code, size_t codelen, char *err, size_t errlen);

/*
 * failureNotification: scepd refused (hresult, a short description) a
 * request Intune had validated.
 */
enum intune_rc	 intune_failure(struct intune *, const char *tid,
		    const unsigned char *csr, size_t csrlen, long hresult,
		    const char *description, char *code, size_t codelen,
		    char *err, size_t errlen);

/*
 * downloadRevocationRequests: at most max (1..500) of the revocation
 * requests Intune holds for issuer (the name successNotification gave);
 * *out (intune_revocations_free) and *n.  A request stays with Intune,
 * and comes again, until its result is uploaded.
 */
enum intune_rc	 intune_revocations(struct intune *, const char *issuer,
		    size_t max, struct intune_revocation **out, size_t *n,
		    char *err, size_t errlen);

/* Intune's CA request error codes, as a revocation result carries them. */
enum intune_ca_error {
	INTUNE_CA_NONE = 0,			/* revoked */
	INTUNE_CA_NOT_FOUND = 4004,		/* CertificateNotFoundError */
	INTUNE_CA_CONFLICT = 4005,		/* ConflictError: revoked
						 * already */
};

struct intune_revocation_result {
	const char		*context;	/* the request's */
	enum intune_ca_error	 code;
	const char		*message;	/* for Intune's console; ""
						 * is sent with INTUNE_CA_NONE */
};

/*
 * uploadRevocationResults: INTUNE_OK once Intune answered that it
 * recorded them (the requests then leave its queue).
 */
enum intune_rc	 intune_revocation_results(struct intune *,
		    const struct intune_revocation_result *, size_t n,
		    char *err, size_t errlen);

#endif /* SCEPD_OUTBOUND_INTUNE_H */
