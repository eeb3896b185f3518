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
int cmd_show(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_ctl(int argc, char **argv);

extern const struct cli_opt list_opts[], show_opts[], help_opts[], ctl_opts[];

const struct cli_cmd cli_cmds[] = {
	{ "list", cmd_list, "List the traces of a dump: one line per command or request.",
	  "[-f FILE] [--sort duration|start|name] [--name GLOB] [--min-ms X] [--limit N] [--json]",
	  "Columns: # (the trace's sequence number), name, id, total ms, start (local time),\n"
	  "thread, spans (tree nodes, cumulative nodes included).",
	  list_opts, false },
	{ "show", cmd_show, "Show one trace as a tree: total, self and share of each span.",
	  "[-f FILE] [--zoom PATH|NODE] [--depth D] [--min-pct X] [--json] SEQ",
	  "SEQ is a trace number from 'list', or first, last, slowest. Each line: node number,\n"
	  "total ms, self ms, % of the parent, then the name with its data (key=value) and,\n"
	  "for functions, file:line. A cumulative node shows xCOUNT and min/avg/max.\n"
	  "The hottest path from the shown root is marked. Colors on a terminal only (NO_COLOR).",
	  show_opts, false },
	{ "ctl", cmd_ctl, "Control a running program: enable, disable, clear, dump.",
	  "PID enable|disable|clear|dump",
	  "The program must run with SPANPROF_SIGNAL set (e.g. SIGUSR2): spanprof reads it\n"
	  "from /proc/PID/environ and sends the command with sigqueue(3). 'dump' writes\n"
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
		sp_errorf("write error on standard output: %s", strerror(errno));
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
	if (name[0] == '-')
		return sp_usagef(NULL, "unknown option '%s'", name);
	const struct cli_cmd *cmd = cli_find(name);
	if (!cmd) {
		const char *near = nearest(name);
		if (near)
			sp_errorf("'%s' is not a spanprof command; did you mean '%s'?", name, near);
		else
			sp_errorf("'%s' is not a spanprof command", name);
		fprintf(stderr, "spanprof: try 'spanprof --help'\n");
		return 2;
	}
	int status = cmd->run(argc - 1, argv + 1);
	return finish_stdout(status);
}
