/*
 * GetCACaps (RFC 8894 3.5.2): exact-case tokens, one per line, listing
 * exactly what a profile enforces.  Apple tests each token for exact
 * equality, strongSwan 5.9.8 needs SHA-384 before it uses AES, DES3 and
 * SHA-1 appear only while allowed, Renewal only when the profile renews,
 * GetNextCACert only with a next CA.
 */
#include <stdio.h>
#include <string.h>

#include "server/http/caps.h"

void
caps_build(const struct conf_profile *p, char *buf, size_t len)
{
	static const struct {
		const char	*token;
		int		 is_cipher;
		int		 alg;
	} algs[] = {
		{ "AES", 1, P7_CIPHER_AES128 },
		{ "DES3", 1, P7_CIPHER_3DES },
		{ "SHA-1", 0, P7_MD_SHA1 },
		{ "SHA-256", 0, P7_MD_SHA256 },
		{ "SHA-384", 0, P7_MD_SHA384 },
		{ "SHA-512", 0, P7_MD_SHA512 },
	};
	size_t	off = 0;

#define ADD(s)	do { if (off < len) off += (size_t)snprintf(buf + off, \
		    len - off, "%s\n", (s)); } while (0)
	buf[0] = '\0';
	ADD("POSTPKIOperation");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		unsigned mask = algs[i].is_cipher ? p->algs.ciphers :
		    p->algs.digests;

		if (mask & P7_BIT(algs[i].alg))
			ADD(algs[i].token);
	}
	if (p->policy.renewal.enabled)
		ADD("Renewal");
	if (p->next_ca_cert != NULL && p->next_ca_cert[0] != '\0')
		ADD("GetNextCACert");
	/* SCEPStandard promises AES, POST and SHA-256, which conf enforces. */
	ADD("SCEPStandard");
#undef ADD
}
