/*
 * Unit tests of policy/: the static challenge decision and the
 * constant-time secret comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

static const struct policy_profile profile = {
	.name = "default",
	.static_challenge = "s3cret",
	.validity_days = 365,
	.backdate_seconds = 300,
};

static struct policy_verdict
decide(const char *challenge, size_t len)
{
	struct policy_request	r = { challenge, len, 1700000000 };
	struct policy_verdict	v;

	assert_int_equal(policy_decide_pkcsreq(&profile, &r, &v), 0);
	return v;
}

static void
right_challenge_issues_with_validity(void **state)
{
	struct policy_verdict	v = decide("s3cret", 6);

	(void)state;
	assert_int_equal(v.allow, 1);
	assert_int_equal(v.not_before, 1700000000 - 300);
	assert_int_equal(v.not_after, 1700000000 + 365 * 86400L);
}

static void
wrong_challenges_are_bad_request(void **state)
{
	/* Prefix, extension, case, embedded NUL, empty: all refused. */
	static const struct { const char *s; size_t len; } bad[] = {
		{ "s3cre", 5 }, { "s3crett", 7 }, { "S3cret", 6 },
		{ "s3cret\0x", 8 }, { "", 0 }, { "x", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy_verdict v = decide(bad[i].s, bad[i].len);

		assert_int_equal(v.allow, 0);
		assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
		assert_non_null(strstr(v.reason, "wrong challengePassword"));
		/* The log line never carries the secret or the attempt. */
		assert_null(strstr(v.reason, "s3cre"));
	}
}

static void
missing_challenge_is_bad_request(void **state)
{
	struct policy_verdict	v = decide(NULL, 0);

	(void)state;
	assert_int_equal(v.allow, 0);
	assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
	assert_non_null(strstr(v.reason, "no challengePassword"));
}

static void
profile_without_secret_refuses_everything(void **state)
{
	struct policy_profile	p = profile;
	struct policy_request	r = { "", 0, 1700000000 };
	struct policy_verdict	v;

	(void)state;
	p.static_challenge = "";
	assert_int_equal(policy_decide_pkcsreq(&p, &r, &v), 0);
	assert_int_equal(v.allow, 0);
	assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
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
		cmocka_unit_test(right_challenge_issues_with_validity),
		cmocka_unit_test(wrong_challenges_are_bad_request),
		cmocka_unit_test(missing_challenge_is_bad_request),
		cmocka_unit_test(profile_without_secret_refuses_everything),
		cmocka_unit_test(secret_equal_compares_bytes),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
