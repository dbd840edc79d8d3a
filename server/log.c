/*
 * Logging: one line per event, to stderr (foreground, -d) or syslog.
 * Lines are written with a single write so threads do not interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "server/log.h"

static int	log_stderr = 1;
static int	log_verbose;
static const char *log_ident = "scepd";

void
log_init(const char *ident, int to_stderr, int verbose)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char		 msg[2048], line[2200];
	struct tm	 tm;
	time_t		 now;
	int		 n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Never let a peer's bytes put control characters into the log. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (!log_stderr) {
		syslog(pri, "%s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02dZ %s: %s%s%s\n", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    log_ident, msg, suffix ? ": " : "", suffix ? suffix : "");
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1, line[n - 1] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

#define LOGFN(name, pri, cond, suffix)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list	ap;					\
	int	saved = errno;				\
							\
	if (!(cond))					\
		return;					\
	va_start(ap, fmt);				\
	vlog(pri, fmt, ap, suffix);			\
	va_end(ap);					\
	errno = saved;					\
}

LOGFN(log_warn, LOG_WARNING, 1, strerror(saved))
LOGFN(log_warnx, LOG_WARNING, 1, NULL)
LOGFN(log_info, LOG_INFO, 1, NULL)
LOGFN(log_debug, LOG_DEBUG, log_verbose, NULL)

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void
log_openssl(const char *what)
{
	unsigned long	e;
	char		buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("%s: %s", what, buf);
	}
}

long
log_ms_since(const struct timespec *t0)
{
	return log_us_since(t0) / 1000;
}

long
log_us_since(const struct timespec *t0)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000;
}
