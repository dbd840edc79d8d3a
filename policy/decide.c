/*
 * The enrollment decision: authenticate (static challenge, one-time
 * challenge, webhook, or a renewal's signer certificate), apply the
 * template, then approval.  Nothing is issued unless one of the
 * authentication paths said yes (reliability.md N2).
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

int
policy_decide(const struct policy_profile *p, const struct policy_ops *ops,
    const struct policy_request *r, struct policy_verdict *v)
{
	struct policy_binding	 b;
	enum policy_lookup	 l;
	const char		*want;
	char			 reason[200] = "";
	int			 eq, rc = -1, t;

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
	} else {
		switch (p->challenge_mode) {
		case POLICY_CHALLENGE_STATIC:
			want = p->static_challenge;
			if (want == NULL || want[0] == '\0') {
				rc = deny(v, POLICY_FAIL_BAD_REQUEST, "profile %s "
				    "has no static challenge set", p->name);
				goto out;
			}
			if (r->challenge == NULL) {
				rc = deny(v, POLICY_FAIL_BAD_REQUEST,
				    "request carries no challengePassword");
				goto out;
			}
			if ((eq = policy_secret_equal(want, strlen(want),
			    r->challenge, r->challenge_len)) == -1)
				goto out;
			if (!eq) {
				rc = deny(v, POLICY_FAIL_BAD_REQUEST,
				    "wrong challengePassword");
				goto out;
			}
			break;
		case POLICY_CHALLENGE_DYNAMIC:
		case POLICY_CHALLENGE_WEBHOOK:
			if (r->challenge == NULL) {
				rc = deny(v, POLICY_FAIL_BAD_REQUEST,
				    "request carries no challengePassword");
				goto out;
			}
			if (ops == NULL)
				goto out;
			if (p->challenge_mode == POLICY_CHALLENGE_DYNAMIC)
				l = ops->consume_challenge(ops->ctx, p,
				    r->challenge, r->challenge_len, &b, reason,
				    sizeof(reason));
			else
				l = ops->validate(ops->ctx, p, r->csr,
				    r->challenge, r->challenge_len, &b, reason,
				    sizeof(reason));
			if (l != POLICY_LOOKUP_OK) {
				rc = deny(v, POLICY_FAIL_BAD_REQUEST, "%s%s%s",
				    lookup_text(l), reason[0] ? ": " : "", reason);
				goto out;
			}
			break;
		}
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
