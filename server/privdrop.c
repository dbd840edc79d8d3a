/*
 * The worker gives up its user (configuration: user): after it has read
 * the certificates and bound the port, before it reads a byte from the
 * network, it becomes that user, with that user's group alone, so even
 * a worker taken over cannot open the key files the signer read.
 */
#define _GNU_SOURCE	/* setresuid(), setresgid() */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/privdrop.h"

int
privdrop(const char *user, char *err, size_t errlen)
{
	struct passwd	*pw;

	if (user == NULL || *user == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: %s", user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return 0;
		snprintf(err, errlen, "user = \"%s\" needs scepd started as "
		    "root", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become %s: %s", user,
		    strerror(errno));
		return -1;
	}
	/* Checked, not assumed: there is no way back. */
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "still able to become root after "
		    "becoming %s", user);
		return -1;
	}
	return 0;
}
