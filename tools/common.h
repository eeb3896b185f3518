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

/* What show and pie do first: argv[ind] must be the one SEQ; open `file`,
 * pick the trace, load its tree, resolve --zoom (NULL: the root). 0 with
 * everything loaded (free with rd_tree_free and cmd_close), else the exit
 * status with nothing left open. */
int cmd_one_trace(const char *cmd, const char *file, long pid, int argc, char **argv, int ind, const char *zoom,
		  struct rd_dump *d, struct rd_tree *t, const sp_node **node);

/* The standard -f/--file option, shared by the commands that read dumps. */
#define CMD_OPT_FILE { 'f', "file", "FILE", "the dump to read (default: " CLI_DEFAULT_DUMP ")", 'f' }
/* Where a command reads its dump from: -f FILE, or -p PID. */
struct cmd_source {
	const char *file;
	long pid; /* 0: none */
};
#define CMD_SOURCE_DEFAULT { CLI_DEFAULT_DUMP, 0 }

/* Take -f or -p (option ids 'f', 'p'): 1 if `o` was one of them, 0 if
 * not, -1 after a usage error (a bad PID). */
int cmd_source_opt(const char *cmd, struct cmd_source *s, int o, const char *arg);

/* -p PID: ask a running program (started with SPANPROF_SIGNAL) for a dump
 * and read that; parse with live_pid. */
/* Text outputs fit names to the terminal (80 columns when not one). */
#define CMD_OPT_WIDE { 0, "wide", NULL, "never shorten names (default: fit the terminal, 80 columns when not one)", 'W' }
#define CMD_OPT_WIDTH { 0, "width", "N", "fit names to N columns", 'X' }
#define CMD_OPT_PID { 'p', "pid", "PID", "read a running program instead (it needs SPANPROF_SIGNAL)", 'p' }

#endif
