/* test_probes.c - the manual probes, checked through the read API.
 *
 * Each Criterion test runs in its own process, so each starts with an empty
 * store. The tests run with SPANPROF_OUTPUT set empty (no dump at exit) and
 * recording off until they switch it on.
 */
#include <criterion/criterion.h>
#include <spanprof.h>
#include <string.h>

#include "test_util.h"

Test(probes, test_i_can_create_a_span)
{
	sp_set_enabled(true);
	SP_SPAN("work") {
		burn(2000);
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1, "one implicit trace");
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	cr_assert_str_eq(t->name, "work", "an implicit trace is named after its span");
	cr_assert_str_eq(t->id, "");
	cr_assert_eq(t->seq, 1);
	cr_assert_eq(t->nspans, 1);
	cr_assert_eq(t->root->kind, SP_NODE_SPAN);
	cr_assert_str_eq(t->root->name, "work");
	cr_assert_eq(t->root->nchildren, 0);
	cr_assert_gt(t->root->duration_ns, 0, "a span that burned time has a duration");
	cr_assert_eq(t->root->duration_ns, t->duration_ns);
	cr_assert_eq(t->root->self_ns, t->root->duration_ns);
	cr_assert_eq(t->root->start_ns, 0);
	cr_assert_eq(t->dropped_spans, 0);
	sp_snapshot_free(s);
}

Test(probes, test_i_can_nest_spans)
{
	sp_set_enabled(true);
	SP_TRACE("cmd", "42") {
		SP_SPAN("a") {
			SP_SPAN("b") {
				burn(500);
			}
			SP_SPAN("c") {
				burn(500);
			}
		}
		SP_SPAN("d") {
			burn(500);
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	cr_assert_str_eq(t->name, "cmd");
	cr_assert_str_eq(t->id, "42");
	cr_assert_eq(t->nspans, 5);
	assert_shape(t->root, "cmd(a(b,c),d)");
	const sp_node *a = sp_node_find(t->root, "a");
	const sp_node *b = sp_node_find(t->root, "a/b");
	const sp_node *c = sp_node_find(t->root, "a/c");
	const sp_node *d = sp_node_find(t->root, "d");
	cr_assert(a && b && c && d);
	cr_assert_eq(b->parent, a);
	cr_assert_eq(a->parent, t->root);
	cr_assert_leq(b->start_ns + b->duration_ns, c->start_ns, "siblings in order, not overlapping");
	cr_assert_leq(a->start_ns + a->duration_ns, d->start_ns);
	cr_assert_leq(c->start_ns + c->duration_ns, a->start_ns + a->duration_ns, "child inside parent");
	cr_assert_eq(a->self_ns, a->duration_ns - b->duration_ns - c->duration_ns);
	cr_assert_eq(a->index, 1);
	cr_assert_eq(b->index, 2);
	cr_assert_eq(d->index, 4);
	sp_snapshot_free(s);
}

Test(probes, test_i_can_use_cumulative_span)
{
	sp_set_enabled(true);
	SP_TRACE("render", NULL) {
		for (int i = 0; i < 100; i++)
			SP_CUMULATIVE("render_row") {
				burn(100 + 10 * (i % 7));
			}
		for (int i = 0; i < 10; i++)
			SP_CUMULATIVE("row") {
				for (int j = 0; j < 3; j++)
					SP_SPAN("cell") {
						burn(50);
					}
			}
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	cr_assert_not_null(t);
	assert_shape(t->root, "render(*render_row,*row(*cell))");
	const sp_node *r = sp_node_child(t->root, "render_row");
	cr_assert_eq(r->kind, SP_NODE_CUMULATIVE);
	cr_assert_eq(r->count, 100, "one node for the whole loop");
	cr_assert_leq(r->min_ns, r->avg_ns);
	cr_assert_leq(r->avg_ns, r->max_ns);
	cr_assert_lt(r->min_ns, r->max_ns, "iterations of different lengths");
	cr_assert_geq(r->total_ns, 100 * r->min_ns);
	cr_assert_eq(r->avg_ns, r->total_ns / 100);
	const sp_node *cell = sp_node_find(t->root, "row/cell");
	cr_assert_not_null(cell, "a span nested in a cumulative block aggregates under it");
	cr_assert_eq(cell->kind, SP_NODE_CUMULATIVE);
	cr_assert_eq(cell->count, 30);
	cr_assert_eq(sp_node_child(t->root, "row")->count, 10);
	cr_assert_eq(t->iterations, 140);
	cr_assert_eq(t->nspans, 4);
	sp_snapshot_free(s);
}

Test(probes, test_i_can_attach_data_to_span)
{
	sp_set_enabled(true);
	char buf[400];
	memset(buf, 'x', sizeof buf);
	buf[sizeof buf - 1] = '\0';
	/* A UTF-8 string whose SP_MAX_STR_LEN-byte cut would split a 2-byte sequence. */
	char utf[300];
	memset(utf, 'a', SP_MAX_STR_LEN - 1);
	strcpy(utf + SP_MAX_STR_LEN - 1, "\xc3\xa9\xc3\xa9"); /* the cut falls inside the first */
	SP_TRACE("cmd", "c-1") {
		sp_trace_set_str("user", "bob");
		sp_trace_set_i64("grid_rows", 20000);
		SP_SPAN("query") {
			sp_span *sp = sp_current_span();
			cr_assert_not_null(sp);
			sp_span_set_i64(sp, "rows", -42);
			sp_span_set_u64(sp, "bytes", UINT64_MAX);
			sp_span_set_f64(sp, "ratio", 0.25);
			sp_span_set_bool(sp, "cached", true);
			char cell[16];
			strcpy(cell, "r512c3");
			sp_span_set_str(sp, "cell_id", cell);
			strcpy(cell, "CHANGED"); /* the stored copy must not see this */
			sp_span_set_str(sp, "long", buf);
			sp_span_set_str(sp, "utf", utf);
			sp_span_set_i64(sp, NULL, 1); /* no key: ignored */
			sp_span_set_i64(NULL, "x", 1);
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	cr_assert_eq(t->ndata, 2);
	cr_assert_str_eq(t->data[0].key, "user");
	cr_assert_str_eq(t->data[0].v.str, "bob");
	cr_assert_eq(t->data[1].v.i64, 20000);
	cr_assert_eq(t->root->ndata, 0, "trace data is not root span data");
	const sp_node *q = sp_node_child(t->root, "query");
	cr_assert_eq(q->ndata, 7);
	cr_assert_eq(sp_node_data(q, "rows")->type, SP_VALUE_I64);
	cr_assert_eq(sp_node_data(q, "rows")->v.i64, -42);
	cr_assert_eq(sp_node_data(q, "bytes")->v.u64, UINT64_MAX);
	cr_assert_float_eq(sp_node_data(q, "ratio")->v.f64, 0.25, 1e-12);
	cr_assert_eq(sp_node_data(q, "cached")->v.b, true);
	cr_assert_str_eq(sp_node_data(q, "cell_id")->v.str, "r512c3", "values are copied");
	const sp_kv *l = sp_node_data(q, "long");
	cr_assert_eq(strlen(l->v.str), SP_MAX_STR_LEN, "strings are cut at SP_MAX_STR_LEN");
	cr_assert(l->truncated);
	cr_assert_not(sp_node_data(q, "rows")->truncated);
	const sp_kv *u = sp_node_data(q, "utf");
	cr_assert_eq(strlen(u->v.str), SP_MAX_STR_LEN - 1, "the cut backs off to a UTF-8 boundary");
	cr_assert(u->truncated);
	sp_snapshot_free(s);
}

Test(probes, current_span_sets_data_on_the_innermost_span)
{
	sp_set_enabled(true);
	SP_TRACE("cmd", NULL) {
		sp_span *outer = sp_current_span();
		SP_SPAN("inner") {
			sp_span_set_i64(sp_current_span(), "level", 2);
			sp_span_set_i64(outer, "level", 1);
		}
		sp_span *stale = NULL;
		SP_SPAN("gone") {
			stale = sp_current_span();
		}
		sp_span_set_i64(stale, "late", 1); /* the span ended: harmless */
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	cr_assert_eq(sp_node_data(sp_node_child(t->root, "inner"), "level")->v.i64, 2);
	cr_assert_eq(sp_node_data(t->root, "level")->v.i64, 1);
	cr_assert_null(sp_node_data(sp_node_child(t->root, "gone"), "late"));
	sp_snapshot_free(s);
}

Test(probes, test_i_can_clear_traces)
{
	sp_set_enabled(true);
	for (int i = 0; i < 3; i++)
		SP_SPAN("t") {
		}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 3);
	sp_snapshot_free(s);
	sp_clear();
	s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 0, "clear empties the store");
	sp_snapshot_free(s);
	SP_SPAN("after") {
	}
	s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	cr_assert_eq(sp_snapshot_trace(s, 0)->seq, 4, "sequence numbers keep counting");
	cr_assert_float_eq(sp_total_overhead_ms(), sp_overhead_per_span_ns() * 1 / 1e6, 1e-12);
	sp_snapshot_free(s);
}

Test(probes, test_i_can_enable_disable_profiler)
{
	cr_assert_not(sp_enabled(), "off by default (SPANPROF_ENABLED unset)");
	int ran = 0;
	SP_TRACE("off", NULL) {
		SP_SPAN("a") {
			ran++;
			cr_assert_null(sp_current_span(), "no span handle while off");
		}
		SP_CUMULATIVE("c") {
			ran++;
		}
	}
	SP_SCOPE("scope");
	cr_assert_eq(ran, 2, "bodies run exactly once while off");
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 0, "nothing recorded while off");
	sp_snapshot_free(s);

	sp_set_enabled(true);
	cr_assert(sp_enabled());
	SP_SPAN("on") {
		ran++;
	}
	sp_set_enabled(false);
	SP_SPAN("off-again") {
		ran++;
	}
	cr_assert_eq(ran, 4);
	s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	cr_assert_str_eq(sp_snapshot_trace(s, 0)->name, "on");
	sp_snapshot_free(s);
}

Test(probes, a_span_open_when_recording_stops_still_ends)
{
	sp_set_enabled(true);
	SP_TRACE("cmd", NULL) {
		SP_SPAN("a") {
			sp_set_enabled(false);
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	assert_shape(sp_snapshot_trace(s, 0)->root, "cmd(a)");
	sp_snapshot_free(s);
}

Test(probes, test_i_can_measure_overhead)
{
	sp_set_enabled(true);
	SP_TRACE("cmd", NULL) {
		for (int i = 0; i < 50; i++)
			SP_SPAN("s") {
			}
		for (int i = 0; i < 20; i++)
			SP_CUMULATIVE("c") {
			}
	}
	double per = sp_overhead_per_span_ns();
	cr_assert_gt(per, 0.0, "a measured cost");
	cr_assert_lt(per, 100000.0, "a span costs well under 100 us");
	cr_assert_eq(per, sp_overhead_per_span_ns(), "measured once");
	/* 52 nodes (root, 50 spans, the cumulative node) + 20 iterations */
	cr_assert_float_eq(sp_total_overhead_ms(), per * 72 / 1e6, 1e-9);
}

static int early_return(int x)
{
	SP_SCOPE("scope");
	burn(100);
	if (x)
		return 1;
	burn(100);
	return 0;
}

Test(probes, sp_scope_ends_on_early_return_break_and_goto)
{
	sp_set_enabled(true);
	SP_TRACE("cmd", NULL) {
		early_return(1);
		SP_SPAN("after_return") {
		}
		for (int i = 0; i < 3; i++) {
			SP_SPAN("loop") {
				if (i == 1)
					break;
			}
		}
		SP_SPAN("after_break") {
		}
		{
			SP_SCOPE("jumped");
			goto out;
		}
	out:
		SP_SPAN("after_goto") {
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	/* break leaves the SP_SPAN block (ending the span); the for loop goes
	 * on, so there are three "loop" spans. */
	assert_shape(sp_snapshot_trace(s, 0)->root,
		     "cmd(scope,after_return,loop,loop,loop,after_break,jumped,after_goto)");
	const sp_node *n = sp_node_child(sp_snapshot_trace(s, 0)->root, "scope");
	cr_assert_not(n->abandoned, "ended by its own cleanup");
	sp_snapshot_free(s);
}

Test(probes, implicit_traces)
{
	sp_set_enabled(true);
	SP_SPAN("first") {
		SP_SPAN("child") {
		}
	}
	SP_SPAN("second") {
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 2);
	assert_shape(sp_snapshot_trace(s, 0)->root, "first(child)");
	cr_assert_str_eq(sp_snapshot_trace(s, 1)->name, "second");
	cr_assert_eq(sp_snapshot_trace(s, 1)->seq, 2);
	sp_snapshot_free(s);
}

Test(probes, a_cumulative_probe_outside_a_trace_records_nothing)
{
	sp_set_enabled(true);
	int ran = 0;
	SP_CUMULATIVE("alone") {
		ran++;
	}
	cr_assert_eq(ran, 1);
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 0);
	sp_snapshot_free(s);
}

Test(probes, nested_traces_become_child_spans)
{
	sp_set_enabled(true);
	SP_TRACE("outer", "o-1") {
		SP_TRACE("inner", "7") {
			sp_trace_set_str("k", "v"); /* data of the inner command */
			SP_SPAN("work") {
			}
		}
		sp_trace_begin("explicit", "8");
		sp_trace_end();
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1, "one trace: the outer command");
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	assert_shape(t->root, "outer(inner(work),explicit)");
	const sp_node *in = sp_node_child(t->root, "inner");
	cr_assert_str_eq(sp_node_data(in, "id")->v.str, "7");
	cr_assert_str_eq(sp_node_data(in, "k")->v.str, "v");
	cr_assert_eq(t->ndata, 0);
	cr_assert_str_eq(sp_node_data(sp_node_child(t->root, "explicit"), "id")->v.str, "8");
	sp_snapshot_free(s);
}

static void begin_in_a_callee(void)
{
	sp_trace_begin("request", "r-9");
}

static void end_in_another_callee(void)
{
	sp_trace_end();
}

Test(probes, explicit_trace_may_begin_and_end_in_different_functions)
{
	sp_set_enabled(true);
	begin_in_a_callee();
	SP_SPAN("step") {
		burn(100);
	}
	end_in_another_callee();
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	assert_shape(t->root, "request(step)");
	cr_assert_str_eq(t->id, "r-9");
	cr_assert_not(t->root->abandoned);
	sp_snapshot_free(s);
}

Test(probes, trace_end_closes_what_is_left_open)
{
	sp_set_enabled(true);
	sp_trace_begin("t", NULL);
	SP_SPAN("a") {
		sp_trace_end(); /* ends the trace, and "a" with it */
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	const sp_node *a = sp_node_child(sp_snapshot_trace(s, 0)->root, "a");
	cr_assert_not_null(a);
	cr_assert(a->abandoned, "closed by the trace's end, not its own");
	sp_snapshot_free(s);
}

Test(probes, node_lookup_helpers)
{
	sp_set_enabled(true);
	SP_TRACE("r", NULL) {
		SP_SPAN("x") {
			SP_SPAN("y") {
			}
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_node *r = sp_snapshot_trace(s, 0)->root;
	cr_assert_null(sp_node_find(r, "x/z"));
	cr_assert_null(sp_node_child(r, "y"));
	cr_assert_eq(sp_node_find(r, ""), r);
	cr_assert_null(sp_snapshot_trace(s, 1));
	sp_snapshot_free(s);
	sp_snapshot_free(NULL);
	cr_assert_eq(sp_snapshot_count(NULL), 0);
}
