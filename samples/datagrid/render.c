/* render.c - rows to HTML.
 *
 * The slow part of each command lives here, as in the design's story:
 * cells are escaped and appended one character at a time with strcat,
 * which walks the whole page built so far each time - quadratic in the
 * size of the page, and the page is rebuilt for every command. Nothing
 * looks slow when read; the profile shows it.
 */
#include "render.h"

#include <spanprof.h>
#include <stdio.h>
#include <string.h>

static void render_append(char *page, size_t size, const char *s)
{
	if (strlen(page) + strlen(s) + 1 < size)
		strcat(page, s); /* walks the whole page: the quadratic part */
}

/* Append `text`, HTML-escaped, one character at a time. */
static void render_escaped(char *page, size_t size, const char *text)
{
	for (const char *p = text; *p; p++) {
		char one[2] = { *p, '\0' };
		const char *rep = *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : one;
		render_append(page, size, rep);
	}
}

size_t render_row(const struct grid *g, int row, char *page, size_t size)
{
	size_t before = strlen(page);
	char cell[128];
	render_append(page, size, row == g->row ? "<tr class=\"sel\">" : "<tr>");
	for (int c = 0; c < GRID_COLS; c++) {
		grid_cell_text(g, row, c, cell, sizeof cell);
		/* The tooltip repeats the row's summary: name, city, date. */
		const struct grid_row *r = &g->rows[row];
		char title[96];
		snprintf(title, sizeof title, "%s (%s), %s", r->name, r->city, r->date);
		render_append(page, size, row == g->row && c == g->col ? "<td class=\"cur\" title=\"" : "<td title=\"");
		render_escaped(page, size, title);
		render_append(page, size, "\">");
		render_escaped(page, size, cell);
		render_append(page, size, "</td>");
	}
	render_append(page, size, "</tr>\n");
	return strlen(page) - before;
}

size_t render_page(const struct grid *g, char *page, size_t size)
{
	page[0] = '\0';
	render_append(page, size, "<table id=\"grid\">\n");
	for (int r = g->top; r < g->top + GRID_PAGE && r < g->nrows; r++)
		SP_CUMULATIVE("render_row") {
			render_row(g, r, page, size);
		}
	render_append(page, size, "</table>\n");
	return strlen(page);
}
