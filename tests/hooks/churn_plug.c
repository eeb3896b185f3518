/* churn_plug.c - an instrumented library that test_dlchurn loads and
 * unloads thousands of times. */
#include "hooks.h"

NOINLINE int plug_helper(int x)
{
	return x * 3 + 1;
}

int plug_fn(int x)
{
	return plug_helper(x) + 1;
}
