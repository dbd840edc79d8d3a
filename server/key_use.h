/*
 * server/key_use.c: the audit of key use (docs/keys.md), the worker's
 * side: what the signer did with each key goes to scepd.key_use.
 */
#ifndef SCEPD_KEY_USE_H
#define SCEPD_KEY_USE_H

#include <stdint.h>

#include "pkcs7/pkcs7.h"

struct conf;
struct db;
struct wire_key_use;

/*
 * Ask the signer what it did with every key of c since the last call
 * and add it to scepd.key_use on db (the sweep's connection: once a
 * second, and once more at stop).  A count that cannot be written is
 * written at the next call.  Does nothing without a signer.
 */
void	key_use_flush(const struct conf *c, struct db *db);

/*
 * The deltas of one key's counts (unit-tested): now minus seen per
 * purpose into *delta, where seen are the counts of generation
 * *seen_gen already written; a new generation (a new signer, counting
 * from 0) makes seen 0 first and sets *seen_gen.  Counts that go back
 * within a generation count as 0.
 */
void	key_use_delta(const struct wire_key_use *now, unsigned gen,
	    struct wire_key_use *seen, unsigned *seen_gen,
	    struct wire_key_use *delta);

#endif /* SCEPD_KEY_USE_H */
