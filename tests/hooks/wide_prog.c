/* wide_prog.c - one trace whose root has 36 children of three names:
 * "step" x30, "check" x5 and "last" (with a child "inner"), for show's
 * --merge (a wide node reads as its few distinct callees). */
#include <spanprof.h>

int main(void)
{
	SP_TRACE("wide", NULL) {
		for (int i = 0; i < 30; i++)
			SP_SPAN("step") {
			}
		for (int i = 0; i < 5; i++)
			SP_SPAN("check") {
			}
		SP_SPAN("last") {
			SP_SPAN("inner") {
			}
		}
	}
	return 0;
}
