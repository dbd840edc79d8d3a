/* GetCACaps (caps.c). */
#ifndef SCEPD_HTTP_CAPS_H
#define SCEPD_HTTP_CAPS_H

#include <stddef.h>

#include "server/conf.h"

/* The GetCACaps tokens for what a profile enforces, into buf. */
void	caps_build(const struct conf_profile *, char *buf, size_t len);

#endif /* SCEPD_HTTP_CAPS_H */
