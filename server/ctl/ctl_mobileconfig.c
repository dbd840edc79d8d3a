/*
 * scepctl mobileconfig: an Apple configuration profile (XML property
 * list, docs/mdm.md "Apple MDMs") that makes an iPhone, iPad or Mac enroll
 * at one profile: a com.apple.security.root payload with the CA and a
 * com.apple.security.scep payload with the URL, subject, challenge and
 * the CA's SHA-1 fingerprint, which the device checks GetCACert against.
 *
 * The challenge is the profile's static one, or with --challenge-mode
 * one-time a challenge minted now (as scepctl challenge create does), so
 * each device gets a profile of its own.  Either way the file is a secret:
 * -o writes it with mode 0600.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "server/api/challenge_mint.h"
#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

/* What Apple's SCEP client sends; see docs/mdm.md. */
#define MC_KEYSIZE	2048
#define MC_KEY_USAGE	5	/* 1 signing | 4 encryption */
#define MC_RETRIES	3
#define MC_RETRY_DELAY	10	/* seconds */
#define MC_CN		"%HardwareUUID%"

static void
usage_mc(void)
{
	fprintf(stderr, "usage: scepctl mobileconfig [--profile P] --url "
	    "https://host[:port]\n"
	    "        [--challenge-mode static|one-time] [--cn VALUE] "
	    "[-o FILE]\n");
	exit(2);
}

/* A random (version 4) UUID, upper case as Apple's tools write them. */
static void
uuid_new(char out[37])
{
	unsigned char	b[16];
	size_t		o = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		fatalx("mobileconfig: no randomness");
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02X", b[i]);
		o += 2;
	}
	out[o] = '\0';
}

/* Text as XML character data. */
static void
xml_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void
pl_string(FILE *f, int depth, const char *key, const char *v)
{
	if (key != NULL) {
		fprintf(f, "%*s<key>", depth, "");
		xml_text(f, key);
		fputs("</key>\n", f);
	}
	fprintf(f, "%*s<string>", depth, "");
	xml_text(f, v);
	fputs("</string>\n", f);
}

static void
pl_int(FILE *f, int depth, const char *key, int v)
{
	fprintf(f, "%*s<key>%s</key>\n%*s<integer>%d</integer>\n", depth, "",
	    key, depth, "", v);
}

/* <data>: base64, as plistlib and Apple's tools read it. */
static void
pl_data(FILE *f, int depth, const char *key, const unsigned char *p,
    size_t len)
{
	unsigned char	*b64;
	size_t		 n = 4 * ((len + 2) / 3);

	if ((b64 = malloc(n + 1)) == NULL)
		fatal("malloc");
	EVP_EncodeBlock(b64, p, (int)len);
	fprintf(f, "%*s<key>%s</key>\n%*s<data>", depth, "", key, depth, "");
	for (size_t i = 0; i < n; i += 64)
		fprintf(f, "\n%*s%.64s", depth, "", (char *)b64 + i);
	fprintf(f, "\n%*s</data>\n", depth, "");
	free(b64);
}

/* The keys every payload carries. */
static void
pl_common(FILE *f, int depth, const char *type, const char *id,
    const char *name)
{
	char	uuid[37];

	uuid_new(uuid);
	pl_string(f, depth, "PayloadType", type);
	pl_int(f, depth, "PayloadVersion", 1);
	pl_string(f, depth, "PayloadIdentifier", id);
	pl_string(f, depth, "PayloadUUID", uuid);
	pl_string(f, depth, "PayloadDisplayName", name);
}

/*
 * The top of the CA chain in the file: the last self-issued certificate,
 * else the last one (a file of an intermediate alone).  That is what
 * Apple checks CAFingerprint against, and what the root payload trusts.
 */
static X509 *
ca_top(const char *path)
{
	FILE	*f;
	X509	*x, *top = NULL;	/* owned */
	int	 self = 0;

	if ((f = fopen(path, "r")) == NULL)
		fatal("%s", path);
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (self && X509_check_issued(x, x) != X509_V_OK) {
			X509_free(x);
			continue;
		}
		self = X509_check_issued(x, x) == X509_V_OK;
		X509_free(top);
		top = x;
	}
	fclose(f);
	if (top == NULL)
		fatalx("%s holds no certificate (scepctl ca init?)", path);
	return top;
}

/*
 * Subject: one array per RDN, of [type, value] pairs, from the
 * template's /A=v/B=w form.  The certificate's subject comes from the
 * template anyway (docs/policy.md); a template with variables, or none,
 * is sent as CN=cn, which the MDM may replace with its own variable.
 */
static void
pl_subject(FILE *f, int depth, const char *tmpl, const char *cn)
{
	char	*dup, *rdn, *save = NULL, *eq;

	fprintf(f, "%*s<key>Subject</key>\n%*s<array>\n", depth, "", depth, "");
	if (tmpl == NULL || tmpl[0] != '/' || strchr(tmpl, '{') != NULL ||
	    strchr(tmpl, '+') != NULL || strchr(tmpl, '\\') != NULL) {
		fprintf(f, "%*s<array><array>\n", depth + 1, "");
		pl_string(f, depth + 2, NULL, "CN");
		pl_string(f, depth + 2, NULL, cn);
		fprintf(f, "%*s</array></array>\n", depth + 1, "");
	} else {
		if ((dup = strdup(tmpl + 1)) == NULL)
			fatal("strdup");
		for (rdn = strtok_r(dup, "/", &save); rdn != NULL;
		    rdn = strtok_r(NULL, "/", &save)) {
			if ((eq = strchr(rdn, '=')) == NULL)
				fatalx("template.subject \"%s\": \"%s\" has no =",
				    tmpl, rdn);
			*eq = '\0';
			fprintf(f, "%*s<array><array>\n", depth + 1, "");
			pl_string(f, depth + 2, NULL, rdn);
			pl_string(f, depth + 2, NULL, eq + 1);
			fprintf(f, "%*s</array></array>\n", depth + 1, "");
		}
		free(dup);
	}
	fprintf(f, "%*s</array>\n", depth, "");
}

/* The URL the profile answers at: its own path, else <base>[/<name>]. */
static void
scep_url(const struct conf *c, const struct conf_profile *p, const char *url,
    char *out, size_t len)
{
	size_t	n = strlen(url);
	int	w;

	while (n > 0 && url[n - 1] == '/')
		n--;
	if (p->path[0] != '\0')
		w = snprintf(out, len, "%.*s%s", (int)n, url, p->path);
	else
		w = snprintf(out, len, "%.*s%s%s%s", (int)n, url, c->base_path,
		    p == &c->profiles[0] ? "" : "/",
		    p == &c->profiles[0] ? "" : p->policy.name);
	if (w < 0 || (size_t)w >= len)
		fatalx("mobileconfig: --url too long");
}

/* A one-time challenge for p, recorded as scepctl challenge create does. */
static void
mint(const struct conf *c, const struct conf_profile *p, char *chal,
    size_t len)
{
	struct db	*db = ctl_connect(c);
	char		 who[96], err[256], exp_s[32];
	long long	 id;
	time_t		 exp;

	if (challenge_mint(db, c, p, NULL, p->policy.challenge_ttl_minutes,
	    ctl_actor(who, sizeof(who)), chal, len, &id, &exp, err,
	    sizeof(err)) == -1)
		fatalx("mobileconfig: %s", err);
	db_close(db);
	fprintf(stderr, "one-time challenge #%lld for profile %s, expires %s\n",
	    id, p->policy.name, challenge_utc(exp, exp_s, sizeof(exp_s)));
}

static void
write_profile(FILE *f, const struct conf *c, const struct conf_profile *p,
    const char *url, const char *chal, const char *cn, X509 *ca)
{
	unsigned char	*der = NULL, sha1[20];
	char		 id[160], sub[192], surl[1024];
	int		 n;

	if ((n = i2d_X509(ca, &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)n, sha1, NULL, EVP_sha1(), NULL))
		fatalx("mobileconfig: cannot encode the CA certificate");
	scep_url(c, p, url, surl, sizeof(surl));
	snprintf(id, sizeof(id), "scepd.%s", p->policy.name);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n", f);
	snprintf(sub, sizeof(sub), "scepd %s", p->policy.name);
	pl_common(f, 1, "Configuration", id, sub);
	fputs(" <key>PayloadContent</key>\n <array>\n  <dict>\n", f);
	snprintf(id, sizeof(id), "scepd.%s.root", p->policy.name);
	snprintf(sub, sizeof(sub), "scepd %s CA", p->policy.name);
	pl_common(f, 3, "com.apple.security.root", id, sub);
	pl_data(f, 3, "PayloadContent", der, (size_t)n);
	fputs("  </dict>\n  <dict>\n", f);
	snprintf(id, sizeof(id), "scepd.%s.scep", p->policy.name);
	snprintf(sub, sizeof(sub), "scepd %s certificate", p->policy.name);
	pl_common(f, 3, "com.apple.security.scep", id, sub);
	fputs("   <key>PayloadContent</key>\n   <dict>\n", f);
	pl_string(f, 4, "URL", surl);
	pl_string(f, 4, "Name", p->policy.name);
	pl_subject(f, 4, p->policy.tmpl.subject, cn);
	pl_string(f, 4, "Challenge", chal);
	pl_int(f, 4, "Keysize", MC_KEYSIZE);
	pl_string(f, 4, "Key Type", "RSA");
	pl_int(f, 4, "Key Usage", MC_KEY_USAGE);
	pl_int(f, 4, "Retries", MC_RETRIES);
	pl_int(f, 4, "RetryDelay", MC_RETRY_DELAY);
	pl_data(f, 4, "CAFingerprint", sha1, sizeof(sha1));
	fputs("   </dict>\n  </dict>\n </array>\n</dict>\n</plist>\n", f);
	OPENSSL_free(der);
}

int
ctl_mobileconfig(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "url", required_argument, NULL, 'u' },
		{ "challenge-mode", required_argument, NULL, 'm' },
		{ "cn", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf_profile	*p;
	X509			*ca;
	FILE			*f = stdout;
	const char		*profile = "default", *url = NULL, *out = NULL;
	const char		*cn = MC_CN;
	char			 chal[POLICY_CHALLENGE_LEN + 1] = "";
	int			 ch, one_time = 0, fd;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': profile = optarg; break;
		case 'u': url = optarg; break;
		case 'n': cn = optarg; break;
		case 'o': out = optarg; break;
		case 'm':
			if (strcmp(optarg, "one-time") == 0)
				one_time = 1;
			else if (strcmp(optarg, "static") != 0)
				usage_mc();
			break;
		default: usage_mc();
		}
	}
	if (optind != argc || url == NULL)
		usage_mc();
	/* The configuration knows where scepd listens, not its public name. */
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		fatalx("mobileconfig: --url is the server as devices reach it, "
		    "http:// or https://");
	p = ctl_profile(c, profile);
	if (one_time && !challenge_mintable(p))
		fatalx("mobileconfig: profile %s does not use one-time "
		    "challenges (add \"dynamic\" to its challenge_mode)",
		    p->policy.name);
	if (!one_time && (!policy_profile_has_mode(&p->policy,
	    POLICY_CHALLENGE_STATIC) || p->policy.static_challenge[0] == '\0'))
		fatalx("mobileconfig: profile %s has no static challenge%s",
		    p->policy.name, challenge_mintable(p) ?
		    ": use --challenge-mode one-time" : "");
	ca = ca_top(p->ca_cert);
	if (one_time)
		mint(c, p, chal, sizeof(chal));
	if (out != NULL && ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL))
		fatal("%s", out);
	write_profile(f, c, p, url, one_time ? chal :
	    p->policy.static_challenge, cn, ca);
	OPENSSL_cleanse(chal, sizeof(chal));
	X509_free(ca);
	if ((f != stdout && fclose(f) != 0) || fflush(stdout) != 0)
		fatal("%s", out != NULL ? out : "stdout");
	return 0;
}
