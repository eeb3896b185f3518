/* flight_prog - the flight recorder's crash tests (tests/e2e/test_flight.py).
 *
 * flight_prog MODE [THREADS]: THREADS threads (4) each begin traces
 * "req" with ids "T<thread>-<n>", a few nested spans and a data entry in
 * each, and print "<id>\n" to stdout (a pipe) right after the trace has
 * ended, i.e. been committed, until the process is killed from outside.
 * MODE says how the process ends on its own once every thread has
 * committed 200 traces: "kill" never (the test kills it), "abort",
 * "segv" (a null write), "exit" (normal exit), "_exit". The thread that
 * ends it does so inside a trace ("open-end", span "dying"), so that a
 * trace in progress is in the file when the process dies.
 *
 * flight_prog server: a server's loop. Each line read on stdin is a
 * command: a trace "command" with the line as its id, spans "parse" and
 * "execute" (with "lookup" inside); "ok <line>" is printed when it is
 * done. A line "wait ..." blocks inside "execute", reading stdin, until
 * it closes: the command in flight when the test kills the server.
 *
 * flight_prog fork: one trace "parent", then a fork child records "child"
 * and exits; the parent waits for it and exits.
 * flight_prog exec: one trace "before-exec", then execs
 * /bin/sh -c 'cat /proc/self/maps; ls -l /proc/self/fd/' (what the new
 * image has mapped and open).
 */
#include <sys/wait.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spanprof.h"

static const char *mode;
static atomic_int done_threads;
static int nthreads = 4;

static void say(const char *id)
{
	char line[64];
	size_t n = strlen(id);
	memcpy(line, id, n);
	line[n++] = '\n';
	if (write(1, line, n) != (ssize_t)n)
		_exit(3); /* the reader went away */
}

static volatile unsigned sink;
/* Not NULL: UBSan would stop the store itself. */
static int *volatile bad = (int *)(uintptr_t)8;

static void work(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		sink += i;
}

static void *run(void *arg)
{
	int me = (int)(long)arg;
	char id[32];
	for (unsigned n = 0;; n++) {
		snprintf(id, sizeof id, "T%d-%u", me, n);
		SP_TRACE("req", id) {
			sp_trace_set_u64("n", n);
			SP_SPAN("parse") {
				work(50);
			}
			SP_SPAN("handle") {
				SP_SPAN("db") {
					work(100);
				}
			}
		}
		say(id);
		if (n == 200 && atomic_fetch_add(&done_threads, 1) == nthreads - 1 && strcmp(mode, "kill")) {
			/* the last thread to get here ends the process, one trace open */
			sp_trace_begin("req", "open-end");
			SP_SPAN("dying") {
				work(10);
				if (!strcmp(mode, "abort"))
					abort();
				if (!strcmp(mode, "segv"))
					*bad = 1; /* a fault */
				if (!strcmp(mode, "_exit"))
					_exit(0);
				if (!strcmp(mode, "exit"))
					exit(0);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "kill";
	if (!strcmp(mode, "server")) {
		sp_set_enabled(true);
		char line[256];
		while (fgets(line, sizeof line, stdin)) {
			line[strcspn(line, "\n")] = '\0';
			SP_TRACE("command", line) {
				SP_SPAN("parse") {
					work(100);
				}
				SP_SPAN("execute") {
					SP_SPAN("lookup") {
						work(100);
					}
					if (!strncmp(line, "wait", 4))
						while (getchar() != EOF)
							;
				}
			}
			printf("ok %s\n", line);
			fflush(stdout);
		}
		return 0;
	}
	if (!strcmp(mode, "fork") || !strcmp(mode, "exec")) {
		sp_set_enabled(true);
		SP_TRACE(!strcmp(mode, "fork") ? "parent" : "before-exec", NULL) {
			work(10);
		}
		if (!strcmp(mode, "exec")) {
			execl("/bin/sh", "sh", "-c", "cat /proc/self/maps; ls -l /proc/self/fd/", (char *)NULL);
			return 2;
		}
		pid_t child = fork();
		if (child == 0) {
			SP_TRACE("child", NULL) {
				work(10);
			}
			exit(0);
		}
		int st;
		waitpid(child, &st, 0);
		printf("%d\n", (int)child);
		return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
	}
	if (argc > 2)
		nthreads = atoi(argv[2]);
	signal(SIGPIPE, SIG_DFL);
	sp_set_enabled(true);
	pthread_t th[64];
	for (int i = 0; i < nthreads && i < 64; i++)
		pthread_create(&th[i], NULL, run, (void *)(long)i);
	for (;;)
		pause();
}
