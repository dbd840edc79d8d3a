/*
 * Delegated validation and notifications (issue 3, docs/webhook.md).
 *
 * A profile whose challenge_mode lists "webhook" asks its validator about
 * every new enrollment no earlier mode recognised: scepd POSTs the facts
 * (profile, transactionID, challenge, CSR, subject, SANs, client address)
 * signed with HMAC-SHA256 and waits webhook.timeout_ms for {"allow": ...}.
 * Anything but a well-formed 200 reply is POLICY_LOOKUP_ERROR: a
 * validator that is down, slow or confused never yields a certificate,
 * and never a final FAILURE either: the client gets 503 and retries.
 * A request is sent again once, after a short pause, only when no
 * connection could be made: once it has gone out it may have been acted
 * on, and it is not repeated.
 *
 * Any profile with a webhook.url, a secret and webhook.notify (the
 * default) is told of every decided PKCSReq/RenewalReq: the notification
 * is queued in the enrollment's own transaction (db_outbox_add), so it
 * exists exactly when the decision was committed, and
 * server/outbound/notifier.c delivers it after the reply, retrying.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/log.h"
#include "server/outbound/http_client.h"
#include "server/outbound/webhook_post.h"
#include "server/outbound/webhook_json.h"
#include "server/scep/core.h"
#include "server/scep/webhook.h"

/* SANs of a CSR sent to the validator, at most. */
#define MAX_CSR_SANS	64


/*
 * POST body to the profile's webhook, signed, retrying once only when no
 * connection could be made.  *attempts says how many were made.
 */

/* Printable ASCII, anything else as \xNN (bytes from the CSR). */
static char *
escape_bytes(const char *prefix, const unsigned char *p, size_t n)
{
	size_t	 plen = strlen(prefix), o;
	char	*s;

	if (n > 4096 || (s = malloc(plen + 4 * n + 1)) == NULL)
		return NULL;
	memcpy(s, prefix, plen);
	o = plen;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			s[o++] = (char)p[i];
		else
			o += (size_t)sprintf(s + o, "\\x%02x", p[i]);
	}
	s[o] = '\0';
	return s;
}

static char *
bio_string(BIO *b)
{
	char	*p, *s;
	long	 n;

	if ((n = BIO_get_mem_data(b, &p)) < 0 || (s = malloc((size_t)n + 1)) ==
	    NULL)
		return NULL;
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	return s;
}

/* "DNS:x", "IP:1.2.3.4", "email:x", "URI:x", "UPN:x", ... */
static char *
san_text(const GENERAL_NAME *g)
{
	const ASN1_STRING	*s;
	const ASN1_TYPE		*v;
	BIO			*b;
	char			 ip[64], oid[80], *t = NULL;

	switch (g->type) {
	case GEN_DNS:
		s = g->d.dNSName;
		return escape_bytes("DNS:", ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s));
	case GEN_EMAIL:
		s = g->d.rfc822Name;
		return escape_bytes("email:", ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s));
	case GEN_URI:
		s = g->d.uniformResourceIdentifier;
		return escape_bytes("URI:", ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s));
	case GEN_IPADD:
		s = g->d.iPAddress;
		if (ASN1_STRING_length(s) == 4)
			inet_ntop(AF_INET, ASN1_STRING_get0_data(s), ip,
			    sizeof(ip));
		else if (ASN1_STRING_length(s) == 16)
			inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), ip,
			    sizeof(ip));
		else
			snprintf(ip, sizeof(ip), "invalid");
		return escape_bytes("IP:", (const unsigned char *)ip,
		    strlen(ip));
	case GEN_OTHERNAME:
		v = g->d.otherName->value;
		if (OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
		    v != NULL && v->type == V_ASN1_UTF8STRING) {
			s = v->value.utf8string;
			return escape_bytes("UPN:", ASN1_STRING_get0_data(s),
			    (size_t)ASN1_STRING_length(s));
		}
		OBJ_obj2txt(oid, sizeof(oid), g->d.otherName->type_id, 1);
		return escape_bytes("othername:", (const unsigned char *)oid,
		    strlen(oid));
	case GEN_DIRNAME:
		/* RFC 2253 printing escapes control and 8-bit bytes. */
		if ((b = BIO_new(BIO_s_mem())) == NULL)
			return NULL;
		if (BIO_puts(b, "DirName:") > 0 && X509_NAME_print_ex(b,
		    g->d.directoryName, 0, XN_FLAG_RFC2253) >= 0)
			t = bio_string(b);
		BIO_free(b);
		return t;
	case GEN_RID:
		OBJ_obj2txt(oid, sizeof(oid), g->d.registeredID, 1);
		return escape_bytes("RID:", (const unsigned char *)oid,
		    strlen(oid));
	default:
		return escape_bytes("other:", (const unsigned char *)"", 0);
	}
}

/* What the validator is told about the CSR. */
struct csr_facts {
	char	*pem;
	char	*subject;
	char	*sans[MAX_CSR_SANS];
	size_t	 nsans;
};

static void
csr_facts_clear(struct csr_facts *f)
{
	free(f->pem);
	free(f->subject);
	for (size_t i = 0; i < f->nsans; i++)
		free(f->sans[i]);
	memset(f, 0, sizeof(*f));
}

static int
csr_facts(X509_REQ *csr, struct csr_facts *f, char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;	/* owned */
	GENERAL_NAMES			*gens = NULL;	/* owned */
	BIO				*b = NULL;	/* owned */
	int				 crit = -1, rc = -1, n;

	memset(f, 0, sizeof(*f));
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(b, csr) || (f->pem = bio_string(b)) == NULL)
		goto mem;
	BIO_free(b);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(b, X509_REQ_get_subject_name(csr), 0,
	    XN_FLAG_RFC2253) < 0 || (f->subject = bio_string(b)) == NULL)
		goto mem;
	if ((exts = X509_REQ_get_extensions(csr)) != NULL &&
	    (gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit,
	    NULL)) == NULL && crit != -1) {
		snprintf(err, errlen, "CSR subjectAltName unreadable or repeated");
		goto out;
	}
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	if (n > MAX_CSR_SANS) {
		snprintf(err, errlen, "CSR has more than %d SANs", MAX_CSR_SANS);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if ((f->sans[f->nsans] = san_text(sk_GENERAL_NAME_value(gens,
		    i))) == NULL)
			goto mem;
		f->nsans++;
	}
	rc = 0;
	goto out;
mem:
	snprintf(err, errlen, "cannot describe the CSR");
out:
	BIO_free(b);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc == -1)
		csr_facts_clear(f);
	return rc;
}

/* POST the validate request and read its answer (docs/webhook.md). */
static enum policy_lookup
ask(struct scep_ctx *c, const struct policy_profile *p, X509_REQ *csr,
    const char *challenge, size_t len, struct policy_binding *out,
    char *reason, size_t reasonlen)
{
	struct webhook_validate_req	 vr;
	struct csr_facts		 f;
	struct httpc_reply		 reply;
	struct timespec			 t0;
	enum httpc_result		 hr;
	enum policy_lookup		 l = POLICY_LOOKUP_ERROR;
	const char			*tid = p7_req_get0_transaction_id(c->req);
	const char			*outcome = "error";
	char				*body = NULL, err[256] = "";
	char				 why[200];
	size_t				 blen = 0;
	int				 allow, attempts = 0;

	memset(out, 0, sizeof(*out));
	memset(&reply, 0, sizeof(reply));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (p->webhook.url == NULL || p->webhook.secret == NULL) {
		snprintf(reason, reasonlen, "profile %s has no webhook.url and "
		    "webhook.secret", p->name);
		return POLICY_LOOKUP_ERROR;
	}
	if (csr_facts(csr, &f, err, sizeof(err)) == -1) {
		snprintf(reason, reasonlen, "%s", err);
		return POLICY_LOOKUP_ERROR;
	}
	memset(&vr, 0, sizeof(vr));
	vr.profile = p->name;
	vr.transaction_id = tid;
	vr.challenge = challenge;
	vr.challenge_len = len;
	vr.csr_pem = f.pem;
	vr.subject = f.subject;
	vr.sans = (const char *const *)f.sans;
	vr.nsans = f.nsans;
	vr.client_address = c->addr;
	if ((body = webhook_build_validate(&vr, &blen)) == NULL) {
		snprintf(err, sizeof(err), "cannot build the request (challenge "
		    "or transactionID not UTF-8?)");
		goto out;
	}
	hr = webhook_post(&p->webhook, "validate", tid, body, blen, &reply,
	    &attempts, err, sizeof(err));
	if (hr != HTTPC_OK)
		goto out;
	if (reply.status != 200) {
		snprintf(err, sizeof(err), "validator answered HTTP %d",
		    reply.status);
		goto out;
	}
	if (webhook_parse_reply(reply.body, reply.len, &allow, out, why,
	    sizeof(why)) == -1) {
		snprintf(err, sizeof(err), "malformed reply: %.200s", why);
		goto out;
	}
	snprintf(err, sizeof(err), "%s", why);
	if (allow) {
		l = POLICY_LOOKUP_OK;
		outcome = "allow";
	} else {
		l = POLICY_LOOKUP_DENIED;
		outcome = "deny";
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "no reason given");
	}
out:
	/* Never the challenge or the secret. */
	log_info("%s %s %s: webhook validate -> %s%s%s%s%s (%ld ms, %d "
	    "attempt%s)", c->peer, scep_msg_name(c), tid, outcome,
	    err[0] ? ": " : "", err, l == POLICY_LOOKUP_OK &&
	    out->device_id ? ", device " : "", l == POLICY_LOOKUP_OK &&
	    out->device_id ? out->device_id : "", log_ms_since(&t0), attempts,
	    attempts == 1 ? "" : "s");
	if (l != POLICY_LOOKUP_OK)
		snprintf(reason, reasonlen, "%s", err);
	if (body != NULL)
		OPENSSL_cleanse(body, blen);	/* it holds the challenge */
	free(body);
	httpc_reply_clear(&reply);
	csr_facts_clear(&f);
	return l;
}

void
webhook_validate_first(struct scep_ctx *c, X509_REQ *csr,
    const char *challenge, size_t len)
{
	struct scep_validation	*v = &c->validation;

	v->lookup = ask(c, &c->prof->policy, csr, challenge, len, &v->binding,
	    v->reason, sizeof(v->reason));
	v->asked = 1;
}

int
webhook_queue(struct scep_ctx *c, X509 *issued, const char *reason,
    char *err, size_t errlen)
{
	const struct policy_profile	*p = &c->prof->policy;
	const char			*tid = p7_req_get0_transaction_id(c->req);
	const char			*what = issued ? "issued" : "refused";
	struct p7_cert_desc		 d;
	struct webhook_issued		 n;
	char				*body = NULL;
	char				 thumb[2 * 20 + 1];
	size_t				 blen = 0;
	int				 rc = -1;

	if (p->webhook.url == NULL || !p->webhook.notify)
		return 0;
	if (p->webhook.secret == NULL) {
		log_warnx("%s %s %s: webhook notify %s not sent: profile %s has "
		    "no webhook.secret", c->peer, scep_msg_name(c), tid, what,
		    p->name);
		return 0;
	}
	memset(&d, 0, sizeof(d));
	if (issued != NULL) {
		if (p7_cert_describe(issued, &d) == -1) {
			snprintf(err, errlen, "cannot describe the certificate "
			    "for its notification");
			goto out;
		}
		for (size_t i = 0; i < sizeof(d.sha1); i++)
			snprintf(thumb + 2 * i, 3, "%02X", d.sha1[i]);
		memset(&n, 0, sizeof(n));
		n.profile = p->name;
		n.transaction_id = tid;
		n.serial = d.serial;
		n.thumbprint_sha1 = thumb;
		n.not_after = d.not_after;
		n.issuer = d.issuer;
		n.subject = d.subject;
		body = webhook_build_issued(&n, &blen);
	} else
		body = webhook_build_refused(p->name, tid,
		    reason ? reason : "refused", &blen);
	if (body == NULL) {
		snprintf(err, errlen, "cannot build the %s notification", what);
		goto out;
	}
	if (db_outbox_add(c->w->db, p->name, what, tid, body, err,
	    errlen) == DB_ERROR)
		goto out;
	c->queued = 1;
	rc = 0;
out:
	free(body);
	p7_cert_desc_clear(&d);
	return rc;
}
