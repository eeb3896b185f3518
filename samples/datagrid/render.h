/* render.h - HTML of rows and pages. */
#ifndef DATAGRID_RENDER_H
#define DATAGRID_RENDER_H

#include <stddef.h>

#include "grid.h"

/* Append the HTML of row `row` to page (a NUL-terminated string in a
 * buffer of `size` bytes). Returns the bytes added. */
size_t render_row(const struct grid *g, int row, char *page, size_t size);
/* The whole visible page: every visible row, through render_row. */
size_t render_page(const struct grid *g, char *page, size_t size);

#endif
