/*
 * libFuzzer target: a configuration file through conf_load() (server/
 * conf.c), as `scepd -n` reads it but without CONF_CHECK_FILES: no key
 * or certificate file is opened.  The input is written to a file in a
 * scratch folder of its own, so relative paths resolve inside it.
 * Properties: a loaded configuration has at least the default profile,
 * each with a name and a CA certificate and key path, and frees cleanly.
 *
 * libconfig's @include would open any file the input names (/dev/zero
 * never ends): such inputs are skipped.  conf_load() logs each problem
 * to stderr; that goes to /dev/null unless FUZZ_VERBOSE is set (quiet.h).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/conf.h"
#include "server/log.h"
#include "test/fuzz/quiet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	 dir[] = "/tmp/scepd-fuzz-configXXXXXX";
static char	 path[sizeof(dir) + 16];

static void
init(void)
{
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/scepd.conf", dir);
}

/* Does data hold libconfig's @include directive? */
static int
has_include(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 8 <= size; i++)
		if (memcmp(data + i, "@include", 8) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	FILE		*f;

	if (path[0] == '\0')
		init();
	if (has_include(data, size))
		return 0;
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	quiet_begin();
	c = conf_load(path, 0);
	quiet_end();
	if (c == NULL)
		return 0;
	if (c->nprofiles < 1 || c->profiles == NULL)
		abort();
	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile *p = &c->profiles[i];

		if (p->policy.name == NULL || p->ca_cert == NULL ||
		    p->ca_key == NULL || p->path == NULL ||
		    p->policy.nchallenge_modes < 1)
			abort();
		if (conf_profile(c, p->policy.name,
		    strlen(p->policy.name)) != p)
			abort();
	}
	conf_free(c);
	return 0;
}
