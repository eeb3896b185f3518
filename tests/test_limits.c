/* test_limits.c - run with SPANPROF_MAX_TRACES=7 and SPANPROF_BUFFER_MB=1
 * (tests/meson.build): a custom maximum, and a trace bigger than the byte
 * budget, which is kept, truncated at half the budget, with the count of
 * what it dropped. */
#include <criterion/criterion.h>
#include <spanprof.h>

#include "test_util.h"

Test(limits, a_custom_maximum_from_the_environment)
{
	sp_set_enabled(true);
	for (int i = 0; i < 10; i++)
		SP_SPAN("t") {
		}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 7, "SPANPROF_MAX_TRACES=7");
	cr_assert_eq(sp_snapshot_trace(s, 0)->seq, 4);
	cr_assert_eq(sp_snapshot_trace(s, 6)->seq, 10);
	sp_snapshot_free(s);
}

Test(limits, a_trace_bigger_than_the_budget_is_kept_truncated)
{
	sp_set_enabled(true);
	for (int i = 0; i < 5; i++)
		SP_SPAN("small") {
		}
	const int n = 100000; /* 2.4 MB of spans against a 1 MiB budget */
	SP_TRACE("huge", NULL) {
		for (int i = 0; i < n; i++)
			SP_SPAN("s") {
			}
		SP_CUMULATIVE("late") {
		}
	}
	SP_SPAN("after") {
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *huge = NULL, *after = NULL;
	size_t smalls = 0;
	for (size_t i = 0; i < sp_snapshot_count(s); i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		if (!strcmp(t->name, "huge"))
			huge = t;
		else if (!strcmp(t->name, "after"))
			after = t;
		else
			smalls++;
	}
	cr_assert_not_null(huge, "the huge trace is kept");
	cr_assert_not_null(after, "recording goes on after it");
	cr_assert_eq(smalls, 5, "one trace takes at most half the budget: the others stay");
	cr_assert_gt(huge->dropped_spans, 0);
	cr_assert_gt(huge->root->nchildren, 1000, "it holds what fitted");
	cr_assert_lt(huge->root->nchildren, 512 * 1024 / 24, "no more than half the budget");
	/* every span is either stored or counted as dropped */
	uint64_t stored_s = huge->root->nchildren - (sp_node_child(huge->root, "late") ? 1 : 0);
	cr_assert_eq(stored_s + huge->dropped_spans, (uint64_t)n + (sp_node_child(huge->root, "late") ? 0 : 1),
		     "stored %lu + dropped %lu", (unsigned long)stored_s, (unsigned long)huge->dropped_spans);
	sp_snapshot_free(s);
}

