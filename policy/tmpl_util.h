/*
 * Private to policy/: the pieces of the certificate template engine that
 * template.c (subject, key, validity, EKU) and san.c (subjectAltName)
 * share, implemented in tmpl_util.c.  Every function that can refuse
 * returns 0 for yes, 1 with a reason for a refusal and -1 for an
 * internal error (out of memory).
 */
#ifndef SCEPD_POLICY_TMPL_UTIL_H
#define SCEPD_POLICY_TMPL_UTIL_H

#include <stddef.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"

/* Longest expanded template value or SAN we build, in bytes. */
#define TMPL_VALUE_MAX	1024

/* Fill reason from fmt and return 1: the refusal convention above. */
int	policy_tmpl_refuse(char *reason, size_t reasonlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Where template variables come from. */
struct tmpl_vars {
	const X509_NAME			*csr_subject;	/* borrowed */
	const struct policy_binding	*b;	/* borrowed, may be NULL */
	int				 check;	/* config check: every known
						 * variable is "x" */
};

/*
 * Expand the variables in braces in in (len bytes) into out: {csr.cn},
 * {csr.o}, {csr.ou}, {csr.subject}, {device_id}, {sid}, {var.NAME}.
 * A backslash makes the next character literal.  An unknown, ambiguous
 * or empty variable, a value with control characters or bad UTF-8, or
 * an unbalanced brace refuses (1, reason names it).
 */
int	policy_tmpl_expand(const char *in, size_t len, const struct tmpl_vars *,
	    char *out, size_t outlen, char *reason, size_t reasonlen);

/*
 * 1 if s (len bytes) is well-formed UTF-8 without NUL, C0/C1 control
 * characters, DEL, line/paragraph separators or bidi controls
 * (reliability H-46), else 0.
 */
int	policy_tmpl_text_ok(const unsigned char *s, size_t len);

/* s (len bytes) for a log line: printable ASCII kept, the rest \xNN,
 * cut to outlen - 1 with "..." when longer. */
void	policy_tmpl_printable(const unsigned char *s, size_t len, char *out,
	    size_t outlen);

/*
 * name as RFC 2253 text (UTF-8 kept) into out; refuses (1) an empty or
 * too long name as the {csr.subject} variable.
 */
int	policy_tmpl_name_rfc2253(const X509_NAME *name, char *out,
	    size_t outlen, char *reason, size_t reasonlen);

/* 1 if s is a textual Windows SID S-1-<authority>(-<subauthority>){1,15}. */
int	policy_tmpl_sid_ok(const char *s);

/* The prefix of Intune's strong-mapping SAN URI (KB5014754). */
#define TMPL_SID_URI_PREFIX	"tag:microsoft.com,2022-09-14:sid:"

#endif /* SCEPD_POLICY_TMPL_UTIL_H */
