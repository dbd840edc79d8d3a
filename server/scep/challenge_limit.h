/*
 * Failed challenges per client address (challenge_limit.c): past
 * limits.failed_challenges_per_minute in a minute, an address's next
 * PKCSReqs are refused without looking at their challenge.
 */
#ifndef SCEPD_SCEP_CHALLENGE_LIMIT_H
#define SCEPD_SCEP_CHALLENGE_LIMIT_H

struct challenge_limit;

/* NULL when per_minute is 0 (no limit) or out of memory (*failed set). */
struct challenge_limit *challenge_limit_new(int per_minute, int *failed);
void	challenge_limit_free(struct challenge_limit *);

/* By client address (no port).  Thread-safe. */
int	challenge_limit_over(struct challenge_limit *, const char *addr);
void	challenge_limit_failed(struct challenge_limit *, const char *addr);

#endif /* SCEPD_SCEP_CHALLENGE_LIMIT_H */
