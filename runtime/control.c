/* control.c - live control of a running process (`spanprof ctl PID ...`).
 *
 * Opt-in: with SPANPROF_SIGNAL=SIGUSR2 (or SIGUSR1, SIGRTMIN+N), the
 * runtime installs a handler for that signal, and only then; without it
 * the program's signals are untouched. The command travels in the value of
 * sigqueue(3), so nothing is read from files:
 *   1 enable recording   2 disable   3 clear the store
 *   4 write the dump to SPANPROF_OUTPUT (as at exit; "%p" is the pid)
 * Only a process allowed to signal this one (same user, or root) can.
 *
 * The handler does only async-signal-safe things: flag stores, our own
 * locks (which give up rather than deadlock if the interrupted thread
 * holds them), mmap, open/write/rename for the dump. The dump made here
 * skips looking for libraries loaded since the last picture
 * (dl_iterate_phdr takes the loader's lock), so a library dlopen'ed after
 * the last trace may show by address.
 */
#include "stack.h" /* first: it defines _GNU_SOURCE */

#include "control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>


int sp__in_control_handler;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	int e = errno;
	switch (si->si_code == SI_QUEUE ? si->si_value.sival_int : 0) {
	case SP_CTL_ENABLE:
		sp_set_enabled(true);
		break;
	case SP_CTL_DISABLE:
		sp_set_enabled(false);
		break;
	case SP_CTL_CLEAR:
		sp__store_clear();
		break;
	case SP_CTL_DUMP:
		/* sp_dump's own file, as at exit (".PID" in a fork child);
		 * naming it uses no stdio. */
		sp__in_control_handler = 1;
		sp_dump(NULL);
		sp__in_control_handler = 0;
		break;
	default:
		break; /* a plain kill(1), or an unknown command: ignored */
	}
	errno = e;
}

void sp__control_init(void)
{
	const char *v = secure_getenv("SPANPROF_SIGNAL");
	if (!v || !*v)
		return;
	int sig = sp__control_signal(v);
	if (!sig) {
		sp__warn("SPANPROF_SIGNAL='%s' is not SIGUSR1, SIGUSR2 or SIGRTMIN+N; no live control", v);
		return;
	}
	struct sigaction old, sa;
	memset(&sa, 0, sizeof sa);
	if (sigaction(sig, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO ? old.sa_sigaction != NULL
									  : old.sa_handler != SIG_DFL)) {
		sp__warn("SPANPROF_SIGNAL: the program already handles signal %d; no live control", sig);
		return;
	}
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		sp__warn("SPANPROF_SIGNAL: cannot handle signal %d: %s", sig, strerror(errno));
	else
		sp__cfg.control_signal = sig;
}
