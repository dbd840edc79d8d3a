/*
 * The worker gives up its user (configuration: user): after it has read
 * the certificates and bound the port, before it reads a byte from the
 * network, it becomes that user, with that user's group alone, so even
 * a worker taken over cannot open the key files the signer read.
 */
#define _GNU_SOURCE	/* setresuid(), setresgid() */
#include <sys/prctl.h>
#include <sys/types.h>

#include <signal.h>

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
	pid_t		 parent = getppid();

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
	/*
	 * A change of user clears PR_SET_PDEATHSIG: set again, so the
	 * worker still dies with the supervisor (server/signer/supervisor.c).
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent) {
		snprintf(err, errlen, "cannot die with the supervisor");
		return -1;
	}
	return 0;
}
