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

#endif /* SCEPD_OUTBOUND_INTUNE_H */
