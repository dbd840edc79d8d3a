/*
 * The admin API's parsers (server/api_parse.c) on good and hostile
 * bytes, and the one-time challenge primitives of policy/challenge.c.
 * Linked against api_parse.o and policy/ only.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"
#include "server/api/api_parse.h"

static char	 err[256];

static int
mint(const char *body, struct api_mint *m)
{
	return api_parse_mint(body, strlen(body), m, err, sizeof(err));
}

static void
test_mint_good(void **state)
{
	struct api_mint	 m;

	(void)state;
	assert_int_equal(api_parse_mint("", 0, &m, err, sizeof(err)), 0);
	assert_null(m.device_id);
	assert_int_equal(m.ttl_minutes, 0);
	assert_int_equal(mint(" \r\n\t", &m), 0);
	assert_int_equal(mint("{}", &m), 0);
	assert_int_equal(mint("{\"device_id\": null, \"sans\": null, "
	    "\"ttl_minutes\": null, \"subject\": null}", &m), 0);
	assert_null(m.device_id);
	assert_null(m.subject);
	assert_int_equal(m.nsans, 0);

	assert_int_equal(mint("{\"device_id\": \"dev-\\u00e9\", "
	    "\"subject\": \"/O=Acme/CN=dev\", \"sans\": [\"dns:a.example\", "
	    "\"uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1\", "
	    "\"Email:a@b\", \"upn:u@corp\", \"ip:192.0.2.1\"], "
	    "\"ttl_minutes\": 15}", &m), 0);
	assert_string_equal(m.device_id, "dev-\xc3\xa9");
	assert_string_equal(m.subject, "/O=Acme/CN=dev");
	assert_int_equal(m.nsans, 5);
	/* Types in one spelling, values untouched. */
	assert_string_equal(m.sans[0], "DNS:a.example");
	assert_string_equal(m.sans[1],
	    "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1");
	assert_string_equal(m.sans[2], "email:a@b");
	assert_string_equal(m.sans[3], "UPN:u@corp");
	assert_string_equal(m.sans[4], "IP:192.0.2.1");
	assert_int_equal(m.ttl_minutes, 15);
	api_mint_clear(&m);
	api_mint_clear(&m);	/* cleared twice: harmless */
	api_mint_clear(NULL);
}

static void
test_mint_bad(void **state)
{
	static const char *const bad[] = {
		"{",
		"{\"device_id\": \"a\"",
		"[]",
		"\"device_id\"",
		"42",
		"null",
		"{\"device_id\": 42}",
		"{\"device_id\": \"\"}",
		"{\"device_id\": \"a\\u0000b\"}",
		"{\"device_id\": \"a\\nb\"}",
		"{\"device_id\": \"a\\u007fb\"}",
		"{\"device_id\": \"a\", \"device_id\": \"b\"}",
		"{\"subject\": \"CN=x\"}",
		"{\"subject\": \"/CN\"}",
		"{\"subject\": [\"/CN=x\"]}",
		"{\"sans\": \"DNS:x\"}",
		"{\"sans\": [1]}",
		"{\"sans\": [\"DNS\"]}",
		"{\"sans\": [\"DNS:\"]}",
		"{\"sans\": [\"X400:x\"]}",
		"{\"sans\": [\"DNSX:x\"]}",
		"{\"sans\": [null]}",
		"{\"ttl_minutes\": \"10\"}",
		"{\"ttl_minutes\": 1.5}",
		"{\"ttl_minutes\": 0}",
		"{\"ttl_minutes\": -1}",
		"{\"ttl_minutes\": 43201}",
		"{\"ttl_minutes\": 99999999999999999999}",
		"{\"ttl_minutes\": true}",
		"{\"device\": \"x\"}",
		"{\"DEVICE_ID\": \"x\"}",
		"{} {}",
		"{\"device_id\": \"\xff\xfe\"}",
	};
	struct api_mint	 m;
	char		*big, *many;
	size_t		 i, off;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (mint(bad[i], &m) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
		assert_null(m.device_id);
		assert_null(m.sans);
	}

	/* A device_id of 257 characters; 256 is fine. */
	big = malloc(300);
	assert_non_null(big);
	memset(big, 0, 300);
	strcpy(big, "{\"device_id\": \"");
	memset(big + strlen(big), 'a', 256);
	strcat(big, "\"}");
	assert_int_equal(mint(big, &m), 0);
	api_mint_clear(&m);
	big[15 + 256] = 'a';
	strcpy(big + 15 + 257, "\"}");
	assert_int_equal(mint(big, &m), -1);
	free(big);

	/* 33 SANs. */
	many = malloc(2048);
	assert_non_null(many);
	off = (size_t)sprintf(many, "{\"sans\": [");
	for (i = 0; i < 33; i++)
		off += (size_t)sprintf(many + off, "%s\"DNS:h%zu\"", i ? "," : "",
		    i);
	sprintf(many + off, "]}");
	assert_int_equal(mint(many, &m), -1);
	free(many);

	/* Over 8 KiB, even if it is white space. */
	big = malloc(API_MAX_BODY + 1);
	assert_non_null(big);
	memset(big, ' ', API_MAX_BODY + 1);
	assert_int_equal(api_parse_mint(big, API_MAX_BODY + 1, &m, err,
	    sizeof(err)), -1);
	assert_int_equal(api_parse_mint(big, API_MAX_BODY, &m, err,
	    sizeof(err)), 0);
	free(big);

	/* Bytes after a NUL are not hidden from the parser. */
	assert_int_equal(api_parse_mint("{}\0{", 4, &m, err, sizeof(err)), -1);
}

static void
test_bearer(void **state)
{
	char	 tok[64];

	(void)state;
	assert_int_equal(api_parse_bearer("Bearer scepd_abc", tok, sizeof(tok)),
	    0);
	assert_string_equal(tok, "scepd_abc");
	assert_int_equal(api_parse_bearer("bearer   a-b.c~d+e/f=  \t", tok,
	    sizeof(tok)), 0);
	assert_string_equal(tok, "a-b.c~d+e/f=");
	assert_int_equal(api_parse_bearer(NULL, tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("", tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("Bearer", tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("Bearer ", tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("BearerX tok", tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("Basic dG9rOng=", tok, sizeof(tok)),
	    -1);
	assert_int_equal(api_parse_bearer("Bearer a b", tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("Bearer a\"b", tok, sizeof(tok)), -1);
	assert_int_equal(api_parse_bearer("Bearer abcdefgh", tok, 8), -1);
	assert_int_equal(api_parse_bearer("Bearer abcdefg", tok, 8), 0);
}

static void
test_basic(void **state)
{
	char	 user[16], pass[32];

	(void)state;
	/* mdm-1:scepd_x */
	assert_int_equal(api_parse_basic("Basic bWRtLTE6c2NlcGRfeA==", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "mdm-1");
	assert_string_equal(pass, "scepd_x");
	assert_int_equal(api_parse_basic("basic  bWRtLTE6c2NlcGRfeA== ", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	/* ":" alone: empty user and password, for the caller to refuse. */
	assert_int_equal(api_parse_basic("Basic Og==", user, sizeof(user), pass,
	    sizeof(pass)), 0);
	assert_string_equal(user, "");
	assert_string_equal(pass, "");

	assert_int_equal(api_parse_basic(NULL, user, sizeof(user), pass,
	    sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic", user, sizeof(user), pass,
	    sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic ", user, sizeof(user), pass,
	    sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Bearer bWRtLTE6c2NlcGRfeA==", user,
	    sizeof(user), pass, sizeof(pass)), -1);
	/* No colon ("abc"). */
	assert_int_equal(api_parse_basic("Basic YWJj", user, sizeof(user), pass,
	    sizeof(pass)), -1);
	/* A NUL in the user ("a\0:b"). */
	assert_int_equal(api_parse_basic("Basic YQA6Yg==", user, sizeof(user),
	    pass, sizeof(pass)), -1);
	/* Not canonical: unused bits set, missing or misplaced padding. */
	assert_int_equal(api_parse_basic("Basic YR==", user, sizeof(user), pass,
	    sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic bWRtLTE6c2NlcGRfeA", user,
	    sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic bW=tLTE6c2NlcGRfeA==", user,
	    sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic ====", user, sizeof(user), pass,
	    sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic bWRt!TE6", user, sizeof(user),
	    pass, sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic bWRt LTE6", user, sizeof(user),
	    pass, sizeof(pass)), -1);
	/* Does not fit. */
	assert_int_equal(api_parse_basic("Basic bWRtLTE6c2NlcGRfeA==", user, 5,
	    pass, sizeof(pass)), -1);
	assert_int_equal(api_parse_basic("Basic bWRtLTE6c2NlcGRfeA==", user,
	    sizeof(user), pass, 7), -1);
}

static void
test_token_shape(void **state)
{
	(void)state;
	assert_int_equal(api_token_wellformed(
	    "scepd_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN-_0"), 1);
	assert_int_equal(api_token_wellformed(
	    "scepd_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN-_"), 0);
	assert_int_equal(api_token_wellformed(
	    "scepd_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN-_01"), 0);
	assert_int_equal(api_token_wellformed(
	    "scepx_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN-_0"), 0);
	assert_int_equal(api_token_wellformed(
	    "scepd_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN+/0"), 0);
	assert_int_equal(api_token_wellformed(NULL), 0);
	assert_int_equal(api_name_valid("mdm-1.jamf_prod"), 1);
	assert_int_equal(api_name_valid(""), 0);
	assert_int_equal(api_name_valid("a:b"), 0);
	assert_int_equal(api_name_valid("a b"), 0);
	assert_int_equal(api_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 1);
	assert_int_equal(api_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
}

static void
test_challenge_new(void **state)
{
	char	 a[POLICY_CHALLENGE_LEN + 1], b[POLICY_CHALLENGE_LEN + 1];
	size_t	 i;

	(void)state;
	assert_int_equal(policy_challenge_new(a, sizeof(a)), 0);
	assert_int_equal(policy_challenge_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 32);
	/* NDES's shape, which MDMs scrape: [A-Z0-9]{16,32}. */
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789ABCDEF", a[i]));
	assert_string_not_equal(a, b);
	assert_int_equal(policy_challenge_new(a, 32), -1);
	assert_int_equal(policy_challenge_new(NULL, 64), -1);
}

static void
test_challenge_mac(void **state)
{
	static const unsigned char want[32] = {
		0xdb, 0x36, 0x1a, 0x02, 0x21, 0x86, 0xb3, 0xc8,
		0x1d, 0xf8, 0x1b, 0x52, 0xe3, 0x79, 0xd1, 0x69,
		0xac, 0xc3, 0x0a, 0x5e, 0x57, 0x5c, 0x57, 0x18,
		0x6a, 0x1c, 0x1b, 0x04, 0x9e, 0x2d, 0x8e, 0x53,
	};
	const char	*chal = "0123456789ABCDEF0123456789ABCDEF";
	unsigned char	 key[32], m1[32], m2[32];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	/* HMAC-SHA-256(key, "dyn" 0x00 challenge), computed with Python. */
	assert_int_equal(policy_challenge_mac(key, "dyn", chal, strlen(chal),
	    m1), 0);
	assert_memory_equal(m1, want, 32);
	/* Another profile, another MAC. */
	assert_int_equal(policy_challenge_mac(key, "dyn2", chal, strlen(chal),
	    m2), 0);
	assert_memory_not_equal(m1, m2, 32);
	/* The separator keeps ("ab", "c") and ("a", "bc") apart. */
	assert_int_equal(policy_challenge_mac(key, "ab", "c", 1, m1), 0);
	assert_int_equal(policy_challenge_mac(key, "a", "bc", 2, m2), 0);
	assert_memory_not_equal(m1, m2, 32);
	/* Another key. */
	key[0] ^= 1;
	assert_int_equal(policy_challenge_mac(key, "dyn", chal, strlen(chal),
	    m1), 0);
	assert_memory_not_equal(m1, want, 32);
	assert_int_equal(policy_challenge_mac(key, NULL, chal, 1, m1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_good),
		cmocka_unit_test(test_mint_bad),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_token_shape),
		cmocka_unit_test(test_challenge_new),
		cmocka_unit_test(test_challenge_mac),
	};

	/* A peer that closes early must fail a test, not kill the binary. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
