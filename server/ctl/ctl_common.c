/*
 * What every scepctl command needs: the database, a profile by name, who
 * acts.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

const char *
ctl_actor(char *buf, size_t len)
{
	struct passwd	*pw;

	if ((pw = getpwuid(getuid())) != NULL)
		snprintf(buf, len, "scepctl:%s", pw->pw_name);
	else
		snprintf(buf, len, "scepctl:uid %u", (unsigned)getuid());
	return buf;
}
