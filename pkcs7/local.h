/*
 * Private to pkcs7/: the structures behind the opaque types of pkcs7.h
 * and helpers shared by its files.
 */
#ifndef SCEPD_PKCS7_LOCAL_H
#define SCEPD_PKCS7_LOCAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pkcs7/pkcs7.h"

struct p7_ca {
	X509		*ca;		/* issuing CA certificate */
	EVP_PKEY	*ca_key;
	STACK_OF(X509)	*chain;		/* above ca, up to the root; may be empty */
	X509		*ra;		/* NULL in CA mode */
	EVP_PKEY	*ra_key;	/* NULL in CA mode */
	unsigned char	*getcacert;	/* GetCACert body */
	size_t		 getcacert_len;
	const char	*getcacert_type;
	unsigned char	*getnextcacert;	/* GetNextCACert body, NULL if no
					 * next CA (pkcs7/nextca.c) */
	size_t		 getnextcacert_len;
};

EVP_PKEY	*p7_key_for(const char *ref, const struct p7_key_source *,
		    X509 *cert, char *err, size_t errlen);

/* The certificate and key that decrypt requests and sign CertReps. */
#define P7_CA_RECIPIENT(c)	((c)->ra != NULL ? (c)->ra : (c)->ca)
#define P7_CA_RECIPIENT_KEY(c)	((c)->ra != NULL ? (c)->ra_key : (c)->ca_key)

#define P7_NONCE_LEN		16
#define P7_TRANSID_MAX		128	/* longer IDs are refused */

struct p7_req {
	int			 msg_type;
	char			 transaction_id[P7_TRANSID_MAX + 1];
	unsigned char		 sender_nonce[P7_NONCE_LEN];
	enum p7_fail_info	 fail_info;
	enum p7_cipher		 cipher;
	enum p7_digest		 digest;
	int			 digest_allowed;	/* reply may use digest */
	int			 cipher_allowed;	/* reply may use cipher */
	X509			*signer;	/* owned */
	X509_REQ		*csr;		/* owned, PKCSReq/RenewalReq */
	X509_NAME		*issuer;	/* owned, CertPoll/GetCert/GetCRL */
	X509_NAME		*subject;	/* owned, CertPoll */
	ASN1_INTEGER		*serial;	/* owned, GetCert/GetCRL */
	unsigned char		 csr_sha256[32];	/* of the CSR as sent */
	unsigned char		 signer_key_sha256[32];	/* of its SPKI */
	unsigned char		 issued_signer_sha256[32]; /* zeros: not ours */
	int			 signer_issued;	/* signer cert is from our CA */
};

/* EVP objects for the enums; NULL if unknown or unavailable. */
const EVP_MD		*p7_digest_md(enum p7_digest);
const EVP_CIPHER	*p7_cipher_evp(enum p7_cipher);
/* Map an algorithm OID's NID to the enums: 0, or -1 if not one of ours. */
int			 p7_cipher_from_nid(int, enum p7_cipher *);
int			 p7_digest_from_nid(int, enum p7_digest *);

/*
 * RSASSA-PSS parameters of a signature AlgorithmIdentifier (pkcs7/pss.c).
 * p7_pss_params() decodes and checks them for the RSA key pub; want_hash
 * is the NID the hash must be (the SignerInfo digestAlgorithm) or
 * NID_undef for any supported one.  Returns 0, or -1 with the reason in
 * err.  p7_pss_verify_ctx() applies them to a DigestVerify context:
 * 0 or -1.
 */
struct p7_pss {
	const EVP_MD	*md;		/* hash and MGF1 hash */
	int		 saltlen;
};
int			 p7_pss_params(const X509_ALGOR *, EVP_PKEY *pub,
			    int want_hash, struct p7_pss *, char *err,
			    size_t errlen);
int			 p7_pss_verify_ctx(EVP_PKEY_CTX *, const struct p7_pss *);

/*
 * DER of a degenerate certs-only SignedData (RFC 8894 3.4): no signers,
 * content type data with the content omitted, certs in the given order.
 * *der is OPENSSL_malloc'd.  Returns 0 or -1.
 */
int			 p7_certs_only(STACK_OF(X509) *, unsigned char **der,
			    size_t *len);

/* NIDs of the SCEP signed attributes (2.16.840.1.113733.1.9.x). */
struct p7_nids {
	int	message_type;
	int	pki_status;
	int	fail_info;
	int	sender_nonce;
	int	recipient_nonce;
	int	transaction_id;
};
/* Registers the OIDs once (thread-safe); NULL if that failed. */
const struct p7_nids	*p7_nids(void);

/* Add an extension given in openssl.cnf syntax ("critical,CA:FALSE"). */
int			 p7_add_ext(X509 *, X509V3_CTX *, int nid, const char *);

/*
 * Secrets for keys (pkcs7/key_load.c).  p7_read_secret() reads the first
 * line of path (what names it in err: "PIN file") into buf, which it
 * wipes on failure: 0, or -1 with err if it is unreadable, empty or too
 * long.  p7_key_passphrase() reads the passphrase src configures: 1,
 * 0 if none is, or -1 with err.  The caller wipes buf
 * (OPENSSL_cleanse).
 */
int			 p7_read_secret(const char *path, const char *what,
			    char *buf, size_t len, char *err, size_t errlen);
int			 p7_key_passphrase(const struct p7_key_source *,
			    char *buf, size_t len, char *err, size_t errlen);
/* "object=NAME", or "id=HEX" when the URI names no object, for messages. */
void			 p7_pkcs11_uri_text(const struct p7_pkcs11_uri *,
			    char *buf, size_t len);

#endif /* SCEPD_PKCS7_LOCAL_H */
