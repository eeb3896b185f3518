/* main.c - datagrid: a data grid answering a scripted sequence of
 * keyboard-navigation commands, each one a trace (the design's scenario:
 * 173 ms per command, and nobody knew where it went).
 *
 *   SPANPROF_ENABLED=1 ./datagrid && spanprof list && spanprof show slowest
 *   SPANPROF_TRACE_CALLS=navigate_cell ./datagrid   # every call inside, no probe added
 */
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "grid.h"

static const char *script[] = {
	"down", "down", "right", "page_down", "down", "end", "page_down", "up", "left", "page_up",
	"home", "ctrl_end", "up", "page_up", "right", "right", "down", "ctrl_home", "page_down", "page_down",
	"end", "left", "down", "page_up",
};
#define SCRIPT_LEN (sizeof script / sizeof *script)

int main(int argc, char **argv)
{
	long n = SCRIPT_LEN;
	if (argc > 1) {
		char *end;
		n = strtol(argv[1], &end, 10);
		if (!strcmp(argv[1], "--help") || *end || n <= 0 || argc > 2) {
			fprintf(stderr, "usage: datagrid [N]   run N commands of the script (default %zu)\n", SCRIPT_LEN);
			return strcmp(argv[1], "--help") ? 2 : 0;
		}
	}
	struct grid g;
	if (grid_init(&g, 20000)) {
		fprintf(stderr, "datagrid: out of memory\n");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		const char *key = script[i % SCRIPT_LEN];
		char id[48];
		snprintf(id, sizeof id, "cmd-%ld/%s", i + 1, key);
		SP_TRACE("navigate_cell", id) {
			sp_trace_set_str("key", key);
			sp_trace_set_i64("grid_rows", g.nrows);
			navigate_cell(&g, key);
		}
	}
	char cell[32];
	grid_cell_id(&g, cell, sizeof cell);
	printf("datagrid: %ld commands, cursor at %s, checksum 0x%08lx\n", n, cell, g.checksum & 0xffffffffu);
	grid_free(&g);
	return 0;
}
