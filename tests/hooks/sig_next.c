/* sig_next.c - a library that wraps sigaction and signal as an
 * interceptor does: linked into sigwrap_prog after libspanprof, it is the
 * definition after the runtime's wrappers, and counts, per signal, the
 * installs that reached it before passing them on to glibc. Like any
 * interposer of sigaction, it is called during a sanitizer's start (by
 * the runtime's wrapper), so it is not instrumented. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>

#if defined(__has_attribute) && __has_attribute(disable_sanitizer_instrumentation)
#define NOSAN __attribute__((disable_sanitizer_instrumentation))
#else
#define NOSAN __attribute__((no_sanitize("thread", "address", "undefined")))
#endif

int sig_next_seen[NSIG];

NOSAN int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int (*real)(int, const struct sigaction *, struct sigaction *) =
		(int (*)(int, const struct sigaction *, struct sigaction *))dlsym(RTLD_NEXT, "sigaction");
	if (act && sig > 0 && sig < NSIG)
		__atomic_add_fetch(&sig_next_seen[sig], 1, __ATOMIC_RELAXED);
	return real(sig, act, old);
}

NOSAN __sighandler_t signal(int sig, __sighandler_t h)
{
	__sighandler_t (*real)(int, __sighandler_t) = (__sighandler_t (*)(int, __sighandler_t))dlsym(RTLD_NEXT, "signal");
	if (sig > 0 && sig < NSIG)
		__atomic_add_fetch(&sig_next_seen[sig], 1, __ATOMIC_RELAXED);
	return real(sig, h);
}
