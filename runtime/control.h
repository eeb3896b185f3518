/* control.h - the signals live control accepts, parsed the same way by
 * the runtime (SPANPROF_SIGNAL) and by `spanprof ctl` (from the program's
 * environment). Commands travel as sigqueue(3)'s value. */
#ifndef SP_CONTROL_H
#define SP_CONTROL_H

#include <signal.h>
#include <string.h>

enum { SP_CTL_ENABLE = 1, SP_CTL_DISABLE = 2, SP_CTL_CLEAR = 3, SP_CTL_DUMP = 4 };

/* SIGUSR1, SIGUSR2, SIGRTMIN[+N] (also without "SIG"), or a number of one
 * of those; 0 for anything else. */
static inline __attribute__((no_instrument_function, unused)) int sp__control_signal(const char *v)
{
	if (!strcmp(v, "SIGUSR1") || !strcmp(v, "USR1"))
		return SIGUSR1;
	if (!strcmp(v, "SIGUSR2") || !strcmp(v, "USR2"))
		return SIGUSR2;
	int base = 0;
	if (!strncmp(v, "SIGRTMIN", 8) || !strncmp(v, "RTMIN", 5)) {
		v += v[0] == 'S' ? 8 : 5;
		base = SIGRTMIN;
		if (*v == '\0')
			return base;
		if (*v++ != '+')
			return 0;
	}
	int n = 0;
	if (!*v)
		return 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > 100)
			return 0;
		n = n * 10 + (*v - '0');
	}
	n += base;
	return (n == SIGUSR1 || n == SIGUSR2 || (n >= SIGRTMIN && n <= SIGRTMAX)) ? n : 0;
}

#endif
