/*
 * libFuzzer target: a DER PKCS#10 request, as a client sends it, straight
 * into policy_plan() with a profile that uses every template feature.
 * Oracle: whatever the CSR asks, an accepted plan holds only what the
 * template allows -- SANs of allowed types matching the allow-lists or
 * added by the template, exactly the template's EKUs, its key usage
 * (less for EC), the validator's SID, a validity within the maximum, the
 * template's subject (or the CSR's, byte for byte) -- and a refusal
 * leaves no plan and a printable reason.
 */
#define _GNU_SOURCE	/* FNM_CASEFOLD */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW	1700000000L

static char *dns[] = { "*.corp.example", "vpn.example.org", "*" };
static char *email[] = { "*@corp.example" };
static char *upn[] = { "*@corp.example" };
static char *uri[] = { "tag:microsoft.com,2022-09-14:sid:*", "urn:device:*" };
static char *add[] = { "DNS:{device_id}.dev.corp.example",
    "URI:urn:device:{device_id}" };
static char *eku[] = { "clientAuth", "serverAuth", "msSmartcardLogin" };
static char *vname[] = { "dept" };
static char *vvalue[] = { "Sales" };

static void
profile(struct policy_profile *p, int csr_subject)
{
	memset(p, 0, sizeof(*p));
	policy_profile_defaults(p);
	p->name = "fuzz";
	p->tmpl.subject = csr_subject ? NULL :
	    "/O=Fuzz/OU={var.dept}/CN={csr.cn}";
	p->tmpl.san_dns.v = dns;
	p->tmpl.san_dns.n = 2 + (csr_subject ? 1 : 0);
	p->tmpl.san_email.v = email;
	p->tmpl.san_email.n = 1;
	p->tmpl.san_upn.v = upn;
	p->tmpl.san_upn.n = 1;
	p->tmpl.san_uri.v = uri;
	p->tmpl.san_uri.n = 2;
	p->tmpl.san_ip = csr_subject;
	p->tmpl.san_add.v = add;
	p->tmpl.san_add.n = 2;
	p->tmpl.eku.v = eku;
	p->tmpl.eku.n = 3;
	p->tmpl.ec_p256 = 1;
	p->tmpl.rsa_min_bits = 512;	/* let small fuzzed keys through */
	p->tmpl.sid_extension = 1;
	p->tmpl.max_validity_days = 400;
	p->tmpl.crl_url = "http://pki.example/ca.crl";
}

static int
listed(const struct policy_list *l, const ASN1_STRING *s, int fold)
{
	char	name[2048];

	if (s->length <= 0 || (size_t)s->length >= sizeof(name) ||
	    memchr(s->data, '\0', (size_t)s->length) != NULL)
		return 0;
	memcpy(name, s->data, (size_t)s->length);
	name[s->length] = '\0';
	for (size_t i = 0; i < l->n; i++)
		if (fold ? fnmatch(l->v[i], name, FNM_CASEFOLD) == 0 ||
		    strcasecmp(l->v[i], name) == 0 :
		    fnmatch(l->v[i], name, 0) == 0)
			return 1;
	return 0;
}

static int
is(const ASN1_STRING *s, const char *want)
{
	return (size_t)s->length == strlen(want) &&
	    memcmp(s->data, want, strlen(want)) == 0;
}

static void
check_plan(const struct policy_profile *p, X509_REQ *csr,
    const struct policy_plan *pl)
{
	const struct policy_template	*t = &p->tmpl;
	char				 buf[256];

	/* Subject: the template's, or the CSR's unchanged. */
	if (t->subject == NULL) {
		if (X509_NAME_cmp(pl->subject, X509_REQ_get_subject_name(csr)))
			abort();
	} else {
		if (X509_NAME_entry_count(pl->subject) != 3 ||
		    X509_NAME_get_text_by_NID(pl->subject, NID_organizationName,
		    buf, sizeof(buf)) != 4 || strcmp(buf, "Fuzz") != 0)
			abort();
	}
	for (int i = 0; pl->san != NULL && i < sk_GENERAL_NAME_num(pl->san);
	    i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(pl->san, i);

		switch (gn->type) {
		case GEN_DNS:
			if (!listed(&t->san_dns, gn->d.dNSName, 1) &&
			    !is(gn->d.dNSName, "dev-1.dev.corp.example"))
				abort();
			break;
		case GEN_EMAIL:
			if (!listed(&t->san_email, gn->d.rfc822Name, 1))
				abort();
			break;
		case GEN_URI:
			if (!listed(&t->san_uri, gn->d.uniformResourceIdentifier,
			    0) && !is(gn->d.uniformResourceIdentifier,
			    "urn:device:dev-1"))
				abort();
			break;
		case GEN_IPADD:
			if (!t->san_ip)
				abort();
			break;
		case GEN_OTHERNAME:
			if (OBJ_obj2nid(gn->d.otherName->type_id) != NID_ms_upn ||
			    gn->d.otherName->value->type != V_ASN1_UTF8STRING ||
			    !listed(&t->san_upn,
			    gn->d.otherName->value->value.utf8string, 1))
				abort();
			break;
		default:
			abort();
		}
	}
	if (sk_ASN1_OBJECT_num(pl->eku) != 3)
		abort();
	if ((pl->key_usage & ~t->key_usage) != 0 ||
	    (pl->key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)))
		abort();
	if (pl->sid == NULL || strcmp(pl->sid, "S-1-5-21-1-2-3-1001") != 0)
		abort();
	if (pl->not_after > NOW + (time_t)t->max_validity_days * 86400 ||
	    pl->not_after <= NOW || pl->not_before > NOW)
		abort();
	if (pl->crl_url != t->crl_url || pl->device_id == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_profile	 p;
	struct policy_binding	 b;
	struct policy_plan	 pl;
	const unsigned char	*der = data;
	X509_REQ		*csr;
	char			 reason[256];
	int			 rc;

	if ((csr = d2i_X509_REQ(NULL, &der, (long)size)) == NULL)
		return 0;
	profile(&p, size & 1);
	memset(&b, 0, sizeof(b));
	b.device_id = "dev-1";
	b.sid = "S-1-5-21-1-2-3-1001";
	b.var_name[0] = vname[0];
	b.var_value[0] = vvalue[0];
	b.nvars = 1;
	rc = policy_plan(&p, csr, &b, NOW, &pl, reason, sizeof(reason));
	if (rc == 0)
		check_plan(&p, csr, &pl);
	else if (rc == 1) {
		if (pl.subject != NULL || pl.san != NULL || pl.eku != NULL ||
		    pl.sid != NULL || reason[0] == '\0')
			abort();
		for (const char *s = reason; *s != '\0'; s++)
			if (*s < 0x20 || *s == 0x7f)
				abort();
	}
	policy_plan_clear(&pl);
	X509_REQ_free(csr);
	return 0;
}
