/*
 * The supervisor: the process scepd starts as.  It holds no key and reads
 * nothing from the network.  It starts the signer as a fresh image of
 * this program (scepd -S: server/signer/signer.c), waits until the signer
 * has loaded its keys, and forks the worker, which does all the rest.
 * When the signer dies, it starts another (at once, then backing off to
 * SIGNER_BACKOFF_MAX_MS while starts keep failing) and hands the worker
 * the new link; the worker answers 503 for signing work in between.
 * SIGTERM, SIGINT and SIGHUP go to the worker; when the worker ends, the
 * signer is stopped and the supervisor exits with the worker's status.
 * Both children die with the supervisor (PR_SET_PDEATHSIG), so a SIGKILL
 * to it leaves nothing running.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"
#include "server/signer/signer.h"
#include "server/signer/wire.h"

/* Loading keys from a token can take a while; not forever. */
#define SIGNER_READY_MS		60000
#define SIGNER_BACKOFF_MAX_MS	5000

static pid_t		 worker = -1, signer = -1;
static sigset_t		 handled, saved_mask;
static char		 exe[PATH_MAX];
static char		*argv_signer[16];

/* In a child, before anything else: die with the supervisor. */
static void
child_setup(pid_t parent)
{
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

/* A new signer: its link (the worker's end), or -1 if it did not start. */
static int
start_signer(void)
{
	struct pollfd	 pfd;
	char		 buf[sizeof(WIRE_READY)];
	pid_t		 parent = getpid(), pid;
	ssize_t		 n = -1;
	int		 sv[2], status;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("signer: socketpair");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("signer: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		child_setup(parent);
		if (sv[1] == WIRE_LINK_FD ?
		    fcntl(sv[1], F_SETFD, 0) == -1 :
		    dup2(sv[1], WIRE_LINK_FD) == -1)
			_exit(127);
		execv(exe, argv_signer);
		_exit(127);
	}
	close(sv[1]);
	pfd.fd = sv[0];
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, SIGNER_READY_MS) == 1)
		n = recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, WIRE_READY,
	    sizeof(buf)) != 0) {
		close(sv[0]);
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		return -1;
	}
	signer = pid;
	log_info("signer: pid %ld holds the keys", (long)pid);
	return sv[0];
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
stop_signer(void)
{
	int	status;

	if (signer == -1)
		return;
	kill(signer, SIGTERM);
	(void)waitpid(signer, &status, 0);
	signer = -1;
}

static const char *
how(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(buf, len, "ended");
	return buf;
}

static void __attribute__((noreturn))
supervise_loop(int ctl)
{
	struct timespec	 ts;
	siginfo_t	 si;
	char		 buf[64];
	long		 next_try = 0, backoff = 0;
	pid_t		 pid, dead_signer;
	int		 sig, status, signer_status = 0, link, stopping = 0;

	for (;;) {
		if (signer == -1 && !stopping && now_ms() >= next_try) {
			if ((link = start_signer()) != -1) {
				if (fd_send(ctl, link) == -1)
					log_warn("signer: cannot hand the "
					    "worker its link");
				close(link);
				backoff = 0;
			} else {
				backoff = backoff == 0 ? 100 :
				    backoff * 2 > SIGNER_BACKOFF_MAX_MS ?
				    SIGNER_BACKOFF_MAX_MS : backoff * 2;
				next_try = now_ms() + backoff;
				log_warnx("signer: did not start; trying again "
				    "in %ld ms", backoff);
			}
		}
		if (signer == -1 && !stopping) {
			long	wait = next_try - now_ms();

			if (wait < 0)
				wait = 0;
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000L;
			sig = sigtimedwait(&handled, &si, &ts);
		} else
			sig = sigwaitinfo(&handled, &si);
		if (sig == -1)
			continue;
		if (sig != SIGCHLD) {
			stopping = 1;
			kill(worker, sig == SIGHUP ? SIGTERM : sig);
			continue;
		}
		/*
		 * Everything that ended, then what it means: a worker that
		 * ended takes its signer with it (which then ends too), and
		 * that is no reason to start another.
		 */
		dead_signer = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == worker) {
				if (!WIFEXITED(status))
					log_warnx("worker %s",
					    how(status, buf, sizeof(buf)));
				stop_signer();
				exit(WIFEXITED(status) ? WEXITSTATUS(status) :
				    1);
			}
			if (pid == signer) {
				signer = -1;
				dead_signer = pid;
				signer_status = status;
			}
		}
		if (dead_signer != 0 && !stopping)
			log_warnx("signer (pid %ld) %s: starting another",
			    (long)dead_signer, how(signer_status, buf,
			    sizeof(buf)));
	}
}

int
supervise(char *const signer_argv[])
{
	ssize_t	 n;
	pid_t	 parent = getpid();
	int	 ctl[2], link, i;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		fatal("readlink /proc/self/exe");
	exe[n] = '\0';
	argv_signer[0] = (char *)(uintptr_t)"scepd";
	for (i = 0; signer_argv[i] != NULL && i < 14; i++)
		argv_signer[i + 1] = signer_argv[i];
	argv_signer[i + 1] = NULL;

	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &handled, &saved_mask) == -1)
		fatal("sigprocmask");
	if ((link = start_signer()) == -1)
		fatalx("the signer did not start: see its messages above");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1)
		fatal("socketpair");
	if ((worker = fork()) == -1)
		fatal("fork");
	if (worker == 0) {
		child_setup(parent);
		(void)prctl(PR_SET_NAME, "scepd-worker");
		close(ctl[0]);
		close(link);
		return ctl[1];
	}
	close(ctl[1]);
	if (fd_send(ctl[0], link) == -1)
		fatal("cannot hand the worker the signer's link");
	close(link);
	supervise_loop(ctl[0]);
}
