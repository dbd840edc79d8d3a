/*
 * Unit tests of server/: query-string and GET message decoding with the
 * escapings real clients use (docs/protocol.md), GetCACaps tokens as
 * Apple parses them, and configuration checking.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>

#include <openssl/evp.h>

#include "server/conf.h"
#include "server/http/caps.h"
#include "server/http/conncap.h"
#include "server/ca_load.h"
#include "server/key_use.h"
#include "server/log.h"
#include "server/outbound/http_client.h"
#include "server/outbound/intune_json.h"
#include "server/outbound/webhook_json.h"
#include "server/query.h"
#include "server/scepd.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

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

/* micromdm scepclient: base64url ('-', '_'), padding kept or dropped. */
static void
get_base64url_style(void **state)
{
	char	*e = strdup(vec_b64);

	(void)state;
	assert_non_null(strchr(vec_b64, '+'));	/* the vector exercises it */
	assert_non_null(strchr(vec_b64, '/'));
	for (char *p = e; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	decode_and_compare(e);
	for (char *p = e + strlen(e) - 1; *p == '='; p--)
		*p = '\0';
	decode_and_compare(e);
	free(e);
}

static void
base64_refusals(void **state)
{
	static const char *const bad[] = {
		"!!", "QUJD-", "QUJD\tRA==", "QQ=A", "Q", "QUJ=D",
		"", "QR==",	/* non-zero leftover bits */
		"+_8A", "-/8A", " _8A",	/* the two alphabets mixed */
		"QUJD.A==", "QUJD~A==",
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
	/* The same bytes in either alphabet. */
	assert_int_equal(scep_base64_decode("-_8A", 4, &out), 3);
	assert_memory_equal(out, "\xfb\xff\x00", 3);
	free(out);
	assert_int_equal(scep_base64_decode("+/8A", 4, &out), 3);
	assert_memory_equal(out, "\xfb\xff\x00", 3);
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

/* Apple splits on CR/LF and compares tokens exactly. */
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
	assert_int_equal(c->retransmission_window_hours, 24);
	assert_int_equal(c->pki_threads, 64);
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
		/* a retransmission window of no time, or beyond 30 days */
		"ca = { cert = \"a\"; key = \"b\"; }; retransmission_window_hours = 0;",
		"ca = { cert = \"a\"; key = \"b\"; }; retransmission_window_hours = 721;",
		/* a per-profile copy: the window is the server's */
		"ca = { cert = \"a\"; key = \"b\"; }; profiles = ( { name = \"p\"; "
		"retransmission_window_hours = 2; } );",
		/* a profile without a name before a named one (fuzz_config) */
		"ca = { cert = \"a\"; key = \"b\"; }; profiles = ( { }, "
		"{ name = \"p\"; } );",
		"ca = { cert = \"a\"; key = \"b\"; }; profiles = ( 1, "
		"{ name = \"p\"; } );",
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
	assert_int_equal(p->policy.nchallenge_modes, 1);
	assert_int_equal(p->policy.challenge_modes[0], POLICY_CHALLENGE_DYNAMIC);
	assert_int_equal(p->policy.approval, POLICY_APPROVAL_MANUAL);
	assert_int_equal(p->policy.renewal.enabled, 1);
	assert_int_equal(p->policy.tmpl.validity_days, 30);	/* inherited */
	assert_string_equal(p->ca_cert, "/tmp/ca.pem");		/* inherited */
	assert_int_equal(p->policy.tmpl.san_dns.n, 1);
	assert_int_equal(p->policy.tmpl.key_usage, KU_DIGITAL_SIGNATURE);
	p = conf_profile(c, "vpn", 3);
	assert_non_null(p);
	assert_string_equal(p->ca_cert, "/tmp/vpn.pem");
	assert_int_equal(p->policy.nchallenge_modes, 1);
	assert_int_equal(p->policy.challenge_modes[0], POLICY_CHALLENGE_STATIC);
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

/*
 * conf_load(, flags) must refuse text; returns what it logged (static
 * buffer), so a test can check the message names the setting.
 */
static const char *
conf_refusal_flags(const char *text, int flags)
{
	static char	 logged[4096];
	char		 logpath[] = "/tmp/scepd-test-logXXXXXX";
	char		*path = write_conf(text);
	int		 fd, saved;
	ssize_t		 n;

	assert_true((fd = mkstemp(logpath)) >= 0);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	assert_null(conf_load(path, flags));
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, logged, sizeof(logged) - 1);
	assert_true(n > 0);
	logged[n] = '\0';
	close(fd);
	unlink(logpath);
	unlink(path);
	return logged;
}

static const char *
conf_refusal(const char *text)
{
	return conf_refusal_flags(text, 0);
}

/*
 * Each key file its group or others may read is refused, naming the
 * file, its mode and the fix; the same file at 0600 is accepted.
 */
static void
conf_key_mode(void **state)
{
	/* Where the key under test (2) is, beside a CA key that is fine (3). */
	static const char *const fmt[] = {
		"ca = { cert = \"%1$s\"; key = \"%2$s\"; };",
		"ca = { cert = \"%1$s\"; key = \"%3$s\"; "
		    "ra_cert = \"%1$s\"; ra_key = \"%2$s\"; };",
		"ca = { cert = \"%1$s\"; key = \"%3$s\"; "
		    "ocsp_cert = \"%1$s\"; ocsp_key = \"%2$s\"; };",
		"ca = { cert = \"%1$s\"; key = \"%3$s\"; "
		    "previous_cert = \"%1$s\"; previous_key = \"%2$s\"; };",
		"ca = { cert = \"%1$s\"; key = \"%3$s\"; };\n"
		    "intune = { client_key = \"%2$s\"; };",
	};
	char		 dir[] = "/tmp/scepd-test-keysXXXXXX";
	char		 cert[64], good[64], bad[64], text[512], want[128];
	const char	*files[3] = { cert, good, bad }, *log;
	struct conf	*c;
	char		*p;
	int		 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(good, sizeof(good), "%s/good.key", dir);
	snprintf(bad, sizeof(bad), "%s/bad.key", dir);
	for (size_t i = 0; i < 3; i++) {
		assert_true((fd = open(files[i], O_WRONLY | O_CREAT, 0600)) >= 0);
		close(fd);
	}
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		snprintf(text, sizeof(text), fmt[i], cert, bad, good);
		assert_int_equal(chmod(bad, 0640), 0);
		log = conf_refusal_flags(text, CONF_CHECK_FILES);
		snprintf(want, sizeof(want), "%s has mode 0640", bad);
		assert_non_null(strstr(log, want));
		snprintf(want, sizeof(want), "chmod 600 %s", bad);
		assert_non_null(strstr(log, want));
		assert_int_equal(chmod(bad, 0604), 0);
		assert_non_null(strstr(conf_refusal_flags(text,
		    CONF_CHECK_FILES), "has mode 0604"));
		assert_int_equal(chmod(bad, 0600), 0);
		p = write_conf(text);
		assert_non_null(c = conf_load(p, CONF_CHECK_FILES));
		conf_free(c);
		unlink(p);
	}
	for (size_t i = 0; i < 3; i++)
		unlink(files[i]);
	rmdir(dir);
}

#define CONF_BASE	"ca = { cert = \"a\"; key = \"b\"; };\n" \
	"challenge = \"0123456789\";\n" \
	"challenge_key = \"000102030405060708090a0b0c0d0e0f" \
	"101112131415161718191a1b1c1d1e1f\";\n"

/*
 * A static challenge with a san_uri that takes Intune's SID URI is
 * refused at its line, naming the profile and both ways out; a webhook
 * or the acknowledgement is accepted (KB5014754, docs/policy.md).
 */
static void
conf_sid_from_csr(void **state)
{
	static const char *const ok[] = {
		CONF_BASE "profiles = ( { name = \"wh\"; challenge_mode = "
		"\"webhook\";\n webhook = { url = \"http://127.0.0.1:1/v\"; "
		"secret = \"0123456789abcdef\"; };\n template = { san_uri = "
		"[ \"tag:microsoft.com,2022-09-14:sid:*\" ]; }; } );\n",
		CONF_BASE "template = { san_uri = [ \"tag:microsoft.com,"
		"2022-09-14:sid:*\" ];\n sid_from_csr_acknowledged = true; };\n",
		CONF_BASE "template = { san_uri = [ \"urn:device:*\" ]; };\n",
	};
	const char	*log;
	struct conf	*c;
	char		*path;

	(void)state;
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"corp\";\n"
	    "  template = {\n    san_uri = [ \"tag:*\" ]; }; } );\n");
	assert_non_null(strstr(log, ":6: profile corp: template.san_uri "
	    "\"tag:*\" lets the CSR name a SID"));
	assert_non_null(strstr(log, "challenge mode \"static\" does not "
	    "vouch for the CSR"));
	assert_non_null(strstr(log, "Use challenge_mode \"webhook\" or "
	    "\"intune\""));
	assert_non_null(strstr(log, "template.sid_from_csr_acknowledged = "
	    "true"));
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		path = write_conf(ok[i]);
		assert_non_null(c = conf_load(path, 0));
		conf_free(c);
		unlink(path);
	}
}

static void
conf_challenge_mode_lists(void **state)
{
	struct conf		*c;
	struct conf_profile	*p;
	char			*path;
	const char		*log;

	(void)state;
	/* A list, tried in order; a profile inherits it or gives its own. */
	path = write_conf(CONF_BASE
	    "challenge_mode = [ \"dynamic\", \"static\" ];\n"
	    "profiles = ( { name = \"inherits\"; },\n"
	    "  { name = \"one\"; challenge_mode = \"static\"; },\n"
	    "  { name = \"paren\"; challenge_mode = ( \"static\", \"dynamic\" ); } );\n");
	assert_non_null(c = conf_load(path, 0));
	unlink(path);
	p = &c->profiles[0];
	assert_int_equal(p->policy.nchallenge_modes, 2);
	assert_int_equal(p->policy.challenge_modes[0], POLICY_CHALLENGE_DYNAMIC);
	assert_int_equal(p->policy.challenge_modes[1], POLICY_CHALLENGE_STATIC);
	p = conf_profile(c, "inherits", 8);
	assert_int_equal(p->policy.nchallenge_modes, 2);
	assert_int_equal(p->policy.challenge_modes[0], POLICY_CHALLENGE_DYNAMIC);
	p = conf_profile(c, "one", 3);
	assert_int_equal(p->policy.nchallenge_modes, 1);
	assert_int_equal(p->policy.challenge_modes[0], POLICY_CHALLENGE_STATIC);
	p = conf_profile(c, "paren", 5);
	assert_int_equal(p->policy.nchallenge_modes, 2);
	assert_int_equal(p->policy.challenge_modes[1], POLICY_CHALLENGE_DYNAMIC);
	conf_free(c);

	/* Each refusal names the setting and what is wrong with it. */
	log = conf_refusal(CONF_BASE "challenge_mode = [ \"dynamic\", "
	    "\"onetime\" ];\n");
	assert_non_null(strstr(log, ":4: \"challenge_mode\": \"onetime\" is "
	    "not one of \"static\", \"dynamic\", \"webhook\""));
	log = conf_refusal(CONF_BASE "challenge_mode = \"Dynamic\";\n");
	assert_non_null(strstr(log, "\"challenge_mode\": \"Dynamic\" is not"));
	/* A challenge of the wrong type is refused, not read as a string
	 * (fuzz_config found the checks reading it: a NULL pointer). */
	log = conf_refusal("ca = { cert = \"a\"; key = \"b\"; };\n"
	    "challenge = [ \"dynamic\", \"static\" ];\n");
	assert_non_null(strstr(log, "\"challenge\" must be a string"));
	log = conf_refusal(CONF_BASE "challenge_mode = [ ];\n");
	assert_non_null(strstr(log, "\"challenge_mode\" must name at least one"));
	log = conf_refusal(CONF_BASE "challenge_mode = [ \"static\", "
	    "\"static\" ];\n");
	assert_non_null(strstr(log, "\"challenge_mode\" lists \"static\" twice"));
	log = conf_refusal(CONF_BASE "challenge_mode = ( \"static\", 3 );\n");
	assert_non_null(strstr(log, "\"challenge_mode\" must be a list of "
	    "strings"));
	log = conf_refusal(CONF_BASE "webhook = { url = \"http://127.0.0.1:1/\";"
	    " secret = \"0123456789abcdef\"; };\n"
	    "challenge_mode = [ \"webhook\", \"static\" ];\n");
	assert_non_null(strstr(log, "\"webhook\" must come last"));
	/* A list holding "dynamic" needs the challenge key like "dynamic". */
	log = conf_refusal("ca = { cert = \"a\"; key = \"b\"; };\n"
	    "challenge = \"0123456789\";\n"
	    "challenge_mode = [ \"static\", \"dynamic\" ];\n");
	assert_non_null(strstr(log, "one-time challenges need \"challenge_key\""));
}

/* A profile's own "path" (the NDES drop-in) and how paths route. */
static void
conf_profile_paths(void **state)
{
	struct conf		*c;
	struct conf_profile	*nd;
	char			*path;
	const char		*log;

	(void)state;
	path = write_conf(CONF_BASE "path = \"/top\";\n"
	    "profiles = ( { name = \"ndes\"; "
	    "path = \"/certsrv/mscep/mscep.dll\"; },\n"
	    "  { name = \"other\"; } );\n");
	assert_non_null(c = conf_load(path, 0));
	unlink(path);
	nd = conf_profile(c, "ndes", 4);
	assert_string_equal(nd->path, "/certsrv/mscep/mscep.dll");
	/* Never inherited: the top level's path is the default profile's. */
	assert_string_equal(conf_profile(c, "other", 5)->path, "");
	assert_ptr_equal(conf_profile_at(c, "/top"), &c->profiles[0]);
	assert_ptr_equal(conf_profile_at(c, "/certsrv/mscep/mscep.dll"), nd);
	assert_ptr_equal(conf_profile_at(c,
	    "/certsrv/mscep/mscep.dll/pkiclient.exe"), nd);
	assert_ptr_equal(conf_profile_at(c, "/scep/ndes/pkiclient.exe"), nd);
	assert_ptr_equal(conf_profile_at(c, "/scep"), &c->profiles[0]);
	assert_ptr_equal(conf_profile_at(c, "/scep/other"),
	    conf_profile(c, "other", 5));
	assert_null(conf_profile_at(c, "/certsrv/mscep/mscep.dll/x"));
	assert_null(conf_profile_at(c, "/certsrv/mscep/mscep.dllx"));
	assert_null(conf_profile_at(c, "/certsrv/mscep"));
	assert_null(conf_profile_at(c, "/scep/none"));
	conf_free(c);

	/* Each refusal names the key, the path and what holds it. */
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"n\"; "
	    "path = \"certsrv/mscep/mscep.dll\"; } );\n");
	assert_non_null(strstr(log, "profile n: \"path\" "
	    "\"certsrv/mscep/mscep.dll\" must start with /"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"n\"; "
	    "path = \"/a?b\"; } );\n");
	assert_non_null(strstr(log, "\"path\" \"/a?b\" must start"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"n\"; "
	    "path = \"/a/\"; } );\n");
	assert_non_null(strstr(log, "\"path\" \"/a/\" must start"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"n\"; "
	    "path = 3; } );\n");
	assert_non_null(strstr(log, "\"path\" must be a string"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; "
	    "path = \"/x\"; }, { name = \"b\"; path = \"/x\"; } );\n");
	assert_non_null(strstr(log, "(profile b): \"path\" \"/x\" is taken by "
	    "another profile's \"path\""));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; "
	    "path = \"/x/pkiclient.exe\"; }, { name = \"b\"; "
	    "path = \"/x\"; } );\n");
	assert_non_null(strstr(log, "another profile's \"path\""));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; }, "
	    "{ name = \"b\"; path = \"/scep/a\"; } );\n");
	assert_non_null(strstr(log, "(profile b): \"path\" \"/scep/a\" is "
	    "taken by a profile's <base_path>/<name> route"));
	log = conf_refusal(CONF_BASE "path = \"/scep/pkiclient.exe\";\n");
	assert_non_null(strstr(log, "<base_path>/<name> route"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; "
	    "path = \"/api/v1\"; } );\n");
	assert_non_null(strstr(log, "taken by the admin API"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; "
	    "path = \"/ocsp\"; } );\n");
	assert_non_null(strstr(log, "taken by the OCSP responder"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; "
	    "path = \"/scep/crl/a.crl\"; } );\n");
	assert_non_null(strstr(log, "taken by the CRLs"));
	log = conf_refusal(CONF_BASE "profiles = ( { name = \"a\"; "
	    "path = \"/certsrv/mscep_admin\"; } );\n");
	assert_non_null(strstr(log, "taken by mscep_admin"));
}

/* --- webhook: webhook_json.c and http_client.c (issue 3 item 3) --- */


/* challenge_mode "intune": what a profile must and may not say. */
#define INTUNE_OK	"challenge_mode = \"intune\"; intune = { " \
	"tenant = \"t\"; client_id = \"c\"; client_secret_file = \"s\"; "

static void
conf_intune(void **state)
{
	struct conf	*c;
	char		*path;
	const char	*log;

	(void)state;
	path = write_conf(CONF_BASE INTUNE_OK "};\n");
	assert_non_null(c = conf_load(path, 0));
	unlink(path);
	assert_int_equal(c->profiles[0].intune.timeout_ms, 10000);
	assert_int_equal(c->profiles[0].intune.revocation_interval, 300);
	assert_string_equal(c->profiles[0].intune.authority,
	    "https://login.microsoftonline.com");
	assert_string_equal(c->profiles[0].intune.provider_name, "scepd");
	conf_free(c);
	path = write_conf(CONF_BASE INTUNE_OK "revocation_interval = 0; };\n");
	assert_non_null(c = conf_load(path, 0));
	unlink(path);
	assert_int_equal(c->profiles[0].intune.revocation_interval, 0);
	conf_free(c);

	log = conf_refusal(CONF_BASE "challenge_mode = [\"intune\", "
	    "\"static\"]; intune = { tenant = \"t\"; client_id = \"c\"; "
	    "client_secret_file = \"s\"; };\n");
	assert_non_null(strstr(log, "challenge_mode \"intune\" must be the "
	    "only mode"));
	log = conf_refusal(CONF_BASE "challenge_mode = \"intune\"; "
	    "intune = { client_id = \"c\"; client_secret_file = \"s\"; };\n");
	assert_non_null(strstr(log, "needs intune.tenant and intune.client_id"));
	log = conf_refusal(CONF_BASE INTUNE_OK "client_certificate = \"x\"; "
	    "client_key = \"y\"; };\n");
	assert_non_null(strstr(log, "either client_secret_file or both"));
	log = conf_refusal(CONF_BASE "challenge_mode = \"intune\"; intune = { "
	    "tenant = \"t\"; client_id = \"c\"; client_certificate = \"x\"; "
	    "};\n");
	assert_non_null(strstr(log, "either client_secret_file or both"));
	log = conf_refusal(CONF_BASE INTUNE_OK "graph = \"http://graph\"; };\n");
	assert_non_null(strstr(log, "must be https:// URLs"));
	log = conf_refusal(CONF_BASE INTUNE_OK "}; approval = \"manual\";\n");
	assert_non_null(strstr(log, "approval = \"manual\" is not possible"));
	log = conf_refusal(CONF_BASE INTUNE_OK "revocation_interval = -1; };\n");
	assert_non_null(strstr(log, "revocation_interval"));
	log = conf_refusal(CONF_BASE INTUNE_OK "tenantid = \"t\"; };\n");
	assert_non_null(strstr(log, "tenantid"));
}

#define J(s)	(s), strlen(s)

/* What Entra ID, Graph and Intune answer, read as they mean it. */
static void
intune_json_good(void **state)
{
	struct intune_revocation	*q;
	char				*tok, *uri, code[64], desc[256], e[256];
	long long			 life;
	size_t				 n;

	(void)state;
	assert_int_equal(intune_json_token(J("{\"token_type\": \"Bearer\", "
	    "\"expires_in\": 3599, \"ext_expires_in\": 3599, "
	    "\"access_token\": \"eyJ0.x.y\"}"), &tok, &life, e, sizeof(e)), 0);
	assert_string_equal(tok, "eyJ0.x.y");
	assert_int_equal(life, 3599);
	free(tok);

	intune_json_token_error(J("{\"error\": \"invalid_client\", "
	    "\"error_description\": \"AADSTS7000215: Invalid client secret."
	    "\\r\\nTrace ID: 1\"}"), code, sizeof(code), desc, sizeof(desc));
	assert_string_equal(code, "invalid_client");
	assert_string_equal(desc, "AADSTS7000215: Invalid client secret.");
	intune_json_token_error(J("<html>"), code, sizeof(code), desc,
	    sizeof(desc));
	assert_string_equal(code, "");
	assert_string_equal(desc, "");

	/* The first https URI of the name, whatever its case; decoys skipped. */
	assert_int_equal(intune_json_service(J("{\"value\": [{\"providerName\": "
	    "\"Decoy\", \"uri\": \"https://d\"}, {\"providerName\": "
	    "\"pkiconnectorfeservice\", \"uri\": \"http://plain\"}, "
	    "{\"providerName\": \"PkiConnectorFEService\", \"uri\": "
	    "\"https://h/RACerts/P\"}]}"), "PkiConnectorFEService", &uri, e,
	    sizeof(e)), 0);
	assert_string_equal(uri, "https://h/RACerts/P");
	free(uri);
	assert_int_equal(intune_json_service(J("{\"value\": []}"),
	    "ScepRequestValidationFEService", &uri, e, sizeof(e)), 0);
	assert_null(uri);

	assert_int_equal(intune_json_code(J("{\"code\": \"Success\", "
	    "\"errorDescription\": null}"), code, sizeof(code), desc,
	    sizeof(desc), e, sizeof(e)), 0);
	assert_string_equal(code, "Success");
	assert_string_equal(desc, "");
	assert_int_equal(intune_json_code(J("{\"code\": \"ChallengeExpired\", "
	    "\"errorDescription\": \"expired\\nsecond line\", \"extra\": 1}"),
	    code, sizeof(code), desc, sizeof(desc), e, sizeof(e)), 0);
	assert_string_equal(code, "ChallengeExpired");
	assert_string_equal(desc, "expired");
	assert_int_equal(intune_json_code(J("{\"code\": \"Unknown\", "
	    "\"errorDescription\": \"a\\u001b[31mb\\tc\"}"), code,
	    sizeof(code), desc, sizeof(desc), e, sizeof(e)), 0);
	assert_string_equal(desc, "a?[31mb?c");

	assert_int_equal(intune_json_revocations(J("{\"value\": ["
	    "{\"requestContext\": \"c1\", \"serialNumber\": \"0A1B\", "
	    "\"issuerName\": \"CN=CA\", \"caConfiguration\": \"x\"}, "
	    "{\"requestContext\": \"c2\", \"serialNumber\": \"02\", "
	    "\"issuerName\": null}]}"), 500, &q, &n, e, sizeof(e)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(q[0].context, "c1");
	assert_string_equal(q[0].serial, "0A1B");
	assert_string_equal(q[0].issuer, "CN=CA");
	assert_null(q[1].issuer);
	intune_revocations_free(q, n);
	assert_int_equal(intune_json_revocations(J("{\"value\": []}"), 500, &q,
	    &n, e, sizeof(e)), 0);
	assert_int_equal(n, 0);
	intune_revocations_free(q, n);

	assert_int_equal(intune_json_uploaded(J("{\"value\": true}"), e,
	    sizeof(e)), 0);
}

/* Anything else is refused, naming what is wrong, and leaves nothing. */
static void
intune_json_refusals(void **state)
{
	static const char *const tokens[] = {
		"", "not json", "[]", "{}", "{\"access_token\": \"\", "
		"\"expires_in\": 1}", "{\"access_token\": 5, \"expires_in\": 1}",
		"{\"access_token\": \"t\", \"expires_in\": \"3600\"}",
		"{\"access_token\": \"t\"}",
		"{\"access_token\": \"t\", \"access_token\": \"u\", "
		"\"expires_in\": 1}",
	};
	static const char *const maps[] = {
		"", "{}", "{\"value\": {}}", "[{\"providerName\": \"x\"}]",
	};
	static const char *const codes[] = {
		"", "{}", "[]", "{\"code\": true}", "{\"code\": \"\"}",
		"{\"code\": [\"Success\"]}", "{\"value\": \"Success\"}",
		"{\"code\": \"Success\", \"errorDescription\": 5}",
		"{\"code\": \"Suc cess\"}", "{\"code\": \"Success\\n\"}",
		"{\"code\": \"Success\", \"code\": \"Unknown\"}",
		"{\"code\": \"AVeryLongCodeNameThatDoesNotFitIntoTheBufferOfSixty"
		"FourCharacters\"}",
	};
	static const char *const revocations[] = {
		"", "{}", "{\"value\": {}}", "{\"value\": [7]}",
		"{\"value\": [{\"requestContext\": 7, \"serialNumber\": \"1\"}]}",
		"{\"value\": [{\"serialNumber\": \"1\"}]}",
		"{\"value\": [{\"requestContext\": \"c\"}]}",
		"{\"value\": [{\"requestContext\": \"c\", \"serialNumber\": \"\"}]}",
		"{\"value\": [{\"requestContext\": \"c\", \"serialNumber\": \"1\", "
		"\"issuerName\": 3}]}",
		"{\"value\": [{\"requestContext\": \"c\\u0000d\", "
		"\"serialNumber\": \"1\"}]}",
		"{\"value\": [{\"requestContext\": \"c\", \"serialNumber\": "
		"\"1\\n2\"}]}",
		/* a good one first: nothing of it is kept */
		"{\"value\": [{\"requestContext\": \"c\", \"serialNumber\": \"1\"}, "
		"{\"requestContext\": \"d\"}]}",
		/* more than asked for (max 1 below) */
		"{\"value\": [{\"requestContext\": \"c\", \"serialNumber\": \"1\"}, "
		"{\"requestContext\": \"d\", \"serialNumber\": \"2\"}]}",
	};
	static const char *const uploads[] = {
		"", "{}", "{\"value\": \"true\"}", "{\"value\": false}",
		"{\"value\": 1}", "true",
	};
	struct intune_revocation	*q;
	char				*tok, *uri, code[64], desc[256], e[256];
	long long			 life;
	size_t				 i, n;

	(void)state;
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		e[0] = '\0';
		assert_int_equal(intune_json_token(J(tokens[i]), &tok, &life, e,
		    sizeof(e)), -1);
		assert_null(tok);
		assert_true(e[0] != '\0');
	}
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		assert_int_equal(intune_json_service(J(maps[i]), "x", &uri, e,
		    sizeof(e)), -1);
		assert_null(uri);
	}
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		e[0] = '\0';
		assert_int_equal(intune_json_code(J(codes[i]), code,
		    sizeof(code), desc, sizeof(desc), e, sizeof(e)), -1);
		assert_string_equal(code, "");
		assert_true(e[0] != '\0');
	}
	for (i = 0; i < sizeof(revocations) / sizeof(revocations[0]); i++) {
		e[0] = '\0';
		assert_int_equal(intune_json_revocations(J(revocations[i]),
		    i == sizeof(revocations) / sizeof(revocations[0]) - 1 ? 1 :
		    500, &q, &n, e, sizeof(e)), -1);
		assert_null(q);
		assert_int_equal(n, 0);
		assert_true(e[0] != '\0');
	}
	assert_non_null(strstr(e, "more than the 1 asked for"));
	for (i = 0; i < sizeof(uploads) / sizeof(uploads[0]); i++)
		assert_int_equal(intune_json_uploaded(J(uploads[i]), e,
		    sizeof(e)), -1);
	assert_non_null(strstr(e, "not recorded"));
}

/* Known answer from Python: hmac.new(key, b"1700000000." + body, sha256). */
static void
webhook_signature(void **state)
{
	char	 sig[WEBHOOK_SIG_LEN];
	const char *body = "{\"allow\":true}";

	(void)state;
	assert_int_equal(webhook_sign("hook-secret-0123456789abcdef", 28,
	    "1700000000", body, strlen(body), sig), 0);
	assert_string_equal(sig, "sha256=28c2f5aa0fd951b57cb2bfe5280052bbd5b"
	    "92ffff53fc23109ccfc49a1e2c38b");
	/* The timestamp is part of what is signed, joined by ".". */
	assert_int_equal(webhook_sign("key", 3, "The quick brown fox",
	    "jumps over the lazy dog", 23, sig), 0);
	assert_string_equal(sig, "sha256=7298ee2f6d3ff5ba40ec8e176b8062195f8"
	    "23018ad39fe74a8727a101007702a");
}

static void
webhook_build_documents(void **state)
{
	struct webhook_validate_req	 r;
	struct webhook_issued		 n;
	const char			*sans[] = { "DNS:a.example", "IP:192.0.2.1" };
	json_t				*o, *a;
	json_error_t			 jerr;
	char				*s, ts[32];
	size_t				 len;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.profile = "wifi";
	r.transaction_id = "tid-1";
	r.challenge = "s3cret\"\\xyz";	/* only 8 bytes belong to it */
	r.challenge_len = 8;
	r.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nAA==\n";
	r.subject = "CN=dev1,O=Acme";
	r.sans = sans;
	r.nsans = 2;
	r.client_address = "192.0.2.9";
	assert_non_null(s = webhook_build_validate(&r, &len));
	assert_int_equal(len, strlen(s));
	assert_non_null(o = json_loads(s, 0, &jerr));
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "validate");
	assert_string_equal(json_string_value(json_object_get(o, "profile")),
	    "wifi");
	assert_string_equal(json_string_value(json_object_get(o,
	    "transaction_id")), "tid-1");
	assert_string_equal(json_string_value(json_object_get(o, "challenge")),
	    "s3cret\"\\");
	assert_string_equal(json_string_value(json_object_get(o, "csr")),
	    r.csr_pem);
	assert_string_equal(json_string_value(json_object_get(o, "subject")),
	    "CN=dev1,O=Acme");
	a = json_object_get(o, "sans");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 1)),
	    "IP:192.0.2.1");
	assert_string_equal(json_string_value(json_object_get(o,
	    "client_address")), "192.0.2.9");
	json_decref(o);
	free(s);

	/* A challenge that is not UTF-8 cannot be sent as a JSON string. */
	r.challenge = "\xff\xfe";
	r.challenge_len = 2;
	assert_null(webhook_build_validate(&r, &len));

	memset(&n, 0, sizeof(n));
	n.profile = "wifi";
	n.transaction_id = "tid-1";
	n.serial = "0A1B";
	n.thumbprint_sha1 = "00112233445566778899AABBCCDDEEFF00112233";
	n.not_after = 1735689599;	/* 2024-12-31T23:59:59Z */
	n.issuer = "CN=CA";
	n.subject = "CN=dev1";
	assert_non_null(s = webhook_build_issued(&n, &len));
	assert_non_null(o = json_loads(s, 0, &jerr));
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "issued");
	assert_string_equal(json_string_value(json_object_get(o, "not_after")),
	    "2024-12-31T23:59:59Z");
	assert_string_equal(json_string_value(json_object_get(o,
	    "thumbprint_sha1")), n.thumbprint_sha1);
	assert_string_equal(json_string_value(json_object_get(o, "serial")),
	    "0A1B");
	json_decref(o);
	free(s);

	assert_non_null(s = webhook_build_refused("wifi", "tid-2",
	    "validator denied the request", &len));
	assert_non_null(o = json_loads(s, 0, &jerr));
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "refused");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    "validator denied the request");
	json_decref(o);
	free(s);

	assert_int_equal(webhook_time(0, ts, sizeof(ts)), 0);
	assert_string_equal(ts, "1970-01-01T00:00:00Z");
}

static int
parse(const char *body, int *allow, struct policy_binding *b, char *why,
    size_t whylen)
{
	return webhook_parse_reply((const unsigned char *)body, strlen(body),
	    allow, b, why, whylen);
}

static void
webhook_reply_allow_and_deny(void **state)
{
	struct policy_binding	 b;
	char			 why[256];
	int			 allow;

	(void)state;
	assert_int_equal(parse("{\"allow\": true, \"reason\": \"known\", "
	    "\"device_id\": \"dev-42\", \"sid\": \"S-1-5-21-1-2-3-1001\", "
	    "\"subject\": \"/CN=dev-42\", \"sans\": [\"DNS:dev-42.example\"], "
	    "\"vars\": {\"dept\": \"eng\", \"upn\": \"a@example.org\"}, "
	    "\"future\": [1, 2]}", &allow, &b, why, sizeof(why)), 0);
	assert_int_equal(allow, 1);
	assert_string_equal(why, "known");
	assert_string_equal(b.device_id, "dev-42");
	assert_string_equal(b.sid, "S-1-5-21-1-2-3-1001");
	assert_string_equal(b.subject, "/CN=dev-42");
	assert_int_equal(b.sans.n, 1);
	assert_string_equal(b.sans.v[0], "DNS:dev-42.example");
	assert_int_equal(b.nvars, 2);
	assert_string_equal(b.var_name[0], "dept");
	assert_string_equal(b.var_value[0], "eng");
	assert_string_equal(b.var_value[1], "a@example.org");
	policy_binding_clear(&b);

	/* Minimal allow: nothing bound. */
	assert_int_equal(parse("{\"allow\":true}", &allow, &b, why,
	    sizeof(why)), 0);
	assert_int_equal(allow, 1);
	assert_null(b.device_id);
	assert_int_equal(b.nvars, 0);
	policy_binding_clear(&b);

	/* Deny, with a reason made safe for a log line. */
	assert_int_equal(parse("{\"allow\": false, \"reason\": "
	    "\"not\\nin \\\"inventory\\\"\"}", &allow, &b, why, sizeof(why)), 0);
	assert_int_equal(allow, 0);
	assert_string_equal(why, "not?in ?inventory?");
	assert_null(b.device_id);
}

static void
webhook_reply_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"<html>allow</html>",
		"{\"allow\": true",			/* truncated */
		"[{\"allow\": true}]",			/* not an object */
		"\"allow\"",
		"{}",					/* allow missing */
		"{\"allow\": \"true\"}",		/* wrong types */
		"{\"allow\": 1}",
		"{\"allow\": null}",
		"{\"Allow\": true}",
		"{\"allow\": false, \"allow\": true}",	/* duplicate key */
		"{\"allow\": true, \"reason\": 5}",
		"{\"allow\": true, \"device_id\": 42}",
		"{\"allow\": true, \"device_id\": \"\"}",
		"{\"allow\": true, \"device_id\": \"a\\u0000b\"}",
		"{\"allow\": true, \"device_id\": \"a\\nb\"}",
		"{\"allow\": true, \"device_id\": \"a\\u001bb\"}",
		"{\"allow\": true, \"sid\": \"S-1-\"}",
		"{\"allow\": true, \"sid\": \"X-1-5-21\"}",
		"{\"allow\": true, \"sid\": \"S-1-5-21-1'; DROP\"}",
		"{\"allow\": true, \"sid\": \"S-1-5-99999999999\"}",
		"{\"allow\": true, \"subject\": [\"CN=x\"]}",
		"{\"allow\": true, \"sans\": \"DNS:x\"}",
		"{\"allow\": true, \"sans\": [\"DNS:x\", 7]}",
		"{\"allow\": true, \"vars\": [\"x\"]}",
		"{\"allow\": true, \"vars\": {\"x\": 1}}",
		"{\"allow\": true, \"vars\": {\"x\": {\"y\": \"z\"}}}",
		"{\"allow\": true, \"vars\": {\"a b\": \"z\"}}",
		"{\"allow\": true, \"vars\": {\"\": \"z\"}}",
		"{\"allow\": true, \"vars\": {\"a\": \"1\", \"b\": \"2\", "
		    "\"c\": \"3\", \"d\": \"4\", \"e\": \"5\", \"f\": \"6\", "
		    "\"g\": \"7\", \"h\": \"8\", \"i\": \"9\", \"j\": \"10\", "
		    "\"k\": \"11\", \"l\": \"12\", \"m\": \"13\", \"n\": \"14\", "
		    "\"o\": \"15\", \"p\": \"16\", \"q\": \"17\"}}",
		"{\"allow\": true} trailing",
		"\xef\xbb\xbf{\"allow\": true}",	/* BOM */
		"{\"allow\": true, \"device_id\": \"\xc3\x28\"}", /* bad UTF-8 */
		"\x01\x1b[31m\xc3",			/* control bytes */
	};
	struct policy_binding	 b;
	unsigned char		*big;
	char			 why[256];
	int			 allow;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		allow = 1;
		why[0] = '\0';
		if (parse(bad[i], &allow, &b, why, sizeof(why)) != -1)
			fail_msg("accepted reply %zu: %s", i, bad[i]);
		assert_int_equal(allow, 0);
		assert_true(why[0] != '\0');
		/* The explanation goes to the log: printable ASCII only. */
		for (const char *p = why; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		assert_null(b.device_id);
		assert_int_equal(b.nvars, 0);
		assert_int_equal(b.sans.n, 0);
	}
	/* Over 64 KiB: refused however well-formed. */
	big = malloc(WEBHOOK_MAX_REPLY + 2);
	memset(big, ' ', WEBHOOK_MAX_REPLY + 2);
	memcpy(big, "{\"allow\":true}", 14);
	assert_int_equal(webhook_parse_reply(big, WEBHOOK_MAX_REPLY + 1,
	    &allow, &b, why, sizeof(why)), -1);
	assert_int_equal(allow, 0);
	assert_int_equal(webhook_parse_reply(big, WEBHOOK_MAX_REPLY,
	    &allow, &b, why, sizeof(why)), 0);
	assert_int_equal(allow, 1);
	policy_binding_clear(&b);
	free(big);
}

/* A local evhttp server on its own thread for httpc_post(). */
struct hserver {
	struct event_base	*base;
	struct evhttp		*http;
	pthread_t		 thread;
	int			 port;
};

static void
hserver_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*path = evhttp_request_get_uri(req);
	const char	*sig;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);

	(void)arg;
	if (strcmp(path, "/big") == 0) {
		for (int i = 0; i < 70; i++)
			evbuffer_add_printf(b, "%01023d\n", i);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(path, "/chunked") == 0) {
		evhttp_send_reply_start(req, 200, "OK");
		evbuffer_add_printf(b, "{\"allow\":");
		evhttp_send_reply_chunk(req, b);
		evbuffer_add_printf(b, "true}");
		evhttp_send_reply_chunk(req, b);
		evhttp_send_reply_end(req);
	} else if (strcmp(path, "/echo?x=1") == 0) {
		/* Echo what arrived: header, method, body. */
		sig = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "X-Test");
		evbuffer_add_printf(b, "%s %s %s ", sig ? sig : "-",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" :
		    "other", evhttp_find_header(evhttp_request_get_input_headers(
		    req), "Content-Type"));
		evbuffer_add_buffer(b, in);
		evhttp_send_reply(req, 201, "Created", b);
	} else
		evhttp_send_reply(req, 404, "Not Found", b);
	evbuffer_free(b);
}

static void *
hserver_run(void *arg)
{
	struct hserver	*s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static void
hserver_start(struct hserver *s)
{
	struct evhttp_bound_socket	*h;
	struct sockaddr_in		 sin;
	socklen_t			 sl = sizeof(sin);

	assert_int_equal(evthread_use_pthreads(), 0);
	assert_non_null(s->base = event_base_new());
	assert_non_null(s->http = evhttp_new(s->base));
	evhttp_set_gencb(s->http, hserver_cb, NULL);
	assert_non_null(h = evhttp_bind_socket_with_handle(s->http,
	    "127.0.0.1", 0));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(h),
	    (struct sockaddr *)&sin, &sl), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, hserver_run, s), 0);
}

static void
hserver_stop(struct hserver *s)
{
	event_base_loopexit(s->base, NULL);
	pthread_join(s->thread, NULL);
	evhttp_free(s->http);
	event_base_free(s->base);
}

/* A socket on 127.0.0.1: listening (never accepting) or only bound. */
static int
local_socket(int do_listen, int *port)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
webhook_http_client(void **state)
{
	struct hserver		 s;
	struct httpc_reply	 r;
	struct httpc_header	 h = { "X-Test", "sha256=00ff" };
	struct timespec		 t0;
	char			 url[128], err[256];
	int			 fd, port;
	long			 ms;

	(void)state;
	memset(&s, 0, sizeof(s));
	hserver_start(&s);

	/* The request goes out as sent; any status comes back with its body. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo?x=1", s.port);
	assert_int_equal(httpc_post(url, &h, 1, "{\"a\":1}", 7, 2000, 1024, &r,
	    err, sizeof(err)), HTTPC_OK);
	assert_int_equal(r.status, 201);
	assert_string_equal((char *)r.body,
	    "sha256=00ff POST application/json {\"a\":1}");
	httpc_reply_clear(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/chunked", s.port);
	assert_int_equal(httpc_post(url, NULL, 0, "{}", 2, 2000, 1024, &r,
	    err, sizeof(err)), HTTPC_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body, "{\"allow\":true}");
	httpc_reply_clear(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", s.port);
	assert_int_equal(httpc_post(url, NULL, 0, "{}", 2, 2000, 1024, &r,
	    err, sizeof(err)), HTTPC_OK);
	assert_int_equal(r.status, 404);
	httpc_reply_clear(&r);

	/* 70 KiB against a 64 KiB cap. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", s.port);
	assert_int_equal(httpc_post(url, NULL, 0, "{}", 2, 2000,
	    WEBHOOK_MAX_REPLY, &r, err, sizeof(err)), HTTPC_TOO_BIG);
	assert_null(r.body);
	hserver_stop(&s);

	/* Connection refused: nothing was sent. */
	fd = local_socket(0, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_int_equal(httpc_post(url, NULL, 0, "{}", 2, 2000, 1024, &r,
	    err, sizeof(err)), HTTPC_UNREACHED);
	assert_non_null(strstr(err, "cannot connect"));
	close(fd);

	/* Connected, never answered: the deadline holds. */
	fd = local_socket(1, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(httpc_post(url, NULL, 0, "{}", 2, 300, 1024, &r,
	    err, sizeof(err)), HTTPC_TIMEOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 290 && ms < 1500);
	close(fd);

	/* Not a URL we can use. */
	assert_int_equal(httpc_post("ftp://127.0.0.1/", NULL, 0, "{}", 2, 300,
	    1024, &r, err, sizeof(err)), HTTPC_INTERNAL);
	assert_int_equal(httpc_post("http://user@127.0.0.1/", NULL, 0, "{}", 2,
	    300, 1024, &r, err, sizeof(err)), HTTPC_INTERNAL);
	assert_int_equal(httpc_post("not a url", NULL, 0, "{}", 2, 300, 1024,
	    &r, err, sizeof(err)), HTTPC_INTERNAL);
}

/*
 * The connection table.  An answer still being written out (evhttp then
 * clears the bufferevent's read callback) is not a connection evhttp let
 * go of: the second's work keeps it, and whoever holds it is told only
 * when it really closes.
 */
struct cc_test {
	struct conncap	*cc;
	int		 answered;
	int		 gone;
};

static void
cc_gone(void *arg)
{
	((struct cc_test *)arg)->gone++;
}

static void
cc_answer(struct evhttp_request *req, void *arg)
{
	struct cc_test		*t = arg;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct evbuffer		*b;
	const char		*why;
	static char		 body[8 << 20];

	assert_int_equal(conncap_admit(t->cc, conn, &why), 1);
	assert_int_equal(conncap_hold(t->cc, conn, cc_gone, t), 0);
	/* More than the sockets hold: still being written afterwards. */
	assert_non_null(b = evbuffer_new());
	assert_int_equal(evbuffer_add(b, body, sizeof(body)), 0);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	t->answered = 1;
}

/* An evhttp on loopback with the table of T in front, answered by cc_answer. */
static struct evhttp *
cc_server(struct cc_test *t, struct event_base **base, struct sockaddr_in *sin)
{
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	socklen_t		 sl = sizeof(*sin);

	assert_non_null(*base = event_base_new());
	assert_non_null(http = evhttp_new(*base));
	assert_non_null(t->cc = conncap_new(*base, 4, 4, 10));
	evhttp_set_bevcb(http, conncap_bufferevent, t->cc);
	evhttp_set_gencb(http, cc_answer, t);
	assert_non_null(bound = evhttp_bind_socket_with_handle(http,
	    "127.0.0.1", 0));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)sin, &sl), 0);
	return http;
}

static void
conncap_answer_being_written(void **state)
{
	struct cc_test		 t = { NULL, 0, 0 };
	struct event_base	*base;
	struct evhttp		*http;
	struct sockaddr_in	 sin;
	const char		*req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	int			 fd, small = 4096, i;

	(void)state;
	http = cc_server(&t, &base, &sin);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (i = 0; i < 100 && !t.answered; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(t.answered);
	/* The write begins; the client reads nothing. */
	for (i = 0; i < 10; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	conncap_tick(t.cc);
	assert_int_equal(t.gone, 0);
	/* The client leaves: the write fails, evhttp frees the connection. */
	close(fd);
	for (i = 0; i < 100 && t.gone == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(t.gone, 1);
	conncap_free(t.cc);
	evhttp_free(http);
	event_base_free(base);
}

/*
 * pump: run the loop until FD has read an answer and its end (at most
 * 2,000 rounds); what it read, NUL-terminated, in BUF.
 */
static void
pump(struct event_base *base, int fd, char *buf, size_t size)
{
	size_t		 got = 0;
	ssize_t		 n = 1;
	struct pollfd	 p = { .fd = fd, .events = POLLIN };

	for (int i = 0; i < 2000 && n != 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 1) == 1 && (n = recv(fd, buf + got,
		    size - 1 - got, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		if (n < 0 && errno != EAGAIN)
			break;
	}
	buf[got] = '\0';
}

static int
cc_connect(const struct sockaddr_in *sin)
{
	int	fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)sin,
	    sizeof(*sin)), 0);
	return fd;
}

/*
 * A connection evhttp refuses before its first request (a bad request
 * line: 400, freed at once) must leave nothing reading the descriptor
 * number the next connection is given.  Each refused one is followed by
 * a request whose header is over the limit, which evhttp must see whole
 * and refuse: before the fix the stale bufferevent read part of it away
 * and what was left passed as a small request (answered 200).
 */
static void
conncap_descriptor_not_shared(void **state)
{
	struct cc_test		 t = { NULL, 0, 0 };
	struct event_base	*base;
	struct evhttp		*http;
	struct sockaddr_in	 sin;
	static char		 big[40000], buf[4096];
	int			 fd, n;

	(void)state;
	n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + n, 'a', 33000);
	memcpy(big + n + 33000, "\r\n\r\n", 5);
	http = cc_server(&t, &base, &sin);
	evhttp_set_max_headers_size(http, 32768);
	for (int round = 0; round < 8; round++) {
		fd = cc_connect(&sin);
		assert_int_equal(send(fd, "junk\r\n\r\n", 8, 0), 8);
		pump(base, fd, buf, sizeof(buf));
		assert_true(strncmp(buf, "HTTP/1.1 400 ", 13) == 0);
		close(fd);
		fd = cc_connect(&sin);
		assert_int_equal(send(fd, big, strlen(big), 0),
		    (ssize_t)strlen(big));
		pump(base, fd, buf, sizeof(buf));
		close(fd);
		assert_true(strncmp(buf, "HTTP/1.1 400 ", 13) == 0);
		assert_int_equal(t.answered, 0);
	}
	conncap_free(t.cc);
	evhttp_free(http);
	event_base_free(base);
}

/* --- server/key_use.c, with the signer and the key list faked ---------- */

int
ca_keys_each(const struct conf *c,
    int (*fn)(EVP_PKEY *, const unsigned char *, void *), void *arg)
{
	(void)c;
	(void)fn;
	(void)arg;
	return 0;
}

int
signer_client_key_use(const unsigned char id[P7_KEY_ID_LEN],
    struct wire_key_use *u, unsigned *gen)
{
	(void)id;
	(void)u;
	(void)gen;
	return P7_REMOTE_UNAVAILABLE;
}

/*
 * What is written is the growth since what was written, within one
 * signer's generation; a new signer counts from 0; counts never go back.
 */
static void
key_use_deltas(void **state)
{
	struct wire_key_use	 now, seen, d;
	unsigned		 gen = 0;

	(void)state;
	memset(&now, 0, sizeof(now));
	memset(&seen, 0, sizeof(seen));
	now.done[P7_PURPOSE_CERT] = 5;
	now.failed[P7_PURPOSE_CERT] = 1;
	now.done[P7_PURPOSE_CRL] = 2;
	key_use_delta(&now, 1, &seen, &gen, &d);
	assert_int_equal(gen, 1);
	assert_int_equal(d.done[P7_PURPOSE_CERT], 5);
	assert_int_equal(d.failed[P7_PURPOSE_CERT], 1);
	assert_int_equal(d.done[P7_PURPOSE_CRL], 2);
	assert_int_equal(d.done[P7_PURPOSE_OCSP], 0);
	/* Written: the caller makes it seen. */
	seen = now;
	now.done[P7_PURPOSE_CERT] = 8;
	key_use_delta(&now, 1, &seen, &gen, &d);
	assert_int_equal(d.done[P7_PURPOSE_CERT], 3);
	assert_int_equal(d.failed[P7_PURPOSE_CERT], 0);
	assert_int_equal(d.done[P7_PURPOSE_CRL], 0);
	/* Not written (the database was down): the same again, and more. */
	now.done[P7_PURPOSE_CERT] = 9;
	key_use_delta(&now, 1, &seen, &gen, &d);
	assert_int_equal(d.done[P7_PURPOSE_CERT], 4);
	/* A new signer, at 1 already: all of its counts are new. */
	memset(&now, 0, sizeof(now));
	now.done[P7_PURPOSE_CERT] = 1;
	key_use_delta(&now, 2, &seen, &gen, &d);
	assert_int_equal(gen, 2);
	assert_int_equal(d.done[P7_PURPOSE_CERT], 1);
	assert_int_equal(d.done[P7_PURPOSE_CRL], 0);
	assert_int_equal(seen.done[P7_PURPOSE_CERT], 0);
	/* Going back within a generation writes nothing (never negative). */
	seen.done[P7_PURPOSE_CERT] = 3;
	key_use_delta(&now, 2, &seen, &gen, &d);
	assert_int_equal(d.done[P7_PURPOSE_CERT], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_apple_style),
		cmocka_unit_test(get_base64url_style),
		cmocka_unit_test(get_certmonger_style),
		cmocka_unit_test(get_sscep_style),
		cmocka_unit_test(get_unescaped_padding_and_spaces),
		cmocka_unit_test(base64_refusals),
		cmocka_unit_test(query_parameters),
		cmocka_unit_test(caps_tokens),
		cmocka_unit_test(conf_good_and_defaults),
		cmocka_unit_test(conf_example_is_valid),
		cmocka_unit_test(conf_errors),
		cmocka_unit_test(conf_key_mode),
		cmocka_unit_test(conf_profiles_inherit),
		cmocka_unit_test(conf_challenge_mode_lists),
		cmocka_unit_test(conf_sid_from_csr),
		cmocka_unit_test(conf_profile_paths),
		cmocka_unit_test(conf_intune),
		cmocka_unit_test(intune_json_good),
		cmocka_unit_test(intune_json_refusals),
		cmocka_unit_test(webhook_signature),
		cmocka_unit_test(webhook_build_documents),
		cmocka_unit_test(webhook_reply_allow_and_deny),
		cmocka_unit_test(webhook_reply_refusals),
		cmocka_unit_test(webhook_http_client),
		cmocka_unit_test(conncap_answer_being_written),
		cmocka_unit_test(conncap_descriptor_not_shared),
		cmocka_unit_test(key_use_deltas),
	};

	/* A peer that closes early must fail a test, not kill the binary. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("server", tests, setup, teardown);
}
