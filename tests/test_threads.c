/* test_threads.c - 8 threads x 10,000 traces, all kept
 * (SPANPROF_MAX_TRACES=80000 in tests/meson.build): exact counts, and
 * every trace holds exactly its own thread's spans. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <spanprof.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"

#define THREADS 8
#define PER_THREAD 10000

static uint64_t tids[THREADS];

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	tids[me] = (uint64_t)syscall(SYS_gettid);
	char id[32];
	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof id, "%d:%d", me, i);
		SP_TRACE("req", id) {
			SP_SPAN("a") {
				sp_span_set_i64(sp_current_span(), "t", me);
				sp_span_set_i64(sp_current_span(), "i", i);
			}
			SP_SPAN("b") {
				sp_span_set_i64(sp_current_span(), "t", me);
			}
		}
	}
	return NULL;
}

Test(threads, eight_threads_ten_thousand_traces_each)
{
	sp_set_enabled(true);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	sp_snapshot *s = sp_snapshot_take();
	size_t n = sp_snapshot_count(s);
	cr_assert_eq(n, THREADS * PER_THREAD, "every trace stored, none lost");
	static unsigned char seen[THREADS][PER_THREAD];
	static unsigned char seq_seen[THREADS * PER_THREAD + 1];
	for (size_t k = 0; k < n; k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		int me, i;
		cr_assert_eq(sscanf(t->id, "%d:%d", &me, &i), 2, "id %s", t->id);
		cr_assert(me >= 0 && me < THREADS && i >= 0 && i < PER_THREAD);
		cr_assert_eq(seen[me][i], 0, "trace %s seen twice", t->id);
		seen[me][i] = 1;
		cr_assert(t->seq >= 1 && t->seq <= THREADS * PER_THREAD && !seq_seen[t->seq], "seq %lu",
			  (unsigned long)t->seq);
		seq_seen[t->seq] = 1;
		cr_assert_eq(t->thread, tids[me], "trace %s on its own thread", t->id);
		cr_assert_eq(t->root->nchildren, 2);
		const sp_node *a = sp_node_child(t->root, "a"), *b = sp_node_child(t->root, "b");
		cr_assert(a && b, "trace %s has a and b", t->id);
		cr_assert_eq(a->ndata, 2);
		cr_assert_eq(sp_node_data(a, "t")->v.i64, me, "no span from another thread in %s", t->id);
		cr_assert_eq(sp_node_data(a, "i")->v.i64, i);
		cr_assert_eq(sp_node_data(b, "t")->v.i64, me);
		cr_assert_eq(t->dropped_spans, 0);
	}
	sp_snapshot_free(s);
}

static void *short_lived(void *arg)
{
	(void)arg;
	sp_trace_begin("left-open", NULL); /* the thread ends inside it */
	SP_SPAN("x") {
	}
	return NULL;
}

Test(threads, a_thread_ending_inside_a_trace_stores_it_closed)
{
	sp_set_enabled(true);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, short_lived, NULL), 0);
	pthread_join(th, NULL);
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	assert_shape(t->root, "left-open(x)");
	cr_assert(t->root->abandoned, "closed by spanprof at thread exit");
	sp_snapshot_free(s);
}

/* Eight threads commit while the main thread dumps, snapshots, clears and
 * switches recording off and on (issue 8, defect 12: the run that
 * ThreadSanitizer watches in tests/run.sh's build-tsan). Every dump is
 * written, and every trace a snapshot or the last dump holds is whole. */
static atomic_int racing;

static void *racer(void *arg)
{
	int me = (int)(intptr_t)arg;
	char id[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "%d:%d", me, i);
		SP_TRACE("race", id) {
			SP_SPAN("a") {
				sp_span_set_i64(sp_current_span(), "t", me);
			}
		}
	}
	atomic_fetch_sub(&racing, 1);
	return NULL;
}

static void check_whole(const sp_snapshot *s)
{
	for (size_t k = 0; k < sp_snapshot_count(s); k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		int me, i;
		if (!strcmp(t->root->name, "a")) {
			/* "race" began while recording was off, "a" once it was
			 * on again: a span outside a trace is a trace of its own */
			cr_assert_eq(t->root->nchildren, 0);
			cr_assert_str_eq(t->id, "");
			continue;
		}
		cr_assert_str_eq(t->root->name, "race");
		cr_assert_eq(sscanf(t->id, "%d:%d", &me, &i), 2, "id %s", t->id);
		/* "a" is missing when recording was off as it began */
		cr_assert_leq(t->root->nchildren, 1);
		const sp_node *a = t->root->first_child;
		if (a) {
			cr_assert_str_eq(a->name, "a");
			/* its value is missing when recording went off before it was set */
			const sp_kv *v = sp_node_data(a, "t");
			cr_assert(!v || v->v.i64 == me, "no span from another thread in %s", t->id);
		}
	}
}

static void *toggler(void *arg)
{
	(void)arg;
	for (unsigned n = 0; atomic_load(&racing) > 0; n++)
		sp_set_enabled(n % 2);
	return NULL;
}

Test(threads, dumps_snapshots_clears_and_toggles_race_with_commits)
{
	sp_set_enabled(true);
	char path[4096];
	snprintf(path, sizeof path, "%s/threads-race-%ld.out", getenv("SP_TEST_TMPDIR"), (long)getpid());
	pthread_t th[THREADS];
	atomic_store(&racing, THREADS);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, racer, (void *)(intptr_t)i), 0);
	pthread_t tog;
	cr_assert_eq(pthread_create(&tog, NULL, toggler, NULL), 0);
	int rounds = 0;
	while (atomic_load(&racing) > 0) {
		cr_assert_eq(sp_dump(path), 0, "dump %d", rounds);
		sp_snapshot *s = sp_snapshot_take();
		check_whole(s);
		sp_snapshot_free(s);
		if (rounds % 3 == 2)
			sp_clear();
		rounds++;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_join(tog, NULL);
	sp_set_enabled(true);
	cr_assert_eq(sp_dump(path), 0);
	sp_snapshot *s = sp_snapshot_take();
	check_whole(s);
	sp_snapshot_free(s);
	unlink(path);
}
