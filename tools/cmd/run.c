/* cmd/run.c - `spanprof run [options] -- PROG ARGS...`: run a program
 * under the profiler. The options become SPANPROF_* variables (none of
 * them: SPANPROF_ENABLED=1, the manual probes), the program's exit status
 * is passed through (128 + N if a signal N killed it), and the traces it
 * recorded are listed afterwards. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "msg.h"

enum { O_CALLS = 1, O_ALL, O_EXCL, O_CUMUL, O_TRACE, O_ARGS, O_OUT = 'o', O_QUIET = 'q' };

const struct cli_opt run_opts[] = {
	{ 0, "trace-calls", "GLOBS", "SPANPROF_TRACE_CALLS: every call below these functions is a span", O_CALLS },
	{ 0, "trace-all", "GLOBS", "SPANPROF_TRACE_ALL: these functions (or file:NAME) are spans", O_ALL },
	{ 0, "exclude", "GLOBS", "SPANPROF_EXCLUDE: never a span", O_EXCL },
	{ 0, "cumulative", "GLOBS", "SPANPROF_CUMULATIVE: calls aggregate per parent", O_CUMUL },
	{ 0, "trace", "GLOBS", "SPANPROF_TRACE: each call is a trace (NAME@PARAM: id from that argument)", O_TRACE },
	{ 0, "args", "GLOBS", "SPANPROF_ARGS: spans with their arguments", O_ARGS },
	{ 'o', "output", "FILE", "the dump to write (default: spanprof.out)", O_OUT },
	{ 'q', "quiet", NULL, "do not list the traces afterwards", O_QUIET },
	{ 0 },
};

int cmd_list(int argc, char **argv);

int cmd_run(int argc, char **argv)
{
	static const char *vars[] = { NULL, "SPANPROF_TRACE_CALLS", "SPANPROF_TRACE_ALL", "SPANPROF_EXCLUDE",
				      "SPANPROF_CUMULATIVE", "SPANPROF_TRACE", "SPANPROF_ARGS" };
	const char *out = CLI_DEFAULT_DUMP;
	bool quiet = false, any = false;
	struct cli_parser p;
	cli_init(&p, "run", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_OUT: out = p.arg; break;
		case O_QUIET: quiet = true; break;
		default:
			if (o >= O_CALLS && o <= O_ARGS) {
				/* a repeated option adds to its list (not to an
				 * inherited value, which the option replaces) */
				static bool set[O_ARGS + 1];
				const char *old = getenv(vars[o]);
				char *v = NULL;
				if (set[o] && old && asprintf(&v, "%s,%s", old, p.arg) > 0) {
					setenv(vars[o], v, 1);
					free(v);
				} else {
					setenv(vars[o], p.arg, 1);
				}
				set[o] = true;
				any = true;
			}
		}
	}
	if (p.ind >= argc)
		return msg_usagef("run", "which program? spanprof run [options] -- PROG ARGS...");
	if (!*out)
		return msg_usagef("run", "--output needs a file name");
	if (!any)
		setenv("SPANPROF_ENABLED", "1", 1);
	/* SPANPROF_OUTPUT expands %p: keep a literal '%' literal. */
	char *escaped = malloc(2 * strlen(out) + 1), *e = escaped;
	if (!escaped)
		return 1;
	for (const char *c = out; *c; c++) {
		if (*c == '%')
			*e++ = '%';
		*e++ = *c;
	}
	*e = '\0';
	setenv("SPANPROF_OUTPUT", escaped, 1);
	free(escaped);
	struct stat before;
	bool had = stat(out, &before) == 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		msg_errorf("cannot start %s: %s", argv[p.ind], strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[p.ind], argv + p.ind);
		msg_errorf("cannot run %s: %s", argv[p.ind], strerror(errno));
		_exit(127);
	}
	/* The program owns the terminal: ^C goes to it, not to us. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return 127;
	struct stat now;
	bool wrote = stat(out, &now) == 0 &&
		     (!had || now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
		      now.st_ino != before.st_ino);
	if (!wrote) {
		if (WIFSIGNALED(st))
			msg_errorf("%s was killed by signal %d: no dump (spanprof writes it at a normal exit)",
				  argv[p.ind], WTERMSIG(st));
		else
			msg_errorf("%s recorded nothing (no %s); is it built with -finstrument-functions, or linked "
				  "with libspanprof?",
				  argv[p.ind], out);
		return status ? status : 1;
	}
	if (!quiet) {
		fflush(stdout);
		char *largv[] = { "list", "-f", (char *)out, NULL };
		cmd_list(3, largv);
	}
	return status;
}
