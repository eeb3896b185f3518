/* grid.c - the model: generated rows, the cursor, the visible window. */
#include "grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long seed = 12345;

static unsigned grid_rand(void)
{
	seed = seed * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(seed >> 33);
}

static void grid_fill_row(struct grid_row *r, int i)
{
	static const char *first[] = { "Ada", "Grace", "Linus", "Ken", "Dennis", "Barbara", "Edsger", "Frances" };
	static const char *last[] = { "Lovelace", "Hopper", "Torvalds", "Thompson", "Ritchie", "Liskov", "Dijkstra" };
	static const char *cities[] = { "Paris", "Lyon", "Nantes", "Lille", "Rennes", "Nice", "Brest", "Metz" };
	r->id = i + 1;
	snprintf(r->name, sizeof r->name, "%s %s", first[grid_rand() % 8], last[grid_rand() % 7]);
	snprintf(r->city, sizeof r->city, "%s", cities[grid_rand() % 8]);
	r->amount_cents = (long)(grid_rand() % 10000000);
	snprintf(r->date, sizeof r->date, "2026-%02u-%02u", 1 + grid_rand() % 12, 1 + grid_rand() % 28);
	for (int k = 0; k < 7; k++)
		r->qty[k] = (int)(grid_rand() % 1000);
}

int grid_init(struct grid *g, int nrows)
{
	memset(g, 0, sizeof *g);
	g->rows = calloc((size_t)nrows, sizeof *g->rows);
	if (!g->rows)
		return -1;
	g->nrows = nrows;
	for (int i = 0; i < nrows; i++)
		grid_fill_row(&g->rows[i], i);
	return 0;
}

void grid_free(struct grid *g)
{
	free(g->rows);
}

static int grid_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int grid_scroll(struct grid *g)
{
	int top = g->top;
	if (g->row < g->top)
		g->top = g->row;
	else if (g->row >= g->top + GRID_PAGE)
		g->top = g->row - GRID_PAGE + 1;
	return top != g->top;
}

int grid_move(struct grid *g, int drow, int dcol)
{
	g->row = grid_clamp(g->row + drow, 0, g->nrows - 1);
	g->col = grid_clamp(g->col + dcol, 0, GRID_COLS - 1);
	return grid_scroll(g);
}

int grid_goto(struct grid *g, int row, int col)
{
	g->row = grid_clamp(row, 0, g->nrows - 1);
	g->col = grid_clamp(col, 0, GRID_COLS - 1);
	return grid_scroll(g);
}

size_t grid_cell_text(const struct grid *g, int row, int col, char *buf, size_t size)
{
	const struct grid_row *r = &g->rows[row];
	int n;
	switch (col) {
	case 0: n = snprintf(buf, size, "%d", r->id); break;
	case 1: n = snprintf(buf, size, "%s", r->name); break;
	case 2: n = snprintf(buf, size, "%s", r->city); break;
	case 3: n = snprintf(buf, size, "%ld.%02ld EUR", r->amount_cents / 100, r->amount_cents % 100); break;
	case 4: n = snprintf(buf, size, "%s", r->date); break;
	default: n = snprintf(buf, size, "%d & <%d>", r->qty[col - 5], r->qty[col - 5] * 3); break;
	}
	return n < 0 ? 0 : (size_t)n;
}

void grid_cell_id(const struct grid *g, char *buf, size_t size)
{
	snprintf(buf, size, "r%dc%d", g->row, g->col);
}
