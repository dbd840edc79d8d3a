/*
 * The enrollment decision: authenticate (the profile's challenge modes in
 * order, or a renewal's signer certificate), apply the template, then
 * approval.  Nothing is issued unless one of the authentication paths
 * said yes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

static int
deny(struct policy_verdict *v, enum policy_fail fail, const char *fmt, ...)
{
	va_list	ap;

	v->decision = POLICY_DENY;
	v->fail = fail;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static const char *
lookup_text(enum policy_lookup l)
{
	switch (l) {
	case POLICY_LOOKUP_UNKNOWN:	return "unknown challenge";
	case POLICY_LOOKUP_USED:	return "challenge already used: possible replay";
	case POLICY_LOOKUP_EXPIRED:	return "challenge expired";
	case POLICY_LOOKUP_DENIED:	return "validator denied the request";
	case POLICY_LOOKUP_ERROR:	return "challenge check unavailable";
	default:			return "challenge refused";
	}
}

/*
 * A renewal is authenticated by the certificate that signed it: one we
 * issued (pkcs7/ checked the signature), still valid, neither on hold
 * nor revoked, and inside the renewal window (RFC 8894 2.5, 7.6).
 */
static int
check_renewal(const struct policy_profile *p, const struct policy_request *r,
    struct policy_verdict *v)
{
	const struct policy_signer	*s = r->signer;
	time_t				 life, window_start;

	if (!p->renewal.enabled)
		return deny(v, POLICY_FAIL_BAD_REQUEST,
		    "renewal is not enabled on profile %s", p->name);
	if (s == NULL || !s->known)
		return deny(v, POLICY_FAIL_BAD_REQUEST,
		    "renewal signer certificate is not in our records");
	if (!s->status_valid)
		return deny(v, POLICY_FAIL_BAD_REQUEST,
		    "renewal signer certificate is revoked or on hold");
	if (r->now < s->not_before || r->now > s->not_after)
		return deny(v, POLICY_FAIL_BAD_REQUEST,
		    "renewal signer certificate is not valid now");
	life = s->not_after - s->not_before;
	window_start = s->not_after - life * p->renewal.window_percent / 100;
	if (r->now < window_start)
		return deny(v, POLICY_FAIL_BAD_REQUEST,
		    "renewal too early: the window opens in the last %d%% "
		    "of the certificate's lifetime", p->renewal.window_percent);
	return 1;
}

/* How one challenge mode answered. */
enum answer {
	ANSWER_ACCEPT,		/* authenticated; binding filled */
	ANSWER_PASS,		/* not recognised: the next mode may */
	ANSWER_REFUSE,		/* recognised and refused: final */
	ANSWER_UNAVAILABLE,	/* the store or validator could not answer */
	ANSWER_ERROR,		/* internal error */
};

/*
 * Ask one mode about r's challenge.  A one-time challenge that exists but
 * is used or expired is refused here: passing it on would hide a replay
 * behind the next mode's "wrong challenge".  The validator's answer,
 * whatever it is, is final.  why says why when not accepted.
 */
static enum answer
ask_mode(const struct policy_profile *p, enum policy_challenge_mode m,
    const struct policy_ops *ops, const struct policy_request *r,
    struct policy_binding *b, char *why, size_t whylen)
{
	enum policy_lookup	 l;
	const char		*want = p->static_challenge;
	char			 reason[200] = "";
	int			 eq;

	if (m == POLICY_CHALLENGE_STATIC) {
		if (want == NULL || want[0] == '\0') {
			snprintf(why, whylen, "profile %s has no static "
			    "challenge set", p->name);
			return ANSWER_PASS;
		}
		if ((eq = policy_secret_equal(want, strlen(want),
		    r->challenge, r->challenge_len)) == -1)
			return ANSWER_ERROR;
		if (eq)
			return ANSWER_ACCEPT;
		snprintf(why, whylen, "wrong challengePassword");
		return ANSWER_PASS;
	}
	if (ops == NULL)
		return ANSWER_ERROR;
	if (m == POLICY_CHALLENGE_DYNAMIC)
		l = ops->consume_challenge(ops->ctx, p, r->challenge,
		    r->challenge_len, b, reason, sizeof(reason));
	else
		l = ops->validate(ops->ctx, p, r->csr, r->challenge,
		    r->challenge_len, b, reason, sizeof(reason));
	if (l == POLICY_LOOKUP_OK)
		return ANSWER_ACCEPT;
	policy_binding_clear(b);
	snprintf(why, whylen, "%s%s%s", lookup_text(l), reason[0] ? ": " : "",
	    reason);
	if (l == POLICY_LOOKUP_ERROR)
		return ANSWER_UNAVAILABLE;
	return m == POLICY_CHALLENGE_DYNAMIC && l == POLICY_LOOKUP_UNKNOWN ?
	    ANSWER_PASS : ANSWER_REFUSE;
}

/*
 * Authenticate a new enrollment by its challenge, trying the profile's
 * modes in order.  Returns 1 with *b filled, 0 with a denial in *v whose
 * reason lists what each mode tried said ("dynamic: ...; static: ..."),
 * or with POLICY_RETRY in *v when a mode could not answer (the modes
 * after it are not asked: they might accept what it would refuse), -1 on
 * an internal error.
 */
static int
authenticate(const struct policy_profile *p, const struct policy_ops *ops,
    const struct policy_request *r, struct policy_binding *b,
    struct policy_verdict *v)
{
	enum answer	 a = ANSWER_PASS;
	char		 why[256];
	size_t		 used = 0;

	v->bad_challenge = 1;
	if (r->challenge == NULL)
		return deny(v, POLICY_FAIL_BAD_REQUEST,
		    "request carries no challengePassword");
	v->reason[0] = '\0';
	for (size_t i = 0; i < p->nchallenge_modes && a == ANSWER_PASS; i++) {
		enum policy_challenge_mode m = p->challenge_modes[i];

		why[0] = '\0';
		if ((a = ask_mode(p, m, ops, r, b, why, sizeof(why))) ==
		    ANSWER_ACCEPT) {
			v->bad_challenge = 0;
			return 1;
		}
		if (a == ANSWER_ERROR)
			return -1;
		if (a == ANSWER_UNAVAILABLE) {
			v->bad_challenge = 0;
			v->decision = POLICY_RETRY;
			/*
			 * Cut to fit if need be (the reason is for the log);
			 * the result is looked at so that -O1's
			 * format-truncation check knows it is.
			 */
			if (snprintf(v->reason, sizeof(v->reason), "%s%s%s",
			    p->nchallenge_modes > 1 ?
			    policy_challenge_mode_name(m) : "",
			    p->nchallenge_modes > 1 ? ": " : "", why) < 0)
				v->reason[0] = '\0';
			return 0;
		}
		/* One mode: its reason as it always read; several: each named. */
		if (used < sizeof(v->reason))
			used += (size_t)snprintf(v->reason + used,
			    sizeof(v->reason) - used, "%s%s%s%s",
			    i ? "; " : "", p->nchallenge_modes > 1 ?
			    policy_challenge_mode_name(m) : "",
			    p->nchallenge_modes > 1 ? ": " : "", why);
	}
	v->decision = POLICY_DENY;
	v->fail = POLICY_FAIL_BAD_REQUEST;
	return 0;
}

int
policy_decide(const struct policy_profile *p, const struct policy_ops *ops,
    const struct policy_request *r, struct policy_verdict *v)
{
	struct policy_binding	 b;
	char			 reason[200] = "";
	int			 rc = -1, t;

	memset(v, 0, sizeof(*v));
	memset(&b, 0, sizeof(b));
	if (r->renewal) {
		if (check_renewal(p, r, v) != 1) {
			rc = 0;
			goto out;
		}
		/* The renewed certificate stays with the same device. */
		if (r->signer->device_id != NULL &&
		    (b.device_id = strdup(r->signer->device_id)) == NULL)
			goto out;
	} else if (r->approved) {
		/* Authenticated when it was first received. */
	} else if ((t = authenticate(p, ops, r, &b, v)) != 1) {
		rc = t;
		goto out;
	}

	if ((t = policy_plan(p, r->csr, &b, r->now, &v->plan, reason,
	    sizeof(reason))) == -1)
		goto out;
	if (t == 1) {
		policy_plan_clear(&v->plan);
		rc = deny(v, POLICY_FAIL_BAD_REQUEST, "template refuses: %s",
		    reason);
		goto out;
	}
	v->decision = p->approval == POLICY_APPROVAL_MANUAL && !r->approved &&
	    !r->renewal ? POLICY_PENDING : POLICY_ISSUE;
	rc = 0;
out:
	policy_binding_clear(&b);
	if (rc == -1)
		policy_verdict_clear(v);
	return rc;
}
