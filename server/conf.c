/*
 * Configuration loading.  One table describes every setting; strings are
 * copied before config_destroy().  Every problem is logged with its line
 * and all of them are reported before giving up, so `scepd -n` names
 * every error at once.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "server/conf.h"
#include "server/log.h"

enum ctype { C_STR, C_INT, C_BOOL, C_PATH };

struct setting {
	const char	*name;		/* libconfig path, "ca.cert" */
	enum ctype	 type;
	size_t		 off;		/* in struct conf */
	const char	*def_str;	/* C_STR, C_PATH; NULL: required */
	int		 def_int;
	int		 min, max;	/* C_INT */
	int		 file;		/* C_PATH that must exist (if set) */
};

#define S(n, f, d)		{ n, C_STR, offsetof(struct conf, f), d, 0, 0, 0, 0 }
#define P(n, f, d, must)	{ n, C_PATH, offsetof(struct conf, f), d, 0, 0, 0, must }
#define I(n, f, d, lo, hi)	{ n, C_INT, offsetof(struct conf, f), NULL, d, lo, hi, 0 }
#define B(n, f, d)		{ n, C_BOOL, offsetof(struct conf, f), NULL, d, 0, 1, 0 }

static const struct setting settings[] = {
	S("listen",		listen,		"127.0.0.1"),
	I("port",		port,		8080, 0, 65535),
	I("workers",		workers,	0, 0, 256),
	S("base_path",		base_path,	"/scep"),
	S("database",		database,	""),
	P("ca.cert",		ca_cert,	NULL, 1),
	P("ca.key",		ca_key,		NULL, 1),
	P("ca.ra_cert",		ra_cert,	"", 1),
	P("ca.ra_key",		ra_key,		"", 1),
	S("challenge",		challenge,	""),
	I("validity_days",	validity_days,	365, 1, 3650),
	I("backdate_seconds",	backdate_seconds, 300, 0, 86400),
	B("legacy",		legacy,		0),
	I("limits.max_body",	max_body,	65536, 1024, 1 << 24),
	I("limits.max_headers",	max_headers,	32768, 1024, 1 << 20),
	I("limits.request_timeout", request_timeout, 10, 1, 600),
	I("limits.max_connections", max_connections, 1024, 1, 65536),
	B("verbose",		verbose,	0),
};

/* Lists handled outside the table. */
static const char *const list_settings[] = { "ciphers", "digests" };

/* Groups whose members are all in the table. */
static const char *const groups[] = { "ca", "limits" };

static const char	*default_ciphers[] = { "aes128", "aes192", "aes256", "3des" };
static const char	*default_digests[] = { "sha1", "sha224", "sha256", "sha384",
			    "sha512" };

static int
known(const char *group, const char *name)
{
	char	full[128];
	size_t	i;

	snprintf(full, sizeof(full), "%s%s%s", group ? group : "",
	    group ? "." : "", name);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].name, full) == 0)
			return 1;
	if (group == NULL) {
		for (i = 0; i < sizeof(list_settings) / sizeof(list_settings[0]); i++)
			if (strcmp(list_settings[i], name) == 0)
				return 1;
		for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			if (strcmp(groups[i], name) == 0)
				return 1;
	}
	return 0;
}

/* Report settings the table does not know: usually a typo. */
static int
check_unknown(const char *path, config_setting_t *parent, const char *group)
{
	config_setting_t	*s;
	int			 errors = 0;

	for (int i = 0; (s = config_setting_get_elem(parent, i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		if (name == NULL)
			continue;
		if (!known(group, name)) {
			log_warnx("%s:%d: unknown setting \"%s%s%s\"", path,
			    config_setting_source_line(s), group ? group : "",
			    group ? "." : "", name);
			errors++;
		} else if (group == NULL &&
		    config_setting_type(s) == CONFIG_TYPE_GROUP)
			errors += check_unknown(path, s, name);
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

static int
load_setting(const char *path, config_t *cfg, const struct setting *st,
    struct conf *c, int flags)
{
	config_setting_t	*s = config_lookup(cfg, st->name);
	char			**sp = (char **)((char *)c + st->off);
	int			*ip = (int *)((char *)c + st->off);
	const char		*str;
	int			 line = s ? config_setting_source_line(s) : 0;

	switch (st->type) {
	case C_STR:
	case C_PATH:
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
			return 1;
		}
		*sp = st->type == C_PATH ? resolve(path, str) : strdup(str);
		if (*sp == NULL)
			fatal("strdup");
		if (st->type == C_PATH && st->file && (flags & CONF_CHECK_FILES) &&
		    (*sp)[0] != '\0' && access(*sp, R_OK) != 0) {
			log_warn("%s:%d: \"%s\": cannot read %s", path, line,
			    st->name, *sp);
			return 1;
		}
		return 0;
	case C_INT:
		if (s == NULL) {
			*ip = st->def_int;
			return 0;
		}
		if (config_setting_type(s) != CONFIG_TYPE_INT) {
			log_warnx("%s:%d: \"%s\" must be an integer", path, line,
			    st->name);
			return 1;
		}
		*ip = config_setting_get_int(s);
		if (*ip < st->min || *ip > st->max) {
			log_warnx("%s:%d: \"%s\" = %d is outside %d..%d", path,
			    line, st->name, *ip, st->min, st->max);
			return 1;
		}
		return 0;
	case C_BOOL:
		if (s == NULL) {
			*ip = st->def_int;
			return 0;
		}
		if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
			log_warnx("%s:%d: \"%s\" must be true or false", path,
			    line, st->name);
			return 1;
		}
		*ip = config_setting_get_bool(s);
		return 0;
	}
	return 1;
}

/*
 * Read the cipher or digest list into a bitmask.  Single DES and MD5 are
 * refused unless legacy is on (RFC 8894 2.9: MUST NOT).
 */
static int
load_algs(const char *path, config_t *cfg, const char *name, int legacy,
    unsigned *mask)
{
	config_setting_t	*s = config_lookup(cfg, name);
	const char		**defs;
	size_t			 ndefs;
	int			 errors = 0, n;

	*mask = 0;
	if (strcmp(name, "ciphers") == 0)
		defs = default_ciphers, ndefs = 4;
	else
		defs = default_digests, ndefs = 5;
	n = s != NULL ? config_setting_length(s) : (int)ndefs;
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
		} else if (name[0] == 'c') {
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
	/* The RFC 8894 mandatory pair keeps every modern client working. */
	if (errors == 0 && name[0] == 'c' && !(*mask & P7_BIT(P7_CIPHER_AES128))) {
		log_warnx("%s: \"ciphers\" must include aes128 (RFC 8894 2.9)", path);
		errors++;
	}
	if (errors == 0 && name[0] == 'd' && !(*mask & P7_BIT(P7_MD_SHA256))) {
		log_warnx("%s: \"digests\" must include sha256 (RFC 8894 2.9)", path);
		errors++;
	}
	return errors;
}

struct conf *
conf_load(const char *path, int flags)
{
	config_t	 cfg;
	struct conf	*c;
	int		 errors = 0;

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
	errors += check_unknown(path, config_root_setting(&cfg), NULL);
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		errors += load_setting(path, &cfg, &settings[i], c, flags);
	errors += load_algs(path, &cfg, "ciphers", c->legacy, &c->algs.ciphers);
	errors += load_algs(path, &cfg, "digests", c->legacy, &c->algs.digests);
	config_destroy(&cfg);

	if (c->base_path[0] != '/' || strchr(c->base_path, '?') != NULL) {
		log_warnx("%s: \"base_path\" must start with / (e.g. /scep)", path);
		errors++;
	}
	if ((c->ra_cert[0] == '\0') != (c->ra_key[0] == '\0')) {
		log_warnx("%s: \"ca.ra_cert\" and \"ca.ra_key\" go together", path);
		errors++;
	}
	if (c->challenge[0] == '\0')
		log_warnx("%s: no \"challenge\" set: every enrollment will be "
		    "refused", path);
	else if (strlen(c->challenge) < 8) {
		log_warnx("%s: \"challenge\" must have at least 8 characters",
		    path);
		errors++;
	}
	if (errors > 0) {
		log_warnx("%s: %d error%s", path, errors, errors > 1 ? "s" : "");
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	if (c->challenge != NULL)
		explicit_bzero(c->challenge, strlen(c->challenge));
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (settings[i].type == C_STR || settings[i].type == C_PATH)
			free(*(char **)((char *)c + settings[i].off));
	free(c->path);
	free(c);
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
