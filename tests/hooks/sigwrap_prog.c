/* sigwrap_prog.c - the runtime's sigaction and signal wrappers
 * (runtime/control.c) are invisible to a host installing handlers for
 * other signals than the control signal: run with SPANPROF_SIGNAL=SIGUSR2
 * (live control on, so the wrappers watch), it installs handlers for
 * SIGUSR1 (sigaction, SA_SIGINFO) and SIGALRM (signal), raises them, and
 * checks that the handlers run and that every old action comes back as
 * glibc alone gives it. It also calls both before the runtime has started
 * (from .preinit_array), and, linked with tests/hooks/sig_next.c after
 * the runtime, checks that the wrappers pass every install on to the next
 * definition (an interceptor) rather than to glibc directly. TAP output. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spanprof.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

extern int sig_next_seen[NSIG];

static int failed, n;

static void check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++n, what);
	if (!ok)
		failed = 1;
}

static volatile sig_atomic_t usr1_calls, usr1_value, alrm_calls, winch_calls;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGUSR1 && si->si_code == SI_QUEUE) {
		usr1_calls++;
		usr1_value = si->si_value.sival_int;
	}
}

static void on_alrm(int sig)
{
	if (sig == SIGALRM)
		alrm_calls++;
}

static void on_winch(int sig)
{
	if (sig == SIGWINCH)
		winch_calls++;
}

/* Before any constructor: the runtime has not started. */
static __sighandler_t early_old = SIG_ERR;
static int early_rc = -1;
static struct sigaction early_query;

static void early(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	early_rc = sigaction(SIGWINCH, NULL, &early_query);
	early_old = signal(SIGWINCH, on_winch);
}
__attribute__((section(".preinit_array"), used)) static void (*const early_p)(int, char **, char **) = early;

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	/* A call into the runtime: the static one is linked in whole (its
	 * wrappers with it), also where a sanitizer's runtime already
	 * defines sigaction. */
	check(!sp_enabled(), "the runtime is linked in, recording off (SPANPROF_ENABLED unset)");

	check(early_rc == 0 && early_query.sa_handler == SIG_DFL, "sigaction before start: query gives SIG_DFL");
	check(early_old == SIG_DFL, "signal before start: returns SIG_DFL");
	raise(SIGWINCH);
	check(winch_calls == 1, "the handler installed before start runs");

	/* sigaction with SA_SIGINFO, and the old action returned */
	struct sigaction sa, old, cur;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	memset(&old, 0xa5, sizeof old);
	check(sigaction(SIGUSR1, &sa, &old) == 0, "sigaction(SIGUSR1) succeeds");
	check(old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO), "old SIGUSR1 action is SIG_DFL");
	memset(&cur, 0, sizeof cur);
	check(sigaction(SIGUSR1, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && (cur.sa_flags & SA_RESTART) &&
		      cur.sa_sigaction == on_usr1 && sigismember(&cur.sa_mask, SIGALRM) == 1,
	      "query gives back the SIGUSR1 handler, flags and mask");
	/* Blocked while sent, then waited for: delivered at a known point,
	 * also under a sanitizer that defers signals to its own safe points. */
	sigset_t usr1, wait;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &wait);
	sigdelset(&wait, SIGUSR1);
	int sent = sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 4242 });
	if (sent == 0)
		while (!usr1_calls)
			sigsuspend(&wait);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	check(sent == 0 && usr1_calls == 1 && usr1_value == 4242, "the SIGUSR1 handler runs with its value");
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	check(sigaction(SIGUSR1, &dfl, &old) == 0 && (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_usr1,
	      "restoring SIG_DFL returns the handler as the old action");
	check(sigaction(SIGUSR1, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL, "SIGUSR1 is back to SIG_DFL");
	errno = 0;
	check(sigaction(SIGKILL, &sa, NULL) == -1 && errno == EINVAL, "sigaction(SIGKILL) fails with EINVAL");

	/* signal: BSD semantics (stays installed), old handler returned */
	check(signal(SIGALRM, on_alrm) == SIG_DFL, "signal(SIGALRM) returns SIG_DFL");
	raise(SIGALRM);
	raise(SIGALRM);
	check(alrm_calls == 2, "the SIGALRM handler runs, and stays installed");
	check(signal(SIGALRM, SIG_IGN) == on_alrm, "signal(SIGALRM, SIG_IGN) returns the handler");
	check(sigaction(SIGALRM, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN, "SIGALRM is now ignored");
	raise(SIGALRM);
	check(alrm_calls == 2, "an ignored SIGALRM does not run the handler");
	errno = 0;
	check(signal(SIGSTOP, on_alrm) == SIG_ERR && errno == EINVAL, "signal(SIGSTOP) gives SIG_ERR, EINVAL");

#ifdef UNDER_TSAN
	/* ThreadSanitizer's interceptor puts its own handler in the kernel
	 * (and runs the host's from it): it saw the install, also when the
	 * static runtime's wrapper displaced it in the executable. */
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} k;
	sigaction(SIGUSR1, &sa, NULL);
	check(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, sizeof k.mask) == 0 && k.handler != (void *)on_usr1,
	      "the sanitizer's sigaction interceptor saw the install");
	sigaction(SIGUSR1, &dfl, NULL);
#endif

	/* Every install went through the next definition, not around it. */
	check(sig_next_seen[SIGUSR1] >= 2, "the next sigaction saw the SIGUSR1 installs");
	check(sig_next_seen[SIGALRM] >= 2, "the next definition saw the SIGALRM installs");
	check(sig_next_seen[SIGWINCH] >= 1, "the next definition saw the install before start");

	printf("1..%d\n", n);
	return failed;
}
