/*
 * Certificate templates: what a profile puts into a certificate.  The
 * identity written into a certificate comes from the profile, from the
 * challenge binding or validator, or from the CSR only where an
 * allow-list says so (the AD CS ESC1 and Certifried attacks).  Extensions
 * the CSR asks for are never copied: the subjectAltName is rebuilt from
 * names checked one by one (san.c), everything else comes from here.
 *
 * Every refusal names what was refused, with bytes from the request
 * escaped for the log (H-46).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"
#include "policy/san.h"
#include "policy/tmpl_util.h"

/* A CSR subject attribute longer than this is refused (H-46: 64 KiB CN). */
#define CSR_VALUE_MAX	256
#define CSR_RDN_MAX	32

/* Microsoft szOID_ENROLLMENT_NAME_VALUE_PAIR, as Windows sends it. */
#define OID_NAME_VALUE_PAIR	"1.3.6.1.4.1.311.13.2.1"

#define refuse	policy_tmpl_refuse

/* "CN", "O", ... or the dotted OID of an attribute type, for reasons. */
static void
attr_name(const ASN1_OBJECT *obj, char *out, size_t outlen)
{
	int	nid = OBJ_obj2nid(obj);

	if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
		snprintf(out, outlen, "%s", OBJ_nid2sn(nid));
	else
		OBJ_obj2txt(out, (int)outlen, obj, 1);
}

/* Attributes a subject template or an expected subject may name. */
static const char *const dn_attrs[] = {
	"C", "ST", "L", "O", "OU", "CN", "emailAddress", "serialNumber",
	"UID", "DC", "title", "GN", "SN", "street", "postalCode", "initials",
	"dnQualifier", "pseudonym", "name", NULL
};

/* The attribute type named by s (len bytes): a name above or an OID. */
static ASN1_OBJECT *
dn_attr(const char *s, size_t len)
{
	char	buf[64];
	size_t	i;
	int	dots = 0;

	if (len == 0 || len >= sizeof(buf))
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (i = 0; dn_attrs[i] != NULL; i++)
		if (strcasecmp(buf, dn_attrs[i]) == 0)
			return OBJ_txt2obj(dn_attrs[i], 0);
	for (i = 0; i < len; i++) {
		if (buf[i] == '.') {
			if (i == 0 || buf[i - 1] == '.' || i + 1 == len)
				return NULL;
			dots++;
		} else if (!isdigit((unsigned char)buf[i]))
			return NULL;
	}
	return dots >= 1 ? OBJ_txt2obj(buf, 1) : NULL;
}

/*
 * An X509_NAME from "/O=Acme/OU={var.dept}/CN={device_id}".  The string
 * is cut into attributes first and each value expanded afterwards, so a
 * value (whatever '/', '=', ',' or '+' it holds) is one attribute value
 * and can never add another.  vars NULL: braces are literal (an expected
 * subject from a challenge).  what names the string in reasons.
 */
static int
parse_dn(const char *s, const struct tmpl_vars *vars, const char *what,
    X509_NAME **out, char *reason, size_t reasonlen)
{
	X509_NAME	*name = NULL;
	ASN1_OBJECT	*obj = NULL;
	char		 val[TMPL_VALUE_MAX + 1], sub[200], txt[64];
	const char	*p, *end, *eq;
	int		 r, rc = -1;

	*out = NULL;
	if (s[0] != '/') {
		rc = refuse(reason, reasonlen, "%s does not start with '/'",
		    what);
		goto out;
	}
	if ((name = X509_NAME_new()) == NULL)
		goto out;
	for (p = s + 1; *p != '\0'; p = *end ? end + 1 : end) {
		/* The end of this attribute: the next unescaped '/'. */
		eq = NULL;
		for (end = p; *end != '\0' && *end != '/'; end++) {
			if (*end == '=' && eq == NULL)
				eq = end;
			if (*end == '\\' && end[1] != '\0')
				end++;
		}
		if (eq == NULL) {
			policy_tmpl_printable((const unsigned char *)p,
			    (size_t)(end - p), sub, 64);
			rc = refuse(reason, reasonlen, "%s: \"%s\" is not "
			    "NAME=value", what, sub);
			goto out;
		}
		if ((obj = dn_attr(p, (size_t)(eq - p))) == NULL) {
			policy_tmpl_printable((const unsigned char *)p,
			    (size_t)(eq - p), sub, 64);
			rc = refuse(reason, reasonlen, "%s: unknown attribute "
			    "\"%s\"", what, sub);
			goto out;
		}
		if ((r = policy_tmpl_expand(eq + 1, (size_t)(end - eq - 1),
		    vars, val, sizeof(val), sub, sizeof(sub))) != 0) {
			if (r == 1)
				rc = refuse(reason, reasonlen, "%s: %s", what,
				    sub);
			goto out;
		}
		attr_name(obj, txt, sizeof(txt));
		if (val[0] == '\0') {
			rc = refuse(reason, reasonlen, "%s: attribute %s is "
			    "empty", what, txt);
			goto out;
		}
		/* The string table sets the type (C PrintableString, ...)
		 * and the upper bounds (ub-common-name 64). */
		if (X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8,
		    (unsigned char *)val, -1, -1, 0) != 1) {
			rc = refuse(reason, reasonlen, "%s: attribute %s "
			    "cannot hold a value of %zu bytes", what, txt,
			    strlen(val));
			goto out;
		}
		ASN1_OBJECT_free(obj);
		obj = NULL;
	}
	*out = name;
	name = NULL;
	rc = 0;
out:
	ASN1_OBJECT_free(obj);
	X509_NAME_free(name);
	OPENSSL_cleanse(val, sizeof(val));
	return rc;
}

/* Every value of the CSR subject readable text without controls (H-46). */
static int
check_csr_subject(const X509_NAME *name, char *reason, size_t reasonlen)
{
	const X509_NAME_ENTRY	*e;
	unsigned char		*u;
	char			 txt[64], shown[96];
	int			 i, n, len, ok;

	if ((n = X509_NAME_entry_count(name)) > CSR_RDN_MAX)
		return refuse(reason, reasonlen, "CSR subject has %d "
		    "attributes (at most %d)", n, CSR_RDN_MAX);
	for (i = 0; i < n; i++) {
		e = X509_NAME_get_entry(name, i);
		attr_name(X509_NAME_ENTRY_get_object(e), txt, sizeof(txt));
		u = NULL;
		if ((len = ASN1_STRING_to_UTF8(&u,
		    X509_NAME_ENTRY_get_data(e))) < 0)
			return refuse(reason, reasonlen, "CSR subject %s is not "
			    "a readable string", txt);
		ok = len > 0 && len <= CSR_VALUE_MAX &&
		    policy_tmpl_text_ok(u, (size_t)len);
		policy_tmpl_printable(u, (size_t)len, shown, sizeof(shown));
		OPENSSL_free(u);
		if (len == 0)
			return refuse(reason, reasonlen, "CSR subject %s is "
			    "empty", txt);
		if (len > CSR_VALUE_MAX)
			return refuse(reason, reasonlen, "CSR subject %s has "
			    "%d bytes (at most %d)", txt, len, CSR_VALUE_MAX);
		if (!ok)
			return refuse(reason, reasonlen, "CSR subject %s "
			    "\"%s\" has control characters or bad UTF-8", txt,
			    shown);
	}
	return 0;
}

static int
subject_text(const X509_NAME *name, char *out, size_t outlen)
{
	char	tmp[TMPL_VALUE_MAX + 1];
	char	dummy[8];

	if (policy_tmpl_name_rfc2253(name, tmp, sizeof(tmp), dummy,
	    sizeof(dummy)) != 0)
		snprintf(tmp, sizeof(tmp), "(empty)");
	policy_tmpl_printable((const unsigned char *)tmp, strlen(tmp), out,
	    outlen);
	return 0;
}

/*
 * Key rules (H-43): RSA with an odd exponent >= 3 and a size inside the
 * profile's range; EC only on P-256 or P-384, named (not explicit)
 * parameters, a point on the curve, and only if the profile allows the
 * curve.  DSA, Ed25519, RSA-PSS and anything else are refused.
 */
static int
check_key(const struct policy_template *t, X509_REQ *csr, int *is_ec,
    char *reason, size_t reasonlen)
{
	EVP_PKEY	*pk;		/* borrowed from csr */
	EVP_PKEY_CTX	*ctx = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	char		 group[64], enc[32];
	size_t		 glen;
	int		 bits, nid, rc = -1;

	*is_ec = 0;
	if ((pk = X509_REQ_get0_pubkey(csr)) == NULL)
		return refuse(reason, reasonlen, "the CSR's public key cannot "
		    "be read");
	bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
			rc = refuse(reason, reasonlen, "RSA key cannot be read");
			break;
		}
		if (!BN_is_odd(e) || BN_num_bits(e) < 2)
			rc = refuse(reason, reasonlen, "RSA public exponent is "
			    "even or below 3");
		else if (!BN_is_odd(n))
			rc = refuse(reason, reasonlen, "RSA modulus is even");
		else if (bits < t->rsa_min_bits)
			rc = refuse(reason, reasonlen, "RSA %d bits below the "
			    "profile's minimum %d", bits, t->rsa_min_bits);
		else if (bits > t->rsa_max_bits)
			rc = refuse(reason, reasonlen, "RSA %d bits above the "
			    "profile's maximum %d", bits, t->rsa_max_bits);
		else
			rc = 0;
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc), NULL) != 1 ||
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
		    EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1) {
			rc = refuse(reason, reasonlen, "EC key with explicit "
			    "curve parameters (only named curves)");
			break;
		}
		nid = OBJ_txt2nid(group);
		if (!(nid == NID_X9_62_prime256v1 && t->ec_p256) &&
		    !(nid == NID_secp384r1 && t->ec_p384)) {
			policy_tmpl_printable((const unsigned char *)group,
			    glen, enc, sizeof(enc));
			rc = refuse(reason, reasonlen, "EC key on curve %s not "
			    "accepted by the profile", enc);
			break;
		}
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL)
			break;
		if (EVP_PKEY_public_check(ctx) != 1) {
			rc = refuse(reason, reasonlen, "EC public key is not a "
			    "valid point on %s", nid == NID_secp384r1 ?
			    "P-384" : "P-256");
			break;
		}
		*is_ec = 1;
		rc = 0;
		break;
	case EVP_PKEY_RSA_PSS:
		rc = refuse(reason, reasonlen, "RSA-PSS keys are not accepted "
		    "(use rsaEncryption)");
		break;
	default:
		rc = refuse(reason, reasonlen, "%s keys are not accepted",
		    EVP_PKEY_get0_type_name(pk) != NULL ?
		    EVP_PKEY_get0_type_name(pk) : "unknown");
		break;
	}
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return rc;
}

/* EKU names a profile may use; anything else must be a dotted OID. */
static const struct {
	const char	*name;
	const char	*oid;
} eku_names[] = {
	{ "clientAuth",		"1.3.6.1.5.5.7.3.2" },
	{ "serverAuth",		"1.3.6.1.5.5.7.3.1" },
	{ "codeSigning",	"1.3.6.1.5.5.7.3.3" },
	{ "emailProtection",	"1.3.6.1.5.5.7.3.4" },
	{ "timeStamping",	"1.3.6.1.5.5.7.3.8" },
	{ "ipsecIKE",		"1.3.6.1.5.5.7.3.17" },
	{ "msSmartcardLogin",	"1.3.6.1.4.1.311.20.2.2" },
	{ "msEFS",		"1.3.6.1.4.1.311.10.3.4" },
};

/*
 * EKUs that would make an enrolled device more than a client: any
 * purpose, or a delegated OCSP responder for our CA (H-45).
 */
static const char *const eku_refused[] = {
	"2.5.29.37.0",		/* anyExtendedKeyUsage */
	"1.3.6.1.5.5.7.3.9",	/* OCSPSigning */
};

static int
build_eku(const struct policy_template *t, STACK_OF(ASN1_OBJECT) **out,
    char *reason, size_t reasonlen)
{
	STACK_OF(ASN1_OBJECT)	*sk = NULL;
	ASN1_OBJECT		*obj = NULL;
	const char		*oid;
	char			 shown[64], txt[64];
	size_t			 i, k;
	int			 dup, rc = -1;

	if ((sk = sk_ASN1_OBJECT_new_null()) == NULL)
		goto out;
	for (i = 0; i < t->eku.n || (i == 0 && t->eku.n == 0); i++) {
		/* An empty list means clientAuth, what SCEP clients need. */
		const char *s = t->eku.n == 0 ? "clientAuth" : t->eku.v[i];

		oid = NULL;
		for (k = 0; k < sizeof(eku_names) / sizeof(eku_names[0]); k++)
			if (strcasecmp(s, eku_names[k].name) == 0)
				oid = eku_names[k].oid;
		if (oid == NULL && s[0] != '\0' &&
		    strspn(s, "0123456789.") == strlen(s) && strchr(s, '.') &&
		    strstr(s, "..") == NULL && s[0] != '.' &&
		    s[strlen(s) - 1] != '.')
			oid = s;
		if (oid == NULL || (obj = OBJ_txt2obj(oid, 1)) == NULL) {
			policy_tmpl_printable((const unsigned char *)s,
			    strlen(s), shown, sizeof(shown));
			rc = refuse(reason, reasonlen, "the profile's eku \"%s\" "
			    "is neither a known name nor a dotted OID", shown);
			goto out;
		}
		OBJ_obj2txt(txt, sizeof(txt), obj, 1);
		for (k = 0; k < sizeof(eku_refused) / sizeof(eku_refused[0]);
		    k++)
			if (strcmp(txt, eku_refused[k]) == 0) {
				rc = refuse(reason, reasonlen, "the profile's "
				    "eku %s is never issued to SCEP clients",
				    txt);
				goto out;
			}
		dup = 0;
		for (int j = 0; j < sk_ASN1_OBJECT_num(sk); j++)
			if (OBJ_cmp(sk_ASN1_OBJECT_value(sk, j), obj) == 0)
				dup = 1;
		if (dup)
			ASN1_OBJECT_free(obj);
		else if (!sk_ASN1_OBJECT_push(sk, obj))
			goto out;
		obj = NULL;
	}
	*out = sk;
	sk = NULL;
	rc = 0;
out:
	ASN1_OBJECT_free(obj);
	sk_ASN1_OBJECT_pop_free(sk, ASN1_OBJECT_free);
	return rc;
}

/* A BMPString of an enrollment name-value pair as UTF-8 in out. */
static int
bmp_text(const ASN1_TYPE *t, char *out, size_t outlen)
{
	unsigned char	*u = NULL;
	int		 len, ok;

	if (t->type != V_ASN1_BMPSTRING ||
	    (len = ASN1_STRING_to_UTF8(&u, t->value.bmpstring)) < 0)
		return -1;
	ok = (size_t)len < outlen && policy_tmpl_text_ok(u, (size_t)len);
	if (ok) {
		memcpy(out, u, (size_t)len);
		out[len] = '\0';
	}
	OPENSSL_free(u);
	return ok ? 0 : -1;
}

/*
 * The validity the CSR asks for with the Microsoft enrollment name-value
 * pairs "ValidityPeriod" (Days, Weeks, Months, Years) and
 * "ValidityPeriodUnits" (a number), as Intune and the Windows CSP send
 * them (Microsoft's Intune-Resource-Access issue 162 also reports
 * the two swapped on Android: accepted either way round).  *until is 0
 * when the CSR asks nothing.  Other pairs (CertificateTemplate, SAN, ...)
 * are never honoured.
 */
static int
requested_validity(X509_REQ *csr, time_t now, time_t *until, char *reason,
    size_t reasonlen)
{
	ASN1_OBJECT		*nvp = NULL;
	STACK_OF(ASN1_TYPE)	*seq = NULL;
	X509_ATTRIBUTE		*a;
	ASN1_TYPE		*v;
	const unsigned char	*der;
	char			 name[64], value[64], period[64] = "",
				 units[64] = "", *swap;
	long			 count;
	struct tm		 tm;
	int			 idx = -1, j, rc = -1;

	*until = 0;
	if ((nvp = OBJ_txt2obj(OID_NAME_VALUE_PAIR, 1)) == NULL)
		goto out;
	while ((idx = X509_REQ_get_attr_by_OBJ(csr, nvp, idx)) >= 0) {
		a = X509_REQ_get_attr(csr, idx);
		for (j = 0; j < X509_ATTRIBUTE_count(a); j++) {
			v = X509_ATTRIBUTE_get0_type(a, j);
			if (v == NULL || v->type != V_ASN1_SEQUENCE) {
				rc = refuse(reason, reasonlen, "malformed "
				    "enrollment name-value pair attribute");
				goto out;
			}
			der = v->value.sequence->data;
			seq = d2i_ASN1_SEQUENCE_ANY(NULL, &der,
			    v->value.sequence->length);
			if (seq == NULL || der != v->value.sequence->data +
			    v->value.sequence->length ||
			    sk_ASN1_TYPE_num(seq) != 2 ||
			    bmp_text(sk_ASN1_TYPE_value(seq, 0), name,
			    sizeof(name)) == -1 ||
			    bmp_text(sk_ASN1_TYPE_value(seq, 1), value,
			    sizeof(value)) == -1) {
				rc = refuse(reason, reasonlen, "malformed "
				    "enrollment name-value pair");
				goto out;
			}
			sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
			seq = NULL;
			if (strcasecmp(name, "ValidityPeriod") == 0)
				swap = period;
			else if (strcasecmp(name, "ValidityPeriodUnits") == 0)
				swap = units;
			else
				continue;
			if (swap[0] != '\0' && strcmp(swap, value) != 0) {
				rc = refuse(reason, reasonlen, "the CSR gives %s "
				    "twice", name);
				goto out;
			}
			memcpy(swap, value, strlen(value) + 1);
		}
	}
	if (period[0] == '\0' && units[0] == '\0') {
		rc = 0;
		goto out;
	}
	if (period[0] == '\0' || units[0] == '\0') {
		rc = refuse(reason, reasonlen, "the CSR gives %s without %s",
		    period[0] ? "ValidityPeriod" : "ValidityPeriodUnits",
		    period[0] ? "ValidityPeriodUnits" : "ValidityPeriod");
		goto out;
	}
	if (isdigit((unsigned char)period[0]) &&
	    !isdigit((unsigned char)units[0])) {
		memcpy(name, period, sizeof(name));
		memcpy(period, units, sizeof(period));
		memcpy(units, name, sizeof(units));
	}
	if (strspn(units, "0123456789") != strlen(units) || strlen(units) > 6 ||
	    (count = strtol(units, NULL, 10)) < 1) {
		policy_tmpl_printable((const unsigned char *)units,
		    strlen(units), name, sizeof(name));
		rc = refuse(reason, reasonlen, "the CSR's ValidityPeriodUnits "
		    "\"%s\" is not a positive number", name);
		goto out;
	}
	if (gmtime_r(&now, &tm) == NULL)
		goto out;
	if (strcasecmp(period, "Days") == 0)
		*until = now + (time_t)count * 86400;
	else if (strcasecmp(period, "Weeks") == 0)
		*until = now + (time_t)count * 7 * 86400;
	else if (strcasecmp(period, "Months") == 0 ||
	    strcasecmp(period, "Years") == 0) {
		/* Calendar months and years, as AD CS counts them. */
		if (strcasecmp(period, "Months") == 0)
			tm.tm_mon += (int)count;
		else
			tm.tm_year += (int)count;
		*until = timegm(&tm);
	} else {
		policy_tmpl_printable((const unsigned char *)period,
		    strlen(period), name, sizeof(name));
		rc = refuse(reason, reasonlen, "the CSR's ValidityPeriod \"%s\" "
		    "is not Days, Weeks, Months or Years", name);
		goto out;
	}
	/* An overflow asks for "very long": the maximum applies. */
	if (*until <= now)
		*until = now + (time_t)100 * 366 * 86400;
	rc = 0;
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ASN1_OBJECT_free(nvp);
	return rc;
}

int
policy_plan(const struct policy_profile *p, X509_REQ *csr,
    const struct policy_binding *b, time_t now, struct policy_plan *plan,
    char *reason, size_t reasonlen)
{
	const struct policy_template	*t = &p->tmpl;
	struct tmpl_vars		 vars;
	X509_NAME			*want = NULL;	/* owned */
	char				*uri_sid = NULL; /* owned */
	const char			*sid;
	char				 a[160], c[160];
	time_t				 until, cap;
	int				 is_ec, rc = -1;

	memset(plan, 0, sizeof(*plan));
	if (reasonlen > 0)
		reason[0] = '\0';
	vars.csr_subject = X509_REQ_get_subject_name(csr);
	vars.b = b;
	vars.check = 0;

	if ((rc = check_key(t, csr, &is_ec, reason, reasonlen)) != 0 ||
	    (rc = check_csr_subject(vars.csr_subject, reason, reasonlen)) != 0)
		goto out;

	/* A challenge issued for one subject is good for that one only. */
	if (b != NULL && b->subject != NULL) {
		if ((rc = parse_dn(b->subject, NULL, "the expected subject",
		    &want, reason, reasonlen)) != 0)
			goto out;
		if (X509_NAME_cmp(want, vars.csr_subject) != 0) {
			subject_text(vars.csr_subject, a, sizeof(a));
			subject_text(want, c, sizeof(c));
			rc = refuse(reason, reasonlen, "the CSR subject \"%s\" is "
			    "not the subject \"%s\" the challenge was issued for",
			    a, c);
			goto out;
		}
	}

	rc = -1;
	if (t->subject == NULL) {
		/* X509_NAME_dup keeps RDN order, string types and bytes. */
		if ((plan->subject = X509_NAME_dup(vars.csr_subject)) == NULL)
			goto out;
	} else if ((rc = parse_dn(t->subject, &vars, "the subject template",
	    &plan->subject, reason, reasonlen)) != 0)
		goto out;

	if ((rc = policy_san_plan(t, csr, &vars, &plan->san, &uri_sid, reason,
	    reasonlen)) != 0)
		goto out;
	if (X509_NAME_entry_count(plan->subject) == 0 && plan->san == NULL) {
		rc = refuse(reason, reasonlen, "the certificate would have "
		    "neither a subject nor a subjectAltName");
		goto out;
	}

	/*
	 * The SID for strong mapping: the validator's or the challenge's,
	 * else the one in an allowed Intune SID URI.  Two different SIDs
	 * mean someone is asking for another account's certificate.
	 */
	if (b != NULL && b->sid != NULL) {
		if (!policy_tmpl_sid_ok(b->sid)) {
			rc = refuse(reason, reasonlen, "the SID given for the "
			    "device is malformed");
			goto out;
		}
		if (uri_sid != NULL && strcmp(uri_sid, b->sid) != 0) {
			rc = refuse(reason, reasonlen, "the CSR's SID URI names "
			    "%s, the validator %s", uri_sid, b->sid);
			goto out;
		}
	}
	sid = b != NULL && b->sid != NULL ? b->sid : uri_sid;
	rc = -1;
	if (t->sid_extension && sid != NULL &&
	    (plan->sid = strdup(sid)) == NULL)
		goto out;

	/* End-entity certificates only (basicConstraints CA:FALSE). */
	if (t->key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) {
		rc = refuse(reason, reasonlen, "the profile's key_usage has "
		    "keyCertSign or cRLSign: scepd issues end-entity "
		    "certificates only");
		goto out;
	}
	plan->key_usage = t->key_usage != 0 ? t->key_usage :
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	/* RFC 5480 3: an EC key does not encipher keys or data. */
	if (is_ec) {
		plan->key_usage &= ~(unsigned)(KU_KEY_ENCIPHERMENT |
		    KU_DATA_ENCIPHERMENT);
		if (plan->key_usage == 0)
			plan->key_usage = KU_DIGITAL_SIGNATURE;
	}
	if ((rc = build_eku(t, &plan->eku, reason, reasonlen)) != 0)
		goto out;

	if ((rc = requested_validity(csr, now, &until, reason,
	    reasonlen)) != 0)
		goto out;
	cap = now + (time_t)t->max_validity_days * 86400;
	if (until == 0)
		until = now + (time_t)t->validity_days * 86400;
	plan->not_after = until < cap ? until : cap;
	plan->not_before = now - t->backdate_seconds;

	plan->crl_url = t->crl_url;
	plan->ocsp_url = t->ocsp_url;
	plan->ca_issuers_url = t->ca_issuers_url;
	/*
	 * The device: named by the challenge or validator, else by the
	 * profile's rule over the CSR (template.device_id = "{csr.cn}").
	 */
	rc = -1;
	if (b != NULL && b->device_id != NULL) {
		if ((plan->device_id = strdup(b->device_id)) == NULL)
			goto out;
	} else if (t->device_id != NULL) {
		char	dev[257];

		if ((rc = policy_tmpl_expand(t->device_id, strlen(t->device_id),
		    &vars, dev, sizeof(dev), reason, reasonlen)) != 0)
			goto out;
		rc = -1;
		if ((plan->device_id = strdup(dev)) == NULL)
			goto out;
	}
	rc = 0;
out:
	free(uri_sid);
	X509_NAME_free(want);
	if (rc != 0)
		policy_plan_clear(plan);
	return rc;
}

/* IA5 text without spaces: what a URL in an extension may hold. */
static int
url_ok(const char *u)
{
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
			return 0;
	return 1;
}

int
policy_template_check(const struct policy_template *t, char *err,
    size_t errlen)
{
	struct tmpl_vars	 vars = { NULL, NULL, 1 };
	STACK_OF(ASN1_OBJECT)	*eku = NULL;
	X509_NAME		*name = NULL;
	char			 val[TMPL_VALUE_MAX + 1], why[200];
	const char		*urls[3] = { t->crl_url, t->ocsp_url,
				    t->ca_issuers_url };
	int			 rc = 1;

	if (t->subject != NULL && parse_dn(t->subject, &vars,
	    "template.subject", &name, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < t->san_add.n; i++) {
		if (policy_tmpl_expand(t->san_add.v[i], strlen(t->san_add.v[i]),
		    &vars, val, sizeof(val), why, sizeof(why)) != 0) {
			refuse(err, errlen, "template.san_add: %s", why);
			goto out;
		}
		if (strncasecmp(val, "DNS:", 4) != 0 &&
		    strncasecmp(val, "IP:", 3) != 0 &&
		    strncasecmp(val, "email:", 6) != 0 &&
		    strncasecmp(val, "URI:", 4) != 0 &&
		    strncasecmp(val, "UPN:", 4) != 0) {
			refuse(err, errlen, "template.san_add \"%s\": use DNS:, "
			    "IP:, email:, URI: or UPN:", t->san_add.v[i]);
			goto out;
		}
	}
	if (t->device_id != NULL && policy_tmpl_expand(t->device_id,
	    strlen(t->device_id), &vars, val, sizeof(val), why,
	    sizeof(why)) != 0) {
		refuse(err, errlen, "template.device_id: %s", why);
		goto out;
	}
	if (build_eku(t, &eku, why, sizeof(why)) != 0) {
		refuse(err, errlen, "template.eku: %s", why);
		goto out;
	}
	if (t->key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) {
		refuse(err, errlen, "template.key_usage: no keyCertSign or "
		    "cRLSign (end-entity certificates only)");
		goto out;
	}
	for (int i = 0; i < 3; i++)
		if (urls[i] != NULL && !url_ok(urls[i])) {
			refuse(err, errlen, "template URL \"%s\" has spaces or "
			    "non-ASCII characters", urls[i]);
			goto out;
		}
	if (!t->ec_p256 && !t->ec_p384 && t->rsa_min_bits > t->rsa_max_bits) {
		refuse(err, errlen, "the template accepts no key");
		goto out;
	}
	rc = 0;
out:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	X509_NAME_free(name);
	return rc;
}
