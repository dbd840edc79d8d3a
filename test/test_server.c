/*
 * Unit tests of server/: query-string and GET message decoding with the
 * escapings real clients use (clients.md 11 item 4), GetCACaps tokens as
 * Apple parses them, and configuration checking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "server/conf.h"
#include "server/log.h"
#include "server/query.h"
#include "server/scepd.h"

#define VECTOR	"test/data/vectors/sscep-pkcsreq-get-aes128-sha256.der"

static unsigned char	*vec;
static size_t		 veclen;
static char		*vec_b64;	/* standard base64 with padding */

static int
setup(void **state)
{
	FILE	*f;
	long	 n;

	(void)state;
	log_init("test_server", 1, 0);
	if ((f = fopen(VECTOR, "rb")) == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	vec = malloc((size_t)n);
	veclen = fread(vec, 1, (size_t)n, f);
	fclose(f);
	vec_b64 = malloc(4 * ((veclen + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)vec_b64, vec, (int)veclen);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(vec);
	free(vec_b64);
	return 0;
}

/* Escape base64 the way a client does: chars listed in esc become %XX. */
static char *
escape(const char *s, const char *esc, int all)
{
	char	*out = malloc(strlen(s) * 3 + 1), *o = out;

	for (; *s != '\0'; s++) {
		if ((all && !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9'))) || (!all && strchr(esc, *s)))
			o += sprintf(o, "%%%02X", (unsigned char)*s);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void
decode_and_compare(const char *escaped)
{
	struct scep_query	 q;
	unsigned char		*der = NULL;
	char			*query, err[128];
	long			 n;

	query = malloc(strlen(escaped) + 64);
	sprintf(query, "operation=PKIOperation&message=%s", escaped);
	assert_int_equal(scep_query_parse(query, &q, err, sizeof(err)), 0);
	assert_string_equal(q.operation, "PKIOperation");
	n = scep_base64_decode(q.message, q.message_len, &der);
	assert_int_equal(n, (long)veclen);
	assert_memory_equal(der, vec, veclen);
	free(der);
	free(query);
	scep_query_clear(&q);
}

/* Apple: '+' and '/' literal, only '=' escaped (smallstep#1570). */
static void
get_apple_style(void **state)
{
	char	*e = escape(vec_b64, "=", 0);

	(void)state;
	assert_non_null(strchr(vec_b64, '+'));	/* the vector exercises it */
	decode_and_compare(e);
	free(e);
}

/* certmonger: every non-alphanumeric character %-escaped. */
static void
get_certmonger_style(void **state)
{
	char	*e = escape(vec_b64, NULL, 1);

	(void)state;
	decode_and_compare(e);
	free(e);
}

/* sscep: '+' '/' '=' escaped, lower-case hex accepted too. */
static void
get_sscep_style(void **state)
{
	char	*e = escape(vec_b64, "+/=", 0);

	(void)state;
	for (char *p = e; *p; p++)
		if (p[0] == '%' && p[1] == '2' && p[2] == 'B')
			p[2] = 'b';
	decode_and_compare(e);
	free(e);
}

/* Unescaped '=' and a '+' turned into a space upstream still decode. */
static void
get_unescaped_padding_and_spaces(void **state)
{
	char	*e = strdup(vec_b64);

	(void)state;
	for (char *p = e; *p; p++)
		if (*p == '+')
			*p = ' ';
	decode_and_compare(e);
	/* Missing padding is tolerated. */
	for (char *p = e + strlen(e) - 1; *p == '='; p--)
		*p = '\0';
	decode_and_compare(e);
	free(e);
}

static void
base64_refusals(void **state)
{
	static const char *const bad[] = {
		"!!", "QUJD-", "QU_D", "QUJD\tRA==", "QQ=A", "Q", "QUJ=D",
		"", "QR==",	/* non-zero leftover bits */
	};
	unsigned char	*out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(scep_base64_decode(bad[i], strlen(bad[i]),
		    &out), -1);
		assert_null(out);
	}
	assert_int_equal(scep_base64_decode("QUJD", 4, &out), 3);
	assert_memory_equal(out, "ABC", 3);
	free(out);
	/* sscep's line breaks (every 64 characters and at the end). */
	assert_int_equal(scep_base64_decode("QUJD\nREVG\r\n", 11, &out), 6);
	assert_memory_equal(out, "ABCDEF", 6);
	free(out);
}

static void
query_parameters(void **state)
{
	struct scep_query	q;
	char			err[128];

	(void)state;
	/* Extra parameters (sscep -M) are ignored; message may be anything. */
	assert_int_equal(scep_query_parse("operation=GetCACert&message=CAIdentifier&x=1",
	    &q, err, sizeof(err)), 0);
	assert_string_equal(q.operation, "GetCACert");
	assert_string_equal(q.message, "CAIdentifier");
	scep_query_clear(&q);
	assert_int_equal(scep_query_parse("operation=GetCACaps", &q, err,
	    sizeof(err)), 0);
	assert_null(q.message);
	scep_query_clear(&q);
	assert_int_equal(scep_query_parse(NULL, &q, err, sizeof(err)), 0);
	assert_null(q.operation);
	/* Repeated parameters and bad escapes are refused. */
	assert_int_equal(scep_query_parse("operation=GetCACaps&operation=x",
	    &q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(scep_query_parse("operation=Get%zzCaps", &q, err,
	    sizeof(err)), -1);
	assert_int_equal(scep_query_parse("operation=Get%4", &q, err,
	    sizeof(err)), -1);
	assert_int_equal(scep_query_parse("operation=Get%00", &q, err,
	    sizeof(err)), -1);
}

/* Apple splits on CR/LF and compares tokens exactly (clients.md 2.2). */
static int
has_token(const char *caps, const char *tok)
{
	char	*copy = strdup(caps), *save, *t;
	int	 found = 0;

	for (t = strtok_r(copy, "\r\n", &save); t; t = strtok_r(NULL, "\r\n", &save))
		if (strcmp(t, tok) == 0)
			found = 1;
	free(copy);
	return found;
}

static void
caps_tokens(void **state)
{
	struct conf_profile	c;
	char			caps[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.algs.ciphers = P7_BIT(P7_CIPHER_AES128) | P7_BIT(P7_CIPHER_AES256) |
	    P7_BIT(P7_CIPHER_3DES);
	c.algs.digests = P7_BIT(P7_MD_SHA1) | P7_BIT(P7_MD_SHA256) |
	    P7_BIT(P7_MD_SHA384) | P7_BIT(P7_MD_SHA512);
	caps_build(&c, caps, sizeof(caps));
	assert_true(has_token(caps, "POSTPKIOperation"));
	assert_true(has_token(caps, "AES"));
	assert_true(has_token(caps, "SHA-256"));
	assert_true(has_token(caps, "SHA-384"));	/* strongSwan 5.9.8 */
	assert_true(has_token(caps, "SHA-512"));
	assert_true(has_token(caps, "SCEPStandard"));
	assert_true(has_token(caps, "DES3"));
	assert_true(has_token(caps, "SHA-1"));
	assert_false(has_token(caps, "Renewal"));
	assert_false(has_token(caps, "GetNextCACert"));
	assert_null(strstr(caps, " \n"));

	/* Without 3DES and SHA-1, neither is advertised. */
	c.algs.ciphers = P7_BIT(P7_CIPHER_AES128);
	c.algs.digests = P7_BIT(P7_MD_SHA256);
	caps_build(&c, caps, sizeof(caps));
	assert_false(has_token(caps, "DES3"));
	assert_false(has_token(caps, "SHA-1"));
	assert_false(has_token(caps, "SHA-384"));
	assert_true(has_token(caps, "AES"));

	/* Renewal and GetNextCACert only when the profile has them. */
	c.policy.renewal.enabled = 1;
	c.next_ca_cert = (char *)(uintptr_t)"next.pem";
	caps_build(&c, caps, sizeof(caps));
	assert_true(has_token(caps, "Renewal"));
	assert_true(has_token(caps, "GetNextCACert"));
}

static char *
write_conf(const char *text)
{
	static char	path[] = "/tmp/scepd-test-confXXXXXX";
	int		fd;

	strcpy(path, "/tmp/scepd-test-confXXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
conf_good_and_defaults(void **state)
{
	struct conf	*c;
	char		*p;

	(void)state;
	p = write_conf("ca = { cert = \"ca.pem\"; key = \"/k/ca.key\"; };\n"
	    "challenge = \"0123456789\";\n");
	assert_non_null(c = conf_load(p, 0));
	assert_int_equal(c->port, 8080);
	assert_string_equal(c->listen, "127.0.0.1");
	assert_string_equal(c->base_path, "/scep");
	assert_int_equal(c->nprofiles, 1);
	assert_string_equal(c->profiles[0].policy.name, "default");
	/* relative to the file's folder */
	assert_string_equal(c->profiles[0].ca_cert, "/tmp/ca.pem");
	assert_string_equal(c->profiles[0].ca_key, "/k/ca.key");
	assert_int_equal(c->max_body, 65536);
	assert_int_equal(c->max_headers, 32768);
	assert_true(c->profiles[0].algs.ciphers & P7_BIT(P7_CIPHER_AES128));
	assert_false(c->profiles[0].algs.ciphers & P7_BIT(P7_CIPHER_DES));
	assert_false(c->profiles[0].algs.digests & P7_BIT(P7_MD_MD5));
	assert_int_equal(c->profiles[0].policy.tmpl.validity_days, 365);
	assert_null(c->profiles[0].policy.tmpl.subject);
	conf_free(c);
	unlink(p);
}

/* The annotated example in etc/ stays a valid configuration. */
static void
conf_example_is_valid(void **state)
{
	struct conf	*c;

	(void)state;
	assert_non_null(c = conf_load("etc/scepd.conf", 0));
	assert_int_equal(c->profiles[0].policy.tmpl.key_usage,
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(c->profiles[0].unused_days, 90);
	conf_free(c);
}

static void
conf_errors(void **state)
{
	static const char *const bad[] = {
		/* DES without the legacy switch */
		"ca = { cert = \"a\"; key = \"b\"; }; ciphers = [\"aes128\", \"des\"];",
		/* MD5 without the legacy switch */
		"ca = { cert = \"a\"; key = \"b\"; }; digests = [\"sha256\", \"md5\"];",
		/* unknown setting (typo) */
		"ca = { cert = \"a\"; key = \"b\"; }; prot = 1;",
		/* missing CA key */
		"ca = { cert = \"a\"; };",
		/* port out of range */
		"ca = { cert = \"a\"; key = \"b\"; }; port = 70000;",
		/* RA cert without key */
		"ca = { cert = \"a\"; key = \"b\"; ra_cert = \"r\"; };",
		/* syntax error */
		"ca = { cert = \"a\" key };",
		/* no mandatory aes128 */
		"ca = { cert = \"a\"; key = \"b\"; }; ciphers = [\"aes256\"];",
	};
	char	*p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = write_conf(bad[i]);
		assert_null(conf_load(p, 0));
		unlink(p);
	}
	/* With the legacy switch, DES is accepted. */
	p = write_conf("ca = { cert = \"a\"; key = \"b\"; }; legacy = true;"
	    "ciphers = [\"aes128\", \"des\"]; digests = [\"sha256\", \"md5\"];");
	{
		struct conf *c = conf_load(p, 0);

		assert_non_null(c);
		assert_true(c->profiles[0].algs.ciphers & P7_BIT(P7_CIPHER_DES));
		assert_true(c->profiles[0].algs.digests & P7_BIT(P7_MD_MD5));
		conf_free(c);
	}
	unlink(p);
}

static void
conf_profiles_inherit(void **state)
{
	struct conf		*c;
	struct conf_profile	*p;
	char			*path;

	(void)state;
	path = write_conf(
	    "ca = { cert = \"ca.pem\"; key = \"ca.key\"; };\n"
	    "challenge = \"0123456789\"; validity_days = 30;\n"
	    "challenge_key = \"000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\";\n"
	    "profiles = ( { name = \"wifi\"; challenge_mode = \"dynamic\";\n"
	    "  approval = \"manual\"; renewal = { enabled = true; };\n"
	    "  template = { san_dns = [\"*.example.com\"]; eku = [\"clientAuth\"];\n"
	    "    key_usage = [\"digitalSignature\"]; }; },\n"
	    "  { name = \"vpn\"; ca = { cert = \"vpn.pem\"; key = \"vpn.key\"; }; } );\n");
	assert_non_null(c = conf_load(path, 0));
	assert_int_equal(c->nprofiles, 3);
	assert_int_equal(c->hmac_key[31], 0x1f);
	p = conf_profile(c, "wifi", 4);
	assert_non_null(p);
	assert_int_equal(p->policy.challenge_mode, POLICY_CHALLENGE_DYNAMIC);
	assert_int_equal(p->policy.approval, POLICY_APPROVAL_MANUAL);
	assert_int_equal(p->policy.renewal.enabled, 1);
	assert_int_equal(p->policy.tmpl.validity_days, 30);	/* inherited */
	assert_string_equal(p->ca_cert, "/tmp/ca.pem");		/* inherited */
	assert_int_equal(p->policy.tmpl.san_dns.n, 1);
	assert_int_equal(p->policy.tmpl.key_usage, KU_DIGITAL_SIGNATURE);
	p = conf_profile(c, "vpn", 3);
	assert_non_null(p);
	assert_string_equal(p->ca_cert, "/tmp/vpn.pem");
	assert_int_equal(p->policy.challenge_mode, POLICY_CHALLENGE_STATIC);
	assert_string_equal(p->policy.static_challenge, "0123456789");
	assert_ptr_equal(conf_profile(c, "", 0), &c->profiles[0]);
	assert_null(conf_profile(c, "nope", 4));
	conf_free(c);
	unlink(path);

	/* Duplicate names, a bad name, dynamic without a key: refused. */
	path = write_conf("ca = { cert = \"a\"; key = \"b\"; };\n"
	    "profiles = ( { name = \"x\"; }, { name = \"x\"; } );");
	assert_null(conf_load(path, 0));
	unlink(path);
	path = write_conf("ca = { cert = \"a\"; key = \"b\"; };\n"
	    "profiles = ( { name = \"a/b\"; } );");
	assert_null(conf_load(path, 0));
	unlink(path);
	path = write_conf("ca = { cert = \"a\"; key = \"b\"; };\n"
	    "profiles = ( { name = \"d\"; challenge_mode = \"dynamic\"; } );");
	assert_null(conf_load(path, 0));
	unlink(path);
	path = write_conf("ca = { cert = \"a\"; key = \"b\"; };\n"
	    "challenge_mode = \"webhook\";");
	assert_null(conf_load(path, 0));
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_apple_style),
		cmocka_unit_test(get_certmonger_style),
		cmocka_unit_test(get_sscep_style),
		cmocka_unit_test(get_unescaped_padding_and_spaces),
		cmocka_unit_test(base64_refusals),
		cmocka_unit_test(query_parameters),
		cmocka_unit_test(caps_tokens),
		cmocka_unit_test(conf_good_and_defaults),
		cmocka_unit_test(conf_example_is_valid),
		cmocka_unit_test(conf_errors),
		cmocka_unit_test(conf_profiles_inherit),
	};

	return cmocka_run_group_tests_name("server", tests, setup, teardown);
}
