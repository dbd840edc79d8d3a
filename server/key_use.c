/*
 * The audit of key use, the worker's side (docs/keys.md).  The signer
 * counts what it did with each key, per purpose, since it started
 * (server/signer/signer.c); this file asks it for those counts, adds
 * what is new since it last asked to scepd.key_use (db/key_use.c), and
 * remembers what it has written.  A signer that dies takes with it the
 * operations it did since the last flush (at most a second's); the new
 * one counts from 0, which its generation says (server/signer/client.c).
 *
 * Each scepd adds only deltas, so the counts of processes sharing the
 * database add up.  Only the sweep thread calls key_use_flush() (and,
 * after it stopped, the stop): the mutex is a guard, not a queue.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "server/ca_load.h"
#include "server/conf.h"
#include "server/key_use.h"
#include "server/log.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

struct seen {
	unsigned char		 id[P7_KEY_ID_LEN];
	char			 hex[2 * P7_KEY_ID_LEN + 1];
	unsigned		 gen;	/* of the signer that counted seen */
	struct wire_key_use	 counts; /* written to the database */
};

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct seen	*keys;
static int		 nkeys;
static int		 listed;	/* keys holds the configuration's */

/* ca_keys_each()'s fn: one entry a key. */
static int
add_key(EVP_PKEY *key, const unsigned char *id, void *arg)
{
	static const char	 hex[] = "0123456789abcdef";
	struct seen		*k;

	(void)key;
	(void)arg;
	if ((k = reallocarray(keys, (size_t)nkeys + 1, sizeof(*k))) == NULL)
		return -1;
	keys = k;
	k = &keys[nkeys++];
	memset(k, 0, sizeof(*k));
	memcpy(k->id, id, P7_KEY_ID_LEN);
	for (int i = 0; i < P7_KEY_ID_LEN; i++) {
		k->hex[2 * i] = hex[id[i] >> 4];
		k->hex[2 * i + 1] = hex[id[i] & 0xf];
	}
	return 0;
}

void
key_use_delta(const struct wire_key_use *now, unsigned gen,
    struct wire_key_use *seen, unsigned *seen_gen, struct wire_key_use *delta)
{
	if (*seen_gen != gen) {
		memset(seen, 0, sizeof(*seen));
		*seen_gen = gen;
	}
	for (int p = 0; p < P7_PURPOSE_MAX; p++) {
		delta->done[p] = now->done[p] >= seen->done[p] ?
		    now->done[p] - seen->done[p] : 0;
		delta->failed[p] = now->failed[p] >= seen->failed[p] ?
		    now->failed[p] - seen->failed[p] : 0;
	}
}

/* Write k's counts now (of generation gen); a purpose written is seen. */
static void
write_key(struct db *db, struct seen *k, const struct wire_key_use *now,
    unsigned gen)
{
	struct wire_key_use	 d;
	char			 err[256];

	key_use_delta(now, gen, &k->counts, &k->gen, &d);
	for (int p = P7_PURPOSE_NONE + 1; p < P7_PURPOSE_MAX; p++) {
		if (d.done[p] == 0 && d.failed[p] == 0)
			continue;
		if (db_key_use_add(db, k->hex, p7_purpose_name(p),
		    (long long)d.done[p], (long long)d.failed[p], err,
		    sizeof(err)) == DB_ERROR) {
			log_repeat("key use", "audit of key use: key %s: %s "
			    "(written at the next try)", k->hex, err);
			return;
		}
		k->counts.done[p] = now->done[p];
		k->counts.failed[p] = now->failed[p];
	}
}

void
key_use_flush(const struct conf *c, struct db *db)
{
	struct wire_key_use	 now;
	unsigned		 gen;

	if (!p7_remote_active() || db == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (!listed) {
		if (ca_keys_each(c, add_key, NULL) == -1) {
			log_warnx("audit of key use: cannot list the keys");
			goto out;
		}
		listed = 1;
	}
	for (int i = 0; i < nkeys; i++)
		/* No signer now: the next flush asks the next one. */
		if (signer_client_key_use(keys[i].id, &now, &gen) == 0)
			write_key(db, &keys[i], &now, gen);
out:
	pthread_mutex_unlock(&mu);
}
