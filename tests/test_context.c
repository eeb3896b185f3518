/* test_context.c - one thread serving two requests by turns keeps one tree
 * per request through sp_context_save/restore: once with swapcontext
 * coroutines, once by hand; and the restore contract (EBUSY, EINVAL). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <spanprof.h>
#include <stdlib.h>
#include <ucontext.h>

#include "test_util.h"

static ucontext_t sched_uc, co_uc[2];
static sp_context *co_ctx[2];
static int current;

/* Leave the coroutine: detach its spans, switch, reattach when resumed. */
static void yield(void)
{
	int me = current;
	co_ctx[me] = sp_context_save();
	swapcontext(&co_uc[me], &sched_uc);
	cr_assert_eq(sp_context_restore(co_ctx[me]), 0);
}

static void request(int id)
{
	char ids[8];
	snprintf(ids, sizeof ids, "req-%d", id);
	SP_TRACE("request", ids) {
		sp_trace_set_i64("who", id);
		SP_SPAN("parse") {
			sp_span_set_i64(sp_current_span(), "who", id);
			yield();
			burn(100);
		}
		SP_SPAN("work") {
			sp_span_set_i64(sp_current_span(), "who", id);
			yield();
			SP_SPAN("db") {
				sp_span_set_i64(sp_current_span(), "who", id);
				yield();
			}
		}
	}
}

static void co_main(int id)
{
	request(id);
}

Test(context, swapcontext_coroutines_keep_separate_trees)
{
	sp_set_enabled(true);
	static char stacks[2][256 * 1024];
	for (int i = 0; i < 2; i++) {
		getcontext(&co_uc[i]);
		co_uc[i].uc_stack.ss_sp = stacks[i];
		co_uc[i].uc_stack.ss_size = sizeof stacks[i];
		co_uc[i].uc_link = &sched_uc;
		makecontext(&co_uc[i], (void (*)(void))co_main, 1, i + 1);
	}
	/* Round-robin until both requests are done (each yields 3 times). */
	for (int round = 0; round < 4; round++)
		for (int i = 0; i < 2; i++) {
			current = i;
			swapcontext(&sched_uc, &co_uc[i]);
		}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 2, "two requests, two traces");
	for (size_t k = 0; k < 2; k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		int who = (int)t->data[0].v.i64;
		char want[8];
		snprintf(want, sizeof want, "req-%d", who);
		cr_assert_str_eq(t->id, want);
		assert_shape(t->root, "request(parse,work(db))");
		const char *paths[] = { "parse", "work", "work/db" };
		for (int j = 0; j < 3; j++) {
			const sp_node *n = sp_node_find(t->root, paths[j]);
			cr_assert_eq(sp_node_data(n, "who")->v.i64, who, "%s of request %d", paths[j], who);
			cr_assert_not(n->abandoned);
		}
	}
	sp_snapshot_free(s);
}

Test(context, interleaved_by_hand)
{
	sp_set_enabled(true);
	sp_trace_begin("A", "a");
	sp_context *a = sp_context_save();
	cr_assert_not_null(a);
	cr_assert_null(sp_current_span(), "the thread has nothing open after a save");
	sp_trace_begin("B", "b");
	SP_SPAN("b1") {
	}
	sp_context *b = sp_context_save();
	cr_assert_eq(sp_context_restore(a), 0);
	SP_SPAN("a1") {
	}
	cr_assert_eq(sp_context_restore(b), -EBUSY, "A is open on this thread");
	sp_trace_end();
	cr_assert_eq(sp_context_restore(b), 0);
	SP_SPAN("b2") {
	}
	sp_trace_end();
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 2);
	assert_shape(sp_snapshot_trace(s, 0)->root, "A(a1)");
	assert_shape(sp_snapshot_trace(s, 1)->root, "B(b1,b2)");
	sp_snapshot_free(s);
	cr_assert_null(sp_context_save(), "nothing open: nothing to save");
	cr_assert_eq(sp_context_restore(NULL), 0);
	int junk = 0;
	cr_assert_eq(sp_context_restore((sp_context *)&junk), -EINVAL);
}

/* A trace's CPU figures are its thread's: a trace moved to another thread
 * cannot be measured (the two threads' clocks do not subtract), one that
 * stays on its thread is, across save and restore. */
static void *finish_moved(void *arg)
{
	SP_TRACE("own", NULL) { /* this thread's reading, measured */
	}
	cr_assert_eq(sp_context_restore(arg), 0);
	SP_SPAN("there") {
	}
	sp_trace_end();
	return NULL;
}

Test(context, cpu_time_only_on_the_thread_that_began_the_trace)
{
	sp_set_enabled(true);
	sp_clear();
	sp_trace_begin("moved", "m");
	sp_context *m = sp_context_save();
	cr_assert_not_null(m);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, finish_moved, m), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	sp_trace_begin("stayed", "s");
	sp_context *s = sp_context_save();
	cr_assert_eq(sp_context_restore(s), 0);
	SP_SPAN("here") {
	}
	sp_trace_end();
	sp_snapshot *snap = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(snap), 3);
	cr_assert(sp_snapshot_trace(snap, 0)->cpu_measured, "the helper thread's own trace");
	const sp_trace_info *a = sp_snapshot_trace(snap, 1), *b = sp_snapshot_trace(snap, 2);
	cr_assert_str_eq(a->name, "moved");
	cr_assert_not(a->cpu_measured, "moved to another thread: not measured");
	cr_assert_eq(a->cpu_ns, 0);
	cr_assert_str_eq(b->name, "stayed");
	cr_assert(b->cpu_measured, "saved and restored on its thread: measured");
	sp_snapshot_free(snap);
}
