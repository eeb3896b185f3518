/* common.h - what several subcommands do the same way. */
#ifndef SP_CLI_COMMON_H
#define SP_CLI_COMMON_H

#include "cli.h"
#include "dump.h"
#include "tree.h"

#define SP_DEFAULT_DUMP "spanprof.out"

/* Open a dump; on failure print the error and return 1. */
int cmd_open(const char *path, struct sp_dump *d);
void cmd_close(struct sp_dump *d);

/* A trace by SEQ: its number, or "first", "last", "slowest". Returns its
 * index, or -1 after printing why (exit 1); -2 on a malformed SEQ after a
 * usage error (exit 2). */
long cmd_pick(const char *cmd, struct sp_dump *d, const char *spec);

/* Load a trace's tree; prints the error and returns 1 on failure. */
int cmd_tree(struct sp_dump *d, size_t index, struct sp_tree *t);

/* The node a --zoom value names: a node number printed by show, or a
 * '/'-separated path of names from the root (which may start with the
 * root's own name). NULL after printing why. */
const sp_node *cmd_zoom(const struct sp_tree *t, const char *zoom);

/* The standard -f/--file option, shared by the commands that read dumps. */
#define CMD_OPT_FILE { 'f', "file", "FILE", "the dump to read (default: " SP_DEFAULT_DUMP ")", 'f' }

#endif
