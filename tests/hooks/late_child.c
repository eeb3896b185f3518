/* late_child.c - cumulative nodes that gain a child in a later iteration,
 * after a sibling span was already recorded: the records then keep only
 * "a parent before its child", not "a subtree's records together" (the
 * child's record comes after the sibling's). Two traces:
 *   "late": the review's reproducer, "inner" first seen in iteration 2;
 *   "deep": a chain a > b > c > d, each level first entered one
 *           iteration later, under a span, with spans (and their
 *           children) recorded in between;
 *   "same": a late child named as its parent (below). */
#include <spanprof.h>

/* Self time for the late children, so that the folded export (weights in
 * whole us) has a line for them: work, not a clock, only longer on a
 * loaded machine. */
static void work(void)
{
	for (volatile unsigned long n = 0; n < 2000000; n++)
		;
}

int main(void)
{
	SP_TRACE("late", "k") {
		for (int i = 0; i < 3; i++) {
			SP_CUMULATIVE("loop") {
				if (i == 2)
					SP_CUMULATIVE("inner") {
						work();
					}
			}
			SP_SPAN("step") {
			}
		}
	}
	SP_TRACE("deep", "k") {
		SP_SPAN("wrap") {
			for (int i = 0; i < 4; i++) {
				SP_CUMULATIVE("a") {
					if (i >= 1)
						SP_CUMULATIVE("b") {
							if (i >= 2)
								SP_CUMULATIVE("c") {
									if (i == 3)
										SP_CUMULATIVE("d") {
											work();
										}
								}
						}
				}
				SP_SPAN("step") {
					SP_SPAN("sub") {
					}
				}
			}
		}
		SP_SPAN("after") {
		}
	}
	/* "same": the late child has its ancestor's name, for top's
	 * outermost activations. */
	SP_TRACE("same", "k") {
		for (int i = 0; i < 3; i++) {
			SP_CUMULATIVE("x") {
				if (i == 2)
					SP_CUMULATIVE("x") {
					}
			}
			SP_SPAN("step") {
			}
		}
	}
	return 0;
}
