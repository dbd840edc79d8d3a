/*
 * scepd's configuration: one libconfig file, read once into struct conf
 * by tables of settings (name, type, default, check).
 *
 * The top level holds the server-wide settings and the default profile
 * (served at base_path).  Each element of the list "profiles" is another
 * profile, served at base_path/<name> and, if it sets "path", there too
 * (a drop-in for NDES's /certsrv/mscep/mscep.dll); a setting it does not
 * give is taken from the top level, so a profile states only how it
 * differs ("path" is the exception: it is never inherited).
 */
#ifndef SCEPD_CONF_H
#define SCEPD_CONF_H

#include <stddef.h>

#include "pkcs7/pkcs7.h"
#include "policy/policy.h"

/*
 * A profile's Microsoft Intune connection (challenge_mode "intune",
 * docs/mdm.md): the Entra app scepd signs in as and where to reach it.
 * Empty strings are unset.
 */
struct conf_intune {
	char	*tenant;		/* directory (tenant) ID or domain */
	char	*client_id;		/* the app registration's ID */
	char	*client_secret_file;	/* path; or the two below */
	char	*client_certificate;	/* path, PEM */
	char	*client_key;		/* path, PEM */
	char	*provider_name;		/* callerInfo, for Intune's console */
	char	*authority;		/* https://login.microsoftonline.com */
	char	*graph;			/* https://graph.microsoft.com */
	int	 timeout_ms;		/* per call */
	int	 revocation_interval;	/* seconds between revocation
					 * rounds; 0: none */
};

struct conf_profile {
	struct policy_profile	 policy;	/* decisions; name is in here */
	char			*path;		/* served here too ("path"), or
						 * "": <base>/<name> only */
	char			*ca_cert;	/* paths, relative to the file */
	char			*ca_key;
	char			*ra_cert;	/* "" in CA mode */
	char			*ra_key;
	char			*next_ca_cert;	/* GetNextCACert, "" if none */
	char			*next_ra_cert;
	char			*ocsp_cert;	/* delegated OCSP signer, "" if none */
	char			*ocsp_key;
	/* The CA's replaced key, kept to answer for what it signed; "". */
	char			*previous_cert;
	char			*previous_key;
	/* What unlocks the four keys above: one passphrase, or "". */
	char			*key_passphrase_file;
	char			*key_passphrase_credential; /* systemd's */
	struct p7_key_source	 keys;		/* borrows these strings and
						 * struct conf's pkcs11 ones */
	int			 revoke_on_clone; /* a clone seen: revoke */
	int			 unused_days;	/* revoke if never bound; 0: off */
	struct conf_intune	 intune;
	int			 legacy;	/* allow single DES and MD5 */
	struct p7_algs		 algs;		/* allowed ciphers and digests */
	/* Filled at start-up by server/main.c, not by conf_load(). */
	struct p7_ca		*ca;		/* shared between profiles with
						 * the same files */
	int			 owns_ca;
	char			*issuer;	/* p7_ca_issuer_text(ca) */
	char			 ca_key_id[P7_CA_KEY_LEN + 1]; /* of ca */
	struct p7_ca		*prev_ca;	/* previous_cert, or NULL */
	char			*prev_issuer;	/* as issuer, of prev_ca */
	char			 prev_key_id[P7_CA_KEY_LEN + 1];
	struct p7_ocsp_signer	*ocsp_signer;	/* NULL: the CA key signs */
	struct intune		*intune_client;	/* challenge_mode "intune" */
	char			 caps[256];	/* GetCACaps body */
};

struct conf {
	char			*path;		/* the file read */
	char			*listen;	/* address, "127.0.0.1" */
	char			*user;		/* the worker's, "": unchanged */
	int			 port;
	int			 workers;	/* 0: one per core */
	int			 pki_threads;	/* the PKIOperation pool */
	char			*base_path;	/* "/scep" */
	char			*database;	/* libpq conninfo */
	char			*challenge_key;	/* hex: HMAC key for stored challenges */
	unsigned char		 hmac_key[32];	/* challenge_key decoded */
	int			 max_body;	/* bytes */
	int			 max_headers;	/* bytes, request line included */
	int			 request_timeout; /* seconds */
	int			 request_deadline; /* seconds */
	int			 max_connections; /* per worker */
	int			 max_connections_per_address; /* per worker */
	int			 failed_challenges_per_minute; /* per address */
	int			 max_queued;	/* requests waiting for the pool */
	int			 verbose;
	int			 crl_validity_hours; /* nextUpdate - thisUpdate */
	int			 sweep_interval; /* seconds between sweeps */
	int			 retransmission_window_hours; /* see db_enroll_begin() */
	int			 undelivered_hours; /* 0: off (server/http/delivery.c) */
	char			*pkcs11_module;	/* for pkcs11: keys, or "" */
	char			*pkcs11_pin_file;
	struct conf_profile	*profiles;	/* [0] is the default profile */
	int			 nprofiles;
};

/*
 * Where to look: -c FILE, $SCEPD_CONF, var/scepd.conf of the source
 * tree the program runs from, /etc/scepd/scepd.conf.  Returns a static
 * string or NULL if none exists.
 */
const char	*conf_find(const char *flag_path, const char *argv0);

/*
 * Key and certificate files must exist, keys (and passphrase and PIN
 * files) readable by their owner only.
 */
#define CONF_CHECK_FILES	0x1

/*
 * Read and check path.  Every error is reported through log_warnx with
 * the file and line; returns NULL if there was any.
 */
struct conf	*conf_load(const char *path, int flags);
void		 conf_free(struct conf *);

/* The profile called name ("default" or "" for the default), or NULL. */
struct conf_profile *conf_profile(const struct conf *, const char *name,
		    size_t namelen);

/*
 * The profile a request path names: a profile's own path, <base>, and
 * <base>/<profile>, each also with /pkiclient.exe appended (Windows
 * appends it).  NULL if it names none.
 */
struct conf_profile *conf_profile_at(const struct conf *, const char *path);

#endif /* SCEPD_CONF_H */
