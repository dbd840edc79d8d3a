/*
 * Challenge checks.  Static challenges are compared through HMAC-SHA-256
 * under a per-process random key: the comparison then takes the same time
 * whatever the lengths and the position of the first difference
 * (no timing side channel), and no early exit can leak a prefix.
 * One-time challenges are made here and stored as a keyed MAC only.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "policy/policy.h"

static unsigned char	mac_key[32];
static int		mac_key_ok;
static pthread_once_t	mac_key_once = PTHREAD_ONCE_INIT;

static void
mac_key_init(void)
{
	mac_key_ok = RAND_bytes(mac_key, sizeof(mac_key)) == 1;
}

static int
mac(const char *s, size_t len, unsigned char out[32])
{
	unsigned int	 outlen = 32;

	if (HMAC(EVP_sha256(), mac_key, sizeof(mac_key),
	    (const unsigned char *)s, len, out, &outlen) == NULL)
		return -1;
	return 0;
}

int
policy_secret_equal(const char *expected, size_t expected_len,
    const char *given, size_t given_len)
{
	unsigned char	a[32], b[32];
	int		rc = -1;

	if (pthread_once(&mac_key_once, mac_key_init) != 0 || !mac_key_ok)
		return -1;
	if (mac(expected, expected_len, a) == 0 &&
	    mac(given, given_len, b) == 0)
		rc = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}


int
policy_challenge_new(char *buf, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 r[POLICY_CHALLENGE_LEN / 2];
	size_t			 i;
	int			 rc = -1;

	if (buf == NULL || len < POLICY_CHALLENGE_LEN + 1)
		goto out;
	if (RAND_bytes(r, sizeof(r)) != 1)
		goto out;
	for (i = 0; i < sizeof(r); i++) {
		buf[2 * i] = hex[r[i] >> 4];
		buf[2 * i + 1] = hex[r[i] & 0xf];
	}
	buf[POLICY_CHALLENGE_LEN] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(r, sizeof(r));
	return rc;
}

int
policy_challenge_mac(const unsigned char key[32], const char *profile,
    const char *challenge, size_t len, unsigned char out[32])
{
	EVP_MAC		*m = NULL;	/* owned */
	EVP_MAC_CTX	*ctx = NULL;	/* owned */
	OSSL_PARAM	 params[2];
	size_t		 outlen = 0;
	int		 rc = -1;

	if (key == NULL || profile == NULL || challenge == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(m)) == NULL ||
	    !EVP_MAC_init(ctx, key, 32, params) ||
	    /* The NUL keeps ("ab", "c") apart from ("a", "bc"). */
	    !EVP_MAC_update(ctx, (const unsigned char *)profile,
	    strlen(profile) + 1) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)challenge, len) ||
	    !EVP_MAC_final(ctx, out, &outlen, 32) || outlen != 32)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return rc;
}
