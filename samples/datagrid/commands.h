/* commands.h - keyboard commands and their execution phases. */
#ifndef DATAGRID_COMMANDS_H
#define DATAGRID_COMMANDS_H

#include "grid.h"

/* Execute one command by name (the design's command.execute): lookup,
 * before_commands, callback, after_commands, oob_swap. 0, or -1 for an
 * unknown command. */
int navigate_cell(struct grid *g, const char *command);

#endif
