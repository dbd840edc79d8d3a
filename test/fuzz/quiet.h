/*
 * For fuzz targets whose code under test writes to stdout or stderr (a
 * log line, a summary) on every input: quiet_begin() points both at
 * /dev/null, quiet_end() puts them back, so the fuzzer's log holds the
 * fuzzer's lines only.  With FUZZ_VERBOSE set in the environment both
 * stay, to read what a crashing input printed.
 */
#ifndef SCEPD_FUZZ_QUIET_H
#define SCEPD_FUZZ_QUIET_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int	quiet_null = -2;	/* -2: not yet opened, -1: verbose */
static int	quiet_saved[2] = { -1, -1 };

static void
quiet_begin(void)
{
	if (quiet_null == -2)
		quiet_null = getenv("FUZZ_VERBOSE") != NULL ? -1 :
		    open("/dev/null", O_WRONLY);
	if (quiet_null < 0)
		return;
	fflush(stdout);
	for (int fd = 1; fd <= 2; fd++)
		if ((quiet_saved[fd - 1] = dup(fd)) == -1 ||
		    dup2(quiet_null, fd) == -1)
			abort();
}

static void
quiet_end(void)
{
	fflush(stdout);
	if (quiet_null < 0)
		return;
	for (int fd = 1; fd <= 2; fd++)
		if (dup2(quiet_saved[fd - 1], fd) == -1 ||
		    close(quiet_saved[fd - 1]) == -1)
			abort();
}

#endif /* SCEPD_FUZZ_QUIET_H */
