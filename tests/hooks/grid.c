/* grid.c - the "class" for trace_all: every function defined in this file
 * (file:grid.c) or named grid_* is a span. */
#include "hooks.h"

static NOINLINE int helper_in_grid(int x)
{
	return x + 1;
}

NOINLINE int grid_cell(int x)
{
	return x * 2;
}

NOINLINE int grid_move(int x)
{
	return helper_in_grid(x) + grid_cell(x);
}

/* Excluded: not a span, but its callees still are. */
NOINLINE int grid_secret(int x)
{
	return grid_cell(x) + 3;
}
