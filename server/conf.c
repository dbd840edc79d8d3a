/*
 * Configuration loading.  Two tables describe every setting: the
 * server-wide ones and the per-profile ones.  A named profile looks each
 * setting up in its own group first, then at the top level, then takes
 * the default.  Strings are copied before config_destroy().  Every
 * problem is logged with its line, and all of them are reported before
 * giving up, so `scepd -n` names every error at once.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/x509v3.h>

#include "server/conf.h"
#include "server/log.h"

/*
 * C_KEY: a C_PATH to a private key (or another secret), which only its
 * owner may read.  C_CAKEY: a C_KEY, or a key on a PKCS#11 token named
 * by an RFC 7512 pkcs11: URI (pkcs7/key_load.c), checked as a URI.
 */
enum ctype { C_STR, C_INT, C_BOOL, C_PATH, C_KEY, C_CAKEY, C_LIST, C_ENUM,
    C_KU, C_ALGS, C_MODES };

struct setting {
	const char	*name;		/* libconfig path, "ca.cert" */
	enum ctype	 type;
	size_t		 off;		/* in struct conf or conf_profile */
	const char	*def_str;	/* C_STR, C_PATH; NULL: required */
	int		 def_int;	/* C_INT, C_BOOL; -1: keep preset */
	int		 min, max;	/* C_INT */
	const char *const *names;	/* C_ENUM: index = value */
};

#define S(n, f, d)	{ n, C_STR, offsetof(STRUCT, f), d, 0, 0, 0, NULL }
#define P(n, f, d)	{ n, C_PATH, offsetof(STRUCT, f), d, 0, 0, 0, NULL }
#define K(n, f, d)	{ n, C_KEY, offsetof(STRUCT, f), d, 0, 0, 0, NULL }
#define CK(n, f, d)	{ n, C_CAKEY, offsetof(STRUCT, f), d, 0, 0, 0, NULL }
#define I(n, f, d, lo, hi) { n, C_INT, offsetof(STRUCT, f), NULL, d, lo, hi, NULL }
#define B(n, f, d)	{ n, C_BOOL, offsetof(STRUCT, f), NULL, d, 0, 1, NULL }
#define L(n, f)		{ n, C_LIST, offsetof(STRUCT, f), NULL, 0, 0, 0, NULL }
#define E(n, f, names)	{ n, C_ENUM, offsetof(STRUCT, f), NULL, 0, 0, 0, names }

#define STRUCT struct conf
static const struct setting server_settings[] = {
	S("listen",		listen,		"127.0.0.1"),
	S("user",		user,		""),
	I("port",		port,		8080, 0, 65535),
	I("workers",		workers,	0, 0, 256),
	I("pki_threads",	pki_threads,	64, 1, 1024),
	S("base_path",		base_path,	"/scep"),
	S("database",		database,	""),
	S("challenge_key",	challenge_key,	""),
	I("limits.max_body",	max_body,	65536, 1024, 1 << 24),
	I("limits.max_headers",	max_headers,	32768, 1024, 1 << 20),
	I("limits.request_timeout", request_timeout, 10, 1, 600),
	I("limits.request_deadline", request_deadline, 10, 1, 600),
	I("limits.max_connections", max_connections, 1024, 1, 65536),
	I("limits.max_connections_per_address", max_connections_per_address,
	    256, 1, 65536),
	I("limits.max_queued",	max_queued,	1024, 1, 1 << 20),
	I("limits.failed_challenges_per_minute", failed_challenges_per_minute,
	    30, 0, 1000000),
	B("verbose",		verbose,	0),
	I("crl.validity_hours",	crl_validity_hours, 24, 1, 24 * 30),
	I("sweep_interval",	sweep_interval,	60, 1, 86400),
	I("retransmission_window_hours", retransmission_window_hours, 24, 1,
	    24 * 30),
	I("undelivered_hours",	undelivered_hours, 24, 0, 24 * 365),
	P("pkcs11.module",	pkcs11_module,	""),
	K("pkcs11.pin_file",	pkcs11_pin_file, ""),
};
#undef STRUCT

static const char *const approvals[] = { "auto", "manual", NULL };

#define STRUCT struct conf_profile
static const struct setting profile_settings[] = {
	P("ca.cert",		ca_cert,	NULL),
	CK("ca.key",		ca_key,		NULL),
	P("ca.ra_cert",		ra_cert,	""),
	CK("ca.ra_key",		ra_key,		""),
	P("ca.next_cert",	next_ca_cert,	""),
	P("ca.next_ra_cert",	next_ra_cert,	""),
	P("ca.ocsp_cert",	ocsp_cert,	""),
	CK("ca.ocsp_key",	ocsp_key,	""),
	P("ca.previous_cert",	previous_cert,	""),
	CK("ca.previous_key",	previous_key,	""),
	K("ca.key_passphrase_file", key_passphrase_file, ""),
	S("ca.key_passphrase_credential", key_passphrase_credential, ""),
	B("binding.revoke_on_clone", revoke_on_clone, 1),
	I("unused_days",	unused_days,	90, 0, 3650),
	B("legacy",		legacy,		0),
	{ "ciphers", C_ALGS, 0, NULL, 0, 0, 0, NULL },
	{ "digests", C_ALGS, 1, NULL, 0, 0, 0, NULL },
	{ "challenge_mode", C_MODES, offsetof(STRUCT, policy), NULL, 0, 0, 0,
	    NULL },
	S("challenge",		policy.static_challenge, ""),
	I("challenge_ttl",	policy.challenge_ttl_minutes, 60, 1, 60 * 24 * 30),
	S("intune.tenant",	intune.tenant, ""),
	S("intune.client_id",	intune.client_id, ""),
	P("intune.client_secret_file", intune.client_secret_file, ""),
	P("intune.client_certificate", intune.client_certificate, ""),
	K("intune.client_key",	intune.client_key, ""),
	S("intune.provider_name", intune.provider_name, "scepd"),
	S("intune.authority",	intune.authority,
	    "https://login.microsoftonline.com"),
	S("intune.graph",	intune.graph, "https://graph.microsoft.com"),
	I("intune.timeout_ms",	intune.timeout_ms, 10000, 100, 60000),
	I("intune.revocation_interval", intune.revocation_interval, 300, 0,
	    86400),
	S("webhook.url",	policy.webhook.url, ""),
	S("webhook.secret",	policy.webhook.secret, ""),
	I("webhook.timeout_ms",	policy.webhook.timeout_ms, 5000, 100, 60000),
	B("webhook.notify",	policy.webhook.notify, 1),
	E("approval",		policy.approval, approvals),
	B("renewal.enabled",	policy.renewal.enabled, 0),
	I("renewal.window_percent", policy.renewal.window_percent, 20, 1, 100),
	I("renewal.supersede_grace_days", policy.renewal.supersede_grace_days,
	    7, 0, 365),
	/* validity_days and backdate_seconds at the top level predate templates. */
	I("validity_days",	policy.tmpl.validity_days, 365, 1, 3650),
	I("backdate_seconds",	policy.tmpl.backdate_seconds, 300, 0, 86400),
	S("template.subject",	policy.tmpl.subject, ""),
	L("template.san_dns",	policy.tmpl.san_dns),
	L("template.san_email",	policy.tmpl.san_email),
	L("template.san_upn",	policy.tmpl.san_upn),
	L("template.san_uri",	policy.tmpl.san_uri),
	B("template.san_ip",	policy.tmpl.san_ip, 0),
	L("template.san_add",	policy.tmpl.san_add),
	I("template.rsa_min_bits", policy.tmpl.rsa_min_bits, 2048, 1024, 16384),
	I("template.rsa_max_bits", policy.tmpl.rsa_max_bits, 4096, 1024, 16384),
	B("template.ec_p256",	policy.tmpl.ec_p256, 0),
	B("template.ec_p384",	policy.tmpl.ec_p384, 0),
	I("template.max_validity_days", policy.tmpl.max_validity_days, 825, 1, 3650),
	{ "template.key_usage", C_KU, offsetof(STRUCT, policy.tmpl.key_usage),
	    NULL, 0, 0, 0, NULL },
	L("template.eku",	policy.tmpl.eku),
	S("template.crl_url",	policy.tmpl.crl_url, ""),
	S("template.ocsp_url",	policy.tmpl.ocsp_url, ""),
	S("template.ca_issuers_url", policy.tmpl.ca_issuers_url, ""),
	B("template.sid_extension", policy.tmpl.sid_extension, 1),
	B("template.sid_from_csr_acknowledged",
	    policy.tmpl.sid_from_csr_acknowledged, 0),
	S("template.device_id",	policy.tmpl.device_id, ""),
};
#undef STRUCT

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Groups whose members are all in the tables. */
static const char *const groups[] = { "ca", "limits", "webhook", "intune",
    "renewal",
    "template", "binding", "crl", "pkcs11" };

static const char	*default_ciphers[] = { "aes128", "aes192", "aes256", "3des" };
static const char	*default_digests[] = { "sha1", "sha224", "sha256", "sha384",
			    "sha512" };

static int
known_in(const struct setting *t, size_t n, const char *full)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, full) == 0)
			return 1;
	return 0;
}

static int
known(const char *group, const char *name, int in_profile)
{
	char	full[128];

	snprintf(full, sizeof(full), "%s%s%s", group ? group : "",
	    group ? "." : "", name);
	if (known_in(profile_settings, NELEM(profile_settings), full))
		return 1;
	if (!in_profile && known_in(server_settings, NELEM(server_settings), full))
		return 1;
	if (group == NULL) {
		if ((in_profile && strcmp(name, "name") == 0) ||
		    strcmp(name, "path") == 0)
			return 1;
		if (!in_profile && strcmp(name, "profiles") == 0)
			return 1;
		for (size_t i = 0; i < NELEM(groups); i++)
			if (strcmp(groups[i], name) == 0)
				return 1;
	}
	return 0;
}

/* Report settings the tables do not know: usually a typo. */
static int
check_unknown(const char *path, config_setting_t *parent, const char *group,
    int in_profile)
{
	config_setting_t	*s;
	int			 errors = 0;

	for (int i = 0; (s = config_setting_get_elem(parent, i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		if (name == NULL)
			continue;
		if (!known(group, name, in_profile)) {
			log_warnx("%s:%d: unknown setting \"%s%s%s\"", path,
			    config_setting_source_line(s), group ? group : "",
			    group ? "." : "", name);
			errors++;
		} else if (group == NULL &&
		    config_setting_type(s) == CONFIG_TYPE_GROUP)
			errors += check_unknown(path, s, name, in_profile);
	}
	return errors;
}

/* A path relative to the configuration file's folder. */
static char *
resolve(const char *conf_path, const char *p)
{
	const char	*slash;
	char		*out;
	size_t		 dirlen;

	if (p[0] == '/' || p[0] == '\0' || (slash = strrchr(conf_path, '/')) == NULL)
		return strdup(p);
	dirlen = (size_t)(slash - conf_path);
	if ((out = malloc(dirlen + 1 + strlen(p) + 1)) == NULL)
		return NULL;
	memcpy(out, conf_path, dirlen);
	out[dirlen] = '/';
	strcpy(out + dirlen + 1, p);
	return out;
}

/* The setting for name in group, else at the top level (fallback). */
static config_setting_t *
find(config_setting_t *group, config_setting_t *fallback, const char *name)
{
	config_setting_t	*s = NULL;

	if (group != NULL)
		s = config_setting_lookup(group, name);
	if (s == NULL && fallback != NULL)
		s = config_setting_lookup(fallback, name);
	return s;
}

static int
load_list(const char *path, config_setting_t *s, const char *name,
    struct policy_list *l)
{
	const char	*v;
	int		 n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		log_warnx("%s:%d: \"%s\" must be a list of strings", path,
		    config_setting_source_line(s), name);
		return 1;
	}
	n = config_setting_length(s);
	if (n > 0 && (l->v = calloc((size_t)n, sizeof(char *))) == NULL)
		fatal("calloc");
	for (int i = 0; i < n; i++) {
		if ((v = config_setting_get_string_elem(s, i)) == NULL) {
			log_warnx("%s:%d: \"%s\" must be a list of strings",
			    path, config_setting_source_line(s), name);
			return 1;
		}
		if ((l->v[l->n++] = strdup(v)) == NULL)
			fatal("strdup");
	}
	return 0;
}

static int
load_key_usage(const char *path, config_setting_t *s, unsigned *bits)
{
	static const struct { const char *name; unsigned bit; } ku[] = {
		{ "digitalSignature", KU_DIGITAL_SIGNATURE },
		{ "nonRepudiation", KU_NON_REPUDIATION },
		{ "keyEncipherment", KU_KEY_ENCIPHERMENT },
		{ "dataEncipherment", KU_DATA_ENCIPHERMENT },
		{ "keyAgreement", KU_KEY_AGREEMENT },
	};
	struct policy_list	 l = { NULL, 0 };
	int			 errors;

	if ((errors = load_list(path, s, "template.key_usage", &l)) == 0) {
		*bits = 0;
		for (size_t i = 0; i < l.n; i++) {
			size_t j;

			for (j = 0; j < NELEM(ku); j++)
				if (strcmp(l.v[i], ku[j].name) == 0)
					break;
			if (j == NELEM(ku)) {
				log_warnx("%s:%d: key usage \"%s\" is not one of "
				    "digitalSignature, nonRepudiation, "
				    "keyEncipherment, dataEncipherment, "
				    "keyAgreement", path,
				    config_setting_source_line(s), l.v[i]);
				errors++;
			} else
				*bits |= ku[j].bit;
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return errors;
}

/*
 * challenge_mode: one mode name, or a list of them tried in order.  Each
 * mode at most once, at least one, and "webhook" last: the validator's
 * answer is final, so a mode after it would never be asked.
 */
static int
load_challenge_modes(const char *path, config_setting_t *s,
    struct policy_profile *p)
{
	struct policy_list	 l = { NULL, 0 };
	const char		*one;
	int			 line = config_setting_source_line(s), errors = 0;

	if ((one = config_setting_get_string(s)) != NULL) {
		if ((l.v = calloc(1, sizeof(char *))) == NULL ||
		    (l.v[0] = strdup(one)) == NULL)
			fatal("strdup");
		l.n = 1;
	} else if ((errors = load_list(path, s, "challenge_mode", &l)) != 0)
		goto out;
	if (l.n == 0) {
		log_warnx("%s:%d: \"challenge_mode\" must name at least one of "
		    "\"static\", \"dynamic\", \"webhook\", \"intune\"", path,
		    line);
		errors++;
	}
	p->nchallenge_modes = 0;
	for (size_t i = 0; i < l.n; i++) {
		enum policy_challenge_mode m;

		if (policy_challenge_mode_from_name(l.v[i], &m) == -1) {
			log_warnx("%s:%d: \"challenge_mode\": \"%s\" is not one "
			    "of \"static\", \"dynamic\", \"webhook\", "
			    "\"intune\"", path, line, l.v[i]);
			errors++;
		} else if (policy_profile_has_mode(p, m)) {
			log_warnx("%s:%d: \"challenge_mode\" lists \"%s\" twice",
			    path, line, l.v[i]);
			errors++;
		} else if (i + 1 < l.n && m == POLICY_CHALLENGE_WEBHOOK) {
			log_warnx("%s:%d: \"challenge_mode\": \"webhook\" must "
			    "come last (its answer is final, modes after it "
			    "would never be tried)", path, line);
			errors++;
		} else
			p->challenge_modes[p->nchallenge_modes++] = m;
	}
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return errors;
}

/*
 * Read the cipher or digest list into a bitmask.  Single DES and MD5 are
 * refused unless legacy is on (RFC 8894 2.9: MUST NOT).
 */
static int
load_algs(const char *path, config_setting_t *s, int digests, int legacy,
    unsigned *mask)
{
	const char	*name = digests ? "digests" : "ciphers";
	const char	**defs = digests ? default_digests : default_ciphers;
	int		 n, errors = 0;

	*mask = 0;
	n = s != NULL ? config_setting_length(s) :
	    (int)(digests ? NELEM(default_digests) : NELEM(default_ciphers));
	if (s != NULL && config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		log_warnx("%s:%d: \"%s\" must be a list of strings", path,
		    config_setting_source_line(s), name);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		const char	*v = s ? config_setting_get_string_elem(s, i) :
				    defs[i];
		int		 line = s ? config_setting_source_line(s) : 0;
		enum p7_cipher	 c;
		enum p7_digest	 d;

		if (v == NULL) {
			log_warnx("%s:%d: \"%s\" must be a list of strings",
			    path, line, name);
			errors++;
		} else if (!digests) {
			if (p7_cipher_from_name(v, &c) == -1) {
				log_warnx("%s:%d: unknown cipher \"%s\" (aes128, "
				    "aes192, aes256, 3des, des)", path, line, v);
				errors++;
			} else if (c == P7_CIPHER_DES && !legacy) {
				log_warnx("%s:%d: cipher \"des\" needs "
				    "legacy = true (RFC 8894 2.9)", path, line);
				errors++;
			} else
				*mask |= P7_BIT(c);
		} else {
			if (p7_digest_from_name(v, &d) == -1) {
				log_warnx("%s:%d: unknown digest \"%s\" (sha1, "
				    "sha224, sha256, sha384, sha512, md5)", path,
				    line, v);
				errors++;
			} else if (d == P7_MD_MD5 && !legacy) {
				log_warnx("%s:%d: digest \"md5\" needs "
				    "legacy = true (RFC 8894 2.9)", path, line);
				errors++;
			} else
				*mask |= P7_BIT(d);
		}
	}
	/* The RFC 8894 2.9 mandatory pair keeps every modern client working. */
	if (errors == 0 && !digests && !(*mask & P7_BIT(P7_CIPHER_AES128))) {
		log_warnx("%s: \"ciphers\" must include aes128 (RFC 8894 2.9)", path);
		errors++;
	}
	if (errors == 0 && digests && !(*mask & P7_BIT(P7_MD_SHA256))) {
		log_warnx("%s: \"digests\" must include sha256 (RFC 8894 2.9)", path);
		errors++;
	}
	return errors;
}

/*
 * A private key that its group or others may read has leaked already,
 * or will: refuse it rather than warn, so the fix happens now.
 */
static int
check_key_mode(const char *path, int line, const char *name, const char *file)
{
	struct stat	st;

	if (stat(file, &st) == -1) {
		log_warn("%s:%d: \"%s\": %s", path, line, name, file);
		return 1;
	}
	if ((st.st_mode & 077) == 0)
		return 0;
	log_warnx("%s:%d: \"%s\": %s has mode %04o: only its owner may read "
	    "a private key: chmod 600 %s", path, line, name, file,
	    (unsigned)(st.st_mode & 07777), file);
	return 1;
}

/*
 * A key on a token: the URI as given (not a path to resolve, no file to
 * check), if pkcs7/ accepts it.  The module is checked when the key is
 * loaded (scepd -n does).
 */
static int
check_uri(const char *path, int line, const char *name, const char *uri,
    char **out)
{
	struct p7_pkcs11_uri	u;
	char			err[256];

	if ((*out = strdup(uri)) == NULL)
		fatal("strdup");
	if (p7_pkcs11_uri_parse(uri, &u, err, sizeof(err)) == 0)
		return 0;
	/* Not the query: it may hold a PIN (pin-value), which is refused. */
	log_warnx("%s:%d: \"%s\": %.*s: %s", path, line, name,
	    (int)strcspn(uri, "?"), uri, err);
	return 1;
}

/*
 * Load one setting of table t into base from group (a profile; NULL for
 * the top level) falling back to root.  Returns the number of errors.
 */
static int
load_setting(const char *path, config_setting_t *group, config_setting_t *root,
    const struct setting *st, void *base, int flags)
{
	config_setting_t	*s = find(group, root, st->name);
	char			**sp = (char **)((char *)base + st->off);
	int			*ip = (int *)((char *)base + st->off);
	const char		*str;
	int			 line = s ? config_setting_source_line(s) : 0;

	switch (st->type) {
	case C_STR:
	case C_PATH:
	case C_KEY:
	case C_CAKEY:
		if (s == NULL) {
			if (st->def_str == NULL) {
				log_warnx("%s: required setting \"%s\" missing",
				    path, st->name);
				return 1;
			}
			str = st->def_str;
		} else if ((str = config_setting_get_string(s)) == NULL) {
			log_warnx("%s:%d: \"%s\" must be a string", path, line,
			    st->name);
			/* The checks after loading read it: its default. */
			if (st->type == C_STR && st->def_str != NULL &&
			    (*sp = strdup(st->def_str)) == NULL)
				fatal("strdup");
			return 1;
		}
		if (st->type == C_CAKEY && p7_key_is_pkcs11(str))
			return check_uri(path, line, st->name, str, sp);
		*sp = st->type != C_STR ? resolve(path, str) : strdup(str);
		if (*sp == NULL)
			fatal("strdup");
		if (st->type == C_STR || !(flags & CONF_CHECK_FILES) ||
		    (*sp)[0] == '\0')
			return 0;
		if (access(*sp, R_OK) != 0) {
			log_warn("%s:%d: \"%s\": cannot read %s", path, line,
			    st->name, *sp);
			return 1;
		}
		return st->type == C_KEY || st->type == C_CAKEY ?
		    check_key_mode(path, line, st->name, *sp) : 0;
	case C_INT:
	case C_BOOL:
		if (s == NULL) {
			*ip = st->def_int;
			return 0;
		}
		if (st->type == C_INT ? config_setting_type(s) != CONFIG_TYPE_INT :
		    config_setting_type(s) != CONFIG_TYPE_BOOL) {
			log_warnx("%s:%d: \"%s\" must be %s", path, line, st->name,
			    st->type == C_INT ? "an integer" : "true or false");
			return 1;
		}
		*ip = st->type == C_INT ? config_setting_get_int(s) :
		    config_setting_get_bool(s);
		if (st->type == C_INT && (*ip < st->min || *ip > st->max)) {
			log_warnx("%s:%d: \"%s\" = %d is outside %d..%d", path,
			    line, st->name, *ip, st->min, st->max);
			return 1;
		}
		return 0;
	case C_ENUM:
		*ip = 0;
		if (s == NULL)
			return 0;
		if ((str = config_setting_get_string(s)) != NULL)
			for (int i = 0; st->names[i] != NULL; i++)
				if (strcmp(st->names[i], str) == 0) {
					*ip = i;
					return 0;
				}
		{
			char	list[128] = "";

			for (int i = 0; st->names[i] != NULL; i++)
				snprintf(list + strlen(list), sizeof(list) -
				    strlen(list), "%s\"%s\"", i ? ", " : "",
				    st->names[i]);
			log_warnx("%s:%d: \"%s\" must be one of %s", path, line,
			    st->name, list);
		}
		return 1;
	case C_LIST:
		return s != NULL ? load_list(path, s, st->name,
		    (struct policy_list *)((char *)base + st->off)) : 0;
	case C_KU:
		return s != NULL ? load_key_usage(path, s,
		    (unsigned *)((char *)base + st->off)) : 0;
	case C_MODES:
		return s != NULL ? load_challenge_modes(path, s,
		    (struct policy_profile *)((char *)base + st->off)) : 0;
	case C_ALGS:
		break;	/* after legacy is known, by load_profile() */
	}
	return 0;
}

static int
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int
hex_decode(const char *hex, unsigned char *out, size_t len)
{
	unsigned	v;

	if (strlen(hex) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/*
 * "path" of one profile, from its own group only: inherited, it would
 * put every profile at the same place.  Its form is checked here, where
 * it may clash with other routes by check_paths().
 */
static int
load_path(const char *path, config_setting_t *group, const char *name,
    char **out)
{
	config_setting_t	*s = config_setting_get_member(group, "path");
	const char		*v = NULL;
	size_t			 n;
	int			 errors = 0;

	if (s != NULL && (v = config_setting_get_string(s)) == NULL) {
		log_warnx("%s:%d: profile %s: \"path\" must be a string", path,
		    config_setting_source_line(s), name);
		errors++;
	} else if (v != NULL && (v[0] != '/' || (n = strlen(v)) < 2 ||
	    v[n - 1] == '/' || strpbrk(v, "?#") != NULL)) {
		log_warnx("%s:%d: profile %s: \"path\" \"%s\" must start with "
		    "/, not end with one, and hold no ? or # (e.g. "
		    "/certsrv/mscep/mscep.dll)", path,
		    config_setting_source_line(s), name, v);
		errors++;
	}
	if ((*out = strdup(errors || v == NULL ? "" : v)) == NULL)
		fatal("strdup");
	return errors;
}

/* Load profile p from group (NULL: the default profile at the top level). */
/* challenge_mode "intune": alone, with whom to sign in as (docs/mdm.md). */
static int
check_intune(const char *where, const struct conf_profile *p)
{
	const struct conf_intune	*in = &p->intune;
	int				 errors = 0, secret, cert;

	if (!policy_profile_has_mode(&p->policy, POLICY_CHALLENGE_INTUNE))
		return 0;
	if (p->policy.nchallenge_modes != 1) {
		log_warnx("%s: challenge_mode \"intune\" must be the only mode: "
		    "only Intune can read its challenges", where);
		errors++;
	}
	if (in->tenant[0] == '\0' || in->client_id[0] == '\0') {
		log_warnx("%s: challenge_mode \"intune\" needs intune.tenant and "
		    "intune.client_id", where);
		errors++;
	}
	secret = in->client_secret_file[0] != '\0';
	cert = in->client_certificate[0] != '\0' || in->client_key[0] != '\0';
	if (secret == cert || (cert && (in->client_certificate[0] == '\0' ||
	    in->client_key[0] == '\0'))) {
		log_warnx("%s: intune needs either client_secret_file or both "
		    "client_certificate and client_key", where);
		errors++;
	}
	/* An approved CertPoll is never put to Intune. */
	if (p->policy.approval == POLICY_APPROVAL_MANUAL) {
		log_warnx("%s: challenge_mode \"intune\" decides at once: "
		    "approval = \"manual\" is not possible with it", where);
		errors++;
	}
	if (strncmp(in->authority, "https://", 8) != 0 ||
	    strncmp(in->graph, "https://", 8) != 0) {
		log_warnx("%s: intune.authority and intune.graph must be "
		    "https:// URLs", where);
		errors++;
	}
	return errors;
}

/* A certificate and its key: both set or both "" (1 error, or 0). */
static int
together(const char *where, const char *an, const char *a, const char *bn,
    const char *b)
{
	if ((a[0] == '\0') == (b[0] == '\0'))
		return 0;
	log_warnx("%s: \"%s\" and \"%s\" go together", where, an, bn);
	return 1;
}

/*
 * A forged strong mapping (KB5014754): a SID the CSR names, with no
 * validator vouching for it (docs/policy.md, "Strong mapping").
 */
static int
check_sid_from_csr(const char *path, config_setting_t *group,
    config_setting_t *root, const struct conf_profile *p)
{
	config_setting_t	*s;
	const char		*setting;
	char			 why[512];

	if (!policy_sid_from_csr(&p->policy, &setting, why, sizeof(why)))
		return 0;
	s = find(group, root, setting);
	log_warnx("%s:%d: profile %s: %s %s. Use challenge_mode \"webhook\" "
	    "or \"intune\" (a validator vouches for the CSR), or set "
	    "template.sid_from_csr_acknowledged = true if that is intended",
	    path, s != NULL ? config_setting_source_line(s) : 0,
	    p->policy.name, setting, why);
	return 1;
}

static int
load_profile(const char *path, config_t *cfg, config_setting_t *group,
    struct conf_profile *p, int flags)
{
	config_setting_t	*root = config_root_setting(cfg);
	struct policy_template	*t = &p->policy.tmpl;
	const char		*name = "default";
	int			 errors = 0;
	char			 where[96];

	policy_profile_defaults(&p->policy);
	if (group != NULL &&
	    config_setting_lookup_string(group, "name", &name) != CONFIG_TRUE) {
		log_warnx("%s:%d: a profile needs a name", path,
		    config_setting_source_line(group));
		return 1;
	}
	if (group != NULL && (!valid_name(name) || strcmp(name, "default") == 0)) {
		log_warnx("%s:%d: profile name \"%s\": use letters, digits, - "
		    "and _ (and not \"default\")", path,
		    config_setting_source_line(group), name);
		errors++;
	}
	if ((p->policy.name = strdup(name)) == NULL)
		fatal("strdup");
	snprintf(where, sizeof(where), "%s (profile %s)", path, name);
	errors += load_path(path, group ? group : root, name, &p->path);
	/* A named profile inherits the top level; the top level has none. */
	for (size_t i = 0; i < NELEM(profile_settings); i++)
		errors += load_setting(where, group ? group : root,
		    group ? root : NULL, &profile_settings[i], p, flags);
	errors += load_algs(where, find(group, root, "ciphers"), 0, p->legacy,
	    &p->algs.ciphers);
	errors += load_algs(where, find(group, root, "digests"), 1, p->legacy,
	    &p->algs.digests);

	/* "" means unset for optional strings: make them NULL for policy/. */
#define UNSET(x)	do { if ((x) != NULL && (x)[0] == '\0') { free(x); (x) = NULL; } } while (0)
	UNSET(t->subject);
	UNSET(t->crl_url);
	UNSET(t->ocsp_url);
	UNSET(t->ca_issuers_url);
	UNSET(t->device_id);
	UNSET(p->policy.webhook.url);
	UNSET(p->policy.webhook.secret);
#undef UNSET

	errors += together(where, "ca.ra_cert", p->ra_cert, "ca.ra_key",
	    p->ra_key);
	errors += together(where, "ca.ocsp_cert", p->ocsp_cert, "ca.ocsp_key",
	    p->ocsp_key);
	errors += together(where, "ca.previous_cert", p->previous_cert,
	    "ca.previous_key", p->previous_key);
	if (p->key_passphrase_file != NULL && p->key_passphrase_file[0] != '\0' &&
	    p->key_passphrase_credential != NULL &&
	    p->key_passphrase_credential[0] != '\0') {
		log_warnx("%s: \"ca.key_passphrase_file\" or "
		    "\"ca.key_passphrase_credential\": one of them", where);
		errors++;
	}
	if (t->rsa_min_bits > t->rsa_max_bits) {
		log_warnx("%s: template.rsa_min_bits > template.rsa_max_bits", where);
		errors++;
	}
	if (t->validity_days > t->max_validity_days) {
		log_warnx("%s: validity_days %d exceeds template.max_validity_days %d",
		    where, t->validity_days, t->max_validity_days);
		errors++;
	}
	if (t->key_usage == 0)
		t->key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	{
		char	terr[256];

		if (policy_template_check(t, terr, sizeof(terr)) != 0) {
			log_warnx("%s: template: %s", where, terr);
			errors++;
		}
	}
	errors += check_sid_from_csr(path, group ? group : root, root, p);
	/* Notifications go out signed from any mode: check the webhook here. */
	if (p->policy.webhook.url != NULL &&
	    ((strncmp(p->policy.webhook.url, "http://", 7) != 0 &&
	    strncmp(p->policy.webhook.url, "https://", 8) != 0) ||
	    p->policy.webhook.secret == NULL ||
	    strlen(p->policy.webhook.secret) < 16)) {
		log_warnx("%s: webhook.url must be http:// or https:// and "
		    "webhook.secret at least 16 characters (it signs every "
		    "request)", where);
		errors++;
	}
	if (policy_profile_has_mode(&p->policy, POLICY_CHALLENGE_STATIC)) {
		if (p->policy.static_challenge[0] == '\0')
			log_warnx("%s: no \"challenge\" set: the static mode "
			    "refuses every enrollment%s", where,
			    p->policy.renewal.enabled ?
			    " (renewals still work)" : "");
		else if (strlen(p->policy.static_challenge) < 8) {
			log_warnx("%s: \"challenge\" must have at least 8 "
			    "characters", where);
			errors++;
		}
	}
	errors += check_intune(where, p);
	if (policy_profile_has_mode(&p->policy, POLICY_CHALLENGE_WEBHOOK) &&
	    p->policy.webhook.url == NULL) {
		log_warnx("%s: challenge_mode \"webhook\" needs webhook.url and "
		    "webhook.secret", where);
		errors++;
	}
	return errors;
}

static int	check_paths(const struct conf *);

/*
 * Each profile's struct p7_key_source, borrowing the strings loaded: its
 * passphrase, the server's PKCS#11 module and PIN file, which a key on a
 * token needs.
 */
static int
key_sources(struct conf *c)
{
	struct conf_profile	*p;
	const char		*keys[4], *names[4] = { "ca.key", "ca.ra_key",
				    "ca.ocsp_key", "ca.previous_key" };
	int			 errors = 0;

	for (int i = 0; i < c->nprofiles; i++) {
		p = &c->profiles[i];
		if (p->ca_key == NULL)
			continue;	/* refused already */
		p->keys.passphrase_file = p->key_passphrase_file;
		p->keys.passphrase_credential = p->key_passphrase_credential;
		p->keys.pkcs11_module = c->pkcs11_module;
		p->keys.pkcs11_pin_file = c->pkcs11_pin_file;
		keys[0] = p->ca_key;
		keys[1] = p->ra_key;
		keys[2] = p->ocsp_key;
		keys[3] = p->previous_key;
		for (int k = 0; k < 4; k++)
			if (p7_key_is_pkcs11(keys[k]) &&
			    (c->pkcs11_module == NULL ||
			    c->pkcs11_module[0] == '\0' ||
			    c->pkcs11_pin_file == NULL ||
			    c->pkcs11_pin_file[0] == '\0')) {
				log_warnx("%s (profile %s): \"%s\" is on a "
				    "token: set pkcs11 = { module = ...; "
				    "pin_file = ...; }", c->path,
				    p->policy.name, names[k]);
				errors++;
			}
	}
	return errors;
}

/*
 * The sweep must not revoke what a retransmission may still fetch: a
 * certificate stays undelivered at least as long as its request may be
 * repeated.  The line is the setting's that was given.
 */
static int
check_undelivered(const char *path, const config_t *cfg, const struct conf *c)
{
	config_setting_t	*s;

	if (c->undelivered_hours == 0 ||
	    c->undelivered_hours >= c->retransmission_window_hours)
		return 0;
	if ((s = config_lookup(cfg, "undelivered_hours")) == NULL)
		s = config_lookup(cfg, "retransmission_window_hours");
	log_warnx("%s:%d: \"undelivered_hours\" (%d) must be 0 or at least "
	    "\"retransmission_window_hours\" (%d): the sweep would revoke "
	    "certificates a retransmission may still fetch", path,
	    s != NULL ? config_setting_source_line(s) : 0,
	    c->undelivered_hours, c->retransmission_window_hours);
	return 1;
}

struct conf *
conf_load(const char *path, int flags)
{
	config_t		 cfg;
	config_setting_t	*list, *g;
	struct conf		*c;
	int			 errors = 0, n, dynamic = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL)
		fatal("calloc");
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			log_warn("%s: cannot read", path);
		else
			log_warnx("%s:%d: %s", path, config_error_line(&cfg),
			    config_error_text(&cfg));
		config_destroy(&cfg);
		conf_free(c);
		return NULL;
	}
	errors += check_unknown(path, config_root_setting(&cfg), NULL, 0);
	for (size_t i = 0; i < NELEM(server_settings); i++)
		errors += load_setting(path, NULL, config_root_setting(&cfg),
		    &server_settings[i], c, flags);

	list = config_lookup(&cfg, "profiles");
	if (list != NULL && config_setting_type(list) != CONFIG_TYPE_LIST) {
		log_warnx("%s:%d: \"profiles\" must be a list: ( { name = ...; }, "
		    "... )", path, config_setting_source_line(list));
		errors++;
		list = NULL;
	}
	n = list != NULL ? config_setting_length(list) : 0;
	if ((c->profiles = calloc((size_t)n + 1, sizeof(*c->profiles))) == NULL)
		fatal("calloc");
	c->nprofiles = n + 1;
	errors += load_profile(path, &cfg, NULL, &c->profiles[0], flags);
	for (int i = 0; i < n; i++) {
		g = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			log_warnx("%s:%d: each profile is a group { name = ...; }",
			    path, config_setting_source_line(g));
			errors++;
			continue;
		}
		errors += check_unknown(path, g, NULL, 1);
		errors += load_profile(path, &cfg, g, &c->profiles[i + 1], flags);
		/* A profile refused for its name (or not a group) has none. */
		for (int j = 0; j <= i; j++)
			if (c->profiles[i + 1].policy.name != NULL &&
			    c->profiles[j].policy.name != NULL &&
			    strcmp(c->profiles[j].policy.name,
			    c->profiles[i + 1].policy.name) == 0) {
				log_warnx("%s:%d: profile \"%s\" defined twice",
				    path, config_setting_source_line(g),
				    c->profiles[j].policy.name);
				errors++;
			}
	}
	errors += check_undelivered(path, &cfg, c);
	config_destroy(&cfg);
	errors += key_sources(c);

	for (int i = 0; i < c->nprofiles; i++)
		if (policy_profile_has_mode(&c->profiles[i].policy,
		    POLICY_CHALLENGE_DYNAMIC))
			dynamic = 1;
	if (c->challenge_key[0] != '\0' &&
	    hex_decode(c->challenge_key, c->hmac_key, sizeof(c->hmac_key)) == -1) {
		log_warnx("%s: \"challenge_key\" must be 64 hex digits "
		    "(openssl rand -hex 32)", path);
		errors++;
	} else if (c->challenge_key[0] == '\0' && dynamic) {
		log_warnx("%s: one-time challenges need \"challenge_key\" "
		    "(64 hex digits: openssl rand -hex 32), the same in every "
		    "scepd sharing the database", path);
		errors++;
	}
	if (c->base_path[0] != '/' || strchr(c->base_path, '?') != NULL ||
	    (strlen(c->base_path) > 1 &&
	    c->base_path[strlen(c->base_path) - 1] == '/')) {
		log_warnx("%s: \"base_path\" must start with / and not end with "
		    "one (e.g. /scep)", path);
		errors++;
	} else if (errors == 0)
		errors += check_paths(c);
	if (errors > 0) {
		log_warnx("%s: %d error%s", path, errors, errors > 1 ? "s" : "");
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Free the strings table t loaded into base, except those inside a
 * struct policy_profile, which policy_profile_clear() frees. */
static void
free_strings(const struct setting *t, size_t n, void *base, int profile)
{
	size_t	lo = offsetof(struct conf_profile, policy);
	size_t	hi = lo + sizeof(struct policy_profile);

	for (size_t i = 0; i < n; i++) {
		if (t[i].type != C_STR && t[i].type != C_PATH &&
		    t[i].type != C_KEY && t[i].type != C_CAKEY)
			continue;
		if (profile && t[i].off >= lo && t[i].off < hi)
			continue;
		free(*(char **)((char *)base + t[i].off));
		*(char **)((char *)base + t[i].off) = NULL;
	}
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	if (c->challenge_key != NULL)
		explicit_bzero(c->challenge_key, strlen(c->challenge_key));
	explicit_bzero(c->hmac_key, sizeof(c->hmac_key));
	free_strings(server_settings, NELEM(server_settings), c, 0);
	for (int i = 0; c->profiles != NULL && i < c->nprofiles; i++) {
		/* policy/ frees what struct policy_profile owns. */
		free_strings(profile_settings, NELEM(profile_settings),
		    &c->profiles[i], 1);
		policy_profile_clear(&c->profiles[i].policy);
		free(c->profiles[i].path);
	}
	free(c->profiles);
	free(c->path);
	free(c);
}

struct conf_profile *
conf_profile(const struct conf *c, const char *name, size_t namelen)
{
	if (namelen == 0 || (namelen == 7 && memcmp(name, "default", 7) == 0))
		return &c->profiles[0];
	for (int i = 1; i < c->nprofiles; i++)
		if (strlen(c->profiles[i].policy.name) == namelen &&
		    memcmp(c->profiles[i].policy.name, name, namelen) == 0)
			return &c->profiles[i];
	return NULL;
}

/* The profile <base>[/<profile>][/pkiclient.exe] names, or NULL. */
static struct conf_profile *
base_route(const struct conf *c, const char *path)
{
	const char	*name, *end;
	size_t		 n = strlen(c->base_path);

	if (strncmp(path, c->base_path, n) != 0)
		return NULL;
	path += n;
	if (path[0] == '\0' || strcmp(path, "/") == 0 ||
	    strcmp(path, "/pkiclient.exe") == 0)
		return &c->profiles[0];
	if (path[0] != '/')
		return NULL;
	name = path + 1;
	if ((end = strchr(name, '/')) == NULL)
		end = name + strlen(name);
	else if (strcmp(end, "/") != 0 && strcmp(end, "/pkiclient.exe") != 0)
		return NULL;
	if (end == name)
		return NULL;
	return conf_profile(c, name, (size_t)(end - name));
}

/* 1 if path is p's own path, or that with /pkiclient.exe appended. */
static int
own_path(const struct conf_profile *p, const char *path)
{
	size_t	n = strlen(p->path);

	return n > 0 && strncmp(path, p->path, n) == 0 &&
	    (path[n] == '\0' || strcmp(path + n, "/pkiclient.exe") == 0);
}

struct conf_profile *
conf_profile_at(const struct conf *c, const char *path)
{
	if (path == NULL)
		return NULL;
	for (int i = 0; i < c->nprofiles; i++)
		if (own_path(&c->profiles[i], path))
			return &c->profiles[i];
	return base_route(c, path);
}

/* 1 if path is prefix or below it ("/ocsp": "/ocsp", "/ocsp/x"). */
static int
at_or_under(const char *path, const char *prefix)
{
	size_t	n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

/*
 * What else answers at profile i's own path v (pk: v/pkiclient.exe), or
 * NULL: another profile's path, <base> routing, the admin API, OCSP, the
 * CRLs, mscep_admin (server/http/route.c tries the last four first).
 */
static const char *
path_taken(const struct conf *c, int i, const char *v, const char *pk)
{
	char	crl[256];
	size_t	n = strlen(v);

	for (int j = 0; j < i; j++)
		if (own_path(&c->profiles[j], v) ||
		    own_path(&c->profiles[j], pk) ||
		    own_path(&c->profiles[i], c->profiles[j].path))
			return "another profile's \"path\"";
	if (base_route(c, v) != NULL || base_route(c, pk) != NULL)
		return "a profile's <base_path>/<name> route";
	if (at_or_under(v, "/api"))
		return "the admin API (/api/)";
	if (at_or_under(v, "/ocsp"))
		return "the OCSP responder (/ocsp)";
	snprintf(crl, sizeof(crl), "%s/crl", c->base_path);
	if (at_or_under(v, crl))
		return "the CRLs (<base_path>/crl/)";
	if (at_or_under(v, "/certsrv/mscep_admin") ||
	    (n >= 12 && strcmp(v + n - 12, "/mscep_admin") == 0))
		return "mscep_admin";
	return NULL;
}

/* Each profile's own path is its own. */
static int
check_paths(const struct conf *c)
{
	char		 pk[512];
	const char	*why;
	int		 errors = 0;

	for (int i = 0; i < c->nprofiles; i++) {
		const char	*v = c->profiles[i].path;

		if (v[0] == '\0')
			continue;
		snprintf(pk, sizeof(pk), "%s/pkiclient.exe", v);
		if ((why = path_taken(c, i, v, pk)) != NULL) {
			log_warnx("%s (profile %s): \"path\" \"%s\" is taken by "
			    "%s", c->path, c->profiles[i].policy.name, v, why);
			errors++;
		}
	}
	return errors;
}

const char *
conf_find(const char *flag_path, const char *argv0)
{
	static char	 found[PATH_MAX];
	char		 exe[PATH_MAX];
	const char	*env;
	char		*slash;
	ssize_t		 n;

	(void)argv0;
	if (flag_path != NULL)
		return flag_path;
	if ((env = getenv("SCEPD_CONF")) != NULL && env[0] != '\0')
		return env;
	/* build/scepd or build/san/scepd inside the source tree after make run */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL;
		    up++) {
			*slash = '\0';
			if (strlen(exe) + sizeof("/var/scepd.conf") > sizeof(found))
				break;
			memcpy(found, exe, strlen(exe));
			memcpy(found + strlen(exe), "/var/scepd.conf",
			    sizeof("/var/scepd.conf"));
			if (access(found, R_OK) == 0)
				return found;
		}
	}
	if (access("/etc/scepd/scepd.conf", R_OK) == 0)
		return "/etc/scepd/scepd.conf";
	return NULL;
}
