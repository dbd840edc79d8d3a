/*
 * Algorithm names and objects, OpenSSL's legacy provider, and the OIDs
 * of the SCEP signed attributes (RFC 8894 3.2.1).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

#include "pkcs7/local.h"

static const struct {
	const char	*name;
	int		 nid;
} ciphers[P7_CIPHER_COUNT] = {
	[P7_CIPHER_DES] =	{ "des",	NID_des_cbc },
	[P7_CIPHER_3DES] =	{ "3des",	NID_des_ede3_cbc },
	[P7_CIPHER_AES128] =	{ "aes128",	NID_aes_128_cbc },
	[P7_CIPHER_AES192] =	{ "aes192",	NID_aes_192_cbc },
	[P7_CIPHER_AES256] =	{ "aes256",	NID_aes_256_cbc },
};

static const struct {
	const char	*name;
	int		 nid;
} digests[P7_MD_COUNT] = {
	[P7_MD_MD5] =		{ "md5",	NID_md5 },
	[P7_MD_SHA1] =		{ "sha1",	NID_sha1 },
	[P7_MD_SHA224] =	{ "sha224",	NID_sha224 },
	[P7_MD_SHA256] =	{ "sha256",	NID_sha256 },
	[P7_MD_SHA384] =	{ "sha384",	NID_sha384 },
	[P7_MD_SHA512] =	{ "sha512",	NID_sha512 },
};

const char *
p7_cipher_name(enum p7_cipher c)
{
	if ((unsigned)c >= P7_CIPHER_COUNT)
		return NULL;
	return ciphers[c].name;
}

const char *
p7_digest_name(enum p7_digest d)
{
	if ((unsigned)d >= P7_MD_COUNT)
		return NULL;
	return digests[d].name;
}

int
p7_cipher_from_name(const char *name, enum p7_cipher *out)
{
	int	 i;

	for (i = 0; i < P7_CIPHER_COUNT; i++) {
		if (strcmp(name, ciphers[i].name) == 0) {
			*out = (enum p7_cipher)i;
			return 0;
		}
	}
	return -1;
}

int
p7_digest_from_name(const char *name, enum p7_digest *out)
{
	int	 i;

	for (i = 0; i < P7_MD_COUNT; i++) {
		if (strcmp(name, digests[i].name) == 0) {
			*out = (enum p7_digest)i;
			return 0;
		}
	}
	return -1;
}

int
p7_cipher_from_nid(int nid, enum p7_cipher *out)
{
	int	 i;

	for (i = 0; i < P7_CIPHER_COUNT; i++) {
		if (ciphers[i].nid == nid) {
			*out = (enum p7_cipher)i;
			return 0;
		}
	}
	return -1;
}

int
p7_digest_from_nid(int nid, enum p7_digest *out)
{
	int	 i;

	for (i = 0; i < P7_MD_COUNT; i++) {
		if (digests[i].nid == nid) {
			*out = (enum p7_digest)i;
			return 0;
		}
	}
	return -1;
}

/*
 * The static EVP objects are usable only if a loaded provider implements
 * them: single DES needs the legacy provider, and a FIPS configuration
 * drops MD5.  Fetching tells; a digest known to libcrypto but unavailable
 * must never reach the PKCS#7 code (CVE-2023-0401).
 */
const EVP_MD *
p7_digest_md(enum p7_digest d)
{
	const EVP_MD	*md;
	EVP_MD		*fetched;

	if ((unsigned)d >= P7_MD_COUNT)
		return NULL;
	if ((md = EVP_get_digestbynid(digests[d].nid)) == NULL)
		return NULL;
	if ((fetched = EVP_MD_fetch(NULL, OBJ_nid2sn(digests[d].nid),
	    NULL)) == NULL)
		return NULL;
	EVP_MD_free(fetched);
	return md;
}

const EVP_CIPHER *
p7_cipher_evp(enum p7_cipher c)
{
	const EVP_CIPHER	*cipher;
	EVP_CIPHER		*fetched;

	if ((unsigned)c >= P7_CIPHER_COUNT)
		return NULL;
	if ((cipher = EVP_get_cipherbynid(ciphers[c].nid)) == NULL)
		return NULL;
	if ((fetched = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(ciphers[c].nid),
	    NULL)) == NULL)
		return NULL;
	EVP_CIPHER_free(fetched);
	return cipher;
}

static CRYPTO_ONCE	 legacy_once = CRYPTO_ONCE_STATIC_INIT;
static OSSL_PROVIDER	*legacy_prov;	/* loaded for the process lifetime */
static OSSL_PROVIDER	*default_prov;

static void
legacy_init(void)
{
	/*
	 * Loading any provider explicitly stops the implicit load of the
	 * default one, so load both.
	 */
	legacy_prov = OSSL_PROVIDER_load(NULL, "legacy");
	default_prov = OSSL_PROVIDER_load(NULL, "default");
}

int
p7_enable_legacy(void)
{
	if (CRYPTO_THREAD_run_once(&legacy_once, legacy_init) != 1)
		return -1;
	if (legacy_prov == NULL || default_prov == NULL)
		return -1;
	return 0;
}

static CRYPTO_ONCE	 nids_once = CRYPTO_ONCE_STATIC_INIT;
static struct p7_nids	 nids;
static int		 nids_ok;

static int
nid_for(const char *oid, const char *sn, const char *ln)
{
	int	 nid;

	/* Another library of the process may have created them. */
	if ((nid = OBJ_txt2nid(oid)) != NID_undef)
		return nid;
	return OBJ_create(oid, sn, ln);
}

static void
nids_init(void)
{
	nids.message_type = nid_for("2.16.840.1.113733.1.9.2",
	    "messageType", "SCEP messageType");
	nids.pki_status = nid_for("2.16.840.1.113733.1.9.3",
	    "pkiStatus", "SCEP pkiStatus");
	nids.fail_info = nid_for("2.16.840.1.113733.1.9.4",
	    "failInfo", "SCEP failInfo");
	nids.sender_nonce = nid_for("2.16.840.1.113733.1.9.5",
	    "senderNonce", "SCEP senderNonce");
	nids.recipient_nonce = nid_for("2.16.840.1.113733.1.9.6",
	    "recipientNonce", "SCEP recipientNonce");
	nids.transaction_id = nid_for("2.16.840.1.113733.1.9.7",
	    "transactionID", "SCEP transactionID");
	nids_ok = nids.message_type != NID_undef &&
	    nids.pki_status != NID_undef &&
	    nids.fail_info != NID_undef &&
	    nids.sender_nonce != NID_undef &&
	    nids.recipient_nonce != NID_undef &&
	    nids.transaction_id != NID_undef;
}

const struct p7_nids *
p7_nids(void)
{
	if (CRYPTO_THREAD_run_once(&nids_once, nids_init) != 1 || !nids_ok)
		return NULL;
	return &nids;
}
