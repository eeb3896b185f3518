/* lib_b.c - another one, loaded after lib_a is closed, likely at the same
 * address: its functions must not get lib_a's names. */
#include "hooks.h"

NOINLINE int libb_helper(int x)
{
	return x + 7;
}

NOINLINE int libb_other(int x)
{
	return x ^ 5;
}

int libb_work(int x)
{
	return libb_helper(x) + libb_other(x);
}
