/* control.h - what the runtime and the CLI (`spanprof ctl`, `-p PID`) must
 * agree on to talk to a running program: the signals live control accepts
 * (SPANPROF_SIGNAL, read by the CLI from the program's environment), the
 * commands (sigqueue(3)'s value), and the name of the dump file. */
#ifndef SP_CONTROL_H
#define SP_CONTROL_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum { SP_CTL_ENABLE = 1, SP_CTL_DISABLE = 2, SP_CTL_CLEAR = 3, SP_CTL_DUMP = 4 };

/* A command's name (`spanprof ctl PID NAME`) to its number; 0 if none. */
static inline __attribute__((no_instrument_function, unused)) int sp__control_command(const char *name)
{
	static const char *const names[] = { [SP_CTL_ENABLE] = "enable", [SP_CTL_DISABLE] = "disable",
					     [SP_CTL_CLEAR] = "clear", [SP_CTL_DUMP] = "dump" };
	for (int i = SP_CTL_ENABLE; i <= SP_CTL_DUMP; i++)
		if (!strcmp(name, names[i]))
			return i;
	return 0;
}

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

/* The dump file a process writes: SPANPROF_OUTPUT's pattern with %p (the
 * pid) and %% expanded, and ".PID" added when `fork_child` and the pattern
 * has no %p (a fork child never overwrites its parent's file). No stdio:
 * the runtime calls it in a signal handler. 0, or -ENAMETOOLONG. */
static inline __attribute__((no_instrument_function, unused)) int sp__output_name(const char *pattern,
										 unsigned long pid,
										 bool fork_child, char *out,
										 size_t size)
{
	char num[24];
	size_t nlen = 0;
	do {
		num[sizeof num - 1 - nlen++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid);
	const char *digits = num + sizeof num - nlen;
	size_t n = 0;
	bool pid_used = false;
	for (const char *p = pattern; *p; p++) {
		const char *add = p;
		size_t len = 1;
		if (p[0] == '%' && p[1] == 'p') {
			add = digits;
			len = nlen;
			pid_used = true;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			p++;
		}
		if (n + len >= size)
			return -ENAMETOOLONG;
		memcpy(out + n, add, len);
		n += len;
	}
	if (fork_child && !pid_used) {
		if (n + 1 + nlen >= size)
			return -ENAMETOOLONG;
		out[n++] = '.';
		memcpy(out + n, digits, nlen);
		n += nlen;
	}
	out[n] = '\0';
	return 0;
}

#endif
