/* grid.h - the data grid: rows of generated data, a cursor, a viewport. */
#ifndef DATAGRID_GRID_H
#define DATAGRID_GRID_H

#include <stddef.h>

#define GRID_COLS 12
#define GRID_PAGE 40 /* visible rows */

struct grid_row {
	int id;
	char name[24];
	char city[16];
	long amount_cents;
	char date[11];
	int qty[7];
};

struct grid {
	struct grid_row *rows;
	int nrows;
	int row, col; /* the cursor */
	int top;      /* first visible row */
	unsigned long checksum;
};

int grid_init(struct grid *g, int nrows);
void grid_free(struct grid *g);
/* Move the cursor by (drow, dcol), clamped; scroll to keep it visible.
 * Returns 1 if the viewport moved. */
int grid_move(struct grid *g, int drow, int dcol);
int grid_goto(struct grid *g, int row, int col);
/* The text of one cell into buf (size bytes). */
size_t grid_cell_text(const struct grid *g, int row, int col, char *buf, size_t size);
void grid_cell_id(const struct grid *g, char *buf, size_t size);

#endif
