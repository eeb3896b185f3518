/* commands.c - the command machinery: find the command, run the hooks
 * before it, its callback, the hooks after it, and the out-of-band swap
 * that sends the re-rendered page. Each phase is a span. */
#include "commands.h"

#include <spanprof.h>
#include <stdio.h>
#include <string.h>

#include "render.h"

struct command {
	const char *name;
	int drow, dcol;
	int absolute; /* 1: go to (drow, dcol); -1 in drow: last row */
};

static const struct command table[] = {
	{ "up", -1, 0, 0 },          { "down", 1, 0, 0 },         { "left", 0, -1, 0 },
	{ "right", 0, 1, 0 },        { "page_up", -GRID_PAGE, 0, 0 }, { "page_down", GRID_PAGE, 0, 0 },
	{ "home", 0, -GRID_COLS, 0 }, { "end", 0, GRID_COLS, 0 },  { "ctrl_home", 0, 0, 1 },
	{ "ctrl_end", -1, GRID_COLS - 1, 1 },
};

static char page[256 * 1024];
static int history[64], nhistory;

static const struct command *command_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

static void commands_before(struct grid *g)
{
	/* Keep the cursor history (undo) and check the grid's invariants. */
	history[nhistory++ % 64] = g->row * GRID_COLS + g->col;
	for (int r = g->top; r < g->top + GRID_PAGE && r < g->nrows; r++)
		g->checksum += (unsigned long)g->rows[r].id;
}

static void commands_callback(struct grid *g, const struct command *c)
{
	int old = g->row;
	if (c->absolute)
		grid_goto(g, c->drow < 0 ? g->nrows - 1 : c->drow, c->dcol);
	else
		grid_move(g, c->drow, c->dcol);
	/* Re-render the two rows whose selection changed. */
	static char rowbuf[4096];
	int rows[2] = { old, g->row };
	for (int i = 0; i < 2; i++)
		SP_CUMULATIVE("render_row") {
			rowbuf[0] = '\0';
			render_row(g, rows[i], rowbuf, sizeof rowbuf);
			g->checksum += rowbuf[i + 5];
		}
}

static void commands_after(struct grid *g, char *cell_id, size_t size)
{
	grid_cell_id(g, cell_id, size);
	g->checksum = g->checksum * 31 + (unsigned long)strlen(cell_id);
}

static size_t oob_swap(struct grid *g)
{
	/* The out-of-band swap sends the whole visible page, rebuilt. */
	size_t n = render_page(g, page, sizeof page);
	for (size_t i = 0; i < n; i += 64)
		g->checksum = g->checksum * 33 + (unsigned char)page[i];
	return n;
}

int navigate_cell(struct grid *g, const char *name)
{
	const struct command *c = NULL;
	SP_SPAN("lookup") {
		c = command_lookup(name);
		sp_span_set_str(sp_current_span(), "command", name);
	}
	if (!c)
		return -1;
	SP_SPAN("before_commands") {
		commands_before(g);
	}
	SP_SPAN("callback") {
		commands_callback(g, c);
		sp_span_set_i64(sp_current_span(), "row", g->row);
		sp_span_set_i64(sp_current_span(), "col", g->col);
	}
	char cell_id[32];
	SP_SPAN("after_commands") {
		commands_after(g, cell_id, sizeof cell_id);
		sp_span_set_str(sp_current_span(), "cell_id", cell_id);
	}
	SP_SPAN("oob_swap") {
		size_t bytes = oob_swap(g);
		sp_span_set_i64(sp_current_span(), "rows_rendered", GRID_PAGE);
		sp_span_set_i64(sp_current_span(), "bytes", (int64_t)bytes);
	}
	return 0;
}
