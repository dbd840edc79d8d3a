/* Logging in the manner of OpenBSD's log.c: stderr with -d, else syslog. */
#ifndef SCEPD_LOG_H
#define SCEPD_LOG_H

#include <stdarg.h>

void	log_init(const char *ident, int to_stderr, int verbose);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* Log and clear OpenSSL's error queue of this thread, prefixed by what. */
void	log_openssl(const char *what);
/*
 * A refusal that may repeat (server/log_repeat.c): logged at info the
 * first time, then only counted while the same key (the client address)
 * and text come again within a minute; the count is logged when the
 * minute is over, by log_repeat_flush() (call it about once a second).
 */
void	log_repeat(const char *key, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_repeat_flush(void);
/*
 * A read-only answer (GetCACaps, GetCACert, a CRL, OCSP): its line is at
 * debug level; the counts are logged at info once a minute, when there
 * were any, by log_repeat_flush().
 */
enum log_served {
	LOG_SERVED_GETCACAPS, LOG_SERVED_GETCACERT, LOG_SERVED_CRL,
	LOG_SERVED_OCSP, LOG_SERVED_KINDS
};
void	log_served(enum log_served);
/* Milliseconds since t0 (CLOCK_MONOTONIC), for "took N ms" in a line. */
struct timespec;
long	log_ms_since(const struct timespec *t0);
long	log_us_since(const struct timespec *t0);	/* microseconds */

#endif /* SCEPD_LOG_H */
