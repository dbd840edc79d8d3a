/*
 * scepctl: the administrator's command line.  It finds the configuration
 * the way scepd does, so it works next to a running `make run`.
 *
 *   scepctl [-c file] ca init [--subject S] [--ra-subject S | --no-ra]
 *                             [--bits N] [--days N]
 *   scepctl [-c file] ca import --chain FILE --key FILE
 *   scepctl [-c file] db migrate
 *   scepctl [-c file] cert list [--limit N]
 *   scepctl [-c file] cert show SERIAL [--pem]
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
#include "server/log.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: scepctl [-c file] command ...\n"
	    "  ca init [--subject /O=x/CN=y] [--ra-subject /O=x/CN=z | --no-ra]\n"
	    "          [--bits N] [--days N]   create the CA (and RA) files\n"
	    "                                  named in the configuration\n"
	    "  ca import --chain FILE --key FILE\n"
	    "                                  take an existing CA key and chain\n"
	    "  db migrate                      apply schema migrations\n"
	    "  cert list [--limit N]           issued certificates, newest first\n"
	    "  cert show SERIAL [--pem]        one certificate\n");
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

static struct db *
connect_db(const struct conf *c)
{
	struct db	*db;
	char		 err[256];

	if ((db = db_open(c->database, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	return db;
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
		{ NULL, 0, NULL, 0 }
	};
	struct p7_ca_create	o;
	char			err[256];
	int			ch, no_ra = 0;

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
		default: usage();
		}
	}
	if (o.ca_bits < 2048 || o.ca_bits > 8192 || o.ca_days < 1)
		fatalx("--bits must be 2048..8192 and --days positive");
	if (no_ra)
		o.ra_subject = NULL;
	else if (c->ra_cert[0] == '\0')
		fatalx("%s sets no ca.ra_cert/ca.ra_key: add them, or use --no-ra",
		    c->path);
	o.ca_cert_out = c->ca_cert;
	o.ca_key_out = c->ca_key;
	o.ra_cert_out = c->ra_cert;
	o.ra_key_out = c->ra_key;
	if (p7_ca_create(&o, err, sizeof(err)) == -1)
		fatalx("ca init: %s", err);
	printf("created CA %s (key %s)\n", c->ca_cert, c->ca_key);
	if (!no_ra)
		printf("created RA %s (key %s)\n", c->ra_cert, c->ra_key);
	return 0;
}

static int
ca_import(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chain", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*chain = NULL, *key = NULL;
	char		 err[256] = "";
	int		 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': chain = optarg; break;
		case 'k': key = optarg; break;
		default: usage();
		}
	}
	if (chain == NULL || key == NULL)
		usage();
	if (p7_ca_import(chain, key, c->ca_cert, c->ca_key, err,
	    sizeof(err)) == -1)
		fatalx("ca import: %s", err);
	printf("imported CA into %s (key %s)\n", c->ca_cert, c->ca_key);
	return 0;
}

static int
db_migrate_cmd(const struct conf *c)
{
	struct db	*db = connect_db(c);
	char		 err[256];
	int		 applied;

	if (db_migrate(db, &applied, err, sizeof(err)) == -1)
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
cert_list(const struct conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct db	*db;
	char		 err[256];
	int		 ch, limit = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'l')
			usage();
		limit = atoi(optarg);
	}
	db = connect_db(c);
	printf("%-36s %-7s %-20s  %s\n", "SERIAL", "STATUS", "NOT AFTER",
	    "SUBJECT");
	if (db_cert_list(db, limit, print_row, NULL, err, sizeof(err)) == -1)
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
	char			 err[256], t1[32], t2[32], t3[32];
	int			 ch, pem = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'p')
			usage();
		pem = 1;
	}
	if (optind + 1 != argc)
		usage();
	db = connect_db(c);
	if ((rc = db_cert_get(db, argv[optind], &r, err, sizeof(err))) == -1)
		fatalx("cert show: %s", err);
	if (rc == 1) {
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
		    "issued at:      %s\ntransactionID:  %s\n", r.serial, r.status,
		    r.subject, r.sans[0] ? r.sans : "(none)",
		    fmt_time(r.not_before, t1, sizeof(t1)),
		    fmt_time(r.not_after, t2, sizeof(t2)),
		    fmt_time(r.created_at, t3, sizeof(t3)), r.transaction_id);
	}
	db_cert_row_clear(&r);
	db_close(db);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	*c;
	const char	*path = NULL, *noun, *verb;
	int		 rc;

	log_init("scepctl", 1, 0);
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		path = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		usage();
	noun = argv[1];
	verb = argv[2];
	/* Hand each command its own argv: argv[0] is the verb. */
	argc -= 2;
	argv += 2;
	c = load(path);
	if (strcmp(noun, "ca") == 0 && strcmp(verb, "init") == 0)
		rc = ca_init(c, argc, argv);
	else if (strcmp(noun, "ca") == 0 && strcmp(verb, "import") == 0)
		rc = ca_import(c, argc, argv);
	else if (strcmp(noun, "db") == 0 && strcmp(verb, "migrate") == 0)
		rc = db_migrate_cmd(c);
	else if (strcmp(noun, "cert") == 0 && strcmp(verb, "list") == 0)
		rc = cert_list(c, argc, argv);
	else if (strcmp(noun, "cert") == 0 && strcmp(verb, "show") == 0)
		rc = cert_show(c, argc, argv);
	else
		usage();
	conf_free(c);
	return rc;
}
