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
 * The handler does only async-signal-safe, constant-time things: flag
 * stores, the store's clear (our locks, which give up rather than deadlock
 * if the interrupted thread holds them), and for a dump it sets a pending
 * flag and writes one byte to a pipe. A thread of ours, "spanprof-ctl"
 * (started at init with every signal blocked, so no host signal ever runs
 * on it), reads the pipe and writes the dump. Requests coalesce: one dump
 * at a time, and any number of requests arriving during it are served by
 * one more dump after it. Between two dumps the thread rests as long as
 * the last one took, so a flood of requests takes at most half a CPU and
 * the host's own threads are never interrupted for more than the handler.
 *
 * The handler must be the one in place when a command arrives, or the
 * command runs the host's handler (or kills it, SIG_DFL). So:
 *  - if the program already handles the signal at init, live control is
 *    refused (one `spanprof:` line), the host's handler kept;
 *  - if the program installs its own handler later (sigaction(2) or
 *    signal(2), which the runtime wraps), the runtime steps aside: the
 *    host's handler goes in, and the thread is renamed "spanprof-off";
 *  - the CLI sends a command only to a process whose control thread is
 *    named "spanprof-ctl" (/proc/PID/task/TID/comm) and which catches the
 *    signal (SigCgt in /proc/PID/status): a program whose runtime has not
 *    started yet, one without the runtime that merely inherited the
 *    variable, or one that took the signal are refused.
 * A handler installed behind the wrappers' back (a raw rt_sigaction
 * system call, sigset, sysv_signal) is not seen: documented in the README.
 *
 * After fork the child gets a pipe and a thread of its own (atfork).
 */
#include "stack.h" /* first: it defines _GNU_SOURCE */

#include "control.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* glibc's own entry points, under the names the wrappers below replace:
 * the runtime's own install uses them, and the wrappers fall back on them
 * when there is no next definition (a static executable). */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

static struct {
	atomic_int sig;     /* the signal, once our handler is in place */
	atomic_int pending; /* a dump was requested and not yet started */
	atomic_int off;     /* the host took the signal */
	int rfd, wfd;       /* the pipe the handler wakes the thread with */
	pthread_t thread;
	bool running;
} ctl = { .rfd = -1, .wfd = -1 };

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
		/* One byte per idle-to-pending change: the pipe never fills,
		 * and a request during a dump is served by the next one. */
		if (!atomic_exchange(&ctl.pending, 1) && write(ctl.wfd, "", 1) < 0) {
			/* non-blocking; a full pipe already wakes the thread */
		}
		break;
	default:
		break; /* a plain kill(1), or an unknown command: ignored */
	}
	errno = e;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *control_thread(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[64];
		ssize_t r = read(ctl.rfd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		while (atomic_exchange(&ctl.pending, 0)) {
			uint64_t t0 = mono_ns();
			if (sp__dump_live() == -ECANCELED)
				return NULL; /* the exit dump has been written */
			/* Rest as long as the dump took (at most 1 s) before
			 * serving requests that came meanwhile. */
			uint64_t dt = mono_ns() - t0;
			if (dt > 999999999u)
				dt = 999999999u;
			struct timespec ts = { 0, (long)dt };
			if (atomic_load(&ctl.pending))
				while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
					;
		}
	}
}

/* The marker the CLI checks (live.c). Set from another thread, it is a
 * write to /proc/self/task/TID/comm. */
static void mark(const char *name)
{
	if (ctl.running)
		pthread_setname_np(ctl.thread, name);
}

/* The pipe and the thread; false (and nothing left) on failure. */
static bool start_thread(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return false;
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) {
		close(p[0]);
		close(p[1]);
		return false;
	}
	ctl.rfd = p[0];
	ctl.wfd = p[1];
	atomic_store(&ctl.pending, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited by the thread */
	int rc = pthread_create(&ctl.thread, NULL, control_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(p[0]);
		close(p[1]);
		ctl.rfd = ctl.wfd = -1;
		errno = rc;
		return false;
	}
	pthread_detach(ctl.thread);
	ctl.running = true;
	mark("spanprof-ctl"); /* before the handler is installed */
	return true;
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
	if (__sigaction(sig, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO ? old.sa_sigaction != NULL
									    : old.sa_handler != SIG_DFL)) {
		sp__warn("SPANPROF_SIGNAL: the program already handles signal %d; no live control", sig);
		return;
	}
	if (!start_thread()) {
		sp__warn("SPANPROF_SIGNAL: cannot start the control thread: %s; no live control", strerror(errno));
		return;
	}
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	atomic_store(&ctl.sig, sig); /* before: the wrappers see our install */
	if (__sigaction(sig, &sa, NULL) != 0) {
		sp__warn("SPANPROF_SIGNAL: cannot handle signal %d: %s", sig, strerror(errno));
		atomic_store(&ctl.sig, 0);
		mark("spanprof-off");
		return;
	}
	sp__cfg.control_signal = sig;
}

void sp__control_fork_child(void)
{
	/* The parent's thread did not come along, and its pipe is shared with
	 * the parent: a pipe and a thread of the child's own. */
	if (!atomic_load(&ctl.sig) || ctl.rfd < 0)
		return;
	close(ctl.rfd);
	close(ctl.wfd);
	ctl.rfd = ctl.wfd = -1;
	ctl.running = false;
	if (!start_thread()) {
		atomic_store(&ctl.off, 1); /* no one to serve dumps */
		return;
	}
	if (atomic_load(&ctl.off))
		mark("spanprof-off");
}

/* The host installs a handler for the control signal: it wins, and the
 * CLI is told by the thread's name. Our own handler put back (a host that
 * saved and restores the old action) turns control on again. */
static void host_takes(int sig, bool ours_back)
{
	if (!atomic_load(&ctl.sig) || sig != atomic_load(&ctl.sig))
		return;
	if (ours_back) {
		if (atomic_exchange(&ctl.off, 0))
			mark("spanprof-ctl");
	} else if (!atomic_exchange(&ctl.off, 1)) {
		mark("spanprof-off");
	}
}

/* Wrappers of the two ways a program installs a handler; they only watch
 * the control signal (and only when live control is on), then call the
 * next definition.
 *
 * They run in any host, and early: a sanitizer's interceptor resolves the
 * "real" sigaction with dlsym(RTLD_NEXT), finds ours, and calls it while
 * initializing itself, before any constructor of ours and before it can
 * run instrumented code (ThreadSanitizer crashes on the function-entry
 * hook). So the wrappers, and what they call before the runtime is on,
 * are not instrumented at all (clang's no_sanitize("thread") still keeps
 * the entry hook; disable_sanitizer_instrumentation drops everything), and
 * they touch nothing of the runtime until live control is on, which is
 * after every sanitizer's start. They chain to the next definition rather
 * than to glibc's internals, so an interposer after us (an interceptor, a
 * library of the host's) still sees every call. The next definitions are
 * looked up in a constructor that runs before the host's; a call before
 * it (a sanitizer's start, early single-threaded) looks them up itself.
 * dlsym is not async-signal-safe, so a signal handler never does that
 * once the constructor has run. signal chains to the next signal, not to
 * bsd_signal: the host asked for signal, and an interposer may wrap that
 * name only (it is the same function in glibc). */
#if defined(__has_attribute) && __has_attribute(disable_sanitizer_instrumentation)
#define SP_NOSAN __attribute__((disable_sanitizer_instrumentation))
#else
#define SP_NOSAN __attribute__((no_sanitize("thread", "address", "undefined")))
#endif

typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);
typedef __sighandler_t signal_fn(int, __sighandler_t);
static sigaction_fn *next_sigaction;
static signal_fn *next_signal;

/* The definition after ours, never ours again (a runtime linked in twice,
 * static and shared), else glibc's. One exception: the static runtime in
 * an executable that also holds a sanitizer's runtime (clang links it
 * statically): its interceptors are weak, so ours replaced them, and the
 * interceptor is the next definition, under its own name. Only when ours
 * is the process's definition: otherwise (the shared runtime) the
 * interceptor comes first and calls us. */
SP_NOSAN static inline __attribute__((always_inline)) void *next_of(const char *name, const char *icpt, void *self,
								     void *fallback)
{
	void *p = NULL;
	if (dlsym(RTLD_DEFAULT, name) == self)
		p = dlsym(RTLD_DEFAULT, icpt);
	if (!p || p == self)
		p = dlsym(RTLD_NEXT, name);
	return p && p != self ? p : fallback;
}

SP_NOSAN static inline __attribute__((always_inline)) sigaction_fn *get_sigaction(void)
{
	sigaction_fn *f = __atomic_load_n(&next_sigaction, __ATOMIC_ACQUIRE);
	if (!f) { /* threads racing here find the same one */
		f = (sigaction_fn *)next_of("sigaction", "__interceptor_sigaction", (void *)sigaction, (void *)__sigaction);
		__atomic_store_n(&next_sigaction, f, __ATOMIC_RELEASE);
	}
	return f;
}

SP_NOSAN static inline __attribute__((always_inline)) signal_fn *get_signal(void)
{
	signal_fn *f = __atomic_load_n(&next_signal, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (signal_fn *)next_of("signal", "__interceptor_signal", (void *)signal, (void *)bsd_signal);
		__atomic_store_n(&next_signal, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* 101: before the host's constructors (and init.c's), which may install
 * handlers, and before any signal handler of the host can run. */
SP_NOSAN __attribute__((constructor(101))) static void resolve_next(void)
{
	get_sigaction();
	get_signal();
}

/* Live control is on: only then is the runtime (and every sanitizer)
 * started, and host_takes may run. */
SP_NOSAN static inline __attribute__((always_inline)) bool ctl_on(void)
{
	return atomic_load_explicit(&ctl.sig, memory_order_acquire) != 0;
}

SP_NOSAN static inline __attribute__((always_inline)) bool act_is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == handler;
}

SP_NOSAN SP_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	bool watch = act && ctl_on();
	bool ours = watch && act_is_ours(act);
	if (watch && !ours)
		host_takes(sig, false); /* before: the CLI never sends to it */
	int rc = get_sigaction()(sig, act, old);
	if (ours && rc == 0)
		host_takes(sig, true);
	return rc;
}

SP_NOSAN SP_API __sighandler_t signal(int sig, __sighandler_t h)
{
	if (h != SIG_ERR && ctl_on())
		host_takes(sig, false);
	return get_signal()(sig, h);
}
