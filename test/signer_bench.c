/*
 * signerbench -- what keeping the keys in the signer process costs each
 * private-key operation, for `make bench` (docs/keys.md).  It starts the
 * signer the way scepd does (server/signer/supervisor.c: this program,
 * re-executed with -S, loads the configuration's keys), connects to it
 * as scepd's worker does (server/signer/client.c), and times the three
 * operations of an enrollment, each on the same key both ways: in this
 * process (the key read here) and through the signer (a remote key,
 * pkcs7/remote_key.c, the worker's path):
 *
 *   decrypt   the RA key opens an envelope's key block (RSA PKCS #1 v1.5)
 *   sign-ca   the CA key signs a certificate's SHA-256 digest
 *   sign-ra   the RA key signs a CertRep's SHA-256 digest
 *
 *   signerbench -c CONF -n N CAKEY RAKEY
 *
 * Run it pinned to one CPU (taskset): the signer inherits the pinning,
 * so an operation's wall time is the CPU both processes spend on it,
 * context switches included.  Prints one line per operation:
 *
 *   decrypt local_us=248.0 signer_us=263.7 round_trip_us=259.9
 *       signer_key_us=250.2
 *
 * each the mean of N operations: in process, through the signer as a
 * whole, of it the round trip on the socket (server/signer/client.c),
 * and of that the key operation in the signer.  The means are taken
 * over N operations, done in 10 alternating rounds of N / 10
 * so that a drift of the machine's speed weighs on both alike.  Exit 0,
 * or 1 when it cannot measure.  Benchmark tool, not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pkcs7/pkcs7.h"
#include "server/log.h"
#include "server/signer/signer.h"

#define ROUNDS	10

struct op {
	const char	*name;
	int		 decrypt;
	enum p7_purpose	 purpose;
	EVP_PKEY	*local, *remote;
	double		 local_us, signer_us;
	unsigned long	 calls, round_trip_us, key_us;	/* the client's counts */
};

static unsigned char	 digest[32];
static unsigned char	 block[1024];	/* an encrypted key block */
static size_t		 block_len;

static void
die(const char *what)
{
	fprintf(stderr, "signerbench: %s\n", what);
	exit(1);
}

/* One operation of op with key: 0 or -1. */
static int
once(const struct op *op, EVP_PKEY *key)
{
	EVP_PKEY_CTX	*ctx;
	unsigned char	 out[1024];
	size_t		 len = sizeof(out);
	int		 ok;

	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return -1;
	if (op->decrypt)
		ok = EVP_PKEY_decrypt_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_decrypt(ctx, out, &len, block, block_len) == 1 &&
		    len == 16;
	else
		ok = EVP_PKEY_sign_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(ctx, out, &len, digest, sizeof(digest)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* n operations of op with key; their mean wall time in microseconds. */
static double
timed(const struct op *op, EVP_PKEY *key, int n)
{
	struct timespec	t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		if (once(op, key) == -1) {
			fprintf(stderr, "signerbench: %s failed (%s)\n",
			    op->name, key == op->local ? "in process" :
			    "through the signer");
			exit(1);
		}
	return (double)log_us_since(&t0) / n;
}

/* The key in path, and a remote key of its public half. */
static void
keys(const char *path, EVP_PKEY **local, EVP_PKEY **remote)
{
	unsigned char	*der = NULL;
	const unsigned char *p;
	EVP_PKEY	*pub;
	char		 err[256];
	int		 len;

	if ((*local = p7_key_load(path, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "signerbench: %s: %s\n", path, err);
		exit(1);
	}
	if ((len = i2d_PUBKEY(*local, &der)) <= 0)
		die("i2d_PUBKEY");
	p = der;
	if ((pub = d2i_PUBKEY(NULL, &p, len)) == NULL)
		die("d2i_PUBKEY");
	OPENSSL_free(der);
	if ((*remote = p7_remote_key(pub, err, sizeof(err))) == NULL) {
		fprintf(stderr, "signerbench: remote key: %s\n", err);
		exit(1);
	}
	EVP_PKEY_free(pub);
}

/* A 16-byte key encrypted to key, as a client's envelope carries it. */
static void
encrypt_block(EVP_PKEY *key)
{
	EVP_PKEY_CTX	*ctx;
	unsigned char	 cek[16];

	block_len = sizeof(block);
	if (RAND_bytes(cek, sizeof(cek)) != 1 ||
	    (ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_encrypt(ctx, block, &block_len, cek, sizeof(cek)) != 1)
		die("cannot encrypt a key block");
	EVP_PKEY_CTX_free(ctx);
}

static void
usage(void)
{
	fprintf(stderr, "usage: signerbench -c CONF -n N CAKEY RAKEY\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct op	 ops[] = {
		{ .name = "decrypt", .decrypt = 1, .purpose = P7_PURPOSE_DECRYPT },
		{ .name = "sign-ca", .purpose = P7_PURPOSE_CERT },
		{ .name = "sign-ra", .purpose = P7_PURPOSE_CERTREP },
	};
	const char	*conf = NULL;
	char		*signer_argv[] = { (char *)(uintptr_t)"-S",
			    (char *)(uintptr_t)"-c", NULL, NULL };
	char		 err[256];
	int		 ch, n = 0, signer = 0, ctl;
	EVP_PKEY	*ca, *ca_remote, *ra, *ra_remote;

	while ((ch = getopt(argc, argv, "c:n:S")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'S': signer = 1; break;
		default: usage();
		}
	}
	if (conf == NULL)
		usage();
	log_init(signer ? "signerbench-signer" : "signerbench", 1, 0);
	if (signer)
		signer_main(conf);
	if (n < ROUNDS || argc - optind != 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signer_argv[2] = (char *)(uintptr_t)conf;
	signer_argv[3] = NULL;
	/* From here on, the worker's side: the supervisor waits for its end. */
	ctl = supervise(signer_argv);
	if (signer_client_start(ctl, err, sizeof(err)) == -1) {
		fprintf(stderr, "signerbench: signer: %s\n", err);
		return 1;
	}
	keys(argv[optind], &ca, &ca_remote);
	keys(argv[optind + 1], &ra, &ra_remote);
	ops[0].local = ops[2].local = ra;
	ops[0].remote = ops[2].remote = ra_remote;
	ops[1].local = ca;
	ops[1].remote = ca_remote;
	encrypt_block(ra);
	if (RAND_bytes(digest, sizeof(digest)) != 1)
		die("RAND_bytes");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct op	*op = &ops[i];

		p7_remote_set_purpose(op->purpose);
		/* Warm: the first of each way pays for its setup. */
		(void)timed(op, op->local, 1);
		(void)timed(op, op->remote, 1);
		for (int r = 0; r < ROUNDS; r++) {
			unsigned long	c0, rt0, k0, c1, rt1, k1;

			op->local_us += timed(op, op->local, n / ROUNDS);
			signer_client_stats(&c0, &rt0, &k0);
			op->signer_us += timed(op, op->remote, n / ROUNDS);
			signer_client_stats(&c1, &rt1, &k1);
			op->calls += c1 - c0;
			op->round_trip_us += rt1 - rt0;
			op->key_us += k1 - k0;
		}
		if (op->calls == 0)
			die("no call reached the signer");
		printf("%s local_us=%.1f signer_us=%.1f round_trip_us=%.1f "
		    "signer_key_us=%.1f\n", op->name, op->local_us / ROUNDS,
		    op->signer_us / ROUNDS,
		    (double)op->round_trip_us / op->calls,
		    (double)op->key_us / op->calls);
	}
	return 0;
}
