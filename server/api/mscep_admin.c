/*
 * The NDES-style mscep_admin page:
 *
 *   GET /certsrv/mscep_admin/[?profile=P]	(the path NDES serves)
 *   GET <base>/mscep_admin/, <base>/<profile>/mscep_admin/
 *	HTTP Basic with a token's name and the token.  The page MDMs
 *	scrape ("Dynamic-Microsoft CA" in Jamf, zentral, Okta's generic
 *	mode): "The enrollment challenge password is: <B> X </B>", in
 *	UTF-16LE with a BOM as NDES sends it, or ?charset=utf-8 for
 *	scrapers that read it as an 8-bit page (Okta's shape).
 *
 * Every call logs one line; neither the token nor the challenge is ever
 * logged, and every mint writes an audit row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>

#include "server/api/api_common.h"
#include "server/api/api_parse.h"
#include "server/api/challenge_mint.h"
#include "server/api/mscep_admin.h"
#include "server/log.h"

#define NDES_PATH	"/certsrv/mscep_admin"
#define MSCEP_SUFFIX	"/mscep_admin"

#define BASIC_CHALLENGE		"Basic realm=\"scepd\", charset=\"UTF-8\""

/*
 * The NDES page around the challenge, in ASCII.  The sentence with the
 * password is the part scrapers match (zentral's microsoft_ca.py:
 * "challenge password is: <B> ([A-Z0-9]{16,32}) </B>").
 */
static char *
mscep_page(const char *charset, const char *chal, int ttl)
{
	static const char	 fmt[] =
	    "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" "
	    "Content=\"text/html; charset=%s\">\r\n"
	    "<Title>Network Device Enrollment Service</Title></Head>\r\n"
	    "<Body BgColor=#FFFFFF><Font ID=locPageFont Face=\"Arial\">\r\n"
	    "<P ID=locPageTitle> <Font Size=+1><B>Network Device Enrollment "
	    "Service</B></Font>\r\n"
	    "<P> Network Device Enrollment Service allows you to obtain "
	    "certificates for routers or other network devices using the "
	    "Simple Certificate Enrollment Protocol (SCEP).\r\n"
	    "<P> To complete certificate enrollment for your network device "
	    "you will need the following information:\r\n"
	    "<P> The enrollment challenge password is: <B> %s </B>\r\n"
	    "<P> This password can be used only once and will expire within "
	    "%d minutes.\r\n"
	    "<P> Each enrollment requires a new challenge password. To obtain "
	    "a new challenge password, refresh this web page.\r\n"
	    "</Font></Body></HTML>\r\n";
	char	*s;
	int	 n;

	if ((n = snprintf(NULL, 0, fmt, charset, chal, ttl)) < 0 ||
	    (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	(void)snprintf(s, (size_t)n + 1, fmt, charset, chal, ttl);
	return s;
}

/* ASCII s as UTF-16LE with a byte order mark; *len set.  Owned. */
static unsigned char *
utf16le(const char *s, size_t *len)
{
	unsigned char	*u;
	size_t		 i, n = strlen(s);

	if ((u = malloc(2 + 2 * n)) == NULL)
		return NULL;
	u[0] = 0xff;
	u[1] = 0xfe;
	for (i = 0; i < n; i++) {
		u[2 + 2 * i] = (unsigned char)s[i];
		u[3 + 2 * i] = 0;
	}
	*len = 2 + 2 * n;
	return u;
}

/* GET mscep_admin for profile name (NULL: ?profile= or the default). */
static void
mscep_admin(struct worker *w, const struct request *rq, const char *name,
    size_t namelen, const char *path, const char *peer, struct reply *r)
{
	struct evkeyvalq	 q;
	struct conf_profile	*p;
	const char		*h, *qs, *cs, *charset = NULL;
	char			 user[API_NAME_MAX + 1], pass[128];
	char			 who[API_NAME_MAX + 1], actor[80], err[256] = "";
	char			 chal[POLICY_CHALLENGE_LEN + 1], exp_s[32];
	char			*page = NULL;
	unsigned char		*body;
	long long		 id = 0;
	time_t			 exp;
	int			 rc, utf8 = 0;

	/* Zeroed is an empty list to evhttp_find_header and clear. */
	memset(&q, 0, sizeof(q));
	chal[0] = pass[0] = '\0';
	if (rq->method != EVHTTP_REQ_GET) {
		log_info("%s %s: method not allowed -> 405", peer, path);
		r->allow = "GET";
		reply_text(r, 405, "only GET\n");
		goto out;
	}
	if ((qs = rq->query) != NULL &&
	    evhttp_parse_query_str(qs, &q) == -1) {
		log_info("%s %s: malformed query string -> 400", peer, path);
		reply_text(r, 400, "malformed query string\n");
		goto out;
	}
	h = rq->authorization;
	if (h == NULL || api_parse_basic(h, user, sizeof(user), pass,
	    sizeof(pass)) == -1 || !api_name_valid(user)) {
		log_info("%s GET %s: no or malformed credentials -> 401", peer,
		    path);
		reply_text(r, 401, "authentication required\n");
		r->www_authenticate = BASIC_CHALLENGE;
		goto out;
	}
	if ((rc = api_token_auth(w, pass, who, sizeof(who), err, sizeof(err))) ==
	    -1) {
		log_warnx("%s GET %s: database: %s -> 503", peer, path, err);
		reply_text(r, 503, "database unavailable, retry later\n");
		goto out;
	}
	/* The user name must be the token's own name. */
	if (rc == 1 || strcmp(who, user) != 0) {
		log_info("%s GET %s: user %s: wrong, unknown or revoked token "
		    "-> 401", peer, path, user);
		reply_text(r, 401, "authentication required\n");
		r->www_authenticate = BASIC_CHALLENGE;
		goto out;
	}
	if (name == NULL) {
		name = evhttp_find_header(&q, "profile");
		namelen = name != NULL ? strlen(name) : 0;
		if (name == NULL)
			name = "";
	}
	if ((cs = evhttp_find_header(&q, "charset")) != NULL) {
		if (strcasecmp(cs, "utf-8") == 0)
			utf8 = 1;
		else if (strcasecmp(cs, "utf-16") != 0) {
			log_info("%s GET %s: charset must be utf-16 or utf-8 "
			    "-> 400", peer, path);
			reply_text(r, 400, "charset must be utf-16 or utf-8\n");
			goto out;
		}
	}
	if ((p = conf_profile(w->srv->conf, name, namelen)) == NULL) {
		log_info("%s GET %s: user %s: no such profile -> 404", peer,
		    path, who);
		reply_text(r, 404, "no such profile\n");
		goto out;
	}
	if (!challenge_mintable(p)) {
		log_info("%s GET %s: user %s: profile %s does not use one-time "
		    "challenges -> 409", peer, path, who, p->policy.name);
		reply_text(r, 409, "this profile does not use one-time "
		    "challenges\n");
		goto out;
	}
	snprintf(actor, sizeof(actor), "mscep_admin:%s", who);
	if (challenge_mint(w->db, w->srv->conf, p, NULL,
	    p->policy.challenge_ttl_minutes, actor, chal, sizeof(chal), &id,
	    &exp, err, sizeof(err)) == -1) {
		log_warnx("%s GET %s: user %s: cannot mint: %s -> 503", peer,
		    path, who, err);
		reply_text(r, 503, "cannot store the challenge, retry later\n");
		goto out;
	}
	charset = utf8 ? "utf-8" : "utf-16";
	if ((page = mscep_page(charset, chal,
	    p->policy.challenge_ttl_minutes)) == NULL) {
		reply_text(r, 500, "internal error\n");
		goto out;
	}
	if (utf8) {
		r->body = (unsigned char *)page;
		r->len = strlen(page);
		page = NULL;
		r->content_type = "text/html; charset=utf-8";
	} else {
		if ((body = utf16le(page, &r->len)) == NULL) {
			reply_text(r, 500, "internal error\n");
			goto out;
		}
		r->body = body;
		r->content_type = "text/html; charset=utf-16";
	}
	r->status = 200;
	r->free_body = 2;
	challenge_utc(exp, exp_s, sizeof(exp_s));
	log_info("%s GET %s: user %s minted challenge #%lld for profile %s, "
	    "expires %s -> 200", peer, path, who, id, p->policy.name, exp_s);
out:
	if (page != NULL) {
		OPENSSL_cleanse(page, strlen(page));
		free(page);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(chal, sizeof(chal));
	evhttp_clear_headers(&q);
}

/*
 * If path is an mscep_admin path, 1 with the profile it names in
 * *name and *namelen (*name NULL: from ?profile=, else the default).
 */
static int
mscep_route(const struct conf *c, const char *path, const char **name,
    size_t *namelen)
{
	size_t		 n = strlen(path), b = strlen(c->base_path);
	size_t		 s = strlen(MSCEP_SUFFIX);
	const char	*rest;

	*name = NULL;
	*namelen = 0;
	if (strcmp(path, NDES_PATH) == 0 || strcmp(path, NDES_PATH "/") == 0 ||
	    strcmp(path, NDES_PATH "/default.asp") == 0)
		return 1;
	/* <base>[/<profile>]/mscep_admin[/] */
	if (n > 0 && path[n - 1] == '/')
		n--;
	if (strncmp(path, c->base_path, b) != 0 || n < b + s ||
	    strncmp(path + n - s, MSCEP_SUFFIX, s) != 0)
		return 0;
	rest = path + b;
	if (rest == path + n - s) {
		*name = "";
		return 1;
	}
	if (rest[0] != '/' || path + n - s <= rest + 1 ||
	    memchr(rest + 1, '/', (size_t)(path + n - s - rest - 1)) != NULL)
		return 0;
	*name = rest + 1;
	*namelen = (size_t)(path + n - s - rest - 1);
	return 1;
}

int
mscep_handle(struct worker *w, const struct request *rq, struct reply *r)
{
	const char	*name;
	size_t		 namelen;

	if (rq->path == NULL || !mscep_route(w->srv->conf, rq->path, &name,
	    &namelen))
		return 0;
	if (reply_to_pool(w, r))
		return 1;
	reply_header(r, "Cache-Control", "no-store");
	mscep_admin(w, rq, name, namelen, rq->path, rq->peer, r);
	return 1;
}
