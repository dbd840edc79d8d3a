/*
 * scepctl token create|revoke|list and scepctl challenge create.
 *
 * A token is printed once, when it is created: only its SHA-256 is kept.
 * A challenge is printed alone on stdout (so that scripts can take it
 * with $(...)), what it is bound to on stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "server/api/api_parse.h"
#include "server/api/challenge_mint.h"
#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

/* The name argument of token create|revoke, or exit. */
static const char *
token_name(int argc, char **argv, const char *verb)
{
	if (argc != 2) {
		fprintf(stderr, "usage: scepctl token %s NAME\n", verb);
		exit(2);
	}
	if (!api_name_valid(argv[1]))
		fatalx("a token name is 1 to %d of A-Z a-z 0-9 . _ -",
		    API_NAME_MAX);
	return argv[1];
}

/* "scepd_" and 256 random bits in base64url without padding. */
static int
token_new(char tok[API_TOKEN_LEN + 1])
{
	static const char	 b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 r[API_TOKEN_RANDOM];
	unsigned int		 acc = 0;
	size_t			 i, o = strlen(API_TOKEN_PREFIX);
	int			 bits = 0, rc = -1;

	if (RAND_bytes(r, sizeof(r)) != 1)
		goto out;
	memcpy(tok, API_TOKEN_PREFIX, o);
	for (i = 0; i < sizeof(r); i++) {
		acc = (acc << 8 | r[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			tok[o++] = b64url[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		tok[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	tok[o] = '\0';
	rc = o == API_TOKEN_LEN ? 0 : -1;
out:
	OPENSSL_cleanse(r, sizeof(r));
	return rc;
}

int
ctl_token_create(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	unsigned char	 sha[32];
	char		 tok[API_TOKEN_LEN + 1], who[96], err[256];
	const char	*name = token_name(argc, argv, "create");
	enum db_rc	 rc;

	if (token_new(tok) == -1 ||
	    !EVP_Digest(tok, strlen(tok), sha, NULL, EVP_sha256(), NULL))
		fatalx("token create: no randomness or SHA-256");
	db = ctl_connect(c);
	rc = db_token_create(db, name, sha, ctl_actor(who, sizeof(who)), err,
	    sizeof(err));
	db_close(db);
	if (rc == DB_ERROR)
		fatalx("token create: %s", err);
	if (rc == DB_REFUSED) {
		OPENSSL_cleanse(tok, sizeof(tok));
		fprintf(stderr, "scepctl: a token called %s exists (revoked "
		    "tokens keep their name): choose another name\n", name);
		return 1;
	}
	printf("%s\n", tok);
	fprintf(stderr, "token %s created; it is shown only now.  Use it as "
	    "\"Authorization: Bearer <token>\", or as user %s and password "
	    "<token> for mscep_admin.\n", name, name);
	OPENSSL_cleanse(tok, sizeof(tok));
	return 0;
}

int
ctl_token_revoke(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	char		 who[96], err[256];
	const char	*name = token_name(argc, argv, "revoke");
	enum db_rc	 rc;

	db = ctl_connect(c);
	rc = db_token_revoke(db, name, ctl_actor(who, sizeof(who)), err,
	    sizeof(err));
	db_close(db);
	if (rc == DB_ERROR)
		fatalx("token revoke: %s", err);
	if (rc == DB_NOT_FOUND) {
		fprintf(stderr, "scepctl: no live token called %s\n", name);
		return 1;
	}
	printf("token %s revoked\n", name);
	return 0;
}

static const char *
when(time_t t, char *buf, size_t len)
{
	if (t == 0)
		return "-";
	return challenge_utc(t, buf, len);
}

static int
print_token(const struct db_token_row *r, void *arg)
{
	char	a[32], b[32], d[32];

	(void)arg;
	printf("%-24s %-20s %-20s %-20s %s\n", r->name,
	    when(r->created_at, a, sizeof(a)),
	    when(r->last_used_at, b, sizeof(b)),
	    when(r->revoked_at, d, sizeof(d)), r->created_by);
	return 0;
}

int
ctl_token_list(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	char		 err[256];

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: scepctl token list\n");
		return 2;
	}
	db = ctl_connect(c);
	printf("%-24s %-20s %-20s %-20s %s\n", "NAME", "CREATED", "LAST USED",
	    "REVOKED", "CREATED BY");
	if (db_token_list(db, print_token, NULL, err, sizeof(err)) ==
	    DB_ERROR)
		fatalx("token list: %s", err);
	db_close(db);
	return 0;
}

int
ctl_challenge_create(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "subject", required_argument, NULL, 's' },
		{ "san", required_argument, NULL, 'a' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf_profile	*p;
	struct api_mint		 m;
	struct db		*db;
	const char		*profile = "default";
	char			 chal[POLICY_CHALLENGE_LEN + 1], who[96];
	char			 err[256], exp_s[32], *end, **v;
	long long		 id;
	long			 ttl = 0;
	time_t			 exp;
	int			 ch, rc;

	memset(&m, 0, sizeof(m));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			profile = optarg;
			break;
		case 'd':
			free(m.device_id);
			if ((m.device_id = strdup(optarg)) == NULL)
				fatal("strdup");
			break;
		case 's':
			free(m.subject);
			if ((m.subject = strdup(optarg)) == NULL)
				fatal("strdup");
			break;
		case 'a':
			if (m.nsans == API_MAX_SANS)
				fatalx("at most %d --san", API_MAX_SANS);
			if ((v = realloc(m.sans, (m.nsans + 1) *
			    sizeof(*m.sans))) == NULL)
				fatal("realloc");
			m.sans = v;
			if ((m.sans[m.nsans] = strdup(optarg)) == NULL)
				fatal("strdup");
			m.nsans++;
			break;
		case 't':
			ttl = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || ttl < 1 ||
			    ttl > API_MAX_TTL)
				fatalx("--ttl is 1 to %d minutes", API_MAX_TTL);
			break;
		default:
			fprintf(stderr, "usage: scepctl challenge create "
			    "[--profile P] [--device ID] [--subject DN]\n"
			    "        [--san TYPE:VALUE]... [--ttl MINUTES]\n");
			exit(2);
		}
	}
	if (optind != argc)
		fatalx("challenge create: unexpected argument %s", argv[optind]);
	p = ctl_profile(c, profile);
	if (!policy_profile_has_mode(&p->policy, POLICY_CHALLENGE_DYNAMIC))
		fatalx("profile %s does not use one-time challenges (add "
		    "\"dynamic\" to its challenge_mode)", p->policy.name);
	m.ttl_minutes = ttl ? (int)ttl : p->policy.challenge_ttl_minutes;
	if (api_mint_check(&m, err, sizeof(err)) == -1)
		fatalx("challenge create: %s", err);
	db = ctl_connect(c);
	rc = challenge_mint(db, c, p, &m, m.ttl_minutes,
	    ctl_actor(who, sizeof(who)), chal, sizeof(chal), &id, &exp, err,
	    sizeof(err));
	db_close(db);
	if (rc == -1)
		fatalx("challenge create: %s", err);
	printf("%s\n", chal);
	fprintf(stderr, "challenge #%lld for profile %s, device %s, "
	    "expires %s\n", id, p->policy.name,
	    m.device_id ? m.device_id : "(any)",
	    challenge_utc(exp, exp_s, sizeof(exp_s)));
	OPENSSL_cleanse(chal, sizeof(chal));
	api_mint_clear(&m);
	return 0;
}
