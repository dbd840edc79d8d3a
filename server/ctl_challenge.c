/* scepctl token and challenge commands.  (Placeholder.) */
#include <stdio.h>

#include "server/ctl.h"

static int
not_yet(void)
{
	fprintf(stderr, "scepctl: not available yet\n");
	return 1;
}

int ctl_token_create(const struct conf *c, int argc, char **argv)
{ (void)c; (void)argc; (void)argv; return not_yet(); }
int ctl_token_revoke(const struct conf *c, int argc, char **argv)
{ (void)c; (void)argc; (void)argv; return not_yet(); }
int ctl_token_list(const struct conf *c, int argc, char **argv)
{ (void)c; (void)argc; (void)argv; return not_yet(); }
int ctl_challenge_create(const struct conf *c, int argc, char **argv)
{ (void)c; (void)argc; (void)argv; return not_yet(); }
