/* cmd/help.c - `spanprof help [CMD|env]`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "msg.h"

const struct cli_opt help_opts[] = { { 0 } };

const struct cli_env cli_env_vars[] = {
	{ "SPANPROF_ENABLED", "0", "1 records; setting any pattern below implies it" },
	{ "SPANPROF_OUTPUT", "spanprof.out", "the flight file when recording from the start: the store, kept whatever ends the program; else the dump at exit; %p = pid; empty: none" },
	{ "SPANPROF_FLIGHT", "1", "0: no flight file; the store in memory, written to SPANPROF_OUTPUT at exit" },
	{ "SPANPROF_MAX_TRACES", "500", "traces kept, oldest evicted first (1..1000000)" },
	{ "SPANPROF_BUFFER_MB", "64", "memory for traces; one trace may use half, then it is truncated" },
	{ "SPANPROF_TRACE_CALLS", "", "globs: every instrumented call below such a function is a span" },
	{ "SPANPROF_TRACE_ALL", "", "globs or file:NAME: such functions are spans wherever called" },
	{ "SPANPROF_EXCLUDE", "", "globs or file:NAME: never a span (callees still are)" },
	{ "SPANPROF_CUMULATIVE", "", "globs: calls aggregate into one node per parent" },
	{ "SPANPROF_TRACE", "", "globs: each call is a trace of its own; id: call number, or NAME@PARAM: that argument" },
	{ "SPANPROF_ARGS", "", "globs: spans with their arguments read automatically (needs -g)" },
	{ "SPANPROF_SIGNAL", "", "SIGUSR1, SIGUSR2 or SIGRTMIN+N: accept 'spanprof ctl' commands" },
	{ "SPANPROF_DEBUG", "0", "1 prints the settings in effect at start" },
	{ "SPANPROF_CPU", "1", "each trace records its CPU time and context switches (off-CPU time); 0: off" },
	{ "SPANPROF_STR_MAX", "256", "bytes kept of trace ids, string data and string arguments (16..512)" },
	{ "SPANPROF_SPAN_CPU", "0", "1: SP_SPAN/SP_SCOPE spans get cpu_ns and switch counts as data" },
	{ 0 },
};
const char cli_env_intro[] = "Environment of the profiled program (read once, at start; a bad value gets one\n"
			     "'spanprof:' line on stderr and the default):";
const char cli_env_notes[] = "Globs are comma-separated: 'grid_*,render_row'; file:grid.c selects the functions\n"
			     "defined in grid.c. Functions must be compiled with -finstrument-functions.\n"
			     "C++ names are demangled and qualified; a glob matches the whole name, or its end\n"
			     "after a '::' (never inside template arguments or parameter lists):\n"
			     "  Grid::*        every method of every class Grid, in any namespace\n"
			     "  app::Grid::*   only app::Grid's methods\n"
			     "  *::score       every function or method named score\n"
			     "  std::*         everything of the standard library (with SPANPROF_EXCLUDE)\n"
			     "SPANPROF_ARGS shows every parameter: its value, or <optimized out> (no location\n"
			     "there at -O2), <inlined> (an inlined call without inline information for it),\n"
			     "<?> or <unreadable>; enums by name (A|B for flags).";

static void env_table(void)
{
	printf("%s\n\n", cli_env_intro);
	printf("  %-22s %-14s %s\n", "variable", "default", "meaning");
	for (const struct cli_env *e = cli_env_vars; e->name; e++)
		printf("  %-22s %-14s %s\n", e->name, e->def, e->help);
	printf("\n%s\n", cli_env_notes);
}

int cmd_help(int argc, char **argv)
{
	struct cli_parser p;
	cli_init(&p, "help", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;)
		if (o == CLI_HELP)
			return 0;
		else if (o == CLI_ERROR)
			return 2;
	if (p.ind >= argc) {
		printf("usage: spanprof [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
		for (const struct cli_cmd *c = cli_cmds; c->name; c++)
			printf("  %-9s %s\n", c->name, c->summary);
		return 0;
	}
	if (p.ind + 1 < argc)
		return msg_usagef("help", "one topic at a time");
	if (!strcmp(argv[p.ind], "env")) {
		env_table();
		return 0;
	}
	const struct cli_cmd *c = cli_find(argv[p.ind]);
	if (!c)
		return msg_usagef("help", "no command '%s'", argv[p.ind]);
	cli_help(c);
	return 0;
}
