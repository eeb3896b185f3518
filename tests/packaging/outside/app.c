/* app.c - a program outside spanprof's tree, built against an installed
 * or a subproject spanprof by tests/packaging/packaging.sh: one trace with
 * a manual span, and one instrumented function that becomes a span with
 * SPANPROF_TRACE_CALLS=outside_work. */
#include <spanprof.h>
#include <stdio.h>

static volatile unsigned sink;

__attribute__((noinline)) static void outside_leaf(unsigned i)
{
	sink += i;
}

__attribute__((noinline)) void outside_work(void)
{
	for (unsigned i = 0; i < 3; i++)
		outside_leaf(i);
}

int main(void)
{
	SP_TRACE("outside_request", "r1") {
		SP_SPAN("outside_phase") {
			sink++;
		}
	}
	outside_work();
	printf("outside %s\n", sp_version());
	return 0;
}
