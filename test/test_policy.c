/*
 * Unit tests of policy/: the enrollment decision (static, one-time and
 * delegated challenges through fake ops, renewal by signer certificate,
 * manual approval) and the constant-time secret comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/policy.h"

#define NOW	1700000000

static X509_REQ	*csr;

/* A CSR for CN=device-1 with a fresh RSA-2048 key. */
static int
setup(void **state)
{
	EVP_PKEY	*key;
	X509_NAME	*name;

	(void)state;
	if ((key = EVP_RSA_gen(2048)) == NULL || (csr = X509_REQ_new()) == NULL)
		return -1;
	name = X509_REQ_get_subject_name(csr);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"device-1", -1, -1, 0);
	X509_REQ_set_pubkey(csr, key);
	X509_REQ_sign(csr, key, EVP_sha256());
	EVP_PKEY_free(key);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_REQ_free(csr);
	return 0;
}

static void
profile_init(struct policy_profile *p)
{
	memset(p, 0, sizeof(*p));
	policy_profile_defaults(p);
	p->name = (char *)(uintptr_t)"default";
	p->static_challenge = (char *)(uintptr_t)"s3cret-static";
}

static struct policy_verdict
decide(const struct policy_profile *p, const struct policy_ops *ops,
    const char *challenge, size_t len)
{
	struct policy_request	r;
	struct policy_verdict	v;

	memset(&r, 0, sizeof(r));
	r.csr = csr;
	r.challenge = challenge;
	r.challenge_len = len;
	r.now = NOW;
	assert_int_equal(policy_decide(p, ops, &r, &v), 0);
	return v;
}

static void
static_challenge_issues_with_validity(void **state)
{
	struct policy_profile	p;
	struct policy_verdict	v;

	(void)state;
	profile_init(&p);
	v = decide(&p, NULL, "s3cret-static", 13);
	assert_int_equal(v.decision, POLICY_ISSUE);
	assert_int_equal(v.plan.not_before, NOW - 300);
	assert_int_equal(v.plan.not_after, NOW + 365 * 86400L);
	assert_non_null(v.plan.subject);
	policy_verdict_clear(&v);
}

static void
wrong_challenges_are_bad_request(void **state)
{
	/* Prefix, extension, case, embedded NUL, empty: all refused. */
	static const struct { const char *s; size_t len; } bad[] = {
		{ "s3cret-stati", 12 }, { "s3cret-staticc", 14 },
		{ "S3cret-static", 13 }, { "s3cret-static\0x", 15 }, { "", 0 },
	};
	struct policy_profile	p;

	(void)state;
	profile_init(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy_verdict v = decide(&p, NULL, bad[i].s, bad[i].len);

		assert_int_equal(v.decision, POLICY_DENY);
		assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
		assert_non_null(strstr(v.reason, "wrong challengePassword"));
		/* The log line never carries the secret or the attempt. */
		assert_null(strstr(v.reason, "s3cret"));
		policy_verdict_clear(&v);
	}
}

static void
missing_challenge_is_bad_request(void **state)
{
	struct policy_profile	p;
	struct policy_verdict	v;

	(void)state;
	profile_init(&p);
	v = decide(&p, NULL, NULL, 0);
	assert_int_equal(v.decision, POLICY_DENY);
	assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
	assert_non_null(strstr(v.reason, "no challengePassword"));
	p.static_challenge = (char *)(uintptr_t)"";
	v = decide(&p, NULL, "", 0);
	assert_int_equal(v.decision, POLICY_DENY);
}

/* Fake ops: the store answers what the test put in fake_lookup. */
static enum policy_lookup	fake_lookup;
static int			fake_calls;

static enum policy_lookup
fake_consume(void *ctx, const struct policy_profile *p, const char *challenge,
    size_t len, struct policy_binding *out, char *reason, size_t reasonlen)
{
	(void)ctx;
	(void)p;
	(void)challenge;
	(void)len;
	(void)reason;
	(void)reasonlen;
	fake_calls++;
	if (fake_lookup == POLICY_LOOKUP_OK)
		out->device_id = strdup("dev-42");
	return fake_lookup;
}

static enum policy_lookup
fake_validate(void *ctx, const struct policy_profile *p, X509_REQ *req,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	(void)req;
	return fake_consume(ctx, p, challenge, len, out, reason, reasonlen);
}

static void
dynamic_and_webhook_use_the_ops(void **state)
{
	static const struct {
		enum policy_lookup	 l;
		const char		*text;
	} cases[] = {
		{ POLICY_LOOKUP_UNKNOWN, "unknown challenge" },
		{ POLICY_LOOKUP_USED, "possible replay" },
		{ POLICY_LOOKUP_EXPIRED, "expired" },
		{ POLICY_LOOKUP_DENIED, "denied" },
		{ POLICY_LOOKUP_ERROR, "unavailable" },
	};
	struct policy_ops	ops = { fake_consume, fake_validate, NULL };
	struct policy_profile	p;
	struct policy_verdict	v;

	(void)state;
	for (int mode = POLICY_CHALLENGE_DYNAMIC; mode <= POLICY_CHALLENGE_WEBHOOK;
	    mode++) {
		profile_init(&p);
		p.challenge_mode = (enum policy_challenge_mode)mode;
		fake_lookup = POLICY_LOOKUP_OK;
		fake_calls = 0;
		v = decide(&p, &ops, "one-time", 8);
		assert_int_equal(fake_calls, 1);
		assert_int_equal(v.decision, POLICY_ISSUE);
		assert_string_equal(v.plan.device_id, "dev-42");
		policy_verdict_clear(&v);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			fake_lookup = cases[i].l;
			v = decide(&p, &ops, "one-time", 8);
			assert_int_equal(v.decision, POLICY_DENY);
			assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
			assert_non_null(strstr(v.reason, cases[i].text));
			policy_verdict_clear(&v);
		}
		/* No challenge: refused without asking the store. */
		fake_calls = 0;
		v = decide(&p, &ops, NULL, 0);
		assert_int_equal(v.decision, POLICY_DENY);
		assert_int_equal(fake_calls, 0);
	}
}

static void
manual_approval_holds_then_issues(void **state)
{
	struct policy_profile	p;
	struct policy_request	r;
	struct policy_verdict	v;

	(void)state;
	profile_init(&p);
	p.approval = POLICY_APPROVAL_MANUAL;
	v = decide(&p, NULL, "s3cret-static", 13);
	assert_int_equal(v.decision, POLICY_PENDING);
	assert_non_null(v.plan.subject);
	policy_verdict_clear(&v);
	/* Once approved, it issues without the challenge again. */
	memset(&r, 0, sizeof(r));
	r.csr = csr;
	r.approved = 1;
	r.now = NOW;
	assert_int_equal(policy_decide(&p, NULL, &r, &v), 0);
	assert_int_equal(v.decision, POLICY_ISSUE);
	policy_verdict_clear(&v);
}

static struct policy_verdict
renew(const struct policy_profile *p, const struct policy_signer *s)
{
	struct policy_request	r;
	struct policy_verdict	v;

	memset(&r, 0, sizeof(r));
	r.csr = csr;
	r.renewal = 1;
	r.signer = s;
	r.now = NOW;
	assert_int_equal(policy_decide(p, NULL, &r, &v), 0);
	return v;
}

static void
renewal_rules(void **state)
{
	struct policy_profile	p;
	struct policy_signer	s;
	struct policy_verdict	v;

	(void)state;
	profile_init(&p);
	p.approval = POLICY_APPROVAL_MANUAL;	/* renewals skip approval */
	memset(&s, 0, sizeof(s));
	s.known = 1;
	s.status_valid = 1;
	s.not_before = NOW - 90 * 86400;
	s.not_after = NOW + 5 * 86400;		/* last 5 of 95 days: in 20 % */
	s.device_id = "dev-7";

	v = renew(&p, &s);			/* renewal off */
	assert_int_equal(v.decision, POLICY_DENY);
	assert_non_null(strstr(v.reason, "not enabled"));
	p.renewal.enabled = 1;
	v = renew(&p, &s);
	assert_int_equal(v.decision, POLICY_ISSUE);
	assert_string_equal(v.plan.device_id, "dev-7");
	policy_verdict_clear(&v);

	s.not_after = NOW + 60 * 86400;		/* too early */
	v = renew(&p, &s);
	assert_int_equal(v.decision, POLICY_DENY);
	assert_non_null(strstr(v.reason, "too early"));
	s.not_after = NOW - 1;			/* expired */
	v = renew(&p, &s);
	assert_int_equal(v.decision, POLICY_DENY);
	s.not_after = NOW + 5 * 86400;
	s.status_valid = 0;			/* revoked or on hold */
	v = renew(&p, &s);
	assert_int_equal(v.decision, POLICY_DENY);
	assert_non_null(strstr(v.reason, "revoked"));
	s.status_valid = 1;
	s.known = 0;				/* not ours */
	v = renew(&p, &s);
	assert_int_equal(v.decision, POLICY_DENY);
}

static void
secret_equal_compares_bytes(void **state)
{
	(void)state;
	assert_int_equal(policy_secret_equal("abc", 3, "abc", 3), 1);
	assert_int_equal(policy_secret_equal("abc", 3, "abd", 3), 0);
	assert_int_equal(policy_secret_equal("abc", 3, "ab", 2), 0);
	assert_int_equal(policy_secret_equal("a\0b", 3, "a\0c", 3), 0);
	assert_int_equal(policy_secret_equal("", 0, "", 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(static_challenge_issues_with_validity),
		cmocka_unit_test(wrong_challenges_are_bad_request),
		cmocka_unit_test(missing_challenge_is_bad_request),
		cmocka_unit_test(dynamic_and_webhook_use_the_ops),
		cmocka_unit_test(manual_approval_holds_then_issues),
		cmocka_unit_test(renewal_rules),
		cmocka_unit_test(secret_equal_compares_bytes),
	};

	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
