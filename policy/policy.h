/*
 * policy/ -- decisions over plain data: which requests a profile accepts
 * and why not.  No I/O; OpenSSL types only.  Every refusal carries a
 * reason an operator can read in the log (never the secret itself).
 */
#ifndef SCEPD_POLICY_H
#define SCEPD_POLICY_H

#include <stddef.h>
#include <time.h>

/* What a profile requires of an enrollment. */
struct policy_profile {
	const char	*name;			/* "default" for /scep */
	const char	*static_challenge;	/* NULL or "": none accepted */
	long		 validity_days;		/* of issued certificates */
	long		 backdate_seconds;	/* notBefore = now - this */
};

/* The facts of one PKCSReq the decision is made on. */
struct policy_request {
	const char	*challenge;	/* challengePassword as UTF-8, or NULL */
	size_t		 challenge_len;
	time_t		 now;
};

/* Mirrors RFC 8894 failInfo, so server/ can map it one to one. */
enum policy_fail {
	POLICY_FAIL_BAD_ALG = 0,
	POLICY_FAIL_BAD_MESSAGE_CHECK = 1,
	POLICY_FAIL_BAD_REQUEST = 2,
	POLICY_FAIL_BAD_TIME = 3,
	POLICY_FAIL_BAD_CERT_ID = 4,
};

struct policy_verdict {
	int			 allow;		/* 1: issue */
	enum policy_fail	 fail;		/* when !allow */
	char			 reason[160];	/* when !allow, for the log */
	time_t			 not_before;	/* when allow */
	time_t			 not_after;
};

/*
 * Decide a PKCSReq for profile: the challenge must equal the profile's
 * static challenge (compared in constant time, whatever the lengths).
 * Returns 0 with *v filled, -1 on an internal error.
 */
int	policy_decide_pkcsreq(const struct policy_profile *,
	    const struct policy_request *, struct policy_verdict *v);

/*
 * Compare a presented secret with the expected one in time independent
 * of where they differ and of their lengths.  1 equal, 0 not, -1 error.
 */
int	policy_secret_equal(const char *expected, size_t expected_len,
	    const char *given, size_t given_len);

#endif /* SCEPD_POLICY_H */
