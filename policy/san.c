/*
 * subjectAltName of the certificate.  Every GeneralName the CSR asks for
 * is checked against the profile's allow-list for its type and refused
 * (never silently dropped) when none matches or the type has no list:
 * x400Address, ediPartyName, directoryName, registeredID and otherNames
 * other than the UPN (reliability H-44; CVE-2023-0286, CVE-2020-1971:
 * we never compare such names, we refuse them).  A challenge bound to
 * SANs must be met exactly.  Then the template's own names are added.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"
#include "policy/san.h"
#include "policy/tmpl_util.h"

#define refuse	policy_tmpl_refuse

/* More names than any device needs; a bound on the work per request. */
#define SAN_MAX		64

/* A name for a log line: "DNS:host.example", escaped. */
static void
shown(const char *type, const unsigned char *s, size_t len, char *out,
    size_t outlen)
{
	char	buf[160];

	policy_tmpl_printable(s, len, buf, sizeof(buf));
	snprintf(out, outlen, "%s:%s", type, buf);
}

/* RFC 1034 3.5 preferred syntax (LDH labels); "*" only as the whole
 * leftmost label when wild. */
static int
dns_ok(const unsigned char *s, size_t len, int wild)
{
	size_t	i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (s[i] == '*') {
			if (!wild || i != 0 || (len > 1 && s[1] != '.'))
				return 0;
		} else if (!isalnum(s[i]) && s[i] != '-')
			return 0;
		else if (s[i] == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* Printable ASCII without spaces. */
static int
ascii_ok(const unsigned char *s, size_t len)
{
	if (len == 0 || len > TMPL_VALUE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
email_ok(const unsigned char *s, size_t len)
{
	const unsigned char	*at;

	if (!ascii_ok(s, len) || (at = memchr(s, '@', len)) == NULL ||
	    at == s || at - s > 64 ||
	    memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
		return 0;
	return dns_ok(at + 1, len - (size_t)(at - s) - 1, 0);
}

/* RFC 3986 3.1: scheme ":" ... */
static int
uri_ok(const unsigned char *s, size_t len)
{
	size_t	i;

	if (!ascii_ok(s, len) || !isalpha(s[0]))
		return 0;
	for (i = 1; i < len && s[i] != ':'; i++)
		if (!isalnum(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
			return 0;
	return i < len - 1;
}

static int
upn_ok(const unsigned char *s, size_t len)
{
	const unsigned char	*at;

	return len > 0 && len <= TMPL_VALUE_MAX &&
	    policy_tmpl_text_ok(s, len) && memchr(s, ' ', len) == NULL &&
	    (at = memchr(s, '@', len)) != NULL && at != s && at != s + len - 1;
}

/*
 * Does s (len bytes) match one of the shell patterns in l?  fold: ASCII
 * case-insensitive (DNS, e-mail, UPN); URIs are compared as they are.
 * With exact_only (a wildcard DNS name), only a pattern spelling the
 * very name allows it.
 */
static int
matches(const struct policy_list *l, const unsigned char *s, size_t len,
    int fold, int exact_only)
{
	char	name[TMPL_VALUE_MAX + 1], pat[TMPL_VALUE_MAX + 1];
	size_t	i, k, plen;

	if (len > TMPL_VALUE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		name[i] = fold ? (char)tolower(s[i]) : (char)s[i];
	name[len] = '\0';
	for (k = 0; k < l->n; k++) {
		if ((plen = strlen(l->v[k])) > TMPL_VALUE_MAX)
			continue;
		for (i = 0; i <= plen; i++)
			pat[i] = fold ? (char)tolower((unsigned char)l->v[k][i]) :
			    l->v[k][i];
		if (exact_only ? strcmp(pat, name) == 0 :
		    fnmatch(pat, name, 0) == 0)
			return 1;
	}
	return 0;
}

/*
 * The canonical text of a name, for comparing a CSR's names with a
 * binding's and with the template's: TYPE:value, DNS, e-mail and UPN in
 * lower case, IP addresses as inet_ntop writes them.  Only for the
 * types this file accepts.
 */
static int
canon(const GENERAL_NAME *gn, char *out, size_t outlen)
{
	const ASN1_STRING	*s;
	const char		*type;
	char			 ip[INET6_ADDRSTRLEN];
	int			 fold = 0, n;

	switch (gn->type) {
	case GEN_DNS:
		type = "DNS";
		s = gn->d.dNSName;
		fold = 1;
		break;
	case GEN_EMAIL:
		type = "EMAIL";
		s = gn->d.rfc822Name;
		fold = 1;
		break;
	case GEN_URI:
		type = "URI";
		s = gn->d.uniformResourceIdentifier;
		break;
	case GEN_OTHERNAME:
		type = "UPN";
		s = gn->d.otherName->value->value.utf8string;
		fold = 1;
		break;
	case GEN_IPADD:
		s = gn->d.iPAddress;
		if (inet_ntop(s->length == 4 ? AF_INET : AF_INET6, s->data, ip,
		    sizeof(ip)) == NULL)
			return -1;
		n = snprintf(out, outlen, "IP:%s", ip);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	default:
		return -1;
	}
	if (strlen(type) + 1 + (size_t)s->length >= outlen)
		return -1;
	n = snprintf(out, outlen, "%s:", type);
	for (int i = 0; i < s->length; i++)
		out[n++] = fold ? (char)tolower(s->data[i]) : (char)s->data[i];
	out[n] = '\0';
	return 0;
}

/*
 * Check one GeneralName of the CSR against the template; an Intune SID
 * URI sets *sid (owned) to its SID.
 */
static int
check_name(const struct policy_template *t, const GENERAL_NAME *gn,
    char **sid, char *reason, size_t reasonlen)
{
	const ASN1_STRING	*s;
	const char		*what;
	char			 txt[200], oid[64];
	size_t			 plen = strlen(TMPL_SID_URI_PREFIX);
	int			 wild;

	switch (gn->type) {
	case GEN_DNS:
		s = gn->d.dNSName;
		wild = s->length > 0 &&
		    memchr(s->data, '*', (size_t)s->length) != NULL;
		shown("DNS", s->data, (size_t)s->length, txt, sizeof(txt));
		if (!dns_ok(s->data, (size_t)s->length, 1))
			return refuse(reason, reasonlen, "SAN %s is not a valid "
			    "DNS name", txt);
		if (!matches(&t->san_dns, s->data, (size_t)s->length, 1, wild))
			return refuse(reason, reasonlen, "SAN %s is not allowed "
			    "by the profile's san_dns%s", txt, wild ?
			    " (a wildcard name must be listed as it is)" : "");
		return 0;
	case GEN_EMAIL:
		s = gn->d.rfc822Name;
		shown("email", s->data, (size_t)s->length, txt, sizeof(txt));
		if (!email_ok(s->data, (size_t)s->length))
			return refuse(reason, reasonlen, "SAN %s is not a valid "
			    "e-mail address", txt);
		if (!matches(&t->san_email, s->data, (size_t)s->length, 1, 0))
			return refuse(reason, reasonlen, "SAN %s is not allowed "
			    "by the profile's san_email", txt);
		return 0;
	case GEN_URI:
		s = gn->d.uniformResourceIdentifier;
		shown("URI", s->data, (size_t)s->length, txt, sizeof(txt));
		if (!uri_ok(s->data, (size_t)s->length))
			return refuse(reason, reasonlen, "SAN %s is not a valid "
			    "URI", txt);
		if (!matches(&t->san_uri, s->data, (size_t)s->length, 0, 0))
			return refuse(reason, reasonlen, "SAN %s is not allowed "
			    "by the profile's san_uri", txt);
		if ((size_t)s->length > plen &&
		    strncasecmp((const char *)s->data, TMPL_SID_URI_PREFIX,
		    plen) == 0) {
			char	 buf[200];
			size_t	 n = (size_t)s->length - plen;

			if (n >= sizeof(buf))
				return refuse(reason, reasonlen, "SAN %s: SID too "
				    "long", txt);
			memcpy(buf, s->data + plen, n);
			buf[n] = '\0';
			if (!policy_tmpl_sid_ok(buf))
				return refuse(reason, reasonlen, "SAN %s: "
				    "malformed SID", txt);
			if (*sid != NULL && strcmp(*sid, buf) != 0)
				return refuse(reason, reasonlen, "the CSR names "
				    "two different SIDs");
			if (*sid == NULL && (*sid = strdup(buf)) == NULL)
				return -1;
		}
		return 0;
	case GEN_IPADD:
		s = gn->d.iPAddress;
		if (s->length != 4 && s->length != 16)
			return refuse(reason, reasonlen, "SAN IP address of %d "
			    "bytes", s->length);
		if (!t->san_ip) {
			canon(gn, txt, sizeof(txt));
			return refuse(reason, reasonlen, "SAN %s: the profile "
			    "allows no IP addresses", txt);
		}
		return 0;
	case GEN_OTHERNAME:
		if (OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn &&
		    gn->d.otherName->value != NULL &&
		    gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
			s = gn->d.otherName->value->value.utf8string;
			shown("UPN", s->data, (size_t)s->length, txt,
			    sizeof(txt));
			if (!upn_ok(s->data, (size_t)s->length))
				return refuse(reason, reasonlen, "SAN %s is not "
				    "a valid user principal name", txt);
			if (!matches(&t->san_upn, s->data, (size_t)s->length,
			    1, 0))
				return refuse(reason, reasonlen, "SAN %s is not "
				    "allowed by the profile's san_upn", txt);
			return 0;
		}
		OBJ_obj2txt(oid, sizeof(oid), gn->d.otherName->type_id, 1);
		return refuse(reason, reasonlen, "SAN otherName %s is not "
		    "accepted (only the UPN as UTF8String)", oid);
	case GEN_X400:
		what = "x400Address";
		break;
	case GEN_DIRNAME:
		what = "directoryName";
		break;
	case GEN_EDIPARTY:
		what = "ediPartyName";
		break;
	case GEN_RID:
		what = "registeredID";
		break;
	default:
		what = "unknown";
		break;
	}
	return refuse(reason, reasonlen, "SAN of type %s is not accepted", what);
}

/*
 * A GeneralName from "DNS:x", "IP:1.2.3.4", "email:x@y", "URI:...",
 * "UPN:x@y" (type case-insensitive), checked for syntax.  what names
 * the source in reasons.
 */
static int
name_from_text(const char *text, const char *what, GENERAL_NAME **out,
    char *reason, size_t reasonlen)
{
	static const struct {
		const char	*prefix;
		int		 type;
	} types[] = {
		{ "DNS:", GEN_DNS }, { "IP:", GEN_IPADD }, { "email:", GEN_EMAIL },
		{ "URI:", GEN_URI }, { "UPN:", GEN_OTHERNAME },
	};
	GENERAL_NAME		*gn = NULL;
	ASN1_STRING		*s = NULL;
	ASN1_TYPE		*any = NULL;
	const unsigned char	*v = NULL;
	char			 txt[200];
	size_t			 len, i;
	int			 type = -1, ok, rc = -1;

	*out = NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncasecmp(text, types[i].prefix,
		    strlen(types[i].prefix)) == 0) {
			type = types[i].type;
			v = (const unsigned char *)text + strlen(types[i].prefix);
		}
	policy_tmpl_printable((const unsigned char *)text, strlen(text), txt,
	    sizeof(txt));
	if (type == -1)
		return refuse(reason, reasonlen, "%s \"%s\" is not DNS:, IP:, "
		    "email:, URI: or UPN:", what, txt);
	len = strlen((const char *)v);
	switch (type) {
	case GEN_DNS:
		ok = dns_ok(v, len, 0);
		break;
	case GEN_EMAIL:
		ok = email_ok(v, len);
		break;
	case GEN_URI:
		ok = uri_ok(v, len);
		break;
	case GEN_OTHERNAME:
		ok = upn_ok(v, len);
		break;
	default:
		ok = (s = a2i_IPADDRESS((const char *)v)) != NULL;
		break;
	}
	if (!ok) {
		rc = refuse(reason, reasonlen, "%s \"%s\" is not a valid name",
		    what, txt);
		goto out;
	}
	if ((gn = GENERAL_NAME_new()) == NULL)
		goto out;
	if (type == GEN_IPADD) {
		GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
		s = NULL;
	} else if (type == GEN_OTHERNAME) {
		if ((s = ASN1_UTF8STRING_new()) == NULL ||
		    ASN1_STRING_set(s, v, (int)len) != 1 ||
		    (any = ASN1_TYPE_new()) == NULL)
			goto out;
		ASN1_TYPE_set(any, V_ASN1_UTF8STRING, s);
		s = NULL;
		/* OBJ_nid2obj's object is static: freeing it is a no-op. */
		if (GENERAL_NAME_set0_othername(gn, OBJ_nid2obj(NID_ms_upn),
		    any) != 1)
			goto out;
		any = NULL;
	} else {
		if ((s = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(s, v, (int)len) != 1)
			goto out;
		GENERAL_NAME_set0_value(gn, type, s);
		s = NULL;
	}
	*out = gn;
	gn = NULL;
	rc = 0;
out:
	ASN1_TYPE_free(any);
	ASN1_STRING_free(s);
	GENERAL_NAME_free(gn);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names a challenge was issued for, against the CSR's: the same set
 * (order-insensitive, DNS/e-mail/UPN case-insensitive), else refused.
 */
static int
check_bound(const struct policy_list *want, const GENERAL_NAMES *req,
    char *reason, size_t reasonlen)
{
	GENERAL_NAME	*gn = NULL;
	char		**a = NULL, **b = NULL, buf[TMPL_VALUE_MAX + 16];
	size_t		 na = 0, nb = 0, i;
	int		 r, rc = -1;

	nb = req != NULL ? (size_t)sk_GENERAL_NAME_num(req) : 0;
	if ((a = calloc(want->n + 1, sizeof(*a))) == NULL ||
	    (b = calloc(nb + 1, sizeof(*b))) == NULL)
		goto out;
	for (i = 0; i < want->n; i++) {
		if ((r = name_from_text(want->v[i], "the expected SAN", &gn,
		    reason, reasonlen)) != 0) {
			rc = r;
			goto out;
		}
		if (canon(gn, buf, sizeof(buf)) == -1 ||
		    (a[na++] = strdup(buf)) == NULL)
			goto out;
		GENERAL_NAME_free(gn);
		gn = NULL;
	}
	for (i = 0; i < nb; i++)
		if (canon(sk_GENERAL_NAME_value(req, (int)i), buf,
		    sizeof(buf)) == -1 || (b[i] = strdup(buf)) == NULL)
			goto out;
	qsort(a, na, sizeof(*a), cmp_str);
	qsort(b, nb, sizeof(*b), cmp_str);
	rc = 0;
	for (i = 0; rc == 0 && i < (na > nb ? na : nb); i++)
		if (i >= na || i >= nb || strcmp(a[i], b[i]) != 0) {
			policy_tmpl_printable((const unsigned char *)
			    (i < nb ? b[i] : a[i]), strlen(i < nb ? b[i] : a[i]),
			    buf, 160);
			rc = refuse(reason, reasonlen, "the CSR's SANs are not "
			    "the ones the challenge was issued for (%s %s)",
			    i < nb ? "unexpected" : "missing", buf);
		}
out:
	GENERAL_NAME_free(gn);
	for (i = 0; a != NULL && i < want->n; i++)
		free(a[i]);
	for (i = 0; b != NULL && i < nb; i++)
		free(b[i]);
	free(a);
	free(b);
	return rc;
}

/*
 * The CSR's subjectAltName, or NULL when it has none.  A CSR with an
 * extensionRequest that does not decode, two SAN extensions, trailing
 * bytes or an empty SAN is refused (H-45).
 */
static int
csr_sans(X509_REQ *csr, GENERAL_NAMES **out, char *reason, size_t reasonlen)
{
	STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*ext;
	GENERAL_NAMES			*gens = NULL;
	const ASN1_OCTET_STRING		*data;
	int				 idx, n, has_attr, rc = -1;

	*out = NULL;
	has_attr = X509_REQ_get_attr_by_NID(csr, NID_ext_req, -1) >= 0 ||
	    X509_REQ_get_attr_by_NID(csr, NID_ms_ext_req, -1) >= 0;
	if ((exts = X509_REQ_get_extensions(csr)) == NULL)
		return has_attr ? refuse(reason, reasonlen, "the CSR's "
		    "extensionRequest cannot be decoded") : 0;
	if ((idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1)) < 0) {
		rc = 0;
		goto out;
	}
	if (X509v3_get_ext_by_NID(exts, NID_subject_alt_name, idx) >= 0) {
		rc = refuse(reason, reasonlen, "the CSR has two subjectAltName "
		    "extensions");
		goto out;
	}
	ext = X509v3_get_ext(exts, idx);
	data = X509_EXTENSION_get_data(ext);
	if ((gens = X509V3_EXT_d2i(ext)) == NULL ||
	    i2d_GENERAL_NAMES(gens, NULL) != ASN1_STRING_length(data)) {
		rc = refuse(reason, reasonlen, "the CSR's subjectAltName cannot "
		    "be decoded");
		goto out;
	}
	if ((n = sk_GENERAL_NAME_num(gens)) == 0) {
		rc = refuse(reason, reasonlen, "the CSR's subjectAltName is "
		    "empty");
		goto out;
	}
	if (n > SAN_MAX) {
		rc = refuse(reason, reasonlen, "the CSR asks for %d SANs (at "
		    "most %d)", n, SAN_MAX);
		goto out;
	}
	*out = gens;
	gens = NULL;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
policy_san_plan(const struct policy_template *t, X509_REQ *csr,
    const struct tmpl_vars *vars, GENERAL_NAMES **out, char **sid,
    char *reason, size_t reasonlen)
{
	GENERAL_NAMES	*req = NULL, *res = NULL;	/* owned */
	GENERAL_NAME	*gn = NULL;			/* owned */
	char		 val[TMPL_VALUE_MAX + 1], sub[200];
	char		 c1[TMPL_VALUE_MAX + 16], c2[TMPL_VALUE_MAX + 16];
	size_t		 i;
	int		 j, dup, rc;

	*out = NULL;
	*sid = NULL;
	if ((rc = csr_sans(csr, &req, reason, reasonlen)) != 0)
		goto out;
	for (j = 0; j < sk_GENERAL_NAME_num(req); j++)
		if ((rc = check_name(t, sk_GENERAL_NAME_value(req, j), sid,
		    reason, reasonlen)) != 0)
			goto out;
	if (vars->b != NULL && vars->b->sans.n > 0 &&
	    (rc = check_bound(&vars->b->sans, req, reason, reasonlen)) != 0)
		goto out;

	rc = -1;
	if ((res = GENERAL_NAMES_new()) == NULL)
		goto out;
	for (j = 0; j < sk_GENERAL_NAME_num(req); j++) {
		if ((gn = GENERAL_NAME_dup(sk_GENERAL_NAME_value(req, j))) ==
		    NULL || !sk_GENERAL_NAME_push(res, gn))
			goto out;
		gn = NULL;
	}
	for (i = 0; i < t->san_add.n; i++) {
		if ((rc = policy_tmpl_expand(t->san_add.v[i],
		    strlen(t->san_add.v[i]), vars, val, sizeof(val), sub,
		    sizeof(sub))) != 0) {
			if (rc == 1)
				refuse(reason, reasonlen, "san_add: %s", sub);
			goto out;
		}
		if ((rc = name_from_text(val, "san_add", &gn, reason,
		    reasonlen)) != 0)
			goto out;
		rc = -1;
		if (canon(gn, c1, sizeof(c1)) == -1)
			goto out;
		dup = 0;
		for (j = 0; j < sk_GENERAL_NAME_num(res); j++)
			if (canon(sk_GENERAL_NAME_value(res, j), c2,
			    sizeof(c2)) == 0 && strcmp(c1, c2) == 0)
				dup = 1;
		if (!dup) {
			if (!sk_GENERAL_NAME_push(res, gn))
				goto out;
			gn = NULL;
		}
		GENERAL_NAME_free(gn);
		gn = NULL;
	}
	if (sk_GENERAL_NAME_num(res) > 0) {
		*out = res;
		res = NULL;
	}
	rc = 0;
out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(res);
	GENERAL_NAMES_free(req);
	if (rc != 0) {
		free(*sid);
		*sid = NULL;
	}
	return rc;
}

/*
 * Length of the bracket expression at p ("[a-z]", "[!]x]", "[[:alpha:]]")
 * as fnmatch() reads it, or 0 if it is not closed: then '[' is a literal.
 */
static size_t
bracket_len(const char *p)
{
	size_t	i = 1;

	if (p[i] == '!' || p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] != '\0' && p[i] != ']') {
		if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' ||
		    p[i + 1] == '=')) {
			char		 end[3] = { p[i + 1], ']', '\0' };
			const char	*e = strstr(p + i + 2, end);

			if (e == NULL)
				return 0;
			i = (size_t)(e - p) + 2;
		} else
			i++;
	}
	return p[i] == ']' ? i + 1 : 0;
}

/*
 * Can pattern pat (fnmatch(), no flags, as matches() uses it for URIs)
 * match some string longer than prefix that starts with prefix in any
 * letter case (check_name() recognises the SID URI so)?  Runs the
 * pattern as a set of positions over the prefix; a position left
 * before the pattern's end can then take a SID.
 */
static int
may_extend_prefix(const char *pat, const char *prefix)
{
	size_t	 n = strlen(pat), step;
	char	*on = NULL, *next = NULL;	/* owned: positions alive */
	int	 rc = 1;			/* on error: assume it can */

	if ((on = calloc(n + 1, 1)) == NULL ||
	    (next = calloc(n + 1, 1)) == NULL)
		goto out;
	on[0] = 1;
	for (const char *c = prefix; ; c++) {
		/* A '*' may match nothing: what follows it is alive too. */
		for (size_t j = 0; j < n; j++)
			if (on[j] && pat[j] == '*')
				on[j + 1] = 1;
		if (*c == '\0')
			break;
		memset(next, 0, n + 1);
		for (size_t j = 0; j < n; j++) {
			char	one[2] = { *c, '\0' }, other[2] = { 0, 0 };

			if (!on[j])
				continue;
			other[0] = isupper((unsigned char)*c) ?
			    (char)tolower((unsigned char)*c) :
			    (char)toupper((unsigned char)*c);
			step = 1;
			if (pat[j] == '*') {
				next[j] = 1;
				continue;
			} else if (pat[j] == '?')
				;
			else if (pat[j] == '[' &&
			    (step = bracket_len(pat + j)) > 0) {
				char	br[TMPL_VALUE_MAX + 1];

				if (step > TMPL_VALUE_MAX)
					goto out;
				memcpy(br, pat + j, step);
				br[step] = '\0';
				if (fnmatch(br, one, 0) != 0 &&
				    fnmatch(br, other, 0) != 0)
					continue;
			} else {
				char	lit = pat[j];

				step = 1;
				if (lit == '\\' && pat[j + 1] != '\0') {
					lit = pat[j + 1];
					step = 2;
				}
				if (lit != one[0] && lit != other[0])
					continue;
			}
			next[j + step] = 1;
		}
		memcpy(on, next, n + 1);
	}
	/* Alive at the end of the pattern: only the bare prefix matches. */
	rc = 0;
	for (size_t j = 0; j < n; j++)
		if (on[j])
			rc = 1;
out:
	free(on);
	free(next);
	return rc;
}

/*
 * Does the san_add entry v put a SID URI into the certificate that the
 * CSR's names decide ("URI:tag:...:sid:{csr.cn}", "URI:{csr.cn}"; also
 * through {device_id} when template.device_id comes from the CSR)?  The
 * text before the first such variable must be able to begin a SID URI.
 */
static int
san_add_sid_from_csr(const struct policy_template *t, const char *v)
{
	const char	*var, *dev, *u = v + 4;
	size_t		 plen = strlen(TMPL_SID_URI_PREFIX), lit;

	if (strncasecmp(v, "URI:", 4) != 0)
		return 0;
	var = strstr(u, "{csr.");
	if (t->device_id != NULL && strstr(t->device_id, "{csr.") != NULL &&
	    (dev = strstr(u, "{device_id}")) != NULL &&
	    (var == NULL || dev < var))
		var = dev;
	if (var == NULL)
		return 0;
	lit = (size_t)(var - u);
	return strncasecmp(u, TMPL_SID_URI_PREFIX,
	    lit < plen ? lit : plen) == 0;
}

int
policy_sid_from_csr(const struct policy_profile *p, const char **setting,
    char *why, size_t whylen)
{
	const struct policy_template	*t = &p->tmpl;
	const char			*unvouched = NULL;
	char				 what[TMPL_VALUE_MAX + 128];

	*setting = NULL;
	if (t->sid_from_csr_acknowledged)
		return 0;
	for (size_t i = 0; i < t->san_uri.n && *setting == NULL; i++)
		if (may_extend_prefix(t->san_uri.v[i], TMPL_SID_URI_PREFIX)) {
			*setting = "template.san_uri";
			snprintf(what, sizeof(what), "\"%s\" lets the CSR name "
			    "a SID (%s<SID>)", t->san_uri.v[i],
			    TMPL_SID_URI_PREFIX);
		}
	for (size_t i = 0; i < t->san_add.n && *setting == NULL; i++)
		if (san_add_sid_from_csr(t, t->san_add.v[i])) {
			*setting = "template.san_add";
			snprintf(what, sizeof(what), "\"%s\" writes a SID URI "
			    "the CSR's names decide", t->san_add.v[i]);
		}
	if (*setting == NULL)
		return 0;
	/* Only a validator that saw the CSR vouches for its names. */
	for (size_t i = 0; i < p->nchallenge_modes && unvouched == NULL; i++)
		if (p->challenge_modes[i] != POLICY_CHALLENGE_WEBHOOK &&
		    p->challenge_modes[i] != POLICY_CHALLENGE_INTUNE)
			unvouched = policy_challenge_mode_name(
			    p->challenge_modes[i]);
	if (unvouched != NULL)
		snprintf(why, whylen, "%s and challenge mode \"%s\" does not "
		    "vouch for the CSR: whoever has the challenge gets a "
		    "certificate a domain controller maps to any account "
		    "(KB5014754)", what, unvouched);
	else if (p->renewal.enabled)
		snprintf(why, whylen, "%s and renewal.enabled: a renewal is "
		    "authenticated by the old certificate alone, no validator "
		    "sees its CSR, so its holder gets a certificate a domain "
		    "controller maps to any account (KB5014754)", what);
	else {
		*setting = NULL;
		return 0;
	}
	return 1;
}
