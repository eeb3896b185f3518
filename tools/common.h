/* common.h - what several subcommands do the same way. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <stdio.h>

#include "cli.h"
#include "read/dump.h"
#include "read/tree.h"

#define CLI_DEFAULT_DUMP "spanprof.out"

/* Open a dump: `path`, or, when `pid` is not 0, a dump the running
 * process `pid` writes on request (-p). On failure print the error and
 * return 1. */
int cmd_open(const char *path, long pid, struct rd_dump *d);
void cmd_close(struct rd_dump *d);

struct cmd_source;

/* Many dumps read as one view (-f given more than once, or a glob such as
 * 'spanprof.out.*'): the dumps in the order given, each glob's matches
 * sorted by name. */
struct cmd_set {
	struct rd_dump *d;
	size_t n;
	bool many_pids; /* more than one process: show PIDs, use PID:SEQ */
};

/* A trace of a set: its dump and its index there. */
struct cmd_ref {
	struct rd_dump *d;
	size_t index;
};

/* Open every dump of `s` (globs expanded when the shell did not). On
 * failure print the error, leave nothing open and return 1. */
int cmd_open_set(const struct cmd_source *s, struct cmd_set *set);
void cmd_close_set(struct cmd_set *set);
/* Every trace of the set in its dump's order, the dumps in theirs; the
 * caller frees the array. NULL (and *n 0) after "out of memory" only when
 * there are traces. */
struct cmd_ref *cmd_set_all(const struct cmd_set *set, size_t *n);
/* A trace of the set by reference: SEQ (first, last, slowest, a number)
 * or PID:SEQ. 0 with *r set; -1 after printing why (exit 1); -2 after a
 * usage error (exit 2). A plain number found in several dumps is an
 * error that asks for PID:SEQ. */
int cmd_pick_set(const char *cmd, const struct cmd_set *set, const char *spec, struct cmd_ref *r);

/* Open an output file (-o, --svg) for writing, as fopen(path, "w") does,
 * but without waiting: a FIFO with no reader is an error at once (a FIFO
 * or a terminal with a reader, /dev/stdout, are fine). NULL after printing
 * why. */
FILE *cmd_create(const char *path);

/* A trace by SEQ: its number, or "first", "last", "slowest". Returns its
 * index, or -1 after printing why (exit 1); -2 on a malformed SEQ after a
 * usage error (exit 2). */
long cmd_pick(const char *cmd, struct rd_dump *d, const char *spec);

/* Load a trace's tree; prints the error and returns 1 on failure. */
int cmd_tree(struct rd_dump *d, size_t index, struct rd_tree *t);

/* The node a --zoom value names: a node number printed by show, or a
 * '/'-separated path of names from the root (which may start with the
 * root's own name). NULL after printing why. */
const sp_node *cmd_zoom(const struct rd_tree *t, const char *zoom);

/* A --color value: 0, or the usage-error status 2 after a message. */
int cmd_color_ok(const char *cmd, const char *when);

/* What show and pie do first: argv[ind] must be the one SEQ; open `src`,
 * pick the trace, load its tree, resolve --zoom (NULL: the root). 0 with
 * everything loaded (free with rd_tree_free and cmd_close_set), else the exit
 * status with nothing left open. */
int cmd_one_trace(const char *cmd, const struct cmd_source *src, int argc, char **argv, int ind, const char *zoom,
		  struct cmd_set *set, struct rd_dump **d, struct rd_tree *t, const sp_node **node);

/* The standard -f/--file option, shared by the commands that read dumps. */
#define CMD_OPT_FILE                                                                                    \
	{ 'f', "file", "FILE", "the dump to read (default: " CLI_DEFAULT_DUMP "); again, or a glob, for several", 'f' }
/* Where a command reads its dumps from: -f FILE (any number of times), or
 * -p PID. */
struct cmd_source {
	const char *file; /* the last -f, or the default */
	const char **files; /* every -f, in order (kept by common.c) */
	size_t nfiles;
	long pid; /* 0: none */
};
#define CMD_SOURCE_DEFAULT { CLI_DEFAULT_DUMP, NULL, 0, 0 }

/* Take -f or -p (option ids 'f', 'p'): 1 if `o` was one of them, 0 if
 * not, -1 after a usage error (a bad PID) or no memory. */
int cmd_source_opt(const char *cmd, struct cmd_source *s, int o, const char *arg);

/* Take --min-ms X and --limit N (option ids 'm', 'l'; the same bounds for
 * every command that has them; NULL for one it has not): 1 if `o` was one
 * of them, 0 if not, -1 after a usage error. */
int cmd_bound_opt(const struct cli_parser *p, int o, double *min_ms, unsigned long long *limit);

/* -p PID: ask a running program (started with SPANPROF_SIGNAL) for a dump
 * and read that; parse with live_pid. */
/* Text outputs fit names to the terminal (80 columns when not one). */
#define CMD_OPT_WIDE { 0, "wide", NULL, "never shorten names (default: fit the terminal, 80 columns when not one)", 'W' }
#define CMD_OPT_WIDTH { 0, "width", "N", "fit names to N columns", 'X' }
#define CMD_OPT_PID { 'p', "pid", "PID", "read a running program instead (it needs SPANPROF_SIGNAL)", 'p' }

/* cmd/stats.c: the statistics of every trace ended, per name (STATS),
 * as a JSON array under `key` (spanprof stats --json, the web page). */
struct json;
void stats_json_names(struct json *j, const char *key, struct rd_dump *d, size_t nd);

#endif
