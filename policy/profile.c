/*
 * Profile defaults, the names of the challenge modes, and the freeing of
 * what policy structures own.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "policy/policy.h"

static void
list_clear(struct policy_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const char *const mode_names[POLICY_CHALLENGE_NMODES] = {
	[POLICY_CHALLENGE_STATIC] = "static",
	[POLICY_CHALLENGE_DYNAMIC] = "dynamic",
	[POLICY_CHALLENGE_WEBHOOK] = "webhook",
	[POLICY_CHALLENGE_INTUNE] = "intune",
};

const char *
policy_challenge_mode_name(enum policy_challenge_mode m)
{
	return (unsigned)m < POLICY_CHALLENGE_NMODES ? mode_names[m] : "?";
}

int
policy_challenge_mode_from_name(const char *name,
    enum policy_challenge_mode *mode)
{
	for (int i = 0; i < POLICY_CHALLENGE_NMODES; i++)
		if (strcmp(mode_names[i], name) == 0) {
			*mode = (enum policy_challenge_mode)i;
			return 0;
		}
	return -1;
}

int
policy_profile_has_mode(const struct policy_profile *p,
    enum policy_challenge_mode m)
{
	for (size_t i = 0; i < p->nchallenge_modes; i++)
		if (p->challenge_modes[i] == m)
			return 1;
	return 0;
}

void
policy_profile_defaults(struct policy_profile *p)
{
	p->challenge_modes[0] = POLICY_CHALLENGE_STATIC;
	p->nchallenge_modes = 1;
	p->challenge_ttl_minutes = 60;
	p->webhook.timeout_ms = 5000;
	p->approval = POLICY_APPROVAL_AUTO;
	p->renewal.enabled = 0;
	/* Intune's default renewal threshold. */
	p->renewal.window_percent = 20;
	p->renewal.supersede_grace_days = 7;
	p->tmpl.rsa_min_bits = 2048;
	p->tmpl.rsa_max_bits = 4096;
	p->tmpl.validity_days = 365;
	p->tmpl.max_validity_days = 825;
	p->tmpl.backdate_seconds = 300;
	p->tmpl.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
}

void
policy_profile_clear(struct policy_profile *p)
{
	free(p->name);
	if (p->static_challenge != NULL) {
		explicit_bzero(p->static_challenge, strlen(p->static_challenge));
		free(p->static_challenge);
	}
	free(p->webhook.url);
	if (p->webhook.secret != NULL) {
		explicit_bzero(p->webhook.secret, strlen(p->webhook.secret));
		free(p->webhook.secret);
	}
	free(p->tmpl.subject);
	list_clear(&p->tmpl.san_dns);
	list_clear(&p->tmpl.san_email);
	list_clear(&p->tmpl.san_upn);
	list_clear(&p->tmpl.san_uri);
	list_clear(&p->tmpl.san_add);
	list_clear(&p->tmpl.eku);
	free(p->tmpl.crl_url);
	free(p->tmpl.ocsp_url);
	free(p->tmpl.ca_issuers_url);
	free(p->tmpl.device_id);
	memset(p, 0, sizeof(*p));
}

void
policy_binding_clear(struct policy_binding *b)
{
	free(b->device_id);
	free(b->subject);
	list_clear(&b->sans);
	free(b->sid);
	for (size_t i = 0; i < b->nvars; i++) {
		free(b->var_name[i]);
		free(b->var_value[i]);
	}
	memset(b, 0, sizeof(*b));
}

void
policy_plan_clear(struct policy_plan *p)
{
	X509_NAME_free(p->subject);
	GENERAL_NAMES_free(p->san);
	sk_ASN1_OBJECT_pop_free(p->eku, ASN1_OBJECT_free);
	free(p->sid);
	free(p->device_id);
	memset(p, 0, sizeof(*p));
}

void
policy_verdict_clear(struct policy_verdict *v)
{
	policy_plan_clear(&v->plan);
	memset(v, 0, sizeof(*v));
}
