/*
 * The template engine's shared pieces, used by template.c (subject, key,
 * validity, EKU) and san.c (subjectAltName): refusals, variable
 * expansion, text checks.  They depend on neither file.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"
#include "policy/tmpl_util.h"

int
policy_tmpl_refuse(char *reason, size_t len, const char *fmt, ...)
{
	va_list	ap;

	if (len > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, len, fmt, ap);
		va_end(ap);
	}
	return 1;
}
#define refuse	policy_tmpl_refuse

int
policy_tmpl_text_ok(const unsigned char *s, size_t len)
{
	unsigned long	cp;
	size_t		i = 0, n, k;

	while (i < len) {
		if (s[i] < 0x80) {
			cp = s[i];
			n = 1;
		} else if ((s[i] & 0xe0) == 0xc0) {
			cp = s[i] & 0x1f;
			n = 2;
		} else if ((s[i] & 0xf0) == 0xe0) {
			cp = s[i] & 0x0f;
			n = 3;
		} else if ((s[i] & 0xf8) == 0xf0) {
			cp = s[i] & 0x07;
			n = 4;
		} else
			return 0;
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode. */
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		/* C0, DEL, C1, and what can reorder or split a log line. */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
		    cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return 0;
		i += n;
	}
	return 1;
}

void
policy_tmpl_printable(const unsigned char *s, size_t len, char *out,
    size_t outlen)
{
	size_t	o = 0, i;

	if (outlen == 0)
		return;
	for (i = 0; i < len; i++) {
		char	tmp[8];
		size_t	n;

		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			tmp[0] = (char)s[i];
			n = 1;
		} else
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
		/* Keep room for "..." and the NUL. */
		if (o + n + 4 > outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (i < len && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Parse decimal digits at *p, at most max, no leading zero. */
static int
sid_number(const char **p, unsigned long long max)
{
	unsigned long long	v = 0;
	const char		*s = *p;

	if (!isdigit((unsigned char)s[0]) ||
	    (s[0] == '0' && isdigit((unsigned char)s[1])))
		return 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (max - (unsigned)(*s - '0')) / 10)
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*p = s;
	return 1;
}

int
policy_tmpl_sid_ok(const char *s)
{
	int	subs = 0;

	/* MS-DTYP 2.4.2.1: revision 1, a 48-bit authority, 1..15 RIDs. */
	if (s == NULL || strncmp(s, "S-1-", 4) != 0)
		return 0;
	s += 4;
	if (!sid_number(&s, 0xffffffffffffULL))
		return 0;
	while (*s == '-') {
		s++;
		if (!sid_number(&s, 0xffffffffULL) || ++subs > 15)
			return 0;
	}
	return *s == '\0' && subs >= 1;
}

/* The only value of nid in name, as UTF-8 text; refuses none or several. */
static int
csr_attr(const X509_NAME *name, int nid, const char *var, char *out,
    size_t outlen, char *reason, size_t reasonlen)
{
	const ASN1_STRING	*data;
	unsigned char		*u = NULL;
	int			 idx = -1, found = -1, count = 0, len, rc = 1;

	while ((idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0) {
		found = idx;
		count++;
	}
	if (count == 0)
		return refuse(reason, reasonlen, "template variable {%s} has "
		    "no value: the CSR subject has no %s", var, OBJ_nid2sn(nid));
	if (count > 1)
		return refuse(reason, reasonlen, "template variable {%s} is "
		    "ambiguous: the CSR subject has %d %s values", var, count,
		    OBJ_nid2sn(nid));
	data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, found));
	if ((len = ASN1_STRING_to_UTF8(&u, data)) < 0)
		return refuse(reason, reasonlen, "template variable {%s}: the "
		    "CSR's %s is not readable text", var, OBJ_nid2sn(nid));
	if ((size_t)len >= outlen)
		refuse(reason, reasonlen, "template variable {%s} is too long",
		    var);
	else {
		memcpy(out, u, (size_t)len);
		out[len] = '\0';
		rc = 0;
	}
	OPENSSL_free(u);
	return rc;
}

int
policy_tmpl_name_rfc2253(const X509_NAME *name, char *out, size_t outlen,
    char *reason, size_t reasonlen)
{
	BIO	*bio;
	char	*data;
	long	 n;
	int	 rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (X509_NAME_print_ex(bio, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		rc = refuse(reason, reasonlen, "template variable "
		    "{csr.subject} has no value: the CSR subject is empty");
	else if ((size_t)n >= outlen)
		rc = refuse(reason, reasonlen, "template variable "
		    "{csr.subject} is too long");
	else {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		rc = 0;
	}
out:
	BIO_free(bio);
	return rc;
}

/* The value of variable var (len bytes) into out. */
static int
lookup_var(const char *var, size_t len, const struct tmpl_vars *v, char *out,
    size_t outlen, char *reason, size_t reasonlen)
{
	const struct policy_binding	*b = v->b;
	const char			*val = NULL;
	char				 name[72];

	if (len == 0 || len >= sizeof(name)) {
		policy_tmpl_printable((const unsigned char *)var, len, name,
		    sizeof(name));
		return refuse(reason, reasonlen, "template variable {%s} is "
		    "not known", name);
	}
	memcpy(name, var, len);
	name[len] = '\0';
	if (v->check && (strcmp(name, "csr.cn") == 0 ||
	    strcmp(name, "csr.o") == 0 || strcmp(name, "csr.ou") == 0 ||
	    strcmp(name, "csr.subject") == 0 || strcmp(name, "device_id") == 0 ||
	    (strncmp(name, "var.", 4) == 0 && name[4] != '\0'))) {
		snprintf(out, outlen, "x");
		return 0;
	}
	if (v->check && strcmp(name, "sid") == 0) {
		snprintf(out, outlen, "S-1-5-21-1-2-3-1001");
		return 0;
	}
	if (strcmp(name, "csr.cn") == 0)
		return csr_attr(v->csr_subject, NID_commonName, name, out,
		    outlen, reason, reasonlen);
	if (strcmp(name, "csr.o") == 0)
		return csr_attr(v->csr_subject, NID_organizationName, name, out,
		    outlen, reason, reasonlen);
	if (strcmp(name, "csr.ou") == 0)
		return csr_attr(v->csr_subject, NID_organizationalUnitName,
		    name, out, outlen, reason, reasonlen);
	if (strcmp(name, "csr.subject") == 0)
		return policy_tmpl_name_rfc2253(v->csr_subject, out, outlen,
		    reason, reasonlen);
	if (strcmp(name, "device_id") == 0)
		val = b != NULL ? b->device_id : NULL;
	else if (strcmp(name, "sid") == 0) {
		val = b != NULL ? b->sid : NULL;
		if (val != NULL && !policy_tmpl_sid_ok(val))
			return refuse(reason, reasonlen, "template variable "
			    "{sid}: the SID given is malformed");
	} else if (strncmp(name, "var.", 4) == 0 && name[4] != '\0') {
		for (size_t i = 0; b != NULL && i < b->nvars; i++)
			if (b->var_name[i] != NULL &&
			    strcmp(b->var_name[i], name + 4) == 0) {
				val = b->var_value[i];
				break;
			}
	} else {
		policy_tmpl_printable((const unsigned char *)var, len, name,
		    sizeof(name));
		return refuse(reason, reasonlen, "template variable {%s} is "
		    "not known", name);
	}
	if (val == NULL || val[0] == '\0')
		return refuse(reason, reasonlen, "template variable {%s} has "
		    "no value for this request", name);
	if (strlen(val) >= outlen)
		return refuse(reason, reasonlen, "template variable {%s} is "
		    "too long", name);
	memcpy(out, val, strlen(val) + 1);
	return 0;
}

int
policy_tmpl_expand(const char *in, size_t len, const struct tmpl_vars *v,
    char *out, size_t outlen, char *reason, size_t reasonlen)
{
	char	 val[TMPL_VALUE_MAX + 1];
	size_t	 o = 0, i, j, n;
	int	 r;

	for (i = 0; i < len; i++) {
		if (in[i] == '\\') {
			if (++i == len)
				return refuse(reason, reasonlen, "template ends "
				    "in a backslash");
			val[0] = in[i];
			val[1] = '\0';
		} else if (v != NULL && in[i] == '}') {
			return refuse(reason, reasonlen, "template has a '}' "
			    "without '{'");
		} else if (v != NULL && in[i] == '{') {
			for (j = i + 1; j < len && in[j] != '}'; j++)
				;
			if (j == len)
				return refuse(reason, reasonlen, "template has a "
				    "'{' without '}'");
			if ((r = lookup_var(in + i + 1, j - i - 1, v, val,
			    sizeof(val), reason, reasonlen)) != 0)
				return r;
			i = j;
		} else {
			val[0] = in[i];
			val[1] = '\0';
		}
		n = strlen(val);
		if (o + n >= outlen)
			return refuse(reason, reasonlen, "expanded template value "
			    "longer than %zu bytes", outlen - 1);
		memcpy(out + o, val, n);
		o += n;
	}
	out[o] = '\0';
	if (!policy_tmpl_text_ok((const unsigned char *)out, o)) {
		policy_tmpl_printable((const unsigned char *)out, o, val, 128);
		return refuse(reason, reasonlen, "value \"%s\" has control "
		    "characters or is not UTF-8", val);
	}
	return 0;
}
