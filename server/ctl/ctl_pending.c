/*
 * scepctl pending list | approve TXID | reject TXID [--reason TEXT]:
 * the operator's side of manual approval.  Approving lets the client's
 * next CertPoll (or resent PKCSReq) be issued; rejecting answers it
 * FAILURE badRequest.  Each decision is an audit row by
 * "scepctl:<user>".
 */
#include <sys/types.h>

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

/* "scepctl:<user>", the user sudo ran us for if any. */
static void
actor(char *buf, size_t len)
{
	struct passwd	*pw;
	const char	*user = getenv("SUDO_USER");

	if (user == NULL || *user == '\0')
		user = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : NULL;
	if (user != NULL)
		snprintf(buf, len, "scepctl:%s", user);
	else
		snprintf(buf, len, "scepctl:uid%lu", (unsigned long)getuid());
}

static int
print_row(const struct db_pending_row *r, void *arg)
{
	struct tm	tm;
	char		when[32];

	(*(int *)arg)++;
	gmtime_r(&r->created_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-42s %-12s %-8s %-20s %-15s %s%s%s\n", r->transaction_id,
	    r->profile, r->approval, when, r->peer, r->subject,
	    r->device_id[0] ? "  device=" : "", r->device_id);
	return 0;
}

int
ctl_pending_list(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	char		 err[256];
	int		 n = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: scepctl pending list\n");
		return 2;
	}
	db = ctl_connect(c);
	printf("%-42s %-12s %-8s %-20s %-15s %s\n", "TRANSACTION ID", "PROFILE",
	    "STATE", "RECEIVED", "PEER", "SUBJECT");
	if (db_pending_list(db, print_row, &n, err, sizeof(err)) ==
	    DB_ERROR)
		fatalx("pending list: %s", err);
	db_close(db);
	if (n == 0)
		fprintf(stderr, "scepctl: no request waits for approval\n");
	return 0;
}

static int
decide(const struct conf *c, int argc, char **argv, int approve)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct db	*db;
	const char	*reason = NULL, *tid;
	char		 who[96], err[256];
	int		 ch, n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			goto usage;
		reason = optarg;
	}
	if (optind + 1 != argc)
		goto usage;
	tid = argv[optind];
	actor(who, sizeof(who));
	db = ctl_connect(c);
	if ((n = db_pending_decide(db, tid, approve, who, reason, err,
	    sizeof(err))) == -1)
		fatalx("pending %s: %s", approve ? "approve" : "reject", err);
	db_close(db);
	if (n == 0) {
		fprintf(stderr, "scepctl: no request with transactionID %s "
		    "waits for approval\n", tid);
		return 1;
	}
	printf("%s %d request%s of transaction %s%s\n", approve ? "approved" :
	    "rejected", n, n == 1 ? "" : "s", tid, approve ?
	    ": issued at the client's next poll" : "");
	return 0;
usage:
	fprintf(stderr, "usage: scepctl pending %s TXID [--reason TEXT]\n",
	    approve ? "approve" : "reject");
	return 2;
}

int
ctl_pending_approve(const struct conf *c, int argc, char **argv)
{
	return decide(c, argc, argv, 1);
}

int
ctl_pending_reject(const struct conf *c, int argc, char **argv)
{
	return decide(c, argc, argv, 0);
}
