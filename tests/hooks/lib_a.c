/* lib_a.c - an instrumented library loaded with dlopen. */
#include "hooks.h"

NOINLINE int liba_helper(int x)
{
	return x + 100;
}

int liba_work(int x)
{
	return liba_helper(x) * 2;
}
