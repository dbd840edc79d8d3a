/*
 * Unit tests of policy/: the enrollment decision (static, one-time and
 * delegated challenges through fake ops, several modes tried in order,
 * renewal by signer certificate,
 * manual approval) and the constant-time secret comparison.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"
#include "policy/tmpl_util.h"	/* policy_template_check() */

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
		/* Counted against the address (limits.failed_challenges_...). */
		assert_true(v.bad_challenge);
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
	assert_true(v.bad_challenge);
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
	};
	struct policy_ops	ops = { fake_consume, fake_validate, NULL };
	struct policy_profile	p;
	struct policy_verdict	v;

	(void)state;
	for (int mode = POLICY_CHALLENGE_DYNAMIC; mode <= POLICY_CHALLENGE_WEBHOOK;
	    mode++) {
		profile_init(&p);
		p.challenge_modes[0] = (enum policy_challenge_mode)mode;
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
			assert_true(v.bad_challenge);
			policy_verdict_clear(&v);
		}
		/* Store or validator down: no decision, never a FAILURE. */
		fake_lookup = POLICY_LOOKUP_ERROR;
		v = decide(&p, &ops, "one-time", 8);
		assert_int_equal(v.decision, POLICY_RETRY);
		assert_false(v.bad_challenge);
		assert_non_null(strstr(v.reason, "unavailable"));
		policy_verdict_clear(&v);
		/* Nor does a later mode answer for it, even one that matches. */
		p.challenge_modes[1] = POLICY_CHALLENGE_STATIC;
		p.nchallenge_modes = 2;
		p.static_challenge = (char *)(uintptr_t)"one-time";
		v = decide(&p, &ops, "one-time", 8);
		assert_int_equal(v.decision, POLICY_RETRY);
		assert_non_null(strstr(v.reason, "unavailable"));
		policy_verdict_clear(&v);
		profile_init(&p);
		p.challenge_modes[0] = (enum policy_challenge_mode)mode;
		/* No challenge: refused without asking the store. */
		fake_calls = 0;
		v = decide(&p, &ops, NULL, 0);
		assert_int_equal(v.decision, POLICY_DENY);
		assert_int_equal(fake_calls, 0);
	}
}

/* A validator answering apart from the one-time store, to tell them apart. */
static enum policy_lookup	fake_validator_says;
static int			fake_validator_calls;

static enum policy_lookup
fake_validator(void *ctx, const struct policy_profile *p, X509_REQ *req,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	(void)ctx;
	(void)p;
	(void)req;
	(void)challenge;
	(void)len;
	(void)out;
	(void)reason;
	(void)reasonlen;
	fake_validator_calls++;
	return fake_validator_says;
}

static void
set_modes(struct policy_profile *p, enum policy_challenge_mode a,
    enum policy_challenge_mode b)
{
	p->challenge_modes[0] = a;
	p->challenge_modes[1] = b;
	p->nchallenge_modes = 2;
}

/* Expect a refusal (badRequest) whose reason holds want and not unwanted. */
static void
assert_refused(struct policy_verdict *v, const char *want,
    const char *unwanted)
{
	assert_int_equal(v->decision, POLICY_DENY);
	assert_int_equal(v->fail, POLICY_FAIL_BAD_REQUEST);
	if (strstr(v->reason, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", v->reason, want);
	if (unwanted != NULL && strstr(v->reason, unwanted) != NULL)
		fail_msg("reason \"%s\" has \"%s\"", v->reason, unwanted);
	policy_verdict_clear(v);
}

/* Expect challenge to be accepted, with *calls at want afterwards. */
static void
assert_issues(const struct policy_profile *p, const struct policy_ops *ops,
    const char *challenge, const int *calls, int want)
{
	struct policy_verdict	v = decide(p, ops, challenge, strlen(challenge));

	assert_int_equal(v.decision, POLICY_ISSUE);
	assert_int_equal(*calls, want);
	policy_verdict_clear(&v);
}

static void
challenge_modes_tried_in_order(void **state)
{
	struct policy_ops	ops = { fake_consume, fake_validator, NULL };
	struct policy_profile	p;
	struct policy_verdict	v;

	(void)state;
	profile_init(&p);
	set_modes(&p, POLICY_CHALLENGE_DYNAMIC, POLICY_CHALLENGE_STATIC);
	/* A one-time challenge the store knows decides: bound to its device. */
	fake_lookup = POLICY_LOOKUP_OK;
	fake_calls = 0;
	v = decide(&p, &ops, "one-time", 8);
	assert_int_equal(v.decision, POLICY_ISSUE);
	assert_string_equal(v.plan.device_id, "dev-42");
	assert_int_equal(fake_calls, 1);
	policy_verdict_clear(&v);
	/* Unknown to the store: the static challenge is asked next. */
	fake_lookup = POLICY_LOOKUP_UNKNOWN;
	v = decide(&p, &ops, "s3cret-static", 13);
	assert_int_equal(v.decision, POLICY_ISSUE);
	assert_null(v.plan.device_id);
	policy_verdict_clear(&v);
	/* Used or expired is final: never handed on to static. */
	fake_lookup = POLICY_LOOKUP_USED;
	v = decide(&p, &ops, "s3cret-static", 13);
	assert_refused(&v, "dynamic: challenge already used: possible replay",
	    "static");
	fake_lookup = POLICY_LOOKUP_EXPIRED;
	v = decide(&p, &ops, "s3cret-static", 13);
	assert_refused(&v, "dynamic: challenge expired", "static");
	/* Nobody knows it: every mode's reason, in order. */
	fake_lookup = POLICY_LOOKUP_UNKNOWN;
	v = decide(&p, &ops, "guess", 5);
	assert_refused(&v, "dynamic: unknown challenge; "
	    "static: wrong challengePassword", NULL);
	/* No challenge at all: refused before any mode is asked. */
	fake_calls = 0;
	v = decide(&p, &ops, NULL, 0);
	assert_refused(&v, "request carries no challengePassword", NULL);
	assert_int_equal(fake_calls, 0);

	/* Static first: the store is not asked when it matches. */
	set_modes(&p, POLICY_CHALLENGE_STATIC, POLICY_CHALLENGE_DYNAMIC);
	fake_calls = 0;
	assert_issues(&p, &ops, "s3cret-static", &fake_calls, 0);
	fake_lookup = POLICY_LOOKUP_OK;
	assert_issues(&p, &ops, "one-time", &fake_calls, 1);

	/* One-time, then the validator, whose "no" is final. */
	set_modes(&p, POLICY_CHALLENGE_DYNAMIC, POLICY_CHALLENGE_WEBHOOK);
	fake_lookup = POLICY_LOOKUP_UNKNOWN;
	fake_validator_says = POLICY_LOOKUP_OK;
	fake_validator_calls = 0;
	assert_issues(&p, &ops, "hook-ok", &fake_validator_calls, 1);
	fake_validator_says = POLICY_LOOKUP_DENIED;
	v = decide(&p, &ops, "hook-no", 7);
	assert_refused(&v, "dynamic: unknown challenge; webhook: validator "
	    "denied the request", NULL);
	/* A one-time challenge the store knows never reaches the validator. */
	fake_lookup = POLICY_LOOKUP_USED;
	fake_validator_calls = 0;
	v = decide(&p, &ops, "one-time", 8);
	assert_refused(&v, "possible replay", "webhook");
	assert_int_equal(fake_validator_calls, 0);

	/* One mode alone keeps its reason unprefixed, as logs always read. */
	p.nchallenge_modes = 1;
	fake_lookup = POLICY_LOOKUP_UNKNOWN;
	v = decide(&p, &ops, "guess", 5);
	assert_refused(&v, "unknown challenge", "dynamic:");
}

static void
challenge_mode_names(void **state)
{
	enum policy_challenge_mode	m;
	struct policy_profile		p;

	(void)state;
	for (int i = 0; i < POLICY_CHALLENGE_NMODES; i++) {
		assert_int_equal(policy_challenge_mode_from_name(
		    policy_challenge_mode_name((enum policy_challenge_mode)i),
		    &m), 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(policy_challenge_mode_from_name("Static", &m), -1);
	assert_int_equal(policy_challenge_mode_from_name("", &m), -1);
	profile_init(&p);
	/* The default is the static challenge alone. */
	assert_int_equal(p.nchallenge_modes, 1);
	assert_true(policy_profile_has_mode(&p, POLICY_CHALLENGE_STATIC));
	assert_false(policy_profile_has_mode(&p, POLICY_CHALLENGE_DYNAMIC));
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

/* ---- Certificate templates (policy_plan) ---------------------------- */

static EVP_PKEY	*rsa2048;	/* made once: RSA keys are slow to make */

static EVP_PKEY *
tkey(const char *type, const char *param)
{
	EVP_PKEY	*k;

	if (strcmp(type, "RSA") == 0) {
		if (param == NULL && rsa2048 != NULL) {
			EVP_PKEY_up_ref(rsa2048);
			return rsa2048;
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)(param ? atoi(param) : 2048));
		if (param == NULL && k != NULL) {
			EVP_PKEY_up_ref(k);
			rsa2048 = k;
		}
	} else if (strcmp(type, "EC") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	return k;
}

/* An RSA public key with modulus from a real key and exponent e. */
static EVP_PKEY *
rsa_with_e(unsigned long e)
{
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params;
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*base = tkey("RSA", NULL), *k = NULL;
	BIGNUM		*n = NULL, *be;

	assert_int_equal(EVP_PKEY_get_bn_param(base, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_non_null(be = BN_new());
	BN_set_word(be, e);
	assert_non_null(bld = OSSL_PARAM_BLD_new());
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL));
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(be);
	EVP_PKEY_free(base);
	return k;
}

/* Add a subject attribute with a raw string type (no checks). */
static void
subj_raw(X509_REQ *r, const char *field, int type, const char *val, int len)
{
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r),
	    field, type, (const unsigned char *)val, len, -1, 0), 1);
}

/* A CSR for key (taken) with subject "/CN=.." pairs added by the caller. */
static X509_REQ *
tcsr(EVP_PKEY *key)
{
	X509_REQ	*r;

	assert_non_null(r = X509_REQ_new());
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	EVP_PKEY_free(key);
	return r;
}

/* Requested extensions from OpenSSL config text ("subjectAltName", "DNS:x"). */
static void
treq_ext(X509_REQ *r, int nid, const char *value)
{
	STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*ext;
	X509V3_CTX			 ctx;

	X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
	assert_non_null(exts = sk_X509_EXTENSION_new_null());
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	sk_X509_EXTENSION_push(exts, ext);
	assert_int_equal(X509_REQ_add_extensions(r, exts), 1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static GENERAL_NAME *gn_text(int, const char *);
static void treq_gens(X509_REQ *, GENERAL_NAMES *);

/*
 * A SAN extension request from "DNS:a|URI:b|UPN:c|email:d|IP:e", built
 * by hand: OpenSSL's config syntax splits at ',' and Intune's SID URI
 * has one.
 */
static void
treq_list(X509_REQ *r, const char *spec)
{
	GENERAL_NAMES	*gens = GENERAL_NAMES_new();
	char		*dup = strdup(spec), *s, *save = NULL;

	for (s = strtok_r(dup, "|", &save); s; s = strtok_r(NULL, "|", &save)) {
		GENERAL_NAME *gn;

		if (strncmp(s, "DNS:", 4) == 0)
			gn = gn_text(GEN_DNS, s + 4);
		else if (strncmp(s, "email:", 6) == 0)
			gn = gn_text(GEN_EMAIL, s + 6);
		else if (strncmp(s, "URI:", 4) == 0)
			gn = gn_text(GEN_URI, s + 4);
		else if (strncmp(s, "UPN:", 4) == 0) {
			ASN1_TYPE *any = ASN1_TYPE_new();
			ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();

			ASN1_STRING_set(u, s + 4, -1);
			ASN1_TYPE_set(any, V_ASN1_UTF8STRING, u);
			gn = GENERAL_NAME_new();
			GENERAL_NAME_set0_othername(gn, OBJ_nid2obj(NID_ms_upn), any);
		} else
			fail_msg("treq_list: %s", s);
		sk_GENERAL_NAME_push(gens, gn);
	}
	free(dup);
	treq_gens(r, gens);
}

/* A SAN extension request from ready GeneralNames (taken). */
static void
treq_gens(X509_REQ *r, GENERAL_NAMES *gens)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;

	assert_int_equal(X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT), 1);
	assert_int_equal(X509_REQ_add_extensions(r, exts), 1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
}

/* What a server would see: the CSR through DER and back. */
static X509_REQ *
wire(X509_REQ *r)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	X509_REQ		*out;
	X509_ALGOR		*alg;
	ASN1_BIT_STRING		*sig;
	int			 len;

	/* policy/ never checks the signature (pkcs7/ did): a dummy one. */
	assert_non_null(alg = X509_ALGOR_new());
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256WithRSAEncryption),
	    V_ASN1_NULL, NULL);
	assert_int_equal(X509_REQ_set1_signature_algo(r, alg), 1);
	X509_ALGOR_free(alg);
	assert_non_null(sig = ASN1_BIT_STRING_new());
	ASN1_BIT_STRING_set(sig, (unsigned char *)(uintptr_t)"sig", 3);
	X509_REQ_set0_signature(r, sig);
	assert_true((len = i2d_X509_REQ(r, &der)) > 0);
	p = der;
	out = d2i_X509_REQ(NULL, &p, len);
	OPENSSL_free(der);
	X509_REQ_free(r);
	return out;
}

static void
list_set(struct policy_list *l, char **v, size_t n)
{
	l->v = v;
	l->n = n;
}

/* A template with allow-lists of every kind. */
static void
rich_profile(struct policy_profile *p)
{
	static char *dns[] = { "*.corp.example", "vpn.example.org" };
	static char *email[] = { "*@corp.example" };
	static char *upn[] = { "*@corp.example" };
	static char *uri[] = { "tag:microsoft.com,2022-09-14:sid:*",
	    "urn:device:*" };

	profile_init(p);
	list_set(&p->tmpl.san_dns, dns, 2);
	list_set(&p->tmpl.san_email, email, 1);
	list_set(&p->tmpl.san_upn, upn, 1);
	list_set(&p->tmpl.san_uri, uri, 2);
	p->tmpl.sid_extension = 1;
}

/* policy_plan on r (freed here): 0 plan, 1 reason. */
static int
plan(const struct policy_profile *p, X509_REQ *r, const struct policy_binding *b,
    struct policy_plan *out, char *reason)
{
	int	rc;

	r = wire(r);
	rc = policy_plan(p, r, b, NOW, out, reason, 256);
	X509_REQ_free(r);
	assert_true(rc == 0 || rc == 1);
	if (rc == 1) {
		/* A refusal leaves nothing behind and says why, printably. */
		assert_null(out->subject);
		assert_null(out->san);
		assert_null(out->eku);
		assert_true(reason[0] != '\0');
		for (const char *s = reason; *s; s++)
			assert_true(*s >= 0x20 && *s < 0x7f);
	}
	return rc;
}

static X509_REQ *
cn_csr(const char *cn)
{
	X509_REQ	*r = tcsr(tkey("RSA", NULL));

	subj_raw(r, "CN", V_ASN1_UTF8STRING, cn, -1);
	return r;
}

static void
expect_refusal(const struct policy_profile *p, X509_REQ *r,
    const struct policy_binding *b, const char *want)
{
	struct policy_plan	pl;
	char			reason[256];

	if (plan(p, r, b, &pl, reason) != 1)
		fail_msg("accepted, wanted a refusal with \"%s\"", want);
	if (strstr(reason, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", reason, want);
}

static void
expect_plan(const struct policy_profile *p, X509_REQ *r,
    const struct policy_binding *b, struct policy_plan *pl)
{
	char	reason[256] = "";

	if (plan(p, r, b, pl, reason) != 0)
		fail_msg("refused: %s", reason);
}

static void
template_key_rules(void **state)
{
	struct policy_profile	p;
	struct policy_plan	pl;
	X509_REQ		*r;

	(void)state;
	profile_init(&p);
	r = tcsr(tkey("RSA", "1024"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "RSA 1024 bits below the profile's minimum 2048");
	p.tmpl.rsa_max_bits = 2048;
	r = tcsr(tkey("RSA", "3072"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "RSA 3072 bits above the profile's maximum 2048");
	/* Exponents: even and 1 refused, 3 and 65537 accepted. */
	r = tcsr(rsa_with_e(65538));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "exponent");
	r = tcsr(rsa_with_e(1));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "exponent");
	r = tcsr(rsa_with_e(3));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.key_usage, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	policy_plan_clear(&pl);

	/* EC: refused until the profile allows the curve. */
	r = tcsr(tkey("EC", "P-256"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "EC key on curve prime256v1 not accepted");
	p.tmpl.ec_p256 = 1;
	r = tcsr(tkey("EC", "P-256"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_plan(&p, r, NULL, &pl);
	/* RFC 5480: no keyEncipherment for an EC key. */
	assert_int_equal(pl.key_usage, KU_DIGITAL_SIGNATURE);
	policy_plan_clear(&pl);
	r = tcsr(tkey("EC", "P-384"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "secp384r1 not accepted");
	p.tmpl.ec_p384 = 1;
	r = tcsr(tkey("EC", "P-384"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_plan(&p, r, NULL, &pl);
	policy_plan_clear(&pl);
	r = tcsr(tkey("EC", "P-521"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "secp521r1 not accepted");
	r = tcsr(tkey("EC", "secp256k1"));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "secp256k1 not accepted");
	r = tcsr(tkey("ED25519", NULL));
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "ED25519 keys are not accepted");
	policy_plan_clear(&pl);
}

/* An EC P-256 key whose SubjectPublicKeyInfo carries explicit parameters. */
static void
template_key_explicit_curve(void **state)
{
	struct policy_profile	 p;
	EVP_PKEY_CTX		*ctx;
	EVP_PKEY		*k = NULL;
	OSSL_PARAM		 params[3];
	X509_REQ		*r;

	(void)state;
	profile_init(&p);
	p.tmpl.ec_p256 = 1;
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL));
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)(uintptr_t)"P-256", 0);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING,
	    (char *)(uintptr_t)OSSL_PKEY_EC_ENCODING_EXPLICIT, 0);
	params[2] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_PKEY_CTX_set_params(ctx, params), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
	EVP_PKEY_CTX_free(ctx);
	r = tcsr(k);
	subj_raw(r, "CN", MBSTRING_UTF8, "d", -1);
	expect_refusal(&p, r, NULL, "explicit curve parameters");
}

static void
template_subject_from_csr_kept_exactly(void **state)
{
	struct policy_profile	 p;
	struct policy_plan	 pl;
	X509_REQ		*r, *w;
	unsigned char		*a = NULL, *b = NULL;
	int			 la, lb;
	char			 reason[256];

	(void)state;
	profile_init(&p);
	/* Unusual order and string types: CN first, BMPString, Printable. */
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "CN", V_ASN1_BMPSTRING, "\0d\0e\0v", 6);
	subj_raw(r, "OU", V_ASN1_PRINTABLESTRING, "Fleet 1", -1);
	subj_raw(r, "O", V_ASN1_UTF8STRING, "Acm\xc3\xa9", -1);
	subj_raw(r, "C", V_ASN1_PRINTABLESTRING, "DE", -1);
	w = wire(r);
	assert_int_equal(policy_plan(&p, w, NULL, NOW, &pl, reason,
	    sizeof(reason)), 0);
	la = i2d_X509_NAME(pl.subject, &a);
	lb = i2d_X509_NAME(X509_REQ_get_subject_name(w), &b);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, (size_t)la);
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_REQ_free(w);
	policy_plan_clear(&pl);
}

static void
template_subject_refuses_bad_csr_values(void **state)
{
	static const struct {
		int		 type;
		const char	*val;
		int		 len;
	} bad[] = {
		{ V_ASN1_UTF8STRING, "dev1\0.evil", 10 },	/* NUL */
		{ V_ASN1_UTF8STRING, "dev1\r\nX-Injected: 1", -1 },
		{ V_ASN1_UTF8STRING, "dev\x1b[31m", -1 },	/* ESC */
		{ V_ASN1_UTF8STRING, "abc\xe2\x80\xae", -1 },	/* RLO */
		{ V_ASN1_BMPSTRING, "\0a\0\x0a", 4 },		/* BMP LF */
		{ V_ASN1_T61STRING, "a\x85", 2 },		/* C1 NEL */
		{ V_ASN1_UTF8STRING, "", 0 },
	};
	struct policy_profile	 p;
	X509_REQ		*r;
	char			 big[300];
	size_t			 i;

	(void)state;
	profile_init(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = tcsr(tkey("RSA", NULL));
		subj_raw(r, "CN", bad[i].type, bad[i].val, bad[i].len);
		expect_refusal(&p, r, NULL, "CSR subject CN");
	}
	memset(big, 'a', sizeof(big));
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "CN", V_ASN1_UTF8STRING, big, (int)sizeof(big));
	expect_refusal(&p, r, NULL, "300 bytes");
}

static void
template_subject_variables(void **state)
{
	struct policy_profile	 p;
	struct policy_binding	 b;
	struct policy_plan	 pl;
	X509_REQ		*r;
	char			 buf[512];

	(void)state;
	profile_init(&p);
	memset(&b, 0, sizeof(b));
	b.device_id = (char *)(uintptr_t)"dev-42";
	b.var_name[0] = (char *)(uintptr_t)"dept";
	b.var_value[0] = (char *)(uintptr_t)"Sales";
	b.nvars = 1;
	p.tmpl.subject = (char *)(uintptr_t)"/O=Acme/OU={var.dept}/CN={device_id}";
	expect_plan(&p, cn_csr("ignored"), &b, &pl);
	X509_NAME_oneline(pl.subject, buf, sizeof(buf));
	assert_string_equal(buf, "/O=Acme/OU=Sales/CN=dev-42");
	policy_plan_clear(&pl);

	/* A value cannot add an attribute: '/' and '=' stay in the CN. */
	b.device_id = (char *)(uintptr_t)"a/CN=admin,O=evil";
	expect_plan(&p, cn_csr("x"), &b, &pl);
	assert_int_equal(X509_NAME_entry_count(pl.subject), 3);
	assert_int_equal(X509_NAME_get_index_by_NID(pl.subject, NID_commonName,
	    -1), 2);
	assert_int_equal(X509_NAME_get_index_by_NID(pl.subject, NID_commonName,
	    2), -1);
	X509_NAME_get_text_by_NID(pl.subject, NID_commonName, buf, sizeof(buf));
	assert_string_equal(buf, "a/CN=admin,O=evil");
	policy_plan_clear(&pl);

	b.device_id = (char *)(uintptr_t)"dev\n42";
	expect_refusal(&p, cn_csr("x"), &b, "control characters");
	b.device_id = NULL;
	expect_refusal(&p, cn_csr("x"), &b, "{device_id} has no value");
	expect_refusal(&p, cn_csr("x"), NULL, "{var.dept} has no value");

	/* Variables from the CSR. */
	b.device_id = (char *)(uintptr_t)"dev-42";
	p.tmpl.subject = (char *)(uintptr_t)"/O=Acme/CN={csr.cn}/serialNumber={device_id}";
	expect_plan(&p, cn_csr("laptop 7"), &b, &pl);
	X509_NAME_oneline(pl.subject, buf, sizeof(buf));
	assert_string_equal(buf, "/O=Acme/CN=laptop 7/serialNumber=dev-42");
	policy_plan_clear(&pl);
	r = cn_csr("a");
	subj_raw(r, "CN", MBSTRING_UTF8, "b", -1);
	expect_refusal(&p, r, &b, "{csr.cn} is ambiguous");
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "O", MBSTRING_UTF8, "x", -1);
	expect_refusal(&p, r, &b, "the CSR subject has no CN");
	p.tmpl.subject = (char *)(uintptr_t)"/CN=x/OU={csr.subject}";
	r = cn_csr("d1");
	subj_raw(r, "O", MBSTRING_UTF8, "A,B", -1);
	expect_plan(&p, r, &b, &pl);
	X509_NAME_get_text_by_NID(pl.subject, NID_organizationalUnitName, buf,
	    sizeof(buf));
	assert_string_equal(buf, "O=A\\,B,CN=d1");
	policy_plan_clear(&pl);

	/* Template mistakes are refusals that name them. */
	p.tmpl.subject = (char *)(uintptr_t)"/CN={nosuch}";
	expect_refusal(&p, cn_csr("x"), &b, "{nosuch} is not known");
	p.tmpl.subject = (char *)(uintptr_t)"/CN={device_id";
	expect_refusal(&p, cn_csr("x"), &b, "'{' without '}'");
	p.tmpl.subject = (char *)(uintptr_t)"/XX=a";
	expect_refusal(&p, cn_csr("x"), &b, "unknown attribute \"XX\"");
	p.tmpl.subject = (char *)(uintptr_t)"CN=a";
	expect_refusal(&p, cn_csr("x"), &b, "does not start with '/'");
	/* ub-common-name is 64. */
	p.tmpl.subject = (char *)(uintptr_t)"/CN={csr.cn}";
	memset(buf, 'a', 65);
	buf[65] = '\0';
	expect_refusal(&p, cn_csr(buf), &b, "cannot hold a value of 65 bytes");
	/* Escapes: a literal '/' and braces. */
	p.tmpl.subject = (char *)(uintptr_t)"/O=a\\/b \\{x\\}/CN=c";
	expect_plan(&p, cn_csr("x"), &b, &pl);
	X509_NAME_get_text_by_NID(pl.subject, NID_organizationName, buf,
	    sizeof(buf));
	assert_string_equal(buf, "a/b {x}");
	policy_plan_clear(&pl);
}

static void
template_expected_subject(void **state)
{
	struct policy_profile	 p;
	struct policy_binding	 b;
	struct policy_plan	 pl;
	X509_REQ		*r;

	(void)state;
	profile_init(&p);
	memset(&b, 0, sizeof(b));
	b.subject = (char *)(uintptr_t)"/O=Acme/CN=device-1";
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "O", V_ASN1_PRINTABLESTRING, "Acme", -1);
	subj_raw(r, "CN", V_ASN1_UTF8STRING, "Device-1", -1);
	/* Same name under X.520 matching rules (case, string type). */
	expect_plan(&p, r, &b, &pl);
	policy_plan_clear(&pl);
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "O", MBSTRING_UTF8, "Acme", -1);
	subj_raw(r, "CN", MBSTRING_UTF8, "device-2", -1);
	expect_refusal(&p, r, &b, "not the subject \"CN=device-1,O=Acme\"");
	/* Order matters; extra attributes too. */
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "CN", MBSTRING_UTF8, "device-1", -1);
	subj_raw(r, "O", MBSTRING_UTF8, "Acme", -1);
	expect_refusal(&p, r, &b, "challenge was issued for");
	r = tcsr(tkey("RSA", NULL));
	subj_raw(r, "O", MBSTRING_UTF8, "Acme", -1);
	subj_raw(r, "CN", MBSTRING_UTF8, "device-1", -1);
	subj_raw(r, "OU", MBSTRING_UTF8, "x", -1);
	expect_refusal(&p, r, &b, "challenge was issued for");
}

static GENERAL_NAME *
gn_text(int type, const char *s)
{
	GENERAL_NAME	*gn;
	ASN1_IA5STRING	*v;

	assert_non_null(gn = GENERAL_NAME_new());
	assert_non_null(v = ASN1_IA5STRING_new());
	ASN1_STRING_set(v, s, -1);
	GENERAL_NAME_set0_value(gn, type, v);
	return gn;
}

static void
template_san_allow_lists(void **state)
{
	struct policy_profile	 p;
	struct policy_plan	 pl;
	X509_REQ		*r;
	char			 buf[256];

	(void)state;
	rich_profile(&p);
	r = cn_csr("d");
	treq_list(r, "DNS:Host1.Corp.Example|"
	    "email:u@corp.example|URI:tag:microsoft.com,2022-09-14:sid:"
	    "S-1-5-21-1004336348-1177238915-682003330-1001|"
	    "UPN:user@corp.example|DNS:vpn.example.org");
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(sk_GENERAL_NAME_num(pl.san), 5);
	assert_string_equal(pl.sid, "S-1-5-21-1004336348-1177238915-682003330-1001");
	policy_plan_clear(&pl);
	/* Without sid_extension the URI stays, the extension does not come. */
	p.tmpl.sid_extension = 0;
	r = cn_csr("d");
	treq_list(r, "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500");
	expect_plan(&p, r, NULL, &pl);
	assert_null(pl.sid);
	assert_int_equal(sk_GENERAL_NAME_num(pl.san), 1);
	policy_plan_clear(&pl);
	p.tmpl.sid_extension = 1;

	/* Each name outside the lists is refused, not dropped. */
	static const struct { const char *san, *why; } bad[] = {
		{ "DNS:evil.example", "SAN DNS:evil.example is not allowed" },
		{ "DNS:corp.example", "not allowed by the profile's san_dns" },
		{ "DNS:*.a.corp.example", "a wildcard name must be listed" },
		{ "DNS:*.example.org", "a wildcard name must be listed" },
		{ "DNS:a..corp.example", "not a valid DNS name" },
		{ "DNS:-a.corp.example", "not a valid DNS name" },
		{ "email:u@evil.example", "san_email" },
		{ "email:nobody", "not a valid e-mail address" },
		{ "URI:https://evil.example/", "san_uri" },
		{ "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-xx", "malformed SID" },
		{ "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1|"
		  "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-2",
		  "two different SIDs" },
		{ "UPN:admin@evil.example", "san_upn" },
		{ "UPN:bad name@corp.example", "not a valid user principal name" },
		{ "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:admin@evil.example",
		  "san_upn" },
		{ "otherName:1.3.6.1.4.1.311.20.2.3;IA5:u@corp.example",
		  "otherName 1.3.6.1.4.1.311.20.2.3 is not accepted" },
		{ "otherName:1.2.3.4;UTF8:x", "otherName 1.2.3.4" },
		{ "IP:10.0.0.1", "SAN IP:10.0.0.1: the profile allows no IP" },
		{ "RID:1.2.3.4", "registeredID" },
		{ "dirName:dn", "directoryName" },
		{ "DNS:ok.corp.example,DNS:bad.example", "DNS:bad.example" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		X509V3_CTX	 ctx;
		X509_EXTENSION	*ext;
		STACK_OF(X509_EXTENSION) *exts;
		CONF		*conf = NULL;

		r = cn_csr("d");
		if (strstr(bad[i].san, "tag:") || strncmp(bad[i].san, "UPN:", 4) == 0) {
			treq_list(r, bad[i].san);
			expect_refusal(&p, r, NULL, bad[i].why);
			continue;
		}
		if (strncmp(bad[i].san, "dirName", 7) == 0) {
			/* dirName needs a config section. */
			BIO *bio = BIO_new_mem_buf("[dn]\nCN=admin\n", -1);
			conf = NCONF_new(NULL);
			NCONF_load_bio(conf, bio, NULL);
			BIO_free(bio);
		}
		X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
		X509V3_set_nconf(&ctx, conf);
		ext = X509V3_EXT_nconf_nid(conf, &ctx, NID_subject_alt_name,
		    bad[i].san);
		if (ext == NULL)
			fail_msg("cannot make %s", bad[i].san);
		exts = sk_X509_EXTENSION_new_null();
		sk_X509_EXTENSION_push(exts, ext);
		X509_REQ_add_extensions(r, exts);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		NCONF_free(conf);
		expect_refusal(&p, r, NULL, bad[i].why);
	}
	/* A wildcard name listed as it is, and IP when allowed. */
	r = cn_csr("d");
	treq_ext(r, NID_subject_alt_name, "DNS:*.corp.example");
	expect_plan(&p, r, NULL, &pl);
	policy_plan_clear(&pl);
	p.tmpl.san_ip = 1;
	r = cn_csr("d");
	treq_ext(r, NID_subject_alt_name, "IP:10.0.0.1,IP:2001:db8::1");
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(sk_GENERAL_NAME_num(pl.san), 2);
	policy_plan_clear(&pl);

	/*
	 * x400Address (OpenSSL cannot encode one: raw DER, an empty
	 * ORAddress) and ediPartyName, built by hand.
	 */
	{
		static const unsigned char der[] = { 0x30, 0x02, 0xa3, 0x00 };
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

		ASN1_OCTET_STRING_set(os, der, sizeof(der));
		sk_X509_EXTENSION_push(exts, X509_EXTENSION_create_by_NID(NULL,
		    NID_subject_alt_name, 0, os));
		r = cn_csr("d");
		X509_REQ_add_extensions(r, exts);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		ASN1_OCTET_STRING_free(os);
		expect_refusal(&p, r, NULL, "x400Address");
	}
	{
		GENERAL_NAMES	*gens = GENERAL_NAMES_new();
		GENERAL_NAME	*gn = GENERAL_NAME_new();
		EDIPARTYNAME	*edi = EDIPARTYNAME_new();

		/* EDIPARTYNAME_new made an untyped partyName. */
		ASN1_STRING_free(edi->partyName);
		edi->partyName = ASN1_UTF8STRING_new();
		ASN1_STRING_set(edi->partyName, "x", 1);
		gn->type = GEN_EDIPARTY;
		gn->d.ediPartyName = edi;
		sk_GENERAL_NAME_push(gens, gn);
		r = cn_csr("d");
		treq_gens(r, gens);
		expect_refusal(&p, r, NULL, "ediPartyName");
	}
	/* An empty SAN, and two SAN extensions. */
	r = cn_csr("d");
	treq_gens(r, GENERAL_NAMES_new());
	expect_refusal(&p, r, NULL, "subjectAltName is empty");
	{
		STACK_OF(X509_EXTENSION) *exts = NULL;
		GENERAL_NAMES *g1 = GENERAL_NAMES_new();

		sk_GENERAL_NAME_push(g1, gn_text(GEN_DNS, "a.corp.example"));
		X509V3_add1_i2d(&exts, NID_subject_alt_name, g1, 0, X509V3_ADD_APPEND);
		X509V3_add1_i2d(&exts, NID_subject_alt_name, g1, 0, X509V3_ADD_APPEND);
		r = cn_csr("d");
		X509_REQ_add_extensions(r, exts);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		GENERAL_NAMES_free(g1);
		expect_refusal(&p, r, NULL, "two subjectAltName");
	}
	/* A NUL inside a DNS name (H-46). */
	{
		GENERAL_NAMES	*gens = GENERAL_NAMES_new();
		GENERAL_NAME	*gn = gn_text(GEN_DNS, "x");

		ASN1_STRING_set(gn->d.dNSName, "a.corp.example\0.evil", 20);
		sk_GENERAL_NAME_push(gens, gn);
		r = cn_csr("d");
		treq_gens(r, gens);
		expect_refusal(&p, r, NULL, "DNS:a.corp.example\\x00.evil");
	}
	/* No subject and no SAN: nothing to name the holder by. */
	r = tcsr(tkey("RSA", NULL));
	expect_refusal(&p, r, NULL, "neither a subject nor a subjectAltName");
	r = tcsr(tkey("RSA", NULL));
	treq_ext(r, NID_subject_alt_name, "DNS:only.corp.example");
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(X509_NAME_entry_count(pl.subject), 0);
	policy_plan_clear(&pl);
	(void)buf;
}

static void
template_san_binding_and_add(void **state)
{
	static char *want[] = { "DNS:host1.corp.example", "email:U@corp.example" };
	static char *add[] = { "DNS:{device_id}.dev.corp.example",
	    "URI:urn:device:{device_id}", "DNS:HOST1.corp.example" };
	struct policy_profile	 p;
	struct policy_binding	 b;
	struct policy_plan	 pl;
	X509_REQ		*r;
	char			 buf[256];

	(void)state;
	rich_profile(&p);
	memset(&b, 0, sizeof(b));
	list_set(&b.sans, want, 2);
	r = cn_csr("d");
	treq_ext(r, NID_subject_alt_name, "email:u@corp.example,DNS:Host1.corp.example");
	expect_plan(&p, r, &b, &pl);
	policy_plan_clear(&pl);
	r = cn_csr("d");
	treq_ext(r, NID_subject_alt_name, "DNS:host1.corp.example,"
	    "email:u@corp.example,DNS:host2.corp.example");
	expect_refusal(&p, r, &b, "unexpected DNS:host2.corp.example");
	r = cn_csr("d");
	treq_ext(r, NID_subject_alt_name, "DNS:host1.corp.example");
	expect_refusal(&p, r, &b, "missing EMAIL:u@corp.example");
	r = cn_csr("d");
	expect_refusal(&p, r, &b, "missing");

	/* san_add: expanded, added, not repeated. */
	memset(&b, 0, sizeof(b));
	b.device_id = (char *)(uintptr_t)"dev-42";
	list_set(&p.tmpl.san_add, add, 3);
	r = cn_csr("d");
	treq_ext(r, NID_subject_alt_name, "DNS:host1.corp.example");
	expect_plan(&p, r, &b, &pl);
	assert_int_equal(sk_GENERAL_NAME_num(pl.san), 3);
	assert_string_equal(pl.device_id, "dev-42");
	{
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(pl.san, 1);
		assert_int_equal(gn->type, GEN_DNS);
		snprintf(buf, sizeof(buf), "%.*s", gn->d.dNSName->length,
		    gn->d.dNSName->data);
		assert_string_equal(buf, "dev-42.dev.corp.example");
	}
	policy_plan_clear(&pl);
	/* A device id that would not make a DNS name is refused. */
	b.device_id = (char *)(uintptr_t)"dev 42";
	expect_refusal(&p, cn_csr("d"), &b, "san_add \"DNS:dev 42.dev.corp.example\" is not a valid name");
	b.device_id = NULL;
	expect_refusal(&p, cn_csr("d"), &b, "san_add: template variable {device_id} has no value");
}

static void
template_sid(void **state)
{
	struct policy_profile	 p;
	struct policy_binding	 b;
	struct policy_plan	 pl;
	X509_REQ		*r;

	(void)state;
	rich_profile(&p);
	memset(&b, 0, sizeof(b));
	b.sid = (char *)(uintptr_t)"S-1-5-21-1-2-3-1001";
	expect_plan(&p, cn_csr("d"), &b, &pl);
	assert_string_equal(pl.sid, "S-1-5-21-1-2-3-1001");
	policy_plan_clear(&pl);
	r = cn_csr("d");
	treq_list(r, "URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500");
	expect_refusal(&p, r, &b, "the CSR's SID URI names S-1-5-21-1-2-3-500");
	static const char *bad[] = { "S-1-5", "S-2-5-21", "S-1-5-", "S-1-05-1",
	    "S-1-5-4294967296", "S-1-281474976710656-1", "s-1-5-21",
	    "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.sid = (char *)(uintptr_t)bad[i];
		expect_refusal(&p, cn_csr("d"), &b, "SID given");
	}
	b.sid = (char *)(uintptr_t)"S-1-5-4294967295-1-2-3-4-5-6-7-8-9-10-11-12-13-14";
	expect_plan(&p, cn_csr("d"), &b, &pl);
	policy_plan_clear(&pl);
	/* {sid} in a template. */
	b.sid = (char *)(uintptr_t)"S-1-5-21-9-9-9-1001";
	p.tmpl.subject = (char *)(uintptr_t)"/CN={sid}";
	expect_plan(&p, cn_csr("d"), &b, &pl);
	policy_plan_clear(&pl);
}

/*
 * Microsoft enrollment name-value pairs (1.3.6.1.4.1.311.13.2.1): one
 * attribute whose values are SEQUENCE { name BMPString, value
 * BMPString }, from "name=value" strings, NULL-terminated.
 */
static void
add_nvps(X509_REQ *r, ...)
{
	X509_ATTRIBUTE	*attr = NULL;
	ASN1_OBJECT	*oid = OBJ_txt2obj("1.3.6.1.4.1.311.13.2.1", 1);
	const char	*pair;
	va_list		 ap;

	va_start(ap, r);
	while ((pair = va_arg(ap, const char *)) != NULL) {
		STACK_OF(ASN1_TYPE) *seq = sk_ASN1_TYPE_new_null();
		unsigned char	 b[2][128], *der = NULL;
		const char	*eq = strchr(pair, '=');
		size_t		 k[2] = { 0, 0 }, i;
		int		 len;

		for (i = 0; pair + i < eq; i++, k[0] += 2) {
			b[0][k[0]] = 0;
			b[0][k[0] + 1] = (unsigned char)pair[i];
		}
		for (i = 1; eq[i]; i++, k[1] += 2) {
			b[1][k[1]] = 0;
			b[1][k[1] + 1] = (unsigned char)eq[i];
		}
		for (i = 0; i < 2; i++) {
			ASN1_TYPE	*t = ASN1_TYPE_new();
			ASN1_STRING	*str = ASN1_STRING_type_new(V_ASN1_BMPSTRING);

			ASN1_STRING_set(str, b[i], (int)k[i]);
			ASN1_TYPE_set(t, V_ASN1_BMPSTRING, str);
			sk_ASN1_TYPE_push(seq, t);
		}
		assert_true((len = i2d_ASN1_SEQUENCE_ANY(seq, &der)) > 0);
		if (attr == NULL)
			assert_non_null(attr = X509_ATTRIBUTE_create_by_OBJ(NULL,
			    oid, V_ASN1_SEQUENCE, der, len));
		else
			assert_int_equal(X509_ATTRIBUTE_set1_data(attr,
			    V_ASN1_SEQUENCE, der, len), 1);
		OPENSSL_free(der);
		sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	}
	va_end(ap);
	assert_int_equal(X509_REQ_add1_attr(r, attr), 1);
	X509_ATTRIBUTE_free(attr);
	ASN1_OBJECT_free(oid);
}

static void
template_validity(void **state)
{
	struct policy_profile	 p;
	struct policy_plan	 pl;
	X509_REQ		*r;

	(void)state;
	profile_init(&p);
	p.tmpl.validity_days = 30;
	p.tmpl.max_validity_days = 400;
	expect_plan(&p, cn_csr("d"), NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 30 * 86400L);
	assert_int_equal(pl.not_before, NOW - 300);
	policy_plan_clear(&pl);

	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Days", "ValidityPeriodUnits=90", "CertificateTemplate=User", NULL);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 90 * 86400L);
	policy_plan_clear(&pl);
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Weeks", "ValidityPeriodUnits=2", NULL);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 14 * 86400L);
	policy_plan_clear(&pl);
	/* Calendar months: 2023-11-14 + 1 month = 2023-12-14, 30 days. */
	r = cn_csr("d");
	add_nvps(r, "validityperiod=Months", "ValidityPeriodUnits=1", NULL);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 30 * 86400L);
	policy_plan_clear(&pl);
	/* Longer than the maximum: capped. */
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Years", "ValidityPeriodUnits=5", NULL);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 400 * 86400L);
	policy_plan_clear(&pl);
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Days", "ValidityPeriodUnits=999999", NULL);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 400 * 86400L);
	policy_plan_clear(&pl);
	/* Swapped, as Android sends them. */
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=7", "ValidityPeriodUnits=Days", NULL);
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.not_after, NOW + 7 * 86400L);
	policy_plan_clear(&pl);

	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Fortnights", "ValidityPeriodUnits=2", NULL);
	expect_refusal(&p, r, NULL, "\"Fortnights\" is not Days");
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Days", "ValidityPeriodUnits=0", NULL);
	expect_refusal(&p, r, NULL, "not a positive number");
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriodUnits=3", NULL);
	expect_refusal(&p, r, NULL, "ValidityPeriodUnits without ValidityPeriod");
	r = cn_csr("d");
	add_nvps(r, "ValidityPeriod=Days", "ValidityPeriodUnits=3", "ValidityPeriodUnits=4", NULL);
	expect_refusal(&p, r, NULL, "twice");
	/* Not a SEQUENCE of two BMPStrings. */
	r = cn_csr("d");
	{
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.13.2.1", 1);

		X509_REQ_add1_attr_by_OBJ(r, oid, V_ASN1_UTF8STRING,
		    (const unsigned char *)"x", 1);
		ASN1_OBJECT_free(oid);
	}
	expect_refusal(&p, r, NULL, "malformed enrollment name-value pair");
}

/* policy_sid_from_csr() on p with one san_uri pattern (NULL: none). */
static int
sid_forgeable(struct policy_profile *p, char *pat, char *why)
{
	static char	*one[1];
	const char	*setting;
	int		 rc;

	one[0] = pat;
	list_set(&p->tmpl.san_uri, one, pat != NULL);
	rc = policy_sid_from_csr(p, &setting, why, 512);
	if (rc == 1)
		assert_non_null(setting);
	else
		assert_null(setting);
	return rc;
}

/*
 * KB5014754: a profile whose CSR names the SID is refused unless a
 * validator vouches for the CSR or the operator acknowledges it.
 */
static void
sid_from_csr_refused(void **state)
{
	static char *const can[] = { "tag:microsoft.com,2022-09-14:sid:*",
	    "*", "tag:*", "*sid:*", "TAG:MICROSOFT.COM,2022-09-14:SID:*",
	    "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500",
	    "tag:microsoft.com,2022-09-1[0-9]:sid:?*", "t?g:microsoft.com*",
	    "tag\\:microsoft.com,2022-09-14:sid:*" };
	static char *const cannot[] = { "urn:device:*", "IntuneDeviceId://*",
	    "tag:microsoft.com,2022-09-14:sid:", "tag:example.com,*",
	    "tag:microsoft.com,2022-09-14:sidx*",
	    "tag:microsoft.com,2022-09-1[!4]:sid:*", "[" };
	static char *add_csr[] = { "URI:tag:microsoft.com,2022-09-14:sid:{csr.cn}" };
	static char *add_sid[] = { "URI:tag:microsoft.com,2022-09-14:sid:{sid}" };
	enum policy_challenge_mode webhook = POLICY_CHALLENGE_WEBHOOK;
	struct policy_profile	 p;
	char			 why[512];
	const char		*setting;

	(void)state;
	profile_init(&p);
	p.tmpl.sid_extension = 1;
	/* Static challenge and a SID pattern: refused, saying why. */
	for (size_t i = 0; i < sizeof(can) / sizeof(can[0]); i++) {
		if (sid_forgeable(&p, can[i], why) != 1)
			fail_msg("\"%s\" was not seen to match a SID URI", can[i]);
		assert_non_null(strstr(why, "challenge mode \"static\" does "
		    "not vouch for the CSR"));
		assert_non_null(strstr(why, "KB5014754"));
	}
	/* Static without SID patterns: accepted. */
	for (size_t i = 0; i < sizeof(cannot) / sizeof(cannot[0]); i++)
		if (sid_forgeable(&p, cannot[i], why) != 0)
			fail_msg("\"%s\" was taken for a SID URI pattern", cannot[i]);
	assert_int_equal(sid_forgeable(&p, NULL, why), 0);
	/* One-time challenges do not vouch for the CSR either. */
	p.challenge_modes[0] = POLICY_CHALLENGE_DYNAMIC;
	assert_int_equal(sid_forgeable(&p, can[0], why), 1);
	assert_non_null(strstr(why, "\"dynamic\" does not vouch"));
	/* A webhook or Intune validator does: accepted. */
	p.challenge_modes[0] = POLICY_CHALLENGE_WEBHOOK;
	assert_int_equal(sid_forgeable(&p, can[0], why), 0);
	p.challenge_modes[0] = POLICY_CHALLENGE_INTUNE;
	assert_int_equal(sid_forgeable(&p, can[0], why), 0);
	/* ... unless a static mode comes before it, or renewal bypasses it. */
	p.challenge_modes[0] = POLICY_CHALLENGE_STATIC;
	p.challenge_modes[1] = webhook;
	p.nchallenge_modes = 2;
	assert_int_equal(sid_forgeable(&p, can[0], why), 1);
	p.challenge_modes[0] = webhook;
	p.nchallenge_modes = 1;
	p.renewal.enabled = 1;
	assert_int_equal(sid_forgeable(&p, can[0], why), 1);
	assert_non_null(strstr(why, "renewal.enabled"));
	p.renewal.enabled = 0;
	/* Static with the acknowledgement: accepted. */
	p.challenge_modes[0] = POLICY_CHALLENGE_STATIC;
	p.tmpl.sid_from_csr_acknowledged = 1;
	assert_int_equal(sid_forgeable(&p, can[0], why), 0);
	p.tmpl.sid_from_csr_acknowledged = 0;
	/* san_add: a SID URI from the CSR's names, not from the binding. */
	list_set(&p.tmpl.san_uri, NULL, 0);
	list_set(&p.tmpl.san_add, add_csr, 1);
	assert_int_equal(policy_sid_from_csr(&p, &setting, why, sizeof(why)), 1);
	assert_string_equal(setting, "template.san_add");
	list_set(&p.tmpl.san_add, add_sid, 1);
	assert_int_equal(policy_sid_from_csr(&p, &setting, why, sizeof(why)), 0);
}

static void
template_extensions_never_copied(void **state)
{
	struct policy_profile	 p;
	struct policy_plan	 pl;
	X509_REQ		*r;
	char			 txt[64];

	(void)state;
	profile_init(&p);
	p.tmpl.sid_extension = 1;
	r = cn_csr("d");
	{
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509V3_CTX ctx;

		X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_basic_constraints, "critical,CA:TRUE"));
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_key_usage, "keyCertSign,cRLSign"));
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_ext_key_usage, "anyExtendedKeyUsage,codeSigning"));
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_name_constraints, "permitted;DNS:evil.example"));
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.25.2", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

		sk_X509_EXTENSION_push(exts, X509_EXTENSION_create_by_OBJ(NULL,
		    oid, 0, os));
		ASN1_OBJECT_free(oid);
		ASN1_OCTET_STRING_free(os);
		X509_REQ_add_extensions(r, exts);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	expect_plan(&p, r, NULL, &pl);
	assert_int_equal(pl.key_usage, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(sk_ASN1_OBJECT_num(pl.eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(pl.eku, 0)), NID_client_auth);
	assert_null(pl.sid);
	assert_null(pl.san);
	policy_plan_clear(&pl);

	/* A profile cannot make a CA either. */
	p.tmpl.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN;
	expect_refusal(&p, cn_csr("d"), NULL, "end-entity certificates only");
	(void)txt;
}

static void
template_eku(void **state)
{
	static char *ok[] = { "clientAuth", "serverAuth", "msSmartcardLogin",
	    "1.3.6.1.5.5.7.3.17", "ClientAuth", "ipsecIKE" };
	static char *any[] = { "2.5.29.37.0" };
	static char *ocsp[] = { "clientAuth", "1.3.6.1.5.5.7.3.9" };
	static char *bogus[] = { "anyExtendedKeyUsage" };
	static char *bogus2[] = { "1..2" };
	struct policy_profile	 p;
	struct policy_plan	 pl;
	char			 txt[64];

	(void)state;
	profile_init(&p);
	list_set(&p.tmpl.eku, ok, 6);
	expect_plan(&p, cn_csr("d"), NULL, &pl);
	assert_int_equal(sk_ASN1_OBJECT_num(pl.eku), 4);
	OBJ_obj2txt(txt, sizeof(txt), sk_ASN1_OBJECT_value(pl.eku, 2), 1);
	assert_string_equal(txt, "1.3.6.1.4.1.311.20.2.2");
	policy_plan_clear(&pl);
	list_set(&p.tmpl.eku, any, 1);
	expect_refusal(&p, cn_csr("d"), NULL, "eku 2.5.29.37.0 is never issued");
	list_set(&p.tmpl.eku, ocsp, 2);
	expect_refusal(&p, cn_csr("d"), NULL, "eku 1.3.6.1.5.5.7.3.9 is never issued");
	list_set(&p.tmpl.eku, bogus, 1);
	expect_refusal(&p, cn_csr("d"), NULL, "neither a known name nor a dotted OID");
	list_set(&p.tmpl.eku, bogus2, 1);
	expect_refusal(&p, cn_csr("d"), NULL, "neither a known name");
}

static void
template_urls_and_decide(void **state)
{
	struct policy_profile	 p;
	struct policy_plan	 pl;
	struct policy_request	 r;
	struct policy_verdict	 v;
	X509_REQ		*req;

	(void)state;
	profile_init(&p);
	p.tmpl.crl_url = (char *)(uintptr_t)"http://pki.example/ca.crl";
	p.tmpl.ocsp_url = (char *)(uintptr_t)"http://ocsp.example/";
	p.tmpl.ca_issuers_url = (char *)(uintptr_t)"http://pki.example/ca.cer";
	expect_plan(&p, cn_csr("d"), NULL, &pl);
	assert_ptr_equal(pl.crl_url, p.tmpl.crl_url);
	assert_ptr_equal(pl.ocsp_url, p.tmpl.ocsp_url);
	assert_ptr_equal(pl.ca_issuers_url, p.tmpl.ca_issuers_url);
	policy_plan_clear(&pl);

	/* decide.c turns a template refusal into FAILURE badRequest. */
	req = tcsr(tkey("RSA", "1024"));
	subj_raw(req, "CN", MBSTRING_UTF8, "d", -1);
	memset(&r, 0, sizeof(r));
	r.csr = req;
	r.challenge = "s3cret-static";
	r.challenge_len = 13;
	r.now = NOW;
	assert_int_equal(policy_decide(&p, NULL, &r, &v), 0);
	assert_int_equal(v.decision, POLICY_DENY);
	assert_int_equal(v.fail, POLICY_FAIL_BAD_REQUEST);
	assert_string_equal(v.reason, "template refuses: RSA 1024 bits below "
	    "the profile's minimum 2048");
	/* The challenge passed: not a guess. */
	assert_false(v.bad_challenge);
	policy_verdict_clear(&v);
	X509_REQ_free(req);
	EVP_PKEY_free(rsa2048);
	rsa2048 = NULL;
}

/* Template mistakes found when the configuration is loaded. */
static void
template_config_check(void **state)
{
	static char *eku_bad[] = { "clientAuth", "anyExtendedKeyUsage" };
	static char *add_ok[] = { "DNS:{device_id}.corp.example",
	    "URI:tag:microsoft.com,2022-09-14:sid:{sid}", "UPN:{var.upn}" };
	static char *add_bad[] = { "FQDN:{device_id}" };
	static char *add_var[] = { "DNS:{devid}.corp.example" };
	struct policy_profile	 p;
	char			 err[256];

	(void)state;
	profile_init(&p);
	p.tmpl.subject = (char *)(uintptr_t)"/O=Acme/OU={var.dept}/CN={csr.cn}";
	list_set(&p.tmpl.san_add, add_ok, 3);
	p.tmpl.crl_url = (char *)(uintptr_t)"http://pki.example/ca.crl";
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 0);

	p.tmpl.subject = (char *)(uintptr_t)"/O=Acme/CN={device}";
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "template.subject: template variable {device} is not known"));
	p.tmpl.subject = (char *)(uintptr_t)"/Org=Acme";
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "unknown attribute \"Org\""));
	p.tmpl.subject = NULL;
	list_set(&p.tmpl.san_add, add_bad, 1);
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "FQDN"));
	list_set(&p.tmpl.san_add, add_var, 1);
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "{devid} is not known"));
	list_set(&p.tmpl.san_add, NULL, 0);
	list_set(&p.tmpl.eku, eku_bad, 2);
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "template.eku"));
	list_set(&p.tmpl.eku, NULL, 0);
	p.tmpl.ocsp_url = (char *)(uintptr_t)"http://ocsp example/";
	assert_int_equal(policy_template_check(&p.tmpl, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "ocsp example"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(static_challenge_issues_with_validity),
		cmocka_unit_test(wrong_challenges_are_bad_request),
		cmocka_unit_test(missing_challenge_is_bad_request),
		cmocka_unit_test(dynamic_and_webhook_use_the_ops),
		cmocka_unit_test(challenge_modes_tried_in_order),
		cmocka_unit_test(challenge_mode_names),
		cmocka_unit_test(manual_approval_holds_then_issues),
		cmocka_unit_test(renewal_rules),
		cmocka_unit_test(secret_equal_compares_bytes),
		cmocka_unit_test(template_key_rules),
		cmocka_unit_test(template_key_explicit_curve),
		cmocka_unit_test(template_subject_from_csr_kept_exactly),
		cmocka_unit_test(template_subject_refuses_bad_csr_values),
		cmocka_unit_test(template_subject_variables),
		cmocka_unit_test(template_expected_subject),
		cmocka_unit_test(template_san_allow_lists),
		cmocka_unit_test(template_san_binding_and_add),
		cmocka_unit_test(template_sid),
		cmocka_unit_test(sid_from_csr_refused),
		cmocka_unit_test(template_validity),
		cmocka_unit_test(template_extensions_never_copied),
		cmocka_unit_test(template_eku),
		cmocka_unit_test(template_urls_and_decide),
		cmocka_unit_test(template_config_check),
	};

	/* A peer that closes early must fail a test, not kill the binary. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
