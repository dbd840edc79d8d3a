/*
 * scepctl commands of the certificate lifecycle: revoke, hold and release
 * a certificate, show its standing, set a device's state, and run the
 * unused- and undelivered-certificate sweeps (with a clock the tests can
 * move).
 */
#define _XOPEN_SOURCE 700
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkcs7/pkcs7.h"
#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

/* "scepctl:<login>": who did it, for the audit table. */
static const char *
actor(void)
{
	static char	 buf[96];
	struct passwd	*pw = getpwuid(getuid());

	snprintf(buf, sizeof(buf), "scepctl:%s", pw ? pw->pw_name : "?");
	return buf;
}

static const char *
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (t == 0)
		return "-";
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* scepctl cert revoke SERIAL [--reason NAME] | cert hold SERIAL | release */
static int
set_status(const struct conf *c, int argc, char **argv,
    enum db_cert_action action)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct db	*db;
	char		 err[256];
	int		 ch, reason = P7_CRL_REASON_UNSPECIFIED, changed;
	enum db_rc	 rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r' || action != DB_CERT_REVOKE ||
		    p7_crl_reason_from_name(optarg, &reason) == -1 ||
		    reason == P7_CRL_REASON_CERTIFICATE_HOLD) {
			fprintf(stderr, "scepctl: --reason is one of unspecified, "
			    "keyCompromise, cACompromise, affiliationChanged, "
			    "superseded, cessationOfOperation, "
			    "privilegeWithdrawn, aACompromise (use cert hold "
			    "for certificateHold)\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: scepctl cert %s SERIAL%s\n", argv[0],
		    action == DB_CERT_REVOKE ? " [--reason NAME]" : "");
		return 2;
	}
	db = ctl_connect(c);
	rc = db_cert_set_status(db, argv[optind], action, reason, actor(),
	    &changed, err, sizeof(err));
	db_close(db);
	switch (rc) {
	case DB_OK:
		printf("%s: %s\n", argv[optind], !changed ? "unchanged" :
		    action == DB_CERT_REVOKE ? "revoked" :
		    action == DB_CERT_HOLD ? "on hold" : "released");
		return 0;
	case DB_NOT_FOUND:
		fprintf(stderr, "scepctl: no certificate with serial %s\n",
		    argv[optind]);
		return 1;
	case DB_REFUSED:
		fprintf(stderr, "scepctl: %s\n", err);
		return 1;
	default:
		fatalx("cert %s: %s", argv[0], err);
	}
}

int
ctl_cert_revoke(const struct conf *c, int argc, char **argv)
{
	return set_status(c, argc, argv, DB_CERT_REVOKE);
}

int
ctl_cert_hold(const struct conf *c, int argc, char **argv)
{
	return set_status(c, argc, argv, DB_CERT_HOLD);
}

int
ctl_cert_release(const struct conf *c, int argc, char **argv)
{
	return set_status(c, argc, argv, DB_CERT_RELEASE);
}

/* scepctl cert status SERIAL: what a relying party is told. */
int
ctl_cert_status(const struct conf *c, int argc, char **argv)
{
	struct db_cert_standing	 st;
	struct db		*db;
	char			 err[256], t1[32], t2[32], t3[32];
	enum db_rc		 rc;

	if (argc != 2) {
		fprintf(stderr, "usage: scepctl cert status SERIAL\n");
		return 2;
	}
	db = ctl_connect(c);
	rc = db_cert_standing(db, argv[1], &st, err, sizeof(err));
	db_close(db);
	if (rc == DB_NOT_FOUND) {
		fprintf(stderr, "scepctl: no certificate with serial %s\n", argv[1]);
		return 1;
	}
	if (rc == DB_ERROR)
		fatalx("cert status: %s", err);
	printf("serial:       %s\nstatus:       %s%s%s\nrevoked at:   %s\n"
	    "device:       %s%s%s%s\nbound at:     %s\nlast used:    %s\n"
	    "managed:      %s\n%s%s", st.serial, st.status,
	    st.reason >= 0 ? " " : "", st.reason >= 0 ?
	    (p7_crl_reason_name(st.reason) ? p7_crl_reason_name(st.reason) : "?") :
	    "", fmt_time(st.revoked_at, t1, sizeof(t1)),
	    st.device_id[0] ? st.device_id : "-", st.device_state[0] ? " (" : "",
	    st.device_state, st.device_state[0] ? ")" : "",
	    fmt_time(st.bound_at, t2, sizeof(t2)),
	    fmt_time(st.last_used_at, t3, sizeof(t3)), st.managed ? "yes" : "no",
	    st.clone_device_id[0] ? "clone seen on: " : "", st.clone_device_id[0] ?
	    st.clone_device_id : "");
	if (st.clone_device_id[0])
		printf("\n");
	return 0;
}

/* scepctl device set-state ID active|suspended|deactivated|deleted */
int
ctl_device_set_state(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	char		 err[256];
	int		 changed;
	enum db_rc	 rc;

	if (argc != 3) {
		fprintf(stderr, "usage: scepctl device set-state ID "
		    "active|suspended|deactivated|deleted\n");
		return 2;
	}
	db = ctl_connect(c);
	rc = db_device_set_state(db, argv[1], argv[2], actor(), &changed, err,
	    sizeof(err));
	db_close(db);
	switch (rc) {
	case DB_OK:
		printf("device %s: %s, %d certificate%s changed\n", argv[1],
		    argv[2], changed, changed == 1 ? "" : "s");
		return 0;
	case DB_NOT_FOUND:
		fprintf(stderr, "scepctl: no device %s\n", argv[1]);
		return 1;
	case DB_REFUSED:
		fprintf(stderr, "scepctl: %s\n", err);
		return 1;
	default:
		fatalx("device set-state: %s", err);
	}
}

/* scepctl device show ID */
int
ctl_device_show(const struct conf *c, int argc, char **argv)
{
	struct db_device	 d;
	struct db		*db;
	char			 err[256], t1[32], t2[32];
	enum db_rc		 rc;

	if (argc != 2) {
		fprintf(stderr, "usage: scepctl device show ID\n");
		return 2;
	}
	db = ctl_connect(c);
	rc = db_device_get(db, argv[1], &d, err, sizeof(err));
	db_close(db);
	if (rc == DB_NOT_FOUND) {
		fprintf(stderr, "scepctl: no device %s\n", argv[1]);
		return 1;
	}
	if (rc == DB_ERROR)
		fatalx("device show: %s", err);
	printf("device:       %s\nstate:        %s\ncertificates: %d\n"
	    "created:      %s\nupdated:      %s\n", d.id, d.state, d.certificates,
	    fmt_time(d.created_at, t1, sizeof(t1)),
	    fmt_time(d.updated_at, t2, sizeof(t2)));
	return 0;
}

/*
 * The clock of a sweep: now, or --at YYYY-MM-DDTHH:MM:SSZ (how the tests
 * move it).  0, or -1 after printing the usage of "sweep what".
 */
static int
sweep_at(const char *what, int argc, char **argv, time_t *at)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct tm	 tm;
	int		 ch;

	*at = time(NULL);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		memset(&tm, 0, sizeof(tm));
		if (ch != 'a' || strptime(optarg, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
			fprintf(stderr, "usage: scepctl sweep %s "
			    "[--at YYYY-MM-DDTHH:MM:SSZ]\n", what);
			return -1;
		}
		*at = timegm(&tm);
	}
	return 0;
}

/*
 * scepctl sweep unused [--at TIME]: revoke the certificates never bound
 * within each profile's unused_days, as of now or of --at.
 */
int
ctl_sweep_unused(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	time_t		 at;
	char		 err[256];
	int		 ran, revoked;

	if (sweep_at("unused", argc, argv, &at) == -1)
		return 2;
	db = ctl_connect(c);
	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile *p = &c->profiles[i];

		if (p->unused_days == 0)
			continue;
		if (db_sweep_unused(db, p->policy.name, p->unused_days, at,
		    actor(), &ran, &revoked, err, sizeof(err)) == DB_ERROR)
			fatalx("sweep: %s", err);
		if (!ran)
			printf("profile %s: another process is sweeping\n",
			    p->policy.name);
		else
			printf("profile %s: %d unused certificate%s revoked\n",
			    p->policy.name, revoked, revoked == 1 ? "" : "s");
	}
	db_close(db);
	return 0;
}

static void
print_revoked(const char *serial, void *arg)
{
	(void)arg;
	printf("revoked %s: never delivered\n", serial);
}

/*
 * scepctl sweep undelivered [--at TIME]: revoke the certificates never
 * delivered within undelivered_hours of issuance, as of now or of --at,
 * all of them (the sweep in scepd takes batches).
 */
int
ctl_sweep_undelivered(const struct conf *c, int argc, char **argv)
{
	struct db	*db;
	time_t		 at;
	char		 err[256];
	int		 ran, revoked, total = 0;

	if (sweep_at("undelivered", argc, argv, &at) == -1)
		return 2;
	if (c->undelivered_hours == 0) {
		printf("undelivered_hours = 0: nothing is swept\n");
		return 0;
	}
	db = ctl_connect(c);
	do {
		if (db_sweep_undelivered(db, c->undelivered_hours, at, 1000,
		    actor(), print_revoked, NULL, &ran, &revoked, err,
		    sizeof(err)) == DB_ERROR)
			fatalx("sweep: %s", err);
		if (!ran) {
			printf("another process is sweeping\n");
			break;
		}
		total += revoked;
	} while (revoked == 1000);
	if (ran)
		printf("%d undelivered certificate%s revoked\n", total,
		    total == 1 ? "" : "s");
	db_close(db);
	return 0;
}
