/* other.c - functions outside the traced "class". */
#include "hooks.h"

NOINLINE int other_work(int x)
{
	return x - 1;
}

/* Named like the class, defined elsewhere: matched by the grid_* prefix. */
NOINLINE int grid_prefixed_elsewhere(int x)
{
	return other_work(x) * 3;
}

NOINLINE int other_entry(int x)
{
	int s = grid_move(x);
	s += other_work(s);
	s += grid_prefixed_elsewhere(s);
	s += grid_secret(s);
	return s;
}
