/* read/live.h - talking to a running program that set SPANPROF_SIGNAL
 * (runtime/control.c): `spanprof ctl`, and `-p PID` on the commands that
 * read a dump. */
#ifndef CLI_LIVE_H
#define CLI_LIVE_H

#include <stddef.h>

/* Send a command (SP_CTL_*, control.h) to process `pid`. For SP_CTL_DUMP,
 * wait (up to 10 s) for the program to write its SPANPROF_OUTPUT file and
 * put that file's path in `path`. 0, or 1 after printing why. */
int live_command(long pid, int cmd, char *path, size_t size);

/* A --pid value: 0 and the pid, or 2 after a usage error. */
int live_pid(const char *cmd, const char *s, long *pid);

#endif
