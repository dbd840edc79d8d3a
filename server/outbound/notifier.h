/*
 * The notification sender (notifier.c): one thread per scepd process that
 * delivers what the outbox holds (db/outbox.c), apart from the request
 * path.
 */
#ifndef SCEPD_OUTBOUND_NOTIFIER_H
#define SCEPD_OUTBOUND_NOTIFIER_H

#include <stddef.h>

struct conf;
struct notifier;

/*
 * Start the sender for the profiles of c, with a database connection of
 * its own.  Returns NULL with err.  c must outlive it.
 */
struct notifier	*notifier_start(const struct conf *c, char *err, size_t errlen);
/* A commit queued a notification: look now (NULL: nothing to do). */
void		 notifier_wake(struct notifier *);
/* Stop the thread, wait for it, free everything (NULL is fine). */
void		 notifier_stop(struct notifier *);

#endif /* SCEPD_OUTBOUND_NOTIFIER_H */
