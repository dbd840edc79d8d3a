/* What every scepctl command needs (ctl_common.c). */
#ifndef SCEPD_CTL_COMMON_H
#define SCEPD_CTL_COMMON_H

#include "db/db.h"
#include "server/conf.h"

/* Connect to the configured database or exit with the reason. */
struct db	*ctl_connect(const struct conf *);
/* The profile --profile names (default "default"), or exit. */
struct conf_profile *ctl_profile(const struct conf *, const char *name);
/* "scepctl:<user>" into buf, for the audit trail. */
const char	*ctl_actor(char *buf, size_t len);

#endif /* SCEPD_CTL_COMMON_H */
