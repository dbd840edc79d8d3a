/*
 * pkcs7/ -- all cryptography and ASN.1 of scepd: pkiMessage decoding
 * (RFC 8894 3), CertRep encoding, GetCACert encodings, certificate
 * issuance and CA/RA key handling.  This module depends on OpenSSL only;
 * it does no I/O besides reading and writing key/certificate files, and
 * no logging: failures are explained through (char *err, size_t errlen).
 */
#ifndef SCEPD_PKCS7_H
#define SCEPD_PKCS7_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* RFC 8894 3.2.1.2 messageType. */
enum p7_msg_type {
	P7_MSG_CERTREP = 3,
	P7_MSG_RENEWALREQ = 17,
	P7_MSG_PKCSREQ = 19,
	P7_MSG_CERTPOLL = 20,
	P7_MSG_GETCERT = 21,
	P7_MSG_GETCRL = 22,
};

/* RFC 8894 3.2.1.3 pkiStatus. */
enum p7_pki_status {
	P7_PKI_SUCCESS = 0,
	P7_PKI_FAILURE = 2,
	P7_PKI_PENDING = 3,
};

/* RFC 8894 3.2.1.4 failInfo. */
enum p7_fail_info {
	P7_FAIL_BAD_ALG = 0,
	P7_FAIL_BAD_MESSAGE_CHECK = 1,
	P7_FAIL_BAD_REQUEST = 2,
	P7_FAIL_BAD_TIME = 3,
	P7_FAIL_BAD_CERT_ID = 4,
};

/* Result of p7_req_parse(). */
enum p7_status {
	P7_OK = 0,
	P7_MALFORMED,	/* no answerable pkiMessage: HTTP 400 */
	P7_FAILED,	/* answer CertRep FAILURE, p7_req_fail_info() */
	P7_INTERNAL,	/* our fault (memory, key): HTTP 500 */
	P7_UNAVAILABLE,	/* no signer to decrypt with (remote keys): 503 */
};

/* Content-encryption algorithms (EnvelopedData). */
enum p7_cipher {
	P7_CIPHER_DES = 0,	/* legacy: RFC 8894 2.9 says MUST NOT */
	P7_CIPHER_3DES,
	P7_CIPHER_AES128,
	P7_CIPHER_AES192,
	P7_CIPHER_AES256,
	P7_CIPHER_COUNT
};

/* Message digests (SignerInfo digestAlgorithm). */
enum p7_digest {
	P7_MD_MD5 = 0,		/* legacy: RFC 8894 2.9 says MUST NOT */
	P7_MD_SHA1,
	P7_MD_SHA224,
	P7_MD_SHA256,
	P7_MD_SHA384,
	P7_MD_SHA512,
	P7_MD_COUNT
};

#define P7_BIT(x)	(1u << (x))

/* Which algorithms a request may use; bitmasks of P7_BIT(enum). */
struct p7_algs {
	unsigned	ciphers;
	unsigned	digests;
};

/* Text names ("aes128", "sha256", ...), as used in the configuration. */
const char	*p7_cipher_name(enum p7_cipher);
const char	*p7_digest_name(enum p7_digest);
int		 p7_cipher_from_name(const char *, enum p7_cipher *);
int		 p7_digest_from_name(const char *, enum p7_digest *);

/*
 * Load OpenSSL's legacy provider (single DES) next to the default one.
 * Called once at start-up when the configuration's legacy switch is on.
 * Returns 0, or -1 if the provider cannot be loaded.
 */
int		 p7_enable_legacy(void);

/*
 * A refusal that depends on decrypted bytes (wrong recipient, RSA block,
 * CBC padding, inner DER, CSR signature: badMessageCheck) is answered
 * no sooner than ms milliseconds after its pkiMessage began to be parsed,
 * so that its time tells nothing of which it was (no padding oracle:
 * docs/protocol.md).  0 (the default: tests, fuzzing) turns it off.
 * Set once at start-up.
 */
void		 p7_set_uniform_failure_ms(int ms);

/*
 * The CA: the issuing CA certificate and key, the chain above it up to
 * the root, and optionally an RA certificate and key that decrypt
 * requests and sign CertReps (NDES style).  Without an RA the CA key does
 * both.
 */
struct p7_ca;

/*
 * What unlocks the CA-side private keys (pkcs7/key_load.c): a passphrase
 * for encrypted PEM files (PKCS#8 "ENCRYPTED PRIVATE KEY"), from a file
 * (its first line) or a systemd credential ($CREDENTIALS_DIRECTORY/NAME,
 * its first line); and the PKCS#11 module and user PIN file for keys
 * named by an RFC 7512 pkcs11: URI.  NULL or "" is unset.
 */
struct p7_key_source {
	const char	*passphrase_file;
	const char	*passphrase_credential;
	const char	*pkcs11_module;		/* path of the module (.so) */
	const char	*pkcs11_pin_file;
};

/* 1 if ref names a key on a PKCS#11 token (starts "pkcs11:"), else 0. */
int		 p7_key_is_pkcs11(const char *ref);

/*
 * The private key ref names: a PEM file (encrypted or not) or an RFC 7512
 * pkcs11: URI, unlocked as src says (src may be NULL: neither passphrase
 * nor token).  Every CA, RA, previous CA and OCSP signer key scepd uses
 * is read here.  The PKCS#11 module is loaded at the first pkcs11: key,
 * not before, so a process forked before that call loads it afresh; it
 * stays loaded, logged in, until p7_key_shutdown().  The key may be used
 * by several threads at once.  Returns a key the caller frees, or NULL
 * with err (wrong passphrase, missing token or object, PIN refused...);
 * the passphrase and PIN are never in err.
 */
EVP_PKEY	*p7_key_load(const char *ref, const struct p7_key_source *src,
		    char *err, size_t errlen);

/*
 * Log out of every token and unload the PKCS#11 module.  Every key
 * p7_key_load() returned from a token must have been freed before.
 * Harmless when no module is loaded.
 */
void		 p7_key_shutdown(void);

/*
 * An RFC 7512 URI naming one private key: the token's label,
 * manufacturer, model and serial ("" matches any), the object's label
 * ("" any) and CKA_ID (id_len 0: any).  p7_pkcs11_uri_parse() accepts
 * only those path attributes and type=private, and no query attribute:
 * pin-value in particular is refused (the PIN comes from a file).  A
 * URI must name the object by object= or id=.  Returns 0, or -1 with
 * err.
 */
#define P7_P11_TEXT_MAX	128
#define P7_P11_ID_MAX	64
struct p7_pkcs11_uri {
	char		 token[P7_P11_TEXT_MAX + 1];
	char		 manufacturer[P7_P11_TEXT_MAX + 1];
	char		 model[P7_P11_TEXT_MAX + 1];
	char		 serial[P7_P11_TEXT_MAX + 1];
	char		 object[P7_P11_TEXT_MAX + 1];
	unsigned char	 id[P7_P11_ID_MAX];
	size_t		 id_len;
};
int		 p7_pkcs11_uri_parse(const char *uri, struct p7_pkcs11_uri *,
		    char *err, size_t errlen);

/*
 * Generate a key pair on the token uri names (RSA of bits bits, or with
 * ec set a P-256 key), labelled and identified as uri says (object= is
 * required; without id= a random CKA_ID is used and the key is found by
 * its label), private, sensitive and never extractable.  Refuses when a
 * private key of that label or id is on the token already.  Returns 0,
 * or -1 with err.  For scepctl ca init --pkcs11; p7_key_load() then
 * loads the key.
 */
int		 p7_key_generate(const char *uri, const struct p7_key_source *,
		    int ec, int bits, char *err, size_t errlen);

struct p7_ca_files {
	const char	*ca_cert;	/* PEM: issuing CA, then its chain */
	const char	*ca_key;	/* the issuing CA's key (p7_key_load) */
	const char	*ra_cert;	/* PEM RA certificate, or NULL */
	const char	*ra_key;	/* the RA's key, or NULL */
	const struct p7_key_source *keys; /* what unlocks them, or NULL */
};

/*
 * Load and check the CA (and RA): keys match certificates, the CA may sign
 * certificates, the RA (or the CA in CA mode) has an RSA key, the RA is
 * issued by the CA.  Returns NULL and explains in err on failure.
 */
struct p7_ca	*p7_ca_load(const struct p7_ca_files *, char *err, size_t errlen);
void		 p7_ca_free(struct p7_ca *);
/* The private keys the CA holds (CA, then RA if any): their number. */
int		 p7_ca_private_keys(const struct p7_ca *, EVP_PKEY *out[2]);
X509		*p7_ca_get0_cert(const struct p7_ca *);
/* 1 if an RA is configured, else 0. */
int		 p7_ca_has_ra(const struct p7_ca *);
/*
 * In CA mode the CA certificate is the one clients encrypt to and verify
 * CertReps with, so RFC 8894 2.1 wants keyEncipherment and
 * digitalSignature in its keyUsage.  NULL if it has both (or has no
 * keyUsage, which allows every use, or there is an RA), else the missing
 * bits as text ("keyEncipherment", ...), a static string.
 */
const char	*p7_ca_mode_usage_missing(const struct p7_ca *);
/*
 * 1 if name is one of the names a client may give this CA as the issuer
 * of an IssuerAndSerialNumber (GetCert, GetCRL) or IssuerAndSubject
 * (CertPoll), RFC 8894 3.3.3 and 3.3.4, else 0: the CA's subject; the
 * issuer of the CA certificate (certmonger names the issuer of the CA
 * certificate it holds, the root for an intermediate CA); the RA's
 * subject (sscep names the certificate it encrypts to).  A name says
 * nothing about a serial: check that with p7_ca_issued().
 */
int		 p7_ca_is_own_name(const struct p7_ca *, const X509_NAME *);
/*
 * 1 if crt was issued by this CA: its issuer is the CA's subject (and
 * its authorityKeyIdentifier, if any, the CA's key) and its signature
 * verifies with the CA's key, so a certificate of another CA of the
 * same name (a re-keyed CA) is not; else 0.
 */
int		 p7_ca_issued(const struct p7_ca *, X509 *crt);

/*
 * GetCACert body (RFC 8894 4.2.1): one DER certificate with content type
 * application/x-x509-ca-cert when there is no RA and the CA is a
 * self-signed root, else a degenerate certs-only SignedData of the RA (if
 * any), the issuing CA and its chain, application/x-x509-ca-ra-cert.
 * The buffer is owned by the CA object and lives as long as it.
 */
void		 p7_ca_getcacert(const struct p7_ca *, const unsigned char **der,
		    size_t *len, const char **content_type);

/* Options for p7_ca_create(). */
struct p7_ca_create {
	const char	*ca_subject;	/* e.g. "/O=scepd demo/CN=scepd demo CA" */
	int		 ca_bits;	/* RSA key size, e.g. 3072 */
	int		 ca_days;
	const char	*ra_subject;	/* NULL: no RA */
	int		 ra_bits;
	int		 ra_days;
	const char	*ca_cert_out;	/* PEM paths to write */
	const char	*ca_key_out;	/* written with mode 0600, or a
					 * pkcs11: URI: generated there */
	const char	*ra_cert_out;
	const char	*ra_key_out;	/* likewise */
	int		 ca_ec;		/* the CA key is P-256, not RSA */
	/* The token's module and PIN; a passphrase encrypts the key files. */
	const struct p7_key_source *keys; /* or NULL */
};

/*
 * Create a self-signed CA (keyUsage keyCertSign, cRLSign,
 * digitalSignature, and keyEncipherment when there is no RA, since
 * clients then encrypt to the CA; basicConstraints CA) and, if ra_subject
 * is set, an RA certificate issued by it (keyUsage digitalSignature,
 * keyEncipherment).  A key whose _out is a pkcs11: URI is generated on
 * the token (p7_key_generate); a key file is encrypted when keys
 * configures a passphrase.
 * Refuses to overwrite existing files.  Returns 0 or -1 with err.
 */
int		 p7_ca_create(const struct p7_ca_create *, char *err, size_t errlen);

/*
 * Check an existing CA key and chain for use by scepd (key matches the
 * first certificate, it is a CA allowed to sign certificates, the chain
 * verifies up to a self-signed root) and write them to the given paths.
 * key_in is read, and ca_key_out written, with the passphrase the key
 * source configures; when ca_key_out is a pkcs11: URI, key_in must be
 * that URI (the key is on the token already) and only the chain is
 * written.
 * Returns 0 or -1 with err.
 */
int		 p7_ca_import(const char *chain_in, const char *key_in,
		    const char *ca_cert_out, const char *ca_key_out,
		    const struct p7_key_source *, char *err, size_t errlen);

/*
 * A decoded pkiMessage.  p7_req_parse() checks, in this order: the outer
 * SignedData shape, the SCEP signed attributes, the messageType, the
 * digest against the allowed set, the signer's signature (PKCS#1 v1.5,
 * or RSASSA-PSS with parameters pkcs7/pss.c supports, else badAlg), the
 * content cipher against the allowed set, the envelope (decrypted with
 * the RA key, or the CA key in CA mode), the inner content for the
 * messageType (for PKCSReq and RenewalReq a PKCS#10 request whose own
 * signature, v1.5 or RSASSA-PSS, verifies; for PKCSReq the signer key
 * must equal the CSR key unless the signer certificate was issued by
 * this CA, see p7_req_signer_issued()).
 *
 * Returns P7_OK with *reqp set; P7_FAILED with *reqp set when the
 * attributes needed for a CertRep (transactionID, senderNonce, a
 * messageType) were read but the message is refused (failInfo in
 * p7_req_fail_info()); P7_MALFORMED or P7_INTERNAL with *reqp NULL.
 * Unknown messageTypes are P7_FAILED badRequest and are never decrypted.
 */
struct p7_req;

enum p7_status	 p7_req_parse(const struct p7_ca *, const unsigned char *der,
		    size_t len, const struct p7_algs *allowed,
		    struct p7_req **reqp, char *err, size_t errlen);
void		 p7_req_free(struct p7_req *);

/* The messageType as sent (may be one this module does not serve). */
int		 p7_req_message_type(const struct p7_req *);
/* NUL-terminated transactionID as sent (PrintableString). */
const char	*p7_req_get0_transaction_id(const struct p7_req *);
enum p7_fail_info p7_req_fail_info(const struct p7_req *);
enum p7_cipher	 p7_req_cipher(const struct p7_req *);
enum p7_digest	 p7_req_digest(const struct p7_req *);
/*
 * The signer certificate of the request (self-signed, or an old one).
 * NULL for a P7_FAILED request refused before its signer was looked up
 * (messageType not served, signer certificate not included).
 */
X509		*p7_req_get0_signer(const struct p7_req *);
/*
 * 1 if the signer certificate was issued by this CA (its signature
 * verifies with the CA key), else 0.  A PKCSReq signed that way is a
 * renewal in the sscep/certmonger manner (RFC 8894 2.3) and its
 * CSR key may differ from the signer key; server/ still checks that the
 * certificate is one of ours, valid and not revoked.
 */
int		 p7_req_signer_issued(const struct p7_req *);
/* The PKCS#10 request of a PKCSReq or RenewalReq, else NULL. */
X509_REQ	*p7_req_get0_csr(const struct p7_req *);
/* IssuerAndSubject of a CertPoll, IssuerAndSerialNumber of GetCert/GetCRL. */
X509_NAME	*p7_req_get0_issuer(const struct p7_req *);
X509_NAME	*p7_req_get0_subject(const struct p7_req *);
const ASN1_INTEGER *p7_req_get0_serial(const struct p7_req *);
/*
 * The challengePassword of the CSR as UTF-8, whatever string type carried
 * it.  Returns its length, or -1 if absent or longer than len - 1.  buf is
 * NUL-terminated; the caller cleanses it.
 */
int		 p7_req_challenge(const struct p7_req *, char *buf, size_t len);
/* SHA-256 of the signer's SubjectPublicKeyInfo DER. */
void		 p7_req_signer_key_sha256(const struct p7_req *, unsigned char out[32]);
/* SHA-256 of the CSR DER (zeros if there is no CSR). */
void		 p7_req_csr_sha256(const struct p7_req *, unsigned char out[32]);
/*
 * SHA-256 of the signer certificate's DER if this CA issued it (a
 * renewal), else zeros: a self-signed signer certificate only carries
 * the requester's key (RFC 8894 2.3), and clients such as sscep make a
 * new one on every run, so it is no part of what identifies a request.
 */
void		 p7_req_issued_signer_sha256(const struct p7_req *,
		    unsigned char out[32]);

/*
 * 17 bytes of CSPRNG output forming a positive DER INTEGER of at least
 * 128 random bits.  Returns 0 or -1.
 */
#define P7_SERIAL_LEN	17
int		 p7_serial_random(unsigned char out[P7_SERIAL_LEN]);

/*
 * What p7_issue() puts into a certificate besides the CSR's public key:
 * every field is decided by policy/ (the template), none is copied from
 * the CSR here.
 */
struct p7_issue {
	const unsigned char	*serial;	/* big-endian, positive */
	size_t			 serial_len;
	time_t			 not_before;
	time_t			 not_after;
	X509_NAME		*subject;	/* borrowed; NULL: the CSR's */
	GENERAL_NAMES		*san;		/* borrowed; NULL: no SAN */
	unsigned		 key_usage;	/* KU_* bits; 0: digitalSignature
						 * + keyEncipherment */
	STACK_OF(ASN1_OBJECT)	*eku;		/* borrowed; NULL: clientAuth */
	const char		*sid;		/* NULL: no SID extension */
	const char		*crl_url;	/* NULL: no CRL distribution point */
	const char		*ocsp_url;	/* NULL: no AIA OCSP */
	const char		*ca_issuers_url; /* NULL: no AIA caIssuers */
};

/*
 * Sign a certificate for csr's public key with the CA key: subject (RDN
 * order and string types kept), subjectAltName (non-critical, or critical
 * when the subject is empty), keyUsage (critical), extendedKeyUsage,
 * basicConstraints CA:FALSE, SKI/AKI, CRL distribution point and AIA
 * when given, and the Microsoft SID security extension
 * (1.3.6.1.4.1.311.25.2, as AD CS encodes it) when a SID is given.
 * SHA-256.  Returns 0 with *out set, or -1 with err.
 */
int		 p7_issue(const struct p7_ca *, X509_REQ *csr,
		    const struct p7_issue *, X509 **out, char *err, size_t errlen);

/*
 * Certificates p7_issue() has signed since the process started: what
 * scepd says when it stops, so that a test can count signatures against
 * the successes it saw (a refused request is never signed).
 */
unsigned long	 p7_issued_count(void);

/* What the database records of an issued certificate. */
struct p7_cert_desc {
	char		 serial[2 * 20 + 1];	/* upper-case hex */
	char		*subject;		/* RFC 2253, owned */
	char		*issuer;		/* RFC 2253, owned */
	char		*sans;			/* "DNS:a, IP:b", owned, "" if none */
	time_t		 not_before;
	time_t		 not_after;
	unsigned char	*der;			/* owned */
	size_t		 der_len;
	unsigned char	 key_sha256[32];	/* of the SubjectPublicKeyInfo */
	unsigned char	 sha1[20];		/* thumbprint of the DER */
};

int		 p7_cert_describe(X509 *, struct p7_cert_desc *);
/*
 * The CA's subject as p7_cert_describe() writes issuers: the key under
 * which the database keeps this CA's certificates and CRL.  malloc'd.
 */
char		*p7_ca_issuer_text(const struct p7_ca *);
/*
 * The CA's key as the database tells CA keys apart (a re-keyed CA keeps
 * its name): lower-case hex SHA-256 of the CA certificate's
 * SubjectPublicKeyInfo.  p7_ca_file_ident() gives the name (malloc'd,
 * as p7_ca_issuer_text()) and key of the first certificate of a PEM file,
 * for a CA that is not loaded.  Both return 0 or -1 (with err).
 */
#define P7_CA_KEY_LEN	64
int		 p7_ca_key_text(const struct p7_ca *,
		    char out[P7_CA_KEY_LEN + 1]);
int		 p7_ca_file_ident(const char *path, char **issuer,
		    char key[P7_CA_KEY_LEN + 1], char *err, size_t errlen);
void		 p7_cert_desc_clear(struct p7_cert_desc *);

/*
 * Build a CertRep (RFC 8894 3.3.2) answering req, signed by the RA (or
 * CA) with exactly one SignerInfo (digestEncryptionAlgorithm
 * rsaEncryption) with the request's digest if allowed, else SHA-256.
 * Signed attributes: messageType "3", pkiStatus, failInfo (FAILURE only),
 * transactionID echoed, recipientNonce = the request's senderNonce, a
 * fresh senderNonce, all SCEP strings as PrintableString.  SUCCESS
 * carries issued (first) in a certs-only SignedData enveloped to the
 * request's signer certificate with the request's cipher.  FAILURE and
 * PENDING have no envelope: their content is id-data, present and zero
 * octets long, which PKCS7_verify() (certmonger) accepts where it refuses
 * a detached SignedData.  *der is allocated with OPENSSL_malloc.
 * Returns 0 or -1.
 */
int		 p7_certrep(const struct p7_ca *, const struct p7_req *,
		    enum p7_pki_status, enum p7_fail_info, X509 *issued,
		    unsigned char **der, size_t *len);

/*
 * CA rollover (pkcs7/nextca.c).  p7_ca_load_next() reads the next CA
 * certificate (PEM: the next CA first, then its chain, if any) and the
 * next RA certificate (or NULL), checks them (a CA with keyCertSign, not
 * the current CA; the RA issued by it, with an RSA key) and prepares the
 * GetNextCACert answer (RFC 8894 3.5.3, 4.7): a SignedData signed by the
 * current RA (or CA in CA mode) whose content is a degenerate certs-only
 * SignedData of the next RA, the next CA and its chain, served as
 * application/x-x509-next-ca-cert.  Returns 0 or -1 with err.
 */
int		 p7_ca_load_next(struct p7_ca *, const char *next_ca_cert,
		    const char *next_ra_cert, char *err, size_t errlen);
/*
 * The GetNextCACert body, owned by the CA object.  Returns 0, or -1 when
 * no next CA was loaded.
 */
int		 p7_ca_getnextcacert(const struct p7_ca *,
		    const unsigned char **der, size_t *len);

/* --- CRL and OCSP (pkcs7/crl.c, pkcs7/ocsp.c) --- */

/*
 * RFC 5280 5.3.1 CRLReason, also used by OCSP (RFC 6960 4.2.1).
 * removeFromCRL (8) belongs to delta CRLs and is not offered: a released
 * hold simply disappears from the next full CRL.
 */
enum p7_crl_reason {
	P7_CRL_REASON_NONE = -1,		/* no reasonCode */
	P7_CRL_REASON_UNSPECIFIED = 0,		/* written as no reasonCode */
	P7_CRL_REASON_KEY_COMPROMISE = 1,
	P7_CRL_REASON_CA_COMPROMISE = 2,
	P7_CRL_REASON_AFFILIATION_CHANGED = 3,
	P7_CRL_REASON_SUPERSEDED = 4,
	P7_CRL_REASON_CESSATION_OF_OPERATION = 5,
	P7_CRL_REASON_CERTIFICATE_HOLD = 6,
	P7_CRL_REASON_PRIVILEGE_WITHDRAWN = 9,
	P7_CRL_REASON_AA_COMPROMISE = 10,
};

/*
 * RFC 5280 names ("keyCompromise", "certificateHold", ...): the name of
 * a reason, NULL if it is not one of the enum; the reason of a name
 * (case-insensitive), 0 or -1.  p7_crl_reason_valid(): 1 for NONE and
 * every enum value, else 0.
 */
const char	*p7_crl_reason_name(int);
int		 p7_crl_reason_from_name(const char *, int *);
int		 p7_crl_reason_valid(int);

/* One revoked (or held) certificate of a CRL. */
struct p7_crl_entry {
	const char	*serial;	/* hex as db/ stores it, no sign, borrowed */
	time_t		 revoked_at;	/* revocationDate */
	int		 reason;	/* enum p7_crl_reason */
};

/*
 * Sign an X.509 v2 CRL (RFC 5280 5) with the CA key (never the RA's),
 * SHA-256: issuer the CA subject, thisUpdate, nextUpdate (must be later),
 * authorityKeyIdentifier, cRLNumber crl_number (kept monotonic by the
 * caller), and the n entries sorted by serial, each with a reasonCode
 * unless NONE or UNSPECIFIED.  Refuses a bad serial, a reason outside the
 * enum, a serial listed twice, and a CA whose keyUsage lacks cRLSign.
 * *der is OPENSSL_malloc'd.  Returns 0, or -1 with err.
 */
int		 p7_crl_sign(const struct p7_ca *, const struct p7_crl_entry *,
		    size_t n, uint64_t crl_number, time_t this_update,
		    time_t next_update, unsigned char **der, size_t *len,
		    char *err, size_t errlen);

/*
 * The degenerate certs-only SignedData (RFC 8894 3.4) with the DER CRL
 * crl_der in its crls and no certificates: the content of a GetCRL
 * answer's pkcsPKIEnvelope (RFC 8894 3.3.2.1).  *out is OPENSSL_malloc'd.
 * Returns 0, or -1 if crl_der is not exactly one CRL or on memory failure.
 */
int		 p7_crl_certs_only(const unsigned char *crl_der, size_t len,
		    unsigned char **out, size_t *outlen);

/*
 * CertRep SUCCESS answering a GetCRL req (RFC 8894 3.3.2.1, 4.6): as
 * p7_certrep() SUCCESS, with the pkcsPKIEnvelope holding
 * p7_crl_certs_only() of crl_der instead of an issued certificate.
 * Returns 0 or -1.
 */
int		 p7_certrep_crl(const struct p7_ca *, const struct p7_req *,
		    const unsigned char *crl_der, size_t crl_len,
		    unsigned char **der, size_t *len);

/* RFC 6960 4.2.1 CertStatus. */
enum p7_ocsp_cert_status {
	P7_OCSP_GOOD = 0,
	P7_OCSP_REVOKED = 1,
	P7_OCSP_UNKNOWN = 2,
};

/* RFC 6960 4.2.1 OCSPResponseStatus, the unsuccessful ones. */
enum p7_ocsp_resp_status {
	P7_OCSP_MALFORMED_REQUEST = 1,
	P7_OCSP_INTERNAL_ERROR = 2,
	P7_OCSP_TRY_LATER = 3,
	P7_OCSP_SIG_REQUIRED = 5,
	P7_OCSP_UNAUTHORIZED = 6,
};

/* More CertIDs in one request are refused (malformedRequest). */
#define P7_OCSP_MAX_CERTIDS	64

/*
 * A decoded OCSPRequest (RFC 6960 4.1).  p7_ocsp_request_parse() takes
 * exactly one DER OCSPRequest (no trailing bytes) with 1 to
 * P7_OCSP_MAX_CERTIDS CertIDs; it refuses an unknown critical extension
 * (RFC 6960 4.4).  A request signature, if any, is not checked (we do not
 * require signed requests).  For each CertID it notes whether it names
 * our CA: issuerNameHash and issuerKeyHash equal the CA's, computed with
 * the CertID's hashAlgorithm (SHA-1, SHA-256, SHA-384 or SHA-512; any
 * other is simply not ours).  Returns 0 with *out set, or -1 with err:
 * answer p7_ocsp_error(P7_OCSP_MALFORMED_REQUEST).
 */
struct p7_ocsp_req;

int		 p7_ocsp_request_parse(const struct p7_ca *,
		    const unsigned char *der, size_t len,
		    struct p7_ocsp_req **out, char *err, size_t errlen);
void		 p7_ocsp_req_free(struct p7_ocsp_req *);
/* Number of CertIDs, at least 1. */
size_t		 p7_ocsp_req_count(const struct p7_ocsp_req *);
/*
 * 1 if CertID i is for a certificate of our CA with a serial that can be
 * one of ours (positive, at most 20 octets), else 0: answer unknown.
 */
int		 p7_ocsp_req_ours(const struct p7_ocsp_req *, size_t i);
/*
 * Serial of CertID i as db/ stores serials: upper-case hex without
 * leading zeros (db_serial_norm()).  NULL if it cannot be one of ours
 * (negative or longer than 20 octets).
 */
const char	*p7_ocsp_req_serial(const struct p7_ocsp_req *, size_t i);
/*
 * The nonce extension's extnValue (RFC 6960 4.4.1; normally the DER
 * OCTET STRING), echoed by p7_ocsp_respond(); NULL if the request has
 * none, or one outside RFC 8954's 1 to 32 octets, which is then not
 * echoed.  A response to a request without a nonce may be cached.
 */
const unsigned char *p7_ocsp_req_get0_nonce(const struct p7_ocsp_req *,
		    size_t *len);

/* The answer for one CertID. */
struct p7_ocsp_status {
	int		 status;	/* enum p7_ocsp_cert_status */
	time_t		 revoked_at;	/* REVOKED only */
	int		 reason;	/* REVOKED only: enum p7_crl_reason;
					 * hold is REVOKED + CERTIFICATE_HOLD */
	time_t		 this_update;	/* required */
	time_t		 next_update;	/* 0: none, else after this_update */
};

/*
 * A delegated OCSP signer (RFC 6960 4.2.2.2): a certificate issued by
 * the CA with extendedKeyUsage id-kp-OCSPSigning, and its key.
 * p7_ocsp_signer_load() checks both, that the key matches, and that the
 * certificate is currently valid.  Returns NULL with err on failure.
 */
struct p7_ocsp_signer;

struct p7_ocsp_signer *p7_ocsp_signer_load(const struct p7_ca *,
		    const char *cert, const char *key,
		    const struct p7_key_source *, char *err, size_t errlen);
void		 p7_ocsp_signer_free(struct p7_ocsp_signer *);
X509		*p7_ocsp_signer_get0_cert(const struct p7_ocsp_signer *);
EVP_PKEY	*p7_ocsp_signer_get0_key(const struct p7_ocsp_signer *);

/*
 * Create a delegated OCSP signer with the CA key: a P-256 key and a
 * certificate CN=cn valid for days (keyUsage digitalSignature,
 * extendedKeyUsage OCSPSigning, id-pkix-ocsp-nocheck as RFC 6960
 * 4.2.2.2.1 suggests, so keep days short), written to cert_out and
 * key_out (mode 0600); refuses to overwrite existing files.  Returns 0,
 * or -1 with err.
 */
int		 p7_ocsp_signer_create(const struct p7_ca *, const char *cn,
		    int days, const char *cert_out, const char *key_out,
		    char *err, size_t errlen);

/*
 * A successful OCSPResponse (RFC 6960 4.2.1) answering req: a
 * BasicOCSPResponse with one SingleResponse per CertID, in request order,
 * from per_certid[i] (p7_ocsp_req_count() of them); CertIDs that are not
 * ours are answered unknown whatever per_certid says.  The nonce is
 * echoed when the request had one; responderID byKey; producedAt now;
 * signed with SHA-256 by signer, or by the CA key when signer is NULL;
 * the signing certificate is included either way.  *der is
 * OPENSSL_malloc'd.  Returns 0, or -1 with err (a bad status: answer
 * P7_OCSP_INTERNAL_ERROR).
 */
int		 p7_ocsp_respond(const struct p7_ca *,
		    const struct p7_ocsp_req *,
		    const struct p7_ocsp_status *per_certid,
		    const struct p7_ocsp_signer *signer, unsigned char **der,
		    size_t *len, char *err, size_t errlen);

/*
 * An unsuccessful OCSPResponse (no responseBytes) with the given status.
 * *der is OPENSSL_malloc'd.  Returns 0, or -1 on a bad status or memory
 * failure.
 */
int		 p7_ocsp_error(enum p7_ocsp_resp_status, unsigned char **der,
		    size_t *len);

/*
 * Keys held by another process (pkcs7/remote_key.c).  A remote key is an
 * EVP_PKEY made of a public key; each private operation on it becomes one
 * call of the function given to p7_remote_init(), naming the key by the
 * SHA-256 of its SubjectPublicKeyInfo, which the holder of the key
 * answers with p7_remote_perform().  Once p7_remote_init() has been
 * called, p7_ca_load() and p7_ocsp_signer_load() read no key file: they
 * make remote keys of the certificates' public keys.
 */
#define P7_KEY_ID_LEN		32
#define P7_REMOTE_UNAVAILABLE	(-2)
enum p7_remote_op {
	P7_REMOTE_SIGN = 1,	/* in: a digest of md_nid; out: signature */
	P7_REMOTE_DECRYPT = 2,	/* in: an RSA PKCS #1 v1.5 block; out: plain */
};

/*
 * What a private operation is for, counted by the holder per key (the
 * audit of key use, docs/keys.md): pkcs7/ sets it before each operation
 * with p7_remote_set_purpose(), and every call of this thread carries it
 * until it is set again.
 */
enum p7_purpose {
	P7_PURPOSE_NONE = 0,	/* not set: the holder refuses the call */
	P7_PURPOSE_CERT,	/* a certificate (X509_sign) */
	P7_PURPOSE_CERTREP,	/* a CertRep or GetNextCACert's answer */
	P7_PURPOSE_CRL,
	P7_PURPOSE_OCSP,	/* a BasicOCSPResponse */
	P7_PURPOSE_DECRYPT,	/* an envelope's key block, or its decoy */
	P7_PURPOSE_MAX
};

struct p7_remote_call {
	enum p7_remote_op	 op;
	enum p7_purpose		 purpose;
	unsigned char		 key_id[P7_KEY_ID_LEN];
	int			 md_nid;
	const unsigned char	*in;
	size_t			 in_len;
	unsigned char		*out;
	size_t			 out_cap;
	size_t			 out_len;	/* set by the call */
};

/*
 * Returns 0 with out_len set, -1 if the holder refused or failed, or
 * P7_REMOTE_UNAVAILABLE if there was no holder to ask (transient: HTTP
 * 503, not a FAILURE).
 */
typedef int	(*p7_remote_fn)(void *, struct p7_remote_call *);

/*
 * Load the provider and send every call of a remote key to fn (again:
 * change fn).  Returns 0, or -1 with err.
 */
int		 p7_remote_init(p7_remote_fn fn, void *arg, char *err,
		    size_t errlen);
/* Unload the provider, once every remote key is freed. */
void		 p7_remote_shutdown(void);
/* 1 once p7_remote_init() was called in this process, else 0. */
int		 p7_remote_active(void);
/* A key whose private half the holder has; pub: its public key. */
EVP_PKEY	*p7_remote_key(EVP_PKEY *pub, char *err, size_t errlen);
/*
 * 1 if a remote operation of this thread found no holder since the last
 * p7_remote_clear() (call it as each request begins), else 0.
 */
int		 p7_remote_unavailable(void);
/*
 * 1 if the holder answered a remote operation of this thread with a
 * refusal or a failure since the last p7_remote_clear(), else 0: a
 * decision of the holder's, not a transient failure.
 */
int		 p7_remote_refused(void);
void		 p7_remote_clear(void);
/* The purpose of this thread's next remote calls. */
void		 p7_remote_set_purpose(enum p7_purpose);
/* "certificate", "certrep", "crl", "ocsp", "decrypt"; NULL if none. */
const char	*p7_purpose_name(enum p7_purpose);
/* The name of a key in a call: SHA-256 of its SubjectPublicKeyInfo. */
int		 p7_key_id(EVP_PKEY *, unsigned char id[P7_KEY_ID_LEN]);
/*
 * The holder's side: perform c with key (RSA PKCS #1 v1.5 or ECDSA over
 * a digest of a hash scepd uses; RSA PKCS #1 v1.5 decryption), writing
 * at most c->out_cap bytes.  Returns 0, or -1.
 */
int		 p7_remote_perform(EVP_PKEY *key, struct p7_remote_call *c);

#endif /* SCEPD_PKCS7_H */
