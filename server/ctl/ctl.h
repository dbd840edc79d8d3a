/*
 * scepctl commands kept in their own files (server/ctl/ctl_*.c), for
 * scepctl.c; what they share is ctl_common.h.  Each takes
 * the loaded configuration and its own argv (argv[0] is the verb), prints
 * its result, and returns the exit status.
 */
#ifndef SCEPD_CTL_H
#define SCEPD_CTL_H

#include "db/db.h"
#include "server/conf.h"

/* ctl_challenge.c: API tokens and one-time challenges. */
int	ctl_token_create(const struct conf *, int, char **);
int	ctl_token_revoke(const struct conf *, int, char **);
int	ctl_token_list(const struct conf *, int, char **);
int	ctl_challenge_create(const struct conf *, int, char **);

/*
 * ctl_keyuse.c: scepctl ca status, what each key of the configuration
 * signed and decrypted, and for a CA key what became of its certificates.
 */
int	ctl_ca_status(const struct conf *, int, char **);

/* ctl_mobileconfig.c: an Apple configuration profile for a profile. */
int	ctl_mobileconfig(const struct conf *, int, char **);

/* ctl_pending.c: manual approval. */
int	ctl_pending_list(const struct conf *, int, char **);
int	ctl_pending_approve(const struct conf *, int, char **);
int	ctl_pending_reject(const struct conf *, int, char **);

/* ctl_lifecycle.c: revocation, devices, the unused and undelivered sweeps. */
int	ctl_cert_revoke(const struct conf *, int, char **);
int	ctl_cert_hold(const struct conf *, int, char **);
int	ctl_cert_release(const struct conf *, int, char **);
int	ctl_cert_status(const struct conf *, int, char **);
int	ctl_device_set_state(const struct conf *, int, char **);
int	ctl_device_show(const struct conf *, int, char **);
int	ctl_sweep_unused(const struct conf *, int, char **);
int	ctl_sweep_undelivered(const struct conf *, int, char **);

/*
 * ctl_rekey.c: before ca init writes p's CA files over an existing CA.
 * ctl_ca_retire() refuses (exits) while certificates of the old key are
 * valid, unless force; records the old key on certificates recorded
 * without one; moves the old files to <file>.<suffix> (the key's first
 * 16 hex digits, into suffix).  Returns 1 if it moved them, 0 if there was
 * no CA to replace.  ctl_ca_restore() moves them back (ca init failed).
 */
int	ctl_ca_retire(const struct conf *, const struct conf_profile *,
	    int no_ra, int force, char *suffix, size_t suffixlen);
void	ctl_ca_restore(const struct conf_profile *, int no_ra,
	    const char *suffix);

#endif /* SCEPD_CTL_H */
