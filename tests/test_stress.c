/* test_stress.c - run with SPANPROF_BUFFER_MB=1 and the default 500
 * traces (tests/meson.build), so that the budget, not the count, is what
 * runs out: copies get refused, buffers are handed over, traces evicted. */
#include <criterion/criterion.h>
#include <spanprof.h>
#include <stdio.h>

#include "test_util.h"

/* Six threads commit traces of varied sizes into a 1 MiB budget (copies,
 * hand-overs, evictions by count and by bytes) while another thread clears
 * the store and takes snapshots in a loop. Nothing may crash or corrupt:
 * every trace left is whole. */
#include <pthread.h>
#include <stdatomic.h>

static atomic_int stress_stop; /* atomic: the clearer thread reads it while the main thread sets it */

static void *stress_worker(void *arg)
{
	long me = (long)arg;
	char id[24];
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof id, "%ld:%d", me, i);
		SP_TRACE("req", id) {
			for (int j = 0; j < (i % 50) * 10; j++)
				SP_SPAN("s") {
					sp_span_set_i64(sp_current_span(), "j", j);
				}
			SP_CUMULATIVE("c") {
			}
		}
	}
	return NULL;
}

static void *stress_clearer(void *arg)
{
	(void)arg;
	while (!stress_stop) {
		sp_clear();
		sp_snapshot_free(sp_snapshot_take());
	}
	return NULL;
}

Test(stress, commits_evictions_and_clears_race_safely, .timeout = 120)
{
	sp_set_enabled(true);
	pthread_t w[6], c;
	cr_assert_eq(pthread_create(&c, NULL, stress_clearer, NULL), 0);
	for (long i = 0; i < 6; i++)
		cr_assert_eq(pthread_create(&w[i], NULL, stress_worker, (void *)i), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(w[i], NULL);
	stress_stop = 1;
	pthread_join(c, NULL);
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_leq(sp_snapshot_count(s), 500);
	for (size_t k = 0; k < sp_snapshot_count(s); k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		long me;
		int i;
		cr_assert_eq(sscanf(t->id, "%ld:%d", &me, &i), 2);
		/* (i % 50) * 10 spans "s", then the cumulative node; each span
		 * carries its own j, in order. */
		uint32_t want = (uint32_t)((i % 50) * 10);
		cr_assert_eq(t->root->nchildren + t->dropped_spans, want + 1, "trace %s", t->id);
		int j = 0;
		for (const sp_node *n = t->root->first_child; n; n = n->next_sibling) {
			if (n->kind == SP_NODE_CUMULATIVE)
				continue;
			cr_assert_eq(sp_node_data(n, "j")->v.i64, j++, "trace %s", t->id);
		}
	}
	sp_snapshot_free(s);
}

/* A trace whose root could not start (two open traces hold the whole 1 MiB
 * budget) stays dropped when room comes back while it is open: the spans
 * inside it must not make a trace of their own, rooted at the first of
 * them (issue 8, defect 3). */
static pthread_barrier_t hold_full, hold_end[2];

static void *hold_budget(void *arg)
{
	long k = (long)arg;
	SP_TRACE(k ? "holder_b" : "holder_a", NULL) {
		for (int i = 0; i < 50000; i++) /* 1.2 MB of records: more than it may take */
			SP_SPAN("fill") {
			}
		pthread_barrier_wait(&hold_full);
		pthread_barrier_wait(&hold_end[k]);
	}
	return NULL;
}

Test(stress, spans_of_a_dropped_trace_are_not_stored_as_a_trace, .timeout = 120)
{
	sp_set_enabled(true);
	pthread_t a, b;
	pthread_barrier_init(&hold_full, NULL, 3);
	pthread_barrier_init(&hold_end[0], NULL, 2);
	pthread_barrier_init(&hold_end[1], NULL, 2);
	cr_assert_eq(pthread_create(&a, NULL, hold_budget, (void *)0L), 0);
	cr_assert_eq(pthread_create(&b, NULL, hold_budget, (void *)1L), 0);
	pthread_barrier_wait(&hold_full);
	SP_TRACE("dropped_root", NULL) { /* no budget: dropped */
		pthread_barrier_wait(&hold_end[0]);
		pthread_join(a, NULL); /* holder_a stored: evictable room */
		SP_SPAN("inner") {
			SP_SPAN("innermost") {
			}
		}
	}
	pthread_barrier_wait(&hold_end[1]);
	pthread_join(b, NULL);
	sp_snapshot *s = sp_snapshot_take();
	char names[256] = "";
	for (size_t k = 0; k < sp_snapshot_count(s); k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		strncat(names, t->root->name, sizeof names - strlen(names) - 2);
		strcat(names, " ");
	}
	cr_assert_str_eq(names, "holder_a holder_b ", "stored: %s", names);
	sp_snapshot_free(s);
}
