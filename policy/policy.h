/*
 * policy/ -- decisions over plain data: which requests a profile accepts,
 * what goes into the certificate, and why not.  No I/O and no SQL: where
 * a decision needs stored state (a one-time challenge) or a remote
 * answer (a webhook), server/ hands in a struct policy_ops.  OpenSSL types
 * only.  Every refusal carries a reason an operator can read in the log
 * (never the secret itself).
 */
#ifndef SCEPD_POLICY_H
#define SCEPD_POLICY_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* How a profile authenticates a new enrollment. */
enum policy_challenge_mode {
	POLICY_CHALLENGE_STATIC = 0,	/* one shared secret per profile */
	POLICY_CHALLENGE_DYNAMIC,	/* one-time, minted by the API */
	POLICY_CHALLENGE_WEBHOOK,	/* delegated to a validator */
	POLICY_CHALLENGE_INTUNE,	/* delegated to Microsoft Intune */
};
#define POLICY_CHALLENGE_NMODES	4	/* a profile lists each at most once */

enum policy_approval {
	POLICY_APPROVAL_AUTO = 0,
	POLICY_APPROVAL_MANUAL,		/* PENDING until scepctl pending approve */
};

/* A list of strings (patterns, EKU names, ...). */
struct policy_list {
	char	**v;
	size_t	  n;
};

/*
 * What goes into a certificate.  Extensions come from here, never copied
 * unchecked from the CSR.  String values may hold variables in braces,
 * expanded by policy_plan():
 *   {csr.cn} {csr.subject} {csr.o} {csr.ou} (from the CSR subject),
 *   {device_id} {sid} (from the challenge binding or the validator),
 *   {var.NAME} (a template value the validator returned).
 */
struct policy_template {
	char			*subject;	/* NULL: the CSR's subject exactly;
						 * else "/O=Acme/CN={device_id}" */
	/*
	 * SANs the CSR may ask for, by type, as shell-style patterns
	 * ("*.example.com", "*@example.com", "tag:microsoft.com,2022-09-14:sid:*").
	 * A SAN of a type with no patterns, or matching none, is refused.
	 */
	struct policy_list	 san_dns;
	struct policy_list	 san_email;
	struct policy_list	 san_upn;
	struct policy_list	 san_uri;
	int			 san_ip;	/* IP SANs allowed */
	/* SANs always added: "DNS:{device_id}.example.com", "URI:...". */
	struct policy_list	 san_add;
	int			 rsa_min_bits;	/* default 2048 */
	int			 rsa_max_bits;	/* default 4096 */
	int			 ec_p256;	/* EC P-256 CSR keys allowed */
	int			 ec_p384;
	int			 validity_days;	/* default */
	int			 max_validity_days; /* cap, also for ValidityPeriod */
	long			 backdate_seconds;
	unsigned		 key_usage;	/* X509v3 KU_* bits */
	struct policy_list	 eku;		/* "clientAuth", ... or OIDs */
	char			*crl_url;	/* CRL distribution point, or NULL */
	char			*ocsp_url;	/* AIA OCSP, or NULL */
	char			*ca_issuers_url; /* AIA caIssuers, or NULL */
	int			 sid_extension;	/* 1.3.6.1.4.1.311.25.2 when a SID is known */
	/*
	 * The operator accepts that the CSR names the SID (san_uri allows
	 * Intune's SID URI) without a validator vouching for it: see
	 * policy_sid_from_csr().
	 */
	int			 sid_from_csr_acknowledged;
	char			*device_id;	/* "{csr.cn}": the device a certificate
						 * is for when neither a challenge nor
						 * the validator names one; NULL: none */
};

/* Renewal authenticated by a certificate this CA issued (RFC 8894 2.5). */
struct policy_renewal {
	int	enabled;
	int	window_percent;		/* renew in the last N % of lifetime */
	int	supersede_grace_days;	/* old certificate revoked after this */
};

/* The webhook a profile delegates validation to. */
struct policy_webhook {
	char	*url;			/* http:// or https:// */
	char	*secret;		/* HMAC-SHA256 key for the signature header */
	int	 timeout_ms;		/* per attempt */
	int	 notify;		/* send issuance/refusal notifications */
};

/* Everything a profile decides by; plain data, filled by server/conf.c. */
struct policy_profile {
	char				*name;		/* "default" for /scep */
	/*
	 * Tried in order; the first mode that recognises the challenge
	 * decides (see policy_decide()).  At least one.
	 */
	enum policy_challenge_mode	 challenge_modes[POLICY_CHALLENGE_NMODES];
	size_t				 nchallenge_modes;
	char				*static_challenge; /* STATIC */
	int				 challenge_ttl_minutes; /* DYNAMIC, default 60 */
	struct policy_webhook		 webhook;	/* WEBHOOK */
	enum policy_approval		 approval;
	struct policy_renewal		 renewal;
	struct policy_template		 tmpl;
};

/* What a challenge or a validator says about the requester. */
#define POLICY_MAX_VARS	16
struct policy_binding {
	char	*device_id;		/* NULL if unknown */
	char	*subject;		/* expected subject ("/CN=x"), or NULL */
	struct policy_list sans;	/* expected SANs ("DNS:x"), if any */
	char	*sid;			/* Windows SID for strong mapping */
	char	*var_name[POLICY_MAX_VARS];	/* template values */
	char	*var_value[POLICY_MAX_VARS];
	size_t	 nvars;
};
void	policy_binding_clear(struct policy_binding *);

/* Outcomes of the stored-state and remote look-ups in struct policy_ops. */
enum policy_lookup {
	POLICY_LOOKUP_OK = 0,		/* valid; binding filled */
	POLICY_LOOKUP_UNKNOWN,		/* no such challenge */
	POLICY_LOOKUP_USED,		/* already consumed: possible replay */
	POLICY_LOOKUP_EXPIRED,
	POLICY_LOOKUP_DENIED,		/* the validator said no */
	POLICY_LOOKUP_ERROR,		/* store or validator unavailable */
};

/*
 * Provided by server/: consume a one-time challenge (atomically, inside
 * the enrollment's database transaction) and ask a delegated validator
 * (the webhook, or Intune for challenge_mode "intune").  reason is
 * filled for the log when the answer is not OK.
 */
struct policy_ops {
	enum policy_lookup (*consume_challenge)(void *ctx,
			    const struct policy_profile *, const char *challenge,
			    size_t len, struct policy_binding *out,
			    char *reason, size_t reasonlen);
	enum policy_lookup (*validate)(void *ctx, const struct policy_profile *,
			    X509_REQ *csr, const char *challenge, size_t len,
			    struct policy_binding *out, char *reason,
			    size_t reasonlen);
	void		   *ctx;
};

/* The certificate this CA issued that signed a renewal request. */
struct policy_signer {
	int		 known;		/* found in our records */
	int		 status_valid;	/* not on hold, not revoked */
	time_t		 not_before;
	time_t		 not_after;
	const char	*device_id;	/* bound device, or NULL */
	X509_NAME	*subject;	/* borrowed */
};

/* The facts of one PKCSReq or RenewalReq the decision is made on. */
struct policy_request {
	X509_REQ		*csr;		/* borrowed */
	const char		*challenge;	/* UTF-8, or NULL */
	size_t			 challenge_len;
	int			 renewal;	/* signed by a certificate we issued */
	const struct policy_signer *signer;	/* when renewal */
	int			 approved;	/* manual approval given */
	time_t			 now;
};

/* Mirrors RFC 8894 failInfo, so server/ can map it one to one. */
enum policy_fail {
	POLICY_FAIL_BAD_ALG = 0,
	POLICY_FAIL_BAD_MESSAGE_CHECK = 1,
	POLICY_FAIL_BAD_REQUEST = 2,
	POLICY_FAIL_BAD_TIME = 3,
	POLICY_FAIL_BAD_CERT_ID = 4,
};

enum policy_decision {
	POLICY_DENY = 0,
	POLICY_ISSUE,
	POLICY_PENDING,			/* manual approval required */
	/*
	 * Not decided: the one-time store or the validator could not answer
	 * (POLICY_LOOKUP_ERROR).  Transient: the client is to retry the same
	 * request, and nothing is recorded; a signed FAILURE would be final.
	 */
	POLICY_RETRY,
};

/* The certificate to issue, every field decided by the template. */
struct policy_plan {
	X509_NAME		*subject;	/* owned */
	GENERAL_NAMES		*san;		/* owned, NULL: none */
	time_t			 not_before;
	time_t			 not_after;
	unsigned		 key_usage;	/* KU_* bits */
	STACK_OF(ASN1_OBJECT)	*eku;		/* owned, NULL: none */
	char			*sid;		/* owned, NULL: no SID extension */
	const char		*crl_url;	/* borrowed from the profile */
	const char		*ocsp_url;
	const char		*ca_issuers_url;
	char			*device_id;	/* owned, NULL if unknown */
};

struct policy_verdict {
	enum policy_decision	 decision;
	enum policy_fail	 fail;		/* when DENY */
	char			 reason[256];	/* when DENY or RETRY, for the log */
	int			 bad_challenge;	/* DENY: no challenge passed */
	struct policy_plan	 plan;		/* when ISSUE or PENDING */
};
void	policy_verdict_clear(struct policy_verdict *);

/*
 * Decide a PKCSReq or RenewalReq for profile: authenticate it (static
 * challenge, one-time challenge, webhook, or, for a renewal the profile
 * allows, the signer certificate), then apply the template.  The
 * profile's challenge modes are tried in order and the first that
 * recognises the challenge decides: a matching static challenge, a
 * stored one-time challenge (a used or expired one is refused there and
 * then, never handed to the next mode), any answer of the validator.
 * When no mode recognises it, the reason names every mode's refusal; a
 * mode that cannot answer (store or validator down) makes the verdict
 * POLICY_RETRY.  ops may be NULL for a static-challenge profile.  Returns
 * 0 with *v filled (free with policy_verdict_clear()), -1 on an internal
 * error.
 */
int	policy_decide(const struct policy_profile *, const struct policy_ops *,
	    const struct policy_request *, struct policy_verdict *v);

/*
 * Apply the profile's template to csr with binding (may be NULL): the
 * subject, SANs against the allow-lists and the binding, the key rules,
 * validity (a Windows ValidityPeriod attribute is honoured up to the
 * maximum), key usage, EKU, SID.  Returns 0 and fills *plan, 1 and a
 * reason when the template refuses the request, -1 on an internal error.
 */
int	policy_plan(const struct policy_profile *, X509_REQ *csr,
	    const struct policy_binding *, time_t now, struct policy_plan *plan,
	    char *reason, size_t reasonlen);
void	policy_plan_clear(struct policy_plan *);

/*
 * Check a template when the configuration is loaded, before any request:
 * the subject template, san_add and device_id parse and name known
 * attributes and variables, every EKU is known and allowed, key usage has
 * no CA bits, URLs are IA5 text.  Returns 0, or 1 with err.
 */
int	policy_template_check(const struct policy_template *, char *err,
	    size_t errlen);

/*
 * Strong mapping (KB5014754) a requester could forge: 1 if profile p lets
 * the CSR choose the SID a domain controller maps the certificate to (a
 * template.san_uri pattern that can match Intune's SID URI, or a san_add
 * SID URI built from the CSR's names) while no validator vouches for the
 * CSR (a "static" or "dynamic" mode, or renewal), and the template does
 * not carry sid_from_csr_acknowledged.  Then *setting names the template
 * setting and why says why.  0 otherwise.
 */
int	policy_sid_from_csr(const struct policy_profile *p,
	    const char **setting, char *why, size_t whylen);

/*
 * Compare a presented secret with the expected one in time independent
 * of where they differ and of their lengths.  1 equal, 0 not, -1 error.
 */
int	policy_secret_equal(const char *expected, size_t expected_len,
	    const char *given, size_t given_len);

/*
 * One-time challenges.  policy_challenge_new() writes a fresh challenge
 * of 128 random bits as 32 upper-case hex digits (the [A-Z0-9]{16,32}
 * shape NDES hands out, which MDMs scrape) and a NUL into buf; len must
 * be at least 33.  Returns 0 or -1.
 */
#define POLICY_CHALLENGE_LEN	32
int	policy_challenge_new(char *buf, size_t len);
/*
 * The form a one-time challenge is stored and looked up in:
 * HMAC-SHA-256(key, profile || 0x00 || challenge), so a database copy
 * yields no challenge and one profile's challenge is unknown to another.
 * Returns 0 or -1.
 */
int	policy_challenge_mac(const unsigned char key[32], const char *profile,
	    const char *challenge, size_t len, unsigned char out[32]);

/* 1 if the profile's challenge_mode list holds mode, else 0. */
int	policy_profile_has_mode(const struct policy_profile *,
	    enum policy_challenge_mode);
/*
 * A mode's configuration name ("static", "dynamic", "webhook"), and back:
 * policy_challenge_mode_from_name() returns 0 and sets *mode, or -1 for a
 * name that is none of them.
 */
const char *policy_challenge_mode_name(enum policy_challenge_mode);
int	policy_challenge_mode_from_name(const char *,
	    enum policy_challenge_mode *mode);

/* Set defaults in a zeroed profile (template: CSR subject, RSA 2048..4096,
 * 365 days, digitalSignature+keyEncipherment, clientAuth). */
void	policy_profile_defaults(struct policy_profile *);
/* Free what a profile owns. */
void	policy_profile_clear(struct policy_profile *);

#endif /* SCEPD_POLICY_H */
