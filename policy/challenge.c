/*
 * Challenge checks.  Static challenges are compared through HMAC-SHA-256
 * under a per-process random key: the comparison then takes the same time
 * whatever the lengths and the position of the first difference
 * (reliability.md H-51), and no early exit can leak a prefix.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

