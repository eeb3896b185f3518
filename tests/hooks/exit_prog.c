/* exit_prog.c - calls exit() from deep in a traced call chain. spanprof's
 * exit handler must close the open frames (marked abandoned) and store the
 * trace before writing the dump. Checked by tests/e2e through the CLI:
 *   SPANPROF_TRACE_CALLS=exit_root SPANPROF_OUTPUT=x.out ./hooks_exit_prog
 * (A destructor cannot check it in-process: with a shared runtime, glibc
 * runs destructors before the exit handlers of libraries.) */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void exit_deep(void) { exit(0); }
NOINLINE void exit_mid(void) { exit_deep(); }
NOINLINE void exit_root(void) { exit_mid(); }

int main(void)
{
	exit_root();
	return 1;
}
