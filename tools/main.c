/* main.c - the spanprof command: the subcommand table, help routing, exit
 * status, and a last check that standard output was really written.
 *
 *   spanprof list              traces in spanprof.out
 *   spanprof show 7            the tree of trace #7
 *   spanprof CMD --help        == spanprof help CMD
 * Exit status: 0 success, 1 error, 2 usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "msg.h"
#include "spanprof_constants.h"

int cmd_list(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_pie(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_ui(int argc, char **argv);
int cmd_report(int argc, char **argv);

extern const struct cli_opt list_opts[], show_opts[], help_opts[], ctl_opts[], pie_opts[], top_opts[], diff_opts[],
	export_opts[], run_opts[], push_opts[], ui_opts[], report_opts[], stats_opts[];

const struct cli_cmd cli_cmds[] = {
	{ "list", cmd_list, "List the traces of a dump: one line per command or request.",
	  "[-f FILE... | -p PID] [--sort duration|start|name] [--name GLOB] [--min-ms X] [--limit N] [--json]",
	  "Columns: # (the trace's sequence number), name, id, total ms, start (local time),\n"
	  "thread, spans (tree nodes, cumulative nodes included). Several dumps (-f again, or a\n"
	  "glob: -f 'spanprof.out.*') list as one, by start, with a pid column first when they\n"
	  "come from several processes.",
	  list_opts, false },
	{ "stats", cmd_stats, "Statistics of every trace that ended, stored or not: counts and percentiles per name.",
	  "[-f FILE... | -p PID] [--json]",
	  "Per trace name: seen (traces that ended), stored (in the store now), evicted,\n"
	  "filtered (faster than SPANPROF_MIN_MS), then min, p50, p90, p99, p99.9, max and\n"
	  "mean of all of them, from the runtime's histograms (within 1%). The last line: the\n"
	  "store's totals (traces seen, evicted, dropped spans, bytes used of the budget).\n"
	  "Reads a dump, a flight file after a crash, or a live process (-p).",
	  stats_opts, false },
	{ "show", cmd_show, "Show one trace as a tree: total, self and share of each span.",
	  "[-f FILE... | -p PID] [--zoom PATH|NODE] [--depth D] [--min-pct X] [--merge N] [--json] SEQ",
	  "SEQ is a trace number from 'list', or first, last, slowest; PID:SEQ among the dumps\n"
	  "of several processes. Each line: node number, total ms, self ms, % of the parent,\n"
	  "then the name with its data (key=value) and, for functions, file:line. A\n"
	  "cumulative node shows xCOUNT and min/avg/max. A node\n"
	  "with more than --merge children shows one line per name: xCOUNT and avg/max.\n"
	  "The hottest path from the shown root is marked. Colors on a terminal only (NO_COLOR).",
	  show_opts, false },
	{ "run", cmd_run, "Run a program under the profiler, then list its traces.",
	  "[--trace-calls G] [--trace-all G] [--exclude G] [--cumulative G] [--trace G] [--args G] [-o FILE] -- PROG ARGS...",
	  "Sets the SPANPROF_* variables from the options (none: SPANPROF_ENABLED=1), runs\n"
	  "PROG, passes its exit status through (128+N when killed by signal N) and lists\n"
	  "the traces it wrote. GLOBS are comma-separated; options may repeat.",
	  run_opts, true },
	{ "pie", cmd_pie, "Show where a span's time went as a pie chart, in the terminal or as SVG.",
	  "[-f FILE... | -p PID] [--zoom PATH|NODE] [--min-pct X] [--svg OUT] [--json] SEQ",
	  "One slice per child name, one for the span's own (self) time; slices under\n"
	  "--min-pct are merged into \"other\". Each name keeps its color from chart to chart.",
	  pie_opts, false },
	{ "top", cmd_top, "Rank spans (or functions) across all traces: count, total, self, percentiles.",
	  "[-f FILE... | -p PID] [--by name|function] [--sort KEY] [--limit N] [--json]",
	  "Answers \"which phase is slow across commands\". Percentiles are exact over spans;\n"
	  "a cumulative node counts its iterations at their average. Several dumps (-f again,\n"
	  "or a glob) make one table.",
	  top_opts, false },
	{ "diff", cmd_diff, "Compare two traces span by span: before, after, change.",
	  "[-f FILE...] [--min-ms X] [--limit N] [--json] SEQ_A SEQ_B",
	  "Spans are matched by their path of names from the root. SEQ may be FILE:SEQ to\n"
	  "take a trace from another dump (a run before a change, one after it), or PID:SEQ\n"
	  "among the -f dumps of several processes.",
	  diff_opts, false },
	{ "export", cmd_export, "Export traces: Perfetto, OTLP, speedscope, Chrome, folded stacks, JSON.",
	  "[-f FILE... | -p PID] [--format FMT] [-o OUT] [SEQ...]",
	  "chrome: opens in Perfetto, speedscope, chrome://tracing (one track per thread).\n"
	  "perfetto: Perfetto's protobuf trace (ui.perfetto.dev), for big traces.\n"
	  "otlp: OpenTelemetry OTLP/JSON (an ExportTraceServiceRequest); see also 'push'.\n"
	  "speedscope: speedscope's format, one profile per trace, frames merged by name.\n"
	  "folded: for flamegraph.pl, weights = self time in us. json: every trace's tree.\n"
	  "Default: every trace in the dump; several dumps (-f again, or a glob) go into one\n"
	  "file, a process each. SEQ may be PID:SEQ. Formats: docs/EXPORTS.md.",
	  export_opts, false },
	{ "push", cmd_push, "Send traces to an OpenTelemetry collector (OTLP/HTTP, JSON).",
	  "--otlp URL [-f FILE... | -p PID [--follow]] [--header K=V]...",
	  "POSTs the traces as OTLP/JSON to URL/v1/traces (an otelcol, Jaeger or Tempo\n"
	  "OTLP/HTTP receiver, usually on port 4318), in requests of at most --batch-spans\n"
	  "spans and 1 MB. 429 and 5xx answers are retried with backoff (Retry-After is\n"
	  "honoured), 6 tries in all; other statuses are errors. --follow -p PID sends each\n"
	  "new trace of a running program once, polling it, until it ends.\n"
	  "Example: spanprof push --otlp http://localhost:4318 -f spanprof.out",
	  push_opts, false },
	{ "ui", cmd_ui, "Serve the traces as a web page: list, tree, pie, flame graph; live control.",
	  "[-f FILE... | -p PID] [--port N] [--bind ADDR]",
	  "Prints the page's URL, http://127.0.0.1:PORT/?token=TOKEN, and serves it until\n"
	  "Ctrl-C; every request needs the token. With -p PID (a program started with\n"
	  "SPANPROF_SIGNAL), the list refreshes every second and the page has Enable,\n"
	  "Disable and Clear buttons (the commands of 'ctl'). Listens on loopback only,\n"
	  "unless --bind says otherwise. Nothing is loaded from the network.",
	  ui_opts, false },
	{ "report", cmd_report, "Write the page of 'ui' as one self-contained HTML file.",
	  "[-f FILE... | -p PID] [-o OUT.html]",
	  "The traces' list and trees are embedded in the file: it opens from disk in a\n"
	  "browser with no network and no server (no control buttons). Prints its path.",
	  report_opts, false },
	{ "ctl", cmd_ctl, "Control a running program: enable, disable, clear, dump.",
	  "PID enable|disable|clear|dump",
	  "The program must run with SPANPROF_SIGNAL set (e.g. SIGUSR2): spanprof reads it\n"
	  "from /proc/PID/environ and sends the command with sigqueue(3), only if the\n"
	  "program's runtime is listening (its spanprof-ctl thread is there and the\n"
	  "signal is caught); else nothing is sent and the status is 1. 'dump' writes\n"
	  "the program's SPANPROF_OUTPUT file and waits for it (up to 10 s).",
	  ctl_opts, false },
	{ "help", cmd_help, "Show help for a command, or the environment variables (help env).", "[CMD|env]", "",
	  help_opts, false },
	{ 0 },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: spanprof [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\nSee 'spanprof help COMMAND' for a command's options, 'spanprof help env' for the\n"
		   "environment variables of the profiled program.\n");
}

/* The command nearest to a mistyped one (edit distance), or NULL. */
static const char *nearest(const char *s)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (const struct cli_cmd *c = cli_cmds; c->name; c++) {
		size_t n = strlen(s), m = strlen(c->name), row[64];
		if (n >= 63 || m >= 63)
			continue;
		for (size_t j = 0; j <= m; j++)
			row[j] = j;
		for (size_t i = 1; i <= n; i++) {
			size_t prev = row[0];
			row[0] = i;
			for (size_t j = 1; j <= m; j++) {
				size_t cur = row[j];
				size_t sub = prev + (s[i - 1] != c->name[j - 1]);
				row[j] = sub < row[j] + 1 ? sub : row[j] + 1;
				if (row[j - 1] + 1 < row[j])
					row[j] = row[j - 1] + 1;
				prev = cur;
			}
		}
		if (row[m] < best_d) {
			best_d = row[m];
			best = c->name;
		}
	}
	return best;
}

/* A full disk must not go unnoticed; a closed pipe (| head) is quiet. */
static int finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		struct stat st;
		if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode) && errno == EPIPE)
			return status;
		msg_errorf("write error on standard output: %s", strerror(errno));
		return 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_DFL); /* `spanprof show 1 | head`: end quietly */
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return finish_stdout(0);
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("spanprof %s (dump format %d)\n", SP_VERSION_STRING, SP_DUMP_VERSION);
		return finish_stdout(0);
	}
	/* Hidden, for the build: man pages and completion from these tables. */
	if (!strcmp(name, "--gen-man") && argc == 3)
		return finish_stdout(cli_gen_man(argv[2]));
	if (!strcmp(name, "--gen-completion") && argc == 3)
		return finish_stdout(cli_gen_completion(argv[2]));
	if (name[0] == '-')
		return msg_usagef(NULL, "unknown option '%s'", name);
	const struct cli_cmd *cmd = cli_find(name);
	if (!cmd) {
		const char *near = nearest(name);
		if (near)
			msg_errorf("'%s' is not a spanprof command; did you mean '%s'?", name, near);
		else
			msg_errorf("'%s' is not a spanprof command", name);
		fprintf(stderr, "spanprof: try 'spanprof --help'\n");
		return 2;
	}
	int status = cmd->run(argc - 1, argv + 1);
	return finish_stdout(status);
}
