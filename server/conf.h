/*
 * scepd's configuration: one libconfig file, read once into struct conf
 * by a table of settings (name, type, default, check).
 */
#ifndef SCEPD_CONF_H
#define SCEPD_CONF_H

#include <stddef.h>

#include "pkcs7/pkcs7.h"

struct conf {
	char		*path;		/* the file read */
	char		*listen;	/* address, "127.0.0.1" */
	int		 port;
	int		 workers;	/* 0: one per core */
	char		*base_path;	/* "/scep" */
	char		*database;	/* libpq conninfo */
	char		*ca_cert;	/* paths, relative to the file's folder */
	char		*ca_key;
	char		*ra_cert;	/* "" in CA mode */
	char		*ra_key;
	char		*challenge;	/* static challenge */
	int		 validity_days;
	int		 backdate_seconds;
	int		 legacy;	/* allow single DES and MD5 */
	struct p7_algs	 algs;		/* allowed ciphers and digests */
	int		 max_body;	/* bytes */
	int		 max_headers;	/* bytes, request line included */
	int		 request_timeout; /* seconds */
	int		 max_connections; /* per worker */
	int		 verbose;
};

/* Where to look: -c FILE, $SCEPD_CONF, var/scepd.conf of the source
 * tree the program runs from, /etc/scepd/scepd.conf.  Returns a static
 * string or NULL if none exists. */
const char	*conf_find(const char *flag_path, const char *argv0);

#define CONF_CHECK_FILES	0x1	/* key and certificate files must exist */

/*
 * Read and check path.  Every error is reported through log_warnx with
 * the file and line; returns NULL if there was any.
 */
struct conf	*conf_load(const char *path, int flags);
void		 conf_free(struct conf *);

#endif /* SCEPD_CONF_H */
