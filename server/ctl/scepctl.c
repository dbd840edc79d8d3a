/*
 * scepctl: the administrator's command line.  It finds the configuration
 * the way scepd does, so it works next to a running `make run`.
 *
 * Commands are "noun verb [options]"; usage() lists them.  Those of the
 * larger features live in server/ctl_*.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "db/db.h"
#include "pkcs7/pkcs7.h"
#include "server/conf.h"
#include "server/ctl/ctl.h"
#include "server/ctl/ctl_common.h"
#include "server/log.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: scepctl [-c file] command ...\n"
	    "  ca init [--profile P] [--subject /O=x/CN=y]\n"
	    "          [--ra-subject /O=x/CN=z | --no-ra] [--bits N] [--days N]\n"
	    "          [--ec] [--pkcs11 URI] [--passphrase-file F]\n"
	    "          [--force]               create the CA (and RA) files\n"
	    "                                  named in the configuration; over\n"
	    "                                  a CA, a new key (--force while\n"
	    "                                  its certificates are valid);\n"
	    "                                  --ec: a P-256 CA key; --pkcs11:\n"
	    "                                  the CA key generated on a token;\n"
	    "                                  key files encrypted with F\n"
	    "  ca import [--profile P] --chain FILE --key FILE\n"
	    "                                  take an existing CA key and chain\n"
	    "  ca status                       what each key signed and decrypted,\n"
	    "                                  per purpose, and what became of\n"
	    "                                  its certificates (docs/keys.md)\n"
	    "  db migrate                      apply schema migrations\n"
	    "  cert list [--limit N] [--undelivered | --unrecorded]\n"
	    "                                  issued certificates, newest first;\n"
	    "                                  --undelivered: not revoked, never\n"
	    "                                  handed to the client;\n"
	    "                                  --unrecorded: serials reserved for\n"
	    "                                  a signature whose certificate was\n"
	    "                                  never recorded\n"
	    "  cert show SERIAL [--pem]        one certificate\n"
	    "  profile list                    the SCEP endpoints and their rules\n"
	    "  token create NAME | token revoke NAME | token list\n"
	    "                                  bearer tokens of the admin API\n"
	    "  challenge create [--profile P] [--device ID] [--subject DN]\n"
	    "          [--san TYPE:VALUE]... [--ttl MINUTES]\n"
	    "                                  mint a one-time challenge\n"
	    "  mobileconfig [--profile P] --url https://host[:port]\n"
	    "          [--challenge-mode static|one-time] [--cn VALUE] [-o FILE]\n"
	    "                                  an Apple configuration profile\n"
	    "  pending list | pending approve TXID | pending reject TXID\n"
	    "                                  requests held for manual approval\n"
	    "  cert revoke SERIAL [--reason NAME] | cert hold SERIAL |\n"
	    "  cert release SERIAL | cert status SERIAL\n"
	    "                                  revocation, and what relying\n"
	    "                                  parties are told\n"
	    "  device set-state ID active|suspended|deactivated|deleted\n"
	    "  device show ID                  the device lifecycle\n"
	    "  sweep unused [--at TIME]        revoke certificates never bound\n"
	    "  sweep undelivered [--at TIME]   revoke certificates never delivered\n"
	    "                                  within undelivered_hours\n");
	exit(2);
}

static struct conf *
load(const char *path)
{
	struct conf	*c;

	if ((path = conf_find(path, NULL)) == NULL)
		fatalx("no configuration: use -c FILE or set SCEPD_CONF");
	if ((c = conf_load(path, 0)) == NULL)
		exit(1);
	return c;
}

static int
ca_init(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "ra-subject", required_argument, NULL, 'r' },
		{ "no-ra", no_argument, NULL, 'n' },
		{ "bits", required_argument, NULL, 'b' },
		{ "days", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "ec", no_argument, NULL, 'e' },
		{ "pkcs11", required_argument, NULL, 'k' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf_profile	*p;
	const char		*profile = "default", *uri = NULL, *pass = NULL;
	struct p7_ca_create	o;
	struct p7_key_source	keys;
	char			err[256], suffix[P7_CA_KEY_LEN + 1];
	int			ch, no_ra = 0, force = 0, moved;

	memset(&o, 0, sizeof(o));
	o.ca_subject = "/O=scepd/CN=scepd CA";
	o.ra_subject = "/O=scepd/CN=scepd RA";
	o.ca_bits = 3072;
	o.ra_bits = 2048;
	o.ca_days = 3650;
	o.ra_days = 730;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': o.ca_subject = optarg; break;
		case 'r': o.ra_subject = optarg; break;
		case 'n': no_ra = 1; break;
		case 'b': o.ca_bits = atoi(optarg); break;
		case 'd': o.ca_days = atoi(optarg); break;
		case 'p': profile = optarg; break;
		case 'f': force = 1; break;
		case 'e': o.ca_ec = 1; break;
		case 'k': uri = optarg; break;
		case 'P': pass = optarg; break;
		default: usage();
		}
	}
	p = ctl_profile(c, profile);
	keys = p->keys;
	if (pass != NULL) {
		keys.passphrase_file = pass;
		keys.passphrase_credential = NULL;
	}
	o.keys = &keys;
	if (uri != NULL && !p7_key_is_pkcs11(uri))
		fatalx("--pkcs11 takes a pkcs11: URI (RFC 7512)");
	if (o.ca_bits < 2048 || o.ca_bits > 8192 || o.ca_days < 1)
		fatalx("--bits must be 2048..8192 and --days positive");
	if (no_ra)
		o.ra_subject = NULL;
	else if (p->ra_cert[0] == '\0')
		fatalx("%s sets no ca.ra_cert/ca.ra_key: add them, or use --no-ra",
		    c->path);
	o.ca_cert_out = p->ca_cert;
	o.ca_key_out = uri != NULL ? uri : p->ca_key;
	o.ra_cert_out = p->ra_cert;
	o.ra_key_out = p->ra_key;
	/* A re-key: the old CA is kept aside, never overwritten. */
	moved = ctl_ca_retire(c, p, no_ra, force, suffix, sizeof(suffix));
	if (p7_ca_create(&o, err, sizeof(err)) == -1) {
		if (moved)
			ctl_ca_restore(p, no_ra, suffix);
		fatalx("ca init: %s", err);
	}
	p7_key_shutdown();
	printf("created CA %s (key %s)\n", p->ca_cert, o.ca_key_out);
	if (!no_ra)
		printf("created RA %s (key %s)\n", p->ra_cert, p->ra_key);
	if (strcmp(o.ca_key_out, p->ca_key) != 0)
		printf("set ca.key = \"%s\"; in %s\n", o.ca_key_out, c->path);
	return 0;
}

static int
ca_import(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chain", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "profile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf_profile *p;
	const char	*chain = NULL, *key = NULL, *profile = "default";
	char		 err[256] = "";
	int		 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': chain = optarg; break;
		case 'k': key = optarg; break;
		case 'p': profile = optarg; break;
		default: usage();
		}
	}
	if (chain == NULL || key == NULL)
		usage();
	p = ctl_profile(c, profile);
	if (p7_ca_import(chain, key, p->ca_cert, p->ca_key, &p->keys, err,
	    sizeof(err)) == -1)
		fatalx("ca import: %s", err);
	printf("imported CA into %s (key %s)\n", p->ca_cert, p->ca_key);
	return 0;
}

static int
db_migrate_cmd(const struct conf *c)
{
	struct db	*db = ctl_connect(c);
	char		 err[256];
	int		 applied;

	if (db_migrate(db, &applied, err, sizeof(err)) == DB_ERROR)
		fatalx("db migrate: %s", err);
	printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
	db_close(db);
	return 0;
}

static const char *
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int
print_row(const struct db_cert_row *r, void *arg)
{
	char	nb[32];

	(void)arg;
	printf("%-36s %-7s %s  %s\n", r->serial, r->status,
	    fmt_time(r->not_after, nb, sizeof(nb)), r->subject);
	return 0;
}

static int
print_unrecorded(const struct db_reservation *r, void *arg)
{
	char	at[32];

	(void)arg;
	printf("%-36s %-20s  %-9s %s %s\n", r->serial,
	    fmt_time(r->reserved_at, at, sizeof(at)), db_resv_state_name(r->state),
	    r->transaction_id != NULL ? r->transaction_id : "-",
	    r->profile != NULL ? r->profile : "-");
	return 0;
}

static int
cert_list(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "undelivered", no_argument, NULL, 'u' },
		{ "unrecorded", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct db	*db;
	char		 err[256];
	int		 ch, limit = 0, undelivered = 0, unrecorded = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'u')
			undelivered = 1;
		else if (ch == 'r')
			unrecorded = 1;
		else if (ch == 'l')
			limit = atoi(optarg);
		else
			usage();
	}
	if (undelivered && unrecorded)
		usage();
	db = ctl_connect(c);
	/*
	 * Not certificates: what a signature left when its certificate
	 * never reached scepd.certificates (db/reservation.c).
	 */
	if (unrecorded) {
		printf("%-36s %-20s  %-9s %s %s\n", "SERIAL", "RESERVED",
		    "STATE", "TRANSACTION", "PROFILE");
		if (db_reservation_list_unrecorded(db, limit, print_unrecorded,
		    NULL, err, sizeof(err)) == DB_ERROR)
			fatalx("cert list: %s", err);
		db_close(db);
		return 0;
	}
	printf("%-36s %-7s %-20s  %s\n", "SERIAL", "STATUS", "NOT AFTER",
	    "SUBJECT");
	if (db_cert_list(db, limit, undelivered, print_row, NULL, err,
	    sizeof(err)) ==
	    DB_ERROR)
		fatalx("cert list: %s", err);
	db_close(db);
	return 0;
}

static int
cert_show(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pem", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	struct db_cert_row	 r;
	struct db		*db;
	const unsigned char	*p;
	X509			*crt;
	char			 err[256], t1[32], t2[32], t3[32], t4[32];
	int			 ch, pem = 0;
	enum db_rc		 rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'p')
			usage();
		pem = 1;
	}
	if (optind + 1 != argc)
		usage();
	db = ctl_connect(c);
	if ((rc = db_cert_get(db, argv[optind], &r, err, sizeof(err))) ==
	    DB_ERROR)
		fatalx("cert show: %s", err);
	if (rc == DB_NOT_FOUND) {
		fprintf(stderr, "scepctl: no certificate with serial %s\n",
		    argv[optind]);
		db_close(db);
		return 1;
	}
	if (pem) {
		p = r.der;
		if ((crt = d2i_X509(NULL, &p, (long)r.der_len)) == NULL)
			fatalx("stored certificate %s is unreadable", r.serial);
		PEM_write_X509(stdout, crt);
		X509_free(crt);
	} else {
		printf("serial:         %s\nstatus:         %s\nsubject:        %s\n"
		    "subjectAltName: %s\nnot before:     %s\nnot after:      %s\n"
		    "issued at:      %s\ndelivered at:   %s\n"
		    "transactionID:  %s\n", r.serial, r.status,
		    r.subject, r.sans[0] ? r.sans : "(none)",
		    fmt_time(r.not_before, t1, sizeof(t1)),
		    fmt_time(r.not_after, t2, sizeof(t2)),
		    fmt_time(r.created_at, t3, sizeof(t3)),
		    r.delivered_at != 0 ? fmt_time(r.delivered_at, t4,
		    sizeof(t4)) : "(never)", r.transaction_id);
	}
	db_cert_row_clear(&r);
	db_close(db);
	return 0;
}

static int
profile_list(const struct conf *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("%-16s %-28s %-15s %-8s %-8s %s\n", "PROFILE", "PATH", "CHALLENGE",
	    "APPROVAL", "RENEWAL", "CA");
	for (int i = 0; i < c->nprofiles; i++) {
		const struct conf_profile	*p = &c->profiles[i];
		char				 path[128], modes[64] = "";

		snprintf(path, sizeof(path), "%s%s%s", c->base_path,
		    i ? "/" : "", i ? p->policy.name : "");
		/* "dynamic,static": the order they are tried in. */
		for (size_t m = 0; m < p->policy.nchallenge_modes; m++)
			snprintf(modes + strlen(modes), sizeof(modes) -
			    strlen(modes), "%s%s", m ? "," : "",
			    policy_challenge_mode_name(
			    p->policy.challenge_modes[m]));
		printf("%-16s %-28s %-15s %-8s %-8s %s%s\n", p->policy.name, path,
		    modes,
		    p->policy.approval == POLICY_APPROVAL_MANUAL ? "manual" : "auto",
		    p->policy.renewal.enabled ? "yes" : "no", p->ca_cert,
		    p->ra_cert[0] ? " (+RA)" : "");
	}
	return 0;
}

static int
db_migrate_verb(const struct conf *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return db_migrate_cmd(c);
}

static const struct command {
	const char	*noun, *verb;
	int		(*run)(const struct conf *, int, char **);
} commands[] = {
	{ "ca", "init", ca_init },
	{ "ca", "import", ca_import },
	{ "ca", "status", ctl_ca_status },
	{ "db", "migrate", db_migrate_verb },
	{ "cert", "list", cert_list },
	{ "cert", "show", cert_show },
	{ "profile", "list", profile_list },
	{ "token", "create", ctl_token_create },
	{ "token", "revoke", ctl_token_revoke },
	{ "token", "list", ctl_token_list },
	{ "challenge", "create", ctl_challenge_create },
	{ "mobileconfig", NULL, ctl_mobileconfig },
	{ "pending", "list", ctl_pending_list },
	{ "pending", "approve", ctl_pending_approve },
	{ "pending", "reject", ctl_pending_reject },
	{ "cert", "revoke", ctl_cert_revoke },
	{ "cert", "hold", ctl_cert_hold },
	{ "cert", "release", ctl_cert_release },
	{ "cert", "status", ctl_cert_status },
	{ "device", "set-state", ctl_device_set_state },
	{ "device", "show", ctl_device_show },
	{ "sweep", "unused", ctl_sweep_unused },
	{ "sweep", "undelivered", ctl_sweep_undelivered },
};

int
main(int argc, char *argv[])
{
	const struct command	*cmd = NULL;
	struct conf		*c;
	const char		*path = NULL;
	int			 rc, skip;

	log_init("scepctl", 1, 0);
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		path = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		usage();
	/* A command without a verb (NULL) takes the options that follow. */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].noun, argv[1]) == 0 &&
		    (commands[i].verb == NULL || (argc >= 3 &&
		    strcmp(commands[i].verb, argv[2]) == 0)))
			cmd = &commands[i];
	if (cmd == NULL)
		usage();
	/* Hand each command its own argv: argv[0] is the verb (or noun). */
	c = load(path);
	skip = cmd->verb != NULL ? 2 : 1;
	rc = cmd->run(c, argc - skip, argv + skip);
	conf_free(c);
	return rc;
}
