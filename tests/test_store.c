/* test_store.c - the bounded store with its defaults: FIFO at
 * PROFILER_MAX_TRACES. (test_limits.c runs with small limits.) */
#include <criterion/criterion.h>
#include <spanprof.h>

#include "test_util.h"

Test(store, keeps_the_last_500_traces_oldest_evicted_first)
{
	cr_assert_eq(PROFILER_MAX_TRACES, 500);
	sp_set_enabled(true);
	for (int i = 0; i < 510; i++)
		SP_TRACE("t", NULL) {
			sp_trace_set_i64("i", i);
		}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 500);
	for (size_t k = 0; k < 500; k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		cr_assert_eq(t->seq, 11 + k, "oldest first, the first 10 evicted (k=%zu)", k);
		cr_assert_eq(t->data[0].v.i64, (int64_t)(10 + k));
	}
	sp_snapshot_free(s);
}

Test(store, a_snapshot_survives_eviction_of_its_traces)
{
	sp_set_enabled(true);
	SP_TRACE("first", "1") {
		SP_SPAN("x") {
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	for (int i = 0; i < 600; i++)
		SP_SPAN("later") {
		}
	sp_clear();
	/* The snapshot owns copies: still readable after eviction and clear. */
	assert_shape(sp_snapshot_trace(s, 0)->root, "first(x)");
	sp_snapshot_free(s);
}
