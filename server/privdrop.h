/* The worker's user (server/privdrop.c). */
#ifndef SCEPD_PRIVDROP_H
#define SCEPD_PRIVDROP_H

#include <stddef.h>

/* Become user ("" or NULL: stay).  Returns 0, or -1 with err. */
int	privdrop(const char *user, char *err, size_t errlen);

#endif /* SCEPD_PRIVDROP_H */
