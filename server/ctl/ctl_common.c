/* What every scepctl command needs: the database, a profile by name. */
#include <string.h>

#include "server/ctl/ctl_common.h"
#include "server/log.h"

struct db *
ctl_connect(const struct conf *c)
{
	struct db	*db;
	char		 err[256];

	if ((db = db_open(c->database, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	return db;
}

struct conf_profile *
ctl_profile(const struct conf *c, const char *name)
{
	struct conf_profile	*p;

	if ((p = conf_profile(c, name, strlen(name))) == NULL)
		fatalx("%s has no profile \"%s\"", c->path, name);
	return p;
}
