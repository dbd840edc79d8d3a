/*
 * Renewal: the certificate we issued that signed the request, and the
 * superseding of it.  (Placeholder until the renewal work lands: no
 * signer is known.)
 */
#include <stdio.h>
#include <string.h>

#include "server/scepd.h"

int
renew_signer(struct scep_ctx *c, struct policy_signer *s, char *serial,
    size_t seriallen, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	memset(s, 0, sizeof(*s));
	if (seriallen > 0)
		serial[0] = '\0';
	return 0;
}

int
renew_supersede(struct scep_ctx *c, const char *old_serial,
    const char *new_serial, char *err, size_t errlen)
{
	(void)c;
	(void)old_serial;
	(void)new_serial;
	(void)err;
	(void)errlen;
	return 0;
}
